/*
 * session.c - one client of the gateway, from greeting to closing line.
 *
 * Each accepted client gets a thread that owns its struct session and
 * walks the RFC 1928 exchange in order: method negotiation, RFC 1929
 * authentication, the request, the policy verdict, then the command:
 * CONNECT dials (RFC 3089 section 3: the gateway resolves the delegated
 * name), BIND listens for the peer (bind.c), UDP ASSOCIATE relays
 * datagrams (udp.c), and a rule may hand CONNECT or BIND on to the next
 * gateway instead (chain.c, RFC 3089 section 4). Every stream ends in
 * the same relay. Whatever happens, session_close() writes one summary
 * log line.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"
#include "ownaddr.h"

/*
 * The gentle close after an answer the client must see (session_linger):
 * what it may still send is read and dropped for at most this long and
 * this much, and once all we sent is acknowledged, a pause this long in
 * its sending ends the wait early. It runs on the session thread, so it
 * is short; a relay never lingers.
 */
#define SESSION_LINGER_MS	1500
#define SESSION_LINGER_BYTES	(64 * 1024)
#define SESSION_LINGER_QUIET_MS	100

/* A command handler: runs the command to its end (reply and relay). */
struct session_command {
	uint8_t	cmd;
	int	(*run)(struct session *);
};

static _Atomic uint64_t	session_ids;

/*
 * Recent failed logins per source (authdelay.c), kept for the daemon's
 * whole life, across reloads, and shared by all sessions under its lock.
 */
static struct authdelay		session_failures;
static pthread_mutex_t		session_failures_lock =
				    PTHREAD_MUTEX_INITIALIZER;

static int	session_connect(struct session *);
static char	*session_dest_str(const struct session *, char *, size_t);

static const struct session_command session_commands[] = {
	{ SOCKS5_CMD_CONNECT, session_connect },
	{ SOCKS5_CMD_BIND, bind_command },
	{ SOCKS5_CMD_UDP, udp_command },
};

void
session_fail(struct session *s, const char *why, int err)
{
	if (s->fail == NULL) {
		s->fail = why;
		s->err = err;
	}
}

/*
 * The input buffer lives apart from the session, for the handshake only:
 * a relay may be held for hours, and 4 KiB of it per relay is what
 * decides how many fit in memory. Taken on the session's own thread, so
 * the next handshake there reuses the same chunk.
 */
static int
session_input_new(struct session *s)
{
	if ((s->in = malloc(SESSION_INBUF)) == NULL) {
		session_fail(s, "out of memory", ENOMEM);
		return -1;
	}
	s->inlen = 0;
	return 0;
}

/* Consumed bytes were wiped as they went; the rest is wiped here too. */
static void
session_input_free(struct session *s)
{
	if (s->in == NULL)
		return;
	explicit_bzero(s->in, s->inlen);
	free(s->in);
	s->in = NULL;
	s->inlen = 0;
}

/* The routing list, when there is one (struct session says why apart). */
static void
session_addrs_free(struct session *s)
{
	free(s->addrs);
	s->addrs = NULL;
}

/* Drops the first n input bytes; what was consumed is wiped (passwords). */
static void
session_consume(struct session *s, size_t n)
{
	memmove(s->in, s->in + n, s->inlen - n);
	memset(s->in + s->inlen - n, 0, n);
	s->inlen -= n;
}

/*
 * Waits for more client bytes until the handshake deadline. Returns 0
 * when some arrived, or -1 (closed, failed or too late; s->fail says).
 */
static int
session_fill(struct session *s)
{
	struct pollfd	pfd = { .fd = s->cfd, .events = POLLIN };
	ssize_t		n;
	int64_t		left;

	if (s->inlen == SESSION_INBUF) {
		session_fail(s, "handshake message too long", 0);
		return -1;
	}
	for (;;) {
		/*
		 * A client that waits for our answer cannot have sent more
		 * since: wait before reading rather than read into EAGAIN.
		 */
		n = s->spoke ? -1 : recv(s->cfd, s->in + s->inlen,
		    SESSION_INBUF - s->inlen, 0);
		if (n > 0) {
			s->inlen += (size_t)n;
			return 0;
		}
		if (n == 0) {
			session_fail(s, "client closed during handshake", 0);
			return -1;
		}
		if (!s->spoke && errno != EAGAIN && errno != EINTR) {
			session_fail(s, "client read error", errno);
			return -1;
		}
		s->spoke = 0;
		left = s->deadline - mech_now_ms();
		if (left <= 0) {
			session_fail(s, "handshake timeout", 0);
			return -1;
		}
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR) {
			session_fail(s, "poll", errno);
			return -1;
		}
	}
}

