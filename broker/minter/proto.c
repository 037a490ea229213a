/*
 * proto.c - the front end's and the minter's messages: one table of
 * fields per type (proto.h says what each is), walked by one encoder and
 * one decoder, so that the two cannot disagree on an order or a rule.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "id.h"
#include "proto.h"

/* Field types on the wire (proto.h). */
enum {
	F_U32,
	F_I64,
	F_CODE,		/* an i64 on the wire: 0 or an errors.h code, kept as int */
	F_TEXT,
	F_BLOB,
	F_HEX32,
};

/* A text's form beyond UTF-8 and its bounds. */
enum {
	T_UTF8,
	T_WORD,		/* [a-z0-9_] */
	T_OPTID,	/* empty or an id */
	T_SECRET,	/* secret_name_valid */
	T_PATH,		/* empty or absolute */
	T_HEX,		/* lower-case hex digits */
	T_WORKSPACE,	/* empty, or '/' and printable ASCII */
	T_EXE,		/* '/' and printable ASCII, or WRIT_EXE_UNVERIFIED */
	T_PEXE,		/* '/' and printable ASCII, or "?" */
	T_SHOWN,	/* printable ASCII */
	T_END,		/* "expired" or "revoked" */
};

struct field {
	const char *name;
	unsigned char type;	/* F_* */
	unsigned char form;	/* T_*, for F_TEXT */
	size_t off;		/* where it lives in struct proto_msg */
	int64_t min, max;	/* an integer's range; a text's or blob's length */
};

#define AT(member) offsetof(struct proto_msg, u.member)
#define U32(n, m, lo, hi)	{ n, F_U32, 0, AT(m), lo, hi }
#define I64(n, m, lo, hi)	{ n, F_I64, 0, AT(m), lo, hi }
#define TEXT(n, m, lo, hi, t)	{ n, F_TEXT, t, AT(m), lo, hi }
#define BLOB(n, m, lo, hi)	{ n, F_BLOB, 0, AT(m), lo, hi }
#define HEX32(n, m)		{ n, F_HEX32, 0, AT(m), WRIT_ID_LEN, WRIT_ID_LEN }

