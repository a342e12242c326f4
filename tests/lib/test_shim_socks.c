/*
 * test_shim_socks.c - the shim's SOCKS5 client exchange (src/lib/socks.c)
 * against a fake gateway running in a thread of the test.
 *
 * The fake gateway follows a script: which method to choose, whether to
 * accept the password, which reply to send, split into single bytes or
 * not, followed by destination data or not, or no answer at all. The
 * cases check the errno every reply code becomes, that the reply is
 * consumed exactly (the first byte left is the destination's), and that
 * a silent gateway costs no more than the timeout.
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
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/shim.h"
#include "socks5.h"

struct script {
	uint8_t		 method;	/* the choice the gateway sends */
	int		 auth_status;	/* RFC 1929 status to send */
	uint8_t		 rep;		/* reply code */
	uint8_t		 bnd_atyp;	/* BND address type in the reply */
	int		 split;		/* send everything a byte at a time */
	int		 silent;	/* read the request, never answer */
	int		 close_early;	/* close instead of choosing a method */
	int		 garbage;	/* answer with something not SOCKS5 */
	const char	*data;		/* destination bytes after the reply */
	/* filled by the gateway thread */
	struct socks5_request	 req;
	struct socks5_userpass	 up;
	int			 fd;
};

static void
gw_write(int fd, const uint8_t *buf, size_t len, int split)
{
	struct timespec ms = { 0, 2000000 };
	size_t i;

	/* The client may have given up already: no SIGPIPE, no assert. */
	if (!split) {
		(void)!send(fd, buf, len, MSG_NOSIGNAL);
		return;
	}
	for (i = 0; i < len; i++) {
		if (send(fd, buf + i, 1, MSG_NOSIGNAL) != 1)
			return;
		nanosleep(&ms, NULL);
	}
}

/*
 * Reads until parse says complete; returns bytes used. Reads one byte at
 * a time so that pipelined messages stay in the socket for the next
 * parse, which is how the real gateway sees them too (modulo buffering).
 */
static size_t
gw_read_msg(int fd, uint8_t *buf, size_t cap,
    enum socks5_status (*parse)(const uint8_t *, size_t, void *, size_t *),
    void *out)
{
	size_t len = 0, used = 0;
	enum socks5_status st;

	for (;;) {
		if (len == cap || read(fd, buf + len, 1) != 1)
			return 0;
		len++;
		st = parse(buf, len, out, &used);
		if (st == SOCKS5_OK)
			return used;
		if (st != SOCKS5_NEED_MORE)
			return 0;
	}
}

static enum socks5_status
p_greeting(const uint8_t *b, size_t l, void *o, size_t *u)
{
	return socks5_parse_greeting(b, l, o, u);
}

static enum socks5_status
p_userpass(const uint8_t *b, size_t l, void *o, size_t *u)
{
	return socks5_parse_userpass(b, l, o, u);
}

static enum socks5_status
p_request(const uint8_t *b, size_t l, void *o, size_t *u)
{
	return socks5_parse_request(b, l, o, u);
}

static void *
gw_thread(void *arg)
{
	struct script *s = arg;
	struct socks5_greeting g;
	struct socks5_addr bnd;
	uint8_t buf[1024];
	int n;

	if (gw_read_msg(s->fd, buf, sizeof(buf), p_greeting, &g) == 0)
		goto out;
	if (s->close_early)
		goto out;
	if (s->garbage) {
		gw_write(s->fd, (const uint8_t *)"HTTP/1.0 400\r\n", 14, 0);
		goto out;
	}
	buf[0] = SOCKS5_VERSION;
	buf[1] = s->method;
	gw_write(s->fd, buf, 2, s->split);
	if (s->method == SOCKS5_METHOD_REFUSED)
		goto out;
	if (s->method == SOCKS5_METHOD_USERPASS) {
		if (gw_read_msg(s->fd, buf, sizeof(buf), p_userpass,
		    &s->up) == 0)
			goto out;
		buf[0] = SOCKS5_AUTH_VERSION;
		buf[1] = (uint8_t)s->auth_status;
		gw_write(s->fd, buf, 2, s->split);
		if (s->auth_status != 0)
			goto out;
	}
	if (gw_read_msg(s->fd, buf, sizeof(buf), p_request, &s->req) == 0)
		goto out;
	if (s->silent) {
		while (read(s->fd, buf, sizeof(buf)) > 0)
			;
		goto out;
	}
	memset(&bnd, 0, sizeof(bnd));
	bnd.atyp = s->bnd_atyp != 0 ? s->bnd_atyp : SOCKS5_ATYP_IPV4;
	if (bnd.atyp == SOCKS5_ATYP_DOMAIN)
		strcpy(bnd.name, "bound.example");
	bnd.ip[0] = 203;
	bnd.ip[1] = 0;
	bnd.ip[2] = 113;
	bnd.ip[3] = 9;
	bnd.port = 4321;
	n = socks5_encode_reply(buf, sizeof(buf), s->rep, &bnd);
	assert_true(n > 0);
	if (s->data != NULL && !s->split) {
		/* Reply and data in one segment: the over-read trap. */
		memcpy(buf + n, s->data, strlen(s->data));
		n += (int)strlen(s->data);
		gw_write(s->fd, buf, (size_t)n, 0);
	} else {
		gw_write(s->fd, buf, (size_t)n, s->split);
		if (s->data != NULL)
			gw_write(s->fd, (const uint8_t *)s->data,
			    strlen(s->data), 0);
	}
	/* Hold the connection until the client is done with it. */
	while (read(s->fd, buf, sizeof(buf)) > 0)
		;
out:
	close(s->fd);
	return NULL;
}

