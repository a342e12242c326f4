/*
 * it_udp.c - UDP ASSOCIATE through the real gatewayd (RFC 1928 sections
 * 6 and 7): datagrams from an IPv4 client to an IPv6 server and back the
 * other way (RFC 3089 section 5.1), a DOMAINNAME destination resolved on
 * the gateway and named again in the answer, FRAG != 0 dropped,
 * datagrams from another address or port than the client's dropped,
 * rules per destination and per client, the association ending with its
 * TCP connection (the log line counting datagrams and bytes each way),
 * and PySocks (Debian's python3-socks) as a client we did not write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "harness_cmds.h"

#define PYTHON	"/usr/bin/python3"

static struct h_gw	gw;
static struct h_proc	echo4, echo6;
static uint16_t		echo4_port, echo6_port, gw6_port;

/* One association: its control connection, our UDP socket, the relay. */
struct assoc {
	int			ctl;
	int			udp;
	struct sockaddr_storage	relay;
};

static int
setup(void **state)
{
	char	conf[PATH_MAX], l6[64];

	(void)state;
	hc_conf(conf, sizeof(conf), "udp.conf",
	    "client pass from 127.0.0.0/8\n"
	    "client pass from ::1\n"
	    "block to 127.0.0.5 command udp-associate\n"
	    "block from 127.0.0.6 command udp-associate\n"
	    "pass to any\n");
	if ((echo4_port = h_tool_start(&echo4, "udpecho", "-a", "127.0.0.1",
	    "-x", "echo4:", NULL)) == 0 ||
	    (echo6_port = h_tool_start(&echo6, "udpecho", "-a", "::1",
	    "-x", "echo6:", NULL)) == 0 ||
	    (gw6_port = h_free_port("::1")) == 0)
		return -1;
	/* A second listener on ::1, for the IPv6 client. */
	snprintf(l6, sizeof(l6), "[::1]:%u", gw6_port);
	return h_gw_start(&gw, conf, "-l", l6, NULL);
}

static int
teardown(void **state)
{
	int	rc = h_gw_stop(&gw);

	(void)state;
	h_proc_stop(&echo4);
	h_proc_stop(&echo6);
	return rc;
}

/*
 * Opens an association from client (a literal) through the gateway at
 * gw_host:gw_port. give_port: DST names our UDP socket's address and
 * port (else 0.0.0.0:0 or [::]:0, "the client's address").
 */
static void
assoc_open(struct assoc *a, const char *gw_host, uint16_t gw_port,
    const char *client, int give_port)
{
	struct socks5_addr	dst;
	struct socks5_reply	rep;
	socklen_t		len;

	a->udp = hc_udp_socket(client);
	assert_true(a->udp >= 0);
	if (give_port)
		h_dst(&dst, client, hc_local_port(a->udp));
	else
		h_dst(&dst, strchr(client, ':') ? "::" : "0.0.0.0", 0);
	assert_int_equal(hc_request(gw_host, gw_port, NULL, NULL,
	    SOCKS5_CMD_UDP, &dst, &rep, &a->ctl), SOCKS5_REP_SUCCEEDED);
	assert_int_equal(hc_bnd(&rep.bnd, gw_host, &a->relay, &len), 0);
	assert_int_not_equal(rep.bnd.port, 0);
}

static void
assoc_close(struct assoc *a)
{
	close(a->ctl);
	close(a->udp);
}

static void
send_to(const struct assoc *a, int fd, uint8_t frag, const char *host,
    uint16_t port, const char *text)
{
	struct socks5_addr	dst;

	h_dst(&dst, host, port);
	assert_int_equal(hc_udp_send(fd, &a->relay, frag, &dst, text,
	    strlen(text)), 0);
}

/*
 * Sends text to host:port and expects the echo (prefix + text) back
 * with a header naming the source as the literal or name want_from.
 */
