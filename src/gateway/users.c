/*
 * users.c - the users file for RFC 1929 username/password authentication.
 *
 * Lines "name:HASH" where HASH is a crypt(3) hash ($y$ yescrypt, $6$
 * sha512crypt, ...); '#' starts a comment line. Passwords are checked
 * with crypt_r() and a constant-time compare, and an unknown user costs
 * the same hashing as a known one, so timing tells no one which names
 * exist. The file is read with the config and replaced with it.
 */
#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gatewayd.h"

#define USER_NAME_MAX	255	/* RFC 1929: ULEN is one byte */

struct user {
	char	*name;
	char	*hash;
};

struct users {
	struct user	*v;
	size_t		 n;
	/*
	 * The setting hashed for unknown users: a real user's hash, so the
	 * work (method, cost) matches what a known name would cost.
	 */
	const char	*dummy;
};

/*
 * Used as the dummy only when the file has no users at all, when there
 * is no name to hide. A sha512crypt setting: crypt_r accepts it as is.
 */
static const char users_dummy_setting[] = "$6$socks64.dummy$";

static const char users_crypt_chars[] =
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * The length of the final (hash) segment of the common methods, so a
 * truncated hash is reported when the file is read rather than
 * silently never matching. Methods not listed are checked for shape.
 */
static const struct users_method {
	const char	*prefix;
	size_t		 hashlen;
} users_known_methods[] = {
	{ "$y$", 43 },		/* yescrypt */
	{ "$gy$", 43 },		/* gost-yescrypt */
	{ "$7$", 43 },		/* scrypt */
	{ "$6$", 86 },		/* sha512crypt */
	{ "$5$", 43 },		/* sha256crypt */
	{ "$1$", 22 },		/* md5crypt */
};

/*
 * Whether h has the shape of a crypt(3) hash: "$id$...$HASH" with only
 * crypt's characters (and '=' ',' '-' of parameters), or traditional DES
 * (13 characters). Returns NULL if so, else why not. A 13-character
 * password made only of crypt characters cannot be told from a DES hash.
 */
static const char *
users_hash_check(const char *h)
{
	const struct users_method	*m;
	const char			*last;
	size_t				 len = strlen(h), i;

	if (h[0] != '$') {
		if (len == 13 && strspn(h, users_crypt_chars) == 13)
			return NULL;
		return "not a crypt(3) hash";
	}
	/* "$id$": the method id is letters and digits. */
	for (i = 1; i < len && h[i] != '$'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789", h[i]) ==
		    NULL)
			return "not a crypt(3) hash";
	if (i == 1 || i == len)
		return "not a crypt(3) hash";
	if (strspn(h, "$=,-./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") != len)
		return "not a crypt(3) hash";
	if ((last = strrchr(h, '$')) == h + i || last[1] == '\0')
		return "crypt(3) hash without its hash part";
	/* bcrypt: "$2b$NN$" then 22 salt and 31 hash characters. */
	if (h[1] == '2' && len != 7 + 53)
		return "truncated bcrypt hash";
	for (m = users_known_methods; m < users_known_methods +
	    sizeof(users_known_methods) / sizeof(users_known_methods[0]); m++)
		if (strncmp(h, m->prefix, strlen(m->prefix)) == 0 &&
		    strlen(last + 1) != m->hashlen)
			return "crypt(3) hash of the wrong length";
	/* libxcrypt can tell whether it knows the method at all. */
	if (crypt_checksalt(h) == CRYPT_SALT_INVALID)
		return "hash method not supported by crypt(3)";
	return NULL;
}

