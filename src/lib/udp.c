/*
 * udp.c - datagrams to fake addresses go through a SOCKS5 UDP
 * association (RFC 1928 sections 6-7, RFC 3089 section 5.1): the data
 * path hooks sendto, sendmsg, sendmmsg, send, write, recvfrom, recvmsg,
 * recvmmsg, recv and read.
 *
 * A UDP socket that sends to a fake address (or to a real one that goes
 * through the gateway) gets an association of its own on its first
 * datagram: a TCP control connection to the gateway carrying UDP
 * ASSOCIATE, and the relay address the reply names. Each datagram then
 * goes to the relay with the request header naming its destination
 * (the NAME for a fake address), and each one coming back from the
 * relay has its header stripped and its source given as the program
 * knows it: the fake address of the name, or the address itself. The
 * program sees ordinary datagrams from its destination.
 *
 * The control connection must live as long as the association, so here
 * the shim does keep a descriptor of its own (close-on-exec), one per
 * associated socket: the price of UDP. It is made robust rather than
 * hidden: a program that closes it under us (close_range, a daemon's
 * close-everything loop) or a gateway that ends the association is
 * noticed on a later send, and the next datagram associates again.
 * close() of the socket closes its control connection.
 *
 * libuv (so dig, and every program built on it) sends with
 * syscall(SYS_sendmmsg) and receives with syscall(SYS_recvmmsg) rather
 * than the libc wrappers; syscall() itself is a libc function, so it is
 * hooked too, for those two numbers, and so that the other data calls
 * made through it wait for a pending connect (pending.c) as their
 * wrappers do.
 *
 * Everything not ours costs one bit test (sockreg_maybe) on the paths
 * without an address, and a range compare plus the routing decision on
 * those with one. A chain of gateways does not carry UDP here: the
 * association is made with the first gateway of the first line without
 * further hops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"
#include "socks5.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN	0x20000000
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif
#ifndef UDP_GRO
#define UDP_GRO		104
#endif

/* How often a send looks whether the control connection still stands. */
#define UDP_CHECK_MS	1000
/* Room for the largest request header in front of a datagram. */
#define UDP_HDR		SOCKS5_UDP_HEADER_MAX
/* Most iovecs of one datagram (the kernel's limit, less the header's). */
#define UDP_IOV_MAX	1023

static ssize_t	(*real_sendto)(int, const void *, size_t, int,
		    const struct sockaddr *, socklen_t);
static ssize_t	(*real_sendmsg)(int, const struct msghdr *, int);
static int	(*real_sendmmsg)(int, struct mmsghdr *, unsigned int, int);
static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_write)(int, const void *, size_t);
static ssize_t	(*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
		    socklen_t *);
static ssize_t	(*real_recvmsg)(int, struct msghdr *, int);
static int	(*real_recvmmsg)(int, struct mmsghdr *, unsigned int, int,
		    struct timespec *);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static ssize_t	(*real_read)(int, void *, size_t);
static int	(*real_connect)(int, const struct sockaddr *, socklen_t);
static int	(*real_getsockname)(int, struct sockaddr *, socklen_t *);
static long	(*real_syscall)(long, ...);
static struct real_once udp_once = REAL_ONCE_INIT;

static void
udp_init(void)
{
	*(void **)&real_sendto = real_symbol("sendto");
	*(void **)&real_sendmsg = real_symbol("sendmsg");
	*(void **)&real_sendmmsg = real_symbol("sendmmsg");
	*(void **)&real_send = real_symbol("send");
	*(void **)&real_write = real_symbol("write");
	*(void **)&real_recvfrom = real_symbol("recvfrom");
	*(void **)&real_recvmsg = real_symbol("recvmsg");
	*(void **)&real_recvmmsg = real_symbol("recvmmsg");
	*(void **)&real_recv = real_symbol("recv");
	*(void **)&real_read = real_symbol("read");
	*(void **)&real_connect = real_symbol("connect");
	*(void **)&real_getsockname = real_symbol("getsockname");
	*(void **)&real_syscall = real_symbol("syscall");
}

/*
 * 1 once the real functions are loaded; 0 while this thread is
 * resolving them itself (read, write and syscall are what a program's
 * malloc may call while dlsym allocates): the hook then makes its
 * system call raw (real.c), so the program sees the kernel's answer,
 * not ENOSYS, and nothing waits on itself. errno is kept.
 */
static int
udp_load(void)
{
	return real_once(&udp_once, udp_init);
}

static int
udp_sockopt(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v;

	if (getsockopt(fd, level, name, &v, &len) == -1)
		return -1;
	return v;
}

