/*
 * it_relay.c - the relay of the real gatewayd, started without a config
 * (built-in defaults): 64 MiB each way at once checked by SHA-256,
 * half-close in both orders, many sessions at once, relays that stay
 * small holding their two sockets only, one that turns bulk after small
 * messages, the idle timeout, and no descriptor left behind.
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

#include "harness.h"

#define BULK		(64u << 20)
#define SMALL		(1u << 20)
#define MEDIUM		(4u << 20)

static struct h_gw	gw;
static struct h_proc	echo, source, reply, hold;
static uint16_t		echo_port, source_port, reply_port, hold_port;

static int
setup(void **state)
{
	char	n[32];

	(void)state;
	snprintf(n, sizeof(n), "%u", MEDIUM);
	if ((echo_port = h_tool_start(&echo, "tcpsrv", "-m", "echo",
	    NULL)) == 0 ||
	    (source_port = h_tool_start(&source, "tcpsrv", "-m", "source",
	    "-n", n, "-s", "21", "-r", "22", NULL)) == 0 ||
	    (reply_port = h_tool_start(&reply, "tcpsrv", "-m", "reply",
	    "-n", n, "-s", "11", "-r", "12", NULL)) == 0 ||
	    (hold_port = h_tool_start(&hold, "tcpsrv", "-m", "hold",
	    NULL)) == 0)
		return -1;
	return h_gw_start(&gw, NULL, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	int	rc = h_gw_stop(&gw);

	h_proc_stop(&echo);
	h_proc_stop(&source);
	h_proc_stop(&reply);
	h_proc_stop(&hold);
	return rc;
}

/* The tool's next "done ..." line into buf (bounded). */
static void
tool_done(struct h_proc *p, char *buf, size_t len)
{
	int64_t	end = h_now_ms() + 10000;

	while (h_now_ms() < end) {
		if (h_proc_line(p, buf, len, 1000) == 1 &&
		    strncmp(buf, "done", 4) == 0)
			return;
	}
	fail_msg("tool reported no end of its connection");
}

static int
open_to(uint16_t port)
{
	int	fd, rep;

	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_true(fd >= 0);
	return fd;
}

static void
test_bulk_64mib_each_way_sha256(void **state)
{
	struct h_xfer	x = { .send_len = BULK, .send_seed = 5,
			      .timeout_ms = 90000 };
	uint8_t		want[32];
	char		a[65], b[65], line[128], counts[64];
	int64_t		t0;
	int		fd;

	(void)state;
	fd = open_to(echo_port);
	t0 = h_now_ms();
	assert_int_equal(h_xfer_run(fd, &x), 0);
	printf("# 64 MiB each way in %lld ms\n", (long long)(h_now_ms() - t0));
	close(fd);
	assert_int_equal(x.sent, BULK);
	assert_int_equal(x.received, BULK);
	h_stream_sha256(5, BULK, want);
	assert_memory_equal(x.sent_sha, want, 32);
	if (memcmp(x.recv_sha, x.sent_sha, 32) != 0)
		fail_msg("sha256 sent %s, received %s",
		    h_sha256_hex(x.sent_sha, a), h_sha256_hex(x.recv_sha, b));
	tool_done(&echo, line, sizeof(line));
	snprintf(counts, sizeof(counts), "done echo %u", BULK);
	assert_string_equal(line, counts);
	snprintf(counts, sizeof(counts), "up=%u down=%u", BULK, BULK);
	assert_true(h_log_line(gw.log, 3000, "rep=0", counts, NULL));
}

/*
 * The client sends its request and shuts down writing; the server only
 * answers after that EOF, so the answer must still come through.
 */
static void
test_half_close_by_client_answer_still_arrives(void **state)
{
	struct h_xfer	x = { .send_len = SMALL, .send_seed = 12,
			      .timeout_ms = 30000 };
	uint8_t		want[32];
	char		line[128], expect[128];
	int		fd;

	(void)state;
	fd = open_to(reply_port);
	assert_int_equal(h_xfer_run(fd, &x), 0);
	close(fd);
	assert_int_equal(x.received, MEDIUM);
	h_stream_sha256(11, MEDIUM, want);
	assert_memory_equal(x.recv_sha, want, 32);
	tool_done(&reply, line, sizeof(line));
	snprintf(expect, sizeof(expect), "done reply sent %u recv %u ok",
	    MEDIUM, SMALL);
	assert_string_equal(line, expect);
}

/*
 * The server sends everything and shuts down writing first; the client
 * reads to that EOF and only then sends: the gateway must keep the
 * client->server direction open after the other one ended.
 */
static void
test_half_close_by_server_client_still_sends(void **state)
{
	struct h_xfer	x = { .send_len = 0, .no_shutdown = 1,
			      .timeout_ms = 30000 };
	struct h_stream	st;
	uint8_t		want[32], *buf;
	char		line[128], expect[128];
	int		fd;

	(void)state;
	fd = open_to(source_port);
	assert_int_equal(h_xfer_run(fd, &x), 0);
	assert_int_equal(x.received, MEDIUM);
	h_stream_sha256(21, MEDIUM, want);
	assert_memory_equal(x.recv_sha, want, 32);
	buf = malloc(SMALL);
	assert_non_null(buf);
	h_stream_init(&st, 22);
	h_stream_fill(&st, buf, SMALL);
	assert_int_equal(h_send_all(fd, buf, SMALL), 0);
	free(buf);
	shutdown(fd, SHUT_WR);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	tool_done(&source, line, sizeof(line));
	snprintf(expect, sizeof(expect), "done source sent %u recv %u ok",
	    MEDIUM, SMALL);
	assert_string_equal(line, expect);
}

