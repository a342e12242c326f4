/*
 * authdelay.c - how long to hold back the answer to a failed login, so
 * that guessing passwords from one place gets slow (issue 6).
 *
 * A small fixed table remembers recent failures per source: an IPv4
 * address, or an IPv6 /64 (one host's addresses are any in its /64).
 * The first few failures cost nothing, so a user who mistypes is not
 * punished; then the delay starts at AUTHDELAY_FIRST_MS and doubles up
 * to AUTHDELAY_MAX_MS. The count halves for every AUTHDELAY_QUIET_MS
 * without a failure, so a source that stops is soon forgotten. Pure:
 * the caller passes the clock and holds whatever lock it needs.
 */
#include <netinet/in.h>

#include <string.h>

#include "gateway/gatewayd.h"

/* The failures slot e still counts at now: halved per quiet period. */
static unsigned int
authdelay_count(const struct authdelay_slot *e, int64_t now)
{
	int64_t	quiet = now - e->last;
	int64_t	halvings = quiet > 0 ? quiet / AUTHDELAY_QUIET_MS : 0;

	if (e->failures == 0 || halvings >= 32)
		return 0;
	return e->failures >> halvings;
}

/*
 * The slot for key: its own, else a free one, else the one that counts
 * least now (the oldest of those): a crowd of one-time failures evicts
 * each other, not the source being slowed down.
 */
static struct authdelay_slot *
authdelay_slot(struct authdelay *t, const uint8_t *key, int64_t now)
{
	struct authdelay_slot	*e, *victim = NULL;
	unsigned int		 n, least = 0;
	size_t			 i;

	for (i = 0; i < AUTHDELAY_SLOTS; i++) {
		e = &t->v[i];
		if (e->failures > 0 && memcmp(e->key, key,
		    ADDR_SOURCE_KEYLEN) == 0)
			return e;
	}
	for (i = 0; i < AUTHDELAY_SLOTS; i++) {
		e = &t->v[i];
		n = authdelay_count(e, now);
		if (victim == NULL || n < least ||
		    (n == least && e->last < victim->last)) {
			victim = e;
			least = n;
		}
	}
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->key, key, ADDR_SOURCE_KEYLEN);
	return victim;
}

unsigned int
authdelay_delay(unsigned int failures)
{
	unsigned int	steps;

	if (failures <= AUTHDELAY_FREE)
		return 0;
	steps = failures - AUTHDELAY_FREE - 1;
	/* FIRST << 6 is past MAX already: no need to shift further. */
	if (steps >= 6 || (AUTHDELAY_FIRST_MS << steps) > AUTHDELAY_MAX_MS)
		return AUTHDELAY_MAX_MS;
	return AUTHDELAY_FIRST_MS << steps;
}

unsigned int
authdelay_fail(struct authdelay *t, const struct sockaddr *src, int64_t now,
    unsigned int cap_ms)
{
	struct authdelay_slot	*e;
	uint8_t			 key[ADDR_SOURCE_KEYLEN];
	unsigned int		 n, ms;

	if (addr_source_key(src, key) == -1)
		return 0;
	e = authdelay_slot(t, key, now);
	n = authdelay_count(e, now);
	if (n < UINT32_MAX)
		n++;
	e->failures = n;
	e->last = now;
	ms = authdelay_delay(n);
	return ms < cap_ms ? ms : cap_ms;
}
