/*
 * resp_compare.h — compare two responses to one request: status, the
 * compared headers, and the body by what it is (JSON structurally under
 * the endpoint's rules, text line by line, binary by bytes), giving a list
 * of differences keyed by field for statistics, and the JSON diff itself
 * for the patch an example shows.
 *
 * A response is decoded (body_decode.h) and parsed at most once, however
 * many comparisons it takes part in: the diff compares the base with the
 * candidate and with the noise reference.
 *
 * Differences, each with a part (status, header, body), a kind and two
 * names:
 *   - path: where exactly — a JSON Pointer into the body ("/items/3/price"),
 *     "line:N" for text (N counted in the base, or in the candidate for an
 *     added line), "" for the body as a whole (binary bodies, a body that
 *     changed from JSON to text), or the header's name ("Content-Type");
 *   - field: the key statistics are counted under — the path with array
 *     indexes as "*" (the price of any element of /items is one field),
 *     "line:N", "", or the header name in lower case.
 * Arrays whose elements are the same but in another order (compared by
 * index, without an array_key or unordered rule) give one difference of
 * kind "order_changed" at the array, instead of the additions, removals and
 * changes by index the JSON diff lists (those stay in its patch).
 *
 * Header values compare exactly (all occurrences of a name, in order),
 * after trimming blanks; the names of the first 256 headers of each
 * response are looked at.
 */
#ifndef REHEARSE_RESP_COMPARE_H
#define REHEARSE_RESP_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "body_decode.h"
#include "diff_rules.h"
#include "jdoc.h"
#include "json_diff.h"
#include "line_diff.h"
#include "trace.h"

enum resp_part {
    RESP_STATUS = 0,
    RESP_HEADER,
    RESP_BODY,
};

/* The kinds of json_diff.h, plus one. */
enum resp_kind {
    RESP_ADDED = JDIFF_ADDED,
    RESP_REMOVED = JDIFF_REMOVED,
    RESP_CHANGED = JDIFF_CHANGED,
    RESP_TYPE_CHANGED = JDIFF_TYPE_CHANGED,
    RESP_ORDER_CHANGED, /* an array's elements, in another order */
};
#define RESP_KINDS 5

/* "added", "removed", "changed", "type_changed", "order_changed" */
const char *resp_kind_name(enum resp_kind kind);

/* One response, decoded and parsed on first use.  Caller-owned. */
struct resp_side {
    const struct http_message *msg;
    bool omitted;           /* only the body's size and hash are known */
    char sha256[65];        /* of the body as received; "" until known */
    bool decoded;
    struct body_decoder dec;
    struct body_view view;
    int parsed;             /* 0 not tried, 1 JSON parsed, -1 not JSON */
    struct jdoc doc;
    enum body_class cls;    /* after the JSON check */
};

void resp_side_init(struct resp_side *s, size_t max_decoded);
void resp_side_release(struct resp_side *s);
/* Point the side at a new response (borrowed until the next set).
 * sha256: the results' body_sha256 or NULL. */
void resp_side_set(struct resp_side *s, const struct http_message *m, bool omitted,
                   const char *sha256);
/* Decode and classify (once); the view stays valid until the next set. */
const struct body_view *resp_side_body(struct resp_side *s);
/* JSON, text or binary, after parsing what claimed to be JSON. */
enum body_class resp_side_class(struct resp_side *s);
/* The SHA-256 of the body as received (computed once), "" if unknown. */
const char *resp_side_sha256(struct resp_side *s);

struct resp_item {
    uint8_t part;          /* enum resp_part */
    uint8_t kind;          /* enum resp_kind */
    const char *path;      /* see above; NUL-terminated */
    size_t path_len;
    const char *field;     /* NUL-terminated */
    size_t field_len;
    uint32_t jitem;        /* the JSON diff's item, or UINT32_MAX */
};

struct resp_compare_opts {
    struct diff_rules *rules;       /* the rules file, or NULL */
    const char *method, *tmpl;      /* the endpoint, for its header rules */
    const struct jdiff_rules *json; /* its body rules (diff_rules_json), or NULL */
    size_t max_items;               /* body differences kept; 0 = all */
    uint64_t *hits;                 /* [rule id] of the rules file: add each
                                       rule's hits here; NULL: not counted */
    uint64_t *default_hits;         /* headers compared by the built-in rule
                                       (Content-Type); NULL: not counted */
};

/* Caller-owned; reuse it. */
struct resp_diff {
    bool status_differs;
    bool undecidable;      /* a body was omitted and the hashes differ: the
                              bodies cannot be compared under the rules */
    bool body_differs;
    bool body_json;        /* both bodies JSON: `json` holds their diff */
    enum body_class a_cls, b_cls;
    struct resp_item *items; /* headers, then body (in patch order) */
    size_t count;
    uint64_t body_differences; /* kept or not */
    bool truncated;            /* body differences beyond max_items */
    uint64_t ignored;          /* differences hidden by rules */
    struct jdiff_result json;
    struct line_diff lines;
    /* private */
    size_t cap;
    struct arena strings;
    struct jdiff_result whole; /* the diff of the whole-body stand-ins */
    struct jdoc stand_in[2];
    struct buf scratch[2];
    struct order_cache *orders;
    size_t norders, orders_cap;
};

void resp_diff_init(struct resp_diff *d);
void resp_diff_release(struct resp_diff *d);

/* Compare a (the reference) with b.  0, or ERR_NOMEM / ERR_TOOBIG. */
int resp_compare(struct resp_diff *d, struct resp_side *a, struct resp_side *b,
                 const struct resp_compare_opts *opt, struct error *err);

#endif
