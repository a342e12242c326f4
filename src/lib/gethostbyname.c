/*
 * gethostbyname.c - the hostent interposers: gethostbyname,
 * gethostbyname2, their _r forms, gethostbyaddr and gethostbyaddr_r.
 *
 * glibc's gethostbyname does not go through getaddrinfo (nor the other
 * way round), so each entry point is hooked on its own. A delegated
 * name gets one fake address of the asked family; a fake address gets
 * its name back. The non-reentrant forms keep their answer in
 * thread-local storage (glibc's is static; per thread is no worse for
 * a correct program and safer for the rest); the _r forms fill the
 * caller's buffer and say ERANGE when it is too small, as glibc does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdalign.h>
#include <string.h>

#include "shim.h"

typedef struct hostent *(*gethostbyname_fn)(const char *);
typedef struct hostent *(*gethostbyname2_fn)(const char *, int);
typedef int (*gethostbyname_r_fn)(const char *, struct hostent *, char *,
    size_t, struct hostent **, int *);
typedef int (*gethostbyname2_r_fn)(const char *, int, struct hostent *,
    char *, size_t, struct hostent **, int *);
typedef struct hostent *(*gethostbyaddr_fn)(const void *, socklen_t, int);
typedef int (*gethostbyaddr_r_fn)(const void *, socklen_t, int,
    struct hostent *, char *, size_t, struct hostent **, int *);

static struct {
	gethostbyname_fn	byname;
	gethostbyname2_fn	byname2;
	gethostbyname_r_fn	byname_r;
	gethostbyname2_r_fn	byname2_r;
	gethostbyaddr_fn	byaddr;
	gethostbyaddr_r_fn	byaddr_r;
} gethostbyname_real;
static struct real_once gethostbyname_once = REAL_ONCE_INIT;

/* The answer of the non-reentrant forms, one per thread. */
static _Thread_local struct {
	struct hostent	he;
	alignas(char *) char buf[512];
} gethostbyname_tls;

static void
gethostbyname_init(void)
{
	*(void **)&gethostbyname_real.byname = real_symbol("gethostbyname");
	*(void **)&gethostbyname_real.byname2 =
	    real_symbol("gethostbyname2");
	*(void **)&gethostbyname_real.byname_r =
	    real_symbol("gethostbyname_r");
	*(void **)&gethostbyname_real.byname2_r =
	    real_symbol("gethostbyname2_r");
	*(void **)&gethostbyname_real.byaddr = real_symbol("gethostbyaddr");
	*(void **)&gethostbyname_real.byaddr_r =
	    real_symbol("gethostbyaddr_r");
}

/*
 * 1 once the real functions are known; 0 for a call re-entered from
 * inside their look-up (a program's malloc reached from dlsym), which
 * cannot wait for it: the hook answers TRY_AGAIN. errno is kept.
 */
static int
gethostbyname_load(void)
{
	return real_once(&gethostbyname_once, gethostbyname_init);
}

int
gethostbyname_fill(struct hostent *he, char *buf, size_t buflen,
    const char *name, int family, const void *addr)
{
	size_t alen = family == AF_INET6 ? 16 : 4, nlen = strlen(name) + 1;
	size_t pad = (alignof(char *) -
	    ((uintptr_t)buf % alignof(char *))) % alignof(char *);
	char **aliases, **addrs, *a, *n;

	if (buflen < pad || buflen - pad < 3 * sizeof(char *) + alen + nlen) {
		errno = ERANGE;
		return -1;
	}
	aliases = (char **)(void *)(buf + pad);
	addrs = aliases + 1;
	a = (char *)(addrs + 2);
	n = a + alen;
	aliases[0] = NULL;
	memcpy(a, addr, alen);
	addrs[0] = a;
	addrs[1] = NULL;
	memcpy(n, name, nlen);
	he->h_name = n;
	he->h_aliases = aliases;
	he->h_addrtype = family;
	he->h_length = (int)alen;
	he->h_addr_list = addrs;
	return 0;
}

/* Whether name in family af is answered by the shim, not by libc. */
static int
gethostbyname_delegated(const char *name, int af)
{
	const struct shim_conf *c = shim_conf();

	return c->enabled && name != NULL && (af == AF_INET || af == AF_INET6)
	    && delegate_decide(c, name, af);
}

/*
 * The fake answer for a delegated name in family af, into he/buf.
 * Returns 0 when *herr tells the outcome (0: he filled), or -1 with
 * errno ERANGE (buffer too small) or ENOSPC (range exhausted).
 */
