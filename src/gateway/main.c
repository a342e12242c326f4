/*
 * main.c - gatewayd: the SOCKS-based IPv6/IPv4 gateway of RFC 3089.
 *
 * Parses the command line, loads the config, opens the listeners,
 * becomes a daemon, drops privileges, and then runs one poll() loop over
 * a signalfd and the listeners: SIGHUP reloads, SIGTERM and SIGINT stop.
 * Clients are served by session threads (session.c); this thread only
 * accepts, reloads and waits.
 */
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"
#include "ownaddr.h"

#define MAIN_MAX_ARGS	64	/* -l and -a each */

struct main_opts {
	const char	*conf_path;		/* -c; NULL: built-in defaults */
	const char	*listens[MAIN_MAX_ARGS];	/* -l */
	size_t		 nlistens;
	const char	*nets[MAIN_MAX_ARGS];	/* -a */
	size_t		 nnets;
	int		 foreground;		/* -f, -d */
	int		 debug;			/* -d */
	int		 check;			/* -t */
	int		 systemd_sockets;	/* -s: -t for socket activation */
};

/*
 * The config new sessions get. Read and replaced by the main thread
 * only (accepting and reloading both happen here), so it needs no lock:
 * each session holds its own reference for its whole life, and a reload
 * only drops the main thread's.
 */
static struct gw_conf	*main_conf;
static struct listen_set main_listeners;
/* Socket-activated: systemd's sockets are used and "listen" is not. */
static int		 main_activated;

static void __attribute__((noreturn))
main_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: gatewayd [-dfstVh] [-c file] [-l addr:port]... "
	    "[-a network]...\n"
	    "  -c file     configuration file (default: built-in defaults)\n"
	    "  -l addr     listen on addr:port instead (repeatable)\n"
	    "  -a network  also admit clients from network (repeatable)\n"
	    "  -f          stay in the foreground, log to stderr\n"
	    "  -d          debug logging (implies -f)\n"
	    "  -t          check the configuration and exit\n"
	    "  -s          with -t: sockets come from systemd, no listen "
	    "needed\n"
	    "  -V          print the version and exit\n"
	    "  -h          this help\n");
	exit(status);
}

static void
main_getopt(int argc, char **argv, struct main_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	while ((ch = getopt(argc, argv, "a:c:dfhl:stV")) != -1) {
		switch (ch) {
		case 'a':
			if (o->nnets == MAIN_MAX_ARGS)
				main_usage(2);
			o->nets[o->nnets++] = optarg;
			break;
		case 'c':
			o->conf_path = optarg;
			break;
		case 'd':
			o->debug = 1;
			o->foreground = 1;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'h':
			main_usage(0);
		case 'l':
			if (o->nlistens == MAIN_MAX_ARGS)
				main_usage(2);
			o->listens[o->nlistens++] = optarg;
			break;
		case 's':
			o->systemd_sockets = 1;
			break;
		case 't':
			o->check = 1;
			break;
		case 'V':
			printf("gatewayd %s\n", GATEWAYD_VERSION);
			exit(0);
		default:
			main_usage(2);
		}
	}
	/*
	 * The daemon itself learns from LISTEN_FDS whether systemd passed
	 * sockets; -s only tells -t, which runs without them (ExecReload).
	 */
	if (optind != argc || (o->systemd_sockets && !o->check))
		main_usage(2);
}

/*
 * The config as the command line amends it: -l replaces the listens,
 * -a admits more clients. Errors go to *errs; returns NULL on any.
 */
static struct gw_conf *
main_load(const struct main_opts *o, struct conf_errors *errs)
{
	struct gw_conf	*c;
	const char	*why;
	size_t		 i;
	int		 before;

	conf_errors_init(errs, o->conf_path != NULL ? o->conf_path :
	    "gatewayd");
	if ((c = conf_load(o->conf_path, errs)) == NULL) {
		if (errs->count == 0)
			conf_error(errs, 0, "out of memory");
		return NULL;
	}
	before = errs->count;
	errs->file = "gatewayd";	/* these come from the command line */
	if (o->nlistens > 0)
		conf_clear_listens(c);
	for (i = 0; i < o->nlistens; i++)
		if (conf_add_listen(c, o->listens[i], &why) == -1)
			conf_error(errs, 0, "-l %s: %s", o->listens[i], why);
	for (i = 0; i < o->nnets; i++)
		if (conf_add_client_net(c, o->nets[i], &why) == -1)
			conf_error(errs, 0, "-a %s: %s", o->nets[i], why);
	/*
	 * A daemon that listens nowhere serves no one: an error, not a
	 * start (or reload) that succeeds and then does nothing. -t cannot
	 * see whether the daemon is socket-activated (systemd gives
	 * ExecReload no LISTEN_FDS), so it asks for a listen too unless -s
	 * says the sockets come from systemd.
	 */
	errs->file = o->conf_path != NULL ? o->conf_path : "gatewayd";
	if (c->nlistens == 0 && !main_activated && !o->systemd_sockets)
		conf_error(errs, 0, "no listen address: add a 'listen' line "
		    "or give -l (only socket activation needs none; "
		    "check for it with -t -s)");
	if (errs->count != before) {
		conf_unref(c);
		return NULL;
	}
	return c;
}

