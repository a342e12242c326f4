/*
 * it_shim_netns.c - libsocks64 end to end, across an IPv4/IPv6 boundary
 * built from network namespaces (RFC 3089 section 2's four cases).
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
 * NS is s64s<our pid>, so two runs on one machine do not meet.
 *
 * The server names exist only in the gateway's namespace (its private
 * /etc/hosts, with a resolv.conf pointing at 127.0.0.1 so no query could
 * leave); the clients' resolv.conf points at their own loopback too.
 * Real programs, unchanged, are run in the client namespaces with the
 * library preloaded: curl, wget, python3 urllib and asyncio, git over
 * dumb HTTP and over ssh, OpenSSH's ssh (to an sshd of our own on the
 * IPv6-only server, known_hosts kept valid from one process to the
 * next), tests/tools/nbclient (poll/select/epoll) and Firefox ESR
 * headless; datagrams (issue 4): dig and python3 asking tests/tools/dnsd on the
 * IPv6-only server from the IPv4-only client through a UDP association;
 * and a chain whose first gateway runs inside the IPv4-only client
 * (no IPv6 at all, no way to resolve the server's name), plus a first
 * gateway line that does not answer, passed over for the next.
 * The namespaces are made at the start (those a dead run left removed
 * first) and always removed at the end, also on exit() and SIGTERM.
 * Needs root; skipped otherwise. SOCKS64_IT_ONLY=PATTERN runs only the
 * cases whose names match (cmocka's filter).
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

#define GW4		"192.0.2.1:1080"
#define GW6		"[2001:db8:c6::1]:1080"
#define MARK4		"socks64-marker-v4-7d1e"
#define MARK6		"socks64-marker-v6-93ab"
#define MARKFF		"socks64-firefox-c05f"
#define MARKSSH		"socks64-ssh-5b2e"
#define SSH_PORT	"2222"		/* not 22: known_hosts says [name]:port */
#define RUN_MS		20000		/* one client program */
#define FAST_MS		3000		/* "fails fast" */
#define FIREFOX_MS	90000

static int	ready;			/* topology up and gateway running */
static char	why_not[256];		/* reason the tests are skipped */
static char	ip_cmd[64];
static char	python[64];
static char	lib_own[PATH_MAX];	/* this build's library */
static char	lib_plain[PATH_MAX];	/* a library any program can take */
static char	san_rt[PATH_MAX];	/* sanitizer runtime to preload, or "" */
static char	www4[PATH_MAX], www6[PATH_MAX];
static char	log_gw[PATH_MAX], log_h4[PATH_MAX], log_h6[PATH_MAX];
static char	out_path[PATH_MAX], err_path[PATH_MAX], conf[PATH_MAX];
static char	conf_async[PATH_MAX];	/* conf, but 'async yes' */
static int	async_mode;		/* this case's: run_in takes conf_async */
static char	log_dns6[PATH_MAX], log_g1[PATH_MAX], log_echo6[PATH_MAX];
static struct h_proc gw_proc, h4_proc, h6_proc, dns6_proc, echo6_proc;
static struct h_proc sshd_proc, tcp6_proc;
/* The gateway's descriptors with no session open, once it started. */
static int gw_idle_fds = -1;
static char	ssh_why[128];		/* why the ssh cases skip, or "" */
static char	ssh_key[PATH_MAX], ssh_known[PATH_MAX], log_sshd[PATH_MAX];
static char	log_tcp6[PATH_MAX];
static char	ns_prefix[16];		/* this run's prefix: s64s<pid> */
static char	ns_c4[24], ns_c6[24], ns_gw[24], ns_s4[24], ns_s6[24];
static pid_t	main_pid;
static char	td_path[PATH_MAX];	/* the teardown script, once written */
static volatile sig_atomic_t made;	/* namespaces may exist: tear down */

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
 * process is gone or is no longer this test. Another live run's stay.
 * Run before setup, at teardown, at exit and on SIGTERM/SIGINT/SIGHUP.
 */
