/*
 * dial.c - from a SOCKS destination to a connected socket.
 *
 * This is RFC 3089 section 3, steps 6 to 8: the gateway, a dual-stack
 * node, resolves the name the client delegated to it and connects to
 * whichever address family answers. Several addresses are raced as in
 * RFC 8305 (Happy Eyeballs v2) so that a broken IPv6 path costs a quarter
 * second rather than a connect timeout. No policy and no logging here:
 * the session decides, this file only does.
 */
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

/*
 * Stack of a look-up thread: getaddrinfo() is the deepest user of stack
 * in the daemon (see SESSION_STACK in session_thread.c for the measurements).
 */
#define DIAL_LOOKUP_STACK	(128 * 1024)
/*
 * Look-up threads at most, those still running after their asker gave
 * up on them included; a look-up beyond it fails at once.
 */
#define DIAL_LOOKUPS_MAX	4096
/* dial_getaddrinfo()'s own failures, apart from the (negative) EAI_*. */
#define DIAL_EAI_TIMEOUT	1000
#define DIAL_EAI_NOTHREAD	1001
#define DIAL_EAI_CLIENT_GONE	1002

/*
 * What says the client is gone: a reset (POLLERR, POLLHUP) or its end
 * of file (POLLRDHUP), which is what a client that gives up and closes
 * sends. One that only shut down its sending side after its request
 * looks the same and is let go as well: the two cannot be told apart
 * without a reply. Not POLLIN: bytes pipelined behind the request are
 * the destination's, left unread.
 */
#define DIAL_CLIENT_GONE	(POLLRDHUP | POLLHUP | POLLERR)

/* Appends sa unless it is already listed or the list is full. */
static void
dial_add(struct dial_addrs *out, const struct sockaddr *sa, uint16_t port)
{
	struct sockaddr_storage	 ss;
	size_t			 i;
	socklen_t		 len = addr_len(sa);

	if (len == 0 || out->n == DIAL_MAX_ADDRS)
		return;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, len);
	addr_unmap(&ss);
	addr_set_port((struct sockaddr *)&ss, port);
	for (i = 0; i < out->n; i++)
		if (addr_equal((struct sockaddr *)&out->v[i],
		    (struct sockaddr *)&ss, 1))
			return;
	out->v[out->n++] = ss;
}

/* Whether name is an address literal, so no query may be made for it. */
static int
dial_is_literal(const char *name)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return inet_pton(AF_INET6, name, &a6) == 1 ||
	    inet_pton(AF_INET, name, &a4) == 1;
}

/*
 * A name is looked up on a helper thread of its own, so that the
 * session can stop waiting at its deadline: getaddrinfo() has no timeout
 * but the resolver's (resolv.conf's timeout x attempts x servers, which
 * may be minutes), and a server that never answers would hold the
 * session that long. glibc's getaddrinfo_a() bounds the wait as well,
 * but it serves every request from a pool of at most 20 threads and
 * queues the rest: twenty names in a zone whose servers never answer
 * would stall every look-up of the gateway. The asker and the helper
 * share one struct dial_lookup and whichever is done with it last frees
 * it, so a look-up given up on still frees its memory and its result
 * when the resolver finally returns. An asker that watches its client
 * meanwhile waits in poll() on an eventfd the helper signals, and closes
 * it when it leaves: a look-up given up on holds no descriptor.
 */
struct dial_lookup {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cv;		/* done was set */
	int		 refs;		/* asker, helper; under lock */
	int		 done;		/* under lock */
	int		 rc;		/* getaddrinfo's */
	int		 efd;		/* signalled when done; -1: none
					   (any more); under lock */
	struct addrinfo	 hints;
	struct addrinfo	*res;
	char		 name[256];
};

/*
 * Look-ups under way, those given up on included: each holds a thread
 * until the resolver returns, so their number is capped.
 */
static _Atomic unsigned int	dial_lookups;

