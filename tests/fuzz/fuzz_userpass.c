/*
 * fuzz_userpass.c - socks5_parse_userpass (RFC 1929 section 2), the user
 * name and password a client sends to gatewayd.
 *
 * Beyond the common prefix contract (fuzz.h): an OK message holds a user
 * of 1-255 bytes and a password of 0-255, both C strings of exactly
 * their wire length (no NUL cut them short), and it encodes back to the
 * bytes sent.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_userpass(buf, len, out, used);
}

int
fuzz_userpass_one(const uint8_t *data, size_t len)
{
	struct socks5_userpass up;
	uint8_t enc[SOCKS5_USERPASS_MAX];
	size_t used;
	int n;

	if (fuzz_socks5_prefixes(parse, data, len, SOCKS5_USERPASS_MAX, &up,
	    &used) != SOCKS5_OK)
		return 0;
	FUZZ_CHECK(up.ulen > 0);
	FUZZ_CHECK(strlen(up.user) == up.ulen);
	FUZZ_CHECK(strlen(up.pass) == up.plen);
	FUZZ_CHECK(used == 3u + up.ulen + up.plen);
	n = socks5_encode_userpass(enc, sizeof(enc), up.user, up.pass);
	FUZZ_CHECK(n > 0 && (size_t)n == used);
	FUZZ_CHECK(memcmp(enc, data, used) == 0);
	return 0;
}

FUZZ_TARGET(fuzz_userpass_one)
