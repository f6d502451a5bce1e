/*
 * jsonl_reader.h — read a JSON Lines file one parsed line at a time.
 *
 * Streams: only one line is held at once, and a line longer than the
 * configured maximum is an error, not an allocation.  Files compressed with
 * gzip are read transparently.  Errors name the file, the line, the column
 * and the byte offset so a user can open the file at the right place.
 */
#ifndef REHEARSE_JSONL_READER_H
#define REHEARSE_JSONL_READER_H

#include <jansson.h>
#include <stdint.h>

#include "errors.h"

#define JSONL_DEFAULT_MAX_LINE ((size_t)512 << 20)

struct jsonl_reader;

/* Open `path` ("-" for stdin). max_line 0 means JSONL_DEFAULT_MAX_LINE. */
int jsonl_reader_open(struct jsonl_reader **out, const char *path, size_t max_line,
                      struct error *err);

/*
 * Parse the next non-empty line.  Returns 1 with *value set (a reference
 * borrowed until the next call), 0 at end of file, or a negative error.
 */
int jsonl_reader_next(struct jsonl_reader *r, json_t **value, struct error *err);

/* The same in two steps, for callers with a faster way to read some lines:
 * the next non-empty line, unparsed (1 with *line and *len borrowed until the
 * next call, 0 at end of file), then, if wanted, its parsed value (1, or an
 * ERR_INPUT naming file, line, column and byte offset). */
int jsonl_reader_next_line(struct jsonl_reader *r, const char **line, size_t *len,
                           struct error *err);
int jsonl_reader_parse_line(struct jsonl_reader *r, json_t **value, struct error *err);

/* The raw text of the last line returned (no newline); borrowed likewise. */
const char *jsonl_reader_line_text(const struct jsonl_reader *r, size_t *len);
uint64_t jsonl_reader_line_number(const struct jsonl_reader *r); /* 1-based */
uint64_t jsonl_reader_line_offset(const struct jsonl_reader *r); /* byte offset */
const char *jsonl_reader_path(const struct jsonl_reader *r);

/* Fill err with "PATH:LINE: " + the formatted message, for semantic errors
 * in the last line returned. Returns `code`. */
int jsonl_reader_error(const struct jsonl_reader *r, struct error *err, int code,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Go to byte offset `offset` (of the uncompressed text), where line
 * `line_number` starts: the next line returned is that one.  For reading
 * again lines whose jsonl_reader_line_offset() was noted; not for standard
 * input.  On compressed files a seek backwards decompresses from the start:
 * seek in increasing order. */
int jsonl_reader_seek(struct jsonl_reader *r, uint64_t offset, uint64_t line_number,
                      struct error *err);

void jsonl_reader_close(struct jsonl_reader *r); /* NULL is fine */

#endif
