/*
 * fuzz_route.c - libFuzzer harness for the API router and its query
 * arguments (route_find).
 *
 * The input is a flags byte, then "METHOD PATH[?QUERY]".  Bit 0 of the
 * flags picks the socket (admin, session); the rest scales max_wait.  The
 * query is split at '&' and '=' and %-decoded the way libmicrohttpd hands
 * it over (a "%00" gives a NUL inside a key or value, a bare "key" a NULL
 * value), so mutations reach what writd really sees.
 *
 * Properties beyond "does not crash":
 *   - refused: one of 404 (with a message), 405 (without), 400 (with), and
 *     *ret untouched;
 *   - a session socket never reaches an admin-only route;
 *   - accepted: the {id} is 32 hex digits and the {name} a valid secret
 *     name, both taken from the path; every argument was given once, under
 *     a name the route takes, without a NUL; wait, after and tail are in
 *     their ranges and are exactly the decimal digits given; instance and
 *     session are 32 hex digits;
 *   - the order of the arguments does not matter.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "../../broker/route.h"
#include "id.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Arguments the harness splits off (route_find sees up to this many). */
#define FUZZ_MAX_ARGS (ROUTE_MAX_ARGS + 2)

static int
unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* %-decode s[0..n) in place, NUL-terminated; returns the decoded length. */
static size_t
decode(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
			s[o++] = (char)(unhex(s[i + 1]) << 4 | unhex(s[i + 2]));
			i += 2;
		} else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

