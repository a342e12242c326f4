/*
 * poll.c - the waiting calls, hooked so that a non-blocking connect
 * through the gateway (pending.c) moves on while the program waits for
 * it: poll, ppoll (and glibc's fortified __poll_chk, __ppoll_chk),
 * select, pselect, epoll_ctl, epoll_wait, epoll_pwait, epoll_pwait2,
 * and getsockopt(SO_ERROR), where the program reads how it ended.
 *
 * For a pending socket the kernel is asked for what the SOCKS exchange
 * needs (POLLOUT while sending, POLLIN for the replies), never for what
 * the program asked; the program hears of the socket only once the
 * tunnel is open (then the kernel's own answer) or the exchange failed
 * (POLLERR added). With no pending socket in the process every hook is
 * one atomic load and the real call.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "shim.h"

static int	(*real_poll)(struct pollfd *, nfds_t, int);
static int	(*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		    const sigset_t *);
static int	(*real_select)(int, fd_set *, fd_set *, fd_set *,
		    struct timeval *);
static int	(*real_pselect)(int, fd_set *, fd_set *, fd_set *,
		    const struct timespec *, const sigset_t *);
static int	(*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int	(*real_epoll_wait)(int, struct epoll_event *, int, int);
static int	(*real_epoll_pwait)(int, struct epoll_event *, int, int,
		    const sigset_t *);
static int	(*real_epoll_pwait2)(int, struct epoll_event *, int,
		    const struct timespec *, const sigset_t *);
static int	(*real_getsockopt)(int, int, int, void *, socklen_t *);
/* glibc's fortified poll and ppoll: only to fail their check. */
static int	(*real_poll_chk)(struct pollfd *, nfds_t, int, size_t);
static int	(*real_ppoll_chk)(struct pollfd *, nfds_t,
		    const struct timespec *, const sigset_t *, size_t);
static struct real_once poll_once = REAL_ONCE_INIT;

static void
poll_init(void)
{
	*(void **)&real_poll = real_symbol("poll");
	*(void **)&real_ppoll = real_symbol("ppoll");
	*(void **)&real_select = real_symbol("select");
	*(void **)&real_pselect = real_symbol("pselect");
	*(void **)&real_epoll_ctl = real_symbol("epoll_ctl");
	*(void **)&real_epoll_wait = real_symbol("epoll_wait");
	*(void **)&real_epoll_pwait = real_symbol("epoll_pwait");
	*(void **)&real_epoll_pwait2 = real_symbol("epoll_pwait2");
	*(void **)&real_getsockopt = real_symbol("getsockopt");
	*(void **)&real_poll_chk = real_symbol("__poll_chk");
	*(void **)&real_ppoll_chk = real_symbol("__ppoll_chk");
}

static int
poll_load(void)
{
	return real_once(&poll_once, poll_init) && real_poll != NULL &&
	    real_ppoll != NULL && real_select != NULL &&
	    real_pselect != NULL && real_epoll_ctl != NULL &&
	    real_epoll_wait != NULL && real_epoll_pwait != NULL &&
	    real_getsockopt != NULL;
}

/* The wait until end (ms; -1 for ever) or the nearest deadline dl. */
static int
poll_wait_ms(long long end, long long dl)
{
	long long now = socks_now_ms(), w = end < 0 ? -1 : end - now;

	if (end >= 0 && w < 0)
		w = 0;
	if (dl != 0 && (w < 0 || dl - now < w))
		w = dl - now < 0 ? 0 : dl - now;
	return w > 60000 ? 60000 : (int)w;
}

/*
 * poll() with pending sockets among fds: the body of poll, ppoll,
 * select and pselect. timeout_ms -1 waits for ever.
 */
