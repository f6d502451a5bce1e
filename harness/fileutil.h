/*
 * fileutil.h — small whole-file chores: read a small file (a scenario, an
 * SQL script) with a limit, show the end of a log, remove a directory tree.
 */
#ifndef REHEARSE_FILEUTIL_H
#define REHEARSE_FILEUTIL_H

#include <stddef.h>

#include "errors.h"

/* *out is malloc'ed (free it) and NUL-terminated; files larger than `max`
 * bytes give ERR_TOOBIG, a path that is not a regular file ERR_INPUT. `what`
 * names the file in messages ("scenario", "SQL file"). */
int file_read_text(const char *path, size_t max, const char *what, char **out, size_t *len,
                   struct error *err);

/* Write `len` bytes to `path` atomically (PATH.partial, then a rename:
 * common/outfile.h), mode 0600. */
int file_write_atomic(const char *path, const char *data, size_t len, struct error *err);

/* The last `max` bytes of a file at most, starting at a line boundary, for
 * messages about a process that failed ("its log ends with: ...").  Empty
 * when the file cannot be read. */
void file_tail(const char *path, size_t max, char *out, size_t size);

/* Remove `path` and everything below it (symbolic links are not followed).
 * Returns 0 or -1 (errno set) when something could not be removed. */
int file_remove_tree(const char *path);

#endif
