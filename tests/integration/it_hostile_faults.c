/*
 * it_hostile_faults.c - the real gatewayd at its limits and under faults
 * (issue 6): max-clients under a storm of new clients, the per-source
 * limit, a descriptor limit run dry, a destination that vanishes
 * mid-relay, and SIGHUP and
 * SIGTERM during 32 parallel bulk transfers checked with SHA-256. After
 * each test the daemon must hold no more descriptors and threads than it
 * had once ready.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness_hostile.h"

/* ---------------------------------------------------------------- */
/* limits                                                             */

/*
 * A client from src (NULL: 127.0.0.1) that sends nothing is refused the
 * way the gateway refuses for want of room: exactly X'05FF' (RFC 1928
 * "no acceptable methods"), then EOF. Sending nothing keeps it exact:
 * a greeting that reaches the closed socket would draw a reset.
 */
static void
expect_refused(const char *src)
{
	uint8_t	reply[3];
	ssize_t	n;
	int	fd;

	fd = hh_own(src != NULL ? hh_connect_from(src, "127.0.0.1",
	    hh.gw.port, H_IO_MS) : h_connect("127.0.0.1", hh.gw.port,
	    H_IO_MS));
	assert_true(fd >= 0);
	n = h_recv_n(fd, reply, sizeof(reply), hh_ms(3000));
	if (n != 2 || reply[0] != 5 || reply[1] != 0xff)
		fail_msg("refused client from %s got %zd bytes (%02x %02x), "
		    "not X'05FF'", src != NULL ? src : "127.0.0.1", n,
		    n > 0 ? reply[0] : 0, n > 1 ? reply[1] : 0);
	/* h_recv_n also stops at its timeout: the EOF must be there. */
	assert_int_equal(recv(fd, reply, 1, MSG_DONTWAIT), 0);
	hh_disown(fd, 0);
}

/* A relay to the echo server from src (owned), or -1 if not served. */
static int
open_echo_from(const char *src)
{
	int	fd;

	fd = hh_connect_from(src, "127.0.0.1", hh.gw.port, H_IO_MS);
	if (fd < 0)
		return -1;
	hh_own(fd);
	if (hh_socks_handshake(fd, NULL, NULL, "127.0.0.1", hh.echo_port,
	    hh_ms(2000), NULL) != SOCKS5_REP_SUCCEEDED) {
		hh_disown(fd, 0);
		return -1;
	}
	return fd;
}

/*
 * The same, tried until served within timeout_ms: a session that just
 * ended may still hold its place for a moment. -1 if never served.
 */
static int
open_echo_from_within(const char *src, int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;
	int	fd;

	while ((fd = open_echo_from(src)) == -1 && h_now_ms() < end)
		h_sleep_ms(50);
	return fd;
}

/*
 * With max-clients relays running, a further client is refused at once
 * (its connection closed; if anything comes first it is the RFC 1928
 * "no acceptable methods" answer, X'05FF', and a client that waits for
 * it gets exactly that), a storm of them neither stalls the running
 * relays nor floods the log, and once a relay ends there is room again.
 */