static int
poll_drive(struct pollfd *fds, nfds_t n, long long timeout_ms,
    const sigset_t *mask)
{
	short events[64], *saved = events;
	unsigned char kinds[64], *kind = kinds;
	long long end, dl, nearest;
	struct timespec ts;
	nfds_t i;
	short need;
	int r, count, progressed, err;

	if (n > 64 && ((saved = malloc(n * sizeof(*saved))) == NULL ||
	    (kind = malloc(n)) == NULL)) {
		if (saved != events)
			free(saved);
		errno = ENOMEM;
		return -1;
	}
	end = timeout_ms < 0 ? -1 : socks_now_ms() + timeout_ms;
	for (;;) {
		nearest = 0;
		for (i = 0; i < n; i++) {
			saved[i] = fds[i].events;
			kind[i] = 0;
			dl = 0;
			err = 0;
			r = pending_poll(fds[i].fd, &need, &dl, &err);
			if (r == PENDING_WAIT) {
				fds[i].events = need;
				kind[i] = 1;
				if (nearest == 0 || dl < nearest)
					nearest = dl;
			} else if (r == PENDING_FAILED && err != 0)
				kind[i] = 2;
		}
		r = poll_wait_ms(end, nearest);
		if (mask != NULL) {
			ts.tv_sec = r < 0 ? 0 : r / 1000;
			ts.tv_nsec = r < 0 ? 0 : (long)(r % 1000) * 1000000;
			r = real_ppoll(fds, n, r < 0 ? NULL : &ts, mask);
		} else
			r = real_poll(fds, n, r);
		count = progressed = 0;
		for (i = 0; i < n; i++) {
			fds[i].events = saved[i];
			if (r <= 0)
				continue;
			if (kind[i] == 1 && fds[i].revents != 0) {
				progressed = 1;	/* stepped next round */
				fds[i].revents = 0;
			}
			if (kind[i] == 2)
				fds[i].revents |= POLLERR;
			if (fds[i].revents != 0)
				count++;
		}
		if (r == -1 || count > 0 ||
		    (!progressed && nearest == 0 && r == 0) ||
		    (!progressed && end >= 0 && socks_now_ms() >= end))
			break;
	}
	if (saved != events) {
		free(saved);
		free(kind);
	}
	return r == -1 ? -1 : count;
}

/* Whether any of fds is a pending socket (the table's lock per fd). */
static int
poll_any_pending(const struct pollfd *fds, nfds_t n)
{
	nfds_t i;

	for (i = 0; i < n; i++)
		if (pending_state(fds[i].fd, NULL) != PENDING_NONE)
			return 1;
	return 0;
}

SHIM_EXPORT int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!poll_load())
		return (int)real_raw(SYS_ppoll, (long)fds, (long)n,
		    timeout < 0 ? 0 : (long)&(struct timespec){ timeout / 1000,
		    (long)(timeout % 1000) * 1000000 }, 0, 8, 0);
	if (!pending_active() || !poll_any_pending(fds, n))
		return real_poll(fds, n, timeout);
	return poll_drive(fds, n, timeout < 0 ? -1 : timeout, NULL);
}

/*
 * glibc's fortified poll: the same check (fds shorter than nfds says),
 * failed by glibc's own, which aborts the program as it would have;
 * then our poll, where glibc's would call its internal one.
 */
SHIM_EXPORT int
__poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n) {
		if (poll_load() && real_poll_chk != NULL)
			return real_poll_chk(fds, n, timeout, fdslen);
		abort();
	}
	return poll(fds, n, timeout);
}

static long long
poll_ts_ms(const struct timespec *ts)
{
	if (ts == NULL)
		return -1;
	return (long long)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
}

SHIM_EXPORT int
ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
    const sigset_t *mask)
{
	sigset_t cur;

	if (!poll_load() || !pending_active() || !poll_any_pending(fds, n)) {
		if (real_ppoll == NULL)
			return (int)real_raw(SYS_ppoll, (long)fds, (long)n,
			    (long)ts, (long)mask, 8, 0);
		return real_ppoll(fds, n, ts, mask);
	}
	if (mask == NULL) {
		/* Keep ppoll's own kind of wait: the current mask. */
		sigprocmask(SIG_SETMASK, NULL, &cur);
		mask = &cur;
	}
	return poll_drive(fds, n, poll_ts_ms(ts), mask);
}

/* glibc's fortified ppoll, as __poll_chk. */
SHIM_EXPORT int
__ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
    const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n) {
		if (poll_load() && real_ppoll_chk != NULL)
			return real_ppoll_chk(fds, n, ts, mask, fdslen);
		abort();
	}
	return ppoll(fds, n, ts, mask);
}

