/*
 * it_lifecycle.c - the real gatewayd over its life: the handshake timeout
 * while other clients are served, SIGHUP in the middle of a transfer, a
 * broken config on SIGHUP, SIGTERM/SIGINT with and without relays, client
 * rules, max-clients, socket activation (and the shipped unit's reload
 * under it) and the built-in listens. Each
 * test runs its own daemon, stopped by PID in the test's teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BULK	(64u << 20)

static struct h_proc	echo, hold;
static uint16_t		echo_port, hold_port;
static struct h_gw	gw;		/* the daemon of the running test */
static char		conf[PATH_MAX];

static int
group_setup(void **state)
{
	(void)state;
	h_tmp(conf, sizeof(conf), "lifecycle.conf");
	if ((echo_port = h_tool_start(&echo, "tcpsrv", "-m", "echo",
	    NULL)) == 0 ||
	    (hold_port = h_tool_start(&hold, "tcpsrv", "-m", "hold",
	    NULL)) == 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	h_proc_stop(&echo);
	h_proc_stop(&hold);
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

/* Writes the test's config: loopback clients, then text. */
static void
write_conf(const char *text)
{
	assert_int_equal(h_write_file(conf, "client pass from 127.0.0.0/8\n"
	    "client pass from ::1\n%s", text), 0);
}

static void
start(void)
{
	if (h_gw_start(&gw, conf, NULL) != 0)
		fail_msg("gatewayd did not start");
}

static void
echo_ok(int fd, const char *text)
{
	char	buf[128];
	size_t	len = strlen(text);

	assert_int_equal(h_send_all(fd, text, len), 0);
	assert_int_equal(h_recv_n(fd, buf, len, H_IO_MS), (ssize_t)len);
	assert_memory_equal(buf, text, len);
}

/* Polls until a CONNECT to 127.0.0.1:port gets rep (bounded). */
static int
rep_becomes(struct h_gw *g, uint16_t port, int rep, int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;
	int	got;

	do {
		if ((got = h_socks_rep(g, "127.0.0.1", port)) == rep)
			return 1;
		h_sleep_ms(50);
	} while (h_now_ms() < end);
	printf("# reply %d, wanted %d\n", got, rep);
	return 0;
}

static void
test_handshake_timeout_drops_silent_clients(void **state)
{
	uint8_t	none = SOCKS5_METHOD_NONE;
	int	silent, partial, greeted, fd, rep;
	int64_t	t0, ms;

	(void)state;
	write_conf("timeout handshake 1\npass to any\n");
	start();
	t0 = h_now_ms();
	silent = h_connect("127.0.0.1", gw.port, H_IO_MS);
	partial = h_connect("127.0.0.1", gw.port, H_IO_MS);
	greeted = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(silent >= 0 && partial >= 0 && greeted >= 0);
	assert_int_equal(h_send_all(partial, "\x05", 1), 0);
	assert_int_equal(h_socks_greet(greeted, &none, 1), SOCKS5_METHOD_NONE);
	/* Meanwhile another client is served, the stalled ones still open. */
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "served while others stall");
	assert_false(h_wait_closed(silent, 0));
	assert_false(h_wait_closed(partial, 0));
	assert_false(h_wait_closed(greeted, 0));
	/* The whole negotiation and request must come within 1 s. */
	assert_true(h_wait_closed(silent, 4000));
	assert_true(h_wait_closed(partial, 4000));
	assert_true(h_wait_closed(greeted, 4000));
	ms = h_now_ms() - t0;
	printf("# stalled handshakes closed after %lld ms\n", (long long)ms);
	assert_true(ms >= 700);
	/* The served relay was not cut by that timer. */
	echo_ok(fd, "still relaying");
	close(fd);
	close(silent);
	close(partial);
	close(greeted);
}

struct reload {
	uint16_t	port;
	int		blocked;	/* new sessions got 0x02 after HUP */
	int		alive;
};

/* Runs when 16 MiB of the transfer went out: reload with a new rule. */
static void
reload_mid_transfer(void *arg)
{
	struct reload	*r = arg;
	char		 text[256];

	snprintf(text, sizeof(text), "block to 127.0.0.1 port %u\n"
	    "pass to any\n", r->port);
	if (h_write_file(conf, "client pass from 127.0.0.0/8\n%s", text) == 0 &&
	    h_gw_signal(&gw, SIGHUP) == 0)
		r->blocked = rep_becomes(&gw, r->port, SOCKS5_REP_NOT_ALLOWED,
		    5000);
	r->alive = h_proc_alive(&gw.proc);
}

static void
test_sighup_mid_transfer_loses_nothing_and_applies_new_rule(void **state)
{
	struct reload	r = { .port = echo_port };
	struct h_xfer	x = { .send_len = BULK, .send_seed = 77,
			      .timeout_ms = 90000, .pause_at = 16u << 20,
			      .pause = reload_mid_transfer, .arg = &r };
	int		fd, rep, n;

	(void)state;
	write_conf("pass to any\n");
	start();
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_xfer_run(fd, &x), 0);
	close(fd);
	assert_true(r.alive);
	assert_true(r.blocked);
	assert_int_equal(x.received, BULK);
	assert_memory_equal(x.sent_sha, x.recv_sha, 32);
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d after reload\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
}

