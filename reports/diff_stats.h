/*
 * diff_stats.h — the statistics of the response diff, per endpoint and per
 * field, with noise cancelled the way Diffy does it and a little better.
 *
 * Diffy sends each request to the old version twice (primary, secondary)
 * and to the new one (candidate); per endpoint and field it counts raw
 * differences (old vs new) and noise (old vs old), and calls a field a
 * regression when raw exceeds noise by the relative and absolute
 * thresholds.  Here the same counts are kept, and one more: per
 * transaction, a difference base vs candidate at a field that also differed
 * base vs noise on that same transaction (at the field or above it) is
 * noise there; what is left is "remaining".  A field regresses when
 *     remaining > 0, raw > noise,
 *     |raw − noise| / (raw + noise) > relative, and
 *     |raw − noise| / compared > absolute
 * (docs/diff-format.md, "thresholds").  Without a noise reference, noise is
 * 0 and every difference remains.
 *
 * Risk (Keploy's grading): a field removed or its type changed is high, a
 * value changed or an array reordered medium, only fields added low; a
 * status that went from 2xx/3xx to 4xx/5xx, or an error kind the base never
 * had, is high.
 *
 * Bounded: at most caps.endpoints endpoints are tracked (later ones are
 * summed into one "(other)" endpoint), caps.fields_per_endpoint fields each
 * (later fields are counted as cap hits, not tracked), a handful of
 * example references each (the lowest transaction ids, so the choice does
 * not depend on the order records are read in — shards give the same
 * examples as one file).  Memory does not grow with the number of
 * transactions.
 */
#ifndef REHEARSE_DIFF_STATS_H
#define REHEARSE_DIFF_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "counter.h"
#include "histogram.h"
#include "json_diff.h"
#include "resp_compare.h"
#include "results.h"

#define DSTATS_MAX_EXAMPLES 64          /* largest examples_per_endpoint */
#define DSTATS_MAX_FIELD_EXAMPLES 16    /* largest examples_per_field */
#define DSTATS_STATUS_CHANGES 16        /* status pairs listed per endpoint */
#define DSTATS_NAME_MAX 1024            /* endpoint names are cut to this */
#define DSTATS_FIELD_KEY_MAX 4096       /* field paths likewise */
#define DSTATS_OTHER "(other)"

struct dstats_caps {
    size_t endpoints;             /* default 1000 */
    size_t fields_per_endpoint;   /* default 200 */
    size_t examples_per_endpoint; /* default 5, at most DSTATS_MAX_EXAMPLES */
    size_t examples_per_field;    /* default 3, at most DSTATS_MAX_FIELD_EXAMPLES */
    size_t example_body_bytes;    /* default 65536 */
    size_t paths_per_example;     /* default 100 */
    size_t reasons;               /* default 1000 */
};

struct dstats_thresholds {
    double relative;         /* default 0.2 */
    double absolute;         /* default 0.0003 */
    double status;           /* default 0 */
    double error_rate;       /* default 0 */
    double latency_p99_ratio;/* < 0: latency never decides (default) */
};

void dstats_caps_default(struct dstats_caps *c);
void dstats_thresholds_default(struct dstats_thresholds *t);

enum dstats_risk { RISK_NONE = 0, RISK_LOW, RISK_MEDIUM, RISK_HIGH };
const char *dstats_risk_name(enum dstats_risk r); /* "none", "low", ... */
enum dstats_risk dstats_kind_risk(enum resp_kind kind);

/* Why a transaction read was not compared. */
#define DSTATS_SKIP_MAP(X)                                  \
    X(DSTATS_SKIP_BASE_ERROR, "base_error")                 \
    X(DSTATS_SKIP_CANDIDATE_ERROR, "candidate_error")       \
    X(DSTATS_SKIP_BOTH_ERROR, "both_error")                 \
    X(DSTATS_SKIP_OMITTED_UNEQUAL, "body_omitted_unequal_hash")

