/*
 * conn.c - loadgen crr and hold: many connections driven by one epoll
 * loop, for the connection rate and latency, and for relays held open.
 */
#include "lg.h"

/* ------------------------------------------------------------------ */
/* crr and hold: many connections driven by one epoll loop             */

enum lg_state {
	LG_FREE = 0,
	LG_CONNECT,		/* TCP connect in progress */
	LG_METHOD,		/* greeting sent, waiting for the method */
	LG_REPLY,		/* request sent, waiting for the reply */
	LG_ECHO,		/* byte sent, waiting for it back */
	LG_HELD,		/* echoed once, held open (hold) */
	LG_ECHO2,		/* second byte sent after the pause (hold) */
	LG_DONE,		/* echoed twice (hold) */
};

struct lg_conn {
	int		fd;
	enum lg_state	state;
	int64_t		t0;
	uint8_t		rbuf[SOCKS5_REQUEST_MAX];
	size_t		rlen;
};

struct lg_engine {
	const struct lg_opts	*o;
	int			 ep;
	int			 hold;		/* park instead of close */
	struct lg_conn		*c;
	size_t			 nc;
	size_t			 inflight;	/* not free, not held/done */
	uint64_t		 started, finished, fails;
	int64_t			*lat;
	size_t			 nlat;
	const char		*last_err;
};

static void
lg_conn_fail(struct lg_engine *e, struct lg_conn *c, const char *why)
{
	(void)epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->state >= LG_CONNECT && c->state <= LG_ECHO)
		e->inflight--;
	c->state = LG_FREE;
	c->fd = -1;
	e->fails++;
	e->last_err = why;
}

static int
lg_conn_send(struct lg_engine *e, struct lg_conn *c, const void *buf,
    size_t len, enum lg_state next)
{
	struct epoll_event ev;

	/* A fresh loopback socket takes a few hundred bytes at once. */
	if (send(c->fd, buf, len, MSG_NOSIGNAL) != (ssize_t)len) {
		lg_conn_fail(e, c, "send");
		return -1;
	}
	c->state = next;
	c->rlen = 0;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	(void)epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Connected to the first hop: greet the proxy, or send the echo byte. */
static void
lg_conn_connected(struct lg_engine *e, struct lg_conn *c)
{
	static const uint8_t	method_none = SOCKS5_METHOD_NONE;
	uint8_t			buf[8];
	int			len;

	if (e->o->tg.proxied) {
		len = socks5_encode_greeting(buf, sizeof(buf), &method_none, 1);
		(void)lg_conn_send(e, c, buf, (size_t)len, LG_METHOD);
	} else
		(void)lg_conn_send(e, c, "x", 1, LG_ECHO);
}

static void
lg_conn_start(struct lg_engine *e, struct lg_conn *c)
{
	const struct sockaddr	*sa;
	struct epoll_event	 ev;
	socklen_t		 len;

	sa = lg_first_hop(&e->o->tg, &len);
	c->t0 = lg_now_ns();
	c->rlen = 0;
	e->started++;
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		e->fails++;
		e->last_err = "socket";
		return;
	}
	e->inflight++;
	c->state = LG_CONNECT;
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		lg_conn_fail(e, c, "epoll_ctl");
		return;
	}
	if (connect(c->fd, sa, len) == 0)
		lg_conn_connected(e, c);
	else if (errno != EINPROGRESS)
		lg_conn_fail(e, c, "connect");
}

/* The echo came back: record, then close or hold. */
static void
lg_conn_echoed(struct lg_engine *e, struct lg_conn *c)
{
	if (e->hold) {
		c->state = LG_HELD;
		e->inflight--;
		e->finished++;
		return;
	}
	(void)epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = LG_FREE;
	e->inflight--;
	e->finished++;
	if (e->nlat < LG_MAX_SAMPLES)
		e->lat[e->nlat++] = lg_now_ns() - c->t0;
}

