/*
 * connect.c - connections to fake addresses go through the gateway
 * (RFC 3089 section 3, steps 3-4): connect, getpeername,
 * getsockname, and the TCP Fast Open forms of sendto/sendmsg (whose
 * hooks are in udp.c, with the rest of the data path).
 *
 * connect() to a fake address becomes a TCP connection to the gateway
 * and a SOCKS5 CONNECT that carries the NAME the fake address stands
 * for. If the program's socket cannot reach the gateway's family, a
 * replacement socket with the program's flags and options is put in its
 * place (dup3), so the shim keeps no descriptors of its own; the fake
 * peer is recorded by socket (sockreg.c) for getpeername. A real
 * address of a family this host has no address of (an IPv6 literal on
 * an IPv4-only host) goes through the gateway too, as ATYP IPv4/IPv6.
 * Everything else is passed to the real connect() after a few integer
 * compares: no lock, no system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "shim.h"
#include "socks5.h"

#ifndef MSG_FASTOPEN
#define MSG_FASTOPEN	0x20000000
#endif

static int	(*real_connect)(int, const struct sockaddr *, socklen_t);
static int	(*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int	(*real_getsockname)(int, struct sockaddr *, socklen_t *);
static struct real_once connect_once = REAL_ONCE_INIT;

static void
connect_init(void)
{
	*(void **)&real_connect = real_symbol("connect");
	*(void **)&real_getpeername = real_symbol("getpeername");
	*(void **)&real_getsockname = real_symbol("getsockname");
}

/* ------------------------------------------------------------------ */
/* routing: fake, direct, or a real address through the gateway         */

/* Whether sa is one of the gateways this host connects to itself. */
static int
connect_is_gateway(const struct shim_conf *c, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < c->npaths; i++)
		if (c->paths[i].addr_len != 0 && addr_equal(sa,
		    (const struct sockaddr *)&c->paths[i].addr, 0))
			return 1;
	return 0;
}

/*
 * Decides where sa goes: ROUTE_GATEWAY with *dst filled for a fake
 * address or a real one of a family this host has no address of;
 * ROUTE_DIRECT for loopback, the gateway itself, `direct` networks and
 * addresses that cannot be relayed; ROUTE_TRY (dst filled) for any
 * other real address: it goes direct, and through the gateway only if
 * the host has no route to it. Returns -1 with errno set for a fake
 * address this process never handed out: it cannot know the name.
 */
static int
connect_route(const struct shim_conf *c, const struct sockaddr *sa,
    struct socks5_addr *dst)
{
	char name[256];
	const struct sockaddr_in6 *sin6;
	struct sockaddr_in v4;
	size_t i;
	int fam;

	if (fakeip_in_range(sa)) {
		if (!fakeip_lookup(sa, name, sizeof(name))) {
			shim_debug("connect to a fake address this process "
			    "never handed out");
			errno = EHOSTUNREACH;
			return -1;
		}
		memset(dst, 0, sizeof(*dst));
		dst->atyp = SOCKS5_ATYP_DOMAIN;
		memcpy(dst->name, name, sizeof(dst->name));
		dst->port = addr_port(sa);
		return ROUTE_GATEWAY;
	}
	fam = sa->sa_family;
	if (fam == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) ||
		    IN6_IS_ADDR_MULTICAST(&sin6->sin6_addr))
			return 0;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* Reached over IPv4: judge it as the IPv4 it is. */
			memset(&v4, 0, sizeof(v4));
			v4.sin_family = AF_INET;
			v4.sin_port = sin6->sin6_port;
			memcpy(&v4.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
			sa = (const struct sockaddr *)&v4;
			fam = AF_INET;
		}
	}
	if (fam == AF_INET &&
	    (((const struct sockaddr_in *)sa)->sin_addr.s_addr == 0 ||
	    IN_MULTICAST(ntohl(((const struct sockaddr_in *)sa)->
	    sin_addr.s_addr))))
		return 0;
	if (addr_is_loopback(sa) || connect_is_gateway(c, sa))
		return 0;
	for (i = 0; i < c->ndirect; i++)
		if (addr_net_contains(&c->direct[i], sa))
			return 0;
	if (socks5_addr_from_sockaddr(dst, sa) == -1)
		return ROUTE_DIRECT;
	if (hostfam_get() & (fam == AF_INET ? HOSTFAM_V4 : HOSTFAM_V6))
		return ROUTE_TRY;
	return ROUTE_GATEWAY;
}

