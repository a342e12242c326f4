/*
 * nbclient - a small non-blocking HTTP client, the way event loops and
 * browsers connect, for the shim's end-to-end tests.
 *
 * getaddrinfo, then for each address: a non-blocking socket, connect()
 * (0 or EINPROGRESS), a wait for writability with poll, select or epoll,
 * SO_ERROR; then one HTTP/1.0 GET, read with the same wait until EOF.
 * It prints "peer ADDR" from getpeername (and whether that is the
 * address it connected to), then the response, and fails if the first
 * bytes read are not "HTTP/": a shim that left part of its SOCKS reply
 * in the socket would show here.
 * usage: nbclient [-m poll|select|epoll] [-t MS] [-4|-6] HOST PORT [PATH]
 * exit: 0 ok, 1 no address connected, 2 usage, 3 bad response, 4 timeout
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum wait_mode { W_POLL, W_SELECT, W_EPOLL };

static enum wait_mode	 wmode = W_POLL;
static long long	 deadline;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be writable (out) or readable; 0, or -1 on timeout. */
static int
wait_fd(int fd, int out)
{
	long long left = deadline - now_ms();
	int r = -1;

	if (left <= 0)
		return -1;
	if (wmode == W_POLL) {
		struct pollfd p = { fd, out ? POLLOUT : POLLIN, 0 };

		r = poll(&p, 1, (int)left);
	} else if (wmode == W_SELECT) {
		fd_set s;
		struct timeval tv = { left / 1000, (left % 1000) * 1000 };

		if (fd >= FD_SETSIZE)
			return -1;
		FD_ZERO(&s);
		FD_SET(fd, &s);
		r = select(fd + 1, out ? NULL : &s, out ? &s : NULL, NULL, &tv);
	} else {
		struct epoll_event ev, got;
		int ep = epoll_create1(EPOLL_CLOEXEC);

		if (ep == -1)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = out ? EPOLLOUT : EPOLLIN;
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
			r = epoll_wait(ep, &got, 1, (int)left);
		close(ep);
	}
	return r > 0 ? 0 : -1;
}

static const char *
numeric(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, n, "?");
	else
		snprintf(buf, n, strchr(host, ':') ? "[%s]:%s" : "%s:%s",
		    host, serv);
	return buf;
}

/* Connects one address the non-blocking way; the fd, or -1. */
static int
try_connect(const struct addrinfo *ai)
{
	char a[128];
	socklen_t len = sizeof(int);
	int fd, err = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto fail;
		}
		if (wait_fd(fd, 1) == -1) {
			err = ETIMEDOUT;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0)
			goto fail;
	}
	return fd;
fail:
	fprintf(stderr, "nbclient: connect %s: %s\n",
	    numeric(ai->ai_addr, ai->ai_addrlen, a, sizeof(a)),
	    strerror(err));
	close(fd);
	return -1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: nbclient [-m poll|select|epoll] [-t MS] "
	    "[-4|-6] HOST PORT [PATH]\n");
	return 2;
}

int
main(int argc, char *argv[])
{
	struct addrinfo hints, *res, *ai;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char req[1024], buf[4096], a[128], b[128];
	size_t got = 0, sent = 0, rlen;
	ssize_t n;
	int ch, fd = -1, r, family = AF_UNSPEC;
	long timeout = 10000;

	while ((ch = getopt(argc, argv, "46m:t:")) != -1) {
		switch (ch) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'm':
			if (strcmp(optarg, "poll") == 0)
				wmode = W_POLL;
			else if (strcmp(optarg, "select") == 0)
				wmode = W_SELECT;
			else if (strcmp(optarg, "epoll") == 0)
				wmode = W_EPOLL;
			else
				return usage();
			break;
		case 't':
			timeout = strtol(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return usage();
	deadline = now_ms() + timeout;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((r = getaddrinfo(argv[optind], argv[optind + 1], &hints,
	    &res)) != 0) {
		fprintf(stderr, "nbclient: %s: %s\n", argv[optind],
		    gai_strerror(r));
		return 1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = try_connect(ai)) != -1)
			break;
	if (fd == -1) {
		freeaddrinfo(res);
		return 1;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == -1) {
		fprintf(stderr, "nbclient: getpeername: %s\n",
		    strerror(errno));
		return 3;
	}
	numeric((struct sockaddr *)&peer, plen, a, sizeof(a));
	numeric(ai->ai_addr, ai->ai_addrlen, b, sizeof(b));
	printf("peer %s matches=%s\n", a, strcmp(a, b) == 0 ? "yes" : "no");
	freeaddrinfo(res);
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: nbclient\r\n\r\n",
	    argc - optind == 3 ? argv[optind + 2] : "/", argv[optind]);
	rlen = strlen(req);
	while (sent < rlen) {
		n = send(fd, req + sent, rlen - sent, MSG_NOSIGNAL);
		if (n > 0)
			sent += (size_t)n;
		else if (n == -1 && errno == EAGAIN && wait_fd(fd, 1) == 0)
			continue;
		else {
			fprintf(stderr, "nbclient: send: %s\n",
			    strerror(errno));
			return 3;
		}
	}
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (got == 0 && (n < 5 || memcmp(buf, "HTTP/", 5))) {
				fprintf(stderr, "nbclient: first bytes are "
				    "not HTTP/: %02x %02x %02x\n",
				    (unsigned char)buf[0],
				    (unsigned char)buf[n > 1],
				    (unsigned char)buf[n > 2 ? 2 : 0]);
				return 3;
			}
			fwrite(buf, 1, (size_t)n, stdout);
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN && wait_fd(fd, 0) == 0)
			continue;
		if (errno == EAGAIN) {
			fprintf(stderr, "nbclient: timed out reading\n");
			return 4;
		}
		fprintf(stderr, "nbclient: recv: %s\n", strerror(errno));
		return 3;
	}
	close(fd);
	return got > 0 ? 0 : 3;
}
