/*
 * fuzz_udp_header.c - socks5_parse_udp_header (RFC 1928 section 7), the
 * header in front of every relayed UDP datagram, from either side.
 *
 * Beyond the common prefix contract (fuzz.h): an OK header has FRAG 0
 * and encodes back to exactly the bytes sent; SOCKS5_ERR_FRAGMENT comes
 * with the whole header parsed and the FRAG byte kept.
 */
#include "fuzz.h"

static enum socks5_status
parse(const uint8_t *buf, size_t len, void *out, size_t *used)
{
	return socks5_parse_udp_header(buf, len, out, used);
}

int
fuzz_udp_header_one(const uint8_t *data, size_t len)
{
	struct socks5_udp_header h;
	uint8_t enc[SOCKS5_UDP_HEADER_MAX];
	enum socks5_status st;
	size_t used;
	int n;

	st = fuzz_socks5_prefixes(parse, data, len, SOCKS5_UDP_HEADER_MAX,
	    &h, &used);
	if (st != SOCKS5_OK && st != SOCKS5_ERR_FRAGMENT)
		return 0;
	FUZZ_CHECK(h.frag == data[2]);
	FUZZ_CHECK((st == SOCKS5_OK) == (h.frag == 0));
	fuzz_check_socks5_addr(&h.dst);
	n = socks5_encode_udp_header(enc, sizeof(enc), &h.dst);
	FUZZ_CHECK(n > 0 && (size_t)n == used);
	FUZZ_CHECK(memcmp(enc, data, 2) == 0 && enc[2] == 0);
	FUZZ_CHECK(memcmp(enc + 3, data + 3, used - 3) == 0);
	fuzz_check_socks5_sockaddr(&h.dst);
	return 0;
}

FUZZ_TARGET(fuzz_udp_header_one)
