/*
 * step_dbstate.c — the database state of a rehearsal: the snapshot and
 * dbdiff step kinds.
 *
 *     {"name": "before", "snapshot": "app"}
 *     {"name": "restored", "snapshot": {"database": "app", "compare_to": "before",
 *                                       "expect": "same"}}
 *     {"name": "old-vs-new", "dbdiff": {"left": "old_db", "right": "new_db",
 *                                       "map": "maps/demo.json", "expect": "same"}}
 *
 * A snapshot records each table's row count and checksum (dbstate.h: one
 * scan per table) in the journal, cheap enough to take around every
 * migration step; compared with an earlier snapshot it says which tables
 * changed — "the rollback restored the state from before the migration" is
 * a snapshot after the rollback that expects to be the same as one before.
 * A dbdiff is the full comparison of two databases (dbdiff.h): schema and
 * rows with examples, written to steps/NAME/dbdiff.json (docs/dbdiff-format.md).
 * Differences are findings for asserts to judge (metrics), unless the step
 * says what it expects: then the expectation is an assertion of its own.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dbconn.h"
#include "dbdiff.h"
#include "dbstate.h"
#include "fileutil.h"
#include "step.h"

#define TABLES_MAX 256
#define DOC_MAX ((size_t)256 << 20)

enum expect { EXPECT_NOTHING, EXPECT_SAME, EXPECT_DIFFERENT };

struct snapshot_step {
    int database;
    char *tables[TABLES_MAX];
    size_t table_count;
    char *compare_to;          /* an earlier snapshot step, or NULL */
    enum expect expect;
};

struct dbdiff_step {
    int left, right;
    struct dbdiff_map *map;
    char *map_path;
    char *tables[TABLES_MAX];
    size_t table_count;
    struct dbdiff_key keys[TABLES_MAX];
    char **key_cols[TABLES_MAX];
    size_t key_count;
    bool schema, rows;
    long long max_examples;
    int64_t timeout_us;
    enum expect expect;
};

static const char *const snapshot_keys[] = {"database", "tables", "compare_to", "expect", NULL};
static const char *const dbdiff_keys[] = {"left", "right", "map", "tables", "keys", "schema",
                                          "rows", "max_examples", "timeout", "expect", NULL};
static const char *const snapshot_measures[] = {"tables", "rows", "tables_changed",
                                                "schema_changed", NULL};
static const char *const dbdiff_measures[] = {"differs", "schema_changes", "tables_different",
                                              "rows_only_left", "rows_only_right",
                                              "rows_changed", "rows_different", NULL};

/* ---- shared parsing ------------------------------------------------------ */

static void parse_tables(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         char **out, size_t *count)
{
    const json_t *v = json_object_get(obj, "tables");
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];

    if (!v)
        return;
    scenario_pointer(ptr, sizeof ptr, pointer, "tables");
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > TABLES_MAX) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr, "expected an array of 1 to %d table names (\"users\", "
                               "\"audit.events\"), found %s",
                       TABLES_MAX, found);
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *t = json_array_get(v, i);
        scenario_pointer_index(item, sizeof item, ptr, i);
        if (!json_is_string(t) || !json_string_length(t)) {
            scenario_describe(t, found, sizeof found);
            scenario_error(p, item, "expected a table name, found %s", found);
            continue;
        }
        out[(*count)++] = strdup(json_string_value(t));
    }
}

static bool parse_expect(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         enum expect *out)
{
    const char *text = NULL;
    char ptr[SCENARIO_POINTER_MAX];
    if (!scenario_get_string(p, obj, pointer, "expect", false, &text) || !text)
        return text == NULL;
    scenario_pointer(ptr, sizeof ptr, pointer, "expect");
    if (strcmp(text, "same") == 0)
        *out = EXPECT_SAME;
    else if (strcmp(text, "different") == 0)
        *out = EXPECT_DIFFERENT;
    else {
        scenario_error(p, ptr, "expected \"same\" or \"different\", found \"%s\"", text);
        return false;
    }
    return true;
}

static int ref_database(struct scenario_parser *p, const json_t *obj, const char *pointer,
                        const char *key)
{
    const char *name = NULL;
    char ptr[SCENARIO_POINTER_MAX];
    if (!scenario_get_string(p, obj, pointer, key, true, &name) || !name)
        return -1;
    scenario_pointer(ptr, sizeof ptr, pointer, key);
    return scenario_ref_database(p, ptr, name);
}

