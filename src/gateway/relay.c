/*
 * relay.c - moving a TCP stream both ways between client and destination.
 *
 * RFC 3089 section 2 relays two "terminated" connections at the
 * application layer, which is what makes the IPv4/IPv6 crossing work.
 * Each direction starts with read/write through a small buffer on the
 * relay's stack: an interactive or idle relay then holds its two sockets
 * and nothing else. Once a read fills that buffer the direction carries
 * bulk data and moves it with splice(2) through a pipe of its own, so it
 * never enters user space; a pipe that carried a lot grows (F_SETPIPE_SZ)
 * for fewer, larger calls, and one left empty for a while is closed
 * again. Plain read/write through a larger buffer takes over, without
 * losing a byte, when a pipe cannot be had or splice() fails for any
 * reason but the connection's own. An EOF travels as a half-close once
 * everything read before it is written. No policy here.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

/*
 * The buffer each direction starts with. It lives in relay_run()'s
 * frame, in stack pages the handshake has already touched, so a relay
 * that never goes bulk costs no memory of its own. A read that fills it
 * says more was waiting: the direction goes bulk.
 */
#define RELAY_SMALL	1024

/* The read/write buffer when splice() cannot be used (heap). */
#define RELAY_CHUNK	(64 * 1024)

/* A new pipe's capacity (the kernel's default), and what it grows to. */
#define RELAY_PIPE_MIN	(64 * 1024)
#define RELAY_PIPE_MAX	(1024 * 1024)

/*
 * Bytes a direction moves through its pipe before the pipe grows: a
 * short burst keeps the default, a stream gets 16 times fewer calls.
 */
#define RELAY_GROW_AFTER	(1024 * 1024)

/*
 * A relay quiet this long gives back the pipes it holds (two
 * descriptors and, when grown, pipe-user-pages-soft budget each).
 */
#define RELAY_PIPE_IDLE_MS	5000

/* Rounds one direction may take before letting the other one move. */
#define RELAY_ROUNDS	8

enum relay_mode {
	RELAY_MODE_SMALL,	/* read/write, the small buffer */
	RELAY_MODE_SPLICE,	/* splice through pipe */
	RELAY_MODE_COPY,	/* read/write, a heap buffer, for good */
};

struct relay_dir {
	int		 from, to;
	enum relay_mode	 mode;
	int		 may_splice;	/* bulk may move to splice mode */
	int		 bulk;		/* a read filled the small buffer */
	int		 pipe[2];	/* splice mode; -1 otherwise */
	size_t		 pipesz;	/* its capacity */
	uint64_t	 piped;		/* bytes through it: growth due? */
	int		 grown;		/* growth was tried */
	uint8_t		*buf;		/* read/write modes */
	size_t		 cap;		/* size of buf */
	uint8_t		*heap;		/* buf when malloc'd, else NULL */
	size_t		 off;		/* read/write: first unwritten byte */
	size_t		 held;		/* read from `from`, not yet written */
	int		 drained;	/* the last read emptied `from` */
	int		 eof;		/* `from` said EOF */
	int		 done;		/* and it was passed on to `to` */
	int		 want_in;	/* wait for `from` to be readable */
	int		 want_out;	/* wait for `to` to be writable */
	uint64_t	 bytes;		/* written to `to` */
	uint8_t		 small[RELAY_SMALL];
};

/* pipe-max-size, read once: growing past it fails without privilege. */
static size_t		relay_pipe_limit = RELAY_PIPE_MAX;
static pthread_once_t	relay_pipe_once = PTHREAD_ONCE_INIT;

static void
relay_pipe_limit_read(void)
{
	FILE		*f;
	char		 line[32], *end;
	unsigned long	 v;

	if ((f = fopen("/proc/sys/fs/pipe-max-size", "re")) == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL) {
		errno = 0;
		v = strtoul(line, &end, 10);
		if (errno == 0 && end != line && (*end == '\n' ||
		    *end == '\0') && v >= RELAY_PIPE_MIN && v < RELAY_PIPE_MAX)
			relay_pipe_limit = v;
	}
	fclose(f);
}

