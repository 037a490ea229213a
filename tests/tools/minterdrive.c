/*
 * minterdrive.c - a test-only program: start writd-minter exactly as
 * writd does (link.c's link_start: a socketpair's end on fd 3, the
 * configuration's text in a memfd on fd 4, the paths as flags) and play
 * its front end -- a compromised one -- from a script on stdin, one
 * command a line; print what the minter sends, one JSON object a line.
 * Built for the tests only ($(B)/minterdrive), never installed;
 * tests/integration/t_channel.sh drives it.
 *
 *   minterdrive --runtime-dir D --state-dir S --enterprise-policy E
 *	[--policy U] [--config FILE] [--minter PATH]
 *   minterdrive --table	the table's numbers (VERSION=4 HELLO=1 ...), for a
 *				test's stand-in minter
 *
 * Requests are written by this file's own writer, field by field in the
 * request table's order (broker/minter/proto.h), never checked first: a
 * front end that is not trusted writes whatever bytes it likes.  What
 * proto_decode says of each message sent is printed with it ("fault"),
 * so that a test tells a message the table refuses from one it takes.
 * What the minter sends is decoded by proto_decode, as link.c decodes it.
 *
 * Commands (a text takes \xHH escapes, for bytes a line cannot hold):
 *   hello [VERSION]		HELLO, request id 0
 *   set FIELD [VALUE]		a MINT field of the mints that follow: name,
 *				workspace, uid, exe, live, live_kind, claims, cap,
 *				session, pid, pid_start, approval, identity (a text
 *				is the rest of the line; none: empty)
 *   mint KIND TTL SCOPE	MINT; SCOPE is the rest of the line, as it is
 *   revoke WRIT REASON		REVOKE; WRIT "last": the last writ minted
 *   append EVENT FIELDS	AUDIT_APPEND
 *   tail N			AUDIT_TAIL: the last N records, any session
 *   verify [FILE]		AUDIT_VERIFY of the minter's own log, or of FILE
 *   public_keys KIND		PUBLIC_KEYS
 *   secret_put NAME HEX	SECRET_PUT of the bytes HEX
 *   secret_del NAME		SECRET_DEL
 *   restore, expire, reload, stop, audit_key, secret_list
 *				the requests without fields
 *   frame TYPE ID [HEX]	a message of any type (a number or a name), id
 *				and body; its header's length and version right
 *   raw HEX			bytes as they are
 *   next MUTATION...		change the next message (not raw) before it
 *				goes: version=N, type=N, id=N, length=N (the
 *				header's), trailing=HEX (bytes after its last
 *				field, its length grown to cover them),
 *				truncate=N (only its first N bytes go)
 *   sync [MS]			read until every request sent is answered
 *   drain [MS]			read until the minter ends the channel and exits
 *   sleep MS			read what comes for MS
 *   eof			shut the channel for writing: the minter reads
 *				its end, this side still reads what it says
 *   close			close the channel (the front end dies)
 *   sh CMD			sh -c CMD; $WRIT and $FP are the last writ minted
 *				and its token's fingerprint, $MINTER the minter's
 *				pid, $DRIVER this program's
 * MS is a hang guard (default 10000), never a claim on speed.
 *
 * Output: {"type":"started","pid"}; {"type":"sent","msg","id","bytes"
 * [,"fault"]} for each message sent; each message of the minter as
 * {"type":"ANSWER","id","of","code"[,"error","message","retry_after"],
 * ...the answer's fields}, {"type":"FATAL","why"}, {"type":"DURABLE",
 * "seq"}, ...; {"type":"timeout","waiting"}; {"type":"eof"};
 * {"type":"exit","status"} or {"type":"signal","signal"}; {"type":"sh",
 * "status"}; {"type":"error","message"} (the script's mistake, exit 2).
 * A minted token is printed: a test's own, signed by a test's key.  At the
 * end of the script the channel is closed and the minter waited for
 * (killed after the guard: "killed").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>

#include "../../broker/minter/proto.h"

/* Every hang guard's default, in milliseconds. */
#define DRIVE_GUARD_MS 10000
/* Requests sent and not yet answered, at most: past the minter's 8192 orders in flight. */
#define DRIVE_MAX_PENDING 16384

/* A growing byte buffer: a message being written, an unescaped text. */
struct buf {
	unsigned char *p;
	size_t len, cap;
};

