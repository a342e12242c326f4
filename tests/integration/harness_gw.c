/*
 * harness_gw.c - gatewayd under test: started on a free port (or with
 * the listener passed as systemd would), known ready when /proc shows
 * its own socket listening, stopped by PID with its exit status and log
 * checked; and what /proc tells about a process (descriptors, CPU time).
 */
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

int
h_fd_count(pid_t pid)
{
	char		 path[64];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

long
h_cpu_ticks(pid_t pid)
{
	char		 path[64], *s, *p;
	unsigned long	 ut, st;
	long		 rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((s = h_read_file(path, NULL)) == NULL)
		return -1;
	/* After "(comm)", which may hold blanks: state is field 3. */
	if ((p = strrchr(s, ')')) != NULL &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) == 2)
		rc = (long)(ut + st);
	free(s);
	return rc;
}

/* The inodes of sockets listening on port, from /proc/net/tcp{,6}. */
static size_t
listen_inodes(uint16_t port, unsigned long *ino, size_t max)
{
	static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
	char		 line[512], local[64];
	unsigned int	 lport, st;
	unsigned long	 inode;
	size_t		 n = 0;
	FILE		*f;

	for (size_t i = 0; i < 2; i++) {
		if ((f = fopen(files[i], "re")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL && n < max) {
			/* sl local rem st tx:rx tr:when retr uid timeout inode */
			if (sscanf(line, " %*s %63s %*s %x %*s %*s %*s %*s %*s %lu",
			    local, &st, &inode) != 3)
				continue;
			char *colon = strrchr(local, ':');
			if (colon == NULL ||
			    sscanf(colon + 1, "%x", &lport) != 1)
				continue;
			if (st == 0x0A && lport == port)
				ino[n++] = inode;
		}
		fclose(f);
	}
	return n;
}

/* How many sockets of pid listen on port. */
static int
pid_listening(pid_t pid, uint16_t port)
{
	unsigned long	 ino[16], v;
	char		 dir[64], path[320], link[64];
	struct dirent	*de;
	size_t		 n;
	ssize_t		 l;
	DIR		*d;
	int		 found = 0;

	if ((n = listen_inodes(port, ino, 16)) == 0)
		return 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((l = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &v) != 1)
			continue;
		for (size_t i = 0; i < n; i++)
			if (ino[i] == v)
				found++;
	}
	closedir(d);
	return found;
}

pid_t
h_listener_pid(uint16_t port)
{
	struct dirent	*de;
	DIR		*d;
	pid_t		 pid, found = 0;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while (found == 0 && (de = readdir(d)) != NULL)
		if ((pid = (pid_t)atoi(de->d_name)) > 0 &&
		    pid_listening(pid, port) > 0)
			found = pid;
	closedir(d);
	return found;
}

/* The descriptor count once it stops changing (bounded). */
static int
stable_fds(pid_t pid)
{
	int	last = h_fd_count(pid), now;

	for (int i = 0; i < 20; i++) {
		h_sleep_ms(50);
		now = h_fd_count(pid);
		if (now == last)
			return now;
		last = now;
	}
	return last;
}

