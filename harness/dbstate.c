#include "dbstate.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_locate.h"
#include "jsonw.h"
#include "sha256.h"

#define SQL_MAX (64u << 20)
#define SNAPSHOT_FORMAT "rehearse-snapshot"
#define SNAPSHOT_VERSION 1

/* Seed of the snapshot row hash; changing it changes every checksum. */
#define SNAPSHOT_MIX_SEED "2654435761"

/* ---- names and SQL text ------------------------------------------------- */

char *dbstate_display_name(struct arena *a, const char *schema, const char *name)
{
    if (strcmp(schema, "public") == 0)
        return arena_strdup(a, name);
    size_t sl = strlen(schema), nl = strlen(name);
    char *out = arena_alloc(a, sl + nl + 2);
    if (!out)
        return NULL;
    memcpy(out, schema, sl);
    out[sl] = '.';
    memcpy(out + sl + 1, name, nl + 1);
    return out;
}

int dbsql_ident(struct buf *b, const char *name)
{
    int rc = buf_append_char(b, '"');
    for (const char *p = name; !rc && *p; p++) {
        if (*p == '"')
            rc = buf_append_char(b, '"');
        if (!rc)
            rc = buf_append_char(b, *p);
    }
    return rc ? rc : buf_append_char(b, '"');
}

/* Types hashed as themselves: their hash is typed, portable between
 * databases and servers, and equal across the types of one kind. */
static const struct {
    const char *type, *kind, *array_kind;
} hash_kinds[] = {
    {"int2", "int", "int[]"},         {"int4", "int", "int[]"},
    {"int8", "int", "int[]"},         {"text", "text", "text[]"},
    {"varchar", "text", "text[]"},    {"name", "name", "name[]"},
    {"bpchar", "bpchar", "bpchar[]"}, {"char", "char", "char[]"},
    {"numeric", "numeric", "numeric[]"}, {"float4", "float", "float[]"},
    {"float8", "float", "float[]"},   {"bool", "bool", "bool[]"},
    {"date", "date", "date[]"},       {"time", "time", "time[]"},
    {"timetz", "timetz", "timetz[]"}, {"timestamp", "timestamp", "timestamp[]"},
    {"timestamptz", "timestamptz", "timestamptz[]"},
    {"interval", "interval", "interval[]"}, {"uuid", "uuid", "uuid[]"},
    {"bytea", "bytea", "bytea[]"},    {"jsonb", "jsonb", "jsonb[]"},
    {"inet", "inet", "inet[]"},       {"cidr", "cidr", "cidr[]"},
    {"macaddr", "macaddr", "macaddr[]"}, {"macaddr8", "macaddr8", "macaddr8[]"},
    {"oid", "oid", "oid[]"},          {"pg_lsn", "pg_lsn", "pg_lsn[]"},
};

const char *dbstate_hash_kind(const char *base_type, const char *elem_type)
{
    const char *t = elem_type && *elem_type ? elem_type : base_type;
    if (!t)
        return NULL;
    for (size_t i = 0; i < sizeof hash_kinds / sizeof hash_kinds[0]; i++)
        if (strcmp(hash_kinds[i].type, t) == 0)
            return elem_type && *elem_type ? hash_kinds[i].array_kind : hash_kinds[i].kind;
    return NULL;
}

int dbsql_hash_input(struct buf *b, const char *col_sql, const char *kind)
{
    int rc = buf_append_str(b, col_sql);
    return rc ? rc : kind ? 0 : buf_append_str(b, "::text");
}

/*
 * The hash function called for a value of each kind, and the cast its
 * argument needs.  Calling the type's own function directly is a third
 * cheaper than hash_record_extended(ROW(...)), which builds a tuple per
 * row.  timestamptz goes through timestamp: every session of ours runs with
 * timezone = UTC (dbconn.c), so that is the instant in UTC.
 */
static const struct {
    const char *kind, *fn, *cast;
} column_hash_fns[] = {
    {"int", "hashint8extended", "::int8"},     {"text", "hashtextextended", ""},
    {"name", "hashnameextended", ""},          {"bpchar", "hashbpcharextended", ""},
    {"char", "hashcharextended", ""},          {"numeric", "hash_numeric_extended", ""},
    {"float", "hashfloat8extended", "::float8"}, {"bool", "hashint4extended", "::int4"},
    {"time", "time_hash_extended", ""},        {"timetz", "timetz_hash_extended", ""},
    {"timestamp", "timestamp_hash_extended", ""},
    {"timestamptz", "timestamp_hash_extended", "::timestamp"},
    {"interval", "interval_hash_extended", ""}, {"uuid", "uuid_hash_extended", ""},
    {"jsonb", "jsonb_hash_extended", ""},      {"inet", "hashinetextended", ""},
    {"cidr", "hashinetextended", ""},          {"macaddr", "hashmacaddrextended", ""},
    {"macaddr8", "hashmacaddr8extended", ""},  {"oid", "hashoidextended", ""},
    {"pg_lsn", "pg_lsn_hash_extended", ""},
};

