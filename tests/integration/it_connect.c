/*
 * it_connect.c - CONNECT through the real gatewayd: every reply code
 * RFC 1928 section 6 defines that a loopback test can provoke, names and
 * literals of both families, curl as an independent client, pipelined
 * and byte-at-a-time handshakes, the per-session log line, and no
 * descriptor left behind. One daemon (tests/fixtures/it/connect.conf)
 * serves the whole group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct h_gw	gw;
static struct h_proc	echo4, echo6, http4, http6;
static uint16_t		echo4_port, echo6_port, http4_port, http6_port;

static int
setup(void **state)
{
	char	conf[PATH_MAX];

	(void)state;
	h_srcpath(conf, sizeof(conf), "tests/fixtures/it/connect.conf");
	if ((echo4_port = h_tool_start(&echo4, "tcpsrv", "-a", "127.0.0.1",
	    "-m", "echo", NULL)) == 0 ||
	    (echo6_port = h_tool_start(&echo6, "tcpsrv", "-a", "::1",
	    "-m", "echo", NULL)) == 0 ||
	    (http4_port = h_tool_start(&http4, "tcpsrv", "-a", "127.0.0.1",
	    "-m", "http", NULL)) == 0 ||
	    (http6_port = h_tool_start(&http6, "tcpsrv", "-a", "::1",
	    "-m", "http", NULL)) == 0)
		return -1;
	return h_gw_start(&gw, conf, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	int	rc = h_gw_stop(&gw);

	h_proc_stop(&echo4);
	h_proc_stop(&echo6);
	h_proc_stop(&http4);
	h_proc_stop(&http6);
	return rc;
}

/* Sends text on a relaying socket and expects it back unchanged. */
static void
echo_ok(int fd, const char *text)
{
	char	buf[256];
	size_t	len = strlen(text);

	assert_int_equal(h_send_all(fd, text, len), 0);
	assert_int_equal(h_recv_n(fd, buf, len, H_IO_MS), (ssize_t)len);
	assert_memory_equal(buf, text, len);
}

/* CONNECT to host:port without authentication; the reply in *rep. */
static int
open_raw(const char *host, uint16_t port, struct socks5_reply *rep)
{
	struct socks5_addr	dst;
	uint8_t			none = SOCKS5_METHOD_NONE;
	int			fd, r;

	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, &none, 1), SOCKS5_METHOD_NONE);
	h_dst(&dst, host, port);
	r = h_socks_request(fd, SOCKS5_CMD_CONNECT, &dst, rep);
	assert_int_equal(r, SOCKS5_REP_SUCCEEDED);
	return fd;
}

static void
test_connect_ipv4_literal(void **state)
{
	struct socks5_reply	rep;
	uint8_t			lo[4] = { 127, 0, 0, 1 };
	int			fd;

	(void)state;
	fd = open_raw("127.0.0.1", echo4_port, &rep);
	/* BND is where the gateway's own socket to the destination is. */
	assert_int_equal(rep.bnd.atyp, SOCKS5_ATYP_IPV4);
	assert_memory_equal(rep.bnd.ip, lo, 4);
	assert_int_not_equal(rep.bnd.port, 0);
	echo_ok(fd, "ipv4 literal");
	close(fd);
}

static void
test_connect_ipv6_literal(void **state)
{
	struct socks5_reply	rep;
	struct in6_addr		lo = IN6ADDR_LOOPBACK_INIT;
	int			fd;

	(void)state;
	fd = open_raw("::1", echo6_port, &rep);
	assert_int_equal(rep.bnd.atyp, SOCKS5_ATYP_IPV6);
	assert_memory_equal(rep.bnd.ip, &lo, 16);
	assert_int_not_equal(rep.bnd.port, 0);
	echo_ok(fd, "ipv6 literal");
	close(fd);
}

/*
 * Whether /etc/hosts itself maps name to an address of family af. Read
 * directly: asking the resolver for a name the file lacks would send a
 * query to whatever DNS server the machine uses.
 */