/* Record the expectation as an assertion; returns whether it held. */
static bool check_expect(struct step_run *run, enum expect expect, bool differs,
                         const char *subject, const char *detail)
{
    char message[ERROR_MESSAGE_MAX];
    bool passed = (expect == EXPECT_SAME) != differs;
    snprintf(message, sizeof message, "%s: expected %s, found %s%s%s", subject,
             expect == EXPECT_SAME ? "the same" : "a difference",
             differs ? "differences" : "no difference", detail[0] ? ": " : "", detail);
    step_run_assertion(run,
                       json_pack("{s:s, s:s, s:b, s:b, s:s}", "check", subject, "expect",
                                 expect == EXPECT_SAME ? "same" : "different", "differs", differs,
                                 "passed", passed, "message", message),
                       passed);
    if (!passed)
        step_run_fail(run, STEP_FAILED, "%s", message);
    return passed;
}

/* ---- snapshot ------------------------------------------------------------ */

static void free_snapshot(void *data)
{
    struct snapshot_step *s = data;
    if (!s)
        return;
    for (size_t i = 0; i < s->table_count; i++)
        free(s->tables[i]);
    free(s->compare_to);
    free(s);
}

static bool parse_snapshot(struct scenario_parser *p, struct step *step, const json_t *value,
                           const char *pointer)
{
    struct snapshot_step *s = calloc(1, sizeof *s);
    const char *compare_to = NULL;
    char ptr[SCENARIO_POINTER_MAX], found[96];
    bool ok = true;

    if (!s)
        return false;
    step->data = s;
    if (json_is_string(value))
        return (s->database = scenario_ref_database(p, pointer, json_string_value(value))) >= 0;
    if (!json_is_object(value)) {
        scenario_describe(value, found, sizeof found);
        scenario_error(p, pointer, "expected a database name or {\"database\": ..., "
                                   "\"compare_to\": ...}, found %s",
                       found);
        return false;
    }
    ok = scenario_check_object(p, value, pointer, snapshot_keys, "a snapshot");
    ok = (s->database = ref_database(p, value, pointer, "database")) >= 0 && ok;
    parse_tables(p, value, pointer, s->tables, &s->table_count);
    if (scenario_get_string(p, value, pointer, "compare_to", false, &compare_to) && compare_to) {
        const struct step *other = scenario_find_step(p, compare_to);
        scenario_pointer(ptr, sizeof ptr, pointer, "compare_to");
        if (!other || !other->kind || strcmp(other->kind->name, "snapshot") != 0) {
            scenario_error(p, ptr,
                           "expected the name of a snapshot step before this one, found \"%s\"%s",
                           compare_to, other ? " (not a snapshot step)" : "");
            ok = false;
        } else {
            s->compare_to = strdup(compare_to);
        }
    }
    ok = parse_expect(p, value, pointer, &s->expect) && ok;
    if (s->expect != EXPECT_NOTHING && !s->compare_to) {
        scenario_error(p, pointer, "\"expect\" needs \"compare_to\": the snapshot step to "
                                   "compare with");
        ok = false;
    }
    return ok;
}

/* The deltas as journal JSON, and a one-line summary of them. */
static json_t *deltas_json(const struct dbsnapshot_delta *d, size_t n, bool schema_changed,
                           char *summary, size_t size)
{
    json_t *list = json_array();
    size_t used = 0;
    summary[0] = '\0';
    if (schema_changed)
        used += (size_t)snprintf(summary, size, "the schema changed");
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s}", "table", d[i].table);
        char what[160];
        if (d[i].before)
            json_object_set_new(o, "rows_before", json_integer(d[i].before->rows));
        if (d[i].after)
            json_object_set_new(o, "rows_after", json_integer(d[i].after->rows));
        if (!d[i].before)
            snprintf(what, sizeof what, "%s added", d[i].table);
        else if (!d[i].after)
            snprintf(what, sizeof what, "%s removed", d[i].table);
        else if (strcmp(d[i].before->columns, d[i].after->columns) != 0)
            snprintf(what, sizeof what, "%s columns changed", d[i].table);
        else if (d[i].before->rows != d[i].after->rows)
            snprintf(what, sizeof what, "%s rows %lld -> %lld", d[i].table,
                     (long long)d[i].before->rows, (long long)d[i].after->rows);
        else
            snprintf(what, sizeof what, "%s rows changed (same count, %lld)", d[i].table,
                     (long long)d[i].after->rows);
        json_object_set_new(o, "change", json_string(what + strlen(d[i].table) + 1));
        json_array_append_new(list, o);
        if (used < size)
            used += (size_t)snprintf(summary + used, size - used, "%s%s", used ? "; " : "", what);
    }
    return list;
}

