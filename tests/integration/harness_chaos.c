/*
 * harness_chaos.c - the randomized SOCKS5 client of it_chaos.c
 * (harness_chaos.h). A script is drawn whole from its seed first (the
 * plan, harness_chaos_plan.c), then played against the gateway here:
 * each message of the handshake sent in random pieces, either waiting
 * for each answer (lock-step) or all at once (pipelined), then the relay
 * of whatever the command opened (harness_chaos_relay.c).
 * Every answer is held against what RFC 1928/1929 and the gateway's
 * rules say it must be; a malformed message may instead be answered by
 * a close, but never by success and never by silence past the handshake
 * timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "harness_chaos_script.h"
#include "harness_cmds.h"
#include "harness_hostile.h"

const char *const hx_stat_name[HX_ST_MAX] = {
	"scripts", "valid", "fault", "abort", "pipelined", "auth", "rep0",
	"repfail", "closed", "relayed", "sink", "midrelay", "halfclose",
	"reset", "bind", "udp", "stall",
};

/* ---------------------------------------------------------------- */
/* reading with an outcome                                            */

int
hx_read(int fd, void *buf, size_t len, int timeout_ms, size_t *got)
{
	int64_t		 end = h_now_ms() + timeout_ms;
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	uint8_t		*p = buf;
	size_t		 n = 0;
	ssize_t		 r;
	int		 rc = (int)len;

	while (n < len) {
		int64_t left = end - h_now_ms();
		if (left <= 0) {
			rc = HX_TIMEOUT;
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = recv(fd, p + n, len - n, MSG_DONTWAIT);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			rc = HX_EOF;
			break;
		}
		n += (size_t)r;
	}
	if (got != NULL)
		*got = n;
	return rc;
}

int
hx_read_reply(int fd, struct socks5_reply *out, int timeout_ms)
{
	uint8_t			buf[SOCKS5_REQUEST_MAX];
	enum socks5_status	st = SOCKS5_NEED_MORE;
	size_t			len = 0, used;
	int64_t			end = h_now_ms() + timeout_ms;
	int			rc;

	while (len < sizeof(buf) && st == SOCKS5_NEED_MORE) {
		int64_t left = end - h_now_ms();
		if (left <= 0)
			return HX_TIMEOUT;
		if ((rc = hx_read(fd, buf + len, 1, (int)left, NULL)) != 1)
			return rc;
		len++;
		st = socks5_parse_reply(buf, len, out, &used);
	}
	return st == SOCKS5_OK ? out->rep : HX_GARBAGE;
}

int
hx_wait_eof(int fd, int timeout_ms, size_t *extra)
{
	uint8_t	scratch[4096];
	int64_t	end = h_now_ms() + timeout_ms;
	size_t	got, total = 0;
	int	rc;

	for (;;) {
		int64_t left = end - h_now_ms();
		if (left <= 0) {
			rc = HX_TIMEOUT;
			break;
		}
		rc = hx_read(fd, scratch, sizeof(scratch), (int)left, &got);
		total += got;
		if (rc == HX_EOF) {
			rc = 0;
			break;
		}
		if (rc == HX_TIMEOUT)
			break;
	}
	if (extra != NULL)
		*extra = total;
	return rc;
}

void
hxp_fail(struct script *s, const char *fmt, ...)
{
	va_list	ap;

	if (s->res->failed)
		return;		/* the first failure is the one to see */
	s->res->failed = 1;
	va_start(ap, fmt);
	vsnprintf(s->res->why, sizeof(s->res->why), fmt, ap);
	va_end(ap);
}

void
hxp_note(struct script *s, enum hx_stat k)
{
	s->res->stat[k]++;
}

/* How long a step may take before it counts as a hang. */
static int
step_ms(const struct script *s)
{
	return s->w->handshake_ms + s->w->slack_ms;
}

/* The longest a gateway may take to close after a fault or a stall. */
int
hxp_close_ms(const struct script *s)
{
	return s->w->handshake_ms + s->w->bind_ms + s->w->slack_ms;
}

/* ---------------------------------------------------------------- */
/* sending                                                            */

/*
 * Sends buf in 1..max_chunks pieces with short pauses, so the gateway
 * sees a message split at random points. Returns 0, or -1 when the
 * gateway closed on us.
 */
