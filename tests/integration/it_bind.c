/*
 * it_bind.c - BIND through the real gatewayd (RFC 1928 section 4): a
 * real active-mode exchange with tests/tools/actsrv (the client tells
 * the server, over a control connection relayed by CONNECT, where to
 * connect back, as FTP's PORT does), across the families (RFC 3089
 * section 5.1), a peer from the wrong address turned away, a peer
 * judged by the rules when the request named none, the bind timeout's
 * X'06', a client that leaves while waiting, and no descriptor left.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_cmds.h"

static struct h_gw	gw;
static struct h_proc	act4, act6;
static uint16_t		act4_port, act6_port;

static int
setup(void **state)
{
	char	conf[PATH_MAX];

	(void)state;
	/*
	 * 127.0.0.3 may never be a BIND peer, 127.0.0.4 never an expected
	 * one; a 2 s bind timeout keeps the X'06' test short.
	 */
	hc_conf(conf, sizeof(conf), "bind.conf",
	    "client pass from 127.0.0.0/8\n"
	    "client pass from ::1\n"
	    "timeout bind 2\n"
	    "block to 127.0.0.3 command bind\n"
	    "block to 127.0.0.4 command bind\n"
	    "pass to any\n");
	if ((act4_port = h_tool_start(&act4, "actsrv", "-a", "127.0.0.1",
	    NULL)) == 0 ||
	    (act6_port = h_tool_start(&act6, "actsrv", "-a", "::1",
	    NULL)) == 0)
		return -1;
	return h_gw_start(&gw, conf, NULL);
}

static int
teardown(void **state)
{
	int	rc = h_gw_stop(&gw);

	(void)state;
	h_proc_stop(&act4);
	h_proc_stop(&act6);
	return rc;
}

/* One line (without "\n") from fd, a byte at a time; 0 or -1. */
static int
read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t	n = 0;
	int64_t	end = h_now_ms() + timeout_ms;

	while (n + 1 < len) {
		int64_t left = end - h_now_ms();

		if (left <= 0 || h_recv_n(fd, buf + n, 1, (int)left) != 1)
			return -1;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

static void
send_line(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
send_line(int fd, const char *fmt, ...)
{
	char	line[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_int_equal(h_send_all(fd, line, strlen(line)), 0);
}

/* BIND asking for a peer at host; the first reply in *first. */
static int
bind_request(const char *host, struct socks5_reply *first)
{
	struct socks5_addr	dst;
	int			fd, rep;

	h_dst(&dst, host, 0);
	rep = hc_request("127.0.0.1", gw.port, NULL, NULL, SOCKS5_CMD_BIND,
	    &dst, first, &fd);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	return fd;
}

/*
 * The whole exchange: control connection to actsrv through the gateway,
 * BIND for a peer at host, "PORT" with the first reply's address, the
 * second reply naming actsrv, then data both ways over the BIND.
 */
static void
active_mode(const char *host, uint16_t act_port, uint8_t atyp)
{
	struct socks5_reply	first, second;
	char			bnd[64], line[128], want[64];
	int			ctl, data, rep;

	ctl = h_socks_open(&gw, NULL, NULL, host, act_port, &rep);
	assert_true(ctl >= 0);
	data = bind_request(host, &first);
	/* RFC 3089 section 5.1: the listener is of the peer's family. */
	assert_int_equal(first.bnd.atyp, atyp);
	assert_int_not_equal(first.bnd.port, 0);
	hc_host(&first.bnd, bnd, sizeof(bnd));
	assert_string_equal(bnd, host);
	send_line(ctl, "PORT %s %u\n", bnd, first.bnd.port);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "150 connected");
	assert_int_equal(hc_read_reply(data, &second, H_IO_MS),
	    SOCKS5_REP_SUCCEEDED);
	hc_host(&second.bnd, bnd, sizeof(bnd));
	assert_string_equal(bnd, host);
	assert_int_not_equal(second.bnd.port, 0);
	assert_int_equal(read_line(data, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "actsrv data");
	send_line(data, "hello");
	assert_int_equal(h_recv_n(data, line, 5, H_IO_MS), 5);
	assert_memory_equal(line, "hello", 5);
	shutdown(data, SHUT_WR);
	assert_true(h_wait_closed(data, H_IO_MS));
	close(data);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "226 5");
	send_line(ctl, "QUIT\n");
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	close(ctl);
	/* The BIND's own line: up is client to peer, down peer to client. */
	snprintf(want, sizeof(want), "dest=%s%s%s:0", atyp ==
	    SOCKS5_ATYP_IPV6 ? "[" : "", host, atyp == SOCKS5_ATYP_IPV6 ?
	    "]" : "");
	if (!h_log_line(gw.log, 3000, "cmd=bind", want, "rep=0", "up=5 ",
	    "down=17 ", NULL)) {
		h_log_dump(gw.log);
		fail_msg("no bind line with %s rep=0 up=5 down=17", want);
	}
}

static void
test_bind_active_mode_ipv4(void **state)
{
	(void)state;
	active_mode("127.0.0.1", act4_port, SOCKS5_ATYP_IPV4);
}

/* An IPv4 client, an IPv6 peer: the gateway listens on IPv6 for it. */
static void
test_bind_active_mode_ipv4_client_ipv6_peer(void **state)
{
	(void)state;
	active_mode("::1", act6_port, SOCKS5_ATYP_IPV6);
}

/* A peer from another address than the request named is turned away. */
static void
test_bind_wrong_peer_turned_away(void **state)
{
	struct socks5_reply	first, second;
	char			line[128];
	int			ctl, data;

	(void)state;
	ctl = h_connect("127.0.0.1", act4_port, H_IO_MS);
	assert_true(ctl >= 0);
	data = bind_request("127.0.0.1", &first);
	send_line(ctl, "PORT 127.0.0.1 %u 127.0.0.2\n", first.bnd.port);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "150 connected");
	/* The gateway closed it without a second reply: still waiting. */
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "226 0");
	assert_false(h_wait_closed(data, 300));
	send_line(ctl, "PORT 127.0.0.1 %u\n", first.bnd.port);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "150 connected");
	assert_int_equal(hc_read_reply(data, &second, H_IO_MS),
	    SOCKS5_REP_SUCCEEDED);
	hc_host(&second.bnd, line, sizeof(line));
	assert_string_equal(line, "127.0.0.1");
	close(data);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	close(ctl);
	assert_true(h_log_wait(gw.log, "bind turned away 1 peers", 3000));
}

