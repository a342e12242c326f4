/*
 * test_shim_config.c - the shim's config parser, environment overrides
 * and loader (src/lib/config.c).
 *
 * The parser and the override step are pure, so most cases feed them a
 * buffer or a fake environment and look at the struct and the error
 * texts. The last case runs the real loader once, on a file named by
 * SOCKS64_CONF, and checks what it wrote on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conflex.h"
#include "lib/shim.h"

struct parsed {
	struct shim_conf	c;
	struct conf_errors	e;
	int			errors;
};

static void
parse(struct parsed *p, const char *text)
{
	shim_conf_defaults(&p->c);
	conf_errors_init(&p->e, "test.conf");
	p->errors = shim_conf_parse(&p->c, text, strlen(text), &p->e);
}

static const char *
gw_text(const struct shim_conf *c, char *buf, size_t len)
{
	return addr_format((const struct sockaddr *)&c->gateway, buf, len);
}

static void
test_shim_conf_defaults_disabled(void **state)
{
	struct parsed p;
	char buf[ADDR_STRLEN];

	(void)state;
	parse(&p, "# nothing but a comment\n\n");
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.c.enabled, 0);
	assert_int_equal(p.c.timeout_ms, SHIM_DEFAULT_TIMEOUT_MS);
	assert_int_equal(p.c.mode, RESOLVE_DELEGATE);
	assert_int_equal(p.c.debug, 0);
	assert_string_equal(addr_format_net(&p.c.fake_v4, buf, sizeof(buf)),
	    SHIM_DEFAULT_FAKE_V4);
	assert_string_equal(addr_format_net(&p.c.fake_v6, buf, sizeof(buf)),
	    SHIM_DEFAULT_FAKE_V6);
	assert_int_equal(p.c.nlocal_suffixes, 0);
	assert_int_equal(p.c.ndirect, 0);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_parse_every_directive(void **state)
{
	struct parsed p;
	char buf[ADDR_STRLEN];

	(void)state;
	parse(&p,
	    "gateway 192.0.2.1:1081   # the gateway\n"
	    "user alice\n"
	    "password \"pass word\"\n"
	    "resolve local-first\n"
	    "fake-range 10.64.0.0/10\n"
	    "fake-range 2001:db8:ff::/48\n"
	    "local-suffix .LAN.\n"
	    "local-suffix corp.example\n"
	    "direct 198.51.100.0/24\n"
	    "direct 2001:db8:1::/48\n"
	    "timeout 2500\n"
	    "async no\n"
	    "debug yes\n");
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.c.enabled, 1);
	assert_string_equal(gw_text(&p.c, buf, sizeof(buf)),
	    "192.0.2.1:1081");
	assert_int_equal(p.c.gateway_port, 1081);
	assert_string_equal(p.c.user, "alice");
	assert_string_equal(p.c.password, "pass word");
	assert_int_equal(p.c.mode, RESOLVE_LOCAL_FIRST);
	assert_string_equal(addr_format_net(&p.c.fake_v4, buf, sizeof(buf)),
	    "10.64.0.0/10");
	assert_string_equal(addr_format_net(&p.c.fake_v6, buf, sizeof(buf)),
	    "2001:db8:ff::/48");
	assert_int_equal(p.c.nlocal_suffixes, 2);
	assert_string_equal(p.c.local_suffixes[0], ".lan");
	assert_string_equal(p.c.local_suffixes[1], ".corp.example");
	assert_int_equal(p.c.ndirect, 2);
	assert_string_equal(addr_format_net(&p.c.direct[1], buf, sizeof(buf)),
	    "2001:db8:1::/48");
	assert_int_equal(p.c.timeout_ms, 2500);
	assert_int_equal(p.c.debug, 1);
	assert_int_equal(p.c.async, 0);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_parse_gateway_forms(void **state)
{
	static const struct {
		const char	*line;
		const char	*addr;	/* NULL: a name */
		const char	*name;
		unsigned int	 port;
	} cases[] = {
		{ "gateway 192.0.2.1:1080\n", "192.0.2.1:1080", "", 1080 },
		{ "gateway 192.0.2.1\n", "192.0.2.1:1080", "", 1080 },
		{ "gateway [2001:db8::1]:9050\n", "[2001:db8::1]:9050", "",
		    9050 },
		{ "gateway 2001:db8::1\n", "[2001:db8::1]:1080", "", 1080 },
		{ "gateway gw.example:1090\n", NULL, "gw.example", 1090 },
		{ "gateway gw.example\n", NULL, "gw.example", 1080 },
	};
	struct parsed p;
	char buf[ADDR_STRLEN];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&p, cases[i].line);
		assert_int_equal(p.errors, 0);
		assert_int_equal(p.c.enabled, 1);
		assert_string_equal(p.c.gateway_name, cases[i].name);
		assert_int_equal(p.c.gateway_port, cases[i].port);
		if (cases[i].addr != NULL)
			assert_string_equal(gw_text(&p.c, buf, sizeof(buf)),
			    cases[i].addr);
		else
			assert_int_equal(p.c.gateway_len, 0);
		shim_conf_release(&p.c);
	}
}