int
hxp_send_split(struct script *s, const uint8_t *buf, size_t len)
{
	unsigned int	n = 1 + hx_rng_below(&s->rng,
			    (unsigned int)s->max_chunks);
	ssize_t		w;

	while (len > 0) {
		size_t piece = n <= 1 ? len : 1 + hx_rng_below(&s->rng,
		    (unsigned int)(len < 4096 ? len : 4096));
		if (piece > len)
			piece = len;
		while (piece > 0) {
			w = send(s->fd, buf, piece, MSG_NOSIGNAL);
			if (w == -1 && errno == EINTR)
				continue;
			if (w <= 0)
				return -1;
			buf += w;
			len -= (size_t)w;
			piece -= (size_t)w;
		}
		if (n > 1)
			n--;
		if (len > 0) {
			unsigned int k = hx_rng_below(&s->rng, 100);
			if (k < 5)
				h_sleep_ms(10 + (int)hx_rng_below(&s->rng, 15));
			else if (k < 50)
				h_sleep_ms((int)hx_rng_below(&s->rng, 3));
		}
	}
	return 0;
}

/* Ends our side as the plan says: close, reset or half-close. */
void
hxp_disconnect(struct script *s, int how)
{
	if (how == CUT_RESET) {
		hxp_note(s, HX_ST_RESET);
		hh_reset(s->fd);
		s->fd = -1;
	} else if (how == CUT_CLOSE) {
		close(s->fd);
		s->fd = -1;
	} else {
		hxp_note(s, HX_ST_HALFCLOSE);
		shutdown(s->fd, SHUT_WR);
	}
}

/* ---------------------------------------------------------------- */
/* the oracles of the handshake                                       */

/* The gateway must close now, without a byte more. */
static int
expect_silent_close(struct script *s, const char *what)
{
	size_t	extra = 0;

	if (hx_wait_eof(s->fd, hxp_close_ms(s), &extra) != 0)
		hxp_fail(s, "%s: not closed within %d ms", what,
		    hxp_close_ms(s));
	else if (extra > 0)
		hxp_fail(s, "%s: %zu bytes instead of a close", what, extra);
	else
		hxp_note(s, HX_ST_CLOSED);
	return -1;
}

/*
 * Reads the two-byte answer to the greeting or the login. Returns 0
 * when it is want0 want1 and the script goes on, -1 when it ended
 * (a failure noted if it was not allowed).
 */
static int
expect_pair(struct script *s, const char *what, uint8_t want0, uint8_t want1,
    int fault_answer, uint8_t bad1)
{
	uint8_t	b[2];
	size_t	got = 0;
	int	rc = hx_read(s->fd, b, 2, step_ms(s), &got);

	if (rc == HX_TIMEOUT) {
		hxp_fail(s, "%s: no answer within %d ms (%zu bytes)", what,
		    step_ms(s), got);
		return -1;
	}
	if (rc == HX_EOF) {
		if (!fault_answer)
			hxp_fail(s, "%s: closed (%zu bytes) where %02x %02x "
			    "was due", what, got, want0, want1);
		else
			hxp_note(s, HX_ST_CLOSED);
		return -1;
	}
	if (!fault_answer) {
		if (b[0] != want0 || b[1] != want1)
			hxp_fail(s, "%s: %02x %02x, not %02x %02x", what, b[0],
			    b[1], want0, want1);
		return s->res->failed ? -1 : 0;
	}
	/* A refusal: the answer it must be, then a close. */
	if (b[0] != want0 || b[1] != bad1) {
		hxp_fail(s, "%s: %02x %02x, not %02x %02x or a close", what,
		    b[0], b[1], want0, bad1);
		return -1;
	}
	hxp_note(s, HX_ST_REPFAIL);
	expect_silent_close(s, what);
	return -1;
}

static int
check_greeting(struct script *s)
{
	uint8_t	m = s->userpass ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;

	switch (s->fault) {
	case F_GREET_VER:
		return expect_silent_close(s, "greeting with bad VER");
	case F_GREET_NMETHODS0:
	case F_GREET_NOMETHOD:
		return expect_pair(s, "greeting without a usable method", 5, 0,
		    1, SOCKS5_METHOD_REFUSED);
	default:
		return expect_pair(s, "method choice", 5, m, 0, 0);
	}
}

static int
check_login(struct script *s)
{
	switch (s->fault) {
	case F_AUTH_VER:
		return expect_silent_close(s, "login with bad VER");
	case F_AUTH_ULEN0:
	case F_AUTH_BADPASS:
	case F_AUTH_BADUSER:
		return expect_pair(s, "bad login", 1, 0, 1, 1);
	default:
		if (expect_pair(s, "login", 1, 0, 0, 0) == -1)
			return -1;
		hxp_note(s, HX_ST_AUTH);
		return 0;
	}
}