static int
gethostbyname_fake(const char *name, int af, struct hostent *he,
    char *buf, size_t buflen, int *herr)
{
	struct sockaddr_in6 sin6;
	socklen_t salen;
	const void *a;
	char norm[256];
	int want;

	if (delegate_canary(name)) {
		*herr = HOST_NOT_FOUND;
		return 0;
	}
	want = af == AF_INET ? HOSTFAM_V4 : HOSTFAM_V6;
	if ((delegate_answer_families(af, 0, hostfam_get()) &
	    want) == 0) {
		*herr = NO_DATA;	/* a family the host does not have */
		return 0;
	}
	if (fakeip_normalise(name, norm, sizeof(norm)) == -1 ||
	    fakeip_assign(norm, af, (struct sockaddr *)&sin6, &salen) == -1) {
		*herr = NO_RECOVERY;
		if (errno != ENOSPC)
			errno = ENOMEM;
		return -1;
	}
	a = af == AF_INET ?
	    (const void *)&((struct sockaddr_in *)(void *)&sin6)->sin_addr :
	    (const void *)&sin6.sin6_addr;
	if (gethostbyname_fill(he, buf, buflen, norm, af, a) == -1) {
		*herr = NETDB_INTERNAL;
		return -1;
	}
	*herr = 0;
	return 0;
}

/*
 * The name of a fake address, into he/buf. Returns 1 if addr is not in
 * a fake range (ask the real function), else as gethostbyname_fake. A
 * fake this process never handed out is not found, without DNS.
 */
static int
gethostbyname_addr(const void *addr, socklen_t len, int type,
    struct hostent *he, char *buf, size_t buflen, int *herr)
{
	struct sockaddr_in6 sin6;
	char name[256];

	if (!shim_conf()->enabled || addr == NULL)
		return 1;
	memset(&sin6, 0, sizeof(sin6));
	if (type == AF_INET && len == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&sin6;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, 4);
	} else if (type == AF_INET6 && len == 16) {
		sin6.sin6_family = AF_INET6;
		memcpy(&sin6.sin6_addr, addr, 16);
	} else
		return 1;
	if (!fakeip_in_range((struct sockaddr *)&sin6))
		return 1;
	if (!fakeip_lookup((struct sockaddr *)&sin6, name, sizeof(name))) {
		*herr = HOST_NOT_FOUND;
		return 0;
	}
	if (gethostbyname_fill(he, buf, buflen, name, type, addr) == -1) {
		*herr = NETDB_INTERNAL;
		return -1;
	}
	*herr = 0;
	return 0;
}

/* In local-first mode the real answer is taken when there is one. */
static int
gethostbyname_local_first(void)
{
	return shim_conf()->mode == RESOLVE_LOCAL_FIRST;
}

/* The _r convention: 0 with *result set or NULL + *h_errnop, or errno. */
static int
gethostbyname_r_result(int r, int herr, struct hostent *ret,
    struct hostent **result, int *h_errnop)
{
	*h_errnop = herr;
	if (r == 0 && herr == 0) {
		*result = ret;
		return 0;
	}
	*result = NULL;
	return r == 0 ? 0 : errno;
}

/* The fake answer of the _r forms, with their return convention. */
static int
gethostbyname_r_fake(const char *name, int af, struct hostent *ret,
    char *buf, size_t buflen, struct hostent **result, int *h_errnop,
    int saved)
{
	int r, herr = 0;

	r = gethostbyname_fake(name, af, ret, buf, buflen, &herr);
	r = gethostbyname_r_result(r, herr, ret, result, h_errnop);
	if (r == 0)
		errno = saved;
	return r;
}

static struct hostent *
gethostbyname_static_result(int r, int herr, int saved)
{
	h_errno = herr;
	if (r == 0 && herr == 0) {
		errno = saved;
		return &gethostbyname_tls.he;
	}
	if (r == 0)
		errno = saved;
	return NULL;
}

/* The answer of an _r call that cannot be made yet: try again. */
static int
gethostbyname_retry(struct hostent **result, int *h_errnop)
{
	*result = NULL;
	*h_errnop = TRY_AGAIN;
	return EAGAIN;
}

/* ------------------------------------------------------------------ */
/* the interposers                                                      */

SHIM_EXPORT struct hostent *
gethostbyname2(const char *name, int af)
{
	struct hostent *he;
	int r, herr = 0, saved = errno;

	if (!gethostbyname_load()) {
		h_errno = TRY_AGAIN;
		return NULL;
	}
	if (gethostbyname_real.byname2 == NULL) {
		h_errno = NO_RECOVERY;
		return NULL;
	}
	if (!gethostbyname_delegated(name, af)) {
		errno = saved;
		return gethostbyname_real.byname2(name, af);
	}
	if (gethostbyname_local_first()) {
		errno = saved;
		if ((he = gethostbyname_real.byname2(name, af)) != NULL)
			return he;
		errno = saved;
	}
	r = gethostbyname_fake(name, af, &gethostbyname_tls.he,
	    gethostbyname_tls.buf, sizeof(gethostbyname_tls.buf), &herr);
	return gethostbyname_static_result(r, herr, saved);
}

