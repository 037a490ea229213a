/*
 * check_proto.c - the minter's request table: every message round trip,
 * every malformation refused with its own fault, truncation at every byte,
 * and the stream reader across split reads and a length it must refuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "duration.h"
#include "errors.h"
#include "../../broker/minter/ledger.h"
#include "../../broker/minter/proto.h"
#include "../../broker/peer.h"
#include "../../broker/session.h"
#include "../../broker/store/store.h"
#include "check.h"

#define W "0123456789abcdef0123456789abcdef"	/* a writ id */
#define S "fedcba9876543210fedcba9876543210"	/* a session id */
#define A "00112233445566778899aabbccddeeff"	/* an approval id */
#define FP "ffeeddccbbaa99887766554433221100"	/* a fingerprint */
#define TTL 4242				/* distinctive on the wire */
#define PID 31337
#define UID 54321
#define LIVE 4711
#define LIVE_KIND 1291
#define WS "/home/dev/src/app"
#define EXE "/usr/bin/git"
#define CWD "/home/dev/src/app (deleted)"
#define CLAIMS "{\"ref\":\"refs/heads/main\",\"repository\":\"acme/app\"}"
#define IDENTITY "{\"iss\":\"https://token.actions.githubusercontent.com\",\"run_id\":\"42\"}"

/* Most sample messages (check_samples says how many there are). */
#define NSAMPLES 48

static const unsigned char token[] = "ghs_token\0with a NUL, a blob";
static const unsigned char value[] = { 0, 1, 2, 0xff, 0xfe, 'x' };

/* Every type, and an ANSWER of every request, each with its sender. */
static size_t
samples(struct proto_msg *m, unsigned int *from)
{
	size_t n = 0;

	memset(m, 0, NSAMPLES * sizeof(*m));
	for (unsigned int side = PROTO_FRONT; side <= PROTO_MINTER; side++) {
		m[n].type = PROTO_HELLO;
		m[n].u.hello.version = PROTO_VERSION;
		from[n++] = side;
	}
	m[n].type = PROTO_MINT;
	m[n].id = 7;
	m[n].u.mint = (struct proto_mint){ .kind = "jwt", .scope = "{\"aud\":\"x\"}",
	    .ttl = TTL, .name = "démo ✓", .workspace = WS, .uid = UID, .exe = EXE,
	    .live = LIVE, .live_kind = LIVE_KIND, .claims = CLAIMS, .cap = 1900000000,
	    .session = S, .pid = PID, .pid_start = 123456789, .approval = A,
	    .identity = IDENTITY };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_REVOKE;
	m[n].id = 8;
	strcpy(m[n].u.revoke.writ, W);
	m[n].u.revoke.reason = "given back";
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_PUBLIC_KEYS;
	m[n].id = 9;
	m[n].u.public_keys.kind = "sshcert";
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_THROTTLED;
	m[n].id = 10;
	m[n].u.throttled = (struct proto_throttled){ "github", "{\"repo\":\"a/b\"}" };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_AUDIT_APPEND;
	m[n].id = 11;
	m[n].u.audit_append = (struct proto_audit_append){ "session_opened", "{\"name\":\"x\"}" };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_AUDIT_TAIL;
	m[n].id = 12;
	m[n].u.audit_tail = (struct proto_audit_tail){ 20, S, 5, 900 };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_AUDIT_VERIFY;
	m[n].id = 13;
	m[n].u.audit_verify = (struct proto_audit_verify){ "/var/log/audit-1.jsonl", "" };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_AUDIT_ROTATE;
	m[n].id = 14;
	m[n].u.audit_rotate.why = "admin";
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_AUDIT_KEY;
	m[n].id = 15;
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_SECRET_PUT;
	m[n].id = 16;
	m[n].u.secret_put.name = "github-app.key";
	m[n].u.secret_put.value = (struct proto_blob){ value, sizeof(value) };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_SECRET_DEL;
	m[n].id = 17;
	m[n].u.secret_del.name = "ssh-ca";
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_SECRET_LIST;
	m[n].id = 0xffffffff;
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_REVOKE_TOKEN;
	m[n].id = 18;
	m[n].u.revoke_token.session = S;
	m[n].u.revoke_token.token = (struct proto_blob){ token, sizeof(token) - 1 };
	from[n++] = PROTO_FRONT;
	/* A MINT with nothing optional: no workspace, claims, approval, identity; a relayed caller. */
	m[n].type = PROTO_MINT;
	m[n].id = 19;
	m[n].u.mint = (struct proto_mint){ .kind = "github", .scope = "{\"repo\":\"a/b\"}",
	    .ttl = 1, .name = "ci", .exe = WRIT_EXE_UNVERIFIED, .session = S };
	from[n++] = PROTO_FRONT;
	/* An answer to each request, in success. */
	for (uint32_t of = PROTO_MINT; of <= PROTO_SECRET_LIST; of++) {
		struct proto_answer *a = &m[n].u.answer;

		m[n].type = PROTO_ANSWER;
		m[n].id = 100 + of;
		a->of = of;
		switch (of) {
		case PROTO_MINT:
			strcpy(a->r.mint.writ, W);
			a->r.mint.token = (struct proto_blob){ token, sizeof(token) - 1 };
			a->r.mint.issued_at = 1800000000;
			a->r.mint.expires_at = 1800000600;
			strcpy(a->r.mint.fingerprint, FP);
			break;
		case PROTO_AUDIT_TAIL:
			a->r.tail.json = "[{\"seq\":5}]";
			a->r.tail.more = 5;
			break;
		case PROTO_PUBLIC_KEYS:
		case PROTO_AUDIT_VERIFY:
		case PROTO_SECRET_LIST:
			a->r.json = "{\"keys\":[]}";
			break;
		case PROTO_AUDIT_APPEND:
		case PROTO_AUDIT_ROTATE:
			a->r.seq = 77;
			break;
		case PROTO_AUDIT_KEY:
			a->r.key = W W;
			break;
		case PROTO_REVOKE_TOKEN:
			strcpy(a->r.writ, W);
			break;
		}
		from[n++] = PROTO_MINTER;
	}
	/* Answers in error: a rate limit with its wait, a default message. */
	m[n].type = PROTO_ANSWER;
	m[n].id = 7;
	m[n].u.answer = (struct proto_answer){ .of = PROTO_MINT, .code = WRIT_EUPLIMIT,
	    .message = "GitHub said: wait", .retry_after = 60 };
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_ANSWER;
	m[n].id = 8;
	m[n].u.answer = (struct proto_answer){ .of = PROTO_REVOKE, .code = WRIT_ENOTFOUND };
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_DURABLE;
	m[n].u.durable.seq = 1;
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_ENDED;
	strcpy(m[n].u.ended.writ, W);
	m[n].u.ended.event = "expired";
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_ENDED;
	strcpy(m[n].u.ended.writ, S);
	m[n].u.ended.event = "revoked";
	from[n++] = PROTO_MINTER;
	/* PEER, and its answers: a caller shown, and one of nothing readable. */
	m[n].type = PROTO_PEER;
	m[n].id = 60;
	m[n].u.peer = (struct proto_peer){ .pid = PID, .uid = UID };
	from[n++] = PROTO_FRONT;
	m[n].type = PROTO_ANSWER;
	m[n].id = 61;
	m[n].u.answer = (struct proto_answer){ .of = PROTO_PEER, .message = "" };
	m[n].u.answer.r.peer = (struct proto_peered){ EXE, CWD, 1 };
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_ANSWER;
	m[n].id = 62;
	m[n].u.answer = (struct proto_answer){ .of = PROTO_PEER, .message = "" };
	m[n].u.answer.r.peer = (struct proto_peered){ "?", "?", 0 };
	from[n++] = PROTO_MINTER;
	/* The requests of no fields, and RESTORED (before FATAL: it stays last). */
	for (uint32_t t = PROTO_RESTORE; t <= PROTO_STOP; t++) {
		m[n].type = t;
		m[n].id = 20 + t;
		from[n++] = PROTO_FRONT;
	}
	m[n].type = PROTO_RESTORED;
	m[n].u.restored = (struct proto_restored){ .writ = W, .session = S, .name = "démo ✓",
	    .kind = "github", .scope = "{\"repo\":\"acme/app\"}", .issued_at = 1800000000,
	    .expires_at = 1800000600, .pid = PID, .pid_start = 123456789, .same_boot = 1 };
	from[n++] = PROTO_MINTER;
	m[n].type = PROTO_FATAL;
	m[n].u.fatal.why = "the audit log broke";
	from[n++] = PROTO_MINTER;
	ck_assert_uint_le(n, NSAMPLES);
	return n;
}