int dbsql_column_hash(struct buf *b, const char *col_sql, const char *kind, unsigned position)
{
    /* Per-position seeds and NULL stand-ins: the same value in two columns,
     * or a NULL in two columns, hashes differently. */
    uint64_t seed = 0x9E3779B97F4A7C15ull * (position + 1) ^ 0x5245484541525345ull;
    uint64_t null = 0xC2B2AE3D27D4EB4Full * (position + 1) ^ 0x4E554C4C4E554C4Cull;
    const char *fn = "hash_record_extended", *cast = "", *open = "ROW(", *close = ")";
    size_t klen = kind ? strlen(kind) : 0;

    if (!kind) {
        fn = "hashtextextended";
        cast = "::text";
        open = close = "";
    } else if (klen > 2 && strcmp(kind + klen - 2, "[]") == 0) {
        fn = "hash_array_extended";
        open = close = "";
    } else {
        for (size_t i = 0; i < sizeof column_hash_fns / sizeof column_hash_fns[0]; i++)
            if (strcmp(column_hash_fns[i].kind, kind) == 0) {
                fn = column_hash_fns[i].fn;
                cast = column_hash_fns[i].cast;
                open = close = "";
            }
    }
    return buf_printf(b, "coalesce(pg_catalog.%s(%s(%s)%s%s, %" PRId64 "), %" PRId64 ")", fn, open,
                      col_sql, cast, close, (int64_t)seed, (int64_t)null);
}

/* ---- catalog queries ---------------------------------------------------- */

/* The user's schemas, and what extensions own (left out everywhere). */
#define USER_NAMESPACES                                                                      \
    "ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace "                              \
    "       WHERE nspname <> 'information_schema' AND nspname !~ '^pg_'), "                 \
    "ext AS (SELECT classid, objid FROM pg_catalog.pg_depend WHERE deptype = 'e') "

/* From a type t: its domain-resolved base type bt and bt's element et (when
 * bt is an array), each named only when it lives in pg_catalog. */
#define TYPE_JOINS(type_oid)                                                                 \
    "LEFT JOIN pg_catalog.pg_type t ON t.oid = " type_oid " "                               \
    "LEFT JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype "  \
    "                                          ELSE t.oid END "                              \
    "LEFT JOIN pg_catalog.pg_type et ON et.oid = bt.typelem "                               \
    "     AND bt.typsubscript = 'pg_catalog.array_subscript_handler'::regproc "
#define TYPE_NAMES                                                                           \
    "CASE WHEN bt.typnamespace = 'pg_catalog'::regnamespace THEN bt.typname::text END, "    \
    "CASE WHEN et.typnamespace = 'pg_catalog'::regnamespace THEN et.typname::text "         \
    "     WHEN et.oid IS NOT NULL THEN '?' END "

const char DBSTATE_TABLES_SQL[] =
    "WITH " USER_NAMESPACES
    "SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::int8, a.attname, "
    "       pg_catalog.format_type(a.atttypid, a.atttypmod), " TYPE_NAMES ", "
    "       coalesce(pg_catalog.array_position(pk.conkey, a.attnum), 0) "
    "FROM pg_catalog.pg_class c JOIN ns n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
    "     AND NOT a.attisdropped "
    TYPE_JOINS("a.atttypid")
    "LEFT JOIN pg_catalog.pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p' "
    "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
    "  AND NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_catalog.pg_class'::regclass "
    "                  AND ext.objid = c.oid) "
    "ORDER BY n.nspname COLLATE \"C\", c.relname COLLATE \"C\", a.attnum";

const char DBSTATE_TYPES_SQL[] =
    "SELECT pg_catalog.format_type(x.oid, nullif(x.typmod, -1)), " TYPE_NAMES
    "FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS x(oid, typmod, ord) "
    TYPE_JOINS("x.oid")
    "ORDER BY x.ord";

/*
 * Every object of the user's schemas as rows (kind, schema, relation,
 * sub-object, owning table, attribute, value); an object is the run of rows
 * with the same first four columns.  Indexes that implement a constraint
 * are left to the constraint, so adding a primary key is one change.
 */
