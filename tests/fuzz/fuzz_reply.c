/*
 * fuzz_reply.c - socks5_parse_reply (RFC 1928 section 6), the gateway's
 * answer to a request, as the shim reads it.
 *
 * Beyond the common prefix contract (fuzz.h): any REP is returned as
 * sent and maps to an errno and a text; RSV is ignored, so an OK reply
 * encodes back to the bytes sent but for RSV, which is written as 0.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_reply(buf, len, out, used);
}

int
fuzz_reply_one(const uint8_t *data, size_t len)
{
	struct socks5_reply rep;
	uint8_t enc[SOCKS5_REQUEST_MAX];
	size_t used;
	int n;

	if (fuzz_socks5_prefixes(parse, data, len, SOCKS5_REQUEST_MAX, &rep,
	    &used) != SOCKS5_OK)
		return 0;
	FUZZ_CHECK(rep.rep == data[1]);
	FUZZ_CHECK(socks5_rep_str(rep.rep) != NULL);
	FUZZ_CHECK(socks5_errno_from_rep(rep.rep) >= 0);
	FUZZ_CHECK((rep.rep == SOCKS5_REP_SUCCEEDED) ==
	    (socks5_errno_from_rep(rep.rep) == 0));
	fuzz_check_socks5_addr(&rep.bnd);
	n = socks5_encode_reply(enc, sizeof(enc), rep.rep, &rep.bnd);
	FUZZ_CHECK(n > 0 && (size_t)n == used);
	FUZZ_CHECK(enc[2] == 0);
	FUZZ_CHECK(memcmp(enc, data, 2) == 0);
	FUZZ_CHECK(memcmp(enc + 3, data + 3, used - 3) == 0);
	fuzz_check_socks5_sockaddr(&rep.bnd);
	return 0;
}

FUZZ_TARGET(fuzz_reply_one)
