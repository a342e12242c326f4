/*
 * shim_check.h - the invariants of a struct shim_conf, whatever the
 * config file and environment held; shared by fuzz_shim_conf.c and
 * fuzz_shim_env.c.
 */
#ifndef SOCKS64_FUZZ_SHIM_CHECK_H
#define SOCKS64_FUZZ_SHIM_CHECK_H

#include "fuzz.h"
#include "lib/shim.h"

static inline void
fuzz_check_shim_conf(const struct shim_conf *c)
{
	size_t i, n;

	FUZZ_CHECK(c->enabled == 0 || c->enabled == 1);
	FUZZ_CHECK(strnlen(c->gateway_name, sizeof(c->gateway_name)) <
	    sizeof(c->gateway_name));
	FUZZ_CHECK(strnlen(c->user, sizeof(c->user)) < sizeof(c->user));
	FUZZ_CHECK(strnlen(c->password, sizeof(c->password)) <
	    sizeof(c->password));
	if (c->enabled && c->gateway_len > 0) {
		const struct sockaddr *sa =
		    (const struct sockaddr *)&c->gateway;

		FUZZ_CHECK(c->gateway_len == addr_len(sa));
		FUZZ_CHECK(addr_port(sa) == c->gateway_port);
		FUZZ_CHECK(c->gateway_name[0] == '\0');
	} else if (c->enabled)
		FUZZ_CHECK(c->gateway_name[0] != '\0');
	if (c->enabled)
		FUZZ_CHECK(c->gateway_port > 0);
	FUZZ_CHECK(c->debug == 0 || c->debug == 1);
	FUZZ_CHECK(c->mode == RESOLVE_DELEGATE ||
	    c->mode == RESOLVE_LOCAL_FIRST);
	FUZZ_CHECK(c->fake_v4.family == AF_INET && c->fake_v4.prefix <= 29);
	FUZZ_CHECK(c->fake_v6.family == AF_INET6 &&
	    c->fake_v6.prefix <= 125);
	FUZZ_CHECK(c->nlocal_suffixes <= 256 && c->ndirect <= 256);
	for (i = 0; i < c->nlocal_suffixes; i++) {
		n = strlen(c->local_suffixes[i]);
		FUZZ_CHECK(n >= 2 && c->local_suffixes[i][0] == '.');
		FUZZ_CHECK(c->local_suffixes[i][n - 1] != '.');
	}
	for (i = 0; i < c->ndirect; i++)
		FUZZ_CHECK(c->direct[i].family == AF_INET ||
		    c->direct[i].family == AF_INET6 ||
		    c->direct[i].family == AF_UNSPEC);
	FUZZ_CHECK(c->timeout_ms >= 1 && c->timeout_ms <= 600000);
}

#endif /* SOCKS64_FUZZ_SHIM_CHECK_H */