static const struct field hello_f[] = {
	U32("version", hello.version, 0, UINT32_MAX),	/* checked against ours: FVERSION */
};
static const struct field mint_f[] = {
	TEXT("kind", mint.kind, 1, PROTO_MAX_KIND, T_WORD),
	TEXT("scope", mint.scope, 2, PROTO_MAX_JSON, T_UTF8),
	I64("ttl", mint.ttl, 1, PROTO_MAX_TTL),
	TEXT("name", mint.name, 1, PROTO_MAX_SESSION_NAME, T_UTF8),
	TEXT("workspace", mint.workspace, 0, PROTO_MAX_WORKSPACE, T_WORKSPACE),
	U32("uid", mint.uid, 0, UINT32_MAX - 1),
	TEXT("exe", mint.exe, 1, PROTO_MAX_EXE, T_EXE),
	U32("live", mint.live, 0, PROTO_MAX_LIVE),
	U32("live_kind", mint.live_kind, 0, PROTO_MAX_LIVE),	/* and <= live: check_message */
	TEXT("claims", mint.claims, 0, PROTO_MAX_JSON, T_UTF8),
	I64("cap", mint.cap, 0, PROTO_MAX_TIME),
	HEX32("session", mint.session),
	U32("pid", mint.pid, 0, PROTO_MAX_PID),
	I64("pid_start", mint.pid_start, 0, INT64_MAX),
	TEXT("approval", mint.approval, 0, WRIT_ID_LEN, T_OPTID),
	TEXT("identity", mint.identity, 0, PROTO_MAX_JSON, T_UTF8),
};
static const struct field minted_f[] = {
	HEX32("writ", answer.r.mint.writ),
	BLOB("token", answer.r.mint.token, 1, PROTO_MAX_TOKEN),
	I64("issued_at", answer.r.mint.issued_at, 1, PROTO_MAX_TIME),
	I64("expires_at", answer.r.mint.expires_at, 1, PROTO_MAX_TIME),
	HEX32("fingerprint", answer.r.mint.fingerprint),
};
static const struct field revoke_f[] = {
	HEX32("writ", revoke.writ),
	TEXT("reason", revoke.reason, 1, PROTO_MAX_REASON, T_UTF8),
};
static const struct field revoke_token_f[] = {
	TEXT("session", revoke_token.session, 0, WRIT_ID_LEN, T_OPTID),
	BLOB("token", revoke_token.token, 1, PROTO_MAX_TOKEN),
};
static const struct field revoked_f[] = {
	HEX32("writ", answer.r.writ),
};
static const struct field public_keys_f[] = {
	TEXT("kind", public_keys.kind, 1, PROTO_MAX_KIND, T_WORD),
};
static const struct field json_f[] = {
	TEXT("json", answer.r.json, 1, PROTO_MAX_ANSWER_TEXT, T_UTF8),
};
static const struct field throttled_f[] = {
	TEXT("kind", throttled.kind, 1, PROTO_MAX_KIND, T_WORD),
	TEXT("scope", throttled.scope, 2, PROTO_MAX_JSON, T_UTF8),
};
static const struct field audit_append_f[] = {
	TEXT("event", audit_append.event, 1, PROTO_MAX_WORD, T_WORD),
	TEXT("fields", audit_append.fields, 2, PROTO_MAX_JSON, T_UTF8),
};
static const struct field seq_f[] = {
	I64("seq", answer.r.seq, 1, INT64_MAX),
};
static const struct field audit_tail_f[] = {
	U32("n", audit_tail.n, 0, PROTO_MAX_TAIL),
	TEXT("session", audit_tail.session, 0, WRIT_ID_LEN, T_OPTID),
	I64("after", audit_tail.after, 0, INT64_MAX),
	I64("before", audit_tail.before, 0, INT64_MAX),
};
static const struct field tailed_f[] = {
	TEXT("json", answer.r.tail.json, 2, PROTO_MAX_ANSWER_TEXT, T_UTF8),
	I64("more", answer.r.tail.more, 0, INT64_MAX),
};
static const struct field audit_verify_f[] = {
	TEXT("file", audit_verify.file, 0, PROTO_MAX_PATH, T_PATH),
	TEXT("checkpoint", audit_verify.checkpoint, 0, PROTO_MAX_JSON, T_UTF8),
};
static const struct field verified_f[] = {
	TEXT("json", answer.r.json, 2, PROTO_MAX_ANSWER_TEXT, T_UTF8),
};
static const struct field audit_rotate_f[] = {
	TEXT("why", audit_rotate.why, 1, PROTO_MAX_WORD, T_WORD),
};
static const struct field audit_key_a[] = {
	TEXT("key", answer.r.key, 64, 64, T_HEX),
};
static const struct field secret_put_f[] = {
	TEXT("name", secret_put.name, 1, WRIT_MAX_SECRET_NAME, T_SECRET),
	BLOB("value", secret_put.value, 0, PROTO_MAX_SECRET),
};
static const struct field secret_del_f[] = {
	TEXT("name", secret_del.name, 1, WRIT_MAX_SECRET_NAME, T_SECRET),
};
static const struct field peer_f[] = {
	U32("pid", peer.pid, 1, PROTO_MAX_PID),
	U32("uid", peer.uid, 0, UINT32_MAX - 1),
};
static const struct field peered_f[] = {
	TEXT("exe", answer.r.peer.exe, 1, PROTO_MAX_EXE, T_PEXE),
	TEXT("cwd", answer.r.peer.cwd, 1, PROTO_MAX_CWD, T_SHOWN),
	U32("other_userns", answer.r.peer.other_userns, 0, 1),
};
/* An ANSWER's generic part; then, on success, the answered type's fields. */
static const struct field answer_f[] = {
	U32("of", answer.of, 1, PROTO_NTYPES - 1),
	{ "code", F_CODE, 0, AT(answer.code), INT_MIN, 0 },
	TEXT("message", answer.message, 0, PROTO_MAX_MESSAGE, T_UTF8),
	U32("retry_after", answer.retry_after, 0, PROTO_MAX_RETRY),
};
static const struct field durable_f[] = {
	I64("seq", durable.seq, 1, INT64_MAX),
};
static const struct field ended_f[] = {
	HEX32("writ", ended.writ),
	TEXT("event", ended.event, 1, PROTO_MAX_WORD, T_END),
};
static const struct field fatal_f[] = {
	TEXT("why", fatal.why, 1, PROTO_MAX_MESSAGE, T_UTF8),
};

static const struct field restored_f[] = {
	HEX32("writ", restored.writ),
	HEX32("session", restored.session),
	TEXT("name", restored.name, 1, PROTO_MAX_SESSION_NAME, T_UTF8),
	TEXT("kind", restored.kind, 1, PROTO_MAX_KIND, T_WORD),
	TEXT("scope", restored.scope, 2, PROTO_MAX_JSON, T_UTF8),
	I64("issued_at", restored.issued_at, 1, PROTO_MAX_TIME),
	I64("expires_at", restored.expires_at, 1, PROTO_MAX_TIME),	/* >= issued_at */
	U32("pid", restored.pid, 0, PROTO_MAX_PID),
	I64("pid_start", restored.pid_start, 0, INT64_MAX),
	U32("same_boot", restored.same_boot, 0, 1),
};

