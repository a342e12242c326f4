/*
 * it_policy.c - the rules of gatewayd.conf as the real daemon applies
 * them: protect-local and protect-private for a client that is not
 * loopback, an explicit pass rule overriding protect-local, address rules
 * applied to what a name resolved to, port ranges, client rules in order,
 * and the family directive. A client that is not loopback needs an
 * address of its own: 192.0.2.10 and 2001:db8::10 on lo of our private
 * namespace, so these tests run only there (as root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CLIENT4	"192.0.2.10"
#define CLIENT6	"2001:db8::10"

static struct h_proc	echo4, echo6;
static uint16_t		e4, e6;
static struct h_gw	gw;
static char		conf[PATH_MAX];
static int		have_addrs;

static int
ip(const char *a, const char *b, const char *c, const char *d, const char *e)
{
	char	*argv[] = { "/sbin/ip", (char *)a, (char *)b, (char *)c,
		    (char *)d, (char *)e, NULL };

	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/sbin/ip";
	return h_run(argv, NULL, NULL, 5000);
}

static int
group_setup(void **state)
{
	(void)state;
	h_tmp(conf, sizeof(conf), "policy.conf");
	if (h_isolated() &&
	    ip("addr", "add", CLIENT4 "/32", "dev", "lo") == 0 &&
	    ip("addr", "add", CLIENT6 "/128", "dev", "lo") == 0)
		have_addrs = 1;
	if ((e4 = h_tool_start(&echo4, "tcpsrv", "-a", "127.0.0.1", NULL))
	    == 0 ||
	    (e6 = h_tool_start(&echo6, "tcpsrv", "-a", "::1", NULL)) == 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	h_proc_stop(&echo4);
	h_proc_stop(&echo6);
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	memset(&gw, 0, sizeof(gw));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return h_gw_stop(&gw);
}

/* Starts a daemon on host with the given config text. */
static void
start_on(const char *host, const char *text)
{
	assert_int_equal(h_write_file(conf, "%s", text), 0);
	gw.host = host;
	if (h_gw_start(&gw, conf, NULL) != 0)
		fail_msg("gatewayd did not start");
}

static void
need_addrs(void)
{
	if (!have_addrs)
		skip();
}

#define REP(host, port, want) \
	assert_int_equal(h_socks_rep(&gw, host, port), want)

