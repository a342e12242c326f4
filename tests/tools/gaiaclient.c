/*
 * gaiaclient - resolves a name with getaddrinfo_a(3) (GAI_NOWAIT, a
 * SIGEV_SIGNAL notification awaited with sigtimedwait, then GAI_WAIT
 * for a second request), connects to the answer, sends a line and
 * expects it echoed: the shim's getaddrinfo_a hook, driven by a program
 * linked the ordinary way (the symbol from libc, or -lanl's stub).
 *
 * usage: gaiaclient NAME PORT
 * exit: 0 echoed, 2 look-up failed, 3 echo differs, 4 timeout, 1 other.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG	"ping getaddrinfo_a\n"

static int
echo(const struct addrinfo *ai)
{
	char buf[sizeof(MSG)];
	size_t got = 0;
	ssize_t n;
	struct pollfd p;
	int fd;

	if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		fprintf(stderr, "gaiaclient: connect: %s\n", strerror(errno));
		return 1;
	}
	if (write(fd, MSG, sizeof(MSG) - 1) != (ssize_t)sizeof(MSG) - 1)
		return 1;
	while (got < sizeof(MSG) - 1) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, 20000) != 1)
			return 4;
		if ((n = read(fd, buf + got, sizeof(MSG) - 1 - got)) <= 0)
			return 3;
		got += (size_t)n;
	}
	close(fd);
	return memcmp(buf, MSG, sizeof(MSG) - 1) == 0 ? 0 : 3;
}

int
main(int argc, char **argv)
{
	struct addrinfo hints;
	struct gaicb r1, r2, *list[1];
	struct sigevent sev;
	struct timespec ts = { 30, 0 };
	sigset_t set;
	siginfo_t si;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: gaiaclient NAME PORT\n");
		return 1;
	}
	alarm(60);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	memset(&r1, 0, sizeof(r1));
	r1.ar_name = argv[1];
	r1.ar_service = argv[2];
	r1.ar_request = &hints;
	r2 = r1;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN;
	list[0] = &r1;
	if ((rc = getaddrinfo_a(GAI_NOWAIT, list, 1, &sev)) != 0) {
		fprintf(stderr, "gaiaclient: %s\n", gai_strerror(rc));
		return 2;
	}
	if (sigtimedwait(&set, &si, &ts) != SIGRTMIN)
		return 4;
	if ((rc = gai_error(&r1)) != 0) {
		fprintf(stderr, "gaiaclient: %s: %s\n", argv[1],
		    gai_strerror(rc));
		return 2;
	}
	list[0] = &r2;
	if (getaddrinfo_a(GAI_WAIT, list, 1, NULL) != 0 ||
	    gai_error(&r2) != 0)
		return 2;
	printf("gaiaclient: %s code %d\n", argv[1], si.si_code);
	rc = echo(r1.ar_result);
	freeaddrinfo(r1.ar_result);
	freeaddrinfo(r2.ar_result);
	return rc;
}
