/*
 * results_scan.h — read results files (docs/results-format.md) fast, for the
 * response diff.
 *
 * The records are those of replay/results.h's reader (struct
 * result_record), but each line is parsed with jdoc (reports/jdoc.h) rather
 * than jansson: a results line is mostly response bodies held in JSON
 * strings, which jdoc reads at several hundred MB/s where jansson manages
 * about 80, and the diff must keep up with a replay of hundreds of MB.  The
 * header line is read and checked by replay/results.h itself, so both
 * readers accept and refuse the same files.
 *
 * Streams: one line in memory at a time.  Every record can be read again
 * later from the offset noted when it was first read (results_scan_seek),
 * which is how the diff picks its examples after a first pass: it keeps
 * offsets, not responses.
 *
 * Everything a record points to is borrowed until the next call on the
 * scanner.  Strings the format defines as text (method, target, host,
 * reason, error message) are NUL-terminated; header names and values and
 * bodies have lengths and may hold NUL.
 */
#ifndef REHEARSE_RESULTS_SCAN_H
#define REHEARSE_RESULTS_SCAN_H

#include <stdint.h>

#include "errors.h"
#include "results.h"

struct results_scan;

/* Open a results file (plain or .gz; not standard input, which cannot be
 * read twice) and check its header.  Errors name the file and line. */
int results_scan_open(struct results_scan **out, const char *path, struct error *err);
void results_scan_close(struct results_scan *s); /* NULL is fine */

const struct results_header *results_scan_header(const struct results_scan *s);
const char *results_scan_path(const struct results_scan *s);

/* 1 with *rec set, 0 at the end, or a negative error naming file, line and
 * column (bad JSON) or file, line and field (a record that breaks the
 * format).  Lines of another "type" (the summary) are skipped. */
int results_scan_next(struct results_scan *s, const struct result_record **rec,
                      struct error *err);

/* The text of the record last returned by results_scan_next, as in the
 * file (no newline); borrowed until the next call. */
const char *results_scan_line_text(const struct results_scan *s, size_t *len);

/* The text of the summary line and its line number, once a read has gone
 * past it (it is the last line of a finished replay's results), else NULL.
 * Borrowed until the scanner is closed or reaches another summary. */
const char *results_scan_summary(const struct results_scan *s, size_t *len, uint64_t *line);

/* Where the record last returned by results_scan_next starts: its line
 * number (1-based) and byte offset in the (uncompressed) file. */
uint64_t results_scan_line_number(const struct results_scan *s);
uint64_t results_scan_line_offset(const struct results_scan *s);

/*
 * A slot holds one record read back, and everything it points to, until it
 * is read into again: with several slots, one thread can read records ahead
 * while another works on earlier ones (the diff reads and compares on two
 * cores this way).  results_scan_next uses a slot of the scanner's own.
 */
struct results_slot;

struct results_slot *results_slot_new(void); /* NULL when out of memory */
void results_slot_free(struct results_slot *slot); /* NULL is fine */
/* As results_scan_next, into `slot`; *rec is borrowed from the slot. */
int results_scan_read(struct results_scan *s, struct results_slot *slot,
                      const struct result_record **rec, struct error *err);
/* Where the slot's record starts (as results_scan_line_number/offset). */
uint64_t results_slot_line_number(const struct results_slot *slot);
uint64_t results_slot_line_offset(const struct results_slot *slot);

/* Make the line at `offset` (numbered `line`) the next one read.  On
 * compressed files, seek in increasing order (see jsonl_reader_seek). */
int results_scan_seek(struct results_scan *s, uint64_t offset, uint64_t line,
                      struct error *err);

#endif
