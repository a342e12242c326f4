/*
 * loadgen - the benchmark's client: it speaks SOCKS5 itself, through the
 * project's codec (src/socks5.h), so every proxy is driven by the same
 * bytes, and it measures the proxy from outside (/proc/PID).
 *
 *   loadgen tput   [-x PROXY] -t DEST -s STREAMS -b BYTES -d up|down
 *                  [-p PID] [-T S]        throughput, integrity, CPU/GiB
 *   loadgen crr    [-x PROXY] -t DEST -c CONC [-n MAX] [-T S]
 *                  greeting + CONNECT + 1-byte echo + close, latencies
 *   loadgen hold   [-x PROXY] -t DEST -n N [-c CONC] [-P PAUSE_MS]
 *                  [-p PID] [-T S]        N relays open at once, memory
 *   loadgen seq    [-x PROXY] -t DEST [-n MAX] [-T S]
 *                  blocking connect + echo in a loop (with and without
 *                  the shim preloaded)
 *   loadgen gai    -t NAME [-n MAX] [-T S]   getaddrinfo ns per call
 *   loadgen evloop -t NAME:PORT [-c N] [-T S]
 *                  N non-blocking connects driven by poll()
 *   loadgen freeport                      prints a free loopback port
 *
 * PROXY is a literal ADDR:PORT. DEST is ADDR:PORT or NAME:PORT; through
 * a proxy a name goes as a DOMAINNAME (the proxy resolves it), directly
 * it is resolved here with getaddrinfo (the shim's fake address when
 * libsocks64 is preloaded). Results are one line of key=value pairs.
 * Every loop is bounded by a count and by -T seconds.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bench.h"
#include "socks5.h"

#define LG_EVENTS	256		/* epoll events per wake-up */
#define LG_MAX_STREAMS	64
#define LG_MAX_SAMPLES	2000000		/* latency samples kept */
/*
 * Kernel memory a relay costs outside any RSS: socket, pipe and file
 * objects (Slab), a thread's kernel stack, page tables. Steadier than
 * MemAvailable, which every other process on the machine moves too.
 */
#define LG_KERNEL_MEM	"Slab KernelStack PageTables"

/* Where to go and how: the proxy (if any) and the destination. */
struct lg_target {
	int			 proxied;
	struct sockaddr_storage	 proxy;
	socklen_t		 proxylen;
	struct socks5_addr	 dst;		/* as sent in CONNECT */
	struct sockaddr_storage	 direct;	/* where a direct run goes */
	socklen_t		 directlen;
};

struct lg_opts {
	struct lg_target	 tg;
	const char		*dest;		/* -t as given */
	unsigned int		 streams, conc, pause_ms;
	uint64_t		 bytes, max;
	int			 upload, pid;
	double			 limit_s;
};

static uint8_t		*lg_pat;

static int64_t
lg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
lg_die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
lg_usage(void)
{
	fprintf(stderr, "usage: loadgen tput|crr|hold|seq|gai|evloop|freeport "
	    "[-x PROXY] [-t DEST] [-s N] [-b BYTES] [-d up|down] [-c N] "
	    "[-n N] [-P MS] [-p PID] [-T S]\n");
	exit(2);
}

/* ------------------------------------------------------------------ */
/* /proc: the proxy's CPU time and memory, its children included       */