static void
lg_conn_event(struct lg_engine *e, struct lg_conn *c, uint32_t events)
{
	struct socks5_reply	rep;
	uint8_t			buf[SOCKS5_REQUEST_MAX], method;
	socklen_t		elen = sizeof(int);
	size_t			used;
	ssize_t			n;
	int			err = 0, len;
	enum socks5_status	st;

	if (c->state == LG_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) ==
		    -1 || err != 0) {
			lg_conn_fail(e, c, "connect refused or failed");
			return;
		}
		lg_conn_connected(e, c);
		return;
	}
	(void)events;
	n = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		lg_conn_fail(e, c, c->state == LG_HELD ?
		    "held relay closed" : "closed early");
		return;
	}
	c->rlen += (size_t)n;
	switch (c->state) {
	case LG_METHOD:
		st = socks5_parse_method_choice(c->rbuf, c->rlen, &method,
		    &used);
		if (st == SOCKS5_NEED_MORE)
			return;
		if (st != SOCKS5_OK || method != SOCKS5_METHOD_NONE ||
		    used != c->rlen) {
			lg_conn_fail(e, c, "bad method choice");
			return;
		}
		len = socks5_encode_request(buf, sizeof(buf),
		    SOCKS5_CMD_CONNECT, &e->o->tg.dst);
		(void)lg_conn_send(e, c, buf, (size_t)len, LG_REPLY);
		return;
	case LG_REPLY:
		st = socks5_parse_reply(c->rbuf, c->rlen, &rep, &used);
		if (st == SOCKS5_NEED_MORE)
			return;
		if (st != SOCKS5_OK || rep.rep != SOCKS5_REP_SUCCEEDED ||
		    used != c->rlen) {
			lg_conn_fail(e, c, "CONNECT failed");
			return;
		}
		(void)lg_conn_send(e, c, "x", 1, LG_ECHO);
		return;
	case LG_ECHO:
	case LG_ECHO2:
		if (c->rlen != 1 || c->rbuf[0] != 'x') {
			lg_conn_fail(e, c, "wrong echo");
			return;
		}
		c->rlen = 0;
		if (c->state == LG_ECHO)
			lg_conn_echoed(e, c);
		else
			c->state = LG_DONE;
		return;
	default:
		lg_conn_fail(e, c, "unexpected bytes");
		return;
	}
}

/* One epoll round: waits at most wait_ms, handles what is ready. */
static void
lg_engine_poll(struct lg_engine *e, int wait_ms)
{
	struct epoll_event	evs[LG_EVENTS];
	int			n, i;

	n = epoll_wait(e->ep, evs, LG_EVENTS, wait_ms);
	for (i = 0; i < n; i++)
		lg_conn_event(e, evs[i].data.ptr, evs[i].events);
}

