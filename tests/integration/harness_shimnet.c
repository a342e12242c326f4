/*
 * harness_shimnet.c - the network namespaces of the shim's end to end
 * tests (harness_shimnet.h), across an IPv4/IPv6 boundary (RFC 3089
 * section 2's four cases):
 *
 *   NS-c4 (IPv4 only: IPv6 disabled)   192.0.2.2 -------.
 *   NS-c6 (IPv6 only)           2001:db8:c6::2 -------. |
 *                                                     | |
 *   NS-gw (dual stack, forwarding off, gatewayd on     | |
 *         192.0.2.1:1080 and [2001:db8:c6::1]:1080) --'-'
 *        |                    |
 *   NS-s4 198.51.100.2     NS-s6 2001:db8:5::2
 *   (IPv4 only, www4.example)   (IPv6 only, www6.example)
 *
 * NS is s64s<our pid>, so two runs on one machine (or two of the tests
 * using this file, run at once) do not meet.
 *
 * The server names exist only in the gateway's namespace (its private
 * /etc/hosts, with a resolv.conf pointing at 127.0.0.1 so no query could
 * leave); the clients' resolv.conf points at their own loopback too.
 * The IPv6-only server runs an HTTP server (a marker page and a
 * dumb-HTTP git repository), tests/tools/dnsd, udpecho and tcpsrv; the
 * IPv4-only one an HTTP server. The namespaces are made at the start
 * (those a dead run left removed first) and always removed at the end,
 * also on exit() and SIGTERM: the handlers for that are installed by
 * sn_main() alone, so the other tests, which link this file too, get
 * none. Needs root; skipped otherwise.
 *
 * Under a sanitizer build the library carries the sanitizer runtime,
 * which must come first in LD_PRELOAD. curl, wget, git (through
 * git-remote-http, which is curl) and Firefox do not run with the ASan
 * runtime preloaded (curl and wget deadlock in setlocale, Firefox's own
 * allocator crashes), so they use the plain build's library when it
 * exists (CI builds it first; SOCKS64_PLAIN_BUILD names another plain
 * build tree than build/) and are skipped otherwise; python3, nbclient,
 * ssh and git over ssh (git itself, sh and ssh) run with the sanitized
 * library.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_shimnet.h"

struct shimnet	sn;

static pid_t	main_pid;
static char	td_path[PATH_MAX];	/* the teardown script, once written */
static volatile sig_atomic_t made;	/* namespaces may exist: tear down */
/* The test's own servers (sn_main), or NULL. */
static int	(*more_setup)(void);
static void	(*more_teardown)(void);

/* The topology, as the shell script an operator would type. */
static const char setup_script[] =
"set -e\n"
"for n in c4 c6 gw s4 s6; do ip netns add $NS-$n;"
" ip -n $NS-$n link set lo up; done\n"
"for n in c4 c6 s4 s6; do\n"
"  ip link add $NS-$n type veth peer name $NS-g$n\n"
"  ip link set $NS-$n netns $NS-$n\n"
"  ip link set $NS-g$n netns $NS-gw\n"
"done\n"
"for n in c4 s4; do ip netns exec $NS-$n sysctl -qw"
" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1;"
" done\n"
"ip netns exec $NS-gw sysctl -qw net.ipv4.ip_forward=0"
" net.ipv6.conf.all.forwarding=0\n"
"ip -n $NS-c4 addr add 192.0.2.2/24 dev $NS-c4\n"
"ip -n $NS-gw addr add 192.0.2.1/24 dev $NS-gc4\n"
"ip -n $NS-s4 addr add 198.51.100.2/24 dev $NS-s4\n"
"ip -n $NS-gw addr add 198.51.100.1/24 dev $NS-gs4\n"
"ip -n $NS-c6 addr add 2001:db8:c6::2/64 dev $NS-c6 nodad\n"
"ip -n $NS-gw addr add 2001:db8:c6::1/64 dev $NS-gc6 nodad\n"
"ip -n $NS-s6 addr add 2001:db8:5::2/64 dev $NS-s6 nodad\n"
"ip -n $NS-gw addr add 2001:db8:5::1/64 dev $NS-gs6 nodad\n"
"for n in c4 c6 s4 s6; do ip -n $NS-$n link set $NS-$n up;"
" ip -n $NS-gw link set $NS-g$n up; done\n"
"for n in c4 c6 gw; do mkdir -p /etc/netns/$NS-$n;"
" printf 'nameserver 127.0.0.1\\n' > /etc/netns/$NS-$n/resolv.conf;"
" printf '127.0.0.1 localhost\\n::1 localhost\\n'"
" > /etc/netns/$NS-$n/hosts; done\n"
"printf '2001:db8:5::2 www6.example\\n198.51.100.2 www4.example\\n"
"2001:db8:5::2 dns6.example\\n'"
" >> /etc/netns/$NS-gw/hosts\n";

