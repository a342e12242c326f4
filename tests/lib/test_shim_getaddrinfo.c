/*
 * test_shim_getaddrinfo.c - the getaddrinfo/freeaddrinfo/getnameinfo
 * interposers (src/lib/getaddrinfo.c, getnameinfo.c).
 *
 * Every hint combination (family, socket type, protocol, each subset of
 * the flags, services by number and name, bad ones) is asked of the
 * hook and of glibc itself: for names the shim leaves alone the two
 * answers must be identical, field by field; for delegated names the
 * answer must have the shape glibc gives for a real address of each
 * fake family (same socket types, protocols, ports, flags, errors),
 * with fake addresses, the name as canonical name, IPv6 before IPv4.
 * glibc may send DNS queries for some real-name combinations, so those
 * run in a child in a network namespace of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>

#include "names_test.h"

typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);
typedef void (*fai_fn)(struct addrinfo *);

static gai_fn real_gai;
static fai_fn real_fai;

static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX };
static const struct {
	int	socktype, protocol;
} types[] = {
	{ 0, 0 }, { SOCK_STREAM, 0 }, { SOCK_DGRAM, 0 }, { SOCK_RAW, 0 },
	{ SOCK_SEQPACKET, 0 }, { SOCK_STREAM, IPPROTO_TCP },
	{ SOCK_DGRAM, IPPROTO_UDP }, { SOCK_STREAM, IPPROTO_UDP },
	{ 0, IPPROTO_TCP }, { 0, IPPROTO_UDP }, { SOCK_RAW, IPPROTO_ICMP },
};
static const char *const services[] = { NULL, "80", "http", "domain",
	"nosuchservice", "99999", "" };
static const int flag_bits[] = { AI_PASSIVE, AI_CANONNAME, AI_NUMERICHOST,
	AI_NUMERICSERV, AI_ADDRCONFIG, AI_V4MAPPED, AI_ALL };
#define NFLAGSETS	(1 << 7)

static int
flags_of(int set)
{
	int f = 0;
	size_t i;

	for (i = 0; i < sizeof(flag_bits) / sizeof(flag_bits[0]); i++)
		if (set & (1 << i))
			f |= flag_bits[i];
	return f;
}

static void
hints_of(struct addrinfo *h, int family, size_t type, int flags)
{
	memset(h, 0, sizeof(*h));
	h->ai_family = family;
	h->ai_socktype = types[type].socktype;
	h->ai_protocol = types[type].protocol;
	h->ai_flags = flags;
}

static const char *
str(const char *s)
{
	return s != NULL ? s : "(null)";
}

/* Field by field; why says the first difference. */
static int
lists_equal(const struct addrinfo *a, const struct addrinfo *b,
    char *why, size_t len)
{
	int i;

	for (i = 0; a != NULL && b != NULL; i++, a = a->ai_next,
	    b = b->ai_next) {
		if (a->ai_family != b->ai_family ||
		    a->ai_socktype != b->ai_socktype ||
		    a->ai_protocol != b->ai_protocol ||
		    a->ai_flags != b->ai_flags ||
		    a->ai_addrlen != b->ai_addrlen ||
		    memcmp(a->ai_addr, b->ai_addr, a->ai_addrlen) != 0 ||
		    strcmp(str(a->ai_canonname), str(b->ai_canonname)) != 0) {
			snprintf(why, len, "entry %d: f%d/%d t%d/%d p%d/%d "
			    "fl%#x/%#x canon %s/%s", i, a->ai_family,
			    b->ai_family, a->ai_socktype, b->ai_socktype,
			    a->ai_protocol, b->ai_protocol, a->ai_flags,
			    b->ai_flags, str(a->ai_canonname),
			    str(b->ai_canonname));
			return 0;
		}
	}
	if (a != NULL || b != NULL) {
		snprintf(why, len, "lengths differ after %d", i);
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* names the shim leaves alone: identical to glibc                      */

struct same_args {
	const char	*const *nodes;
	size_t		 nnodes;
	int		 all_families;	/* else only what cannot reach DNS */
};

static int
compare_one(const char *node, const char *service,
    const struct addrinfo *hints)
{
	struct addrinfo *ours = NULL, *theirs = NULL;
	char why[256];
	int r1, r2, bad = 0;

	r1 = getaddrinfo(node, service, hints, &ours);
	r2 = real_gai(node, service, hints, &theirs);
	if (r1 != r2) {
		fprintf(stderr, "%s %s fam %d type %d proto %d flags %#x: "
		    "rc %d, glibc %d\n", str(node), str(service),
		    hints ? hints->ai_family : -1,
		    hints ? hints->ai_socktype : -1,
		    hints ? hints->ai_protocol : -1,
		    hints ? hints->ai_flags : -1, r1, r2);
		bad = 1;
	} else if (r1 == 0 && !lists_equal(ours, theirs, why, sizeof(why))) {
		fprintf(stderr, "%s %s fam %d flags %#x: %s\n", str(node),
		    str(service), hints ? hints->ai_family : -1,
		    hints ? hints->ai_flags : -1, why);
		bad = 1;
	}
	if (r1 == 0) {
		if (getaddrinfo_is_ours(ours)) {
			fprintf(stderr, "%s: a list of ours\n", str(node));
			bad = 1;
		}
		freeaddrinfo(ours);
	}
	if (r2 == 0)
		real_fai(theirs);
	return bad;
}

static int
compare_all(void *arg)
{
	const struct same_args *a = arg;
	struct addrinfo h;
	size_t n, f, t, s;
	int set, bad = 0;

	for (n = 0; n < a->nnodes; n++) {
		const char *node = a->nodes[n];

		bad += compare_one(node, "80", NULL);
		bad += compare_one(node, NULL, NULL);
		for (f = 0; f < sizeof(families) / sizeof(families[0]); f++)
			for (set = 0; set < NFLAGSETS; set++) {
				int flags = flags_of(set);

				/*
				 * Outside a namespace only what glibc answers
				 * from the hosts file without going on to DNS:
				 * one family at a time, AF_INET names.
				 */
				if (!a->all_families && node != NULL &&
				    delegate_literal(node) == AF_UNSPEC &&
				    families[f] != AF_INET)
					continue;
				for (t = 0; t < sizeof(types) /
				    sizeof(types[0]); t++)
					for (s = 0; s < sizeof(services) /
					    sizeof(services[0]); s++) {
						/* Some glibc says no to. */
						if (node == NULL &&
						    services[s] == NULL)
							continue;
						hints_of(&h, families[f], t,
						    flags);
						bad += compare_one(node,
						    services[s], &h);
						if (bad > 20)
							return bad;
					}
			}
	}
	return bad;
}

static void
test_getaddrinfo_local_names_same_as_glibc(void **state)
{
	static const char *const nodes[] = { "localhost", "LocalHost.",
	    "127.0.0.1", "::1", "127.1", "0x7f000001", NULL };
	struct same_args a = { nodes, sizeof(nodes) / sizeof(nodes[0]), 1 };
	int r;

	(void)state;
	r = names_in_netns(compare_all, &a);
	if (r == -2) {
		/* No namespace: only what cannot query DNS. */
		a.all_families = 0;
		r = compare_all(&a);
	}
	assert_int_equal(r, 0);
}

/* The host's own name and a name from the hosts file, in a namespace. */
static void
test_getaddrinfo_hosts_names_same_as_glibc(void **state)
{
	static const char *nodes[2];
	struct same_args a = { nodes, 2, 1 };
	static char host[256];
	int r;

	(void)state;
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	nodes[0] = host;
	nodes[1] = "localhost.";
	r = names_in_netns(compare_all, &a);
	if (r == -2)
		skip();
	assert_int_equal(r, 0);
}

/* ------------------------------------------------------------------ */
/* delegated names: the shape of glibc's answer for real addresses      */

static const char *const loopback_of[] = { "::1", "127.0.0.1",
	"::ffff:127.0.0.1" };
static const int answer_bits[] = { HOSTFAM_V6, HOSTFAM_V4,
	DELEGATE_ANSWER_MAPPED };

/*
 * What glibc answers for a real address of each fake family the shim
 * should give, in order; or its error.
 */
static int
reference(int mask, const char *service, const struct addrinfo *hints,
    struct addrinfo **out)
{
	struct addrinfo h = *hints, *l, **tail = out;
	size_t i;
	int rc;

	*out = NULL;
	h.ai_flags = (hints->ai_flags | AI_NUMERICHOST) & ~AI_ADDRCONFIG;
	for (i = 0; i < 3; i++) {
		if (!(mask & answer_bits[i]))
			continue;
		h.ai_family = answer_bits[i] == HOSTFAM_V4 ? AF_INET :
		    AF_INET6;
		if ((rc = real_gai(loopback_of[i], service, &h, &l)) != 0) {
			if (*out != NULL)
				real_fai(*out);
			*out = NULL;
			return rc;
		}
		*tail = l;
		while (*tail != NULL)
			tail = &(*tail)->ai_next;
	}
	return 0;
}

static int
check_shape(const char *node, const char *service,
    const struct addrinfo *hints, int have)
{
	struct addrinfo *ours = NULL, *ref = NULL, *a, *b;
	struct sockaddr_storage ss;
	char name[256], norm[256];
	int r1, r2, mask, bad = 0, i;

	r1 = getaddrinfo(node, service, hints, &ours);
	mask = delegate_answer_families(hints->ai_family, hints->ai_flags,
	    have);
	if ((hints->ai_flags & AI_NUMERICHOST) ||
	    (hints->ai_family != AF_UNSPEC && hints->ai_family != AF_INET &&
	    hints->ai_family != AF_INET6)) {
		/* Never delegated: glibc's own answer, and no DNS here. */
		r2 = real_gai(node, service, hints, &ref);
	} else if (mask == 0) {
		r2 = reference(hints->ai_family == AF_INET ?
		    HOSTFAM_V4 : HOSTFAM_V6, service, hints, &ref);
		if (r2 == 0 || r2 == EAI_ADDRFAMILY)
			r2 = EAI_NONAME;
	} else
		r2 = reference(mask, service, hints, &ref);
	if (r1 != r2) {
		fprintf(stderr, "%s %s fam %d type %d proto %d flags %#x "
		    "have %d: rc %d, want %d\n", node, str(service),
		    hints->ai_family, hints->ai_socktype, hints->ai_protocol,
		    hints->ai_flags, have, r1, r2);
		bad = 1;
		goto out;
	}
	if (r1 != 0)
		goto out;
	fakeip_normalise(node, norm, sizeof(norm));
	for (i = 0, a = ours, b = ref; a != NULL && b != NULL; i++,
	    a = a->ai_next, b = b->ai_next) {
		if (a->ai_family != b->ai_family ||
		    a->ai_socktype != b->ai_socktype ||
		    a->ai_protocol != b->ai_protocol ||
		    a->ai_addrlen != b->ai_addrlen ||
		    a->ai_flags != hints->ai_flags ||
		    addr_port(a->ai_addr) != addr_port(b->ai_addr))
			bad = 1;
		/* The name on the first entry only, as glibc does. */
		if (i == 0 && (hints->ai_flags & AI_CANONNAME) ?
		    a->ai_canonname == NULL || strcmp(a->ai_canonname, norm) :
		    a->ai_canonname != NULL)
			bad = 1;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, a->ai_addr, a->ai_addrlen);
		if (fakeip_lookup((struct sockaddr *)&ss, name,
		    sizeof(name)) != 1 || strcmp(name, norm) != 0)
			bad = 1;
		if (bad) {
			fprintf(stderr, "%s %s fam %d flags %#x have %d: "
			    "entry %d differs\n", node, str(service),
			    hints->ai_family, hints->ai_flags, have, i);
			goto out;
		}
	}
	if (a != NULL || b != NULL) {
		fprintf(stderr, "%s %s fam %d flags %#x: length differs\n",
		    node, str(service), hints->ai_family, hints->ai_flags);
		bad = 1;
	}
out:
	if (r1 == 0)
		freeaddrinfo(ours);
	if (ref != NULL)
		real_fai(ref);
	return bad;
}

static void
shape_for_host(int have)
{
	struct addrinfo h;
	size_t f, t, s;
	int set, bad = 0;

	names_set_families(have);
	for (f = 0; f < sizeof(families) / sizeof(families[0]); f++)
		for (set = 0; set < NFLAGSETS; set++)
			for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
				for (s = 0; s < sizeof(services) /
				    sizeof(services[0]); s++) {
					hints_of(&h, families[f], t,
					    flags_of(set));
					bad += check_shape("Shape.Example.ORG.",
					    services[s], &h, have);
					if (bad > 20)
						fail();
				}
	/* Bad flags: glibc's error, before anything else. */
	hints_of(&h, AF_UNSPEC, 0, 0x40000000);
	bad += check_shape("shape.example.org", "80", &h, have);
	names_set_families(NAMES_REAL_FAMILIES);
	assert_int_equal(bad, 0);
}

static void
test_getaddrinfo_delegated_shape_dual(void **state)
{
	(void)state;
	shape_for_host(HOSTFAM_V4 | HOSTFAM_V6);
}

static void
test_getaddrinfo_delegated_shape_v4_only(void **state)
{
	(void)state;
	shape_for_host(HOSTFAM_V4);
}

static void
test_getaddrinfo_delegated_shape_v6_only(void **state)
{
	(void)state;
	shape_for_host(HOSTFAM_V6);
}

static void
test_getaddrinfo_delegated_shape_loopback_only(void **state)
{
	(void)state;
	shape_for_host(0);
}

/* ------------------------------------------------------------------ */
/* particular cases                                                     */

static int
count_family(const struct addrinfo *ai, int family)
{
	int n = 0;

	for (; ai != NULL; ai = ai->ai_next)
		n += ai->ai_family == family;
	return n;
}

static void
test_getaddrinfo_dual_stack_v6_first(void **state)
{
	struct addrinfo h, *res, *ai;
	char name[256];

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	memset(&h, 0, sizeof(h));
	h.ai_socktype = SOCK_STREAM;
	h.ai_flags = AI_ADDRCONFIG;
	assert_int_equal(getaddrinfo("www.example.org", "443", &h, &res), 0);
	assert_int_equal(res->ai_family, AF_INET6);
	assert_non_null(res->ai_next);
	assert_int_equal(res->ai_next->ai_family, AF_INET);
	assert_null(res->ai_next->ai_next);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		assert_int_equal(addr_port(ai->ai_addr), 443);
		assert_int_equal(fakeip_lookup(ai->ai_addr, name,
		    sizeof(name)), 1);
		assert_string_equal(name, "www.example.org");
	}
	/* Two families in one list: ours, and freed by us. */
	assert_int_equal(getaddrinfo_is_ours(res), 1);
	freeaddrinfo(res);
	/* One family, no canonical name: libc's list, libc frees it. */
	h.ai_family = AF_INET;
	assert_int_equal(getaddrinfo("www.example.org", "443", &h, &res), 0);
	assert_int_equal(getaddrinfo_is_ours(res), 0);
	freeaddrinfo(res);
	/* With AI_CANONNAME it must be ours again. */
	h.ai_flags |= AI_CANONNAME;
	assert_int_equal(getaddrinfo("WWW.example.org.", "443", &h, &res), 0);
	assert_int_equal(getaddrinfo_is_ours(res), 1);
	assert_string_equal(res->ai_canonname, "www.example.org");
	freeaddrinfo(res);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_getaddrinfo_v4_only_host(void **state)
{
	struct addrinfo h, *res;
	char name[256];

	(void)state;
	names_set_families(HOSTFAM_V4);
	memset(&h, 0, sizeof(h));
	h.ai_socktype = SOCK_STREAM;
	/* RFC 3089: an IPv4 host gets IPv4 fakes only. */
	assert_int_equal(getaddrinfo("v6only.example.org", "80", &h, &res), 0);
	assert_int_equal(count_family(res, AF_INET), 1);
	assert_int_equal(count_family(res, AF_INET6), 0);
	freeaddrinfo(res);
	/* An explicit IPv6 request: as glibc with AI_ADDRCONFIG. */
	h.ai_family = AF_INET6;
	assert_int_equal(getaddrinfo("v6only.example.org", "80", &h, &res),
	    EAI_NONAME);
	/* Unless it takes mapped IPv4 addresses. */
	h.ai_flags = AI_V4MAPPED;
	assert_int_equal(getaddrinfo("v6only.example.org", "80", &h, &res), 0);
	assert_int_equal(res->ai_family, AF_INET6);
	assert_true(IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)
	    (void *)res->ai_addr)->sin6_addr));
	assert_int_equal(fakeip_lookup(res->ai_addr, name, sizeof(name)), 1);
	assert_string_equal(name, "v6only.example.org");
	freeaddrinfo(res);
	/* An IPv6 literal is delegated like a name (RFC 3089 section 3). */
	h.ai_family = AF_UNSPEC;
	h.ai_flags = 0;
	assert_int_equal(getaddrinfo("2001:DB8::10", "80", &h, &res), 0);
	assert_int_equal(res->ai_family, AF_INET);
	assert_int_equal(fakeip_lookup(res->ai_addr, name, sizeof(name)), 1);
	assert_string_equal(name, "2001:db8::10");
	freeaddrinfo(res);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_getaddrinfo_ipv6_literal_for_ipv4_program(void **state)
{
	struct addrinfo h, *res;
	char name[256];

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	assert_int_equal(getaddrinfo("2001:db8::1", "22", &h, &res), 0);
	assert_int_equal(res->ai_family, AF_INET);
	assert_int_equal(fakeip_lookup(res->ai_addr, name, sizeof(name)), 1);
	assert_string_equal(name, "2001:db8::1");
	freeaddrinfo(res);
	/* With AI_NUMERICHOST glibc's refusal stands. */
	h.ai_flags = AI_NUMERICHOST;
	assert_int_equal(getaddrinfo("2001:db8::1", "22", &h, &res),
	    real_gai("2001:db8::1", "22", &h, &res));
	/* Loopback of the other family: never to the gateway. */
	h.ai_flags = 0;
	assert_int_equal(getaddrinfo("::1", "22", &h, &res), EAI_ADDRFAMILY);
	names_set_families(NAMES_REAL_FAMILIES);
}

