/*
 * test_authdelay.c - authdelay.c, the slowing down of repeated failed
 * logins: the delay per failure count, the keying by IPv4 address and
 * IPv6 /64, the cap, the decay and what a full table gives up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "gateway/gatewayd.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NO_CAP		UINT_MAX

static struct sockaddr_storage *
sa(const char *text, struct sockaddr_storage *ss)
{
	const char	*why;
	socklen_t	 len;

	if (addr_parse_endpoint(text, 1080, ss, &len, &why) != 0)
		fail_msg("%s: %s", text, why);
	return ss;
}

static unsigned int
fail_from(struct authdelay *t, const char *src, int64_t now)
{
	struct sockaddr_storage	ss;

	return authdelay_fail(t, (struct sockaddr *)sa(src, &ss), now,
	    NO_CAP);
}

static void
test_authdelay_delay_table(void **state)
{
	static const struct {
		unsigned int	failures, ms;
	} cases[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 },
		{ 4, 250 }, { 5, 500 }, { 6, 1000 }, { 7, 2000 },
		{ 8, 4000 }, { 9, 8000 }, { 10, 8000 }, { 40, 8000 },
		{ UINT_MAX, 8000 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++)
		if (authdelay_delay(cases[i].failures) != cases[i].ms)
			fail_msg("failure %u: %u ms, want %u",
			    cases[i].failures,
			    authdelay_delay(cases[i].failures), cases[i].ms);
}

/* One source's failures in a row, and another source's first. */
static void
test_authdelay_fail_grows_for_one_source_only(void **state)
{
	static const unsigned int	want[] = {
		0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 8000,
	};
	struct authdelay	*t = calloc(1, sizeof(*t));
	size_t			 i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < NELEM(want); i++)
		assert_int_equal(fail_from(t, "192.0.2.1:40000", 1000 +
		    (int64_t)i), want[i]);
	/* Other sources start afresh, whatever 192.0.2.1 did. */
	assert_int_equal(fail_from(t, "192.0.2.2:40000", 2000), 0);
	assert_int_equal(fail_from(t, "[2001:db8::1]:40000", 2000), 0);
	free(t);
}

/*
 * One key per IPv4 address and per IPv6 /64, whatever the port; an
 * IPv4-mapped IPv6 address is its IPv4 address.
 */
static void
test_authdelay_fail_keys(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 same;
	} cases[] = {
		{ "192.0.2.1:1", "192.0.2.1:2", 1 },
		{ "192.0.2.1:1", "[::ffff:192.0.2.1]:2", 1 },
		{ "192.0.2.1:1", "192.0.2.2:1", 0 },
		{ "[2001:db8:1:2::1]:1", "[2001:db8:1:2:ffff::9]:1", 1 },
		{ "[2001:db8:1:2::1]:1", "[2001:db8:1:3::1]:1", 0 },
		{ "[2001:db8::c000:201]:1", "192.0.2.1:1", 0 },
	};
	struct authdelay	*t;
	size_t			 i;
	int			 k;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		assert_non_null(t = calloc(1, sizeof(*t)));
		for (k = 0; k < AUTHDELAY_FREE; k++)
			(void)fail_from(t, cases[i].a, 0);
		/* a's count is at the threshold: b pays if it is a too. */
		if ((fail_from(t, cases[i].b, 0) > 0) != cases[i].same)
			fail_msg("case %zu: %s and %s %s one source", i,
			    cases[i].a, cases[i].b, cases[i].same ?
			    "should be" : "should not be");
		free(t);
	}
}

/* The delay never goes past what the handshake has left. */
static void
test_authdelay_fail_capped(void **state)
{
	struct sockaddr_storage	 ss;
	struct authdelay	*t = calloc(1, sizeof(*t));
	int			 i;

	(void)state;
	assert_non_null(t);
	sa("192.0.2.1:1", &ss);
	for (i = 0; i < 8; i++)
		(void)authdelay_fail(t, (struct sockaddr *)&ss, 0, NO_CAP);
	assert_int_equal(authdelay_fail(t, (struct sockaddr *)&ss, 0, 700),
	    700);
	assert_int_equal(authdelay_fail(t, (struct sockaddr *)&ss, 0, 0), 0);
	free(t);
}

/* Quiet time halves the count per period, down to a fresh start. */
static void
test_authdelay_fail_decays(void **state)
{
	struct authdelay	*t = calloc(1, sizeof(*t));
	int			 i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 6; i++)
		(void)fail_from(t, "192.0.2.1:1", 0);
	/* 6 halved once is 3, this failure the 4th: 250 ms. */
	assert_int_equal(fail_from(t, "192.0.2.1:1", AUTHDELAY_QUIET_MS),
	    250);
	/* Long quiet: forgotten. */
	assert_int_equal(fail_from(t, "192.0.2.1:1",
	    AUTHDELAY_QUIET_MS * 40), 0);
	/* Less than a period: nothing is forgiven. */
	for (i = 0; i < 3; i++)
		(void)fail_from(t, "192.0.2.9:1", 0);
	assert_int_equal(fail_from(t, "192.0.2.9:1",
	    AUTHDELAY_QUIET_MS - 1), 250);
	free(t);
}

/*
 * A full table: a crowd of sources failing once each evict each other,
 * not the source that has failed many times.
 */
static void
test_authdelay_fail_full_table_keeps_hot_source(void **state)
{
	struct authdelay	*t = calloc(1, sizeof(*t));
	char			 src[64];
	int			 i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 8; i++)
		(void)fail_from(t, "192.0.2.1:1", 0);
	for (i = 0; i < 3 * AUTHDELAY_SLOTS; i++) {
		snprintf(src, sizeof(src), "[2001:db8:%x::1]:1", i + 1);
		assert_int_equal(fail_from(t, src, 1 + i), 0);
	}
	assert_int_equal(fail_from(t, "192.0.2.1:1", 5000), 8000);
	free(t);
}

/* A source of another family is not counted (nor slowed). */
static void
test_authdelay_fail_other_family(void **state)
{
	struct sockaddr_un	 un;
	struct authdelay	*t = calloc(1, sizeof(*t));
	int			 i;

	(void)state;
	assert_non_null(t);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	for (i = 0; i < 10; i++)
		assert_int_equal(authdelay_fail(t, (struct sockaddr *)&un, 0,
		    NO_CAP), 0);
	for (i = 0; i < AUTHDELAY_SLOTS; i++)
		assert_int_equal(t->v[i].failures, 0);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authdelay_delay_table),
		cmocka_unit_test(test_authdelay_fail_grows_for_one_source_only),
		cmocka_unit_test(test_authdelay_fail_keys),
		cmocka_unit_test(test_authdelay_fail_capped),
		cmocka_unit_test(test_authdelay_fail_decays),
		cmocka_unit_test(
		    test_authdelay_fail_full_table_keeps_hot_source),
		cmocka_unit_test(test_authdelay_fail_other_family),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
