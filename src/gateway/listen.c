/*
 * listen.c - the gateway's listening sockets and what happens at accept.
 *
 * Sockets come from the config (opened here, reconciled on SIGHUP) or
 * from systemd socket activation. Accepting is where the cheap refusals
 * happen (client policy, max-clients, max-clients-per-source) before a
 * thread is spent, and where running out of descriptors or threads
 * turns into a short pause of accepting instead of a busy loop. Main
 * thread only (srclimit.c, shared with the sessions, has its own lock).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

#define LISTEN_BACKLOG	511	/* what the kernel caps somaxconn near */
#define LISTEN_BURST	64	/* accepts per wake-up, so others get a turn */
#define LISTEN_PAUSE_MS	100	/* how long accepting stops when starved */
#define LISTEN_DRAIN	4	/* reads of what a refused client sent */

/* At most `limit` lines of one kind per window, then a count of the rest. */
struct listen_ratelimit {
	unsigned int	limit;		/* lines per window */
	int64_t		span;		/* ms in a window */
	int64_t		window;		/* ms the current window began */
	unsigned int	n;		/* lines written in it */
	unsigned int	dropped;	/* lines held back in it */
};

static struct listen_ratelimit	listen_rl_full = { 10, 1000, 0, 0, 0 };
static struct listen_ratelimit	listen_rl_refused = { 10, 1000, 0, 0, 0 };
static struct listen_ratelimit	listen_rl_source = { 10, 1000, 0, 0, 0 };
/* A pause recurs every 100 ms while starved: say so once in a while. */
static struct listen_ratelimit	listen_rl_starved = { 1, 10000, 0, 0, 0 };

/*
 * Whether one more line may be written now. A burst of refused
 * connections must not be able to flood the log.
 */
static int
listen_ratelimit(struct listen_ratelimit *rl, const char *what)
{
	int64_t now = mech_now_ms();

	if (now - rl->window >= rl->span) {
		if (rl->dropped > 0)
			log_info("%s: %u more not logged", what, rl->dropped);
		rl->window = now;
		rl->n = 0;
		rl->dropped = 0;
	}
	if (rl->n < rl->limit) {
		rl->n++;
		return 1;
	}
	rl->dropped++;
	return 0;
}

int
listen_open(const struct sockaddr *sa, socklen_t salen, int backlog)
{
	int	fd, on = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return mech_close_fail(fd);
	/*
	 * Explicitly, whatever net.ipv6.bindv6only says: "[::]:1080" must
	 * not take 0.0.0.0:1080 away from a separate IPv4 listen, and a
	 * v4-mapped client would dodge rules written for IPv4.
	 */
	if (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)
		return mech_close_fail(fd);
	if (bind(fd, sa, salen) == -1 || listen(fd, backlog) == -1)
		return mech_close_fail(fd);
	return fd;
}

static int
listen_add(struct listen_set *ls, int fd, int inherited)
{
	struct listener	*v;
	struct listener	*l;

	v = realloc(ls->v, (ls->n + 1) * sizeof(*v));
	if (v == NULL)
		return -1;
	ls->v = v;
	l = &ls->v[ls->n];
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	l->inherited = inherited;
	l->sslen = sizeof(l->ss);
	if (getsockname(fd, (struct sockaddr *)&l->ss, &l->sslen) == -1)
		l->ss.ss_family = AF_UNSPEC;
	ls->n++;
	return 0;
}

/* Whether fd is a listening stream socket, as systemd should pass. */
static int
listen_is_listening(int fd)
{
	int		val = 0;
	socklen_t	len = sizeof(val);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == 0 &&
	    val == 1;
}

int
listen_inherit(struct listen_set *ls)
{
	const char	*spid = getenv("LISTEN_PID"), *sfds = getenv("LISTEN_FDS");
	unsigned long	 pid, nfds, i;
	char		 buf[ADDR_STRLEN];
	int		 fd, fl, n = 0;

	if (spid == NULL || sfds == NULL)
		return 0;
	/* Meant for us, not for a parent that forgot to unset them. */
	if (conf_parse_uint(spid, 1, ULONG_MAX, &pid) == -1 ||
	    pid != (unsigned long)getpid())
		return 0;
	if (conf_parse_uint(sfds, 0, 1024, &nfds) == -1) {
		log_warnx("LISTEN_FDS=%s: not a descriptor count", sfds);
		return -1;
	}
	/*
	 * Each of these descriptors is ours (LISTEN_PID says so): one that
	 * cannot be used is closed, not left open and forgotten.
	 */
	for (i = 0; i < nfds; i++) {
		fd = 3 + (int)i;
		if (!listen_is_listening(fd)) {
			log_warnx("fd %d from systemd is not a listening "
			    "socket; closed", fd);
			close(fd);
			continue;
		}
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
		    (fl = fcntl(fd, F_GETFL)) == -1 ||
		    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
		    listen_add(ls, fd, 1) == -1) {
			log_warn("fd %d from systemd; closed", fd);
			close(fd);
			continue;
		}
		log_info("listening on %s (from systemd)", addr_format(
		    (struct sockaddr *)&ls->v[ls->n - 1].ss, buf, sizeof(buf)));
		n++;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}

