/*
 * proto.h - the request table between writd's front end and its minter.
 *
 * The front end (HTTP, JSON, sessions, policy, approvals) holds no
 * long-lived key; the minter (the secret store, the kinds' keys and
 * minting, the audit journal and the ledger) does.  They talk over a
 * socketpair in the messages below and nothing else.  The front end is
 * the side that parses what sandboxes send, so the minter treats every
 * byte from it as hostile: this table is fixed, versioned and
 * length-checked, and its decoder is strict.  Pure (libc, id.c and
 * errors.c only; no writd global), so that both processes and the fuzzer
 * (tests/fuzz/fuzz_proto.c) link it alone.
 *
 * Wire format.  Little-endian throughout (both ends run on one host; the
 * code reads and writes byte by byte, so it is right on any host).  A
 * message is a header of four u32, then the fields of its type in the
 * order listed here, nothing between them and nothing after:
 *
 *	u32 length	the whole message, header included: PROTO_HEADER ..
 *			PROTO_MAX_REQUEST (front end) or PROTO_MAX_ANSWER (minter)
 *	u32 version	PROTO_VERSION
 *	u32 type	PROTO_HELLO ... PROTO_RESTORED, and one the sender sends
 *	u32 id		a request's id (not 0), which its ANSWER echoes;
 *			0 on HELLO and on the minter's notices
 *
 * The header's layout is the same in every version, so that a peer of
 * another version is told apart from garbage (PROTO_FVERSION names its
 * version).  Field types:
 *
 *	u32	4 bytes, unsigned
 *	i64	8 bytes, two's complement
 *	text	u32 n, n bytes, one NUL byte.  No NUL among the n bytes; valid
 *		UTF-8 (RFC 3629: no overlong form, no surrogate, nothing above
 *		U+10FFFF); n within the field's bounds; some fields have a
 *		form on top (below).  The NUL on the wire makes a decoded text
 *		a C string in place (D-Bus strings do the same).
 *	blob	u32 n, n bytes, any bytes (tokens, secret values)
 *	hex32	32 bytes, lower-case hex digits (id.h's WRIT_ID_LEN, id_valid):
 *		writ and session ids, token fingerprints
 *
 * Integers have fixed widths, so each value has one encoding; "canonical"
 * here means in the field's range (a TTL is positive, a pid at most the
 * kernel's limit, an error code one of errors.h's), and anything else is
 * refused.  Text forms: "word" is [a-z0-9_]; "optid" is empty or an id;
 * "secret name" is id.h's secret_name_valid; "path" is empty or absolute;
 * "workspace" is empty or '/' and printable ASCII (session.c's rule for a
 * session's workspace); "exe" is '/' and printable ASCII (what peer.c
 * reads from /proc, made printable there) or exactly WRIT_EXE_UNVERIFIED
 * (peer.h: a relayed caller); "peer exe" is '/' and printable ASCII, or
 * exactly "?" (unreadable); "shown" is printable ASCII; "end" is
 * "expired" or "revoked".  A JSON
 * text is only bounded and valid UTF-8 here: whether it parses, and to
 * an object, is for its reader (orderwire.c parses a MINT's strictly;
 * order.c checks what they hold).
 *
 * Refusals.  A message is refused whole, with errors.h's WRIT_EBADREQ (or
 * WRIT_ETOOBIG for a length over the maximum) and a proto_fault naming
 * why, one PROTO_F* per kind of malformation, and where.  A type the
 * sending side does not send (an ANSWER from the front end, a MINT from
 * the minter) is refused like an unknown one.
 *
 * Sizes.  What the front end sends is at most PROTO_MAX_REQUEST (64 KiB):
 * the minter never buffers more than that from the untrusted side, and
 * the largest request (SECRET_PUT, a value of PROTO_MAX_SECRET bytes) fits
 * with room.  What the minter sends is at most PROTO_MAX_ANSWER (1 MiB):
 * a secret list, a verify report, a page of audit records.  A tail of up
 * to PROTO_MAX_TAIL records of up to WRIT_MAX_AUDIT_RECORD bytes each can
 * be far larger, so AUDIT_TAIL is paged (see there): bounded either way.
 * proto_bound gives the largest encoding of each type; the unit tests
 * hold it to these limits.
 *
 * Decoding gives views: a decoded text or blob points into the buffer
 * decoded, which must outlive the message (texts end in their NUL there);
 * hex32 fields are copied into the message.  Nothing is allocated.
 * Tokens and secret values are thus never copied by this module: whoever
 * holds the buffer wipes it (proto_reader does).
 */
