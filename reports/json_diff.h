/*
 * json_diff.h — structural JSON diff: the differences between two documents
 * as a list (for statistics) and as an RFC 6902 patch (for people and tools),
 * under rules that say which differences do not matter.
 *
 * Without rules, applying the patch to A gives B (checked against an
 * independent RFC 6902 implementation in the tests).  The patch is made of
 * add, remove and replace operations at the deepest path that differs:
 *   - objects: members matched by name, whatever their order;
 *   - arrays, by default by index, after matching equal runs at both ends
 *     and, in between, the longest common subsequence of equal elements
 *     (Myers, bounded): appending an element is one `add`, inserting one in
 *     the middle is one `add`, not a replace of everything after it; where
 *     no elements are equal, the most alike ones (most members equal) pair
 *     up, so an element inserted before changed ones is still one `add`;
 *   - numbers by exact decimal value (1 == 1.0; see jdoc.h), strings by
 *     bytes, a change of JSON type is a replace of the whole value.
 *
 * Rules, each with a pointer pattern (json_pointer.h, wildcards "*", "**"):
 *   ignore          differences at or below matching paths are not reported
 *                   but counted: in `ignored` and in the rule's hits;
 *   array_key       match the elements of matching arrays by key members
 *                   (e.g. "id"; several names make a compound key; a name
 *                   starting with '/' is a pointer into the element): a moved
 *                   element is no difference, a changed one is diffed member
 *                   by member, new and missing keys are added and removed;
 *                   hits count the arrays compared by key;
 *   unordered       compare matching arrays as multisets: equal elements pair
 *                   up whatever their positions (duplicates count); elements
 *                   left over pair up in order and are diffed, the rest are
 *                   added or removed; hits count the arrays compared;
 *   tolerance       numbers at matching paths are equal when
 *                   |a - b| <= absolute or |a - b| <= relative * max(|a|, |b|)
 *                   (as doubles); hits count the differences absorbed;
 *   strict_numbers  at matching paths an integer and a real are of different
 *                   types (1 vs 1.0 is a type change); hits count them.
 * When several rules of a kind match a path, the first one added wins (add a
 * rule set's endpoint rules before its global ones).  With array_key or
 * unordered rules, the patch keeps A's order of elements, so applying it
 * gives B up to the order of those arrays; with ignore or tolerance rules it
 * leaves out what they hid.
 *
 * Bounded: the recursion follows the documents, whose depth the parser
 * bounds; the array alignment gives up past 256 edits, and the pairing by
 * likeness past 16384 element pairs (then elements pair by position);
 * max_items caps the differences kept (all are counted).
 *
 * Functions are prefixed jdiff_ because json_ is jansson's.
 */
#ifndef REHEARSE_JSON_DIFF_H
#define REHEARSE_JSON_DIFF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "jdoc.h"

/* ------------------------------------------------------------------ rules */

enum jdiff_rule_kind {
    JDIFF_RULE_IGNORE = 0,
    JDIFF_RULE_ARRAY_KEY,
    JDIFF_RULE_UNORDERED,
    JDIFF_RULE_TOLERANCE,
    JDIFF_RULE_STRICT_NUMBERS,
};
#define JDIFF_RULE_KINDS 5

/* "ignore", "array_key", "unordered", "tolerance", "strict_numbers" */
const char *jdiff_rule_kind_name(enum jdiff_rule_kind kind);

struct jdiff_rule {
    enum jdiff_rule_kind kind;
    const char *path;          /* pattern (json_pointer.h) */
    const char *const *keys;   /* array_key: key member names or pointers, NULL-ended */
    double absolute;           /* tolerance; < 0 when not given */
    double relative;           /* tolerance; < 0 when not given */
    unsigned id;               /* the caller's number: hits are counted at [id] */
};

/* A compiled rule set.  Immutable once built: one set may serve many diffs,
 * in several threads. */
struct jdiff_rules;

