/*
 * now.h — the current time in microseconds, from the two clocks the code
 * base uses: the monotonic clock for deadlines, timeouts and durations (it
 * never jumps), and the wall clock for timestamps a person or a journal
 * reads (microseconds since the Unix epoch; format with timefmt.h).
 */
#ifndef REHEARSE_NOW_H
#define REHEARSE_NOW_H

#include <stdint.h>

int64_t now_mono_us(void); /* CLOCK_MONOTONIC */
int64_t now_wall_us(void); /* CLOCK_REALTIME, since the epoch */

#endif
