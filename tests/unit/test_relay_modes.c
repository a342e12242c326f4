/*
 * test_relay_modes.c - how relay.c moves between its modes, over real
 * loopback TCP connections: a relay of small messages holds no pipe, one
 * that turns bulk takes pipes and grows them, and a refused growth
 * (F_SETPIPE_SZ) or a refused pipe (pipe2) leaves every byte moving.
 * Idle pipes are given back. The descriptors are counted in
 * /proc/self/fd, since the relay runs in a thread of this process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/time.h>

#include <dirent.h>
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

#define BULK	(8u << 20)	/* past the 1 MiB a pipe grows after */

/*
 * fcntl() and pipe2() as a sandbox may refuse them; these take the place
 * of libc's for relay.c (the test binary's own symbols win). While
 * setpipe_err holds an errno, F_SETPIPE_SZ fails with it; while
 * pipe_err does, pipe2() does. Every call is counted either way.
 */
static _Atomic int	setpipe_err, pipe_err;
static _Atomic int	setpipe_calls, setpipe_ok, pipe_calls;

int
fcntl(int fd, int cmd, ...)
{
	int	(*real)(int, int, ...);
	void	*arg;
	va_list	 ap;
	int	 rc;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (cmd == F_SETPIPE_SZ) {
		setpipe_calls++;
		if (setpipe_err != 0) {
			errno = setpipe_err;
			return -1;
		}
	}
	*(void **)&real = dlsym(RTLD_NEXT, "fcntl");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	rc = real(fd, cmd, arg);
	if (cmd == F_SETPIPE_SZ && rc != -1)
		setpipe_ok++;
	return rc;
}

int
pipe2(int fds[2], int flags)
{
	int	(*real)(int *, int);

	pipe_calls++;
	if (pipe_err != 0) {
		errno = pipe_err;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "pipe2");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fds, flags);
}

static void
faults(int setpipe, int pipe)
{
	setpipe_err = setpipe;
	pipe_err = pipe;
	setpipe_calls = setpipe_ok = pipe_calls = 0;
}

struct relay_args {
	int			client, dest;	/* inner ends */
	int			c_out, d_out;	/* the test's ends */
	int			rc;
	struct relay_result	res;
	pthread_t		t;
};

static void *
relay_thread(void *arg)
{
	struct relay_args *r = arg;

	r->rc = relay_run(r->client, r->dest, 60000, 0, &r->res);
	return NULL;
}

static int
fd_count(void)
{
	DIR		*d = opendir("/proc/self/fd");
	struct dirent	*e;
	int		 n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

static void
relay_start(struct relay_args *r)
{
	memset(r, 0, sizeof(*r));
	tcp_pair(&r->c_out, &r->client);
	tcp_pair(&r->d_out, &r->dest);
	assert_int_equal(pthread_create(&r->t, NULL, relay_thread, r), 0);
}

/* Both outer ends say EOF; the relay ends with "eof" and is cleaned up. */
static void
relay_finish(struct relay_args *r, uint64_t up, uint64_t down)
{
	char	c;

	assert_int_equal(shutdown(r->c_out, SHUT_WR), 0);
	assert_int_equal(read(r->d_out, &c, 1), 0);
	assert_int_equal(shutdown(r->d_out, SHUT_WR), 0);
	assert_int_equal(read(r->c_out, &c, 1), 0);
	assert_int_equal(pthread_join(r->t, NULL), 0);
	assert_int_equal(r->rc, 0);
	assert_string_equal(r->res.end, "eof");
	assert_null(r->res.side);
	assert_int_equal(r->res.up, up);
	assert_int_equal(r->res.down, down);
	close(r->c_out);
	close(r->d_out);
	close(r->client);
	close(r->dest);
}

/* len bytes from `from` arrive at `to` unchanged. */
static void
message(int from, int to, size_t len, unsigned int seed)
{
	uint8_t	out[512], in[512];
	size_t	i, got = 0;
	ssize_t	n;

	assert_true(len <= sizeof(out));
	for (i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 13 + seed);
	assert_int_equal(write(from, out, len), (ssize_t)len);
	while (got < len) {
		n = read(to, in + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(in, out, len);
}

struct bulk_args {
	int	fd;
	size_t	len;
};

/* The pattern a bulk transfer carries: byte i of it. */
static uint8_t
bulk_byte(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 13) + 3);
}

static void *
bulk_writer(void *arg)
{
	struct bulk_args	*b = arg;
	uint8_t			 buf[65536];
	size_t			 off = 0, i, len;
	ssize_t			 n;

	while (off < b->len) {
		len = b->len - off < sizeof(buf) ? b->len - off : sizeof(buf);
		for (i = 0; i < len; i++)
			buf[i] = bulk_byte(off + i);
		n = write(b->fd, buf, len);
		if (n <= 0)
			return NULL;
		off += (size_t)n;
	}
	return NULL;
}

/* BULK bytes from `from` to `to`, every byte checked where it lands. */
static void
bulk(int from, int to)
{
	struct bulk_args	 b = { from, BULK };
	pthread_t		 t;
	uint8_t			 buf[65536];
	size_t			 got = 0, i;
	ssize_t			 n;

	assert_int_equal(pthread_create(&t, NULL, bulk_writer, &b), 0);
	while (got < BULK) {
		n = read(to, buf, sizeof(buf));
		assert_true(n > 0);
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != bulk_byte(got + i))
				fail_msg("byte %zu differs", got + i);
		got += (size_t)n;
	}
	assert_int_equal(pthread_join(t, NULL), 0);
}

