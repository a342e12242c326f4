/*
 * harness.h - support for the integration tests, which drive the real
 * gatewayd and the tools of tests/tools over real loopback sockets.
 *
 * harness.c runs processes (tool servers, curl) with every wait bounded
 * and every child killed by PID at exit, and, when run as root, moves the
 * whole test into a private network and mount namespace with its own
 * /etc/hosts, so no test can reach past loopback and no name look-up can
 * leave the machine. harness_gw.c runs gatewayd itself and reads /proc
 * about it. harness_net.c holds the socket helpers,
 * a SOCKS5 client made of the codec (src/socks5.h), a SHA-256 and the
 * byte stream the bulk transfers check.
 */
#ifndef SOCKS64_IT_HARNESS_H
#define SOCKS64_IT_HARNESS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "socks5.h"

/* Bounds on every wait, in milliseconds. */
#define H_IO_MS		5000	/* one handshake message or small echo */
#define H_START_MS	5000	/* a daemon or tool becoming ready */
#define H_STOP_MS	3000	/* SIGTERM before SIGKILL */

/* Names the private /etc/hosts maps when the test is isolated. */
#define H_NAME_V4	"it4.test"	/* 127.0.0.1 only */
#define H_NAME_V6	"it6.test"	/* ::1 only */
#define H_NAME_BOTH	"localhost"	/* ::1 and 127.0.0.1 */

/* ---------------------------------------------------------------- */
/* harness.c: environment, files, processes                         */

/*
 * Call first in main(), before any thread exists: reads SOCKS64_BUILD
 * and SOCKS64_SRC, makes the temporary directory, ignores SIGPIPE, and
 * as root (unless SOCKS64_IT_NO_NETNS is set) enters a new network and
 * mount namespace with only loopback up and private hosts, resolv.conf
 * and nsswitch.conf. Everything is undone at exit.
 */
void	h_init(void);
/*
 * Before h_init: the private nsswitch.conf says "hosts: files dns", so
 * names not in the hosts file go to the resolver on 127.0.0.1 of our
 * namespace (tests/tools/dnsd), taking the resolver's DNS code path.
 */
