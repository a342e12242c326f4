/*
 * test_shim_gaiasync.c - the getaddrinfo_a() interposer (gaiasync.c):
 * delegated names answered at once with fake addresses, the others
 * (a name of /etc/hosts, localhost, a literal) left to glibc, in one
 * list; glibc's own gai_error, gai_suspend and gai_cancel on requests
 * it never queued; the notifications (SIGEV_THREAD, SIGEV_SIGNAL) once
 * for the whole list, whether glibc had a part of it or not. Every wait
 * is bounded. No name here reaches DNS: the real ones are in
 * /etc/hosts or literals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "names_test.h"

#define DELEGATED	"www.example.org"
#define DELEGATED2	"mail.example.net"
#define WAIT_MS		20000	/* "does not hang", for a slow TSan run */

/*
 * Under TSan glibc's own getaddrinfo_a cannot run: its helper threads
 * are started inside libc, past TSan's pthread_create, and crash in
 * TSan's malloc (a program with no shim at all does the same). Tests
 * that hand requests to glibc are skipped there; the all-delegated
 * ones, which never reach it, are the ones TSan has to check.
 */
#if defined(__SANITIZE_THREAD__)
#define GLIBC_PART_RUNS	0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GLIBC_PART_RUNS	0
#endif
#endif
#ifndef GLIBC_PART_RUNS
#define GLIBC_PART_RUNS	1
#endif

static void
need_glibc_part(void)
{
	if (!GLIBC_PART_RUNS) {
		print_message("skipped under TSan: glibc's getaddrinfo_a "
		    "threads are not TSan's\n");
		skip();
	}
}

static atomic_int thread_calls;
static atomic_int thread_value;

static void
on_notify(union sigval v)
{
	atomic_store(&thread_value, v.sival_int);
	atomic_fetch_add(&thread_calls, 1);
}

static void
req_init(struct gaicb *r, struct addrinfo *h, const char *name)
{
	memset(h, 0, sizeof(*h));
	h->ai_socktype = SOCK_STREAM;
	h->ai_family = AF_INET;
	memset(r, 0, sizeof(*r));
	r->ar_name = name;
	r->ar_service = "80";
	r->ar_request = h;
}

static int
is_fake(const struct addrinfo *ai)
{
	return ai != NULL && fakeip_in_range(ai->ai_addr);
}

static int
is_loopback4(const struct addrinfo *ai)
{
	const struct sockaddr_in *sin;

	if (ai == NULL || ai->ai_family != AF_INET)
		return 0;
	sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;
	return ntohl(sin->sin_addr.s_addr) == 0x7f000001;
}

/* Waits for every request with gai_suspend, WAIT_MS at most. */
static void
suspend_all(struct gaicb **list, int n)
{
	struct timespec ts = { 1, 0 };
	int i, round, busy = 1;

	for (round = 0; busy && round < WAIT_MS / 1000; round++) {
		busy = 0;
		for (i = 0; i < n; i++)
			if (gai_error(list[i]) == EAI_INPROGRESS)
				busy = 1;
		if (busy)
			(void)gai_suspend((const struct gaicb *const *)list,
			    n, &ts);
	}
	assert_int_equal(busy, 0);
}

static void
free_all(struct gaicb **list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (gai_error(list[i]) == 0)
			freeaddrinfo(list[i]->ar_result);
}

