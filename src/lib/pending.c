/*
 * pending.c - non-blocking connects through the gateway that have not
 * finished yet: a per-socket SOCKS5 state machine that never blocks.
 *
 * connect() on a non-blocking socket starts the TCP connect to the
 * gateway and returns EINPROGRESS at once (pending_start). The exchange
 * (greeting and CONNECT pipelined when no user is configured, RFC 1929
 * in sequence otherwise) then moves forward whenever the program looks
 * at the socket: poll, select and epoll (poll.c) wait for what the
 * exchange needs and step it; send, recv, getsockopt(SO_ERROR),
 * getpeername and a second connect() answer as the kernel does for a
 * socket still connecting. A failed exchange leaves the socket as a
 * refused connect does (nothing of the gateway's left to read), and
 * keeps the mapped error for SO_ERROR (POLLERR until then).
 *
 * Entries live in an array indexed by descriptor, checked against the
 * socket's SO_COOKIE, under one mutex. pending_count, read without the
 * lock, keeps every hook's cost at one atomic load while none exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim.h"
#include "socks5.h"

enum pending_state {
	PEND_CONNECTING,	/* TCP to the gateway */
	PEND_SENDING,		/* out[] to the gateway, then next */
	PEND_METHOD,		/* the method choice, 2 bytes */
	PEND_AUTH,		/* the RFC 1929 status, 2 bytes */
	PEND_REPLY,		/* the CONNECT reply, read exactly */
	PEND_FAILED,		/* err until read once; shut down */
};

struct pending {
	int		 fd;
	uint64_t	 cookie;
	enum pending_state state, next;
	int		 err;		/* FAILED: for SO_ERROR; 0 once read */
	int		 auth;		/* a user is configured */
	long long	 deadline;
	long long	 t0;		/* when connect() was called */
	struct socks5_addr dst;
	const struct shim_conf *conf;
	uint8_t		 out[SOCKS5_GREETING_MAX + SOCKS5_USERPASS_MAX +
			    SOCKS5_REQUEST_MAX];
	size_t		 outlen, outoff;
	uint8_t		 in[SOCKS5_REQUEST_MAX];
	size_t		 inlen, inwant;
	/* The program's epoll registration, while ours stands in. */
	int		 epfd;		/* -1: none */
	uint32_t	 prog_events;
	uint64_t	 prog_data;
};

/*
 * Recursive: a log line written under it passes through the write()
 * hook, which asks whether descriptor 2 is pending.
 */
static pthread_mutex_t pending_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct real_once pending_once = REAL_ONCE_INIT;
static struct pending **pending_tab;	/* by fd; under pending_lock */
static size_t pending_cap;
static struct idmap pending_tags = IDMAP_INIT;	/* entry address -> entry */
/* Live entries: the lock-free "none of ours" answer of every hook. */
static atomic_size_t pending_count;

static ssize_t	(*real_send)(int, const void *, size_t, int);
static ssize_t	(*real_recv)(int, void *, size_t, int);
static int	(*real_getsockopt)(int, int, int, void *, socklen_t *);
static int	(*real_epoll_ctl)(int, int, int, struct epoll_event *);
static int	(*real_poll)(struct pollfd *, nfds_t, int);
static int	(*real_connect)(int, const struct sockaddr *, socklen_t);

static void
pending_prepare_fork(void)
{
	pthread_mutex_lock(&pending_lock);
}

static void
pending_after_fork(void)
{
	pthread_mutex_unlock(&pending_lock);
}

/*
 * The child's thread has a new thread ID, and a recursive mutex may be
 * unlocked only by its owner: unlocking would fail (EPERM) and leave it
 * held by a thread that does not exist there, so the child's next fork
 * (whose prepare handler takes it) would hang. It is made anew instead;
 * nothing else runs in the child yet.
 */
static void
pending_child_fork(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&pending_lock, &a);
	pthread_mutexattr_destroy(&a);
}

