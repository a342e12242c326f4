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

/* Enough for "[ffff:...:255.255.255.255%ifname]:65535". */
#define ADDR_STRLEN	80

/* An IPv4 or IPv6 network; an IPv4 address is never an IPv4-mapped one. */
struct addr_net {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		bytes[16];	/* network order, host bits zero */
	unsigned int	prefix;		/* 0-32 or 0-128 */
};

/*
 * Parses "1.2.3.4:80", "[2001:db8::1]:80" (and, with default_port >= 0,
 * the same without ":PORT") into ss. Only literals: never a name look-up.
 * Returns 0, or -1 with *why set to a static English reason.
 */
int	addr_parse_endpoint(const char *s, int default_port,
	    struct sockaddr_storage *ss, socklen_t *sslen, const char **why);

/*
 * Parses "192.0.2.0/24", "2001:db8::/32", a bare address (a host route)
 * or "any" (matches both families: family AF_UNSPEC). Host bits set
 * below the prefix are an error, so a typo cannot widen a rule silently.
 */
int	addr_parse_net(const char *s, struct addr_net *net, const char **why);

/*
 * Whether sa lies in net. An IPv4-mapped IPv6 address (::ffff:a.b.c.d)
 * is matched as the IPv4 address it carries.
 */
int	addr_net_contains(const struct addr_net *net,
	    const struct sockaddr *sa);

/* Writes "1.2.3.4:80" or "[2001:db8::1]:80" into buf; returns buf. */
char	*addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* The address alone, without port or brackets. */
char	*addr_format_host(const struct sockaddr *sa, char *buf, size_t len);
/* "192.0.2.0/24"; returns buf. */
char	*addr_format_net(const struct addr_net *net, char *buf, size_t len);

/* The port of an AF_INET/AF_INET6 address in host order, or 0. */
uint16_t addr_port(const struct sockaddr *sa);
void	addr_set_port(struct sockaddr *sa, uint16_t port);
/* sizeof the sockaddr for its family, or 0. */
socklen_t addr_len(const struct sockaddr *sa);
/* Whether two addresses are equal in family, address and (if ports) port. */
int	addr_equal(const struct sockaddr *a, const struct sockaddr *b,
	    int ports);
/* Whether sa is loopback (127/8, ::1, or ::ffff:127.x.x.x). */
int	addr_is_loopback(const struct sockaddr *sa);

#endif /* SOCKS64_ADDR_H */
