/*
 * test_relay.c - relay.c over real loopback TCP connections.
 *
 * Two connected pairs stand for client and destination; relay_run()
 * runs in a thread between their inner ends while the test drives the
 * outer ends. Each case runs with splice() and with the read/write
 * fallback, since both must keep every byte and pass half-closes on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <linux/sockios.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gatewayd.h"
#include "tcp_pair_test.h"

/*
 * splice() as a kernel or a seccomp filter may refuse it. This one takes
 * the place of libc's for relay.c (the test binary's own symbol wins):
 * while splice_fail holds an errno, the calls of one kind (fills, into a
 * pipe, or drains, out of one) fail with it once splice_fail_after of
 * them went through; splice_failed counts the failures made.
 */
static int		splice_fail;		/* errno; 0: none */
static int		splice_fail_drain;	/* 1: drains, 0: fills */
static int		splice_fail_after;
static _Atomic int	splice_seen, splice_failed;

ssize_t
splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
    unsigned int flags)
{
	ssize_t		(*real)(int, loff_t *, int, loff_t *, size_t,
			    unsigned int);
	struct stat	st;

	if (splice_fail != 0 && fstat(splice_fail_drain ? fd_in : fd_out,
	    &st) == 0 && S_ISFIFO(st.st_mode) &&
	    splice_seen++ >= splice_fail_after) {
		splice_failed++;
		errno = splice_fail;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "splice");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd_in, off_in, fd_out, off_out, len, flags);
}

static void
splice_failing(int err, int drain, int after)
{
	splice_fail = err;
	splice_fail_drain = drain;
	splice_fail_after = after;
	splice_seen = splice_failed = 0;
}

struct relay_args {
	int			client, dest;	/* inner ends */
	unsigned int		idle_ms, flags;
	int			rc;
	struct relay_result	res;
};

static void *
relay_thread(void *arg)
{
	struct relay_args *r = arg;

	r->rc = relay_run(r->client, r->dest, r->idle_ms, r->flags, &r->res);
	return NULL;
}

static void
pattern(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 7 + seed + (i >> 11));
}

static void
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		assert_true(n > 0);
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads to EOF; returns the count, checking the bytes against pattern. */
static size_t
read_to_eof(int fd, unsigned int seed, size_t max)
{
	uint8_t	*want = malloc(max), buf[65536];
	size_t	 got = 0;
	ssize_t	 n;

	assert_non_null(want);
	pattern(want, max, seed);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		assert_true(got + (size_t)n <= max);
		assert_memory_equal(buf, want + got, (size_t)n);
		got += (size_t)n;
	}
	assert_int_equal(n, 0);
	free(want);
	return got;
}

#define REPLY_BYTES	(1024u * 1024)
#define UP_BYTES	(3u * 1024 * 1024 + 17)
#define DOWN_BYTES	(2u * 1024 * 1024 + 5)

struct dest_args {
	int	fd;
	size_t	got;
};

/* The destination: reads the whole request to EOF, then answers. */
static void *
dest_thread(void *arg)
{
	struct dest_args	*d = arg;
	uint8_t			*buf = malloc(DOWN_BYTES);

	d->got = read_to_eof(d->fd, 1, UP_BYTES);
	pattern(buf, DOWN_BYTES, 2);
	write_all(d->fd, buf, DOWN_BYTES);
	close(d->fd);
	free(buf);
	return NULL;
}

/*
 * The client sends and half-closes; the destination sees EOF only after
 * every byte, answers after it, and the client reads that to EOF.
 */
static void
half_close(unsigned int flags)
{
	struct relay_args	r;
	struct dest_args	d;
	pthread_t		rt, dt;
	uint8_t			*buf = malloc(UP_BYTES);
	int			c_out, d_in;

	memset(&r, 0, sizeof(r));
	tcp_pair(&c_out, &r.client);
	tcp_pair(&d.fd, &d_in);
	r.dest = d_in;
	r.idle_ms = 10000;
	r.flags = flags;
	assert_int_equal(fcntl(d.fd, F_SETFL, 0), 0);
	assert_int_equal(pthread_create(&rt, NULL, relay_thread, &r), 0);
	assert_int_equal(pthread_create(&dt, NULL, dest_thread, &d), 0);

	pattern(buf, UP_BYTES, 1);
	write_all(c_out, buf, UP_BYTES);
	assert_int_equal(shutdown(c_out, SHUT_WR), 0);
	assert_int_equal(read_to_eof(c_out, 2, DOWN_BYTES), DOWN_BYTES);

	pthread_join(dt, NULL);
	pthread_join(rt, NULL);
	assert_int_equal(d.got, UP_BYTES);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.res.end, "eof");
	assert_int_equal(r.res.up, UP_BYTES);
	assert_int_equal(r.res.down, DOWN_BYTES);
	close(c_out);
	close(r.client);
	close(r.dest);
	free(buf);
}

static void
test_relay_run_half_close_splice(void **state)
{
	(void)state;
	half_close(0);
}

