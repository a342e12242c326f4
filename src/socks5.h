/*
 * socks5.h - the SOCKS protocol version 5 codec (RFC 1928, RFC 1929).
 *
 * Pure functions over byte buffers, shared by gatewayd (server side) and
 * libsocks64 (client side): no descriptors, no allocation, no logging.
 * Every parser answers "need more bytes", "complete, N bytes used" or
 * "malformed, and why", so a caller can feed it whatever recv() returned,
 * however the peer split or pipelined its messages.
 */
#ifndef SOCKS64_SOCKS5_H
#define SOCKS64_SOCKS5_H

#include <stddef.h>
#include <stdint.h>

#define SOCKS5_VERSION		0x05
#define SOCKS5_AUTH_VERSION	0x01	/* RFC 1929 sub-negotiation */

/* Methods (RFC 1928 section 3). */
#define SOCKS5_METHOD_NONE	0x00
#define SOCKS5_METHOD_GSSAPI	0x01
#define SOCKS5_METHOD_USERPASS	0x02
#define SOCKS5_METHOD_REFUSED	0xff

/* Commands (RFC 1928 section 4). */
#define SOCKS5_CMD_CONNECT	0x01
#define SOCKS5_CMD_BIND		0x02
#define SOCKS5_CMD_UDP		0x03

/* Address types. */
#define SOCKS5_ATYP_IPV4	0x01
#define SOCKS5_ATYP_DOMAIN	0x03
#define SOCKS5_ATYP_IPV6	0x04

/* Reply codes (RFC 1928 section 6). */
#define SOCKS5_REP_SUCCEEDED		0x00
#define SOCKS5_REP_GENERAL_FAILURE	0x01
#define SOCKS5_REP_NOT_ALLOWED		0x02
#define SOCKS5_REP_NET_UNREACHABLE	0x03
#define SOCKS5_REP_HOST_UNREACHABLE	0x04
#define SOCKS5_REP_CONN_REFUSED		0x05
#define SOCKS5_REP_TTL_EXPIRED		0x06
#define SOCKS5_REP_CMD_UNSUPPORTED	0x07
#define SOCKS5_REP_ATYP_UNSUPPORTED	0x08

/* Largest messages, for callers sizing buffers. */
#define SOCKS5_GREETING_MAX	(2 + 255)
#define SOCKS5_USERPASS_MAX	(3 + 255 + 255)
#define SOCKS5_REQUEST_MAX	(4 + 1 + 255 + 2)	/* also a reply */
#define SOCKS5_UDP_HEADER_MAX	(4 + 1 + 255 + 2)

/*
 * What a parser says. Negative values are malformed input, each naming
 * what was wrong so the caller can log it and pick the reply code.
 */
enum socks5_status {
	SOCKS5_OK = 0,			/* complete; *used says how much */
	SOCKS5_NEED_MORE = 1,		/* a prefix of a valid message */
	SOCKS5_ERR_VERSION = -1,	/* VER is not 5 (or 1 for RFC 1929) */
	SOCKS5_ERR_NO_METHODS = -2,	/* NMETHODS is 0 */
	SOCKS5_ERR_COMMAND = -3,	/* unknown CMD: reply X'07' */
	SOCKS5_ERR_ATYP = -4,		/* unknown ATYP: reply X'08' */
	SOCKS5_ERR_RESERVED = -5,	/* RSV is not 0 */
	SOCKS5_ERR_NAME = -6,		/* empty name, NUL or bad byte in it */
	SOCKS5_ERR_EMPTY = -7,		/* RFC 1929 empty user name */
	SOCKS5_ERR_FRAGMENT = -8,	/* UDP FRAG is not 0 */
};

/* A destination or bound address as carried on the wire. */
struct socks5_addr {
	uint8_t		atyp;		/* SOCKS5_ATYP_* */
	uint8_t		ip[16];		/* 4 bytes for IPv4, 16 for IPv6 */
	char		name[256];	/* DOMAINNAME, NUL-terminated */
	uint16_t	port;		/* host byte order */
};

struct socks5_greeting {
	uint8_t		nmethods;
	uint8_t		methods[255];
};

struct socks5_userpass {
	char		user[256];	/* NUL-terminated; may not hold NUL */
	char		pass[256];
	uint8_t		ulen;
	uint8_t		plen;
};

struct socks5_request {
	uint8_t			cmd;	/* SOCKS5_CMD_* */
	struct socks5_addr	dst;
};

struct socks5_reply {
	uint8_t			rep;	/* SOCKS5_REP_* */
	struct socks5_addr	bnd;
};

struct socks5_udp_header {
	uint8_t			frag;
	struct socks5_addr	dst;
};

/*
 * The parsers' contract, common to all seven:
 *
 * - SOCKS5_OK: a whole message is at buf; *used is its length (bytes past
 *   it, pipelined by the peer, are the caller's) and *out is filled.
 * - SOCKS5_NEED_MORE: buf[0..len) is a proper prefix of some valid
 *   message (len 0 included); call again with more bytes.
 * - An error: *used is 0 (UDP FRAGMENT aside, below). Fields are checked
 *   in wire order, each as soon as its byte is in buf, so the error comes
 *   at the first byte that shows it (VER at byte 0, CMD at 1, RSV at 2,
 *   ATYP at 3, each name byte as it arrives) and is the same however the
 *   input was split. A server can reply at once, without waiting for
 *   bytes a broken client may never send.
 *
 * *out is cleared first, then filled in wire order: on an error it holds
 * the fields before the bad one and the bad one itself (req.cmd for
 * SOCKS5_ERR_COMMAND, dst.atyp for SOCKS5_ERR_ATYP, the user name as far
 * as it came, NUL included, in user[0..ulen) for a SOCKS5_ERR_NAME in
 * it), for the log line.
 * Names, users and passwords are copied NUL-terminated; a NUL inside
 * one is an error (SOCKS5_ERR_NAME), never a silent truncation. The
 * parsers never read buf[len] or beyond.
 */

