/*
 * udpecho - the UDP destination of the integration tests.
 *
 * Binds one address (port 0: the kernel picks), prints "port N", then
 * sends every datagram back to its sender with -x PREFIX in front (so a
 * test can tell the echo from its own datagram), printing "dgram PEER
 * LEN" for each one: a test sees which address the gateway sent from.
 * Ends on SIGTERM or after -t SECONDS (default 300) without a datagram.
 * usage: udpecho [-a ADDR] [-p PORT] [-x PREFIX] [-t SECONDS]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"

int
main(int argc, char *argv[])
{
	struct sockaddr_storage	 ss, peer;
	socklen_t		 len, plen;
	struct pollfd		 pfd;
	const char		*host = "127.0.0.1", *prefix = "", *why;
	char			 name[ADDR_STRLEN];
	unsigned char		 buf[65536];
	size_t			 plen_prefix;
	ssize_t			 n;
	long			 port = 0, idle = 300;
	int			 c, fd;

	while ((c = getopt(argc, argv, "a:p:t:x:")) != -1) {
		switch (c) {
		case 'a': host = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 't': idle = strtol(optarg, NULL, 10); break;
		case 'x': prefix = optarg; break;
		default:
			fprintf(stderr, "usage: udpecho [-a ADDR] [-p PORT] "
			    "[-x PREFIX] [-t SECONDS]\n");
			return 2;
		}
	}
	if (port < 0 || port > 65535 ||
	    addr_parse_endpoint(host, (int)port, &ss, &len, &why) == -1) {
		fprintf(stderr, "udpecho: %s: bad address or port\n", host);
		return 2;
	}
	plen_prefix = strlen(prefix);
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		perror("udpecho");
		return 1;
	}
	printf("port %u\n", addr_port((struct sockaddr *)&ss));
	fflush(stdout);
	memcpy(buf, prefix, plen_prefix);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, (int)idle * 1000) > 0) {
		plen = sizeof(peer);
		n = recvfrom(fd, buf + plen_prefix, sizeof(buf) - plen_prefix,
		    0, (struct sockaddr *)&peer, &plen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("udpecho: recvfrom");
			return 1;
		}
		printf("dgram %s %zd\n", addr_format((struct sockaddr *)&peer,
		    name, sizeof(name)), n);
		fflush(stdout);
		(void)sendto(fd, buf, plen_prefix + (size_t)n, 0,
		    (struct sockaddr *)&peer, plen);
	}
	return 0;
}