void	h_use_dns(void);
/* Whether the test runs in its own network namespace. */
int	h_isolated(void);
/* Whether the private hosts file (H_NAME_*) and resolver are in place. */
int	h_names(void);
const char *h_build_dir(void);
const char *h_src_dir(void);
/* "dir/name" into buf; returns buf. */
char	*h_path(char *buf, size_t len, const char *dir, const char *name);
/* A path in the temporary directory, into buf; returns buf. */
char	*h_tmp(char *buf, size_t len, const char *name);
/* A path in the build directory ("gatewayd", "tools/tcpsrv"). */
char	*h_bin(char *buf, size_t len, const char *name);
/* A path in the source tree ("tests/fixtures/it/x.conf"). */
char	*h_srcpath(char *buf, size_t len, const char *name);
/* Writes a whole file (printf format); 0 or -1. */
int	h_write_file(const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Reads a whole file, NUL-terminated; caller frees. NULL on error. */
char	*h_read_file(const char *path, size_t *len);
/*
 * A crypt(3) hash of pass under a fresh random salt of the method named
 * by prefix ("$y$" yescrypt, "$6$" SHA-512), into out. 0 or -1.
 */
int	h_crypt(const char *pass, const char *prefix, char *out, size_t len);
/* Milliseconds on the monotonic clock, and a sleep. */
int64_t	h_now_ms(void);
void	h_sleep_ms(int ms);

/* A child process. Zero it before the first use. */
struct h_proc {
	pid_t		pid;		/* 0: none */
	int		out;		/* read end of its stdout, or -1 */
	int		reaped;
	int		status;		/* wait status once reaped */
	size_t		linelen;
	char		line[4096];	/* partial line read from out */
};

struct h_spawn_opts {
	const char	*out_path;	/* stdout to this file (appended) */
	const char	*err_path;	/* stderr to this file (appended) */
	int		 capture;	/* stdout to a pipe read by h_proc_line */
	int		 listen_fd;	/* >= 0: passed as fd 3, LISTEN_FDS=1 */
	const char	*env[8];	/* extra "NAME=VALUE", NULL-ended */
	int		 nofile;	/* > 0: RLIMIT_NOFILE of the child */
};

/*
 * Starts argv[0] (a path) with stdin from /dev/null, the proxy and
 * systemd variables removed from its environment, and a parent-death
 * signal so it cannot outlive the test. Returns 0 or -1.
 */
int	h_spawn(struct h_proc *p, char *const argv[],
	    const struct h_spawn_opts *o);
/* Waits up to timeout_ms for p to exit: 0 (status in p->status) or -1. */
int	h_proc_wait(struct h_proc *p, int timeout_ms);
/* SIGTERM, then SIGKILL after H_STOP_MS; reaps; idempotent. */
void	h_proc_stop(struct h_proc *p);
/* Whether p is still running (reaps it if not). */
int	h_proc_alive(struct h_proc *p);
/*
 * Reads one line of p's captured stdout (without the newline) into buf.
 * Returns 1, 0 at end of file, -1 on timeout.
 */
int	h_proc_line(struct h_proc *p, char *buf, size_t len, int timeout_ms);
/*
 * Runs argv to completion within timeout_ms with stdout and stderr into
 * the given files (NULL: /dev/null). Returns the exit code, 128+signal,
 * or -1 if it could not run or was killed for taking too long.
 */
int	h_run(char *const argv[], const char *out_path, const char *err_path,
	    int timeout_ms);
/*
 * A tool of tests/tools run with capture; reads its "port N" line.
 * args: NULL-ended. Returns the port, or 0 on failure.
 */
uint16_t h_tool_start(struct h_proc *p, const char *tool, ...)
	    __attribute__((sentinel));

/* ---------------------------------------------------------------- */
/* harness_gw.c: gatewayd under test, and /proc probes               */

/* CPU time (user + system) pid used so far, in clock ticks; -1 on error. */
long	h_cpu_ticks(pid_t pid);
/*
 * The process holding a socket that listens on port (any address), or
 * 0: finds a daemon that forked away from the PID we started.
 */
pid_t	h_listener_pid(uint16_t port);
/* Number of open descriptors of pid, from /proc; -1 on error. */
int	h_fd_count(pid_t pid);

/* A running gatewayd. Zero it, then set the fields marked "in". */
struct h_gw {
	const char	*host;		/* in: listen literal; NULL "127.0.0.1" */
	int		 default_listen;/* in: no -l (port 1080 expected) */
	int		 activate;	/* in: pass the listener as LISTEN_FDS */
	int		 conf_listen;	/* in: the config listens on host:port
					   itself (port set by the caller) */
	int		 no_foreground;	/* in: leave out -f */
	int		 nofile;	/* in: > 0: its descriptor limit */
	const char	*env[4];	/* in: extra "NAME=VALUE", NULL-ended */
	struct h_proc	 proc;
	uint16_t	 port;		/* out */
	int		 fd_base;	/* out: descriptors once ready */
	char		 log[PATH_MAX];	/* out: its stdout and stderr */
};

/*
 * Starts gatewayd -f [-c conf] -l HOST:PORT extra... on a free port,
 * retrying with another port if that one was taken, and waits until it
 * listens there. conf NULL: built-in defaults. Returns 0 or -1.
 */
int	h_gw_start(struct h_gw *gw, const char *conf, ...)
	    __attribute__((sentinel));
/*
 * SIGTERM and a bounded wait (SIGKILL after it). Returns 0 only if the
 * daemon exited 0 and its log holds no sanitizer report, so a teardown
 * returning it fails the run for a crash no assertion saw.
 */
int	h_gw_stop(struct h_gw *gw);
/*
 * Waits (bounded) until the daemon's descriptor count drops back to the
 * count it had once ready, sessions having ended. Returns the last count.
 */
int	h_gw_fds_settle(struct h_gw *gw, int timeout_ms);
/* Sends sig to the daemon. */
int	h_gw_signal(struct h_gw *gw, int sig);
/* Whether the log file holds needle now (1/0). */
int	h_log_has(const char *path, const char *needle);
/* Polls the log until it holds needle: 1, or 0 after timeout_ms. */
int	h_log_wait(const char *path, const char *needle, int timeout_ms);
/*
 * Polls the log until one line holds every needle (NULL-ended): 1, or 0
 * after timeout_ms.
 */
int	h_log_line(const char *path, int timeout_ms, ...)
	    __attribute__((sentinel));
/* The number of lines of the log holding needle. */
int	h_log_count(const char *path, const char *needle);
/* Prints the log to stdout (for diagnosing a failure). */
void	h_log_dump(const char *path);

/* ---------------------------------------------------------------- */
/* harness_net.c: sockets, the SOCKS5 client, SHA-256, transfers      */

/* A port nothing listens on now, for host (a literal). 0 on error. */
uint16_t h_free_port(const char *host);
/* A listening socket on host:*port (0: any; set on return). -1 on error. */
int	h_listen(const char *host, uint16_t *port, int backlog);
/*
 * A listener whose accept queue is full, so the kernel drops further
 * SYNs and a connect to it hangs until its own timeout. Returns the
 * listener (and the filler connection in *filler), or -1.
 */
int	h_listen_full(const char *host, uint16_t *port, int *filler);
/* A TCP connection to a literal host, within timeout_ms. -1 on error. */
int	h_connect(const char *host, uint16_t port, int timeout_ms);
int	h_send_all(int fd, const void *buf, size_t len);
/*
 * Reads until len bytes, end of file or timeout_ms. Returns the bytes
 * read (fewer than len on EOF or timeout), -1 on an error before any.
 */
ssize_t	h_recv_n(int fd, void *buf, size_t len, int timeout_ms);
/*
 * Whether the peer closes (EOF or reset) within timeout_ms, data before
 * it discarded: 1 closed, 0 not.
 */
int	h_wait_closed(int fd, int timeout_ms);
/* Whether an accept on listener would succeed within timeout_ms. */
int	h_accept_within(int lfd, int timeout_ms);

/* Fills a with a literal (IPv4 or IPv6) or else a DOMAINNAME. */
void	h_dst(struct socks5_addr *a, const char *host, uint16_t port);
/* Greets with methods; returns the method chosen, or -1. */
int	h_socks_greet(int fd, const uint8_t *methods, size_t n);
/* RFC 1929 exchange; returns the status byte, or -1. */
int	h_socks_userpass(int fd, const char *user, const char *pass);
/* Sends a request; returns the reply code (reply in *out), or -1. */
int	h_socks_request(int fd, uint8_t cmd, const struct socks5_addr *dst,
	    struct socks5_reply *out);
/*
 * Connects to the gateway, negotiates (with user/pass when user is not
 * NULL) and asks CONNECT host:port. Returns the relaying socket when the
 * reply was 0, else -1; *rep gets the reply code (-1 if none came).
 */
int	h_socks_open(const struct h_gw *gw, const char *user, const char *pass,
	    const char *host, uint16_t port, int *rep);
/* The reply code alone; the connection is closed. */
int	h_socks_rep(const struct h_gw *gw, const char *host, uint16_t port);
/* Sends bytes, returns the 10+ byte reply code the gateway sends, or -1. */
int	h_socks_raw(const struct h_gw *gw, const void *req, size_t len);

/* SHA-256 (FIPS 180-4). */
struct h_sha256 {
	uint32_t	h[8];
	uint64_t	total;
	size_t		n;
	uint8_t		buf[64];
};
void	h_sha256_init(struct h_sha256 *s);
void	h_sha256_update(struct h_sha256 *s, const void *data, size_t len);
void	h_sha256_final(struct h_sha256 *s, uint8_t out[32]);
/* Hex of a digest, into a 65-byte buffer. */
char	*h_sha256_hex(const uint8_t d[32], char out[65]);

/*
 * The test byte stream: a seeded generator whose bytes do not depend on
 * how the caller splits its reads (tests/tools/tcpsrv.c makes the same).
 */
struct h_stream {
	uint64_t	s;
	uint64_t	word;
	unsigned int	left;
};
void	h_stream_init(struct h_stream *st, uint64_t seed);
void	h_stream_fill(struct h_stream *st, uint8_t *buf, size_t len);
/* The SHA-256 of the first len bytes of stream seed. */
void	h_stream_sha256(uint64_t seed, size_t len, uint8_t out[32]);

/*
 * A bidirectional transfer over fd: sends send_len bytes of stream
 * send_seed (then shuts down writing) while reading until EOF, both at
 * once so neither side's buffers can deadlock them.
 */
struct h_xfer {
	size_t		send_len;
	uint64_t	send_seed;
	int		timeout_ms;	/* whole transfer */
	int		no_shutdown;	/* leave writing open after sending */
	/* called once when at least pause_at bytes were sent (if set) */
	size_t		pause_at;
	void		(*pause)(void *arg);
	void		*arg;
	/* results */
	size_t		sent;
	size_t		received;
	int		got_eof;
	uint8_t		sent_sha[32];
	uint8_t		recv_sha[32];
};
/* 0 when all was sent and EOF came in time; -1 otherwise. */
int	h_xfer_run(int fd, struct h_xfer *x);

#endif /* SOCKS64_IT_HARNESS_H */
