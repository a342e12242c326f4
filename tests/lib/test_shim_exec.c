/*
 * test_shim_exec.c - the warning when a program under the shim starts a
 * setuid/setgid program, which the dynamic linker runs without
 * LD_PRELOAD (src/lib/exec.c).
 *
 * A small script made setgid to a group this process is not in stands
 * for such a program; posix_spawn and a forked execv run it, and the
 * warning must appear on stderr (a pipe here). An ordinary program must
 * not be warned about. Making the setgid file needs root (chown).
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

/*
 * Runs how (0: posix_spawn, 1: fork + execv) on prog_path with stderr
 * going to a pipe; returns what was written there.
 */
static char *
stderr_of(int how, char *buf, size_t len)
{
	char *argv[] = { prog_path, NULL };
	int pfd[2], saved, status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(pfd), 0);
	saved = dup(2);
	dup2(pfd[1], 2);
	if (how == 0)
		assert_int_equal(posix_spawn(&pid, prog_path, NULL, NULL, argv,
		    NULL), 0);
	else if ((pid = fork()) == 0) {
		execv(prog_path, argv);
		_exit(127);
	}
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	assert_true(waitpid(pid, &status, 0) == pid);
	n = read(pfd[0], buf, len - 1);
	close(pfd[0]);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
test_exec_ordinary_program_no_warning(void **state)
{
	char out[1024];

	(void)state;
	assert_true(shim_conf()->enabled);
	assert_string_equal(stderr_of(0, out, sizeof(out)), "");
	assert_string_equal(stderr_of(1, out, sizeof(out)), "");
}

static void
test_exec_setgid_program_warns(void **state)
{
	char out[1024];

	(void)state;
	if (geteuid() != 0 || chown(prog_path, 0, getegid() + 1) == -1 ||
	    chmod(prog_path, 02755) == -1)
		skip();
	assert_non_null(strstr(stderr_of(0, out, sizeof(out)),
	    "socks64: warning: "));
	assert_non_null(strstr(out, prog_path));
	assert_non_null(strstr(out, "LD_PRELOAD is dropped"));
	assert_non_null(strstr(stderr_of(1, out, sizeof(out)),
	    "socks64: warning: "));
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
