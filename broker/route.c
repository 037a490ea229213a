/*
 * route.c - the v1 API's route table, and its query arguments.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "id.h"
#include "route.h"

/* Query arguments a route takes, as bits. */
#define Q_WAIT		0x01
#define Q_AFTER		0x02
#define Q_INSTANCE	0x04
#define Q_TAIL		0x08
#define Q_SESSION	0x10

struct route {
	unsigned int where;	/* ROUTE_ADMIN, ROUTE_SESSION or both */
	const char *method;
	const char *path;	/* "*" stands for one id segment, "%" for a secret name */
	enum route_id id;
	unsigned int query;	/* the Q_* it takes; any other is refused */
};

#define BOTH (ROUTE_ADMIN | ROUTE_SESSION)

static const struct route routes[] = {
	{ BOTH, "GET", "/v1/health", ROUTE_HEALTH, 0 },
	{ ROUTE_SESSION, "POST", "/v1/writs", ROUTE_WRIT_CREATE, 0 },
	{ BOTH, "GET", "/v1/writs", ROUTE_WRIT_LIST, 0 },
	{ BOTH, "DELETE", "/v1/writs/*", ROUTE_WRIT_DELETE, 0 },
	{ BOTH, "POST", "/v1/writs/revoke", ROUTE_WRIT_REVOKE_TOKEN, 0 },
	{ ROUTE_ADMIN, "POST", "/v1/sessions", ROUTE_SESSION_CREATE, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/sessions", ROUTE_SESSION_LIST, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/sessions/*", ROUTE_SESSION_GET, 0 },
	{ ROUTE_ADMIN, "DELETE", "/v1/sessions/*", ROUTE_SESSION_DELETE, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/requests", ROUTE_REQUESTS, Q_WAIT | Q_AFTER | Q_INSTANCE },
	{ ROUTE_ADMIN, "POST", "/v1/requests/*/approve", ROUTE_APPROVE, 0 },
	{ ROUTE_ADMIN, "POST", "/v1/requests/*/deny", ROUTE_DENY, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/jwks", ROUTE_JWKS, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/sshcert", ROUTE_SSHCERT, 0 },
	{ ROUTE_ADMIN, "POST", "/v1/policy/explain", ROUTE_EXPLAIN, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/audit", ROUTE_AUDIT, Q_TAIL | Q_AFTER | Q_SESSION },
	{ ROUTE_ADMIN, "GET", "/v1/audit/verify", ROUTE_AUDIT_VERIFY, 0 },
	{ ROUTE_ADMIN, "POST", "/v1/audit/verify", ROUTE_AUDIT_VERIFY_FILE, 0 },
	{ ROUTE_ADMIN, "POST", "/v1/audit/rotate", ROUTE_AUDIT_ROTATE, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/audit/key", ROUTE_AUDIT_KEY, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/secrets", ROUTE_SECRET_LIST, 0 },
	{ ROUTE_ADMIN, "PUT", "/v1/secrets/%", ROUTE_SECRET_PUT, 0 },
	{ ROUTE_ADMIN, "GET", "/v1/secrets/%", ROUTE_SECRET_GET, 0 },
	{ ROUTE_ADMIN, "DELETE", "/v1/secrets/%", ROUTE_SECRET_DELETE, 0 },
	{ 0, NULL, NULL, ROUTE_COUNT, 0 },
};

/* The query arguments, by bit. */
static const struct {
	unsigned int bit;
	const char *key;
} qkeys[] = {
	{ Q_WAIT, "wait" },
	{ Q_AFTER, "after" },
	{ Q_INSTANCE, "instance" },
	{ Q_TAIL, "tail" },
	{ Q_SESSION, "session" },
};

#define NQKEYS (sizeof(qkeys) / sizeof(qkeys[0]))

/*
 * Does path match pattern?  A "*" segment must be an id (id.h), a "%"
 * segment a secret name; either is copied to arg, else arg is "".  arg is
 * written only on a match.
 */
static bool
match(const char *pattern, const char *path, char arg[WRIT_MAX_SECRET_NAME + 1])
{
	const char *star = strchr(pattern, '*');
	const char *pct = strchr(pattern, '%');
	char id[WRIT_ID_LEN + 1];
	size_t pre;

	if (pct != NULL) {
		pre = (size_t)(pct - pattern);
		if (strncmp(pattern, path, pre) != 0 || strchr(path + pre, '/') != NULL ||
		    !secret_name_valid(path + pre))
			return false;
		snprintf(arg, WRIT_MAX_SECRET_NAME + 1, "%s", path + pre);
		return true;
	}
	if (star == NULL) {
		if (strcmp(pattern, path) != 0)
			return false;
		arg[0] = '\0';
		return true;
	}
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, path, pre) != 0 || strnlen(path + pre, WRIT_ID_LEN) < WRIT_ID_LEN)
		return false;
	memcpy(id, path + pre, WRIT_ID_LEN);
	id[WRIT_ID_LEN] = '\0';
	if (!id_valid(id) || strcmp(path + pre + WRIT_ID_LEN, star + 1) != 0)
		return false;
	memcpy(arg, id, WRIT_ID_LEN + 1);
	return true;
}

