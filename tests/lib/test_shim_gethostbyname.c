/*
 * test_shim_gethostbyname.c - the hostent interposers
 * (src/lib/gethostbyname.c): fakes for delegated names in the asked
 * family, names back from fake addresses, ERANGE from the _r forms
 * exactly where glibc gives it, h_errno for the not-found cases, and
 * glibc's own answers for names and addresses the shim leaves alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "names_test.h"

static struct sockaddr_storage
sa_from(int family, const void *addr)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		memcpy(&((struct sockaddr_in *)&ss)->sin_addr, addr, 4);
	else
		memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr, addr, 16);
	return ss;
}

/* A delegated hostent: one fake of family, named name, no aliases. */
static void
check_fake(const struct hostent *he, const char *name, int family)
{
	struct sockaddr_storage ss;
	char back[256];

	assert_non_null(he);
	assert_string_equal(he->h_name, name);
	assert_non_null(he->h_aliases);
	assert_null(he->h_aliases[0]);
	assert_int_equal(he->h_addrtype, family);
	assert_int_equal(he->h_length, family == AF_INET ? 4 : 16);
	assert_non_null(he->h_addr_list[0]);
	assert_null(he->h_addr_list[1]);
	ss = sa_from(family, he->h_addr_list[0]);
	assert_int_equal(fakeip_lookup((struct sockaddr *)&ss, back,
	    sizeof(back)), 1);
	assert_string_equal(back, name);
}

