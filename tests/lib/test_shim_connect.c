/*
 * test_shim_connect.c - the connect, getpeername and sendto hooks
 * (src/lib/connect.c) on loopback, against a fake gateway thread.
 *
 * This binary is linked with the shim's objects, so its own connect()
 * calls are the shim's. The configuration names the fake gateway on
 * 127.0.0.1; fake addresses come from fakeip_assign as getaddrinfo
 * would hand them out. The gateway records each CONNECT, answers with
 * the reply code the case chose, then sends "HELLO" and echoes. A
 * CONNECT to a port in HOP_PORT_MIN..HOP_PORT_MAX stands for the next
 * gateway of a chain: it succeeds (or fails with hop_rep) and the same
 * stream then starts a new SOCKS5 session, as a real next gateway would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conflex.h"
#include "fakegw_test.h"
#include "lib/shim.h"
#include "socks5.h"
#include "socks64.h"

static uint16_t gw_port;
static atomic_int gw_rep;		/* reply code for the next CONNECT */
static pthread_mutex_t gw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct socks5_request gw_last;	/* the last CONNECT, under gw_lock */
static atomic_int gw_count;
#define HOP_PORT_MIN	1081
#define HOP_PORT_MAX	1089
static atomic_int hop_rep;		/* reply to a hop on port 1089 */
static struct socks5_addr gw_log[16];	/* the CONNECTs, under gw_lock */
static size_t gw_nlog;

static void *
gw_session(void *arg)
{
	struct socks5_greeting g;
	struct socks5_request req;
	struct socks5_addr bnd;
	uint8_t buf[600];
	int fd = (int)(intptr_t)arg, n, rep;
	ssize_t r;

next_hop:
	if (fakegw_read(fd, buf, sizeof(buf), 0, &g) == -1)
		goto out;
	buf[0] = 5;
	buf[1] = 0;
	if (send(fd, buf, 2, MSG_NOSIGNAL) != 2 ||
	    fakegw_read(fd, buf, sizeof(buf), 1, &req) == -1)
		goto out;
	pthread_mutex_lock(&gw_lock);
	gw_last = req;
	if (gw_nlog < sizeof(gw_log) / sizeof(gw_log[0]))
		gw_log[gw_nlog++] = req.dst;
	pthread_mutex_unlock(&gw_lock);
	atomic_fetch_add(&gw_count, 1);
	if (req.dst.port >= HOP_PORT_MIN && req.dst.port <= HOP_PORT_MAX) {
		rep = req.dst.port == HOP_PORT_MAX ? atomic_load(&hop_rep) : 0;
		memset(&bnd, 0, sizeof(bnd));
		bnd.atyp = SOCKS5_ATYP_IPV4;
		n = socks5_encode_reply(buf, sizeof(buf), (uint8_t)rep, &bnd);
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n || rep != 0)
			goto out;
		goto next_hop;
	}
	rep = atomic_load(&gw_rep);
	memset(&bnd, 0, sizeof(bnd));
	bnd.atyp = SOCKS5_ATYP_IPV4;
	n = socks5_encode_reply(buf, sizeof(buf), (uint8_t)rep, &bnd);
	if (rep == 0) {
		/* Reply and data in one segment: the over-read trap. */
		memcpy(buf + n, "HELLO", 5);
		n += 5;
	}
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n || rep != 0)
		goto out;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) != r)
			break;
out:
	close(fd);
	return NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	gw_port = fakegw_start(gw_session, "test_shim_connect");
	return gw_port != 0 ? 0 : -1;
}

static int
sockopt_int(int fd, int level, int name)
{
	socklen_t len = sizeof(int);
	int v = -1;

	assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
	return v;
}

/* Reads exactly n bytes within a second. */
static void
read_exact(int fd, char *buf, size_t n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		assert_true(poll(&p, 1, 1000) == 1);
		r = read(fd, buf + got, n - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	buf[got] = '\0';
}

/* The kernel's getsockname, past the shim's hook. */
static int
syscall_getsockname(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	return (int)syscall(SYS_getsockname, fd, (struct sockaddr *)ss, len);
}

static void
assert_peer(int fd, const struct sockaddr_storage *want, socklen_t wlen)
{
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);

	assert_int_equal(getpeername(fd, (struct sockaddr *)&got, &len), 0);
	assert_int_equal(len, wlen);
	assert_true(addr_equal((struct sockaddr *)&got,
	    (const struct sockaddr *)want, 1));
}

