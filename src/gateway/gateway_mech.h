/*
 * gateway_mech.h - the gateway's mechanism: listeners, sessions, dialing
 * and relaying. Owned by the mechanism files; see gatewayd.h for policy.
 *
 * Included from gatewayd.h after the policy declarations, so the types
 * of conf.c (struct gw_conf, enum family_pref) are known here.
 */
#ifndef SOCKS64_GATEWAY_MECH_H
#define SOCKS64_GATEWAY_MECH_H

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct chain;
struct gw_conf;
struct session;
struct socks5_addr;

/* ---------------------------------------------------------------- */
/* listen.c: listening sockets and the accept path                   */

struct listener {
	int			fd;
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			inherited;	/* from systemd: never closed on reload */
};

struct listen_set {
	struct listener		*v;
	size_t			 n;
	int64_t			 backoff_until;	/* ms, monotonic; 0: none */
};

/*
 * Opens a TCP socket listening on sa with backlog: SO_REUSEADDR,
 * IPV6_V6ONLY for IPv6 (its own family only), nonblocking,
 * close-on-exec. Returns the fd, or -1 with errno.
 */
int	listen_open(const struct sockaddr *sa, socklen_t salen, int backlog);
/*
 * Adopts the sockets systemd passed (LISTEN_FDS, LISTEN_PID), fds
 * 3..3+n-1, and unsets the variables so no child inherits them.
 * Returns the count (0: not socket-activated) or -1 (logged).
 */
int	listen_inherit(struct listen_set *ls);
/*
 * Makes ls listen on exactly the addresses of c: keeps the sockets
 * already bound to an address still listed, opens the new ones and
 * closes the rest. Inherited sockets are left alone. Returns the number
 * of addresses that could not be opened (each logged), or -1 when not
 * one of them could: ls then listens where it did before (reopened if
 * the old sockets had to be closed to free an address).
 */
int	listen_reconcile(struct listen_set *ls, const struct gw_conf *c);
void	listen_close_all(struct listen_set *ls);
/*
 * Accepts what is pending on l and starts a session for each client c
 * admits. Pauses the whole set (ls->backoff_until) when the process runs
 * out of descriptors, memory or threads, rather than spinning.
 */
void	listen_accept(struct listen_set *ls, struct listener *l,
	    struct gw_conf *c);

/* ---------------------------------------------------------------- */
/* session.c: one client, from greeting to the closing log line      */

struct session;

/*
 * A session for the accepted client fd under config c (it takes its own
 * reference), not yet running; NULL when out of memory.
 */
struct session *session_new(int fd, const struct sockaddr *client,
	    socklen_t clientlen, struct gw_conf *c);
/* Frees a session that never ran; its fd stays the caller's. */
void	session_discard(struct session *s);
/* Runs s to its end on the calling thread and frees it. */
void	session_run(struct session *s);

/* ---------------------------------------------------------------- */
/* session_thread.c: the threads that run sessions, and their count  */

/*
 * Starts a detached thread serving the accepted client fd under config
 * c (the thread takes its own reference). Returns 0, or -1 with errno
 * when no thread could be made; the caller still owns fd then.
 */
int	session_spawn(int fd, const struct sockaddr *client,
	    socklen_t clientlen, struct gw_conf *c);
/* Sessions running now. */
unsigned int session_count(void);
/*
 * Waits until no session runs or timeout_ms passed. Returns the number
 * still running.
 */
unsigned int session_wait_all(unsigned int timeout_ms);
/* Counts a session ended (session_close() calls it). */
void	session_ended(void);

/* ---------------------------------------------------------------- */
/* dial.c: resolving a destination and connecting to it              */

#define DIAL_MAX_ADDRS	32

struct dial_addrs {
	struct sockaddr_storage	 v[DIAL_MAX_ADDRS];
	size_t			 n;
};