static int
gw_try(struct h_gw *gw, const char *conf, char **extra, int nextra)
{
	static unsigned int	 seq;
	struct h_spawn_opts	 o = { .listen_fd = -1 };
	char			 bin[PATH_MAX], ep[96], name[64];
	char			*argv[48];
	const char		*host = gw->host ? gw->host : "127.0.0.1";
	int			 n = 0, want = 1, lfd = -1;
	int64_t			 end;

	if (gw->default_listen) {
		gw->port = 1080;
		want = 2;
	} else if (gw->conf_listen) {
		if (gw->port == 0)
			return -1;
	} else if (gw->activate) {
		gw->port = 0;
		if ((lfd = h_listen(host, &gw->port, 128)) == -1)
			return -1;
	} else if ((gw->port = h_free_port(host)) == 0)
		return -1;
	snprintf(name, sizeof(name), "gatewayd-%u.log", ++seq);
	h_tmp(gw->log, sizeof(gw->log), name);
	argv[n++] = h_bin(bin, sizeof(bin), "gatewayd");
	if (!gw->no_foreground)
		argv[n++] = "-f";
	if (getenv("SOCKS64_IT_DEBUG") != NULL)
		argv[n++] = "-d";
	if (conf != NULL) {
		argv[n++] = "-c";
		argv[n++] = (char *)conf;
	}
	if (!gw->default_listen && !gw->activate && !gw->conf_listen) {
		snprintf(ep, sizeof(ep), strchr(host, ':') ? "[%s]:%u" :
		    "%s:%u", host, gw->port);
		argv[n++] = "-l";
		argv[n++] = ep;
	}
	for (int i = 0; i < nextra && n < 47; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	o.out_path = o.err_path = gw->log;
	o.listen_fd = lfd;
	for (int i = 0; i < 4 && gw->env[i] != NULL; i++)
		o.env[i] = gw->env[i];
	o.nofile = gw->nofile;
	int rc = h_spawn(&gw->proc, argv, &o);
	if (lfd != -1)
		close(lfd);
	if (rc == -1)
		return -1;
	end = h_now_ms() + H_START_MS;
	while (h_now_ms() < end) {
		if (!h_proc_alive(&gw->proc))
			return -1;
		if (pid_listening(gw->proc.pid, gw->port) >= want) {
			gw->fd_base = stable_fds(gw->proc.pid);
			return 0;
		}
		h_sleep_ms(10);
	}
	fprintf(stderr, "harness: gatewayd not listening on %u after %d ms\n",
	    gw->port, H_START_MS);
	h_proc_stop(&gw->proc);
	return -1;
}

int
h_gw_start(struct h_gw *gw, const char *conf, ...)
{
	char	*extra[16];
	int	 n = 0;
	va_list	 ap;

	va_start(ap, conf);
	while (n < 16 && (extra[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	/* A free port can be taken between our probe and its bind: retry. */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (gw_try(gw, conf, extra, n) == 0)
			return 0;
		h_proc_stop(&gw->proc);
		if (gw->default_listen || gw->conf_listen)
			break;
	}
	fprintf(stderr, "harness: gatewayd did not start; its log:\n");
	h_log_dump(gw->log);
	return -1;
}

int
h_gw_stop(struct h_gw *gw)
{
	int	rc = 0;

	if (gw->proc.pid <= 0)
		return 0;
	/* Every stop is a SIGTERM test too: within the shutdown timeout. */
	if (!gw->proc.reaped) {
		kill(gw->proc.pid, SIGTERM);
		if (h_proc_wait(&gw->proc, 12000) == -1) {
			fprintf(stderr, "harness: gatewayd %d ignored SIGTERM\n",
			    (int)gw->proc.pid);
			rc = -1;
		}
	}
	h_proc_stop(&gw->proc);
	if (!WIFEXITED(gw->proc.status) || WEXITSTATUS(gw->proc.status) != 0) {
		fprintf(stderr, "harness: gatewayd %d ended with status 0x%x\n",
		    (int)gw->proc.pid, gw->proc.status);
		rc = -1;
	}
	if (h_log_has(gw->log, "Sanitizer") ||
	    h_log_has(gw->log, "runtime error:")) {
		fprintf(stderr, "harness: sanitizer report in %s\n", gw->log);
		rc = -1;
	}
	if (rc == -1 || getenv("SOCKS64_IT_VERBOSE") != NULL)
		h_log_dump(gw->log);
	gw->proc.pid = 0;
	return rc;
}

int
h_gw_fds_settle(struct h_gw *gw, int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;
	int	n;

	for (;;) {
		n = h_fd_count(gw->proc.pid);
		if (n <= gw->fd_base || h_now_ms() >= end)
			return n;
		h_sleep_ms(20);
	}
}

int
h_gw_signal(struct h_gw *gw, int sig)
{
	if (gw->proc.pid <= 0 || gw->proc.reaped)
		return -1;
	return kill(gw->proc.pid, sig);
}

int
h_log_has(const char *path, const char *needle)
{
	char	*s = h_read_file(path, NULL);
	int	 found = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return found;
}

int
h_log_wait(const char *path, const char *needle, int timeout_ms)
{
	int64_t	end = h_now_ms() + timeout_ms;

	for (;;) {
		if (h_log_has(path, needle))
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(20);
	}
}

static int
line_has_all(const char *s, char **needles, int n)
{
	const char	*line = s, *nl;
	int		 i;

	for (; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		for (i = 0; i < n; i++) {
			const char *hit = memmem(line, (size_t)(nl - line),
			    needles[i], strlen(needles[i]));
			if (hit == NULL)
				break;
		}
		if (i == n)
			return 1;
		if (*nl == '\0')
			break;
	}
	return 0;
}

int
h_log_line(const char *path, int timeout_ms, ...)
{
	int64_t	 end = h_now_ms() + timeout_ms;
	char	*needles[8], *s;
	int	 n = 0, found;
	va_list	 ap;

	va_start(ap, timeout_ms);
	while (n < 8 && (needles[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	for (;;) {
		s = h_read_file(path, NULL);
		found = s != NULL && line_has_all(s, needles, n);
		free(s);
		if (found)
			return 1;
		if (h_now_ms() >= end)
			return 0;
		h_sleep_ms(20);
	}
}

int
h_log_count(const char *path, const char *needle)
{
	char	*s = h_read_file(path, NULL), *line, *save = NULL;
	int	 n = 0;

	if (s == NULL)
		return 0;
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, needle) != NULL)
			n++;
	free(s);
	return n;
}

void
h_log_dump(const char *path)
{
	char	*s = h_read_file(path, NULL);

	printf("# ---- %s\n%s# ----\n", path, s != NULL ? s : "(none)\n");
	fflush(stdout);
	free(s);
}
