/*
 * dbdiff.h — compare the schema and the rows of two PostgreSQL databases.
 *
 * This is the library behind `rehearse dbdiff` and the `dbdiff` step of a
 * scenario: fill a struct dbdiff_options, call dbdiff_run(), write the
 * result with dbdiff_write_json() (docs/dbdiff-format.md) or
 * dbdiff_write_tsv(), free it.  The two databases may live on different
 * servers: nothing but libpq connects them.
 *
 * How rows are compared (the reasons are in ../shared/design/anchors.md):
 *
 *   1. Both sides run the same query at once, each on its own connection,
 *      inside a REPEATABLE READ READ ONLY transaction (one snapshot for the
 *      whole diff).  One scan per side hashes every row — typed per-column
 *      hashes combined position-dependently, then mixed, so swapped values
 *      do not cancel — and sums the row hashes (sum, not xor: duplicate rows
 *      do not cancel) into buckets chosen by a hash of the key.  A hash, not
 *      key ranges: any key type works (int, text, uuid, timestamp, compound
 *      — compound keys hashed as typed tuples, so ('1','11') and ('11','1')
 *      never collide), and no ordering or collation must agree between
 *      servers.  The exception is a single integer primary key with dense
 *      values (the usual serial id): its buckets are key ranges, so the
 *      rows of a differing bucket are found through the index, without a
 *      second scan.  At most 4096 buckets: the aggregate stays in the CPU
 *      cache.
 *   2. Buckets whose (count, checksum) differ are the only ones looked at
 *      again.  When they still hold many rows, the scan is repeated over
 *      just those buckets with 64 times finer sub-buckets (recursion), until
 *      few rows remain.
 *   3. The rows of the remaining buckets are streamed from both sides in
 *      (key hash, row hash) order and merged: equal row hashes are equal
 *      rows; others are matched by key into "changed" (with the columns that
 *      changed, by per-column hash) or "only left" / "only right".
 *
 * Without a key (no primary key, no --key, none in the map) a table is
 * compared as a multiset of whole rows: a row present twice on the left and
 * once on the right is one row "only left".  The result says which method
 * and which key were used.
 *
 * Equality is that of each column's type, as its hash sees it (dbstate.h):
 * numeric 1.0 = 1.00; floats exactly (only -0 = +0 and NaN = NaN);
 * timestamptz as the instant in UTC; text, bytea, arrays byte for byte;
 * columns whose types differ between the sides through their text form.
 * Hashes are 64-bit: two different rows compare equal with probability
 * about 2^-64.  Values shown in examples are PostgreSQL's text output in a
 * UTC, ISO, exact-float, hex-bytea session.
 *
 * Limits, never silent: examples per table and kind (max_examples), rows
 * fetched per table and side (max_rows: buckets beyond it stay
 * "unresolved", counted, and the table is incomplete), and a deadline for
 * the whole run (timeout_us: the running queries are cancelled and what
 * was not compared is marked so).
 *
 * Ownership: the result owns all its memory; free it with
 * dbdiff_result_free().  Options are only read during dbdiff_run().
 *
 * From a scenario step (conninfos from pg_cluster_conninfo(), the map from
 * dbdiff_map_load() or dbdiff_map_parse() of the step's JSON):
 *
 *     struct dbdiff_options o;
 *     struct dbdiff_result *r;
 *     dbdiff_options_init(&o);
 *     o.left_conninfo = old_db;  o.right_conninfo = new_db;  o.map = map;
 *     o.timeout_us = step_deadline_us;
 *     if (dbdiff_run(&o, &r, &err)) return err.code;   // 2: input, 3: database
 *     dbdiff_write_json(r, &journal_buf);              // or read r->tables[i]
 *     bool regressed = dbdiff_result_differs(r);
 *     dbdiff_result_free(r);
 *
 * For the cheap per-step state ("did the rollback restore the data?") use
 * dbstate_snapshot() and dbsnapshot_compare() (dbstate.h) instead.
 */
#ifndef REHEARSE_DBDIFF_H
#define REHEARSE_DBDIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "dbdiff_map.h"
#include "dbstate.h"
#include "errors.h"

#define DBDIFF_FORMAT_NAME "rehearse-dbdiff"
#define DBDIFF_FORMAT_VERSION 1
#define DBDIFF_DEFAULT_MAX_EXAMPLES 10
#define DBDIFF_DEFAULT_MAX_ROWS 1000000
/* Values shown in examples are cut after this many bytes. */
#define DBDIFF_EXAMPLE_VALUE_MAX 1024

/* A key given on the command line: --key table=col,col */
struct dbdiff_key {
    const char *table;          /* canonical (left) display name */
    const char *const *cols;
    size_t ncols;
};

struct dbdiff_options {
    const char *left_conninfo, *right_conninfo;
    const char *const *tables;  /* canonical names to compare; NULL: every table */
    size_t ntables;
    const struct dbdiff_key *keys;
    size_t nkeys;
    const struct dbdiff_map *map; /* NULL: none */
    bool schema;                /* compare schemas (default true) */
    bool rows;                  /* compare rows (default true) */
    uint64_t max_examples;      /* per table and kind (only left/right, changed) */
    uint64_t max_rows;          /* rows fetched per table and side */
    int64_t timeout_us;         /* for the whole run; 0: none */
    /* Tuning, for tests and experiments; 0: automatic. */
    int bucket_bits;            /* first-level buckets: 2^bits */
    uint64_t refine_min_rows;   /* recurse when mismatched buckets hold more rows */
    bool hash_buckets_only;     /* never use key ranges as buckets */
};

