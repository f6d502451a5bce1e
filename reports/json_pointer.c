/*
 * json_pointer.c — RFC 6901 pointers and wildcard patterns (json_pointer.h).
 */
#include "json_pointer.h"

#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void jpointer_init(struct jpointer *p)
{
    memset(p, 0, sizeof *p);
}

void jpointer_release(struct jpointer *p)
{
    if (!p)
        return;
    free(p->tokens);
    free(p->text);
    jpointer_init(p);
}

/* Quote a pointer for a message, cut if long. */
static const char *shown(const char *text, size_t len, char *tmp, size_t size)
{
    size_t n = len < size - 4 ? len : size - 4;
    memcpy(tmp, text, n);
    strcpy(tmp + n, len > n ? "..." : "");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)tmp[i] < 0x20)
            tmp[i] = '?';
    return tmp;
}

int jpointer_parse(struct jpointer *p, const char *text, size_t len, struct error *err)
{
    size_t count = 0, t = 0;
    char tmp[128];
    char *o;

    p->count = 0;
    if (len == 0)
        return 0;
    if (text[0] != '/')
        return error_set(err, ERR_INPUT,
                         "invalid JSON Pointer \"%s\": it must be empty or start with '/'",
                         shown(text, len, tmp, sizeof tmp));
    for (size_t i = 0; i < len; i++)
        count += text[i] == '/';
    if (len + 1 > p->cap) {
        char *nt = realloc(p->text, len + 1);
        if (!nt)
            return error_set(err, ERR_NOMEM, "out of memory");
        p->text = nt;
        p->cap = len + 1;
    }
    {
        struct jpointer_token *nt = realloc(p->tokens, count * sizeof *nt);
        if (!nt)
            return error_set(err, ERR_NOMEM, "out of memory");
        p->tokens = nt;
    }
    o = p->text;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '/') {
            if (t)
                p->tokens[t - 1].len = (size_t)(o - p->tokens[t - 1].s);
            p->tokens[t++].s = o;
            continue;
        }
        if (c == '~') {
            if (i + 1 < len && (text[i + 1] == '0' || text[i + 1] == '1')) {
                *o++ = text[++i] == '0' ? '~' : '/';
                continue;
            }
            return error_set(err, ERR_INPUT,
                             "invalid JSON Pointer \"%s\": '~' at character %zu must be "
                             "followed by 0 (for '~') or 1 (for '/')",
                             shown(text, len, tmp, sizeof tmp), i + 1);
        }
        *o++ = c;
    }
    p->tokens[t - 1].len = (size_t)(o - p->tokens[t - 1].s);
    p->count = t;
    return 0;
}

int jpointer_append_token(struct buf *out, const char *token, size_t len)
{
    size_t run = 0;
    int rc = buf_append_char(out, '/');

    for (size_t i = 0; i < len && !rc; i++) {
        if (token[i] != '~' && token[i] != '/')
            continue;
        rc = buf_append(out, token + run, i - run);
        if (!rc)
            rc = buf_append(out, token[i] == '~' ? "~0" : "~1", 2);
        run = i + 1;
    }
    return rc ? rc : buf_append(out, token + run, len - run);
}

int jpointer_append_index(struct buf *out, size_t index)
{
    int rc = buf_append_char(out, '/');
    return rc ? rc : jsonw_uint(out, index);
}

int jpointer_format(struct buf *out, const struct jpointer *p, size_t n)
{
    int rc = buf_append(out, "", 0);
    for (size_t i = 0; i < n && !rc; i++)
        rc = jpointer_append_token(out, p->tokens[i].s, p->tokens[i].len);
    return rc;
}

int jpointer_index(const char *s, size_t len, size_t *index)
{
    size_t v = 0;

    if (len == 1 && s[0] == '-')
        return JPOINTER_END;
    if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
        return JPOINTER_BAD;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return JPOINTER_BAD;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *index = v;
    return JPOINTER_INDEX;
}

