/*
 * clock.h - the monotonic clock in milliseconds, for idle timers (a key
 * page closing once unused, a cache's age) that wall-clock steps must not
 * move.
 */
#ifndef WRIT_CLOCK_H
#define WRIT_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, in ms. */
int64_t mono_ms(void);

#endif
