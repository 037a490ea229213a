/*
 * check_orderwire.c - a MINT order and its answer through the request
 * table (broker/minter/orderwire.c): each converted, encoded, decoded and
 * converted back comes back whole; what the wire cannot carry, or the
 * minter must not read, is refused with a message naming it.
 */
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "../../broker/config.h"
#include "../../broker/minter/order.h"
#include "../../broker/minter/orderwire.h"
#include "check.h"

#define SID "fedcba9876543210fedcba9876543210"
#define WID "0123456789abcdef0123456789abcdef"
#define AID "00112233445566778899aabbccddeeff"
#define FP "ffeeddccbbaa99887766554433221100"

/* Every field of an order set, none to its zero; the JSON values the caller's. */
static struct mint_order
full_order(json_t *scope, json_t *claims, json_t *identity)
{
	return (struct mint_order){ .req = { .kind = "jwt", .scope = scope, .ttl = 600,
	    .session = "dev", .workspace = "/home/dev/src/app", .uid = 1000,
	    .exe = "/usr/bin/git", .live = 3, .live_kind = 2, .claims = claims },
	    .cap = 1900000000, .session_id = SID, .pid = 4242, .pid_start = 987654321,
	    .approval = AID, .identity = identity };
}

/*
 * o through the wire, front end to minter: put, encode, decode, get.
 * buf must outlive *ret (its strings are views into it).
 */
static void
through(const struct mint_order *o, unsigned char *buf, size_t size,
    struct orderwire_order *ret)
{
	struct orderwire_mint w;
	struct proto_msg m = { .type = PROTO_MINT, .id = 5 }, d;
	struct proto_fault f;
	char err[WRIT_ERRLEN] = "";
	size_t len;

	ck_assert_msg(orderwire_put_order(o, &w, err) == 0, "%s", err);
	m.u.mint = w.m;
	ck_assert_msg(proto_encode(&m, PROTO_FRONT, buf, size, &len, &f) == 0, "%s", f.msg);
	orderwire_mint_free(&w);
	ck_assert_msg(proto_decode(buf, len, PROTO_FRONT, &d, &f) == 0, "%s", f.msg);
	ck_assert_msg(orderwire_get_order(&d.u.mint, ret, err) == 0, "%s", err);
}

/* a and b say the same: every scalar equal, every string and JSON value alike. */
static void
same_order(const struct mint_order *a, const struct mint_order *b)
{
	const struct policy_request *p = &a->req, *q = &b->req;

	ck_assert_str_eq(p->kind, q->kind);
	ck_assert(json_equal(p->scope, q->scope));
	ck_assert_int_eq(p->ttl, q->ttl);
	ck_assert_str_eq(p->session, q->session);
	if (p->workspace == NULL)
		ck_assert_ptr_null(q->workspace);
	else
		ck_assert_str_eq(p->workspace, q->workspace);
	ck_assert_uint_eq(p->uid, q->uid);
	ck_assert_str_eq(p->exe, q->exe);
	ck_assert_uint_eq(p->live, q->live);
	ck_assert_uint_eq(p->live_kind, q->live_kind);
	if (p->claims == NULL)
		ck_assert_ptr_null(q->claims);
	else
		ck_assert(json_equal(p->claims, q->claims));
	ck_assert_int_eq(a->cap, b->cap);
	ck_assert_str_eq(a->session_id, b->session_id);
	ck_assert_int_eq(a->pid, b->pid);
	ck_assert_uint_eq(a->pid_start, b->pid_start);
	if (a->approval == NULL)
		ck_assert_ptr_null(b->approval);
	else
		ck_assert_str_eq(a->approval, b->approval);
	if (a->identity == NULL)
		ck_assert_ptr_null(b->identity);
	else
		ck_assert(json_equal(a->identity, b->identity));
}

/* order_check's verdict on o: its code. */
static int
checked(const struct mint_order *o)
{
	static struct config cfg;
	const struct writ_kind *k;
	json_t *scope = NULL;
	char err[WRIT_ERRLEN];
	int r;

	config_defaults(&cfg);
	r = order_check(o, &cfg, NULL, &k, &scope, err);
	json_decref(scope);
	return r;
}

