/*
 * duration.h - "90s", "10m", "1h30m": durations as people write them.
 */
#ifndef WRIT_DURATION_H
#define WRIT_DURATION_H

#include <stdint.h>

/* Longest duration anything in writ accepts: one year. */
#define WRIT_MAX_DURATION (366LL * 24 * 3600)

/*
 * Parse s as one or more <digits><unit> groups, unit one of s m h d; a bare
 * number means seconds.  No sign, no spaces, no fractions.  The total must be
 * in 1..WRIT_MAX_DURATION.  Returns 0 and *ret_seconds, or WRIT_ETTL.
 */
int duration_parse(const char *s, int64_t *ret_seconds);

#endif
