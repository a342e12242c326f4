/*
 * test_conflex.c - conflex.c: the config lexer, error collection and the
 * word converters.
 *
 * The lexer tests render every line the lexer returns as text
 * ("LINE:word|word" or "LINE!reason"), so each table row shows an input
 * and the whole of what the lexer made of it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "conflex.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The input as a literal, NUL bytes included. */
#define IN(s)		s, sizeof(s) - 1

/* Appends to out, failing the test rather than overflowing it. */
static void __attribute__((format(printf, 4, 5)))
append(char *out, size_t outlen, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out + *used, outlen - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= outlen - *used)
		fail_msg("rendering longer than %zu bytes", outlen);
	*used += (size_t)n;
}

/* Lexes buf to the end; the rendering goes into out. */
static void
render(const char *buf, size_t len, char *out, size_t outlen)
{
	struct conflex lx;
	struct conflex_line *line;
	const char *why;
	size_t used = 0;
	int r, i, guard;

	line = test_malloc(sizeof(*line));
	conflex_init(&lx, buf, len);
	out[0] = '\0';
	/* Bounded: the lexer must make progress on every call. */
	for (guard = 0; guard < 1000; guard++) {
		why = NULL;
		r = conflex_next(&lx, line, &why);
		if (r == 0)
			break;
		if (r == -1) {
			assert_non_null(why);
			assert_int_equal(line->nwords, 0);
			append(out, outlen, &used, "%u!%s\n", line->lineno,
			    why);
			continue;
		}
		assert_int_equal(r, 1);
		assert_true(line->nwords > 0);
		append(out, outlen, &used, "%u:", line->lineno);
		for (i = 0; i < line->nwords; i++)
			append(out, outlen, &used, "%s%s", i > 0 ? "|" : "",
			    line->words[i]);
		append(out, outlen, &used, "\n");
	}
	assert_true(guard < 1000);
	/* At the end it stays at the end. */
	assert_int_equal(conflex_next(&lx, line, &why), 0);
	test_free(line);
}