static const char teardown_script[] =
"ours() { [ \"$1\" = \"$NS\" ] ||"
" [ \"$(cat /proc/${1#s64s}/comm 2>/dev/null)\" != it_shim_netns ]; }\n"
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
	if (h_write_file(path, "NS=%s\n%s", ns_prefix, text) == -1)
		return -1;
	return h_run(argv, out_path, err_path, 20000);
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
	snprintf(ns_prefix, sizeof(ns_prefix), "s64s%d", (int)main_pid);
	snprintf(ns_c4, sizeof(ns_c4), "%s-c4", ns_prefix);
	snprintf(ns_c6, sizeof(ns_c6), "%s-c6", ns_prefix);
	snprintf(ns_gw, sizeof(ns_gw), "%s-gw", ns_prefix);
	snprintf(ns_s4, sizeof(ns_s4), "%s-s4", ns_prefix);
	snprintf(ns_s6, sizeof(ns_s6), "%s-s6", ns_prefix);
	return strlen(ns_prefix) + strlen("-gc4") <= 15 ? 0 : -1;
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
static int
have(const char *prog)
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

	h_bin(lib_own, sizeof(lib_own), "libsocks64.so");
	snprintf(lib_plain, sizeof(lib_plain), "%s", lib_own);
	san_rt[0] = '\0';
	if (san == NULL || *san == '\0')
		return;
	rt = strcmp(san, "thread") == 0 ? "libtsan.so" : "libasan.so";
	snprintf(cmd, sizeof(cmd), "cc -print-file-name=%s", rt);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(san_rt, sizeof(san_rt), p) == NULL)
			san_rt[0] = '\0';
		san_rt[strcspn(san_rt, "\n")] = '\0';
		pclose(p);
	}
	/* SOCKS64_PLAIN_BUILD: a plain build tree other than build/. */
	if ((plain = getenv("SOCKS64_PLAIN_BUILD")) != NULL && *plain != '\0')
		snprintf(lib_plain, sizeof(lib_plain), "%s/libsocks64.so",
		    plain);
	else
		h_srcpath(lib_plain, sizeof(lib_plain), "build/libsocks64.so");
	if (access(lib_plain, R_OK) != 0)
		lib_plain[0] = '\0';
}