/* ------------------------------------------------------------------ */
/* the replacement socket                                               */

/* Options a program commonly sets before connect(), carried over. */
static const struct {
	int	level;
	int	name;
} connect_copied[] = {
	{ SOL_SOCKET, SO_KEEPALIVE },
	{ SOL_SOCKET, SO_REUSEADDR },
	{ SOL_SOCKET, SO_REUSEPORT },
	{ SOL_SOCKET, SO_LINGER },
	{ SOL_SOCKET, SO_RCVTIMEO },
	{ SOL_SOCKET, SO_SNDTIMEO },
	{ SOL_SOCKET, SO_PRIORITY },
	{ SOL_SOCKET, SO_MARK },
	{ SOL_SOCKET, SO_OOBINLINE },
	{ SOL_SOCKET, SO_RCVLOWAT },
	{ IPPROTO_TCP, TCP_NODELAY },
	{ IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT },
	{ IPPROTO_TCP, TCP_CONGESTION },
};

/*
 * Copies each option whose value on from differs from a fresh socket's
 * (to) onto to. Errors are ignored: an option the new family or an
 * unprivileged process cannot set is not worth failing the connect.
 */
static void
connect_copy_options(int from, int to, int type)
{
	unsigned char a[64], b[64];
	socklen_t alen, blen;
	size_t i;
	int v;

	for (i = 0; i < sizeof(connect_copied) / sizeof(connect_copied[0]);
	    i++) {
		if (connect_copied[i].level == IPPROTO_TCP &&
		    type != SOCK_STREAM)
			continue;
		alen = blen = sizeof(a);
		if (getsockopt(from, connect_copied[i].level,
		    connect_copied[i].name, a, &alen) == -1 ||
		    getsockopt(to, connect_copied[i].level,
		    connect_copied[i].name, b, &blen) == -1)
			continue;
		if (alen == blen && memcmp(a, b, alen) == 0)
			continue;
		(void)setsockopt(to, connect_copied[i].level,
		    connect_copied[i].name, a, alen);
	}
	/* The kernel reports buffer sizes doubled; set half to match. */
	for (i = 0; i < 2; i++) {
		int name = i == 0 ? SO_RCVBUF : SO_SNDBUF, w;

		alen = blen = sizeof(int);
		if (getsockopt(from, SOL_SOCKET, name, &v, &alen) == -1 ||
		    getsockopt(to, SOL_SOCKET, name, &w, &blen) == -1 ||
		    v == w)
			continue;
		v /= 2;
		(void)setsockopt(to, SOL_SOCKET, name, &v, sizeof(v));
	}
}

int
connect_replace(int fd, int family, int type, int protocol)
{
	int nfd, fl, fdfl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    (fdfl = fcntl(fd, F_GETFD)) == -1)
		return -1;
	nfd = socket(family, type | SOCK_CLOEXEC |
	    ((fl & O_NONBLOCK) ? SOCK_NONBLOCK : 0), protocol);
	if (nfd == -1)
		return -1;
	connect_copy_options(fd, nfd, type);
	if (dup3(nfd, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) == -1) {
		int err = errno;

		close(nfd);
		errno = err;
		return -1;
	}
	close(nfd);
	return 0;
}