/* What the next message sent gets changed by (next). */
struct mutation {
	bool version, type, id, length;
	uint32_t v_version, v_type, v_id, v_length;
	struct buf trailing;
	long long truncate;		/* -1: all of it goes */
};

/* A MINT's fields but kind, scope and ttl (set): the session's and caller's. */
struct order {
	struct buf name, workspace, exe, claims, session, approval, identity;
	int64_t uid, live, live_kind, cap, pid, pid_start;
};

static struct {
	int fd;				/* the channel; -1 once closed */
	bool wr_shut, rd_eof;
	pid_t pid;			/* the minter */
	bool reaped;
	struct proto_reader rd;
	uint32_t next_id;
	uint32_t pending[DRIVE_MAX_PENDING];
	size_t npending;
	struct mutation next;
	struct order o;
} d = { .fd = -1, .next.truncate = -1 };

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;

		if ((b->p = realloc(b->p, cap)) == NULL) {
			fputs("minterdrive: out of memory\n", stderr);
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_set(struct buf *b, const char *s)
{
	b->len = 0;
	buf_add(b, s, strlen(s));
}

static void
put32(struct buf *b, uint32_t v)
{
	unsigned char p[4];

	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, p, 4);
}

static void
put64(struct buf *b, int64_t v)
{
	put32(b, (uint32_t)(uint64_t)v);
	put32(b, (uint32_t)((uint64_t)v >> 32));
}

/* A text as the table writes one: u32 n, n bytes, one NUL. */
static void
put_text(struct buf *b, const struct buf *t)
{
	put32(b, (uint32_t)t->len);
	buf_add(b, t->p != NULL ? t->p : (const unsigned char *)"", t->len);
	buf_add(b, "", 1);
}

static void
put_cstr(struct buf *b, const char *s)
{
	struct buf t = { (unsigned char *)(uintptr_t)s, strlen(s), 0 };

	put_text(b, &t);
}

/* One object, one line; o is taken. */
static void
emit(json_t *o)
{
	if (o == NULL)
		return;
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

static void __attribute__((noreturn)) quit(int code);

/* The script's mistake: said, and the run ends (exit 2). */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(json_pack("{ssss}", "type", "error", "message", msg));
	quit(2);
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* s with its \xHH escapes made bytes, into t. */
static void
unescape(struct buf *t, const char *s)
{
	t->len = 0;
	buf_add(t, "", 0);
	while (*s != '\0') {
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			unsigned char c = (unsigned char)(hexval(s[2]) << 4 | hexval(s[3]));

			buf_add(t, &c, 1);
			s += 4;
		} else
			buf_add(t, s++, 1);
	}
}

/* Hex digits (spaces between bytes allowed) as bytes, into t. */
static void
unhex(struct buf *t, const char *s)
{
	t->len = 0;
	buf_add(t, "", 0);
	for (;;) {
		unsigned char c;

		while (*s == ' ')
			s++;
		if (*s == '\0')
			return;
		if (hexval(s[0]) < 0 || hexval(s[1]) < 0)
			bad("'%s' is not hex", s);
		c = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1]));
		buf_add(t, &c, 1);
		s += 2;
	}
}

static long long
number(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (*s == '\0' || *end != '\0' || errno != 0)
		bad("'%s' is not a number", s);
	return v;
}

/* The next word of *rest (NULL: none), *rest moved past it and one space. */
static char *
word(char **rest)
{
	char *w = *rest, *sp;

	while (*w == ' ')
		w++;
	if (*w == '\0')
		return NULL;
	if ((sp = strchr(w, ' ')) != NULL) {
		*sp = '\0';
		*rest = sp + 1;
	} else
		*rest = w + strlen(w);
	return w;
}

static char *
need_word(char **rest, const char *what)
{
	char *w = word(rest);

	if (w == NULL)
		bad("%s is missing", what);
	return w;
}

