/*
 * diff_redact.h — hide secrets in everything the response diff writes out:
 * header values, query parameters of request targets, JSON members, and
 * form bodies.  A secret becomes `[redacted:hmac:HEX16]` (common/redact.h):
 * a keyed fingerprint, so equal secrets still look equal to a reviewer.
 *
 * What is secret:
 *   - headers: Authorization and Proxy-Authorization (keeping the scheme,
 *     "Bearer [redacted:...]"), Cookie, Set-Cookie; names that look like
 *     credentials (containing auth, token, secret, signature, api-key,
 *     apikey, api_key, password, session, credential, or ending in "-key");
 *     and the rules file's redact_headers;
 *   - query parameters (and fields of form bodies) whose names look like
 *     credentials: the words above, plus key, sig, code, pass, pwd;
 *   - JSON members whose names contain password, passwd, secret, token,
 *     apikey, api_key, api-key, authorization, credential, private_key or
 *     session (the whole value, whatever its type), and the values at the
 *     rules file's redact patterns.
 *
 * Each of these is a rule with a hit count: the built-in ones are listed by
 * dredact_builtin(), the rules file's by their ids.
 */
#ifndef REHEARSE_DIFF_REDACT_H
#define REHEARSE_DIFF_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "diff_rules.h"
#include "errors.h"
#include "jdoc.h"

/* The built-in redaction rules, in the order dredact_builtin lists them. */
enum dredact_builtin {
    DREDACT_AUTHORIZATION = 0,
    DREDACT_PROXY_AUTHORIZATION,
    DREDACT_COOKIE,
    DREDACT_SET_COOKIE,
    DREDACT_SECRET_HEADERS,
    DREDACT_SECRET_QUERY,
    DREDACT_SECRET_JSON,
    DREDACT_BUILTINS
};

struct dredact_builtin_info {
    const char *kind;    /* "redact_headers", "redact_query", "redact" */
    const char *pattern; /* what it matches, for people */
};

const struct dredact_builtin_info *dredact_builtin(enum dredact_builtin b);

struct dredact;

/*
 * A redactor for one diff.  key: the fingerprint key (key_len bytes), or
 * NULL for a random one (the default: fingerprints cannot be reversed by
 * guessing, but differ from run to run).  rules may be NULL.
 */
int dredact_new(struct dredact **out, const struct diff_rules *rules, const void *key,
                size_t key_len, struct error *err);
void dredact_free(struct dredact *r); /* NULL is fine */

/* Append a header's value to out, redacted when the header is secret. */
int dredact_header(struct dredact *r, const char *name, size_t name_len, const char *value,
                   size_t len, struct buf *out);

/* Append a request target with the values of secret query parameters
 * redacted. */
int dredact_target(struct dredact *r, const char *target, size_t len, struct buf *out);

/* Append a form body (name=value&...) with secret fields redacted. */
int dredact_form(struct dredact *r, const char *body, size_t len, struct buf *out);

/*
 * Append node i of d as compact JSON text (numbers as written), with
 * secret members and the values at redact patterns replaced.  `at` is the
 * JSON Pointer of node i in its document ("" for a whole body; the path of
 * a patch operation for its value), so patterns and member names apply as
 * in the body.  flags: enum jdoc_write_flags.
 */
int dredact_json(struct dredact *r, const struct jdoc *d, uint32_t i, const char *at,
                 size_t at_len, unsigned flags, struct buf *out);

/* The words of the built-in rules, NULL-ended, matched against lower-case
 * names: "w" anywhere in the name, "=w" the whole name, "*w" its end. */
extern const char *const dredact_header_words[];
extern const char *const dredact_member_words[];
extern const char *const dredact_query_words[];

/* Is the JSON member or query parameter name secret by the built-in rule? */
bool dredact_secret_member(const char *name, size_t len);
bool dredact_secret_header(const struct dredact *r, const char *name, size_t len);

/* Values redacted so far, and the hits per rule: built-ins, and the rules
 * file's [rule id] (redact and redact_headers rules). */
uint64_t dredact_count(const struct dredact *r);
uint64_t dredact_builtin_hits(const struct dredact *r, enum dredact_builtin b);
uint64_t dredact_rule_hits(const struct dredact *r, unsigned id);

#endif
