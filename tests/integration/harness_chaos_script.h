/*
 * harness_chaos_script.h - private to harness_chaos*.c: one script of
 * the randomized client, as drawn from its seed (harness_chaos_plan.c)
 * and then played: the handshake (harness_chaos.c), the relay
 * (harness_chaos_relay.c).
 */
#ifndef SOCKS64_IT_HARNESS_CHAOS_SCRIPT_H
#define SOCKS64_IT_HARNESS_CHAOS_SCRIPT_H

#include "harness_chaos.h"

enum dest {
	D_ECHO4, D_ECHO6, D_NAME4, D_NAME6, D_CLOSED4, D_CLOSED6,
	D_BLOCK_ADDR, D_BLOCK_NAME, D_UNKNOWN, D_NOROUTE4, D_NOROUTE6,
	D_SINK, D_MAX
};

/*
 * One corrupted field at most per script. "Desync" faults change a
 * length, so the gateway frames what follows differently and no single
 * answer is right: those must end in a close, in time.
 */
enum fault {
	F_NONE,
	F_GREET_VER,		/* VER != 5: closed, no answer */
	F_GREET_NMETHODS0,	/* X'FF' or closed */
	F_GREET_NOMETHOD,	/* neither X'00' nor X'02' offered: X'FF' */
	F_GREET_NMETHODS,	/* desync */
	F_AUTH_VER,		/* closed, no answer */
	F_AUTH_ULEN0,		/* status != 0 or closed */
	F_AUTH_BADPASS,
	F_AUTH_BADUSER,
	F_AUTH_LEN,		/* desync */
	F_REQ_VER,		/* closed, no answer */
	F_REQ_CMD,		/* X'07' or closed */
	F_REQ_RSV,		/* X'01' or closed */
	F_REQ_ATYP,		/* X'08' or closed */
	F_REQ_NAMELEN0,		/* X'01' or closed */
	F_REQ_NAMEBAD,		/* X'01' or closed */
	F_REQ_NAMELEN,		/* desync */
	F_TRUNC,		/* stops mid-message: closed at the timeout */
	F_MAX
};


enum cut_how { CUT_CLOSE, CUT_RESET, CUT_HALF };

#define MSG_GREET	0
#define MSG_AUTH	1
#define MSG_REQ		2
#define EARLY_MAX	2048

struct script {
	const struct hx_world	*w;
	struct hx_result	*res;
	struct hx_rng		 rng;
	int			 v6;		/* over the ::1 listener */
	char			 src[48];	/* our source address */
	const char		*gw_host;
	int			 userpass;	/* X'02' offered (and chosen) */
	uint8_t			 cmd;
	int			 dest;
	char			 host[64];	/* the request's DST */
	uint16_t		 port;
	int			 fault;
	int			 desync;
	int			 pipelined;
	int			 max_chunks;
	/* The handshake: greeting, login (or empty), request. */
	uint8_t			 msg[3][SOCKS5_USERPASS_MAX + 8];
	size_t			 mlen[3];
	size_t			 total;		/* of the three */
	/* Disconnect after cut bytes of the handshake (cut < total). */
	int			 has_cut;
	size_t			 cut;
	int			 cut_how;
	/* Bytes pipelined after the request, for the relay. */
	uint8_t			 early[EARLY_MAX];
	size_t			 elen;
	int			 expect;	/* reply code if well-formed */
	int			 udp;		/* our UDP socket, or -1 */
	int			 fd;
};

extern const char *const hxp_fault_name[F_MAX];
extern const char *const hxp_cut_name[3];

/* harness_chaos_plan.c */
/* Draws the whole script from s->rng; s->w and s->res are set. */
void	hxp_plan(struct script *s);
void	hxp_fill_random(struct script *s, uint8_t *buf, size_t len);

/* harness_chaos.c */
/* Notes the script's first failure (later ones are consequences). */
void	hxp_fail(struct script *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	hxp_note(struct script *s, enum hx_stat k);
/* The longest a gateway may take to close after a fault or a stall. */
int	hxp_close_ms(const struct script *s);
/* buf in random pieces with short pauses: 0, or -1 if the peer closed. */
int	hxp_send_split(struct script *s, const uint8_t *buf, size_t len);
/* Ends our side: CUT_CLOSE, CUT_RESET or CUT_HALF (s->fd -1 unless half). */
void	hxp_disconnect(struct script *s, int how);

/* harness_chaos_relay.c: after X'00', each ends the script's use of fd */
void	hxp_relay_connect(struct script *s);
void	hxp_relay_sink(struct script *s);
void	hxp_relay_bind(struct script *s, const struct socks5_reply *first);
void	hxp_relay_udp(struct script *s, const struct socks5_reply *r);

#endif /* SOCKS64_IT_HARNESS_CHAOS_SCRIPT_H */