static void
test_getaddrinfo_numerichost_name(void **state)
{
	struct addrinfo h, *res;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ai_flags = AI_NUMERICHOST;
	assert_int_equal(getaddrinfo("example.org", NULL, &h, &res),
	    EAI_NONAME);
	assert_int_equal(real_gai("example.org", NULL, &h, &res), EAI_NONAME);
}

static void
test_getaddrinfo_passive_null_node(void **state)
{
	struct addrinfo h, *a, *b;
	char why[256];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ai_flags = AI_PASSIVE;
	h.ai_socktype = SOCK_STREAM;
	assert_int_equal(getaddrinfo(NULL, "8080", &h, &a), 0);
	assert_int_equal(real_gai(NULL, "8080", &h, &b), 0);
	assert_true(lists_equal(a, b, why, sizeof(why)));
	freeaddrinfo(a);
	real_fai(b);
}

static void
test_getaddrinfo_canary_nxdomain(void **state)
{
	struct addrinfo *res = NULL;

	(void)state;
	assert_int_equal(getaddrinfo("use-application-dns.net", "443", NULL,
	    &res), EAI_NONAME);
	assert_int_equal(getaddrinfo("Use-Application-DNS.net.", NULL, NULL,
	    &res), EAI_NONAME);
	assert_null(res);
}

