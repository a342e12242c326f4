/*
 * test_users.c - the users file and password checks (src/gateway/users.c).
 *
 * Error fixtures live in tests/fixtures/users/, one per error. Hashes for
 * the checks are made here with crypt_r, over sha512crypt ($6$) and, where
 * this libcrypt has it, yescrypt ($y$) settings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gatewayd.h"
#include "conf_errors_test.h"

static const char *
fixture(const char *name)
{
	static char	 path[4096];
	const char	*src = getenv("SOCKS64_SRC");

	snprintf(path, sizeof(path), "%s/tests/fixtures/users/%s",
	    src != NULL ? src : ".", name);
	return path;
}


/*
 * crypt_r(pass, setting) into out, or 0 if this libcrypt does not
 * support the method (the yescrypt tests then skip).
 */
static int
make_hash(const char *pass, const char *setting, char *out, size_t len)
{
	struct crypt_data	*cd = calloc(1, sizeof(*cd));
	const char		*h;
	int			 ok;

	assert_non_null(cd);
	h = crypt_r(pass, setting, cd);
	ok = h != NULL && h[0] != '*';
	if (ok)
		snprintf(out, len, "%s", h);
	free(cd);
	return ok;
}

static struct users *
parse_str(const char *text, struct conf_errors *e)
{
	conf_errors_init(e, "u");
	return users_parse(text, strlen(text), e);
}

/* ---------------------------------------------------------------- */

static void
test_users_load_good(void **state)
{
	struct conf_errors	 e;
	struct users		*u;
	const char		*path = fixture("good.users");

	(void)state;
	conf_errors_init(&e, "conf");
	u = users_load(path, &e);
	if (u == NULL)
		fail_msg("%s", e.text);
	assert_int_equal(e.count, 0);
	assert_int_equal(users_count(u), 2);
	assert_true(users_check(u, "alice", "alice-pw"));
	assert_false(users_check(u, "alice", "bob-pw"));
	assert_true(users_check(u, "bob", "bob-pw"));
	assert_false(users_check(u, "bob", "bob-pw "));
	assert_false(users_check(u, "carol", "alice-pw"));
	users_free(u);
}

static const struct bad_case {
	const char	*file;
	unsigned int	 line;
	const char	*reason;
} bad_cases[] = {
	{ "bad-missing-colon.users", 3, "expected name:HASH, missing ':'" },
	{ "bad-empty-name.users", 2, "empty user name" },
	{ "bad-plaintext.users", 4, "user 'dave': not a crypt(3) hash" },
	{ "bad-truncated.users", 2,
	    "user 'alice': crypt(3) hash of the wrong length" },
	{ "bad-no-hash-part.users", 2,
	    "user 'alice': crypt(3) hash without its hash part" },
	{ "bad-unknown-method.users", 2,
	    "user 'alice': hash method not supported by crypt(3)" },
	{ "bad-duplicate.users", 4, "duplicate user 'alice'" },
};

static void
test_users_load_each_error(void **state)
{
	struct conf_errors	 e;
	char			 path[4096];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(path, sizeof(path), "%s", fixture(bad_cases[i].file));
		conf_errors_init(&e, "conf");
		if (users_load(path, &e) != NULL)
			fail_msg("%s: loaded", bad_cases[i].file);
		if (e.count != 1)
			fail_msg("%s: %d errors:\n%s", bad_cases[i].file,
			    e.count, e.text);
		assert_error(&e, path, bad_cases[i].line, bad_cases[i].reason);
		assert_string_equal(e.file, "conf");	/* put back */
	}
}

static void
test_users_load_counts_every_error(void **state)
{
	struct conf_errors	 e;
	char			 path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s", fixture("bad-many.users"));
	conf_errors_init(&e, "conf");
	assert_null(users_load(path, &e));
	assert_int_equal(e.count, 3);
	assert_error(&e, path, 2, "missing ':'");
	assert_error(&e, path, 3, "empty user name");
	assert_error(&e, path, 5, "user 'carol': not a crypt(3) hash");
}

