/*
 * harness_chaos_plan.c - the generator of it_chaos.c's scripts: a
 * seeded xorshift64*, and the drawing of one script from it - client
 * family and source, methods, command and destination, the one field to
 * corrupt (if any), how the bytes are split and sent, where to cut the
 * connection. Drawn whole before a byte is sent, so a script depends on
 * its seed only, never on what the gateway answered (harness_chaos.h).
 */
#include <stdio.h>
#include <string.h>

#include "harness_chaos_script.h"
#include "harness_cmds.h"
#include "harness_hostile.h"

/* ---------------------------------------------------------------- */
/* the generator                                                      */

void
hx_rng_seed(struct hx_rng *r, uint64_t seed)
{
	uint64_t	st = seed;

	/* splitmix64 spreads any seed, 0 included, over a non-zero state. */
	r->s = hh_rand(&st);
	if (r->s == 0)
		r->s = 0x9e3779b97f4a7c15ULL;
}

uint64_t
hx_rng_next(struct hx_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

unsigned int
hx_rng_below(struct hx_rng *r, unsigned int n)
{
	return (unsigned int)((hx_rng_next(r) >> 32) % n);
}

int
hx_rng_chance(struct hx_rng *r, unsigned int percent)
{
	return hx_rng_below(r, 100) < percent;
}

const char *const hxp_fault_name[F_MAX] = {
	"none", "greet-ver", "greet-nmethods0", "greet-nomethod",
	"greet-nmethods", "auth-ver", "auth-ulen0", "auth-badpass",
	"auth-baduser", "auth-len", "req-ver", "req-cmd", "req-rsv",
	"req-atyp", "req-namelen0", "req-namebad", "req-namelen", "trunc",
};
const char *const hxp_cut_name[3] = { "close", "reset", "half-close" };

void
hxp_fill_random(struct script *s, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)hx_rng_next(&s->rng);
}

/* Where dest d is, and what a well-formed CONNECT there gets. */
static void
dest_of(struct script *s, int d)
{
	static const struct {
		const char	*host;
		int		 rep;
	} t[D_MAX] = {
		[D_ECHO4] = { "127.0.0.1", SOCKS5_REP_SUCCEEDED },
		[D_ECHO6] = { "::1", SOCKS5_REP_SUCCEEDED },
		[D_NAME4] = { H_NAME_V4, SOCKS5_REP_SUCCEEDED },
		[D_NAME6] = { H_NAME_V6, SOCKS5_REP_SUCCEEDED },
		[D_CLOSED4] = { "127.0.0.1", SOCKS5_REP_CONN_REFUSED },
		[D_CLOSED6] = { "::1", SOCKS5_REP_CONN_REFUSED },
		[D_BLOCK_ADDR] = { HX_BLOCKED_ADDR, SOCKS5_REP_NOT_ALLOWED },
		[D_BLOCK_NAME] = { HX_BLOCKED_NAME, SOCKS5_REP_NOT_ALLOWED },
		[D_UNKNOWN] = { HX_UNKNOWN_NAME, SOCKS5_REP_HOST_UNREACHABLE },
		[D_NOROUTE4] = { HX_NOROUTE4, SOCKS5_REP_NET_UNREACHABLE },
		[D_NOROUTE6] = { HX_NOROUTE6, SOCKS5_REP_NET_UNREACHABLE },
		[D_SINK] = { "127.0.0.1", SOCKS5_REP_SUCCEEDED },
	};

	s->dest = d;
	snprintf(s->host, sizeof(s->host), "%s", t[d].host);
	s->expect = t[d].rep;
	switch (d) {
	case D_ECHO6: case D_NAME6:
		s->port = s->w->echo6_port;
		break;
	case D_CLOSED4: case D_CLOSED6:
		s->port = s->w->closed_port;
		break;
	case D_SINK:
		s->port = s->w->sink_port;
		break;
	default:
		s->port = s->w->echo4_port;
		break;
	}
}

