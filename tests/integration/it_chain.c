/*
 * it_chain.c - chained gateways (RFC 3089 section 4) with the real
 * gatewayd, three of them in the test's network namespace:
 *
 *   client -> G1 -> G2 -> G3 -> servers on ::1 and 127.0.0.1
 *
 * G1 ("family ipv4-only", a hosts file without the servers' names)
 * sends every *.test name on to G2 ("pass to .test via g2"); G2 resolves
 * it6.test itself but sends *.far.test on to G3 with credentials; only
 * G3's hosts file knows www.far.test. Each gateway sees its own hosts
 * file through tests/tools/nsrun. So a name that travels unresolved is
 * the only way the requests can succeed, and G1's debug log shows it
 * never looked one up. Reply codes from the far end, a hop that is down
 * and a hop that refuses our credentials reach the client; BIND is
 * chained too. Needs root (the namespaces); skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_cmds.h"

static struct h_gw	g1, g2, g3;
static struct h_proc	echo4, echo6, act4;
static uint16_t		echo4_port, echo6_port, act4_port, dead_port;
static int		ready;

static int
setup(void **state)
{
	char	conf[PATH_MAX], users[PATH_MAX], hash[256];

	(void)state;
	if (!h_isolated() || !h_names()) {
		printf("# it_chain: needs root for its namespaces: skipped\n");
		return 0;
	}
	if ((echo4_port = h_tool_start(&echo4, "tcpsrv", "-a", "127.0.0.1",
	    "-m", "echo", NULL)) == 0 ||
	    (echo6_port = h_tool_start(&echo6, "tcpsrv", "-a", "::1",
	    "-m", "echo", NULL)) == 0 ||
	    (act4_port = h_tool_start(&act4, "actsrv", "-a", "127.0.0.1",
	    NULL)) == 0 ||
	    (dead_port = h_free_port("127.0.0.1")) == 0)
		return -1;

	/* G3: the last hop, the only one that knows www.far.test. */
	if (h_crypt("secret", "$y$", hash, sizeof(hash)) == -1 ||
	    h_write_file(h_tmp(users, sizeof(users), "users3"), "hop:%s\n",
	    hash) == -1)
		return -1;
	hc_conf(conf, sizeof(conf), "g3.conf",
	    "client pass from 127.0.0.0/8\n"
	    "auth password\n"
	    "users-file %s\n"
	    "pass to any\n", users);
	if (hc_gw_start_hosts(&g3, "127.0.0.1 localhost\n::1 www.far.test\n",
	    conf, NULL) == -1)
		return -1;

	/* G2: resolves it6.test (the harness's hosts), chains *.far.test. */
	hc_conf(conf, sizeof(conf), "g2.conf",
	    "client pass from 127.0.0.0/8\n"
	    "chain g3 127.0.0.1:%u user hop password secret\n"
	    "chain g3bad 127.0.0.1:%u user hop password wrong\n"
	    "pass to .bad.test via g3bad\n"
	    "pass to .far.test via g3\n"
	    "pass to any\n", g3.port, g3.port);
	if (h_gw_start(&g2, conf, "-d", NULL) == -1)
		return -1;

	/* G1: no IPv6 of its own, no names; *.test goes on to G2. */
	hc_conf(conf, sizeof(conf), "g1.conf",
	    "client pass from 127.0.0.0/8\n"
	    "family ipv4-only\n"
	    "chain g2 127.0.0.1:%u\n"
	    "# a direct rule first: proves G1 itself cannot resolve it6.test\n"
	    "pass to it6.test port 7\n"
	    "pass to .test via g2\n"
	    "pass to 127.0.0.99 via 127.0.0.1:%u\n"
	    "pass to 127.0.0.1 command bind via g2\n"
	    "pass to any\n", g2.port, dead_port);
	if (hc_gw_start_hosts(&g1, "127.0.0.1 localhost\n", conf, NULL) == -1)
		return -1;
	ready = 1;
	return 0;
}

