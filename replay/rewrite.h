/*
 * rewrite.h — what a target receives for a captured request: the request
 * as captured, byte for byte, except the documented rewrites
 * (docs/cli/replay.md, "What a target receives"):
 *
 *   1. --rewrite-path rules, in order, on the request target;
 *   2. a target URL's path prefix is put before origin-form targets;
 *   3. the Host header takes the target's host[:port] (unless --keep-host);
 *   4. --remove-header and --set-header rules, in command-line order.
 *
 * The request is then checked for fingerprints of redacted secrets
 * ("[redacted:hmac:...]") that no rule replaced: such a request is sent
 * unchanged, and counted, so the user learns to supply a staging credential.
 */
#ifndef REHEARSE_REWRITE_H
#define REHEARSE_REWRITE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "selection.h"
#include "target.h"
#include "trace.h"

#define REWRITE_ALL_TARGETS (-1)
#define REDACTED_MARK "[redacted:"

struct rewrite_header_rule {
    int target;     /* target index, or REWRITE_ALL_TARGETS */
    char name[128];
    char *value;    /* after ${ENV} expansion; NULL for --remove-header */
};

struct rewrite_path_rule {
    regex_t re;
    char *replacement; /* with \0..\9 group references */
    char *text;        /* as given */
};

struct rewrite_rules {
    bool keep_host;
    struct rewrite_header_rule *headers;
    size_t header_count;
    struct rewrite_path_rule *paths;
    size_t path_count;
};

void rewrite_init(struct rewrite_rules *r);
void rewrite_release(struct rewrite_rules *r);

/* "[TARGET=]Name: value" — ${NAME} in the value expands from the
 * environment; an unset variable is an error naming it.  TARGET limits the
 * rule to one of `targets`. */
int rewrite_add_set_header(struct rewrite_rules *r, const char *spec,
                           const struct replay_target *targets, size_t target_count,
                           struct error *err);
/* "[TARGET=]Name" */
int rewrite_add_remove_header(struct rewrite_rules *r, const char *spec,
                              const struct replay_target *targets, size_t target_count,
                              struct error *err);
/* "REGEX=REPLACEMENT": POSIX extended regex; the first '=' not preceded by
 * a backslash separates them (write \= for a literal '=' in REGEX). */
int rewrite_add_path(struct rewrite_rules *r, const char *spec, struct error *err);

/* A request ready to send.  Header names and values are borrowed from the
 * captured request, the rules and the target; target and the header array
 * are owned. */
struct outgoing {
    const char *method;
    unsigned version_minor; /* HTTP/1.x */
    struct buf target;
    struct http_header *headers;
    size_t header_count, header_cap;
    const unsigned char *body;
    size_t body_len;
    bool chunked;            /* Transfer-Encoding: chunked (re-chunked on send) */
    const struct http_header *trailers;
    size_t trailer_count;
    bool redacted;           /* still carries a [redacted:...] fingerprint */
};

void outgoing_init(struct outgoing *o);
void outgoing_release(struct outgoing *o);

/* Build what target `t` (index target_index) receives for `req`.
 * ERR_NOMEM/ERR_TOOBIG only; sendability was checked before. */
int rewrite_apply(const struct rewrite_rules *r, const struct replay_target *t, int target_index,
                  const struct http_message *req, struct outgoing *out);

/* Can this captured request be sent as captured?  SKIP_NONE, or
 * SKIP_INCOMPLETE / SKIP_UPGRADE / SKIP_UNSENDABLE. */
enum skip_reason rewrite_check_sendable(const struct trace_tx *tx);

#endif
