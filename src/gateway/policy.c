/*
 * policy.c - pure verdicts: may this client connect, may this request
 * pass, which authentication method to pick.
 *
 * Nothing here touches a socket, a clock or a lock: each function reads
 * an immutable config and a description of the question, so the whole
 * rule language is tested with tables (tests/unit/test_policy.c).
 */
#include <netinet/in.h>

#include <string.h>
#include <strings.h>

#include "gateway/gatewayd.h"

static const struct verdict policy_no_destination = {
	RULE_BLOCK, 0, "no destination", NULL
};

/* Whether sa lies in net, where family AF_UNSPEC stands for "any". */
static int
policy_net_has(const struct addr_net *net, const struct sockaddr *sa)
{
	if (net->family == AF_UNSPEC)
		return 1;
	return sa != NULL && addr_net_contains(net, sa);
}

/* Whether network inner lies wholly inside network outer. */
static int
policy_net_within(const struct addr_net *inner, const struct addr_net *outer)
{
	unsigned int	bits = outer->prefix, i;

	if (inner->family != outer->family || inner->prefix < outer->prefix)
		return 0;
	for (i = 0; i < bits / 8; i++)
		if (inner->bytes[i] != outer->bytes[i])
			return 0;
	if (bits % 8 != 0) {
		uint8_t	mask = (uint8_t)(0xff << (8 - bits % 8));

		if ((inner->bytes[i] & mask) != (outer->bytes[i] & mask))
			return 0;
	}
	return 1;
}

struct verdict
policy_client(const struct gw_conf *c, const struct sockaddr *client)
{
	struct verdict	v = { RULE_BLOCK, 0, "no client rule matched", NULL };
	size_t		i;

	for (i = 0; i < c->nclient_rules; i++) {
		const struct client_rule	*r = &c->client_rules[i];

		if (policy_net_has(&r->from, client)) {
			v.action = r->action;
			v.lineno = r->lineno;
			v.why = "rule";
			return v;
		}
	}
	return v;
}

/* ---------------------------------------------------------------- */
/* protected destinations                                              */

#define V4(a, b, c, d, len)	{ AF_INET, { a, b, c, d }, len }
#define V6(a, b, len)		{ AF_INET6, { a, b }, len }

/*
 * protect-local: what reaches this host or its links rather than the
 * world. ::/128 joins 0.0.0.0/8 because connecting to the unspecified
 * address reaches the local host too. IPv4-mapped forms are covered by
 * matching them as the IPv4 address they carry (addr_net_contains).
 */
static const struct addr_net policy_local_nets[] = {
	V4(127, 0, 0, 0, 8),
	V4(0, 0, 0, 0, 8),
	V4(169, 254, 0, 0, 16),
	{ AF_INET6, { [15] = 1 }, 128 },		/* ::1 */
	{ AF_INET6, { 0 }, 128 },			/* :: */
	V6(0xfe, 0x80, 10),
};

/* protect-private: RFC 1918, RFC 6598 shared space, RFC 4193 ULAs. */
static const struct addr_net policy_private_nets[] = {
	V4(10, 0, 0, 0, 8),
	V4(172, 16, 0, 0, 12),
	V4(192, 168, 0, 0, 16),
	V4(100, 64, 0, 0, 10),
	V6(0xfc, 0x00, 7),
};

/* The entry of q->own that sa is, or NULL. */
static const struct addr_net *
policy_own(const struct policy_query *q, const struct sockaddr *sa)
{
	size_t	i;

	for (i = 0; i < q->nown; i++)
		if (addr_net_contains(&q->own[i], sa))
			return &q->own[i];
	return NULL;
}

/*
 * Whether the client is on this host: loopback, or coming from one of
 * the host's own addresses (a program here that bound to the LAN
 * address). The kernel drops an arriving packet that claims a local
 * source, so a remote client cannot pass for one.
 */
static int
policy_client_is_local(const struct policy_query *q)
{
	return q->client != NULL && (addr_is_loopback(q->client) ||
	    policy_own(q, q->client) != NULL);
}

/*
 * The protected network addr lies in, or NULL. Only for clients that
 * are not on this host themselves: a local client could reach these
 * directly anyway, so refusing it protects nothing. protect-local
 * covers the host's own addresses as well as loopback: a router's LAN
 * and WAN addresses reach its own services as surely as 127.0.0.1 does.
 * Each is a network of one address, so only a rule naming exactly that
 * address opens it.
 */
