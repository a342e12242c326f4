/*
 * test_addr.c - addr.c: endpoint and network parsing, matching, printing.
 *
 * Table-driven: each table row is one input and what must come out,
 * including the exact reason for a refusal, since users read those.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Builds a sockaddr from an endpoint the parser is known to accept. */
static socklen_t
mk(const char *s, struct sockaddr_storage *ss)
{
	const char *why = NULL;
	socklen_t len = 0;

	if (addr_parse_endpoint(s, -1, ss, &len, &why) != 0)
		fail_msg("cannot build %s: %s", s, why);
	return len;
}

static const struct endpoint_ok {
	const char	*in;
	int		 default_port;
	int		 family;
	const char	*out;		/* addr_format() of the result */
} endpoint_ok[] = {
	{ "1.2.3.4:80", -1, AF_INET, "1.2.3.4:80" },
	{ "0.0.0.0:1080", -1, AF_INET, "0.0.0.0:1080" },
	{ "255.255.255.255:65535", -1, AF_INET, "255.255.255.255:65535" },
	{ "127.0.0.1:1", -1, AF_INET, "127.0.0.1:1" },
	{ "1.2.3.4:080", -1, AF_INET, "1.2.3.4:80" },
	{ "[2001:db8::1]:80", -1, AF_INET6, "[2001:db8::1]:80" },
	{ "[::]:1080", -1, AF_INET6, "[::]:1080" },
	{ "[::1]:1", -1, AF_INET6, "[::1]:1" },
	{ "[2001:DB8:0:0:0:0:0:1]:443", -1, AF_INET6, "[2001:db8::1]:443" },
	{ "[::ffff:192.0.2.1]:80", -1, AF_INET6, "[::ffff:192.0.2.1]:80" },
	{ "1.2.3.4", 1080, AF_INET, "1.2.3.4:1080" },
	{ "1.2.3.4:81", 1080, AF_INET, "1.2.3.4:81" },
	{ "::1", 1080, AF_INET6, "[::1]:1080" },
	{ "2001:db8::1", 1080, AF_INET6, "[2001:db8::1]:1080" },
	{ "[::1]", 1080, AF_INET6, "[::1]:1080" },
	{ "[::1]:82", 1080, AF_INET6, "[::1]:82" },
	/* A default of 0 is the caller's "any port". */
	{ "192.0.2.1", 0, AF_INET, "192.0.2.1:0" },
};

static void
test_addr_parse_endpoint_valid(void **state)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];
	const char *why;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(endpoint_ok); i++) {
		const struct endpoint_ok *t = &endpoint_ok[i];

		why = NULL;
		len = 0;
		memset(&ss, 0xa5, sizeof(ss));
		if (addr_parse_endpoint(t->in, t->default_port, &ss, &len,
		    &why) != 0)
			fail_msg("\"%s\": refused: %s", t->in, why);
		assert_int_equal(ss.ss_family, t->family);
		assert_int_equal(len, t->family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		assert_int_equal(addr_len((struct sockaddr *)&ss), len);
		assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
		    sizeof(buf)), t->out);
	}
}

