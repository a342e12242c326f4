/*
 * tcpsrv - the destination server of the integration tests.
 *
 * Listens on one loopback address (port 0: the kernel picks), prints
 * "port N" once it listens, then one line per event on stdout so a test
 * can follow what reached the destination: "accept PEER" for each
 * connection and "done MODE ..." when one ends. A thread serves each
 * connection in one of these modes:
 *   echo    send back every byte until EOF, then shut down writing
 *   http    answer one HTTP request with "BODY local=ADDR" and close
 *   hold    read and discard until EOF, never send
 *   source  send -n BYTES of stream -s SEED, shut down writing, then read
 *           until EOF checking every byte against stream -r SEED
 *   reply   the other order: read until EOF checking stream -r SEED, then
 *           send -n BYTES of stream -s SEED (a request, then its answer)
 * usage: tcpsrv [-a ADDR] [-p PORT] [-m MODE] [-n BYTES] [-s SEED]
 *               [-r SEED] [-b BODY]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum mode { M_ECHO, M_HTTP, M_HOLD, M_SOURCE, M_REPLY };

static enum mode	 mode = M_ECHO;
static unsigned long long nbytes;
static uint64_t		 send_seed = 1, recv_seed = 2;
static const char	*body = "socks64-it-marker";
static pthread_mutex_t	 out_lock = PTHREAD_MUTEX_INITIALIZER;

/* One whole line per event, whichever thread reports it. */
static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	va_list	ap;

	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* The same stream as h_stream_*() in tests/integration/harness_net.c. */
struct stream {
	uint64_t	s, word;
	unsigned int	left;
};

static void
stream_init(struct stream *st, uint64_t seed)
{
	st->s = seed ^ 0x9e3779b97f4a7c15ULL;
	if (st->s == 0)
		st->s = 1;
	st->left = 0;
	st->word = 0;
}

static uint8_t
stream_byte(struct stream *st)
{
	uint8_t	b;

	if (st->left == 0) {
		st->s ^= st->s >> 12;
		st->s ^= st->s << 25;
		st->s ^= st->s >> 27;
		st->word = st->s * 0x2545f4914f6cdd1dULL;
		st->left = 8;
	}
	b = (uint8_t)st->word;
	st->word >>= 8;
	st->left--;
	return b;
}

static int
send_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *
fmt_addr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char	host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
	return buf;
}

static void
serve_echo(int fd)
{
	char			buf[65536];
	unsigned long long	total = 0;
	ssize_t			n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (send_all(fd, buf, (size_t)n) == -1)
			break;
		total += (unsigned long long)n;
	}
	shutdown(fd, SHUT_WR);
	say("done echo %llu%s", total, n < 0 ? " error" : "");
}

static void
serve_http(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen = sizeof(ss);
	char			req[16384], local[96], text[512], head[256];
	size_t			got = 0;
	ssize_t			n;

	while (got < sizeof(req) - 1) {
		if ((n = recv(fd, req + got, sizeof(req) - 1 - got, 0)) <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sslen);
	snprintf(text, sizeof(text), "%s local=%s\n", body,
	    fmt_addr(&ss, local, sizeof(local)));
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n", strlen(text));
	if (send_all(fd, head, strlen(head)) == 0)
		send_all(fd, text, strlen(text));
	shutdown(fd, SHUT_WR);
	while (recv(fd, req, sizeof(req), 0) > 0)
		;
	say("done http");
}

static void
serve_hold(int fd)
{
	char			buf[65536];
	unsigned long long	total = 0;
	ssize_t			n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		total += (unsigned long long)n;
	say("done hold %llu", total);
}

/* Sends nbytes of stream send_seed; returns how many went out. */
static unsigned long long
send_stream(int fd)
{
	struct stream		st;
	char			buf[65536];
	unsigned long long	left = nbytes;
	size_t			n;

	stream_init(&st, send_seed);
	while (left > 0) {
		n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)stream_byte(&st);
		if (send_all(fd, buf, n) == -1)
			break;
		left -= n;
	}
	return nbytes - left;
}

