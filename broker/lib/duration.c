/*
 * duration.c - parse durations.
 */
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "errors.h"

int
duration_parse(const char *s, int64_t *ret_seconds)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return WRIT_ETTL;
	while (*p != '\0') {
		const char *group = p;
		int64_t n = 0, unit;

		if (*p < '0' || *p > '9')
			return WRIT_ETTL;
		for (; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			/* NB. checked per digit: no overflow is ever reached. */
			if (n > WRIT_MAX_DURATION)
				return WRIT_ETTL;
		}
		switch (*p) {
		case 's': unit = 1; p++; break;
		case 'm': unit = 60; p++; break;
		case 'h': unit = 3600; p++; break;
		case 'd': unit = 86400; p++; break;
		case '\0':
			/* A bare number is seconds, but only on its own. */
			if (group != s)
				return WRIT_ETTL;
			unit = 1;
			break;
		default:
			return WRIT_ETTL;
		}
		total += n * unit;
		if (total > WRIT_MAX_DURATION)
			return WRIT_ETTL;
	}
	if (total <= 0)
		return WRIT_ETTL;
	*ret_seconds = total;
	return 0;
}