static void
test_many_sessions_at_once(void **state)
{
	enum { N = 48 };
	int	fds[N];
	char	msg[32], buf[32];

	(void)state;
	for (int i = 0; i < N; i++)
		fds[i] = open_to(echo_port);
	for (int i = 0; i < N; i++) {
		snprintf(msg, sizeof(msg), "session %02d", i);
		assert_int_equal(h_send_all(fds[i], msg, strlen(msg)), 0);
	}
	for (int i = N - 1; i >= 0; i--) {
		snprintf(msg, sizeof(msg), "session %02d", i);
		assert_int_equal(h_recv_n(fds[i], buf, strlen(msg), H_IO_MS),
		    (ssize_t)strlen(msg));
		assert_memory_equal(buf, msg, strlen(msg));
		close(fds[i]);
	}
}

/* One message of len bytes each way on fd, checked. */
static void
echo_once(int fd, size_t len, unsigned int seed)
{
	char	msg[512], back[512];
	size_t	i;

	assert_true(len <= sizeof(msg));
	for (i = 0; i < len; i++)
		msg[i] = (char)('a' + (i * 7 + seed) % 26);
	assert_int_equal(h_send_all(fd, msg, len), 0);
	assert_int_equal(h_recv_n(fd, back, len, H_IO_MS), (ssize_t)len);
	assert_memory_equal(back, msg, len);
}

/*
 * Relays whose messages never fill the relay's small buffer (each
 * message waits for its echo, so none pile up) never take a pipe: the
 * daemon holds exactly their two sockets each.
 */
static void
test_small_relays_hold_two_descriptors_each(void **state)
{
	enum { N = 16 };
	int	fds[N], base, n, i, round;

	(void)state;
	base = h_gw_fds_settle(&gw, 5000);
	assert_int_equal(base, gw.fd_base);
	for (i = 0; i < N; i++)
		fds[i] = open_to(echo_port);
	for (round = 0; round < 4; round++)
		for (i = 0; i < N; i++)
			echo_once(fds[i], 1 + (size_t)(i * 31 + round * 97) % 500,
			    (unsigned int)(i + round));
	n = h_fd_count(gw.proc.pid);
	printf("# %d relays: gatewayd fds %d, %d before\n", N, n, base);
	assert_int_equal(n, base + 2 * N);
	for (i = 0; i < N; i++)
		close(fds[i]);
	assert_int_equal(h_gw_fds_settle(&gw, 5000), gw.fd_base);
}

/*
 * A relay that starts with small messages and then carries bulk data
 * (read/write first, splice through a pipe that grows later): every
 * byte arrives, checked by SHA-256, and the log counts them all.
 */
static void
test_small_then_bulk_sha256(void **state)
{
	enum { ROUNDS = 50, MSG = 300 };
	struct h_xfer	x = { .send_len = MEDIUM * 4, .send_seed = 9,
			      .timeout_ms = 60000 };
	uint8_t		want[32];
	char		counts[64], line[128];
	int		fd, i;

	(void)state;
	fd = open_to(echo_port);
	for (i = 0; i < ROUNDS; i++)
		echo_once(fd, MSG, (unsigned int)i);
	assert_int_equal(h_xfer_run(fd, &x), 0);
	close(fd);
	assert_int_equal(x.sent, MEDIUM * 4);
	assert_int_equal(x.received, MEDIUM * 4);
	h_stream_sha256(9, MEDIUM * 4, want);
	assert_memory_equal(x.sent_sha, want, 32);
	assert_memory_equal(x.recv_sha, want, 32);
	tool_done(&echo, line, sizeof(line));
	snprintf(counts, sizeof(counts), "up=%u down=%u",
	    ROUNDS * MSG + MEDIUM * 4, ROUNDS * MSG + MEDIUM * 4);
	assert_true(h_log_line(gw.log, 3000, "rep=0", counts, NULL));
}

/* Its own daemon with "timeout idle 1": a quiet relay is closed. */
static void
test_idle_relay_is_closed(void **state)
{
	struct h_gw	idle;
	char		conf[PATH_MAX];
	int		fd, rep;
	int64_t		t0, ms;

	(void)state;
	memset(&idle, 0, sizeof(idle));
	h_tmp(conf, sizeof(conf), "relay-idle.conf");
	assert_int_equal(h_write_file(conf, "client pass from 127.0.0.0/8\n"
	    "timeout idle 1\npass to any\n"), 0);
	assert_int_equal(h_gw_start(&idle, conf, NULL), 0);
	fd = h_socks_open(&idle, NULL, NULL, "127.0.0.1", hold_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_send_all(fd, "quiet", 5), 0);
	t0 = h_now_ms();
	assert_true(h_wait_closed(fd, 5000));
	ms = h_now_ms() - t0;
	close(fd);
	printf("# idle relay closed after %lld ms\n", (long long)ms);
	assert_true(ms >= 500);
	assert_true(ms < 4000);
	assert_true(h_log_line(idle.log, 3000, "rep=0", "up=5", NULL));
	assert_int_equal(h_gw_stop(&idle), 0);
}

static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
	assert_true(h_proc_alive(&gw.proc));
}

/*
 * After the leak check: SIGTERM ends the daemon with status 0 and no
 * sanitizer report in its log (a group teardown cannot fail a run).
 */
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
		cmocka_unit_test(test_bulk_64mib_each_way_sha256),
		cmocka_unit_test(
		    test_half_close_by_client_answer_still_arrives),
		cmocka_unit_test(test_half_close_by_server_client_still_sends),
		cmocka_unit_test(test_many_sessions_at_once),
		cmocka_unit_test(test_small_relays_hold_two_descriptors_each),
		cmocka_unit_test(test_small_then_bulk_sha256),
		cmocka_unit_test(test_idle_relay_is_closed),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_relay", tests, setup, teardown);
}
