/*
 * harness_hostile.c - the harness additions of the it_hostile*.c tests:
 * bursts of sockets, resets, clients bound to a source address, /proc
 * counts of a daemon's threads, a handshake with short per-step bounds,
 * bulk transfers in parallel threads, and the fixture those tests share
 * (harness_hostile.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness_hostile.h"

const char *
hh_sanitizer(void)
{
	const char	*s = getenv("SANITIZE");

	return s != NULL ? s : "";
}

int
hh_ms(int ms)
{
	const char	*s = hh_sanitizer();

	if (strcmp(s, "thread") == 0)
		return ms * 6;
	if (*s != '\0')
		return ms * 3;
	return ms;
}

long
hh_raise_nofile(long want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)want)
		return (long)rl.rlim_cur;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)want) {
		/* Only root may raise the hard limit; try, then settle. */
		struct rlimit up = { (rlim_t)want, (rlim_t)want };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return want;
	}
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max >= (rlim_t)want ? (rlim_t)want : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	return (long)rl.rlim_cur;
}

int
hh_task_count(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int
hh_gw_settle(const struct h_gw *gw, int base_fds, int base_tasks,
    int timeout_ms, int *fds, int *tasks)
{
	int64_t	end = h_now_ms() + timeout_ms;
	int	f, t;

	for (;;) {
		f = h_fd_count(gw->proc.pid);
		t = hh_task_count(gw->proc.pid);
		if (fds != NULL)
			*fds = f;
		if (tasks != NULL)
			*tasks = t;
		if (f >= 0 && t >= 0 && f <= base_fds && t <= base_tasks)
			return 0;
		if (h_now_ms() >= end)
			return -1;
		h_sleep_ms(20);
	}
}

int
hh_ip(const char *arg, ...)
{
	char		*argv[10];
	const char	*a;
	va_list		 ap;
	int		 n = 0;

	argv[n++] = "/sbin/ip";
	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/sbin/ip";
	argv[n++] = (char *)arg;
	va_start(ap, arg);
	while (n < 9 && (a = va_arg(ap, const char *)) != NULL)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return h_run(argv, NULL, NULL, 5000);
}

static int
sockaddr_of(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

/* Waits for a nonblocking connect; 0 connected, -1 failed or too late. */
static int
connect_wait(int fd, int timeout_ms)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	elen = sizeof(int);
	int		err = 0;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
	    err != 0)
		return -1;
	return 0;
}

int
hh_connect_from(const char *src, const char *host, uint16_t port,
    int timeout_ms)
{
	struct sockaddr_storage	ss, local;
	socklen_t		len, llen;
	int			fd;

	if (sockaddr_of(host, port, &ss, &len) == -1 ||
	    sockaddr_of(src, 0, &local, &llen) == -1 ||
	    ss.ss_family != local.ss_family)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&local, llen) == -1)
		goto fail;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 &&
	    (errno != EINPROGRESS || connect_wait(fd, timeout_ms) == -1))
		goto fail;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	close(fd);
	return -1;
}

