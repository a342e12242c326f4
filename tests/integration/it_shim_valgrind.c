/*
 * it_shim_valgrind.c - curl and python3, unchanged, run under valgrind's
 * memcheck with the plain libsocks64 preloaded (issue 6: "the shim
 * preloaded into curl and python under valgrind: clean").
 *
 * The names exist only in the gateway's /etc/hosts (tools/nsrun), so
 * the shim delegates them: curl fetches a page through gatewayd on
 * loopback; python3 does the same with urllib and then walks the other
 * hooks a program reaches (getaddrinfo with a canonical name,
 * gethostbyname, gethostbyaddr and getnameinfo of the fake address,
 * getpeername, and datagrams through a UDP association both connected
 * and not). Every error record of valgrind whose stack passes through
 * the library fails the test; errors elsewhere (libc, the interpreter)
 * are shown but are not ours to fix. Root only (private namespace);
 * skipped without valgrind, and under a sanitizer build when no plain
 * library exists (valgrind cannot run a sanitizer runtime).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "harness_shim.h"

#define MARK		"socks64-valgrind-marker-5e21"
#define NAME		"www.vg.test"
#define VG_EXIT		99
#define CURL_MS		40000
#define PYTHON_MS	60000

static struct h_gw	gw;
static struct h_proc	web, echo;
static struct hs_libs	libs;
static uint16_t		web_port, echo_port;
static char		valgrind[PATH_MAX], python[PATH_MAX];
static char		why_not[128];

static int
find_prog(const char *const *cands, char *out, size_t len)
{
	for (; *cands != NULL; cands++)
		if (access(*cands, X_OK) == 0) {
			snprintf(out, len, "%s", *cands);
			return 0;
		}
	return -1;
}

static int
setup(void **state)
{
	static const char *const vgs[] = { "/usr/bin/valgrind",
	    "/usr/local/bin/valgrind", NULL };
	static const char *const pys[] = { "/usr/bin/python3",
	    "/usr/local/bin/python3", NULL };
	char log[PATH_MAX];

	(void)state;
	hs_libs_find(&libs);
	if (!h_names()) {
		snprintf(why_not, sizeof(why_not), "needs root (a private "
		    "namespace)");
		return 0;
	}
	if (find_prog(vgs, valgrind, sizeof(valgrind)) == -1) {
		snprintf(why_not, sizeof(why_not), "valgrind is not "
		    "installed");
		return 0;
	}
	if (libs.plain[0] == '\0') {
		snprintf(why_not, sizeof(why_not), "no plain "
		    "build/libsocks64.so for valgrind");
		return 0;
	}
	(void)find_prog(pys, python, sizeof(python));
	h_tmp(log, sizeof(log), "web.log");
	if ((web_port = hs_tool_start(&web, log, "tcpsrv", "-a", "127.0.0.1",
	    "-m", "http", "-b", MARK, NULL)) == 0)
		return -1;
	h_tmp(log, sizeof(log), "echo.log");
	if ((echo_port = hs_tool_start(&echo, log, "udpecho", "-a",
	    "127.0.0.1", "-x", "echo:", NULL)) == 0)
		return -1;
	if (hs_gw_start(&gw, "127.0.0.1 localhost\n::1 localhost\n"
	    "127.0.0.1 " NAME "\n") == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	int rc = gw.proc.pid > 0 ? h_gw_stop(&gw) : 0;

	(void)state;
	h_proc_stop(&web);
	h_proc_stop(&echo);
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

/*
 * Whether one error record of valgrind's log passes through the shim:
 * a frame in a file of our source tree (full paths: --fullpath-after=)
 * or, without debug information, in the library itself.
 */
