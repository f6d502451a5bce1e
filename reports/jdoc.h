/*
 * jdoc.h — a fast, bounded JSON parser into a compact, read-only tree.
 *
 * Why not jansson here: jansson parses API bodies at about 33 MB/s on our
 * machines, allocates one object per value, cannot read integers beyond
 * int64, compares 1 and 1.0 as different and forgets how a number was
 * written.  The response diff reads hundreds of MB of bodies, so it parses
 * them into this tree instead (several hundred MB/s) and converts to jansson
 * only the few values it hands out (jdoc_to_jansson).
 *
 * The tree is one array of nodes in document order (pre-order).  A node's
 * subtree is [index, node->end).  An array's elements follow it; an object's
 * members follow it as a key node (a string) then the value's subtree.
 *
 * Strict RFC 8259: no comments, trailing commas, NaN or leading zeros; the
 * text must be UTF-8 (a leading UTF-8 BOM is skipped); lone surrogates in
 * \u escapes are rejected; "\u0000" is accepted (strings carry a length).
 * Duplicate object keys: the last one wins, as in jansson and JavaScript;
 * the earlier members are kept but flagged JDOC_F_SHADOWED and skipped by
 * every function below.
 *
 * Numbers keep their original text (node->text), so reports show exactly
 * what the service sent and integers of any size compare exactly.  Equality
 * of numbers is by exact decimal value: 1 == 1.0 == 10e-1, and
 * 12345678901234567890 != 12345678901234567891 (a double would merge them).
 *
 * Every node carries a 64-bit hash of its value: equal values (numbers by
 * value, objects whatever their key order) have equal hashes, so a different
 * hash proves a difference.  Equal hashes are confirmed with jdoc_equal().
 *
 * Bounded: nesting depth, node count and input size have limits, and a
 * violation is an ERR_TOOBIG error, never an allocation.  Errors name the
 * source, line:column (column in characters) and byte offset.
 *
 * Ownership: string and number texts point into the parsed input (which the
 * caller must keep alive while the document is used, except with
 * jdoc_parse_file, where the document owns it) or into the document's own
 * buffer of unescaped strings.  Everything is borrowed until the next parse
 * into the same document or jdoc_release().
 *
 * Functions are prefixed jdoc_ because json_ is jansson's (docs/hacking.md).
 */
#ifndef REHEARSE_JDOC_H
#define REHEARSE_JDOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"

#define JDOC_NONE UINT32_MAX

enum jdoc_type {
    JDOC_NULL = 0,
    JDOC_BOOL,
    JDOC_NUMBER,
    JDOC_STRING,
    JDOC_ARRAY,
    JDOC_OBJECT,
};

enum jdoc_flags {
    JDOC_F_TRUE = 1 << 0,     /* a boolean that is true */
    JDOC_F_INTEGER = 1 << 1,  /* a number written without '.', 'e' or 'E' */
    JDOC_F_KEY = 1 << 2,      /* a string that is an object member's key */
    JDOC_F_SHADOWED = 1 << 3, /* a key repeated later in its object: ignored */
    JDOC_F_ESCAPED = 1 << 4,  /* a string whose text was unescaped */
};

struct jdoc_node {
    uint64_t hash;    /* hash of the value (see above) */
    const char *text; /* string: unescaped UTF-8; number: original text */
    uint32_t len;     /* bytes of text; array: elements; object: live members */
    uint32_t end;     /* one past the last node of this subtree */
    uint32_t offset;  /* byte offset of the value in the input */
    uint8_t type;     /* enum jdoc_type */
    uint8_t flags;    /* enum jdoc_flags */
};

/* Limits for hostile input; 0 in a field means its default. */
struct jdoc_limits {
    uint32_t max_depth; /* nesting of arrays and objects */
    uint32_t max_nodes; /* values, counting object keys */
    size_t max_size;    /* input bytes (jdoc_parse_file only reads this much) */
};

#define JDOC_DEFAULT_MAX_DEPTH 512u
#define JDOC_DEFAULT_MAX_NODES (16u << 20)
#define JDOC_DEFAULT_MAX_SIZE ((size_t)1 << 30)

struct jdoc {
    struct jdoc_node *nodes; /* nodes[0] is the root, when count > 0 */
    uint32_t count;
    uint32_t depth;          /* deepest nesting in this document */
    const char *src;         /* the input parsed */
    size_t src_len;
    /* private */
    uint32_t cap;
    char *owned;             /* input read by jdoc_parse_file */
    char *strings;           /* unescaped strings */
    size_t strings_len, strings_cap;
    uint32_t *keys;          /* parser scratch: key nodes of open objects */
    size_t keys_len, keys_cap;
    char name[256];          /* source name used in messages */
};

/* Caller-owned document: init once, parse any number of times, release. */
void jdoc_init(struct jdoc *d);
void jdoc_release(struct jdoc *d);

/*
 * Parse data[0..len) (which must stay alive while the document is used).
 * `name` names the source in error messages ("old.json", "response body of
 * transaction 42"); NULL means "<input>".  0, or ERR_INPUT (bad JSON, with
 * name:line:column), ERR_TOOBIG (a limit) or ERR_NOMEM.  On failure the
 * document is empty.
 */
