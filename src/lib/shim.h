/*
 * shim.h - private header of libsocks64, the RFC 3089 "Socks Lib".
 *
 * A table of contents: one banner per source file. Everything here has
 * hidden visibility (the Makefile builds src/lib with
 * -fvisibility=hidden); only the interposed libc functions and the
 * public API of include/socks64.h are exported, by the version script.
 */
#ifndef SOCKS64_SHIM_H
#define SOCKS64_SHIM_H

#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "socks5.h"

/*
 * On the definition of every interposed libc function and public API
 * function: the rest is hidden by -fvisibility=hidden, and a hidden
 * symbol cannot be exported even by the version script.
 */
#define SHIM_EXPORT	__attribute__((visibility("default")))

/* ---------------------------------------------------------------- */
/* real.c: the real libc functions behind our interposers             */

/*
 * The next definition of symbol after this library (dlsym RTLD_NEXT),
 * or NULL if there is none or it resolves back into this library (a
 * second copy of the shim preloaded, or linked in as well). Each hook
 * file caches its own pointers under real_once, lazily, because
 * another library's constructor may call a hook before ours ran.
 */
void	*real_symbol(const char *symbol);
/*
 * A once-only initialisation that a fork cannot leave stuck: state 0
 * (never run), -1 (done), or the fork generation (real_forked) of the
 * process in which a thread is running it. A child forked while another
 * thread of the parent was inside init finds a generation not its own
 * (that thread does not exist in the child) and runs init itself, as
 * glibc's pthread_once does, and as a sanitizer's replacement for
 * pthread_once does not. A vfork child, whose parent's threads go on,
 * waits like any other thread.
 */
struct real_once {
	_Atomic long	state;
};
#define REAL_ONCE_INIT	{ 0 }
/*
 * Runs init under once unless it has run (or is running in another
 * thread of this process: then waits for it, in 1 ms sleeps). errno is
 * kept. For initialisations that are not real-symbol loaders.
 */
void	real_once_run(struct real_once *once, void (*init)(void));
/*
 * Runs init under once, as every hook file's loader does, and returns
 * 1 once it has run; returns 0 at once, without waiting, if this thread
 * is already inside one of these initialisations (a hook re-entered
 * from dlsym's allocation): the caller then does its work with
 * real_raw. errno is kept.
 */
int	real_once(struct real_once *once, void (*init)(void));
/* A fork's child handler (fork.c): this process is a new generation. */
void	real_forked(void);
/*
 * The system call nr made directly, not through libc (whose syscall()
 * is one of our hooks). Returns the result, or -1 with errno set as
 * libc's syscall() would; -1/ENOSYS on an architecture without the
 * instruction written out here (x86-64, AArch64 and RISC-V 64 have it).
 */
long	real_raw(long nr, long a1, long a2, long a3, long a4, long a5,
	    long a6);
/*
 * What real_symbol asks: dlsym. A test seam: a test sets it before any
 * hook has run, to re-enter the hooks from inside their initialisation.
 */
extern void *(*real_resolver)(void *, const char *);

/* ---------------------------------------------------------------- */
/* fork.c: the locks held across fork()                               */

/*
 * Each registers its file's pthread_atfork handlers (prepare: take the
 * lock; parent and child: release it). fork.c calls them once, from
 * the library's constructor, in lock order: never from inside a once
 * routine, which a fork in another thread makes the child run a second
 * time (real_once), which would register the handlers twice and lock a
 * mutex twice at the child's next fork. fakeip_atfork returns
 * pthread_atfork's answer.
 */
void	sockreg_atfork(void);
int	fakeip_atfork(void);
void	getaddrinfo_atfork(void);
void	pending_atfork(void);

/* ---------------------------------------------------------------- */
/* idmap.c: a 64-bit key -> pointer hash map (caller locks)           */