static void
test_sighup_with_broken_config_keeps_old(void **state)
{
	char	text[128], where[PATH_MAX + 8];

	(void)state;
	snprintf(text, sizeof(text), "block to 127.0.0.1 port %u\n"
	    "pass to any\n", echo_port);
	write_conf(text);
	start();
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", echo_port),
	    SOCKS5_REP_NOT_ALLOWED);
	/* Line 3 is unknown, line 4 malformed: both reported, none applied. */
	write_conf("frobnicate\npass to 300.0.0.1\npass to any\n");
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	snprintf(where, sizeof(where), "%s:3:", conf);
	if (!h_log_wait(gw.log, where, 3000)) {
		h_log_dump(gw.log);
		fail_msg("no \"%s\" in the log after a bad reload", where);
	}
	snprintf(where, sizeof(where), "%s:4:", conf);
	assert_true(h_log_wait(gw.log, where, 1000));
	assert_true(h_proc_alive(&gw.proc));
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", echo_port),
	    SOCKS5_REP_NOT_ALLOWED);
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", hold_port),
	    SOCKS5_REP_SUCCEEDED);
	/* A good config after the bad one is taken. */
	write_conf("pass to any\n");
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_SUCCEEDED, 5000));
}

/*
 * -l replaces the config's listens; a reload of a config that names
 * none must not fall back to the built-in ones and drop ours.
 */
static void
test_sighup_keeps_command_line_listen(void **state)
{
	(void)state;
	write_conf("pass to any\n");
	start();
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(h_log_wait(gw.log, "reload", 3000));
	h_sleep_ms(300);
	assert_true(h_proc_alive(&gw.proc));
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_SUCCEEDED, 3000));
}

/* A listen directive changed on reload: the new address is served. */
static void
test_sighup_applies_new_listen(void **state)
{
	uint16_t	p2 = h_free_port("127.0.0.1");
	struct h_gw	moved;
	char		text[128];

	(void)state;
	gw.conf_listen = 1;
	gw.port = h_free_port("127.0.0.1");
	assert_int_not_equal(gw.port, 0);
	assert_int_not_equal(p2, 0);
	snprintf(text, sizeof(text), "listen 127.0.0.1:%u\npass to any\n",
	    gw.port);
	write_conf(text);
	start();
	snprintf(text, sizeof(text), "listen 127.0.0.1:%u\npass to any\n", p2);
	write_conf(text);
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	moved = gw;
	moved.port = p2;
	assert_true(rep_becomes(&moved, echo_port, SOCKS5_REP_SUCCEEDED,
	    3000));
	/* And the old address is closed. */
	int64_t end = h_now_ms() + 3000;
	int fd;
	while ((fd = h_connect("127.0.0.1", gw.port, 500)) != -1 &&
	    h_now_ms() < end) {
		close(fd);
		h_sleep_ms(50);
	}
	assert_int_equal(fd, -1);
}