#ifndef WRIT_PROTO_H
#define WRIT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "auditfmt.h"
#include "../peer.h"
#include "errors.h"
#include "id.h"

/* Bumped on any change of a message's fields, their order or their rules. */
#define PROTO_VERSION 4

/* The header: length, version, type, id. */
#define PROTO_HEADER 16
/* Largest message the front end sends (see Sizes above). */
#define PROTO_MAX_REQUEST (64 * 1024)
/* Largest message the minter sends. */
#define PROTO_MAX_ANSWER (1024 * 1024)
/* Largest JSON text in an answer: room left for the header and the other fields. */
#define PROTO_MAX_ANSWER_TEXT (PROTO_MAX_ANSWER - 1024)

/*
 * Field bounds.  Some repeat a limit of a module the table must not link
 * (store.h, session.h, ledger.h, route.c); check_proto holds them equal.
 */
#define PROTO_MAX_KIND 32		/* a kind's name */
#define PROTO_MAX_WORD 64		/* an audit event's name, why a rotation */
#define PROTO_MAX_SESSION_NAME 64	/* = WRIT_MAX_SESSION_NAME (session.h) */
#define PROTO_MAX_REASON 256		/* why a writ is revoked */
#define PROTO_MAX_MESSAGE (WRIT_ERRLEN - 1)	/* an error message, a FATAL's why */
#define PROTO_MAX_PATH 4096		/* a log to verify: PATH_MAX */
#define PROTO_MAX_WORKSPACE 4095	/* session.c's valid_workspace: under 4096 */
/* A caller's exe: peer.h's struct peer keeps it in 256 bytes. */
#define PROTO_MAX_EXE 255
/* A caller's working directory: struct peer keeps it in 256 bytes too. */
#define PROTO_MAX_CWD 255
/*
 * A session's live writs, as policy counts them: policy.c's largest
 * max_live (100000).  A count past it decides as this one does, so the
 * front end sends min(count, PROTO_MAX_LIVE) (orderwire.c).
 */
#define PROTO_MAX_LIVE 100000
/* A scope, an identity, an audit record's fields: each ends up inside one record. */
#define PROTO_MAX_JSON WRIT_MAX_AUDIT_RECORD
#define PROTO_MAX_SECRET 32000		/* = WRIT_MAX_SECRET (store.h) */
/*
 * A token: a JWT carries its scope (at most PROTO_MAX_JSON) in base64url,
 * an SSH certificate its principals and options; both well under this.
 */
#define PROTO_MAX_TOKEN (32 * 1024)
#define PROTO_MAX_TAIL 100000		/* records in one AUDIT_TAIL: route.c's tail= */
#define PROTO_MAX_PID 4194304		/* the kernel's PID_MAX_LIMIT */
#define PROTO_MAX_TIME ((int64_t)1 << 40)	/* = WRIT_LEDGER_MAX_TIME (ledger.h) */
#define PROTO_MAX_TTL (366LL * 24 * 3600)	/* = WRIT_MAX_DURATION (duration.h) */
#define PROTO_MAX_RETRY 86400		/* seconds in a retry_after: a day */

/*
 * A request id with this bit set asks no answer on success (AUDIT_APPEND
 * only; every other request is answered whatever its id).
 */
#define PROTO_NO_SUCCESS 0x80000000u

/* Which side sends a message; a decoder is told which side it reads from. */
#define PROTO_FRONT 1
#define PROTO_MINTER 2

