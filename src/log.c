/*
 * log.c - the small logging API both halves share.
 *
 * Each call formats its whole line into a stack buffer and hands it to
 * the target in one piece: one write(2) on stderr (at most PIPE_BUF bytes,
 * so even a pipe or a journal never interleaves two threads' lines), or
 * one syslog(3) call. No locks and no allocation: the settings are
 * atomics that a reload may change while other threads are logging.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * Longest line written, newline included. Within PIPE_BUF (4096 on Linux,
 * at least 512 by POSIX) so that a write to a pipe is atomic.
 */
#define LOG_LINE_MAX	2048
#if defined(PIPE_BUF) && PIPE_BUF < LOG_LINE_MAX
#error "LOG_LINE_MAX must not exceed PIPE_BUF"
#endif

/*
 * The settings. progname is the caller's string, which must outlive
 * logging (a literal or argv[0]): a pointer swaps atomically, a copy
 * would not. The defaults let code log before log_init().
 */
static _Atomic(const char *)	log_progname = "socks64";
static atomic_int		log_target = LOG_TARGET_STDERR;
static atomic_int		log_level = LOG_LEVEL_INFO;

/*
 * The pid every stderr line carries, cached: getpid() is a system call,
 * one per line (a session's worth). 0: not known yet. A fork (the
 * daemon's daemon(), or a program the shim is loaded into) clears it in
 * the child, through a pthread_atfork() handler registered before the
 * first pid is cached, so a cached pid never outlives its process.
 */
static atomic_long		log_pid;
static pthread_once_t		log_pid_once = PTHREAD_ONCE_INIT;

static void
log_pid_forget(void)
{
	atomic_store_explicit(&log_pid, 0, memory_order_relaxed);
}

static void
log_pid_register(void)
{
	(void)pthread_atfork(NULL, NULL, log_pid_forget);
}

static long
log_getpid(void)
{
	long pid = atomic_load_explicit(&log_pid, memory_order_relaxed);

	if (pid == 0) {
		pthread_once(&log_pid_once, log_pid_register);
		pid = (long)getpid();
		atomic_store_explicit(&log_pid, pid, memory_order_relaxed);
	}
	return pid;
}

/*
 * Picks the text out of either strerror_r: the GNU one returns a string
 * (maybe static, maybe buf), the XSI one (musl, or without _GNU_SOURCE)
 * returns 0 and fills buf.
 */
static const char *
log_strerror_gnu(char *ret, char *buf)
{
	(void)buf;
	return ret;
}

static const char *
log_strerror_xsi(int ret, char *buf)
{
	return ret == 0 ? buf : "unknown error";
}

#define STRERROR_PICK(ret, buf) \
	_Generic((ret), char *: log_strerror_gnu, \
	    default: log_strerror_xsi)(ret, buf)

static const char *
log_errno_text(int e, char *buf, size_t len)
{
	buf[0] = '\0';
	return STRERROR_PICK(strerror_r(e, buf, len), buf);
}

void
log_init(const char *progname, enum log_target target, enum log_level level)
{
	int saved = errno;
	int old;

	if (progname == NULL)
		progname = "socks64";
	atomic_store(&log_progname, progname);
	log_set_level(level);
	if (target != LOG_TARGET_SYSLOG && target != LOG_TARGET_NONE)
		target = LOG_TARGET_STDERR;
	old = atomic_exchange(&log_target, (int)target);
	/*
	 * openlog() again even if already on syslog, since the name may have
	 * changed; LOG_NDELAY connects now, before a chroot or a privilege
	 * drop could take /dev/log away.
	 */
	if (target == LOG_TARGET_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (old == LOG_TARGET_SYSLOG)
		closelog();
	errno = saved;
}

void
log_set_level(enum log_level level)
{
	if ((int)level < LOG_LEVEL_ERROR)
		level = LOG_LEVEL_ERROR;
	if (level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_DEBUG;
	atomic_store(&log_level, (int)level);
}

enum log_level
log_get_level(void)
{
	return (enum log_level)atomic_load(&log_level);
}

int
log_enabled(enum log_level level)
{
	return atomic_load(&log_target) != LOG_TARGET_NONE &&
	    (int)level <= atomic_load(&log_level);
}

int
log_level_parse(const char *s)
{
	static const char *const names[] = {
		[LOG_LEVEL_ERROR] = "error",
		[LOG_LEVEL_WARN] = "warn",
		[LOG_LEVEL_INFO] = "info",
		[LOG_LEVEL_DEBUG] = "debug",
	};
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* "2026-11-23T10:00:00.123Z gatewayd[42]: " into buf; returns its length. */
static size_t
log_format_prefix(char *buf, size_t len, const char *progname)
{
	struct timespec ts;
	struct tm tm;
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		ts.tv_nsec = 0;
	}
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld]: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000), progname,
	    log_getpid());
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

