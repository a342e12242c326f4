/*
 * fuzz_greeting.c - socks5_parse_greeting (RFC 1928 section 3), what
 * gatewayd reads first from every client.
 *
 * Beyond the common prefix contract (fuzz.h): an OK greeting has 1-255
 * methods, exactly the bytes sent, and encodes back to those bytes.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_greeting(buf, len, out, used);
}

int
fuzz_greeting_one(const uint8_t *data, size_t len)
{
	struct socks5_greeting g;
	uint8_t enc[SOCKS5_GREETING_MAX];
	size_t used;
	int n;

	if (fuzz_socks5_prefixes(parse, data, len, SOCKS5_GREETING_MAX, &g,
	    &used) != SOCKS5_OK)
		return 0;
	FUZZ_CHECK(g.nmethods > 0);
	FUZZ_CHECK(used == 2u + g.nmethods);
	n = socks5_encode_greeting(enc, sizeof(enc), g.methods, g.nmethods);
	FUZZ_CHECK(n > 0 && (size_t)n == used);
	FUZZ_CHECK(memcmp(enc, data, used) == 0);
	/* One byte short of room: refused, nothing written. */
	memset(enc, 0xa5, sizeof(enc));
	FUZZ_CHECK(socks5_encode_greeting(enc, used - 1, g.methods,
	    g.nmethods) == -1);
	FUZZ_CHECK(enc[0] == 0xa5);
	return 0;
}

FUZZ_TARGET(fuzz_greeting_one)
