#include "json_shape.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "json_pointer.h"

#define POINTER_MAX ((size_t)1 << 30)
#define SHAPE_MAX_DEPTH 64

/* "/endpoints/3/body/raw" → "endpoints[3].body.raw"; hostile member names
 * are quoted and shown with escape.h's visible forms. */
static void display_path(const char *p, size_t len, struct buf *out)
{
    size_t i = 0;

    if (len == 0) {
        buf_append_str(out, "(the document)");
        return;
    }
    while (i < len && p[i] == '/') {
        struct buf tok;
        size_t j = ++i;
        bool numeric = true, ident = true;

        buf_init(&tok, 4096);
        for (; j < len && p[j] != '/'; j++) {
            char c = p[j];
            if (c == '~' && j + 1 < len && (p[j + 1] == '0' || p[j + 1] == '1'))
                c = p[++j] == '0' ? '~' : '/';
            buf_append_char(&tok, c);
        }
        for (size_t k = 0; k < tok.len; k++) {
            unsigned char c = (unsigned char)tok.data[k];
            numeric = numeric && isdigit(c);
            ident = ident && (isalnum(c) || c == '_' || c == '-');
        }
        if (tok.len && numeric) {
            buf_printf(out, "[%s]", tok.data);
        } else if (tok.len && ident) {
            if (out->len)
                buf_append_char(out, '.');
            buf_append(out, tok.data, tok.len);
        } else {
            buf_append_str(out, "[\"");
            escape_append(out, ESCAPE_PLAIN, tok.data ? tok.data : "", tok.len, 60, 0);
            buf_append_str(out, "\"]");
        }
        buf_release(&tok);
        i = j;
    }
}

static int located_v(const struct jdoc *d, uint32_t i, const char *pointer, size_t plen,
                     struct error *err, int code, const char *fmt, va_list ap)
{
    char msg[ERROR_MESSAGE_MAX];
    size_t line = 0, col = 0;
    struct buf path;
    int rc;

    vsnprintf(msg, sizeof msg, fmt, ap);
    if (i != JDOC_NONE && i < d->count)
        jdoc_location(d, jdoc_at(d, i)->offset, &line, &col);
    buf_init(&path, 1024);
    display_path(pointer, plen, &path);
    if (line)
        rc = error_set(err, code, "%s:%zu:%zu: %s: %s", d->name, line, col,
                       path.data ? path.data : "", msg);
    else
        rc = error_set(err, code, "%s: %s: %s", d->name, path.data ? path.data : "", msg);
    buf_release(&path);
    return rc;
}

int jshape_error(const struct jdoc *d, uint32_t i, const char *pointer, struct error *err,
                 int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = located_v(d, i, pointer, strlen(pointer), err, code, fmt, ap);
    va_end(ap);
    return rc;
}

