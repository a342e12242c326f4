/*
 * test_fuzz_regress.c - replays tests/fuzz/ under `make check`: every seed
 * in tests/fuzz/corpus/X/ and every kept crash in tests/fuzz/regress/X/
 * goes through fuzz_X_one(), the body of the libFuzzer target
 * tests/fuzz/fuzz_X.c, here built without libFuzzer.
 *
 * Each input runs in a child process under an alarm, so a crash, a
 * broken FUZZ_CHECK or a hang fails this test naming the file, and the
 * other inputs still run. Under SANITIZE=1 the child's sanitizers report
 * what the fuzzer would have, leaks included (the child exits normally).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../fuzz/fuzz.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A libFuzzer input is small; anything larger here is a mistake. */
#define INPUT_MAX	(1u << 20)
/* Seconds one input may take, sanitizers included, before it is a hang. */
#define INPUT_SECONDS	20
#define MAX_FILES	4096

struct target {
	const char	*name;		/* X of fuzz_X.c and the folders */
	int		(*one)(const uint8_t *, size_t);
};

/* Every tests/fuzz/fuzz_X.c; test_fuzz_targets_all_listed checks. */
static const struct target targets[] = {
	{ "addr",		fuzz_addr_one },
	{ "conflex",		fuzz_conflex_one },
	{ "gateway_conf",	fuzz_gateway_conf_one },
	{ "greeting",		fuzz_greeting_one },
	{ "method_choice",	fuzz_method_choice_one },
	{ "reply",		fuzz_reply_one },
	{ "request",		fuzz_request_one },
	{ "shim_conf",		fuzz_shim_conf_one },
	{ "shim_env",		fuzz_shim_env_one },
	{ "udp_header",		fuzz_udp_header_one },
	{ "userpass",		fuzz_userpass_one },
	{ "userpass_status",	fuzz_userpass_status_one },
	{ "users",		fuzz_users_one },
};

static const char *
src_dir(void)
{
	const char *src = getenv("SOCKS64_SRC");

	return src != NULL && *src != '\0' ? src : ".";
}

static const struct target *
target_named(const char *name)
{
	size_t i;

	for (i = 0; i < NELEM(targets); i++)
		if (strcmp(targets[i].name, name) == 0)
			return &targets[i];
	return NULL;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The names in dir, sorted, dot files left out, into a malloc'd array
 * (each name malloc'd); NULL with *n 0 if dir does not exist.
 */
static char **
list_dir(const char *dir, size_t *n)
{
	DIR *d;
	struct dirent *de;
	char **v;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			fail_msg("%s: %s", dir, strerror(errno));
		return NULL;
	}
	v = calloc(MAX_FILES, sizeof(*v));
	assert_non_null(v);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*n == MAX_FILES)
			fail_msg("%s: more than %d files", dir, MAX_FILES);
		v[*n] = strdup(de->d_name);
		assert_non_null(v[*n]);
		(*n)++;
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Reads path whole into a buffer of exactly its size (as libFuzzer). */
static uint8_t *
read_input(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		fail_msg("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > INPUT_MAX)
		fail_msg("%s: not a file of at most %u bytes", path,
		    INPUT_MAX);
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("%s: short read", path);
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return buf;
}

/*
 * Runs one input in a child. Returns 0 if it passed, else -1 after
 * printing why, so that the caller goes on with the others.
 */
static int
replay_one(const struct target *t, const char *path)
{
	uint8_t *data;
	size_t len;
	pid_t pid;
	int status;

	data = read_input(path, &len);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		alarm(INPUT_SECONDS);
		t->one(data, len);
		free(data);
		/* exit, not _exit: LeakSanitizer runs at exit. */
		exit(0);
	}
	free(data);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFSIGNALED(status))
		print_error("%s: killed by signal %d%s\n", path,
		    WTERMSIG(status), WTERMSIG(status) == SIGALRM ?
		    " (a hang)" : "");
	else
		print_error("%s: exit status %d\n", path,
		    WEXITSTATUS(status));
	return -1;
}

/* Replays every file of tests/fuzz/KIND/NAME/; returns how many failed. */
static int
replay_dir(const struct target *t, const char *kind, size_t *count)
{
	char dir[4096], path[8192];
	char **names;
	size_t n, i;
	int failed = 0;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s", src_dir(), kind,
	    t->name);
	names = list_dir(dir, &n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (replay_one(t, path) == -1)
			failed++;
	}
	free_list(names, n);
	*count = n;
	return failed;
}

/* One cmocka test per target: its seeds, then its regression inputs. */
static void
test_fuzz_replay(void **state)
{
	const struct target *t = *state;
	size_t seeds, regress;
	int failed;

	failed = replay_dir(t, "corpus", &seeds);
	failed += replay_dir(t, "regress", &regress);
	if (seeds == 0)
		fail_msg("tests/fuzz/corpus/%s/: no seeds", t->name);
	if (failed > 0)
		fail_msg("%s: %d of %zu inputs failed", t->name, failed,
		    seeds + regress);
}

/*
 * Every fuzz_X.c has a row in targets[], and every folder under corpus/
 * and regress/ names one: an input filed under a typo would otherwise
 * never be replayed.
 */
static void
test_fuzz_targets_all_listed(void **state)
{
	static const char *const kinds[] = { "corpus", "regress" };
	char dir[4096], name[256];
	char **v;
	size_t n, i, k, len;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz", src_dir());
	v = list_dir(dir, &n);
	assert_non_null(v);
	for (i = 0; i < n; i++) {
		len = strlen(v[i]);
		if (strncmp(v[i], "fuzz_", 5) != 0 || len < 8 ||
		    strcmp(v[i] + len - 2, ".c") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 7), v[i] + 5);
		if (target_named(name) == NULL)
			fail_msg("tests/fuzz/%s has no row in targets[]",
			    v[i]);
	}
	free_list(v, n);
	for (k = 0; k < NELEM(kinds); k++) {
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", src_dir(),
		    kinds[k]);
		v = list_dir(dir, &n);
		for (i = 0; i < n; i++)
			if (target_named(v[i]) == NULL)
				fail_msg("tests/fuzz/%s/%s: no such target",
				    kinds[k], v[i]);
		free_list(v, n);
	}
}

int
main(void)
{
	static char names[NELEM(targets)][64];
	struct CMUnitTest tests[NELEM(targets) + 1];
	size_t i;

	tests[0] = (struct CMUnitTest)cmocka_unit_test(
	    test_fuzz_targets_all_listed);
	for (i = 0; i < NELEM(targets); i++) {
		snprintf(names[i], sizeof(names[i]), "test_fuzz_replay_%s",
		    targets[i].name);
		tests[i + 1] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_fuzz_replay,
			.initial_state = (void *)&targets[i],
		};
	}
	return cmocka_run_group_tests_name("fuzz_regress", tests, NULL, NULL);
}
