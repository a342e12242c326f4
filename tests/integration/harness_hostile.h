/*
 * harness_hostile.h - additions to the integration harness (harness.h)
 * for the hostile-client, fault and security tests (it_hostile.c,
 * it_hostile_faults.c, it_hostile_security.c): many sockets at once,
 * resets, a client bound to a chosen source address, threads and
 * descriptors of the daemon counted from /proc, bulk transfers in
 * parallel threads, and the fixture those files share. Everything here
 * is bounded in time and count like the rest of the harness. Only the
 * fixture functions (last section) assert: cmocka's asserts belong to
 * the test's main thread.
 */
#ifndef SOCKS64_IT_HARNESS_HOSTILE_H
#define SOCKS64_IT_HARNESS_HOSTILE_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/*
 * Time bounds scaled for the sanitizer builds (SANITIZE in the
 * environment, as tests/run.sh passes it): ms under plain builds,
 * 3 * ms under ASan, 6 * ms under TSan.
 */
int	hh_ms(int ms);
/* Which sanitizer the tests run under: "", "1" (ASan) or "thread". */
const char *hh_sanitizer(void);

/*
 * Raises this process's RLIMIT_NOFILE (soft, and hard too when allowed)
 * to at least want. Children started afterwards inherit it. Returns the
 * new soft limit, or -1.
 */
long	hh_raise_nofile(long want);

/* Threads of pid, from /proc/PID/task; -1 on error. */
int	hh_task_count(pid_t pid);
/*
 * Polls (bounded) until the daemon holds at most base_fds descriptors
 * and base_tasks threads. Returns 0 when both got there, else -1 with
 * the last counts in *fds and *tasks (either may be NULL).
 */
int	hh_gw_settle(const struct h_gw *gw, int base_fds, int base_tasks,
	    int timeout_ms, int *fds, int *tasks);

/* Runs ip(8) with up to 7 arguments (NULL-ended): its exit code or -1. */
int	hh_ip(const char *arg, ...) __attribute__((sentinel));

/*
 * A TCP connection to host:port from the local address src (a literal
 * configured on this host), within timeout_ms. -1 on error.
 */
int	hh_connect_from(const char *src, const char *host, uint16_t port,
	    int timeout_ms);
/*
 * Opens n connections to host:port at once (nonblocking connects, then
 * one poll loop), so a burst larger than the listen backlog completes
 * as the peer accepts. fds[i] is the socket or -1. Returns how many
 * connected within timeout_ms.
 */
int	hh_connect_many(const char *host, uint16_t port, int *fds, int n,
	    int timeout_ms);
/* Closes fd with SO_LINGER {1, 0}: the peer sees a reset, not an EOF. */
void	hh_reset(int fd);
/*
 * Whether fd is still open at the peer's end now (no EOF, no reset).
 * Data waiting on fd is read and discarded to find out.
 */
int	hh_peer_open(int fd);

/*
 * The client side of a handshake, every step bounded by step_ms (the
 * harness's own helpers wait H_IO_MS, too long when a refusal is what
 * the test expects). fd is connected already. user NULL: no
 * authentication. Returns the reply code (0: relaying), or -1 when the
 * gateway closed or said nothing in time; *stage names the step that
 * failed (a static string) when it is not NULL.
 */
int	hh_socks_handshake(int fd, const char *user, const char *pass,
	    const char *host, uint16_t port, int step_ms, const char **stage);

/*
 * A greeting offering "no authentication" and a CONNECT request for the
 * DOMAINNAME name of len bytes (sent as is: it need not be valid), into
 * buf (at least len + 12 bytes). Returns the length.
 */
size_t	hh_name_request(uint8_t *buf, const char *name, size_t len,
	    uint16_t port);

/*
 * One bulk transfer through the gateway in a thread of its own:
 * connect to the gateway from gw->host, CONNECT dst_host:dst_port (an
 * echo server), then h_xfer_run() with len bytes of stream seed.
 */
struct hh_xfer {
	/* in */
	const struct h_gw	*gw;
	const char		*dst_host;
	uint16_t		 dst_port;
	size_t			 len;
	uint64_t		 seed;
	int			 timeout_ms;
	/* out */
	int			 rep;		/* the CONNECT's reply */
	int			 rc;		/* h_xfer_run's */
	/* Set atomically, so the starting thread may poll them. */
	int			 opened;	/* the CONNECT succeeded */
	int64_t			 done_ms;	/* when it ended */
	struct h_xfer		 x;
	/* private */
	pthread_t		 thread;
	int			 started;
};
/* Starts n transfers; returns how many threads started. */
int	hh_xfer_start(struct hh_xfer *v, int n);
/* Joins them all (each bounded by its own timeout_ms). */
void	hh_xfer_join(struct hh_xfer *v, int n);
/*
 * Whether transfer t arrived whole: every byte sent came back from the
 * echo server in order (SHA-256 of both directions equal, lengths
 * equal to len, EOF seen).
 */
int	hh_xfer_intact(const struct hh_xfer *t);

/* A seeded generator for garbage (splitmix64). */
uint64_t hh_rand(uint64_t *state);

/* ---------------------------------------------------------------- */
/*
 * The fixture the it_hostile*.c files share: one daemon per test, an
 * echo and a hold server (tests/tools/tcpsrv) per group, a users file
 * with HH_USER, and the sockets a test opened. These functions assert
 * with cmocka: call them from the test's main thread only.
 */

#define HH_USER		"alice"
#define HH_PASS		"correct horse"
#define HH_MAX_OWNED	1400

struct hh_fixture {
	struct h_gw	gw;		/* the running test's daemon */
	int		base_tasks;	/* its threads once ready */
	struct h_proc	echo, hold;
	uint16_t	echo_port, hold_port;
	char		conf[PATH_MAX];	/* the test's config file */
	char		users[PATH_MAX];	/* HH_USER:hash(HH_PASS) */
	/*
	 * Sockets a test opened, closed by the teardown even when an
	 * assertion left the test early: a thousand of them must not
	 * outlive their test.
	 */
	int		owned[HH_MAX_OWNED];
	int		nowned;
};

extern struct hh_fixture hh;

/* cmocka group and test fixtures. */
int	hh_group_setup(void **state);
int	hh_group_teardown(void **state);
int	hh_setup(void **state);
int	hh_teardown(void **state);
/* Registers fd (if >= 0) to be closed by the teardown; returns fd. */
int	hh_own(int fd);
/* Closes an owned socket and forgets it; reset: with SO_LINGER 0. */
void	hh_disown(int fd, int reset);
/* Writes the test's config: loopback clients, then the text given. */
void	hh_write_conf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* Starts the daemon on hh.conf and notes its threads once ready. */
void	hh_start(void);
/*
 * Asserts the daemon is back where it was once ready: every session's
 * descriptors closed and every session thread gone (bounded wait).
 */
void	hh_assert_settled(void);
/* A relay to the echo server (owned), or the test fails. */
int	hh_open_echo(void);
/* len bytes of stream seed through an echo relay and back, compared. */
void	hh_echo_bulk(int fd, size_t len, uint64_t seed);
/* A correct client is served: returns the milliseconds it took. */
int64_t	hh_served_now(void);
/* Polls until a CONNECT to the echo server succeeds: 1, or 0. */
int	hh_served_within(int timeout_ms);
/* Lines of the daemon's log that are a session's closing line. */
int	hh_session_lines(void);

#endif /* SOCKS64_IT_HARNESS_HOSTILE_H */