static enum step_status compare_snapshots(struct step_run *run, const struct step *step,
                                          const struct snapshot_step *s,
                                          const struct dbsnapshot *now)
{
    char path[PATH_MAX + 32], summary[ERROR_MESSAGE_MAX / 2], subject[256];
    struct dbsnapshot *before = NULL;
    struct dbsnapshot_delta *deltas = NULL;
    size_t count = 0, len = 0;
    bool schema_changed = false;
    struct error err;
    char *text = NULL;
    int rc;

    error_init(&err);
    step_run_step_dir(run, s->compare_to, path, sizeof path);
    strncat(path, "/snapshot.json", sizeof path - strlen(path) - 1);
    if ((rc = file_read_text(path, DOC_MAX, "snapshot", &text, &len, &err)) ||
        (rc = dbsnapshot_read_json(text, len, path, &before, &err))) {
        free(text);
        return step_run_fail(run, STEP_FAILED,
                             "no snapshot of step '%s' to compare with (did it run?): %s",
                             s->compare_to, err.message);
    }
    free(text);
    rc = dbsnapshot_compare(before, now, &deltas, &count, &schema_changed, &err);
    if (rc) {
        dbsnapshot_free(before);
        return step_run_fail(run, STEP_ERROR, "%s", err.message);
    }
    /* the deltas point into both snapshots: free `before` only after them */
    json_t *list = deltas_json(deltas, count, schema_changed, summary, sizeof summary);
    dbsnapshot_free(before);
    step_run_output(run, "compared_to", json_string(s->compare_to));
    step_run_output(run, "changes", list);
    step_run_output(run, "schema_changed", json_boolean(schema_changed));
    step_run_metric(run, "tables_changed", (double)count);
    step_run_metric(run, "schema_changed", schema_changed ? 1 : 0);
    free(deltas);
    if (s->expect == EXPECT_NOTHING)
        return STEP_OK;
    snprintf(subject, sizeof subject, "database %s at step '%s' vs at step '%s'",
             step_run_scenario(run)->databases[s->database].name, step->name, s->compare_to);
    return check_expect(run, s->expect, count > 0 || schema_changed, subject, summary)
               ? STEP_OK
               : STEP_FAILED;
}

static enum step_status run_snapshot(struct step_run *run, const struct step *step)
{
    const struct snapshot_step *s = step->data;
    struct dbsnapshot *snap = NULL;
    struct error err;
    struct buf b;
    char dir[PATH_MAX], path[PATH_MAX + 32];
    enum step_status status = STEP_OK;
    int64_t rows = 0;
    int rc;

    error_init(&err);
    buf_init(&b, DOC_MAX);
    rc = dbstate_snapshot(step_run_conninfo(run, s->database),
                          s->table_count ? (const char *const *)s->tables : NULL, s->table_count,
                          0, &snap, &err);
    if (rc) {
        buf_release(&b);
        return step_run_fail(run, rc == ERR_INPUT || rc == ERR_USAGE ? STEP_FAILED : STEP_ERROR,
                             "%s", err.message);
    }
    for (size_t i = 0; i < snap->ntables; i++)
        rows += snap->tables[i].rows;
    step_run_metric(run, "tables", (double)snap->ntables);
    step_run_metric(run, "rows", (double)rows);
    step_run_output(run, "database",
                    json_string(step_run_scenario(run)->databases[s->database].name));
    if (dbsnapshot_write_json(snap, &b) == 0) {
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        if (doc)
            step_run_output(run, "snapshot", doc);
    }
    /* Kept beside the step, for the steps that compare with it. */
    if ((rc = step_run_dir(run, dir, sizeof dir, &err)) == 0) {
        snprintf(path, sizeof path, "%s/snapshot.json", dir);
        rc = file_write_atomic(path, b.data ? b.data : "", b.len, &err);
    }
    if (rc)
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
    else if (s->compare_to)
        status = compare_snapshots(run, step, s, snap);
    dbsnapshot_free(snap);
    buf_release(&b);
    return status;
}

const struct step_kind step_kind_snapshot = {
    .name = "snapshot",
    .summary = "record row counts and checksums of a database (and compare with an earlier one)",
    .measures = snapshot_measures,
    .parse = parse_snapshot,
    .run = run_snapshot,
    .free = free_snapshot,
    /* A failed expectation is a finding, like an assert: the run goes on. */
    .default_on_failure = STEP_CONTINUE_RUN,
};