static void
relay_close_pipe(struct relay_dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
		d->pipe[0] = d->pipe[1] = -1;
	}
}

/*
 * Leaves splice mode for read/write through a heap buffer of at least
 * need bytes, for good; nothing is held in the buffer when this runs.
 * With no memory and need small enough the small buffer does instead.
 */
static int
relay_to_copy(struct relay_dir *d, size_t need)
{
	size_t	cap = need > RELAY_CHUNK ? need : RELAY_CHUNK;

	relay_close_pipe(d);
	d->mode = RELAY_MODE_COPY;
	d->may_splice = 0;
	if (d->heap == NULL && (d->heap = malloc(cap)) != NULL) {
		d->buf = d->heap;
		d->cap = cap;
	}
	if (d->heap == NULL) {
		if (need > RELAY_SMALL)
			return -1;
		d->buf = d->small;
		d->cap = RELAY_SMALL;
	}
	return 0;
}

/* Back to the small buffer: the pipe is empty, the relay quiet. */
static void
relay_to_small(struct relay_dir *d)
{
	relay_close_pipe(d);
	d->mode = RELAY_MODE_SMALL;
	d->buf = d->small;
	d->cap = RELAY_SMALL;
	d->bulk = d->grown = 0;
	d->pipesz = 0;
	d->piped = 0;
}

/*
 * A bulk direction with nothing held gets its pipe. Out of descriptors
 * is no reason to fail the relay: it goes on with read/write.
 */
static void
relay_to_splice(struct relay_dir *d)
{
	if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		d->pipe[0] = d->pipe[1] = -1;
		(void)relay_to_copy(d, 0);
		return;
	}
	d->mode = RELAY_MODE_SPLICE;
	d->pipesz = RELAY_PIPE_MIN;
	d->piped = 0;
	d->grown = 0;
}

/*
 * Grows a busy pipe to what pipe-max-size allows, halving on refusal
 * (pipe-user-pages-soft, a seccomp filter, ...); not even 128 KiB keeps
 * the default quietly. Tried once per pipe.
 */
static void
relay_grow(struct relay_dir *d)
{
	size_t	want;
	int	got;

	d->grown = 1;
	pthread_once(&relay_pipe_once, relay_pipe_limit_read);
	for (want = relay_pipe_limit; want > d->pipesz; want /= 2) {
		if ((got = fcntl(d->pipe[1], F_SETPIPE_SZ, (int)want)) != -1) {
			if ((size_t)got > d->pipesz)
				d->pipesz = (size_t)got;
			return;
		}
	}
}

static void
relay_dir_init(struct relay_dir *d, int from, int to, int may_splice)
{
	d->from = from;
	d->to = to;
	d->may_splice = may_splice;
	d->pipe[0] = d->pipe[1] = -1;
	d->heap = NULL;
	d->off = d->held = 0;
	d->drained = d->eof = d->done = d->want_out = 0;
	/* Poll before the first read: most relays start with a wait. */
	d->want_in = 1;
	d->bytes = 0;
	relay_to_small(d);
}

static void
relay_dir_free(struct relay_dir *d)
{
	relay_close_pipe(d);
	free(d->heap);
}

/*
 * Whether a failed splice() should give way to read/write. An error of
 * the connection itself (a reset, a broken pipe, ...) is the peer's and
 * ends the direction: splice() has consumed it, so read/write would not
 * even see it again. Anything else says only that splice() cannot work
 * here (EINVAL and ENOSYS for odd descriptors or kernels, EPERM from a
 * seccomp filter, ENOMEM for the pipe's pages, ...), and read/write,
 * which needs none of that, may well.
 */
static int
relay_splice_gives_way(int err)
{
	switch (err) {
	case EAGAIN:
	case ECONNRESET:
	case ECONNREFUSED:
	case ECONNABORTED:
	case EPIPE:
	case ETIMEDOUT:
	case ENETDOWN:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EHOSTUNREACH:
	case ENOTCONN:
	case ESHUTDOWN:
		return 0;
	default:
		return 1;
	}
}

