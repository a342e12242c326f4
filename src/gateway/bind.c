/*
 * bind.c - BIND, the connection that comes back (RFC 1928 section 4).
 *
 * A client that needs its server to connect to it (FTP's active mode)
 * asks the gateway to listen on its behalf. RFC 3089 section 5.1 makes
 * this work across the families: the gateway listens on an address of
 * the family that reaches the expected peer, which may be one the client
 * itself lacks. The mechanism (the listener, the wait) comes first,
 * pure of policy; bind_command() at the end runs the command for a
 * session: who may be the peer, the two replies, the relay.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

/*
 * The address this host sends from to reach toward: a UDP socket is
 * connect()ed there (no packet leaves; the kernel only picks a route
 * and a source) and asked for its own name. Returns 0 or -1 with errno
 * (ENETUNREACH when there is no route).
 */
int
bind_local_toward(const struct sockaddr *toward, struct sockaddr_storage *out)
{
	socklen_t	len = sizeof(*out);
	int		fd;

	if (addr_len(toward) == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	fd = socket(toward->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(out, 0, sizeof(*out));
	if (connect(fd, toward, addr_len(toward)) == -1 ||
	    getsockname(fd, (struct sockaddr *)out, &len) == -1)
		return mech_close_fail(fd);
	close(fd);
	addr_set_port((struct sockaddr *)out, 0);
	return 0;
}

int
bind_listen(const struct sockaddr *toward, const struct sockaddr *ctl_local,
    struct sockaddr_storage *bnd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(*bnd);
	int			 fd;

	/*
	 * Toward the peer when there is one. With none (a wildcard
	 * BIND), or no route, the address the client reached us on: the
	 * one it can best tell its peer about.
	 */
	if (toward == NULL || bind_local_toward(toward, &ss) == -1) {
		if (toward != NULL && toward->sa_family != ctl_local->sa_family)
			return -1;	/* errno from bind_local_toward */
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ctl_local, addr_len(ctl_local));
		addr_set_port((struct sockaddr *)&ss, 0);
	}
	/* A small backlog: peers beyond the expected one are refused anyway. */
	if ((fd = listen_open((struct sockaddr *)&ss,
	    addr_len((struct sockaddr *)&ss), 4)) == -1)
		return -1;
	if (getsockname(fd, (struct sockaddr *)bnd, &len) == -1)
		return mech_close_fail(fd);
	return fd;
}

int
bind_peer_expected(const struct dial_addrs *expect, const struct sockaddr *peer)
{
	size_t	i;

	if (expect->n == 0)
		return 1;
	/* The address alone: a peer connects from whatever port it likes. */
	for (i = 0; i < expect->n; i++)
		if (addr_equal((const struct sockaddr *)&expect->v[i], peer, 0))
			return 1;
	return 0;
}

/*
 * Whether the client gave up: its end closed or failed. Bytes it sent
 * early stay queued (they are relayed once the peer is there), so once
 * some are seen the control connection is no longer read from here.
 */
static int
bind_client_gone(int ctl, int *watch)
{
	uint8_t	b;
	ssize_t	n;

	n = recv(ctl, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		*watch = 0;
		return 0;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return 1;
}

int
bind_accept(int lfd, int ctl, int64_t deadline, struct sockaddr_storage *peer)
{
	struct pollfd	pfd[2];
	socklen_t	len;
	int64_t		left;
	int		fd, watch = 1;

	for (;;) {
		len = sizeof(*peer);
		fd = accept4(lfd, (struct sockaddr *)peer, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1)
			return fd;
		/* A peer that reset before we got to it is no failure. */
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			return -1;
		if ((left = deadline - mech_now_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctl;
		pfd[1].events = watch ? POLLIN : 0;
		if (poll(pfd, 2, (int)left) == -1 && errno != EINTR)
			return -1;
		if ((pfd[1].revents & (POLLERR | POLLHUP)) ||
		    ((pfd[1].revents & POLLIN) &&
		    bind_client_gone(ctl, &watch))) {
			errno = ECONNRESET;
			return -1;
		}
	}
}

/*
 * Whether peer may be the one a BIND waits for: one of the addresses
 * the request named or, when it named none, one the rules pass.
 */
static int
bind_peer_ok(struct session *s, const struct sockaddr_storage *peer)
{
	struct verdict	v;

	if (s->addrs->n > 0)
		return bind_peer_expected(s->addrs,
		    (const struct sockaddr *)peer);
	v = session_policy(s, (const struct sockaddr *)peer);
	return v.action == RULE_PASS && v.via == NULL;
}

/*
 * Accepts connections on lfd until the peer bind_peer_ok() wants comes,
 * within the bind timeout; others are closed (and counted in the log).
 * Returns the peer's fd, its address in *peer, or -1 with errno as
 * bind_accept() left it.
 */
static int
bind_wait_peer(struct session *s, int lfd, struct sockaddr_storage *peer)
{
	char		buf[ADDR_STRLEN];
	int64_t		deadline;
	unsigned int	turned = 0;
	int		fd;

	deadline = mech_now_ms() + (int64_t)s->conf->bind_timeout * 1000;
	while ((fd = bind_accept(lfd, s->cfd, deadline, peer)) != -1 &&
	    !bind_peer_ok(s, peer)) {
		log_debug("session=%" PRIu64 " bind turned away %s", s->id,
		    addr_format((struct sockaddr *)peer, buf, sizeof(buf)));
		close(fd);
		turned++;
	}
	/* The log functions keep errno: bind_accept()'s reaches the caller. */
	if (turned > 0)
		log_info("session=%" PRIu64 " bind turned away %u peers",
		    s->id, turned);
	return fd;
}

/*
 * BIND (RFC 1928 section 4): listen where the expected peer can reach
 * us, first reply with that address, accept the peer within the bind
 * timeout (others are turned away meanwhile), second reply with the
 * peer's address, then relay. No peer in time: X'06' as second reply.
 */
int
bind_command(struct session *s)
{
	struct sockaddr_storage	 ctl, bnd, peer;
	const struct chain	*via;
	socklen_t		 len = sizeof(ctl);
	int			 lfd, fd;

	if (session_route(s, &via) == -1)
		return -1;
	if (via != NULL)
		return chain_command(s, via);
	memset(&ctl, 0, sizeof(ctl));
	if (getsockname(s->cfd, (struct sockaddr *)&ctl, &len) == -1 ||
	    (lfd = bind_listen(s->addrs->n > 0 ?
	    (struct sockaddr *)&s->addrs->v[0] : NULL,
	    (struct sockaddr *)&ctl, &bnd)) == -1) {
		session_fail(s, "cannot listen", errno);
		(void)session_reply(s, socks5_rep_from_errno(errno), NULL);
		return -1;
	}
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char buf[ADDR_STRLEN];

		log_debug("session=%" PRIu64 " bind listening on %s", s->id,
		    addr_format((struct sockaddr *)&bnd, buf, sizeof(buf)));
	}
	if (session_reply(s, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd)
	    == -1) {
		close(lfd);
		return -1;
	}
	fd = bind_wait_peer(s, lfd, &peer);
	close(lfd);
	if (fd == -1) {
		if (errno == ECONNRESET) {
			session_fail(s, "client left before the peer came", 0);
			return -1;
		}
		session_fail(s, errno == ETIMEDOUT ? "no peer in time" :
		    "accept failed", errno == ETIMEDOUT ? 0 : errno);
		(void)session_reply(s, socks5_rep_from_errno(errno), NULL);
		return -1;
	}
	s->dfd = fd;
	s->via = peer;
	if (session_reply(s, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&peer)
	    == -1)
		return -1;
	return session_relay(s);
}
