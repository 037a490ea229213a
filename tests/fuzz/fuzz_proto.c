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
 *     the type (HELLO);
 *   - the reader hands out exactly the bytes written, cut at each
 *     header's length, each between PROTO_HEADER and its maximum, and
 *     refuses exactly when a length is outside them.
 */
#include <stdbool.h>
#include <stdint.h>
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
	const struct proto_answer *a = &m->u.answer;

	switch (m->type) {
	case PROTO_MINT:
		view_text(m->u.mint.kind);
		view_text(m->u.mint.scope);
		view_text(m->u.mint.name);
		view_text(m->u.mint.approval);
		view_text(m->u.mint.identity);
		break;
	case PROTO_REVOKE:
		view_text(m->u.revoke.reason);
		break;
	case PROTO_SECRET_PUT:
		view_text(m->u.secret_put.name);
		view_blob(&m->u.secret_put.value);
		break;
	case PROTO_ANSWER:
		view_text(a->message);
		if (a->code == 0 && a->of == PROTO_MINT)
			view_blob(&a->r.mint.token);
		if (a->code == 0 && a->of == PROTO_AUDIT_TAIL)
			view_text(a->r.tail.json);
		break;
	case PROTO_FATAL:
		view_text(m->u.fatal.why);
		break;
	}
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