static int
wait_http(const char *ns, const char *url)
{
	char *argv[] = { ip_cmd, "netns", "exec", (char *)ns, "curl", "-s",
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
	char *argv[] = { ip_cmd, "netns", "exec", (char *)ns, python, "-m",
	    "http.server", "--bind", (char *)addr, "--directory", (char *)dir,
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
	char *argv[] = { ip_cmd, "netns", "exec", (char *)ns, tool, "-a",
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

	h_tmp(www4, sizeof(www4), "www4");
	h_tmp(www6, sizeof(www6), "www6");
	if (mkdir(www4, 0755) == -1 || mkdir(www6, 0755) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", www4);
	if (h_write_file(path, "<html><body>%s</body></html>\n", MARK4))
		return -1;
	snprintf(path, sizeof(path), "%s/index.html", www6);
	if (h_write_file(path, "<html><body>%s</body></html>\n", MARK6))
		return -1;
	snprintf(path, sizeof(path), "%s/" MARKFF ".html", www6);
	if (h_write_file(path, "<html><body><h1>%s</h1></body></html>\n",
	    MARKFF))
		return -1;
	if (!have("git"))
		return 0;
	snprintf(cmd, sizeof(cmd),
	    "set -e; cd '%s'; export HOME='%s' GIT_CONFIG_NOSYSTEM=1;"
	    " git init -q -b main src; cd src; echo hello > f; git add f;"
	    " git -c user.name=t -c user.email=t@example.org commit -qm init;"
	    " cd ..; git clone -q --bare src '%s/repo.git';"
	    " cd '%s/repo.git'; git update-server-info",
	    www6, www6, www6, www6);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * An sshd of our own in the IPv6-only server's namespace: its config,
 * host key, client key, authorized_keys and pid file in the tmp dir,
 * public keys only, no PAM. It needs its privilege separation dir
 * /run/sshd, which we make if missing and leave (the package's own).
 * Without ssh or sshd the ssh cases skip, saying so in ssh_why.
 */
static int
start_sshd(void)
{
	char dir[PATH_MAX], cfg[PATH_MAX], cmd[PATH_MAX + 256];
	char *argv[] = { ip_cmd, "netns", "exec", ns_s6, "/usr/sbin/sshd",
	    "-D", "-e", "-f", cfg, NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };

	if (!have("ssh") || !have("ssh-keygen") ||
	    access("/usr/sbin/sshd", X_OK) != 0) {
		snprintf(ssh_why, sizeof(ssh_why), "ssh, ssh-keygen or "
		    "/usr/sbin/sshd missing (openssh-client, openssh-server)");
		return 0;
	}
	h_tmp(dir, sizeof(dir), "ssh");
	h_tmp(log_sshd, sizeof(log_sshd), "sshd.log");
	h_tmp(ssh_key, sizeof(ssh_key), "ssh/id");
	h_tmp(ssh_known, sizeof(ssh_known), "ssh/known_hosts");
	h_tmp(cfg, sizeof(cfg), "ssh/sshd_config");
	if (mkdir(dir, 0700) == -1 ||
	    (mkdir("/run/sshd", 0755) == -1 && errno != EEXIST))
		return -1;
	snprintf(cmd, sizeof(cmd), "set -e; cd '%s';"
	    " ssh-keygen -q -t ed25519 -N '' -C host -f host_key;"
	    " ssh-keygen -q -t ed25519 -N '' -C client -f id;"
	    " cp id.pub authorized_keys", dir);
	if (system(cmd) != 0 || h_write_file(cfg,
	    "Port " SSH_PORT "\nListenAddress 2001:db8:5::2\n"
	    "HostKey %s/host_key\nPidFile %s/sshd.pid\n"
	    "AuthorizedKeysFile %s/authorized_keys\n"
	    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
	    "LogLevel VERBOSE\n", dir, dir, dir) == -1)
		return -1;
	o.out_path = o.err_path = log_sshd;
	if (h_spawn(&sshd_proc, argv, &o) == -1 ||
	    !h_log_wait(log_sshd, "Server listening on 2001:db8:5::2 port "
	    SSH_PORT, 5000)) {
		h_log_dump(log_sshd);
		return -1;
	}
	return 0;
}

static int
group_setup(void **state)
{
	static const char *const ips[] = { "/usr/sbin/ip", "/sbin/ip",
	    "/usr/bin/ip", "/bin/ip", NULL };
	static const char *const pys[] = { "/usr/bin/python3",
	    "/usr/local/bin/python3", NULL };
	char gwbin[PATH_MAX];
	char *gw_argv[] = { ip_cmd, "netns", "exec", ns_gw, gwbin, "-f",
	    "-l", GW4, "-l", GW6, "-a", "192.0.2.0/24", "-a",
	    "2001:db8:c6::/64", NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };

	(void)state;
	h_tmp(out_path, sizeof(out_path), "run.out");
	h_tmp(err_path, sizeof(err_path), "run.err");
	h_tmp(conf, sizeof(conf), "socks64.conf");
	/*
	 * Only SOCKS64_GATEWAY: no /etc/socks64.conf of the host counts.
	 * Each mode named, whatever the default is.
	 */
	if (h_write_file(conf, "# the gateway comes from the "
	    "environment\nasync no\n") == -1)
		return -1;
	h_tmp(conf_async, sizeof(conf_async), "socks64-async.conf");
	if (h_write_file(conf_async, "# the gateway comes from the "
	    "environment\nasync yes\n") == -1)
		return -1;
	h_tmp(log_gw, sizeof(log_gw), "gatewayd.log");
	h_tmp(log_h4, sizeof(log_h4), "http4.log");
	h_tmp(log_h6, sizeof(log_h6), "http6.log");
	h_tmp(log_dns6, sizeof(log_dns6), "dnsd6.log");
	h_tmp(log_echo6, sizeof(log_echo6), "udpecho6.log");
	h_tmp(log_tcp6, sizeof(log_tcp6), "tcpsrv6.log");
	h_tmp(log_g1, sizeof(log_g1), "gatewayd-g1.log");
	pick_libraries();
	if (getuid() != 0) {
		snprintf(why_not, sizeof(why_not), "not root");
		return 0;
	}
	if (find_cmd(ips, ip_cmd, sizeof(ip_cmd)) == -1 ||
	    find_cmd(pys, python, sizeof(python)) == -1 || !have("curl")) {
		snprintf(why_not, sizeof(why_not), "ip, python3 or curl "
		    "missing");
		return 0;
	}
	h_bin(gwbin, sizeof(gwbin), "gatewayd");
	if (access(lib_own, R_OK) != 0 || access(gwbin, X_OK) != 0) {
		snprintf(why_not, sizeof(why_not), "build libsocks64.so and "
		    "gatewayd first");
		return 0;
	}
	if (ns_prefix[0] == '\0') {
		snprintf(why_not, sizeof(why_not), "a PID too long for "
		    "interface names");
		return 0;
	}
	/* Written (and run: a dead run's leftovers go) before anything. */
	h_tmp(td_path, sizeof(td_path), "teardown.sh");
	run_script("teardown.sh", teardown_script);
	made = 1;
	if (run_script("setup.sh", setup_script) != 0) {
		h_log_dump(err_path);
		snprintf(why_not, sizeof(why_not), "cannot make network "
		    "namespaces here (see run.err above)");
		teardown_now();
		return 0;
	}
	if (make_content() == -1 ||
	    start_http(&h4_proc, ns_s4, "198.51.100.2", www4, log_h4) ||
	    start_http(&h6_proc, ns_s6, "2001:db8:5::2", www6, log_h6))
		return -1;
	if (start_tool(&dns6_proc, ns_s6, "dnsd", "2001:db8:5::2", "53",
	    log_dns6) == -1 || start_tool(&echo6_proc, ns_s6, "udpecho",
	    "2001:db8:5::2", "7", log_echo6) == -1 ||
	    start_tool(&tcp6_proc, ns_s6, "tcpsrv", "2001:db8:5::2", "7",
	    log_tcp6) == -1 || start_sshd() == -1)
		return -1;
	o.out_path = o.err_path = log_gw;
	if (h_spawn(&gw_proc, gw_argv, &o) == -1 ||
	    !h_log_wait(log_gw, "started", 5000) ||
	    wait_http(ns_gw, "http://www6.example/") == -1 ||
	    wait_http(ns_gw, "http://www4.example/") == -1) {
		h_log_dump(log_gw);
		h_log_dump(log_h6);
		return -1;
	}
	gw_idle_fds = h_fd_count(gw_proc.pid);
	ready = 1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (getuid() != 0 || ip_cmd[0] == '\0')
		return 0;
	h_proc_stop(&gw_proc);
	h_proc_stop(&h4_proc);
	h_proc_stop(&h6_proc);
	h_proc_stop(&dns6_proc);
	h_proc_stop(&echo6_proc);
	h_proc_stop(&tcp6_proc);
	h_proc_stop(&sshd_proc);
	teardown_now();
	return 0;
}

static void
need_ready(void)
{
	if (!ready) {
		print_message("skipped: %s\n", why_not);
		skip();
	}
}

static void
empty(const char *path)
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
static int
run_in(const char *ns, const char *gw, int third_party, int timeout_ms,
    int64_t *ms, const char *const *cmd)
{
	char preload[2 * PATH_MAX + 16], gwv[128], dir[PATH_MAX];
	char home[PATH_MAX + 8], confv[PATH_MAX + 16];
	char *argv[40];
	const char *lib = third_party ? lib_plain : lib_own;
	int64_t t0;
	int n = 0, r;

	if (lib[0] == '\0') {
		print_message("skipped: a sanitizer runtime cannot be "
		    "preloaded into %s, and no plain build/libsocks64.so "
		    "exists\n", cmd[0]);
		skip();
	}
	if (!third_party && san_rt[0] != '\0')
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s %s", san_rt,
		    lib);
	else
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
	snprintf(gwv, sizeof(gwv), "SOCKS64_GATEWAY=%s", gw);
	/* An empty home: no user's dotfiles (.curlrc, .gitconfig) count. */
	h_tmp(dir, sizeof(dir), "home");
	mkdir(dir, 0700);
	snprintf(home, sizeof(home), "HOME=%s", dir);
	argv[n++] = ip_cmd;
	argv[n++] = "netns";
	argv[n++] = "exec";
	argv[n++] = (char *)ns;
	argv[n++] = "/usr/bin/env";
	argv[n++] = preload;
	argv[n++] = gwv;
	argv[n++] = home;
	snprintf(confv, sizeof(confv), "SOCKS64_CONF=%s",
	    async_mode ? conf_async : conf);
	argv[n++] = confv;
	argv[n++] = "ASAN_OPTIONS=detect_leaks=0";
	while (*cmd != NULL && n < 39)
		argv[n++] = (char *)*cmd++;
	argv[n] = NULL;
	empty(out_path);
	empty(err_path);
	t0 = h_now_ms();
	r = h_run(argv, out_path, err_path, timeout_ms);
	if (ms != NULL)
		*ms = h_now_ms() - t0;
	if (r != 0) {
		print_message("exit %d; stdout and stderr:\n", r);
		h_log_dump(out_path);
		h_log_dump(err_path);
	}
	return r;
}

static void
assert_output_has(const char *needle)
{
	if (!h_log_has(out_path, needle)) {
		print_message("no \"%s\" in:\n", needle);
		h_log_dump(out_path);
		fail();
	}
}

/* The gateway logged a relay of this name, from this client. */
static void
assert_gateway_relayed(const char *client, const char *dest)
{
	char c[64], d[128];

	snprintf(c, sizeof(c), "client=%s", client);
	snprintf(d, sizeof(d), "dest=%s", dest);
	if (!h_log_line(log_gw, 3000, c, d, "rep=0", NULL)) {
		h_log_dump(log_gw);
		fail_msg("gateway did not relay %s for %s", dest, client);
	}
}

#define CMD(...)	((const char *const[]){ __VA_ARGS__, NULL })

/* RFC 3089 section 2, case by case, with curl. */
static void
test_curl_v4_client_to_v6_server(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	assert_output_has(MARK6);
	assert_gateway_relayed("192.0.2.2", "www6.example:80");
}

static void
test_curl_v4_client_to_v4_server(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www4.example/")), 0);
	assert_output_has(MARK4);
	assert_gateway_relayed("192.0.2.2", "www4.example:80");
}

static void
test_curl_v6_client_to_v4_server(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www4.example/")), 0);
	assert_output_has(MARK4);
	assert_gateway_relayed("[2001:db8:c6::2]", "www4.example:80");
}

static void
test_curl_v6_client_to_v6_server(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	assert_output_has(MARK6);
	assert_gateway_relayed("[2001:db8:c6::2]", "www6.example:80");
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
	need_ready();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://[2001:db8:5::2]/")), 0);
	assert_output_has(MARK6);
	assert_int_equal(run_in(ns_c6, GW6, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://198.51.100.2/")), 0);
	assert_output_has(MARK4);
	assert_gateway_relayed("[2001:db8:c6::2]", "198.51.100.2:80");
}

static void
test_wget_v4_client_to_v6_server(void **state)
{
	(void)state;
	need_ready();
	if (!have("wget"))
		skip();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("wget", "-q", "-O", "-", "-T", "10", "-t", "1",
	    "http://www6.example/")), 0);
	assert_output_has(MARK6);
}

static void
test_python_urllib_v4_client_to_v6_server(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(python, "-c", "import urllib.request as u; print(u.urlopen("
	    "'http://www6.example/', timeout=10).read().decode())")), 0);
	assert_output_has(MARK6);
}

static void
test_git_ls_remote_v4_client_to_v6_server(void **state)
{
	(void)state;
	need_ready();
	if (!have("git"))
		skip();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("git", "ls-remote", "http://www6.example/repo.git")), 0);
	assert_output_has("refs/heads/main");
	assert_true(h_log_has(log_h6, "GET /repo.git/info/refs"));
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
	need_ready();
	h_bin(tool, sizeof(tool), "tools/nbclient");
	if (access(tool, X_OK) != 0)
		skip();
	for (i = 0; i < 3; i++) {
		assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
		    CMD(tool, "-m", modes[i], "www6.example", "80", "/")), 0);
		assert_output_has("matches=yes");
		assert_output_has(MARK6);
		assert_int_equal(run_in(ns_c6, GW6, 0, RUN_MS, NULL,
		    CMD(tool, "-m", modes[i], "www4.example", "80", "/")), 0);
		assert_output_has("matches=yes");
		assert_output_has(MARK4);
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
	need_ready();
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://nosuch.example/")), 7);
	assert_true(ms < FAST_MS);
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example:81/")), 7);
	assert_true(ms < FAST_MS);
	assert_int_equal(run_in(ns_c6, GW6, 0, RUN_MS, &ms,
	    CMD(python, "-c", "import urllib.request as u\n"
	    "try:\n u.urlopen('http://nosuch.example/', timeout=10)\n"
	    "except OSError as e:\n print('failed', e)\n")), 0);
	assert_true(ms < FAST_MS);
	assert_output_has("failed");
}

