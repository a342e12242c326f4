/*
 * it_hostile.c - the real gatewayd against hostile clients (issue 6): a
 * thousand connections that never speak, clients that drip one byte at
 * a time, garbage, oversize fields, and a reset at every step of the
 * handshake. After each test the daemon must hold no more descriptors
 * and threads than it had once ready. Each test runs its own daemon,
 * stopped by PID in the teardown (which fails the test on a non-zero
 * exit or a sanitizer report). Faults and load: it_hostile_faults.c;
 * the security promises: it_hostile_security.c.
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
/* many idle clients                                                  */

/*
 * A thousand connections that never send a byte must neither starve a
 * correct client (one thread each, none of them busy) nor stay: each is
 * closed when its handshake timeout (3 s) runs out, not before. Under
 * a sanitizer, creating a thousand threads takes longer than that (some
 * 5 s under TSan), so the timeout is scaled as the other bounds are.
 */
static void
test_thousand_silent_connections(void **state)
{
	enum { SILENT = 1000 };
	const int	 TIMEOUT_MS = hh_ms(3000);
	static int	 fd[SILENT];
	static int64_t	 closed_at[SILENT];
	struct pollfd	*pfd;
	int64_t		 t0, t1, end, first = 0, last = 0, ms;
	int		 n, open, i, j, *idx;

	(void)state;
	hh_write_conf("timeout handshake %d\nmax-clients 1100\npass to any\n",
	    TIMEOUT_MS / 1000);
	hh_start();
	t0 = h_now_ms();
	n = hh_connect_many("127.0.0.1", hh.gw.port, fd, SILENT, hh_ms(10000));
	t1 = h_now_ms();
	for (i = 0; i < SILENT; i++)
		hh_own(fd[i]);
	printf("# %d silent connections made in %lld ms\n", n,
	    (long long)(t1 - t0));
	assert_int_equal(n, SILENT);
	/* Every one of them is a session by now (bounded wait). */
	for (end = h_now_ms() + hh_ms(5000); h_now_ms() < end;
	    h_sleep_ms(20))
		if (h_fd_count(hh.gw.proc.pid) >= hh.gw.fd_base + SILENT)
			break;
	printf("# gatewayd: %d fds, %d threads with the silent ones\n",
	    h_fd_count(hh.gw.proc.pid), hh_task_count(hh.gw.proc.pid));
	assert_true(h_fd_count(hh.gw.proc.pid) >= hh.gw.fd_base + SILENT);
	ms = hh_served_now();
	printf("# a correct client served in %lld ms meanwhile\n",
	    (long long)ms);
	assert_true(ms < hh_ms(1000));
	/* None closed before its time (we are still well inside it). */
	if (h_now_ms() < t0 + TIMEOUT_MS - 500)
		for (i = 0; i < SILENT; i++)
			if (!hh_peer_open(fd[i]))
				fail_msg("silent connection %d closed after "
				    "%lld ms", i, (long long)(h_now_ms() - t0));
	/* Then watch them all go, noting when each did. */
	pfd = calloc(SILENT, sizeof(*pfd));
	idx = calloc(SILENT, sizeof(*idx));
	assert_non_null(pfd);
	assert_non_null(idx);
	open = SILENT;
	for (i = 0; i < SILENT; i++)
		idx[i] = i;
	end = t1 + TIMEOUT_MS + hh_ms(4000);
	while (open > 0 && h_now_ms() < end) {
		for (j = 0; j < open; j++) {
			pfd[j].fd = fd[idx[j]];
			pfd[j].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)open, 100) <= 0)
			continue;
		for (j = 0; j < open; ) {
			if (pfd[j].revents == 0 || hh_peer_open(pfd[j].fd)) {
				j++;
				continue;
			}
			closed_at[idx[j]] = h_now_ms();
			idx[j] = idx[--open];
			pfd[j] = pfd[open];
		}
	}
	free(pfd);
	free(idx);
	printf("# %d of %d still open at the deadline\n", open, SILENT);
	assert_int_equal(open, 0);
	for (i = 0; i < SILENT; i++) {
		if (first == 0 || closed_at[i] < first)
			first = closed_at[i];
		if (closed_at[i] > last)
			last = closed_at[i];
	}
	printf("# closed between %lld and %lld ms after the first connect\n",
	    (long long)(first - t0), (long long)(last - t0));
	assert_true(first - t0 >= TIMEOUT_MS - 300);
	assert_true(last - t1 <= TIMEOUT_MS + hh_ms(2500));
	for (i = 0; i < SILENT; i++)
		hh_disown(fd[i], 0);
	assert_true(h_log_wait(hh.gw.log, "handshake timeout", 2000));
	for (end = h_now_ms() + 3000; h_now_ms() < end; h_sleep_ms(50))
		if (h_log_count(hh.gw.log, "handshake timeout") >= SILENT)
			break;
	assert_int_equal(h_log_count(hh.gw.log, "error=\"handshake timeout\""),
	    SILENT);
	hh_assert_settled();
}

