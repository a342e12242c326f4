/*
 * harness.c - the environment and the processes of the integration
 * tests: where the binaries are, a temporary directory, a private network
 * namespace when run as root, children started and stopped by PID with
 * every wait bounded (gatewayd itself: harness_gw.c).
 */
#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static char	build_dir[PATH_MAX] = "build";
static char	src_dir[PATH_MAX] = ".";
static char	tmp_dir[PATH_MAX];
static int	netns_done;
static int	names_done;
static int	want_dns;
static pid_t	main_pid;

/*
 * Children not reaped yet, by PID: killed at exit even when a failed
 * assertion left a test before its own clean-up. PIDs, not pointers,
 * because a struct h_proc may live on a stack frame long gone; an
 * unreaped child's PID cannot be reused, so the kill hits only ours.
 */
#define MAX_CHILDREN	64
static pid_t	children[MAX_CHILDREN];

static void
child_add(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
}

static void
child_del(pid_t pid)
{
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

/*
 * In our private network namespace every other process is one of ours,
 * perhaps a daemon that forked away from the PID we knew: kill those by
 * PID too, so none outlives the test holding the namespace.
 */
static void
sweep_netns(void)
{
	char		 self[64], link[64], path[300];
	struct dirent	*de;
	ssize_t		 n;
	DIR		*d;
	pid_t		 pid;

	if ((n = readlink("/proc/self/ns/net", self, sizeof(self) - 1)) <= 0)
		return;
	self[n] = '\0';
	if ((d = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if ((pid = (pid_t)atoi(de->d_name)) <= 0 || pid == main_pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, self) == 0)
			kill(pid, SIGKILL);
	}
	closedir(d);
}

static void
cleanup(void)
{
	if (getpid() != main_pid)
		return;
	if (netns_done)
		sweep_netns();
	for (int i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0) {
			kill(children[i], SIGKILL);
			waitpid(children[i], NULL, 0);
			children[i] = 0;
		}
	if (tmp_dir[0] != '\0' && getenv("SOCKS64_IT_KEEP") == NULL)
		nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int
lo_up(void)
{
	struct ifreq	ifr;
	int		s, rc = -1;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return rc;
}

static int
bind_over(const char *name, const char *target, const char *text)
{
	char	path[PATH_MAX];

	h_tmp(path, sizeof(path), name);
	if (h_write_file(path, "%s", text) == -1)
		return -1;
	return mount(path, target, NULL, MS_BIND, NULL);
}

/*
 * A network namespace holding only loopback keeps every connect of the
 * tests, including the gateway's, on this machine: there is no route
 * anywhere else, so documentation addresses fail at once. Private hosts,
 * resolv.conf (a resolver on our own loopback where nothing listens) and
 * nsswitch.conf ("files" only) make a look-up of a name that must not
 * exist fail here instead of asking a real DNS server.
 */
static void
isolate(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) == -1) {
		fprintf(stderr, "harness: unshare: %s: not isolated\n",
		    strerror(errno));
		return;
	}
	if (lo_up() == -1) {
		fprintf(stderr, "harness: lo up: %s\n", strerror(errno));
		return;
	}
	netns_done = 1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		return;
	if (bind_over("hosts", "/etc/hosts",
	    "127.0.0.1\tlocalhost " H_NAME_V4 "\n"
	    "::1\tlocalhost " H_NAME_V6 "\n") == -1 ||
	    bind_over("resolv.conf", "/etc/resolv.conf",
	    "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n") == -1 ||
	    bind_over("nsswitch.conf", "/etc/nsswitch.conf", want_dns ?
	    "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
	    "services: files\nprotocols: files\n" :
	    "passwd: files\ngroup: files\nshadow: files\nhosts: files\n"
	    "services: files\nprotocols: files\n") == -1) {
		fprintf(stderr, "harness: private /etc: %s\n",
		    strerror(errno));
		return;
	}
	names_done = 1;
}

void
h_use_dns(void)
{
	want_dns = 1;
}

void
h_init(void)
{
	const char	*e;
	char		 real[PATH_MAX];

	main_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	if ((e = getenv("SOCKS64_BUILD")) != NULL && *e != '\0')
		snprintf(build_dir, sizeof(build_dir), "%s", e);
	if ((e = getenv("SOCKS64_SRC")) != NULL && *e != '\0')
		snprintf(src_dir, sizeof(src_dir), "%s", e);
	if (realpath(build_dir, real) != NULL)
		snprintf(build_dir, sizeof(build_dir), "%s", real);
	if (realpath(src_dir, real) != NULL)
		snprintf(src_dir, sizeof(src_dir), "%s", real);
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/socks64-it.XXXXXX");
	if (mkdtemp(tmp_dir) == NULL) {
		perror("harness: mkdtemp");
		exit(1);
	}
	atexit(cleanup);
	/* A daemon that forks away is re-parented to us, to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (getuid() == 0 && getenv("SOCKS64_IT_NO_NETNS") == NULL)
		isolate();
	printf("# harness: build=%s tmp=%s netns=%s names=%s\n", build_dir,
	    tmp_dir, netns_done ? "private" : "host",
	    names_done ? "private" : "system");
}

int
h_isolated(void)
{
	return netns_done;
}

int
h_names(void)
{
	return names_done;
}

const char *
h_build_dir(void)
{
	return build_dir;
}

const char *
h_src_dir(void)
{
	return src_dir;
}

char *
h_path(char *buf, size_t len, const char *dir, const char *name)
{
	int	n = snprintf(buf, len, "%s/%s", dir, name);

	/* A path cut short would name another file: make it fail instead. */
	if (n < 0 || (size_t)n >= len)
		buf[0] = '\0';
	return buf;
}