static void
assert_last_request(const char *name, uint16_t port)
{
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_last.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(gw_last.dst.atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(gw_last.dst.name, name);
	assert_int_equal(gw_last.dst.port, port);
	pthread_mutex_unlock(&gw_lock);
}

static void
test_connect_nonblocking_einprogress_then_writable(void **state)
{
	struct sockaddr_storage ss;
	struct pollfd p;
	socklen_t len;
	char buf[16];
	int fd;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("nb.example", AF_INET, 8080, &ss);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	errno = 0;
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EINPROGRESS);
	p.fd = fd;
	p.events = POLLOUT;
	assert_int_equal(poll(&p, 1, 0), 1);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_ERROR), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_peer(fd, &ss, len);
	assert_last_request("nb.example", 8080);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	/* Asking again, as some loops do, says it is connected. */
	errno = 0;
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EISCONN);
	close(fd);
}

/*
 * An IPv6-only socket cannot reach an IPv4 gateway: it is replaced by an
 * IPv4 one that keeps its flags and options, and still reports the
 * fake IPv6 peer.
 */
static void
test_connect_replaces_v6only_socket_keeping_options(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16];
	int fd, one = 1, idle = 77;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("six.example", AF_INET6, 443, &ss);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one,
	    sizeof(one)), 0);
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle,
	    sizeof(idle)), 0);
	errno = 1234;
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(errno, 1234);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
	assert_int_equal(sockopt_int(fd, IPPROTO_TCP, TCP_NODELAY), 1);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(sockopt_int(fd, IPPROTO_TCP, TCP_KEEPIDLE), 77);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_peer(fd, &ss, len);
	assert_last_request("six.example", 443);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	assert_int_equal(write(fd, "ping", 4), 4);
	read_exact(fd, buf, 4);
	assert_string_equal(buf, "ping");
	close(fd);
}

/* A dual-stack IPv6 socket reaches the IPv4 gateway IPv4-mapped. */
static void
test_connect_dual_stack_socket_kept(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[16];
	int fd, zero = 0;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("dual.example", AF_INET6, 80, &ss);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
	    sizeof(zero)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	assert_peer(fd, &ss, len);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	close(fd);
}

static void
test_connect_refused_leaves_fresh_socket(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_storage peer;
	socklen_t len, plen = sizeof(peer);
	int fd, one = 1;

	(void)state;
	atomic_store(&gw_rep, SOCKS5_REP_CONN_REFUSED);
	len = fakegw_fake("refused.example", AF_INET6, 81, &ss);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)), 0);
	errno = 0;
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, ECONNREFUSED);
	/* Its own family again, still non-blocking, not connected. */
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET6);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &plen),
	    -1);
	assert_int_equal(errno, ENOTCONN);
	close(fd);
	atomic_store(&gw_rep, SOCKS5_REP_HOST_UNREACHABLE);
	len = fakegw_fake("unknown.example", AF_INET, 80, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), -1);
	assert_int_equal(errno, EHOSTUNREACH);
	close(fd);
	atomic_store(&gw_rep, 0);
}

/* A fake address this process never handed out has no name to send. */
static void
test_connect_unknown_fake_address(void **state)
{
	struct sockaddr_in sin;
	int fd, before = atomic_load(&gw_count);

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	sin.sin_addr.s_addr = htonl(0xfedcba98);	/* 254.220.186.152 */
	assert_true(fakeip_in_range((struct sockaddr *)&sin));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    -1);
	assert_int_equal(errno, EHOSTUNREACH);
	assert_int_equal(atomic_load(&gw_count), before);
	close(fd);
}