struct type {
	const char *name;
	unsigned int from;		/* PROTO_FRONT, PROTO_MINTER or both */
	bool request;			/* F->M, answered by an ANSWER of its id */
	const struct field *f;		/* its fields, in order */
	size_t nf;
	const struct field *a;		/* a request: what its ANSWER carries on success */
	size_t na;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FIELDS(a) a, N(a)
#define NONE NULL, 0
#define BOTH (PROTO_FRONT | PROTO_MINTER)

static const struct type types[PROTO_NTYPES] = {
	[PROTO_HELLO] = { "HELLO", BOTH, false, FIELDS(hello_f), NONE },
	[PROTO_MINT] = { "MINT", PROTO_FRONT, true, FIELDS(mint_f), FIELDS(minted_f) },
	[PROTO_REVOKE] = { "REVOKE", PROTO_FRONT, true, FIELDS(revoke_f), NONE },
	[PROTO_REVOKE_TOKEN] = { "REVOKE_TOKEN", PROTO_FRONT, true, FIELDS(revoke_token_f),
	    FIELDS(revoked_f) },
	[PROTO_PUBLIC_KEYS] = { "PUBLIC_KEYS", PROTO_FRONT, true, FIELDS(public_keys_f),
	    FIELDS(json_f) },
	[PROTO_THROTTLED] = { "THROTTLED", PROTO_FRONT, true, FIELDS(throttled_f), NONE },
	[PROTO_AUDIT_APPEND] = { "AUDIT_APPEND", PROTO_FRONT, true, FIELDS(audit_append_f),
	    FIELDS(seq_f) },
	[PROTO_AUDIT_TAIL] = { "AUDIT_TAIL", PROTO_FRONT, true, FIELDS(audit_tail_f),
	    FIELDS(tailed_f) },
	[PROTO_AUDIT_VERIFY] = { "AUDIT_VERIFY", PROTO_FRONT, true, FIELDS(audit_verify_f),
	    FIELDS(verified_f) },
	[PROTO_AUDIT_ROTATE] = { "AUDIT_ROTATE", PROTO_FRONT, true, FIELDS(audit_rotate_f),
	    FIELDS(seq_f) },
	[PROTO_AUDIT_KEY] = { "AUDIT_KEY", PROTO_FRONT, true, NONE, FIELDS(audit_key_a) },
	[PROTO_SECRET_PUT] = { "SECRET_PUT", PROTO_FRONT, true, FIELDS(secret_put_f), NONE },
	[PROTO_SECRET_DEL] = { "SECRET_DEL", PROTO_FRONT, true, FIELDS(secret_del_f), NONE },
	[PROTO_SECRET_LIST] = { "SECRET_LIST", PROTO_FRONT, true, NONE, FIELDS(verified_f) },
	[PROTO_RESTORE] = { "RESTORE", PROTO_FRONT, true, NONE, NONE },
	[PROTO_EXPIRE] = { "EXPIRE", PROTO_FRONT, true, NONE, NONE },
	[PROTO_RELOAD] = { "RELOAD", PROTO_FRONT, true, NONE, NONE },
	[PROTO_STOP] = { "STOP", PROTO_FRONT, true, NONE, NONE },
	[PROTO_PEER] = { "PEER", PROTO_FRONT, true, FIELDS(peer_f), FIELDS(peered_f) },
	[PROTO_ANSWER] = { "ANSWER", PROTO_MINTER, false, FIELDS(answer_f), NONE },
	[PROTO_DURABLE] = { "DURABLE", PROTO_MINTER, false, FIELDS(durable_f), NONE },
	[PROTO_ENDED] = { "ENDED", PROTO_MINTER, false, FIELDS(ended_f), NONE },
	[PROTO_FATAL] = { "FATAL", PROTO_MINTER, false, FIELDS(fatal_f), NONE },
	[PROTO_RESTORED] = { "RESTORED", PROTO_MINTER, false, FIELDS(restored_f), NONE },
};

/* Is type one of the table's? */
static bool
known(uint32_t type)
{
	return type > 0 && type < PROTO_NTYPES;
}

/* Fill *f (when not NULL) and return code, a PROTO_F*. */
static int __attribute__((format(printf, 4, 5)))
refuse(struct proto_fault *f, int code, size_t at, const char *fmt, ...)
{
	va_list ap;

	if (f != NULL) {
		f->code = code;
		f->at = at;
		va_start(ap, fmt);
		vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* The errors.h code for a fault. */
static int
writ_code(int fault)
{
	return fault == PROTO_FTOOBIG ? WRIT_ETOOBIG : WRIT_EBADREQ;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* Two's complement without implementation-defined conversions. */
static int64_t
to_signed(uint64_t u)
{
	return u <= INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
}

/* RFC 3629 UTF-8: no overlong form, no surrogate, nothing above U+10FFFF. */
size_t
proto_utf8_span(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp, min;
		size_t more;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			more = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			more = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			more = 3, cp = c & 0x07, min = 0x10000;
		} else
			return i;
		if (n - i - 1 < more)
			return i;
		for (size_t k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += more + 1;
	}
	return n;
}

/* Only printable ASCII in s[0..n): what the approver and the logs are shown. */
static bool
printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool
hex_only(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/*
 * Check text s of n bytes (s[n] is its NUL) against field fd of type t.
 * Returns PROTO_FOK or the fault, filled in.
 */
static int
check_text(const struct field *fd, const char *t, const char *s, size_t n, size_t at,
    struct proto_fault *f)
{
	bool ok;

	if ((int64_t)n < fd->min || (int64_t)n > fd->max)
		return refuse(f, PROTO_FBOUND, at, "%s: '%s' is %zu bytes, not %lld..%lld",
		    t, fd->name, n, (long long)fd->min, (long long)fd->max);
	if (memchr(s, '\0', n) != NULL)
		return refuse(f, PROTO_FNUL, at, "%s: '%s' holds a NUL", t, fd->name);
	if (proto_utf8_span(s, n) != n)
		return refuse(f, PROTO_FUTF8, at, "%s: '%s' is not valid UTF-8", t, fd->name);
	switch (fd->form) {
	case T_WORD:
		ok = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
		break;
	case T_OPTID:
		ok = n == 0 || id_valid(s);
		break;
	case T_SECRET:
		ok = secret_name_valid(s);
		break;
	case T_PATH:
		ok = n == 0 || s[0] == '/';
		break;
	case T_HEX:
		ok = hex_only(s, n);
		break;
	case T_WORKSPACE:
		ok = n == 0 || (s[0] == '/' && printable(s, n));
		break;
	case T_EXE:
		ok = (n > 0 && s[0] == '/' && printable(s, n)) ||
		    strcmp(s, WRIT_EXE_UNVERIFIED) == 0;
		break;
	case T_PEXE:
		ok = (s[0] == '/' && printable(s, n)) || strcmp(s, "?") == 0;
		break;
	case T_SHOWN:
		ok = printable(s, n);
		break;
	case T_END:
		ok = strcmp(s, "expired") == 0 || strcmp(s, "revoked") == 0;
		break;
	default:
		ok = true;
	}
	if (!ok)
		return refuse(f, PROTO_FFORM, at, "%s: '%s' is not of its form", t, fd->name);
	return PROTO_FOK;
}

/* Check integer v against field fd of type t. */
static int
check_int(const struct field *fd, const char *t, int64_t v, size_t at, struct proto_fault *f)
{
	if (v < fd->min || v > fd->max ||
	    (fd->type == F_CODE && v != 0 && errors_lookup((int)v)->code != v))
		return refuse(f, PROTO_FRANGE, at, "%s: '%s' is %lld, out of its range", t,
		    fd->name, (long long)v);
	return PROTO_FOK;
}

/* Check the 32 bytes at s of hex32 field fd. */
static int
check_hex32(const struct field *fd, const char *t, const char *s, size_t at,
    struct proto_fault *f)
{
	if (!hex_only(s, WRIT_ID_LEN))
		return refuse(f, PROTO_FFORM, at, "%s: '%s' is not %d lower-case hex digits",
		    t, fd->name, WRIT_ID_LEN);
	return PROTO_FOK;
}

/* Checks across fields, once all are read or before any is written. */
static int
check_message(const struct proto_msg *m, size_t at, struct proto_fault *f)
{
	const struct proto_answer *a = &m->u.answer;

	switch (m->type) {
	case PROTO_HELLO:
		if (m->u.hello.version != PROTO_VERSION)
			return refuse(f, PROTO_FVERSION, at, "HELLO: the peer speaks version %u, "
			    "this is version %d", m->u.hello.version, PROTO_VERSION);
		break;
	case PROTO_MINT:
		/* NB. one of a kind is one of the session's: policy counts both. */
		if (m->u.mint.live_kind > m->u.mint.live)
			return refuse(f, PROTO_FRANGE, at, "MINT: live_kind (%u) is over live (%u)",
			    m->u.mint.live_kind, m->u.mint.live);
		break;
	case PROTO_RESTORED:
		if (m->u.restored.expires_at < m->u.restored.issued_at)
			return refuse(f, PROTO_FRANGE, at, "RESTORED: expires_at is before "
			    "issued_at");
		break;
	case PROTO_ANSWER:
		if (a->code == 0 && a->of == PROTO_MINT &&
		    a->r.mint.expires_at < a->r.mint.issued_at)
			return refuse(f, PROTO_FRANGE, at, "ANSWER of MINT: expires_at is before "
			    "issued_at");
		break;
	}
	return PROTO_FOK;
}

/* The generic part of ANSWER m: which fields follow it, if any. */
static int
answer_rest(const struct proto_msg *m, size_t at, const struct field **ret_f, size_t *ret_n,
    struct proto_fault *f)
{
	const struct proto_answer *a = &m->u.answer;

	if (!types[a->of].request)
		return refuse(f, PROTO_FTYPE, at, "ANSWER: of %s, which is no request",
		    types[a->of].name);
	if (a->code == 0 && ((a->message != NULL && a->message[0] != '\0') ||
	    a->retry_after != 0))
		return refuse(f, PROTO_FANSWER, at, "ANSWER of %s: a success with a message "
		    "or a retry_after", types[a->of].name);
	*ret_f = a->code == 0 ? types[a->of].a : NULL;
	*ret_n = a->code == 0 ? types[a->of].na : 0;
	return PROTO_FOK;
}

/* A message being read: buf[0..len), len the header's length. */
struct reading {
	const unsigned char *buf;
	size_t len, off;
	const char *t;		/* the type's name, for messages */
};

/* Are n more bytes there?  Else the field runs past the length. */
static int
need(struct reading *rd, const struct field *fd, size_t n, struct proto_fault *f)
{
	if (rd->len - rd->off < n)
		return refuse(f, PROTO_FLENGTH, rd->off, "%s: '%s' runs past the message's "
		    "length (%zu)", rd->t, fd->name, rd->len);
	return PROTO_FOK;
}

/* Read field fd into m. */
static int
get_field(struct reading *rd, const struct field *fd, struct proto_msg *m,
    struct proto_fault *f)
{
	unsigned char *to = (unsigned char *)m + fd->off;
	size_t at = rd->off, n;
	int64_t v;
	int r;

	switch (fd->type) {
	case F_U32:
		if ((r = need(rd, fd, 4, f)) != 0)
			return r;
		v = get32(rd->buf + rd->off);
		if ((r = check_int(fd, rd->t, v, at, f)) != 0)
			return r;
		*(uint32_t *)(void *)to = (uint32_t)v;
		rd->off += 4;
		return PROTO_FOK;
	case F_I64:
	case F_CODE:
		if ((r = need(rd, fd, 8, f)) != 0)
			return r;
		v = to_signed(get64(rd->buf + rd->off));
		if ((r = check_int(fd, rd->t, v, at, f)) != 0)
			return r;
		if (fd->type == F_CODE)
			*(int *)(void *)to = (int)v;
		else
			*(int64_t *)(void *)to = v;
		rd->off += 8;
		return PROTO_FOK;
	case F_TEXT:
	case F_BLOB:
		if ((r = need(rd, fd, 4, f)) != 0)
			return r;
		n = get32(rd->buf + rd->off);
		/* NB. bounds first: a length of 4 GiB is refused by its value alone. */
		if ((int64_t)n < fd->min || (int64_t)n > fd->max)
			return refuse(f, PROTO_FBOUND, at, "%s: '%s' is %zu bytes, not %lld..%lld",
			    rd->t, fd->name, n, (long long)fd->min, (long long)fd->max);
		rd->off += 4;
		if (fd->type == F_BLOB) {
			if ((r = need(rd, fd, n, f)) != 0)
				return r;
			((struct proto_blob *)(void *)to)->data = rd->buf + rd->off;
			((struct proto_blob *)(void *)to)->len = n;
			rd->off += n;
			return PROTO_FOK;
		}
		if ((r = need(rd, fd, n + 1, f)) != 0)
			return r;
		/* The NUL after the text is what makes the view a C string. */
		if (rd->buf[rd->off + n] != '\0')
			return refuse(f, PROTO_FNUL, rd->off + n, "%s: '%s' is not followed by "
			    "a NUL", rd->t, fd->name);
		if ((r = check_text(fd, rd->t, (const char *)rd->buf + rd->off, n, at, f)) != 0)
			return r;
		*(const char **)(void *)to = (const char *)rd->buf + rd->off;
		rd->off += n + 1;
		return PROTO_FOK;
	case F_HEX32:
		if ((r = need(rd, fd, WRIT_ID_LEN, f)) != 0 ||
		    (r = check_hex32(fd, rd->t, (const char *)rd->buf + rd->off, at, f)) != 0)
			return r;
		memcpy(to, rd->buf + rd->off, WRIT_ID_LEN);
		to[WRIT_ID_LEN] = '\0';
		rd->off += WRIT_ID_LEN;
		return PROTO_FOK;
	}
	return refuse(f, PROTO_FTYPE, at, "%s: '%s' has no wire type", rd->t, fd->name);
}

static int
get_fields(struct reading *rd, const struct field *fds, size_t n, struct proto_msg *m,
    struct proto_fault *f)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = get_field(rd, &fds[i], m, f)) != 0)
			return r;
	return PROTO_FOK;
}

/*
 * The header of buf[0..len), sent by from: its length, version, type and
 * id.  Returns PROTO_FOK with the type's entry, or the fault.
 */
static int
get_header(const unsigned char *buf, size_t len, unsigned int from, struct proto_msg *m,
    struct proto_fault *f)
{
	size_t length, max = proto_max(from);
	uint32_t version;
	const struct type *ty;

