/*
 * it_hostile_security.c - the security promises of issue 6 against the
 * real gatewayd: a LAN client admitted with -a cannot reach the
 * gateway's own loopback however it names it, privileges are dropped
 * completely, and repeated failed logins from one source are slowed.
 * The first needs a LAN: the gateway's address on one end of a veth in
 * the private network namespace, the client in a second, unnamed
 * namespace at the other end (a client on one of the gateway's own
 * addresses would be on the gateway's host, where protect-local does not
 * apply). So it runs only there (as root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_hostile.h"

/* ---------------------------------------------------------------- */
/* security                                                           */

#define GW_LAN		"192.0.2.1"	/* the gateway's LAN address */
#define LAN_CLIENT	"192.0.2.10"	/* another host: its own namespace */
#define OUTSIDE		"198.51.100.5"	/* "the world": beyond the LAN */

/* The test's network namespace and the LAN client's (/proc/.../ns/net). */
static int	ns_home = -1, ns_lan = -1;

/* Into the LAN client's namespace (1) or back home (0). */
static void
lan_enter(int in)
{
	if (setns(in ? ns_lan : ns_home, CLONE_NEWNET) == -1) {
		perror("it_hostile_security: setns");
		abort();	/* every later test would run in the wrong one */
	}
}

/*
 * The LAN: a veth, GW_LAN at our end, LAN_CLIENT at the far end in a
 * new, unnamed namespace that goes with its last descriptor; OUTSIDE
 * is out there too, not on the gateway's host (whose own addresses
 * protect-local refuses). ip(8) runs in the namespace of the thread
 * that forks it. Returns 0 or -1.
 */
static int
lan_setup(void)
{
	char	nspath[64];
	int	rc;

	if (ns_lan != -1)
		return 0;
	if ((ns_home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) == -1 ||
	    unshare(CLONE_NEWNET) == -1)
		return -1;
	ns_lan = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	lan_enter(0);
	if (ns_lan == -1)
		return -1;
	snprintf(nspath, sizeof(nspath), "/proc/%d/fd/%d", (int)getpid(),
	    ns_lan);
	if (hh_ip("link", "add", "itsec-h", "type", "veth", "peer", "name",
	    "itsec-c", NULL) != 0 ||
	    hh_ip("link", "set", "itsec-c", "netns", nspath, NULL) != 0 ||
	    hh_ip("addr", "add", GW_LAN "/24", "dev", "itsec-h", NULL) != 0 ||
	    hh_ip("link", "set", "itsec-h", "up", NULL) != 0 ||
	    hh_ip("route", "add", OUTSIDE "/32", "dev", "itsec-h", NULL) != 0)
		return -1;
	lan_enter(1);
	rc = hh_ip("addr", "add", LAN_CLIENT "/24", "dev", "itsec-c",
	    NULL) != 0 || hh_ip("addr", "add", OUTSIDE "/32", "dev",
	    "itsec-c", NULL) != 0 ||
	    hh_ip("link", "set", "itsec-c", "up", NULL) != 0 ||
	    hh_ip("link", "set", "lo", "up", NULL) != 0 ? -1 : 0;
	lan_enter(0);
	return rc;
}

/* A connection from the LAN client to the gateway, or -1. */
static int
lan_connect(void)
{
	int	fd;

	lan_enter(1);
	fd = hh_connect_from(LAN_CLIENT, GW_LAN, 1080, H_IO_MS);
	lan_enter(0);
	return fd;
}

/* The reply to a CONNECT to name:port sent as a DOMAINNAME, or -1. */
static int
lan_request_name(const char *name, uint16_t port)
{
	uint8_t	msg[300], reply[16];
	size_t	n = hh_name_request(msg, name, strlen(name), port);
	int	fd;

	fd = hh_own(lan_connect());
	assert_true(fd >= 0);
	assert_int_equal(h_send_all(fd, msg, n), 0);
	n = (size_t)h_recv_n(fd, reply, 12, hh_ms(H_IO_MS));
	hh_disown(fd, 0);
	return n >= 4 ? reply[3] : -1;
}

/* The reply to a CONNECT to host:port (a literal as such), or -1. */
static int
lan_request(const char *host, uint16_t port)
{
	int	fd, rep;

	fd = hh_own(lan_connect());
	assert_true(fd >= 0);
	rep = hh_socks_handshake(fd, NULL, NULL, host, port, hh_ms(H_IO_MS),
	    NULL);
	hh_disown(fd, 0);
	return rep;
}

/*
 * "gatewayd -f -l 192.0.2.1:1080 -a 192.0.2.0/24" admits a LAN client,
 * which must not reach the gateway's own loopback (nor its LAN address)
 * however it asks: as a literal, IPv4-mapped, the unspecified address, a name that resolves
 * there, or a numeric form only the resolver understands. Traps listen
 * on 127.0.0.1 and ::1 and must see no connection, while a destination
 * out in "the world" is reached.
 */
