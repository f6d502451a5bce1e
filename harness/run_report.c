#include "run_report.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fault_impact.h"
#include "report.h"

#define EXAMPLES_PER_TABLE 10

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void copy_member(json_t *to, const json_t *from, const char *key, const char *as)
{
    json_t *v = json_object_get(from, key);
    if (v)
        json_object_set(to, as ? as : key, v);
}

/* ---- timeline ------------------------------------------------------------ */

static void add_steps(json_t *out, const json_t *list, int depth)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        /* A step that never started has no place on a timeline. */
        if (json_object_get(s, "start_ms")) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:O, s:i}", "name", str(s, "name"), "kind",
                                  str(s, "kind"), "status", str(s, "status"), "start_ms",
                                  json_object_get(s, "start_ms"), "depth", depth);
            json_object_set(o, "end_ms",
                            json_object_get(s, "end_ms") ? json_object_get(s, "end_ms")
                                                         : json_null());
            copy_member(o, s, "message", NULL);
            json_array_append_new(out, o);
        }
        add_steps(out, json_object_get(s, "children"), depth + 1);
    }
}

/* Every replay step's results file, in the order the steps ran. */
static void results_files(const json_t *list, const char *run_dir, char ***paths, size_t *n)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        const char *results = str(json_object_get(s, "outputs"), "results");
        if (results && strcmp(str(s, "kind"), "replay") == 0) {
            char **grown = realloc(*paths, (*n + 1) * sizeof **paths);
            if (grown) {
                *paths = grown;
                if (asprintf(&grown[*n], "%s/%s", run_dir, results) >= 0)
                    (*n)++;
            }
        }
        results_files(json_object_get(s, "children"), run_dir, paths, n);
    }
}

static json_t *timeline(const struct run_report_config *c, json_t *warnings)
{
    const json_t *j = c->journal;
    const json_t *faults = json_object_get(j, "faults");
    json_t *steps = json_array(), *windows = json_array(), *events = json_array();
    struct fault_impact_window *w = calloc(json_array_size(faults) + 1, sizeof *w);
    struct fault_impact *fi = NULL;
    struct fault_impact_options o = {.origin_us = json_integer_value(json_object_get(j, "started_us"))};
    struct error err;
    char **paths = NULL;
    size_t npaths = 0, i, nw = json_array_size(faults);
    json_t *f, *e, *out;

    const json_t *setup = json_object_get(j, "setup");
    if (setup) {
        json_t *lane = json_pack("{s:s, s:s, s:s, s:O, s:O, s:i}", "name", "setup", "kind", "setup",
                              "status", str(setup, "status"), "start_ms",
                              json_object_get(setup, "start_ms"), "end_ms",
                              json_object_get(setup, "end_ms"), "depth", 0);
        if (lane)
            json_array_append_new(steps, lane);
    }
    add_steps(steps, json_object_get(j, "steps"), 0);
    add_steps(steps, json_object_get(j, "always"), 0);
    results_files(json_object_get(j, "steps"), c->run_dir, &paths, &npaths);
    results_files(json_object_get(j, "always"), c->run_dir, &paths, &npaths);

    json_array_foreach(faults, i, f) {
        if (w && i < FAULT_IMPACT_MAX_WINDOWS) {
            w[i].start_us = json_integer_value(json_object_get(f, "start_us"));
            w[i].end_us = json_object_get(f, "end_us")
                              ? json_integer_value(json_object_get(f, "end_us"))
                              : w[i].start_us - 1;
        }
    }
    if (nw > FAULT_IMPACT_MAX_WINDOWS)
        nw = FAULT_IMPACT_MAX_WINDOWS;
    error_init(&err);
    if (w && npaths && fault_impact_new(&fi, &o, w, nw, &err) == 0) {
        for (size_t k = 0; k < npaths; k++) {
            error_init(&err);
            /* A replay cut short leaves no results file: nothing to add. */
            if (fault_impact_add(fi, paths[k], &err) && err.code != ERR_IO)
                json_array_append_new(warnings, json_string(err.message));
        }
    }
    json_array_foreach(faults, i, f) {
        json_t *o2 = json_pack("{s:s, s:s, s:s, s:O}", "name", str(f, "step"), "kind",
                               str(f, "what"), "target", str(f, "where"), "start_ms",
                               json_object_get(f, "start_ms"));
        json_object_set(o2, "end_ms",
                        json_object_get(f, "end_ms") ? json_object_get(f, "end_ms") : json_null());
        copy_member(o2, f, "detail", NULL);
        copy_member(o2, f, "ended_by", NULL);
        if (fi && i < nw)
            json_object_set_new(o2, "impact", fault_impact_window(fi, i));
        json_array_append_new(windows, o2);
    }
    json_array_foreach(json_object_get(j, "events"), i, e)
        json_array_append_new(events, json_deep_copy(e));

    out = json_pack("{s:O, s:o, s:o, s:o}", "duration_ms",
                    json_object_get(j, "duration_ms") ? json_object_get(j, "duration_ms")
                                                      : json_real(0),
                    "steps", steps, "faults", windows, "events", events);
    if (fi)
        json_object_set_new(out, "series", fault_impact_series(fi));
    fault_impact_free(fi);
    for (i = 0; i < npaths; i++)
        free(paths[i]);
    free(paths);
    free(w);
    return out;
}