static const struct addr_net *
policy_protected(const struct gw_conf *c, const struct policy_query *q,
    const char **why)
{
	const struct addr_net	*own;
	size_t			 i;

	if (policy_client_is_local(q))
		return NULL;
	if (c->protect_local) {
		for (i = 0; i < sizeof(policy_local_nets) / sizeof(policy_local_nets[0]); i++)
			if (addr_net_contains(&policy_local_nets[i], q->addr)) {
				*why = "protect-local";
				return &policy_local_nets[i];
			}
		if ((own = policy_own(q, q->addr)) != NULL) {
			*why = "protect-local (own address)";
			return own;
		}
	}
	if (c->protect_private) {
		for (i = 0; i < sizeof(policy_private_nets) / sizeof(policy_private_nets[0]);
		    i++)
			if (addr_net_contains(&policy_private_nets[i], q->addr)) {
				*why = "protect-private";
				return &policy_private_nets[i];
			}
	}
	return NULL;
}

/* ---------------------------------------------------------------- */
/* request rules                                                       */

/*
 * Compares a query name with a rule's name (already lower case, no
 * trailing dot): case-insensitively, ignoring the query's trailing dot.
 * A suffix rule "example.org" matches "example.org" and "x.example.org"
 * but not "badexample.org": the byte before the suffix must be a dot.
 */
static int
policy_name_matches(const struct rule *r, const char *name)
{
	size_t	nlen = strlen(name), rlen = strlen(r->to_name);

	if (nlen > 0 && name[nlen - 1] == '.')
		nlen--;
	if (nlen == rlen)
		return strncasecmp(name, r->to_name, rlen) == 0;
	if (r->dest != DEST_SUFFIX || nlen < rlen + 1)
		return 0;
	return name[nlen - rlen - 1] == '.' &&
	    strncasecmp(name + nlen - rlen, r->to_name, rlen) == 0;
}

/* Who asks and for what: from, user and command, as r names them. */
static int
policy_rule_speaks_to(const struct rule *r, const struct policy_query *q)
{
	if (!policy_net_has(&r->from, q->client))
		return 0;
	/* A rule naming a user never matches an anonymous client. */
	if (r->user[0] != '\0' &&
	    (q->user == NULL || strcmp(q->user, r->user) != 0))
		return 0;
	return r->commands == 0 ||
	    (q->cmd < 32 && (r->commands & (1u << q->cmd)));
}

/* Everything but the destination: from, port, user, command. */
static int
policy_rule_matches(const struct rule *r, const struct policy_query *q)
{
	return policy_rule_speaks_to(r, q) &&
	    q->port >= r->port_lo && q->port <= r->port_hi;
}

/* The verdict of rule r; a pass names the chain r sends requests to. */
static struct verdict
policy_decide(const struct gw_conf *c, const struct rule *r)
{
	struct verdict	v = { r->action, r->lineno, "rule", NULL };

	if (r->action == RULE_PASS && r->via > 0 && r->via <= c->nchains)
		v.via = &c->chains[r->via - 1];
	return v;
}

/*
 * Phase 1, before resolving q->name: rules on names and "any" policy_decide;
 * a matching pass rule on a network defers to phase 2 (the name may
 * resolve into it), a block rule on a network cannot be judged yet and
 * is skipped. PASS here only means "worth resolving".
 */
static struct verdict
policy_by_name(const struct gw_conf *c, const struct policy_query *q)
{
	struct verdict	v = { RULE_BLOCK, 0, "no rule matched", NULL };
	size_t		i;

	for (i = 0; i < c->nrules; i++) {
		const struct rule	*r = &c->rules[i];

		if (!policy_rule_matches(r, q))
			continue;
		switch (r->dest) {
		case DEST_ANY:
			return policy_decide(c, r);
		case DEST_NAME:
		case DEST_SUFFIX:
			if (policy_name_matches(r, q->name))
				return policy_decide(c, r);
			break;
		case DEST_NET:
			if (r->action == RULE_PASS) {
				v.action = RULE_PASS;
				v.lineno = r->lineno;
				v.why = "deferred";
				return v;
			}
			break;
		}
	}
	return v;
}

static int
policy_dest_matches(const struct rule *r, const struct policy_query *q)
{
	switch (r->dest) {
	case DEST_ANY:
		return 1;
	case DEST_NET:
		return addr_net_contains(&r->to_net, q->addr);
	case DEST_NAME:
	case DEST_SUFFIX:
		return q->name != NULL && policy_name_matches(r, q->name);
	}
	return 0;
}

