#include "fault_impact.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "results.h"

#define DEFAULT_BUCKET_US 250000
#define DEFAULT_HANG_US 1000000
/* A series bucket's latencies: a coarse log histogram (4 sub-buckets per
 * power of two: percentiles within 19%, enough for a chart), small enough
 * for hundreds of buckets per target. */
#define SMALL_SUB 4
#define SMALL_BUCKETS (41 * SMALL_SUB)

struct small_hist {
    uint32_t counts[SMALL_BUCKETS];
};

struct bucket {
    uint64_t requests, failed;
    struct small_hist latency;
};

/* What one target did around one window. */
struct window_stats {
    uint64_t requests, failed, hung;
    uint64_t errors[RESULT_ERROR_COUNT]; /* [RESULT_ERROR_NONE]: 5xx answers */
    struct histogram latency;
    uint64_t after;                      /* requests sent after the window (horizon) */
    bool any_failure_after;
    int64_t last_fail_sent, last_fail_end;
    int64_t last_success_sent;
};

struct target {
    char name[64];
    struct bucket *buckets;              /* index = (sent - origin) / bucket_us */
    size_t nbuckets;
    struct window_stats *windows;
};

struct fault_impact {
    struct fault_impact_options o;
    int64_t bucket_us;
    struct fault_impact_window *windows;
    int64_t *horizon;                    /* per window: when the next one begins */
    size_t nwindows;
    struct target targets[FAULT_IMPACT_MAX_TARGETS];
    size_t ntargets;
};

/* ---- the small histogram ------------------------------------------------- */

static unsigned small_index(uint64_t v)
{
    if (v < 2)
        return (unsigned)v;
    unsigned e = 63 - (unsigned)__builtin_clzll(v);
    unsigned sub = e >= 2 ? (unsigned)((v >> (e - 2)) & 3) : (unsigned)((v << (2 - e)) & 3);
    unsigned i = e * SMALL_SUB + sub;
    return i < SMALL_BUCKETS ? i : SMALL_BUCKETS - 1;
}

static double small_upper(unsigned i)
{
    unsigned e = i / SMALL_SUB, sub = i % SMALL_SUB;
    if (i < 2)
        return (double)i;
    return ldexp(1.0 + (double)(sub + 1) / SMALL_SUB, (int)e) - 1;
}

static double small_percentile(const struct small_hist *h, uint64_t total, double p)
{
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)total), seen = 0;
    if (!total)
        return 0;
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < SMALL_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return small_upper(i);
    }
    return small_upper(SMALL_BUCKETS - 1);
}

/* ---- building ------------------------------------------------------------ */

