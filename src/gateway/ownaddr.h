/*
 * ownaddr.h - the addresses of this host's own interfaces, gathered for
 * protect-local (ownaddr.c). Mechanism: policy.c only ever sees the
 * array, through struct policy_query's own and nown.
 */
#ifndef SOCKS64_OWNADDR_H
#define SOCKS64_OWNADDR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct ifaddrs;
struct gw_conf;
struct policy_query;
struct verdict;

/* A snapshot is gathered again when older than this, when consulted. */
#define OWNADDR_STALE_MS	2000

/*
 * One immutable snapshot of the host's addresses, each a /32 or /128,
 * shared by reference: the sessions using it keep it alive while a
 * newer one replaces it.
 */
struct ownaddr {
	_Atomic unsigned int	refs;
	size_t			n;
	struct addr_net		v[];
};

/*
 * The IPv4 and IPv6 addresses of list (getifaddrs' form; entries of
 * other families or without an address skipped, duplicates kept once)
 * as a snapshot with one reference. Pure. Returns NULL out of memory.
 */
struct ownaddr	*ownaddr_build(const struct ifaddrs *list);
/*
 * Gathers the host's addresses now (getifaddrs) and makes them the
 * current snapshot: at start and on SIGHUP. On failure (logged) the
 * previous snapshot stays. Returns 0 or -1 with errno.
 */
int		 ownaddr_reload(void);
/*
 * A reference to the current snapshot, gathered again first by the
 * calling thread when older than OWNADDR_STALE_MS (other threads go on
 * with the old one meanwhile). NULL when none could ever be gathered.
 * Release it with ownaddr_put().
 */
struct ownaddr	*ownaddr_get(void);
/* Drops a reference (NULL: nothing); the last one frees the snapshot. */
void		 ownaddr_put(struct ownaddr *o);
/*
 * policy_request(c, q) with q's own addresses set to the current
 * snapshot's: what the sessions ask instead of policy_request().
 */
struct verdict	 ownaddr_policy(const struct gw_conf *c,
		    const struct policy_query *q);

#endif /* SOCKS64_OWNADDR_H */
