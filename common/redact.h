/*
 * redact.h — replace secret header values by keyed fingerprints.
 *
 * A secret value becomes `[redacted:hmac:HEX16]`: the first 8 bytes of
 * HMAC-SHA256(key, value) in hex.  The key is random per redactor (per run)
 * and never stored, so a fingerprint cannot be reversed or brute-forced
 * from a dictionary of likely tokens, while equal secrets within one run
 * get equal fingerprints: a reviewer still sees "same token" versus
 * "different token".
 *
 * Secret by default: Authorization and Proxy-Authorization (which keep
 * their scheme: `Bearer [redacted:hmac:...]`), Cookie and Set-Cookie.
 * More names can be added.  Names compare case-insensitively.
 */
#ifndef REHEARSE_REDACT_H
#define REHEARSE_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"

/* "[redacted:hmac:" + 16 hex digits + "]" */
#define REDACT_MARK_LEN 32

struct redactor;

/* A redactor with a fresh random key (from the OS) and the default names. */
int redactor_new(struct redactor **out, struct error *err);
/* The same with a caller-chosen key, for tests and reproducible reports. */
int redactor_new_with_key(struct redactor **out, const void *key, size_t key_len,
                          struct error *err);
void redactor_free(struct redactor *r); /* NULL is fine */

/* Treat header `name` as secret too. */
int redactor_add_header(struct redactor *r, const char *name, struct error *err);

bool redactor_is_secret(const struct redactor *r, const char *name, size_t len);

/* Write the 16 hex digits of the fingerprint of data[0..len) (plus NUL). */
void redactor_fingerprint(const struct redactor *r, const void *data, size_t len,
                          char hex[17]);

/* Append the redacted form of a value of header `name` to out. */
int redactor_value(const struct redactor *r, const char *name, size_t name_len,
                   const char *value, size_t len, struct buf *out);

#endif