struct idmap {
	uint64_t	*keys;		/* 0: empty slot */
	void		**vals;
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 used;
};
#define IDMAP_INIT	{ NULL, NULL, 0, 0 }
/* The value stored under key, or NULL. */
void	*idmap_get(const struct idmap *m, uint64_t key);
/* Stores val under key (0 is not a key). Returns 0, or -1: no memory. */
int	idmap_put(struct idmap *m, uint64_t key, void *val);
/* Removes key; returns its value, or NULL if it was not there. */
void	*idmap_del(struct idmap *m, uint64_t key);
/*
 * Walks the map: *pos starts at 0; returns 1 with *key and *val set
 * for each entry, then 0. The map must not change during the walk.
 */
int	idmap_next(const struct idmap *m, size_t *pos, uint64_t *key,
	    void **val);
/* Frees the map's arrays (not the values); it is then empty. */
void	idmap_clear(struct idmap *m);

/* ---------------------------------------------------------------- */
/* config.c: /etc/socks64.conf and the SOCKS64_* environment          */

#ifndef SHIM_CONF_PATH
#define SHIM_CONF_PATH		"/etc/socks64.conf"	/* make socks64conf= */
#endif
#define SHIM_DEFAULT_PORT	1080
#define SHIM_DEFAULT_TIMEOUT_MS	10000
/* Class E: never routed, yet public to browsers; see libsocks64(3). */
#define SHIM_DEFAULT_FAKE_V4	"240.0.0.0/4"
/* RFC 8215 local-use IPv4/IPv6 translation prefix. */
#define SHIM_DEFAULT_FAKE_V6	"64:ff9b:1::/48"

enum resolve_mode {
	RESOLVE_DELEGATE = 0,	/* every name not local is delegated */
	RESOLVE_LOCAL_FIRST,	/* resolve; delegate only if no address */
};

#define SHIM_MAX_PATHS	8	/* gateway lines: alternatives */
#define SHIM_MAX_HOPS	8	/* gateways on one line: a chain */

/*
 * One way out, a `gateway` line: the gateway this host connects to,
 * then the gateways after it in strict order (RFC 3089 section 4,
 * figure 2 seen from the client). Each later hop is asked of the one
 * before it by a CONNECT carrying its address or name unresolved, so
 * only the gateway before it needs to reach it.
 */
struct shim_path {
	struct sockaddr_storage	 addr;		/* the first gateway */
	socklen_t		 addr_len;	/* 0 until resolved */
	char			 name[256];	/* if given by name */
	uint16_t		 port;		/* host order */
	size_t			 nhops;		/* gateways after it */
	struct socks5_addr	 hops[SHIM_MAX_HOPS - 1];
};

struct shim_conf {
	int			 enabled;	/* 0: no gateway: change nothing */
	/*
	 * The gateway lines, tried in turn while a first gateway does not
	 * answer. gateway* repeat the first hop of paths[0] (where the
	 * old single-gateway readers look).
	 */
	struct shim_path	*paths;
	size_t			 npaths;
	struct sockaddr_storage	 gateway;	/* first gateway */
	socklen_t		 gateway_len;	/* 0 until resolved */
	char			 gateway_name[256]; /* if given by name */
	uint16_t		 gateway_port;	/* host order */
	char			 user[256];	/* "": no authentication */
	char			 password[256];
	int			 debug;
	enum resolve_mode	 mode;
	struct addr_net		 fake_v4;	/* SHIM_DEFAULT_FAKE_V4 */
	struct addr_net		 fake_v6;	/* SHIM_DEFAULT_FAKE_V6 */
	char			**local_suffixes; /* resolved locally */
	size_t			 nlocal_suffixes;
	struct addr_net		*direct;	/* real nets reached directly */
	size_t			 ndirect;	/* (loopback, own nets implied) */
	unsigned int		 timeout_ms;	/* whole SOCKS exchange */
	int			 async;		/* non-blocking connects go on
						   in the background (pending.c) */
};

/*
 * The configuration, loaded once on first use (never NULL, immutable
 * afterwards). A call made while the same thread is loading it (the
 * real getaddrinfo reaching a hook) gets a disabled configuration.
 */