/*
 * select and pselect: when a pending socket is among the sets, the
 * sets become a poll array (readable: POLLIN, and POLLHUP/POLLERR as
 * select counts them; writable: POLLOUT, POLLERR; except: POLLPRI).
 */
static int
poll_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, long long ms,
    const sigset_t *mask, int *handled)
{
	struct pollfd *p;
	int fd, n = 0, r, count = 0, any = 0;

	*handled = 0;
	if (nfds < 0 || nfds > FD_SETSIZE)
		return 0;
	for (fd = 0; fd < nfds && !any; fd++)
		if (((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) ||
		    (ex && FD_ISSET(fd, ex))) &&
		    pending_state(fd, NULL) != PENDING_NONE)
			any = 1;
	if (!any)
		return 0;
	*handled = 1;
	if ((p = calloc((size_t)nfds, sizeof(*p))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (fd = 0; fd < nfds; fd++) {
		short ev = (short)((rd && FD_ISSET(fd, rd) ? POLLIN : 0) |
		    (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
		    (ex && FD_ISSET(fd, ex) ? POLLPRI : 0));

		if (ev == 0)
			continue;
		p[n].fd = fd;
		p[n++].events = ev;
	}
	r = poll_drive(p, (nfds_t)n, ms, mask);
	if (r == -1) {
		free(p);
		return -1;
	}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	for (fd = 0; fd < n; fd++) {
		short re = p[fd].revents, ev = p[fd].events;

		if (re & POLLNVAL) {
			free(p);
			errno = EBADF;
			return -1;
		}
		if ((ev & POLLIN) && (re & (POLLIN | POLLHUP | POLLERR))) {
			FD_SET(p[fd].fd, rd);
			count++;
		}
		if ((ev & POLLOUT) && (re & (POLLOUT | POLLERR))) {
			FD_SET(p[fd].fd, wr);
			count++;
		}
		if ((ev & POLLPRI) && (re & POLLPRI)) {
			FD_SET(p[fd].fd, ex);
			count++;
		}
	}
	free(p);
	return count;
}

/*
 * pselect6 made raw, for a pselect re-entered while the real one is
 * being looked up: the kernel writes the time left into its timespec,
 * which pselect's is not (const), and takes the mask with its size.
 */
static int
poll_raw_pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
    const struct timespec *ts, const sigset_t *mask)
{
	struct timespec left;
	struct {
		const sigset_t	*set;
		size_t		 size;
	} sig = { mask, 64 / 8 };	/* the kernel's sigset: 64 bits */

	if (ts != NULL)
		left = *ts;
	return (int)real_raw(SYS_pselect6, nfds, (long)rd, (long)wr,
	    (long)ex, ts == NULL ? 0 : (long)&left, mask == NULL ? 0 :
	    (long)&sig);
}

SHIM_EXPORT int
select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	int r, handled;

	if (!poll_load())
		return poll_raw_pselect(nfds, rd, wr, ex, tv == NULL ? NULL :
		    &(struct timespec){ tv->tv_sec, tv->tv_usec * 1000 }, NULL);
	if (!pending_active())
		return real_select(nfds, rd, wr, ex, tv);
	r = poll_select(nfds, rd, wr, ex, tv == NULL ? -1 :
	    (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000, NULL,
	    &handled);
	if (!handled)
		return real_select(nfds, rd, wr, ex, tv);
	return r;
}

/*
 * pselect with a pending socket among the sets is select's body with
 * each wait a ppoll under the program's mask, so a signal the mask lets
 * through is taken only while waiting, as pselect promises: one that
 * comes while the exchange is stepped between two waits stays pending
 * (the program's own mask blocks it) and ends the next wait with EINTR.
 */
SHIM_EXPORT int
pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
    const struct timespec *ts, const sigset_t *mask)
{
	sigset_t cur;
	int r, handled;

	if (!poll_load())
		return poll_raw_pselect(nfds, rd, wr, ex, ts, mask);
	if (!pending_active())
		return real_pselect(nfds, rd, wr, ex, ts, mask);
	if (mask == NULL) {
		sigprocmask(SIG_SETMASK, NULL, &cur);
		mask = &cur;
	}
	r = poll_select(nfds, rd, wr, ex, poll_ts_ms(ts), mask, &handled);
	if (!handled)
		return real_pselect(nfds, rd, wr, ex, ts, mask);
	return r;
}

/* ------------------------------------------------------------------ */
/* epoll                                                                */

SHIM_EXPORT int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	int r;

	if (!poll_load())
		return (int)real_raw(SYS_epoll_ctl, epfd, op, fd, (long)ev, 0,
		    0);
	if (pending_active() && pending_epoll_ctl(epfd, op, fd, ev, &r))
		return r;
	return real_epoll_ctl(epfd, op, fd, ev);
}

