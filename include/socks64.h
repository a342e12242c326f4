/*
 * socks64.h - the public API of libsocks64, the RFC 3089 "Socks Lib".
 *
 * Two ways to socksify a program: preload the library (socks64-run, or
 * LD_PRELOAD=libsocks64.so), or link it in with -lsocks64 (pkg-config
 * socks64): the library's connect(), getaddrinfo() and friends then
 * take the place of libc's in that program, with the same behaviour and
 * no environment needed. Nothing here must be called for that; these
 * functions are for a program that wants to choose its configuration
 * file, ask whether a gateway is in use, or connect by name itself.
 * See libsocks64(3).
 */
#ifndef SOCKS64_H
#define SOCKS64_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SOCKS64_VERSION		"0.1.0"

/* The library's version, "0.1.0". */
const char	*socks64_version(void);

/*
 * Uses conf_path instead of /etc/socks64.conf (and SOCKS64_CONF). Must
 * come before the first name look-up or connect of the process: returns
 * 0, or -1 with errno EALREADY once the configuration has been loaded,
 * ENAMETOOLONG for a path too long. NULL restores the default.
 */
int		 socks64_init(const char *conf_path);

/* 1 if a gateway is configured (the library acts), 0 if not. */
int		 socks64_enabled(void);

/*
 * Connects the TCP socket fd through the gateway to host:port, host a
 * name (sent to the gateway unresolved) or an IPv4/IPv6 literal. Blocks
 * within the configured timeout. Returns 0, or -1 with errno: the
 * gateway's reply mapped (EHOSTUNREACH, ECONNREFUSED, ETIMEDOUT, ...),
 * or ENETUNREACH when no gateway is configured.
 */
int		 socks64_connect(int fd, const char *host,
		    unsigned short port);

/*
 * If sa is a fake address this process handed out for a name, copies
 * the name into name (size len) and returns 1; otherwise returns 0.
 */
int		 socks64_fake_name(const struct sockaddr *sa, char *name,
		    size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SOCKS64_H */