/* "at the root" or "at \"/a/b\"" for the first n tokens, cut for a message. */
static const char *prefix_text(const struct jpointer *p, size_t n, char *tmp, size_t size)
{
    struct buf b;
    char quoted[128];

    if (n == 0)
        return "at the root";
    buf_init(&b, sizeof quoted * 2);
    if (jpointer_format(&b, p, n) == 0 && b.data)
        shown(b.data, b.len, quoted, sizeof quoted);
    else
        snprintf(quoted, sizeof quoted, "...");
    buf_release(&b);
    snprintf(tmp, size, "at \"%s\"", quoted);
    return tmp;
}

json_t *jpointer_get(const json_t *doc, const struct jpointer *p, size_t n, struct error *err)
{
    json_t *cur = (json_t *)doc;
    char at[160], tok[96];

    for (size_t i = 0; i < n; i++) {
        const struct jpointer_token *t = &p->tokens[i];
        size_t index;
        if (json_is_object(cur)) {
            json_t *next = json_object_getn(cur, t->s, t->len);
            if (!next) {
                error_set(err, ERR_INPUT, "no member \"%s\" in the object %s",
                          shown(t->s, t->len, tok, sizeof tok), prefix_text(p, i, at, sizeof at));
                return NULL;
            }
            cur = next;
        } else if (json_is_array(cur)) {
            int r = jpointer_index(t->s, t->len, &index);
            if (r != JPOINTER_INDEX) {
                error_set(err, ERR_INPUT,
                          "\"%s\" is not an array index (expected 0, 1, ... without leading "
                          "zeros) for the array %s",
                          shown(t->s, t->len, tok, sizeof tok), prefix_text(p, i, at, sizeof at));
                return NULL;
            }
            if (index >= json_array_size(cur)) {
                error_set(err, ERR_INPUT,
                          "index %zu is out of range for the array of %zu elements %s",
                          index, json_array_size(cur), prefix_text(p, i, at, sizeof at));
                return NULL;
            }
            cur = json_array_get(cur, index);
        } else {
            error_set(err, ERR_INPUT, "cannot look up \"%s\" in the %s %s",
                      shown(t->s, t->len, tok, sizeof tok),
                      json_is_string(cur) ? "string" : json_is_number(cur) ? "number"
                      : json_is_null(cur) ? "null" : "boolean",
                      prefix_text(p, i, at, sizeof at));
            return NULL;
        }
    }
    return cur;
}

uint32_t jpointer_find(const struct jdoc *d, uint32_t from, const struct jpointer *p)
{
    uint32_t cur = from;

    for (size_t i = 0; i < p->count && cur != JDOC_NONE; i++) {
        const struct jpointer_token *t = &p->tokens[i];
        const struct jdoc_node *n = jdoc_at(d, cur);
        if (n->type == JDOC_OBJECT) {
            cur = jdoc_get(d, cur, t->s, t->len);
        } else if (n->type == JDOC_ARRAY) {
            size_t index;
            uint32_t e;
            if (jpointer_index(t->s, t->len, &index) != JPOINTER_INDEX || index >= n->len)
                return JDOC_NONE;
            for (e = jdoc_first(d, cur); index--;)
                e = jdoc_next(d, cur, e);
            cur = e;
        } else {
            return JDOC_NONE;
        }
    }
    return cur;
}

/* --------------------------------------------------------------- patterns */

void jpointer_pattern_init(struct jpointer_pattern *pat)
{
    memset(pat, 0, sizeof *pat);
    jpointer_init(&pat->ptr);
}

void jpointer_pattern_release(struct jpointer_pattern *pat)
{
    if (!pat)
        return;
    jpointer_release(&pat->ptr);
    free(pat->kinds);
    free(pat->source);
    jpointer_pattern_init(pat);
}

int jpointer_pattern_compile(struct jpointer_pattern *pat, const char *text, size_t len,
                             struct error *err)
{
    char tmp[128];
    int rc;

