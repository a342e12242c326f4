/*
 * addr.c - socket address helpers shared by gatewayd and libsocks64.
 *
 * Literal addresses only: every parser here goes through inet_pton(3),
 * never a resolver, so it is safe inside the shim's hooks and cheap
 * enough for the policy path. Nothing logs; failures come back as a
 * static English reason for the caller to print.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

/* Longest text inet_pton(AF_INET6) can accept, plus its NUL. */
#define ADDR_LITERAL_MAX	INET6_ADDRSTRLEN

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * Parses a decimal port of 1-5 digits, 1-65535. Port 0 means "any port"
 * to the kernel, which is never what a listen or a destination wants.
 */
static int
addr_parse_port(const char *s, size_t n, uint16_t *port, const char **why)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0) {
		*why = "missing port";
		return -1;
	}
	if (n > 5) {
		*why = "bad port";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "bad port";
			return -1;
		}
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535) {
		*why = "bad port";
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* Copies s[0..n) into a NUL-terminated buffer; -1 if it is too long. */
static int
addr_copy_literal(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static void
fill_v4(struct sockaddr_storage *ss, socklen_t *sslen,
    const struct in_addr *a, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr = *a;
	*sslen = sizeof(*sin);
}

static void
fill_v6(struct sockaddr_storage *ss, socklen_t *sslen,
    const struct in6_addr *a, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	sin6->sin6_addr = *a;
	*sslen = sizeof(*sin6);
}

/*
 * The default port as a port, or -1 with a reason. A default of 0 is the
 * caller's choice (e.g. "any local port" for an outbound bind address),
 * unlike a port written by the user.
 */
static int
addr_default_port(int default_port, uint16_t *port, const char **why)
{
	if (default_port < 0) {
		*why = "missing port";
		return -1;
	}
	if (default_port > 65535) {
		*why = "bad port";
		return -1;
	}
	*port = (uint16_t)default_port;
	return 0;
}

/* "[V6]" or "[V6]:PORT". */
static int
addr_parse_bracketed(const char *s, int default_port,
    struct sockaddr_storage *ss, socklen_t *sslen, const char **why)
{
	char lit[ADDR_LITERAL_MAX];
	struct in6_addr a6;
	const char *end;
	uint16_t port;

	end = strchr(s, ']');
	if (end == NULL) {
		*why = "missing ']' after IPv6 address";
		return -1;
	}
	if (memchr(s + 1, '%', (size_t)(end - s - 1)) != NULL) {
		/* Needs if_nametoindex(), an ioctl: not for a pure parser. */
		*why = "IPv6 scope ids (%ifname) are not supported";
		return -1;
	}
	if (addr_copy_literal(lit, sizeof(lit), s + 1, (size_t)(end - s - 1)) ==
	    -1 || inet_pton(AF_INET6, lit, &a6) != 1) {
		*why = "bad IPv6 address";
		return -1;
	}
	if (end[1] == '\0') {
		if (addr_default_port(default_port, &port, why) == -1)
			return -1;
	} else if (end[1] == ':') {
		if (addr_parse_port(end + 2, strlen(end + 2), &port, why) == -1)
			return -1;
	} else {
		*why = "expected ':PORT' after ']'";
		return -1;
	}
	fill_v6(ss, sslen, &a6, port);
	return 0;
}

/*
 * Without brackets, two or more colons can only be IPv6, and then the
 * last group cannot be told from a port ("2001:db8::1:80"), so a port
 * needs the brackets. A bare IPv6 address takes the default port.
 */
static int
parse_bare_v6(const char *s, int default_port, struct sockaddr_storage *ss,
    socklen_t *sslen, const char **why)
{
	struct in6_addr a6;
	uint16_t port;

	if (strchr(s, '%') != NULL) {
		*why = "IPv6 scope ids (%ifname) are not supported";
		return -1;
	}
	if (default_port < 0 || strlen(s) >= ADDR_LITERAL_MAX ||
	    inet_pton(AF_INET6, s, &a6) != 1) {
		*why = "IPv6 address must be in brackets";
		return -1;
	}
	if (addr_default_port(default_port, &port, why) == -1)
		return -1;
	fill_v6(ss, sslen, &a6, port);
	return 0;
}

/* "A.B.C.D" or "A.B.C.D:PORT". */
static int
parse_v4(const char *s, int default_port, struct sockaddr_storage *ss,
    socklen_t *sslen, const char **why)
{
	char lit[ADDR_LITERAL_MAX];
	struct in_addr a4;
	const char *colon;
	size_t n;
	uint16_t port;

	colon = strchr(s, ':');
	n = colon != NULL ? (size_t)(colon - s) : strlen(s);
	if (n == 0) {
		*why = "missing address";
		return -1;
	}
	/* inet_pton, unlike inet_aton, takes only the four-part dotted form. */
	if (addr_copy_literal(lit, sizeof(lit), s, n) == -1 ||
	    inet_pton(AF_INET, lit, &a4) != 1) {
		*why = "bad IPv4 address";
		return -1;
	}
	if (colon == NULL) {
		if (addr_default_port(default_port, &port, why) == -1)
			return -1;
	} else if (addr_parse_port(colon + 1, strlen(colon + 1), &port,
	    why) == -1)
		return -1;
	fill_v4(ss, sslen, &a4, port);
	return 0;
}

/*
 * Parses an endpoint literal into ss (zeroed first, so it can be compared
 * bytewise). An IPv4-mapped IPv6 literal stays AF_INET6: it is what the
 * user wrote. Scope ids ("[fe80::1%eth0]") are refused: resolving the
 * interface name is I/O, and a link-local endpoint is not a use we have.
 */
int
addr_parse_endpoint(const char *s, int default_port,
    struct sockaddr_storage *ss, socklen_t *sslen, const char **why)
{
	const char *first, *dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || *s == '\0') {
		*why = "missing address";
		return -1;
	}
	if (s[0] == '[')
		return addr_parse_bracketed(s, default_port, ss, sslen, why);
	first = strchr(s, ':');
	if (first != NULL && strchr(first + 1, ':') != NULL)
		return parse_bare_v6(s, default_port, ss, sslen, why);
	return parse_v4(s, default_port, ss, sslen, why);
}

/* Parses the decimal prefix length after '/', at most max. */
static int
addr_parse_prefix(const char *s, unsigned int max, unsigned int *prefix,
    const char **why)
{
	unsigned int v = 0;
	size_t i;

	if (*s == '\0') {
		*why = "missing prefix length after '/'";
		return -1;
	}
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 3) {
			*why = "bad prefix length";
			return -1;
		}
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > max) {
		*why = "prefix length out of range";
		return -1;
	}
	*prefix = v;
	return 0;
}

