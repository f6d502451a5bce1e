#include "diff_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "jdoc_hash.h"

/* ---------------------------------------------------------------- basics */

void dstats_caps_default(struct dstats_caps *c)
{
    c->endpoints = 1000;
    c->fields_per_endpoint = 200;
    c->examples_per_endpoint = 5;
    c->examples_per_field = 3;
    c->example_body_bytes = 65536;
    c->paths_per_example = 100;
    c->reasons = 1000;
}

void dstats_thresholds_default(struct dstats_thresholds *t)
{
    t->relative = 0.2;
    t->absolute = 0.0003;
    t->status = 0;
    t->error_rate = 0;
    t->latency_p99_ratio = -1;
}

const char *dstats_risk_name(enum dstats_risk r)
{
    static const char *const names[] = {"none", "low", "medium", "high"};
    return (unsigned)r <= RISK_HIGH ? names[r] : "none";
}

enum dstats_risk dstats_kind_risk(enum resp_kind kind)
{
    switch (kind) {
    case RESP_REMOVED:
    case RESP_TYPE_CHANGED: return RISK_HIGH;
    case RESP_ADDED: return RISK_LOW;
    default: return RISK_MEDIUM;
    }
}

/* For "the most severe kind in one comparison" and for ties. */
static int severity(enum resp_kind kind)
{
    switch (kind) {
    case RESP_TYPE_CHANGED: return 4;
    case RESP_REMOVED: return 3;
    case RESP_CHANGED: return 2;
    case RESP_ORDER_CHANGED: return 1;
    default: return 0;
    }
}

static const char *const skip_names[DSTATS_SKIPS] = {
#define DSTATS_SKIP_NAME(name, text) text,
    DSTATS_SKIP_MAP(DSTATS_SKIP_NAME)
#undef DSTATS_SKIP_NAME
};

const char *dstats_skip_name(enum dstats_skip s)
{
    return (unsigned)s < DSTATS_SKIPS ? skip_names[s] : "other";
}

static uint64_t key_hash(uint8_t part, const char *key, size_t len)
{
    return jhash_bytes(key, len, 0x6669656c64ULL + part);
}

double dstats_rate(const struct dstats_endpoint *ep, uint64_t count)
{
    return ep->compared ? (double)count / (double)ep->compared : 0.0;
}

/* ------------------------------------------------------------- field sets */

void dstats_fieldset_init(struct dstats_fieldset *f)
{
    memset(f, 0, sizeof *f);
}

void dstats_fieldset_release(struct dstats_fieldset *f)
{
    free(f->items);
    free(f->slots);
    memset(f, 0, sizeof *f);
}

static long set_find(const struct dstats_fieldset *f, uint8_t part, const char *key, size_t len)
{
    size_t s;
    if (!f->nslots)
        return -1;
    s = key_hash(part, key, len) & (f->nslots - 1);
    while (f->slots[s]) {
        const struct resp_item *it = &f->items[f->slots[s] - 1];
        if (it->part == part && it->field_len == len && memcmp(it->field, key, len) == 0)
            return (long)f->slots[s] - 1;
        s = (s + 1) & (f->nslots - 1);
    }
    return -1;
}

