/*
 * it_shim_netns.c - libsocks64 end to end, across an IPv4/IPv6 boundary
 * built from network namespaces (RFC 3089 section 2's four cases; the
 * topology is harness_shimnet.c's).
 *
 * Real programs, unchanged, are run in the client namespaces with the
 * library preloaded: curl, wget, python3 urllib and asyncio, git over
 * dumb HTTP, tests/tools/nbclient (poll/select/epoll), socks64-run, a
 * program linked with -lsocks64 and Firefox ESR headless; datagrams
 * (issue 4): dig and python3 asking tests/tools/dnsd on the IPv6-only
 * server from the IPv4-only client through a UDP association; and a
 * chain whose first gateway runs inside the IPv4-only client (no IPv6
 * at all, no way to resolve the server's name), plus a first gateway
 * line that does not answer, passed over for the next. ssh and git
 * over ssh are it_shim_ssh.c's. Needs root; skipped otherwise.
 * SOCKS64_IT_ONLY=PATTERN runs only the cases whose names match
 * (cmocka's filter).
 *
 * Every case runs twice: with 'async no' (connect() finishes the SOCKS
 * exchange itself) and with 'async yes', the default (pending.c: a
 * non-blocking connect returns EINPROGRESS at once and the program's
 * own poll/select/epoll drive the exchange), the second set named
 * *_async. SOCKS64_IT_ASYNC=0 or 1 runs only the one mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_shimnet.h"

#define FIREFOX_MS	90000

/* RFC 3089 section 2, case by case, with curl. */
static void
test_curl_v4_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	sn_assert_output_has(MARK6);
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:80");
}

static void
test_curl_v4_client_to_v4_server(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www4.example/")), 0);
	sn_assert_output_has(MARK4);
	sn_assert_gateway_relayed("192.0.2.2", "www4.example:80");
}

static void
test_curl_v6_client_to_v4_server(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www4.example/")), 0);
	sn_assert_output_has(MARK4);
	sn_assert_gateway_relayed("[2001:db8:c6::2]", "www4.example:80");
}

static void
test_curl_v6_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	sn_assert_output_has(MARK6);
	sn_assert_gateway_relayed("[2001:db8:c6::2]", "www6.example:80");
}

/*
 * Literals of a family the client has no address of go through the
 * gateway as ATYP IPv6/IPv4; on the IPv6-only client curl's AF_INET
 * socket is replaced by an IPv6 one to reach the gateway.
 */
static void
test_curl_literal_of_missing_family(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://[2001:db8:5::2]/")), 0);
	sn_assert_output_has(MARK6);
	assert_int_equal(sn_run_in(sn.ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://198.51.100.2/")), 0);
	sn_assert_output_has(MARK4);
	sn_assert_gateway_relayed("[2001:db8:c6::2]", "198.51.100.2:80");
}

static void
test_wget_v4_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	if (!sn_have("wget"))
		skip();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("wget", "-q", "-O", "-", "-T", "10", "-t", "1",
	    "http://www6.example/")), 0);
	sn_assert_output_has(MARK6);
}

static void
test_python_urllib_v4_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(sn.python, "-c", "import urllib.request as u; print(u.urlopen("
	    "'http://www6.example/', timeout=10).read().decode())")), 0);
	sn_assert_output_has(MARK6);
}

static void
test_git_ls_remote_v4_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	if (!sn_have("git"))
		skip();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("git", "ls-remote", "http://www6.example/repo.git")), 0);
	sn_assert_output_has("refs/heads/main");
	assert_true(h_log_has(sn.log_h6, "GET /repo.git/info/refs"));
}

/*
 * The non-blocking connect of event loops: EINPROGRESS, writability
 * with poll/select/epoll, SO_ERROR 0, the first byte read the server's,
 * getpeername the fake address it connected to.
 */
static void
test_nbclient_nonblocking_each_wait(void **state)
{
	static const char *const modes[] = { "poll", "select", "epoll" };
	char tool[PATH_MAX];
	size_t i;

	(void)state;
	sn_need_ready();
	h_bin(tool, sizeof(tool), "tools/nbclient");
	if (access(tool, X_OK) != 0)
		skip();
	for (i = 0; i < 3; i++) {
		assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
		    CMD(tool, "-m", modes[i], "www6.example", "80", "/")), 0);
		sn_assert_output_has("matches=yes");
		sn_assert_output_has(MARK6);
		assert_int_equal(sn_run_in(sn.ns_c6, GW6, 0, RUN_MS, NULL,
		    CMD(tool, "-m", modes[i], "www4.example", "80", "/")), 0);
		sn_assert_output_has("matches=yes");
		sn_assert_output_has(MARK4);
	}
}