static int
now_ms_diff(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* The minter has exited (within ms): said once, "exit" or "signal". */
static bool
reap(int ms)
{
	struct timespec t0;
	int status;

	if (d.reaped)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t p = waitpid(d.pid, &status, WNOHANG);

		if (p == d.pid)
			break;
		if (p < 0 && errno != EINTR)
			return false;
		if (now_ms_diff(&t0) >= ms)
			return false;
		poll(NULL, 0, 10);
	}
	d.reaped = true;
	if (WIFEXITED(status))
		emit(json_pack("{sssi}", "type", "exit", "status", WEXITSTATUS(status)));
	else
		emit(json_pack("{sssi}", "type", "signal", "signal", WTERMSIG(status)));
	return true;
}

static void
unpend(uint32_t id)
{
	for (size_t i = 0; i < d.npending; i++)
		if (d.pending[i] == id) {
			d.pending[i] = d.pending[--d.npending];
			return;
		}
}

/* A JSON text of an answer, parsed when it parses, else as a string. */
static json_t *
json_text(const char *s)
{
	json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);

	return v != NULL ? v : json_string(s);
}

/* A blob as a string when it is UTF-8, else as hex. */
static json_t *
blob(const struct proto_blob *b)
{
	json_t *v = json_stringn((const char *)b->data, b->len);
	char *hex;

	if (v != NULL)
		return v;
	if ((hex = malloc(b->len * 2 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < b->len; i++)
		snprintf(hex + 2 * i, 3, "%02x", b->data[i]);
	v = json_string(hex);
	free(hex);
	return v;
}

static void
show_answer(json_t *o, const struct proto_msg *m)
{
	const struct proto_answer *a = &m->u.answer;

	json_object_set_new(o, "of", json_string(proto_type_name(a->of)));
	json_object_set_new(o, "code", json_integer(a->code));
	unpend(m->id);
	if (a->code != 0) {
		json_object_set_new(o, "error", json_string(errors_lookup(a->code)->name));
		json_object_set_new(o, "message", json_string(a->message));
		json_object_set_new(o, "retry_after", json_integer(a->retry_after));
		return;
	}
	switch (a->of) {
	case PROTO_MINT:
		json_object_set_new(o, "writ", json_string(a->r.mint.writ));
		json_object_set_new(o, "token", blob(&a->r.mint.token));
		json_object_set_new(o, "issued_at", json_integer(a->r.mint.issued_at));
		json_object_set_new(o, "expires_at", json_integer(a->r.mint.expires_at));
		json_object_set_new(o, "fingerprint", json_string(a->r.mint.fingerprint));
		setenv("WRIT", a->r.mint.writ, 1);
		setenv("FP", a->r.mint.fingerprint, 1);
		break;
	case PROTO_REVOKE_TOKEN:
		json_object_set_new(o, "writ", json_string(a->r.writ));
		break;
	case PROTO_PUBLIC_KEYS:
	case PROTO_AUDIT_VERIFY:
	case PROTO_SECRET_LIST:
		json_object_set_new(o, "json", json_text(a->r.json));
		break;
	case PROTO_AUDIT_APPEND:
	case PROTO_AUDIT_ROTATE:
		json_object_set_new(o, "seq", json_integer(a->r.seq));
		break;
	case PROTO_AUDIT_TAIL:
		json_object_set_new(o, "json", json_text(a->r.tail.json));
		json_object_set_new(o, "more", json_integer(a->r.tail.more));
		break;
	case PROTO_AUDIT_KEY:
		json_object_set_new(o, "key", json_string(a->r.key));
		break;
	}
}

/* One message of the minter's, as a line. */
static void
show(const struct proto_msg *m)
{
	json_t *o = json_pack("{sssI}", "type", proto_type_name(m->type), "id",
	    (json_int_t)m->id);

	switch (m->type) {
	case PROTO_HELLO:
		json_object_set_new(o, "version", json_integer(m->u.hello.version));
		break;
	case PROTO_ANSWER:
		show_answer(o, m);
		break;
	case PROTO_DURABLE:
		json_object_set_new(o, "seq", json_integer(m->u.durable.seq));
		break;
	case PROTO_ENDED:
		json_object_set_new(o, "writ", json_string(m->u.ended.writ));
		json_object_set_new(o, "event", json_string(m->u.ended.event));
		break;
	case PROTO_FATAL:
		json_object_set_new(o, "why", json_string(m->u.fatal.why));
		break;
	case PROTO_RESTORED:
		json_object_set_new(o, "writ", json_string(m->u.restored.writ));
		json_object_set_new(o, "session", json_string(m->u.restored.session));
		json_object_set_new(o, "name", json_string(m->u.restored.name));
		json_object_set_new(o, "kind", json_string(m->u.restored.kind));
		json_object_set_new(o, "scope", json_text(m->u.restored.scope));
		json_object_set_new(o, "expires_at", json_integer(m->u.restored.expires_at));
		break;
	}
	emit(o);
}

/*
 * Read and print what the minter sends until done() holds, ms pass, or
 * the channel ends (then the minter is waited for, within what is left).
 * Returns done()'s last word.
 */
static bool
pump(int ms, bool (*done)(void))
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const unsigned char *msg;
		struct proto_fault f;
		struct proto_msg m;
		size_t len;
		int r, left;

		if (done != NULL && done())
			return true;
		if (d.fd < 0 || d.rd_eof) {
			(void)reap(ms - now_ms_diff(&t0) > 0 ? ms - now_ms_diff(&t0) : 0);
			return done != NULL && done();
		}
		r = proto_reader_next(&d.rd, &msg, &len, &f);
		if (r < 0) {
			emit(json_pack("{ssss}", "type", "undecodable", "fault", f.msg));
			d.rd_eof = true;
			continue;
		}
		if (r == 1) {
			if (proto_decode(msg, len, PROTO_MINTER, &m, &f) != 0)
				emit(json_pack("{ssss}", "type", "undecodable", "fault", f.msg));
			else
				show(&m);
			continue;
		}
		if ((left = ms - now_ms_diff(&t0)) <= 0)
			return false;
		if (poll(&(struct pollfd){ .fd = d.fd, .events = POLLIN }, 1, left) <= 0)
			continue;
		r = proto_reader_read(&d.rd, d.fd);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			emit(json_pack("{ss}", "type", "eof"));
			d.rd_eof = true;
		}
	}
}

