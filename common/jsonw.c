#include "jsonw.h"

#include <math.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "utf8.h"

/* Bytes that need a look in 8 bytes at once (SWAR): any byte with the high
 * bit set (UTF-8 to validate), below 0x20, '"', '\\', DEL, and in HTML-safe
 * mode '<', '>' and '&'.  Nonzero when at least one is present. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
static inline uint64_t has_byte(uint64_t w, unsigned char c)
{
    uint64_t v = w ^ (ONES * c);
    return (v - ONES) & ~v & HIGHS;
}

static inline uint64_t needs_look(uint64_t w, bool html)
{
    uint64_t r = (w & HIGHS) | ((w - ONES * 0x20) & ~w & HIGHS) | has_byte(w, '"') |
                 has_byte(w, '\\') | has_byte(w, 0x7F);
    if (html)
        r |= has_byte(w, '<') | has_byte(w, '>') | has_byte(w, '&');
    return r;
}

/* What each ASCII byte becomes: itself, a two-character escape, or
 * \u00XX (control characters and DEL).  Each entry is read as 8 bytes and
 * the output advanced by `len`, without a branch per kind. */
struct ascii_out {
    char s[8];
    unsigned char len;
};
static const struct ascii_out ascii_plain[128] = {
    {"\\u0000", 6},
    {"\\u0001", 6},
    {"\\u0002", 6},
    {"\\u0003", 6},
    {"\\u0004", 6},
    {"\\u0005", 6},
    {"\\u0006", 6},
    {"\\u0007", 6},
    {"\\u0008", 6},
    {"\\t", 2},
    {"\\n", 2},
    {"\\u000b", 6},
    {"\\u000c", 6},
    {"\\r", 2},
    {"\\u000e", 6},
    {"\\u000f", 6},
    {"\\u0010", 6},
    {"\\u0011", 6},
    {"\\u0012", 6},
    {"\\u0013", 6},
    {"\\u0014", 6},
    {"\\u0015", 6},
    {"\\u0016", 6},
    {"\\u0017", 6},
    {"\\u0018", 6},
    {"\\u0019", 6},
    {"\\u001a", 6},
    {"\\u001b", 6},
    {"\\u001c", 6},
    {"\\u001d", 6},
    {"\\u001e", 6},
    {"\\u001f", 6},
    {" ", 1},
    {"!", 1},
    {"\\\"", 2},
    {"#", 1},
    {"$", 1},
    {"%", 1},
    {"&", 1},
    {"'", 1},
    {"(", 1},
    {")", 1},
    {"*", 1},
    {"+", 1},
    {",", 1},
    {"-", 1},
    {".", 1},
    {"/", 1},
    {"0", 1},
    {"1", 1},
    {"2", 1},
    {"3", 1},
    {"4", 1},
    {"5", 1},
    {"6", 1},
    {"7", 1},
    {"8", 1},
    {"9", 1},
    {":", 1},
    {";", 1},
    {"<", 1},
    {"=", 1},
    {">", 1},
    {"?", 1},
    {"@", 1},
    {"A", 1},
    {"B", 1},
    {"C", 1},
    {"D", 1},
    {"E", 1},
    {"F", 1},
    {"G", 1},
    {"H", 1},
    {"I", 1},
    {"J", 1},
    {"K", 1},
    {"L", 1},
    {"M", 1},
    {"N", 1},
    {"O", 1},
    {"P", 1},
    {"Q", 1},
    {"R", 1},
    {"S", 1},
    {"T", 1},
    {"U", 1},
    {"V", 1},
    {"W", 1},
    {"X", 1},
    {"Y", 1},
    {"Z", 1},
    {"[", 1},
    {"\\\\", 2},
    {"]", 1},
    {"^", 1},
    {"_", 1},
    {"`", 1},
    {"a", 1},
    {"b", 1},
    {"c", 1},
    {"d", 1},
    {"e", 1},
    {"f", 1},
    {"g", 1},
    {"h", 1},
    {"i", 1},
    {"j", 1},
    {"k", 1},
    {"l", 1},
    {"m", 1},
    {"n", 1},
    {"o", 1},
    {"p", 1},
    {"q", 1},
    {"r", 1},
    {"s", 1},
    {"t", 1},
    {"u", 1},
    {"v", 1},
    {"w", 1},
    {"x", 1},
    {"y", 1},
    {"z", 1},
    {"{", 1},
    {"|", 1},
    {"}", 1},
    {"~", 1},
    {"\\u007f", 6},
};
/* In HTML-safe mode, < > & are escaped too. */
static const struct ascii_out html_amp = {"\\u0026", 6}, html_lt = {"\\u003c", 6},
                              html_gt = {"\\u003e", 6};

static inline const struct ascii_out *ascii_out(unsigned char c, bool html)
{
    if (html && (c == '&' || c == '<' || c == '>'))
        return c == '&' ? &html_amp : c == '<' ? &html_lt : &html_gt;
    return &ascii_plain[c];
}

/* Input is handled in blocks; each reserves the worst case (6 output
 * bytes per input byte, plus a UTF-8 sequence running past the block), so
 * the loop inside writes without checks. */
#define BLOCK 4096

