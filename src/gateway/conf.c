/*
 * conf.c - gatewayd.conf: parsing, built-in defaults and lifetime.
 *
 * The parser is a table with one row per directive. It is pure (a buffer
 * in, a struct gw_conf out) and records every mistake as "FILE:LINE:
 * reason" instead of stopping at the first, so `gatewayd -t` shows them
 * all in one run. A loaded config never changes: a reload builds a new
 * one and sessions keep the old one alive through its reference count.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

/*
 * Timeouts end up as poll(2) milliseconds in an int, so no timeout may
 * be so large that seconds * 1000 overflows one.
 */
#define TIMEOUT_MAX		(INT_MAX / 1000)
#define MAX_CLIENTS_MAX		1048576
/* RFC 8305 section 5: at least 10 ms, and no more than 2 s. */
#define HAPPY_DELAY_MIN		10
#define HAPPY_DELAY_MAX		2000

/* The directives that may appear only once, as indexes into seen[]. */
enum once {
	ONCE_AUTH = 0,
	ONCE_USERS_FILE,
	ONCE_FAMILY,
	ONCE_HAPPY_DELAY,
	ONCE_MAX_CLIENTS,
	ONCE_PROTECT_LOCAL,
	ONCE_PROTECT_PRIVATE,
	ONCE_LOG,
	ONCE_LOG_LEVEL,
	ONCE_USER,
	ONCE_TIMEOUT_HANDSHAKE,
	ONCE_TIMEOUT_CONNECT,
	ONCE_TIMEOUT_BIND,
	ONCE_TIMEOUT_IDLE,
	ONCE_TIMEOUT_SHUTDOWN,
	ONCE_COUNT,
	ONCE_NONE = -1,		/* repeatable */
};

struct parse {
	struct gw_conf		*c;
	struct conf_errors	*e;
	unsigned int		 seen[ONCE_COUNT];	/* line, 0: not yet */
};

typedef void (*directive_fn)(struct parse *, const struct conflex_line *);

static void	 d_listen(struct parse *, const struct conflex_line *);
static void	 d_auth(struct parse *, const struct conflex_line *);
static void	 d_users_file(struct parse *, const struct conflex_line *);
static void	 d_family(struct parse *, const struct conflex_line *);
static void	 d_happy_delay(struct parse *, const struct conflex_line *);
static void	 d_timeout(struct parse *, const struct conflex_line *);
static void	 d_max_clients(struct parse *, const struct conflex_line *);
static void	 d_protect(struct parse *, const struct conflex_line *);
static void	 d_log(struct parse *, const struct conflex_line *);
static void	 d_log_level(struct parse *, const struct conflex_line *);
static void	 d_user(struct parse *, const struct conflex_line *);
static void	 d_client(struct parse *, const struct conflex_line *);
static void	 d_rule(struct parse *, const struct conflex_line *);
static void	 d_chain(struct parse *, const struct conflex_line *);

/*
 * One row per directive. Single-valued ones name their seen[] slot, so
 * a second occurrence is reported against the first. "timeout" has one
 * slot per kind and checks them itself.
 */
static const struct directive {
	const char	*name;
	directive_fn	 fn;
	int		 once;
} directives[] = {
	{ "listen",		  d_listen,	 ONCE_NONE },
	{ "auth",		  d_auth,	 ONCE_AUTH },
	{ "users-file",		  d_users_file,	 ONCE_USERS_FILE },
	{ "family",		  d_family,	 ONCE_FAMILY },
	{ "happy-eyeballs-delay", d_happy_delay, ONCE_HAPPY_DELAY },
	{ "timeout",		  d_timeout,	 ONCE_NONE },
	{ "max-clients",	  d_max_clients, ONCE_MAX_CLIENTS },
	{ "protect-local",	  d_protect,	 ONCE_PROTECT_LOCAL },
	{ "protect-private",	  d_protect,	 ONCE_PROTECT_PRIVATE },
	{ "log",		  d_log,	 ONCE_LOG },
	{ "log-level",		  d_log_level,	 ONCE_LOG_LEVEL },
	{ "user",		  d_user,	 ONCE_USER },
	{ "client",		  d_client,	 ONCE_NONE },
	{ "pass",		  d_rule,	 ONCE_NONE },
	{ "block",		  d_rule,	 ONCE_NONE },
	{ "chain",		  d_chain,	 ONCE_NONE },
};

static const char *const family_names[] = {
	[FAMILY_HAPPY_EYEBALLS]	= "happy-eyeballs",
	[FAMILY_IPV6_FIRST]	= "ipv6-first",
	[FAMILY_IPV4_FIRST]	= "ipv4-first",
	[FAMILY_IPV6_ONLY]	= "ipv6-only",
	[FAMILY_IPV4_ONLY]	= "ipv4-only",
};

const char *
conf_family_str(enum family_pref f)
{
	if ((size_t)f >= sizeof(family_names) / sizeof(family_names[0]))
		return "unknown";
	return family_names[f];
}