/* Starts gw on a listen of its config; returns the port. */
static uint16_t
start_on_conf_listen(void)
{
	char	text[128];

	gw.conf_listen = 1;
	gw.port = h_free_port("127.0.0.1");
	assert_int_not_equal(gw.port, 0);
	snprintf(text, sizeof(text), "listen 127.0.0.1:%u\npass to any\n",
	    gw.port);
	write_conf(text);
	start();
	return gw.port;
}

/* After a refused reload the old listener still serves the old rules. */
static void
still_serves_old_config(void)
{
	h_sleep_ms(300);
	assert_true(h_proc_alive(&gw.proc));
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_SUCCEEDED, 3000));
}

/* A reload that would listen nowhere is refused; the old config stays. */
static void
test_sighup_refuses_config_without_listen(void **state)
{
	(void)state;
	start_on_conf_listen();
	write_conf("block to any\n");
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(h_log_wait(gw.log, "no listen address", 3000));
	assert_true(h_log_wait(gw.log, "configuration kept", 3000));
	still_serves_old_config();
}

/*
 * Its only listen cannot be opened (192.0.2.1 is no address of this
 * host): refused, and the old socket was never closed meanwhile.
 */
static void
test_sighup_refuses_listen_that_cannot_be_opened(void **state)
{
	char	text[128];

	(void)state;
	start_on_conf_listen();
	snprintf(text, sizeof(text), "listen 192.0.2.1:%u\nblock to any\n",
	    gw.port);
	write_conf(text);
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(h_log_wait(gw.log, "reload refused", 3000));
	assert_false(h_log_has(gw.log, "no longer listening"));
	still_serves_old_config();
}

/*
 * Its only listen is taken by another program: the old listener is
 * closed in case it was the one holding it, and opened again when that
 * does not help.
 */
static void
test_sighup_refuses_listen_in_use_and_listens_again(void **state)
{
	char	text[128];

	(void)state;
	start_on_conf_listen();
	snprintf(text, sizeof(text), "listen 127.0.0.1:%u\nblock to any\n",
	    hold_port);
	write_conf(text);
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(h_log_wait(gw.log, "reload refused", 3000));
	assert_true(h_log_has(gw.log, "again"));
	still_serves_old_config();
}

static void
exits_zero_on(int sig)
{
	int64_t	t0;

	write_conf("timeout shutdown 2\npass to any\n");
	start();
	t0 = h_now_ms();
	assert_int_equal(h_gw_signal(&gw, sig), 0);
	assert_int_equal(h_proc_wait(&gw.proc, 3000), 0);
	printf("# exit after %lld ms\n", (long long)(h_now_ms() - t0));
	assert_true(WIFEXITED(gw.proc.status));
	assert_int_equal(WEXITSTATUS(gw.proc.status), 0);
}

static void
test_sigterm_when_idle_exits_zero(void **state)
{
	(void)state;
	exits_zero_on(SIGTERM);
}

static void
test_sigint_when_idle_exits_zero(void **state)
{
	(void)state;
	exits_zero_on(SIGINT);
}

/*
 * With a relay open, SIGTERM stops accepting at once, waits for the
 * relay up to "timeout shutdown" (2 s) and still exits 0.
 */
static void
test_sigterm_with_open_relay_exits_zero_within_shutdown_timeout(void **state)
{
	int	fd, rep, probe = 0;
	int64_t	t0, ms;

	(void)state;
	write_conf("timeout shutdown 2\npass to any\n");
	start();
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", hold_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	t0 = h_now_ms();
	assert_int_equal(h_gw_signal(&gw, SIGTERM), 0);
	/* No new client once the signal was taken (bounded poll). */
	for (int i = 0; i < 40; i++) {
		if ((probe = h_connect("127.0.0.1", gw.port, 200)) == -1)
			break;
		close(probe);
		h_sleep_ms(25);
	}
	assert_int_equal(probe, -1);
	assert_int_equal(h_proc_wait(&gw.proc, 6000), 0);
	ms = h_now_ms() - t0;
	printf("# exit after %lld ms with a relay open\n", (long long)ms);
	assert_true(WIFEXITED(gw.proc.status));
	assert_int_equal(WEXITSTATUS(gw.proc.status), 0);
	assert_true(ms >= 1500);
	assert_true(ms < 4500);
	assert_true(h_wait_closed(fd, 2000));
	close(fd);
}

