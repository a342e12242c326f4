/*
 * test_shim_pendio.c - the data calls on a socket whose SOCKS exchange
 * goes on ('async yes', src/lib/pending.c, dataio.c): while the gateway
 * holds its reply, every way to write or read (write, send, sendmmsg,
 * writev, pwritev2, sendfile, splice, and their read kin, glibc's
 * fortified reads and syscall() included) says EAGAIN and no byte reaches the
 * gateway before its reply; once open, the program reads exactly the
 * destination's bytes and the destination gets exactly the program's.
 * A refused or timed-out exchange reports its error once, then reads
 * end-of-file, never the gateway's late bytes. pselect waits on such a
 * socket under the program's signal mask, and epoll_pwait2 hears of
 * it with the program's own data once the tunnel is open.
 *
 * The fake gateway answers by name: hold.* once the test releases it,
 * ok.* at once, refuse.* with X'05' and junk behind it, late.* after
 * the shim's timeout. A tunnel echoes; the reply and "hello" go out in
 * one write, so a reader that took too much would see SOCKS bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "fakegw_test.h"

#define HELLO		"hello"
#define JUNK		"\x05\x00\x00\x01junk-after-the-reply"
#define BOUND_MS	10000	/* "does not hang", under sanitizers */

static atomic_int gw_requests;	/* CONNECT requests read */
static atomic_int gw_release;	/* hold.*: reply now */
static atomic_int gw_early;	/* bytes sent before the reply came */

/* Waits for flag to become non-zero, BOUND_MS at most: 1 if it did. */
static int
wait_flag(atomic_int *flag)
{
	int i;

	for (i = 0; i < BOUND_MS / 10 && atomic_load(flag) == 0; i++)
		usleep(10 * 1000);
	return atomic_load(flag) != 0;
}

static void
gw_echo(int fd)
{
	uint8_t buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
}

static void *
gw_session(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct socks5_greeting g;
	struct socks5_request req;
	uint8_t buf[600], choice[2] = { 5, 0 };
	ssize_t n;
	int len, rep = SOCKS5_REP_SUCCEEDED;

	if (fakegw_read(fd, buf, sizeof(buf), 0, &g) == -1 ||
	    write(fd, choice, 2) != 2 ||
	    fakegw_read(fd, buf, sizeof(buf), 1, &req) == -1)
		goto out;
	atomic_fetch_add(&gw_requests, 1);
	if (strncmp(req.dst.name, "hold.", 5) == 0) {
		(void)wait_flag(&gw_release);
		/* Whatever came in the meantime came too early. */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			atomic_fetch_add(&gw_early, (int)n);
	}
	if (strncmp(req.dst.name, "late.", 5) == 0)
		usleep(1600 * 1000);	/* the test's timeout is 1000 ms */
	if (strncmp(req.dst.name, "refuse.", 7) == 0)
		rep = SOCKS5_REP_CONN_REFUSED;
	len = socks5_encode_reply(buf, sizeof(buf), (uint8_t)rep, NULL);
	if (rep != SOCKS5_REP_SUCCEEDED) {
		memcpy(buf + len, JUNK, sizeof(JUNK) - 1);
		(void)write(fd, buf, (size_t)len + sizeof(JUNK) - 1);
		usleep(300 * 1000);
		goto out;
	}
	memcpy(buf + len, HELLO, sizeof(HELLO) - 1);
	if (write(fd, buf, (size_t)len + sizeof(HELLO) - 1) !=
	    len + (ssize_t)sizeof(HELLO) - 1)
		goto out;
	gw_echo(fd);
out:
	close(fd);
	return NULL;
}

static int
setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (fakegw_start_conf(gw_session, "shim_pendio",
	    "timeout 1000\nasync yes\n") == 0 ||
	    !shim_conf()->async)
		return -1;
	return 0;
}

static int
reset(void **state)
{
	(void)state;
	atomic_store(&gw_requests, 0);
	atomic_store(&gw_release, 0);
	atomic_store(&gw_early, 0);
	return 0;
}

/* A socket connecting to name:80; asserts EINPROGRESS if nonblock. */
static int
start(const char *name, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len = fakegw_fake(name, AF_INET, 80, &ss);
	int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0),
	    0);

	assert_true(fd >= 0);
	if (nonblock) {
		assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
		assert_int_equal(errno, EINPROGRESS);
	} else
		assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* call, on a socket still pending, must say EAGAIN. */
#define ASSERT_EAGAIN(call) do {					\
	errno = 0;							\
	if ((call) != -1 || errno != EAGAIN)				\
		fail_msg("%s: not EAGAIN (errno %d) on a pending socket",\
		    #call, errno);					\
} while (0)

