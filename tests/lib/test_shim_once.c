/*
 * test_shim_once.c - the name hooks' lazy initialisation under the two
 * hazards of pthread_once: a hook re-entered from inside its own
 * initialisation (a program's malloc, reached from dlsym, that looks a
 * name up) answers "try again" at once instead of waiting for itself
 * for ever; and a fork() while another thread is inside an
 * initialisation leaves a child whose hooks work and which can fork
 * again (the atfork handlers are registered once, at load: fork.c).
 *
 * The test seam real_resolver stands in for dlsym (src/lib/real.c).
 * Each initialisation runs once per process, so the re-entry case runs
 * in a child of its own, and every child is waited for with a bound:
 * a hang fails the case instead of stopping the run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/shim.h"

#define BOUND_MS	20000	/* "does not hang", under sanitizers */

static char conf_path[64];
static pid_t parent_pid;
static atomic_int reenter;	/* re-enter the hook being loaded */
static atomic_int block;	/* hold gethostbyname's loading */
static atomic_int inside;	/* a thread is held there */
static atomic_int release;	/* let it go */
/* What the re-entered calls answered (child only). */
static int got_gai = -1, got_herr = -1, got_gni = -1, got_res = -1;
static int got_res_herr = -1;

static int
wait_flag(atomic_int *flag)
{
	int i;

	for (i = 0; i < BOUND_MS / 10 && atomic_load(flag) == 0; i++)
		usleep(10 * 1000);
	return atomic_load(flag) != 0;
}

/* In place of dlsym: a re-entry or a hold first, then the answer. */
static void *
seam_resolver(void *handle, const char *symbol)
{
	struct sockaddr_in sin;
	struct addrinfo *ai = NULL;
	unsigned char ans[512];
	char host[64];

	if (atomic_load(&reenter)) {
		if (strcmp(symbol, "getaddrinfo") == 0) {
			got_gai = getaddrinfo("reentry.example", NULL, NULL,
			    &ai);
			if (got_gai == 0)
				freeaddrinfo(ai);
		} else if (strcmp(symbol, "gethostbyname") == 0) {
			h_errno = 0;
			got_herr = gethostbyname("reentry.example") == NULL ?
			    h_errno : 0;
		} else if (strcmp(symbol, "getnameinfo") == 0) {
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			got_gni = getnameinfo((struct sockaddr *)&sin,
			    sizeof(sin), host, sizeof(host), NULL, 0, 0);
		} else if (strcmp(symbol, "res_query") == 0) {
			h_errno = 0;
			got_res = res_query("reentry.example", C_IN, T_A, ans,
			    sizeof(ans));
			got_res_herr = h_errno;
		}
	}
	if (atomic_load(&block) && getpid() == parent_pid &&
	    strcmp(symbol, "gethostbyname2") == 0) {
		atomic_store(&inside, 1);
		(void)wait_flag(&release);
	}
	return dlsym(handle, symbol);
}

/* Waits for pid up to BOUND_MS: its exit status, or -1 (killed). */
static int
wait_child(pid_t pid)
{
	int i, status;

	for (i = 0; i < BOUND_MS / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		usleep(10 * 1000);
	}
	kill(pid, SIGKILL);
	(void)waitpid(pid, &status, 0);
	return -1;
}

/*
 * Re-entered while loading, each name hook says "try again" (and the
 * outer call then works): in a child, whose loaders have not run.
 */
static void
test_once_reentered_name_hooks(void **state)
{
	struct sockaddr_in sin;
	struct addrinfo *ai = NULL;
	unsigned char ans[512];
	char host[64];
	pid_t pid;
	int code = 0;

	(void)state;
	if ((pid = fork()) == 0) {
		atomic_store(&reenter, 1);
		if (getaddrinfo("localhost", NULL, NULL, &ai) != 0)
			code |= 1;
		else
			freeaddrinfo(ai);
		if (gethostbyname("localhost") == NULL)
			code |= 2;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (getnameinfo((struct sockaddr *)&sin, sizeof(sin), host,
		    sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			code |= 4;
		(void)res_query("localhost", C_IN, T_A, ans, sizeof(ans));
		if (got_gai != EAI_AGAIN)
			code |= 8;
		if (got_herr != TRY_AGAIN)
			code |= 16;
		if (got_gni != EAI_AGAIN)
			code |= 32;
		if (got_res != -1 || got_res_herr != TRY_AGAIN)
			code |= 64;
		_exit(code);
	}
	assert_true(pid > 0);
	code = wait_child(pid);
	if (code != 0)
		fail_msg("re-entered name hooks: child says %d (-1: hung; "
		    "1/2/4: outer getaddrinfo/gethostbyname/getnameinfo "
		    "failed; 8/16/32/64: re-entered getaddrinfo/"
		    "gethostbyname/getnameinfo/res_query not 'try again')",
		    code);
}

static void *
held_lookup(void *arg)
{
	(void)arg;
	return gethostbyname("localhost");
}

/* In a child: the name hooks work, and a fork from here works too. */
static int
child_after_fork(void)
{
	struct addrinfo *ai = NULL;
	pid_t pid;

	if (gethostbyname("localhost") == NULL)
		return 1;
	if (getaddrinfo("fork.example", "80", NULL, &ai) != 0)
		return 2;
	if (!fakeip_in_range(ai->ai_addr))
		return 3;
	freeaddrinfo(ai);
	if ((pid = fork()) == 0) {
		if (getaddrinfo("grandchild.example", "80", NULL, &ai) != 0)
			_exit(1);
		freeaddrinfo(ai);
		_exit(0);
	}
	if (pid < 0 || wait_child(pid) != 0)
		return 4;
	return 0;
}

/*
 * A fork while another thread is inside gethostbyname's loading: the
 * child loads again on its own (glibc restarts an interrupted once) and
 * works, forks included; the held thread then finishes in the parent.
 */
static void
test_once_fork_inside_init(void **state)
{
	pthread_t t;
	void *he = NULL;
	pid_t pid;
	int code;

	(void)state;
	atomic_store(&block, 1);
	assert_int_equal(pthread_create(&t, NULL, held_lookup, NULL), 0);
	assert_true(wait_flag(&inside));
	if ((pid = fork()) == 0)
		_exit(child_after_fork());
	assert_true(pid > 0);
	code = wait_child(pid);
	atomic_store(&release, 1);
	pthread_join(t, &he);
	atomic_store(&block, 0);
	if (code != 0)
		fail_msg("child forked during an initialisation says %d (-1: "
		    "hung; 1: gethostbyname, 2/3: getaddrinfo, 4: its own "
		    "fork)", code);
	assert_non_null(he);
}

static int
setup(void **state)
{
	const char text[] = "gateway 127.0.0.1:1\n";
	int fd;

	(void)state;
	snprintf(conf_path, sizeof(conf_path), "/tmp/shim_once.XXXXXX");
	if ((fd = mkstemp(conf_path)) == -1)
		return -1;
	if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1) {
		close(fd);
		return -1;
	}
	close(fd);
	unsetenv("SOCKS64_GATEWAY");
	if (shim_conf_set_path(conf_path) == -1 || !shim_conf()->enabled)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(conf_path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_reentered_name_hooks),
		cmocka_unit_test(test_once_fork_inside_init),
	};

	parent_pid = getpid();
	/* Before any hook runs: every loader goes through it. */
	real_resolver = seam_resolver;
	return cmocka_run_group_tests(tests, setup, teardown);
}