static void
lg_engine_init(struct lg_engine *e, const struct lg_opts *o, size_t nc)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	e->o = o;
	e->nc = nc;
	if ((e->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		lg_die("epoll_create1");
	if ((e->c = calloc(nc, sizeof(*e->c))) == NULL ||
	    (e->lat = malloc(LG_MAX_SAMPLES * sizeof(*e->lat))) == NULL)
		lg_die("malloc");
	for (i = 0; i < nc; i++)
		e->c[i].fd = -1;
}

static void
lg_engine_free(struct lg_engine *e)
{
	size_t i;

	for (i = 0; i < e->nc; i++)
		if (e->c[i].fd != -1)
			close(e->c[i].fd);
	close(e->ep);
	free(e->c);
	free(e->lat);
}

int
lg_crr(const struct lg_opts *o)
{
	struct lg_engine	e;
	int64_t			t0, deadline, now;
	size_t			i;
	double			secs;

	lg_engine_init(&e, o, o->conc);
	t0 = lg_now_ns();
	deadline = t0 + (int64_t)(o->limit_s * 1e9);
	for (;;) {
		now = lg_now_ns();
		for (i = 0; i < e.nc && now < deadline && e.started < o->max;
		    i++)
			if (e.c[i].state == LG_FREE)
				lg_conn_start(&e, &e.c[i]);
		if (e.inflight == 0)
			break;
		/* Past the deadline, only let the ones running finish. */
		if (now > deadline + 2000000000LL)
			break;
		lg_engine_poll(&e, 100);
	}
	secs = (double)(lg_now_ns() - t0) / 1e9;
	printf("conns=%" PRIu64 " fails=%" PRIu64 " secs=%.3f cps=%.0f",
	    e.finished, e.fails, secs, (double)e.finished / secs);
	lg_print_latency(e.lat, e.nlat);
	if (e.fails > 0)
		printf(" last_error=\"%s\"", e.last_err);
	printf("\n");
	lg_engine_free(&e);
	return e.finished > 0 ? 0 : 1;
}

/*
 * Opens N relays (CONC at a time), each echoing once; measures the
 * proxy's memory with all of them open; pauses; has each echo again.
 * Memory per relay is (peak RSS - RSS before) / N, the MemAvailable
 * drop / N (it counts sockets, pipes and kernel stacks, which RSS does
 * not) and the growth of those kernel parts alone / N.
 */
int
lg_hold(const struct lg_opts *o)
{
	struct lg_engine	e;
	int64_t			t0, deadline, open_ns, last;
	long			rss0, avail0, avail1, kern0, kern1, hwm, hwm_end;
	uint64_t		held, alive = 0, dead = 0, progress;
	int			stalled = 0;
	size_t			next = 0, i;
	struct epoll_event	ev;

	lg_engine_init(&e, o, (size_t)o->max);
	e.hold = 1;
	rss0 = lg_proc_status_kib(o->pid, "VmRSS");
	avail0 = lg_meminfo_kib("MemAvailable");
	kern0 = lg_meminfo_kib(LG_KERNEL_MEM);
	t0 = lg_now_ns();
	deadline = t0 + (int64_t)(o->limit_s * 1e9);
	last = t0;
	progress = 0;
	while (lg_now_ns() < deadline) {
		while (next < e.nc && e.inflight < o->conc)
			lg_conn_start(&e, &e.c[next++]);
		if (e.inflight == 0 && next == e.nc)
			break;
		lg_engine_poll(&e, 100);
		/*
		 * A proxy out of descriptors stops accepting or fails each
		 * new relay: 5 s without one more relay open ends the
		 * opening, rather than the whole -T.
		 */
		if (e.finished != progress) {
			progress = e.finished;
			last = lg_now_ns();
		} else if (lg_now_ns() - last > 5000000000LL) {
			stalled = 1;
			break;
		}
	}
	open_ns = lg_now_ns() - t0;
	held = e.finished;
	/* Let the proxy's side settle: its last threads are still starting. */
	usleep(200000);
	avail1 = lg_meminfo_kib("MemAvailable");
	kern1 = lg_meminfo_kib(LG_KERNEL_MEM);
	hwm = lg_proc_status_kib(o->pid, "VmHWM");

	/* The pause: idle relays must stay up. */
	usleep((useconds_t)o->pause_ms * 1000);
	for (i = 0; i < e.nc; i++) {
		struct lg_conn *c = &e.c[i];

		if (c->state != LG_HELD)
			continue;
		if (send(c->fd, "x", 1, MSG_NOSIGNAL) != 1) {
			lg_conn_fail(&e, c, "send after pause");
			continue;
		}
		c->state = LG_ECHO2;
		c->rlen = 0;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		(void)epoll_ctl(e.ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	deadline = lg_now_ns() + (int64_t)(o->limit_s * 1e9);
	for (;;) {
		alive = 0;
		dead = 0;
		for (i = 0; i < e.nc; i++) {
			if (e.c[i].state == LG_DONE)
				alive++;
			else if (e.c[i].state != LG_ECHO2)
				dead++;
		}
		if (alive + dead == e.nc || lg_now_ns() > deadline)
			break;
		lg_engine_poll(&e, 100);
	}
	hwm_end = lg_proc_status_kib(o->pid, "VmHWM");
	if (hwm_end > hwm)
		hwm = hwm_end;
	printf("held=%" PRIu64 " alive=%" PRIu64 " fails=%" PRIu64
	    " open_secs=%.3f memdrop_per_relay_kib=%.2f"
	    " kernel_per_relay_kib=%.2f", held, alive, e.fails,
	    (double)open_ns / 1e9,
	    held > 0 ? (double)(avail0 - avail1) / (double)held : 0,
	    held > 0 ? (double)(kern1 - kern0) / (double)held : 0);
	/* RSS only of a process named: a direct run has no proxy. */
	if (o->pid > 0)
		printf(" rss0_kib=%ld hwm_kib=%ld hwm_per_relay_kib=%.2f", rss0,
		    hwm, held > 0 ? (double)(hwm - rss0) / (double)held : 0);
	if (stalled)
		printf(" stalled=\"no relay opened for 5 s\"");
	if (e.last_err != NULL)
		printf(" last_error=\"%s\"", e.last_err);
	printf("\n");
	lg_engine_free(&e);
	return alive == o->max ? 0 : 1;
}
