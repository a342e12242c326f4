/*
 * test_shim_udp.c - datagrams through a SOCKS5 UDP association
 * (src/lib/udp.c), against a fake UDP-associate gateway on loopback.
 *
 * This binary is linked with the shim's objects, so its sendto, recv,
 * read and the rest are the shim's. The fake gateway accepts a TCP
 * control connection, answers UDP ASSOCIATE with a relay socket of its
 * own, and echoes every relayed datagram back with a header naming the
 * destination it was sent to (as a real gateway names the source of a
 * reply) and "echo:" in front of the payload. Knobs let a case ask for
 * an unspecified BND address, a fragment or a garbage datagram before
 * the echo, a reply naming an IPv6 address, or the control connection
 * closed by the gateway.
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
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fakegw_test.h"
#include "lib/shim.h"
#include "socks5.h"


static atomic_int gw_sessions;		/* UDP ASSOCIATEs accepted */
static atomic_int gw_ended;		/* control connections seen closed */
static atomic_int gw_bnd_zero;		/* reply BND 0.0.0.0 */
static atomic_int gw_junk_first;	/* send a FRAG and a bad one first */
static atomic_int gw_reply_v6;		/* reply naming 2001:db8::53 */
static atomic_int gw_close_ctl;		/* close control after a datagram */
static pthread_mutex_t gw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct socks5_request gw_req;	/* the last ASSOCIATE */
static struct socks5_addr gw_dst;	/* the last datagram's destination */
static char gw_payload[128];

struct relay {
	int	ctl;
	int	udp;
};

/* Sends hdr(from) + prefix + payload to the client at to. */
static void
gw_reply(int udp, const struct sockaddr_storage *to, socklen_t tolen,
    const struct socks5_addr *from, const char *prefix, const char *payload,
    size_t plen)
{
	uint8_t out[600];
	int n;

	n = socks5_encode_udp_header(out, sizeof(out), from);
	memcpy(out + n, prefix, strlen(prefix));
	n += (int)strlen(prefix);
	memcpy(out + n, payload, plen);
	n += (int)plen;
	(void)sendto(udp, out, (size_t)n, 0, (const struct sockaddr *)to,
	    tolen);
}

/* The relay: echo each datagram until the control connection ends. */
static void
gw_relay(struct relay *r)
{
	struct socks5_udp_header uh;
	struct sockaddr_storage from;
	struct pollfd p[2];
	socklen_t flen;
	uint8_t buf[600], junk[8] = { 0, 0, 1, 1, 127, 0, 0, 1 };
	size_t used;
	ssize_t n;
	int closing;

	p[0].fd = r->ctl;
	p[0].events = POLLIN;
	p[1].fd = r->udp;
	p[1].events = POLLIN;
	while (poll(p, 2, 10000) > 0) {
		if (p[0].revents) {
			if (read(r->ctl, buf, sizeof(buf)) <= 0)
				break;
			continue;
		}
		flen = sizeof(from);
		n = recvfrom(r->udp, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &flen);
		if (n <= 0 || socks5_parse_udp_header(buf, (size_t)n, &uh,
		    &used) != SOCKS5_OK)
			continue;
		pthread_mutex_lock(&gw_lock);
		gw_dst = uh.dst;
		snprintf(gw_payload, sizeof(gw_payload), "%.*s",
		    (int)((size_t)n - used), buf + used);
		pthread_mutex_unlock(&gw_lock);
		if (atomic_load(&gw_junk_first)) {
			struct socks5_addr a = uh.dst;
			uint8_t frag[600];
			int k;

			/* A fragment (FRAG 1), then bytes that are no header. */
			k = socks5_encode_udp_header(frag, sizeof(frag), &a);
			frag[2] = 1;
			memcpy(frag + k, "frag", 4);
			(void)sendto(r->udp, frag, (size_t)k + 4, 0,
			    (struct sockaddr *)&from, flen);
			(void)sendto(r->udp, junk, sizeof(junk), 0,
			    (struct sockaddr *)&from, flen);
		}
		/* Read first: the case resets it once the echo is in. */
		closing = atomic_load(&gw_close_ctl);
		if (atomic_load(&gw_reply_v6)) {
			struct socks5_addr a;

			memset(&a, 0, sizeof(a));
			a.atyp = SOCKS5_ATYP_IPV6;
			inet_pton(AF_INET6, "2001:db8::53", a.ip);
			a.port = 53;
			gw_reply(r->udp, &from, flen, &a, "echo:",
			    (char *)buf + used, (size_t)n - used);
		} else
			gw_reply(r->udp, &from, flen, &uh.dst, "echo:",
			    (char *)buf + used, (size_t)n - used);
		if (closing)
			break;
	}
}

