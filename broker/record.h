/*
 * record.h - the audit records the front end writes.
 *
 * The audit log is the minter's (minter/audit.h): only it writes the
 * file, signs checkpoints and records writs.  The front end writes its
 * own events (a request, an approval, a session opened or closed ...)
 * through these two calls, which link.c sends to the minter as
 * AUDIT_APPEND; the minter's audit.c has the same two for its own.
 */
#ifndef WRIT_RECORD_H
#define WRIT_RECORD_H

#include <stdbool.h>
#include <jansson.h>

/* Append event with the members of fields (stolen, may be NULL).  Best effort. */
void audit_log(const char *event, json_t *fields);

/* True while the log can take durable records (as far as this side knows). */
bool audit_ok(void);

#endif