static int
hosts_has(const char *name, int af)
{
	char	line[512], *tok, *save, buf[16];
	FILE	*f;
	int	found = 0;

	if ((f = fopen("/etc/hosts", "re")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "#\n")] = '\0';
		if ((tok = strtok_r(line, " \t", &save)) == NULL ||
		    inet_pton(af, tok, buf) != 1)
			continue;
		while (!found && (tok = strtok_r(NULL, " \t", &save)) != NULL)
			found = strcasecmp(tok, name) == 0;
	}
	fclose(f);
	return found;
}

/* A name for 127.0.0.1 alone, or NULL. */
static const char *
name_v4(void)
{
	if (h_names())
		return H_NAME_V4;
	return hosts_has("localhost", AF_INET) ? "localhost" : NULL;
}

/*
 * A name for ::1, or NULL. Outside our namespace we can only use what
 * /etc/hosts offers; looking up anything else could ask a real DNS.
 */
static const char *
name_v6(void)
{
	if (h_names())
		return H_NAME_V6;
	if (hosts_has("ip6-localhost", AF_INET6))
		return "ip6-localhost";
	if (hosts_has("ip6-loopback", AF_INET6))
		return "ip6-loopback";
	return NULL;
}

static void
test_connect_name_ipv4(void **state)
{
	const char	*name = name_v4();
	int		 fd;

	(void)state;
	if (name == NULL)
		skip();
	fd = open_raw(name, echo4_port, NULL);
	echo_ok(fd, "name to ipv4");
	close(fd);
}

static void
test_connect_name_ipv6(void **state)
{
	const char	*name = name_v6();
	int		 fd;

	(void)state;
	if (name == NULL)
		skip();
	fd = open_raw(name, echo6_port, NULL);
	echo_ok(fd, "name to ipv6");
	close(fd);
}

/*
 * "localhost" is ::1 and 127.0.0.1 in our hosts file, and each echo
 * server listens on one family only: whichever the gateway tries first,
 * a refused attempt must fall back to the other address (RFC 8305).
 */
static void
test_connect_name_falls_back_to_other_family(void **state)
{
	int	fd;

	(void)state;
	if (!h_names())
		skip();
	fd = open_raw(H_NAME_BOTH, echo4_port, NULL);
	echo_ok(fd, "fallback to ipv4");
	close(fd);
	fd = open_raw(H_NAME_BOTH, echo6_port, NULL);
	echo_ok(fd, "fallback to ipv6");
	close(fd);
}

static void
test_reply_not_allowed_by_rule(void **state)
{
	char	port[16];

	(void)state;
	assert_int_equal(h_socks_rep(&gw, "127.0.0.2", echo4_port),
	    SOCKS5_REP_NOT_ALLOWED);
	snprintf(port, sizeof(port), ":%u", echo4_port);
	assert_true(h_log_line(gw.log, 3000, "dest=127.0.0.2", port,
	    "rep=2", NULL));
	/*
	 * A name rule decides before any look-up, but should the gateway
	 * look these up anyway, only our own resolver may see it.
	 */
	if (!h_names())
		return;
	assert_int_equal(h_socks_rep(&gw, "blocked.test", 80),
	    SOCKS5_REP_NOT_ALLOWED);
	assert_int_equal(h_socks_rep(&gw, "www.Blocked.Test.", 80),
	    SOCKS5_REP_NOT_ALLOWED);
}

static void
test_reply_connection_refused(void **state)
{
	uint16_t	p4 = h_free_port("127.0.0.1"), p6 = h_free_port("::1");

	(void)state;
	assert_int_not_equal(p4, 0);
	assert_int_not_equal(p6, 0);
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", p4),
	    SOCKS5_REP_CONN_REFUSED);
	assert_int_equal(h_socks_rep(&gw, "::1", p6),
	    SOCKS5_REP_CONN_REFUSED);
	assert_true(h_log_line(gw.log, 3000, "rep=5", NULL));
}

