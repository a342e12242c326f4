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
#define CONF_NELEM(a)		(sizeof(a) / sizeof((a)[0]))
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
	ONCE_MAX_CLIENTS_PER_SOURCE,
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

struct conf_parse {
	struct gw_conf		*c;
	struct conf_errors	*e;
	unsigned int		 seen[ONCE_COUNT];	/* line, 0: not yet */
};

/* A directive's parser: conf_d_NAME for directive NAME. */
typedef void conf_directive_fn(struct conf_parse *,
    const struct conflex_line *);

static conf_directive_fn	conf_d_listen, conf_d_auth, conf_d_users_file,
				conf_d_family, conf_d_happy_delay,
				conf_d_timeout, conf_d_max_clients,
				conf_d_max_clients_per_source,
				conf_d_protect, conf_d_log, conf_d_log_level,
				conf_d_user, conf_d_client, conf_d_request,
				conf_d_chain;

/*
 * One row per directive. Single-valued ones name their seen[] slot, so
 * a second occurrence is reported against the first. "timeout" has one
 * slot per kind and checks them itself.
 */
static const struct conf_directive {
	const char		*name;
	conf_directive_fn	*fn;
	int			 once;
} conf_directives[] = {
	{ "listen",		  conf_d_listen,	ONCE_NONE },
	{ "auth",		  conf_d_auth,		ONCE_AUTH },
	{ "users-file",		  conf_d_users_file,	ONCE_USERS_FILE },
	{ "family",		  conf_d_family,	ONCE_FAMILY },
	{ "happy-eyeballs-delay", conf_d_happy_delay,	ONCE_HAPPY_DELAY },
	{ "timeout",		  conf_d_timeout,	ONCE_NONE },
	{ "max-clients",	  conf_d_max_clients,	ONCE_MAX_CLIENTS },
	{ "max-clients-per-source", conf_d_max_clients_per_source,
				  ONCE_MAX_CLIENTS_PER_SOURCE },
	{ "protect-local",	  conf_d_protect,	ONCE_PROTECT_LOCAL },
	{ "protect-private",	  conf_d_protect,	ONCE_PROTECT_PRIVATE },
	{ "log",		  conf_d_log,		ONCE_LOG },
	{ "log-level",		  conf_d_log_level,	ONCE_LOG_LEVEL },
	{ "user",		  conf_d_user,		ONCE_USER },
	{ "client",		  conf_d_client,	ONCE_NONE },
	{ "pass",		  conf_d_request,	ONCE_NONE },
	{ "block",		  conf_d_request,	ONCE_NONE },
	{ "chain",		  conf_d_chain,		ONCE_NONE },
};

static const char *const conf_family_names[] = {
	[FAMILY_HAPPY_EYEBALLS]	= "happy-eyeballs",
	[FAMILY_IPV6_FIRST]	= "ipv6-first",
	[FAMILY_IPV4_FIRST]	= "ipv4-first",
	[FAMILY_IPV6_ONLY]	= "ipv6-only",
	[FAMILY_IPV4_ONLY]	= "ipv4-only",
};