struct dial_result {
	int			 fd;		/* connected, nonblocking */
	struct sockaddr_storage	 peer;		/* the address that answered */
	struct sockaddr_storage	 local;		/* getsockname: BND.ADDR */
	int			 err;		/* errno of the failure */
	uint8_t			 rep;		/* SOCKS5_REP_* */
	const char		*why;		/* a failure not the destination's
						   ("client left during connect"),
						   or NULL */
};

/*
 * The addresses dst stands for: a literal as is, a name through
 * getaddrinfo (an IPv6 literal sent as a name, RFC 3089 section 3,
 * parses without a query) on a thread of its own, waited for until
 * deadline (ms, monotonic): a look-up still under way then fails with
 * X'06' and is left to finish (and free itself) alone. IPv4-mapped IPv6
 * addresses become IPv4. Returns 0, or -1 with *rep set and *why a
 * static reason.
 */
int	dial_resolve(const struct socks5_addr *dst, int64_t deadline,
	    struct dial_addrs *out, uint8_t *rep, const char **why);
/*
 * dial_resolve() for the client on fd client, watched while the name
 * is looked up: when it resets or closes, -1 at once with *rep X'01'
 * and *why "client left during look-up" (the look-up finishes alone).
 */
int	dial_resolve_for(int client, const struct socks5_addr *dst,
	    int64_t deadline, struct dial_addrs *out, uint8_t *rep,
	    const char **why);
/* Look-up threads running now, those dial_resolve() gave up on included. */
unsigned int dial_lookup_count(void);
/*
 * Puts the addresses in the order pref tries them (RFC 8305 section 4
 * interleaving for happy eyeballs, one family first for the others) and
 * drops those of an excluded family. Pure; returns the new count.
 */
size_t	dial_order(struct dial_addrs *a, enum family_pref pref);
/*
 * Connects to one of the addresses in a (already ordered) within
 * timeout_ms. With happy eyeballs a new attempt starts every delay_ms or
 * as soon as one fails, the first to finish wins and the others are
 * closed; otherwise attempts run one after the other. Returns 0 with
 * res->fd set, or -1 with res->err and res->rep.
 */
int	dial_connect(const struct dial_addrs *a, enum family_pref pref,
	    unsigned int delay_ms, unsigned int timeout_ms,
	    struct dial_result *res);
/*
 * dial_connect() for the client on fd client, watched meanwhile: when
 * it resets or closes (not when it merely sent more, which stays
 * unread) every attempt is closed at once and -1 returned with
 * res->why "client left during connect", res->err 0, res->rep X'01'.
 * An attempt that connected by then is returned all the same.
 */
int	dial_connect_for(int client, const struct dial_addrs *a,
	    enum family_pref pref, unsigned int delay_ms,
	    unsigned int timeout_ms, struct dial_result *res);

/* ---------------------------------------------------------------- */
/* relay.c: moving bytes both ways until both sides are done         */

#define RELAY_NO_SPLICE	0x1	/* read/write only (tests, odd fds) */

struct relay_result {
	uint64_t	 up;		/* bytes written to the destination */
	uint64_t	 down;		/* bytes written to the client */
	const char	*end;		/* "eof", "idle", "error" */
	int		 err;		/* errno when end is "error" */
	const char	*side;		/* whose socket failed: "client",
					   "dest"; NULL: none, or poll() */
};

/*
 * Relays between client and dest (both nonblocking) until both
 * directions met EOF and were flushed, no byte moved for idle_ms, or a
 * side failed. An EOF is passed on as shutdown(SHUT_WR) once every byte
 * read before it was written. Closes neither fd. Returns 0 (eof), or -1
 * (idle or error; res says which).
 */
int	relay_run(int client, int dest, unsigned int idle_ms,
	    unsigned int flags, struct relay_result *res);
/*
 * Writes all of buf to the nonblocking fd, waiting at most timeout_ms
 * for it to drain. Returns 0 or -1 with errno (ETIMEDOUT).
 */
