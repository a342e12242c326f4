/*
 * test_conf.c - gatewayd.conf parsing, defaults, command-line additions
 * and lifetime (src/gateway/conf.c).
 *
 * Broken configs live in tests/fixtures/conf/, one file per error, each
 * saying in its first line where its error is; the table below asserts
 * the file, line and reason of every one. Single directives good and bad
 * are also checked from strings, which keeps each case to one line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gatewayd.h"
#include "conf_errors_test.h"

static char *
fixture(const char *name)
{
	static char	path[4096];
	const char	*src = getenv("SOCKS64_SRC");

	snprintf(path, sizeof(path), "%s/tests/fixtures/conf/%s",
	    src != NULL ? src : ".", name);
	return path;
}

static struct gw_conf *
parse_str(const char *s, struct conf_errors *e)
{
	conf_errors_init(e, "t.conf");
	return conf_parse(s, strlen(s), e);
}

static int
is_v4(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	struct in_addr			 a;

	inet_pton(AF_INET, addr, &a);
	return ss->ss_family == AF_INET && sin->sin_addr.s_addr == a.s_addr &&
	    ntohs(sin->sin_port) == port;
}

static int
is_v6(const struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr			 a;

	inet_pton(AF_INET6, addr, &a);
	return ss->ss_family == AF_INET6 &&
	    memcmp(&sin6->sin6_addr, &a, sizeof(a)) == 0 &&
	    ntohs(sin6->sin6_port) == port;
}

static void
assert_net(const struct addr_net *n, const char *text)
{
	char	buf[ADDR_STRLEN];

	assert_string_equal(addr_format_net(n, buf, sizeof(buf)), text);
}

/* ---------------------------------------------------------------- */

static void
test_conf_load_good_full(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*path = fixture("good-full.conf");

	(void)state;
	conf_errors_init(&e, path);
	c = conf_load(path, &e);
	assert_non_null(c);
	assert_int_equal(e.count, 0);
	assert_string_equal(c->path, path);

	assert_int_equal(c->nlistens, 3);
	assert_true(is_v4(&c->listens[0], "127.0.0.1", 1080));
	assert_int_equal(c->listen_lens[0], sizeof(struct sockaddr_in));
	assert_true(is_v6(&c->listens[1], "::1", 1081));
	assert_int_equal(c->listen_lens[1], sizeof(struct sockaddr_in6));
	assert_true(is_v4(&c->listens[2], "192.0.2.1", GATEWAYD_DEFAULT_PORT));

	assert_int_equal(c->auth, AUTH_NONE);
	assert_string_equal(c->users_file, "/nonexistent/users");
	assert_null(c->users);		/* auth none: never read */
	assert_int_equal(c->family, FAMILY_IPV6_FIRST);
	assert_int_equal(c->happy_delay_ms, 100);
	assert_int_equal(c->handshake_timeout, 5);
	assert_int_equal(c->connect_timeout, 30);
	assert_int_equal(c->idle_timeout, 7200);
	assert_int_equal(c->shutdown_grace, 0);
	assert_int_equal(c->max_clients, 64);
	assert_int_equal(c->protect_local, 0);
	assert_int_equal(c->protect_private, 1);
	assert_int_equal(c->log_target, LOG_TARGET_SYSLOG);
	assert_int_equal(c->log_target_set, 1);
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_string_equal(c->runas, "nobody");

	assert_int_equal(c->nclient_rules, 4);
	assert_int_equal(c->client_rules[0].action, RULE_BLOCK);
	assert_int_equal(c->client_rules[0].lineno, 20);
	assert_net(&c->client_rules[0].from, "192.0.2.66/32");
	assert_int_equal(c->client_rules[1].action, RULE_PASS);
	assert_net(&c->client_rules[1].from, "192.0.2.0/24");
	assert_net(&c->client_rules[2].from, "2001:db8::/32");
	assert_int_equal(c->client_rules[3].from.family, AF_UNSPEC);
	assert_int_equal(c->client_rules[3].lineno, 23);

	assert_int_equal(c->nrules, 6);
	assert_int_equal(c->rules[0].action, RULE_BLOCK);
	assert_int_equal(c->rules[0].dest, DEST_SUFFIX);
	assert_string_equal(c->rules[0].to_name, "ads.example.org");
	assert_int_equal(c->rules[0].lineno, 25);
	assert_int_equal(c->rules[0].port_lo, 0);
	assert_int_equal(c->rules[0].port_hi, 65535);
	assert_int_equal(c->rules[0].commands, 0);
	assert_int_equal(c->rules[0].from.family, AF_UNSPEC);

	assert_int_equal(c->rules[1].action, RULE_PASS);
	assert_net(&c->rules[1].from, "192.0.2.0/24");
	assert_int_equal(c->rules[1].dest, DEST_NET);
	assert_net(&c->rules[1].to_net, "198.51.100.0/24");
	assert_int_equal(c->rules[1].port_lo, 80);
	assert_int_equal(c->rules[1].port_hi, 443);
	assert_int_equal(c->rules[1].commands, 1u << SOCKS5_CMD_CONNECT);

	assert_int_equal(c->rules[2].dest, DEST_NAME);
	assert_string_equal(c->rules[2].to_name, "example.org");
	assert_int_equal(c->rules[2].port_lo, 22);
	assert_int_equal(c->rules[2].port_hi, 22);

	/* Stored folded to lower case, without the root's dot. */
	assert_string_equal(c->rules[3].to_name, "mixed.example.com");

	assert_string_equal(c->rules[4].user, "alice");
	assert_int_equal(c->rules[4].dest, DEST_ANY);
	assert_int_equal(c->rules[4].commands, 1u << SOCKS5_CMD_BIND);

	assert_int_equal(c->rules[5].action, RULE_BLOCK);
	assert_int_equal(c->rules[5].dest, DEST_ANY);
	assert_int_equal(c->rules[5].lineno, 30);
	conf_unref(c);
}

