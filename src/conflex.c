/*
 * conflex.c - the line lexer under every socks64 config file.
 *
 * Turns a buffer into logical lines of words, the way a shell would for
 * the small subset a config needs, and collects "FILE:LINE: reason"
 * diagnostics in a fixed buffer. Also the converters from a word to a
 * number, a duration or a boolean, so every directive checks alike.
 *
 * Decisions the header leaves open:
 * - A line ends at "\n", "\r\n" or the end of the buffer; a lone "\r" is
 *   a blank, so files edited on Windows read as they look.
 * - '#' outside quotes starts a comment wherever it is, even inside a
 *   word ("a#b" is "a"); a comment ends at the physical line end, a
 *   backslash in it does not continue the line.
 * - Backslash-newline joins lines everywhere else, inside quotes too (as
 *   in sh), without adding a blank: "ab\<NL>cd" is "abcd". A backslash
 *   before the end of the buffer is dropped. Any other backslash outside
 *   quotes is an ordinary character; inside quotes only \" and \\ are
 *   escapes, any other backslash stays as it is.
 * - "" is an empty word, and quotes may be part of a word: a"b c"d is
 *   one word, "ab cd".
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conflex.h"

#define STR2(x)		#x
#define STR(x)		STR2(x)

/* A logical line being read into a struct conflex_line. */
struct lexstate {
	struct conflex_line	*out;
	size_t			 used;		/* bytes of out->storage */
	int			 in_word;
	const char		*err;		/* the first error, if any */
};

void
conflex_init(struct conflex *lx, const char *buf, size_t len)
{
	lx->buf = buf;
	lx->len = buf != NULL ? len : 0;
	lx->pos = 0;
	lx->line = 1;
}

static void
conflex_error(struct lexstate *st, const char *why)
{
	if (st->err == NULL)
		st->err = why;
}

/*
 * Opens a word if none is open. A word needs its NUL, so one is opened
 * only if a byte of storage is left. After an error nothing is stored:
 * the line is read to its end only to find where the next one starts.
 */
static int
conflex_word_open(struct lexstate *st)
{
	if (st->err != NULL)
		return -1;
	if (st->in_word)
		return 0;
	if (st->out->nwords == CONFLEX_MAX_WORDS) {
		conflex_error(st, "too many words (at most "
		    STR(CONFLEX_MAX_WORDS) ")");
		return -1;
	}
	if (st->used + 1 > sizeof(st->out->storage)) {
		conflex_error(st, "line too long (at most "
		    STR(CONFLEX_MAX_LINE) " bytes)");
		return -1;
	}
	st->out->words[st->out->nwords++] = st->out->storage + st->used;
	st->in_word = 1;
	return 0;
}

static void
conflex_word_add(struct lexstate *st, char c)
{
	if (conflex_word_open(st) == -1)
		return;
	/* Keep a byte for the NUL that ends this word. */
	if (st->used + 2 > sizeof(st->out->storage)) {
		conflex_error(st, "line too long (at most "
		    STR(CONFLEX_MAX_LINE) " bytes)");
		return;
	}
	st->out->storage[st->used++] = c;
}

static void
conflex_word_close(struct lexstate *st)
{
	if (!st->in_word)
		return;
	st->in_word = 0;
	if (st->err == NULL)
		st->out->storage[st->used++] = '\0';
}

/* The length of the line end at pos ("\n" or "\r\n"), or 0. */
static size_t
conflex_line_end(const struct conflex *lx, size_t pos)
{
	if (pos < lx->len && lx->buf[pos] == '\n')
		return 1;
	if (pos + 1 < lx->len && lx->buf[pos] == '\r' &&
	    lx->buf[pos + 1] == '\n')
		return 2;
	return 0;
}

/*
 * A backslash at lx->pos: a continuation, an escape inside quotes, or a
 * plain character. Advances past what it used.
 */
static void
conflex_backslash(struct conflex *lx, struct lexstate *st, int in_quote)
{
	size_t nl = conflex_line_end(lx, lx->pos + 1);
	char next;

	if (nl > 0) {
		lx->pos += 1 + nl;
		lx->line++;
		return;
	}
	if (lx->pos + 1 == lx->len) {
		lx->pos++;
		return;
	}
	next = lx->buf[lx->pos + 1];
	if (in_quote && (next == '"' || next == '\\')) {
		conflex_word_add(st, next);
		lx->pos += 2;
		return;
	}
	conflex_word_add(st, '\\');
	lx->pos++;
}

/* Reads one logical line, its line end included, into st. */
static void
conflex_read_line(struct conflex *lx, struct lexstate *st)
{
	int in_quote = 0, in_comment = 0;
	size_t nl;
	char c;

	while (lx->pos < lx->len) {
		c = lx->buf[lx->pos];
		if (c == '\0') {
			/* Text editors do not write NULs: not a config file. */
			conflex_error(st, "NUL byte in line");
			lx->pos++;
			continue;
		}
		if ((nl = conflex_line_end(lx, lx->pos)) > 0) {
			lx->pos += nl;
			lx->line++;
			if (in_quote)
				conflex_error(st, "unterminated quote");
			conflex_word_close(st);
			return;
		}
		if (in_comment) {
			lx->pos++;
			continue;
		}
		if (c == '\\') {
			conflex_backslash(lx, st, in_quote);
			continue;
		}
		lx->pos++;
		if (in_quote) {
			if (c == '"')
				in_quote = 0;
			else
				conflex_word_add(st, c);
			continue;
		}
		switch (c) {
		case '"':
			(void)conflex_word_open(st);
			in_quote = 1;
			break;
		case '#':
			conflex_word_close(st);
			in_comment = 1;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\v':
		case '\f':
			conflex_word_close(st);
			break;
		default:
			conflex_word_add(st, c);
			break;
		}
	}
	if (in_quote)
		conflex_error(st, "unterminated quote");
	conflex_word_close(st);
}

