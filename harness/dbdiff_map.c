#include "dbdiff_map.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileutil.h"
#include "json_locate.h"
#include "scenario.h"

#define MAP_VERSION 1

static int locate_error(const char *text, size_t len, const char *source, const char *pointer,
                        struct error *err, const char *fmt, va_list ap)
{
    struct json_location loc = {1, 1, 0};
    char shown[512], msg[ERROR_MESSAGE_MAX];

    json_locate(text, len, pointer, &loc);
    json_pointer_display(pointer, shown, sizeof shown);
    vsnprintf(msg, sizeof msg, fmt, ap);
    return error_set(err, ERR_INPUT, "%s:%d:%d: %s%s%s (see docs/dbdiff-map-format.md)", source,
                     loc.line, loc.column, shown, shown[0] ? ": " : "", msg);
}

int dbdiff_map_error(const struct dbdiff_map *m, const char *pointer, struct error *err,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    locate_error(m->text, m->len, m->source, pointer, err, fmt, ap);
    va_end(ap);
    return ERR_INPUT;
}

struct parser {
    struct dbdiff_map *m;
    struct error *err;
};

static int perr(struct parser *p, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, const char *pointer, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    locate_error(p->m->text, p->m->len, p->m->source, pointer, p->err, fmt, ap);
    va_end(ap);
    return ERR_INPUT;
}

static int nomem(struct parser *p)
{
    return error_set(p->err, ERR_NOMEM, "out of memory reading %s", p->m->source);
}

/* Reject members we do not know: a typo must not be silently ignored. */
static int check_members(struct parser *p, json_t *obj, const char *pointer,
                         const char *const *allowed, const char *expected)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, key) == 0;
        if (!ok) {
            char ptr[1024];
            scenario_pointer(ptr, sizeof ptr, pointer, key);
            return perr(p, ptr, "unknown member '%s'; expected %s", key, expected);
        }
    }
    return 0;
}

/* A non-empty array of distinct non-empty strings (or, allow_empty, empty). */
static int string_list(struct parser *p, json_t *v, const char *pointer, bool allow_empty,
                       const char ***out, size_t *n)
{
    size_t count = json_array_size(v);
    char ptr[1024];

    if (!json_is_array(v))
        return perr(p, pointer, "expected an array of column names");
    if (!count && !allow_empty)
        return perr(p, pointer, "expected at least one column name");
    *out = arena_alloc(&p->m->arena, (count ? count : 1) * sizeof **out);
    if (!*out)
        return nomem(p);
    for (size_t i = 0; i < count; i++) {
        json_t *s = json_array_get(v, i);
        snprintf(ptr, sizeof ptr, "%s/%zu", pointer, i);
        if (!json_is_string(s) || !json_string_length(s))
            return perr(p, ptr, "expected a column name (a non-empty string)");
        for (size_t k = 0; k < i; k++)
            if (strcmp((*out)[k], json_string_value(s)) == 0)
                return perr(p, ptr, "column '%s' is listed twice", json_string_value(s));
        if (!((*out)[i] = arena_strdup(&p->m->arena, json_string_value(s))))
            return nomem(p);
    }
    *n = count;
    return 0;
}

static int parse_side(struct parser *p, json_t *v, const char *pointer,
                      struct dbdiff_map_side *side)
{
    static const char *const allowed[] = {"table", "query", NULL};
    char ptr[1024];
    int rc;

