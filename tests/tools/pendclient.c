/*
 * pendclient - writes to a socket whose connect has not finished, the
 * way an impatient program does, for the shim's end-to-end tests of
 * the pending state (libsocks64 with 'async yes').
 *
 * getaddrinfo, a non-blocking socket, connect() (EINPROGRESS), and at
 * once, without waiting for writability, the payload with one way of
 * writing: writev, sendfile (from a file), splice (from a pipe) or
 * pwritev2 (offset -1); EAGAIN is waited out with poll. Then writing is
 * shut down and the echo read to EOF with one way of reading: read,
 * recv and recvfrom as this file is built (with _FORTIFY_SOURCE under
 * optimisation they are glibc's __read_chk, __recv_chk and
 * __recvfrom_chk), readv or preadv2. The echo must be exactly the
 * payload: a byte of ours in the SOCKS exchange, or of the gateway's
 * in the data, shows here.
 * usage: pendclient -w writev|sendfile|splice|pwritev2
 *                   -r read|recv|recvfrom|readv|preadv2 [-n BYTES] HOST PORT
 * prints "eagain W R" (how many EAGAINs each side met) and "ok BYTES";
 * exit: 0 ok, 1 connect or I/O failed, 2 usage, 3 echo differs, 4 timeout
 */
#if defined(__OPTIMIZE__) && !defined(_FORTIFY_SOURCE)
#define _FORTIFY_SOURCE 2	/* read() and recv() become the _chk forms */
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BOUND_MS	30000

static long long deadline;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for ev on fd; exits 4 once the bound has passed. */
static void
wait_fd(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	long long left = deadline - now_ms();

	if (left <= 0) {
		fprintf(stderr, "pendclient: timeout\n");
		exit(4);
	}
	(void)poll(&p, 1, left > 1000 ? 1000 : (int)left);
}