/* ppid of every process, indexed by pid; -1 where none. */
static int *
lg_proc_parents(size_t *n)
{
	char		 path[64], buf[512], *p;
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	int		*pp;
	long		 pid, ppid, max = 4194304;
	size_t		 i;

	if ((f = fopen("/proc/sys/kernel/pid_max", "r")) != NULL) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 4194304;
		fclose(f);
	}
	*n = (size_t)max + 1;
	if ((pp = malloc(*n * sizeof(*pp))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++)
		pp[i] = -1;
	if ((d = opendir("/proc")) == NULL)
		return pp;
	while ((de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* The name may hold anything: fields start after its ')'. */
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		if (sscanf(p + 1, " %*c %ld", &ppid) == 1 && pid >= 0 &&
		    (size_t)pid < *n)
			pp[pid] = (int)ppid;
	}
	closedir(d);
	return pp;
}

/* Whether pid is root or descends from it. */
static int
lg_proc_in_tree(const int *pp, size_t n, int pid, int root)
{
	int hops;

	for (hops = 0; hops < 64 && pid > 0 && (size_t)pid < n; hops++) {
		if (pid == root)
			return 1;
		pid = pp[pid];
	}
	return 0;
}

/*
 * CPU seconds of root and its descendants (Dante forks workers): utime
 * + stime of each live one, plus the children root has reaped.
 */
static double
lg_proc_cpu(int root)
{
	char		 path[64], buf[1024], *p;
	unsigned long long ut, st, cut, cst, ticks = 0;
	size_t		 n, pid;
	int		*pp;
	FILE		*f;

	if (root <= 0 || (pp = lg_proc_parents(&n)) == NULL)
		return 0;
	for (pid = 1; pid < n; pid++) {
		if (pp[pid] == -1 || !lg_proc_in_tree(pp, n, (int)pid, root))
			continue;
		snprintf(path, sizeof(path), "/proc/%zu/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p == NULL || (p = strrchr(buf, ')')) == NULL)
			continue;
		/* Fields 14-17 of proc(5), counted from the state (3). */
		if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
		    "%*u %llu %llu %llu %llu", &ut, &st, &cut, &cst) != 4)
			continue;
		ticks += ut + st + ((int)pid == root ? cut + cst : 0);
	}
	free(pp);
	return (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

/* Sum over root's tree of a "Key:  N kB" line of /proc/PID/status. */
static long
lg_proc_status_kib(int root, const char *key)
{
	char	 path[64], line[256];
	size_t	 n, pid, klen = strlen(key);
	long	 sum = 0, v;
	int	*pp;
	FILE	*f;

	if (root <= 0 || (pp = lg_proc_parents(&n)) == NULL)
		return 0;
	for (pid = 1; pid < n; pid++) {
		if (pp[pid] == -1 || !lg_proc_in_tree(pp, n, (int)pid, root))
			continue;
		snprintf(path, sizeof(path), "/proc/%zu/status", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
			    sscanf(line + klen + 1, "%ld", &v) == 1)
				sum += v;
		fclose(f);
	}
	free(pp);
	return sum;
}

/* The sum of the named /proc/meminfo lines ("Slab KernelStack"), kB. */
static long
lg_meminfo_kib(const char *keys)
{
	char	line[256], key[64];
	long	v, sum = 0;
	FILE	*f;

	if ((f = fopen("/proc/meminfo", "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *k = keys;
		size_t n;

		if (sscanf(line, "%63[^:]: %ld", key, &v) != 2)
			continue;
		n = strlen(key);
		/* key must be one of the space-separated words of keys. */
		while ((k = strstr(k, key)) != NULL) {
			if ((k == keys || k[-1] == ' ') &&
			    (k[n] == ' ' || k[n] == '\0')) {
				sum += v;
				break;
			}
			k += n;
		}
	}
	fclose(f);
	return sum;
}

/* ------------------------------------------------------------------ */
/* targets and the blocking SOCKS5 client                              */

/* Parses -x and -t into tg; a -t name is resolved only if needed. */
static void
lg_target_parse(struct lg_target *tg, const char *proxy, const char *dest,
    int resolve)
{
	struct addrinfo	 hints, *res;
	const char	*why, *colon;
	char		 host[256];
	size_t		 hl;
	int		 rc;

	memset(tg, 0, sizeof(*tg));
	if (proxy != NULL) {
		if (addr_parse_endpoint(proxy, -1, &tg->proxy, &tg->proxylen,
		    &why) == -1) {
			fprintf(stderr, "loadgen: -x %s: %s\n", proxy, why);
			exit(2);
		}
		tg->proxied = 1;
	}
	if (dest == NULL)
		lg_usage();
	if (addr_parse_endpoint(dest, -1, &tg->direct, &tg->directlen,
	    &why) == 0) {
		if (socks5_addr_from_sockaddr(&tg->dst,
		    (struct sockaddr *)&tg->direct) == -1)
			lg_die("socks5_addr_from_sockaddr");
		tg->dst.port = addr_port((struct sockaddr *)&tg->direct);
		return;
	}
	if ((colon = strrchr(dest, ':')) == NULL ||
	    (hl = (size_t)(colon - dest)) == 0 || hl >= sizeof(host)) {
		fprintf(stderr, "loadgen: -t %s: want ADDR:PORT or NAME:PORT\n",
		    dest);
		exit(2);
	}
	memcpy(host, dest, hl);
	host[hl] = '\0';
	tg->dst.atyp = SOCKS5_ATYP_DOMAIN;
	memcpy(tg->dst.name, host, hl + 1);
	tg->dst.port = (uint16_t)atoi(colon + 1);
	if (tg->proxied || !resolve)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(rc));
		exit(1);
	}
	memcpy(&tg->direct, res->ai_addr, res->ai_addrlen);
	tg->directlen = res->ai_addrlen;
	freeaddrinfo(res);
}

/* Where the TCP connection goes: the proxy, or the destination. */
static const struct sockaddr *
lg_first_hop(const struct lg_target *tg, socklen_t *len)
{
	*len = tg->proxied ? tg->proxylen : tg->directlen;
	return (const struct sockaddr *)(tg->proxied ? &tg->proxy :
	    &tg->direct);
}

static int
lg_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
lg_read_full(int fd, void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Greeting (no authentication), CONNECT, reply, on a blocking socket,
 * one message at a time as most clients do (and as microsocks needs).
 * The reply is read exactly: 4 bytes, then as many as its ATYP says.
 */
static int
lg_socks_blocking(int fd, const struct socks5_addr *dst)
{
	static const uint8_t	method_none = SOCKS5_METHOD_NONE;
	struct socks5_reply	rep;
	uint8_t			buf[SOCKS5_REQUEST_MAX], method;
	size_t			used, have, need;
	int			len;

	len = socks5_encode_greeting(buf, sizeof(buf), &method_none, 1);
	if (lg_write_full(fd, buf, (size_t)len) == -1 ||
	    lg_read_full(fd, buf, 2) == -1 ||
	    socks5_parse_method_choice(buf, 2, &method, &used) != SOCKS5_OK ||
	    method != SOCKS5_METHOD_NONE)
		return -1;
	if ((len = socks5_encode_request(buf, sizeof(buf), SOCKS5_CMD_CONNECT,
	    dst)) < 0 || lg_write_full(fd, buf, (size_t)len) == -1 ||
	    lg_read_full(fd, buf, 5) == -1)
		return -1;
	switch (buf[3]) {
	case SOCKS5_ATYP_IPV4:
		need = 4 + 4 + 2;
		break;
	case SOCKS5_ATYP_IPV6:
		need = 4 + 16 + 2;
		break;
	case SOCKS5_ATYP_DOMAIN:
		need = 4 + 1 + buf[4] + 2;
		break;
	default:
		return -1;
	}
	have = 5;
	if (lg_read_full(fd, buf + have, need - have) == -1 ||
	    socks5_parse_reply(buf, need, &rep, &used) != SOCKS5_OK ||
	    used != need || rep.rep != SOCKS5_REP_SUCCEEDED)
		return -1;
	return 0;
}

/* A blocking connection to the destination, through the proxy if any. */
static int
lg_open_blocking(const struct lg_target *tg, unsigned int timeout_s)
{
	const struct sockaddr	*sa;
	struct timeval		 tv = { (time_t)timeout_s, 0 };
	socklen_t		 len;
	int			 fd;

	sa = lg_first_hop(tg, &len);
	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* No read or write may outlast the run's own limit. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, sa, len) == -1 ||
	    (tg->proxied && lg_socks_blocking(fd, &tg->dst) == -1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------------ */
/* latency statistics                                                   */

static int
lg_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sorts v and prints p50/p90/p99/max in microseconds. */
static void
lg_print_latency(int64_t *v, size_t n)
{
	if (n == 0) {
		printf(" p50_us=nan p90_us=nan p99_us=nan max_us=nan");
		return;
	}
	qsort(v, n, sizeof(*v), lg_cmp_i64);
	printf(" p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f",
	    (double)v[(n - 1) * 50 / 100] / 1e3,
	    (double)v[(n - 1) * 90 / 100] / 1e3,
	    (double)v[(n - 1) * 99 / 100] / 1e3, (double)v[n - 1] / 1e3);
}

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

static int
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

static int
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
static int
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

/* ------------------------------------------------------------------ */
/* seq, gai, evloop: the shim's cases                                  */

static int
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

static int
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
static int
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

/*
 * A free loopback port below the ephemeral range. Ports in that range
 * are soon all held by TIME_WAIT from the connection-rate cases, and a
 * bind() to port 0 (ours, or Dante's for its outbound side) then fails;
 * below it no connect() ever takes one.
 */
static int
lg_freeport(void)
{
	struct sockaddr_in	sin;
	unsigned int		low = 32768, high = 60999, base, span, port, i;
	FILE			*f;
	int			fd;

	if ((f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r"))) {
		if (fscanf(f, "%u %u", &low, &high) != 2)
			low = 32768, high = 60999;
		fclose(f);
	}
	/* Below the range if there is room, else above it, else anywhere. */
	if (low >= 2048)
		base = 1024, span = low - 1024;
	else if (high <= 63487)
		base = high + 1, span = 65535 - high;
	else
		base = 1024, span = 64511;
	srand((unsigned int)(lg_now_ns() ^ getpid()));
	for (i = 0; i < 500; i++) {
		port = base + (unsigned int)rand() % span;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)port);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
			lg_die("socket");
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(fd);
			printf("%u\n", port);
			return 0;
		}
		close(fd);
	}
	lg_die("freeport: no free port");
	return 1;
}

int
main(int argc, char **argv)
{
	struct lg_opts	 o;
	const char	*mode, *proxy = NULL;
	int		 c;

	if (argc < 2)
		lg_usage();
	mode = argv[1];
	if (strcmp(mode, "freeport") == 0)
		return lg_freeport();
	memset(&o, 0, sizeof(o));
	o.streams = 1;
	o.conc = 1;
	o.bytes = 1u << 30;
	o.max = 1000000;
	o.pause_ms = 2000;
	o.upload = 1;
	o.limit_s = 10;
	optind = 2;
	while ((c = getopt(argc, argv, "x:t:s:b:d:c:n:P:p:T:")) != -1) {
		switch (c) {
		case 'x':
			proxy = optarg;
			break;
		case 't':
			o.dest = optarg;
			break;
		case 's':
			o.streams = (unsigned int)atoi(optarg);
			break;
		case 'b':
			o.bytes = strtoull(optarg, NULL, 10);
			break;
		case 'd':
			o.upload = strcmp(optarg, "down") != 0;
			break;
		case 'c':
			o.conc = (unsigned int)atoi(optarg);
			break;
		case 'n':
			o.max = strtoull(optarg, NULL, 10);
			break;
		case 'P':
			o.pause_ms = (unsigned int)atoi(optarg);
			break;
		case 'p':
			o.pid = atoi(optarg);
			break;
		case 'T':
			o.limit_s = atof(optarg);
			break;
		default:
			lg_usage();
		}
	}
	if (optind != argc || o.conc == 0 || o.max == 0 || o.dest == NULL)
		lg_usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "gai") == 0)
		return lg_gai(&o);
	lg_target_parse(&o.tg, proxy, o.dest, 1);
	if (strcmp(mode, "tput") == 0) {
		if ((lg_pat = malloc(2 * (size_t)BENCH_PAT_LEN)) == NULL)
			lg_die("malloc");
		bench_pattern_init(lg_pat);
		return lg_tput(&o);
	}
	if (strcmp(mode, "crr") == 0)
		return lg_crr(&o);
	if (strcmp(mode, "hold") == 0)
		return lg_hold(&o);
	if (strcmp(mode, "seq") == 0)
		return lg_seq(&o);
	if (strcmp(mode, "evloop") == 0)
		return lg_evloop(&o);
	lg_usage();
	return 2;
}
