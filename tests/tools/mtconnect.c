/*
 * mtconnect - many threads resolving and connecting at once while the
 * main thread forks and execs, for running with libsocks64 preloaded
 * (issue 6): the shim's tables, locks and once-initialisations under
 * pressure, and fork() taken while other threads hold them.
 *
 * Thread i (of -t N) resolves "nII.SUFFIX" with getaddrinfo (even
 * threads ask for AF_INET, odd ones for any family, so IPv6 fakes and
 * replaced sockets are in the mix), resolves it -l more times both ways
 * (getaddrinfo, getnameinfo), connects to the first answer, checks
 * that getpeername gives that same address, sends an HTTP/1.0 request
 * and reads tcpsrv's http answer, which names the local address the
 * connection reached: it must be NET.(i+1), the address the gateway
 * resolved that name to, so a connection that reached another name's
 * destination shows. All threads start together (a barrier: the shim's
 * first use is concurrent too) and go round at least -r times, and on
 * while the main thread is still forking.
 *
 * The main thread meanwhile forks -f times: each child resolves a name
 * (the shim's tables must be usable in the child of a multi-threaded
 * parent that forked while they were busy) and execs this program with
 * -c I, which makes connection I alone, the way a fresh program does.
 * -E leaves the look-up out (the child only execs): a sanitizer's own
 * allocator is not fork-safe, and a child that allocates can hang in
 * it whatever the shim does.
 *
 * Prints "ok I ADDR" or "bad I REASON" per connection, then
 * "summary ok=N bad=N forks=N"; exits 0 only if every connection and
 * every child succeeded. The whole run is bounded by -T seconds
 * (alarm): a deadlock ends in SIGALRM, never in a hang.
 * usage: mtconnect -p PORT [-t THREADS] [-r ROUNDS] [-f FORKS]
 *                  [-l LOOKUPS] [-s SUFFIX] [-n NET] [-T SECONDS]
 *                  [-c INDEX] [-E]
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS	100
#define MAX_ROUNDS	400	/* per thread, whatever the forks take */
#define CHILD_MS	20000	/* one exec'd child's whole run */
#define IO_MS		10000	/* one connection's exchange */

static const char	*suffix = "mt.test";
static const char	*net = "127.0.1";
static const char	*port = NULL;
static int		 nthreads = 64, rounds = 3, nforks = 16, lookups = 20;
static int		 exec_only;	/* -E: fork, then exec at once */
static pthread_barrier_t start;
static atomic_int	 forking = 1;	/* main is still forking */
static atomic_int	 n_ok, n_bad;
static pthread_mutex_t	 out_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * One whole line per event with a single write(2) on stdout (no stdio
 * buffer a fork could copy half-written).
 */
static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void
say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&out_lock);
	(void)!write(1, line, (size_t)n);
	pthread_mutex_unlock(&out_lock);
}

static void
name_of(int i, char *buf, size_t len)
{
	snprintf(buf, len, "n%02d.%s", i, suffix);
}