static void
test_connect_udp_succeeds_without_sending(void **state)
{
	struct sockaddr_storage ss, peer;
	struct sockaddr un;
	socklen_t len, plen;
	int fd, before = atomic_load(&gw_count);

	(void)state;
	len = fakegw_fake("udp.example", AF_INET, 443, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_peer(fd, &ss, len);
	/* No association yet: that waits for a datagram (test_shim_udp). */
	assert_int_equal(atomic_load(&gw_count), before);
	/* AF_UNSPEC dissolves the connection, and the fake peer with it. */
	memset(&un, 0, sizeof(un));
	un.sa_family = AF_UNSPEC;
	assert_int_equal(connect(fd, &un, sizeof(un)), 0);
	plen = sizeof(peer);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &plen),
	    -1);
	assert_int_equal(errno, ENOTCONN);
	close(fd);
}

static void
test_sendto_fastopen_goes_through_gateway(void **state)
{
	struct sockaddr_storage ss;
	struct msghdr msg;
	struct iovec iov;
	socklen_t len;
	char buf[16];
	int fd;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("tfo.example", AF_INET, 8443, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sendto(fd, "early", 5, MSG_FASTOPEN,
	    (struct sockaddr *)&ss, len), 5);
	assert_last_request("tfo.example", 8443);
	read_exact(fd, buf, 10);
	assert_string_equal(buf, "HELLOearly");
	assert_peer(fd, &ss, len);
	close(fd);
	/* The same through sendmsg, from a non-blocking IPv6 socket. */
	len = fakegw_fake("tfo6.example", AF_INET6, 8444, &ss);
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = "later";
	iov.iov_len = 5;
	msg.msg_name = &ss;
	msg.msg_namelen = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	assert_int_equal(sendmsg(fd, &msg, MSG_FASTOPEN), 5);
	assert_last_request("tfo6.example", 8444);
	read_exact(fd, buf, 10);
	assert_string_equal(buf, "HELLOlater");
	close(fd);
}

/* A reused fd number is not mistaken for the socket that had it. */
static void
test_getpeername_reused_fd_is_real(void **state)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen = sizeof(peer);
	int fd, fd2;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("reuse.example", AF_INET, 80, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	close(fd);
	fd2 = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(fd2, fd);
	assert_int_equal(getpeername(fd2, (struct sockaddr *)&peer, &plen),
	    -1);
	assert_int_equal(errno, ENOTCONN);
	close(fd2);
}

/*
 * The fake peer belongs to the socket, not the descriptor: a dup() of
 * it answers the same, also once the original descriptor is closed.
 */
static void
test_getpeername_on_dup(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, fd2;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("dup.example", AF_INET, 8081, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	fd2 = dup(fd);
	assert_true(fd2 > fd);
	assert_peer(fd2, &ss, len);
	assert_int_equal(close(fd), 0);
	assert_peer(fd2, &ss, len);
	close(fd2);
}

/*
 * A socket replaced by one of the gateway's family reports a local
 * address of the program's own family: unspecified, with the real port.
 * One that kept its family reports its real local address.
 */
static void
test_getsockname_replaced_socket_keeps_family(void **state)
{
	struct sockaddr_storage ss, real;
	struct sockaddr_in6 me;
	struct sockaddr_in me4;
	socklen_t len, mlen = sizeof(me), rlen = sizeof(real);
	int fd, one = 1;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("sockname.example", AF_INET6, 443, &ss);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
	memset(&me, 0xaa, sizeof(me));
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &mlen), 0);
	assert_int_equal(mlen, sizeof(me));
	assert_int_equal(me.sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&me.sin6_addr));
	assert_int_equal(me.sin6_flowinfo, 0);
	assert_int_equal(me.sin6_scope_id, 0);
	/* The port is the real one (of the IPv4 socket underneath). */
	assert_int_equal(syscall_getsockname(fd, &real, &rlen), 0);
	assert_int_equal(real.ss_family, AF_INET);
	assert_int_equal(ntohs(me.sin6_port),
	    ntohs(((struct sockaddr_in *)&real)->sin_port));
	assert_true(ntohs(me.sin6_port) != 0);
	/* A short buffer is filled as far as it goes, the size told. */
	mlen = 4;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &mlen), 0);
	assert_int_equal(mlen, sizeof(me));
	close(fd);
	/* Not replaced: the kernel's own answer. */
	len = fakegw_fake("sockname4.example", AF_INET, 443, &ss);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	mlen = sizeof(me4);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me4, &mlen), 0);
	assert_int_equal(me4.sin_family, AF_INET);
	assert_int_equal(ntohl(me4.sin_addr.s_addr), INADDR_LOOPBACK);
	close(fd);
}

