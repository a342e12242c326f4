/*
 * fuzz_shim_conf.c - the shim's /etc/socks64.conf: shim_conf_parse
 * (src/lib/config.c), which runs inside every program the shim is
 * preloaded into, so it must survive any file.
 *
 * Checked on every input: the count returned is the count recorded, the
 * error text is well formed, and the configuration keeps its invariants
 * (shim_check.h, shared with fuzz_shim_env.c): strings
 * NUL-terminated, a gateway either a literal of the right length or a
 * name to resolve, fake ranges of their family and wide enough, lists
 * within their limit with valid entries, a timeout of 1 ms to 10 min.
 * Then everything the parser allocated is released (LeakSanitizer).
 */
#include "fuzz.h"
#include "shim_check.h"

int
fuzz_shim_conf_one(const uint8_t *data, size_t len)
{
	struct conf_errors *e = malloc(sizeof(*e));
	char *buf = fuzz_dup(data, len, 0);
	struct shim_conf *c = malloc(sizeof(*c));
	int n;

	FUZZ_CHECK(e != NULL && c != NULL);
	conf_errors_init(e, "socks64.conf");
	shim_conf_defaults(c);
	fuzz_check_shim_conf(c);
	n = shim_conf_parse(c, buf, len, e);
	fuzz_check_errors(e);
	FUZZ_CHECK(n == e->count);
	fuzz_check_shim_conf(c);
	shim_conf_release(c);
	FUZZ_CHECK(c->nlocal_suffixes == 0 && c->ndirect == 0);
	free(c);
	free(buf);
	free(e);
	return 0;
}

FUZZ_TARGET(fuzz_shim_conf_one)
