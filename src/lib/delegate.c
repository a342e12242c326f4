/*
 * delegate.c - which names the shim answers with a fake address and
 * which it leaves to the real resolver (RFC 3089 section 3).
 *
 * Local: localhost and *.localhost, the names of /etc/hosts and the
 * host's own name, names under a configured local-suffix (and .local,
 * which is multicast DNS on the client's own link), reverse-map names
 * under .arpa, literals of a family the host has (hostfam.c), and
 * loopback, link-local or fake (our own) literals of any family.
 * Everything else is delegated: the gateway resolves it. Every check
 * here is a compare on data that is immutable once loaded, so the
 * non-delegated path of a hook takes no lock and allocates nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "shim.h"

static const char delegate_canary_name[] = "use-application-dns.net";

/* ------------------------------------------------------------------ */
/* families                                                             */

int
delegate_answer_families(int family, int flags, int have)
{
	/*
	 * A host with no address but loopback is treated as having both,
	 * as glibc's AI_ADDRCONFIG does: a gateway on loopback is then the
	 * only way out, and it takes either.
	 */
	if ((have & (HOSTFAM_V4 | HOSTFAM_V6)) == 0)
		have = HOSTFAM_V4 | HOSTFAM_V6;
	switch (family) {
	case AF_UNSPEC:
		return have & (HOSTFAM_V4 | HOSTFAM_V6);
	case AF_INET:
		return have & HOSTFAM_V4;
	case AF_INET6:
		if ((flags & AI_V4MAPPED) == 0 || !(have & HOSTFAM_V4))
			return have & HOSTFAM_V6;
		if (!(have & HOSTFAM_V6))
			return DELEGATE_ANSWER_MAPPED;
		return HOSTFAM_V6 |
		    ((flags & AI_ALL) ? DELEGATE_ANSWER_MAPPED : 0);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* names                                                                */

int
delegate_literal(const char *name)
{
	uint8_t bin[16];
	struct in_addr in;
	const char *p;

	/*
	 * glibc takes every inet_aton() form as an IPv4 literal ("127.1",
	 * "0x7f000001"), but only when nothing follows: inet_aton() alone
	 * would stop at a blank and accept "1.2.3.4 junk".
	 */
	for (p = name; *p != '\0'; p++)
		if (strchr("0123456789abcdefABCDEFxX.", *p) == NULL)
			break;
	if (*p == '\0' && p != name && inet_aton(name, &in) == 1)
		return AF_INET;
	if (strchr(name, ':') != NULL && inet_pton(AF_INET6, name, bin) == 1)
		return AF_INET6;
	return AF_UNSPEC;
}

/* Whether literal (of family) names this host or its link. */
static int
delegate_literal_here(const char *name, int family)
{
	struct in6_addr a6;
	struct in_addr a4;
	uint32_t v;

	if (family == AF_INET) {
		if (inet_aton(name, &a4) != 1)
			return 0;
		v = ntohl(a4.s_addr);
		return (v >> 24) == 127 || (v >> 24) == 0 ||
		    (v >> 16) == 0xa9fe;
	}
	if (inet_pton(AF_INET6, name, &a6) != 1)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		v = (uint32_t)a6.s6_addr[12] << 24 |
		    (uint32_t)a6.s6_addr[13] << 16;
		return (v >> 24) == 127 || (v >> 24) == 0 ||
		    (v >> 16) == 0xa9fe;
	}
	return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) ||
	    IN6_IS_ADDR_LINKLOCAL(&a6);
}

/*
 * Whether a literal is one of our own fakes (a program that printed
 * one and resolves it again): it already stands for its name, and
 * delegating its text would send the gateway to the fake address.
 */
static int
delegate_literal_fake(const char *name, int family)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&sin6;

	memset(&sin6, 0, sizeof(sin6));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		if (inet_aton(name, &sin->sin_addr) != 1)
			return 0;
	} else {
		sin6.sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, name, &sin6.sin6_addr) != 1)
			return 0;
	}
	return fakeip_in_range((struct sockaddr *)&sin6);
}

/*
 * Whether norm can be a DNS host name at all: labels of letters,
 * digits, '-' and '_', 1-63 bytes each, 253 in all. Anything else is
 * left to the real resolver, which refuses it without asking anyone.
 */
static int
delegate_plausible(const char *norm)
{
	size_t label = 0, n = 0;
	const char *p;

	for (p = norm; *p != '\0'; p++, n++) {
		char c = *p;

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0;
	}
	return n > 0 && n <= 253 && label > 0;
}

/* Whether norm is suffix (".lan") itself without the dot, or under it. */
static int
delegate_under(const char *norm, size_t n, const char *suffix)
{
	size_t sn = strlen(suffix);

	if (sn < 2 || suffix[0] != '.')
		return 0;
	if (n == sn - 1 && strcmp(norm, suffix + 1) == 0)
		return 1;
	return n > sn && strcmp(norm + n - sn, suffix) == 0;
}

int
delegate_canary(const char *name)
{
	char norm[256];

	return fakeip_normalise(name, norm, sizeof(norm)) != -1 &&
	    strcmp(norm, delegate_canary_name) == 0;
}

int
delegate_decide(const struct shim_conf *c, const char *name, int family)
{
	static const char *const builtin[] = { ".localhost", ".local",
	    ".arpa" };
	char norm[256];
	size_t i, n;
	int lit, r;

	if (c == NULL || !c->enabled || name == NULL)
		return 0;
	if ((r = fakeip_normalise(name, norm, sizeof(norm))) == -1)
		return 0;
	n = (size_t)r;
	if ((lit = delegate_literal(name)) != AF_UNSPEC) {
		/*
		 * Loopback, link-local and unspecified addresses mean this
		 * host or its link: at the gateway they would name the
		 * gateway itself. glibc's answer (EAI_ADDRFAMILY) stands.
		 */
		if (delegate_literal_here(name, lit) ||
		    delegate_literal_fake(name, lit))
			return 0;
		/*
		 * RFC 3089 section 3: a literal of the other family is
		 * handled as a name, so an IPv4 program can still reach an
		 * IPv6 literal through the gateway (and the other way).
		 */
		if (family != AF_UNSPEC && family != lit)
			return 1;
		if (family == AF_UNSPEC) {
			int have = hostfam_get();

			if (have != 0 && !(have & (lit == AF_INET ?
			    HOSTFAM_V4 : HOSTFAM_V6)))
				return 1;
		}
		return 0;
	}
	if (!delegate_plausible(norm))
		return 0;
	for (i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (delegate_under(norm, n, builtin[i]))
			return 0;
	for (i = 0; i < c->nlocal_suffixes; i++)
		if (delegate_under(norm, n, c->local_suffixes[i]))
			return 0;
	if (hosts_has(norm))
		return 0;
	return 1;
}

int
delegate_name(const char *name, int family)
{
	return delegate_decide(shim_conf(), name, family);
}