/* connect.conf sets "timeout connect 1". */
static void
test_reply_ttl_expired_on_connect_timeout(void **state)
{
	uint16_t	port;
	int		lfd, filler, rep;
	int64_t		t0, ms;

	(void)state;
	lfd = h_listen_full("127.0.0.1", &port, &filler);
	assert_true(lfd >= 0);
	t0 = h_now_ms();
	rep = h_socks_rep(&gw, "127.0.0.1", port);
	ms = h_now_ms() - t0;
	close(filler);
	close(lfd);
	printf("# connect timeout reply after %lld ms\n", (long long)ms);
	assert_int_equal(rep, SOCKS5_REP_TTL_EXPIRED);
	assert_true(ms >= 800);
	assert_true(ms < 4000);
}

/* VER CMD RSV ATYP=1 127.0.0.1 PORT, after a no-auth greeting. */
static int
raw_cmd(uint8_t cmd, uint16_t port)
{
	uint8_t	req[] = { 5, 1, 0, 5, cmd, 0, 1, 127, 0, 0, 1,
			  (uint8_t)(port >> 8), (uint8_t)port };

	return h_socks_raw(&gw, req, sizeof(req));
}

/*
 * An unknown command gets X'07'. BIND and UDP ASSOCIATE exist (issue
 * 4; it_bind.c and it_udp.c test them): their first reply is success,
 * and closing the connection right after it ends them.
 */
static void
test_reply_command_not_supported(void **state)
{
	(void)state;
	assert_int_equal(raw_cmd(0x09, echo4_port),
	    SOCKS5_REP_CMD_UNSUPPORTED);
	/* The line says which command it was. */
	assert_true(h_log_line(gw.log, 3000, "cmd=0x09 dest=-", "rep=7",
	    NULL));
	assert_int_equal(raw_cmd(SOCKS5_CMD_BIND, echo4_port),
	    SOCKS5_REP_SUCCEEDED);
	assert_int_equal(raw_cmd(SOCKS5_CMD_UDP, 0),
	    SOCKS5_REP_SUCCEEDED);
	/* Still serving after them. */
	assert_int_equal(h_socks_rep(&gw, "127.0.0.1", echo4_port),
	    SOCKS5_REP_SUCCEEDED);
}

static void
test_reply_address_type_not_supported(void **state)
{
	uint8_t	req[] = { 5, 1, 0, 5, 1, 0, 0x05, 127, 0, 0, 1, 0, 80 };
	uint8_t	zero[] = { 5, 1, 0, 5, 1, 0, 0x00, 127, 0, 0, 1, 0, 80 };

	(void)state;
	assert_int_equal(h_socks_raw(&gw, req, sizeof(req)),
	    SOCKS5_REP_ATYP_UNSUPPORTED);
	/* The line says which command and which address type. */
	assert_true(h_log_line(gw.log, 3000, "cmd=connect dest=-", "rep=8",
	    "atyp=0x05", NULL));
	assert_int_equal(h_socks_raw(&gw, zero, sizeof(zero)),
	    SOCKS5_REP_ATYP_UNSUPPORTED);
}

/*
 * A DOMAINNAME that C would read as "localhost" must not be looked up as
 * that: the gateway answers general failure and never connects.
 */
static void
test_bad_name_is_refused_and_never_connected(void **state)
{
	static const char *const names[] = { "localhost\0.x", "local host",
	    "localhost/x" };
	static const size_t lens[] = { 12, 10, 11 };
	uint8_t		req[64];
	uint16_t	port = 0;
	int		lfd;

	(void)state;
	/*
	 * Were the gateway to look these up after all, only the first (as
	 * C reads it, "localhost", in /etc/hosts) is safe to ask a resolver
	 * that is not our own.
	 */
	size_t		count = h_names() ? 3 : 1;

	lfd = h_listen("127.0.0.1", &port, 8);
	assert_true(lfd >= 0);
	for (size_t i = 0; i < count; i++) {
		size_t n = 0;
		req[n++] = 5; req[n++] = 1; req[n++] = 0;
		req[n++] = 5; req[n++] = 1; req[n++] = 0; req[n++] = 3;
		req[n++] = (uint8_t)lens[i];
		memcpy(req + n, names[i], lens[i]);
		n += lens[i];
		req[n++] = (uint8_t)(port >> 8);
		req[n++] = (uint8_t)port;
		assert_int_equal(h_socks_raw(&gw, req, n),
		    SOCKS5_REP_GENERAL_FAILURE);
	}
	assert_false(h_accept_within(lfd, 500));
	close(lfd);
	assert_true(h_log_wait(gw.log, "bad name", 3000));
}