static const struct lex {
	const char	*name;
	const char	*in;
	size_t		 len;
	const char	*out;
} lex[] = {
	{ "empty", IN(""), "" },
	{ "one word", IN("a"), "1:a\n" },
	{ "words", IN("listen 1.2.3.4:80\n"), "1:listen|1.2.3.4:80\n" },
	{ "no final newline", IN("a b\nc d"), "1:a|b\n2:c|d\n" },
	{ "blanks", IN("  \t a \t b  \n"), "1:a|b\n" },
	{ "blank lines", IN("\n\n  \n\t\nx\n\n"), "5:x\n" },
	{ "comment line", IN("# hello\nx\n"), "2:x\n" },
	{ "comment after words", IN("a b # c d\n"), "1:a|b\n" },
	{ "comment glued", IN("a#b c\nd\n"), "1:a\n2:d\n" },
	{ "comment only indented", IN("   # x \"y\n"), "" },
	{ "quoted blank", IN("user \"a b\"\n"), "1:user|a b\n" },
	{ "quoted hash", IN("x \"a # b\" # c\n"), "1:x|a # b\n" },
	{ "empty quotes", IN("x \"\" y\n"), "1:x||y\n" },
	{ "quotes inside a word", IN("a\"b c\"d\n"), "1:ab cd\n" },
	{ "adjacent quotes", IN("\"a\"\"b\"\n"), "1:ab\n" },
	{ "escaped quote", IN("\"a\\\"b\"\n"), "1:a\"b\n" },
	{ "escaped backslash", IN("\"a\\\\b\"\n"), "1:a\\b\n" },
	{ "other backslash in quotes", IN("\"a\\nb\"\n"), "1:a\\nb\n" },
	{ "backslash outside quotes", IN("a\\b c\\\n"), "1:a\\b|c\n" },
	{ "backslash before quote outside",
	    IN("a\\\"b\"\n"), "1:a\\b\n" },
	{ "continuation", IN("a \\\n b\nc\n"), "1:a|b\n3:c\n" },
	{ "continuation joins", IN("ab\\\ncd\n"), "1:abcd\n" },
	{ "continuation chain", IN("a \\\n\\\n\\\n b\nc"),
	    "1:a|b\n5:c\n" },
	{ "continuation in quotes", IN("\"a \\\nb\"\nc\n"), "1:a b\n3:c\n" },
	{ "continuation to blank line", IN("a \\\n\nb\n"), "1:a\n3:b\n" },
	{ "continuation CRLF", IN("a \\\r\n b\r\nc\r\n"), "1:a|b\n3:c\n" },
	{ "continuation only", IN("\\\n\\\nx\n"), "1:x\n" },
	{ "backslash at end of buffer", IN("a \\"), "1:a\n" },
	{ "no continuation in comment", IN("a # b \\\nc\n"), "1:a\n2:c\n" },
	{ "CRLF", IN("a b\r\nc\r\n"), "1:a|b\n2:c\n" },
	{ "CRLF blank lines", IN("\r\n\r\nx\r\n"), "3:x\n" },
	{ "lone CR is a blank", IN("a\rb\n"), "1:a|b\n" },
	{ "CR in quotes kept", IN("\"a\rb\"\n"), "1:a\rb\n" },
	{ "CRLF after quote", IN("\"a\"\r\n"), "1:a\n" },
	{ "unterminated quote", IN("a \"b\nc\n"), "1!unterminated quote\n2:c\n" },
	{ "unterminated quote at end", IN("a \"b"), "1!unterminated quote\n" },
	{ "unterminated quote CRLF", IN("\"b\r\nc\r\n"),
	    "1!unterminated quote\n2:c\n" },
	{ "escaped quote unterminated", IN("\"a\\\"\nb\n"),
	    "1!unterminated quote\n2:b\n" },
	{ "NUL byte", IN("a\0b\nc\n"), "1!NUL byte in line\n2:c\n" },
	{ "NUL in comment", IN("# a\0\nc\n"), "1!NUL byte in line\n2:c\n" },
	{ "NUL in quotes", IN("\"\0\"\nc\n"), "1!NUL byte in line\n2:c\n" },
	{ "error in continued line", IN("a \"b \\\n c\nd\n"),
	    "1!unterminated quote\n3:d\n" },
	{ "error then continuation skipped", IN("a\0 \\\nb\nc\n"),
	    "1!NUL byte in line\n3:c\n" },
	{ "two errors", IN("\"a\n\"b\nc\n"),
	    "1!unterminated quote\n2!unterminated quote\n3:c\n" },
	{ "line numbers", IN("a\n\n# x\nb \\\nc\n\nd\n"),
	    "1:a\n4:b|c\n7:d\n" },
};

static void
test_conflex_next_table(void **state)
{
	char out[4096];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(lex); i++) {
		render(lex[i].in, lex[i].len, out, sizeof(out));
		if (strcmp(out, lex[i].out) != 0)
			fail_msg("%s: got\n%s\nwant\n%s", lex[i].name, out,
			    lex[i].out);
	}
}

/* Builds a line of n words "w0 w1 ..." into buf. */
static size_t
words_line(char *buf, size_t len, int n)
{
	size_t used = 0;
	int i;

	for (i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, len - used, "%sw%d",
		    i > 0 ? " " : "", i);
	used += (size_t)snprintf(buf + used, len - used, "\nnext\n");
	return used;
}

static void
test_conflex_next_max_words(void **state)
{
	char buf[1024], out[4096], want[4096];
	size_t len, used = 0;
	int i;

	(void)state;
	len = words_line(buf, sizeof(buf), CONFLEX_MAX_WORDS);
	render(buf, len, out, sizeof(out));
	used += (size_t)snprintf(want, sizeof(want), "1:");
	for (i = 0; i < CONFLEX_MAX_WORDS; i++)
		used += (size_t)snprintf(want + used, sizeof(want) - used,
		    "%sw%d", i > 0 ? "|" : "", i);
	snprintf(want + used, sizeof(want) - used, "\n2:next\n");
	assert_string_equal(out, want);
}