static const struct endpoint_bad {
	const char	*in;
	int		 default_port;
	const char	*why;
} endpoint_bad[] = {
	{ "", -1, "missing address" },
	{ "", 1080, "missing address" },
	{ "1.2.3.4", -1, "missing port" },
	{ "1.2.3.4:", -1, "missing port" },
	{ "1.2.3.4:", 1080, "missing port" },
	{ "1.2.3.4:0", -1, "bad port" },
	{ "1.2.3.4:65536", -1, "bad port" },
	{ "1.2.3.4:100000", -1, "bad port" },
	{ "1.2.3.4:-1", -1, "bad port" },
	{ "1.2.3.4:+80", -1, "bad port" },
	{ "1.2.3.4: 80", -1, "bad port" },
	{ "1.2.3.4:80 ", -1, "bad port" },
	{ "1.2.3.4:0x50", -1, "bad port" },
	{ "1.2.3.4:http", -1, "bad port" },
	{ ":80", -1, "missing address" },
	{ "1.2.3:80", -1, "bad IPv4 address" },
	{ "1.2.3.256:80", -1, "bad IPv4 address" },
	{ "01.2.3.4:80", -1, "bad IPv4 address" },
	{ "1.2.3.4.5:80", -1, "bad IPv4 address" },
	{ "0x7f.0.0.1:80", -1, "bad IPv4 address" },
	{ " 1.2.3.4:80", -1, "bad IPv4 address" },
	{ "example.org:80", -1, "bad IPv4 address" },
	{ "localhost", 1080, "bad IPv4 address" },
	{ "[2001:db8::1]", -1, "missing port" },
	{ "[2001:db8::1]:", -1, "missing port" },
	{ "[2001:db8::1]:0", -1, "bad port" },
	{ "[2001:db8::1]:65536", -1, "bad port" },
	{ "[2001:db8::1]80", -1, "expected ':PORT' after ']'" },
	{ "[2001:db8::1]x:80", -1, "expected ':PORT' after ']'" },
	{ "[2001:db8::1:80", -1, "missing ']' after IPv6 address" },
	{ "[]:80", -1, "bad IPv6 address" },
	{ "[1.2.3.4]:80", -1, "bad IPv6 address" },
	{ "[2001:db8::g]:80", -1, "bad IPv6 address" },
	{ "[2001:db8:::1]:80", -1, "bad IPv6 address" },
	{ "[fe80::1%eth0]:80", -1, "IPv6 scope ids (%ifname) are not supported" },
	{ "fe80::1%eth0", 1080, "IPv6 scope ids (%ifname) are not supported" },
	{ "2001:db8::1:80", -1, "IPv6 address must be in brackets" },
	{ "::1", -1, "IPv6 address must be in brackets" },
	{ "2001:db8::g", 1080, "IPv6 address must be in brackets" },
	{ "1.2.3.4", 65536, "bad port" },
};

static void
test_addr_parse_endpoint_invalid(void **state)
{
	struct sockaddr_storage ss;
	const char *why;
	socklen_t len;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(endpoint_bad); i++) {
		const struct endpoint_bad *t = &endpoint_bad[i];

		why = NULL;
		if (addr_parse_endpoint(t->in, t->default_port, &ss, &len,
		    &why) != -1)
			fail_msg("\"%s\" (default %d): accepted", t->in,
			    t->default_port);
		if (why == NULL || strcmp(why, t->why) != 0)
			fail_msg("\"%s\": reason \"%s\", want \"%s\"", t->in,
			    why != NULL ? why : "(null)", t->why);
	}
}

static void
test_addr_parse_endpoint_null(void **state)
{
	struct sockaddr_storage ss;
	const char *why = NULL;
	socklen_t len;

	(void)state;
	assert_int_equal(addr_parse_endpoint(NULL, 80, &ss, &len, &why), -1);
	assert_string_equal(why, "missing address");
	/* why is optional. */
	assert_int_equal(addr_parse_endpoint("x", 80, &ss, &len, NULL), -1);
}