/* A config with every numeric default set and nothing else. */
static struct gw_conf *
conf_new(void)
{
	struct gw_conf	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	atomic_init(&c->refs, 1);
	c->auth = AUTH_NONE;
	c->family = FAMILY_HAPPY_EYEBALLS;
	c->happy_delay_ms = 250;
	c->handshake_timeout = 10;
	c->connect_timeout = 10;
	c->bind_timeout = 60;
	c->idle_timeout = 3600;
	c->shutdown_grace = 10;
	c->max_clients = 1024;
	c->protect_local = 1;
	c->protect_private = 0;
	c->log_target = LOG_TARGET_STDERR;
	c->log_target_set = 0;
	c->log_level = LOG_LEVEL_INFO;
	return c;
}

static void
conf_free(struct gw_conf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->listens);
	free(c->listen_lens);
	free(c->client_rules);
	free(c->rules);
	if (c->chains != NULL)
		explicit_bzero(c->chains, c->nchains * sizeof(*c->chains));
	free(c->chains);
	free(c->users_file);
	users_free(c->users);
	free(c->runas);
	free(c);
}

struct gw_conf *
conf_ref(struct gw_conf *c)
{
	if (c != NULL)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

/*
 * Drops one reference; the last frees the config and its users. acq_rel
 * makes every write a session made through its reference visible to the
 * thread that frees (a release fence plus a separate acquire fence would
 * do the same, but ThreadSanitizer cannot see through the fence).
 */
void
conf_unref(struct gw_conf *c)
{
	if (c == NULL)
		return;
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	conf_free(c);
}

/* ---------------------------------------------------------------- */
/* growing the arrays                                                  */

static int
add_listen(struct gw_conf *c, const struct sockaddr_storage *ss,
    socklen_t len)
{
	struct sockaddr_storage	*l;
	socklen_t		*ll;

	l = realloc(c->listens, (c->nlistens + 1) * sizeof(*l));
	if (l == NULL)
		return -1;
	c->listens = l;
	ll = realloc(c->listen_lens, (c->nlistens + 1) * sizeof(*ll));
	if (ll == NULL)
		return -1;
	c->listen_lens = ll;
	c->listens[c->nlistens] = *ss;
	c->listen_lens[c->nlistens] = len;
	c->nlistens++;
	return 0;
}

/* Inserts r at index at (0: in front, nclient_rules: at the end). */
static int
add_client_rule(struct gw_conf *c, const struct client_rule *r, size_t at)
{
	struct client_rule	*v;

	v = realloc(c->client_rules, (c->nclient_rules + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	c->client_rules = v;
	memmove(&v[at + 1], &v[at], (c->nclient_rules - at) * sizeof(*v));
	v[at] = *r;
	c->nclient_rules++;
	return 0;
}

/* Not realloc: the old array holds passwords and is wiped before free. */
static int
add_chain(struct gw_conf *c, const struct chain *h)
{
	struct chain	*v;

	if ((v = malloc((c->nchains + 1) * sizeof(*v))) == NULL)
		return -1;
	if (c->nchains > 0) {
		memcpy(v, c->chains, c->nchains * sizeof(*v));
		explicit_bzero(c->chains, c->nchains * sizeof(*v));
	}
	free(c->chains);
	c->chains = v;
	v[c->nchains++] = *h;
	return 0;
}

static int
add_rule(struct gw_conf *c, const struct rule *r)
{
	struct rule	*v;

	v = realloc(c->rules, (c->nrules + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	c->rules = v;
	v[c->nrules++] = *r;
	return 0;
}

/* ---------------------------------------------------------------- */
/* the directives                                                      */

static void
oom(struct parse *p, unsigned int line)
{
	conf_error(p->e, line, "out of memory");
}

/*
 * Checks that a directive has exactly n arguments, described by what
 * ("ADDR:PORT"). Returns 0, or -1 after recording the error.
 */
static int
want_args(struct parse *p, const struct conflex_line *l, int n,
    const char *what)
{
	if (l->nwords < n + 1) {
		conf_error(p->e, l->lineno, "expected %s after '%s'", what,
		    l->words[0]);
		return -1;
	}
	if (l->nwords > n + 1) {
		conf_error(p->e, l->lineno, "unexpected '%s' after '%s %s'",
		    l->words[n + 1], l->words[0], what);
		return -1;
	}
	return 0;
}

static void
d_listen(struct parse *p, const struct conflex_line *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;

	if (want_args(p, l, 1, "ADDR:PORT") == -1)
		return;
	if (addr_parse_endpoint(l->words[1], GATEWAYD_DEFAULT_PORT, &ss, &len,
	    &why) == -1) {
		conf_error(p->e, l->lineno,
		    "expected ADDR:PORT after 'listen', not '%s': %s",
		    l->words[1], why);
		return;
	}
	if (add_listen(p->c, &ss, len) == -1)
		oom(p, l->lineno);
}

static void
d_auth(struct parse *p, const struct conflex_line *l)
{
	unsigned int	 set = 0, m;
	int		 i;

	if (l->nwords < 2) {
		conf_error(p->e, l->lineno,
		    "expected none or password after 'auth'");
		return;
	}
	if (l->nwords > 3) {
		conf_error(p->e, l->lineno, "unexpected '%s' after 'auth %s %s'",
		    l->words[3], l->words[1], l->words[2]);
		return;
	}
	for (i = 1; i < l->nwords; i++) {
		if (strcmp(l->words[i], "none") == 0)
			m = AUTH_NONE;
		else if (strcmp(l->words[i], "password") == 0)
			m = AUTH_PASSWORD;
		else {
			conf_error(p->e, l->lineno,
			    "expected none or password after 'auth', not '%s'",
			    l->words[i]);
			return;
		}
		if (set & m) {
			conf_error(p->e, l->lineno,
			    "'%s' given twice after 'auth'", l->words[i]);
			return;
		}
		set |= m;
	}
	p->c->auth = set;
}

static void
d_users_file(struct parse *p, const struct conflex_line *l)
{
	if (want_args(p, l, 1, "PATH") == -1)
		return;
	if (l->words[1][0] == '\0') {
		conf_error(p->e, l->lineno,
		    "expected PATH after 'users-file', not an empty word");
		return;
	}
	if ((p->c->users_file = strdup(l->words[1])) == NULL)
		oom(p, l->lineno);
	p->c->users_file_line = l->lineno;
}

static void
d_family(struct parse *p, const struct conflex_line *l)
{
	size_t	i;

	if (want_args(p, l, 1, "happy-eyeballs, ipv6-first, ipv4-first, "
	    "ipv6-only or ipv4-only") == -1)
		return;
	for (i = 0; i < sizeof(family_names) / sizeof(family_names[0]); i++) {
		if (strcmp(l->words[1], family_names[i]) == 0) {
			p->c->family = (enum family_pref)i;
			return;
		}
	}
	conf_error(p->e, l->lineno, "expected happy-eyeballs, ipv6-first, "
	    "ipv4-first, ipv6-only or ipv4-only after 'family', not '%s'",
	    l->words[1]);
}

static void
d_happy_delay(struct parse *p, const struct conflex_line *l)
{
	unsigned long	v;

	if (want_args(p, l, 1, "MS") == -1)
		return;
	if (conf_parse_uint(l->words[1], HAPPY_DELAY_MIN, HAPPY_DELAY_MAX,
	    &v) == -1) {
		conf_error(p->e, l->lineno, "expected milliseconds from %d to "
		    "%d after 'happy-eyeballs-delay', not '%s'",
		    HAPPY_DELAY_MIN, HAPPY_DELAY_MAX, l->words[1]);
		return;
	}
	p->c->happy_delay_ms = (unsigned int)v;
}

static void
d_timeout(struct parse *p, const struct conflex_line *l)
{
	static const struct {
		const char	*kind;
		int		 once;
		unsigned long	 min;
	} kinds[] = {
		{ "handshake", ONCE_TIMEOUT_HANDSHAKE, 1 },
		{ "connect", ONCE_TIMEOUT_CONNECT, 1 },
		{ "bind", ONCE_TIMEOUT_BIND, 1 },
		{ "idle", ONCE_TIMEOUT_IDLE, 1 },
		/* 0: do not wait for relays when told to stop */
		{ "shutdown", ONCE_TIMEOUT_SHUTDOWN, 0 },
	};
	unsigned int	*slot[] = {
		&p->c->handshake_timeout, &p->c->connect_timeout,
		&p->c->bind_timeout, &p->c->idle_timeout, &p->c->shutdown_grace,
	};
	unsigned long	 v;
	size_t		 i;

	if (l->nwords < 2) {
		conf_error(p->e, l->lineno, "expected handshake, connect, bind, "
		    "idle or shutdown after 'timeout'");
		return;
	}
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(l->words[1], kinds[i].kind) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0])) {
		conf_error(p->e, l->lineno, "expected handshake, connect, bind, "
		    "idle or shutdown after 'timeout', not '%s'", l->words[1]);
		return;
	}
	if (p->seen[kinds[i].once] != 0) {
		conf_error(p->e, l->lineno,
		    "duplicate 'timeout %s' (first at line %u)", kinds[i].kind,
		    p->seen[kinds[i].once]);
		return;
	}
	p->seen[kinds[i].once] = l->lineno;
	if (l->nwords < 3) {
		conf_error(p->e, l->lineno,
		    "expected SECONDS after 'timeout %s'", kinds[i].kind);
		return;
	}
	if (l->nwords > 3) {
		conf_error(p->e, l->lineno,
		    "unexpected '%s' after 'timeout %s SECONDS'", l->words[3],
		    kinds[i].kind);
		return;
	}
	if (conf_parse_seconds(l->words[2], &v) == -1 || v < kinds[i].min ||
	    v > TIMEOUT_MAX) {
		conf_error(p->e, l->lineno, "expected seconds from %lu to %d "
		    "(or with s, m, h, d) after 'timeout %s', not '%s'",
		    kinds[i].min, TIMEOUT_MAX, kinds[i].kind, l->words[2]);
		return;
	}
	*slot[i] = (unsigned int)v;
}

static void
d_max_clients(struct parse *p, const struct conflex_line *l)
{
	unsigned long	v;

	if (want_args(p, l, 1, "N") == -1)
		return;
	if (conf_parse_uint(l->words[1], 1, MAX_CLIENTS_MAX, &v) == -1) {
		conf_error(p->e, l->lineno, "expected a number from 1 to %d "
		    "after 'max-clients', not '%s'", MAX_CLIENTS_MAX,
		    l->words[1]);
		return;
	}
	p->c->max_clients = (unsigned int)v;
}

static void
d_protect(struct parse *p, const struct conflex_line *l)
{
	int	v;

	if (want_args(p, l, 1, "yes or no") == -1)
		return;
	if (conf_parse_bool(l->words[1], &v) == -1) {
		conf_error(p->e, l->lineno,
		    "expected yes or no after '%s', not '%s'", l->words[0],
		    l->words[1]);
		return;
	}
	if (strcmp(l->words[0], "protect-local") == 0)
		p->c->protect_local = v;
	else
		p->c->protect_private = v;
}

static void
d_log(struct parse *p, const struct conflex_line *l)
{
	if (want_args(p, l, 1, "stderr or syslog") == -1)
		return;
	if (strcmp(l->words[1], "stderr") == 0)
		p->c->log_target = LOG_TARGET_STDERR;
	else if (strcmp(l->words[1], "syslog") == 0)
		p->c->log_target = LOG_TARGET_SYSLOG;
	else {
		conf_error(p->e, l->lineno,
		    "expected stderr or syslog after 'log', not '%s'",
		    l->words[1]);
		return;
	}
	p->c->log_target_set = 1;
}

static void
d_log_level(struct parse *p, const struct conflex_line *l)
{
	int	v;

	if (want_args(p, l, 1, "error, warn, info or debug") == -1)
		return;
	if ((v = log_level_parse(l->words[1])) == -1) {
		conf_error(p->e, l->lineno, "expected error, warn, info or "
		    "debug after 'log-level', not '%s'", l->words[1]);
		return;
	}
	p->c->log_level = (enum log_level)v;
}

static void
d_user(struct parse *p, const struct conflex_line *l)
{
	if (want_args(p, l, 1, "NAME") == -1)
		return;
	if (l->words[1][0] == '\0') {
		conf_error(p->e, l->lineno,
		    "expected NAME after 'user', not an empty word");
		return;
	}
	if ((p->c->runas = strdup(l->words[1])) == NULL)
		oom(p, l->lineno);
}

/* "client pass|block from NET" */
static void
d_client(struct parse *p, const struct conflex_line *l)
{
	struct client_rule	 r;
	const char		*why;

	memset(&r, 0, sizeof(r));
	r.lineno = l->lineno;
	if (l->nwords < 2) {
		conf_error(p->e, l->lineno,
		    "expected pass or block after 'client'");
		return;
	}
	if (strcmp(l->words[1], "pass") == 0)
		r.action = RULE_PASS;
	else if (strcmp(l->words[1], "block") == 0)
		r.action = RULE_BLOCK;
	else {
		conf_error(p->e, l->lineno,
		    "expected pass or block after 'client', not '%s'",
		    l->words[1]);
		return;
	}
	if (l->nwords < 3) {
		conf_error(p->e, l->lineno, "expected 'from' after 'client %s'",
		    l->words[1]);
		return;
	}
	if (strcmp(l->words[2], "from") != 0) {
		conf_error(p->e, l->lineno,
		    "expected 'from' after 'client %s', not '%s'", l->words[1],
		    l->words[2]);
		return;
	}
	if (l->nwords < 4) {
		conf_error(p->e, l->lineno,
		    "expected a network or 'any' after 'client %s from'",
		    l->words[1]);
		return;
	}
	if (addr_parse_net(l->words[3], &r.from, &why) == -1) {
		conf_error(p->e, l->lineno, "expected a network or 'any' after "
		    "'client %s from', not '%s': %s", l->words[1], l->words[3],
		    why);
		return;
	}
	if (l->nwords > 4) {
		conf_error(p->e, l->lineno,
		    "unexpected '%s' after 'client %s from %s'", l->words[4],
		    l->words[1], l->words[3]);
		return;
	}
	if (add_client_rule(p->c, &r, p->c->nclient_rules) == -1)
		oom(p, l->lineno);
}

/*
 * Whether s is a host name we can match against: dot-separated labels
 * of 1-63 letters, digits, '-' or '_' (RFC 1123, plus the '_' of service
 * names), no label starting or ending with '-', at most 253 bytes. A
 * trailing dot (the root) has been removed by the caller.
 */
static int
valid_name(const char *s)
{
	size_t	len = strlen(s), label = 0, i;

	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i <= len; i++) {
		unsigned char	ch = (unsigned char)s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return 0;
		if (ch == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* Whether a word was meant as an address (and so must parse as one). */
static int
looks_like_address(const char *s)
{
	if (strchr(s, ':') != NULL || strchr(s, '/') != NULL)
		return 1;
	return strspn(s, "0123456789.") == strlen(s);
}

/*
 * Parses DEST = any | CIDR/address | name | .suffix into r. Names are
 * kept in lower case without a trailing dot, suffixes without their
 * leading dot, so matching need not normalise the rule side.
 */
static int
parse_dest(struct rule *r, const char *w, const char **why)
{
	/* Zeroed whole: clang-tidy cannot see that strlen(name) is len. */
	char	 name[256] = "";
	size_t	 len, i;
	int	 suffix = 0;

	if (strcmp(w, "any") == 0) {
		r->dest = DEST_ANY;
		return 0;
	}
	if (looks_like_address(w)) {
		r->dest = DEST_NET;
		return addr_parse_net(w, &r->to_net, why);
	}
	if (w[0] == '.') {
		suffix = 1;
		w++;
	}
	len = strlen(w);
	if (len > 0 && w[len - 1] == '.')
		len--;
	if (len >= sizeof(name)) {
		*why = "name too long";
		return -1;
	}
	for (i = 0; i < len; i++) {
		char	ch = w[i];

		name[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') :
		    ch;
	}
	name[len] = '\0';
	if (!valid_name(name)) {
		*why = "not an address, a network, a host name or a .suffix";
		return -1;
	}
	r->dest = suffix ? DEST_SUFFIX : DEST_NAME;
	memcpy(r->to_name, name, len + 1);
	return 0;
}

/* Parses "P" or "P-Q" (1-65535, P <= Q). */
static int
parse_ports(struct rule *r, const char *w)
{
	unsigned long	 lo, hi;
	const char	*dash;
	char		 first[8];

	if ((dash = strchr(w, '-')) == NULL) {
		if (conf_parse_uint(w, 1, 65535, &lo) == -1)
			return -1;
		hi = lo;
	} else {
		if ((size_t)(dash - w) >= sizeof(first))
			return -1;
		memcpy(first, w, (size_t)(dash - w));
		first[dash - w] = '\0';
		if (conf_parse_uint(first, 1, 65535, &lo) == -1 ||
		    conf_parse_uint(dash + 1, 1, 65535, &hi) == -1 || lo > hi)
			return -1;
	}
	r->port_lo = (uint16_t)lo;
	r->port_hi = (uint16_t)hi;
	return 0;
}

static int
parse_command(struct rule *r, const char *w)
{
	if (strcmp(w, "connect") == 0)
		r->commands = 1u << SOCKS5_CMD_CONNECT;
	else if (strcmp(w, "bind") == 0)
		r->commands = 1u << SOCKS5_CMD_BIND;
	else if (strcmp(w, "udp-associate") == 0)
		r->commands = 1u << SOCKS5_CMD_UDP;
	else
		return -1;
	return 0;
}

/* 1 + the index of the chain called name, or 0 if there is none. */
static unsigned int
chain_find(const struct gw_conf *c, const char *name)
{
	size_t	i;

	for (i = 0; i < c->nchains; i++)
		if (strcmp(c->chains[i].name, name) == 0)
			return (unsigned int)i + 1;
	return 0;
}

/*
 * "via NAME" names a chain defined above it; "via ADDR:PORT" makes an
 * unnamed one without credentials (shared by rules naming the same
 * endpoint). A chain name never looks like an address, so the two
 * forms cannot be confused.
 */
static int
parse_via(struct gw_conf *c, struct rule *r, const char *w,
    unsigned int line, const char **why)
{
	struct chain	h;

	if ((r->via = chain_find(c, w)) != 0)
		return 0;
	if (!looks_like_address(w)) {
		*why = "no such chain (a 'chain' line must define it first)";
		return -1;
	}
	memset(&h, 0, sizeof(h));
	if (strlen(w) >= sizeof(h.name)) {
		*why = "too long";
		return -1;
	}
	if (addr_parse_endpoint(w, GATEWAYD_DEFAULT_PORT, &h.addr, &h.addrlen,
	    why) == -1)
		return -1;
	memcpy(h.name, w, strlen(w) + 1);
	h.lineno = line;
	if (add_chain(c, &h) == -1) {
		*why = "out of memory";
		return -1;
	}
	r->via = (unsigned int)c->nchains;
	return 0;
}

/*
 * "pass|block [from NET] [to DEST] [port P|P-Q] [user NAME]
 *  [command connect|bind|udp-associate] [via CHAIN]": the keywords may
 * come in any order, each at most once.
 */
static void
d_rule(struct parse *p, const struct conflex_line *l)
{
	enum kw {
		KW_FROM, KW_TO, KW_PORT, KW_USER, KW_COMMAND, KW_VIA, KW_COUNT
	};
	static const char *const kwname[KW_COUNT] = {
		"from", "to", "port", "user", "command", "via",
	};
	static const char *const kwwhat[KW_COUNT] = {
		"a network or 'any'",
		"any, an address or network, a name or a .suffix",
		"a port or a range P-Q (1-65535)",
		"a user name",
		"connect, bind or udp-associate",
		"a chain name or ADDR:PORT",
	};
	struct rule	 r;
	const char	*why, *v;
	int		 i, k, seen = 0;

	memset(&r, 0, sizeof(r));
	r.action = strcmp(l->words[0], "pass") == 0 ? RULE_PASS : RULE_BLOCK;
	r.dest = DEST_ANY;
	r.port_lo = 0;
	r.port_hi = 65535;
	r.lineno = l->lineno;

	for (i = 1; i < l->nwords; i += 2) {
		for (k = 0; k < KW_COUNT; k++)
			if (strcmp(l->words[i], kwname[k]) == 0)
				break;
		if (k == KW_COUNT) {
			conf_error(p->e, l->lineno, "expected from, to, port, "
			    "user, command or via in '%s' rule, not '%s'",
			    l->words[0], l->words[i]);
			return;
		}
		if (seen & (1 << k)) {
			conf_error(p->e, l->lineno,
			    "'%s' given twice in '%s' rule", kwname[k],
			    l->words[0]);
			return;
		}
		seen |= 1 << k;
		if (i + 1 >= l->nwords) {
			conf_error(p->e, l->lineno, "expected %s after '%s'",
			    kwwhat[k], kwname[k]);
			return;
		}
		v = l->words[i + 1];
		why = NULL;
		switch (k) {
		case KW_FROM:
			if (addr_parse_net(v, &r.from, &why) == -1)
				goto bad;
			break;
		case KW_TO:
			if (parse_dest(&r, v, &why) == -1)
				goto bad;
			break;
		case KW_PORT:
			if (parse_ports(&r, v) == -1)
				goto bad;
			break;
		case KW_USER:
			/* RFC 1929: a user name is 1-255 bytes. */
			if (v[0] == '\0' || strlen(v) > 255)
				goto bad;
			memcpy(r.user, v, strlen(v) + 1);
			break;
		case KW_COMMAND:
			if (parse_command(&r, v) == -1)
				goto bad;
			break;
		case KW_VIA:
			if (parse_via(p->c, &r, v, l->lineno, &why) == -1)
				goto bad;
			break;
		}
		continue;
bad:
		conf_error(p->e, l->lineno, "expected %s after '%s', not '%s'%s%s",
		    kwwhat[k], kwname[k], v, why != NULL ? ": " : "",
		    why != NULL ? why : "");
		return;
	}
	if (r.via != 0 && r.action == RULE_BLOCK) {
		conf_error(p->e, l->lineno, "'via' in a block rule: only a "
		    "pass rule sends a request on");
		return;
	}
	/* A datagram is relayed by this gateway or dropped, never chained. */
	if (r.via != 0 && r.commands == (1u << SOCKS5_CMD_UDP)) {
		conf_error(p->e, l->lineno,
		    "'via' with 'command udp-associate': UDP is not chained");
		return;
	}
	if (add_rule(p->c, &r) == -1)
		oom(p, l->lineno);
}

/*
 * "chain NAME ADDR:PORT [user USER password PASSWORD]": the next
 * gateway rules send requests to with "via NAME". A name is 1-63
 * letters, digits, '-', '_' or '.', not all digits and dots.
 */
static void
d_chain(struct parse *p, const struct conflex_line *l)
{
	struct chain	 h;
	const char	*name, *why;
	unsigned int	 prev;
	size_t		 len;

	memset(&h, 0, sizeof(h));
	h.lineno = l->lineno;
	if (l->nwords < 3) {
		conf_error(p->e, l->lineno,
		    "expected NAME ADDR:PORT after 'chain'");
		return;
	}
	name = l->words[1];
	len = strlen(name);
	if (len == 0 || len >= sizeof(h.name) || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") != len || looks_like_address(name)) {
		conf_error(p->e, l->lineno, "expected a chain name (up to 63 "
		    "letters, digits, '-', '_', '.') after 'chain', not '%s'",
		    name);
		return;
	}
	if ((prev = chain_find(p->c, name)) != 0) {
		conf_error(p->e, l->lineno, "chain '%s' already defined at "
		    "line %u", name, p->c->chains[prev - 1].lineno);
		return;
	}
	memcpy(h.name, name, len + 1);
	if (addr_parse_endpoint(l->words[2], GATEWAYD_DEFAULT_PORT, &h.addr,
	    &h.addrlen, &why) == -1) {
		conf_error(p->e, l->lineno, "expected ADDR:PORT after 'chain "
		    "%s', not '%s': %s", name, l->words[2], why);
		return;
	}
	if (l->nwords > 3) {
		/* RFC 1929: a user name is 1-255 bytes, a password 0-255. */
		if (l->nwords != 7 || strcmp(l->words[3], "user") != 0 ||
		    strcmp(l->words[5], "password") != 0 ||
		    l->words[4][0] == '\0' || strlen(l->words[4]) > 255 ||
		    strlen(l->words[6]) > 255) {
			conf_error(p->e, l->lineno, "expected 'user NAME "
			    "password PASSWORD' after 'chain %s %s'", name,
			    l->words[2]);
			return;
		}
		memcpy(h.user, l->words[4], strlen(l->words[4]) + 1);
		memcpy(h.pass, l->words[6], strlen(l->words[6]) + 1);
	}
	if (add_chain(p->c, &h) == -1)
		oom(p, l->lineno);
	explicit_bzero(&h, sizeof(h));
}

/* ---------------------------------------------------------------- */
/* the parser                                                          */

static void
parse_line(struct parse *p, const struct conflex_line *l)
{
	const struct directive	*d = NULL;
	size_t			 i;

	for (i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		if (strcmp(l->words[0], directives[i].name) == 0) {
			d = &directives[i];
			break;
		}
	}
	if (d == NULL) {
		conf_error(p->e, l->lineno, "unknown directive '%s'",
		    l->words[0]);
		return;
	}
	if (d->once != ONCE_NONE) {
		if (p->seen[d->once] != 0) {
			conf_error(p->e, l->lineno,
			    "duplicate '%s' (first at line %u)", d->name,
			    p->seen[d->once]);
			return;
		}
		p->seen[d->once] = l->lineno;
	}
	d->fn(p, l);
}

/*
 * Parses a config held in buf. Errors go to *errs, set up by the caller
 * with conf_errors_init(); NULL is returned if there was any. The users
 * file is not read (see conf_load), so this stays pure for the tests.
 */
struct gw_conf *
conf_parse(const char *buf, size_t len, struct conf_errors *errs)
{
	struct parse		 p;
	struct conflex		 lx;
	struct conflex_line	*l;
	const char		*why;
	int			 before = errs->count, rc;

	memset(&p, 0, sizeof(p));
	p.e = errs;
	/* A logical line is 4 KiB of storage: keep it off small stacks. */
	if ((l = malloc(sizeof(*l))) == NULL ||
	    (p.c = conf_new()) == NULL) {
		free(l);
		conf_error(errs, 0, "out of memory");
		return NULL;
	}
	conflex_init(&lx, buf, len);
	while ((rc = conflex_next(&lx, l, &why)) != 0) {
		if (rc == -1) {
			conf_error(errs, l->lineno, "%s", why);
			continue;
		}
		parse_line(&p, l);
	}
	free(l);

	if ((p.c->auth & AUTH_PASSWORD) && p.c->users_file == NULL)
		conf_error(errs, p.seen[ONCE_AUTH],
		    "'auth password' needs a 'users-file'");
	if (errs->count != before) {
		conf_free(p.c);
		return NULL;
	}
	return p.c;
}

int
conf_read_file(const char *path, char **bufp, size_t *lenp)
{
	struct stat	 st;
	char		*buf = NULL, *nbuf;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto err;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		goto err;
	}
	/* Read to the end rather than trust st_size (it may be a pipe). */
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= CONF_FILE_MAX) {
				errno = EFBIG;
				goto err;
			}
			cap = cap == 0 ? 8192 : cap * 2;
			if ((nbuf = realloc(buf, cap + 1)) == NULL)
				goto err;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto err;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONF_FILE_MAX) {
		errno = EFBIG;
		goto err;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		goto err;
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
err:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return -1;
}

/*
 * A relative users-file is taken relative to the config file's directory,
 * so the config means the same whatever the daemon's working directory
 * (it is / once daemonised, when SIGHUP reloads). Returns a new string.
 */
static char *
resolve_near(const char *conf_path, const char *file)
{
	const char	*slash;
	char		*out;
	size_t		 dirlen;

	if (file[0] == '/' || (slash = strrchr(conf_path, '/')) == NULL)
		return strdup(file);
	dirlen = (size_t)(slash - conf_path) + 1;
	if ((out = malloc(dirlen + strlen(file) + 1)) == NULL)
		return NULL;
	memcpy(out, conf_path, dirlen);
	memcpy(out + dirlen, file, strlen(file) + 1);
	return out;
}

/* Whether path can be opened for reading now; errno says why not. */
static int
conf_file_readable(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	close(fd);
	return 1;
}

/*
 * Reads, parses and completes a config file: with path NULL, the
 * built-in defaults. Errors go to *errs (set up by the caller with
 * conf_errors_init(), normally with path as the file name); any error
 * gives NULL. If auth offers password, the users file is loaded too;
 * its own errors name that file. The result holds one reference.
 */
struct gw_conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct gw_conf	*c;
	char		*buf, *users_path;
	size_t		 len;

	if (path == NULL)
		return conf_defaults();
	if (conf_read_file(path, &buf, &len) == -1) {
		conf_error(errs, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	c = conf_parse(buf, len, errs);
	free(buf);
	if (c == NULL)
		return NULL;
	if ((c->path = strdup(path)) == NULL)
		goto oom;
	if (c->users_file != NULL) {
		if ((users_path = resolve_near(path, c->users_file)) == NULL)
			goto oom;
		free(c->users_file);
		c->users_file = users_path;
	}
	/* conf_parse() refused "auth password" without a users-file. */
	if ((c->auth & AUTH_PASSWORD) && c->users_file != NULL) {
		/* The usual mistake is the path: say where it was written. */
		if (!conf_file_readable(c->users_file)) {
			conf_error(errs, c->users_file_line,
			    "users-file %s: cannot open: %s", c->users_file,
			    strerror(errno));
			conf_free(c);
			return NULL;
		}
		if ((c->users = users_load(c->users_file, errs)) == NULL) {
			conf_free(c);
			return NULL;
		}
	}
	return c;
oom:
	conf_error(errs, 0, "out of memory");
	conf_free(c);
	return NULL;
}

/*
 * The config used without -c: listen on loopback only, let loopback
 * clients in, pass every request, no authentication. Lines are 0 since
 * no file said so. NULL only when out of memory.
 */
struct gw_conf *
conf_defaults(void)
{
	static const char *const listens[] = {
		"127.0.0.1:1080", "[::1]:1080",
	};
	static const char *const clients[] = { "127.0.0.0/8", "::1" };
	struct gw_conf	*c;
	struct rule	 r;
	const char	*why;
	size_t		 i;

	if ((c = conf_new()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(listens) / sizeof(listens[0]); i++)
		if (conf_add_listen(c, listens[i], &why) == -1)
			goto err;
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		struct client_rule	cr;

		memset(&cr, 0, sizeof(cr));
		cr.action = RULE_PASS;
		if (addr_parse_net(clients[i], &cr.from, &why) == -1 ||
		    add_client_rule(c, &cr, c->nclient_rules) == -1)
			goto err;
	}
	memset(&r, 0, sizeof(r));
	r.action = RULE_PASS;
	r.from.family = AF_UNSPEC;
	r.dest = DEST_ANY;
	r.port_lo = 0;
	r.port_hi = 65535;
	if (add_rule(c, &r) == -1)
		goto err;
	return c;
err:
	conf_free(c);
	return NULL;
}

/*
 * -l ADDR:PORT: adds a listen address (the daemon calls
 * conf_clear_listens() first, so -l replaces the config's). Returns 0,
 * or -1 with *why a static English reason.
 */
int
conf_add_listen(struct gw_conf *c, const char *endpoint, const char **why)
{
	struct sockaddr_storage	ss;
	socklen_t		len;

	if (addr_parse_endpoint(endpoint, GATEWAYD_DEFAULT_PORT, &ss, &len,
	    why) == -1)
		return -1;
	if (add_listen(c, &ss, len) == -1) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

void
conf_clear_listens(struct gw_conf *c)
{
	free(c->listens);
	free(c->listen_lens);
	c->listens = NULL;
	c->listen_lens = NULL;
	c->nlistens = 0;
}

/*
 * -a NETWORK: "client pass from NETWORK", put in front of the config's
 * client rules so that the command line wins even over a config's own
 * "client block" for that network. Line 0: no file said so.
 */
int
conf_add_client_net(struct gw_conf *c, const char *net, const char **why)
{
	struct client_rule	r;

	memset(&r, 0, sizeof(r));
	r.action = RULE_PASS;
	if (addr_parse_net(net, &r.from, why) == -1)
		return -1;
	if (add_client_rule(c, &r, 0) == -1) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

void
conf_warnings(const struct gw_conf *c, struct conf_errors *w)
{
	size_t	i;
	int	cpass = 0, pass = 0;

	for (i = 0; i < c->nclient_rules; i++)
		cpass |= c->client_rules[i].action == RULE_PASS;
	for (i = 0; i < c->nrules; i++)
		pass |= c->rules[i].action == RULE_PASS;
	if (!cpass)
		conf_error(w, 0, "no client rule: every client will be refused");
	if (!pass)
		conf_error(w, 0, "no pass rule: every request will be refused");
	if (c->users_file != NULL && !(c->auth & AUTH_PASSWORD))
		conf_error(w, 0, "users-file is not used: auth does not "
		    "include password");
	for (i = 0; i < c->nchains; i++) {
		size_t	j;

		for (j = 0; j < c->nrules; j++)
			if (c->rules[j].via == i + 1)
				break;
		if (j == c->nrules)
			conf_error(w, c->chains[i].lineno, "chain '%s' is not "
			    "used by any rule", c->chains[i].name);
	}
}