/* Defaults: schema and rows, DBDIFF_DEFAULT_MAX_*, no timeout. */
void dbdiff_options_init(struct dbdiff_options *o);

enum dbdiff_status {
    DBDIFF_SAME,        /* compared completely, no difference */
    DBDIFF_DIFFERENT,   /* differences found (counts exact when complete) */
    DBDIFF_ONLY_LEFT,   /* the table exists on the left only */
    DBDIFF_ONLY_RIGHT,
    DBDIFF_SKIPPED,     /* "skip" in the map */
    DBDIFF_INCOMPLETE,  /* not (fully) compared: timeout; nothing found so far */
};

enum dbdiff_example_kind { DBDIFF_EX_ONLY_LEFT, DBDIFF_EX_ONLY_RIGHT, DBDIFF_EX_CHANGED };

/* A value as text; NULL pointer = SQL NULL.  Cut at DBDIFF_EXAMPLE_VALUE_MAX
 * bytes (on a UTF-8 boundary) with "…[N bytes]" appended. */
struct dbdiff_example {
    char **key;                 /* nkey values (multiset: none) */
    char **left, **right;       /* ncols values each; NULL arrays when absent */
    bool *changed;              /* ncols flags (changed examples) */
    int64_t count;              /* multiset: how many copies differ */
};

struct dbdiff_table {
    const char *name;           /* canonical name */
    const char *left_source;    /* "users", "query", or NULL when absent */
    const char *right_source;
    enum dbdiff_status status;
    bool complete;              /* every row compared */
    const char *method;         /* "key", "multiset", "count" (one side only) or NULL */
    const char *key_source;     /* "primary key", "--key", "map", NULL */
    size_t nkey;
    const char **key;           /* canonical key column names */
    size_t ncols;
    const char **cols;          /* compared (non-key) columns, canonical, sorted */
    const char **cols_right;    /* their names on the right */
    bool *as_text;              /* nkey + ncols: compared through the text form */
    size_t nonly_left_cols, nonly_right_cols, nignored;
    const char **only_left_cols, **only_right_cols, **ignored;
    const char *note;           /* why something is unusual, or NULL */

    int64_t rows_left, rows_right;           /* -1 when unknown */
    int64_t only_left, only_right, changed;  /* rows */
    int64_t *changed_by_col;                 /* ncols counts */
    int64_t duplicate_keys_left, duplicate_keys_right;

    size_t nexamples[3];
    struct dbdiff_example *examples[3];      /* by enum dbdiff_example_kind */
    bool examples_capped[3];

    /* How it was compared. */
    const char *bucket_mode;                 /* "key hash", "key range" */
    int bucket_bits;                         /* first level: 2^bits buckets */
    int bucket_grain;                        /* finest level: hash bits, or range shift */
    int levels;
    int64_t buckets_mismatched;              /* at the finest level */
    int64_t rows_fetched_left, rows_fetched_right;
    bool cap_rows, cap_timeout;
    int64_t unresolved_buckets, unresolved_rows_left, unresolved_rows_right;
    int64_t scan_us, fetch_us, total_us;
};

struct dbdiff_result {
    struct arena arena;
    char left_where[320], right_where[320];  /* no passwords */
    int left_version, right_version;
    bool schema_compared, rows_compared;
    struct dbschema left_schema, right_schema;
    struct dbschema_change *changes;
    size_t nchanges;
    size_t ntables;
    struct dbdiff_table *tables;              /* sorted by name */
    uint64_t max_examples, max_rows;
    int64_t timeout_us;
    bool complete;                            /* nothing capped, nothing timed out */
    bool timed_out;
    size_t tables_different;
    int64_t only_left, only_right, changed;   /* totals over tables */
    size_t nignore_hits;                      /* map "ignore_columns" hit counts */
    const char **ignore_names;
    int64_t *ignore_hits;
    int64_t connect_us, schema_us, rows_us, total_us;
};

/*
 * Compare.  Returns 0 with *out set (differences are data, not errors), or
 * ERR_USAGE/ERR_INPUT (a bad conninfo, map entry or key, a table that does
 * not exist), ERR_DATABASE (a database unreachable or failing), ERR_NOMEM.
 * A timeout is not an error: the result says what was not compared.
 */
int dbdiff_run(const struct dbdiff_options *o, struct dbdiff_result **out, struct error *err);
void dbdiff_result_free(struct dbdiff_result *r);

/* Anything different: schema changes or rows. */
bool dbdiff_result_differs(const struct dbdiff_result *r);

/* The result as one JSON document (docs/dbdiff-format.md), in a
 * deterministic order. */
int dbdiff_write_json(const struct dbdiff_result *r, struct buf *out);
/* "table\tonly_left\tonly_right\tchanged\n" then one line per table. */
int dbdiff_write_tsv(const struct dbdiff_result *r, struct buf *out);

const char *dbdiff_status_name(enum dbdiff_status s);

#endif