static void *
gw_session(void *arg)
{
	struct socks5_greeting g;
	struct socks5_request req;
	struct socks5_addr bnd;
	struct sockaddr_in sin;
	struct relay r = { (int)(intptr_t)arg, -1 };
	socklen_t len = sizeof(sin);
	uint8_t buf[600];
	int n;

	if (fakegw_read(r.ctl, buf, sizeof(buf), 0, &g) == -1)
		goto out;
	buf[0] = 5;
	buf[1] = 0;
	if (send(r.ctl, buf, 2, MSG_NOSIGNAL) != 2 ||
	    fakegw_read(r.ctl, buf, sizeof(buf), 1, &req) == -1 ||
	    req.cmd != SOCKS5_CMD_UDP)
		goto out;
	pthread_mutex_lock(&gw_lock);
	gw_req = req;
	pthread_mutex_unlock(&gw_lock);
	r.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(r.udp, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(r.udp, (struct sockaddr *)&sin, &len) == -1)
		goto out;
	if (atomic_load(&gw_bnd_zero))
		sin.sin_addr.s_addr = 0;
	(void)socks5_addr_from_sockaddr(&bnd, (struct sockaddr *)&sin);
	n = socks5_encode_reply(buf, sizeof(buf), 0, &bnd);
	if (send(r.ctl, buf, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	atomic_fetch_add(&gw_sessions, 1);
	gw_relay(&r);
out:
	if (r.udp != -1)
		close(r.udp);
	close(r.ctl);
	atomic_fetch_add(&gw_ended, 1);
	return NULL;
}

static int
group_setup(void **state)
{
	(void)state;
	return fakegw_start(gw_session, "test_shim_udp") != 0 ? 0 : -1;
}

static int
case_setup(void **state)
{
	(void)state;
	atomic_store(&gw_bnd_zero, 0);
	atomic_store(&gw_junk_first, 0);
	atomic_store(&gw_reply_v6, 0);
	atomic_store(&gw_close_ctl, 0);
	return 0;
}

#define wait_readable(fd)	wait_readable_at(fd, __LINE__)

static void
wait_readable_at(int fd, int line)
{
	struct pollfd p = { fd, POLLIN, 0 };

	if (poll(&p, 1, 3000) != 1)
		fail_msg("nothing to read at line %d", line);
}

/* Waits up to 3 s for counter to reach want. */
static void
wait_count(atomic_int *counter, int want)
{
	int i;

	for (i = 0; i < 300 && atomic_load(counter) < want; i++)
		usleep(10000);
	assert_true(atomic_load(counter) >= want);
}

static void
assert_last_datagram(const char *name, uint16_t port, const char *payload)
{
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_dst.atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(gw_dst.name, name);
	assert_int_equal(gw_dst.port, port);
	assert_string_equal(gw_payload, payload);
	pthread_mutex_unlock(&gw_lock);
}

/*
 * sendto a fake address: one association on the first datagram (its
 * request names the socket's port), the name in each header, and the
 * echo comes back from the fake address, header stripped.
 */
static void
test_udp_sendto_fake_roundtrip(void **state)
{
	struct sockaddr_storage ss, from;
	struct sockaddr_in me;
	socklen_t len, flen, mlen = sizeof(me);
	char buf[64];
	ssize_t n;
	int fd, before = atomic_load(&gw_sessions), i;
	int ended = atomic_load(&gw_ended);

	(void)state;
	len = fakegw_fake("dns.example", AF_INET, 53, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(sendto(fd, "hello", 5, 0,
		    (struct sockaddr *)&ss, len), 5);
		wait_readable(fd);
		flen = sizeof(from);
		memset(&from, 0, sizeof(from));
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0,
		    (struct sockaddr *)&from, &flen);
		assert_int_equal(n, 10);
		buf[n] = '\0';
		assert_string_equal(buf, "echo:hello");
		assert_int_equal(flen, len);
		assert_true(addr_equal((struct sockaddr *)&from,
		    (struct sockaddr *)&ss, 1));
		assert_last_datagram("dns.example", 53, "hello");
	}
	assert_int_equal(atomic_load(&gw_sessions), before + 1);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&me, &mlen), 0);
	pthread_mutex_lock(&gw_lock);
	assert_int_equal(gw_req.dst.port, ntohs(me.sin_port));
	pthread_mutex_unlock(&gw_lock);
	close(fd);
	/* close() ends the association: the control connection goes. */
	wait_count(&gw_ended, ended + 1);
}

