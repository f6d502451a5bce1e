/*
 * duration.h — parse a duration with a unit: "500ms", "30s", "1.5m", "2h",
 * "250us"; a bare number is seconds.  Shared by option parsing (harness/cli)
 * and by values inside other syntaxes (replay slices, scenario files).
 */
#ifndef REHEARSE_DURATION_H
#define REHEARSE_DURATION_H

#include <stdbool.h>
#include <stdint.h>

/* True with *out_us set when all of `text` is a non-negative duration. */
bool duration_parse_us(const char *text, int64_t *out_us);

#endif