struct jdiff_rules *jdiff_rules_new(void);
void jdiff_rules_free(struct jdiff_rules *rules); /* NULL is fine */
/* Copy and compile one rule.  ERR_INPUT for a bad pattern or key, or a
 * tolerance without a non-negative absolute or relative bound. */
int jdiff_rules_add(struct jdiff_rules *rules, const struct jdiff_rule *rule, struct error *err);
size_t jdiff_rules_count(const struct jdiff_rules *rules);
/* One more than the largest rule id: the length of jdiff_result.rule_hits. */
unsigned jdiff_rules_id_limit(const struct jdiff_rules *rules);

/* ------------------------------------------------------------------- diff */

enum jdiff_kind {
    JDIFF_ADDED = 0,    /* in B only: op "add" */
    JDIFF_REMOVED,      /* in A only: op "remove" */
    JDIFF_CHANGED,      /* same type, other value: op "replace" */
    JDIFF_TYPE_CHANGED, /* other JSON type (or integer vs real under
                           strict_numbers): op "replace" */
};
#define JDIFF_KINDS 4

/* "added", "removed", "changed", "type_changed" */
const char *jdiff_kind_name(enum jdiff_kind kind);

struct jdiff_item {
    enum jdiff_kind kind;
    const char *path;   /* where the patch operation applies (RFC 6901) */
    size_t path_len;    /* its length: a member name may hold U+0000, which
                           cuts every path here short as a C string */
    const char *field;  /* path with every array index token replaced by "*":
                           the key for per-field statistics, where the price
                           of any element of /items is one field */
    const char *a_path; /* the value's location in A; NULL when added */
    const char *b_path; /* the value's location in B; NULL when removed */
    uint32_t a_node;    /* the value in A (jdoc node) or JDOC_NONE */
    uint32_t b_node;    /* the value in B or JDOC_NONE */
};

struct jdiff_options {
    const struct jdiff_rules *rules; /* NULL: no rules */
    size_t max_items;                /* keep at most this many items; 0: all */
};

/* Caller-owned; reuse it across diffs to keep its memory. */
struct jdiff_result {
    struct jdiff_item *items;     /* in patch order */
    size_t count;
    uint64_t differences;         /* all differences, kept or not */
    uint64_t ignored;             /* differences hidden by ignore rules */
    uint64_t *rule_hits;          /* [rule id], jdiff_rules_id_limit() long */
    size_t rule_hits_len;
    bool truncated;               /* differences > count: the patch is partial */
    const struct jdoc *a, *b;     /* the documents compared (borrowed) */
    /* private */
    size_t items_cap, hits_cap;
    struct buf strings;
    size_t *offsets;
    size_t offsets_cap;
};

void jdiff_result_init(struct jdiff_result *r);
void jdiff_result_release(struct jdiff_result *r);

/*
 * Compare the roots of a and b.  The result (items and their strings) stays
 * valid until the next jdiff_docs() with it or jdiff_result_release(); it
 * points into a and b, which must live as long.  0, or ERR_NOMEM / ERR_TOOBIG
 * (the strings of the items outgrew 1 GiB).
 */
int jdiff_docs(struct jdiff_result *r, const struct jdoc *a, const struct jdoc *b,
               const struct jdiff_options *opt, struct error *err);

/* The RFC 6902 patch as a new jansson array (see jdoc_to_jansson for how
 * numbers convert).  ERR_UNSUPPORTED for a number beyond a double. */
int jdiff_patch(const struct jdiff_result *r, json_t **patch, struct error *err);

/* Append operation i as JSON text: {"op": ..., "path": ..., "value": ...},
 * values compact and numbers exactly as written in B. */
int jdiff_write_op(struct buf *out, const struct jdiff_result *r, size_t i, unsigned flags);

/* Append the whole patch, one operation per line ("[]" when equal), and a
 * final newline.  flags: enum jdoc_write_flags. */
int jdiff_write_patch(struct buf *out, const struct jdiff_result *r, unsigned flags);

#endif
