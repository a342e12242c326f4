/*
 * actsrv - a server that connects back, as FTP does in active mode.
 *
 * The integration tests of BIND need a peer that opens a connection to
 * the address a client tells it, the way an FTP server answers PORT.
 * actsrv listens on one address (port 0: the kernel picks), prints
 * "port N", and serves control connections one line at a time:
 *   PORT HOST PORT [FROM]  connect to HOST:PORT (from the local address
 *                          FROM when given), answer "150 connected", send
 *                          "actsrv data\n" on the new connection, echo
 *                          what comes until EOF, then answer "226 N" (N
 *                          bytes echoed); "425 REASON" if it cannot
 *                          connect
 *   QUIT                   answer "221 bye" and close
 * Every reply is also printed on stdout. Each wait is bounded (-t).
 * usage: actsrv [-a ADDR] [-t SECONDS]
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"

static int	wait_ms = 10000;

static int
send_str(int fd, const char *s)
{
	size_t	len = strlen(s);
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, s, len, MSG_NOSIGNAL)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Waits for fd to be ready for events; 1 ready, 0 timeout or error. */
static int
ready(int fd, short events)
{
	struct pollfd	pfd = { .fd = fd, .events = events };

	return poll(&pfd, 1, wait_ms) == 1;
}

/* Answers on the control connection, and says it on stdout too. */
static void
answer(int ctl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
answer(int ctl, const char *fmt, ...)
{
	char	line[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	fflush(stdout);
	strcat(line, "\n");
	(void)send_str(ctl, line);
}

/* Connects to host:port from "from" (NULL: any) within wait_ms. */
static int
connect_back(const char *host, const char *port, const char *from,
    const char **why)
{
	struct sockaddr_storage	ss, src;
	socklen_t		len, slen;
	unsigned long		p = strtoul(port, NULL, 10);
	int			fd, err = 0;

	if (p == 0 || p > 65535 ||
	    addr_parse_endpoint(host, (int)p, &ss, &len, why) == -1)
		return -1;
	if (from != NULL &&
	    addr_parse_endpoint(from, 0, &src, &slen, why) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	if (from != NULL && bind(fd, (struct sockaddr *)&src, slen) == -1) {
		*why = strerror(errno);
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1)
		err = errno;
	if (err != 0) {
		*why = strerror(err);
		close(fd);
		return -1;
	}
	return fd;
}

/* The data connection: a banner, then an echo until EOF. */
static unsigned long
serve_data(int fd)
{
	char		buf[4096];
	unsigned long	total = 0;
	ssize_t		n;

	if (send_str(fd, "actsrv data\n") == -1)
		return 0;
	while (ready(fd, POLLIN) && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			break;
		total += (unsigned long)n;
	}
	return total;
}

static void
serve_control(int ctl)
{
	char		 line[512], *w[5], *save;
	size_t		 len = 0;
	ssize_t		 n;
	const char	*why;
	int		 nw, fd;

	for (;;) {
		char *nl = memchr(line, '\n', len);

		if (nl == NULL) {
			if (len == sizeof(line) - 1 || !ready(ctl, POLLIN) ||
			    (n = recv(ctl, line + len, sizeof(line) - 1 - len,
			    0)) <= 0)
				return;
			len += (size_t)n;
			continue;
		}
		*nl = '\0';
		nw = 0;
		for (char *t = strtok_r(line, " \r", &save); t != NULL &&
		    nw < 5; t = strtok_r(NULL, " \r", &save))
			w[nw++] = t;
		if (nw >= 3 && strcmp(w[0], "PORT") == 0) {
			why = "bad PORT";
			fd = connect_back(w[1], w[2], nw >= 4 ? w[3] : NULL,
			    &why);
			if (fd == -1)
				answer(ctl, "425 %s", why);
			else {
				answer(ctl, "150 connected");
				answer(ctl, "226 %lu", serve_data(fd));
				close(fd);
			}
		} else if (nw >= 1 && strcmp(w[0], "QUIT") == 0) {
			answer(ctl, "221 bye");
			return;
		} else
			answer(ctl, "500 unknown");
		len -= (size_t)(nl + 1 - line);
		memmove(line, nl + 1, len);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*host = "127.0.0.1", *why;
	int			 c, lfd, ctl, on = 1;

	while ((c = getopt(argc, argv, "a:t:")) != -1) {
		switch (c) {
		case 'a': host = optarg; break;
		case 't': wait_ms = atoi(optarg) * 1000; break;
		default:
			fprintf(stderr, "usage: actsrv [-a ADDR] [-t SECONDS]\n");
			return 2;
		}
	}
	if (addr_parse_endpoint(host, 0, &ss, &len, &why) == -1) {
		fprintf(stderr, "actsrv: %s: %s\n", host, why);
		return 2;
	}
	if ((lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(lfd, 16) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&ss, &len) == -1) {
		perror("actsrv");
		return 1;
	}
	printf("port %u\n", addr_port((struct sockaddr *)&ss));
	fflush(stdout);
	/* One client at a time is all a test needs. */
	while ((ctl = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		serve_control(ctl);
		close(ctl);
	}
	perror("actsrv: accept");
	return 1;
}
