/*
 * jdoc.c — the JSON parser, tree and writers of jdoc.h.
 *
 * The parser is recursive descent over bytes; the recursion is bounded by
 * the depth limit (512 levels by default, a few hundred bytes of stack each).
 * Node storage grows by doubling up to the node limit.  Unescaped strings go
 * to one buffer allocated at the size of the input on the first escape: an
 * unescaped string is never longer than its escaped form, so it never moves
 * and the text pointers stay valid.
 */
#include "jdoc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jdoc_hash.h"
#include "jsonw.h"
#include "utf8.h"

/* ---------------------------------------------------------------- numbers */

/* A number text split into its parts; its value is
 * (-1)^neg × 0.D × 10^exp10 where D is the digit string of the integer and
 * fraction parts with leading and trailing zeros removed. */
struct numparts {
    const char *ip, *fp; /* integer and fraction digits */
    size_t ilen, flen;
    size_t first, last;  /* significant digits [first, last) of ip ++ fp */
    int64_t exp10;
    int neg;
    int zero;
};

#define EXP_SATURATE 1000000000000000LL /* beyond any real number's exponent */

static char numparts_digit(const struct numparts *n, size_t k)
{
    return k < n->ilen ? n->ip[k] : n->fp[k - n->ilen];
}

static void numparts_split(const char *s, size_t len, struct numparts *n)
{
    size_t i = 0, total;
    int64_t e = 0;

    memset(n, 0, sizeof *n);
    if (i < len && s[i] == '-') {
        n->neg = 1;
        i++;
    }
    n->ip = s + i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    n->ilen = (size_t)(s + i - n->ip);
    n->fp = s + i;
    if (i < len && s[i] == '.') {
        n->fp = s + ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        n->flen = (size_t)(s + i - n->fp);
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if (e < EXP_SATURATE)
                e = e * 10 + (s[i] - '0');
        if (eneg)
            e = -e;
    }
    total = n->ilen + n->flen;
    while (n->first < total && numparts_digit(n, n->first) == '0')
        n->first++;
    if (n->first == total) {
        n->zero = 1;
        return;
    }
    n->last = total;
    while (numparts_digit(n, n->last - 1) == '0')
        n->last--;
    n->exp10 = e + (int64_t)n->ilen - (int64_t)n->first;
}

bool jdoc_number_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    struct numparts x, y;

    if (alen == blen && memcmp(a, b, alen) == 0)
        return true;
    numparts_split(a, alen, &x);
    numparts_split(b, blen, &y);
    if (x.zero || y.zero)
        return x.zero && y.zero; /* -0 == 0 */
    if (x.neg != y.neg || x.exp10 != y.exp10 || x.last - x.first != y.last - y.first)
        return false;
    for (size_t k = 0; k < x.last - x.first; k++)
        if (numparts_digit(&x, x.first + k) != numparts_digit(&y, y.first + k))
            return false;
    return true;
}

uint64_t jdoc_number_hash(const char *text, size_t len)
{
    struct numparts n;
    uint64_t h;

    numparts_split(text, len, &n);
    if (n.zero)
        return jhash_mix(JHASH_NUMBER);
    h = JHASH_NUMBER ^ (uint64_t)n.neg ^ jhash_mix((uint64_t)n.exp10 + 0x51ed27ULL);
    for (size_t k = n.first; k < n.last; k++)
        h = (h ^ (unsigned char)numparts_digit(&n, k)) * 0x100000001b3ULL;
    return jhash_mix(h);
}

double jdoc_number_double(const struct jdoc_node *node)
{
    char small[64];
    char *tmp = small;
    double v;

    if (node->len >= sizeof small) {
        tmp = malloc(node->len + 1);
        if (!tmp)
            return NAN;
    }
    memcpy(tmp, node->text, node->len);
    tmp[node->len] = '\0';
    v = strtod(tmp, NULL);
    if (tmp != small)
        free(tmp);
    return v;
}

/* ----------------------------------------------------------------- parser */

struct parser {
    struct jdoc *d;
    const unsigned char *start, *cur, *end;
    uint32_t max_depth, max_nodes;
    struct error *err;
    /* scratch for sorting the keys of large objects */
    struct jdoc_member *sort;
    size_t sort_cap;
};

/* Characters that end the fast scan of a string: quote, backslash,
 * control characters and the first byte of non-ASCII sequences. */
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * The first byte of s[0..e) that str_stop marks, eight bytes at a time:
 * strings are most of what API bodies (and results files, which hold them)
 * are made of.  In each 64-bit word a byte is flagged when it is '"' or '\\'
 * (zero after the xor), below 0x20, or 0x80 and above.  The subtractions
 * can flag a byte wrongly only above one flagged rightly, so the lowest
 * flag is always right.
 */