int
connect_reach(int fd, int domain, const struct sockaddr_storage *to,
    socklen_t tolen, struct sockaddr_storage *out, socklen_t *outlen)
{
	const struct sockaddr_in *sin;
	struct sockaddr_in6 *m;
	socklen_t len = sizeof(int);
	int v6only = 1;

	memcpy(out, to, sizeof(*out));
	*outlen = tolen;
	if (domain == to->ss_family)
		return 1;
	if (domain != AF_INET6 || to->ss_family != AF_INET ||
	    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == -1 ||
	    v6only)
		return 0;
	sin = (const struct sockaddr_in *)to;
	m = (struct sockaddr_in6 *)out;
	memset(m, 0, sizeof(*m));
	m->sin6_family = AF_INET6;
	m->sin6_port = sin->sin_port;
	m->sin6_addr.s6_addr[10] = 0xff;
	m->sin6_addr.s6_addr[11] = 0xff;
	memcpy(&m->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
	*outlen = sizeof(*m);
	return 1;
}

/* "name:port", "192.0.2.1:80" or "[2001:db8::1]:80", for log lines. */
static const char *
connect_dst_str(const struct socks5_addr *dst, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	unsigned int sslen = sizeof(ss);

	if (dst->atyp == SOCKS5_ATYP_DOMAIN)
		snprintf(buf, len, "%s:%u", dst->name, dst->port);
	else if (socks5_addr_to_sockaddr(dst, (struct sockaddr *)&ss,
	    &sslen) == 0)
		addr_format((struct sockaddr *)&ss, buf, len);
	else
		snprintf(buf, len, "?");
	return buf;
}

/* A blocking socket's own send timeout bounds its connect too. */
static unsigned int
connect_timeout(int fd, const struct shim_conf *c)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);
	long long ms;

	if (getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &len) == -1 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return c->timeout_ms;
	ms = (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
	if (ms < 1)
		ms = 1;
	return ms < c->timeout_ms ? (unsigned int)ms : c->timeout_ms;
}

/*
 * One path: connect fd (a fresh socket) to its first gateway, then ask
 * each gateway for the next and the last for dst, within deadline.
 * *answered says whether the first gateway spoke SOCKS5 at all.
 */
static int
connect_path(int fd, int type, int protocol, const struct shim_conf *c,
    const struct shim_path *p, const struct socks5_addr *dst,
    long long deadline, int *answered)
{
	struct sockaddr_storage gw;
	socklen_t gwlen, len = sizeof(int);
	size_t k;
	int r, domain;

	*answered = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
		return -1;
	if (!connect_reach(fd, domain, &p->addr, p->addr_len, &gw, &gwlen)) {
		if (connect_replace(fd, p->addr.ss_family, type, protocol) ==
		    -1)
			return -1;
		gw = p->addr;
		gwlen = p->addr_len;
	}
	do
		r = real_connect(fd, (struct sockaddr *)&gw, gwlen);
	while (r == -1 && errno == EINTR);
	if (r == -1 && errno != EINPROGRESS)
		return -1;
	/* RFC 3089 section 4: each gateway opens the way to the next. */
	for (k = 0; k <= p->nhops; k++)
		if (socks_request(fd, c, SOCKS5_CMD_CONNECT,
		    k < p->nhops ? &p->hops[k] : dst, NULL, deadline,
		    k == 0 ? answered : NULL) == -1)
			return -1;
	return 0;
}

