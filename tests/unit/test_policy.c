/*
 * test_policy.c - client rules, request rules in both phases, the
 * protect-local/-private overrides and method selection
 * (src/gateway/policy.c), all driven by tables over small configs.
 *
 * Line numbers in the expectations are those of the config text above
 * each table; 0 means no rule decided.
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

#include "gateway/gatewayd.h"

#define PASS	RULE_PASS
#define BLOCK	RULE_BLOCK
#define CONNECT	SOCKS5_CMD_CONNECT
#define BIND	SOCKS5_CMD_BIND
#define UDP	SOCKS5_CMD_UDP

/* "192.0.2.1" or "2001:db8::1" (or "::ffff:192.0.2.1") into ss. */
static const struct sockaddr *
sa(struct sockaddr_storage *ss, const char *text, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	if (text == NULL)
		return NULL;
	memset(ss, 0, sizeof(*ss));
	if (strchr(text, ':') == NULL) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		if (inet_pton(AF_INET, text, &sin->sin_addr) != 1)
			fail_msg("bad test address %s", text);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
			fail_msg("bad test address %s", text);
	}
	return (const struct sockaddr *)ss;
}

static struct gw_conf *
conf_str(const char *text)
{
	struct conf_errors	 e;
	struct gw_conf		*c;

	conf_errors_init(&e, "t.conf");
	if ((c = conf_parse(text, strlen(text), &e)) == NULL)
		fail_msg("test config refused:\n%s", e.text);
	return c;
}

/* ---------------------------------------------------------------- */
/* client rules                                                        */

struct client_case {
	const char		*client;
	enum rule_action	 action;
	unsigned int		 line;
};

static void
run_client_table(const struct gw_conf *c, const struct client_case *t,
    size_t n)
{
	struct sockaddr_storage	ss;
	struct verdict		v;
	size_t			i;

	for (i = 0; i < n; i++) {
		v = policy_client(c, sa(&ss, t[i].client, 40000));
		if (v.action != t[i].action || v.lineno != t[i].line)
			fail_msg("client %s: got %s line %u (%s), want %s "
			    "line %u", t[i].client,
			    v.action == PASS ? "pass" : "block", v.lineno,
			    v.why, t[i].action == PASS ? "pass" : "block",
			    t[i].line);
		assert_string_equal(v.why, t[i].line != 0 ? "rule" :
		    "no client rule matched");
	}
}

static void
test_policy_client_first_match(void **state)
{
	static const char conf[] =
	    "client block from 192.0.2.66\n"		/* 1 */
	    "client pass from 192.0.2.0/24\n"		/* 2 */
	    "client pass from 2001:db8::/32\n"		/* 3 */
	    "client block from 198.51.100.0/24\n"	/* 4 */
	    "client pass from 198.51.100.0/23\n";	/* 5 */
	static const struct client_case t[] = {
		{ "192.0.2.66", BLOCK, 1 },
		{ "192.0.2.1", PASS, 2 },
		{ "::ffff:192.0.2.1", PASS, 2 },	/* mapped = IPv4 */
		{ "::ffff:192.0.2.66", BLOCK, 1 },
		{ "2001:db8::5", PASS, 3 },
		{ "2001:db9::5", BLOCK, 0 },
		{ "198.51.100.1", BLOCK, 4 },		/* before line 5 */
		{ "198.51.101.1", PASS, 5 },
		{ "203.0.113.1", BLOCK, 0 },
		{ "127.0.0.1", BLOCK, 0 },
		{ "::1", BLOCK, 0 },
	};
	struct gw_conf	*c = conf_str(conf);

	(void)state;
	run_client_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

static void
test_policy_client_any_and_none(void **state)
{
	static const struct client_case any[] = {
		{ "192.0.2.1", PASS, 2 },
		{ "2001:db8::1", PASS, 2 },
		{ "::ffff:10.0.0.1", PASS, 2 },
	};
	static const struct client_case none[] = {
		{ "127.0.0.1", BLOCK, 0 },
		{ "::1", BLOCK, 0 },
	};
	struct gw_conf	*c;

	(void)state;
	c = conf_str("# any\nclient pass from any\nclient block from any\n");
	run_client_table(c, any, sizeof(any) / sizeof(any[0]));
	conf_unref(c);
	c = conf_str("pass\n");		/* no client rule: no one */
	run_client_table(c, none, sizeof(none) / sizeof(none[0]));
	conf_unref(c);
}

static void
test_policy_client_defaults(void **state)
{
	static const struct client_case t[] = {
		{ "127.0.0.1", PASS, 0 },
		{ "127.255.0.9", PASS, 0 },
		{ "::ffff:127.0.0.1", PASS, 0 },
		{ "::1", PASS, 0 },
		{ "192.0.2.1", BLOCK, 0 },
		{ "2001:db8::1", BLOCK, 0 },
	};
	struct gw_conf		*c = conf_defaults();
	struct sockaddr_storage	 ss;
	struct verdict		 v;
	size_t			 i;

	(void)state;
	/* The defaults' rules have line 0, so check the why instead. */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = policy_client(c, sa(&ss, t[i].client, 1));
		if (v.action != t[i].action)
			fail_msg("client %s: wrong verdict", t[i].client);
		assert_string_equal(v.why, t[i].action == PASS ? "rule" :
		    "no client rule matched");
	}
	conf_unref(c);
}