static void
pending_init(void)
{
	*(void **)&real_send = real_symbol("send");
	*(void **)&real_recv = real_symbol("recv");
	*(void **)&real_getsockopt = real_symbol("getsockopt");
	*(void **)&real_epoll_ctl = real_symbol("epoll_ctl");
	*(void **)&real_poll = real_symbol("poll");
	*(void **)&real_connect = real_symbol("connect");
}

void
pending_atfork(void)
{
	(void)pthread_atfork(pending_prepare_fork, pending_after_fork,
	    pending_child_fork);
}

static int
pending_load(void)
{
	return real_once(&pending_once, pending_init) && real_send != NULL &&
	    real_recv != NULL && real_getsockopt != NULL &&
	    real_epoll_ctl != NULL && real_poll != NULL &&
	    real_connect != NULL;
}

int
pending_active(void)
{
	return atomic_load_explicit(&pending_count, memory_order_relaxed) != 0;
}

/* ------------------------------------------------------------------ */
/* the table (pending_lock held)                                        */

static void
pending_free(struct pending *p)
{
	if (pending_tab[p->fd] == p)
		pending_tab[p->fd] = NULL;
	(void)idmap_del(&pending_tags, (uint64_t)(uintptr_t)p);
	free(p);
	atomic_fetch_sub(&pending_count, 1);
}

/* fd's entry, or NULL; a stale one (the fd now another socket) goes. */
static struct pending *
pending_find(int fd)
{
	struct pending *p;

	if (fd < 0 || (size_t)fd >= pending_cap ||
	    (p = pending_tab[fd]) == NULL)
		return NULL;
	if (sockreg_cookie(fd) != p->cookie) {
		pending_free(p);
		return NULL;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* the state machine (pending_lock held)                                */

/* "name:port" or the address, for the debug lines. */
static const char *
pending_dst_str(const struct pending *p, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	unsigned int sslen = sizeof(ss);

	if (p->dst.atyp == SOCKS5_ATYP_DOMAIN)
		snprintf(buf, len, "%s:%u", p->dst.name, p->dst.port);
	else if (socks5_addr_to_sockaddr(&p->dst, (struct sockaddr *)&ss,
	    &sslen) == 0)
		addr_format((struct sockaddr *)&ss, buf, len);
	else
		snprintf(buf, len, "?");
	return buf;
}

static void
pending_fail(struct pending *p, int err)
{
	struct sockaddr unspec;
	socklen_t len = sizeof(int);
	int kerr;

	p->state = PEND_FAILED;
	p->err = err;
	/*
	 * The socket is put in the state a refused connect leaves: a
	 * disconnect (AF_UNSPEC) drops what the gateway sent and anything
	 * it sends later (a shutdown alone would let a late reply reach the
	 * program's read), reading SO_ERROR clears the ECONNRESET that
	 * leaves, and the shutdown, which on a closed socket fails yet marks
	 * both directions, makes the kernel report POLLIN|POLLOUT|POLLHUP,
	 * a read 0 and a write EPIPE. poll.c adds POLLERR while err is
	 * unread, and the hooks give err once, as the kernel gives its own.
	 */
	memset(&unspec, 0, sizeof(unspec));
	unspec.sa_family = AF_UNSPEC;
	(void)real_connect(p->fd, &unspec, sizeof(unspec));
	(void)real_getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &kerr, &len);
	(void)shutdown(p->fd, SHUT_RDWR);
	if (p->epfd >= 0) {
		struct epoll_event ev;

		/* Our tag stays, so the events can carry POLLERR. */
		ev.events = p->prog_events & ~(uint32_t)EPOLLEXCLUSIVE;
		ev.data.u64 = (uint64_t)(uintptr_t)p;
		(void)real_epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->fd, &ev);
	}
	if (p->conf->debug) {
		char ds[300];

		shim_debug("connect fd=%d dest=%s async %s ms=%lld", p->fd,
		    pending_dst_str(p, ds, sizeof(ds)), strerror(err),
		    socks_now_ms() - p->t0);
	}
}

