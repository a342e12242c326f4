/*
 * harness_shim.h - additions to the integration harness (harness.h) for
 * the tests that run programs with libsocks64 preloaded against a
 * gatewayd on loopback (it_shim_valgrind.c, it_shim_faults.c): which
 * library a program can take, the environment that points it at the
 * gateway, a gateway that resolves names the program's own /etc/hosts
 * does not hold (so the shim delegates them), and runs bounded in time.
 */
#ifndef SOCKS64_IT_HARNESS_SHIM_H
#define SOCKS64_IT_HARNESS_SHIM_H

#include <limits.h>
#include <stdint.h>

#include "harness.h"

/*
 * The libraries a preloaded program can take. Under a sanitizer build
 * the library carries the sanitizer runtime, which must come first in
 * LD_PRELOAD, and third-party programs (curl, or anything under
 * valgrind) cannot take it: they get the plain build's library
 * (SOCKS64_PLAIN_BUILD names its tree; build/ otherwise) if it exists.
 */
struct hs_libs {
	char	own[PATH_MAX];		/* this build's library */
	char	plain[PATH_MAX];	/* one without a sanitizer, or "" */
	char	san_rt[PATH_MAX];	/* preloaded first, or "" */
};
void	hs_libs_find(struct hs_libs *l);

/*
 * The environment of a preloaded program: LD_PRELOAD, SOCKS64_GATEWAY
 * (127.0.0.1:gw_port), SOCKS64_CONF (an empty file: no /etc/socks64.conf
 * of the host counts; 'async yes' or 'no' alone when SOCKS64_IT_ASYNC
 * is 1 or 0) and ASAN_OPTIONS without leak checking, set into
 * o->env (o's other fields are left alone). third_party: the plain
 * library. Returns 0, or -1 when no library fits (the caller skips).
 */
struct hs_env {
	char	preload[2 * PATH_MAX + 16];
	char	gateway[64];
	char	conf[PATH_MAX + 16];
};
struct h_spawn_opts;
int	hs_env(struct hs_env *e, struct h_spawn_opts *o,
	    const struct hs_libs *l, int third_party, uint16_t gw_port);

/*
 * Starts gatewayd (through tools/nsrun) seeing hosts_text as its
 * /etc/hosts, admitting loopback clients and passing every request.
 * Needs h_names() (a private namespace). Returns 0 or -1.
 */
struct h_gw;
int	hs_gw_start(struct h_gw *gw, const char *hosts_text);

/*
 * Starts a tool of tests/tools with stdout and stderr into log (a file,
 * so a long run cannot fill a pipe and stall it) and waits for its
 * "port N" line. args NULL-ended. Returns the port, or 0.
 */
uint16_t hs_tool_start(struct h_proc *p, const char *log, const char *tool,
	    ...) __attribute__((sentinel));

/*
 * Runs argv with o to completion within timeout_ms. Returns the exit
 * code, 128+signal, or -1 if it could not run or was killed for taking
 * too long; *ms (if not NULL) gets the time it took.
 */
int	hs_run(char *const argv[], const struct h_spawn_opts *o,
	    int timeout_ms, int64_t *ms);

#endif /* SOCKS64_IT_HARNESS_SHIM_H */