    jpointer_pattern_release(pat);
    if ((rc = jpointer_parse(&pat->ptr, text, len, err)) != 0)
        return rc;
    if (pat->ptr.count > JPOINTER_PATTERN_MAX_TOKENS)
        return error_set(err, ERR_INPUT, "pattern \"%s\" has more than %d tokens",
                         shown(text, len, tmp, sizeof tmp), JPOINTER_PATTERN_MAX_TOKENS);
    pat->kinds = calloc(pat->ptr.count + 1, 1);
    pat->source = malloc(len + 1);
    if (!pat->kinds || !pat->source)
        return error_set(err, ERR_NOMEM, "out of memory");
    memcpy(pat->source, text, len);
    pat->source[len] = '\0';
    for (size_t i = 0; i < pat->ptr.count; i++) {
        const struct jpointer_token *t = &pat->ptr.tokens[i];
        if (t->len == 1 && t->s[0] == '*')
            pat->kinds[i] = JPOINTER_STAR;
        else if (t->len == 2 && t->s[0] == '*' && t->s[1] == '*')
            pat->kinds[i] = JPOINTER_GLOBSTAR;
    }
    return 0;
}

static bool token_matches(const struct jpointer_pattern *pat, size_t pos, const char *s,
                          size_t len)
{
    const struct jpointer_token *t = &pat->ptr.tokens[pos];
    return pat->kinds[pos] != JPOINTER_LITERAL ||
           (t->len == len && memcmp(t->s, s, len) == 0);
}

bool jpointer_pattern_match(const struct jpointer_pattern *pat, const struct jpointer *p)
{
    /* One pass of the pattern's NFA: live[k] says k tokens are matched. */
    uint8_t live[JPOINTER_PATTERN_MAX_TOKENS + 1], next[JPOINTER_PATTERN_MAX_TOKENS + 1];
    size_t n = pat->ptr.count;

    memset(live, 0, n + 1);
    live[0] = 1;
    for (size_t k = 0; k < n; k++)
        if (live[k] && pat->kinds[k] == JPOINTER_GLOBSTAR)
            live[k + 1] = 1;
    for (size_t i = 0; i < p->count; i++) {
        bool any = false;
        memset(next, 0, n + 1);
        for (size_t k = 0; k < n; k++) {
            if (!live[k] || !token_matches(pat, k, p->tokens[i].s, p->tokens[i].len))
                continue;
            next[pat->kinds[k] == JPOINTER_GLOBSTAR ? k : k + 1] = 1;
            any = true;
        }
        if (!any)
            return false;
        for (size_t k = 0; k < n; k++)
            if (next[k] && pat->kinds[k] == JPOINTER_GLOBSTAR)
                next[k + 1] = 1;
        memcpy(live, next, n + 1);
    }
    return live[n];
}

size_t jpointer_states_max(const struct jpointer_pattern *const *set, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += set[i]->ptr.count + 1;
    return total;
}

/* Add (pattern, pos) and, past "**" tokens, the positions after them. */
static size_t add_state(const struct jpointer_pattern *const *set, struct jpointer_state *out,
                        size_t nout, uint32_t pattern, uint32_t pos)
{
    const struct jpointer_pattern *pat = set[pattern];
    for (;;) {
        size_t i;
        for (i = 0; i < nout; i++)
            if (out[i].pattern == pattern && out[i].pos == pos)
                break;
        if (i == nout)
            out[nout++] = (struct jpointer_state){pattern, pos};
        if (pos >= pat->ptr.count || pat->kinds[pos] != JPOINTER_GLOBSTAR)
            return nout;
        pos++;
    }
}

size_t jpointer_match_start(const struct jpointer_pattern *const *set, size_t n,
                            struct jpointer_state *out)
{
    size_t nout = 0;
    for (size_t i = 0; i < n; i++)
        nout = add_state(set, out, nout, (uint32_t)i, 0);
    return nout;
}

size_t jpointer_match_step(const struct jpointer_pattern *const *set,
                           const struct jpointer_state *in, size_t nin, const char *token,
                           size_t len, struct jpointer_state *out)
{
    size_t nout = 0;
    for (size_t i = 0; i < nin; i++) {
        const struct jpointer_pattern *pat = set[in[i].pattern];
        uint32_t pos = in[i].pos;
        if (pos >= pat->ptr.count || !token_matches(pat, pos, token, len))
            continue;
        nout = add_state(set, out, nout, in[i].pattern,
                         pat->kinds[pos] == JPOINTER_GLOBSTAR ? pos : pos + 1);
    }
    return nout;
}
