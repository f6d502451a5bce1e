/*
 * diff_rules.h — the rules file of the response diff (docs/rules-format.md):
 * which headers to compare, which JSON paths to ignore, how to match array
 * elements, numeric tolerances, paths to redact and endpoint templates,
 * globally or per endpoint ("METHOD /path/{template}").
 *
 * Every rule in the file gets an id, in file order, so reports can show each
 * rule with its hit count (a rule that never fires, or fires on everything,
 * is worth a look).  The JSON body rules of an endpoint come out as a
 * jdiff_rules set (json_diff.h) whose rule ids are these ids.
 *
 * Not thread-safe: diff_rules_json() caches the sets it builds.
 */
#ifndef REHEARSE_DIFF_RULES_H
#define REHEARSE_DIFF_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "json_diff.h"
#include "json_pointer.h"

enum diff_rule_kind {
    /* body rules: the same values as enum jdiff_rule_kind */
    DIFF_RULE_IGNORE = JDIFF_RULE_IGNORE,
    DIFF_RULE_ARRAY_KEY = JDIFF_RULE_ARRAY_KEY,
    DIFF_RULE_UNORDERED = JDIFF_RULE_UNORDERED,
    DIFF_RULE_TOLERANCE = JDIFF_RULE_TOLERANCE,
    DIFF_RULE_STRICT_NUMBERS = JDIFF_RULE_STRICT_NUMBERS,
    /* header rules */
    DIFF_RULE_HEADER,          /* compare this response header */
    DIFF_RULE_IGNORE_HEADER,   /* do not compare it */
    /* report rules */
    DIFF_RULE_REDACT,          /* hide the value at these JSON paths */
    DIFF_RULE_REDACT_HEADER,   /* hide this header's value */
};

/* "ignore", ..., "headers", "ignore_headers", "redact", "redact_headers":
 * the member name the rule comes from. */
const char *diff_rule_kind_name(enum diff_rule_kind kind);

struct diff_rule_info {
    unsigned id;               /* index in the file's rule table */
    enum diff_rule_kind kind;
    const char *subject;       /* the pattern, or the header name */
    const char *scope;         /* "global" or the endpoint, e.g. "GET /users/{id}" */
    size_t line, column;       /* where the rule is written */
    const char *const *keys;   /* array_key: the key names, NULL-ended; else NULL */
    double absolute, relative; /* tolerance (< 0 when not given) */
};

struct diff_rules;

/* Read and check a rules file.  Errors say file:line:column, what was
 * expected and what was found. */
int diff_rules_load(struct diff_rules **out, const char *path, struct error *err);
/* The same from text in memory (`name` names it in messages). */
int diff_rules_parse(struct diff_rules **out, const char *text, size_t len, const char *name,
                     struct error *err);
void diff_rules_free(struct diff_rules *rules); /* NULL is fine */

size_t diff_rules_count(const struct diff_rules *rules);
const struct diff_rule_info *diff_rules_info(const struct diff_rules *rules, unsigned id);

/* Does the file have an "endpoints" entry for this method and template?
 * (An entry for method "*" matches every method.) */
bool diff_rules_has_endpoint(const struct diff_rules *rules, const char *method,
                             const char *tmpl);

/*
 * The body rules for an endpoint: the rules of every "endpoints" entry that
 * matches (in file order), then the global rules.  method and tmpl may be
 * NULL for the global rules only.  Borrowed from `rules` (built once per
 * endpoint and kept).  NULL with err set only when memory runs out.
 */
const struct jdiff_rules *diff_rules_json(struct diff_rules *rules, const char *method,
                                          const char *tmpl, struct error *err);

enum diff_header_decision {
    DIFF_HEADER_SKIP = 0,   /* not in the compared set */
    DIFF_HEADER_COMPARE,    /* compare it */
    DIFF_HEADER_IGNORED,    /* in the set, but an ignore_headers rule drops it */
};

/* Is response header `name` (any case) compared for this endpoint?  The set
 * is Content-Type plus every "headers" entry ("*" for all) of the global
 * and matching endpoint rules, minus "ignore_headers".  *rule_id (may be
 * NULL) gets the deciding rule's id, or -1 for the built-in default. */
enum diff_header_decision diff_rules_header(const struct diff_rules *rules, const char *method,
                                            const char *tmpl, const char *name, int *rule_id);

/* Redaction (global): patterns of JSON paths, and header names. */
size_t diff_rules_redact_count(const struct diff_rules *rules);
const struct jpointer_pattern *diff_rules_redact(const struct diff_rules *rules, size_t i);
bool diff_rules_redact_header(const struct diff_rules *rules, const char *name);

/* The first user template (in file order) that matches a request path (no
 * query string), or NULL.  A template segment "{name}" matches any one
 * non-empty segment; other segments match exactly. */
const char *diff_rules_template(const struct diff_rules *rules, const char *path);

/* The templates in file order (the pointers diff_rules_template returns),
 * with the line and column where each is written; NULL past the last. */
size_t diff_rules_template_count(const struct diff_rules *rules);
const char *diff_rules_template_at(const struct diff_rules *rules, size_t i, size_t *line,
                                   size_t *column);

#endif