const struct shim_conf *shim_conf(void);

/*
 * The pieces of shim_conf(), apart so they can be tested:
 * shim_conf_defaults fills c with the built-in defaults (disabled);
 * shim_conf_parse applies the directives in buf (file names it in the
 * messages) and returns the number of errors, each recorded in e;
 * shim_conf_env applies the SOCKS64_* overrides that getenv_fn gives
 * (NULL: none, as in a setuid program). shim_conf_release frees what
 * the parser allocated. None of them does I/O or name look-ups.
 */
struct conf_errors;
void	shim_conf_defaults(struct shim_conf *c);
int	shim_conf_parse(struct shim_conf *c, const char *buf, size_t len,
	    struct conf_errors *e);
int	shim_conf_env(struct shim_conf *c, char *(*getenv_fn)(const char *),
	    struct conf_errors *e);
void	shim_conf_release(struct shim_conf *c);
/*
 * Makes the loader read path instead of SOCKS64_CONF or the default
 * (NULL: back to those). -1 with errno EALREADY once loaded.
 */
int	shim_conf_set_path(const char *path);
/*
 * Writes "socks64: " and the formatted message as one line on stderr
 * with a single write(2), keeping errno (no stdio: the program's
 * buffers are not ours). shim_debug writes only when debug is on.
 */
void	shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	shim_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- */
/* fakeip.c: the fake address pool and the fake -> name table         */

/*
 * The fake address for name in family (AF_INET or AF_INET6): the same
 * name always gets the same address in a process, derived from a hash
 * of the name so that it is also the same across processes where the
 * range allows. Returns 0, or -1 with errno ENOSPC when the range is
 * exhausted (logged once). sa must hold a sockaddr_in6; port is 0.
 */
int	fakeip_assign(const char *name, int family, struct sockaddr *sa,
	    socklen_t *salen);
/*
 * If sa is a fake address handed out by this process, copies its name
 * into name (size len) and returns 1; returns 0 if it is not one. The
 * "not ours" answer is made with integer compares, before any lock.
 */
int	fakeip_lookup(const struct sockaddr *sa, char *name, size_t len);
/* Whether sa lies in one of the fake ranges at all (no lock). */
int	fakeip_in_range(const struct sockaddr *sa);
/*
 * (An IPv4-mapped IPv6 address, ::ffff:240.x.y.z, counts as the IPv4
 * fake it carries: AI_V4MAPPED answers hand those out. A name buffer
 * of 256 bytes always holds a name.)
 *
 * The same on a table of one's own (tests; the ranges of the process's
 * table come from shim_conf()). fakeip_table_new takes the two ranges
 * (NULL or an unusable one: no fakes of that family) and returns NULL
 * with errno set on failure.
 */
struct fakeip_table;
struct fakeip_table *fakeip_table_new(const struct addr_net *v4,
	    const struct addr_net *v6);
void	fakeip_table_free(struct fakeip_table *t);
int	fakeip_table_assign(struct fakeip_table *t, const char *name,
	    int family, struct sockaddr *sa, socklen_t *salen);
int	fakeip_table_lookup(struct fakeip_table *t, const struct sockaddr *sa,
	    char *name, size_t len);
int	fakeip_table_in_range(const struct fakeip_table *t,
	    const struct sockaddr *sa);
/*
 * A name as the table keys it: lower case, one trailing dot dropped.
 * Returns its length, or -1 if empty or it does not fit in len.
 */
int	fakeip_normalise(const char *name, char *out, size_t len);

/* ---------------------------------------------------------------- */
/* hostfam.c: the address families this host has                      */

#define HOSTFAM_V4	0x01
#define HOSTFAM_V6	0x02
/*
 * The families (HOSTFAM_*) of the addresses that are not loopback,
 * link-local or IPv4-mapped on the interfaces that are up, from
 * getifaddrs(), kept for two seconds in one atomic word (no lock).
 * Both when unknown. hostfam_of is the pure part; hostfam_flush drops
 * the kept answer. errno is kept.
 */