int
hh_connect_many(const char *host, uint16_t port, int *fds, int n,
    int timeout_ms)
{
	struct sockaddr_storage	 ss;
	struct pollfd		*pfd;
	socklen_t		 len, elen;
	int64_t			 end = h_now_ms() + timeout_ms;
	int			*pending, npending = 0, ok = 0, err, i, j;

	for (i = 0; i < n; i++)
		fds[i] = -1;
	if (sockaddr_of(host, port, &ss, &len) == -1)
		return 0;
	pfd = calloc((size_t)n, sizeof(*pfd));
	pending = calloc((size_t)n, sizeof(*pending));
	if (pfd == NULL || pending == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		fds[i] = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fds[i] == -1)
			continue;
		if (connect(fds[i], (struct sockaddr *)&ss, len) == 0)
			ok++;
		else if (errno == EINPROGRESS)
			pending[npending++] = i;
		else {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	/*
	 * Connects beyond the listen backlog wait for the daemon to accept
	 * (the kernel retries their SYN), so poll until all are done.
	 */
	while (npending > 0) {
		int64_t left = end - h_now_ms();
		if (left <= 0)
			break;
		for (j = 0; j < npending; j++) {
			pfd[j].fd = fds[pending[j]];
			pfd[j].events = POLLOUT;
			pfd[j].revents = 0;
		}
		if (poll(pfd, (nfds_t)npending, (int)(left < 200 ? left : 200))
		    == -1 && errno != EINTR)
			break;
		for (j = 0; j < npending; ) {
			if (pfd[j].revents == 0) {
				j++;
				continue;
			}
			i = pending[j];
			err = 0;
			elen = sizeof(err);
			if (getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err,
			    &elen) == 0 && err == 0)
				ok++;
			else {
				close(fds[i]);
				fds[i] = -1;
			}
			pending[j] = pending[--npending];
			pfd[j] = pfd[npending];
		}
	}
	for (j = 0; j < npending; j++) {
		close(fds[pending[j]]);
		fds[pending[j]] = -1;
	}
	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			fcntl(fds[i], F_SETFL,
			    fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
out:
	free(pfd);
	free(pending);
	return ok;
}

void
hh_reset(int fd)
{
	struct linger	lg = { 1, 0 };

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

int
hh_peer_open(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		buf[4096];
	ssize_t		n;

	/* Bounded: a peer cannot send faster than this drains for long. */
	for (int i = 0; i < 64; i++) {
		if (poll(&pfd, 1, 0) != 1)
			return 1;	/* nothing to read: still open */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return 0;	/* EOF */
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return 0;	/* reset */
	}
	return 1;
}

/* Reads exactly len bytes within timeout_ms: 0, or -1. */
static int
read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	return h_recv_n(fd, buf, len, timeout_ms) == (ssize_t)len ? 0 : -1;
}

/* Reads a reply byte by byte, so nothing relayed after it is taken. */
static int
read_reply(int fd, int timeout_ms)
{
	uint8_t			buf[SOCKS5_REQUEST_MAX];
	struct socks5_reply	r;
	enum socks5_status	st = SOCKS5_NEED_MORE;
	size_t			len = 0, used;
	int64_t			end = h_now_ms() + timeout_ms;

	while (len < sizeof(buf) && st == SOCKS5_NEED_MORE) {
		int64_t left = end - h_now_ms();
		if (left <= 0 || h_recv_n(fd, buf + len, 1, (int)left) != 1)
			return -1;
		len++;
		st = socks5_parse_reply(buf, len, &r, &used);
	}
	return st == SOCKS5_OK ? r.rep : -1;
}

int
hh_socks_handshake(int fd, const char *user, const char *pass,
    const char *host, uint16_t port, int step_ms, const char **stage)
{
	struct socks5_addr	dst;
	uint8_t			buf[SOCKS5_REQUEST_MAX], method;
	int			len, rep;
	const char		*dummy;

	if (stage == NULL)
		stage = &dummy;
	method = user != NULL ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	*stage = "greeting";
	if ((len = socks5_encode_greeting(buf, sizeof(buf), &method, 1)) < 0 ||
	    h_send_all(fd, buf, (size_t)len) == -1 ||
	    read_exact(fd, buf, 2, step_ms) == -1 || buf[0] != 5 ||
	    buf[1] != method)
		return -1;
	if (user != NULL) {
		*stage = "authentication";
		if ((len = socks5_encode_userpass(buf, sizeof(buf), user,
		    pass)) < 0 || h_send_all(fd, buf, (size_t)len) == -1 ||
		    read_exact(fd, buf, 2, step_ms) == -1 || buf[1] != 0)
			return -1;
	}
	*stage = "request";
	h_dst(&dst, host, port);
	if ((len = socks5_encode_request(buf, sizeof(buf), SOCKS5_CMD_CONNECT,
	    &dst)) < 0 || h_send_all(fd, buf, (size_t)len) == -1)
		return -1;
	*stage = "reply";
	if ((rep = read_reply(fd, step_ms)) == -1)
		return -1;
	*stage = rep == 0 ? "relay" : "refused";
	return rep;
}

size_t
hh_name_request(uint8_t *buf, const char *name, size_t len, uint16_t port)
{
	size_t	n = 0;

	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0;
	buf[n++] = 5; buf[n++] = 1; buf[n++] = 0; buf[n++] = 3;
	buf[n++] = (uint8_t)len;
	memcpy(buf + n, name, len);
	n += len;
	buf[n++] = (uint8_t)(port >> 8);
	buf[n++] = (uint8_t)port;
	return n;
}

static void *
xfer_main(void *arg)
{
	struct hh_xfer	*t = arg;
	int		 fd;

	t->rc = -1;
	fd = h_socks_open(t->gw, NULL, NULL, t->dst_host, t->dst_port,
	    &t->rep);
	if (fd != -1) {
		__atomic_store_n(&t->opened, 1, __ATOMIC_RELEASE);
		t->x.send_len = t->len;
		t->x.send_seed = t->seed;
		t->x.timeout_ms = t->timeout_ms;
		t->rc = h_xfer_run(fd, &t->x);
		close(fd);
	}
	__atomic_store_n(&t->done_ms, h_now_ms(), __ATOMIC_RELEASE);
	return NULL;
}

int
hh_xfer_start(struct hh_xfer *v, int n)
{
	int	started = 0;

	for (int i = 0; i < n; i++) {
		v[i].rep = -1;
		v[i].rc = -1;
		v[i].opened = 0;
		v[i].done_ms = 0;
		v[i].started = pthread_create(&v[i].thread, NULL, xfer_main,
		    &v[i]) == 0;
		started += v[i].started;
	}
	return started;
}

void
hh_xfer_join(struct hh_xfer *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].started) {
			pthread_join(v[i].thread, NULL);
			v[i].started = 0;
		}
}

