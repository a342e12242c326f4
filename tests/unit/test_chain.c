/*
 * test_chain.c - chained relays (RFC 3089 section 4): the "chain"
 * directive and a rule's "via" as conf.c parses them (every error with
 * its file and line), the verdicts policy.c gives them in both phases,
 * and chain_open()/chain_read_reply() (src/gateway/chain.c) speaking to
 * a scripted next hop on loopback: methods, credentials, reply codes
 * passed through, bytes after the reply kept, a hop that is down, lies
 * or goes quiet. Also policy_command() and BIND's "any peer".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct gw_conf *
conf_str(const char *text)
{
	struct conf_errors	 e;
	struct gw_conf		*c;

	conf_errors_init(&e, "t.conf");
	if ((c = conf_parse(text, strlen(text), &e)) == NULL)
		fail_msg("test config refused:\n%s", e.text);
	return c;
}

/* ---------------------------------------------------------------- */
/* parsing                                                             */

static void
test_conf_chain_parses(void **state)
{
	struct gw_conf		*c;
	const struct chain	*h;
	char			 buf[ADDR_STRLEN];

	(void)state;
	c = conf_str(
	    "chain up 192.0.2.1:1080 user alice password \"s3 cret\"\n"	/* 1 */
	    "chain v6.hop [2001:db8::1]\n"				/* 2 */
	    "pass to .example.org via up\n"				/* 3 */
	    "pass via v6.hop to 198.51.100.0/24 command bind\n"		/* 4 */
	    "pass to any via 203.0.113.9:1081\n"			/* 5 */
	    "pass to any via 203.0.113.9:1081 port 80\n"		/* 6 */
	    "pass to any\n");						/* 7 */
	assert_int_equal(c->nchains, 3);
	h = &c->chains[0];
	assert_string_equal(h->name, "up");
	assert_string_equal(addr_format((const struct sockaddr *)&h->addr,
	    buf, sizeof(buf)), "192.0.2.1:1080");
	assert_string_equal(h->user, "alice");
	assert_string_equal(h->pass, "s3 cret");
	assert_int_equal(h->lineno, 1);
	/* The port defaults to 1080, as for listen. */
	assert_string_equal(addr_format((const struct sockaddr *)
	    &c->chains[1].addr, buf, sizeof(buf)), "[2001:db8::1]:1080");
	assert_string_equal(c->chains[1].user, "");
	/* "via ADDR:PORT" is an unnamed chain, shared by its rules. */
	assert_string_equal(c->chains[2].name, "203.0.113.9:1081");
	assert_int_equal(c->rules[0].via, 1);
	assert_int_equal(c->rules[1].via, 2);
	assert_int_equal(c->rules[2].via, 3);
	assert_int_equal(c->rules[3].via, 3);
	assert_int_equal(c->rules[4].via, 0);
	conf_unref(c);
}

