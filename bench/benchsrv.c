/*
 * benchsrv - the destination every benchmark case talks to.
 *
 * Three services on loopback, each optional:
 *   -e ADDR:PORT  echo: one epoll thread, so 10,000 held connections
 *                 cost a descriptor each and no thread;
 *   -d ADDR:PORT  data: a thread per connection running the job its
 *                 header names (bench.h): sink (verify and report) or
 *                 source (send a verifiable stream);
 *   -n ADDR:PORT  DNS: answers every A query with 127.0.0.1 and every
 *                 other type with no data, each -D MS late. It lets the
 *                 event-loop case give the gateway a destination that
 *                 takes half a second to reach (this kernel has no
 *                 netem to delay a SYN).
 * An address without a port gets a free one; the ports are printed on
 * one line ("echo=P data=P dns=P") once all are listening. Exits on
 * SIGTERM or after -T seconds (default 3600), whichever comes first.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bench.h"

#define SRV_ECHO_EVENTS	256	/* epoll events per wake-up */
#define SRV_ACCEPT_BURST 256	/* accepts per wake-up */
#define SRV_DNS_QUEUE	4096	/* queries waiting for their delay */
#define SRV_DNS_MAX	512	/* classic DNS over UDP */

static uint8_t	*srv_pat;	/* the pattern; read-only once made */

static long long
srv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
srv_die(const char *what)
{
	fprintf(stderr, "benchsrv: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * Binds a socket of type to spec ("127.0.0.1" for a free port, or
 * "127.0.0.1:PORT"); returns it, with *port the port it got.
 */
static int
srv_bind(const char *spec, int type, unsigned int *port)
{
	struct sockaddr_storage	ss;
	socklen_t		len;
	const char		*why;
	int			fd, one = 1;

	if (addr_parse_endpoint(spec, 0, &ss, &len, &why) == -1) {
		fprintf(stderr, "benchsrv: %s: %s\n", spec, why);
		exit(2);
	}
	if ((fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0)) == -1)
		srv_die("socket");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1)
		srv_die(spec);
	if (type == SOCK_STREAM && listen(fd, 4096) == -1)
		srv_die("listen");
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		srv_die("getsockname");
	*port = addr_port((struct sockaddr *)&ss);
	return fd;
}

/* ------------------------------------------------------------------ */
/* echo                                                                 */

/* Bytes an echo could not write back yet, by descriptor (rare). */
struct srv_pending {
	uint8_t	*buf;
	size_t	 len;
};

static struct srv_pending	*srv_pend;
static size_t			 srv_npend;

static void
srv_echo_close(int ep, int fd)
{
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	if ((size_t)fd < srv_npend) {
		free(srv_pend[fd].buf);
		srv_pend[fd].buf = NULL;
		srv_pend[fd].len = 0;
	}
	close(fd);
}

static void
srv_echo_accept(int ep, int lfd)
{
	struct epoll_event	ev;
	int			fd, i;

	for (i = 0; i < SRV_ACCEPT_BURST; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered: pause rather than spin. */
				fprintf(stderr, "benchsrv: echo accept: %s\n",
				    strerror(errno));
				usleep(10000);
			}
			return;
		}
		if ((size_t)fd >= srv_npend) {
			close(fd);
			continue;
		}
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
			close(fd);
	}
}

/* Writes back what was read; what does not fit waits for EPOLLOUT. */
static void
srv_echo_io(int ep, int fd, uint32_t events)
{
	struct srv_pending	*p = &srv_pend[fd];
	struct epoll_event	 ev;
	uint8_t			 buf[4096];
	ssize_t			 n, w;

	if (p->len > 0) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		w = write(fd, p->buf, p->len);
		if (w == -1 && errno == EAGAIN)
			return;
		if (w <= 0) {
			srv_echo_close(ep, fd);
			return;
		}
		memmove(p->buf, p->buf + w, p->len - (size_t)w);
		if ((p->len -= (size_t)w) > 0)
			return;
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		(void)epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		srv_echo_close(ep, fd);
		return;
	}
	w = write(fd, buf, (size_t)n);
	if (w == -1 && errno == EAGAIN)
		w = 0;
	if (w < 0) {
		srv_echo_close(ep, fd);
		return;
	}
	if (w == n)
		return;
	if ((p->buf = malloc((size_t)(n - w))) == NULL) {
		srv_echo_close(ep, fd);
		return;
	}
	memcpy(p->buf, buf + w, (size_t)(n - w));
	p->len = (size_t)(n - w);
	ev.events = EPOLLOUT;
	ev.data.fd = fd;
	(void)epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void *
