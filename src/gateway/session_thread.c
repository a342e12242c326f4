/*
 * session_thread.c - the threads that run sessions (session.c), and the
 * count of live ones that max-clients and SIGTERM's drain go by.
 *
 * A client gets a thread of its own, created at accept, or handed to a
 * thread that finished its previous session and waits for the next.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "gatewayd.h"

/*
 * Stack of a session thread, and of dial.c's look-up threads. The
 * deepest user is getaddrinfo() (on a look-up thread): glibc's NSS
 * "dns" module alloca()s its answer buffers up to a quarter of the
 * stack before it turns to malloc. Measured on a painted stack
 * (tests/unit/test_session_stack.c, and by hand against a local resolver
 * answering 200 records): 10 KiB for /etc/hosts, 26 KiB for DNS (28 KiB
 * under ASan), 8 KiB for yescrypt in users_check() (12 under ASan).
 * 64 KiB would hold that; 128 KiB leaves room for heavier NSS modules
 * (resolve, ldap) and costs only address space until touched.
 */
#define SESSION_STACK	(128 * 1024)

/*
 * Live session count. Written under session_lock so session_wait_all()
 * cannot miss the last wake-up; read without it (atomic) by the accept
 * path for max-clients.
 */
static _Atomic unsigned int	session_live;
static pthread_mutex_t		session_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		session_gone;
static pthread_once_t		session_once = PTHREAD_ONCE_INIT;

/*
 * A thread whose session ended waits a little for the next client
 * instead of exiting: a new session then costs a wake-up, not a thread
 * (clone3, a stack, four signal mask changes, rseq, robust list and an
 * madvise at exit, and the scheduling of a new task). Bounded in number
 * and time, so a burst leaves no crowd of threads behind. Queued
 * sessions never outnumber the waiting threads, so each is taken.
 * Under session_lock: the queue, its length and the idle count.
 */
#define SESSION_POOL_MAX	64	/* idle threads kept at most */
#define SESSION_POOL_IDLE_MS	2000	/* and for how long each */

static struct session		*session_queue, **session_queue_tail =
				    &session_queue;
static unsigned int		 session_queued, session_idle;
static pthread_cond_t		 session_work;

/* The condition variable waits on CLOCK_MONOTONIC, as deadlines do. */
static void
session_init_once(void)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&session_gone, &attr);
	pthread_cond_init(&session_work, &attr);
	pthread_condattr_destroy(&attr);
}

void
session_ended(void)
{
	pthread_mutex_lock(&session_lock);
	if (--session_live == 0)
		pthread_cond_broadcast(&session_gone);
	pthread_mutex_unlock(&session_lock);
}

/* ts = CLOCK_MONOTONIC now + ms, as the condition variables wait. */
static void
session_abstime(struct timespec *ts, unsigned int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * An idle thread's wait for the next session handed to it. Returns it,
 * or NULL when none came in time or enough threads wait already.
 */
static struct session *
session_next(void)
{
	struct timespec	 ts;
	struct session	*s;

	session_abstime(&ts, SESSION_POOL_IDLE_MS);
	pthread_mutex_lock(&session_lock);
	if (session_idle >= SESSION_POOL_MAX) {
		pthread_mutex_unlock(&session_lock);
		return NULL;
	}
	session_idle++;
	while (session_queue == NULL)
		if (pthread_cond_timedwait(&session_work, &session_lock,
		    &ts) == ETIMEDOUT)
			break;
	/* Even after a timeout: a session queued meanwhile counted on us. */
	if ((s = session_queue) != NULL) {
		if ((session_queue = s->next) == NULL)
			session_queue_tail = &session_queue;
		session_queued--;
	}
	session_idle--;
	pthread_mutex_unlock(&session_lock);
	return s;
}

/* A session thread: its first session, then those handed to it. */
static void *
session_main(void *arg)
{
	struct session *s = arg;

	do
		session_run(s);
	while ((s = session_next()) != NULL);
	return NULL;
}

/*
 * Queues s for an idle thread if one waits without work. Called with
 * session_lock held; the caller wakes the thread once it let go of the
 * lock, so the thread does not wake only to wait for the lock. Returns
 * 1 if queued, 0 if a thread is needed.
 */
static int
session_hand_over(struct session *s)
{
	if (session_queued >= session_idle)
		return 0;
	s->next = NULL;
	*session_queue_tail = s;
	session_queue_tail = &s->next;
	session_queued++;
	return 1;
}

int
session_spawn(int fd, const struct sockaddr *client, socklen_t clientlen,
    struct gw_conf *c)
{
	struct session	*s;
	pthread_attr_t	 attr;
	pthread_t	 t;
	int		 rc;

	pthread_once(&session_once, session_init_once);
	if ((s = session_new(fd, client, clientlen, c)) == NULL)
		return -1;

	pthread_mutex_lock(&session_lock);
	session_live++;
	if (session_hand_over(s)) {
		pthread_mutex_unlock(&session_lock);
		pthread_cond_signal(&session_work);
		return 0;
	}
	pthread_mutex_unlock(&session_lock);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, SESSION_STACK);
	rc = pthread_create(&t, &attr, session_main, s);
	pthread_attr_destroy(&attr);
	if (rc == 0)
		return 0;

	session_ended();
	session_discard(s);
	errno = rc;
	return -1;
}

unsigned int
session_count(void)
{
	return session_live;
}

unsigned int
session_wait_all(unsigned int timeout_ms)
{
	struct timespec	ts;
	unsigned int	left;

	pthread_once(&session_once, session_init_once);
	session_abstime(&ts, timeout_ms);
	pthread_mutex_lock(&session_lock);
	while (session_live > 0)
		if (pthread_cond_timedwait(&session_gone, &session_lock,
		    &ts) == ETIMEDOUT)
			break;
	left = session_live;
	pthread_mutex_unlock(&session_lock);
	return left;
}
