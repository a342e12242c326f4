/*
 * test_shim_hosts.c - the /etc/hosts parser (src/lib/hosts.c) and the
 * delegation decision built on it (src/lib/delegate.c): which names and
 * literals are resolved locally and which go to the gateway, on hosts
 * with IPv4 only, IPv6 only, both, or nothing but loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>

#include "names_test.h"

struct collected {
	int	n;
	char	names[32][64];
	int	families[32];
};

static int
collect(const char *name, size_t len, int family, void *arg)
{
	struct collected *c = arg;

	assert_true(len < 64);
	if (c->n < 32) {
		memcpy(c->names[c->n], name, len);
		c->names[c->n][len] = '\0';
		c->families[c->n] = family;
		c->n++;
	}
	return 0;
}

static int
stop_at_second(const char *name, size_t len, int family, void *arg)
{
	int *count = arg;

	(void)name;
	(void)len;
	(void)family;
	return ++*count == 2 ? -1 : 0;
}

static const char hosts_text[] =
    "# The following lines are desirable for IPv4 capable hosts\n"
    "127.0.0.1\tlocalhost\n"
    "127.0.1.1  box.example.net box   # this host\n"
    "\n"
    "   \t  \n"
    "::1     localhost ip6-localhost ip6-loopback\r\n"
    "ff02::1 ip6-allnodes\n"
    "not-an-address badline.example\n"
    "10.0.0.300 alsobad.example\n"
    "192.0.2.7\n"
    "#192.0.2.8 commented.example\n"
    "198.51.100.9 Mixed.Case.EXAMPLE trailing.dot.example.\n"
    "203.0.113.5 last.example";	/* no newline at the end */

static void
test_hosts_parse_lines(void **state)
{
	static const struct {
		const char	*name;
		int		 family;
	} want[] = {
		{ "localhost", AF_INET }, { "box.example.net", AF_INET },
		{ "box", AF_INET }, { "localhost", AF_INET6 },
		{ "ip6-localhost", AF_INET6 }, { "ip6-loopback", AF_INET6 },
		{ "ip6-allnodes", AF_INET6 },
		{ "Mixed.Case.EXAMPLE", AF_INET },
		{ "trailing.dot.example.", AF_INET },
		{ "last.example", AF_INET },
	};
	struct collected c;
	size_t i;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(hosts_parse(hosts_text, strlen(hosts_text), collect,
	    &c), 10);
	assert_int_equal(c.n, 10);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(c.names[i], want[i].name);
		assert_int_equal(c.families[i], want[i].family);
	}
}

static void
test_hosts_parse_every_truncation(void **state)
{
	size_t len;

	(void)state;
	/* Any prefix parses without reading past it. */
	for (len = 0; len <= strlen(hosts_text); len++) {
		struct collected c;
		char *copy = malloc(len ? len : 1);

		memcpy(copy, hosts_text, len);
		memset(&c, 0, sizeof(c));
		assert_true(hosts_parse(copy, len, collect, &c) >= 0);
		free(copy);
	}
}

static void
test_hosts_parse_callback_stops(void **state)
{
	int count = 0;

	(void)state;
	assert_int_equal(hosts_parse(hosts_text, strlen(hosts_text),
	    stop_at_second, &count), -1);
	assert_int_equal(count, 2);
	count = 0;
	assert_int_equal(hosts_parse("", 0, stop_at_second, &count), 0);
}

static void
test_hosts_set_has(void **state)
{
	struct hosts_set *s = hosts_set_new(hosts_text, strlen(hosts_text));
	static const struct {
		const char	*norm;
		int		 has;
	} cases[] = {
		{ "localhost", 1 }, { "box", 1 }, { "box.example.net", 1 },
		{ "ip6-loopback", 1 }, { "mixed.case.example", 1 },
		{ "trailing.dot.example", 1 }, { "last.example", 1 },
		{ "badline.example", 0 }, { "alsobad.example", 0 },
		{ "commented.example", 0 }, { "192.0.2.7", 0 },
		{ "example.org", 0 }, { "", 0 }, { "zzz", 0 }, { "a", 0 },
	};
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(hosts_set_has(s, cases[i].norm),
		    cases[i].has);
	hosts_set_free(s);
	s = hosts_set_new("", 0);
	assert_non_null(s);
	assert_int_equal(hosts_set_has(s, "localhost"), 0);
	hosts_set_free(s);
	assert_int_equal(hosts_set_has(NULL, "localhost"), 0);
}

