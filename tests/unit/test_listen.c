/*
 * test_listen.c - listen.c: adopting the sockets systemd passes (socket
 * activation) and reconciling listeners with a config, over loopback.
 *
 * Inherited sockets are put at fd 3, where LISTEN_FDS says they start.
 * fcntl() is replaced for this binary so a test can make the adoption
 * fail the way a kernel or a sandbox might.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

/*
 * fcntl() as the tests want it: while fcntl_fail_cmd is set, that
 * command fails with EPERM (as a seccomp filter would have it), every
 * other call goes to libc's.
 */
static int	fcntl_fail_cmd = -1;

int
fcntl(int fd, int cmd, ...)
{
	int	(*real)(int, int, ...);
	va_list	ap;
	long	arg = 0;

	if (cmd != F_GETFD && cmd != F_GETFL) {
		va_start(ap, cmd);
		arg = va_arg(ap, long);
		va_end(ap);
	}
	if (cmd == fcntl_fail_cmd) {
		errno = EPERM;
		return -1;
	}
	*(void **)&real = dlsym(RTLD_NEXT, "fcntl");
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, cmd, arg);
}

/* Whether fd is open now (asked of libc, whatever the fake says). */
static int
fd_open(int fd)
{
	int	saved = fcntl_fail_cmd, rc;

	fcntl_fail_cmd = -1;
	rc = fcntl(fd, F_GETFD) != -1;
	fcntl_fail_cmd = saved;
	return rc;
}

/* A socket of type at fd 3, listening if asked, as systemd passes it. */
static void
put_at_fd3(int type, int listening)
{
	struct sockaddr_in	sin;
	int			fd;

	if (fd_open(3))
		skip();		/* fd 3 is the runner's: leave it be */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, type, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	if (listening)
		assert_int_equal(listen(fd, 8), 0);
	if (fd != 3) {
		assert_int_equal(dup2(fd, 3), 3);
		close(fd);
	}
}

static void
activate(unsigned int nfds)
{
	char	pid[32], n[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(n, sizeof(n), "%u", nfds);
	assert_int_equal(setenv("LISTEN_PID", pid, 1), 0);
	assert_int_equal(setenv("LISTEN_FDS", n, 1), 0);
}

/* A good listening socket is adopted: nonblocking, close-on-exec. */
static void
test_listen_inherit_adopts_listener(void **state)
{
	struct listen_set	ls;

	(void)state;
	memset(&ls, 0, sizeof(ls));
	put_at_fd3(SOCK_STREAM, 1);
	activate(1);
	assert_int_equal(listen_inherit(&ls), 1);
	assert_int_equal(ls.n, 1);
	assert_int_equal(ls.v[0].fd, 3);
	assert_true(ls.v[0].inherited);
	assert_true(fcntl(3, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(3, F_GETFD) & FD_CLOEXEC);
	/* No child of ours may take them for its own. */
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	listen_close_all(&ls);
	assert_false(fd_open(3));
}

/*
 * A passed socket that cannot be made nonblocking is not used, and is
 * closed rather than left open and forgotten.
 */
static void
test_listen_inherit_closes_fd_fcntl_refuses(void **state)
{
	static const int	cmds[] = { F_SETFD, F_GETFL, F_SETFL };
	struct listen_set	ls;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(&ls, 0, sizeof(ls));
		put_at_fd3(SOCK_STREAM, 1);
		activate(1);
		fcntl_fail_cmd = cmds[i];
		assert_int_equal(listen_inherit(&ls), 0);
		fcntl_fail_cmd = -1;
		assert_int_equal(ls.n, 0);
		if (fd_open(3))
			fail_msg("fcntl command %d failing left fd 3 open",
			    cmds[i]);
		listen_close_all(&ls);
	}
}

/* A passed descriptor that is no listening socket is closed too. */
static void
test_listen_inherit_closes_non_listener(void **state)
{
	struct listen_set	ls;

	(void)state;
	memset(&ls, 0, sizeof(ls));
	put_at_fd3(SOCK_DGRAM, 0);
	activate(1);
	assert_int_equal(listen_inherit(&ls), 0);
	assert_int_equal(ls.n, 0);
	assert_false(fd_open(3));
	listen_close_all(&ls);
}

/* Variables meant for another process are not ours to act on. */
static void
test_listen_inherit_ignores_other_pid(void **state)
{
	struct listen_set	ls;

	(void)state;
	memset(&ls, 0, sizeof(ls));
	assert_int_equal(setenv("LISTEN_PID", "1", 1), 0);
	assert_int_equal(setenv("LISTEN_FDS", "1", 1), 0);
	assert_int_equal(listen_inherit(&ls), 0);
	assert_int_equal(ls.n, 0);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
}

/* A loopback port free now. */
static uint16_t
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static struct gw_conf *
conf_listening(const char *addr, uint16_t port)
{
	struct conf_errors	 e;
	struct gw_conf		*c;
	char			 text[128];

	snprintf(text, sizeof(text), "listen %s:%u\n", addr, port);
	conf_errors_init(&e, "test");
	c = conf_parse(text, strlen(text), &e);
	assert_non_null(c);
	return c;
}

static uint16_t
listening_port(const struct listen_set *ls)
{
	assert_int_equal(ls->n, 1);
	return addr_port((const struct sockaddr *)&ls->v[0].ss);
}

/*
 * A new config none of whose addresses opens leaves the listeners as
 * they were (-1): an address that is not ours is not even worth closing
 * the old one for; one in use may have been held by the old listener,
 * which is closed, then opened again when that did not help.
 */
static void
test_listen_reconcile_never_leaves_none(void **state)
{
	struct listen_set	 ls;
	struct gw_conf		*c;
	struct sockaddr_in	 sin;
	uint16_t		 p = free_port(), q;
	int			 fd, held;

	(void)state;
	memset(&ls, 0, sizeof(ls));
	c = conf_listening("127.0.0.1", p);
	assert_int_equal(listen_reconcile(&ls, c), 0);
	conf_unref(c);
	assert_int_equal(listening_port(&ls), p);
	fd = ls.v[0].fd;

	/* 192.0.2.1 (TEST-NET-1) is no address of this host. */
	c = conf_listening("192.0.2.1", p);
	assert_int_equal(listen_reconcile(&ls, c), -1);
	conf_unref(c);
	assert_int_equal(listening_port(&ls), p);
	assert_int_equal(ls.v[0].fd, fd);	/* never closed */

	/* A port another socket listens on. */
	q = free_port();
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(q);
	held = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(held, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(held, 1), 0);
	c = conf_listening("127.0.0.1", q);
	assert_int_equal(listen_reconcile(&ls, c), -1);
	conf_unref(c);
	assert_int_equal(listening_port(&ls), p);	/* opened again */
	close(held);

	/* And a move that works. */
	q = free_port();
	c = conf_listening("127.0.0.1", q);
	assert_int_equal(listen_reconcile(&ls, c), 0);
	conf_unref(c);
	assert_int_equal(listening_port(&ls), q);
	listen_close_all(&ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_inherit_adopts_listener),
		cmocka_unit_test(test_listen_inherit_closes_fd_fcntl_refuses),
		cmocka_unit_test(test_listen_inherit_closes_non_listener),
		cmocka_unit_test(test_listen_inherit_ignores_other_pid),
		cmocka_unit_test(test_listen_reconcile_never_leaves_none),
	};

	/* Its warnings are expected: keep them out of the test's output. */
	log_init("test_listen", LOG_TARGET_NONE, LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
