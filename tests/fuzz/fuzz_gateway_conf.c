/*
 * fuzz_gateway_conf.c - gatewayd.conf: conf_parse (src/gateway/conf.c)
 * and the pure policy that reads what it built (policy.c).
 *
 * Checked on every input: a config comes back exactly when no error was
 * counted, and the error text is well formed; a config holds only values
 * in the ranges gatewayd.conf(5) gives (every network with its host bits
 * clear, port ranges in order, known enums, the limits, chains with a
 * unique name and an address, used only by pass rules). Then the rules
 * are asked a few questions, about the clients and destinations the
 * config itself names: every verdict is pass or block, with a reason,
 * from a rule of the right action at the line it names, or from line 0,
 * and a pass may name one of the config's chains as its next hop.
 */
#include <arpa/inet.h>
#include <limits.h>

#include "fuzz.h"
#include "gateway/gatewayd.h"

/* Host bits below the prefix are zero, and the prefix fits the family. */
static void
check_net(const struct addr_net *n)
{
	unsigned int bits, i;

	if (n->family == AF_UNSPEC) {
		FUZZ_CHECK(n->prefix == 0);
		return;
	}
	FUZZ_CHECK(n->family == AF_INET || n->family == AF_INET6);
	bits = n->family == AF_INET ? 32 : 128;
	FUZZ_CHECK(n->prefix <= bits);
	for (i = n->prefix; i < 128; i++)
		FUZZ_CHECK((n->bytes[i / 8] & (0x80 >> (i % 8))) == 0);
}

/* An address inside n (its first one), as a sockaddr. */
static void
net_sockaddr(const struct addr_net *n, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (n->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, n->bytes, 4);
		sin->sin_port = htons(443);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, n->bytes, 16);
		sin6->sin6_port = htons(443);
	}
}

