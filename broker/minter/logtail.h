/*
 * logtail.h - the last records of a JSON Lines log, read from its end.
 *
 * `writctl audit tail -n N` must not read a whole log that may be a
 * gigabyte: the file is read backwards in blocks of WRIT_LOGTAIL_BLOCK
 * bytes, and only the records kept are held, so time and memory grow with
 * N, not with the log.  A tail for one session stops after scanning
 * WRIT_LOGTAIL_SCAN bytes (its records may be rare or absent): it then
 * gives what it found there, the session's most recent records within the
 * log's last 64 MiB.
 *
 * Works on an open fd and an end offset, so that a caller with rotated
 * files can go on into the previous one with what is left of n and of the
 * scan budget.  Pure: no locks, never logs.
 */
#ifndef WRIT_LOGTAIL_H
#define WRIT_LOGTAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

/* Bytes read at a time, backwards. */
#define WRIT_LOGTAIL_BLOCK (64 * 1024)
/* Most bytes a session-filtered tail scans back from the end. */
#define WRIT_LOGTAIL_SCAN (64LL * 1024 * 1024)

struct logtail {
	unsigned int want;		/* records still wanted */
	const char *session;		/* keep only records whose "session" is this, or NULL */
	const char *const *events;	/* keep only these events (NULL-ended), or NULL */
	long long scan_left;		/* bytes that may still be read (filtered tails) */
	size_t max_line;		/* longer lines are skipped (not JSON records) */
	uint64_t after;			/* non-zero: stop at a record of this seq or older */
	uint64_t before;		/* non-zero: skip records of this seq or newer */
	bool reached;			/* out: such a record was met */
	json_t *records;		/* found so far, newest first (an array, owned) */
};

/*
 * Read fd backwards from offset end (a line cut at end, with no newline
 * yet, is being written and skipped) and add to t->records, newest first,
 * each complete line that is a JSON object (of t->session and one of
 * t->events, when set; older than t->before, when set), until t->want are found, a record whose seq is t->after or less (a
 * follower's last; writd's records begin {"event":"E","seq":N), the file's
 * start, or t->scan_left bytes were
 * read (session tails only).  Lines that are not JSON are skipped and
 * counted towards t->want only when unfiltered, so the work stays bounded
 * by N.  A filtered line is parsed only when its text may match (writd's
 * records begin {"event":"E",...), so a filter that keeps few records
 * reads many cheaply.  Returns 0, or a negative WRIT_E* code (a read failed; what was
 * found stays in t->records).
 */
int logtail_read(int fd, off_t end, struct logtail *t);

#endif