/* Encode m from side into a new buffer of exactly its length. */
static unsigned char *
encoded(const struct proto_msg *m, unsigned int from, size_t *len)
{
	static unsigned char big[PROTO_MAX_ANSWER];
	struct proto_fault f;
	unsigned char *p;
	int r = proto_encode(m, from, big, sizeof(big), len, &f);

	if (r != 0)
		ck_abort_msg("encode %s: %s", proto_type_name(m->type), f.msg);
	ck_assert_ptr_nonnull(p = malloc(*len));
	memcpy(p, big, *len);
	return p;
}

/* buf[0..len) from side is refused, with fault and a message (line: the caller's). */
#define refused(buf, len, from, fault) refused_at(__LINE__, buf, len, from, fault)

static void
refused_at(int line, const void *buf, size_t len, unsigned int from, int fault)
{
	struct proto_msg m, untouched;
	struct proto_fault f = { .code = -1 };
	unsigned char *copy = malloc(len > 0 ? len : 1);
	int r;

	/* NB. an exact copy: a read past it is one past the heap block (ASan). */
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, buf, len);
	memset(&m, 0xa5, sizeof(m));
	untouched = m;
	r = proto_decode(copy, len, from, &m, &f);
	ck_assert_msg(r == (fault == PROTO_FTOOBIG ? WRIT_ETOOBIG : WRIT_EBADREQ),
	    "line %d: decode returned %d (%s), fault %d wanted", line, r, f.msg, fault);
	ck_assert_msg(f.code == fault, "line %d: fault %d (%s), %d wanted", line, f.code, f.msg,
	    fault);
	ck_assert(f.msg[0] != '\0');
	ck_assert(memcmp(&m, &untouched, sizeof(m)) == 0);
	free(copy);
}

/* Where the bytes p[0..n) occur in buf, once and only once. */
static size_t
once(const unsigned char *buf, size_t len, const void *p, size_t n)
{
	size_t at = SIZE_MAX;

	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, p, n) == 0) {
			ck_assert_msg(at == SIZE_MAX, "the pattern occurs twice");
			at = i;
		}
	ck_assert_msg(at != SIZE_MAX, "the pattern does not occur");
	return at;
}

static void
le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
le64(unsigned char *p, uint64_t v)
{
	le32(p, (uint32_t)v);
	le32(p + 4, (uint32_t)(v >> 32));
}

/* A message with field text old (as encoded) replaced by the n bytes at new (+ a NUL if nul). */
static unsigned char *
swap_text(const unsigned char *buf, size_t len, const char *old, const void *new, size_t n,
    bool nul, size_t *ret_len)
{
	unsigned char pat[512], *out;
	size_t oldn = strlen(old), at, tail;

	le32(pat, (uint32_t)oldn);
	memcpy(pat + 4, old, oldn + 1);
	at = once(buf, len, pat, 4 + oldn + 1);
	tail = len - at - (4 + oldn + 1);
	*ret_len = at + 4 + n + (nul ? 1 : 0) + tail;
	ck_assert_ptr_nonnull(out = malloc(*ret_len));
	memcpy(out, buf, at);
	le32(out + at, (uint32_t)n);
	memcpy(out + at + 4, new, n);
	if (nul)
		out[at + 4 + n] = '\0';
	memcpy(out + at + 4 + n + (nul ? 1 : 0), buf + len - tail, tail);
	le32(out, (uint32_t)*ret_len);
	return out;
}

/* Sample m with text old replaced: refused with fault. */
static void
bad_text(const struct proto_msg *m, unsigned int from, const char *old, const void *new,
    size_t n, int fault)
{
	size_t len, blen;
	unsigned char *buf = encoded(m, from, &len);
	unsigned char *bad = swap_text(buf, len, old, new, n, true, &blen);

	refused(bad, blen, from, fault);
	free(bad);
	free(buf);
}

/* Sample m with the integer encoded as old (width bytes) made new: refused with fault. */
static void
bad_int(const struct proto_msg *m, unsigned int from, uint64_t old, uint64_t new, int width,
    int fault)
{
	unsigned char pat[8];
	size_t len, at;
	unsigned char *buf = encoded(m, from, &len);

	if (width == 4)
		le32(pat, (uint32_t)old);
	else
		le64(pat, old);
	/* NB. among the fields: the header's version may equal a field's value. */
	at = PROTO_HEADER + once(buf + PROTO_HEADER, len - PROTO_HEADER, pat, (size_t)width);
	if (width == 4)
		le32(buf + at, (uint32_t)new);
	else
		le64(buf + at, new);
	refused(buf, len, from, fault);
	free(buf);
}

START_TEST(test_roundtrip)
{
	struct proto_msg m[NSAMPLES], d;
	unsigned int from[NSAMPLES];
	size_t n = samples(m, from);

	for (size_t i = 0; i < n; i++) {
		struct proto_fault f;
		size_t len, len2;
		unsigned char *buf = encoded(&m[i], from[i], &len), *again;

		ck_assert_msg(proto_decode(buf, len, from[i], &d, &f) == 0, "%s: %s",
		    proto_type_name(m[i].type), f.msg);
		ck_assert_uint_eq(d.type, m[i].type);
		ck_assert_uint_eq(d.id, m[i].id);
		/* The decoded message encodes to the same bytes. */
		again = encoded(&d, from[i], &len2);
		ck_assert_uint_eq(len, len2);
		ck_assert(memcmp(buf, again, len) == 0);
		free(again);
		free(buf);
	}
}
END_TEST

