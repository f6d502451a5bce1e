#include "json_locate.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 64
#define MAX_TOKEN_LEN 256
#define MAX_DEPTH 512

struct scanner {
    const char *s;
    size_t len, pos;
    char tokens[MAX_TOKENS][MAX_TOKEN_LEN];
    int ntokens;
    size_t best; /* offset of the deepest matching value so far */
};

static void skip_ws(struct scanner *sc)
{
    while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) && sc->s[sc->pos])
        sc->pos++;
}

static void put_utf8(char *out, size_t *n, size_t max, unsigned cp)
{
    char tmp[4];
    size_t k = 0;
    if (cp < 0x80) {
        tmp[k++] = (char)cp;
    } else if (cp < 0x800) {
        tmp[k++] = (char)(0xC0 | cp >> 6);
        tmp[k++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        tmp[k++] = (char)(0xE0 | cp >> 12);
        tmp[k++] = (char)(0x80 | (cp >> 6 & 0x3F));
        tmp[k++] = (char)(0x80 | (cp & 0x3F));
    } else {
        tmp[k++] = (char)(0xF0 | cp >> 18);
        tmp[k++] = (char)(0x80 | (cp >> 12 & 0x3F));
        tmp[k++] = (char)(0x80 | (cp >> 6 & 0x3F));
        tmp[k++] = (char)(0x80 | (cp & 0x3F));
    }
    for (size_t i = 0; i < k && *n + 1 < max; i++)
        out[(*n)++] = tmp[i];
}

static bool hex4(struct scanner *sc, unsigned *out)
{
    unsigned v = 0;
    if (sc->pos + 4 > sc->len)
        return false;
    for (int i = 0; i < 4; i++) {
        char c = sc->s[sc->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return false;
    }
    *out = v;
    return true;
}

/* Scan a string at pos (which holds '"'); decode it into out (truncated to
 * max) when out is not NULL. */
static bool scan_string(struct scanner *sc, char *out, size_t max)
{
    size_t n = 0;
    sc->pos++; /* opening quote */
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos++];
        if (c == '"') {
            if (out)
                out[n] = '\0';
            return true;
        }
        if (c != '\\') {
            if (out && n + 1 < max)
                out[n++] = c;
            continue;
        }
        if (sc->pos >= sc->len)
            return false;
        c = sc->s[sc->pos++];
        unsigned cp;
        switch (c) {
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            if (!hex4(sc, &cp))
                return false;
            if (cp >= 0xD800 && cp < 0xDC00 && sc->pos + 6 <= sc->len &&
                sc->s[sc->pos] == '\\' && sc->s[sc->pos + 1] == 'u') {
                unsigned lo;
                sc->pos += 2;
                if (!hex4(sc, &lo))
                    return false;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            break;
        default: cp = (unsigned char)c; break;
        }
        if (out)
            put_utf8(out, &n, max, cp);
    }
    return false;
}

static bool skip_value(struct scanner *sc, int depth);

static bool skip_container(struct scanner *sc, int depth, char close)
{
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == close) {
        sc->pos++;
        return true;
    }
    for (;;) {
        skip_ws(sc);
        if (close == '}') {
            if (sc->pos >= sc->len || sc->s[sc->pos] != '"' || !scan_string(sc, NULL, 0))
                return false;
            skip_ws(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos++] != ':')
                return false;
        }
        if (!skip_value(sc, depth + 1))
            return false;
        skip_ws(sc);
        if (sc->pos >= sc->len)
            return false;
        char c = sc->s[sc->pos++];
        if (c == close)
            return true;
        if (c != ',')
            return false;
    }
}

static bool skip_value(struct scanner *sc, int depth)
{
    if (depth > MAX_DEPTH)
        return false;
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return false;
    switch (sc->s[sc->pos]) {
    case '"': return scan_string(sc, NULL, 0);
    case '{': return skip_container(sc, depth, '}');
    case '[': return skip_container(sc, depth, ']');
    default:
        /* number or literal: up to the next delimiter */
        while (sc->pos < sc->len && !strchr(",]} \t\r\n", sc->s[sc->pos]) && sc->s[sc->pos])
            sc->pos++;
        return true;
    }
}

