/*
 * test_shim_exports.c - libsocks64.so exports exactly the symbols listed
 * in src/lib/libsocks64.map: every interposer and API function is there
 * (a missing one would silently not interpose), and nothing else is (an
 * exported internal name would take the place of a same-named function
 * in the program the library is loaded into). Also checks that the
 * exports carry no symbol version, which would keep a program's
 * versioned references (connect@GLIBC_2.2.5) from binding to them.
 * Reads the library's dynamic symbols with nm -D, from binutils.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SYMS	128

struct symset {
	int	n;
	char	name[MAX_SYMS][64];
};

static int
symset_has(const struct symset *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->name[i], name) == 0)
			return 1;
	return 0;
}

static void
symset_add(struct symset *s, const char *name)
{
	assert_true(s->n < MAX_SYMS);
	assert_true(strlen(name) < sizeof(s->name[0]));
	strcpy(s->name[s->n++], name);
}

static const char *
path_in(const char *envname, const char *dflt, const char *rel, char *buf,
    size_t len)
{
	const char *dir = getenv(envname);

	snprintf(buf, len, "%s/%s", dir != NULL ? dir : dflt, rel);
	return buf;
}

/* The names between "global:" and "local:", comments skipped. */
static void
read_map(struct symset *s)
{
	char path[512], line[256], *p, *e;
	int in_global = 0, in_comment = 0;
	FILE *f;

	f = fopen(path_in("SOCKS64_SRC", ".", "src/lib/libsocks64.map", path,
	    sizeof(path)), "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		p = line;
		if (in_comment) {
			if ((p = strstr(p, "*/")) == NULL)
				continue;
			p += 2;
			in_comment = 0;
		}
		if ((e = strstr(p, "/*")) != NULL) {
			in_comment = strstr(e, "*/") == NULL;
			*e = '\0';
		}
		p += strspn(p, " \t");
		if (strncmp(p, "global:", 7) == 0) {
			in_global = 1;
			continue;
		}
		if (strncmp(p, "local:", 6) == 0)
			break;
		if (!in_global || (e = strchr(p, ';')) == NULL)
			continue;
		*e = '\0';
		if (*p != '\0')
			symset_add(s, p);
	}
	fclose(f);
}

static void
test_exports_match_version_script(void **state)
{
	struct symset map = { 0 }, got = { 0 };
	char lib[512], cmd[700], line[256], addr[64], type[8], name[128];
	FILE *p;
	int i, missing = 0, extra = 0;

	(void)state;
	path_in("SOCKS64_BUILD", "build", "libsocks64.so", lib, sizeof(lib));
	if (access(lib, R_OK) != 0 || system("nm --version >/dev/null 2>&1"))
		skip();
	read_map(&map);
	assert_true(map.n > 10);
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s'", lib);
	assert_non_null(p = popen(cmd, "r"));
	while (fgets(line, sizeof(line), p) != NULL) {
		if (sscanf(line, "%63s %7s %127s", addr, type, name) != 3)
			continue;
		/* An unversioned export has no "@" in its name. */
		if (strchr(name, '@') != NULL) {
			print_error("versioned export: %s\n", name);
			extra++;
			continue;
		}
		symset_add(&got, name);
	}
	assert_int_equal(pclose(p), 0);
	for (i = 0; i < got.n; i++)
		if (!symset_has(&map, got.name[i])) {
			print_error("exported but not in the map: %s\n",
			    got.name[i]);
			extra++;
		}
	for (i = 0; i < map.n; i++)
		if (!symset_has(&got, map.name[i])) {
			print_error("in the map but not defined: %s\n",
			    map.name[i]);
			missing++;
		}
	assert_int_equal(extra, 0);
	assert_int_equal(missing, 0);
}

/* Loaded for real, the API answers and a hook resolves into the library. */
static void
test_exports_dlopen_api(void **state)
{
	char lib[512];
	const char *(*version)(void);
	void *h, *fn;
	Dl_info info;

	(void)state;
	path_in("SOCKS64_BUILD", "build", "libsocks64.so", lib, sizeof(lib));
	if (access(lib, R_OK) != 0)
		skip();
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL && strstr(dlerror(), "asan") != NULL)
		skip();	/* a sanitizer build needs its runtime first */
	assert_non_null(h);
	*(void **)&version = dlsym(h, "socks64_version");
	assert_non_null(version);
	assert_string_equal(version(), "0.1.0");
	assert_non_null(fn = dlsym(h, "connect"));
	assert_true(dladdr(fn, &info) != 0);
	assert_non_null(strstr(info.dli_fname, "libsocks64.so"));
	assert_null(dlsym(h, "shim_conf"));
	assert_null(dlsym(h, "socks_connect"));
	dlclose(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exports_match_version_script),
		cmocka_unit_test(test_exports_dlopen_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
