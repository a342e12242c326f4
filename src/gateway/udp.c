/*
 * udp.c - UDP ASSOCIATE: the datagram relay (RFC 1928 sections 6 and 7).
 *
 * An association is a TCP control connection plus datagrams: the client
 * sends each one to our client-side socket with a header naming its
 * destination; we strip the header, apply the rules to that destination
 * and send the payload from a socket of the destination's family (RFC
 * 3089 section 5.1: the client need not have that family). A datagram
 * coming back gets a header naming its source and goes to the client.
 * One thread (the session's) polls the control connection and the
 * sockets; the association ends when the control connection does.
 * udp_command() at the end sets one up for a session.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"
#include "ownaddr.h"

#define UDP_BUF		(SOCKS5_UDP_HEADER_MAX + 65535)
#define UDP_BATCH	16	/* datagrams per socket per wake-up */
#define UDP_NAMES	16	/* names resolved per association */
#define UDP_NAME_MS	60000	/* how long a resolution is reused */
#define UDP_NONAME_MS	5000	/* and a failed one */
#define UDP_PEERS	32	/* destinations remembered by name */
#define UDP_DROP_LOGS	8	/* debug lines on drops, then quiet */

/* A name the client sent to, as resolved here (RFC 3089 section 3). */
struct udp_name {
	char			 name[256];
	int64_t			 expires;	/* ms; 0: free slot */
	int			 ok;		/* 0: the look-up failed */
	struct dial_addrs	 addrs;		/* in the family order */
};

/* Where a datagram sent by name went, so the reply can carry the name. */
struct udp_peer {
	struct sockaddr_storage	 addr;		/* with port */
	char			 name[256];
};

struct udp_state {
	struct udp_assoc	*a;
	int			 out[2];	/* AF_INET, AF_INET6, or -1 */
	struct sockaddr_storage	 client;	/* where replies go */
	int			 have_client;
	struct udp_name		 names[UDP_NAMES];
	size_t			 next_name;
	struct udp_peer		 peers[UDP_PEERS];
	size_t			 next_peer;
	unsigned int		 drop_logs;
	uint8_t			 buf[UDP_BUF];
};

int
udp_expect(const struct socks5_addr *dst, const struct sockaddr *ctl_peer,
    struct sockaddr_storage *out)
{
	struct sockaddr_storage	ss;
	unsigned int		len = sizeof(ss);

	memset(out, 0, sizeof(*out));
	memcpy(out, ctl_peer, addr_len(ctl_peer));
	memset(&ss, 0, sizeof(ss));
	if (dst->atyp != SOCKS5_ATYP_DOMAIN &&
	    socks5_addr_to_sockaddr(dst, (struct sockaddr *)&ss, &len) == 0) {
		addr_unmap(&ss);
		if (!addr_is_unspecified((struct sockaddr *)&ss)) {
			if (ss.ss_family != ctl_peer->sa_family) {
				errno = EAFNOSUPPORT;
				return -1;
			}
			memcpy(out, &ss, sizeof(ss));
		}
	}
	addr_set_port((struct sockaddr *)out, dst->port);
	return 0;
}

int
udp_client_ok(const struct sockaddr *expect, const struct sockaddr *src)
{
	uint16_t	port = addr_port(expect);

	return addr_equal(expect, src, 0) &&
	    (port == 0 || port == addr_port(src));
}

long
udp_wrap(uint8_t *buf, size_t off, const struct socks5_addr *from)
{
	uint8_t	hdr[SOCKS5_UDP_HEADER_MAX];
	int	n;

	n = socks5_encode_udp_header(hdr, sizeof(hdr), from);
	if (n < 0 || (size_t)n > off)
		return -1;
	memcpy(buf + off - (size_t)n, hdr, (size_t)n);
	return (long)(off - (size_t)n);
}