/* ------------------------------------------------------------------ */
/* the association                                                      */

/*
 * The relay address of a reply as the socket reaches it: BND, or the
 * gateway's own address when BND is unspecified (RFC 1928 leaves that
 * to the client), IPv4-mapped for a dual-stack socket.
 */
static int
udp_relay_addr(int fd, int domain, const struct shim_path *p,
    const struct socks5_addr *bnd, struct sockaddr_storage *out,
    socklen_t *outlen)
{
	struct sockaddr_storage ss;
	unsigned int len = sizeof(ss);
	static const uint8_t zero[16];

	memset(&ss, 0, sizeof(ss));
	if (socks5_addr_to_sockaddr(bnd, (struct sockaddr *)&ss, &len) == -1 ||
	    memcmp(bnd->ip, zero, bnd->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16) ==
	    0) {
		memcpy(&ss, &p->addr, sizeof(ss));
		len = p->addr_len;
		addr_set_port((struct sockaddr *)&ss, bnd->port);
	}
	return connect_reach(fd, domain, &ss, len, out, outlen) ? 0 : -1;
}

/* Binds an unbound socket to its family's wildcard, port from the kernel. */
static int
udp_bound_port(int fd, int domain, uint16_t *port)
{
	union shim_sockaddr a;
	socklen_t len = sizeof(a);

	if (real_getsockname(fd, &a.sa, &len) == -1)
		return -1;
	if (addr_port(&a.sa) == 0) {
		memset(&a, 0, sizeof(a));
		a.sa.sa_family = (sa_family_t)domain;
		len = domain == AF_INET6 ? sizeof(a.sin6) : sizeof(a.sin);
		if (bind(fd, &a.sa, len) == -1)
			return -1;
		len = sizeof(a);
		if (real_getsockname(fd, &a.sa, &len) == -1)
			return -1;
	}
	*port = addr_port(&a.sa);
	return 0;
}

/*
 * UDP ASSOCIATE with gateway line p for the UDP socket fd (of domain,
 * replaced by one of the gateway's family if it cannot reach it). On
 * success *ctl is the control connection and relay where datagrams go.
 */
static int
udp_associate_path(int fd, int *domain, int protocol,
    const struct sockreg_entry *e, const struct shim_conf *c,
    const struct shim_path *p, long long deadline, int *ctl,
    struct sockaddr_storage *relay, socklen_t *relaylen, int *answered)
{
	struct sockaddr_storage gw;
	struct socks5_addr req, bnd;
	socklen_t gwlen;
	uint16_t port;
	int s, r, err;

	*answered = 0;
	if (!connect_reach(fd, *domain, &p->addr, p->addr_len, &gw, &gwlen)) {
		if (connect_replace(fd, p->addr.ss_family, SOCK_DGRAM,
		    protocol) == -1)
			return -1;
		*domain = p->addr.ss_family;
		/* A new socket: what was known of the old one goes with it. */
		if (e->peerlen != 0)
			(void)sockreg_set_peer(fd, &e->peer.sa, e->peerlen, 1);
	}
	if (udp_bound_port(fd, *domain, &port) == -1)
		return -1;
	s = socket(p->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0);
	if (s == -1)
		return -1;
	do
		r = real_connect(s, (const struct sockaddr *)&p->addr,
		    p->addr_len);
	while (r == -1 && errno == EINTR);
	/*
	 * The address we will send from is not known here (the gateway
	 * sees it); the port is, and lets the gateway take datagrams from
	 * this socket only.
	 */
	memset(&req, 0, sizeof(req));
	req.atyp = p->addr.ss_family == AF_INET6 ? SOCKS5_ATYP_IPV6 :
	    SOCKS5_ATYP_IPV4;
	req.port = port;
	if ((r == 0 || errno == EINPROGRESS) &&
	    socks_request(s, c, SOCKS5_CMD_UDP, &req, &bnd, deadline,
	    answered) == 0 &&
	    udp_relay_addr(fd, *domain, p, &bnd, relay, relaylen) == 0) {
		*ctl = s;
		return 0;
	}
	err = errno;
	close(s);
	errno = err;
	return -1;
}

/*
 * Makes the association of fd, refreshing *e. The exchange is bounded
 * by the configured timeout, whether fd is blocking or not.
 */