static void
dial_lookup_unref(struct dial_lookup *l)
{
	int last;

	pthread_mutex_lock(&l->lock);
	last = --l->refs == 0;
	pthread_mutex_unlock(&l->lock);
	if (!last)
		return;
	if (l->res != NULL)
		freeaddrinfo(l->res);
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->lock);
	free(l);
	dial_lookups--;
}

static void *
dial_lookup_main(void *arg)
{
	struct dial_lookup	*l = arg;
	struct addrinfo		*res = NULL;
	int			 rc;

	rc = getaddrinfo(l->name, NULL, &l->hints, &res);
	pthread_mutex_lock(&l->lock);
	l->rc = rc;
	l->res = rc == 0 ? res : NULL;
	l->done = 1;
	pthread_cond_signal(&l->cv);
	/* Under the lock: the asker closes efd only after clearing it. */
	if (l->efd != -1)
		(void)eventfd_write(l->efd, 1);
	pthread_mutex_unlock(&l->lock);
	dial_lookup_unref(l);
	return NULL;
}

/* A new look-up of name, or NULL (errno) before any thread started. */
static struct dial_lookup *
dial_lookup_new(const char *name)
{
	struct dial_lookup	*l;
	pthread_condattr_t	 ca;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	pthread_mutex_init(&l->lock, NULL);
	/* Deadlines are on CLOCK_MONOTONIC; so is the wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv, &ca);
	pthread_condattr_destroy(&ca);
	l->refs = 2;
	l->efd = -1;
	/*
	 * No AI_ADDRCONFIG: the gateway exists to reach the family the
	 * client lacks, and dial_order() filters by the configured family.
	 */
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->hints.ai_protocol = IPPROTO_TCP;
	if (dial_is_literal(name))
		l->hints.ai_flags |= AI_NUMERICHOST;
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
}

/* Waits on l's condition variable until it is done or deadline. */
static void
dial_lookup_wait(struct dial_lookup *l, int64_t deadline)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)(deadline / 1000);
	ts.tv_nsec = (long)(deadline % 1000) * 1000000;
	pthread_mutex_lock(&l->lock);
	while (!l->done)
		if (pthread_cond_timedwait(&l->cv, &l->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&l->lock);
}

/*
 * Waits in poll() on l->efd and the client until l is done, deadline,
 * or the client left (returns 1; else 0).
 */
static int
dial_lookup_watch(struct dial_lookup *l, int efd, int client,
    int64_t deadline)
{
	struct pollfd	pfd[2] = { { efd, POLLIN, 0 },
			    { client, POLLRDHUP, 0 } };
	int64_t		now;
	int		done;

	for (;;) {
		pthread_mutex_lock(&l->lock);
		done = l->done;
		pthread_mutex_unlock(&l->lock);
		if (done || (now = mech_now_ms()) >= deadline)
			return 0;
		if (poll(pfd, 2, (int)(deadline - now)) == -1 &&
		    errno != EINTR)
			return 0;	/* the deadline still bounds us */
		if (pfd[1].revents & DIAL_CLIENT_GONE)
			return 1;
	}
}

/*
 * getaddrinfo(name) on a helper thread, waited for until deadline (ms,
 * monotonic), watching client (-1: none) meanwhile. Returns
 * getaddrinfo's code with *res to free, or DIAL_EAI_TIMEOUT or
 * DIAL_EAI_CLIENT_GONE (the helper frees its own result later), or
 * DIAL_EAI_NOTHREAD.
 */
static int
dial_getaddrinfo(const char *name, int64_t deadline, int client,
    struct addrinfo **res)
{
	struct dial_lookup	*l;
	pthread_attr_t		 attr;
	pthread_t		 t;
	int			 rc, efd = -1, gone = 0;