/* GAI_WAIT, mixed: the list's order kept, each answered its own way. */
static void
test_getaddrinfo_a_wait_mixed(void **state)
{
	struct gaicb r[4], *list[5];
	struct addrinfo h[4];

	(void)state;
	need_glibc_part();
	req_init(&r[0], &h[0], DELEGATED);
	req_init(&r[1], &h[1], "localhost");
	req_init(&r[2], &h[2], "127.0.0.1");
	req_init(&r[3], &h[3], "runsc");	/* in /etc/hosts here */
	list[0] = &r[0];
	list[1] = &r[1];
	list[2] = NULL;			/* glibc skips these */
	list[3] = &r[2];
	list[4] = &r[3];
	assert_int_equal(getaddrinfo_a(GAI_WAIT, list, 5, NULL), 0);
	assert_int_equal(gai_error(&r[0]), 0);
	assert_true(is_fake(r[0].ar_result));
	assert_int_equal(ntohs(((struct sockaddr_in *)(void *)
	    r[0].ar_result->ai_addr)->sin_port), 80);
	if (hosts_has("localhost")) {
		assert_int_equal(gai_error(&r[1]), 0);
		assert_true(is_loopback4(r[1].ar_result));
	}
	assert_int_equal(gai_error(&r[2]), 0);
	assert_true(is_loopback4(r[2].ar_result));
	if (hosts_has("runsc"))
		assert_int_equal(gai_error(&r[3]), 0);
	if (gai_error(&r[3]) == 0)
		assert_false(is_fake(r[3].ar_result));
	/* Done ones: nothing to wait for (as for glibc's own), to cancel. */
	assert_int_equal(gai_suspend((const struct gaicb *const *)&list[0],
	    1, NULL), gai_suspend((const struct gaicb *const *)&list[3],
	    1, NULL));
	assert_int_equal(gai_cancel(&r[0]), EAI_ALLDONE);
	assert_int_equal(gai_cancel(&r[2]), EAI_ALLDONE);
	assert_int_equal(gai_error(&r[0]), 0);
	free_all(list, 2);
	free_all(&list[3], 2);
}

/* The same answer and error as the getaddrinfo hook gives. */
static void
test_getaddrinfo_a_same_as_getaddrinfo(void **state)
{
	struct gaicb r[3], *list[3];
	struct addrinfo h[3], *ai = NULL;
	int i;

	(void)state;
	req_init(&r[0], &h[0], DELEGATED);
	h[0].ai_family = AF_UNSPEC;
	h[0].ai_flags = AI_CANONNAME;
	req_init(&r[1], &h[1], DELEGATED2);
	r[1].ar_service = "nosuchservice";
	req_init(&r[2], &h[2], "use-application-dns.net");
	for (i = 0; i < 3; i++)
		list[i] = &r[i];
	assert_int_equal(getaddrinfo_a(GAI_WAIT, list, 3, NULL), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(gai_error(&r[i]),
		    getaddrinfo(r[i].ar_name, r[i].ar_service, r[i].ar_request,
		    &ai));
		if (gai_error(&r[i]) == 0) {
			assert_memory_equal(r[i].ar_result->ai_addr,
			    ai->ai_addr, ai->ai_addrlen);
			freeaddrinfo(ai);
		}
	}
	assert_string_equal(r[0].ar_result->ai_canonname, DELEGATED);
	assert_int_not_equal(gai_error(&r[1]), 0);
	assert_int_equal(gai_error(&r[2]), EAI_NONAME);
	free_all(list, 3);
}

/* Polls *calls until it reaches want or ms pass; returns it. */
static int
wait_calls(atomic_int *calls, int want, int ms)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < ms / 10 && atomic_load(calls) < want; i++)
		nanosleep(&ts, NULL);
	return atomic_load(calls);
}

static void
nowait_thread(int mixed)
{
	struct gaicb r[3], *list[3];
	struct addrinfo h[3];
	struct sigevent sev;
	int n = mixed ? 3 : 2;

	if (mixed)
		need_glibc_part();
	req_init(&r[0], &h[0], DELEGATED);
	req_init(&r[1], &h[1], mixed ? "127.0.0.1" : DELEGATED2);
	req_init(&r[2], &h[2], DELEGATED2);
	list[0] = &r[0];
	list[1] = &r[1];
	list[2] = &r[2];
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_notify;
	sev.sigev_value.sival_int = 4242 + mixed;
	atomic_store(&thread_calls, 0);
	assert_int_equal(getaddrinfo_a(GAI_NOWAIT, list, n, &sev), 0);
	assert_int_equal(wait_calls(&thread_calls, 1, WAIT_MS), 1);
	assert_int_equal(atomic_load(&thread_value), 4242 + mixed);
	suspend_all(list, n);
	assert_true(is_fake(r[0].ar_result));
	assert_true(is_fake(r[2].ar_result) || n == 2);
	if (mixed)
		assert_true(is_loopback4(r[1].ar_result));
	free_all(list, n);
	/* Once, not once per request (a late second one: within 300 ms). */
	wait_calls(&thread_calls, 2, 300);
	assert_int_equal(atomic_load(&thread_calls), 1);
}