static void
test_reply_network_unreachable(void **state)
{
	(void)state;
	/* Only in our namespace is there surely no route to these. */
	if (!h_isolated())
		skip();
	assert_int_equal(h_socks_rep(&gw, "2001:db8::1", 80),
	    SOCKS5_REP_NET_UNREACHABLE);
	assert_int_equal(h_socks_rep(&gw, "203.0.113.1", 80),
	    SOCKS5_REP_NET_UNREACHABLE);
}

static void
test_reply_host_unreachable_for_unknown_name(void **state)
{
	(void)state;
	/* The resolver must be ours: this name is never to be asked for. */
	if (!h_names())
		skip();
	assert_int_equal(h_socks_rep(&gw, "nothing.invalid", 80),
	    SOCKS5_REP_HOST_UNREACHABLE);
	assert_true(h_log_line(gw.log, 3000, "nothing.invalid", "rep=4",
	    NULL));
}

static void
test_reply_host_unreachable_for_unreachable_route(void **state)
{
	char	*argv[] = { "/sbin/ip", "route", "add", "unreachable",
		    "198.51.100.0/24", NULL };

	(void)state;
	if (!h_isolated())
		skip();
	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/sbin/ip";
	if (access(argv[0], X_OK) != 0)
		skip();
	assert_int_equal(h_run(argv, NULL, NULL, 5000), 0);
	assert_int_equal(h_socks_rep(&gw, "198.51.100.7", 80),
	    SOCKS5_REP_HOST_UNREACHABLE);
}

/* Greeting, request and payload in one write, before any reply. */
static void
test_pipelined_request_and_payload(void **state)
{
	static const char	payload[] = "pipelined payload";
	char			dest[64];
	uint8_t			buf[64], choice[2];
	struct socks5_reply	rep;
	size_t			n = 0;
	int			fd;

	(void)state;
	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0;
	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0; buf[n++] = 1;
	buf[n++] = 127; buf[n++] = 0; buf[n++] = 0; buf[n++] = 1;
	buf[n++] = (uint8_t)(echo4_port >> 8);
	buf[n++] = (uint8_t)echo4_port;
	memcpy(buf + n, payload, sizeof(payload) - 1);
	n += sizeof(payload) - 1;
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
	assert_int_equal(h_recv_n(fd, choice, 2, H_IO_MS), 2);
	assert_int_equal(choice[1], SOCKS5_METHOD_NONE);
	n = 0;
	memset(&rep, 0, sizeof(rep));
	for (int st = SOCKS5_NEED_MORE; st == SOCKS5_NEED_MORE; ) {
		assert_int_equal(h_recv_n(fd, buf + n, 1, H_IO_MS), 1);
		n++;
		st = socks5_parse_reply(buf, n, &rep, &(size_t){ 0 });
		assert_true(st == SOCKS5_OK || st == SOCKS5_NEED_MORE);
	}
	assert_int_equal(rep.rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_recv_n(fd, buf, sizeof(payload) - 1, H_IO_MS),
	    (ssize_t)sizeof(payload) - 1);
	assert_memory_equal(buf, payload, sizeof(payload) - 1);
	shutdown(fd, SHUT_WR);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	/* The payload read with the request is client->destination too. */
	snprintf(dest, sizeof(dest), "dest=127.0.0.1:%u", echo4_port);
	if (!h_log_line(gw.log, 3000, dest, "rep=0", "up=17 ", "down=17 ",
	    NULL)) {
		h_log_dump(gw.log);
		fail_msg("pipelined payload not counted: want up=17 down=17");
	}
}

/*
 * A refusal with data behind the request: the gateway must not close
 * with those bytes unread (the kernel would answer with a reset and drop
 * the reply still queued), so the client reads X'02', not ECONNRESET,
 * and then an orderly EOF. 48 KiB is far more than the gateway reads
 * with the handshake, so most of it is still unread when it refuses.
 */
