/*
 * test_udp.c - UDP ASSOCIATE's relay (src/gateway/udp.c): the pure
 * helpers by tables (which address the client's datagrams must come
 * from, the header put in front of an answer), then udp_run() itself as
 * a state machine on loopback sockets, its control connection a
 * socketpair: relayed both ways, each kind of drop counted, the end on
 * the control connection's close and on idle time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static void
ep(struct sockaddr_storage *ss, const char *text, int port)
{
	socklen_t	 len;
	const char	*why;

	if (addr_parse_endpoint(text, port, ss, &len, &why) == -1)
		fail_msg("bad test address %s: %s", text, why);
}

static void
s5(struct socks5_addr *a, const char *text, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->port = port;
	if (inet_pton(AF_INET, text, a->ip) == 1)
		a->atyp = SOCKS5_ATYP_IPV4;
	else if (inet_pton(AF_INET6, text, a->ip) == 1)
		a->atyp = SOCKS5_ATYP_IPV6;
	else {
		a->atyp = SOCKS5_ATYP_DOMAIN;
		snprintf(a->name, sizeof(a->name), "%s", text);
	}
}

static void
test_udp_expect(void **state)
{
	static const struct {
		const char	*dst;
		uint16_t	 port;
		const char	*ctl;
		const char	*want;	/* NULL: refused */
	} t[] = {
		/* Unspecified: the control connection's peer, any port. */
		{ "0.0.0.0", 0, "192.0.2.1", "192.0.2.1:0" },
		{ "0.0.0.0", 5353, "192.0.2.1", "192.0.2.1:5353" },
		{ "::", 0, "2001:db8::1", "[2001:db8::1]:0" },
		/* An address named: that one. */
		{ "192.0.2.9", 7, "192.0.2.1", "192.0.2.9:7" },
		{ "2001:db8::9", 7, "2001:db8::1", "[2001:db8::9]:7" },
		/* A mapped one is the IPv4 address it carries. */
		{ "::ffff:192.0.2.9", 7, "192.0.2.1", "192.0.2.9:7" },
		/* A name cannot be matched: the peer's address. */
		{ "client.example", 9, "192.0.2.1", "192.0.2.1:9" },
		/* A datagram of another family could never come. */
		{ "2001:db8::9", 7, "192.0.2.1", NULL },
		{ "192.0.2.9", 7, "2001:db8::1", NULL },
	};
	struct sockaddr_storage	ctl, out;
	struct socks5_addr	dst;
	char			buf[ADDR_STRLEN];
	size_t			i;
	int			rc;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		s5(&dst, t[i].dst, t[i].port);
		ep(&ctl, t[i].ctl, 40000);
		errno = 0;
		rc = udp_expect(&dst, (struct sockaddr *)&ctl, &out);
		if (t[i].want == NULL) {
			if (rc != -1 || errno != EAFNOSUPPORT)
				fail_msg("case %zu: accepted", i);
			continue;
		}
		if (rc != 0 || strcmp(addr_format((struct sockaddr *)&out,
		    buf, sizeof(buf)), t[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i,
			    rc == 0 ? buf : "-1", t[i].want);
	}
}

static void
test_udp_client_ok(void **state)
{
	static const struct {
		const char	*expect;
		int		 eport;
		const char	*src;
		int		 sport;
		int		 ok;
	} t[] = {
		{ "192.0.2.1", 0, "192.0.2.1", 5000, 1 },
		{ "192.0.2.1", 0, "192.0.2.2", 5000, 0 },
		{ "192.0.2.1", 5000, "192.0.2.1", 5000, 1 },
		{ "192.0.2.1", 5000, "192.0.2.1", 5001, 0 },
		{ "2001:db8::1", 0, "2001:db8::1", 1, 1 },
		{ "2001:db8::1", 0, "::ffff:192.0.2.1", 1, 0 },
		{ "192.0.2.1", 0, "::ffff:192.0.2.1", 1, 0 },
	};
	struct sockaddr_storage	e, s;
	size_t			i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		ep(&e, t[i].expect, t[i].eport);
		ep(&s, t[i].src, t[i].sport);
		if (udp_client_ok((struct sockaddr *)&e,
		    (struct sockaddr *)&s) != t[i].ok)
			fail_msg("case %zu: want %d", i, t[i].ok);
	}
}