static void
test_getaddrinfo_keeps_errno(void **state)
{
	struct addrinfo *res;

	(void)state;
	errno = 4242;
	assert_int_equal(getaddrinfo("errno.example.org", "80", NULL, &res),
	    0);
	assert_int_equal(errno, 4242);
	freeaddrinfo(res);
	assert_int_equal(errno, 4242);
	freeaddrinfo(NULL);
	assert_int_equal(errno, 4242);
}

static void
test_getaddrinfo_service_names(void **state)
{
	struct addrinfo h, *res, *ref;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	/* A service libc knows by name gives its port and protocols... */
	if (real_gai("127.0.0.1", "domain", &h, &ref) == 0) {
		assert_int_equal(getaddrinfo("svc.example.org", "domain", &h,
		    &res), 0);
		assert_int_equal(addr_port(res->ai_addr),
		    addr_port(ref->ai_addr));
		assert_int_equal(count_family(res, AF_INET),
		    count_family(ref, AF_INET));
		freeaddrinfo(res);
		real_fai(ref);
	}
	/* ...and an unknown one libc's error. */
	assert_int_equal(getaddrinfo("svc.example.org", "nosuchservice", &h,
	    &res), EAI_SERVICE);
	h.ai_flags = AI_NUMERICSERV;
	assert_int_equal(getaddrinfo("svc.example.org", "http", &h, &res),
	    EAI_NONAME);
}

