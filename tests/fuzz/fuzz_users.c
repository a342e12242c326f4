/*
 * fuzz_users.c - the users file of RFC 1929 authentication: users_parse
 * (src/gateway/users.c).
 *
 * Checked on every input: a list comes back exactly when no error was
 * counted, the error text is well formed, and no more users are kept
 * than the input has lines. Passwords are not checked here: crypt(3) on
 * a hash from the input may cost seconds by design (its cost parameter),
 * which is the administrator's choice, not a parser's bug.
 */
#include "fuzz.h"
#include "gateway/gatewayd.h"

int
fuzz_users_one(const uint8_t *data, size_t len)
{
	struct conf_errors *e = malloc(sizeof(*e));
	char *buf = fuzz_dup(data, len, 0);
	struct users *u;
	size_t lines = 1, i;

	FUZZ_CHECK(e != NULL);
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	conf_errors_init(e, "users");
	u = users_parse(buf, len, e);
	fuzz_check_errors(e);
	FUZZ_CHECK((u == NULL) == (e->count > 0));
	if (u != NULL) {
		FUZZ_CHECK(users_count(u) <= lines);
		users_free(u);
	}
	free(buf);
	free(e);
	return 0;
}

FUZZ_TARGET(fuzz_users_one)
