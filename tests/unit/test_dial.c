/*
 * test_dial.c - dial.c: address ordering, literal resolution, and the
 * Happy Eyeballs race over loopback.
 *
 * A "black hole" is a loopback listener with backlog 0 whose one queue
 * slot is already taken: the kernel drops further SYNs, so a connect to
 * it hangs as one to a dead IPv6 path would, without leaving the host.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
add(struct dial_addrs *a, const char *ep)
{
	const char	*why;
	socklen_t	 len;

	if (addr_parse_endpoint(ep, -1, &a->v[a->n], &len, &why) != 0)
		fail_msg("bad endpoint %s: %s", ep, why);
	a->n++;
}

/* The list as "a b c", for comparing with a table row. */
static const char *
show(const struct dial_addrs *a, char *buf, size_t len)
{
	char	one[ADDR_STRLEN];
	size_t	i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < a->n; i++) {
		addr_format((const struct sockaddr *)&a->v[i], one, sizeof(one));
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    i ? " " : "", one);
	}
	return buf;
}

static const struct order_case {
	const char		*in;	/* space-separated endpoints */
	enum family_pref	 pref;
	const char		*out;
} order_cases[] = {
	/* RFC 8305 section 4: IPv6 first, then alternate. */
	{ "1.0.0.1:1 1.0.0.2:1 [::1]:1 [::2]:1 [::3]:1",
	  FAMILY_HAPPY_EYEBALLS, "[::1]:1 1.0.0.1:1 [::2]:1 1.0.0.2:1 [::3]:1" },
	{ "1.0.0.1:1 1.0.0.2:1", FAMILY_HAPPY_EYEBALLS,
	  "1.0.0.1:1 1.0.0.2:1" },
	{ "[::1]:1 [::2]:1", FAMILY_HAPPY_EYEBALLS, "[::1]:1 [::2]:1" },
	{ "1.0.0.1:1 [::1]:1 1.0.0.2:1 [::2]:1", FAMILY_IPV6_FIRST,
	  "[::1]:1 [::2]:1 1.0.0.1:1 1.0.0.2:1" },
	{ "[::1]:1 1.0.0.1:1 [::2]:1 1.0.0.2:1", FAMILY_IPV4_FIRST,
	  "1.0.0.1:1 1.0.0.2:1 [::1]:1 [::2]:1" },
	{ "[::1]:1 1.0.0.1:1 [::2]:1", FAMILY_IPV6_ONLY, "[::1]:1 [::2]:1" },
	{ "[::1]:1 1.0.0.1:1 [::2]:1", FAMILY_IPV4_ONLY, "1.0.0.1:1" },
	{ "[::1]:1 [::2]:1", FAMILY_IPV4_ONLY, "" },
	{ "", FAMILY_HAPPY_EYEBALLS, "" },
};

static void
test_dial_order_table(void **state)
{
	struct dial_addrs	a;
	char			in[256], buf[512], *w, *save;
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(order_cases); i++) {
		memset(&a, 0, sizeof(a));
		snprintf(in, sizeof(in), "%s", order_cases[i].in);
		for (w = strtok_r(in, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save))
			add(&a, w);
		dial_order(&a, order_cases[i].pref);
		if (strcmp(show(&a, buf, sizeof(buf)), order_cases[i].out) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, buf,
			    order_cases[i].out);
	}
}

/*
 * The order as the table states it, built by copying into a second
 * list: what dial_order() did before it learnt to move the addresses in
 * place (a 4 KiB copy on a session thread's stack).
 */
static void
order_by_copy(const struct dial_addrs *a, enum family_pref pref,
    struct dial_addrs *out)
{
	int	fams[2], k;
	size_t	i, j;

	out->n = 0;
	if (pref == FAMILY_HAPPY_EYEBALLS) {
		/* The i-th IPv6, then the i-th IPv4, for each i. */
		for (k = 0; k < DIAL_MAX_ADDRS; k++) {
			size_t c6 = 0, c4 = 0;

			for (i = 0; i < a->n; i++)
				if (a->v[i].ss_family == AF_INET6 &&
				    c6++ == (size_t)k)
					out->v[out->n++] = a->v[i];
			for (j = 0; j < a->n; j++)
				if (a->v[j].ss_family == AF_INET &&
				    c4++ == (size_t)k)
					out->v[out->n++] = a->v[j];
		}
		return;
	}
	fams[0] = pref == FAMILY_IPV4_FIRST || pref == FAMILY_IPV4_ONLY ?
	    AF_INET : AF_INET6;
	fams[1] = fams[0] == AF_INET ? AF_INET6 : AF_INET;
	for (k = 0; k < 2; k++) {
		if ((fams[k] == AF_INET && pref == FAMILY_IPV6_ONLY) ||
		    (fams[k] == AF_INET6 && pref == FAMILY_IPV4_ONLY))
			continue;
		for (i = 0; i < a->n; i++)
			if (a->v[i].ss_family == fams[k])
				out->v[out->n++] = a->v[i];
	}
}

