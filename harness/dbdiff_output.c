/*
 * dbdiff_output.c — a dbdiff result as JSON (docs/dbdiff-format.md) and as
 * the one-line-per-table TSV summary.  Order is deterministic: schema
 * changes by (kind, name), tables by name, columns by name, examples in the
 * order they were met (key-hash order, a deterministic sample).
 */
#include <inttypes.h>
#include <string.h>

#include "dbdiff.h"
#include "jsonw.h"

/* Appends stop at the first failure: `rc` stays the first error. */
struct out {
    struct buf *b;
    int rc;
};

static void raw(struct out *o, const char *s)
{
    if (!o->rc)
        o->rc = buf_append_str(o->b, s);
}

static void str(struct out *o, const char *s)
{
    if (!o->rc)
        o->rc = jsonw_cstring(o->b, s, 0);
}

static void num(struct out *o, int64_t v)
{
    if (!o->rc)
        o->rc = jsonw_int(o->b, v);
}

static void boolean(struct out *o, bool v) { raw(o, v ? "true" : "false"); }

static void ms(struct out *o, int64_t us)
{
    if (!o->rc)
        o->rc = buf_printf(o->b, "%.3f", (double)us / 1000.0);
}

/* "name": */
static void key(struct out *o, bool first, const char *name)
{
    raw(o, first ? "" : ",");
    str(o, name);
    raw(o, ":");
}

static void str_list(struct out *o, const char *const *v, size_t n)
{
    raw(o, "[");
    for (size_t i = 0; i < n; i++) {
        raw(o, i ? "," : "");
        str(o, v[i]);
    }
    raw(o, "]");
}

/* {"col": value, ...} for the columns whose flag is set (all when NULL). */
static void row_object(struct out *o, const char *const *names, char *const *values, size_t n,
                       const bool *only)
{
    bool first = true;
    raw(o, "{");
    for (size_t i = 0; i < n; i++) {
        if (only && !only[i])
            continue;
        key(o, first, names[i]);
        first = false;
        str(o, values ? values[i] : NULL);
    }
    raw(o, "}");
}

static const char *attr_value(const struct dbobject *obj, const char *name)
{
    for (size_t i = 0; obj && i < obj->nattrs; i++)
        if (strcmp(obj->attrs[i].name, name) == 0)
            return obj->attrs[i].value;
    return NULL;
}

static bool nullable_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The attributes of an added, removed or changed object: every one for
 * added/removed, the differing ones for changed; the union of both sides'
 * names, in name order (both lists are sorted). */
static void schema_attributes(struct out *o, const struct dbschema_change *c)
{
    const struct dbobject *l = c->left, *r = c->right;
    size_t i = 0, j = 0, nl = l ? l->nattrs : 0, nr = r ? r->nattrs : 0;
    bool first = true;

    raw(o, "{");
    while (i < nl || j < nr) {
        int cmp = i >= nl ? 1 : j >= nr ? -1 : strcmp(l->attrs[i].name, r->attrs[j].name);
        const char *name = cmp <= 0 ? l->attrs[i].name : r->attrs[j].name;
        const char *lv = attr_value(l, name), *rv = attr_value(r, name);
        i += cmp <= 0;
        j += cmp >= 0;
        if (c->type == DBSCHEMA_CHANGED && nullable_equal(lv, rv))
            continue;
        key(o, first, name);
        first = false;
        raw(o, "{\"left\":");
        str(o, lv);
        raw(o, ",\"right\":");
        str(o, rv);
        raw(o, "}");
    }
    raw(o, "}");
}

static void schema_section(struct out *o, const struct dbdiff_result *r)
{
    static const char *const change_names[] = {"added", "removed", "changed"};
    char lf[33], rf[33];

    raw(o, ",\"schema\":{\"compared\":");
    boolean(o, r->schema_compared);
    if (r->schema_compared) {
        dbschema_fingerprint(&r->left_schema, lf);
        dbschema_fingerprint(&r->right_schema, rf);
        raw(o, ",\"left_fingerprint\":");
        str(o, lf);
        raw(o, ",\"right_fingerprint\":");
        str(o, rf);
    }
    raw(o, ",\"changes\":[");
    for (size_t i = 0; i < r->nchanges; i++) {
        const struct dbschema_change *c = &r->changes[i];
        const struct dbobject *obj = c->left ? c->left : c->right;
        raw(o, i ? ",{\"change\":" : "{\"change\":");
        str(o, change_names[c->type]);
        raw(o, ",\"kind\":");
        str(o, obj->kind);
        raw(o, ",\"name\":");
        str(o, obj->name);
        raw(o, ",\"table\":");
        str(o, obj->table);
        raw(o, ",\"attributes\":");
        schema_attributes(o, c);
        raw(o, "}");
    }
    raw(o, "]}");
}

