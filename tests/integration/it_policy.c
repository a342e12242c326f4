/*
 * it_policy.c - the rules of gatewayd.conf as the real daemon applies
 * them: protect-local and protect-private for a client that is not on
 * the gateway's host, protect-local over the host's own addresses (a
 * router's LAN and WAN side), an explicit pass rule overriding
 * protect-local, address rules applied to what a name resolved to, port
 * ranges, client rules in order, and the family directive.
 *
 * A client that is not on the gateway's host needs a host of its own:
 * the test (and the gateway) live in the harness's private namespace,
 * which plays a router with 192.0.2.1 and 2001:db8::1 on its LAN side
 * and 198.51.100.1 on its "WAN" (all on one veth; there is no dummy
 * driver everywhere), and the LAN client is a second, unnamed network
 * namespace behind the veth (192.0.2.2, 2001:db8::2), entered with
 * setns() only around the client's own socket calls. Unnamed, it goes
 * with its last descriptor: nothing to sweep. So these tests run only
 * as root, in the private namespace.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define GW4	"192.0.2.1"		/* the router's LAN address */
#define GW6	"2001:db8::1"
#define WAN4	"198.51.100.1"		/* its other side */
#define CLIENT4	"192.0.2.2"		/* a LAN host */
#define CLIENT6	"2001:db8::2"
/* In the gateway's (private) hosts file: the router's WAN by name. */
#define WAN_NAME "router-wan.it.test"

static struct h_proc	echo4, echo6;
static uint16_t		e4, e6;
static struct h_gw	gw;
static char		conf[PATH_MAX];
static int		have_lan;
static int		ns_home = -1, ns_lan = -1;	/* /proc/self/ns/net */

/* ip(8) with up to 8 arguments, NULL-ended: its exit code or -1. */
static int
ip(const char *arg, ...)
{
	char	*argv[10] = { "/sbin/ip" };
	va_list	 ap;
	int	 n = 1;

	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/sbin/ip";
	va_start(ap, arg);
	for (; arg != NULL && n < 9; arg = va_arg(ap, const char *))
		argv[n++] = (char *)arg;
	va_end(ap);
	argv[n] = NULL;
	return h_run(argv, NULL, NULL, 5000);
}

/* Into the LAN client's namespace (1) or back home (0). */
static void
lan(int in)
{
	if (setns(in ? ns_lan : ns_home, CLONE_NEWNET) == -1) {
		/* Stuck in the wrong namespace, every later test would lie. */
		perror("it_policy: setns");
		abort();
	}
}

/*
 * The LAN: a veth whose far end lives in a new, unnamed namespace. ip(8)
 * runs in the namespace of the thread that forks it, so the far end is
 * configured from inside. Returns 0 or -1.
 */
