/*
 * sha256.h — streaming SHA-256 (libcrypto's EVP underneath), for bodies too
 * large to keep: hash as the bytes arrive, keep only the digest; and the
 * digest of a buffer in one call (report.html's Content-Security-Policy
 * hashes).
 * OpenSSL's headers stay in sha256.c (they define names such as ERR_STATE
 * that collide with ours).
 */
#ifndef REHEARSE_SHA256_H
#define REHEARSE_SHA256_H

#include <stdbool.h>
#include <stddef.h>

struct sha256;

/* A new hash context, or NULL when out of memory. */
struct sha256 *sha256_new(void);
/* Start over (a context can be reused). */
bool sha256_reset(struct sha256 *h);
bool sha256_update(struct sha256 *h, const void *data, size_t len);
/* Write the digest as 64 lowercase hex digits and a NUL into hex[65]. */
bool sha256_final_hex(struct sha256 *h, char hex[65]);
void sha256_free(struct sha256 *h); /* NULL is fine */

#define SHA256_LEN 32

/* out gets SHA-256(data[0..len)); false only if libcrypto fails. */
bool sha256_digest(const void *data, size_t len, unsigned char out[SHA256_LEN]);

#endif