static int
udp_associate(int fd, const struct shim_conf *c, struct sockreg_entry *e)
{
	struct sockaddr_storage relay;
	socklen_t relaylen;
	long long deadline = socks_now_ms() + c->timeout_ms;
	size_t i;
	int domain, protocol, family, ctl = -1, answered = 0, r = -1;
	int err = ENETUNREACH, off = 0;

	if ((domain = udp_sockopt(fd, SOL_SOCKET, SO_DOMAIN)) == -1 ||
	    (protocol = udp_sockopt(fd, SOL_SOCKET, SO_PROTOCOL)) == -1)
		return -1;
	family = e->family != 0 ? e->family : domain;
	for (i = 0; i < c->npaths && r == -1; i++) {
		if (c->paths[i].nhops != 0)
			continue;	/* see the top of the file */
		r = udp_associate_path(fd, &domain, protocol, e, c,
		    &c->paths[i], deadline, &ctl, &relay, &relaylen,
		    &answered);
		err = errno;
		if (answered || socks_now_ms() >= deadline)
			break;
	}
	if (r == -1) {
		shim_debug("udp associate fd=%d: %s", fd, strerror(err));
		errno = err;
		return -1;
	}
	/*
	 * GRO would hand up several relayed datagrams as one buffer with
	 * a header inside each: one at a time, so each is unwrapped.
	 */
	(void)setsockopt(fd, SOL_UDP, UDP_GRO, &off, sizeof(off));
	if (sockreg_set_udp(fd, family, ctl, sockreg_cookie(ctl),
	    (struct sockaddr *)&relay, relaylen) == -1) {
		close(ctl);
		errno = ENOMEM;
		return -1;
	}
	/* A connected socket now talks to the relay, which filters for us. */
	if (e->peerlen != 0)
		(void)real_connect(fd, (struct sockaddr *)&relay, relaylen);
	if (c->debug) {
		char rs[ADDR_STRLEN];

		shim_debug("udp associate fd=%d relay=%s", fd,
		    addr_format((struct sockaddr *)&relay, rs, sizeof(rs)));
	}
	if (!sockreg_get(fd, e)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/*
 * Whether the association in e still stands: its control connection
 * is still ours (not closed under us and reused) and the gateway has
 * not closed it (it sends nothing after its reply, so anything to read
 * is the end). Looked at once per UDP_CHECK_MS.
 */
static int
udp_alive(int fd, struct sockreg_entry *e)
{
	struct pollfd p;
	long long now = socks_now_ms();
	int saved = errno;

	if (e->relaylen == 0)
		return 0;
	if (now - e->checked_ms < UDP_CHECK_MS)
		return 1;
	p.fd = e->ctl;
	p.events = POLLIN | POLLRDHUP;
	p.revents = 0;
	if (sockreg_cookie(e->ctl) != e->ctl_cookie ||
	    poll(&p, 1, 0) != 0) {
		shim_debug("udp fd=%d: association ended; associating again",
		    fd);
		sockreg_drop_udp(fd, e->ctl_cookie);
		errno = saved;
		return 0;
	}
	sockreg_checked(fd, e->ctl_cookie, now);
	errno = saved;
	return 1;
}

/* ------------------------------------------------------------------ */
/* sending                                                              */

/*
 * Sends the datagram in msg (its name ignored) to dst through fd's
 * association, made first if need be. Returns the payload bytes sent,
 * or -1 with errno.
 */
static ssize_t
udp_send_via(int fd, const struct shim_conf *c, const struct msghdr *msg,
    int flags, const struct socks5_addr *dst)
{
	struct sockreg_entry e;
	struct cmsghdr *cm;
	struct msghdr m;
	uint8_t hdr[UDP_HDR];
	size_t i;
	ssize_t n;
	int hlen;

	if (msg->msg_iovlen > UDP_IOV_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	/*
	 * GSO would cut the wrapped datagram into segments of which only
	 * the first has a header: refuse it as an interface without GSO
	 * does (EIO), which QUIC stacks answer by sending one at a time.
	 */
	for (cm = CMSG_FIRSTHDR(msg); cm != NULL;
	    cm = CMSG_NXTHDR((struct msghdr *)msg, cm))
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_SEGMENT) {
			errno = EIO;
			return -1;
		}
	if ((hlen = socks5_encode_udp_header(hdr, sizeof(hdr), dst)) < 0) {
		errno = EINVAL;
		return -1;
	}
	memset(&e, 0, sizeof(e));
	e.ctl = -1;
	if ((!sockreg_get(fd, &e) || !udp_alive(fd, &e)) &&
	    udp_associate(fd, c, &e) == -1)
		return -1;
	{
		struct iovec iov[msg->msg_iovlen + 1];

		iov[0].iov_base = hdr;
		iov[0].iov_len = (size_t)hlen;
		for (i = 0; i < msg->msg_iovlen; i++)
			iov[i + 1] = msg->msg_iov[i];
		m = *msg;
		m.msg_name = &e.relay;
		m.msg_namelen = e.relaylen;
		m.msg_iov = iov;
		m.msg_iovlen = msg->msg_iovlen + 1;
		n = real_sendmsg(fd, &m, flags & ~MSG_FASTOPEN);
	}
	if (n == -1)
		return -1;
	return n >= hlen ? n - hlen : 0;
}

/*
 * Where a datagram from fd to sa (NULL: the socket's connected peer)
 * goes. Returns ROUTE_GATEWAY with *dst and *conf set, ROUTE_TRY for a
 * real address that goes direct unless there is no route, ROUTE_DIRECT
 * for everything else (the real call), or -1 with errno.
 */
static int
udp_route(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct shim_conf **conf, struct socks5_addr *dst)
{
	struct sockreg_entry e;
	int r, type;

	if (sa == NULL) {
		if (!sockreg_maybe(fd) || !sockreg_get(fd, &e) || !e.udp ||
		    e.peerlen == 0)
			return ROUTE_DIRECT;
		sa = &e.peer.sa;
		salen = e.peerlen;
		if ((r = connect_classify(sa, salen, conf, dst)) == ROUTE_TRY)
			r = ROUTE_GATEWAY;	/* connect found no route */
		return r;
	}
	if ((r = connect_classify(sa, salen, conf, dst)) == ROUTE_DIRECT ||
	    r == -1)
		return r;
	/* Only datagram sockets; TCP ignores a sendto address anyway. */
	if ((type = udp_sockopt(fd, SOL_SOCKET, SO_TYPE)) != SOCK_DGRAM)
		return type == -1 ? -1 : ROUTE_DIRECT;
	return r;
}

/*
 * The body of every send hook: msg as the program gave it (msg_name
 * NULL for send and write). Returns 1 with *n set if it sent (or
 * failed) through the gateway, 0 if the real call is to be made.
 */
int
udp_send(int fd, const struct msghdr *msg, int flags, ssize_t *n)
{
	const struct shim_conf *c;
	struct socks5_addr dst;
	int r, saved = errno;

	/* A TCP socket whose SOCKS exchange goes on (pending.c). */
	if (pending_io(fd, flags, n))
		return 1;
	r = udp_route(fd, msg->msg_name, msg->msg_namelen, &c, &dst);
	if (r == ROUTE_DIRECT) {
		errno = saved;
		return 0;
	}
	if (r == -1) {
		*n = -1;
		return 1;
	}
	if (r == ROUTE_TRY) {
		/* Direct, unless the kernel knows no route. */
		errno = saved;
		if ((*n = real_sendmsg(fd, msg, flags)) != -1 ||
		    errno != ENETUNREACH)
			return 1;
	}
	errno = saved;
	*n = udp_send_via(fd, c, msg, flags, &dst);
	return 1;
}

static void
udp_msg(struct msghdr *m, struct iovec *iov, const void *buf, size_t len,
    const struct sockaddr *sa, socklen_t salen)
{
	memset(m, 0, sizeof(*m));
	iov->iov_base = (void *)buf;
	iov->iov_len = len;
	m->msg_iov = iov;
	m->msg_iovlen = 1;
	m->msg_name = (void *)sa;
	m->msg_namelen = sa != NULL ? salen : 0;
}

/* ------------------------------------------------------------------ */
/* receiving                                                            */

/* An IPv4 address in a as the IPv4-mapped IPv6 one, in place. */
static void
udp_map4(union shim_sockaddr *a, socklen_t *len)
{
	struct sockaddr_in v4 = a->sin;

	memset(a, 0, sizeof(*a));
	a->sin6.sin6_family = AF_INET6;
	a->sin6.sin6_port = v4.sin_port;
	a->sin6.sin6_addr.s6_addr[10] = 0xff;
	a->sin6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a->sin6.sin6_addr.s6_addr[12], &v4.sin_addr, 4);
	*len = sizeof(a->sin6);
}

/* Whether a and b are the same address and port. */
static int
udp_same(const struct sockaddr *a, const struct sockaddr *b)
{
	return addr_equal(a, b, 1);
}

/*
 * The source of a relayed datagram as the program knows it, of its
 * family: the fake address of a name (the connected peer's own form
 * when it is that name), the address itself, IPv4-mapped for an IPv6
 * socket, or the fake address standing for an IPv6 literal on an IPv4
 * socket (as getaddrinfo would have handed it out).
 */
static int
udp_source(const struct sockreg_entry *e, int family,
    const struct socks5_addr *from, union shim_sockaddr *out,
    socklen_t *outlen)
{
	char name[256], text[INET6_ADDRSTRLEN];
	unsigned int len = sizeof(*out);
	socklen_t flen;
	int fam = family;

	memset(out, 0, sizeof(*out));
	if (from->atyp == SOCKS5_ATYP_DOMAIN) {
		if (e->peerlen != 0 && fakeip_lookup(&e->peer.sa, name,
		    sizeof(name)) && strcmp(name, from->name) == 0) {
			memcpy(out, &e->peer, e->peerlen);
			*outlen = e->peerlen;
			addr_set_port(&out->sa, from->port);
			return 0;
		}
		memcpy(name, from->name, sizeof(name));
	} else if (from->atyp == SOCKS5_ATYP_IPV6 && family == AF_INET) {
		if (inet_ntop(AF_INET6, from->ip, text, sizeof(text)) == NULL)
			return -1;
		memcpy(name, text, sizeof(text));
	} else {
		if (socks5_addr_to_sockaddr(from, &out->sa, &len) == -1)
			return -1;
		*outlen = len;
		if (family == AF_INET6 && out->sa.sa_family == AF_INET)
			udp_map4(out, outlen);
		return 0;
	}
	/* An IPv6 program on a host without IPv6 has mapped fakes. */
	if (family == AF_INET6 && (delegate_answer_families(AF_INET6,
	    AI_V4MAPPED, hostfam_get()) & HOSTFAM_V6) == 0)
		fam = AF_INET;
	flen = sizeof(*out);
	if (fakeip_assign(name, fam, &out->sa, &flen) == -1)
		return -1;
	addr_set_port(&out->sa, from->port);
	*outlen = fam == AF_INET ? sizeof(out->sin) : sizeof(out->sin6);
	if (fam != family)
		udp_map4(out, outlen);
	return 0;
}

/*
 * The datagram the kernel put in hdr (first UDP_HDR bytes) and buf
 * (the rest, len bytes of room), got bytes of it, with a header of skip
 * bytes to drop: the payload moved to the front of buf. Returns how
 * many payload bytes buf now holds.
 */
static size_t
udp_unwrap(const uint8_t *hdr, char *buf, size_t len, size_t got,
    size_t skip)
{
	size_t a, b, keep;

	a = (got < UDP_HDR ? got : UDP_HDR) - skip;	/* payload in hdr */
	b = got > UDP_HDR ? got - UDP_HDR : 0;		/* payload in buf */
	if (a < len) {
		keep = b < len - a ? b : len - a;
		memmove(buf + a, buf, keep);
	} else
		keep = 0;
	memcpy(buf, hdr + skip, a < len ? a : len);
	return (a < len ? a : len) + keep;
}

/*
 * Receives one datagram on fd (an associated socket, entry e) into
 * buf/len, as recvmsg would with msg's name and control buffers:
 * datagrams from the relay unwrapped, others as they came (a socket
 * may also talk to real peers directly). Relayed datagrams that are
 * malformed, fragments (FRAG != 0), or, on a connected socket, not from
 * its peer are dropped, as the kernel drops what a connected socket
 * does not want. Returns the payload length as recvmsg would.
 */
static ssize_t
udp_recv_one(int fd, const struct sockreg_entry *e, char *buf, size_t len,
    struct msghdr *msg, int flags)
{
	struct socks5_udp_header uh;
	union shim_sockaddr from, src;
	struct iovec iov[2];
	struct msghdr m;
	uint8_t hdr[UDP_HDR];
	socklen_t srclen;
	size_t used, got, skip, n;
	ssize_t r;
	int family = e->family != 0 ? e->family : e->relay.sa.sa_family;

	for (;;) {
		memset(&m, 0, sizeof(m));
		iov[0].iov_base = hdr;
		iov[0].iov_len = sizeof(hdr);
		iov[1].iov_base = buf;
		iov[1].iov_len = len;
		m.msg_iov = iov;
		m.msg_iovlen = 2;
		m.msg_name = &from;
		m.msg_namelen = sizeof(from);
		m.msg_control = msg->msg_control;
		m.msg_controllen = msg->msg_controllen;
		if ((r = real_recvmsg(fd, &m, flags)) == -1)
			return -1;
		got = (size_t)r < sizeof(hdr) + len ? (size_t)r :
		    sizeof(hdr) + len;
		skip = 0;
		memcpy(&src, &from, sizeof(src));
		srclen = m.msg_namelen;
		if (m.msg_namelen != 0 && udp_same(&from.sa, &e->relay.sa)) {
			if (socks5_parse_udp_header(hdr, got < sizeof(hdr) ?
			    got : sizeof(hdr), &uh, &used) != SOCKS5_OK ||
			    udp_source(e, family, &uh.dst, &src, &srclen) == -1)
				goto drop;
			skip = used;
		}
		if (e->peerlen != 0 && !udp_same(&src.sa, &e->peer.sa))
			goto drop;
		n = udp_unwrap(hdr, buf, len, got, skip);
		if (msg->msg_name != NULL) {
			memcpy(msg->msg_name, &src, msg->msg_namelen < srclen ?
			    msg->msg_namelen : srclen);
			msg->msg_namelen = srclen;
		}
		msg->msg_controllen = m.msg_controllen;
		msg->msg_flags = m.msg_flags & ~MSG_TRUNC;
		if ((m.msg_flags & MSG_TRUNC) || (size_t)r - skip > len)
			msg->msg_flags |= MSG_TRUNC;
		return (flags & MSG_TRUNC) ? (ssize_t)((size_t)r - skip) :
		    (ssize_t)n;
drop:
		/* A peeked datagram that is dropped must really go. */
		if (flags & MSG_PEEK)
			(void)real_recv(fd, hdr, 0, (flags & ~MSG_PEEK) |
			    MSG_DONTWAIT);
	}
}

/*
 * The body of every receive hook: 1 with *n set if fd's datagrams come
 * through an association, 0 if the real call is to be made.
 */
int
udp_recv(int fd, struct msghdr *msg, int flags, ssize_t *n)
{
	struct sockreg_entry e;
	char *tmp = NULL, *buf;
	size_t len = 0, i, off;
	int saved = errno;

	/* A TCP socket whose SOCKS exchange goes on: no SOCKS byte leaks. */
	if (!(flags & MSG_ERRQUEUE) && pending_io(fd, flags, n))
		return 1;
	/* The error queue holds what the kernel says, not datagrams. */
	if ((flags & MSG_ERRQUEUE) || !sockreg_maybe(fd) ||
	    !sockreg_get(fd, &e) || e.relaylen == 0) {
		errno = saved;
		return 0;
	}
	errno = saved;
	for (i = 0; i < msg->msg_iovlen; i++)
		len += msg->msg_iov[i].iov_len;
	if (msg->msg_iovlen == 1)
		buf = msg->msg_iov[0].iov_base;
	else if ((buf = tmp = malloc(len ? len : 1)) == NULL) {
		*n = -1;
		errno = ENOMEM;
		return 1;
	}
	*n = udp_recv_one(fd, &e, buf, len, msg, flags);
	if (tmp != NULL && *n > 0) {
		size_t left = (size_t)*n < len ? (size_t)*n : len;

		for (i = 0, off = 0; i < msg->msg_iovlen && left > 0; i++) {
			size_t k = msg->msg_iov[i].iov_len < left ?
			    msg->msg_iov[i].iov_len : left;

			memcpy(msg->msg_iov[i].iov_base, tmp + off, k);
			off += k;
			left -= k;
		}
	}
	free(tmp);
	return 1;
}

/* ------------------------------------------------------------------ */
/* the hooks                                                            */

SHIM_EXPORT ssize_t
sendto(int fd, const void *buf, size_t len, int flags,
    __CONST_SOCKADDR_ARG addr, socklen_t alen)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	struct msghdr m;
	struct iovec iov;
	ssize_t n;
	int done;

	if (!udp_load() || real_sendto == NULL || real_sendmsg == NULL)
		return real_raw(SYS_sendto, fd, (long)buf, (long)len, flags,
		    (long)sa, alen);
	if (sa != NULL && (flags & MSG_FASTOPEN)) {
		if (connect_fastopen(fd, sa, alen, &done) == -1)
			return -1;
		if (done)
			return real_sendto(fd, buf, len, flags & ~MSG_FASTOPEN,
			    NULL, 0);
	}
	udp_msg(&m, &iov, buf, len, sa, alen);
	if (udp_send(fd, &m, flags, &n))
		return n;
	return real_sendto(fd, buf, len, flags, sa, alen);
}