int	hostfam_get(void);
struct ifaddrs;
int	hostfam_of(const struct ifaddrs *list);
void	hostfam_flush(void);

/* ---------------------------------------------------------------- */
/* delegate.c: which names are delegated to the gateway               */

/*
 * 1 if name is to be delegated (not localhost, not in /etc/hosts, not
 * under a local suffix, not a literal of a family this host has), 0 if
 * it is to be resolved by the real resolver.
 */
int	delegate_name(const char *name, int family);
/*
 * The same for the configuration c (delegate_name uses shim_conf()).
 * family is what the program asked for (AF_UNSPEC, AF_INET, AF_INET6):
 * a literal of the other family is delegated like a name (RFC 3089
 * section 3), and so is one of a family the host has no address of.
 */
int	delegate_decide(const struct shim_conf *c, const char *name,
	    int family);
/* AF_INET or AF_INET6 if name is a literal glibc takes, else AF_UNSPEC. */
int	delegate_literal(const char *name);
/* Whether name is use-application-dns.net (always NXDOMAIN). */
int	delegate_canary(const char *name);

/* Beside HOSTFAM_V4/V6 in an answer: IPv4 fakes as ::ffff:a.b.c.d. */
#define DELEGATE_ANSWER_MAPPED	0x04
/*
 * Which fakes answer a request for family with getaddrinfo flags (only
 * AI_V4MAPPED and AI_ALL matter) on a host with families have: a mask
 * of HOSTFAM_V4, HOSTFAM_V6 and DELEGATE_ANSWER_MAPPED; 0 for none (the
 * program asked for a family the host does not have).
 */
int	delegate_answer_families(int family, int flags, int have);

/* ---------------------------------------------------------------- */
/* hosts.c: the names of /etc/hosts                                   */

/*
 * Calls fn for every name and alias on every line of a hosts file in
 * buf whose first word is an IPv4 or IPv6 address ('#' comments, other
 * lines skipped). fn returning -1 stops the walk (and hosts_parse then
 * returns -1); otherwise returns the number of names seen. Pure.
 */
typedef int (*hosts_name_fn)(const char *name, size_t len, int family,
	    void *arg);
int	hosts_parse(const char *buf, size_t len, hosts_name_fn fn, void *arg);
/* A set of normalised names from a hosts file buffer (NULL: no memory). */
struct hosts_set;
struct hosts_set *hosts_set_new(const char *buf, size_t len);
void	hosts_set_free(struct hosts_set *s);
int	hosts_set_has(const struct hosts_set *s, const char *norm);
/*
 * Whether the normalised name is in /etc/hosts (read once, on first
 * use) or is this host's own name. No lock after the first call.
 */
int	hosts_has(const char *norm);

/* ---------------------------------------------------------------- */
/* getaddrinfo.c, gethostbyname.c: the name hooks' testable parts     */

/*
 * getaddrinfo() for configuration c: a delegated name gets fake
 * addresses in a list shaped by the real getaddrinfo (see the file);
 * any other goes to libc untouched. The hook is this with shim_conf().
 */
int	getaddrinfo_lookup(const struct shim_conf *c, const char *node,
	    const char *service, const struct addrinfo *hints,
	    struct addrinfo **res);
/*
 * Whether getaddrinfo_lookup would answer node itself (fake addresses,
 * the DoH canary's EAI_NONAME, or local-first's look-up with the
 * gateway behind it) rather than hand the call to libc unchanged: the
 * one decision, shared with the getaddrinfo_a hook. No lock, no real
 * call; it may read /etc/hosts once and ask getifaddrs.
 */
int	getaddrinfo_claims(const struct shim_conf *c, const char *node,
	    const struct addrinfo *hints);
/* Whether ai heads a list the shim allocated (freed by the shim). */
int	getaddrinfo_is_ours(const struct addrinfo *ai);
/*
 * Lays out a hostent for one address of family (4 or 16 bytes) and
 * name in buf, as the _r functions must; -1 with errno ERANGE if buf
 * is too small.
 */
