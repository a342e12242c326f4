/*
 * harness_chaos_relay.c - the relay half of it_chaos.c's scripts: once
 * the gateway said X'00', what the command opened is used and checked -
 * a CONNECT's echo compared byte for byte in rounds of random size, a
 * BIND's peer (and a peer from the wrong address turned away, or none
 * and X'06'), a UDP ASSOCIATE's datagrams there and back - and ended by
 * a close, a reset or a half-close, mid-transfer too (harness_chaos.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_chaos_script.h"
#include "harness_cmds.h"
#include "harness_hostile.h"

/* Sends len random bytes in pieces and expects them back, in order. */
static int
echo_round(struct script *s, size_t len)
{
	uint8_t	*out = malloc(len), *in = malloc(len);
	size_t	 got = 0;
	int	 rc = -1;

	if (out == NULL || in == NULL) {
		hxp_fail(s, "out of memory");
		goto done;
	}
	hxp_fill_random(s, out, len);
	if (hxp_send_split(s, out, len) == -1) {
		hxp_fail(s, "relay: send of %zu bytes failed", len);
		goto done;
	}
	if (hx_read(s->fd, in, len, s->w->slack_ms + 5000, &got) != (int)len)
		hxp_fail(s, "relay: %zu of %zu bytes came back", got, len);
	else if (memcmp(in, out, len) != 0)
		hxp_fail(s, "relay: %zu bytes came back, not the same", len);
	else
		rc = 0;
done:
	free(out);
	free(in);
	return rc;
}

/* The relay of a CONNECT to an echo server. */
void
hxp_relay_connect(struct script *s)
{
	uint8_t		back[EARLY_MAX];
	size_t		got = 0;
	unsigned int	rounds = hx_rng_below(&s->rng, 4), k;

	if (s->elen > 0) {
		if (hx_read(s->fd, back, s->elen, s->w->slack_ms + 5000, &got)
		    != (int)s->elen) {
			hxp_fail(s, "relay: %zu of %zu pipelined bytes came "
			    "back", got, s->elen);
			return;
		}
		if (memcmp(back, s->early, s->elen) != 0) {
			hxp_fail(s, "relay: the pipelined bytes came back "
			    "changed");
			return;
		}
	}
	for (unsigned int i = 0; i < rounds; i++) {
		size_t len = 1 + hx_rng_below(&s->rng,
		    hx_rng_chance(&s->rng, 10) ? 65536 : 4096);

		if (hx_rng_chance(&s->rng, 10)) {
			/* Cut off mid-relay, data in flight both ways. */
			uint8_t junk[512];
			hxp_fill_random(s, junk, sizeof(junk));
			(void)hxp_send_split(s, junk, 1 + hx_rng_below(&s->rng,
			    sizeof(junk)));
			hxp_note(s, HX_ST_MIDRELAY);
			hxp_disconnect(s, hx_rng_chance(&s->rng, 50) ?
			    CUT_RESET : CUT_CLOSE);
			return;
		}
		if (echo_round(s, len) == -1)
			return;
	}
	if (s->elen > 0 || rounds > 0)
		hxp_note(s, HX_ST_RELAYED);
	k = hx_rng_below(&s->rng, 10);
	if (k < 4) {
		/* Half-close: the echo server finishes and closes. */
		size_t extra = 0;
		hxp_disconnect(s, CUT_HALF);
		if (hx_wait_eof(s->fd, s->w->slack_ms + 5000, &extra) != 0)
			hxp_fail(s, "relay: no EOF after our half-close");
		else if (extra > 0)
			hxp_fail(s, "relay: %zu bytes more than we sent",
			    extra);
	} else
		hxp_disconnect(s, k < 7 ? CUT_CLOSE : CUT_RESET);
}

/*
 * The relay of a CONNECT to a server that reads and never answers: data
 * in, nothing back, then our end. After a half-close the server sees
 * EOF and closes, and the gateway must pass that on.
 */
void
hxp_relay_sink(struct script *s)
{
	uint8_t		buf[4096];
	unsigned int	rounds = hx_rng_below(&s->rng, 4), k;
	size_t		extra = 0;

	for (unsigned int i = 0; i < rounds; i++) {
		size_t len = 1 + hx_rng_below(&s->rng, sizeof(buf));

		hxp_fill_random(s, buf, len);
		if (hxp_send_split(s, buf, len) == -1) {
			hxp_fail(s, "sink: send of %zu bytes failed", len);
			return;
		}
	}
	hxp_note(s, HX_ST_SINK);
	k = hx_rng_below(&s->rng, 10);
	if (k < 4) {
		hxp_disconnect(s, CUT_HALF);
		if (hx_wait_eof(s->fd, s->w->slack_ms + 5000, &extra) != 0)
			hxp_fail(s, "sink: no EOF after our half-close");
		else if (extra > 0)
			hxp_fail(s, "sink: %zu bytes from a server that sends "
			    "none", extra);
	} else
		hxp_disconnect(s, k < 7 ? CUT_CLOSE : CUT_RESET);
}

/* Connects to a sockaddr from a literal source within timeout_ms. */
static int
connect_sa(const char *src, const struct sockaddr_storage *to, int timeout_ms)
{
	char		host[64];
	uint16_t	port;

	if (to->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)to;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)to;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	return hh_connect_from(src, host, port, timeout_ms);
}

/* Moves len random bytes from fd a to fd b and checks them. */
static int
pass_bytes(struct script *s, int a, int b, const char *dir)
{
	uint8_t	out[2048], in[2048];
	size_t	len = 1 + hx_rng_below(&s->rng, sizeof(out)), got = 0;

	hxp_fill_random(s, out, len);
	if (h_send_all(a, out, len) == -1 ||
	    hx_read(b, in, len, s->w->slack_ms + 5000, &got) != (int)len ||
	    memcmp(in, out, len) != 0) {
		hxp_fail(s, "bind relay %s: %zu of %zu bytes came through", dir,
		    got, len);
		return -1;
	}
	return 0;
}