static int cmp_start(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int fault_impact_new(struct fault_impact **out, const struct fault_impact_options *o,
                     const struct fault_impact_window *windows, size_t nwindows,
                     struct error *err)
{
    struct fault_impact *fi;

    *out = NULL;
    if (nwindows > FAULT_IMPACT_MAX_WINDOWS)
        return error_set(err, ERR_TOOBIG, "at most %d fault windows, found %zu",
                         FAULT_IMPACT_MAX_WINDOWS, nwindows);
    if (!(fi = calloc(1, sizeof *fi)))
        return error_set(err, ERR_NOMEM, "out of memory");
    fi->o = *o;
    fi->bucket_us = o->bucket_us > 0 ? o->bucket_us : DEFAULT_BUCKET_US;
    if (fi->o.hang_us <= 0)
        fi->o.hang_us = DEFAULT_HANG_US;
    fi->nwindows = nwindows;
    fi->windows = calloc(nwindows ? nwindows : 1, sizeof *fi->windows);
    fi->horizon = calloc(nwindows ? nwindows : 1, sizeof *fi->horizon);
    if (!fi->windows || !fi->horizon) {
        fault_impact_free(fi);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    memcpy(fi->windows, windows, nwindows * sizeof *windows);
    /* Recovery after a window is watched until the next window begins. */
    int64_t *starts = calloc(nwindows ? nwindows : 1, sizeof *starts);
    if (!starts) {
        fault_impact_free(fi);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nwindows; i++)
        starts[i] = windows[i].start_us;
    qsort(starts, nwindows, sizeof *starts, cmp_start);
    for (size_t i = 0; i < nwindows; i++) {
        int64_t end = windows[i].end_us < windows[i].start_us ? INT64_MAX : windows[i].end_us;
        fi->horizon[i] = INT64_MAX;
        for (size_t k = 0; k < nwindows; k++)
            if (starts[k] >= end) {
                fi->horizon[i] = starts[k];
                break;
            }
    }
    free(starts);
    *out = fi;
    return 0;
}

void fault_impact_free(struct fault_impact *fi)
{
    if (!fi)
        return;
    for (size_t i = 0; i < fi->ntargets; i++) {
        free(fi->targets[i].buckets);
        free(fi->targets[i].windows);
    }
    free(fi->windows);
    free(fi->horizon);
    free(fi);
}

static struct target *target_named(struct fault_impact *fi, const char *name, struct error *err)
{
    for (size_t i = 0; i < fi->ntargets; i++)
        if (strcmp(fi->targets[i].name, name) == 0)
            return &fi->targets[i];
    if (fi->ntargets == FAULT_IMPACT_MAX_TARGETS) {
        error_set(err, ERR_TOOBIG, "more than %d targets in the results of one run",
                  FAULT_IMPACT_MAX_TARGETS);
        return NULL;
    }
    struct target *t = &fi->targets[fi->ntargets];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->windows = calloc(fi->nwindows ? fi->nwindows : 1, sizeof *t->windows);
    if (!t->windows) {
        error_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t w = 0; w < fi->nwindows; w++) {
        histogram_init(&t->windows[w].latency);
        t->windows[w].last_fail_sent = t->windows[w].last_success_sent = INT64_MIN;
    }
    fi->ntargets++;
    return t;
}

/* Halve the series' resolution of every target (bucket k+1 into k/2). */
static void coarsen(struct fault_impact *fi)
{
    for (size_t i = 0; i < fi->ntargets; i++) {
        struct target *t = &fi->targets[i];
        for (size_t k = 0; k < t->nbuckets; k++) {
            struct bucket *to = &t->buckets[k / 2], *from = &t->buckets[k];
            if (to == from)
                continue;
            if (k % 2 == 0) {
                *to = *from;
            } else {
                to->requests += from->requests;
                to->failed += from->failed;
                for (unsigned b = 0; b < SMALL_BUCKETS; b++)
                    to->latency.counts[b] += from->latency.counts[b];
            }
        }
        size_t n = (t->nbuckets + 1) / 2;
        memset(t->buckets + n, 0, (t->nbuckets - n) * sizeof *t->buckets);
        t->nbuckets = n;
    }
    fi->bucket_us *= 2;
}

static int add_to_series(struct fault_impact *fi, struct target *t, int64_t sent, uint64_t us,
                         bool failed, struct error *err)
{
    int64_t offset = sent - fi->o.origin_us;
    size_t k;

    if (offset < 0)
        offset = 0;
    while ((k = (size_t)(offset / fi->bucket_us)) >= FAULT_IMPACT_MAX_BUCKETS)
        coarsen(fi);
    if (k >= t->nbuckets) {
        /* Buckets are allocated at the cap's size once: coarsening keeps
         * them within it. */
        if (!t->buckets && !(t->buckets = calloc(FAULT_IMPACT_MAX_BUCKETS, sizeof *t->buckets)))
            return error_set(err, ERR_NOMEM, "out of memory");
        t->nbuckets = k + 1;
    }
    t->buckets[k].requests++;
    t->buckets[k].failed += failed;
    t->buckets[k].latency.counts[small_index(us)]++;
    return 0;
}

static void add_to_windows(struct fault_impact *fi, struct target *t,
                           const struct result_target *r, bool failed)
{
    int64_t sent = r->sent_us;
    int64_t us = r->total_us == RESULTS_TIME_NONE ? 0 : r->total_us;
    int64_t end = sent + us;

    for (size_t w = 0; w < fi->nwindows; w++) {
        const struct fault_impact_window *win = &fi->windows[w];
        struct window_stats *s = &t->windows[w];
        int64_t wend = win->end_us < win->start_us ? INT64_MAX : win->end_us;
        if (sent < wend && end >= win->start_us) {
            s->requests++;
            histogram_add(&s->latency, (uint64_t)us);
            if (failed) {
                s->failed++;
                s->errors[r->error]++; /* RESULT_ERROR_NONE: a 5xx answer */
            }
            if (us > fi->o.hang_us || r->error == RESULT_ERROR_TIMEOUT)
                s->hung++;
        } else if (sent >= wend && sent < fi->horizon[w]) {
            s->after++;
            if (failed) {
                s->any_failure_after = true;
                if (sent > s->last_fail_sent)
                    s->last_fail_sent = sent;
                if (end > s->last_fail_end)
                    s->last_fail_end = end;
            } else if (sent > s->last_success_sent) {
                s->last_success_sent = sent;
            }
        }
    }
}

int fault_impact_add(struct fault_impact *fi, const char *results_path, struct error *err)
{
    struct results_reader *rd = NULL;
    const struct result_record *rec;
    struct target *targets[RESULTS_MAX_TARGETS];
    const struct results_header *h;
    int rc;

    if ((rc = results_reader_open(&rd, results_path, 0, err)))
        return rc;
    h = results_reader_header(rd);
    for (size_t i = 0; i < h->target_count; i++)
        if (!(targets[i] = target_named(fi, h->targets[i].name, err))) {
            results_reader_close(rd);
            return err->code ? err->code : ERR_NOMEM;
        }
    while ((rc = results_reader_next(rd, &rec, err)) == 1) {
        for (size_t i = 0; i < rec->target_count && i < h->target_count; i++) {
            const struct result_target *r = &rec->targets[i];
            bool failed = r->error != RESULT_ERROR_NONE ||
                          (r->has_response && r->response.status >= 500);
            uint64_t us = r->total_us == RESULTS_TIME_NONE || r->total_us < 0
                              ? 0
                              : (uint64_t)r->total_us;
            if ((rc = add_to_series(fi, targets[i], r->sent_us, us, failed, err)))
                break;
            add_to_windows(fi, targets[i], r, failed);
        }
        if (rc < 0)
            break;
    }
    results_reader_close(rd);
    return rc < 0 ? rc : 0;
}

/* ---- output -------------------------------------------------------------- */

static double ms(double us)
{
    return round(us) / 1000.0;
}

json_t *fault_impact_series(const struct fault_impact *fi)
{
    json_t *targets = json_array();
    for (size_t i = 0; i < fi->ntargets; i++) {
        const struct target *t = &fi->targets[i];
        json_t *points = json_array();
        for (size_t k = 0; k < t->nbuckets; k++) {
            const struct bucket *b = &t->buckets[k];
            if (!b->requests)
                continue;
            json_array_append_new(
                points, json_pack("[f, I, I, f, f]", ms((double)k * (double)fi->bucket_us),
                                  (json_int_t)b->requests, (json_int_t)b->failed,
                                  ms(small_percentile(&b->latency, b->requests, 50)),
                                  ms(small_percentile(&b->latency, b->requests, 99))));
        }
        json_array_append_new(targets, json_pack("{s:s, s:o}", "name", t->name, "points",
                                                 points));
    }
    return json_pack("{s:f, s:o}", "bucket_ms", ms((double)fi->bucket_us), "targets", targets);
}

json_t *fault_impact_window(const struct fault_impact *fi, size_t w)
{
    json_t *list;
    if (w >= fi->nwindows)
        return NULL;
    list = json_array();
    for (size_t i = 0; i < fi->ntargets; i++) {
        const struct window_stats *s = &fi->targets[i].windows[w];
        const struct fault_impact_window *win = &fi->windows[w];
        json_t *errors = json_object(), *recovery;
        for (int e = 0; e < RESULT_ERROR_COUNT; e++)
            if (s->errors[e])
                json_object_set_new(errors, e == RESULT_ERROR_NONE ? "http_5xx"
                                                                   : result_error_name(e),
                                    json_integer((json_int_t)s->errors[e]));
        if (win->end_us < win->start_us || !s->after)
            recovery = json_null(); /* still in force, or nothing to tell */
        else if (!s->any_failure_after)
            recovery = json_real(0);
        else if (s->last_success_sent > s->last_fail_sent)
            recovery = json_real(ms((double)(s->last_fail_end - win->end_us)));
        else
            recovery = json_null(); /* failing to the end: not recovered */
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I, s:o, s:I, s:f, s:f, s:I, s:o, s:b}", "target",
                            fi->targets[i].name, "requests", (json_int_t)s->requests, "failed",
                            (json_int_t)s->failed, "errors", errors, "hung",
                            (json_int_t)s->hung, "p50_ms",
                            ms((double)histogram_percentile(&s->latency, 50)), "p99_ms",
                            ms((double)histogram_percentile(&s->latency, 99)), "after",
                            (json_int_t)s->after, "recovery_ms", recovery, "recovered",
                            !json_is_null(recovery)));
    }
    return list;
}
