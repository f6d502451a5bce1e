/*
 * endpoint.h — group requests by endpoint: the method plus the path with
 * its variable parts replaced, so /users/123 and /users/456 count as one
 * endpoint "GET /users/{id}" (Diffy lumped every path together because it
 * had no such templating; see anchors.md).
 *
 * Pure functions over bytes: no allocation beyond the caller's buffer.  Used
 * by `rehearse trace stats` and, later, by the response diff's per-endpoint
 * tables, so both name endpoints the same way.
 *
 * The rules, applied to each '/'-separated segment of the path:
 *   - all decimal digits (any length)                  → {id}
 *   - a UUID (8-4-4-4-12 hex digits, any case)          → {id}
 *   - 16 or more hex digits, at least one of them 0-9  → {id}
 *     (object ids, hashes; "deadbeefdeadbeef" without a digit stays)
 * The query string and fragment are dropped.  An absolute-form target
 * (http://host/path, sent to proxies) is reduced to its path.  Empty
 * segments and a trailing slash are kept as they are.
 */
#ifndef REHEARSE_ENDPOINT_H
#define REHEARSE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define ENDPOINT_ID "{id}"

/* Append the templated path of target[0..len) to out ("/users/{id}").
 * An empty target gives "/"; "*" (OPTIONS *) stays "*".
 * 0 or ERR_TOOBIG / ERR_NOMEM from the buffer. */
int endpoint_template_path(struct buf *out, const char *target, size_t len);

/* Append "METHOD TEMPLATED-PATH" to out. */
int endpoint_template(struct buf *out, const char *method, const char *target, size_t len);

/* The path of a request target: *len gets the length of the path that
 * starts at the returned pointer, without query string or fragment, and
 * with the scheme and authority of an absolute-form target skipped. */
const char *endpoint_path(const char *target, size_t len, size_t *path_len);

/* True when one path segment is an identifier by the rules above. */
bool endpoint_segment_is_id(const char *seg, size_t len);

#endif