/* socks64-run puts the library in LD_PRELOAD and the gateway in env. */
static void
test_socks64_run_wrapper(void **state)
{
	char run[PATH_MAX];
	char *argv[] = { ip_cmd, "netns", "exec", ns_c4, run, "-g", GW4,
	    "-c", async_mode ? conf_async : conf, "curl", "-sS", "-m", "10",
	    "http://www6.example/", NULL };
	const char *lib = lib_plain;

	(void)state;
	need_ready();
	h_bin(run, sizeof(run), "socks64-run");
	/*
	 * It preloads the library next to itself, this build's, which
	 * under a sanitizer curl cannot take.
	 */
	if (access(run, X_OK) != 0 || strcmp(lib, lib_own) != 0) {
		print_message("skipped: sanitizer build\n");
		skip();
	}
	empty(out_path);
	assert_int_equal(h_run(argv, out_path, err_path, RUN_MS), 0);
	assert_output_has(MARK6);
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
	char *run[] = { ip_cmd, "netns", "exec", ns_c4, "/usr/bin/env",
	    "SOCKS64_GATEWAY=" GW4, confv, "ASAN_OPTIONS=detect_leaks=0", bin,
	    "www6.example", NULL };

	(void)state;
	need_ready();
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
	    async_mode ? conf_async : conf);
	assert_int_equal(h_write_file(src, "%s", linked_src), 0);
	empty(err_path);
	if (h_run(cc, out_path, err_path, 60000) != 0) {
		h_log_dump(err_path);
		fail_msg("cannot build a program with -lsocks64");
	}
	empty(out_path);
	if (h_run(run, out_path, err_path, RUN_MS) != 0) {
		h_log_dump(out_path);
		h_log_dump(err_path);
		fail_msg("the program linked with -lsocks64 failed");
	}
	assert_output_has(MARK6);
	assert_gateway_relayed("192.0.2.2", "www6.example:80");
}