static void
test_shim_conf_parse_errors_name_lines(void **state)
{
	struct parsed p;

	(void)state;
	parse(&p,
	    "gateway 192.0.2.1:1080\n"		/* 1 ok */
	    "gateway 192.0.2.2 a b c d e f g h\n" /* 2: 9 */
	    "frobnicate yes\n"			/* 3 unknown */
	    "user\n"				/* 4 no argument */
	    "resolve sometimes\n"		/* 5 bad word */
	    "fake-range 240.0.0.0/31\n"		/* 6 too narrow */
	    "fake-range 240.0.0.1/4\n"		/* 7 host bits */
	    "timeout 0\n"			/* 8 out of range */
	    "debug perhaps\n"			/* 9 */
	    "direct nonsense\n"			/* 10 */
	    "local-suffix lan..\n"		/* 11 empty label */
	    "gateway2 x\n"			/* 12 unknown */
	    "user \"unterminated\n");		/* 13 lexical */
	assert_int_equal(p.errors, 12);
	assert_int_equal(p.e.count, 12);
	assert_non_null(strstr(p.e.text, "test.conf:2: gateway: expected 1 "
	    "to 8 gateways"));
	assert_non_null(strstr(p.e.text, "test.conf:3: frobnicate: unknown "
	    "directive\n"));
	assert_non_null(strstr(p.e.text, "test.conf:4: user: expects "));
	assert_non_null(strstr(p.e.text, "test.conf:5: resolve: "));
	assert_non_null(strstr(p.e.text, "test.conf:6: fake-range: "));
	assert_non_null(strstr(p.e.text, "test.conf:7: fake-range: "));
	assert_non_null(strstr(p.e.text, "test.conf:8: timeout: "));
	assert_non_null(strstr(p.e.text, "test.conf:9: debug: "));
	assert_non_null(strstr(p.e.text, "test.conf:10: direct: "));
	assert_non_null(strstr(p.e.text, "test.conf:11: local-suffix: "));
	assert_non_null(strstr(p.e.text, "test.conf:12: gateway2: "));
	assert_non_null(strstr(p.e.text, "test.conf:13: "));
	/* The good lines still count. */
	assert_int_equal(p.c.enabled, 1);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_parse_bad_gateways(void **state)
{
	static const char *bad[] = {
		"gateway 192.0.2.1:0\n",
		"gateway 192.0.2.1:65536\n",
		"gateway [2001:db8::1\n",
		"gateway gw.example:http\n",
		"gateway gw/example:1080\n",
		"gateway :1080\n",
		"gateway 192.0.2.1 [2001:db8::1\n",
		"gateway\n",
	};
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&p, bad[i]);
		assert_int_equal(p.errors, 1);
		assert_int_equal(p.c.enabled, 0);
		shim_conf_release(&p.c);
	}
}

static void
test_shim_conf_parse_timeout_forms(void **state)
{
	static const struct {
		const char	*text;
		int		 ok;
		unsigned int	 ms;
	} cases[] = {
		{ "timeout 1\n", 1, 1 },
		{ "timeout 250ms\n", 1, 250 },
		{ "timeout 3s\n", 1, 3000 },
		{ "timeout 600000\n", 1, 600000 },
		{ "timeout 600001\n", 0, 0 },
		{ "timeout 601s\n", 0, 0 },
		{ "timeout s\n", 0, 0 },
		{ "timeout -5\n", 0, 0 },
	};
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse(&p, cases[i].text);
		assert_int_equal(p.errors, cases[i].ok ? 0 : 1);
		if (cases[i].ok)
			assert_int_equal(p.c.timeout_ms, cases[i].ms);
		shim_conf_release(&p.c);
	}
}

