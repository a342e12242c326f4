/*
 * chain.c - handing a request on to the next SOCKS5 gateway.
 *
 * RFC 3089 section 4 chains gateways: each relays to the next, which
 * its own rules name, until the last one reaches the destination. Here
 * this gateway is a SOCKS5 client of the next hop, speaking through the
 * shared codec. The request goes on as the client made it: a name stays
 * a name, so only the last gateway (the one that can reach the
 * destination's family) resolves it, and the hop's replies are passed
 * on to the client verbatim (chain_command(), at the end).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

static int
chain_fail(struct chain_result *res, uint8_t rep, int err, const char *why)
{
	res->rep = rep;
	res->err = err;
	res->why = why;
	return -1;
}

/*
 * Reads more from the hop into res->buf before deadline; with ctl >= 0
 * a client that leaves meanwhile ends the wait. Returns 0 when bytes
 * came, -1 after chain_fail().
 */
static int
chain_fill(struct chain_result *res, int ctl, int64_t deadline)
{
	struct pollfd	pfd[2];
	ssize_t		n;
	int64_t		left;

	for (;;) {
		if (res->len == sizeof(res->buf))
			return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
			    "next hop sent too much");
		n = recv(res->fd, res->buf + res->len,
		    sizeof(res->buf) - res->len, 0);
		if (n > 0) {
			res->len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
			    "next hop closed");
		if (errno != EAGAIN && errno != EINTR)
			return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE,
			    errno, "next hop read error");
		if ((left = deadline - mech_now_ms()) <= 0)
			return chain_fail(res, SOCKS5_REP_TTL_EXPIRED,
			    ETIMEDOUT, "next hop did not answer in time");
		pfd[0].fd = res->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = ctl;
		pfd[1].events = POLLIN;
		if (poll(pfd, ctl >= 0 ? 2 : 1, (int)left) == -1 &&
		    errno != EINTR)
			return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE,
			    errno, "poll");
		if (ctl >= 0 && pfd[1].revents != 0) {
			uint8_t	b;

			n = recv(ctl, &b, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n == 0 || (n == -1 && errno != EAGAIN &&
			    errno != EINTR))
				return chain_fail(res,
				    SOCKS5_REP_GENERAL_FAILURE, ECONNRESET,
				    "client closed");
			/* Early client bytes wait in the socket: unwatch. */
			ctl = -1;
		}
	}
}

static void
chain_consume(struct chain_result *res, size_t n)
{
	memmove(res->buf, res->buf + n, res->len - n);
	res->len -= n;
}

static int
chain_send(struct chain_result *res, const uint8_t *buf, int len,
    int64_t deadline)
{
	int64_t	left = deadline - mech_now_ms();

	if (len < 0)
		return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
		    "cannot encode for next hop");
	if (left <= 0 || relay_write_all(res->fd, buf, (size_t)len,
	    (unsigned int)left) == -1)
		return chain_fail(res, left <= 0 || errno == ETIMEDOUT ?
		    SOCKS5_REP_TTL_EXPIRED : SOCKS5_REP_GENERAL_FAILURE,
		    left <= 0 ? ETIMEDOUT : errno, "next hop write error");
	return 0;
}

/*
 * RFC 1928 section 3 and RFC 1929 as a client: only the method the
 * chain is configured for is offered, so a hop cannot talk us out of
 * the credentials its operator expects.
 */
static int
chain_negotiate(const struct chain *h, struct chain_result *res,
    int64_t deadline)
{
	enum socks5_status	st;
	uint8_t			buf[SOCKS5_USERPASS_MAX], method, status;
	uint8_t			want = h->user[0] != '\0' ?
				    SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	size_t			used;
	int			len, rc;

	if (chain_send(res, buf, socks5_encode_greeting(buf, sizeof(buf),
	    &want, 1), deadline) == -1)
		return -1;
	while ((st = socks5_parse_method_choice(res->buf, res->len, &method,
	    &used)) == SOCKS5_NEED_MORE)
		if (chain_fill(res, -1, deadline) == -1)
			return -1;
	if (st != SOCKS5_OK || method != want)
		return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
		    "next hop refused our authentication method");
	chain_consume(res, used);
	if (want == SOCKS5_METHOD_NONE)
		return 0;

	len = socks5_encode_userpass(buf, sizeof(buf), h->user, h->pass);
	rc = chain_send(res, buf, len, deadline);
	explicit_bzero(buf, sizeof(buf));
	if (rc == -1)
		return -1;
	while ((st = socks5_parse_userpass_status(res->buf, res->len, &status,
	    &used)) == SOCKS5_NEED_MORE)
		if (chain_fill(res, -1, deadline) == -1)
			return -1;
	if (st != SOCKS5_OK)
		return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
		    "next hop sent a bad authentication status");
	/* Its rules would not have us: "not allowed" says so best. */
	if (status != 0x00)
		return chain_fail(res, SOCKS5_REP_NOT_ALLOWED, 0,
		    "next hop refused our credentials");
	chain_consume(res, used);
	return 0;
}