	if (max == 0)
		return refuse(f, PROTO_FDIRECTION, 0, "no such side: %u", from);
	/* NB. a length is judged before the bytes it announces are missed. */
	if (len >= 4) {
		length = get32(buf);
		if (length < PROTO_HEADER)
			return refuse(f, PROTO_FLENGTH, 0, "length %zu is shorter than the "
			    "header", length);
		if (length > max)
			return refuse(f, PROTO_FTOOBIG, 0, "length %zu is over the %zu bytes "
			    "this side may send", length, max);
	}
	if (len < PROTO_HEADER || len < get32(buf))
		return refuse(f, PROTO_FTRUNCATED, len, "the message is cut short at %zu "
		    "bytes", len);
	length = get32(buf);
	if (len > length)
		return refuse(f, PROTO_FLENGTH, length, "%zu bytes follow a message of "
		    "length %zu", len - length, length);
	if ((version = get32(buf + 4)) != PROTO_VERSION)
		return refuse(f, PROTO_FVERSION, 4, "the peer speaks version %u, this is "
		    "version %d", version, PROTO_VERSION);
	m->type = get32(buf + 8);
	m->id = get32(buf + 12);
	if (!known(m->type))
		return refuse(f, PROTO_FTYPE, 8, "no message has type %u", m->type);
	ty = &types[m->type];
	if ((ty->from & from) == 0)
		return refuse(f, PROTO_FDIRECTION, 8, "%s is not sent by the %s", ty->name,
		    from == PROTO_FRONT ? "front end" : "minter");
	if ((m->id == 0) != (m->type != PROTO_ANSWER && !ty->request))
		return refuse(f, PROTO_FID, 12, "%s with request id %u", ty->name, m->id);
	return PROTO_FOK;
}

int
proto_decode(const void *buf, size_t len, unsigned int from, struct proto_msg *ret,
    struct proto_fault *fault)
{
	struct reading rd = { .buf = buf, .len = len, .off = PROTO_HEADER };
	const struct field *rest;
	struct proto_msg m;
	size_t nrest;
	int r;

