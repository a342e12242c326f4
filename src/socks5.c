/*
 * socks5.c - the SOCKS protocol version 5 codec (RFC 1928, RFC 1929).
 *
 * Every parser reads its fields at explicit offsets and checks each byte as
 * soon as it has arrived, so a malformed message is reported at the first
 * byte that shows it, not after a wait for bytes a broken peer may never
 * send. The encoders size a message before writing any of it, so a buffer
 * too small is left untouched. No allocation, no I/O, no logging.
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "socks5.h"

/* Request and reply share one layout (RFC 1928 sections 4 and 6). */
#define MSG_VER		0
#define MSG_CMD		1	/* REP in a reply */
#define MSG_RSV		2
#define MSG_ATYP	3

/* The UDP request header (RFC 1928 section 7). */
#define UDP_RSV		0	/* two bytes */
#define UDP_FRAG	2
#define UDP_ATYP	3

#define PORT_LEN	2

/*
 * The bytes a host name may hold: LDH (RFC 952, RFC 1123), '_' because
 * service and SRV-style labels carry it, '.', and ':' because RFC 3089
 * section 3 lets a client send an IPv6 literal as a DOMAINNAME. Anything
 * else (a NUL, a space, '/', '%', bytes above 0x7f) is no host name: it is
 * refused rather than handed to a resolver that might read it differently.
 */
static int
socks5_name_byte_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == ':';
}

int
socks5_name_valid(const uint8_t *name, size_t len)
{
	size_t	i;

	if (name == NULL || len == 0 || len > 255)
		return -1;
	for (i = 0; i < len; i++)
		if (!socks5_name_byte_ok(name[i]))
			return -1;
	return 0;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned int)p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Parses ATYP, ADDR and PORT starting at buf[off]. An unknown ATYP or a
 * bad name byte is reported as soon as it is in buf, even while the rest
 * of the address is still missing. On SOCKS5_OK, *end is the offset just
 * past PORT.
 */
static enum socks5_status
socks5_parse_addr(const uint8_t *buf, size_t len, size_t off,
    struct socks5_addr *a, size_t *end)
{
	size_t	alen, i;

	if (len <= off)
		return SOCKS5_NEED_MORE;
	a->atyp = buf[off++];
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		alen = 4;
		break;
	case SOCKS5_ATYP_IPV6:
		alen = 16;
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (len <= off)
			return SOCKS5_NEED_MORE;
		alen = buf[off++];
		if (alen == 0)
			return SOCKS5_ERR_NAME;
		for (i = off; i < len && i < off + alen; i++)
			if (!socks5_name_byte_ok(buf[i]))
				return SOCKS5_ERR_NAME;
		break;
	default:
		return SOCKS5_ERR_ATYP;
	}
	if (len < off + alen + PORT_LEN)
		return SOCKS5_NEED_MORE;
	if (a->atyp == SOCKS5_ATYP_DOMAIN) {
		memcpy(a->name, buf + off, alen);
		a->name[alen] = '\0';
	} else
		memcpy(a->ip, buf + off, alen);
	a->port = get16(buf + off + alen);
	*end = off + alen + PORT_LEN;
	return SOCKS5_OK;
}

/* RFC 1928 section 3: VER NMETHODS METHODS[NMETHODS]. */
enum socks5_status
socks5_parse_greeting(const uint8_t *buf, size_t len,
    struct socks5_greeting *out, size_t *used)
{
	size_t	n;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len < 1)
		return SOCKS5_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return SOCKS5_NEED_MORE;
	if ((n = buf[1]) == 0)
		return SOCKS5_ERR_NO_METHODS;
	if (len < 2 + n)
		return SOCKS5_NEED_MORE;
	out->nmethods = (uint8_t)n;
	memcpy(out->methods, buf + 2, n);
	*used = 2 + n;
	return SOCKS5_OK;
}