/* The fields come back where they were put: views into the buffer, copies of ids. */
START_TEST(test_fields_back)
{
	struct proto_msg m[NSAMPLES], d;
	unsigned int from[NSAMPLES];
	size_t len, n = samples(m, from);
	unsigned char *buf;

	for (size_t i = 0; i < n; i++) {
		buf = encoded(&m[i], from[i], &len);
		ck_assert_int_eq(proto_decode(buf, len, from[i], &d, NULL), 0);
		switch (m[i].type) {
		case PROTO_MINT:
			if (m[i].id == 19) {
				/* Nothing optional: empty texts (never NULL), zeros. */
				ck_assert_str_eq(d.u.mint.kind, "github");
				ck_assert_int_eq(d.u.mint.ttl, 1);
				ck_assert_str_eq(d.u.mint.workspace, "");
				ck_assert_str_eq(d.u.mint.exe, WRIT_EXE_UNVERIFIED);
				ck_assert_str_eq(d.u.mint.claims, "");
				ck_assert_str_eq(d.u.mint.approval, "");
				ck_assert_str_eq(d.u.mint.identity, "");
				ck_assert_uint_eq(d.u.mint.uid + d.u.mint.live + d.u.mint.live_kind +
				    d.u.mint.pid, 0);
				ck_assert_int_eq(d.u.mint.cap + d.u.mint.pid_start, 0);
				break;
			}
			ck_assert_str_eq(d.u.mint.kind, "jwt");
			ck_assert_str_eq(d.u.mint.scope, "{\"aud\":\"x\"}");
			ck_assert_int_eq(d.u.mint.ttl, TTL);
			ck_assert_str_eq(d.u.mint.name, "démo ✓");
			ck_assert_str_eq(d.u.mint.workspace, WS);
			ck_assert_uint_eq(d.u.mint.uid, UID);
			ck_assert_str_eq(d.u.mint.exe, EXE);
			ck_assert_uint_eq(d.u.mint.live, LIVE);
			ck_assert_uint_eq(d.u.mint.live_kind, LIVE_KIND);
			ck_assert_str_eq(d.u.mint.claims, CLAIMS);
			ck_assert_int_eq(d.u.mint.cap, 1900000000);
			ck_assert_str_eq(d.u.mint.session, S);
			ck_assert_uint_eq(d.u.mint.pid, PID);
			ck_assert_int_eq(d.u.mint.pid_start, 123456789);
			ck_assert_str_eq(d.u.mint.approval, A);
			ck_assert_str_eq(d.u.mint.identity, IDENTITY);
			/* Views: in the buffer, each ending in its NUL there. */
			ck_assert(d.u.mint.kind > (char *)buf && d.u.mint.kind < (char *)buf + len);
			ck_assert(d.u.mint.identity > (char *)buf &&
			    d.u.mint.identity + strlen(d.u.mint.identity) < (char *)buf + len);
			break;
		case PROTO_REVOKE_TOKEN:
			ck_assert_str_eq(d.u.revoke_token.session, S);
			ck_assert_uint_eq(d.u.revoke_token.token.len, sizeof(token) - 1);
			ck_assert(memcmp(d.u.revoke_token.token.data, token, sizeof(token) - 1) == 0);
			ck_assert(d.u.revoke_token.token.data > buf &&
			    d.u.revoke_token.token.data + sizeof(token) - 1 <= buf + len);
			break;
		case PROTO_SECRET_PUT:
			ck_assert_str_eq(d.u.secret_put.name, "github-app.key");
			ck_assert_uint_eq(d.u.secret_put.value.len, sizeof(value));
			ck_assert(memcmp(d.u.secret_put.value.data, value, sizeof(value)) == 0);
			ck_assert(d.u.secret_put.value.data > buf &&
			    d.u.secret_put.value.data + sizeof(value) <= buf + len);
			break;
		case PROTO_AUDIT_TAIL:
			ck_assert_uint_eq(d.u.audit_tail.n, 20);
			ck_assert_str_eq(d.u.audit_tail.session, S);
			ck_assert_int_eq(d.u.audit_tail.after, 5);
			ck_assert_int_eq(d.u.audit_tail.before, 900);
			break;
		case PROTO_AUDIT_VERIFY:
			ck_assert_str_eq(d.u.audit_verify.file, "/var/log/audit-1.jsonl");
			ck_assert_str_eq(d.u.audit_verify.checkpoint, "");
			break;
		case PROTO_REVOKE:
			ck_assert_str_eq(d.u.revoke.writ, W);
			ck_assert_str_eq(d.u.revoke.reason, "given back");
			break;
		case PROTO_ANSWER:
			ck_assert_uint_eq(d.u.answer.of, m[i].u.answer.of);
			ck_assert_int_eq(d.u.answer.code, m[i].u.answer.code);
			ck_assert_uint_eq(d.u.answer.retry_after, m[i].u.answer.retry_after);
			if (d.u.answer.code == WRIT_EUPLIMIT)
				ck_assert_str_eq(d.u.answer.message, "GitHub said: wait");
			else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_MINT) {
				ck_assert_str_eq(d.u.answer.r.mint.writ, W);
				ck_assert_uint_eq(d.u.answer.r.mint.token.len, sizeof(token) - 1);
				ck_assert(memcmp(d.u.answer.r.mint.token.data, token,
				    sizeof(token) - 1) == 0);
				ck_assert_int_eq(d.u.answer.r.mint.issued_at, 1800000000);
				ck_assert_int_eq(d.u.answer.r.mint.expires_at, 1800000600);
				ck_assert_str_eq(d.u.answer.r.mint.fingerprint, FP);
			} else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_AUDIT_TAIL) {
				ck_assert_str_eq(d.u.answer.r.tail.json, "[{\"seq\":5}]");
				ck_assert_int_eq(d.u.answer.r.tail.more, 5);
			} else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_AUDIT_KEY)
				ck_assert_str_eq(d.u.answer.r.key, W W);
			else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_AUDIT_ROTATE)
				ck_assert_int_eq(d.u.answer.r.seq, 77);
			else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_REVOKE_TOKEN)
				ck_assert_str_eq(d.u.answer.r.writ, W);
			else if (d.u.answer.code == 0 && d.u.answer.of == PROTO_PEER) {
				ck_assert_str_eq(d.u.answer.r.peer.exe, m[i].u.answer.r.peer.exe);
				ck_assert_str_eq(d.u.answer.r.peer.cwd, m[i].u.answer.r.peer.cwd);
				ck_assert_uint_eq(d.u.answer.r.peer.other_userns,
				    m[i].u.answer.r.peer.other_userns);
			}
			break;
		case PROTO_PEER:
			ck_assert_uint_eq(d.u.peer.pid, PID);
			ck_assert_uint_eq(d.u.peer.uid, UID);
			break;
		case PROTO_ENDED:
			ck_assert_str_eq(d.u.ended.writ, m[i].u.ended.writ);
			ck_assert_str_eq(d.u.ended.event, m[i].u.ended.event);
			break;
		case PROTO_FATAL:
			ck_assert_str_eq(d.u.fatal.why, "the audit log broke");
			break;
		case PROTO_RESTORED:
			ck_assert_str_eq(d.u.restored.writ, W);
			ck_assert_str_eq(d.u.restored.session, S);
			ck_assert_str_eq(d.u.restored.name, "démo ✓");
			ck_assert_str_eq(d.u.restored.kind, "github");
			ck_assert_str_eq(d.u.restored.scope, "{\"repo\":\"acme/app\"}");
			ck_assert_int_eq(d.u.restored.issued_at, 1800000000);
			ck_assert_int_eq(d.u.restored.expires_at, 1800000600);
			ck_assert_uint_eq(d.u.restored.pid, PID);
			ck_assert_int_eq(d.u.restored.pid_start, 123456789);
			ck_assert_uint_eq(d.u.restored.same_boot, 1);
			break;
		}
		free(buf);
	}
}
END_TEST

/* Cut short anywhere, or with a length that cuts its fields: refused. */
START_TEST(test_truncated)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len, n = samples(m, from), tried = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char *buf = encoded(&m[i], from[i], &len);

		for (size_t k = 0; k < len; k++) {
			refused(buf, k, from[i], PROTO_FTRUNCATED);
			/* The header agreeing with the cut: the fields run past it. */
			if (k >= PROTO_HEADER) {
				unsigned char *cut = malloc(k);

				ck_assert_ptr_nonnull(cut);
				memcpy(cut, buf, k);
				le32(cut, (uint32_t)k);
				refused(cut, k, from[i], PROTO_FLENGTH);
				free(cut);
			}
			tried++;
		}
		free(buf);
	}
	ck_assert_uint_gt(tried, 1000);
}
END_TEST