char *
h_tmp(char *buf, size_t len, const char *name)
{
	return h_path(buf, len, tmp_dir, name);
}

char *
h_bin(char *buf, size_t len, const char *name)
{
	return h_path(buf, len, build_dir, name);
}

char *
h_srcpath(char *buf, size_t len, const char *name)
{
	return h_path(buf, len, src_dir, name);
}

int
h_write_file(const char *path, const char *fmt, ...)
{
	va_list	 ap;
	FILE	*f;
	int	 rc;

	/* Write aside and rename, so a daemon reloading never reads half. */
	char	 part[PATH_MAX + 8];

	snprintf(part, sizeof(part), "%s.part", path);
	if ((f = fopen(part, "w")) == NULL)
		return -1;
	va_start(ap, fmt);
	rc = vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) != 0 || rc < 0 || rename(part, path) == -1) {
		unlink(part);
		return -1;
	}
	return 0;
}

char *
h_read_file(const char *path, size_t *lenp)
{
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap + 1)) == NULL)
				break;
			buf = nb;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf != NULL)
		buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

int
h_crypt(const char *pass, const char *prefix, char *out, size_t len)
{
	struct crypt_data	*cd;
	const char		*salt, *hash;
	int			 rc = -1;

	/* NULL random bytes: libxcrypt draws them from the kernel. */
	if ((salt = crypt_gensalt(prefix, 0, NULL, 0)) == NULL)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	hash = crypt_r(pass, salt, cd);
	if (hash != NULL && hash[0] != '*' &&
	    strlen(hash) < len) {
		memcpy(out, hash, strlen(hash) + 1);
		rc = 0;
	}
	free(cd);
	return rc;
}

int64_t
h_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
h_sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Variables a child must not inherit from whoever runs the tests. */
static int
env_dropped(const char *kv)
{
	static const char *const drop[] = {
		"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
		"NOTIFY_SOCKET=", "http_proxy=", "https_proxy=", "all_proxy=",
		"HTTP_PROXY=", "HTTPS_PROXY=", "ALL_PROXY=", "no_proxy=",
		"NO_PROXY=", "CURL_HOME=",
	};

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strncmp(kv, drop[i], strlen(drop[i])) == 0)
			return 1;
	return 0;
}

static int
open_out(const char *path)
{
	return open(path != NULL ? path : "/dev/null",
	    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* Only async-signal-safe work between fork and exec. */
static void
child_exec(char *const argv[], char **envp, int in, int out, int err,
    int lfd, char *pidvar, int nofile)
{
	sigset_t	all;
	pid_t		pid;
	char		digits[24];
	int		n = 0, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != main_pid)
		_exit(127);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* Move everything above 3 first, so no dup2 overwrites a source. */
	in = fcntl(in, F_DUPFD_CLOEXEC, 10);
	out = fcntl(out, F_DUPFD_CLOEXEC, 10);
	err = fcntl(err, F_DUPFD_CLOEXEC, 10);
	if (lfd >= 0)
		lfd = fcntl(lfd, F_DUPFD_CLOEXEC, 10);
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(err, 2) == -1)
		_exit(127);
	if (lfd >= 0) {
		if (dup2(lfd, 3) == -1)
			_exit(127);
		pid = getpid();
		do
			digits[n++] = (char)('0' + pid % 10);
		while ((pid /= 10) > 0);
		i = (int)strlen("LISTEN_PID=");
		while (n > 0)
			pidvar[i++] = digits[--n];
		pidvar[i] = '\0';
	}
	if (nofile > 0) {
		struct rlimit rl = { (rlim_t)nofile, (rlim_t)nofile };
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			_exit(127);
	}
	execve(argv[0], argv, envp);
	_exit(127);
}