/* ---------------------------------------------------------------- */
/* slow clients                                                       */

/* Sends buf one byte per segment, a pause between them. */
static void
drip(int fd, const uint8_t *buf, size_t len, int pause_ms)
{
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(send(fd, buf + i, 1, MSG_NOSIGNAL), 1);
		if (pause_ms > 0)
			h_sleep_ms(pause_ms);
	}
}

/*
 * Greeting, RFC 1929 login, request and payload, every byte its own
 * segment: each parser must wait for the rest, none may take a partial
 * message for a whole one or a wrong one.
 */
static void
test_one_byte_at_a_time_through_login_and_relay(void **state)
{
	struct socks5_addr	dst;
	uint8_t			msg[1024], got[64];
	const char		*target = h_names() ? H_NAME_V4 : "127.0.0.1";
	size_t			n = 0;
	int			fd, len, one = 1;
	char			who[64];

	(void)state;
	hh_write_conf("auth password none\nusers-file %s\npass to any\n",
	    hh.users);
	hh_start();
	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Offers both: the daemon must pick username/password. */
	len = socks5_encode_greeting(msg + n, sizeof(msg) - n,
	    (const uint8_t[]){ SOCKS5_METHOD_NONE, SOCKS5_METHOD_USERPASS }, 2);
	n += (size_t)len;
	len = socks5_encode_userpass(msg + n, sizeof(msg) - n, HH_USER,
	    HH_PASS);
	n += (size_t)len;
	h_dst(&dst, target, hh.echo_port);
	len = socks5_encode_request(msg + n, sizeof(msg) - n,
	    SOCKS5_CMD_CONNECT, &dst);
	n += (size_t)len;
	drip(fd, msg, 2, 3);
	drip(fd, msg + 2, 2, 3);
	assert_int_equal(h_recv_n(fd, got, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(got[1], SOCKS5_METHOD_USERPASS);
	drip(fd, msg + 4, n - 4, 2);
	assert_int_equal(h_recv_n(fd, got, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(got[1], 0);		/* logged in */
	assert_int_equal(h_recv_n(fd, got, 10, hh_ms(H_IO_MS)), 10);
	assert_int_equal(got[1], SOCKS5_REP_SUCCEEDED);
	/* The relay, a byte at a time as well. */
	drip(fd, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, 1);
	assert_int_equal(h_recv_n(fd, got, 32, hh_ms(H_IO_MS)), 32);
	assert_memory_equal(got, "0123456789abcdef0123456789abcdef", 32);
	shutdown(fd, SHUT_WR);
	assert_true(h_wait_closed(fd, hh_ms(H_IO_MS)));
	hh_disown(fd, 0);
	snprintf(who, sizeof(who), "user=%s", HH_USER);
	assert_true(h_log_line(hh.gw.log, 3000, who, "rep=0", "up=32 ",
	    "down=32 ", NULL));
	hh_assert_settled();
}

/*
 * A client that keeps sending, one byte every 50 ms, cannot stretch the
 * handshake: the whole negotiation must arrive within "timeout
 * handshake", however steadily bytes trickle in.
 */
static void
test_slow_drip_cannot_outlast_handshake_timeout(void **state)
{
	uint8_t	msg[300];
	size_t	n = 0, i;
	int64_t	t0, ms = -1;
	int	fd, one = 1;

	(void)state;
	hh_write_conf("timeout handshake 2\npass to any\n");
	hh_start();
	/* Greeting, then a request for a 250-byte name: 12 s at this pace. */
	msg[n++] = 5; msg[n++] = 1; msg[n++] = 0;
	msg[n++] = 5; msg[n++] = 1; msg[n++] = 0; msg[n++] = 3;
	msg[n++] = 250;
	for (i = 0; i < 250; i++)
		msg[n++] = (uint8_t)(i % 50 == 49 ? '.' : 'a');
	msg[n++] = 0; msg[n++] = 80;
	t0 = h_now_ms();
	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < n && h_now_ms() - t0 < hh_ms(8000); i++) {
		if (send(fd, msg + i, 1, MSG_NOSIGNAL) != 1 ||
		    (i >= 3 && !hh_peer_open(fd))) {
			ms = h_now_ms() - t0;
			break;
		}
		h_sleep_ms(50);
	}
	printf("# dripping client cut off after %lld ms, %zu bytes\n",
	    (long long)ms, i);
	assert_true(ms >= 1700);
	assert_true(ms <= 2000 + hh_ms(1500));
	hh_disown(fd, 0);
	assert_true(h_log_wait(hh.gw.log, "error=\"handshake timeout\"", 3000));
	hh_assert_settled();
}

/* ---------------------------------------------------------------- */
/* garbage and oversize input                                         */

/*
 * Sends msg on a fresh connection and reads until the daemon closes it
 * (bounded): returns what came back, its length in *got.
 */
static void
exchange(const void *msg, size_t len, uint8_t *reply, size_t cap,
    size_t *got)
{
	int64_t		end = h_now_ms() + hh_ms(4000);
	struct pollfd	pfd;
	ssize_t		n;
	int		fd;

	*got = 0;
	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_true(fd >= 0);
	if (len > 0)
		assert_int_equal(h_send_all(fd, msg, len), 0);
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		int64_t left = end - h_now_ms();
		if (left <= 0)
			fail_msg("the daemon neither answered nor closed");
		if (poll(&pfd, 1, (int)left) != 1)
			continue;
		n = recv(fd, reply + *got, cap - *got, MSG_DONTWAIT);
		if (n > 0 && *got + (size_t)n < cap) {
			*got += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		break;	/* EOF, reset, or more than expected */
	}
	hh_disown(fd, 0);
}

struct garbage_case {
	const char	*what;
	const char	*msg;
	size_t		 len;
	const char	*reply;	/* exactly this back, then closed */
	size_t		 replylen;
};

#define GC(what, msg, reply) \
	{ what, msg, sizeof(msg) - 1, reply, sizeof(reply) - 1 }

#define NONE_OK		"\x05\x00"
#define FAIL_REPLY(c)	"\x05" c "\x00\x01\x00\x00\x00\x00\x00\x00"

static const struct garbage_case garbage_cases[] = {
	GC("HTTP request", "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n", ""),
	GC("HTTP CONNECT", "CONNECT example.org:443 HTTP/1.1\r\n\r\n", ""),
	GC("SOCKS4 request", "\x04\x01\x00\x50\x7f\x00\x00\x01user\x00", ""),
	GC("SOCKS4a request", "\x04\x01\x00\x50\x00\x00\x00\x01\x00x.org\x00",
	    ""),
	GC("TLS ClientHello", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	    ""),
	GC("no methods", "\x05\x00", "\x05\xff"),
	GC("only unknown methods", "\x05\x03\x80\x81\xfe", "\x05\xff"),
	GC("GSSAPI only", "\x05\x01\x01", "\x05\xff"),
	GC("request of version 4", "\x05\x01\x00" "\x04\x01\x00\x01"
	    "\x7f\x00\x00\x01\x00\x50", NONE_OK),
	GC("unknown command", "\x05\x01\x00" "\x05\x09\x00\x01"
	    "\x7f\x00\x00\x01\x00\x50", NONE_OK FAIL_REPLY("\x07")),
	GC("unknown address type", "\x05\x01\x00" "\x05\x01\x00\x02"
	    "\x7f\x00\x00\x01\x00\x50", NONE_OK FAIL_REPLY("\x08")),
	GC("reserved byte set", "\x05\x01\x00" "\x05\x01\xff\x01"
	    "\x7f\x00\x00\x01\x00\x50", NONE_OK FAIL_REPLY("\x01")),
	GC("empty name", "\x05\x01\x00" "\x05\x01\x00\x03\x00\x00\x50",
	    NONE_OK FAIL_REPLY("\x01")),
	GC("name with NUL", "\x05\x01\x00" "\x05\x01\x00\x03\x0b"
	    "localhost\x00x\x00\x50", NONE_OK FAIL_REPLY("\x01")),
	GC("name with newline", "\x05\x01\x00" "\x05\x01\x00\x03\x0b"
	    "localhost\nx\x00\x50", NONE_OK FAIL_REPLY("\x01")),
	GC("request, then garbage", "\x05\x01\x00" "\x05\xff\xff\xff\xff\xff"
	    "\xff\xff\xff\xff", NONE_OK FAIL_REPLY("\x07")),
};

/*
 * Fixed garbage gets the answer RFC 1928 prescribes (or none) and a
 * closed connection; then two hundred connections of seeded random bytes
 * at once, half of them behind a valid version byte so they reach the
 * deeper parsers. Each must be closed (at the latest at the handshake
 * timeout); the daemon survives and still serves.
 */
static void
test_garbage_is_refused_and_closed(void **state)
{
	enum { RANDOM = 200 };
	static int	fd[RANDOM];
	uint8_t		reply[64], junk[700];
	uint64_t	seed = 6;
	size_t		i, got, len;
	int64_t		end;
	int		open;

	(void)state;
	hh_write_conf("timeout handshake 2\npass to any\n");
	hh_start();
	for (i = 0; i < sizeof(garbage_cases) / sizeof(garbage_cases[0]);
	    i++) {
		const struct garbage_case *c = &garbage_cases[i];

		exchange(c->msg, c->len, reply, sizeof(reply), &got);
		if (got != c->replylen ||
		    memcmp(reply, c->reply, got) != 0) {
			printf("# %s: got %zu bytes:", c->what, got);
			for (size_t k = 0; k < got; k++)
				printf(" %02x", reply[k]);
			printf("\n");
			fail_msg("%s: not the reply RFC 1928 prescribes",
			    c->what);
		}
	}
	assert_true(h_log_wait(hh.gw.log, "not SOCKS version 5", 2000));
	assert_true(h_log_wait(hh.gw.log, "bad name", 2000));
	for (i = 0; i < RANDOM; i++) {
		fd[i] = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
		assert_true(fd[i] >= 0);
		len = 1 + hh_rand(&seed) % sizeof(junk);
		for (size_t k = 0; k < len; k++)
			junk[k] = (uint8_t)hh_rand(&seed);
		if (i % 2 == 0)
			junk[0] = 5;
		assert_int_equal(h_send_all(fd[i], junk, len), 0);
	}
	for (end = h_now_ms() + 2000 + hh_ms(3000); h_now_ms() < end;
	    h_sleep_ms(50)) {
		for (i = 0, open = 0; i < RANDOM; i++)
			open += hh_peer_open(fd[i]);
		if (open == 0)
			break;
	}
	for (i = 0, open = 0; i < RANDOM; i++)
		open += hh_peer_open(fd[i]);
	printf("# random garbage: %d of %d connections still open\n", open,
	    RANDOM);
	assert_int_equal(open, 0);
	for (i = 0; i < RANDOM; i++)
		hh_disown(fd[i], 0);
	assert_true(hh_served_now() < hh_ms(1000));
	hh_assert_settled();
}

/*
 * The longest fields the wire allows: 255 methods, a 255-byte user name
 * and password, a 255-byte name and a 64-byte label (longer than DNS
 * allows, so no resolver may get it right); a name that announces 255
 * bytes and sends fewer; and a user name built to forge a log line.
 */
static void
test_oversize_fields(void **state)
{
	uint8_t		msg[1024], reply[64];
	char		name[256], user[256], pass[256];
	size_t		n, got;
	int		fd, i;

	(void)state;
	hh_write_conf("timeout handshake 2\nauth password none\nusers-file %s\n"
	    "pass to any\n", hh.users);
	hh_start();
	/* 255 methods, every value but 0xff, "no authentication" among them. */
	msg[0] = 5;
	msg[1] = 255;
	for (i = 0; i < 255; i++)
		msg[2 + i] = (uint8_t)(254 - i);
	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_int_equal(h_send_all(fd, msg, 257), 0);
	assert_int_equal(h_recv_n(fd, reply, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(reply[1], SOCKS5_METHOD_USERPASS);
	/* 255-byte user and password: a plain failure, nothing worse. */
	memset(user, 'u', 255);
	user[255] = '\0';
	memset(pass, 'p', 255);
	pass[255] = '\0';
	assert_int_equal(h_socks_userpass(fd, user, pass), 1);
	assert_true(h_wait_closed(fd, hh_ms(H_IO_MS)));
	hh_disown(fd, 0);
	/* A name of 255 bytes and one with a 64-byte label: no host. */
	if (h_names()) {
		for (i = 0; i < 255; i++)
			name[i] = i % 64 == 63 ? '.' : 'n';
		n = hh_name_request(msg, name, 255, hh.echo_port);
		exchange(msg, n, reply, sizeof(reply), &got);
		assert_int_equal(got, 12);
		assert_int_equal(reply[3], SOCKS5_REP_HOST_UNREACHABLE);
		memset(name, 'l', 64);
		memcpy(name + 64, ".test", 5);
		n = hh_name_request(msg, name, 69, hh.echo_port);
		exchange(msg, n, reply, sizeof(reply), &got);
		assert_int_equal(got, 12);
		assert_int_not_equal(reply[3], SOCKS5_REP_SUCCEEDED);
	}
	/* 255 announced, 100 sent: waits, then the handshake timeout. */
	memset(name, 'a', 255);
	n = hh_name_request(msg, name, 255, hh.echo_port);
	exchange(msg, 3 + 5 + 100, reply, sizeof(reply), &got);
	assert_int_equal(got, 2);		/* only the method choice */
	/* A forged line in a user name stays inside the real one. */
	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_int_equal(h_socks_greet(fd, (const uint8_t[]){
	    SOCKS5_METHOD_USERPASS }, 1), SOCKS5_METHOD_USERPASS);
	assert_int_equal(h_socks_userpass(fd, "x\nFORGED session=1 user=root",
	    "pw"), 1);
	hh_disown(fd, 0);
	assert_true(h_log_wait(hh.gw.log, "FORGED", 3000));
	{
		char	*log = h_read_file(hh.gw.log, NULL);
		assert_non_null(log);
		if (strstr(log, "\nFORGED") != NULL) {
			h_log_dump(hh.gw.log);
			fail_msg("a user name started a line of its own");
		}
		free(log);
	}
	/* No password ever reaches the log. */
	assert_false(h_log_has(hh.gw.log, "ppppppppppppppppp"));
	assert_true(hh_served_now() < hh_ms(1000));
	hh_assert_settled();
}

/* ---------------------------------------------------------------- */
/* resets                                                             */

enum reset_at {
	R_CONNECTED,		/* nothing sent */
	R_HALF_GREETING,
	R_GREETING_SENT,	/* before the method choice is read */
	R_METHOD_READ,
	R_HALF_LOGIN,
	R_LOGIN_SENT,		/* before the status is read */
	R_LOGGED_IN,
	R_HALF_REQUEST,
	R_DIALING,		/* for a destination that never answers */
	R_REQUEST_SENT,		/* before the reply is read */
	R_RELAY_UP,		/* relaying, our bytes on their way */
	R_RELAY_DOWN,		/* relaying, the echo unread by us */
	R_STEPS
};

static const char *const reset_names[R_STEPS] = {
	"connected", "half greeting", "greeting sent", "method read",
	"half login", "login sent", "logged in", "half request",
	"while dialing", "request sent", "relaying up", "relaying down",
};

/* Walks the handshake up to step, then resets the connection. */
static void
reset_at(enum reset_at step, uint16_t silent_port)
{
	struct socks5_addr	dst;
	uint8_t			greet[4] = { 5, 2, SOCKS5_METHOD_NONE,
				    SOCKS5_METHOD_USERPASS };
	uint8_t			login[600], req[300], buf[65536];
	int			fd, llen, rlen;
	uint16_t		port = step == R_DIALING ? silent_port :
				    step == R_RELAY_UP ? hh.hold_port :
				    hh.echo_port;

	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_true(fd >= 0);
	llen = socks5_encode_userpass(login, sizeof(login), HH_USER, HH_PASS);
	h_dst(&dst, "127.0.0.1", port);
	rlen = socks5_encode_request(req, sizeof(req), SOCKS5_CMD_CONNECT,
	    &dst);
	if (step == R_CONNECTED)
		goto reset;
	assert_int_equal(h_send_all(fd, greet, step == R_HALF_GREETING ? 2 :
	    4), 0);
	if (step <= R_GREETING_SENT)
		goto reset;
	assert_int_equal(h_recv_n(fd, buf, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(buf[1], SOCKS5_METHOD_USERPASS);
	if (step == R_METHOD_READ)
		goto reset;
	assert_int_equal(h_send_all(fd, login, step == R_HALF_LOGIN ? 7 :
	    (size_t)llen), 0);
	if (step <= R_LOGIN_SENT)
		goto reset;
	assert_int_equal(h_recv_n(fd, buf, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(buf[1], 0);
	if (step == R_LOGGED_IN)
		goto reset;
	assert_int_equal(h_send_all(fd, req, step == R_HALF_REQUEST ? 5 :
	    (size_t)rlen), 0);
	if (step <= R_REQUEST_SENT) {
		if (step == R_DIALING)
			h_sleep_ms(100);	/* the dial has begun */
		goto reset;
	}
	assert_int_equal(h_recv_n(fd, buf, 10, hh_ms(H_IO_MS)), 10);
	assert_int_equal(buf[1], SOCKS5_REP_SUCCEEDED);
	memset(buf, 'r', sizeof(buf));
	assert_int_equal(h_send_all(fd, buf, sizeof(buf)), 0);
	if (step == R_RELAY_DOWN)
		h_sleep_ms(100);	/* the echo is back, unread */
reset:
	hh_disown(fd, 1);
}

/*
 * A reset at each step of the exchange ends that session alone, with
 * its one closing line, and leaves no descriptor or thread behind. The
 * dial to a destination that never answers ("timeout connect" 2 s)
 * watches the client, so the reset while dialing ends it at once too.
 */
static void
test_reset_at_every_handshake_step(void **state)
{
	uint16_t	silent_port;
	int		lfd, filler = -1, before, want, lines = 0;
	int64_t		t0, end;

	(void)state;
	lfd = hh_own(h_listen_full("127.0.0.1", &silent_port, &filler));
	assert_true(lfd >= 0);
	hh_own(filler);
	hh_write_conf("timeout handshake 5\ntimeout connect 2\n"
	    "auth password none\nusers-file %s\npass to any\n", hh.users);
	hh_start();
	before = hh_session_lines();
	for (int step = 0; step < R_STEPS; step++) {
		reset_at((enum reset_at)step, silent_port);
		/* One at a time, so the log tells which step did what. */
		want = before + step + 1;
		for (end = h_now_ms() + hh_ms(step == R_DIALING ? 5000 : 3000);
		    h_now_ms() < end; h_sleep_ms(10))
			if ((lines = hh_session_lines()) >= want)
				break;
		if (lines < want) {
			h_log_dump(hh.gw.log);
			fail_msg("reset %s: no closing line",
			    reset_names[step]);
		}
		printf("# reset %s: closing line written\n", reset_names[step]);
	}
	t0 = h_now_ms();
	assert_true(hh_served_now() < hh_ms(1000));
	hh_assert_settled();
	printf("# settled %lld ms after the last reset\n",
	    (long long)(h_now_ms() - t0));
	assert_int_equal(hh_session_lines(), before + R_STEPS + 1);
	/* Resets while relaying are errors the closing line names. */
	assert_true(h_log_line(hh.gw.log, 1000, "rep=0", "error=\"relay",
	    NULL));
	assert_true(h_log_line(hh.gw.log, 1000, "error=\"client closed during "
	    "handshake", NULL) || h_log_line(hh.gw.log, 1000,
	    "error=\"client read error", NULL));
}

/* How a client gives up while the gateway dials for it. */
enum leave_how {
	LEAVE_CLOSE,		/* close(): an end of file */
	LEAVE_RESET,		/* SO_LINGER 0: a reset */
	LEAVE_PIPELINED,	/* data behind the request, then close() */
	LEAVE_HOW
};

static const char *const leave_names[LEAVE_HOW] = {
	"close", "reset", "pipelined then close",
};

/* Greets, asks CONNECT 127.0.0.1:port (a black hole), then leaves. */
static void
leave_while_dialing(enum leave_how how, uint16_t port)
{
	static const uint8_t	greet[3] = { 5, 1, SOCKS5_METHOD_NONE };
	struct socks5_addr	dst;
	uint8_t			req[300 + 64], buf[2];
	int			fd, len;

	fd = hh_own(h_connect("127.0.0.1", hh.gw.port, H_IO_MS));
	assert_true(fd >= 0);
	assert_int_equal(h_send_all(fd, greet, sizeof(greet)), 0);
	assert_int_equal(h_recv_n(fd, buf, 2, hh_ms(H_IO_MS)), 2);
	assert_int_equal(buf[1], SOCKS5_METHOD_NONE);
	h_dst(&dst, "127.0.0.1", port);
	len = socks5_encode_request(req, 300, SOCKS5_CMD_CONNECT, &dst);
	assert_true(len > 0);
	if (how == LEAVE_PIPELINED) {
		memcpy(req + len, "GET / HTTP/1.0\r\n\r\n", 18);
		len += 18;
	}
	assert_int_equal(h_send_all(fd, req, (size_t)len), 0);
	h_sleep_ms(200);		/* the dial has begun */
	hh_disown(fd, how == LEAVE_RESET);
}

/*
 * A client that gives up while the gateway is still connecting for it
 * (to a destination that drops every SYN) frees its thread and the
 * outbound attempt at once, whether it closes, resets, or had sent
 * data behind its request: the closing line says so within seconds, not
 * after "timeout connect" (60 s here), and no descriptor or thread is
 * left behind.
 */
static void
test_client_leaving_during_connect_ends_the_dial(void **state)
{
	uint16_t	hole_port;
	int		lfd, filler = -1, n;
	int64_t		t0, ms;

	(void)state;
	lfd = hh_own(h_listen_full("127.0.0.1", &hole_port, &filler));
	assert_true(lfd >= 0);
	hh_own(filler);
	hh_write_conf("timeout connect 60\npass to any\n");
	hh_start();
	for (int how = 0; how < LEAVE_HOW; how++) {
		n = h_log_count(hh.gw.log, "client left during connect");
		leave_while_dialing((enum leave_how)how, hole_port);
		t0 = h_now_ms();
		while (h_log_count(hh.gw.log, "client left during connect")
		    <= n && h_now_ms() - t0 < hh_ms(10000))
			h_sleep_ms(10);
		ms = h_now_ms() - t0;
		printf("# %s while dialing: closing line after %lld ms\n",
		    leave_names[how], (long long)ms);
		if (h_log_count(hh.gw.log, "client left during connect") <= n) {
			h_log_dump(hh.gw.log);
			fail_msg("%s while dialing: still dialing after %lld ms",
			    leave_names[how], (long long)ms);
		}
		hh_assert_settled();
	}
	/* One line per session, each naming the reason. */
	assert_int_equal(h_log_count(hh.gw.log, "client left during connect"),
	    LEAVE_HOW);
	assert_true(h_log_line(hh.gw.log, 1000, "dest=127.0.0.1:", "rep=1",
	    "error=\"client left during connect\"", NULL));
	assert_true(hh_served_now() < hh_ms(1000));
}

#define T(f)	cmocka_unit_test_setup_teardown(f, hh_setup, hh_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_thousand_silent_connections),
		T(test_one_byte_at_a_time_through_login_and_relay),
		T(test_slow_drip_cannot_outlast_handshake_timeout),
		T(test_garbage_is_refused_and_closed),
		T(test_oversize_fields),
		T(test_reset_at_every_handshake_step),
		T(test_client_leaving_during_connect_ends_the_dial),
	};

	h_init();
	/* A thousand sockets here, as many in the daemon (it inherits). */
	if (hh_raise_nofile(4096) < 1400)
		printf("# could not raise the descriptor limit to 4096\n");
	return cmocka_run_group_tests_name("it_hostile", tests, hh_group_setup,
	    hh_group_teardown);
}