START_TEST(test_header_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len;
	unsigned char *buf, *longer, hdr[PROTO_HEADER];

	(void)samples(m, from);
	/* m[2] is MINT, m[n-1] FATAL: see samples. */
	buf = encoded(&m[2], PROTO_FRONT, &len);
	/* Another version, in the header. */
	le32(buf + 4, PROTO_VERSION + 1);
	refused(buf, len, PROTO_FRONT, PROTO_FVERSION);
	le32(buf + 4, PROTO_VERSION);
	/* No such type. */
	le32(buf + 8, 0);
	refused(buf, len, PROTO_FRONT, PROTO_FTYPE);
	le32(buf + 8, PROTO_NTYPES);
	refused(buf, len, PROTO_FRONT, PROTO_FTYPE);
	le32(buf + 8, 0xffffffff);
	refused(buf, len, PROTO_FRONT, PROTO_FTYPE);
	le32(buf + 8, PROTO_MINT);
	/* The wrong way: a MINT from the minter, no such side. */
	refused(buf, len, PROTO_MINTER, PROTO_FDIRECTION);
	refused(buf, len, 3, PROTO_FDIRECTION);
	/* A request without an id. */
	le32(buf + 12, 0);
	refused(buf, len, PROTO_FRONT, PROTO_FID);
	le32(buf + 12, 7);
	/* A length below the header, and a buffer longer than the length. */
	le32(buf, PROTO_HEADER - 1);
	refused(buf, len, PROTO_FRONT, PROTO_FLENGTH);
	le32(buf, (uint32_t)len);
	ck_assert_ptr_nonnull(longer = malloc(len + 1));
	memcpy(longer, buf, len);
	longer[len] = 0;
	refused(longer, len + 1, PROTO_FRONT, PROTO_FLENGTH);
	free(longer);
	/* Over the sender's maximum: judged from the length, whatever follows. */
	le32(buf, PROTO_MAX_REQUEST + 1);
	refused(buf, len, PROTO_FRONT, PROTO_FTOOBIG);
	le32(buf, 0xffffffff);
	refused(buf, len, PROTO_FRONT, PROTO_FTOOBIG);
	refused(buf, 4, PROTO_FRONT, PROTO_FTOOBIG);
	free(buf);

	/* A notice with an id; an answer without; a HELLO with one. */
	buf = encoded(&m[0], PROTO_FRONT, &len);	/* HELLO */
	le32(buf + 12, 1);
	refused(buf, len, PROTO_FRONT, PROTO_FID);
	free(buf);
	/* HELLO saying another version in its body. */
	buf = encoded(&m[0], PROTO_FRONT, &len);
	le32(buf + PROTO_HEADER, PROTO_VERSION + 1);
	refused(buf, len, PROTO_FRONT, PROTO_FVERSION);
	free(buf);
	for (size_t i = 0; i < NSAMPLES; i++) {
		if (m[i].type == PROTO_DURABLE) {
			buf = encoded(&m[i], PROTO_MINTER, &len);
			le32(buf + 12, 9);
			refused(buf, len, PROTO_MINTER, PROTO_FID);
			/* ... and from the front end, which never sends it. */
			le32(buf + 12, 0);
			refused(buf, len, PROTO_FRONT, PROTO_FDIRECTION);
			free(buf);
		}
		if (m[i].type == PROTO_ANSWER && m[i].u.answer.of == PROTO_REVOKE) {
			buf = encoded(&m[i], PROTO_MINTER, &len);
			le32(buf + 12, 0);
			refused(buf, len, PROTO_MINTER, PROTO_FID);
			le32(buf + 12, 8);
			refused(buf, len, PROTO_FRONT, PROTO_FDIRECTION);
			free(buf);
		}
	}
	/* A bare header of a type with no fields is whole; with one byte more, not. */
	le32(hdr, PROTO_HEADER);
	le32(hdr + 4, PROTO_VERSION);
	le32(hdr + 8, PROTO_SECRET_LIST);
	le32(hdr + 12, 1);
	{
		struct proto_msg d;
		unsigned char more[PROTO_HEADER + 1];

		ck_assert_int_eq(proto_decode(hdr, sizeof(hdr), PROTO_FRONT, &d, NULL), 0);
		memcpy(more, hdr, sizeof(hdr));
		more[PROTO_HEADER] = 0;
		le32(more, sizeof(more));
		refused(more, sizeof(more), PROTO_FRONT, PROTO_FTRAILING);
	}
}
END_TEST

/* Bytes after the last field, in the length: refused. */
START_TEST(test_trailing)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len, n = samples(m, from);

	for (size_t i = 0; i < n; i++) {
		unsigned char *buf = encoded(&m[i], from[i], &len), *more = malloc(len + 9);

		ck_assert_ptr_nonnull(more);
		memcpy(more, buf, len);
		memset(more + len, 0, 9);
		for (size_t extra = 1; extra <= 9; extra += 4) {
			le32(more, (uint32_t)(len + extra));
			refused(more, len + extra, from[i], PROTO_FTRAILING);
		}
		free(more);
		free(buf);
	}
}
END_TEST