/* The greeting: the methods offered, maybe with others around them. */
static void
plan_greeting(struct script *s)
{
	/* Never X'05' among the others: a stray VER would hide a desync. */
	static const uint8_t	others[] = { 0x01, 0x03, 0x7f, 0x80, 0xfe };
	uint8_t			m[16], *g = s->msg[MSG_GREET];
	size_t			n = 0, extra = hx_rng_below(&s->rng, 4);

	for (size_t i = 0; i < extra; i++)
		m[n++] = others[hx_rng_below(&s->rng, sizeof(others))];
	if (s->fault != F_GREET_NOMETHOD) {
		if (s->userpass)
			m[n++] = SOCKS5_METHOD_USERPASS;
		if (!s->userpass || hx_rng_chance(&s->rng, 50))
			m[n++] = SOCKS5_METHOD_NONE;
	}
	if (n == 0)
		m[n++] = others[0];
	/* Shuffle, so the chosen method is not always last. */
	for (size_t i = n; i > 1; i--) {
		size_t j = hx_rng_below(&s->rng, (unsigned int)i);
		uint8_t t = m[i - 1];
		m[i - 1] = m[j];
		m[j] = t;
	}
	g[0] = SOCKS5_VERSION;
	g[1] = (uint8_t)n;
	memcpy(g + 2, m, n);
	s->mlen[MSG_GREET] = 2 + n;
	switch (s->fault) {
	case F_GREET_VER:
		g[0] = (uint8_t)(6 + hx_rng_below(&s->rng, 250));
		break;
	case F_GREET_NMETHODS0:
		g[1] = 0;
		s->mlen[MSG_GREET] = 2;
		break;
	case F_GREET_NMETHODS:
		/* Shorter or longer by 1..3, never 0, never the same. */
		g[1] = (uint8_t)(n + 1 + hx_rng_below(&s->rng, 3));
		if (n > 1 && hx_rng_chance(&s->rng, 50))
			g[1] = (uint8_t)(1 + hx_rng_below(&s->rng,
			    (unsigned int)n - 1));
		break;
	}
}

static void
plan_login(struct script *s)
{
	uint8_t		*a = s->msg[MSG_AUTH];
	const char	*user = HX_USER, *pass = HX_PASS;
	size_t		 ul, pl, n = 0;

	s->mlen[MSG_AUTH] = 0;
	if (!s->userpass)
		return;
	if (s->fault == F_AUTH_BADPASS)
		pass = hx_rng_chance(&s->rng, 50) ? "" : "monkey wrenc";
	if (s->fault == F_AUTH_BADUSER)
		user = hx_rng_chance(&s->rng, 50) ? "chaoss" : "Chaos";
	ul = strlen(user);
	pl = strlen(pass);
	a[n++] = SOCKS5_AUTH_VERSION;
	if (s->fault == F_AUTH_ULEN0) {
		a[n++] = 0;
	} else {
		a[n++] = (uint8_t)ul;
		memcpy(a + n, user, ul);
		n += ul;
	}
	a[n++] = (uint8_t)pl;
	memcpy(a + n, pass, pl);
	n += pl;
	s->mlen[MSG_AUTH] = n;
	if (s->fault == F_AUTH_VER)
		a[0] = (uint8_t)(hx_rng_chance(&s->rng, 30) ? 5 :
		    2 + hx_rng_below(&s->rng, 250));
	if (s->fault == F_AUTH_LEN) {
		/* ULEN or PLEN off by 1..3 either way (never to ULEN 0). */
		size_t	at = hx_rng_chance(&s->rng, 50) ? 1 : 2 + ul;
		int	d = 1 + (int)hx_rng_below(&s->rng, 3);
		if (hx_rng_chance(&s->rng, 50) && a[at] > d + (at == 1))
			d = -d;
		a[at] = (uint8_t)(a[at] + d);
	}
}

