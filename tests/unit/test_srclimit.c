/*
 * test_srclimit.c - srclimit.c, the live sessions counted per source for
 * max-clients-per-source: the limit, what one source is (IPv4 address,
 * IPv6 /64, IPv4-mapped as IPv4), no limit at 0, entries freed with the
 * last session, and takes and releases from many threads at once.
 * Every test leaves the (process-wide) table empty, as it found it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "gateway/gatewayd.h"

static struct sockaddr *
sa(const char *text, struct sockaddr_storage *ss)
{
	const char	*why;
	socklen_t	 len;

	if (addr_parse_endpoint(text, 1080, (struct sockaddr_storage *)ss,
	    &len, &why) != 0)
		fail_msg("%s: %s", text, why);
	return (struct sockaddr *)ss;
}

static int
take(const char *src, unsigned int max)
{
	struct sockaddr_storage	ss;

	return srclimit_take(sa(src, &ss), max);
}

static void
release(const char *src)
{
	struct sockaddr_storage	ss;

	srclimit_release(sa(src, &ss));
}

static unsigned int
count(const char *src)
{
	struct sockaddr_storage	ss;

	return srclimit_count(sa(src, &ss));
}

static void
test_srclimit_take_refuses_at_limit(void **state)
{
	(void)state;
	assert_int_equal(take("192.0.2.1:1", 3), 0);
	assert_int_equal(take("192.0.2.1:2", 3), 0);
	assert_int_equal(take("192.0.2.1:3", 3), 0);
	errno = 0;
	assert_int_equal(take("192.0.2.1:4", 3), -1);
	assert_int_equal(errno, EUSERS);
	assert_int_equal(count("192.0.2.1:9"), 3);
	/* Another source is not affected; the port never matters. */
	assert_int_equal(take("192.0.2.2:1", 3), 0);
	assert_int_equal(srclimit_sources(), 2);
	/* One ends: room for one more, not two. */
	release("192.0.2.1:1");
	assert_int_equal(take("192.0.2.1:5", 3), 0);
	assert_int_equal(take("192.0.2.1:6", 3), -1);
	/* A lower limit (a reload) refuses, and closes nothing. */
	assert_int_equal(take("192.0.2.1:7", 2), -1);
	assert_int_equal(count("192.0.2.1:9"), 3);
	release("192.0.2.1:2");
	release("192.0.2.1:3");
	release("192.0.2.1:5");
	release("192.0.2.2:1");
	assert_int_equal(count("192.0.2.1:9"), 0);
	assert_int_equal(srclimit_sources(), 0);
}

static void
test_srclimit_take_zero_counts_without_limit(void **state)
{
	int	i;

	(void)state;
	for (i = 0; i < 100; i++)
		assert_int_equal(take("198.51.100.7:1", 0), 0);
	assert_int_equal(count("198.51.100.7:1"), 100);
	/* Counted all the same: a limit set later sees them. */
	assert_int_equal(take("198.51.100.7:1", 100), -1);
	for (i = 0; i < 100; i++)
		release("198.51.100.7:1");
	assert_int_equal(srclimit_sources(), 0);
}

static void
test_srclimit_key_ipv6_is_per_64(void **state)
{
	(void)state;
	assert_int_equal(take("[2001:db8:1:2::1]:1", 2), 0);
	/* Another address of the same /64 is the same source. */
	assert_int_equal(take("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1", 2), 0);
	assert_int_equal(take("[2001:db8:1:2::99]:1", 2), -1);
	/* The next /64 is another. */
	assert_int_equal(take("[2001:db8:1:3::1]:1", 2), 0);
	assert_int_equal(count("[2001:db8:1:2::ffff]:1"), 2);
	release("[2001:db8:1:2::1]:1");
	release("[2001:db8:1:2::2]:1");
	release("[2001:db8:1:3::1]:1");
	assert_int_equal(srclimit_sources(), 0);
}

static void
test_srclimit_key_mapped_is_ipv4(void **state)
{
	(void)state;
	assert_int_equal(take("192.0.2.9:1", 2), 0);
	assert_int_equal(take("[::ffff:192.0.2.9]:1", 2), 0);
	assert_int_equal(take("192.0.2.9:2", 2), -1);
	assert_int_equal(count("[::ffff:192.0.2.9]:3"), 2);
	/* An IPv6 address that merely ends in those bytes is not it. */
	assert_int_equal(count("[2001:db8::c000:209]:1"), 0);
	release("[::ffff:192.0.2.9]:1");
	release("192.0.2.9:1");
	assert_int_equal(srclimit_sources(), 0);
}

static void
test_srclimit_other_family_not_counted(void **state)
{
	struct sockaddr_un	un;

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(srclimit_take((struct sockaddr *)&un, 1), 0);
	assert_int_equal(srclimit_take((struct sockaddr *)&un, 1), 0);
	assert_int_equal(srclimit_count((struct sockaddr *)&un), 0);
	srclimit_release((struct sockaddr *)&un);
	assert_int_equal(srclimit_sources(), 0);
}

static void
test_srclimit_release_unknown_is_ignored(void **state)
{
	(void)state;
	release("203.0.113.5:1");
	assert_int_equal(count("203.0.113.5:1"), 0);
	assert_int_equal(srclimit_sources(), 0);
}

/* Many sources at once: each its own entry, all gone after. */
static void
test_srclimit_many_sources_freed(void **state)
{
	char	buf[64];
	int	i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "[2001:db8:%x:%x::1]:1",
		    i >> 8, i & 0xff);
		assert_int_equal(take(buf, 1), 0);
	}
	assert_int_equal(srclimit_sources(), 5000);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "[2001:db8:%x:%x::2]:1",
		    i >> 8, i & 0xff);
		assert_int_equal(take(buf, 1), -1);
		release(buf);
	}
	assert_int_equal(srclimit_sources(), 0);
}

enum { THREADS = 8, ROUNDS = 2000 };

/*
 * Takes and releases in a loop against a limit of THREADS / 2 for one
 * source, counting what it was granted and refused; the table's own
 * count must never pass the limit.
 */
static void *
hammer(void *arg)
{
	struct sockaddr_storage	 ss;
	struct sockaddr		*src = sa("192.0.2.77:1", &ss);
	long			 over = 0;
	int			 i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		if (srclimit_take(src, THREADS / 2) == -1)
			continue;
		if (srclimit_count(src) > THREADS / 2)
			over++;
		srclimit_release(src);
	}
	return (void *)over;
}

static void
test_srclimit_threads_never_exceed_limit(void **state)
{
	pthread_t	t[THREADS];
	void		*over;
	int		i;

	(void)state;
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(t[i], &over), 0);
		assert_int_equal((long)over, 0);
	}
	assert_int_equal(count("192.0.2.77:1"), 0);
	assert_int_equal(srclimit_sources(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srclimit_take_refuses_at_limit),
		cmocka_unit_test(test_srclimit_take_zero_counts_without_limit),
		cmocka_unit_test(test_srclimit_key_ipv6_is_per_64),
		cmocka_unit_test(test_srclimit_key_mapped_is_ipv4),
		cmocka_unit_test(test_srclimit_other_family_not_counted),
		cmocka_unit_test(test_srclimit_release_unknown_is_ignored),
		cmocka_unit_test(test_srclimit_many_sources_freed),
		cmocka_unit_test(test_srclimit_threads_never_exceed_limit),
	};

	return cmocka_run_group_tests_name("test_srclimit", tests, NULL, NULL);
}