static void
pending_send_next(struct pending *p, int n, enum pending_state next)
{
	p->outlen = (size_t)n;
	p->outoff = 0;
	p->state = PEND_SENDING;
	p->next = next;
}

static void
pending_expect(struct pending *p, enum pending_state st, size_t want)
{
	p->state = st;
	p->inlen = 0;
	p->inwant = want;
}

/* Reads toward inwant, never beyond: 1 complete, 0 not yet, -1 error. */
static int
pending_read(struct pending *p)
{
	ssize_t n;

	while (p->inlen < p->inwant) {
		n = real_recv(p->fd, p->in + p->inlen, p->inwant - p->inlen,
		    MSG_DONTWAIT);
		if (n > 0) {
			p->inlen += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNREFUSED;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET)
			errno = ECONNREFUSED;
		return -1;
	}
	return 1;
}

/* One move of the machine; 1 moved, 0 must wait, -1 failed (errno). */
static int
pending_move(struct pending *p)
{
	socklen_t len = sizeof(int);
	struct socks5_reply rep;
	uint8_t method, status, methods[2];
	size_t used, nm = 0;
	ssize_t n;
	int r, m, err = 0;

	switch (p->state) {
	case PEND_CONNECTING: {
		struct pollfd pfd = { p->fd, POLLOUT, 0 };

		if (real_poll(&pfd, 1, 0) <= 0)
			return 0;
		if (real_getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) == -1)
			return -1;
		if (err != 0) {
			errno = err;
			return -1;
		}
		if (p->auth)
			methods[nm++] = SOCKS5_METHOD_USERPASS;
		methods[nm++] = SOCKS5_METHOD_NONE;
		if ((r = socks5_encode_greeting(p->out, sizeof(p->out),
		    methods, nm)) < 0)
			goto inval;
		/* No user: the only offer is "none", the request can follow. */
		if (!p->auth) {
			if ((m = socks5_encode_request(p->out + r,
			    sizeof(p->out) - (size_t)r, SOCKS5_CMD_CONNECT,
			    &p->dst)) < 0)
				goto inval;
			r += m;
		}
		pending_send_next(p, r, PEND_METHOD);
		return 1;
	}
	case PEND_SENDING:
		while (p->outoff < p->outlen) {
			n = real_send(p->fd, p->out + p->outoff,
			    p->outlen - p->outoff, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0) {
				p->outoff += (size_t)n;
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN ||
			    errno == EWOULDBLOCK))
				return 0;
			if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
				errno = ECONNREFUSED;
			return -1;
		}
		pending_expect(p, p->next, p->next == PEND_REPLY ? 5 : 2);
		return 1;
	case PEND_METHOD:
		if ((r = pending_read(p)) <= 0)
			return r;
		if (socks5_parse_method_choice(p->in, 2, &method, &used) !=
		    SOCKS5_OK)
			goto proto;
		if (method == SOCKS5_METHOD_REFUSED) {
			shim_log("gateway accepts none of our methods%s",
			    p->auth ? "" : " (does it need a user and "
			    "password?)");
			errno = EACCES;
			return -1;
		}
		if (method == SOCKS5_METHOD_USERPASS && p->auth) {
			if ((r = socks5_encode_userpass(p->out,
			    sizeof(p->out), p->conf->user,
			    p->conf->password)) < 0)
				goto inval;
			pending_send_next(p, r, PEND_AUTH);
		} else if (method != SOCKS5_METHOD_NONE)
			goto proto;
		else if (p->auth) {
			if ((r = socks5_encode_request(p->out, sizeof(p->out),
			    SOCKS5_CMD_CONNECT, &p->dst)) < 0)
				goto inval;
			pending_send_next(p, r, PEND_REPLY);
		} else
			pending_expect(p, PEND_REPLY, 5);
		return 1;
	case PEND_AUTH:
		if ((r = pending_read(p)) <= 0)
			return r;
		if (socks5_parse_userpass_status(p->in, 2, &status, &used) !=
		    SOCKS5_OK)
			goto proto;
		if (status != 0) {
			shim_log("gateway refused user %s", p->conf->user);
			errno = EACCES;
			return -1;
		}
		if ((r = socks5_encode_request(p->out, sizeof(p->out),
		    SOCKS5_CMD_CONNECT, &p->dst)) < 0)
			goto inval;
		pending_send_next(p, r, PEND_REPLY);
		return 1;
	case PEND_REPLY:
		if ((r = pending_read(p)) <= 0)
			return r;
		if (p->inwant == 5) {
			/* RFC 1928 section 6: ATYP says how long it is. */
			switch (p->in[3]) {
			case SOCKS5_ATYP_IPV4:
				p->inwant = 4 + 4 + 2;
				break;
			case SOCKS5_ATYP_IPV6:
				p->inwant = 4 + 16 + 2;
				break;
			case SOCKS5_ATYP_DOMAIN:
				p->inwant = 4 + 1 + (size_t)p->in[4] + 2;
				break;
			default:
				goto proto;
			}
			return 1;
		}
		if (socks5_parse_reply(p->in, p->inwant, &rep, &used) !=
		    SOCKS5_OK || used != p->inwant)
			goto proto;
		if (rep.rep != SOCKS5_REP_SUCCEEDED) {
			shim_debug("CONNECT %s:%u: gateway says %s",
			    p->dst.atyp == SOCKS5_ATYP_DOMAIN ? p->dst.name :
			    "(address)", p->dst.port, socks5_rep_str(rep.rep));
			errno = socks5_errno_from_rep(rep.rep);
			return -1;
		}
		return 2;	/* done */
	case PEND_FAILED:
		return 0;
	}
	return 0;
