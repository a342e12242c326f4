/*
 * it_dns.c - names the gateway resolves through DNS rather than the hosts
 * file: the resolver's DNS path is the heaviest user of a session
 * thread's small stack, so it runs here, one at a time and many at once.
 * The only DNS server is tests/tools/dnsd on 127.0.0.1:53 of the test's
 * own network namespace (so: root only); nsswitch says "files dns".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct h_gw	gw;
static struct h_proc	dnsd, echo4, echo6;
static uint16_t		e4, e6;
static int		ready;

static int
setup(void **state)
{
	(void)state;
	if (!h_names())
		return 0;	/* every test skips */
	if (h_tool_start(&dnsd, "dnsd", "-a", "127.0.0.1", "-p", "53",
	    NULL) != 53 ||
	    (e4 = h_tool_start(&echo4, "tcpsrv", "-a", "127.0.0.1",
	    NULL)) == 0 ||
	    (e6 = h_tool_start(&echo6, "tcpsrv", "-a", "::1", NULL)) == 0 ||
	    h_gw_start(&gw, NULL, NULL) != 0)
		return -1;
	ready = 1;
	return 0;
}

static int
teardown(void **state)
{
	int	rc = h_gw_stop(&gw);

	(void)state;
	h_proc_stop(&dnsd);
	h_proc_stop(&echo4);
	h_proc_stop(&echo6);
	return rc;
}

static void
need_dns(void)
{
	if (!ready)
		skip();
}

/* Whether dnsd answered a question for name (bounded). */
static int
dns_saw(const char *name)
{
	char	line[512], want[300];
	int64_t	end = h_now_ms() + 2000;

	snprintf(want, sizeof(want), "query %s ", name);
	while (h_now_ms() < end)
		if (h_proc_line(&dnsd, line, sizeof(line), 200) == 1 &&
		    strncmp(line, want, strlen(want)) == 0)
			return 1;
	return 0;
}

static void
echo_through(const char *name, uint16_t port)
{
	char	buf[64];
	int	fd, rep;

	fd = h_socks_open(&gw, NULL, NULL, name, port, &rep);
	if (rep != SOCKS5_REP_SUCCEEDED)
		h_log_dump(gw.log);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	assert_int_equal(h_send_all(fd, name, strlen(name)), 0);
	assert_int_equal(h_recv_n(fd, buf, strlen(name), H_IO_MS),
	    (ssize_t)strlen(name));
	assert_memory_equal(buf, name, strlen(name));
	close(fd);
}

static void
test_dns_name_with_only_a_record(void **state)
{
	(void)state;
	need_dns();
	echo_through("v4.dns.test", e4);
	assert_true(dns_saw("v4.dns.test"));
}

static void
test_dns_name_with_only_aaaa_record(void **state)
{
	(void)state;
	need_dns();
	echo_through("v6.dns.test", e6);
	assert_true(dns_saw("v6.dns.test"));
}

static void
test_dns_name_with_both_records(void **state)
{
	(void)state;
	need_dns();
	echo_through("both.dns.test", e4);
	echo_through("Both.DNS.test.", e6);
}

static void
test_dns_many_addresses(void **state)
{
	(void)state;
	need_dns();
	echo_through("many.dns.test", e4);
}

/* NXDOMAIN for a name under the reserved .invalid: host unreachable. */
static void
test_dns_nxdomain_is_host_unreachable(void **state)
{
	(void)state;
	need_dns();
	assert_int_equal(h_socks_rep(&gw, "nothing.invalid", 80),
	    SOCKS5_REP_HOST_UNREACHABLE);
	assert_true(dns_saw("nothing.invalid"));
}

/*
 * 32 sessions resolving at the same moment: each sends greeting, request
 * and payload in one write before any reply is read.
 */
static void
test_dns_lookups_in_parallel(void **state)
{
	enum { N = 32 };
	uint8_t	req[128], buf[64];
	char	name[32];
	int	fds[N];

	(void)state;
	need_dns();
	for (int i = 0; i < N; i++) {
		size_t n = 0, l = (size_t)snprintf(name, sizeof(name),
		    "n%02d.dns.test", i);
		req[n++] = 5; req[n++] = 1; req[n++] = 0;
		req[n++] = 5; req[n++] = 1; req[n++] = 0; req[n++] = 3;
		req[n++] = (uint8_t)l;
		memcpy(req + n, name, l);
		n += l;
		req[n++] = (uint8_t)(e4 >> 8);
		req[n++] = (uint8_t)e4;
		memcpy(req + n, name, l);
		n += l;
		fds[i] = h_connect("127.0.0.1", gw.port, H_IO_MS);
		assert_true(fds[i] >= 0);
		assert_int_equal(h_send_all(fds[i], req, n), 0);
	}
	for (int i = 0; i < N; i++) {
		size_t l = (size_t)snprintf(name, sizeof(name),
		    "n%02d.dns.test", i);
		/* method choice (2) + IPv4 reply (10) + the echoed payload */
		assert_int_equal(h_recv_n(fds[i], buf, 12 + l, 10000),
		    (ssize_t)(12 + l));
		assert_int_equal(buf[1], SOCKS5_METHOD_NONE);
		assert_int_equal(buf[3], SOCKS5_REP_SUCCEEDED);
		assert_int_equal(buf[5], SOCKS5_ATYP_IPV4);
		assert_memory_equal(buf + 12, name, l);
		close(fds[i]);
	}
}