START_TEST(test_text_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	char big[PROTO_MAX_JSON + 2];
	size_t len, blen;
	unsigned char *buf, *bad;

	(void)samples(m, from);
	/* m[2] MINT, m[3] REVOKE, m[4] PUBLIC_KEYS, m[8] AUDIT_VERIFY, m[9] AUDIT_ROTATE,
	   m[11] SECRET_PUT, m[12] SECRET_DEL, last FATAL. */
	ck_assert_uint_eq(m[2].type, PROTO_MINT);
	ck_assert_uint_eq(m[3].type, PROTO_REVOKE);
	ck_assert_uint_eq(m[8].type, PROTO_AUDIT_VERIFY);
	ck_assert_uint_eq(m[11].type, PROTO_SECRET_PUT);
	/* Over and under the bounds. */
	memset(big, 'a', sizeof(big));
	bad_text(&m[2], PROTO_FRONT, "jwt", big, PROTO_MAX_KIND + 1, PROTO_FBOUND);
	bad_text(&m[2], PROTO_FRONT, "jwt", big, 0, PROTO_FBOUND);
	bad_text(&m[2], PROTO_FRONT, "{\"aud\":\"x\"}", big, PROTO_MAX_JSON + 1, PROTO_FBOUND);
	bad_text(&m[2], PROTO_FRONT, "démo ✓", big, PROTO_MAX_SESSION_NAME + 1, PROTO_FBOUND);
	bad_text(&m[3], PROTO_FRONT, "given back", big, 0, PROTO_FBOUND);
	bad_text(&m[3], PROTO_FRONT, "given back", big, PROTO_MAX_REASON + 1, PROTO_FBOUND);
	/* A text announcing 4 GiB: refused by its length alone. */
	buf = encoded(&m[3], PROTO_FRONT, &len);
	le32(buf + PROTO_HEADER + WRIT_ID_LEN, 0xffffffff);
	refused(buf, len, PROTO_FRONT, PROTO_FBOUND);
	/* A NUL inside; no NUL after. */
	le32(buf + PROTO_HEADER + WRIT_ID_LEN, 10);
	buf[PROTO_HEADER + WRIT_ID_LEN + 4 + 5] = '\0';
	refused(buf, len, PROTO_FRONT, PROTO_FNUL);
	free(buf);
	buf = encoded(&m[3], PROTO_FRONT, &len);
	bad = swap_text(buf, len, "given back", "given back", 10, false, &blen);
	/* NB. without its NUL the text ends where the message does: one byte more needed. */
	refused(bad, blen, PROTO_FRONT, PROTO_FLENGTH);
	free(bad);
	buf[len - 1] = 'X';
	refused(buf, len, PROTO_FRONT, PROTO_FNUL);
	free(buf);
	bad_text(&m[2], PROTO_FRONT, "{\"aud\":\"x\"}", "{\"a\0\":1}", 8, PROTO_FNUL);
	/* UTF-8: overlong, a surrogate, above U+10FFFF, cut, a lone continuation, 5 bytes. */
	bad_text(&m[3], PROTO_FRONT, "given back", "\xc0\xaf", 2, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\xe0\x80\xaf", 3, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\xed\xa0\x80", 3, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\xf4\x90\x80\x80", 4, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "ok\xe2\x82", 4, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\x80", 1, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\xf8\x88\x80\x80\x80", 5, PROTO_FUTF8);
	bad_text(&m[3], PROTO_FRONT, "given back", "\xff", 1, PROTO_FUTF8);
	bad_text(&m[2], PROTO_FRONT, "démo ✓", "d\xc3", 2, PROTO_FUTF8);
	/* Forms: a kind's name, an optional id, a secret name, a path, the audit key. */
	bad_text(&m[2], PROTO_FRONT, "jwt", "Jwt", 3, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, "jwt", "j-t", 3, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, A, "00112233445566778899AABBCCDDEEFF", 32, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, A, "0011", 4, PROTO_FFORM);
	bad_text(&m[11], PROTO_FRONT, "github-app.key", ".hidden", 7, PROTO_FFORM);
	bad_text(&m[11], PROTO_FRONT, "github-app.key", "a/b", 3, PROTO_FFORM);
	bad_text(&m[8], PROTO_FRONT, "/var/log/audit-1.jsonl", "audit.jsonl", 11, PROTO_FFORM);
	/* A workspace: relative, with a control character, a DEL, non-ASCII; too long. */
	bad_text(&m[2], PROTO_FRONT, WS, "src/app", 7, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, WS, "/src\napp", 8, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, WS, "/src\x1b[2Japp", 11, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, WS, "/src\x7f", 5, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, WS, "/d\xc3\xa9mo", 6, PROTO_FFORM);
	{
		static char ws[PROTO_MAX_WORKSPACE + 1];

		memset(ws, 'w', sizeof(ws));
		ws[0] = '/';
		bad_text(&m[2], PROTO_FRONT, WS, ws, sizeof(ws), PROTO_FBOUND);
	}
	/* An exe: not absolute, empty, the unreadable mark, near the unverified one; too long. */
	bad_text(&m[2], PROTO_FRONT, EXE, "git", 3, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, EXE, "?", 1, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, EXE, "(not verified) ", 15, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, EXE, "(NOT VERIFIED)", 14, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, EXE, "/usr/bin/g\tit", 11, PROTO_FFORM);
	bad_text(&m[2], PROTO_FRONT, EXE, "", 0, PROTO_FBOUND);
	{
		char exe[PROTO_MAX_EXE + 1];

		memset(exe, 'x', sizeof(exe));
		exe[0] = '/';
		bad_text(&m[2], PROTO_FRONT, EXE, exe, sizeof(exe), PROTO_FBOUND);
	}
	/* Claims and identity: bounded and UTF-8 here; what they parse to is orderwire's. */
	bad_text(&m[2], PROTO_FRONT, CLAIMS, big, PROTO_MAX_JSON + 1, PROTO_FBOUND);
	bad_text(&m[2], PROTO_FRONT, CLAIMS, "{\"a\":\"\xc0\xaf\"}", 9, PROTO_FUTF8);
	bad_text(&m[2], PROTO_FRONT, IDENTITY, big, PROTO_MAX_JSON + 1, PROTO_FBOUND);
	/*
	 * PEER's answer: an exe not absolute, the unverified mark (a caller
	 * read is never that), with a control character; a cwd with one, or
	 * not ASCII; empty or too long.
	 */
	for (size_t i = 0; i < NSAMPLES; i++)
		if (m[i].type == PROTO_ANSWER && m[i].u.answer.of == PROTO_PEER &&
		    m[i].u.answer.r.peer.other_userns == 1) {
			static char cwd[PROTO_MAX_CWD + 1];

			bad_text(&m[i], PROTO_MINTER, EXE, "git", 3, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, EXE, WRIT_EXE_UNVERIFIED,
			    strlen(WRIT_EXE_UNVERIFIED), PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, EXE, "??", 2, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, EXE, "/usr/bin/g\x1bit", 13, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, EXE, "", 0, PROTO_FBOUND);
			bad_text(&m[i], PROTO_MINTER, CWD, "/home/\n== writ", 14, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, CWD, "/d\xc3\xa9mo", 6, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, CWD, "", 0, PROTO_FBOUND);
			memset(cwd, 'c', sizeof(cwd));
			bad_text(&m[i], PROTO_MINTER, CWD, cwd, sizeof(cwd), PROTO_FBOUND);
		}
	/* An end that is neither. */
	for (size_t i = 0; i < NSAMPLES; i++)
		if (m[i].type == PROTO_ENDED && strcmp(m[i].u.ended.event, "expired") == 0) {
			bad_text(&m[i], PROTO_MINTER, "expired", "deleted", 7, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, "expired", "Expired", 7, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, "expired", "", 0, PROTO_FBOUND);
			bad_text(&m[i], PROTO_MINTER, "expired", big, PROTO_MAX_WORD + 1, PROTO_FBOUND);
		}
	for (size_t i = 0; i < NSAMPLES; i++)
		if (m[i].type == PROTO_ANSWER && m[i].u.answer.of == PROTO_AUDIT_KEY) {
			bad_text(&m[i], PROTO_MINTER, W W, W "0123456789abcdef0123456789abcdeZ",
			    64, PROTO_FFORM);
			bad_text(&m[i], PROTO_MINTER, W W, W, 32, PROTO_FBOUND);
		}
	/* An empty text where one is optional: fine (the sample's checkpoint). */
}
END_TEST

/* What the table leaves to its readers: a JSON text that is no object still decodes. */
START_TEST(test_json_unchecked)
{
	struct proto_msg m[NSAMPLES], d;
	unsigned int from[NSAMPLES];
	size_t len, blen;
	unsigned char *buf, *other;

	(void)samples(m, from);
	buf = encoded(&m[2], PROTO_FRONT, &len);
	other = swap_text(buf, len, CLAIMS, "[1,2]", 5, true, &blen);
	ck_assert_int_eq(proto_decode(other, blen, PROTO_FRONT, &d, NULL), 0);
	ck_assert_str_eq(d.u.mint.claims, "[1,2]");
	free(other);
	other = swap_text(buf, len, "{\"aud\":\"x\"}", "{{", 2, true, &blen);
	ck_assert_int_eq(proto_decode(other, blen, PROTO_FRONT, &d, NULL), 0);
	ck_assert_str_eq(d.u.mint.scope, "{{");
	free(other);
	free(buf);
}
END_TEST

START_TEST(test_fixed_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len, at;
	unsigned char *buf;

	(void)samples(m, from);
	/* A session id in upper case, not hex, with a NUL. */
	buf = encoded(&m[2], PROTO_FRONT, &len);
	at = once(buf, len, S, WRIT_ID_LEN);
	buf[at] = 'F';
	refused(buf, len, PROTO_FRONT, PROTO_FFORM);
	buf[at] = 'g';
	refused(buf, len, PROTO_FRONT, PROTO_FFORM);
	buf[at] = 'f';
	buf[at + 31] = '\0';
	refused(buf, len, PROTO_FRONT, PROTO_FFORM);
	free(buf);
	/* The ids of REVOKE_TOKEN, of MINT's answer and of REVOKE_TOKEN's. */
	for (size_t i = 0; i < NSAMPLES; i++) {
		bool rt = m[i].type == PROTO_REVOKE_TOKEN;
		bool ans = m[i].type == PROTO_ANSWER && m[i].u.answer.code == 0 &&
		    (m[i].u.answer.of == PROTO_MINT || m[i].u.answer.of == PROTO_REVOKE_TOKEN);

		if (!rt && !ans)
			continue;
		buf = encoded(&m[i], from[i], &len);
		at = once(buf, len, rt ? S : W, WRIT_ID_LEN);
		buf[at + 7] = 'X';
		refused(buf, len, from[i], PROTO_FFORM);
		free(buf);
	}
	/* The encoder refuses what the decoder would. */
	{
		struct proto_msg e = m[2];
		struct proto_fault f;
		unsigned char out[1024];

		e.u.mint.session[5] = 'X';
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FFORM);
		e = m[2];
		e.u.mint.ttl = 0;
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FRANGE);
		e = m[2];
		e.u.mint.name = "d\xc3";
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FUTF8);
		e = m[2];
		ck_assert_int_eq(proto_encode(&e, PROTO_MINTER, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FDIRECTION);
		e.id = 0;
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FID);
		/* A token written, then a field refused: not left in the buffer. */
		for (size_t i = 0; i < NSAMPLES; i++)
			if (m[i].type == PROTO_ANSWER && m[i].u.answer.code == 0 &&
			    m[i].u.answer.of == PROTO_MINT) {
				e = m[i];
				e.u.answer.r.mint.fingerprint[0] = 'Z';
				memset(out, 0, sizeof(out));
				ck_assert_int_eq(proto_encode(&e, PROTO_MINTER, out, sizeof(out), &len,
				    &f), WRIT_EBADREQ);
				ck_assert_int_eq(f.code, PROTO_FFORM);
				for (size_t k = 0; k < sizeof(out); k++)
					ck_assert_msg(out[k] == 0, "byte %zu left behind", k);
			}
		/* No room: the buffer, or the side's maximum. */
		e = m[2];
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, 40, &len, &f), WRIT_ETOOBIG);
		ck_assert_int_eq(f.code, PROTO_FTOOBIG);
		e = m[11];
		{
			static unsigned char v[PROTO_MAX_SECRET + 1];
			static unsigned char huge[PROTO_MAX_ANSWER];

			e.u.secret_put.value = (struct proto_blob){ v, sizeof(v) };
			ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, huge, sizeof(huge), &len, &f),
			    WRIT_EBADREQ);
			ck_assert_int_eq(f.code, PROTO_FBOUND);
		}
	}
}
END_TEST

