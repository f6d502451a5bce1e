/*
 * report_json.c — report.json, for CI jobs and scripts (docs/report-format.md).
 *
 * Stable: member names never change within a version, arrays keep the
 * DIFF.json's documented order, targets are also keyed by their role (base,
 * candidate, noise) so a consumer need not know the names chosen for a run,
 * and nothing depends on the clock: the same inputs give the same bytes.
 */
#include <string.h>

#include "json_shape.h"
#include "jout.h"
#include "report_internal.h"
#include "version.h"

/* Fields per endpoint (regressing ones come first in DIFF.json's order);
 * the rest are counted in "fields_omitted". */
#define JSON_FIELDS_MAX 50

static void rate_members(struct jout *j, const uint64_t counts[3], uint64_t of)
{
    static const char *const names[3] = {"raw", "noise", "remaining"};
    static const char *const rates[3] = {"raw_rate", "noise_rate", "remaining_rate"};

    for (int i = 0; i < 3; i++) {
        jout_key(j, names[i]);
        jout_uint(j, counts[i]);
    }
    for (int i = 0; i < 3; i++) {
        jout_key(j, rates[i]);
        jout_double(j, report_rate(counts[i], of));
    }
}

static void empty_array(struct jout *j)
{
    jout_array_inline(j);
    jout_end(j);
}

static void rstr_out(struct jout *j, struct rstr s)
{
    if (s.s)
        jout_string(j, s.s, s.len);
    else
        jout_null(j);
}

static void member_str(struct jout *j, const char *key, struct rstr s)
{
    jout_key(j, key);
    rstr_out(j, s);
}

static void member_uint(struct jout *j, const char *key, uint64_t v)
{
    jout_key(j, key);
    jout_uint(j, v);
}

/* Copy member `key` of obj, if present. */
static void copy_member(struct jout *j, const struct jdoc *d, uint32_t obj, const char *key)
{
    uint32_t v = rget(d, obj, key);
    if (v == JDOC_NONE)
        return;
    jout_key(j, key);
    jout_tree(j, d, v);
}

static void write_verdict(struct jout *j, const struct report *r)
{
    jout_key(j, "verdict");
    jout_object(j);
    jout_key(j, "result");
    jout_cstring(j, report_result(r));
    jout_key(j, "exit_code");
    jout_int(j, report_exit_code(r));
    jout_key(j, "summary");
    jout_cstring(j, report_summary(r));
    jout_key(j, "reasons");
    jout_array(j);
    for (size_t i = 0; i < r->reason_count; i++) {
        const struct report_reason *x = &r->reasons[i];
        const struct {
            const char *name;
            struct rstr value;
        } parts[] = {{"kind", x->kind},     {"endpoint", x->endpoint}, {"path", x->path},
                     {"header", x->header}, {"step", x->step},         {"metric", x->metric},
                     {"table", x->table},   {"rule", x->rule}};
        jout_object(j);
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
            if (!parts[k].value.s)
                continue;
            jout_key(j, parts[k].name);
            rstr_out(j, parts[k].value);
        }
        jout_key(j, "risk");
        jout_cstring(j, report_risk_name(x->risk));
        jout_end(j);
    }
    jout_end(j);
    jout_end(j);
}

static void write_inputs(struct jout *j, const struct report *r)
{
    const struct jdoc *d = &r->diff;
    uint32_t targets = rget(d, r->inputs, "targets");

    jout_key(j, "inputs");
    jout_object(j);
    member_str(j, "base", r->base);
    member_str(j, "candidate", r->candidate);
    member_str(j, "noise", r->noise);
    jout_key(j, "targets");
    jout_array(j);
    for (uint32_t t = rfirst(d, targets); t != JDOC_NONE; t = jdoc_next(d, targets, t)) {
        struct rstr name = rstr_get(d, t, "name");
        jout_object_inline(j);
        member_str(j, "name", name);
        jout_key(j, "role");
        jout_cstring(j, report_role(r, name));
        member_str(j, "url", rstr_get(d, t, "url"));
        jout_end(j);
    }
    jout_end(j);
    copy_member(j, d, r->inputs, "results");
    copy_member(j, d, r->inputs, "rules");
    copy_member(j, d, r->inputs, "reproduce");
    jout_end(j);
}

