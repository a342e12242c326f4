/*
 * it_cli.c - gatewayd's command line: -V, -h, bad options (exit 2), -t
 * -s for socket activation, and
 * -t on the repository's sample config and on every fixture in
 * tests/fixtures/it: good-*.conf must pass (exit 0), bad-*.conf must fail
 * (exit 1) naming each "FILE:LINE:" its "# expect-lines:" header lists.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define RUN_MS	10000

static char	outp[PATH_MAX], errp[PATH_MAX];

/* Runs gatewayd with args (NULL-ended); stdout/stderr in outp/errp. */
static int
gw_run(const char *first, ...)
{
	char	 bin[PATH_MAX], *argv[16];
	va_list	 ap;
	int	 n = 0;

	h_tmp(outp, sizeof(outp), "cli.out");
	h_tmp(errp, sizeof(errp), "cli.err");
	unlink(outp);
	unlink(errp);
	argv[n++] = h_bin(bin, sizeof(bin), "gatewayd");
	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 15 && first != NULL &&
	    (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return h_run(argv, outp, errp, RUN_MS);
}

/* Both outputs of the last run, NUL-terminated; caller frees. */
static char *
outputs(void)
{
	char	*o = h_read_file(outp, NULL), *e = h_read_file(errp, NULL);
	char	*all = NULL;

	if (asprintf(&all, "%s%s", o ? o : "", e ? e : "") == -1)
		all = NULL;
	free(o);
	free(e);
	return all;
}

static void
show(void)
{
	h_log_dump(outp);
	h_log_dump(errp);
}

static void
test_version_prints_name_and_version(void **state)
{
	char	*out;

	(void)state;
	assert_int_equal(gw_run("-V", NULL), 0);
	out = h_read_file(outp, NULL);
	assert_non_null(out);
	assert_non_null(strstr(out, "gatewayd 0.1.0"));
	free(out);
}

static void
test_help_exits_zero_with_usage(void **state)
{
	char	*all;

	(void)state;
	assert_int_equal(gw_run("-h", NULL), 0);
	all = outputs();
	assert_non_null(all);
	assert_non_null(strcasestr(all, "usage"));
	free(all);
}

static void
test_unknown_option_exits_two(void **state)
{
	char	*err;

	(void)state;
	assert_int_equal(gw_run("-Z", NULL), 2);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strcasestr(err, "usage"));
	free(err);
}

static void
test_missing_argument_exits_two(void **state)
{
	(void)state;
	assert_int_equal(gw_run("-t", "-c", NULL), 2);
	assert_int_equal(gw_run("-f", "-l", NULL), 2);
	assert_int_equal(gw_run("-f", "-a", NULL), 2);
}

static void
test_check_missing_file_fails(void **state)
{
	char	*err;

	(void)state;
	assert_int_equal(gw_run("-t", "-c", "/nonexistent/gatewayd.conf",
	    NULL), 1);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "/nonexistent/gatewayd.conf"));
	free(err);
}

/* The README checks the shipped router example as it is: so do we. */
static void
test_check_repo_sample_config(void **state)
{
	char	path[PATH_MAX], *err;
	int	rc;

	(void)state;
	h_srcpath(path, sizeof(path), "conf/gatewayd.conf");
	assert_int_equal(access(path, R_OK), 0);
	rc = gw_run("-t", "-c", path, NULL);
	if (rc != 0)
		show();
	assert_int_equal(rc, 0);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "configuration OK"));
	free(err);
}

/* A users file that is not there is named at its users-file line. */
static void
test_check_missing_users_file_names_line(void **state)
{
	char	path[PATH_MAX], *err;

	(void)state;
	h_tmp(path, sizeof(path), "no-users.conf");
	assert_int_equal(h_write_file(path, "listen 127.0.0.1:1080\n"
	    "client pass from any\nauth password\n"
	    "users-file does-not-exist\npass to any\n"), 0);
	assert_int_equal(gw_run("-t", "-c", path, NULL), 1);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "no-users.conf:4: users-file "));
	assert_non_null(strstr(err, "does-not-exist: cannot open"));
	free(err);
}