static bool
answered(void)
{
	return d.npending == 0;
}

static bool
exited(void)
{
	return d.reaped;
}

/*
 * Send message b (header and fields), changed by the pending mutation:
 * said with what proto_decode makes of it; a request it takes waits for
 * its answer (sync).
 */
static void
send_msg(struct buf *b)
{
	struct mutation *x = &d.next;
	struct proto_fault f;
	struct proto_msg m;
	size_t n, done = 0;
	json_t *o;
	uint32_t type;

	if (x->trailing.len > 0)
		buf_add(b, x->trailing.p, x->trailing.len);
	for (int i = 0; i < 4; i++)
		b->p[i] = (unsigned char)(b->len >> (8 * i));
	if (x->length)
		for (int i = 0; i < 4; i++)
			b->p[i] = (unsigned char)(x->v_length >> (8 * i));
	if (x->version)
		for (int i = 0; i < 4; i++)
			b->p[4 + i] = (unsigned char)(x->v_version >> (8 * i));
	if (x->type)
		for (int i = 0; i < 4; i++)
			b->p[8 + i] = (unsigned char)(x->v_type >> (8 * i));
	if (x->id)
		for (int i = 0; i < 4; i++)
			b->p[12 + i] = (unsigned char)(x->v_id >> (8 * i));
	n = x->truncate >= 0 && (size_t)x->truncate < b->len ? (size_t)x->truncate : b->len;
	free(x->trailing.p);
	*x = (struct mutation){ .truncate = -1 };

	type = n >= 12 ? (uint32_t)b->p[8] | (uint32_t)b->p[9] << 8 | (uint32_t)b->p[10] << 16 |
	    (uint32_t)b->p[11] << 24 : 0;
	o = json_pack("{sssssI}", "type", "sent", "msg", proto_type_name(type), "bytes",
	    (json_int_t)n);
	if (n >= 16)
		json_object_set_new(o, "id", json_integer((uint32_t)b->p[12] |
		    (uint32_t)b->p[13] << 8 | (uint32_t)b->p[14] << 16 | (uint32_t)b->p[15] << 24));
	if (proto_decode(b->p, n, PROTO_FRONT, &m, &f) != 0)
		json_object_set_new(o, "fault", json_string(f.msg));
	else if (m.type >= PROTO_MINT && m.type <= PROTO_STOP) {
		if (d.npending == DRIVE_MAX_PENDING)
			bad("more than %d requests unanswered", DRIVE_MAX_PENDING);
		d.pending[d.npending++] = m.id;
	}
	emit(o);
	if (d.fd < 0 || d.wr_shut)
		bad("the channel is closed for writing");
	while (done < n) {
		ssize_t w = write(d.fd, b->p + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			emit(json_pack("{ssss}", "type", "write_failed", "error", strerror(errno)));
			break;
		}
		done += (size_t)w;
	}
	free(b->p);
}

