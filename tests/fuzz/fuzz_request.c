/*
 * fuzz_request.c - socks5_parse_request (RFC 1928 section 4), the
 * request every client sends gatewayd once authenticated.
 *
 * Beyond the common prefix contract (fuzz.h): an OK request has a known
 * CMD and an address the encoders take back, encodes back to exactly the
 * bytes sent, and its address survives the sockaddr conversions. On an
 * error, *out still names the bad CMD or ATYP for the log line.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_request(buf, len, out, used);
}

int
fuzz_request_one(const uint8_t *data, size_t len)
{
	struct socks5_request req;
	uint8_t enc[SOCKS5_REQUEST_MAX];
	enum socks5_status st;
	size_t used;
	int n;

	st = fuzz_socks5_prefixes(parse, data, len, SOCKS5_REQUEST_MAX, &req,
	    &used);
	if (st == SOCKS5_ERR_COMMAND)
		FUZZ_CHECK(req.cmd == data[1]);
	if (st == SOCKS5_ERR_ATYP)
		FUZZ_CHECK(req.dst.atyp == data[3]);
	if (st != SOCKS5_OK)
		return 0;
	FUZZ_CHECK(req.cmd == SOCKS5_CMD_CONNECT ||
	    req.cmd == SOCKS5_CMD_BIND || req.cmd == SOCKS5_CMD_UDP);
	FUZZ_CHECK(socks5_cmd_str(req.cmd) != NULL);
	fuzz_check_socks5_addr(&req.dst);
	n = socks5_encode_request(enc, sizeof(enc), req.cmd, &req.dst);
	FUZZ_CHECK(n > 0 && (size_t)n == used);
	FUZZ_CHECK(memcmp(enc, data, used) == 0);
	fuzz_check_socks5_sockaddr(&req.dst);
	return 0;
}

FUZZ_TARGET(fuzz_request_one)
