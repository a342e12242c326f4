/*
 * test_shim_fakeip.c - the fake address pool and table (src/lib/fakeip.c):
 * where fakes fall, that a name keeps its address (in a process and
 * from one process to the next), that no address ever serves two
 * names, exhaustion of tiny ranges, 16 threads at once, and fork with
 * threads busy in the table, both processes going on using it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "names_test.h"

static struct addr_net
net(const char *s)
{
	struct addr_net n;
	const char *why;

	assert_int_equal(addr_parse_net(s, &n, &why), 0);
	return n;
}

static struct fakeip_table *
table(const char *v4, const char *v6)
{
	struct addr_net n4, n6;
	struct fakeip_table *t;

	n4 = net(v4);
	n6 = net(v6);
	t = fakeip_table_new(&n4, &n6);
	assert_non_null(t);
	return t;
}

static const char *
assign_text(struct fakeip_table *t, const char *name, int family,
    char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (fakeip_table_assign(t, name, family, (struct sockaddr *)&ss, &sl)
	    == -1)
		return NULL;
	assert_int_equal(sl, family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	assert_int_equal(addr_port((struct sockaddr *)&ss), 0);
	return addr_format_host((struct sockaddr *)&ss, buf, len);
}

static void
sa_of(const char *text, struct sockaddr_storage *ss)
{
	socklen_t sl = sizeof(*ss);
	const char *why;

	assert_int_equal(addr_parse_endpoint(text, 0, ss, &sl, &why), 0);
}

/* Runs fn with stderr going to a pipe; returns what was written. */
static char *
capture_stderr(void (*fn)(void *), void *arg)
{
	static char out[4096];
	int pfd[2], saved;
	ssize_t n;

	assert_int_equal(pipe2(pfd, O_NONBLOCK), 0);
	saved = dup(2);
	dup2(pfd[1], 2);
	fn(arg);
	dup2(saved, 2);
	close(saved);
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

/* ------------------------------------------------------------------ */

static void
test_fakeip_assign_default_ranges(void **state)
{
	struct fakeip_table *t = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	struct addr_net n4 = net("240.0.0.0/4"), n6 = net("64:ff9b:1::/48");
	struct sockaddr_storage ss;
	socklen_t sl;
	char a[ADDR_STRLEN], b[ADDR_STRLEN];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		char name[64];

		snprintf(name, sizeof(name), "host%d.example.org", i);
		assert_int_equal(fakeip_table_assign(t, name, AF_INET,
		    (struct sockaddr *)&ss, &sl), 0);
		assert_true(addr_net_contains(&n4, (struct sockaddr *)&ss));
		addr_format_host((struct sockaddr *)&ss, a, sizeof(a));
		assert_string_not_equal(a, "240.0.0.0");
		assert_string_not_equal(a, "255.255.255.255");
		assert_int_equal(fakeip_table_assign(t, name, AF_INET6,
		    (struct sockaddr *)&ss, &sl), 0);
		assert_true(addr_net_contains(&n6, (struct sockaddr *)&ss));
		addr_format_host((struct sockaddr *)&ss, b, sizeof(b));
		assert_string_not_equal(b, "64:ff9b:1::");
	}
	fakeip_table_free(t);
}

/*
 * The address is a function of the name alone: pinned here so that a
 * change to the hash, which moves every fake a user's programs may
 * have remembered (ssh known_hosts), is a deliberate one.
 */
static void
test_fakeip_assign_pinned_values(void **state)
{
	struct fakeip_table *t = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	char a[ADDR_STRLEN];

	(void)state;
	assert_string_equal(assign_text(t, "example.org", AF_INET, a,
	    sizeof(a)), "240.144.11.169");
	assert_string_equal(assign_text(t, "example.org", AF_INET6, a,
	    sizeof(a)), "64:ff9b:1:0:c2b5:5ead:17fd:4fbe");
	fakeip_table_free(t);
}

