/*
 * fuzz_addr.c - the literal parsers of addr.c: addr_parse_endpoint (each
 * way of giving a default port) and addr_parse_net, which every config
 * line with an address goes through.
 *
 * Checked on every input: a failure gives a reason; a parsed endpoint is
 * an AF_INET or AF_INET6 address of the length addr_len() gives, with a
 * written port 1-65535 (the default otherwise), no scope id, and it is
 * printed and read back to the same address; a parsed network has its
 * host bits clear, is printed and read back the same, and contains its
 * own first address (also in IPv4-mapped form, for an IPv4 network).
 */
#include <arpa/inet.h>

#include "fuzz.h"
#include "addr.h"

static void
check_endpoint(const char *s, int default_port)
{
	struct sockaddr_storage ss, back;
	socklen_t len = 12345, blen = sizeof(back);
	const char *why = NULL;
	char text[ADDR_STRLEN + 8], host[ADDR_STRLEN];
	const struct sockaddr *sa = (const struct sockaddr *)&ss;
	uint16_t port;

	if (addr_parse_endpoint(s, default_port, &ss, &len, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return;
	}
	FUZZ_CHECK(sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
	FUZZ_CHECK(len == addr_len(sa));
	if (sa->sa_family == AF_INET6)
		FUZZ_CHECK(((const struct sockaddr_in6 *)sa)->sin6_scope_id ==
		    0);
	port = addr_port(sa);
	FUZZ_CHECK(port > 0 || default_port == 0);
	/* Written port 0 is refused, so port 0 prints without one. */
	if (port == 0) {
		addr_format_host(sa, host, sizeof(host));
		FUZZ_CHECK(addr_parse_endpoint(host, 0, &back, &blen,
		    &why) == 0);
	} else {
		addr_format(sa, text, sizeof(text));
		FUZZ_CHECK(addr_parse_endpoint(text, -1, &back, &blen,
		    &why) == 0);
	}
	FUZZ_CHECK(blen == len);
	FUZZ_CHECK(addr_equal(sa, (struct sockaddr *)&back, 1));
	/* The NULL reason is allowed. */
	(void)addr_parse_endpoint(s, default_port, &back, &blen, NULL);
}

static void
check_net(const char *s)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct addr_net net, back;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	const char *why = NULL;
	char text[ADDR_STRLEN + 8];
	unsigned int i;

	if (addr_parse_net(s, &net, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return;
	}
	addr_format_net(&net, text, sizeof(text));
	FUZZ_CHECK(addr_parse_net(text, &back, &why) == 0);
	FUZZ_CHECK(back.family == net.family && back.prefix == net.prefix);
	FUZZ_CHECK(memcmp(back.bytes, net.bytes, sizeof(net.bytes)) == 0);
	if (net.family == AF_UNSPEC) {
		FUZZ_CHECK(net.prefix == 0);
		return;
	}
	FUZZ_CHECK(net.family == AF_INET || net.family == AF_INET6);
	FUZZ_CHECK(net.prefix <= (net.family == AF_INET ? 32u : 128u));
	for (i = net.prefix; i < 128; i++)
		FUZZ_CHECK((net.bytes[i / 8] & (0x80 >> (i % 8))) == 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	if (net.family == AF_INET) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		memcpy(&sin.sin_addr, net.bytes, 4);
		FUZZ_CHECK(addr_net_contains(&net, (struct sockaddr *)&sin));
		memcpy(&sin6.sin6_addr, mapped, 12);
		memcpy((uint8_t *)&sin6.sin6_addr + 12, net.bytes, 4);
		FUZZ_CHECK(addr_net_contains(&net, (struct sockaddr *)&sin6));
	} else {
		memcpy(&sin6.sin6_addr, net.bytes, 16);
		/* A mapped address is matched as IPv4, never by IPv6. */
		FUZZ_CHECK(addr_net_contains(&net,
		    (struct sockaddr *)&sin6) ==
		    (memcmp(net.bytes, mapped, 12) != 0));
	}
}

int
fuzz_addr_one(const uint8_t *data, size_t len)
{
	char *s = fuzz_dup(data, len, 1);

	check_endpoint(s, -1);
	check_endpoint(s, 0);
	check_endpoint(s, 1080);
	check_endpoint(s, 65535);
	check_net(s);
	free(s);
	return 0;
}

FUZZ_TARGET(fuzz_addr_one)