/*
 * Sockets closed behind the shim's back (close_range, or the close
 * system call itself) leave entries that a later sweep removes; their
 * reused descriptor numbers are never mistaken for them meanwhile.
 */
static void
test_sockreg_sweeps_sockets_closed_unseen(void **state)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	int i, fd;

	(void)state;
	atomic_store(&gw_rep, 0);
	for (i = 0; i < 150; i++) {
		len = fakegw_fake(i % 2 ? "sweep1.example" : "sweep2.example",
		    i % 3 ? AF_INET : AF_INET6, (uint16_t)(1000 + i), &ss);
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
		assert_peer(fd, &ss, len);
		assert_int_equal(syscall(SYS_close, fd), 0);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		plen = sizeof(peer);
		assert_int_equal(getpeername(fd, (struct sockaddr *)&peer,
		    &plen), -1);
		assert_int_equal(errno, ENOTCONN);
		close(fd);
	}
}

/* A configuration of the test's own, for connect_gateway. */
static void
own_conf(struct shim_conf *c, const char *fmt, unsigned int port)
{
	struct conf_errors *e = malloc(sizeof(*e));
	char text[512];

	assert_non_null(e);
	snprintf(text, sizeof(text), fmt, port, port, port);
	shim_conf_defaults(c);
	conf_errors_init(e, "own.conf");
	assert_int_equal(shim_conf_parse(c, text, strlen(text), e), 0);
	free(e);
	assert_true(c->enabled);
}

static void
log_reset(void)
{
	pthread_mutex_lock(&gw_lock);
	gw_nlog = 0;
	pthread_mutex_unlock(&gw_lock);
}

/*
 * RFC 3089 section 4 from the client: the first gateway is asked for
 * the second (a literal), that one for the third (a name, unresolved),
 * the last for the destination; the destination's bytes then flow.
 */
static void
test_connect_gateway_chain_in_order(void **state)
{
	struct shim_conf c;
	struct socks5_addr dst;
	char buf[16];
	int fd;

	(void)state;
	atomic_store(&gw_rep, 0);
	own_conf(&c, "gateway 127.0.0.1:%u [2001:db8::2]:1081 "
	    "g3.example:1082\ntimeout 3000\n", gw_port);
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_DOMAIN;
	strcpy(dst.name, "far.example");
	dst.port = 443;
	log_reset();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect_gateway(fd, &c, &dst), 0);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_nlog, 3);
	assert_int_equal(gw_log[0].atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(gw_log[0].port, 1081);
	assert_int_equal(gw_log[1].atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(gw_log[1].name, "g3.example");
	assert_int_equal(gw_log[1].port, 1082);
	assert_string_equal(gw_log[2].name, "far.example");
	assert_int_equal(gw_log[2].port, 443);
	pthread_mutex_unlock(&gw_lock);
	close(fd);
	shim_conf_release(&c);
}

/* A hop that fails: its reply code is the program's errno. */
static void
test_connect_gateway_chain_hop_fails(void **state)
{
	struct shim_conf c;
	struct socks5_addr dst;
	int fd;

	(void)state;
	atomic_store(&hop_rep, SOCKS5_REP_HOST_UNREACHABLE);
	own_conf(&c, "gateway 127.0.0.1:%u 192.0.2.7:1081 "
	    "g3.example:1089\ngateway 127.0.0.1:%u\n", gw_port);
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_DOMAIN;
	strcpy(dst.name, "far.example");
	dst.port = 80;
	log_reset();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	assert_int_equal(connect_gateway(fd, &c, &dst), -1);
	assert_int_equal(errno, EHOSTUNREACH);
	/* The first gateway answered: no second line was tried. */
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_nlog, 2);
	pthread_mutex_unlock(&gw_lock);
	/* A fresh, unconnected socket is left for the program. */
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_ERROR), 0);
	errno = 0;
	assert_int_equal(send(fd, "x", 1, MSG_NOSIGNAL), -1);
	assert_true(errno == ENOTCONN || errno == EPIPE);
	close(fd);
	shim_conf_release(&c);
}

