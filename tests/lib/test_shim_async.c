/*
 * test_shim_async.c - non-blocking connects through the gateway that
 * do not block (pending.c, poll.c): EINPROGRESS at once, the exchange
 * driven by poll, select and epoll (level and edge triggered), a
 * refusal in SO_ERROR, a timeout, and 100 connects pending at once.
 *
 * The fake gateway answers by the name asked for: ok.* at once, slow.*
 * after 500 ms, refuse.* with X'05', silent.* never; a tunnel echoes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "fakegw_test.h"

#define NSLOW	100

static uint16_t gw_port;
static atomic_int connects_returned;	/* EINPROGRESS seen so far */
static atomic_int seen_at_first_reply = -1;

static void *
gw_session(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct socks5_greeting g;
	struct socks5_request req;
	uint8_t buf[600], choice[2] = { 5, 0 };
	ssize_t n;
	int len, rep = SOCKS5_REP_SUCCEEDED, expect = -1;

	if (fakegw_read(fd, buf, sizeof(buf), 0, &g) == -1 ||
	    write(fd, choice, 2) != 2 ||
	    fakegw_read(fd, buf, sizeof(buf), 1, &req) == -1)
		goto out;
	if (strncmp(req.dst.name, "silent.", 7) == 0) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		goto out;
	}
	if (strncmp(req.dst.name, "slow.", 5) == 0) {
		usleep(500 * 1000);
		atomic_compare_exchange_strong(&seen_at_first_reply, &expect,
		    atomic_load(&connects_returned));
	}
	if (strncmp(req.dst.name, "refuse.", 7) == 0)
		rep = SOCKS5_REP_CONN_REFUSED;
	len = socks5_encode_reply(buf, sizeof(buf), (uint8_t)rep, NULL);
	if (write(fd, buf, (size_t)len) != len || rep != 0)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
out:
	close(fd);
	return NULL;
}

/* The fake gateway, with the async directive and a short timeout. */
static int
setup(void **state)
{
	(void)state;
	if ((gw_port = fakegw_start_conf(gw_session, "shim_async",
	    "timeout 1500\nasync yes\n")) == 0 ||
	    !shim_conf()->async)
		return -1;
	return 0;
}

/* A non-blocking socket connecting to name:80; asserts EINPROGRESS. */
static int
start(const char *name, int family)
{
	struct sockaddr_storage ss;
	socklen_t len = fakegw_fake(name, family, 80, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EINPROGRESS);
	return fd;
}

static int
so_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = -1;

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	return err;
}

/* One byte there and back: the first byte read is the echo's. */
static void
echo(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c = 0;

	assert_int_equal(send(fd, "x", 1, 0), 1);
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_int_equal(recv(fd, &c, 1, 0), 1);
	assert_int_equal(c, 'x');
}

static void
test_async_poll_ok(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct pollfd p;
	char c;
	int fd = start("slow.poll.example", AF_INET);

	(void)state;
	/* As a connecting socket: no data, no peer, nothing to report. */
	assert_int_equal(recv(fd, &c, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(send(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&ss, &len), -1);
	assert_int_equal(errno, ENOTCONN);
	assert_int_equal(so_error(fd), 0);
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_int_equal(p.revents, POLLOUT);
	assert_int_equal(so_error(fd), 0);
	len = sizeof(ss);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&ss, &len), 0);
	assert_true(fakeip_in_range((struct sockaddr *)&ss));
	echo(fd);
	close(fd);
}

static void
test_async_poll_refused(void **state)
{
	struct pollfd p;
	int fd = start("refuse.example", AF_INET6);

	(void)state;
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_true(p.revents & POLLERR);
	assert_true(p.revents & POLLOUT);
	assert_int_equal(so_error(fd), ECONNREFUSED);
	assert_int_equal(so_error(fd), 0);	/* once, as the kernel's */
	close(fd);
}

static void
test_async_timeout(void **state)
{
	struct pollfd p;
	int fd = start("silent.example", AF_INET);

	(void)state;
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_true(p.revents & POLLERR);
	assert_int_equal(so_error(fd), ETIMEDOUT);
	close(fd);
}

static void
test_async_select(void **state)
{
	struct timeval tv = { 3, 0 };
	fd_set w;
	int fd = start("ok.select.example", AF_INET);

	(void)state;
	FD_ZERO(&w);
	FD_SET(fd, &w);
	assert_int_equal(select(fd + 1, NULL, &w, NULL, &tv), 1);
	assert_true(FD_ISSET(fd, &w));
	assert_int_equal(so_error(fd), 0);
	echo(fd);
	close(fd);
}

static void
epoll_case(int et)
{
	struct epoll_event ev, out[4];
	int ep = epoll_create1(0), fd = start("slow.epoll.example", AF_INET);
	int n, i;

	assert_true(ep >= 0);
	ev.events = EPOLLOUT | (et ? EPOLLET : 0);
	ev.data.u64 = 0x5eed;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 4, 0), 0);
	n = epoll_wait(ep, out, 4, 3000);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].data.u64, 0x5eed);
	assert_int_equal(out[0].events, EPOLLOUT);
	assert_int_equal(so_error(fd), 0);
	/* Level: reported again; edge: not until something changes. */
	n = epoll_wait(ep, out, 4, 0);
	assert_int_equal(n, et ? 0 : 1);
	ev.events = EPOLLIN | (et ? EPOLLET : 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
	assert_int_equal(send(fd, "y", 1, 0), 1);
	for (i = 0; i < 30 && (n = epoll_wait(ep, out, 4, 100)) == 0; i++)
		;
	assert_int_equal(n, 1);
	assert_int_equal(out[0].events, EPOLLIN);
	close(fd);
	close(ep);
}