/* ---- assertions ---------------------------------------------------------- */

static void add_checks(json_t *out, const json_t *list)
{
    size_t i, k;
    json_t *s, *a;
    json_array_foreach(list, i, s) {
        json_array_foreach(json_object_get(s, "assertions"), k, a) {
            const char *metric = str(a, "metric") ? str(a, "metric") : str(a, "check");
            json_t *o = json_pack("{s:s, s:s, s:b}", "step", str(s, "name"), "metric",
                                  metric ? metric : "", "passed",
                                  json_is_true(json_object_get(a, "passed")));
            copy_member(o, a, "value", NULL);
            copy_member(o, a, "min", NULL);
            copy_member(o, a, "max", NULL);
            copy_member(o, a, "message", NULL);
            json_array_append_new(out, o);
        }
        add_checks(out, json_object_get(s, "children"));
    }
}

/* ---- database ------------------------------------------------------------ */

static const json_t *find_step(const json_t *list, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        if (strcmp(str(s, "name"), name) == 0)
            return s;
        const json_t *found = find_step(json_object_get(s, "children"), name);
        if (found)
            return found;
    }
    return NULL;
}

/* "type: integer → bigint; nullable: true → false" */
static void attributes_line(const json_t *attrs, struct buf *b)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)attrs, key, v) {
        const char *l = str(v, "left"), *r = str(v, "right");
        buf_printf(b, "%s%s: %s \xE2\x86\x92 %s", b->len ? "; " : "", key, l ? l : "(none)",
                   r ? r : "(none)");
    }
}

static json_t *database(const struct run_report_config *c)
{
    const json_t *step = find_step(json_object_get(c->journal, "steps"), c->dbdiff_step);
    const json_t *outputs = json_object_get(step, "outputs");
    char path[PATH_MAX];
    json_t *doc, *schema = json_array(), *tables = json_array(), *t, *ch;
    bool regression = false;
    struct buf summary;
    size_t i;

    if (!outputs || !str(outputs, "dbdiff"))
        return NULL;
    snprintf(path, sizeof path, "%s/%s", c->run_dir, str(outputs, "dbdiff"));
    if (!(doc = json_load_file(path, 0, NULL)))
        return NULL;
    json_array_foreach(json_object_get(json_object_get(doc, "schema"), "changes"), i, ch) {
        struct buf detail;
        char kind[128];
        buf_init(&detail, 4096);
        attributes_line(json_object_get(ch, "attributes"), &detail);
        snprintf(kind, sizeof kind, "%s %s", str(ch, "change"), str(ch, "kind"));
        /* Schema changes are what the migration is for: shown, not judged. */
        json_array_append_new(schema, json_pack("{s:s, s:s, s:s, s:b}", "kind", kind, "object",
                                                str(ch, "name"), "detail",
                                                detail.data ? detail.data : "", "regression",
                                                false));
        buf_release(&detail);
    }
    buf_init(&summary, 2048);
    json_array_foreach(json_object_get(doc, "tables"), i, t) {
        const char *status = str(t, "status");
        if (!status || strcmp(status, "same") == 0 || strcmp(status, "skipped") == 0)
            continue;
        json_int_t missing = json_integer_value(json_object_get(t, "only_left"));
        json_int_t extra = json_integer_value(json_object_get(t, "only_right"));
        json_int_t changed = json_integer_value(json_object_get(t, "changed"));
        bool differs = missing + extra + changed > 0;
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:b}", "table", str(t, "table"), "missing",
                              missing, "extra", extra, "changed", changed, "regression", differs);
        json_t *columns = json_array(), *examples = json_array(), *ex, *v;
        const char *col;
        size_t k;
        if (json_is_integer(json_object_get(t, "rows_left")))
            copy_member(o, t, "rows_left", "rows_base");
        if (json_is_integer(json_object_get(t, "rows_right")))
            copy_member(o, t, "rows_right", "rows_candidate");
        json_object_foreach(json_object_get(t, "changed_by_column"), col, v)
            json_array_append_new(columns, json_pack("{s:s, s:O}", "column", col, "changed", v));
        json_array_foreach(json_object_get(json_object_get(t, "examples"), "changed"), k, ex) {
            struct buf key;
            const char *kc;
            json_t *kv, *cc;
            size_t m;
            buf_init(&key, 1024);
            json_object_foreach(json_object_get(ex, "key"), kc, kv)
                buf_printf(&key, "%s%s=%s", key.len ? ", " : "", kc,
                           json_is_string(kv) ? json_string_value(kv) : "NULL");
            json_array_foreach(json_object_get(ex, "columns"), m, cc) {
                const char *name = json_string_value(cc);
                json_t *l = json_object_get(json_object_get(ex, "left"), name);
                json_t *r = json_object_get(json_object_get(ex, "right"), name);
                if (json_array_size(examples) >= EXAMPLES_PER_TABLE)
                    break;
                json_t *e = json_pack("{s:s, s:s}", "key", key.data ? key.data : "", "column",
                                      name);
                json_object_set(e, "base", json_is_string(l) ? l : json_null());
                json_object_set(e, "candidate", json_is_string(r) ? r : json_null());
                json_array_append_new(examples, e);
            }
            buf_release(&key);
        }
        json_object_set_new(o, "columns", columns);
        json_object_set_new(o, "examples", examples);
        json_array_append_new(tables, o);
        if (differs) {
            regression = true;
            buf_printf(&summary, "%s%s: %lld rows differ (%lld changed, %lld only in %s, %lld "
                                 "only in %s)",
                       summary.len ? "; " : "", str(t, "table"),
                       (long long)(missing + extra + changed), (long long)changed,
                       (long long)missing, str(outputs, "left"), (long long)extra,
                       str(outputs, "right"));
        }
    }
    json_t *out = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o}", "base", str(outputs, "left"),
                            "candidate", str(outputs, "right"), "regression", regression,
                            "summary",
                            summary.len ? summary.data : "the rows hold the same facts",
                            "schema", schema, "tables", tables);
    buf_release(&summary);
    json_decref(doc);
    return out;
}