static int
teardown(void **state)
{
	int	rc = 0;

	(void)state;
	if (h_gw_stop(&g1) != 0)
		rc = -1;
	if (h_gw_stop(&g2) != 0)
		rc = -1;
	if (h_gw_stop(&g3) != 0)
		rc = -1;
	h_proc_stop(&echo4);
	h_proc_stop(&echo6);
	h_proc_stop(&act4);
	return rc;
}

/* CONNECT host:port through G1; the reply code, the socket in *fd. */
static int
via_g1(const char *host, uint16_t port, int *fd)
{
	struct socks5_addr	dst;
	struct socks5_reply	rep;

	h_dst(&dst, host, port);
	return hc_request("127.0.0.1", g1.port, NULL, NULL,
	    SOCKS5_CMD_CONNECT, &dst, &rep, fd);
}

static void
echo_ok(int fd, const char *text)
{
	char	buf[256];
	size_t	len = strlen(text);

	assert_int_equal(h_send_all(fd, text, len), 0);
	assert_int_equal(h_recv_n(fd, buf, len, H_IO_MS), (ssize_t)len);
	assert_memory_equal(buf, text, len);
}

static void
want_line(const struct h_gw *gw, const char *a, const char *b,
    const char *c, const char *d)
{
	if (!h_log_line(gw->log, 3000, a, b, c, d, NULL)) {
		h_log_dump(gw->log);
		fail_msg("no line with %s %s %s %s in %s", a, b, c, d,
		    gw->log);
	}
}

/*
 * G1 cannot resolve it6.test, has no IPv6 to reach ::1 with, yet the
 * request works: the name went on to G2 as a DOMAINNAME. G1's debug log
 * holds no look-up at all; G2's line shows it dialed ::1 itself.
 */
static void
test_chain_name_travels_unresolved(void **state)
{
	char	dest[64], via[64];
	int	fd;

	(void)state;
	if (!ready)
		skip();
	assert_int_equal(via_g1(H_NAME_V6, echo6_port, &fd),
	    SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "through two gateways");
	close(fd);
	snprintf(dest, sizeof(dest), "dest=%s:%u", H_NAME_V6, echo6_port);
	snprintf(via, sizeof(via), "via=[::1]:%u", echo6_port);
	want_line(&g1, "cmd=connect", dest, "rep=0", "chain=g2");
	want_line(&g2, "cmd=connect", dest, via, "rep=0");
	assert_int_equal(h_log_count(g1.log, "resolved="), 0);
	/* G1 on its own: the name is unknown to it (X'04'). */
	assert_int_equal(via_g1(H_NAME_V6, 7, &fd), SOCKS5_REP_HOST_UNREACHABLE);
	close(fd);
}

/* Three gateways, the second authenticating to the third. */
static void
test_chain_three_gateways_only_the_last_resolves(void **state)
{
	char	dest[64], via[64];
	int	fd;

	(void)state;
	if (!ready)
		skip();
	assert_int_equal(via_g1("www.far.test", echo6_port, &fd),
	    SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "through three gateways");
	close(fd);
	snprintf(dest, sizeof(dest), "dest=www.far.test:%u", echo6_port);
	snprintf(via, sizeof(via), "via=[::1]:%u", echo6_port);
	want_line(&g1, "cmd=connect", dest, "rep=0", "chain=g2");
	want_line(&g2, "cmd=connect", dest, "rep=0", "chain=g3");
	want_line(&g3, "user=hop", dest, via, "rep=0");
}

/* The far end's reply code comes back to the client verbatim. */
static void
test_chain_far_reply_code_reaches_client(void **state)
{
	uint16_t	closed6 = h_free_port("::1");
	int		fd;

	(void)state;
	if (!ready)
		skip();
	/* G3 cannot resolve it: X'04' through G2 and G1. */
	assert_int_equal(via_g1("nothing.far.test", 80, &fd),
	    SOCKS5_REP_HOST_UNREACHABLE);
	close(fd);
	want_line(&g1, "dest=nothing.far.test:80", "rep=4", "chain=g2",
	    "next hop failed");
	want_line(&g3, "dest=nothing.far.test:80", "rep=4", "user=hop",
	    "cmd=connect");
	/* G2 finds the port closed: X'05' through G1. */
	assert_int_equal(via_g1(H_NAME_V6, closed6, &fd),
	    SOCKS5_REP_CONN_REFUSED);
	close(fd);
}