int dstats_fieldset_build(struct dstats_fieldset *f, const struct resp_diff *d)
{
    size_t want;

    f->count = 0;
    if (!d || !d->count)
        return 0;
    if (d->count > f->cap) {
        struct resp_item *p = realloc(f->items, d->count * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        f->items = p;
        f->cap = d->count;
    }
    for (want = 16; want < 2 * d->count; want *= 2)
        ;
    if (want > f->nslots) {
        uint32_t *p = realloc(f->slots, want * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        f->slots = p;
        f->nslots = want;
    }
    memset(f->slots, 0, f->nslots * sizeof *f->slots);
    for (size_t i = 0; i < d->count; i++) {
        const struct resp_item *it = &d->items[i];
        long at = set_find(f, it->part, it->field, it->field_len);
        size_t s;
        if (at >= 0) {
            struct resp_item *x = &f->items[at];
            if (severity((enum resp_kind)it->kind) > severity((enum resp_kind)x->kind))
                x->kind = it->kind;
            continue;
        }
        f->items[f->count++] = *it;
        s = key_hash(it->part, it->field, it->field_len) & (f->nslots - 1);
        while (f->slots[s])
            s = (s + 1) & (f->nslots - 1);
        f->slots[s] = (uint32_t)f->count;
    }
    return 0;
}

bool dstats_fieldset_covers(const struct dstats_fieldset *noise, uint8_t part, const char *field,
                            size_t len)
{
    if (!noise || !noise->count)
        return false;
    if (set_find(noise, part, field, len) >= 0)
        return true;
    if (part != RESP_BODY)
        return false;
    /* a difference at a field above (the whole body "", /a above /a/b)
     * covers everything below it */
    for (size_t i = 0; i < len; i++)
        if ((i == 0 || field[i] == '/') && set_find(noise, part, field, i) >= 0)
            return true;
    return false;
}

/* -------------------------------------------------------------- endpoints */

int dstats_init(struct diff_stats *s, const struct dstats_caps *caps,
                const struct dstats_thresholds *t, size_t target_count, bool have_noise)
{
    memset(s, 0, sizeof *s);
    s->caps = *caps;
    if (s->caps.examples_per_endpoint > DSTATS_MAX_EXAMPLES)
        s->caps.examples_per_endpoint = DSTATS_MAX_EXAMPLES;
    if (s->caps.examples_per_field > DSTATS_MAX_FIELD_EXAMPLES)
        s->caps.examples_per_field = DSTATS_MAX_FIELD_EXAMPLES;
    s->thresholds = *t;
    s->target_count = target_count;
    s->have_noise = have_noise;
    for (size_t i = 0; i < RESULTS_MAX_TARGETS; i++)
        histogram_init(&s->targets[i].latency);
    arena_init(&s->names, 64 * 1024);
    counter_init(&s->index, s->caps.endpoints, DSTATS_NAME_MAX);
    return 0;
}

static void endpoint_free(struct dstats_endpoint *ep)
{
    if (!ep)
        return;
    free(ep->fields);
    counter_release(&ep->index);
    free(ep->order);
    free(ep);
}

void dstats_release(struct diff_stats *s)
{
    for (size_t i = 0; i < s->nendpoints; i++)
        endpoint_free(s->endpoints[i]);
    endpoint_free(s->other);
    free(s->endpoints);
    counter_release(&s->index);
    free(s->order);
    free(s->reasons);
    arena_release(&s->names);
    memset(s, 0, sizeof *s);
}

static char *save(struct diff_stats *s, const char *text, size_t len)
{
    char *p = arena_alloc(&s->names, len + 1);
    if (p) {
        memcpy(p, text, len);
        p[len] = '\0';
    }
    return p;
}

static struct dstats_endpoint *endpoint_new(struct diff_stats *s, const char *name,
                                            const char *method, const char *tmpl)
{
    struct dstats_endpoint *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    ep->name = name;
    ep->method = save(s, method, strlen(method));
    ep->tmpl = save(s, tmpl, strlen(tmpl));
    if (!ep->method || !ep->tmpl) {
        free(ep);
        return NULL;
    }
    /* fields by part and path, at most caps.fields_per_endpoint */
    counter_init(&ep->index, s->caps.fields_per_endpoint, DSTATS_FIELD_KEY_MAX);
    for (int r = 0; r < ROLES; r++)
        histogram_init(&ep->latency[r]);
    return ep;
}

struct dstats_endpoint *dstats_endpoint(struct diff_stats *s, const char *method,
                                        const char *tmpl, bool *created)
{
    char name[DSTATS_NAME_MAX];
    size_t len;
    struct counter_entry *e;
    struct dstats_endpoint *ep;
    int rc;

    *created = false;
    {
        /* "METHOD TEMPLATE", cut to fit (called for every transaction) */
        size_t ml = strlen(method), tl = strlen(tmpl);
        if (ml > sizeof name / 4)
            ml = sizeof name / 4;
        if (tl > sizeof name - ml - 2)
            tl = sizeof name - ml - 2;
        memcpy(name, method, ml);
        name[ml] = ' ';
        memcpy(name + ml + 1, tmpl, tl);
        len = ml + 1 + tl;
    }
    /* counter: the name's entry, created while caps.endpoints allows */
    e = counter_lookup(&s->index, name, len, &rc);
    if (!e && rc == 1) {
        if (!s->other) {
            if (!(s->other = endpoint_new(s, DSTATS_OTHER, "*", "*")))
                return NULL;
            s->other->other = true;
            *created = true;
        }
        return s->other;
    }
    if (!e)
        return NULL;
    if (e->count) /* known: count marks an endpoint made for the entry */
        return s->endpoints[e->value];
    if (s->nendpoints == s->endpoints_cap) {
        size_t cap = s->endpoints_cap ? s->endpoints_cap * 2 : 64;
        struct dstats_endpoint **p = realloc(s->endpoints, cap * sizeof *p);
        if (!p)
            return NULL;
        s->endpoints = p;
        s->endpoints_cap = cap;
    }
    if (!(ep = endpoint_new(s, e->key, method, tmpl)))
        return NULL;
    e->value = s->nendpoints;
    e->count = 1;
    s->endpoints[s->nendpoints++] = ep;
    *created = true;
    return ep;
}

/* ----------------------------------------------------------------- fields */

/* The part's letter and the field: the key of the endpoint's counter. */
static size_t field_key(uint8_t part, const char *key, size_t len, char *out)
{
    if (len > DSTATS_FIELD_KEY_MAX - 1)
        len = DSTATS_FIELD_KEY_MAX - 1;
    out[0] = part == RESP_HEADER ? 'h' : 'b';
    memcpy(out + 1, key, len);
    return len + 1;
}

/* The field, created when `create` and the endpoint has room; NULL when
 * unknown, the table is full (*rc 0) or memory ran out (*rc ERR_NOMEM). */
static struct dstats_field *field_at(struct diff_stats *s, struct dstats_endpoint *ep,
                                     uint8_t part, const char *key, size_t key_len,
                                     const char *header, size_t header_len, bool create,
                                     int *rc)
{
    char k[DSTATS_FIELD_KEY_MAX];
    size_t klen = field_key(part, key, key_len, k);
    struct counter_entry *e = counter_lookup(&ep->index, k, klen, rc);
    struct dstats_field *f;

    if (!e) {
        if (*rc == 1)
            *rc = 0;
        return NULL;
    }
    if (e->count) /* made for the entry */
        return &ep->fields[e->value];
    if (!create)
        return NULL;
    if (ep->nfields == ep->fields_cap) {
        size_t cap = ep->fields_cap ? ep->fields_cap * 2 : 16;
        struct dstats_field *p = realloc(ep->fields, cap * sizeof *p);
        if (!p)
            goto nomem;
        ep->fields = p;
        ep->fields_cap = cap;
    }
    f = &ep->fields[ep->nfields];
    memset(f, 0, sizeof *f);
    f->part = part;
    f->key = e->key + 1; /* the counter keeps the key */
    f->key_len = e->key_len - 1;
    f->header = part == RESP_HEADER ? save(s, header, header_len) : NULL;
    f->first.tx = UINT64_MAX;
    if (part == RESP_HEADER && !f->header)
        goto nomem;
    e->value = ep->nfields++;
    e->count = 1;
    return f;
nomem:
    *rc = ERR_NOMEM;
    return NULL;
}

struct dstats_field *dstats_find_field(struct diff_stats *s, struct dstats_endpoint *ep,
                                       uint8_t part, const char *key, size_t key_len)
{
    int rc;
    return field_at(s, ep, part, key, key_len, NULL, 0, false, &rc);
}

static struct dstats_field *field_get(struct diff_stats *s, struct dstats_endpoint *ep,
                                      const struct resp_item *it, int *rc)
{
    return field_at(s, ep, it->part, it->field, it->field_len, it->path, it->path_len, true,
                    rc);
}

/* ------------------------------------------------------------ transactions */

void dstats_add_targets(struct diff_stats *s, const struct result_record *rec)
{
    for (size_t i = 0; i < rec->target_count && i < s->target_count; i++) {
        const struct result_target *t = &rec->targets[i];
        struct dstats_target *x = &s->targets[i];
        x->requests++;
        if (t->error != RESULT_ERROR_NONE && (unsigned)t->error < RESULT_ERROR_COUNT)
            x->errors[t->error]++;
        if (t->has_response) {
            x->status_classes[results_status_class(t->response.status)]++;
            if (t->total_us != RESULTS_TIME_NONE && t->total_us >= 0)
                histogram_add(&x->latency, (uint64_t)t->total_us);
        }
    }
}

/* Keep list[0..*n) the `cap` lowest transaction ids, sorted. */
static void keep_lowest(struct dstats_ref *list, size_t *n, size_t cap,
                        const struct dstats_ref *ref)
{
    size_t i;
    if (!cap)
        return;
    if (*n == cap && ref->tx >= list[*n - 1].tx)
        return;
    if (*n < cap)
        (*n)++;
    for (i = *n - 1; i > 0 && list[i - 1].tx > ref->tx; i--)
        list[i] = list[i - 1];
    list[i] = *ref;
}

static void add_status_change(struct diff_stats *s, struct dstats_endpoint *ep, int a, int b)
{
    for (size_t i = 0; i < ep->status.nchanges; i++)
        if (ep->status.changes[i].base == a && ep->status.changes[i].candidate == b) {
            ep->status.changes[i].count++;
            return;
        }
    if (ep->status.nchanges < DSTATS_STATUS_CHANGES) {
        ep->status.changes[ep->status.nchanges++] = (struct dstats_status_change){a, b, 1};
        return;
    }
    ep->status.other_changes++;
    s->hit_status_changes++;
}

int dstats_add(struct diff_stats *s, struct dstats_endpoint *ep, const struct result_record *rec,
               const int roles[ROLES], const struct dstats_ref *ref, int skip,
               const struct resp_diff *bc, const struct dstats_fieldset *fbc,
               const struct resp_diff *bn, const struct dstats_fieldset *fbn)
{
    bool mismatch, status_noise, status_remaining;
    bool body_raw = false, body_rem = false, head_raw = false, head_rem = false;
    bool body_noise = false, head_noise = false, any_raw, any_rem;
    int rc;

    s->transactions++;
    ep->requests++;
    if (ep->other)
        s->hit_endpoints++;
    for (int r = 0; r < ROLES; r++) {
        const struct result_target *t;
        if (roles[r] < 0)
            continue;
        t = &rec->targets[roles[r]];
        ep->requests_by_role[r]++;
        if (t->error != RESULT_ERROR_NONE && (unsigned)t->error < RESULT_ERROR_COUNT)
            ep->errors[r][t->error]++;
        if (t->has_response && t->total_us != RESULTS_TIME_NONE && t->total_us >= 0)
            histogram_add(&ep->latency[r], (uint64_t)t->total_us);
    }
    if (skip >= 0) {
        s->skipped[skip]++;
        return 0;
    }
    s->compared++;
    ep->compared++;
    if (bn)
        s->noise_compared++;

    mismatch = bc->status_differs;
    status_noise = bn && bn->status_differs;
    status_remaining = mismatch && !status_noise;
    if (mismatch) {
        s->status_mismatches++;
        ep->status.mismatches++;
        add_status_change(s, ep, rec->targets[roles[ROLE_BASE]].response.status,
                          rec->targets[roles[ROLE_CANDIDATE]].response.status);
    }
    if (status_noise)
        ep->status.noise++;
    if (status_remaining)
        ep->status.remaining++;

    for (size_t i = 0; i < fbc->count; i++) {
        const struct resp_item *it = &fbc->items[i];
        bool covered = dstats_fieldset_covers(fbn, it->part, it->field, it->field_len);
        struct dstats_field *f = field_get(s, ep, it, &rc);
        if (rc)
            return rc;
        if (it->part == RESP_BODY) {
            body_raw = true;
            body_rem |= !covered;
        } else {
            head_raw = true;
            head_rem |= !covered;
        }
        if (!f) {
            s->hit_fields++;
            continue;
        }
        f->raw++;
        f->kinds[it->kind]++;
        if (covered) {
            f->noise++;
        } else {
            f->remaining++;
            f->remaining_kinds[it->kind]++;
            if (ref->tx < f->first.tx)
                f->first = *ref;
        }
    }
    for (size_t i = 0; fbn && i < fbn->count; i++) {
        const struct resp_item *it = &fbn->items[i];
        struct dstats_field *f;
        if (it->part == RESP_BODY)
            body_noise = true;
        else
            head_noise = true;
        if (set_find(fbc, it->part, it->field, it->field_len) >= 0)
            continue; /* counted above */
        if (!(f = field_get(s, ep, it, &rc))) {
            if (rc)
                return rc;
            s->hit_fields++;
            continue;
        }
        f->noise++;
    }
    ep->body.raw += body_raw;
    ep->body.noise += body_noise;
    ep->body.remaining += body_rem;
    ep->headers.raw += head_raw;
    ep->headers.noise += head_noise;
    ep->headers.remaining += head_rem;

    any_raw = mismatch || fbc->count > 0;
    any_rem = status_remaining || body_rem || head_rem;
    if (!any_raw)
        s->identical++;
    if (any_raw) {
        s->different_raw++;
        ep->different_raw++;
        keep_lowest(ep->lowest_raw, &ep->nlowest_raw, s->caps.examples_per_endpoint, ref);
    }
    if (any_rem) {
        s->different_after_noise++;
        ep->different_after_noise++;
        keep_lowest(ep->lowest_remaining, &ep->nlowest_remaining,
                    s->caps.examples_per_endpoint, ref);
    }
    return 0;
}

/* ------------------------------------------------------------------ finish */

static enum dstats_risk max_risk(enum dstats_risk a, enum dstats_risk b)
{
    return a > b ? a : b;
}

static void decide_field(const struct diff_stats *s, const struct dstats_endpoint *ep,
                         struct dstats_field *f)
{
    const struct dstats_thresholds *t = &s->thresholds;
    uint64_t best = 0;
    double diff, rel, abs_rate;

    f->kind = RESP_CHANGED;
    for (int k = 0; k < RESP_KINDS; k++)
        if (f->kinds[k] > best ||
            (f->kinds[k] == best && best && severity((enum resp_kind)k) > severity(f->kind))) {
            best = f->kinds[k];
            f->kind = (enum resp_kind)k;
        }
    f->risk = RISK_NONE;
    for (int k = 0; k < RESP_KINDS; k++)
        if (f->remaining_kinds[k])
            f->risk = max_risk(f->risk, dstats_kind_risk((enum resp_kind)k));
    f->regression = false;
    f->rule[0] = '\0';
    if (!f->remaining || f->raw <= f->noise || !ep->compared)
        return;
    diff = (double)(f->raw - f->noise);
    rel = diff / (double)(f->raw + f->noise);
    abs_rate = diff / (double)ep->compared;
    if (rel > t->relative && abs_rate > t->absolute) {
        f->regression = true;
        snprintf(f->rule, sizeof f->rule,
                 "raw %.2f%% - noise %.2f%% = %.2f%% > absolute %g%% and relative %.2f > %g",
                 100.0 * dstats_rate(ep, f->raw), 100.0 * dstats_rate(ep, f->noise),
                 100.0 * abs_rate, 100.0 * t->absolute, rel, t->relative);
    }
}

static bool is_ok_class(int status)
{
    return status >= 200 && status < 400;
}

static bool is_error_class(int status)
{
    return status >= 400 && status < 600;
}

static void decide_endpoint(struct diff_stats *s, struct dstats_endpoint *ep)
{
    const struct dstats_thresholds *t = &s->thresholds;
    uint64_t base_errors = 0, cand_errors = 0;
    bool new_kind = false;

    ep->risk = RISK_NONE;
    for (size_t i = 0; i < ep->nfields; i++) {
        struct dstats_field *f = &ep->fields[i];
        decide_field(s, ep, f);
        ep->regression |= f->regression;
        ep->risk = max_risk(ep->risk, f->risk);
    }

    ep->status_risk = RISK_NONE;
    if (ep->status.remaining) {
        double rate = dstats_rate(ep, ep->status.remaining);
        ep->status_risk = ep->status.other_changes ? RISK_MEDIUM : RISK_NONE;
        for (size_t i = 0; i < ep->status.nchanges; i++) {
            const struct dstats_status_change *c = &ep->status.changes[i];
            ep->status_risk = max_risk(ep->status_risk,
                                       is_ok_class(c->base) && is_error_class(c->candidate)
                                           ? RISK_HIGH
                                           : RISK_MEDIUM);
        }
        if (rate > t->status) {
            ep->status_regression = true;
            snprintf(ep->status_rule, sizeof ep->status_rule,
                     "status mismatches %.2f%% (noise %.2f%%, remaining %.2f%%) > %g%%",
                     100.0 * dstats_rate(ep, ep->status.mismatches),
                     100.0 * dstats_rate(ep, ep->status.noise), 100.0 * rate, 100.0 * t->status);
        }
        ep->risk = max_risk(ep->risk, ep->status_risk);
    }

    for (int k = 0; k < RESULT_ERROR_COUNT; k++) {
        base_errors += ep->errors[ROLE_BASE][k];
        cand_errors += ep->errors[ROLE_CANDIDATE][k];
        new_kind |= ep->errors[ROLE_CANDIDATE][k] && !ep->errors[ROLE_BASE][k];
    }
    ep->error_risk = new_kind ? RISK_HIGH : cand_errors > base_errors ? RISK_MEDIUM : RISK_NONE;
    if (ep->requests && cand_errors > base_errors) {
        double cr = (double)cand_errors / (double)ep->requests;
        double br = (double)base_errors / (double)ep->requests;
        if (cr - br > t->error_rate) {
            ep->error_regression = true;
            snprintf(ep->error_rule, sizeof ep->error_rule,
                     "candidate error rate %.2f%% - base %.2f%% = %.2f%% > %g%%", 100.0 * cr,
                     100.0 * br, 100.0 * (cr - br), 100.0 * t->error_rate);
        }
    }
    ep->risk = max_risk(ep->risk, ep->error_risk);

    if (t->latency_p99_ratio >= 0 && ep->latency[ROLE_BASE].count &&
        ep->latency[ROLE_CANDIDATE].count) {
        uint64_t b = histogram_percentile(&ep->latency[ROLE_BASE], 99);
        uint64_t c = histogram_percentile(&ep->latency[ROLE_CANDIDATE], 99);
        double ratio = b ? (double)c / (double)b : (c ? INFINITY : 1.0);
        if (ratio > t->latency_p99_ratio) {
            ep->latency_regression = true;
            snprintf(ep->latency_rule, sizeof ep->latency_rule,
                     "candidate p99 %llu us / base p99 %llu us = %.2f > %g",
                     (unsigned long long)c, (unsigned long long)b, ratio, t->latency_p99_ratio);
            ep->risk = max_risk(ep->risk, RISK_MEDIUM);
        }
    }
    ep->regression |= ep->status_regression || ep->error_regression || ep->latency_regression;
}

static int key_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int field_order(const void *x, const void *y, void *arg)
{
    const struct dstats_endpoint *ep = arg;
    const struct dstats_field *a = &ep->fields[*(const size_t *)x];
    const struct dstats_field *b = &ep->fields[*(const size_t *)y];
    int c;

    if (a->regression != b->regression)
        return a->regression ? -1 : 1;
    if (a->remaining != b->remaining)
        return a->remaining > b->remaining ? -1 : 1;
    if (a->part != b->part)
        return a->part > b->part ? -1 : 1; /* body fields before headers */
    c = key_cmp(a->key, a->key_len, b->key, b->key_len);
    return c;
}

static int endpoint_order(const void *x, const void *y)
{
    const struct dstats_endpoint *a = *(struct dstats_endpoint *const *)x;
    const struct dstats_endpoint *b = *(struct dstats_endpoint *const *)y;

    if (a->other != b->other)
        return a->other ? 1 : -1;
    if (a->regression != b->regression)
        return a->regression ? -1 : 1;
    if (a->risk != b->risk)
        return a->risk > b->risk ? -1 : 1;
    if (a->different_after_noise != b->different_after_noise)
        return a->different_after_noise > b->different_after_noise ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int reason_order(const void *x, const void *y)
{
    const struct dstats_reason *a = x, *b = y;
    int c;
    if (a->risk != b->risk)
        return a->risk > b->risk ? -1 : 1;
    if ((c = strcmp(a->endpoint->name, b->endpoint->name)))
        return c;
    if (!a->field != !b->field)
        return a->field ? 1 : -1; /* status, errors, latency first */
    if (a->field && b->field) {
        if (a->field->part != b->field->part)
            return a->field->part > b->field->part ? -1 : 1;
        if ((c = key_cmp(a->field->key, a->field->key_len, b->field->key, b->field->key_len)))
            return c;
    }
    return strcmp(a->kind, b->kind);
}

static bool has_example(const struct dstats_endpoint *ep, uint64_t tx)
{
    for (size_t i = 0; i < ep->nexamples; i++)
        if (ep->examples[i].tx == tx)
            return true;
    return false;
}

static void add_example(const struct diff_stats *s, struct dstats_endpoint *ep,
                        const struct dstats_ref *ref)
{
    if (ref->tx == UINT64_MAX || ep->nexamples >= s->caps.examples_per_endpoint ||
        has_example(ep, ref->tx))
        return;
    ep->examples[ep->nexamples++] = *ref;
}

static int ref_order(const void *x, const void *y)
{
    const struct dstats_ref *a = x, *b = y;
    return (a->tx > b->tx) - (a->tx < b->tx);
}

static void pick_examples(struct diff_stats *s, struct dstats_endpoint *ep)
{
    /* every regressing field shown at least once, then the lowest ids */
    for (size_t i = 0; i < ep->nfields; i++) {
        const struct dstats_field *f = &ep->fields[ep->order[i]];
        if (f->regression)
            add_example(s, ep, &f->first);
    }
    for (size_t i = 0; i < ep->nlowest_remaining; i++)
        add_example(s, ep, &ep->lowest_remaining[i]);
    for (size_t i = 0; i < ep->nlowest_raw; i++)
        add_example(s, ep, &ep->lowest_raw[i]);
    qsort(ep->examples, ep->nexamples, sizeof *ep->examples, ref_order);
    if (ep->different_raw > ep->nexamples)
        s->hit_examples += ep->different_raw - ep->nexamples;
}

static int add_reason(struct diff_stats *s, size_t *cap, const char *kind,
                      const struct dstats_endpoint *ep, const struct dstats_field *f,
                      const char *rule, enum dstats_risk risk)
{
    if (s->nreasons == *cap) {
        size_t n = *cap ? *cap * 2 : 16;
        struct dstats_reason *p = realloc(s->reasons, n * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        s->reasons = p;
        *cap = n;
    }
    s->reasons[s->nreasons++] = (struct dstats_reason){kind, ep, f, rule, risk};
    return 0;
}

int dstats_finish(struct diff_stats *s)
{
    size_t n = s->nendpoints + (s->other != NULL), rcap = 0;
    int rc = 0;

    free(s->order);
    if (!(s->order = malloc((n + 1) * sizeof *s->order)))
        return ERR_NOMEM;
    s->norder = 0;
    for (size_t i = 0; i < s->nendpoints; i++)
        s->order[s->norder++] = s->endpoints[i];
    if (s->other)
        s->order[s->norder++] = s->other;
    for (size_t i = 0; i < s->norder; i++) {
        struct dstats_endpoint *ep = s->order[i];
        decide_endpoint(s, ep);
        free(ep->order);
        if (!(ep->order = malloc((ep->nfields + 1) * sizeof *ep->order)))
            return ERR_NOMEM;
        for (size_t k = 0; k < ep->nfields; k++)
            ep->order[k] = k;
        qsort_r(ep->order, ep->nfields, sizeof *ep->order, field_order, ep);
        pick_examples(s, ep);
        s->regressed_endpoints += ep->regression;
    }
    qsort(s->order, s->norder, sizeof *s->order, endpoint_order);

    s->nreasons = 0;
    for (size_t i = 0; i < s->norder && !rc; i++) {
        const struct dstats_endpoint *ep = s->order[i];
        if (ep->status_regression)
            rc = add_reason(s, &rcap, "status", ep, NULL, ep->status_rule, ep->status_risk);
        if (!rc && ep->error_regression)
            rc = add_reason(s, &rcap, "error_rate", ep, NULL, ep->error_rule,
                            ep->error_risk ? ep->error_risk : RISK_MEDIUM);
        if (!rc && ep->latency_regression)
            rc = add_reason(s, &rcap, "latency", ep, NULL, ep->latency_rule, RISK_MEDIUM);
        for (size_t k = 0; k < ep->nfields && !rc; k++) {
            const struct dstats_field *f = &ep->fields[ep->order[k]];
            if (f->regression)
                rc = add_reason(s, &rcap, f->part == RESP_HEADER ? "header" : "field", ep, f,
                                f->rule, f->risk ? f->risk : RISK_LOW);
        }
    }
    if (rc)
        return rc;
    if (s->nreasons)
        qsort(s->reasons, s->nreasons, sizeof *s->reasons, reason_order);
    s->total_reasons = s->nreasons;
    if (s->nreasons > s->caps.reasons) {
        s->hit_reasons = s->nreasons - s->caps.reasons;
        s->nreasons = s->caps.reasons;
    }
    return 0;
}

void dstats_field_example(struct diff_stats *s, struct dstats_endpoint *ep, uint8_t part,
                          const char *key, size_t key_len, uint64_t tx)
{
    struct dstats_field *f = dstats_find_field(s, ep, part, key, key_len);
    if (!f)
        return;
    for (size_t i = 0; i < f->nexamples; i++)
        if (f->examples[i] == tx)
            return;
    if (f->nexamples < s->caps.examples_per_field) {
        f->examples[f->nexamples++] = tx;
        return;
    }
    /* keep the lowest ids, whatever order the examples come in */
    for (size_t i = 0; i < f->nexamples; i++)
        if (f->examples[i] > tx) {
            uint64_t t = f->examples[i];
            f->examples[i] = tx;
            tx = t;
        }
}

static int u64_order(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

void dstats_examples_done(struct diff_stats *s)
{
    for (size_t i = 0; i < s->norder; i++) {
        struct dstats_endpoint *ep = s->order[i];
        for (size_t k = 0; k < ep->nfields; k++)
            qsort(ep->fields[k].examples, ep->fields[k].nexamples, sizeof(uint64_t), u64_order);
    }
}

const char *dstats_verdict(const struct diff_stats *s, int *exit_code)
{
    if (s->total_reasons) {
        *exit_code = 1;
        return "regressions";
    }
    if (!s->compared) {
        *exit_code = 1;
        return "no_data";
    }
    *exit_code = 0;
    return "pass";
}
