/*
 * api.c - the public API of include/socks64.h: thin wrappers over the
 * shim's internals, for programs that link the library in and want to
 * pick the config file, ask whether it is active, or connect by name.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "shim.h"
#include "socks5.h"
#include "socks64.h"

SHIM_EXPORT const char *
socks64_version(void)
{
	return SOCKS64_VERSION;
}

SHIM_EXPORT int
socks64_init(const char *conf_path)
{
	return shim_conf_set_path(conf_path);
}

SHIM_EXPORT int
socks64_enabled(void)
{
	return shim_conf()->enabled;
}

SHIM_EXPORT int
socks64_connect(int fd, const char *host, unsigned short port)
{
	const struct shim_conf *c = shim_conf();
	struct socks5_addr dst;
	size_t n;

	if (host == NULL || (n = strlen(host)) == 0 || n > 255) {
		errno = EINVAL;
		return -1;
	}
	if (!c->enabled) {
		errno = ENETUNREACH;
		return -1;
	}
	memset(&dst, 0, sizeof(dst));
	dst.port = port;
	if (inet_pton(AF_INET, host, dst.ip) == 1)
		dst.atyp = SOCKS5_ATYP_IPV4;
	else if (inet_pton(AF_INET6, host, dst.ip) == 1)
		dst.atyp = SOCKS5_ATYP_IPV6;
	else {
		dst.atyp = SOCKS5_ATYP_DOMAIN;
		memcpy(dst.name, host, n + 1);
	}
	return connect_gateway(fd, c, &dst);
}

SHIM_EXPORT int
socks64_fake_name(const struct sockaddr *sa, char *name, size_t len)
{
	if (sa == NULL || name == NULL || len == 0 ||
	    !shim_conf()->enabled || !fakeip_in_range(sa))
		return 0;
	return fakeip_lookup(sa, name, len);
}