	if (dial_lookups >= DIAL_LOOKUPS_MAX)
		return DIAL_EAI_NOTHREAD;
	if ((l = dial_lookup_new(name)) == NULL)
		return EAI_MEMORY;
	/* Without an eventfd the client goes unwatched: still bounded. */
	if (client != -1)
		l->efd = efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dial_lookups++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, DIAL_LOOKUP_STACK);
	rc = pthread_create(&t, &attr, dial_lookup_main, l);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		if (efd != -1)
			close(efd);
		l->refs = 1;		/* no helper: ours is the last */
		dial_lookup_unref(l);
		return DIAL_EAI_NOTHREAD;
	}
	if (efd != -1)
		gone = dial_lookup_watch(l, efd, client, deadline);
	else
		dial_lookup_wait(l, deadline);
	pthread_mutex_lock(&l->lock);
	rc = l->done ? l->rc : gone ? DIAL_EAI_CLIENT_GONE : DIAL_EAI_TIMEOUT;
	/* The result is ours now; the helper frees only what is left. */
	*res = l->res;
	l->res = NULL;
	l->efd = -1;		/* the helper signals it no more */
	pthread_mutex_unlock(&l->lock);
	if (efd != -1)
		close(efd);
	dial_lookup_unref(l);
	return rc;
}

unsigned int
dial_lookup_count(void)
{
	return dial_lookups;
}

/* The reply code and the static reason for a failed look-up. */
static void
dial_lookup_failed(int rc, uint8_t *rep, const char **why)
{
	switch (rc) {
	case DIAL_EAI_TIMEOUT:
		*rep = SOCKS5_REP_TTL_EXPIRED;	/* the spec's "timeout" */
		*why = "name look-up timed out";
		return;
	case DIAL_EAI_NOTHREAD:
		*rep = SOCKS5_REP_GENERAL_FAILURE;
		*why = "no thread for the name look-up";
		return;
	case DIAL_EAI_CLIENT_GONE:
		*rep = SOCKS5_REP_GENERAL_FAILURE;
		*why = "client left during look-up";
		return;
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
	case EAI_AGAIN:		/* a temporary failure still fails now */
	case EAI_FAIL:
		*rep = SOCKS5_REP_HOST_UNREACHABLE;
		break;
	default:
		*rep = SOCKS5_REP_GENERAL_FAILURE;
		break;
	}
	/* gai_strerror returns static text; strerror would not be safe. */
	*why = rc == EAI_SYSTEM ? "resolver system error" : gai_strerror(rc);
}

int
dial_resolve(const struct socks5_addr *dst, int64_t deadline,
    struct dial_addrs *out, uint8_t *rep, const char **why)
{
	return dial_resolve_for(-1, dst, deadline, out, rep, why);
}