/*
 * Alternatives: a first gateway that does not answer (nobody listens)
 * is passed over for the next line; one that answers with an error is
 * the answer.
 */
static void
test_connect_gateway_alternatives(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct shim_conf c;
	struct socks5_addr dst;
	char text[256], buf[16];
	int ls, fd, dead_port;

	(void)state;
	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	dead_port = ntohs(sin.sin_port);
	close(ls);
	snprintf(text, sizeof(text), "gateway 127.0.0.1:%d\n"
	    "gateway [::1]:%d\ngateway 127.0.0.1:%%u\n", dead_port,
	    dead_port);
	own_conf(&c, text, gw_port);
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_DOMAIN;
	strcpy(dst.name, "alt.example");
	dst.port = 80;
	atomic_store(&gw_rep, 0);
	log_reset();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(connect_gateway(fd, &c, &dst), 0);
	assert_int_equal(sockopt_int(fd, SOL_SOCKET, SO_DOMAIN), AF_INET);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	close(fd);
	shim_conf_release(&c);
	/* An answer, even a refusal, is final. */
	own_conf(&c, "gateway 127.0.0.1:%u\ngateway 127.0.0.1:%u\n",
	    gw_port);
	atomic_store(&gw_rep, SOCKS5_REP_CONN_REFUSED);
	log_reset();
	fd = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	assert_int_equal(connect_gateway(fd, &c, &dst), -1);
	assert_int_equal(errno, ECONNREFUSED);
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_nlog, 1);
	pthread_mutex_unlock(&gw_lock);
	close(fd);
	shim_conf_release(&c);
	atomic_store(&gw_rep, 0);
}

/* Loopback, the gateway itself: the real connect, untouched. */
static void
test_connect_loopback_is_direct(void **state)
{
	struct sockaddr_in sin;
	socklen_t plen = sizeof(sin);
	int fd, before = atomic_load(&gw_count);

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(gw_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	errno = 4321;
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(errno, 4321);
	assert_int_equal(getpeername(fd, (struct sockaddr *)&sin, &plen), 0);
	assert_int_equal(ntohs(sin.sin_port), gw_port);
	close(fd);
	/* The fake gateway saw a connection but no CONNECT request. */
	assert_int_equal(atomic_load(&gw_count), before);
}

/* Many threads connecting at once: the peer table grows under them. */
#define STRESS_THREADS	8
#define STRESS_EACH	25

static void *
stress_thread(void *arg)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	struct pollfd p;
	char name[64], buf[8];
	intptr_t bad = 0;
	int i, fd, n;

	for (i = 0; i < STRESS_EACH; i++) {
		snprintf(name, sizeof(name), "t%d-%d.example",
		    (int)(intptr_t)arg, i);
		len = sizeof(ss);
		if (fakeip_assign(name, AF_INET, (struct sockaddr *)&ss,
		    &len) == -1) {
			bad++;
			continue;
		}
		addr_set_port((struct sockaddr *)&ss, 80);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&ss, len) != -1 ||
		    errno != EINPROGRESS)
			bad++;
		plen = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) == -1 ||
		    !addr_equal((struct sockaddr *)&peer,
		    (struct sockaddr *)&ss, 1))
			bad++;
		p.fd = fd;
		p.events = POLLIN;
		n = 0;
		while (n < 5 && poll(&p, 1, 2000) == 1) {
			ssize_t r = read(fd, buf + n, (size_t)(5 - n));

			if (r <= 0)
				break;
			n += (int)r;
		}
		if (n != 5 || memcmp(buf, "HELLO", 5) != 0)
			bad++;
		close(fd);
	}
	return (void *)bad;
}