/* A relay that ends during the grace period lets the daemon exit early. */
static void
test_sigterm_exits_when_last_relay_ends(void **state)
{
	int	fd, rep;
	int64_t	t0, ms;

	(void)state;
	write_conf("timeout shutdown 10\npass to any\n");
	start();
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_gw_signal(&gw, SIGTERM), 0);
	h_sleep_ms(300);
	/* The relay still works during the grace period. */
	echo_ok(fd, "draining");
	t0 = h_now_ms();
	close(fd);
	assert_int_equal(h_proc_wait(&gw.proc, 5000), 0);
	ms = h_now_ms() - t0;
	printf("# exit %lld ms after the last relay ended\n", (long long)ms);
	assert_true(WIFEXITED(gw.proc.status));
	assert_int_equal(WEXITSTATUS(gw.proc.status), 0);
	assert_true(ms < 2000);
}

static void
test_client_rule_refuses_client(void **state)
{
	char	buf[4];
	int	fd;

	(void)state;
	/* Only ::1 may connect; we come from 127.0.0.1. */
	assert_int_equal(h_write_file(conf, "client pass from ::1\n"
	    "pass to any\n"), 0);
	start();
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	send(fd, "\x05\x01\x00", 3, MSG_NOSIGNAL);
	assert_true(h_recv_n(fd, buf, sizeof(buf), 2000) <= 0);
	close(fd);
	assert_true(h_log_line(gw.log, 3000, "client refused",
	    "client=127.0.0.1", "rule=", NULL));
	/* ::1 is admitted. */
	assert_int_equal(h_gw_stop(&gw), 0);
	memset(&gw, 0, sizeof(gw));
	gw.host = "::1";
	start();
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", echo_port),
	    SOCKS5_REP_SUCCEEDED);
}

/*
 * Beyond max-clients a client is refused at once with X'05FF' ("no
 * acceptable methods") and closed, without the gateway waiting for its
 * greeting (this one sends none, so nothing it sent can turn the close
 * into a reset).
 */
static void
test_max_clients_refuses_extra_client(void **state)
{
	uint8_t	buf[4];
	int	a, b, c, rep;

	(void)state;
	write_conf("max-clients 2\npass to any\n");
	start();
	a = h_socks_open(&gw, NULL, NULL, "127.0.0.1", hold_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	b = h_socks_open(&gw, NULL, NULL, "127.0.0.1", hold_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	c = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(c >= 0);
	assert_int_equal(h_recv_n(c, buf, sizeof(buf), 3000), 2);
	assert_int_equal(buf[0], 0x05);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(recv(c, buf, 1, MSG_DONTWAIT), 0);	/* EOF */
	close(c);
	assert_true(h_log_wait(gw.log, "max-clients reached", 3000));
	close(a);
	/* Once one ended, there is room again. */
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_SUCCEEDED, 3000));
	close(b);
}

/* A TCP connection to 127.0.0.1:port from the source address src. */
static int
connect_from(const char *src, uint16_t port)
{
	struct sockaddr_in	sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, src, &sin.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr), 1);
	sin.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/*
 * The client rules come before max-clients: a client they refuse is
 * logged as refused by its rule even while the gateway is full.
 */
static void
test_client_rules_before_max_clients(void **state)
{
	char	buf[4];
	int	a, c, rep;

	(void)state;
	assert_int_equal(h_write_file(conf, "client block from 127.0.0.2\n"
	    "client pass from 127.0.0.0/8\nmax-clients 1\npass to any\n"),
	    0);
	start();
	a = h_socks_open(&gw, NULL, NULL, "127.0.0.1", hold_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	c = connect_from("127.0.0.2", gw.port);
	assert_true(h_recv_n(c, buf, sizeof(buf), 2000) <= 0);
	close(c);
	assert_true(h_log_line(gw.log, 3000, "client refused",
	    "client=127.0.0.2:", "rule=1", NULL));
	assert_false(h_log_has(gw.log, "max-clients reached"));
	close(a);
}

static void
test_socket_activation(void **state)
{
	int	fd, rep;

	(void)state;
	gw.activate = 1;
	write_conf("pass to any\n");
	start();
	assert_true(h_log_wait(gw.log, "from systemd", 2000));
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "socket activated");
	close(fd);
}