/* Is a (len bytes, a NUL in them counting) an id (id.h)? */
static bool
is_id(const char *a, size_t len)
{
	return a != NULL && len == WRIT_ID_LEN && id_valid(a);
}

/*
 * a (len bytes) as a decimal integer in 0..max (at most ROUTE_MAX_INT):
 * digits only, no sign, no space.  Returns 0 and *ret, or WRIT_EBADREQ.
 */
static int
parse_int(const char *key, const char *a, size_t len, long long max, long long *ret,
    char err[WRIT_ERRLEN])
{
	long long n = 0;

	if (a == NULL || len == 0 || len > 19)
		goto bad;
	for (size_t i = 0; i < len; i++) {
		int d = a[i] - '0';

		if (d < 0 || d > 9)
			goto bad;
		/* NB. checked before the step: n * 10 + d may not be representable. */
		if (d > max || n > (max - d) / 10)
			goto bad;
		n = n * 10 + d;
	}
	*ret = n;
	return 0;
 bad:
	snprintf(err, WRIT_ERRLEN, "query '%s' must be an integer from 0 to %lld", key, max);
	return WRIT_EBADREQ;
}

/* The names of the query arguments bits stands for, ", "-separated, into buf. */
static void
qnames(unsigned int bits, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NQKEYS && n < size; i++)
		if (bits & qkeys[i].bit)
			n += (size_t)snprintf(buf + n, size - n, "%s%s", n > 0 ? ", " : "",
			    qkeys[i].key);
}

/* Parse args against route rt into *c.  Returns 0 or WRIT_EBADREQ with err. */
static int
parse_query(const struct route *rt, const struct route_arg *args, size_t nargs,
    long long max_wait, struct route_call *c, char err[WRIT_ERRLEN])
{
	unsigned int seen = 0;
	char q[52], names[64];
	int r;

	if (nargs > ROUTE_MAX_ARGS) {
		snprintf(err, WRIT_ERRLEN, "more than %d query arguments", ROUTE_MAX_ARGS);
		return WRIT_EBADREQ;
	}
	for (size_t i = 0; i < nargs; i++) {
		const struct route_arg *a = &args[i];
		unsigned int bit = 0;

		/* NB. a decoded %00 would cut the key short to a known one. */
		for (size_t k = 0; k < NQKEYS && strlen(a->key) == a->key_len; k++)
			if (strcmp(a->key, qkeys[k].key) == 0)
				bit = qkeys[k].bit;
		if ((bit & rt->query) == 0) {
			sjson_quote(q, a->key);
			qnames(rt->query, names, sizeof(names));
			snprintf(err, WRIT_ERRLEN, "unknown query argument '%s'; %s %s takes %s", q,
			    rt->method, rt->path, names[0] != '\0' ? names : "none");
			return WRIT_EBADREQ;
		}
		/* Which of two would count is for no one to guess. */
		if (seen & bit) {
			snprintf(err, WRIT_ERRLEN, "query '%s' is given twice", a->key);
			return WRIT_EBADREQ;
		}
		seen |= bit;
		switch (bit) {
		case Q_WAIT:
			r = parse_int("wait", a->value, a->value_len, max_wait, &c->wait, err);
			break;
		case Q_AFTER:
			r = parse_int("after", a->value, a->value_len, rt->id == ROUTE_AUDIT ?
			    ROUTE_MAX_INT : 1LL << 53, &c->after, err);
			break;
		case Q_TAIL:
			r = parse_int("tail", a->value, a->value_len, 100000, &c->tail, err);
			break;
		case Q_INSTANCE:
			c->instance = a->value;
			r = is_id(a->value, a->value_len) ? 0 : WRIT_EBADREQ;
			if (r < 0)
				snprintf(err, WRIT_ERRLEN, "query 'instance' must be a writd "
				    "instance id, as GET /v1/requests gives it");
			break;
		default:	/* Q_SESSION */
			c->session = a->value;
			r = is_id(a->value, a->value_len) ? 0 : WRIT_EBADREQ;
			if (r < 0)
				snprintf(err, WRIT_ERRLEN, "query 'session' must be a session id");
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int
route_find(unsigned int where, const char *method, const char *path,
    const struct route_arg *args, size_t nargs, long long max_wait,
    struct route_call *ret, char err[WRIT_ERRLEN])
{
	struct route_call c = { .tail = 20 };
	bool path_known = false;
	int r;

	err[0] = '\0';
	for (const struct route *rt = routes; rt->path != NULL; rt++) {
		if (!(rt->where & where) || !match(rt->path, path, c.arg))
			continue;
		path_known = true;
		if (strcmp(rt->method, method) != 0)
			continue;
		c.id = rt->id;
		if ((r = parse_query(rt, args, nargs, max_wait, &c, err)) < 0)
			return r;
		*ret = c;
		return 0;
	}
	if (path_known)
		return WRIT_EMETHOD;
	snprintf(err, WRIT_ERRLEN, "no such API path; see GET /v1/health");
	return WRIT_ENOTFOUND;
}
