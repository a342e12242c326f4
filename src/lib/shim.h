/*
 * shim.h - private header of libsocks64, the RFC 3089 "Socks Lib".
 *
 * A table of contents: one banner per source file. Everything here has
 * hidden visibility (the Makefile builds src/lib with
 * -fvisibility=hidden); only the interposed libc functions and the
 * public API of include/socks64.h are exported, by the version script.
 */
#ifndef SOCKS64_SHIM_H
#define SOCKS64_SHIM_H

#include <netdb.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"

/* ---------------------------------------------------------------- */
/* real.c: the real libc functions behind our interposers             */

/*
 * The next definition of symbol after this library (dlsym RTLD_NEXT),
 * or NULL if there is none or it resolves back into this library (a
 * second copy of the shim preloaded, or linked in as well). Each hook
 * file caches its own pointers under pthread_once, lazily, because
 * another library's constructor may call a hook before ours ran.
 */
void	*real_symbol(const char *symbol);

/* ---------------------------------------------------------------- */
/* config.c: /etc/socks64.conf and the SOCKS64_* environment          */

#define SHIM_CONF_PATH		"/etc/socks64.conf"
#define SHIM_DEFAULT_PORT	1080
#define SHIM_DEFAULT_TIMEOUT_MS	10000
/* Class E: never routed, yet public to browsers; see libsocks64(3). */
#define SHIM_DEFAULT_FAKE_V4	"240.0.0.0/4"
/* RFC 8215 local-use IPv4/IPv6 translation prefix. */
#define SHIM_DEFAULT_FAKE_V6	"64:ff9b:1::/48"

enum resolve_mode {
	RESOLVE_DELEGATE = 0,	/* every name not local is delegated */
	RESOLVE_LOCAL_FIRST,	/* resolve; delegate only if no address */
};

struct shim_conf {
	int			 enabled;	/* 0: no gateway: change nothing */
	struct sockaddr_storage	 gateway;	/* first gateway */
	socklen_t		 gateway_len;	/* 0 until resolved */
	char			 gateway_name[256]; /* if given by name */
	uint16_t		 gateway_port;	/* host order */
	char			 user[256];	/* "": no authentication */
	char			 password[256];
	int			 debug;
	enum resolve_mode	 mode;
	struct addr_net		 fake_v4;	/* SHIM_DEFAULT_FAKE_V4 */
	struct addr_net		 fake_v6;	/* SHIM_DEFAULT_FAKE_V6 */
	char			**local_suffixes; /* resolved locally */
	size_t			 nlocal_suffixes;
	struct addr_net		*direct;	/* real nets reached directly */
	size_t			 ndirect;	/* (loopback, own nets implied) */
	unsigned int		 timeout_ms;	/* whole SOCKS exchange */
};

/*
 * The configuration, loaded once on first use (never NULL, immutable
 * afterwards). A call made while the same thread is loading it (the
 * real getaddrinfo reaching a hook) gets a disabled configuration.
 */
const struct shim_conf *shim_conf(void);

/*
 * The pieces of shim_conf(), apart so they can be tested:
 * shim_conf_defaults fills c with the built-in defaults (disabled);
 * shim_conf_parse applies the directives in buf (file names it in the
 * messages) and returns the number of errors, each recorded in e;
 * shim_conf_env applies the SOCKS64_* overrides that getenv_fn gives
 * (NULL: none, as in a setuid program). shim_conf_release frees what
 * the parser allocated. None of them does I/O or name look-ups.
 */
struct conf_errors;
void	shim_conf_defaults(struct shim_conf *c);
int	shim_conf_parse(struct shim_conf *c, const char *buf, size_t len,
	    struct conf_errors *e);
int	shim_conf_env(struct shim_conf *c, char *(*getenv_fn)(const char *),
	    struct conf_errors *e);
void	shim_conf_release(struct shim_conf *c);
/*
 * Writes "socks64: " and the formatted message as one line on stderr
 * with a single write(2), keeping errno (no stdio: the program's
 * buffers are not ours). shim_debug writes only when debug is on.
 */
void	shim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	shim_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* ---------------------------------------------------------------- */
/* fakeip.c: the fake address pool and the fake -> name table         */

/*
 * The fake address for name in family (AF_INET or AF_INET6): the same
 * name always gets the same address in a process, derived from a hash
 * of the name so that it is also the same across processes where the
 * range allows. Returns 0, or -1 with errno ENOSPC when the range is
 * exhausted (logged once). sa must hold a sockaddr_in6; port is 0.
 */
int	fakeip_assign(const char *name, int family, struct sockaddr *sa,
	    socklen_t *salen);
/*
 * If sa is a fake address handed out by this process, copies its name
 * into name (size len) and returns 1; returns 0 if it is not one. The
 * "not ours" answer is made with integer compares, before any lock.
 */
int	fakeip_lookup(const struct sockaddr *sa, char *name, size_t len);
/* Whether sa lies in one of the fake ranges at all (no lock). */
int	fakeip_in_range(const struct sockaddr *sa);

/* ---------------------------------------------------------------- */
/* delegate.c: which names are delegated to the gateway               */

/*
 * 1 if name is to be delegated (not localhost, not in /etc/hosts, not
 * under a local suffix, not a literal of a family this host has), 0 if
 * it is to be resolved by the real resolver.
 */
int	delegate_name(const char *name, int family);

/* ---------------------------------------------------------------- */
/* socks.c: the SOCKS5 client exchange over a connected socket        */

/*
 * Runs greeting, optional RFC 1929 authentication and a CONNECT to dst
 * on fd (connected or still connecting to the gateway), within
 * timeout_ms in all, whether fd is blocking or not (MSG_DONTWAIT and
 * poll; its flags are left alone). Reads the reply exactly, never a byte
 * of the destination's data. Returns 0, or -1 with errno mapped from the
 * reply code (socks5_errno_from_rep), ETIMEDOUT, EACCES (authentication
 * refused) or ECONNREFUSED (the gateway closed or spoke no SOCKS5). The
 * bound address from the reply is stored in *bnd when bnd is not NULL.
 */
struct socks5_addr;
int	socks_connect(int fd, const struct shim_conf *conf,
	    const struct socks5_addr *dst, struct socks5_addr *bnd,
	    unsigned int timeout_ms);

#endif /* SOCKS64_SHIM_H */
