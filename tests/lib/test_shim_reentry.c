/*
 * test_shim_reentry.c - a hook re-entered while the shim resolves its
 * real symbols answers with the kernel's result, not ENOSYS and not a
 * hang (src/lib/real.c: real_once, real_raw).
 *
 * In a real program the re-entry comes from a malloc replacement that
 * reads or closes a file while dlsym allocates. Here the test seam
 * real_resolver stands in for dlsym: on the first look-up of each
 * hook file's initialisation it calls the hooks themselves (read, write,
 * send, recv, their msg/mmsg forms, readv, writev, preadv2, pwritev2,
 * splice, the fortified reads, syscall, close, connect, getsockname,
 * getpeername, getsockopt, poll, ppoll, select, pselect and epoll,
 * execve on a missing file) and records every answer, then resolves the
 * symbol with the real dlsym. This binary is
 * linked with the shim's objects, so those calls are the shim's hooks,
 * and each initialisation happens once per process: the cases run in
 * order, each starting the initialisation it is about (close early:
 * every later case closes descriptors; the one before it closes its
 * own with the raw system call).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/shim.h"

/* What the probes saw inside one initialisation. */
struct probe_log {
	int	runs;		/* times the probes ran */
	int	failures;	/* answers that were not the kernel's */
	char	first[64];	/* the symbol being resolved then */
	char	what[256];	/* the first failure, for the message */
};

static struct probe_log plog;
static int depth;		/* probes run only at the outermost look-up */
static int armed;		/* probe at the next look-up */

static void
probe_fail(const char *call, long r, int err)
{
	if (plog.failures++ == 0)
		snprintf(plog.what, sizeof(plog.what), "%s returned %ld "
		    "errno %d (%s)", call, r, err, strerror(err));
}

#define EXPECT(call, cond)	do {					\
	long r_ = (long)(call);						\
	int e_ = errno;							\
	if (!(cond))							\
		probe_fail(#call, r_, e_);				\
} while (0)

/* A listening Unix socket in the abstract namespace, for connect. */
static int
probe_listener(struct sockaddr_un *sun, socklen_t *len)
{
	int fd;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
	    "socks64-reentry-%d", (int)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(sun->sun_path + 1));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || bind(fd, (struct sockaddr *)sun, *len) == -1 ||
	    listen(fd, 4) == -1)
		return -1;
	return fd;
}

/* The waiting hooks (poll.c), on a pipe with a byte to read in p[0]. */
static void
probe_waits(int p[2])
{
	struct pollfd pfd = { .fd = p[0], .events = POLLIN };
	struct timespec zero = { 0, 0 };
	struct timeval tv = { 0, 0 };
	struct epoll_event ev = { .events = EPOLLIN }, got;
	socklen_t len = sizeof(int);
	fd_set rd;
	sigset_t mask;
	int ep, type = 0;

	sigemptyset(&mask);

	EXPECT(poll(&pfd, 1, 0), r_ == 1 && (pfd.revents & POLLIN));
	EXPECT(ppoll(&pfd, 1, &zero, NULL), r_ == 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	EXPECT(select(p[0] + 1, &rd, NULL, NULL, &tv), r_ == 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	EXPECT(pselect(p[0] + 1, &rd, NULL, NULL, &zero, &mask), r_ == 1);
	EXPECT(__poll_chk(&pfd, 1, 0, sizeof(pfd)), r_ == 1);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		probe_fail("epoll_create1", -1, errno);
		return;
	}
	ev.data.fd = p[0];
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), r_ == 0);
	EXPECT(epoll_wait(ep, &got, 1, 0), r_ == 1 && got.data.fd == p[0]);
	EXPECT(epoll_pwait(ep, &got, 1, 0, NULL), r_ == 1);
	EXPECT(close(ep), r_ == 0);
	EXPECT(getsockopt(p[0], SOL_SOCKET, SO_TYPE, &type, &len),
	    r_ == -1 && e_ == ENOTSOCK);
}

/*
 * Every system-call-like hook, called while an initialisation is under
 * way on this thread. Each must give what the kernel gives.
 */
