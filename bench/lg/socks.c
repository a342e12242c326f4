/*
 * socks.c - where loadgen goes (-x, -t) and its blocking SOCKS5 client,
 * made of the project's codec so every proxy gets the same bytes.
 */
#include "lg.h"

/* ------------------------------------------------------------------ */
/* targets and the blocking SOCKS5 client                              */

/* Parses -x and -t into tg; a -t name is resolved only if needed. */
void
lg_target_parse(struct lg_target *tg, const char *proxy, const char *dest,
    int resolve)
{
	struct addrinfo	 hints, *res;
	const char	*why, *colon;
	char		 host[256];
	size_t		 hl;
	int		 rc;

	memset(tg, 0, sizeof(*tg));
	if (proxy != NULL) {
		if (addr_parse_endpoint(proxy, -1, &tg->proxy, &tg->proxylen,
		    &why) == -1) {
			fprintf(stderr, "loadgen: -x %s: %s\n", proxy, why);
			exit(2);
		}
		tg->proxied = 1;
	}
	if (dest == NULL)
		lg_usage();
	if (addr_parse_endpoint(dest, -1, &tg->direct, &tg->directlen,
	    &why) == 0) {
		if (socks5_addr_from_sockaddr(&tg->dst,
		    (struct sockaddr *)&tg->direct) == -1)
			lg_die("socks5_addr_from_sockaddr");
		tg->dst.port = addr_port((struct sockaddr *)&tg->direct);
		return;
	}
	if ((colon = strrchr(dest, ':')) == NULL ||
	    (hl = (size_t)(colon - dest)) == 0 || hl >= sizeof(host)) {
		fprintf(stderr, "loadgen: -t %s: want ADDR:PORT or NAME:PORT\n",
		    dest);
		exit(2);
	}
	memcpy(host, dest, hl);
	host[hl] = '\0';
	tg->dst.atyp = SOCKS5_ATYP_DOMAIN;
	memcpy(tg->dst.name, host, hl + 1);
	tg->dst.port = (uint16_t)atoi(colon + 1);
	if (tg->proxied || !resolve)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(rc));
		exit(1);
	}
	memcpy(&tg->direct, res->ai_addr, res->ai_addrlen);
	tg->directlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* Where the TCP connection goes: the proxy, or the destination. */
const struct sockaddr *
lg_first_hop(const struct lg_target *tg, socklen_t *len)
{
	*len = tg->proxied ? tg->proxylen : tg->directlen;
	return (const struct sockaddr *)(tg->proxied ? &tg->proxy :
	    &tg->direct);
}

int
lg_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
lg_read_full(int fd, void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Greeting (no authentication), CONNECT, reply, on a blocking socket,
 * one message at a time as most clients do (and as microsocks needs).
 * The reply is read exactly: 4 bytes, then as many as its ATYP says.
 */
static int
lg_socks_blocking(int fd, const struct socks5_addr *dst)
{
	static const uint8_t	method_none = SOCKS5_METHOD_NONE;
	struct socks5_reply	rep;
	uint8_t			buf[SOCKS5_REQUEST_MAX], method;
	size_t			used, have, need;
	int			len;

	len = socks5_encode_greeting(buf, sizeof(buf), &method_none, 1);
	if (lg_write_full(fd, buf, (size_t)len) == -1 ||
	    lg_read_full(fd, buf, 2) == -1 ||
	    socks5_parse_method_choice(buf, 2, &method, &used) != SOCKS5_OK ||
	    method != SOCKS5_METHOD_NONE)
		return -1;
	if ((len = socks5_encode_request(buf, sizeof(buf), SOCKS5_CMD_CONNECT,
	    dst)) < 0 || lg_write_full(fd, buf, (size_t)len) == -1 ||
	    lg_read_full(fd, buf, 5) == -1)
		return -1;
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		need = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		need = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAIN:
		need = 4 + 1 + buf[4] + 2;
		break;
	default:
		return -1;
	}
	have = 5;
	if (lg_read_full(fd, buf + have, need - have) == -1 ||
	    socks5_parse_reply(buf, need, &rep, &used) != SOCKS5_OK ||
	    used != need || rep.rep != SOCKS5_REP_SUCCEEDED)
		return -1;
	return 0;
}

/* A blocking connection to the destination, through the proxy if any. */
int
lg_open_blocking(const struct lg_target *tg, unsigned int timeout_s)
{
	const struct sockaddr	*sa;
	struct timeval		 tv = { (time_t)timeout_s, 0 };
	socklen_t		 len;
	int			 fd;

	sa = lg_first_hop(tg, &len);
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* No read or write may outlast the run's own limit. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, sa, len) == -1 ||
	    (tg->proxied && lg_socks_blocking(fd, &tg->dst) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}
