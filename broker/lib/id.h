/*
 * id.h - writ's ids: sessions, writs, pending requests and writd's run.
 *
 * An id is 128 random bits written as WRIT_ID_LEN lower-case hex digits
 * (core.c's random_id makes them).  Both sides check ids they are handed
 * with id_valid, so that one never reaches a path, a URL or a log line
 * unchecked.  libc only: the agent side links it too.
 */
#ifndef WRIT_ID_H
#define WRIT_ID_H

#include <stdbool.h>

/* Hex digits in an id; a buffer for one holds WRIT_ID_LEN + 1 bytes. */
#define WRIT_ID_LEN 32

/* True when s is exactly WRIT_ID_LEN lower-case hex digits. */
bool id_valid(const char *s);

#endif