static void
check_config(const struct gw_conf *c)
{
	size_t i;

	FUZZ_CHECK(c->refs == 1);
	FUZZ_CHECK(c->nlistens == 0 || (c->listens != NULL &&
	    c->listen_lens != NULL));
	for (i = 0; i < c->nlistens; i++) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&c->listens[i];

		FUZZ_CHECK(sa->sa_family == AF_INET ||
		    sa->sa_family == AF_INET6);
		FUZZ_CHECK(c->listen_lens[i] == addr_len(sa));
	}
	for (i = 0; i < c->nclient_rules; i++) {
		FUZZ_CHECK(c->client_rules[i].action == RULE_PASS ||
		    c->client_rules[i].action == RULE_BLOCK);
		FUZZ_CHECK(c->client_rules[i].lineno > 0);
		check_net(&c->client_rules[i].from);
	}
	for (i = 0; i < c->nrules; i++) {
		const struct rule *r = &c->rules[i];

		FUZZ_CHECK(r->action == RULE_PASS || r->action == RULE_BLOCK);
		FUZZ_CHECK(r->lineno > 0);
		if (i > 0)
			FUZZ_CHECK(r->lineno > c->rules[i - 1].lineno);
		check_net(&r->from);
		FUZZ_CHECK(r->dest >= DEST_ANY && r->dest <= DEST_SUFFIX);
		if (r->dest == DEST_NET)
			check_net(&r->to_net);
		if (r->dest == DEST_NAME || r->dest == DEST_SUFFIX)
			FUZZ_CHECK(r->to_name[0] != '\0' &&
			    strnlen(r->to_name, sizeof(r->to_name)) < 254);
		FUZZ_CHECK(r->port_lo <= r->port_hi);
		FUZZ_CHECK(strnlen(r->user, sizeof(r->user)) <
		    sizeof(r->user));
		FUZZ_CHECK((r->commands & ~((1u << SOCKS5_CMD_CONNECT) |
		    (1u << SOCKS5_CMD_BIND) | (1u << SOCKS5_CMD_UDP))) == 0);
		/* via: a chain defined, only to pass, never for UDP. */
		FUZZ_CHECK(r->via <= c->nchains);
		if (r->via != 0)
			FUZZ_CHECK(r->action == RULE_PASS &&
			    r->commands != (1u << SOCKS5_CMD_UDP));
	}
	FUZZ_CHECK(c->nchains == 0 || c->chains != NULL);
	for (i = 0; i < c->nchains; i++) {
		const struct chain *h = &c->chains[i];
		size_t j;

		FUZZ_CHECK(h->name[0] != '\0' &&
		    strnlen(h->name, sizeof(h->name)) < sizeof(h->name));
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(h->name, c->chains[j].name) != 0);
		FUZZ_CHECK(h->addrlen > 0 &&
		    h->addrlen == addr_len((const struct sockaddr *)&h->addr));
		FUZZ_CHECK(addr_port((const struct sockaddr *)&h->addr) > 0);
		FUZZ_CHECK(strnlen(h->user, sizeof(h->user)) <
		    sizeof(h->user));
		FUZZ_CHECK(strnlen(h->pass, sizeof(h->pass)) <
		    sizeof(h->pass));
		FUZZ_CHECK(h->user[0] != '\0' || h->pass[0] == '\0');
		FUZZ_CHECK(h->lineno > 0);
	}
	FUZZ_CHECK(c->auth != 0 &&
	    (c->auth & ~(AUTH_NONE | AUTH_PASSWORD)) == 0);
	FUZZ_CHECK(!(c->auth & AUTH_PASSWORD) || c->users_file != NULL);
	FUZZ_CHECK(c->users == NULL);
	FUZZ_CHECK(c->family >= FAMILY_HAPPY_EYEBALLS &&
	    c->family <= FAMILY_IPV4_ONLY);
	FUZZ_CHECK(strcmp(conf_family_str(c->family), "unknown") != 0);
	FUZZ_CHECK(c->happy_delay_ms >= 10 && c->happy_delay_ms <= 2000);
	FUZZ_CHECK(c->handshake_timeout <= INT_MAX / 1000);
	FUZZ_CHECK(c->connect_timeout <= INT_MAX / 1000);
	FUZZ_CHECK(c->bind_timeout <= INT_MAX / 1000);
	FUZZ_CHECK(c->idle_timeout <= INT_MAX / 1000);
	FUZZ_CHECK(c->shutdown_grace <= INT_MAX / 1000);
	FUZZ_CHECK(c->max_clients >= 1);
	FUZZ_CHECK(c->protect_local == 0 || c->protect_local == 1);
	FUZZ_CHECK(c->protect_private == 0 || c->protect_private == 1);
	FUZZ_CHECK(c->log_level >= LOG_LEVEL_ERROR &&
	    c->log_level <= LOG_LEVEL_DEBUG);
	FUZZ_CHECK(c->runas == NULL || c->runas[0] != '\0');
}

/*
 * A verdict: pass or block, a reason, a rule of that action, and a hop
 * (only to pass) that is one of the config's chains.
 */
static void
check_verdict(const struct gw_conf *c, struct verdict v, int client)
{
	size_t i, n = client ? c->nclient_rules : c->nrules;
	int found = 0;

	FUZZ_CHECK(v.action == RULE_PASS || v.action == RULE_BLOCK);
	FUZZ_CHECK(v.why != NULL && v.why[0] != '\0');
	if (v.via != NULL) {
		FUZZ_CHECK(!client && v.action == RULE_PASS);
		FUZZ_CHECK(v.via >= c->chains &&
		    v.via < c->chains + c->nchains);
	}
	if (v.lineno == 0)
		return;
	for (i = 0; i < n && !found; i++) {
		unsigned int line = client ? c->client_rules[i].lineno :
		    c->rules[i].lineno;
		enum rule_action act = client ? c->client_rules[i].action :
		    c->rules[i].action;

		if (line == v.lineno && act == v.action)
			found = 1;
	}
	FUZZ_CHECK(found);
}