/*
 * Leaves splice mode while the pipe holds d->held bytes (a drain failed
 * for splice's own reasons): they move to the buffer first, so not one
 * is lost.
 */
static int
relay_unsplice(struct relay_dir *d)
{
	int	pfd = d->pipe[0];
	size_t	got = 0;
	ssize_t	n;

	/* relay_to_copy() closes the pipe: keep its read end till read. */
	d->pipe[0] = -1;
	close(d->pipe[1]);
	d->pipe[1] = -1;
	if (relay_to_copy(d, d->held) == -1)
		return mech_close_fail(pfd);
	while (got < d->held) {
		n = read(pfd, d->buf + got, d->held - got);
		if (n == 0)
			errno = EIO;	/* our own pipe cannot lose bytes */
		if (n <= 0)
			return mech_close_fail(pfd);
		got += (size_t)n;
	}
	close(pfd);
	d->off = 0;
	return 0;
}

/* Reads from `from` into an empty pipe or buffer: >0, 0 at EOF, -1. */
static ssize_t
relay_fill(struct relay_dir *d)
{
	ssize_t n;

	if (d->mode == RELAY_MODE_SMALL && d->bulk && d->may_splice)
		relay_to_splice(d);
	else if (d->mode == RELAY_MODE_SMALL && d->bulk)
		(void)relay_to_copy(d, 0);
	if (d->mode == RELAY_MODE_SPLICE) {
		if (!d->grown && d->piped >= RELAY_GROW_AFTER)
			relay_grow(d);
		n = splice(d->from, NULL, d->pipe[1], NULL, d->pipesz,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0)
			d->piped += (uint64_t)n;
		if (n != -1 || !relay_splice_gives_way(errno))
			return n;
		/* The pipe is empty (fills only happen so): nothing moves. */
		if (relay_to_copy(d, 0) == -1)
			return -1;
	}
	d->off = 0;
	n = read(d->from, d->buf, d->cap);
	/*
	 * A stream socket's read stops short only when its queue ran dry:
	 * poll() rather than read again for an EAGAIN.
	 */
	if (n > 0 && (size_t)n < d->cap)
		d->drained = 1;
	if (n > 0 && (size_t)n == d->cap && d->mode == RELAY_MODE_SMALL)
		d->bulk = 1;
	return n;
}

/* Writes held bytes to `to`: >0 written, -1 with errno. */
static ssize_t
relay_drain(struct relay_dir *d)
{
	ssize_t n;

	n = -1;
	if (d->mode == RELAY_MODE_SPLICE) {
		n = splice(d->pipe[0], NULL, d->to, NULL, d->held,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && relay_splice_gives_way(errno) &&
		    relay_unsplice(d) == -1)
			return -1;
	}
	if (d->mode != RELAY_MODE_SPLICE)
		n = write(d->to, d->buf + d->off, d->held);
	if (n == 0) {
		/* Neither a pipe we hold open nor a socket says 0: be safe. */
		errno = EIO;
		return -1;
	}
	if (n > 0 && d->mode != RELAY_MODE_SPLICE)
		d->off += (size_t)n;
	return n;
}

/*
 * Moves what one direction can move without blocking and notes what it
 * waits for. Draining comes before filling, so the pipe is only ever
 * filled when empty: an EAGAIN from the fill then surely means "no data"
 * and never "pipe full", and poll() cannot spin on a readable socket.
 * Returns 1 if bytes moved, 0 if none did, -1 on error (errno, and
 * *dead set to the fd that failed).
 */