/* ---- the whole ----------------------------------------------------------- */

json_t *run_report_context(const struct run_report_config *c, json_t *warnings)
{
    const json_t *j = c->journal;
    json_t *checks = json_array(), *ctx, *db;

    ctx = json_pack("{s:s, s:i}", "format", "rehearse-report-context", "version", 1);
    json_t *run = json_pack("{s:s, s:s, s:s, s:b}", "scenario",
                            str(json_object_get(j, "scenario"), "name"), "status",
                            str(j, "status") ? str(j, "status") : "running", "journal",
                            "journal.json", "complete",
                            json_is_true(json_object_get(j, "complete")));
    copy_member(run, j, "started_at", NULL);
    copy_member(run, j, "duration_ms", NULL);
    copy_member(run, j, "reason", NULL);
    json_object_set_new(ctx, "run", run);
    json_object_set_new(ctx, "timeline", timeline(c, warnings));
    add_checks(checks, json_object_get(j, "steps"));
    add_checks(checks, json_object_get(j, "always"));
    json_object_set_new(ctx, "assertions", json_pack("{s:o}", "checks", checks));
    if (c->dbdiff_step && (db = database(c)))
        json_object_set_new(ctx, "database", db);
    return ctx;
}

int run_report_write(const struct run_report_config *c, struct run_report_result *res,
                     struct error *err)
{
    struct report *r = NULL;
    json_t *warnings = json_array(), *ctx = NULL;
    int rc;

    memset(res, 0, sizeof *res);
    if ((rc = report_new(&r, err)))
        goto out;
    if ((rc = report_load_diff(r, c->diff_path, NULL, err)))
        goto out;
    if (!(ctx = run_report_context(c, warnings))) {
        rc = error_set(err, ERR_NOMEM, "out of memory building the report's context");
        goto out;
    }
    if ((rc = report_set_context(r, ctx, err)) ||
        (rc = report_write_dir(r, c->run_dir, REPORT_ALL, err)))
        goto out;
    snprintf(res->verdict, sizeof res->verdict, "%s", report_result(r));
    snprintf(res->summary, sizeof res->summary, "%s", report_summary(r));
    snprintf(res->html, sizeof res->html, "%s/%s", c->run_dir, report_file_name(REPORT_HTML));
    res->exit_code = report_exit_code(r);
out:
    json_decref(ctx);
    json_decref(warnings);
    report_free(r);
    return rc;
}