static void
test_connect_many_threads(void **state)
{
	pthread_t t[STRESS_THREADS];
	void *bad;
	int i, total = 0;

	(void)state;
	atomic_store(&gw_rep, 0);
	for (i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, stress_thread,
		    (void *)(intptr_t)i), 0);
	for (i = 0; i < STRESS_THREADS; i++) {
		pthread_join(t[i], &bad);
		total += (int)(intptr_t)bad;
	}
	assert_int_equal(total, 0);
}

/* A child keeps the parent's names and can connect through them. */
static void
test_connect_after_fork(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pid_t pid;
	int status;

	(void)state;
	atomic_store(&gw_rep, 0);
	len = fakegw_fake("forked.example", AF_INET, 80, &ss);
	if ((pid = fork()) == 0) {
		char buf[8] = "";
		struct sockaddr_storage again;
		socklen_t alen = sizeof(again);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (connect(fd, (struct sockaddr *)&ss, len) != 0 ||
		    read(fd, buf, 5) != 5 || memcmp(buf, "HELLO", 5) != 0)
			_exit(1);
		/* The same name, the same address, in the child's table. */
		if (fakeip_assign("forked.example", AF_INET,
		    (struct sockaddr *)&again, &alen) != 0 ||
		    !addr_equal((struct sockaddr *)&again,
		    (struct sockaddr *)&ss, 0))
			_exit(2);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_last_request("forked.example", 80);
}

/* The public API: by name and by literal, no fake address involved. */
static void
test_socks64_connect_api(void **state)
{
	char buf[16];
	int fd;

	(void)state;
	atomic_store(&gw_rep, 0);
	assert_int_equal(socks64_enabled(), 1);
	assert_string_equal(socks64_version(), SOCKS64_VERSION);
	errno = 0;
	assert_int_equal(socks64_init("/nonexistent"), -1);
	assert_int_equal(errno, EALREADY);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(socks64_connect(fd, "api.example", 7000), 0);
	assert_last_request("api.example", 7000);
	read_exact(fd, buf, 5);
	assert_string_equal(buf, "HELLO");
	close(fd);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(socks64_connect(fd, "2001:db8::7", 7001), 0);
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_last.dst.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(gw_last.dst.port, 7001);
	pthread_mutex_unlock(&gw_lock);
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	errno = 0;
	assert_int_equal(socks64_connect(fd, "", 1), -1);
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void
test_socks64_fake_name_api(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	char name[256];

	(void)state;
	fakegw_fake("named.example", AF_INET6, 0, &ss);
	assert_int_equal(socks64_fake_name((struct sockaddr *)&ss, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "named.example");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0xc0000201);	/* 192.0.2.1 */
	assert_int_equal(socks64_fake_name((struct sockaddr *)&sin, name,
	    sizeof(name)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: the API before any hook has run in this process. */
		cmocka_unit_test(test_socks64_connect_api),
		cmocka_unit_test(
		    test_connect_nonblocking_einprogress_then_writable),
		cmocka_unit_test(
		    test_connect_replaces_v6only_socket_keeping_options),
		cmocka_unit_test(test_connect_dual_stack_socket_kept),
		cmocka_unit_test(test_connect_refused_leaves_fresh_socket),
		cmocka_unit_test(test_connect_unknown_fake_address),
		cmocka_unit_test(test_connect_udp_succeeds_without_sending),
		cmocka_unit_test(test_sendto_fastopen_goes_through_gateway),
		cmocka_unit_test(test_getpeername_reused_fd_is_real),
		cmocka_unit_test(test_getpeername_on_dup),
		cmocka_unit_test(test_sockreg_sweeps_sockets_closed_unseen),
		cmocka_unit_test(test_getsockname_replaced_socket_keeps_family),
		cmocka_unit_test(test_connect_gateway_chain_in_order),
		cmocka_unit_test(test_connect_gateway_chain_hop_fails),
		cmocka_unit_test(test_connect_gateway_alternatives),
		cmocka_unit_test(test_connect_loopback_is_direct),
		cmocka_unit_test(test_connect_many_threads),
		cmocka_unit_test(test_connect_after_fork),
		cmocka_unit_test(test_socks64_fake_name_api),
	};

	return cmocka_run_group_tests(tests, group_setup, fakegw_teardown);
}