/* Every hooked way to write or read, none of which may pass. */
static void
assert_all_held(int fd)
{
	char buf[16] = "xyz", path[32];
	struct iovec iov = { buf, 3 };
	struct mmsghdr mm;
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	int p[2], file;

	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr.msg_iov = &iov;
	mm.msg_hdr.msg_iovlen = 1;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], buf, 3), 3);
	snprintf(path, sizeof(path), "/tmp/pendio.XXXXXX");
	assert_true((file = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(file, "xyz", 3), 3);
	assert_int_equal(lseek(file, 0, SEEK_SET), 0);

	ASSERT_EAGAIN(write(fd, buf, 3));
	ASSERT_EAGAIN(send(fd, buf, 3, 0));
	ASSERT_EAGAIN(sendto(fd, buf, 3, 0, NULL, 0));
	ASSERT_EAGAIN(sendmsg(fd, &mm.msg_hdr, 0));
	ASSERT_EAGAIN(sendmmsg(fd, &mm, 1, 0));
	ASSERT_EAGAIN(writev(fd, &iov, 1));
	ASSERT_EAGAIN(pwritev2(fd, &iov, 1, -1, 0));
	ASSERT_EAGAIN(sendfile(fd, file, NULL, 3));
	ASSERT_EAGAIN(splice(p[0], NULL, fd, NULL, 3, 0));
	ASSERT_EAGAIN(read(fd, buf, sizeof(buf)));
	ASSERT_EAGAIN(recv(fd, buf, sizeof(buf), 0));
	ASSERT_EAGAIN(recv(fd, buf, sizeof(buf), MSG_PEEK));
	ASSERT_EAGAIN(recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL));
	ASSERT_EAGAIN(recvmsg(fd, &mm.msg_hdr, 0));
	ASSERT_EAGAIN(recvmmsg(fd, &mm, 1, 0, NULL));
	ASSERT_EAGAIN(readv(fd, &iov, 1));
	ASSERT_EAGAIN(preadv2(fd, &iov, 1, -1, 0));
	ASSERT_EAGAIN(splice(fd, NULL, p[1], NULL, 3, 0));
	ASSERT_EAGAIN(__read_chk(fd, buf, 3, sizeof(buf)));
	ASSERT_EAGAIN(__recv_chk(fd, buf, 3, sizeof(buf), 0));
	ASSERT_EAGAIN(__recvfrom_chk(fd, buf, 3, sizeof(buf), 0,
	    (struct sockaddr *)&from, &fromlen));
	ASSERT_EAGAIN(syscall(SYS_write, fd, buf, 3));
	ASSERT_EAGAIN(syscall(SYS_writev, fd, &iov, 1));
	ASSERT_EAGAIN(syscall(SYS_sendto, fd, buf, 3, 0, NULL, 0));
	ASSERT_EAGAIN(syscall(SYS_read, fd, buf, 3));
	ASSERT_EAGAIN(syscall(SYS_recvfrom, fd, buf, 3, 0, NULL, NULL));
	ASSERT_EAGAIN(syscall(SYS_recvmsg, fd, &mm.msg_hdr, 0));
	close(file);
	close(p[0]);
	close(p[1]);
}

/*
 * Reads exactly want with rdcall, a read-like call into rb (cap bytes
 * of room), which may say EAGAIN; waits in poll between calls.
 */
#define READ_EXACTLY(fd, want, rdcall) do {				\
	char got_[64];							\
	size_t have_ = 0, len_ = strlen(want);				\
	ssize_t n_;							\
	int i_;								\
	for (i_ = 0; i_ < BOUND_MS / 10 && have_ < len_; i_++) {	\
		char *rb = got_ + have_;				\
		size_t cap = len_ - have_;				\
		n_ = (rdcall);						\
		if (n_ > 0) {						\
			have_ += (size_t)n_;				\
			continue;					\
		}							\
		assert_int_equal(n_, -1);				\
		assert_int_equal(errno, EAGAIN);			\
		(void)poll(&(struct pollfd){ (fd), POLLIN, 0 }, 1, 10);	\
	}								\
	assert_int_equal(have_, len_);					\
	assert_memory_equal(got_, (want), len_);			\
} while (0)

/*
 * While the gateway holds its reply, nothing passes either way; once
 * it replies, each way of writing and reading carries exactly the
 * program's and the destination's bytes.
 */