static void write_totals(struct jout *j, const struct report *r)
{
    static const char *const names[] = {"transactions", "compared", "identical",
                                        "different_raw", "different_after_noise",
                                        "status_mismatches", "noise_compared"};
    const struct jdoc *d = &r->diff;
    uint32_t skipped = rget(d, r->totals, "skipped");
    uint64_t skipped_total = 0;

    jout_key(j, "totals");
    jout_object(j);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        jout_key(j, names[i]);
        jout_uint(j, rcount(d, r->totals, names[i]));
    }
    jout_key(j, "skipped");
    jout_object(j);
    for (uint32_t k = rfirst(d, skipped); k != JDOC_NONE; k = jdoc_next(d, skipped, k)) {
        jout_keyn(j, jdoc_at(d, k)->text, jdoc_at(d, k)->len);
        jout_uint(j, jshape_count(d, k + 1));
        skipped_total += jshape_count(d, k + 1);
    }
    jout_end(j);
    member_uint(j, "skipped_total", skipped_total);
    jout_end(j);
}

/* Sum of the counts of a map (errors by kind). */
static uint64_t map_sum(const struct jdoc *d, uint32_t map)
{
    uint64_t sum = 0;
    for (uint32_t k = rfirst(d, map); k != JDOC_NONE; k = jdoc_next(d, map, k))
        sum += jshape_count(d, k + 1);
    return sum;
}

static void write_targets(struct jout *j, const struct report *r)
{
    const struct jdoc *d = &r->diff;

    jout_key(j, "targets");
    jout_array(j);
    for (uint32_t k = rfirst(d, r->targets); k != JDOC_NONE; k = jdoc_next(d, r->targets, k)) {
        uint32_t t = k + 1, errors = rget(d, t, "errors");
        struct rstr name = rstr_at(d, k);
        uint64_t requests = rcount(d, t, "requests");

        jout_object(j);
        member_str(j, "name", name);
        jout_key(j, "role");
        jout_cstring(j, report_role(r, name));
        member_uint(j, "requests", requests);
        jout_key(j, "errors");
        jout_object_inline(j);
        for (uint32_t e = rfirst(d, errors); e != JDOC_NONE; e = jdoc_next(d, errors, e)) {
            jout_keyn(j, jdoc_at(d, e)->text, jdoc_at(d, e)->len);
            jout_uint(j, jshape_count(d, e + 1));
        }
        jout_end(j);
        jout_key(j, "error_rate");
        jout_double(j, report_rate(map_sum(d, errors), requests));
        copy_member(j, d, t, "status_classes");
        copy_member(j, d, t, "latency_us");
        jout_end(j);
    }
    jout_end(j);
}

/* A per-target member of an endpoint (latency_us, errors), keyed by role. */
static void write_by_role(struct jout *j, const struct report *r, uint32_t map,
                          const char *const *members)
{
    static const char *const roles[] = {"base", "candidate", "noise"};
    const struct jdoc *d = &r->diff;

    jout_object(j);
    for (size_t i = 0; i < 3; i++) {
        struct rstr target = report_role_target(r, roles[i]);
        uint32_t v = target.s ? rgetn(d, map, target.s, target.len) : JDOC_NONE;
        if (map == JDOC_NONE || v == JDOC_NONE)
            continue;
        jout_key(j, roles[i]);
        jout_object_inline(j);
        if (members) {
            for (const char *const *m = members; *m; m++) {
                uint32_t x = rget(d, v, *m);
                if (x == JDOC_NONE)
                    continue;
                jout_key(j, *m);
                jout_jdoc(j, d, x);
            }
        } else {
            for (uint32_t k = rfirst(d, v); k != JDOC_NONE; k = jdoc_next(d, v, k)) {
                jout_keyn(j, jdoc_at(d, k)->text, jdoc_at(d, k)->len);
                jout_jdoc(j, d, k + 1);
            }
        }
        jout_end(j);
    }
    jout_end(j);
}