static void
test_max_clients_refuses_clearly_while_relays_go_on(void **state)
{
	enum { MAX = 4, STORM = 100 };
	int		relay[MAX], fd, i, lines;
	uint8_t		reply[16];
	int64_t		t0, t, worst = 0, storm_ms;
	ssize_t		n;
	char		msg[32];

	(void)state;
	hh_write_conf("max-clients %d\ntimeout handshake 3\npass to any\n",
	    MAX);
	hh_start();
	for (i = 0; i < MAX; i++)
		relay[i] = hh_open_echo();
	expect_refused(NULL);
	t0 = h_now_ms();
	for (i = 0; i < STORM; i++) {
		t = h_now_ms();
		fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
		assert_true(fd >= 0);
		(void)send(fd, "\x05\x01\x00", 3, MSG_NOSIGNAL);
		n = h_recv_n(fd, reply, sizeof(reply), hh_ms(1000));
		if (n > 0 && (n != 2 || reply[0] != 5 || reply[1] != 0xff))
			fail_msg("refused client %d got %zd bytes, not "
			    "X'05FF'", i, n);
		if (hh_peer_open(fd))
			fail_msg("refused client %d still open after %lld ms",
			    i, (long long)(h_now_ms() - t));
		hh_disown(fd, 0);
		if (h_now_ms() - t > worst)
			worst = h_now_ms() - t;
		/* The running relays carry on through the storm. */
		snprintf(msg, sizeof(msg), "relay %d at %d", i % MAX, i);
		assert_int_equal(h_send_all(relay[i % MAX], msg, strlen(msg)),
		    0);
		assert_int_equal(h_recv_n(relay[i % MAX], reply, strlen(msg),
		    hh_ms(H_IO_MS)), (ssize_t)strlen(msg));
	}
	storm_ms = h_now_ms() - t0;
	printf("# %d refused in %lld ms, slowest %lld ms\n", STORM,
	    (long long)storm_ms, (long long)worst);
	/* A relay moves bulk data intact after the storm. */
	for (i = 0; i < MAX; i++)
		hh_echo_bulk(relay[i], 48 * 1024, (uint64_t)i + 100);
	assert_true(h_log_wait(hh.gw.log, "max-clients reached", 2000));
	lines = h_log_count(hh.gw.log, "max-clients reached");
	printf("# %d \"max-clients reached\" lines for %d refusals\n", lines,
	    STORM);
	/* Rate-limited: at most 10 a second. */
	assert_true(lines <= 10 * (int)(storm_ms / 1000 + 2));
	expect_refused(NULL);
	hh_disown(relay[0], 0);
	assert_true(hh_served_within(hh_ms(3000)));
	for (i = 1; i < MAX; i++)
		hh_disown(relay[i], 0);
	hh_assert_settled();
}

/*
 * max-clients-per-source 3: a fourth client from 127.0.0.1 is refused
 * with X'05FF' while one from 127.0.0.2 is served and the three relays
 * go on; once one of them ends, 127.0.0.1 is served again. A reload
 * moves the limit (raised: one more; 0: none), and a storm of refusals
 * is logged at most 10 lines a second.
 */
static void
test_per_source_limit_refuses_only_that_source(void **state)
{
	enum { PER = 3, STORM = 40 };
	int	relay[PER + 2], other, extra, i, lines;
	int64_t	t0, storm_ms;

	(void)state;
	hh_write_conf("max-clients-per-source %d\ntimeout handshake 3\n"
	    "pass to any\n", PER);
	hh_start();
	for (i = 0; i < PER; i++)
		relay[i] = hh_open_echo();
	expect_refused(NULL);
	if (!h_log_line(hh.gw.log, hh_ms(3000), "per-source limit reached",
	    "client=127.0.0.1:", "max=3", NULL)) {
		h_log_dump(hh.gw.log);
		fail_msg("no per-source line for 127.0.0.1");
	}
	/* Another source is not held back by this one. */
	other = open_echo_from("127.0.0.2");
	assert_true(other >= 0);
	hh_echo_bulk(other, 16 * 1024, 50);
	for (i = 0; i < PER; i++)
		hh_echo_bulk(relay[i], 16 * 1024, (uint64_t)i + 60);
	assert_false(h_log_line(hh.gw.log, 0, "per-source limit reached",
	    "client=127.0.0.2:", NULL));
	/* One ends: room for 127.0.0.1 again, and for one only. */
	hh_disown(relay[0], 0);
	relay[0] = open_echo_from_within("127.0.0.1", hh_ms(3000));
	assert_true(relay[0] >= 0);
	hh_echo_bulk(relay[0], 4096, 70);
	expect_refused(NULL);

	/* Refusals in a storm: the log is rate-limited. */
	t0 = h_now_ms();
	for (i = 0; i < STORM; i++)
		expect_refused(NULL);
	storm_ms = h_now_ms() - t0;
	lines = h_log_count(hh.gw.log, "per-source limit reached client=");
	printf("# %d per-source lines for %d refusals in %lld ms\n", lines,
	    STORM + 2, (long long)storm_ms);
	assert_true(lines <= 10 * (int)(storm_ms / 1000 + 2));

	/* SIGHUP raises the limit by one: a fourth is served, a fifth not. */
	hh_write_conf("max-clients-per-source %d\ntimeout handshake 3\n"
	    "pass to any\n", PER + 1);
	assert_int_equal(h_gw_signal(&hh.gw, SIGHUP), 0);
	relay[PER] = open_echo_from_within("127.0.0.1", hh_ms(3000));
	assert_true(relay[PER] >= 0);
	expect_refused(NULL);
	/* And 0 lifts it. */
	hh_write_conf("max-clients-per-source 0\npass to any\n");
	assert_int_equal(h_gw_signal(&hh.gw, SIGHUP), 0);
	relay[PER + 1] = open_echo_from_within("127.0.0.1", hh_ms(3000));
	assert_true(relay[PER + 1] >= 0);
	extra = hh_open_echo();
	for (i = 0; i < PER + 2; i++)
		hh_echo_bulk(relay[i], 4096, (uint64_t)i + 80);
	hh_disown(extra, 0);
	hh_disown(other, 0);
	for (i = 0; i < PER + 2; i++)
		hh_disown(relay[i], 0);
	hh_assert_settled();
}