/*
 * A BIND naming no peer (0.0.0.0) listens where the client reached us
 * and takes any peer the rules pass: 127.0.0.3 is blocked, 127.0.0.2
 * is not.
 */
static void
test_bind_any_peer_judged_by_rules(void **state)
{
	struct socks5_reply	first, second;
	char			line[128];
	int			ctl, data;

	(void)state;
	ctl = h_connect("127.0.0.1", act4_port, H_IO_MS);
	assert_true(ctl >= 0);
	data = bind_request("0.0.0.0", &first);
	hc_host(&first.bnd, line, sizeof(line));
	assert_string_equal(line, "127.0.0.1");
	send_line(ctl, "PORT 127.0.0.1 %u 127.0.0.3\n", first.bnd.port);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "226 0");
	send_line(ctl, "PORT 127.0.0.1 %u 127.0.0.2\n", first.bnd.port);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	assert_string_equal(line, "150 connected");
	assert_int_equal(hc_read_reply(data, &second, H_IO_MS),
	    SOCKS5_REP_SUCCEEDED);
	hc_host(&second.bnd, line, sizeof(line));
	assert_string_equal(line, "127.0.0.2");
	close(data);
	assert_int_equal(read_line(ctl, line, sizeof(line), H_IO_MS), 0);
	close(ctl);
}

/* Rules apply to BIND: "block to 127.0.0.4 command bind". */
static void
test_bind_denied_by_rule(void **state)
{
	struct socks5_addr	dst;
	struct socks5_reply	rep;
	int			fd;

	(void)state;
	h_dst(&dst, "127.0.0.4", 0);
	assert_int_equal(hc_request("127.0.0.1", gw.port, NULL, NULL,
	    SOCKS5_CMD_BIND, &dst, &rep, &fd), SOCKS5_REP_NOT_ALLOWED);
	close(fd);
	/* The same address is fine for CONNECT's rules (refused: no one). */
	assert_int_equal(h_socks_rep(&gw, "127.0.0.4", h_free_port(
	    "127.0.0.4")), SOCKS5_REP_CONN_REFUSED);
}

/* No peer within "timeout bind 2": X'06' as the second reply. */
static void
test_bind_timeout_replies_ttl_expired(void **state)
{
	struct socks5_reply	first, second;
	int64_t			t0, ms;
	int			data;

	(void)state;
	data = bind_request("127.0.0.1", &first);
	t0 = h_now_ms();
	assert_int_equal(hc_read_reply(data, &second, 6000),
	    SOCKS5_REP_TTL_EXPIRED);
	ms = h_now_ms() - t0;
	printf("# second reply after %lld ms\n", (long long)ms);
	assert_true(ms >= 1800 && ms < 5000);
	assert_true(h_wait_closed(data, H_IO_MS));
	close(data);
	assert_true(h_log_line(gw.log, 3000, "cmd=bind", "rep=6",
	    "no peer in time", NULL));
}

/* The client leaving ends the wait at once, and the listener with it. */
static void
test_bind_client_leaves_while_waiting(void **state)
{
	struct socks5_reply	first;
	int			data, fd;

	(void)state;
	data = bind_request("127.0.0.1", &first);
	close(data);
	assert_true(h_log_wait(gw.log, "client left before the peer came",
	    1500));
	fd = h_connect("127.0.0.1", first.bnd.port, 1000);
	assert_int_equal(fd, -1);
}

static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
}

static void
test_daemon_exits_zero_cleanly(void **state)
{
	(void)state;
	assert_int_equal(h_gw_stop(&gw), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_active_mode_ipv4),
		cmocka_unit_test(test_bind_active_mode_ipv4_client_ipv6_peer),
		cmocka_unit_test(test_bind_wrong_peer_turned_away),
		cmocka_unit_test(test_bind_any_peer_judged_by_rules),
		cmocka_unit_test(test_bind_denied_by_rule),
		cmocka_unit_test(test_bind_timeout_replies_ttl_expired),
		cmocka_unit_test(test_bind_client_leaves_while_waiting),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_bind", tests, setup, teardown);
}