START_TEST(test_order_roundtrip)
{
	static unsigned char buf[PROTO_MAX_REQUEST];
	json_t *scope = json_pack("{ss}", "aud", "api.example.com");
	json_t *claims = json_pack("{ssss}", "repository", "acme/app", "ref", "refs/heads/main");
	json_t *identity = json_pack("{ssss}", "iss", "https://token.actions.githubusercontent.com",
	    "run_id", "42");
	struct mint_order o = full_order(scope, claims, identity), bare;
	struct orderwire_order back;

	through(&o, buf, sizeof(buf), &back);
	same_order(&o, &back.o);
	/* The minter's own values, not the front end's. */
	ck_assert_ptr_ne(back.o.req.scope, scope);
	ck_assert_ptr_eq(back.o.req.scope, back.scope);
	/* As order_check sees it, the same order. */
	ck_assert_int_eq(checked(&o), 0);
	ck_assert_int_eq(checked(&back.o), 0);
	orderwire_order_free(&back);
	orderwire_order_free(&back);

	/* Nothing optional: NULL comes back NULL, not "". */
	bare = (struct mint_order){ .req = { .kind = "jwt", .scope = scope, .ttl = 1,
	    .session = "ci", .exe = WRIT_EXE_UNVERIFIED }, .session_id = SID };
	through(&bare, buf, sizeof(buf), &back);
	same_order(&bare, &back.o);
	ck_assert_ptr_null(back.claims);
	ck_assert_ptr_null(back.identity);
	orderwire_order_free(&back);
	json_decref(scope);
	json_decref(claims);
	json_decref(identity);
}
END_TEST

/* Past PROTO_MAX_LIVE a count is capped (policy decides alike), and stays in order. */
START_TEST(test_order_live_capped)
{
	static unsigned char buf[PROTO_MAX_REQUEST];
	json_t *scope = json_pack("{ss}", "aud", "a");
	struct mint_order o = full_order(scope, NULL, NULL);
	struct orderwire_order back;

	o.req.live = 4000000000u;
	o.req.live_kind = PROTO_MAX_LIVE + 1;
	through(&o, buf, sizeof(buf), &back);
	ck_assert_uint_eq(back.o.req.live, PROTO_MAX_LIVE);
	ck_assert_uint_eq(back.o.req.live_kind, PROTO_MAX_LIVE);
	orderwire_order_free(&back);
	o.req.live = PROTO_MAX_LIVE + 7;
	o.req.live_kind = 9;
	through(&o, buf, sizeof(buf), &back);
	ck_assert_uint_eq(back.o.req.live, PROTO_MAX_LIVE);
	ck_assert_uint_eq(back.o.req.live_kind, 9);
	orderwire_order_free(&back);
	json_decref(scope);
}
END_TEST

/* What the wire cannot carry: refused by the front end's converter, with a message. */
START_TEST(test_order_put_refused)
{
	json_t *scope = json_pack("{ss}", "aud", "a");
	struct mint_order o;
	struct orderwire_mint w;
	char err[WRIT_ERRLEN];

	o = full_order(NULL, NULL, NULL);
	err[0] = '\0';
	ck_assert_int_eq(orderwire_put_order(&o, &w, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "scope"));
	/* A session id one digit longer would be cut to one that passes. */
	o = full_order(scope, NULL, NULL);
	o.session_id = SID "0";
	err[0] = '\0';
	ck_assert_int_eq(orderwire_put_order(&o, &w, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "session id"));
	o.session_id = NULL;
	ck_assert_int_eq(orderwire_put_order(&o, &w, err), WRIT_EBADREQ);
	o = full_order(scope, NULL, NULL);
	o.pid = -1;
	err[0] = '\0';
	ck_assert_int_eq(orderwire_put_order(&o, &w, err), WRIT_EBADREQ);
	ck_assert_ptr_nonnull(strstr(err, "pid"));
	o = full_order(scope, NULL, NULL);
	o.pid_start = (uint64_t)INT64_MAX + 1;
	ck_assert_int_eq(orderwire_put_order(&o, &w, err), WRIT_EBADREQ);
	json_decref(scope);
}
END_TEST

