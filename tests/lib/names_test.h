/*
 * names_test.h - what the shim's name tests share: an environment that
 * turns the shim on with a gateway that is never contacted, a stand-in
 * getifaddrs() so a test can play an IPv4-only, IPv6-only, dual-stack
 * or loopback-only host, and a child in a network namespace of its own
 * for comparisons with glibc that might otherwise send a DNS query.
 *
 * Included by exactly one file per test binary: it defines getifaddrs()
 * and freeifaddrs(), which take the place of libc's for the shim's
 * objects linked into the binary (glibc's own getaddrinfo does not use
 * them, so its answers stay the real ones).
 */
#ifndef NAMES_TEST_H
#define NAMES_TEST_H

#include <arpa/inet.h>
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conflex.h"
#include "lib/shim.h"

#define NAMES_REAL_FAMILIES	(-1)

/* -1: the real interfaces; else a HOSTFAM_* mask to pretend. */
static int names_families = NAMES_REAL_FAMILIES;
static struct ifaddrs names_ifs[5];
static struct sockaddr_in names_lo4, names_v4;
static struct sockaddr_in6 names_lo6, names_ll6, names_v6;

static inline void
names_set_families(int mask)
{
	names_families = mask;
	hostfam_flush();
}

static inline void
names_link(struct ifaddrs **tail, struct ifaddrs *ifa, const char *name,
    void *sa)
{
	memset(ifa, 0, sizeof(*ifa));
	ifa->ifa_name = (char *)name;
	ifa->ifa_flags = IFF_UP | (strcmp(name, "lo") == 0 ? IFF_LOOPBACK : 0);
	ifa->ifa_addr = sa;
	*tail = ifa;
}

int
getifaddrs(struct ifaddrs **ifap)
{
	int (*real)(struct ifaddrs **);
	struct ifaddrs **tail = ifap;
	size_t n = 0;

	if (names_families == NAMES_REAL_FAMILIES) {
		*(void **)&real = dlsym(RTLD_NEXT, "getifaddrs");
		return real(ifap);
	}
	names_lo4.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &names_lo4.sin_addr);
	names_v4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.2", &names_v4.sin_addr);
	names_lo6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::1", &names_lo6.sin6_addr);
	names_ll6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "fe80::1", &names_ll6.sin6_addr);
	names_v6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::2", &names_v6.sin6_addr);
	/* Loopback and link-local always: they must not count. */
	names_link(tail, &names_ifs[n], "lo", &names_lo4);
	tail = &names_ifs[n++].ifa_next;
	names_link(tail, &names_ifs[n], "lo", &names_lo6);
	tail = &names_ifs[n++].ifa_next;
	names_link(tail, &names_ifs[n], "eth0", &names_ll6);
	tail = &names_ifs[n++].ifa_next;
	if (names_families & HOSTFAM_V4) {
		names_link(tail, &names_ifs[n], "eth0", &names_v4);
		tail = &names_ifs[n++].ifa_next;
	}
	if (names_families & HOSTFAM_V6) {
		names_link(tail, &names_ifs[n], "eth0", &names_v6);
		tail = &names_ifs[n++].ifa_next;
	}
	*tail = NULL;
	return 0;
}

void
freeifaddrs(struct ifaddrs *ifa)
{
	void (*real)(struct ifaddrs *);

	if (ifa == NULL || ifa == &names_ifs[0])
		return;
	*(void **)&real = dlsym(RTLD_NEXT, "freeifaddrs");
	real(ifa);
}

/*
 * The shim on, with a gateway on loopback it never contacts (name
 * look-ups do not connect). Call first thing in main().
 */
static inline void
names_env(void)
{
	setenv("SOCKS64_CONF", "/dev/null", 1);
	setenv("SOCKS64_GATEWAY", "127.0.0.1:1080", 1);
	unsetenv("SOCKS64_DEBUG");
	unsetenv("SOCKS64_USER");
	unsetenv("SOCKS64_PASSWORD");
}

/*
 * A configuration of the test's own: defaults, then text parsed as a
 * socks64.conf. The caller releases it with shim_conf_release().
 */
static inline int
names_conf(struct shim_conf *c, const char *text)
{
	struct conf_errors *e = malloc(sizeof(*e));
	int errors;

	if (e == NULL)
		return -1;
	shim_conf_defaults(c);
	conf_errors_init(e, "test.conf");
	errors = shim_conf_parse(c, text, strlen(text), e);
	free(e);
	return errors;
}

/*
 * Runs fn in a child that is in a new network namespace (nothing but a
 * downed loopback: a DNS query fails at once and no packet leaves), so
 * glibc may be asked about any name. Returns fn's result (0 = good),
 * or -2 if no namespace could be made (the caller skips).
 */
static inline int
names_in_netns(int (*fn)(void *), void *arg)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		alarm(120);
		if (unshare(CLONE_NEWNET) == -1 &&
		    unshare(CLONE_NEWUSER | CLONE_NEWNET) == -1)
			_exit(254);
		_exit(fn(arg) == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 254)
		return -2;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#endif /* NAMES_TEST_H */