const char DBSTATE_SCHEMA_SQL[] =
    "WITH " USER_NAMESPACES ", "
    "rel AS (SELECT c.oid, c.relname, c.relkind, c.relispartition, ns.nspname "
    "        FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace "
    "        WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = "
    "              'pg_catalog.pg_class'::regclass AND ext.objid = c.oid)) "
    "SELECT kind, nsp, rel, sub, owner, attr, val FROM ("
    " SELECT 'table' AS kind, nspname AS nsp, relname AS rel, '' AS sub, relname AS owner, "
    "        'kind' AS attr, "
    "        CASE WHEN relkind = 'p' THEN 'partitioned table' "
    "             WHEN relispartition THEN 'partition of ' || (SELECT i.inhparent::regclass::text "
    "                  FROM pg_catalog.pg_inherits i WHERE i.inhrelid = rel.oid) "
    "             ELSE 'table' END AS val "
    " FROM rel WHERE relkind IN ('r', 'p') "
    " UNION ALL "
    " SELECT 'column', r.nspname, r.relname, a.attname, r.relname, x.attr, x.val "
    " FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 "
    "      AND NOT a.attisdropped "
    " LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    " CROSS JOIN LATERAL (VALUES "
    "   ('type', pg_catalog.format_type(a.atttypid, a.atttypmod)), "
    "   ('nullable', CASE WHEN a.attnotnull THEN 'false' ELSE 'true' END), "
    "   ('default', CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END), "
    "   ('generated', CASE WHEN a.attgenerated <> '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END), "
    "   ('identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END), "
    "   ('collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> (SELECT t.typcollation "
    "         FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid) THEN (SELECT co.collname::text "
    "         FROM pg_catalog.pg_collation co WHERE co.oid = a.attcollation) END) "
    " ) AS x(attr, val) "
    " WHERE r.relkind IN ('r', 'p') AND x.val IS NOT NULL "
    " UNION ALL "
    " SELECT CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' "
    "        WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key' ELSE 'exclusion' END, "
    "        r.nspname, r.relname, co.conname, r.relname, 'definition', "
    "        pg_catalog.pg_get_constraintdef(co.oid, true) "
    " FROM pg_catalog.pg_constraint co JOIN rel r ON r.oid = co.conrelid "
    " WHERE co.contype IN ('p', 'u', 'c', 'f', 'x') "
    " UNION ALL "
    " SELECT 'index', i.nspname, i.relname, '', t.relname, 'definition', "
    "        pg_catalog.pg_get_indexdef(i.oid) "
    " FROM rel i JOIN pg_catalog.pg_index ix ON ix.indexrelid = i.oid "
    " JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid "
    " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co WHERE co.conindid = i.oid "
    "                   AND co.contype IN ('p', 'u', 'x')) "
    " UNION ALL "
    " SELECT CASE relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, nspname, "
    "        relname, '', NULL, 'definition', pg_catalog.pg_get_viewdef(oid, true) "
    " FROM rel WHERE relkind IN ('v', 'm') "
    " UNION ALL "
    " SELECT 'sequence', r.nspname, r.relname, '', NULL, x.attr, x.val "
    " FROM rel r JOIN pg_catalog.pg_sequence s ON s.seqrelid = r.oid "
    " CROSS JOIN LATERAL (VALUES ('type', pg_catalog.format_type(s.seqtypid, NULL)), "
    "   ('start', s.seqstart::text), ('increment', s.seqincrement::text), "
    "   ('min', s.seqmin::text), ('max', s.seqmax::text), ('cache', s.seqcache::text), "
    "   ('cycle', CASE WHEN s.seqcycle THEN 'true' ELSE 'false' END)) AS x(attr, val) "
    " UNION ALL "
    " SELECT 'trigger', r.nspname, r.relname, tg.tgname, r.relname, 'definition', "
    "        pg_catalog.pg_get_triggerdef(tg.oid, true) "
    " FROM pg_catalog.pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid WHERE NOT tg.tgisinternal "
    " UNION ALL "
    " SELECT 'enum', ns.nspname, t.typname, '', NULL, 'labels', "
    "        (SELECT pg_catalog.string_agg(e.enumlabel::text, ', ' ORDER BY e.enumsortorder) "
    "         FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) "
    " FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace "
    " WHERE t.typtype = 'e' AND NOT EXISTS (SELECT 1 FROM ext WHERE "
    "       ext.classid = 'pg_catalog.pg_type'::regclass AND ext.objid = t.oid) "
    " UNION ALL "
    " SELECT 'function', ns.nspname, p.proname || '(' || "
    "        pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', '', NULL, x.attr, x.val "
    " FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace "
    " CROSS JOIN LATERAL (VALUES ('returns', pg_catalog.pg_get_function_result(p.oid)), "
    "   ('definition md5', pg_catalog.md5(pg_catalog.pg_get_functiondef(p.oid)))) AS x(attr, val) "
    " WHERE p.prokind IN ('f', 'p') AND NOT EXISTS (SELECT 1 FROM ext WHERE "
    "       ext.classid = 'pg_catalog.pg_proc'::regclass AND ext.objid = p.oid) "
    ") o "
    "ORDER BY kind COLLATE \"C\", nsp COLLATE \"C\", rel COLLATE \"C\", sub COLLATE \"C\", "
    "         attr COLLATE \"C\"";

/* ---- catalog ------------------------------------------------------------ */

static const char *value_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static int cmp_tables(const void *a, const void *b)
{
    return strcmp(((const struct dbtable *)a)->display, ((const struct dbtable *)b)->display);
}

int dbcatalog_load(struct dbcatalog *cat, PGresult *res, struct error *err)
{
    int rows = PQntuples(res);
    size_t nt = 0;

    arena_init(&cat->arena, 0);
    cat->ntables = 0;
    cat->tables = NULL;
    if (PQnfields(res) != 9)
        return error_set(err, ERR_STATE, "table catalog query returned %d columns", PQnfields(res));
    for (int i = 0; i < rows; i++)
        if (i == 0 || strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i - 1, 0)) ||
            strcmp(PQgetvalue(res, i, 1), PQgetvalue(res, i - 1, 1)))
            nt++;
    cat->tables = arena_alloc(&cat->arena, (nt ? nt : 1) * sizeof *cat->tables);
    if (!cat->tables)
        goto nomem;
    for (int i = 0; i < rows;) {
        struct dbtable *t = &cat->tables[cat->ntables++];
        int end = i + 1;
        while (end < rows && !strcmp(PQgetvalue(res, end, 0), PQgetvalue(res, i, 0)) &&
               !strcmp(PQgetvalue(res, end, 1), PQgetvalue(res, i, 1)))
            end++;
        memset(t, 0, sizeof *t);
        t->schema = arena_strdup(&cat->arena, PQgetvalue(res, i, 0));
        t->name = arena_strdup(&cat->arena, PQgetvalue(res, i, 1));
        t->display = t->schema && t->name ? dbstate_display_name(&cat->arena, t->schema, t->name)
                                          : NULL;
        t->relkind = PQgetvalue(res, i, 2)[0];
        t->est_rows = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        t->cols = arena_alloc(&cat->arena, (size_t)(end - i) * sizeof *t->cols);
        if (!t->display || !t->cols)
            goto nomem;
        for (int j = i; j < end; j++) {
            if (PQgetisnull(res, j, 4))
                continue; /* a table without columns */
            struct dbcolumn *col = &t->cols[t->ncols++];
            col->name = arena_strdup(&cat->arena, PQgetvalue(res, j, 4));
            col->type = arena_strdup(&cat->arena, PQgetvalue(res, j, 5));
            col->kind = dbstate_hash_kind(value_or_null(res, j, 6), value_or_null(res, j, 7));
            col->key_pos = atoi(PQgetvalue(res, j, 8));
            if (!col->name || !col->type)
                goto nomem;
            if (col->key_pos > 0)
                t->npk++;
        }
        i = end;
    }
    qsort(cat->tables, cat->ntables, sizeof *cat->tables, cmp_tables);
    return 0;