static void
test_conf_load_minimal_has_defaults(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*path = fixture("good-minimal.conf");

	(void)state;
	conf_errors_init(&e, path);
	assert_non_null(c = conf_load(path, &e));
	/* What the spec gives every directive left out. */
	assert_int_equal(c->nlistens, 0);
	assert_int_equal(c->auth, AUTH_NONE);
	assert_null(c->users_file);
	assert_null(c->users);
	assert_int_equal(c->family, FAMILY_HAPPY_EYEBALLS);
	assert_int_equal(c->happy_delay_ms, 250);
	assert_int_equal(c->handshake_timeout, 10);
	assert_int_equal(c->connect_timeout, 10);
	assert_int_equal(c->idle_timeout, 3600);
	assert_int_equal(c->shutdown_grace, 10);
	assert_int_equal(c->max_clients, 1024);
	assert_int_equal(c->protect_local, 1);
	assert_int_equal(c->protect_private, 0);
	assert_int_equal(c->log_target_set, 0);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_null(c->runas);
	assert_int_equal(c->nclient_rules, 1);
	assert_int_equal(c->nrules, 1);
	assert_int_equal(c->rules[0].action, RULE_PASS);
	assert_int_equal(c->rules[0].dest, DEST_ANY);
	assert_int_equal(c->rules[0].lineno, 2);
	conf_unref(c);
}

static void
test_conf_load_continuation_lines(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*path = fixture("good-continuation.conf");

	(void)state;
	conf_errors_init(&e, path);
	assert_non_null(c = conf_load(path, &e));
	assert_int_equal(c->nrules, 2);
	assert_int_equal(c->rules[0].lineno, 3);
	assert_net(&c->rules[0].from, "192.0.2.0/24");
	assert_net(&c->rules[0].to_net, "198.51.100.7/32");
	assert_int_equal(c->rules[0].port_lo, 443);
	assert_int_equal(c->rules[1].lineno, 6);
	conf_unref(c);
}

static void
test_conf_load_password_reads_users(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*path = fixture("good-password.conf");
	char			 want[4200];

	(void)state;
	conf_errors_init(&e, path);
	c = conf_load(path, &e);
	if (c == NULL)
		fail_msg("%s", e.text);
	assert_int_equal(c->auth, AUTH_PASSWORD | AUTH_NONE);
	/* Relative to the config's directory, not to the cwd. */
	snprintf(want, sizeof(want), "%s", path);
	strcpy(strrchr(want, '/') + 1, "../users/good.users");
	assert_string_equal(c->users_file, want);
	assert_non_null(c->users);
	assert_int_equal(users_count(c->users), 2);
	assert_true(users_check(c->users, "alice", "alice-pw"));
	conf_unref(c);
}

