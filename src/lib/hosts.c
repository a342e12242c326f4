/*
 * hosts.c - the names of /etc/hosts, which are always resolved locally.
 *
 * The shim cannot ask the real getaddrinfo whether a name is in the
 * hosts file (that would go on to DNS for names that are not), so it
 * reads the file itself: once, on first use, with a pure parser over
 * the buffer, into a sorted array of lower-cased names that is only
 * read afterwards, so the look-up on every getaddrinfo takes no lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

#define HOSTS_PATH	"/etc/hosts"
#define HOSTS_MAX_SIZE	(16 * 1024 * 1024)

struct hosts_set {
	char	**names;	/* sorted, unique, point into blob */
	size_t	  nnames;
	char	 *blob;
};

/* The system's set: built once, never changed (may stay NULL). */
static struct hosts_set *hosts_system;
static char hosts_own_name[256];	/* gethostname(), normalised */
static struct real_once hosts_once = REAL_ONCE_INIT;

static int
hosts_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether w (n bytes) is an address glibc's files module would take. */
static int
hosts_address(const char *w, size_t n, int *family)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	uint8_t bin[16];

	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, w, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1) {
		*family = AF_INET;
		return 1;
	}
	if (inet_pton(AF_INET6, tmp, bin) == 1) {
		*family = AF_INET6;
		return 1;
	}
	return 0;
}

int
hosts_parse(const char *buf, size_t len, hosts_name_fn fn, void *arg)
{
	size_t pos = 0, count = 0;

	while (pos < len) {
		const char *line = buf + pos, *end, *p, *w;
		size_t n;
		int family, first = 1;

		end = memchr(line, '\n', len - pos);
		if (end == NULL)
			end = buf + len;
		pos = (size_t)(end - buf) + 1;
		/* A comment runs to the end of the line. */
		if ((p = memchr(line, '#', (size_t)(end - line))) != NULL)
			end = p;
		for (p = line; p < end; ) {
			while (p < end && hosts_blank(*p))
				p++;
			if (p == end)
				break;
			for (w = p; p < end && !hosts_blank(*p); p++)
				;
			n = (size_t)(p - w);
			if (first) {
				/* A line with a bad address is skipped whole. */
				if (!hosts_address(w, n, &family))
					break;
				first = 0;
				continue;
			}
			if (fn(w, n, family, arg) == -1)
				return -1;
			count++;
		}
	}
	return (int)(count > INT32_MAX ? INT32_MAX : count);
}

/* Callback pairs for building a set: count, then copy. */
struct hosts_build {
	size_t	 nnames;
	size_t	 bytes;
	char	*blob;
	char	**names;
};

static int
hosts_count(const char *name, size_t n, int family, void *arg)
{
	struct hosts_build *b = arg;

	(void)name;
	(void)family;
	b->nnames++;
	b->bytes += n + 1;
	return 0;
}

static int
hosts_copy(const char *name, size_t n, int family, void *arg)
{
	struct hosts_build *b = arg;
	char tmp[256];

	(void)family;
	/* Kept normalised so lookups compare with strcmp. */
	if (n >= sizeof(tmp))
		return 0;
	memcpy(tmp, name, n);
	tmp[n] = '\0';
	if (fakeip_normalise(tmp, b->blob, n + 1) == -1)
		return 0;
	b->names[b->nnames++] = b->blob;
	b->blob += strlen(b->blob) + 1;
	return 0;
}

static int
hosts_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct hosts_set *
hosts_set_new(const char *buf, size_t len)
{
	struct hosts_build b = { 0, 0, NULL, NULL };
	struct hosts_set *s;
	size_t i, j;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	(void)hosts_parse(buf, len, hosts_count, &b);
	s->blob = malloc(b.bytes + 1);
	s->names = calloc(b.nnames + 1, sizeof(*s->names));
	if (s->blob == NULL || s->names == NULL) {
		hosts_set_free(s);
		return NULL;
	}
	b.blob = s->blob;
	b.names = s->names;
	b.nnames = 0;
	(void)hosts_parse(buf, len, hosts_copy, &b);
	qsort(s->names, b.nnames, sizeof(*s->names), hosts_cmp);
	for (i = j = 0; i < b.nnames; i++)
		if (j == 0 || strcmp(s->names[j - 1], s->names[i]) != 0)
			s->names[j++] = s->names[i];
	s->nnames = j;
	return s;
}

void
hosts_set_free(struct hosts_set *s)
{
	if (s == NULL)
		return;
	free(s->names);
	free(s->blob);
	free(s);
}

int
hosts_set_has(const struct hosts_set *s, const char *norm)
{
	size_t lo = 0, hi, mid;
	int c;

	if (s == NULL)
		return 0;
	hi = s->nnames;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(norm, s->names[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Reads path whole; NULL if it cannot (a missing file is no error). */
static char *
hosts_read(const char *path, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t cap = 0, got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (got == cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > HOSTS_MAX_SIZE ||
			    (nbuf = realloc(buf, cap)) == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + got, cap - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

static void
hosts_load(void)
{
	char host[256];
	size_t len = 0;
	char *buf;

	if ((buf = hosts_read(HOSTS_PATH, &len)) != NULL) {
		hosts_system = hosts_set_new(buf, len);
		free(buf);
	}
	/* The host's own name is local even when only NSS knows it. */
	host[sizeof(host) - 1] = '\0';
	if (gethostname(host, sizeof(host) - 1) == 0)
		(void)fakeip_normalise(host, hosts_own_name,
		    sizeof(hosts_own_name));
}

int
hosts_has(const char *norm)
{
	int saved = errno;

	real_once_run(&hosts_once, hosts_load);
	errno = saved;
	if (hosts_own_name[0] != '\0' && strcmp(norm, hosts_own_name) == 0)
		return 1;
	return hosts_set_has(hosts_system, norm);
}