/* A configuration of its own: the decision and mode come from it. */
static void
test_getaddrinfo_lookup_conf_disabled(void **state)
{
	struct shim_conf c;
	struct addrinfo h, *res, *ref;
	char why[256];

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	/* Disabled: even an IPv6 literal for IPv4 goes to libc. */
	shim_conf_defaults(&c);
	assert_int_equal(getaddrinfo_lookup(&c, "2001:db8::1", "80", &h,
	    &res), EAI_ADDRFAMILY);
	assert_int_equal(getaddrinfo_lookup(&c, "192.0.2.1", "80", &h, &res),
	    0);
	assert_int_equal(real_gai("192.0.2.1", "80", &h, &ref), 0);
	assert_true(lists_equal(res, ref, why, sizeof(why)));
	freeaddrinfo(res);
	real_fai(ref);
}

/* A local suffix: the real resolver's (which fails: no network here). */
static int
local_suffix_child(void *arg)
{
	struct shim_conf c;
	struct addrinfo h, *res;
	int rc;

	(void)arg;
	if (names_conf(&c, "gateway 127.0.0.1:1080\n"
	    "local-suffix example.org\n"))
		return 1;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo_lookup(&c, "www.example.org", "80", &h, &res);
	if (rc == 0) {
		int fake = fakeip_in_range(res->ai_addr);

		freeaddrinfo(res);
		if (fake)
			return 2;
	}
	if (getaddrinfo_lookup(&c, "www.example.net", "80", &h, &res) != 0)
		return 3;
	if (!fakeip_in_range(res->ai_addr))
		return 4;
	freeaddrinfo(res);
	shim_conf_release(&c);
	return 0;
}