/*
 * Opens the listens of c that ls does not have; returns how many failed,
 * and how many of those for an address in use in *inuse (NULL: not
 * wanted). quiet: a first try whose failures are tried and logged again
 * later.
 */
static int
listen_open_missing(struct listen_set *ls, const struct gw_conf *c,
    int quiet, int *inuse)
{
	const struct sockaddr	*sa;
	char			 buf[ADDR_STRLEN];
	size_t			 i, j;
	int			 fd, failed = 0;

	for (i = 0; i < c->nlistens; i++) {
		sa = (const struct sockaddr *)&c->listens[i];
		for (j = 0; j < ls->n; j++)
			if (addr_equal((struct sockaddr *)&ls->v[j].ss, sa, 1))
				break;
		if (j < ls->n)
			continue;
		addr_format(sa, buf, sizeof(buf));
		if ((fd = listen_open(sa, c->listen_lens[i],
		    LISTEN_BACKLOG)) == -1) {
			if (inuse != NULL && errno == EADDRINUSE)
				(*inuse)++;
			if (!quiet)
				log_warn("listen %s", buf);
			failed++;
			continue;
		}
		if (listen_add(ls, fd, 0) == -1) {
			log_warn("listen %s", buf);
			close(fd);
			failed++;
			continue;
		}
		log_info("listening on %s", buf);
	}
	return failed;
}

/* Whether l listens on one of c's addresses. */
static int
listen_wanted(const struct listener *l, const struct gw_conf *c)
{
	size_t	j;

	for (j = 0; j < c->nlistens; j++)
		if (addr_equal((const struct sockaddr *)&l->ss,
		    (const struct sockaddr *)&c->listens[j], 1))
			return 1;
	return 0;
}

static int
listen_any_wanted(const struct listen_set *ls, const struct gw_conf *c)
{
	size_t	i;

	for (i = 0; i < ls->n; i++)
		if (listen_wanted(&ls->v[i], c))
			return 1;
	return 0;
}

/* Closes the listeners of ls that c does not list. */
static void
listen_drop_unwanted(struct listen_set *ls, const struct gw_conf *c)
{
	char	buf[ADDR_STRLEN];
	size_t	i, kept;

	for (i = kept = 0; i < ls->n; i++) {
		if (listen_wanted(&ls->v[i], c)) {
			ls->v[kept++] = ls->v[i];
			continue;
		}
		log_info("no longer listening on %s", addr_format(
		    (struct sockaddr *)&ls->v[i].ss, buf, sizeof(buf)));
		close(ls->v[i].fd);
	}
	ls->n = kept;
}

/*
 * Listens again on the n addresses of old (those just closed), after
 * none of a new config's could be opened; each failure is logged.
 */
static void
listen_restore(struct listen_set *ls, const struct listener *old, size_t n)
{
	char	buf[ADDR_STRLEN];
	size_t	i;
	int	fd;

	for (i = 0; i < n; i++) {
		addr_format((const struct sockaddr *)&old[i].ss, buf,
		    sizeof(buf));
		if ((fd = listen_open((const struct sockaddr *)&old[i].ss,
		    old[i].sslen, LISTEN_BACKLOG)) == -1 ||
		    listen_add(ls, fd, 0) == -1) {
			log_warn("listen %s again", buf);
			if (fd != -1)
				close(fd);
			continue;
		}
		log_info("listening on %s again", buf);
	}
	if (ls->n == 0 && n > 0)
		log_error("listening nowhere: the old addresses could not be "
		    "opened again");
}

int
listen_reconcile(struct listen_set *ls, const struct gw_conf *c)
{
	struct listener	*old = NULL;
	size_t		 i, nold;
	int		 failed, inuse = 0;

	for (i = 0; i < ls->n; i++)
		if (ls->v[i].inherited)
			return 0;	/* systemd decides where we listen */

	/*
	 * Open the new addresses before closing the old, so no moment goes
	 * without a listener. An address still taken by one about to go
	 * (0.0.0.0:1080 replaced by 127.0.0.1:1080) is tried again after.
	 */
	(void)listen_open_missing(ls, c, 1, &inuse);
	/* Not one opened, and none for being in use: log why, keep all. */
	if (!listen_any_wanted(ls, c) && inuse == 0) {
		(void)listen_open_missing(ls, c, 0, NULL);
		if (!listen_any_wanted(ls, c))
			return -1;
	}
	if (listen_any_wanted(ls, c)) {
		listen_drop_unwanted(ls, c);
		return listen_open_missing(ls, c, 0, NULL);
	}

	/*
	 * Perhaps the old listeners hold them: close those and try again,
	 * and if that fails too, listen where we did before: a reload must
	 * not leave the daemon deaf.
	 */
	nold = ls->n;
	if (nold > 0 && (old = malloc(nold * sizeof(*old))) == NULL) {
		log_warn("reconciling listeners");
		return -1;
	}
	if (nold > 0)
		memcpy(old, ls->v, nold * sizeof(*old));
	listen_drop_unwanted(ls, c);
	failed = listen_open_missing(ls, c, 0, NULL);
	if (ls->n > 0) {
		free(old);
		return failed;
	}
	listen_restore(ls, old, nold);
	free(old);
	return -1;
}

