/*
 * config.c - the shim's configuration: /etc/socks64.conf (or the file
 * SOCKS64_CONF names) plus the SOCKS64_* environment overrides.
 *
 * Parsing is pure (a buffer in, a struct out) so it can be tested; the
 * loader around it reads the file with plain read(2), applies the
 * environment unless the program is setuid/setgid (AT_SECURE), resolves
 * a gateway given by name once with the REAL getaddrinfo, and reports
 * every error once on stderr. A broken config never crashes a program:
 * the bad lines are skipped, and with no gateway the shim is disabled.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conflex.h"
#include "shim.h"

#define CONF_MAX_SIZE	(1024 * 1024)	/* a bigger file is surely wrong */
#define CONF_MAX_LIST	256		/* local-suffix / direct entries */

/*
 * The loaded configuration. Written once, inside real_once_run, then
 * only read: conf_ready (release/acquire) publishes it to the fast path.
 * conf_early is what a call made from inside the loading thread sees
 * (the real getaddrinfo may reach one of our hooks through an NSS
 * module): a disabled configuration, so nothing recurses.
 */
static struct shim_conf conf_loaded;
static struct real_once conf_once = REAL_ONCE_INIT;
static atomic_int conf_ready;
static atomic_int conf_debug;
static _Thread_local int conf_loading;
/* socks64_init()'s choice of file; read only by the loader. */
static char conf_path_set[4096];
static atomic_int conf_path_is_set;
static const struct shim_conf conf_early = {
	.enabled = 0,
	.fake_v4 = { .family = AF_INET, .bytes = { 240 }, .prefix = 4 },
	.fake_v6 = { .family = AF_INET6,
	    .bytes = { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, .prefix = 48 },
	.timeout_ms = SHIM_DEFAULT_TIMEOUT_MS,
	/*
	 * A non-blocking connect returns EINPROGRESS at once and the
	 * program's poll/select/epoll drive the SOCKS exchange (pending.c):
	 * an event loop no longer stalls for as long as the gateway takes
	 * to reach each destination. curl, wget, urllib, git, nbclient and
	 * Firefox pass it_shim_netns both ways; 'async no' is the old way.
	 */
	.async = 1,
};

/* ------------------------------------------------------------------ */
/* logging: one write(2) per line, errno kept, no stdio streams         */

static void
shim_vlog(const char *fmt, va_list ap)
{
	char line[1024];
	int saved = errno, n;
	size_t len;

	memcpy(line, "socks64: ", 9);
	n = vsnprintf(line + 9, sizeof(line) - 10, fmt, ap);
	if (n < 0)
		n = 0;
	len = 9 + ((size_t)n < sizeof(line) - 10 ? (size_t)n :
	    sizeof(line) - 11);
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
	errno = saved;
}

void
shim_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_vlog(fmt, ap);
	va_end(ap);
}