/*
 * An unknown name and a refused port fail at once with the program's
 * usual "couldn't connect" (curl exit 7), not after a timeout.
 */
static void
test_unknown_name_and_refused_port_fail_fast(void **state)
{
	int64_t ms;

	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://nosuch.example/")), 7);
	assert_true(ms < FAST_MS);
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example:81/")), 7);
	assert_true(ms < FAST_MS);
	assert_int_equal(sn_run_in(sn.ns_c6, GW6, 0, RUN_MS, &ms,
	    CMD(sn.python, "-c", "import urllib.request as u\n"
	    "try:\n u.urlopen('http://nosuch.example/', timeout=10)\n"
	    "except OSError as e:\n print('failed', e)\n")), 0);
	assert_true(ms < FAST_MS);
	sn_assert_output_has("failed");
}

/* socks64-run puts the library in LD_PRELOAD and the gateway in env. */
static void
test_socks64_run_wrapper(void **state)
{
	char run[PATH_MAX];
	char *argv[] = { sn.ip_cmd, "netns", "exec", sn.ns_c4, run, "-g", GW4,
	    "-c", sn.async_mode ? sn.conf_async : sn.conf, "curl", "-sS", "-m",
	    "10", "http://www6.example/", NULL };
	const char *lib = sn.lib_plain;

	(void)state;
	sn_need_ready();
	h_bin(run, sizeof(run), "socks64-run");
	/*
	 * It preloads the library next to itself, this build's, which
	 * under a sanitizer curl cannot take.
	 */
	if (access(run, X_OK) != 0 || strcmp(lib, sn.lib_own) != 0) {
		print_message("skipped: sanitizer build\n");
		skip();
	}
	sn_empty(sn.out_path);
	assert_int_equal(h_run(argv, sn.out_path, sn.err_path, RUN_MS), 0);
	sn_assert_output_has(MARK6);
}

/*
 * The build-time way: a program linked with -lsocks64, no LD_PRELOAD,
 * only SOCKS64_GATEWAY in its environment.
 */
static const char linked_src[] =
"#include <netdb.h>\n#include <stdio.h>\n#include <string.h>\n"
"#include <sys/socket.h>\n#include <unistd.h>\n#include <socks64.h>\n"
"int main(int argc, char **argv) {\n"
"  struct addrinfo h, *r; char buf[4096]; ssize_t n; int fd;\n"
"  if (argc != 2 || !socks64_enabled()) return 3;\n"
"  memset(&h, 0, sizeof(h)); h.ai_socktype = SOCK_STREAM;\n"
"  if (getaddrinfo(argv[1], \"80\", &h, &r) != 0) return 4;\n"
"  fd = socket(r->ai_family, SOCK_STREAM, 0);\n"
"  if (connect(fd, r->ai_addr, r->ai_addrlen) != 0) return 5;\n"
"  freeaddrinfo(r);\n"
"  dprintf(fd, \"GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n\", argv[1]);\n"
"  while ((n = read(fd, buf, sizeof(buf))) > 0) fwrite(buf, 1, n, stdout);\n"
"  return 0;\n}\n";