int
h_spawn(struct h_proc *p, char *const argv[], const struct h_spawn_opts *o)
{
	static const struct h_spawn_opts none = { .listen_fd = -1 };
	char	 pidvar[64] = "LISTEN_PID=";
	char	 fdsvar[] = "LISTEN_FDS=1";
	char	**envp;
	size_t	 n = 0, k = 0;
	int	 in, out, err, pfd[2] = { -1, -1 };
	pid_t	 pid;

	if (o == NULL)
		o = &none;
	memset(p, 0, sizeof(*p));
	p->out = -1;
	while (environ[n] != NULL)
		n++;
	if ((envp = calloc(n + 12, sizeof(*envp))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!env_dropped(environ[i]))
			envp[k++] = environ[i];
	for (size_t i = 0; i < 8 && o->env[i] != NULL; i++)
		envp[k++] = (char *)o->env[i];
	if (o->listen_fd >= 0) {
		envp[k++] = fdsvar;
		envp[k++] = pidvar;
	}
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open_out(o->out_path);
	err = open_out(o->err_path);
	if (o->capture && pipe2(pfd, O_CLOEXEC) == -1)
		pfd[0] = -1;
	if (in == -1 || out == -1 || err == -1 || (o->capture && pfd[0] == -1))
		pid = -1;
	else if ((pid = fork()) == 0)
		child_exec(argv, envp, in, o->capture ? pfd[1] : out, err,
		    o->listen_fd, pidvar, o->nofile);
	free(envp);
	if (in != -1)
		close(in);
	if (out != -1)
		close(out);
	if (err != -1)
		close(err);
	if (pfd[1] != -1)
		close(pfd[1]);
	if (pid <= 0) {
		if (pfd[0] != -1)
			close(pfd[0]);
		return -1;
	}
	p->pid = pid;
	p->out = pfd[0];
	child_add(pid);
	return 0;
}

static int
reap(struct h_proc *p, int flags)
{
	pid_t	r;
	int	st;

	if (p->pid <= 0 || p->reaped)
		return 1;
	while ((r = waitpid(p->pid, &st, flags)) == -1 && errno == EINTR)
		;
	if (r == p->pid || (r == -1 && errno == ECHILD)) {
		p->reaped = 1;
		p->status = r == p->pid ? st : 0;
		child_del(p->pid);
		return 1;
	}
	return 0;
}

int
h_proc_wait(struct h_proc *p, int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;

	for (;;) {
		if (reap(p, WNOHANG))
			return 0;
		if (h_now_ms() >= end)
			return -1;
		h_sleep_ms(5);
	}
}

int
h_proc_alive(struct h_proc *p)
{
	return p->pid > 0 && !reap(p, WNOHANG);
}

void
h_proc_stop(struct h_proc *p)
{
	if (p->pid > 0 && !p->reaped) {
		kill(p->pid, SIGTERM);
		if (h_proc_wait(p, H_STOP_MS) == -1) {
			kill(p->pid, SIGKILL);
			reap(p, 0);
		}
	}
	if (p->out != -1) {
		close(p->out);
		p->out = -1;
	}
}

int
h_proc_line(struct h_proc *p, char *buf, size_t len, int timeout_ms)
{
	int64_t		 end = h_now_ms() + timeout_ms;
	struct pollfd	 pfd;
	char		*nl;
	ssize_t		 n;
	size_t		 take;

	for (;;) {
		if ((nl = memchr(p->line, '\n', p->linelen)) != NULL) {
			take = (size_t)(nl - p->line);
			snprintf(buf, len, "%.*s", (int)take, p->line);
			p->linelen -= take + 1;
			memmove(p->line, nl + 1, p->linelen);
			return 1;
		}
		if (p->out == -1)
			return 0;
		if (p->linelen == sizeof(p->line))
			p->linelen = 0;		/* an absurd line: drop it */
		pfd.fd = p->out;
		pfd.events = POLLIN;
		int64_t left = end - h_now_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = read(p->out, p->line + p->linelen,
		    sizeof(p->line) - p->linelen);
		if (n <= 0)
			return 0;
		p->linelen += (size_t)n;
	}
}

int
h_run(char *const argv[], const char *out_path, const char *err_path,
    int timeout_ms)
{
	struct h_spawn_opts	o = { .out_path = out_path,
				      .err_path = err_path, .listen_fd = -1 };
	struct h_proc		p;

	if (h_spawn(&p, argv, &o) == -1)
		return -1;
	if (h_proc_wait(&p, timeout_ms) == -1) {
		kill(p.pid, SIGKILL);
		reap(&p, 0);
		return -1;
	}
	if (WIFEXITED(p.status))
		return WEXITSTATUS(p.status);
	return 128 + WTERMSIG(p.status);
}

uint16_t
h_tool_start(struct h_proc *p, const char *tool, ...)
{
	struct h_spawn_opts	 o = { .capture = 1, .listen_fd = -1 };
	char			 bin[PATH_MAX], name[64], errlog[PATH_MAX];
	char			*argv[24], line[256];
	const char		*a;
	va_list			 ap;
	unsigned int		 port;
	int			 n = 0;

	snprintf(name, sizeof(name), "tools/%s", tool);
	argv[n++] = h_bin(bin, sizeof(bin), name);
	va_start(ap, tool);
	while (n < 23 && (a = va_arg(ap, const char *)) != NULL)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	o.err_path = h_tmp(errlog, sizeof(errlog), "tools.log");
	if (h_spawn(p, argv, &o) == -1)
		return 0;
	while (h_proc_line(p, line, sizeof(line), H_START_MS) == 1)
		if (sscanf(line, "port %u", &port) == 1 && port > 0 &&
		    port < 65536)
			return (uint16_t)port;
	fprintf(stderr, "harness: %s gave no port\n", bin);
	h_proc_stop(p);
	return 0;
}