/* A header for a message of type with the next request id (id 0: none). */
static void
begin(struct buf *b, uint32_t type, bool request)
{
	*b = (struct buf){ 0 };
	put32(b, 0);			/* the length: send_msg fills it in */
	put32(b, PROTO_VERSION);
	put32(b, type);
	put32(b, request ? ++d.next_id : 0);
}

static uint32_t
type_arg(const char *s)
{
	for (uint32_t t = 1; t < PROTO_NTYPES; t++)
		if (strcasecmp(proto_type_name(t), s) == 0)
			return t;
	return (uint32_t)number(s);
}

static void
c_hello(char *rest)
{
	char *v = word(&rest);
	struct buf b;

	begin(&b, PROTO_HELLO, false);
	put32(&b, v != NULL ? (uint32_t)number(v) : PROTO_VERSION);
	send_msg(&b);
}

/* A hex32 field: the text given, which must be 32 bytes. */
static void
put_hex32(struct buf *b, const struct buf *t, const char *what)
{
	if (t->len != WRIT_ID_LEN)
		bad("%s must be %d bytes, not %zu", what, WRIT_ID_LEN, t->len);
	buf_add(b, t->p, t->len);
}

static void
c_set(char *rest)
{
	static const struct {
		const char *name;
		size_t text, num;	/* offsets in struct order, (size_t)-1: not */
	} fields[] = {
#define T(f) { #f, offsetof(struct order, f), (size_t)-1 }
#define I(f) { #f, (size_t)-1, offsetof(struct order, f) }
		T(name), T(workspace), I(uid), T(exe), I(live), I(live_kind), T(claims),
		I(cap), T(session), I(pid), I(pid_start), T(approval), T(identity),
#undef T
#undef I
	};
	char *f = need_word(&rest, "the field");

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(fields[i].name, f) != 0)
			continue;
		if (fields[i].text != (size_t)-1)
			unescape((struct buf *)((char *)&d.o + fields[i].text), rest);
		else
			*(int64_t *)(void *)((char *)&d.o + fields[i].num) =
			    number(need_word(&rest, "the value"));
		return;
	}
	bad("no MINT field '%s'", f);
}

static void
c_mint(char *rest)
{
	char *kind = need_word(&rest, "the kind"), *ttl = need_word(&rest, "the ttl");
	struct buf b, t = { 0 };

	begin(&b, PROTO_MINT, true);
	unescape(&t, kind);
	put_text(&b, &t);
	unescape(&t, rest);
	put_text(&b, &t);
	put64(&b, number(ttl));
	put_text(&b, &d.o.name);
	put_text(&b, &d.o.workspace);
	put32(&b, (uint32_t)d.o.uid);
	put_text(&b, &d.o.exe);
	put32(&b, (uint32_t)d.o.live);
	put32(&b, (uint32_t)d.o.live_kind);
	put_text(&b, &d.o.claims);
	put64(&b, d.o.cap);
	put_hex32(&b, &d.o.session, "the session");
	put32(&b, (uint32_t)d.o.pid);
	put64(&b, d.o.pid_start);
	put_text(&b, &d.o.approval);
	put_text(&b, &d.o.identity);
	free(t.p);
	send_msg(&b);
}

static void
c_revoke(char *rest)
{
	char *writ = need_word(&rest, "the writ");
	struct buf b, t = { 0 };

	begin(&b, PROTO_REVOKE, true);
	unescape(&t, strcmp(writ, "last") == 0 && getenv("WRIT") != NULL ? getenv("WRIT") : writ);
	put_hex32(&b, &t, "the writ");
	unescape(&t, rest);
	put_text(&b, &t);
	free(t.p);
	send_msg(&b);
}

static void
c_append(char *rest)
{
	char *event = need_word(&rest, "the event");
	struct buf b, t = { 0 };

	begin(&b, PROTO_AUDIT_APPEND, true);
	unescape(&t, event);
	put_text(&b, &t);
	unescape(&t, rest);
	put_text(&b, &t);
	free(t.p);
	send_msg(&b);
}