int
hh_xfer_intact(const struct hh_xfer *t)
{
	return t->rep == 0 && t->rc == 0 && t->x.sent == t->len &&
	    t->x.received == t->len && t->x.got_eof &&
	    memcmp(t->x.sent_sha, t->x.recv_sha, 32) == 0;
}

uint64_t
hh_rand(uint64_t *state)
{
	uint64_t	z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- */
/* the shared fixture                                                 */

struct hh_fixture	hh;

int
hh_own(int fd)
{
	if (fd >= 0 && hh.nowned < HH_MAX_OWNED)
		hh.owned[hh.nowned++] = fd;
	return fd;
}

void
hh_disown(int fd, int reset)
{
	for (int i = 0; i < hh.nowned; i++)
		if (hh.owned[i] == fd) {
			hh.owned[i] = hh.owned[--hh.nowned];
			break;
		}
	if (reset)
		hh_reset(fd);
	else if (fd >= 0)
		close(fd);
}

/* The servers print a line per connection: keep their pipes drained. */
static void
drain(struct h_proc *p)
{
	char	line[256];

	while (h_proc_line(p, line, sizeof(line), 1) == 1)
		;
}

int
hh_group_setup(void **state)
{
	char	hash[256];

	(void)state;
	h_tmp(hh.conf, sizeof(hh.conf), "hostile.conf");
	h_tmp(hh.users, sizeof(hh.users), "hostile-users");
	if (h_crypt(HH_PASS, "$y$", hash, sizeof(hash)) == -1 ||
	    h_write_file(hh.users, "%s:%s\n", HH_USER, hash) == -1)
		return -1;
	if ((hh.echo_port = h_tool_start(&hh.echo, "tcpsrv", "-m", "echo",
	    NULL)) == 0 ||
	    (hh.hold_port = h_tool_start(&hh.hold, "tcpsrv", "-m", "hold",
	    NULL)) == 0)
		return -1;
	return 0;
}

int
hh_group_teardown(void **state)
{
	(void)state;
	h_proc_stop(&hh.echo);
	h_proc_stop(&hh.hold);
	return 0;
}

int
hh_setup(void **state)
{
	(void)state;
	memset(&hh.gw, 0, sizeof(hh.gw));
	hh.base_tasks = 0;
	hh.nowned = 0;
	drain(&hh.echo);
	drain(&hh.hold);
	return 0;
}

int
hh_teardown(void **state)
{
	(void)state;
	while (hh.nowned > 0)
		close(hh.owned[--hh.nowned]);
	return h_gw_stop(&hh.gw);
}

void
hh_write_conf(const char *fmt, ...)
{
	char	text[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	assert_int_equal(h_write_file(hh.conf, "client pass from 127.0.0.0/8\n"
	    "client pass from ::1\n%s", text), 0);
}

void
hh_start(void)
{
	if (h_gw_start(&hh.gw, hh.conf, NULL) != 0)
		fail_msg("gatewayd did not start");
	hh.base_tasks = hh_task_count(hh.gw.proc.pid);
}

void
hh_assert_settled(void)
{
	int	fds = -1, tasks = -1, extra = 0;

	/*
	 * ThreadSanitizer starts a background thread of its own at the
	 * first pthread_create, after the daemon was ready: not a session.
	 */
	if (strcmp(hh_sanitizer(), "thread") == 0)
		extra = 1;
	if (hh_gw_settle(&hh.gw, hh.gw.fd_base, hh.base_tasks + extra,
	    hh_ms(8000), &fds, &tasks) != 0) {
		h_log_dump(hh.gw.log);
		fail_msg("gatewayd holds %d fds (%d when ready) and %d threads "
		    "(%d when ready)", fds, hh.gw.fd_base, tasks,
		    hh.base_tasks);
	}
	printf("# settled: %d fds, %d threads\n", fds, tasks);
	assert_true(h_proc_alive(&hh.gw.proc));
}

int
hh_open_echo(void)
{
	int	rep, fd;

	fd = h_socks_open(&hh.gw, NULL, NULL, "127.0.0.1", hh.echo_port, &rep);
	if (rep != SOCKS5_REP_SUCCEEDED)
		fail_msg("CONNECT to the echo server: reply %d", rep);
	return hh_own(fd);
}

void
hh_echo_bulk(int fd, size_t len, uint64_t seed)
{
	struct h_stream	 st;
	uint8_t		*out = malloc(len), *in = malloc(len);

	assert_non_null(out);
	assert_non_null(in);
	h_stream_init(&st, seed);
	h_stream_fill(&st, out, len);
	/* Small enough for the socket buffers: send first, then read. */
	assert_int_equal(h_send_all(fd, out, len), 0);
	assert_int_equal(h_recv_n(fd, in, len, hh_ms(H_IO_MS)), (ssize_t)len);
	assert_memory_equal(in, out, len);
	free(out);
	free(in);
}

int64_t
hh_served_now(void)
{
	int64_t	t0 = h_now_ms();
	int	fd = hh_open_echo();

	hh_echo_bulk(fd, 1000, 1);
	hh_disown(fd, 0);
	return h_now_ms() - t0;
}

int
hh_served_within(int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;
	int	rep;

	do {
		if (h_socks_rep(&hh.gw, "127.0.0.1", hh.echo_port) ==
		    SOCKS5_REP_SUCCEEDED)
			return 1;
		h_sleep_ms(50);
	} while (h_now_ms() < end);
	rep = h_socks_rep(&hh.gw, "127.0.0.1", hh.echo_port);
	printf("# still not served: reply %d\n", rep);
	return rep == SOCKS5_REP_SUCCEEDED;
}

int
hh_session_lines(void)
{
	/* Debug lines name the session too; only closing lines count up=. */
	return h_log_count(hh.gw.log, " up=");
}