/*
 * connect + send/recv, write/read: the connected UDP socket of a DNS
 * client. getpeername stays the fake address.
 */
static void
test_udp_connected_send_recv_write_read(void **state)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen = sizeof(peer);
	char buf[64];
	ssize_t n;
	int fd;

	(void)state;
	len = fakegw_fake("conn.example", AF_INET, 5353, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(send(fd, "one", 3, 0), 3);
	wait_readable(fd);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_int_equal(n, 8);
	buf[n] = '\0';
	assert_string_equal(buf, "echo:one");
	assert_last_datagram("conn.example", 5353, "one");
	assert_int_equal(write(fd, "two", 3), 3);
	wait_readable(fd);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_int_equal(n, 8);
	buf[n] = '\0';
	assert_string_equal(buf, "echo:two");
	assert_int_equal(getpeername(fd, (struct sockaddr *)&peer, &plen), 0);
	assert_true(addr_equal((struct sockaddr *)&peer,
	    (struct sockaddr *)&ss, 1));
	close(fd);
}

/*
 * writev/readv, pwritev2/preadv2 at offset -1 and the fortified reads
 * on a connected socket go through the association like send and recv;
 * sendfile and splice, which could not carry the relay header, fail
 * with EINVAL (dataio.c).
 */
static void
test_udp_connected_writev_readv_sendfile(void **state)
{
	struct sockaddr_storage ss;
	struct iovec iov[2];
	socklen_t len;
	char buf[64];
	ssize_t n;
	int fd, p[2];

	(void)state;
	len = fakegw_fake("iov.example", AF_INET, 5353, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	iov[0] = (struct iovec){ "th", 2 };
	iov[1] = (struct iovec){ "ree", 3 };
	assert_int_equal(writev(fd, iov, 2), 5);
	wait_readable(fd);
	memset(buf, 0, sizeof(buf));
	iov[0] = (struct iovec){ buf, 4 };
	iov[1] = (struct iovec){ buf + 4, sizeof(buf) - 5 };
	n = readv(fd, iov, 2);
	assert_int_equal(n, 10);
	assert_string_equal(buf, "echo:three");
	assert_last_datagram("iov.example", 5353, "three");
	assert_int_equal(pwritev2(fd, &(struct iovec){ "four", 4 }, 1, -1, 0),
	    4);
	wait_readable(fd);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(preadv2(fd, &(struct iovec){ buf, sizeof(buf) - 1 },
	    1, -1, 0), 9);
	assert_string_equal(buf, "echo:four");
	assert_int_equal(send(fd, "five", 4, 0), 4);
	wait_readable(fd);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(__recv_chk(fd, buf, sizeof(buf) - 1, sizeof(buf), 0),
	    9);
	assert_string_equal(buf, "echo:five");
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "six", 3), 3);
	errno = 0;
	assert_int_equal(splice(p[0], NULL, fd, NULL, 3, 0), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(sendfile(fd, p[0], NULL, 3), -1);
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);
	close(fd);
}

/*
 * recvmsg into two iovecs; a short buffer truncates (MSG_TRUNC in
 * msg_flags) and MSG_TRUNC as a flag returns the whole length; peeking
 * leaves the datagram.
 */
