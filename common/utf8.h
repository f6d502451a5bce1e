/*
 * utf8.h — UTF-8 validation (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF).  Used to decide whether captured bytes can be
 * stored as JSON text or must be base64, and to render hostile text safely.
 */
#ifndef REHEARSE_UTF8_H
#define REHEARSE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8. NUL bytes count as valid. */
bool utf8_valid(const void *s, size_t len);

/* Length of the well-formed sequence starting at s (1..4), or 0 when the
 * bytes at s do not start a valid sequence within len bytes. */
size_t utf8_sequence_length(const unsigned char *s, size_t len);

#endif
