/*
 * fakegw_test.h - what the shim's tests against a fake gateway share:
 * a loopback listener whose every connection runs the test's own
 * session function in a thread, a reader that takes one SOCKS5 message
 * byte by byte (so what the client pipelined stays in the socket), the
 * process's configuration pointed at that gateway before any hook
 * loads it, and fake addresses as getaddrinfo would hand them out.
 *
 * Included by exactly one file per test binary (cmocka.h first).
 */
#ifndef FAKEGW_TEST_H
#define FAKEGW_TEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/shim.h"
#include "socks5.h"

static int fakegw_listen = -1;
static void *(*fakegw_session)(void *);	/* gets the fd as intptr_t */
static char fakegw_conf_path[64];

/* One greeting (request 0) or request (1) into *out: 0, or -1. */
static inline int
fakegw_read(int fd, uint8_t *buf, size_t cap, int request, void *out)
{
	size_t len = 0, used;
	enum socks5_status st;

	while (len < cap && read(fd, buf + len, 1) == 1) {
		len++;
		st = request ? socks5_parse_request(buf, len, out, &used) :
		    socks5_parse_greeting(buf, len, out, &used);
		if (st == SOCKS5_OK)
			return 0;
		if (st != SOCKS5_NEED_MORE)
			return -1;
	}
	return -1;
}

static inline void *
fakegw_accept(void *arg)
{
	pthread_t t;
	int fd;

	(void)arg;
	while ((fd = accept(fakegw_listen, NULL, NULL)) != -1) {
		if (pthread_create(&t, NULL, fakegw_session,
		    (void *)(intptr_t)fd) != 0) {
			close(fd);
			continue;
		}
		pthread_detach(t);
	}
	return NULL;
}

/*
 * Starts the gateway on 127.0.0.1 (session runs each connection) and
 * makes it the process's gateway, with the configuration lines conf
 * after its "gateway" line. Returns its port, or 0 on failure.
 */
static inline uint16_t
fakegw_start_conf(void *(*session)(void *), const char *name,
    const char *conf)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	pthread_t t;
	char text[256];
	int fd;

	fakegw_session = session;
	fakegw_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fakegw_listen, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fakegw_listen, 256) == -1 ||
	    getsockname(fakegw_listen, (struct sockaddr *)&sin, &len) == -1 ||
	    pthread_create(&t, NULL, fakegw_accept, NULL) != 0)
		return 0;
	pthread_detach(t);
	snprintf(fakegw_conf_path, sizeof(fakegw_conf_path), "/tmp/%s.XXXXXX",
	    name);
	if ((fd = mkstemp(fakegw_conf_path)) == -1)
		return 0;
	snprintf(text, sizeof(text), "gateway 127.0.0.1:%u\n%s",
	    ntohs(sin.sin_port), conf);
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return 0;
	}
	close(fd);
	unsetenv("SOCKS64_GATEWAY");
	/* Before the first hook loads the configuration. */
	if (shim_conf_set_path(fakegw_conf_path) == -1 ||
	    !shim_conf()->enabled)
		return 0;
	return ntohs(sin.sin_port);
}

/*
 * fakegw_start_conf with the synchronous exchange: these tests expect a
 * non-blocking connect to be open once it returns (the async tests ask
 * for the default, 'async yes', themselves).
 */
static inline uint16_t
fakegw_start(void *(*session)(void *), const char *name)
{
	return fakegw_start_conf(session, name, "timeout 3000\nasync no\n");
}

static inline int
fakegw_teardown(void **state)
{
	(void)state;
	unlink(fakegw_conf_path);
	return 0;
}

/* The fake address for name in family, with port: its length. */
static inline socklen_t
fakegw_fake(const char *name, int family, uint16_t port,
    struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	assert_int_equal(fakeip_assign(name, family, (struct sockaddr *)ss,
	    &len), 0);
	assert_true(fakeip_in_range((struct sockaddr *)ss));
	addr_set_port((struct sockaddr *)ss, port);
	return addr_len((struct sockaddr *)ss);
}

#endif /* FAKEGW_TEST_H */