static void
test_conflex_next_too_many_words(void **state)
{
	char buf[1024], out[4096];
	size_t len;

	(void)state;
	len = words_line(buf, sizeof(buf), CONFLEX_MAX_WORDS + 1);
	render(buf, len, out, sizeof(out));
	assert_string_equal(out, "1!too many words (at most 48)\n2:next\n");
}

/*
 * One word of n bytes: storage holds CONFLEX_MAX_LINE bytes with the
 * word's NUL, so the longest word is one byte shorter.
 */
static void
lex_long_word(size_t n, const char *want)
{
	char *buf, out[128];

	buf = test_malloc(n + 8);
	memset(buf, 'x', n);
	memcpy(buf + n, "\nnext\n", 6);
	render(buf, n + 6, out, sizeof(out));
	test_free(buf);
	assert_string_equal(out, want);
}

static void
test_conflex_next_longest_word(void **state)
{
	struct conflex lx;
	struct conflex_line *line;
	const char *why;
	char *buf;

	(void)state;
	line = test_malloc(sizeof(*line));
	buf = test_malloc(CONFLEX_MAX_LINE);
	memset(buf, 'x', CONFLEX_MAX_LINE - 1);
	buf[CONFLEX_MAX_LINE - 1] = '\n';
	conflex_init(&lx, buf, CONFLEX_MAX_LINE);
	assert_int_equal(conflex_next(&lx, line, &why), 1);
	assert_int_equal(line->nwords, 1);
	assert_int_equal(strlen(line->words[0]), CONFLEX_MAX_LINE - 1);
	assert_int_equal(conflex_next(&lx, line, &why), 0);
	test_free(buf);
	test_free(line);
}

static void
test_conflex_next_line_too_long(void **state)
{
	(void)state;
	lex_long_word(CONFLEX_MAX_LINE,
	    "1!line too long (at most 4096 bytes)\n2:next\n");
	lex_long_word(100000,
	    "1!line too long (at most 4096 bytes)\n2:next\n");
}

/* Many short words: their NULs count against the storage too. */
static void
test_conflex_next_words_fill_storage(void **state)
{
	char buf[8192], out[8192];
	size_t len, n;

	(void)state;
	/* 40 words of 101 bytes = 40 * 102 with NULs = 4080: fits. */
	for (len = 0, n = 0; n < 40; n++) {
		memset(buf + len, 'a', 101);
		len += 101;
		buf[len++] = ' ';
	}
	buf[len++] = '\n';
	render(buf, len, out, sizeof(out));
	assert_memory_equal(out, "1:aaa", 5);
	/* One more word of 16 bytes needs 17: 4097 > 4096. */
	len--;
	memset(buf + len, 'b', 16);
	len += 16;
	buf[len++] = '\n';
	render(buf, len, out, sizeof(out));
	assert_string_equal(out, "1!line too long (at most 4096 bytes)\n");
}

/* A long comment or many blanks are not limited: nothing is stored. */
static void
test_conflex_next_long_comment(void **state)
{
	char *buf, out[64];
	size_t n = 20000;

	(void)state;
	buf = test_malloc(n + 8);
	buf[0] = '#';
	memset(buf + 1, 'c', n - 1);
	memcpy(buf + n, "\nx\n", 3);
	render(buf, n + 3, out, sizeof(out));
	assert_string_equal(out, "2:x\n");
	memset(buf, ' ', n);
	render(buf, n + 3, out, sizeof(out));
	assert_string_equal(out, "2:x\n");
	test_free(buf);
}