static void
round_trip(const struct assoc *a, const char *host, uint16_t port,
    const char *prefix, const char *text, const char *want_from)
{
	struct socks5_addr	from;
	char			buf[256], want[256], fromhost[256];
	ssize_t			n;

	send_to(a, a->udp, 0, host, port, text);
	n = hc_udp_recv(a->udp, &from, buf, sizeof(buf), H_IO_MS);
	snprintf(want, sizeof(want), "%s%s", prefix, text);
	assert_int_equal(n, (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	if (from.atyp == SOCKS5_ATYP_DOMAIN)
		snprintf(fromhost, sizeof(fromhost), "%s", from.name);
	else
		hc_host(&from, fromhost, sizeof(fromhost));
	assert_string_equal(fromhost, want_from);
	assert_int_equal(from.port, port);
}

/* Whether a datagram reaches fd within ms. */
static int
arrives(int fd, int ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

/* RFC 3089's point: the client lacks the server's family. */
static void
test_udp_ipv4_client_to_ipv6_server(void **state)
{
	struct assoc	a;

	(void)state;
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 0);
	round_trip(&a, "::1", echo6_port, "echo6:", "four to six", "::1");
	round_trip(&a, "127.0.0.1", echo4_port, "echo4:", "four to four",
	    "127.0.0.1");
	assoc_close(&a);
}

static void
test_udp_ipv6_client_to_ipv4_server(void **state)
{
	struct assoc	a;

	(void)state;
	assoc_open(&a, "::1", gw6_port, "::1", 1);
	round_trip(&a, "127.0.0.1", echo4_port, "echo4:", "six to four",
	    "127.0.0.1");
	assoc_close(&a);
}

/*
 * A name is resolved on the gateway (RFC 3089 section 3) and the answer
 * names it again, so a client that never learns the address (the shim,
 * PySocks) matches the answer to what it sent.
 */
static void
test_udp_domainname_destination(void **state)
{
	struct assoc	a;

	(void)state;
	if (!h_names())
		skip();
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 0);
	round_trip(&a, H_NAME_V6, echo6_port, "echo6:", "by name",
	    H_NAME_V6);
	/* Twice: the second from the association's cache. */
	round_trip(&a, H_NAME_V6, echo6_port, "echo6:", "by name again",
	    H_NAME_V6);
	assoc_close(&a);
}

/* RFC 1928 section 7 lets a relay drop fragments; we do. */
static void
test_udp_fragment_dropped(void **state)
{
	struct assoc	a;

	(void)state;
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 0);
	send_to(&a, a.udp, 1, "127.0.0.1", echo4_port, "fragment");
	assert_false(arrives(a.udp, 300));
	round_trip(&a, "127.0.0.1", echo4_port, "echo4:", "whole",
	    "127.0.0.1");
	assoc_close(&a);
	assert_true(h_log_line(gw.log, 3000, "cmd=udp-associate",
	    "dgrams_up=1 dgrams_down=1 dropped=1", NULL));
}

/*
 * The association takes datagrams from the port the request named
 * only, and from the client's address only: a neighbour's datagrams,
 * to the same relay port, are dropped.
 */
static void
test_udp_foreign_source_dropped(void **state)
{
	struct assoc	a;
	int		other_port, other_addr;

	(void)state;
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 1);
	other_port = hc_udp_socket("127.0.0.1");
	other_addr = hc_udp_socket("127.0.0.2");
	assert_true(other_port >= 0 && other_addr >= 0);
	send_to(&a, other_port, 0, "127.0.0.1", echo4_port, "other port");
	send_to(&a, other_addr, 0, "127.0.0.1", echo4_port, "other addr");
	assert_false(arrives(other_port, 300));
	assert_false(arrives(other_addr, 10));
	assert_false(arrives(a.udp, 10));
	round_trip(&a, "127.0.0.1", echo4_port, "echo4:", "mine",
	    "127.0.0.1");
	close(other_port);
	close(other_addr);
	assoc_close(&a);
	assert_true(h_log_line(gw.log, 3000, "cmd=udp-associate",
	    "dgrams_up=1 dgrams_down=1 dropped=2", NULL));
}

/* Rules apply per datagram: "block to 127.0.0.5 command udp-...". */
static void
test_udp_denied_destination_dropped(void **state)
{
	struct assoc	a;
	int		srv;
	uint16_t	port;

	(void)state;
	srv = hc_udp_socket("127.0.0.5");
	assert_true(srv >= 0);
	port = hc_local_port(srv);
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 0);
	send_to(&a, a.udp, 0, "127.0.0.5", port, "blocked");
	assert_false(arrives(srv, 300));
	round_trip(&a, "127.0.0.1", echo4_port, "echo4:", "allowed",
	    "127.0.0.1");
	close(srv);
	assoc_close(&a);
}

/* A client no rule lets use UDP is refused at once, X'02'. */
static void
test_udp_refused_for_blocked_client(void **state)
{
	struct sockaddr_storage	 src, gwa;
	struct socks5_addr	 dst;
	struct socks5_reply	 rep;
	uint8_t			 none = SOCKS5_METHOD_NONE;
	socklen_t		 slen, glen;
	const char		*why;
	int			 fd;

	(void)state;
	assert_int_equal(addr_parse_endpoint("127.0.0.6", 0, &src, &slen,
	    &why), 0);
	assert_int_equal(addr_parse_endpoint("127.0.0.1", gw.port, &gwa,
	    &glen, &why), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, slen), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&gwa, glen), 0);
	assert_int_equal(h_socks_greet(fd, &none, 1), SOCKS5_METHOD_NONE);
	h_dst(&dst, "0.0.0.0", 0);
	assert_int_equal(h_socks_request(fd, SOCKS5_CMD_UDP, &dst, &rep),
	    SOCKS5_REP_NOT_ALLOWED);
	close(fd);
}