    if (json_is_string(v)) {
        if (!json_string_length(v))
            return perr(p, pointer, "expected a table name, found an empty string");
        side->table = arena_strdup(&p->m->arena, json_string_value(v));
        return side->table ? 0 : nomem(p);
    }
    if (!json_is_object(v))
        return perr(p, pointer, "expected a table name, {\"table\": NAME} or "
                                "{\"query\": \"SELECT ...\"}");
    if ((rc = check_members(p, v, pointer, allowed, "'table' or 'query'")))
        return rc;
    json_t *table = json_object_get(v, "table"), *query = json_object_get(v, "query");
    if (!!table == !!query)
        return perr(p, pointer, "expected exactly one of 'table' and 'query'");
    json_t *s = table ? table : query;
    scenario_pointer(ptr, sizeof ptr, pointer, table ? "table" : "query");
    if (!json_is_string(s) || !json_string_length(s))
        return perr(p, ptr, "expected a non-empty string");
    const char *copy = arena_strdup(&p->m->arena, json_string_value(s));
    if (!copy)
        return nomem(p);
    if (table)
        side->table = copy;
    else
        side->query = copy;
    return 0;
}

static int parse_table(struct parser *p, const char *name, json_t *v,
                       struct dbdiff_map_table *t)
{
    static const char *const allowed[] = {"left", "right", "key", "ignore", "columns", "skip",
                                          NULL};
    char pointer[1024], ptr[1024];
    json_t *m;
    int rc;

    memset(t, 0, sizeof *t);
    scenario_pointer(pointer, sizeof pointer, "/tables", name);
    t->name = arena_strdup(&p->m->arena, name);
    t->pointer = arena_strdup(&p->m->arena, pointer);
    if (!t->name || !t->pointer)
        return nomem(p);
    if (!*name)
        return perr(p, pointer, "a table entry needs a name");
    if (!json_is_object(v))
        return perr(p, pointer, "expected an object describing how to compare table '%s'",
                    name);
    if ((rc = check_members(p, v, pointer, allowed,
                            "'left', 'right', 'key', 'ignore', 'columns' or 'skip'")))
        return rc;
    if ((m = json_object_get(v, "left"))) {
        scenario_pointer(ptr, sizeof ptr, pointer, "left");
        if ((rc = parse_side(p, m, ptr, &t->left)))
            return rc;
    }
    if ((m = json_object_get(v, "right"))) {
        scenario_pointer(ptr, sizeof ptr, pointer, "right");
        if ((rc = parse_side(p, m, ptr, &t->right)))
            return rc;
    }
    if ((m = json_object_get(v, "key"))) {
        scenario_pointer(ptr, sizeof ptr, pointer, "key");
        if ((rc = string_list(p, m, ptr, false, &t->key, &t->nkey)))
            return rc;
    }
    if ((m = json_object_get(v, "ignore"))) {
        scenario_pointer(ptr, sizeof ptr, pointer, "ignore");
        if ((rc = string_list(p, m, ptr, true, &t->ignore, &t->nignore)))
            return rc;
    }
    if ((m = json_object_get(v, "skip"))) {
        scenario_pointer(ptr, sizeof ptr, pointer, "skip");
        if (!json_is_boolean(m))
            return perr(p, ptr, "expected true or false");
        t->skip = json_is_true(m);
    }
    if ((m = json_object_get(v, "columns"))) {
        const char *key;
        json_t *value;
        size_t n = json_object_size(m), i = 0;
        scenario_pointer(ptr, sizeof ptr, pointer, "columns");
        if (!json_is_object(m))
            return perr(p, ptr, "expected an object {\"left column\": \"right column\", ...}");
        t->rename_left = arena_alloc(&p->m->arena, (n ? n : 1) * sizeof *t->rename_left);
        t->rename_right = arena_alloc(&p->m->arena, (n ? n : 1) * sizeof *t->rename_right);
        if (!t->rename_left || !t->rename_right)
            return nomem(p);
        json_object_foreach(m, key, value) {
            char vptr[1024];
            scenario_pointer(vptr, sizeof vptr, ptr, key);
            if (!*key || !json_is_string(value) || !json_string_length(value))
                return perr(p, vptr, "expected the right-side name of column '%s' "
                                     "(a non-empty string)", key);
            for (size_t k = 0; k < i; k++)
                if (strcmp(t->rename_right[k], json_string_value(value)) == 0)
                    return perr(p, vptr, "two columns are renamed to '%s'",
                                json_string_value(value));
            t->rename_left[i] = arena_strdup(&p->m->arena, key);
            t->rename_right[i] = arena_strdup(&p->m->arena, json_string_value(value));
            if (!t->rename_left[i] || !t->rename_right[i])
                return nomem(p);
            i++;
        }
        t->nrenames = i;
    }
    for (size_t i = 0; i < t->nkey; i++)
        for (size_t k = 0; k < t->nignore; k++)
            if (strcmp(t->key[i], t->ignore[k]) == 0) {
                snprintf(ptr, sizeof ptr, "%s/ignore/%zu", pointer, k);
                return perr(p, ptr, "key column '%s' cannot be ignored", t->key[i]);
            }
    return 0;
}