/*
 * A daemon started with a descriptor limit of 40 (soft and hard, so it
 * cannot raise it) fills it with relays. Then a client it has no
 * descriptor for waits in the listen queue (accepting is paused, by
 * design, rather than retried in a loop); a flood of them makes it
 * pause, not spin (CPU from /proc/PID/stat); relays already running
 * carry on, intact; and once descriptors are free it serves again and
 * holds none too many.
 */
static void
test_descriptor_limit_exhausted(void **state)
{
	/*
	 * Enough relays to run out even at two descriptors each: a relay
	 * takes its splice pipes only once a read fills its buffer, and
	 * under a sanitizer's timing many never do.
	 */
	enum { MAXRELAYS = 24, FLOOD = 40 };
	static int	flood[FLOOD];
	int		relay[MAXRELAYS], nrelay = 0, fd, rep = -1, i, n;
	const char	*stage = "";
	long		t0, t1;

	(void)state;
	hh_write_conf("timeout handshake 2\npass to any\n");
	hh.gw.nofile = 40;
	hh_start();
	printf("# %d fds when ready, limit 40\n", hh.gw.fd_base);
	while (nrelay < MAXRELAYS) {
		fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
		assert_true(fd >= 0);
		rep = hh_socks_handshake(fd, NULL, NULL, "127.0.0.1",
		    hh.echo_port, 2000 + hh_ms(1500), &stage);
		if (rep != SOCKS5_REP_SUCCEEDED)
			break;
		/* Even a relay that got no splice pipes moves bytes intact. */
		hh_echo_bulk(fd, 64 * 1024, (uint64_t)nrelay + 200);
		relay[nrelay++] = fd;
	}
	printf("# %d relays, then reply %d at the %s step\n", nrelay, rep,
	    stage);
	assert_true(nrelay >= 3);
	assert_true(nrelay < MAXRELAYS);
	hh_disown(fd, 0);
	n = hh_connect_many("127.0.0.1", hh.gw.port, flood, FLOOD, 2000);
	for (i = 0; i < FLOOD; i++)
		hh_own(flood[i]);
	printf("# %d flood connections\n", n);
	h_sleep_ms(300);
	t0 = h_cpu_ticks(hh.gw.proc.pid);
	h_sleep_ms(1000);
	t1 = h_cpu_ticks(hh.gw.proc.pid);
	printf("# cpu over 1 s out of descriptors: %ld ticks\n", t1 - t0);
	assert_true(t0 >= 0 && t1 >= 0);
	assert_true(t1 - t0 < 20);
	assert_true(h_proc_alive(&hh.gw.proc));
	for (i = 0; i < nrelay; i++)
		hh_echo_bulk(relay[i], 16 * 1024, (uint64_t)i + 300);
	for (i = 0; i < FLOOD; i++)
		hh_disown(flood[i], 0);
	for (i = 1; i < nrelay; i++)
		hh_disown(relay[i], 0);
	assert_true(hh_served_within(hh_ms(5000)));
	hh_echo_bulk(relay[0], 16 * 1024, 400);
	hh_disown(relay[0], 0);
	assert_true(h_log_has(hh.gw.log, "Too many open files"));
	hh_assert_settled();
}