/* RFC 1928 section 3: VER METHOD. Any METHOD, X'FF' included, is valid. */
enum socks5_status
socks5_parse_method_choice(const uint8_t *buf, size_t len, uint8_t *method,
    size_t *used)
{
	*method = SOCKS5_METHOD_REFUSED;
	*used = 0;
	if (len < 1)
		return SOCKS5_NEED_MORE;
	if (buf[0] != SOCKS5_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return SOCKS5_NEED_MORE;
	*method = buf[1];
	*used = 2;
	return SOCKS5_OK;
}

/* Whether any of the first n bytes of p (n may be 0) is a NUL. */
static int
socks5_has_nul(const uint8_t *p, size_t n)
{
	return n > 0 && memchr(p, '\0', n) != NULL;
}

static size_t
socks5_min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * RFC 1929 section 2: VER ULEN UNAME PLEN PASSWD. The RFC gives PASSWD
 * 1 to 255 bytes, but PLEN 0 is accepted: an empty password is an
 * authentication question (it will not match a hash), not a framing one,
 * and refusing it here would only turn a clear "auth failed" into a
 * protocol error.
 */
enum socks5_status
socks5_parse_userpass(const uint8_t *buf, size_t len,
    struct socks5_userpass *out, size_t *used)
{
	size_t	ulen, plen, poff, have;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len < 1)
		return SOCKS5_NEED_MORE;
	if (buf[0] != SOCKS5_AUTH_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return SOCKS5_NEED_MORE;
	if ((ulen = buf[1]) == 0)
		return SOCKS5_ERR_EMPTY;
	/*
	 * The strings are handed on as C strings: a NUL would cut them. The
	 * bad name is kept as far as it came, NUL and all (ulen bytes), for
	 * the caller's log line.
	 */
	have = socks5_min_size(len, 2 + ulen) - 2;
	memcpy(out->user, buf + 2, have);
	out->ulen = (uint8_t)have;
	if (socks5_has_nul(buf + 2, have))
		return SOCKS5_ERR_NAME;
	if (len < 2 + ulen + 1)
		return SOCKS5_NEED_MORE;
	plen = buf[2 + ulen];
	poff = 3 + ulen;
	if (socks5_has_nul(buf + poff,
	    socks5_min_size(len, poff + plen) - poff))
		return SOCKS5_ERR_NAME;
	if (len < poff + plen)
		return SOCKS5_NEED_MORE;
	memcpy(out->pass, buf + poff, plen);
	out->pass[plen] = '\0';
	out->plen = (uint8_t)plen;
	*used = poff + plen;
	return SOCKS5_OK;
}

/* RFC 1929 section 2: VER STATUS; X'00' is success, anything else not. */
enum socks5_status
socks5_parse_userpass_status(const uint8_t *buf, size_t len,
    uint8_t *status, size_t *used)
{
	*status = 0xff;
	*used = 0;
	if (len < 1)
		return SOCKS5_NEED_MORE;
	if (buf[0] != SOCKS5_AUTH_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len < 2)
		return SOCKS5_NEED_MORE;
	*status = buf[1];
	*used = 2;
	return SOCKS5_OK;
}

/*
 * VER and byte 1 of a request or a reply, which differ only in what
 * that byte means (CMD, REP): SOCKS5_OK with *code set, NEED_MORE or
 * ERR_VERSION.
 */
static enum socks5_status
socks5_msg_head(const uint8_t *buf, size_t len, uint8_t *code)
{
	if (len <= MSG_VER)
		return SOCKS5_NEED_MORE;
	if (buf[MSG_VER] != SOCKS5_VERSION)
		return SOCKS5_ERR_VERSION;
	if (len <= MSG_CMD)
		return SOCKS5_NEED_MORE;
	*code = buf[MSG_CMD];
	return SOCKS5_OK;
}

/*
 * RFC 1928 section 4: VER CMD RSV ATYP DST.ADDR DST.PORT. Checked in wire
 * order, each byte as it arrives, so the error reported is that of the
 * first bad byte whatever the split. out->cmd is filled before CMD is
 * judged and out->dst.atyp before ATYP is, so a caller can log them.
 */
enum socks5_status
socks5_parse_request(const uint8_t *buf, size_t len,
    struct socks5_request *out, size_t *used)
{
	enum socks5_status	st;
	size_t			end;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if ((st = socks5_msg_head(buf, len, &out->cmd)) != SOCKS5_OK)
		return st;
	if (out->cmd != SOCKS5_CMD_CONNECT && out->cmd != SOCKS5_CMD_BIND &&
	    out->cmd != SOCKS5_CMD_UDP)
		return SOCKS5_ERR_COMMAND;
	if (len <= MSG_RSV)
		return SOCKS5_NEED_MORE;
	if (buf[MSG_RSV] != 0)
		return SOCKS5_ERR_RESERVED;
	if ((st = socks5_parse_addr(buf, len, MSG_ATYP, &out->dst, &end)) !=
	    SOCKS5_OK)
		return st;
	*used = end;
	return SOCKS5_OK;
}

/*
 * RFC 1928 section 6: VER REP RSV ATYP BND.ADDR BND.PORT. Any REP is
 * passed on (socks5_errno_from_rep maps unknown ones). RSV is ignored, not
 * checked: it carries nothing, and failing a connection the server says
 * succeeded over a reserved byte would help no one. The address is held
 * to the same rules as in a request, since a name with a NUL could not
 * be returned intact in out->bnd.name.
 */
enum socks5_status
socks5_parse_reply(const uint8_t *buf, size_t len, struct socks5_reply *out,
    size_t *used)
{
	enum socks5_status	st;
	size_t			end;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if ((st = socks5_msg_head(buf, len, &out->rep)) != SOCKS5_OK)
		return st;
	if ((st = socks5_parse_addr(buf, len, MSG_ATYP, &out->bnd, &end)) !=
	    SOCKS5_OK)
		return st;
	*used = end;
	return SOCKS5_OK;
}

/*
 * RFC 1928 section 7: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA. A datagram
 * arrives whole, so there is no peer to keep waiting here and FRAG is
 * judged last: SOCKS5_ERR_FRAGMENT comes with the whole header parsed,
 * *out filled and *used set, for a caller that logs what it drops (or
 * one day reassembles). SOCKS5_NEED_MORE means a truncated datagram.
 */
enum socks5_status
socks5_parse_udp_header(const uint8_t *buf, size_t len,
    struct socks5_udp_header *out, size_t *used)
{
	enum socks5_status	st;
	size_t			end;

	memset(out, 0, sizeof(*out));
	*used = 0;
	if (len > UDP_RSV && buf[UDP_RSV] != 0)
		return SOCKS5_ERR_RESERVED;
	if (len > UDP_RSV + 1 && buf[UDP_RSV + 1] != 0)
		return SOCKS5_ERR_RESERVED;
	if (len <= UDP_FRAG)
		return SOCKS5_NEED_MORE;
	out->frag = buf[UDP_FRAG];
	if ((st = socks5_parse_addr(buf, len, UDP_ATYP, &out->dst, &end)) !=
	    SOCKS5_OK)
		return st;
	*used = end;
	return out->frag == 0 ? SOCKS5_OK : SOCKS5_ERR_FRAGMENT;
}

/*
 * The wire length of ATYP ADDR PORT for a, or -1 if a cannot be encoded:
 * an unknown ATYP, an empty name or one with no NUL within name[] (over
 * 255 bytes). The name's bytes are not judged: the server decides.
 */
static int
socks5_addr_wire_len(const struct socks5_addr *a)
{
	size_t	n;

	if (a == NULL)
		return -1;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		return 1 + 4 + PORT_LEN;
	case SOCKS5_ATYP_IPV6:
		return 1 + 16 + PORT_LEN;
	case SOCKS5_ATYP_DOMAIN:
		n = strnlen(a->name, sizeof(a->name));
		if (n == 0 || n > 255)
			return -1;
		return (int)(1 + 1 + n + PORT_LEN);
	default:
		return -1;
	}
}