	memset(&m, 0, sizeof(m));
	if ((r = get_header(buf, len, from, &m, fault)) != 0)
		return writ_code(r);
	rd.t = types[m.type].name;
	if ((r = get_fields(&rd, types[m.type].f, types[m.type].nf, &m, fault)) != 0)
		return writ_code(r);
	if (m.type == PROTO_ANSWER &&
	    ((r = answer_rest(&m, rd.off, &rest, &nrest, fault)) != 0 ||
	    (r = get_fields(&rd, rest, nrest, &m, fault)) != 0))
		return writ_code(r);
	if (rd.off != rd.len) {
		r = refuse(fault, PROTO_FTRAILING, rd.off, "%s: %zu bytes after its last field",
		    rd.t, rd.len - rd.off);
		return writ_code(r);
	}
	if ((r = check_message(&m, rd.off, fault)) != 0)
		return writ_code(r);
	*ret = m;
	return 0;
}

/* A message being written into buf[0..size). */
struct writing {
	unsigned char *buf;
	size_t size, off;
	const char *t;
};

/* Room for n more bytes? */
static int
room(struct writing *wr, const struct field *fd, size_t n, struct proto_fault *f)
{
	if (wr->size - wr->off < n)
		return refuse(f, PROTO_FTOOBIG, wr->off, "%s: no room for '%s' in %zu bytes",
		    wr->t, fd->name, wr->size);
	return PROTO_FOK;
}

/* Write field fd of m, checked as get_field checks it. */
static int
put_field(struct writing *wr, const struct field *fd, const struct proto_msg *m,
    struct proto_fault *f)
{
	const unsigned char *from = (const unsigned char *)m + fd->off;
	size_t at = wr->off, n;
	const char *s;
	const struct proto_blob *b;
	int64_t v;
	int r;