/* ---------------------------------------------------------------- */
/* faults at the destination                                          */

/* Accepts one connection on lfd within timeout_ms; -1 if none came. */
static int
accept_one(int lfd, int timeout_ms)
{
	struct pollfd	pfd = { .fd = lfd, .events = POLLIN };

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

/* Keeps sending until the peer is gone; returns ms it took, or -1. */
static int64_t
send_until_closed(int fd, int timeout_ms)
{
	int64_t	t0 = h_now_ms();
	uint8_t	buf[16384];
	ssize_t	n;

	memset(buf, 's', sizeof(buf));
	while (h_now_ms() - t0 < timeout_ms) {
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return h_now_ms() - t0;
		if (!hh_peer_open(fd))
			return h_now_ms() - t0;
		if (n == -1)
			h_sleep_ms(5);
	}
	return -1;
}

/*
 * The most bytes waiting unread in an established TCP socket whose
 * local end is 127.0.0.1:port (rx_queue of /proc/net/tcp, this network
 * namespace's), or -1 if there is no such socket.
 */
static long
rx_queued(uint16_t port)
{
	FILE		*f = fopen("/proc/net/tcp", "r");
	char		 line[512];
	unsigned int	 lport, st;
	unsigned long	 tx, rx;
	long		 most = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		/* "  3: 0100007F:9C41 0100007F:C35A 01 00000000:0000000B" */
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %x %lx:%lx", &lport,
		    &st, &tx, &rx) != 4)
			continue;	/* the header */
		if (lport == port && st == 0x01 && (long)rx > most)
			most = (long)rx;
	}
	fclose(f);
	return most;
}

/*
 * The destination goes away in the middle of a relay: by a reset, and
 * by its process being killed while the client streams to it. Both
 * times the client's side is closed promptly, the daemon lets go of the
 * destination's socket too, and the closing line says it ended in error.
 *
 * The killed process must die with bytes unread, so that its kernel
 * answers with a reset (RFC 2525 2.17). Killed with nothing unread, it
 * closes with a FIN, as a server that is done would: the gateway passes
 * the EOF on, the client stops and closes, and the relay ends as an
 * orderly "eof" before any reset to bytes still in flight is seen. That
 * race made this test fail now and then under load; so the victim is
 * stopped first and fed until its receive queue holds bytes.
 */
