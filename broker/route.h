/*
 * route.h - what a request to the v1 API names: its route, the id or name
 * in its path, and its query arguments, parsed strictly.
 *
 * Pure (no I/O, no lock, no libmicrohttpd), so that it is fuzzed alone
 * (tests/fuzz/fuzz_route.c); api.c maps each route to its handler.  The
 * path and the arguments are as libmicrohttpd gives them: split at '?',
 * '&' and '=', and %-decoded.
 */
#ifndef WRIT_ROUTE_H
#define WRIT_ROUTE_H

#include <stddef.h>

#include "id.h"
#include "sjson.h"

/* Which socket a request came through. */
#define ROUTE_ADMIN 1
#define ROUTE_SESSION 2

/* Most query arguments a request may carry. */
#define ROUTE_MAX_ARGS 8
/* Largest integer any query argument takes: after= of GET /v1/audit. */
#define ROUTE_MAX_INT (1LL << 62)

enum route_id {
	ROUTE_HEALTH,
	ROUTE_WRIT_CREATE,
	ROUTE_WRIT_LIST,
	ROUTE_WRIT_DELETE,
	ROUTE_WRIT_REVOKE_TOKEN,
	ROUTE_SESSION_CREATE,
	ROUTE_SESSION_LIST,
	ROUTE_SESSION_GET,
	ROUTE_SESSION_DELETE,
	ROUTE_REQUESTS,
	ROUTE_APPROVE,
	ROUTE_DENY,
	ROUTE_JWKS,
	ROUTE_SSHCERT,
	ROUTE_EXPLAIN,
	ROUTE_AUDIT,
	ROUTE_AUDIT_VERIFY,
	ROUTE_AUDIT_VERIFY_FILE,
	ROUTE_AUDIT_ROTATE,
	ROUTE_AUDIT_KEY,
	ROUTE_SECRET_LIST,
	ROUTE_SECRET_PUT,
	ROUTE_SECRET_GET,
	ROUTE_SECRET_DELETE,
	ROUTE_COUNT
};

/* One query argument; value is NULL for a bare "?key". */
struct route_arg {
	const char *key;
	size_t key_len;		/* NB. the decoded key may hold a NUL (%00) */
	const char *value;
	size_t value_len;
};

/* A request, routed. */
struct route_call {
	enum route_id id;
	/* The path's {id} (32 hex digits) or {name} (secret_name_valid), else "". */
	char arg[WRIT_MAX_SECRET_NAME + 1];
	long long wait;		/* GET /v1/requests: seconds, 0..max_wait; 0 when absent */
	long long after;	/* GET /v1/requests (0..2^53), /v1/audit (0..2^62); 0 */
	long long tail;		/* GET /v1/audit: records, 0..100000; 20 when absent */
	/* 32 hex digits each, or NULL when absent; they point into the args. */
	const char *instance;	/* GET /v1/requests: the writd run after= counts in */
	const char *session;	/* GET /v1/audit: only this session's records */
};

/*
 * Route method and path from where (ROUTE_ADMIN or ROUTE_SESSION) and
 * parse its nargs query arguments: each must be one the route takes, given
 * once, with a value of its form; max_wait bounds wait=.  Returns 0 and
 * *ret; or WRIT_ENOTFOUND (no such path on that socket) or WRIT_EBADREQ
 * (a bad query argument) with a message in err, or WRIT_EMETHOD (the path
 * takes another method) with err "".  *ret is written only on success.
 */
int route_find(unsigned int where, const char *method, const char *path,
    const struct route_arg *args, size_t nargs, long long max_wait,
    struct route_call *ret, char err[WRIT_ERRLEN]);

#endif
