/*
 * dnsd - a tiny authoritative DNS responder for the integration tests,
 * so a name look-up can take the resolver's DNS path (the one that needs
 * the most thread stack) without any query leaving the test's network
 * namespace. UDP only; answers are small enough never to be truncated.
 *
 * Zone (class IN, TTL 5):
 *   v4.dns.test      A 127.0.0.1           (no AAAA)
 *   v6.dns.test      AAAA ::1              (no A)
 *   *.dns.test       A 127.0.0.1, AAAA ::1 (any other name below dns.test)
 *   many.dns.test    A 127.0.0.2 ... 127.0.0.25, then 127.0.0.1
 *   *.silent.dns.test  never answered (a server that does not respond)
 *   anything else    NXDOMAIN
 * Prints "port N" once bound and "query NAME TYPE RCODE" per question
 * (RCODE "none" for a question left unanswered).
 * usage: dnsd [-a ADDR] [-p PORT]
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define T_A	1
#define T_AAAA	28
#define MAXMSG	512

/* Reads the question's name as dotted lower-case text; 0 or -1. */
static int
read_name(const uint8_t *m, size_t len, size_t *off, char *out, size_t cap)
{
	size_t	o = *off, w = 0;

	for (;;) {
		if (o >= len)
			return -1;
		uint8_t l = m[o++];
		if (l == 0)
			break;
		if (l > 63 || o + l > len || w + l + 2 > cap)
			return -1;	/* no compression in a question */
		if (w > 0)
			out[w++] = '.';
		for (uint8_t i = 0; i < l; i++)
			out[w++] = (char)tolower(m[o++]);
	}
	out[w] = '\0';
	*off = o;
	return 0;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Appends one answer pointing at the question's name (offset 12). */
static size_t
answer(uint8_t *r, size_t w, uint16_t type, const void *data, uint16_t dlen)
{
	static const uint8_t head[] = { 0xc0, 0x0c };

	if (w + 12 + dlen > MAXMSG)
		return w;
	memcpy(r + w, head, 2);
	r[w + 2] = (uint8_t)(type >> 8);
	r[w + 3] = (uint8_t)type;
	r[w + 4] = 0;
	r[w + 5] = 1;				/* class IN */
	r[w + 6] = r[w + 7] = r[w + 8] = 0;
	r[w + 9] = 5;				/* TTL 5 s */
	r[w + 10] = (uint8_t)(dlen >> 8);
	r[w + 11] = (uint8_t)dlen;
	memcpy(r + w + 12, data, dlen);
	return w + 12 + dlen;
}

/* Builds the response to query q into r; returns its length or 0. */
static size_t
respond(const uint8_t *q, size_t qlen, uint8_t *r)
{
	struct in_addr	a4;
	struct in6_addr	a6 = IN6ADDR_LOOPBACK_INIT;
	char		name[256];
	size_t		off = 12, w;
	uint16_t	type, n = 0;
	int		rcode = 0, in_zone;

	if (qlen < 12 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
		return 0;
	if (read_name(q, qlen, &off, name, sizeof(name)) == -1 ||
	    off + 4 > qlen)
		return 0;
	type = (uint16_t)(q[off] << 8 | q[off + 1]);
	off += 4;
	if (ends_with(name, ".silent.dns.test")) {
		printf("query %s %u none\n", name, type);
		fflush(stdout);
		return 0;
	}
	memcpy(r, q, off);			/* id, flags, question */
	w = off;
	in_zone = strcmp(name, "dns.test") == 0 || ends_with(name, ".dns.test");
	if (!in_zone)
		rcode = 3;
	else if (type == T_A && strcmp(name, "v6.dns.test") != 0) {
		if (strcmp(name, "many.dns.test") == 0)
			for (int i = 2; i <= 25; i++, n++) {
				a4.s_addr = htonl(0x7f000000u | (uint32_t)i);
				w = answer(r, w, T_A, &a4, 4);
			}
		a4.s_addr = htonl(INADDR_LOOPBACK);
		w = answer(r, w, T_A, &a4, 4);
		n++;
	} else if (type == T_AAAA && strcmp(name, "v4.dns.test") != 0 &&
	    strcmp(name, "many.dns.test") != 0) {
		w = answer(r, w, T_AAAA, &a6, 16);
		n++;
	}
	r[2] = 0x84 | (q[2] & 0x01);		/* QR, AA, RD copied */
	r[3] = (uint8_t)(0x80 | rcode);		/* RA */
	r[6] = (uint8_t)(n >> 8);
	r[7] = (uint8_t)n;
	r[8] = r[9] = r[10] = r[11] = 0;	/* no authority, additional */
	printf("query %s %u %d\n", name, type, rcode);
	fflush(stdout);
	return w;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_storage	ss, peer;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	const char		*addr = "127.0.0.1";
	unsigned int		 port = 53;
	uint8_t			 q[MAXMSG], r[MAXMSG];
	socklen_t		 len, plen;
	ssize_t			 n;
	size_t			 rl;
	int			 c, fd;

	while ((c = getopt(argc, argv, "a:p:")) != -1) {
		switch (c) {
		case 'a': addr = optarg; break;
		case 'p': port = (unsigned int)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: dnsd [-a ADDR] [-p PORT]\n");
			return 2;
		}
	}
	alarm(300);	/* never outlive a test run */
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		fprintf(stderr, "dnsd: %s: not an address\n", addr);
		return 2;
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		perror("dnsd: bind");
		return 1;
	}
	printf("port %u\n", ntohs(ss.ss_family == AF_INET ? s4->sin_port :
	    s6->sin6_port));
	fflush(stdout);
	for (;;) {
		plen = sizeof(peer);
		n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer,
		    &plen);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			perror("dnsd: recvfrom");
			return 1;
		}
		if ((rl = respond(q, (size_t)n, r)) > 0)
			sendto(fd, r, rl, 0, (struct sockaddr *)&peer, plen);
	}
}
