/*
 * srclimit.c - live sessions per source, for max-clients-per-source
 * (issue 6): one client must not take every one of max-clients.
 *
 * A source is an IPv4 address or an IPv6 /64, as in authdelay.c: a host
 * may use any address of its /64 (privacy addresses), so counting each
 * IPv6 address apart would limit no one. A hash table holds one entry
 * per source that has a session now, and the entry goes when its last
 * session does: memory follows the live sessions (which max-clients
 * bounds), never the sources ever seen, and a source that never got a
 * connection through (a spoofed SYN never does) costs nothing. The
 * bucket is picked with a per-process random seed, so sources cannot be
 * chosen to land in one bucket. One mutex: taken once per accept and
 * once per session end, for a few compares.
 */
#include <netinet/in.h>
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/gatewayd.h"

#define SRCLIMIT_BUCKETS	1024	/* a power of two */

struct srclimit_entry {
	struct srclimit_entry	*next;
	uint8_t			 key[ADDR_SOURCE_KEYLEN];
	unsigned int		 n;	/* live sessions; never 0 here */
};

/* Everything below is read and written under srclimit_lock only. */
static pthread_mutex_t		 srclimit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct srclimit_entry	*srclimit_buckets[SRCLIMIT_BUCKETS];
static uint64_t			 srclimit_seed;
static int			 srclimit_seeded;

/*
 * The bucket of key: FNV-1a over the seeded key, then a final mix so
 * every key bit reaches the low bits the mask keeps. Called locked.
 */
static size_t
srclimit_bucket(const uint8_t key[ADDR_SOURCE_KEYLEN])
{
	struct timespec	ts;
	uint64_t	h;
	size_t		i;

	if (!srclimit_seeded) {
		/* No entropy yet (early boot): the clock still varies it. */
		if (getrandom(&srclimit_seed, sizeof(srclimit_seed),
		    GRND_NONBLOCK) != (ssize_t)sizeof(srclimit_seed)) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			srclimit_seed = (uint64_t)ts.tv_nsec ^
			    ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)getpid();
		}
		srclimit_seeded = 1;
	}
	h = 0xcbf29ce484222325ull ^ srclimit_seed;
	for (i = 0; i < ADDR_SOURCE_KEYLEN; i++) {
		h ^= key[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (size_t)(h & (SRCLIMIT_BUCKETS - 1));
}

/* The link pointing at key's entry (*link NULL: none). Called locked. */
static struct srclimit_entry **
srclimit_find(const uint8_t key[ADDR_SOURCE_KEYLEN])
{
	struct srclimit_entry	**link;

	link = &srclimit_buckets[srclimit_bucket(key)];
	while (*link != NULL && memcmp((*link)->key, key,
	    ADDR_SOURCE_KEYLEN) != 0)
		link = &(*link)->next;
	return link;
}

int
srclimit_take(const struct sockaddr *src, unsigned int max)
{
	struct srclimit_entry	**link, *e;
	uint8_t			  key[ADDR_SOURCE_KEYLEN];
	int			  rc = 0;

	if (addr_source_key(src, key) == -1)
		return 0;
	pthread_mutex_lock(&srclimit_lock);
	link = srclimit_find(key);
	if ((e = *link) != NULL) {
		if (max > 0 && e->n >= max) {
			errno = EUSERS;
			rc = -1;
		} else
			e->n++;
	} else if ((e = calloc(1, sizeof(*e))) == NULL)
		rc = -1;		/* errno ENOMEM */
	else {
		memcpy(e->key, key, ADDR_SOURCE_KEYLEN);
		e->n = 1;
		*link = e;
	}
	pthread_mutex_unlock(&srclimit_lock);
	return rc;
}

void
srclimit_release(const struct sockaddr *src)
{
	struct srclimit_entry	**link, *e;
	uint8_t			  key[ADDR_SOURCE_KEYLEN];

	if (addr_source_key(src, key) == -1)
		return;
	pthread_mutex_lock(&srclimit_lock);
	link = srclimit_find(key);
	if ((e = *link) != NULL && --e->n == 0) {
		*link = e->next;
		free(e);
	}
	pthread_mutex_unlock(&srclimit_lock);
}

unsigned int
srclimit_count(const struct sockaddr *src)
{
	struct srclimit_entry	*e;
	uint8_t			 key[ADDR_SOURCE_KEYLEN];
	unsigned int		 n = 0;

	if (addr_source_key(src, key) == -1)
		return 0;
	pthread_mutex_lock(&srclimit_lock);
	if ((e = *srclimit_find(key)) != NULL)
		n = e->n;
	pthread_mutex_unlock(&srclimit_lock);
	return n;
}

unsigned int
srclimit_sources(void)
{
	struct srclimit_entry	*e;
	unsigned int		 n = 0;
	size_t			 i;

	pthread_mutex_lock(&srclimit_lock);
	for (i = 0; i < SRCLIMIT_BUCKETS; i++)
		for (e = srclimit_buckets[i]; e != NULL; e = e->next)
			n++;
	pthread_mutex_unlock(&srclimit_lock);
	return n;
}