static void write_field(struct jout *j, const struct jdoc *d, uint32_t f, uint64_t compared)
{
    uint64_t counts[3] = {rcount(d, f, "raw"), rcount(d, f, "noise"), rcount(d, f, "remaining")};
    uint32_t examples = rget(d, f, "examples");

    jout_object_inline(j);
    if (rget(d, f, "path") != JDOC_NONE) {
        member_str(j, "path", rstr_get(d, f, "path"));
    } else {
        member_str(j, "header", rstr_get(d, f, "header"));
    }
    member_str(j, "kind", rstr_get(d, f, "kind"));
    rate_members(j, counts, compared);
    jout_key(j, "regression");
    jout_bool(j, rbool(d, f, "regression"));
    jout_key(j, "risk");
    jout_cstring(j, report_risk_name(report_risk_parse(rstr_get(d, f, "risk"))));
    jout_key(j, "examples");
    if (examples != JDOC_NONE)
        jout_jdoc(j, d, examples);
    else
        empty_array(j);
    jout_end(j);
}

static void write_example(struct jout *j, const struct jdoc *d, uint32_t x)
{
    static const char *const lists[] = {"kinds", "paths", "noise_paths"};

    jout_object(j);
    member_uint(j, "tx", rcount(d, x, "tx"));
    if (rget(d, x, "conn") != JDOC_NONE) {
        member_uint(j, "conn", rcount(d, x, "conn"));
    }
    member_str(j, "method", rstr_get(d, x, "method"));
    member_str(j, "target", rstr_get(d, x, "target"));
    for (size_t i = 0; i < 3; i++) {
        uint32_t v = rget(d, x, lists[i]);
        jout_key(j, lists[i]);
        if (v != JDOC_NONE)
            jout_jdoc(j, d, v);
        else
            empty_array(j);
    }
    jout_key(j, "status");
    jout_object_inline(j);
    static const char *const roles[] = {"base", "candidate", "noise", "captured"};
    for (size_t i = 0; i < 4; i++) {
        uint32_t resp = rget(d, x, roles[i]), st = rget(d, resp, "status");
        if (resp == JDOC_NONE)
            continue;
        jout_key(j, roles[i]);
        if (st != JDOC_NONE)
            jout_jdoc(j, d, st);
        else
            jout_null(j);
    }
    jout_end(j);
    jout_end(j);
}

static void write_endpoint(struct jout *j, const struct report *r, const struct report_endpoint *e)
{
    static const char *const latency_members[] = {"p50", "p95", "p99", NULL};
    const struct jdoc *d = &r->diff;
    size_t kept = 0, omitted = 0;

    jout_object(j);
    member_str(j, "endpoint", e->name);
    member_str(j, "method", e->method);
    member_str(j, "template", e->tmpl);
    member_uint(j, "requests", e->requests);
    member_uint(j, "compared", e->compared);
    jout_key(j, "regression");
    jout_bool(j, e->regression);
    jout_key(j, "risk");
    jout_cstring(j, report_risk_name(e->risk));

    jout_key(j, "status");
    jout_object(j);
    member_uint(j, "mismatches", e->mismatches);
    jout_key(j, "rate");
    jout_double(j, report_rate(e->mismatches, e->compared));
    jout_key(j, "changes");
    jout_array(j);
    for (uint32_t c = rfirst(d, e->changes); c != JDOC_NONE; c = jdoc_next(d, e->changes, c)) {
        jout_object_inline(j);
        jout_key(j, "base");
        if (rget(d, c, "base") != JDOC_NONE)
            jout_jdoc(j, d, rget(d, c, "base"));
        else
            jout_null(j);
        jout_key(j, "candidate");
        if (rget(d, c, "candidate") != JDOC_NONE)
            jout_jdoc(j, d, rget(d, c, "candidate"));
        else
            jout_null(j);
        member_uint(j, "count", rcount(d, c, "count"));
        jout_end(j);
    }
    jout_end(j);
    jout_end(j);

    jout_key(j, "body");
    jout_object(j);
    rate_members(j, e->body, e->compared);
    jout_end(j);
    jout_key(j, "headers");
    jout_object(j);
    rate_members(j, e->headers, e->compared);
    jout_end(j);
    jout_key(j, "latency_us");
    write_by_role(j, r, e->latency, latency_members);
    jout_key(j, "errors");
    write_by_role(j, r, e->errors, NULL);

    jout_key(j, "fields");
    jout_array(j);
    for (uint32_t f = rfirst(d, e->fields); f != JDOC_NONE; f = jdoc_next(d, e->fields, f)) {
        if (kept >= JSON_FIELDS_MAX) {
            omitted++;
            continue;
        }
        write_field(j, d, f, e->compared);
        kept++;
    }
    jout_end(j);
    member_uint(j, "fields_omitted", omitted);

    jout_key(j, "examples");
    jout_array(j);
    for (uint32_t x = rfirst(d, e->examples); x != JDOC_NONE; x = jdoc_next(d, e->examples, x))
        write_example(j, d, x);
    jout_end(j);
    jout_end(j);
}