int jdoc_parse(struct jdoc *d, const char *data, size_t len, const char *name,
               const struct jdoc_limits *lim, struct error *err);

/* Read `path` ("-" for standard input) whole, bounded by lim->max_size, and
 * parse it; the document owns the text.  ERR_INPUT when it cannot be opened,
 * ERR_IO when a read fails. */
int jdoc_parse_file(struct jdoc *d, const char *path, const struct jdoc_limits *lim,
                    struct error *err);

/* Read `path` ("-" for standard input) whole, at most `max` bytes (0: the
 * default limit), into *out (malloc'ed, NUL-terminated; free it): for
 * callers that look at the bytes before parsing them.  Errors as
 * jdoc_parse_file. */
int jdoc_read_file(const char *path, size_t max, char **out, size_t *len, struct error *err);

/* Line and column (1-based, the column counted in characters) of a byte
 * offset of the parsed input. */
void jdoc_location(const struct jdoc *d, size_t offset, size_t *line, size_t *column);

static inline const struct jdoc_node *jdoc_at(const struct jdoc *d, uint32_t i)
{
    return &d->nodes[i];
}

/* Iteration.  Elements: for (e = jdoc_first(d, arr); e != JDOC_NONE;
 * e = jdoc_next(d, arr, e)).  Objects yield their live key nodes; the value
 * of key k is node k + 1. */
uint32_t jdoc_first(const struct jdoc *d, uint32_t container);
uint32_t jdoc_next(const struct jdoc *d, uint32_t container, uint32_t child);

/* The value of member `key` (len bytes) of an object, or JDOC_NONE. */
uint32_t jdoc_get(const struct jdoc *d, uint32_t object, const char *key, size_t len);

/* Members of an object sorted by name: how two objects whose members are
 * not in the same order are matched. */
struct jdoc_member {
    uint64_t hash; /* the name's hash */
    uint32_t key;  /* the key node */
    uint32_t pos;  /* rank among the members listed, in document order */
};

/* List the live members of object `obj`, from key node `from` on (JDOC_NONE:
 * all), into out (room for jdoc_at(d, obj)->len), sorted by name; returns
 * how many. */
size_t jdoc_sort_members(const struct jdoc *d, uint32_t obj, uint32_t from,
                         struct jdoc_member *out);
/* Order two listed members by name (<0, 0, >0), of one document or two, as
 * jdoc_sort_members sorts them. */
int jdoc_member_cmp(const struct jdoc *da, const struct jdoc_member *a, const struct jdoc *db,
                    const struct jdoc_member *b);

/* "null", "boolean", "number", "string", "array" or "object"; with
 * split_numbers, "integer" or "real" for numbers. */
const char *jdoc_type_name(const struct jdoc *d, uint32_t i, bool split_numbers);

/* Exact decimal equality of two JSON number texts (grammar already checked). */
bool jdoc_number_equal(const char *a, size_t alen, const char *b, size_t blen);
/* The nearest double (±HUGE_VAL when out of range). */
double jdoc_number_double(const struct jdoc_node *n);

/*
 * Deep equality of da[a] and db[b]: objects whatever their key order,
 * numbers by decimal value; with strict_numbers an integer never equals a
 * real (1 vs 1.0).
 */
bool jdoc_equal(const struct jdoc *da, uint32_t a, const struct jdoc *db, uint32_t b,
                bool strict_numbers);

enum jdoc_write_flags {
    JDOC_WRITE_HTML_SAFE = 1 << 0, /* escape < > & U+2028/9 (common/jsonw.h) */
};

/* Append node i as compact JSON text: numbers exactly as written, strings
 * re-escaped, shadowed members left out.  indent > 0 pretty-prints with that
 * many spaces per level.  0, ERR_TOOBIG or ERR_NOMEM (from the buffer). */
int jdoc_write(struct buf *out, const struct jdoc *d, uint32_t i, int indent, unsigned flags);

/*
 * A new jansson value for node i.  Integers that fit int64 become integers;
 * other numbers become reals (integers beyond int64 lose digits past the
 * 17th; a number beyond the range of a double is ERR_UNSUPPORTED).
 */
int jdoc_to_jansson(const struct jdoc *d, uint32_t i, json_t **out, struct error *err);

/* The first number below node i (in document order) that jdoc_to_jansson
 * cannot carry exactly: an integer beyond int64, or a real whose nearest
 * double reads back as another decimal value (more than 17 digits).
 * JDOC_NONE when there is none; *count (may be NULL) gets how many. */
uint32_t jdoc_find_inexact(const struct jdoc *d, uint32_t i, size_t *count);

/* Append a jansson value as JSON text.  Reals print as the shortest text
 * that reads back as the same double, always with a '.' or an exponent
 * (0.1, not jansson's 0.10000000000000001; 1.0, not 1). */
int jdoc_write_jansson(struct buf *out, const json_t *v, int indent, unsigned flags);

/* Parse the JSON text of a jansson value into d (which then owns the text):
 * the way to diff values that only exist as jansson trees. */
int jdoc_from_jansson(struct jdoc *d, const json_t *v, const char *name, struct error *err);

#endif