/* After the first reply of a BIND: a peer comes, or not. */
void
hxp_relay_bind(struct script *s, const struct socks5_reply *first)
{
	struct sockaddr_storage	to;
	struct socks5_reply	second;
	socklen_t		len;
	unsigned int		k = hx_rng_below(&s->rng, 100);
	int			peer, wrong, rep;

	if (hc_bnd(&first->bnd, s->gw_host, &to, &len) == -1 ||
	    first->bnd.port == 0) {
		hxp_fail(s, "bind: the first reply names no address");
		return;
	}
	if (k < 15) {
		/* Leave while the gateway waits for the peer. */
		h_sleep_ms((int)hx_rng_below(&s->rng, 20));
		hxp_note(s, HX_ST_MIDRELAY);
		hxp_disconnect(s, hx_rng_chance(&s->rng, 50) ? CUT_RESET :
		    CUT_CLOSE);
		return;
	}
	if (k < 20) {
		/* No peer: X'06' at the bind timeout. */
		rep = hx_read_reply(s->fd, &second, s->w->bind_ms +
		    s->w->slack_ms);
		if (rep != SOCKS5_REP_TTL_EXPIRED)
			hxp_fail(s, "bind without a peer: %d, not X'06'", rep);
		else if (hx_wait_eof(s->fd, hxp_close_ms(s), NULL) != 0)
			hxp_fail(s, "bind timed out but not closed");
		return;
	}
	if (k < 30 && strcmp(s->host, "127.0.0.1") == 0) {
		/* A peer from another address is turned away. */
		wrong = connect_sa("127.0.0.2", &to, s->w->slack_ms + 2000);
		if (wrong >= 0) {
			if (hx_wait_eof(wrong, s->w->slack_ms + 5000,
			    NULL) != 0)
				hxp_fail(s, "bind: a peer from 127.0.0.2 was "
				    "kept");
			close(wrong);
		}
		if (s->res->failed)
			return;
	}
	peer = connect_sa(s->host, &to, s->w->slack_ms + 2000);
	if (peer == -1) {
		hxp_fail(s, "bind: the peer could not connect");
		return;
	}
	rep = hx_read_reply(s->fd, &second, s->w->slack_ms + 5000);
	if (rep != SOCKS5_REP_SUCCEEDED) {
		hxp_fail(s, "bind: second reply %d, not X'00'", rep);
	} else if (pass_bytes(s, s->fd, peer, "up") == 0 &&
	    pass_bytes(s, peer, s->fd, "down") == 0) {
		hxp_note(s, HX_ST_BIND);
		/* Either end leaves; the other must see it. */
		if (hx_rng_chance(&s->rng, 50)) {
			close(peer);
			peer = -1;
			if (hx_wait_eof(s->fd, s->w->slack_ms + 5000, NULL)
			    != 0)
				hxp_fail(s, "bind: the peer left, the client "
				    "not told");
		} else {
			hxp_disconnect(s, hx_rng_chance(&s->rng, 50) ?
			    CUT_RESET : CUT_CLOSE);
			if (hx_wait_eof(peer, s->w->slack_ms + 5000, NULL) != 0)
				hxp_fail(s, "bind: the client left, the peer "
				    "not told");
		}
	}
	if (peer >= 0)
		close(peer);
}

/* One datagram through the relay and back, a few tries (UDP may drop). */
static int
udp_round(struct script *s, const struct sockaddr_storage *relay)
{
	struct socks5_addr	dst, from;
	uint8_t			out[512];
	char			in[600];
	size_t			len = 1 + hx_rng_below(&s->rng, sizeof(out));
	ssize_t			n;

	hxp_fill_random(s, out, len);
	h_dst(&dst, "127.0.0.1", s->w->udp4_port);
	for (int attempt = 0; attempt < 3; attempt++) {
		if (hc_udp_send(s->udp, relay, 0, &dst, out, len) == -1) {
			hxp_fail(s, "udp: send failed");
			return -1;
		}
		n = hc_udp_recv(s->udp, &from, in, sizeof(in),
		    s->w->slack_ms + 1000);
		if (n == (ssize_t)len && memcmp(in, out, len) == 0)
			return 0;
	}
	hxp_fail(s, "udp: %zu bytes did not come back in 3 tries", len);
	return -1;
}

/* After the reply of a UDP ASSOCIATE: datagrams, then the end of it. */
void
hxp_relay_udp(struct script *s, const struct socks5_reply *r)
{
	struct sockaddr_storage	relay;
	struct socks5_addr	dst;
	socklen_t		len;
	unsigned int		n = hx_rng_below(&s->rng, 4);

	if (s->udp < 0) {
		hxp_fail(s, "udp: no socket of ours");
		return;
	}
	if (hc_bnd(&r->bnd, s->gw_host, &relay, &len) == -1 ||
	    r->bnd.port == 0) {
		hxp_fail(s, "udp: the reply names no relay");
		return;
	}
	if (hx_rng_chance(&s->rng, 30)) {
		/* A fragment, which the relay drops (RFC 1928 section 7). */
		h_dst(&dst, "127.0.0.1", s->w->udp4_port);
		(void)hc_udp_send(s->udp, &relay, 1, &dst, "frag", 4);
	}
	for (unsigned int i = 0; i < n; i++)
		if (udp_round(s, &relay) == -1)
			return;
	if (n > 0)
		hxp_note(s, HX_ST_UDP);
	hxp_disconnect(s, hx_rng_chance(&s->rng, 50) ? CUT_RESET : CUT_CLOSE);
}
