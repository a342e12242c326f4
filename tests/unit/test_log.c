/*
 * test_log.c - log.c: line format, levels and targets, errno kept, one
 * write per line under concurrency, fatal exits, log_safe escaping.
 *
 * stderr is captured by putting a pipe's write end on fd 2 around the
 * calls under test; it is put back before any assertion, so cmocka's own
 * messages are never swallowed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define LINE_MAX_LEN	2048		/* log.c's LOG_LINE_MAX */

static int	saved_stderr = -1;
static int	cap[2] = { -1, -1 };

static void
capture_start(void)
{
	assert_int_equal(pipe(cap), 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(cap[1], STDERR_FILENO), STDERR_FILENO);
}

/* Puts stderr back and returns what was written, NUL-terminated. */
static size_t
capture_end(char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(cap[1]);
	/* Every writer is done, so this ends at EOF. */
	while (used < len - 1 &&
	    (n = read(cap[0], buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
	close(cap[0]);
	return used;
}

/*
 * Checks "YYYY-MM-DDTHH:MM:SS.mmmZ prog[pid]: " at line, within a few
 * seconds of now, and returns the message after it.
 */
static const char *
check_prefix(const char *line, const char *prog)
{
	char want[128];
	struct tm tm;
	time_t t, now = time(NULL);
	int ms, n = 0;
	size_t i;

	/* Fixed shape first: digits where digits go. */
	for (i = 0; i < 24; i++) {
		char c = line[i];

		switch (i) {
		case 4: case 7:
			assert_int_equal(c, '-');
			break;
		case 10:
			assert_int_equal(c, 'T');
			break;
		case 13: case 16:
			assert_int_equal(c, ':');
			break;
		case 19:
			assert_int_equal(c, '.');
			break;
		case 23:
			assert_int_equal(c, 'Z');
			break;
		default:
			assert_true(c >= '0' && c <= '9');
		}
	}
	memset(&tm, 0, sizeof(tm));
	assert_int_equal(sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &ms, &n), 7);
	assert_int_equal(n, 24);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	assert_true(t >= now - 5 && t <= now + 1);
	snprintf(want, sizeof(want), " %s[%ld]: ", prog, (long)getpid());
	assert_memory_equal(line + 24, want, strlen(want));
	return line + 24 + strlen(want);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static int
setup(void **state)
{
	(void)state;
	log_init("testd", LOG_TARGET_STDERR, LOG_LEVEL_DEBUG);
	return 0;
}

static void
test_log_info_line_format(void **state)
{
	char out[4096];
	const char *msg;

	(void)state;
	capture_start();
	log_info("hello %s %d", "world", 42);
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out), 1);
	msg = check_prefix(out, "testd");
	assert_string_equal(msg, "hello world 42\n");
}

static void
test_log_warn_appends_strerror(void **state)
{
	char out[4096], want[256];
	const char *msg;

	(void)state;
	snprintf(want, sizeof(want), "open /x: %s\n", strerror(ENOENT));
	capture_start();
	errno = ENOENT;
	log_warn("open %s", "/x");
	assert_int_equal(errno, ENOENT);
	capture_end(out, sizeof(out));
	msg = check_prefix(out, "testd");
	assert_string_equal(msg, want);
}

static void
test_log_warnx_no_strerror(void **state)
{
	char out[4096];

	(void)state;
	capture_start();
	errno = ENOENT;
	log_warnx("plain");
	capture_end(out, sizeof(out));
	assert_string_equal(check_prefix(out, "testd"), "plain\n");
}

/* One line per call, whatever the level function. */
static void
test_log_msg_each_function(void **state)
{
	char out[4096];
	const char *p;

	(void)state;
	capture_start();
	errno = EPERM;
	log_error("e");
	log_warn("w");
	log_warnx("x");
	log_info("i");
	log_debug("d");
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out), 5);
	p = out;
	assert_memory_equal(check_prefix(p, "testd"), "e\n", 2);
	p = strchr(p, '\n') + 1;
	assert_memory_equal(check_prefix(p, "testd"), "w: ", 3);
	p = strchr(p, '\n') + 1;
	assert_memory_equal(check_prefix(p, "testd"), "x\n", 2);
	p = strchr(p, '\n') + 1;
	assert_memory_equal(check_prefix(p, "testd"), "i\n", 2);
	p = strchr(p, '\n') + 1;
	assert_memory_equal(check_prefix(p, "testd"), "d\n", 2);
}