int	relay_write_all(int fd, const void *buf, size_t len,
	    unsigned int timeout_ms);

/* ---------------------------------------------------------------- */
/* bind.c: BIND, the peer that connects back (RFC 1928 section 4)     */

/*
 * The local address this host would send from to reach toward (port
 * 0), found without sending anything. Returns 0 or -1 with errno.
 */
int	bind_local_toward(const struct sockaddr *toward,
	    struct sockaddr_storage *out);
/*
 * Opens the listening socket of a BIND: on the address that reaches
 * toward (the expected peer), or, with toward NULL (any peer) or no
 * route to it in ctl_local's family, on ctl_local's address (the
 * gateway's end of the control connection); any port. *bnd gets where
 * it listens (BND of the first reply). Returns the nonblocking fd, or
 * -1 with errno.
 */
int	bind_listen(const struct sockaddr *toward,
	    const struct sockaddr *ctl_local, struct sockaddr_storage *bnd);
/*
 * Whether peer is one of the expected addresses (ports ignored); an
 * empty list expects anyone. Pure.
 */
int	bind_peer_expected(const struct dial_addrs *expect,
	    const struct sockaddr *peer);
/*
 * Accepts the next connection on lfd before deadline (ms, monotonic),
 * watching the control connection ctl meanwhile. Returns the peer's
 * nonblocking fd (address in *peer), or -1 with errno: ETIMEDOUT at the
 * deadline, ECONNRESET when the client closed or failed first.
 */
int	bind_accept(int lfd, int ctl, int64_t deadline,
	    struct sockaddr_storage *peer);
/*
 * BIND (RFC 1928 section 4) for session s, to its end: listen, first
 * reply, the peer within the bind timeout (X'06' if none), second
 * reply, relay; or chain_command() when a rule says "via". Returns 0
 * or -1 (s says why).
 */
int	bind_command(struct session *s);

/* ---------------------------------------------------------------- */
/* chain.c: a request handed on to the next gateway (RFC 3089 s. 4)   */

/* Bytes read from the next hop and not yet passed on: a reply or more. */
#define CHAIN_BUF	1024

struct chain_result {
	int			 fd;		/* to the hop, nonblocking */
	struct socks5_reply	 reply;		/* the hop's last reply */
	uint8_t			 raw[SOCKS5_REQUEST_MAX]; /* its bytes */
	size_t			 rawlen;
	uint8_t			 buf[CHAIN_BUF]; /* read past the reply */
	size_t			 len;
	uint8_t			 rep;		/* our reply when we failed */
	int			 err;		/* errno of that failure */
	const char		*why;		/* static text of it */
};

/*
 * Connects to the hop within timeout_ms, negotiates (RFC 1929 with the
 * chain's credentials when it has some, else no authentication), sends
 * the request as the client made it (a name stays a name, so only the
 * last gateway resolves it) and reads the hop's reply, waiting at most
 * timeout_ms after the hop accepted us. Returns 0 with res->fd and
 * res->reply, whatever its code (the caller passes it on verbatim), or
 * -1 with res->rep, res->err and res->why and nothing open.
 */
int	chain_open(const struct chain *h, uint8_t cmd,
	    const struct socks5_addr *dst, unsigned int timeout_ms,
	    struct chain_result *res);
/*
 * Reads the hop's next reply (BIND's second) before deadline (ms,
 * monotonic), watching ctl so a client that leaves is noticed. Returns
 * 0 (res->reply, res->raw), or -1 with res->rep, res->err, res->why.
 */
int	chain_read_reply(struct chain_result *res, int ctl, int64_t deadline);
/*
 * CONNECT or BIND of session s through hop h, to its end: the hop's
 * replies passed on verbatim, then the relay; our own reply when the
 * hop cannot be used. Returns 0 or -1 (s says why).
 */
int	chain_command(struct session *s, const struct chain *h);