	switch (fd->type) {
	case F_U32:
		v = *(const uint32_t *)(const void *)from;
		if ((r = check_int(fd, wr->t, v, at, f)) != 0 || (r = room(wr, fd, 4, f)) != 0)
			return r;
		put32(wr->buf + wr->off, (uint32_t)v);
		wr->off += 4;
		return PROTO_FOK;
	case F_I64:
	case F_CODE:
		v = fd->type == F_CODE ? *(const int *)(const void *)from :
		    *(const int64_t *)(const void *)from;
		if ((r = check_int(fd, wr->t, v, at, f)) != 0 || (r = room(wr, fd, 8, f)) != 0)
			return r;
		put64(wr->buf + wr->off, (uint64_t)v);
		wr->off += 8;
		return PROTO_FOK;
	case F_TEXT:
		/* NULL stands for the empty text (a field with nothing to say). */
		s = *(const char *const *)(const void *)from;
		if (s == NULL)
			s = "";
		n = strlen(s);
		if ((r = check_text(fd, wr->t, s, n, at, f)) != 0 ||
		    (r = room(wr, fd, 4 + n + 1, f)) != 0)
			return r;
		put32(wr->buf + wr->off, (uint32_t)n);
		memcpy(wr->buf + wr->off + 4, s, n + 1);
		wr->off += 4 + n + 1;
		return PROTO_FOK;
	case F_BLOB:
		b = (const struct proto_blob *)(const void *)from;
		if ((b->data == NULL && b->len > 0) || (int64_t)b->len < fd->min ||
		    (int64_t)b->len > fd->max)
			return refuse(f, PROTO_FBOUND, at, "%s: '%s' is %zu bytes, not %lld..%lld",
			    wr->t, fd->name, b->len, (long long)fd->min, (long long)fd->max);
		if ((r = room(wr, fd, 4 + b->len, f)) != 0)
			return r;
		put32(wr->buf + wr->off, (uint32_t)b->len);
		if (b->len > 0)
			memcpy(wr->buf + wr->off + 4, b->data, b->len);
		wr->off += 4 + b->len;
		return PROTO_FOK;
	case F_HEX32:
		/* NB. the struct's copy ends in a NUL; the wire's has none. */
		if (from[WRIT_ID_LEN] != '\0')
			return refuse(f, PROTO_FFORM, at, "%s: '%s' is not %d lower-case hex "
			    "digits", wr->t, fd->name, WRIT_ID_LEN);
		if ((r = check_hex32(fd, wr->t, (const char *)from, at, f)) != 0 ||
		    (r = room(wr, fd, WRIT_ID_LEN, f)) != 0)
			return r;
		memcpy(wr->buf + wr->off, from, WRIT_ID_LEN);
		wr->off += WRIT_ID_LEN;
		return PROTO_FOK;
	}
	return refuse(f, PROTO_FTYPE, at, "%s: '%s' has no wire type", wr->t, fd->name);
}

static int
put_fields(struct writing *wr, const struct field *fds, size_t n, const struct proto_msg *m,
    struct proto_fault *f)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if ((r = put_field(wr, &fds[i], m, f)) != 0)
			return r;
	return PROTO_FOK;
}