static int
log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARN:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

/*
 * Formats the message (and ": strerror" if err >= 0) into buf[0..len),
 * NUL-terminated, ending in "..." if it had to be cut. Returns its length.
 */
static size_t
log_format_message(char *buf, size_t len, int err, const char *fmt, va_list ap)
{
	char ebuf[128];
	size_t used;
	int n;

	n = vsnprintf(buf, len, fmt, ap);
	if (n < 0) {
		n = snprintf(buf, len, "(bad log format)");
		if (n < 0)
			n = 0;
	}
	used = (size_t)n;
	if (used < len && err >= 0) {
		n = snprintf(buf + used, len - used, ": %s",
		    log_errno_text(err, ebuf, sizeof(ebuf)));
		used += n > 0 ? (size_t)n : 0;
	}
	if (used >= len) {
		used = len - 1;
		if (len > 4)
			memcpy(buf + used - 3, "...", 3);
	}
	return used;
}

/*
 * Writes one line at level, with strerror(errno) appended if with_errno.
 * errno is kept: the caller may still be handling it.
 */
void
log_msg(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	const char *progname;
	size_t off, n;
	ssize_t w;
	int saved = errno, target, tries;

	if (!log_enabled(level))
		return;
	target = atomic_load(&log_target);
	progname = atomic_load(&log_progname);
	if (target == LOG_TARGET_SYSLOG) {
		log_format_message(line, sizeof(line), with_errno ? saved : -1,
		    fmt, ap);
		syslog(log_syslog_priority(level), "%s", line);
		errno = saved;
		return;
	}
	/* The message's terminating NUL is where the newline goes. */
	off = log_format_prefix(line, sizeof(line), progname);
	n = log_format_message(line + off, sizeof(line) - off,
	    with_errno ? saved : -1, fmt, ap);
	line[off + n] = '\n';
	/* A write a signal stopped before any byte is retried, a few times. */
	for (tries = 0; tries < 3; tries++) {
		w = write(STDERR_FILENO, line, off + n + 1);
		if (w >= 0 || errno != EINTR)
			break;
	}
	errno = saved;
}

#define LOG_VA(level, with_errno) do {				\
	va_list ap;						\
								\
	va_start(ap, fmt);					\
	log_msg((level), (with_errno), fmt, ap);		\
	va_end(ap);						\
} while (0)

void
log_warn(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_WARN, 1);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_WARN, 0);
}

void
log_error(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_ERROR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_ERROR, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_VA(LOG_LEVEL_ERROR, 0);
	exit(1);
}

/* Whether log_safe_mem() writes byte c as \xNN. */
static int
log_escaped(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '\\';
}

/*
 * Escapes inlen bytes for a log line: printable ASCII other than space
 * and backslash is kept, everything else becomes \xNN, so a name from
 * the network can neither forge a line (newline) nor a key (space) nor
 * reach a terminal as an escape sequence. Cut at a whole escape with
 * "..." when out is too small. Returns out.
 */
char *
log_safe_mem(const void *in, size_t inlen, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i, o = 0, total = 0, room;

	if (len == 0)
		return out;
	if (p == NULL) {
		snprintf(out, len, "(null)");
		return out;
	}
	for (i = 0; i < inlen; i++)
		total += log_escaped(p[i]) ? 4 : 1;
	/* Too long: stop where "..." and the NUL still fit after. */
	room = total < len ? len - 1 : (len > 3 ? len - 4 : 0);
	for (i = 0; i < inlen; i++) {
		if (!log_escaped(p[i])) {
			if (o + 1 > room)
				break;
			out[o++] = (char)p[i];
		} else {
			if (o + 4 > room)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 0xf];
		}
	}
	if (i < inlen && len > 3) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* log_safe_mem() of a NUL-terminated string; NULL gives "(null)". */
char *
log_safe(const char *in, char *out, size_t len)
{
	return log_safe_mem(in, in != NULL ? strlen(in) : 0, out, len);
}