static void
test_getaddrinfo_lookup_conf_suffix(void **state)
{
	int r;

	(void)state;
	r = names_in_netns(local_suffix_child, NULL);
	if (r == -2)
		skip();
	assert_int_equal(r, 0);
}

/* local-first: the real resolver first, the gateway if it has nothing. */
static int
local_first_child(void *arg)
{
	struct shim_conf c;
	struct addrinfo h, *res;
	char name[256];

	(void)arg;
	if (names_conf(&c, "gateway 127.0.0.1:1080\nresolve local-first\n"))
		return 1;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	/* No network here: the resolver fails, so the name is delegated. */
	if (getaddrinfo_lookup(&c, "lf.example.org", "80", &h, &res) != 0)
		return 2;
	if (fakeip_lookup(res->ai_addr, name, sizeof(name)) != 1 ||
	    strcmp(name, "lf.example.org") != 0)
		return 3;
	freeaddrinfo(res);
	/* A service error of the real resolver stays one. */
	if (getaddrinfo_lookup(&c, "lf.example.org", "nosuchservice", &h,
	    &res) != EAI_SERVICE)
		return 4;
	shim_conf_release(&c);
	return 0;
}

static void
test_getaddrinfo_local_first(void **state)
{
	int r;

	(void)state;
	r = names_in_netns(local_first_child, NULL);
	if (r == -2)
		skip();
	assert_int_equal(r, 0);
}