srv_echo_main(void *arg)
{
	struct epoll_event	ev, evs[SRV_ECHO_EVENTS];
	int			lfd = (int)(intptr_t)arg, ep, n, i;

	/* Accepts come in bursts until EAGAIN: the listener must not block. */
	if (fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) == -1)
		srv_die("fcntl");
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		srv_die("epoll_create1");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1)
		srv_die("epoll_ctl");
	for (;;) {
		n = epoll_wait(ep, evs, SRV_ECHO_EVENTS, -1);
		if (n == -1 && errno != EINTR)
			srv_die("epoll_wait");
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				srv_echo_accept(ep, lfd);
			else
				srv_echo_io(ep, evs[i].data.fd, evs[i].events);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* data                                                                 */

static int
srv_read_full(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = read(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
srv_write_full(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads len bytes (or to EOF), checking every one, then answers how many
 * came and where the first bad one was. The answer does not wait for
 * the client's EOF: a proxy that drops half-close (microsocks) must
 * still be measurable.
 */
static void
srv_sink(int fd, uint64_t len, uint64_t seed)
{
	uint8_t		*buf, st[BENCH_STATUS_LEN];
	uint64_t	 pos = 0, bad = 0;
	size_t		 off, want;
	ssize_t		 n = 0, i;

	if ((buf = malloc(BENCH_CHUNK)) == NULL)
		return;
	while (pos < len) {
		want = len - pos < BENCH_CHUNK ? (size_t)(len - pos) :
		    BENCH_CHUNK;
		n = read(fd, buf, want);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off = bench_pattern_off(seed, pos);
		if (bad == 0 && memcmp(buf, srv_pat + off, (size_t)n) != 0) {
			for (i = 0; i < n && buf[i] == srv_pat[off + i]; i++)
				;
			bad = pos + (uint64_t)i + 1;
		}
		pos += (uint64_t)n;
	}
	free(buf);
	if (n < 0)
		return;		/* reset: the client sees no status */
	bench_put64(st, pos);
	bench_put64(st + 8, bad);
	(void)srv_write_full(fd, st, sizeof(st));
}

static void
srv_source(int fd, uint64_t len, uint64_t seed)
{
	uint64_t	pos = 0;
	size_t		n;

	while (pos < len) {
		n = len - pos < BENCH_CHUNK ? (size_t)(len - pos) : BENCH_CHUNK;
		if (srv_write_full(fd, srv_pat + bench_pattern_off(seed, pos),
		    n) == -1)
			return;
		pos += n;
	}
	(void)shutdown(fd, SHUT_WR);
}

static void *
srv_data_conn(void *arg)
{
	uint8_t	hdr[BENCH_HDR_LEN];
	int	fd = (int)(intptr_t)arg;

	if (srv_read_full(fd, hdr, sizeof(hdr)) == 0 &&
	    bench_get32(hdr) == BENCH_MAGIC) {
		if (bench_get32(hdr + 4) == BENCH_SINK)
			srv_sink(fd, bench_get64(hdr + 8),
			    bench_get64(hdr + 16));
		else if (bench_get32(hdr + 4) == BENCH_SOURCE)
			srv_source(fd, bench_get64(hdr + 8),
			    bench_get64(hdr + 16));
	}
	close(fd);
	return NULL;
}

static void *
srv_data_main(void *arg)
{
	pthread_attr_t	attr;
	pthread_t	t;
	int		lfd = (int)(intptr_t)arg, fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(10000);
			continue;
		}
		if (pthread_create(&t, &attr, srv_data_conn,
		    (void *)(intptr_t)fd) != 0)
			close(fd);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* DNS                                                                  */

struct srv_query {
	long long		due;
	struct sockaddr_storage	peer;
	socklen_t		peerlen;
	size_t			len;
	uint8_t			msg[SRV_DNS_MAX];
};

static unsigned int	srv_dns_delay_ms = 500;

/*
 * Turns query q into its answer in place: same id and question, QR and
 * RA set, one A record 127.0.0.1 for an IN A question, none otherwise.
 * Returns 0, or -1 for something that is no plain one-question query.
 */
static int
srv_dns_answer(struct srv_query *q)
{
	static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1,
	    0, 4, 127, 0, 0, 1 };
	size_t	 i = 12;
	uint16_t qtype, qclass;

	if (q->len < 12 || (q->msg[2] & 0x80) || q->msg[4] != 0 ||
	    q->msg[5] != 1)
		return -1;
	while (i < q->len && q->msg[i] != 0) {
		if (q->msg[i] & 0xc0)
			return -1;
		i += 1 + (size_t)q->msg[i];
	}
	if (i + 5 > q->len)
		return -1;
	qtype = (uint16_t)(q->msg[i + 1] << 8 | q->msg[i + 2]);
	qclass = (uint16_t)(q->msg[i + 3] << 8 | q->msg[i + 4]);
	q->len = i + 5;			/* drops any EDNS OPT record */
	q->msg[2] = 0x80 | (q->msg[2] & 0x01);	/* QR, keep RD */
	q->msg[3] = 0x80;		/* RA, NOERROR */
	memset(q->msg + 6, 0, 6);	/* AN, NS, AR counts */
	if (qtype == 1 && qclass == 1 && q->len + sizeof(rr) <= SRV_DNS_MAX) {
		memcpy(q->msg + q->len, rr, sizeof(rr));
		q->len += sizeof(rr);
		q->msg[7] = 1;
	}
	return 0;
}

static void *
srv_dns_main(void *arg)
{
	struct srv_query	*ring;
	struct pollfd		 pfd;
	size_t			 head = 0, count = 0;
	long long		 now;
	ssize_t			 n;
	int			 fd = (int)(intptr_t)arg, wait;

	if ((ring = calloc(SRV_DNS_QUEUE, sizeof(*ring))) == NULL)
		srv_die("calloc");
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		now = srv_now_ms();
		/* The delay is constant, so the ring is in due order. */
		while (count > 0 && ring[head].due <= now) {
			struct srv_query *q = &ring[head];

			(void)sendto(fd, q->msg, q->len, 0,
			    (struct sockaddr *)&q->peer, q->peerlen);
			head = (head + 1) % SRV_DNS_QUEUE;
			count--;
		}
		wait = count > 0 ? (int)(ring[head].due - now) : -1;
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		while (count < SRV_DNS_QUEUE) {
			struct srv_query *q =
			    &ring[(head + count) % SRV_DNS_QUEUE];

			q->peerlen = sizeof(q->peer);
			n = recvfrom(fd, q->msg, sizeof(q->msg), MSG_DONTWAIT,
			    (struct sockaddr *)&q->peer, &q->peerlen);
			if (n <= 0)
				break;
			q->len = (size_t)n;
			q->due = srv_now_ms() + srv_dns_delay_ms;
			if (srv_dns_answer(q) == 0)
				count++;
		}
		if (count == SRV_DNS_QUEUE)
			/* Full: drop one so poll cannot spin on it. */
			(void)recv(fd, ring[0].msg, 1, MSG_DONTWAIT);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */

static void
srv_start(void *(*fn)(void *), int fd)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, (void *)(intptr_t)fd) != 0)
		srv_die("pthread_create");
	pthread_detach(t);
}

static void
srv_usage(void)
{
	fprintf(stderr, "usage: benchsrv [-e ADDR:PORT] [-d ADDR:PORT] "
	    "[-n ADDR:PORT] [-D MS] [-T SECONDS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*echo = NULL, *data = NULL, *dns = NULL;
	unsigned int	 eport = 0, dport = 0, nport = 0, life = 3600;
	struct rlimit	 rl;
	struct timespec	 ts;
	sigset_t	 sigs;
	int		 c;

	while ((c = getopt(argc, argv, "e:d:n:D:T:")) != -1) {
		switch (c) {
		case 'e':
			echo = optarg;
			break;
		case 'd':
			data = optarg;
			break;
		case 'n':
			dns = optarg;
			break;
		case 'D':
			srv_dns_delay_ms = (unsigned int)atoi(optarg);
			break;
		case 'T':
			life = (unsigned int)atoi(optarg);
			break;
		default:
			srv_usage();
		}
	}
	if (optind != argc || (echo == NULL && data == NULL && dns == NULL))
		srv_usage();

	/* Only the main thread takes SIGTERM, in sigtimedwait below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((srv_pat = malloc(2 * (size_t)BENCH_PAT_LEN)) == NULL)
		srv_die("malloc");
	bench_pattern_init(srv_pat);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		srv_npend = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 :
		    (size_t)rl.rlim_cur;
		if ((srv_pend = calloc(srv_npend, sizeof(*srv_pend))) == NULL)
			srv_die("calloc");
	}
	if (echo != NULL)
		srv_start(srv_echo_main, srv_bind(echo, SOCK_STREAM, &eport));
	if (data != NULL)
		srv_start(srv_data_main, srv_bind(data, SOCK_STREAM, &dport));
	if (dns != NULL)
		srv_start(srv_dns_main, srv_bind(dns, SOCK_DGRAM, &nport));
	printf("echo=%u data=%u dns=%u\n", eport, dport, nport);
	fflush(stdout);

	ts.tv_sec = life;
	ts.tv_nsec = 0;
	while (sigtimedwait(&sigs, NULL, &ts) == -1 && errno == EINTR)
		;
	return 0;
}