/* ---- dbdiff -------------------------------------------------------------- */

static void free_dbdiff(void *data)
{
    struct dbdiff_step *d = data;
    if (!d)
        return;
    dbdiff_map_free(d->map);
    free(d->map_path);
    for (size_t i = 0; i < d->table_count; i++)
        free(d->tables[i]);
    for (size_t i = 0; i < d->key_count; i++) {
        free((char *)d->keys[i].table);
        for (size_t k = 0; k < d->keys[i].ncols; k++)
            free(d->key_cols[i][k]);
        free(d->key_cols[i]);
    }
    free(d);
}

static void parse_keys(struct scenario_parser *p, struct dbdiff_step *d, const json_t *v,
                       const char *pointer)
{
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], col[SCENARIO_POINTER_MAX],
        found[96];
    const char *table;
    json_t *cols;

    if (!v)
        return;
    scenario_pointer(ptr, sizeof ptr, pointer, "keys");
    if (!json_is_object(v) || json_object_size(v) > TABLES_MAX) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, ptr, "expected an object of TABLE: [\"column\", ...], found %s", found);
        return;
    }
    json_object_foreach((json_t *)v, table, cols) {
        size_t n = json_is_array(cols) ? json_array_size(cols) : 0;
        scenario_pointer(item, sizeof item, ptr, table);
        if (n == 0) {
            scenario_describe(cols, found, sizeof found);
            scenario_error(p, item, "expected a non-empty array of key columns, found %s", found);
            continue;
        }
        char **list = calloc(n, sizeof *list);
        if (!list)
            return;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const json_t *c = json_array_get(cols, i);
            scenario_pointer_index(col, sizeof col, item, i);
            if (!json_is_string(c)) {
                scenario_describe(c, found, sizeof found);
                scenario_error(p, col, "expected a column name, found %s", found);
                continue;
            }
            list[k++] = strdup(json_string_value(c));
        }
        d->key_cols[d->key_count] = list;
        d->keys[d->key_count] = (struct dbdiff_key){strdup(table), (const char *const *)list, k};
        d->key_count++;
    }
}

static bool parse_dbdiff(struct scenario_parser *p, struct step *step, const json_t *value,
                         const char *pointer)
{
    struct dbdiff_step *d = calloc(1, sizeof *d);
    const char *map = NULL;
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;

    if (!d)
        return false;
    step->data = d;
    d->schema = d->rows = true;
    d->max_examples = DBDIFF_DEFAULT_MAX_EXAMPLES;
    ok = scenario_check_object(p, value, pointer, dbdiff_keys, "a database diff");
    if (!json_is_object(value))
        return false;
    ok = (d->left = ref_database(p, value, pointer, "left")) >= 0 && ok;
    ok = (d->right = ref_database(p, value, pointer, "right")) >= 0 && ok;
    if (scenario_get_string(p, value, pointer, "map", false, &map) && map) {
        const char *abs;
        scenario_pointer(ptr, sizeof ptr, pointer, "map");
        if ((abs = scenario_input_file(p, ptr, map))) {
            struct error err;
            error_init(&err);
            /* Read now: a bad map is reported before anything starts. */
            if (dbdiff_map_load(abs, &d->map, &err)) {
                scenario_error(p, ptr, "%s", err.message);
                ok = false;
            }
            d->map_path = strdup(abs);
        } else {
            ok = false;
        }
    }
    parse_tables(p, value, pointer, d->tables, &d->table_count);
    parse_keys(p, d, json_object_get(value, "keys"), pointer);
    scenario_get_bool(p, value, pointer, "schema", &d->schema);
    scenario_get_bool(p, value, pointer, "rows", &d->rows);
    scenario_get_int(p, value, pointer, "max_examples", 0, 100000, false, &d->max_examples);
    ok = scenario_get_duration(p, value, pointer, "timeout", false, &d->timeout_us) && ok;
    ok = parse_expect(p, value, pointer, &d->expect) && ok;
    if (!d->schema && !d->rows) {
        scenario_error(p, pointer, "\"schema\" and \"rows\" are both false: nothing to compare");
        ok = false;
    }
    return ok;
}

