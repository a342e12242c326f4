/*
 * harness_shim.c - programs with libsocks64 preloaded, run against a
 * gatewayd on loopback that alone knows the test's names (see
 * harness_shim.h). Every wait bounded; children killed by PID.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "harness_cmds.h"
#include "harness_shim.h"

void
hs_libs_find(struct hs_libs *l)
{
	const char *san = getenv("SANITIZE"), *plain;
	char cmd[128], path[PATH_MAX];
	FILE *p;

	memset(l, 0, sizeof(*l));
	h_bin(l->own, sizeof(l->own), "libsocks64.so");
	snprintf(l->plain, sizeof(l->plain), "%s", l->own);
	if (san == NULL || *san == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "cc -print-file-name=%s",
	    strcmp(san, "thread") == 0 ? "libtsan.so" : "libasan.so");
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(l->san_rt, sizeof(l->san_rt), p) == NULL)
			l->san_rt[0] = '\0';
		l->san_rt[strcspn(l->san_rt, "\n")] = '\0';
		pclose(p);
	}
	if ((plain = getenv("SOCKS64_PLAIN_BUILD")) != NULL && *plain != '\0')
		snprintf(l->plain, sizeof(l->plain), "%s/libsocks64.so",
		    plain);
	else
		h_srcpath(l->plain, sizeof(l->plain), "build/libsocks64.so");
	/* The program may run elsewhere than here: a full path. */
	if (realpath(l->plain, path) == NULL)
		l->plain[0] = '\0';
	else
		snprintf(l->plain, sizeof(l->plain), "%s", path);
}

int
hs_env(struct hs_env *e, struct h_spawn_opts *o, const struct hs_libs *l,
    int third_party, uint16_t gw_port)
{
	const char *lib = third_party ? l->plain : l->own;
	const char *a = getenv("SOCKS64_IT_ASYNC"), *name, *text;
	char path[PATH_MAX];

	if (lib[0] == '\0' || access(lib, R_OK) != 0)
		return -1;
	if (!third_party && l->san_rt[0] != '\0')
		snprintf(e->preload, sizeof(e->preload), "LD_PRELOAD=%s %s",
		    l->san_rt, lib);
	else
		snprintf(e->preload, sizeof(e->preload), "LD_PRELOAD=%s", lib);
	snprintf(e->gateway, sizeof(e->gateway),
	    "SOCKS64_GATEWAY=127.0.0.1:%u", gw_port);
	/* SOCKS64_IT_ASYNC=0 or 1: 'async no' or 'yes'; else the default. */
	name = "socks64-empty.conf";
	text = "";
	if (a != NULL && strcmp(a, "1") == 0) {
		name = "socks64-async.conf";
		text = "async yes\n";
	} else if (a != NULL && strcmp(a, "0") == 0) {
		name = "socks64-sync.conf";
		text = "async no\n";
	}
	h_tmp(path, sizeof(path), name);
	if (access(path, R_OK) != 0 && h_write_file(path, "# the gateway "
	    "comes from SOCKS64_GATEWAY\n%s", text) == -1)
		return -1;
	snprintf(e->conf, sizeof(e->conf), "SOCKS64_CONF=%s", path);
	o->env[0] = e->preload;
	o->env[1] = e->gateway;
	o->env[2] = e->conf;
	o->env[3] = "ASAN_OPTIONS=detect_leaks=0";
	o->env[4] = NULL;
	return 0;
}

int
hs_gw_start(struct h_gw *gw, const char *hosts_text)
{
	char conf[PATH_MAX];

	hc_conf(conf, sizeof(conf), "gatewayd-shim.conf",
	    "client pass from 127.0.0.0/8\npass\n");
	if (conf[0] == '\0')
		return -1;
	return hc_gw_start_hosts(gw, hosts_text, conf, NULL);
}

uint16_t
hs_tool_start(struct h_proc *p, const char *log, const char *tool, ...)
{
	struct h_spawn_opts o = { .listen_fd = -1 };
	char bin[PATH_MAX], name[64], *argv[24], *text, *at;
	const char *a;
	unsigned int port = 0;
	int64_t end;
	va_list ap;
	int n = 0;

	snprintf(name, sizeof(name), "tools/%s", tool);
	argv[n++] = h_bin(bin, sizeof(bin), name);
	va_start(ap, tool);
	while (n < 23 && (a = va_arg(ap, const char *)) != NULL)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	o.out_path = o.err_path = log;
	if (h_spawn(p, argv, &o) == -1)
		return 0;
	for (end = h_now_ms() + H_START_MS; port == 0 && h_now_ms() < end;
	    h_sleep_ms(10)) {
		if ((text = h_read_file(log, NULL)) == NULL)
			continue;
		if ((at = strstr(text, "port ")) != NULL &&
		    (sscanf(at, "port %u", &port) != 1 || port > 65535))
			port = 0;
		free(text);
	}
	if (port == 0) {
		fprintf(stderr, "harness: %s gave no port\n", bin);
		h_log_dump(log);
		h_proc_stop(p);
	}
	return (uint16_t)port;
}

int
hs_run(char *const argv[], const struct h_spawn_opts *o, int timeout_ms,
    int64_t *ms)
{
	struct h_proc p;
	int64_t t0 = h_now_ms();
	int r;

	if (h_spawn(&p, argv, o) == -1)
		return -1;
	if (h_proc_wait(&p, timeout_ms) == -1) {
		kill(p.pid, SIGKILL);
		h_proc_wait(&p, H_STOP_MS);
		r = -1;
	} else if (WIFEXITED(p.status))
		r = WEXITSTATUS(p.status);
	else
		r = 128 + WTERMSIG(p.status);
	if (ms != NULL)
		*ms = h_now_ms() - t0;
	h_proc_stop(&p);
	return r;
}