static void
ask(const struct gw_conf *c)
{
	static const char *const clients[] = { "192.0.2.1", "2001:db8::1",
	    "127.0.0.1", "::ffff:198.51.100.7", "::1" };
	static const uint8_t cmds[] = { SOCKS5_CMD_CONNECT, SOCKS5_CMD_BIND,
	    SOCKS5_CMD_UDP };
	struct socks5_greeting g = { 3, { SOCKS5_METHOD_NONE,
	    SOCKS5_METHOD_GSSAPI, SOCKS5_METHOD_USERPASS } };
	struct sockaddr_storage client, dest;
	struct policy_query q;
	const char *why;
	size_t i, j;
	uint8_t m;

	m = policy_method(c, &g);
	FUZZ_CHECK(m == SOCKS5_METHOD_NONE || m == SOCKS5_METHOD_USERPASS);
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		socklen_t len = sizeof(client);

		FUZZ_CHECK(addr_parse_endpoint(clients[i], 40000, &client,
		    &len, &why) == 0);
		check_verdict(c, policy_client(c,
		    (struct sockaddr *)&client), 1);
		memset(&q, 0, sizeof(q));
		q.client = (struct sockaddr *)&client;
		q.user = i % 2 ? "alice" : NULL;
		q.cmd = cmds[i % 3];
		q.port = (uint16_t)(i * 1000 + 80);
		for (j = 0; j < c->nrules; j++) {
			const struct rule *r = &c->rules[j];

			q.user = r->user[0] != '\0' ? r->user : q.user;
			q.port = r->port_lo;
			q.name = NULL;
			q.addr = NULL;
			if (r->dest == DEST_NAME || r->dest == DEST_SUFFIX) {
				q.name = r->to_name;
				check_verdict(c, policy_request(c, &q), 0);
			}
			if (r->dest == DEST_NET) {
				net_sockaddr(&r->to_net, &dest);
				q.addr = (struct sockaddr *)&dest;
				check_verdict(c, policy_request(c, &q), 0);
			}
			if (r->from.family != AF_UNSPEC) {
				net_sockaddr(&r->from, &dest);
				check_verdict(c, policy_client(c,
				    (struct sockaddr *)&dest), 1);
			}
		}
		q.name = "www.example.org";
		q.addr = NULL;
		check_verdict(c, policy_request(c, &q), 0);
		check_verdict(c, policy_command(c, &q), 0);
		q.addr = (struct sockaddr *)&client;
		check_verdict(c, policy_request(c, &q), 0);
		/* BIND asks with the unspecified address: "any peer". */
		q.cmd = SOCKS5_CMD_BIND;
		q.name = NULL;
		len = sizeof(dest);
		FUZZ_CHECK(addr_parse_endpoint(i % 2 ? "::" : "0.0.0.0", 0,
		    &dest, &len, &why) == 0);
		q.addr = (struct sockaddr *)&dest;
		check_verdict(c, policy_request(c, &q), 0);
		check_verdict(c, policy_command(c, &q), 0);
	}
}

int
fuzz_gateway_conf_one(const uint8_t *data, size_t len)
{
	struct conf_errors *e = malloc(sizeof(*e)), *w = malloc(sizeof(*w));
	char *buf = fuzz_dup(data, len, 0);
	struct gw_conf *c;

	FUZZ_CHECK(e != NULL && w != NULL);
	conf_errors_init(e, "gatewayd.conf");
	c = conf_parse(buf, len, e);
	fuzz_check_errors(e);
	FUZZ_CHECK((c == NULL) == (e->count > 0));
	if (c != NULL) {
		check_config(c);
		conf_errors_init(w, "gatewayd.conf");
		conf_warnings(c, w);
		fuzz_check_errors(w);
		ask(c);
		conf_unref(c);
	}
	free(buf);
	free(w);
	free(e);
	return 0;
}

FUZZ_TARGET(fuzz_gateway_conf_one)