/* Words point into the line's own storage: the buffer may be const. */
static void
test_conflex_next_buffer_untouched(void **state)
{
	static const char buf[] = "a \"b c\" \\\n d # e\n";
	char copy[sizeof(buf)];
	struct conflex lx;
	struct conflex_line *line;
	const char *why;

	(void)state;
	memcpy(copy, buf, sizeof(buf));
	line = test_malloc(sizeof(*line));
	conflex_init(&lx, copy, sizeof(copy) - 1);
	assert_int_equal(conflex_next(&lx, line, &why), 1);
	assert_memory_equal(copy, buf, sizeof(buf));
	assert_int_equal(line->nwords, 3);
	assert_int_equal(lx.line, 3);
	test_free(line);
}

static void
test_conflex_init_null(void **state)
{
	struct conflex lx;
	struct conflex_line *line;
	const char *why;

	(void)state;
	line = test_malloc(sizeof(*line));
	conflex_init(&lx, NULL, 10);
	assert_int_equal(conflex_next(&lx, line, &why), 0);
	test_free(line);
}

/* A fixed-seed generator, so a failure can be reproduced. */
static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/*
 * Random lines over the bytes that matter to the lexer: every call makes
 * progress, words lie in the line's storage, line numbers never go back
 * and end one past the number of newlines.
 */
static void
test_conflex_next_random_input(void **state)
{
	static const char alphabet[] = "ab \t\"\\#\n\r\0x";
	struct conflex_line *line;
	struct conflex lx;
	const char *why;
	char buf[256];
	uint32_t seed = 42;
	unsigned int newlines, last;
	size_t len, i, calls;
	int iter, r, w;

	(void)state;
	line = test_malloc(sizeof(*line));
	for (iter = 0; iter < 20000; iter++) {
		len = rnd(&seed) % sizeof(buf);
		newlines = 0;
		for (i = 0; i < len; i++) {
			buf[i] = alphabet[rnd(&seed) % (sizeof(alphabet) - 1)];
			newlines += buf[i] == '\n';
		}
		conflex_init(&lx, buf, len);
		last = 1;
		for (calls = 0; calls <= len + 1; calls++) {
			r = conflex_next(&lx, line, &why);
			if (r == 0)
				break;
			assert_true(line->lineno >= last);
			assert_true(line->lineno <= newlines + 1);
			last = line->lineno;
			if (r == -1) {
				assert_non_null(why);
				continue;
			}
			assert_int_equal(r, 1);
			assert_true(line->nwords >= 1 &&
			    line->nwords <= CONFLEX_MAX_WORDS);
			for (w = 0; w < line->nwords; w++) {
				const char *p = line->words[w];
				size_t off = (size_t)(p - line->storage);

				assert_true(p >= line->storage &&
				    off < sizeof(line->storage));
				assert_non_null(memchr(p, '\0',
				    sizeof(line->storage) - off));
				assert_null(strchr(p, '\n'));
			}
		}
		assert_true(calls <= len + 1);
		assert_int_equal(lx.line, newlines + 1);
		assert_int_equal(lx.pos, len);
	}
	test_free(line);
}

static void
test_conf_error_format(void **state)
{
	struct conf_errors e;

	(void)state;
	conf_errors_init(&e, "gw.conf");
	assert_int_equal(e.count, 0);
	assert_string_equal(e.text, "");
	conf_error(&e, 3, "unknown directive \"%s\"", "lsten");
	conf_error(&e, 0, "cannot open: %s", "No such file");
	assert_int_equal(e.count, 2);
	assert_string_equal(e.text,
	    "gw.conf:3: unknown directive \"lsten\"\n"
	    "gw.conf: cannot open: No such file\n");
	assert_int_equal(e.used, strlen(e.text));
}

static void
test_conf_error_no_file(void **state)
{
	struct conf_errors e;

	(void)state;
	conf_errors_init(&e, NULL);
	conf_error(&e, 1, "x");
	assert_string_equal(e.text, "(config):1: x\n");
}

static void
test_conf_error_control_characters(void **state)
{
	struct conf_errors e;

	(void)state;
	conf_errors_init(&e, "f");
	conf_error(&e, 1, "bad word \"%s\"", "a\nb\rc\033[31m\x7f");
	assert_string_equal(e.text, "f:1: bad word \"a?b?c?[31m?\"\n");
}