/* ------------------------------------------------------------------ */
/* datagrams, chains and alternatives (issue 4)                         */

/* The gateway ended a UDP association of client's that carried data. */
static void
assert_gateway_udp(const char *client)
{
	char c[64];

	snprintf(c, sizeof(c), "client=%s", client);
	if (!h_log_line(log_gw, 5000, c, "cmd=udp-associate", "rep=0",
	    NULL)) {
		h_log_dump(log_gw);
		fail_msg("gateway logged no UDP association for %s", client);
	}
}

static void
need_dnsd(void)
{
	need_ready();
	if (dns6_proc.pid == 0 || echo6_proc.pid == 0) {
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
	if (!have("dig")) {
		print_message("skipped: dig (dnsutils) is not installed\n");
		skip();
	}
	assert_int_equal(run_in(ns_c4, GW4, 1, RUN_MS, NULL,
	    CMD("dig", "+short", "+tries=1", "+time=5", "@dns6.example",
	    "x.dns.test", "A")), 0);
	assert_output_has("127.0.0.1");
	assert_true(h_log_has(log_dns6, "query x.dns.test"));
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
	assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(python, "-c", dns_py)), 0);
	assert_output_has("sendto ok");
	assert_output_has("connected ok");
	assert_output_has("echo ok");
	assert_true(h_log_has(log_echo6, "dgram [2001:db8:5::1]"));
	assert_true(h_log_has(log_dns6, "query y.dns.test"));
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
	char *argv[] = { ip_cmd, "netns", "exec", ns_c4, gwbin, "-f",
	    "-l", "127.0.0.1:1081", "-a", "127.0.0.0/8", NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };
	struct h_proc g1;
	int64_t ms;
	int r1, r2;

	(void)state;
	need_ready();
	h_bin(gwbin, sizeof(gwbin), "gatewayd");
	memset(&g1, 0, sizeof(g1));
	/* The log is appended to: the other mode's run must not answer
	 * for this one's "started". */
	unlink(log_g1);
	o.out_path = o.err_path = log_g1;
	if (h_spawn(&g1, argv, &o) == -1 ||
	    !h_log_wait(log_g1, "started", 5000)) {
		h_log_dump(log_g1);
		h_proc_stop(&g1);
		fail_msg("the first gateway did not start");
	}
	r1 = run_in(ns_c4, "127.0.0.1:1081 " GW4, 1, RUN_MS, NULL,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example/"));
	if (r1 == 0 && !h_log_has(out_path, MARK6))
		r1 = -2;
	r2 = run_in(ns_c4, "127.0.0.1:1081 " GW4, 1, RUN_MS, &ms,
	    CMD("curl", "-sS", "-m", "10", "http://www6.example:81/"));
	h_proc_stop(&g1);
	assert_int_equal(r1, 0);
	if (!h_log_line(log_g1, 3000, "dest=192.0.2.1:1080", "rep=0", NULL)) {
		h_log_dump(log_g1);
		fail_msg("the first gateway was not asked for the second");
	}
	assert_gateway_relayed("192.0.2.2", "www6.example:80");
	assert_int_equal(r2, 7);
	assert_true(ms < FAST_MS);
}