static struct user *
users_find(const struct users *u, const char *name)
{
	size_t	i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

/* Why name cannot be a user name, or NULL if it can. */
static const char *
users_name_check(const char *name)
{
	size_t	i;

	if (*name == '\0')
		return "empty user name";
	if (strlen(name) > USER_NAME_MAX)
		return "user name longer than 255 bytes";
	for (i = 0; name[i] != '\0'; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return "control character in user name";
	return NULL;
}

/* Appends name and hash to u; 0, or -1 out of memory. */
static int
users_add(struct users *u, const char *name, const char *hash)
{
	struct user	*nv;

	if ((nv = realloc(u->v, (u->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	u->v = nv;
	nv[u->n].name = strdup(name);
	nv[u->n].hash = strdup(hash);
	if (nv[u->n].name == NULL || nv[u->n].hash == NULL) {
		free(nv[u->n].name);
		free(nv[u->n].hash);
		return -1;
	}
	u->n++;
	return 0;
}

/* Parses one line (NUL-terminated, no newline) into u. */
static void
users_parse_line(struct users *u, char *line, unsigned int lineno,
    struct conf_errors *errs)
{
	char		*colon, *end, *hash;
	const char	*why;

	/* Blanks around the line are not part of a name or hash. */
	while (*line == ' ' || *line == '\t')
		line++;
	end = line + strlen(line);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	if (*line == '\0' || *line == '#')
		return;
	if ((colon = strchr(line, ':')) == NULL) {
		conf_error(errs, lineno, "expected name:HASH, missing ':'");
		return;
	}
	*colon = '\0';
	hash = colon + 1;
	if ((why = users_name_check(line)) != NULL)
		conf_error(errs, lineno, "%s", why);
	else if ((why = users_hash_check(hash)) != NULL)
		conf_error(errs, lineno, "user '%s': %s", line, why);
	else if (users_find(u, line) != NULL)
		conf_error(errs, lineno, "duplicate user '%s'", line);
	else if (users_add(u, line, hash) == -1)
		conf_error(errs, lineno, "out of memory");
}

/*
 * Parses a users file held in buf. Errors go to *errs (set up by the
 * caller, naming the file); any error gives NULL. The result is owned
 * by the caller (users_free).
 */
struct users *
users_parse(const char *buf, size_t len, struct conf_errors *errs)
{
	struct users	*u;
	char		*copy, *line, *nl;
	unsigned int	 lineno = 0;
	int		 before = errs->count;

	if ((u = calloc(1, sizeof(*u))) == NULL ||
	    (copy = malloc(len + 1)) == NULL) {
		free(u);
		conf_error(errs, 0, "out of memory");
		return NULL;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (line = copy; line < copy + len; line = nl + 1) {
		lineno++;
		if ((nl = memchr(line, '\n', (size_t)(copy + len - line))) ==
		    NULL)
			nl = copy + len;
		*nl = '\0';
		if (strlen(line) != (size_t)(nl - line)) {
			conf_error(errs, lineno, "NUL byte in line");
			continue;
		}
		users_parse_line(u, line, lineno, errs);
	}
	free(copy);
	if (errs->count != before) {
		users_free(u);
		return NULL;
	}
	u->dummy = u->n > 0 ? u->v[0].hash : users_dummy_setting;
	return u;
}

/*
 * Reads and parses a users file. Its errors are reported under its own
 * name ("users:3: empty user name"): errs->file is swapped for the
 * duration and put back.
 */
struct users *
users_load(const char *path, struct conf_errors *errs)
{
	struct users	*u;
	const char	*saved = errs->file;
	char		*buf;
	size_t		 len;

	errs->file = path;
	if (conf_read_file(path, &buf, &len) == -1) {
		conf_error(errs, 0, "cannot open: %s", strerror(errno));
		errs->file = saved;
		return NULL;
	}
	u = users_parse(buf, len, errs);
	free(buf);
	errs->file = saved;
	return u;
}

/* Compares n bytes in a time that depends on n only. */
static int
users_equal_ct(const char *a, const char *b, size_t n)
{
	volatile unsigned char	diff = 0;
	size_t			i;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/*
 * 1 if user is in u and pass hashes to its stored hash, else 0 (also
 * when out of memory). struct crypt_data is some 32 KiB, a quarter of a
 * 128 KiB session thread stack, so it lives on the heap; crypt_r keeps
 * this safe to call from many threads at once.
 */
int
users_check(const struct users *u, const char *user, const char *pass)
{
	struct crypt_data	*cd;
	const struct user	*e;
	const char		*setting, *out;
	size_t			 len;
	int			 ok;

	if (u == NULL || user == NULL || pass == NULL)
		return 0;
	e = users_find(u, user);
	setting = e != NULL ? e->hash : u->dummy;
	/* calloc: crypt_r wants the area zeroed before its first use. */
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	out = crypt_r(pass, setting, cd);
	/* Failure is NULL or a token starting with '*', never a hash. */
	len = strlen(setting);
	ok = out != NULL && out[0] != '*' && strlen(out) == len &&
	    users_equal_ct(out, setting, len);
	/* The area held material derived from the password. */
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok && e != NULL;
}

size_t
users_count(const struct users *u)
{
	return u != NULL ? u->n : 0;
}

void
users_free(struct users *u)
{
	size_t	i;

	if (u == NULL)
		return;
	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].hash);
	}
	free(u->v);
	free(u);
}
