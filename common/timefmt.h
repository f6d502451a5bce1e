/*
 * timefmt.h — timestamps as text: ISO 8601 / RFC 3339 date-times to and from
 * microseconds since the Unix epoch (UTC), without the C library's time zone
 * state (no TZ, no locale, no timegm), so results never depend on the host.
 */
#ifndef REHEARSE_TIMEFMT_H
#define REHEARSE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Append "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC, six fraction digits). */
int timefmt_iso8601(struct buf *out, int64_t us);

/*
 * Parse "YYYY-MM-DDTHH:MM[:SS[.fraction]]" followed by "Z" or an offset
 * "+HH:MM", "+HHMM" or "+HH" ('T' may be 't' or a space; a fraction longer
 * than six digits is cut to microseconds).  Returns 0 with *us set, or
 * ERR_INPUT; *bad (if given) gets the offset of the first character that
 * does not fit.
 */
int timefmt_parse_iso8601(const char *s, size_t len, int64_t *us, size_t *bad);

#endif