inval:
	errno = EINVAL;
	return -1;
proto:
	errno = ECONNREFUSED;
	return -1;
}

/*
 * Moves p as far as it goes without waiting. Returns PENDING_WAIT with
 * *need set (POLLIN or POLLOUT), PENDING_DONE (p freed: the tunnel is
 * open, the program's epoll registration restored) or PENDING_FAILED.
 */
static int
pending_step(struct pending *p, short *need)
{
	struct epoll_event ev;
	int r;

	if (p->state == PEND_FAILED)
		return PENDING_FAILED;
	for (;;) {
		r = pending_move(p);
		if (r == 2)
			break;
		if (r == -1) {
			pending_fail(p, errno);
			return PENDING_FAILED;
		}
		if (r == 0) {
			if (socks_now_ms() >= p->deadline) {
				pending_fail(p, ETIMEDOUT);
				return PENDING_FAILED;
			}
			if (need != NULL)
				*need = p->state == PEND_CONNECTING ||
				    p->state == PEND_SENDING ? POLLOUT :
				    POLLIN;
			return PENDING_WAIT;
		}
	}
	if (p->epfd >= 0) {
		/* From now on the kernel reports this socket as it is. */
		ev.events = p->prog_events & ~(uint32_t)EPOLLEXCLUSIVE;
		ev.data.u64 = p->prog_data;
		(void)real_epoll_ctl(p->epfd, EPOLL_CTL_MOD, p->fd, &ev);
	}
	if (p->conf->debug) {
		char ds[300];

		shim_debug("connect fd=%d dest=%s async ok ms=%lld", p->fd,
		    pending_dst_str(p, ds, sizeof(ds)), socks_now_ms() - p->t0);
	}
	pending_free(p);
	return PENDING_DONE;
}

/* ------------------------------------------------------------------ */
/* the interface                                                        */

