/*
 * report_util.c — readers over the checked input documents and formatters
 * for people, shared by the report writers (report_internal.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json_shape.h"
#include "json_pointer.h"
#include "report_internal.h"

/* ---------------------------------------------------------------- readers */

uint32_t rgetn(const struct jdoc *d, uint32_t obj, const char *key, size_t len)
{
    if (obj == JDOC_NONE || !key || jdoc_at(d, obj)->type != JDOC_OBJECT)
        return JDOC_NONE;
    return jdoc_get(d, obj, key, len);
}

uint32_t rget(const struct jdoc *d, uint32_t obj, const char *key)
{
    return rgetn(d, obj, key, strlen(key));
}

struct rstr rstr_at(const struct jdoc *d, uint32_t node)
{
    struct rstr s = {NULL, 0};
    if (node != JDOC_NONE && jdoc_at(d, node)->type == JDOC_STRING) {
        s.s = jdoc_at(d, node)->text;
        s.len = jdoc_at(d, node)->len;
        if (!s.s)
            s.s = "";
    }
    return s;
}

struct rstr rstr_get(const struct jdoc *d, uint32_t obj, const char *key)
{
    return rstr_at(d, rget(d, obj, key));
}

uint64_t rcount(const struct jdoc *d, uint32_t obj, const char *key)
{
    return jshape_count(d, rget(d, obj, key));
}

double rnumber(const struct jdoc *d, uint32_t obj, const char *key, double absent)
{
    uint32_t n = rget(d, obj, key);
    if (n == JDOC_NONE || jdoc_at(d, n)->type != JDOC_NUMBER)
        return absent;
    return jshape_number(d, n);
}

bool rhas_number(const struct jdoc *d, uint32_t obj, const char *key)
{
    uint32_t n = rget(d, obj, key);
    return n != JDOC_NONE && jdoc_at(d, n)->type == JDOC_NUMBER;
}

bool rbool(const struct jdoc *d, uint32_t obj, const char *key)
{
    uint32_t n = rget(d, obj, key);
    return n != JDOC_NONE && jdoc_at(d, n)->type == JDOC_BOOL &&
           (jdoc_at(d, n)->flags & JDOC_F_TRUE);
}

bool rstr_eq(struct rstr a, struct rstr b)
{
    return a.s && b.s && a.len == b.len && memcmp(a.s, b.s, a.len) == 0;
}

bool rstr_is(struct rstr a, const char *s)
{
    return a.s && a.len == strlen(s) && memcmp(a.s, s, a.len) == 0;
}

uint32_t rfirst(const struct jdoc *d, uint32_t node)
{
    return node == JDOC_NONE ? JDOC_NONE : jdoc_first(d, node);
}

size_t rsize(const struct jdoc *d, uint32_t node)
{
    if (node == JDOC_NONE)
        return 0;
    if (jdoc_at(d, node)->type != JDOC_ARRAY && jdoc_at(d, node)->type != JDOC_OBJECT)
        return 0;
    return jdoc_at(d, node)->len;
}

const char *report_role(const struct report *r, struct rstr target)
{
    if (rstr_eq(target, r->base))
        return "base";
    if (rstr_eq(target, r->candidate))
        return "candidate";
    if (rstr_eq(target, r->noise))
        return "noise";
    return NULL;
}

struct rstr report_role_target(const struct report *r, const char *role)
{
    struct rstr none = {NULL, 0};
    if (strcmp(role, "base") == 0)
        return r->base;
    if (strcmp(role, "candidate") == 0)
        return r->candidate;
    if (strcmp(role, "noise") == 0)
        return r->noise;
    return none;
}

enum report_risk report_risk_parse(struct rstr s)
{
    if (rstr_is(s, "high"))
        return RISK_HIGH;
    if (rstr_is(s, "medium"))
        return RISK_MEDIUM;
    if (rstr_is(s, "low"))
        return RISK_LOW;
    return RISK_NONE;
}