/* ---------------------------------------------------------------- */
/* udp.c: UDP ASSOCIATE, the datagram relay (RFC 1928 sections 6-7)   */

/* One association; the caller fills "in", udp_run fills "out". */
struct udp_assoc {
	/* in */
	const struct gw_conf	*conf;
	uint64_t		 session;	/* id, for debug lines */
	int			 ctl;		/* the TCP control connection */
	int			 cli;		/* udp_open()'s socket */
	struct sockaddr_storage	 expect;	/* client's UDP address; port
						   0: any port */
	const struct sockaddr	*tcp_client;	/* for the rules */
	const char		*user;		/* NULL: anonymous */
	/* out */
	uint64_t		 up_dgrams, up_bytes;	/* client -> remote */
	uint64_t		 down_dgrams, down_bytes; /* remote -> client */
	uint64_t		 dropped;
	const char		*end;		/* "eof", "idle", "error" */
	int			 err;		/* errno when "error" */
};

/*
 * The address the client's datagrams must come from (RFC 1928 section
 * 6: DST of the UDP ASSOCIATE request), the port DST.PORT (0: any).
 * An unspecified DST.ADDR (0.0.0.0, ::) or a name means the address of
 * the control connection's peer. Pure. Returns 0, or -1 (EAFNOSUPPORT)
 * when DST.ADDR is of another family than ctl_peer.
 */
int	udp_expect(const struct socks5_addr *dst,
	    const struct sockaddr *ctl_peer, struct sockaddr_storage *out);
/* Whether a datagram from src belongs to the association. Pure. */
int	udp_client_ok(const struct sockaddr *expect,
	    const struct sockaddr *src);
/*
 * Puts the UDP request header naming from in front of the payload that
 * starts at buf + off. Returns the offset the datagram now starts at,
 * or -1 when the header does not fit in front of it. Pure.
 */
long	udp_wrap(uint8_t *buf, size_t off, const struct socks5_addr *from);
/*
 * Opens the association's client-side socket on local's address, any
 * port. Returns the nonblocking fd (address in *bnd) or -1 with errno.
 */
int	udp_open(const struct sockaddr *local, struct sockaddr_storage *bnd);
/*
 * Relays datagrams (rules applied to each destination) until the
 * control connection closes (0), or a failure or idle time out (-1).
 */
int	udp_run(struct udp_assoc *a);
/*
 * UDP ASSOCIATE for session s, to its end: the client-side socket, the
 * reply naming it, udp_run() until the control connection closes.
 * Returns 0 or -1 (s says why; its udp counts are for the log line).
 */
int	udp_command(struct session *s);

/* ---------------------------------------------------------------- */
/* sdnotify.c: the systemd notification protocol, by hand            */

/* Whether NOTIFY_SOCKET is set (the service manager waits for READY). */
int	sdnotify_enabled(void);
/*
 * Sends one notification ("READY=1", "STATUS=...") as a datagram to
 * $NOTIFY_SOCKET. Returns 0, or -1 (not under systemd, or send failed).
 */