static void examples(struct out *o, const struct dbdiff_table *t)
{
    static const char *const kinds[] = {"only_left", "only_right", "changed"};

    raw(o, ",\"examples\":{");
    for (int k = 0; k < 3; k++) {
        key(o, k == 0, kinds[k]);
        raw(o, "[");
        for (size_t i = 0; i < t->nexamples[k]; i++) {
            const struct dbdiff_example *ex = &t->examples[k][i];
            raw(o, i ? ",{" : "{");
            bool first = true;
            if (t->nkey) {
                key(o, true, "key");
                row_object(o, t->key, ex->key, t->nkey, NULL);
                first = false;
            } else {
                key(o, true, "count");
                num(o, ex->count);
                first = false;
            }
            if (k == DBDIFF_EX_CHANGED) {
                key(o, first, "columns");
                raw(o, "[");
                bool any = false;
                for (size_t c = 0; c < t->ncols; c++)
                    if (ex->changed[c]) {
                        raw(o, any ? "," : "");
                        str(o, t->cols[c]);
                        any = true;
                    }
                raw(o, "],\"left\":");
                row_object(o, t->cols, ex->left, t->ncols, ex->changed);
                raw(o, ",\"right\":");
                row_object(o, t->cols, ex->right, t->ncols, ex->changed);
            } else {
                key(o, first, "row");
                row_object(o, t->cols, k == DBDIFF_EX_ONLY_LEFT ? ex->left : ex->right,
                           t->ncols, NULL);
            }
            raw(o, "}");
        }
        raw(o, "]");
    }
    raw(o, ",\"capped\":");
    boolean(o, t->examples_capped[0] || t->examples_capped[1] || t->examples_capped[2]);
    raw(o, "}");
}

static void nullable_count(struct out *o, int64_t v)
{
    if (v < 0)
        raw(o, "null");
    else
        num(o, v);
}

static void table_entry(struct out *o, const struct dbdiff_table *t)
{
    raw(o, "{\"table\":");
    str(o, t->name);
    raw(o, ",\"left\":");
    str(o, t->left_source);
    raw(o, ",\"right\":");
    str(o, t->right_source);
    raw(o, ",\"status\":");
    str(o, dbdiff_status_name(t->status));
    raw(o, ",\"complete\":");
    boolean(o, t->complete);
    raw(o, ",\"method\":");
    str(o, t->method);
    raw(o, ",\"key\":");
    str_list(o, t->key, t->key ? t->nkey : 0);
    raw(o, ",\"key_source\":");
    str(o, t->key_source);
    raw(o, ",\"note\":");
    str(o, t->note);
    raw(o, ",\"rows_left\":");
    nullable_count(o, t->rows_left);
    raw(o, ",\"rows_right\":");
    nullable_count(o, t->rows_right);
    raw(o, ",\"only_left\":");
    num(o, t->only_left);
    raw(o, ",\"only_right\":");
    num(o, t->only_right);
    raw(o, ",\"changed\":");
    num(o, t->changed);

    raw(o, ",\"columns\":");
    str_list(o, t->cols, t->cols ? t->ncols : 0);
    raw(o, ",\"renamed_columns\":{");
    bool first = true;
    for (size_t i = 0; t->cols_right && i < t->ncols; i++)
        if (strcmp(t->cols[i], t->cols_right[i])) {
            key(o, first, t->cols[i]);
            str(o, t->cols_right[i]);
            first = false;
        }
    raw(o, "},\"compared_as_text\":[");
    first = true;
    for (size_t i = 0; t->as_text && i < t->nkey + t->ncols; i++)
        if (t->as_text[i]) {
            raw(o, first ? "" : ",");
            str(o, i < t->nkey ? t->key[i] : t->cols[i - t->nkey]);
            first = false;
        }
    raw(o, "],\"columns_only_left\":");
    str_list(o, t->only_left_cols, t->only_left_cols ? t->nonly_left_cols : 0);
    raw(o, ",\"columns_only_right\":");
    str_list(o, t->only_right_cols, t->only_right_cols ? t->nonly_right_cols : 0);
    raw(o, ",\"ignored_columns\":");
    str_list(o, t->ignored, t->ignored ? t->nignored : 0);
    raw(o, ",\"changed_by_column\":{");
    first = true;
    for (size_t i = 0; t->changed_by_col && i < t->ncols; i++)
        if (t->changed_by_col[i]) {
            key(o, first, t->cols[i]);
            num(o, t->changed_by_col[i]);
            first = false;
        }
    raw(o, "},\"duplicate_keys_left\":");
    num(o, t->duplicate_keys_left);
    raw(o, ",\"duplicate_keys_right\":");
    num(o, t->duplicate_keys_right);
    examples(o, t);
    raw(o, ",\"caps\":{\"rows\":");
    boolean(o, t->cap_rows);
    raw(o, ",\"timeout\":");
    boolean(o, t->cap_timeout);
    raw(o, ",\"unresolved_buckets\":");
    num(o, t->unresolved_buckets);
    raw(o, ",\"unresolved_rows_left\":");
    num(o, t->unresolved_rows_left);
    raw(o, ",\"unresolved_rows_right\":");
    num(o, t->unresolved_rows_right);
    raw(o, "},\"buckets\":{\"mode\":");
    str(o, t->bucket_mode);
    raw(o, ",\"bits\":");
    num(o, t->bucket_bits);
    raw(o, ",\"grain\":");
    num(o, t->bucket_grain);
    raw(o, ",\"levels\":");
    num(o, t->levels);
    raw(o, ",\"mismatched\":");
    num(o, t->buckets_mismatched);
    raw(o, ",\"rows_fetched_left\":");
    num(o, t->rows_fetched_left);
    raw(o, ",\"rows_fetched_right\":");
    num(o, t->rows_fetched_right);
    raw(o, "},\"timings_ms\":{\"scan\":");
    ms(o, t->scan_us);
    raw(o, ",\"fetch\":");
    ms(o, t->fetch_us);
    raw(o, ",\"total\":");
    ms(o, t->total_us);
    raw(o, "}}");
}