static void
test_refusal_survives_pipelined_data(void **state)
{
	uint8_t			hs[16], answer[64], *data;
	struct socks5_reply	rep;
	size_t			n = 0, len = 48 * 1024, got = 0;
	ssize_t			r;
	int			fd;

	(void)state;
	hs[n++] = 5; hs[n++] = 1; hs[n++] = 0;
	hs[n++] = 5; hs[n++] = 1; hs[n++] = 0; hs[n++] = 1;
	hs[n++] = 127; hs[n++] = 0; hs[n++] = 0; hs[n++] = 2;	/* blocked */
	hs[n++] = (uint8_t)(echo4_port >> 8);
	hs[n++] = (uint8_t)echo4_port;
	data = test_malloc(len);
	memset(data, 'x', len);
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(send(fd, hs, n, MSG_NOSIGNAL), (ssize_t)n);
	assert_int_equal(h_send_all(fd, data, len), 0);
	test_free(data);
	/* The method choice, then the reply: 2 + 10 bytes. */
	while (got < 12) {
		r = h_recv_n(fd, answer + got, 12 - got, H_IO_MS);
		if (r <= 0)
			fail_msg("after %zu bytes: %s", got, r < 0 ?
			    strerror(errno) : "EOF");
		got += (size_t)r;
	}
	assert_int_equal(answer[1], SOCKS5_METHOD_NONE);
	assert_int_equal(socks5_parse_reply(answer + 2, 10, &rep,
	    &(size_t){ 0 }), SOCKS5_OK);
	assert_int_equal(rep.rep, SOCKS5_REP_NOT_ALLOWED);
	/* Its FIN, once it read our data: no reset. */
	assert_int_equal(h_recv_n(fd, answer, 1, H_IO_MS), 0);
	close(fd);
}

/* The handshake one byte per segment: a parser must wait for more. */
static void
test_handshake_split_into_single_bytes(void **state)
{
	uint8_t			buf[32];
	struct socks5_reply	rep;
	size_t			n = 0, used;
	int			fd, one = 1;

	(void)state;
	buf[n++] = 5; buf[n++] = 2; buf[n++] = 0x80; buf[n++] = 0;
	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0; buf[n++] = 3;
	buf[n++] = 9;
	memcpy(buf + n, "127.0.0.1", 9);
	n += 9;
	buf[n++] = (uint8_t)(echo4_port >> 8);
	buf[n++] = (uint8_t)echo4_port;
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(send(fd, buf + i, 1, MSG_NOSIGNAL), 1);
		h_sleep_ms(3);
	}
	assert_int_equal(h_recv_n(fd, buf, 2, H_IO_MS), 2);
	assert_int_equal(buf[1], SOCKS5_METHOD_NONE);
	n = 0;
	for (int st = SOCKS5_NEED_MORE; st == SOCKS5_NEED_MORE; ) {
		assert_int_equal(h_recv_n(fd, buf + n, 1, H_IO_MS), 1);
		n++;
		st = socks5_parse_reply(buf, n, &rep, &used);
		assert_true(st == SOCKS5_OK || st == SOCKS5_NEED_MORE);
	}
	assert_int_equal(rep.rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd, "after a split handshake");
	close(fd);
}

/* curl as a client we did not write; returns its output (caller frees). */
static char *
curl(const char *mode, const char *url)
{
	char	out[PATH_MAX], err[PATH_MAX], proxy[64], *body;
	char	*argv[] = { "/usr/bin/curl", "-q", "-sS", "--max-time", "10",
		    (char *)mode, proxy, (char *)url, NULL };
	int	rc;

	snprintf(proxy, sizeof(proxy), "127.0.0.1:%u", gw.port);
	h_tmp(out, sizeof(out), "curl.out");
	h_tmp(err, sizeof(err), "curl.err");
	unlink(out);
	unlink(err);
	rc = h_run(argv, out, err, 15000);
	body = h_read_file(out, NULL);
	if (rc != 0) {
		printf("# curl %s %s: exit %d\n", mode, url, rc);
		h_log_dump(err);
	}
	return body;
}

