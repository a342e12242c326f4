/*
 * exec.c - a warning when the program runs a setuid/setgid program.
 *
 * The dynamic linker ignores LD_PRELOAD in a program that gains
 * privileges (AT_SECURE: setuid, setgid, or file capabilities), so such
 * a child's connections silently bypass the gateway and its names fail
 * to resolve on an IPv4-only host. The exec family is hooked only to say
 * so on stderr; the call itself is passed on unchanged.
 *
 * glibc's execl, execle and execv call its execve, and execlp and
 * execvp its execvpe, at their internal addresses (no PLT), and
 * posix_spawn execs from inside __spawni: an interposed execve sees none
 * of them, so every public entry point has a hook of its own, fexecve
 * and execveat included. system() and popen() run /bin/sh through
 * posix_spawn's internals; the shell is not privileged and loads the
 * library, so its own exec of the real command is seen there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "shim.h"

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[],
    int);
typedef int (*spawn_fn)(pid_t *, const char *,
    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
    char *const[], char *const[]);

static execve_fn	real_execve;
static execvpe_fn	real_execvpe;
static fexecve_fn	real_fexecve;
static execveat_fn	real_execveat;
static spawn_fn		real_posix_spawn, real_posix_spawnp;
static struct real_once	exec_once = REAL_ONCE_INIT;

static void
exec_init(void)
{
	*(void **)&real_execve = real_symbol("execve");
	*(void **)&real_execvpe = real_symbol("execvpe");
	*(void **)&real_fexecve = real_symbol("fexecve");
	*(void **)&real_execveat = real_symbol("execveat");
	*(void **)&real_posix_spawn = real_symbol("posix_spawn");
	*(void **)&real_posix_spawnp = real_symbol("posix_spawnp");
}

/* Whether running path would set AT_SECURE for this process's ids. */
static int
exec_is_secure(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if ((st.st_mode & S_ISUID) && st.st_uid != geteuid())
		return 1;
	if ((st.st_mode & S_ISGID) && st.st_gid != getegid())
		return 1;
	return getxattr(path, "security.capability", NULL, 0) > 0;
}

/*
 * The file execvp would run for file: file itself if it holds a '/',
 * else the first executable match along PATH. Writes into buf.
 */
static const char *
exec_search(const char *file, char *buf, size_t len)
{
	const char *path, *p, *end, *dir;
	size_t dlen, flen = strlen(file);

	if (strchr(file, '/') != NULL)
		return file;
	if ((path = getenv("PATH")) == NULL)
		path = "/bin:/usr/bin";
	for (p = path; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		dir = p;
		dlen = (size_t)(end - p);
		if (dlen == 0) {	/* an empty entry: the current directory */
			dir = ".";
			dlen = 1;
		}
		if (dlen + 1 + flen + 1 > len)
			continue;
		memcpy(buf, dir, dlen);
		buf[dlen] = '/';
		memcpy(buf + dlen + 1, file, flen + 1);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/*
 * Warns if file (searched along PATH when search is set) would run
 * privileged. name is what the message calls it (NULL: file).
 */
static void
exec_check_as(const char *file, int search, const char *name)
{
	char buf[PATH_MAX];
	const char *path;
	int saved = errno;

	if (file == NULL || !shim_conf()->enabled)
		return;
	path = search ? exec_search(file, buf, sizeof(buf)) : file;
	if (path != NULL && exec_is_secure(path))
		shim_log("warning: %s is setuid, setgid or has file "
		    "capabilities: LD_PRELOAD is dropped and its connections "
		    "will not go through the gateway", name ? name : path);
	errno = saved;
}

static void
exec_check(const char *file, int search)
{
	exec_check_as(file, search, NULL);
}

/*
 * The same for a file given as a descriptor (and a path relative to
 * it, or "" for the descriptor itself), looked at through /proc so
 * that O_PATH descriptors and capabilities work as for a path.
 */
static void
exec_check_at(int dirfd, const char *path)
{
	char proc[PATH_MAX + 32], name[64];

	if (path != NULL && (path[0] == '/' || dirfd == AT_FDCWD)) {
		exec_check(path, 0);
		return;
	}
	if (path == NULL || path[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
		snprintf(name, sizeof(name), "the program at descriptor %d",
		    dirfd);
		exec_check_as(proc, 0, name);
		return;
	}
	if (snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, path) <
	    (int)sizeof(proc))
		exec_check_as(proc, 0, path);
}

/*
 * execl and kin: the arguments after arg, up to the NULL, as an argv
 * (count them first with exec_count on a copy of ap, then fill argv
 * of count + 1 with exec_fill, which consumes the NULL too, so execle
 * finds envp next).
 */
static size_t
exec_count(const char *arg, va_list ap)
{
	size_t n = 0;

	for (; arg != NULL; arg = va_arg(ap, const char *))
		n++;
	return n;
}

static void
exec_fill(char **argv, size_t n, const char *arg, va_list ap)
{
	size_t i;

	for (i = 0; i < n; i++) {
		argv[i] = (char *)arg;
		/* After the last argument: the NULL that ends them. */
		arg = va_arg(ap, const char *);
	}
	argv[n] = NULL;
}

/*
 * Each hook loads the real functions first; one re-entered while they
 * load (dlsym's allocation reaching a program's malloc) does not wait
 * on itself: execve and execveat are then the kernel's (real.c), the
 * library functions that have no single system call fail with ENOSYS.
 */
static int
exec_load(void)
{
	return real_once(&exec_once, exec_init);
}

SHIM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	if (!exec_load() || real_execve == NULL)
		return (int)real_raw(SYS_execve, (long)path, (long)argv,
		    (long)envp, 0, 0, 0);
	exec_check(path, 0);
	return real_execve(path, argv, envp);
}

SHIM_EXPORT int
execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

SHIM_EXPORT int
execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (!exec_load() || real_execvpe == NULL) {
		errno = ENOSYS;
		return -1;
	}
	exec_check(file, 1);
	return real_execvpe(file, argv, envp);
}