static void
plan_request(struct script *s)
{
	struct socks5_addr	 dst;
	uint8_t			*r = s->msg[MSG_REQ];
	int			 len;
	size_t			 nl;

	/* BIND and UDP name their own DST: the peer, or our UDP socket. */
	h_dst(&dst, s->host, s->port);
	if (s->fault == F_REQ_NAMELEN0 || s->fault == F_REQ_NAMEBAD ||
	    s->fault == F_REQ_NAMELEN) {
		dst.atyp = SOCKS5_ATYP_DOMAIN;
		snprintf(dst.name, sizeof(dst.name), "%s", H_NAME_V4);
	}
	len = socks5_encode_request(r, sizeof(s->msg[MSG_REQ]), s->cmd, &dst);
	s->mlen[MSG_REQ] = len > 0 ? (size_t)len : 0;
	nl = r[4];
	switch (s->fault) {
	case F_REQ_VER:
		r[0] = (uint8_t)(hx_rng_chance(&s->rng, 30) ? 4 :
		    6 + hx_rng_below(&s->rng, 250));
		break;
	case F_REQ_CMD:
		r[1] = (uint8_t)(hx_rng_chance(&s->rng, 30) ? 0 :
		    4 + hx_rng_below(&s->rng, 252));
		break;
	case F_REQ_RSV:
		r[2] = (uint8_t)(1 + hx_rng_below(&s->rng, 255));
		break;
	case F_REQ_ATYP: {
		static const uint8_t bad[] = { 0, 2, 5, 6, 0x7f, 0xff };
		r[3] = bad[hx_rng_below(&s->rng, sizeof(bad))];
		break;
	}
	case F_REQ_NAMELEN0:
		/* VER CMD RSV ATYP LEN=0 PORT */
		r[4] = 0;
		r[5] = r[5 + nl];
		r[6] = r[6 + nl];
		s->mlen[MSG_REQ] = 7;
		break;
	case F_REQ_NAMEBAD: {
		/* A NUL, a blank, a slash or a byte past ASCII in the name. */
		static const uint8_t bad[] = { 0x00, ' ', '/', 0xff, '\n' };
		r[5 + hx_rng_below(&s->rng, (unsigned int)nl)] =
		    bad[hx_rng_below(&s->rng, sizeof(bad))];
		break;
	}
	case F_REQ_NAMELEN:
		/*
		 * Longer: the name swallows the port and waits for more (or
		 * meets a byte no name has). Shorter makes a request for
		 * another name, well-formed: only for CONNECT, where no
		 * prefix of H_NAME_V4 resolves (a UDP ASSOCIATE would rightly
		 * succeed).
		 */
		r[4] = (uint8_t)(nl + 1 + hx_rng_below(&s->rng, 3));
		if (s->cmd == SOCKS5_CMD_CONNECT && hx_rng_chance(&s->rng, 50))
			r[4] = (uint8_t)(1 + hx_rng_below(&s->rng,
			    (unsigned int)nl - 1));
		break;
	}
}

static void
plan_command(struct script *s)
{
	unsigned int	k = hx_rng_below(&s->rng, 100);

	s->udp = -1;
	if (k < 78) {
		s->cmd = SOCKS5_CMD_CONNECT;
		dest_of(s, (int)hx_rng_below(&s->rng, D_MAX));
	} else if (k < 90) {
		/* The expected peer: either family, or a blocked one. */
		s->cmd = SOCKS5_CMD_BIND;
		k = hx_rng_below(&s->rng, 10);
		snprintf(s->host, sizeof(s->host), "%s", k < 5 ? "127.0.0.1" :
		    k < 9 ? "::1" : HX_BLOCKED_ADDR);
		s->port = 0;
		s->expect = k < 9 ? SOCKS5_REP_SUCCEEDED :
		    SOCKS5_REP_NOT_ALLOWED;
	} else {
		/* DST our UDP socket, or the wildcard: "my address". */
		s->cmd = SOCKS5_CMD_UDP;
		s->udp = hc_udp_socket(s->src);
		if (hx_rng_chance(&s->rng, 50)) {
			snprintf(s->host, sizeof(s->host), "%s", s->src);
			s->port = s->udp >= 0 ? hc_local_port(s->udp) : 0;
		} else {
			snprintf(s->host, sizeof(s->host), "%s", s->v6 ? "::" :
			    "0.0.0.0");
			s->port = 0;
		}
		s->expect = SOCKS5_REP_SUCCEEDED;
	}
}