static enum step_status run_dbdiff(struct step_run *run, const struct step *step)
{
    const struct dbdiff_step *d = step->data;
    const struct scenario *s = step_run_scenario(run);
    struct dbdiff_options o;
    struct dbdiff_result *r = NULL;
    struct error err;
    struct buf b;
    char dir[PATH_MAX], path[PATH_MAX + 32], subject[256], detail[512];
    enum step_status status = STEP_OK;
    int rc;

    error_init(&err);
    dbdiff_options_init(&o);
    o.left_conninfo = step_run_conninfo(run, d->left);
    o.right_conninfo = step_run_conninfo(run, d->right);
    o.map = d->map;
    o.tables = d->table_count ? (const char *const *)d->tables : NULL;
    o.ntables = d->table_count;
    o.keys = d->keys;
    o.nkeys = d->key_count;
    o.schema = d->schema;
    o.rows = d->rows;
    o.max_examples = (uint64_t)d->max_examples;
    o.timeout_us = d->timeout_us;
    if ((rc = dbdiff_run(&o, &r, &err)))
        return step_run_fail(run, rc == ERR_DATABASE || rc == ERR_NOMEM ? STEP_ERROR : STEP_FAILED,
                             "%s", err.message);

    int64_t different = r->only_left + r->only_right + r->changed;
    step_run_metric(run, "differs", dbdiff_result_differs(r) ? 1 : 0);
    step_run_metric(run, "schema_changes", (double)r->nchanges);
    step_run_metric(run, "tables_different", (double)r->tables_different);
    step_run_metric(run, "rows_only_left", (double)r->only_left);
    step_run_metric(run, "rows_only_right", (double)r->only_right);
    step_run_metric(run, "rows_changed", (double)r->changed);
    step_run_metric(run, "rows_different", (double)different);

    buf_init(&b, DOC_MAX);
    if ((rc = dbdiff_write_json(r, &b)))
        error_set(&err, rc, "the database diff is too large to write");
    else if (!(rc = step_run_dir(run, dir, sizeof dir, &err))) {
        snprintf(path, sizeof path, "%s/dbdiff.json", dir);
        rc = file_write_atomic(path, b.data, b.len, &err);
    }
    if (rc == 0) {
        /* The journal keeps the summary and the per-table counts; the
         * examples are in the file. */
        json_t *doc = json_loadb(b.data, b.len, 0, NULL), *tables = json_array();
        json_t *list = json_object_get(doc, "tables");
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *t = json_array_get(list, i);
            json_t *row = json_object();
            static const char *const keep[] = {"table", "status", "rows_left", "rows_right",
                                               "only_left", "only_right", "changed",
                                               "changed_by_column", NULL};
            for (size_t k = 0; keep[k]; k++)
                if (json_object_get(t, keep[k]))
                    json_object_set(row, keep[k], json_object_get(t, keep[k]));
            json_array_append_new(tables, row);
        }
        snprintf(path, sizeof path, "steps/%s/dbdiff.json", step->name);
        step_run_output(run, "dbdiff", json_string(path));
        step_run_output(run, "left", json_string(s->databases[d->left].name));
        step_run_output(run, "right", json_string(s->databases[d->right].name));
        if (d->map_path)
            step_run_output(run, "map", json_string(d->map_path));
        step_run_output(run, "summary", json_incref(json_object_get(doc, "summary")));
        step_run_output(run, "tables", tables);
        json_decref(doc);
    } else {
        status = step_run_fail(run, STEP_ERROR, "%s", err.message);
    }
    if (status == STEP_OK && d->expect != EXPECT_NOTHING) {
        snprintf(subject, sizeof subject, "databases %s and %s", s->databases[d->left].name,
                 s->databases[d->right].name);
        snprintf(detail, sizeof detail,
                 "%zu schema changes, %zu tables different (%lld rows only in %s, %lld only in "
                 "%s, %lld changed)",
                 r->nchanges, r->tables_different, (long long)r->only_left,
                 s->databases[d->left].name, (long long)r->only_right,
                 s->databases[d->right].name, (long long)r->changed);
        if (!check_expect(run, d->expect, dbdiff_result_differs(r), subject, detail))
            status = STEP_FAILED;
    }
    buf_release(&b);
    dbdiff_result_free(r);
    return status;
}

const struct step_kind step_kind_dbdiff = {
    .name = "dbdiff",
    .summary = "diff the schema and rows of two databases (with a map across schema versions)",
    .measures = dbdiff_measures,
    .parse = parse_dbdiff,
    .run = run_dbdiff,
    .free = free_dbdiff,
    .default_on_failure = STEP_CONTINUE_RUN,
};