int
connect_gateway(int fd, const struct shim_conf *c,
    const struct socks5_addr *dst)
{
	socklen_t len = sizeof(int);
	long long t0 = socks_now_ms(), deadline;
	size_t i;
	int domain, type, protocol, fl, r = -1, err = ENETUNREACH;
	int answered = 0;

	/* socks64_connect() may get here before any hook has run. */
	if (!real_once(&connect_once, connect_init) || real_connect == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
	    &len)) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL,
	    &protocol, &len)) == -1 ||
	    (fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (type != SOCK_STREAM) {
		errno = EPROTOTYPE;
		return -1;
	}
	deadline = t0 + ((fl & O_NONBLOCK) ? c->timeout_ms :
	    connect_timeout(fd, c));
	/*
	 * A blocking socket is made non-blocking for the exchange so that
	 * the gateway's connect is bounded too, then put back.
	 */
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	/* The gateway lines in turn, while a first gateway does not answer. */
	for (i = 0; i < c->npaths; i++) {
		if (i > 0 && connect_replace(fd, domain, type, protocol) == -1)
			break;
		r = connect_path(fd, type, protocol, c, &c->paths[i], dst,
		    deadline, &answered);
		err = errno;
		if (c->debug) {
			char gws[ADDR_STRLEN], ds[300];

			shim_debug("connect fd=%d dest=%s via=%s hops=%zu %s "
			    "ms=%lld", fd, connect_dst_str(dst, ds, sizeof(ds)),
			    addr_format((const struct sockaddr *)
			    &c->paths[i].addr, gws, sizeof(gws)),
			    c->paths[i].nhops + 1, r == 0 ? "ok" :
			    strerror(err), socks_now_ms() - t0);
		}
		if (r == 0 || answered || socks_now_ms() >= deadline)
			break;
	}
	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
	if (r == -1) {
		/*
		 * Leave a fresh socket of the program's own family, as a
		 * failed connect would, so that it can try its next address.
		 */
		(void)connect_replace(fd, domain, type, protocol);
		errno = err;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* the hooks                                                            */

/*
 * A UDP "connection" to a fake address (or a real one that goes
 * through the gateway): Chromium and others rank candidate addresses
 * by UDP-connecting to them and asking for the local address, so it
 * must succeed and give a plausible one, without a packet or an
 * association yet. getpeername gives the fake address; send() and
 * recv() then go through the association (udp.c).
 */
static int
connect_udp(int fd, int domain, const struct shim_conf *c,
    const struct sockaddr *sa, socklen_t salen)
{
	struct sockreg_entry e;
	struct sockaddr_storage gw;
	socklen_t gwlen;

	/*
	 * With an association already, the relay is the real peer: the
	 * kernel then passes up only its datagrams, as for a connected
	 * socket. Without, the gateway's address stands in until the
	 * first datagram makes one (udp.c).
	 */
	if (sockreg_get(fd, &e) && e.relaylen != 0)
		(void)real_connect(fd, &e.relay.sa, e.relaylen);
	else if (connect_reach(fd, domain, &c->paths[0].addr,
	    c->paths[0].addr_len, &gw, &gwlen))
		(void)real_connect(fd, (struct sockaddr *)&gw, gwlen);
	(void)sockreg_set_peer(fd, sa, salen, 1);
	return 0;
}

/*
 * A non-blocking connect through a single gateway: the TCP connect to
 * it is started and the SOCKS exchange left to pending.c, which the
 * program's poll, select or epoll drive. Returns -1/EINPROGRESS, or -1
 * with the error (the socket then a fresh one of its own family).
 */
static int
connect_async(int fd, const struct shim_conf *c,
    const struct socks5_addr *dst)
{
	const struct shim_path *p = &c->paths[0];
	struct sockaddr_storage gw;
	socklen_t gwlen, len = sizeof(int);
	int domain, type, protocol, r, err;

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
	    &len)) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL,
	    &protocol, &len)) == -1)
		return -1;
	if (!connect_reach(fd, domain, &p->addr, p->addr_len, &gw, &gwlen)) {
		if (connect_replace(fd, p->addr.ss_family, type, protocol) ==
		    -1)
			return -1;
		gw = p->addr;
		gwlen = p->addr_len;
	}
	do
		r = real_connect(fd, (struct sockaddr *)&gw, gwlen);
	while (r == -1 && errno == EINTR);
	if ((r == 0 || errno == EINPROGRESS) &&
	    pending_start(fd, c, dst) == 0) {
		errno = EINPROGRESS;
		return -1;
	}
	err = errno;
	(void)connect_replace(fd, domain, type, protocol);
	errno = err;
	return -1;
}

/*
 * A connect() on a socket whose exchange is pending (pending.c), as the
 * kernel answers on a connecting one: EALREADY while it goes on; its
 * error once it failed (read once); a failed one whose error was read
 * becomes a fresh socket of its own family for the new attempt.
 * Returns 1 with *r set if answered here, 0 to go on.
 *
 * The exchange is stepped here, not only looked at: a program that asks
 * connect() again until EISCONN, and never polls, would otherwise hear
 * EALREADY for ever. Once it is open the hook goes on to EISCONN.
 */