/* A decoded MINT whose JSON text the minter must not read: refused, naming the field. */
static void
get_refused(const char *scope, const char *claims, const char *identity, const char *field)
{
	struct proto_mint m = { .kind = "jwt", .scope = scope, .ttl = 60, .name = "dev",
	    .workspace = "", .exe = "/usr/bin/git", .claims = claims, .session = SID,
	    .approval = "", .identity = identity };
	struct orderwire_order back;
	char err[WRIT_ERRLEN] = "";

	memset(&back, 0x5a, sizeof(back));
	ck_assert_int_eq(orderwire_get_order(&m, &back, err), WRIT_EBADREQ);
	ck_assert_msg(strstr(err, field) != NULL, "'%s' not named in: %s", field, err);
}

START_TEST(test_order_get_refused)
{
	static char deep[64];

	/* Not an object; not JSON; empty where required. */
	get_refused("[1]", "", "", "'scope'");
	get_refused("\"aud\"", "", "", "'scope'");
	get_refused("{{", "", "", "'scope'");
	get_refused("", "", "", "'scope'");
	get_refused("{\"aud\":\"a\"}", "[1,2]", "", "'claims'");
	get_refused("{\"aud\":\"a\"}", "\"x\"", "", "'claims'");
	get_refused("{\"aud\":\"a\"}", "null", "", "'claims'");
	get_refused("{\"aud\":\"a\"}", "", "42", "'identity'");
	/* Read strictly: a duplicate key, trailing text, nesting past sjson's depth. */
	get_refused("{\"aud\":\"a\",\"aud\":\"b\"}", "", "", "'scope'");
	get_refused("{\"aud\":\"a\"} {}", "", "", "'scope'");
	get_refused("{\"aud\":\"a\"}", "{\"ref\":\"x\",\"ref\":\"y\"}", "", "'claims'");
	for (size_t i = 0; i <= WRIT_MAX_JSON_DEPTH; i++)
		strcat(deep, "{\"a\":");
	strcat(deep, "1");
	for (size_t i = 0; i <= WRIT_MAX_JSON_DEPTH; i++)
		strcat(deep, "}");
	get_refused("{\"aud\":\"a\"}", "", deep, "'identity'");
	/* The scope in any text but its canonical one: spaces, key order, escapes. */
	get_refused("{ \"aud\":\"a\"}", "", "", "'scope'");
	get_refused("{\"aud\": \"a\"}", "", "", "'scope'");
	get_refused("{\"aud\":\"a\"}\n", "", "", "'scope'");
	get_refused("{\"scope\":\"read\",\"aud\":\"a\"}", "", "", "'scope'");
	get_refused("{\"aud\":\"\\u0061\"}", "", "", "'scope'");
	get_refused("{\"aud\":\"a\\/b\"}", "", "", "'scope'");
}
END_TEST

/* The scope's canonical text is taken, whatever it holds; claims in any spacing. */
START_TEST(test_order_get_canonical)
{
	struct proto_mint m = { .kind = "jwt", .scope = "{\"aud\":\"a\",\"scope\":\"read\"}",
	    .ttl = 60, .name = "dev", .workspace = "", .exe = "/usr/bin/git",
	    .claims = "{ \"ref\" : \"x\" }", .identity = "", .session = SID, .approval = "" };
	struct orderwire_order back;
	char err[WRIT_ERRLEN] = "";

	ck_assert_msg(orderwire_get_order(&m, &back, err) == 0, "%s", err);
	orderwire_order_free(&back);
	m.scope = "{\"aud\":\"caf\u00e9\",\"n\":[1,2.5,{\"a\":null}]}";
	ck_assert_msg(orderwire_get_order(&m, &back, err) == 0, "%s", err);
	orderwire_order_free(&back);
}
END_TEST