static void
test_no_open_proxy_to_gateway_loopback(void **state)
{
	static const char *const literals[] = {
		"127.0.0.1", "127.0.0.2", "127.255.255.254", "0.0.0.0", "::1",
		"::", "::ffff:127.0.0.1", "::ffff:0.0.0.0", "169.254.169.254",
		"fe80::1", GW_LAN,	/* the gateway's own LAN address too */
	};
	/* Sent as DOMAINNAME; the resolver turns each into loopback. */
	static const char *const numeric[] = {
		"127.0.0.1", "::1", "::ffff:127.0.0.1", "127.1", "2130706433",
		"0x7f000001", "0177.0.0.1", "0", "[::1]", "fe80::1%lo",
		"localhost.",
	};
	static const char *const names[] = {
		"localhost", "LOCALHOST", H_NAME_V4, H_NAME_V6,
	};
	struct h_proc	world;
	uint16_t	port = 0, wport;
	int		trap4, trap6, rep, fd;
	size_t		i;

	(void)state;
	if (!h_isolated())
		skip();
	if (lan_setup() != 0)
		fail_msg("no LAN namespace");
	trap4 = hh_own(h_listen("127.0.0.1", &port, 16));
	assert_true(trap4 >= 0);
	trap6 = hh_own(h_listen("::1", &port, 16));
	assert_true(trap6 >= 0);
	memset(&world, 0, sizeof(world));
	lan_enter(1);		/* the world's server starts out there */
	wport = h_tool_start(&world, "tcpsrv", "-a", OUTSIDE, "-m", "echo",
	    NULL);
	lan_enter(0);
	assert_int_not_equal(wport, 0);
	hh.gw.host = GW_LAN;
	hh.gw.port = 1080;
	hh.gw.conf_listen = 1;		/* the -l is ours, below */
	if (h_gw_start(&hh.gw, NULL, "-l", GW_LAN ":1080", "-a", "192.0.2.0/24",
	    NULL) != 0)
		fail_msg("gatewayd -l " GW_LAN ":1080 did not start");
	hh.base_tasks = hh_task_count(hh.gw.proc.pid);
	/* Admitted, and served out to the world. */
	fd = hh_own(lan_connect());
	assert_true(fd >= 0);
	assert_int_equal(hh_socks_handshake(fd, NULL, NULL, OUTSIDE, wport,
	    hh_ms(H_IO_MS), NULL), SOCKS5_REP_SUCCEEDED);
	hh_echo_bulk(fd, 100, 9);
	hh_disown(fd, 0);
	for (i = 0; i < sizeof(literals) / sizeof(literals[0]); i++) {
		rep = lan_request(literals[i], port);
		printf("# literal %s: reply %d\n", literals[i], rep);
		if (rep != SOCKS5_REP_NOT_ALLOWED)
			fail_msg("literal %s: reply %d, want 2", literals[i],
			    rep);
	}
	for (i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
		rep = lan_request_name(numeric[i], port);
		printf("# name \"%s\": reply %d\n", numeric[i], rep);
		/* Refused by policy, or no such host; never relayed. */
		if (rep == SOCKS5_REP_SUCCEEDED || rep == -1)
			fail_msg("name %s: reply %d", numeric[i], rep);
	}
	for (i = 0; h_names() && i < sizeof(names) / sizeof(names[0]); i++) {
		rep = lan_request_name(names[i], port);
		printf("# name %s: reply %d\n", names[i], rep);
		if (rep != SOCKS5_REP_NOT_ALLOWED)
			fail_msg("name %s: reply %d, want 2", names[i], rep);
	}
	assert_false(h_accept_within(trap4, 300));
	assert_false(h_accept_within(trap6, 100));
	assert_true(h_log_line(hh.gw.log, 1000, "client=" LAN_CLIENT, "rep=2",
	    NULL));
	/* protect-local covers the gateway's own LAN address: itself too. */
	assert_int_equal(lan_request(GW_LAN, 1080), SOCKS5_REP_NOT_ALLOWED);
	h_proc_stop(&world);
	hh_disown(trap4, 0);
	hh_disown(trap6, 0);
	hh_assert_settled();
}

/* The value of a "Key:\t..." line of /proc/PID/status, into buf. */
static char *
status_field(pid_t pid, const char *key, char *buf, size_t len)
{
	char	path[64], *s, *p, *nl;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	buf[0] = '\0';
	if ((s = h_read_file(path, NULL)) == NULL)
		return buf;
	for (p = s; (p = strstr(p, key)) != NULL; p++)
		if ((p == s || p[-1] == '\n') && p[strlen(key)] == ':') {
			p += strlen(key) + 1;
			p += strspn(p, "\t ");
			if ((nl = strchr(p, '\n')) != NULL)
				*nl = '\0';
			snprintf(buf, len, "%s", p);
			break;
		}
	free(s);
	return buf;
}

/*
 * Started as root with "user nobody": every uid and gid is nobody's, no
 * supplementary group is left, no capability remains in any set, and a
 * SIGHUP afterwards (re-reading files as nobody) does not kill it.
 */
