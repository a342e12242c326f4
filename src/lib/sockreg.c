/*
 * sockreg.c - the program's sockets the shim has taken over: for each,
 * the fake peer the program connected to (getpeername, getsockname)
 * and, for UDP, the association that relays its datagrams (udp.c).
 *
 * Entries are keyed by the socket's SO_COOKIE, which names the socket
 * itself for the life of the system, not the descriptor: a dup() of a
 * socket finds the same entry, and a descriptor number reused by a new
 * socket does not. close() drops the entry of the descriptor closed;
 * sockets that vanish otherwise (close_range, dup2 over them, exit of
 * the owner) are swept when the table would grow: an entry whose last
 * descriptor no longer holds its socket goes then.
 *
 * The hot paths (send, recv, read, write, close on every descriptor of
 * the program) ask sockreg_maybe() first: one bit per descriptor
 * number, set while an entry was last seen there, read without a lock.
 * Everything else is under one mutex, kept usable across fork by
 * pthread_atfork handlers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#ifndef SO_COOKIE
#define SO_COOKIE	57
#endif

/* Descriptors below this have a hint bit; above, every one may be ours. */
#define SOCKREG_HINT_FDS	65536
#define SOCKREG_WORD_BITS	(8 * sizeof(unsigned long))

static pthread_mutex_t sockreg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct real_once sockreg_once = REAL_ONCE_INIT;
static struct idmap sockreg_map = IDMAP_INIT;	/* cookie -> entry */
static atomic_size_t sockreg_count;		/* sockreg_map.used */
static atomic_size_t sockreg_nudp;		/* entries with udp set */
static _Atomic unsigned long
    sockreg_hint[SOCKREG_HINT_FDS / SOCKREG_WORD_BITS];
/* Entries at which the next sweep runs (doubles with the live count). */
static size_t sockreg_sweep_at = 64;
/*
 * The real close(), also for the shim's own descriptors: our close()
 * hook would take sockreg_lock, which the callers here already hold.
 */
static int (*sockreg_real_close)(int);

static void
sockreg_prepare_fork(void)
{
	pthread_mutex_lock(&sockreg_lock);
}

static void
sockreg_after_fork(void)
{
	pthread_mutex_unlock(&sockreg_lock);
}

void
sockreg_atfork(void)
{
	(void)pthread_atfork(sockreg_prepare_fork, sockreg_after_fork,
	    sockreg_after_fork);
}

static void
sockreg_init(void)
{
	*(void **)&sockreg_real_close = real_symbol("close");
}

uint64_t
sockreg_cookie(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int saved = errno;

	if (fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == -1)
		cookie = 0;
	errno = saved;
	return cookie;
}

static void
sockreg_hint_set(int fd, int on)
{
	unsigned long bit;

	if (fd < 0 || fd >= SOCKREG_HINT_FDS)
		return;
	bit = 1UL << ((unsigned int)fd % SOCKREG_WORD_BITS);
	if (on)
		atomic_fetch_or_explicit(&sockreg_hint[fd / SOCKREG_WORD_BITS],
		    bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&sockreg_hint[fd / SOCKREG_WORD_BITS],
		    ~bit, memory_order_relaxed);
}

int
sockreg_maybe(int fd)
{
	if (atomic_load_explicit(&sockreg_nudp, memory_order_relaxed) == 0 ||
	    fd < 0)
		return 0;
	if (fd >= SOCKREG_HINT_FDS)
		return 1;
	return (atomic_load_explicit(&sockreg_hint[fd / SOCKREG_WORD_BITS],
	    memory_order_relaxed) >> ((unsigned int)fd % SOCKREG_WORD_BITS)) &
	    1;
}

/* Closes e's control connection if the descriptor still holds it. */
static void
sockreg_close_ctl(struct sockreg_entry *e)
{
	if (e->ctl >= 0 && e->ctl_cookie != 0 &&
	    sockreg_cookie(e->ctl) == e->ctl_cookie) {
		if (sockreg_real_close != NULL)
			sockreg_real_close(e->ctl);
		else
			(void)real_raw(SYS_close, e->ctl, 0, 0, 0, 0, 0);
	}
	e->ctl = -1;
	e->ctl_cookie = 0;
}

/*
 * Drops the entries whose socket is gone from the descriptor they were
 * last seen at (the lock is held). Keys are gathered first: the map
 * must not change while it is walked.
 */
static void
sockreg_sweep(void)
{
	uint64_t key, *gone;
	size_t pos = 0, n = 0, i;
	void *val;

	if ((gone = malloc(sockreg_map.used * sizeof(*gone))) == NULL)
		return;
	while (idmap_next(&sockreg_map, &pos, &key, &val))
		if (sockreg_cookie(((struct sockreg_entry *)val)->fd) != key)
			gone[n++] = key;
	for (i = 0; i < n; i++) {
		struct sockreg_entry *e = idmap_del(&sockreg_map, gone[i]);

		if (e->udp)
			atomic_fetch_sub(&sockreg_nudp, 1);
		sockreg_close_ctl(e);
		free(e);
	}
	free(gone);
	atomic_store(&sockreg_count, sockreg_map.used);
}

static void
sockreg_mark_udp(struct sockreg_entry *e)
{
	if (!e->udp)
		atomic_fetch_add(&sockreg_nudp, 1);
	e->udp = 1;
}

/*
 * The entry of fd's socket (cookie), made if create is set; NULL if
 * there is none (or no memory). The lock is held.
 */