int	gethostbyname_fill(struct hostent *he, char *buf, size_t buflen,
	    const char *name, int family, const void *addr);

/* ---------------------------------------------------------------- */
/* resolv.c: res_query and kin answered for delegated names           */

#define RESOLV_TYPE_A		1
#define RESOLV_TYPE_AAAA	28
#define RESOLV_TYPE_HTTPS	65
#define RESOLV_TYPE_ANY		255
#define RESOLV_CLASS_IN		1

/* One question: qname points at its wire form (qnamelen bytes). */
struct resolv_question {
	uint16_t	 id;
	int		 rd;
	char		 name[256];	/* dotted text */
	const uint8_t	*qname;
	size_t		 qnamelen;
	uint16_t	 type;
	uint16_t	 qclass;
};

/* One answer record, owner the question's name. */
struct resolv_rr {
	uint16_t	 type;
	uint16_t	 len;
	uint8_t		 data[16];
};

/* "a.b." -> 1 a 1 b 0. Returns the length, or -1 (bad name, no room). */
int	resolv_encode_name(const char *name, uint8_t *out, size_t cap);
/*
 * Reads the one question of a standard query (QR 0, opcode 0, QDCOUNT
 * 1, no compression). Returns 0 or -1. Pure; q->qname points into msg.
 */
int	resolv_parse_query(const uint8_t *msg, size_t len,
	    struct resolv_question *q);
/*
 * Writes the response to q into out: header (ID, RD as asked, QR, RA,
 * rcode), the question, then the records that fit (TC set if one did
 * not). Returns the length, or -1 if not even the question fits.
 */
int	resolv_build(uint8_t *out, size_t cap, const struct resolv_question *q,
	    int rcode, const struct resolv_rr *rr, size_t nrr);
/*
 * Whether the shim answers (name, class, type) itself; if so sets the
 * rcode and up to two records (A and/or AAAA with fake addresses).
 */
int	resolv_answer(const struct shim_conf *c, const char *name, int qclass,
	    int qtype, int *rcode, struct resolv_rr *rr, size_t *nrr);
/* The old names of the interposers, which resolv.h no longer declares. */
struct __res_state;
int	__res_query(const char *, int, int, unsigned char *, int);
int	__res_search(const char *, int, int, unsigned char *, int);
int	__res_querydomain(const char *, const char *, int, int,
	    unsigned char *, int);
int	__res_nquery(struct __res_state *, const char *, int, int,
	    unsigned char *, int);
int	__res_nsearch(struct __res_state *, const char *, int, int,
	    unsigned char *, int);
int	__res_nquerydomain(struct __res_state *, const char *, const char *,
	    int, int, unsigned char *, int);
int	__res_send(const unsigned char *, int, unsigned char *, int);
int	__res_nsend(struct __res_state *, const unsigned char *, int,
	    unsigned char *, int);

/* ---------------------------------------------------------------- */
/* sockreg.c: the program's sockets the shim took over                */

/* An IPv4 or IPv6 socket address, sized and aligned for either. */
union shim_sockaddr {
	struct sockaddr		sa;
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;
};

/* What is known of one socket; sockreg_get hands out a copy. */
struct sockreg_entry {
	uint64_t		cookie;		/* SO_COOKIE: the key */
	int			fd;		/* last seen at; -1: closed */
	int			family;		/* the program's, before any
						   replacement; 0: unknown */
	int			udp;		/* a datagram socket */
	socklen_t		peerlen;	/* 0: no fake peer */
	union shim_sockaddr	peer;		/* as the program gave it */
	/* A UDP association (udp.c); ctl -1 and relaylen 0 when none. */
	int			ctl;		/* its TCP control connection */
	uint64_t		ctl_cookie;	/* ctl's SO_COOKIE */
	socklen_t		relaylen;
	union shim_sockaddr	relay;		/* where datagrams go */
	long long		checked_ms;	/* ctl last seen alive */
};