/* ---------------------------------------------------------------- */
/* request rules                                                       */

struct req_case {
	const char		*client;
	const char		*user;
	uint8_t			 cmd;
	const char		*name;
	const char		*addr;		/* NULL: phase 1 */
	uint16_t		 port;
	enum rule_action	 action;
	unsigned int		 line;
	const char		*why;
};

/* The table under the host addresses own (NULL, 0: none known). */
static void
run_req_table_own(const struct gw_conf *c, const struct addr_net *own,
    size_t nown, const struct req_case *t, size_t n)
{
	struct sockaddr_storage	cs, as;
	struct policy_query	q;
	struct verdict		v;
	size_t			i;

	for (i = 0; i < n; i++) {
		memset(&q, 0, sizeof(q));
		q.own = own;
		q.nown = nown;
		q.client = sa(&cs, t[i].client, 40000);
		q.user = t[i].user;
		q.cmd = t[i].cmd;
		q.name = t[i].name;
		q.addr = sa(&as, t[i].addr, t[i].port);
		q.port = t[i].port;
		v = policy_request(c, &q);
		if (v.action != t[i].action || v.lineno != t[i].line ||
		    strcmp(v.why, t[i].why) != 0)
			fail_msg("case %zu (client %s user %s name %s addr %s "
			    "port %u): got %s line %u %s, want %s line %u %s",
			    i, t[i].client, t[i].user ? t[i].user : "-",
			    t[i].name ? t[i].name : "-",
			    t[i].addr ? t[i].addr : "-", t[i].port,
			    v.action == PASS ? "pass" : "block", v.lineno,
			    v.why, t[i].action == PASS ? "pass" : "block",
			    t[i].line, t[i].why);
	}
}

static void
run_req_table(const struct gw_conf *c, const struct req_case *t, size_t n)
{
	run_req_table_own(c, NULL, 0, t, n);
}

#define R	"rule"
#define NONE	"no rule matched"
#define DEFER	"deferred"
#define LOCAL	"protect-local"
#define PRIV	"protect-private"
#define REMOTE	"203.0.113.9"

/* Names and suffixes, users and commands. */
static const char names_conf[] =
    "block to .ads.example.org\n"			/* 1 */
    "pass to example.org port 443\n"			/* 2 */
    "pass to .example.com port 80-81\n"			/* 3 */
    "pass user alice to www.example.net\n"		/* 4 */
    "pass to internal.example command bind\n"		/* 5 */
    "block to 198.51.100.0/24\n"			/* 6 */
    "client pass from any\n";