nomem:
    dbcatalog_release(cat);
    return error_set(err, ERR_NOMEM, "out of memory reading the table catalog");
}

void dbcatalog_release(struct dbcatalog *cat)
{
    if (!cat)
        return;
    arena_release(&cat->arena);
    cat->tables = NULL;
    cat->ntables = 0;
}

const struct dbtable *dbcatalog_find(const struct dbcatalog *cat, const char *display)
{
    struct dbtable key = {.display = (char *)display};
    if (!cat->ntables)
        return NULL;
    return bsearch(&key, cat->tables, cat->ntables, sizeof key, cmp_tables);
}

/* ---- schema ------------------------------------------------------------- */

static int cmp_objects(const void *a, const void *b)
{
    const struct dbobject *x = a, *y = b;
    int c = strcmp(x->kind, y->kind);
    return c ? c : strcmp(x->name, y->name);
}

static bool same_object(PGresult *res, int a, int b)
{
    for (int col = 0; col < 4; col++)
        if (strcmp(PQgetvalue(res, a, col), PQgetvalue(res, b, col)))
            return false;
    return true;
}

int dbschema_load(struct dbschema *s, PGresult *res, struct error *err)
{
    int rows = PQntuples(res);
    size_t n = 0;

    arena_init(&s->arena, 0);
    s->count = 0;
    s->objects = NULL;
    if (PQnfields(res) != 7)
        return error_set(err, ERR_STATE, "schema query returned %d columns", PQnfields(res));
    for (int i = 0; i < rows; i++)
        if (i == 0 || !same_object(res, i, i - 1))
            n++;
    s->objects = arena_alloc(&s->arena, (n ? n : 1) * sizeof *s->objects);
    if (!s->objects)
        goto nomem;
    for (int i = 0; i < rows;) {
        struct dbobject *o = &s->objects[s->count++];
        int end = i + 1;
        while (end < rows && same_object(res, end, i))
            end++;
        const char *nsp = PQgetvalue(res, i, 1), *rel = PQgetvalue(res, i, 2);
        const char *sub = PQgetvalue(res, i, 3);
        char *base = dbstate_display_name(&s->arena, nsp, rel);
        if (!base)
            goto nomem;
        o->kind = arena_strdup(&s->arena, PQgetvalue(res, i, 0));
        if (*sub) {
            size_t bl = strlen(base), sl = strlen(sub);
            char *name = arena_alloc(&s->arena, bl + sl + 2);
            if (!name)
                goto nomem;
            memcpy(name, base, bl);
            name[bl] = '.';
            memcpy(name + bl + 1, sub, sl + 1);
            o->name = name;
        } else {
            o->name = base;
        }
        o->table = PQgetisnull(res, i, 4)
                       ? NULL
                       : dbstate_display_name(&s->arena, nsp, PQgetvalue(res, i, 4));
        o->nattrs = (size_t)(end - i);
        struct dbattr *attrs = arena_alloc(&s->arena, o->nattrs * sizeof *attrs);
        if (!o->kind || !attrs)
            goto nomem;
        for (int j = i; j < end; j++) {
            attrs[j - i].name = arena_strdup(&s->arena, PQgetvalue(res, j, 5));
            attrs[j - i].value = arena_strdup(&s->arena, value_or_null(res, j, 6));
            if (!attrs[j - i].name)
                goto nomem;
        }
        o->attrs = attrs;
        i = end;
    }
    qsort(s->objects, s->count, sizeof *s->objects, cmp_objects);
    return 0;
nomem:
    dbschema_release(s);
    return error_set(err, ERR_NOMEM, "out of memory reading the schema");
}