static void
test_log_msg_keeps_errno(void **state)
{
	static const int errs[] = { 0, EINTR, ENOENT, EBADF, EAGAIN, 4095 };
	char out[8192];
	size_t i;

	(void)state;
	capture_start();
	for (i = 0; i < NELEM(errs); i++) {
		errno = errs[i];
		log_warn("w");
		assert_int_equal(errno, errs[i]);
		log_warnx("x");
		assert_int_equal(errno, errs[i]);
		log_error("e");
		assert_int_equal(errno, errs[i]);
		log_info("i");
		assert_int_equal(errno, errs[i]);
		log_debug("d");
		assert_int_equal(errno, errs[i]);
		log_set_level(LOG_LEVEL_ERROR);
		log_debug("filtered");
		assert_int_equal(errno, errs[i]);
		log_init("testd", LOG_TARGET_STDERR, LOG_LEVEL_DEBUG);
		assert_int_equal(errno, errs[i]);
	}
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out), 5 * NELEM(errs));
}

/* Even when the write itself fails (EBADF), errno is the caller's. */
static void
test_log_msg_keeps_errno_on_failed_write(void **state)
{
	int saved = dup(STDERR_FILENO);

	(void)state;
	assert_true(saved >= 0);
	close(STDERR_FILENO);
	errno = ENOENT;
	log_info("nowhere");
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(errno, ENOENT);
}

static void
test_log_warn_unknown_errno(void **state)
{
	char out[4096];
	const char *msg;

	(void)state;
	capture_start();
	errno = 4095;
	log_warn("odd");
	capture_end(out, sizeof(out));
	msg = check_prefix(out, "testd");
	assert_memory_equal(msg, "odd: ", 5);
	assert_true(strlen(msg) > 6);
	assert_int_equal(count_lines(out), 1);
}

static void
test_log_set_level_filters(void **state)
{
	char out[4096];

	(void)state;
	log_set_level(LOG_LEVEL_WARN);
	assert_int_equal(log_get_level(), LOG_LEVEL_WARN);
	assert_true(log_enabled(LOG_LEVEL_ERROR));
	assert_true(log_enabled(LOG_LEVEL_WARN));
	assert_false(log_enabled(LOG_LEVEL_INFO));
	assert_false(log_enabled(LOG_LEVEL_DEBUG));
	capture_start();
	log_debug("no");
	log_info("no");
	log_warnx("yes1");
	log_error("yes2");
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out), 2);
	assert_non_null(strstr(out, "yes1\n"));
	assert_non_null(strstr(out, "yes2\n"));
	assert_null(strstr(out, "no\n"));
}

static void
test_log_set_level_clamps(void **state)
{
	(void)state;
	log_set_level((enum log_level)99);
	assert_int_equal(log_get_level(), LOG_LEVEL_DEBUG);
	log_set_level((enum log_level)-3);
	assert_int_equal(log_get_level(), LOG_LEVEL_ERROR);
}

static void
test_log_init_target_none(void **state)
{
	char out[4096];

	(void)state;
	log_init("testd", LOG_TARGET_NONE, LOG_LEVEL_DEBUG);
	assert_false(log_enabled(LOG_LEVEL_ERROR));
	capture_start();
	log_error("hidden");
	log_warn("hidden");
	capture_end(out, sizeof(out));
	assert_string_equal(out, "");
}

/* The syslog target never writes to stderr (and must not crash when
 * there is no syslog daemon). */
static void
test_log_init_target_syslog(void **state)
{
	char out[4096];

	(void)state;
	capture_start();
	log_init("testd", LOG_TARGET_SYSLOG, LOG_LEVEL_DEBUG);
	assert_true(log_enabled(LOG_LEVEL_DEBUG));
	errno = EACCES;
	log_debug("to syslog %d", 1);
	log_warn("to syslog");
	assert_int_equal(errno, EACCES);
	log_init("testd", LOG_TARGET_STDERR, LOG_LEVEL_DEBUG);
	log_info("back");
	capture_end(out, sizeof(out));
	assert_int_equal(count_lines(out), 1);
	assert_string_equal(check_prefix(out, "testd"), "back\n");
}