static void
test_gethostbyname_fake_v4(void **state)
{
	struct hostent *he;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	errno = 4242;
	he = gethostbyname("Host.Example.ORG.");
	assert_int_equal(errno, 4242);
	check_fake(he, "host.example.org", AF_INET);
	/* The same name, the same address: as getaddrinfo gives it. */
	he = gethostbyname2("host.example.org", AF_INET);
	check_fake(he, "host.example.org", AF_INET);
	/* An IPv6 literal for an IPv4 program (RFC 3089 section 3). */
	he = gethostbyname("2001:db8::7");
	check_fake(he, "2001:db8::7", AF_INET);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_gethostbyname2_fake_v6(void **state)
{
	struct hostent *he;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	he = gethostbyname2("six.example.org", AF_INET6);
	check_fake(he, "six.example.org", AF_INET6);
	/* On an IPv4-only host there is no IPv6 answer. */
	names_set_families(HOSTFAM_V4);
	h_errno = 0;
	assert_null(gethostbyname2("six.example.org", AF_INET6));
	assert_int_equal(h_errno, NO_DATA);
	he = gethostbyname2("six.example.org", AF_INET);
	check_fake(he, "six.example.org", AF_INET);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_gethostbyname_canary(void **state)
{
	struct hostent he, *res;
	char buf[512];
	int herr = 0;

	(void)state;
	h_errno = 0;
	assert_null(gethostbyname("use-application-dns.net"));
	assert_int_equal(h_errno, HOST_NOT_FOUND);
	assert_int_equal(gethostbyname_r("use-application-dns.net", &he, buf,
	    sizeof(buf), &res, &herr), 0);
	assert_null(res);
	assert_int_equal(herr, HOST_NOT_FOUND);
}

/* The _r forms: the caller's buffer, ERANGE below the size needed. */
static void
test_gethostbyname_r_buffer_sizes(void **state)
{
	struct hostent he, *res;
	char *buf;
	size_t len, need = 0;
	int r, herr;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	for (len = 0; len < 200; len++) {
		/* Exactly len bytes, so ASan sees any write past them. */
		buf = malloc(len ? len : 1);
		herr = 0;
		res = (struct hostent *)1;
		errno = 0;
		r = gethostbyname2_r("sizes.example.org", AF_INET6, &he, buf,
		    len, &res, &herr);
		if (r == 0) {
			if (need == 0)
				need = len;
			assert_ptr_equal(res, &he);
			check_fake(res, "sizes.example.org", AF_INET6);
		} else {
			assert_int_equal(r, ERANGE);
			assert_int_equal(errno, ERANGE);
			assert_int_equal(herr, NETDB_INTERNAL);
			assert_null(res);
			assert_int_equal(need, 0);
		}
		free(buf);
	}
	/* Three pointers, 16 bytes of address, the name. */
	assert_true(need > 0);
	assert_true(need <= 3 * sizeof(char *) + 16 + 18 + sizeof(char *));
	/* The v4 form and a misaligned buffer. */
	buf = malloc(256);
	assert_int_equal(gethostbyname_r("sizes.example.org", &he, buf + 1,
	    255, &res, &herr), 0);
	check_fake(res, "sizes.example.org", AF_INET);
	assert_int_equal((uintptr_t)res->h_addr_list % sizeof(char *), 0);
	free(buf);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_gethostbyaddr_fake(void **state)
{
	struct hostent *he, he2, *res;
	struct in_addr a4;
	struct in6_addr a6;
	char buf[512];
	int herr;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	he = gethostbyname("back.example.org");
	assert_non_null(he);
	memcpy(&a4, he->h_addr_list[0], 4);
	he = gethostbyaddr(&a4, 4, AF_INET);
	assert_non_null(he);
	assert_string_equal(he->h_name, "back.example.org");
	assert_int_equal(memcmp(he->h_addr_list[0], &a4, 4), 0);
	/* The same address mapped into IPv6. */
	memset(&a6, 0, sizeof(a6));
	a6.s6_addr[10] = a6.s6_addr[11] = 0xff;
	memcpy(&a6.s6_addr[12], &a4, 4);
	assert_int_equal(gethostbyaddr_r(&a6, 16, AF_INET6, &he2, buf,
	    sizeof(buf), &res, &herr), 0);
	assert_ptr_equal(res, &he2);
	assert_string_equal(res->h_name, "back.example.org");
	assert_int_equal(res->h_length, 16);
	/* Too small. */
	assert_int_equal(gethostbyaddr_r(&a6, 16, AF_INET6, &he2, buf, 8,
	    &res, &herr), ERANGE);
	assert_null(res);
	/* A fake not handed out here: not found, and no DNS asked. */
	inet_pton(AF_INET, "240.0.0.9", &a4);
	h_errno = 0;
	assert_null(gethostbyaddr(&a4, 4, AF_INET));
	assert_int_equal(h_errno, HOST_NOT_FOUND);
	/* A wrong length is libc's to refuse. */
	assert_null(gethostbyaddr(&a4, 3, AF_INET));
	names_set_families(NAMES_REAL_FAMILIES);
}

/* Names the shim leaves alone: glibc's answer (hosts file, no DNS). */
static void
test_gethostbyname_local_same_as_glibc(void **state)
{
	struct hostent *(*real)(const char *);
	struct hostent *he;
	char name[256];
	uint8_t addr[4];

	(void)state;
	*(void **)&real = dlsym(RTLD_NEXT, "gethostbyname");
	he = real("localhost");
	assert_non_null(he);
	snprintf(name, sizeof(name), "%s", he->h_name);
	memcpy(addr, he->h_addr_list[0], 4);
	he = gethostbyname("localhost");
	assert_non_null(he);
	assert_string_equal(he->h_name, name);
	assert_int_equal(memcmp(he->h_addr_list[0], addr, 4), 0);
	assert_false(fakeip_in_range((struct sockaddr *)&(struct
	    sockaddr_in){ .sin_family = AF_INET,
	    .sin_addr.s_addr = *(uint32_t *)(void *)addr }));
	/* A literal of this host's family: glibc's, no look-up. */
	names_set_families(HOSTFAM_V4);
	he = gethostbyname("192.0.2.33");
	assert_non_null(he);
	assert_string_equal(he->h_name, "192.0.2.33");
	names_set_families(NAMES_REAL_FAMILIES);
}

/* Thread-local answers: one thread's call leaves another's alone. */
static void *
tls_run(void *arg)
{
	struct hostent *he;
	char name[64];
	long id = (long)arg, bad = 0;
	int i;

	snprintf(name, sizeof(name), "tls%ld.example.org", id);
	for (i = 0; i < 2000; i++) {
		he = gethostbyname(name);
		if (he == NULL || strcmp(he->h_name, name) != 0)
			bad++;
	}
	return (void *)bad;
}

static void
test_gethostbyname_threads(void **state)
{
	pthread_t th[8];
	void *bad;
	long i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, tls_run,
		    (void *)i), 0);
	for (i = 0; i < 8; i++) {
		pthread_join(th[i], &bad);
		assert_null(bad);
	}
}

/* local-first: glibc answers what it can, the rest is delegated. */
static int
local_first_child(void *arg)
{
	struct hostent *he;

	(void)arg;
	/* Only the config this child loads: local-first. */
	he = gethostbyname("lfg.example.org");
	if (he == NULL || !fakeip_in_range((struct sockaddr *)&(struct
	    sockaddr_in){ .sin_family = AF_INET,
	    .sin_addr.s_addr = *(uint32_t *)(void *)he->h_addr_list[0] }))
		return 1;
	he = gethostbyname("localhost");
	if (he == NULL || ((uint8_t *)he->h_addr_list[0])[0] != 127)
		return 2;
	return 0;
}

/* Runs this binary again as "lf", with a local-first configuration. */
static void
test_gethostbyname_local_first(void **state)
{
	char conf[] = "/tmp/socks64-lf-XXXXXX";
	pid_t pid;
	int fd, status;

	(void)state;
	fd = mkstemp(conf);
	assert_true(fd != -1);
	assert_int_equal(write(fd, "resolve local-first\n", 20), 20);
	close(fd);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		setenv("SOCKS64_CONF", conf, 1);
		execl("/proc/self/exe", "test_shim_gethostbyname", "lf",
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(conf);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gethostbyname_fake_v4),
		cmocka_unit_test(test_gethostbyname2_fake_v6),
		cmocka_unit_test(test_gethostbyname_canary),
		cmocka_unit_test(test_gethostbyname_r_buffer_sizes),
		cmocka_unit_test(test_gethostbyaddr_fake),
		cmocka_unit_test(test_gethostbyname_local_same_as_glibc),
		cmocka_unit_test(test_gethostbyname_threads),
		cmocka_unit_test(test_gethostbyname_local_first),
	};
	int r;

	if (argc == 2 && strcmp(argv[1], "lf") == 0) {
		r = names_in_netns(local_first_child, NULL);
		return r == -2 ? 77 : r;
	}
	names_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