SHIM_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr m;
	ssize_t n;
	int done;

	if (!udp_load() || real_sendmsg == NULL)
		return real_raw(SYS_sendmsg, fd, (long)msg, flags, 0, 0, 0);
	if (msg == NULL)
		return real_sendmsg(fd, msg, flags);
	if (msg->msg_name != NULL && (flags & MSG_FASTOPEN)) {
		if (connect_fastopen(fd, msg->msg_name, msg->msg_namelen,
		    &done) == -1)
			return -1;
		if (done) {
			m = *msg;
			m.msg_name = NULL;
			m.msg_namelen = 0;
			return real_sendmsg(fd, &m, flags & ~MSG_FASTOPEN);
		}
	}
	if (udp_send(fd, msg, flags, &n))
		return n;
	return real_sendmsg(fd, msg, flags);
}

SHIM_EXPORT ssize_t
send(int fd, const void *buf, size_t len, int flags)
{
	struct msghdr m;
	struct iovec iov;
	ssize_t n;

	if (!udp_load() || real_send == NULL)
		return real_raw(SYS_sendto, fd, (long)buf, (long)len, flags, 0,
		    0);
	if (!sockreg_maybe(fd) && !pending_active())
		return real_send(fd, buf, len, flags);
	udp_msg(&m, &iov, buf, len, NULL, 0);
	if (udp_send(fd, &m, flags, &n))
		return n;
	return real_send(fd, buf, len, flags);
}