/*
 * The messages.  F->M: the front end sends it, with a request id, and the
 * minter answers it with one ANSWER of that id.  M->F: the minter sends
 * it.  Every field listed is present, in this order.  "Answer:" lists what
 * an ANSWER with code 0 carries after its generic part; an ANSWER with an
 * error code carries nothing more.
 */
enum proto_type {
	/*
	 * HELLO, both ways, request id 0: the first message each side sends.
	 *   u32 version	PROTO_VERSION (as in the header)
	 * Each side checks the other's and stops on a mismatch; no ANSWER.
	 */
	PROTO_HELLO = 1,
	/*
	 * MINT, F->M: issue one writ, decided (by policy or a person) by the
	 * front end: minter.h's struct mint_order, field by field.  First
	 * its policy_request (policy.h), the request as the front end put it
	 * to policy, which the minter decides again by the enterprise layer:
	 *   text kind		1..PROTO_MAX_KIND, word: a kind's name
	 *   text scope		2..PROTO_MAX_JSON: the canonical scope, a JSON
	 *			object, in its canonical text (compact, keys
	 *			sorted: orderwire.c holds the minter to it)
	 *   i64 ttl		1..PROTO_MAX_TTL seconds asked for
	 *   text name		1..PROTO_MAX_SESSION_NAME: the session's name
	 *   text workspace	0..PROTO_MAX_WORKSPACE, workspace: the
	 *			session's, or empty for none
	 *   u32 uid		0..UINT32_MAX - 1: the caller's ((uid_t)-1 is
	 *			no one's)
	 *   text exe		1..PROTO_MAX_EXE, exe: the caller's
	 *   u32 live		0..PROTO_MAX_LIVE: the session's live writs
	 *   u32 live_kind	0..live: ... of this kind
	 *   text claims	0..PROTO_MAX_JSON: the session's verified job
	 *			claims, a JSON object, or empty for none
	 * then the rest of the order:
	 *   i64 cap		0..PROTO_MAX_TIME: expires_at may not pass this
	 *			(a CI job's identity expiry), 0 for none
	 *   hex32 session	the session's id
	 *   u32 pid		0..PROTO_MAX_PID: the process the session is
	 *			tied to, 0 for none (the ledger's entry)
	 *   i64 pid_start	0..INT64_MAX: that process's start time, 0 unknown
	 *   text approval	optid: the approval's id, empty when a rule allowed
	 *   text identity	0..PROTO_MAX_JSON: the session's job identity, a
	 *			JSON object, or empty for none (its "issued"
	 *			record carries it)
	 * No writ id: the minter makes each writ's id itself, fresh by
	 * construction.  It checks again what the front end decided
	 * (order.h's order_check: the kind exists, the scope re-canonicalizes
	 * to itself, the TTL is within the kind's maximum, the enterprise
	 * layer neither denies nor limits it), and writes the ledger entry
	 * and the durable "issued" record before it answers.  NB. what the
	 * policy request says of the caller and the session (uid, exe, live
	 * counts, claims) is the front end's word.
	 * Answer:
	 *   hex32 writ		the new writ's id
	 *   blob token		1..PROTO_MAX_TOKEN (secret: wipe the buffer)
	 *   i64 issued_at	1..PROTO_MAX_TIME, Unix seconds
	 *   i64 expires_at	issued_at..PROTO_MAX_TIME
	 *   hex32 fingerprint	the token's keyed fingerprint, as audited
	 * Errors: order_check's, the kind's (retry_after set on
	 * WRIT_EUPLIMIT), WRIT_EAUDIT, WRIT_ECLOSED (a job's identity expired).
	 */
	PROTO_MINT,
	/*
	 * REVOKE, F->M: end writ writ now (upstream where its kind can).
	 *   hex32 writ
	 *   text reason	1..PROTO_MAX_REASON: for its "revoked" record
	 * Answer: nothing (the code).  WRIT_ENOTFOUND: no live writ of that id.
	 */
	PROTO_REVOKE,
	/*
	 * REVOKE_TOKEN, F->M: end the live writ of session session whose
	 * token this is (git credential erase gives back a token, not an
	 * id).  The minter compares in constant time.
	 *   text session	optid: the session's, or empty for any (the
	 *			admin socket's caller)
	 *   blob token		1..PROTO_MAX_TOKEN (secret: wipe the buffer)
	 * Answer:
	 *   hex32 writ		the writ revoked
	 * WRIT_ENOTFOUND: no live writ of that session holds that token.
	 */
	PROTO_REVOKE_TOKEN,
	/*
	 * PUBLIC_KEYS, F->M: what a verifier of kind's tokens needs.
	 *   text kind		1..PROTO_MAX_KIND, word
	 * Answer:
	 *   text json		1..PROTO_MAX_ANSWER_TEXT: the kind's public_keys
	 * WRIT_EKIND: no such kind; WRIT_ENOTFOUND: it has none.
	 */
	PROTO_PUBLIC_KEYS,
	/*
	 * THROTTLED, F->M: is upstream refusing scope for now (kind.h's
	 * throttled slot)?  Asked before anyone is asked to approve.
	 *   text kind		1..PROTO_MAX_KIND, word
	 *   text scope		2..PROTO_MAX_JSON: canonical
	 * Answer: nothing; the code is 0 (not throttled) or WRIT_EUPLIMIT
	 * with retry_after and a message.
	 */
	PROTO_THROTTLED,
	/*
	 * AUDIT_APPEND, F->M: append one record; the minter assigns its seq
	 * and refuses events only it writes ("issued", "rotated",
	 * "checkpoint", ...) and fields that set a record's own members
	 * ("event", "seq", "time", "mac").
	 *   text event		1..PROTO_MAX_WORD, word
	 *   text fields	2..PROTO_MAX_JSON: a JSON object, its members
	 * Answer:
	 *   i64 seq		1..INT64_MAX; DURABLE says when it is on disk
	 * NB. when the request id has PROTO_NO_SUCCESS set, a success is not
	 * answered, only a refusal (WRIT_EAUDIT: the log is broken): the front
	 * end's records are many, and their answers would cost a message each.
	 */
	PROTO_AUDIT_APPEND,
	/*
	 * AUDIT_TAIL, F->M: the last n records (of one session; newer than
	 * after; older than before), oldest first.
	 *   u32 n		0..PROTO_MAX_TAIL
	 *   text session	optid: only this session's records, or all
	 *   i64 after		0..INT64_MAX: a seq, 0 for none
	 *   i64 before		0..INT64_MAX: a seq, 0 for none (paging, below)
	 * Answer:
	 *   text json		2..PROTO_MAX_ANSWER_TEXT: a JSON array of records
	 *   i64 more		0..INT64_MAX: 0 when the array holds all n asked
	 *			for; else the oldest record's seq in it, as
	 *			records were left out to fit: ask again with
	 *			before = more and n less what came
	 * Paged because n records of up to WRIT_MAX_AUDIT_RECORD bytes can
	 * exceed any one message; a page holds whole records, at least one.
	 */
	PROTO_AUDIT_TAIL,
	/*
	 * AUDIT_VERIFY, F->M: check the audit chain (audit.h's audit_verify).
	 *   text file		0..PROTO_MAX_PATH, path: a log moved aside, or
	 *			empty for writd's own
	 *   text checkpoint	0..PROTO_MAX_JSON: a checkpoint's line from the
	 *			syslog mirror to hold the log against, or empty
	 * (Both added to the table's first list: POST /v1/audit/verify
	 * takes them.)
	 * Answer:
	 *   text json		2..PROTO_MAX_ANSWER_TEXT: the report object
	 */
	PROTO_AUDIT_VERIFY,
	/*
	 * AUDIT_ROTATE, F->M: the next records go to a new file.
	 *   text why		1..PROTO_MAX_WORD, word: "admin", "signal"
	 * Answer:
	 *   i64 seq		1..INT64_MAX: the "rotated" record's
	 * WRIT_EAUDIT: the log is broken.
	 */
	PROTO_AUDIT_ROTATE,
	/*
	 * AUDIT_KEY, F->M: the audit checkpoints' Ed25519 public key (GET
	 * /v1/audit/key; added: its key pair is in the minter's store).
	 * No fields.
	 * Answer:
	 *   text key		64 hex digits
	 */
	PROTO_AUDIT_KEY,
	/*
	 * SECRET_PUT, F->M: set secret name (its value is never echoed,
	 * logged or answered).
	 *   text name		secret name
	 *   blob value		0..PROTO_MAX_SECRET (secret: wipe the buffer)
	 * Answer: nothing.
	 */
	PROTO_SECRET_PUT,
	/*
	 * SECRET_DEL, F->M: remove secret name.
	 *   text name		secret name
	 * Answer: nothing.  WRIT_ENOTFOUND: no such secret.
	 */
	PROTO_SECRET_DEL,
	/*
	 * SECRET_LIST, F->M: what the store holds, never values.  No fields.
	 * Answer:
	 *   text json		2..PROTO_MAX_ANSWER_TEXT: [{"name", "size",
	 *			"updated_at"}]; a store too big to list in one
	 *			message answers WRIT_ETOOBIG
	 */
	PROTO_SECRET_LIST,
	/*
	 * RESTORE, F->M, once, at start: the writs the last run left open.
	 * No fields.  The minter brings each back from its ledger (audited
	 * "restored"; one whose revocation was owed is revoked instead) and
	 * sends a RESTORED for each before the ANSWER; it answers once what
	 * it recorded meanwhile is durable.
	 * Answer: nothing.  WRIT_EAUDIT: the records could not be made durable.
	 */
	PROTO_RESTORE,
	/*
	 * EXPIRE, F->M: end the writs past their expiry now (a listing of
	 * live writs is then exact).  No fields.  The ENDED of each precedes
	 * the ANSWER.
	 * Answer: nothing.
	 */
	PROTO_EXPIRE,
	/*
	 * RELOAD, F->M: read the enterprise policy again from its file (the
	 * minter's own path, never a policy the front end sends), all or
	 * nothing.  No fields.
	 * Answer: nothing.  An error: the file is broken and the old policy
	 * stays, the message says why.
	 */
	PROTO_RELOAD,
	/*
	 * STOP, F->M, once, after the front end ended its writs: fail the
	 * mints waiting upstream, answer every order taken, end what the
	 * minter still holds, close the logs.  No fields.  The minter
	 * answers, then exits.
	 * Answer: nothing.
	 */
	PROTO_STOP,
	/*
	 * PEER, F->M: what /proc shows of a caller that the front end,
	 * confined, cannot read itself (Landlock refuses a process outside its
	 * domain the ptrace-mode access these reads need): asked as a
	 * connection starts, while the caller's pidfd holds its pid (peer.c
	 * checks the process is still there once answered).
	 *   u32 pid		1..PROTO_MAX_PID: the caller, in writd's pid namespace
	 *   u32 uid		0..UINT32_MAX - 1: its uid (SO_PEERCRED), for
	 *			a namespace it cannot read (below)
	 * Answer:
	 *   text exe		1..PROTO_MAX_EXE, peer exe: /proc/PID/exe, made
	 *			printable; "?" when unreadable
	 *   text cwd		1..PROTO_MAX_CWD, shown: /proc/PID/cwd, made
	 *			printable; "?" when unreadable
	 *   u32 other_userns	0 or 1: its user namespace is not writd's; one
	 *			not ours to read is another, unless uid is 0
	 * NB. what PEER reveals of a pid the front end names is what any
	 * process of writd's uid (the minter's) may read of it itself: a
	 * front end taken over learns no more than its own user could.
	 */
	PROTO_PEER,
	/*
	 * ANSWER, M->F, the request's id: the one answer to a request.
	 *   u32 of		the type of the request answered (MINT .. PEER, a
	 *			request; never HELLO)
	 *   i64 code		0, or a code of errors.h's table
	 *   text message	0..PROTO_MAX_MESSAGE: empty when code is 0; else
	 *			what went wrong, or empty for the code's default
	 *   u32 retry_after	0..PROTO_MAX_RETRY seconds: 0 when code is 0
	 * then, when code is 0, the fields of "Answer:" of type of.  The
	 * front end checks that of is the type of its request of that id,
	 * and that the id is one it is waiting for.
	 */
	PROTO_ANSWER,
	/*
	 * DURABLE, M->F, id 0: every audit record up to seq is on disk.
	 * Not sent today: the front end waits on no record of its own (the
	 * minter answers MINT only once its records are durable).
	 *   i64 seq		1..INT64_MAX
	 */
	PROTO_DURABLE,
	/*
	 * ENDED, M->F, id 0: the minter ended writ writ itself (expired, or
	 * revoked when its ledger or upstream said so); the front end drops
	 * it from its session's live writs.
	 *   hex32 writ
	 *   text event		1..PROTO_MAX_WORD, end: "expired" or "revoked", as
	 *			its record says
	 */
	PROTO_ENDED,
	/*
	 * FATAL, M->F, id 0: the minter is going down; the front end stops
	 * too (what is left live, the ledger revokes at the next start).
	 *   text why		1..PROTO_MAX_MESSAGE
	 */
	PROTO_FATAL,
	/*
	 * RESTORED, M->F, id 0, only before the ANSWER of RESTORE: a writ of
	 * the last run the minter keeps again (minter.h's struct
	 * minter_restored), for the front end to list with its session.
	 *   hex32 writ
	 *   hex32 session	its session's id
	 *   text name		1..PROTO_MAX_SESSION_NAME: its session's name
	 *   text kind		1..PROTO_MAX_KIND, word
	 *   text scope		2..PROTO_MAX_JSON: canonical, a JSON object
	 *   i64 issued_at	1..PROTO_MAX_TIME
	 *   i64 expires_at	issued_at..PROTO_MAX_TIME
	 *   u32 pid		0..PROTO_MAX_PID: the process its session was
	 *			tied to, 0 for none
	 *   i64 pid_start	0..INT64_MAX: that process's start time
	 *   u32 same_boot	0 or 1: ... in this boot
	 */
	PROTO_RESTORED,
	PROTO_NTYPES
};