/* Whether any bit of bytes at or after bit number prefix is set. */
static int
addr_host_bits_set(const uint8_t *bytes, unsigned int nbytes,
    unsigned int prefix)
{
	unsigned int i;

	for (i = prefix / 8; i < nbytes; i++) {
		uint8_t mask = 0xff;

		if (i == prefix / 8)
			mask = (uint8_t)(0xff >> (prefix % 8));
		if (bytes[i] & mask)
			return 1;
	}
	return 0;
}

/* Whether the first prefix bits of a and b agree. */
static int
addr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned int prefix)
{
	unsigned int whole = prefix / 8, rest = prefix % 8;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

/*
 * Parses a network. Brackets around an IPv6 address are allowed
 * ("[::1]", "[2001:db8::]/32") since users copy them from endpoints.
 * An IPv4-mapped network of prefix 96 or more becomes the IPv4 network it
 * names, so that it matches the same clients addr_net_contains() maps;
 * "::/0" and other IPv6 networks never match IPv4 addresses ("any" does).
 */
int
addr_parse_net(const char *s, struct addr_net *net, const char **why)
{
	char lit[ADDR_LITERAL_MAX];
	const char *slash, *end, *start, *dummy;
	unsigned int max, prefix;
	struct addr_net n;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || *s == '\0') {
		*why = "missing network";
		return -1;
	}
	memset(&n, 0, sizeof(n));
	if (strcmp(s, "any") == 0) {
		n.family = AF_UNSPEC;
		*net = n;
		return 0;
	}
	slash = strchr(s, '/');
	end = slash != NULL ? slash : s + strlen(s);
	start = s;
	if (*s == '[') {
		if (end - s < 2 || end[-1] != ']') {
			*why = "bad IPv6 address";
			return -1;
		}
		start = s + 1;
		end--;
	}
	if (memchr(start, '%', (size_t)(end - start)) != NULL) {
		*why = "IPv6 scope ids (%ifname) are not supported";
		return -1;
	}
	if (addr_copy_literal(lit, sizeof(lit), start, (size_t)(end - start)) ==
	    -1) {
		*why = "bad network address";
		return -1;
	}
	if (start == s && inet_pton(AF_INET, lit, n.bytes) == 1) {
		n.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, lit, n.bytes) == 1) {
		n.family = AF_INET6;
		max = 128;
	} else {
		*why = start != s ? "bad IPv6 address" : "bad network address";
		return -1;
	}
	prefix = max;
	if (slash != NULL &&
	    addr_parse_prefix(slash + 1, max, &prefix, why) == -1)
		return -1;
	if (addr_host_bits_set(n.bytes, max / 8, prefix)) {
		*why = "host bits set below the prefix length "
		    "(write the network address, e.g. 192.0.2.0/24)";
		return -1;
	}
	n.prefix = prefix;
	if (n.family == AF_INET6 && prefix >= 96 &&
	    memcmp(n.bytes, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		n.family = AF_INET;
		memmove(n.bytes, n.bytes + 12, 4);
		memset(n.bytes + 4, 0, 12);
		n.prefix = prefix - 96;
	}
	*net = n;
	return 0;
}

