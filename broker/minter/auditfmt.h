/*
 * auditfmt.h - the audit log's formats (see audit.h for the log): the
 * keyed chain of records, where a file begins after a rotation, the state
 * record and signed checkpoints.  Pure: no I/O, no locks, no globals; what
 * writd checks at start, what verify checks, what the fuzzers drive.
 */
#ifndef WRIT_AUDITFMT_H
#define WRIT_AUDITFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest record, in bytes. */
#define WRIT_MAX_AUDIT_RECORD 8192
/* A record's mac in hex, and its suffix: `,"mac":"` + the mac + `"}`. */
#define WRIT_AUDIT_MAC_HEX 64
#define WRIT_AUDIT_SUFFIX_LEN (8 + WRIT_AUDIT_MAC_HEX + 2)
/* Largest log read back at start or by verify. */
#define WRIT_MAX_AUDIT_FILE (1024LL * 1024 * 1024)

/* The rotated file that begins at seq: "audit-%020llu.jsonl". */
#define WRIT_AUDIT_ROTATED_LEN (6 + 20 + 6)

/* A point in the chain: the seq of a record and its mac (0, zeros: none). */
struct audit_point {
	uint64_t seq;
	unsigned char mac[32];
};

struct audit_scan {
	/* In: a seq whose mac to report (0: none; zero the struct), kept. */
	uint64_t probe_seq;
	/* Out: */
	uint64_t records;	/* good records */
	uint64_t first_seq;	/* the first record's seq (from->seq + 1) */
	uint64_t last_seq;
	unsigned char last_mac[32];
	size_t good_len;	/* bytes up to the end of the last good record */
	uint64_t bad_seq;	/* the seq the first bad record should have, 0 if none */
	bool torn;		/* only the last, unterminated line is bad */
	bool rotated;		/* begins with a "rotated" record: */
	char prev_file[WRIT_AUDIT_ROTATED_LEN + 1];	/* ... naming this file */
	unsigned char prev_mac[32];	/* ... and its last mac */
	bool probed;		/* probe_seq was found ... */
	unsigned char probe_mac[32];	/* ... with this mac */
	uint64_t checkpoints;	/* checkpoint records (signatures good if checked) */
	uint64_t ckpt_seq;	/* the last one's seq, 0 if none */
	int64_t ckpt_time;
	char why[128];
};

/*
 * One log line for the JSON object text body (ending in '}'), chained to
 * prev: body with ',"mac":"<hex>"}' spliced in, and a newline.  Returns its
 * length (0 if it does not fit in size), the new mac in mac.
 */
size_t audit_format(const unsigned char key[32], const unsigned char prev[32],
    const char *body, char *line, size_t size, unsigned char mac[32]);

/*
 * Check buf (a log file, or its part after from) against key.  Pure: no
 * I/O, for start-up, verify and the fuzzer.  from NULL: the start of a
 * file, which is seq 1 after zeros or a "rotated" record, chained to the
 * prev_mac it names.  pk not NULL: every checkpoint record's signature is
 * checked too.  Always fills *ret (but probe_seq); returns 0 when every
 * record is good, or -1 (ret->bad_seq and ret->why say where and what).
 */
int audit_scan(const char *buf, size_t len, const unsigned char key[32],
    const unsigned char pk[32], const struct audit_point *from,
    struct audit_scan *ret);

/* The state record: where the log was last known good and durable. */
struct audit_state {
	uint64_t file_first;	/* the first seq of the file it is in */
	uint64_t offset;	/* bytes of that file up to the end of ... */
	struct audit_point at;	/* ... this record */
};

/* Its text: a fixed length, so it is rewritten in place. */
#define WRIT_AUDIT_STATE_LEN 239

/* The text of st, MACed with key, into out (WRIT_AUDIT_STATE_LEN + NUL). */
void audit_state_format(const unsigned char key[32], const struct audit_state *st,
    char out[WRIT_AUDIT_STATE_LEN + 1]);

/*
 * Parse and check a state record (pure).  Returns 0 and fills *ret, or -1
 * when it is not one or its mac is wrong (a torn or forged record).
 */
int audit_state_parse(const char *buf, size_t len, const unsigned char key[32],
    struct audit_state *ret);

/* A checkpoint record, as found in the log or in a syslog line. */
struct audit_checkpoint {
	uint64_t seq;		/* its own seq */
	struct audit_point at;	/* what it signs: the record before it */
	int64_t time;
	bool has_mac;		/* its own mac was given ... */
	unsigned char mac[32];	/* ... as this */
};

/*
 * Parse a checkpoint from text: a log line, or a syslog line holding one
 * (anything before the first '{' is skipped), and check its signature
 * with the Ed25519 public key pk (pure).  Returns 0 and fills *ret, or -1
 * with why (the signature does not verify, or it is no checkpoint).
 */
int audit_checkpoint_parse(const char *text, size_t len, const unsigned char pk[32],
    struct audit_checkpoint *ret, char why[128]);

/* 32 bytes as 64 lower-case hex digits and a NUL. */
void audit_hex(const unsigned char b[32], char out[65]);

/* The rotated file that begins at first: "audit-<20 digits>.jsonl". */
void audit_rotated_name(uint64_t first, char out[WRIT_AUDIT_ROTATED_LEN + 1]);

/* The first seq a rotated file's name gives, or 0 when it is not one. */
uint64_t audit_rotated_seq(const char *name);

/*
 * A record's line (n bytes, no newline) into its body (the JSON object
 * without the mac, NUL-terminated) and the mac it carries.  0, or -1 when
 * the line is no record.
 */
int audit_record_split(const char *line, size_t n, char body[WRIT_MAX_AUDIT_RECORD + 2],
    size_t *ret_len, unsigned char mac[32]);

/* A checkpoint's fields ({"at_seq", "at_mac", "sig"}), signed with sk. */
#define WRIT_AUDIT_CHECKPOINT_FIELDS 320
void audit_checkpoint_fields(const unsigned char sk[64], uint64_t at_seq,
    const unsigned char at[32], char out[WRIT_AUDIT_CHECKPOINT_FIELDS]);

#endif