static int
relay_step(struct relay_dir *d, int *dead)
{
	ssize_t	n;
	int	moved = 0, round;

	d->want_in = d->want_out = 0;
	for (round = 0; round < RELAY_ROUNDS && !d->done; round++) {
		if (d->held > 0) {
			n = relay_drain(d);
			if (n == -1) {
				if (errno != EAGAIN) {
					*dead = d->to;
					return -1;
				}
				d->want_out = 1;
				return moved;
			}
			d->held -= (size_t)n;
			d->bytes += (uint64_t)n;
			moved = 1;
		} else if (d->eof) {
			/* Every byte before the EOF is out: pass the EOF on. */
			if (shutdown(d->to, SHUT_WR) == -1 &&
			    errno != ENOTCONN) {
				*dead = d->to;
				return -1;
			}
			d->done = 1;
		} else if (d->drained) {
			d->drained = 0;
			d->want_in = 1;
			return moved;
		} else {
			n = relay_fill(d);
			if (n == -1) {
				if (errno != EAGAIN) {
					d->eof = 1;	/* held is 0: none lost */
					*dead = d->from;
					return -1;
				}
				d->want_in = 1;
				return moved;
			}
			if (n == 0)
				d->eof = 1;
			d->held = (size_t)n;
			moved = 1;
		}
	}
	return moved;
}

/*
 * What to poll fd for: input for the direction reading it, output for
 * the one writing it. An fd nobody waits on is left out (fd -1) once the
 * direction writing it is done: it may then be fully shut down, and
 * poll() would report POLLHUP on it without end. While that direction
 * still runs, the fd stays in with no events, so a reset shows up.
 */
static void
relay_pollfd(struct pollfd *p, int fd, const struct relay_dir *rd,
    const struct relay_dir *wr)
{
	p->fd = fd;
	p->events = (rd->want_in && !rd->done ? POLLIN : 0) |
	    (wr->want_out && !wr->done ? POLLOUT : 0);
	p->revents = 0;
	if (p->events == 0 && wr->done)
		p->fd = -1;
}

/*
 * fd failed: nothing more can be written to it. The direction reading it
 * goes on until its own read ends (a reset peer's data queued before the
 * reset is still readable, then EOF), and what it already read is still
 * delivered: a reply a server sent just before its reset reaches the
 * client. A failed read marks its own direction at EOF; the fill happens
 * only into an empty pipe, so that leaves no byte behind. The direction
 * reading fd tries again at once: it learns of the failure itself.
 */
static void
relay_dead(struct relay_dir d[2], int fd)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (d[i].to == fd)
			d[i].done = 1;
		if (d[i].from == fd)
			d[i].want_in = d[i].drained = 0;
	}
}

/* Errors poll() reported: 0 if none, else an errno (SO_ERROR's). */
static int
relay_poll_error(const struct pollfd *p)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (p->fd == -1)
		return 0;
	if (p->revents & POLLERR) {
		if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1
		    || err == 0)
			err = EIO;
		return err;
	}
	/* Hung up while we wait on nothing from it: the peer is gone. */
	if ((p->revents & POLLHUP) && p->events == 0)
		return ECONNRESET;
	return 0;
}

/* The first error of the relay: errno and the fd it came from. */
struct relay_fault {
	int	err;
	int	fd;		/* -1: poll() itself */
};

static void
relay_fault_set(struct relay_fault *f, int err, int fd)
{
	if (f->err == 0) {
		f->err = err;
		f->fd = fd;
	}
}

/*
 * One pass over the directions not waiting for poll(): moves what can
 * move without blocking, keeps the first error in *f and when bytes last
 * moved in *last. Returns the poll timeout the pass calls for: 0 to come
 * straight back (an error to act on, or a direction stopped by its round
 * limit), -1 to wait on the sockets.
 */
static int
relay_pass(struct relay_dir d[2], struct relay_fault *f, int64_t *last)
{
	int	i, wait = -1, dead = -1;

	for (i = 0; i < 2; i++) {
		if (d[i].done || d[i].want_in || d[i].want_out)
			continue;
		switch (relay_step(&d[i], &dead)) {
		case -1:
			relay_fault_set(f, errno, dead);
			relay_dead(d, dead);
			wait = 0;
			break;
		case 1:
			*last = mech_now_ms();
			break;
		}
		if (!d[i].done && !d[i].want_in && !d[i].want_out)
			wait = 0;
	}
	return wait;
}

/*
 * poll() said p->fd is ready: the directions that waited on it may
 * move. Hang-ups and errors wake both, so each meets its own end.
 */