START_TEST(test_int_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t i;

	(void)samples(m, from);
	/* TTL: 0, negative, one over; pid over; cap over; n over. */
	bad_int(&m[2], PROTO_FRONT, TTL, 0, 8, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, TTL, (uint64_t)-1, 8, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, TTL, PROTO_MAX_TTL + 1, 8, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, TTL, 0x8000000000000000ULL, 8, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, PID, PROTO_MAX_PID + 1, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, 1900000000, PROTO_MAX_TIME + 1, 8, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, 123456789, (uint64_t)-5, 8, PROTO_FRANGE);
	/* uid: (uid_t)-1 is no one's; live counts over the bound, of a kind over all. */
	bad_int(&m[2], PROTO_FRONT, UID, 0xffffffff, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, LIVE, PROTO_MAX_LIVE + 1, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, LIVE, 0xffffffff, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, LIVE_KIND, PROTO_MAX_LIVE + 1, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, LIVE_KIND, LIVE + 1, 4, PROTO_FRANGE);
	bad_int(&m[2], PROTO_FRONT, LIVE, LIVE_KIND - 1, 4, PROTO_FRANGE);
	{
		/* At the bounds: fine. */
		struct proto_msg e = m[2], d;
		unsigned char out[4096];
		size_t n;

		e.u.mint.live = e.u.mint.live_kind = PROTO_MAX_LIVE;
		e.u.mint.uid = UINT32_MAX - 1;
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &n, NULL), 0);
		ck_assert_int_eq(proto_decode(out, n, PROTO_FRONT, &d, NULL), 0);
		ck_assert_uint_eq(d.u.mint.live_kind, PROTO_MAX_LIVE);
		e.u.mint.live = PROTO_MAX_LIVE - 1;
		ck_assert_int_eq(proto_encode(&e, PROTO_FRONT, out, sizeof(out), &n, NULL),
		    WRIT_EBADREQ);
	}
	/* PEER: pid 0 or over the kernel's limit, uid (uid_t)-1; other_userns neither 0 nor 1. */
	for (i = 0; i < NSAMPLES; i++) {
		if (m[i].type == PROTO_PEER) {
			bad_int(&m[i], PROTO_FRONT, PID, 0, 4, PROTO_FRANGE);
			bad_int(&m[i], PROTO_FRONT, PID, PROTO_MAX_PID + 1, 4, PROTO_FRANGE);
			bad_int(&m[i], PROTO_FRONT, UID, 0xffffffff, 4, PROTO_FRANGE);
		}
		if (m[i].type == PROTO_ANSWER && m[i].u.answer.of == PROTO_PEER &&
		    m[i].u.answer.r.peer.other_userns == 1) {
			size_t len;
			unsigned char *buf = encoded(&m[i], PROTO_MINTER, &len);

			/* The last field: its four bytes end the message. */
			buf[len - 4] = 2;
			refused(buf, len, PROTO_MINTER, PROTO_FRANGE);
			free(buf);
		}
	}
	ck_assert_uint_eq(m[7].type, PROTO_AUDIT_TAIL);
	bad_int(&m[7], PROTO_FRONT, 20, PROTO_MAX_TAIL + 1, 4, PROTO_FRANGE);
	bad_int(&m[7], PROTO_FRONT, 900, (uint64_t)-900, 8, PROTO_FRANGE);
	for (i = 0; i < NSAMPLES; i++) {
		struct proto_answer *a = &m[i].u.answer;

		if (m[i].type == PROTO_DURABLE)
			bad_int(&m[i], PROTO_MINTER, 1, 0, 8, PROTO_FRANGE);
		if (m[i].type != PROTO_ANSWER)
			continue;
		if (a->code == WRIT_EUPLIMIT) {
			/* A code of no table's, a positive one; a wait over a day. */
			bad_int(&m[i], PROTO_MINTER, (uint64_t)(int64_t)WRIT_EUPLIMIT, 1, 8,
			    PROTO_FRANGE);
			bad_int(&m[i], PROTO_MINTER, (uint64_t)(int64_t)WRIT_EUPLIMIT,
			    (uint64_t)-9999, 8, PROTO_FRANGE);
			bad_int(&m[i], PROTO_MINTER, 60, PROTO_MAX_RETRY + 1, 4, PROTO_FRANGE);
			/* An answer of nothing, of no type. */
			bad_int(&m[i], PROTO_MINTER, PROTO_MINT, 0, 4, PROTO_FRANGE);
			bad_int(&m[i], PROTO_MINTER, PROTO_MINT, 99, 4, PROTO_FRANGE);
			/* An answer of what is no request. */
			bad_int(&m[i], PROTO_MINTER, PROTO_MINT, PROTO_DURABLE, 4, PROTO_FTYPE);
			bad_int(&m[i], PROTO_MINTER, PROTO_MINT, PROTO_HELLO, 4, PROTO_FTYPE);
			bad_int(&m[i], PROTO_MINTER, PROTO_MINT, PROTO_ANSWER, 4, PROTO_FTYPE);
		}
		if (a->code == 0 && a->of == PROTO_MINT) {
			/* Expiring before it was issued. */
			bad_int(&m[i], PROTO_MINTER, 1800000600, 1799999999, 8, PROTO_FRANGE);
			bad_int(&m[i], PROTO_MINTER, 1800000000, 0, 8, PROTO_FRANGE);
		}
		if (a->code == 0 && a->of == PROTO_AUDIT_ROTATE)
			bad_int(&m[i], PROTO_MINTER, 77, 0, 8, PROTO_FRANGE);
	}
}
END_TEST

