/*
 * outfile.h — write a file as a stream, atomically.
 *
 * Bytes go to PATH.partial and are renamed to PATH by outfile_close(), so a
 * reader never sees a half-written file under the final name, while a run
 * that dies still leaves what it wrote in PATH.partial.  A PATH ending in
 * ".gz" is gzip-compressed; "-" writes to stdout (no rename).
 *
 * Callers append to the buffer returned by outfile_buf() and call
 * outfile_commit() after each complete record; output is written in large
 * blocks.  Write errors (a full disk) are reported, never ignored.
 */
#ifndef REHEARSE_OUTFILE_H
#define REHEARSE_OUTFILE_H

#include <stdint.h>

#include "buf.h"
#include "errors.h"

struct outfile;

/* max_record: the largest record that may be buffered at once. */
int outfile_open(struct outfile **out, const char *path, size_t max_record, struct error *err);
/* The buffer to append the next record to (borrowed). */
struct buf *outfile_buf(struct outfile *f);
/* The record appended since the last commit is complete; write it out when
 * enough has accumulated. */
int outfile_commit(struct outfile *f, struct error *err);
/* Forget what was appended since the last commit (a record that failed). */
void outfile_rollback(struct outfile *f);
int outfile_flush(struct outfile *f, struct error *err);
/* Flush, sync, close, rename; frees f (NULL is fine).  On failure the
 * .partial file stays and the message names it. */
int outfile_close(struct outfile *f, struct error *err);
/* Close without renaming and delete the .partial file. */
void outfile_discard(struct outfile *f);
uint64_t outfile_bytes(const struct outfile *f); /* committed, uncompressed */

/* Create the directory `dir` for output files, and its parents (mkdir -p,
 * mode 0755); fine when it exists.  ERR_IO when it cannot be made or is
 * not a directory. */
int outfile_make_dirs(const char *dir, struct error *err);
const char *outfile_path(const struct outfile *f);

#endif