const char *
conf_family_str(enum family_pref f)
{
	if ((size_t)f >= CONF_NELEM(conf_family_names))
		return "unknown";
	return conf_family_names[f];
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
	c->max_clients_per_source = 0;	/* see gatewayd.conf(5) */
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
conf_push_listen(struct gw_conf *c, const struct sockaddr_storage *ss,
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

/* ---------------------------------------------------------------- */
/* the directives                                                      */

static void
conf_oom(struct conf_parse *p, unsigned int line)
{
	conf_error(p->e, line, "out of memory");
}

/*
 * Checks that a directive has exactly n arguments, described by what
 * ("ADDR:PORT"). Returns 0, or -1 after recording the error.
 */
static int
conf_want_args(struct conf_parse *p, const struct conflex_line *l, int n,
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
conf_d_listen(struct conf_parse *p, const struct conflex_line *l)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;

	if (conf_want_args(p, l, 1, "ADDR:PORT") == -1)
		return;
	if (addr_parse_endpoint(l->words[1], GATEWAYD_DEFAULT_PORT, &ss, &len,
	    &why) == -1) {
		conf_error(p->e, l->lineno,
		    "expected ADDR:PORT after 'listen', not '%s': %s",
		    l->words[1], why);
		return;
	}
	if (conf_push_listen(p->c, &ss, len) == -1)
		conf_oom(p, l->lineno);
}

static void
conf_d_auth(struct conf_parse *p, const struct conflex_line *l)
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
conf_d_users_file(struct conf_parse *p, const struct conflex_line *l)
{
	if (conf_want_args(p, l, 1, "PATH") == -1)
		return;
	if (l->words[1][0] == '\0') {
		conf_error(p->e, l->lineno,
		    "expected PATH after 'users-file', not an empty word");
		return;
	}
	if ((p->c->users_file = strdup(l->words[1])) == NULL)
		conf_oom(p, l->lineno);
	p->c->users_file_line = l->lineno;
}

static void
conf_d_family(struct conf_parse *p, const struct conflex_line *l)
{
	size_t	i;

	if (conf_want_args(p, l, 1, "happy-eyeballs, ipv6-first, ipv4-first, "
	    "ipv6-only or ipv4-only") == -1)
		return;
	for (i = 0; i < CONF_NELEM(conf_family_names); i++) {
		if (strcmp(l->words[1], conf_family_names[i]) == 0) {
			p->c->family = (enum family_pref)i;
			return;
		}
	}
	conf_error(p->e, l->lineno, "expected happy-eyeballs, ipv6-first, "
	    "ipv4-first, ipv6-only or ipv4-only after 'family', not '%s'",
	    l->words[1]);
}

static void
conf_d_happy_delay(struct conf_parse *p, const struct conflex_line *l)
{
	unsigned long	v;

	if (conf_want_args(p, l, 1, "MS") == -1)
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
conf_d_timeout(struct conf_parse *p, const struct conflex_line *l)
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
conf_d_max_clients(struct conf_parse *p, const struct conflex_line *l)
{
	unsigned long	v;

	if (conf_want_args(p, l, 1, "N") == -1)
		return;
	if (conf_parse_uint(l->words[1], 1, MAX_CLIENTS_MAX, &v) == -1) {
		conf_error(p->e, l->lineno, "expected a number from 1 to %d "
		    "after 'max-clients', not '%s'", MAX_CLIENTS_MAX,
		    l->words[1]);
		return;
	}
	p->c->max_clients = (unsigned int)v;
}

/* 0 is allowed here: it turns the limit off (the default). */
static void
conf_d_max_clients_per_source(struct conf_parse *p,
    const struct conflex_line *l)
{
	unsigned long	v;

	if (conf_want_args(p, l, 1, "N") == -1)
		return;
	if (conf_parse_uint(l->words[1], 0, MAX_CLIENTS_MAX, &v) == -1) {
		conf_error(p->e, l->lineno, "expected a number from 0 to %d "
		    "after 'max-clients-per-source', not '%s'",
		    MAX_CLIENTS_MAX, l->words[1]);
		return;
	}
	p->c->max_clients_per_source = (unsigned int)v;
}

static void
conf_d_protect(struct conf_parse *p, const struct conflex_line *l)
{
	int	v;

	if (conf_want_args(p, l, 1, "yes or no") == -1)
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
conf_d_log(struct conf_parse *p, const struct conflex_line *l)
{
	if (conf_want_args(p, l, 1, "stderr or syslog") == -1)
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
conf_d_log_level(struct conf_parse *p, const struct conflex_line *l)
{
	int	v;

	if (conf_want_args(p, l, 1, "error, warn, info or debug") == -1)
		return;
	if ((v = log_level_parse(l->words[1])) == -1) {
		conf_error(p->e, l->lineno, "expected error, warn, info or "
		    "debug after 'log-level', not '%s'", l->words[1]);
		return;
	}
	p->c->log_level = (enum log_level)v;
}

static void
conf_d_user(struct conf_parse *p, const struct conflex_line *l)
{
	if (conf_want_args(p, l, 1, "NAME") == -1)
		return;
	if (l->words[1][0] == '\0') {
		conf_error(p->e, l->lineno,
		    "expected NAME after 'user', not an empty word");
		return;
	}
	if ((p->c->runas = strdup(l->words[1])) == NULL)
		conf_oom(p, l->lineno);
}

/* The rule language lives in conf_rule.c. */
static void
conf_d_client(struct conf_parse *p, const struct conflex_line *l)
{
	conf_rule_client(p->c, p->e, l);
}

static void
conf_d_request(struct conf_parse *p, const struct conflex_line *l)
{
	conf_rule_request(p->c, p->e, l);
}

static void
conf_d_chain(struct conf_parse *p, const struct conflex_line *l)
{
	conf_rule_chain(p->c, p->e, l);
}

/* ---------------------------------------------------------------- */
/* the parser                                                          */

static void
conf_parse_line(struct conf_parse *p, const struct conflex_line *l)
{
	const struct conf_directive	*d = NULL;
	size_t			 i;

	for (i = 0; i < CONF_NELEM(conf_directives); i++) {
		if (strcmp(l->words[0], conf_directives[i].name) == 0) {
			d = &conf_directives[i];
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
	struct conf_parse		 p;
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
		conf_parse_line(&p, l);
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
conf_resolve_near(const char *conf_path, const char *file)
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
		users_path = conf_resolve_near(path, c->users_file);
		if (users_path == NULL)
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
		    conf_rule_add_client(c, &cr, c->nclient_rules) == -1)
			goto err;
	}
	memset(&r, 0, sizeof(r));
	r.action = RULE_PASS;
	r.from.family = AF_UNSPEC;
	r.dest = DEST_ANY;
	r.port_lo = 0;
	r.port_hi = 65535;
	if (conf_rule_add(c, &r) == -1)
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
	if (conf_push_listen(c, &ss, len) == -1) {
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
	if (conf_rule_add_client(c, &r, 0) == -1) {
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