void
shim_debug(const char *fmt, ...)
{
	va_list ap;

	if (!atomic_load_explicit(&conf_debug, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	shim_vlog(fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ */
/* the pure parser                                                      */

void
shim_conf_defaults(struct shim_conf *c)
{
	*c = conf_early;
}

void
shim_conf_release(struct shim_conf *c)
{
	size_t i;

	for (i = 0; i < c->nlocal_suffixes; i++)
		free(c->local_suffixes[i]);
	free(c->local_suffixes);
	free(c->direct);
	free(c->paths);
	c->paths = NULL;
	c->npaths = 0;
	c->local_suffixes = NULL;
	c->nlocal_suffixes = 0;
	c->direct = NULL;
	c->ndirect = 0;
}

/* Letters, digits, '-', '_' and '.': what a gateway or suffix name holds. */
static int
conf_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != '.')
			return 0;
	return 1;
}

/*
 * One gateway: "192.0.2.1:1080", "[2001:db8::1]:1080", a bare literal,
 * or "name[:port]". A literal fills *ss (*sslen set); a name goes to
 * name (sslen 0). Returns 0 or -1 with *why set.
 */
static int
conf_parse_hop(const char *word, struct sockaddr_storage *ss,
    socklen_t *sslen, char *name, uint16_t *portp, const char **why)
{
	const char *colon, *lwhy;
	unsigned long port = SHIM_DEFAULT_PORT;
	size_t hlen;

	*sslen = sizeof(*ss);
	if (addr_parse_endpoint(word, SHIM_DEFAULT_PORT, ss, sslen,
	    &lwhy) == 0) {
		*portp = addr_port((struct sockaddr *)ss);
		name[0] = '\0';
		return 0;
	}
	*sslen = 0;
	colon = strrchr(word, ':');
	if (word[0] == '[' || (colon != NULL && strchr(word, ':') != colon)) {
		*why = lwhy;	/* looked like an IPv6 literal: its error */
		return -1;
	}
	hlen = colon != NULL ? (size_t)(colon - word) : strlen(word);
	if (hlen >= 256) {
		*why = "gateway name too long";
		return -1;
	}
	memcpy(name, word, hlen);
	name[hlen] = '\0';
	if (!conf_name_ok(name)) {
		*why = "expected ADDRESS:PORT, [IPV6]:PORT or NAME:PORT";
		return -1;
	}
	if (colon != NULL && conf_parse_uint(colon + 1, 1, 65535, &port)) {
		*why = "bad port, expected 1-65535";
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	*portp = (uint16_t)port;
	return 0;
}

/*
 * A gateway line's words, first hop first, into *p: the first as this
 * host reaches it, the rest as the gateway before each must be asked
 * for it (a name travels unresolved). Returns 0 or -1 with *why.
 */
static int
conf_parse_path(char *const *words, size_t n, struct shim_path *p,
    const char **why)
{
	struct sockaddr_storage ss;
	struct socks5_addr *h;
	socklen_t sslen;
	char name[256];
	uint16_t port;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n > SHIM_MAX_HOPS) {
		*why = "expected 1 to 8 gateways, in the order to go through";
		return -1;
	}
	if (conf_parse_hop(words[0], &p->addr, &p->addr_len, p->name,
	    &p->port, why) == -1)
		return -1;
	for (i = 1; i < n; i++) {
		h = &p->hops[p->nhops++];
		if (conf_parse_hop(words[i], &ss, &sslen, name, &port, why)
		    == -1)
			return -1;
		if (sslen != 0)
			(void)socks5_addr_from_sockaddr(h,
			    (struct sockaddr *)&ss);
		else {
			h->atyp = SOCKS5_ATYP_DOMAIN;
			memcpy(h->name, name, strlen(name) + 1);
		}
		h->port = port;
	}
	return 0;
}

/* The gateway* fields repeat paths[0]'s first hop; enabled follows. */
static void
conf_sync_first(struct shim_conf *c)
{
	const struct shim_path *p = c->paths;

	c->enabled = c->npaths > 0;
	memset(&c->gateway, 0, sizeof(c->gateway));
	c->gateway_len = 0;
	c->gateway_name[0] = '\0';
	c->gateway_port = 0;
	if (p == NULL || c->npaths == 0)
		return;
	memcpy(&c->gateway, &p->addr, sizeof(c->gateway));
	c->gateway_len = p->addr_len;
	memcpy(c->gateway_name, p->name, sizeof(c->gateway_name));
	c->gateway_port = p->port;
}

static int
conf_add_path(struct shim_conf *c, const struct shim_path *p,
    const char **why)
{
	struct shim_path *v;

	if (c->npaths >= SHIM_MAX_PATHS) {
		*why = "too many gateway lines (8 at most)";
		return -1;
	}
	if ((v = realloc(c->paths, (c->npaths + 1) * sizeof(*v))) == NULL) {
		*why = "out of memory";
		return -1;
	}
	v[c->npaths++] = *p;
	c->paths = v;
	conf_sync_first(c);
	return 0;
}

static int
conf_set_fake(struct shim_conf *c, const char *word, const char **why)
{
	struct addr_net net;

	if (addr_parse_net(word, &net, why) == -1)
		return -1;
	/* At least a few usable addresses besides the two skipped ends. */
	if (net.family == AF_INET && net.prefix <= 29)
		c->fake_v4 = net;
	else if (net.family == AF_INET6 && net.prefix <= 125)
		c->fake_v6 = net;
	else {
		*why = "expected an IPv4 network of /29 or wider or an "
		    "IPv6 network of /125 or wider";
		return -1;
	}
	return 0;
}

/* Stored as ".suffix", lower case, no trailing dot. */
static int
conf_add_suffix(struct shim_conf *c, const char *word, const char **why)
{
	char **v, *s;
	size_t n, i;

	/* One leading and one trailing dot are spelling; more is a typo. */
	if (*word == '.')
		word++;
	n = strlen(word);
	if (n > 0 && word[n - 1] == '.')
		n--;
	if (n == 0 || n > 253 || word[0] == '.' || word[n - 1] == '.' ||
	    memmem(word, n, "..", 2) != NULL) {
		*why = "expected a domain suffix such as .lan";
		return -1;
	}
	if (c->nlocal_suffixes >= CONF_MAX_LIST) {
		*why = "too many local-suffix lines";
		return -1;
	}
	if ((s = malloc(n + 2)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	s[0] = '.';
	for (i = 0; i < n; i++)
		s[i + 1] = (char)tolower((unsigned char)word[i]);
	s[n + 1] = '\0';
	if (!conf_name_ok(s)) {
		free(s);
		*why = "expected a domain suffix such as .lan";
		return -1;
	}
	v = realloc(c->local_suffixes, (c->nlocal_suffixes + 1) * sizeof(*v));
	if (v == NULL) {
		free(s);
		*why = "out of memory";
		return -1;
	}
	v[c->nlocal_suffixes++] = s;
	c->local_suffixes = v;
	return 0;
}

static int
conf_add_direct(struct shim_conf *c, const char *word, const char **why)
{
	struct addr_net net, *v;

	if (addr_parse_net(word, &net, why) == -1)
		return -1;
	if (c->ndirect >= CONF_MAX_LIST) {
		*why = "too many direct lines";
		return -1;
	}
	v = realloc(c->direct, (c->ndirect + 1) * sizeof(*v));
	if (v == NULL) {
		*why = "out of memory";
		return -1;
	}
	v[c->ndirect++] = net;
	c->direct = v;
	return 0;
}

/* "2500", "2500ms", "10s": milliseconds, 1 ms to 10 minutes. */
static int
conf_set_timeout(struct shim_conf *c, const char *word, const char **why)
{
	char num[32];
	size_t n = strlen(word);
	unsigned long v, mult = 1;

	if (n >= sizeof(num))
		goto bad;
	memcpy(num, word, n + 1);
	if (n > 2 && strcmp(num + n - 2, "ms") == 0)
		num[n - 2] = '\0';
	else if (n > 1 && num[n - 1] == 's') {
		num[n - 1] = '\0';
		mult = 1000;
	}
	if (conf_parse_uint(num, 1, 600000 / mult, &v) == -1)
		goto bad;
	c->timeout_ms = (unsigned int)(v * mult);
	return 0;
bad:
	*why = "expected milliseconds (1-600000, or 1s-600s)";
	return -1;
}

static int
conf_set_string(char *dst, size_t cap, const char *word, const char **why)
{
	size_t n = strlen(word);

	if (n == 0 || n >= cap) {
		*why = "expected 1-255 characters";
		return -1;
	}
	memcpy(dst, word, n + 1);
	return 0;
}

/* One directive; returns 0 or -1 with *why set. */
static int
conf_directive(struct shim_conf *c, const struct conflex_line *l,
    const char **why)
{
	const char *key = l->words[0], *arg = l->words[1];

	if (strcmp(key, "gateway") == 0) {
		struct shim_path p;

		if (conf_parse_path(l->words + 1, l->nwords - 1, &p, why) ==
		    -1)
			return -1;
		return conf_add_path(c, &p, why);
	}
	if (l->nwords != 2) {
		*why = "expects exactly one argument";
		return -1;
	}
	if (strcmp(key, "user") == 0)
		return conf_set_string(c->user, sizeof(c->user), arg, why);
	if (strcmp(key, "password") == 0)
		return conf_set_string(c->password, sizeof(c->password), arg,
		    why);
	if (strcmp(key, "resolve") == 0) {
		if (strcmp(arg, "delegate") == 0)
			c->mode = RESOLVE_DELEGATE;
		else if (strcmp(arg, "local-first") == 0)
			c->mode = RESOLVE_LOCAL_FIRST;
		else {
			*why = "expected delegate or local-first";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "fake-range") == 0)
		return conf_set_fake(c, arg, why);
	if (strcmp(key, "local-suffix") == 0)
		return conf_add_suffix(c, arg, why);
	if (strcmp(key, "direct") == 0)
		return conf_add_direct(c, arg, why);
	if (strcmp(key, "timeout") == 0)
		return conf_set_timeout(c, arg, why);
	if (strcmp(key, "async") == 0) {
		if (conf_parse_bool(arg, &c->async) == -1) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "debug") == 0) {
		if (conf_parse_bool(arg, &c->debug) == -1) {
			*why = "expected yes or no";
			return -1;
		}
		return 0;
	}
	*why = "unknown directive";
	return -1;
}

int
shim_conf_parse(struct shim_conf *c, const char *buf, size_t len,
    struct conf_errors *e)
{
	struct conflex lx;
	struct conflex_line *l;
	const char *why;
	int r, errors = 0;

	/* 4 KiB of line storage: off the stack of a program's thread. */
	if ((l = malloc(sizeof(*l))) == NULL) {
		conf_error(e, 0, "out of memory");
		return 1;
	}
	conflex_init(&lx, buf, len);
	while ((r = conflex_next(&lx, l, &why)) != 0) {
		if (r == 1) {
			why = NULL;
			if (conf_directive(c, l, &why) == 0)
				continue;
			conf_error(e, l->lineno, "%s: %s", l->words[0], why);
		} else
			conf_error(e, lx.line > 1 ? lx.line - 1 : 1, "%s",
			    why);
		errors++;
	}
	free(l);
	return errors;
}

/*
 * SOCKS64_GATEWAY: gateway lines separated by ',', the gateways of a
 * chain by blanks ("192.0.2.1 gw2.example:1080, 198.51.100.1"). All of
 * it replaces the file's gateways, or none of it does.
 */
static int
conf_env_gateway(struct shim_conf *c, const char *v, const char **why)
{
	struct shim_conf tmp;
	struct shim_path p;
	char buf[2048], *words[SHIM_MAX_HOPS + 1], *line, *w, *save, *wsave;
	size_t n;

	if (strlen(v) >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	memcpy(buf, v, strlen(v) + 1);
	memset(&tmp, 0, sizeof(tmp));
	for (line = strtok_r(buf, ",", &save); line != NULL;
	    line = strtok_r(NULL, ",", &save)) {
		n = 0;
		for (w = strtok_r(line, " \t", &wsave); w != NULL;
		    w = strtok_r(NULL, " \t", &wsave))
			if (n < SHIM_MAX_HOPS + 1)
				words[n++] = w;
		if (conf_parse_path(words, n, &p, why) == -1 ||
		    conf_add_path(&tmp, &p, why) == -1) {
			free(tmp.paths);
			return -1;
		}
	}
	if (tmp.npaths == 0) {
		*why = "expected a gateway";
		return -1;
	}
	free(c->paths);
	c->paths = tmp.paths;
	c->npaths = tmp.npaths;
	conf_sync_first(c);
	return 0;
}

/* A yes/no variable (1 and 0 too): 0, or 1 counted as an error. */
static int
conf_env_bool(char *(*getenv_fn)(const char *), const char *name, int *out,
    struct conf_errors *e)
{
	const char *v = getenv_fn(name);

	if (v == NULL || *v == '\0')
		return 0;
	if (strcmp(v, "1") == 0)
		*out = 1;
	else if (strcmp(v, "0") == 0)
		*out = 0;
	else if (conf_parse_bool(v, out) == -1) {
		conf_error(e, 0, "%s: expected yes or no", name);
		return 1;
	}
	return 0;
}

int
shim_conf_env(struct shim_conf *c, char *(*getenv_fn)(const char *),
    struct conf_errors *e)
{
	const char *v, *why;
	int errors = 0;

	if (getenv_fn == NULL)
		return 0;
	if ((v = getenv_fn("SOCKS64_GATEWAY")) != NULL && *v != '\0') {
		/* Replaces the file's gateways only when it parses. */
		if (conf_env_gateway(c, v, &why) == -1) {
			conf_error(e, 0, "SOCKS64_GATEWAY: %s", why);
			errors++;
		}
	}
	if ((v = getenv_fn("SOCKS64_USER")) != NULL && *v != '\0' &&
	    conf_set_string(c->user, sizeof(c->user), v, &why) == -1) {
		conf_error(e, 0, "SOCKS64_USER: %s", why);
		errors++;
	}
	if ((v = getenv_fn("SOCKS64_PASSWORD")) != NULL && *v != '\0' &&
	    conf_set_string(c->password, sizeof(c->password), v, &why) == -1) {
		conf_error(e, 0, "SOCKS64_PASSWORD: %s", why);
		errors++;
	}
	errors += conf_env_bool(getenv_fn, "SOCKS64_DEBUG", &c->debug, e);
	errors += conf_env_bool(getenv_fn, "SOCKS64_ASYNC", &c->async, e);
	return errors;
}

/* ------------------------------------------------------------------ */
/* the loader                                                           */

/*
 * Reads path into a malloc'd buffer. Returns it (*len set), or NULL:
 * with errno ENOENT when there is simply no file.
 */
static char *
conf_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return NULL;
	}
	if (st.st_size > CONF_MAX_SIZE) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Writes each "FILE:LINE: reason" line of e as "socks64: ..." on stderr. */
static void
conf_report(const struct conf_errors *e)
{
	const char *p = e->text, *end = e->text + e->used, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		shim_log("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
	if (e->count > 0 && e->used == 0)
		shim_log("%s: %d configuration errors", e->file, e->count);
}

/*
 * The first gateways named in the config: resolved once, with the real
 * resolver. A path whose gateway has no address is dropped; with none
 * left the shim is disabled.
 */
static void
conf_resolve_gateways(struct shim_conf *c)
{
	int (*gai)(const char *, const char *, const struct addrinfo *,
	    struct addrinfo **);
	void (*fai)(struct addrinfo *);
	struct addrinfo hints, *res;
	struct shim_path *p;
	size_t i, kept = 0;
	int r;

	*(void **)&gai = real_symbol("getaddrinfo");
	*(void **)&fai = real_symbol("freeaddrinfo");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	for (i = 0; i < c->npaths; i++) {
		p = &c->paths[i];
		if (p->addr_len != 0) {
			c->paths[kept++] = *p;
			continue;
		}
		res = NULL;
		r = gai == NULL || fai == NULL ? EAI_SYSTEM :
		    gai(p->name, NULL, &hints, &res);
		if (r != 0 || res == NULL || res->ai_addrlen > sizeof(p->addr)) {
			shim_log("gateway %s: %s; not used", p->name,
			    r == EAI_SYSTEM && gai == NULL ? "no resolver" :
			    r != 0 ? gai_strerror(r) : "no address");
			if (res != NULL)
				fai(res);
			continue;
		}
		memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
		p->addr_len = res->ai_addrlen;
		addr_set_port((struct sockaddr *)&p->addr, p->port);
		fai(res);
		c->paths[kept++] = *p;
	}
	c->npaths = kept;
	conf_sync_first(c);
	if (!c->enabled)
		shim_log("no usable gateway; shim disabled");
}

static void
conf_load(void)
{
	struct shim_conf *c = &conf_loaded;
	struct conf_errors *e;
	const char *path = NULL;
	char *(*env)(const char *) = getenv;
	char *buf;
	size_t len = 0;
	int named = 0;

	shim_conf_defaults(c);
	/*
	 * A setuid or setgid program must not take its gateway, password
	 * or config path from whoever ran it.
	 */
	if (getauxval(AT_SECURE) != 0)
		env = NULL;
	if (atomic_load(&conf_path_is_set))
		path = conf_path_set;	/* the program's own choice */
	else if (env != NULL)
		path = env("SOCKS64_CONF");
	if (path == NULL || *path == '\0')
		path = SHIM_CONF_PATH;
	else
		named = 1;	/* a missing file is then worth a word */
	if ((e = malloc(sizeof(*e))) == NULL)
		return;
	conf_errors_init(e, path);
	if ((buf = conf_read_file(path, &len)) != NULL) {
		shim_conf_parse(c, buf, len, e);
		free(buf);
	} else if (errno != ENOENT || named)
		conf_error(e, 0, "%s", strerror(errno));
	conf_report(e);
	conf_errors_init(e, "environment");
	shim_conf_env(c, env, e);
	conf_report(e);
	free(e);
	if (c->enabled)
		conf_resolve_gateways(c);
	atomic_store_explicit(&conf_debug, c->debug, memory_order_relaxed);
	if (c->enabled) {
		char gw[ADDR_STRLEN];

		shim_debug("gateway %s user %s timeout %ums",
		    addr_format((struct sockaddr *)&c->gateway, gw,
		    sizeof(gw)), c->user[0] != '\0' ? c->user : "-",
		    c->timeout_ms);
	}
}

int
shim_conf_set_path(const char *path)
{
	if (atomic_load(&conf_ready)) {
		errno = EALREADY;
		return -1;
	}
	if (path == NULL) {
		atomic_store(&conf_path_is_set, 0);
		return 0;
	}
	if (strlen(path) >= sizeof(conf_path_set)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(conf_path_set, path, strlen(path) + 1);
	atomic_store(&conf_path_is_set, 1);
	return 0;
}

const struct shim_conf *
shim_conf(void)
{
	int saved;

	if (atomic_load_explicit(&conf_ready, memory_order_acquire))
		return &conf_loaded;
	if (conf_loading)
		return &conf_early;
	saved = errno;
	conf_loading = 1;
	real_once_run(&conf_once, conf_load);
	conf_loading = 0;
	atomic_store_explicit(&conf_ready, 1, memory_order_release);
	errno = saved;
	return &conf_loaded;
}
