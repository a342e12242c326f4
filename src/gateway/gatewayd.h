/*
 * gatewayd.h - private header of the RFC 3089 gateway daemon.
 *
 * A table of contents: one banner per source file. Policy (conf.c,
 * conf_rule.c, policy.c, users.c, authdelay.c) is pure and knows
 * nothing of sockets or threads; mechanism (listen.c, session.c,
 * dial.c, relay.c, main.c) acts on the verdicts policy returns.
 */
#ifndef SOCKS64_GATEWAYD_H
#define SOCKS64_GATEWAYD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "conflex.h"
#include "log.h"
#include "socks5.h"

#define GATEWAYD_VERSION	"0.1.0"
#define GATEWAYD_DEFAULT_PORT	1080

/* ---------------------------------------------------------------- */
/* conf.c: the configuration, immutable once loaded                  */

enum family_pref {
	FAMILY_HAPPY_EYEBALLS = 0,	/* RFC 8305: race, IPv6 first */
	FAMILY_IPV6_FIRST,		/* all IPv6 addresses, then IPv4 */
	FAMILY_IPV4_FIRST,
	FAMILY_IPV6_ONLY,
	FAMILY_IPV4_ONLY,
};

enum rule_action {
	RULE_PASS = 0,
	RULE_BLOCK,
};

enum rule_dest {
	DEST_ANY = 0,
	DEST_NET,		/* an address or network */
	DEST_NAME,		/* exactly this name (case-insensitive) */
	DEST_SUFFIX,		/* ".example.org": the name and below */
};

/* "client pass|block from NET": who may talk to the gateway at all. */
struct client_rule {
	enum rule_action	action;
	struct addr_net		from;		/* family AF_UNSPEC: any */
	unsigned int		lineno;
};

/*
 * "chain NAME ADDR:PORT [user NAME password PASSWORD]": a further SOCKS5
 * gateway that "pass ... via NAME" hands requests on to (RFC 3089
 * section 4), and the credentials this gateway offers it. A "via
 * ADDR:PORT" rule makes an unnamed one (name = the endpoint as written).
 */
struct chain {
	char			name[64];
	struct sockaddr_storage	addr;
	socklen_t		addrlen;
	char			user[256];	/* "": no authentication */
	char			pass[256];
	unsigned int		lineno;
};

/*
 * "pass|block [from NET] [to DEST] [port P[-Q]] [user NAME]
 *  [command connect|bind|udp-associate] [via CHAIN]": what a request
 * may reach, and (via) through which next gateway.
 */
struct rule {
	enum rule_action	action;
	struct addr_net		from;		/* family AF_UNSPEC: any */
	enum rule_dest		dest;
	struct addr_net		to_net;		/* for DEST_NET */
	char			to_name[256];	/* for DEST_NAME, DEST_SUFFIX */
	uint16_t		port_lo;	/* 0-65535: any */
	uint16_t		port_hi;
	char			user[256];	/* "": any (or none) */
	unsigned int		commands;	/* bit (1 << cmd); 0: any */
	unsigned int		via;		/* 1 + chains index; 0: none */
	unsigned int		lineno;
};

/* Authentication methods offered, as a bit set. */
#define AUTH_NONE	(1u << 0)
#define AUTH_PASSWORD	(1u << 1)

struct users;

struct gw_conf {
	_Atomic int		 refs;
	char			*path;		/* NULL: built-in defaults */

	struct sockaddr_storage	*listens;
	socklen_t		*listen_lens;
	size_t			 nlistens;

	struct client_rule	*client_rules;
	size_t			 nclient_rules;
	struct rule		*rules;
	size_t			 nrules;
	struct chain		*chains;	/* named by rules' via */
	size_t			 nchains;

	unsigned int		 auth;		/* AUTH_* set */
	char			*users_file;
	unsigned int		 users_file_line; /* for its errors */
	struct users		*users;		/* loaded with the config */

	enum family_pref	 family;
	unsigned int		 happy_delay_ms;	/* default 250 */
	unsigned int		 handshake_timeout;	/* s, default 10 */
	unsigned int		 connect_timeout;	/* s, default 10 */
	unsigned int		 bind_timeout;		/* s, default 60 */
	unsigned int		 idle_timeout;		/* s, default 3600 */
	unsigned int		 shutdown_grace;	/* s, default 10 */
	unsigned int		 max_clients;		/* default 1024 */
	unsigned int		 max_clients_per_source; /* 0: no limit
							   (default) */
	int			 protect_local;		/* default yes */
	int			 protect_private;	/* default no */