/* r as an ANSWER through the wire, minter to front end; *ret the front end's result. */
static void
answer_through(const struct mint_result *r, const char *fp, struct mint_result *ret)
{
	static unsigned char buf[PROTO_MAX_ANSWER];
	struct orderwire_answer oa;
	struct proto_msg m = { .type = PROTO_ANSWER, .id = 5 }, d;
	struct proto_fault f;
	size_t len;

	orderwire_put_result(r, fp, &oa);
	m.u.answer = oa.a;
	ck_assert_msg(proto_encode(&m, PROTO_MINTER, buf, sizeof(buf), &len, &f) == 0, "%s",
	    f.msg);
	ck_assert_msg(proto_decode(buf, len, PROTO_MINTER, &d, &f) == 0, "%s", f.msg);
	if (r->code == 0)
		ck_assert_str_eq(d.u.answer.r.mint.fingerprint, fp);
	memset(ret, 0x5a, sizeof(*ret));
	ck_assert_int_eq(orderwire_get_result(&d.u.answer, ret), 0);
	/* The token was copied out: the buffer is the reader's to wipe. */
	explicit_bzero(buf, len);
}

START_TEST(test_result_roundtrip)
{
	static const char tok[] = "eyJhbGciOiJFZERTQSJ9.e30.c2ln";
	struct mint_result r = { .code = 0, .id = WID, .issued_at = 1800000000,
	    .expires_at = 1800000600 }, back;

	ck_assert_ptr_nonnull(r.token = secret_dup(tok, strlen(tok)));
	answer_through(&r, FP, &back);
	ck_assert_int_eq(back.code, 0);
	ck_assert_str_eq(back.err, "");
	ck_assert_int_eq(back.retry_after, 0);
	ck_assert_str_eq(back.id, WID);
	ck_assert_int_eq(back.issued_at, r.issued_at);
	ck_assert_int_eq(back.expires_at, r.expires_at);
	ck_assert_ptr_nonnull(back.token);
	ck_assert_ptr_ne(back.token, r.token);
	ck_assert_uint_eq(back.token->len, strlen(tok));
	ck_assert(memcmp(back.token->data, tok, strlen(tok)) == 0);
	secret_free(back.token);
	secret_free(r.token);

	/* An error: its code, message and wait. */
	r = (struct mint_result){ .code = WRIT_EUPLIMIT, .retry_after = 60 };
	strcpy(r.err, "GitHub said: wait a minute");
	answer_through(&r, NULL, &back);
	ck_assert_int_eq(back.code, WRIT_EUPLIMIT);
	ck_assert_str_eq(back.err, "GitHub said: wait a minute");
	ck_assert_int_eq(back.retry_after, 60);
	ck_assert_ptr_null(back.token);
	/* ... and one with the code's own message. */
	r = (struct mint_result){ .code = WRIT_EAUDIT };
	answer_through(&r, NULL, &back);
	ck_assert_int_eq(back.code, WRIT_EAUDIT);
	ck_assert_str_eq(back.err, "");
	ck_assert_ptr_null(back.token);
}
END_TEST

/* What an error may hold that the table refuses is made sendable: cut UTF-8, a long wait. */
START_TEST(test_result_made_sendable)
{
	struct mint_result r = { .code = WRIT_EUPLIMIT, .retry_after = 10 * 86400 }, back;
	struct orderwire_answer oa;

	/* snprintf cut an "é" in two at the end; a stray byte in the middle. */
	strcpy(r.err, "upstream said: caf\xc3");
	answer_through(&r, NULL, &back);
	ck_assert_str_eq(back.err, "upstream said: caf");
	ck_assert_int_eq(back.retry_after, PROTO_MAX_RETRY);
	strcpy(r.err, "ab\xff" "cd");
	r.retry_after = -3;
	answer_through(&r, NULL, &back);
	ck_assert_str_eq(back.err, "ab");
	ck_assert_int_eq(back.retry_after, 0);
	/* Whole characters stay. */
	strcpy(r.err, "démo ✓");
	answer_through(&r, NULL, &back);
	ck_assert_str_eq(back.err, "démo ✓");
	/* A success says nothing else, whatever r held. */
	r = (struct mint_result){ .code = 0, .retry_after = 5, .id = WID, .issued_at = 1,
	    .expires_at = 2 };
	strcpy(r.err, "stale");
	orderwire_put_result(&r, FP, &oa);
	ck_assert_str_eq(oa.a.message, "");
	ck_assert_uint_eq(oa.a.retry_after, 0);
}
END_TEST