static void
test_policy_request_names(void **state)
{
	static const struct req_case t[] = {
		/* phase 1: addr NULL */
		{ REMOTE, NULL, CONNECT, "ads.example.org", NULL, 80,
		    BLOCK, 1, R },
		{ REMOTE, NULL, CONNECT, "x.ADS.example.org.", NULL, 80,
		    BLOCK, 1, R },
		{ REMOTE, NULL, CONNECT, "badads.example.org", NULL, 443,
		    BLOCK, 0, NONE },	/* line 6 is a net: skipped */
		{ REMOTE, NULL, CONNECT, "example.org", NULL, 443,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, "Example.ORG.", NULL, 443,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, "example.org", NULL, 444,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "www.example.org", NULL, 443,
		    BLOCK, 0, NONE },	/* a name is not a suffix */
		{ REMOTE, NULL, CONNECT, "example.org.evil", NULL, 443,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "example.com", NULL, 80,
		    PASS, 3, R },
		{ REMOTE, NULL, CONNECT, "a.b.example.com", NULL, 81,
		    PASS, 3, R },
		{ REMOTE, NULL, CONNECT, "badexample.com", NULL, 80,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "example.com", NULL, 82,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "com", NULL, 80,
		    BLOCK, 0, NONE },
		{ REMOTE, "alice", CONNECT, "www.example.net", NULL, 22,
		    PASS, 4, R },
		{ REMOTE, "bob", CONNECT, "www.example.net", NULL, 22,
		    BLOCK, 0, NONE },
		{ REMOTE, "Alice", CONNECT, "www.example.net", NULL, 22,
		    BLOCK, 0, NONE },	/* user names are exact */
		{ REMOTE, NULL, CONNECT, "www.example.net", NULL, 22,
		    BLOCK, 0, NONE },	/* anonymous: never a user rule */
		{ REMOTE, NULL, BIND, "internal.example", NULL, 22,
		    PASS, 5, R },
		{ REMOTE, NULL, CONNECT, "internal.example", NULL, 22,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, UDP, "internal.example", NULL, 22,
		    BLOCK, 0, NONE },
		/* phase 2: names still decide, literals never match them */
		{ REMOTE, NULL, CONNECT, "example.org", "192.0.2.10", 443,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, NULL, "192.0.2.10", 443,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "example.org", "198.51.100.1", 443,
		    PASS, 2, R },	/* line 2 comes before line 6 */
		{ REMOTE, NULL, CONNECT, "x.example.com", "198.51.100.1", 80,
		    PASS, 3, R },
		{ REMOTE, NULL, CONNECT, "h.example.net", "198.51.100.1", 80,
		    BLOCK, 6, R },
		{ REMOTE, NULL, CONNECT, "ads.example.org", "192.0.2.1", 80,
		    BLOCK, 1, R },
	};
	struct gw_conf	*c = conf_str(names_conf);

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* Networks, ports, sources and commands, in both phases. */
static const char nets_conf[] =
    "block to 198.51.100.0/24 port 22\n"			/* 1 */
    "pass to 198.51.100.0/24 port 22-80\n"			/* 2 */
    "pass from 192.0.2.0/24 to 203.0.113.0/24 command connect\n" /* 3 */
    "block to 203.0.113.5\n"					/* 4 */
    "pass to 2001:db8:1::/48 port 443\n"			/* 5 */
    "pass to .example.org\n";					/* 6 */

static void
test_policy_request_nets(void **state)
{
	static const struct req_case t[] = {
		/* phase 1: a pass on a net defers, a block on one waits */
		{ REMOTE, NULL, CONNECT, "h.test", NULL, 22,
		    PASS, 2, DEFER },
		{ REMOTE, NULL, CONNECT, "h.test", NULL, 8080,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "h.test", NULL, 443,
		    PASS, 5, DEFER },
		{ "192.0.2.7", NULL, CONNECT, "h.test", NULL, 8080,
		    PASS, 3, DEFER },
		{ "192.0.2.7", NULL, BIND, "h.test", NULL, 8080,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "www.example.org", NULL, 8080,
		    PASS, 6, R },
		/* phase 2, literal requests */
		{ REMOTE, NULL, CONNECT, NULL, "198.51.100.1", 22,
		    BLOCK, 1, R },	/* first match wins */
		{ REMOTE, NULL, CONNECT, NULL, "198.51.100.1", 80,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, NULL, "198.51.100.1", 81,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:198.51.100.1", 80,
		    PASS, 2, R },	/* mapped = IPv4 */
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:198.51.100.1", 22,
		    BLOCK, 1, R },
		{ "192.0.2.7", NULL, CONNECT, NULL, "203.0.113.5", 80,
		    PASS, 3, R },	/* before line 4 */
		{ "::ffff:192.0.2.7", NULL, CONNECT, NULL, "203.0.113.5", 80,
		    PASS, 3, R },
		{ REMOTE, NULL, CONNECT, NULL, "203.0.113.5", 80,
		    BLOCK, 4, R },
		{ "192.0.2.7", NULL, BIND, NULL, "203.0.113.6", 80,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, NULL, "2001:db8:1:2::1", 443,
		    PASS, 5, R },
		{ REMOTE, NULL, CONNECT, NULL, "2001:db8:1:2::1", 80,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, NULL, "2001:db8:2::1", 443,
		    BLOCK, 0, NONE },
		/* phase 2 after resolving a name */
		{ REMOTE, NULL, CONNECT, "www.example.org", "198.51.100.1", 22,
		    BLOCK, 1, R },
		{ REMOTE, NULL, CONNECT, "www.example.org", "192.0.2.200", 22,
		    PASS, 6, R },
		{ REMOTE, NULL, CONNECT, "h.test", "192.0.2.200", 22,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, "h.test", "198.51.100.9", 50,
		    PASS, 2, R },
		/* no destination at all */
		{ REMOTE, NULL, CONNECT, NULL, NULL, 80,
		    BLOCK, 0, "no destination" },
	};
	struct gw_conf	*c = conf_str(nets_conf);

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

static void
test_policy_request_no_rules(void **state)
{
	static const struct req_case t[] = {
		{ REMOTE, NULL, CONNECT, "example.org", NULL, 80,
		    BLOCK, 0, NONE },
		{ REMOTE, NULL, CONNECT, NULL, "192.0.2.1", 80,
		    BLOCK, 0, NONE },
	};
	struct gw_conf	*c = conf_str("client pass from any\n");

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* protect-local with "pass to any": remote clients kept off the host. */
static void
test_policy_request_protect_local(void **state)
{
	static const struct req_case t[] = {
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "127.1.2.3", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::1", 80, BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "0.0.0.0", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:0.0.0.0", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::", 80, BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "169.254.169.254", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:169.254.1.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "fe80::1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "febf::1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "fec0::1", 80, PASS, 1, R },
		{ REMOTE, NULL, CONNECT, NULL, "::2", 80, PASS, 1, R },
		/* a name that resolves to the host is no way round it */
		{ REMOTE, NULL, CONNECT, "localhost", NULL, 80, PASS, 1, R },
		{ REMOTE, NULL, CONNECT, "localhost", "127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, "localhost", "::ffff:127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, "localhost", "::1", 80,
		    BLOCK, 0, LOCAL },
		{ "2001:db8::9", NULL, CONNECT, "localhost", "::1", 80,
		    BLOCK, 0, LOCAL },
		/* protect-private is off by default */
		{ REMOTE, NULL, CONNECT, NULL, "10.0.0.1", 80, PASS, 1, R },
		{ REMOTE, NULL, CONNECT, NULL, "192.0.2.1", 80, PASS, 1, R },
		/* loopback clients could reach these directly anyway */
		{ "127.0.0.1", NULL, CONNECT, NULL, "127.0.0.1", 80,
		    PASS, 1, R },
		{ "127.0.0.1", NULL, CONNECT, "localhost", "127.0.0.1", 80,
		    PASS, 1, R },
		{ "::1", NULL, CONNECT, "localhost", "::1", 80, PASS, 1, R },
		{ "::1", NULL, CONNECT, NULL, "::ffff:127.0.0.1", 80,
		    PASS, 1, R },
		{ "::ffff:127.0.0.1", NULL, CONNECT, "localhost",
		    "127.0.0.1", 80, PASS, 1, R },
		{ "127.0.0.1", NULL, CONNECT, NULL, "169.254.1.1", 80,
		    PASS, 1, R },
	};
	struct gw_conf	*c = conf_str("pass to any\n");

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);

	/* protect-local no: the rules alone decide. */
	c = conf_str("protect-local no\npass to any\n");
	{
		static const struct req_case off[] = {
			{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 80,
			    PASS, 2, R },
			{ REMOTE, NULL, CONNECT, "localhost", "::1", 80,
			    PASS, 2, R },
		};

		run_req_table(c, off, sizeof(off) / sizeof(off[0]));
	}
	conf_unref(c);
}

/* Only a pass rule naming a protected network itself opens it. */
static const char override_conf[] =
    "block to 127.0.0.2\n"			/* 1 */
    "pass to 127.0.0.1 port 8080\n"		/* 2 */
    "pass to ::1\n"				/* 3 */
    "pass to localhost\n"			/* 4 */
    "pass to 0.0.0.0/0\n"			/* 5 */
    "pass to ::/0\n";				/* 6 */

static void
test_policy_request_protect_override(void **state)
{
	static const struct req_case t[] = {
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 8080,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:127.0.0.1", 8080,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, "localhost", "127.0.0.1", 8080,
		    PASS, 2, R },
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.2", 8080,
		    BLOCK, 1, R },
		/* first match is the 0/0 rule: wider than 127/8 */
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		{ REMOTE, NULL, CONNECT, NULL, "::1", 80, PASS, 3, R },
		/* a name rule does not name a network */
		{ REMOTE, NULL, CONNECT, "localhost", "127.0.0.1", 80,
		    BLOCK, 0, LOCAL },
		/* phase 1: the pass to ::1 (a net) comes first and defers */
		{ REMOTE, NULL, CONNECT, "localhost", NULL, 80,
		    PASS, 3, DEFER },
		{ REMOTE, NULL, CONNECT, NULL, "192.0.2.1", 80, PASS, 5, R },
		{ REMOTE, NULL, CONNECT, NULL, "2001:db8::1", 80,
		    PASS, 6, R },
		{ REMOTE, NULL, CONNECT, NULL, "fe80::1", 80,
		    BLOCK, 0, LOCAL },
	};
	struct gw_conf	*c = conf_str(override_conf);

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

