/*
 * idmap.c - a small hash map from a 64-bit key (a socket cookie, a
 * pointer) to a pointer, for the shim's tables: the addrinfo lists it
 * allocated (getaddrinfo.c) and the program's sockets it took over
 * (sockreg.c).
 *
 * Open addressing with linear probing; removal shifts the entries that
 * follow back into the hole, so there are no tombstones and a lookup
 * stops at the first empty slot. Key 0 marks an empty slot and cannot
 * be stored. No locking and no I/O: each user guards its map with its
 * own lock.
 */
#include <stdlib.h>
#include <string.h>

#include "shim.h"

static size_t
idmap_home(const struct idmap *m, uint64_t key)
{
	/* A 64-bit finaliser: pointers and cookies have poor low bits. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (m->cap - 1);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t
idmap_slot(const struct idmap *m, uint64_t key)
{
	size_t i;

	for (i = idmap_home(m, key); m->keys[i] != 0 && m->keys[i] != key;
	    i = (i + 1) & (m->cap - 1))
		;
	return i;
}

static int
idmap_grow(struct idmap *m)
{
	struct idmap n;
	size_t i, j;

	n.cap = m->cap ? m->cap * 2 : 16;
	n.used = m->used;
	n.keys = calloc(n.cap, sizeof(*n.keys));
	n.vals = calloc(n.cap, sizeof(*n.vals));
	if (n.keys == NULL || n.vals == NULL) {
		free(n.keys);
		free(n.vals);
		return -1;
	}
	for (i = 0; i < m->cap; i++) {
		if (m->keys[i] == 0)
			continue;
		j = idmap_slot(&n, m->keys[i]);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	/* Field by field: the analyzer loses track through a struct copy. */
	m->keys = n.keys;
	m->vals = n.vals;
	m->cap = n.cap;
	return 0;
}

void *
idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i;

	if (m->cap == 0 || key == 0)
		return NULL;
	i = idmap_slot(m, key);
	return m->keys[i] == key ? m->vals[i] : NULL;
}

int
idmap_put(struct idmap *m, uint64_t key, void *val)
{
	size_t i;

	if (key == 0)
		return -1;
	if ((m->used + 1) * 2 > m->cap && idmap_grow(m) == -1)
		return -1;
	i = idmap_slot(m, key);
	if (m->keys[i] == 0)
		m->used++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

void *
idmap_del(struct idmap *m, uint64_t key)
{
	size_t mask, i, j, home;
	void *val;

	if (m->cap == 0 || key == 0)
		return NULL;
	mask = m->cap - 1;
	i = idmap_slot(m, key);
	if (m->keys[i] != key)
		return NULL;
	val = m->vals[i];
	m->keys[i] = 0;
	m->vals[i] = NULL;
	m->used--;
	for (j = (i + 1) & mask; m->keys[j] != 0; j = (j + 1) & mask) {
		home = idmap_home(m, m->keys[j]);
		/* Stays unless the hole lies between its home and it. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->keys[i] = m->keys[j];
		m->vals[i] = m->vals[j];
		m->keys[j] = 0;
		m->vals[j] = NULL;
		i = j;
	}
	return val;
}

int
idmap_next(const struct idmap *m, size_t *pos, uint64_t *key, void **val)
{
	for (; *pos < m->cap; (*pos)++)
		if (m->keys[*pos] != 0) {
			*key = m->keys[*pos];
			*val = m->vals[*pos];
			(*pos)++;
			return 1;
		}
	return 0;
}

void
idmap_clear(struct idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