/*
 * Runs the gatewayd command of the shipped unit's ExecReload= line
 * (conf/gatewayd.service) on config path: its exit code, or -1.
 */
static int
unit_reload_check(const char *path)
{
	char	 unit[PATH_MAX], bin[PATH_MAX], *text, *line, *save = NULL;
	char	*argv[16], *w, *wsave;
	int	 n = 0, rc = -1;

	h_srcpath(unit, sizeof(unit), "conf/gatewayd.service");
	assert_non_null(text = h_read_file(unit, NULL));
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "ExecReload=@sbindir@/gatewayd ", 30) == 0)
			break;
	assert_non_null(line);
	for (w = strtok_r(line + 11, " ", &wsave); w != NULL && n < 15;
	    w = strtok_r(NULL, " ", &wsave)) {
		if (strcmp(w, "@sbindir@/gatewayd") == 0)
			w = h_bin(bin, sizeof(bin), "gatewayd");
		else if (strcmp(w, "@sysconfdir@/socks64/gatewayd.conf") == 0)
			w = (char *)path;
		else if (w[0] == '@')
			fail_msg("ExecReload: unexpected '%s'", w);
		argv[n++] = w;
	}
	argv[n] = NULL;
	printf("# ExecReload check:");
	for (int i = 0; i < n; i++)
		printf(" %s", argv[i]);
	printf("\n");
	assert_true(n > 1);
	rc = h_run(argv, NULL, NULL, 10000);
	free(text);
	return rc;
}

/*
 * systemctl reload of the shipped unit under gatewayd.socket: its
 * ExecReload check passes a config without "listen" (correct there, the
 * sockets being systemd's), and the socket-activated daemon then takes
 * the new config on SIGHUP. A config with an error still fails it.
 */
static void
test_socket_activation_unit_reload(void **state)
{
	int	fd, rep;

	(void)state;
	gw.activate = 1;
	write_conf("pass to any\n");
	start();
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	write_conf("block to 127.0.0.1\npass to any\n");
	assert_int_equal(unit_reload_check(conf), 0);
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_NOT_ALLOWED, 3000));
	assert_false(h_log_has(gw.log, "reload failed"));
	/* The relay from before the reload carries on. */
	echo_ok(fd, "across the reload");
	close(fd);
	write_conf("pass to any\nmax-clients none\n");
	assert_int_equal(unit_reload_check(conf), 1);
}

/* No -c, no -l: 127.0.0.1:1080 and [::1]:1080, only in our namespace. */
static void
test_builtin_listens_without_config(void **state)
{
	struct h_gw	v6;
	int		fd, rep;

	(void)state;
	if (!h_isolated())
		skip();
	gw.default_listen = 1;
	if (h_gw_start(&gw, NULL, NULL) != 0)
		fail_msg("gatewayd did not start with built-in listens");
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "default ipv4 listen");
	close(fd);
	v6 = gw;
	v6.host = "::1";
	fd = h_socks_open(&v6, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "default ipv6 listen");
	close(fd);
}

/*
 * Out of descriptors, the daemon pauses accepting instead of spinning on
 * EMFILE, a relay already running carries on, and once descriptors are
 * free again new clients are served.
 */
static void
test_emfile_backs_off_without_spinning(void **state)
{
	enum { FLOOD = 48 };
	int	flood[FLOOD], fd, rep, n = 0;
	long	t0, t1;

	(void)state;
	write_conf("pass to any\n");
	gw.nofile = 32;
	start();
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	/* The kernel completes these handshakes; the daemon cannot take all. */
	while (n < FLOOD &&
	    (flood[n] = h_connect("127.0.0.1", gw.port, 1000)) != -1)
		n++;
	printf("# %d idle clients connected against a limit of 32 fds\n", n);
	h_sleep_ms(300);
	t0 = h_cpu_ticks(gw.proc.pid);
	h_sleep_ms(1000);
	t1 = h_cpu_ticks(gw.proc.pid);
	printf("# cpu over 1 s at EMFILE: %ld ticks (log %s a pause)\n",
	    t1 - t0, h_log_has(gw.log, "paus") ? "reports" : "shows no");
	assert_true(t0 >= 0 && t1 >= 0);
	assert_true(t1 - t0 < 30);
	assert_true(h_proc_alive(&gw.proc));
	echo_ok(fd, "a relay survives EMFILE");
	while (n > 0)
		close(flood[--n]);
	assert_true(rep_becomes(&gw, echo_port, SOCKS5_REP_SUCCEEDED, 5000));
	echo_ok(fd, "and still relays");
	close(fd);
}