static bool
hex32(const char *s)
{
	if (s == NULL || strlen(s) != 32)
		return false;
	for (int i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The argument named key among args, or NULL. */
static const struct route_arg *
arg_named(const struct route_arg *args, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (args[i].key_len == strlen(key) && memcmp(args[i].key, key, args[i].key_len) == 0)
			return &args[i];
	return NULL;
}

/* Is v exactly the digits of the number n (leading zeros allowed)? */
static bool
same_number(const struct route_arg *a, long long n)
{
	unsigned long long back = 0;

	if (a->value == NULL || a->value_len == 0 || a->value_len > 19)
		return false;
	for (size_t i = 0; i < a->value_len; i++) {
		if (a->value[i] < '0' || a->value[i] > '9')
			return false;
		back = back * 10 + (unsigned)(a->value[i] - '0');
	}
	return back == (unsigned long long)n;
}

static bool
same_call(const struct route_call *a, const struct route_call *b)
{
	return a->id == b->id && strcmp(a->arg, b->arg) == 0 && a->wait == b->wait &&
	    a->after == b->after && a->tail == b->tail && a->instance == b->instance &&
	    a->session == b->session;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct route_arg args[FUZZ_MAX_ARGS], rev[FUZZ_MAX_ARGS];
	struct route_call rc, rc2, untouched;
	char err[WRIT_ERRLEN], *buf, *method, *path, *query, *sp;
	unsigned int where;
	long long max_wait;
	size_t nargs = 0;
	int r;

	if (size < 1)
		return 0;
	where = (data[0] & 1) ? ROUTE_SESSION : ROUTE_ADMIN;
	max_wait = 1 + (long long)(data[0] >> 1) * 1000;
	buf = malloc(size);
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	/* NB. libmicrohttpd's method and path are C strings: a NUL ends them. */
	method = buf;
	sp = strchr(buf, ' ');
	if (sp == NULL) {
		free(buf);
		return 0;
	}
	*sp = '\0';
	path = sp + 1;
	query = strchr(path, '?');
	if (query != NULL) {
		*query++ = '\0';
		while (query != NULL && nargs < FUZZ_MAX_ARGS) {
			char *amp = strchr(query, '&'), *eq;

			if (amp != NULL)
				*amp++ = '\0';
			eq = strchr(query, '=');
			if (eq != NULL)
				*eq++ = '\0';
			args[nargs].key = query;
			args[nargs].key_len = decode(query, strlen(query));
			args[nargs].value = eq;
			args[nargs].value_len = eq != NULL ? decode(eq, strlen(eq)) : 0;
			nargs++;
			query = amp;
		}
	}
	decode(path, strlen(path));

	memset(&rc, 0xa5, sizeof(rc));
	untouched = rc;
	err[0] = 'x';
	r = route_find(where, method, path, args, nargs, max_wait, &rc, err);
	if (r < 0) {
		if (memcmp(&rc, &untouched, sizeof(rc)) != 0)
			__builtin_trap();	/* ret written on failure */
		if (r == WRIT_EMETHOD ? err[0] != '\0' :
		    (r != WRIT_ENOTFOUND && r != WRIT_EBADREQ) || err[0] == '\0')
			__builtin_trap();
		free(buf);
		return 0;
	}
	if (r != 0 || rc.id >= ROUTE_COUNT || nargs > ROUTE_MAX_ARGS)
		__builtin_trap();
	/* The session socket reaches only its own routes. */
	if (where == ROUTE_SESSION && rc.id != ROUTE_HEALTH && rc.id != ROUTE_WRIT_CREATE &&
	    rc.id != ROUTE_WRIT_LIST && rc.id != ROUTE_WRIT_DELETE &&
	    rc.id != ROUTE_WRIT_REVOKE_TOKEN)
		__builtin_trap();
	/* The path's segment: from the path, of its form. */
	switch (rc.id) {
	case ROUTE_WRIT_DELETE: case ROUTE_SESSION_GET: case ROUTE_SESSION_DELETE:
	case ROUTE_APPROVE: case ROUTE_DENY:
		if (!hex32(rc.arg) || strstr(path, rc.arg) == NULL)
			__builtin_trap();
		break;
	case ROUTE_SECRET_PUT: case ROUTE_SECRET_GET: case ROUTE_SECRET_DELETE:
		if (!secret_name_valid(rc.arg) || strcmp(path + strlen("/v1/secrets/"), rc.arg) != 0)
			__builtin_trap();
		break;
	default:
		if (rc.arg[0] != '\0')
			__builtin_trap();
	}
	/* Each argument: once, known, whole; each value: its form, exactly. */
	for (size_t i = 0; i < nargs; i++) {
		if (strlen(args[i].key) != args[i].key_len ||
		    (args[i].value != NULL && strlen(args[i].value) != args[i].value_len))
			__builtin_trap();
		for (size_t j = 0; j < i; j++)
			if (strcmp(args[i].key, args[j].key) == 0)
				__builtin_trap();
	}
	{
		const struct route_arg *w = arg_named(args, nargs, "wait");
		const struct route_arg *a = arg_named(args, nargs, "after");
		const struct route_arg *t = arg_named(args, nargs, "tail");
		const struct route_arg *in = arg_named(args, nargs, "instance");
		const struct route_arg *se = arg_named(args, nargs, "session");

		if (rc.wait < 0 || rc.wait > max_wait || (w != NULL ? !same_number(w, rc.wait) :
		    rc.wait != 0))
			__builtin_trap();
		if (rc.after < 0 || rc.after > ROUTE_MAX_INT ||
		    (a != NULL ? !same_number(a, rc.after) : rc.after != 0))
			__builtin_trap();
		if (rc.tail < 0 || rc.tail > 100000 || (t != NULL ? !same_number(t, rc.tail) :
		    rc.tail != 20))
			__builtin_trap();
		if ((in != NULL) != (rc.instance != NULL) || (in != NULL && !hex32(rc.instance)) ||
		    (se != NULL) != (rc.session != NULL) || (se != NULL && !hex32(rc.session)))
			__builtin_trap();
		if ((w != NULL || in != NULL) && rc.id != ROUTE_REQUESTS)
			__builtin_trap();
		if ((t != NULL || se != NULL) && rc.id != ROUTE_AUDIT)
			__builtin_trap();
		if (a != NULL && rc.id != ROUTE_REQUESTS && rc.id != ROUTE_AUDIT)
			__builtin_trap();
	}
	/* The same arguments in reverse order: the same call. */
	for (size_t i = 0; i < nargs; i++)
		rev[i] = args[nargs - 1 - i];
	if (route_find(where, method, path, rev, nargs, max_wait, &rc2, err) != 0 ||
	    !same_call(&rc, &rc2))
		__builtin_trap();
	free(buf);
	return 0;
}
