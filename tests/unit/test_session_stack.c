/*
 * test_session_stack.c - how much stack a session thread's deepest
 * calls use, to keep SESSION_STACK (session_thread.c) honest.
 *
 * Each call runs on a thread whose 1 MiB stack was painted first; the
 * depth of the paint that got overwritten is what the call used. The
 * bounds asserted leave half of a 128 KiB session stack free. The DNS
 * path needs a resolver and is measured by hand (see session.c); set
 * STACK_NAME=host.example to measure a look-up of that name as well.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gatewayd.h"

#define PAINT_SIZE	(1024 * 1024)
#define PAINT		0xa5
#define STACK_BUDGET	(64 * 1024)

struct probe {
	void	(*fn)(void *);
	void	 *arg;
};

static void *
probe_thread(void *arg)
{
	struct probe *p = arg;

	p->fn(p->arg);
	return NULL;
}

/* Bytes of stack fn(arg) used, thread start-up included. */
static size_t
stack_used(void (*fn)(void *), void *arg)
{
	struct probe	 p = { fn, arg };
	pthread_attr_t	 attr;
	pthread_t	 t;
	uint8_t		*stack;
	size_t		 i;

	stack = aligned_alloc(4096, PAINT_SIZE);
	assert_non_null(stack);
	memset(stack, PAINT, PAINT_SIZE);
	pthread_attr_init(&attr);
	assert_int_equal(pthread_attr_setstack(&attr, stack, PAINT_SIZE), 0);
	assert_int_equal(pthread_create(&t, &attr, probe_thread, &p), 0);
	pthread_join(t, NULL);
	pthread_attr_destroy(&attr);
	/* The stack grows down: the lowest touched byte marks the depth. */
	for (i = 0; i < PAINT_SIZE && stack[i] == PAINT; i++)
		continue;
	free(stack);
	return PAINT_SIZE - i;
}

static void
noop(void *arg)
{
	(void)arg;
}

/*
 * What fn(arg) uses of a session's stack. ThreadSanitizer keeps some
 * 800 KiB of its own per-thread state at the top of a thread's stack
 * memory, which a production thread does not have: there the use of an
 * empty thread is subtracted. Elsewhere thread start-up and TLS come out
 * of the same 128 KiB, so they count.
 */
static size_t
session_stack_used(void (*fn)(void *), void *arg)
{
	size_t used = stack_used(fn, arg);

#ifdef __SANITIZE_THREAD__
	size_t empty = stack_used(noop, NULL);

	used = used > empty ? used - empty : 0;
#else
	(void)noop;
#endif
	return used;
}

static void
gai(void *arg)
{
	struct addrinfo	 hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(arg, NULL, &hints, &res) == 0)
		freeaddrinfo(res);
}

static int checked;

static void
check_user(void *arg)
{
	checked = users_check(arg, "alice", "secret");
}

/*
 * Whether /etc/hosts names localhost: only then is looking it up sure
 * to stay on this host (no query to a name server).
 */
static int
hosts_has_localhost(void)
{
	char	 line[512];
	FILE	*f = fopen("/etc/hosts", "r");
	int	 found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = line[0] != '#' && strstr(line, "localhost") != NULL;
	fclose(f);
	return found;
}

static void
test_stack_getaddrinfo(void **state)
{
	const char	*names[] = { "localhost", "2001:db8::1", "192.0.2.1",
			    getenv("STACK_NAME") };
	size_t		 i, used, base;

	(void)state;
	if (!hosts_has_localhost())
		names[0] = NULL;
	base = session_stack_used(gai, "127.0.0.1");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i] == NULL)
			continue;
		used = session_stack_used(gai, (void *)names[i]);
		print_message("getaddrinfo(%s): %zu bytes (numeric: %zu)\n",
		    names[i], used, base);
		assert_true(used < STACK_BUDGET);
	}
}

static void
test_stack_users_check(void **state)
{
	/* "secret" under yescrypt, the costliest method in use. */
	static const char file[] =
	    "alice:$y$j9T$.FfxZUv5uDUvyPD1DviJ40$"
	    "LCeHzEqygPMyE0tOZVcCl6UCd9lKaehWmP7.0hDtqAB\n";
	struct conf_errors	 errs;
	struct users		*u;
	size_t			 used;

	(void)state;
	conf_errors_init(&errs, "users");
	u = users_parse(file, sizeof(file) - 1, &errs);
	assert_non_null(u);
	used = session_stack_used(check_user, u);
	print_message("users_check: %zu bytes\n", used);
	assert_int_equal(checked, 1);	/* the hash was really computed */
	assert_true(used < STACK_BUDGET);
	users_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_getaddrinfo),
		cmocka_unit_test(test_stack_users_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