static int
encode(const struct proto_msg *m, unsigned int from, unsigned char *buf, size_t size,
    size_t *ret_len, struct proto_fault *f)
{
	struct writing wr = { .buf = buf, .off = PROTO_HEADER };
	const struct field *rest;
	const struct type *ty;
	size_t max = proto_max(from), nrest;
	int r;

	if (max == 0)
		return refuse(f, PROTO_FDIRECTION, 0, "no such side: %u", from);
	if (!known(m->type))
		return refuse(f, PROTO_FTYPE, 8, "no message has type %u", m->type);
	ty = &types[m->type];
	wr.t = ty->name;
	if ((ty->from & from) == 0)
		return refuse(f, PROTO_FDIRECTION, 8, "%s is not sent by the %s", ty->name,
		    from == PROTO_FRONT ? "front end" : "minter");
	if ((m->id == 0) != (m->type != PROTO_ANSWER && !ty->request))
		return refuse(f, PROTO_FID, 12, "%s with request id %u", ty->name, m->id);
	wr.size = size < max ? size : max;
	if (wr.size < PROTO_HEADER)
		return refuse(f, PROTO_FTOOBIG, 0, "no room for a header in %zu bytes", size);
	if ((r = check_message(m, PROTO_HEADER, f)) != 0 ||
	    (r = put_fields(&wr, ty->f, ty->nf, m, f)) != 0 ||
	    (m->type == PROTO_ANSWER &&
	    ((r = answer_rest(m, wr.off, &rest, &nrest, f)) != 0 ||
	    (r = put_fields(&wr, rest, nrest, m, f)) != 0))) {
		/* NB. a field refused after a token or a value: it is not left behind. */
		explicit_bzero(buf, wr.off);
		return r;
	}
	put32(buf, (uint32_t)wr.off);
	put32(buf + 4, PROTO_VERSION);
	put32(buf + 8, m->type);
	put32(buf + 12, m->id);
	*ret_len = wr.off;
	return PROTO_FOK;
}

