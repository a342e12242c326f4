/*
 * test_shim_exec.c - the warning when a program under the shim starts a
 * setuid/setgid program, which the dynamic linker runs without
 * LD_PRELOAD (src/lib/exec.c).
 *
 * A small script made setgid to a group this process is not in stands
 * for such a program; every public way into exec runs it (posix_spawn,
 * and execv, execl, execle, execlp, fexecve, execveat in a forked
 * child: glibc's list forms reach execve internally, past any hook),
 * and the warning must appear on stderr (a pipe here). An ordinary
 * program must not be warned about. Making the setgid file needs root
 * (chown).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/shim.h"

static char conf_path[] = "/tmp/test_shim_exec.conf.XXXXXX";
static char prog_path[] = "/tmp/test_shim_exec.prog.XXXXXX";

static int
group_setup(void **state)
{
	const char *conf = "gateway 127.0.0.1:9\n";
	const char *prog = "#!/bin/sh\nexit 0\n";
	int fd;

	(void)state;
	if ((fd = mkstemp(conf_path)) == -1 ||
	    write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf))
		return -1;
	close(fd);
	if ((fd = mkstemp(prog_path)) == -1 ||
	    write(fd, prog, strlen(prog)) != (ssize_t)strlen(prog))
		return -1;
	close(fd);
	if (chmod(prog_path, 0755) == -1)
		return -1;
	unsetenv("SOCKS64_GATEWAY");
	return shim_conf_set_path(conf_path);
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	unlink(prog_path);
	return 0;
}

enum how {
	HOW_SPAWN, HOW_EXECV, HOW_EXECL, HOW_EXECLE, HOW_EXECLP, HOW_FEXECVE,
	HOW_EXECVEAT, HOW_EXECVEAT_FD, HOW_COUNT
};
static const char *const how_name[] = { "posix_spawn", "execv", "execl",
    "execle", "execlp", "fexecve", "execveat", "execveat(AT_EMPTY_PATH)" };

/* In the forked child: exec prog_path the way how says. */
static void
exec_child(enum how how, char *const argv[])
{
	char *envp[] = { "A=1", NULL };
	char *slash = strrchr(prog_path, '/');
	char dir[sizeof(prog_path)];
	int fd;

	switch (how) {
	case HOW_EXECV:
		execv(prog_path, argv);
		break;
	case HOW_EXECL:
		execl(prog_path, prog_path, "one", (char *)NULL);
		break;
	case HOW_EXECLE:
		execle(prog_path, prog_path, (char *)NULL, envp);
		break;
	case HOW_EXECLP:
		execlp(prog_path, prog_path, "one", "two", (char *)NULL);
		break;
	case HOW_FEXECVE:
		/* Not O_CLOEXEC: the kernel hands a script /dev/fd/N. */
		if ((fd = open(prog_path, O_RDONLY)) != -1)
			fexecve(fd, argv, envp);
		break;
	case HOW_EXECVEAT:
		memcpy(dir, prog_path, (size_t)(slash - prog_path));
		dir[slash - prog_path] = '\0';
		if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1)
			execveat(fd, slash + 1, argv, envp, 0);
		break;
	case HOW_EXECVEAT_FD:
		if ((fd = open(prog_path, O_RDONLY)) != -1)
			execveat(fd, "", argv, envp, AT_EMPTY_PATH);
		break;
	default:
		break;
	}
	_exit(127);
}

/*
 * Runs prog_path the way how says with stderr going to a pipe; returns
 * what was written there. The program must have run (exit 0).
 */
static char *
stderr_of(enum how how, char *buf, size_t len)
{
	char *argv[] = { prog_path, NULL };
	int pfd[2], saved, status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	saved = dup(2);
	dup2(pfd[1], 2);
	if (how == HOW_SPAWN)
		assert_int_equal(posix_spawn(&pid, prog_path, NULL, NULL, argv,
		    NULL), 0);
	else if ((pid = fork()) == 0)
		exec_child(how, argv);
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	assert_true(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("%s did not run the program", how_name[how]);
	n = read(pfd[0], buf, len - 1);
	close(pfd[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_exec_ordinary_program_no_warning(void **state)
{
	char out[1024];

	int how;

	(void)state;
	assert_true(shim_conf()->enabled);
	for (how = 0; how < HOW_COUNT; how++)
		if (strcmp(stderr_of(how, out, sizeof(out)), "") != 0)
			fail_msg("%s: %s", how_name[how], out);
}

static void
test_exec_setgid_program_warns(void **state)
{
	char out[1024];
	int how;

	(void)state;
	if (geteuid() != 0 || chown(prog_path, 0, getegid() + 1) == -1 ||
	    chmod(prog_path, 02755) == -1)
		skip();
	for (how = 0; how < HOW_COUNT; how++) {
		stderr_of(how, out, sizeof(out));
		if (strstr(out, "socks64: warning: ") == NULL ||
		    strstr(out, "LD_PRELOAD is dropped") == NULL)
			fail_msg("%s: no warning in \"%s\"", how_name[how],
			    out);
		/* Named by its path, or by its descriptor. */
		if (how != HOW_FEXECVE && how != HOW_EXECVEAT_FD &&
		    strstr(out, strrchr(prog_path, '/') + 1) == NULL)
			fail_msg("%s: not named in \"%s\"", how_name[how],
			    out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_ordinary_program_no_warning),
		cmocka_unit_test(test_exec_setgid_program_warns),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