/* ------------------------------------------------------------------ */
/* threads: our lists and libc's, made and freed concurrently            */

#define NTHREADS	16
#define NROUNDS		400

static void *
thread_run(void *arg)
{
	struct addrinfo h, *res;
	char name[64], back[256];
	long id = (long)arg, bad = 0;
	int i;

	for (i = 0; i < NROUNDS; i++) {
		memset(&h, 0, sizeof(h));
		h.ai_socktype = SOCK_STREAM;
		/* Alternate: two families (ours), one family (libc's). */
		h.ai_family = (i + id) % 2 ? AF_UNSPEC : AF_INET;
		snprintf(name, sizeof(name), "thr%d.example.org", i % 97);
		if (getaddrinfo(name, "443", &h, &res) != 0) {
			bad++;
			continue;
		}
		if (fakeip_lookup(res->ai_addr, back, sizeof(back)) != 1 ||
		    strcmp(back, name) != 0)
			bad++;
		freeaddrinfo(res);
	}
	return (void *)bad;
}

static void
test_getaddrinfo_16_threads(void **state)
{
	pthread_t th[NTHREADS];
	void *bad;
	long i;

	(void)state;
	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_run,
		    (void *)i), 0);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_null(bad);
	}
	names_set_families(NAMES_REAL_FAMILIES);
}

