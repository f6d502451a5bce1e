/*
 * json_locate.h — where in a JSON text a value is, for error messages.
 *
 * jansson gives positions for syntax errors only; a semantic error ("the
 * speed must be a number") must still point at the line and column of the
 * offending value.  Errors are rare, so instead of tracking positions while
 * parsing, json_locate() rescans the text for the value at a JSON Pointer
 * when an error is reported.
 */
#ifndef REHEARSE_JSON_LOCATE_H
#define REHEARSE_JSON_LOCATE_H

#include <stddef.h>

struct json_location {
    int line;      /* 1-based */
    int column;    /* 1-based, in bytes */
    size_t offset; /* byte offset from the start of the text */
};

/*
 * Find the value at `pointer` (RFC 6901, e.g. "/steps/3/replay/speed"; ""
 * is the whole document).  For an object member, the location is that of
 * the value (not the key).  Returns 0, or -1 when the text has no such value
 * — then `loc` holds the deepest enclosing value that does exist, which is
 * the right place to point at for "missing member" errors.
 */
int json_locate(const char *text, size_t len, const char *pointer, struct json_location *loc);

/* Render a pointer for humans: "/steps/3/replay/speed" → "steps[3].replay.speed".
 * Keys that are not simple identifiers are quoted: steps[0]["my key"]. */
void json_pointer_display(const char *pointer, char *out, size_t size);

#endif