static int located(const struct jdoc *d, uint32_t i, const struct buf *ptr, struct error *err,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int located(const struct jdoc *d, uint32_t i, const struct buf *ptr, struct error *err,
                   const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = located_v(d, i, ptr->data ? ptr->data : "", ptr->len, err, ERR_INPUT, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *kind_text(const struct jshape *s)
{
    if (s->what)
        return s->what;
    switch (s->kind) {
    case JSHAPE_ANY: return "a value";
    case JSHAPE_STRING: return "a string";
    case JSHAPE_COUNT: return "a count (an integer >= 0)";
    case JSHAPE_INT: return "an integer";
    case JSHAPE_NUMBER: return "a number";
    case JSHAPE_BOOL: return "true or false";
    case JSHAPE_OBJECT: return "an object";
    case JSHAPE_ARRAY: return "an array";
    case JSHAPE_MAP: return "an object";
    }
    return "a value";
}

/* "a string (\"12\")", "the number -1", "null", "an array". */
static void describe(const struct jdoc *d, uint32_t i, char *out, size_t size)
{
    const struct jdoc_node *n = jdoc_at(d, i);
    struct buf b;

    switch (n->type) {
    case JDOC_NULL: snprintf(out, size, "null"); return;
    case JDOC_BOOL: snprintf(out, size, "%s", (n->flags & JDOC_F_TRUE) ? "true" : "false"); return;
    case JDOC_ARRAY: snprintf(out, size, "an array"); return;
    case JDOC_OBJECT: snprintf(out, size, "an object"); return;
    default: break;
    }
    buf_init(&b, 512);
    escape_append(&b, ESCAPE_PLAIN, n->text, n->len, 40, 0);
    if (n->type == JDOC_NUMBER)
        snprintf(out, size, "the number %s", b.data ? b.data : "");
    else
        snprintf(out, size, "a string (\"%s\")", b.data ? b.data : "");
    buf_release(&b);
}

static bool digits_fit_u64(const char *s, size_t len, uint64_t *v)
{
    uint64_t r = 0;

    for (size_t k = 0; k < len; k++) {
        unsigned digit = (unsigned)(s[k] - '0');
        if (digit > 9 || r > (UINT64_MAX - digit) / 10)
            return false;
        r = r * 10 + digit;
    }
    *v = r;
    return len > 0;
}

static bool read_count(const struct jdoc_node *n, uint64_t *v)
{
    return n->type == JDOC_NUMBER && (n->flags & JDOC_F_INTEGER) && n->len &&
           n->text[0] != '-' && digits_fit_u64(n->text, n->len, v);
}

static bool read_int(const struct jdoc_node *n, int64_t *v)
{
    uint64_t u;
    bool neg;

    if (n->type != JDOC_NUMBER || !(n->flags & JDOC_F_INTEGER) || !n->len)
        return false;
    neg = n->text[0] == '-';
    if (!digits_fit_u64(n->text + neg, n->len - neg, &u))
        return false;
    if (neg ? u > (uint64_t)INT64_MAX + 1 : u > (uint64_t)INT64_MAX)
        return false;
    *v = neg ? (int64_t)(0 - u) : (int64_t)u;
    return true;
}

static int check(const struct jdoc *d, uint32_t i, struct buf *ptr, const struct jshape *s,
                 int depth, struct error *err);

static int mismatch(const struct jdoc *d, uint32_t i, struct buf *ptr, const struct jshape *s,
                    struct error *err)
{
    char found[160];

    describe(d, i, found, sizeof found);
    return located(d, i, ptr, err, "expected %s%s, found %s", kind_text(s),
                   s->nullable ? " or null" : "", found);
}

static int check_object(const struct jdoc *d, uint32_t i, struct buf *ptr,
                        const struct jshape *s, int depth, struct error *err)
{
    size_t mark = ptr->len;
    int rc;

    for (const struct jshape_member *m = s->members; m && m->name; m++) {
        uint32_t v = jdoc_get(d, i, m->name, strlen(m->name));
        if (v == JDOC_NONE) {
            if (m->required)
                return located(d, i, ptr, err, "missing required member \"%s\"", m->name);
            continue;
        }
        if ((rc = jpointer_append_token(ptr, m->name, strlen(m->name))) != 0)
            return error_set(err, rc, "%s: a JSON path is too long to check", d->name);
        rc = check(d, v, ptr, m->shape, depth + 1, err);
        ptr->len = mark;
        ptr->data[mark] = '\0';
        if (rc)
            return rc;
    }
    return 0;
}

static int check(const struct jdoc *d, uint32_t i, struct buf *ptr, const struct jshape *s,
                 int depth, struct error *err)
{
    const struct jdoc_node *n = jdoc_at(d, i);
    size_t mark = ptr->len;
    uint64_t u;
    int64_t v;
    int rc;

    if (depth > SHAPE_MAX_DEPTH)
        return located(d, i, ptr, err, "nested too deeply");
    if (n->type == JDOC_NULL && (s->nullable || s->kind == JSHAPE_ANY))
        return 0;
    switch (s->kind) {
    case JSHAPE_ANY:
        return 0;
    case JSHAPE_STRING:
        if (n->type != JDOC_STRING)
            return mismatch(d, i, ptr, s, err);
        if (s->values) {
            for (const char *const *val = s->values; *val; val++)
                if (strlen(*val) == n->len && memcmp(*val, n->text, n->len) == 0)
                    return 0;
            char found[160], allowed[400] = "";
            size_t used = 0;
            describe(d, i, found, sizeof found);
            for (const char *const *val = s->values; *val && used < sizeof allowed; val++)
                used += (size_t)snprintf(allowed + used, sizeof allowed - used, "%s\"%s\"",
                                         val == s->values ? "" : ", ", *val);
            return located(d, i, ptr, err, "expected %s (one of %s), found %s", kind_text(s),
                           allowed, found);
        }
        return 0;
    case JSHAPE_COUNT:
        return read_count(n, &u) ? 0 : mismatch(d, i, ptr, s, err);
    case JSHAPE_INT:
        return read_int(n, &v) ? 0 : mismatch(d, i, ptr, s, err);
    case JSHAPE_NUMBER:
        if (n->type != JDOC_NUMBER || !isfinite(jdoc_number_double(n)))
            return mismatch(d, i, ptr, s, err);
        return 0;
    case JSHAPE_BOOL:
        return n->type == JDOC_BOOL ? 0 : mismatch(d, i, ptr, s, err);
    case JSHAPE_OBJECT:
        if (n->type != JDOC_OBJECT)
            return mismatch(d, i, ptr, s, err);
        return check_object(d, i, ptr, s, depth, err);
    case JSHAPE_ARRAY:
    case JSHAPE_MAP: {
        size_t index = 0;
        if (n->type != (s->kind == JSHAPE_ARRAY ? JDOC_ARRAY : JDOC_OBJECT))
            return mismatch(d, i, ptr, s, err);
        if (!s->items)
            return 0;
        for (uint32_t c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c), index++) {
            uint32_t value = c;
            if (s->kind == JSHAPE_MAP) {
                value = c + 1;
                rc = jpointer_append_token(ptr, jdoc_at(d, c)->text, jdoc_at(d, c)->len);
            } else {
                rc = jpointer_append_index(ptr, index);
            }
            if (rc)
                return error_set(err, rc, "%s: a JSON path is too long to check", d->name);
            rc = check(d, value, ptr, s->items, depth + 1, err);
            ptr->len = mark;
            ptr->data[mark] = '\0';
            if (rc)
                return rc;
        }
        return 0;
    }
    }
    return 0;
}

int jshape_check(const struct jdoc *d, uint32_t i, const char *pointer,
                 const struct jshape *shape, struct error *err)
{
    struct buf ptr;
    int rc;

    buf_init(&ptr, POINTER_MAX);
    if ((rc = buf_append_str(&ptr, pointer)) != 0)
        return error_set(err, rc, "out of memory");
    rc = check(d, i, &ptr, shape, 0, err);
    buf_release(&ptr);
    return rc;
}

uint64_t jshape_count(const struct jdoc *d, uint32_t i)
{
    uint64_t v = 0;
    if (i == JDOC_NONE || !read_count(jdoc_at(d, i), &v))
        return 0;
    return v;
}

int64_t jshape_int(const struct jdoc *d, uint32_t i)
{
    int64_t v = 0;
    if (i == JDOC_NONE || !read_int(jdoc_at(d, i), &v))
        return 0;
    return v;
}

double jshape_number(const struct jdoc *d, uint32_t i)
{
    if (i == JDOC_NONE || jdoc_at(d, i)->type != JDOC_NUMBER)
        return 0;
    return jdoc_number_double(jdoc_at(d, i));
}