/* At a value; descend along tokens[depth..]. Returns true when found, with
 * sc->pos at the found value. */
static bool descend(struct scanner *sc, int depth)
{
    skip_ws(sc);
    if (sc->pos >= sc->len)
        return false;
    sc->best = sc->pos;
    if (depth == sc->ntokens)
        return true;
    char open = sc->s[sc->pos];
    if (open != '{' && open != '[')
        return false;
    const char *want = sc->tokens[depth];
    char close = open == '{' ? '}' : ']';
    long index = 0, target = -1;

    if (open == '[') {
        char *end;
        target = strtol(want, &end, 10);
        if (!*want || *end || target < 0)
            return false;
    }
    sc->pos++;
    skip_ws(sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == close)
        return false;
    for (;; index++) {
        bool match;
        skip_ws(sc);
        if (open == '{') {
            char key[MAX_TOKEN_LEN];
            if (sc->pos >= sc->len || sc->s[sc->pos] != '"' || !scan_string(sc, key, sizeof key))
                return false;
            skip_ws(sc);
            if (sc->pos >= sc->len || sc->s[sc->pos++] != ':')
                return false;
            match = strcmp(key, want) == 0;
        } else {
            match = index == target;
        }
        if (match)
            return descend(sc, depth + 1);
        if (!skip_value(sc, depth + 1))
            return false;
        skip_ws(sc);
        if (sc->pos >= sc->len || sc->s[sc->pos] != ',')
            return false;
        sc->pos++;
    }
}

static void fill_location(const char *text, size_t offset, struct json_location *loc)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < offset; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    loc->line = line;
    loc->column = col;
    loc->offset = offset;
}

int json_locate(const char *text, size_t len, const char *pointer, struct json_location *loc)
{
    struct scanner *sc = calloc(1, sizeof *sc);
    const char *p = pointer;
    int rc;

    if (!sc) {
        fill_location(text, 0, loc);
        return -1;
    }
    sc->s = text;
    sc->len = len;
    while (*p == '/' && sc->ntokens < MAX_TOKENS) {
        char *tok = sc->tokens[sc->ntokens++];
        size_t n = 0;
        for (p++; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1'))
                c = *++p == '0' ? '~' : '/';
            if (n + 1 < MAX_TOKEN_LEN)
                tok[n++] = c;
        }
        tok[n] = '\0';
    }
    rc = descend(sc, 0) ? 0 : -1;
    fill_location(text, rc == 0 ? sc->pos : sc->best, loc);
    free(sc);
    return rc;
}

void json_pointer_display(const char *pointer, char *out, size_t size)
{
    size_t n = 0;
    const char *p = pointer;

    if (size == 0)
        return;
    out[0] = '\0';
    while (*p == '/') {
        char tok[MAX_TOKEN_LEN];
        size_t t = 0;
        bool simple = true, numeric = true;
        for (p++; *p && *p != '/'; p++) {
            char c = *p;
            if (c == '~' && (p[1] == '0' || p[1] == '1'))
                c = *++p == '0' ? '~' : '/';
            if (t + 1 < sizeof tok)
                tok[t++] = c;
        }
        tok[t] = '\0';
        for (size_t i = 0; i < t; i++) {
            if (!isdigit((unsigned char)tok[i]))
                numeric = false;
            if (!(isalnum((unsigned char)tok[i]) || tok[i] == '_' || tok[i] == '-'))
                simple = false;
        }
        if (t == 0)
            simple = numeric = false;
        int w;
        if (numeric)
            w = snprintf(out + n, size - n, "[%s]", tok);
        else if (simple)
            w = snprintf(out + n, size - n, "%s%s", n ? "." : "", tok);
        else
            w = snprintf(out + n, size - n, "[\"%s\"]", tok);
        if (w < 0 || (size_t)w >= size - n)
            return;
        n += (size_t)w;
    }
}
