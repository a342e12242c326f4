/*
 * fuzz_shim_env.c - the SOCKS64_* environment overrides of the shim:
 * shim_conf_env (src/lib/config.c). Whoever starts a program sets them,
 * so any bytes may come.
 *
 * The input is up to four NUL-separated values, for SOCKS64_GATEWAY,
 * SOCKS64_USER, SOCKS64_PASSWORD and SOCKS64_DEBUG in that order (a
 * missing one is unset). They are applied over the defaults and over a
 * config that already names a gateway; the count returned must be the
 * count recorded, the error text well formed, and the configuration
 * keep the invariants of shim_check.h. A gateway that does not
 * parse must leave the one before in place.
 */
#include "fuzz.h"
#include "shim_check.h"

static const char *const env_names[] = { "SOCKS64_GATEWAY", "SOCKS64_USER",
    "SOCKS64_PASSWORD", "SOCKS64_DEBUG" };
/* The values of this input; getenv_fn has no argument to pass them. */
static char *env_values[4];

static char *
fuzz_getenv(const char *name)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, env_names[i]) == 0)
			return env_values[i];
	return NULL;
}

static void
apply(struct shim_conf *c)
{
	struct conf_errors *e = malloc(sizeof(*e));
	struct sockaddr_storage gw = c->gateway;
	int n, enabled = c->enabled;

	FUZZ_CHECK(e != NULL);
	conf_errors_init(e, "environment");
	n = shim_conf_env(c, fuzz_getenv, e);
	fuzz_check_errors(e);
	FUZZ_CHECK(n == e->count);
	fuzz_check_shim_conf(c);
	if (enabled && e->count > 0 && env_values[0] != NULL &&
	    strstr(e->text, "SOCKS64_GATEWAY") != NULL)
		FUZZ_CHECK(c->enabled &&
		    memcmp(&gw, &c->gateway, sizeof(gw)) == 0);
	free(e);
}

int
fuzz_shim_env_one(const uint8_t *data, size_t len)
{
	static const char conf[] = "gateway 192.0.2.1:1080\nuser bob\n";
	char *buf = fuzz_dup(data, len, 1), *p = buf, *end = buf + len;
	struct shim_conf *c = malloc(sizeof(*c));
	struct conf_errors *e = malloc(sizeof(*e));
	size_t i;

	FUZZ_CHECK(c != NULL && e != NULL);
	for (i = 0; i < 4; i++) {
		env_values[i] = p <= end ? p : NULL;
		if (p <= end)
			p += strlen(p) + 1;
	}
	shim_conf_defaults(c);
	apply(c);
	shim_conf_release(c);

	shim_conf_defaults(c);
	conf_errors_init(e, "socks64.conf");
	FUZZ_CHECK(shim_conf_parse(c, conf, sizeof(conf) - 1, e) == 0);
	apply(c);
	shim_conf_release(c);

	memset(env_values, 0, sizeof(env_values));
	free(e);
	free(c);
	free(buf);
	return 0;
}

FUZZ_TARGET(fuzz_shim_env_one)