/*
 * Server side: parse what a client sends. A DOMAINNAME must pass
 * socks5_name_valid. A user name must be 1-255 bytes (0 is
 * SOCKS5_ERR_EMPTY); a password 0-255 (an empty one is an
 * authentication failure for the caller, not a framing error).
 */
enum socks5_status socks5_parse_greeting(const uint8_t *buf, size_t len,
	    struct socks5_greeting *out, size_t *used);
enum socks5_status socks5_parse_userpass(const uint8_t *buf, size_t len,
	    struct socks5_userpass *out, size_t *used);
enum socks5_status socks5_parse_request(const uint8_t *buf, size_t len,
	    struct socks5_request *out, size_t *used);

/*
 * Client side: parse what a server sends. Any METHOD, STATUS or REP value
 * is returned as sent. RSV in a reply is ignored (it carries nothing,
 * and failing a connection the server said succeeded over it helps no
 * one); BND.ADDR is held to the same rules as DST.ADDR.
 */
enum socks5_status socks5_parse_method_choice(const uint8_t *buf, size_t len,
	    uint8_t *method, size_t *used);
enum socks5_status socks5_parse_userpass_status(const uint8_t *buf,
	    size_t len, uint8_t *status, size_t *used);
enum socks5_status socks5_parse_reply(const uint8_t *buf, size_t len,
	    struct socks5_reply *out, size_t *used);

/*
 * Both sides: the header in front of every relayed UDP datagram. *used is
 * the header's length; the payload follows it. Both RSV bytes must be 0.
 * FRAG is judged last: SOCKS5_ERR_FRAGMENT is returned with the whole
 * header parsed, *out filled and *used set, so the caller can log what
 * it drops. A datagram comes whole: SOCKS5_NEED_MORE means it is short.
 */
enum socks5_status socks5_parse_udp_header(const uint8_t *buf, size_t len,
	    struct socks5_udp_header *out, size_t *used);

/*
 * Encoders write one message into out (capacity cap) and return its
 * length, or -1 if it does not fit or the input cannot be encoded: an
 * empty name or one longer than 255 bytes, an unknown ATYP, a NULL
 * address, 0 or over 255 methods, an empty user or a user or password
 * over 255 bytes. On -1 nothing is written. Byte values (CMD, REP,
 * METHOD, name bytes) are not judged, so a test can send bad ones.
 * socks5_encode_reply takes bnd NULL as 0.0.0.0:0, what a failure reply
 * carries.
 */
int	socks5_encode_greeting(uint8_t *out, size_t cap,
	    const uint8_t *methods, size_t nmethods);
int	socks5_encode_method_choice(uint8_t *out, size_t cap, uint8_t method);
int	socks5_encode_userpass(uint8_t *out, size_t cap, const char *user,
	    const char *pass);
int	socks5_encode_userpass_status(uint8_t *out, size_t cap,
	    uint8_t status);
int	socks5_encode_request(uint8_t *out, size_t cap, uint8_t cmd,
	    const struct socks5_addr *dst);
int	socks5_encode_reply(uint8_t *out, size_t cap, uint8_t rep,
	    const struct socks5_addr *bnd);
int	socks5_encode_udp_header(uint8_t *out, size_t cap,
	    const struct socks5_addr *dst);

/*
 * Checks a DOMAINNAME as it must be to be looked up exactly as sent:
 * 1-255 bytes of letters, digits, '-', '_', '.', and ':' (an IPv6 literal
 * sent as a name, RFC 3089 section 3). Not '%': a zone index names a
 * link of the client's, meaningless at the gateway. Returns 0 or -1.
 */
int	socks5_name_valid(const uint8_t *name, size_t len);

/*
 * Conversions between struct socks5_addr and struct sockaddr. From: an
 * AF_INET or AF_INET6 address (an IPv4-mapped ::ffff:a.b.c.d becomes ATYP
 * IPv4); -1 with EAFNOSUPPORT for other families. To: fills sa (size
 * *salen on entry, used on return); -1 with EAFNOSUPPORT for DOMAINNAME
 * or an unknown ATYP, with ENOSPC if *salen is too small (sa untouched).
 */
struct sockaddr;
int	socks5_addr_from_sockaddr(struct socks5_addr *out,
	    const struct sockaddr *sa);
int	socks5_addr_to_sockaddr(const struct socks5_addr *in,
	    struct sockaddr *sa, unsigned int *salen);

/*
 * The reply code that best reports a failed connect()'s errno, and back;
 * the tables are in socks5.c. ENOENT and ENXIO mean "no such host" and
 * give X'04'; EAFNOSUPPORT (a family this host lacks) gives X'03'. No
 * errno gives X'07' or X'08', which answer unparsable requests. X'01'
 * and unknown codes give ECONNREFUSED on the client side.
 */
uint8_t	socks5_rep_from_errno(int err);
int	socks5_errno_from_rep(uint8_t rep);
/* A short English text for a reply code ("connection refused"). */
const char *socks5_rep_str(uint8_t rep);
/* A short English text for a parser status ("unknown address type"). */
const char *socks5_status_str(enum socks5_status st);
/* "connect", "bind", "udp-associate" or "unknown". */
const char *socks5_cmd_str(uint8_t cmd);

#endif /* SOCKS64_SOCKS5_H */