/*
 * A client that pipelined its handshake (input left beyond the message
 * answered) waits for several answers at once; under Nagle's algorithm
 * each after the first would wait for the ACK of the one before, which
 * the client may delay. Such a handshake runs with TCP_NODELAY, cleared
 * again before the relay (session_relay), so relays keep the kernel's
 * default and a lock-step client costs no system call.
 */
static void
session_nodelay(struct session *s, int on)
{
	if (s->nodelay == on)
		return;
	(void)setsockopt(s->cfd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	s->nodelay = on;
}

int
session_send(struct session *s, const uint8_t *buf, int len)
{
	if (len < 0) {
		session_fail(s, "cannot encode reply", 0);
		return -1;
	}
	if (s->inlen > 0)
		session_nodelay(s, 1);
	s->answered = 1;
	if (relay_write_all(s->cfd, buf, (size_t)len,
	    s->conf->handshake_timeout * 1000u) == -1) {
		session_fail(s, "client write error", errno);
		return -1;
	}
	s->spoke = 1;
	return 0;
}

/*
 * Sends the reply to the request (RFC 1928 section 6). BND is where the
 * gateway's outbound socket is bound, or 0.0.0.0:0 when there is none.
 */
int
session_reply(struct session *s, uint8_t rep, const struct sockaddr *bnd)
{
	struct socks5_addr	a;
	uint8_t			buf[SOCKS5_REQUEST_MAX];

	memset(&a, 0, sizeof(a));
	a.atyp = SOCKS5_ATYP_IPV4;
	if (bnd != NULL && bnd->sa_family != AF_UNSPEC)
		(void)socks5_addr_from_sockaddr(&a, bnd);
	s->rep = rep;
	return session_send(s, buf, socks5_encode_reply(buf, sizeof(buf),
	    rep, &a));
}

/* Method negotiation, RFC 1928 section 3. */
static int
session_negotiate(struct session *s)
{
	struct socks5_greeting	g;
	enum socks5_status	st;
	uint8_t			buf[2];
	size_t			used;

	while ((st = socks5_parse_greeting(s->in, s->inlen, &g, &used)) ==
	    SOCKS5_NEED_MORE)
		if (session_fill(s) == -1)
			return -1;
	if (st == SOCKS5_ERR_VERSION) {
		session_fail(s, "not SOCKS version 5", 0);
		return -1;
	}
	s->method = SOCKS5_METHOD_REFUSED;
	if (st == SOCKS5_OK) {
		session_consume(s, used);
		s->method = policy_method(s->conf, &g);
	}
	log_debug("session=%" PRIu64 " greeting methods=%u method=0x%02x",
	    s->id, st == SOCKS5_OK ? g.nmethods : 0u, s->method);
	if (session_send(s, buf, socks5_encode_method_choice(buf, sizeof(buf),
	    s->method)) == -1)
		return -1;
	if (s->method == SOCKS5_METHOD_REFUSED) {
		session_fail(s, "no acceptable method", 0);
		return -1;
	}
	return 0;
}

/*
 * Records a failed login of s's client and returns how long its answer
 * is held back (authdelay.c), within what the handshake has left. The
 * wait is not cut short when the client shuts down its side: that would
 * let a guesser who half-closes skip it.
 */
static unsigned int
session_fail_delay(struct session *s)
{
	int64_t		now = mech_now_ms(), left = s->deadline - now;
	unsigned int	ms;

	pthread_mutex_lock(&session_failures_lock);
	ms = authdelay_fail(&session_failures, (struct sockaddr *)&s->client,
	    now, left > 0 ? (unsigned int)left : 0);
	pthread_mutex_unlock(&session_failures_lock);
	return ms;
}

/* Sleeps ms milliseconds (the wait above), whatever interrupts it. */
static void
session_sleep(unsigned int ms)
{
	int64_t	end = mech_now_ms() + ms, left;

	while ((left = end - mech_now_ms()) > 0)
		(void)poll(NULL, 0, (int)left);
}

/* Username/password sub-negotiation, RFC 1929. */
static int
session_authenticate(struct session *s)
{
	struct socks5_userpass	up;
	enum socks5_status	st;
	uint8_t			buf[2];
	size_t			used;
	int			ok = 0;

	if (s->method != SOCKS5_METHOD_USERPASS)
		return 0;
	while ((st = socks5_parse_userpass(s->in, s->inlen, &up, &used)) ==
	    SOCKS5_NEED_MORE)
		if (session_fill(s) == -1)
			return -1;
	if (st == SOCKS5_ERR_VERSION) {
		session_fail(s, "bad authentication version", 0);
		return -1;
	}
	if (st == SOCKS5_OK) {
		session_consume(s, used);
		ok = s->conf->users != NULL &&
		    users_check(s->conf->users, up.user, up.pass) == 1;
	}
	/* A malformed message fails like a bad name (which it logs). */
	explicit_bzero(up.pass, sizeof(up.pass));
	if (!ok) {
		char		name[LOG_SAFE_SIZE(255)];
		unsigned int	delay = session_fail_delay(s);

		/*
		 * This line is the session's only one; never the password.
		 * The name as sent, a NUL in it included (escaped).
		 */
		log_info("auth failed session=%" PRIu64 " client=%s user=%s "
		    "delay=%u", s->id, s->client_str, log_safe_mem(up.user,
		    up.ulen, name, sizeof(name)), delay);
		s->logged = 1;
		session_fail(s, "authentication failed", 0);
		/* Repeated guesses get their answer later and later. */
		session_sleep(delay);
		(void)session_send(s, buf, socks5_encode_userpass_status(buf,
		    sizeof(buf), 0x01));
		return -1;
	}
	if (session_send(s, buf, socks5_encode_userpass_status(buf,
	    sizeof(buf), 0x00)) == -1)
		return -1;
	memcpy(s->user, up.user, sizeof(s->user));
	return 0;
}

/*
 * Reads the request (RFC 1928 section 4). A request the codec rejects
 * gets the reply code for its fault when VER was right, so the client
 * learns why; anything else is just closed.
 */
static int
session_request(struct session *s)
{
	enum socks5_status	st;
	size_t			used;
	uint8_t			rep;

	while ((st = socks5_parse_request(s->in, s->inlen, &s->req, &used)) ==
	    SOCKS5_NEED_MORE)
		if (session_fill(s) == -1)
			return -1;
	if (st == SOCKS5_OK) {
		session_consume(s, used);
		s->have_req = 1;
		return 0;
	}
	s->req_fault = st;	/* the log line shows the bad CMD or ATYP */
	switch (st) {
	case SOCKS5_ERR_COMMAND:
		rep = SOCKS5_REP_CMD_UNSUPPORTED;
		break;
	case SOCKS5_ERR_ATYP:
		rep = SOCKS5_REP_ATYP_UNSUPPORTED;
		break;
	case SOCKS5_ERR_NAME:
		/* Never looked up: a NUL would cut it, others are no host. */
		session_fail(s, "bad name", 0);
		rep = SOCKS5_REP_GENERAL_FAILURE;
		break;
	case SOCKS5_ERR_VERSION:
		session_fail(s, "bad request version", 0);
		return -1;
	default:
		rep = SOCKS5_REP_GENERAL_FAILURE;
		break;
	}
	session_fail(s, socks5_status_str(st), 0);
	(void)session_reply(s, rep, NULL);
	return -1;
}

/* The policy question for this request, about addr (NULL: before DNS). */
struct verdict
session_policy(struct session *s, const struct sockaddr *addr)
{
	struct policy_query q;

	memset(&q, 0, sizeof(q));
	q.client = (struct sockaddr *)&s->client;
	q.user = s->user[0] != '\0' ? s->user : NULL;
	q.cmd = s->req.cmd;
	q.name = s->req.dst.atyp == SOCKS5_ATYP_DOMAIN ? s->req.dst.name : NULL;
	q.addr = addr;
	q.port = s->req.dst.port;
	return ownaddr_policy(s->conf, &q);
}

void
session_denied(struct session *s, const struct verdict *v)
{
	log_debug("session=%" PRIu64 " denied by %s line=%u", s->id,
	    v->why != NULL ? v->why : "rule", v->lineno);
	s->rule = (int)v->lineno;
	session_fail(s, "denied by policy", 0);
	(void)session_reply(s, SOCKS5_REP_NOT_ALLOWED, NULL);
}

/*
 * The rules on each address a name resolved to (or the literal): the
 * first that passes decides between the chain its rule names (*via,
 * s->addrs then moot) and dialing, and s->addrs keeps, in order, those
 * that pass without a chain. Returns 0 when none passed (*v is then the
 * verdict to deny with), else not 0.
 */
static size_t
session_route_addrs(struct session *s, const struct chain **via,
    struct verdict *v)
{
	size_t	i, kept = 0, passed = 0;

	for (i = 0; i < s->addrs->n; i++) {
		*v = session_policy(s, (struct sockaddr *)&s->addrs->v[i]);
		if (v->action != RULE_PASS)
			continue;
		if (passed++ == 0 && (*via = v->via) != NULL)
			return passed;
		if (v->via == NULL)
			s->addrs->v[kept++] = s->addrs->v[i];
	}
	log_debug("session=%" PRIu64 " resolved=%zu passed=%zu", s->id,
	    s->addrs->n, kept);
	s->addrs->n = kept;
	return kept;
}

/*
 * Where the request goes: the addresses policy passes, in s->addrs (in
 * the order they are tried), or, when the deciding rule says "via", the
 * next gateway in *via. The first phase, on the name alone, runs before
 * any query: a blocked name is never looked up, and a name a rule sends
 * on is not looked up either (the last gateway resolves it). A rule on
 * a network needs the addresses; then the first address that passes
 * decides between chaining and dialing. A BIND naming no peer (0.0.0.0
 * or ::) leaves s->addrs empty: any peer.
 */
int
session_route(struct session *s, const struct chain **via)
{
	struct verdict	v = { RULE_BLOCK, 0, "no address", NULL };
	const char	*why;
	uint8_t		rep;

	*via = NULL;
	if (s->addrs == NULL &&
	    (s->addrs = malloc(sizeof(*s->addrs))) == NULL) {
		session_fail(s, "out of memory", ENOMEM);
		(void)session_reply(s, SOCKS5_REP_GENERAL_FAILURE, NULL);
		return -1;
	}
	s->addrs->n = 0;
	/* "timeout connect" bounds the look-up and the connect together. */
	s->dial_deadline = mech_now_ms() +
	    (int64_t)s->conf->connect_timeout * 1000;
	if (s->req.dst.atyp == SOCKS5_ATYP_DOMAIN) {
		v = session_policy(s, NULL);
		if (v.action == RULE_BLOCK) {
			session_denied(s, &v);
			return -1;
		}
		if ((*via = v.via) != NULL)
			return 0;
	}
	if (dial_resolve_for(s->cfd, &s->req.dst, s->dial_deadline, s->addrs,
	    &rep, &why) == -1) {
		session_fail(s, why, 0);
		(void)session_reply(s, rep, NULL);
		return -1;
	}
	if (s->req.cmd == SOCKS5_CMD_BIND && s->addrs->n == 1 &&
	    addr_is_unspecified((struct sockaddr *)&s->addrs->v[0])) {
		v = session_policy(s, (struct sockaddr *)&s->addrs->v[0]);
		s->addrs->n = 0;
		if (v.action == RULE_BLOCK) {
			session_denied(s, &v);
			return -1;
		}
		*via = v.via;
		return 0;
	}
	if (session_route_addrs(s, via, &v) == 0) {
		session_denied(s, &v);
		return -1;
	}
	if (*via != NULL)
		return 0;
	if (dial_order(s->addrs, s->conf->family) == 0) {
		session_fail(s, "no address of an allowed family", 0);
		(void)session_reply(s, SOCKS5_REP_NET_UNREACHABLE, NULL);
		return -1;
	}
	return 0;
}

/*
 * The relay every stream ends in, CONNECT, BIND or chained: bytes the
 * client sent right behind its request go first, then both ways until
 * done. Counted into s->relay for the closing line.
 */
int
session_relay(struct session *s)
{
	unsigned int	idle_ms = s->conf->idle_timeout * 1000u;
	size_t		early = s->inlen;
	int		rc;

	s->relayed = 1;
	session_nodelay(s, 0);
	/* Dialing and BIND's wait are over: a held relay keeps no list. */
	session_addrs_free(s);
	if (early > 0 && relay_write_all(s->dfd, s->in, early,
	    idle_ms) == -1) {
		session_fail(s, "destination write error", errno);
		return -1;
	}
	/* The handshake is over: a held relay keeps no input buffer. */
	session_input_free(s);
	rc = relay_run(s->cfd, s->dfd, idle_ms, 0, &s->relay);
	s->relay.up += early;
	if (rc == -1 && s->relay.err != 0)
		session_fail(s, "relay", s->relay.err);
	else if (rc == -1)
		session_fail(s, s->relay.end, 0);	/* "idle" */
	return rc;
}

/*
 * The debug lines format into buffers of their own frames, kept out of
 * line: a held relay's stack keeps every page the handshake touched, and
 * a relay is most of what a gateway holds.
 */
static __attribute__((noinline)) void
session_debug_connected(const struct session *s)
{
	char via_str[ADDR_STRLEN];

	log_debug("session=%" PRIu64 " connected via=%s ms=%" PRId64, s->id,
	    addr_format((const struct sockaddr *)&s->via, via_str,
	    sizeof(via_str)), mech_now_ms() - s->start);
}

static __attribute__((noinline)) void
session_debug_request(const struct session *s)
{
	char dest[LOG_SAFE_SIZE(255) + 16];

	log_debug("session=%" PRIu64 " request cmd=%s dest=%s", s->id,
	    socks5_cmd_str(s->req.cmd), session_dest_str(s, dest,
	    sizeof(dest)));
}

/* CONNECT: policy, dial, reply, then relay until both sides are done. */
static int
session_connect(struct session *s)
{
	struct gw_conf		*c = s->conf;
	const struct chain	*via;
	struct dial_result	 dial;
	int64_t			 left;

	if (session_route(s, &via) == -1)
		return -1;
	if (via != NULL)
		return chain_command(s, via);
	/* What the look-up left of the connect timeout (0: fails at once). */
	left = s->dial_deadline - mech_now_ms();
	if (dial_connect_for(s->cfd, s->addrs, c->family, c->happy_delay_ms,
	    left > 0 ? (unsigned int)left : 0, &dial) == -1) {
		session_fail(s, dial.why != NULL ? dial.why :
		    "connect failed", dial.err);
		(void)session_reply(s, dial.rep, NULL);
		return -1;
	}
	s->dfd = dial.fd;
	s->via = dial.peer;
	if (log_enabled(LOG_LEVEL_DEBUG))
		session_debug_connected(s);
	if (session_reply(s, SOCKS5_REP_SUCCEEDED,
	    (struct sockaddr *)&dial.local) == -1)
		return -1;
	return session_relay(s);
}

/* Dispatches the request to its command's handler. */
static int
session_command(struct session *s)
{
	size_t i;

	if (log_enabled(LOG_LEVEL_DEBUG))
		session_debug_request(s);
	for (i = 0; i < sizeof(session_commands) / sizeof(session_commands[0]);
	    i++)
		if (session_commands[i].cmd == s->req.cmd)
			return session_commands[i].run(s);
	session_fail(s, "command not supported", 0);
	(void)session_reply(s, SOCKS5_REP_CMD_UNSUPPORTED, NULL);
	return -1;
}

/*
 * "connect", "bind", "udp-associate"; for a request refused for its
 * unknown CMD the code ("0x09"); "-" when the request never got so far.
 */
static const char *
session_cmd_str(const struct session *s, char *buf, size_t len)
{
	switch (s->req_fault) {
	case SOCKS5_OK:
		return s->have_req ? socks5_cmd_str(s->req.cmd) : "-";
	case SOCKS5_ERR_COMMAND:
		snprintf(buf, len, "0x%02x", s->req.cmd);
		return buf;
	case SOCKS5_ERR_RESERVED:
	case SOCKS5_ERR_ATYP:
	case SOCKS5_ERR_NAME:
		return socks5_cmd_str(s->req.cmd);	/* read before it */
	default:
		return "-";
	}
}

/* "name:443", "[2001:db8::1]:443", "192.0.2.1:443" or "-". */
static char *
session_dest_str(const struct session *s, char *buf, size_t len)
{
	const struct socks5_addr	*d = &s->req.dst;
	struct sockaddr_storage		 ss;
	unsigned int			 sslen = sizeof(ss);
	char				 name[LOG_SAFE_SIZE(255)];

	if (!s->have_req)
		snprintf(buf, len, "-");
	else if (d->atyp == SOCKS5_ATYP_DOMAIN) {
		log_safe(d->name, name, sizeof(name));
		/* An IPv6 literal sent as a name (RFC 3089 section 3). */
		if (strchr(d->name, ':') != NULL)
			snprintf(buf, len, "[%s]:%u", name, d->port);
		else
			snprintf(buf, len, "%s:%u", name, d->port);
	} else if (socks5_addr_to_sockaddr(d, (struct sockaddr *)&ss,
	    &sslen) == 0)
		addr_format((struct sockaddr *)&ss, buf, len);
	else
		snprintf(buf, len, "-");
	return buf;
}

/* The one line every session ends with (unless auth failure said it). */
static void
session_log(struct session *s)
{
	char	dest[LOG_SAFE_SIZE(255) + 16], via[ADDR_STRLEN];
	char	user[LOG_SAFE_SIZE(255)], rep[16], why[160], ebuf[96];
	char	more[160], cmd[8], rule[24], side[16];

	if (s->logged)
		return;
	if (s->rep >= 0)
		snprintf(rep, sizeof(rep), "%d", s->rep);
	else
		snprintf(rep, sizeof(rep), "-");
	if (s->via.ss_family != AF_UNSPEC)
		addr_format((struct sockaddr *)&s->via, via, sizeof(via));
	else
		snprintf(via, sizeof(via), "-");
	/* Keys of the new commands, after the spec's own. */
	more[0] = '\0';
	if (s->chain != NULL)
		snprintf(more, sizeof(more), " chain=%s", s->chain->name);
	else if (s->udp_ran)
		snprintf(more, sizeof(more), " dgrams_up=%" PRIu64
		    " dgrams_down=%" PRIu64 " dropped=%" PRIu64,
		    s->udp.up_dgrams, s->udp.down_dgrams, s->udp.dropped);
	else if (s->req_fault == SOCKS5_ERR_ATYP)
		snprintf(more, sizeof(more), " atyp=0x%02x", s->req.dst.atyp);
	/* Which rule said no (0: no rule, or protect-local/-private). */
	rule[0] = '\0';
	if (s->rule >= 0)
		snprintf(rule, sizeof(rule), " rule=%d", s->rule);
	/*
	 * Not keys of the spec's line: appended only when it ended early;
	 * side= says whose socket a relay's error came from.
	 */
	why[0] = '\0';
	if (s->relay.side != NULL)
		snprintf(side, sizeof(side), " side=%s", s->relay.side);
	else
		side[0] = '\0';
	if (s->fail != NULL && s->err != 0)
		snprintf(why, sizeof(why), "%s error=\"%s: %s\"", side, s->fail,
		    strerror_r(s->err, ebuf, sizeof(ebuf)));
	else if (s->fail != NULL)
		snprintf(why, sizeof(why), "%s error=\"%s\"", side, s->fail);
	log_info("session=%" PRIu64 " client=%s user=%s cmd=%s dest=%s via=%s "
	    "rep=%s up=%" PRIu64 " down=%" PRIu64 " ms=%" PRId64 "%s%s%s",
	    s->id, s->client_str, s->user[0] != '\0' ?
	    log_safe(s->user, user, sizeof(user)) : "-",
	    session_cmd_str(s, cmd, sizeof(cmd)),
	    session_dest_str(s, dest, sizeof(dest)), via, rep, s->relay.up,
	    s->relay.down, mech_now_ms() - s->start, more, rule, why);
	s->logged = 1;
}

/*
 * Closes the client's socket gently after an answer it must see (a
 * refusal above all). A close() with the client's later bytes unread -
 * data it pipelined behind a request that was refused - makes the
 * kernel send a reset and drop what is still queued, the answer with
 * it, and the client reads ECONNRESET instead of the reply code. So:
 * shutdown(SHUT_WR) sends the queue and FIN, then what the client still
 * sends is read and dropped until its EOF, bounded in bytes and time
 * (SESSION_LINGER_*), or until all we sent, FIN included, is
 * acknowledged and the client has paused; only then close(). Dropped
 * bytes go through the input buffer (no stack), wiped when it is freed.
 */
static void
session_linger(struct session *s)
{
	struct pollfd	pfd = { .fd = s->cfd, .events = POLLIN };
	int64_t		end = mech_now_ms() + SESSION_LINGER_MS, left;
	size_t		total = 0;
	ssize_t		n;
	int		outq, slice;

	if (s->in == NULL || shutdown(s->cfd, SHUT_WR) == -1)
		return;
	explicit_bzero(s->in, s->inlen);
	s->inlen = 0;
	while (total < SESSION_LINGER_BYTES &&
	    (left = end - mech_now_ms()) > 0) {
		slice = left < SESSION_LINGER_QUIET_MS ? (int)left :
		    SESSION_LINGER_QUIET_MS;
		n = poll(&pfd, 1, slice);
		if (n == -1 && errno != EINTR)
			break;
		if (n == 0) {
			/* Quiet: done once the peer has all we sent. */
			if (ioctl(s->cfd, SIOCOUTQ, &outq) == 0 && outq == 0)
				break;
			continue;
		}
		if (n == -1)
			continue;
		n = recv(s->cfd, s->in, SESSION_INBUF, MSG_DONTWAIT);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			break;		/* EOF, or reset: nothing to save */
		if (n > 0) {
			total += (size_t)n;
			s->inlen = SESSION_INBUF;	/* wipe it all */
		}
	}
}

/* Ends the session: the log line, the sockets, the reference, the count. */
static void
session_close(struct session *s)
{
	session_log(s);
	session_addrs_free(s);
	if (s->dfd != -1)
		close(s->dfd);
	if (s->answered && !s->relayed && !s->udp_ran)
		session_linger(s);
	session_input_free(s);
	close(s->cfd);
	conf_unref(s->conf);
	srclimit_release((struct sockaddr *)&s->client);	/* listen.c took */
	explicit_bzero(s, sizeof(*s));
	free(s);
	session_ended();
}

/* One session, as RFC 1928 reads. */
void
session_run(struct session *s)
{
	if (session_input_new(s) == 0 &&
	    session_negotiate(s) == 0 &&
	    session_authenticate(s) == 0 &&
	    session_request(s) == 0)
		(void)session_command(s);
	session_close(s);
}

struct session *
session_new(int fd, const struct sockaddr *client, socklen_t clientlen,
    struct gw_conf *c)
{
	struct session	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->id = ++session_ids;
	s->cfd = fd;
	s->dfd = -1;
	s->rep = -1;
	s->rule = -1;
	if (clientlen > sizeof(s->client))
		clientlen = sizeof(s->client);
	memcpy(&s->client, client, clientlen);
	addr_format(client, s->client_str, sizeof(s->client_str));
	s->conf = conf_ref(c);
	s->start = mech_now_ms();
	s->deadline = s->start + (int64_t)c->handshake_timeout * 1000;
	return s;
}

void
session_discard(struct session *s)
{
	conf_unref(s->conf);
	free(s);
}
