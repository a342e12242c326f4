/*
 * it_shim_ssh.c - OpenSSH's ssh, unchanged, through libsocks64 from the
 * IPv4-only client to an sshd of our own on the IPv6-only server, over
 * the network namespaces of harness_shimnet.c (RFC 3089 section 2):
 * known_hosts kept valid from one process to the next (also with
 * CheckHostIP), connection sharing over one tunnel, and git over ssh.
 * Needs root; skipped otherwise; the cases skip without ssh, ssh-keygen
 * or /usr/sbin/sshd. SOCKS64_IT_ONLY=PATTERN runs only the cases whose
 * names match (cmocka's filter).
 *
 * Every case runs twice: with 'async no' (connect() finishes the SOCKS
 * exchange itself) and with 'async yes', the default (a non-blocking
 * connect returns EINPROGRESS at once and ssh's own poll drives the
 * exchange), the second set named *_async. SOCKS64_IT_ASYNC=0 or 1
 * runs only the one mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "harness_shimnet.h"

#define MARKSSH		"socks64-ssh-5b2e"
#define SSH_PORT	"2222"		/* not 22: known_hosts says [name]:port */

static struct h_proc sshd_proc;
static char	ssh_why[128];		/* why the ssh cases skip, or "" */
static char	ssh_key[PATH_MAX], ssh_known[PATH_MAX], log_sshd[PATH_MAX];

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
	char *argv[] = { sn.ip_cmd, "netns", "exec", sn.ns_s6, "/usr/sbin/sshd",
	    "-D", "-e", "-f", cfg, NULL };
	struct h_spawn_opts o = { .listen_fd = -1 };

	if (!sn_have("ssh") || !sn_have("ssh-keygen") ||
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

static void
need_ssh(void)
{
	sn_need_ready();
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
	return sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL, cmd);
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
		if (h_log_has(sn.err_path, bad[i])) {
			h_log_dump(sn.err_path);
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
	sn_assert_output_has(MARKSSH);
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:" SSH_PORT);
	assert_true(h_log_has(log_sshd, "Accepted publickey for root"));
	kh = h_read_file(ssh_known, NULL);
	assert_non_null(kh);
	assert_non_null(strstr(kh, "[www6.example]:" SSH_PORT " "));
	free(kh);
	assert_int_equal(ssh_run("yes", NULL, NULL), 0);
	sn_assert_output_has(MARKSSH);
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
	sn_assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("yes", CMD("CheckHostIP=yes"), NULL), 0);
	sn_assert_output_has(MARKSSH);
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
	h_tmp(path, sizeof(path), sn.async_mode ? "ssh/cm-a-%C" :
	    "ssh/cm-s-%C");
	snprintf(cp, sizeof(cp), "ControlPath=%s", path);
	x = CMD("ControlMaster=auto", "ControlPersist=60", cp);
	/*
	 * The ssh of the case before may have exited while the gateway
	 * still closes its tunnel: its line must come before the count,
	 * so wait (bounded) for the gateway to hold no session.
	 */
	end = h_now_ms() + 10000;
	while (h_fd_count(sn.gw_proc.pid) > sn.gw_idle_fds && h_now_ms() < end)
		h_sleep_ms(50);
	before = h_log_count(sn.log_gw, "dest=www6.example:" SSH_PORT);
	assert_int_equal(ssh_run("accept-new", x, NULL), 0);
	sn_assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("accept-new", x, NULL), 0);
	sn_assert_output_has(MARKSSH);
	assert_int_equal(ssh_run("accept-new", x, "exit"), 0);
	/* The master's line comes when its tunnel ends, after "exit". */
	end = h_now_ms() + 10000;
	while ((n = h_log_count(sn.log_gw, "dest=www6.example:" SSH_PORT)) <=
	    before && h_now_ms() < end)
		h_sleep_ms(50);
	if (n != before + 1) {
		h_log_dump(sn.log_gw);
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
	if (!sn_have("git"))
		skip();
	ssh_opts(opt, khv, sizeof(khv), "accept-new");
	len = (size_t)snprintf(gsc, sizeof(gsc), "GIT_SSH_COMMAND=ssh");
	for (i = 0; i < SSH_OPTS && len < sizeof(gsc); i++)
		len += (size_t)snprintf(gsc + len, sizeof(gsc) - len, " %s",
		    opt[i]);
	snprintf(url, sizeof(url), "ssh://root@www6.example:" SSH_PORT
	    "%s/repo.git", sn.www6);
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD("env", gsc, "git", "ls-remote", url)), 0);
	sn_assert_output_has("refs/heads/main");
	h_tmp(dst, sizeof(dst), sn.async_mode ? "ssh-clone-async" :
	    "ssh-clone");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dst);
	(void)!system(cmd);
	assert_int_equal(sn_run_in(sn.ns_c4, GW4, 0, RUN_MS, NULL,
	    CMD("env", gsc, "git", "clone", "-q", url, dst)), 0);
	snprintf(f, sizeof(f), "%s/f", dst);
	got = h_read_file(f, NULL);
	assert_non_null(got);
	assert_string_equal(got, "hello\n");
	free(got);
	sn_assert_gateway_relayed("192.0.2.2", "www6.example:" SSH_PORT);
}

static void
stop_sshd(void)
{
	h_proc_stop(&sshd_proc);
}

int
main(void)
{
	const struct CMUnitTest all[] = {
		BOTH(test_ssh_v4_client_to_v6_server),
		BOTH(test_ssh_check_host_ip_new_process),
		BOTH(test_ssh_control_master_shares_one_tunnel),
		BOTH(test_git_over_ssh_v4_client_to_v6_server),
	};

	return sn_main("it_shim_ssh", all, sizeof(all) / sizeof(all[0]),
	    start_sshd, stop_sshd);
}