static int
record_is_ours(const char *rec, size_t len)
{
	char src[PATH_MAX + 8];
	const char *needles[] = { src, "libsocks64", "/src/lib/" };
	size_t i;

	snprintf(src, sizeof(src), "%s/src/", h_src_dir());
	for (i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		if (memmem(rec, len, needles[i], strlen(needles[i])) != NULL)
			return 1;
	return 0;
}

/*
 * Counts the error records of a valgrind log, and those that are ours.
 * Records are the blocks between valgrind's empty "==PID== " lines;
 * those with a stack ("   at 0x") are errors, the rest its banners.
 */
static void
count_errors(const char *log, int *all, int *ours)
{
	char *text = h_read_file(log, NULL), *line, *next, *start;
	size_t len;
	int stack = 0;

	*all = *ours = 0;
	if (text == NULL)
		return;
	for (line = start = text; ; line = next) {
		len = strcspn(line, "\n");
		next = line + len + (line[len] == '\n');
		if (len == 0 || (strncmp(line, "==", 2) == 0 &&
		    strspn(line, "=0123456789 \t") >= len)) {
			if (stack) {
				(*all)++;
				*ours += record_is_ours(start,
				    (size_t)(line - start));
			}
			stack = 0;
			start = next;
		} else if (memmem(line, len, "   at 0x", 8) != NULL)
			stack = 1;
		if (*next == '\0')
			break;
	}
	if (stack) {
		(*all)++;
		*ours += record_is_ours(start, strlen(start));
	}
	free(text);
}

/*
 * Runs cmd under valgrind with the plain library preloaded; asserts
 * that it succeeded (exit 0, or VG_EXIT for errors that are not ours)
 * and that no error of valgrind's is ours. out: its stdout.
 */
static void
run_valgrind(const char *tag, int timeout_ms, char *out, size_t outlen,
    const char *const *cmd)
{
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct hs_env env;
	char log[PATH_MAX], logopt[PATH_MAX + 16], errp[PATH_MAX];
	char name[64], *argv[24];
	int64_t ms;
	int n = 0, r, all, ours;

	snprintf(name, sizeof(name), "vg-%s.log", tag);
	h_tmp(log, sizeof(log), name);
	snprintf(name, sizeof(name), "vg-%s.out", tag);
	h_tmp(out, outlen, name);
	snprintf(name, sizeof(name), "vg-%s.err", tag);
	h_tmp(errp, sizeof(errp), name);
	snprintf(logopt, sizeof(logopt), "--log-file=%s", log);
	argv[n++] = valgrind;
	argv[n++] = "--error-exitcode=99";
	argv[n++] = "--leak-check=no";
	argv[n++] = "--fullpath-after=";
	argv[n++] = "--num-callers=30";
	argv[n++] = logopt;
	while (*cmd != NULL && n < 23)
		argv[n++] = (char *)*cmd++;
	argv[n] = NULL;
	assert_int_equal(hs_env(&env, &o, &libs, 1, gw.port), 0);
	o.out_path = out;
	o.err_path = errp;
	r = hs_run(argv, &o, timeout_ms, &ms);
	count_errors(log, &all, &ours);
	print_message("%s under valgrind: exit %d in %lld ms, %d error "
	    "record(s), %d through libsocks64\n", tag, r, (long long)ms, all,
	    ours);
	if (ours != 0 || (r != 0 && r != VG_EXIT)) {
		h_log_dump(log);
		h_log_dump(out);
		h_log_dump(errp);
		h_log_dump(gw.log);
		fail_msg("%s under valgrind: exit %d, %d error(s) in "
		    "libsocks64", tag, r, ours);
	}
	if (r == VG_EXIT) {
		print_message("errors outside libsocks64 (not failed):\n");
		h_log_dump(log);
	}
}

static void
assert_file_has(const char *path, const char *needle)
{
	if (!h_log_has(path, needle)) {
		h_log_dump(path);
		fail_msg("%s does not hold \"%s\"", path, needle);
	}
}

static void
test_curl_under_valgrind(void **state)
{
	char url[128], out[PATH_MAX];
	const char *cmd[] = { "curl", "-sS", "-m", "30", url, NULL };

	(void)state;
	need_ready();
	snprintf(url, sizeof(url), "http://" NAME ":%u/", web_port);
	run_valgrind("curl", CURL_MS, out, sizeof(out), cmd);
	assert_file_has(out, MARK);
	assert_true(h_log_line(gw.log, 3000, "dest=" NAME, "rep=0", NULL));
}

/* Each hook python reaches, with the answer checked; one line each. */
static const char py_script[] =
"import socket, sys, urllib.request as u\n"
"name, web, echo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])\n"
"body = u.urlopen('http://%s:%d/' % (name, web), timeout=30).read()\n"
"print('urllib', body.decode().strip())\n"
"ai = socket.getaddrinfo(name, web, socket.AF_INET, socket.SOCK_STREAM,"
" 0, socket.AI_CANONNAME)\n"
"fake = ai[0][4][0]\n"
"assert ai[0][3] == name, ai\n"
"assert int(fake.split('.')[0]) >= 240, fake\n"
"assert socket.gethostbyname(name) == fake\n"
"assert socket.gethostbyaddr(fake)[0] == name\n"
"assert socket.getnameinfo((fake, web), socket.NI_NAMEREQD)[0] == name\n"
"print('names', fake)\n"
"c = socket.create_connection((name, web), timeout=30)\n"
"assert c.getpeername()[0] in (fake, '::ffff:' + fake) or"
" c.getpeername()[0].startswith('64:ff9b:1:'), c.getpeername()\n"
"c.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n')\n"
"got = b''\n"
"while True:\n"
"    d = c.recv(4096)\n"
"    if not d: break\n"
"    got += d\n"
"assert b'" MARK "' in got, got\n"
"c.close()\n"
"print('stream ok')\n"
"e = socket.getaddrinfo(name, echo, socket.AF_INET, socket.SOCK_DGRAM)[0]\n"
"s = socket.socket(e[0], socket.SOCK_DGRAM)\n"
"s.settimeout(10)\n"
"for i in range(3):\n"
"    s.sendto(b'ping%d' % i, e[4])\n"
"    r, src = s.recvfrom(64)\n"
"    assert r == b'echo:ping%d' % i and src == e[4], (r, src)\n"
"s.close()\n"
"k = socket.socket(e[0], socket.SOCK_DGRAM)\n"
"k.settimeout(10)\n"
"k.connect(e[4])\n"
"k.send(b'pong')\n"
"assert k.recv(64) == b'echo:pong'\n"
"k.close()\n"
"print('datagrams ok')\n";

static void
test_python_under_valgrind(void **state)
{
	char out[PATH_MAX], web_s[16], echo_s[16];
	const char *cmd[] = { python, "-c", py_script, NAME, web_s, echo_s,
	    NULL };

	(void)state;
	need_ready();
	if (python[0] == '\0')
		skip();
	snprintf(web_s, sizeof(web_s), "%u", web_port);
	snprintf(echo_s, sizeof(echo_s), "%u", echo_port);
	run_valgrind("python3", PYTHON_MS, out, sizeof(out), cmd);
	assert_file_has(out, MARK);
	assert_file_has(out, "names 24");
	assert_file_has(out, "stream ok");
	assert_file_has(out, "datagrams ok");
	assert_true(h_log_line(gw.log, 3000, "cmd=udp-associate", "rep=0",
	    NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curl_under_valgrind),
		cmocka_unit_test(test_python_under_valgrind),
	};

	h_init();
	return cmocka_run_group_tests(tests, setup, teardown);
}