/*
 * The address bytes of sa as matched: an IPv4-mapped IPv6 address yields
 * its IPv4 address. Returns the family, or AF_UNSPEC if not an IP one.
 */
static int
addr_match_bytes(const struct sockaddr *sa, const uint8_t **bytes)
{
	const struct sockaddr_in6 *sin6;

	if (sa == NULL)
		return AF_UNSPEC;
	switch (sa->sa_family) {
	case AF_INET:
		*bytes = (const uint8_t *)
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		return AF_INET;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		*bytes = sin6->sin6_addr.s6_addr;
		if (memcmp(*bytes, v4mapped_prefix,
		    sizeof(v4mapped_prefix)) == 0) {
			*bytes += 12;
			return AF_INET;
		}
		return AF_INET6;
	default:
		return AF_UNSPEC;
	}
}

/*
 * Whether sa lies in net. "any" (AF_UNSPEC) matches every AF_INET and
 * AF_INET6 address but no other family; a NULL net or sa matches nothing.
 */
int
addr_net_contains(const struct addr_net *net, const struct sockaddr *sa)
{
	const uint8_t *bytes = NULL;
	int family;

	if (net == NULL)
		return 0;
	family = addr_match_bytes(sa, &bytes);
	if (family == AF_UNSPEC)
		return 0;
	if (net->family == AF_UNSPEC)
		return 1;
	if (family != net->family)
		return 0;
	if (net->prefix > (family == AF_INET ? 32u : 128u))
		return 0;
	return addr_prefix_equal(bytes, net->bytes, net->prefix);
}

/*
 * The address as text. A nonzero IPv6 scope id is shown as "%N", its
 * number: the name would need an ioctl. Returns -1 for other families.
 */
static int
addr_host_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6;
	size_t n;

	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		if (inet_ntop(AF_INET, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, buf, (socklen_t)len) == NULL)
			return -1;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	sin6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len) == NULL)
		return -1;
	if (sin6->sin6_scope_id != 0) {
		n = strlen(buf);
		snprintf(buf + n, len - n, "%%%u",
		    (unsigned int)sin6->sin6_scope_id);
	}
	return 0;
}