/* Why a message was refused (struct proto_fault's code); each its own test. */
enum proto_fault_code {
	PROTO_FOK,
	PROTO_FTRUNCATED,	/* the buffer ends before the header or its length */
	PROTO_FLENGTH,		/* length below the header, the buffer longer than it,
				   or a field running past it */
	PROTO_FTOOBIG,		/* length over the sender's maximum (WRIT_ETOOBIG) */
	PROTO_FVERSION,		/* not PROTO_VERSION (header or HELLO) */
	PROTO_FTYPE,		/* no such type, or an ANSWER of what is no request */
	PROTO_FDIRECTION,	/* a type the sending side does not send */
	PROTO_FID,		/* request id 0 on a request or answer, not 0 on a notice */
	PROTO_FBOUND,		/* a text or blob shorter or longer than its bounds */
	PROTO_FNUL,		/* a NUL inside a text, or none after it */
	PROTO_FUTF8,		/* a text that is not valid UTF-8 */
	PROTO_FFORM,		/* a text or hex32 not of its form */
	PROTO_FRANGE,		/* an integer outside its field's range */
	PROTO_FANSWER,		/* a message or retry_after on a success */
	PROTO_FTRAILING,	/* bytes after the last field */
};

/* Why, for a log line; msg names the type, the field and the bound. */
struct proto_fault {
	int code;		/* PROTO_F* */
	size_t at;		/* offset in the message where it was found */
	char msg[WRIT_ERRLEN];
};