/* A fake environment for shim_conf_env. */
static const char *const *fake_env;

static char *
fake_getenv(const char *name)
{
	size_t n = strlen(name);
	const char *const *v;

	for (v = fake_env; *v != NULL; v++)
		if (strncmp(*v, name, n) == 0 && (*v)[n] == '=')
			return (char *)(*v + n + 1);
	return NULL;
}

/*
 * Each gateway line is a way out (tried in turn); the words of a line
 * are a chain, the first reached from here, the later ones asked of
 * the one before, unresolved.
 */
static void
test_shim_conf_parse_chains_and_alternatives(void **state)
{
	static const char *const env[] = {
		"SOCKS64_GATEWAY=127.0.0.1:1 g2.example, [::1]:2 192.0.2.9:7",
		NULL,
	};
	struct parsed p;
	char buf[ADDR_STRLEN];

	(void)state;
	parse(&p,
	    "gateway 192.0.2.1:1080 [2001:db8::2]:1081 gw3.example:1082\n"
	    "gateway gw.example\n"
	    "gateway 198.51.100.1:9\n");
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.c.npaths, 3);
	assert_string_equal(gw_text(&p.c, buf, sizeof(buf)),
	    "192.0.2.1:1080");
	assert_int_equal(p.c.paths[0].nhops, 2);
	assert_int_equal(p.c.paths[0].hops[0].atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(p.c.paths[0].hops[0].port, 1081);
	assert_int_equal(p.c.paths[0].hops[1].atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(p.c.paths[0].hops[1].name, "gw3.example");
	assert_int_equal(p.c.paths[0].hops[1].port, 1082);
	assert_string_equal(p.c.paths[1].name, "gw.example");
	assert_int_equal(p.c.paths[1].addr_len, 0);
	assert_int_equal(p.c.paths[1].port, 1080);
	assert_int_equal(p.c.paths[2].nhops, 0);
	/* The environment replaces them all: ',' between lines. */
	fake_env = env;
	conf_errors_init(&p.e, "environment");
	assert_int_equal(shim_conf_env(&p.c, fake_getenv, &p.e), 0);
	assert_int_equal(p.c.npaths, 2);
	assert_string_equal(gw_text(&p.c, buf, sizeof(buf)), "127.0.0.1:1");
	assert_int_equal(p.c.paths[0].nhops, 1);
	assert_string_equal(p.c.paths[0].hops[0].name, "g2.example");
	assert_int_equal(p.c.paths[0].hops[0].port, 1080);
	assert_int_equal(p.c.paths[1].nhops, 1);
	assert_int_equal(p.c.paths[1].hops[0].atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(p.c.paths[1].hops[0].port, 7);
	shim_conf_release(&p.c);
	/* Nine lines is one too many. */
	parse(&p, "gateway 192.0.2.1\ngateway 192.0.2.2\ngateway 192.0.2.3\n"
	    "gateway 192.0.2.4\ngateway 192.0.2.5\ngateway 192.0.2.6\n"
	    "gateway 192.0.2.7\ngateway 192.0.2.8\ngateway 192.0.2.9\n");
	assert_int_equal(p.errors, 1);
	assert_non_null(strstr(p.e.text, "test.conf:9: gateway: too many"));
	assert_int_equal(p.c.npaths, 8);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_env_overrides_file(void **state)
{
	static const char *const env[] = {
		"SOCKS64_GATEWAY=[2001:db8::7]:1085",
		"SOCKS64_USER=bob",
		"SOCKS64_PASSWORD=secret",
		"SOCKS64_DEBUG=1",
		"SOCKS64_ASYNC=0",
		NULL,
	};
	struct parsed p;
	char buf[ADDR_STRLEN];

	(void)state;
	parse(&p, "gateway 192.0.2.1:1080\nuser alice\npassword x\n"
	    "async yes\n");
	assert_int_equal(p.c.async, 1);
	fake_env = env;
	conf_errors_init(&p.e, "environment");
	assert_int_equal(shim_conf_env(&p.c, fake_getenv, &p.e), 0);
	assert_string_equal(gw_text(&p.c, buf, sizeof(buf)),
	    "[2001:db8::7]:1085");
	assert_string_equal(p.c.user, "bob");
	assert_string_equal(p.c.password, "secret");
	assert_int_equal(p.c.debug, 1);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_env_bad_keeps_file(void **state)
{
	static const char *const env[] = {
		"SOCKS64_GATEWAY=[2001:db8::7",
		"SOCKS64_DEBUG=maybe",
		"SOCKS64_ASYNC=sometimes",
		NULL,
	};
	struct parsed p;
	char buf[ADDR_STRLEN];

	(void)state;
	parse(&p, "gateway 192.0.2.1:1080\n");
	fake_env = env;
	conf_errors_init(&p.e, "environment");
	assert_int_equal(shim_conf_env(&p.c, fake_getenv, &p.e), 3);
	assert_non_null(strstr(p.e.text, "environment: SOCKS64_GATEWAY: "));
	assert_non_null(strstr(p.e.text, "environment: SOCKS64_DEBUG: "));
	assert_non_null(strstr(p.e.text, "environment: SOCKS64_ASYNC: "));
	/* The default: non-blocking connects return at once. */
	assert_int_equal(p.c.async, 1);
	assert_string_equal(gw_text(&p.c, buf, sizeof(buf)),
	    "192.0.2.1:1080");
	assert_int_equal(p.c.debug, 0);
	shim_conf_release(&p.c);
}

static void
test_shim_conf_env_gateway_enables(void **state)
{
	static const char *const env[] = {
		"SOCKS64_GATEWAY=gw.example:1099", NULL,
	};
	struct parsed p;

	(void)state;
	parse(&p, "");
	assert_int_equal(p.c.enabled, 0);
	fake_env = env;
	assert_int_equal(shim_conf_env(&p.c, fake_getenv, &p.e), 0);
	assert_int_equal(p.c.enabled, 1);
	assert_string_equal(p.c.gateway_name, "gw.example");
	assert_int_equal(p.c.gateway_port, 1099);
	shim_conf_release(&p.c);
	/* NULL: the setuid case, nothing is read. */
	parse(&p, "");
	assert_int_equal(shim_conf_env(&p.c, NULL, &p.e), 0);
	assert_int_equal(p.c.enabled, 0);
}

/*
 * The loader, once per process: SOCKS64_CONF names a file with one bad
 * line; stderr is a pipe so the report can be read back.
 */
static void
test_shim_conf_loader_reports_once(void **state)
{
	char path[] = "/tmp/test_shim_config.XXXXXX";
	const char *text = "gateway 127.0.0.1:1\nbogus line\ntimeout 77\n";
	const struct shim_conf *c;
	char out[2048];
	int fd, pfd[2], saved_err;
	ssize_t n;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	setenv("SOCKS64_CONF", path, 1);
	unsetenv("SOCKS64_GATEWAY");
	assert_int_equal(pipe2(pfd, O_NONBLOCK), 0);
	saved_err = dup(2);
	dup2(pfd[1], 2);
	errno = 4242;
	c = shim_conf();
	assert_int_equal(errno, 4242);
	assert_ptr_equal(shim_conf(), c);
	dup2(saved_err, 2);
	close(saved_err);
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	unlink(path);
	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "socks64: "));
	assert_non_null(strstr(out, ":2: bogus: unknown directive\n"));
	assert_int_equal(c->enabled, 1);
	assert_int_equal(c->timeout_ms, 77);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shim_conf_defaults_disabled),
		cmocka_unit_test(test_shim_conf_parse_every_directive),
		cmocka_unit_test(test_shim_conf_parse_gateway_forms),
		cmocka_unit_test(test_shim_conf_parse_errors_name_lines),
		cmocka_unit_test(test_shim_conf_parse_bad_gateways),
		cmocka_unit_test(test_shim_conf_parse_chains_and_alternatives),
		cmocka_unit_test(test_shim_conf_parse_timeout_forms),
		cmocka_unit_test(test_shim_conf_env_overrides_file),
		cmocka_unit_test(test_shim_conf_env_bad_keeps_file),
		cmocka_unit_test(test_shim_conf_env_gateway_enables),
		cmocka_unit_test(test_shim_conf_loader_reports_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
