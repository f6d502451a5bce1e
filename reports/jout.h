/*
 * jout.h — write a JSON document as a stream of calls, pretty or compact.
 *
 * The reports write JSON whose layout matters: report.json is read by
 * people and reviewed as golden diffs (one member per line, short arrays of
 * scalars on one line), and the data embedded in report.html must be
 * compact and HTML-safe.  jout keeps the punctuation and indentation state,
 * so a writer only says what comes next:
 *
 *     jout_object(&j);
 *     jout_key(&j, "requests"); jout_uint(&j, 120);
 *     jout_key(&j, "paths"); jout_array_inline(&j); ... jout_end(&j);
 *     jout_end(&j);
 *     if (j.rc) ...
 *
 * Errors are sticky: after the first failure (ERR_TOOBIG, ERR_NOMEM, or
 * ERR_STATE for calls out of order) every call does nothing and j.rc keeps
 * the code, so a writer checks once at the end.
 */
#ifndef REHEARSE_JOUT_H
#define REHEARSE_JOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jdoc.h"

#define JOUT_MAX_DEPTH 64

struct jout {
    struct buf *out;
    int indent;          /* spaces per level; 0 = compact */
    unsigned flags;      /* jsonw flags (JSONW_HTML_SAFE) */
    int rc;              /* first failure, sticky */
    int depth;
    bool after_key;
    uint64_t first;      /* bit d: nothing written yet at depth d */
    uint64_t is_inline;  /* bit d: the container at depth d is on one line */
    uint64_t is_object;  /* bit d: the container at depth d is an object */
};

void jout_init(struct jout *j, struct buf *out, int indent, unsigned flags);

void jout_object(struct jout *j);
void jout_object_inline(struct jout *j);
void jout_array(struct jout *j);
void jout_array_inline(struct jout *j);
void jout_end(struct jout *j);

void jout_key(struct jout *j, const char *key);
void jout_keyn(struct jout *j, const char *key, size_t len);

void jout_string(struct jout *j, const char *s, size_t len);
void jout_cstring(struct jout *j, const char *s); /* NULL → null */
void jout_int(struct jout *j, int64_t v);
void jout_uint(struct jout *j, uint64_t v);
void jout_double(struct jout *j, double v);
void jout_bool(struct jout *j, bool v);
void jout_null(struct jout *j);
/* Node i of a parsed document, exactly as jdoc_write writes it (numbers as
 * written), compact. */
void jout_jdoc(struct jout *j, const struct jdoc *d, uint32_t i);

/* The same, laid out like the rest of the document: containers pretty,
 * arrays of scalars on one line.  Depth is bounded by JOUT_MAX_DEPTH
 * (ERR_TOOBIG beyond). */
void jout_tree(struct jout *j, const struct jdoc *d, uint32_t i);

/* End the document with a newline (pretty mode); returns j->rc. */
int jout_finish(struct jout *j);

#endif
