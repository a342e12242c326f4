/*
 * bench.h - what the load generator and the bench server agree on.
 *
 * A data connection starts with a 24-byte header naming the job (sink:
 * read and verify LEN bytes, then report; source: send LEN bytes), so
 * one port serves both directions. The bytes are a fixed pseudo-random
 * pattern read at an offset: the receiver compares every chunk with
 * memcmp against the same pattern, which costs far less than the copy
 * it checks, so the integrity check does not cap the throughput.
 */
#ifndef SOCKS64_BENCH_H
#define SOCKS64_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BENCH_MAGIC	0x53363442u	/* "S64B" */
#define BENCH_SINK	1u		/* client uploads, server verifies */
#define BENCH_SOURCE	2u		/* server sends, client verifies */
#define BENCH_HDR_LEN	24		/* magic, mode, len, seed */
#define BENCH_STATUS_LEN 16		/* sink's answer: received, bad */

/*
 * A prime just under 1 MiB: chunk sizes are powers of two, so with this
 * period a lost or repeated chunk never lands on the same pattern bytes.
 */
#define BENCH_PAT_LEN	1048573u
/* Largest single read or write, so pat + off .. + len stays in bounds. */
#define BENCH_CHUNK	(256u * 1024u)

static inline void
bench_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
bench_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
bench_put64(uint8_t *p, uint64_t v)
{
	bench_put32(p, (uint32_t)(v >> 32));
	bench_put32(p + 4, (uint32_t)v);
}

static inline uint64_t
bench_get64(const uint8_t *p)
{
	return (uint64_t)bench_get32(p) << 32 | bench_get32(p + 4);
}

/*
 * Fills pat (2 * BENCH_PAT_LEN bytes) with the pattern twice over, so
 * that any window of up to BENCH_PAT_LEN bytes is contiguous.
 */
static inline void
bench_pattern_init(uint8_t *pat)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	uint32_t i;

	for (i = 0; i < BENCH_PAT_LEN; i++) {
		/* xorshift64: cheap, and no byte value is favoured. */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		pat[i] = (uint8_t)(x >> 32);
	}
	memcpy(pat + BENCH_PAT_LEN, pat, BENCH_PAT_LEN);
}

/* Where stream byte pos of a stream with this seed sits in the pattern. */
static inline size_t
bench_pattern_off(uint64_t seed, uint64_t pos)
{
	return (size_t)((seed + pos) % BENCH_PAT_LEN);
}

#endif /* SOCKS64_BENCH_H */