static void
c_tail(char *rest)
{
	struct buf b;

	begin(&b, PROTO_AUDIT_TAIL, true);
	put32(&b, (uint32_t)number(need_word(&rest, "n")));
	put_cstr(&b, "");
	put64(&b, 0);
	put64(&b, 0);
	send_msg(&b);
}

static void
c_secret_put(char *rest)
{
	struct buf b, t = { 0 };

	begin(&b, PROTO_SECRET_PUT, true);
	unescape(&t, need_word(&rest, "the name"));
	put_text(&b, &t);
	unhex(&t, rest);
	put32(&b, (uint32_t)t.len);
	buf_add(&b, t.p, t.len);
	free(t.p);
	send_msg(&b);
}

static void
c_secret_del(char *rest)
{
	struct buf b, t = { 0 };

	begin(&b, PROTO_SECRET_DEL, true);
	unescape(&t, need_word(&rest, "the name"));
	put_text(&b, &t);
	free(t.p);
	send_msg(&b);
}

static void
c_verify(char *rest)
{
	struct buf b, t = { 0 };

	begin(&b, PROTO_AUDIT_VERIFY, true);
	unescape(&t, rest);
	put_text(&b, &t);
	free(t.p);
	put_cstr(&b, "");
	send_msg(&b);
}

static void
c_public_keys(char *rest)
{
	struct buf b, t = { 0 };

	begin(&b, PROTO_PUBLIC_KEYS, true);
	unescape(&t, need_word(&rest, "the kind"));
	put_text(&b, &t);
	free(t.p);
	send_msg(&b);
}

/* The requests without fields, by their command's name. */
static void
c_bare(uint32_t type)
{
	struct buf b;

	begin(&b, type, true);
	send_msg(&b);
}

static void c_restore(char *rest) { (void)rest; c_bare(PROTO_RESTORE); }
static void c_expire(char *rest) { (void)rest; c_bare(PROTO_EXPIRE); }
static void c_reload(char *rest) { (void)rest; c_bare(PROTO_RELOAD); }
static void c_stop(char *rest) { (void)rest; c_bare(PROTO_STOP); }
static void c_audit_key(char *rest) { (void)rest; c_bare(PROTO_AUDIT_KEY); }
static void c_secret_list(char *rest) { (void)rest; c_bare(PROTO_SECRET_LIST); }

static void
c_frame(char *rest)
{
	uint32_t type = type_arg(need_word(&rest, "the type"));
	long long id = number(need_word(&rest, "the id"));
	struct buf b, body = { 0 };

	begin(&b, type, false);
	b.len = 12;
	put32(&b, (uint32_t)id);
	unhex(&body, rest);
	buf_add(&b, body.p, body.len);
	free(body.p);
	send_msg(&b);
}

static void
c_raw(char *rest)
{
	struct buf b = { 0 };
	struct proto_fault f;
	struct proto_msg m;
	size_t done = 0;
	json_t *o;

	unhex(&b, rest);
	o = json_pack("{sssssI}", "type", "sent", "msg", "raw", "bytes", (json_int_t)b.len);
	if (proto_decode(b.p, b.len, PROTO_FRONT, &m, &f) != 0)
		json_object_set_new(o, "fault", json_string(f.msg));
	emit(o);
	if (d.fd < 0 || d.wr_shut)
		bad("the channel is closed for writing");
	while (done < b.len) {
		ssize_t w = write(d.fd, b.p + done, b.len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			emit(json_pack("{ssss}", "type", "write_failed", "error", strerror(errno)));
			break;
		}
		done += (size_t)w;
	}
	free(b.p);
}

static void
c_next(char *rest)
{
	struct mutation *x = &d.next;
	char *w;

	while ((w = word(&rest)) != NULL) {
		char *v = strchr(w, '=');

		if (v == NULL)
			bad("'%s' is not NAME=VALUE", w);
		*v++ = '\0';
		if (strcmp(w, "trailing") == 0)
			unhex(&x->trailing, v);
		else if (strcmp(w, "truncate") == 0)
			x->truncate = number(v);
		else if (strcmp(w, "version") == 0)
			x->version = true, x->v_version = (uint32_t)number(v);
		else if (strcmp(w, "type") == 0)
			x->type = true, x->v_type = type_arg(v);
		else if (strcmp(w, "id") == 0)
			x->id = true, x->v_id = (uint32_t)number(v);
		else if (strcmp(w, "length") == 0)
			x->length = true, x->v_length = (uint32_t)number(v);
		else
			bad("no mutation '%s'", w);
	}
}