static struct shim_conf conf;

static void
dst_name(struct socks5_addr *dst, const char *name, uint16_t port)
{
	memset(dst, 0, sizeof(*dst));
	dst->atyp = SOCKS5_ATYP_DOMAIN;
	strcpy(dst->name, name);
	dst->port = port;
}

/*
 * Runs socks_connect against a fake gateway following s. Returns its
 * result, errno in *err, and leaves the client end in *cfd (caller
 * closes) when keep is set.
 */
static int
run(struct script *s, const struct socks5_addr *dst,
    struct socks5_addr *bnd, unsigned int timeout_ms, int *err, int *cfd)
{
	pthread_t t;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	s->fd = sv[1];
	assert_int_equal(pthread_create(&t, NULL, gw_thread, s), 0);
	errno = 0;
	r = socks_connect(sv[0], &conf, dst, bnd, timeout_ms);
	*err = errno;
	if (cfd != NULL) {
		*cfd = sv[0];
		shutdown(sv[0], SHUT_WR);
	} else
		close(sv[0]);
	pthread_join(t, NULL);
	return r;
}

static int
setup(void **state)
{
	(void)state;
	shim_conf_defaults(&conf);
	return 0;
}

static void
test_socks_connect_success_sends_name(void **state)
{
	struct script s = { .method = SOCKS5_METHOD_NONE, .rep = 0 };
	struct socks5_addr dst, bnd;
	int err;

	(void)state;
	dst_name(&dst, "v6only.example", 8080);
	assert_int_equal(run(&s, &dst, &bnd, 2000, &err, NULL), 0);
	assert_int_equal(s.req.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(s.req.dst.atyp, SOCKS5_ATYP_DOMAIN);
	assert_string_equal(s.req.dst.name, "v6only.example");
	assert_int_equal(s.req.dst.port, 8080);
	assert_int_equal(bnd.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(bnd.port, 4321);
}

static void
test_socks_connect_reply_codes_map_to_errno(void **state)
{
	static const struct {
		uint8_t	rep;
		int	err;
	} cases[] = {
		{ SOCKS5_REP_GENERAL_FAILURE, ECONNREFUSED },
		{ SOCKS5_REP_NOT_ALLOWED, EACCES },
		{ SOCKS5_REP_NET_UNREACHABLE, ENETUNREACH },
		{ SOCKS5_REP_HOST_UNREACHABLE, EHOSTUNREACH },
		{ SOCKS5_REP_CONN_REFUSED, ECONNREFUSED },
		{ SOCKS5_REP_TTL_EXPIRED, ETIMEDOUT },
		{ SOCKS5_REP_CMD_UNSUPPORTED, EOPNOTSUPP },
		{ SOCKS5_REP_ATYP_UNSUPPORTED, EAFNOSUPPORT },
		{ 0x09, ECONNREFUSED },
		{ 0xff, ECONNREFUSED },
	};
	struct socks5_addr dst;
	size_t i;
	int err, split;

	(void)state;
	dst_name(&dst, "x.example", 80);
	for (split = 0; split <= 1; split++)
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct script s = { .method = SOCKS5_METHOD_NONE,
			    .rep = cases[i].rep, .split = split };

			assert_int_equal(run(&s, &dst, NULL, 2000, &err,
			    NULL), -1);
			assert_int_equal(err, cases[i].err);
		}
}

/*
 * Reply and the destination's first bytes in one segment, with each
 * address type of BND: what is left to read starts with the data.
 */
static void
test_socks_connect_reads_reply_exactly(void **state)
{
	static const uint8_t atyps[] = {
		SOCKS5_ATYP_IPV4, SOCKS5_ATYP_IPV6, SOCKS5_ATYP_DOMAIN,
	};
	struct socks5_addr dst, bnd;
	char got[64];
	size_t i;
	ssize_t n;
	int err, cfd, split;

	(void)state;
	dst_name(&dst, "x.example", 80);
	for (split = 0; split <= 1; split++)
		for (i = 0; i < sizeof(atyps); i++) {
			struct script s = { .method = SOCKS5_METHOD_NONE,
			    .bnd_atyp = atyps[i], .split = split,
			    .data = "HTTP/1.0 200 OK\r\n" };
			pthread_t t;
			int sv[2];

			/* run() joins the thread; read before that. */
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0,
			    sv), 0);
			s.fd = sv[1];
			assert_int_equal(pthread_create(&t, NULL, gw_thread,
			    &s), 0);
			assert_int_equal(socks_connect(sv[0], &conf, &dst,
			    &bnd, 2000), 0);
			assert_int_equal(bnd.atyp, atyps[i]);
			cfd = sv[0];
			memset(got, 0, sizeof(got));
			n = 0;
			while (n < 17 && (err = (int)read(cfd, got + n,
			    sizeof(got) - 1 - (size_t)n)) > 0)
				n += err;
			assert_string_equal(got, "HTTP/1.0 200 OK\r\n");
			close(cfd);
			pthread_join(t, NULL);
		}
}

