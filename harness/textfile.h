/*
 * textfile.h — read a small file whole (a scenario, an SQL script), with a
 * limit, NUL-terminated.
 */
#ifndef REHEARSE_TEXTFILE_H
#define REHEARSE_TEXTFILE_H

#include <stddef.h>

#include "errors.h"

/* *out is malloc'ed (free it); files larger than `max` bytes give
 * ERR_TOOBIG, a path that is not a regular file ERR_INPUT. `what` names the
 * file in messages ("scenario", "SQL file"). */
int textfile_read(const char *path, size_t max, const char *what, char **out, size_t *len,
                  struct error *err);

#endif