static void
test_async_epoll_lt(void **state)
{
	(void)state;
	epoll_case(0);
}

static void
test_async_epoll_et(void **state)
{
	(void)state;
	epoll_case(1);
}

static void
test_async_epoll_refused(void **state)
{
	struct epoll_event ev, out[4];
	int ep = epoll_create1(0), fd = start("refuse.epoll.example", AF_INET);

	ev.events = EPOLLOUT;
	ev.data.u64 = 7;
	(void)state;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(epoll_wait(ep, out, 4, 3000), 1);
	assert_int_equal(out[0].data.u64, 7);
	assert_true(out[0].events & EPOLLERR);
	assert_int_equal(so_error(fd), ECONNREFUSED);
	close(fd);
	close(ep);
}

/*
 * A program that asks connect() again instead of waiting (as older
 * code does): EALREADY while the exchange goes on, and the asking
 * itself moves it, so EISCONN comes without any poll.
 */
static void
test_async_connect_again(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = fakegw_fake("slow.again.example", AF_INET, 80, &ss);
	int fd = start("slow.again.example", AF_INET), i, r = 0;

	(void)state;
	for (i = 0; i < 300; i++) {
		if ((r = connect(fd, (struct sockaddr *)&ss, len)) == -1 &&
		    errno == EALREADY) {
			usleep(10 * 1000);
			continue;
		}
		break;
	}
	assert_int_equal(r, -1);
	assert_int_equal(errno, EISCONN);
	assert_true(i > 0);
	echo(fd);
	close(fd);
}

/*
 * The socket in an edge-triggered epoll set before connect() (nginx
 * registers upstream sockets so): the kernel may report it writable
 * once the gateway has accepted, before the tunnel is open; a send
 * then says EAGAIN, and the program still hears of it again.
 */
static void
test_async_epoll_registered_before(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = fakegw_fake("slow.early.example", AF_INET, 80, &ss);
	struct epoll_event ev, out[4];
	int ep = epoll_create1(0), i, n, sent = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	char c = 0;

	(void)state;
	assert_true(ep >= 0 && fd >= 0);
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.u64 = 0xea51;
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EINPROGRESS);
	for (i = 0; i < 40 && !sent; i++) {
		if ((n = epoll_wait(ep, out, 4, 100)) <= 0)
			continue;
		assert_int_equal(out[0].data.u64, 0xea51);
		if (!(out[0].events & EPOLLOUT) || so_error(fd) != 0)
			continue;
		if (send(fd, "z", 1, 0) == 1)
			sent = 1;
		else
			assert_int_equal(errno, EAGAIN);
	}
	assert_true(sent);
	for (i = 0; i < 30 && recv(fd, &c, 1, 0) != 1; i++)
		(void)epoll_wait(ep, out, 4, 100);
	assert_int_equal(c, 'z');
	close(fd);
	close(ep);
}

/*
 * 100 connects to a gateway that answers each after 500 ms: every
 * connect() returns before the first answer is written, and one poll
 * loop sees them all through.
 */
static void
test_async_hundred(void **state)
{
	struct pollfd p[NSLOW];
	int i, left = NSLOW, n;
	long long t0 = socks_now_ms();

	(void)state;
	atomic_store(&connects_returned, 0);
	atomic_store(&seen_at_first_reply, -1);
	for (i = 0; i < NSLOW; i++) {
		p[i].fd = start("slow.many.example", i % 2 ? AF_INET6 : AF_INET);
		p[i].events = POLLOUT;
		atomic_fetch_add(&connects_returned, 1);
	}
	while (left > 0 && socks_now_ms() - t0 < 20000) {
		n = poll(p, NSLOW, 1000);
		assert_true(n >= 0);
		for (i = 0; i < NSLOW; i++) {
			if (p[i].fd < 0 || p[i].revents == 0)
				continue;
			assert_int_equal(p[i].revents, POLLOUT);
			assert_int_equal(so_error(p[i].fd), 0);
			close(p[i].fd);
			p[i].fd = -1;
			left--;
		}
	}
	assert_int_equal(left, 0);
	assert_int_equal(atomic_load(&seen_at_first_reply), NSLOW);
	assert_false(pending_active());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_async_poll_ok),
		cmocka_unit_test(test_async_poll_refused),
		cmocka_unit_test(test_async_timeout),
		cmocka_unit_test(test_async_select),
		cmocka_unit_test(test_async_epoll_lt),
		cmocka_unit_test(test_async_epoll_et),
		cmocka_unit_test(test_async_epoll_refused),
		cmocka_unit_test(test_async_connect_again),
		cmocka_unit_test(test_async_epoll_registered_before),
		cmocka_unit_test(test_async_hundred),
	};

	return cmocka_run_group_tests(tests, setup, fakegw_teardown);
}