static const struct bad_case {
	const char	*text;
	unsigned int	 line;
	const char	*reason;
} bad_cases[] = {
	{ "chain\n", 1, "expected NAME ADDR:PORT after 'chain'" },
	{ "chain up\n", 1, "expected NAME ADDR:PORT after 'chain'" },
	{ "chain 10.0.0.1 192.0.2.1:1080\n", 1,
	    "expected a chain name (up to 63 letters, digits, '-', '_', "
	    "'.') after 'chain', not '10.0.0.1'" },
	{ "chain a/b 192.0.2.1\n", 1, "not 'a/b'" },
	{ "chain up 192.0.2.1:1080\nchain up 192.0.2.2\n", 2,
	    "chain 'up' already defined at line 1" },
	{ "chain up gw.example:1080\n", 1,
	    "expected ADDR:PORT after 'chain up', not 'gw.example:1080'" },
	{ "chain up 192.0.2.1 user\n", 1,
	    "expected 'user NAME password PASSWORD' after 'chain up "
	    "192.0.2.1'" },
	{ "chain up 192.0.2.1 user a pass b\n", 1,
	    "expected 'user NAME password PASSWORD'" },
	{ "chain up 192.0.2.1 user \"\" password b\n", 1,
	    "expected 'user NAME password PASSWORD'" },
	{ "# comment\npass to any via nowhere\n", 2,
	    "expected a chain name or ADDR:PORT after 'via', not 'nowhere': "
	    "no such chain" },
	{ "pass to any via later\nchain later 192.0.2.1\n", 1,
	    "no such chain (a 'chain' line must define it first)" },
	{ "pass to any via 192.0.2.1:99999\n", 1,
	    "after 'via', not '192.0.2.1:99999'" },
	{ "pass to any via\n", 1,
	    "expected a chain name or ADDR:PORT after 'via'" },
	{ "chain up 192.0.2.1\nblock to any via up\n", 2,
	    "'via' in a block rule" },
	{ "chain up 192.0.2.1\npass via up command udp-associate\n", 2,
	    "'via' with 'command udp-associate': UDP is not chained" },
	{ "chain up 192.0.2.1\npass via up via up\n", 2,
	    "'via' given twice in 'pass' rule" },
	{ "timeout bind 0\n", 1, "expected seconds from 1 to" },
	{ "timeout bind 1\ntimeout bind 2\n", 2,
	    "duplicate 'timeout bind' (first at line 1)" },
};

static void
test_conf_chain_errors(void **state)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	char			 head[32];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad_cases); i++) {
		conf_errors_init(&e, "t.conf");
		c = conf_parse(bad_cases[i].text, strlen(bad_cases[i].text),
		    &e);
		snprintf(head, sizeof(head), "t.conf:%u: ", bad_cases[i].line);
		if (c != NULL || strncmp(e.text, head, strlen(head)) != 0 ||
		    strstr(e.text, bad_cases[i].reason) == NULL)
			fail_msg("case %zu \"%s\": want \"%s...%s\", got:\n%s",
			    i, bad_cases[i].text, head, bad_cases[i].reason,
			    e.text);
		conf_unref(c);
	}
}

static void
test_conf_timeout_bind(void **state)
{
	struct gw_conf	*c;

	(void)state;
	c = conf_str("pass to any\n");
	assert_int_equal(c->bind_timeout, 60);
	conf_unref(c);
	c = conf_str("timeout bind 2m\n");
	assert_int_equal(c->bind_timeout, 120);
	conf_unref(c);
	c = conf_defaults();
	assert_int_equal(c->bind_timeout, 60);
	assert_int_equal(c->nchains, 0);
	conf_unref(c);
}

static void
test_conf_warnings_unused_chain(void **state)
{
	struct conf_errors	 w;
	struct gw_conf		*c;

	(void)state;
	c = conf_str("client pass from any\n"
	    "chain used 192.0.2.1\n"
	    "chain idle 192.0.2.2\n"
	    "pass to .a.example via used\n");
	conf_errors_init(&w, "t.conf");
	conf_warnings(c, &w);
	assert_non_null(strstr(w.text,
	    "t.conf:3: chain 'idle' is not used by any rule"));
	assert_null(strstr(w.text, "'used'"));
	conf_unref(c);
}

/* ---------------------------------------------------------------- */
/* verdicts                                                            */

static const struct sockaddr *
sa(struct sockaddr_storage *ss, const char *text, uint16_t port)
{
	socklen_t	 len;
	const char	*why;

	if (text == NULL)
		return NULL;
	if (addr_parse_endpoint(text, port, ss, &len, &why) == -1)
		fail_msg("bad test address %s: %s", text, why);
	return (const struct sockaddr *)ss;
}

static const char chain_conf[] =
    "chain up 192.0.2.1\n"				/* 1 */
    "pass to .far.example via up\n"			/* 2 */
    "block to blocked.far.example\n"			/* 3 */
    "pass to 198.51.100.0/24 via up\n"			/* 4 */
    "pass to 203.0.113.0/24 command connect\n"		/* 5 */
    "pass to any command bind\n";			/* 6 */

