/*
 * conflex.h - the line lexer under every socks64 config file.
 *
 * A config file is lines of words: '#' starts a comment, words are split
 * on blanks, a word may be "double quoted" (with \" and \\ escapes) to
 * hold blanks or '#', and a line ending in '\' continues on the next.
 * Lines end at "\n" or "\r\n". Details in conflex.c's opening comment.
 * The lexer works on a buffer the caller read, and errors are collected
 * as "FILE:LINE: reason" texts, counted rather than stopped at, so that
 * `gatewayd -t` reports every mistake in one run.
 */
#ifndef SOCKS64_CONFLEX_H
#define SOCKS64_CONFLEX_H

#include <stddef.h>

#define CONFLEX_MAX_WORDS	48
#define CONFLEX_MAX_LINE	4096

struct conflex {
	const char	*buf;
	size_t		 len;
	size_t		 pos;
	unsigned int	 line;		/* number of the next line to read */
};

struct conflex_line {
	unsigned int	 lineno;	/* where the logical line started */
	int		 nwords;
	char		*words[CONFLEX_MAX_WORDS];
	char		 storage[CONFLEX_MAX_LINE];
};

/* Diagnostics, kept in a fixed buffer so parsing never allocates for them. */
struct conf_errors {
	const char	*file;		/* name used in the messages */
	int		 count;		/* errors seen, even those not kept */
	size_t		 used;
	char		 text[8192];	/* "FILE:LINE: reason\n" ... */
};

void	conflex_init(struct conflex *lx, const char *buf, size_t len);
/*
 * Reads the next non-empty logical line into *out. Returns 1 when a line
 * was read, 0 at the end of the buffer, -1 on a lexical error (an
 * unterminated quote, a NUL byte, a line or word count over the limits),
 * with *why set to a static reason and out->lineno naming the line (its
 * words are dropped); the lexer then continues after that logical line.
 * out->words point into out->storage, never into the buffer.
 */
int	conflex_next(struct conflex *lx, struct conflex_line *out,
	    const char **why);

void	conf_errors_init(struct conf_errors *e, const char *file);
/*
 * Records "FILE:LINE: reason\n". line 0 leaves out the line number.
 * Every call counts; text keeps whole lines only, and ends in "...\n"
 * once one did not fit. Control characters in the reason become '?'.
 */
void	conf_error(struct conf_errors *e, unsigned int line,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Word converters: 0 on success, -1 if the word is not of the form.
 * *out is set only on success. No signs, blanks or base prefixes.
 * conf_parse_uint: decimal, within [min, max].
 * conf_parse_seconds: "30", "30s", "5m", "2h", "1d" to seconds, >= 0,
 * -1 if it overflows an unsigned long.
 * conf_parse_bool: yes/no, on/off, true/false (lower case).
 */
int	conf_parse_uint(const char *word, unsigned long min,
	    unsigned long max, unsigned long *out);
int	conf_parse_seconds(const char *word, unsigned long *out);
int	conf_parse_bool(const char *word, int *out);

#endif /* SOCKS64_CONFLEX_H */