/* A UDP socket of family af; IPv6 ones never carry mapped IPv4. */
static int
udp_socket(int af)
{
	int	fd, on = 1;

	if ((fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return -1;
	if (af == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
	    sizeof(on)) == -1)
		return mech_close_fail(fd);
	return fd;
}

int
udp_open(const struct sockaddr *local, struct sockaddr_storage *bnd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(*bnd);
	int			fd;

	if ((fd = udp_socket(local->sa_family)) == -1)
		return -1;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, local, addr_len(local));
	addr_set_port((struct sockaddr *)&ss, 0);
	if (bind(fd, (struct sockaddr *)&ss, addr_len(local)) == -1 ||
	    getsockname(fd, (struct sockaddr *)bnd, &len) == -1)
		return mech_close_fail(fd);
	return fd;
}

/* Counts a datagram not relayed; the first few are told at debug. */
static void
udp_drop(struct udp_state *st, const char *why,
    const struct sockaddr_storage *from)
{
	char	buf[ADDR_STRLEN];

	st->a->dropped++;
	if (st->drop_logs >= UDP_DROP_LOGS || !log_enabled(LOG_LEVEL_DEBUG))
		return;
	st->drop_logs++;
	log_debug("session=%" PRIu64 " udp dropped from=%s: %s",
	    st->a->session, addr_format((const struct sockaddr *)from, buf,
	    sizeof(buf)), why);
}

/*
 * Whether the rules pass a datagram to (or from) name and addr at port;
 * addr NULL asks on the name alone, before it is looked up.
 */
static int
udp_allowed(struct udp_state *st, const char *name,
    const struct sockaddr_storage *addr, uint16_t port)
{
	struct policy_query	q;
	struct verdict		v;

	memset(&q, 0, sizeof(q));
	q.client = st->a->tcp_client;
	q.user = st->a->user;
	q.cmd = SOCKS5_CMD_UDP;
	q.name = name;
	q.addr = (const struct sockaddr *)addr;
	q.port = port;
	v = ownaddr_policy(st->a->conf, &q);
	/* A chaining rule cannot be followed by a datagram: not relayed. */
	return v.action == RULE_PASS && v.via == NULL;
}

/* The addresses a name stands for, looked up at most once a minute. */
static const struct udp_name *
udp_resolve(struct udp_state *st, const struct socks5_addr *dst)
{
	struct udp_name	*e;
	const char	*why;
	uint8_t		 rep;
	int64_t		 now = mech_now_ms();
	size_t		 i;

	for (i = 0; i < UDP_NAMES; i++) {
		e = &st->names[i];
		if (e->expires > now && strcmp(e->name, dst->name) == 0)
			return e;
	}
	e = &st->names[st->next_name];
	st->next_name = (st->next_name + 1) % UDP_NAMES;
	memcpy(e->name, dst->name, sizeof(e->name));
	/* The relay waits meanwhile: as long as a connect may take. */
	e->ok = dial_resolve(dst, now + (int64_t)st->a->conf->connect_timeout *
	    1000, &e->addrs, &rep, &why) == 0 &&
	    dial_order(&e->addrs, st->a->conf->family) > 0;
	e->expires = now + (e->ok ? UDP_NAME_MS : UDP_NONAME_MS);
	if (log_enabled(LOG_LEVEL_DEBUG)) {
		char	name[LOG_SAFE_SIZE(255)];

		log_debug("session=%" PRIu64 " udp resolved %s addresses=%zu",
		    st->a->session, log_safe(dst->name, name, sizeof(name)),
		    e->ok ? e->addrs.n : 0);
	}
	return e;
}

/* The socket datagrams to family af leave from, made on first use. */
static int
udp_out(struct udp_state *st, int af)
{
	int	i = af == AF_INET6;

	if (af != AF_INET && af != AF_INET6)
		return -1;
	if (st->out[i] == -1)
		st->out[i] = udp_socket(af);
	return st->out[i];
}

