/*
 * harness_chaos.h - the randomized client of it_chaos.c (issue 6): a
 * seeded generator, and a "script" - one SOCKS5 conversation drawn from
 * a grammar (greeting, RFC 1929 login, request, relay) with one field
 * corrupted or not, sent in random pieces, lock-step or pipelined, and
 * cut off at a random point by a close, a reset or a half-close - run
 * against the real gatewayd with an oracle at every step. A script
 * is a pure function of its seed, so a failure is replayed by its seed
 * alone. Nothing here asserts: scripts run in many threads at once and
 * report through struct hx_result; the test's main thread judges.
 */
#ifndef SOCKS64_IT_HARNESS_CHAOS_H
#define SOCKS64_IT_HARNESS_CHAOS_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* xorshift64*: small, fast, and the same sequence on every machine. */
struct hx_rng {
	uint64_t	s;
};
void		hx_rng_seed(struct hx_rng *r, uint64_t seed);
uint64_t	hx_rng_next(struct hx_rng *r);
/* Uniform in [0, n) (n > 0). */
unsigned int	hx_rng_below(struct hx_rng *r, unsigned int n);
/* 1 with probability percent/100. */
int		hx_rng_chance(struct hx_rng *r, unsigned int percent);

/*
 * What the scripts run against, set up by the test: the gateway's two
 * listeners, the destinations it may reach, and the time bounds. The
 * gateway's config must say what the scripts' oracles assume: auth
 * password none, HX_USER with HX_PASS, "block to HX_BLOCKED_ADDR",
 * "block to HX_BLOCKED_NAME", and then "pass to any".
 */
#define HX_USER		"chaos"
#define HX_PASS		"monkey wrench"
#define HX_BLOCKED_ADDR	"127.0.0.9"
#define HX_BLOCKED_NAME	"blocked.test"
#define HX_UNKNOWN_NAME	"nosuch.test"	/* in no hosts file */
#define HX_NOROUTE4	"192.0.2.1"	/* no route in our namespace */
#define HX_NOROUTE6	"2001:db8::1"

struct hx_world {
	uint16_t	gw4_port;	/* gatewayd on 127.0.0.1 */
	uint16_t	gw6_port;	/* and on ::1 */
	uint16_t	echo4_port;	/* tcpsrv -m echo on 127.0.0.1 */
	uint16_t	echo6_port;	/* and on ::1 */
	uint16_t	sink_port;	/* tcpsrv -m hold on 127.0.0.1 */
	uint16_t	closed_port;	/* nothing listens there (v4, v6) */
	uint16_t	udp4_port;	/* udpecho on 127.0.0.1 */
	int		handshake_ms;	/* the config's "timeout handshake" */
	int		bind_ms;	/* the config's "timeout bind" */
	int		slack_ms;	/* added to every "no hang" bound */
};

/* Counters of what the scripts did, so a run shows what it covered. */
enum hx_stat {
	HX_ST_SCRIPTS,
	HX_ST_VALID,		/* no fault, not cut off before the reply */
	HX_ST_FAULT,		/* a field corrupted */
	HX_ST_ABORT,		/* cut off during the handshake */
	HX_ST_PIPELINED,
	HX_ST_AUTH,		/* logged in with RFC 1929 */
	HX_ST_REP0,		/* got success */
	HX_ST_REPFAIL,		/* got a failure reply code */
	HX_ST_CLOSED,		/* the gateway closed without a reply */
	HX_ST_RELAYED,		/* echo compared byte for byte */
	HX_ST_SINK,		/* data into a server that never answers */
	HX_ST_MIDRELAY,		/* cut off during the relay */
	HX_ST_HALFCLOSE,
	HX_ST_RESET,
	HX_ST_BIND,		/* a BIND's peer came and was relayed */
	HX_ST_UDP,		/* a datagram came back through */
	HX_ST_STALL,		/* waited for the handshake timeout */
	HX_ST_MAX
};
extern const char *const hx_stat_name[HX_ST_MAX];

/* One script's outcome. */
struct hx_result {
	int		failed;		/* an oracle failed */
	char		why[320];	/* which, and what was seen */
	char		plan[256];	/* the script, in words */
	unsigned int	stat[HX_ST_MAX];
};

/*
 * Runs the script of seed against w. Every wait is bounded; the script
 * takes at most a few handshake timeouts. res is filled in.
 */
void	hx_script_run(const struct hx_world *w, uint64_t seed,
	    struct hx_result *res);

/*
 * Reads exactly len bytes within timeout_ms. Returns len, HX_EOF when
 * the peer closed (or reset) first, HX_TIMEOUT when nothing more came
 * in time; *got (if not NULL) the bytes read before either.
 */
#define HX_EOF		(-1)
#define HX_TIMEOUT	(-2)
#define HX_GARBAGE	(-3)	/* bytes that are no reply */
int	hx_read(int fd, void *buf, size_t len, int timeout_ms, size_t *got);
/*
 * Reads a SOCKS5 reply within timeout_ms, a byte at a time (nothing
 * relayed after it is taken): the code, HX_EOF, HX_TIMEOUT or
 * HX_GARBAGE.
 */
int	hx_read_reply(int fd, struct socks5_reply *out, int timeout_ms);
/*
 * Waits until the peer closes (EOF or reset) within timeout_ms,
 * counting the bytes that came before it into *extra (if not NULL).
 * Returns 0 when it closed, HX_TIMEOUT when not.
 */
int	hx_wait_eof(int fd, int timeout_ms, size_t *extra);

#endif /* SOCKS64_IT_HARNESS_CHAOS_H */