/* The value of a "# KEY: value" header line of a fixture, or NULL. */
static char *
header(const char *text, const char *key, char *buf, size_t len)
{
	const char	*p = strstr(text, key), *nl;

	if (p == NULL)
		return NULL;
	p += strlen(key);
	nl = strchr(p, '\n');
	snprintf(buf, len, "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
	return buf;
}

/* Checks one fixture; returns the number of failed expectations. */
static int
check_fixture(const char *dir, const char *name, int good)
{
	char	 path[PATH_MAX], want[256], needle[PATH_MAX + 32], *text, *err;
	char	*tok, *save = NULL;
	int	 rc, bad = 0;

	h_path(path, sizeof(path), dir, name);
	text = h_read_file(path, NULL);
	if (text == NULL)
		return 1;
	rc = gw_run("-t", "-c", path, NULL);
	err = h_read_file(errp, NULL);
	if (err == NULL)
		err = strdup("");
	if (rc != (good ? 0 : 1)) {
		printf("# %s: exit %d, want %d\n", name, rc, good ? 0 : 1);
		bad++;
	}
	if (header(text, "# expect-text: ", want, sizeof(want)) != NULL &&
	    strstr(err, want) == NULL) {
		printf("# %s: stderr lacks \"%s\"\n", name, want);
		bad++;
	}
	if (header(text, "# expect-lines:", want, sizeof(want)) != NULL) {
		/* Every listed line as "FILE:LINE:" of the path we gave. */
		for (tok = strtok_r(want, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			snprintf(needle, sizeof(needle), "%s:%s:", path, tok);
			if (strstr(err, needle) == NULL) {
				printf("# %s: stderr lacks \"%s\"\n", name,
				    needle);
				bad++;
			}
		}
		snprintf(needle, sizeof(needle), "%s:", path);
		if (strstr(err, needle) == NULL) {
			printf("# %s: stderr names no \"%s\"\n", name, needle);
			bad++;
		}
	}
	if (bad > 0)
		printf("# ---- stderr of gatewayd -t -c %s:\n%s# ----\n", path,
		    err);
	free(err);
	free(text);
	return bad;
}

static void
check_fixtures(int good)
{
	char		 dir[PATH_MAX];
	struct dirent	**list;
	const char	*prefix = good ? "good-" : "bad-";
	int		 n, seen = 0, failed = 0;

	h_srcpath(dir, sizeof(dir), "tests/fixtures/it");
	n = scandir(dir, &list, NULL, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		size_t len = strlen(name);
		if (strncmp(name, prefix, strlen(prefix)) == 0 && len > 5 &&
		    strcmp(name + len - 5, ".conf") == 0) {
			seen++;
			failed += check_fixture(dir, name, good) > 0;
		}
		free(list[i]);
	}
	free(list);
	assert_true(seen > 0);
	assert_int_equal(failed, 0);
}

static void
test_check_good_fixtures_pass(void **state)
{
	(void)state;
	check_fixtures(1);
}

static void
test_check_bad_fixtures_fail_with_file_line(void **state)
{
	(void)state;
	check_fixtures(0);
}

/* A users file made at test time: "auth password" then checks OK. */
static void
test_check_password_config_with_users_file(void **state)
{
	char	users[PATH_MAX], conf[PATH_MAX], hash[256];
	int	rc;

	(void)state;
	h_tmp(users, sizeof(users), "cli-users");
	h_tmp(conf, sizeof(conf), "cli-password.conf");
	assert_int_equal(h_crypt("secret", "$6$", hash, sizeof(hash)), 0);
	assert_int_equal(h_write_file(users, "# made by it_cli\nalice:%s\n",
	    hash), 0);
	assert_int_equal(h_write_file(conf, "listen 127.0.0.1:1080\n"
	    "client pass from 127.0.0.0/8\n"
	    "auth password\nusers-file %s\npass to any\n", users), 0);
	rc = gw_run("-t", "-c", conf, NULL);
	if (rc != 0)
		show();
	assert_int_equal(rc, 0);
}

/* -l supplies what a file without "listen" lacks. */
static void
test_check_listen_from_command_line(void **state)
{
	char	path[PATH_MAX];
	int	rc;

	(void)state;
	h_srcpath(path, sizeof(path), "tests/fixtures/it/bad-nolisten.conf");
	rc = gw_run("-t", "-c", path, "-l", "127.0.0.1:1080", NULL);
	if (rc != 0)
		show();
	assert_int_equal(rc, 0);
}

/*
 * -s tells -t that systemd supplies the sockets: a file without
 * "listen" passes then, and only then; other errors still fail; -s
 * without -t is a usage error (the daemon reads LISTEN_FDS itself).
 */
static void
test_check_systemd_sockets_needs_no_listen(void **state)
{
	char	path[PATH_MAX], bad[PATH_MAX], *err;
	int	rc;

	(void)state;
	h_srcpath(path, sizeof(path), "tests/fixtures/it/bad-nolisten.conf");
	assert_int_equal(gw_run("-t", "-c", path, NULL), 1);
	rc = gw_run("-t", "-s", "-c", path, NULL);
	if (rc != 0)
		show();
	assert_int_equal(rc, 0);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "configuration OK"));
	free(err);
	/* Not a way around the other checks. */
	h_tmp(bad, sizeof(bad), "cli-nolisten-bad.conf");
	assert_int_equal(h_write_file(bad, "client pass from any\n"
	    "pass to any\nmax-clients-per-source -3\n"), 0);
	assert_int_equal(gw_run("-t", "-s", "-c", bad, NULL), 1);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err, "cli-nolisten-bad.conf:3: expected a "
	    "number from 0 to 1048576 after 'max-clients-per-source'"));
	assert_null(strstr(err, "no listen address"));
	free(err);
	assert_int_equal(gw_run("-s", "-f", "-c", path, NULL), 2);
	err = h_read_file(errp, NULL);
	assert_non_null(err);
	assert_non_null(strcasestr(err, "usage"));
	free(err);
}