/*
 * A DNS server that never answers: the look-up is bounded by "timeout
 * connect" (1 s) and answered X'06', although the resolver itself would
 * wait 3 s (RES_OPTIONS) and then report X'04'. The look-up given up on
 * finishes later on its own; the daemon then exits cleanly, and under
 * SANITIZE=1 without a leak report.
 */
static void
test_dns_silent_server_times_out_06(void **state)
{
	struct h_gw	slow;
	char		conf[PATH_MAX];
	int64_t		t0, ms;
	int		rep;

	(void)state;
	need_dns();
	memset(&slow, 0, sizeof(slow));
	slow.env[0] = "RES_OPTIONS=timeout:3 attempts:1";
	h_tmp(conf, sizeof(conf), "silent.conf");
	assert_int_equal(h_write_file(conf, "client pass from 127.0.0.1\n"
	    "pass to any\ntimeout connect 1\n"), 0);
	assert_int_equal(h_gw_start(&slow, conf, NULL), 0);
	t0 = h_now_ms();
	rep = h_socks_rep(&slow, "x.silent.dns.test", e4);
	ms = h_now_ms() - t0;
	printf("# silent server: reply %d after %lld ms\n", rep,
	    (long long)ms);
	assert_int_equal(rep, SOCKS5_REP_TTL_EXPIRED);
	assert_true(ms >= 900 && ms < 2500);
	assert_true(dns_saw("x.silent.dns.test"));
	assert_true(h_log_line(slow.log, 2000, "dest=x.silent.dns.test:",
	    "rep=6", "name look-up timed out", NULL));
	h_sleep_ms(3000);	/* the resolver gives up; the look-up ends */
	assert_int_equal(h_gw_stop(&slow), 0);
}

/*
 * A client that gives up while its name is being looked up (the server
 * never answers) ends its session at once: the closing line names it
 * long before the resolver gives up (5 s) or "timeout connect" (60 s)
 * runs out. The look-up finishes alone later; then no descriptor of it
 * is left, and the daemon exits cleanly.
 */
static void
test_dns_client_leaving_during_lookup(void **state)
{
	static const uint8_t	greet[3] = { 5, 1, SOCKS5_METHOD_NONE };
	struct socks5_addr	dst;
	struct h_gw		slow;
	char			conf[PATH_MAX];
	uint8_t			req[300], buf[2];
	int64_t			t0;
	int			fd, len, seen = 0;

	(void)state;
	need_dns();
	memset(&slow, 0, sizeof(slow));
	slow.env[0] = "RES_OPTIONS=timeout:5 attempts:1";
	h_tmp(conf, sizeof(conf), "leave.conf");
	assert_int_equal(h_write_file(conf, "client pass from 127.0.0.1\n"
	    "pass to any\ntimeout connect 60\n"), 0);
	assert_int_equal(h_gw_start(&slow, conf, NULL), 0);
	fd = h_connect("127.0.0.1", slow.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_send_all(fd, greet, sizeof(greet)), 0);
	assert_int_equal(h_recv_n(fd, buf, 2, H_IO_MS), 2);
	h_dst(&dst, "y.silent.dns.test", e4);
	len = socks5_encode_request(req, sizeof(req), SOCKS5_CMD_CONNECT,
	    &dst);
	assert_true(len > 0);
	assert_int_equal(h_send_all(fd, req, (size_t)len), 0);
	assert_true(dns_saw("y.silent.dns.test"));	/* asked: waiting */
	close(fd);
	t0 = h_now_ms();
	/* Only before the resolver gives up can the line say this. */
	seen = h_log_line(slow.log, 4000, "dest=y.silent.dns.test:", "rep=1",
	    "error=\"client left during look-up\"", NULL);
	printf("# left during look-up: closing line %s after %lld ms\n",
	    seen ? "written" : "missing", (long long)(h_now_ms() - t0));
	if (!seen)
		h_log_dump(slow.log);
	assert_true(seen);
	/* The resolver gives up; its thread and descriptors go. */
	assert_int_equal(h_gw_fds_settle(&slow, 10000), slow.fd_base);
	h_sleep_ms(5000);
	assert_int_equal(h_gw_stop(&slow), 0);
}

static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	need_dns();
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
}

static void
test_daemon_exits_zero_cleanly(void **state)
{
	(void)state;
	need_dns();
	assert_int_equal(h_gw_stop(&gw), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_name_with_only_a_record),
		cmocka_unit_test(test_dns_name_with_only_aaaa_record),
		cmocka_unit_test(test_dns_name_with_both_records),
		cmocka_unit_test(test_dns_many_addresses),
		cmocka_unit_test(test_dns_nxdomain_is_host_unreachable),
		cmocka_unit_test(test_dns_lookups_in_parallel),
		cmocka_unit_test(test_dns_silent_server_times_out_06),
		cmocka_unit_test(test_dns_client_leaving_during_lookup),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_use_dns();
	h_init();
	return cmocka_run_group_tests_name("it_dns", tests, setup, teardown);
}
