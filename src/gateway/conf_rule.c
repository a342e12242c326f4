/*
 * conf_rule.c - the rule language of gatewayd.conf: who may connect
 * ("client pass|block from NET"), what a request may reach ("pass|block
 * ... to DEST ... via CHAIN") and the next gateways ("chain"), each
 * line parsed into the arrays of a struct gw_conf.
 *
 * Called by conf.c's directive table; pure like it: every mistake is
 * recorded as "FILE:LINE: reason" in the caller's struct conf_errors and
 * the line is dropped, nothing stops at the first. policy.c reads what
 * this file builds: names are stored lower case without a trailing dot,
 * so matching need not normalise the rule side.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/gatewayd.h"

/* Inserts r at index at (0: in front, nclient_rules: at the end). */
int
conf_rule_add_client(struct gw_conf *c, const struct client_rule *r, size_t at)
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
conf_rule_add_chain(struct gw_conf *c, const struct chain *h)
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

int
conf_rule_add(struct gw_conf *c, const struct rule *r)
{
	struct rule	*v;

	v = realloc(c->rules, (c->nrules + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	c->rules = v;
	v[c->nrules++] = *r;
	return 0;
}

/* "client pass|block from NET" */
void
conf_rule_client(struct gw_conf *c, struct conf_errors *e,
    const struct conflex_line *l)
{
	struct client_rule	 r;
	const char		*why;

	memset(&r, 0, sizeof(r));
	r.lineno = l->lineno;
	if (l->nwords < 2) {
		conf_error(e, l->lineno,
		    "expected pass or block after 'client'");
		return;
	}
	if (strcmp(l->words[1], "pass") == 0)
		r.action = RULE_PASS;
	else if (strcmp(l->words[1], "block") == 0)
		r.action = RULE_BLOCK;
	else {
		conf_error(e, l->lineno,
		    "expected pass or block after 'client', not '%s'",
		    l->words[1]);
		return;
	}
	if (l->nwords < 3) {
		conf_error(e, l->lineno, "expected 'from' after 'client %s'",
		    l->words[1]);
		return;
	}
	if (strcmp(l->words[2], "from") != 0) {
		conf_error(e, l->lineno,
		    "expected 'from' after 'client %s', not '%s'", l->words[1],
		    l->words[2]);
		return;
	}
	if (l->nwords < 4) {
		conf_error(e, l->lineno,
		    "expected a network or 'any' after 'client %s from'",
		    l->words[1]);
		return;
	}
	if (addr_parse_net(l->words[3], &r.from, &why) == -1) {
		conf_error(e, l->lineno, "expected a network or 'any' after "
		    "'client %s from', not '%s': %s", l->words[1], l->words[3],
		    why);
		return;
	}
	if (l->nwords > 4) {
		conf_error(e, l->lineno,
		    "unexpected '%s' after 'client %s from %s'", l->words[4],
		    l->words[1], l->words[3]);
		return;
	}
	if (conf_rule_add_client(c, &r, c->nclient_rules) == -1)
		conf_error(e, l->lineno, "out of memory");
}

/*
 * Whether s is a host name we can match against: dot-separated labels
 * of 1-63 letters, digits, '-' or '_' (RFC 1123, plus the '_' of service
 * names), no label starting or ending with '-', at most 253 bytes. A
 * trailing dot (the root) has been removed by the caller.
 */
static int
conf_rule_valid_name(const char *s)
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
conf_rule_is_address(const char *s)
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
conf_rule_dest(struct rule *r, const char *w, const char **why)
{
	/* Zeroed whole: clang-tidy cannot see that strlen(name) is len. */
	char	 name[256] = "";
	size_t	 len, i;
	int	 suffix = 0;

	if (strcmp(w, "any") == 0) {
		r->dest = DEST_ANY;
		return 0;
	}
	if (conf_rule_is_address(w)) {
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
	if (!conf_rule_valid_name(name)) {
		*why = "not an address, a network, a host name or a .suffix";
		return -1;
	}
	r->dest = suffix ? DEST_SUFFIX : DEST_NAME;
	memcpy(r->to_name, name, len + 1);
	return 0;
}

/* Parses "P" or "P-Q" (1-65535, P <= Q). */
static int
conf_rule_ports(struct rule *r, const char *w)
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
conf_rule_command(struct rule *r, const char *w)
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
conf_rule_chain_find(const struct gw_conf *c, const char *name)
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
conf_rule_via(struct gw_conf *c, struct rule *r, const char *w,
    unsigned int line, const char **why)
{
	struct chain	h;

	if ((r->via = conf_rule_chain_find(c, w)) != 0)
		return 0;
	if (!conf_rule_is_address(w)) {
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
	if (conf_rule_add_chain(c, &h) == -1) {
		*why = "out of memory";
		return -1;
	}
	r->via = (unsigned int)c->nchains;
	return 0;
}

/* The keywords of a pass|block rule, and what each wants after it. */
enum conf_rule_kw {
	KW_FROM, KW_TO, KW_PORT, KW_USER, KW_COMMAND, KW_VIA, KW_COUNT
};
static const char *const conf_rule_kwname[KW_COUNT] = {
	"from", "to", "port", "user", "command", "via",
};
static const char *const conf_rule_kwwhat[KW_COUNT] = {
	"a network or 'any'",
	"any, an address or network, a name or a .suffix",
	"a port or a range P-Q (1-65535)",
	"a user name",
	"connect, bind or udp-associate",
	"a chain name or ADDR:PORT",
};

/*
 * Sets keyword k of r from its value v. Returns 0, or -1 with *why a
 * static reason or left NULL.
 */
static int
conf_rule_keyword(struct gw_conf *c, struct rule *r, enum conf_rule_kw k,
    const char *v, unsigned int line, const char **why)
{
	switch (k) {
	case KW_FROM:
		return addr_parse_net(v, &r->from, why);
	case KW_TO:
		return conf_rule_dest(r, v, why);
	case KW_PORT:
		return conf_rule_ports(r, v);
	case KW_USER:
		/* RFC 1929: a user name is 1-255 bytes. */
		if (v[0] == '\0' || strlen(v) > 255)
			return -1;
		memcpy(r->user, v, strlen(v) + 1);
		return 0;
	case KW_COMMAND:
		return conf_rule_command(r, v);
	case KW_VIA:
		return conf_rule_via(c, r, v, line, why);
	default:
		return -1;
	}
}

/* The keyword words[i] names, or KW_COUNT (after the error) if none. */
static enum conf_rule_kw
conf_rule_kw(struct conf_errors *e, const struct conflex_line *l, int i,
    unsigned int seen)
{
	int	k;

	for (k = 0; k < KW_COUNT; k++)
		if (strcmp(l->words[i], conf_rule_kwname[k]) == 0)
			break;
	if (k == KW_COUNT)
		conf_error(e, l->lineno, "expected from, to, port, user, "
		    "command or via in '%s' rule, not '%s'", l->words[0],
		    l->words[i]);
	else if (seen & (1u << k)) {
		conf_error(e, l->lineno, "'%s' given twice in '%s' rule",
		    conf_rule_kwname[k], l->words[0]);
		k = KW_COUNT;
	} else if (i + 1 >= l->nwords) {
		conf_error(e, l->lineno, "expected %s after '%s'",
		    conf_rule_kwwhat[k], conf_rule_kwname[k]);
		k = KW_COUNT;
	}
	return (enum conf_rule_kw)k;
}

void
conf_rule_request(struct gw_conf *c, struct conf_errors *e,
    const struct conflex_line *l)
{
	struct rule		 r;
	enum conf_rule_kw	 k;
	const char		*why;
	unsigned int		 seen = 0;
	int			 i;

	memset(&r, 0, sizeof(r));
	r.action = strcmp(l->words[0], "pass") == 0 ? RULE_PASS : RULE_BLOCK;
	r.dest = DEST_ANY;
	r.port_hi = 65535;
	r.lineno = l->lineno;
	for (i = 1; i < l->nwords; i += 2) {
		if ((k = conf_rule_kw(e, l, i, seen)) == KW_COUNT)
			return;
		seen |= 1u << k;
		why = NULL;
		if (conf_rule_keyword(c, &r, k, l->words[i + 1], l->lineno,
		    &why) == -1) {
			conf_error(e, l->lineno, "expected %s after '%s', not "
			    "'%s'%s%s", conf_rule_kwwhat[k],
			    conf_rule_kwname[k], l->words[i + 1],
			    why != NULL ? ": " : "", why != NULL ? why : "");
			return;
		}
	}
	if (r.via != 0 && r.action == RULE_BLOCK) {
		conf_error(e, l->lineno, "'via' in a block rule: only a "
		    "pass rule sends a request on");
		return;
	}
	/* A datagram is relayed by this gateway or dropped, never chained. */
	if (r.via != 0 && r.commands == (1u << SOCKS5_CMD_UDP)) {
		conf_error(e, l->lineno,
		    "'via' with 'command udp-associate': UDP is not chained");
		return;
	}
	if (conf_rule_add(c, &r) == -1)
		conf_error(e, l->lineno, "out of memory");
}

/*
 * "chain NAME ADDR:PORT [user USER password PASSWORD]": the next
 * gateway rules send requests to with "via NAME". A name is 1-63
 * letters, digits, '-', '_' or '.', not all digits and dots.
 */
void
conf_rule_chain(struct gw_conf *c, struct conf_errors *e,
    const struct conflex_line *l)
{
	struct chain	 h;
	const char	*name, *why;
	unsigned int	 prev;
	size_t		 len;

	memset(&h, 0, sizeof(h));
	h.lineno = l->lineno;
	if (l->nwords < 3) {
		conf_error(e, l->lineno,
		    "expected NAME ADDR:PORT after 'chain'");
		return;
	}
	name = l->words[1];
	len = strlen(name);
	if (len == 0 || len >= sizeof(h.name) || strspn(name,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789-_.") != len || conf_rule_is_address(name)) {
		conf_error(e, l->lineno, "expected a chain name (up to 63 "
		    "letters, digits, '-', '_', '.') after 'chain', not '%s'",
		    name);
		return;
	}
	if ((prev = conf_rule_chain_find(c, name)) != 0) {
		conf_error(e, l->lineno, "chain '%s' already defined at "
		    "line %u", name, c->chains[prev - 1].lineno);
		return;
	}
	memcpy(h.name, name, len + 1);
	if (addr_parse_endpoint(l->words[2], GATEWAYD_DEFAULT_PORT, &h.addr,
	    &h.addrlen, &why) == -1) {
		conf_error(e, l->lineno, "expected ADDR:PORT after 'chain "
		    "%s', not '%s': %s", name, l->words[2], why);
		return;
	}
	if (l->nwords > 3) {
		/* RFC 1929: a user name is 1-255 bytes, a password 0-255. */
		if (l->nwords != 7 || strcmp(l->words[3], "user") != 0 ||
		    strcmp(l->words[5], "password") != 0 ||
		    l->words[4][0] == '\0' || strlen(l->words[4]) > 255 ||
		    strlen(l->words[6]) > 255) {
			conf_error(e, l->lineno, "expected 'user NAME "
			    "password PASSWORD' after 'chain %s %s'", name,
			    l->words[2]);
			return;
		}
		memcpy(h.user, l->words[4], strlen(l->words[4]) + 1);
		memcpy(h.pass, l->words[6], strlen(l->words[6]) + 1);
	}
	if (conf_rule_add_chain(c, &h) == -1)
		conf_error(e, l->lineno, "out of memory");
	explicit_bzero(&h, sizeof(h));
}
