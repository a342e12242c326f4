/*
 * nsrun - runs a program with its own /etc/hosts.
 *
 * The integration tests run in one private network and mount namespace
 * (tests/integration/harness.c), so every gateway they start sees the
 * same hosts file. A chain test needs gateways that disagree: one that
 * cannot resolve a name, one that can. nsrun gives the program a mount
 * namespace of its own with HOSTS bound over /etc/hosts (root only, as
 * the namespaces themselves), then execs it: same PID, same network.
 * usage: nsrun HOSTS PROGRAM [ARG...]
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	if (argc < 3) {
		fprintf(stderr, "usage: nsrun HOSTS PROGRAM [ARG...]\n");
		return 2;
	}
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount(argv[1], "/etc/hosts", NULL, MS_BIND, NULL) == -1) {
		fprintf(stderr, "nsrun: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	execv(argv[2], argv + 2);
	fprintf(stderr, "nsrun: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