/* An ANSWER's generic part: a success says nothing else. */
START_TEST(test_answer_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len, blen;
	unsigned char *buf, *bad;

	(void)samples(m, from);
	for (size_t i = 0; i < NSAMPLES; i++) {
		struct proto_answer *a = &m[i].u.answer;
		struct proto_fault f;
		struct proto_msg e;
		unsigned char out[1024];

		if (m[i].type != PROTO_ANSWER || a->code != 0 || a->of != PROTO_REVOKE)
			continue;
		/* A success with a message, or with a wait. */
		buf = encoded(&m[i], PROTO_MINTER, &len);
		ck_assert_uint_eq(len, PROTO_HEADER + 4 + 8 + 5 + 4);
		blen = len + 2;
		ck_assert_ptr_nonnull(bad = malloc(blen));
		memcpy(bad, buf, PROTO_HEADER + 4 + 8);
		le32(bad + PROTO_HEADER + 12, 2);
		memcpy(bad + PROTO_HEADER + 16, "ok", 3);
		le32(bad + PROTO_HEADER + 19, 0);
		le32(bad, (uint32_t)blen);
		refused(bad, blen, PROTO_MINTER, PROTO_FANSWER);
		free(bad);
		le32(buf + PROTO_HEADER + 4 + 8 + 5, 30);
		refused(buf, len, PROTO_MINTER, PROTO_FANSWER);
		free(buf);
		e = m[i];
		e.u.answer.retry_after = 5;
		ck_assert_int_eq(proto_encode(&e, PROTO_MINTER, out, sizeof(out), &len, &f),
		    WRIT_EBADREQ);
		ck_assert_int_eq(f.code, PROTO_FANSWER);
	}
	/* An error answer carrying a success's fields: trailing. */
	for (size_t i = 0; i < NSAMPLES; i++)
		if (m[i].type == PROTO_ANSWER && m[i].u.answer.code == WRIT_EUPLIMIT) {
			unsigned char more[1024];

			buf = encoded(&m[i], PROTO_MINTER, &len);
			memcpy(more, buf, len);
			le64(more + len, 1800000000);
			le32(more, (uint32_t)(len + 8));
			refused(more, len + 8, PROTO_MINTER, PROTO_FTRAILING);
			free(buf);
		}
}
END_TEST

/* Blobs: a token of nothing, a secret value over its bound. */
START_TEST(test_blob_refused)
{
	struct proto_msg m[NSAMPLES];
	unsigned int from[NSAMPLES];
	size_t len, at;
	unsigned char *buf, pat[4];

	(void)samples(m, from);
	buf = encoded(&m[11], PROTO_FRONT, &len);
	le32(pat, sizeof(value));
	at = once(buf, len, pat, 4);
	le32(buf + at, PROTO_MAX_SECRET + 1);
	refused(buf, len, PROTO_FRONT, PROTO_FBOUND);
	le32(buf + at, 0xffffffff);
	refused(buf, len, PROTO_FRONT, PROTO_FBOUND);
	/* A value that says more than there is: past the length. */
	le32(buf + at, sizeof(value) + 1);
	refused(buf, len, PROTO_FRONT, PROTO_FLENGTH);
	free(buf);
	for (size_t i = 0; i < NSAMPLES; i++)
		if ((m[i].type == PROTO_ANSWER && m[i].u.answer.code == 0 &&
		    m[i].u.answer.of == PROTO_MINT) || m[i].type == PROTO_REVOKE_TOKEN) {
			buf = encoded(&m[i], from[i], &len);
			le32(pat, sizeof(token) - 1);
			at = once(buf, len, pat, 4);
			le32(buf + at, 0);
			refused(buf, len, from[i], PROTO_FBOUND);
			le32(buf + at, PROTO_MAX_TOKEN + 1);
			refused(buf, len, from[i], PROTO_FBOUND);
			free(buf);
		}
}
END_TEST

/* Every type's largest encoding fits its sender's maximum, and is what the encoder makes. */
START_TEST(test_bounds)
{
	static char json[PROTO_MAX_JSON + 1], name[PROTO_MAX_SESSION_NAME + 1],
	    kind[PROTO_MAX_KIND + 1], secret_name[WRIT_MAX_SECRET_NAME + 1],
	    ws[PROTO_MAX_WORKSPACE + 1], exe[PROTO_MAX_EXE + 1];
	static unsigned char v[PROTO_MAX_SECRET], buf[PROTO_MAX_REQUEST];
	struct proto_msg m = { .type = PROTO_MINT, .id = 1 }, d;
	size_t len;

	for (uint32_t t = 1; t < PROTO_NTYPES; t++) {
		size_t b = proto_bound(t);

		ck_assert_uint_gt(b, 0);
		if (t == PROTO_HELLO || (t >= PROTO_MINT && t <= PROTO_PEER))
			ck_assert_msg(b <= PROTO_MAX_REQUEST, "%s: %zu", proto_type_name(t), b);
		else
			ck_assert_msg(b <= PROTO_MAX_ANSWER, "%s: %zu", proto_type_name(t), b);
	}
	ck_assert_uint_eq(proto_bound(0), 0);
	ck_assert_uint_eq(proto_bound(PROTO_NTYPES), 0);
	ck_assert_str_eq(proto_type_name(PROTO_NTYPES), "?");
	/* The largest MINT and SECRET_PUT, made: exactly their bounds. */
	memset(json, 'j', PROTO_MAX_JSON);
	memset(kind, 'k', PROTO_MAX_KIND);
	memset(name, 'n', PROTO_MAX_SESSION_NAME);
	memset(secret_name, 's', WRIT_MAX_SECRET_NAME);
	memset(ws, 'w', PROTO_MAX_WORKSPACE);
	ws[0] = '/';
	memset(exe, 'x', PROTO_MAX_EXE);
	exe[0] = '/';
	m.u.mint = (struct proto_mint){ .kind = kind, .scope = json, .ttl = PROTO_MAX_TTL,
	    .name = name, .workspace = ws, .uid = UINT32_MAX - 1, .exe = exe,
	    .live = PROTO_MAX_LIVE, .live_kind = PROTO_MAX_LIVE, .claims = json,
	    .cap = PROTO_MAX_TIME, .session = S, .pid = PROTO_MAX_PID,
	    .pid_start = INT64_MAX, .approval = A, .identity = json };
	ck_assert_int_eq(proto_encode(&m, PROTO_FRONT, buf, sizeof(buf), &len, NULL), 0);
	ck_assert_uint_eq(len, proto_bound(PROTO_MINT));
	ck_assert_int_eq(proto_decode(buf, len, PROTO_FRONT, &d, NULL), 0);
	ck_assert_uint_eq(strlen(d.u.mint.identity), PROTO_MAX_JSON);
	ck_assert_uint_eq(strlen(d.u.mint.workspace), PROTO_MAX_WORKSPACE);
	ck_assert_uint_eq(strlen(d.u.mint.exe), PROTO_MAX_EXE);
	m = (struct proto_msg){ .type = PROTO_SECRET_PUT, .id = 1 };
	m.u.secret_put.name = secret_name;
	m.u.secret_put.value = (struct proto_blob){ v, sizeof(v) };
	ck_assert_int_eq(proto_encode(&m, PROTO_FRONT, buf, sizeof(buf), &len, NULL), 0);
	ck_assert_uint_eq(len, proto_bound(PROTO_SECRET_PUT));
	ck_assert_int_eq(proto_decode(buf, len, PROTO_FRONT, &d, NULL), 0);
	ck_assert_uint_eq(d.u.secret_put.value.len, PROTO_MAX_SECRET);
	/* The same limits as the modules the table may not link. */
	ck_assert_int_eq(PROTO_MAX_SECRET, WRIT_MAX_SECRET);
	ck_assert_int_eq(PROTO_MAX_SESSION_NAME, WRIT_MAX_SESSION_NAME);
	ck_assert_int_eq(PROTO_MAX_TIME, WRIT_LEDGER_MAX_TIME);
	ck_assert_int_eq(PROTO_MAX_TTL, WRIT_MAX_DURATION);
	ck_assert_int_eq(PROTO_MAX_EXE, sizeof(((struct peer *)0)->exe) - 1);
	ck_assert_int_eq(proto_max(PROTO_FRONT), PROTO_MAX_REQUEST);
	ck_assert_int_eq(proto_max(PROTO_MINTER), PROTO_MAX_ANSWER);
	ck_assert_int_eq(proto_max(0), 0);
}
END_TEST