/*
 * Writes "1.2.3.4:80" or "[2001:db8::1]:80" into buf, "?" for another
 * family; buf of ADDR_STRLEN always suffices, a shorter one truncates.
 */
char *
addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	if (len == 0)
		return buf;
	if (addr_host_text(sa, host, sizeof(host)) == -1)
		snprintf(buf, len, "?");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, addr_port(sa));
	else
		snprintf(buf, len, "%s:%u", host, addr_port(sa));
	return buf;
}

/* The address alone ("2001:db8::1"), "?" for another family. */
char *
addr_format_host(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	if (len == 0)
		return buf;
	if (addr_host_text(sa, host, sizeof(host)) == -1)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s", host);
	return buf;
}

/* "192.0.2.0/24", "2001:db8::/32", "any" for AF_UNSPEC, else "?". */
char *
addr_format_net(const struct addr_net *net, char *buf, size_t len)
{
	char host[ADDR_STRLEN];

	if (len == 0)
		return buf;
	if (net == NULL)
		snprintf(buf, len, "?");
	else if (net->family == AF_UNSPEC)
		snprintf(buf, len, "any");
	else if ((net->family != AF_INET && net->family != AF_INET6) ||
	    inet_ntop(net->family, net->bytes, host, sizeof(host)) == NULL)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s/%u", host, net->prefix);
	return buf;
}

uint16_t
addr_port(const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)sa)
		    ->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_port);
	return 0;
}

/* Sets the port of an AF_INET/AF_INET6 address; others are left alone. */
void
addr_set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)(void *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)sa)->sin6_port = htons(port);
}

socklen_t
addr_len(const struct sockaddr *sa)
{
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

/*
 * Equality of family, address (and IPv6 scope id) and, if ports, port.
 * 192.0.2.1 and ::ffff:192.0.2.1 differ: they are different sockets.
 * Non-IP families are never equal.
 */
int
addr_equal(const struct sockaddr *a, const struct sockaddr *b, int ports)
{
	const struct sockaddr_in *a4, *b4;
	const struct sockaddr_in6 *a6, *b6;

	if (a == NULL || b == NULL || a->sa_family != b->sa_family)
		return 0;
	if (ports && addr_port(a) != addr_port(b))
		return 0;
	switch (a->sa_family) {
	case AF_INET:
		a4 = (const struct sockaddr_in *)(const void *)a;
		b4 = (const struct sockaddr_in *)(const void *)b;
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		a6 = (const struct sockaddr_in6 *)(const void *)a;
		b6 = (const struct sockaddr_in6 *)(const void *)b;
		return memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0 &&
		    a6->sin6_scope_id == b6->sin6_scope_id;
	default:
		return 0;
	}
}

int
addr_is_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *sin6;
	const uint8_t *bytes = NULL;

	switch (addr_match_bytes(sa, &bytes)) {
	case AF_INET:
		return bytes[0] == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	default:
		return 0;
	}
}

int
addr_is_unspecified(const struct sockaddr *sa)
{
	static const uint8_t		zero[16];
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	switch (sa != NULL ? sa->sa_family : AF_UNSPEC) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return sin->sin_addr.s_addr == INADDR_ANY;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return memcmp(&sin6->sin6_addr, zero, sizeof(zero)) == 0;
	default:
		return 0;
	}
}

void
addr_unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;
	struct sockaddr_in	 sin;

	if (ss->ss_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
}

int
addr_source_key(const struct sockaddr *sa, uint8_t key[ADDR_SOURCE_KEYLEN])
{
	const struct sockaddr_in6	*s6;

	memset(key, 0, ADDR_SOURCE_KEYLEN);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)sa;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		key[0] = 4;
		memcpy(key + 1, &s6->sin6_addr.s6_addr[12], 4);
		return 0;
	}
	key[0] = 6;
	memcpy(key + 1, s6->sin6_addr.s6_addr, 8);
	return 0;
}