int	sdnotify(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- */
/* session.c, continued: the session as the command files see it     */

/*
 * Input buffer: greeting, RFC 1929 message and request are each at most
 * 513 bytes and consumed one after the other; the rest is what a client
 * pipelined after its request, passed on to the destination.
 */
#define SESSION_INBUF	4096

/*
 * One client, owned by its thread from accept to session_close(). The
 * command handlers (session.c's CONNECT, bind.c, udp.c, chain.c) fill
 * in how it went; session.c alone creates it and writes its log line.
 */
struct session {
	uint64_t		 id;
	int			 cfd;		/* the client */
	int			 dfd;		/* the destination, or -1 */
	struct gw_conf		*conf;		/* our reference, for life */
	struct sockaddr_storage	 client;
	char			 client_str[ADDR_STRLEN];
	int64_t			 start;		/* ms, monotonic */
	int64_t			 deadline;	/* end of the handshake */
	int64_t			 dial_deadline;	/* end of look-up + connect */

	uint8_t			*in;		/* SESSION_INBUF bytes, for the
						   handshake; NULL once relaying */
	size_t			 inlen;
	int			 spoke;		/* wrote to the client since it
						   last sent: poll first */
	int			 answered;	/* wrote to it at all */
	int			 nodelay;	/* TCP_NODELAY set on cfd */
	int			 relayed;	/* the relay (or UDP) began */

	uint8_t			 method;
	char			 user[256];	/* "": not authenticated */
	int			 have_req;
	enum socks5_status	 req_fault;	/* the request's, or OK */
	struct socks5_request	 req;		/* as far as it parsed */
	/*
	 * The addresses CONNECT and BIND route through (passed ones; BIND:
	 * the peers), 4 KiB: taken by session_route(), freed before the
	 * relay (a held relay carries the session for hours). NULL before
	 * and after.
	 */
	struct dial_addrs	*addrs;
	/*
	 * One command's working state at a time, so they share the space:
	 * CONNECT and BIND hand over to a chain in hop; UDP ASSOCIATE uses
	 * udp alone.
	 */
	union {
		struct chain_result	 hop;
		struct udp_assoc	 udp;
	};
	struct relay_result	 relay;
	struct sockaddr_storage	 via;		/* who dfd reaches; or unset */
	const struct chain	*chain;		/* the next hop, or NULL */
	int			 udp_ran;	/* its counts are for the log */

	int			 rep;		/* sent to the client; -1: none */
	int			 rule;		/* line of the rule that denied
						   it (0: a default); -1: not
						   denied */
	const char		*fail;		/* why it ended early, or NULL */
	int			 err;		/* errno behind fail, or 0 */
	int			 logged;	/* the closing line is written */
	struct session		*next;		/* queued for an idle thread */
};

/* Records why the session ends early (the first reason is kept). */
void	session_fail(struct session *s, const char *why, int err);
/*
 * Writes a message to the client within the handshake timeout; len -1
 * (an encoder's failure) fails. Returns 0 or -1 (after session_fail).
 */
int	session_send(struct session *s, const uint8_t *buf, int len);
/*
 * Sends a reply (RFC 1928 section 6) with BND bnd (NULL or AF_UNSPEC:
 * 0.0.0.0:0) and records its code for the log. Returns 0 or -1.
 */
int	session_reply(struct session *s, uint8_t rep,
	    const struct sockaddr *bnd);
/* The rules' verdict on s's request about addr (NULL: before DNS). */
struct verdict session_policy(struct session *s, const struct sockaddr *addr);
/* Replies X'02' for verdict v and records it. */
void	session_denied(struct session *s, const struct verdict *v);
/*
 * Where s's request goes: s->addrs (the passed addresses, in dialing
 * order; empty for a BIND that expects any peer), allocated here and
 * owned by the session, or *via, the chain the deciding rule names. On
 * failure the reply is sent. Returns 0 or -1.
 */
int	session_route(struct session *s, const struct chain **via);
/*
 * Relays s->cfd and s->dfd until done, bytes the client pipelined
 * first; counted in s->relay. Frees s->addrs and the input buffer
 * first. Returns relay_run()'s result.
 */
int	session_relay(struct session *s);

/* ---------------------------------------------------------------- */
/* two helpers every mechanism file uses                              */

/*
 * The failure path of a function that opened fd: closes it and returns
 * -1 with errno as the failure left it (close() may change errno).
 */
static inline int
mech_close_fail(int fd)
{
	int saved = errno;

	close(fd);
	errno = saved;
	return -1;
}

/* ---------------------------------------------------------------- */
/* the clock every deadline above is measured on                      */

/* CLOCK_MONOTONIC in milliseconds (inline: main.c is not in the tests). */
static inline int64_t
mech_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* SOCKS64_GATEWAY_MECH_H */