const char *report_risk_name(enum report_risk risk)
{
    static const char *const names[] = {"none", "low", "medium", "high"};
    return names[risk];
}

const char *report_result_name(enum report_result result)
{
    static const char *const names[] = {"pass", "regressions", "no_data"};
    return names[result];
}

/* ------------------------------------------------------------- formatting */

double report_rate(uint64_t n, uint64_t of)
{
    return of ? (double)n / (double)of : 0.0;
}

void report_fmt_rate(char *out, size_t size, double rate)
{
    double pct = rate * 100.0;

    if (rate <= 0)
        snprintf(out, size, "0%%");
    else if (pct < 0.01)
        snprintf(out, size, "<0.01%%");
    else if (pct < 1)
        snprintf(out, size, "%.2g%%", pct);
    else if (pct < 99.95)
        snprintf(out, size, "%.3g%%", pct);
    else if (rate < 1)
        snprintf(out, size, ">99.9%%");
    else
        snprintf(out, size, "%.0f%%", pct);
}

void report_fmt_us(char *out, size_t size, double us)
{
    if (!isfinite(us) || us < 0)
        snprintf(out, size, "?");
    else if (us < 1000)
        snprintf(out, size, "%.0f \xC2\xB5s", us);
    else if (us < 1e6)
        snprintf(out, size, "%.3g ms", us / 1e3);
    else
        snprintf(out, size, "%.3g s", us / 1e6);
}

