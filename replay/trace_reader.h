/*
 * trace_reader.h — stream transactions out of a trace file
 * (docs/trace-format.md), one line at a time; a trace is never loaded whole.
 */
#ifndef REHEARSE_TRACE_READER_H
#define REHEARSE_TRACE_READER_H

#include <jansson.h>
#include <stdbool.h>

#include "errors.h"
#include "trace.h"

struct trace_reader;

/* Open a trace and read its header line. max_line 0 = default (512 MiB). */
int trace_reader_open(struct trace_reader **out, const char *path, size_t max_line,
                      struct error *err);

const struct trace_header *trace_reader_header(const struct trace_reader *r);
/* The header line as a JSON object (borrowed), with any members this
 * version does not know: what `rehearse trace split` copies. */
json_t *trace_reader_header_json(const struct trace_reader *r);

/*
 * Read the next transaction.  Returns 1 with *tx set, 0 at the end, or a
 * negative error naming the file and line.  The transaction and everything
 * it points to are borrowed until the next call or trace_reader_close().
 * Lines of unknown "type" are skipped (forward compatibility).
 */
int trace_reader_next(struct trace_reader *r, const struct trace_tx **tx, struct error *err);

/* The raw JSON text of the last transaction returned (no newline). */
const char *trace_reader_raw_line(const struct trace_reader *r, size_t *len);

/* The summary object written at the end of a capture, once the reader has
 * reached it (borrowed), or NULL. */
json_t *trace_reader_summary(const struct trace_reader *r);

uint64_t trace_reader_line_number(const struct trace_reader *r);

/* Read every line with jansson, never with the one-pass decoder
 * (replay/trace_decode.h); for tests that compare the two. */
void trace_reader_set_slow_only(struct trace_reader *r, bool slow_only);

void trace_reader_close(struct trace_reader *r); /* NULL is fine */

#endif