void
listen_close_all(struct listen_set *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		close(ls->v[i].fd);
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

/* Out of descriptors, memory or threads: stop accepting for a moment. */
static void
listen_pause(struct listen_set *ls, const char *what, int err)
{
	ls->backoff_until = mech_now_ms() + LISTEN_PAUSE_MS;
	if (listen_ratelimit(&listen_rl_starved, "pauses")) {
		errno = err;
		log_warn("%s; accepting paused for %d ms", what,
		    LISTEN_PAUSE_MS);
	}
}

/*
 * Turns away an admitted client there is no room for, without a thread:
 * the RFC 1928 (section 3) method-selection reply X'05FF', "no
 * acceptable methods", which any SOCKS5 client reports as a refusal by
 * the server, where a bare close looks like a network fault. Best effort
 * on the nonblocking socket, never waiting for the greeting: a fresh
 * socket's send buffer takes two bytes. What the client sent already is
 * read first, since closing with unread bytes makes a reset, and a reset
 * may destroy the reply in the client's queue before it reads it.
 */
static void
listen_refuse(int fd)
{
	uint8_t	buf[512];
	int	len, i;

	len = socks5_encode_method_choice(buf, sizeof(buf),
	    SOCKS5_METHOD_REFUSED);
	if (len > 0)
		(void)send(fd, buf, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (i = 0; i < LISTEN_DRAIN; i++)
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			break;
	close(fd);
}

/*
 * Whether a client from sa fits max-clients and max-clients-per-source;
 * when it does, its source has counted it (srclimit_take()) and owes a
 * srclimit_release(). 1: room, 0: refused (logged), -1: out of memory.
 */
static int
listen_room(const struct sockaddr *sa, const struct gw_conf *c)
{
	char	buf[ADDR_STRLEN];

	if (session_count() >= c->max_clients) {
		if (listen_ratelimit(&listen_rl_full, "max-clients reached"))
			log_warnx("max-clients reached client=%s max=%u",
			    addr_format(sa, buf, sizeof(buf)), c->max_clients);
		return 0;
	}
	if (srclimit_take(sa, c->max_clients_per_source) == 0)
		return 1;
	if (errno != EUSERS)
		return -1;
	if (listen_ratelimit(&listen_rl_source, "per-source limit reached"))
		log_warnx("per-source limit reached client=%s max=%u",
		    addr_format(sa, buf, sizeof(buf)),
		    c->max_clients_per_source);
	return 0;
}

/* Admits or refuses one accepted client; 0, or -1 to stop accepting. */
static int
listen_admit(struct listen_set *ls, int fd, const struct sockaddr *sa,
    socklen_t salen, struct gw_conf *c)
{
	struct verdict	v;
	char		buf[ADDR_STRLEN];
	int		err;

	/* Not told why: a client the rules refuse learns nothing. */
	v = policy_client(c, sa);
	if (v.action != RULE_PASS) {
		if (listen_ratelimit(&listen_rl_refused, "client refused"))
			log_info("client refused client=%s rule=%u",
			    addr_format(sa, buf, sizeof(buf)), v.lineno);
		close(fd);
		return 0;
	}
	switch (listen_room(sa, c)) {
	case 0:
		listen_refuse(fd);
		return 0;
	case -1:
		err = errno;
		close(fd);
		listen_pause(ls, "counting a client", err);
		return -1;
	}
	/* From here the session's end releases its source (session.c). */
	if (session_spawn(fd, sa, salen, c) == -1) {
		err = errno;
		srclimit_release(sa);
		close(fd);
		listen_pause(ls, "cannot start a session thread", err);
		return -1;
	}
	return 0;
}

void
listen_accept(struct listen_set *ls, struct listener *l, struct gw_conf *c)
{
	struct sockaddr_storage	ss;
	socklen_t		sslen;
	int			fd, i;

	for (i = 0; i < LISTEN_BURST; i++) {
		sslen = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sslen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			if (listen_admit(ls, fd, (struct sockaddr *)&ss, sslen,
			    c) == -1)
				return;
			continue;
		}
		switch (errno) {
		case EAGAIN:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			listen_pause(ls, "accept", errno);
			return;
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
		case EPERM:		/* a firewall rule said no */
		case ENETDOWN:
		case ENETUNREACH:
		case EHOSTDOWN:
		case EHOSTUNREACH:
		case ENONET:
		case ENOPROTOOPT:
		case EOPNOTSUPP:
			/* accept(2): the connection's own errors; go on. */
			continue;
		default:
			log_warn("accept");
			return;
		}
	}
}