static void
test_users_load_missing_file(void **state)
{
	struct conf_errors	 e;
	char			 path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s", fixture("no-such.users"));
	conf_errors_init(&e, "conf");
	assert_null(users_load(path, &e));
	assert_int_equal(e.count, 1);
	assert_error(&e, path, 0, "cannot open: No such file or directory");
}

/* Lines that must be refused, and why, as strings. */
static void
test_users_parse_bad_lines(void **state)
{
	static const struct {
		const char	*text;
		const char	*reason;
	} t[] = {
		{ "alice", "missing ':'" },
		{ ":x", "empty user name" },
		{ "alice:", "not a crypt(3) hash" },
		{ "alice:secret", "not a crypt(3) hash" },
		{ "alice:$6", "not a crypt(3) hash" },
		{ "alice:$$abc$def", "not a crypt(3) hash" },
		{ "alice:$6$", "without its hash part" },
		{ "alice:$6$salt", "without its hash part" },
		{ "alice:$6$salt$", "without its hash part" },
		{ "alice:$6$sa lt$abc", "not a crypt(3) hash" },
		{ "alice:$6$salt$abc:extra", "not a crypt(3) hash" },
		{ "alice:$y$j9T$salt$tooshort", "of the wrong length" },
		{ "alice:$2b$10$tooshort", "truncated bcrypt hash" },
		{ "alice:!$6$salt$abc", "not a crypt(3) hash" },
		{ "alice:*", "not a crypt(3) hash" },
		{ "alice:abcdefghijkl", "not a crypt(3) hash" },  /* 12 */
		{ "alice:abcdefghijklmn", "not a crypt(3) hash" }, /* 14 */
		{ "alice:abcdefghijk!m", "not a crypt(3) hash" },
		{ "al\tice:abcdefghijklm", "control character in user name" },
		{ "\x01:abcdefghijklm", "control character in user name" },
	};
	struct conf_errors	e;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (parse_str(t[i].text, &e) != NULL)
			fail_msg("'%s' accepted", t[i].text);
		if (e.count != 1)
			fail_msg("'%s': %d errors:\n%s", t[i].text, e.count,
			    e.text);
		assert_error(&e, "u", 1, t[i].reason);
	}
}

static void
test_users_parse_name_limits(void **state)
{
	struct conf_errors	 e;
	struct users		*u;
	char			 text[600];

	(void)state;
	/* RFC 1929: 255 bytes is the longest name a client can send. */
	memset(text, 'n', 255);
	snprintf(text + 255, sizeof(text) - 255, ":abcdefghijklm\n");
	assert_non_null(u = parse_str(text, &e));
	users_free(u);
	memset(text, 'n', 256);
	snprintf(text + 256, sizeof(text) - 256, ":abcdefghijklm\n");
	assert_null(parse_str(text, &e));
	assert_error(&e, "u", 1, "user name longer than 255 bytes");
}

static void
test_users_parse_layout(void **state)
{
	static const char	 text[] =
	    "# comment\r\n"
	    "\r\n"
	    "   \t\n"
	    "  carol:abcdefghijklm  \r\n"	/* DES shape; blanks trimmed */
	    "#dave:nohash\n"
	    "erin:$1$zvME.hjn$znZEIIjDcHVPPLWWVcljm/";	/* no final \n */
	static const char	 nul[] = "a:abcdefghijklm\nb\0:x\n";
	struct conf_errors	 e;
	struct users		*u;

	(void)state;
	u = parse_str(text, &e);
	if (u == NULL)
		fail_msg("%s", e.text);
	assert_int_equal(users_count(u), 2);
	users_free(u);

	assert_non_null(u = parse_str("", &e));
	assert_int_equal(users_count(u), 0);
	assert_false(users_check(u, "anyone", ""));
	users_free(u);

	/* A NUL inside a line is refused, not silently cut there. */
	conf_errors_init(&e, "u");
	assert_null(users_parse(nul, sizeof(nul) - 1, &e));
	assert_error(&e, "u", 2, "NUL byte in line");
}