static void
test_pendio_held_then_exact(void **state)
{
	struct mmsghdr mm;
	struct iovec iov[2];
	int fd, p[2], file;
	int i;

	(void)state;
	fd = start("hold.pendio.example", 1);
	/* The data calls step the exchange until the request is out. */
	for (i = 0; i < BOUND_MS / 10 && atomic_load(&gw_requests) == 0; i++) {
		ASSERT_EAGAIN(writev(fd, &(struct iovec){ "x", 1 }, 1));
		usleep(10 * 1000);
	}
	assert_int_equal(atomic_load(&gw_requests), 1);
	assert_all_held(fd);
	assert_int_equal(poll(&(struct pollfd){ fd, POLLOUT | POLLIN, 0 }, 1,
	    50), 0);
	atomic_store(&gw_release, 1);

	/* The reply and "hello" came in one segment: only "hello" shows. */
	READ_EXACTLY(fd, HELLO, readv(fd, &(struct iovec){ rb, cap }, 1));

	iov[0] = (struct iovec){ "ab", 2 };
	iov[1] = (struct iovec){ "c", 1 };
	assert_int_equal(writev(fd, iov, 2), 3);
	READ_EXACTLY(fd, "abc", __read_chk(fd, rb, cap, cap));

	assert_true((file = open("/tmp", O_RDWR | O_TMPFILE, 0600)) >= 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "def", 3), 3);
	assert_int_equal(splice(p[0], NULL, fd, NULL, 3, 0), 3);
	READ_EXACTLY(fd, "def", __recv_chk(fd, rb, cap, cap, 0));

	assert_int_equal(pwritev2(fd, &(struct iovec){ "ghi", 3 }, 1, -1, 0),
	    3);
	READ_EXACTLY(fd, "ghi", __recvfrom_chk(fd, rb, cap, cap, 0, NULL,
	    NULL));

	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr.msg_iov = &(struct iovec){ "jkl", 3 };
	mm.msg_hdr.msg_iovlen = 1;
	assert_int_equal(sendmmsg(fd, &mm, 1, 0), 1);
	READ_EXACTLY(fd, "jkl", preadv2(fd, &(struct iovec){ rb, cap }, 1,
	    -1, 0));

	/* sendfile from a file; the echo read through splice to a pipe. */
	assert_int_equal(pwrite(file, "mno", 3, 0), 3);
	assert_int_equal(sendfile(fd, file, &(off_t){ 0 }, 3), 3);
	READ_EXACTLY(fd, "mno", splice(fd, NULL, p[1], NULL, cap, 0) > 0 ?
	    read(p[0], rb, cap) : -1);
	assert_int_equal(atomic_load(&gw_early), 0);
	close(file);
	close(p[0]);
	close(p[1]);
	close(fd);
}

/*
 * No wait at all: a write on a socket whose exchange can finish at
 * once finishes it and goes ahead, as on a connected socket.
 */
static void
test_pendio_write_finishes_exchange(void **state)
{
	int fd, i;
	ssize_t n = -1;

	(void)state;
	fd = start("ok.pendio.example", 1);
	for (i = 0; i < BOUND_MS / 10; i++) {
		if ((n = writev(fd, &(struct iovec){ "abc", 3 }, 1)) != -1)
			break;
		assert_int_equal(errno, EAGAIN);
		usleep(10 * 1000);
	}
	assert_int_equal(n, 3);
	READ_EXACTLY(fd, HELLO "abc", __read_chk(fd, rb, cap, cap));
	close(fd);
}

/*
 * A refused exchange: the mapped error once (the first read-like call,
 * as for a refused connect), then end-of-file, never the bytes the
 * gateway sent after its reply; a write fails with EPIPE.
 */
static void
test_pendio_refused_reads_eof(void **state)
{
	char buf[64];
	socklen_t len = sizeof(int);
	ssize_t n = -1;
	int fd, i, err = -1;

	(void)state;
	fd = start("refuse.pendio.example", 1);
	for (i = 0; i < BOUND_MS / 10; i++) {
		if ((n = readv(fd, &(struct iovec){ buf, sizeof(buf) }, 1)) !=
		    -1 || errno != EAGAIN)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(n, -1);
	assert_int_equal(errno, ECONNREFUSED);
	usleep(100 * 1000);	/* the junk has come by now */
	assert_int_equal(readv(fd, &(struct iovec){ buf, sizeof(buf) }, 1), 0);
	assert_int_equal(__read_chk(fd, buf, sizeof(buf), sizeof(buf)), 0);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
	errno = 0;
	assert_int_equal(writev(fd, &(struct iovec){ "x", 1 }, 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	close(fd);
}

/*
 * A timed-out exchange: POLLERR and ETIMEDOUT in SO_ERROR; the reply
 * the gateway sends after that is never read as data.
 */
static void
test_pendio_timeout_late_reply_unread(void **state)
{
	struct pollfd pfd;
	char buf[64];
	socklen_t len = sizeof(int);
	int fd, err = 0;

	(void)state;
	fd = start("late.pendio.example", 1);
	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	assert_int_equal(poll(&pfd, 1, BOUND_MS), 1);
	assert_true(pfd.revents & POLLERR);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ETIMEDOUT);
	usleep(1200 * 1000);	/* the late reply and "hello" are out */
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);
	assert_int_equal(readv(fd, &(struct iovec){ buf, sizeof(buf) }, 1), 0);
	close(fd);
}

/*
 * A socket made blocking again while pending: a read waits for the
 * tunnel instead of saying EAGAIN. A blocking connect is never pending.
 */
static void *
release_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	atomic_store(&gw_release, 1);
	return NULL;
}

