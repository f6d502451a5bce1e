#include "dbdiff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

/* Seed of the final mix of a row hash (column seeds: dbsql_column_hash).
 * Both sides use the same; changing it changes only the checksums. */
#define SEED_MIX "2654435761"

/*
 * The first level has at most 2^12 buckets: the server's hash aggregate
 * then stays in the CPU cache, and the scan runs ~15% faster than with
 * 2^15 buckets (measured on 1M rows: 450 ms against 540 ms), which pays for
 * ~250 rows per differing bucket (refined or fetched).  Large tables get their finer
 * grain from refinement, over the differing buckets only.
 */
#define ROWS_PER_BUCKET 32       /* aim of the first level, for small tables */
#define MIN_BITS 8
#define MAX_BITS 12
#define UNKNOWN_SIZE_BITS MAX_BITS /* projections: no statistics */
/* Refine while the differing buckets hold more rows than this (both sides):
 * one more scan (key hashes for every row, row hashes for those buckets'
 * rows only) costs about as much as fetching 100,000 rows per side. */
#define REFINE_MIN_ROWS 200000
/* With key ranges a finer level reads only the differing ranges, through
 * the index: refining is cheap, and pays as soon as a few thousand rows
 * would be fetched. */
#define REFINE_MIN_ROWS_RANGES 2000
#define REFINE_STEP_BITS 6       /* each level has 64 times more buckets */
#define MAX_LEVELS 4
#define GROUP_MAX 10000          /* rows sharing one key value (a non-unique --key) */
#define SQL_MAX (256u << 20)

/* ---- plans -------------------------------------------------------------- */

struct side {
    struct dbconn *c;
    const struct dbtable *table;  /* NULL for a query or an absent table */
    const char *query;            /* projection, or NULL */
    const char *query_pointer;    /* where the query is in the map */
    char *source;                 /* SQL FROM item */
    const char **colnames;        /* the side's name of each canonical column */
    const char **kinds;           /* the side's hash kind of each canonical column */
    /* All columns of the side (from the catalog or the query's shape). */
    size_t nall;
    const char **all_names, **all_types, **all_kinds;
};

struct plan {
    struct dbdiff_table *t;
    struct side side[2];
    size_t nall;                  /* nkey + ncols */
    const char **names;           /* canonical, keys first */
    const char **kinds;           /* effective kinds (NULL: text form) */
    bool keyed;
    bool ranged;                  /* buckets are key ranges (see sql_bucket) */
    int64_t est_rows;
};

struct run {
    const struct dbdiff_options *o;
    struct dbdiff_result *res;
    struct dbconn conn[2];
    struct dbcatalog cat[2];
    struct arena scratch;         /* plans; freed at the end of the run */
    int64_t deadline;
    struct error *err;
};

static const char *const SIDE_NAME[2] = {"left", "right"};

void dbdiff_options_init(struct dbdiff_options *o)
{
    memset(o, 0, sizeof *o);
    o->schema = true;
    o->rows = true;
    o->max_examples = DBDIFF_DEFAULT_MAX_EXAMPLES;
    o->max_rows = DBDIFF_DEFAULT_MAX_ROWS;
}

const char *dbdiff_status_name(enum dbdiff_status s)
{
    switch (s) {
    case DBDIFF_SAME: return "same";
    case DBDIFF_DIFFERENT: return "different";
    case DBDIFF_ONLY_LEFT: return "only_left";
    case DBDIFF_ONLY_RIGHT: return "only_right";
    case DBDIFF_SKIPPED: return "skipped";
    case DBDIFF_INCOMPLETE: return "incomplete";
    }
    return "?";
}

static int nomem(struct run *run)
{
    return error_set(run->err, ERR_NOMEM, "out of memory comparing databases");
}