/* Builds "alice:H1\nbob:H2\n" from fresh hashes of one method. */
static void
check_method(const char *setting_alice, const char *setting_bob)
{
	struct conf_errors	 e;
	struct users		*u;
	char			 ha[CRYPT_OUTPUT_SIZE], hb[CRYPT_OUTPUT_SIZE];
	char			 text[2 * CRYPT_OUTPUT_SIZE + 32];

	if (!make_hash("open sesame", setting_alice, ha, sizeof(ha)) ||
	    !make_hash("", setting_bob, hb, sizeof(hb)))
		fail_msg("crypt_r refused %s", setting_alice);
	snprintf(text, sizeof(text), "alice:%s\nbob:%s\n", ha, hb);
	u = parse_str(text, &e);
	if (u == NULL)
		fail_msg("%s", e.text);
	assert_true(users_check(u, "alice", "open sesame"));
	assert_false(users_check(u, "alice", "open sesame!"));
	assert_false(users_check(u, "alice", "Open sesame"));
	assert_false(users_check(u, "alice", ""));
	assert_true(users_check(u, "bob", ""));	/* empty password hashed */
	assert_false(users_check(u, "bob", "open sesame"));
	/* unknown user, even with a password that some user has */
	assert_false(users_check(u, "mallory", "open sesame"));
	assert_false(users_check(u, "Alice", "open sesame"));
	assert_false(users_check(u, "", "open sesame"));
	assert_false(users_check(u, NULL, "open sesame"));
	assert_false(users_check(u, "alice", NULL));
	assert_false(users_check(NULL, "alice", "open sesame"));
	users_free(u);
}

static void
test_users_check_sha512crypt(void **state)
{
	(void)state;
	check_method("$6$saltsaltsalt$", "$6$rounds=1000$pepper$");
}

static void
test_users_check_yescrypt(void **state)
{
	char	probe[CRYPT_OUTPUT_SIZE];

	(void)state;
	if (!make_hash("x", "$y$j9T$abcdefghijklmnopqrstu.", probe,
	    sizeof(probe)))
		skip();
	check_method("$y$j9T$abcdefghijklmnopqrstu.", "$y$j9T$0123456789ABCDEF");
}

/*
 * users_check from several threads at once, each on a small stack: the
 * crypt area is on the heap and crypt_r shares no state, so every
 * answer must still be right (and ASan/TSan builds see no overflow).
 */
struct worker {
	const struct users	*u;
	int			 bad;
};

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	int		 i;

	for (i = 0; i < 4; i++) {
		if (!users_check(w->u, "alice", "alice-pw"))
			w->bad++;
		if (users_check(w->u, "alice", "wrong"))
			w->bad++;
		if (users_check(w->u, "nobody", "alice-pw"))
			w->bad++;
	}
	return NULL;
}

static void
test_users_check_threads_small_stack(void **state)
{
	struct conf_errors	 e;
	struct users		*u;
	struct worker		 w[4];
	pthread_t		 t[4];
	pthread_attr_t		 attr;
	size_t			 i;

	(void)state;
	conf_errors_init(&e, "conf");
	assert_non_null(u = users_load(fixture("good.users"), &e));
	assert_int_equal(pthread_attr_init(&attr), 0);
	/*
	 * Half a session thread's stack (SESSION_STACK, 128 KiB, in
	 * session_thread.c): users_check() must leave the rest to the session.
	 */
	assert_int_equal(pthread_attr_setstacksize(&attr, 64 * 1024), 0);
	for (i = 0; i < 4; i++) {
		w[i].u = u;
		w[i].bad = 0;
		assert_int_equal(pthread_create(&t[i], &attr, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
	}
	pthread_attr_destroy(&attr);
	users_free(u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_users_load_good),
		cmocka_unit_test(test_users_load_each_error),
		cmocka_unit_test(test_users_load_counts_every_error),
		cmocka_unit_test(test_users_load_missing_file),
		cmocka_unit_test(test_users_parse_bad_lines),
		cmocka_unit_test(test_users_parse_name_limits),
		cmocka_unit_test(test_users_parse_layout),
		cmocka_unit_test(test_users_check_sha512crypt),
		cmocka_unit_test(test_users_check_yescrypt),
		cmocka_unit_test(test_users_check_threads_small_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
