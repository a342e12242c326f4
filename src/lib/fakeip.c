/*
 * fakeip.c - the fake address pool and the name <-> fake address table
 * (RFC 3089 section 3, the "mapping table" of the Socks Lib).
 *
 * A delegated name gets an address from a reserved range instead of a
 * real one; connect() later finds the name again from that address and
 * sends it to the gateway. The address is derived from a hash of the
 * name, so a name keeps its address from run to run unless two names
 * collide in one process, and an address once given is never given to
 * another name in the life of the process (nothing is ever removed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define FAKEIP_MIN_SLOTS	64
#define FAKEIP_MAX_ENTRIES	(1u << 30)

/* One range: base (host bits zero) plus an offset of up to 64 bits. */
struct fakeip_range {
	int		 family;
	uint8_t		 base[16];
	unsigned int	 prefix;
	unsigned int	 hostbits;
	uint64_t	 usable;	/* offsets 1..usable may be handed out */
	uint64_t	 used;
	int		 warned;	/* exhaustion already logged */
};

struct fakeip_entry {
	char		*name;		/* normalised; owned */
	int		 family;
	uint64_t	 offset;
};

/*
 * Two open-addressing indexes over one entry array: by (name, family)
 * and by (family, offset). A slot holds an entry index + 1, 0 = empty;
 * both have nslots slots (a power of two, at most half full). Entries
 * are never removed, so there are no tombstones.
 */
struct fakeip_table {
	pthread_mutex_t		 lock;	/* guards everything below */
	struct fakeip_range	 v4, v6;	/* immutable after _new */
	struct fakeip_entry	*entries;
	size_t			 nentries, capentries;
	uint32_t		*byname, *byaddr;
	size_t			 nslots;
};

/*
 * The process's table, made on first use from shim_conf()'s ranges.
 * The pointer is written once, inside real_once and under
 * fakeip_publish_lock, and only read after. The fork handlers
 * (registered at load, fork.c) hold the publish lock and then the
 * table's own lock across fork(), so both processes get a consistent
 * table with an unlocked mutex, even when another thread is making
 * the table at that moment. fakeip_fork_table is the table they
 * locked (under the publish lock).
 */
static struct fakeip_table *fakeip_global_table;
static struct real_once fakeip_once = REAL_ONCE_INIT;
static pthread_mutex_t fakeip_publish_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fakeip_table *fakeip_fork_table;

/* ------------------------------------------------------------------ */
/* names and hashing                                                    */

int
fakeip_normalise(const char *name, char *out, size_t len)
{
	size_t n, i;

	if (name == NULL)
		return -1;
	n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		n--;
	if (n == 0 || n >= len)
		return -1;
	for (i = 0; i < n; i++) {
		char c = name[i];

		out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
	return (int)n;
}

/*
 * FNV-1a over the normalised name, then a splitmix64 finish so the low
 * bits (used for the table slot and the offset) depend on every byte.
 * Part of the address a name gets: changing it moves every fake address.
 */
static uint64_t
fakeip_hash(const char *s, int family)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= (uint64_t)family;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static uint64_t
fakeip_hash_offset(uint64_t off, int family)
{
	uint64_t h = off ^ ((uint64_t)family << 56);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

/* ------------------------------------------------------------------ */
/* ranges                                                               */

static int
fakeip_range_init(struct fakeip_range *r, const struct addr_net *net,
    int family)
{
	unsigned int bits = family == AF_INET ? 32 : 128;

	memset(r, 0, sizeof(*r));
	r->family = family;
	if (net == NULL || net->family != family || net->prefix > bits)
		return -1;
	memcpy(r->base, net->bytes, family == AF_INET ? 4 : 16);
	r->prefix = net->prefix;
	r->hostbits = bits - net->prefix;
	/* Skip the all-zeros and all-ones ends (network, broadcast-like). */
	if (r->hostbits >= 64)
		r->usable = UINT64_MAX;
	else if (r->hostbits >= 2)
		r->usable = (((uint64_t)1) << r->hostbits) - 2;
	else
		r->usable = 0;
	return 0;
}

/* The address bytes of sa and the range they belong to, or NULL. */
static const struct fakeip_range *
fakeip_range_of(const struct fakeip_table *t, const struct sockaddr *sa,
    const uint8_t **bytes)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	const struct fakeip_range *r;
	const uint8_t *b;
	unsigned int full, rest;

	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
		r = &t->v4;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr.s6_addr;
		/* An IPv4-mapped fake (AI_V4MAPPED answers) is the IPv4 one. */
		if (memcmp(b, mapped, sizeof(mapped)) == 0) {
			b += 12;
			r = &t->v4;
		} else
			r = &t->v6;
	} else
		return NULL;
	if (r->usable == 0)
		return NULL;
	full = r->prefix / 8;
	rest = r->prefix % 8;
	if (memcmp(b, r->base, full) != 0)
		return NULL;
	if (rest != 0 && ((b[full] ^ r->base[full]) &
	    (uint8_t)(0xff << (8 - rest))) != 0)
		return NULL;
	*bytes = b;
	return r;
}