/* A blob: a view, len bytes at data. */
struct proto_blob {
	const unsigned char *data;
	size_t len;
};

struct proto_hello {
	uint32_t version;
};

/* MINT: struct mint_order's fields, in its order (texts: "" or NULL for none). */
struct proto_mint {
	const char *kind;		/* the policy request ... */
	const char *scope;
	int64_t ttl;
	const char *name;		/* the session's name */
	const char *workspace;
	uint32_t uid;
	const char *exe;
	uint32_t live, live_kind;
	const char *claims;
	int64_t cap;			/* ... and the rest of the order */
	char session[WRIT_ID_LEN + 1];	/* the session's id */
	uint32_t pid;
	int64_t pid_start;
	const char *approval;
	const char *identity;
};

struct proto_revoke {
	char writ[WRIT_ID_LEN + 1];
	const char *reason;
};

struct proto_revoke_token {
	const char *session;		/* "": any */
	struct proto_blob token;	/* secret */
};

struct proto_kind {			/* PUBLIC_KEYS */
	const char *kind;
};

struct proto_throttled {
	const char *kind;
	const char *scope;
};

struct proto_audit_append {
	const char *event;
	const char *fields;
};

struct proto_audit_tail {
	uint32_t n;
	const char *session;
	int64_t after, before;
};

