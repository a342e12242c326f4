/*
 * socks64-run - runs a program with libsocks64 preloaded, so that its
 * names are delegated to the gateway and its connections go through it
 * (RFC 3089 section 3), without changing the program.
 *
 * It finds the library (next to this binary, in ../lib, or in the
 * libdir it was built for), puts it in front of any LD_PRELOAD the
 * environment already has, turns its options into SOCKS64_* variables
 * and execs the command. A password is taken from SOCKS64_PASSWORD
 * only: on a command line every user of the host could read it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOCKS64_LIBDIR
#define SOCKS64_LIBDIR	"/usr/local/lib"
#endif
#define RUN_LIBNAME	"libsocks64.so"
#define RUN_VERSION	"0.1.0"

static void
run_usage(FILE *f)
{
	fprintf(f,
	    "usage: socks64-run [-d] [-c FILE] [-g HOST:PORT] [-u USER] "
	    "[--] COMMAND [ARG...]\n"
	    "Runs COMMAND with libsocks64 preloaded: names it looks up are "
	    "resolved by\nthe SOCKS gateway and its connections go through "
	    "it.\n\n"
	    "  -c FILE       configuration file (default /etc/socks64.conf)\n"
	    "  -g HOST:PORT  the gateway (IPv4, [IPv6] or name; port 1080 "
	    "if omitted)\n"
	    "  -u USER       user name for the gateway; the password comes "
	    "from\n"
	    "                SOCKS64_PASSWORD, never from the command line\n"
	    "  -d            debug lines from the library on stderr\n"
	    "  -V            print the version\n"
	    "  -h, --help    this text\n\n"
	    "See socks64-run(1), socks64.conf(5) and libsocks64(3).\n");
}

/* Whether path names an existing regular file we may read. */
static int
run_usable(const char *path)
{
	return access(path, R_OK) == 0;
}

/*
 * The library's absolute path, written into out: LD_PRELOAD entries are
 * taken relative to whatever directory the program later runs in, so a
 * relative one would work only by accident.
 */
static int
run_find_library(char *out, size_t len)
{
	char self[PATH_MAX], cand[PATH_MAX + 32], *slash;
	const char *rel[] = { "/" RUN_LIBNAME, "/../lib/" RUN_LIBNAME,
	    "/../lib64/" RUN_LIBNAME };
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(cand, sizeof(cand), "%s%s", self, rel[i]);
			if (run_usable(cand) && realpath(cand, out) != NULL &&
			    strlen(out) < len)
				return 0;
		}
	}
	snprintf(cand, sizeof(cand), "%s/%s", SOCKS64_LIBDIR, RUN_LIBNAME);
	if (run_usable(cand) && realpath(cand, out) != NULL)
		return 0;
	return -1;
}

/* LD_PRELOAD="lib existing...", unless lib is there already. */
static int
run_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *v;
	size_t n;

	if (strpbrk(lib, " :") != NULL) {
		fprintf(stderr, "socks64-run: %s: a path with a blank or ':' "
		    "cannot go in LD_PRELOAD\n", lib);
		return -1;
	}
	if (old == NULL || *old == '\0')
		return setenv("LD_PRELOAD", lib, 1);
	if (strstr(old, lib) != NULL)
		return 0;
	n = strlen(lib) + 1 + strlen(old) + 1;
	if ((v = malloc(n)) == NULL)
		return -1;
	snprintf(v, n, "%s %s", lib, old);
	if (setenv("LD_PRELOAD", v, 1) == -1) {
		free(v);
		return -1;
	}
	free(v);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char lib[PATH_MAX];
	int ch;

	/* '+': stop at the command, so its own options stay its own. */
	while ((ch = getopt_long(argc, argv, "+c:dg:hu:V", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (access(optarg, R_OK) == -1) {
				fprintf(stderr, "socks64-run: %s: %s\n", optarg,
				    strerror(errno));
				return 2;
			}
			setenv("SOCKS64_CONF", optarg, 1);
			break;
		case 'd':
			setenv("SOCKS64_DEBUG", "1", 1);
			break;
		case 'g':
			setenv("SOCKS64_GATEWAY", optarg, 1);
			break;
		case 'u':
			setenv("SOCKS64_USER", optarg, 1);
			break;
		case 'h':
			run_usage(stdout);
			return 0;
		case 'V':
			printf("socks64-run %s\n", RUN_VERSION);
			return 0;
		default:
			run_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		run_usage(stderr);
		return 2;
	}
	if (run_find_library(lib, sizeof(lib)) == -1) {
		fprintf(stderr, "socks64-run: cannot find %s next to this "
		    "program, in ../lib, or in %s\n", RUN_LIBNAME,
		    SOCKS64_LIBDIR);
		return 127;
	}
	if (run_preload(lib) == -1)
		return 127;
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "socks64-run: %s: %s\n", argv[optind],
	    strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