void dbschema_release(struct dbschema *s)
{
    if (!s)
        return;
    arena_release(&s->arena);
    s->objects = NULL;
    s->count = 0;
}

static bool nullable_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool attrs_equal(const struct dbobject *a, const struct dbobject *b)
{
    if (a->nattrs != b->nattrs)
        return false;
    for (size_t i = 0; i < a->nattrs; i++)
        if (strcmp(a->attrs[i].name, b->attrs[i].name) ||
            !nullable_equal(a->attrs[i].value, b->attrs[i].value))
            return false;
    return true;
}

static bool wanted(const struct dbobject *o, const char *const *tables, size_t ntables)
{
    if (!tables)
        return true;
    if (!o->table)
        return false;
    for (size_t i = 0; i < ntables; i++)
        if (strcmp(tables[i], o->table) == 0)
            return true;
    return false;
}

int dbschema_diff(const struct dbschema *left, const struct dbschema *right,
                  const char *const *tables, size_t ntables, struct dbschema_change **out,
                  size_t *count, struct error *err)
{
    size_t i = 0, j = 0, n = 0;
    struct dbschema_change *changes = malloc((left->count + right->count + 1) * sizeof *changes);

    *out = NULL;
    *count = 0;
    if (!changes)
        return error_set(err, ERR_NOMEM, "out of memory comparing schemas");
    while (i < left->count || j < right->count) {
        const struct dbobject *l = i < left->count ? &left->objects[i] : NULL;
        const struct dbobject *r = j < right->count ? &right->objects[j] : NULL;
        int c = !l ? 1 : !r ? -1 : cmp_objects(l, r);
        struct dbschema_change ch = {.left = c <= 0 ? l : NULL, .right = c >= 0 ? r : NULL};
        i += c <= 0;
        j += c >= 0;
        ch.type = c < 0 ? DBSCHEMA_REMOVED : c > 0 ? DBSCHEMA_ADDED : DBSCHEMA_CHANGED;
        if (c == 0 && attrs_equal(l, r))
            continue;
        if (!wanted(ch.left ? ch.left : ch.right, tables, ntables))
            continue;
        changes[n++] = ch;
    }
    *out = changes;
    *count = n;
    return 0;
}

/* SHA-256 of NUL-separated fields, as 32 hex digits (the first 128 bits);
 * NULL fields hash as "\x01".  Out of memory gives an all-zero print. */
struct fingerprint {
    struct sha256 *h;
};

static void fp_begin(struct fingerprint *f)
{
    f->h = sha256_new();
}

static void fp_field(struct fingerprint *f, const char *s)
{
    if (f->h)
        sha256_update(f->h, s ? s : "\x01", strlen(s ? s : "\x01") + 1);
}

static void fp_end(struct fingerprint *f, char out[33])
{
    char hex[65];
    if (!f->h || !sha256_final_hex(f->h, hex))
        memset(hex, '0', sizeof hex);
    sha256_free(f->h);
    f->h = NULL;
    memcpy(out, hex, 32);
    out[32] = '\0';
}

