/*
 * fuzz.h - what the fuzz targets in tests/fuzz/ share.
 *
 * Each tests/fuzz/fuzz_X.c defines fuzz_X_one(), which feeds one input to
 * a parser and checks the parser's contract on it, aborting through
 * FUZZ_CHECK when it is broken. Built with -DFUZZ_MAIN the same file also
 * defines LLVMFuzzerTestOneInput for libFuzzer (`make fuzz`); built
 * without, it is linked into tests/unit/test_fuzz_regress.c, which
 * replays the seed corpora and every kept crash under `make check`.
 */
#ifndef SOCKS64_FUZZ_H
#define SOCKS64_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "conflex.h"
#include "socks5.h"

/* The targets: 0 always; a broken contract aborts. */
int	fuzz_addr_one(const uint8_t *data, size_t len);
int	fuzz_conflex_one(const uint8_t *data, size_t len);
int	fuzz_gateway_conf_one(const uint8_t *data, size_t len);
int	fuzz_greeting_one(const uint8_t *data, size_t len);
int	fuzz_method_choice_one(const uint8_t *data, size_t len);
int	fuzz_reply_one(const uint8_t *data, size_t len);
int	fuzz_request_one(const uint8_t *data, size_t len);
int	fuzz_shim_conf_one(const uint8_t *data, size_t len);
int	fuzz_shim_env_one(const uint8_t *data, size_t len);
int	fuzz_udp_header_one(const uint8_t *data, size_t len);
int	fuzz_userpass_one(const uint8_t *data, size_t len);
int	fuzz_userpass_status_one(const uint8_t *data, size_t len);
int	fuzz_users_one(const uint8_t *data, size_t len);

#ifdef FUZZ_MAIN
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);
/* The libFuzzer entry point: one line per target file. */
#define FUZZ_TARGET(one)						\
int									\
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)		\
{									\
	return one(data, len);						\
}
#else
#define FUZZ_TARGET(one)
#endif

/*
 * A broken contract: say which check and where, then abort, so that
 * libFuzzer keeps the input and the replay test's child dies of SIGABRT.
 * stdout is flushed first: a replayed test's messages must not be lost.
 */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fflush(stdout);
	fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, what);
	abort();
}

/*
 * A copy of data[0..len) in a buffer of exactly len bytes (one byte for
 * len 0), so that AddressSanitizer reports a read past the end; with
 * nul, a NUL after it for parsers that take C strings.
 */
static inline char *
fuzz_dup(const uint8_t *data, size_t len, int nul)
{
	char *p = malloc(len + (nul ? 1 : 0) + (len == 0 && !nul));

	FUZZ_CHECK(p != NULL);
	if (len > 0)
		memcpy(p, data, len);
	if (nul)
		p[len] = '\0';
	return p;
}

/*
 * What conf_error() promises about the text it keeps, whatever the
 * words it quotes: within the buffer, NUL-terminated at used, whole
 * lines only, no control character but the newlines, never more lines
 * than errors counted (plus the "..." one). fuzz_check_errors_since
 * checks only the text after from (what the last calls added), so that
 * a target may check after every call without going quadratic.
 */
static inline void
fuzz_check_errors_since(const struct conf_errors *e, size_t from)
{
	size_t i, lines = 0;

	FUZZ_CHECK(e->count >= 0);
	FUZZ_CHECK(e->used < sizeof(e->text));
	FUZZ_CHECK(from <= e->used);
	FUZZ_CHECK(e->text[e->used] == '\0');
	FUZZ_CHECK(memchr(e->text + from, '\0', e->used - from) == NULL);
	FUZZ_CHECK(e->used == 0 || e->text[e->used - 1] == '\n');
	for (i = from; i < e->used; i++) {
		FUZZ_CHECK((unsigned char)e->text[i] >= 0x20 ||
		    e->text[i] == '\n');
		FUZZ_CHECK(e->text[i] != 0x7f);
		lines += e->text[i] == '\n';
	}
	if (from == 0)
		FUZZ_CHECK(lines <= (size_t)e->count + 1);
	FUZZ_CHECK(e->count > 0 || e->used == 0);
}

static inline void
fuzz_check_errors(const struct conf_errors *e)
{
	fuzz_check_errors_since(e, 0);
}

/*
 * The socks5_parse_* contract, common to the seven parsers (socks5.h):
 * parsed prefix by prefix, each in a buffer of its exact length, the
 * input gives SOCKS5_NEED_MORE (with *used 0) for every prefix shorter
 * than some k, and from k on one final answer that no longer changes
 * as bytes are added: SOCKS5_OK with the same *used (1..k), or the same
 * error with *used 0 (SOCKS5_ERR_FRAGMENT: with the header's length).
 * No message is longer than max, so NEED_MORE past it is a bug too.
 * Returns the answer for the whole of data; *out and *used are left as
 * that call set them.
 */
typedef enum socks5_status (*fuzz_socks5_fn)(const uint8_t *buf,
    size_t len, void *out, size_t *used);

