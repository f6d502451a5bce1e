/*
 * report_internal.h — what the report writers (report_json.c,
 * report_html.c, report_junit.c, report_md.c) share: the loaded inputs,
 * already checked against their shapes, and small readers and formatters.
 *
 * Not for use outside reports/report*.c: the public interface is report.h.
 * Every string here is borrowed from the parsed documents (or the report's
 * arena) and lives as long as the report.
 */
#ifndef REHEARSE_REPORT_INTERNAL_H
#define REHEARSE_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "errors.h"
#include "jdoc.h"
#include "report.h"

/* A string that may contain NUL bytes; s == NULL means absent. */
struct rstr {
    const char *s;
    size_t len;
};

enum report_risk { RISK_NONE = 0, RISK_LOW, RISK_MEDIUM, RISK_HIGH };

enum report_result { RESULT_PASS = 0, RESULT_REGRESSIONS, RESULT_NO_DATA };

/* One reason of the verdict: from the DIFF.json's verdict.reasons, or made
 * from the context (a failed assertion, a database difference). */
struct report_reason {
    struct rstr kind, endpoint, path, header, rule;
    struct rstr step, metric, table; /* context reasons */
    enum report_risk risk;
};

struct report_endpoint {
    uint32_t node;
    struct rstr name, method, tmpl;
    uint64_t requests, compared, mismatches;
    uint64_t body[3], headers[3]; /* raw, noise, remaining */
    enum report_risk risk;
    bool regression;
    /* nodes in the diff document, JDOC_NONE when absent */
    uint32_t fields, examples, errors, latency, changes;
};

struct report {
    /* the DIFF.json */
    struct jdoc diff;
    char *diff_text;
    bool loaded;
    uint32_t inputs, thresholds, verdict, totals, targets, rules, redaction, caps;
    struct rstr base, candidate, noise; /* target names by role */
    struct report_endpoint *endpoints;
    size_t endpoint_count;

    /* the optional context */
    struct jdoc ctx;
    char *ctx_text;
    bool has_ctx;
    uint32_t run, timeline, assertions, database;

    /* the combined verdict */
    enum report_result result;
    struct report_reason *reasons;
    size_t reason_count;
    struct buf summary;

    struct arena strings; /* strings made here (reasons from the context) */
    char **warnings;
    size_t warning_count;
};

/* The shapes of the inputs (report_shapes.c). */
struct jshape;
extern const struct jshape report_diff_shape;
extern const struct jshape report_context_shape;

/* ---- readers over the checked documents (JDOC_NONE propagates) ---------- */

uint32_t rget(const struct jdoc *d, uint32_t obj, const char *key);
uint32_t rgetn(const struct jdoc *d, uint32_t obj, const char *key, size_t len);
struct rstr rstr_at(const struct jdoc *d, uint32_t node); /* a string node, else absent */
struct rstr rstr_get(const struct jdoc *d, uint32_t obj, const char *key);
uint64_t rcount(const struct jdoc *d, uint32_t obj, const char *key);
double rnumber(const struct jdoc *d, uint32_t obj, const char *key, double absent);
bool rhas_number(const struct jdoc *d, uint32_t obj, const char *key);
bool rbool(const struct jdoc *d, uint32_t obj, const char *key);
bool rstr_eq(struct rstr a, struct rstr b);
bool rstr_is(struct rstr a, const char *s);
/* The first element (array) or live key node (object) of node, or
 * JDOC_NONE — also for node JDOC_NONE, so absent members iterate as empty. */
uint32_t rfirst(const struct jdoc *d, uint32_t node);
/* Number of elements (array) or live members (object); 0 for JDOC_NONE. */
size_t rsize(const struct jdoc *d, uint32_t node);

/* "base", "candidate", "noise", or NULL for another target. */
const char *report_role(const struct report *r, struct rstr target);
/* The target name of a role ("base" → "old"); absent when not known. */
struct rstr report_role_target(const struct report *r, const char *role);

enum report_risk report_risk_parse(struct rstr s);
const char *report_risk_name(enum report_risk risk);
const char *report_result_name(enum report_result result);

/* ---- formatting for people --------------------------------------------- */

/* A rate as a percentage: "0", "<0.01%", "0.03%", "4.1%", "100%". */
void report_fmt_rate(char *out, size_t size, double rate);
/* A duration in microseconds: "850 µs", "2.5 ms", "1.2 s". */
void report_fmt_us(char *out, size_t size, double us);
/* A count with thin grouping: "1 000 000" (U+202F narrow no-break space). */
void report_fmt_count(char *out, size_t size, uint64_t n);
/* One line per reason, for people: "GET /users/{id} /name: RULE". */
int report_reason_line(struct buf *out, const struct report_reason *reason);

/* rate = n / of, 0 when of is 0 */
double report_rate(uint64_t n, uint64_t of);

/* ---- examples ---------------------------------------------------------- */

/* The example of endpoint e with transaction id tx, or JDOC_NONE. */
uint32_t report_find_example(const struct report *r, const struct report_endpoint *e,
                             uint64_t tx);
/*
 * A one-line description of what changed in an example at the field path
 * `pattern` (array indexes as "*"; NULL: the first differing path), from its
 * JSON Patch and base body: `/name: "Mary Ann van der Berg" → "Mary Ann"`.
 * Values are cut to `max_value` characters.  Text is raw (not escaped):
 * the caller escapes it for its output.
 */
int report_example_change(const struct report *r, uint32_t example, struct rstr pattern,
                          size_t max_value, struct buf *out);

/* ---- the writers ------------------------------------------------------- */

int report_json_render(struct report *r, struct buf *out, struct error *err);
int report_html_render(struct report *r, struct buf *out, struct error *err);
int report_junit_render(struct report *r, struct buf *out, struct error *err);
int report_md_render(struct report *r, struct buf *out, struct error *err);

#endif
