/*
 * addr.h - socket address helpers shared by gatewayd and libsocks64.
 *
 * Parsing and printing of "ADDR:PORT" / "[V6]:PORT" endpoints and
 * "NET/LEN" networks, and matching an address against a network. All
 * pure: no name look-ups, no descriptors, no logging.
 */
#ifndef SOCKS64_ADDR_H
#define SOCKS64_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Enough for "[ffff:...:ffff%4294967295]:65535" (the scope as a number). */
#define ADDR_STRLEN	80

/* An IPv4 or IPv6 network; an IPv4 address is never an IPv4-mapped one. */
struct addr_net {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		bytes[16];	/* network order, host bits zero */
	unsigned int	prefix;		/* 0-32 or 0-128 */
};

/*
 * Parses "1.2.3.4:80", "[2001:db8::1]:80" (and, with default_port >= 0,
 * the same without ":PORT", or a bare "2001:db8::1") into ss, zeroed
 * first. Only literals: never a name look-up. A written port is 1-65535;
 * a default_port of 0 is allowed (the caller's "any port"). An IPv6
 * address with a port needs brackets, since "2001:db8::1:80" is itself
 * an address. Scope ids ("[fe80::1%eth0]") are refused: naming an
 * interface is I/O. An IPv4-mapped literal stays AF_INET6.
 * Returns 0, or -1 with *why (may be NULL) set to a static English
 * reason such as "missing port", "bad port", "bad IPv4 address",
 * "bad IPv6 address" or "IPv6 address must be in brackets".
 */
int	addr_parse_endpoint(const char *s, int default_port,
	    struct sockaddr_storage *ss, socklen_t *sslen, const char **why);

/*
 * Parses "192.0.2.0/24", "2001:db8::/32", a bare address (a host route,
 * /32 or /128), "[2001:db8::]/32" or "any" (matches both families: family
 * AF_UNSPEC, prefix 0). Host bits set below the prefix are an error, so a
 * typo cannot widen a rule silently. An IPv4-mapped network of prefix 96
 * or more ("::ffff:192.0.2.0/120") is stored as the IPv4 network it
 * names. Returns 0, or -1 with *why (may be NULL) a static reason.
 */
int	addr_parse_net(const char *s, struct addr_net *net, const char **why);

/*
 * Whether sa lies in net. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is matched as the IPv4 address it carries, so no IPv6 network, not even
 * ::/0, contains it. "any" contains every AF_INET/AF_INET6 address; no
 * network contains another family or NULL.
 */
int	addr_net_contains(const struct addr_net *net,
	    const struct sockaddr *sa);

/*
 * Writes "1.2.3.4:80" or "[2001:db8::1]:80" (a nonzero scope id as
 * "%N") into buf, "?" for another family; truncates to len; returns buf.
 */
char	*addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* The address alone, without port or brackets ("?" for another family). */
char	*addr_format_host(const struct sockaddr *sa, char *buf, size_t len);
/* "192.0.2.0/24", "any" for AF_UNSPEC; returns buf. */
char	*addr_format_net(const struct addr_net *net, char *buf, size_t len);

/* The port of an AF_INET/AF_INET6 address in host order, or 0. */
uint16_t addr_port(const struct sockaddr *sa);
void	addr_set_port(struct sockaddr *sa, uint16_t port);
/* sizeof the sockaddr for its family, or 0. */
socklen_t addr_len(const struct sockaddr *sa);
/*
 * Whether two addresses are equal in family, address (and scope id) and,
 * if ports, port. 192.0.2.1 and ::ffff:192.0.2.1 are not equal.
 */
int	addr_equal(const struct sockaddr *a, const struct sockaddr *b,
	    int ports);
/* Whether sa is loopback (127/8, ::1, or ::ffff:127.x.x.x). */
int	addr_is_loopback(const struct sockaddr *sa);
/*
 * Whether sa is the unspecified address, 0.0.0.0 or :: (any port);
 * ::ffff:0.0.0.0 is not (addr_unmap() it first to have it count).
 */
int	addr_is_unspecified(const struct sockaddr *sa);
/*
 * Makes an IPv4-mapped IPv6 address (::ffff:a.b.c.d) the IPv4 address
 * it carries, port kept: it is IPv4 traffic and is dialed and matched
 * so. Any other address is left as it is.
 */
void	addr_unmap(struct sockaddr_storage *ss);

/* The length of an addr_source_key: the family, then 4 or 8 bytes. */
#define ADDR_SOURCE_KEYLEN	9
/*
 * Fills key with what identifies one source host: an IPv4 address, or
 * an IPv6 /64, since one host may use any address of its /64; an
 * IPv4-mapped address is its IPv4 address. The unused bytes are zero,
 * so keys compare with memcmp. Returns 0, or -1 for another family.
 */
int	addr_source_key(const struct sockaddr *sa,
	    uint8_t key[ADDR_SOURCE_KEYLEN]);

#endif /* SOCKS64_ADDR_H */