static void
test_destination_vanishes_mid_relay(void **state)
{
	struct h_proc	victim;
	uint16_t	lport = 0, vport;
	uint8_t		buf[8];
	char		dest[64];
	int		lfd, cfd, dfd, rep;
	int64_t		ms, end;

	(void)state;
	hh_write_conf("pass to any\n");
	hh_start();
	/* 1: a reset from a destination we hold in this process. */
	lfd = hh_own(h_listen("127.0.0.1", &lport, 4));
	assert_true(lfd >= 0);
	cfd = hh_own(h_socks_open(&hh.gw, NULL, NULL, "127.0.0.1", lport,
	    &rep));
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	dfd = hh_own(accept_one(lfd, hh_ms(H_IO_MS)));
	assert_true(dfd >= 0);
	assert_int_equal(h_send_all(cfd, "ping", 4), 0);
	assert_int_equal(h_recv_n(dfd, buf, 4, hh_ms(H_IO_MS)), 4);
	assert_int_equal(h_send_all(dfd, "pong", 4), 0);
	assert_int_equal(h_recv_n(cfd, buf, 4, hh_ms(H_IO_MS)), 4);
	hh_disown(dfd, 1);
	ms = send_until_closed(cfd, hh_ms(3000));
	printf("# client closed %lld ms after the destination's reset\n",
	    (long long)ms);
	assert_true(ms >= 0);
	hh_disown(cfd, 0);
	snprintf(dest, sizeof(dest), "dest=127.0.0.1:%u", lport);
	if (!h_log_line(hh.gw.log, hh_ms(3000), dest, "rep=0", "error=",
	    NULL)) {
		h_log_dump(hh.gw.log);
		fail_msg("no closing line with an error for %s", dest);
	}
	/* 2: the destination's process is killed while we stream to it. */
	memset(&victim, 0, sizeof(victim));
	vport = h_tool_start(&victim, "tcpsrv", "-m", "hold", NULL);
	assert_int_not_equal(vport, 0);
	cfd = hh_own(h_socks_open(&hh.gw, NULL, NULL, "127.0.0.1", vport,
	    &rep));
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_send_all(cfd, "first bytes", 11), 0);
	assert_int_equal(kill(victim.pid, SIGSTOP), 0);
	/* Until the stop took: bytes read before it do not count. */
	for (end = h_now_ms() + hh_ms(5000); rx_queued(vport) <= 0 &&
	    h_now_ms() < end; h_sleep_ms(20))
		assert_int_equal(h_send_all(cfd, "x", 1), 0);
	printf("# %ld bytes unread at the destination when killed\n",
	    rx_queued(vport));
	assert_true(rx_queued(vport) > 0);
	assert_int_equal(kill(victim.pid, SIGKILL), 0);
	ms = send_until_closed(cfd, hh_ms(3000));
	h_proc_stop(&victim);
	printf("# client closed %lld ms after the destination was killed\n",
	    (long long)ms);
	assert_true(ms >= 0);
	hh_disown(cfd, 0);
	snprintf(dest, sizeof(dest), "dest=127.0.0.1:%u", vport);
	if (!h_log_line(hh.gw.log, hh_ms(3000), dest, "rep=0", "error=",
	    NULL)) {
		h_log_dump(hh.gw.log);
		fail_msg("no closing line with an error for %s", dest);
	}
	hh_disown(lfd, 0);
	hh_assert_settled();
}

/* ---------------------------------------------------------------- */
/* signals under load                                                 */

enum { PAR = 32 };

/* 8 MiB each way per transfer; less where a sanitizer slows all down. */
static size_t
bulk_len(void)
{
	return *hh_sanitizer() == '\0' ? 8u << 20 : 2u << 20;
}

static void
xfers_setup(struct hh_xfer *x, uint64_t seed0)
{
	memset(x, 0, sizeof(*x) * PAR);
	for (int i = 0; i < PAR; i++) {
		x[i].gw = &hh.gw;
		x[i].dst_host = "127.0.0.1";
		x[i].dst_port = hh.echo_port;
		x[i].len = bulk_len();
		x[i].seed = seed0 + (uint64_t)i;
		x[i].timeout_ms = hh_ms(60000);
	}
}

static void
xfers_check(const struct hh_xfer *x)
{
	char	a[65], b[65];

	for (int i = 0; i < PAR; i++)
		if (!hh_xfer_intact(&x[i]))
			fail_msg("transfer %d: rep %d rc %d sent %zu received "
			    "%zu eof %d sha %s vs %s", i, x[i].rep, x[i].rc,
			    x[i].x.sent, x[i].x.received, x[i].x.got_eof,
			    h_sha256_hex(x[i].x.sent_sha, a),
			    h_sha256_hex(x[i].x.recv_sha, b));
}

/* Whether every transfer thread has ended (done_ms set). */
static int
xfers_done(const struct hh_xfer *x)
{
	for (int i = 0; i < PAR; i++)
		if (x[i].started && __atomic_load_n(&x[i].done_ms,
		    __ATOMIC_ACQUIRE) == 0)
			return 0;
	return 1;
}

static int
xfers_opened(const struct hh_xfer *x)
{
	int	n = 0;

	for (int i = 0; i < PAR; i++)
		n += __atomic_load_n(&x[i].opened, __ATOMIC_ACQUIRE);
	return n;
}

/*
 * 32 transfers of 8 MiB each way at once while the configuration is
 * rewritten and reloaded every 100 ms: every byte arrives (SHA-256),
 * and afterwards the daemon is back to its descriptors and threads.
 */
