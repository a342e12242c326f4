/*
 * test_bind.c - BIND's mechanism (src/gateway/bind.c): which peers are
 * expected, which local address reaches a peer, where the listener
 * goes, and bind_accept()'s three endings (a peer, the deadline, the
 * client leaving), on loopback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct sockaddr *
ep(struct sockaddr_storage *ss, const char *text, int port)
{
	socklen_t	 len;
	const char	*why;

	if (addr_parse_endpoint(text, port, ss, &len, &why) == -1)
		fail_msg("bad test address %s: %s", text, why);
	return (const struct sockaddr *)ss;
}

static void
test_bind_peer_expected(void **state)
{
	struct dial_addrs	a;
	struct sockaddr_storage	ss;

	(void)state;
	memset(&a, 0, sizeof(a));
	/* None named: anyone. */
	assert_true(bind_peer_expected(&a, ep(&ss, "192.0.2.7", 20)));
	ep(&a.v[0], "192.0.2.1", 21);
	ep(&a.v[1], "2001:db8::1", 21);
	a.n = 2;
	/* The address decides, not the port the peer connects from. */
	assert_true(bind_peer_expected(&a, ep(&ss, "192.0.2.1", 20)));
	assert_true(bind_peer_expected(&a, ep(&ss, "2001:db8::1", 50000)));
	assert_false(bind_peer_expected(&a, ep(&ss, "192.0.2.2", 21)));
	assert_false(bind_peer_expected(&a, ep(&ss, "::ffff:192.0.2.1", 21)));
}

static void
test_bind_local_toward(void **state)
{
	struct sockaddr_storage	to, out;
	char			buf[ADDR_STRLEN];

	(void)state;
	assert_int_equal(bind_local_toward(ep(&to, "127.0.0.1", 9), &out), 0);
	assert_string_equal(addr_format((struct sockaddr *)&out, buf,
	    sizeof(buf)), "127.0.0.1:0");
	if (bind_local_toward(ep(&to, "::1", 9), &out) == 0)
		assert_string_equal(addr_format((struct sockaddr *)&out, buf,
		    sizeof(buf)), "[::1]:0");
	memset(&to, 0, sizeof(to));
	to.ss_family = AF_UNIX;
	assert_int_equal(bind_local_toward((struct sockaddr *)&to, &out), -1);
	assert_int_equal(errno, EAFNOSUPPORT);
}

/* With no peer, the control connection's address; with one, its way. */
static void
test_bind_listen_address(void **state)
{
	struct sockaddr_storage	ctl, to, bnd;
	char			buf[ADDR_STRLEN];
	int			fd;

	(void)state;
	ep(&ctl, "127.0.0.1", 1080);
	fd = bind_listen(NULL, (struct sockaddr *)&ctl, &bnd);
	assert_true(fd >= 0);
	addr_format((struct sockaddr *)&bnd, buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "127.0.0.1:", 10), 0);
	assert_int_not_equal(addr_port((struct sockaddr *)&bnd), 0);
	assert_int_not_equal(addr_port((struct sockaddr *)&bnd), 1080);
	close(fd);
	/* An IPv4 client expecting an IPv6 peer gets an IPv6 listener. */
	fd = bind_listen(ep(&to, "::1", 0), (struct sockaddr *)&ctl, &bnd);
	if (fd == -1 && errno == EAFNOSUPPORT)
		skip();
	assert_true(fd >= 0);
	assert_int_equal(bnd.ss_family, AF_INET6);
	close(fd);
}

static void
test_bind_accept_endings(void **state)
{
	struct sockaddr_storage	ctl, bnd, peer;
	int			sp[2], lfd, fd, c;
	int64_t			t0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	ep(&ctl, "127.0.0.1", 0);
	lfd = bind_listen(NULL, (struct sockaddr *)&ctl, &bnd);
	assert_true(lfd >= 0);

	/* The deadline. */
	t0 = mech_now_ms();
	assert_int_equal(bind_accept(lfd, sp[0], t0 + 200, &peer), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(mech_now_ms() - t0 >= 190);

	/* Early bytes from the client are no reason to stop waiting. */
	assert_int_equal(write(sp[1], "x", 1), 1);
	assert_int_equal(bind_accept(lfd, sp[0], mech_now_ms() + 200, &peer),
	    -1);
	assert_int_equal(errno, ETIMEDOUT);

	/* A peer. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&bnd,
	    addr_len((struct sockaddr *)&bnd)), 0);
	fd = bind_accept(lfd, sp[0], mech_now_ms() + 2000, &peer);
	assert_true(fd >= 0);
	assert_true(addr_equal((struct sockaddr *)&peer,
	    (struct sockaddr *)&ctl, 0));
	close(fd);
	close(c);

	/* The client leaving (its byte still unread). */
	close(sp[1]);
	t0 = mech_now_ms();
	assert_int_equal(bind_accept(lfd, sp[0], t0 + 5000, &peer), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_true(mech_now_ms() - t0 < 1000);
	close(sp[0]);
	close(lfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_peer_expected),
		cmocka_unit_test(test_bind_local_toward),
		cmocka_unit_test(test_bind_listen_address),
		cmocka_unit_test(test_bind_accept_endings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