SHIM_EXPORT struct hostent *
gethostbyname(const char *name)
{
	struct hostent *he;
	int r, herr = 0, saved = errno;

	if (!gethostbyname_load()) {
		h_errno = TRY_AGAIN;
		return NULL;
	}
	if (gethostbyname_real.byname == NULL) {
		h_errno = NO_RECOVERY;
		return NULL;
	}
	if (!gethostbyname_delegated(name, AF_INET)) {
		errno = saved;
		return gethostbyname_real.byname(name);
	}
	if (gethostbyname_local_first()) {
		errno = saved;
		if ((he = gethostbyname_real.byname(name)) != NULL)
			return he;
		errno = saved;
	}
	r = gethostbyname_fake(name, AF_INET, &gethostbyname_tls.he,
	    gethostbyname_tls.buf, sizeof(gethostbyname_tls.buf), &herr);
	return gethostbyname_static_result(r, herr, saved);
}

SHIM_EXPORT int
gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop)
{
	int r, saved = errno;

	if (!gethostbyname_load())
		return gethostbyname_retry(result, h_errnop);
	if (gethostbyname_real.byname2_r == NULL) {
		*result = NULL;
		*h_errnop = NO_RECOVERY;
		return ENOSYS;
	}
	if (!gethostbyname_delegated(name, af)) {
		errno = saved;
		return gethostbyname_real.byname2_r(name, af, ret, buf,
		    buflen, result, h_errnop);
	}
	if (gethostbyname_local_first()) {
		errno = saved;
		r = gethostbyname_real.byname2_r(name, af, ret, buf, buflen,
		    result, h_errnop);
		if (r != 0 || *result != NULL)
			return r;	/* found, or ERANGE: not ours */
		errno = saved;
	}
	return gethostbyname_r_fake(name, af, ret, buf, buflen, result,
	    h_errnop, saved);
}

SHIM_EXPORT int
gethostbyname_r(const char *name, struct hostent *ret, char *buf,
    size_t buflen, struct hostent **result, int *h_errnop)
{
	int r, saved = errno;

	if (!gethostbyname_load())
		return gethostbyname_retry(result, h_errnop);
	if (gethostbyname_real.byname_r == NULL) {
		*result = NULL;
		*h_errnop = NO_RECOVERY;
		return ENOSYS;
	}
	if (!gethostbyname_delegated(name, AF_INET)) {
		errno = saved;
		return gethostbyname_real.byname_r(name, ret, buf, buflen,
		    result, h_errnop);
	}
	if (gethostbyname_local_first()) {
		errno = saved;
		r = gethostbyname_real.byname_r(name, ret, buf, buflen,
		    result, h_errnop);
		if (r != 0 || *result != NULL)
			return r;
		errno = saved;
	}
	return gethostbyname_r_fake(name, AF_INET, ret, buf, buflen, result,
	    h_errnop, saved);
}

SHIM_EXPORT struct hostent *
gethostbyaddr(const void *addr, socklen_t len, int type)
{
	int r, herr = 0, saved = errno;

	if (!gethostbyname_load()) {
		h_errno = TRY_AGAIN;
		return NULL;
	}
	r = gethostbyname_addr(addr, len, type, &gethostbyname_tls.he,
	    gethostbyname_tls.buf, sizeof(gethostbyname_tls.buf), &herr);
	if (r != 1)
		return gethostbyname_static_result(r, herr, saved);
	errno = saved;
	if (gethostbyname_real.byaddr == NULL) {
		h_errno = NO_RECOVERY;
		return NULL;
	}
	return gethostbyname_real.byaddr(addr, len, type);
}

SHIM_EXPORT int
gethostbyaddr_r(const void *addr, socklen_t len, int type,
    struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
    int *h_errnop)
{
	int r, herr = 0, saved = errno;

	if (!gethostbyname_load())
		return gethostbyname_retry(result, h_errnop);
	r = gethostbyname_addr(addr, len, type, ret, buf, buflen, &herr);
	if (r != 1) {
		r = gethostbyname_r_result(r, herr, ret, result, h_errnop);
		if (r == 0)
			errno = saved;
		return r;
	}
	errno = saved;
	if (gethostbyname_real.byaddr_r == NULL) {
		*result = NULL;
		*h_errnop = NO_RECOVERY;
		return ENOSYS;
	}
	return gethostbyname_real.byaddr_r(addr, len, type, ret, buf, buflen,
	    result, h_errnop);
}