/*
 * Removes this run's namespaces ($NS-*: processes left in them, which
 * only this run made, the namespaces, veth ends still in the host's
 * namespace after a setup that failed half-way, the /etc/netns files),
 * and those a run that died left behind: a prefix s64s<pid> whose
 * process is gone or is no longer it_shim_netns or it_shim_ssh (the
 * tests that use this file). Another live run's stay.
 * Run before setup, at teardown, at exit and on SIGTERM/SIGINT/SIGHUP.
 */
static const char teardown_script[] =
"ours() { [ \"$1\" = \"$NS\" ] && return 0;"
" case \"$(cat /proc/${1#s64s}/comm 2>/dev/null)\" in"
" it_shim_netns|it_shim_ssh) return 1;; esac; return 0; }\n"
"for n in $(ip netns list |"
" sed -n 's/^\\(s64s[0-9][0-9]*-[a-z0-9]*\\).*/\\1/p'); do\n"
"  ours ${n%%-*} || continue\n"
"  for p in $(ip netns pids $n 2>/dev/null); do kill -9 $p; done\n"
"  ip netns del $n\n"
"done\n"
"for l in $(ip -o link show |"
" sed -n 's/^[0-9]*: \\(s64s[0-9][0-9]*-[a-z0-9]*\\)[@:].*/\\1/p'); do\n"
"  ours ${l%%-*} && ip link del $l 2>/dev/null\n"
"done\n"
"for d in /etc/netns/s64s[0-9]*-*; do\n"
"  [ -e \"$d\" ] || continue\n"
"  n=${d#/etc/netns/}; ours ${n%%-*} && rm -rf \"$d\"\n"
"done\n"
"exit 0\n";

/* The script text after "NS=<this run's prefix>", from the tmp dir. */
static int
run_script(const char *name, const char *text)
{
	char path[PATH_MAX];
	char *argv[] = { "/bin/sh", path, NULL };

	h_tmp(path, sizeof(path), name);
	if (h_write_file(path, "NS=%s\n%s", sn.ns_prefix, text) == -1)
		return -1;
	return h_run(argv, sn.out_path, sn.err_path, 20000);
}

/*
 * The namespaces must not outlive a run that ends early: exit() (an
 * error path of the harness), or the SIGTERM of run.sh's timeout. The
 * handler uses only async-signal-safe calls on the script written
 * before the first namespace was made, then dies of the signal.
 */
