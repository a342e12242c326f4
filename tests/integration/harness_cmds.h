/*
 * harness_cmds.h - additions to the integration harness (harness.h) for
 * the tests of BIND, UDP ASSOCIATE and chained gateways (it_bind.c,
 * it_udp.c, it_chain.c): requests whose replies take their time, UDP
 * datagrams with the RFC 1928 section 7 header, and a gatewayd that has
 * an /etc/hosts of its own (tests/tools/nsrun). Bounded like the rest.
 */
#ifndef SOCKS64_IT_HARNESS_CMDS_H
#define SOCKS64_IT_HARNESS_CMDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "harness.h"

/*
 * Reads one reply a byte at a time (nothing relayed after it is taken),
 * waiting up to timeout_ms. Returns the reply code, or -1.
 */
int	hc_read_reply(int fd, struct socks5_reply *out, int timeout_ms);
/*
 * Connects to the gateway at host:port, negotiates no authentication
 * (or user/pass when user is not NULL) and sends cmd for dst. Returns
 * the first reply's code (reply in *out) with the connection in *fd
 * (the caller closes it), or -1 with *fd -1.
 */
int	hc_request(const char *host, uint16_t port, const char *user,
	    const char *pass, uint8_t cmd, const struct socks5_addr *dst,
	    struct socks5_reply *out, int *fd);
/* The literal of an IPv4 or IPv6 socks5_addr ("" for a name). */
char	*hc_host(const struct socks5_addr *a, char *buf, size_t len);
/*
 * A reply's BND as a socket address; an unspecified address (0.0.0.0,
 * ::) stands for the gateway's own host, gw_host. 0 or -1.
 */
int	hc_bnd(const struct socks5_addr *bnd, const char *gw_host,
	    struct sockaddr_storage *out, socklen_t *len);

/* A UDP socket bound to host (a literal), any port. -1 on error. */
int	hc_udp_socket(const char *host);
/* The local port of a socket. */
uint16_t hc_local_port(int fd);
/*
 * Sends payload to dst through the relay: the UDP request header (with
 * FRAG frag) in front. 0 or -1.
 */
int	hc_udp_send(int fd, const struct sockaddr_storage *relay,
	    uint8_t frag, const struct socks5_addr *dst, const void *payload,
	    size_t len);
/*
 * Receives one datagram within timeout_ms and takes its header off.
 * Returns the payload length (payload in buf, NUL-terminated, source in
 * *from), or -1 on timeout or a bad header.
 */
ssize_t	hc_udp_recv(int fd, struct socks5_addr *from, char *buf, size_t cap,
	    int timeout_ms);

/*
 * Starts gatewayd -f -d -c conf -l 127.0.0.1:PORT extra... through
 * tools/nsrun, so it sees hosts_text as its /etc/hosts (nothing else
 * changes: same network namespace), and waits until it listens. Root
 * only (h_isolated()). Stop it with h_gw_stop(). Returns 0 or -1.
 */
int	hc_gw_start_hosts(struct h_gw *gw, const char *hosts_text,
	    const char *conf, ...) __attribute__((sentinel));

/* A config file in the temporary directory from text; its path in buf. */
char	*hc_conf(char *buf, size_t len, const char *name, const char *fmt,
	    ...) __attribute__((format(printf, 4, 5)));

#endif /* SOCKS64_IT_HARNESS_CMDS_H */
