/*
 * it_auth.c - RFC 1929 username/password authentication in the real
 * gatewayd, against a users file whose crypt(3) hashes are made at test
 * time (yescrypt for alice, SHA-512 for bob): success, a wrong password,
 * an unknown user, a client that offers no acceptable method, and a rule
 * that names a user.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static struct h_gw	gw;
static struct h_proc	echo;
static uint16_t		echo_port;

static int
setup(void **state)
{
	char	users[PATH_MAX], conf[PATH_MAX], ha[256], hb[256];

	(void)state;
	h_tmp(users, sizeof(users), "auth-users");
	h_tmp(conf, sizeof(conf), "auth.conf");
	if (h_crypt("alice-pw", "$y$", ha, sizeof(ha)) == -1 ||
	    h_crypt("bob pw with blanks", "$6$", hb, sizeof(hb)) == -1) {
		fprintf(stderr, "it_auth: crypt_gensalt/crypt failed\n");
		return -1;
	}
	if (h_write_file(users, "# users of it_auth\nalice:%s\n\nbob:%s\n",
	    ha, hb) == -1 ||
	    h_write_file(conf, "client pass from 127.0.0.0/8\n"
	    "client pass from ::1\n"
	    "auth password\n"
	    "users-file %s\n"
	    "block to 127.0.0.3 user bob\n"
	    "pass to any\n", users) == -1)
		return -1;
	if ((echo_port = h_tool_start(&echo, "tcpsrv", "-m", "echo",
	    NULL)) == 0)
		return -1;
	return h_gw_start(&gw, conf, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	int	rc = h_gw_stop(&gw);

	h_proc_stop(&echo);
	return rc;
}

static void
echo_ok(int fd)
{
	char	buf[16];

	assert_int_equal(h_send_all(fd, "authenticated", 13), 0);
	assert_int_equal(h_recv_n(fd, buf, 13, H_IO_MS), 13);
	assert_memory_equal(buf, "authenticated", 13);
}

static void
test_auth_success_yescrypt(void **state)
{
	int	fd, rep;

	(void)state;
	fd = h_socks_open(&gw, "alice", "alice-pw", "127.0.0.1", echo_port,
	    &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd);
	close(fd);
	assert_true(h_log_line(gw.log, 3000, "user=alice", "rep=0", NULL));
}

static void
test_auth_success_sha512(void **state)
{
	int	fd, rep;

	(void)state;
	fd = h_socks_open(&gw, "bob", "bob pw with blanks", "127.0.0.1",
	    echo_port, &rep);
	assert_int_equal(rep, SOCKS5_REP_SUCCEEDED);
	echo_ok(fd);
	close(fd);
	assert_true(h_log_line(gw.log, 3000, "user=bob", "rep=0", NULL));
}

/* A failed RFC 1929 exchange: status not 0, then the gateway closes. */
static void
auth_fails(const char *user, const char *pass)
{
	uint8_t	m = SOCKS5_METHOD_USERPASS;
	char	needle[64];
	int	fd, st;

	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, &m, 1), SOCKS5_METHOD_USERPASS);
	st = h_socks_userpass(fd, user, pass);
	assert_true(st > 0);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	snprintf(needle, sizeof(needle), "user=%s", user);
	assert_true(h_log_line(gw.log, 3000, "auth failed session=", needle,
	    NULL));
}

static void
test_auth_wrong_password_fails_and_closes(void **state)
{
	(void)state;
	auth_fails("alice", "alice-pW");
	auth_fails("bob", "bob pw with blanks ");
}

/*
 * A NUL in the user name: refused like a wrong name, and the log line
 * shows the name as sent (the NUL escaped) and the session's number.
 */
static void
test_auth_nul_in_user_is_logged_escaped(void **state)
{
	static const uint8_t	msg[] = { 1, 5, 'e', 'v', 0, 'i', 'l', 1, 'p' };
	uint8_t			m = SOCKS5_METHOD_USERPASS, st[2];
	int			fd;

	(void)state;
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, &m, 1), SOCKS5_METHOD_USERPASS);
	assert_int_equal(h_send_all(fd, msg, sizeof(msg)), 0);
	assert_int_equal(h_recv_n(fd, st, 2, H_IO_MS), 2);
	assert_int_not_equal(st[1], 0);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	assert_true(h_log_line(gw.log, 3000, "auth failed session=",
	    "user=ev\\x00il", NULL));
}