/* write() on a connected UDP socket is send() with no flags. */
SHIM_EXPORT ssize_t
write(int fd, const void *buf, size_t len)
{
	struct msghdr m;
	struct iovec iov;
	ssize_t n;

	if (!udp_load() || real_write == NULL)
		return real_raw(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
	if (!sockreg_maybe(fd) && !pending_active())
		return real_write(fd, buf, len);
	udp_msg(&m, &iov, buf, len, NULL, 0);
	if (udp_send(fd, &m, 0, &n))
		return n;
	return real_write(fd, buf, len);
}

/*
 * sendmmsg: one datagram after another through sendmsg's path when the
 * socket is ours, as the kernel's does (it stops at the first error
 * after at least one was sent).
 */
SHIM_EXPORT int
sendmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags)
{
	const struct shim_conf *c;
	struct socks5_addr dst;
	unsigned int i;
	ssize_t n;

	if (!udp_load() || real_sendmmsg == NULL)
		return (int)real_raw(SYS_sendmmsg, fd, (long)v, vlen, flags, 0,
		    0);
	/* A TCP socket whose SOCKS exchange goes on (pending.c). */
	if (vlen != 0 && v != NULL && pending_io(fd, flags, &n))
		return -1;
	if (vlen == 0 || v == NULL || udp_route(fd, v[0].msg_hdr.msg_name,
	    v[0].msg_hdr.msg_namelen, &c, &dst) == ROUTE_DIRECT)
		return real_sendmmsg(fd, v, vlen, flags);
	for (i = 0; i < vlen; i++) {
		if ((n = sendmsg(fd, &v[i].msg_hdr, flags)) == -1)
			return i > 0 ? (int)i : -1;
		v[i].msg_len = (unsigned int)n;
	}
	return (int)i;
}