/*
 * Picks where a datagram for dst goes: a literal as is, a name through
 * the cache, the first address (in the family order) the rules pass.
 * Returns the socket to send it from, or -1 with *why.
 */
static int
udp_route(struct udp_state *st, const struct socks5_addr *dst,
    struct sockaddr_storage *to, const char **why)
{
	const struct udp_name	*e;
	unsigned int		 len = sizeof(*to);
	size_t			 i;
	int			 fd;

	memset(to, 0, sizeof(*to));
	if (dst->atyp != SOCKS5_ATYP_DOMAIN) {
		if (socks5_addr_to_sockaddr(dst, (struct sockaddr *)to,
		    &len) == -1) {
			*why = "unusable address";
			return -1;
		}
		addr_unmap(to);
		if (!udp_allowed(st, NULL, to, dst->port)) {
			*why = "denied by policy";
			return -1;
		}
		/* "family ipv4-only" and kin hold for literals too. */
		if ((to->ss_family == AF_INET6 &&
		    st->a->conf->family == FAMILY_IPV4_ONLY) ||
		    (to->ss_family == AF_INET &&
		    st->a->conf->family == FAMILY_IPV6_ONLY)) {
			*why = "family not allowed";
			return -1;
		}
		if ((fd = udp_out(st, to->ss_family)) == -1)
			*why = "no socket of that family";
		return fd;
	}
	/* As for CONNECT: a name the rules block is never looked up. */
	if (!udp_allowed(st, dst->name, NULL, dst->port)) {
		*why = "denied by policy";
		return -1;
	}
	e = udp_resolve(st, dst);
	*why = e->ok ? "denied by policy" : "name not resolved";
	for (i = 0; e->ok && i < e->addrs.n; i++) {
		*to = e->addrs.v[i];
		addr_set_port((struct sockaddr *)to, dst->port);
		if (udp_allowed(st, dst->name, to, dst->port) &&
		    (fd = udp_out(st, to->ss_family)) != -1)
			return fd;
	}
	return -1;
}

/* Remembers that to was reached by name (replies will carry it). */
static void
udp_remember(struct udp_state *st, const struct sockaddr_storage *to,
    const char *name)
{
	struct udp_peer	*p = NULL;
	size_t		 i;

	for (i = 0; i < UDP_PEERS && p == NULL; i++)
		if (addr_equal((const struct sockaddr *)&st->peers[i].addr,
		    (const struct sockaddr *)to, 1))
			p = &st->peers[i];
	if (p == NULL) {
		p = &st->peers[st->next_peer];
		st->next_peer = (st->next_peer + 1) % UDP_PEERS;
	}
	p->addr = *to;
	memcpy(p->name, name, strlen(name) + 1);
}

static const char *
udp_peer_name(const struct udp_state *st, const struct sockaddr_storage *from)
{
	size_t	i;

	for (i = 0; i < UDP_PEERS; i++)
		if (st->peers[i].name[0] != '\0' && addr_equal(
		    (const struct sockaddr *)&st->peers[i].addr,
		    (const struct sockaddr *)from, 1))
			return st->peers[i].name;
	return NULL;
}