static void
test_fakeip_assign_normalises_name(void **state)
{
	struct fakeip_table *t = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	char a[ADDR_STRLEN], b[ADDR_STRLEN], name[256];
	struct sockaddr_storage ss;

	(void)state;
	assign_text(t, "WWW.Example.ORG.", AF_INET, a, sizeof(a));
	assign_text(t, "www.example.org", AF_INET, b, sizeof(b));
	assert_string_equal(a, b);
	sa_of(a, &ss);
	assert_int_equal(fakeip_table_lookup(t, (struct sockaddr *)&ss, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "www.example.org");
	/* Not a name: nothing assigned. */
	assert_null(assign_text(t, "", AF_INET, a, sizeof(a)));
	assert_int_equal(errno, EINVAL);
	assert_null(assign_text(t, "x", AF_UNIX, a, sizeof(a)));
	assert_int_equal(errno, EAFNOSUPPORT);
	fakeip_table_free(t);
}

/* Two tables are two processes: the same name, the same address. */
static void
test_fakeip_assign_stable_across_tables(void **state)
{
	struct fakeip_table *t1 = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	struct fakeip_table *t2 = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	char a[ADDR_STRLEN], b[ADDR_STRLEN], name[64];
	int i;

	(void)state;
	/* Different orders, other names in between. */
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "n%d.example.org", i);
		assign_text(t1, name, AF_INET, a, sizeof(a));
		snprintf(name, sizeof(name), "other%d.example.net", i);
		assign_text(t2, name, AF_INET6, a, sizeof(a));
	}
	for (i = 199; i >= 0; i--) {
		snprintf(name, sizeof(name), "n%d.example.org", i);
		assign_text(t2, name, AF_INET, b, sizeof(b));
		assign_text(t1, name, AF_INET, a, sizeof(a));
		assert_string_equal(a, b);
	}
	fakeip_table_free(t1);
	fakeip_table_free(t2);
}