static void
addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (getnameinfo(sa, sa->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
	    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s", host);
}

/* Sets a send and receive timeout, so no exchange can block for ever. */
static void
bound_io(int fd)
{
	struct timeval tv = { IO_MS / 1000, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * The look-ups between connections: name must keep its address (sa)
 * both ways, whatever the other threads assign meanwhile. They also
 * keep the shim's table lock busy, so that the forks of the main thread
 * find it held: the case its fork handlers exist for.
 */
static int
relookup(const char *name, const struct addrinfo *first, char *why,
    size_t wlen)
{
	struct addrinfo hints, *res;
	char back[256];
	int j, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = first->ai_family;
	hints.ai_socktype = SOCK_STREAM;
	for (j = 0; j < lookups; j++) {
		if ((e = getaddrinfo(name, port, &hints, &res)) != 0) {
			snprintf(why, wlen, "getaddrinfo %s again: %s", name,
			    gai_strerror(e));
			return -1;
		}
		e = res->ai_addrlen != first->ai_addrlen ||
		    memcmp(res->ai_addr, first->ai_addr, res->ai_addrlen) != 0;
		freeaddrinfo(res);
		if (e) {
			snprintf(why, wlen, "%s changed address", name);
			return -1;
		}
		if ((e = getnameinfo(first->ai_addr, first->ai_addrlen, back,
		    sizeof(back), NULL, 0, NI_NAMEREQD)) != 0 ||
		    strcmp(back, name) != 0) {
			snprintf(why, wlen, "%s: its address names %s", name,
			    e != 0 ? gai_strerror(e) : back);
			return -1;
		}
	}
	return 0;
}

/*
 * Connection i: resolve, look up again, connect, check the peer, ask,
 * and check that the answer comes from NET.(i+1). 0, or -1 with why.
 */
static int
one(int i, int family, char *why, size_t wlen)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	char name[64], want[96], req[160], buf[1024];
	char fake[INET6_ADDRSTRLEN];
	size_t got = 0;
	ssize_t n;
	int fd = -1, rc = -1, e;

	name_of(i, name, sizeof(name));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(name, port, &hints, &res)) != 0) {
		snprintf(why, wlen, "getaddrinfo %s: %s", name,
		    gai_strerror(e));
		return -1;
	}
	addr_text(res->ai_addr, fake, sizeof(fake));
	if (relookup(name, res, why, wlen) == -1)
		goto out;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
	    -1) {
		snprintf(why, wlen, "socket: %s", strerror(errno));
		goto out;
	}
	bound_io(fd);
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1) {
		snprintf(why, wlen, "connect %s (%s): %s", name, fake,
		    strerror(errno));
		goto out;
	}
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) == -1 ||
	    plen != res->ai_addrlen ||
	    memcmp(&peer, res->ai_addr, plen) != 0) {
		snprintf(why, wlen, "getpeername is not %s", fake);
		goto out;
	}
	snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\n\r\n",
	    name);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		snprintf(why, wlen, "send: %s", strerror(errno));
		goto out;
	}
	while (got < sizeof(buf) - 1 &&
	    (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	snprintf(want, sizeof(want), "local=%s.%d:%s\n", net, i + 1, port);
	if (strstr(buf, want) == NULL) {
		char *l = strstr(buf, "local=");

		snprintf(why, wlen, "%s reached %.60s, not %s", name,
		    l != NULL ? l : "(no answer)", want);
		goto out;
	}
	snprintf(why, wlen, "%s", fake);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

static void
report(int i, int rc, const char *why)
{
	if (rc == 0) {
		atomic_fetch_add(&n_ok, 1);
		say("ok %d %s", i, why);
	} else {
		atomic_fetch_add(&n_bad, 1);
		say("bad %d %s", i, why);
	}
}

static void *
worker(void *arg)
{
	int i = (int)(intptr_t)arg, r;
	char why[512];

	pthread_barrier_wait(&start);
	for (r = 0; r < MAX_ROUNDS &&
	    (r < rounds || atomic_load(&forking)); r++)
		report(i, one(i, i % 2 ? AF_UNSPEC : AF_INET, why,
		    sizeof(why)), why);
	return NULL;
}

/*
 * In the child, between fork and exec: a look-up through the shim's
 * table (one answer: AF_INET, SOCK_STREAM), then this program again.
 */
static void
child(const char *self, int i)
{
	struct addrinfo hints, *res;
	char name[64], idx[16], *argv[] = { (char *)self, "-c", idx, "-p",
	    (char *)port, "-s", (char *)suffix, "-n", (char *)net, NULL };

	snprintf(idx, sizeof(idx), "%d", i);
	if (!exec_only) {
		name_of(i, name, sizeof(name));
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_INET;
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(name, port, &hints, &res) != 0)
			_exit(3);
		freeaddrinfo(res);
	}
	execv(self, argv);
	_exit(127);
}

/* Waits for pid up to CHILD_MS: its exit code, or -1 (killed). */
static int
wait_child(pid_t pid)
{
	struct timespec ts = { 0, 5 * 1000000L };
	int st, waited;

	for (waited = 0; waited < CHILD_MS; waited += 5) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		if (r == -1 && errno != EINTR)
			return -1;
		nanosleep(&ts, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static int
fork_loop(const char *self)
{
	struct addrinfo hints, *res;
	char name[64];
	int k, bad = 0, r;
	pid_t pid;

	/*
	 * -E: the shim's configuration loaded here first, so that the exec
	 * hook has nothing to allocate in the child either.
	 */
	if (exec_only) {
		name_of(0, name, sizeof(name));
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(name, port, &hints, &res) == 0)
			freeaddrinfo(res);
	}

	for (k = 0; k < nforks; k++) {
		int i = (k * 7) % nthreads;

		if ((pid = fork()) == -1) {
			say("bad fork %d: %s", k, strerror(errno));
			bad++;
			continue;
		}
		if (pid == 0)
			child(self, i);
		if ((r = wait_child(pid)) != 0) {
			say("bad child %d (index %d) exit %d", k, i, r);
			bad++;
		}
	}
	return bad;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mtconnect -p PORT [-t THREADS] [-r ROUNDS] "
	    "[-f FORKS] [-l LOOKUPS] [-s SUFFIX] [-n NET] [-T SECONDS] "
	    "[-c INDEX] [-E]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	pthread_t tid[MAX_THREADS];
	char self[4096], why[512];
	int c, i, only = -1, bad_forks, seconds = 60;
	ssize_t n;

	while ((c = getopt(argc, argv, "c:Ef:l:n:p:r:s:t:T:")) != -1) {
		switch (c) {
		case 'c': only = atoi(optarg); break;
		case 'E': exec_only = 1; break;
		case 'f': nforks = atoi(optarg); break;
		case 'l': lookups = atoi(optarg); break;
		case 'n': net = optarg; break;
		case 'p': port = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		case 's': suffix = optarg; break;
		case 't': nthreads = atoi(optarg); break;
		case 'T': seconds = atoi(optarg); break;
		default: usage();
		}
	}
	if (port == NULL || nthreads < 1 || nthreads > MAX_THREADS ||
	    rounds < 1 || nforks < 0 || lookups < 0 || seconds < 1)
		usage();
	/* SIGALRM's default action ends the process: a hang is a failure. */
	alarm((unsigned int)seconds);
	if (only >= 0) {
		c = one(only, AF_INET, why, sizeof(why));
		report(only, c, why);
		return c == 0 ? 0 : 1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return 1;
	self[n] = '\0';
	pthread_barrier_init(&start, NULL, (unsigned int)nthreads + 1);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, worker,
		    (void *)(intptr_t)i) != 0) {
			say("bad pthread_create %d", i);
			return 1;
		}
	pthread_barrier_wait(&start);
	bad_forks = fork_loop(self);
	atomic_store(&forking, 0);
	for (i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	say("summary ok=%d bad=%d forks=%d bad_forks=%d", atomic_load(&n_ok),
	    atomic_load(&n_bad), nforks, bad_forks);
	return atomic_load(&n_bad) == 0 && bad_forks == 0 ? 0 : 1;
}