/* The header goes right before the payload; the codec reads it back. */
static void
test_udp_wrap(void **state)
{
	static const struct {
		const char	*from;
		size_t		 hlen;
	} t[] = {
		{ "192.0.2.1", 10 },
		{ "2001:db8::1", 22 },
		{ "www.example.org", 4 + 1 + 15 + 2 },
	};
	struct socks5_udp_header	h;
	struct socks5_addr		from;
	uint8_t				buf[SOCKS5_UDP_HEADER_MAX + 8];
	size_t				i, off = SOCKS5_UDP_HEADER_MAX, used;
	long				start;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		memset(buf, 0xee, sizeof(buf));
		memcpy(buf + off, "payload", 7);
		s5(&from, t[i].from, 53);
		start = udp_wrap(buf, off, &from);
		assert_int_equal(start, (long)(off - t[i].hlen));
		assert_int_equal(socks5_parse_udp_header(buf + start,
		    off - (size_t)start + 7, &h, &used), SOCKS5_OK);
		assert_int_equal(used, t[i].hlen);
		assert_int_equal(h.frag, 0);
		assert_int_equal(h.dst.atyp, from.atyp);
		assert_int_equal(h.dst.port, 53);
		assert_memory_equal(buf + start + used, "payload", 7);
		/* No room in front: refused, nothing written. */
		assert_int_equal(udp_wrap(buf, t[i].hlen - 1, &from), -1);
	}
}

/* ---------------------------------------------------------------- */
/* udp_run on loopback                                                 */

struct rig {
	struct gw_conf		*conf;
	struct udp_assoc	 a;
	struct sockaddr_storage	 relay;		/* udp_open's address */
	struct sockaddr_storage	 tcp_client;
	int			 ctl[2];	/* [1]: ours */
	int			 client;	/* the client's UDP socket */
	int			 server;	/* a destination */
	uint16_t		 server_port;
	pthread_t		 t;
	int			 rc;
};

static int
udp_on(const char *host)
{
	struct sockaddr_storage	ss;
	int			fd;

	ep(&ss, host, 0);
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss,
	    addr_len((struct sockaddr *)&ss)), 0);
	return fd;
}

static uint16_t
port_of(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return addr_port((struct sockaddr *)&ss);
}

static void *
rig_main(void *arg)
{
	struct rig *r = arg;

	r->rc = udp_run(&r->a);
	return NULL;
}

/* name_port: the request named the client's port (else 0: any). */
static void
rig_start(struct rig *r, const char *conf, int name_port)
{
	struct conf_errors	e;
	struct sockaddr_storage	local;

	memset(r, 0, sizeof(*r));
	conf_errors_init(&e, "t.conf");
	r->conf = conf_parse(conf, strlen(conf), &e);
	if (r->conf == NULL)
		fail_msg("%s", e.text);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    r->ctl), 0);
	ep(&local, "127.0.0.1", 0);
	r->a.cli = udp_open((struct sockaddr *)&local, &r->relay);
	assert_true(r->a.cli >= 0);
	assert_int_not_equal(addr_port((struct sockaddr *)&r->relay), 0);
	r->client = udp_on("127.0.0.1");
	r->server = udp_on("127.0.0.1");
	r->server_port = port_of(r->server);
	ep(&r->tcp_client, "127.0.0.1", 40000);
	ep(&r->a.expect, "127.0.0.1", name_port ? port_of(r->client) : 0);
	r->a.conf = r->conf;
	r->a.ctl = r->ctl[0];
	r->a.tcp_client = (struct sockaddr *)&r->tcp_client;
	assert_int_equal(pthread_create(&r->t, NULL, rig_main, r), 0);
}

/* Closes the control connection; udp_run must end and say "eof". */
static void
rig_stop(struct rig *r)
{
	close(r->ctl[1]);
	pthread_join(r->t, NULL);
	close(r->ctl[0]);
	close(r->a.cli);
	close(r->client);
	close(r->server);
	conf_unref(r->conf);
}