static void
test_conf_load_empty_file(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*path = fixture("good-empty.conf");

	(void)state;
	conf_errors_init(&e, path);
	assert_non_null(c = conf_load(path, &e));
	assert_int_equal(c->nclient_rules, 0);
	assert_int_equal(c->nrules, 0);
	conf_unref(c);
}

/* One fixture per error: the file, the line it is on, its reason. */
static const struct bad_case {
	const char	*file;
	unsigned int	 line;
	const char	*reason;
} bad_cases[] = {
	{ "bad-unknown-directive.conf", 3, "unknown directive 'lisen'" },
	{ "bad-listen-missing.conf", 2, "expected ADDR:PORT after 'listen'" },
	{ "bad-listen-addr.conf", 3,
	    "expected ADDR:PORT after 'listen', not '127.0.0:1080'" },
	{ "bad-listen-extra.conf", 2,
	    "unexpected '[::1]:1080' after 'listen ADDR:PORT'" },
	{ "bad-auth-method.conf", 2,
	    "expected none or password after 'auth', not 'kerberos'" },
	{ "bad-auth-twice.conf", 2, "'none' given twice after 'auth'" },
	{ "bad-auth-missing.conf", 2, "expected none or password after 'auth'" },
	{ "bad-auth-no-users-file.conf", 3,
	    "'auth password' needs a 'users-file'" },
	{ "bad-users-file-missing.conf", 2, "expected PATH after 'users-file'" },
	{ "bad-family.conf", 2, "expected happy-eyeballs, ipv6-first, "
	    "ipv4-first, ipv6-only or ipv4-only after 'family', not "
	    "'ipv5-only'" },
	{ "bad-happy-delay.conf", 2, "expected milliseconds from 10 to 2000 "
	    "after 'happy-eyeballs-delay', not '5'" },
	{ "bad-timeout-kind.conf", 2, "expected handshake, connect, bind, "
	    "idle or shutdown after 'timeout', not 'read'" },
	{ "bad-timeout-value.conf", 3, "expected seconds from 1 to" },
	{ "bad-timeout-missing.conf", 2,
	    "expected SECONDS after 'timeout handshake'" },
	{ "bad-timeout-duplicate.conf", 4,
	    "duplicate 'timeout idle' (first at line 2)" },
	{ "bad-max-clients.conf", 2,
	    "expected a number from 1 to 1048576 after 'max-clients', not '0'" },
	{ "bad-max-clients-per-source.conf", 2, "expected a number from 0 to "
	    "1048576 after 'max-clients-per-source', not 'lots'" },
	{ "bad-protect-local.conf", 2,
	    "expected yes or no after 'protect-local', not 'maybe'" },
	{ "bad-protect-private.conf", 2,
	    "expected yes or no after 'protect-private'" },
	{ "bad-log.conf", 2, "expected stderr or syslog after 'log', not 'file'" },
	{ "bad-log-level.conf", 2, "expected error, warn, info or debug after "
	    "'log-level', not 'verbose'" },
	{ "bad-user-missing.conf", 2, "expected NAME after 'user'" },
	{ "bad-duplicate.conf", 5, "duplicate 'family' (first at line 2)" },
	{ "bad-client-action.conf", 2,
	    "expected pass or block after 'client', not 'allow'" },
	{ "bad-client-missing-action.conf", 2,
	    "expected pass or block after 'client'" },
	{ "bad-client-from.conf", 2,
	    "expected 'from' after 'client pass', not 'to'" },
	{ "bad-client-net.conf", 2, "expected a network or 'any' after "
	    "'client pass from', not '192.0.2.1/24'" },
	{ "bad-client-extra.conf", 2,
	    "unexpected 'port' after 'client pass from any'" },
	{ "bad-rule-keyword.conf", 3, "expected from, to, port, user, "
	    "command or via in 'pass' rule, not 'through'" },
	{ "bad-rule-from.conf", 2,
	    "expected a network or 'any' after 'from', not '300.1.2.3'" },
	{ "bad-rule-to.conf", 2, "expected any, an address or network, a name "
	    "or a .suffix after 'to', not 'bad..name'" },
	{ "bad-rule-to-net.conf", 2, "expected any, an address or network, a "
	    "name or a .suffix after 'to', not '198.51.100.0/33'" },
	{ "bad-rule-port.conf", 2, "expected a port or a range P-Q (1-65535) "
	    "after 'port', not '70000'" },
	{ "bad-rule-port-range.conf", 2, "expected a port or a range P-Q "
	    "(1-65535) after 'port', not '443-80'" },
	{ "bad-rule-command.conf", 2, "expected connect, bind or udp-associate "
	    "after 'command', not 'listen'" },
	{ "bad-rule-twice.conf", 2, "'to' given twice in 'pass' rule" },
	{ "bad-rule-missing-value.conf", 2, "expected any, an address or "
	    "network, a name or a .suffix after 'to'" },
	{ "bad-rule-continued.conf", 3, "expected a port or a range P-Q "
	    "(1-65535) after 'port', not 'http'" },
	{ "bad-quote.conf", 2, "" },
};

