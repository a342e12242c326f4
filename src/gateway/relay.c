/*
 * relay.c - moving a TCP stream both ways between client and destination.
 *
 * RFC 3089 section 2 relays two "terminated" connections at the
 * application layer, which is what makes the IPv4/IPv6 crossing work. Each
 * direction moves bytes with splice(2) through its own pipe, so they never
 * enter user space; read/write takes over, without losing a byte, when
 * splice() fails for any reason but the connection's own. An EOF travels as a
 * half-close once everything read before it is written. No policy here.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

/* One splice or read: the default pipe capacity, so one call fills it. */
#define RELAY_CHUNK	(64 * 1024)

/* Rounds one direction may take before letting the other one move. */
#define RELAY_ROUNDS	8

struct relay_dir {
	int		 from, to;
	int		 pipe[2];	/* splice mode; -1 in copy mode */
	uint8_t		*buf;		/* copy mode */
	size_t		 off;		/* copy mode: first unwritten byte */
	size_t		 held;		/* read from `from`, not yet written */
	int		 eof;		/* `from` said EOF */
	int		 done;		/* and it was passed on to `to` */
	int		 want_in;	/* wait for `from` to be readable */
	int		 want_out;	/* wait for `to` to be writable */
	uint64_t	 bytes;		/* written to `to` */
};

static int
relay_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Leaves splice mode for read/write; nothing is held when this runs. */
static int
relay_to_copy(struct relay_dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
		d->pipe[0] = d->pipe[1] = -1;
	}
	if (d->buf == NULL && (d->buf = malloc(RELAY_CHUNK)) == NULL)
		return -1;
	return 0;
}

static int
relay_dir_init(struct relay_dir *d, int from, int to, int try_splice)
{
	*d = (struct relay_dir){ .from = from, .to = to, .pipe = { -1, -1 } };
	/* Out of descriptors for a pipe is no reason to fail the relay. */
	if (try_splice && pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0)
		return 0;
	return relay_to_copy(d);
}

static void
relay_dir_free(struct relay_dir *d)
{
	if (d->pipe[0] != -1) {
		close(d->pipe[0]);
		close(d->pipe[1]);
	}
	free(d->buf);
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
 * is lost. A fill put them there in one call, so they fit the buffer.
 */
static int
relay_unsplice(struct relay_dir *d)
{
	size_t	got = 0;
	ssize_t	n;

	if (d->buf == NULL && (d->buf = malloc(RELAY_CHUNK)) == NULL)
		return -1;
	while (got < d->held) {
		n = read(d->pipe[0], d->buf + got, d->held - got);
		if (n == 0)
			errno = EIO;	/* our own pipe cannot lose bytes */
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	d->off = 0;
	return relay_to_copy(d);
}

/* Reads from `from` into an empty pipe or buffer: >0, 0 at EOF, -1. */
static ssize_t
relay_fill(struct relay_dir *d)
{
	ssize_t n;

	if (d->pipe[0] != -1) {
		n = splice(d->from, NULL, d->pipe[1], NULL, RELAY_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n != -1 || !relay_splice_gives_way(errno))
			return n;
		/* The pipe is empty (fills only happen so): nothing moves. */
		if (relay_to_copy(d) == -1)
			return -1;
	}
	d->off = 0;
	return read(d->from, d->buf, RELAY_CHUNK);
}

/* Writes held bytes to `to`: >0 written, -1 with errno. */
static ssize_t
relay_drain(struct relay_dir *d)
{
	ssize_t n;

	n = -1;
	if (d->pipe[0] != -1) {
		n = splice(d->pipe[0], NULL, d->to, NULL, d->held,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && relay_splice_gives_way(errno) &&
		    relay_unsplice(d) == -1)
			return -1;
	}
	if (d->pipe[0] == -1)
		n = write(d->to, d->buf + d->off, d->held);
	if (n == 0) {
		/* Neither a pipe we hold open nor a socket says 0: be safe. */
		errno = EIO;
		return -1;
	}
	if (n > 0 && d->pipe[0] == -1)
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
	p->events = (rd->want_in ? POLLIN : 0) | (wr->want_out ? POLLOUT : 0);
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
 * only into an empty pipe, so that leaves no byte behind.
 */
static void
relay_dead(struct relay_dir d[2], int fd)
{
	int i;

	for (i = 0; i < 2; i++)
		if (d[i].to == fd)
			d[i].done = 1;
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

/* Both directions of a relay; 0, or -1 with errno and nothing open. */
static int
relay_dirs_init(struct relay_dir d[2], int client, int dest,
    unsigned int flags)
{
	int	try_splice, saved;

	try_splice = !(flags & RELAY_NO_SPLICE) && relay_is_socket(client) &&
	    relay_is_socket(dest);
	if (relay_dir_init(&d[0], client, dest, try_splice) == -1)
		return -1;
	if (relay_dir_init(&d[1], dest, client, try_splice) == -1) {
		saved = errno;
		relay_dir_free(&d[0]);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * One pass over both directions: moves what can move without blocking,
 * keeps the first error in *err and when bytes last moved in *last.
 * Returns the poll timeout the pass calls for: 0 to come straight back
 * (an error to act on, or a direction stopped by its round limit), -1
 * to wait on the sockets.
 */
static int
relay_pass(struct relay_dir d[2], int *err, int64_t *last)
{
	int	i, wait = -1, dead = -1;

	for (i = 0; i < 2; i++) {
		if (d[i].done)
			continue;
		switch (relay_step(&d[i], &dead)) {
		case -1:
			if (*err == 0)
				*err = errno;
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
 * Waits up to wait ms for what the directions wait on; a socket that
 * poll() reports failed is marked dead and its error kept in *err.
 * Returns 0, or -1 when poll() itself failed (*err says why).
 */
static int
relay_wait(struct relay_dir d[2], int client, int dest, int wait, int *err)
{
	struct pollfd	p[2];
	int		i, e;

	relay_pollfd(&p[0], client, &d[0], &d[1]);
	relay_pollfd(&p[1], dest, &d[1], &d[0]);
	if (poll(p, 2, wait) == -1) {
		if (errno == EINTR)
			return 0;
		*err = errno;
		return -1;
	}
	for (i = 0; i < 2; i++) {
		if ((e = relay_poll_error(&p[i])) == 0)
			continue;
		if (*err == 0)
			*err = e;
		relay_dead(d, p[i].fd);
	}
	return 0;
}

int
relay_run(int client, int dest, unsigned int idle_ms, unsigned int flags,
    struct relay_result *res)
{
	struct relay_dir	 d[2];	/* 0: up (client->dest), 1: down */
	int64_t			 last, now;
	int			 wait, rc = -1, err = 0;

	res->end = "error";
	res->up = res->down = 0;
	if (relay_dirs_init(d, client, dest, flags) == -1) {
		res->err = errno;
		return -1;
	}
	last = mech_now_ms();
	for (;;) {
		wait = relay_pass(d, &err, &last);
		if (d[0].done && d[1].done) {
			if (err == 0) {
				res->end = "eof";
				rc = 0;
			}
			break;
		}
		if (wait == -1) {
			now = mech_now_ms();
			if (now - last >= (int64_t)idle_ms) {
				res->end = "idle";
				break;
			}
			wait = (int)(last + idle_ms - now);
		}
		if (relay_wait(d, client, dest, wait, &err) == -1)
			break;
	}
	res->up = d[0].bytes;
	res->down = d[1].bytes;
	res->err = err;
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
