/*
 * test_ownaddr.c - the host's own addresses (src/gateway/ownaddr.c):
 * a snapshot built from a getifaddrs() list made by hand, the real list
 * against getifaddrs() itself, and snapshots taken and dropped by many
 * threads while reloads swap them (run under TSan and ASan in CI).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gatewayd.h"
#include "gateway/ownaddr.h"

static struct sockaddr_in
sin4(const char *text)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, text, &sin.sin_addr), 1);
	return sin;
}

static struct sockaddr_in6
sin6(const char *text)
{
	struct sockaddr_in6	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, text, &sin.sin6_addr), 1);
	return sin;
}

/* Whether o holds the address sa. */
static int
has(const struct ownaddr *o, const void *sa)
{
	size_t	i;

	for (i = 0; i < o->n; i++)
		if (addr_net_contains(&o->v[i], sa))
			return 1;
	return 0;
}

static void
test_ownaddr_build_keeps_ipv4_and_ipv6_once(void **state)
{
	struct sockaddr_in	a = sin4("192.0.2.1"), b = sin4("198.51.100.1");
	struct sockaddr_in6	c = sin6("2001:db8::1");
	struct sockaddr_in	other = sin4("192.0.2.2");
	struct sockaddr		packet = { .sa_family = AF_PACKET };
	struct ifaddrs		l[6];
	struct ownaddr		*o;

	(void)state;
	memset(l, 0, sizeof(l));
	l[0].ifa_addr = (struct sockaddr *)&a;
	l[1].ifa_addr = &packet;		/* a link-layer entry */
	l[2].ifa_addr = NULL;			/* an interface without one */
	l[3].ifa_addr = (struct sockaddr *)&c;
	l[4].ifa_addr = (struct sockaddr *)&b;
	l[5].ifa_addr = (struct sockaddr *)&a;	/* on a second interface */
	for (int i = 0; i < 5; i++)
		l[i].ifa_next = &l[i + 1];
	o = ownaddr_build(l);
	assert_non_null(o);
	assert_int_equal(o->n, 3);
	assert_true(has(o, &a));
	assert_true(has(o, &b));
	assert_true(has(o, &c));
	assert_false(has(o, &other));
	assert_int_equal(o->v[0].prefix, 32);
	assert_int_equal(o->v[1].prefix, 128);
	ownaddr_put(o);

	o = ownaddr_build(NULL);
	assert_non_null(o);
	assert_int_equal(o->n, 0);
	ownaddr_put(o);
}

/* The snapshot holds every IPv4 and IPv6 address getifaddrs() lists. */
static void
test_ownaddr_get_lists_the_host(void **state)
{
	struct ifaddrs	*list, *ifa;
	struct ownaddr	*o;

	(void)state;
	assert_int_equal(ownaddr_reload(), 0);
	o = ownaddr_get();
	assert_non_null(o);
	assert_int_equal(getifaddrs(&list), 0);
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next)
		if (ifa->ifa_addr != NULL &&
		    (ifa->ifa_addr->sa_family == AF_INET ||
		    ifa->ifa_addr->sa_family == AF_INET6))
			assert_true(has(o, ifa->ifa_addr));
	freeifaddrs(list);
	ownaddr_put(o);
}

/* Fresh: the same snapshot; a reload: a new one, the old still valid. */
static void
test_ownaddr_get_shares_until_reload(void **state)
{
	struct ownaddr	*a, *b, *c;

	(void)state;
	assert_int_equal(ownaddr_reload(), 0);
	a = ownaddr_get();
	b = ownaddr_get();
	assert_ptr_equal(a, b);
	assert_int_equal(ownaddr_reload(), 0);
	c = ownaddr_get();
	assert_ptr_not_equal(a, c);
	assert_int_equal(a->n, c->n);	/* still readable: ours */
	ownaddr_put(a);
	ownaddr_put(b);
	ownaddr_put(c);
}

/* Consulted once stale, the list is gathered anew. */
static void
test_ownaddr_get_refreshes_when_stale(void **state)
{
	struct ownaddr	*a, *b;

	(void)state;
	assert_int_equal(ownaddr_reload(), 0);
	a = ownaddr_get();
	usleep((OWNADDR_STALE_MS + 100) * 1000);
	b = ownaddr_get();
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	ownaddr_put(a);
	ownaddr_put(b);
}

/* Judged with the host's addresses: 127.0.0.1 is one of them. */
static void
test_ownaddr_policy_fills_the_addresses(void **state)
{
	struct sockaddr_in	client = sin4("203.0.113.254");
	struct ownaddr		*o;
	struct policy_query	q;
	struct conf_errors	e;
	struct gw_conf		*c;
	struct verdict		v;
	static const char	text[] = "client pass from any\npass to any\n";

	(void)state;
	conf_errors_init(&e, "t.conf");
	assert_non_null(c = conf_parse(text, strlen(text), &e));
	o = ownaddr_get();
	assert_non_null(o);
	/* A client that is not this host; none is when the list is empty. */
	if (o->n == 0 || has(o, &client)) {
		ownaddr_put(o);
		conf_unref(c);
		skip();
	}
	memset(&q, 0, sizeof(q));
	q.client = (struct sockaddr *)&client;
	q.cmd = SOCKS5_CMD_CONNECT;
	/* The first address of the host, whatever it is, is protected. */
	{
		struct sockaddr_storage	ss;

		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)o->v[0].family;
		if (o->v[0].family == AF_INET)
			memcpy(&((struct sockaddr_in *)&ss)->sin_addr,
			    o->v[0].bytes, 4);
		else
			memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr,
			    o->v[0].bytes, 16);
		q.addr = (struct sockaddr *)&ss;
		q.port = 22;
		v = ownaddr_policy(c, &q);
		assert_int_equal(v.action, RULE_BLOCK);
		assert_int_equal(v.lineno, 0);
	}
	ownaddr_put(o);
	conf_unref(c);
}

#define ROUNDS	2000

static void *
getter(void *arg)
{
	struct ownaddr	*o;
	size_t		 sum = 0;

	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		o = ownaddr_get();
		if (o != NULL)
			sum += o->n;	/* read while others swap */
		ownaddr_put(o);
	}
	return (void *)sum;
}

static void
test_ownaddr_get_races_reload(void **state)
{
	pthread_t	t[4];

	(void)state;
	/* Stale: the first getters race to gather while others read. */
	usleep((OWNADDR_STALE_MS + 100) * 1000);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, getter, NULL), 0);
	for (int i = 0; i < 50; i++)
		(void)ownaddr_reload();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ownaddr_build_keeps_ipv4_and_ipv6_once),
		cmocka_unit_test(test_ownaddr_get_lists_the_host),
		cmocka_unit_test(test_ownaddr_get_shares_until_reload),
		cmocka_unit_test(test_ownaddr_get_refreshes_when_stale),
		cmocka_unit_test(test_ownaddr_policy_fills_the_addresses),
		cmocka_unit_test(test_ownaddr_get_races_reload),
	};

	return cmocka_run_group_tests_name("test_ownaddr", tests, NULL, NULL);
}
