/*
 * dbstate.h — what a PostgreSQL database holds, read from its catalogs:
 * its schema (every object with its defining attributes), its tables and
 * columns (for the row diff), and cheap snapshots of its data.
 *
 * Schema.  One catalog query per database (DBSTATE_SCHEMA_SQL) lists every
 * object — table, column, primary key, unique, check, foreign key and
 * exclusion constraints, index, view, materialized view, sequence, trigger,
 * enum, function — with the attributes that define it (a column's type,
 * nullability, default, identity, generation and collation; a constraint's,
 * index's, view's or trigger's definition; a sequence's parameters).
 * Objects of system schemas and of extensions are left out.
 * dbschema_diff() compares two such lists: objects added, removed, changed
 * (with the attributes that changed).
 *
 * Row hashing.  Both the row diff and snapshots hash rows in SQL from
 * typed per-column hashes (not row text: that is the costly part), seeded
 * by the column's position and combined, so a value moved to another
 * column changes the hash (dbsql_column_hash).  Types whose hash is not
 * portable between databases (enums hash their OIDs), or that have none
 * (json, xml, geometric types), are hashed through their text form.  A
 * column whose type differs between the two sides (int vs numeric) is
 * hashed through text on both.  Equality is therefore the type's own:
 * numeric 1.0 = 1.00, float -0 = +0 and NaN = NaN, timestamptz compared as
 * the instant (UTC), bpchar ignores trailing blanks, text byte for byte.
 *
 * Snapshot.  dbstate_snapshot() records, per table, the row count and an
 * order-independent checksum of its rows: the sum (not xor: duplicates must
 * not cancel) of a 64-bit hash of each whole row, columns taken in name
 * order, plus a fingerprint of the column list and of the whole schema.
 * Two snapshots of the same data are equal whatever the physical order, the
 * server or the time; any changed, added or removed row changes the table's
 * count or checksum (a false "equal" has probability about 2^-64).  One
 * scan per table, in one statement.  Snapshots are written to and read from
 * JSON so a scenario journal can keep them.
 *
 * Ownership: every string of a catalog, schema or snapshot lives in its
 * arena and is freed by the matching _release/_free.
 */
#ifndef REHEARSE_DBSTATE_H
#define REHEARSE_DBSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "dbconn.h"
#include "errors.h"

/* ---- names and SQL text ------------------------------------------------- */

/* How tables are named to users: "users" for public.users, "audit.events"
 * otherwise.  Returns an arena copy (NULL when out of memory). */
char *dbstate_display_name(struct arena *a, const char *schema, const char *name);

/* Append name as a quoted SQL identifier ("a""b"). */
int dbsql_ident(struct buf *b, const char *name);

/*
 * The hash kind of a type, from its catalog description: the name of the
 * (domain-resolved) type when it lives in pg_catalog, and of its element
 * type when it is an array.  Types of one kind hash equal values equally
 * (int2/int4/int8 → "int", text/varchar/name → "text", float4/float8 →
 * "float", arrays → "int[]"...).  NULL: hash through the text form.
 */
const char *dbstate_hash_kind(const char *base_type, const char *elem_type);

/* Append the expression hashed for a column: `"col"` itself, or
 * `"col"::text` when kind is NULL.  col_sql is already quoted. */
int dbsql_hash_input(struct buf *b, const char *col_sql, const char *kind);

/*
 * Append the 64-bit hash of a column value at `position` in a row, by its
 * kind (the type's own hash function, its text form when kind is NULL),
 * seeded by the position, never NULL: a row hash is the xor of its
 * columns' hashes, then mixed (hashint8extended(seed, xor)), so values
 * moved between columns change it and sums of row hashes are not linear in
 * the values.  Needs a session with timezone = UTC (dbconn_open).
 */
int dbsql_column_hash(struct buf *b, const char *col_sql, const char *kind, unsigned position);

/* ---- tables and columns -------------------------------------------------- */

struct dbcolumn {
    char *name;
    char *type;          /* format_type(): "numeric(12,2)", "character varying(20)" */
    const char *kind;    /* dbstate_hash_kind(), NULL: text form */
    int key_pos;         /* 1-based position in the primary key, 0 if not part of it */
};

struct dbtable {
    char *schema, *name;
    char *display;       /* dbstate_display_name() */
    char relkind;        /* 'r' table, 'p' partitioned table */
    int64_t est_rows;    /* pg_class.reltuples, -1 when never analyzed */
    size_t ncols;
    struct dbcolumn *cols; /* in attnum order */
    size_t npk;          /* columns in the primary key, 0 if none */
};

struct dbcatalog {
    struct arena arena;
    size_t ntables;
    struct dbtable *tables; /* sorted by display name (bytewise) */
};

