/*
 * fuzz_proto.c - libFuzzer harness for the minter's request table
 * (broker/minter/proto.c): its decoder, encoder and stream reader.
 *
 * The input is a flags byte, then bytes off the socketpair.  Bit 0 picks
 * the side they come from (the front end, the minter).  Bit 1 clear: the
 * bytes are one message for proto_decode.  Bit 1 set: they go through a
 * socket into a proto_reader whose maximum the other bits scale.
 *
 * Properties beyond "does not crash":
 *   - refused: WRIT_EBADREQ, or WRIT_ETOOBIG for PROTO_FTOOBIG only; a
 *     fault code of the table's with a message; *ret untouched;
 *   - accepted: every text and blob is a view inside the input, a text
 *     ending in the NUL after its bytes; it re-encodes to the same bytes,
 *     from the same side, and the other side refuses it unless both send
 *     the type (HELLO); a MINT holds what the minter relies on (live_kind
 *     within live, an exe and a workspace of their forms); a PEER's answer
 *     what the front end shows (an exe that is a path or "?", a cwd of
 *     printable ASCII);
 *   - the reader hands out exactly the bytes written, cut at each
 *     header's length, each between PROTO_HEADER and its maximum, and
 *     refuses exactly when a length is outside them.
 *
 * The seed corpus (tests/fuzz/corpus/proto) is this file's own output:
 * a message of every type and an answer of every request, made by
 * proto_encode, so a change of the table is a rebuild away:
 *
 *	cc -DWRIT_PROTO_SEEDS -D_GNU_SOURCE -iquote broker/lib -o seeds \
 *	    tests/fuzz/fuzz_proto.c broker/minter/proto.c broker/lib/id.c \
 *	    broker/lib/errors.c && ./seeds tests/fuzz/corpus/proto
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"
#include "../../broker/minter/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *lo, *hi;	/* the input, for views */

static void
view_text(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	if (p < lo || p >= hi || p + strlen(s) >= hi)
		__builtin_trap();
}

static void
view_blob(const struct proto_blob *b)
{
	if (b->data < lo || b->data > hi || b->len > (size_t)(hi - b->data))
		__builtin_trap();
}

/* Every text and blob of m lies inside the input. */
static void
views(const struct proto_msg *m)
{
	const struct proto_mint *mi = &m->u.mint;
	const struct proto_answer *a = &m->u.answer;

	switch (m->type) {
	case PROTO_MINT:
		view_text(mi->kind);
		view_text(mi->scope);
		view_text(mi->name);
		view_text(mi->workspace);
		view_text(mi->exe);
		view_text(mi->claims);
		view_text(mi->approval);
		view_text(mi->identity);
		break;
	case PROTO_REVOKE:
		view_text(m->u.revoke.reason);
		break;
	case PROTO_REVOKE_TOKEN:
		view_blob(&m->u.revoke_token.token);
		break;
	case PROTO_PUBLIC_KEYS:
		view_text(m->u.public_keys.kind);
		break;
	case PROTO_THROTTLED:
		view_text(m->u.throttled.kind);
		view_text(m->u.throttled.scope);
		break;
	case PROTO_AUDIT_APPEND:
		view_text(m->u.audit_append.event);
		view_text(m->u.audit_append.fields);
		break;
	case PROTO_AUDIT_TAIL:
		view_text(m->u.audit_tail.session);
		break;
	case PROTO_AUDIT_VERIFY:
		view_text(m->u.audit_verify.file);
		view_text(m->u.audit_verify.checkpoint);
		break;
	case PROTO_AUDIT_ROTATE:
		view_text(m->u.audit_rotate.why);
		break;
	case PROTO_SECRET_PUT:
		view_text(m->u.secret_put.name);
		view_blob(&m->u.secret_put.value);
		break;
	case PROTO_SECRET_DEL:
		view_text(m->u.secret_del.name);
		break;
	case PROTO_ANSWER:
		view_text(a->message);
		if (a->code != 0)
			break;
		switch (a->of) {
		case PROTO_MINT:
			view_blob(&a->r.mint.token);
			break;
		case PROTO_AUDIT_TAIL:
			view_text(a->r.tail.json);
			break;
		case PROTO_PUBLIC_KEYS:
		case PROTO_AUDIT_VERIFY:
		case PROTO_SECRET_LIST:
			view_text(a->r.json);
			break;
		case PROTO_AUDIT_KEY:
			view_text(a->r.key);
			break;
		case PROTO_PEER:
			view_text(a->r.peer.exe);
			view_text(a->r.peer.cwd);
			break;
		}
		break;
	case PROTO_ENDED:
		view_text(m->u.ended.event);
		break;
	case PROTO_FATAL:
		view_text(m->u.fatal.why);
		break;
	case PROTO_RESTORED:
		view_text(m->u.restored.name);
		view_text(m->u.restored.kind);
		view_text(m->u.restored.scope);
		break;
	}
}

