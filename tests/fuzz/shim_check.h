/*
 * shim_check.h - the invariants of a struct shim_conf, whatever the
 * config file and environment held; shared by fuzz_shim_conf.c and
 * fuzz_shim_env.c. gateway lines are alternatives (paths), each a chain
 * of hops; the gateway* fields mirror the first hop of the first line.
 */
#ifndef SOCKS64_FUZZ_SHIM_CHECK_H
#define SOCKS64_FUZZ_SHIM_CHECK_H

#include "fuzz.h"
#include "lib/shim.h"

/*
 * One gateway as this host reaches it: a literal of its family's length
 * and no name, or a name still to resolve with no address; a port.
 */
static inline void
fuzz_check_shim_first_hop(const struct sockaddr_storage *ss,
    socklen_t len, const char *name, size_t namecap, uint16_t port)
{
	static const struct sockaddr_storage zero;
	const struct sockaddr *sa = (const struct sockaddr *)ss;

	FUZZ_CHECK(strnlen(name, namecap) < namecap);
	FUZZ_CHECK(port > 0);
	if (len > 0) {
		FUZZ_CHECK(len == addr_len(sa));
		FUZZ_CHECK(addr_port(sa) == port);
		FUZZ_CHECK(name[0] == '\0');
	} else {
		FUZZ_CHECK(name[0] != '\0');
		FUZZ_CHECK(memcmp(ss, &zero, sizeof(zero)) == 0);
	}
}

/*
 * A gateway line: its first hop, then at most SHIM_MAX_HOPS - 1 later
 * hops, each an address the codec will put in a CONNECT as it is.
 */
static inline void
fuzz_check_shim_path(const struct shim_path *p)
{
	uint8_t msg[SOCKS5_REQUEST_MAX];
	size_t i;

	fuzz_check_shim_first_hop(&p->addr, p->addr_len, p->name,
	    sizeof(p->name), p->port);
	FUZZ_CHECK(p->nhops <= SHIM_MAX_HOPS - 1);
	for (i = 0; i < p->nhops; i++) {
		fuzz_check_socks5_addr(&p->hops[i]);
		FUZZ_CHECK(p->hops[i].port > 0);
		FUZZ_CHECK(socks5_encode_request(msg, sizeof(msg),
		    SOCKS5_CMD_CONNECT, &p->hops[i]) > 0);
	}
}

static inline void
fuzz_check_shim_conf(const struct shim_conf *c)
{
	size_t i, n;

	FUZZ_CHECK(c->enabled == (c->npaths > 0));
	FUZZ_CHECK(c->npaths <= SHIM_MAX_PATHS);
	FUZZ_CHECK(c->npaths == 0 || c->paths != NULL);
	for (i = 0; i < c->npaths; i++)
		fuzz_check_shim_path(&c->paths[i]);
	/* gateway* repeat the first hop of paths[0] (shim.h). */
	if (c->npaths > 0) {
		fuzz_check_shim_first_hop(&c->gateway, c->gateway_len,
		    c->gateway_name, sizeof(c->gateway_name),
		    c->gateway_port);
		FUZZ_CHECK(c->gateway_len == c->paths[0].addr_len);
		FUZZ_CHECK(memcmp(&c->gateway, &c->paths[0].addr,
		    sizeof(c->gateway)) == 0);
		FUZZ_CHECK(strcmp(c->gateway_name, c->paths[0].name) == 0);
		FUZZ_CHECK(c->gateway_port == c->paths[0].port);
	}
	FUZZ_CHECK(strnlen(c->user, sizeof(c->user)) < sizeof(c->user));
	FUZZ_CHECK(strnlen(c->password, sizeof(c->password)) <
	    sizeof(c->password));
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
