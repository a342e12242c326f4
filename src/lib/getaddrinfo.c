/*
 * getaddrinfo.c - the getaddrinfo() and freeaddrinfo() interposers.
 *
 * A delegated name is answered with fake addresses (RFC 3089 section 3)
 * in a list the REAL getaddrinfo builds: it is asked for the fake
 * literal with the program's hints plus AI_NUMERICHOST, so socket types,
 * protocols, service names and hint errors come out exactly as glibc
 * makes them. Where one libc list cannot be the answer (two families,
 * or a canonical name to set) the shim copies the lists into one of its
 * own and records it, and freeaddrinfo() frees what it recorded itself
 * and hands everything else to libc: neither ever frees the other's.
 * Any other name goes straight to libc, without a lock or an allocation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

typedef int (*getaddrinfo_fn)(const char *, const char *,
    const struct addrinfo *, struct addrinfo **);
typedef void (*freeaddrinfo_fn)(struct addrinfo *);

static getaddrinfo_fn getaddrinfo_real;
static freeaddrinfo_fn freeaddrinfo_real;
static struct real_once getaddrinfo_once = REAL_ONCE_INIT;

/*
 * The lists this file allocated and has not seen freed, keyed by head
 * pointer, guarded by getaddrinfo_lock (held across fork by the atfork
 * handlers). getaddrinfo_nowned mirrors the count so freeaddrinfo() of
 * a libc list takes no lock while none of ours is out.
 */
static pthread_mutex_t getaddrinfo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct idmap getaddrinfo_lists = IDMAP_INIT;
static atomic_size_t getaddrinfo_nowned;

/* One node of a list of ours: the addrinfo and its address together. */
struct getaddrinfo_node {
	struct addrinfo		ai;	/* first: the pointer handed out */
	struct sockaddr_storage	addr;
};

static void
getaddrinfo_prepare(void)
{
	pthread_mutex_lock(&getaddrinfo_lock);
}

static void
getaddrinfo_after(void)
{
	pthread_mutex_unlock(&getaddrinfo_lock);
}

void
getaddrinfo_atfork(void)
{
	(void)pthread_atfork(getaddrinfo_prepare, getaddrinfo_after,
	    getaddrinfo_after);
}

static void
getaddrinfo_init(void)
{
	*(void **)&getaddrinfo_real = real_symbol("getaddrinfo");
	*(void **)&freeaddrinfo_real = real_symbol("freeaddrinfo");
}

/*
 * 1 once the real functions are known; 0 for a call re-entered from
 * inside their look-up (a program's malloc reached from dlsym), which
 * cannot wait for it. errno is kept.
 */
static int
getaddrinfo_load(void)
{
	return real_once(&getaddrinfo_once, getaddrinfo_init);
}

/* ------------------------------------------------------------------ */
/* the set of our lists                                                 */

static int
getaddrinfo_own(struct addrinfo *ai)
{
	int r;

	pthread_mutex_lock(&getaddrinfo_lock);
	r = idmap_put(&getaddrinfo_lists, (uint64_t)(uintptr_t)ai, ai);
	atomic_store(&getaddrinfo_nowned, getaddrinfo_lists.used);
	pthread_mutex_unlock(&getaddrinfo_lock);
	return r;
}

/* Removes ai from the set if it is there. Returns whether it was ours. */
static int
getaddrinfo_disown(struct addrinfo *ai)
{
	void *found;

	pthread_mutex_lock(&getaddrinfo_lock);
	found = idmap_del(&getaddrinfo_lists, (uint64_t)(uintptr_t)ai);
	atomic_store(&getaddrinfo_nowned, getaddrinfo_lists.used);
	pthread_mutex_unlock(&getaddrinfo_lock);
	return found != NULL;
}

static void
getaddrinfo_free_own(struct addrinfo *ai)
{
	struct addrinfo *next;

	for (; ai != NULL; ai = next) {
		next = ai->ai_next;
		free(ai->ai_canonname);
		free(ai);	/* the node: ai is its first member */
	}
}

int
getaddrinfo_is_ours(const struct addrinfo *ai)
{
	int found;

	pthread_mutex_lock(&getaddrinfo_lock);
	found = idmap_get(&getaddrinfo_lists, (uint64_t)(uintptr_t)ai) !=
	    NULL;
	pthread_mutex_unlock(&getaddrinfo_lock);
	return found;
}

/*
 * Copies the libc lists in[0..n) into one list of ours, canon (if not
 * NULL) as the first node's ai_canonname. Returns NULL on no memory.
 */