static void
teardown_now(void)
{
	char *argv[] = { "/bin/sh", td_path, NULL };
	pid_t pid;

	if (!made || getpid() != main_pid)
		return;
	made = 0;
	if ((pid = fork()) == 0) {
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
}

static void
teardown_on_signal(int sig)
{
	int saved = errno;

	teardown_now();
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/*
 * This run's prefix, s64s<pid>: runs at once on one machine (a CI run
 * and a developer's) each make and remove only their own. The longest
 * interface name, $NS-gc4, must fit IFNAMSIZ - 1 = 15 bytes.
 */
static int
names_init(void)
{
	main_pid = getpid();
	snprintf(sn.ns_prefix, sizeof(sn.ns_prefix), "s64s%d", (int)main_pid);
	snprintf(sn.ns_c4, sizeof(sn.ns_c4), "%s-c4", sn.ns_prefix);
	snprintf(sn.ns_c6, sizeof(sn.ns_c6), "%s-c6", sn.ns_prefix);
	snprintf(sn.ns_gw, sizeof(sn.ns_gw), "%s-gw", sn.ns_prefix);
	snprintf(sn.ns_s4, sizeof(sn.ns_s4), "%s-s4", sn.ns_prefix);
	snprintf(sn.ns_s6, sizeof(sn.ns_s6), "%s-s6", sn.ns_prefix);
	return strlen(sn.ns_prefix) + strlen("-gc4") <= 15 ? 0 : -1;
}

static int
find_cmd(const char *const *cands, char *out, size_t len)
{
	for (; *cands != NULL; cands++)
		if (access(*cands, X_OK) == 0) {
			snprintf(out, len, "%s", *cands);
			return 0;
		}
	return -1;
}

/* Whether a program is installed (on PATH). */
int
sn_have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

/*
 * The sanitizer runtime of this build (it must be first in LD_PRELOAD),
 * and a library that third-party programs can take.
 */
static void
pick_libraries(void)
{
	const char *san = getenv("SANITIZE");
	const char *rt = NULL, *plain;
	char cmd[128];
	FILE *p;

	h_bin(sn.lib_own, sizeof(sn.lib_own), "libsocks64.so");
	snprintf(sn.lib_plain, sizeof(sn.lib_plain), "%s", sn.lib_own);
	sn.san_rt[0] = '\0';
	if (san == NULL || *san == '\0')
		return;
	rt = strcmp(san, "thread") == 0 ? "libtsan.so" : "libasan.so";
	snprintf(cmd, sizeof(cmd), "cc -print-file-name=%s", rt);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(sn.san_rt, sizeof(sn.san_rt), p) == NULL)
			sn.san_rt[0] = '\0';
		sn.san_rt[strcspn(sn.san_rt, "\n")] = '\0';
		pclose(p);
	}
	/* SOCKS64_PLAIN_BUILD: a plain build tree other than build/. */
	if ((plain = getenv("SOCKS64_PLAIN_BUILD")) != NULL && *plain != '\0')
		snprintf(sn.lib_plain, sizeof(sn.lib_plain), "%s/libsocks64.so",
		    plain);
	else
		h_srcpath(sn.lib_plain, sizeof(sn.lib_plain),
		    "build/libsocks64.so");
	if (access(sn.lib_plain, R_OK) != 0)
		sn.lib_plain[0] = '\0';
}

static int
wait_http(const char *ns, const char *url)
{
	char *argv[] = { sn.ip_cmd, "netns", "exec", (char *)ns, "curl", "-s",
	    "-o", "/dev/null", "-m", "1", (char *)url, NULL };
	int64_t end = h_now_ms() + 10000;

	while (h_now_ms() < end) {
		if (h_run(argv, NULL, NULL, 3000) == 0)
			return 0;
		h_sleep_ms(50);
	}
	return -1;
}

static int
start_http(struct h_proc *p, const char *ns, const char *addr,
    const char *dir, const char *log)
{
	char *argv[] = { sn.ip_cmd, "netns", "exec", (char *)ns, sn.python,
	    "-m", "http.server", "--bind", (char *)addr, "--directory", (char *)dir,
	    "80", NULL };
	struct h_spawn_opts o = { .out_path = log, .err_path = log,
	    .listen_fd = -1 };

	return h_spawn(p, argv, &o);
}

/*
 * tests/tools/dnsd, udpecho or tcpsrv (echo) on addr:port in ns
 * (udpecho with the prefix "echo:"); what it prints goes to log.
 */
static int
start_tool(struct h_proc *p, const char *ns, const char *name,
    const char *addr, const char *port, const char *log)
{
	char tool[PATH_MAX], rel[64], line[32];
	char *argv[] = { sn.ip_cmd, "netns", "exec", (char *)ns, tool, "-a",
	    (char *)addr, "-p", (char *)port, NULL, NULL, NULL };
	struct h_spawn_opts o = { .out_path = log, .err_path = log,
	    .listen_fd = -1 };

	snprintf(rel, sizeof(rel), "tools/%s", name);
	h_bin(tool, sizeof(tool), rel);
	if (access(tool, X_OK) != 0)
		return 0;	/* the cases using it skip without it */
	if (strcmp(name, "udpecho") == 0) {
		argv[9] = "-x";
		argv[10] = "echo:";
	}
	snprintf(line, sizeof(line), "port %s", port);
	if (h_spawn(p, argv, &o) == -1 || !h_log_wait(log, line, 5000)) {
		h_log_dump(log);
		return -1;
	}
	return 0;
}