static void
curl_expect(const char *mode, const char *host, uint16_t port,
    const char *local)
{
	char	url[128], *body;

	snprintf(url, sizeof(url), "http://%s:%u/", host, port);
	body = curl(mode, url);
	assert_non_null(body);
	if (strstr(body, local) == NULL)
		printf("# curl got: %s\n", body);
	assert_non_null(strstr(body, "socks64-it-marker"));
	assert_non_null(strstr(body, local));
	free(body);
}

static void
test_curl_by_name_to_ipv4_server(void **state)
{
	const char	*name = name_v4();
	char		 local[64];

	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0 || name == NULL)
		skip();
	snprintf(local, sizeof(local), "local=127.0.0.1:%u", http4_port);
	curl_expect("--socks5-hostname", name, http4_port, local);
}

static void
test_curl_by_name_to_ipv6_server(void **state)
{
	const char	*name = name_v6();
	char		 local[64];

	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0 || name == NULL)
		skip();
	snprintf(local, sizeof(local), "local=[::1]:%u", http6_port);
	curl_expect("--socks5-hostname", name, http6_port, local);
}

static void
test_curl_ipv6_literal(void **state)
{
	char	local[64];

	(void)state;
	if (access("/usr/bin/curl", X_OK) != 0)
		skip();
	snprintf(local, sizeof(local), "local=[::1]:%u", http6_port);
	curl_expect("--socks5", "[::1]", http6_port, local);
}

/* One line per finished relay, with the bytes of each direction. */
static void
test_session_log_line_counts_bytes(void **state)
{
	char	dest[64], text[1000];
	int	fd;

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	fd = open_raw("127.0.0.1", echo4_port, NULL);
	assert_int_equal(h_send_all(fd, text, 999), 0);
	assert_int_equal(h_recv_n(fd, text, 999, H_IO_MS), 999);
	shutdown(fd, SHUT_WR);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	snprintf(dest, sizeof(dest), "dest=127.0.0.1:%u", echo4_port);
	if (!h_log_line(gw.log, 3000, dest, "cmd=connect", "rep=0", "up=999",
	    "down=999", NULL)) {
		h_log_dump(gw.log);
		fail_msg("no session line with %s rep=0 up=999 down=999", dest);
	}
}

/* Last: every session above has ended, so no descriptor may remain. */
static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
	assert_true(h_proc_alive(&gw.proc));
}

/*
 * After the leak check: SIGTERM ends the daemon with status 0 and no
 * sanitizer report in its log (a group teardown cannot fail a run).
 */
static void
test_daemon_exits_zero_cleanly(void **state)
{
	(void)state;
	assert_int_equal(h_gw_stop(&gw), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_ipv4_literal),
		cmocka_unit_test(test_connect_ipv6_literal),
		cmocka_unit_test(test_connect_name_ipv4),
		cmocka_unit_test(test_connect_name_ipv6),
		cmocka_unit_test(test_connect_name_falls_back_to_other_family),
		cmocka_unit_test(test_reply_not_allowed_by_rule),
		cmocka_unit_test(test_refusal_survives_pipelined_data),
		cmocka_unit_test(test_reply_connection_refused),
		cmocka_unit_test(test_reply_ttl_expired_on_connect_timeout),
		cmocka_unit_test(test_reply_command_not_supported),
		cmocka_unit_test(test_reply_address_type_not_supported),
		cmocka_unit_test(test_bad_name_is_refused_and_never_connected),
		cmocka_unit_test(test_reply_network_unreachable),
		cmocka_unit_test(test_reply_host_unreachable_for_unknown_name),
		cmocka_unit_test(
		    test_reply_host_unreachable_for_unreachable_route),
		cmocka_unit_test(test_pipelined_request_and_payload),
		cmocka_unit_test(test_handshake_split_into_single_bytes),
		cmocka_unit_test(test_curl_by_name_to_ipv4_server),
		cmocka_unit_test(test_curl_by_name_to_ipv6_server),
		cmocka_unit_test(test_curl_ipv6_literal),
		cmocka_unit_test(test_session_log_line_counts_bytes),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_connect", tests, setup,
	    teardown);
}
