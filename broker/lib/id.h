/*
 * id.h - writ's ids: sessions, writs, pending requests and writd's run.
 *
 * An id is 128 random bits written as WRIT_ID_LEN lower-case hex digits
 * (core.c's random_id makes them).  Both sides check ids they are handed
 * with id_valid, so that one never reaches a path, a URL or a log line
 * unchecked.  Names of secrets in the store have one rule too, checked
 * by writd, writctl and the kinds' configs alike.  libc only: the agent
 * side links it too.
 */
#ifndef WRIT_ID_H
#define WRIT_ID_H

#include <stdbool.h>

/* Hex digits in an id; a buffer for one holds WRIT_ID_LEN + 1 bytes. */
#define WRIT_ID_LEN 32

/* True when s is exactly WRIT_ID_LEN lower-case hex digits. */
bool id_valid(const char *s);

/* Longest session name. */
#define WRIT_MAX_SESSION_NAME 64

/* True when name is 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool session_name_valid(const char *name);

/* Longest secret name. */
#define WRIT_MAX_SECRET_NAME 64

/* True when name is 1-64 characters of [A-Za-z0-9._-], not starting with '.'. */
bool secret_name_valid(const char *name);

#endif