static void
test_udp_recvmsg_iovecs_trunc_peek(void **state)
{
	struct sockaddr_storage ss, from;
	struct msghdr m;
	struct iovec iov[2];
	socklen_t len;
	char a[4], b[32], small[3];
	ssize_t n;
	int fd;

	(void)state;
	len = fakegw_fake("iov.example", AF_INET, 7, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(sendto(fd, "abcdefgh", 8, 0, (struct sockaddr *)&ss,
	    len), 8);
	wait_readable(fd);
	/* A peek first: the same datagram is there afterwards. */
	assert_int_equal(recv(fd, small, sizeof(small), MSG_PEEK | MSG_TRUNC),
	    13);
	assert_memory_equal(small, "ech", 3);
	memset(&m, 0, sizeof(m));
	iov[0].iov_base = a;
	iov[0].iov_len = sizeof(a);
	iov[1].iov_base = b;
	iov[1].iov_len = sizeof(b);
	m.msg_iov = iov;
	m.msg_iovlen = 2;
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	n = recvmsg(fd, &m, 0);
	assert_int_equal(n, 13);
	assert_memory_equal(a, "echo", 4);
	assert_memory_equal(b, ":abcdefgh", 9);
	assert_int_equal(m.msg_flags & MSG_TRUNC, 0);
	assert_true(addr_equal((struct sockaddr *)&from,
	    (struct sockaddr *)&ss, 1));
	/* Too small: truncated, as the kernel would. */
	assert_int_equal(sendto(fd, "abcdefgh", 8, 0, (struct sockaddr *)&ss,
	    len), 8);
	wait_readable(fd);
	memset(&m, 0, sizeof(m));
	iov[0].iov_base = small;
	iov[0].iov_len = sizeof(small);
	m.msg_iov = iov;
	m.msg_iovlen = 1;
	assert_int_equal(recvmsg(fd, &m, 0), 3);
	assert_memory_equal(small, "ech", 3);
	assert_true(m.msg_flags & MSG_TRUNC);
	close(fd);
}

/*
 * A fragment and a datagram that is not SOCKS5 are dropped; the good
 * one after them is delivered. A non-blocking socket with nothing left
 * says EAGAIN.
 */
static void
test_udp_drops_fragments_and_garbage(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[64];
	ssize_t n;
	int fd;

	(void)state;
	atomic_store(&gw_junk_first, 1);
	len = fakegw_fake("frag.example", AF_INET, 9, &ss);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_int_equal(sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	usleep(100000);		/* all three are in */
	n = recv(fd, buf, sizeof(buf), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "echo:x", 6);
	errno = 0;
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	close(fd);
}

/*
 * An IPv6 socket (dual stack) reaches the IPv4 relay IPv4-mapped; the
 * reply from an IPv6 fake comes from it. An unspecified BND means the
 * gateway's own address.
 */
static void
test_udp_ipv6_socket_and_unspecified_bnd(void **state)
{
	struct sockaddr_storage ss, from;
	socklen_t len, flen = sizeof(from);
	char buf[64];
	int fd, zero = 0;

	(void)state;
	atomic_store(&gw_bnd_zero, 1);
	len = fakegw_fake("six.example", AF_INET6, 443, &ss);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
	    sizeof(zero)), 0);
	assert_int_equal(sendto(fd, "q", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	assert_int_equal(recvfrom(fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &flen), 6);
	assert_int_equal(flen, sizeof(struct sockaddr_in6));
	assert_true(addr_equal((struct sockaddr *)&from,
	    (struct sockaddr *)&ss, 1));
	close(fd);
}

/*
 * An IPv6-only socket cannot reach an IPv4 relay: it is replaced by an
 * IPv4 one, and still sees its datagrams come from the fake IPv6
 * address. A reply naming a real IPv6 address, on an IPv4 socket,
 * comes from the fake address that stands for that literal.
 */
static void
test_udp_replaced_socket_and_v6_source_on_v4(void **state)
{
	struct sockaddr_storage ss, from, lit;
	socklen_t len, flen = sizeof(from), llen = sizeof(lit);
	char buf[64];
	int fd, one = 1;

	(void)state;
	len = fakegw_fake("v6only.example", AF_INET6, 53, &ss);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(send(fd, "r", 1, 0), 1);
	wait_readable(fd);
	assert_int_equal(recvfrom(fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &flen), 6);
	assert_true(addr_equal((struct sockaddr *)&from,
	    (struct sockaddr *)&ss, 1));
	flen = sizeof(from);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&from, &flen), 0);
	assert_int_equal(from.ss_family, AF_INET6);
	close(fd);
	atomic_store(&gw_reply_v6, 1);
	len = fakegw_fake("lit.example", AF_INET, 53, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(sendto(fd, "s", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	flen = sizeof(from);
	assert_int_equal(recvfrom(fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &flen), 6);
	assert_int_equal(fakeip_assign("2001:db8::53", AF_INET,
	    (struct sockaddr *)&lit, &llen), 0);
	addr_set_port((struct sockaddr *)&lit, 53);
	assert_true(addr_equal((struct sockaddr *)&from,
	    (struct sockaddr *)&lit, 1));
	close(fd);
}

/*
 * The control connection closed under the shim (close_range would do
 * it), or by the gateway: the next datagram after the check interval
 * associates again and gets through.
 */
static void
test_udp_reassociates_when_control_is_gone(void **state)
{
	struct sockaddr_storage ss;
	struct sockreg_entry e;
	socklen_t len;
	char buf[64];
	int fd, before;

	(void)state;
	len = fakegw_fake("again.example", AF_INET, 53, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	before = atomic_load(&gw_sessions);
	assert_int_equal(sendto(fd, "1", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 6);
	assert_int_equal(sockreg_get(fd, &e), 1);
	assert_true(e.ctl >= 0);
	/* Behind the shim's back, as close_range does. */
	assert_int_equal(syscall(SYS_close, e.ctl), 0);
	usleep(1100 * 1000);
	assert_int_equal(sendto(fd, "2", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "echo:2", 6);
	assert_int_equal(atomic_load(&gw_sessions), before + 2);
	/* Now the gateway ends it after one datagram. */
	atomic_store(&gw_close_ctl, 1);
	assert_int_equal(sendto(fd, "3", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 6);
	atomic_store(&gw_close_ctl, 0);
	usleep(1100 * 1000);
	assert_int_equal(sendto(fd, "4", 1, 0, (struct sockaddr *)&ss, len),
	    1);
	wait_readable(fd);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "echo:4", 6);
	assert_int_equal(atomic_load(&gw_sessions), before + 3);
	close(fd);
}

/* sendmmsg and recvmmsg carry several datagrams each way. */
static void
test_udp_sendmmsg_recvmmsg(void **state)
{
	struct sockaddr_storage ss, from[2];
	struct mmsghdr v[2];
	struct iovec iov[2];
	socklen_t len;
	char b0[32], b1[32];
	int fd;

	(void)state;
	len = fakegw_fake("mm.example", AF_INET, 53, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(v, 0, sizeof(v));
	iov[0].iov_base = "aa";
	iov[0].iov_len = 2;
	iov[1].iov_base = "bbb";
	iov[1].iov_len = 3;
	v[0].msg_hdr.msg_iov = &iov[0];
	v[0].msg_hdr.msg_iovlen = 1;
	v[0].msg_hdr.msg_name = &ss;
	v[0].msg_hdr.msg_namelen = len;
	v[1].msg_hdr = v[0].msg_hdr;
	v[1].msg_hdr.msg_iov = &iov[1];
	assert_int_equal(sendmmsg(fd, v, 2, 0), 2);
	assert_int_equal(v[0].msg_len, 2);
	assert_int_equal(v[1].msg_len, 3);
	wait_readable(fd);
	usleep(100000);
	memset(v, 0, sizeof(v));
	iov[0].iov_base = b0;
	iov[0].iov_len = sizeof(b0);
	iov[1].iov_base = b1;
	iov[1].iov_len = sizeof(b1);
	v[0].msg_hdr.msg_iov = &iov[0];
	v[0].msg_hdr.msg_iovlen = 1;
	v[0].msg_hdr.msg_name = &from[0];
	v[0].msg_hdr.msg_namelen = sizeof(from[0]);
	v[1].msg_hdr.msg_iov = &iov[1];
	v[1].msg_hdr.msg_iovlen = 1;
	v[1].msg_hdr.msg_name = &from[1];
	v[1].msg_hdr.msg_namelen = sizeof(from[1]);
	assert_int_equal(recvmmsg(fd, v, 2, MSG_WAITFORONE, NULL), 2);
	assert_int_equal(v[0].msg_len, 7);
	assert_memory_equal(b0, "echo:aa", 7);
	assert_int_equal(v[1].msg_len, 8);
	assert_memory_equal(b1, "echo:bbb", 8);
	assert_true(addr_equal((struct sockaddr *)&from[1],
	    (struct sockaddr *)&ss, 1));
	close(fd);
}

/*
 * libuv calls syscall(SYS_sendmmsg) and syscall(SYS_recvmmsg) instead
 * of the wrappers: those go through the association too; any other
 * number is libc's syscall().
 */
static void
test_udp_raw_mmsg_syscalls(void **state)
{
	struct sockaddr_storage ss;
	struct mmsghdr v;
	struct iovec iov;
	socklen_t len;
	char buf[32];
	int fd;

	(void)state;
	assert_int_equal(syscall(SYS_getpid), getpid());
	len = fakegw_fake("uv.example", AF_INET, 53, &ss);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	memset(&v, 0, sizeof(v));
	iov.iov_base = "uv";
	iov.iov_len = 2;
	v.msg_hdr.msg_iov = &iov;
	v.msg_hdr.msg_iovlen = 1;
	assert_int_equal(syscall(SYS_sendmmsg, fd, &v, 1, 0), 1);
	assert_int_equal(v.msg_len, 2);
	wait_readable(fd);
	memset(&v, 0, sizeof(v));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	v.msg_hdr.msg_iov = &iov;
	v.msg_hdr.msg_iovlen = 1;
	assert_int_equal(syscall(SYS_recvmmsg, fd, &v, 1, 0, NULL), 1);
	assert_int_equal(v.msg_len, 7);
	assert_memory_equal(buf, "echo:uv", 7);
	assert_last_datagram("uv.example", 53, "uv");
	close(fd);
}

/*
 * Real addresses of a family the host has go direct, untouched: a
 * loopback echo through the same socket as relayed datagrams, and no
 * association for a socket that never sends to a fake address.
 */
static void
test_udp_real_addresses_direct(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in srv, from;
	socklen_t len, slen = sizeof(srv), flen = sizeof(from);
	char buf[64];
	int s, fd, before = atomic_load(&gw_sessions);

	(void)state;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&srv, &slen), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(sendto(fd, "raw", 3, 0, (struct sockaddr *)&srv,
	    sizeof(srv)), 3);
	wait_readable(s);
	assert_int_equal(recvfrom(s, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &flen), 3);
	assert_int_equal(atomic_load(&gw_sessions), before);
	/* Now the same socket also talks to a fake address. */
	len = fakegw_fake("mixed.example", AF_INET, 53, &ss);
	assert_int_equal(sendto(fd, "fake", 4, 0, (struct sockaddr *)&ss,
	    len), 4);
	wait_readable(fd);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 9);
	/* And a real peer's datagram reaches it unchanged, from the peer. */
	assert_int_equal(sendto(s, "back", 4, 0, (struct sockaddr *)&from,
	    flen), 4);
	wait_readable(fd);
	flen = sizeof(from);
	assert_int_equal(recvfrom(fd, buf, sizeof(buf), 0,
	    (struct sockaddr *)&from, &flen), 4);
	assert_memory_equal(buf, "back", 4);
	assert_int_equal(from.sin_port, srv.sin_port);
	close(fd);
	close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_udp_sendto_fake_roundtrip,
		    case_setup),
		cmocka_unit_test_setup(test_udp_connected_send_recv_write_read,
		    case_setup),
		cmocka_unit_test_setup(test_udp_connected_writev_readv_sendfile,
		    case_setup),
		cmocka_unit_test_setup(test_udp_recvmsg_iovecs_trunc_peek,
		    case_setup),
		cmocka_unit_test_setup(test_udp_drops_fragments_and_garbage,
		    case_setup),
		cmocka_unit_test_setup(test_udp_ipv6_socket_and_unspecified_bnd,
		    case_setup),
		cmocka_unit_test_setup(
		    test_udp_replaced_socket_and_v6_source_on_v4, case_setup),
		cmocka_unit_test_setup(
		    test_udp_reassociates_when_control_is_gone, case_setup),
		cmocka_unit_test_setup(test_udp_sendmmsg_recvmmsg, case_setup),
		cmocka_unit_test_setup(test_udp_raw_mmsg_syscalls, case_setup),
		cmocka_unit_test_setup(test_udp_real_addresses_direct,
		    case_setup),
	};

	return cmocka_run_group_tests(tests, group_setup, fakegw_teardown);
}