static void
test_linked_program_v4_client_to_v6_server(void **state)
{
	char src[PATH_MAX], bin[PATH_MAX], inc[PATH_MAX + 2];
	char ldir[PATH_MAX + 2], rpath[PATH_MAX + 16], confv[PATH_MAX + 16];
	const char *san = getenv("SANITIZE");
	char *cc[] = { "/usr/bin/cc", "-o", bin, src, inc, ldir, rpath,
	    "-lsocks64", NULL, NULL };
	char *run[] = { sn.ip_cmd, "netns", "exec", sn.ns_c4, "/usr/bin/env",
	    "SOCKS64_GATEWAY=" GW4, confv, "ASAN_OPTIONS=detect_leaks=0", bin,
	    "www6.example", NULL };

	(void)state;
	sn_need_ready();
	if (access(cc[0], X_OK) != 0)
		skip();
	if (san != NULL && *san != '\0')
		cc[8] = strcmp(san, "thread") == 0 ? "-fsanitize=thread" :
		    "-fsanitize=address,undefined";
	h_tmp(src, sizeof(src), "linked.c");
	h_tmp(bin, sizeof(bin), "linked");
	snprintf(inc, sizeof(inc), "-I%s", h_src_dir());
	strncat(inc, "/include", sizeof(inc) - strlen(inc) - 1);
	snprintf(ldir, sizeof(ldir), "-L%s", h_build_dir());
	snprintf(rpath, sizeof(rpath), "-Wl,-rpath,%s", h_build_dir());
	snprintf(confv, sizeof(confv), "SOCKS64_CONF=%s",
	    sn.async_mode ? sn.conf_async : sn.conf);
	assert_int_equal(h_write_file(src, "%s", linked_src), 0);
	sn_empty(sn.err_path);
	if (h_run(cc, sn.out_path, sn.err_path, 60000) != 0) {
		h_log_dump(sn.err_path);
		fail_msg("cannot build a program with -lsocks64");
	}
	sn_empty(sn.out_path);
	if (h_run(run, sn.out_path, sn.err_path, RUN_MS) != 0) {
		h_log_dump(sn.out_path);
		h_log_dump(sn.err_path);
		fail_msg("the program linked with -lsocks64 failed");
	}
	sn_assert_output_has(MARK6);
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:80");
}

/* ------------------------------------------------------------------ */
/* datagrams, chains and alternatives (issue 4)                         */

/* The gateway ended a UDP association of client's that carried data. */
static void
assert_gateway_udp(const char *client)
{
	char c[64];

	snprintf(c, sizeof(c), "client=%s", client);
	if (!h_log_line(sn.log_gw, 5000, c, "cmd=udp-associate", "rep=0",
	    NULL)) {
		h_log_dump(sn.log_gw);
		fail_msg("gateway logged no UDP association for %s", client);
	}
}

static void
need_dnsd(void)
{
	sn_need_ready();
	if (sn.dns6_proc.pid == 0 || sn.echo6_proc.pid == 0) {
		print_message("skipped: tools/dnsd or udpecho is not built\n");
		skip();
	}
}

/*
 * dig, unchanged, from the IPv4-only client: the server's name is
 * delegated, its query goes out as a datagram through a UDP
 * association and the gateway to the IPv6-only server, and the answer
 * comes back from the address dig thinks it asked.
 */
static void
test_dig_v4_client_to_v6_dns_server(void **state)
{
	(void)state;
	need_dnsd();
	if (!sn_have("dig")) {
		print_message("skipped: dig (dnsutils) is not installed\n");
		skip();
	}
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("dig", "+short", "+tries=1", "+time=5", "@dns6.example",
	    "x.dns.test", "A")), 0);
	sn_assert_output_has("127.0.0.1");
	assert_true(h_log_has(sn.log_dns6, "query x.dns.test"));
	assert_gateway_udp("192.0.2.2");
}

/*
 * The same with python3's socket module, both ways a program does it:
 * sendto/recvfrom on an unconnected socket (the source must be the
 * address it sent to) and connect + send/recv.
 */
static const char dns_py[] =
"import socket, struct, sys\n"
"q = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)\n"
"q += b''.join(bytes([len(l)]) + l for l in b'y.dns.test'.split(b'.'))\n"
"q += b'\\0' + struct.pack('>HH', 1, 1)\n"
"ai = socket.getaddrinfo('dns6.example', 53, 0, socket.SOCK_DGRAM)[0]\n"
"s = socket.socket(ai[0], socket.SOCK_DGRAM)\n"
"s.settimeout(5)\n"
"s.sendto(q, ai[4])\n"
"r, src = s.recvfrom(512)\n"
"assert r[:2] == b'\\x12\\x34', r\n"
"assert bytes([127, 0, 0, 1]) in r, r\n"
"assert src[:2] == ai[4][:2], (src, ai[4])\n"
"assert int(ai[4][0].split('.')[0]) >= 240, ai[4]\n"
"print('sendto ok', ai[4][0])\n"
"c = socket.socket(ai[0], socket.SOCK_DGRAM)\n"
"c.settimeout(5)\n"
"c.connect(ai[4])\n"
"c.send(q)\n"
"r = c.recv(512)\n"
"assert bytes([127, 0, 0, 1]) in r, r\n"
"print('connected ok', c.getpeername()[0])\n"
"e = socket.socket(ai[0], socket.SOCK_DGRAM)\n"
"e.settimeout(5)\n"
"eai = socket.getaddrinfo('dns6.example', 7, ai[0], socket.SOCK_DGRAM)[0]\n"
"for i in range(3):\n"
"    e.sendto(b'ping%d' % i, eai[4])\n"
"    r, src = e.recvfrom(64)\n"
"    assert r == b'echo:ping%d' % i and src[:2] == eai[4][:2], (r, src)\n"
"print('echo ok')\n";