SHIM_EXPORT ssize_t
recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t n;

	if (!udp_load() || real_recvmsg == NULL)
		return real_raw(SYS_recvmsg, fd, (long)msg, flags, 0, 0, 0);
	if (msg != NULL && udp_recv(fd, msg, flags, &n))
		return n;
	return real_recvmsg(fd, msg, flags);
}

SHIM_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t len, int flags,
    __SOCKADDR_ARG addr, socklen_t *alen)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct msghdr m;
	struct iovec iov;
	ssize_t n;

	if (!udp_load() || real_recvfrom == NULL)
		return real_raw(SYS_recvfrom, fd, (long)buf, (long)len, flags,
		    (long)sa, (long)alen);
	if (!sockreg_maybe(fd) && !pending_active())
		return real_recvfrom(fd, buf, len, flags, sa, alen);
	udp_msg(&m, &iov, buf, len, sa, sa != NULL && alen != NULL ?
	    *alen : 0);
	if (!udp_recv(fd, &m, flags, &n))
		return real_recvfrom(fd, buf, len, flags, sa, alen);
	if (n >= 0 && sa != NULL && alen != NULL)
		*alen = m.msg_namelen;
	return n;
}

SHIM_EXPORT ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	struct msghdr m;
	struct iovec iov;
	ssize_t n;

	if (!udp_load() || real_recv == NULL)
		return real_raw(SYS_recvfrom, fd, (long)buf, (long)len, flags,
		    0, 0);
	if (!sockreg_maybe(fd) && !pending_active())
		return real_recv(fd, buf, len, flags);
	udp_msg(&m, &iov, buf, len, NULL, 0);
	if (udp_recv(fd, &m, flags, &n))
		return n;
	return real_recv(fd, buf, len, flags);
}