static void
probe_hooks(void)
{
	struct sockaddr_un sun, peer;
	struct mmsghdr mm;
	struct msghdr m;
	struct iovec iov;
	socklen_t len, plen;
	char buf[16] = "x", *argv[] = { "none", NULL };
	int p[2], sv[2], lfd, cfd;

	plog.runs++;
	if (pipe2(p, O_CLOEXEC) == -1 ||
	    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == -1) {
		probe_fail("pipe2/socketpair", -1, errno);
		return;
	}
	EXPECT(write(p[1], "ab", 2), r_ == 2);
	probe_waits(p);
	EXPECT(read(p[0], buf, sizeof(buf)), r_ == 2 && buf[0] == 'a');
	iov.iov_base = buf;
	iov.iov_len = 2;
	EXPECT(writev(p[1], &iov, 1), r_ == 2);
	EXPECT(readv(p[0], &iov, 1), r_ == 2);
	EXPECT(pwritev2(p[1], &iov, 1, -1, 0), r_ == 2);
	EXPECT(__read_chk(p[0], buf, 1, sizeof(buf)), r_ == 1);
	EXPECT(preadv2(p[0], &iov, 1, -1, 0), r_ == 1);
	EXPECT(send(sv[0], "e", 1, 0), r_ == 1);
	EXPECT(__recv_chk(sv[1], buf, 1, sizeof(buf), 0), r_ == 1);
	EXPECT(send(sv[0], "f", 1, 0), r_ == 1);
	EXPECT(__recvfrom_chk(sv[1], buf, 1, sizeof(buf), 0, NULL, NULL),
	    r_ == 1);
	EXPECT(splice(p[0], NULL, p[1], NULL, 1, 0), r_ == -1 && e_ == EINVAL);
	EXPECT(read(-1, buf, 1), r_ == -1 && e_ == EBADF);
	EXPECT(send(sv[0], "c", 1, 0), r_ == 1);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0), r_ == 1 && buf[0] == 'c');
	EXPECT(sendto(sv[0], "d", 1, 0, NULL, 0), r_ == 1);
	EXPECT(recvfrom(sv[1], buf, sizeof(buf), 0, NULL, NULL), r_ == 1);
	iov.iov_base = buf;
	iov.iov_len = 1;
	memset(&m, 0, sizeof(m));
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	EXPECT(sendmsg(sv[0], &m, 0), r_ == 1);
	EXPECT(recvmsg(sv[1], &m, 0), r_ == 1);
	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr = m;
	EXPECT(sendmmsg(sv[0], &mm, 1, 0), r_ == 1);
	EXPECT(recvmmsg(sv[1], &mm, 1, MSG_DONTWAIT, NULL), r_ == 1);
	EXPECT(syscall(SYS_sendmmsg, sv[0], &mm, 1, 0), r_ == 1);
	EXPECT(syscall(SYS_recvmmsg, sv[1], &mm, 1, MSG_DONTWAIT, NULL),
	    r_ == 1);
	EXPECT(syscall(SYS_getpid), r_ == (long)getpid());
	if ((lfd = probe_listener(&sun, &len)) == -1 ||
	    (cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		probe_fail("listener", -1, errno);
	} else {
		EXPECT(connect(cfd, (struct sockaddr *)&sun, len), r_ == 0);
		plen = sizeof(peer);
		EXPECT(getpeername(cfd, (struct sockaddr *)&peer, &plen),
		    r_ == 0 && plen == len);
		plen = sizeof(peer);
		EXPECT(getsockname(lfd, (struct sockaddr *)&peer, &plen),
		    r_ == 0 && plen == len);
		EXPECT(close(cfd), r_ == 0);
	}
	if (lfd != -1)
		EXPECT(close(lfd), r_ == 0);
	EXPECT(execve("/nonexistent/socks64-reentry", argv, argv + 1),
	    r_ == -1 && e_ == ENOENT);
	EXPECT(close(p[0]), r_ == 0);
	EXPECT(close(p[1]), r_ == 0);
	EXPECT(close(sv[0]), r_ == 0);
	EXPECT(close(sv[1]), r_ == 0);
	EXPECT(close(p[0]), r_ == -1 && e_ == EBADF);
}

/* In place of dlsym: the re-entry, then the real answer. */
static void *
reentering_resolver(void *handle, const char *symbol)
{
	void *fn;

	if (armed && depth == 0) {
		armed = 0;
		snprintf(plog.first, sizeof(plog.first), "%s", symbol);
		depth++;
		probe_hooks();
		depth--;
	}
	depth++;
	fn = dlsym(handle, symbol);
	depth--;
	return fn;
}

static void
arm(void)
{
	memset(&plog, 0, sizeof(plog));
	armed = 1;
}

static void
assert_probed(const char *first)
{
	if (plog.runs != 1)
		fail_msg("the hooks were not re-entered during the "
		    "initialisation (it had run already?)");
	assert_string_equal(plog.first, first);
	if (plog.failures != 0)
		fail_msg("%d re-entered call(s) failed, first: %s",
		    plog.failures, plog.what);
}

static void
skip_without_raw(void)
{
	if (real_raw(SYS_getpid, 0, 0, 0, 0, 0, 0) == -1 && errno == ENOSYS) {
		print_message("skipped: no raw system calls on this "
		    "architecture\n");
		skip();
	}
}