static void
test_log_init_renames(void **state)
{
	char out[4096];

	(void)state;
	capture_start();
	log_init(NULL, LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	log_info("a");
	log_init("other", LOG_TARGET_STDERR, LOG_LEVEL_INFO);
	log_info("b");
	capture_end(out, sizeof(out));
	assert_memory_equal(check_prefix(out, "socks64"), "a\n", 2);
	assert_string_equal(check_prefix(strchr(out, '\n') + 1, "other"),
	    "b\n");
}

/* An overlong line is cut to the limit, ends in "...", still one line. */
static void
test_log_info_truncates_long_line(void **state)
{
	char out[8192], *big;
	size_t n;

	(void)state;
	big = test_malloc(5000);
	memset(big, 'y', 4999);
	big[4999] = '\0';
	capture_start();
	log_info("%s", big);
	errno = ENOENT;
	log_warn("%s", big);
	n = capture_end(out, sizeof(out));
	test_free(big);
	assert_int_equal(n, 2 * LINE_MAX_LEN);
	assert_int_equal(count_lines(out), 2);
	assert_memory_equal(out + LINE_MAX_LEN - 5, "y...\n", 5);
	assert_memory_equal(out + 2 * LINE_MAX_LEN - 5, "y...\n", 5);
}

/* A message that just fits keeps its last byte; one more is cut. */
static void
test_log_info_exact_fit(void **state)
{
	char out[8192], big[LINE_MAX_LEN];
	size_t prefix, n;

	(void)state;
	capture_start();
	log_info("x");
	n = capture_end(out, sizeof(out));
	prefix = n - 2;
	memset(big, 'z', sizeof(big));
	big[LINE_MAX_LEN - prefix - 1] = '\0';
	capture_start();
	log_info("%s", big);
	n = capture_end(out, sizeof(out));
	assert_int_equal(n, LINE_MAX_LEN);
	assert_memory_equal(out + n - 3, "zz\n", 3);
	big[LINE_MAX_LEN - prefix - 1] = 'z';
	big[LINE_MAX_LEN - prefix] = '\0';
	capture_start();
	log_info("%s", big);
	n = capture_end(out, sizeof(out));
	assert_int_equal(n, LINE_MAX_LEN);
	assert_memory_equal(out + n - 5, "z...\n", 5);
}

/* Lines from many threads arrive whole: one write(2) each. */
#define THREADS		8
#define PER_THREAD	200

static void *
writer(void *arg)
{
	char body[1500];
	int i, id = (int)(intptr_t)arg;

	/* Long lines, so a split write would show. */
	memset(body, 'a' + id, sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	for (i = 0; i < PER_THREAD; i++)
		log_info("t%d n%d %s end", id, i, body);
	return NULL;
}

static void
test_log_info_threads_never_interleave(void **state)
{
	pthread_t th[THREADS];
	size_t cap_len = (size_t)THREADS * PER_THREAD * 1700, used = 0;
	char *out, *line, *next;
	int seen[THREADS] = { 0 };
	struct pollfd pfd;
	ssize_t n;
	size_t k, lines = 0;
	int i, id, num, polls;

	(void)state;
	out = test_malloc(cap_len);
	capture_start();
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer,
		    (void *)(intptr_t)i), 0);
	/* Drain while they write: the pipe holds far less than this. */
	pfd.fd = cap[0];
	pfd.events = POLLIN;
	for (polls = 0; polls < 100000 && lines < THREADS * PER_THREAD;
	    polls++) {
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		n = read(cap[0], out + used, cap_len - 1 - used);
		if (n <= 0)
			break;
		for (k = 0; k < (size_t)n; k++)
			if (out[used + k] == '\n')
				lines++;
		used += (size_t)n;
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	out[used] = '\0';
	capture_end(out + used, cap_len - used);
	assert_int_equal(count_lines(out), THREADS * PER_THREAD);
	for (line = out; *line != '\0'; line = next + 1) {
		const char *msg = check_prefix(line, "testd");

		next = strchr(line, '\n');
		assert_non_null(next);
		assert_int_equal(sscanf(msg, "t%d n%d ", &id, &num), 2);
		assert_true(id >= 0 && id < THREADS);
		assert_int_equal(num, seen[id]);
		seen[id]++;
		msg = strchr(msg, ' ');
		msg = strchr(msg + 1, ' ') + 1;
		for (k = 0; k < 1499; k++)
			assert_int_equal(msg[k], 'a' + id);
		assert_memory_equal(msg + 1499, " end\n", 5);
	}
	for (i = 0; i < THREADS; i++)
		assert_int_equal(seen[i], PER_THREAD);
	test_free(out);
}

/* Runs f in a child with stderr on a pipe; returns its wait status. */
static int
run_child(void (*f)(void), char *out, size_t len)
{
	pid_t pid;
	int status = -1;

	capture_start();
	pid = fork();
	if (pid == 0) {
		f();
		_exit(99);
	}
	capture_end(out, len);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
child_fatal(void)
{
	errno = ENOENT;
	fatal("cannot %s", "go on");
}

static void
child_fatalx(void)
{
	errno = ENOENT;
	fatalx("bad config");
}

static void
test_fatal_exits_1(void **state)
{
	char out[4096], want[256];
	int status;

	(void)state;
	status = run_child(child_fatal, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	snprintf(want, sizeof(want), "cannot go on: %s\n", strerror(ENOENT));
	/* The child's pid is in the line, so look past it. */
	assert_non_null(strstr(out, "]: "));
	assert_string_equal(strstr(out, "]: ") + 3, want);
}

static void
test_fatalx_exits_1(void **state)
{
	char out[4096];
	int status;

	(void)state;
	status = run_child(child_fatalx, out, sizeof(out));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_int_equal(count_lines(out), 1);
	assert_non_null(strstr(out, "]: bad config\n"));
}

/*
 * The pid in the line is cached (log.c); a fork must not carry the
 * parent's into the child. Each child logs its own getpid() in the
 * message, to be held against the one in the prefix.
 */
static void
child_logs_pid(void)
{
	log_info("pid=%ld", (long)getpid());
	_exit(0);
}

/* As the daemon forks: daemon(3) (stdio kept), then a line. */
static void
child_daemon_logs_pid(void)
{
	if (daemon(1, 1) == -1)
		_exit(2);
	log_info("pid=%ld", (long)getpid());
	_exit(0);
}

/* Every "prog[P]: pid=Q" line in out has P == Q; returns their count. */
static size_t
lines_with_own_pid(const char *out)
{
	const char	*p = out;
	long		 pre, msg;
	size_t		 n = 0;

	while ((p = strchr(p, '[')) != NULL) {
		assert_int_equal(sscanf(p, "[%ld]: pid=%ld", &pre, &msg), 2);
		assert_int_equal(pre, msg);
		n++;
		p++;
	}
	return n;
}

static void
test_log_pid_fresh_after_fork(void **state)
{
	char	out[4096];
	int	status;

	(void)state;
	/* The parent's pid is cached first. */
	capture_start();
	log_info("pid=%ld", (long)getpid());
	capture_end(out, sizeof(out));
	assert_int_equal(lines_with_own_pid(out), 1);

	status = run_child(child_logs_pid, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lines_with_own_pid(out), 1);

	/* daemon() forks once more: the line is the grandchild's. */
	status = run_child(child_daemon_logs_pid, out, sizeof(out));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(lines_with_own_pid(out), 1);
}

static const struct level_case {
	const char	*in;
	int		 level;
} level_cases[] = {
	{ "error", LOG_LEVEL_ERROR },
	{ "warn", LOG_LEVEL_WARN },
	{ "info", LOG_LEVEL_INFO },
	{ "debug", LOG_LEVEL_DEBUG },
	{ "", -1 },
	{ "warning", -1 },
	{ "DEBUG", -1 },
	{ "info ", -1 },
	{ "err", -1 },
	{ "2", -1 },
};

static void
test_log_level_parse_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(level_cases); i++)
		if (log_level_parse(level_cases[i].in) != level_cases[i].level)
			fail_msg("\"%s\": want %d", level_cases[i].in,
			    level_cases[i].level);
	assert_int_equal(log_level_parse(NULL), -1);
}

static const struct safe_case {
	const char	*in;
	size_t		 len;		/* of the output buffer */
	const char	*out;
} safe_cases[] = {
	{ "alice", 64, "alice" },
	{ "", 64, "" },
	{ "example.org", 64, "example.org" },
	{ "a b", 64, "a\\x20b" },
	{ "a\nb", 64, "a\\x0ab" },
	{ "x\r\n", 64, "x\\x0d\\x0a" },
	{ "\033[31m", 64, "\\x1b[31m" },
	{ "back\\slash", 64, "back\\x5cslash" },
	{ "\x7f\x80\xff", 64, "\\x7f\\x80\\xff" },
	{ "caf\xc3\xa9", 64, "caf\\xc3\\xa9" },
	{ "user=x rep=0", 64, "user=x\\x20rep=0" },
	{ "~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}", 64,
	    "~!\"#$%&'()*+,-./:;<=>?@[]^_`{|}" },
	/* Exact fit, then cut with "..." at a whole escape. */
	{ "abcd", 5, "abcd" },
	{ "abcde", 5, "a..." },
	{ "abcdefgh", 8, "abcd..." },
	{ "a\nb", 8, "a\\x0ab" },
	{ "a\nbc", 8, "a\\x0abc" },
	{ "a\nbcd", 8, "a..." },
	{ "\n\n", 9, "\\x0a\\x0a" },
	{ "\n\n\n", 9, "\\x0a..." },
	{ "abc", 4, "abc" },
	{ "abcd", 4, "..." },
	{ "abcd", 3, "" },
	{ "a", 2, "a" },
	{ "ab", 2, "" },
	{ "ab", 1, "" },
};

static void
test_log_safe_table(void **state)
{
	char out[80];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(safe_cases); i++) {
		const struct safe_case *t = &safe_cases[i];

		memset(out, '#', sizeof(out));
		assert_ptr_equal(log_safe(t->in, out, t->len), out);
		if (strcmp(out, t->out) != 0)
			fail_msg("\"%s\" in %zu: got \"%s\", want \"%s\"",
			    t->in, t->len, out, t->out);
		/* Nothing past the buffer it was given. */
		assert_int_equal(out[t->len], '#');
	}
}