static void
relay_ready(struct relay_dir d[2], const struct pollfd *p)
{
	int i;

	if (p->fd == -1 || p->revents == 0)
		return;
	for (i = 0; i < 2; i++) {
		if (d[i].from == p->fd &&
		    (p->revents & (POLLIN | POLLHUP | POLLERR)))
			d[i].want_in = 0;
		if (d[i].to == p->fd &&
		    (p->revents & (POLLOUT | POLLHUP | POLLERR)))
			d[i].want_out = 0;
	}
}

/*
 * Waits up to wait ms for what the directions wait on; a socket that
 * poll() reports failed is marked dead and its error kept in *f.
 * Returns 0, or -1 when poll() itself failed (*f says why).
 */
static int
relay_wait(struct relay_dir d[2], int client, int dest, int wait,
    struct relay_fault *f)
{
	struct pollfd	p[2];
	int		i, e;

	relay_pollfd(&p[0], client, &d[0], &d[1]);
	relay_pollfd(&p[1], dest, &d[1], &d[0]);
	if (poll(p, 2, wait) == -1) {
		if (errno == EINTR)
			return 0;
		relay_fault_set(f, errno, -1);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		relay_ready(d, &p[i]);
		if ((e = relay_poll_error(&p[i])) == 0)
			continue;
		relay_fault_set(f, e, p[i].fd);
		relay_dead(d, p[i].fd);
	}
	return 0;
}

/*
 * How long the relay may sleep when it waits on both sockets: until the
 * idle timeout, or until its pipes are due back. Gives an idle relay's
 * pipes back when due. Returns the poll timeout, or -1 when the idle
 * timeout has passed.
 */
static int
relay_quiet(struct relay_dir d[2], int64_t last, unsigned int idle_ms)
{
	int64_t	now = mech_now_ms(), until = last + (int64_t)idle_ms;
	int	i, piped = 0;

	if (now >= until)
		return -1;
	for (i = 0; i < 2; i++) {
		if (d[i].mode != RELAY_MODE_SPLICE || d[i].held > 0)
			continue;
		if (now - last >= RELAY_PIPE_IDLE_MS)
			relay_to_small(&d[i]);
		else
			piped = 1;
	}
	if (piped && last + RELAY_PIPE_IDLE_MS < until)
		until = last + RELAY_PIPE_IDLE_MS;
	return (int)(until - now);
}

int
relay_run(int client, int dest, unsigned int idle_ms, unsigned int flags,
    struct relay_result *res)
{
	struct relay_dir	 d[2];	/* 0: up (client->dest), 1: down */
	struct relay_fault	 f = { 0, -1 };
	int64_t			 last;
	int			 wait, rc = -1, splice_ok;

	res->end = "error";
	res->side = NULL;
	res->up = res->down = 0;
	splice_ok = !(flags & RELAY_NO_SPLICE);
	relay_dir_init(&d[0], client, dest, splice_ok);
	relay_dir_init(&d[1], dest, client, splice_ok);
	last = mech_now_ms();
	for (;;) {
		wait = relay_pass(d, &f, &last);
		if (d[0].done && d[1].done) {
			if (f.err == 0) {
				res->end = "eof";
				rc = 0;
			}
			break;
		}
		if (wait == -1 && (wait = relay_quiet(d, last, idle_ms)) == -1) {
			res->end = "idle";
			break;
		}
		if (relay_wait(d, client, dest, wait, &f) == -1)
			break;
	}
	res->up = d[0].bytes;
	res->down = d[1].bytes;
	res->err = f.err;
	if (f.err != 0 && f.fd == client)
		res->side = "client";
	else if (f.err != 0 && f.fd == dest)
		res->side = "dest";
	relay_dir_free(&d[0]);
	relay_dir_free(&d[1]);
	return rc;
}

int
relay_write_all(int fd, const void *buf, size_t len, unsigned int timeout_ms)
{
	const uint8_t	*p = buf;
	int64_t		 deadline = mech_now_ms() + timeout_ms, left;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return -1;
		left = deadline - mech_now_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}