void report_fmt_count(char *out, size_t size, uint64_t n)
{
    char digits[32];
    size_t len, o = 0;

    len = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    for (size_t i = 0; i < len && o + 4 < size; i++) {
        if (i && (len - i) % 3 == 0) {
            memcpy(out + o, "\xE2\x80\xAF", 3); /* U+202F NARROW NO-BREAK SPACE */
            o += 3;
        }
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

int report_reason_line(struct buf *out, const struct report_reason *reason)
{
    int rc = 0;
    bool any = false;
    const struct rstr *parts[] = {&reason->endpoint, &reason->step, &reason->table,
                                  &reason->path, &reason->header, &reason->metric};

    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && !rc; i++) {
        if (!parts[i]->s)
            continue;
        if (any)
            rc = buf_append_char(out, ' ');
        if (!rc && parts[i] == &reason->header)
            rc = buf_append_str(out, "header ");
        if (!rc)
            rc = buf_append(out, parts[i]->s, parts[i]->len);
        any = true;
    }
    if (!rc && any)
        rc = buf_append_str(out, ": ");
    if (!rc && reason->rule.s)
        rc = buf_append(out, reason->rule.s, reason->rule.len);
    return rc;
}


/* -------------------------------------------------------------- examples */

uint32_t report_find_example(const struct report *r, const struct report_endpoint *e,
                             uint64_t tx)
{
    const struct jdoc *d = &r->diff;

    if (e->examples == JDOC_NONE)
        return JDOC_NONE;
    for (uint32_t x = rfirst(d, e->examples); x != JDOC_NONE; x = jdoc_next(d, e->examples, x))
        if (rcount(d, x, "tx") == tx)
            return x;
    return JDOC_NONE;
}

/* Append s cut after max characters (UTF-8 aware), with "…" when cut. */
static int append_cut(struct buf *out, const char *s, size_t len, size_t max)
{
    size_t i = 0, chars = 0;

    while (i < len && chars < max) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    int rc = buf_append(out, s, i);
    if (!rc && i < len)
        rc = buf_append_str(out, "\xE2\x80\xA6");
    return rc;
}

/* The compact JSON text of node i, cut. */
static int append_value(struct buf *out, const struct jdoc *d, uint32_t i, size_t max)
{
    struct buf tmp;
    int rc;

    buf_init(&tmp, 64 * 1024);
    rc = jdoc_write(&tmp, d, i, 0, 0);
    if (rc == ERR_TOOBIG) /* a huge value: show its start */
        rc = 0;
    if (!rc)
        rc = append_cut(out, tmp.data ? tmp.data : "", tmp.len, max);
    buf_release(&tmp);
    return rc;
}

/* The value at `path` in the example's base body, written to out; false
 * when the body is not JSON or has nothing there. */
static bool base_value(const struct jdoc *d, uint32_t example, const struct jpointer *ptr,
                       size_t max, struct buf *out)
{
    uint32_t base = rget(d, example, "base");
    struct rstr body = rstr_get(d, base, "body");
    struct rstr enc = rstr_get(d, base, "body_encoding");
    struct jdoc_limits lim = {64, 1u << 20, 1u << 26};
    struct jdoc doc;
    uint32_t at;
    bool found = false;

    if (!body.s || (enc.s && !rstr_is(enc, "json")))
        return false;
    jdoc_init(&doc);
    if (jdoc_parse(&doc, body.s, body.len, "base body", &lim, NULL) == 0 &&
        (at = jpointer_find(&doc, 0, ptr)) != JDOC_NONE)
        found = append_value(out, &doc, at, max) == 0;
    jdoc_release(&doc);
    return found;
}

int report_example_change(const struct report *r, uint32_t example, struct rstr pattern,
                          size_t max_value, struct buf *out)
{
    const struct jdoc *d = &r->diff;
    uint32_t patch = rget(d, example, "patch"), paths = rget(d, example, "paths");
    struct jpointer_pattern pat;
    struct jpointer ptr;
    bool have_pattern = false;
    uint32_t op = JDOC_NONE;
    int rc = 0;

    jpointer_pattern_init(&pat);
    jpointer_init(&ptr);
    if (pattern.s && jpointer_pattern_compile(&pat, pattern.s, pattern.len, NULL) == 0)
        have_pattern = true;
    if (patch != JDOC_NONE && jdoc_at(d, patch)->type == JDOC_ARRAY) {
        for (uint32_t o = rfirst(d, patch); o != JDOC_NONE; o = jdoc_next(d, patch, o)) {
            struct rstr p = rstr_get(d, o, "path");
            if (!p.s || jpointer_parse(&ptr, p.s, p.len, NULL) != 0)
                continue;
            if (!have_pattern || jpointer_pattern_match(&pat, &ptr)) {
                op = o;
                break;
            }
        }
    }
    if (op != JDOC_NONE) {
        struct rstr kind = rstr_get(d, op, "op"), path = rstr_get(d, op, "path");
        uint32_t value = rget(d, op, "value");
        /* ptr still holds the parsed path of op */
        rc = append_cut(out, path.s, path.len, 120);
        if (!rc)
            rc = buf_append_str(out, ": ");
        if (!rc && !base_value(d, example, &ptr, max_value, out))
            rc = buf_append_str(out, rstr_is(kind, "add") ? "(absent)" : "?");
        if (!rc)
            rc = buf_append_str(out, " \xE2\x86\x92 "); /* → */
        if (!rc && value != JDOC_NONE && !rstr_is(kind, "remove"))
            rc = append_value(out, d, value, max_value);
        else if (!rc)
            rc = buf_append_str(out, rstr_is(kind, "remove") ? "(removed)" : "?");
    } else if (paths != JDOC_NONE) {
        /* no patch (a text body: paths are line:N) — name the first path that fits */
        for (uint32_t p = rfirst(d, paths); p != JDOC_NONE; p = jdoc_next(d, paths, p)) {
            struct rstr s = rstr_at(d, p);
            bool fits = !have_pattern || (jpointer_parse(&ptr, s.s, s.len, NULL) == 0 &&
                                          jpointer_pattern_match(&pat, &ptr));
            if (fits || !have_pattern || rstr_eq(s, pattern)) {
                rc = append_cut(out, s.s, s.len, 120);
                if (!rc)
                    rc = buf_append_str(out, " differs");
                break;
            }
        }
    }
    jpointer_pattern_release(&pat);
    jpointer_release(&ptr);
    return rc;
}