	enum log_target		 log_target;
	int			 log_target_set;	/* 0: daemon picks (-f) */
	enum log_level		 log_level;
	char			*runas;		/* NULL: stay who we are */
};

/*
 * Loads a config from path (NULL: the built-in defaults: listen on
 * 127.0.0.1:1080 and [::1]:1080, no authentication, loopback clients
 * only, every destination passed). Every error is recorded in *errs; on
 * any error NULL is returned. The users file it names is loaded too.
 * The result has one reference.
 */
struct gw_conf	*conf_load(const char *path, struct conf_errors *errs);
/* The same over a buffer already read (pure; users file not loaded). */
struct gw_conf	*conf_parse(const char *buf, size_t len,
		    struct conf_errors *errs);
struct gw_conf	*conf_defaults(void);
/* Command-line -l and -a: replace listens, add "client pass from NET". */
int		 conf_add_listen(struct gw_conf *c, const char *endpoint,
		    const char **why);
int		 conf_add_client_net(struct gw_conf *c, const char *net,
		    const char **why);
void		 conf_clear_listens(struct gw_conf *c);
struct gw_conf	*conf_ref(struct gw_conf *c);
void		 conf_unref(struct gw_conf *c);
const char	*conf_family_str(enum family_pref f);
/*
 * Appends the -t warnings on a config that loaded (no client pass rule,
 * no pass rule, a users-file that auth never uses: line 0; a chain no
 * rule uses: its line) to *w.
 */
void		 conf_warnings(const struct gw_conf *c, struct conf_errors *w);
/*
 * Reads a whole file (at most CONF_FILE_MAX bytes) into a malloc'd,
 * NUL-terminated buffer. Returns 0, or -1 with errno (EFBIG if larger).
 */
#define CONF_FILE_MAX	(4u << 20)
int		 conf_read_file(const char *path, char **buf, size_t *len);

/* ---------------------------------------------------------------- */
/* conf_rule.c: the rule language, for conf.c's parser               */

/*
 * One line each: "client pass|block from NET", "pass|block [from NET]
 * [to DEST] [port P[-Q]] [user NAME] [command CMD] [via CHAIN]" and
 * "chain NAME ADDR:PORT [user NAME password PASSWORD]", l->words[0]
 * being the directive. Appends the rule (or chain) to c, or records
 * every mistake in e as "FILE:LINE: reason" and adds nothing.
 */
void	conf_rule_client(struct gw_conf *c, struct conf_errors *e,
	    const struct conflex_line *l);
void	conf_rule_request(struct gw_conf *c, struct conf_errors *e,
	    const struct conflex_line *l);
void	conf_rule_chain(struct gw_conf *c, struct conf_errors *e,
	    const struct conflex_line *l);
/*
 * Inserts a client rule at index at (0: in front, c->nclient_rules: at
 * the end), appends a request rule. Return 0, or -1 out of memory.
 */
int	conf_rule_add_client(struct gw_conf *c, const struct client_rule *r,
	    size_t at);
int	conf_rule_add(struct gw_conf *c, const struct rule *r);

/* ---------------------------------------------------------------- */
/* policy.c: pure verdicts on clients and requests                   */

struct policy_query {
	const struct sockaddr	*client;
	const char		*user;		/* NULL: no authentication */
	uint8_t			 cmd;		/* SOCKS5_CMD_* */
	const char		*name;		/* NULL: a literal was asked */
	const struct sockaddr	*addr;		/* NULL: not resolved yet */
	uint16_t		 port;
	/*
	 * The addresses of this host's interfaces (ownaddr.c gathers
	 * them), each a /32 or /128: protect-local covers them too, and a
	 * client coming from one is on this host. NULL, 0: none known.
	 */
	const struct addr_net	*own;
	size_t			 nown;
};

struct verdict {
	enum rule_action	 action;
	unsigned int		 lineno;	/* 0: a default decided */
	const char		*why;		/* "rule", "protect-local", ... */
	const struct chain	*via;		/* pass through this hop; NULL:
						   directly (or a deferral) */
};

/* Whether this client may use the gateway at all (first match wins). */
struct verdict	policy_client(const struct gw_conf *c,
		    const struct sockaddr *client);