enum dstats_skip {
#define DSTATS_SKIP_ENUM(name, text) name,
    DSTATS_SKIP_MAP(DSTATS_SKIP_ENUM)
#undef DSTATS_SKIP_ENUM
    DSTATS_SKIPS
};
const char *dstats_skip_name(enum dstats_skip s);

/* Where a record can be read again (results_scan_seek). */
struct dstats_ref {
    uint64_t tx;     /* UINT64_MAX: none */
    uint32_t file;   /* index of the results file */
    uint64_t offset; /* byte offset of its line */
    uint64_t line;   /* line number */
};

/* The roles of the targets compared. */
enum dstats_role { ROLE_BASE = 0, ROLE_CANDIDATE, ROLE_NOISE, ROLES };

struct dstats_field {
    uint8_t part;             /* RESP_HEADER or RESP_BODY */
    const char *key;          /* body: field path; header: lower-case name */
    size_t key_len;
    const char *header;       /* header: its canonical name; else NULL */
    uint64_t raw, noise, remaining;
    uint64_t kinds[RESP_KINDS];     /* raw differences by kind */
    uint64_t remaining_kinds[RESP_KINDS];
    struct dstats_ref first;  /* lowest transaction with a remaining difference */
    /* decided by dstats_finish */
    bool regression;
    enum dstats_risk risk;
    enum resp_kind kind;      /* the most frequent kind */
    char rule[160];           /* the threshold that fired, with the numbers */
    uint64_t examples[DSTATS_MAX_FIELD_EXAMPLES];
    size_t nexamples;
};

struct dstats_status_change {
    int base, candidate;
    uint64_t count;
};

struct dstats_endpoint {
    const char *name;          /* "GET /users/{id}" */
    const char *method, *tmpl;
    const void *user;          /* the caller's (the endpoint's body rules) */
    bool other;                /* the "(other)" entry */
    uint64_t requests, compared;
    uint64_t different_raw, different_after_noise;
    struct {
        uint64_t mismatches, noise, remaining;
        struct dstats_status_change changes[DSTATS_STATUS_CHANGES];
        size_t nchanges;
        uint64_t other_changes; /* mismatches whose pair did not fit */
    } status;
    struct {
        uint64_t raw, noise, remaining;
    } body, headers;
    uint64_t errors[ROLES][RESULT_ERROR_COUNT];
    uint64_t requests_by_role[ROLES];
    struct histogram latency[ROLES];
    /* fields, found through `index` (common/counter.h: the value of a key
     * is the field's position) */
    struct dstats_field *fields;
    size_t nfields, fields_cap;
    struct counter index;
    /* example candidates: the lowest transaction ids */
    struct dstats_ref lowest_remaining[DSTATS_MAX_EXAMPLES];
    size_t nlowest_remaining;
    struct dstats_ref lowest_raw[DSTATS_MAX_EXAMPLES];
    size_t nlowest_raw;
    /* decided by dstats_finish */
    bool regression;
    enum dstats_risk risk;
    bool status_regression, error_regression, latency_regression;
    char status_rule[160], error_rule[160], latency_rule[160];
    enum dstats_risk status_risk, error_risk;
    size_t *order;             /* fields in output order */
    struct dstats_ref examples[DSTATS_MAX_EXAMPLES];
    size_t nexamples;
};

struct dstats_target {
    uint64_t requests;
    uint64_t errors[RESULT_ERROR_COUNT];
    uint64_t status_classes[6]; /* 1xx..5xx, other */
    struct histogram latency;
};

struct dstats_reason {
    const char *kind;          /* "field", "header", "status", "error_rate", "latency" */
    const struct dstats_endpoint *endpoint;
    const struct dstats_field *field; /* field and header reasons */
    const char *rule;
    enum dstats_risk risk;
};