static void
test_conf_load_each_error(void **state)
{
	struct conf_errors	 e;
	size_t			 i;
	char			 path[4096];

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(path, sizeof(path), "%s", fixture(bad_cases[i].file));
		conf_errors_init(&e, path);
		if (conf_load(path, &e) != NULL)
			fail_msg("%s: loaded", bad_cases[i].file);
		if (e.count != 1)
			fail_msg("%s: %d errors:\n%s", bad_cases[i].file,
			    e.count, e.text);
		assert_error(&e, path, bad_cases[i].line, bad_cases[i].reason);
	}
}

static void
test_conf_load_counts_every_error(void **state)
{
	static const unsigned int lines[] = { 2, 3, 5, 6, 8, 9 };
	struct conf_errors	 e;
	const char		*path = fixture("bad-many.conf");
	size_t			 i;

	(void)state;
	conf_errors_init(&e, path);
	assert_null(conf_load(path, &e));
	assert_int_equal(e.count, 6);
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_error(&e, path, lines[i], "");
	assert_error(&e, path, 9, "'auth password' needs a 'users-file'");
}

static void
test_conf_load_missing_file(void **state)
{
	struct conf_errors	 e;
	const char		*path = fixture("no-such.conf");

	(void)state;
	conf_errors_init(&e, path);
	assert_null(conf_load(path, &e));
	assert_int_equal(e.count, 1);
	assert_error(&e, path, 0, "cannot open: No such file or directory");
}

static void
test_conf_load_users_file_unreadable(void **state)
{
	struct conf_errors	 e;
	const char		*path = fixture("bad-users-file-unreadable.conf");
	char			 users[4200];

	(void)state;
	snprintf(users, sizeof(users), "%s", path);
	strcpy(strrchr(users, '/') + 1, "no-such-users-file");
	conf_errors_init(&e, path);
	assert_null(conf_load(path, &e));
	assert_int_equal(e.count, 1);
	/* Named at the line that gave the path, where the fix goes. */
	assert_error(&e, path, 3, "users-file");
	assert_non_null(strstr(e.text, users));
	assert_non_null(strstr(e.text, "cannot open: No such file or directory"));
}

static void
test_conf_load_users_file_error(void **state)
{
	struct conf_errors	 e;
	const char		*path = fixture("bad-users-file-content.conf");
	char			 users[4200];

	(void)state;
	snprintf(users, sizeof(users), "%s", path);
	strcpy(strrchr(users, '/') + 1, "../users/bad-missing-colon.users");
	conf_errors_init(&e, path);
	assert_null(conf_load(path, &e));
	assert_int_equal(e.count, 1);
	assert_error(&e, users, 3, "expected name:HASH, missing ':'");
}

/*
 * Each directive from a string: accepted ones (reason NULL) and refused
 * ones with the reason expected on line 1.
 */