/*
 * BIND without an expected peer (RFC 1928 section 4 lets DST.ADDR be
 * 0): the peer may come from anywhere, so only a rule to any can pass
 * it. A rule on a network or a name cannot know the peer yet and is
 * skipped; the peer that connects is judged on its own address later.
 */
static struct verdict
policy_any_peer(const struct gw_conf *c, const struct policy_query *q)
{
	struct verdict	v = { RULE_BLOCK, 0, "no rule matched", NULL };
	size_t		i;

	for (i = 0; i < c->nrules; i++)
		if (c->rules[i].dest == DEST_ANY &&
		    policy_rule_matches(&c->rules[i], q))
			return policy_decide(c, &c->rules[i]);
	return v;
}

/*
 * Phase 2, an address known (resolved, or a literal request): first
 * match wins. When the address is protected, only a pass rule whose
 * network lies inside the protected network (say "pass to 127.0.0.1")
 * may let it through; a pass to any, to a name, or to a network wider
 * than the protected one (0.0.0.0/0) is overruled, so neither a broad
 * rule nor a name that resolves to 127.0.0.1 opens the local host.
 */
static struct verdict
policy_by_addr(const struct gw_conf *c, const struct policy_query *q)
{
	struct verdict		 v = { RULE_BLOCK, 0, "no rule matched", NULL };
	const struct addr_net	*prot;
	const char		*pwhy = NULL;
	size_t			 i;

	if (q->cmd == SOCKS5_CMD_BIND && addr_is_unspecified(q->addr))
		return policy_any_peer(c, q);
	prot = policy_protected(c, q, &pwhy);
	for (i = 0; i < c->nrules; i++) {
		const struct rule	*r = &c->rules[i];

		if (!policy_rule_matches(r, q) || !policy_dest_matches(r, q))
			continue;
		if (prot != NULL && r->action == RULE_PASS &&
		    !(r->dest == DEST_NET && policy_net_within(&r->to_net, prot))) {
			v.why = pwhy;
			return v;
		}
		return policy_decide(c, r);
	}
	return v;
}

/*
 * Two phases. With q->addr NULL (a name, before any look-up) the rules
 * on names and "any" policy_decide, and a pass rule on a network defers to the
 * second phase (the name may resolve into it). With q->addr set (each
 * address the name resolved to, or a literal request) the address
 * decides, first match wins, and protect-local/-private apply. Line 0
 * in the verdict: no rule decided (default block, or a protection).
 */
struct verdict
policy_request(const struct gw_conf *c, const struct policy_query *q)
{
	if (q->addr != NULL)
		return policy_by_addr(c, q);
	if (q->name != NULL)
		return policy_by_name(c, q);
	return policy_no_destination;
}

struct verdict
policy_command(const struct gw_conf *c, const struct policy_query *q)
{
	struct verdict	v = { RULE_BLOCK, 0, "no rule matched", NULL };
	size_t		i;

	for (i = 0; i < c->nrules; i++) {
		const struct rule	*r = &c->rules[i];

		/* Destination and port aside. */
		if (!policy_rule_speaks_to(r, q))
			continue;
		if (r->action == RULE_PASS)
			return policy_decide(c, r);
		/* A block of every destination and port ends the search. */
		if (r->dest == DEST_ANY && r->port_lo == 0 &&
		    r->port_hi == 65535)
			return policy_decide(c, r);
	}
	return v;
}

/*
 * RFC 1928 section 3: pick one method from those offered. With both
 * none and password configured, a client that offers username/password
 * must authenticate, and one that offers only "no authentication" is
 * let in anonymously, where rules naming a user do not match it. With
 * only password configured, an anonymous client gets X'FF'.
 */
uint8_t
policy_method(const struct gw_conf *c, const struct socks5_greeting *g)
{
	int	none = 0, userpass = 0;
	size_t	i;

	for (i = 0; i < g->nmethods; i++) {
		if (g->methods[i] == SOCKS5_METHOD_NONE)
			none = 1;
		else if (g->methods[i] == SOCKS5_METHOD_USERPASS)
			userpass = 1;
	}
	if (userpass && (c->auth & AUTH_PASSWORD))
		return SOCKS5_METHOD_USERPASS;
	if (none && (c->auth & AUTH_NONE))
		return SOCKS5_METHOD_NONE;
	return SOCKS5_METHOD_REFUSED;
}