/*
 * Closing the control connection ends the association (RFC 1928
 * section 7): one log line with datagrams and bytes each way, and the
 * relay's port is gone.
 */
static void
test_udp_association_ends_on_tcp_close(void **state)
{
	struct assoc	a;
	char		port[32], buf[16];
	int64_t		t0;

	(void)state;
	assoc_open(&a, "127.0.0.1", gw.port, "127.0.0.1", 0);
	round_trip(&a, "::1", echo6_port, "echo6:", "one", "::1");
	round_trip(&a, "::1", echo6_port, "echo6:", "two", "::1");
	t0 = h_now_ms();
	close(a.ctl);
	snprintf(port, sizeof(port), "dest=0.0.0.0:0");
	if (!h_log_line(gw.log, 2000, "cmd=udp-associate", port, "rep=0",
	    "up=6 ", "down=18 ", "dgrams_up=2 dgrams_down=2 dropped=0",
	    NULL)) {
		h_log_dump(gw.log);
		fail_msg("no udp-associate line with the counts");
	}
	printf("# association ended %lld ms after the close\n",
	    (long long)(h_now_ms() - t0));
	/* A connected UDP socket hears the port unreachable. */
	assert_int_equal(connect(a.udp, (struct sockaddr *)&a.relay,
	    addr_len((struct sockaddr *)&a.relay)), 0);
	assert_int_equal(send(a.udp, "x", 1, 0), 1);
	assert_true(arrives(a.udp, 1000));
	assert_int_equal(recv(a.udp, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(a.udp);
}

/* Runs pysocks_udp.py; its stdout in out (a path). Exit code. */
static int
pysocks(const char *out, const char *host, uint16_t port, const char *t1,
    const char *t2)
{
	char	script[PATH_MAX], gwport[16], dport[16], err[PATH_MAX];
	char	*argv[] = { PYTHON, script, "127.0.0.1", gwport, (char *)host,
		    dport, (char *)t1, (char *)t2, NULL };
	int	rc;

	h_srcpath(script, sizeof(script), "tests/tools/pysocks_udp.py");
	snprintf(gwport, sizeof(gwport), "%u", gw.port);
	snprintf(dport, sizeof(dport), "%u", port);
	h_tmp(err, sizeof(err), "pysocks.err");
	unlink(out);
	rc = h_run(argv, out, err, 20000);
	if (rc != 0) {
		printf("# pysocks_udp.py exit %d\n", rc);
		h_log_dump(err);
	}
	return rc;
}

/* A SOCKS5 UDP client we did not write: PySocks, by address and name. */
static void
test_udp_pysocks_client(void **state)
{
	char	out[PATH_MAX], want[128], *text;
	char	probe[] = "import socks";
	char	*argv[] = { PYTHON, "-c", probe, NULL };

	(void)state;
	if (access(PYTHON, X_OK) != 0 || h_run(argv, NULL, NULL, 10000) != 0)
		skip();
	h_tmp(out, sizeof(out), "pysocks.out");
	assert_int_equal(pysocks(out, "::1", echo6_port, "py1", "py2"), 0);
	text = h_read_file(out, NULL);
	assert_non_null(text);
	snprintf(want, sizeof(want), "from ::1 %u echo6:py1\n"
	    "from ::1 %u echo6:py2\n", echo6_port, echo6_port);
	assert_string_equal(text, want);
	free(text);
	if (!h_names())
		return;
	assert_int_equal(pysocks(out, H_NAME_V6, echo6_port, "py3", "py4"),
	    0);
	text = h_read_file(out, NULL);
	assert_non_null(text);
	snprintf(want, sizeof(want), "from %s %u echo6:py3\n"
	    "from %s %u echo6:py4\n", H_NAME_V6, echo6_port, H_NAME_V6,
	    echo6_port);
	assert_string_equal(text, want);
	free(text);
}

static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
}

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
		cmocka_unit_test(test_udp_ipv4_client_to_ipv6_server),
		cmocka_unit_test(test_udp_ipv6_client_to_ipv4_server),
		cmocka_unit_test(test_udp_domainname_destination),
		cmocka_unit_test(test_udp_fragment_dropped),
		cmocka_unit_test(test_udp_foreign_source_dropped),
		cmocka_unit_test(test_udp_denied_destination_dropped),
		cmocka_unit_test(test_udp_refused_for_blocked_client),
		cmocka_unit_test(test_udp_association_ends_on_tcp_close),
		cmocka_unit_test(test_udp_pysocks_client),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_udp", tests, setup, teardown);
}
