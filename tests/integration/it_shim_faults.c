/*
 * it_shim_faults.c - libsocks64 preloaded into programs under pressure
 * and faults (issue 6), against gatewayd on loopback:
 *
 * - 64 threads resolving and connecting at once while the program forks
 *   and execs (tests/tools/mtconnect): no deadlock (the run is bounded),
 *   and every connection reaches the destination of its own name. The
 *   gateway's /etc/hosts (tools/nsrun) maps nII.mt.test to 127.0.1.II+1,
 *   names the program's own hosts file does not hold, so the shim
 *   delegates them; the destination, tcpsrv on 0.0.0.0, answers with the
 *   local address each connection reached.
 * - A non-blocking connect written to at once, before it is writable,
 *   by writev, sendfile, splice or pwritev2, and read with glibc's
 *   fortified read/recv/recvfrom, readv or preadv2 (tests/tools/
 *   pendclient): the echo is exactly what the program sent.
 * - getaddrinfo_a (tests/tools/gaiaclient): the preloaded hook answers
 *   with a fake address and the gateway is asked for the name.
 * - The gateway killed in the middle of a transfer: curl and python3,
 *   fetching a large body the destination sends at a steady pace, see an
 *   error soon after gatewayd dies (measured; asserted within a generous
 *   bound against a loaded machine), not a hang.
 *
 * Root only (private namespace). Under a sanitizer build mtconnect and
 * python3 take this build's library with its runtime; curl takes the
 * plain build's, or is skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_shim.h"

#define NTHREADS	64
#define MT_FORKS	"48"		/* each a child that execs */
#define MT_SECONDS	60		/* mtconnect's own alarm */
#define MT_MS		90000		/* and ours on top of it */
#define KILL_BOUND_MS	3000		/* "a second", with room */
#define BIG_NAME	"big.mt.test"

static struct hs_libs	libs;
static struct h_gw	gw;
static struct h_proc	web;
static uint16_t		web_port;
static char		python[64];
static char		why_not[128];

