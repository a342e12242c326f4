/*
 * ownaddr.c - the addresses assigned to this host's interfaces.
 *
 * protect-local keeps clients off this host's own services; on a router
 * those listen on its LAN and WAN addresses as much as on 127.0.0.1.
 * Those addresses change under a running daemon (DHCP, PPP, an
 * interface brought up), so they are gathered at start, on SIGHUP, and
 * again by whichever session finds the snapshot older than a couple of
 * seconds. A snapshot is immutable and reference-counted: swapping in a
 * new one takes the lock for a pointer's worth of time, and a session
 * judging a request keeps the one it started with.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd.h"
#include "ownaddr.h"

/*
 * The current snapshot (holding one reference of its own; NULL until a
 * gathering succeeds), when the last gathering was tried (ms), and
 * whether a thread is gathering now: all under ownaddr_lock, which is
 * never held across getifaddrs() but for the very first gathering, the
 * one every caller must wait for.
 */
static pthread_mutex_t	 ownaddr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ownaddr	*ownaddr_cur;
static int64_t		 ownaddr_when;
static int		 ownaddr_tried;
static int		 ownaddr_busy;
/* Whether the last gathering failed: its warning is logged once. */
static _Atomic int	 ownaddr_failing;

/* Whether o already holds net. */
static int
ownaddr_has(const struct ownaddr *o, const struct addr_net *net)
{
	size_t	i;

	for (i = 0; i < o->n; i++)
		if (o->v[i].family == net->family &&
		    memcmp(o->v[i].bytes, net->bytes, sizeof(net->bytes)) == 0)
			return 1;
	return 0;
}

/* sa as a network of one address; 0, or -1 when not IPv4 or IPv6. */
static int
ownaddr_net(const struct sockaddr *sa, struct addr_net *net)
{
	memset(net, 0, sizeof(*net));
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		net->family = AF_INET;
		memcpy(net->bytes, &((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr, 4);
		net->prefix = 32;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		net->family = AF_INET6;
		memcpy(net->bytes, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, 16);
		net->prefix = 128;
		return 0;
	}
	return -1;
}

struct ownaddr *
ownaddr_build(const struct ifaddrs *list)
{
	const struct ifaddrs	*ifa;
	struct ownaddr		*o;
	struct addr_net		 net;
	size_t			 max = 0;

	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next)
		if (ownaddr_net(ifa->ifa_addr, &net) == 0)
			max++;
	if ((o = calloc(1, sizeof(*o) + max * sizeof(o->v[0]))) == NULL)
		return NULL;
	atomic_init(&o->refs, 1);
	for (ifa = list; ifa != NULL; ifa = ifa->ifa_next)
		if (ownaddr_net(ifa->ifa_addr, &net) == 0 &&
		    !ownaddr_has(o, &net))
			o->v[o->n++] = net;
	return o;
}

void
ownaddr_put(struct ownaddr *o)
{
	if (o != NULL && atomic_fetch_sub(&o->refs, 1) == 1)
		free(o);
}

/*
 * getifaddrs() into a new snapshot, or NULL with errno. The failure is
 * logged when it starts and when it ends, not at every retry.
 */
static struct ownaddr *
ownaddr_gather(void)
{
	struct ifaddrs	*list;
	struct ownaddr	*o = NULL;

	if (getifaddrs(&list) == 0) {
		if ((o = ownaddr_build(list)) == NULL)
			errno = ENOMEM;
		freeifaddrs(list);
	}
	if (o == NULL) {
		if (!ownaddr_failing)
			log_warn("cannot list this host's addresses; "
			    "protect-local goes on with the last list");
		ownaddr_failing = 1;
		return NULL;
	}
	if (ownaddr_failing)
		log_info("this host's addresses listed again");
	ownaddr_failing = 0;
	log_debug("own addresses: %zu", o->n);
	return o;
}

/*
 * Makes o current, unless NULL (a failed gathering: the old list stays,
 * to be gathered again once stale anew). Under the lock; *old gets the
 * reference to drop once the lock is released.
 */
static void
ownaddr_swap_locked(struct ownaddr *o, int64_t now, struct ownaddr **old)
{
	*old = NULL;
	if (o != NULL) {
		*old = ownaddr_cur;
		ownaddr_cur = o;
	}
	ownaddr_when = now;
	ownaddr_tried = 1;
	ownaddr_busy = 0;
}

int
ownaddr_reload(void)
{
	struct ownaddr	*o, *old;
	int		 saved;

	o = ownaddr_gather();
	saved = errno;
	pthread_mutex_lock(&ownaddr_lock);
	ownaddr_swap_locked(o, mech_now_ms(), &old);
	pthread_mutex_unlock(&ownaddr_lock);
	ownaddr_put(old);
	errno = saved;
	return o != NULL ? 0 : -1;
}

/* A new reference to the current snapshot (NULL: none); under the lock. */
static struct ownaddr *
ownaddr_ref_locked(void)
{
	if (ownaddr_cur != NULL)
		atomic_fetch_add(&ownaddr_cur->refs, 1);
	return ownaddr_cur;
}

struct ownaddr *
ownaddr_get(void)
{
	struct ownaddr	*o, *old = NULL;
	int64_t		 now = mech_now_ms();

	pthread_mutex_lock(&ownaddr_lock);
	if (!ownaddr_tried)	/* the first list: no one goes without it */
		ownaddr_swap_locked(ownaddr_gather(), now, &old);
	if (ownaddr_busy || now - ownaddr_when < OWNADDR_STALE_MS) {
		/* The common case: one short lock, no system call. */
		o = ownaddr_ref_locked();
		pthread_mutex_unlock(&ownaddr_lock);
		return o;
	}
	ownaddr_busy = 1;
	pthread_mutex_unlock(&ownaddr_lock);
	/* Gathered unlocked: the others use the old list meanwhile. */
	o = ownaddr_gather();
	pthread_mutex_lock(&ownaddr_lock);
	ownaddr_swap_locked(o, now, &old);
	o = ownaddr_ref_locked();
	pthread_mutex_unlock(&ownaddr_lock);
	ownaddr_put(old);
	return o;
}

struct verdict
ownaddr_policy(const struct gw_conf *c, const struct policy_query *q)
{
	struct policy_query	 mine = *q;
	struct ownaddr		*o = ownaddr_get();
	struct verdict		 v;

	if (o != NULL) {
		mine.own = o->v;
		mine.nown = o->n;
	}
	v = policy_request(c, &mine);
	ownaddr_put(o);
	return v;
}