/* The parse zeroes the whole storage, so results compare with memcmp. */
static void
test_addr_parse_endpoint_zeroes_storage(void **state)
{
	struct sockaddr_storage a, b;
	socklen_t len;

	(void)state;
	memset(&a, 0x11, sizeof(a));
	memset(&b, 0x22, sizeof(b));
	mk("[2001:db8::1]:80", &a);
	len = mk("[2001:db8::1]:80", &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	mk("1.2.3.4:80", &a);
	mk("1.2.3.4:80", &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

static const struct net_ok {
	const char	*in;
	int		 family;
	unsigned int	 prefix;
	const char	*out;		/* addr_format_net() */
} net_ok[] = {
	{ "192.0.2.0/24", AF_INET, 24, "192.0.2.0/24" },
	{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0/0" },
	{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0/8" },
	{ "192.0.2.1/32", AF_INET, 32, "192.0.2.1/32" },
	{ "192.0.2.128/25", AF_INET, 25, "192.0.2.128/25" },
	{ "192.0.2.1", AF_INET, 32, "192.0.2.1/32" },
	{ "2001:db8::/32", AF_INET6, 32, "2001:db8::/32" },
	{ "::/0", AF_INET6, 0, "::/0" },
	{ "::1", AF_INET6, 128, "::1/128" },
	{ "fe80::/10", AF_INET6, 10, "fe80::/10" },
	{ "2001:db8::1/128", AF_INET6, 128, "2001:db8::1/128" },
	{ "[::1]", AF_INET6, 128, "::1/128" },
	{ "[2001:db8::]/32", AF_INET6, 32, "2001:db8::/32" },
	{ "192.0.2.0/024", AF_INET, 24, "192.0.2.0/24" },
	/* IPv4-mapped networks are the IPv4 networks they name. */
	{ "::ffff:192.0.2.0/120", AF_INET, 24, "192.0.2.0/24" },
	{ "::ffff:127.0.0.0/104", AF_INET, 8, "127.0.0.0/8" },
	{ "::ffff:192.0.2.1", AF_INET, 32, "192.0.2.1/32" },
	{ "::ffff:0.0.0.0/96", AF_INET, 0, "0.0.0.0/0" },
	{ "any", AF_UNSPEC, 0, "any" },
};

static void
test_addr_parse_net_valid(void **state)
{
	struct addr_net net;
	char buf[ADDR_STRLEN];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(net_ok); i++) {
		const struct net_ok *t = &net_ok[i];

		why = NULL;
		memset(&net, 0xa5, sizeof(net));
		if (addr_parse_net(t->in, &net, &why) != 0)
			fail_msg("\"%s\": refused: %s", t->in, why);
		assert_int_equal(net.family, t->family);
		assert_int_equal(net.prefix, t->prefix);
		assert_string_equal(addr_format_net(&net, buf, sizeof(buf)),
		    t->out);
	}
}

#define HOST_BITS	"host bits set below the prefix length " \
			"(write the network address, e.g. 192.0.2.0/24)"

static const struct net_bad {
	const char	*in;
	const char	*why;
} net_bad[] = {
	{ "", "missing network" },
	{ "192.0.2.1/24", HOST_BITS },
	{ "192.0.3.0/23", HOST_BITS },
	{ "0.0.0.1/0", HOST_BITS },
	{ "2001:db8::1/32", HOST_BITS },
	{ "2001:db9::/31", HOST_BITS },
	{ "::ffff:192.0.2.1/120", HOST_BITS },
	{ "192.0.2.0/33", "prefix length out of range" },
	{ "2001:db8::/129", "prefix length out of range" },
	{ "192.0.2.0/999", "prefix length out of range" },
	{ "192.0.2.0/", "missing prefix length after '/'" },
	{ "192.0.2.0/-1", "bad prefix length" },
	{ "192.0.2.0/+8", "bad prefix length" },
	{ "192.0.2.0/0024", "bad prefix length" },
	{ "192.0.2.0/24 ", "bad prefix length" },
	{ "192.0.2.0/24/8", "bad prefix length" },
	{ "192.0.2.0/0x18", "bad prefix length" },
	{ "/24", "bad network address" },
	{ "192.0.2/24", "bad network address" },
	{ "example.org", "bad network address" },
	{ "ANY", "bad network address" },
	{ "any/0", "bad network address" },
	{ "[1.2.3.4]", "bad IPv6 address" },
	{ "[::1", "bad IPv6 address" },
	{ "[", "bad IPv6 address" },
	{ "fe80::1%eth0", "IPv6 scope ids (%ifname) are not supported" },
};

static void
test_addr_parse_net_invalid(void **state)
{
	struct addr_net net;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(net_bad); i++) {
		const struct net_bad *t = &net_bad[i];

		why = NULL;
		if (addr_parse_net(t->in, &net, &why) != -1)
			fail_msg("\"%s\": accepted", t->in);
		if (why == NULL || strcmp(why, t->why) != 0)
			fail_msg("\"%s\": reason \"%s\", want \"%s\"", t->in,
			    why != NULL ? why : "(null)", t->why);
	}
	assert_int_equal(addr_parse_net(NULL, &net, &why), -1);
	assert_int_equal(addr_parse_net("x", &net, NULL), -1);
}

static const struct contains {
	const char	*net;
	const char	*addr;		/* an endpoint */
	int		 in;
} contains[] = {
	{ "192.0.2.0/24", "192.0.2.0:1", 1 },
	{ "192.0.2.0/24", "192.0.2.255:1", 1 },
	{ "192.0.2.0/24", "192.0.3.0:1", 0 },
	{ "192.0.2.0/24", "192.0.1.255:1", 0 },
	{ "192.0.2.128/25", "192.0.2.127:1", 0 },
	{ "192.0.2.128/25", "192.0.2.128:1", 1 },
	{ "192.0.2.1", "192.0.2.1:1", 1 },
	{ "192.0.2.1", "192.0.2.2:1", 0 },
	{ "0.0.0.0/0", "203.0.113.9:1", 1 },
	{ "0.0.0.0/0", "[2001:db8::1]:1", 0 },
	{ "2001:db8::/32", "[2001:db8:ffff::1]:1", 1 },
	{ "2001:db8::/32", "[2001:db9::1]:1", 0 },
	{ "2001:db8::/33", "[2001:db8:8000::]:1", 0 },
	{ "2001:db8::/33", "[2001:db8:7fff::]:1", 1 },
	{ "::1", "[::1]:1", 1 },
	{ "::1", "127.0.0.1:1", 0 },
	{ "::/0", "[2001:db8::1]:1", 1 },
	/* IPv4-mapped clients are matched as IPv4. */
	{ "192.0.2.0/24", "[::ffff:192.0.2.7]:1", 1 },
	{ "192.0.2.0/24", "[::ffff:192.0.3.7]:1", 0 },
	{ "127.0.0.0/8", "[::ffff:127.1.2.3]:1", 1 },
	{ "::ffff:192.0.2.0/120", "192.0.2.7:1", 1 },
	{ "::ffff:192.0.2.0/120", "[::ffff:192.0.2.7]:1", 1 },
	{ "::/0", "[::ffff:192.0.2.7]:1", 0 },
	{ "::/0", "192.0.2.7:1", 0 },
	{ "any", "192.0.2.7:1", 1 },
	{ "any", "[2001:db8::1]:1", 1 },
	{ "any", "[::ffff:192.0.2.7]:1", 1 },
};

static void
test_addr_net_contains_table(void **state)
{
	struct sockaddr_storage ss;
	struct addr_net net;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(contains); i++) {
		const struct contains *t = &contains[i];

		if (addr_parse_net(t->net, &net, &why) != 0)
			fail_msg("net %s: %s", t->net, why);
		mk(t->addr, &ss);
		if (addr_net_contains(&net, (struct sockaddr *)&ss) != t->in)
			fail_msg("%s in %s: want %d", t->addr, t->net, t->in);
	}
}

static void
test_addr_net_contains_other_family(void **state)
{
	struct sockaddr_un sun;
	struct addr_net net;
	const char *why;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(addr_parse_net("any", &net, &why), 0);
	assert_int_equal(addr_net_contains(&net, (struct sockaddr *)&sun), 0);
	assert_int_equal(addr_net_contains(&net, NULL), 0);
	assert_int_equal(addr_net_contains(NULL, (struct sockaddr *)&sun), 0);
}

static void
test_addr_format_other_family(void **state)
{
	struct sockaddr_un sun;
	char buf[ADDR_STRLEN];

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_string_equal(addr_format((struct sockaddr *)&sun, buf,
	    sizeof(buf)), "?");
	assert_string_equal(addr_format_host((struct sockaddr *)&sun, buf,
	    sizeof(buf)), "?");
	assert_string_equal(addr_format(NULL, buf, sizeof(buf)), "?");
	assert_int_equal(addr_port((struct sockaddr *)&sun), 0);
	assert_int_equal(addr_len((struct sockaddr *)&sun), 0);
	addr_set_port((struct sockaddr *)&sun, 80);	/* no effect */
	assert_int_equal(sun.sun_path[0], 0);
}

static void
test_addr_format_host_both(void **state)
{
	struct sockaddr_storage ss;
	char buf[ADDR_STRLEN];

	(void)state;
	mk("192.0.2.1:80", &ss);
	assert_string_equal(addr_format_host((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "192.0.2.1");
	mk("[2001:db8::1]:80", &ss);
	assert_string_equal(addr_format_host((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "2001:db8::1");
}

/* The longest form must fit ADDR_STRLEN, scope id included. */
static void
test_addr_format_longest(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char buf[ADDR_STRLEN];

	(void)state;
	mk("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", &ss);
	sin6->sin6_scope_id = 4294967295u;
	addr_format((struct sockaddr *)&ss, buf, sizeof(buf));
	assert_string_equal(buf,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535");
	mk("[fe80::1]:80", &ss);
	sin6->sin6_scope_id = 2;
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "[fe80::1%2]:80");
}

static void
test_addr_format_truncates(void **state)
{
	struct sockaddr_storage ss;
	char buf[8];

	(void)state;
	mk("192.0.2.123:8080", &ss);
	assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
	    sizeof(buf)), "192.0.2");
	buf[0] = 'x';
	addr_format((struct sockaddr *)&ss, buf, 0);
	assert_int_equal(buf[0], 'x');
}

static void
test_addr_format_net_unknown(void **state)
{
	struct addr_net net;
	char buf[ADDR_STRLEN];

	(void)state;
	memset(&net, 0, sizeof(net));
	net.family = AF_UNIX;
	assert_string_equal(addr_format_net(&net, buf, sizeof(buf)), "?");
	assert_string_equal(addr_format_net(NULL, buf, sizeof(buf)), "?");
}

static void
test_addr_set_port_both(void **state)
{
	struct sockaddr_storage ss;

	(void)state;
	mk("192.0.2.1:80", &ss);
	addr_set_port((struct sockaddr *)&ss, 65535);
	assert_int_equal(addr_port((struct sockaddr *)&ss), 65535);
	mk("[2001:db8::1]:80", &ss);
	addr_set_port((struct sockaddr *)&ss, 1);
	assert_int_equal(addr_port((struct sockaddr *)&ss), 1);
	assert_int_equal(addr_port(NULL), 0);
	assert_int_equal(addr_len(NULL), 0);
}

static const struct equal {
	const char	*a, *b;
	int		 ports;
	int		 equal;
} equal[] = {
	{ "192.0.2.1:80", "192.0.2.1:80", 1, 1 },
	{ "192.0.2.1:80", "192.0.2.1:81", 1, 0 },
	{ "192.0.2.1:80", "192.0.2.1:81", 0, 1 },
	{ "192.0.2.1:80", "192.0.2.2:80", 0, 0 },
	{ "[2001:db8::1]:80", "[2001:db8::1]:80", 1, 1 },
	{ "[2001:db8::1]:80", "[2001:db8::1]:81", 0, 1 },
	{ "[2001:db8::1]:80", "[2001:db8::2]:80", 0, 0 },
	{ "192.0.2.1:80", "[::ffff:192.0.2.1]:80", 0, 0 },
};

static void
test_addr_equal_table(void **state)
{
	struct sockaddr_storage a, b;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(equal); i++) {
		mk(equal[i].a, &a);
		mk(equal[i].b, &b);
		if (addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b,
		    equal[i].ports) != equal[i].equal)
			fail_msg("%s == %s (ports %d): want %d", equal[i].a,
			    equal[i].b, equal[i].ports, equal[i].equal);
	}
	assert_int_equal(addr_equal(NULL, (struct sockaddr *)&a, 0), 0);
}

static void
test_addr_equal_scope(void **state)
{
	struct sockaddr_storage a, b;

	(void)state;
	mk("[fe80::1]:80", &a);
	mk("[fe80::1]:80", &b);
	((struct sockaddr_in6 *)&b)->sin6_scope_id = 3;
	assert_int_equal(addr_equal((struct sockaddr *)&a,
	    (struct sockaddr *)&b, 1), 0);
}

static const struct loopback {
	const char	*addr;
	int		 loopback;
} loopback[] = {
	{ "127.0.0.1:1", 1 },
	{ "127.255.255.254:1", 1 },
	{ "126.255.255.255:1", 0 },
	{ "128.0.0.0:1", 0 },
	{ "192.0.2.1:1", 0 },
	{ "0.0.0.0:1", 0 },
	{ "[::1]:1", 1 },
	{ "[::]:1", 0 },
	{ "[::2]:1", 0 },
	{ "[::ffff:127.0.0.1]:1", 1 },
	{ "[::ffff:127.9.9.9]:1", 1 },
	{ "[::ffff:128.0.0.1]:1", 0 },
	{ "[::127.0.0.1]:1", 0 },
	{ "[2001:db8::1]:1", 0 },
};

static void
test_addr_is_loopback_table(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_un sun;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(loopback); i++) {
		mk(loopback[i].addr, &ss);
		if (addr_is_loopback((struct sockaddr *)&ss) !=
		    loopback[i].loopback)
			fail_msg("%s: want %d", loopback[i].addr,
			    loopback[i].loopback);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(addr_is_loopback((struct sockaddr *)&sun), 0);
	assert_int_equal(addr_is_loopback(NULL), 0);
}

static void
test_addr_is_unspecified_table(void **state)
{
	static const struct {
		const char	*addr;
		int		 any;
	} t[] = {
		{ "0.0.0.0:1", 1 }, { "[::]:1", 1 }, { "127.0.0.1:1", 0 },
		{ "[::1]:1", 0 }, { "0.0.0.1:1", 0 },
		/* Mapped: not until addr_unmap() made it IPv4. */
		{ "[::ffff:0.0.0.0]:1", 0 },
	};
	struct sockaddr_storage	ss;
	struct sockaddr_un	sun;
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		mk(t[i].addr, &ss);
		if (addr_is_unspecified((struct sockaddr *)&ss) != t[i].any)
			fail_msg("%s: want %d", t[i].addr, t[i].any);
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(addr_is_unspecified((struct sockaddr *)&sun), 0);
	assert_int_equal(addr_is_unspecified(NULL), 0);
}

static void
test_addr_unmap_table(void **state)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "[::ffff:192.0.2.7]:443", "192.0.2.7:443" },
		{ "[::ffff:0.0.0.0]:1", "0.0.0.0:1" },
		{ "[2001:db8::7]:443", "[2001:db8::7]:443" },
		{ "[::192.0.2.7]:443", "[::192.0.2.7]:443" },	/* "compatible" */
		{ "192.0.2.7:80", "192.0.2.7:80" },
	};
	struct sockaddr_storage	ss;
	char			buf[ADDR_STRLEN];
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		mk(t[i].in, &ss);
		addr_unmap(&ss);
		assert_string_equal(addr_format((struct sockaddr *)&ss, buf,
		    sizeof(buf)), t[i].out);
	}
}

