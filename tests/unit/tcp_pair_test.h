/*
 * tcp_pair_test.h - the socket pair the relay tests relay between: a
 * connected loopback TCP pair, *outer blocking with 20 s timeouts (a
 * relay that gives up must fail the test, not hang it), *inner
 * nonblocking as the gateway holds its sockets. Include after
 * <cmocka.h>.
 */
#ifndef SOCKS64_TCP_PAIR_TEST_H
#define SOCKS64_TCP_PAIR_TEST_H

#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void
tcp_pair(int *outer, int *inner)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { 20, 0 };
	socklen_t		len = sizeof(sin);
	int			ls;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	*outer = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(*outer, SOL_SOCKET, SO_SNDTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(setsockopt(*outer, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)), 0);
	assert_int_equal(connect(*outer, (struct sockaddr *)&sin, len), 0);
	*inner = accept(ls, NULL, NULL);
	assert_true(*inner >= 0);
	assert_int_equal(fcntl(*inner, F_SETFL, O_NONBLOCK), 0);
	close(ls);
}

#endif /* SOCKS64_TCP_PAIR_TEST_H */