/* The reply a faulty request must get instead of a close, or -1. */
static int
fault_rep(int fault)
{
	switch (fault) {
	case F_REQ_CMD:
		return SOCKS5_REP_CMD_UNSUPPORTED;
	case F_REQ_ATYP:
		return SOCKS5_REP_ATYP_UNSUPPORTED;
	case F_REQ_RSV:
	case F_REQ_NAMELEN0:
	case F_REQ_NAMEBAD:
		return SOCKS5_REP_GENERAL_FAILURE;
	default:
		return -1;
	}
}

/*
 * Reads the reply to the request: 0 when it is success as expected
 * (the relay follows), -1 when the script ended.
 */
static int
check_reply(struct script *s, struct socks5_reply *rp)
{
	int	rep, want = fault_rep(s->fault);

	if (s->fault == F_REQ_VER)
		return expect_silent_close(s, "request with bad VER");
	rep = hx_read_reply(s->fd, rp, step_ms(s));
	if (rep == HX_TIMEOUT) {
		hxp_fail(s, "request: no reply within %d ms", step_ms(s));
		return -1;
	}
	if (rep == HX_GARBAGE) {
		hxp_fail(s, "request: the reply does not parse");
		return -1;
	}
	if (rep == HX_EOF) {
		if (want == -1)
			hxp_fail(s, "request: closed where X'%02x' was due",
			    s->expect);
		else
			hxp_note(s, HX_ST_CLOSED);
		return -1;
	}
	if (want == -1)
		want = s->expect;
	if (rep != want) {
		hxp_fail(s, "request: X'%02x', not X'%02x'", rep, want);
		return -1;
	}
	if (rep == SOCKS5_REP_SUCCEEDED) {
		hxp_note(s, HX_ST_REP0);
		return 0;
	}
	hxp_note(s, HX_ST_REPFAIL);
	/* RFC 1928 section 6: a failure reply is followed by a close. */
	if (hx_wait_eof(s->fd, hxp_close_ms(s), NULL) != 0)
		hxp_fail(s, "request: X'%02x' but not closed within %d ms", rep,
		    hxp_close_ms(s));
	return -1;
}

/* The answer to message i; 0 to go on, -1 when the script ended. */
static int
check_message(struct script *s, int i, struct socks5_reply *rp)
{
	if (i == MSG_GREET)
		return check_greeting(s);
	if (i == MSG_AUTH)
		return check_login(s);
	return check_reply(s, rp);
}

/* The message the fault is in; -1 for none (or a truncation). */
static int
fault_msg(const struct script *s)
{
	if (s->fault == F_NONE || s->fault == F_TRUNC)
		return -1;
	if (s->fault >= F_GREET_VER && s->fault <= F_GREET_NMETHODS)
		return MSG_GREET;
	if (s->fault >= F_AUTH_VER && s->fault <= F_AUTH_LEN)
		return MSG_AUTH;
	return MSG_REQ;
}

/* A message the gateway cannot frame: all we ask is a close, in time. */
static void
desync_tail(struct script *s, size_t from)
{
	size_t	end = s->has_cut ? s->cut : s->total;
	uint8_t	all[3 * sizeof(s->msg[0])];
	size_t	n = 0;

	for (int i = 0; i < 3; i++) {
		memcpy(all + n, s->msg[i], s->mlen[i]);
		n += s->mlen[i];
	}
	if (end > from)
		(void)hxp_send_split(s, all + from, end - from);
	if (s->has_cut && s->cut_how != CUT_HALF) {
		hxp_disconnect(s, s->cut_how);
		return;
	}
	if (s->has_cut)
		hxp_disconnect(s, CUT_HALF);
	if (hx_wait_eof(s->fd, hxp_close_ms(s), NULL) != 0)
		hxp_fail(s, "%s: not closed within %d ms",
		    hxp_fault_name[s->fault], hxp_close_ms(s));
	else
		hxp_note(s, HX_ST_CLOSED);
}

/*
 * The stream was cut at s->cut, inside message i: disconnect, or (a
 * stall) wait for the gateway to give up on us at its handshake timeout.
 */
static void
cut_end(struct script *s)
{
	size_t	extra = 0;

	hxp_note(s, HX_ST_ABORT);
	if (s->fault == F_TRUNC) {
		hxp_note(s, HX_ST_STALL);
		if (hx_wait_eof(s->fd, hxp_close_ms(s), &extra) != 0)
			hxp_fail(s, "stalled handshake: not closed within "
			    "%d ms", hxp_close_ms(s));
		else if (extra > 0)
			hxp_fail(s, "stalled handshake: %zu bytes of answer to "
			    "a message not whole", extra);
		return;
	}
	hxp_disconnect(s, s->cut_how);
	if (s->cut_how == CUT_HALF &&
	    hx_wait_eof(s->fd, hxp_close_ms(s), NULL) != 0)
		hxp_fail(s, "half-closed handshake: not closed within %d ms",
		    hxp_close_ms(s));
}