static const char private_conf[] =
    "protect-private yes\n"			/* 1 */
    "protect-local no\n"			/* 2 */
    "pass to 192.168.1.0/24\n"			/* 3 */
    "pass to fd00:1::/32\n"			/* 4 */
    "pass to any\n";				/* 5 */

static void
test_policy_request_protect_private(void **state)
{
	static const struct req_case t[] = {
		{ REMOTE, NULL, CONNECT, NULL, "192.168.1.5", 80,
		    PASS, 3, R },
		{ REMOTE, NULL, CONNECT, NULL, "192.168.2.5", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "10.1.1.1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "::ffff:10.1.1.1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "172.16.0.1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "172.31.255.255", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "172.32.0.1", 80, PASS, 5, R },
		{ REMOTE, NULL, CONNECT, NULL, "100.64.0.1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "100.127.255.255", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "100.128.0.1", 80,
		    PASS, 5, R },
		{ REMOTE, NULL, CONNECT, NULL, "fc00::1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "fd12::1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "fd00:1:2::1", 80,
		    PASS, 4, R },
		{ REMOTE, NULL, CONNECT, NULL, "fe00::1", 80, PASS, 5, R },
		{ REMOTE, NULL, CONNECT, "intranet.example", "10.0.0.1", 80,
		    BLOCK, 0, PRIV },
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 80, PASS, 5, R },
		{ "127.0.0.1", NULL, CONNECT, NULL, "10.1.1.1", 80,
		    PASS, 5, R },
	};
	struct gw_conf	*c = conf_str(private_conf);

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* ---------------------------------------------------------------- */
/* protect-local and the host's own addresses                          */

#define OWN	"protect-local (own address)"
#define LAN	"192.0.2.2"		/* a client on the router's LAN */

/* A router: LAN 192.0.2.1, WAN 198.51.100.1, an IPv6 and a private one. */
static const struct addr_net router_own[] = {
	{ AF_INET, { 192, 0, 2, 1 }, 32 },
	{ AF_INET, { 198, 51, 100, 1 }, 32 },
	{ AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 1 }, 128 },
	{ AF_INET, { 10, 0, 0, 1 }, 32 },
	{ AF_INET, { 127, 0, 0, 1 }, 32 },
};
#define NOWN	(sizeof(router_own) / sizeof(router_own[0]))