static const struct via_case {
	uint8_t		 cmd;
	const char	*name;
	const char	*addr;
	enum rule_action action;
	unsigned int	 line;
	int		 via;		/* whether the verdict names "up" */
} via_cases[] = {
	/* Phase 1: a name rule with via decides, unresolved. */
	{ SOCKS5_CMD_CONNECT, "www.far.example", NULL, RULE_PASS, 2, 1 },
	{ SOCKS5_CMD_CONNECT, "FAR.example.", NULL, RULE_PASS, 2, 1 },
	/* First match: the suffix rule comes before the block. */
	{ SOCKS5_CMD_CONNECT, "blocked.far.example", NULL, RULE_PASS, 2, 1 },
	/* A network rule defers: no chain before the addresses. */
	{ SOCKS5_CMD_CONNECT, "near.example", NULL, RULE_PASS, 4, 0 },
	/* Phase 2: a network rule with via decides on the address. */
	{ SOCKS5_CMD_CONNECT, "near.example", "198.51.100.7", RULE_PASS, 4,
	    1 },
	{ SOCKS5_CMD_CONNECT, NULL, "198.51.100.7", RULE_PASS, 4, 1 },
	{ SOCKS5_CMD_CONNECT, NULL, "203.0.113.7", RULE_PASS, 5, 0 },
	{ SOCKS5_CMD_CONNECT, NULL, "192.0.2.7", RULE_BLOCK, 0, 0 },
	/* BIND for any peer: only a rule to any decides (6, not 4). */
	{ SOCKS5_CMD_BIND, NULL, "0.0.0.0", RULE_PASS, 6, 0 },
	{ SOCKS5_CMD_BIND, NULL, "::", RULE_PASS, 6, 0 },
	{ SOCKS5_CMD_CONNECT, NULL, "0.0.0.0", RULE_BLOCK, 0, 0 },
	{ SOCKS5_CMD_UDP, NULL, "0.0.0.0", RULE_BLOCK, 0, 0 },
};

static void
test_policy_request_via(void **state)
{
	struct sockaddr_storage	 cl, ds;
	struct policy_query	 q;
	struct verdict		 v;
	struct gw_conf		*c = conf_str(chain_conf);
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(via_cases); i++) {
		const struct via_case *t = &via_cases[i];

		memset(&q, 0, sizeof(q));
		q.client = sa(&cl, "127.0.0.1", 40000);
		q.cmd = t->cmd;
		q.name = t->name;
		q.addr = sa(&ds, t->addr, 80);
		q.port = 80;
		v = policy_request(c, &q);
		if (v.action != t->action || v.lineno != t->line ||
		    (v.via != NULL) != t->via)
			fail_msg("case %zu: got %s line %u via %s (%s)", i,
			    v.action == RULE_PASS ? "pass" : "block", v.lineno,
			    v.via != NULL ? v.via->name : "-", v.why);
		if (v.via != NULL)
			assert_ptr_equal(v.via, &c->chains[0]);
	}
	conf_unref(c);
}

