/*
 * harness_net.c - the network side of the integration harness: bounded
 * socket helpers, a SOCKS5 client built on the codec the products share,
 * a SHA-256 (FIPS 180-4) and the seeded byte stream that bulk transfers
 * send and check byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

/* Parses a literal into ss; 0 or -1. */
static int
literal(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static uint16_t
port_of(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int
bound_socket(const char *host, uint16_t port, int reuse)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	int			fd, one = 1;

	if (literal(host, port, &ss, &len) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

uint16_t
h_free_port(const char *host)
{
	int		fd;
	uint16_t	port;

	/* A bound socket that never listened leaves no TIME_WAIT behind. */
	if ((fd = bound_socket(host, 0, 0)) == -1)
		return 0;
	port = port_of(fd);
	close(fd);
	return port;
}

int
h_listen(const char *host, uint16_t *port, int backlog)
{
	int	fd;

	if ((fd = bound_socket(host, *port, 1)) == -1)
		return -1;
	if (listen(fd, backlog) == -1) {
		close(fd);
		return -1;
	}
	*port = port_of(fd);
	return fd;
}

int
h_listen_full(const char *host, uint16_t *port, int *filler)
{
	int	fd;

	/*
	 * Linux admits backlog + 1 connections to the accept queue and then
	 * drops SYNs silently, so the next connect neither succeeds nor is
	 * refused: what a destination that never answers looks like, made
	 * without a packet leaving loopback.
	 */
	*port = 0;
	if ((fd = h_listen(host, port, 0)) == -1)
		return -1;
	if ((*filler = h_connect(host, *port, 2000)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
set_nonblock(int fd, int on)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

int
h_connect(const char *host, uint16_t port, int timeout_ms)
{
	struct sockaddr_storage	ss;
	struct pollfd		pfd;
	socklen_t		len, elen = sizeof(int);
	int			fd, err = 0;

	if (literal(host, port, &ss, &len) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) != 1)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
		    err != 0)
			goto fail;
	}
	set_nonblock(fd, 0);
	return fd;
fail:
	close(fd);
	return -1;
}

int
h_send_all(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
h_recv_n(int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t		 end = h_now_ms() + timeout_ms;
	uint8_t		*p = buf;
	size_t		 got = 0;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	ssize_t		 n;

	while (got < len) {
		int64_t left = end - h_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recv(fd, p + got, len - got, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return got > 0 ? (ssize_t)got : -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
h_wait_closed(int fd, int timeout_ms)
{
	int64_t		end = h_now_ms() + timeout_ms;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	uint8_t		scratch[4096];
	ssize_t		n;

	for (;;) {
		int64_t left = end - h_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return 0;
		n = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
			return 1;
	}
}

int
h_accept_within(int lfd, int timeout_ms)
{
	struct pollfd	pfd = { .fd = lfd, .events = POLLIN };
	int		fd;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return 0;
	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1)
		close(fd);
	return 1;
}

void
h_dst(struct socks5_addr *a, const char *host, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->port = port;
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->atyp = SOCKS5_ATYP_IPV4;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->atyp = SOCKS5_ATYP_IPV6;
	else {
		a->atyp = SOCKS5_ATYP_DOMAIN;
		snprintf(a->name, sizeof(a->name), "%s", host);
	}
}

int
h_socks_greet(int fd, const uint8_t *methods, size_t n)
{
	uint8_t	buf[SOCKS5_GREETING_MAX], method;
	size_t	used;
	int	len;

	if ((len = socks5_encode_greeting(buf, sizeof(buf), methods, n)) < 0 ||
	    h_send_all(fd, buf, (size_t)len) == -1)
		return -1;
	if (h_recv_n(fd, buf, 2, H_IO_MS) != 2)
		return -1;
	if (socks5_parse_method_choice(buf, 2, &method, &used) != SOCKS5_OK)
		return -1;
	return method;
}

int
h_socks_userpass(int fd, const char *user, const char *pass)
{
	uint8_t	buf[SOCKS5_USERPASS_MAX], status;
	size_t	used;
	int	len;

	if ((len = socks5_encode_userpass(buf, sizeof(buf), user, pass)) < 0 ||
	    h_send_all(fd, buf, (size_t)len) == -1)
		return -1;
	if (h_recv_n(fd, buf, 2, H_IO_MS) != 2)
		return -1;
	if (socks5_parse_userpass_status(buf, 2, &status, &used) != SOCKS5_OK)
		return -1;
	return status;
}

/*
 * Reads one reply a byte at a time, so nothing relayed after it is
 * consumed. Returns the reply code or -1 (saying what came instead).
 */
static int
read_reply(int fd, struct socks5_reply *out)
{
	uint8_t			buf[SOCKS5_REQUEST_MAX];
	struct socks5_reply	scratch;
	enum socks5_status	st = SOCKS5_NEED_MORE;
	size_t			len = 0, used;

	if (out == NULL)
		out = &scratch;
	while (len < sizeof(buf)) {
		if (h_recv_n(fd, buf + len, 1, H_IO_MS) != 1)
			break;
		len++;
		st = socks5_parse_reply(buf, len, out, &used);
		if (st != SOCKS5_NEED_MORE)
			break;
	}
	if (st == SOCKS5_OK)
		return out->rep;
	printf("# harness: bad reply (%s), %zu bytes:", st == SOCKS5_NEED_MORE ?
	    "incomplete" : socks5_status_str(st), len);
	for (size_t i = 0; i < len; i++)
		printf(" %02x", buf[i]);
	printf("\n");
	return -1;
}

int
h_socks_request(int fd, uint8_t cmd, const struct socks5_addr *dst,
    struct socks5_reply *out)
{
	uint8_t	buf[SOCKS5_REQUEST_MAX];
	int	len;

	if ((len = socks5_encode_request(buf, sizeof(buf), cmd, dst)) < 0 ||
	    h_send_all(fd, buf, (size_t)len) == -1)
		return -1;
	return read_reply(fd, out);
}

int
h_socks_open(const struct h_gw *gw, const char *user, const char *pass,
    const char *host, uint16_t port, int *rep)
{
	struct socks5_addr	dst;
	uint8_t			method = user != NULL ? SOCKS5_METHOD_USERPASS :
				    SOCKS5_METHOD_NONE;
	int			fd, r = -1;

	*rep = -1;
	if ((fd = h_connect(gw->host ? gw->host : "127.0.0.1", gw->port,
	    H_IO_MS)) == -1)
		return -1;
	if (h_socks_greet(fd, &method, 1) != method)
		goto out;
	if (user != NULL && h_socks_userpass(fd, user, pass) != 0)
		goto out;
	h_dst(&dst, host, port);
	r = *rep = h_socks_request(fd, SOCKS5_CMD_CONNECT, &dst, NULL);
out:
	if (r != SOCKS5_REP_SUCCEEDED) {
		close(fd);
		return -1;
	}
	return fd;
}

int
h_socks_rep(const struct h_gw *gw, const char *host, uint16_t port)
{
	int	rep, fd;

	if ((fd = h_socks_open(gw, NULL, NULL, host, port, &rep)) != -1)
		close(fd);
	return rep;
}

int
h_socks_raw(const struct h_gw *gw, const void *req, size_t len)
{
	uint8_t	choice[2];
	int	fd, rep = -1;

	if ((fd = h_connect(gw->host ? gw->host : "127.0.0.1", gw->port,
	    H_IO_MS)) == -1)
		return -1;
	if (h_send_all(fd, req, len) == 0 &&
	    h_recv_n(fd, choice, 2, H_IO_MS) == 2 && choice[0] == 5 &&
	    choice[1] == SOCKS5_METHOD_NONE)
		rep = read_reply(fd, NULL);
	close(fd);
	return rep;
}

/* ---------------------------------------------------------------- */
/* SHA-256, as FIPS 180-4 section 6.2 describes it.                  */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
sha_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t	w[64], a, b, c, d, e, f, g, k, t1, t2;
	int		i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = (ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
		    (w[i - 2] >> 10)) + w[i - 7] + (ROR(w[i - 15], 7) ^
		    ROR(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16];
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		k = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

void
h_sha256_init(struct h_sha256 *s)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(s->h, iv, sizeof(iv));
	s->total = 0;
	s->n = 0;
}

void
h_sha256_update(struct h_sha256 *s, const void *data, size_t len)
{
	const uint8_t	*p = data;
	size_t		 take;

	s->total += len;
	while (len > 0) {
		if (s->n == 0 && len >= 64) {
			sha_block(s->h, p);
			p += 64;
			len -= 64;
			continue;
		}
		take = 64 - s->n < len ? 64 - s->n : len;
		memcpy(s->buf + s->n, p, take);
		s->n += take;
		p += take;
		len -= take;
		if (s->n == 64) {
			sha_block(s->h, s->buf);
			s->n = 0;
		}
	}
}

void
h_sha256_final(struct h_sha256 *s, uint8_t out[32])
{
	uint64_t	bits = s->total * 8;
	uint8_t		pad[72] = { 0x80 };
	size_t		padlen = (s->n < 56 ? 56 : 120) - s->n;

	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (uint8_t)(bits >> (56 - 8 * i));
	h_sha256_update(s, pad, padlen + 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

char *
h_sha256_hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	return out;
}

/* ---------------------------------------------------------------- */
/* The test stream: xorshift64*, eight bytes per step, low byte first. */

void
h_stream_init(struct h_stream *st, uint64_t seed)
{
	st->s = seed ^ 0x9e3779b97f4a7c15ULL;
	if (st->s == 0)
		st->s = 1;
	st->left = 0;
	st->word = 0;
}

void
h_stream_fill(struct h_stream *st, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (st->left == 0) {
			st->s ^= st->s >> 12;
			st->s ^= st->s << 25;
			st->s ^= st->s >> 27;
			st->word = st->s * 0x2545f4914f6cdd1dULL;
			st->left = 8;
		}
		buf[i] = (uint8_t)st->word;
		st->word >>= 8;
		st->left--;
	}
}

void
h_stream_sha256(uint64_t seed, size_t len, uint8_t out[32])
{
	struct h_stream	st;
	struct h_sha256	s;
	uint8_t		buf[16384];
	size_t		n;

	h_stream_init(&st, seed);
	h_sha256_init(&s);
	while (len > 0) {
		n = len < sizeof(buf) ? len : sizeof(buf);
		h_stream_fill(&st, buf, n);
		h_sha256_update(&s, buf, n);
		len -= n;
	}
	h_sha256_final(&s, out);
}

int
h_xfer_run(int fd, struct h_xfer *x)
{
	enum { CHUNK = 65536 };
	struct h_sha256	 ss, rs;
	struct h_stream	 st;
	struct pollfd	 pfd;
	uint8_t		*out, *in;
	size_t		 have = 0, off = 0;
	int64_t		 end = h_now_ms() + x->timeout_ms;
	int		 paused = x->pause == NULL, shut = 0, rc = -1;
	ssize_t		 n;

	x->sent = x->received = 0;
	x->got_eof = 0;
	out = malloc(CHUNK);
	in = malloc(CHUNK);
	if (out == NULL || in == NULL)
		goto done;
	h_stream_init(&st, x->send_seed);
	h_sha256_init(&ss);
	h_sha256_init(&rs);
	set_nonblock(fd, 1);
	while (!x->got_eof) {
		if (!paused && x->sent >= x->pause_at) {
			paused = 1;
			x->pause(x->arg);
		}
		if (x->sent == x->send_len && !shut && !x->no_shutdown) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		if (off == have && x->sent < x->send_len) {
			have = x->send_len - x->sent < CHUNK ?
			    x->send_len - x->sent : CHUNK;
			h_stream_fill(&st, out, have);
			off = 0;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (off < have ? POLLOUT : 0);
		int64_t left = end - h_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)(left < 200 ? left : 200))
		    == -1) {
			if (left <= 0 || errno != EINTR)
				break;
			continue;
		}
		if (pfd.revents & POLLOUT) {
			n = send(fd, out + off, have - off, MSG_NOSIGNAL);
			if (n > 0) {
				h_sha256_update(&ss, out + off, (size_t)n);
				off += (size_t)n;
				x->sent += (size_t)n;
			} else if (n == -1 && errno != EAGAIN && errno != EINTR)
				break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in, CHUNK, 0);
			if (n > 0) {
				h_sha256_update(&rs, in, (size_t)n);
				x->received += (size_t)n;
			} else if (n == 0)
				x->got_eof = 1;
			else if (errno != EAGAIN && errno != EINTR)
				break;
		}
	}
	h_sha256_final(&ss, x->sent_sha);
	h_sha256_final(&rs, x->recv_sha);
	set_nonblock(fd, 0);
	rc = x->sent == x->send_len && x->got_eof ? 0 : -1;
done:
	free(out);
	free(in);
	return rc;
}
