/*
 * gaiasync.c - the getaddrinfo_a() interposer.
 *
 * glibc's asynchronous look-ups run getaddrinfo inside libc, past the
 * getaddrinfo hook, so a delegated name would be resolved for real. The
 * requests the getaddrinfo hook would answer itself are answered here,
 * at once (a fake address is local and immediate), by the same code;
 * only the others reach the real getaddrinfo_a. glibc's gai_error()
 * reads the request's __return, and its gai_suspend() and gai_cancel()
 * treat a request they never queued, whose __return is not
 * EAI_INPROGRESS, as done (EAI_ALLDONE for the cancel): so those three
 * need no hook of their own.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

typedef int (*getaddrinfo_a_fn)(int, struct gaicb *const [], int,
    struct sigevent *);

static getaddrinfo_a_fn gaiasync_real;
static struct real_once gaiasync_once = REAL_ONCE_INIT;

static void
gaiasync_init(void)
{
	*(void **)&gaiasync_real = real_symbol("getaddrinfo_a");
}

/* What a SIGEV_THREAD notification thread is given. */
struct gaiasync_notify {
	void	(*fn)(union sigval);
	union sigval	 value;
};

static void *
gaiasync_thread(void *arg)
{
	struct gaiasync_notify n = *(struct gaiasync_notify *)arg;

	free(arg);
	n.fn(n.value);
	return NULL;
}

/*
 * The notification glibc would send when the last request is done:
 * a queued signal with si_code SI_ASYNCNL (rt_sigqueueinfo made
 * directly: sigqueue says SI_QUEUE, and syscall() is our hook), or a
 * detached thread calling the function. A failure to notify is not the
 * look-ups' failure (glibc ignores it too); it is logged in debug.
 */
static void
gaiasync_notify(const struct sigevent *sevp)
{
	struct gaiasync_notify *n;
	pthread_attr_t attr, *pattr;
	pthread_t tid;
	siginfo_t si;
	int detach = PTHREAD_CREATE_DETACHED, rc;

	if (sevp == NULL)
		return;
	if (sevp->sigev_notify == SIGEV_SIGNAL) {
		memset(&si, 0, sizeof(si));
		si.si_signo = sevp->sigev_signo;
		si.si_code = SI_ASYNCNL;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value = sevp->sigev_value;
		if (real_raw(SYS_rt_sigqueueinfo, (long)si.si_pid,
		    (long)si.si_signo, (long)&si, 0, 0, 0) == -1)
			shim_debug("getaddrinfo_a: no signal: errno %d", errno);
		return;
	}
	if (sevp->sigev_notify != SIGEV_THREAD ||
	    sevp->sigev_notify_function == NULL)
		return;
	if ((n = malloc(sizeof(*n))) == NULL)
		return;
	n->fn = sevp->sigev_notify_function;
	n->value = sevp->sigev_value;
	pattr = sevp->sigev_notify_attributes;
	if (pattr == NULL) {
		if (pthread_attr_init(&attr) != 0) {
			free(n);
			return;
		}
		(void)pthread_attr_setdetachstate(&attr,
		    PTHREAD_CREATE_DETACHED);
		pattr = &attr;
	} else
		(void)pthread_attr_getdetachstate(pattr, &detach);
	rc = pthread_create(&tid, pattr, gaiasync_thread, n);
	if (pattr == &attr)
		pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(n);
		shim_debug("getaddrinfo_a: no notify thread: errno %d", rc);
		return;
	}
	/* The program's attributes may say joinable; nobody joins it. */
	if (detach != PTHREAD_CREATE_DETACHED)
		(void)pthread_detach(tid);
}

int
gaiasync_submit(const struct shim_conf *c, int mode,
    struct gaicb *const list[], int ent, struct sigevent *sevp)
{
	struct gaicb **rest = NULL;
	struct gaicb *r;
	int i, n = 0, ours = 0, rc = 0, saved = errno;

	/* Re-entered from dlsym's allocation: "try again", as getaddrinfo. */
	if (!real_once(&gaiasync_once, gaiasync_init))
		return EAI_AGAIN;
	if (gaiasync_real == NULL) {
		errno = ENOSYS;
		return EAI_SYSTEM;
	}
	if (mode != GAI_WAIT && mode != GAI_NOWAIT)
		return gaiasync_real(mode, list, ent, sevp);
	for (i = 0; i < ent; i++)
		if (list[i] != NULL && getaddrinfo_claims(c, list[i]->ar_name,
		    list[i]->ar_request))
			ours++;
	errno = saved;
	if (ours == 0)		/* the common case: libc's, untouched */
		return gaiasync_real(mode, list, ent, sevp);
	/* (ent slots: a second decision may differ from the first.) */
	if ((rest = calloc((size_t)ent, sizeof(struct gaicb *))) == NULL)
		return EAI_MEMORY;	/* nothing queued, as glibc's */
	/*
	 * Ours first, so that they are done before the real part (and its
	 * notification, which then stands for the whole list) can end.
	 */
	for (i = 0; i < ent; i++) {
		if ((r = list[i]) == NULL)
			continue;
		if (!getaddrinfo_claims(c, r->ar_name, r->ar_request)) {
			rest[n++] = r;
			continue;
		}
		r->ar_result = NULL;
		r->__return = getaddrinfo_lookup(c, r->ar_name, r->ar_service,
		    r->ar_request, &r->ar_result);
		if (r->__return != 0)
			r->ar_result = NULL;
	}
	errno = saved;
	if (n > 0)
		rc = gaiasync_real(mode, rest, n, sevp);
	else if (mode == GAI_NOWAIT)
		gaiasync_notify(sevp);
	free(rest);
	return rc;
}

SHIM_EXPORT int
getaddrinfo_a(int mode, struct gaicb *list[], int ent,
    struct sigevent *sevp)
{
	return gaiasync_submit(shim_conf(), mode, list, ent, sevp);
}