static void
test_policy_command(void **state)
{
	static const struct {
		const char	*conf;
		const char	*client;
		const char	*user;
		enum rule_action action;
		unsigned int	 line;
	} t[] = {
		/* A pass to anything at all makes UDP worth setting up. */
		{ "pass to 192.0.2.1 port 53 command udp-associate\n",
		    "127.0.0.1", NULL, RULE_PASS, 1 },
		{ "pass to any command connect\n", "127.0.0.1", NULL,
		    RULE_BLOCK, 0 },
		{ "block to 192.0.2.1\npass to any\n", "127.0.0.1", NULL,
		    RULE_PASS, 2 },
		/* Blocking everything ends the search before a pass. */
		{ "block command udp-associate\npass to any\n", "127.0.0.1",
		    NULL, RULE_BLOCK, 1 },
		{ "block from 10.0.0.0/8\npass to any\n", "10.1.1.1", NULL,
		    RULE_BLOCK, 1 },
		{ "block from 10.0.0.0/8\npass to any\n", "127.0.0.1", NULL,
		    RULE_PASS, 2 },
		{ "pass user bob to any\n", "127.0.0.1", NULL, RULE_BLOCK, 0 },
		{ "pass user bob to any\n", "127.0.0.1", "bob", RULE_PASS, 1 },
		{ "block port 1-1024\npass to any\n", "127.0.0.1", NULL,
		    RULE_PASS, 2 },
	};
	struct sockaddr_storage	 cl;
	struct policy_query	 q;
	struct verdict		 v;
	struct gw_conf		*c;
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(t); i++) {
		c = conf_str(t[i].conf);
		memset(&q, 0, sizeof(q));
		q.client = sa(&cl, t[i].client, 40000);
		q.user = t[i].user;
		q.cmd = SOCKS5_CMD_UDP;
		v = policy_command(c, &q);
		if (v.action != t[i].action || v.lineno != t[i].line)
			fail_msg("case %zu: got %s line %u", i,
			    v.action == RULE_PASS ? "pass" : "block",
			    v.lineno);
		conf_unref(c);
	}
}

/* ---------------------------------------------------------------- */
/* chain_open against a scripted hop                                   */

/*
 * What the fake hop does: checks the greeting (and credentials) it
 * expects, then writes `answer` (bytes, any mix of messages) and holds
 * the connection until the client closes.
 */
struct hop {
	int		 lfd;
	uint16_t	 port;
	pthread_t	 t;
	const uint8_t	*answer;
	size_t		 alen;
	int		 close_at_once;	/* close after reading the greeting */
	uint8_t		 got[1024];	/* what the client sent */
	size_t		 glen;
};

static void *
hop_main(void *arg)
{
	struct hop	*h = arg;
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 fd;

	if ((fd = accept(h->lfd, NULL, NULL)) == -1)
		return NULL;
	pfd.fd = fd;
	pfd.events = POLLIN;
	/* Read what comes for a moment, so the client's messages are in. */
	if (poll(&pfd, 1, 2000) == 1 &&
	    (n = recv(fd, h->got, sizeof(h->got), 0)) > 0)
		h->glen = (size_t)n;
	if (!h->close_at_once) {
		if (h->answer != NULL)
			(void)send(fd, h->answer, h->alen, MSG_NOSIGNAL);
		while (poll(&pfd, 1, 3000) == 1 &&
		    (n = recv(fd, h->got + h->glen, sizeof(h->got) - h->glen,
		    0)) > 0)
			h->glen += (size_t)n;
	}
	close(fd);
	return NULL;
}

static void
hop_start(struct hop *h, const uint8_t *answer, size_t alen)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->answer = answer;
	h->alen = alen;
	h->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(h->lfd >= 0);
	assert_int_equal(bind(h->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(h->lfd, 1), 0);
	assert_int_equal(getsockname(h->lfd, (struct sockaddr *)&sin, &len),
	    0);
	h->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&h->t, NULL, hop_main, h), 0);
}

static void
hop_join(struct hop *h)
{
	pthread_join(h->t, NULL);
	close(h->lfd);
}

static void
chain_to(struct chain *c, uint16_t port, const char *user, const char *pass)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&c->addr;

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "hop");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->addrlen = sizeof(*sin);
	if (user != NULL) {
		snprintf(c->user, sizeof(c->user), "%s", user);
		snprintf(c->pass, sizeof(c->pass), "%s", pass);
	}
}

static void
dst_name(struct socks5_addr *a, const char *name, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->atyp = SOCKS5_ATYP_DOMAIN;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->port = port;
}