static int
guard_arg(char *rest)
{
	char *w = word(&rest);

	return w != NULL ? (int)number(w) : DRIVE_GUARD_MS;
}

static void
c_sync(char *rest)
{
	json_t *ids;

	if (pump(guard_arg(rest), answered))
		return;
	ids = json_array();
	for (size_t i = 0; i < d.npending; i++)
		json_array_append_new(ids, json_integer(d.pending[i]));
	emit(json_pack("{ssso}", "type", "timeout", "waiting", ids));
}

static void
c_drain(char *rest)
{
	if (!pump(guard_arg(rest), exited))
		emit(json_pack("{ssss}", "type", "timeout", "waiting", "exit"));
}

static void
c_sleep(char *rest)
{
	(void)pump((int)number(need_word(&rest, "the milliseconds")), NULL);
}

static void
c_eof(char *rest)
{
	(void)rest;
	if (d.fd >= 0 && !d.wr_shut)
		(void)shutdown(d.fd, SHUT_WR);
	d.wr_shut = true;
}

static void
c_close(char *rest)
{
	(void)rest;
	if (d.fd >= 0)
		close(d.fd);
	d.fd = -1;
}

static void
c_sh(char *rest)
{
	int st;

	fflush(stdout);
	st = system(rest);
	emit(json_pack("{sssi}", "type", "sh", "status", st == -1 ? -1 :
	    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)));
}

static const struct {
	const char *name;
	void (*fn)(char *rest);
} commands[] = {
	{ "hello", c_hello }, { "set", c_set }, { "mint", c_mint }, { "revoke", c_revoke },
	{ "append", c_append }, { "tail", c_tail }, { "verify", c_verify }, { "public_keys", c_public_keys },
	{ "restore", c_restore }, { "expire", c_expire }, { "reload", c_reload },
	{ "stop", c_stop }, { "audit_key", c_audit_key }, { "secret_list", c_secret_list },
	{ "secret_put", c_secret_put }, { "secret_del", c_secret_del },
	{ "frame", c_frame }, { "raw", c_raw }, { "next", c_next }, { "sync", c_sync },
	{ "drain", c_drain }, { "sleep", c_sleep }, { "eof", c_eof }, { "close", c_close },
	{ "sh", c_sh },
};

/* The end of the run: the channel closed, the minter waited for (or killed). */
static void __attribute__((noreturn))
quit(int code)
{
	if (d.pid > 0 && !d.reaped) {
		c_close(NULL);
		if (!reap(DRIVE_GUARD_MS)) {
			kill(d.pid, SIGKILL);
			emit(json_pack("{ss}", "type", "killed"));
			(void)reap(DRIVE_GUARD_MS);
		}
	}
	exit(code);
}