/* Datagrams from the client: check, unwrap, route, send. */
static int
udp_from_client(struct udp_state *st)
{
	struct udp_assoc		*a = st->a;
	struct socks5_udp_header	 h;
	struct sockaddr_storage		 src, to;
	enum socks5_status		 rc;
	const char			*why;
	socklen_t			 slen;
	ssize_t				 n;
	size_t				 used;
	int				 i, fd, moved = 0;

	for (i = 0; i < UDP_BATCH; i++) {
		slen = sizeof(src);
		n = recvfrom(a->cli, st->buf, sizeof(st->buf), 0,
		    (struct sockaddr *)&src, &slen);
		if (n == -1)
			break;
		/* RFC 1928 section 7: only the client's own datagrams. */
		if (!udp_client_ok((struct sockaddr *)&a->expect,
		    (struct sockaddr *)&src)) {
			udp_drop(st, "not the client's address", &src);
			continue;
		}
		st->client = src;
		st->have_client = 1;
		rc = socks5_parse_udp_header(st->buf, (size_t)n, &h, &used);
		if (rc != SOCKS5_OK) {
			/* We do not reassemble: a fragment is dropped. */
			udp_drop(st, rc == SOCKS5_ERR_FRAGMENT ? "fragment" :
			    socks5_status_str(rc), &src);
			continue;
		}
		if ((fd = udp_route(st, &h.dst, &to, &why)) == -1) {
			udp_drop(st, why, &src);
			continue;
		}
		if (sendto(fd, st->buf + used, (size_t)n - used, 0,
		    (struct sockaddr *)&to, addr_len((struct sockaddr *)&to))
		    == -1) {
			udp_drop(st, "send failed", &src);
			continue;
		}
		if (h.dst.atyp == SOCKS5_ATYP_DOMAIN)
			udp_remember(st, &to, h.dst.name);
		a->up_dgrams++;
		a->up_bytes += (size_t)n - used;
		moved = 1;
	}
	return moved;
}

/* Datagrams from the world on socket fd: check, wrap, send on. */
static int
udp_from_remote(struct udp_state *st, int fd)
{
	struct udp_assoc	*a = st->a;
	struct sockaddr_storage	 src;
	struct socks5_addr	 from;
	const char		*name;
	socklen_t		 slen;
	ssize_t			 n;
	long			 off;
	int			 i, moved = 0;

	for (i = 0; i < UDP_BATCH; i++) {
		slen = sizeof(src);
		n = recvfrom(fd, st->buf + SOCKS5_UDP_HEADER_MAX,
		    sizeof(st->buf) - SOCKS5_UDP_HEADER_MAX, 0,
		    (struct sockaddr *)&src, &slen);
		if (n == -1)
			break;
		if (!st->have_client) {
			udp_drop(st, "no client address yet", &src);
			continue;
		}
		name = udp_peer_name(st, &src);
		if (!udp_allowed(st, name, &src,
		    addr_port((struct sockaddr *)&src))) {
			udp_drop(st, "source denied by policy", &src);
			continue;
		}
		/* A peer the client named gets its name back, not ours. */
		memset(&from, 0, sizeof(from));
		if (name != NULL) {
			from.atyp = SOCKS5_ATYP_DOMAIN;
			memcpy(from.name, name, strlen(name) + 1);
			from.port = addr_port((struct sockaddr *)&src);
		} else
			(void)socks5_addr_from_sockaddr(&from,
			    (struct sockaddr *)&src);
		off = udp_wrap(st->buf, SOCKS5_UDP_HEADER_MAX, &from);
		if (off < 0 || sendto(a->cli, st->buf + off,
		    (size_t)(SOCKS5_UDP_HEADER_MAX - off) + (size_t)n, 0,
		    (struct sockaddr *)&st->client,
		    addr_len((struct sockaddr *)&st->client)) == -1) {
			udp_drop(st, "send to client failed", &src);
			continue;
		}
		a->down_dgrams++;
		a->down_bytes += (size_t)n;
		moved = 1;
	}
	return moved;
}

/*
 * The control connection carries nothing after the reply; whatever the
 * client sends is discarded. Returns 1 at its end, 0 to go on, -1 on a
 * failure (a->err).
 */
static int
udp_control(struct udp_assoc *a)
{
	uint8_t	scratch[512];
	ssize_t	n;

	n = recv(a->ctl, scratch, sizeof(scratch), 0);
	if (n > 0 || (n == -1 && (errno == EAGAIN || errno == EINTR)))
		return 0;
	if (n == 0)
		return 1;
	a->err = errno;
	return -1;
}