static inline const unsigned char *skip_plain(const unsigned char *s, const unsigned char *e)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (e - s >= 8) {
        uint64_t w, q, b, m;
        memcpy(&w, s, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        m = (((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20) | w) & highs;
        if (m)
            return s + (__builtin_ctzll(m) >> 3);
        s += 8;
    }
#endif
    while (s < e && !str_stop[*s])
        s++;
    return s;
}

void jdoc_location(const struct jdoc *d, size_t offset, size_t *line, size_t *column)
{
    size_t l = 1, c = 1;
    if (offset > d->src_len)
        offset = d->src_len;
    for (size_t i = 0; i < offset; i++) {
        unsigned char ch = (unsigned char)d->src[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

static const char *describe(const struct parser *p, const unsigned char *at, char *tmp,
                            size_t size)
{
    if (at >= p->end)
        return "the end of the input";
    if (*at >= 0x21 && *at < 0x7f)
        snprintf(tmp, size, "'%c'", *at);
    else if (*at == ' ')
        snprintf(tmp, size, "a space");
    else
        snprintf(tmp, size, "byte 0x%02x", *at);
    return tmp;
}

/* Fail at byte `at` with "NAME:LINE:COL: invalid JSON: MESSAGE (byte N)". */
__attribute__((format(printf, 4, 5)))
static int fail(struct parser *p, const unsigned char *at, int code, const char *fmt, ...)
{
    char msg[512];
    size_t line, col, off = (size_t)(at - p->start);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jdoc_location(p->d, off, &line, &col);
    return error_set(p->err, code, "%s:%zu:%zu: %s%s (byte offset %zu)", p->d->name, line, col,
                     code == ERR_INPUT ? "invalid JSON: " : "", msg, off);
}

static inline void skip_ws(struct parser *p)
{
    const unsigned char *s = p->cur, *e = p->end;
    while (s < e && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t'))
        s++;
    p->cur = s;
}

static int node_new(struct parser *p, uint32_t *out)
{
    struct jdoc *d = p->d;

    if (d->count >= p->max_nodes)
        return fail(p, p->cur, ERR_TOOBIG,
                    "more than %u values: the node limit; raise it if the input is "
                    "legitimate", p->max_nodes);
    if (d->count == d->cap) {
        uint32_t cap;
        struct jdoc_node *n;
        cap = d->cap < p->max_nodes / 2 ? d->cap * 2 : p->max_nodes;
        if (cap < 64)
            cap = p->max_nodes < 64 ? p->max_nodes : 64;
        n = realloc(d->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return error_set(p->err, ERR_NOMEM, "%s: out of memory for %u JSON values",
                             d->name, cap);
        d->nodes = n;
        d->cap = cap;
    }
    *out = d->count++;
    return 0;
}

static int hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (c | 0x20) - 'a' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/*
 * The slow path of a string with escapes: unescape from `start` (just after
 * the opening quote) into the strings buffer.  `s` is the first backslash.
 */
static int parse_escaped(struct parser *p, const unsigned char *start, const unsigned char *s,
                         uint32_t idx)
{
    struct jdoc *d = p->d;
    const unsigned char *e = p->end;
    char *o;

    if (!d->strings) {
        d->strings_cap = d->src_len + 1;
        d->strings = malloc(d->strings_cap);
        if (!d->strings)
            return error_set(p->err, ERR_NOMEM, "%s: out of memory for strings", d->name);
    }
    o = d->strings + d->strings_len;
    memcpy(o, start, (size_t)(s - start));
    o += s - start;
    for (;;) {
        const unsigned char *run = s;
        s = skip_plain(s, e);
        memcpy(o, run, (size_t)(s - run));
        o += s - run;
        if (s >= e)
            return fail(p, start - 1, ERR_INPUT, "unterminated string");
        if (*s == '"')
            break;
        if (*s < 0x20)
            return fail(p, s, ERR_INPUT,
                        "control character U+%04X inside a string: it must be escaped",
                        *s);
        if (*s >= 0x80) {
            size_t n = utf8_sequence_length(s, (size_t)(e - s));
            if (!n)
                return fail(p, s, ERR_INPUT, "invalid UTF-8 byte 0x%02x in a string", *s);
            memcpy(o, s, n);
            o += n;
            s += n;
            continue;
        }
        /* backslash */
        if (s + 1 >= e)
            return fail(p, start - 1, ERR_INPUT, "unterminated string");
        switch (s[1]) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (e - s < 6 || hex4(s + 2, &cp))
                return fail(p, s, ERR_INPUT, "expected four hex digits after \\u");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return fail(p, s, ERR_INPUT,
                            "\\u%04x is a lone low surrogate: not a character", cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - s < 12 || s[6] != '\\' || s[7] != 'u' || hex4(s + 8, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail(p, s, ERR_INPUT,
                                "\\u%04x is a high surrogate not followed by a low "
                                "surrogate escape", cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                s += 6;
            }
            o += utf8_put(o, cp);
            s += 4;
            break;
        }
        default:
            return fail(p, s, ERR_INPUT,
                        "invalid escape '\\%c' in a string (valid: \\\" \\\\ \\/ \\b \\f "
                        "\\n \\r \\t \\uXXXX)", s[1] >= 0x20 && s[1] < 0x7f ? s[1] : '?');
        }
        s += 2;
    }
    {
        struct jdoc_node *n = &d->nodes[idx];
        n->text = d->strings + d->strings_len;
        n->len = (uint32_t)(o - n->text);
        n->flags |= JDOC_F_ESCAPED;
        n->hash = jhash_bytes(n->text, n->len, JHASH_STRING);
        d->strings_len += n->len;
    }
    p->cur = s + 1;
    return 0;
}

/* p->cur is at the opening quote. */
static int parse_string(struct parser *p, uint32_t idx)
{
    const unsigned char *start = p->cur + 1, *s = start, *e = p->end;
    struct jdoc_node *n;

    for (;;) {
        s = skip_plain(s, e);
        if (s >= e)
            return fail(p, start - 1, ERR_INPUT, "unterminated string");
        if (*s == '"')
            break;
        if (*s == '\\')
            return parse_escaped(p, start, s, idx);
        if (*s < 0x20)
            return fail(p, s, ERR_INPUT,
                        "control character U+%04X inside a string: it must be escaped", *s);
        size_t len = utf8_sequence_length(s, (size_t)(e - s));
        if (!len)
            return fail(p, s, ERR_INPUT, "invalid UTF-8 byte 0x%02x in a string", *s);
        s += len;
    }
    n = &p->d->nodes[idx];
    n->text = (const char *)start;
    n->len = (uint32_t)(s - start);
    n->hash = jhash_bytes(start, n->len, JHASH_STRING);
    p->cur = s + 1;
    return 0;
}

static int parse_number(struct parser *p, uint32_t idx)
{
    const unsigned char *start = p->cur, *s = start, *e = p->end;
    uint8_t flags = JDOC_F_INTEGER;
    struct jdoc_node *n;

#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)
    if (*s == '-')
        s++;
    if (s >= e || !IS_DIGIT(*s))
        return fail(p, s, ERR_INPUT, "expected a digit after '-'");
    if (*s == '0') {
        s++;
        if (s < e && IS_DIGIT(*s))
            return fail(p, start, ERR_INPUT, "numbers cannot have leading zeros");
    } else {
        while (s < e && IS_DIGIT(*s))
            s++;
    }
    if (s < e && *s == '.') {
        flags = 0;
        s++;
        if (s >= e || !IS_DIGIT(*s))
            return fail(p, s, ERR_INPUT, "expected a digit after the decimal point");
        while (s < e && IS_DIGIT(*s))
            s++;
    }
    if (s < e && (*s | 0x20) == 'e') {
        flags = 0;
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            s++;
        if (s >= e || !IS_DIGIT(*s))
            return fail(p, s, ERR_INPUT, "expected a digit in the exponent");
        while (s < e && IS_DIGIT(*s))
            s++;
    }
#undef IS_DIGIT
    n = &p->d->nodes[idx];
    n->type = JDOC_NUMBER;
    n->flags = flags;
    n->text = (const char *)start;
    n->len = (uint32_t)(s - start);
    n->hash = jdoc_number_hash(n->text, n->len);
    p->cur = s;
    return 0;
}

int jdoc_member_cmp(const struct jdoc *da, const struct jdoc_member *a, const struct jdoc *db,
                    const struct jdoc_member *b)
{
    const struct jdoc_node *ka, *kb;

    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    ka = &da->nodes[a->key];
    kb = &db->nodes[b->key];
    if (ka->len != kb->len)
        return ka->len < kb->len ? -1 : 1;
    return memcmp(ka->text, kb->text, ka->len);
}

/* By name, then document order: equal names end up next to each other. */
static int member_sort_cmp(const void *x, const void *y, void *ctx)
{
    const struct jdoc_member *a = x, *b = y;
    int c = jdoc_member_cmp(ctx, a, ctx, b);
    return c ? c : (a->pos > b->pos) - (a->pos < b->pos);
}

static bool same_key(const struct jdoc_node *a, const struct jdoc_node *b)
{
    return a->hash == b->hash && a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Close an object: shadow repeated keys (the last one wins), then hash. */
static int object_finish(struct parser *p, uint32_t idx, size_t base)
{
    struct jdoc *d = p->d;
    uint32_t *keys = d->keys + base;
    size_t k = d->keys_len - base;
    uint32_t live = (uint32_t)k;
    uint64_t sum = 0;

    if (k >= 2 && k <= 16) {
        for (size_t i = 0; i + 1 < k; i++)
            for (size_t j = i + 1; j < k; j++)
                if (same_key(&d->nodes[keys[i]], &d->nodes[keys[j]])) {
                    d->nodes[keys[i]].flags |= JDOC_F_SHADOWED;
                    live--;
                    break;
                }
    } else if (k > 16) {
        if (k > p->sort_cap) {
            struct jdoc_member *s = realloc(p->sort, k * sizeof *s);
            if (!s)
                return error_set(p->err, ERR_NOMEM, "%s: out of memory", d->name);
            p->sort = s;
            p->sort_cap = k;
        }
        for (size_t i = 0; i < k; i++) {
            p->sort[i].hash = d->nodes[keys[i]].hash;
            p->sort[i].key = keys[i];
            p->sort[i].pos = (uint32_t)i;
        }
        qsort_r(p->sort, k, sizeof *p->sort, member_sort_cmp, d);
        for (size_t i = 0; i + 1 < k; i++)
            if (same_key(&d->nodes[p->sort[i].key], &d->nodes[p->sort[i + 1].key])) {
                d->nodes[p->sort[i].key].flags |= JDOC_F_SHADOWED;
                live--;
            }
    }
    for (size_t i = 0; i < k; i++) {
        const struct jdoc_node *kn = &d->nodes[keys[i]];
        if (!(kn->flags & JDOC_F_SHADOWED))
            sum += jhash_member(kn->hash, d->nodes[keys[i] + 1].hash);
    }
    d->nodes[idx].len = live;
    d->nodes[idx].hash = jhash_object_final(sum, live);
    d->keys_len = base;
    return 0;
}

static int push_key(struct parser *p, uint32_t key)
{
    struct jdoc *d = p->d;
    if (d->keys_len == d->keys_cap) {
        size_t cap = d->keys_cap ? d->keys_cap * 2 : 256;
        uint32_t *k = realloc(d->keys, cap * sizeof *k);
        if (!k)
            return error_set(p->err, ERR_NOMEM, "%s: out of memory", d->name);
        d->keys = k;
        d->keys_cap = cap;
    }
    d->keys[d->keys_len++] = key;
    return 0;
}

static int parse_value(struct parser *p, uint32_t depth, uint32_t *out);

static int parse_object(struct parser *p, uint32_t idx, uint32_t depth)
{
    size_t base = p->d->keys_len;
    char tmp[32];
    int rc;

    p->cur++;
    skip_ws(p);
    if (p->cur < p->end && *p->cur == '}') {
        p->cur++;
        return object_finish(p, idx, base);
    }
    for (;;) {
        uint32_t key, value;
        if (p->cur >= p->end || *p->cur != '"')
            return fail(p, p->cur, ERR_INPUT,
                        "expected a member name in double quotes, found %s",
                        describe(p, p->cur, tmp, sizeof tmp));
        if ((rc = node_new(p, &key)) != 0)
            return rc;
        p->d->nodes[key].type = JDOC_STRING;
        p->d->nodes[key].flags = JDOC_F_KEY;
        p->d->nodes[key].offset = (uint32_t)(p->cur - p->start);
        if ((rc = parse_string(p, key)) != 0)
            return rc;
        p->d->nodes[key].end = key + 1;
        if ((rc = push_key(p, key)) != 0)
            return rc;
        skip_ws(p);
        if (p->cur >= p->end || *p->cur != ':')
            return fail(p, p->cur, ERR_INPUT, "expected ':' after a member name, found %s",
                        describe(p, p->cur, tmp, sizeof tmp));
        p->cur++;
        if ((rc = parse_value(p, depth, &value)) != 0)
            return rc;
        skip_ws(p);
        if (p->cur < p->end && *p->cur == ',') {
            p->cur++;
            skip_ws(p);
            continue;
        }
        if (p->cur < p->end && *p->cur == '}') {
            p->cur++;
            return object_finish(p, idx, base);
        }
        return fail(p, p->cur, ERR_INPUT, "expected ',' or '}' after an object member, found %s",
                    describe(p, p->cur, tmp, sizeof tmp));
    }
}

static int parse_array(struct parser *p, uint32_t idx, uint32_t depth)
{
    uint64_t h = JHASH_ARRAY;
    uint32_t count = 0;
    char tmp[32];
    int rc;

    p->cur++;
    skip_ws(p);
    if (p->cur < p->end && *p->cur == ']') {
        p->cur++;
        goto done;
    }
    for (;;) {
        uint32_t child;
        if ((rc = parse_value(p, depth, &child)) != 0)
            return rc;
        h = jhash_array_step(h, p->d->nodes[child].hash);
        count++;
        skip_ws(p);
        if (p->cur < p->end && *p->cur == ',') {
            p->cur++;
            continue;
        }
        if (p->cur < p->end && *p->cur == ']') {
            p->cur++;
            break;
        }
        return fail(p, p->cur, ERR_INPUT, "expected ',' or ']' after an array element, found %s",
                    describe(p, p->cur, tmp, sizeof tmp));
    }
done:
    p->d->nodes[idx].len = count;
    p->d->nodes[idx].hash = jhash_array_final(h, count);
    return 0;
}

static int literal(struct parser *p, const char *word, size_t len)
{
    if ((size_t)(p->end - p->cur) < len || memcmp(p->cur, word, len) != 0)
        return fail(p, p->cur, ERR_INPUT, "expected '%s'", word);
    p->cur += len;
    return 0;
}

static int parse_value(struct parser *p, uint32_t depth, uint32_t *out)
{
    struct jdoc_node *n;
    uint32_t idx;
    char tmp[32];
    int rc;

    skip_ws(p);
    if (p->cur >= p->end)
        return fail(p, p->cur, ERR_INPUT, "expected a value, found the end of the input");
    if ((rc = node_new(p, &idx)) != 0)
        return rc;
    *out = idx;
    n = &p->d->nodes[idx];
    n->offset = (uint32_t)(p->cur - p->start);
    n->flags = 0;
    n->text = NULL;
    n->len = 0;
    switch (*p->cur) {
    case '{':
    case '[':
        if (depth >= p->max_depth)
            return fail(p, p->cur, ERR_TOOBIG,
                        "nested deeper than %u levels: the depth limit; raise it if the "
                        "input is legitimate", p->max_depth);
        if (depth + 1 > p->d->depth)
            p->d->depth = depth + 1;
        if (*p->cur == '{') {
            n->type = JDOC_OBJECT;
            rc = parse_object(p, idx, depth + 1);
        } else {
            n->type = JDOC_ARRAY;
            rc = parse_array(p, idx, depth + 1);
        }
        break;
    case '"':
        n->type = JDOC_STRING;
        rc = parse_string(p, idx);
        break;
    case 't':
        n->type = JDOC_BOOL;
        n->flags = JDOC_F_TRUE;
        n->hash = jhash_mix(JHASH_TRUE);
        rc = literal(p, "true", 4);
        break;
    case 'f':
        n->type = JDOC_BOOL;
        n->hash = jhash_mix(JHASH_FALSE);
        rc = literal(p, "false", 5);
        break;
    case 'n':
        n->type = JDOC_NULL;
        n->hash = jhash_mix(JHASH_NULL);
        rc = literal(p, "null", 4);
        break;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        rc = parse_number(p, idx);
        break;
    default:
        return fail(p, p->cur, ERR_INPUT,
                    "expected a value (object, array, string, number, true, false or null), "
                    "found %s", describe(p, p->cur, tmp, sizeof tmp));
    }
    if (rc)
        return rc;
    p->d->nodes[idx].end = p->d->count;
    return 0;
}

void jdoc_init(struct jdoc *d)
{
    memset(d, 0, sizeof *d);
}

static void jdoc_reset(struct jdoc *d)
{
    d->count = 0;
    d->depth = 0;
    d->strings_len = 0;
    d->keys_len = 0;
    d->src = NULL;
    d->src_len = 0;
}

void jdoc_release(struct jdoc *d)
{
    if (!d)
        return;
    free(d->nodes);
    free(d->owned);
    free(d->strings);
    free(d->keys);
    jdoc_init(d);
}

int jdoc_parse(struct jdoc *d, const char *data, size_t len, const char *name,
               const struct jdoc_limits *lim, struct error *err)
{
    struct parser p;
    uint32_t root;
    char tmp[32];
    int rc;

    jdoc_reset(d);
    if (d->owned && data != d->owned) { /* parsing the caller's text now */
        free(d->owned);
        d->owned = NULL;
    }
    snprintf(d->name, sizeof d->name, "%s", name ? name : "<input>");
    if (d->strings && d->strings_cap < len + 1) {
        free(d->strings);
        d->strings = NULL;
        d->strings_cap = 0;
    }
    d->src = data;
    d->src_len = len;
    memset(&p, 0, sizeof p);
    p.d = d;
    p.err = err;
    p.start = (const unsigned char *)data;
    p.cur = p.start;
    p.end = p.start + len;
    p.max_depth = lim && lim->max_depth ? lim->max_depth : JDOC_DEFAULT_MAX_DEPTH;
    p.max_nodes = lim && lim->max_nodes ? lim->max_nodes : JDOC_DEFAULT_MAX_NODES;
    if (len > (lim && lim->max_size ? lim->max_size : JDOC_DEFAULT_MAX_SIZE) ||
        len >= UINT32_MAX) {
        rc = error_set(err, ERR_TOOBIG, "%s: %zu bytes: larger than the size limit; raise it "
                       "if the input is legitimate", d->name, len);
        goto out;
    }
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        p.cur += 3;
    skip_ws(&p);
    if (p.cur >= p.end) {
        rc = fail(&p, p.cur, ERR_INPUT, "empty input: expected a JSON value");
        goto out;
    }
    if ((rc = parse_value(&p, 0, &root)) != 0)
        goto out;
    skip_ws(&p);
    if (p.cur < p.end)
        rc = fail(&p, p.cur, ERR_INPUT, "unexpected %s after the JSON value",
                  describe(&p, p.cur, tmp, sizeof tmp));
out:
    free(p.sort);
    if (rc)
        d->count = 0;
    return rc;
}

int jdoc_read_file(const char *path, size_t max, char **out, size_t *out_len,
                   struct error *err)
{
    size_t len = 0, cap = 0;
    char *data = NULL;
    struct stat st;
    int fd, rc;

    *out = NULL;
    *out_len = 0;
    if (!max)
        max = JDOC_DEFAULT_MAX_SIZE;
    fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_errno(err, ERR_INPUT, errno, "cannot open '%s'", path);
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = error_set(err, ERR_INPUT, "'%s' is a directory, expected a JSON file", path);
        goto fail;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        /* One read of the right size; the loop still checks for growth. */
        cap = (size_t)st.st_size < max ? (size_t)st.st_size + 2 : max + 2;
        if (!(data = malloc(cap))) {
            rc = error_set(err, ERR_NOMEM, "out of memory reading '%s'", path);
            goto fail;
        }
    }
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nd;
            if (ncap > max + 2)
                ncap = max + 2;
            if (ncap <= len + 1) {
                rc = error_set(err, ERR_TOOBIG, "'%s' is larger than the size limit of %zu "
                               "bytes; raise it if the input is legitimate", path, max);
                goto fail;
            }
            nd = realloc(data, ncap);
            if (!nd) {
                rc = error_set(err, ERR_NOMEM, "out of memory reading '%s'", path);
                goto fail;
            }
            data = nd;
            cap = ncap;
        }
        n = read(fd, data + len, cap - len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = error_errno(err, ERR_IO, errno, "cannot read '%s'", path);
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            rc = error_set(err, ERR_TOOBIG, "'%s' is larger than the size limit of %zu bytes; "
                           "raise it if the input is legitimate", path, max);
            goto fail;
        }
    }
    if (fd != STDIN_FILENO)
        close(fd);
    if (!data && !(data = malloc(1)))
        return error_set(err, ERR_NOMEM, "out of memory reading '%s'", path);
    data[len] = '\0';
    *out = data;
    *out_len = len;
    return 0;
fail:
    if (fd != STDIN_FILENO)
        close(fd);
    free(data);
    return rc;
}

int jdoc_parse_file(struct jdoc *d, const char *path, const struct jdoc_limits *lim,
                    struct error *err)
{
    char *data;
    size_t len;
    int rc;

    jdoc_reset(d);
    free(d->owned);
    d->owned = NULL;
    if ((rc = jdoc_read_file(path, lim ? lim->max_size : 0, &data, &len, err)) != 0)
        return rc;
    d->owned = data;
    return jdoc_parse(d, data, len, strcmp(path, "-") == 0 ? "<stdin>" : path, lim, err);
}

/* ------------------------------------------------------------- navigation */

uint32_t jdoc_first(const struct jdoc *d, uint32_t c)
{
    const struct jdoc_node *n = &d->nodes[c];
    uint32_t k = c + 1;

    if (n->type == JDOC_ARRAY)
        return n->len ? k : JDOC_NONE;
    if (n->type != JDOC_OBJECT)
        return JDOC_NONE;
    while (k < n->end && (d->nodes[k].flags & JDOC_F_SHADOWED))
        k = d->nodes[k + 1].end;
    return k < n->end ? k : JDOC_NONE;
}

uint32_t jdoc_next(const struct jdoc *d, uint32_t c, uint32_t child)
{
    const struct jdoc_node *n = &d->nodes[c];
    uint32_t k;

    if (n->type == JDOC_ARRAY) {
        k = d->nodes[child].end;
        return k < n->end ? k : JDOC_NONE;
    }
    k = d->nodes[child + 1].end;
    while (k < n->end && (d->nodes[k].flags & JDOC_F_SHADOWED))
        k = d->nodes[k + 1].end;
    return k < n->end ? k : JDOC_NONE;
}

uint32_t jdoc_get(const struct jdoc *d, uint32_t object, const char *key, size_t len)
{
    if (d->nodes[object].type != JDOC_OBJECT)
        return JDOC_NONE;
    for (uint32_t k = jdoc_first(d, object); k != JDOC_NONE; k = jdoc_next(d, object, k)) {
        const struct jdoc_node *kn = &d->nodes[k];
        if (kn->len == len && memcmp(kn->text, key, len) == 0)
            return k + 1;
    }
    return JDOC_NONE;
}

const char *jdoc_type_name(const struct jdoc *d, uint32_t i, bool split_numbers)
{
    const struct jdoc_node *n = &d->nodes[i];
    switch (n->type) {
    case JDOC_NULL: return "null";
    case JDOC_BOOL: return "boolean";
    case JDOC_NUMBER:
        if (!split_numbers)
            return "number";
        return n->flags & JDOC_F_INTEGER ? "integer" : "real";
    case JDOC_STRING: return "string";
    case JDOC_ARRAY: return "array";
    default: return "object";
    }
}

/* --------------------------------------------------------------- equality */

size_t jdoc_sort_members(const struct jdoc *d, uint32_t obj, uint32_t from,
                         struct jdoc_member *out)
{
    size_t n = 0;
    for (uint32_t k = from == JDOC_NONE ? jdoc_first(d, obj) : from; k != JDOC_NONE;
         k = jdoc_next(d, obj, k), n++)
        out[n] = (struct jdoc_member){d->nodes[k].hash, k, (uint32_t)n};
    qsort_r(out, n, sizeof *out, member_sort_cmp, (void *)d);
    return n;
}

/* Objects whose members are not in the same order: sort both by name.
 * ka and kb are the first members that differ; the ones before matched. */
static bool object_equal_sorted(const struct jdoc *da, uint32_t a, const struct jdoc *db,
                                uint32_t b, uint32_t ka, uint32_t kb, bool strict)
{
    size_t na, nb;
    struct jdoc_member *sa, *sb;
    bool equal;

    sa = malloc(((size_t)da->nodes[a].len + db->nodes[b].len) * sizeof *sa + 1);
    if (!sa)
        return false;
    sb = sa + da->nodes[a].len;
    na = jdoc_sort_members(da, a, ka, sa);
    nb = jdoc_sort_members(db, b, kb, sb);
    equal = na == nb;
    for (size_t i = 0; i < na && equal; i++)
        equal = jdoc_member_cmp(da, &sa[i], db, &sb[i]) == 0 &&
                jdoc_equal(da, sa[i].key + 1, db, sb[i].key + 1, strict);
    free(sa);
    return equal;
}

bool jdoc_equal(const struct jdoc *da, uint32_t a, const struct jdoc *db, uint32_t b,
                bool strict)
{
    const struct jdoc_node *x = &da->nodes[a], *y = &db->nodes[b];
    uint32_t ca, cb;

    /* Equal values have equal hashes, so a different hash settles it. */
    if (x->hash != y->hash || x->type != y->type)
        return false;
    if (x->type != JDOC_NUMBER && x->len != y->len)
        return false;
    switch (x->type) {
    case JDOC_NULL:
        return true;
    case JDOC_BOOL:
        return (x->flags & JDOC_F_TRUE) == (y->flags & JDOC_F_TRUE);
    case JDOC_NUMBER:
        if (strict && (x->flags & JDOC_F_INTEGER) != (y->flags & JDOC_F_INTEGER))
            return false;
        return jdoc_number_equal(x->text, x->len, y->text, y->len);
    case JDOC_STRING:
        return memcmp(x->text, y->text, x->len) == 0;
    case JDOC_ARRAY:
        for (ca = jdoc_first(da, a), cb = jdoc_first(db, b); ca != JDOC_NONE;
             ca = jdoc_next(da, a, ca), cb = jdoc_next(db, b, cb))
            if (!jdoc_equal(da, ca, db, cb, strict))
                return false;
        return true;
    default:
        /* Members usually come in the same order: walk both while they do. */
        for (ca = jdoc_first(da, a), cb = jdoc_first(db, b); ca != JDOC_NONE;
             ca = jdoc_next(da, a, ca), cb = jdoc_next(db, b, cb)) {
            const struct jdoc_node *kx = &da->nodes[ca], *ky = &db->nodes[cb];
            if (kx->len != ky->len || memcmp(kx->text, ky->text, kx->len) != 0)
                return object_equal_sorted(da, a, db, b, ca, cb, strict);
            if (!jdoc_equal(da, ca + 1, db, cb + 1, strict))
                return false;
        }
        return true;
    }
}

/* ---------------------------------------------------------------- writers */

static int newline_indent(struct buf *out, int indent, int level)
{
    int rc = buf_append_char(out, '\n');
    for (int i = 0; !rc && i < indent * level; i++)
        rc = buf_append_char(out, ' ');
    return rc;
}

/* Before an element or member of a container being written at `level`:
 * the comma after the previous one, and the indentation. */
static int item_start(struct buf *out, bool *first, int indent, int level)
{
    int rc = *first ? 0 : buf_append_char(out, ',');
    *first = false;
    return !rc && indent ? newline_indent(out, indent, level + 1) : rc;
}

/* Before a member's value: the member name and the colon. */
static int member_name(struct buf *out, const char *name, size_t len, int indent, unsigned wflags)
{
    int rc = jsonw_string(out, name, len, wflags);
    return rc ? rc : indent ? buf_append(out, ": ", 2) : buf_append_char(out, ':');
}

/* The closing bracket, on its own line when indenting a non-empty container. */
static int container_end(struct buf *out, bool first, int indent, int level, char close)
{
    int rc = indent && !first ? newline_indent(out, indent, level) : 0;
    return rc ? rc : buf_append_char(out, close);
}

static int write_node(struct buf *out, const struct jdoc *d, uint32_t i, int indent, int level,
                      unsigned flags)
{
    const struct jdoc_node *n = &d->nodes[i];
    unsigned wflags = flags & JDOC_WRITE_HTML_SAFE ? JSONW_HTML_SAFE : 0;
    uint32_t c;
    int rc = 0;
    bool first = true;

    switch (n->type) {
    case JDOC_NULL:
        return buf_append(out, "null", 4);
    case JDOC_BOOL:
        return n->flags & JDOC_F_TRUE ? buf_append(out, "true", 4) : buf_append(out, "false", 5);
    case JDOC_NUMBER:
        return buf_append(out, n->text, n->len);
    case JDOC_STRING:
        return jsonw_string(out, n->text, n->len, wflags);
    case JDOC_ARRAY:
        if ((rc = buf_append_char(out, '[')) != 0)
            return rc;
        for (c = jdoc_first(d, i); c != JDOC_NONE && !rc; c = jdoc_next(d, i, c))
            if (!(rc = item_start(out, &first, indent, level)))
                rc = write_node(out, d, c, indent, level + 1, flags);
        return rc ? rc : container_end(out, first, indent, level, ']');
    default:
        if ((rc = buf_append_char(out, '{')) != 0)
            return rc;
        for (c = jdoc_first(d, i); c != JDOC_NONE && !rc; c = jdoc_next(d, i, c))
            if (!(rc = item_start(out, &first, indent, level)) &&
                !(rc = member_name(out, d->nodes[c].text, d->nodes[c].len, indent, wflags)))
                rc = write_node(out, d, c + 1, indent, level + 1, flags);
        return rc ? rc : container_end(out, first, indent, level, '}');
    }
}

int jdoc_write(struct buf *out, const struct jdoc *d, uint32_t i, int indent, unsigned flags)
{
    return write_node(out, d, i, indent, 0, flags);
}

int jdoc_to_jansson(const struct jdoc *d, uint32_t i, json_t **out, struct error *err)
{
    const struct jdoc_node *n = &d->nodes[i];
    json_t *v = NULL, *child;
    uint32_t c;
    int rc;

    *out = NULL;
    switch (n->type) {
    case JDOC_NULL: v = json_null(); break;
    case JDOC_BOOL: v = json_boolean(n->flags & JDOC_F_TRUE); break;
    case JDOC_STRING: v = json_stringn_nocheck(n->text, n->len); break;
    case JDOC_NUMBER: {
        char small[64];
        if (n->flags & JDOC_F_INTEGER && n->len < sizeof small) {
            char *end;
            long long ll;
            memcpy(small, n->text, n->len);
            small[n->len] = '\0';
            errno = 0;
            ll = strtoll(small, &end, 10);
            if (!errno && *end == '\0') {
                v = json_integer(ll);
                break;
            }
        }
        double dv = jdoc_number_double(n);
        if (!isfinite(dv)) {
            size_t line, col;
            jdoc_location(d, n->offset, &line, &col);
            return error_set(err, ERR_UNSUPPORTED,
                             "%s:%zu:%zu: the number %.*s is beyond the range of a double",
                             d->name, line, col, n->len > 40 ? 40 : (int)n->len, n->text);
        }
        v = json_real(dv);
        break;
    }
    case JDOC_ARRAY:
        if (!(v = json_array()))
            break;
        for (c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c)) {
            if ((rc = jdoc_to_jansson(d, c, &child, err)) != 0) {
                json_decref(v);
                return rc;
            }
            if (json_array_append_new(v, child)) {
                json_decref(v);
                return error_set(err, ERR_NOMEM, "out of memory building a JSON value");
            }
        }
        break;
    default:
        if (!(v = json_object()))
            break;
        for (c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c)) {
            if ((rc = jdoc_to_jansson(d, c + 1, &child, err)) != 0) {
                json_decref(v);
                return rc;
            }
            if (json_object_setn_new_nocheck(v, d->nodes[c].text, d->nodes[c].len, child)) {
                json_decref(v);
                return error_set(err, ERR_NOMEM, "out of memory building a JSON value");
            }
        }
        break;
    }
    if (!v)
        return error_set(err, ERR_NOMEM, "out of memory building a JSON value");
    *out = v;
    return 0;
}

/* Does jdoc_to_jansson keep this number's value? */
static bool number_exact(const struct jdoc_node *n)
{
    char small[64];
    struct buf b;
    bool exact;

    if (n->flags & JDOC_F_INTEGER) {
        char *end;
        if (n->len >= sizeof small)
            return false;
        memcpy(small, n->text, n->len);
        small[n->len] = '\0';
        errno = 0;
        (void)strtoll(small, &end, 10);
        return errno == 0;
    }
    buf_init(&b, 64);
    exact = jsonw_double(&b, jdoc_number_double(n)) == 0 && b.data &&
            jdoc_number_equal(n->text, n->len, b.data, b.len);
    buf_release(&b);
    return exact;
}

static void find_inexact(const struct jdoc *d, uint32_t i, uint32_t *first, size_t *count)
{
    const struct jdoc_node *n = &d->nodes[i];
    uint32_t c;

    if (n->type == JDOC_NUMBER) {
        if (!number_exact(n)) {
            if (*first == JDOC_NONE)
                *first = i;
            (*count)++;
        }
        return;
    }
    for (c = jdoc_first(d, i); c != JDOC_NONE; c = jdoc_next(d, i, c))
        find_inexact(d, n->type == JDOC_OBJECT ? c + 1 : c, first, count);
}

uint32_t jdoc_find_inexact(const struct jdoc *d, uint32_t i, size_t *count)
{
    uint32_t first = JDOC_NONE;
    size_t n = 0;
    find_inexact(d, i, &first, &n);
    if (count)
        *count = n;
    return first;
}

static int write_jansson(struct buf *out, const json_t *v, int indent, int level,
                         unsigned flags)
{
    unsigned wflags = flags & JDOC_WRITE_HTML_SAFE ? JSONW_HTML_SAFE : 0;
    bool first = true;
    int rc = 0;

    switch (json_typeof(v)) {
    case JSON_NULL: return buf_append(out, "null", 4);
    case JSON_TRUE: return buf_append(out, "true", 4);
    case JSON_FALSE: return buf_append(out, "false", 5);
    case JSON_INTEGER: return jsonw_int(out, json_integer_value(v));
    case JSON_REAL: {
        size_t at = out->len;
        if ((rc = jsonw_double(out, json_real_value(v))) != 0)
            return rc;
        /* Keep a real a real: 1.0, not 1. */
        if (!memchr(out->data + at, '.', out->len - at) &&
            !memchr(out->data + at, 'e', out->len - at) &&
            !memchr(out->data + at, 'n', out->len - at))
            rc = buf_append(out, ".0", 2);
        return rc;
    }
    case JSON_STRING:
        return jsonw_string(out, json_string_value(v), json_string_length(v), wflags);
    case JSON_ARRAY: {
        size_t i;
        json_t *e;
        if ((rc = buf_append_char(out, '[')) != 0)
            return rc;
        json_array_foreach(v, i, e) {
            if ((rc = item_start(out, &first, indent, level)) != 0 ||
                (rc = write_jansson(out, e, indent, level + 1, flags)) != 0)
                return rc;
        }
        return container_end(out, first, indent, level, ']');
    }
    case JSON_OBJECT: {
        const char *key;
        size_t klen;
        json_t *e;
        if ((rc = buf_append_char(out, '{')) != 0)
            return rc;
        json_object_keylen_foreach((json_t *)v, key, klen, e) {
            if ((rc = item_start(out, &first, indent, level)) != 0 ||
                (rc = member_name(out, key, klen, indent, wflags)) != 0 ||
                (rc = write_jansson(out, e, indent, level + 1, flags)) != 0)
                return rc;
        }
        return container_end(out, first, indent, level, '}');
    }
    }
    return ERR_STATE;
}

int jdoc_write_jansson(struct buf *out, const json_t *v, int indent, unsigned flags)
{
    return write_jansson(out, v, indent, 0, flags);
}

int jdoc_from_jansson(struct jdoc *d, const json_t *v, const char *name, struct error *err)
{
    struct buf text;
    size_t len;
    char *data;
    int rc;

    buf_init(&text, JDOC_DEFAULT_MAX_SIZE);
    if ((rc = jdoc_write_jansson(&text, v, 0, 0)) != 0) {
        buf_release(&text);
        return error_set(err, rc, "%s: cannot write the value as JSON text: %s",
                         name ? name : "<value>", error_description(rc));
    }
    data = buf_take(&text, &len);
    jdoc_reset(d);
    free(d->owned);
    d->owned = data;
    return jdoc_parse(d, data, len, name, NULL, err);
}
