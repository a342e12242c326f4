/*
 * exec.c - a warning when the program runs a setuid/setgid program.
 *
 * The dynamic linker ignores LD_PRELOAD in a program that gains
 * privileges (AT_SECURE: setuid, setgid, or file capabilities), so such
 * a child's connections silently bypass the gateway and its names fail
 * to resolve on an IPv4-only host. The exec family is hooked only to say
 * so on stderr; the call itself is passed on unchanged. libc's own
 * execvp() reaches execve through an internal alias that no interposer
 * sees, which is why each public entry point has its own hook.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "shim.h"

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *,
    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
    char *const[], char *const[]);

static execve_fn	real_execve;
static execvpe_fn	real_execvpe;
static spawn_fn		real_posix_spawn, real_posix_spawnp;
static pthread_once_t	exec_once = PTHREAD_ONCE_INIT;

static void
exec_init(void)
{
	*(void **)&real_execve = real_symbol("execve");
	*(void **)&real_execvpe = real_symbol("execvpe");
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

static void
exec_check(const char *file, int search)
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
		    "will not go through the gateway", path);
	errno = saved;
}

SHIM_EXPORT int
execve(const char *path, char *const argv[], char *const envp[])
{
	pthread_once(&exec_once, exec_init);
	exec_check(path, 0);
	if (real_execve == NULL) {
		errno = ENOSYS;
		return -1;
	}
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
	pthread_once(&exec_once, exec_init);
	exec_check(file, 1);
	if (real_execvpe == NULL) {
		errno = ENOSYS;
		return -1;
	}
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
	pthread_once(&exec_once, exec_init);
	exec_check(path, 0);
	if (real_posix_spawn == NULL)
		return ENOSYS;
	return real_posix_spawn(pid, path, fa, attr, argv, envp);
}

SHIM_EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const envp[])
{
	pthread_once(&exec_once, exec_init);
	exec_check(file, 1);
	if (real_posix_spawnp == NULL)
		return ENOSYS;
	return real_posix_spawnp(pid, file, fa, attr, argv, envp);
}
