/*
 * resolv.c - the resolver's packet interface: res_query, res_search,
 * res_querydomain, res_send, their res_n* forms and the __res_* names
 * older binaries were linked against.
 *
 * Programs that want records getaddrinfo cannot give (Firefox asks for
 * HTTPS records this way) would otherwise send a delegated name to the
 * client's DNS server. For a delegated name the shim builds the answer
 * itself, with no network I/O: A/AAAA with the fake addresses, NODATA
 * for every other type, and NXDOMAIN for use-application-dns.net (the
 * canary that keeps Firefox from turning on DNS-over-HTTPS by itself).
 * The packet code is pure and works on caller buffers (RFC 1035 4.1).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdatomic.h>
#include <string.h>

#include "shim.h"

#define RESOLV_HEADER	12
#define RESOLV_TTL	300	/* the fake never changes in this process */
#define RESOLV_NOERROR	0
#define RESOLV_SERVFAIL	2
#define RESOLV_NXDOMAIN	3

typedef int (*resolv_query_fn)(const char *, int, int, unsigned char *,
    int);
typedef int (*resolv_nquery_fn)(res_state, const char *, int, int,
    unsigned char *, int);
typedef int (*resolv_querydomain_fn)(const char *, const char *, int, int,
    unsigned char *, int);
typedef int (*resolv_nquerydomain_fn)(res_state, const char *,
    const char *, int, int, unsigned char *, int);
typedef int (*resolv_send_fn)(const unsigned char *, int, unsigned char *,
    int);
typedef int (*resolv_nsend_fn)(res_state, const unsigned char *, int,
    unsigned char *, int);

static struct {
	resolv_query_fn		query, search;
	resolv_nquery_fn	nquery, nsearch;
	resolv_querydomain_fn	querydomain;
	resolv_nquerydomain_fn	nquerydomain;
	resolv_send_fn		send;
	resolv_nsend_fn		nsend;
} resolv_real;
static struct real_once resolv_once = REAL_ONCE_INIT;
static atomic_uint resolv_next_id;

enum resolv_kind {
	RESOLV_QUERY,
	RESOLV_SEARCH,
	RESOLV_QUERYDOMAIN,
};

/* ------------------------------------------------------------------ */
/* packets (pure)                                                       */