/* Where and how much to log: -d and -f win over the config's defaults. */
static void
main_log_setup(const struct main_opts *o, const struct gw_conf *c)
{
	enum log_target	t;

	if (c->log_target_set)
		t = c->log_target;
	else
		t = o->foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG;
	log_init("gatewayd", t, o->debug ? LOG_LEVEL_DEBUG : c->log_level);
}

/* Writes collected "FILE:LINE: reason" lines one by one to the log. */
static void
main_log_errors(const struct conf_errors *errs)
{
	const char	*p = errs->text, *nl;

	while (p < errs->text + errs->used && *p != '\0') {
		nl = memchr(p, '\n', (size_t)(errs->text + errs->used - p));
		if (nl == NULL)
			nl = errs->text + errs->used;
		log_error("%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
}

/* -t: report, and exit 0 if the config loaded. */
static void __attribute__((noreturn))
main_check(const struct main_opts *o)
{
	struct conf_errors	 errs, warns;
	struct gw_conf		*c;
	const char		*name = o->conf_path != NULL ? o->conf_path :
				    "built-in defaults";

	if ((c = main_load(o, &errs)) == NULL) {
		fputs(errs.text, stderr);
		fprintf(stderr, "%s: %d error%s\n", name, errs.count,
		    errs.count == 1 ? "" : "s");
		exit(1);
	}
	conf_errors_init(&warns, name);
	conf_warnings(c, &warns);
	fputs(warns.text, stderr);
	fprintf(stderr, "%s: configuration OK\n", name);
	conf_unref(c);
	exit(0);
}

/*
 * Becomes user once the listeners are bound, when started as root. Each
 * step is checked, and so is the outcome: every id is the user's, and
 * root cannot be had back. Without "user" a root daemon stays root, and
 * says so: every relay would then run with the power to own the host.
 */
static void
main_drop_privileges(const char *user)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return;		/* nothing to drop: "user" is for root */
	if (user == NULL) {
		log_warnx("running as root: give 'user NAME' to drop "
		    "privileges once the listeners are open");
		return;
	}
	if ((pw = getpwnam(user)) == NULL)
		fatalx("user %s: no such user", user);
	if (pw->pw_uid == 0)
		fatalx("user %s is root: nothing would be dropped", user);
	if (setgroups(1, &pw->pw_gid) == -1)
		fatal("cannot become user %s: setgroups", user);
	if (setgid(pw->pw_gid) == -1)
		fatal("cannot become user %s: setgid", user);
	if (setuid(pw->pw_uid) == -1)
		fatal("cannot become user %s: setuid", user);
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid ||
	    getgid() != pw->pw_gid || getegid() != pw->pw_gid)
		fatalx("still not user %s after changing to it", user);
	if (setuid(0) != -1)
		fatalx("could regain root after becoming %s", user);
	log_info("running as user %s", user);
}

/*
 * A relaying session holds six descriptors (two sockets, two pipes), so
 * the usual soft limit of 1024 would cap a default max-clients of 1024
 * near 170. Take what the hard limit allows, and say if it is not enough
 * (accepting then pauses on EMFILE rather than failing).
 */
static void
main_raise_nofile(unsigned int max_clients)
{
	struct rlimit	rl;
	unsigned long	need = (unsigned long)max_clients * 6 + 32;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warnx("max-clients %u may need %lu descriptors; the limit "
		    "is %lu", max_clients, need, (unsigned long)rl.rlim_cur);
}

/*
 * SIGHUP: a new config (and users file) or, if it has errors, the old
 * one kept. Sessions running keep the config they started with.
 */
static void
main_reload(const struct main_opts *o)
{
	struct conf_errors	 errs;
	struct gw_conf		*c, *old;
	struct timespec		 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sdnotify("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ull +
	    (unsigned long long)ts.tv_nsec / 1000);
	log_info("reloading %s", o->conf_path != NULL ? o->conf_path :
	    "built-in defaults");
	if ((c = main_load(o, &errs)) == NULL) {
		main_log_errors(&errs);
		log_warnx("reload failed (%d error%s); configuration kept",
		    errs.count, errs.count == 1 ? "" : "s");
		sdnotify("READY=1\nSTATUS=reload failed; old configuration "
		    "kept");
		return;
	}
	/* Before the new config takes over: a reload may not leave us deaf. */
	if (listen_reconcile(&main_listeners, c) == -1) {
		conf_unref(c);
		log_warnx("reload refused: none of its listen addresses could "
		    "be opened; configuration kept");
		sdnotify("READY=1\nSTATUS=reload refused; old configuration "
		    "kept");
		return;
	}
	old = main_conf;
	main_conf = c;
	conf_unref(old);
	main_log_setup(o, c);
	main_raise_nofile(c->max_clients);
	(void)ownaddr_reload();		/* protect-local: addresses may move */
	sdnotify("READY=1\nSTATUS=reloaded; %zu listeners", main_listeners.n);
}