int dbdiff_write_json(const struct dbdiff_result *r, struct buf *b)
{
    struct out o = {b, 0};

    raw(&o, "{\"format\":\"" DBDIFF_FORMAT_NAME "\",\"version\":");
    num(&o, DBDIFF_FORMAT_VERSION);
    for (int w = 0; w < 2; w++) {
        raw(&o, w ? ",\"right\":{\"where\":" : ",\"left\":{\"where\":");
        str(&o, w ? r->right_where : r->left_where);
        raw(&o, ",\"server_version\":");
        num(&o, w ? r->right_version : r->left_version);
        raw(&o, "}");
    }
    raw(&o, ",\"options\":{\"schema\":");
    boolean(&o, r->schema_compared);
    raw(&o, ",\"rows\":");
    boolean(&o, r->rows_compared);
    raw(&o, ",\"max_examples\":");
    num(&o, (int64_t)r->max_examples);
    raw(&o, ",\"max_rows\":");
    num(&o, (int64_t)r->max_rows);
    raw(&o, ",\"timeout_ms\":");
    if (r->timeout_us > 0)
        ms(&o, r->timeout_us);
    else
        raw(&o, "null");
    raw(&o, "},\"summary\":{\"differs\":");
    boolean(&o, dbdiff_result_differs(r));
    raw(&o, ",\"complete\":");
    boolean(&o, r->complete);
    raw(&o, ",\"timed_out\":");
    boolean(&o, r->timed_out);
    raw(&o, ",\"schema_changes\":");
    num(&o, (int64_t)r->nchanges);
    raw(&o, ",\"tables\":");
    num(&o, (int64_t)r->ntables);
    raw(&o, ",\"tables_different\":");
    num(&o, (int64_t)r->tables_different);
    raw(&o, ",\"rows_only_left\":");
    num(&o, r->only_left);
    raw(&o, ",\"rows_only_right\":");
    num(&o, r->only_right);
    raw(&o, ",\"rows_changed\":");
    num(&o, r->changed);
    raw(&o, "}");
    schema_section(&o, r);
    raw(&o, ",\"tables\":[");
    for (size_t i = 0; i < r->ntables; i++) {
        raw(&o, i ? "," : "");
        table_entry(&o, &r->tables[i]);
    }
    raw(&o, "],\"ignore_columns\":[");
    for (size_t i = 0; i < r->nignore_hits; i++) {
        raw(&o, i ? ",{\"column\":" : "{\"column\":");
        str(&o, r->ignore_names[i]);
        raw(&o, ",\"tables\":");
        num(&o, r->ignore_hits[i]);
        raw(&o, "}");
    }
    raw(&o, "],\"timings_ms\":{\"connect\":");
    ms(&o, r->connect_us);
    raw(&o, ",\"schema\":");
    ms(&o, r->schema_us);
    raw(&o, ",\"rows\":");
    ms(&o, r->rows_us);
    raw(&o, ",\"total\":");
    ms(&o, r->total_us);
    raw(&o, "}}\n");
    return o.rc;
}

/* A TSV field cannot hold a tab or a line break: \t \n \r \\ escapes. */
static void tsv_name(struct out *o, const char *s)
{
    for (; *s && !o->rc; s++) {
        const char *esc = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\r' ? "\\r"
                          : *s == '\\' ? "\\\\" : NULL;
        o->rc = esc ? buf_append_str(o->b, esc) : buf_append_char(o->b, *s);
    }
}

int dbdiff_write_tsv(const struct dbdiff_result *r, struct buf *b)
{
    struct out o = {b, 0};
    raw(&o, "table\tonly_left\tonly_right\tchanged\n");
    for (size_t i = 0; i < r->ntables && !o.rc; i++) {
        const struct dbdiff_table *t = &r->tables[i];
        tsv_name(&o, t->name);
        if (t->status == DBDIFF_SKIPPED || t->status == DBDIFF_INCOMPLETE)
            raw(&o, "\t-\t-\t-\n");
        else if (!o.rc)
            o.rc = buf_printf(b, "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\n", t->only_left,
                              t->only_right, t->changed);
    }
    return o.rc;
}