static const struct str_case {
	const char	*text;
	const char	*reason;	/* NULL: must parse */
} str_cases[] = {
	{ "listen [::]:1080", NULL },
	{ "listen 0.0.0.0", NULL },
	{ "listen \"[2001:db8::1]:8080\"", NULL },
	{ "listen example.org:1080", "expected ADDR:PORT after 'listen'" },
	{ "auth none", NULL },
	{ "auth password\nusers-file u", NULL },
	{ "auth password none\nusers-file u", NULL },
	{ "auth none password none", "unexpected 'none' after 'auth none "
	    "password'" },
	{ "auth password password\nusers-file u",
	    "'password' given twice after 'auth'" },
	{ "users-file \"\"", "expected PATH after 'users-file', not an empty "
	    "word" },
	{ "users-file a b", "unexpected 'b' after 'users-file PATH'" },
	{ "family happy-eyeballs", NULL },
	{ "family ipv4-only", NULL },
	{ "family IPV4-ONLY", "not 'IPV4-ONLY'" },
	{ "happy-eyeballs-delay 2000", NULL },
	{ "happy-eyeballs-delay 2001", "not '2001'" },
	{ "happy-eyeballs-delay 10ms", "not '10ms'" },
	{ "timeout handshake 1", NULL },
	{ "timeout connect 5m", NULL },
	{ "timeout idle 1d", NULL },
	{ "timeout idle 0", "not '0'" },
	{ "timeout idle 100000d", "not '100000d'" },
	{ "timeout shutdown 0", NULL },
	{ "timeout", "expected handshake, connect, bind, idle or shutdown "
	    "after 'timeout'" },
	{ "timeout idle 5 6", "unexpected '6' after 'timeout idle SECONDS'" },
	{ "max-clients 1048576", NULL },
	{ "max-clients 1048577", "not '1048577'" },
	{ "max-clients -1", "not '-1'" },
	{ "max-clients-per-source 0", NULL },
	{ "max-clients-per-source 1048576", NULL },
	{ "max-clients-per-source 1048577", "not '1048577'" },
	{ "max-clients-per-source", "expected N after "
	    "'max-clients-per-source'" },
	{ "max-clients-per-source 3 4", "unexpected '4' after "
	    "'max-clients-per-source N'" },
	{ "protect-local yes", NULL },
	{ "protect-private no", NULL },
	{ "protect-local", "expected yes or no after 'protect-local'" },
	{ "log stderr", NULL },
	{ "log syslog", NULL },
	{ "log-level error", NULL },
	{ "log-level warn", NULL },
	{ "log-level info", NULL },
	{ "user _socks", NULL },
	{ "user a b", "unexpected 'b' after 'user NAME'" },
	{ "user \"\"", "expected NAME after 'user', not an empty word" },
	{ "client pass from 127.0.0.0/8", NULL },
	{ "client block from ::1", NULL },
	{ "client pass", "expected 'from' after 'client pass'" },
	{ "client block from", "expected a network or 'any' after 'client "
	    "block from'" },
	{ "pass", NULL },
	{ "block", NULL },
	{ "pass from any to any", NULL },
	{ "pass to 2001:db8::/32 port 1-65535", NULL },
	{ "pass to ::ffff:192.0.2.1", NULL },
	{ "pass to .example.org.", NULL },
	{ "pass to under_score.example", NULL },
	{ "pass command udp-associate user bob port 53 to .example", NULL },
	{ "pass to 192.0.2.300", "not '192.0.2.300'" },
	{ "pass to .", "not '.'" },
	{ "pass to -", "not '-'" },
	{ "pass to a.b..", "not 'a.b..'" },
	{ "pass to "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	    "after 'to'" },			/* a 65-byte label */
	{ "pass port 0", "not '0'" },
	{ "pass port 1-", "not '1-'" },
	{ "pass port -5", "not '-5'" },
	{ "pass port 80-99999", "not '80-99999'" },
	{ "pass user \"\"", "expected a user name after 'user', not ''" },
	{ "pass from", "expected a network or 'any' after 'from'" },
	{ "pass command", "expected connect, bind or udp-associate after "
	    "'command'" },
	{ "pass command connect command bind",
	    "'command' given twice in 'pass' rule" },
	{ "block from any from any", "'from' given twice in 'block' rule" },
	{ "PASS", "unknown directive 'PASS'" },
	{ "\"\"", "unknown directive ''" },
};

static void
test_conf_parse_each_directive(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		c = parse_str(str_cases[i].text, &e);
		if (str_cases[i].reason == NULL) {
			if (c == NULL)
				fail_msg("'%s' refused:\n%s",
				    str_cases[i].text, e.text);
			conf_unref(c);
			continue;
		}
		if (c != NULL)
			fail_msg("'%s' accepted", str_cases[i].text);
		if (e.count != 1)
			fail_msg("'%s': %d errors:\n%s", str_cases[i].text,
			    e.count, e.text);
		assert_error(&e, "t.conf", 1, str_cases[i].reason);
	}
}

