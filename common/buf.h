/*
 * buf.h — a growable byte buffer with a hard maximum (curl's dynbuf).
 *
 * Hostile input must never make us eat memory: every buffer is created with
 * the largest size it may reach, and an append past it fails with
 * ERR_TOOBIG instead of growing.  The data is always NUL-terminated (the NUL
 * is not counted in `len`), so text can be handed to C string functions.
 *
 * Ownership: the buffer owns `data`; buf_take() hands it to the caller.
 */
#ifndef REHEARSE_BUF_H
#define REHEARSE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;     /* NULL until the first append */
    size_t len;     /* bytes used, not counting the terminating NUL */
    size_t cap;     /* bytes allocated */
    size_t max;     /* largest len allowed; appends beyond fail */
};

/* Initialise an empty buffer that may grow up to `max` bytes. */
void buf_init(struct buf *b, size_t max);
/* Free the storage; the buffer is left empty and reusable. Accepts NULL. */
void buf_release(struct buf *b);
/* Forget the contents but keep the storage for reuse. */
void buf_reset(struct buf *b);

/* Each append returns 0, ERR_TOOBIG (would exceed max) or ERR_NOMEM. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_char_slow(struct buf *b, char c);
/* Inline: the JSON writers append punctuation one character at a time. */
static inline int buf_append_char(struct buf *b, char c)
{
    if (b->len < b->max && b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append_char_slow(b, c);
}
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Make room for `extra` more bytes without changing len. */
int buf_reserve(struct buf *b, size_t extra);
/* Drop the first `n` bytes (consumed input), keeping the rest. */
void buf_consume(struct buf *b, size_t n);

/* Hand the storage to the caller (free() it); the buffer is left empty.
 * Never returns NULL: an empty buffer yields an allocated "". */
char *buf_take(struct buf *b, size_t *len_out);

#endif