int
pending_start(int fd, const struct shim_conf *c, const struct socks5_addr *dst)
{
	struct pending *p, **tab;
	size_t cap;

	if (!pending_load() || fd < 0) {
		errno = ENOSYS;
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->fd = fd;
	p->cookie = sockreg_cookie(fd);
	p->state = PEND_CONNECTING;
	p->auth = c->user[0] != '\0';
	p->t0 = socks_now_ms();
	p->deadline = p->t0 + c->timeout_ms;
	p->dst = *dst;
	p->conf = c;
	p->epfd = -1;
	pthread_mutex_lock(&pending_lock);
	if ((size_t)fd >= pending_cap) {
		cap = pending_cap ? pending_cap : 64;
		while (cap <= (size_t)fd)
			cap *= 2;
		/* A table of pointers: sizeof(*tab) is a pointer's size. */
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		if ((tab = realloc(pending_tab, cap * sizeof(*tab))) == NULL)
			goto nomem;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
		memset(tab + pending_cap, 0, (cap - pending_cap) * sizeof(*tab));
		pending_tab = tab;
		pending_cap = cap;
	}
	if (idmap_put(&pending_tags, (uint64_t)(uintptr_t)p, p) == -1)
		goto nomem;
	if (pending_tab[fd] != NULL)
		pending_free(pending_tab[fd]);
	pending_tab[fd] = p;
	atomic_fetch_add(&pending_count, 1);
	(void)pending_step(p, NULL);	/* loopback may be ready already */
	pthread_mutex_unlock(&pending_lock);
	return 0;
nomem:
	pthread_mutex_unlock(&pending_lock);
	free(p);
	errno = ENOMEM;
	return -1;
}

int
pending_poll(int fd, short *need, long long *deadline, int *err)
{
	struct pending *p;
	int r = PENDING_NONE;

	if (!pending_active())
		return PENDING_NONE;
	pthread_mutex_lock(&pending_lock);
	if ((p = pending_find(fd)) != NULL) {
		r = pending_step(p, need);
		if (r == PENDING_WAIT && deadline != NULL)
			*deadline = p->deadline;
		if (r == PENDING_FAILED && err != NULL)
			*err = p->err;
	}
	pthread_mutex_unlock(&pending_lock);
	return r;
}

int
pending_state(int fd, int *err)
{
	struct pending *p;
	int r = PENDING_NONE;

	if (!pending_active())
		return PENDING_NONE;
	pthread_mutex_lock(&pending_lock);
	if ((p = pending_find(fd)) != NULL) {
		r = p->state == PEND_FAILED ? PENDING_FAILED : PENDING_WAIT;
		if (err != NULL)
			*err = p->err;
	}
	pthread_mutex_unlock(&pending_lock);
	return r;
}

int
pending_io(int fd, int flags, ssize_t *n)
{
	int fl;

	if (!pending_active() || pending_state(fd, NULL) == PENDING_NONE)
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (pending_finish(fd, (flags & MSG_DONTWAIT) || fl == -1 ||
	    (fl & O_NONBLOCK)) == 0)
		return 0;
	*n = -1;
	return 1;
}

int
pending_take_error(int fd)
{
	struct pending *p;
	int err = 0;

	pthread_mutex_lock(&pending_lock);
	if ((p = pending_find(fd)) != NULL && p->state == PEND_FAILED) {
		err = p->err;
		p->err = 0;
	}
	pthread_mutex_unlock(&pending_lock);
	return err;
}

int
pending_finish(int fd, int nonblock)
{
	struct pollfd pfd;
	long long deadline = 0, left;
	short need = 0;
	int r, err = 0;

	for (;;) {
		r = pending_poll(fd, &need, &deadline, &err);
		if (r == PENDING_NONE || r == PENDING_DONE)
			return 0;
		if (r == PENDING_FAILED) {
			if ((err = pending_take_error(fd)) == 0)
				return 0;	/* read already: the kernel's */
			errno = err;
			return -1;
		}
		if (nonblock) {
			errno = EAGAIN;
			return -1;
		}
		left = deadline - socks_now_ms();
		pfd.fd = fd;
		pfd.events = need;
		pfd.revents = 0;
		if (left > 0)
			(void)real_poll(&pfd, 1, left > 60000 ? 60000 :
			    (int)left);
	}
}

int
pending_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev, int *ret)
{
	struct epoll_event mine;
	struct pending *p;
	short need = POLLOUT;
	int r;

	if (!pending_active() || !pending_load())
		return 0;
	pthread_mutex_lock(&pending_lock);
	if ((p = pending_find(fd)) == NULL || (p->epfd >= 0 &&
	    p->epfd != epfd) || (op != EPOLL_CTL_DEL && ev == NULL)) {
		pthread_mutex_unlock(&pending_lock);
		return 0;
	}
	if (op == EPOLL_CTL_DEL) {
		*ret = real_epoll_ctl(epfd, op, fd, ev);
		p->epfd = -1;
		pthread_mutex_unlock(&pending_lock);
		return 1;
	}
	if (p->state != PEND_FAILED) {
		r = pending_step(p, &need);
		if (r == PENDING_DONE) {
			pthread_mutex_unlock(&pending_lock);
			return 0;	/* the program's own, as it asked */
		}
	}
	mine.events = p->state == PEND_FAILED ? ev->events :
	    (need == POLLIN ? EPOLLIN : EPOLLOUT);
	mine.data.u64 = (uint64_t)(uintptr_t)p;
	if ((*ret = real_epoll_ctl(epfd, op, fd, &mine)) == 0) {
		p->epfd = epfd;
		p->prog_events = ev->events;
		p->prog_data = ev->data.u64;
	}
	pthread_mutex_unlock(&pending_lock);
	return 1;
}