struct proto_audit_verify {
	const char *file;
	const char *checkpoint;
};

struct proto_audit_rotate {
	const char *why;
};

struct proto_secret_put {
	const char *name;
	struct proto_blob value;
};

struct proto_secret_del {
	const char *name;
};

struct proto_peer {
	uint32_t pid;
	uint32_t uid;
};

/* What an ANSWER with code 0 carries, by the type it answers. */
struct proto_minted {
	char writ[WRIT_ID_LEN + 1];
	struct proto_blob token;
	int64_t issued_at, expires_at;
	char fingerprint[WRIT_ID_LEN + 1];
};

struct proto_tailed {
	const char *json;
	int64_t more;
};

struct proto_peered {
	const char *exe;		/* "/..." or "?" */
	const char *cwd;		/* printable, "?" */
	uint32_t other_userns;		/* 0 or 1 */
};

struct proto_answer {
	uint32_t of;
	int code;
	const char *message;
	uint32_t retry_after;
	union {
		struct proto_minted mint;	/* MINT */
		struct proto_tailed tail;	/* AUDIT_TAIL */
		struct proto_peered peer;	/* PEER */
		char writ[WRIT_ID_LEN + 1];	/* REVOKE_TOKEN */
		const char *json;		/* PUBLIC_KEYS, AUDIT_VERIFY, SECRET_LIST */
		int64_t seq;			/* AUDIT_APPEND, AUDIT_ROTATE */
		const char *key;		/* AUDIT_KEY */
	} r;
};