static void
resolv_put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned int
resolv_get16(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

int
resolv_encode_name(const char *name, uint8_t *out, size_t cap)
{
	size_t n = strlen(name), pos = 0, i = 0, label;

	if (n > 0 && name[n - 1] == '.')
		n--;	/* absolute or not, the same labels */
	if (n == 0 || n > 253)
		return -1;
	while (i < n) {
		/* i + label < n = strlen(name) keeps every read inside the
		 * string; the analyzer does not tie n to the terminator. */
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
		for (label = 0; i + label < n && name[i + label] != '.';
		    label++)
			;
		if (label == 0 || label > 63 || pos + 1 + label + 1 > cap)
			return -1;
		out[pos++] = (uint8_t)label;
		memcpy(out + pos, name + i, label);
		pos += label;
		i += label + 1;
	}
	if (name[n - 1] == '.' || pos + 1 > cap)
		return -1;	/* an empty last label: "a..": refuse */
	out[pos++] = 0;
	return (int)pos;
}

int
resolv_parse_query(const uint8_t *msg, size_t len, struct resolv_question *q)
{
	size_t pos = RESOLV_HEADER, out = 0, label;

	if (msg == NULL || len < RESOLV_HEADER)
		return -1;
	/* One standard query (QR=0, opcode 0) with one question. */
	if ((msg[2] & 0xf8) != 0 || resolv_get16(msg + 4) != 1)
		return -1;
	q->id = (uint16_t)resolv_get16(msg);
	q->rd = (msg[2] & 0x01) != 0;
	q->qname = msg + pos;
	for (;;) {
		if (pos >= len)
			return -1;
		label = msg[pos++];
		if (label == 0)
			break;
		/* No compression in a question, no '.' inside a label. */
		if (label > 63 || pos + label > len || out + label + 1 >=
		    sizeof(q->name) || memchr(msg + pos, '.', label) != NULL ||
		    memchr(msg + pos, '\0', label) != NULL)
			return -1;
		if (out > 0)
			q->name[out++] = '.';
		memcpy(q->name + out, msg + pos, label);
		out += label;
		pos += label;
	}
	if (out == 0 || pos + 4 > len)
		return -1;
	q->name[out] = '\0';
	q->qnamelen = (size_t)(msg + pos - q->qname);
	q->type = (uint16_t)resolv_get16(msg + pos);
	q->qclass = (uint16_t)resolv_get16(msg + pos + 2);
	return 0;
}

int
resolv_build(uint8_t *out, size_t cap, const struct resolv_question *q,
    int rcode, const struct resolv_rr *rr, size_t nrr)
{
	size_t pos, i, n = 0;

	pos = RESOLV_HEADER + q->qnamelen + 4;
	if (cap < pos)
		return -1;
	memset(out, 0, RESOLV_HEADER);
	resolv_put16(out, q->id);
	/* QR, RD as asked; RA; the rcode. */
	out[2] = (uint8_t)(0x80 | (q->rd ? 0x01 : 0));
	out[3] = (uint8_t)(0x80 | (rcode & 0x0f));
	resolv_put16(out + 4, 1);
	memmove(out + RESOLV_HEADER, q->qname, q->qnamelen);
	resolv_put16(out + RESOLV_HEADER + q->qnamelen, q->type);
	resolv_put16(out + RESOLV_HEADER + q->qnamelen + 2, q->qclass);
	for (i = 0; i < nrr; i++) {
		if (pos + 12 + rr[i].len > cap) {
			out[2] |= 0x02;	/* TC: the rest did not fit */
			break;
		}
		/* The owner is the question's name: a pointer to it. */
		out[pos] = 0xc0;
		out[pos + 1] = RESOLV_HEADER;
		resolv_put16(out + pos + 2, rr[i].type);
		resolv_put16(out + pos + 4, q->qclass);
		resolv_put16(out + pos + 6, RESOLV_TTL >> 16);
		resolv_put16(out + pos + 8, RESOLV_TTL & 0xffff);
		resolv_put16(out + pos + 10, rr[i].len);
		memcpy(out + pos + 12, rr[i].data, rr[i].len);
		pos += 12 + rr[i].len;
		n++;
	}
	resolv_put16(out + 6, (unsigned int)n);
	return (int)pos;
}

/* ------------------------------------------------------------------ */
/* which questions are ours                                             */

static int
resolv_add_fake(const char *name, int family, struct resolv_rr *rr)
{
	struct sockaddr_in6 sin6;
	socklen_t salen;

	if (fakeip_assign(name, family, (struct sockaddr *)&sin6, &salen)
	    == -1)
		return -1;
	if (family == AF_INET) {
		rr->type = RESOLV_TYPE_A;
		rr->len = 4;
		memcpy(rr->data,
		    &((struct sockaddr_in *)(void *)&sin6)->sin_addr, 4);
	} else {
		rr->type = RESOLV_TYPE_AAAA;
		rr->len = 16;
		memcpy(rr->data, &sin6.sin6_addr, 16);
	}
	return 0;
}

int
resolv_answer(const struct shim_conf *c, const char *name, int qclass,
    int qtype, int *rcode, struct resolv_rr *rr, size_t *nrr)
{
	int mask;

	*nrr = 0;
	if (c == NULL || !c->enabled || name == NULL ||
	    !delegate_decide(c, name, AF_UNSPEC))
		return 0;
	*rcode = RESOLV_NOERROR;
	if (delegate_canary(name)) {
		*rcode = RESOLV_NXDOMAIN;
		return 1;
	}
	if (qclass != RESOLV_CLASS_IN)
		return 1;	/* NODATA */
	mask = delegate_answer_families(AF_UNSPEC, 0,
	    hostfam_get());
	if ((qtype == RESOLV_TYPE_A || qtype == RESOLV_TYPE_ANY) &&
	    (mask & HOSTFAM_V4)) {
		if (resolv_add_fake(name, AF_INET, &rr[*nrr]) == -1)
			goto fail;
		(*nrr)++;
	}
	if ((qtype == RESOLV_TYPE_AAAA || qtype == RESOLV_TYPE_ANY) &&
	    (mask & HOSTFAM_V6)) {
		if (resolv_add_fake(name, AF_INET6, &rr[*nrr]) == -1)
			goto fail;
		(*nrr)++;
	}
	return 1;
fail:
	*nrr = 0;
	*rcode = RESOLV_SERVFAIL;	/* exhausted: logged by fakeip */
	return 1;
}

/* ------------------------------------------------------------------ */
/* the hooks' common part                                               */

static void *
resolv_symbol(const char *name, const char *old)
{
	void *fn = real_symbol(name);

	return fn != NULL ? fn : real_symbol(old);
}

static void
resolv_init(void)
{
	*(void **)&resolv_real.query = resolv_symbol("res_query",
	    "__res_query");
	*(void **)&resolv_real.search = resolv_symbol("res_search",
	    "__res_search");
	*(void **)&resolv_real.querydomain = resolv_symbol("res_querydomain",
	    "__res_querydomain");
	*(void **)&resolv_real.nquery = resolv_symbol("res_nquery",
	    "__res_nquery");
	*(void **)&resolv_real.nsearch = resolv_symbol("res_nsearch",
	    "__res_nsearch");
	*(void **)&resolv_real.nquerydomain = resolv_symbol(
	    "res_nquerydomain", "__res_nquerydomain");
	*(void **)&resolv_real.send = resolv_symbol("res_send", "__res_send");
	*(void **)&resolv_real.nsend = resolv_symbol("res_nsend",
	    "__res_nsend");
}

/*
 * 1 once the real functions are known; 0 for a call re-entered from
 * inside their look-up (a program's malloc reached from dlsym), which
 * cannot wait for it: the caller answers "try again". errno is kept.
 */
static int
resolv_load(void)
{
	return real_once(&resolv_once, resolv_init);
}

static void
resolv_set_herrno(res_state statp, int herr)
{
	h_errno = herr;
	if (statp != NULL)
		statp->res_h_errno = herr;
}

/* The real function for kind, or -1 with NO_RECOVERY if there is none. */
static int
resolv_call_real(res_state statp, enum resolv_kind kind, const char *name,
    const char *domain, int qclass, int type, unsigned char *answer,
    int anslen)
{
	void *fn = NULL;

	switch (kind) {
	case RESOLV_QUERY:
		fn = statp ? (void *)resolv_real.nquery :
		    (void *)resolv_real.query;
		break;
	case RESOLV_SEARCH:
		fn = statp ? (void *)resolv_real.nsearch :
		    (void *)resolv_real.search;
		break;
	case RESOLV_QUERYDOMAIN:
		fn = statp ? (void *)resolv_real.nquerydomain :
		    (void *)resolv_real.querydomain;
		break;
	}
	if (fn == NULL) {
		resolv_set_herrno(statp, NO_RECOVERY);
		errno = ENOSYS;
		return -1;
	}
	if (kind == RESOLV_QUERYDOMAIN)
		return statp ? resolv_real.nquerydomain(statp, name, domain,
		    qclass, type, answer, anslen) : resolv_real.querydomain(
		    name, domain, qclass, type, answer, anslen);
	if (statp)
		return ((resolv_nquery_fn)fn)(statp, name, qclass, type,
		    answer, anslen);
	return ((resolv_query_fn)fn)(name, qclass, type, answer, anslen);
}

/* "name.domain" as res_querydomain forms it, into buf; NULL if too long. */
static const char *
resolv_join(const char *name, const char *domain, char *buf, size_t len)
{
	size_t n = strlen(name), d;

	if (domain == NULL) {
		/* glibc drops one trailing dot here. */
		if (n > 0 && name[n - 1] == '.')
			n--;
		if (n >= len)
			return NULL;
		memcpy(buf, name, n);
		buf[n] = '\0';
		return buf;
	}
	d = strlen(domain);
	if (n + 1 + d >= len)
		return NULL;
	memcpy(buf, name, n);
	buf[n] = '.';
	memcpy(buf + n + 1, domain, d + 1);
	return buf;
}

/*
 * res_query and its kin: the shim's answer for a delegated name with
 * res_query's conventions (the packet is written even for NXDOMAIN and
 * NODATA, which return -1 with h_errno HOST_NOT_FOUND / NO_DATA), the
 * real function for any other.
 */
static int
resolv_query(res_state statp, enum resolv_kind kind, const char *name,
    const char *domain, int qclass, int type, unsigned char *answer,
    int anslen)
{
	const struct shim_conf *c = shim_conf();
	struct resolv_question q;
	struct resolv_rr rr[2];
	const char *qname = name;
	char joined[1026];
	size_t nrr;
	uint8_t wire[256];
	int n, rcode, r, saved = errno;

	if (!resolv_load()) {
		resolv_set_herrno(statp, TRY_AGAIN);
		errno = EAGAIN;
		return -1;
	}
	if (name == NULL || !c->enabled)
		goto real;
	if (kind == RESOLV_QUERYDOMAIN &&
	    (qname = resolv_join(name, domain, joined, sizeof(joined))) ==
	    NULL)
		goto real;
	if ((n = resolv_encode_name(qname, wire, sizeof(wire))) == -1 ||
	    !resolv_answer(c, qname, qclass, type, &rcode, rr, &nrr))
		goto real;
	if (c->mode == RESOLVE_LOCAL_FIRST && (type == RESOLV_TYPE_A ||
	    type == RESOLV_TYPE_AAAA || type == RESOLV_TYPE_ANY)) {
		errno = saved;
		r = resolv_call_real(statp, kind, name, domain, qclass, type,
		    answer, anslen);
		if (r >= 0 || (h_errno != HOST_NOT_FOUND &&
		    h_errno != NO_DATA && h_errno != TRY_AGAIN))
			return r;
	}
	memset(&q, 0, sizeof(q));
	q.id = (uint16_t)atomic_fetch_add(&resolv_next_id, 1);
	q.rd = 1;
	q.qname = wire;
	q.qnamelen = (size_t)n;
	q.type = (uint16_t)type;
	q.qclass = (uint16_t)qclass;
	if (answer == NULL || anslen < 0 ||
	    (n = resolv_build(answer, (size_t)anslen, &q, rcode, rr, nrr))
	    == -1) {
		resolv_set_herrno(statp, NO_RECOVERY);
		errno = EMSGSIZE;
		return -1;
	}
	errno = saved;
	shim_debug("res_query %s type %d: %s", qname, type,
	    rcode == RESOLV_NXDOMAIN ? "NXDOMAIN" : nrr ? "fake" : "NODATA");
	if (rcode == RESOLV_NXDOMAIN) {
		resolv_set_herrno(statp, HOST_NOT_FOUND);
		return -1;
	}
	if (rcode == RESOLV_SERVFAIL) {
		resolv_set_herrno(statp, TRY_AGAIN);
		return -1;
	}
	if (resolv_get16(answer + 6) == 0) {
		resolv_set_herrno(statp, NO_DATA);
		return -1;
	}
	resolv_set_herrno(statp, NETDB_SUCCESS);
	return n;
real:
	errno = saved;
	return resolv_call_real(statp, kind, name, domain, qclass, type,
	    answer, anslen);
}

/*
 * res_send: the question is read out of the program's own packet; the
 * answer carries its ID and is returned whatever its rcode, as a
 * server's would be.
 */
static int
resolv_send(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	const struct shim_conf *c = shim_conf();
	struct resolv_question q;
	struct resolv_rr rr[2];
	size_t nrr;
	int rcode, n, saved = errno;

	if (!resolv_load()) {
		errno = EAGAIN;
		return -1;
	}
	if (c->enabled && msglen > 0 && anslen > 0 && answer != NULL &&
	    resolv_parse_query(msg, (size_t)msglen, &q) == 0 &&
	    c->mode == RESOLVE_DELEGATE &&
	    resolv_answer(c, q.name, q.qclass, q.type, &rcode, rr, &nrr)) {
		n = resolv_build(answer, (size_t)anslen, &q, rcode, rr, nrr);
		if (n == -1) {
			errno = EMSGSIZE;
			return -1;
		}
		errno = saved;
		return n;
	}
	errno = saved;
	if (statp != NULL && resolv_real.nsend != NULL)
		return resolv_real.nsend(statp, msg, msglen, answer, anslen);
	if (statp == NULL && resolv_real.send != NULL)
		return resolv_real.send(msg, msglen, answer, anslen);
	errno = ENOSYS;
	return -1;
}

/* ------------------------------------------------------------------ */
/* the interposers, under both the current and the old names            */

SHIM_EXPORT int
res_query(const char *name, int qclass, int type, unsigned char *answer,
    int anslen)
{
	return resolv_query(NULL, RESOLV_QUERY, name, NULL, qclass, type,
	    answer, anslen);
}

SHIM_EXPORT int
__res_query(const char *name, int qclass, int type, unsigned char *answer,
    int anslen)
{
	return res_query(name, qclass, type, answer, anslen);
}

SHIM_EXPORT int
res_search(const char *name, int qclass, int type, unsigned char *answer,
    int anslen)
{
	return resolv_query(NULL, RESOLV_SEARCH, name, NULL, qclass, type,
	    answer, anslen);
}

SHIM_EXPORT int
__res_search(const char *name, int qclass, int type, unsigned char *answer,
    int anslen)
{
	return res_search(name, qclass, type, answer, anslen);
}

SHIM_EXPORT int
res_querydomain(const char *name, const char *domain, int qclass, int type,
    unsigned char *answer, int anslen)
{
	return resolv_query(NULL, RESOLV_QUERYDOMAIN, name, domain, qclass,
	    type, answer, anslen);
}

SHIM_EXPORT int
__res_querydomain(const char *name, const char *domain, int qclass,
    int type, unsigned char *answer, int anslen)
{
	return res_querydomain(name, domain, qclass, type, answer, anslen);
}

SHIM_EXPORT int
res_nquery(res_state statp, const char *name, int qclass, int type,
    unsigned char *answer, int anslen)
{
	return resolv_query(statp, RESOLV_QUERY, name, NULL, qclass, type,
	    answer, anslen);
}

SHIM_EXPORT int
__res_nquery(res_state statp, const char *name, int qclass, int type,
    unsigned char *answer, int anslen)
{
	return res_nquery(statp, name, qclass, type, answer, anslen);
}

SHIM_EXPORT int
res_nsearch(res_state statp, const char *name, int qclass, int type,
    unsigned char *answer, int anslen)
{
	return resolv_query(statp, RESOLV_SEARCH, name, NULL, qclass, type,
	    answer, anslen);
}

SHIM_EXPORT int
__res_nsearch(res_state statp, const char *name, int qclass, int type,
    unsigned char *answer, int anslen)
{
	return res_nsearch(statp, name, qclass, type, answer, anslen);
}

SHIM_EXPORT int
res_nquerydomain(res_state statp, const char *name, const char *domain,
    int qclass, int type, unsigned char *answer, int anslen)
{
	return resolv_query(statp, RESOLV_QUERYDOMAIN, name, domain, qclass,
	    type, answer, anslen);
}

SHIM_EXPORT int
__res_nquerydomain(res_state statp, const char *name, const char *domain,
    int qclass, int type, unsigned char *answer, int anslen)
{
	return res_nquerydomain(statp, name, domain, qclass, type, answer,
	    anslen);
}

SHIM_EXPORT int
res_send(const unsigned char *msg, int msglen, unsigned char *answer,
    int anslen)
{
	return resolv_send(NULL, msg, msglen, answer, anslen);
}

SHIM_EXPORT int
__res_send(const unsigned char *msg, int msglen, unsigned char *answer,
    int anslen)
{
	return res_send(msg, msglen, answer, anslen);
}

SHIM_EXPORT int
res_nsend(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	return resolv_send(statp, msg, msglen, answer, anslen);
}

SHIM_EXPORT int
__res_nsend(res_state statp, const unsigned char *msg, int msglen,
    unsigned char *answer, int anslen)
{
	return res_nsend(statp, msg, msglen, answer, anslen);
}