static void
test_python_udp_v4_client_to_v6_dns_server(void **state)
{
	(void)state;
	need_dnsd();
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(sn.python, "-c", dns_py)), 0);
	sn_assert_output_has("sendto ok");
	sn_assert_output_has("connected ok");
	sn_assert_output_has("echo ok");
	assert_true(h_log_has(sn.log_echo6, "dgram [2001:db8:5::1]"));
	assert_true(h_log_has(sn.log_dns6, "query y.dns.test"));
	assert_gateway_udp("192.0.2.2");
}

/*
 * RFC 3089 section 4 seen from the client: the first gateway runs in
 * the IPv4-only client's own namespace (no IPv6, no way to resolve the
 * server's name) and is asked only for the second gateway; the second
 * resolves the name and reaches the IPv6-only server. A failed hop's
 * answer (the server refuses port 81) reaches curl at once.
 */
static void
test_chain_through_v4_only_first_gateway(void **state)
{
	char gwbin[PATH_MAX];
	char *argv[] = { sn.ip_cmd, "netns", "exec", sn.ns_c4, gwbin, "-f",
	    "-l", "127.0.0.1:1081", "-a", "127.0.0.0/8", NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct h_proc g1;
	int64_t ms;
	int r1, r2;

	(void)state;
	sn_need_ready();
	h_bin(gwbin, sizeof(gwbin), "gatewayd");
	memset(&g1, 0, sizeof(g1));
	/* The log is appended to: the other mode's run must not answer
	 * for this one's "started". */
	unlink(sn.log_g1);
	o.out_path = o.err_path = sn.log_g1;
	if (h_spawn(&g1, argv, &o) == -1 ||
	    !h_log_wait(sn.log_g1, "started", 5000)) {
		h_log_dump(sn.log_g1);
		h_proc_stop(&g1);
		fail_msg("the first gateway did not start");
	}
	r1 = sn_run_in(sn.ns_c4, "127.0.0.1:1081 " GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/"));
	if (r1 == 0 && !h_log_has(sn.out_path, MARK6))
		r1 = -2;
	r2 = sn_run_in(sn.ns_c4, "127.0.0.1:1081 " GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example:81/"));
	h_proc_stop(&g1);
	assert_int_equal(r1, 0);
	if (!h_log_line(sn.log_g1, 3000, "dest=192.0.2.1:1080", "rep=0",
	    NULL)) {
		h_log_dump(sn.log_g1);
		fail_msg("the first gateway was not asked for the second");
	}
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:80");
	assert_int_equal(r2, 7);
	assert_true(ms < FAST_MS);
}

/* A first gateway line that does not answer is passed over. */
static void
test_alternative_gateway_when_first_is_silent(void **state)
{
	(void)state;
	sn_need_ready();
	assert_int_equal(sn_run_in(sn.ns_c4, "192.0.2.1:1099, " GW4, 1, RUN_MS,
	    NULL, CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	sn_assert_output_has(MARK6);
}

/*
 * python3's asyncio: getaddrinfo in its executor thread, a
 * non-blocking connect its event loop (epoll) waits on, then a line
 * there and back through tests/tools/tcpsrv (echo) on the IPv6-only
 * server.
 */
static const char asyncio_py[] =
"import asyncio\n"
"async def main():\n"
"    r, w = await asyncio.wait_for(\n"
"        asyncio.open_connection('www6.example', 7), 10)\n"
"    w.write(b'socks64-asyncio-line\\n')\n"
"    await w.drain()\n"
"    line = await asyncio.wait_for(r.readline(), 10)\n"
"    assert line == b'socks64-asyncio-line\\n', line\n"
"    print('asyncio ok', w.get_extra_info('peername')[0])\n"
"    w.close()\n"
"    await w.wait_closed()\n"
"asyncio.run(main())\n";

static void
test_python_asyncio_v4_client_to_v6_server(void **state)
{
	(void)state;
	sn_need_ready();
	if (sn.tcp6_proc.pid == 0) {
		print_message("skipped: tools/tcpsrv is not built\n");
		skip();
	}
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(sn.python, "-c", asyncio_py)), 0);
	sn_assert_output_has("asyncio ok");
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:7");
}

/*
 * Firefox ESR, headless, fresh profile, from the IPv4-only client to
 * the IPv6-only server: the page's request must reach the server (its
 * log) and the screenshot be written. Firefox's own background
 * connections (updates, telemetry) are refused by the gateway, which
 * cannot resolve those names here.
 */
static void
test_firefox_headless_v4_client_to_v6_server(void **state)
{
	char home[PATH_MAX], prof[PATH_MAX + 8], shot[PATH_MAX];
	char hv[PATH_MAX + 8];
	char prefs[PATH_MAX + 16];
	struct stat st;
	int r;

	(void)state;
	sn_need_ready();
	if (!sn_have("firefox-esr")) {
		print_message("skipped: firefox-esr is not installed\n");
		skip();
	}
	h_tmp(home, sizeof(home), "ffhome");
	snprintf(prof, sizeof(prof), "%s/profile", home);
	h_tmp(shot, sizeof(shot), "firefox.png");
	mkdir(home, 0700);
	mkdir(prof, 0700);
	/* Fewer background connections; no first-run pages. */
	snprintf(prefs, sizeof(prefs), "%s/user.js", prof);
	h_write_file(prefs,
	    "user_pref(\"app.update.enabled\", false);\n"
	    "user_pref(\"browser.shell.checkDefaultBrowser\", false);\n"
	    "user_pref(\"datareporting.policy.dataSubmissionEnabled\", "
	    "false);\n"
	    "user_pref(\"toolkit.telemetry.enabled\", false);\n"
	    "user_pref(\"network.captive-portal-service.enabled\", false);\n"
	    "user_pref(\"network.connectivity-service.enabled\", false);\n");
	snprintf(hv, sizeof(hv), "HOME=%s", home);
	r = sn_run_in(sn.ns_c4, GW4, 1, FIREFOX_MS, NULL,
	    CMD("env", hv, "MOZ_CRASHREPORTER_DISABLE=1", "firefox-esr",
	    "--headless", "--no-remote", "--profile", prof, "--screenshot",
	    shot, "http://www6.example/" MARKFF ".html"));
	if (!h_log_has(sn.log_h6, "GET /" MARKFF ".html")) {
		h_log_dump(sn.log_h6);
		fail_msg("firefox (exit %d) did not fetch the page", r);
	}
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:80");
	assert_int_equal(stat(shot, &st), 0);
	assert_true(st.st_size > 0);
}

int
main(void)
{
	const struct CMUnitTest all[] = {
		BOTH(test_curl_v4_client_to_v6_server),
		BOTH(test_curl_v4_client_to_v4_server),
		BOTH(test_curl_v6_client_to_v4_server),
		BOTH(test_curl_v6_client_to_v6_server),
		BOTH(test_curl_literal_of_missing_family),
		BOTH(test_wget_v4_client_to_v6_server),
		BOTH(test_python_urllib_v4_client_to_v6_server),
		BOTH(test_git_ls_remote_v4_client_to_v6_server),
		BOTH(test_nbclient_nonblocking_each_wait),
		BOTH(test_unknown_name_and_refused_port_fail_fast),
		BOTH(test_socks64_run_wrapper),
		BOTH(test_linked_program_v4_client_to_v6_server),
		BOTH(test_dig_v4_client_to_v6_dns_server),
		BOTH(test_python_udp_v4_client_to_v6_dns_server),
		BOTH(test_chain_through_v4_only_first_gateway),
		BOTH(test_alternative_gateway_when_first_is_silent),
		BOTH(test_python_asyncio_v4_client_to_v6_server),
		BOTH(test_firefox_headless_v4_client_to_v6_server),
	};

	return sn_main("it_shim_netns", all, sizeof(all) / sizeof(all[0]),
	    NULL, NULL);
}