/* ------------------------------------------------------------------ */
/* getnameinfo                                                          */

static void
test_getnameinfo_fake(void **state)
{
	struct addrinfo h, *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[256], serv[32], lit[64];
	const char *why;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	assert_int_equal(getaddrinfo("ni.example.org", "443", &h, &res), 0);
	assert_int_equal(getnameinfo(res->ai_addr, res->ai_addrlen, host,
	    sizeof(host), serv, sizeof(serv), 0), 0);
	assert_string_equal(host, "ni.example.org");
	assert_string_equal(serv, "https");
	assert_int_equal(getnameinfo(res->ai_addr, res->ai_addrlen, host,
	    sizeof(host), serv, sizeof(serv), NI_NAMEREQD | NI_NUMERICSERV),
	    0);
	assert_string_equal(host, "ni.example.org");
	assert_string_equal(serv, "443");
	/* NI_NUMERICHOST: the fake literal itself. */
	assert_int_equal(getnameinfo(res->ai_addr, res->ai_addrlen, host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST), 0);
	addr_format_host(res->ai_addr, lit, sizeof(lit));
	assert_string_equal(host, lit);
	/* Too small a buffer. */
	assert_int_equal(getnameinfo(res->ai_addr, res->ai_addrlen, host, 5,
	    NULL, 0, 0), EAI_OVERFLOW);
	/* Only the service. */
	assert_int_equal(getnameinfo(res->ai_addr, res->ai_addrlen, NULL, 0,
	    serv, sizeof(serv), NI_NUMERICSERV), 0);
	assert_string_equal(serv, "443");
	freeaddrinfo(res);
	/* A fake never handed out here: no reverse look-up, no name. */
	assert_int_equal(addr_parse_endpoint("240.0.0.3:80", 0, &ss, &sl,
	    &why), 0);
	assert_int_equal(getnameinfo((struct sockaddr *)&ss, sl, host,
	    sizeof(host), NULL, 0, NI_NAMEREQD), EAI_NONAME);
	assert_int_equal(getnameinfo((struct sockaddr *)&ss, sl, host,
	    sizeof(host), NULL, 0, 0), 0);
	assert_string_equal(host, "240.0.0.3");
	/* A real address is libc's (numeric: no DNS). */
	assert_int_equal(addr_parse_endpoint("127.0.0.1:80", 0, &ss, &sl,
	    &why), 0);
	assert_int_equal(getnameinfo((struct sockaddr *)&ss, sl, host,
	    sizeof(host), NULL, 0, NI_NUMERICHOST), 0);
	assert_string_equal(host, "127.0.0.1");
}