/* fd's SO_COOKIE, or 0 if it is not a socket. errno is kept. */
uint64_t sockreg_cookie(int fd);
/*
 * Whether fd may be a socket of ours: a lock-free bit test, for the
 * hot paths; 0 is certain, 1 means ask sockreg_get.
 */
int	sockreg_maybe(int fd);
/* Copies the entry of fd's socket into out: 1, or 0 if there is none. */
int	sockreg_get(int fd, struct sockreg_entry *out);
/*
 * Records the fake peer of fd's socket (udp: a datagram socket, whose
 * data path the hooks then watch): 0, or -1 (no memory, not a socket).
 */
int	sockreg_set_peer(int fd, const struct sockaddr *peer, socklen_t len,
	    int udp);
/* fd's socket has no fake peer any more (connect AF_UNSPEC). */
void	sockreg_forget_peer(int fd);
/*
 * Records the UDP association of fd's socket (family: the program's),
 * whose control connection is ctl; an association it had is ended (its control closed if it is
 * still ours). Returns 0, or -1: the caller closes ctl.
 */
int	sockreg_set_udp(int fd, int family, int ctl, uint64_t ctl_cookie,
	    const struct sockaddr *relay, socklen_t relaylen);
/* The association of ctl_cookie on fd was seen alive at now_ms. */
void	sockreg_checked(int fd, uint64_t ctl_cookie, long long now_ms);
/* Ends the association of ctl_cookie on fd (closing ctl if ours). */
void	sockreg_drop_udp(int fd, uint64_t ctl_cookie);
/*
 * fd is being closed: its association ends now; its fake peer stays
 * for a dup() of it until the next sweep. The close() hook calls it.
 */
void	sockreg_close(int fd);

/* ---------------------------------------------------------------- */
/* gaiasync.c: getaddrinfo_a() (hook; the rest are glibc's own)       */

/*
 * getaddrinfo_a() for configuration c: the requests getaddrinfo_claims
 * takes are answered at once by getaddrinfo_lookup (their __return set,
 * so glibc's gai_error, gai_suspend and gai_cancel see them done); the
 * others go to the real getaddrinfo_a, in their order, with sevp. When
 * none does, the notification is made here as glibc makes it. Returns
 * what getaddrinfo_a returns.
 */
int	gaiasync_submit(const struct shim_conf *c, int mode,
	    struct gaicb *const list[], int ent, struct sigevent *sevp);

/* ---------------------------------------------------------------- */
/* socks.c: the SOCKS5 client exchange over a connected socket        */

/* Milliseconds on the monotonic clock, for deadlines and log lines. */
long long socks_now_ms(void);

/*
 * Runs greeting, optional RFC 1929 authentication and a CONNECT to dst
 * on fd (connected or still connecting to the gateway), within
 * timeout_ms in all, whether fd is blocking or not (MSG_DONTWAIT and
 * poll; its flags are left alone). Reads the reply exactly, never a byte
 * of the destination's data. Returns 0, or -1 with errno mapped from the
 * reply code (socks5_errno_from_rep), ETIMEDOUT, EACCES (authentication
 * refused) or ECONNREFUSED (the gateway closed or spoke no SOCKS5). The
 * bound address from the reply is stored in *bnd when bnd is not NULL.
 */
struct socks5_addr;
int	socks_connect(int fd, const struct shim_conf *conf,
	    const struct socks5_addr *dst, struct socks5_addr *bnd,
	    unsigned int timeout_ms);
/*
 * The same for any command (CONNECT, UDP ASSOCIATE), bounded by an
 * absolute deadline (socks_now_ms), so that the hops of a chain share
 * one bound. *answered (if not NULL) is set once the gateway has
 * spoken SOCKS5: a failure before that means "this gateway does not
 * answer" (try another), one after it is the gateway's answer.
 */