/* Sends header(dst, frag) + text from fd to the relay. */
static void
rig_send(struct rig *r, int fd, uint8_t frag, const char *dst, uint16_t port,
    const char *text)
{
	struct socks5_addr	a;
	uint8_t			buf[512];
	int			n;

	s5(&a, dst, port);
	n = socks5_encode_udp_header(buf, sizeof(buf), &a);
	assert_true(n > 0);
	buf[2] = frag;
	memcpy(buf + n, text, strlen(text));
	assert_int_equal(sendto(fd, buf, (size_t)n + strlen(text), 0,
	    (struct sockaddr *)&r->relay,
	    addr_len((struct sockaddr *)&r->relay)),
	    (ssize_t)(n + (int)strlen(text)));
}

/* Receives a datagram on fd within ms: its length, or -1. */
static ssize_t
recv_within(int fd, void *buf, size_t len, int ms,
    struct sockaddr_storage *from)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	socklen_t	flen = sizeof(*from);

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &flen);
}

/*
 * One datagram each way, then one of each kind of drop; closing the
 * control connection ends the association with every one counted.
 */
static void
test_udp_run_relays_and_drops(void **state)
{
	struct sockaddr_storage		 out, from;
	struct socks5_udp_header	 h;
	struct rig			 r;
	uint8_t				 buf[512];
	size_t				 used;
	ssize_t				 n;
	int				 other, blocked;

	(void)state;
	rig_start(&r, "block to 127.0.0.5\npass to any\n", 0);
	rig_send(&r, r.client, 0, "127.0.0.1", r.server_port, "ping");
	n = recv_within(r.server, buf, sizeof(buf), 2000, &out);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);
	/* The answer comes back wrapped, naming the server. */
	assert_int_equal(sendto(r.server, "pong!", 5, 0,
	    (struct sockaddr *)&out, addr_len((struct sockaddr *)&out)), 5);
	n = recv_within(r.client, buf, sizeof(buf), 2000, &from);
	assert_true(n > 0);
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n, &h, &used),
	    SOCKS5_OK);
	assert_int_equal(h.dst.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(h.dst.port, r.server_port);
	assert_int_equal((size_t)n - used, 5);
	assert_memory_equal(buf + used, "pong!", 5);
	assert_true(addr_equal((struct sockaddr *)&from,
	    (struct sockaddr *)&r.relay, 1));

	/* 1: a fragment. */
	rig_send(&r, r.client, 1, "127.0.0.1", r.server_port, "frag");
	/* 2: not the client's address. */
	other = udp_on("127.0.0.2");
	rig_send(&r, other, 0, "127.0.0.1", r.server_port, "other");
	/* 3: a header with RSV set. */
	buf[0] = 0;
	buf[1] = 1;
	assert_int_equal(sendto(r.client, buf, 12, 0,
	    (struct sockaddr *)&r.relay, addr_len((struct sockaddr *)&r.relay)),
	    12);
	/* 4: a destination the rules block. */
	rig_send(&r, r.client, 0, "127.0.0.5", r.server_port, "blocked");
	assert_int_equal(recv_within(r.server, buf, sizeof(buf), 300, &from),
	    -1);
	/* 5: an answer from a source the rules block. */
	blocked = udp_on("127.0.0.5");
	assert_int_equal(sendto(blocked, "spoof", 5, 0, (struct sockaddr *)&out,
	    addr_len((struct sockaddr *)&out)), 5);
	assert_int_equal(recv_within(r.client, buf, sizeof(buf), 300, &from),
	    -1);
	close(other);
	close(blocked);

	rig_stop(&r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.a.end, "eof");
	assert_int_equal(r.a.up_dgrams, 1);
	assert_int_equal(r.a.up_bytes, 4);
	assert_int_equal(r.a.down_dgrams, 1);
	assert_int_equal(r.a.down_bytes, 5);
	assert_int_equal(r.a.dropped, 5);
}