static void
test_getaddrinfo_a_thread_all_delegated(void **state)
{
	(void)state;
	nowait_thread(0);
}

static void
test_getaddrinfo_a_thread_mixed(void **state)
{
	(void)state;
	nowait_thread(1);
}

/* The caller's (joinable) attributes are used: the thread still runs. */
static void
test_getaddrinfo_a_thread_attributes(void **state)
{
	struct gaicb r, *list[1];
	struct addrinfo h;
	struct sigevent sev;
	pthread_attr_t attr;

	(void)state;
	req_init(&r, &h, DELEGATED);
	list[0] = &r;
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_notify;
	sev.sigev_notify_attributes = &attr;
	sev.sigev_value.sival_int = 7;
	atomic_store(&thread_calls, 0);
	assert_int_equal(getaddrinfo_a(GAI_NOWAIT, list, 1, &sev), 0);
	assert_int_equal(wait_calls(&thread_calls, 1, WAIT_MS), 1);
	assert_int_equal(atomic_load(&thread_value), 7);
	pthread_attr_destroy(&attr);
	free_all(list, 1);
}

/* One queued signal with glibc's si_code and the program's value. */
static void
nowait_signal(int mixed)
{
	struct gaicb r[2], *list[2];
	struct addrinfo h[2];
	struct sigevent sev;
	struct timespec ts = { WAIT_MS / 1000, 0 }, zero = { 0, 0 };
	siginfo_t si;
	sigset_t set, old;
	int n = mixed ? 2 : 1;

	if (mixed)
		need_glibc_part();
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, &old), 0);
	req_init(&r[0], &h[0], DELEGATED);
	req_init(&r[1], &h[1], "127.0.0.1");
	list[0] = &r[0];
	list[1] = &r[1];
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_int = 99 + mixed;
	assert_int_equal(getaddrinfo_a(GAI_NOWAIT, list, n, &sev), 0);
	memset(&si, 0, sizeof(si));
	assert_int_equal(sigtimedwait(&set, &si, &ts), SIGRTMIN + 1);
	assert_int_equal(si.si_code, SI_ASYNCNL);
	assert_int_equal(si.si_value.sival_int, 99 + mixed);
	assert_int_equal(si.si_pid, getpid());
	suspend_all(list, n);
	assert_true(is_fake(r[0].ar_result));
	if (mixed)
		assert_true(is_loopback4(r[1].ar_result));
	/* Only one. */
	assert_int_equal(sigtimedwait(&set, &si, &zero), -1);
	free_all(list, n);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

static void
test_getaddrinfo_a_signal_all_delegated(void **state)
{
	(void)state;
	nowait_signal(0);
}

static void
test_getaddrinfo_a_signal_mixed(void **state)
{
	(void)state;
	nowait_signal(1);
}

/* SIGEV_NONE and no sevp: done at return, nothing fires. */
static void
test_getaddrinfo_a_nowait_none(void **state)
{
	struct gaicb r, *list[1];
	struct addrinfo h;
	struct sigevent sev;

	(void)state;
	req_init(&r, &h, DELEGATED);
	list[0] = &r;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	assert_int_equal(getaddrinfo_a(GAI_NOWAIT, list, 1, &sev), 0);
	assert_int_equal(gai_error(&r), 0);
	freeaddrinfo(r.ar_result);
	r.ar_result = NULL;
	assert_int_equal(getaddrinfo_a(GAI_NOWAIT, list, 1, NULL), 0);
	assert_int_equal(gai_error(&r), 0);
	assert_true(is_fake(r.ar_result));
	assert_int_equal(gai_cancel(&r), EAI_ALLDONE);
	freeaddrinfo(r.ar_result);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getaddrinfo_a_wait_mixed),
		cmocka_unit_test(test_getaddrinfo_a_same_as_getaddrinfo),
		cmocka_unit_test(test_getaddrinfo_a_thread_all_delegated),
		cmocka_unit_test(test_getaddrinfo_a_thread_mixed),
		cmocka_unit_test(test_getaddrinfo_a_thread_attributes),
		cmocka_unit_test(test_getaddrinfo_a_signal_all_delegated),
		cmocka_unit_test(test_getaddrinfo_a_signal_mixed),
		cmocka_unit_test(test_getaddrinfo_a_nowait_none),
	};

	names_env();
	alarm(120);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