int
udp_run(struct udp_assoc *a)
{
	struct udp_state	*st;
	struct pollfd		 pfd[4];
	int64_t			 last, now, idle_ms;
	int			 rc = -1, r, i;

	a->up_dgrams = a->up_bytes = a->down_dgrams = a->down_bytes = 0;
	a->dropped = 0;
	a->end = "error";
	a->err = 0;
	/* ~150 KiB of buffer and caches: the heap, not a thread stack. */
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		a->err = errno;
		return -1;
	}
	st->a = a;
	st->out[0] = st->out[1] = -1;
	idle_ms = (int64_t)a->conf->idle_timeout * 1000;
	last = mech_now_ms();
	for (;;) {
		now = mech_now_ms();
		/* Only relayed datagrams count: drops keep nothing alive. */
		if (now - last >= idle_ms) {
			a->end = "idle";
			break;
		}
		pfd[0].fd = a->ctl;
		pfd[1].fd = a->cli;
		pfd[2].fd = st->out[0];
		pfd[3].fd = st->out[1];
		for (i = 0; i < 4; i++)
			pfd[i].events = POLLIN;
		if (poll(pfd, 4, (int)(last + idle_ms - now)) == -1) {
			if (errno == EINTR)
				continue;
			a->err = errno;
			break;
		}
		if (pfd[0].revents != 0 && (r = udp_control(a)) != 0) {
			if (r == 1) {
				a->end = "eof";
				rc = 0;
			}
			break;
		}
		if (pfd[1].revents != 0 && udp_from_client(st))
			last = mech_now_ms();
		for (i = 0; i < 2; i++)
			if (pfd[2 + i].revents != 0 &&
			    udp_from_remote(st, st->out[i]))
				last = mech_now_ms();
	}
	for (i = 0; i < 2; i++)
		if (st->out[i] != -1)
			close(st->out[i]);
	free(st);
	return rc;
}

/*
 * UDP ASSOCIATE (RFC 1928 sections 6-7): a client-side socket on the
 * address the client reached us on, the reply naming it, then the
 * datagram relay until the control connection ends.
 */
int
udp_command(struct session *s)
{
	struct udp_assoc	*a = &s->udp;
	struct policy_query	 q;
	struct verdict		 v;
	struct sockaddr_storage	 ctl, bnd;
	socklen_t		 len = sizeof(ctl);
	int			 rc = -1;

	/* The rules are per datagram; refuse at once if none could pass. */
	memset(&q, 0, sizeof(q));
	q.client = (struct sockaddr *)&s->client;
	q.user = s->user[0] != '\0' ? s->user : NULL;
	q.cmd = SOCKS5_CMD_UDP;
	v = policy_command(s->conf, &q);
	if (v.action == RULE_BLOCK) {
		session_denied(s, &v);
		return -1;
	}
	a->conf = s->conf;
	a->session = s->id;
	a->ctl = s->cfd;
	a->tcp_client = (struct sockaddr *)&s->client;
	a->user = q.user;
	if (udp_expect(&s->req.dst, (struct sockaddr *)&s->client,
	    &a->expect) == -1) {
		session_fail(s, "client address of another family", 0);
		(void)session_reply(s, SOCKS5_REP_ATYP_UNSUPPORTED, NULL);
		return -1;
	}
	memset(&ctl, 0, sizeof(ctl));
	if (getsockname(s->cfd, (struct sockaddr *)&ctl, &len) == -1 ||
	    (a->cli = udp_open((struct sockaddr *)&ctl, &bnd)) == -1) {
		session_fail(s, "cannot open UDP socket", errno);
		(void)session_reply(s, socks5_rep_from_errno(errno), NULL);
		return -1;
	}
	if (session_reply(s, SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&bnd)
	    == 0) {
		rc = udp_run(a);
		s->relay.up = a->up_bytes;
		s->relay.down = a->down_bytes;
		s->udp_ran = 1;
		if (rc == -1)
			session_fail(s, a->end, a->err);
	}
	close(a->cli);
	return rc;
}