static int
setup(void **state)
{
	char hosts[8192], log[PATH_MAX];
	size_t off;
	int i;

	(void)state;
	hs_libs_find(&libs);
	if (!h_names()) {
		snprintf(why_not, sizeof(why_not), "needs root (a private "
		    "namespace)");
		return 0;
	}
	if (access("/usr/bin/python3", X_OK) == 0)
		snprintf(python, sizeof(python), "/usr/bin/python3");
	off = (size_t)snprintf(hosts, sizeof(hosts), "127.0.0.1 localhost\n"
	    "::1 localhost\n");
	for (i = 0; i < NTHREADS; i++)
		off += (size_t)snprintf(hosts + off, sizeof(hosts) - off,
		    "127.0.1.%d n%02d.mt.test\n", i + 1, i);
	h_tmp(log, sizeof(log), "web.log");
	if ((web_port = hs_tool_start(&web, log, "tcpsrv", "-a", "0.0.0.0",
	    "-m", "http", NULL)) == 0 || hs_gw_start(&gw, hosts) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	int rc = gw.proc.pid > 0 ? h_gw_stop(&gw) : 0;

	(void)state;
	h_proc_stop(&web);
	return rc;
}

static void
need_ready(void)
{
	if (why_not[0] != '\0') {
		print_message("skipped: %s\n", why_not);
		skip();
	}
}

/* The last line of a file holding needle, into buf ("" if none). */
static void
last_line_with(const char *path, const char *needle, char *buf, size_t len)
{
	char *text = h_read_file(path, NULL), *p, *line = NULL;

	buf[0] = '\0';
	if (text == NULL)
		return;
	for (p = text; (p = strstr(p, needle)) != NULL; p++)
		line = p;
	if (line != NULL)
		snprintf(buf, len, "%.*s", (int)strcspn(line, "\n"), line);
	free(text);
}

static void
test_64_threads_connect_while_forking(void **state)
{
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct hs_env env;
	char tool[PATH_MAX], port[16], secs[16], out[PATH_MAX];
	char errp[PATH_MAX], line[256], dest[64], via[64];
	char threads[16];
	const char *san = getenv("SANITIZE");
	char *argv[] = { tool, "-p", port, "-t", threads, "-r", "3", "-f",
	    MT_FORKS, "-T", secs, NULL, NULL };
	int64_t ms;
	int r, i;

	(void)state;
	need_ready();
	h_bin(tool, sizeof(tool), "tools/mtconnect");
	if (access(tool, X_OK) != 0)
		fail_msg("tools/mtconnect is not built");
	snprintf(port, sizeof(port), "%u", web_port);
	snprintf(threads, sizeof(threads), "%d", NTHREADS);
	snprintf(secs, sizeof(secs), "%d", MT_SECONDS);
	/*
	 * A sanitizer's allocator may be left locked in the child of a
	 * multi-threaded fork: its children only exec (mtconnect -E).
	 */
	if (san != NULL && *san != '\0')
		argv[11] = "-E";
	assert_int_equal(hs_env(&env, &o, &libs, 0, gw.port), 0);
	o.out_path = h_tmp(out, sizeof(out), "mtconnect.out");
	o.err_path = h_tmp(errp, sizeof(errp), "mtconnect.err");
	r = hs_run(argv, &o, MT_MS, &ms);
	last_line_with(out, "summary", line, sizeof(line));
	print_message("mtconnect: exit %d in %lld ms: %s\n", r,
	    (long long)ms, line);
	if (r != 0) {
		h_log_dump(errp);
		/* Only the failures: the successes run into thousands. */
		last_line_with(out, "bad ", line, sizeof(line));
		print_message("last failure: %s\n", line);
		fail_msg("mtconnect exit %d (%s)", r, r == 128 + SIGALRM ?
		    "hung: its alarm fired" : r == -1 ? "hung: killed" :
		    "a connection failed or went astray");
	}
	assert_non_null(strstr(line, "bad=0"));
	/* The gateway's side: each name was dialled at its own address. */
	for (i = 0; i < NTHREADS; i++) {
		snprintf(dest, sizeof(dest), "dest=n%02d.mt.test:%u", i,
		    web_port);
		snprintf(via, sizeof(via), "via=127.0.1.%d:%u", i + 1,
		    web_port);
		if (!h_log_line(gw.log, 2000, dest, via, NULL))
			fail_msg("gateway log: no %s %s", dest, via);
	}
}

/* ------------------------------------------------------------------ */
/* data calls on a socket still connecting                              */

/*
 * tools/pendclient writes its payload the moment connect() returns
 * EINPROGRESS, by writev, sendfile, splice or pwritev2, and reads the
 * echo with glibc's fortified read, recv and recvfrom (__read_chk,
 * __recv_chk, __recvfrom_chk: it is built with _FORTIFY_SOURCE), readv
 * or preadv2. The echo must be the payload, byte for byte: none of the
 * program's bytes went into the SOCKS exchange (the gateway would have
 * refused it, or the echo would lack them) and none of the gateway's
 * reached the program.
 */
static void
test_pending_data_calls_exact(void **state)
{
	static const char *const ways[][2] = {
		{ "writev", "read" },
		{ "sendfile", "recv" },
		{ "splice", "recvfrom" },
		{ "pwritev2", "readv" },
		{ "writev", "preadv2" },
	};
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct h_proc echo;
	struct hs_env env;
	char tool[PATH_MAX], port[16], out[PATH_MAX], errp[PATH_MAX];
	char log[PATH_MAX], line[128], dest[64];
	char *argv[] = { tool, "-w", NULL, "-r", NULL, "-n", "200000",
	    "n00.mt.test", port, NULL };
	uint16_t echo_port;
	int64_t ms;
	size_t i;
	int r;

	(void)state;
	need_ready();
	h_bin(tool, sizeof(tool), "tools/pendclient");
	if (access(tool, X_OK) != 0)
		fail_msg("tools/pendclient is not built");
	memset(&echo, 0, sizeof(echo));
	h_tmp(log, sizeof(log), "echo.log");
	echo_port = hs_tool_start(&echo, log, "tcpsrv", "-a", "0.0.0.0",
	    "-m", "echo", NULL);
	assert_int_not_equal(echo_port, 0);
	snprintf(port, sizeof(port), "%u", echo_port);
	for (i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		argv[2] = (char *)ways[i][0];
		argv[4] = (char *)ways[i][1];
		memset(&o, 0, sizeof(o));
		o.listen_fd = -1;
		assert_int_equal(hs_env(&env, &o, &libs, 0, gw.port), 0);
		o.out_path = h_tmp(out, sizeof(out), "pendclient.out");
		o.err_path = h_tmp(errp, sizeof(errp), "pendclient.err");
		r = hs_run(argv, &o, 60000, &ms);
		last_line_with(out, "eagain", line, sizeof(line));
		print_message("pendclient -w %s -r %s: exit %d in %lld ms, "
		    "%s\n", ways[i][0], ways[i][1], r, (long long)ms, line);
		if (r != 0) {
			h_log_dump(errp);
			h_proc_stop(&echo);
			fail_msg("pendclient -w %s -r %s: exit %d (%s)",
			    ways[i][0], ways[i][1], r, r == 3 ? "the echo "
			    "differs" : r == 4 ? "timeout" : "failed");
		}
	}
	h_proc_stop(&echo);
	snprintf(dest, sizeof(dest), "dest=n00.mt.test:%u", echo_port);
	if (!h_log_line(gw.log, 2000, dest, NULL))
		fail_msg("gateway log: no %s", dest);
}

/* ------------------------------------------------------------------ */
/* getaddrinfo_a                                                        */

/*
 * tools/gaiaclient, linked the ordinary way (getaddrinfo_a@GLIBC_2.34
 * from libc), resolves n01.mt.test with getaddrinfo_a (GAI_NOWAIT and a
 * signal, then GAI_WAIT) and has its line echoed: the preloaded hook
 * answered with a fake address, so the gateway was asked for the name.
 */
static void
test_getaddrinfo_a_preloaded(void **state)
{
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct h_proc echo;
	struct hs_env env;
	char tool[PATH_MAX], port[16], out[PATH_MAX], errp[PATH_MAX];
	char log[PATH_MAX], dest[64];
	char *argv[] = { tool, "n01.mt.test", port, NULL };
	uint16_t echo_port;
	int64_t ms;
	int r;

	(void)state;
	need_ready();
	h_bin(tool, sizeof(tool), "tools/gaiaclient");
	if (access(tool, X_OK) != 0)
		fail_msg("tools/gaiaclient is not built");
	memset(&echo, 0, sizeof(echo));
	h_tmp(log, sizeof(log), "gaia-echo.log");
	echo_port = hs_tool_start(&echo, log, "tcpsrv", "-a", "0.0.0.0",
	    "-m", "echo", NULL);
	assert_int_not_equal(echo_port, 0);
	snprintf(port, sizeof(port), "%u", echo_port);
	assert_int_equal(hs_env(&env, &o, &libs, 0, gw.port), 0);
	o.out_path = h_tmp(out, sizeof(out), "gaiaclient.out");
	o.err_path = h_tmp(errp, sizeof(errp), "gaiaclient.err");
	r = hs_run(argv, &o, 60000, &ms);
	h_proc_stop(&echo);
	if (r != 0) {
		h_log_dump(errp);
		fail_msg("gaiaclient: exit %d", r);
	}
	snprintf(dest, sizeof(dest), "dest=n01.mt.test:%u", echo_port);
	if (!h_log_line(gw.log, 2000, dest, NULL))
		fail_msg("gateway log: no %s", dest);
}

/* ------------------------------------------------------------------ */
/* the gateway killed mid-transfer                                      */

/*
 * A destination that announces a 1 GiB body and sends it at about
 * 8 MB/s, so a transfer is always under way when the gateway dies.
 * It counts what it sent; it stops when its peer goes or after 60 s.
 */
struct slow_web {
	int		lfd;
	uint16_t	port;
	atomic_size_t	sent;
	atomic_int	stop;
	pthread_t	thread;
};

static void *
slow_web_serve(void *arg)
{
	struct slow_web *w = arg;
	static const char head[] = "HTTP/1.0 200 OK\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Length: 1073741824\r\nConnection: close\r\n\r\n";
	struct timeval tv = { 1, 0 };
	struct pollfd pfd = { .fd = w->lfd, .events = POLLIN };
	static char block[16384];
	char req[4096];
	size_t got = 0;
	int64_t end = h_now_ms() + 60000;
	ssize_t n;
	int fd;

	if (poll(&pfd, 1, 20000) != 1 ||
	    (fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1 &&
	    (n = recv(fd, req + got, sizeof(req) - 1 - got, 0)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	memset(block, 'z', sizeof(block));
	if (send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL) > 0)
		while (!atomic_load(&w->stop) && h_now_ms() < end) {
			n = send(fd, block, sizeof(block), MSG_NOSIGNAL);
			if (n <= 0 && !(n == -1 && errno == EAGAIN))
				break;
			if (n > 0)
				atomic_fetch_add(&w->sent, (size_t)n);
			h_sleep_ms(2);
		}
	close(fd);
	return NULL;
}

static int
slow_web_start(struct slow_web *w)
{
	memset(w, 0, sizeof(*w));
	if ((w->lfd = h_listen("127.0.0.1", &w->port, 8)) == -1)
		return -1;
	if (pthread_create(&w->thread, NULL, slow_web_serve, w) != 0) {
		close(w->lfd);
		return -1;
	}
	return 0;
}

static void
slow_web_stop(struct slow_web *w)
{
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	close(w->lfd);
}

/*
 * Runs cmd (with {URL} standing for the page) preloaded against a
 * gateway of its own, kills the gateway once 256 KiB reached the
 * destination's socket, and measures how long the program takes to
 * end. It must end with an error within KILL_BOUND_MS.
 */
static void
kill_gateway_under(const char *tag, int third_party, const char *const *cmd)
{
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct slow_web w;
	struct hs_env env;
	struct h_gw g;
	struct h_proc p;
	char url[128], out[PATH_MAX], errp[PATH_MAX], name[64];
	char *argv[16];
	int64_t end, t0, ms;
	int n = 0, code;

	need_ready();
	memset(&g, 0, sizeof(g));
	assert_int_equal(slow_web_start(&w), 0);
	if (hs_gw_start(&g, "127.0.0.1 localhost\n127.0.0.1 " BIG_NAME
	    "\n") == -1) {
		slow_web_stop(&w);
		fail_msg("gatewayd did not start");
	}
	if (hs_env(&env, &o, &libs, third_party, g.port) == -1) {
		h_gw_stop(&g);
		slow_web_stop(&w);
		print_message("skipped: no library %s can take (a sanitizer "
		    "build without a plain build/)\n", tag);
		skip();
	}
	snprintf(url, sizeof(url), "http://" BIG_NAME ":%u/", w.port);
	for (; *cmd != NULL && n < 15; cmd++)
		argv[n++] = strcmp(*cmd, "{URL}") == 0 ? url : (char *)*cmd;
	argv[n] = NULL;
	snprintf(name, sizeof(name), "kill-%s.out", tag);
	o.out_path = h_tmp(out, sizeof(out), name);
	snprintf(name, sizeof(name), "kill-%s.err", tag);
	o.err_path = h_tmp(errp, sizeof(errp), name);
	assert_int_equal(h_spawn(&p, argv, &o), 0);
	for (end = h_now_ms() + 15000; h_now_ms() < end &&
	    atomic_load(&w.sent) < 256 * 1024 && h_proc_alive(&p); )
		h_sleep_ms(10);
	if (atomic_load(&w.sent) < 256 * 1024) {
		h_proc_stop(&p);
		h_gw_stop(&g);
		slow_web_stop(&w);
		h_log_dump(errp);
		h_log_dump(g.log);
		fail_msg("%s: no transfer under way (%zu bytes sent)", tag,
		    atomic_load(&w.sent));
	}
	t0 = h_now_ms();
	kill(g.proc.pid, SIGKILL);
	code = h_proc_wait(&p, 10000);
	ms = h_now_ms() - t0;
	if (code == -1)
		h_proc_stop(&p);
	h_proc_wait(&g.proc, H_STOP_MS);
	h_proc_stop(&g.proc);
	slow_web_stop(&w);
	print_message("%s: gateway killed after %zu bytes; the program "
	    "ended %lld ms later, status 0x%x\n", tag, atomic_load(&w.sent),
	    (long long)ms, p.status);
	if (code == -1)
		fail_msg("%s still ran 10 s after the gateway died", tag);
	if (WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0) {
		h_log_dump(errp);
		fail_msg("%s exited 0: the cut transfer went unnoticed", tag);
	}
	h_log_dump(errp);
	if (ms > KILL_BOUND_MS)
		fail_msg("%s took %lld ms to see the gateway gone", tag,
		    (long long)ms);
}

static void
test_gateway_killed_mid_transfer_curl(void **state)
{
	const char *cmd[] = { "/usr/bin/curl", "-sS", "-o", "/dev/null",
	    "-m", "60", "{URL}", NULL };

	(void)state;
	if (access(cmd[0], X_OK) != 0)
		skip();
	kill_gateway_under("curl", 1, cmd);
}

static void
test_gateway_killed_mid_transfer_python(void **state)
{
	const char *cmd[] = { python, "-c",
	    "import sys, urllib.request as u\n"
	    "r = u.urlopen(sys.argv[1], timeout=60)\n"
	    "n = 0\n"
	    "while True:\n"
	    "    b = r.read(65536)\n"
	    "    if not b: break\n"
	    "    n += len(b)\n"
	    "want = int(r.headers['Content-Length'])\n"
	    "if n != want: sys.exit('cut short: %d of %d' % (n, want))\n"
	    "print('read', n)\n", "{URL}", NULL };

	(void)state;
	if (python[0] == '\0')
		skip();
	kill_gateway_under("python3", 0, cmd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_64_threads_connect_while_forking),
		cmocka_unit_test(test_pending_data_calls_exact),
		cmocka_unit_test(test_getaddrinfo_a_preloaded),
		cmocka_unit_test(test_gateway_killed_mid_transfer_curl),
		cmocka_unit_test(test_gateway_killed_mid_transfer_python),
	};

	h_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
