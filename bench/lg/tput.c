/*
 * tput.c - loadgen tput: streams of verifiable bytes, up or down, with
 * the proxy's CPU seconds per GiB.
 */
#include "lg.h"

/* ------------------------------------------------------------------ */
/* tput: streams of verifiable bytes, up or down                       */

struct lg_stream {
	const struct lg_opts	*o;
	pthread_barrier_t	*start;
	int			 fd;
	uint64_t		 seed;
	uint64_t		 done;		/* bytes moved */
	int			 ok;
	int64_t			 end_ns;
	const char		*why;
};

static void
lg_stream_up(struct lg_stream *s, int64_t deadline)
{
	uint8_t		st[BENCH_STATUS_LEN];
	uint64_t	len = s->o->bytes;
	size_t		n;

	while (s->done < len) {
		n = len - s->done < BENCH_CHUNK ? (size_t)(len - s->done) :
		    BENCH_CHUNK;
		if (lg_write_full(s->fd, lg_pat + bench_pattern_off(s->seed,
		    s->done), n) == -1) {
			s->why = "write failed";
			return;
		}
		s->done += n;
		if (lg_now_ns() > deadline) {
			s->why = "time limit";
			return;
		}
	}
	/* The sink answers once it has len bytes: the last one crossed. */
	if (lg_read_full(s->fd, st, sizeof(st)) == -1) {
		s->why = "no status from sink";
		return;
	}
	if (bench_get64(st + 8) != 0) {
		s->why = "sink saw corrupt bytes";
		fprintf(stderr, "loadgen: stream seed %" PRIu64 ": first bad "
		    "byte at %" PRIu64 "\n", s->seed, bench_get64(st + 8) - 1);
		return;
	}
	if (bench_get64(st) != len) {
		s->why = "sink got a different length";
		return;
	}
	s->ok = 1;
}

static void
lg_stream_down(struct lg_stream *s, int64_t deadline)
{
	uint8_t		*buf;
	uint64_t	 len = s->o->bytes;
	size_t		 off;
	ssize_t		 n;

	if ((buf = malloc(BENCH_CHUNK)) == NULL) {
		s->why = "malloc";
		return;
	}
	for (;;) {
		n = read(s->fd, buf, BENCH_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off = bench_pattern_off(s->seed, s->done);
		if (s->done + (uint64_t)n > len ||
		    memcmp(buf, lg_pat + off, (size_t)n) != 0) {
			s->why = "corrupt or excess bytes";
			free(buf);
			return;
		}
		s->done += (uint64_t)n;
		if (lg_now_ns() > deadline) {
			s->why = "time limit";
			free(buf);
			return;
		}
	}
	free(buf);
	if (n < 0)
		s->why = "read error";
	else if (s->done != len)
		s->why = "short stream";
	else
		s->ok = 1;
}

static void *
lg_stream_main(void *arg)
{
	struct lg_stream	*s = arg;
	int64_t			 deadline;

	pthread_barrier_wait(s->start);
	deadline = lg_now_ns() + (int64_t)(s->o->limit_s * 1e9);
	if (s->fd != -1) {
		if (s->o->upload)
			lg_stream_up(s, deadline);
		else
			lg_stream_down(s, deadline);
	}
	s->end_ns = lg_now_ns();
	return NULL;
}

int
lg_tput(const struct lg_opts *o)
{
	struct lg_stream	 st[LG_MAX_STREAMS];
	pthread_t		 th[LG_MAX_STREAMS];
	pthread_barrier_t	 start;
	uint8_t			 hdr[BENCH_HDR_LEN];
	uint64_t		 total = 0;
	int64_t			 t0, t1 = 0;
	double			 cpu0, cpu1, secs, gib;
	unsigned int		 i;
	int			 ok = 1;
	const char		*why = "";

	if (o->streams == 0 || o->streams > LG_MAX_STREAMS)
		lg_usage();
	pthread_barrier_init(&start, NULL, o->streams + 1);
	for (i = 0; i < o->streams; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].o = o;
		st[i].start = &start;
		st[i].seed = (uint64_t)(i + 1) * 7919;
		st[i].fd = lg_open_blocking(&o->tg,
		    (unsigned int)o->limit_s + 5);
		st[i].why = "connect or SOCKS handshake failed";
		if (st[i].fd != -1) {
			bench_put32(hdr, BENCH_MAGIC);
			bench_put32(hdr + 4, o->upload ? BENCH_SINK :
			    BENCH_SOURCE);
			bench_put64(hdr + 8, o->bytes);
			bench_put64(hdr + 16, st[i].seed);
			if (lg_write_full(st[i].fd, hdr, sizeof(hdr)) == -1) {
				close(st[i].fd);
				st[i].fd = -1;
			} else
				st[i].why = NULL;
		}
		if (pthread_create(&th[i], NULL, lg_stream_main, &st[i]) != 0)
			lg_die("pthread_create");
	}
	cpu0 = lg_proc_cpu(o->pid);
	pthread_barrier_wait(&start);
	t0 = lg_now_ns();
	for (i = 0; i < o->streams; i++) {
		pthread_join(th[i], NULL);
		total += st[i].done;
		if (st[i].end_ns > t1)
			t1 = st[i].end_ns;
		if (!st[i].ok) {
			ok = 0;
			why = st[i].why != NULL ? st[i].why : "?";
		}
		if (st[i].fd != -1)
			close(st[i].fd);
	}
	cpu1 = lg_proc_cpu(o->pid);
	secs = (double)(t1 - t0) / 1e9;
	gib = (double)total / (1024.0 * 1024 * 1024);
	printf("gbps=%.3f secs=%.3f bytes=%" PRIu64 " ok=%d", secs > 0 ?
	    (double)total * 8 / secs / 1e9 : 0, secs, total, ok);
	if (o->pid > 0)
		printf(" cpu_s=%.3f cpu_per_gib=%.3f", cpu1 - cpu0,
		    gib > 0 ? (cpu1 - cpu0) / gib : 0);
	printf("%s%s%s\n", ok ? "" : " why=\"", why, ok ? "" : "\"");
	return ok ? 0 : 1;
}