/* The served files: a marker page each, and a dumb-HTTP git repository. */
static int
make_content(void)
{
	char path[PATH_MAX + 32], cmd[4 * PATH_MAX + 512];

	h_tmp(sn.www4, sizeof(sn.www4), "www4");
	h_tmp(sn.www6, sizeof(sn.www6), "www6");
	if (mkdir(sn.www4, 0755) == -1 || mkdir(sn.www6, 0755) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", sn.www4);
	if (h_write_file(path, "<html><body>%s</body></html>\n", MARK4))
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", sn.www6);
	if (h_write_file(path, "<html><body>%s</body></html>\n", MARK6))
		return -1;
	snprintf(path, sizeof(path), "%s/" MARKFF ".html", sn.www6);
	if (h_write_file(path, "<html><body><h1>%s</h1></body></html>\n",
	    MARKFF))
		return -1;
	if (!sn_have("git"))
		return 0;
	snprintf(cmd, sizeof(cmd),
	    "set -e; cd '%s'; export HOME='%s' GIT_CONFIG_NOSYSTEM=1;"
	    " git init -q -b main src; cd src; echo hello > f; git add f;"
	    " git -c user.name=t -c user.email=t@example.org commit -qm init;"
	    " cd ..; git clone -q --bare src '%s/repo.git';"
	    " cd '%s/repo.git'; git update-server-info",
	    sn.www6, sn.www6, sn.www6, sn.www6);
	return system(cmd) == 0 ? 0 : -1;
}

static int
group_setup(void **state)
{
	static const char *const ips[] = { "/usr/sbin/ip", "/sbin/ip",
	    "/usr/bin/ip", "/bin/ip", NULL };
	static const char *const pys[] = { "/usr/bin/python3",
	    "/usr/local/bin/python3", NULL };
	char gwbin[PATH_MAX];
	char *gw_argv[] = { sn.ip_cmd, "netns", "exec", sn.ns_gw, gwbin, "-f",
	    "-l", GW4, "-l", GW6, "-a", "192.0.2.0/24", "-a",
	    "2001:db8:c6::/64", NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };

	(void)state;
	h_tmp(sn.out_path, sizeof(sn.out_path), "run.out");
	h_tmp(sn.err_path, sizeof(sn.err_path), "run.err");
	h_tmp(sn.conf, sizeof(sn.conf), "socks64.conf");
	/*
	 * Only SOCKS64_GATEWAY: no /etc/socks64.conf of the host counts.
	 * Each mode named, whatever the default is.
	 */
	if (h_write_file(sn.conf, "# the gateway comes from the "
	    "environment\nasync no\n") == -1)
		return -1;
	h_tmp(sn.conf_async, sizeof(sn.conf_async), "socks64-async.conf");
	if (h_write_file(sn.conf_async, "# the gateway comes from the "
	    "environment\nasync yes\n") == -1)
		return -1;
	h_tmp(sn.log_gw, sizeof(sn.log_gw), "gatewayd.log");
	h_tmp(sn.log_h4, sizeof(sn.log_h4), "http4.log");
	h_tmp(sn.log_h6, sizeof(sn.log_h6), "http6.log");
	h_tmp(sn.log_dns6, sizeof(sn.log_dns6), "dnsd6.log");
	h_tmp(sn.log_echo6, sizeof(sn.log_echo6), "udpecho6.log");
	h_tmp(sn.log_tcp6, sizeof(sn.log_tcp6), "tcpsrv6.log");
	h_tmp(sn.log_g1, sizeof(sn.log_g1), "gatewayd-g1.log");
	pick_libraries();
	if (getuid() != 0) {
		snprintf(sn.why_not, sizeof(sn.why_not), "not root");
		return 0;
	}
	if (find_cmd(ips, sn.ip_cmd, sizeof(sn.ip_cmd)) == -1 ||
	    find_cmd(pys, sn.python, sizeof(sn.python)) == -1 ||
	    !sn_have("curl")) {
		snprintf(sn.why_not, sizeof(sn.why_not), "ip, python3 or curl "
		    "missing");
		return 0;
	}
	h_bin(gwbin, sizeof(gwbin), "gatewayd");
	if (access(sn.lib_own, R_OK) != 0 || access(gwbin, X_OK) != 0) {
		snprintf(sn.why_not, sizeof(sn.why_not), "build libsocks64.so "
		    "and gatewayd first");
		return 0;
	}
	if (sn.ns_prefix[0] == '\0') {
		snprintf(sn.why_not, sizeof(sn.why_not), "a PID too long for "
		    "interface names");
		return 0;
	}
	/* Written (and run: a dead run's leftovers go) before anything. */
	h_tmp(td_path, sizeof(td_path), "teardown.sh");
	run_script("teardown.sh", teardown_script);
	made = 1;
	if (run_script("setup.sh", setup_script) != 0) {
		h_log_dump(sn.err_path);
		snprintf(sn.why_not, sizeof(sn.why_not), "cannot make network "
		    "namespaces here (see run.err above)");
		teardown_now();
		return 0;
	}
	if (make_content() == -1 ||
	    start_http(&sn.h4_proc, sn.ns_s4, "198.51.100.2", sn.www4,
	    sn.log_h4) ||
	    start_http(&sn.h6_proc, sn.ns_s6, "2001:db8:5::2", sn.www6,
	    sn.log_h6))
		return -1;
	if (start_tool(&sn.dns6_proc, sn.ns_s6, "dnsd", "2001:db8:5::2", "53",
	    sn.log_dns6) == -1 || start_tool(&sn.echo6_proc, sn.ns_s6,
	    "udpecho", "2001:db8:5::2", "7", sn.log_echo6) == -1 ||
	    start_tool(&sn.tcp6_proc, sn.ns_s6, "tcpsrv", "2001:db8:5::2", "7",
	    sn.log_tcp6) == -1)
		return -1;
	if (more_setup != NULL && more_setup() == -1)
		return -1;
	o.out_path = o.err_path = sn.log_gw;
	if (h_spawn(&sn.gw_proc, gw_argv, &o) == -1 ||
	    !h_log_wait(sn.log_gw, "started", 5000) ||
	    wait_http(sn.ns_gw, "http://www6.example/") == -1 ||
	    wait_http(sn.ns_gw, "http://www4.example/") == -1) {
		h_log_dump(sn.log_gw);
		h_log_dump(sn.log_h6);
		return -1;
	}
	sn.gw_idle_fds = h_fd_count(sn.gw_proc.pid);
	sn.ready = 1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (getuid() != 0 || sn.ip_cmd[0] == '\0')
		return 0;
	h_proc_stop(&sn.gw_proc);
	h_proc_stop(&sn.h4_proc);
	h_proc_stop(&sn.h6_proc);
	h_proc_stop(&sn.dns6_proc);
	h_proc_stop(&sn.echo6_proc);
	h_proc_stop(&sn.tcp6_proc);
	if (more_teardown != NULL)
		more_teardown();
	teardown_now();
	return 0;
}

void
sn_need_ready(void)
{
	if (!sn.ready) {
		print_message("skipped: %s\n", sn.why_not);
		skip();
	}
}

void
sn_empty(const char *path)
{
	(void)!truncate(path, 0);
}

/*
 * Runs cmd (NULL-ended) in namespace ns with the library preloaded and
 * the gateway set; stdout and stderr to out_path/err_path (truncated
 * first). third_party: a program that cannot take a sanitizer runtime
 * (skipped if no plain library exists). Returns the exit code, or -1
 * on a timeout; *ms gets the run time when ms is not NULL.
 */
int
sn_run_in(const char *ns, const char *gw, int third_party, int timeout_ms,
    int64_t *ms, const char *const *cmd)
{
	char preload[2 * PATH_MAX + 16], gwv[128], dir[PATH_MAX];
	char home[PATH_MAX + 8], confv[PATH_MAX + 16];
	char *argv[40];
	const char *lib = third_party ? sn.lib_plain : sn.lib_own;
	int64_t t0;
	int n = 0, r;

	if (lib[0] == '\0') {
		print_message("skipped: a sanitizer runtime cannot be "
		    "preloaded into %s, and no plain build/libsocks64.so "
		    "exists\n", cmd[0]);
		skip();
	}
	if (!third_party && sn.san_rt[0] != '\0')
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s %s",
		    sn.san_rt, lib);
	else
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
	snprintf(gwv, sizeof(gwv), "SOCKS64_GATEWAY=%s", gw);
	/* An empty home: no user's dotfiles (.curlrc, .gitconfig) count. */
	h_tmp(dir, sizeof(dir), "home");
	mkdir(dir, 0700);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	argv[n++] = sn.ip_cmd;
	argv[n++] = "netns";
	argv[n++] = "exec";
	argv[n++] = (char *)ns;
	argv[n++] = "/usr/bin/env";
	argv[n++] = preload;
	argv[n++] = gwv;
	argv[n++] = home;
	snprintf(confv, sizeof(confv), "SOCKS64_CONF=%s",
	    sn.async_mode ? sn.conf_async : sn.conf);
	argv[n++] = confv;
	argv[n++] = "ASAN_OPTIONS=detect_leaks=0";
	while (*cmd != NULL && n < 39)
		argv[n++] = (char *)*cmd++;
	argv[n] = NULL;
	sn_empty(sn.out_path);
	sn_empty(sn.err_path);
	t0 = h_now_ms();
	r = h_run(argv, sn.out_path, sn.err_path, timeout_ms);
	if (ms != NULL)
		*ms = h_now_ms() - t0;
	if (r != 0) {
		print_message("exit %d; stdout and stderr:\n", r);
		h_log_dump(sn.out_path);
		h_log_dump(sn.err_path);
	}
	return r;
}