int
proto_encode(const struct proto_msg *m, unsigned int from, unsigned char *buf, size_t size,
    size_t *ret_len, struct proto_fault *fault)
{
	int r = encode(m, from, buf, size, ret_len, fault);

	return r == PROTO_FOK ? 0 : writ_code(r);
}

size_t
proto_max(unsigned int from)
{
	return from == PROTO_FRONT ? PROTO_MAX_REQUEST : from == PROTO_MINTER ?
	    PROTO_MAX_ANSWER : 0;
}

/* The longest encoding of fields fds. */
static size_t
bound(const struct field *fds, size_t n)
{
	size_t b = 0;

	for (size_t i = 0; i < n; i++)
		switch (fds[i].type) {
		case F_U32:
			b += 4;
			break;
		case F_I64:
		case F_CODE:
			b += 8;
			break;
		case F_TEXT:
			b += 4 + (size_t)fds[i].max + 1;
			break;
		case F_BLOB:
			b += 4 + (size_t)fds[i].max;
			break;
		case F_HEX32:
			b += WRIT_ID_LEN;
			break;
		}
	return b;
}

size_t
proto_bound(uint32_t type)
{
	size_t b, most = 0;

	if (!known(type))
		return 0;
	b = PROTO_HEADER + bound(types[type].f, types[type].nf);
	if (type == PROTO_ANSWER)
		for (uint32_t t = 1; t < PROTO_NTYPES; t++)
			if (types[t].request && bound(types[t].a, types[t].na) > most)
				most = bound(types[t].a, types[t].na);
	return b + most;
}

const char *
proto_type_name(uint32_t type)
{
	return known(type) ? types[type].name : "?";
}

int
proto_reader_init(struct proto_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	if (max < PROTO_HEADER)
		return WRIT_EINTERNAL;
	/* NB. zeroed: what lies past len is always zero, wiped or never used. */
	if ((r->buf = calloc(1, max)) == NULL)
		return WRIT_ENOMEM;
	r->size = max;
	return 0;
}

void
proto_reader_free(struct proto_reader *r)
{
	if (r->buf != NULL) {
		explicit_bzero(r->buf, r->size);
		free(r->buf);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * Drop the message last handed out and wipe it.  NB. no memmove here: a
 * read may bring thousands of messages, and moving the rest down after
 * each would cost the square of them.
 */
static void
drop(struct proto_reader *r)
{
	if (r->taken == 0)
		return;
	explicit_bzero(r->buf + r->head, r->taken);
	r->head += r->taken;
	r->len -= r->taken;
	r->taken = 0;
	if (r->len == 0)
		r->head = 0;
}

int
proto_reader_read(struct proto_reader *r, int fd)
{
	ssize_t n;

	drop(r);
	if (r->broken != 0)
		return writ_code(r->broken);
	if (r->head + r->len == r->size && r->head > 0) {
		/* What is held moves to the front, once, when the end is reached. */
		memmove(r->buf, r->buf + r->head, r->len);
		explicit_bzero(r->buf + r->len, r->head);
		r->head = 0;
	}
	if (r->len == r->size) {
		/* A whole message waits (proto_reader_next first). */
		errno = ENOBUFS;
		return WRIT_EINTERNAL;
	}
	n = read(fd, r->buf + r->head + r->len, r->size - r->head - r->len);
	if (n < 0)
		return WRIT_EINTERNAL;
	r->len += (size_t)n;
	return (int)n;
}

int
proto_reader_next(struct proto_reader *r, const unsigned char **ret_msg, size_t *ret_len,
    struct proto_fault *fault)
{
	size_t length;

	drop(r);
	if (r->broken == 0 && r->len >= 4) {
		length = get32(r->buf + r->head);
		if (length < PROTO_HEADER)
			r->broken = refuse(fault, PROTO_FLENGTH, 0, "length %zu is shorter than "
			    "the header", length);
		else if (length > r->size)
			r->broken = refuse(fault, PROTO_FTOOBIG, 0, "length %zu is over the %zu "
			    "bytes the peer may send", length, r->size);
		else if (r->len >= length) {
			r->taken = length;
			*ret_msg = r->buf + r->head;
			*ret_len = length;
			return 1;
		}
		return r->broken != 0 ? writ_code(r->broken) : 0;
	}
	if (r->broken != 0) {
		(void)refuse(fault, r->broken, 0, "the stream was refused: a bad length");
		return writ_code(r->broken);
	}
	return 0;
}