void dbschema_fingerprint(const struct dbschema *s, char out[33])
{
    struct fingerprint f;
    fp_begin(&f);
    for (size_t i = 0; i < s->count; i++) {
        fp_field(&f, s->objects[i].kind);
        fp_field(&f, s->objects[i].name);
        for (size_t k = 0; k < s->objects[i].nattrs; k++) {
            fp_field(&f, s->objects[i].attrs[k].name);
            fp_field(&f, s->objects[i].attrs[k].value);
        }
    }
    fp_end(&f, out);
}

/* ---- snapshots ---------------------------------------------------------- */

static int cmp_column_ptrs(const void *a, const void *b)
{
    const struct dbcolumn *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int cmp_snapshot_tables(const void *a, const void *b)
{
    return strcmp(((const struct dbsnapshot_table *)a)->name,
                  ((const struct dbsnapshot_table *)b)->name);
}

/* One SELECT per table, UNION ALL'ed: (ordinal, count, checksum). */
static int snapshot_sql(struct buf *sql, const struct dbtable *const *tables, size_t n,
                        struct dbsnapshot *snap)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct dbtable *t = tables[i];
        const struct dbcolumn **cols = malloc((t->ncols + 1) * sizeof *cols);
        struct fingerprint f;

        if (!cols)
            return ERR_NOMEM;
        for (size_t k = 0; k < t->ncols; k++)
            cols[k] = &t->cols[k];
        qsort(cols, t->ncols, sizeof cols[0], cmp_column_ptrs);
        fp_begin(&f);
        for (size_t k = 0; k < t->ncols; k++) {
            fp_field(&f, cols[k]->name);
            fp_field(&f, cols[k]->type);
        }
        fp_end(&f, snap->tables[i].columns);

        rc = buf_printf(sql, "%sSELECT %zu, count(*), ", i ? " UNION ALL " : "", i);
        if (!rc && t->ncols) {
            rc = buf_append_str(sql, "coalesce(sum(pg_catalog.hashint8extended(" SNAPSHOT_MIX_SEED
                                     ", ");
            for (size_t k = 0; k < t->ncols && !rc; k++) {
                struct buf col;
                buf_init(&col, 1 << 16);
                rc = dbsql_ident(&col, cols[k]->name);
                if (!rc && k)
                    rc = buf_append_str(sql, " # ");
                if (!rc)
                    rc = dbsql_column_hash(sql, col.data, cols[k]->kind, (unsigned)k);
                buf_release(&col);
            }
            if (!rc)
                rc = buf_append_str(sql, ")), 0)::text");
        } else if (!rc) {
            rc = buf_append_str(sql, "'0'");
        }
        if (!rc)
            rc = buf_printf(sql, " FROM %s", t->relkind == 'p' ? "" : "ONLY ");
        if (!rc)
            rc = dbsql_ident(sql, t->schema);
        if (!rc)
            rc = buf_append_char(sql, '.');
        if (!rc)
            rc = dbsql_ident(sql, t->name);
        free(cols);
    }
    return rc;
}