int
pending_epoll_event(int epfd, struct epoll_event *ev, long long *deadline)
{
	struct epoll_event mine;
	struct pending *p;
	short need = 0;
	int r;

	pthread_mutex_lock(&pending_lock);
	if ((p = idmap_get(&pending_tags, ev->data.u64)) == NULL ||
	    p->epfd != epfd) {
		pthread_mutex_unlock(&pending_lock);
		return 0;
	}
	if (p->state == PEND_FAILED) {
		ev->data.u64 = p->prog_data;
		if (p->err != 0)
			ev->events |= EPOLLERR;
		pthread_mutex_unlock(&pending_lock);
		return 1;
	}
	r = pending_step(p, &need);
	if (r == PENDING_WAIT) {
		mine.events = need == POLLIN ? EPOLLIN : EPOLLOUT;
		mine.data.u64 = (uint64_t)(uintptr_t)p;
		(void)real_epoll_ctl(epfd, EPOLL_CTL_MOD, p->fd, &mine);
		if (*deadline == 0 || p->deadline < *deadline)
			*deadline = p->deadline;
	}
	pthread_mutex_unlock(&pending_lock);
	return 2;	/* not the program's: dropped; done/failed come again */
}

long long
pending_epoll_expire(int epfd)
{
	struct pending *p;
	long long next = 0, now = socks_now_ms();
	size_t i;

	pthread_mutex_lock(&pending_lock);
	for (i = 0; i < pending_cap; i++) {
		if ((p = pending_tab[i]) == NULL || p->epfd != epfd ||
		    p->state == PEND_FAILED)
			continue;
		if (now >= p->deadline)
			(void)pending_step(p, NULL);
		else if (next == 0 || p->deadline < next)
			next = p->deadline;
	}
	pthread_mutex_unlock(&pending_lock);
	return next;
}

void
pending_close(int fd)
{
	struct pending *p;

	if (!pending_active())
		return;
	pthread_mutex_lock(&pending_lock);
	if (fd >= 0 && (size_t)fd < pending_cap &&
	    (p = pending_tab[fd]) != NULL)
		pending_free(p);
	pthread_mutex_unlock(&pending_lock);
}
