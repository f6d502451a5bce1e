#include "jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "utf8.h"

/* 0: copy as is; 1: needs an escape. Filled for bytes < 0x80. */
static const unsigned char needs_escape[128] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* " and & */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, /* < and > */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* backslash */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* DEL */
};

static int append_u_escape(struct buf *out, unsigned code)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', hex[code >> 12 & 15], hex[code >> 8 & 15],
                 hex[code >> 4 & 15], hex[code & 15]};
    return buf_append(out, e, sizeof e);
}

int jsonw_string(struct buf *out, const char *str, size_t len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char html_level = (flags & JSONW_HTML_SAFE) ? 2 : 1;
    size_t i = 0, run = 0;
    int rc;

    /* Worst case is six bytes per input byte; reserve the common case. */
    if ((rc = buf_reserve(out, len + 2)) != 0)
        return rc;
    out->data[out->len++] = '"';
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            unsigned char e = needs_escape[c];
            if (!e || e > html_level) {
                i++;
                continue;
            }
        } else {
            size_t n = utf8_sequence_length(s + i, len - i);
            /* U+2028/2029 end a JavaScript string in older engines. */
            int line_sep = n == 3 && c == 0xE2 && s[i + 1] == 0x80 &&
                           (s[i + 2] == 0xA8 || s[i + 2] == 0xA9);
            if (n && !(line_sep && (flags & JSONW_HTML_SAFE))) {
                i += n;
                continue;
            }
            if ((rc = buf_append(out, s + run, i - run)) != 0)
                return rc;
            if (n) {
                rc = append_u_escape(out, s[i + 2] == 0xA8 ? 0x2028 : 0x2029);
                i += 3;
            } else {
                rc = buf_append(out, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            }
            if (rc)
                return rc;
            run = i;
            continue;
        }
        if ((rc = buf_append(out, s + run, i - run)) != 0)
            return rc;
        switch (c) {
        case '"': rc = buf_append(out, "\\\"", 2); break;
        case '\\': rc = buf_append(out, "\\\\", 2); break;
        case '\n': rc = buf_append(out, "\\n", 2); break;
        case '\r': rc = buf_append(out, "\\r", 2); break;
        case '\t': rc = buf_append(out, "\\t", 2); break;
        default: rc = append_u_escape(out, c); break;
        }
        if (rc)
            return rc;
        run = ++i;
    }
    if ((rc = buf_append(out, s + run, i - run)) != 0)
        return rc;
    return buf_append_char(out, '"');
}

int jsonw_cstring(struct buf *out, const char *s, unsigned flags)
{
    if (!s)
        return buf_append(out, "null", 4);
    return jsonw_string(out, s, strlen(s), flags);
}

int jsonw_uint(struct buf *out, uint64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

int jsonw_int(struct buf *out, int64_t v)
{
    int rc;
    if (v >= 0)
        return jsonw_uint(out, (uint64_t)v);
    if ((rc = buf_append_char(out, '-')) != 0)
        return rc;
    return jsonw_uint(out, (uint64_t)0 - (uint64_t)v);
}

int jsonw_double(struct buf *out, double v)
{
    char tmp[40];
    int prec;

    if (!isfinite(v))
        return buf_append(out, "null", 4);
    if (fabs(v) < 1e15 && v == (double)(int64_t)v) /* range first: the cast is UB beyond int64 */
        return jsonw_int(out, (int64_t)v);
    /* Shortest %.*g that round-trips: 0.1 prints as 0.1, not 0.1000...01. */
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return buf_append_str(out, tmp);
}

int jsonw_typed_object(struct buf *out, const char *type, const char *object)
{
    const char *rest;
    int rc;

    while (*object == ' ')
        object++;
    if (*object != '{')
        return ERR_INPUT;
    rest = object + 1;
    while (*rest == ' ' || *rest == '\n')
        rest++;
    rc = buf_append_str(out, "{\"type\":");
    rc |= jsonw_cstring(out, type, 0);
    if (*rest != '}')
        rc |= buf_append_char(out, ',');
    rc |= buf_append_str(out, rest);
    return rc ? ERR_TOOBIG : 0;
}