int
dial_resolve_for(int client, const struct socks5_addr *dst,
    int64_t deadline, struct dial_addrs *out, uint8_t *rep,
    const char **why)
{
	struct sockaddr_storage	 ss;
	struct addrinfo		*res = NULL, *ai;
	unsigned int		 sslen = sizeof(ss);
	int			 rc;

	out->n = 0;
	if (dst->atyp != SOCKS5_ATYP_DOMAIN) {
		if (socks5_addr_to_sockaddr(dst, (struct sockaddr *)&ss,
		    &sslen) == -1) {
			*rep = SOCKS5_REP_ATYP_UNSUPPORTED;
			*why = "unusable address";
			return -1;
		}
		dial_add(out, (struct sockaddr *)&ss, dst->port);
		return 0;
	}
	if ((rc = dial_getaddrinfo(dst->name, deadline, client, &res)) != 0) {
		dial_lookup_failed(rc, rep, why);
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
			dial_add(out, ai->ai_addr, dst->port);
	freeaddrinfo(res);
	if (out->n == 0) {
		*rep = SOCKS5_REP_HOST_UNREACHABLE;
		*why = "no IPv4 or IPv6 address";
		return -1;
	}
	return 0;
}

/*
 * order[k] names the address that goes to place k; order has a->n
 * entries, the dropped addresses at its end. Moves them there in place,
 * one cycle of the permutation at a time with one address in hand: no
 * second array of addresses on a session thread's stack (4 KiB, a page
 * every held relay's stack would keep).
 */
static void
dial_permute(struct dial_addrs *a, uint8_t *order)
{
	struct sockaddr_storage	hand;
	size_t			k, j, from;

	for (k = 0; k < a->n; k++) {
		if (order[k] == k)
			continue;
		hand = a->v[k];
		for (j = k; (from = order[j]) != k; j = from) {
			a->v[j] = a->v[from];
			order[j] = (uint8_t)j;	/* in place now */
		}
		a->v[j] = hand;
		order[j] = (uint8_t)j;
	}
}

_Static_assert(DIAL_MAX_ADDRS <= 256, "dial_order's indexes are bytes");

size_t
dial_order(struct dial_addrs *a, enum family_pref pref)
{
	uint8_t	v6[DIAL_MAX_ADDRS], v4[DIAL_MAX_ADDRS], order[DIAL_MAX_ADDRS];
	uint8_t	kept[DIAL_MAX_ADDRS];
	size_t	n6 = 0, n4 = 0, m = 0, i, j, k;
	int	first6;

	memset(kept, 0, sizeof(kept));
	for (i = 0; i < a->n; i++) {
		if (a->v[i].ss_family == AF_INET6)
			v6[n6++] = (uint8_t)i;
		else if (a->v[i].ss_family == AF_INET)
			v4[n4++] = (uint8_t)i;
	}
	if (pref == FAMILY_IPV6_ONLY)
		n4 = 0;
	else if (pref == FAMILY_IPV4_ONLY)
		n6 = 0;
	first6 = pref != FAMILY_IPV4_FIRST && pref != FAMILY_IPV4_ONLY;

	if (pref == FAMILY_HAPPY_EYEBALLS) {
		/* RFC 8305 section 4: alternate, IPv6 first, count 1. */
		for (i = j = 0; i < n6 || j < n4; ) {
			if (i < n6)
				order[m++] = v6[i++];
			if (j < n4)
				order[m++] = v4[j++];
		}
	} else {
		for (k = 0; k < 2; k++) {
			int	 six = (k == 0) == first6;
			uint8_t	*idx = six ? v6 : v4;
			size_t	 cnt = six ? n6 : n4;

			for (i = 0; i < cnt; i++)
				order[m++] = idx[i];
		}
	}
	/* The dropped ones after the kept, to make a whole permutation. */
	for (i = 0; i < m; i++)
		kept[order[i]] = 1;
	for (i = 0, k = m; i < a->n; i++)
		if (!kept[i])
			order[k++] = (uint8_t)i;
	dial_permute(a, order);
	a->n = m;
	return m;
}

/*
 * Starts a nonblocking connect to ss. Returns the fd (connect under way
 * or already done), or -1 with errno when it failed at once (no route,
 * no such family on this host).
 */
static int
dial_start(const struct sockaddr_storage *ss)
{
	int	fd;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss,
	    addr_len((const struct sockaddr *)ss)) == -1 &&
	    errno != EINPROGRESS)
		return mech_close_fail(fd);
	return fd;
}

