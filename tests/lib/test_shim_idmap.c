/*
 * test_shim_idmap.c - the shim's 64-bit key -> pointer map
 * (src/lib/idmap.c), against a plain array as the model: random puts
 * and deletes with keys made to collide, every lookup checked after
 * each step, growth, and the walk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "lib/shim.h"

#define MODEL_KEYS	300

static void
test_idmap_empty(void **state)
{
	struct idmap m = IDMAP_INIT;
	uint64_t key;
	size_t pos = 0;
	void *val;

	(void)state;
	assert_null(idmap_get(&m, 1));
	assert_null(idmap_del(&m, 1));
	assert_int_equal(idmap_next(&m, &pos, &key, &val), 0);
	/* 0 marks an empty slot: never a key. */
	assert_int_equal(idmap_put(&m, 0, &m), -1);
	assert_null(idmap_get(&m, 0));
	idmap_clear(&m);
}

static void
test_idmap_put_replaces(void **state)
{
	struct idmap m = IDMAP_INIT;
	int a, b;

	(void)state;
	assert_int_equal(idmap_put(&m, 42, &a), 0);
	assert_int_equal(idmap_put(&m, 42, &b), 0);
	assert_int_equal(m.used, 1);
	assert_ptr_equal(idmap_get(&m, 42), &b);
	assert_ptr_equal(idmap_del(&m, 42), &b);
	assert_int_equal(m.used, 0);
	assert_null(idmap_get(&m, 42));
	idmap_clear(&m);
}

/*
 * Random operations over a small key space (so entries collide, wrap
 * around the end of the array and are deleted from inside runs), each
 * followed by a check of every key against the model.
 */
static void
test_idmap_against_model(void **state)
{
	static void *model[MODEL_KEYS];
	struct idmap m = IDMAP_INIT;
	unsigned int seed = 12345;
	size_t i, step, n;
	uint64_t key;
	void *val;

	(void)state;
	memset(model, 0, sizeof(model));
	for (step = 0; step < 20000; step++) {
		seed = seed * 1103515245u + 12345u;
		/* Keys 1..MODEL_KEYS, spread so their low bits differ. */
		i = (seed >> 8) % MODEL_KEYS;
		key = ((uint64_t)(i + 1) << 40) | (i + 1);
		if ((seed >> 4) % 3 == 0) {
			assert_ptr_equal(idmap_del(&m, key), model[i]);
			model[i] = NULL;
		} else {
			val = (void *)(uintptr_t)(step * 8 + 8);
			assert_int_equal(idmap_put(&m, key, val), 0);
			model[i] = val;
		}
		if (step % 97 != 0)
			continue;
		for (i = 0, n = 0; i < MODEL_KEYS; i++) {
			key = ((uint64_t)(i + 1) << 40) | (i + 1);
			assert_ptr_equal(idmap_get(&m, key), model[i]);
			n += model[i] != NULL;
		}
		assert_int_equal(m.used, n);
		assert_true(m.used * 2 <= m.cap);
	}
	idmap_clear(&m);
}

static void
test_idmap_next_walks_each_once(void **state)
{
	struct idmap m = IDMAP_INIT;
	unsigned char seen[101];
	uint64_t key, k;
	size_t pos = 0, count = 0;
	void *val;

	(void)state;
	memset(seen, 0, sizeof(seen));
	for (k = 1; k <= 100; k++)
		assert_int_equal(idmap_put(&m, k * 0x1000, (void *)k), 0);
	while (idmap_next(&m, &pos, &key, &val)) {
		assert_int_equal(key, (uint64_t)(uintptr_t)val * 0x1000);
		assert_int_equal(seen[(uintptr_t)val], 0);
		seen[(uintptr_t)val] = 1;
		count++;
	}
	assert_int_equal(count, 100);
	idmap_clear(&m);
	assert_int_equal(m.cap, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idmap_empty),
		cmocka_unit_test(test_idmap_put_replaces),
		cmocka_unit_test(test_idmap_against_model),
		cmocka_unit_test(test_idmap_next_walks_each_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