/* Writes ATYP ADDR PORT, already sized by socks5_addr_wire_len, at p. */
static void
socks5_put_addr(uint8_t *p, const struct socks5_addr *a)
{
	size_t	n;

	*p++ = a->atyp;
	switch (a->atyp) {
	case SOCKS5_ATYP_IPV4:
		n = 4;
		memcpy(p, a->ip, n);
		break;
	case SOCKS5_ATYP_IPV6:
		n = 16;
		memcpy(p, a->ip, n);
		break;
	default:
		n = strlen(a->name);
		*p++ = (uint8_t)n;
		memcpy(p, a->name, n);
		break;
	}
	put16(p + n, a->port);
}

int
socks5_encode_greeting(uint8_t *out, size_t cap, const uint8_t *methods,
    size_t nmethods)
{
	if (methods == NULL || nmethods == 0 || nmethods > 255 ||
	    cap < 2 + nmethods)
		return -1;
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)nmethods;
	memcpy(out + 2, methods, nmethods);
	return (int)(2 + nmethods);
}

int
socks5_encode_method_choice(uint8_t *out, size_t cap, uint8_t method)
{
	if (cap < 2)
		return -1;
	out[0] = SOCKS5_VERSION;
	out[1] = method;
	return 2;
}

int
socks5_encode_userpass(uint8_t *out, size_t cap, const char *user,
    const char *pass)
{
	size_t	ulen, plen;

	if (user == NULL || pass == NULL)
		return -1;
	ulen = strnlen(user, 256);
	plen = strnlen(pass, 256);
	if (ulen == 0 || ulen > 255 || plen > 255 || cap < 3 + ulen + plen)
		return -1;
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return (int)(3 + ulen + plen);
}

