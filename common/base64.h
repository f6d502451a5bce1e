/*
 * base64.h — RFC 4648 base64 (standard alphabet, with padding), appended to
 * a bounded buffer.  Used for bodies that are not UTF-8 text.
 */
#ifndef REHEARSE_BASE64_H
#define REHEARSE_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Append the encoding of data[0..len) to out. 0 or ERR_TOOBIG/ERR_NOMEM. */
int base64_encode(struct buf *out, const void *data, size_t len);

/* Append the decoded bytes to out.  ERR_INPUT on a character outside the
 * alphabet or bad padding; *bad_offset (if given) gets its position. */
int base64_decode(struct buf *out, const char *text, size_t len, size_t *bad_offset);

#endif