static struct addrinfo *
getaddrinfo_copy(struct addrinfo *const *in, size_t n, const char *canon)
{
	struct addrinfo *head = NULL, **tail = &head;
	const struct addrinfo *src;
	struct getaddrinfo_node *node;
	size_t i;

	for (i = 0; i < n; i++)
		for (src = in[i]; src != NULL; src = src->ai_next) {
			if (src->ai_addrlen > sizeof(node->addr) ||
			    (node = calloc(1, sizeof(*node))) == NULL)
				goto fail;
			node->ai = *src;
			node->ai.ai_canonname = NULL;
			node->ai.ai_next = NULL;
			node->ai.ai_addr = (struct sockaddr *)&node->addr;
			memcpy(&node->addr, src->ai_addr, src->ai_addrlen);
			*tail = &node->ai;
			tail = &node->ai.ai_next;
		}
	if (canon != NULL && head != NULL &&
	    (head->ai_canonname = strdup(canon)) == NULL)
		goto fail;
	return head;
fail:
	getaddrinfo_free_own(head);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* fake answers                                                         */

/* The numeric text of the fake for name: "240.1.2.3", "64:ff9b:1::5"... */
static int
getaddrinfo_literal(const char *name, int answer, char *buf, size_t len)
{
	struct sockaddr_in6 sin6;
	socklen_t salen;
	const void *a;
	int family = answer == HOSTFAM_V6 ? AF_INET6 : AF_INET;
	size_t off = 0;

	if (fakeip_assign(name, family, (struct sockaddr *)&sin6, &salen)
	    == -1)
		return -1;
	if (family == AF_INET)
		a = &((struct sockaddr_in *)(void *)&sin6)->sin_addr;
	else
		a = &sin6.sin6_addr;
	if (answer == DELEGATE_ANSWER_MAPPED) {
		memcpy(buf, "::ffff:", 7);
		off = 7;
	}
	if (inet_ntop(family, a, buf + off, (socklen_t)(len - off)) == NULL)
		return -1;
	return 0;
}

static void
getaddrinfo_free_lists(struct addrinfo **lists, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		freeaddrinfo_real(lists[i]);
}

/*
 * Builds the answer for a delegated name: one libc list per fake
 * (IPv6 first, as glibc's RFC 6724 sort orders real addresses of both
 * families), joined into one of ours when there are several or the
 * canonical name must be the name. Returns 0 or an EAI_* code.
 */
static int
getaddrinfo_fake(const char *node, const char *service,
    const struct addrinfo *hints, int family, int flags,
    struct addrinfo **res)
{
	static const int order[] = { HOSTFAM_V6, HOSTFAM_V4,
	    DELEGATE_ANSWER_MAPPED };
	struct addrinfo h, *lists[3], *ai, *own;
	char lit[INET6_ADDRSTRLEN + 8], canon[256];
	size_t i, n = 0;
	int mask, rc, nospc = 0;

	if (hints != NULL)
		h = *hints;
	else
		memset(&h, 0, sizeof(h));
	/* The fakes are of families the host has: no AI_ADDRCONFIG again. */
	h.ai_flags = (flags | AI_NUMERICHOST) &
	    ~(AI_ADDRCONFIG | AI_CANONNAME | AI_CANONIDN);
	mask = delegate_answer_families(family, flags,
	    hostfam_get());
	if (mask == 0) {
		/*
		 * A family the host does not have: EAI_NONAME, as glibc says
		 * with AI_ADDRCONFIG, unless glibc finds the hints or the
		 * service wrong first (it checks those before any name).
		 */
		rc = getaddrinfo_real(family == AF_INET ? "127.0.0.1" : "::1",
		    service, &h, &lists[0]);
		if (rc == 0)
			freeaddrinfo_real(lists[0]);
		return rc == 0 || rc == EAI_NONAME || rc == EAI_ADDRFAMILY ?
		    EAI_NONAME : rc;
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((mask & order[i]) == 0)
			continue;
		if (getaddrinfo_literal(node, order[i], lit, sizeof(lit))
		    == -1) {
			if (errno == ENOSPC) {
				nospc = 1;
				continue;
			}
			rc = EAI_MEMORY;
			goto fail;
		}
		h.ai_family = order[i] == HOSTFAM_V4 ? AF_INET :
		    AF_INET6;
		if ((rc = getaddrinfo_real(lit, service, &h, &lists[n])) != 0)
			goto fail;
		/* Flags as the program gave them, as glibc reports them. */
		for (ai = lists[n]; ai != NULL; ai = ai->ai_next)
			ai->ai_flags = flags;
		n++;
	}
	if (n == 0) {
		errno = nospc ? ENOSPC : EAGAIN;
		return EAI_FAIL;
	}
	if (n == 1 && (flags & AI_CANONNAME) == 0) {
		*res = lists[0];	/* libc's own: libc frees it */
		return 0;
	}
	if (fakeip_normalise(node, canon, sizeof(canon)) == -1 ||
	    (own = getaddrinfo_copy(lists, n,
	    (flags & AI_CANONNAME) ? canon : NULL)) == NULL) {
		rc = EAI_MEMORY;
		goto fail;
	}
	getaddrinfo_free_lists(lists, n);
	if (getaddrinfo_own(own) == -1) {
		getaddrinfo_free_own(own);
		return EAI_MEMORY;
	}
	*res = own;
	return 0;
fail:
	getaddrinfo_free_lists(lists, n);
	return rc;
}

/*
 * Whether a real answer has an address the program can use: one of
 * the families the fakes would have had (mask 0: nothing better).
 */
static int
getaddrinfo_usable(const struct addrinfo *ai, int mask)
{
	if (mask == 0)
		return 1;
	for (; ai != NULL; ai = ai->ai_next) {
		const struct sockaddr *sa = ai->ai_addr;

		if (sa == NULL)
			continue;
		if (sa->sa_family == AF_INET &&
		    (mask & (HOSTFAM_V4 | DELEGATE_ANSWER_MAPPED)))
			return 1;
		if (sa->sa_family == AF_INET6 && (mask & HOSTFAM_V6))
			return 1;
		if (sa->sa_family == AF_INET6 &&
		    (mask & DELEGATE_ANSWER_MAPPED) &&
		    IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr))
			return 1;
	}
	return 0;
}