/*
 * Small messages both ways take no pipe: the relay holds nothing but
 * the two sockets it was given. Then bulk data takes pipes and grows
 * them, and nothing is lost on the way.
 */
static void
test_relay_run_small_then_bulk(void **state)
{
	struct relay_args	r;
	int			base, i;

	(void)state;
	faults(0, 0);
	relay_start(&r);
	base = fd_count();
	for (i = 0; i < 20; i++) {
		message(r.c_out, r.d_out, 1 + (size_t)i * 25, (unsigned int)i);
		message(r.d_out, r.c_out, 500 - (size_t)i * 20, (unsigned int)i);
	}
	assert_int_equal(fd_count(), base);
	assert_int_equal(pipe_calls, 0);
	bulk(r.c_out, r.d_out);
	bulk(r.d_out, r.c_out);
	assert_true(pipe_calls >= 2);
	assert_true(setpipe_calls >= 2);
	/* Up: 1, 26, ... 476 bytes; down: 500, 480, ... 120 bytes. */
	relay_finish(&r, 20 + 25 * 190 + BULK, 20 * 500 - 20 * 190 + BULK);
}

/*
 * F_SETPIPE_SZ refused at every size (pipe-user-pages-soft used up, a
 * seccomp filter): the pipes keep their default size and every byte
 * still arrives.
 */
static void
test_relay_run_pipe_growth_refused(void **state)
{
	struct relay_args	r;

	(void)state;
	faults(EPERM, 0);
	relay_start(&r);
	bulk(r.c_out, r.d_out);
	bulk(r.d_out, r.c_out);
	assert_true(setpipe_calls >= 2);
	assert_int_equal(setpipe_ok, 0);
	relay_finish(&r, BULK, BULK);
	faults(0, 0);
}

/* No pipe to be had (EMFILE): bulk data goes by read/write instead. */
static void
test_relay_run_no_pipe_copies(void **state)
{
	struct relay_args	r;
	int			base;

	(void)state;
	faults(0, EMFILE);
	relay_start(&r);
	base = fd_count();
	bulk(r.c_out, r.d_out);
	bulk(r.d_out, r.c_out);
	assert_true(pipe_calls >= 2);
	assert_int_equal(fd_count(), base);
	relay_finish(&r, BULK, BULK);
	faults(0, 0);
}

/*
 * A relay that went bulk and then falls quiet gives its pipes back after
 * a few seconds, and carries small messages and bulk again afterwards.
 */
static void
test_relay_run_idle_pipes_given_back(void **state)
{
	struct relay_args	r;
	int			base, n = -1;
	int64_t			end;

	(void)state;
	faults(0, 0);
	relay_start(&r);
	base = fd_count();
	bulk(r.c_out, r.d_out);
	assert_int_equal(fd_count(), base + 2);
	/* Given back after 5 s quiet; 30 s only says it did not hang. */
	end = mech_now_ms() + 30000;
	while (mech_now_ms() < end && (n = fd_count()) != base)
		usleep(100 * 1000);
	assert_int_equal(n, base);
	message(r.c_out, r.d_out, 100, 1);
	message(r.d_out, r.c_out, 100, 2);
	bulk(r.c_out, r.d_out);
	relay_finish(&r, 2 * (uint64_t)BULK + 100, 100);
}

/* Resets the test's end of a pair: the relay's socket sees ECONNRESET. */
static void
reset(int fd)
{
	struct linger	lg = { 1, 0 };

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
	    sizeof(lg)), 0);
	close(fd);
}

/*
 * A relay that ends on an error says whose socket failed, for the
 * closing line's side=; one that ends cleanly names none (relay_finish).
 */
static void
test_relay_run_error_names_its_side(void **state)
{
	struct relay_args	r;
	int			i, which;
	char			c;

	(void)state;
	faults(0, 0);
	for (which = 0; which < 2; which++) {
		relay_start(&r);
		message(r.c_out, r.d_out, 10, 1);
		reset(which == 0 ? r.d_out : r.c_out);
		/* The other end sees the relay's EOF or reset: it ended. */
		i = (int)read(which == 0 ? r.c_out : r.d_out, &c, 1);
		assert_true(i <= 0);
		assert_int_equal(pthread_join(r.t, NULL), 0);
		assert_int_equal(r.rc, -1);
		assert_string_equal(r.res.end, "error");
		assert_int_equal(r.res.err, ECONNRESET);
		assert_non_null(r.res.side);
		assert_string_equal(r.res.side, which == 0 ? "dest" : "client");
		close(which == 0 ? r.c_out : r.d_out);
		close(r.client);
		close(r.dest);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_relay_run_small_then_bulk),
		cmocka_unit_test(test_relay_run_pipe_growth_refused),
		cmocka_unit_test(test_relay_run_no_pipe_copies),
		cmocka_unit_test(test_relay_run_idle_pipes_given_back),
		cmocka_unit_test(test_relay_run_error_names_its_side),
	};

	/* Writes to a reset peer must fail with EPIPE, as in gatewayd. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
