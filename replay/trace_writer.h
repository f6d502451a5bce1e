/*
 * trace_writer.h — stream transactions into a trace file (JSON Lines,
 * docs/trace-format.md).
 *
 * Output goes to PATH.partial and is renamed to PATH by trace_writer_close(),
 * so a reader never sees a half-written file under the final name, while an
 * interrupted run still leaves everything written so far in the .partial
 * file.  A PATH ending in ".gz" is gzip-compressed; "-" writes to stdout.
 */
#ifndef REHEARSE_TRACE_WRITER_H
#define REHEARSE_TRACE_WRITER_H

#include "buf.h"
#include "errors.h"
#include "trace.h"

struct trace_writer;

/* Create the file and write the header line. */
int trace_writer_open(struct trace_writer **out, const char *path,
                      const struct trace_header *header, struct error *err);
/* The same with the header line given as JSON text (no newline), e.g. a
 * header copied from another trace with members added. */
int trace_writer_open_line(struct trace_writer **out, const char *path, const char *header_line,
                           size_t len, struct error *err);

/* Append one transaction line. The transaction is only read. */
int trace_writer_write(struct trace_writer *w, const struct trace_tx *tx,
                       struct error *err);

/* Append an already serialised transaction line (no trailing newline), e.g.
 * one copied from a trace_reader when splitting a trace. */
int trace_writer_write_raw(struct trace_writer *w, const char *line, size_t len,
                           struct error *err);

/* Append the closing summary line.  `object` is a JSON object text such as
 * {"packets":10}; the writer adds "type":"summary" to it. */
int trace_writer_write_summary(struct trace_writer *w, const char *object,
                               struct error *err);

/* Push buffered lines to the file (e.g. periodically during live capture). */
int trace_writer_flush(struct trace_writer *w, struct error *err);

/* Flush, close and rename PATH.partial to PATH; frees w (NULL is fine).
 * On failure the .partial file is left in place and named in the error. */
int trace_writer_close(struct trace_writer *w, struct error *err);

/* Give up: close and delete PATH.partial (a run that failed and whose
 * partial output is of no use); frees w (NULL is fine). */
void trace_writer_discard(struct trace_writer *w);

/* Bytes written so far (uncompressed), and transactions written. */
uint64_t trace_writer_bytes(const struct trace_writer *w);
uint64_t trace_writer_count(const struct trace_writer *w);

/* Serialise one transaction as a JSON object (no newline) onto out. */
int trace_tx_to_json(struct buf *out, const struct trace_tx *tx);

/* Serialise a header as the trace's first line (no newline) onto out. */
int trace_header_to_json(struct buf *out, const struct trace_header *h);

#endif