SHIM_EXPORT int
execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

SHIM_EXPORT int
posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	if (!exec_load() || real_posix_spawn == NULL)
		return ENOSYS;
	exec_check(path, 0);
	return real_posix_spawn(pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	if (!exec_load() || real_posix_spawnp == NULL)
		return ENOSYS;
	exec_check(file, 1);
	return real_posix_spawnp(pid, file, fa, attr, argv, envp);
}

SHIM_EXPORT int
fexecve(int fd, char *const argv[], char *const envp[])
{
	if (!exec_load() || real_fexecve == NULL)
		return (int)real_raw(SYS_execveat, fd, (long)"", (long)argv,
		    (long)envp, AT_EMPTY_PATH, 0);
	exec_check_at(fd, "");
	return real_fexecve(fd, argv, envp);
}

SHIM_EXPORT int
execveat(int dirfd, const char *path, char *const argv[],
    char *const envp[], int flags)
{
	if (!exec_load() || real_execveat == NULL)
		return (int)real_raw(SYS_execveat, dirfd, (long)path,
		    (long)argv, (long)envp, flags, 0);
	exec_check_at(dirfd, path);
	return real_execveat(dirfd, path, argv, envp, flags);
}

/*
 * The list forms build the argv on the stack, as glibc does (they must
 * stay usable after vfork and in a signal handler: no malloc), and go
 * through the hooks above. execle's envp follows the NULL; execl and
 * execlp pass the environment.
 */
enum exec_list_kind {
	EXEC_L,
	EXEC_LE,
	EXEC_LP,
};

static int
exec_list(enum exec_list_kind kind, const char *file, const char *arg,
    va_list ap)
{
	char *const *envp = environ;
	va_list cp;
	size_t n;

	va_copy(cp, ap);
	n = exec_count(arg, cp);
	va_end(cp);
	{
		char *argv[n + 1];

		exec_fill(argv, n, arg, ap);
		if (kind == EXEC_LE)
			envp = va_arg(ap, char *const *);
		if (kind == EXEC_LP)
			return execvpe(file, argv, envp);
		return execve(file, argv, envp);
	}
}

SHIM_EXPORT int
execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(EXEC_L, path, arg, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int
execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(EXEC_LE, path, arg, ap);
	va_end(ap);
	return r;
}

SHIM_EXPORT int
execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(EXEC_LP, file, arg, ap);
	va_end(ap);
	return r;
}