/* ------------------------------------------------------------------ */
/* exhaustion, in a process whose configured ranges are tiny            */

static int
exhaust_child(void)
{
	struct addrinfo h, *res;
	struct hostent *he;
	uint8_t ans[512];
	char name[64];
	int i, rc;

	names_set_families(HOSTFAM_V4 | HOSTFAM_V6);
	memset(&h, 0, sizeof(h));
	h.ai_family = AF_INET;
	h.ai_socktype = SOCK_STREAM;
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "x%d.example.org", i);
		if (getaddrinfo(name, "80", &h, &res) != 0)
			return 10 + i;
		freeaddrinfo(res);
	}
	/* The IPv4 range (a /29: six) is used up: a failure, not reuse. */
	errno = 0;
	if ((rc = getaddrinfo("x6.example.org", "80", &h, &res)) != EAI_FAIL ||
	    errno != ENOSPC)
		return 20;
	h_errno = 0;
	if ((he = gethostbyname("x7.example.org")) != NULL ||
	    h_errno != NO_RECOVERY)
		return 21;
	if (res_query("x8.example.org", C_IN, 1, ans, sizeof(ans)) != -1 ||
	    h_errno != TRY_AGAIN || (ans[3] & 0x0f) != 2)
		return 22;
	/* Known names still answer, with their old address. */
	if (getaddrinfo("x0.example.org", "80", &h, &res) != 0)
		return 23;
	freeaddrinfo(res);
	/* Both families asked: the one left is given. */
	h.ai_family = AF_UNSPEC;
	if (getaddrinfo("x9.example.org", "80", &h, &res) != 0 ||
	    res->ai_family != AF_INET6 || res->ai_next != NULL)
		return 24;
	freeaddrinfo(res);
	return 0;
}

static void
test_getaddrinfo_exhaustion(void **state)
{
	static const char text[] = "fake-range 240.0.0.0/29\n";
	char conf[] = "/tmp/socks64-ex-XXXXXX";
	pid_t pid;
	int fd, status;

	(void)state;
	fd = mkstemp(conf);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	close(fd);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		setenv("SOCKS64_CONF", conf, 1);
		execl("/proc/self/exe", "test_shim_getaddrinfo", "exhaust",
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(conf);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_getaddrinfo_local_names_same_as_glibc),
		cmocka_unit_test(test_getaddrinfo_hosts_names_same_as_glibc),
		cmocka_unit_test(test_getaddrinfo_delegated_shape_dual),
		cmocka_unit_test(test_getaddrinfo_delegated_shape_v4_only),
		cmocka_unit_test(test_getaddrinfo_delegated_shape_v6_only),
		cmocka_unit_test(
		    test_getaddrinfo_delegated_shape_loopback_only),
		cmocka_unit_test(test_getaddrinfo_dual_stack_v6_first),
		cmocka_unit_test(test_getaddrinfo_v4_only_host),
		cmocka_unit_test(test_getaddrinfo_ipv6_literal_for_ipv4_program),
		cmocka_unit_test(test_getaddrinfo_numerichost_name),
		cmocka_unit_test(test_getaddrinfo_passive_null_node),
		cmocka_unit_test(test_getaddrinfo_canary_nxdomain),
		cmocka_unit_test(test_getaddrinfo_keeps_errno),
		cmocka_unit_test(test_getaddrinfo_service_names),
		cmocka_unit_test(test_getaddrinfo_lookup_conf_disabled),
		cmocka_unit_test(test_getaddrinfo_lookup_conf_suffix),
		cmocka_unit_test(test_getaddrinfo_local_first),
		cmocka_unit_test(test_getaddrinfo_16_threads),
		cmocka_unit_test(test_getnameinfo_fake),
		cmocka_unit_test(test_getaddrinfo_exhaustion),
	};

	if (argc == 2 && strcmp(argv[1], "exhaust") == 0)
		return exhaust_child();
	names_env();
	*(void **)&real_gai = dlsym(RTLD_NEXT, "getaddrinfo");
	*(void **)&real_fai = dlsym(RTLD_NEXT, "freeaddrinfo");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