int
chain_read_reply(struct chain_result *res, int ctl, int64_t deadline)
{
	enum socks5_status	st;
	size_t			used;

	while ((st = socks5_parse_reply(res->buf, res->len, &res->reply,
	    &used)) == SOCKS5_NEED_MORE)
		if (chain_fill(res, ctl, deadline) == -1)
			return -1;
	if (st != SOCKS5_OK)
		return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, 0,
		    "next hop sent a bad reply");
	memcpy(res->raw, res->buf, used);
	res->rawlen = used;
	chain_consume(res, used);
	return 0;
}

int
chain_open(const struct chain *h, uint8_t cmd, const struct socks5_addr *dst,
    unsigned int timeout_ms, struct chain_result *res)
{
	struct dial_addrs	*hop;
	struct dial_result	 dr;
	uint8_t			 buf[SOCKS5_REQUEST_MAX];
	int64_t			 deadline;
	int			 rc;

	memset(res, 0, sizeof(*res));
	res->fd = -1;
	/*
	 * On the heap, not the stack: struct dial_addrs is 4 KiB, and a
	 * page of stack touched once stays with a session thread that is
	 * kept for the next client.
	 */
	if ((hop = malloc(sizeof(*hop))) == NULL)
		return chain_fail(res, SOCKS5_REP_GENERAL_FAILURE, ENOMEM,
		    "out of memory");
	memcpy(&hop->v[0], &h->addr, sizeof(h->addr));
	hop->n = 1;
	rc = dial_connect(hop, FAMILY_IPV6_FIRST, 0, timeout_ms, &dr);
	free(hop);
	if (rc == -1)
		return chain_fail(res, dr.rep, dr.err,
		    "next hop connect failed");
	res->fd = dr.fd;
	deadline = mech_now_ms() + timeout_ms;
	if (chain_negotiate(h, res, deadline) == -1 ||
	    chain_send(res, buf, socks5_encode_request(buf, sizeof(buf), cmd,
	    dst), deadline) == -1 ||
	    chain_read_reply(res, -1, deadline) == -1) {
		close(res->fd);
		res->fd = -1;
		return -1;
	}
	return 0;
}

/* Passes the next hop's reply on as it came; 0 if it said success. */
static int
chain_pass_reply(struct session *s)
{
	s->rep = s->hop.reply.rep;
	if (session_send(s, s->hop.raw, (int)s->hop.rawlen) == -1)
		return -1;
	if (s->hop.reply.rep != SOCKS5_REP_SUCCEEDED) {
		session_fail(s, "next hop failed", 0);
		return -1;
	}
	return 0;
}

/*
 * CONNECT or BIND through the next gateway (RFC 3089 section 4): the
 * request as the client made it, the hop's replies verbatim (BIND's
 * two), then the relay. A hop we cannot reach or talk to gets our own
 * reply, from its errno.
 */
int
chain_command(struct session *s, const struct chain *h)
{
	struct gw_conf	*c = s->conf;
	size_t		 early;
	int		 rc;

	s->chain = h;
	if (chain_open(h, s->req.cmd, &s->req.dst, c->connect_timeout * 1000u,
	    &s->hop) == -1) {
		session_fail(s, s->hop.why, s->hop.err);
		(void)session_reply(s, s->hop.rep, NULL);
		return -1;
	}
	s->dfd = s->hop.fd;
	memcpy(&s->via, &h->addr, sizeof(h->addr));
	if (chain_pass_reply(s) == -1)
		return -1;
	if (s->req.cmd == SOCKS5_CMD_BIND) {
		if (chain_read_reply(&s->hop, s->cfd, mech_now_ms() +
		    (int64_t)c->bind_timeout * 1000) == -1) {
			session_fail(s, s->hop.why, s->hop.err);
			if (s->hop.err != ECONNRESET)
				(void)session_reply(s, s->hop.rep, NULL);
			return -1;
		}
		if (chain_pass_reply(s) == -1)
			return -1;
	}
	/* What the far end sent right behind the reply comes first. */
	early = s->hop.len;
	if (early > 0 && relay_write_all(s->cfd, s->hop.buf, early,
	    c->idle_timeout * 1000u) == -1) {
		session_fail(s, "client write error", errno);
		return -1;
	}
	rc = session_relay(s);
	s->relay.down += early;
	return rc;
}