/*
 * The handshake, lock-step: each message (up to the cut) in pieces,
 * then its answer. Returns 0 with the reply in *rp when the request
 * succeeded and the relay follows, else -1.
 */
static int
handshake_lockstep(struct script *s, struct socks5_reply *rp)
{
	size_t	off = 0;

	for (int i = 0; i < 3; i++) {
		size_t len = s->mlen[i];

		if (len == 0)
			continue;
		if (s->desync && i == fault_msg(s)) {
			desync_tail(s, off);
			return -1;
		}
		if (s->has_cut && s->cut < off + len) {
			(void)hxp_send_split(s, s->msg[i], s->cut - off);
			cut_end(s);
			return -1;
		}
		/*
		 * A send may fail when the gateway has closed, rightly
		 * (after a failure reply to the request, say, with our data
		 * after it unread): the answers it sent first decide.
		 */
		(void)hxp_send_split(s, s->msg[i], len);
		if (i == MSG_REQ && s->elen > 0)
			(void)hxp_send_split(s, s->early, s->elen);
		off += len;
		if (check_message(s, i, rp) == -1)
			return -1;
	}
	return 0;
}

/* The handshake, pipelined: everything at once, then the answers. */
static int
handshake_pipelined(struct script *s, struct socks5_reply *rp)
{
	uint8_t	all[3 * sizeof(s->msg[0]) + EARLY_MAX];
	size_t	n = 0;

	hxp_note(s, HX_ST_PIPELINED);
	if (s->desync) {
		desync_tail(s, 0);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		memcpy(all + n, s->msg[i], s->mlen[i]);
		n += s->mlen[i];
	}
	if (s->has_cut) {
		(void)hxp_send_split(s, all, s->cut);
		/*
		 * A stall: the messages that came whole are answered first.
		 * A disconnect: their answers are no longer due.
		 */
		for (int i = 0, end = 0; s->fault == F_TRUNC && i < 3; i++) {
			end += (int)s->mlen[i];
			if (s->mlen[i] > 0 && (size_t)end <= s->cut &&
			    check_message(s, i, rp) == -1)
				return -1;
		}
		cut_end(s);
		return -1;
	}
	memcpy(all + n, s->early, s->elen);
	n += s->elen;
	/*
	 * The gateway may close before it has read it all (a fault, a
	 * failure reply): the answers it sent first decide.
	 */
	(void)hxp_send_split(s, all, n);
	for (int i = 0; i < 3; i++)
		if (s->mlen[i] > 0 && check_message(s, i, rp) == -1)
			return -1;
	return 0;
}

/* ---------------------------------------------------------------- */

void
hx_script_run(const struct hx_world *w, uint64_t seed, struct hx_result *res)
{
	struct script		s;
	struct socks5_reply	rp;
	struct timeval		tv = { (w->slack_ms + 5000) / 1000, 0 };
	int			one = 1, rc;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.w = w;
	s.res = res;
	s.fd = -1;
	hx_rng_seed(&s.rng, seed);
	hxp_plan(&s);
	hxp_note(&s, HX_ST_SCRIPTS);
	if (s.fault != F_NONE && s.fault != F_TRUNC)
		hxp_note(&s, HX_ST_FAULT);
	else if (!s.has_cut)
		hxp_note(&s, HX_ST_VALID);
	s.fd = hh_connect_from(s.src, s.gw_host, s.v6 ? w->gw6_port :
	    w->gw4_port, w->slack_ms + 5000);
	if (s.fd == -1) {
		hxp_fail(&s, "cannot connect to the gateway: %s",
		    strerror(errno));
		goto out;
	}
	/* Every piece its own segment: the split points are real. */
	setsockopt(s.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A wedged gateway must not hold a send of ours for ever. */
	setsockopt(s.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&rp, 0, sizeof(rp));
	rc = s.pipelined ? handshake_pipelined(&s, &rp) :
	    handshake_lockstep(&s, &rp);
	if (rc == 0 && !res->failed) {
		if (s.cmd == SOCKS5_CMD_CONNECT && s.dest == D_SINK)
			hxp_relay_sink(&s);
		else if (s.cmd == SOCKS5_CMD_CONNECT)
			hxp_relay_connect(&s);
		else if (s.cmd == SOCKS5_CMD_BIND)
			hxp_relay_bind(&s, &rp);
		else
			hxp_relay_udp(&s, &rp);
	}
out:
	if (s.fd >= 0)
		close(s.fd);
	if (s.udp >= 0)
		close(s.udp);
}