/* What the minter takes a decoded MINT to hold (proto.h's rules for it). */
static void
mint_holds(const struct proto_mint *mi)
{
	size_t n = strlen(mi->exe);

	if (mi->live_kind > mi->live || mi->live > PROTO_MAX_LIVE)
		__builtin_trap();
	if (strcmp(mi->exe, WRIT_EXE_UNVERIFIED) != 0 && (n == 0 || mi->exe[0] != '/'))
		__builtin_trap();
	if (mi->workspace[0] != '\0' && mi->workspace[0] != '/')
		__builtin_trap();
	for (const char *p = mi->workspace; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f)
			__builtin_trap();
}

/* What the front end takes a PEER's answer to hold: it reaches the approver's terminal. */
static void
peer_holds(const struct proto_peered *p)
{
	if (p->exe[0] != '/' && strcmp(p->exe, "?") != 0)
		__builtin_trap();
	for (const char *c = p->exe; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f)
			__builtin_trap();
	if (p->cwd[0] == '\0' || p->other_userns > 1)
		__builtin_trap();
	for (const char *c = p->cwd; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f)
			__builtin_trap();
}

static void
one(const uint8_t *data, size_t size, unsigned int from)
{
	static unsigned char out[PROTO_MAX_ANSWER];
	struct proto_msg m, untouched;
	struct proto_fault f = { .code = -1 };
	size_t len;
	int r;

	lo = data;
	hi = data + size;
	memset(&m, 0x5a, sizeof(m));
	untouched = m;
	r = proto_decode(data, size, from, &m, &f);
	if (r != 0) {
		if (r != (f.code == PROTO_FTOOBIG ? WRIT_ETOOBIG : WRIT_EBADREQ) ||
		    f.code <= PROTO_FOK || f.code > PROTO_FTRAILING || f.msg[0] == '\0' ||
		    memcmp(&m, &untouched, sizeof(m)) != 0)
			__builtin_trap();
		return;
	}
	views(&m);
	if (m.type == PROTO_MINT)
		mint_holds(&m.u.mint);
	if (m.type == PROTO_ANSWER && m.u.answer.code == 0 && m.u.answer.of == PROTO_PEER)
		peer_holds(&m.u.answer.r.peer);
	if (proto_encode(&m, from, out, sizeof(out), &len, &f) != 0 || len != size ||
	    memcmp(out, data, size) != 0)
		__builtin_trap();
	/* Only HELLO goes both ways. */
	if ((proto_decode(data, size, from ^ 3, &untouched, NULL) == 0) !=
	    (m.type == PROTO_HELLO && size <= PROTO_MAX_REQUEST))
		__builtin_trap();
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The bytes through a socket into a reader of at most max bytes. */
static void
stream(const uint8_t *data, size_t size, size_t max)
{
	struct proto_reader r;
	const unsigned char *msg;
	size_t off = 0, len;
	int sv[2], k;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0 || proto_reader_init(&r, max) != 0)
		abort();
	/* NB. -max_len is 4096: far under a socket's buffer. */
	if (size > 0 && write(sv[0], data, size) != (ssize_t)size)
		abort();
	close(sv[0]);
	for (;;) {
		while ((k = proto_reader_next(&r, &msg, &len, NULL)) == 1) {
			if (len < PROTO_HEADER || len > max || len != le32(data + off) ||
			    memcmp(msg, data + off, len) != 0)
				__builtin_trap();
			off += len;
		}
		if (k < 0) {
			/* Refused: the length where it stands is out of bounds. */
			if (size - off < 4 || (le32(data + off) >= PROTO_HEADER &&
			    le32(data + off) <= max))
				__builtin_trap();
			break;
		}
		if ((k = proto_reader_read(&r, sv[1])) <= 0)
			break;
	}
	/* At the end: what is left is less than a whole message. */
	if (k == 0 && size - off >= 4 && le32(data + off) >= PROTO_HEADER &&
	    le32(data + off) <= size - off && le32(data + off) <= max)
		__builtin_trap();
	close(sv[1]);
	proto_reader_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	/* NB. an exact copy, so that a read past the message is past a heap block. */
	if ((copy = malloc(size - 1 > 0 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 2)
		stream(copy, size - 1, PROTO_HEADER + (size_t)(data[0] >> 2) * 16);
	else
		one(copy, size - 1, (data[0] & 1) ? PROTO_MINTER : PROTO_FRONT);
	free(copy);
	return 0;
}

#ifdef WRIT_PROTO_SEEDS
/* The seed corpus: see the top of this file. */

#define SID "fedcba9876543210fedcba9876543210"
#define WID "0123456789abcdef0123456789abcdef"

static const char *dir;
static unsigned char wire[8192];	/* the stream seed: every message, in turn */
static size_t wired;

/* m, from side, into dir/name.bin behind its flags byte, and onto the stream. */
static void
seed(const char *name, struct proto_msg *m, unsigned int from)
{
	static unsigned char buf[4096];
	struct proto_fault f;
	char path[4096];
	size_t len;
	FILE *fp;

	buf[0] = from == PROTO_MINTER ? 1 : 0;
	if (proto_encode(m, from, buf + 1, sizeof(buf) - 1, &len, &f) != 0) {
		fprintf(stderr, "seeds: %s: %s\n", name, f.msg);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(buf, 1, len + 1, fp) != len + 1 ||
	    fclose(fp) != 0) {
		perror(path);
		exit(1);
	}
	if (wired + len <= sizeof(wire)) {
		memcpy(wire + wired, buf + 1, len);
		wired += len;
	}
}

/* An ANSWER of a request, in success, with what r carries. */
static struct proto_msg
answer(uint32_t of, uint32_t id)
{
	return (struct proto_msg){ .type = PROTO_ANSWER, .id = id, .u.answer = { .of = of,
	    .message = "" } };
}

int
main(int argc, char **argv)
{
	static const unsigned char tok[] = "ghs_16C7e42F292c6912E7710c838347Ae178B4a";
	static const unsigned char val[] = { 's', 'e', 'c', 0, 0xff };
	struct proto_msg m;
	FILE *fp;
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR\n");
		return 2;
	}
	dir = argv[1];
	m = (struct proto_msg){ .type = PROTO_HELLO, .u.hello.version = PROTO_VERSION };
	seed("hello", &m, PROTO_FRONT);
	seed("hello-minter", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_MINT, .id = 1, .u.mint = { .kind = "github",
	    .scope = "{\"permissions\":{\"contents\":\"read\"},\"repositories\":[\"acme/app\"]}",
	    .ttl = 600, .name = "ci-docs", .workspace = "/home/dev/src/app", .uid = 1000,
	    .exe = "/usr/lib/git-core/git-remote-https", .live = 3, .live_kind = 2,
	    .claims = "{\"ref\":\"refs/heads/main\",\"repository\":\"acme/app\"}",
	    .cap = 1900000000, .session = SID, .pid = 4242, .pid_start = 987654321,
	    .approval = WID, .identity = "{\"iss\":\"https://token.actions.githubusercontent"
	    ".com\",\"run_id\":\"42\"}" } };
	seed("mint", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_MINT, .id = 2, .u.mint = { .kind = "jwt",
	    .scope = "{\"aud\":\"api.example.com\"}", .ttl = 60, .name = "dev",
	    .exe = WRIT_EXE_UNVERIFIED, .session = SID } };
	seed("mint-bare", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_REVOKE, .id = 3, .u.revoke = { .writ = WID,
	    .reason = "given back" } };
	seed("revoke", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_REVOKE_TOKEN, .id = 4, .u.revoke_token = {
	    .session = SID, .token = { tok, sizeof(tok) - 1 } } };
	seed("revoke-token", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_PUBLIC_KEYS, .id = 5, .u.public_keys.kind = "jwt" };
	seed("public-keys", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_THROTTLED, .id = 6, .u.throttled = { "github",
	    "{\"repositories\":[\"acme/app\"]}" } };
	seed("throttled", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_AUDIT_APPEND, .id = 7, .u.audit_append = {
	    "session_opened", "{\"session\":\"" SID "\"}" } };
	seed("audit-append", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_AUDIT_TAIL, .id = 8, .u.audit_tail = { 20, SID,
	    0, 900 } };
	seed("audit-tail", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_AUDIT_VERIFY, .id = 9, .u.audit_verify = {
	    "/var/lib/writ/audit-1.jsonl", "" } };
	seed("audit-verify", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_AUDIT_ROTATE, .id = 10, .u.audit_rotate.why =
	    "admin" };
	seed("audit-rotate", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_AUDIT_KEY, .id = 11 };
	seed("audit-key", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_SECRET_PUT, .id = 12, .u.secret_put = {
	    "github-app.key", { val, sizeof(val) } } };
	seed("secret-put", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_SECRET_DEL, .id = 13, .u.secret_del.name = "ssh-ca" };
	seed("secret-del", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_SECRET_LIST, .id = 14 };
	seed("secret-list", &m, PROTO_FRONT);

	m = answer(PROTO_MINT, 1);
	memcpy(m.u.answer.r.mint.writ, WID, sizeof(WID));
	m.u.answer.r.mint.token = (struct proto_blob){ tok, sizeof(tok) - 1 };
	m.u.answer.r.mint.issued_at = 1800000000;
	m.u.answer.r.mint.expires_at = 1800000600;
	memcpy(m.u.answer.r.mint.fingerprint, SID, sizeof(SID));
	seed("answer-mint", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_ANSWER, .id = 2, .u.answer = { .of = PROTO_MINT,
	    .code = WRIT_EUPLIMIT, .message = "GitHub said: wait", .retry_after = 60 } };
	seed("answer-limit", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_ANSWER, .id = 3, .u.answer = {
	    .of = PROTO_REVOKE, .code = WRIT_ENOTFOUND } };
	seed("answer-notfound", &m, PROTO_MINTER);
	m = answer(PROTO_REVOKE_TOKEN, 4);
	memcpy(m.u.answer.r.writ, WID, sizeof(WID));
	seed("answer-revoke-token", &m, PROTO_MINTER);
	m = answer(PROTO_PUBLIC_KEYS, 5);
	m.u.answer.r.json = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qY\"}]}";
	seed("answer-keys", &m, PROTO_MINTER);
	m = answer(PROTO_AUDIT_APPEND, 7);
	m.u.answer.r.seq = 77;
	seed("answer-append", &m, PROTO_MINTER);
	m = answer(PROTO_AUDIT_TAIL, 8);
	m.u.answer.r.tail.json = "[{\"seq\":5,\"event\":\"issued\"}]";
	m.u.answer.r.tail.more = 5;
	seed("answer-tail", &m, PROTO_MINTER);
	m = answer(PROTO_AUDIT_KEY, 11);
	m.u.answer.r.key = WID SID;
	seed("answer-key", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_DURABLE, .u.durable.seq = 77 };
	seed("durable", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_ENDED, .u.ended = { .writ = WID,
	    .event = "expired" } };
	seed("ended", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_FATAL, .u.fatal.why = "the audit log broke" };
	seed("fatal", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_RESTORED, .u.restored = { .writ = WID,
	    .session = SID, .name = "ci-job", .kind = "github",
	    .scope = "{\"permissions\":{\"contents\":\"read\"},\"repo\":\"acme/app\"}",
	    .issued_at = 1800000000, .expires_at = 1800000600, .pid = 4242, .pid_start = 99,
	    .same_boot = 1 } };
	seed("restored", &m, PROTO_MINTER);
	m = (struct proto_msg){ .type = PROTO_STOP, .id = 12 };
	seed("stop", &m, PROTO_FRONT);
	m = (struct proto_msg){ .type = PROTO_PEER, .id = 15, .u.peer = { .pid = 4242,
	    .uid = 1000 } };
	seed("peer", &m, PROTO_FRONT);
	m = answer(PROTO_PEER, 15);
	m.u.answer.r.peer = (struct proto_peered){ "/usr/lib/git-core/git-remote-https",
	    "/home/dev/src/app", 1 };
	seed("answer-peer", &m, PROTO_MINTER);
	m = answer(PROTO_PEER, 16);
	m.u.answer.r.peer = (struct proto_peered){ "?", "?", 0 };
	seed("answer-peer-unread", &m, PROTO_MINTER);

	/* Every message in one stream, into a reader of the largest size the flags pick. */
	snprintf(path, sizeof(path), "%s/stream.bin", dir);
	if ((fp = fopen(path, "wb")) == NULL || fputc(0xfe, fp) == EOF ||
	    fwrite(wire, 1, wired, fp) != wired || fclose(fp) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}
#endif