/* -d is debug logging and implies -f: the PID we started serves. */
static void
test_debug_flag_implies_foreground(void **state)
{
	int	fd, rep;

	(void)state;
	if (!h_isolated())
		skip();		/* a daemon that forks away is found only there */
	write_conf("pass to any\n");
	gw.no_foreground = 1;
	if (h_gw_start(&gw, conf, "-d", NULL) != 0)
		fail_msg("gatewayd -d did not stay in the foreground");
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "debug");
	close(fd);
}

static void
link_is(pid_t pid, const char *name, const char *want)
{
	char	path[128], got[PATH_MAX];
	ssize_t	n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	n = readlink(path, got, sizeof(got) - 1);
	assert_true(n > 0);
	got[n] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("%s -> %s, want %s", path, got, want);
}

/*
 * Without -f (and without NOTIFY_SOCKET) the daemon detaches: the PID we
 * started exits 0, and a process in a session of its own, in /, with
 * stdio on /dev/null, serves the port. We are its subreaper, so it is
 * reaped here after SIGTERM.
 */
static void
test_daemonises_without_foreground_flag(void **state)
{
	char		 bin[PATH_MAX], ep[64];
	char		*argv[] = { bin, "-c", conf, "-l", ep, NULL };
	struct h_gw	 d;
	pid_t		 pid = 0;
	int64_t		 end;
	int		 st = 0;

	(void)state;
	if (!h_isolated())
		skip();
	/* Its stderr is /dev/null then; "log stderr" keeps syslog clean. */
	write_conf("log stderr\npass to any\n");
	memset(&d, 0, sizeof(d));
	d.port = h_free_port("127.0.0.1");
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", d.port);
	h_bin(bin, sizeof(bin), "gatewayd");
	assert_int_equal(h_run(argv, NULL, NULL, 5000), 0);
	for (end = h_now_ms() + 3000; pid == 0 && h_now_ms() < end; )
		if ((pid = h_listener_pid(d.port)) == 0)
			h_sleep_ms(20);
	assert_true(pid > 0);
	assert_int_equal(getsid(pid), pid);
	link_is(pid, "cwd", "/");
	link_is(pid, "fd/0", "/dev/null");
	link_is(pid, "fd/1", "/dev/null");
	link_is(pid, "fd/2", "/dev/null");
	assert_int_equal(h_socks_rep(&d, "127.0.0.1", echo_port),
	    SOCKS5_REP_SUCCEEDED);
	assert_int_equal(kill(pid, SIGTERM), 0);
	for (end = h_now_ms() + 5000; h_now_ms() < end; h_sleep_ms(10))
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* As root with "user NAME": binds first, then serves as NAME. */
static void
test_drops_privileges_to_configured_user(void **state)
{
	struct passwd	*pw;
	char		 path[64], *status, want[64];
	int		 fd, rep;

	(void)state;
	if (getuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		skip();
	write_conf("user nobody\npass to any\n");
	start();
	snprintf(path, sizeof(path), "/proc/%d/status", (int)gw.proc.pid);
	status = h_read_file(path, NULL);
	assert_non_null(status);
	snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n",
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid,
	    (unsigned)pw->pw_uid);
	if (strstr(status, want) == NULL)
		fail_msg("gatewayd still runs as %s", strstr(status, "Uid:"));
	free(status);
	fd = h_socks_open(&gw, NULL, NULL, "127.0.0.1", echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "as nobody");
	close(fd);
	assert_true(h_log_has(gw.log, "running as user nobody"));
	assert_false(h_log_has(gw.log, "running as root"));
}

/* Root without "user" keeps root, and the log says so. */
static void
test_root_without_user_warns(void **state)
{
	(void)state;
	if (getuid() != 0)
		skip();
	write_conf("pass to any\n");
	start();
	assert_true(h_log_wait(gw.log, "running as root", 3000));
}

/* "user root" would drop nothing: refused at start. */
static void
test_user_root_is_refused(void **state)
{
	char	 bin[PATH_MAX], ep[64];
	char	*argv[] = { bin, "-f", "-c", conf, "-l", ep, NULL };
	char	 log[PATH_MAX];

	(void)state;
	if (getuid() != 0)
		skip();
	write_conf("user root\npass to any\n");
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", h_free_port("127.0.0.1"));
	h_bin(bin, sizeof(bin), "gatewayd");
	h_tmp(log, sizeof(log), "user-root.log");
	assert_int_equal(h_run(argv, log, log, 5000), 1);
	assert_true(h_log_has(log, "nothing would be dropped"));
}

/* Reads notify datagrams until one holds want (bounded): 1 or 0. */
static int
notified(int fd, const char *want, int timeout_ms)
{
	int64_t		end = h_now_ms() + timeout_ms;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		msg[1024];
	ssize_t		n;

	for (;;) {
		int64_t left = end - h_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return 0;
		if ((n = recv(fd, msg, sizeof(msg) - 1, 0)) <= 0)
			continue;
		msg[n] = '\0';
		if (strstr(msg, want) != NULL)
			return 1;
	}
}

/*
 * Under systemd (NOTIFY_SOCKET set) the daemon stays in the foreground
 * without -f and reports READY=1, RELOADING=1 and STOPPING=1.
 */
static void
test_sd_notify_protocol(void **state)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	char			path[PATH_MAX], var[PATH_MAX + 16];
	int			fd, rep;

	(void)state;
	h_tmp(path, sizeof(path), "notify.sock");
	if (strlen(path) >= sizeof(sun.sun_path))
		skip();
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	snprintf(var, sizeof(var), "NOTIFY_SOCKET=%s", path);
	write_conf("log stderr\npass to any\n");
	gw.no_foreground = 1;
	gw.env[0] = var;
	start();
	assert_true(notified(fd, "READY=1", 3000));
	assert_true(h_proc_alive(&gw.proc));
	rep = h_socks_rep(&gw, "127.0.0.1", echo_port);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_gw_signal(&gw, SIGHUP), 0);
	assert_true(notified(fd, "RELOADING=1", 3000));
	assert_true(notified(fd, "READY=1", 3000));
	assert_int_equal(h_gw_signal(&gw, SIGTERM), 0);
	assert_true(notified(fd, "STOPPING=1", 3000));
	assert_int_equal(h_proc_wait(&gw.proc, 3000), 0);
	assert_true(WIFEXITED(gw.proc.status));
	assert_int_equal(WEXITSTATUS(gw.proc.status), 0);
	close(fd);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_handshake_timeout_drops_silent_clients),
		T(test_sighup_mid_transfer_loses_nothing_and_applies_new_rule),
		T(test_sighup_with_broken_config_keeps_old),
		T(test_sighup_keeps_command_line_listen),
		T(test_sighup_applies_new_listen),
		T(test_sighup_refuses_config_without_listen),
		T(test_sighup_refuses_listen_that_cannot_be_opened),
		T(test_sighup_refuses_listen_in_use_and_listens_again),
		T(test_sigterm_when_idle_exits_zero),
		T(test_sigint_when_idle_exits_zero),
		T(test_sigterm_with_open_relay_exits_zero_within_shutdown_timeout),
		T(test_sigterm_exits_when_last_relay_ends),
		T(test_client_rule_refuses_client),
		T(test_max_clients_refuses_extra_client),
		T(test_client_rules_before_max_clients),
		T(test_socket_activation),
		T(test_socket_activation_unit_reload),
		T(test_builtin_listens_without_config),
		T(test_sd_notify_protocol),
		T(test_emfile_backs_off_without_spinning),
		T(test_debug_flag_implies_foreground),
		T(test_daemonises_without_foreground_flag),
		T(test_drops_privileges_to_configured_user),
		T(test_root_without_user_warns),
		T(test_user_root_is_refused),
	};

	h_init();
	return cmocka_run_group_tests_name("it_lifecycle", tests, group_setup,
	    group_teardown);
}