int	socks_request(int fd, const struct shim_conf *conf, uint8_t cmd,
	    const struct socks5_addr *dst, struct socks5_addr *bnd,
	    long long deadline, int *answered);

/* ---------------------------------------------------------------- */
/* connect.c: connections through the gateway                         */

/*
 * Connects the TCP socket fd through a gateway line (replacing it with
 * a socket of the first gateway's family, flags and options carried
 * over, if its own family cannot reach it), each gateway of the chain
 * asked for the next, the last for dst; the lines in turn while a
 * first gateway does not answer. All within the configured timeout (or
 * the socket's SO_SNDTIMEO if shorter), even on a non-blocking socket.
 * Returns 0 (connected, the first byte to read is the destination's),
 * or -1 with errno, the socket then a fresh one of its own family, so
 * the program can try elsewhere.
 */
int	connect_gateway(int fd, const struct shim_conf *c,
	    const struct socks5_addr *dst);
/* Where connect_classify sends a connection. */
#define ROUTE_DIRECT	0	/* the real connect() */
#define ROUTE_GATEWAY	1	/* through the gateway */
#define ROUTE_TRY	2	/* direct; through the gateway if no route */
/*
 * Where a connect (or a datagram) to sa goes: ROUTE_GATEWAY with *dst
 * filled for a fake address or a real one of a family this host has no
 * address of; ROUTE_DIRECT for loopback, the gateways, `direct`
 * networks, what cannot be relayed, anything with the shim disabled;
 * ROUTE_TRY (dst filled) for any other real address: direct, and
 * through the gateway only if the kernel says there is no route. *conf
 * is set unless ROUTE_DIRECT. -1 with errno EHOSTUNREACH for a fake
 * address this process never handed out (it cannot know the name).
 * The common case costs integer compares and one cached answer.
 */
int	connect_classify(const struct sockaddr *sa, socklen_t salen,
	    const struct shim_conf **conf, struct socks5_addr *dst);
/*
 * sendto/sendmsg with MSG_FASTOPEN on a TCP socket to sa: if sa goes
 * through the gateway, connects fd there and sets *done, so the caller
 * sends the data plainly (no byte leaves for a fake address itself).
 * Returns 0, or -1 with errno (the connect failed).
 */
int	connect_fastopen(int fd, const struct sockaddr *sa, socklen_t salen,
	    int *done);
/*
 * Puts a fresh socket of family (same type and protocol) in fd's place,
 * with fd's O_NONBLOCK, FD_CLOEXEC and common options. Returns 0, or -1
 * with errno (fd unchanged).
 */
int	connect_replace(int fd, int family, int type, int protocol);
/*
 * The address to (tolen bytes) as the socket fd of family domain can
 * reach it: as is, or IPv4-mapped from a dual-stack IPv6 socket, into
 * out. Returns 1 if it can, 0 if the socket must be replaced first.
 */
int	connect_reach(int fd, int domain, const struct sockaddr_storage *to,
	    socklen_t tolen, struct sockaddr_storage *out, socklen_t *outlen);

/* ---------------------------------------------------------------- */
/* pending.c: non-blocking connects whose SOCKS exchange goes on      */

/* What pending_poll and pending_state say of a descriptor. */
#define PENDING_NONE	0	/* not a pending socket */
#define PENDING_WAIT	1	/* the exchange goes on */
#define PENDING_DONE	2	/* it just ended well: the kernel's now */
#define PENDING_FAILED	3	/* it failed; the socket is shut down */
/* Whether any socket is pending: one atomic load, no lock. */
int	pending_active(void);
/*
 * Starts the exchange for dst on fd, whose TCP connect to the gateway
 * is under way, bounded by c's timeout from now. Returns 0, or -1 with
 * errno (no memory): the caller then fails the connect.
 */
int	pending_start(int fd, const struct shim_conf *c,
	    const struct socks5_addr *dst);
/*
 * Moves fd's exchange on without waiting: PENDING_WAIT with *need (a
 * poll event) and *deadline set, PENDING_DONE, PENDING_FAILED with *err
 * (0 once read), or PENDING_NONE. Any pointer may be NULL.
 */