static void
test_protect_local_blocks_client_that_is_not_loopback(void **state)
{
	(void)state;
	need_addrs();
	start_on(CLIENT4, "client pass from 192.0.2.0/24\npass to any\n");
	REP("127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("127.0.0.2", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
	REP("::ffff:127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("0.0.0.0", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("169.254.1.1", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("fe80::1", 80, SOCKS5_REP_NOT_ALLOWED);
	/* A name is judged by what it resolved to. */
	if (h_names()) {
		REP(H_NAME_V4, e4, SOCKS5_REP_NOT_ALLOWED);
		REP(H_NAME_V6, e6, SOCKS5_REP_NOT_ALLOWED);
	}
	/* No rule said no: protect-local did, which the line shows as 0. */
	assert_true(h_log_line(gw.log, 3000, "client=" CLIENT4, "rep=2",
	    "rule=0", NULL));
}

static void
test_protect_local_from_ipv6_client(void **state)
{
	(void)state;
	need_addrs();
	start_on(CLIENT6, "client pass from 2001:db8::/32\npass to any\n");
	REP("127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
}

/* A pass rule naming a protected network explicitly comes first. */
static void
test_protect_local_yields_to_explicit_pass_rule(void **state)
{
	char	text[256];

	(void)state;
	need_addrs();
	snprintf(text, sizeof(text), "client pass from 192.0.2.0/24\n"
	    "pass to 127.0.0.0/8 port %u\npass to any\n", e4);
	start_on(CLIENT4, text);
	REP("127.0.0.1", e4, SOCKS5_REP_SUCCEEDED);
	/* Not named there: still protected. */
	REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
}

static void
test_protect_local_off(void **state)
{
	(void)state;
	need_addrs();
	start_on(CLIENT4, "client pass from 192.0.2.0/24\nprotect-local no\n"
	    "pass to any\n");
	REP("127.0.0.1", e4, SOCKS5_REP_SUCCEEDED);
	REP("::1", e6, SOCKS5_REP_SUCCEEDED);
}

/* Blocked before any connect: nothing is attempted towards these. */
static void
test_protect_private_blocks_private_networks(void **state)
{
	(void)state;
	need_addrs();
	start_on(CLIENT4, "client pass from 192.0.2.0/24\n"
	    "protect-private yes\npass to any\n");
	REP("10.1.2.3", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("172.16.0.1", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("192.168.1.1", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("100.64.0.1", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("fd00::1", 80, SOCKS5_REP_NOT_ALLOWED);
	REP("::ffff:10.1.2.3", 80, SOCKS5_REP_NOT_ALLOWED);
}

/* An address rule also catches a name that resolves into it. */
static void
test_address_rule_applies_to_resolved_name(void **state)
{
	(void)state;
	if (!h_names())
		skip();
	start_on("127.0.0.1", "client pass from 127.0.0.0/8\n"
	    "block to ::1\npass to any\n");
	REP(H_NAME_V6, e6, SOCKS5_REP_NOT_ALLOWED);
	REP(H_NAME_V4, e4, SOCKS5_REP_SUCCEEDED);
	REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
	/* The line names the rule that refused it: "block to ::1". */
	assert_true(h_log_line(gw.log, 3000, "dest=" H_NAME_V6 ":", "rep=2",
	    "rule=2", NULL));
}

static void
test_port_range_rule(void **state)
{
	char	text[256];

	(void)state;
	snprintf(text, sizeof(text), "client pass from 127.0.0.0/8\n"
	    "block port %u-%u\npass to any\n", e4, e4);
	start_on("127.0.0.1", text);
	REP("127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	REP("::1", e6, e6 == e4 ? SOCKS5_REP_NOT_ALLOWED :
	    SOCKS5_REP_SUCCEEDED);
	assert_true(h_log_line(gw.log, 3000, "dest=127.0.0.1:", "rep=2",
	    "rule=2", NULL));
	/* A session that was not denied names no rule. */
	assert_false(h_log_line(gw.log, 500, "rep=0", "rule=", NULL));
}

static void
test_client_rules_first_match_wins(void **state)
{
	int	fd;
	char	buf[4];

	(void)state;
	need_addrs();
	start_on(CLIENT4, "client block from " CLIENT4 "\n"
	    "client pass from any\npass to any\n");
	fd = h_connect(CLIENT4, gw.port, H_IO_MS);
	assert_true(fd >= 0);
	(void)!write(fd, "\x05\x01\x00", 3);
	assert_true(h_recv_n(fd, buf, sizeof(buf), 2000) <= 0);
	close(fd);
	assert_true(h_log_line(gw.log, 3000, "client refused",
	    "client=" CLIENT4, "rule=1", NULL));
}

/* family ipv6-only / ipv4-only: "localhost" is tried in one family. */
static void
test_family_only_one(void **state)
{
	(void)state;
	/* Same port number on both families would blur which was tried. */
	if (!h_names() || e4 == e6)
		skip();
	start_on("127.0.0.1", "client pass from 127.0.0.0/8\n"
	    "family ipv6-only\npass to any\n");
	REP(H_NAME_BOTH, e6, SOCKS5_REP_SUCCEEDED);
	assert_int_not_equal(h_socks_rep(&gw, H_NAME_BOTH, e4),
	    SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_gw_stop(&gw), 0);
	memset(&gw, 0, sizeof(gw));
	start_on("127.0.0.1", "client pass from 127.0.0.0/8\n"
	    "family ipv4-only\npass to any\n");
	REP(H_NAME_BOTH, e4, SOCKS5_REP_SUCCEEDED);
	assert_int_not_equal(h_socks_rep(&gw, H_NAME_BOTH, e6),
	    SOCKS5_REP_SUCCEEDED);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_protect_local_blocks_client_that_is_not_loopback),
		T(test_protect_local_from_ipv6_client),
		T(test_protect_local_yields_to_explicit_pass_rule),
		T(test_protect_local_off),
		T(test_protect_private_blocks_private_networks),
		T(test_address_rule_applies_to_resolved_name),
		T(test_port_range_rule),
		T(test_client_rules_first_match_wins),
		T(test_family_only_one),
	};

	h_init();
	return cmocka_run_group_tests_name("it_policy", tests, group_setup,
	    group_teardown);
}