/* Past the buffer's end errors are counted, and a "..." line says so. */
static void
test_conf_error_overflow(void **state)
{
	struct conf_errors e;
	int i;

	(void)state;
	conf_errors_init(&e, "f");
	for (i = 1; i <= 2000; i++)
		conf_error(&e, (unsigned int)i, "error number %d", i);
	assert_int_equal(e.count, 2000);
	assert_int_equal(e.used, strlen(e.text));
	assert_true(e.used < sizeof(e.text));
	assert_true(e.used > sizeof(e.text) - 64);
	assert_string_equal(e.text + e.used - 4, "...\n");
	assert_memory_equal(e.text, "f:1: error number 1\nf:2: error", 30);
	/* Only whole lines before the marker; a short one stays out. */
	conf_error(&e, 1, "x");
	assert_int_equal(e.count, 2001);
	assert_string_equal(e.text + e.used - 4, "...\n");
	assert_non_null(strstr(e.text, "f:1: error number 1\n"));
	assert_null(strstr(e.text, "f:1: x\n"));
}

static void
test_conf_error_long_message(void **state)
{
	struct conf_errors e;
	char big[3000];

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	conf_errors_init(&e, "f");
	conf_error(&e, 7, "%s", big);
	assert_int_equal(e.count, 1);
	assert_int_equal(e.used, strlen(e.text));
	assert_true(e.used < 1100);
	assert_memory_equal(e.text, "f:7: zzz", 8);
	assert_string_equal(e.text + e.used - 5, "z...\n");
}

static const struct uint_case {
	const char	*in;
	unsigned long	 min, max;
	int		 ok;
	unsigned long	 value;
} uint_cases[] = {
	{ "0", 0, 10, 1, 0 },
	{ "10", 0, 10, 1, 10 },
	{ "11", 0, 10, 0, 0 },
	{ "0", 1, 10, 0, 0 },
	{ "1024", 1, 65535, 1, 1024 },
	{ "0010", 0, 100, 1, 10 },
	{ "", 0, 10, 0, 0 },
	{ "-1", 0, 10, 0, 0 },
	{ "+1", 0, 10, 0, 0 },
	{ " 1", 0, 10, 0, 0 },
	{ "1 ", 0, 10, 0, 0 },
	{ "1x", 0, 10, 0, 0 },
	{ "0x10", 0, 100, 0, 0 },
	{ "1.5", 0, 10, 0, 0 },
	{ "1e3", 0, 10000, 0, 0 },
	{ "18446744073709551615", 0, ULONG_MAX, 1, ULONG_MAX },
	{ "18446744073709551616", 0, ULONG_MAX, 0, 0 },
	{ "99999999999999999999999", 0, ULONG_MAX, 0, 0 },
};

static void
test_conf_parse_uint_table(void **state)
{
	unsigned long v;
	size_t i;

	(void)state;
#if ULONG_MAX != 18446744073709551615UL
	skip();
#endif
	for (i = 0; i < NELEM(uint_cases); i++) {
		const struct uint_case *t = &uint_cases[i];
		int r;

		v = 12345;
		r = conf_parse_uint(t->in, t->min, t->max, &v);
		if (r != (t->ok ? 0 : -1))
			fail_msg("\"%s\" [%lu,%lu]: got %d", t->in, t->min,
			    t->max, r);
		/* *out is untouched on failure. */
		assert_int_equal(v, t->ok ? t->value : 12345);
	}
	assert_int_equal(conf_parse_uint(NULL, 0, 1, &v), -1);
}

