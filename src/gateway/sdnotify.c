/*
 * sdnotify.c - telling systemd how the daemon is doing, without libsystemd.
 *
 * The protocol is one datagram of "KEY=VALUE" lines sent to the
 * AF_UNIX socket named by $NOTIFY_SOCKET; a name starting with '@' is in
 * the abstract namespace. Called from the main thread only (getenv).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

int
sdnotify_enabled(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	return path != NULL && (path[0] == '/' || path[0] == '@');
}

int
sdnotify(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	char			 msg[512];
	va_list			 ap;
	size_t			 plen;
	socklen_t		 len;
	int			 fd, n, saved = errno, rc = -1;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return -1;
	plen = strlen(path);
	if (plen >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract: the length counts */
	else
		len++;			/* a path: include its NUL */

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		goto out;
	if (sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    len) == n)
		rc = 0;
	close(fd);
out:
	errno = saved;
	return rc;
}
