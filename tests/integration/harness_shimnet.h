/*
 * harness_shimnet.h - the network-namespace topology of the shim's end
 * to end tests (it_shim_netns.c, it_shim_ssh.c): an IPv4-only and an
 * IPv6-only client, a dual-stack gateway, an IPv4-only and an
 * IPv6-only server (RFC 3089 section 2's four cases), the servers on
 * them, and running a program in a client namespace with libsocks64
 * preloaded. Nothing here runs unless a test's main calls sn_main().
 */
#ifndef SOCKS64_IT_HARNESS_SHIMNET_H
#define SOCKS64_IT_HARNESS_SHIMNET_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "harness.h"

struct CMUnitTest;

#define GW4		"192.0.2.1:1080"
#define GW6		"[2001:db8:c6::1]:1080"
#define MARK4		"socks64-marker-v4-7d1e"
#define MARK6		"socks64-marker-v6-93ab"
#define MARKFF		"socks64-firefox-c05f"
#define RUN_MS		20000		/* one client program */
#define FAST_MS		3000		/* "fails fast" */

#define CMD(...)	((const char *const[]){ __VA_ARGS__, NULL })

/*
 * The topology's state, filled by sn_main's group setup and read by
 * the cases (one thread: cmocka runs them in turn).
 */
struct shimnet {
	int	ready;			/* topology up and gateway running */
	char	why_not[256];		/* reason the tests are skipped */
	char	ip_cmd[64];
	char	python[64];
	char	lib_own[PATH_MAX];	/* this build's library */
	char	lib_plain[PATH_MAX];	/* a library any program can take */
	char	san_rt[PATH_MAX];	/* sanitizer runtime to preload, or "" */
	char	www4[PATH_MAX], www6[PATH_MAX];	/* served directories */
	char	log_gw[PATH_MAX], log_h4[PATH_MAX], log_h6[PATH_MAX];
	char	log_dns6[PATH_MAX], log_echo6[PATH_MAX], log_tcp6[PATH_MAX];
	char	log_g1[PATH_MAX];	/* a case's own first gateway */
	char	out_path[PATH_MAX], err_path[PATH_MAX];	/* sn_run_in's */
	char	conf[PATH_MAX];		/* 'async no' */
	char	conf_async[PATH_MAX];	/* 'async yes' */
	int	async_mode;		/* this case's: sn_run_in takes conf_async */
	struct h_proc gw_proc, h4_proc, h6_proc, dns6_proc, echo6_proc;
	struct h_proc tcp6_proc;
	int	gw_idle_fds;		/* the gateway's, with no session */
	char	ns_prefix[16];		/* this run's prefix: s64s<pid> */
	char	ns_c4[24], ns_c6[24], ns_gw[24], ns_s4[24], ns_s6[24];
};
extern struct shimnet sn;

/*
 * Runs the cases of all (n of them, BOTH() pairs: even entries sync)
 * as the cmocka group named group around the topology, honouring
 * SOCKS64_IT_ASYNC (0 or 1: one mode) and SOCKS64_IT_ONLY (a name
 * pattern). Only here are the exit and signal handlers that remove the
 * namespaces installed. more_setup (or NULL) starts the test's own
 * servers once the servers are up, before the gateway; it returns 0,
 * or -1 to fail the group. more_teardown (or NULL) stops them before
 * the namespaces go. Returns cmocka's result, for main to return.
 */
int	sn_main(const char *group, const struct CMUnitTest *all, size_t n,
	    int (*more_setup)(void), void (*more_teardown)(void));

/* cmocka setup functions: the mode of the case about to run. */
int	sn_mode_sync(void **state);
int	sn_mode_async(void **state);

/* Each case in both modes; the async one named *_async. */
#define BOTH(f)	{ #f, f, sn_mode_sync, NULL, NULL }, \
		{ #f "_async", f, sn_mode_async, NULL, NULL }

/* Skips the case (saying why) unless the topology is up. */
void	sn_need_ready(void);

/* Whether a program is installed (on PATH). */
int	sn_have(const char *prog);

/* Truncates a file (an output about to be written again). */
void	sn_empty(const char *path);

/*
 * Runs cmd (NULL-ended) in namespace ns with the library preloaded and
 * the gateway gw set; stdout and stderr to sn.out_path/err_path
 * (truncated first). third_party: a program that cannot take a
 * sanitizer runtime (skipped if no plain library exists). Returns the
 * exit code, or -1 on a timeout; *ms gets the run time when not NULL.
 */
int	sn_run_in(const char *ns, const char *gw, int third_party,
	    int timeout_ms, int64_t *ms, const char *const *cmd);

/* Fails the case unless sn.out_path holds needle. */
void	sn_assert_output_has(const char *needle);

/* Fails the case unless the gateway logged a relay of dest for client. */
void	sn_assert_gateway_relayed(const char *client, const char *dest);

#endif /* SOCKS64_IT_HARNESS_SHIMNET_H */
