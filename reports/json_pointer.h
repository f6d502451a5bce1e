/*
 * json_pointer.h — RFC 6901 JSON Pointers, and pointer patterns for rules.
 *
 * A pointer is "" (the whole document) or a sequence of "/token"; in a token
 * "~1" stands for '/' and "~0" for '~' (any other '~' is an error).  Array
 * indices are decimal without leading zeros ("0", "12"; not "01", "1e0",
 * "-1"); "-" names the position after the last element (RFC 6902 add).
 *
 * A pattern is a pointer whose tokens may be wildcards: the token "*" matches
 * any one token (a member name or an index), the token "**" any number of
 * tokens, none included.  So the pattern made of "data", "*", "updated_at"
 * matches /data/0/updated_at and /data/x/updated_at, and "**", "password"
 * matches a "password" member at any depth (examples in docs/rules-format.md;
 * C comments cannot spell them).  A token that is exactly "*" or "**" is
 * always a wildcard (it also matches a member named "*").
 *
 * Walking a document, the diff matches many patterns at once without
 * re-reading paths: jpointer_match_start() gives the states at the root,
 * jpointer_match_step() those of a child from its parent's, and a state whose
 * pos equals its pattern's token count is a match at that node.
 *
 * Functions are prefixed jpointer_ because json_ is jansson's.
 */
#ifndef REHEARSE_JSON_POINTER_H
#define REHEARSE_JSON_POINTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "jdoc.h"

struct jpointer_token {
    const char *s; /* unescaped, not NUL-terminated; may contain NUL */
    size_t len;
};

/* A parsed pointer; caller-owned: init, parse (any number of times), release. */
struct jpointer {
    struct jpointer_token *tokens;
    size_t count;
    /* private */
    char *text;
    size_t cap;
};

void jpointer_init(struct jpointer *p);
void jpointer_release(struct jpointer *p);

/* Parse text[0..len).  ERR_INPUT with the position of the offending
 * character when it does not start with '/' or has a bad '~' escape. */
int jpointer_parse(struct jpointer *p, const char *text, size_t len, struct error *err);

/* Append "/" + the escaped token, or "/" + the index, to out. */
int jpointer_append_token(struct buf *out, const char *token, size_t len);
int jpointer_append_index(struct buf *out, size_t index);
/* Append the first n tokens of p as pointer text ("" when n is 0). */
int jpointer_format(struct buf *out, const struct jpointer *p, size_t n);

enum jpointer_index_result {
    JPOINTER_INDEX = 0,   /* *index is set */
    JPOINTER_END = 1,     /* the token is "-" */
    JPOINTER_BAD = -1,    /* not an array index */
};
/* Read an array index token (RFC 6901: "0" or [1-9][0-9]*, or "-"). */
int jpointer_index(const char *token, size_t len, size_t *index);

/*
 * Resolve the first n tokens of p in doc.  Returns the value (borrowed from
 * doc) or NULL, with err saying which token failed and why, e.g.
 * `no member "b" in the object at "/a"`.  The error code is ERR_INPUT.
 */
json_t *jpointer_get(const json_t *doc, const struct jpointer *p, size_t n, struct error *err);

/* Resolve p below node `from` of a jdoc: the node, or JDOC_NONE. */
uint32_t jpointer_find(const struct jdoc *d, uint32_t from, const struct jpointer *p);

/* ---------------------------------------------------------------- patterns */

#define JPOINTER_PATTERN_MAX_TOKENS 256

enum jpointer_token_kind {
    JPOINTER_LITERAL = 0,
    JPOINTER_STAR,     /* "*": one token */
    JPOINTER_GLOBSTAR, /* "**": zero or more tokens */
};

struct jpointer_pattern {
    struct jpointer ptr;
    uint8_t *kinds;    /* enum jpointer_token_kind per token */
    char *source;      /* the pattern text as given (NUL-terminated) */
};

void jpointer_pattern_init(struct jpointer_pattern *pat);
void jpointer_pattern_release(struct jpointer_pattern *pat);
/* Compile a pattern; errors as jpointer_parse, and ERR_INPUT beyond
 * JPOINTER_PATTERN_MAX_TOKENS tokens. */
int jpointer_pattern_compile(struct jpointer_pattern *pat, const char *text, size_t len,
                             struct error *err);

/* Does the whole pointer p match the pattern? */
bool jpointer_pattern_match(const struct jpointer_pattern *pat, const struct jpointer *p);

/* A position inside one pattern of a set. */
struct jpointer_state {
    uint32_t pattern;  /* index into the set */
    uint32_t pos;      /* tokens matched so far */
};

/* The most states a set can be in at once: size state arrays with it. */
size_t jpointer_states_max(const struct jpointer_pattern *const *set, size_t n);

/* States at the document root; returns how many were written to out. */
size_t jpointer_match_start(const struct jpointer_pattern *const *set, size_t n,
                            struct jpointer_state *out);

/* States after descending into the child named token[0..len) (an index
 * written in decimal).  Returns how many were written to out. */
size_t jpointer_match_step(const struct jpointer_pattern *const *set,
                           const struct jpointer_state *in, size_t nin, const char *token,
                           size_t len, struct jpointer_state *out);

static inline bool jpointer_state_final(const struct jpointer_pattern *const *set,
                                        const struct jpointer_state *st)
{
    return st->pos == set[st->pattern]->ptr.count;
}

#endif