/* With the port named, the client's other ports are strangers too. */
static void
test_udp_run_port_named(void **state)
{
	struct sockaddr_storage	from;
	struct rig		r;
	uint8_t			buf[64];
	int			other;

	(void)state;
	rig_start(&r, "pass to any\n", 1);
	other = udp_on("127.0.0.1");
	rig_send(&r, other, 0, "127.0.0.1", r.server_port, "stranger");
	assert_int_equal(recv_within(r.server, buf, sizeof(buf), 300, &from),
	    -1);
	rig_send(&r, r.client, 0, "127.0.0.1", r.server_port, "mine");
	assert_int_equal(recv_within(r.server, buf, sizeof(buf), 2000, &from),
	    4);
	close(other);
	rig_stop(&r);
	assert_int_equal(r.a.up_dgrams, 1);
	assert_int_equal(r.a.dropped, 1);
}

/* "family ipv6-only" holds for a literal IPv4 destination too. */
static void
test_udp_run_family_only(void **state)
{
	struct sockaddr_storage	from;
	struct rig		r;
	uint8_t			buf[64];

	(void)state;
	rig_start(&r, "family ipv6-only\npass to any\n", 0);
	rig_send(&r, r.client, 0, "127.0.0.1", r.server_port, "v4");
	assert_int_equal(recv_within(r.server, buf, sizeof(buf), 300, &from),
	    -1);
	rig_stop(&r);
	assert_int_equal(r.a.up_dgrams, 0);
	assert_int_equal(r.a.dropped, 1);
}

/* Whether /etc/hosts maps localhost to 127.0.0.1 (no query elsewhere). */
static int
hosts_localhost(void)
{
	char	line[256];
	FILE	*f = fopen("/etc/hosts", "re");
	int	found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strncmp(line, "127.0.0.1", 9) == 0 &&
		    strstr(line, "localhost") != NULL;
	fclose(f);
	return found;
}

/* A name resolved here; the answer names it, not the address. */
static void
test_udp_run_name_comes_back(void **state)
{
	struct sockaddr_storage		 out, from;
	struct socks5_udp_header	 h;
	struct rig			 r;
	uint8_t				 buf[512];
	size_t				 used;
	ssize_t				 n;

	(void)state;
	if (!hosts_localhost())
		skip();
	rig_start(&r, "family ipv4-only\npass to any\n", 0);
	rig_send(&r, r.client, 0, "localhost", r.server_port, "q");
	assert_int_equal(recv_within(r.server, buf, sizeof(buf), 2000, &out),
	    1);
	assert_int_equal(sendto(r.server, "a", 1, 0, (struct sockaddr *)&out,
	    addr_len((struct sockaddr *)&out)), 1);
	n = recv_within(r.client, buf, sizeof(buf), 2000, &from);
	assert_true(n > 0);
	assert_int_equal(socks5_parse_udp_header(buf, (size_t)n, &h, &used),
	    SOCKS5_OK);
	assert_int_equal(h.dst.atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(h.dst.name, "localhost");
	assert_int_equal(h.dst.port, r.server_port);
	rig_stop(&r);
	assert_int_equal(r.a.dropped, 0);
}

/* Nothing relayed for "timeout idle 1": the association ends, -1. */
static void
test_udp_run_idle(void **state)
{
	struct rig	r;
	int64_t		t0 = mech_now_ms();

	(void)state;
	rig_start(&r, "timeout idle 1\npass to any\n", 0);
	pthread_join(r.t, NULL);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.a.end, "idle");
	assert_true(mech_now_ms() - t0 >= 900);
	close(r.ctl[1]);
	close(r.ctl[0]);
	close(r.a.cli);
	close(r.client);
	close(r.server);
	conf_unref(r.conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_expect),
		cmocka_unit_test(test_udp_client_ok),
		cmocka_unit_test(test_udp_wrap),
		cmocka_unit_test(test_udp_run_relays_and_drops),
		cmocka_unit_test(test_udp_run_port_named),
		cmocka_unit_test(test_udp_run_family_only),
		cmocka_unit_test(test_udp_run_name_comes_back),
		cmocka_unit_test(test_udp_run_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