static int
lan_setup(void)
{
	char	nspath[64];

	if ((ns_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (unshare(CLONE_NEWNET) == -1)
		return -1;
	ns_lan = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	lan(0);
	if (ns_lan == -1)
		return -1;
	/* Our own /proc entry: ip(8) cannot inherit a close-on-exec fd. */
	snprintf(nspath, sizeof(nspath), "/proc/%d/fd/%d", (int)getpid(),
	    ns_lan);
	if (ip("link", "add", "itpol-h", "type", "veth", "peer", "name",
	    "itpol-c", NULL) != 0 ||
	    ip("link", "set", "itpol-c", "netns", nspath, NULL) != 0 ||
	    ip("addr", "add", GW4 "/24", "dev", "itpol-h", NULL) != 0 ||
	    ip("addr", "add", WAN4 "/24", "dev", "itpol-h", NULL) != 0 ||
	    ip("-6", "addr", "add", GW6 "/64", "dev", "itpol-h", "nodad",
	    NULL) != 0 ||
	    ip("link", "set", "itpol-h", "up", NULL) != 0)
		return -1;
	lan(1);
	if (ip("link", "set", "lo", "up", NULL) != 0 ||
	    ip("addr", "add", CLIENT4 "/24", "dev", "itpol-c", NULL) != 0 ||
	    ip("-6", "addr", "add", CLIENT6 "/64", "dev", "itpol-c", "nodad",
	    NULL) != 0 ||
	    ip("link", "set", "itpol-c", "up", NULL) != 0) {
		lan(0);
		return -1;
	}
	lan(0);
	return 0;
}

/* The private hosts file is ours: the router's WAN gets a name there. */
static int
hosts_add_wan(void)
{
	FILE	*f;

	if (!h_names() || (f = fopen("/etc/hosts", "a")) == NULL)
		return -1;
	fprintf(f, "%s\t%s\n", WAN4, WAN_NAME);
	return fclose(f) == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
	(void)state;
	h_tmp(conf, sizeof(conf), "policy.conf");
	if (h_isolated()) {
		if (lan_setup() == 0)
			have_lan = 1;
		else
			printf("# it_policy: no LAN namespace; its tests "
			    "skipped\n");
		(void)hosts_add_wan();
	}
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
	/* The last reference to the LAN namespace: it goes, veth and all. */
	if (ns_lan != -1)
		close(ns_lan);
	if (ns_home != -1)
		close(ns_home);
	ns_lan = ns_home = -1;
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
need_lan(void)
{
	if (!have_lan)
		skip();
}

/* The reply a client on the LAN gets to CONNECT host:port. */
static int
rep_from_lan(const char *host, uint16_t port)
{
	int	rep;

	lan(1);
	rep = h_socks_rep(&gw, host, port);
	lan(0);
	return rep;
}

#define REP(host, port, want) \
	assert_int_equal(h_socks_rep(&gw, host, port), want)
#define LAN_REP(host, port, want) \
	assert_int_equal(rep_from_lan(host, port), want)

static void
test_protect_local_blocks_client_that_is_not_local(void **state)
{
	(void)state;
	need_lan();
	start_on(GW4, "client pass from 192.0.2.0/24\npass to any\n");
	LAN_REP("127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("127.0.0.2", e4, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("::ffff:127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("0.0.0.0", e4, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("169.254.1.1", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("fe80::1", 80, SOCKS5_REP_NOT_ALLOWED);
	/* A name is judged by what it resolved to. */
	if (h_names()) {
		LAN_REP(H_NAME_V4, e4, SOCKS5_REP_NOT_ALLOWED);
		LAN_REP(H_NAME_V6, e6, SOCKS5_REP_NOT_ALLOWED);
	}
	/* No rule said no: protect-local did, which the line shows as 0. */
	assert_true(h_log_line(gw.log, 3000, "client=" CLIENT4, "rep=2",
	    "rule=0", NULL));
}

static void
test_protect_local_from_ipv6_client(void **state)
{
	(void)state;
	need_lan();
	start_on(GW6, "client pass from 2001:db8::/32\npass to any\n");
	LAN_REP("127.0.0.1", e4, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
	assert_true(h_log_line(gw.log, 3000, "client=[" CLIENT6 "]", "rep=2",
	    "rule=0", NULL));
}

/* A pass rule naming a protected network explicitly comes first. */
static void
test_protect_local_yields_to_explicit_pass_rule(void **state)
{
	char	text[256];

	(void)state;
	need_lan();
	snprintf(text, sizeof(text), "client pass from 192.0.2.0/24\n"
	    "pass to 127.0.0.0/8 port %u\npass to any\n", e4);
	start_on(GW4, text);
	LAN_REP("127.0.0.1", e4, SOCKS5_REP_SUCCEEDED);
	/* Not named there: still protected. */
	LAN_REP("::1", e6, SOCKS5_REP_NOT_ALLOWED);
}

static void
test_protect_local_off(void **state)
{
	(void)state;
	need_lan();
	start_on(GW4, "client pass from 192.0.2.0/24\nprotect-local no\n"
	    "pass to any\n");
	LAN_REP("127.0.0.1", e4, SOCKS5_REP_SUCCEEDED);
	LAN_REP("::1", e6, SOCKS5_REP_SUCCEEDED);
}

/*
 * The router's own addresses, LAN side and WAN side, by address and
 * by a name that resolves to one, are as protected as 127.0.0.1: a
 * LAN client reaches none of the services bound to them. Its LAN
 * neighbours stay reachable.
 */
static void
test_protect_local_covers_the_hosts_own_addresses(void **state)
{
	uint16_t	own, nb;
	int		lfd, nfd;

	(void)state;
	need_lan();
	/* Services on the router: they must never see a connection. */
	lfd = h_listen("0.0.0.0", &own, 8);
	assert_true(lfd >= 0);
	/* A LAN neighbour's service (in the LAN namespace): reachable. */
	lan(1);
	nb = 0;
	nfd = h_listen(CLIENT4, &nb, 8);
	lan(0);
	assert_true(nfd >= 0);
	start_on(GW4, "client pass from 192.0.2.0/24\n"
	    "client pass from 2001:db8::/32\npass to any\n");
	LAN_REP(GW4, own, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP(WAN4, own, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("::ffff:" WAN4, own, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP(GW6, own, SOCKS5_REP_NOT_ALLOWED);
	if (h_names())
		LAN_REP(WAN_NAME, own, SOCKS5_REP_NOT_ALLOWED);
	assert_false(h_accept_within(lfd, 200));
	LAN_REP(CLIENT4, nb, SOCKS5_REP_SUCCEEDED);
	/* protect-local said no, no rule: line 0. */
	assert_true(h_log_line(gw.log, 3000, "dest=" WAN4 ":", "rep=2",
	    "rule=0", NULL));
	if (h_names())
		assert_true(h_log_line(gw.log, 3000, "dest=" WAN_NAME ":",
		    "rep=2", "rule=0", NULL));
	close(nfd);
	close(lfd);
}

/* Only a rule naming the very address opens it; a /24 does not. */
static void
test_protect_local_own_address_opened_by_explicit_rule(void **state)
{
	uint16_t	own;
	int		lfd;

	(void)state;
	need_lan();
	lfd = h_listen("0.0.0.0", &own, 8);
	assert_true(lfd >= 0);
	start_on(GW4, "client pass from 192.0.2.0/24\n"
	    "pass to " WAN4 "/32\npass to 192.0.2.0/24\npass to any\n");
	LAN_REP(WAN4, own, SOCKS5_REP_SUCCEEDED);
	if (h_names())
		LAN_REP(WAN_NAME, own, SOCKS5_REP_SUCCEEDED);
	LAN_REP(GW4, own, SOCKS5_REP_NOT_ALLOWED);
	/* Queued, never accepted: closing resets them, ending the relays. */
	close(lfd);
	assert_true(h_log_line(gw.log, 3000, "dest=" WAN4 ":", "rep=0",
	    NULL));
}

/*
 * A client coming from one of the host's own addresses is on the host:
 * protect-local lets it through, as it does loopback.
 */
static void
test_client_on_an_own_address_is_local(void **state)
{
	uint16_t	own;
	int		lfd;

	(void)state;
	need_lan();
	lfd = h_listen("0.0.0.0", &own, 8);
	assert_true(lfd >= 0);
	start_on(GW4, "client pass from 192.0.2.0/24\npass to any\n");
	/* From the router itself: the source is 192.0.2.1. */
	REP("127.0.0.1", e4, SOCKS5_REP_SUCCEEDED);
	REP(WAN4, own, SOCKS5_REP_SUCCEEDED);
	assert_true(h_log_line(gw.log, 3000, "client=" GW4 ":",
	    "dest=127.0.0.1:", "rep=0", NULL));
	close(lfd);
}

static void
test_protect_private_blocks_private_networks(void **state)
{
	(void)state;
	need_lan();
	start_on(GW4, "client pass from 192.0.2.0/24\n"
	    "protect-private yes\npass to any\n");
	LAN_REP("10.1.2.3", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("172.16.0.1", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("192.168.1.1", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("100.64.0.1", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("fd00::1", 80, SOCKS5_REP_NOT_ALLOWED);
	LAN_REP("::ffff:10.1.2.3", 80, SOCKS5_REP_NOT_ALLOWED);
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
	need_lan();
	start_on(GW4, "client block from " CLIENT4 "\n"
	    "client pass from any\npass to any\n");
	lan(1);
	fd = h_connect(GW4, gw.port, H_IO_MS);
	lan(0);
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
		T(test_protect_local_blocks_client_that_is_not_local),
		T(test_protect_local_from_ipv6_client),
		T(test_protect_local_yields_to_explicit_pass_rule),
		T(test_protect_local_off),
		T(test_protect_local_covers_the_hosts_own_addresses),
		T(test_protect_local_own_address_opened_by_explicit_rule),
		T(test_client_on_an_own_address_is_local),
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