/*
 * One source per IPv4 address and per IPv6 /64, an IPv4-mapped address
 * being its IPv4 one: the grouping max-clients-per-source and the
 * failed-login slowdown share.
 */
static void
test_addr_source_key_groups(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 same;
	} t[] = {
		{ "192.0.2.7:1", "192.0.2.7:2", 1 },		/* port ignored */
		{ "192.0.2.7:1", "192.0.2.8:1", 0 },
		{ "192.0.2.7:1", "[::ffff:192.0.2.7]:1", 1 },
		{ "[2001:db8:0:1::7]:1", "[2001:db8:0:1:ffff::9]:1", 1 },
		{ "[2001:db8:0:1::7]:1", "[2001:db8:0:2::7]:1", 0 },
		{ "[::c000:207]:1", "192.0.2.7:1", 0 },	/* not mapped */
	};
	struct sockaddr_storage	a, b;
	struct sockaddr_un	un = { .sun_family = AF_UNIX };
	uint8_t			ka[ADDR_SOURCE_KEYLEN], kb[ADDR_SOURCE_KEYLEN];
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		mk(t[i].a, &a);
		mk(t[i].b, &b);
		assert_int_equal(addr_source_key((struct sockaddr *)&a, ka), 0);
		assert_int_equal(addr_source_key((struct sockaddr *)&b, kb), 0);
		assert_int_equal(memcmp(ka, kb, sizeof(ka)) == 0, t[i].same);
	}
	assert_int_equal(addr_source_key((struct sockaddr *)&un, ka), -1);
}

