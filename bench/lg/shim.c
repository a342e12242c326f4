/*
 * shim.c - loadgen seq, gai and evloop: the shim's cases (blocking
 * connect + echo, getaddrinfo per call, non-blocking connects in a
 * poll() loop).
 */
#include "lg.h"

/* ------------------------------------------------------------------ */
/* seq, gai, evloop: the shim's cases                                  */

int
lg_seq(const struct lg_opts *o)
{
	int64_t	*lat, t0, start, deadline;
	uint64_t n = 0, fails = 0;
	char	 b;
	int	 fd;

	if ((lat = malloc(LG_MAX_SAMPLES * sizeof(*lat))) == NULL)
		lg_die("malloc");
	start = lg_now_ns();
	deadline = start + (int64_t)(o->limit_s * 1e9);
	while (n + fails < o->max && n < LG_MAX_SAMPLES &&
	    lg_now_ns() < deadline) {
		t0 = lg_now_ns();
		fd = lg_open_blocking(&o->tg, 5);
		if (fd == -1 || lg_write_full(fd, "x", 1) == -1 ||
		    lg_read_full(fd, &b, 1) == -1 || b != 'x') {
			if (fd != -1)
				close(fd);
			fails++;
			continue;
		}
		close(fd);
		lat[n++] = lg_now_ns() - t0;
	}
	printf("conns=%" PRIu64 " fails=%" PRIu64 " cps=%.0f", n, fails,
	    (double)n / ((double)(lg_now_ns() - start) / 1e9));
	lg_print_latency(lat, (size_t)n);
	printf("\n");
	free(lat);
	return n > 0 ? 0 : 1;
}

int
lg_gai(const struct lg_opts *o)
{
	struct addrinfo	 hints, *res;
	char		 first[ADDR_STRLEN];
	int64_t		 start, deadline;
	uint64_t	 n = 0;
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	/* The first call loads the configuration: not timed. */
	if ((rc = getaddrinfo(o->dest, "80", &hints, &res)) != 0) {
		printf("ns_per_call=nan error=\"%s\"\n", gai_strerror(rc));
		return 1;
	}
	addr_format(res->ai_addr, first, sizeof(first));
	freeaddrinfo(res);
	start = lg_now_ns();
	deadline = start + (int64_t)(o->limit_s * 1e9);
	while (n < o->max && ((n & 63) != 0 || lg_now_ns() < deadline)) {
		if (getaddrinfo(o->dest, "80", &hints, &res) != 0) {
			printf("ns_per_call=nan error=\"failed after %" PRIu64
			    " calls\"\n", n);
			return 1;
		}
		freeaddrinfo(res);
		n++;
	}
	printf("calls=%" PRIu64 " ns_per_call=%.0f first=%s\n", n,
	    (double)(lg_now_ns() - start) / (double)n, first);
	return 0;
}

/*
 * The event-loop case: N non-blocking connects issued back to back,
 * then poll() until each has echoed a byte. If connect() blocks until
 * the destination answers, the total is N times the delay, and the
 * longest connect() call shows it.
 */
int
lg_evloop(const struct lg_opts *o)
{
	struct pollfd	*p;
	int		*st;		/* 0 connecting, 1 echoing, 2 done */
	int64_t		 t0, c0, call, maxcall = 0, deadline;
	unsigned int	 i, launched = 0, done = 0, fails = 0, left;
	socklen_t	 elen;
	char		 b;
	int		 err, n;

	if ((p = calloc(o->conc, sizeof(*p))) == NULL ||
	    (st = calloc(o->conc, sizeof(*st))) == NULL)
		lg_die("calloc");
	t0 = lg_now_ns();
	deadline = t0 + (int64_t)(o->limit_s * 1e9);
	for (i = 0; i < o->conc && lg_now_ns() < deadline; i++) {
		p[i].fd = socket(o->tg.direct.ss_family, SOCK_STREAM |
		    SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p[i].fd == -1)
			lg_die("socket");
		launched++;
		c0 = lg_now_ns();
		n = connect(p[i].fd, (struct sockaddr *)&o->tg.direct,
		    o->tg.directlen);
		call = lg_now_ns() - c0;
		if (call > maxcall)
			maxcall = call;
		if (n == -1 && errno != EINPROGRESS) {
			close(p[i].fd);
			p[i].fd = -1;
			fails++;
			continue;
		}
		p[i].events = POLLOUT;
	}
	for (; i < o->conc; i++)
		p[i].fd = -1;
	/*
	 * If connect() blocked, the launch ate the time: give the launched
	 * ones 2 s more, so the result still says whether they work.
	 */
	if (lg_now_ns() + 2000000000LL > deadline)
		deadline = lg_now_ns() + 2000000000LL;
	while (done + fails < launched && lg_now_ns() < deadline) {
		left = (unsigned int)((deadline - lg_now_ns()) / 1000000);
		if (poll(p, o->conc, (int)left) <= 0)
			continue;
		for (i = 0; i < o->conc; i++) {
			if (p[i].fd == -1 || p[i].revents == 0)
				continue;
			err = 0;
			elen = sizeof(err);
			if (st[i] == 0 && (getsockopt(p[i].fd, SOL_SOCKET,
			    SO_ERROR, &err, &elen) == -1 || err != 0 ||
			    send(p[i].fd, "x", 1, MSG_NOSIGNAL) != 1)) {
				err = 1;
			} else if (st[i] == 0) {
				st[i] = 1;
				p[i].events = POLLIN;
				continue;
			} else if (recv(p[i].fd, &b, 1, 0) == 1 && b == 'x') {
				st[i] = 2;
				done++;
			} else
				err = 1;
			if (err)
				fails++;
			close(p[i].fd);
			p[i].fd = -1;
		}
	}
	printf("ok=%u fails=%u launched=%u of=%u total_ms=%.1f "
	    "max_connect_call_ms=%.2f\n", done, fails, launched, o->conc,
	    (double)(lg_now_ns() - t0) / 1e6, (double)maxcall / 1e6);
	for (i = 0; i < o->conc; i++)
		if (p[i].fd != -1)
			close(p[i].fd);
	free(p);
	free(st);
	return done == o->conc ? 0 : 1;
}