/*
 * read() on an associated UDP socket is recv() with no flags. Hooked
 * because a program may read a connected socket; for every other
 * descriptor it costs one bit test.
 */
SHIM_EXPORT ssize_t
read(int fd, void *buf, size_t len)
{
	struct msghdr m;
	struct iovec iov;
	ssize_t n;

	if (!udp_load() || real_read == NULL)
		return real_raw(SYS_read, fd, (long)buf, (long)len, 0, 0, 0);
	if (!sockreg_maybe(fd) && !pending_active())
		return real_read(fd, buf, len);
	udp_msg(&m, &iov, buf, len, NULL, 0);
	if (udp_recv(fd, &m, 0, &n))
		return n;
	return real_read(fd, buf, len);
}

/*
 * recvmmsg: one datagram after another through recvmsg's path; after
 * the first, only those already waiting (MSG_WAITFORONE's meaning,
 * which is also what a caller of the kernel's gets in practice). The
 * timeout is not applied to an associated socket.
 */
SHIM_EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags,
    struct timespec *timeout)
{
	struct sockreg_entry e;
	unsigned int i;
	ssize_t n;

	if (!udp_load() || real_recvmmsg == NULL)
		return (int)real_raw(SYS_recvmmsg, fd, (long)v, vlen, flags,
		    (long)timeout, 0);
	if (vlen != 0 && v != NULL && !(flags & MSG_ERRQUEUE) &&
	    pending_io(fd, flags, &n))
		return -1;
	if (vlen == 0 || v == NULL || (flags & MSG_ERRQUEUE) ||
	    !sockreg_maybe(fd) || !sockreg_get(fd, &e) || e.relaylen == 0)
		return real_recvmmsg(fd, v, vlen, flags, timeout);
	for (i = 0; i < vlen; i++) {
		n = recvmsg(fd, &v[i].msg_hdr, i == 0 ?
		    flags & ~MSG_WAITFORONE :
		    (flags & ~MSG_WAITFORONE) | MSG_DONTWAIT);
		if (n == -1)
			return i > 0 ? (int)i : -1;
		v[i].msg_len = (unsigned int)n;
	}
	return (int)i;
}

