/*
 * log.h - the small logging API both halves share.
 *
 * One line per call, written with a single write(2) so lines from many
 * threads never interleave. Every function keeps errno as it found it,
 * so a caller can log and then still report the error it is handling.
 * log_warn() appends ": strerror(errno)", log_warnx() does not. A line
 * is at most 2048 bytes (under PIPE_BUF); a longer one ends in "...".
 */
#ifndef SOCKS64_LOG_H
#define SOCKS64_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TARGET_STDERR = 0,	/* "2026-11-23T10:00:00.123Z gatewayd[42]: ..." */
	LOG_TARGET_SYSLOG,	/* syslog(3), facility daemon */
	LOG_TARGET_NONE,
};

/*
 * Sets the program name, target and most verbose level written. May be
 * called again (SIGHUP reload); the settings are read atomically, so
 * logging threads never see a half-made change. progname is kept, not
 * copied: pass a string that outlives logging (a literal); NULL means
 * "socks64". Before any call: "socks64", stderr, info.
 */
void	log_init(const char *progname, enum log_target target,
	    enum log_level level);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Whether a message at this level would be written (skip costly setup). */
int	log_enabled(enum log_level level);
/* Parses "error", "warn", "info", "debug"; -1 if none. */
int	log_level_parse(const char *s);

void	log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	log_msg(enum log_level level, int with_errno, const char *fmt,
	    va_list ap) __attribute__((format(printf, 3, 0)));
/* Logs at error level with strerror(errno) and exits 1. Never in the shim. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Text from the network (user names, host names) must pass through
 * log_safe() before it reaches a log line: printable ASCII other than
 * space and backslash is kept, every other byte becomes \xNN, so a peer
 * can forge neither a line nor a "key=" field. out gets at most len - 1
 * characters, ending in "..." if cut; LOG_SAFE_SIZE(n) holds n bytes
 * escaped. Returns out, so it can be a printf argument. NULL gives
 * "(null)". log_safe_mem() takes a length, for fields that may hold NUL.
 */
#define LOG_SAFE_SIZE(n)	((n) * 4 + 1)
char	*log_safe(const char *in, char *out, size_t len);
char	*log_safe_mem(const void *in, size_t inlen, char *out, size_t len);

#endif /* SOCKS64_LOG_H */