int jsonw_string(struct buf *out, const char *str, size_t len, unsigned flags)
{
    const unsigned char *s = (const unsigned char *)str;
    bool html = flags & JSONW_HTML_SAFE;
    size_t i = 0;
    char *o;
    int rc;

    bool text_only = flags & JSONW_TEXT_ONLY;
    size_t start = out->len;

    if ((rc = buf_reserve(out, len + 2)) != 0)
        return rc;
    out->data[out->len++] = '"';
    while (i < len) {
        size_t block_end = len - i > BLOCK ? i + BLOCK : len;
        size_t need = block_end - i;
        if (out->cap - out->len - 1 < 6 * need + 16 &&
            (rc = buf_reserve(out, 6 * need + 16 + (len - block_end))) != 0)
            return rc;
        o = out->data + out->len;
        while (i < block_end) {
#ifdef __SSE2__
            {
                /* 16 bytes at once (fewer at the end, from a padded copy): a
                 * mask of the bytes that need a look; plain runs between
                 * them are copied 16 bytes at a time from a stack copy (the
                 * room is reserved), so an escape costs a few instructions
                 * even in dense JSON. */
                unsigned char chunk[32];
                size_t avail = block_end - i, take = avail < 16 ? avail : 16;
                __m128i v;
                if (take == 16) {
                    v = _mm_loadu_si128((const __m128i *)(s + i));
                } else if (take > 8) {
                    /* Two overlapping 8-byte loads, never past the end;
                     * the bytes above `take` are masked out below. */
                    uint64_t lo, hi;
                    memcpy(&lo, s + i, 8);
                    memcpy(&hi, s + i + take - 8, 8);
                    v = _mm_set_epi64x((long long)(hi >> ((16 - take) * 8)), (long long)lo);
                } else {
                    goto scalar; /* a few bytes: the table below is quicker */
                }
                __m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), /* and >= 0x80 */
                                         _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
                m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
                if (html)
                    m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
                                                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('>')),
                                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('&')))));
                unsigned mask = (unsigned)_mm_movemask_epi8(m), pos = 0;
                if (take < 16)
                    mask &= (1u << take) - 1;
                _mm_storeu_si128((__m128i *)o, v);
                if (!mask) {
                    o += take;
                    i += take;
                    continue;
                }
                _mm_storeu_si128((__m128i *)chunk, v);
                _mm_storeu_si128((__m128i *)(chunk + 16), v); /* read past, never kept */
                while (mask) {
                    unsigned k = (unsigned)__builtin_ctz(mask);
                    unsigned char c = chunk[k];
                    memcpy(o, chunk + pos, 16);
                    o += k - pos;
                    if (c >= 0x80 || (c == 0 && text_only))
                        break; /* checked below, byte by byte */
                    const struct ascii_out *e = ascii_out(c, html);
                    memcpy(o, e->s, 8);
                    o += e->len;
                    pos = k + 1;
                    mask &= mask - 1;
                }
                if (!mask) {
                    memcpy(o, chunk + pos, 16);
                    o += take - pos;
                    i += take;
                    continue;
                }
                i += (size_t)__builtin_ctz(mask);
            }
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            if (i + 8 <= block_end) {
                /* Copy 8 bytes blindly (the room is reserved), then keep
                 * those before the first byte that needs a look.  The
                 * lowest flagged byte is exact: the SWAR tests only err on
                 * bytes above a true hit. */
                uint64_t w, m;
                memcpy(&w, s + i, 8);
                m = needs_look(w, html);
                memcpy(o, &w, 8);
                if (!m) {
                    o += 8;
                    i += 8;
                    continue;
                }
                size_t k = (size_t)__builtin_ctzll(m) >> 3;
                o += k;
                i += k;
            }
#endif
#ifdef __SSE2__
        scalar:
#endif
            ;
            unsigned char c = s[i];
            if (c == 0 && text_only)
                goto not_text;
            if (c < 0x80) {
                const struct ascii_out *e = ascii_out(c, html);
                memcpy(o, e->s, 8);
                o += e->len;
                i++;
                continue;
            }
            size_t n = utf8_sequence_length(s + i, len - i);
            /* U+2028/2029 end a JavaScript string in older engines. */
            if (n == 3 && html && c == 0xE2 && s[i + 1] == 0x80 &&
                (s[i + 2] == 0xA8 || s[i + 2] == 0xA9)) {
                memcpy(o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
                o += 6;
            } else if (n) {
                memcpy(o, s + i, n);
                o += n;
            } else if (text_only) {
                goto not_text;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
                o += 3;
                n = 1;
            }
            i += n;
        }
        out->len = (size_t)(o - out->data);
    }
    return buf_append_char(out, '"');
not_text:
    out->len = start;
    out->data[start] = '\0';
    return ERR_INPUT;
}

#undef BLOCK

int jsonw_cstring(struct buf *out, const char *s, unsigned flags)
{
    if (!s)
        return buf_append(out, "null", 4);
    return jsonw_string(out, s, strlen(s), flags);
}

int jsonw_uint(struct buf *out, uint64_t v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";
    static const uint64_t powers[20] = {
        1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
        100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
        10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
        100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull};
    unsigned digits;
    char *p;
    int rc;

    /* Written in place, two digits per division: a transaction line holds
     * a dozen numbers, four of them sixteen-digit timestamps.  The digit
     * count comes from the bit length (log10 2 ~ 1233/4096), then one
     * comparison. */
    digits = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12;
    digits += digits < 20 && v >= powers[digits];
    if (digits == 0)
        digits = 1;
    if (out->cap - out->len <= digits || out->max - out->len < digits) {
        if ((rc = buf_reserve(out, digits)) != 0)
            return rc;
    }
    p = out->data + out->len + digits;
    *p = '\0';
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        p -= 2;
        p[0] = pairs[d];
        p[1] = pairs[d + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = pairs[v * 2];
        p[1] = pairs[v * 2 + 1];
    } else {
        *--p = (char)('0' + v);
    }
    out->len += digits;
    return 0;
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