/*
 * Random lists up to the maximum, with addresses of neither family
 * among them, under every preference: the same order as the copy, and
 * every address kept whole.
 */
static void
test_dial_order_in_place_matches_copy(void **state)
{
	static const enum family_pref prefs[] = { FAMILY_HAPPY_EYEBALLS,
	    FAMILY_IPV6_FIRST, FAMILY_IPV4_FIRST, FAMILY_IPV6_ONLY,
	    FAMILY_IPV4_ONLY };
	struct dial_addrs	a, want;
	unsigned int		seed = 12345, r;
	size_t			i, p;
	int			round;

	(void)state;
	for (round = 0; round < 2000; round++) {
		memset(&a, 0, sizeof(a));
		seed = seed * 1103515245u + 12345u;
		a.n = (seed >> 16) % (DIAL_MAX_ADDRS + 1);
		for (i = 0; i < a.n; i++) {
			struct sockaddr_in	*s4 = (void *)&a.v[i];
			struct sockaddr_in6	*s6 = (void *)&a.v[i];

			seed = seed * 1103515245u + 12345u;
			r = seed >> 16;
			if (r % 7 == 0) {
				a.v[i].ss_family = AF_UNSPEC;
			} else if (r % 2) {
				s6->sin6_family = AF_INET6;
				s6->sin6_port = htons((uint16_t)i);
				s6->sin6_addr.s6_addr[15] = (uint8_t)i;
			} else {
				s4->sin_family = AF_INET;
				s4->sin_port = htons((uint16_t)i);
				s4->sin_addr.s_addr = htonl(0x0a000000u + i);
			}
		}
		p = (size_t)(round % (int)NELEM(prefs));
		order_by_copy(&a, prefs[p], &want);
		assert_int_equal(dial_order(&a, prefs[p]), want.n);
		assert_int_equal(a.n, want.n);
		for (i = 0; i < a.n; i++)
			assert_memory_equal(&a.v[i], &want.v[i],
			    sizeof(a.v[i]));
	}
}

static const struct resolve_case {
	uint8_t		 atyp;
	const char	*lit;		/* inet_pton text, or the name */
	const char	*out;
} resolve_cases[] = {
	{ SOCKS5_ATYP_IPV4, "192.0.2.7", "192.0.2.7:8080" },
	{ SOCKS5_ATYP_IPV6, "2001:db8::7", "[2001:db8::7]:8080" },
	/* IPv4 traffic is dialed as IPv4, whatever wrapper it came in. */
	{ SOCKS5_ATYP_IPV6, "::ffff:192.0.2.7", "192.0.2.7:8080" },
	/* RFC 3089 section 3: an IPv6 literal sent as a DOMAINNAME. */
	{ SOCKS5_ATYP_DOMAIN, "2001:db8::8", "[2001:db8::8]:8080" },
	{ SOCKS5_ATYP_DOMAIN, "192.0.2.8", "192.0.2.8:8080" },
};

static void
test_dial_resolve_literals(void **state)
{
	struct socks5_addr	 dst;
	struct dial_addrs	 a;
	const char		*why = NULL;
	char			 buf[256];
	uint8_t			 rep = 0xee;
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(resolve_cases); i++) {
		memset(&dst, 0, sizeof(dst));
		dst.atyp = resolve_cases[i].atyp;
		dst.port = 8080;
		if (dst.atyp == SOCKS5_ATYP_IPV4)
			inet_pton(AF_INET, resolve_cases[i].lit, dst.ip);
		else if (dst.atyp == SOCKS5_ATYP_IPV6)
			inet_pton(AF_INET6, resolve_cases[i].lit, dst.ip);
		else
			snprintf(dst.name, sizeof(dst.name), "%s",
			    resolve_cases[i].lit);
		if (dial_resolve(&dst, mech_now_ms() + 5000, &a, &rep,
		    &why) != 0)
			fail_msg("case %zu: %s", i, why);
		assert_string_equal(show(&a, buf, sizeof(buf)),
		    resolve_cases[i].out);
	}
}

/*
 * A resolver that does not answer, without a network: this getaddrinfo
 * takes the place of libc's for dial.c (the test binary's own symbol
 * wins), holds a look-up of HANG_NAME until the test lets it go, then
 * answers 127.0.0.1; other names go to the real one.
 */
#define HANG_NAME	"hang.invalid"
static pthread_mutex_t	hang_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	hang_cv = PTHREAD_COND_INITIALIZER;
static int		hang_release;