static int
connect_again(int fd, int *r)
{
	struct sockreg_entry e;
	socklen_t len = sizeof(int);
	int st, err = 0, domain, type, protocol;

	st = pending_poll(fd, NULL, NULL, &err);
	if (st == PENDING_NONE || st == PENDING_DONE)
		return 0;
	*r = -1;
	if (st == PENDING_WAIT) {
		errno = EALREADY;
		return 1;
	}
	if ((err = pending_take_error(fd)) != 0) {
		errno = err;
		return 1;
	}
	pending_close(fd);
	sockreg_forget_peer(fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type,
	    &len)) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_PROTOCOL,
	    &protocol, &len)) == -1 ||
	    connect_replace(fd, sockreg_get(fd, &e) && e.family != 0 ?
	    e.family : domain, type, protocol) == -1)
		return 1;
	return 0;
}

/*
 * The connect hook's body for an address that goes to the gateway.
 * Returns as connect() would: 0 for a blocking socket, -1/EINPROGRESS
 * for a non-blocking one (already connected and writable), or -1 with
 * the error.
 */
static int
connect_intercept(int fd, const struct sockaddr *sa, socklen_t salen,
    const struct shim_conf *c, const struct socks5_addr *dst)
{
	struct sockreg_entry e;
	socklen_t len = sizeof(int);
	int type, domain, fl;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    (len = sizeof(int), getsockopt(fd, SOL_SOCKET, SO_DOMAIN,
	    &domain, &len)) == -1)
		return -1;
	if (domain != AF_INET && domain != AF_INET6)
		return real_connect(fd, sa, salen);
	if (type == SOCK_DGRAM)
		return connect_udp(fd, domain, c, sa, salen);
	if (type != SOCK_STREAM) {
		errno = ENETUNREACH;
		return -1;
	}
	/* A second connect() after EINPROGRESS asks whether it is done. */
	if (sockreg_get(fd, &e) && e.peerlen != 0) {
		errno = EISCONN;
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	/* Chains and alternative gateways stay synchronous. */
	if ((fl & O_NONBLOCK) && c->async && c->npaths == 1 &&
	    c->paths[0].nhops == 0 && c->paths[0].addr_len != 0) {
		if (connect_async(fd, c, dst) == -1 && errno != EINPROGRESS)
			return -1;
		(void)sockreg_set_peer(fd, sa, salen, 0);
		errno = EINPROGRESS;
		return -1;
	}
	if (connect_gateway(fd, c, dst) == -1)
		return -1;
	(void)sockreg_set_peer(fd, sa, salen, 0);
	/*
	 * Non-blocking: the answer a program's event loop expects. The
	 * socket is already connected, so its poll for writability returns
	 * at once and SO_ERROR is 0.
	 */
	if (fl & O_NONBLOCK) {
		errno = EINPROGRESS;
		return -1;
	}
	return 0;
}

