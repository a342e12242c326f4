/*
 * harness_cmds.c - the harness additions of harness_cmds.h: SOCKS5
 * requests with slow replies (BIND's second), the UDP request header on
 * real datagrams, and gatewayd run with a hosts file of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "harness_cmds.h"

int
hc_read_reply(int fd, struct socks5_reply *out, int timeout_ms)
{
	uint8_t			buf[SOCKS5_REQUEST_MAX];
	enum socks5_status	st = SOCKS5_NEED_MORE;
	size_t			len = 0, used;
	int64_t			end = h_now_ms() + timeout_ms;

	while (len < sizeof(buf) && st == SOCKS5_NEED_MORE) {
		int64_t left = end - h_now_ms();

		if (left <= 0 || h_recv_n(fd, buf + len, 1, (int)left) != 1)
			return -1;
		len++;
		st = socks5_parse_reply(buf, len, out, &used);
	}
	return st == SOCKS5_OK ? out->rep : -1;
}

int
hc_request(const char *host, uint16_t port, const char *user,
    const char *pass, uint8_t cmd, const struct socks5_addr *dst,
    struct socks5_reply *out, int *fd)
{
	uint8_t	method = user != NULL ? SOCKS5_METHOD_USERPASS :
		    SOCKS5_METHOD_NONE;
	uint8_t	buf[SOCKS5_REQUEST_MAX];
	int	len, rep;

	if ((*fd = h_connect(host, port, H_IO_MS)) == -1)
		return -1;
	if (h_socks_greet(*fd, &method, 1) != method ||
	    (user != NULL && h_socks_userpass(*fd, user, pass) != 0) ||
	    (len = socks5_encode_request(buf, sizeof(buf), cmd, dst)) < 0 ||
	    h_send_all(*fd, buf, (size_t)len) == -1 ||
	    (rep = hc_read_reply(*fd, out, H_IO_MS)) == -1) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return rep;
}

char *
hc_host(const struct socks5_addr *a, char *buf, size_t len)
{
	buf[0] = '\0';
	if (a->atyp == SOCKS5_ATYP_IPV4)
		inet_ntop(AF_INET, a->ip, buf, (socklen_t)len);
	else if (a->atyp == SOCKS5_ATYP_IPV6)
		inet_ntop(AF_INET6, a->ip, buf, (socklen_t)len);
	return buf;
}

int
hc_bnd(const struct socks5_addr *bnd, const char *gw_host,
    struct sockaddr_storage *out, socklen_t *len)
{
	unsigned int	 slen = sizeof(*out);
	const char	*why;
	static const uint8_t zero[16];

	if ((bnd->atyp == SOCKS5_ATYP_IPV4 && memcmp(bnd->ip, zero, 4) == 0) ||
	    (bnd->atyp == SOCKS5_ATYP_IPV6 && memcmp(bnd->ip, zero, 16) == 0))
		return addr_parse_endpoint(gw_host, bnd->port, out, len, &why);
	if (socks5_addr_to_sockaddr(bnd, (struct sockaddr *)out, &slen) == -1)
		return -1;
	*len = (socklen_t)slen;
	return 0;
}

int
hc_udp_socket(const char *host)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*why;
	int			 fd;

	if (addr_parse_endpoint(host, 0, &ss, &len, &why) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

uint16_t
hc_local_port(int fd)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return 0;
	return addr_port((struct sockaddr *)&ss);
}

int
hc_udp_send(int fd, const struct sockaddr_storage *relay, uint8_t frag,
    const struct socks5_addr *dst, const void *payload, size_t len)
{
	uint8_t	buf[SOCKS5_UDP_HEADER_MAX + 2048];
	int	n;

	if (len > 2048 ||
	    (n = socks5_encode_udp_header(buf, sizeof(buf), dst)) < 0)
		return -1;
	buf[2] = frag;
	memcpy(buf + n, payload, len);
	if (sendto(fd, buf, (size_t)n + len, 0, (const struct sockaddr *)relay,
	    addr_len((const struct sockaddr *)relay)) != (ssize_t)n +
	    (ssize_t)len)
		return -1;
	return 0;
}

ssize_t
hc_udp_recv(int fd, struct socks5_addr *from, char *buf, size_t cap,
    int timeout_ms)
{
	struct socks5_udp_header	h;
	struct pollfd			pfd = { .fd = fd, .events = POLLIN };
	uint8_t				dgram[SOCKS5_UDP_HEADER_MAX + 2048];
	size_t				used;
	ssize_t				n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	if ((n = recv(fd, dgram, sizeof(dgram), 0)) <= 0)
		return -1;
	if (socks5_parse_udp_header(dgram, (size_t)n, &h, &used) != SOCKS5_OK)
		return -1;
	n -= (ssize_t)used;
	if ((size_t)n >= cap)
		n = (ssize_t)cap - 1;
	memcpy(buf, dgram + used, (size_t)n);
	buf[n] = '\0';
	*from = h.dst;
	return n;
}

int
hc_gw_start_hosts(struct h_gw *gw, const char *hosts_text, const char *conf,
    ...)
{
	static unsigned int	 seq;
	struct h_spawn_opts	 o = { .listen_fd = -1 };
	char			 nsrun[PATH_MAX], bin[PATH_MAX];
	char			 hosts[PATH_MAX];
	char			 name[64], ep[64], *argv[32];
	const char		*a;
	va_list			 ap;
	int64_t			 end;
	int			 n = 0;

	seq++;
	snprintf(name, sizeof(name), "hosts-%u", seq);
	if (h_write_file(h_tmp(hosts, sizeof(hosts), name), "%s",
	    hosts_text) == -1)
		return -1;
	if ((gw->port = h_free_port("127.0.0.1")) == 0)
		return -1;
	snprintf(name, sizeof(name), "gatewayd-ns-%u.log", seq);
	h_tmp(gw->log, sizeof(gw->log), name);
	snprintf(ep, sizeof(ep), "127.0.0.1:%u", gw->port);
	argv[n++] = h_bin(nsrun, sizeof(nsrun), "tools/nsrun");
	argv[n++] = hosts;
	argv[n++] = h_bin(bin, sizeof(bin), "gatewayd");
	argv[n++] = "-d";
	argv[n++] = "-c";
	argv[n++] = (char *)conf;
	argv[n++] = "-l";
	argv[n++] = ep;
	va_start(ap, conf);
	while (n < 31 && (a = va_arg(ap, const char *)) != NULL)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	o.out_path = o.err_path = gw->log;
	if (h_spawn(&gw->proc, argv, &o) == -1)
		return -1;
	/* nsrun execs gatewayd: the PID we hold is the daemon's. */
	end = h_now_ms() + H_START_MS;
	while (h_now_ms() < end && h_proc_alive(&gw->proc)) {
		if (h_listener_pid(gw->port) == gw->proc.pid) {
			h_sleep_ms(100);
			gw->fd_base = h_fd_count(gw->proc.pid);
			return 0;
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "harness: gatewayd under nsrun did not start:\n");
	h_log_dump(gw->log);
	h_proc_stop(&gw->proc);
	return -1;
}

char *
hc_conf(char *buf, size_t len, const char *name, const char *fmt, ...)
{
	char	text[4096];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	h_tmp(buf, len, name);
	if (h_write_file(buf, "%s", text) == -1)
		buf[0] = '\0';
	return buf;
}
