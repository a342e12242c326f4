/*
 * fuzz_method_choice.c - socks5_parse_method_choice (RFC 1928 section 3),
 * the server's answer to a greeting, as the shim reads it.
 *
 * Beyond the common prefix contract (fuzz.h): any METHOD is returned as
 * sent, and encodes back to the same two bytes.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_method_choice(buf, len, out, used);
}

int
fuzz_method_choice_one(const uint8_t *data, size_t len)
{
	uint8_t method, enc[2];
	size_t used;

	if (fuzz_socks5_prefixes(parse, data, len, 2, &method, &used) !=
	    SOCKS5_OK)
		return 0;
	FUZZ_CHECK(used == 2 && method == data[1]);
	FUZZ_CHECK(socks5_encode_method_choice(enc, sizeof(enc), method) ==
	    2);
	FUZZ_CHECK(memcmp(enc, data, 2) == 0);
	return 0;
}

FUZZ_TARGET(fuzz_method_choice_one)