int	pending_poll(int fd, short *need, long long *deadline, int *err);
/* The same without moving it (PENDING_WAIT or PENDING_FAILED, *err). */
int	pending_state(int fd, int *err);
/* The error a failed exchange left on fd, once; then 0. */
int	pending_take_error(int fd);
/*
 * Finishes fd's exchange: 0 when it is open (or was never pending, or
 * its error was read), -1 with its error, or EAGAIN when nonblock is set
 * and it goes on; otherwise waits up to its deadline.
 */
int	pending_finish(int fd, int nonblock);
/*
 * The data hooks' gate: 1 with *n = -1 and errno set if a send or
 * receive on fd (flags: its MSG_DONTWAIT) must not reach the kernel
 * yet, as for a socket still connecting; 0 for the real call.
 */
int	pending_io(int fd, int flags, ssize_t *n);
/*
 * epoll_ctl on a pending fd: our registration (what the exchange needs,
 * tagged with the entry) stands in for the program's, remembered.
 * Returns 1 with *ret set if handled, 0 for the real call.
 */
struct epoll_event;
int	pending_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev,
	    int *ret);
/*
 * One event from epfd: 0 the program's, 1 the program's once translated
 * (a failed exchange: its data, EPOLLERR), 2 ours (dropped; the nearest
 * deadline is folded into *deadline).
 */
int	pending_epoll_event(int epfd, struct epoll_event *ev,
	    long long *deadline);
/* Fails the expired exchanges registered with epfd; the next deadline. */
long long pending_epoll_expire(int epfd);
/* fd is being closed: its entry goes. */
void	pending_close(int fd);

/* ---------------------------------------------------------------- */
/* poll.c: poll, select, epoll and getsockopt (hooks only)            */

/*
 * Also glibc's fortified entry points of poll and ppoll, which a
 * program built with _FORTIFY_SOURCE calls instead (they reach libc's
 * internal poll, past our hook). Declared here: glibc's headers do so
 * only in a fortified build.
 */
int	__poll_chk(struct pollfd *fds, nfds_t nfds, int timeout,
	    size_t fdslen);
int	__ppoll_chk(struct pollfd *fds, nfds_t nfds,
	    const struct timespec *timeout, const sigset_t *ss,
	    size_t fdslen);

/* ---------------------------------------------------------------- */
/* udp.c: datagrams through a UDP association (hooks only)            */

/*
 * sendto, sendmsg, sendmmsg, send, write, recvfrom, recvmsg, recvmmsg,
 * recv, read and syscall (for SYS_sendmmsg/SYS_recvmmsg) are defined
 * there; their state is the sockreg.c entry of each socket.
 *
 * The bodies of those hooks, for the other data calls (dataio.c): the
 * data in msg (msg_name NULL for a connected socket), with recv or send
 * flags. Each first holds back a TCP socket whose SOCKS exchange goes
 * on (pending_io), then carries a datagram of a UDP socket through its
 * association. Returns 1 with *n set (bytes, or -1 with errno) if it
 * did the call, 0 if the real call is to be made.
 */
int	udp_send(int fd, const struct msghdr *msg, int flags, ssize_t *n);
int	udp_recv(int fd, struct msghdr *msg, int flags, ssize_t *n);

/* ---------------------------------------------------------------- */
/* dataio.c: the other ways data reaches a socket (hooks only)        */

/*
 * readv, writev, preadv2, pwritev2 (offset -1), sendfile, splice and
 * glibc's fortified read, recv and recvfrom are defined there, so that
 * no byte of the program's enters a SOCKS exchange under way and no
 * byte of the gateway's reaches the program. glibc declares the
 * fortified ones only in a fortified build.
 */
ssize_t	__read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t	__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t	__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
	    int flags, __SOCKADDR_ARG addr, socklen_t *addrlen);

#endif /* SOCKS64_SHIM_H */