static void
test_real_raw_answers_as_kernel(void **state)
{
	char c = 'q', got = 0;
	int p[2];

	(void)state;
	skip_without_raw();
	assert_int_equal(real_raw(SYS_getpid, 0, 0, 0, 0, 0, 0),
	    (long)getpid());
	assert_int_equal(pipe(p), 0);
	assert_int_equal(real_raw(SYS_write, p[1], (long)&c, 1, 0, 0, 0), 1);
	assert_int_equal(real_raw(SYS_read, p[0], (long)&got, 1, 0, 0, 0), 1);
	assert_int_equal(got, 'q');
	errno = 0;
	assert_int_equal(real_raw(SYS_read, -1, (long)&got, 1, 0, 0, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(real_raw(SYS_close, p[0], 0, 0, 0, 0, 0), 0);
	assert_int_equal(real_raw(SYS_close, p[1], 0, 0, 0, 0, 0), 0);
}

/* udp.c's loader: the data-path hooks and syscall(). */
static void
test_reentry_during_udp_init(void **state)
{
	char c = 'u';
	int p[2];

	(void)state;
	skip_without_raw();
	assert_int_equal(pipe(p), 0);
	arm();
	assert_int_equal(write(p[1], &c, 1), 1);	/* starts udp_init */
	assert_probed("sendto");
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(close(p[0]), 0);
	assert_int_equal(close(p[1]), 0);
}

/* dataio.c's loader: readv and the other data calls. */
static void
test_reentry_during_dataio_init(void **state)
{
	char c = 'v';
	struct iovec iov = { &c, 1 };
	int p[2];

	(void)state;
	skip_without_raw();
	assert_int_equal(pipe(p), 0);
	arm();
	assert_int_equal(writev(p[1], &iov, 1), 1);	/* starts dataio_init */
	assert_probed("readv");
	assert_int_equal(readv(p[0], &iov, 1), 1);
	/* Not close(): sockreg.c's loader is a later case's. */
	assert_int_equal(real_raw(SYS_close, p[0], 0, 0, 0, 0, 0), 0);
	assert_int_equal(real_raw(SYS_close, p[1], 0, 0, 0, 0, 0), 0);
}

/* poll.c's loader: poll and its kin, getsockopt. */
static void
test_reentry_during_poll_init(void **state)
{
	struct pollfd pfd;
	int p[2];

	(void)state;
	skip_without_raw();
	assert_int_equal(pipe(p), 0);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	arm();
	/* This starts poll_init. */
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_probed("poll");
	/* Not close(): sockreg.c's loader is the next case's. */
	assert_int_equal(real_raw(SYS_close, p[0], 0, 0, 0, 0, 0), 0);
	assert_int_equal(real_raw(SYS_close, p[1], 0, 0, 0, 0, 0), 0);
}

/* sockreg.c's loader: close(). */
static void
test_reentry_during_close_init(void **state)
{
	int fd;

	(void)state;
	skip_without_raw();
	assert_true((fd = dup(2)) >= 0);
	arm();
	/* This starts sockreg_init. */
	assert_int_equal(close(fd), 0);
	assert_probed("close");
	assert_int_equal(close(fd), -1);
	assert_int_equal(errno, EBADF);
}

/* connect.c's loader: connect, getpeername, getsockname. */
static void
test_reentry_during_connect_init(void **state)
{
	struct sockaddr_un sun;
	socklen_t len;
	int lfd, fd;

	(void)state;
	skip_without_raw();
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	memset(&sun, 0, sizeof(sun));
	len = sizeof(sun);
	arm();
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sun, &len), 0);
	assert_probed("connect");
	/* The hooks work normally afterwards. */
	assert_true((lfd = probe_listener(&sun, &len)) >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, len), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(close(lfd), 0);
}

/* exec.c's loader. */
static void
test_reentry_during_exec_init(void **state)
{
	char *argv[] = { "none", NULL };

	(void)state;
	skip_without_raw();
	arm();
	assert_int_equal(execv("/nonexistent/socks64-reentry", argv), -1);
	assert_int_equal(errno, ENOENT);
	assert_probed("execve");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_raw_answers_as_kernel),
		/* First: every later case's probes call its hooks. */
		cmocka_unit_test(test_reentry_during_dataio_init),
		cmocka_unit_test(test_reentry_during_poll_init),
		cmocka_unit_test(test_reentry_during_close_init),
		cmocka_unit_test(test_reentry_during_udp_init),
		cmocka_unit_test(test_reentry_during_connect_init),
		cmocka_unit_test(test_reentry_during_exec_init),
	};

	/* Before any hook runs: every initialisation goes through it. */
	real_resolver = reentering_resolver;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