int dbstate_snapshot_conn(struct dbconn *c, const char *const *tables, size_t ntables,
                          int64_t deadline_us, struct dbsnapshot **out, struct error *err)
{
    int64_t start = dbconn_now_us();
    struct dbcatalog cat = {0};
    struct dbschema schema = {0};
    struct dbsnapshot *snap = NULL;
    const struct dbtable **chosen = NULL;
    PGresult *res = NULL;
    struct buf sql;
    size_t n = 0;
    int rc;

    *out = NULL;
    buf_init(&sql, SQL_MAX);
    arena_init(&cat.arena, 0);
    arena_init(&schema.arena, 0);
    if ((rc = dbconn_query(c, DBSTATE_TABLES_SQL, 0, NULL, &res, deadline_us, err)) ||
        (rc = dbcatalog_load(&cat, res, err)))
        goto out;
    PQclear(res);
    res = NULL;
    if ((rc = dbconn_query(c, DBSTATE_SCHEMA_SQL, 0, NULL, &res, deadline_us, err)) ||
        (rc = dbschema_load(&schema, res, err)))
        goto out;
    PQclear(res);
    res = NULL;

    chosen = calloc(cat.ntables + ntables + 1, sizeof *chosen);
    snap = calloc(1, sizeof *snap);
    if (!chosen || !snap) {
        rc = error_set(err, ERR_NOMEM, "out of memory taking a snapshot");
        goto out;
    }
    arena_init(&snap->arena, 0);
    if (tables) {
        for (size_t i = 0; i < ntables; i++) {
            const struct dbtable *t = dbcatalog_find(&cat, tables[i]);
            if (!t) {
                rc = error_set(err, ERR_INPUT, "%s database (%s): no table '%s' to snapshot",
                               c->label, c->where, tables[i]);
                goto out;
            }
            chosen[n++] = t;
        }
    } else {
        for (size_t i = 0; i < cat.ntables; i++)
            chosen[n++] = &cat.tables[i];
    }
    snap->tables = arena_alloc(&snap->arena, (n ? n : 1) * sizeof *snap->tables);
    if (!snap->tables) {
        rc = error_set(err, ERR_NOMEM, "out of memory taking a snapshot");
        goto out;
    }
    snap->ntables = n;
    dbschema_fingerprint(&schema, snap->schema);
    if (n) {
        if (snapshot_sql(&sql, chosen, n, snap)) {
            rc = error_set(err, ERR_TOOBIG, "snapshot query too large (%zu tables)", n);
            goto out;
        }
        if ((rc = dbconn_query(c, sql.data, 0, NULL, &res, deadline_us, err)))
            goto out;
        for (int i = 0; i < PQntuples(res); i++) {
            size_t k = (size_t)strtoull(PQgetvalue(res, i, 0), NULL, 10);
            if (k >= n)
                continue;
            snap->tables[k].rows = strtoll(PQgetvalue(res, i, 1), NULL, 10);
            snap->tables[k].checksum = arena_strdup(&snap->arena, PQgetvalue(res, i, 2));
        }
    }
    for (size_t k = 0; k < n; k++) {
        snap->tables[k].name = arena_strdup(&snap->arena, chosen[k]->display);
        if (!snap->tables[k].name || !snap->tables[k].checksum) {
            rc = error_set(err, ERR_NOMEM, "out of memory taking a snapshot");
            goto out;
        }
    }
    qsort(snap->tables, n, sizeof *snap->tables, cmp_snapshot_tables);
    snap->elapsed_us = dbconn_now_us() - start;
    *out = snap;
    snap = NULL;
out:
    PQclear(res);
    buf_release(&sql);
    free(chosen);
    dbsnapshot_free(snap);
    dbcatalog_release(&cat);
    dbschema_release(&schema);
    return rc;
}

int dbstate_snapshot(const char *conninfo, const char *const *tables, size_t ntables,
                     int64_t deadline_us, struct dbsnapshot **out, struct error *err)
{
    struct dbconn c;
    int rc;

    *out = NULL;
    if ((rc = dbconn_open(&c, "database", conninfo, deadline_us, err)))
        return rc;
    rc = dbstate_snapshot_conn(&c, tables, ntables, deadline_us, out, err);
    dbconn_close(&c);
    return rc;
}

void dbsnapshot_free(struct dbsnapshot *s)
{
    if (!s)
        return;
    arena_release(&s->arena);
    free(s);
}

int dbsnapshot_write_json(const struct dbsnapshot *s, struct buf *out)
{
    int rc = buf_printf(out, "{\"format\":\"" SNAPSHOT_FORMAT "\",\"version\":%d,\"schema\":\"%s\","
                             "\"elapsed_ms\":%.3f,\"tables\":[",
                        SNAPSHOT_VERSION, s->schema, (double)s->elapsed_us / 1000.0);
    for (size_t i = 0; i < s->ntables && !rc; i++) {
        const struct dbsnapshot_table *t = &s->tables[i];
        rc = buf_append_str(out, i ? ",{\"table\":" : "{\"table\":");
        if (!rc)
            rc = jsonw_cstring(out, t->name, 0);
        if (!rc)
            rc = buf_printf(out, ",\"rows\":%lld,\"checksum\":\"%s\",\"columns\":\"%s\"}",
                            (long long)t->rows, t->checksum, t->columns);
    }
    return rc ? rc : buf_append_str(out, "]}");
}

static int snapshot_field_error(const char *text, size_t len, const char *source,
                                const char *pointer, const char *what, struct error *err)
{
    struct json_location loc = {1, 1, 0};
    char shown[256];
    json_locate(text, len, pointer, &loc);
    json_pointer_display(pointer, shown, sizeof shown);
    return error_set(err, ERR_INPUT, "%s:%d:%d: %s%s%s; expected a snapshot written by "
                     "rehearse (docs/dbdiff-format.md)",
                     source, loc.line, loc.column, shown[0] ? shown : "", shown[0] ? ": " : "",
                     what);
}

static bool is_hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