/*
 * The verdict on a request. Called once before resolving (addr NULL:
 * rules on networks that could still match defer to the second call)
 * and once per address the name resolved to, which decides. A passing
 * verdict names the chain its rule sends the request through, if any.
 * For BIND, addr 0.0.0.0 or :: stands for "any peer": only rules to
 * any decide it, and no protect-* applies.
 */
struct verdict	policy_request(const struct gw_conf *c,
		    const struct policy_query *q);
/*
 * Whether q's client and user could have any destination passed for
 * q->cmd (destination and port ignored): the first rule matching the
 * rest that passes something, or blocks everything, decides. UDP
 * ASSOCIATE asks this before it sets up a relay whose every datagram
 * would be dropped.
 */
struct verdict	policy_command(const struct gw_conf *c,
		    const struct policy_query *q);
/* The authentication method to pick from what the client offered. */
uint8_t		policy_method(const struct gw_conf *c,
		    const struct socks5_greeting *g);

/* ---------------------------------------------------------------- */
/* users.c: the users file ("name:crypt-hash" lines)                  */

struct users	*users_parse(const char *buf, size_t len,
		    struct conf_errors *errs);
struct users	*users_load(const char *path, struct conf_errors *errs);
/* 1 if user exists and pass matches its hash (constant-time compare). */
int		 users_check(const struct users *u, const char *user,
		    const char *pass);
size_t		 users_count(const struct users *u);
void		 users_free(struct users *u);

/* ---------------------------------------------------------------- */
/* authdelay.c: slowing down repeated failed logins from one source   */

#define AUTHDELAY_SLOTS		256	/* sources remembered at once */
#define AUTHDELAY_FREE		3	/* failures answered at once */
#define AUTHDELAY_FIRST_MS	250u	/* then this, doubling each time */
#define AUTHDELAY_MAX_MS	8000u	/* up to this */
#define AUTHDELAY_QUIET_MS	60000	/* a source's count halves per
					   quiet period */

struct authdelay_slot {
	uint8_t		key[ADDR_SOURCE_KEYLEN];	/* addr_source_key() */
	uint32_t	failures;	/* 0: a free slot */
	int64_t		last;		/* ms of its last failure */
};

/* The table of recent failures; all zero is empty. */
struct authdelay {
	struct authdelay_slot	v[AUTHDELAY_SLOTS];
};

/*
 * Records a failed login from src at now (ms on a monotonic clock) and
 * returns how long to hold back its answer: 0 for the first
 * AUTHDELAY_FREE failures in a row from that IPv4 address or IPv6 /64,
 * then authdelay_delay(), never more than cap_ms (what the handshake
 * has left). Pure: the caller serialises the calls on t.
 */
unsigned int	authdelay_fail(struct authdelay *t, const struct sockaddr *src,
		    int64_t now, unsigned int cap_ms);
/*
 * The delay for the failures-th failure in a row: 0 up to
 * AUTHDELAY_FREE, then AUTHDELAY_FIRST_MS doubling, capped at
 * AUTHDELAY_MAX_MS. Pure.
 */
unsigned int	authdelay_delay(unsigned int failures);

/* ---------------------------------------------------------------- */
/* srclimit.c: live sessions per source, for max-clients-per-source   */

/*
 * Counts one more session from src (an IPv4 address, or the /64 of an
 * IPv6 one; IPv4-mapped counts as IPv4) unless max of its sessions are
 * counted already; max 0: no limit, counted all the same, so that a
 * limit set by a reload sees the sessions already running. Every
 * session the accept path admits is counted, and srclimit_release()
 * forgets it when it ends. Thread-safe. Returns 0 (counted; also for a
 * family that is not counted at all), or -1 with errno: EUSERS at the
 * limit, ENOMEM.
 */
int		srclimit_take(const struct sockaddr *src, unsigned int max);
/* Forgets one session of src (a source with none counted: ignored). */
void		srclimit_release(const struct sockaddr *src);
/* Sessions counted for src's source now. */
unsigned int	srclimit_count(const struct sockaddr *src);
/* Sources with a session counted now (entries held). */
unsigned int	srclimit_sources(void);

/* ---------------------------------------------------------------- */
/* mechanism: see each file's own banner in this header's second half */

#include "gateway_mech.h"

#endif /* SOCKS64_GATEWAYD_H */