/* Lists the tables (ordinary and partitioned, not partitions) of the user's
 * schemas, with their columns.  Run it, then dbcatalog_load() the result. */
extern const char DBSTATE_TABLES_SQL[];
int dbcatalog_load(struct dbcatalog *cat, PGresult *res, struct error *err);
void dbcatalog_release(struct dbcatalog *cat);
const struct dbtable *dbcatalog_find(const struct dbcatalog *cat, const char *display);

/* Describes the columns of a result shape (a projection query): give it
 * $1 = '{oid,oid,...}' and $2 = '{typmod,...}' (one per column); the result
 * has, per column in order, the type's display name, base and element type
 * names as dbstate_hash_kind() wants them. */
extern const char DBSTATE_TYPES_SQL[];

/* ---- schema ------------------------------------------------------------- */

struct dbattr {
    const char *name;
    const char *value;   /* NULL: the attribute is absent */
};

struct dbobject {
    const char *kind;    /* "table", "column", "index", ... */
    const char *name;    /* display: "users", "users.email", "users.users_pkey" */
    const char *table;   /* the table it belongs to ("users"), or NULL */
    size_t nattrs;
    struct dbattr *attrs; /* sorted by name */
};

struct dbschema {
    struct arena arena;
    size_t count;
    struct dbobject *objects; /* sorted by (kind, name), bytewise */
};

extern const char DBSTATE_SCHEMA_SQL[];
int dbschema_load(struct dbschema *s, PGresult *res, struct error *err);
void dbschema_release(struct dbschema *s);

enum dbschema_change_type { DBSCHEMA_ADDED, DBSCHEMA_REMOVED, DBSCHEMA_CHANGED };

struct dbschema_change {
    enum dbschema_change_type type;
    const struct dbobject *left;   /* NULL when added */
    const struct dbobject *right;  /* NULL when removed */
};

/*
 * Compare two schemas.  Fills a malloc'd array (free() it) in (kind, name)
 * order; objects pointed to are borrowed from the schemas.  When `tables`
 * (ntables display names) is given, only objects of those tables count.
 */
int dbschema_diff(const struct dbschema *left, const struct dbschema *right,
                  const char *const *tables, size_t ntables, struct dbschema_change **out,
                  size_t *count, struct error *err);
/* The fingerprint of a schema: 32 hex digits of SHA-256 over its objects. */
void dbschema_fingerprint(const struct dbschema *s, char out[33]);

/* ---- snapshots ---------------------------------------------------------- */

struct dbsnapshot_table {
    char *name;             /* display name */
    int64_t rows;
    char *checksum;         /* decimal sum of 64-bit row hashes */
    char columns[33];       /* fingerprint of "name type" of every column */
};

struct dbsnapshot {
    struct arena arena;
    char schema[33];        /* dbschema_fingerprint() */
    int64_t elapsed_us;     /* how long taking it took */
    size_t ntables;
    struct dbsnapshot_table *tables; /* sorted by name */
};

/*
 * Take a snapshot of the database at `conninfo`: every user table, or the
 * `ntables` display names in `tables` (ERR_INPUT naming one that does not
 * exist).  deadline_us as in dbconn.h.  *out is freed with
 * dbsnapshot_free().
 */
int dbstate_snapshot(const char *conninfo, const char *const *tables, size_t ntables,
                     int64_t deadline_us, struct dbsnapshot **out, struct error *err);
/* The same on a connection already opened with dbconn_open(). */
int dbstate_snapshot_conn(struct dbconn *c, const char *const *tables, size_t ntables,
                          int64_t deadline_us, struct dbsnapshot **out, struct error *err);
void dbsnapshot_free(struct dbsnapshot *s);

/* Append the snapshot as one JSON object (documented in docs/dbdiff-format.md). */
int dbsnapshot_write_json(const struct dbsnapshot *s, struct buf *out);
/* Read one back (the text of that object; `source` names it in errors). */
int dbsnapshot_read_json(const char *text, size_t len, const char *source,
                         struct dbsnapshot **out, struct error *err);

struct dbsnapshot_delta {
    const char *table;          /* borrowed from one of the snapshots */
    const struct dbsnapshot_table *before, *after; /* NULL when absent */
};

/*
 * Compare two snapshots: the tables whose presence, columns, row count or
 * checksum differ, in name order (malloc'd array, free() it).  *schema_changed
 * says whether the schema fingerprints differ.  Zero deltas and an unchanged
 * schema mean the two states hold the same data.
 */
int dbsnapshot_compare(const struct dbsnapshot *before, const struct dbsnapshot *after,
                       struct dbsnapshot_delta **out, size_t *count, bool *schema_changed,
                       struct error *err);

#endif
