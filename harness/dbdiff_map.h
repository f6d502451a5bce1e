/*
 * dbdiff_map.h — the map file of `rehearse dbdiff` (docs/dbdiff-map-format.md):
 * how tables of the left database correspond to tables of the right one
 * when the schema changed between them.
 *
 * Per table (named as on the left, the "canonical" name): another table or
 * a projection query per side, column renames (left name → right name),
 * columns to ignore, the key, or "skip"; plus columns ignored everywhere.
 *
 * The map keeps its text so errors found later, while planning against the
 * databases ("no column 'x' in the right table"), still point at the line
 * and column of the map entry: dbdiff_map_error().
 *
 * Ownership: everything lives in the map's arena; dbdiff_map_free() frees it.
 */
#ifndef REHEARSE_DBDIFF_MAP_H
#define REHEARSE_DBDIFF_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "errors.h"

#define DBDIFF_MAP_MAX_BYTES (16u << 20)

/* One side of a table entry: a table (display name) or a query, or neither
 * (the table of the same name). */
struct dbdiff_map_side {
    const char *table;
    const char *query;
};

struct dbdiff_map_table {
    const char *name;                 /* canonical (left) display name */
    const char *pointer;              /* JSON Pointer of the entry, "/tables/users" */
    struct dbdiff_map_side left, right;
    const char **key;                 /* canonical column names, NULL when not set */
    size_t nkey;
    const char **ignore;              /* canonical column names */
    size_t nignore;
    const char **rename_left;         /* rename_left[i] on the left is */
    const char **rename_right;        /* rename_right[i] on the right */
    size_t nrenames;
    bool skip;
};

struct dbdiff_map {
    struct arena arena;
    char *source;                     /* file name for messages */
    char *text;                       /* the file's text */
    size_t len;
    const char **ignore;              /* "ignore_columns": ignored in every table */
    size_t nignore;
    size_t ntables;
    struct dbdiff_map_table *tables;  /* in file order */
};

/* Read and validate a map file (ERR_IO when it cannot be read, ERR_INPUT
 * with file:line:column when it is malformed). */
int dbdiff_map_load(const char *path, struct dbdiff_map **out, struct error *err);
/* The same from text; `source` names it in messages. */
int dbdiff_map_parse(const char *text, size_t len, const char *source, struct dbdiff_map **out,
                     struct error *err);
void dbdiff_map_free(struct dbdiff_map *m);

/* The entry for a canonical table name, or NULL. */
const struct dbdiff_map_table *dbdiff_map_find(const struct dbdiff_map *m, const char *name);

/*
 * Report a problem with the value at `pointer` (under an entry, e.g.
 * "/tables/users/key/0"): ERR_INPUT "SOURCE:LINE:COL: tables.users.key[0]:
 * MESSAGE".  Returns ERR_INPUT.
 */
int dbdiff_map_error(const struct dbdiff_map *m, const char *pointer, struct error *err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