/* The system file: whatever it holds, localhost is in it here. */
static void
test_hosts_has_system(void **state)
{
	char host[256], norm[256];

	(void)state;
	assert_int_equal(hosts_has("localhost"), 1);
	assert_int_equal(hosts_has("no-such-name.example.org"), 0);
	/* The host's own name counts, even if NSS alone knows it. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_true(fakeip_normalise(host, norm, sizeof(norm)) > 0);
	assert_int_equal(hosts_has(norm), 1);
}

/* ------------------------------------------------------------------ */
/* literals and the host's families                                     */

static void
test_delegate_literal_forms(void **state)
{
	static const struct {
		const char	*s;
		int		 family;
	} cases[] = {
		{ "127.0.0.1", AF_INET }, { "127.1", AF_INET },
		{ "0x7f000001", AF_INET }, { "2130706433", AF_INET },
		{ "010.0.0.1", AF_INET }, { "1", AF_INET },
		{ "1.2.3.4 ", AF_UNSPEC }, { "1.2.3.4 junk", AF_UNSPEC },
		{ "::1", AF_INET6 }, { "2001:DB8::1", AF_INET6 },
		{ "::ffff:192.0.2.1", AF_INET6 },
		{ "fe80::1%lo", AF_UNSPEC }, { "beef", AF_UNSPEC },
		{ "0xbeef", AF_INET }, { "1e100.net", AF_UNSPEC },
		{ "deadbeef.de", AF_UNSPEC }, { "example.org", AF_UNSPEC },
		{ "", AF_UNSPEC }, { "1.2.3.4.5", AF_UNSPEC },
		{ "256.1.1.1", AF_UNSPEC }, { "[::1]", AF_UNSPEC },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (delegate_literal(cases[i].s) != cases[i].family)
			fail_msg("%s: %d, want %d", cases[i].s,
			    delegate_literal(cases[i].s), cases[i].family);
	}
}

static void
test_hostfam_of(void **state)
{
	struct ifaddrs *list;
	static const int masks[] = { 0, HOSTFAM_V4, HOSTFAM_V6,
	    HOSTFAM_V4 | HOSTFAM_V6 };
	size_t i;

	(void)state;
	assert_int_equal(hostfam_of(NULL), 0);
	/* Loopback and link-local (always in the list) never count. */
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		names_set_families(masks[i]);
		assert_int_equal(getifaddrs(&list), 0);
		assert_int_equal(hostfam_of(list), masks[i]);
		freeifaddrs(list);
		assert_int_equal(hostfam_get(), masks[i]);
	}
	/* An interface that is down routes nothing: its addresses do not. */
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	assert_int_equal(getifaddrs(&list), 0);
	for (i = 0; i < 5 && names_ifs[i].ifa_addr != NULL; i++)
		if (names_ifs[i].ifa_addr == (struct sockaddr *)&names_v6)
			names_ifs[i].ifa_flags &= ~(unsigned int)IFF_UP;
	assert_int_equal(hostfam_of(list), HOSTFAM_V4);
	freeifaddrs(list);
	names_set_families(NAMES_REAL_FAMILIES);
	/* The real list of this host agrees with itself. */
	assert_int_equal(getifaddrs(&list), 0);
	assert_int_equal(hostfam_get(), hostfam_of(list));
	freeifaddrs(list);
}