struct diff_stats {
    struct dstats_caps caps;
    struct dstats_thresholds thresholds;
    bool have_noise;
    size_t target_count;
    struct dstats_target targets[RESULTS_MAX_TARGETS];
    /* totals */
    uint64_t transactions, compared, identical, different_raw, different_after_noise;
    uint64_t status_mismatches, noise_compared;
    uint64_t skipped[DSTATS_SKIPS];
    /* caps hit */
    uint64_t hit_endpoints, hit_fields, hit_examples, hit_status_changes, hit_reasons;
    /* endpoints */
    struct dstats_endpoint **endpoints;
    size_t nendpoints, endpoints_cap;
    struct counter index;       /* endpoint name → position, caps.endpoints keys */
    struct dstats_endpoint *other;
    struct arena names;
    /* decided by dstats_finish */
    struct dstats_endpoint **order; /* output order, (other) last */
    size_t norder;
    struct dstats_reason *reasons;
    size_t nreasons;            /* kept (at most caps.reasons) */
    uint64_t total_reasons;     /* all */
    size_t regressed_endpoints;
};

int dstats_init(struct diff_stats *s, const struct dstats_caps *caps,
                const struct dstats_thresholds *t, size_t target_count, bool have_noise);
void dstats_release(struct diff_stats *s);

/*
 * The endpoint "METHOD TEMPLATE", created when new; the "(other)" entry
 * when caps.endpoints are taken (*created says whether it was new).  NULL
 * only when memory runs out.
 */
struct dstats_endpoint *dstats_endpoint(struct diff_stats *s, const char *method,
                                        const char *tmpl, bool *created);

/*
 * The fields a comparison found, distinct, each with the most severe kind
 * it had in that comparison; and "is this difference noise": does the noise
 * comparison of the same transaction have the field, or one above it?
 * Caller-owned, reusable.
 */
struct dstats_fieldset {
    struct resp_item *items; /* distinct (part, field); path = first occurrence */
    size_t count, cap;
    uint32_t *slots;
    size_t nslots;
};

void dstats_fieldset_init(struct dstats_fieldset *f);
void dstats_fieldset_release(struct dstats_fieldset *f);
/* Fill from a comparison (NULL: empty).  0 or ERR_NOMEM. */
int dstats_fieldset_build(struct dstats_fieldset *f, const struct resp_diff *d);
bool dstats_fieldset_covers(const struct dstats_fieldset *noise, uint8_t part, const char *field,
                            size_t len);

/* One transaction read: every target's answer. */
void dstats_add_targets(struct diff_stats *s, const struct result_record *rec);

/* One transaction of endpoint ep, with the indexes of the targets in the
 * roles (noise -1 without one).  skip >= 0: not compared, for that reason;
 * else bc is the base vs candidate comparison, bn the base vs noise one
 * (NULL when the noise reference did not answer), and their fieldsets. */
int dstats_add(struct diff_stats *s, struct dstats_endpoint *ep, const struct result_record *rec,
               const int roles[ROLES], const struct dstats_ref *ref, int skip,
               const struct resp_diff *bc, const struct dstats_fieldset *fbc,
               const struct resp_diff *bn, const struct dstats_fieldset *fbn);

/* Decide regressions and risk, order endpoints and fields, pick the
 * examples.  After this, only dstats_field_example may change anything. */
int dstats_finish(struct diff_stats *s);

/* Note that example `tx` of endpoint ep shows field (part, key). */
void dstats_field_example(struct diff_stats *s, struct dstats_endpoint *ep, uint8_t part,
                          const char *key, size_t key_len, uint64_t tx);
/* Sort each field's example ids. */
void dstats_examples_done(struct diff_stats *s);

/* Rates for output: count / endpoint compared (0 when nothing compared). */
double dstats_rate(const struct dstats_endpoint *ep, uint64_t count);

/* A field of an endpoint by part and key, or NULL. */
struct dstats_field *dstats_find_field(struct diff_stats *s, struct dstats_endpoint *ep,
                                       uint8_t part, const char *key, size_t key_len);

/* The verdict: "pass", "regressions" or "no_data", and the exit code. */
const char *dstats_verdict(const struct diff_stats *s, int *exit_code);

#endif