/* The offset of bytes within r, when it is one we may hand out. */
static int
fakeip_offset_of(const struct fakeip_range *r, const uint8_t *b,
    uint64_t *off)
{
	unsigned int len = r->family == AF_INET ? 4 : 16, i;
	uint64_t v = 0;

	/*
	 * Offsets live in the low 64 bits: an IPv6 address whose host bits
	 * above them are set was never handed out (the prefix bits there
	 * were matched already, and the base's host bits are zero).
	 */
	if (len == 16 && memcmp(b, r->base, 8) != 0)
		return -1;
	for (i = len > 8 ? len - 8 : 0; i < len; i++)
		v = (v << 8) | b[i];
	if (r->hostbits < 64)
		v &= (((uint64_t)1) << r->hostbits) - 1;
	if (v == 0 || v > r->usable)
		return -1;
	*off = v;
	return 0;
}

static void
fakeip_fill(const struct fakeip_range *r, uint64_t off, struct sockaddr *sa,
    socklen_t *salen)
{
	uint8_t b[16];
	unsigned int len = r->family == AF_INET ? 4 : 16, i;

	memcpy(b, r->base, len);
	/* off < 2^hostbits, so OR-ing it in cannot touch the prefix. */
	for (i = 0; i < 8 && i < len; i++)
		b[len - 1 - i] |= (uint8_t)(off >> (8 * i));
	if (r->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)(void *)sa;

		memset(sin, 0, sizeof(*sin));
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, b, 4);
		*salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)sa;

		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, b, 16);
		*salen = sizeof(*sin6);
	}
}

/* ------------------------------------------------------------------ */
/* the indexes (callers hold the lock)                                  */

static size_t
fakeip_find_name(const struct fakeip_table *t, const char *name,
    int family, uint64_t h)
{
	size_t mask = t->nslots - 1, i;
	uint32_t e;

	for (i = h & mask; (e = t->byname[i]) != 0; i = (i + 1) & mask) {
		const struct fakeip_entry *en = &t->entries[e - 1];

		if (en->family == family && strcmp(en->name, name) == 0)
			return e;
	}
	return 0;
}

static size_t
fakeip_find_addr(const struct fakeip_table *t, int family, uint64_t off)
{
	size_t mask = t->nslots - 1, i;
	uint32_t e;

	for (i = fakeip_hash_offset(off, family) & mask;
	    (e = t->byaddr[i]) != 0; i = (i + 1) & mask) {
		const struct fakeip_entry *en = &t->entries[e - 1];

		if (en->family == family && en->offset == off)
			return e;
	}
	return 0;
}