static void
test_delegate_answer_families_table(void **state)
{
	enum { V4 = HOSTFAM_V4, V6 = HOSTFAM_V6,
	    M = DELEGATE_ANSWER_MAPPED, B = V4 | V6 };
	static const struct {
		int	family, flags, have, want;
	} cases[] = {
		{ AF_UNSPEC, 0, B, B }, { AF_UNSPEC, 0, V4, V4 },
		{ AF_UNSPEC, 0, V6, V6 }, { AF_UNSPEC, 0, 0, B },
		{ AF_INET, 0, B, V4 }, { AF_INET, 0, V6, 0 },
		{ AF_INET, 0, 0, V4 }, { AF_INET6, 0, B, V6 },
		{ AF_INET6, 0, V4, 0 }, { AF_INET6, 0, 0, V6 },
		{ AF_INET6, AI_V4MAPPED, V4, M },
		{ AF_INET6, AI_V4MAPPED, B, V6 },
		{ AF_INET6, AI_V4MAPPED | AI_ALL, B, V6 | M },
		{ AF_INET6, AI_V4MAPPED | AI_ALL, V6, V6 },
		{ AF_INET6, AI_ALL, B, V6 }, { AF_UNIX, 0, B, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(delegate_answer_families(cases[i].family,
		    cases[i].flags, cases[i].have), cases[i].want);
}

/* ------------------------------------------------------------------ */
/* the decision                                                         */

static void
test_delegate_decide_names(void **state)
{
	struct shim_conf c, off;
	char host[256];
	static const struct {
		const char	*name;
		int		 delegated;
	} cases[] = {
		{ "example.org", 1 }, { "www.example.org.", 1 },
		{ "WWW.EXAMPLE.ORG", 1 }, { "nosuch.invalid", 1 },
		{ "single", 1 }, { "under_score.example", 1 },
		{ "use-application-dns.net", 1 },
		{ "localhost", 0 }, { "LOCALHOST.", 0 },
		{ "foo.localhost", 0 }, { "localhost.example.org", 1 },
		{ "printer.local", 0 }, { "x.lan", 0 }, { "lan", 0 },
		{ "a.b.LAN.", 0 }, { "xlan", 1 }, { "y.corp.example", 0 },
		{ "corp.example", 0 }, { "notcorp.example", 1 },
		{ "1.0.0.127.in-addr.arpa", 0 },
		{ "", 0 }, { ".", 0 }, { "a..b", 0 }, { ".a", 0 },
		{ "bad name", 0 }, { "bad/name", 0 }, { "ümlaut.example", 0 },
		{ "a.-b.example", 1 },
	};
	char longlabel[80], longname[300];
	size_t i;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	assert_int_equal(names_conf(&c, "gateway 127.0.0.1:1080\n"
	    "local-suffix .lan\nlocal-suffix corp.example\n"), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (delegate_decide(&c, cases[i].name, AF_UNSPEC) !=
		    cases[i].delegated)
			fail_msg("%s: want %d", cases[i].name,
			    cases[i].delegated);
	/* The host's own name and /etc/hosts names stay local. */
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_int_equal(delegate_decide(&c, host, AF_UNSPEC), 0);
	/* Labels over 63, names over 253: not names, the resolver's. */
	memset(longlabel, 'a', 64);
	longlabel[64] = '\0';
	assert_int_equal(delegate_decide(&c, longlabel, AF_UNSPEC), 0);
	longlabel[63] = '\0';
	assert_int_equal(delegate_decide(&c, longlabel, AF_UNSPEC), 1);
	memset(longname, 'a', sizeof(longname));
	for (i = 1; i < 254; i += 2)
		longname[i] = '.';
	longname[253] = '\0';
	assert_int_equal(delegate_decide(&c, longname, AF_UNSPEC), 1);
	longname[253] = 'a';
	longname[254] = '\0';
	assert_int_equal(delegate_decide(&c, longname, AF_UNSPEC), 0);
	assert_int_equal(delegate_decide(&c, NULL, AF_UNSPEC), 0);
	/* With no gateway nothing is delegated. */
	shim_conf_defaults(&off);
	assert_int_equal(delegate_decide(&off, "example.org", AF_UNSPEC), 0);
	assert_int_equal(delegate_decide(NULL, "example.org", AF_UNSPEC), 0);
	shim_conf_release(&c);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_delegate_decide_literals(void **state)
{
	enum { V4 = HOSTFAM_V4, V6 = HOSTFAM_V6, B = V4 | V6 };
	static const struct {
		const char	*name;
		int		 family, have, delegated;
	} cases[] = {
		/* A literal of a family the host has: local. */
		{ "192.0.2.1", AF_UNSPEC, B, 0 },
		{ "192.0.2.1", AF_INET, V4, 0 },
		{ "2001:db8::1", AF_UNSPEC, B, 0 },
		{ "2001:db8::1", AF_INET6, B, 0 },
		/* RFC 3089 section 3: IPv6 literal, IPv4 program or host. */
		{ "2001:db8::1", AF_INET, B, 1 },
		{ "2001:db8::1", AF_INET, V4, 1 },
		{ "2001:db8::1", AF_UNSPEC, V4, 1 },
		/* And the other way round. */
		{ "192.0.2.1", AF_INET6, B, 1 },
		{ "192.0.2.1", AF_UNSPEC, V6, 1 },
		{ "0xc0000201", AF_UNSPEC, V6, 1 },
		/* This host or its link: never the gateway's business. */
		{ "::1", AF_INET, B, 0 }, { "127.0.0.1", AF_INET6, B, 0 },
		{ "127.1", AF_UNSPEC, V6, 0 }, { "::", AF_INET, B, 0 },
		{ "::ffff:127.0.0.1", AF_INET, B, 0 },
		{ "fe80::1", AF_INET, B, 0 }, { "169.254.1.1", AF_INET6, B, 0 },
		{ "0.0.0.0", AF_INET6, B, 0 },
		/* Our own fakes, printed and resolved again: already ours. */
		{ "64:ff9b:1::5", AF_UNSPEC, V4, 0 },
		{ "64:ff9b:1::5", AF_INET, B, 0 },
		{ "240.1.2.3", AF_INET6, B, 0 },
		{ "240.1.2.3", AF_UNSPEC, V6, 0 },
		/* The program asked for this very family: its business. */
		{ "2001:db8::1", AF_INET6, V4, 0 },
		{ "192.0.2.1", AF_INET, V6, 0 },
		/* Only loopback: like glibc, no family is ruled out. */
		{ "2001:db8::1", AF_UNSPEC, 0, 0 },
		{ "192.0.2.1", AF_UNSPEC, 0, 0 },
	};
	struct shim_conf c;
	size_t i;

	(void)state;
	assert_int_equal(names_conf(&c, "gateway 127.0.0.1:1080\n"), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		names_set_families(cases[i].have);
		if (delegate_decide(&c, cases[i].name, cases[i].family) !=
		    cases[i].delegated)
			fail_msg("%s family %d have %d: want %d",
			    cases[i].name, cases[i].family, cases[i].have,
			    cases[i].delegated);
	}
	shim_conf_release(&c);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_delegate_name_uses_shim_conf(void **state)
{
	(void)state;
	assert_int_equal(delegate_name("example.org", AF_UNSPEC), 1);
	assert_int_equal(delegate_name("localhost", AF_UNSPEC), 0);
}

static void
test_delegate_canary(void **state)
{
	(void)state;
	assert_int_equal(delegate_canary("use-application-dns.net"), 1);
	assert_int_equal(delegate_canary("USE-application-dns.NET."), 1);
	assert_int_equal(delegate_canary("x.use-application-dns.net"), 0);
	assert_int_equal(delegate_canary("example.org"), 0);
	assert_int_equal(delegate_canary(""), 0);
}

static void
test_hostfam_get_cached(void **state)
{
	(void)state;
	names_set_families(HOSTFAM_V4);
	assert_int_equal(hostfam_get(), HOSTFAM_V4);
	/* A change shows only after the cache expires (or a flush). */
	names_families = HOSTFAM_V6;
	assert_int_equal(hostfam_get(), HOSTFAM_V4);
	hostfam_flush();
	assert_int_equal(hostfam_get(), HOSTFAM_V6);
	names_set_families(NAMES_REAL_FAMILIES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_parse_lines),
		cmocka_unit_test(test_hosts_parse_every_truncation),
		cmocka_unit_test(test_hosts_parse_callback_stops),
		cmocka_unit_test(test_hosts_set_has),
		cmocka_unit_test(test_hosts_has_system),
		cmocka_unit_test(test_delegate_literal_forms),
		cmocka_unit_test(test_hostfam_of),
		cmocka_unit_test(test_delegate_answer_families_table),
		cmocka_unit_test(test_delegate_decide_names),
		cmocka_unit_test(test_delegate_decide_literals),
		cmocka_unit_test(test_delegate_name_uses_shim_conf),
		cmocka_unit_test(test_delegate_canary),
		cmocka_unit_test(test_hostfam_get_cached),
	};

	names_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