/* No credentials: only "no authentication" offered; the name as sent. */
static void
test_chain_open_passes_name_and_reply(void **state)
{
	static const uint8_t	answer[] = {
		5, 0,					/* method none */
		5, 4, 0, 1, 0, 0, 0, 0, 0, 0,		/* reply 04 */
	};
	static const uint8_t	want[] = {
		5, 1, 0,				/* greeting */
		5, 1, 0, 3, 11, 'w', 'w', 'w', '.', 'e', 'x', 'a', 'm', 'p',
		'l', 'e', 0x01, 0xbb,			/* the request */
	};
	struct chain_result	res;
	struct socks5_addr	dst;
	struct chain		c;
	struct hop		h = { 0 };

	(void)state;
	hop_start(&h, answer, sizeof(answer));
	chain_to(&c, h.port, NULL, NULL);
	dst_name(&dst, "www.example", 443);
	/* A hop's failure reply is still a reply: passed on as it came. */
	assert_int_equal(chain_open(&c, SOCKS5_CMD_CONNECT, &dst, 2000, &res),
	    0);
	assert_int_equal(res.reply.rep, SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(res.rawlen, 10);
	assert_memory_equal(res.raw, answer + 2, 10);
	assert_int_equal(res.len, 0);
	close(res.fd);
	hop_join(&h);
	assert_int_equal(h.glen, sizeof(want));
	assert_memory_equal(h.got, want, sizeof(want));
}

/* Credentials: RFC 1929; bytes after the reply are kept for the client. */
static void
test_chain_open_with_credentials_keeps_early_bytes(void **state)
{
	static const uint8_t	answer[] = {
		5, 2,					/* method userpass */
		1, 0,					/* accepted */
		5, 0, 0, 4, 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 1, 0x1f, 0x90,			/* reply, IPv6 BND */
		'h', 'i',				/* the far end spoke */
	};
	static const uint8_t	want_auth[] = { 5, 1, 2, 1, 3, 'b', 'o', 'b',
		2, 'p', 'w' };
	struct chain_result	res;
	struct socks5_addr	dst;
	struct chain		c;
	struct hop		h = { 0 };

	(void)state;
	hop_start(&h, answer, sizeof(answer));
	chain_to(&c, h.port, "bob", "pw");
	dst_name(&dst, "x.test", 80);
	assert_int_equal(chain_open(&c, SOCKS5_CMD_CONNECT, &dst, 2000, &res),
	    0);
	assert_int_equal(res.reply.rep, 0);
	assert_int_equal(res.reply.bnd.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(res.reply.bnd.port, 8080);
	assert_int_equal(res.len, 2);
	assert_memory_equal(res.buf, "hi", 2);
	close(res.fd);
	hop_join(&h);
	assert_true(h.glen > sizeof(want_auth));
	assert_memory_equal(h.got, want_auth, sizeof(want_auth));
}

/* BIND's second reply, read after the first. */
static void
test_chain_read_reply_second(void **state)
{
	static const uint8_t	answer[] = {
		5, 0,
		5, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39,	/* first */
		5, 0, 0, 1, 192, 0, 2, 9, 0x00, 0x14,	/* second */
	};
	struct chain_result	res;
	struct socks5_addr	dst;
	struct chain		c;
	struct hop		h = { 0 };

	(void)state;
	hop_start(&h, answer, sizeof(answer));
	chain_to(&c, h.port, NULL, NULL);
	memset(&dst, 0, sizeof(dst));
	dst.atyp = SOCKS5_ATYP_IPV4;
	assert_int_equal(chain_open(&c, SOCKS5_CMD_BIND, &dst, 2000, &res), 0);
	assert_int_equal(res.reply.bnd.port, 12345);
	assert_int_equal(chain_read_reply(&res, -1, mech_now_ms() + 2000), 0);
	assert_int_equal(res.reply.bnd.port, 20);
	assert_memory_equal(res.reply.bnd.ip, ((uint8_t[]){ 192, 0, 2, 9 }),
	    4);
	assert_memory_equal(res.raw, answer + 12, 10);
	close(res.fd);
	hop_join(&h);
}

/* The hop failing in each way, and the reply we give for it. */
static void
test_chain_open_failures(void **state)
{
	static const uint8_t	refuse_method[] = { 5, 0xff };
	static const uint8_t	refuse_auth[] = { 5, 2, 1, 1 };
	static const uint8_t	bad_reply[] = { 5, 0, 4, 0, 0, 1 };
	static const uint8_t	silent[] = { 5, 0 };
	static const struct {
		const uint8_t	*answer;
		size_t		 alen;
		const char	*user;
		int		 close_at_once;
		uint8_t		 rep;
		const char	*why;
	} t[] = {
		{ refuse_method, 2, NULL, 0, SOCKS5_REP_GENERAL_FAILURE,
		    "next hop refused our authentication method" },
		/* It picks a method we did not offer. */
		{ silent, 2, "u", 0, SOCKS5_REP_GENERAL_FAILURE,
		    "next hop refused our authentication method" },
		{ refuse_auth, 4, "u", 0, SOCKS5_REP_NOT_ALLOWED,
		    "next hop refused our credentials" },
		{ bad_reply, 6, NULL, 0, SOCKS5_REP_GENERAL_FAILURE,
		    "next hop sent a bad reply" },
		{ NULL, 0, NULL, 1, SOCKS5_REP_GENERAL_FAILURE,
		    "next hop closed" },
		/* Says nothing after the method: our timeout. */
		{ silent, 2, NULL, 0, SOCKS5_REP_TTL_EXPIRED,
		    "next hop did not answer in time" },
	};
	struct chain_result	res;
	struct socks5_addr	dst;
	struct chain		c;
	struct hop		h;
	size_t			i;

	(void)state;
	dst_name(&dst, "x.test", 80);
	for (i = 0; i < NELEM(t); i++) {
		memset(&h, 0, sizeof(h));
		h.close_at_once = t[i].close_at_once;
		hop_start(&h, t[i].answer, t[i].alen);
		chain_to(&c, h.port, t[i].user, "p");
		if (chain_open(&c, SOCKS5_CMD_CONNECT, &dst, 300, &res) != -1)
			fail_msg("case %zu: opened", i);
		if (res.rep != t[i].rep || strcmp(res.why, t[i].why) != 0)
			fail_msg("case %zu: rep %u (%s)", i, res.rep, res.why);
		assert_int_equal(res.fd, -1);
		hop_join(&h);
	}
}

/* Nobody listening: the errno's reply, X'05'. */
static void
test_chain_open_hop_down(void **state)
{
	struct chain_result	 res;
	struct socks5_addr	 dst;
	struct chain		 c;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	(void)state;
	/* A port that was free a moment ago. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	chain_to(&c, ntohs(sin.sin_port), NULL, NULL);
	dst_name(&dst, "x.test", 80);
	assert_int_equal(chain_open(&c, SOCKS5_CMD_CONNECT, &dst, 2000, &res),
	    -1);
	assert_int_equal(res.rep, SOCKS5_REP_CONN_REFUSED);
	assert_int_equal(res.err, ECONNREFUSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_chain_parses),
		cmocka_unit_test(test_conf_chain_errors),
		cmocka_unit_test(test_conf_timeout_bind),
		cmocka_unit_test(test_conf_warnings_unused_chain),
		cmocka_unit_test(test_policy_request_via),
		cmocka_unit_test(test_policy_command),
		cmocka_unit_test(test_chain_open_passes_name_and_reply),
		cmocka_unit_test(
		    test_chain_open_with_credentials_keeps_early_bytes),
		cmocka_unit_test(test_chain_read_reply_second),
		cmocka_unit_test(test_chain_open_failures),
		cmocka_unit_test(test_chain_open_hop_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