struct proto_durable {
	int64_t seq;
};

struct proto_ended {
	char writ[WRIT_ID_LEN + 1];
	const char *event;		/* "expired" or "revoked" */
};

struct proto_fatal {
	const char *why;
};

struct proto_restored {
	char writ[WRIT_ID_LEN + 1];
	char session[WRIT_ID_LEN + 1];
	const char *name;
	const char *kind;
	const char *scope;
	int64_t issued_at, expires_at;
	uint32_t pid;
	int64_t pid_start;
	uint32_t same_boot;
};

/* One message, decoded or to encode: type picks the member of u. */
struct proto_msg {
	uint32_t type;		/* enum proto_type */
	uint32_t id;		/* the request id; 0 for HELLO and notices */
	union {
		struct proto_hello hello;
		struct proto_mint mint;
		struct proto_revoke revoke;
		struct proto_revoke_token revoke_token;
		struct proto_kind public_keys;
		struct proto_throttled throttled;
		struct proto_audit_append audit_append;
		struct proto_audit_tail audit_tail;
		struct proto_audit_verify audit_verify;
		struct proto_audit_rotate audit_rotate;
		struct proto_secret_put secret_put;
		struct proto_secret_del secret_del;
		struct proto_peer peer;
		struct proto_answer answer;
		struct proto_durable durable;
		struct proto_ended ended;
		struct proto_fatal fatal;
		struct proto_restored restored;
	} u;
};