static const struct seconds_case {
	const char	*in;
	int		 ok;
	unsigned long	 value;
} seconds_cases[] = {
	{ "0", 1, 0 },
	{ "30", 1, 30 },
	{ "30s", 1, 30 },
	{ "5m", 1, 300 },
	{ "2h", 1, 7200 },
	{ "1d", 1, 86400 },
	{ "0d", 1, 0 },
	{ "3600", 1, 3600 },
	{ "", 0, 0 },
	{ "s", 0, 0 },
	{ "m", 0, 0 },
	{ "-5s", 0, 0 },
	{ "+5s", 0, 0 },
	{ "5 s", 0, 0 },
	{ " 5", 0, 0 },
	{ "5ss", 0, 0 },
	{ "5ms", 0, 0 },
	{ "5S", 0, 0 },
	{ "5M", 0, 0 },
	{ "5w", 0, 0 },
	{ "1.5h", 0, 0 },
	{ "0x10", 0, 0 },
	{ "18446744073709551615", 1, 18446744073709551615UL },
	{ "18446744073709551615s", 1, 18446744073709551615UL },
	{ "18446744073709551616", 0, 0 },
	{ "307445734561825860m", 1, 18446744073709551600UL },
	{ "307445734561825861m", 0, 0 },
	{ "213503982334601d", 1, 18446744073709526400UL },
	{ "213503982334602d", 0, 0 },
	{ "5124095576030431h", 1, 18446744073709551600UL },
	{ "5124095576030432h", 0, 0 },
};

static void
test_conf_parse_seconds_table(void **state)
{
	unsigned long v;
	size_t i;

	(void)state;
#if ULONG_MAX != 18446744073709551615UL
	skip();
#endif
	for (i = 0; i < NELEM(seconds_cases); i++) {
		const struct seconds_case *t = &seconds_cases[i];
		int r;

		v = 12345;
		r = conf_parse_seconds(t->in, &v);
		if (r != (t->ok ? 0 : -1))
			fail_msg("\"%s\": got %d", t->in, r);
		if (v != (t->ok ? t->value : 12345))
			fail_msg("\"%s\": got %lu", t->in, v);
	}
	assert_int_equal(conf_parse_seconds(NULL, &v), -1);
}

static const struct bool_case {
	const char	*in;
	int		 ok;
	int		 value;
} bool_cases[] = {
	{ "yes", 1, 1 }, { "no", 1, 0 }, { "on", 1, 1 }, { "off", 1, 0 },
	{ "true", 1, 1 }, { "false", 1, 0 },
	{ "", 0, 0 }, { "1", 0, 0 }, { "0", 0, 0 }, { "y", 0, 0 },
	{ "YES", 0, 0 }, { "yes ", 0, 0 }, { "yess", 0, 0 }, { "nope", 0, 0 },
};

static void
test_conf_parse_bool_table(void **state)
{
	size_t i;
	int v;

	(void)state;
	for (i = 0; i < NELEM(bool_cases); i++) {
		const struct bool_case *t = &bool_cases[i];
		int r;

		v = 7;
		r = conf_parse_bool(t->in, &v);
		if (r != (t->ok ? 0 : -1))
			fail_msg("\"%s\": got %d", t->in, r);
		assert_int_equal(v, t->ok ? t->value : 7);
	}
	assert_int_equal(conf_parse_bool(NULL, &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conflex_next_table),
		cmocka_unit_test(test_conflex_next_max_words),
		cmocka_unit_test(test_conflex_next_too_many_words),
		cmocka_unit_test(test_conflex_next_longest_word),
		cmocka_unit_test(test_conflex_next_line_too_long),
		cmocka_unit_test(test_conflex_next_words_fill_storage),
		cmocka_unit_test(test_conflex_next_long_comment),
		cmocka_unit_test(test_conflex_next_buffer_untouched),
		cmocka_unit_test(test_conflex_init_null),
		cmocka_unit_test(test_conflex_next_random_input),
		cmocka_unit_test(test_conf_error_format),
		cmocka_unit_test(test_conf_error_no_file),
		cmocka_unit_test(test_conf_error_control_characters),
		cmocka_unit_test(test_conf_error_overflow),
		cmocka_unit_test(test_conf_error_long_message),
		cmocka_unit_test(test_conf_parse_uint_table),
		cmocka_unit_test(test_conf_parse_seconds_table),
		cmocka_unit_test(test_conf_parse_bool_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