static void
fakeip_index(struct fakeip_table *t, uint32_t e)
{
	const struct fakeip_entry *en = &t->entries[e - 1];
	size_t mask = t->nslots - 1, i;

	i = fakeip_hash(en->name, en->family) & mask;
	while (t->byname[i] != 0)
		i = (i + 1) & mask;
	t->byname[i] = e;
	i = fakeip_hash_offset(en->offset, en->family) & mask;
	while (t->byaddr[i] != 0)
		i = (i + 1) & mask;
	t->byaddr[i] = e;
}

/* Makes room for one more entry: both indexes stay at most half full. */
static int
fakeip_grow(struct fakeip_table *t)
{
	uint32_t *byname, *byaddr;
	size_t nslots, i;

	if (t->nentries >= FAKEIP_MAX_ENTRIES) {
		errno = ENOMEM;
		return -1;
	}
	if (t->nentries == t->capentries) {
		size_t cap = t->capentries ? t->capentries * 2 : 16;
		struct fakeip_entry *v;

		if ((v = realloc(t->entries, cap * sizeof(*v))) == NULL)
			return -1;
		t->entries = v;
		t->capentries = cap;
	}
	if ((t->nentries + 1) * 2 <= t->nslots)
		return 0;
	nslots = t->nslots ? t->nslots * 2 : FAKEIP_MIN_SLOTS;
	byname = calloc(nslots, sizeof(*byname));
	byaddr = calloc(nslots, sizeof(*byaddr));
	if (byname == NULL || byaddr == NULL) {
		free(byname);
		free(byaddr);
		errno = ENOMEM;
		return -1;
	}
	free(t->byname);
	free(t->byaddr);
	t->byname = byname;
	t->byaddr = byaddr;
	t->nslots = nslots;
	for (i = 0; i < t->nentries; i++)
		fakeip_index(t, (uint32_t)(i + 1));
	return 0;
}

/* ------------------------------------------------------------------ */
/* the table                                                            */

struct fakeip_table *
fakeip_table_new(const struct addr_net *v4, const struct addr_net *v6)
{
	struct fakeip_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	/* A missing or unusable range leaves that family without fakes. */
	(void)fakeip_range_init(&t->v4, v4, AF_INET);
	(void)fakeip_range_init(&t->v6, v6, AF_INET6);
	return t;
}

void
fakeip_table_free(struct fakeip_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nentries; i++)
		free(t->entries[i].name);
	free(t->entries);
	free(t->byname);
	free(t->byaddr);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/*
 * Picks the offset for a new (name, family): the hash's slot in the
 * range, or the next free one after it. used < usable on entry, so a
 * free offset exists and the walk ends.
 */
static uint64_t
fakeip_pick(const struct fakeip_table *t, const struct fakeip_range *r,
    uint64_t h)
{
	uint64_t start = h % r->usable, i, off;

	for (i = 0; i < r->usable; i++) {
		off = 1 + (start + i) % r->usable;
		if (fakeip_find_addr(t, r->family, off) == 0)
			return off;
	}
	return 0;	/* not reached */
}

int
fakeip_table_assign(struct fakeip_table *t, const char *name, int family,
    struct sockaddr *sa, socklen_t *salen)
{
	struct fakeip_range *r;
	struct fakeip_entry *en;
	char norm[256], *copy;
	uint64_t h, off;
	size_t e;

	if (family == AF_INET)
		r = &t->v4;
	else if (family == AF_INET6)
		r = &t->v6;
	else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (fakeip_normalise(name, norm, sizeof(norm)) == -1) {
		errno = EINVAL;
		return -1;
	}
	h = fakeip_hash(norm, family);
	pthread_mutex_lock(&t->lock);
	if (t->nslots != 0 &&
	    (e = fakeip_find_name(t, norm, family, h)) != 0) {
		off = t->entries[e - 1].offset;
		goto found;
	}
	if (r->used >= r->usable) {
		int warn = !r->warned;
		char net[ADDR_STRLEN];
		struct addr_net an = { .family = family, .prefix = r->prefix };

		r->warned = 1;
		pthread_mutex_unlock(&t->lock);
		if (warn) {
			memcpy(an.bytes, r->base, sizeof(an.bytes));
			shim_log("fake address range %s exhausted: %s and "
			    "later new names not resolved", addr_format_net(
			    &an, net, sizeof(net)), norm);
		}
		errno = ENOSPC;
		return -1;
	}
	if ((copy = strdup(norm)) == NULL || fakeip_grow(t) == -1) {
		pthread_mutex_unlock(&t->lock);
		free(copy);
		errno = ENOMEM;
		return -1;
	}
	off = fakeip_pick(t, r, h);
	en = &t->entries[t->nentries++];
	en->name = copy;
	en->family = family;
	en->offset = off;
	r->used++;
	fakeip_index(t, (uint32_t)t->nentries);
found:
	pthread_mutex_unlock(&t->lock);
	fakeip_fill(r, off, sa, salen);
	return 0;
}