void
sn_assert_output_has(const char *needle)
{
	if (!h_log_has(sn.out_path, needle)) {
		print_message("no \"%s\" in:\n", needle);
		h_log_dump(sn.out_path);
		fail();
	}
}

/* The gateway logged a relay of this name, from this client. */
void
sn_assert_gateway_relayed(const char *client, const char *dest)
{
	char c[64], d[128];

	snprintf(c, sizeof(c), "client=%s", client);
	snprintf(d, sizeof(d), "dest=%s", dest);
	if (!h_log_line(sn.log_gw, 3000, c, d, "rep=0", NULL)) {
		h_log_dump(sn.log_gw);
		fail_msg("gateway did not relay %s for %s", dest, client);
	}
}

int
sn_mode_sync(void **state)
{
	(void)state;
	sn.async_mode = 0;
	return 0;
}

int
sn_mode_async(void **state)
{
	(void)state;
	sn.async_mode = 1;
	return 0;
}

int
sn_main(const char *group, const struct CMUnitTest *all, size_t n_all,
    int (*setup)(void), void (*teardown)(void))
{
	struct CMUnitTest *tests;
	const char *only = getenv("SOCKS64_IT_ASYNC");
	struct sigaction sa;
	size_t i, n = 0;
	int r;

	if ((tests = calloc(n_all, sizeof(*tests))) == NULL)
		return 1;
	more_setup = setup;
	more_teardown = teardown;
	/* SOCKS64_IT_ASYNC=0 or 1: one mode only (even entries are sync). */
	for (i = 0; i < n_all; i++)
		if (only == NULL || *only == '\0' ||
		    (int)(i % 2) == (strcmp(only, "0") != 0))
			tests[n++] = all[i];
	/* This test makes its own namespaces; the harness must not move
	 * it into a private one first. */
	setenv("SOCKS64_IT_NO_NETNS", "1", 1);
	if (names_init() == -1)
		sn.ns_prefix[0] = '\0';
	h_init();
	/* SOCKS64_IT_ONLY: a cmocka name pattern, to run some cases. */
	if (getenv("SOCKS64_IT_ONLY") != NULL)
		cmocka_set_test_filter(getenv("SOCKS64_IT_ONLY"));
	/* After h_init's: ours runs first, while the tmp dir exists. */
	atexit(teardown_now);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = teardown_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	r = _cmocka_run_group_tests(group, tests, n, group_setup,
	    group_teardown);
	free(tests);
	return r;
}
