/*
 * hmac.h — HMAC-SHA256 (RFC 2104) with a key prepared once.
 *
 * Kept apart from errors.h on purpose: OpenSSL's headers declare a type
 * named ERR_STATE, which clashes with our error code of that name, so no
 * file may include both.
 */
#ifndef REHEARSE_HMAC_H
#define REHEARSE_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define HMAC_SHA256_LEN 32

struct hmac_key;

/* NULL when out of memory or when libcrypto has no SHA-256. */
struct hmac_key *hmac_key_new(const void *key, size_t len);
void hmac_key_free(struct hmac_key *k); /* NULL is fine */

/* out gets HMAC-SHA256(key, data); false only if libcrypto fails. */
bool hmac_sha256(struct hmac_key *k, const void *data, size_t len,
                 unsigned char out[HMAC_SHA256_LEN]);

#endif