static void
test_auth_unknown_user_fails_and_closes(void **state)
{
	(void)state;
	auth_fails("mallory", "alice-pw");
}

static void
test_auth_client_without_password_gets_no_method(void **state)
{
	uint8_t	none = SOCKS5_METHOD_NONE;
	uint8_t	offer[] = { SOCKS5_METHOD_NONE, SOCKS5_METHOD_GSSAPI };
	int	fd;

	(void)state;
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, &none, 1), SOCKS5_METHOD_REFUSED);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, offer, 2), SOCKS5_METHOD_REFUSED);
	assert_true(h_wait_closed(fd, H_IO_MS));
	close(fd);
}

static void
test_auth_password_chosen_among_several_offers(void **state)
{
	uint8_t	offer[] = { SOCKS5_METHOD_NONE, SOCKS5_METHOD_GSSAPI,
			    SOCKS5_METHOD_USERPASS };
	struct socks5_addr dst;
	int	fd;

	(void)state;
	fd = h_connect("127.0.0.1", gw.port, H_IO_MS);
	assert_true(fd >= 0);
	assert_int_equal(h_socks_greet(fd, offer, 3), SOCKS5_METHOD_USERPASS);
	assert_int_equal(h_socks_userpass(fd, "alice", "alice-pw"), 0);
	h_dst(&dst, "127.0.0.1", echo_port);
	assert_int_equal(h_socks_request(fd, SOCKS5_CMD_CONNECT, &dst, NULL),
	    SOCKS5_REP_SUCCEEDED);
	echo_ok(fd);
	close(fd);
}

/* "block to 127.0.0.3 user bob": only bob is stopped by the rule. */
static void
test_rule_naming_a_user(void **state)
{
	uint16_t	port = h_free_port("127.0.0.3");
	int		fd, rep;

	(void)state;
	assert_int_not_equal(port, 0);
	fd = h_socks_open(&gw, "bob", "bob pw with blanks", "127.0.0.3", port,
	    &rep);
	assert_int_equal(fd, -1);
	assert_int_equal(rep, SOCKS5_REP_NOT_ALLOWED);
	/* alice passes the rules and reaches a port where nothing listens. */
	fd = h_socks_open(&gw, "alice", "alice-pw", "127.0.0.3", port, &rep);
	assert_int_equal(fd, -1);
	assert_int_equal(rep, SOCKS5_REP_CONN_REFUSED);
}

static void
test_no_descriptor_leak(void **state)
{
	int	n;

	(void)state;
	n = h_gw_fds_settle(&gw, 5000);
	printf("# gatewayd fds: %d at start, %d now\n", gw.fd_base, n);
	assert_int_equal(n, gw.fd_base);
	assert_true(h_proc_alive(&gw.proc));
}

/*
 * After the leak check: SIGTERM ends the daemon with status 0 and no
 * sanitizer report in its log (a group teardown cannot fail a run).
 */
static void
test_daemon_exits_zero_cleanly(void **state)
{
	(void)state;
	assert_int_equal(h_gw_stop(&gw), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_success_yescrypt),
		cmocka_unit_test(test_auth_success_sha512),
		cmocka_unit_test(test_auth_wrong_password_fails_and_closes),
		cmocka_unit_test(test_auth_unknown_user_fails_and_closes),
		cmocka_unit_test(test_auth_nul_in_user_is_logged_escaped),
		cmocka_unit_test(
		    test_auth_client_without_password_gets_no_method),
		cmocka_unit_test(
		    test_auth_password_chosen_among_several_offers),
		cmocka_unit_test(test_rule_naming_a_user),
		cmocka_unit_test(test_no_descriptor_leak),
		cmocka_unit_test(test_daemon_exits_zero_cleanly),
	};

	h_init();
	return cmocka_run_group_tests_name("it_auth", tests, setup, teardown);
}
