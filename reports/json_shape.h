/*
 * json_shape.h — check a parsed JSON document against the shape a file
 * format documents, with errors a user can act on.
 *
 * A reader of a format (DIFF.json, the report context) declares what it
 * needs as static tables — which members an object must or may have, of
 * which type — checks the whole document once, and then reads it without
 * re-checking every access.  A mismatch is ERR_INPUT located at the value:
 *
 *     diff.json:41:14: endpoints[3].body.raw: expected a count (an integer
 *     >= 0), found a string ("12")
 *     diff.json:40:7: endpoints[3].body: missing required member "raw"
 *
 * Members a shape does not name are ignored: formats may add fields (the
 * compatibility rule of docs/diff-format.md).
 *
 * Functions are prefixed jshape_ because json_ is jansson's.
 */
#ifndef REHEARSE_JSON_SHAPE_H
#define REHEARSE_JSON_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "jdoc.h"

enum jshape_kind {
    JSHAPE_ANY = 0,
    JSHAPE_STRING,
    JSHAPE_COUNT,   /* an integer >= 0 that fits 64 bits */
    JSHAPE_INT,     /* an integer that fits int64 */
    JSHAPE_NUMBER,  /* any number within the range of a double */
    JSHAPE_BOOL,
    JSHAPE_OBJECT,  /* members as listed */
    JSHAPE_ARRAY,   /* every element of `items` */
    JSHAPE_MAP,     /* an object whose every member value is of `items` */
};

struct jshape;

struct jshape_member {
    const char *name;            /* NULL ends a list */
    const struct jshape *shape;
    bool required;
};

struct jshape {
    enum jshape_kind kind;
    bool nullable;                       /* null is accepted too */
    const struct jshape_member *members; /* OBJECT */
    const struct jshape *items;          /* ARRAY elements, MAP values */
    const char *const *values;           /* STRING: allowed values (NULL-ended), or NULL */
    const char *what;                    /* for messages: "a risk", or NULL for the kind's */
};

/* Check node `i` of d, which sits at JSON Pointer `pointer` ("" for the
 * root), against shape.  0 or ERR_INPUT (ERR_NOMEM). */
int jshape_check(const struct jdoc *d, uint32_t i, const char *pointer,
                 const struct jshape *shape, struct error *err);

/* Record a located error about node i at `pointer`, as jshape_check does:
 * "NAME:LINE:COL: display.path: MESSAGE".  Returns code. */
int jshape_error(const struct jdoc *d, uint32_t i, const char *pointer, struct error *err,
                 int code, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Readers for values that passed jshape_check. */
uint64_t jshape_count(const struct jdoc *d, uint32_t i);   /* JSHAPE_COUNT; 0 for JDOC_NONE */
int64_t jshape_int(const struct jdoc *d, uint32_t i);      /* JSHAPE_INT; 0 for JDOC_NONE */
double jshape_number(const struct jdoc *d, uint32_t i);    /* JSHAPE_NUMBER; 0 for JDOC_NONE */

#endif