/* Each value of "family" on its own (a repeated directive may be an error). */
static void
test_check_every_family_value(void **state)
{
	static const char *const fam[] = { "happy-eyeballs", "ipv6-first",
	    "ipv4-first", "ipv6-only", "ipv4-only" };
	char	conf[PATH_MAX];
	int	rc;

	(void)state;
	h_tmp(conf, sizeof(conf), "cli-family.conf");
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		assert_int_equal(h_write_file(conf, "family %s\n"
		    "listen 127.0.0.1:1080\n"
		    "client pass from any\npass to any\n", fam[i]), 0);
		rc = gw_run("-t", "-c", conf, NULL);
		if (rc != 0) {
			printf("# family %s\n", fam[i]);
			show();
		}
		assert_int_equal(rc, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_prints_name_and_version),
		cmocka_unit_test(test_help_exits_zero_with_usage),
		cmocka_unit_test(test_unknown_option_exits_two),
		cmocka_unit_test(test_missing_argument_exits_two),
		cmocka_unit_test(test_check_missing_file_fails),
		cmocka_unit_test(test_check_repo_sample_config),
		cmocka_unit_test(test_check_missing_users_file_names_line),
		cmocka_unit_test(test_check_good_fixtures_pass),
		cmocka_unit_test(test_check_bad_fixtures_fail_with_file_line),
		cmocka_unit_test(test_check_password_config_with_users_file),
		cmocka_unit_test(test_check_listen_from_command_line),
		cmocka_unit_test(test_check_systemd_sockets_needs_no_listen),
		cmocka_unit_test(test_check_every_family_value),
	};

	h_init();
	return cmocka_run_group_tests_name("it_cli", tests, NULL, NULL);
}
