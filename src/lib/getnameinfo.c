/*
 * getnameinfo.c - the getnameinfo() interposer.
 *
 * A fake address gives back the name it was handed out for, so a
 * program that prints or logs its peer (getpeername + getnameinfo)
 * shows the name, never a reverse look-up of an address that means
 * nothing outside this process. The service half is always libc's.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "shim.h"

typedef int (*getnameinfo_fn)(const struct sockaddr *, socklen_t, char *,
    socklen_t, char *, socklen_t, int);

static getnameinfo_fn getnameinfo_real;
static struct real_once getnameinfo_once = REAL_ONCE_INIT;

static void
getnameinfo_init(void)
{
	*(void **)&getnameinfo_real = real_symbol("getnameinfo");
}

/* The answer for sa, which lies in a fake range. */
static int
getnameinfo_fake(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	char name[256];
	size_t n;
	int rc;

	if (!fakeip_lookup(sa, name, sizeof(name))) {
		/*
		 * In a fake range but not handed out here (remembered from
		 * another run): a reverse look-up would only leak it.
		 */
		if (flags & NI_NAMEREQD)
			return EAI_NONAME;
		return getnameinfo_real(sa, salen, host, hostlen, serv,
		    servlen, flags | NI_NUMERICHOST);
	}
	if (serv != NULL && servlen > 0 && (rc = getnameinfo_real(sa, salen,
	    NULL, 0, serv, servlen, flags)) != 0)
		return rc;
	n = strlen(name);
	if (n >= hostlen)
		return EAI_OVERFLOW;
	memcpy(host, name, n + 1);
	return 0;
}

SHIM_EXPORT int
getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
    socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
	int rc, saved = errno;

	/* Re-entered from inside dlsym (real.c): it cannot wait for itself. */
	if (!real_once(&getnameinfo_once, getnameinfo_init))
		return EAI_AGAIN;
	if (getnameinfo_real == NULL) {
		errno = ENOSYS;
		return EAI_SYSTEM;
	}
	/*
	 * NI_NUMERICHOST wants the fake literal itself, and a short salen
	 * is libc's error to report.
	 */
	if (!shim_conf()->enabled || host == NULL || hostlen == 0 ||
	    (flags & NI_NUMERICHOST) != 0 || sa == NULL ||
	    salen < addr_len(sa) || !fakeip_in_range(sa))
		return getnameinfo_real(sa, salen, host, hostlen, serv, servlen,
		    flags);
	rc = getnameinfo_fake(sa, salen, host, hostlen, serv, servlen, flags);
	if (rc != EAI_SYSTEM)
		errno = saved;
	return rc;
}