/* A first gateway line that does not answer is passed over. */
static void
test_alternative_gateway_when_first_is_silent(void **state)
{
	(void)state;
	need_ready();
	assert_int_equal(run_in(ns_c4, "192.0.2.1:1099, " GW4, 1, RUN_MS,
	    NULL, CMD("curl", "-sS", "-m", "10", "http://www6.example/")), 0);
	assert_output_has(MARK6);
}

/* ------------------------------------------------------------------ */
/* ssh, and git over ssh                                                */

static void
need_ssh(void)
{
	need_ready();
	if (ssh_why[0] != '\0') {
		print_message("skipped: %s\n", ssh_why);
		skip();
	}
}

/*
 * ssh's options for every case: no user or system config, only our
 * key, our known_hosts, never a prompt. strict: the StrictHostKeyChecking
 * value. Fills opt (SSH_OPTS strings) and returns it.
 */
#define SSH_OPTS	14
static const char **
ssh_opts(const char **opt, char *khv, size_t khlen, const char *strict)
{
	static char sv[64];
	int n = 0;

	snprintf(khv, khlen, "UserKnownHostsFile=%s", ssh_known);
	snprintf(sv, sizeof(sv), "StrictHostKeyChecking=%s", strict);
	opt[n++] = "-F";
	opt[n++] = "/dev/null";
	opt[n++] = "-i";
	opt[n++] = ssh_key;
	opt[n++] = "-o";
	opt[n++] = "IdentitiesOnly=yes";
	opt[n++] = "-o";
	opt[n++] = khv;
	opt[n++] = "-o";
	opt[n++] = sv;
	opt[n++] = "-o";
	opt[n++] = "BatchMode=yes";
	opt[n++] = "-o";
	opt[n++] = "ConnectTimeout=10";
	return opt;
}

/*
 * ssh [opts] [-o extra...] [-O ctl] -p SSH_PORT root@www6.example
 * echo MARKSSH; extra: NULL or NULL-ended.
 */