/* The outcome of an attempt poll() reported on: 0, or its errno. */
static int
dial_outcome(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

static void
dial_won(struct dial_result *res, int fd, const struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(res->local);

	res->fd = fd;
	res->peer = *ss;
	res->err = 0;
	res->rep = SOCKS5_REP_SUCCEEDED;
	memset(&res->local, 0, sizeof(res->local));
	if (getsockname(fd, (struct sockaddr *)&res->local, &len) == -1)
		res->local.ss_family = AF_UNSPEC;
}

/* The attempts of one dial_connect(), those under way first. */
struct dial_race {
	const struct dial_addrs	*a;
	/* Under way, and one more slot behind them for the client. */
	struct pollfd		 pfd[DIAL_MAX_ADDRS + 1];
	size_t			 which[DIAL_MAX_ADDRS];	/* their a->v index */
	size_t			 live;
	size_t			 next;		/* a->v index to try next */
	int64_t			 next_start;	/* ms: when it may start */
	int			 race;		/* happy eyeballs */
	unsigned int		 delay_ms;
	int			 last_err;
	int			 client;	/* watched; -1: none */
	int			 client_gone;
};

/*
 * Starts the next attempts that are due: one when none is under way,
 * or (racing) one when the attempt delay is over. An attempt that fails
 * at once makes way for the next at once (RFC 8305 section 5).
 */
static void
dial_start_due(struct dial_race *r, int64_t now)
{
	int	fd;

	while (r->next < r->a->n &&
	    (r->live == 0 || (r->race && now >= r->next_start))) {
		if ((fd = dial_start(&r->a->v[r->next])) == -1) {
			r->last_err = errno;
			r->next++;
			continue;
		}
		r->pfd[r->live].fd = fd;
		r->pfd[r->live].events = POLLOUT;
		r->which[r->live++] = r->next++;
		r->next_start = now + r->delay_ms;
	}
}

/*
 * After poll(): the index in r->pfd of an attempt that connected, or -1.
 * Failed attempts are closed and dropped, and the next may start now.
 */
static int
dial_reap(struct dial_race *r)
{
	size_t	i;
	int	err;

	for (i = 0; i < r->live; ) {
		if (r->pfd[i].revents == 0) {
			i++;
			continue;
		}
		if ((err = dial_outcome(r->pfd[i].fd)) == 0)
			return (int)i;
		r->last_err = err;
		close(r->pfd[i].fd);
		r->pfd[i] = r->pfd[r->live - 1];
		r->which[i] = r->which[--r->live];
		r->next_start = mech_now_ms();
	}
	return -1;
}

/*
 * One poll() over the attempts under way and the client, at most wait
 * ms. Returns 0, or -1 with r->last_err set (r->client_gone when the
 * client left).
 */
static int
dial_poll(struct dial_race *r, int wait)
{
	nfds_t	n = r->live;

	if (r->client != -1) {
		r->pfd[n].fd = r->client;
		r->pfd[n].events = POLLRDHUP;
		r->pfd[n++].revents = 0;
	}
	if (poll(r->pfd, n, wait) == -1 && errno != EINTR) {
		r->last_err = errno;
		return -1;
	}
	if (r->client != -1 && (r->pfd[r->live].revents & DIAL_CLIENT_GONE))
		r->client_gone = 1;
	return 0;
}

int
dial_connect_for(int client, const struct dial_addrs *a,
    enum family_pref pref, unsigned int delay_ms, unsigned int timeout_ms,
    struct dial_result *res)
{
	struct dial_race	r = { .a = a, .delay_ms = delay_ms,
				    .race = pref == FAMILY_HAPPY_EYEBALLS,
				    .last_err = EHOSTUNREACH,
				    .client = client };
	int64_t			now = mech_now_ms(), deadline;
	size_t			i;
	int			won = -1, wait;

	res->fd = -1;
	res->why = NULL;
	deadline = now + timeout_ms;
	r.next_start = now;
	while (won == -1) {
		now = mech_now_ms();
		if (now < deadline)
			dial_start_due(&r, now);
		if (now >= deadline && (r.live > 0 || r.next < a->n)) {
			r.last_err = ETIMEDOUT;
			break;
		}
		if (r.live == 0)
			break;			/* every address failed */
		wait = (int)(deadline - now);
		if (r.race && r.next < a->n && r.next_start - now < wait)
			wait = (int)(r.next_start - now);
		if (dial_poll(&r, wait) == -1)
			break;
		/* A connection made as the client left is still used. */
		if ((won = dial_reap(&r)) == -1 && r.client_gone)
			break;
	}
	for (i = 0; i < r.live; i++)
		if ((int)i != won)
			close(r.pfd[i].fd);
	if (won != -1) {
		dial_won(res, r.pfd[won].fd, &a->v[r.which[won]]);
		return 0;
	}
	if (r.client_gone) {
		res->err = 0;
		res->rep = SOCKS5_REP_GENERAL_FAILURE;
		res->why = "client left during connect";
		return -1;
	}
	res->err = r.last_err;
	res->rep = socks5_rep_from_errno(r.last_err);
	return -1;
}

int
dial_connect(const struct dial_addrs *a, enum family_pref pref,
    unsigned int delay_ms, unsigned int timeout_ms, struct dial_result *res)
{
	return dial_connect_for(-1, a, pref, delay_ms, timeout_ms, res);
}