/*
 * Decode the one message in buf[0..len), sent by side from (PROTO_FRONT or
 * PROTO_MINTER): len must be exactly its header's length.  Returns 0 and
 * *ret (texts and blobs are views into buf, which must outlive *ret); or
 * WRIT_EBADREQ, or WRIT_ETOOBIG (PROTO_FTOOBIG), with *fault saying why
 * (fault may be NULL).  Never reads outside buf; *ret is written only on
 * success.
 */
int proto_decode(const void *buf, size_t len, unsigned int from, struct proto_msg *ret,
    struct proto_fault *fault);

/*
 * Encode m, sent by side from, into buf[0..size): the same rules as
 * proto_decode, so that nothing is sent that the other side refuses.
 * Returns 0 and the length in *ret_len; or WRIT_EBADREQ (a field breaks
 * its rule), or WRIT_ETOOBIG (over the side's maximum or size), with
 * *fault saying why (fault may be NULL).  buf holds a token or a secret
 * value when m does: the caller wipes it.
 */
int proto_encode(const struct proto_msg *m, unsigned int from, unsigned char *buf,
    size_t size, size_t *ret_len, struct proto_fault *fault);

/* The largest message side from may send: PROTO_MAX_REQUEST or PROTO_MAX_ANSWER. */
size_t proto_max(unsigned int from);

/*
 * The longest encoding of a message of type (for an ANSWER, of its
 * longest answer), every field at its bound; 0 for no such type.
 */
size_t proto_bound(uint32_t type);

/*
 * How many bytes of s[0..n) are valid UTF-8 as a text must be (RFC 3629),
 * from the start: n when all are.  For a message cut to fit (snprintf
 * may cut a character in two), so that it can still be sent.
 */
size_t proto_utf8_span(const char *s, size_t n);

/* "MINT", for log lines; "?" for no such type. */
const char *proto_type_name(uint32_t type);

/*
 * A stream reader: it gathers what a socket delivers and hands out whole
 * messages.  Its buffer holds at most max bytes (proto_max of the side it
 * reads), and a length over that is refused from the first four bytes,
 * before any of the rest is buffered (a front end could announce 4 GiB).
 * A message handed out stays in the buffer until the next call of
 * proto_reader_next or proto_reader_read, which wipes it (it may hold a
 * token or a secret value).
 */
struct proto_reader {
	unsigned char *buf;
	size_t size;		/* max */
	size_t head;		/* where what is held begins */
	size_t len;		/* bytes held, at buf[head..head + len) */
	size_t taken;		/* the message last handed out, at buf[head..head + taken) */
	int broken;		/* 0, or the PROTO_F* of the length refused: for good */
};

/* Set up r for messages of at most max bytes.  Returns 0 or WRIT_ENOMEM. */
int proto_reader_init(struct proto_reader *r, size_t max);

/* Wipe and free r's buffer; a zeroed r is fine. */
void proto_reader_free(struct proto_reader *r);

/*
 * One read(2) of fd into r, after dropping the message last handed out.
 * Returns the bytes read (> 0), 0 at end of file, WRIT_EINTERNAL with
 * errno set (EAGAIN on a non-blocking fd, EINTR), or, once
 * proto_reader_next has refused a length, its code again.  Call it only
 * when proto_reader_next has returned 0: a whole message is never left
 * unread (else WRIT_EINTERNAL, errno ENOBUFS, when the buffer is full).
 */
int proto_reader_read(struct proto_reader *r, int fd);

/*
 * The next whole message in r, after dropping the one last handed out:
 * returns 1 with it at *ret_msg (ret_len bytes, for proto_decode), 0 when
 * more bytes are needed, or WRIT_ETOOBIG / WRIT_EBADREQ (a length over max,
 * or below PROTO_HEADER) with *fault; then the stream cannot be read in
 * step again, and every later call fails the same way: drop the peer.
 */
int proto_reader_next(struct proto_reader *r, const unsigned char **ret_msg,
    size_t *ret_len, struct proto_fault *fault);

#endif