/* A success the table cannot carry is refused by proto_encode, not sent half made. */
START_TEST(test_result_unsendable)
{
	static unsigned char buf[PROTO_MAX_ANSWER];
	struct mint_result r = { .code = 0, .id = WID, .issued_at = 1800000000,
	    .expires_at = 1800000600 };
	struct orderwire_answer oa;
	struct proto_msg m = { .type = PROTO_ANSWER, .id = 5 };
	struct proto_fault f;
	size_t len;

	/* No token. */
	orderwire_put_result(&r, FP, &oa);
	m.u.answer = oa.a;
	ck_assert_int_eq(proto_encode(&m, PROTO_MINTER, buf, sizeof(buf), &len, &f),
	    WRIT_EBADREQ);
	ck_assert_int_eq(f.code, PROTO_FBOUND);
	/* No fingerprint, one a digit too long, one too short: none is copied. */
	ck_assert_ptr_nonnull(r.token = secret_dup("t", 1));
	orderwire_put_result(&r, NULL, &oa);
	m.u.answer = oa.a;
	ck_assert_int_eq(proto_encode(&m, PROTO_MINTER, buf, sizeof(buf), &len, &f),
	    WRIT_EBADREQ);
	ck_assert_int_eq(f.code, PROTO_FFORM);
	orderwire_put_result(&r, FP "0", &oa);
	m.u.answer = oa.a;
	ck_assert_int_eq(proto_encode(&m, PROTO_MINTER, buf, sizeof(buf), &len, &f),
	    WRIT_EBADREQ);
	ck_assert_int_eq(f.code, PROTO_FFORM);
	{
		char *shorter = strdup("ffee");	/* on the heap: ASan sees a read past it */

		ck_assert_ptr_nonnull(shorter);
		orderwire_put_result(&r, shorter, &oa);
		free(shorter);
		ck_assert_str_eq(oa.a.r.mint.fingerprint, "");
	}
	/* ... and the token written before it refused is not left in the buffer. */
	for (size_t i = 0; i < 4096; i++)
		ck_assert_msg(buf[i] == 0, "byte %zu left behind", i);
	/* No writ id. */
	r.id[0] = '\0';
	orderwire_put_result(&r, FP, &oa);
	m.u.answer = oa.a;
	ck_assert_int_eq(proto_encode(&m, PROTO_MINTER, buf, sizeof(buf), &len, &f),
	    WRIT_EBADREQ);
	ck_assert_int_eq(f.code, PROTO_FFORM);
	secret_free(r.token);
}
END_TEST

/* The answer of another request is no mint_result; *ret untouched. */
START_TEST(test_result_get_refused)
{
	struct proto_answer a = { .of = PROTO_REVOKE_TOKEN, .code = 0, .message = "" };
	struct mint_result r, untouched;

	memset(&r, 0x5a, sizeof(r));
	untouched = r;
	strcpy(a.r.writ, WID);
	ck_assert_int_eq(orderwire_get_result(&a, &r), WRIT_EBADREQ);
	ck_assert(memcmp(&r, &untouched, sizeof(r)) == 0);
}
END_TEST

Suite *
orderwire_suite(void)
{
	Suite *s = suite_create("orderwire");
	TCase *tc = tcase_create("orderwire");

	tcase_add_test(tc, test_order_roundtrip);
	tcase_add_test(tc, test_order_live_capped);
	tcase_add_test(tc, test_order_put_refused);
	tcase_add_test(tc, test_order_get_refused);
	tcase_add_test(tc, test_order_get_canonical);
	tcase_add_test(tc, test_result_roundtrip);
	tcase_add_test(tc, test_result_made_sendable);
	tcase_add_test(tc, test_result_unsendable);
	tcase_add_test(tc, test_result_get_refused);
	suite_add_tcase(s, tc);
	return s;
}