int dbdiff_map_parse(const char *text, size_t len, const char *source, struct dbdiff_map **out,
                     struct error *err)
{
    static const char *const allowed[] = {"version", "ignore_columns", "tables", NULL};
    struct dbdiff_map *m = calloc(1, sizeof *m);
    struct parser p = {m, err};
    json_error_t jerr;
    json_t *root = NULL, *v;
    int rc = 0;

    *out = NULL;
    if (!m)
        return error_set(err, ERR_NOMEM, "out of memory reading %s", source);
    arena_init(&m->arena, 0);
    m->source = arena_strdup(&m->arena, source);
    m->text = arena_strndup(&m->arena, text, len);
    m->len = len;
    if (!m->source || !m->text) {
        rc = nomem(&p);
        goto out;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = error_set(err, ERR_INPUT, "%s:%d:%d: %s; expected a JSON map file "
                       "(see docs/dbdiff-map-format.md)",
                       source, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        rc = perr(&p, "", "expected a JSON object with \"version\" and \"tables\"");
        goto out;
    }
    if ((rc = check_members(&p, root, "", allowed, "'version', 'ignore_columns' or 'tables'")))
        goto out;
    if ((v = json_object_get(root, "version")) &&
        (!json_is_integer(v) || json_integer_value(v) != MAP_VERSION)) {
        rc = perr(&p, "/version", "unsupported version; this rehearse reads version %d",
                  MAP_VERSION);
        goto out;
    }
    if ((v = json_object_get(root, "ignore_columns")) &&
        (rc = string_list(&p, v, "/ignore_columns", true, &m->ignore, &m->nignore)))
        goto out;
    if ((v = json_object_get(root, "tables"))) {
        const char *name;
        json_t *entry;
        size_t n = json_object_size(v);
        if (!json_is_object(v)) {
            rc = perr(&p, "/tables", "expected an object {\"table\": {...}, ...}");
            goto out;
        }
        m->tables = arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->tables);
        if (!m->tables) {
            rc = nomem(&p);
            goto out;
        }
        json_object_foreach(v, name, entry) {
            if ((rc = parse_table(&p, name, entry, &m->tables[m->ntables])))
                goto out;
            m->ntables++;
        }
    }
    *out = m;
    m = NULL;
out:
    json_decref(root);
    dbdiff_map_free(m);
    return rc;
}

int dbdiff_map_load(const char *path, struct dbdiff_map **out, struct error *err)
{
    char *text;
    size_t len;
    int rc;

    *out = NULL;
    if ((rc = file_read_text(path, DBDIFF_MAP_MAX_BYTES, "map file", &text, &len, err))) {
        /* A map that cannot be opened is a wrong argument, not a broken machine. */
        if (rc == ERR_IO && err)
            err->code = rc = ERR_INPUT;
        return rc;
    }
    rc = dbdiff_map_parse(text, len, path, out, err);
    free(text);
    return rc;
}

void dbdiff_map_free(struct dbdiff_map *m)
{
    if (!m)
        return;
    arena_release(&m->arena);
    free(m);
}

const struct dbdiff_map_table *dbdiff_map_find(const struct dbdiff_map *m, const char *name)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->ntables; i++)
        if (strcmp(m->tables[i].name, name) == 0)
            return &m->tables[i];
    return NULL;
}