/*
 * resolve local-first: the real answer when it has a usable address;
 * *delegate set when the name is to be delegated after all (no such
 * address, or the resolver could not answer: the gateway may).
 */
static int
getaddrinfo_local_first(const char *node, const char *service,
    const struct addrinfo *hints, int family, int flags,
    struct addrinfo **res, int *delegate)
{
	int rc, mask;

	*delegate = 0;
	rc = getaddrinfo_real(node, service, hints, res);
	mask = delegate_answer_families(family, flags,
	    hostfam_get());
	if (rc == 0 && getaddrinfo_usable(*res, mask))
		return 0;
	if (rc == 0) {
		freeaddrinfo_real(*res);
		*res = NULL;
	} else if (rc != EAI_NONAME && rc != EAI_NODATA &&
	    rc != EAI_ADDRFAMILY && rc != EAI_AGAIN && rc != EAI_FAIL)
		return rc;	/* a service or hint error stays one */
	*delegate = 1;
	return 0;
}

int
getaddrinfo_claims(const struct shim_conf *c, const char *node,
    const struct addrinfo *hints)
{
	int family, flags;

	if (node == NULL || c == NULL || !c->enabled)
		return 0;
	family = hints != NULL ? hints->ai_family : AF_UNSPEC;
	/* glibc's flags when there are no hints. */
	flags = hints != NULL ? hints->ai_flags : AI_V4MAPPED | AI_ADDRCONFIG;
	/* AI_NUMERICHOST: a name is EAI_NONAME, exactly as glibc says. */
	if ((flags & AI_NUMERICHOST) != 0 || (family != AF_UNSPEC &&
	    family != AF_INET && family != AF_INET6))
		return 0;
	if (!delegate_decide(c, node, family))
		return 0;
	/* An IPv4 literal an IPv6 program takes as ::ffff:a.b.c.d. */
	if (family == AF_INET6 && (flags & AI_V4MAPPED) != 0 &&
	    delegate_literal(node) == AF_INET &&
	    (hostfam_get() & HOSTFAM_V4) != 0)
		return 0;
	return 1;
}

int
getaddrinfo_lookup(const struct shim_conf *c, const char *node,
    const char *service, const struct addrinfo *hints,
    struct addrinfo **res)
{
	int family, flags, rc, delegate, saved = errno;

	/* No answer can be had yet: "try again", as for a busy resolver. */
	if (!getaddrinfo_load())
		return EAI_AGAIN;
	if (getaddrinfo_real == NULL || freeaddrinfo_real == NULL) {
		errno = ENOSYS;
		return EAI_SYSTEM;
	}
	if (res == NULL || !getaddrinfo_claims(c, node, hints))
		goto real;
	errno = saved;	/* the decision may have read files */
	family = hints != NULL ? hints->ai_family : AF_UNSPEC;
	flags = hints != NULL ? hints->ai_flags : AI_V4MAPPED | AI_ADDRCONFIG;
	if (delegate_canary(node))
		return EAI_NONAME;	/* RFC 8484 canary: no DoH, please */
	if (c->mode == RESOLVE_LOCAL_FIRST) {
		errno = saved;
		rc = getaddrinfo_local_first(node, service, hints, family,
		    flags, res, &delegate);
		if (!delegate)
			return rc;
	}
	rc = getaddrinfo_fake(node, service, hints, family, flags, res);
	if (rc == 0)
		shim_debug("getaddrinfo %s: fake %s", node,
		    (*res)->ai_family == AF_INET6 ? "IPv6" : "IPv4");
	if (rc != EAI_SYSTEM && rc != EAI_FAIL)
		errno = saved;
	return rc;
real:
	errno = saved;
	return getaddrinfo_real(node, service, hints, res);
}

/* ------------------------------------------------------------------ */
/* the interposers                                                      */

SHIM_EXPORT int
getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	return getaddrinfo_lookup(shim_conf(), node, service, hints, res);
}

SHIM_EXPORT void
freeaddrinfo(struct addrinfo *ai)
{
	int saved = errno;

	if (ai == NULL)
		return;
	if (atomic_load_explicit(&getaddrinfo_nowned,
	    memory_order_acquire) != 0 && getaddrinfo_disown(ai)) {
		getaddrinfo_free_own(ai);
		errno = saved;
		return;
	}
	/* Re-entered while loading: libc's list is left, not freed blind. */
	if (getaddrinfo_load() && freeaddrinfo_real != NULL)
		freeaddrinfo_real(ai);
	errno = saved;
}