/*
 * The body of epoll_wait and epoll_pwait: events of pending sockets
 * step their exchange and are not the program's; one that ends
 * restores (or, failed, translates) the program's registration, and
 * the kernel reports it in the next round.
 */
static int
poll_epoll(int epfd, struct epoll_event *evs, int max, int timeout,
    const sigset_t *mask)
{
	long long end = timeout < 0 ? -1 : socks_now_ms() + timeout, next;
	int r, i, k, w;

	for (;;) {
		next = pending_epoll_expire(epfd);
		w = poll_wait_ms(end, next);
		r = real_epoll_pwait(epfd, evs, max, w, mask);
		if (r == -1)
			return -1;
		if (r == 0) {
			if (end >= 0 && socks_now_ms() >= end)
				return 0;
			continue;
		}
		for (i = k = 0; i < r; i++)
			if (pending_epoll_event(epfd, &evs[i], &next) != 2)
				evs[k++] = evs[i];
		if (k > 0)
			return k;
		/* Whatever just ended is reported by the next round. */
	}
}

SHIM_EXPORT int
epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	if (!poll_load())
		return (int)real_raw(SYS_epoll_pwait, epfd, (long)evs, max,
		    timeout, 0, 8);
	if (!pending_active())
		return real_epoll_wait(epfd, evs, max, timeout);
	return poll_epoll(epfd, evs, max, timeout, NULL);
}

SHIM_EXPORT int
epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
    const sigset_t *mask)
{
	if (!poll_load())
		return (int)real_raw(SYS_epoll_pwait, epfd, (long)evs, max,
		    timeout, (long)mask, 8);
	if (!pending_active())
		return real_epoll_pwait(epfd, evs, max, timeout, mask);
	return poll_epoll(epfd, evs, max, timeout, mask);
}

/*
 * epoll_pwait2 (glibc 2.35): epoll_pwait with a timespec. While a socket
 * is pending it waits in whole milliseconds (rounded up), as the others
 * do; a libc without it (the symbol found missing) is answered ENOSYS,
 * as glibc answers for a kernel without the call.
 */
SHIM_EXPORT int
epoll_pwait2(int epfd, struct epoll_event *evs, int max,
    const struct timespec *ts, const sigset_t *mask)
{
	struct timespec left;

	if (!poll_load()) {
		if (ts != NULL)
			left = *ts;
		return (int)real_raw(SYS_epoll_pwait2, epfd, (long)evs, max,
		    ts == NULL ? 0 : (long)&left, (long)mask, 8);
	}
	if (real_epoll_pwait2 == NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (!pending_active())
		return real_epoll_pwait2(epfd, evs, max, ts, mask);
	return poll_epoll(epfd, evs, max, (int)(poll_ts_ms(ts) > INT_MAX ?
	    INT_MAX : poll_ts_ms(ts)), mask);
}

/*
 * SO_ERROR of a pending socket: 0 while it connects (the kernel's
 * answer too), then once the error its exchange ended with.
 */
SHIM_EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int r, err = 0;

	if (!poll_load())
		return (int)real_raw(SYS_getsockopt, fd, level, name,
		    (long)val, (long)len, 0);
	if (level != SOL_SOCKET || name != SO_ERROR || !pending_active() ||
	    val == NULL || len == NULL || *len < sizeof(int))
		return real_getsockopt(fd, level, name, val, len);
	r = pending_poll(fd, NULL, NULL, NULL);
	if (r == PENDING_NONE || r == PENDING_DONE)
		return real_getsockopt(fd, level, name, val, len);
	if (r == PENDING_FAILED)
		err = pending_take_error(fd);
	memcpy(val, &err, sizeof(int));
	*len = sizeof(int);
	return 0;
}