/*
 * syscall(): the mmsg calls of programs that bypass the wrappers (see
 * the top of the file) go through the hooks above; every other number
 * goes to libc's syscall() unchanged. Six arguments are always read,
 * as libc's own syscall() does: the calling convention puts the unused
 * ones where reading them is harmless, and the kernel ignores them.
 */
/*
 * The data system calls made through syscall() on a socket whose SOCKS
 * exchange goes on: held back as their wrappers are (pending_io).
 * Returns 1 with *r set if the call must not reach the kernel yet.
 */
static int
udp_syscall_held(long nr, const long *a, long *r)
{
	ssize_t n = -1;
	int held;

	switch (nr) {
	case SYS_read:
	case SYS_write:
	case SYS_readv:
	case SYS_writev:
		held = pending_io((int)a[0], 0, &n);
		break;
	case SYS_recvfrom:
	case SYS_sendto:
		held = pending_io((int)a[0], (int)a[3], &n);
		break;
	case SYS_recvmsg:
		held = !((int)a[2] & MSG_ERRQUEUE) &&
		    pending_io((int)a[0], (int)a[2], &n);
		break;
	case SYS_sendmsg:
		held = pending_io((int)a[0], (int)a[2], &n);
		break;
	case SYS_sendfile:
		held = pending_io((int)a[0], 0, &n) ||
		    pending_io((int)a[1], 0, &n);
		break;
	case SYS_splice:
		held = pending_io((int)a[0], (a[5] & SPLICE_F_NONBLOCK) ?
		    MSG_DONTWAIT : 0, &n) || pending_io((int)a[2],
		    (a[5] & SPLICE_F_NONBLOCK) ? MSG_DONTWAIT : 0, &n);
		break;
	default:
		return 0;
	}
	*r = (long)n;
	return held;
}

SHIM_EXPORT long
syscall(long number, ...)
{
	long r;
	va_list ap;
	long a[6];
	int i;

	va_start(ap, number);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	/* Re-entered while loading, or no libc syscall(): the kernel's. */
	if (!udp_load() || real_syscall == NULL)
		return real_raw(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (number == SYS_sendmmsg)
		return sendmmsg((int)a[0], (struct mmsghdr *)a[1],
		    (unsigned int)a[2], (int)a[3]);
	if (number == SYS_recvmmsg)
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1],
		    (unsigned int)a[2], (int)a[3], (struct timespec *)a[4]);
	if (pending_active() && udp_syscall_held(number, a, &r))
		return r;
	return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