static int cmp_str_ptrs(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static const struct dbdiff_key *cli_key(const struct dbdiff_options *o, const char *table)
{
    for (size_t i = 0; i < o->nkeys; i++)
        if (strcmp(o->keys[i].table, table) == 0)
            return &o->keys[i];
    return NULL;
}

/* The canonical name of a right-side column under the map's renames, or
 * NULL when the column was renamed away (its left name maps elsewhere). */
static const char *canonical_right(const struct dbdiff_map_table *e, const char *right_name)
{
    if (!e)
        return right_name;
    for (size_t i = 0; i < e->nrenames; i++)
        if (strcmp(e->rename_right[i], right_name) == 0)
            return e->rename_left[i];
    for (size_t i = 0; i < e->nrenames; i++)
        if (strcmp(e->rename_left[i], right_name) == 0)
            return NULL;
    return right_name;
}

static const char *right_name_of(const struct dbdiff_map_table *e, const char *canonical)
{
    if (e)
        for (size_t i = 0; i < e->nrenames; i++)
            if (strcmp(e->rename_left[i], canonical) == 0)
                return e->rename_right[i];
    return canonical;
}

static int side_find(const struct side *s, const char *name)
{
    for (size_t i = 0; i < s->nall; i++)
        if (strcmp(s->all_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* SQL text of a FROM item for a table. */
static char *table_source(struct arena *a, const struct dbtable *t)
{
    struct buf b;
    char *out = NULL;
    buf_init(&b, 1 << 16);
    if (!buf_append_str(&b, t->relkind == 'p' ? "" : "ONLY ") && !dbsql_ident(&b, t->schema) &&
        !buf_append_char(&b, '.') && !dbsql_ident(&b, t->name))
        out = arena_strdup(a, b.data);
    buf_release(&b);
    return out;
}

/* Describe a projection query: its columns' names, types and hash kinds. */
static int describe_query(struct run *run, struct side *s, int which)
{
    struct buf sql, oids, mods;
    PGresult *shape = NULL, *types = NULL;
    int rc;

    buf_init(&sql, SQL_MAX);
    buf_init(&oids, 1 << 20);
    buf_init(&mods, 1 << 20);
    if (buf_printf(&sql, "SELECT * FROM (%s\n) AS src LIMIT 0", s->query)) {
        rc = nomem(run);
        goto out;
    }
    if ((rc = dbconn_query(s->c, sql.data, 0, NULL, &shape, run->deadline, run->err))) {
        if (rc == ERR_DATABASE && PQstatus(s->c->pg) == CONNECTION_OK) {
            char msg[ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", run->err->message);
            rc = dbdiff_map_error(run->o->map, s->query_pointer, run->err,
                                  "the %s query cannot be run: %s", SIDE_NAME[which], msg);
        }
        goto out;
    }
    int n = PQnfields(shape);
    s->nall = (size_t)n;
    s->all_names = arena_alloc(&run->scratch, ((size_t)n + 1) * sizeof *s->all_names);
    s->all_types = arena_alloc(&run->scratch, ((size_t)n + 1) * sizeof *s->all_types);
    s->all_kinds = arena_alloc(&run->scratch, ((size_t)n + 1) * sizeof *s->all_kinds);
    if (!s->all_names || !s->all_types || !s->all_kinds) {
        rc = nomem(run);
        goto out;
    }
    rc = buf_append_char(&oids, '{') || buf_append_char(&mods, '{');
    for (int i = 0; i < n && !rc; i++) {
        const char *name = PQfname(shape, i);
        for (int k = 0; k < i; k++)
            if (strcmp(name, s->all_names[k]) == 0) {
                rc = dbdiff_map_error(run->o->map, s->query_pointer, run->err,
                                      "the %s query returns two columns named '%s'; give "
                                      "each column its own name (AS ...)",
                                      SIDE_NAME[which], name);
                goto out;
            }
        s->all_names[i] = arena_strdup(&run->scratch, name);
        if (!s->all_names[i] ||
            buf_printf(&oids, "%s%u", i ? "," : "", (unsigned)PQftype(shape, i)) ||
            buf_printf(&mods, "%s%d", i ? "," : "", PQfmod(shape, i))) {
            rc = nomem(run);
            goto out;
        }
    }
    if (rc || buf_append_char(&oids, '}') || buf_append_char(&mods, '}')) {
        rc = nomem(run);
        goto out;
    }
    const char *params[2] = {oids.data, mods.data};
    if ((rc = dbconn_query(s->c, DBSTATE_TYPES_SQL, 2, params, &types, run->deadline,
                           run->err)))
        goto out;
    if (PQntuples(types) != n) {
        rc = error_set(run->err, ERR_STATE, "type lookup returned %d rows for %d columns",
                       PQntuples(types), n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        s->all_types[i] = arena_strdup(&run->scratch, PQgetvalue(types, i, 0));
        s->all_kinds[i] = dbstate_hash_kind(PQgetisnull(types, i, 1) ? NULL : PQgetvalue(types, i, 1),
                                            PQgetisnull(types, i, 2) ? NULL : PQgetvalue(types, i, 2));
        if (!s->all_types[i]) {
            rc = nomem(run);
            goto out;
        }
    }
out:
    PQclear(shape);
    PQclear(types);
    buf_release(&sql);
    buf_release(&oids);
    buf_release(&mods);
    return rc;
}

static int side_from_table(struct run *run, struct side *s)
{
    const struct dbtable *t = s->table;
    s->nall = t->ncols;
    s->all_names = arena_alloc(&run->scratch, (t->ncols + 1) * sizeof *s->all_names);
    s->all_types = arena_alloc(&run->scratch, (t->ncols + 1) * sizeof *s->all_types);
    s->all_kinds = arena_alloc(&run->scratch, (t->ncols + 1) * sizeof *s->all_kinds);
    s->source = table_source(&run->scratch, t);
    if (!s->all_names || !s->all_types || !s->all_kinds || !s->source)
        return nomem(run);
    for (size_t i = 0; i < t->ncols; i++) {
        s->all_names[i] = t->cols[i].name;
        s->all_types[i] = t->cols[i].type;
        s->all_kinds[i] = t->cols[i].kind;
    }
    return 0;
}

/* Primary key columns of a catalog table, in key order (canonical names
 * for the left, mapped back for the right); NULL when none. */
static const char **pk_columns(struct run *run, const struct dbtable *t,
                               const struct dbdiff_map_table *e, bool right, size_t *n)
{
    const char **cols;
    *n = 0;
    if (!t || !t->npk)
        return NULL;
    cols = arena_alloc(&run->scratch, t->npk * sizeof *cols);
    if (!cols)
        return NULL;
    for (size_t i = 0; i < t->ncols; i++)
        if (t->cols[i].key_pos > 0 && (size_t)t->cols[i].key_pos <= t->npk) {
            const char *name = right ? canonical_right(e, t->cols[i].name) : t->cols[i].name;
            if (!name)
                return NULL;
            cols[t->cols[i].key_pos - 1] = name;
        }
    *n = t->npk;
    return cols;
}

/* Does every key column exist on both sides? */
static bool key_usable(const struct plan *p, const struct dbdiff_map_table *e,
                       const char **key, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (side_find(&p->side[0], key[i]) < 0 ||
            side_find(&p->side[1], right_name_of(e, key[i])) < 0)
            return false;
    return n > 0;
}

static int check_key(struct run *run, struct plan *p, const struct dbdiff_map_table *e,
                     const char *const *key, size_t n, bool from_map)
{
    for (size_t i = 0; i < n; i++)
        for (int w = 0; w < 2; w++) {
            const char *name = w ? right_name_of(e, key[i]) : key[i];
            if (side_find(&p->side[w], name) >= 0)
                continue;
            if (from_map) {
                char ptr[1200];
                snprintf(ptr, sizeof ptr, "%s/key/%zu", e->pointer, i);
                return dbdiff_map_error(run->o->map, ptr, run->err,
                                        "no column '%s' in the %s side of table '%s'", name,
                                        SIDE_NAME[w], p->t->name);
            }
            return error_set(run->err, ERR_INPUT,
                             "--key %s: no column '%s' in the %s side of table '%s'; its "
                             "columns are listed by \\d in psql",
                             p->t->name, name, SIDE_NAME[w], p->t->name);
        }
    return 0;
}

static const char **copy_list(struct arena *a, const char *const *list, size_t n)
{
    const char **out = arena_alloc(a, (n + 1) * sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = arena_strdup(a, list[i])))
            return NULL;
    return out;
}

static int resolve_side(struct run *run, struct plan *p, const struct dbdiff_map_table *e,
                        int w)
{
    const struct dbdiff_map_side *ms = e ? (w ? &e->right : &e->left) : NULL;
    struct side *s = &p->side[w];
    char ptr[1200];

    s->c = &run->conn[w];
    if (ms && ms->query) {
        s->query = ms->query;
        snprintf(ptr, sizeof ptr, "%s/%s/query", e->pointer, SIDE_NAME[w]);
        s->query_pointer = arena_strdup(&run->scratch, ptr);
        struct buf b;
        buf_init(&b, SQL_MAX);
        if (buf_printf(&b, "(%s\n) AS src", ms->query)) {
            buf_release(&b);
            return nomem(run);
        }
        s->source = arena_strdup(&run->scratch, b.data);
        buf_release(&b);
        if (!s->source || !s->query_pointer)
            return nomem(run);
        return describe_query(run, s, w);
    }
    const char *name = ms && ms->table ? ms->table : p->t->name;
    s->table = dbcatalog_find(&run->cat[w], name);
    if (!s->table && ms && ms->table) {
        snprintf(ptr, sizeof ptr, "%s/%s", e->pointer, SIDE_NAME[w]);
        return dbdiff_map_error(run->o->map, ptr, run->err, "no table '%s' in the %s database",
                                name, SIDE_NAME[w]);
    }
    return s->table ? side_from_table(run, s) : 0;
}

/* Decide how to compare one table: sources, columns, key. */
static int plan_table(struct run *run, struct plan *p)
{
    const struct dbdiff_options *o = run->o;
    const struct dbdiff_map_table *e = dbdiff_map_find(o->map, p->t->name);
    struct dbdiff_table *t = p->t;
    struct arena *ra = &run->res->arena;
    char ptr[1200];
    int rc;

    if (e && e->skip) {
        t->status = DBDIFF_SKIPPED;
        t->complete = true;
        t->note = "skipped by the map";
        return 0;
    }
    for (int w = 0; w < 2; w++)
        if ((rc = resolve_side(run, p, e, w)))
            return rc;
    t->left_source = p->side[0].query ? "query" : p->side[0].table ? p->side[0].table->display : NULL;
    t->right_source = p->side[1].query ? "query" : p->side[1].table ? p->side[1].table->display : NULL;
    t->left_source = arena_strdup(ra, t->left_source);
    t->right_source = arena_strdup(ra, t->right_source);
    if (!p->side[0].source && !p->side[1].source)
        return error_set(run->err, ERR_INPUT, "table '%s' exists in neither database; check "
                         "the name (schema.table unless in public)", t->name);
    if (!p->side[0].source || !p->side[1].source) {
        t->status = p->side[0].source ? DBDIFF_ONLY_LEFT : DBDIFF_ONLY_RIGHT;
        t->method = "count";
        return 0;
    }

    /* Map entries must name columns that exist. */
    if (e) {
        for (size_t i = 0; i < e->nrenames; i++)
            for (int w = 0; w < 2; w++) {
                const char *name = w ? e->rename_right[i] : e->rename_left[i];
                if (side_find(&p->side[w], name) < 0) {
                    char columns[1200];
                    scenario_pointer(columns, sizeof columns, e->pointer, "columns");
                    scenario_pointer(ptr, sizeof ptr, columns, e->rename_left[i]);
                    return dbdiff_map_error(o->map, ptr, run->err,
                                            "no column '%s' in the %s side of table '%s'",
                                            name, SIDE_NAME[w], t->name);
                }
            }
        for (size_t i = 0; i < e->nignore; i++)
            if (side_find(&p->side[0], e->ignore[i]) < 0 &&
                side_find(&p->side[1], right_name_of(e, e->ignore[i])) < 0) {
                snprintf(ptr, sizeof ptr, "%s/ignore/%zu", e->pointer, i);
                return dbdiff_map_error(o->map, ptr, run->err,
                                        "no column '%s' on either side of table '%s'",
                                        e->ignore[i], t->name);
            }
    }

    /* The key. */
    const struct dbdiff_key *k = cli_key(o, t->name);
    const char **key = NULL;
    size_t nkey = 0;
    if (k) {
        if ((rc = check_key(run, p, e, k->cols, k->ncols, false)))
            return rc;
        key = (const char **)k->cols;
        nkey = k->ncols;
        t->key_source = "--key";
    } else if (e && e->key) {
        if ((rc = check_key(run, p, e, e->key, e->nkey, true)))
            return rc;
        key = e->key;
        nkey = e->nkey;
        t->key_source = "map";
    } else {
        /* A primary key usable on both sides: the left's, else the right's;
         * for projections, that of the table of the same name. */
        const struct dbtable *lt = p->side[0].table, *rt = p->side[1].table;
        if (!lt && !rt) {
            lt = dbcatalog_find(&run->cat[0], t->name);
            rt = dbcatalog_find(&run->cat[1], t->name);
        }
        key = pk_columns(run, lt, e, false, &nkey);
        if (!key_usable(p, e, key, nkey))
            key = pk_columns(run, rt, e, true, &nkey);
        if (!key_usable(p, e, key, nkey))
            key = NULL, nkey = 0;
        t->key_source = key ? "primary key" : NULL;
    }
    p->keyed = nkey > 0;
    t->method = p->keyed ? "key" : "multiset";
    if (!p->keyed)
        t->note = "no primary key or --key: rows compared as a multiset of whole rows";

    /* Columns: the key, then those on both sides (sorted), minus ignored. */
    const struct side *L = &p->side[0], *R = &p->side[1];
    const char **cols = arena_alloc(&run->scratch, (L->nall + 1) * sizeof *cols);
    const char **only_left = arena_alloc(&run->scratch, (L->nall + 1) * sizeof *cols);
    const char **only_right = arena_alloc(&run->scratch, (R->nall + 1) * sizeof *cols);
    const char **ignored = arena_alloc(&run->scratch, (L->nall + R->nall + 1) * sizeof *cols);
    size_t ncols = 0, nol = 0, nor = 0, nig = 0;
    if (!cols || !only_left || !only_right || !ignored)
        return nomem(run);
    for (size_t i = 0; i < L->nall; i++) {
        const char *name = L->all_names[i];
        if (in_list(key, nkey, name))
            continue;
        bool ignore = (e && in_list(e->ignore, e->nignore, name)) ||
                      in_list(o->map ? o->map->ignore : NULL, o->map ? o->map->nignore : 0, name);
        if (ignore)
            ignored[nig++] = name;
        else if (side_find(R, right_name_of(e, name)) >= 0)
            cols[ncols++] = name;
        else
            only_left[nol++] = name;
    }
    for (size_t i = 0; i < R->nall; i++) {
        const char *canon = canonical_right(e, R->all_names[i]);
        if (canon && (in_list(key, nkey, canon) || side_find(L, canon) >= 0))
            continue;
        const char *name = canon ? canon : R->all_names[i];
        bool ignore = (e && in_list(e->ignore, e->nignore, name)) ||
                      in_list(o->map ? o->map->ignore : NULL, o->map ? o->map->nignore : 0, name);
        if (ignore && !in_list(ignored, nig, name))
            ignored[nig++] = name;
        else if (!ignore)
            only_right[nor++] = R->all_names[i];
    }
    qsort(cols, ncols, sizeof *cols, cmp_str_ptrs);
    qsort(only_left, nol, sizeof *cols, cmp_str_ptrs);
    qsort(only_right, nor, sizeof *cols, cmp_str_ptrs);
    qsort(ignored, nig, sizeof *cols, cmp_str_ptrs);
    for (size_t i = 0; o->map && i < o->map->nignore; i++)
        if (in_list(ignored, nig, o->map->ignore[i]))
            run->res->ignore_hits[i]++;

    t->nkey = nkey;
    t->ncols = ncols;
    t->nonly_left_cols = nol;
    t->nonly_right_cols = nor;
    t->nignored = nig;
    t->key = copy_list(ra, key, nkey);
    t->cols = copy_list(ra, cols, ncols);
    t->cols_right = arena_alloc(ra, (ncols + 1) * sizeof *t->cols_right);
    t->only_left_cols = copy_list(ra, only_left, nol);
    t->only_right_cols = copy_list(ra, only_right, nor);
    t->ignored = copy_list(ra, ignored, nig);
    t->as_text = arena_alloc(ra, (nkey + ncols + 1) * sizeof *t->as_text);
    t->changed_by_col = arena_alloc(ra, (ncols + 1) * sizeof *t->changed_by_col);
    p->nall = nkey + ncols;
    p->names = arena_alloc(&run->scratch, (p->nall + 1) * sizeof *p->names);
    p->kinds = arena_alloc(&run->scratch, (p->nall + 1) * sizeof *p->kinds);
    for (int w = 0; w < 2; w++) {
        p->side[w].colnames = arena_alloc(&run->scratch, (p->nall + 1) * sizeof(char *));
        p->side[w].kinds = arena_alloc(&run->scratch, (p->nall + 1) * sizeof(char *));
    }
    if (!t->key || !t->cols || !t->cols_right || !t->only_left_cols || !t->only_right_cols ||
        !t->ignored || !t->as_text || !t->changed_by_col || !p->names || !p->kinds ||
        !p->side[0].colnames || !p->side[1].colnames || !p->side[0].kinds || !p->side[1].kinds)
        return nomem(run);
    memset(t->changed_by_col, 0, (ncols + 1) * sizeof *t->changed_by_col);
    for (size_t i = 0; i < p->nall; i++) {
        const char *canon = i < nkey ? key[i] : cols[i - nkey];
        p->names[i] = canon;
        for (int w = 0; w < 2; w++) {
            const char *name = w ? right_name_of(e, canon) : canon;
            int at = side_find(&p->side[w], name);
            p->side[w].colnames[i] = name;
            p->side[w].kinds[i] = at >= 0 ? p->side[w].all_kinds[at] : NULL;
        }
        const char *lk = p->side[0].kinds[i], *rk = p->side[1].kinds[i];
        p->kinds[i] = lk && rk && strcmp(lk, rk) == 0 ? lk : NULL;
        t->as_text[i] = p->kinds[i] == NULL;
        if (i >= nkey && !(t->cols_right[i - nkey] = arena_strdup(ra, p->side[1].colnames[i])))
            return nomem(run);
    }
    int64_t est = -1;
    for (int w = 0; w < 2; w++)
        if (p->side[w].table && p->side[w].table->est_rows > est)
            est = p->side[w].table->est_rows;
    p->est_rows = est;
    return 0;
}

/* ---- SQL ---------------------------------------------------------------- */

/* The typed hash of canonical column i on side w (dbsql_column_hash). */
static int sql_col_hash(struct buf *b, const struct plan *p, int w, size_t i)
{
    struct buf id;
    int rc;
    buf_init(&id, 1 << 16);
    rc = dbsql_ident(&id, p->side[w].colnames[i]);
    if (!rc)
        rc = dbsql_column_hash(b, id.data, p->kinds[i], (unsigned)i);
    buf_release(&id);
    return rc;
}

/* The xor of the hashes of canonical columns [from, to). */
static int sql_xor(struct buf *b, const struct plan *p, int w, size_t from, size_t to)
{
    int rc = from == to ? buf_append_str(b, "0::int8") : 0;
    for (size_t i = from; i < to && !rc; i++) {
        if (i > from)
            rc = buf_append_str(b, " # ");
        if (!rc)
            rc = sql_col_hash(b, p, w, i);
    }
    return rc;
}

/* The key hash, which picks the bucket: the combined hash of the key
 * columns (typed, so the compound keys ('1', 11) and ('11', 1) differ);
 * for a multiset, of the whole row. */
static int sql_key_hash(struct buf *b, const struct plan *p, int w)
{
    return sql_xor(b, p, w, 0, p->keyed ? p->t->nkey : p->nall);
}

/* The row hash (keyed): the combined hash of the key and every compared
 * column, mixed to 64 bits so that sums of row hashes are not linear in the
 * column hashes (a value swapped between two rows must show). */
static int sql_row_hash(struct buf *b, const struct plan *p, int w)
{
    int rc = buf_append_str(b, "pg_catalog.hashint8extended(" SEED_MIX ", ");
    rc = rc ? rc : sql_xor(b, p, w, 0, p->nall);
    return rc ? rc : buf_append_char(b, ')');
}

static int sql_mask(struct buf *b, int bits)
{
    return buf_printf(b, "%" PRId64, (int64_t)(((uint64_t)1 << bits) - 1));
}

/*
 * Buckets.  A bucket is either a slice of the key hash, (kh & (2^g - 1)),
 * or — for a single integer primary key on two tables — a range of the key,
 * (key >> g), whose rows the primary key's index finds without a scan.
 * `g` is the grain: finer levels have more hash bits or a smaller shift.
 */
static int sql_bucket(struct buf *b, const struct plan *p, int w, int g)
{
    int rc = buf_append_str(b, "((");
    if (p->ranged) {
        rc = rc ? rc : dbsql_ident(b, p->side[w].colnames[0]);
        rc = rc ? rc : buf_printf(b, ")::int8 >> %d)", g);
    } else {
        rc = rc ? rc : sql_key_hash(b, p, w);
        rc = rc ? rc : buf_append_str(b, ") & ");
        rc = rc ? rc : sql_mask(b, g);
        rc = rc ? rc : buf_append_char(b, ')');
    }
    return rc;
}

/* FROM the side's source, restricted to the buckets listed in $1 (at grain
 * g) when `filtered`.  Key ranges are joined to the table, so each is an
 * index range scan. */
static int sql_from(struct buf *b, const struct plan *p, int w, bool filtered, int g)
{
    int rc;
    if (!filtered)
        return buf_printf(b, " FROM %s", p->side[w].source);
    if (!p->ranged) {
        rc = buf_printf(b, " FROM %s WHERE ", p->side[w].source);
        rc = rc ? rc : sql_bucket(b, p, w, g);
        return rc ? rc : buf_append_str(b, " = ANY($1::int8[])");
    }
    rc = buf_printf(b, " FROM unnest($1::int8[]) AS \"rehearse bucket\"(b) JOIN %s ON ",
                    p->side[w].source);
    rc = rc ? rc : dbsql_ident(b, p->side[w].colnames[0]);
    rc = rc ? rc : buf_printf(b, " BETWEEN (\"rehearse bucket\".b << %d) AND "
                                 "(\"rehearse bucket\".b << %d) + ", g, g);
    return rc ? rc : sql_mask(b, g);
}

/*
 * The bucket query of one level: (bucket, rows, sum of row hashes) ordered
 * by bucket; at finer levels restricted to the sub-buckets of the buckets
 * in $1 (at prev_g).  The OFFSET 0 fence makes the bucket a plain column
 * of a subquery: the planner then guesses few groups and picks a hash
 * aggregate, instead of sorting every row of the table by an expression
 * it believes unique (three times slower).  Multiset plans hash each row
 * once behind a second fence, for the bucket and the checksum.
 */
static int sql_buckets(struct buf *b, const struct plan *p, int w, int g, bool filtered,
                       int prev_g)
{
    int rc = buf_append_str(b, "SELECT b, count(*), sum(r)::text FROM (SELECT ");
    if (p->keyed) {
        rc = rc ? rc : sql_bucket(b, p, w, g);
        rc = rc ? rc : buf_append_str(b, " AS b, ");
        rc = rc ? rc : sql_row_hash(b, p, w);
        rc = rc ? rc : buf_append_str(b, " AS r");
        rc = rc ? rc : sql_from(b, p, w, filtered, prev_g);
    } else {
        rc = rc ? rc : buf_append_str(b, "kh & ");
        rc = rc ? rc : sql_mask(b, g);
        rc = rc ? rc : buf_append_str(b, " AS b, pg_catalog.hashint8extended(" SEED_MIX
                                         ", kh) AS r FROM (SELECT ");
        rc = rc ? rc : sql_key_hash(b, p, w);
        rc = rc ? rc : buf_printf(b, " AS kh FROM %s OFFSET 0) s0", p->side[w].source);
        if (filtered) {
            rc = rc ? rc : buf_append_str(b, " WHERE (kh & ");
            rc = rc ? rc : sql_mask(b, prev_g);
            rc = rc ? rc : buf_append_str(b, ") = ANY($1::int8[])");
        }
    }
    return rc ? rc : buf_append_str(b, " OFFSET 0) s GROUP BY 1 ORDER BY 1");
}

/*
 * The rows of the buckets in $1 (at grain g), ordered by (key hash, row
 * hash): kh, r, the value of every canonical column, then (keyed) the hash
 * of every canonical column, which decides which columns changed.
 */
static int sql_fetch(struct buf *b, const struct plan *p, int w, int g)
{
    int rc = buf_append_str(b, "SELECT ");
    rc = rc ? rc : sql_key_hash(b, p, w);
    rc = rc ? rc : buf_append_str(b, ", ");
    if (p->keyed)
        rc = rc ? rc : sql_row_hash(b, p, w);
    else
        rc = rc ? rc : buf_append_str(b, "0");
    for (size_t i = 0; i < p->nall && !rc; i++) {
        rc = buf_append_str(b, ", ");
        rc = rc ? rc : dbsql_ident(b, p->side[w].colnames[i]);
    }
    for (size_t i = 0; p->keyed && i < p->nall && !rc; i++) {
        rc = buf_append_str(b, ", ");
        rc = rc ? rc : sql_col_hash(b, p, w, i);
    }
    rc = rc ? rc : sql_from(b, p, w, true, g);
    return rc ? rc : buf_append_str(b, " ORDER BY 1, 2");
}

/* ---- running queries ---------------------------------------------------- */

/* A failed query over a map projection is the map's problem: say where. */
static int query_error(struct run *run, const struct plan *p, int rc)
{
    if (rc != ERR_DATABASE)
        return rc;
    for (int w = 0; w < 2; w++)
        if (p->side[w].query && PQstatus(run->conn[w].pg) == CONNECTION_OK &&
            strstr(run->err->message, SIDE_NAME[w]) == run->err->message) {
            char msg[ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", run->err->message);
            return dbdiff_map_error(run->o->map, p->side[w].query_pointer, run->err,
                                    "comparing table '%s' through this query failed: %s",
                                    p->t->name, msg);
        }
    return rc;
}

static void abandon(struct run *run)
{
    for (int w = 0; w < 2; w++)
        dbconn_stream_abandon(&run->conn[w]);
}

/* Start the same-shaped query on both sides. */
static int start_pair(struct run *run, const struct plan *p, struct buf sql[2],
                      const char *param)
{
    int rc;
    for (int w = 0; w < 2; w++)
        if ((rc = dbconn_stream_start(&run->conn[w], sql[w].data, param ? 1 : 0, &param,
                                      run->err))) {
            abandon(run);
            return query_error(run, p, rc);
        }
    return 0;
}

struct stream {
    struct dbconn *c;
    PGresult *row;    /* current row, or NULL at the end */
    int64_t a, b;     /* buckets: (bucket, rows); fetch: (kh, r) */
};

static int stream_next(struct run *run, const struct plan *p, struct stream *s)
{
    int rc = dbconn_stream_next(s->c, &s->row, run->deadline, run->err);
    if (rc < 0)
        return query_error(run, p, rc);
    if (rc > 0) {
        s->a = strtoll(PQgetvalue(s->row, 0, 0), NULL, 10);
        s->b = strtoll(PQgetvalue(s->row, 0, 1), NULL, 10);
    }
    return 0;
}

struct bucket {
    int64_t id, rows[2];
};

struct buckets {
    struct bucket *v;
    size_t n, cap;
    int64_t rows[2];  /* in these buckets */
};

static int buckets_push(struct buckets *bs, int64_t id, int64_t l, int64_t r)
{
    if (bs->n == bs->cap) {
        size_t cap = bs->cap ? bs->cap * 2 : 256;
        struct bucket *v = realloc(bs->v, cap * sizeof *v);
        if (!v)
            return ERR_NOMEM;
        bs->v = v;
        bs->cap = cap;
    }
    bs->v[bs->n++] = (struct bucket){id, {l, r}};
    bs->rows[0] += l;
    bs->rows[1] += r;
    return 0;
}

/* "{1,2,3}" of the bucket ids. */
static int bucket_param(struct buf *b, const struct bucket *v, size_t n)
{
    int rc = buf_append_char(b, '{');
    for (size_t i = 0; i < n && !rc; i++)
        rc = buf_printf(b, "%s%" PRId64, i ? "," : "", v[i].id);
    return rc ? rc : buf_append_char(b, '}');
}

/* One level of bucket checksums on both sides, merged: the buckets whose
 * (rows, checksum) differ go to *out.  totals[] get the rows seen. */
static int scan_level(struct run *run, struct plan *p, int g, const struct buckets *filter,
                      int prev_g, struct buckets *out, int64_t totals[2])
{
    struct buf sql[2], param;
    struct stream s[2] = {{.c = &run->conn[0]}, {.c = &run->conn[1]}};
    int rc = 0;

    buf_init(&param, SQL_MAX);
    for (int w = 0; w < 2; w++) {
        buf_init(&sql[w], SQL_MAX);
        if (!rc && sql_buckets(&sql[w], p, w, g, filter != NULL, prev_g))
            rc = nomem(run);
    }
    if (!rc && filter && bucket_param(&param, filter->v, filter->n))
        rc = nomem(run);
    if (!rc)
        rc = start_pair(run, p, sql, filter ? param.data : NULL);
    for (int w = 0; w < 2 && !rc; w++)
        rc = stream_next(run, p, &s[w]);
    while (!rc && (s[0].row || s[1].row)) {
        int c = !s[0].row ? 1 : !s[1].row ? -1 : s[0].a < s[1].a ? -1 : s[0].a > s[1].a;
        int64_t l = c <= 0 ? s[0].b : 0, r = c >= 0 ? s[1].b : 0;
        totals[0] += l;
        totals[1] += r;
        if (c != 0 || l != r ||
            strcmp(PQgetvalue(s[0].row, 0, 2), PQgetvalue(s[1].row, 0, 2)) != 0)
            if (buckets_push(out, c <= 0 ? s[0].a : s[1].a, l, r))
                rc = nomem(run);
        for (int w = 0; w < 2 && !rc; w++)
            if (w == 0 ? c <= 0 : c >= 0) {
                PQclear(s[w].row);
                rc = stream_next(run, p, &s[w]);
            }
    }
    for (int w = 0; w < 2; w++) {
        PQclear(s[w].row);
        buf_release(&sql[w]);
    }
    buf_release(&param);
    if (rc)
        abandon(run);
    return rc;
}

/* ---- fetching and matching rows ----------------------------------------- */

struct group {
    PGresult **rows;
    size_t n, cap;
    int64_t count;     /* rows in the group, kept or not */
};

static void group_clear(struct group *g)
{
    for (size_t i = 0; i < g->n; i++)
        PQclear(g->rows[i]);
    g->n = 0;
    g->count = 0;
}

/* Value of canonical column i, and its hash (keyed plans). */
#define VALUE_COL(i) (2 + (int)(i))
#define HASH_COL(p, i) (2 + (int)(p)->nall + (int)(i))

static bool column_equal(const struct plan *p, PGresult *a, PGresult *b, size_t i)
{
    bool na = PQgetisnull(a, 0, VALUE_COL(i)), nb = PQgetisnull(b, 0, VALUE_COL(i));
    if (na || nb)
        return na && nb;
    return strcmp(PQgetvalue(a, 0, HASH_COL(p, i)), PQgetvalue(b, 0, HASH_COL(p, i))) == 0;
}

static bool key_equal(const struct plan *p, PGresult *a, PGresult *b)
{
    for (size_t i = 0; i < p->t->nkey; i++)
        if (!column_equal(p, a, b, i))
            return false;
    return true;
}

static char *example_value(struct arena *a, PGresult *res, int col)
{
    if (PQgetisnull(res, 0, col))
        return NULL;
    const char *v = PQgetvalue(res, 0, col);
    size_t len = (size_t)PQgetlength(res, 0, col);
    if (len <= DBDIFF_EXAMPLE_VALUE_MAX)
        return arena_strndup(a, v, len);
    size_t cut = DBDIFF_EXAMPLE_VALUE_MAX;
    while (cut > 0 && ((unsigned char)v[cut] & 0xC0) == 0x80)
        cut--;
    char suffix[64];
    int sl = snprintf(suffix, sizeof suffix, "\xE2\x80\xA6[%zu bytes]", len);
    char *out = arena_alloc(a, cut + (size_t)sl + 1);
    if (!out)
        return NULL;
    memcpy(out, v, cut);
    memcpy(out + cut, suffix, (size_t)sl + 1);
    return out;
}

static char **example_values(struct arena *a, PGresult *res, size_t from, size_t to)
{
    char **v = arena_alloc(a, (to - from + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = from; i < to; i++) {
        v[i - from] = example_value(a, res, VALUE_COL(i));
        if (!v[i - from] && !PQgetisnull(res, 0, VALUE_COL(i)))
            return NULL;
    }
    return v;
}

/* Record one difference as an example, while there is room. */
static int add_example(struct run *run, struct plan *p, enum dbdiff_example_kind kind,
                       PGresult *l, PGresult *r, const bool *changed, int64_t count)
{
    struct dbdiff_table *t = p->t;
    struct arena *a = &run->res->arena;
    size_t nkey = t->nkey;

    if (t->nexamples[kind] >= run->o->max_examples) {
        t->examples_capped[kind] = true;
        return 0;
    }
    if (!t->examples[kind]) {
        t->examples[kind] = arena_alloc(a, run->o->max_examples * sizeof *t->examples[kind]);
        if (!t->examples[kind])
            return nomem(run);
    }
    struct dbdiff_example *ex = &t->examples[kind][t->nexamples[kind]];
    memset(ex, 0, sizeof *ex);
    PGresult *any = l ? l : r;
    ex->count = count;
    if (nkey && !(ex->key = example_values(a, any, 0, nkey)))
        return nomem(run);
    if (l && !(ex->left = example_values(a, l, nkey, p->nall)))
        return nomem(run);
    if (r && !(ex->right = example_values(a, r, nkey, p->nall)))
        return nomem(run);
    if (changed) {
        ex->changed = arena_alloc(a, (t->ncols + 1) * sizeof *ex->changed);
        if (!ex->changed)
            return nomem(run);
        memcpy(ex->changed, changed, t->ncols * sizeof *changed);
    }
    t->nexamples[kind]++;
    return 0;
}

/* Compare the rows of both sides that share one key hash. */
static int match_group(struct run *run, struct plan *p, struct group g[2], bool *changed)
{
    struct dbdiff_table *t = p->t;
    int rc = 0;

    if (!p->keyed) {
        /* Whole-row hash: the rows of a group are equal; compare counts. */
        int64_t d = g[0].count - g[1].count;
        if (d > 0) {
            t->only_left += d;
            rc = add_example(run, p, DBDIFF_EX_ONLY_LEFT, g[0].rows[0], NULL, NULL, d);
        } else if (d < 0) {
            t->only_right += -d;
            rc = add_example(run, p, DBDIFF_EX_ONLY_RIGHT, NULL, g[1].rows[0], NULL, -d);
        }
        return rc;
    }

    /* Equal row hashes are equal rows; both lists are sorted by row hash. */
    bool *used[2];
    used[0] = calloc(g[0].n + 1, sizeof(bool));
    used[1] = calloc(g[1].n + 1, sizeof(bool));
    if (!used[0] || !used[1]) {
        free(used[0]);
        free(used[1]);
        return nomem(run);
    }
    for (size_t i = 0, j = 0; i < g[0].n && j < g[1].n;) {
        int64_t a = strtoll(PQgetvalue(g[0].rows[i], 0, 1), NULL, 10);
        int64_t b = strtoll(PQgetvalue(g[1].rows[j], 0, 1), NULL, 10);
        if (a == b)
            used[0][i++] = used[1][j++] = true;
        else if (a < b)
            i++;
        else
            j++;
    }
    /* The others: same key → changed; no partner → only on one side. */
    for (size_t i = 0; i < g[0].n && !rc; i++) {
        if (used[0][i])
            continue;
        PGresult *l = g[0].rows[i], *r = NULL;
        for (size_t j = 0; j < g[1].n && !r; j++)
            if (!used[1][j] && key_equal(p, l, g[1].rows[j])) {
                used[1][j] = true;
                r = g[1].rows[j];
            }
        if (!r) {
            t->only_left++;
            rc = add_example(run, p, DBDIFF_EX_ONLY_LEFT, l, NULL, NULL, 1);
            continue;
        }
        t->changed++;
        for (size_t c = 0; c < t->ncols; c++) {
            changed[c] = !column_equal(p, l, r, t->nkey + c);
            t->changed_by_col[c] += changed[c];
        }
        rc = add_example(run, p, DBDIFF_EX_CHANGED, l, r, changed, 1);
    }
    for (size_t j = 0; j < g[1].n && !rc; j++)
        if (!used[1][j]) {
            t->only_right++;
            rc = add_example(run, p, DBDIFF_EX_ONLY_RIGHT, NULL, g[1].rows[j], NULL, 1);
        }
    free(used[0]);
    free(used[1]);
    return rc;
}

/* Move the rows of stream s with key hash kh into g. */
static int gather(struct run *run, struct plan *p, struct stream *s, int64_t kh, struct group *g,
                  int64_t *fetched)
{
    int rc = 0;
    while (!rc && s->row && s->a == kh) {
        (*fetched)++;
        g->count++;
        if (p->keyed || g->n == 0) {
            if (g->n == GROUP_MAX)
                return error_set(run->err, ERR_TOOBIG,
                                 "table '%s': more than %d rows share one key value; the key "
                                 "(%s) is not unique: give a unique one with --key",
                                 p->t->name, GROUP_MAX, p->t->key_source);
            if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 4;
                PGresult **v = realloc(g->rows, cap * sizeof *v);
                if (!v)
                    return nomem(run);
                g->rows = v;
                g->cap = cap;
            }
            g->rows[g->n++] = s->row;
        } else {
            PQclear(s->row);
        }
        s->row = NULL;
        rc = stream_next(run, p, s);
    }
    return rc;
}

static int fetch_and_match(struct run *run, struct plan *p, int grain, const struct bucket *v,
                           size_t n)
{
    struct buf sql[2], param;
    struct stream s[2] = {{.c = &run->conn[0]}, {.c = &run->conn[1]}};
    struct group g[2] = {{0}, {0}};
    bool *changed = calloc(p->t->ncols + 1, sizeof *changed);
    int rc = changed ? 0 : nomem(run);

    buf_init(&param, SQL_MAX);
    for (int w = 0; w < 2; w++) {
        buf_init(&sql[w], SQL_MAX);
        if (!rc && sql_fetch(&sql[w], p, w, grain))
            rc = nomem(run);
    }
    if (!rc && bucket_param(&param, v, n))
        rc = nomem(run);
    if (!rc)
        rc = start_pair(run, p, sql, param.data);
    for (int w = 0; w < 2 && !rc; w++)
        rc = stream_next(run, p, &s[w]);
    while (!rc && (s[0].row || s[1].row)) {
        int64_t kh = !s[0].row ? s[1].a : !s[1].row ? s[0].a : s[0].a < s[1].a ? s[0].a : s[1].a;
        rc = gather(run, p, &s[0], kh, &g[0], &p->t->rows_fetched_left);
        if (!rc)
            rc = gather(run, p, &s[1], kh, &g[1], &p->t->rows_fetched_right);
        if (!rc)
            rc = match_group(run, p, g, changed);
        group_clear(&g[0]);
        group_clear(&g[1]);
    }
    for (int w = 0; w < 2; w++) {
        PQclear(s[w].row);
        free(g[w].rows);
        buf_release(&sql[w]);
    }
    buf_release(&param);
    free(changed);
    if (rc)
        abandon(run);
    return rc;
}

/* ---- one table ---------------------------------------------------------- */

static int first_level_bits(int64_t est)
{
    if (est <= 0)
        return UNKNOWN_SIZE_BITS;
    int bits = 0;
    while (bits < MAX_BITS && ((int64_t)1 << bits) * ROWS_PER_BUCKET < est)
        bits++;
    return bits < MIN_BITS ? MIN_BITS : bits;
}

static int count_rows(struct run *run, struct plan *p)
{
    int w = p->side[0].source ? 0 : 1;
    struct buf sql;
    PGresult *res = NULL;
    int rc;

    buf_init(&sql, SQL_MAX);
    if (buf_printf(&sql, "SELECT count(*) FROM %s", p->side[w].source)) {
        buf_release(&sql);
        return nomem(run);
    }
    rc = dbconn_query(&run->conn[w], sql.data, 0, NULL, &res, run->deadline, run->err);
    buf_release(&sql);
    if (rc)
        return query_error(run, p, rc);
    int64_t n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (w == 0) {
        p->t->rows_left = p->t->only_left = n;
        p->t->rows_right = 0;
    } else {
        p->t->rows_right = p->t->only_right = n;
        p->t->rows_left = 0;
    }
    p->t->complete = true;
    return 0;
}

/*
 * A key given by --key or the map need not be unique; a declared primary
 * key is.  Count the rows beyond the first of each key value on both sides
 * (one extra scan, only for such keys): with duplicates, rows that share a
 * key are paired in row-hash order and the result says so.
 */
static int count_duplicate_keys(struct run *run, struct plan *p)
{
    struct dbconn *conns[2] = {&run->conn[0], &run->conn[1]};
    struct buf sql[2];
    const char *text[2];
    const char *const *params[2] = {NULL, NULL};
    PGresult *out[2] = {NULL, NULL};
    int rc = 0;

    for (int w = 0; w < 2; w++) {
        buf_init(&sql[w], SQL_MAX);
        if (!rc && (buf_append_str(&sql[w], "SELECT coalesce(sum(n - 1), 0) FROM (SELECT "
                                            "count(*) AS n FROM (SELECT ") ||
                    sql_key_hash(&sql[w], p, w) ||
                    buf_printf(&sql[w], " AS kh FROM %s OFFSET 0) s GROUP BY kh "
                                        "HAVING count(*) > 1) d", p->side[w].source)))
            rc = nomem(run);
        text[w] = sql[w].data;
    }
    if (!rc)
        rc = query_error(run, p, dbconn_query_pair(conns, text, 0, params, out, run->deadline,
                                                   run->err));
    if (!rc) {
        p->t->duplicate_keys_left = strtoll(PQgetvalue(out[0], 0, 0), NULL, 10);
        p->t->duplicate_keys_right = strtoll(PQgetvalue(out[1], 0, 0), NULL, 10);
    }
    for (int w = 0; w < 2; w++) {
        PQclear(out[w]);
        buf_release(&sql[w]);
    }
    return rc;
}

/*
 * Key ranges as buckets, when the key is a single integer primary key of
 * two tables (the usual serial id): the rows of a differing range are then
 * found through the index instead of by another scan of the table.  The
 * key must be dense enough (its span at most 16 times the row count) for
 * ranges to split the rows evenly; otherwise, or without statistics, the
 * key hash is used.  Sets *shift for the first level's 2^bits buckets.
 */
static int setup_ranges(struct run *run, struct plan *p, int bits, int *shift)
{
    const struct dbdiff_table *t = p->t;
    struct dbconn *conns[2] = {&run->conn[0], &run->conn[1]};
    const char *const *params[2] = {NULL, NULL};
    struct buf sql[2];
    const char *text[2];
    PGresult *out[2] = {NULL, NULL};
    int rc = 0;

    if (!p->keyed || t->nkey != 1 || strcmp(t->key_source, "primary key") != 0 ||
        !p->kinds[0] || strcmp(p->kinds[0], "int") != 0 || p->est_rows <= 0 ||
        run->o->hash_buckets_only)
        return 0;
    for (int w = 0; w < 2; w++) {
        const struct dbtable *tb = p->side[w].table;
        bool pk = false;
        for (size_t i = 0; tb && tb->npk == 1 && i < tb->ncols; i++)
            pk |= tb->cols[i].key_pos == 1 && !strcmp(tb->cols[i].name, p->side[w].colnames[0]);
        if (!pk)
            return 0;
    }
    for (int w = 0; w < 2; w++) {
        buf_init(&sql[w], 1 << 16);
        if (!rc && (buf_append_str(&sql[w], "SELECT min(") ||
                    dbsql_ident(&sql[w], p->side[w].colnames[0]) ||
                    buf_append_str(&sql[w], ")::int8, max(") ||
                    dbsql_ident(&sql[w], p->side[w].colnames[0]) ||
                    buf_printf(&sql[w], ")::int8 FROM %s", p->side[w].source)))
            rc = nomem(run);
        text[w] = sql[w].data;
    }
    if (!rc)
        rc = query_error(run, p, dbconn_query_pair(conns, text, 0, params, out, run->deadline,
                                                   run->err));
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (int w = 0; w < 2 && !rc; w++)
        if (!PQgetisnull(out[w], 0, 0)) {
            int64_t a = strtoll(PQgetvalue(out[w], 0, 0), NULL, 10);
            int64_t z = strtoll(PQgetvalue(out[w], 0, 1), NULL, 10);
            lo = a < lo ? a : lo;
            hi = z > hi ? z : hi;
        }
    for (int w = 0; w < 2; w++) {
        PQclear(out[w]);
        buf_release(&sql[w]);
    }
    const int64_t limit = (int64_t)1 << 61;
    if (rc || lo > hi || lo < -limit || hi > limit ||
        (double)(hi - lo) + 1 > 16.0 * (double)p->est_rows)
        return rc;
    int s = 0;
    while (((hi >> s) - (lo >> s) + 1) > ((int64_t)1 << bits))
        s++;
    p->ranged = true;
    *shift = s;
    return 0;
}

static int compare_table(struct run *run, struct plan *p)
{
    struct dbdiff_table *t = p->t;
    struct buckets cur = {0}, next = {0};
    int64_t start = dbconn_now_us(), totals[2] = {0, 0}, ignore[2];
    int bits = run->o->bucket_bits > 0 ? run->o->bucket_bits : first_level_bits(p->est_rows);
    int64_t refine_min = run->o->refine_min_rows ? (int64_t)run->o->refine_min_rows
                                                 : REFINE_MIN_ROWS;
    int g = bits, shift = 0, prev;
    int rc = 0;

    t->bucket_bits = bits;
    if (p->keyed && strcmp(t->key_source, "primary key") != 0)
        rc = count_duplicate_keys(run, p);
    if (!rc)
        rc = setup_ranges(run, p, bits, &shift);
    if (p->ranged) {
        g = shift;
        if (!run->o->refine_min_rows)
            refine_min = REFINE_MIN_ROWS_RANGES;
    }
    t->bucket_mode = p->ranged ? "key range" : "key hash";
    if (!rc)
        rc = scan_level(run, p, g, NULL, 0, &cur, totals);
    t->levels = 1;
    t->rows_left = totals[0];
    t->rows_right = totals[1];
    /* Recurse into the mismatched buckets while many rows remain in them:
     * 64 times finer each level. */
    while (!rc && cur.n && cur.rows[0] + cur.rows[1] > refine_min &&
           (cur.rows[0] + cur.rows[1]) / (int64_t)cur.n > 2 && t->levels < MAX_LEVELS &&
           (p->ranged ? g > 0 : g + REFINE_STEP_BITS <= 62)) {
        prev = g;
        g = p->ranged ? (g > REFINE_STEP_BITS ? g - REFINE_STEP_BITS : 0) : g + REFINE_STEP_BITS;
        memset(&next, 0, sizeof next);
        rc = scan_level(run, p, g, &cur, prev, &next, ignore);
        free(cur.v);
        cur = next;
        memset(&next, 0, sizeof next);
        t->levels++;
    }
    t->scan_us = dbconn_now_us() - start;
    t->buckets_mismatched = (int64_t)cur.n;
    t->bucket_grain = g;
    if (!rc && cur.n) {
        /* Fetch what fits under the row cap; the rest stays unresolved. */
        size_t n = 0;
        int64_t rows[2] = {0, 0};
        while (n < cur.n && rows[0] + cur.v[n].rows[0] <= (int64_t)run->o->max_rows &&
               rows[1] + cur.v[n].rows[1] <= (int64_t)run->o->max_rows) {
            rows[0] += cur.v[n].rows[0];
            rows[1] += cur.v[n].rows[1];
            n++;
        }
        if (n < cur.n) {
            t->cap_rows = true;
            t->unresolved_buckets = (int64_t)(cur.n - n);
            t->unresolved_rows_left = cur.rows[0] - rows[0];
            t->unresolved_rows_right = cur.rows[1] - rows[1];
        }
        int64_t fetch_start = dbconn_now_us();
        if (n)
            rc = fetch_and_match(run, p, g, cur.v, n);
        t->fetch_us = dbconn_now_us() - fetch_start;
    }
    free(cur.v);
    free(next.v);
    t->total_us = dbconn_now_us() - start;
    if (rc)
        return rc;
    t->complete = !t->cap_rows;
    /* Buckets that differ are a difference even when not fetched. */
    bool differs = t->only_left || t->only_right || t->changed || t->cap_rows;
    t->status = differs ? DBDIFF_DIFFERENT : DBDIFF_SAME;
    return 0;
}

/* ---- the run ------------------------------------------------------------ */

static int add_name(struct run *run, const char ***names, size_t *n, size_t *cap,
                    const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*names)[i], name) == 0)
            return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        const char **v = realloc(*names, c * sizeof *v);
        if (!v)
            return nomem(run);
        *names = v;
        *cap = c;
    }
    (*names)[(*n)++] = name;
    return 0;
}

/* The canonical name of a right-side table: the map entry renaming a
 * table to it, or its own. */
static const char *canonical_table(const struct dbdiff_map *m, const char *right)
{
    for (size_t i = 0; m && i < m->ntables; i++)
        if (m->tables[i].right.table && strcmp(m->tables[i].right.table, right) == 0)
            return m->tables[i].name;
    return right;
}

static int list_tables(struct run *run, const char ***out, size_t *count)
{
    const struct dbdiff_options *o = run->o;
    const char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (o->tables) {
        for (size_t i = 0; i < o->ntables && !rc; i++)
            rc = add_name(run, &names, &n, &cap, o->tables[i]);
    } else {
        for (size_t i = 0; o->map && i < o->map->ntables && !rc; i++)
            rc = add_name(run, &names, &n, &cap, o->map->tables[i].name);
        for (size_t i = 0; i < run->cat[0].ntables && !rc; i++) {
            const char *name = run->cat[0].tables[i].display;
            bool renamed_away = false;
            /* A left table that a map entry uses under another name. */
            for (size_t k = 0; o->map && k < o->map->ntables; k++)
                if (o->map->tables[k].left.table &&
                    !strcmp(o->map->tables[k].left.table, name) &&
                    strcmp(o->map->tables[k].name, name))
                    renamed_away = true;
            if (!renamed_away)
                rc = add_name(run, &names, &n, &cap, name);
        }
        for (size_t i = 0; i < run->cat[1].ntables && !rc; i++)
            rc = add_name(run, &names, &n, &cap,
                          canonical_table(o->map, run->cat[1].tables[i].display));
    }
    if (rc) {
        free(names);
        return rc;
    }
    qsort(names, n, sizeof *names, cmp_str_ptrs);
    *out = names;
    *count = n;
    return 0;
}

static int compare_schemas(struct run *run)
{
    struct dbdiff_result *res = run->res;
    struct dbconn *conns[2] = {&run->conn[0], &run->conn[1]};
    const char *const sql[2] = {DBSTATE_SCHEMA_SQL, DBSTATE_SCHEMA_SQL};
    const char *const *params[2] = {NULL, NULL};
    PGresult *out[2];
    const char **filter = NULL;
    size_t nfilter = 0;
    int rc;

    if ((rc = dbconn_query_pair(conns, sql, 0, params, out, run->deadline, run->err)))
        return rc;
    rc = dbschema_load(&res->left_schema, out[0], run->err);
    if (!rc)
        rc = dbschema_load(&res->right_schema, out[1], run->err);
    PQclear(out[0]);
    PQclear(out[1]);
    if (rc)
        return rc;
    if (run->o->tables) {
        /* Only the objects of the chosen tables, under both names. */
        filter = calloc(2 * run->o->ntables + 1, sizeof *filter);
        if (!filter)
            return nomem(run);
        for (size_t i = 0; i < run->o->ntables; i++) {
            const struct dbdiff_map_table *e = dbdiff_map_find(run->o->map, run->o->tables[i]);
            filter[nfilter++] = e && e->left.table ? e->left.table : run->o->tables[i];
            filter[nfilter++] = e && e->right.table ? e->right.table : run->o->tables[i];
        }
    }
    rc = dbschema_diff(&res->left_schema, &res->right_schema, filter, nfilter, &res->changes,
                       &res->nchanges, run->err);
    free(filter);
    res->schema_compared = true;
    return rc;
}

static int load_catalogs(struct run *run)
{
    struct dbconn *conns[2] = {&run->conn[0], &run->conn[1]};
    const char *const sql[2] = {DBSTATE_TABLES_SQL, DBSTATE_TABLES_SQL};
    const char *const *params[2] = {NULL, NULL};
    PGresult *out[2];
    int rc;

    if ((rc = dbconn_query_pair(conns, sql, 0, params, out, run->deadline, run->err)))
        return rc;
    rc = dbcatalog_load(&run->cat[0], out[0], run->err);
    if (!rc)
        rc = dbcatalog_load(&run->cat[1], out[1], run->err);
    PQclear(out[0]);
    PQclear(out[1]);
    return rc;
}

static int compare_rows(struct run *run)
{
    struct dbdiff_result *res = run->res;
    const char **names = NULL;
    struct plan *plans = NULL;
    size_t n = 0;
    int rc;

    if ((rc = list_tables(run, &names, &n)))
        return rc;
    for (size_t k = 0; k < run->o->nkeys; k++)
        if (!in_list(names, n, run->o->keys[k].table)) {
            rc = error_set(run->err, ERR_INPUT,
                           "--key %s=...: no table '%s' is compared; use the table's name on "
                           "the left (schema.table unless in public)",
                           run->o->keys[k].table, run->o->keys[k].table);
            goto out;
        }
    res->tables = arena_alloc(&res->arena, (n + 1) * sizeof *res->tables);
    plans = calloc(n + 1, sizeof *plans);
    if (!res->tables || !plans) {
        rc = nomem(run);
        goto out;
    }
    res->ntables = n;
    /* Plan everything first: a bad map entry or key fails before any scan. */
    for (size_t i = 0; i < n && !rc; i++) {
        struct dbdiff_table *t = &res->tables[i];
        memset(t, 0, sizeof *t);
        t->name = arena_strdup(&res->arena, names[i]);
        t->rows_left = t->rows_right = -1;
        plans[i].t = t;
        rc = t->name ? plan_table(run, &plans[i]) : nomem(run);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        struct dbdiff_table *t = &res->tables[i];
        if (res->timed_out) {
            t->status = DBDIFF_INCOMPLETE;
            t->cap_timeout = true;
            t->note = "not compared: the time limit was reached";
            continue;
        }
        if (t->status == DBDIFF_SKIPPED)
            continue;
        rc = t->status == DBDIFF_ONLY_LEFT || t->status == DBDIFF_ONLY_RIGHT
                 ? count_rows(run, &plans[i])
                 : compare_table(run, &plans[i]);
        if (rc == ERR_INTERRUPTED) {
            /* Keep what was found; the rest is reported as not compared. */
            res->timed_out = true;
            t->cap_timeout = true;
            t->complete = false;
            if (t->only_left || t->only_right || t->changed)
                t->status = DBDIFF_DIFFERENT;
            else if (t->status != DBDIFF_ONLY_LEFT && t->status != DBDIFF_ONLY_RIGHT)
                t->status = DBDIFF_INCOMPLETE;
            t->note = "the time limit was reached while comparing this table";
            error_init(run->err);
            rc = 0;
        }
    }
    res->rows_compared = true;
out:
    free(names);
    free(plans);
    return rc;
}

int dbdiff_run(const struct dbdiff_options *o, struct dbdiff_result **out, struct error *err)
{
    struct run run = {.o = o, .err = err};
    struct dbdiff_result *res = calloc(1, sizeof *res);
    int64_t start = dbconn_now_us(), t0;
    int rc;

    *out = NULL;
    if (o->bucket_bits < 0 || o->bucket_bits > 40) {
        free(res);
        return error_set(err, ERR_USAGE, "bucket bits must be between 1 and 40, not %d",
                         o->bucket_bits);
    }
    if (!res)
        return error_set(err, ERR_NOMEM, "out of memory comparing databases");
    arena_init(&res->arena, 0);
    arena_init(&res->left_schema.arena, 0);
    arena_init(&res->right_schema.arena, 0);
    arena_init(&run.scratch, 0);
    arena_init(&run.cat[0].arena, 0);
    arena_init(&run.cat[1].arena, 0);
    run.res = res;
    run.deadline = o->timeout_us > 0 ? start + o->timeout_us : 0;
    res->max_examples = o->max_examples;
    res->max_rows = o->max_rows;
    res->timeout_us = o->timeout_us;
    if (o->map && o->map->nignore) {
        res->nignore_hits = o->map->nignore;
        res->ignore_names = copy_list(&res->arena, o->map->ignore, o->map->nignore);
        res->ignore_hits = arena_alloc(&res->arena, o->map->nignore * sizeof *res->ignore_hits);
        if (!res->ignore_names || !res->ignore_hits) {
            rc = nomem(&run);
            goto out;
        }
        memset(res->ignore_hits, 0, o->map->nignore * sizeof *res->ignore_hits);
    }

    if ((rc = dbconn_open(&run.conn[0], "left", o->left_conninfo, run.deadline, err)) ||
        (rc = dbconn_open(&run.conn[1], "right", o->right_conninfo, run.deadline, err)))
        goto out;
    for (int w = 0; w < 2; w++) {
        snprintf(w ? res->right_where : res->left_where, sizeof res->left_where, "%s",
                 run.conn[w].where);
        *(w ? &res->right_version : &res->left_version) = run.conn[w].server_version;
    }
    res->connect_us = dbconn_now_us() - start;
    t0 = dbconn_now_us();
    if ((rc = load_catalogs(&run)))
        goto out;
    if (o->schema && (rc = compare_schemas(&run)))
        goto out;
    res->schema_us = dbconn_now_us() - t0;
    t0 = dbconn_now_us();
    if (o->rows && (rc = compare_rows(&run)))
        goto out;
    res->rows_us = dbconn_now_us() - t0;

    res->complete = !res->timed_out;
    for (size_t i = 0; i < res->ntables; i++) {
        const struct dbdiff_table *t = &res->tables[i];
        res->only_left += t->only_left;
        res->only_right += t->only_right;
        res->changed += t->changed;
        res->tables_different += t->status == DBDIFF_DIFFERENT || t->status == DBDIFF_ONLY_LEFT ||
                                 t->status == DBDIFF_ONLY_RIGHT;
        if (!t->complete && t->status != DBDIFF_SKIPPED)
            res->complete = false;
    }
    res->total_us = dbconn_now_us() - start;
out:
    if (rc == ERR_INTERRUPTED)
        error_prefix(err, "the time limit (--timeout) was reached before any table was compared");
    dbconn_close(&run.conn[0]);
    dbconn_close(&run.conn[1]);
    dbcatalog_release(&run.cat[0]);
    dbcatalog_release(&run.cat[1]);
    arena_release(&run.scratch);
    if (rc) {
        dbdiff_result_free(res);
        return rc;
    }
    *out = res;
    return 0;
}

void dbdiff_result_free(struct dbdiff_result *r)
{
    if (!r)
        return;
    free(r->changes);
    dbschema_release(&r->left_schema);
    dbschema_release(&r->right_schema);
    arena_release(&r->arena);
    free(r);
}

bool dbdiff_result_differs(const struct dbdiff_result *r)
{
    return r->nchanges > 0 || r->tables_different > 0;
}