static void
test_log_safe_null_and_empty_buffer(void **state)
{
	char out[16];

	(void)state;
	assert_string_equal(log_safe(NULL, out, sizeof(out)), "(null)");
	out[0] = '#';
	log_safe("abc", out, 0);
	assert_int_equal(out[0], '#');
}

static void
test_log_safe_mem_nul_bytes(void **state)
{
	static const char in[] = { 'a', '\0', 'b', '\0' };
	char out[LOG_SAFE_SIZE(sizeof(in))];

	(void)state;
	assert_string_equal(log_safe_mem(in, sizeof(in), out, sizeof(out)),
	    "a\\x00b\\x00");
	assert_string_equal(log_safe_mem(in, 0, out, sizeof(out)), "");
}

/* LOG_SAFE_SIZE(n) is enough for any n bytes: never cut. */
static void
test_log_safe_size_enough(void **state)
{
	unsigned char in[256];
	char out[LOG_SAFE_SIZE(sizeof(in))];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	log_safe_mem(in, sizeof(in), out, sizeof(out));
	/* 93 bytes are kept (0x21-0x7e but '\\'), 163 escaped. */
	assert_int_equal(strlen(out), 93 + 163 * 4);
	assert_memory_equal(out, "\\x00\\x01", 8);
	assert_string_equal(out + strlen(out) - 8, "\\xfe\\xff");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_log_info_line_format, setup),
		cmocka_unit_test_setup(test_log_warn_appends_strerror, setup),
		cmocka_unit_test_setup(test_log_warnx_no_strerror, setup),
		cmocka_unit_test_setup(test_log_msg_each_function, setup),
		cmocka_unit_test_setup(test_log_msg_keeps_errno, setup),
		cmocka_unit_test_setup(test_log_msg_keeps_errno_on_failed_write,
		    setup),
		cmocka_unit_test_setup(test_log_warn_unknown_errno, setup),
		cmocka_unit_test_setup(test_log_set_level_filters, setup),
		cmocka_unit_test_setup(test_log_set_level_clamps, setup),
		cmocka_unit_test_setup(test_log_init_target_none, setup),
		cmocka_unit_test_setup(test_log_init_target_syslog, setup),
		cmocka_unit_test_setup(test_log_init_renames, setup),
		cmocka_unit_test_setup(test_log_info_truncates_long_line,
		    setup),
		cmocka_unit_test_setup(test_log_info_exact_fit, setup),
		cmocka_unit_test_setup(test_log_info_threads_never_interleave,
		    setup),
		cmocka_unit_test_setup(test_log_pid_fresh_after_fork, setup),
		cmocka_unit_test_setup(test_fatal_exits_1, setup),
		cmocka_unit_test_setup(test_fatalx_exits_1, setup),
		cmocka_unit_test(test_log_level_parse_table),
		cmocka_unit_test(test_log_safe_table),
		cmocka_unit_test(test_log_safe_null_and_empty_buffer),
		cmocka_unit_test(test_log_safe_mem_nul_bytes),
		cmocka_unit_test(test_log_safe_size_enough),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
