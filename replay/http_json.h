/*
 * http_json.h — an HTTP message as a JSON object, the shape shared by trace
 * files (docs/trace-format.md) and results files (docs/results-format.md):
 *
 *   {"method":..,"target":..  |  "status":..,"reason":..,
 *    "version":"HTTP/1.1","headers":[[name,value],...],"trailers":[...],
 *    "body":"...","body_encoding":"base64","body_size":N}
 *
 * Header values and bodies that are not UTF-8 text (or contain NUL) are
 * written as base64, so every byte survives the round trip.
 */
#ifndef REHEARSE_HTTP_JSON_H
#define REHEARSE_HTTP_JSON_H

#include <jansson.h>
#include <stdbool.h>

#include "arena.h"
#include "buf.h"
#include "errors.h"
#include "trace.h"

/* Append the message's members, without the surrounding braces, so callers
 * can add members of their own. */
int http_json_write_fields(struct buf *out, const struct http_message *m, bool is_request);
/* Append the message as a complete object. */
int http_json_write_message(struct buf *out, const struct http_message *m, bool is_request);
/* Append `[[name,value],...]`. */
int http_json_write_headers(struct buf *out, const struct http_header *h, size_t n);

/*
 * Decode a message object.  Strings are borrowed from `obj`; header arrays
 * and decoded base64 come from `arena`.  On failure err holds
 * "WHERE.field: expected ..." without a file location: the caller adds it.
 */
int http_json_read_message(json_t *obj, bool is_request, const char *where,
                           struct arena *arena, struct http_message *m, struct error *err);
int http_json_read_headers(json_t *list, const char *where, struct arena *arena,
                           struct http_header **out, size_t *count, struct error *err);

/* "an object", "a string", ... for messages about what was found. */
const char *http_json_type_name(const json_t *v);

#endif