static inline enum socks5_status
fuzz_socks5_prefixes(fuzz_socks5_fn parse, const uint8_t *data, size_t len,
    size_t max, void *out, size_t *usedp)
{
	enum socks5_status st = SOCKS5_NEED_MORE, first = SOCKS5_NEED_MORE;
	size_t k, used = 0, first_used = 0, first_k = 0;
	uint8_t *p;

	for (k = 0; k <= len; k++) {
		/* Past the final answer only a few lengths are worth it. */
		if (first != SOCKS5_NEED_MORE && k != first_k + 1 &&
		    k != len)
			continue;
		p = (uint8_t *)fuzz_dup(data, k, 0);
		used = (size_t)-1;
		st = parse(p, k, out, &used);
		free(p);
		FUZZ_CHECK(st == SOCKS5_OK || st == SOCKS5_NEED_MORE ||
		    (st <= SOCKS5_ERR_VERSION && st >= SOCKS5_ERR_FRAGMENT));
		FUZZ_CHECK(used <= k);
		FUZZ_CHECK(socks5_status_str(st) != NULL);
		if (st == SOCKS5_NEED_MORE) {
			FUZZ_CHECK(first == SOCKS5_NEED_MORE);
			FUZZ_CHECK(used == 0);
			FUZZ_CHECK(k < max);
			continue;
		}
		if (st == SOCKS5_OK || st == SOCKS5_ERR_FRAGMENT)
			FUZZ_CHECK(used > 0 && used <= max);
		else
			FUZZ_CHECK(used == 0);
		if (first == SOCKS5_NEED_MORE) {
			first = st;
			first_used = used;
			first_k = k;
		}
		FUZZ_CHECK(st == first);
		FUZZ_CHECK(used == first_used);
	}
	*usedp = used;
	return st;
}

/*
 * A parsed address is one the encoders accept back: a known ATYP, and a
 * DOMAINNAME that is a valid name, NUL-terminated at its length.
 */
static inline void
fuzz_check_socks5_addr(const struct socks5_addr *a)
{
	size_t n;

	FUZZ_CHECK(a->atyp == SOCKS5_ATYP_IPV4 ||
	    a->atyp == SOCKS5_ATYP_IPV6 || a->atyp == SOCKS5_ATYP_DOMAIN);
	if (a->atyp != SOCKS5_ATYP_DOMAIN)
		return;
	n = strnlen(a->name, sizeof(a->name));
	FUZZ_CHECK(n > 0 && n < sizeof(a->name));
	FUZZ_CHECK(socks5_name_valid((const uint8_t *)a->name, n) == 0);
}

/*
 * A parsed IPv4 or IPv6 address survives socks5_addr_to_sockaddr and
 * socks5_addr_from_sockaddr, except that an IPv4-mapped IPv6 address
 * comes back as the IPv4 one it carries (socks5.h); a DOMAINNAME is
 * refused with EAFNOSUPPORT, a sockaddr too small with ENOSPC.
 */
static inline void
fuzz_check_socks5_sockaddr(const struct socks5_addr *a)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct sockaddr_storage ss;
	struct socks5_addr back;
	unsigned int salen = sizeof(ss), small;

	if (a->atyp == SOCKS5_ATYP_DOMAIN) {
		errno = 0;
		FUZZ_CHECK(socks5_addr_to_sockaddr(a, (struct sockaddr *)&ss,
		    &salen) == -1 && errno == EAFNOSUPPORT);
		return;
	}
	small = a->atyp == SOCKS5_ATYP_IPV4 ?
	    sizeof(struct sockaddr_in) - 1 : sizeof(struct sockaddr_in6) - 1;
	errno = 0;
	FUZZ_CHECK(socks5_addr_to_sockaddr(a, (struct sockaddr *)&ss,
	    &small) == -1 && errno == ENOSPC);
	FUZZ_CHECK(socks5_addr_to_sockaddr(a, (struct sockaddr *)&ss,
	    &salen) == 0);
	FUZZ_CHECK(salen == (a->atyp == SOCKS5_ATYP_IPV4 ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
	memset(&back, 0x5a, sizeof(back));
	FUZZ_CHECK(socks5_addr_from_sockaddr(&back,
	    (struct sockaddr *)&ss) == 0);
	FUZZ_CHECK(back.port == a->port);
	if (a->atyp == SOCKS5_ATYP_IPV6 && memcmp(a->ip, mapped, 12) == 0) {
		FUZZ_CHECK(back.atyp == SOCKS5_ATYP_IPV4);
		FUZZ_CHECK(memcmp(back.ip, a->ip + 12, 4) == 0);
		return;
	}
	FUZZ_CHECK(back.atyp == a->atyp);
	FUZZ_CHECK(memcmp(back.ip, a->ip,
	    a->atyp == SOCKS5_ATYP_IPV4 ? 4 : 16) == 0);
}

#endif /* SOCKS64_FUZZ_H */