/* The configuration's text in a memfd, as writd hands it over. */
static int
config_fd(const char *path)
{
	char chunk[4096];
	int in = open(path, O_RDONLY | O_CLOEXEC), mfd;
	ssize_t n;

	if (in < 0 || (mfd = memfd_create("writd-config", MFD_CLOEXEC)) < 0) {
		fprintf(stderr, "minterdrive: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	while ((n = read(in, chunk, sizeof(chunk))) > 0)
		if (write(mfd, chunk, (size_t)n) != n) {
			fprintf(stderr, "minterdrive: the config's copy: %s\n", strerror(errno));
			exit(1);
		}
	close(in);
	(void)lseek(mfd, 0, SEEK_SET);
	return mfd;
}

/* In the child: the channel on 3, the config on 4 (link.c's exec_minter). */
static void __attribute__((noreturn))
exec_minter(const char *path, int chan, int cfd, char **argv)
{
	int from[2] = { chan, cfd };
	sigset_t stop;

	for (int i = 0; i < 2; i++)
		if (from[i] >= 0 && (from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(127);
	for (int i = 0; i < 2; i++)
		if (from[i] >= 0 && dup2(from[i], 3 + i) < 0)
			_exit(127);
	/* What stops a process stays blocked across exec, as writd leaves it. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigaddset(&stop, SIGQUIT);
	sigprocmask(SIG_SETMASK, &stop, NULL);
	execv(path, argv);
	fprintf(stderr, "minterdrive: cannot run %s: %s\n", path, strerror(errno));
	_exit(127);
}

static void
usage(void)
{
	fputs("usage: minterdrive --runtime-dir D --state-dir S --enterprise-policy E "
	    "[--policy U] [--config FILE] [--minter PATH] <SCRIPT\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "enterprise-policy", required_argument, NULL, 'e' },
		{ "policy", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "minter", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	char *margv[16], minter[PATH_MAX], self[PATH_MAX], num[32], *line = NULL, *slash;
	const char *run = NULL, *state = NULL, *ent = NULL, *user = NULL, *config = NULL;
	size_t cap = 0;
	ssize_t n;
	int c, sv[2], cfd = -1, k = 0;

	minter[0] = '\0';
	/* --table: the request table's numbers, for a test's stand-in minter. */
	if (argc == 2 && strcmp(argv[1], "--table") == 0) {
		printf("VERSION=%d HELLO=%d REVOKE=%d SECRET_DEL=%d PEER=%d RESTORE=%d "
		    "EXPIRE=%d RELOAD=%d STOP=%d ANSWER=%d FATAL=%d\n", PROTO_VERSION,
		    PROTO_HELLO, PROTO_REVOKE, PROTO_SECRET_DEL, PROTO_PEER, PROTO_RESTORE,
		    PROTO_EXPIRE, PROTO_RELOAD, PROTO_STOP, PROTO_ANSWER, PROTO_FATAL);
		return 0;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': run = optarg; break;
		case 's': state = optarg; break;
		case 'e': ent = optarg; break;
		case 'p': user = optarg; break;
		case 'c': config = optarg; break;
		case 'm': snprintf(minter, sizeof(minter), "%s", optarg); break;
		default: usage();
		}
	}
	if (optind != argc || run == NULL || state == NULL || ent == NULL)
		usage();
	if (minter[0] == '\0') {
		/* Beside this program, as writd finds it beside itself. */
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (len <= 0 || (self[len] = '\0', slash = strrchr(self, '/')) == NULL)
			usage();
		snprintf(minter, sizeof(minter), "%.*s/writd-minter", (int)(slash - self), self);
	}
	signal(SIGPIPE, SIG_IGN);
	buf_set(&d.o.name, "drive");
	buf_set(&d.o.exe, "/usr/bin/minterdrive");
	buf_set(&d.o.session, "5e55105e55105e55105e55105e551050");
	d.o.uid = getuid();
	if (config != NULL)
		cfd = config_fd(config);
	margv[k++] = "writd-minter";
	margv[k++] = "--runtime-dir";
	margv[k++] = (char *)run;
	margv[k++] = "--state-dir";
	margv[k++] = (char *)state;
	margv[k++] = "--enterprise-policy";
	margv[k++] = (char *)ent;
	if (user != NULL) {
		margv[k++] = "--policy";
		margv[k++] = (char *)user;
	}
	if (cfd >= 0)
		margv[k++] = "--config-fd=4";
	margv[k] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    proto_reader_init(&d.rd, PROTO_MAX_ANSWER) != 0 || (d.pid = fork()) < 0) {
		fprintf(stderr, "minterdrive: cannot start the minter: %s\n", strerror(errno));
		return 1;
	}
	if (d.pid == 0)
		exec_minter(minter, sv[1], cfd, margv);
	close(sv[1]);
	if (cfd >= 0)
		close(cfd);
	d.fd = sv[0];
	snprintf(num, sizeof(num), "%d", (int)d.pid);
	setenv("MINTER", num, 1);
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv("DRIVER", num, 1);
	emit(json_pack("{sssi}", "type", "started", "pid", (int)d.pid));

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		char *rest = line, *cmd;
		size_t i;

		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((cmd = word(&rest)) == NULL || cmd[0] == '#')
			continue;
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(commands[i].name, cmd) == 0)
				break;
		if (i == sizeof(commands) / sizeof(commands[0]))
			bad("no command '%s'", cmd);
		commands[i].fn(rest);
	}
	free(line);
	quit(0);
}