static void
test_privileges_dropped_completely(void **state)
{
	struct passwd	*pw;
	char		 want[64], got[128];

	(void)state;
	if (getuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		skip();
	hh_write_conf("user nobody\npass to any\n");
	hh_start();
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_uid,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	assert_string_equal(status_field(hh.gw.proc.pid, "Uid", got,
	    sizeof(got)), want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", (unsigned)pw->pw_gid,
	    (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
	assert_string_equal(status_field(hh.gw.proc.pid, "Gid", got,
	    sizeof(got)), want);
	status_field(hh.gw.proc.pid, "Groups", got, sizeof(got));
	snprintf(want, sizeof(want), "%u", (unsigned)pw->pw_gid);
	printf("# Groups: \"%s\"\n", got);
	assert_true(got[0] == '\0' || strcmp(got, want) == 0 ||
	    (strncmp(got, want, strlen(want)) == 0 &&
	    got[strlen(want)] == ' ' && got[strlen(want) + 1] == '\0'));
	assert_string_equal(status_field(hh.gw.proc.pid, "CapEff", got,
	    sizeof(got)), "0000000000000000");
	assert_string_equal(status_field(hh.gw.proc.pid, "CapPrm", got,
	    sizeof(got)), "0000000000000000");
	assert_string_equal(status_field(hh.gw.proc.pid, "CapInh", got,
	    sizeof(got)), "0000000000000000");
	printf("# CapBnd %s\n", status_field(hh.gw.proc.pid, "CapBnd", got,
	    sizeof(got)));
	printf("# CapAmb %s\n", status_field(hh.gw.proc.pid, "CapAmb", got,
	    sizeof(got)));
	printf("# NoNewPrivs %s\n", status_field(hh.gw.proc.pid, "NoNewPrivs",
	    got, sizeof(got)));
	assert_true(hh_served_now() < hh_ms(1000));
	assert_int_equal(h_gw_signal(&hh.gw, SIGHUP), 0);
	assert_true(h_log_wait(hh.gw.log, "reloading", 3000));
	h_sleep_ms(200);
	printf("# reload as nobody: %s\n",
	    h_log_has(hh.gw.log, "reload failed") ?
	    "failed, old configuration kept" : "done");
	assert_true(hh_served_now() < hh_ms(1000));
	hh_assert_settled();
}

/* Time one failed login from src takes, in ms (-1: it did not fail). */
static int64_t
failed_login_ms(const char *src)
{
	int64_t	t0 = h_now_ms();
	int	fd, st;

	fd = hh_own(hh_connect_from(src, "127.0.0.1", hh.gw.port,
	    H_IO_MS));
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, (const uint8_t[]){
	    SOCKS5_METHOD_USERPASS }, 1), SOCKS5_METHOD_USERPASS);
	st = h_socks_userpass(fd, HH_USER, "wrong password");
	hh_disown(fd, 0);
	return st == 1 ? h_now_ms() - t0 : -1;
}

/*
 * Repeated failed logins from one source are answered ever more slowly,
 * while another source is not held up by them and a correct login from
 * the slowed source still gets through within the handshake timeout.
 * The daemon marks each answer with delay=MS in its "auth failed" line.
 * Expected shape: no delay for the first few failures, then one that
 * grows (250 ms, doubling, capped).
 */
static void
test_auth_failures_from_one_source_are_slowed(void **state)
{
	enum { TRIES = 6 };
	int64_t	first, last = 0, other;
	int	fd, rep;

	(void)state;
	hh_write_conf("auth password\nusers-file %s\npass to any\n",
	    hh.users);
	hh_start();
	first = failed_login_ms("127.0.0.1");
	assert_true(first >= 0);
	for (int i = 1; i < TRIES; i++) {
		last = failed_login_ms("127.0.0.1");
		assert_true(last >= 0);
	}
	other = failed_login_ms("127.0.0.2");
	printf("# failed login: first %lld ms, #%d %lld ms, another source "
	    "%lld ms\n", (long long)first, TRIES, (long long)last,
	    (long long)other);
	assert_true(h_log_line(hh.gw.log, 1000, "auth failed",
	    "client=127.0.0.1:", "delay=", NULL));
	assert_true(last >= first + 200);
	assert_true(other < last);
	fd = hh_own(hh_connect_from("127.0.0.1", "127.0.0.1", hh.gw.port,
	    H_IO_MS));
	assert_true(fd >= 0);
	rep = hh_socks_handshake(fd, HH_USER, HH_PASS, "127.0.0.1",
	    hh.echo_port, hh_ms(10000), NULL);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	hh_disown(fd, 0);
	hh_assert_settled();
}

#define T(f)	cmocka_unit_test_setup_teardown(f, hh_setup, hh_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_no_open_proxy_to_gateway_loopback),
		T(test_privileges_dropped_completely),
		T(test_auth_failures_from_one_source_are_slowed),
	};

	h_init();
	return cmocka_run_group_tests_name("it_hostile_security", tests,
	    hh_group_setup, hh_group_teardown);
}