/* The per-source limit: its value, 0 allowed (no limit), once only. */
static void
test_conf_parse_max_clients_per_source(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;

	(void)state;
	assert_non_null(c = parse_str("max-clients 8\n"
	    "max-clients-per-source 3\n", &e));
	assert_int_equal(c->max_clients, 8);
	assert_int_equal(c->max_clients_per_source, 3);
	conf_unref(c);
	assert_non_null(c = parse_str("max-clients-per-source 0\n", &e));
	assert_int_equal(c->max_clients_per_source, 0);
	conf_unref(c);
	assert_null(parse_str("max-clients-per-source 3\n"
	    "max-clients-per-source 4\n", &e));
	assert_int_equal(e.count, 1);
	assert_error(&e, "t.conf", 2,
	    "duplicate 'max-clients-per-source' (first at line 1)");
}

static void
test_conf_parse_is_pure(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	static const char	 text[] =
	    "auth password\nusers-file /nonexistent\n";

	(void)state;
	/* conf_parse does not read the users file; conf_load does. */
	c = parse_str(text, &e);
	assert_non_null(c);
	assert_null(c->users);
	assert_null(c->path);
	conf_unref(c);
}

static void
test_conf_defaults(void **state)
{
	struct gw_conf	*c;

	(void)state;
	assert_non_null(c = conf_defaults());
	assert_null(c->path);
	assert_int_equal(c->nlistens, 2);
	assert_true(is_v4(&c->listens[0], "127.0.0.1", 1080));
	assert_true(is_v6(&c->listens[1], "::1", 1080));
	assert_int_equal(c->nclient_rules, 2);
	assert_int_equal(c->client_rules[0].action, RULE_PASS);
	assert_net(&c->client_rules[0].from, "127.0.0.0/8");
	assert_net(&c->client_rules[1].from, "::1/128");
	assert_int_equal(c->client_rules[1].lineno, 0);
	assert_int_equal(c->nrules, 1);
	assert_int_equal(c->rules[0].action, RULE_PASS);
	assert_int_equal(c->rules[0].dest, DEST_ANY);
	assert_int_equal(c->rules[0].from.family, AF_UNSPEC);
	assert_int_equal(c->rules[0].port_lo, 0);
	assert_int_equal(c->rules[0].port_hi, 65535);
	assert_int_equal(c->rules[0].lineno, 0);
	assert_int_equal(c->auth, AUTH_NONE);
	assert_int_equal(c->happy_delay_ms, 250);
	assert_int_equal(c->idle_timeout, 3600);
	assert_int_equal(c->max_clients, 1024);
	assert_int_equal(c->max_clients_per_source, 0);
	assert_int_equal(c->protect_local, 1);
	assert_int_equal(c->protect_private, 0);
	conf_unref(c);

	/* conf_load(NULL) is the same thing. */
	assert_non_null(c = conf_load(NULL, NULL));
	assert_int_equal(c->nlistens, 2);
	conf_unref(c);
}

static void
test_conf_add_listen_replaces(void **state)
{
	struct gw_conf	*c;
	const char	*why = NULL;

	(void)state;
	assert_non_null(c = conf_defaults());
	conf_clear_listens(c);
	assert_int_equal(c->nlistens, 0);
	assert_int_equal(conf_add_listen(c, "[2001:db8::1]:9050", &why), 0);
	assert_int_equal(conf_add_listen(c, "192.0.2.1", &why), 0);
	assert_int_equal(c->nlistens, 2);
	assert_true(is_v6(&c->listens[0], "2001:db8::1", 9050));
	assert_true(is_v4(&c->listens[1], "192.0.2.1", 1080));
	assert_int_equal(conf_add_listen(c, "nonsense:80", &why), -1);
	assert_non_null(why);
	assert_int_equal(c->nlistens, 2);
	conf_unref(c);
}