int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	static const struct addrinfo	numeric = {
		.ai_flags = AI_NUMERICHOST, .ai_family = AF_INET,
		.ai_socktype = SOCK_STREAM,
	};
	int (*real)(const char *, const char *, const struct addrinfo *,
	    struct addrinfo **);

	*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_SYSTEM;
	if (node == NULL || strcmp(node, HANG_NAME) != 0)
		return real(node, service, hints, res);
	pthread_mutex_lock(&hang_lock);
	while (!hang_release)
		pthread_cond_wait(&hang_cv, &hang_lock);
	pthread_mutex_unlock(&hang_lock);
	return real("127.0.0.1", service, &numeric, res);
}

static void
hang_let_go(void)
{
	pthread_mutex_lock(&hang_lock);
	hang_release = 1;
	pthread_cond_broadcast(&hang_cv);
	pthread_mutex_unlock(&hang_lock);
}

/*
 * A look-up the resolver never answers ends at the deadline with X'06'
 * (the spec's "timeout"), not when the resolver gives up; the look-up
 * left behind frees itself and its result once it returns (under
 * SANITIZE=1, LeakSanitizer checks that at exit).
 */
static void
test_dial_resolve_times_out_06(void **state)
{
	struct socks5_addr	 dst;
	struct dial_addrs	 a;
	const char		*why = NULL;
	uint8_t			 rep = 0;
	int64_t			 t0, ms;
	int			 i;

	(void)state;
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_DOMAIN;
	snprintf(dst.name, sizeof(dst.name), "%s", HANG_NAME);
	dst.port = 80;
	t0 = mech_now_ms();
	assert_int_equal(dial_resolve(&dst, t0 + 200, &a, &rep, &why), -1);
	ms = mech_now_ms() - t0;
	assert_true(ms >= 190 && ms < 2000);
	assert_int_equal(rep, SOCKS5_REP_TTL_EXPIRED);
	assert_int_equal(a.n, 0);
	assert_int_equal(dial_lookup_count(), 1);	/* still waiting */

	hang_let_go();
	for (i = 0; i < 200 && dial_lookup_count() > 0; i++)
		usleep(10 * 1000);
	assert_int_equal(dial_lookup_count(), 0);
}

/* A name that resolves in time, and a deadline already past. */
static void
test_dial_resolve_name_in_time(void **state)
{
	struct socks5_addr	 dst;
	struct dial_addrs	 a;
	const char		*why = NULL;
	uint8_t			 rep = 0;
	int			 i;

	(void)state;
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_DOMAIN;
	snprintf(dst.name, sizeof(dst.name), "localhost");
	dst.port = 80;
	assert_int_equal(dial_resolve(&dst, mech_now_ms() + 5000, &a, &rep,
	    &why), 0);
	assert_true(a.n >= 1);
	assert_int_equal(addr_port((struct sockaddr *)&a.v[0]), 80);
	/* The helper thread may still be on its way out. */
	for (i = 0; i < 200 && dial_lookup_count() > 0; i++)
		usleep(10 * 1000);
	assert_int_equal(dial_lookup_count(), 0);
}

/*
 * A host without IPv6: while no_ipv6 is set, socket(AF_INET6) fails as
 * on a kernel without it. Like getaddrinfo above, this takes the place
 * of libc's for the whole test binary.
 */
static int	no_ipv6;

int
socket(int domain, int type, int protocol)
{
	int (*real)(int, int, int);

	if (no_ipv6 && domain == AF_INET6) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "socket");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(domain, type, protocol);
}

/* Issue 2's table: a family the host lacks is "network unreachable". */
static void
test_dial_connect_no_ipv6_on_host_reports_03(void **state)
{
	struct dial_addrs	a;
	struct dial_result	res;

	(void)state;
	memset(&a, 0, sizeof(a));
	add(&a, "[2001:db8::1]:80");
	no_ipv6 = 1;
	assert_int_equal(dial_connect(&a, FAMILY_HAPPY_EYEBALLS, 250, 1000,
	    &res), -1);
	no_ipv6 = 0;
	assert_int_equal(res.err, EAFNOSUPPORT);
	assert_int_equal(res.rep, SOCKS5_REP_NET_UNREACHABLE);
}

/* A listener on a loopback address of family af; returns its port. */
static int
listener(int af, int backlog, uint16_t *port)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);
	const char		*ep = af == AF_INET6 ? "::1" : "127.0.0.1";
	const char		*why;
	int			fd;

	/* Default port 0: any free one. */
	assert_int_equal(addr_parse_endpoint(ep, 0, &ss, &len, &why), 0);
	fd = socket(af, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, len), 0);
	if (backlog >= 0)
		assert_int_equal(listen(fd, backlog), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = addr_port((struct sockaddr *)&ss);
	return fd;
}