static void
test_socks_connect_userpass(void **state)
{
	struct socks5_addr dst;
	int err;

	(void)state;
	dst_name(&dst, "x.example", 443);
	strcpy(conf.user, "alice");
	strcpy(conf.password, "s3cret");
	{
		struct script s = { .method = SOCKS5_METHOD_USERPASS,
		    .auth_status = 0 };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), 0);
		assert_string_equal(s.up.user, "alice");
		assert_string_equal(s.up.pass, "s3cret");
		assert_string_equal(s.req.dst.name, "x.example");
	}
	{
		struct script s = { .method = SOCKS5_METHOD_USERPASS,
		    .auth_status = 1 };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, EACCES);
	}
	{
		/* The gateway may still choose "none" when we offer both. */
		struct script s = { .method = SOCKS5_METHOD_NONE };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), 0);
	}
	conf.user[0] = conf.password[0] = '\0';
	{
		/* Without a user, choosing userpass is a protocol error. */
		struct script s = { .method = SOCKS5_METHOD_USERPASS };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, ECONNREFUSED);
	}
}

static void
test_socks_connect_gateway_misbehaves(void **state)
{
	struct socks5_addr dst;
	int err;

	(void)state;
	dst_name(&dst, "x.example", 80);
	{
		struct script s = { .method = SOCKS5_METHOD_REFUSED };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, EACCES);
	}
	{
		struct script s = { .close_early = 1 };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, ECONNREFUSED);
	}
	{
		struct script s = { .garbage = 1 };

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, ECONNREFUSED);
	}
	{
		struct script s = { .method = 0x01 };	/* GSSAPI: not ours */

		assert_int_equal(run(&s, &dst, NULL, 2000, &err, NULL), -1);
		assert_int_equal(err, ECONNREFUSED);
	}
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
test_socks_connect_silent_gateway_times_out(void **state)
{
	struct script s = { .method = SOCKS5_METHOD_NONE, .silent = 1 };
	struct socks5_addr dst;
	long long t0, ms;
	int err;

	(void)state;
	dst_name(&dst, "x.example", 80);
	t0 = now_ms();
	assert_int_equal(run(&s, &dst, NULL, 300, &err, NULL), -1);
	ms = now_ms() - t0;
	assert_int_equal(err, ETIMEDOUT);
	assert_true(ms >= 280 && ms < 2000);
}

/* A destination the codec cannot encode is refused before any I/O. */
static void
test_socks_connect_unencodable_destination(void **state)
{
	struct socks5_addr dst;
	int sv[2];

	(void)state;
	memset(&dst, 0, sizeof(dst));
	dst.atyp = 0x7f;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	errno = 0;
	assert_int_equal(socks_connect(sv[0], &conf, &dst, NULL, 500), -1);
	assert_int_equal(errno, EINVAL);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Over TCP on loopback, non-blocking: a connect still in progress is
 * waited for, and a refused one reports ECONNREFUSED from SO_ERROR.
 */
static void
test_socks_connect_gateway_connect_refused(void **state)
{
	struct sockaddr_in sin;
	struct socks5_addr dst;
	socklen_t len = sizeof(sin);
	int ls, fd, r;

	(void)state;
	dst_name(&dst, "x.example", 80);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	close(ls);	/* now nobody listens on that port */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	assert_true(r == 0 || errno == EINPROGRESS || errno == ECONNREFUSED);
	if (r == -1 && errno == ECONNREFUSED) {
		close(fd);
		skip();
	}
	errno = 0;
	assert_int_equal(socks_connect(fd, &conf, &dst, NULL, 2000), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_socks_connect_success_sends_name,
		    setup),
		cmocka_unit_test_setup(
		    test_socks_connect_reply_codes_map_to_errno, setup),
		cmocka_unit_test_setup(test_socks_connect_reads_reply_exactly,
		    setup),
		cmocka_unit_test_setup(test_socks_connect_userpass, setup),
		cmocka_unit_test_setup(test_socks_connect_gateway_misbehaves,
		    setup),
		cmocka_unit_test_setup(
		    test_socks_connect_silent_gateway_times_out, setup),
		cmocka_unit_test_setup(test_socks_connect_unencodable_destination,
		    setup),
		cmocka_unit_test_setup(
		    test_socks_connect_gateway_connect_refused, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