static void
test_fakeip_lookup_and_range(void **state)
{
	struct fakeip_table *t = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	static const struct {
		const char	*addr;
		int		 in_range;
	} cases[] = {
		{ "239.255.255.255", 0 }, { "240.0.0.0", 1 },
		{ "240.0.0.1", 1 }, { "255.255.255.255", 1 },
		{ "127.0.0.1", 0 }, { "64:ff9b:1::1", 1 },
		{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "64:ff9b:2::1", 0 }, { "64:ff9b::1", 0 },
		{ "::ffff:240.1.2.3", 1 }, { "::ffff:10.1.2.3", 0 },
		{ "2001:db8::1", 0 },
	};
	struct sockaddr_storage ss;
	char a[ADDR_STRLEN], mapped[ADDR_STRLEN + 8], name[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sa_of(cases[i].addr, &ss);
		assert_int_equal(fakeip_table_in_range(t,
		    (struct sockaddr *)&ss), cases[i].in_range);
		/* Nothing handed out yet: nothing found. */
		assert_int_equal(fakeip_table_lookup(t,
		    (struct sockaddr *)&ss, name, sizeof(name)), 0);
	}
	assign_text(t, "mapped.example.org", AF_INET, a, sizeof(a));
	snprintf(mapped, sizeof(mapped), "::ffff:%s", a);
	sa_of(mapped, &ss);
	assert_int_equal(fakeip_table_lookup(t, (struct sockaddr *)&ss, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "mapped.example.org");
	/* Too small a buffer is "not found", never a cut name. */
	assert_int_equal(fakeip_table_lookup(t, (struct sockaddr *)&ss, name,
	    5), 0);
	/* A fake of the other family with the same low bits is not it. */
	sa_of("64:ff9b:1::1", &ss);
	assert_int_equal(fakeip_table_lookup(t, (struct sockaddr *)&ss, name,
	    sizeof(name)), 0);
	/* Other families and NULL are simply not ours. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	assert_int_equal(fakeip_table_in_range(t, (struct sockaddr *)&ss), 0);
	assert_int_equal(fakeip_table_in_range(t, NULL), 0);
	assert_int_equal(fakeip_table_in_range(NULL, (struct sockaddr *)&ss),
	    0);
	fakeip_table_free(t);
}

struct exhaust {
	struct fakeip_table	*t;
	int			 family;
	int			 fails;
	char			 addrs[8][ADDR_STRLEN];
	int			 n;
};

static void
exhaust_run(void *arg)
{
	struct exhaust *x = arg;
	char name[64], a[ADDR_STRLEN];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "e%d.example.org", i);
		if (assign_text(x->t, name, x->family, a, sizeof(a)) == NULL) {
			assert_int_equal(errno, ENOSPC);
			x->fails++;
		} else if (x->n < 8)
			strcpy(x->addrs[x->n++], a);
	}
}

static void
check_exhaustion(const char *v4, const char *v6, int family, int usable)
{
	struct exhaust x;
	char *log, a[ADDR_STRLEN];
	int i, j;

	memset(&x, 0, sizeof(x));
	x.t = table(v4, v6);
	x.family = family;
	log = capture_stderr(exhaust_run, &x);
	assert_int_equal(x.n, usable);
	assert_int_equal(x.fails, 10 - usable);
	for (i = 0; i < x.n; i++) {
		for (j = 0; j < i; j++)
			assert_string_not_equal(x.addrs[i], x.addrs[j]);
	}
	/* One line, however many look-ups failed. */
	assert_non_null(strstr(log, "socks64: fake address range "));
	assert_non_null(strstr(log, " exhausted"));
	assert_null(strchr(strchr(log, '\n') + 1, '\n'));
	/* The names that have an address keep it; no reuse. */
	assert_string_equal(assign_text(x.t, "e0.example.org", family, a,
	    sizeof(a)), x.addrs[0]);
	fakeip_table_free(x.t);
}

static void
test_fakeip_assign_exhaustion_v4_30(void **state)
{
	(void)state;
	/* 2 usable: .1 and .2, never .0 or .3. */
	check_exhaustion("240.0.0.0/30", SHIM_DEFAULT_FAKE_V6, AF_INET, 2);
}

static void
test_fakeip_assign_exhaustion_v4_29(void **state)
{
	(void)state;
	check_exhaustion("198.18.0.0/29", SHIM_DEFAULT_FAKE_V6, AF_INET, 6);
}

static void
test_fakeip_assign_exhaustion_v6_126(void **state)
{
	(void)state;
	check_exhaustion(SHIM_DEFAULT_FAKE_V4, "64:ff9b:1::/126", AF_INET6, 2);
}

static void
test_fakeip_assign_exhaustion_ends_skipped(void **state)
{
	struct fakeip_table *t = table("240.0.0.0/30", "64:ff9b:1::/127");
	char a[ADDR_STRLEN], b[ADDR_STRLEN];

	(void)state;
	assign_text(t, "a.example.org", AF_INET, a, sizeof(a));
	assign_text(t, "b.example.org", AF_INET, b, sizeof(b));
	assert_true((strcmp(a, "240.0.0.1") == 0 &&
	    strcmp(b, "240.0.0.2") == 0) || (strcmp(a, "240.0.0.2") == 0 &&
	    strcmp(b, "240.0.0.1") == 0));
	/* A /127 has nothing between its two ends. */
	assert_null(assign_text(t, "a.example.org", AF_INET6, a, sizeof(a)));
	assert_int_equal(errno, ENOSPC);
	fakeip_table_free(t);
}

/* ------------------------------------------------------------------ */
/* threads                                                              */

#define NTHREADS	16
#define NNAMES		3000

struct worker {
	struct fakeip_table	*t;
	int			 id;
	uint32_t		*v4;	/* NNAMES addresses, host order */
	int			 bad;
};

static void *
worker_run(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	char name[64], back[256];
	socklen_t sl;
	int i, k;

	for (k = 0; k < NNAMES; k++) {
		/* Every thread its own order over the same names. */
		i = (k * 7 + w->id * 131) % NNAMES;
		snprintf(name, sizeof(name), "t%d.example.org", i);
		if (fakeip_table_assign(w->t, name, AF_INET,
		    (struct sockaddr *)&ss, &sl) == -1) {
			w->bad++;
			continue;
		}
		w->v4[i] = ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr);
		if (fakeip_table_lookup(w->t, (struct sockaddr *)&ss, back,
		    sizeof(back)) != 1 || strcmp(back, name) != 0)
			w->bad++;
		if (fakeip_table_assign(w->t, name, AF_INET6,
		    (struct sockaddr *)&ss, &sl) == -1)
			w->bad++;
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_fakeip_assign_16_threads(void **state)
{
	struct fakeip_table *t = table(SHIM_DEFAULT_FAKE_V4,
	    SHIM_DEFAULT_FAKE_V6);
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	uint32_t *sorted;
	int i, j;

	(void)state;
	for (i = 0; i < NTHREADS; i++) {
		w[i].t = t;
		w[i].id = i;
		w[i].bad = 0;
		w[i].v4 = calloc(NNAMES, sizeof(uint32_t));
		assert_non_null(w[i].v4);
		assert_int_equal(pthread_create(&th[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(w[i].bad, 0);
		/* Every thread saw the same address for every name. */
		for (j = 0; j < NNAMES; j++)
			assert_int_equal(w[i].v4[j], w[0].v4[j]);
	}
	/* And no two names share one. */
	sorted = malloc(NNAMES * sizeof(uint32_t));
	assert_non_null(sorted);
	memcpy(sorted, w[0].v4, NNAMES * sizeof(uint32_t));
	qsort(sorted, NNAMES, sizeof(uint32_t), cmp_u32);
	for (j = 1; j < NNAMES; j++)
		assert_true(sorted[j] != sorted[j - 1]);
	free(sorted);
	for (i = 0; i < NTHREADS; i++)
		free(w[i].v4);
	fakeip_table_free(t);
}

/*
 * Many threads in a range of 62 addresses: the collision walk under
 * contention still never gives an address twice.
 */
static void
test_fakeip_assign_threads_small_range(void **state)
{
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct fakeip_table *t = table("240.0.0.0/26", "64:ff9b:1::/48");
	struct sockaddr_storage ss;
	socklen_t sl;
	uint32_t seen[64];
	char name[64];
	int i, n = 0;

	(void)state;
	for (i = 0; i < NTHREADS; i++) {
		w[i].t = t;
		w[i].id = i;
		w[i].bad = 0;
		w[i].v4 = calloc(NNAMES, sizeof(uint32_t));
		assert_int_equal(pthread_create(&th[i], NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < NNAMES; i++) {
		snprintf(name, sizeof(name), "t%d.example.org", i);
		if (fakeip_table_assign(t, name, AF_INET,
		    (struct sockaddr *)&ss, &sl) == -1)
			continue;
		assert_true(n < 62);
		seen[n++] = ntohl(((struct sockaddr_in *)&ss)->
		    sin_addr.s_addr);
	}
	assert_int_equal(n, 62);
	qsort(seen, (size_t)n, sizeof(uint32_t), cmp_u32);
	for (i = 1; i < n; i++)
		assert_true(seen[i] != seen[i - 1]);
	assert_int_equal(seen[0], 0xf0000001);
	assert_int_equal(seen[n - 1], 0xf000003e);
	for (i = 0; i < NTHREADS; i++)
		free(w[i].v4);
	fakeip_table_free(t);
}

/* ------------------------------------------------------------------ */
/* fork                                                                 */

static atomic_int fork_stop;

static void *
fork_churn(void *arg)
{
	struct sockaddr_storage ss;
	char name[64], back[256];
	socklen_t sl;
	long id = (long)arg;
	int i = 0;

	while (!atomic_load(&fork_stop)) {
		snprintf(name, sizeof(name), "churn%ld-%d.example.org", id,
		    i++ % 5000);
		if (fakeip_assign(name, AF_INET, (struct sockaddr *)&ss, &sl)
		    == 0)
			(void)fakeip_lookup((struct sockaddr *)&ss, back,
			    sizeof(back));
	}
	return NULL;
}

/* In the child: the parent's names are there; new ones can be added. */
static int
fork_child_check(const struct sockaddr_storage *before)
{
	struct sockaddr_storage ss, again;
	char name[256];
	socklen_t sl;

	alarm(20);	/* a lock left held would hang: fail instead */
	if (fakeip_lookup((const struct sockaddr *)before, name,
	    sizeof(name)) != 1 || strcmp(name, "before.example.org") != 0)
		return 1;
	if (fakeip_assign("child.example.org", AF_INET,
	    (struct sockaddr *)&ss, &sl) == -1 ||
	    fakeip_assign("CHILD.example.org.", AF_INET,
	    (struct sockaddr *)&again, &sl) == -1 ||
	    !addr_equal((struct sockaddr *)&ss, (struct sockaddr *)&again, 0))
		return 2;
	if (fakeip_lookup((struct sockaddr *)&ss, name, sizeof(name)) != 1 ||
	    strcmp(name, "child.example.org") != 0)
		return 3;
	if (fakeip_assign("churn0-1.example.org", AF_INET6,
	    (struct sockaddr *)&ss, &sl) == -1)
		return 4;
	return 0;
}

static void
test_fakeip_fork_both_keep_table(void **state)
{
	struct sockaddr_storage before, ss;
	pthread_t th[4];
	char name[256];
	socklen_t sl;
	pid_t pid;
	long i;
	int round, status;

	(void)state;
	assert_int_equal(fakeip_assign("before.example.org", AF_INET,
	    (struct sockaddr *)&before, &sl), 0);
	atomic_store(&fork_stop, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, fork_churn,
		    (void *)i), 0);
	/* Fork while the other threads hammer the table's lock. */
	for (round = 0; round < 20; round++) {
		pid = fork();
		assert_true(pid != -1);
		if (pid == 0)
			_exit(fork_child_check(&before));
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	atomic_store(&fork_stop, 1);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* The parent goes on; what the children added is not here. */
	assert_int_equal(fakeip_lookup((struct sockaddr *)&before, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "before.example.org");
	assert_int_equal(fakeip_assign("after.example.org", AF_INET6,
	    (struct sockaddr *)&ss, &sl), 0);
	assert_true(fakeip_in_range((struct sockaddr *)&ss));
	assert_int_equal(fakeip_lookup((struct sockaddr *)&ss, name,
	    sizeof(name)), 1);
	assert_string_equal(name, "after.example.org");
}

/* The process's table follows the configuration (defaults here). */
static void
test_fakeip_global_uses_conf(void **state)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	(void)state;
	assert_int_equal(shim_conf()->enabled, 1);
	assert_int_equal(fakeip_assign("example.org", AF_INET,
	    (struct sockaddr *)&ss, &sl), 0);
	assert_true(addr_net_contains(&shim_conf()->fake_v4,
	    (struct sockaddr *)&ss));
	sa_of("240.0.0.7", &ss);
	assert_int_equal(fakeip_in_range((struct sockaddr *)&ss), 1);
	sa_of("10.0.0.7", &ss);
	assert_int_equal(fakeip_in_range((struct sockaddr *)&ss), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fakeip_assign_default_ranges),
		cmocka_unit_test(test_fakeip_assign_pinned_values),
		cmocka_unit_test(test_fakeip_assign_normalises_name),
		cmocka_unit_test(test_fakeip_assign_stable_across_tables),
		cmocka_unit_test(test_fakeip_lookup_and_range),
		cmocka_unit_test(test_fakeip_assign_exhaustion_v4_30),
		cmocka_unit_test(test_fakeip_assign_exhaustion_v4_29),
		cmocka_unit_test(test_fakeip_assign_exhaustion_v6_126),
		cmocka_unit_test(test_fakeip_assign_exhaustion_ends_skipped),
		cmocka_unit_test(test_fakeip_assign_16_threads),
		cmocka_unit_test(test_fakeip_assign_threads_small_range),
		cmocka_unit_test(test_fakeip_global_uses_conf),
		cmocka_unit_test(test_fakeip_fork_both_keep_table),
	};

	names_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