int
connect_classify(const struct sockaddr *sa, socklen_t salen,
    const struct shim_conf **conf, struct socks5_addr *dst)
{
	const struct shim_conf *c;

	if (sa == NULL || salen < sizeof(sa_family_t) ||
	    (sa->sa_family == AF_INET && salen < sizeof(struct sockaddr_in)) ||
	    (sa->sa_family == AF_INET6 &&
	    salen < sizeof(struct sockaddr_in6)) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	c = shim_conf();
	if (!c->enabled)
		return 0;
	*conf = c;
	return connect_route(c, sa, dst);
}

SHIM_EXPORT int
connect(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
	const struct sockaddr *sa = addr.__sockaddr__;
	const struct shim_conf *c;
	struct socks5_addr dst;
	int saved = errno, r;

	/* Re-entered from dlsym while loading: the kernel's (real.c). */
	if (!real_once(&connect_once, connect_init) || real_connect == NULL)
		return (int)real_raw(SYS_connect, fd, (long)sa, len, 0, 0, 0);
	if (pending_active() && connect_again(fd, &r)) {
		if (r == 0)
			errno = saved;
		return r;
	}
	if ((r = connect_classify(sa, len, &c, &dst)) == ROUTE_DIRECT) {
		if (sa != NULL && len >= sizeof(sa_family_t) &&
		    sa->sa_family == AF_UNSPEC)
			sockreg_forget_peer(fd);
		errno = saved;
		return real_connect(fd, sa, len);
	}
	if (r == -1)
		return -1;
	if (r == ROUTE_TRY) {
		/* No route is known only once the kernel has said so. */
		errno = saved;
		if (real_connect(fd, sa, len) == 0)
			return 0;
		if (errno != ENETUNREACH)
			return -1;
	}
	if (connect_intercept(fd, sa, len, c, &dst) == 0) {
		errno = saved;
		return 0;
	}
	return -1;
}

/*
 * RFC 3089 section 5: the peer is the fake address and port the
 * program connected to, not the gateway. The entry follows the socket,
 * so a dup() of it answers the same.
 */
SHIM_EXPORT int
getpeername(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sockreg_entry e;

	if (!real_once(&connect_once, connect_init) ||
	    real_getpeername == NULL)
		return (int)real_raw(SYS_getpeername, fd, (long)sa, (long)len,
		    0, 0, 0);
	/* Still connecting, or failed: the kernel's ENOTCONN. */
	if (pending_active() && pending_state(fd, NULL) != PENDING_NONE) {
		errno = ENOTCONN;
		return -1;
	}
	if (sa != NULL && len != NULL && sockreg_get(fd, &e) &&
	    e.peerlen != 0) {
		memcpy(sa, &e.peer, *len < e.peerlen ? *len : e.peerlen);
		*len = e.peerlen;
		return 0;
	}
	return real_getpeername(fd, sa, len);
}

/*
 * A socket replaced by one of the gateway's family has a local address
 * of the other family, which a program that made an IPv4 socket does
 * not expect (RFC 3089 section 5: no local address can be right here
 * anyway). It gets the unspecified address of its own family and the
 * real port; a socket that kept its family gets the real answer.
 */
SHIM_EXPORT int
getsockname(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
	struct sockaddr *sa = addr.__sockaddr__;
	struct sockreg_entry e;
	union shim_sockaddr real, mine;
	socklen_t rlen = sizeof(real), mlen;

	if (!real_once(&connect_once, connect_init) ||
	    real_getsockname == NULL)
		return (int)real_raw(SYS_getsockname, fd, (long)sa, (long)len,
		    0, 0, 0);
	if (sa == NULL || len == NULL || !sockreg_get(fd, &e) ||
	    e.family == 0 || real_getsockname(fd, &real.sa, &rlen) == -1 ||
	    real.sa.sa_family == e.family)
		return real_getsockname(fd, sa, len);
	memset(&mine, 0, sizeof(mine));
	mine.sa.sa_family = (sa_family_t)e.family;
	mlen = mine.sa.sa_family == AF_INET6 ? sizeof(mine.sin6) :
	    sizeof(mine.sin);
	addr_set_port(&mine.sa, addr_port(&real.sa));
	memcpy(sa, &mine, *len < mlen ? *len : mlen);
	*len = mlen;
	return 0;
}

int
connect_fastopen(int fd, const struct sockaddr *sa, socklen_t salen,
    int *done)
{
	const struct shim_conf *c;
	struct socks5_addr dst;
	socklen_t len = sizeof(int);
	int r, type, saved = errno;

	*done = 0;
	if (!real_once(&connect_once, connect_init))
		return 0;	/* loading: the real sendto's, see connect() */
	if ((r = connect_classify(sa, salen, &c, &dst)) == ROUTE_DIRECT ||
	    r == ROUTE_TRY) {
		errno = saved;
		return 0;
	}
	if (r == -1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return -1;
	if (type != SOCK_STREAM) {
		errno = saved;
		return 0;
	}
	if (connect_intercept(fd, sa, salen, c, &dst) == -1 &&
	    errno != EINPROGRESS && errno != EISCONN)
		return -1;
	errno = saved;
	*done = 1;
	return 0;
}
