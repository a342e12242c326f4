/*
 * socks.c - the SOCKS5 client exchange the shim runs on a socket that is
 * connected (or connecting) to the gateway: greeting, RFC 1929
 * authentication when a user is configured, CONNECT, reply.
 *
 * Everything is bounded by one deadline and done with MSG_DONTWAIT plus
 * poll(), so the same code serves blocking and non-blocking sockets
 * without touching their flags. The reply is read exactly: its length is
 * known once ATYP (and a name's length byte) has arrived, so not one
 * byte of the destination's data is consumed here, and the first byte
 * the program reads is the destination's.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "shim.h"
#include "socks5.h"

long long
socks_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events or the deadline passes. Returns 0,
 * or -1 with errno ETIMEDOUT. A signal does not cut the wait short: the
 * program asked for a connect, and the deadline bounds it anyway.
 */
static int
socks_wait(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	long long left;
	int r;

	for (;;) {
		left = deadline - socks_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

static int
socks_send(int fd, const uint8_t *buf, size_t len, long long deadline)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (socks_wait(fd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			errno = ECONNREFUSED;
		return -1;
	}
	return 0;
}

/*
 * Reads exactly len bytes, never more. The gateway closing the
 * connection before it answered (a client it does not admit, or a full
 * house) reads to the program as a refused connection.
 */
static int
socks_recv(int fd, uint8_t *buf, size_t len, long long deadline)
{
	ssize_t n;

	while (len > 0) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNREFUSED;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (socks_wait(fd, POLLIN, deadline) == -1)
				return -1;
			continue;
		}
		if (errno == ECONNRESET)
			errno = ECONNREFUSED;
		return -1;
	}
	return 0;
}

/*
 * The gateway's connection, if still in progress, must finish first;
 * its failure (nobody listening at the gateway) is the program's error.
 */
static int
socks_connected(int fd, long long deadline)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (socks_wait(fd, POLLOUT, deadline) == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* RFC 1929: the sub-negotiation after the gateway chose X'02'. */
static int
socks_auth(int fd, const struct shim_conf *conf, long long deadline)
{
	uint8_t buf[SOCKS5_USERPASS_MAX];
	uint8_t status;
	size_t used;
	int n;

	n = socks5_encode_userpass(buf, sizeof(buf), conf->user,
	    conf->password);
	if (n < 0) {
		errno = EINVAL;
		return -1;
	}
	if (socks_send(fd, buf, (size_t)n, deadline) == -1 ||
	    socks_recv(fd, buf, 2, deadline) == -1)
		return -1;
	if (socks5_parse_userpass_status(buf, 2, &status, &used) !=
	    SOCKS5_OK) {
		errno = ECONNREFUSED;
		return -1;
	}
	if (status != 0) {
		shim_log("gateway refused user %s", conf->user);
		errno = EACCES;
		return -1;
	}
	return 0;
}

/*
 * Reads one reply (RFC 1928 section 6): 5 bytes say how long it is,
 * then exactly the rest. Returns 0 with *rep set, or -1.
 */
static int
socks_reply(int fd, struct socks5_reply *rep, long long deadline)
{
	uint8_t buf[SOCKS5_REQUEST_MAX];
	size_t want, used;

	if (socks_recv(fd, buf, 5, deadline) == -1)
		return -1;
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		want = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		want = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAIN:
		want = 4 + 1 + (size_t)buf[4] + 2;
		break;
	default:
		errno = ECONNREFUSED;	/* not a SOCKS5 gateway */
		return -1;
	}
	if (socks_recv(fd, buf + 5, want - 5, deadline) == -1)
		return -1;
	if (socks5_parse_reply(buf, want, rep, &used) != SOCKS5_OK ||
	    used != want) {
		errno = ECONNREFUSED;
		return -1;
	}
	return 0;
}

int
socks_request(int fd, const struct shim_conf *conf, uint8_t cmd,
    const struct socks5_addr *dst, struct socks5_addr *bnd,
    long long deadline, int *answered)
{
	uint8_t buf[SOCKS5_GREETING_MAX + SOCKS5_REQUEST_MAX];
	uint8_t methods[2], method;
	struct socks5_reply rep;
	size_t nmethods = 0, used;
	int n, m, auth = conf->user[0] != '\0';

	if (answered != NULL)
		*answered = 0;
	if (socks_connected(fd, deadline) == -1)
		return -1;
	if (auth)
		methods[nmethods++] = SOCKS5_METHOD_USERPASS;
	methods[nmethods++] = SOCKS5_METHOD_NONE;
	if ((n = socks5_encode_greeting(buf, sizeof(buf), methods,
	    nmethods)) < 0)
		goto inval;
	/*
	 * Without a user the only offer is "no authentication", so the
	 * request can follow the greeting in the same segment: one round
	 * trip saved on every connection. With a user it must wait for the
	 * gateway's choice.
	 */
	if (!auth) {
		if ((m = socks5_encode_request(buf + n, sizeof(buf) - (size_t)n,
		    cmd, dst)) < 0)
			goto inval;
		n += m;
	}
	if (socks_send(fd, buf, (size_t)n, deadline) == -1 ||
	    socks_recv(fd, buf, 2, deadline) == -1)
		return -1;
	if (socks5_parse_method_choice(buf, 2, &method, &used) != SOCKS5_OK)
		goto proto;
	if (answered != NULL)
		*answered = 1;
	if (method == SOCKS5_METHOD_REFUSED) {
		shim_log("gateway accepts none of our methods%s",
		    auth ? "" : " (does it need a user and password?)");
		errno = EACCES;
		return -1;
	}
	if (method == SOCKS5_METHOD_USERPASS && auth) {
		if (socks_auth(fd, conf, deadline) == -1)
			return -1;
	} else if (method != SOCKS5_METHOD_NONE)
		goto proto;
	if (auth) {
		if ((n = socks5_encode_request(buf, sizeof(buf), cmd, dst)) < 0)
			goto inval;
		if (socks_send(fd, buf, (size_t)n, deadline) == -1)
			return -1;
	}
	if (socks_reply(fd, &rep, deadline) == -1)
		return -1;
	if (rep.rep != SOCKS5_REP_SUCCEEDED) {
		shim_debug("%s %s:%u: gateway says %s", socks5_cmd_str(cmd),
		    dst->atyp == SOCKS5_ATYP_DOMAIN ? dst->name : "(address)",
		    dst->port, socks5_rep_str(rep.rep));
		errno = socks5_errno_from_rep(rep.rep);
		return -1;
	}
	if (bnd != NULL)
		*bnd = rep.bnd;
	return 0;
inval:
	errno = EINVAL;	/* a name too long for SOCKS5 */
	return -1;
proto:
	errno = ECONNREFUSED;
	return -1;
}

int
socks_connect(int fd, const struct shim_conf *conf,
    const struct socks5_addr *dst, struct socks5_addr *bnd,
    unsigned int timeout_ms)
{
	return socks_request(fd, conf, SOCKS5_CMD_CONNECT, dst, bnd,
	    socks_now_ms() + timeout_ms, NULL);
}