static void
plan_fault(struct script *s)
{
	static const int	greet[] = { F_GREET_VER, F_GREET_NMETHODS0,
				    F_GREET_NOMETHOD, F_GREET_NMETHODS };
	static const int	auth[] = { F_AUTH_VER, F_AUTH_ULEN0,
				    F_AUTH_BADPASS, F_AUTH_BADUSER,
				    F_AUTH_LEN };
	static const int	req[] = { F_REQ_VER, F_REQ_CMD, F_REQ_RSV,
				    F_REQ_ATYP, F_REQ_NAMELEN0, F_REQ_NAMEBAD,
				    F_REQ_NAMELEN };
	unsigned int		k = hx_rng_below(&s->rng, 100);

	s->fault = F_NONE;
	if (k < 50)
		return;
	if (k < 54)
		s->fault = F_TRUNC;
	else if (k < 68)
		s->fault = greet[hx_rng_below(&s->rng, 4)];
	else if (k < 80 && s->userpass)
		s->fault = auth[hx_rng_below(&s->rng, 5)];
	else if (k < 80)
		s->fault = F_NONE;
	else
		s->fault = req[hx_rng_below(&s->rng, 7)];
	s->desync = s->fault == F_GREET_NMETHODS || s->fault == F_AUTH_LEN ||
	    s->fault == F_REQ_NAMELEN;
}

void
hxp_plan(struct script *s)
{
	struct hx_rng	*r = &s->rng;

	s->v6 = hx_rng_chance(r, 30);
	if (s->v6)
		snprintf(s->src, sizeof(s->src), "::1");
	else	/* Failed logins are slowed per source: spread them. */
		snprintf(s->src, sizeof(s->src), "127.0.0.%u",
		    1 + hx_rng_below(r, 8));
	s->gw_host = s->v6 ? "::1" : "127.0.0.1";
	s->userpass = hx_rng_chance(r, 50);
	plan_command(s);
	plan_fault(s);
	plan_greeting(s);
	plan_login(s);
	plan_request(s);
	s->total = s->mlen[0] + s->mlen[1] + s->mlen[2];
	s->pipelined = hx_rng_chance(r, 35);
	s->max_chunks = 1 + (int)hx_rng_below(r, hx_rng_chance(r, 20) ? 24 : 4);
	s->has_cut = s->fault == F_TRUNC || hx_rng_chance(r, 20);
	s->cut = hx_rng_below(r, (unsigned int)s->total);
	s->cut_how = (int)hx_rng_below(r, 3);
	/* Data after the request (not after a desync: it would be framed). */
	s->elen = 0;
	if (s->cmd == SOCKS5_CMD_CONNECT && !s->desync &&
	    hx_rng_chance(r, 40)) {
		s->elen = 1 + hx_rng_below(r, hx_rng_chance(r, 50) ? 16 :
		    EARLY_MAX);
		hxp_fill_random(s, s->early, s->elen);
	}
	snprintf(s->res->plan, sizeof(s->res->plan),
	    "src=%s gw=%s %s cmd=%u dst=%s:%u fault=%s %s chunks<=%d cut=%s "
	    "early=%zu", s->src, s->gw_host, s->userpass ? "userpass" : "none",
	    s->cmd, s->host, s->port, hxp_fault_name[s->fault],
	    s->pipelined ? "pipelined" : "lock-step", s->max_chunks,
	    !s->has_cut ? "-" : s->fault == F_TRUNC ? "stall" :
	    hxp_cut_name[s->cut_how], s->elen);
	if (s->has_cut && s->fault != F_TRUNC) {
		size_t l = strlen(s->res->plan);
		snprintf(s->res->plan + l, sizeof(s->res->plan) - l, "@%zu/%zu",
		    s->cut, s->total);
	}
}