/* The signals the main loop reads from a signalfd, blocked everywhere. */
static int
main_signals(void)
{
	sigset_t	set;
	int		fd;

	/* Writes to a vanished peer fail with EPIPE instead of killing us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Before any thread exists, so every thread inherits the mask. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

/* The signal waiting on fd, or 0 if none. */
static int
main_next_signal(int fd)
{
	struct signalfd_siginfo	si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}

/*
 * Accepts and reloads until SIGTERM or SIGINT. While accepting is paused
 * (out of descriptors or threads) the listeners are left out of the poll
 * set, so the loop sleeps instead of spinning on their readiness.
 */
static void
main_loop(const struct main_opts *o, int sigfd)
{
	struct pollfd	*pfd = NULL, *np;
	size_t		 cap = 0, n, i;
	int64_t		 now;
	int		 wait, sig, listening;

	for (;;) {
		if (pfd == NULL || cap < main_listeners.n + 1) {
			if ((np = realloc(pfd, (main_listeners.n + 1) *
			    sizeof(*pfd))) == NULL)
				fatal("realloc");
			pfd = np;
			cap = main_listeners.n + 1;
		}
		pfd[0].fd = sigfd;
		pfd[0].events = POLLIN;
		now = mech_now_ms();
		listening = now >= main_listeners.backoff_until;
		wait = listening ? -1 :
		    (int)(main_listeners.backoff_until - now);
		n = 1;
		for (i = 0; listening && i < main_listeners.n; i++) {
			pfd[n].fd = main_listeners.v[i].fd;
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, n, wait) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN) {
			while ((sig = main_next_signal(sigfd)) != 0) {
				if (sig == SIGHUP)
					main_reload(o);
				else {
					log_info("%s: shutting down",
					    sig == SIGINT ? "SIGINT" : "SIGTERM");
					free(pfd);
					return;
				}
			}
			continue;	/* the listener set may have changed */
		}
		for (i = 1; i < n; i++)
			if (pfd[i].revents & POLLIN)
				listen_accept(&main_listeners,
				    &main_listeners.v[i - 1], main_conf);
	}
}

static void
main_shutdown(void)
{
	unsigned int left;

	sdnotify("STOPPING=1");
	listen_close_all(&main_listeners);
	if (session_count() > 0)
		log_info("waiting up to %us for %u sessions",
		    main_conf->shutdown_grace, session_count());
	left = session_wait_all(main_conf->shutdown_grace * 1000u);
	if (left > 0) {
		/* Their threads still use the config: leave it to exit(). */
		log_info("exiting with %u sessions still open", left);
		return;
	}
	conf_unref(main_conf);
	main_conf = NULL;
}

int
main(int argc, char **argv)
{
	struct main_opts	 o;
	struct conf_errors	 errs;
	char			*abs_path = NULL;
	int			 sigfd, inherited;

	main_getopt(argc, argv, &o);
	if (o.check)
		main_check(&o);
	/* daemon() moves to "/": a reload must still find the file. */
	if (o.conf_path != NULL && o.conf_path[0] != '/' &&
	    (abs_path = realpath(o.conf_path, NULL)) != NULL)
		o.conf_path = abs_path;
	/* Until the daemon is set up, errors go where the user sees them. */
	log_init("gatewayd", LOG_TARGET_STDERR,
	    o.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	/* First, so the config is judged knowing whether it must listen. */
	if ((inherited = listen_inherit(&main_listeners)) == -1)
		return 1;
	main_activated = inherited > 0;
	if ((main_conf = main_load(&o, &errs)) == NULL) {
		fputs(errs.text, stderr);
		return 1;
	}
	sigfd = main_signals();
	main_raise_nofile(main_conf->max_clients);

	if (!main_activated &&
	    listen_reconcile(&main_listeners, main_conf) == -1)
		fatalx("none of the listen addresses could be opened");
	if (inherited > 0 && main_conf->nlistens > 0)
		log_info("sockets from systemd used; listen addresses of the "
		    "configuration ignored");

	/* Under systemd (NOTIFY_SOCKET) the service manager is our parent. */
	if (!o.foreground && !sdnotify_enabled() && daemon(0, 0) == -1)
		fatal("daemon");
	main_log_setup(&o, main_conf);
	main_drop_privileges(main_conf->runas);

	log_info("gatewayd %s started; %zu listeners, family %s",
	    GATEWAYD_VERSION, main_listeners.n,
	    conf_family_str(main_conf->family));
	sdnotify("READY=1\nSTATUS=listening on %zu sockets",
	    main_listeners.n);
	(void)ownaddr_reload();		/* before the first session */
	main_loop(&o, sigfd);
	main_shutdown();
	close(sigfd);
	free(abs_path);
	return 0;
}