static struct sockreg_entry *
sockreg_find(int fd, uint64_t cookie, int create)
{
	struct sockreg_entry *e;

	if (cookie == 0)
		return NULL;
	if ((e = idmap_get(&sockreg_map, cookie)) != NULL || !create)
		goto out;
	if (sockreg_map.used + 1 > sockreg_sweep_at) {
		sockreg_sweep();
		sockreg_sweep_at = 2 * (sockreg_map.used + 32);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->cookie = cookie;
	e->ctl = -1;
	if (idmap_put(&sockreg_map, cookie, e) == -1) {
		free(e);
		return NULL;
	}
	atomic_store(&sockreg_count, sockreg_map.used);
out:
	if (e != NULL && e->fd != fd) {
		e->fd = fd;
		if (e->udp)
			sockreg_hint_set(fd, 1);
	}
	return e;
}

int
sockreg_set_peer(int fd, const struct sockaddr *peer, socklen_t len,
    int udp)
{
	struct sockreg_entry *e;
	uint64_t cookie = sockreg_cookie(fd);
	int r = -1;

	if (len > sizeof(e->peer))
		return -1;
	if (!real_once(&sockreg_once, sockreg_init))
		return -1;
	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, cookie, 1)) != NULL) {
		memcpy(&e->peer, peer, len);
		e->peerlen = len;
		if (e->family == 0)
			e->family = peer->sa_family;
		/* Only datagram sockets need their data path watched. */
		if (udp) {
			sockreg_mark_udp(e);
			sockreg_hint_set(fd, 1);
		}
		r = 0;
	}
	pthread_mutex_unlock(&sockreg_lock);
	return r;
}

void
sockreg_forget_peer(int fd)
{
	struct sockreg_entry *e;

	if (atomic_load_explicit(&sockreg_count, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, sockreg_cookie(fd), 0)) != NULL)
		e->peerlen = 0;
	pthread_mutex_unlock(&sockreg_lock);
}

int
sockreg_get(int fd, struct sockreg_entry *out)
{
	struct sockreg_entry *e;
	uint64_t cookie;
	int found = 0;

	if (atomic_load_explicit(&sockreg_count, memory_order_relaxed) == 0)
		return 0;
	cookie = sockreg_cookie(fd);
	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, cookie, 0)) != NULL) {
		*out = *e;
		found = 1;
	} else
		sockreg_hint_set(fd, 0);	/* a stale hint: now another file */
	pthread_mutex_unlock(&sockreg_lock);
	return found;
}

int
sockreg_set_udp(int fd, int family, int ctl, uint64_t ctl_cookie,
    const struct sockaddr *relay, socklen_t relaylen)
{
	struct sockreg_entry *e, old;
	uint64_t cookie = sockreg_cookie(fd);
	int r = -1;

	if (relaylen > sizeof(e->relay))
		return -1;
	if (!real_once(&sockreg_once, sockreg_init))
		return -1;
	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, cookie, 1)) != NULL) {
		/* Another thread's association, or a dead one: ours now. */
		old = *e;
		sockreg_close_ctl(&old);
		sockreg_mark_udp(e);
		if (e->family == 0)
			e->family = family;
		sockreg_hint_set(fd, 1);
		e->ctl = ctl;
		e->ctl_cookie = ctl_cookie;
		memcpy(&e->relay, relay, relaylen);
		e->relaylen = relaylen;
		e->checked_ms = socks_now_ms();
		r = 0;
	}
	pthread_mutex_unlock(&sockreg_lock);
	return r;
}

void
sockreg_checked(int fd, uint64_t ctl_cookie, long long now_ms)
{
	struct sockreg_entry *e;

	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, sockreg_cookie(fd), 0)) != NULL &&
	    e->ctl_cookie == ctl_cookie)
		e->checked_ms = now_ms;
	pthread_mutex_unlock(&sockreg_lock);
}

void
sockreg_drop_udp(int fd, uint64_t ctl_cookie)
{
	struct sockreg_entry *e;

	pthread_mutex_lock(&sockreg_lock);
	if ((e = sockreg_find(fd, sockreg_cookie(fd), 0)) != NULL &&
	    e->ctl_cookie == ctl_cookie) {
		sockreg_close_ctl(e);
		e->relaylen = 0;
	}
	pthread_mutex_unlock(&sockreg_lock);
}

void
sockreg_close(int fd)
{
	struct sockreg_entry *e;
	uint64_t cookie;

	if (!sockreg_maybe(fd))
		return;
	cookie = sockreg_cookie(fd);
	pthread_mutex_lock(&sockreg_lock);
	sockreg_hint_set(fd, 0);
	/*
	 * The association ends with the descriptor it was last used at,
	 * so its control connection never outlives the socket. The entry
	 * stays until the next sweep: a dup() of the socket that is still
	 * open finds its fake peer, and associates again if it sends.
	 */
	if (cookie != 0 && (e = idmap_get(&sockreg_map, cookie)) != NULL &&
	    e->fd == fd) {
		sockreg_close_ctl(e);
		e->relaylen = 0;
		e->fd = -1;
	}
	pthread_mutex_unlock(&sockreg_lock);
}

/*
 * A close() reached from inside the shim's own initialisation (a
 * program's malloc started by dlsym) cannot wait for it, nor can one
 * with no libc close() found: the kernel's, raw (real.c). The entry is
 * dropped all the same: sockreg_maybe is 0 until some thread has
 * finished loading and registered a socket, and no hook holds the lock
 * while it loads.
 */
SHIM_EXPORT int
close(int fd)
{
	int loaded = real_once(&sockreg_once, sockreg_init);

	pending_close(fd);
	sockreg_close(fd);
	if (!loaded || sockreg_real_close == NULL)
		return (int)real_raw(SYS_close, fd, 0, 0, 0, 0, 0);
	return sockreg_real_close(fd);
}