static void
test_conf_add_client_net_goes_first(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	const char		*why = NULL;

	(void)state;
	c = parse_str("client block from any\nclient pass from ::1\n", &e);
	assert_non_null(c);
	assert_int_equal(conf_add_client_net(c, "192.0.2.0/24", &why), 0);
	assert_int_equal(c->nclient_rules, 3);
	assert_int_equal(c->client_rules[0].action, RULE_PASS);
	assert_int_equal(c->client_rules[0].lineno, 0);
	assert_net(&c->client_rules[0].from, "192.0.2.0/24");
	assert_int_equal(c->client_rules[1].lineno, 1);
	assert_int_equal(c->client_rules[2].lineno, 2);
	assert_int_equal(conf_add_client_net(c, "192.0.2.1/24", &why), -1);
	assert_non_null(why);
	assert_int_equal(c->nclient_rules, 3);
	conf_unref(c);
}

static void
test_conf_ref_unref(void **state)
{
	struct gw_conf	*c;
	const char	*path = fixture("good-password.conf");
	struct conf_errors e;

	(void)state;
	conf_errors_init(&e, path);
	assert_non_null(c = conf_load(path, &e));
	assert_ptr_equal(conf_ref(c), c);
	assert_int_equal(atomic_load(&c->refs), 2);
	conf_unref(c);
	assert_int_equal(atomic_load(&c->refs), 1);
	assert_int_equal(users_count(c->users), 2);
	conf_unref(c);		/* frees users too: ASan sees a leak if not */
	conf_unref(NULL);
	assert_null(conf_ref(NULL));
}

static void
test_conf_warnings(void **state)
{
	struct conf_errors	 e, w;
	struct gw_conf		*c;

	(void)state;
	c = parse_str("# nothing\n", &e);
	assert_non_null(c);
	conf_errors_init(&w, "t.conf");
	conf_warnings(c, &w);
	assert_int_equal(w.count, 2);
	assert_error(&w, "t.conf", 0,
	    "no client rule: every client will be refused");
	assert_error(&w, "t.conf", 0,
	    "no pass rule: every request will be refused");
	conf_unref(c);

	/* Rules that only block are no better than none. */
	c = parse_str("client block from any\nblock\nusers-file x\n", &e);
	assert_non_null(c);
	conf_errors_init(&w, "t.conf");
	conf_warnings(c, &w);
	assert_int_equal(w.count, 3);
	assert_error(&w, "t.conf", 0, "users-file is not used");
	conf_unref(c);

	assert_non_null(c = conf_defaults());
	conf_errors_init(&w, "t.conf");
	conf_warnings(c, &w);
	assert_int_equal(w.count, 0);
	conf_unref(c);
}

static void
test_conf_family_str(void **state)
{
	(void)state;
	assert_string_equal(conf_family_str(FAMILY_HAPPY_EYEBALLS),
	    "happy-eyeballs");
	assert_string_equal(conf_family_str(FAMILY_IPV6_FIRST), "ipv6-first");
	assert_string_equal(conf_family_str(FAMILY_IPV4_FIRST), "ipv4-first");
	assert_string_equal(conf_family_str(FAMILY_IPV6_ONLY), "ipv6-only");
	assert_string_equal(conf_family_str(FAMILY_IPV4_ONLY), "ipv4-only");
	assert_string_equal(conf_family_str((enum family_pref)99), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_load_good_full),
		cmocka_unit_test(test_conf_load_minimal_has_defaults),
		cmocka_unit_test(test_conf_load_continuation_lines),
		cmocka_unit_test(test_conf_load_password_reads_users),
		cmocka_unit_test(test_conf_load_empty_file),
		cmocka_unit_test(test_conf_load_each_error),
		cmocka_unit_test(test_conf_load_counts_every_error),
		cmocka_unit_test(test_conf_load_missing_file),
		cmocka_unit_test(test_conf_load_users_file_unreadable),
		cmocka_unit_test(test_conf_load_users_file_error),
		cmocka_unit_test(test_conf_parse_each_directive),
		cmocka_unit_test(test_conf_parse_is_pure),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_parse_max_clients_per_source),
		cmocka_unit_test(test_conf_add_listen_replaces),
		cmocka_unit_test(test_conf_add_client_net_goes_first),
		cmocka_unit_test(test_conf_ref_unref),
		cmocka_unit_test(test_conf_warnings),
		cmocka_unit_test(test_conf_family_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