/* Everything past what the reader holds is zero: no stale token lingers. */
static void
wiped(const struct proto_reader *r)
{
	for (size_t i = r->len; i < r->size; i++)
		ck_assert_msg(r->buf[i] == 0, "byte %zu of the reader was not wiped", i);
}

/* Write the messages to a socket in chunks of step bytes (0: all at once), read them back. */
static void
stream(size_t step)
{
	struct proto_msg m[NSAMPLES], d;
	unsigned int from[NSAMPLES];
	size_t n = samples(m, from), all = 0, got = 0, lens[NSAMPLES], len;
	unsigned char *bufs[NSAMPLES], *wire;
	struct proto_reader r;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (size_t i = 0; i < n; i++) {
		bufs[i] = encoded(&m[i], from[i], &lens[i]);
		all += lens[i];
	}
	ck_assert_ptr_nonnull(wire = malloc(all));
	for (size_t i = 0, off = 0; i < n; off += lens[i], i++)
		memcpy(wire + off, bufs[i], lens[i]);
	ck_assert_int_eq(proto_reader_init(&r, PROTO_MAX_ANSWER), 0);
	for (size_t sent = 0, recvd = 0, i = 0; i < n;) {
		const unsigned char *msg;

		/* Write the next piece, read what came, take every whole message. */
		if (sent < all) {
			size_t piece = step == 0 || all - sent < step ? all - sent : step;

			ck_assert_int_eq(write(sv[0], wire + sent, piece), (ssize_t)piece);
			sent += piece;
		}
		if (recvd < sent) {
			int k = proto_reader_read(&r, sv[1]);

			ck_assert_int_gt(k, 0);
			recvd += (size_t)k;
		}
		while (i < n && proto_reader_next(&r, &msg, &len, NULL) == 1) {
			ck_assert_uint_eq(len, lens[i]);
			ck_assert(memcmp(msg, bufs[i], len) == 0);
			ck_assert_int_eq(proto_decode(msg, len, from[i], &d, NULL), 0);
			i++;
			got++;
		}
		ck_assert(i == n || recvd < all);
	}
	ck_assert_uint_eq(got, n);
	/* The last message is dropped, and wiped, at the next call. */
	ck_assert_int_eq(proto_reader_next(&r, &(const unsigned char *){ NULL }, &len, NULL), 0);
	ck_assert_uint_eq(r.len, 0);
	wiped(&r);
	/* The end of the stream. */
	close(sv[0]);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), 0);
	close(sv[1]);
	proto_reader_free(&r);
	proto_reader_free(&r);
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(wire);
}

START_TEST(test_reader_split)
{
	stream(1);
	stream(7);
	stream(PROTO_HEADER);
	stream(0);
}
END_TEST

/* A length over the reader's maximum is refused from its four bytes, and for good. */
START_TEST(test_reader_refused)
{
	struct proto_reader r;
	struct proto_fault f;
	const unsigned char *msg;
	unsigned char hdr[PROTO_HEADER];
	size_t len;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(proto_reader_init(&r, PROTO_MAX_REQUEST), 0);
	/* 4 GiB announced: nothing but the length is buffered. */
	le32(hdr, 0xffffffff);
	ck_assert_int_eq(write(sv[0], hdr, 2), 2);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), 2);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), 0);
	ck_assert_int_eq(write(sv[0], hdr + 2, 2), 2);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), 2);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), WRIT_ETOOBIG);
	ck_assert_int_eq(f.code, PROTO_FTOOBIG);
	ck_assert_uint_eq(r.len, 4);
	/* And for good: the stream cannot be read in step again. */
	ck_assert_int_eq(write(sv[0], "more", 4), 4);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), WRIT_ETOOBIG);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), WRIT_ETOOBIG);
	ck_assert_int_eq(f.code, PROTO_FTOOBIG);
	proto_reader_free(&r);
	close(sv[0]);
	close(sv[1]);

	/* One over the front end's maximum, at the minter's reader; a length below a header. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(proto_reader_init(&r, PROTO_MAX_REQUEST), 0);
	le32(hdr, PROTO_MAX_REQUEST + 1);
	ck_assert_int_eq(write(sv[0], hdr, 4), 4);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), 4);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), WRIT_ETOOBIG);
	proto_reader_free(&r);
	ck_assert_int_eq(proto_reader_init(&r, PROTO_MAX_REQUEST), 0);
	le32(hdr, PROTO_HEADER - 1);
	ck_assert_int_eq(write(sv[0], hdr, 4), 4);
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), 4);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), WRIT_EBADREQ);
	ck_assert_int_eq(f.code, PROTO_FLENGTH);
	proto_reader_free(&r);
	/* A whole message of exactly the maximum fills the reader; it is handed out first. */
	ck_assert_int_eq(proto_reader_init(&r, PROTO_HEADER), 0);
	le32(hdr, PROTO_HEADER);
	le32(hdr + 4, PROTO_VERSION);
	le32(hdr + 8, PROTO_SECRET_LIST);
	le32(hdr + 12, 3);
	ck_assert_int_eq(write(sv[0], hdr, sizeof(hdr)), sizeof(hdr));
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), PROTO_HEADER);
	errno = 0;
	ck_assert_int_eq(proto_reader_read(&r, sv[1]), WRIT_EINTERNAL);
	ck_assert_int_eq(errno, ENOBUFS);
	ck_assert_int_eq(proto_reader_next(&r, &msg, &len, &f), 1);
	ck_assert_uint_eq(len, PROTO_HEADER);
	proto_reader_free(&r);
	ck_assert_int_eq(proto_reader_init(&r, PROTO_HEADER - 1), WRIT_EINTERNAL);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

Suite *
proto_suite(void)
{
	Suite *s = suite_create("proto");
	TCase *tc = tcase_create("proto");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_fields_back);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_header_refused);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_text_refused);
	tcase_add_test(tc, test_json_unchecked);
	tcase_add_test(tc, test_fixed_refused);
	tcase_add_test(tc, test_int_refused);
	tcase_add_test(tc, test_answer_refused);
	tcase_add_test(tc, test_blob_refused);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_reader_split);
	tcase_add_test(tc, test_reader_refused);
	suite_add_tcase(s, tc);
	return s;
}