int
socks5_encode_userpass_status(uint8_t *out, size_t cap, uint8_t status)
{
	if (cap < 2)
		return -1;
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = status;
	return 2;
}

/* The request and the reply differ only in what byte 1 means. */
static int
socks5_encode_msg(uint8_t *out, size_t cap, uint8_t code,
    const struct socks5_addr *a)
{
	int	alen;

	if ((alen = socks5_addr_wire_len(a)) < 0 || cap < 3 + (size_t)alen)
		return -1;
	out[MSG_VER] = SOCKS5_VERSION;
	out[MSG_CMD] = code;
	out[MSG_RSV] = 0;
	socks5_put_addr(out + MSG_ATYP, a);
	return 3 + alen;
}

int
socks5_encode_request(uint8_t *out, size_t cap, uint8_t cmd,
    const struct socks5_addr *dst)
{
	return socks5_encode_msg(out, cap, cmd, dst);
}

int
socks5_encode_reply(uint8_t *out, size_t cap, uint8_t rep,
    const struct socks5_addr *bnd)
{
	static const struct socks5_addr	none = { .atyp = SOCKS5_ATYP_IPV4 };

	return socks5_encode_msg(out, cap, rep, bnd != NULL ? bnd : &none);
}

int
socks5_encode_udp_header(uint8_t *out, size_t cap,
    const struct socks5_addr *dst)
{
	int	alen;

	if ((alen = socks5_addr_wire_len(dst)) < 0 || cap < 3 + (size_t)alen)
		return -1;
	out[UDP_RSV] = 0;
	out[UDP_RSV + 1] = 0;
	out[UDP_FRAG] = 0;
	socks5_put_addr(out + UDP_ATYP, dst);
	return 3 + alen;
}

/*
 * sa must be as long as its family says (a sockaddr_in or sockaddr_in6);
 * other families fail with EAFNOSUPPORT. An IPv4-mapped IPv6 address
 * becomes ATYP IPv4: the peer is told the address in the form it would
 * use itself, and never sees a dual-stack socket's internal spelling.
 */
