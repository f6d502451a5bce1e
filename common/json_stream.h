/*
 * json_stream.h — walk one large JSON document without loading it whole.
 *
 * A HAR file is a single JSON object whose "log.entries" array can hold
 * gigabytes.  This reader lets the caller step through the outer structure
 * (objects and arrays) itself and hand each inner value to jansson, so only
 * one value (e.g. one HAR entry) is in memory at a time.  A value larger than
 * `max_value` bytes of text is an error, not an allocation.
 *
 * Files compressed with gzip are read transparently; "-" is standard input.
 * Every error names the file, line and column (characters, as jansson
 * counts them) and the byte offset.
 *
 * Walking {"a": [1, 2], "b": {...}}:
 *     json_stream_enter(s, '{', ...);
 *     while ((rc = json_stream_next(s, '}', &first, err)) > 0) {
 *         json_stream_key(s, &key, err);
 *         ... json_stream_enter(s, '[') / json_stream_value(s, &v) ...
 *     }
 */
#ifndef REHEARSE_JSON_STREAM_H
#define REHEARSE_JSON_STREAM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "errors.h"

#define JSON_STREAM_DEFAULT_MAX_VALUE ((size_t)512 << 20)
/* jansson reports positions as int: one value must stay well below 2 GiB. */
#define JSON_STREAM_MAX_VALUE_LIMIT ((size_t)1 << 30)

struct json_stream;

/* Where the next unread character is. line and column are 1-based. */
struct json_stream_pos {
    uint64_t line, column, offset;
};

/* Open `path`; max_value 0 = JSON_STREAM_DEFAULT_MAX_VALUE. */
int json_stream_open(struct json_stream **out, const char *path, size_t max_value,
                     struct error *err);
void json_stream_close(struct json_stream *s); /* NULL is fine */

/* Skip whitespace; *c gets the next character without consuming it, or -1 at
 * the end of the input. */
int json_stream_peek(struct json_stream *s, int *c, struct error *err);

/* Consume the opening '{' or '[' of a container.  When the next value is not
 * one, ERR_INPUT says "WHAT: expected an object/array". */
int json_stream_enter(struct json_stream *s, char open, const char *what, struct error *err);

/*
 * Step to the next member or element of the container being walked (closed
 * by `close`, '}' or ']').  *first must be true before the first call.
 * Returns 1 when there is one (its separating ',' consumed), 0 when the
 * container ended (its closing bracket consumed), or a negative error.
 */
int json_stream_next(struct json_stream *s, char close, bool *first, const char *what,
                     struct error *err);

/* Read an object member's name and the ':' after it.  *key is borrowed until
 * the next call on the stream. */
int json_stream_key(struct json_stream *s, const char **key, struct error *err);

/* Parse the next value whole (a new reference the caller must json_decref).
 * Strings may contain NUL ("\u0000"). */
int json_stream_value(struct json_stream *s, json_t **value, struct error *err);

/* Succeeds when only whitespace remains. */
int json_stream_end(struct json_stream *s, struct error *err);

void json_stream_position(const struct json_stream *s, struct json_stream_pos *pos);
const char *json_stream_path(const struct json_stream *s);
/* Bytes of text the last json_stream_value() call consumed. */
size_t json_stream_last_size(const struct json_stream *s);
/* That text itself, e.g. to locate a value inside it for an error message
 * (common/json_locate.h).  Borrowed until the next call on the stream. */
const char *json_stream_last_text(const struct json_stream *s);

#endif
