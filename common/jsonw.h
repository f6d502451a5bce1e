/*
 * jsonw.h — append JSON values to a bounded buffer, fast.
 *
 * The capture pipeline writes one JSON object per transaction at hundreds of
 * MB/s, so building jansson trees for output would cost more than parsing the
 * packets.  Callers write punctuation and keys themselves and use these
 * helpers for values that need escaping or formatting.
 */
#ifndef REHEARSE_JSONW_H
#define REHEARSE_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum jsonw_flags {
    /* Also escape < > & and U+2028/U+2029 as \uXXXX, so the text can sit
     * inside an HTML <script> element without ending it. */
    JSONW_HTML_SAFE = 1 << 0,
    /* Fail with ERR_INPUT, leaving the buffer as it was, when the bytes are
     * not UTF-8 text or contain NUL (callers then store them as base64):
     * one pass instead of a validation pass and an escaping pass. */
    JSONW_TEXT_ONLY = 1 << 1,
};

/* Append s[0..len) as a quoted JSON string.  Control characters are
 * escaped; bytes that are not well-formed UTF-8 become U+FFFD (callers that
 * must be lossless pass JSONW_TEXT_ONLY and fall back to base64). */
int jsonw_string(struct buf *out, const char *s, size_t len, unsigned flags);
int jsonw_cstring(struct buf *out, const char *s, unsigned flags); /* NULL → null */

int jsonw_int(struct buf *out, int64_t v);
int jsonw_uint(struct buf *out, uint64_t v);
/* Shortest text that reads back as the same double; NaN/inf → null. */
int jsonw_double(struct buf *out, double v);

/* Append the JSON object text `object` with "type":TYPE as its first member,
 * e.g. ("summary", "{\"a\":1}") → {"type":"summary","a":1}. ERR_INPUT when
 * `object` does not start with '{'. */
int jsonw_typed_object(struct buf *out, const char *type, const char *object);

#endif