/* A black hole on [::1]: its queue slot taken by *filler. */
static int
black_hole(uint16_t *port, int *filler)
{
	struct sockaddr_in6	sin6;
	int			fd = listener(AF_INET6, 0, port);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(*port);
	*filler = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(connect(*filler, (struct sockaddr *)&sin6,
	    sizeof(sin6)), 0);
	usleep(50 * 1000);	/* let the handshake land in the queue */
	return fd;
}

static void
test_dial_connect_happy_eyeballs_skips_black_hole(void **state)
{
	struct dial_addrs	a;
	struct dial_result	res;
	char			ep[64], buf[ADDR_STRLEN];
	uint16_t		hole_port, live_port;
	int			hole, filler, live;
	int64_t			t0, ms;

	(void)state;
	hole = black_hole(&hole_port, &filler);
	live = listener(AF_INET, 8, &live_port);
	memset(&a, 0, sizeof(a));
	snprintf(ep, sizeof(ep), "[::1]:%u", hole_port);
	add(&a, ep);
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", live_port);
	add(&a, ep);
	dial_order(&a, FAMILY_HAPPY_EYEBALLS);

	t0 = mech_now_ms();
	assert_int_equal(dial_connect(&a, FAMILY_HAPPY_EYEBALLS, 100, 5000,
	    &res), 0);
	ms = mech_now_ms() - t0;
	/* IPv4 started after the attempt delay, not after the timeout. */
	assert_true(ms >= 90 && ms < 2000);
	assert_string_equal(addr_format((struct sockaddr *)&res.peer, buf,
	    sizeof(buf)), ep);
	assert_int_equal(res.local.ss_family, AF_INET);
	close(res.fd);
	close(live);
	close(filler);
	close(hole);
}

static void
test_dial_connect_refused_reports_05(void **state)
{
	struct dial_addrs	a;
	struct dial_result	res;
	char			ep[64];
	uint16_t		port;
	int			fd;

	(void)state;
	fd = listener(AF_INET, -1, &port);	/* bound, not listening */
	memset(&a, 0, sizeof(a));
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", port);
	add(&a, ep);
	assert_int_equal(dial_connect(&a, FAMILY_HAPPY_EYEBALLS, 250, 5000,
	    &res), -1);
	assert_int_equal(res.err, ECONNREFUSED);
	assert_int_equal(res.rep, SOCKS5_REP_CONN_REFUSED);
	close(fd);
}

static void
test_dial_connect_black_hole_times_out_06(void **state)
{
	struct dial_addrs	a;
	struct dial_result	res;
	char			ep[64];
	uint16_t		port;
	int			hole, filler;
	int64_t			t0, ms;

	(void)state;
	hole = black_hole(&port, &filler);
	memset(&a, 0, sizeof(a));
	snprintf(ep, sizeof(ep), "[::1]:%u", port);
	add(&a, ep);
	t0 = mech_now_ms();
	assert_int_equal(dial_connect(&a, FAMILY_IPV6_FIRST, 250, 300, &res),
	    -1);
	ms = mech_now_ms() - t0;
	assert_true(ms >= 290 && ms < 2000);
	assert_int_equal(res.err, ETIMEDOUT);
	assert_int_equal(res.rep, SOCKS5_REP_TTL_EXPIRED);
	close(filler);
	close(hole);
}

/* Sequential (ipv4-first): a refused first address moves on at once. */
static void
test_dial_connect_sequential_after_failure(void **state)
{
	struct dial_addrs	a;
	struct dial_result	res;
	char			ep[64];
	uint16_t		dead_port, live_port;
	int			dead, live;

	(void)state;
	dead = listener(AF_INET, -1, &dead_port);
	live = listener(AF_INET6, 8, &live_port);
	memset(&a, 0, sizeof(a));
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", dead_port);
	add(&a, ep);
	snprintf(ep, sizeof(ep), "[::1]:%u", live_port);
	add(&a, ep);
	dial_order(&a, FAMILY_IPV4_FIRST);
	assert_int_equal(dial_connect(&a, FAMILY_IPV4_FIRST, 250, 5000, &res),
	    0);
	assert_int_equal(res.peer.ss_family, AF_INET6);
	close(res.fd);
	close(dead);
	close(live);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dial_order_table),
		cmocka_unit_test(test_dial_order_in_place_matches_copy),
		cmocka_unit_test(test_dial_resolve_literals),
		cmocka_unit_test(test_dial_resolve_times_out_06),
		cmocka_unit_test(test_dial_resolve_name_in_time),
		cmocka_unit_test(test_dial_connect_happy_eyeballs_skips_black_hole),
		cmocka_unit_test(test_dial_connect_refused_reports_05),
		cmocka_unit_test(test_dial_connect_black_hole_times_out_06),
		cmocka_unit_test(test_dial_connect_sequential_after_failure),
		cmocka_unit_test(test_dial_connect_no_ipv6_on_host_reports_03),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