static int
ssh_run(const char *strict, const char *const *extra, const char *ctl)
{
	const char *opt[SSH_OPTS], *cmd[SSH_OPTS + 20];
	char khv[PATH_MAX + 32];
	int n = 0, i;

	ssh_opts(opt, khv, sizeof(khv), strict);
	cmd[n++] = "ssh";
	for (i = 0; i < SSH_OPTS; i++)
		cmd[n++] = opt[i];
	for (; extra != NULL && *extra != NULL && n < SSH_OPTS + 10; extra++) {
		cmd[n++] = "-o";
		cmd[n++] = *extra;
	}
	if (ctl != NULL) {
		cmd[n++] = "-O";
		cmd[n++] = ctl;
	}
	cmd[n++] = "-p";
	cmd[n++] = SSH_PORT;
	cmd[n++] = "root@www6.example";
	cmd[n++] = "echo";
	cmd[n++] = MARKSSH;
	cmd[n] = NULL;
	return run_in(ns_c4, GW4, 0, RUN_MS, NULL, cmd);
}

/* stderr holds none of ssh's host key or address complaints. */
static void
assert_ssh_quiet(void)
{
	static const char *const bad[] = { "WARNING", "Warning",
	    "differs from the key for the IP address", "Offending",
	    "Host key verification failed", NULL };
	int i;

	for (i = 0; bad[i] != NULL; i++)
		if (h_log_has(err_path, bad[i])) {
			h_log_dump(err_path);
			fail_msg("ssh complained: \"%s\"", bad[i]);
		}
}

/*
 * OpenSSH, unchanged, from the IPv4-only client to the IPv6-only
 * server by name: its non-blocking connect with ConnectTimeout goes
 * through the gateway as www6.example:2222. A second run, a new
 * process, must accept the known_hosts entry the first wrote with
 * StrictHostKeyChecking=yes and say nothing: the entry is by name
 * ([www6.example]:2222), the fake address is never part of it.
 */
static void
test_ssh_v4_client_to_v6_server(void **state)
{
	char *kh;

	(void)state;
	need_ssh();
	unlink(ssh_known);
	assert_int_equal(ssh_run("accept-new", NULL, NULL), 0);
	assert_output_has(MARKSSH);
	assert_gateway_relayed("192.0.2.2", "www6.example:" SSH_PORT);
	assert_true(h_log_has(log_sshd, "Accepted publickey for root"));
	kh = h_read_file(ssh_known, NULL);
	assert_non_null(kh);
	assert_non_null(strstr(kh, "[www6.example]:" SSH_PORT " "));
	free(kh);
	assert_int_equal(ssh_run("yes", NULL, NULL), 0);
	assert_output_has(MARKSSH);
	assert_ssh_quiet();
}

/*
 * CheckHostIP=yes (off by default since OpenSSH 8.5) also records the
 * address ssh connected to, here the fake one; a later process must
 * get the same fake address for the name, or ssh warns that the key
 * "differs from the key for the IP address" or adds it again.
 */
static void
test_ssh_check_host_ip_new_process(void **state)
{
	(void)state;
	need_ssh();
	unlink(ssh_known);
	assert_int_equal(ssh_run("accept-new", CMD("CheckHostIP=yes"), NULL), 0);
	assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("yes", CMD("CheckHostIP=yes"), NULL), 0);
	assert_output_has(MARKSSH);
	assert_ssh_quiet();
}

/*
 * Connection sharing: a master (ControlPersist) made through the
 * gateway, a second ssh over its AF_UNIX control socket, which the
 * shim must leave alone, and no second tunnel: once the master is told
 * to exit, the gateway has logged exactly one more session.
 */
static void
test_ssh_control_master_shares_one_tunnel(void **state)
{
	char cp[PATH_MAX + 16], path[PATH_MAX];
	const char *const *x;
	int64_t end;
	int before, n;

	(void)state;
	need_ssh();
	h_tmp(path, sizeof(path), async_mode ? "ssh/cm-a-%C" : "ssh/cm-s-%C");
	snprintf(cp, sizeof(cp), "ControlPath=%s", path);
	x = CMD("ControlMaster=auto", "ControlPersist=60", cp);
	/*
	 * The ssh of the case before may have exited while the gateway
	 * still closes its tunnel: its line must come before the count,
	 * so wait (bounded) for the gateway to hold no session.
	 */
	end = h_now_ms() + 10000;
	while (h_fd_count(gw_proc.pid) > gw_idle_fds && h_now_ms() < end)
		h_sleep_ms(50);
	before = h_log_count(log_gw, "dest=www6.example:" SSH_PORT);
	assert_int_equal(ssh_run("accept-new", x, NULL), 0);
	assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("accept-new", x, NULL), 0);
	assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("accept-new", x, "exit"), 0);
	/* The master's line comes when its tunnel ends, after "exit". */
	end = h_now_ms() + 10000;
	while ((n = h_log_count(log_gw, "dest=www6.example:" SSH_PORT)) <=
	    before && h_now_ms() < end)
		h_sleep_ms(50);
	if (n != before + 1) {
		h_log_dump(log_gw);
		fail_msg("%d tunnels for the master and its client", n - before);
	}
}

