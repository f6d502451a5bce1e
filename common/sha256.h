/*
 * sha256.h — SHA-256 of a buffer (libcrypto), for content hashes: the
 * Content-Security-Policy hashes of report.html's inline script and style.
 *
 * Like hmac.h, kept apart from errors.h: OpenSSL's headers declare a type
 * named ERR_STATE, which clashes with our error code of that name.
 */
#ifndef REHEARSE_SHA256_H
#define REHEARSE_SHA256_H

#include <stdbool.h>
#include <stddef.h>

#define SHA256_LEN 32

/* out gets SHA-256(data); false only if libcrypto fails. */
bool sha256_digest(const void *data, size_t len, unsigned char out[SHA256_LEN]);

/* The lowercase hex form (64 digits and a NUL). */
bool sha256_hex(const void *data, size_t len, char hex[2 * SHA256_LEN + 1]);

#endif