static void
test_pendio_blocking(void **state)
{
	pthread_t t;
	char buf[8];
	int fd;

	(void)state;
	fd = start("hold.blocking.pendio.example", 1);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK),
	    0);
	assert_int_equal(pthread_create(&t, NULL, release_later, NULL), 0);
	assert_int_equal(readv(fd, &(struct iovec){ buf, 5 }, 1), 5);
	assert_memory_equal(buf, HELLO, 5);
	pthread_join(t, NULL);
	close(fd);

	fd = start("ok.blocking.pendio.example", 0);
	assert_int_equal(pending_state(fd, NULL), PENDING_NONE);
	assert_int_equal(writev(fd, &(struct iovec){ "z", 1 }, 1), 1);
	READ_EXACTLY(fd, HELLO "z", readv(fd, &(struct iovec){ rb, cap },
	    1));
	close(fd);
}

static volatile sig_atomic_t got_usr1;

static void
on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

/*
 * pselect on a pending socket: writable once the tunnel is open, and a
 * signal blocked by the thread's mask is taken only by a pselect whose
 * mask lets it through (EINTR), not by one whose mask keeps it out.
 */
static void
test_pendio_pselect(void **state)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	sigset_t block, old, open_mask;
	fd_set wr;
	socklen_t len = sizeof(int);
	int fd, r, err = -1;

	(void)state;
	signal(SIGUSR1, on_usr1);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	open_mask = old;
	sigdelset(&open_mask, SIGUSR1);

	fd = start("hold.pselect.pendio.example", 1);
	got_usr1 = 0;
	pthread_kill(pthread_self(), SIGUSR1);
	FD_ZERO(&wr);
	FD_SET(fd, &wr);
	/* Kept out: times out, the tunnel still held. */
	r = pselect(fd + 1, NULL, &wr, NULL, &ts, &block);
	assert_int_equal(r, 0);
	assert_int_equal(got_usr1, 0);
	/* Let through: taken inside the wait. */
	FD_ZERO(&wr);
	FD_SET(fd, &wr);
	ts.tv_sec = BOUND_MS / 1000;
	ts.tv_nsec = 0;
	errno = 0;
	r = pselect(fd + 1, NULL, &wr, NULL, &ts, &open_mask);
	assert_int_equal(r, -1);
	assert_int_equal(errno, EINTR);
	assert_int_equal(got_usr1, 1);

	atomic_store(&gw_release, 1);
	FD_ZERO(&wr);
	FD_SET(fd, &wr);
	r = pselect(fd + 1, NULL, &wr, NULL, &ts, &open_mask);
	assert_int_equal(r, 1);
	assert_true(FD_ISSET(fd, &wr));
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	assert_int_equal(pending_state(fd, NULL), PENDING_NONE);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(fd);
}

/*
 * epoll_pwait2 (glibc 2.35) on a pending socket: nothing while the
 * gateway holds its reply, then the program's own event and data.
 */
static void
test_pendio_epoll_pwait2(void **state)
{
	struct epoll_event ev, got;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	socklen_t len = sizeof(int);
	int fd, ep, err = -1;

	(void)state;
	fd = start("hold.pwait2.pendio.example", 1);
	assert_true((ep = epoll_create1(EPOLL_CLOEXEC)) >= 0);
	ev.events = EPOLLOUT;
	ev.data.u64 = 0x5eed;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(epoll_pwait2(ep, &got, 1, &ts, NULL), 0);
	atomic_store(&gw_release, 1);
	ts.tv_sec = BOUND_MS / 1000;
	ts.tv_nsec = 0;
	assert_int_equal(epoll_pwait2(ep, &got, 1, &ts, NULL), 1);
	assert_int_equal(got.data.u64, 0x5eed);
	assert_true(got.events & EPOLLOUT);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	close(ep);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_pendio_held_then_exact, reset),
		cmocka_unit_test_setup(test_pendio_write_finishes_exchange,
		    reset),
		cmocka_unit_test_setup(test_pendio_refused_reads_eof, reset),
		cmocka_unit_test_setup(test_pendio_timeout_late_reply_unread,
		    reset),
		cmocka_unit_test_setup(test_pendio_blocking, reset),
		cmocka_unit_test_setup(test_pendio_pselect, reset),
		cmocka_unit_test_setup(test_pendio_epoll_pwait2, reset),
	};

	return cmocka_run_group_tests(tests, setup, fakegw_teardown);
}