/*
 * git over ssh (GIT_SSH_COMMAND: our ssh options) to a bare repository
 * served by the IPv6-only server's sshd: ls-remote and a clone.
 */
static void
test_git_over_ssh_v4_client_to_v6_server(void **state)
{
	const char *opt[SSH_OPTS];
	char khv[PATH_MAX + 32], gsc[4 * PATH_MAX], url[PATH_MAX + 64];
	char dst[PATH_MAX], f[PATH_MAX + 8], cmd[PATH_MAX + 16];
	char *got;
	size_t len;
	int i;

	(void)state;
	need_ssh();
	if (!have("git"))
		skip();
	ssh_opts(opt, khv, sizeof(khv), "accept-new");
	len = (size_t)snprintf(gsc, sizeof(gsc), "GIT_SSH_COMMAND=ssh");
	for (i = 0; i < SSH_OPTS && len < sizeof(gsc); i++)
		len += (size_t)snprintf(gsc + len, sizeof(gsc) - len, " %s",
		    opt[i]);
	snprintf(url, sizeof(url), "ssh://root@www6.example:" SSH_PORT
	    "%s/repo.git", www6);
	assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD("env", gsc, "git", "ls-remote", url)), 0);
	assert_output_has("refs/heads/main");
	h_tmp(dst, sizeof(dst), async_mode ? "ssh-clone-async" :
	    "ssh-clone");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
	(void)!system(cmd);
	assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD("env", gsc, "git", "clone", "-q", url, dst)), 0);
	snprintf(f, sizeof(f), "%s/f", dst);
	got = h_read_file(f, NULL);
	assert_non_null(got);
	assert_string_equal(got, "hello\n");
	free(got);
	assert_gateway_relayed("192.0.2.2", "www6.example:" SSH_PORT);
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
	need_ready();
	if (tcp6_proc.pid == 0) {
		print_message("skipped: tools/tcpsrv is not built\n");
		skip();
	}
	assert_int_equal(run_in(ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD(python, "-c", asyncio_py)), 0);
	assert_output_has("asyncio ok");
	assert_gateway_relayed("192.0.2.2", "www6.example:7");
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
	need_ready();
	if (!have("firefox-esr")) {
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
	r = run_in(ns_c4, GW4, 1, FIREFOX_MS, NULL,
	    CMD("env", hv, "MOZ_CRASHREPORTER_DISABLE=1", "firefox-esr",
	    "--headless", "--no-remote", "--profile", prof, "--screenshot",
	    shot, "http://www6.example/" MARKFF ".html"));
	if (!h_log_has(log_h6, "GET /" MARKFF ".html")) {
		h_log_dump(log_h6);
		fail_msg("firefox (exit %d) did not fetch the page", r);
	}
	assert_gateway_relayed("192.0.2.2", "www6.example:80");
	assert_int_equal(stat(shot, &st), 0);
	assert_true(st.st_size > 0);
}

/* The mode of the case about to run (cmocka setup functions). */
static int
mode_sync(void **state)
{
	(void)state;
	async_mode = 0;
	return 0;
}

static int
mode_async(void **state)
{
	(void)state;
	async_mode = 1;
	return 0;
}

/* Each case in both modes; the async one named *_async. */
#define BOTH(f)	{ #f, f, mode_sync, NULL, NULL }, \
		{ #f "_async", f, mode_async, NULL, NULL }

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
		BOTH(test_ssh_v4_client_to_v6_server),
		BOTH(test_ssh_check_host_ip_new_process),
		BOTH(test_ssh_control_master_shares_one_tunnel),
		BOTH(test_git_over_ssh_v4_client_to_v6_server),
		BOTH(test_python_asyncio_v4_client_to_v6_server),
		BOTH(test_firefox_headless_v4_client_to_v6_server),
	};
	struct CMUnitTest tests[sizeof(all) / sizeof(all[0])];
	const char *only = getenv("SOCKS64_IT_ASYNC");
	struct sigaction sa;
	size_t i, n = 0;

	/* SOCKS64_IT_ASYNC=0 or 1: one mode only (even entries are sync). */
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (only == NULL || *only == '\0' ||
		    (int)(i % 2) == (strcmp(only, "0") != 0))
			tests[n++] = all[i];
	/* This test makes its own namespaces; the harness must not move
	 * it into a private one first. */
	setenv("SOCKS64_IT_NO_NETNS", "1", 1);
	if (names_init() == -1)
		ns_prefix[0] = '\0';
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
	return _cmocka_run_group_tests("it_shim_netns", tests, n,
	    group_setup, group_teardown);
}