/* A next hop that is down: G1's own reply, from connect()'s errno. */
static void
test_chain_next_hop_down(void **state)
{
	int	fd;

	(void)state;
	if (!ready)
		skip();
	assert_int_equal(via_g1("127.0.0.99", 80, &fd),
	    SOCKS5_REP_CONN_REFUSED);
	close(fd);
	want_line(&g1, "dest=127.0.0.99:80", "rep=5",
	    "next hop connect failed", "cmd=connect");
}

/* G3 refuses G2's credentials: X'02' from G2, passed on by G1. */
static void
test_chain_next_hop_refuses_credentials(void **state)
{
	int	fd;

	(void)state;
	if (!ready)
		skip();
	assert_int_equal(via_g1("x.bad.test", 80, &fd),
	    SOCKS5_REP_NOT_ALLOWED);
	close(fd);
	want_line(&g2, "dest=x.bad.test:80", "rep=2", "chain=g3bad",
	    "next hop refused our credentials");
	assert_true(h_log_wait(g3.log, "auth failed", 3000));
}

/*
 * BIND chained: G2 listens, its two replies reach the client as G2 sent
 * them, and actsrv's connection back to G2 is relayed through G1.
 */
static void
test_chain_bind(void **state)
{
	struct socks5_addr	dst;
	struct socks5_reply	first, second;
	char			line[128], host[64];
	int			data, ctl;
	size_t			n = 0;

	(void)state;
	if (!ready)
		skip();
	ctl = h_connect("127.0.0.1", act4_port, H_IO_MS);
	assert_true(ctl >= 0);
	h_dst(&dst, "127.0.0.1", 0);
	assert_int_equal(hc_request("127.0.0.1", g1.port, NULL, NULL,
	    SOCKS5_CMD_BIND, &dst, &first, &data), SOCKS5_REP_SUCCEEDED);
	hc_host(&first.bnd, host, sizeof(host));
	snprintf(line, sizeof(line), "PORT %s %u\n", host, first.bnd.port);
	assert_int_equal(h_send_all(ctl, line, strlen(line)), 0);
	assert_int_equal(hc_read_reply(data, &second, H_IO_MS),
	    SOCKS5_REP_SUCCEEDED);
	hc_host(&second.bnd, host, sizeof(host));
	assert_string_equal(host, "127.0.0.1");
	while (n < sizeof(line) - 1 && h_recv_n(data, line + n, 1, H_IO_MS) ==
	    1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	assert_string_equal(line, "actsrv data");
	echo_ok(data, "bound");
	close(data);
	close(ctl);
	want_line(&g1, "cmd=bind", "chain=g2", "rep=0", "dest=127.0.0.1:0");
	want_line(&g2, "cmd=bind", "dest=127.0.0.1:0", "rep=0", "up=5 ");
}

static void
test_no_descriptor_leak(void **state)
{
	(void)state;
	if (!ready)
		skip();
	assert_int_equal(h_gw_fds_settle(&g1, 5000), g1.fd_base);
	assert_int_equal(h_gw_fds_settle(&g2, 5000), g2.fd_base);
	assert_int_equal(h_gw_fds_settle(&g3, 5000), g3.fd_base);
}

static void
test_daemons_exit_zero_cleanly(void **state)
{
	(void)state;
	if (!ready)
		skip();
	assert_int_equal(h_gw_stop(&g1), 0);
	assert_int_equal(h_gw_stop(&g2), 0);
	assert_int_equal(h_gw_stop(&g3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_name_travels_unresolved),
		cmocka_unit_test(test_chain_three_gateways_only_the_last_resolves),
		cmocka_unit_test(test_chain_far_reply_code_reaches_client),
		cmocka_unit_test(test_chain_next_hop_down),
		cmocka_unit_test(test_chain_next_hop_refuses_credentials),
		cmocka_unit_test(test_chain_bind),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemons_exit_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_chain", tests, setup, teardown);
}
