/*
 * orderwire.h - a MINT order and its answer, to and from the request table.
 *
 * minter.h's MINT takes a struct mint_order (jansson values) and answers
 * a struct mint_result (a struct secret); the request table (proto.h)
 * carries texts, numbers and views.  These converters are all that lies
 * between, one per direction and side:
 *
 *	front end	mint_order  -> proto_mint	orderwire_put_order
 *	minter		proto_mint  -> mint_order	orderwire_get_order
 *	minter		mint_result -> ANSWER		orderwire_put_result
 *	front end	ANSWER      -> mint_result	orderwire_get_result
 *
 * They move fields and nothing more: whether an order may be minted is
 * order_check's (order.h), whether a message may be sent proto_encode's.
 * The one thing checked here is what only here can be: the JSON texts of
 * a MINT the minter reads (scope, claims, identity) are parsed strictly
 * (sjson.h: no duplicate key, no NUL, bounded depth and size) and must be
 * objects, and the scope's text must be the one text orderwire_put_order
 * writes of it (compact, keys sorted).  Pure: jansson, sjson, jdump and
 * secret; no writd global.
 */
#ifndef WRIT_ORDERWIRE_H
#define WRIT_ORDERWIRE_H

#include <jansson.h>

#include "errors.h"
#include "minter.h"
#include "proto.h"

/* A MINT to send: m, whose JSON texts this owns. */
struct orderwire_mint {
	struct proto_mint m;
	char *scope, *claims, *identity;	/* jdump's; NULL: none */
};

/*
 * o as a MINT's fields (the front end's side): the JSON values as compact
 * text with sorted keys, NULL ones as empty texts, the live counts capped
 * at PROTO_MAX_LIVE (policy decides alike past it).  ret's texts but the
 * JSON ones point into o, which must outlive ret.  Returns 0, or
 * WRIT_EBADREQ with a message (no scope, a session id that is not one, a
 * negative pid, a pid_start past INT64_MAX: what the wire cannot carry),
 * or WRIT_ENOMEM; on error ret holds nothing to free.
 */
int orderwire_put_order(const struct mint_order *o, struct orderwire_mint *ret,
    char err[WRIT_ERRLEN]);

/* Free what orderwire_put_order made; a zeroed w is fine. */
void orderwire_mint_free(struct orderwire_mint *w);

/*
 * A MINT received: o as minter_mint takes it, and what it owns.  NB. o
 * points into it: not to be copied by value.
 */
struct orderwire_order {
	struct mint_order o;
	json_t *scope, *claims, *identity;	/* o's; NULL: none */
	char session_id[WRIT_ID_LEN + 1];	/* o.session_id points here */
};

/*
 * The order m (decoded by proto_decode from the front end: every field
 * within its rule) carries (the minter's side): its JSON texts parsed
 * strictly, each an object, the scope's in its canonical text; empty
 * texts as NULL.  ret's other strings are m's views into the buffer m
 * was decoded from, which must outlive ret (m itself need not).  Returns
 * 0, or WRIT_EBADREQ with a message naming the field (out of memory
 * while parsing counts as a bad text); on error ret holds nothing to
 * free.
 */
int orderwire_get_order(const struct proto_mint *m, struct orderwire_order *ret,
    char err[WRIT_ERRLEN]);

/* Drop what orderwire_get_order parsed; a zeroed w is fine. */
void orderwire_order_free(struct orderwire_order *w);

/* An ANSWER to a MINT to send: a, whose message this holds. */
struct orderwire_answer {
	struct proto_answer a;
	char message[WRIT_ERRLEN];
};

/*
 * r as the ANSWER of a MINT (the minter's side), with fingerprint (the
 * token's keyed fingerprint, as audited: mint_result has none) on a
 * success.  A success carries no message or wait; an error its message,
 * cut before any byte that is not valid UTF-8 (snprintf may have cut a
 * character in two), and its wait within 0..PROTO_MAX_RETRY.  The token
 * is a view of r's (secret: whoever encodes it wipes the buffer); r must
 * outlive ret.  Never fails: what r holds that the table refuses (a
 * success without a token, a bad id) proto_encode refuses.
 */
void orderwire_put_result(const struct mint_result *r, const char *fingerprint,
    struct orderwire_answer *ret);

/*
 * ANSWER a, of a MINT (the front end's side), as a mint_result: the
 * token copied into a new secret (the caller's to secret_free; a's
 * buffer is the caller's to wipe).  The fingerprint is dropped.  Returns
 * 0, or WRIT_EBADREQ (an answer of another type), or WRIT_ENOMEM; *ret
 * is written only on success.
 */
int orderwire_get_result(const struct proto_answer *a, struct mint_result *ret);

#endif