static void
test_relay_run_half_close_copy(void **state)
{
	(void)state;
	half_close(RELAY_NO_SPLICE);
}

/*
 * splice() refused from the first call (EPERM: a seccomp filter): the
 * relay goes on with read/write instead of ending that direction.
 */
static void
test_relay_run_splice_refused_falls_back(void **state)
{
	(void)state;
	splice_failing(EPERM, 0, 0);
	half_close(0);
	assert_true(splice_failed > 0);
	splice_failing(0, 0, 0);
}

/*
 * splice() failing in mid-stream for its own reasons, on either side of
 * the pipe: on a drain the pipe holds bytes, which must still reach the
 * other end, in order and once (half_close checks every byte).
 */
static void
test_relay_run_splice_fails_mid_stream_keeps_bytes(void **state)
{
	static const struct {
		int	err, drain, after;
	} cases[] = {
		{ ENOMEM, 1, 5 },	/* a drain, the pipe holding bytes */
		{ ENOMEM, 0, 5 },	/* a fill, the pipe empty */
		{ EINVAL, 1, 1 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		splice_failing(cases[i].err, cases[i].drain, cases[i].after);
		half_close(0);
		assert_true(splice_failed > 0);
	}
	splice_failing(0, 0, 0);
}

static void
test_relay_run_idle_ends(void **state)
{
	struct relay_args	r;
	int			c_out, d_out;
	int64_t			t0, ms;

	(void)state;
	memset(&r, 0, sizeof(r));
	tcp_pair(&c_out, &r.client);
	tcp_pair(&d_out, &r.dest);
	r.idle_ms = 200;
	t0 = mech_now_ms();
	r.rc = relay_run(r.client, r.dest, r.idle_ms, 0, &r.res);
	ms = mech_now_ms() - t0;
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.res.end, "idle");
	assert_true(ms >= 190 && ms < 2000);
	close(c_out);
	close(d_out);
	close(r.client);
	close(r.dest);
}

/* A reset from one side ends the relay, not only that direction. */
static void
test_relay_run_reset_ends(void **state)
{
	struct relay_args	r;
	struct linger		lg = { 1, 0 };
	pthread_t		rt;
	int			c_out, d_out;

	(void)state;
	memset(&r, 0, sizeof(r));
	tcp_pair(&c_out, &r.client);
	tcp_pair(&d_out, &r.dest);
	r.idle_ms = 10000;
	assert_int_equal(pthread_create(&rt, NULL, relay_thread, &r), 0);
	write_all(c_out, (const uint8_t *)"x", 1);
	assert_int_equal(setsockopt(c_out, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	usleep(50 * 1000);
	close(c_out);		/* RST */
	pthread_join(rt, NULL);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.res.end, "error");
	assert_int_equal(r.res.up, 1);
	close(d_out);
	close(r.client);
	close(r.dest);
}

/*
 * A destination that answers and then resets: every byte it sent before
 * the reset still reaches the client, which is reading only later.
 */
static void
test_relay_run_reset_keeps_reply(void **state)
{
	struct relay_args	r;
	struct linger		lg = { 1, 0 };
	pthread_t		rt;
	uint8_t			*buf = malloc(REPLY_BYTES);
	int			c_out, d_out, outq = 1, tries;

	(void)state;
	memset(&r, 0, sizeof(r));
	tcp_pair(&c_out, &r.client);
	tcp_pair(&d_out, &r.dest);
	r.idle_ms = 10000;
	assert_int_equal(pthread_create(&rt, NULL, relay_thread, &r), 0);
	pattern(buf, REPLY_BYTES, 3);
	write_all(d_out, buf, REPLY_BYTES);
	/* All of it out of d_out's send queue, or the reset would drop it. */
	for (tries = 0; tries < 500 && outq != 0; tries++) {
		assert_int_equal(ioctl(d_out, SIOCOUTQ, &outq), 0);
		usleep(10 * 1000);
	}
	assert_int_equal(outq, 0);
	assert_int_equal(setsockopt(d_out, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(d_out);		/* RST */
	usleep(100 * 1000);
	assert_int_equal(read_to_eof(c_out, 3, REPLY_BYTES), REPLY_BYTES);
	pthread_join(rt, NULL);
	assert_int_equal(r.res.down, REPLY_BYTES);
	close(c_out);
	close(r.client);
	close(r.dest);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_run_half_close_splice),
		cmocka_unit_test(test_relay_run_half_close_copy),
		cmocka_unit_test(test_relay_run_splice_refused_falls_back),
		cmocka_unit_test(test_relay_run_splice_fails_mid_stream_keeps_bytes),
		cmocka_unit_test(test_relay_run_idle_ends),
		cmocka_unit_test(test_relay_run_reset_ends),
		cmocka_unit_test(test_relay_run_reset_keeps_reply),
	};

	/* Writes to a reset peer must fail with EPIPE, as in gatewayd. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