/* A fixed-seed generator, so a failure can be reproduced. */
static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Appends to in[*n] what snprintf makes, within size. */
static void __attribute__((format(printf, 4, 5)))
put(char *in, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(in + *n, size - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n += (size_t)r < size - *n ? (size_t)r : size - *n - 1;
}

/*
 * Makes a string near the grammar: an IPv4 or IPv6 address (sometimes
 * with "::", an IPv4 tail, brackets), maybe a port or a prefix, and now
 * and then one byte replaced, so most parse and the rest fail narrowly.
 */
static void
random_input(uint32_t *seed, char *in, size_t size)
{
	static const char alphabet[] = "0123456789abcdef:.[]/%x ";
	size_t n = 0, i, groups;
	int bracket = 0;

	if (rnd(seed) % 2) {
		put(in, size, &n, "%u.%u.%u.%u", rnd(seed) % 300,
		    rnd(seed) % 256, rnd(seed) % 256, rnd(seed) % 260);
	} else {
		bracket = rnd(seed) % 2;
		if (bracket)
			put(in, size, &n, "[");
		groups = rnd(seed) % 9;
		for (i = 0; i < groups; i++)
			put(in, size, &n, "%s%x", i > 0 ? ":" : "",
			    rnd(seed) % 3 ? rnd(seed) % 0x10000 : 0);
		if (groups < 8 || rnd(seed) % 8 == 0)
			put(in, size, &n, "::");
		if (rnd(seed) % 4 == 0)
			put(in, size, &n, "ffff:%u.%u.%u.%u",
			    rnd(seed) % 256, rnd(seed) % 256,
			    rnd(seed) % 256, rnd(seed) % 256);
		else if (rnd(seed) % 2)
			put(in, size, &n, "%x", rnd(seed) % 0x10000);
		if (bracket)
			put(in, size, &n, "]");
	}
	switch (rnd(seed) % 3) {
	case 0:
		put(in, size, &n, ":%u", rnd(seed) % 70000);
		break;
	case 1:
		put(in, size, &n, "/%u", rnd(seed) % 140);
		break;
	}
	in[n] = '\0';
	if (n > 0 && rnd(seed) % 4 == 0)
		in[rnd(seed) % n] = alphabet[rnd(seed) %
		    (sizeof(alphabet) - 1)];
}

/*
 * Whatever parses must print as text that parses back to the same
 * thing, and a network contains its own first address.
 */
static void
test_addr_parse_random_round_trip(void **state)
{
	struct sockaddr_storage ss, ss2;
	struct addr_net net, net2;
	char in[96], out[ADDR_STRLEN];
	const char *why;
	socklen_t len, len2;
	uint32_t seed = 7;
	int iter, endpoints = 0, nets = 0;

	(void)state;
	for (iter = 0; iter < 100000; iter++) {
		random_input(&seed, in, sizeof(in));
		if (addr_parse_endpoint(in, (int)(rnd(&seed) % 3) - 1, &ss,
		    &len, &why) == 0 && addr_port((struct sockaddr *)&ss)) {
			endpoints++;
			addr_format((struct sockaddr *)&ss, out, sizeof(out));
			if (addr_parse_endpoint(out, -1, &ss2, &len2,
			    &why) != 0)
				fail_msg("\"%s\" -> \"%s\": %s", in, out, why);
			assert_int_equal(len, len2);
			assert_memory_equal(&ss, &ss2, sizeof(ss));
		}
		if (addr_parse_net(in, &net, &why) == 0) {
			nets++;
			addr_format_net(&net, out, sizeof(out));
			if (addr_parse_net(out, &net2, &why) != 0)
				fail_msg("\"%s\" -> \"%s\": %s", in, out, why);
			assert_memory_equal(&net, &net2, sizeof(net));
			memset(&ss, 0, sizeof(ss));
			ss.ss_family = (sa_family_t)net.family;
			if (net.family == AF_INET)
				memcpy(&((struct sockaddr_in *)&ss)->sin_addr,
				    net.bytes, 4);
			else
				memcpy(&((struct sockaddr_in6 *)&ss)->sin6_addr,
				    net.bytes, 16);
			assert_true(addr_net_contains(&net,
			    (struct sockaddr *)&ss));
		}
	}
	/* The generator must reach the interesting part. */
	assert_true(endpoints > 10000);
	assert_true(nets > 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse_endpoint_valid),
		cmocka_unit_test(test_addr_parse_endpoint_invalid),
		cmocka_unit_test(test_addr_parse_endpoint_null),
		cmocka_unit_test(test_addr_parse_endpoint_zeroes_storage),
		cmocka_unit_test(test_addr_parse_net_valid),
		cmocka_unit_test(test_addr_parse_net_invalid),
		cmocka_unit_test(test_addr_net_contains_table),
		cmocka_unit_test(test_addr_net_contains_other_family),
		cmocka_unit_test(test_addr_format_other_family),
		cmocka_unit_test(test_addr_format_host_both),
		cmocka_unit_test(test_addr_format_longest),
		cmocka_unit_test(test_addr_format_truncates),
		cmocka_unit_test(test_addr_format_net_unknown),
		cmocka_unit_test(test_addr_set_port_both),
		cmocka_unit_test(test_addr_equal_table),
		cmocka_unit_test(test_addr_equal_scope),
		cmocka_unit_test(test_addr_is_loopback_table),
		cmocka_unit_test(test_addr_is_unspecified_table),
		cmocka_unit_test(test_addr_unmap_table),
		cmocka_unit_test(test_addr_source_key_groups),
		cmocka_unit_test(test_addr_parse_random_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