static void write_rules(struct jout *j, const struct report *r)
{
    static const char *const members[] = {"id", "where", "kind", "pattern", "endpoint"};
    const struct jdoc *d = &r->diff;

    jout_key(j, "rules");
    jout_array(j);
    for (uint32_t x = rfirst(d, r->rules); x != JDOC_NONE; x = jdoc_next(d, r->rules, x)) {
        jout_object_inline(j);
        for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
            jout_key(j, members[i]);
            rstr_out(j, rstr_get(d, x, members[i]));
        }
        member_uint(j, "hits", rcount(d, x, "hits"));
        jout_end(j);
    }
    jout_end(j);
}

static void write_context(struct jout *j, const struct report *r)
{
    const struct {
        const char *name;
        uint32_t node;
    } sections[] = {{"run", r->run},
                    {"timeline", r->timeline},
                    {"assertions", r->assertions},
                    {"database", r->database}};

    jout_key(j, "context");
    jout_object(j);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (sections[i].node == JDOC_NONE)
            continue;
        jout_key(j, sections[i].name);
        jout_tree(j, &r->ctx, sections[i].node);
    }
    jout_end(j);
}

int report_json_render(struct report *r, struct buf *out, struct error *err)
{
    const struct jdoc *d = &r->diff;
    size_t start = out->len;
    struct jout j;

    jout_init(&j, out, 2, 0);
    jout_object(&j);
    jout_key(&j, "format");
    jout_cstring(&j, "rehearse-report");
    jout_key(&j, "version");
    jout_int(&j, REPORT_JSON_VERSION);
    jout_key(&j, "created_by");
    jout_cstring(&j, "rehearse " REHEARSE_VERSION);
    jout_key(&j, "diff");
    jout_object(&j);
    copy_member(&j, d, 0, "created_by");
    copy_member(&j, d, 0, "created_us");
    copy_member(&j, d, 0, "version");
    jout_end(&j);
    write_verdict(&j, r);
    write_inputs(&j, r);
    jout_key(&j, "thresholds");
    jout_tree(&j, d, r->thresholds);
    write_totals(&j, r);
    write_targets(&j, r);
    jout_key(&j, "endpoints");
    jout_array(&j);
    for (size_t i = 0; i < r->endpoint_count; i++)
        write_endpoint(&j, r, &r->endpoints[i]);
    jout_end(&j);
    write_rules(&j, r);
    if (r->redaction != JDOC_NONE) {
        jout_key(&j, "redaction");
        jout_tree(&j, d, r->redaction);
    }
    jout_key(&j, "caps");
    jout_object(&j);
    if (r->caps != JDOC_NONE) {
        jout_key(&j, "diff");
        jout_tree(&j, d, r->caps);
    }
    jout_key(&j, "report_fields_per_endpoint");
    jout_uint(&j, JSON_FIELDS_MAX);
    jout_end(&j);
    write_context(&j, r);
    jout_key(&j, "warnings");
    jout_array(&j);
    for (size_t i = 0; i < r->warning_count; i++)
        jout_cstring(&j, r->warnings[i]);
    jout_end(&j);
    jout_end(&j);
    if (jout_finish(&j))
        return error_set(err, j.rc, "cannot write report.json: %s", error_description(j.rc));
    if (out->len - start > REPORT_JSON_MAX)
        return error_set(err, ERR_STATE, "report.json grew past its bound of %zu bytes",
                         REPORT_JSON_MAX);
    return 0;
}