static void
test_sighup_storm_under_load_loses_nothing(void **state)
{
	static struct hh_xfer	x[PAR];
	int64_t			t0, end;
	int			hups = 0;

	(void)state;
	hh_write_conf("pass to any\n");
	hh_start();
	xfers_setup(x, 1000);
	t0 = h_now_ms();
	assert_int_equal(hh_xfer_start(x, PAR), PAR);
	for (end = h_now_ms() + hh_ms(60000); !xfers_done(x) &&
	    h_now_ms() < end && hups < 40; hups++) {
		h_sleep_ms(100);
		hh_write_conf("log-level %s\nblock to 192.0.2.%d\n"
		    "pass to any\n",
		    hups % 2 ? "debug" : "info", hups % 250 + 1);
		assert_int_equal(h_gw_signal(&hh.gw, SIGHUP), 0);
	}
	hh_xfer_join(x, PAR);
	printf("# %d x %zu bytes each way in %lld ms, %d reloads\n", PAR,
	    bulk_len(), (long long)(h_now_ms() - t0), hups);
	xfers_check(x);
	assert_true(hups >= 1);
	assert_true(h_log_wait(hh.gw.log, "reloading", 3000));
	assert_false(h_log_has(hh.gw.log, "reload failed"));
	assert_true(hh_served_now() < hh_ms(1000));
	hh_assert_settled();
}

/*
 * SIGTERM with 32 transfers under way: no new client is accepted, every
 * running relay is finished intact within "timeout shutdown", and the
 * daemon exits 0 without hanging.
 */
static void
test_sigterm_under_load_finishes_every_relay(void **state)
{
	static struct hh_xfer	x[PAR];
	int64_t			t_sig, end;
	int			after = 0, probe = 0;

	(void)state;
	hh_write_conf("timeout shutdown 60\npass to any\n");
	hh_start();
	xfers_setup(x, 2000);
	assert_int_equal(hh_xfer_start(x, PAR), PAR);
	/* Signal once every relay is open. */
	for (end = h_now_ms() + hh_ms(5000); h_now_ms() < end; h_sleep_ms(5))
		if (xfers_opened(x) == PAR)
			break;
	assert_int_equal(xfers_opened(x), PAR);
	t_sig = h_now_ms();
	assert_int_equal(h_gw_signal(&hh.gw, SIGTERM), 0);
	for (int i = 0; i < 40; i++) {
		if ((probe = h_connect("127.0.0.1", hh.gw.port, 200)) == -1)
			break;
		close(probe);
		h_sleep_ms(25);
	}
	hh_xfer_join(x, PAR);
	for (int i = 0; i < PAR; i++)
		after += x[i].done_ms > t_sig;
	printf("# %d of %d transfers were still running at SIGTERM\n", after,
	    PAR);
	xfers_check(x);
	assert_true(after > 0);
	assert_int_equal(probe, -1);
	assert_int_equal(h_proc_wait(&hh.gw.proc, hh_ms(10000)), 0);
	printf("# exited %lld ms after SIGTERM\n",
	    (long long)(h_now_ms() - t_sig));
	assert_true(WIFEXITED(hh.gw.proc.status));
	assert_int_equal(WEXITSTATUS(hh.gw.proc.status), 0);
	assert_true(h_log_has(hh.gw.log, "shutting down"));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, hh_setup, hh_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_max_clients_refuses_clearly_while_relays_go_on),
		T(test_per_source_limit_refuses_only_that_source),
		T(test_descriptor_limit_exhausted),
		T(test_destination_vanishes_mid_relay),
		T(test_sighup_storm_under_load_loses_nothing),
		T(test_sigterm_under_load_finishes_every_relay),
	};

	/* One test by name (a glob), to run it alone in a loop. */
	if (getenv("SOCKS64_IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("SOCKS64_IT_ONLY"));
	h_init();
	return cmocka_run_group_tests_name("it_hostile_faults", tests,
	    hh_group_setup, hh_group_teardown);
}