/*
 * Reads the next logical line with words into *out. On -1, out->lineno
 * names the bad line (for conf_error) and out->nwords is 0; the next call
 * goes on after that line.
 */
int
conflex_next(struct conflex *lx, struct conflex_line *out, const char **why)
{
	struct lexstate st;

	while (lx->pos < lx->len) {
		memset(&st, 0, sizeof(st));
		st.out = out;
		out->lineno = lx->line;
		out->nwords = 0;
		conflex_read_line(lx, &st);
		if (st.err != NULL) {
			out->nwords = 0;
			if (why != NULL)
				*why = st.err;
			return -1;
		}
		if (out->nwords > 0)
			return 1;
	}
	return 0;
}

void
conf_errors_init(struct conf_errors *e, const char *file)
{
	e->file = file;
	e->count = 0;
	e->used = 0;
	e->text[0] = '\0';
}

/* Ends e->text once it is full, so that no later, shorter error is kept
 * out of order after a dropped one. */
#define CONF_ERRORS_MORE	"...\n"

static int
conf_errors_full(const struct conf_errors *e)
{
	size_t n = sizeof(CONF_ERRORS_MORE) - 1;

	return e->used >= n && memcmp(e->text + e->used - n,
	    CONF_ERRORS_MORE, n) == 0 && (e->used == n ||
	    e->text[e->used - n - 1] == '\n');
}

/*
 * Records "FILE:LINE: reason\n" (or "FILE: reason\n" for line 0). Every
 * call counts; the text keeps whole lines only, and when one no longer
 * fits a last "...\n" says some were left out. Control characters in the
 * reason (it may quote a word from the file) are shown as '?'.
 */
void
conf_error(struct conf_errors *e, unsigned int line, const char *fmt, ...)
{
	char msg[1024];
	const char *file = e->file != NULL ? e->file : "(config)";
	size_t n, i, cap, more = sizeof(CONF_ERRORS_MORE) - 1;
	va_list ap;
	int r;

	e->count++;
	if (conf_errors_full(e))
		return;
	if (line > 0)
		r = snprintf(msg, sizeof(msg), "%s:%u: ", file, line);
	else
		r = snprintf(msg, sizeof(msg), "%s: ", file);
	n = r > 0 ? (size_t)r : 0;
	if (n >= sizeof(msg) - 1)
		n = sizeof(msg) - 2;
	va_start(ap, fmt);
	r = vsnprintf(msg + n, sizeof(msg) - 1 - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	for (i = n; i < n + (size_t)r && i < sizeof(msg) - 2; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
	n += (size_t)r;
	if (n >= sizeof(msg) - 1) {
		n = sizeof(msg) - 2;
		memcpy(msg + n - 3, "...", 3);
	}
	msg[n++] = '\n';
	msg[n] = '\0';
	/* Whole lines only, and room kept for the "..." line. */
	cap = sizeof(e->text) - 1;
	if (e->used + n + more <= cap) {
		memcpy(e->text + e->used, msg, n + 1);
		e->used += n;
	} else if (e->used + more <= cap) {
		memcpy(e->text + e->used, CONF_ERRORS_MORE, more + 1);
		e->used += more;
	}
}

/* Decimal digits only, to *out; -1 on anything else or on overflow. */
static int
conflex_digits(const char *s, size_t n, unsigned long *out)
{
	unsigned long v = 0, d;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = (unsigned long)(s[i] - '0');
		if (v > (~0UL - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/*
 * Decimal, no sign, no blanks, no base prefix (strtoul would take all
 * three); leading zeros are harmless and allowed. *out is set only on
 * success.
 */
int
conf_parse_uint(const char *word, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v;

	if (word == NULL || conflex_digits(word, strlen(word), &v) == -1)
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A number with an optional unit of s, m, h or d (lower case). */
int
conf_parse_seconds(const char *word, unsigned long *out)
{
	unsigned long v, unit = 1;
	size_t n;

	if (word == NULL || (n = strlen(word)) == 0)
		return -1;
	switch (word[n - 1]) {
	case 's':
		unit = 1;
		n--;
		break;
	case 'm':
		unit = 60;
		n--;
		break;
	case 'h':
		unit = 60 * 60;
		n--;
		break;
	case 'd':
		unit = 24 * 60 * 60;
		n--;
		break;
	}
	if (conflex_digits(word, n, &v) == -1 || v > ~0UL / unit)
		return -1;
	*out = v * unit;
	return 0;
}

/* yes/no, on/off, true/false, lower case like every keyword. */
int
conf_parse_bool(const char *word, int *out)
{
	static const struct {
		const char	*word;
		int		 value;
	} words[] = {
		{ "yes", 1 }, { "no", 0 }, { "on", 1 }, { "off", 0 },
		{ "true", 1 }, { "false", 0 },
	};
	size_t i;

	if (word == NULL)
		return -1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(word, words[i].word) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -1;
}
