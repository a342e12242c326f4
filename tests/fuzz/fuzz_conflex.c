/*
 * fuzz_conflex.c - the config line lexer (conflex.c) under every socks64
 * config file, its error collector and its word converters.
 *
 * Checked on every input: each call makes progress and stops at the
 * buffer's end; line numbers count the newlines read; a line's words lie
 * one after another in its storage, never hold a newline, and are never
 * more bytes than the line took from the buffer (quotes and escapes only
 * shrink); errors come with a reason. Each word then goes through the
 * converters, whose answers are checked against their definitions, and
 * is quoted in a conf_error() whose text must stay well formed.
 */
#include <limits.h>

#include "fuzz.h"

static size_t
count_newlines(const char *buf, size_t from, size_t to)
{
	size_t i, n = 0;

	for (i = from; i < to; i++)
		n += buf[i] == '\n';
	return n;
}

/* The converters against what conflex.h says they accept. */
static void
check_converters(const char *w)
{
	static const char *const bools[] = { "yes", "no", "on", "off",
	    "true", "false" };
	size_t n = strlen(w), digits = strspn(w, "0123456789"), i;
	unsigned long v, unit = 1, expect;
	int b, is_bool = -1;

	/* uint: digits only; set within bounds, else untouched. */
	v = 12345;
	if (conf_parse_uint(w, 0, ULONG_MAX, &v) == 0) {
		FUZZ_CHECK(n > 0 && digits == n);
		FUZZ_CHECK(strtoul(w, NULL, 10) == v);
		expect = v;
		v = 12345;
		FUZZ_CHECK(conf_parse_uint(w, expect, expect, &v) == 0 &&
		    v == expect);
		if (expect > 0) {
			v = 12345;
			FUZZ_CHECK(conf_parse_uint(w, 0, expect - 1, &v) ==
			    -1 && v == 12345);
		}
	} else {
		FUZZ_CHECK(v == 12345);
		/* Not digits, or digits too large for an unsigned long. */
		FUZZ_CHECK(n == 0 || digits != n || n >= 20);
	}

	/* seconds: digits and one optional unit, no overflow. */
	v = 12345;
	if (conf_parse_seconds(w, &v) == 0) {
		FUZZ_CHECK(n > 0);
		switch (w[n - 1]) {
		case 's': unit = 1; n--; break;
		case 'm': unit = 60; n--; break;
		case 'h': unit = 3600; n--; break;
		case 'd': unit = 86400; n--; break;
		}
		FUZZ_CHECK(n > 0 && strspn(w, "0123456789") == n);
		FUZZ_CHECK(!__builtin_mul_overflow(strtoul(w, NULL, 10), unit,
		    &expect));
		FUZZ_CHECK(expect == v);
	} else
		FUZZ_CHECK(v == 12345);

	for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
		if (strcmp(w, bools[i]) == 0)
			is_bool = (int)(i % 2 == 0);
	b = 7;
	if (conf_parse_bool(w, &b) == 0)
		FUZZ_CHECK(b == is_bool);
	else
		FUZZ_CHECK(is_bool == -1 && b == 7);
}

int
fuzz_conflex_one(const uint8_t *data, size_t len)
{
	struct conflex lx;
	struct conflex_line *l;
	struct conf_errors *e;
	const char *why;
	char *buf = fuzz_dup(data, len, 0);
	size_t before, bytes, newlines = 0, text_before;
	unsigned int lastline = 0;
	int r, i, calls = 0;

	l = malloc(sizeof(*l));
	e = malloc(sizeof(*e));
	FUZZ_CHECK(l != NULL && e != NULL);
	conf_errors_init(e, "fuzz.conf");
	conflex_init(&lx, buf, len);
	for (;;) {
		before = lx.pos;
		why = NULL;
		r = conflex_next(&lx, l, &why);
		FUZZ_CHECK(r == 1 || r == 0 || r == -1);
		FUZZ_CHECK(lx.pos <= len);
		newlines += count_newlines(buf, before, lx.pos);
		FUZZ_CHECK(lx.line == 1 + newlines);
		if (r == 0) {
			FUZZ_CHECK(lx.pos == len);
			break;
		}
		/* Every line takes at least one byte: the loop ends. */
		FUZZ_CHECK(lx.pos > before);
		FUZZ_CHECK(++calls <= (int)len);
		FUZZ_CHECK(l->lineno >= 1 && l->lineno > lastline);
		FUZZ_CHECK(l->lineno <= lx.line);
		lastline = l->lineno;
		if (r == -1) {
			FUZZ_CHECK(why != NULL && *why != '\0');
			FUZZ_CHECK(l->nwords == 0);
			text_before = e->used;
			conf_error(e, l->lineno, "%s", why);
			fuzz_check_errors_since(e, text_before);
			continue;
		}
		FUZZ_CHECK(l->nwords >= 1 && l->nwords <= CONFLEX_MAX_WORDS);
		FUZZ_CHECK(l->words[0] == l->storage);
		bytes = 0;
		for (i = 0; i < l->nwords; i++) {
			size_t wl;

			FUZZ_CHECK(l->words[i] >= l->storage && l->words[i] <
			    l->storage + sizeof(l->storage));
			wl = strnlen(l->words[i], (size_t)(l->storage +
			    sizeof(l->storage) - l->words[i]));
			FUZZ_CHECK(l->words[i] + wl <
			    l->storage + sizeof(l->storage));
			FUZZ_CHECK(memchr(l->words[i], '\n', wl) == NULL);
			if (i + 1 < l->nwords)
				FUZZ_CHECK(l->words[i + 1] ==
				    l->words[i] + wl + 1);
			bytes += wl;
			check_converters(l->words[i]);
			text_before = e->used;
			conf_error(e, l->lineno, "word '%s'", l->words[i]);
			fuzz_check_errors_since(e, text_before);
		}
		FUZZ_CHECK(bytes <= lx.pos - before);
	}
	FUZZ_CHECK(conflex_next(&lx, l, &why) == 0);
	fuzz_check_errors(e);
	free(e);
	free(l);
	free(buf);
	return 0;
}

FUZZ_TARGET(fuzz_conflex_one)