int
socks5_addr_from_sockaddr(struct socks5_addr *out, const struct sockaddr *sa)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	if (out == NULL || sa == NULL) {
		errno = EINVAL;
		return -1;
	}
	memset(out, 0, sizeof(*out));
	switch (sa->sa_family) {
	case AF_INET:
		memcpy(&sin, sa, sizeof(sin));
		out->atyp = SOCKS5_ATYP_IPV4;
		memcpy(out->ip, &sin.sin_addr, 4);
		out->port = ntohs(sin.sin_port);
		return 0;
	case AF_INET6:
		memcpy(&sin6, sa, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			out->atyp = SOCKS5_ATYP_IPV4;
			memcpy(out->ip, sin6.sin6_addr.s6_addr + 12, 4);
		} else {
			out->atyp = SOCKS5_ATYP_IPV6;
			memcpy(out->ip, sin6.sin6_addr.s6_addr, 16);
		}
		out->port = ntohs(sin6.sin6_port);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

/*
 * Errors: EAFNOSUPPORT for a DOMAINNAME or unknown ATYP (there is no
 * address to give), ENOSPC (as inet_ntop) when *salen is too small; sa is
 * then untouched.
 */
int
socks5_addr_to_sockaddr(const struct socks5_addr *in, struct sockaddr *sa,
    unsigned int *salen)
{
	struct sockaddr_in	sin;
	struct sockaddr_in6	sin6;

	if (in == NULL || sa == NULL || salen == NULL) {
		errno = EINVAL;
		return -1;
	}
	switch (in->atyp) {
	case SOCKS5_ATYP_IPV4:
		if (*salen < sizeof(sin)) {
			errno = ENOSPC;
			return -1;
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(in->port);
		memcpy(&sin.sin_addr, in->ip, 4);
		memcpy(sa, &sin, sizeof(sin));
		*salen = sizeof(sin);
		return 0;
	case SOCKS5_ATYP_IPV6:
		if (*salen < sizeof(sin6)) {
			errno = ENOSPC;
			return -1;
		}
		memset(&sin6, 0, sizeof(sin6));
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(in->port);
		memcpy(&sin6.sin6_addr, in->ip, 16);
		memcpy(sa, &sin6, sizeof(sin6));
		*salen = sizeof(sin6);
		return 0;
	default:
		errno = EAFNOSUPPORT;
		return -1;
	}
}

/*
 * errno -> REP, for the gateway reporting a failed connect(), socket(),
 * listen or look-up, as issue 2's table has it:
 *
 *	0				X'00' succeeded
 *	EACCES, EPERM			X'02' not allowed (a local firewall
 *					      rule said no: a ruleset too)
 *	ENETUNREACH, ENETDOWN,		X'03' network unreachable
 *	EAFNOSUPPORT			      (no IPv6 or no IPv4 on this host)
 *	EHOSTUNREACH, EHOSTDOWN,	X'04' host unreachable
 *	ENOENT, ENXIO
 *	ECONNREFUSED			X'05' connection refused
 *	ETIMEDOUT			X'06' TTL expired (the RFC's timeout)
 *	anything else			X'01' general failure
 *
 * X'07' and X'08' are never an errno's: they answer a request whose
 * command or address type the codec does not know (SOCKS5_ERR_COMMAND,
 * SOCKS5_ERR_ATYP). ENOENT and ENXIO stand for "no such host": a caller
 * with an EAI_* code of getaddrinfo (EAI_NONAME, EAI_NODATA) may pass
 * them here, so a name that does not resolve reads, as in the spec, as
 * an unreachable host.
 */
uint8_t
socks5_rep_from_errno(int err)
{
	switch (err) {
	case 0:
		return SOCKS5_REP_SUCCEEDED;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	case ENETUNREACH:
	case ENETDOWN:
	case EAFNOSUPPORT:
		return SOCKS5_REP_NET_UNREACHABLE;
	case EHOSTUNREACH:
	case EHOSTDOWN:
	case ENOENT:
	case ENXIO:
		return SOCKS5_REP_HOST_UNREACHABLE;
	case ECONNREFUSED:
		return SOCKS5_REP_CONN_REFUSED;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	default:
		return SOCKS5_REP_GENERAL_FAILURE;
	}
}

/*
 * REP -> errno, for the client shim to fail connect() with:
 *
 *	X'00'			0
 *	X'01'			ECONNREFUSED
 *	X'02'			EACCES
 *	X'03'			ENETUNREACH
 *	X'04'			EHOSTUNREACH
 *	X'05'			ECONNREFUSED
 *	X'06'			ETIMEDOUT
 *	X'07'			EOPNOTSUPP
 *	X'08'			EAFNOSUPPORT
 *	X'09'-X'FF'		ECONNREFUSED
 *
 * A general failure or an unknown code becomes ECONNREFUSED: programs
 * already handle it (retry another address, or say "connection refused",
 * which is close to the truth), where EIO would read as a disk error.
 * With socks5_rep_from_errno this round-trips for X'00' and X'02' to
 * X'06'; X'01', X'07' and X'08' do not come from an errno.
 */
int
socks5_errno_from_rep(uint8_t rep)
{
	switch (rep) {
	case SOCKS5_REP_SUCCEEDED:
		return 0;
	case SOCKS5_REP_NOT_ALLOWED:
		return EACCES;
	case SOCKS5_REP_NET_UNREACHABLE:
		return ENETUNREACH;
	case SOCKS5_REP_HOST_UNREACHABLE:
		return EHOSTUNREACH;
	case SOCKS5_REP_TTL_EXPIRED:
		return ETIMEDOUT;
	case SOCKS5_REP_CMD_UNSUPPORTED:
		return EOPNOTSUPP;
	case SOCKS5_REP_ATYP_UNSUPPORTED:
		return EAFNOSUPPORT;
	case SOCKS5_REP_CONN_REFUSED:
	case SOCKS5_REP_GENERAL_FAILURE:
	default:
		return ECONNREFUSED;
	}
}

const char *
socks5_rep_str(uint8_t rep)
{
	static const char *const	str[] = {
		[SOCKS5_REP_SUCCEEDED] = "succeeded",
		[SOCKS5_REP_GENERAL_FAILURE] = "general SOCKS server failure",
		[SOCKS5_REP_NOT_ALLOWED] = "connection not allowed by ruleset",
		[SOCKS5_REP_NET_UNREACHABLE] = "network unreachable",
		[SOCKS5_REP_HOST_UNREACHABLE] = "host unreachable",
		[SOCKS5_REP_CONN_REFUSED] = "connection refused",
		[SOCKS5_REP_TTL_EXPIRED] = "TTL expired",
		[SOCKS5_REP_CMD_UNSUPPORTED] = "command not supported",
		[SOCKS5_REP_ATYP_UNSUPPORTED] = "address type not supported",
	};

	if (rep < sizeof(str) / sizeof(str[0]))
		return str[rep];
	return "unknown reply code";
}

const char *
socks5_status_str(enum socks5_status st)
{
	switch (st) {
	case SOCKS5_OK:
		return "ok";
	case SOCKS5_NEED_MORE:
		return "incomplete message";
	case SOCKS5_ERR_VERSION:
		return "bad version";
	case SOCKS5_ERR_NO_METHODS:
		return "no methods offered";
	case SOCKS5_ERR_COMMAND:
		return "unknown command";
	case SOCKS5_ERR_ATYP:
		return "unknown address type";
	case SOCKS5_ERR_RESERVED:
		return "reserved field not zero";
	case SOCKS5_ERR_NAME:
		return "bad name";
	case SOCKS5_ERR_EMPTY:
		return "empty user name";
	case SOCKS5_ERR_FRAGMENT:
		return "fragmented datagram";
	}
	return "unknown status";
}

const char *
socks5_cmd_str(uint8_t cmd)
{
	switch (cmd) {
	case SOCKS5_CMD_CONNECT:
		return "connect";
	case SOCKS5_CMD_BIND:
		return "bind";
	case SOCKS5_CMD_UDP:
		return "udp-associate";
	default:
		return "unknown";
	}
}
