/*
 * hostfam.c - which address families this host really has: the one
 * answer both the name hooks (which fakes to hand out, AI_ADDRCONFIG
 * style) and connect (whether a real address needs the gateway) go by,
 * so the two can never disagree about the host they run on.
 *
 * A family counts when an interface that is up holds an address of it
 * that is not loopback, link-local or IPv4-mapped. getifaddrs() costs a
 * netlink round trip, so its answer is kept for a short while in one
 * atomic word; hooks read it without a lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>

#include "shim.h"

/* How long the answer of getifaddrs() is trusted, in milliseconds. */
#define HOSTFAM_TTL_MS		2000

/*
 * The answer as (expiry time in ms << 8) | mask | VALID: one atomic
 * word, so a reader never sees a half-made update. Two threads may
 * refresh it at once: both compute the same answer.
 */
#define HOSTFAM_VALID		0x80
static _Atomic uint64_t hostfam_cache;

int
hostfam_of(const struct ifaddrs *list)
{
	const struct ifaddrs *i;
	int have = 0;

	for (i = list; i != NULL; i = i->ifa_next) {
		const struct sockaddr *sa = i->ifa_addr;

		/* A down interface routes nothing, whatever it holds. */
		if (sa == NULL || (i->ifa_flags & IFF_UP) == 0)
			continue;
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *sin =
			    (const struct sockaddr_in *)(const void *)sa;

			if ((ntohl(sin->sin_addr.s_addr) >> 24) != 127)
				have |= HOSTFAM_V4;
		} else if (sa->sa_family == AF_INET6) {
			const struct in6_addr *a =
			    &((const struct sockaddr_in6 *)(const void *)sa)->
			    sin6_addr;

			/*
			 * Link-local addresses exist on every interface of a
			 * host with IPv6 enabled, routed or not: they do not
			 * make it a host that reaches the IPv6 world.
			 */
			if (!IN6_IS_ADDR_LOOPBACK(a) &&
			    !IN6_IS_ADDR_LINKLOCAL(a) &&
			    !IN6_IS_ADDR_V4MAPPED(a))
				have |= HOSTFAM_V6;
		}
	}
	return have;
}

static uint64_t
hostfam_now_ms(void)
{
	struct timespec ts;

	/* Coarse: enough for a 2 s cache, and cheaper on every hook. */
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == -1 &&
	    clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
hostfam_get(void)
{
	uint64_t v, now = hostfam_now_ms();
	struct ifaddrs *list;
	int saved = errno, have;

	v = atomic_load_explicit(&hostfam_cache, memory_order_relaxed);
	if ((v & HOSTFAM_VALID) != 0 && (v >> 8) > now)
		return (int)(v & (HOSTFAM_V4 | HOSTFAM_V6));
	if (getifaddrs(&list) == -1) {
		/* Unknown: assume both rather than hide a family. */
		errno = saved;
		return HOSTFAM_V4 | HOSTFAM_V6;
	}
	have = hostfam_of(list);
	freeifaddrs(list);
	v = ((now + HOSTFAM_TTL_MS) << 8) | HOSTFAM_VALID | (uint64_t)have;
	atomic_store_explicit(&hostfam_cache, v, memory_order_relaxed);
	errno = saved;
	return have;
}

void
hostfam_flush(void)
{
	atomic_store(&hostfam_cache, 0);
}