static void
fail(const char *what)
{
	fprintf(stderr, "pendclient: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The payload byte at offset i: not periodic in anything SOCKS sends. */
static char
payload_at(size_t i)
{
	return (char)('a' + (i * 7 + i / 26) % 26);
}

/* Bytes of the payload already in the pipe (splice), from off on. */
static size_t inpipe;

/* One write of up to len bytes of the payload from off, by way w. */
static ssize_t
write_some(const char *w, int fd, const char *buf, size_t off, size_t len,
    int file, int pipefd[2])
{
	struct iovec iov[2];
	off_t pos = (off_t)off;
	ssize_t n;

	if (strcmp(w, "writev") == 0) {
		iov[0].iov_base = (void *)(buf + off);
		iov[0].iov_len = len / 2;
		iov[1].iov_base = (void *)(buf + off + len / 2);
		iov[1].iov_len = len - len / 2;
		return writev(fd, iov, 2);
	}
	if (strcmp(w, "pwritev2") == 0) {
		iov[0].iov_base = (void *)(buf + off);
		iov[0].iov_len = len;
		return pwritev2(fd, iov, 1, -1, 0);
	}
	if (strcmp(w, "sendfile") == 0)
		return sendfile(fd, file, &pos, len);
	/* splice: the pipe holds [off, off + inpipe); refilled when empty. */
	if (inpipe == 0) {
		if ((n = write(pipefd[1], buf + off, len > 4096 ? 4096 :
		    len)) <= 0)
			return -1;
		inpipe = (size_t)n;
	}
	if ((n = splice(pipefd[0], NULL, fd, NULL, inpipe, 0)) > 0)
		inpipe -= (size_t)n;
	return n;
}

/* sizeof(chunk) below, out of the compiler's sight. */
static volatile size_t chunk_room = 4096;

/* One read into buf of want bytes at most, by way r. */
static ssize_t
read_some(const char *r, int fd, char *buf, size_t want)
{
	/*
	 * A buffer whose size the compiler sees and a length it does not:
	 * what makes a fortified build call the _chk functions.
	 */
	char chunk[4096];
	struct iovec iov;
	ssize_t n;

	/* Bounded by a value the compiler cannot see through. */
	if (want > chunk_room)
		want = chunk_room;
	iov.iov_base = chunk;
	iov.iov_len = want;
	if (strcmp(r, "read") == 0)
		n = read(fd, chunk, want);
	else if (strcmp(r, "recv") == 0)
		n = recv(fd, chunk, want, 0);
	else if (strcmp(r, "recvfrom") == 0)
		n = recvfrom(fd, chunk, want, 0, NULL, NULL);
	else if (strcmp(r, "readv") == 0)
		n = readv(fd, &iov, 1);
	else
		n = preadv2(fd, &iov, 1, -1, 0);
	if (n > 0)
		memcpy(buf, chunk, (size_t)n);
	return n;
}

static int
usage(void)
{
	fprintf(stderr, "usage: pendclient -w writev|sendfile|splice|"
	    "pwritev2 -r read|recv|recvfrom|readv|preadv2 [-n BYTES] HOST "
	    "PORT\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct addrinfo hints, *ai;
	const char *w = "writev", *r = "read";
	char *buf, *echo, path[] = "/tmp/pendclient.XXXXXX";
	size_t len = 65536, off = 0, got = 0, i;
	int c, fd, file = -1, pipefd[2] = { -1, -1 }, rc;
	long eagain_w = 0, eagain_r = 0;
	ssize_t n;

	while ((c = getopt(argc, argv, "w:r:n:")) != -1) {
		if (c == 'w')
			w = optarg;
		else if (c == 'r')
			r = optarg;
		else if (c == 'n')
			len = strtoul(optarg, NULL, 10);
		else
			return usage();
	}
	if (argc - optind != 2 || len == 0)
		return usage();
	deadline = now_ms() + BOUND_MS;
	if ((buf = malloc(len)) == NULL || (echo = malloc(len)) == NULL)
		fail("malloc");
	for (i = 0; i < len; i++)
		buf[i] = payload_at(i);
	if (strcmp(w, "sendfile") == 0) {
		if ((file = mkstemp(path)) == -1)
			fail("mkstemp");
		unlink(path);
		if (write(file, buf, len) != (ssize_t)len)
			fail("write file");
	} else if (strcmp(w, "splice") == 0 && pipe(pipefd) == -1)
		fail("pipe");

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(argv[optind], argv[optind + 1], &hints,
	    &ai)) != 0) {
		fprintf(stderr, "pendclient: %s: %s\n", argv[optind],
		    gai_strerror(rc));
		return 1;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		fail("socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
	    errno != EINPROGRESS)
		fail("connect");
	freeaddrinfo(ai);

	/* No wait for writability first: that is the point. */
	while (off < len) {
		n = write_some(w, fd, buf, off, len - off, file, pipefd);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			eagain_w++;
			wait_fd(fd, POLLOUT);
			continue;
		}
		fail(w);
	}
	if (shutdown(fd, SHUT_WR) == -1)
		fail("shutdown");
	for (;;) {
		n = read_some(r, fd, echo + got, got < len ? len - got : 1);
		if (n > 0) {
			if (got + (size_t)n > len) {
				fprintf(stderr, "pendclient: more than sent\n");
				return 3;
			}
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EAGAIN || errno == EINTR) {
			eagain_r++;
			wait_fd(fd, POLLIN);
			continue;
		}
		fail(r);
	}
	printf("eagain %ld %ld\n", eagain_w, eagain_r);
	if (got != len || memcmp(buf, echo, len) != 0) {
		for (i = 0; i < got && i < len && buf[i] == echo[i]; i++)
			;
		fprintf(stderr, "pendclient: echo differs at byte %zu of %zu "
		    "(got %zu)\n", i, len, got);
		return 3;
	}
	printf("ok %zu\n", len);
	close(fd);
	free(buf);
	free(echo);
	return 0;
}