int
fakeip_table_in_range(const struct fakeip_table *t,
    const struct sockaddr *sa)
{
	const uint8_t *b;

	return t != NULL && fakeip_range_of(t, sa, &b) != NULL;
}

int
fakeip_table_lookup(struct fakeip_table *t, const struct sockaddr *sa,
    char *name, size_t len)
{
	const struct fakeip_range *r;
	const uint8_t *b;
	uint64_t off;
	size_t e, n;
	int found = 0;

	if (t == NULL || (r = fakeip_range_of(t, sa, &b)) == NULL ||
	    fakeip_offset_of(r, b, &off) == -1)
		return 0;
	pthread_mutex_lock(&t->lock);
	if (t->nslots != 0 && (e = fakeip_find_addr(t, r->family, off)) != 0) {
		const char *s = t->entries[e - 1].name;

		n = strlen(s);
		if (name != NULL && len > n) {
			memcpy(name, s, n + 1);
			found = 1;
		} else if (name == NULL)
			found = 1;
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* ------------------------------------------------------------------ */
/* the process's table                                                  */

static void
fakeip_prepare(void)
{
	pthread_mutex_lock(&fakeip_publish_lock);
	if ((fakeip_fork_table = fakeip_global_table) != NULL)
		pthread_mutex_lock(&fakeip_fork_table->lock);
}

static void
fakeip_after(void)
{
	if (fakeip_fork_table != NULL)
		pthread_mutex_unlock(&fakeip_fork_table->lock);
	pthread_mutex_unlock(&fakeip_publish_lock);
}

int
fakeip_atfork(void)
{
	return pthread_atfork(fakeip_prepare, fakeip_after, fakeip_after);
}

static void
fakeip_global_init(void)
{
	const struct shim_conf *c = shim_conf();
	struct fakeip_table *t;

	if ((t = fakeip_table_new(&c->fake_v4, &c->fake_v6)) == NULL)
		return;
	pthread_mutex_lock(&fakeip_publish_lock);
	fakeip_global_table = t;
	pthread_mutex_unlock(&fakeip_publish_lock);
}

/*
 * The table, or NULL when the shim is off (no gateway) or while the
 * configuration is still loading in this thread: its ranges are only
 * known once it is loaded. NULL too for a call re-entered from inside
 * the table's making (a program's malloc that looks a name up), which
 * cannot wait for itself (real_once).
 */
static struct fakeip_table *
fakeip_global(void)
{
	if (!shim_conf()->enabled ||
	    !real_once(&fakeip_once, fakeip_global_init))
		return NULL;
	return fakeip_global_table;
}

int
fakeip_assign(const char *name, int family, struct sockaddr *sa,
    socklen_t *salen)
{
	struct fakeip_table *t = fakeip_global();

	if (t == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return fakeip_table_assign(t, name, family, sa, salen);
}

int
fakeip_lookup(const struct sockaddr *sa, char *name, size_t len)
{
	return fakeip_table_lookup(fakeip_global(), sa, name, len);
}

int
fakeip_in_range(const struct sockaddr *sa)
{
	return fakeip_table_in_range(fakeip_global(), sa);
}