/*
 * Reads until EOF checking stream recv_seed; *total gets the count.
 * Returns -1 if all matched, else the offset of the first wrong byte.
 */
static long long
recv_stream(int fd, unsigned long long *total)
{
	struct stream	st;
	char		buf[65536];
	long long	bad = -1;
	ssize_t		r;

	*total = 0;
	stream_init(&st, recv_seed);
	while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
		for (ssize_t i = 0; i < r; i++, (*total)++)
			if ((uint8_t)buf[i] != stream_byte(&st) && bad < 0)
				bad = (long long)*total;
	return bad;
}

static void
report(const char *what, unsigned long long sent, unsigned long long got,
    long long bad)
{
	if (bad < 0)
		say("done %s sent %llu recv %llu ok", what, sent, got);
	else
		say("done %s sent %llu recv %llu bad at %lld", what, sent, got,
		    bad);
}

static void
serve_source(int fd)
{
	unsigned long long	sent, got;
	long long		bad;

	sent = send_stream(fd);
	shutdown(fd, SHUT_WR);
	bad = recv_stream(fd, &got);
	report("source", sent, got, bad);
}

static void
serve_reply(int fd)
{
	unsigned long long	sent, got;
	long long		bad;

	bad = recv_stream(fd, &got);
	sent = send_stream(fd);
	shutdown(fd, SHUT_WR);
	report("reply", sent, got, bad);
}

static void *
serve(void *arg)
{
	int		fd = (int)(intptr_t)arg;
	struct timeval	tv = { 60, 0 };

	/* A test that forgets a connection must not wedge this thread. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	switch (mode) {
	case M_ECHO:
		serve_echo(fd);
		break;
	case M_HTTP:
		serve_http(fd);
		break;
	case M_HOLD:
		serve_hold(fd);
		break;
	case M_SOURCE:
		serve_source(fd);
		break;
	case M_REPLY:
		serve_reply(fd);
		break;
	}
	close(fd);
	return NULL;
}

static int
open_listener(const char *addr, unsigned int port)
{
	struct sockaddr_storage	ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	socklen_t		len;
	int			fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		close(fd);
		return -1;
	}
	say("port %u", ntohs(ss.ss_family == AF_INET6 ? s6->sin6_port :
	    s4->sin_port));
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: tcpsrv [-a ADDR] [-p PORT] "
	    "[-m echo|http|hold|source|reply] [-n BYTES] [-s SEED] [-r SEED] "
	    "[-b BODY]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage	 peer;
	socklen_t		 plen;
	pthread_attr_t		 attr;
	pthread_t		 t;
	const char		*addr = "127.0.0.1";
	unsigned int		 port = 0;
	char			 pbuf[96];
	int			 c, lfd, fd;

	while ((c = getopt(argc, argv, "a:b:m:n:p:r:s:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'b': body = optarg; break;
		case 'n': nbytes = strtoull(optarg, NULL, 0); break;
		case 'p': port = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'r': recv_seed = strtoull(optarg, NULL, 0); break;
		case 's': send_seed = strtoull(optarg, NULL, 0); break;
		case 'm':
			if (strcmp(optarg, "echo") == 0)
				mode = M_ECHO;
			else if (strcmp(optarg, "http") == 0)
				mode = M_HTTP;
			else if (strcmp(optarg, "hold") == 0)
				mode = M_HOLD;
			else if (strcmp(optarg, "source") == 0)
				mode = M_SOURCE;
			else if (strcmp(optarg, "reply") == 0)
				mode = M_REPLY;
			else
				usage();
			break;
		default:
			usage();
		}
	}
	/* Never outlive a test run, whatever happens to the harness. */
	alarm(300);
	if ((lfd = open_listener(addr, port)) == -1) {
		perror("tcpsrv: listen");
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (;;) {
		plen = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tcpsrv: accept");
			return 1;
		}
		say("accept %s", fmt_addr(&peer, pbuf, sizeof(pbuf)));
		if (pthread_create(&t, &attr, serve, (void *)(intptr_t)fd)
		    != 0) {
			close(fd);
			say("done refused");
		}
	}
}
