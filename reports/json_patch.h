/*
 * json_patch.h — apply an RFC 6902 JSON Patch to a jansson document.
 *
 * The operations add, remove, replace, move, copy and test are applied in
 * order to a copy of the document; the document is replaced only when every
 * operation succeeded, so on any failure it is unchanged (atomic).  Members
 * of an operation other than op, path, from and value are ignored (RFC 6902
 * section 4).  Values taken from the patch are copied: the patch is never
 * aliased into the document.
 *
 * `test` compares as RFC 6902 section 4.6 says: numbers by value (1 equals
 * 1.0, which jansson's json_equal denies), objects whatever their member
 * order, arrays element by element, strings byte by byte.
 *
 * Functions are prefixed jpatch_ because json_ is jansson's.
 */
#ifndef REHEARSE_JSON_PATCH_H
#define REHEARSE_JSON_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

enum jpatch_failure {
    JPATCH_OK = 0,
    JPATCH_INVALID,     /* not a valid patch: not an array of operations, an unknown op,
                           a missing or ill-typed member, a bad pointer, a move into a child */
    JPATCH_CONFLICT,    /* the operation does not fit the document: a path that does not
                           exist, an index out of range, a member of a non-container */
    JPATCH_TEST_FAILED, /* a test operation found another value, or nothing, at its path */
};

struct jpatch_status {
    enum jpatch_failure failure;
    size_t op;          /* index (from 0) of the operation that failed */
};

/*
 * Apply `patch` (a JSON array of operation objects) to *doc.  On success
 * *doc is the patched document (the old one is released; the root may be a
 * new value) and 0 is returned.  On failure *doc is untouched, `st` (may be
 * NULL) says which operation failed and how, and ERR_INPUT is returned with
 * err saying e.g. `operation 2 (remove "/a/b"): no member "b" in the object
 * at "/a"`.  ERR_NOMEM when memory runs out.
 */
int jpatch_apply(json_t **doc, const json_t *patch, struct jpatch_status *st,
                 struct error *err);

/* Equality as the test operation sees it. */
bool jpatch_equal(const json_t *a, const json_t *b);

const char *jpatch_failure_name(enum jpatch_failure f);

#endif