static void
test_policy_request_protect_local_own_addresses(void **state)
{
	static const struct req_case t[] = {
		{ LAN, NULL, CONNECT, NULL, "192.0.2.1", 22, BLOCK, 0, OWN },
		{ LAN, NULL, CONNECT, NULL, "198.51.100.1", 22,
		    BLOCK, 0, OWN },
		{ LAN, NULL, CONNECT, NULL, "::ffff:198.51.100.1", 22,
		    BLOCK, 0, OWN },
		{ LAN, NULL, CONNECT, NULL, "2001:db8:1::1", 22,
		    BLOCK, 0, OWN },
		{ "2001:db8:1::5", NULL, CONNECT, NULL, "2001:db8:1::1", 22,
		    BLOCK, 0, OWN },
		{ LAN, NULL, UDP, NULL, "198.51.100.1", 53, BLOCK, 0, OWN },
		/* A name is judged by the address it resolved to... */
		{ LAN, NULL, CONNECT, "router.example", "198.51.100.1", 22,
		    BLOCK, 0, OWN },
		/* ...not before the look-up. */
		{ LAN, NULL, CONNECT, "router.example", NULL, 22,
		    PASS, 2, R },
		/* The neighbours are not this host. */
		{ LAN, NULL, CONNECT, NULL, "192.0.2.3", 22, PASS, 2, R },
		{ LAN, NULL, CONNECT, NULL, "198.51.100.2", 22, PASS, 2, R },
		{ LAN, NULL, CONNECT, NULL, "2001:db8:1::2", 22, PASS, 2, R },
		/* The fixed ranges still say plain protect-local. */
		{ LAN, NULL, CONNECT, NULL, "127.0.0.1", 22, BLOCK, 0, LOCAL },
		/* A client on one of the host's addresses is on this host. */
		{ "192.0.2.1", NULL, CONNECT, NULL, "198.51.100.1", 22,
		    PASS, 2, R },
		{ "198.51.100.1", NULL, CONNECT, NULL, "127.0.0.1", 22,
		    PASS, 2, R },
		{ "::ffff:192.0.2.1", NULL, CONNECT, NULL, "127.0.0.1", 22,
		    PASS, 2, R },
		{ "2001:db8:1::1", NULL, CONNECT, NULL, "::1", 22,
		    PASS, 2, R },
	};
	struct gw_conf	*c = conf_str("client pass from any\n"
	    "pass to any\n");

	(void)state;
	run_req_table_own(c, router_own, NOWN, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* Only a rule naming the address itself opens it, as for 127.0.0.1. */
static void
test_policy_request_protect_local_own_override(void **state)
{
	static const struct req_case t[] = {
		{ LAN, NULL, CONNECT, NULL, "198.51.100.1", 22, PASS, 1, R },
		{ LAN, NULL, CONNECT, "router.example", "198.51.100.1", 22,
		    PASS, 1, R },
		/* Line 1's port does not match; line 4 (any) is overruled. */
		{ LAN, NULL, CONNECT, NULL, "198.51.100.1", 80,
		    BLOCK, 0, OWN },
		/* The LAN's /24 is wider than the address: overruled. */
		{ LAN, NULL, CONNECT, NULL, "192.0.2.1", 22, BLOCK, 0, OWN },
		{ LAN, NULL, CONNECT, NULL, "192.0.2.9", 22, PASS, 2, R },
		/* Private and own: only the own address stays shut. */
		{ LAN, NULL, CONNECT, NULL, "10.0.0.1", 80, BLOCK, 0, OWN },
		{ LAN, NULL, CONNECT, NULL, "10.0.0.2", 80, PASS, 3, R },
	};
	struct gw_conf	*c = conf_str("pass to 198.51.100.1/32 port 22\n"
	    "pass to 192.0.2.0/24\npass to 10.0.0.0/8\npass to any\n"
	    "protect-private yes\nclient pass from any\n");

	(void)state;
	run_req_table_own(c, router_own, NOWN, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

static void
test_policy_request_protect_local_own_off(void **state)
{
	static const struct req_case t[] = {
		{ LAN, NULL, CONNECT, NULL, "192.0.2.1", 22, PASS, 3, R },
		{ LAN, NULL, CONNECT, NULL, "198.51.100.1", 22, PASS, 3, R },
		/* A block rule on the address keeps its line. */
		{ LAN, NULL, CONNECT, NULL, "2001:db8:1::1", 22,
		    BLOCK, 2, R },
	};
	struct gw_conf	*c = conf_str("protect-local no\n"
	    "block to 2001:db8:1::1\npass to any\nclient pass from any\n");

	(void)state;
	run_req_table_own(c, router_own, NOWN, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* A block rule stays a block, protected or not, and keeps its line. */
static void
test_policy_request_block_rule_keeps_line(void **state)
{
	static const struct req_case t[] = {
		{ REMOTE, NULL, CONNECT, NULL, "127.0.0.1", 80,
		    BLOCK, 1, R },
		{ REMOTE, "alice", CONNECT, NULL, "192.0.2.1", 25,
		    BLOCK, 2, R },
		{ REMOTE, "bob", CONNECT, NULL, "192.0.2.1", 25,
		    PASS, 3, R },
	};
	struct gw_conf	*c = conf_str("block to 127.0.0.0/8\n"
	    "block user alice port 25\npass\n");

	(void)state;
	run_req_table(c, t, sizeof(t) / sizeof(t[0]));
	conf_unref(c);
}

/* ---------------------------------------------------------------- */
/* method selection                                                    */

static void
test_policy_method(void **state)
{
	static const struct {
		const char	*conf;
		uint8_t		 n;
		uint8_t		 offered[3];
		uint8_t		 want;
	} t[] = {
		{ "auth none", 1, { 0x00 }, SOCKS5_METHOD_NONE },
		{ "auth none", 1, { 0x02 }, SOCKS5_METHOD_REFUSED },
		{ "auth none", 2, { 0x02, 0x00 }, SOCKS5_METHOD_NONE },
		{ "auth none", 1, { 0x01 }, SOCKS5_METHOD_REFUSED },
		{ "auth none", 0, { 0 }, SOCKS5_METHOD_REFUSED },
		{ "auth none", 3, { 0x80, 0xfe, 0x00 }, SOCKS5_METHOD_NONE },
		{ "auth password\nusers-file u", 1, { 0x00 },
		    SOCKS5_METHOD_REFUSED },
		{ "auth password\nusers-file u", 1, { 0x02 },
		    SOCKS5_METHOD_USERPASS },
		{ "auth password\nusers-file u", 2, { 0x00, 0x02 },
		    SOCKS5_METHOD_USERPASS },
		{ "auth password none\nusers-file u", 1, { 0x00 },
		    SOCKS5_METHOD_NONE },
		{ "auth none password\nusers-file u", 2, { 0x00, 0x02 },
		    SOCKS5_METHOD_USERPASS },
		{ "auth none password\nusers-file u", 1, { 0x02 },
		    SOCKS5_METHOD_USERPASS },
		{ "auth none password\nusers-file u", 1, { 0x01 },
		    SOCKS5_METHOD_REFUSED },
	};
	struct socks5_greeting	 g;
	struct gw_conf		*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = conf_str(t[i].conf);
		memset(&g, 0, sizeof(g));
		g.nmethods = t[i].n;
		memcpy(g.methods, t[i].offered, t[i].n);
		if (policy_method(c, &g) != t[i].want)
			fail_msg("case %zu: got %#x want %#x", i,
			    policy_method(c, &g), t[i].want);
		conf_unref(c);
	}
	/* The defaults offer no authentication. */
	c = conf_defaults();
	g.nmethods = 1;
	g.methods[0] = SOCKS5_METHOD_NONE;
	assert_int_equal(policy_method(c, &g), SOCKS5_METHOD_NONE);
	conf_unref(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_client_first_match),
		cmocka_unit_test(test_policy_client_any_and_none),
		cmocka_unit_test(test_policy_client_defaults),
		cmocka_unit_test(test_policy_request_names),
		cmocka_unit_test(test_policy_request_nets),
		cmocka_unit_test(test_policy_request_no_rules),
		cmocka_unit_test(test_policy_request_protect_local),
		cmocka_unit_test(test_policy_request_protect_override),
		cmocka_unit_test(test_policy_request_protect_private),
		cmocka_unit_test(test_policy_request_protect_local_own_addresses),
		cmocka_unit_test(test_policy_request_protect_local_own_override),
		cmocka_unit_test(test_policy_request_protect_local_own_off),
		cmocka_unit_test(test_policy_request_block_rule_keeps_line),
		cmocka_unit_test(test_policy_method),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
