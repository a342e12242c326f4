/*
 * fuzz_userpass_status.c - socks5_parse_userpass_status (RFC 1929
 * section 2), the server's verdict on a user and password.
 *
 * Beyond the common prefix contract (fuzz.h): any STATUS is returned as
 * sent, and encodes back to the same two bytes.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_userpass_status(buf, len, out, used);
}

int
fuzz_userpass_status_one(const uint8_t *data, size_t len)
{
	uint8_t status, enc[2];
	size_t used;

	if (fuzz_socks5_prefixes(parse, data, len, 2, &status, &used) !=
	    SOCKS5_OK)
		return 0;
	FUZZ_CHECK(used == 2 && status == data[1]);
	FUZZ_CHECK(socks5_encode_userpass_status(enc, sizeof(enc), status) ==
	    2);
	FUZZ_CHECK(memcmp(enc, data, 2) == 0);
	return 0;
}

FUZZ_TARGET(fuzz_userpass_status_one)