static bool is_decimal(const char *s)
{
    if (!s || !*s)
        return false;
    if (*s == '-')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

int dbsnapshot_read_json(const char *text, size_t len, const char *source,
                         struct dbsnapshot **out, struct error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    struct dbsnapshot *s = NULL;
    char ptr[64];
    int rc = 0;

    *out = NULL;
    if (!root)
        return error_set(err, ERR_INPUT, "%s:%d:%d: %s", source, jerr.line, jerr.column,
                         jerr.text);
    json_t *format = json_object_get(root, "format"), *version = json_object_get(root, "version");
    json_t *schema = json_object_get(root, "schema"), *tables = json_object_get(root, "tables");
    if (!json_is_string(format) || strcmp(json_string_value(format), SNAPSHOT_FORMAT)) {
        rc = snapshot_field_error(text, len, source, "/format", "not \"" SNAPSHOT_FORMAT "\"",
                                  err);
        goto out;
    }
    if (!json_is_integer(version) || json_integer_value(version) != SNAPSHOT_VERSION) {
        rc = snapshot_field_error(text, len, source, "/version", "unsupported version", err);
        goto out;
    }
    if (!is_hex32(json_string_value(schema))) {
        rc = snapshot_field_error(text, len, source, "/schema", "not a 32-digit fingerprint",
                                  err);
        goto out;
    }
    if (!json_is_array(tables)) {
        rc = snapshot_field_error(text, len, source, "/tables", "not an array", err);
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        rc = error_set(err, ERR_NOMEM, "out of memory reading a snapshot");
        goto out;
    }
    arena_init(&s->arena, 0);
    snprintf(s->schema, sizeof s->schema, "%s", json_string_value(schema));
    json_t *elapsed = json_object_get(root, "elapsed_ms");
    s->elapsed_us = json_is_number(elapsed) ? (int64_t)(json_number_value(elapsed) * 1000) : 0;
    s->ntables = json_array_size(tables);
    s->tables = arena_alloc(&s->arena, (s->ntables ? s->ntables : 1) * sizeof *s->tables);
    if (!s->tables) {
        rc = error_set(err, ERR_NOMEM, "out of memory reading a snapshot");
        goto out;
    }
    for (size_t i = 0; i < s->ntables; i++) {
        json_t *t = json_array_get(tables, i);
        json_t *name = json_object_get(t, "table"), *rows = json_object_get(t, "rows");
        json_t *sum = json_object_get(t, "checksum"), *cols = json_object_get(t, "columns");
        const char *bad = !json_is_string(name) ? "table"
                          : !json_is_integer(rows) || json_integer_value(rows) < 0 ? "rows"
                          : !is_decimal(json_string_value(sum)) ? "checksum"
                          : !is_hex32(json_string_value(cols)) ? "columns" : NULL;
        if (bad) {
            snprintf(ptr, sizeof ptr, "/tables/%zu/%s", i, bad);
            rc = snapshot_field_error(text, len, source, ptr, "missing or malformed", err);
            goto out;
        }
        s->tables[i].name = arena_strdup(&s->arena, json_string_value(name));
        s->tables[i].rows = json_integer_value(rows);
        s->tables[i].checksum = arena_strdup(&s->arena, json_string_value(sum));
        snprintf(s->tables[i].columns, sizeof s->tables[i].columns, "%s",
                 json_string_value(cols));
        if (!s->tables[i].name || !s->tables[i].checksum) {
            rc = error_set(err, ERR_NOMEM, "out of memory reading a snapshot");
            goto out;
        }
    }
    qsort(s->tables, s->ntables, sizeof *s->tables, cmp_snapshot_tables);
    *out = s;
    s = NULL;
out:
    dbsnapshot_free(s);
    json_decref(root);
    return rc;
}

int dbsnapshot_compare(const struct dbsnapshot *before, const struct dbsnapshot *after,
                       struct dbsnapshot_delta **out, size_t *count, bool *schema_changed,
                       struct error *err)
{
    size_t i = 0, j = 0, n = 0;
    struct dbsnapshot_delta *d = malloc((before->ntables + after->ntables + 1) * sizeof *d);

    *out = NULL;
    *count = 0;
    *schema_changed = strcmp(before->schema, after->schema) != 0;
    if (!d)
        return error_set(err, ERR_NOMEM, "out of memory comparing snapshots");
    while (i < before->ntables || j < after->ntables) {
        const struct dbsnapshot_table *b = i < before->ntables ? &before->tables[i] : NULL;
        const struct dbsnapshot_table *a = j < after->ntables ? &after->tables[j] : NULL;
        int c = !b ? 1 : !a ? -1 : strcmp(b->name, a->name);
        i += c <= 0;
        j += c >= 0;
        if (c == 0 && b->rows == a->rows && !strcmp(b->checksum, a->checksum) &&
            !strcmp(b->columns, a->columns))
            continue;
        d[n].before = c <= 0 ? b : NULL;
        d[n].after = c >= 0 ? a : NULL;
        d[n].table = d[n].before ? d[n].before->name : d[n].after->name;
        n++;
    }
    *out = d;
    *count = n;
    return 0;
}
