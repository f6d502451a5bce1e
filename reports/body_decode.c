#include "body_decode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "utf8.h"

#define MAX_CODINGS 4

const char *body_class_name(enum body_class c)
{
    switch (c) {
    case BODY_JSON: return "json";
    case BODY_TEXT: return "text";
    default: return "binary";
    }
}

void body_decoder_init(struct body_decoder *d, size_t max_decoded)
{
    memset(d, 0, sizeof *d);
    d->max_decoded = max_decoded ? max_decoded : BODY_DEFAULT_MAX_DECODED;
    buf_init(&d->stage[0], d->max_decoded);
    buf_init(&d->stage[1], d->max_decoded);
    buf_init(&d->text, d->max_decoded);
    d->cd = (iconv_t)-1;
}

void body_decoder_release(struct body_decoder *d)
{
    buf_release(&d->stage[0]);
    buf_release(&d->stage[1]);
    buf_release(&d->text);
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    d->cd = (iconv_t)-1;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

const char *body_header_value(const struct http_message *m, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < m->header_count; i++) {
        const struct http_header *h = &m->headers[i];
        if (h->name_len == nlen && strncasecmp(h->name, name, nlen) == 0) {
            const char *v = h->value;
            size_t n = h->value_len;
            while (n && is_ows(*v))
                v++, n--;
            while (n && is_ows(v[n - 1]))
                n--;
            *len = n;
            return v;
        }
    }
    return NULL;
}

/* Copy s[0..n) lowercased into out (cut to fit). */
static void lower_copy(char *out, size_t size, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n && i + 1 < size; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    out[i] = '\0';
}

/* media type and charset parameter of a Content-Type value */
static void parse_content_type(const char *v, size_t n, struct body_view *view)
{
    size_t i = 0, end;

    while (i < n && v[i] != ';')
        i++;
    end = i;
    while (end && is_ows(v[end - 1]))
        end--;
    lower_copy(view->media_type, sizeof view->media_type, v, end);
    while (i < n) {
        size_t name, name_end, val, val_end;
        i++; /* ';' */
        while (i < n && is_ows(v[i]))
            i++;
        name = i;
        while (i < n && v[i] != '=' && v[i] != ';')
            i++;
        name_end = i;
        while (name_end > name && is_ows(v[name_end - 1]))
            name_end--;
        if (i >= n || v[i] != '=')
            continue;
        i++;
        while (i < n && is_ows(v[i]))
            i++;
        if (i < n && v[i] == '"') {
            val = ++i;
            while (i < n && v[i] != '"')
                i++;
            val_end = i;
            while (i < n && v[i] != ';')
                i++;
        } else {
            val = i;
            while (i < n && v[i] != ';')
                i++;
            val_end = i;
            while (val_end > val && is_ows(v[val_end - 1]))
                val_end--;
        }
        if (name_end - name == 7 && strncasecmp(v + name, "charset", 7) == 0)
            lower_copy(view->charset, sizeof view->charset, v + val, val_end - val);
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

/* What the media type says: JSON, text, or nothing (-1: sniff). */
static int declared_class(const char *mt)
{
    if (!*mt)
        return -1;
    if (strcmp(mt, "application/json") == 0 || strcmp(mt, "text/json") == 0 ||
        ends_with(mt, "+json"))
        return BODY_JSON;
    if (strncmp(mt, "text/", 5) == 0 || ends_with(mt, "+xml") ||
        strcmp(mt, "application/xml") == 0 || strcmp(mt, "application/javascript") == 0 ||
        strcmp(mt, "application/ecmascript") == 0 ||
        strcmp(mt, "application/x-www-form-urlencoded") == 0 ||
        strcmp(mt, "application/x-ndjson") == 0 || strcmp(mt, "application/graphql") == 0 ||
        strcmp(mt, "application/yaml") == 0)
        return BODY_TEXT;
    return -1;
}

bool body_is_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return false;
        if (c == 0x7f)
            return false;
    }
    return utf8_valid(s, n);
}

static enum body_class sniff(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
        i = 3;
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
        i++;
    if (i < n && (s[i] == '{' || s[i] == '['))
        return BODY_JSON;
    return body_is_text(s, n) ? BODY_TEXT : BODY_BINARY;
}

/* Inflate in[0..n) into out: gzip (with several members) or zlib/raw
 * deflate.  0 done, 1 capped at out->max, -1 corrupt or incomplete. */
static int inflate_into(struct buf *out, const unsigned char *in, size_t n, bool gzip)
{
    z_stream z;
    int rc, result = 0;
    bool raw_tried = false;

    buf_reset(out);
again:
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, gzip ? 15 + 16 : raw_tried ? -15 : 15) != Z_OK)
        return -1;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    for (;;) {
        size_t room;
        if (out->len >= out->max) {
            result = 1;
            break;
        }
        if (buf_reserve(out, out->len + 65536 <= out->max ? 65536 : out->max - out->len)) {
            result = -1;
            break;
        }
        room = out->cap - 1 - out->len;
        if (room > out->max - out->len)
            room = out->max - out->len;
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        z.next_out = (unsigned char *)out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        out->data[out->len] = '\0';
        if (rc == Z_STREAM_END) {
            /* gzip allows several members one after the other */
            if (gzip && z.avail_in > 0 && inflateReset(&z) == Z_OK)
                continue;
            break;
        }
        if (rc == Z_DATA_ERROR && !gzip && !raw_tried && out->len == 0) {
            /* "deflate" is often sent raw, without the zlib wrapper */
            inflateEnd(&z);
            raw_tried = true;
            goto again;
        }
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
            result = -1;
            break;
        }
        if (z.avail_in == 0 && z.avail_out > 0) {
            result = -1; /* the input ended inside the stream */
            break;
        }
    }
    inflateEnd(&z);
    return result;
}

/* Convert s[0..n) from charset cs to UTF-8 into d->text.  0, 1 capped, -1. */
static int convert(struct body_decoder *d, const char *cs, const char *s, size_t n)
{
    char *in = (char *)s;
    size_t in_left = n;

    if (d->cd == (iconv_t)-1 || strcmp(d->cd_charset, cs) != 0) {
        if (d->cd != (iconv_t)-1)
            iconv_close(d->cd);
        d->cd = iconv_open("UTF-8", cs);
        if (d->cd == (iconv_t)-1)
            return -1;
        snprintf(d->cd_charset, sizeof d->cd_charset, "%s", cs);
    }
    iconv(d->cd, NULL, NULL, NULL, NULL);
    buf_reset(&d->text);
    while (in_left > 0) {
        size_t want = in_left * 2 + 16, room;
        char *out;
        if (d->text.len >= d->text.max)
            return 1;
        if (want > d->text.max - d->text.len)
            want = d->text.max - d->text.len;
        if (buf_reserve(&d->text, want))
            return -1;
        room = d->text.cap - 1 - d->text.len;
        if (room > d->text.max - d->text.len)
            room = d->text.max - d->text.len;
        out = d->text.data + d->text.len;
        size_t before = room;
        size_t r = iconv(d->cd, &in, &in_left, &out, &room);
        d->text.len += before - room;
        d->text.data[d->text.len] = '\0';
        if (r == (size_t)-1 && errno != E2BIG)
            return -1;
    }
    return 0;
}

static bool is_utf8_name(const char *cs)
{
    return !*cs || strcmp(cs, "utf-8") == 0 || strcmp(cs, "utf8") == 0 ||
           strcmp(cs, "us-ascii") == 0 || strcmp(cs, "ascii") == 0;
}

void body_decode(struct body_decoder *d, const struct http_message *m, bool omitted,
                 struct body_view *view)
{
    const char *v, *codings[MAX_CODINGS];
    size_t vlen, clen[MAX_CODINGS], ncodings = 0;
    int declared;

    memset(view, 0, sizeof *view);
    view->data = (const char *)m->body;
    view->len = m->body_len;
    if ((v = body_header_value(m, "Content-Type", &vlen)))
        parse_content_type(v, vlen, view);
    declared = declared_class(view->media_type);
    if (omitted) {
        view->flags |= BODY_OMITTED;
        view->cls = declared >= 0 ? (enum body_class)declared : BODY_BINARY;
        return;
    }

    /* Content-Encoding lists codings in the order applied: undo from the end. */
    if ((v = body_header_value(m, "Content-Encoding", &vlen))) {
        size_t i = 0;
        while (i < vlen) {
            size_t start, end;
            while (i < vlen && (is_ows(v[i]) || v[i] == ','))
                i++;
            start = i;
            while (i < vlen && v[i] != ',')
                i++;
            end = i;
            while (end > start && is_ows(v[end - 1]))
                end--;
            if (end == start || (end - start == 8 && strncasecmp(v + start, "identity", 8) == 0))
                continue;
            if (ncodings == MAX_CODINGS) {
                view->flags |= BODY_UNDECODABLE;
                break;
            }
            codings[ncodings] = v + start;
            clen[ncodings++] = end - start;
        }
    }
    for (size_t k = ncodings, which = 0; k-- > 0 && !(view->flags & BODY_UNDECODABLE);
         which ^= 1) {
        const char *c = codings[k];
        bool gzip = (clen[k] == 4 && strncasecmp(c, "gzip", 4) == 0) ||
                    (clen[k] == 6 && strncasecmp(c, "x-gzip", 6) == 0);
        bool deflate = clen[k] == 7 && strncasecmp(c, "deflate", 7) == 0;
        int r;
        if (!gzip && !deflate) {
            view->flags |= BODY_UNDECODABLE; /* br, zstd, compress: left as is */
            break;
        }
        r = inflate_into(&d->stage[which], (const unsigned char *)view->data, view->len, gzip);
        if (r < 0) {
            view->flags |= BODY_UNDECODABLE;
            break;
        }
        view->flags |= gzip ? BODY_GZIP : BODY_DEFLATE;
        view->data = d->stage[which].data ? d->stage[which].data : "";
        view->len = d->stage[which].len;
        if (r > 0) {
            view->flags |= BODY_CAPPED;
            break;
        }
    }
    if (view->flags & (BODY_UNDECODABLE | BODY_CAPPED)) {
        /* compared as received, byte for byte: nothing was undone */
        view->flags &= ~(unsigned)(BODY_GZIP | BODY_DEFLATE);
        view->data = (const char *)m->body;
        view->len = m->body_len;
        view->cls = BODY_BINARY;
        return;
    }

    if (!is_utf8_name(view->charset)) {
        int r = convert(d, view->charset, view->data, view->len);
        if (r != 0) {
            view->flags &= ~(unsigned)(BODY_GZIP | BODY_DEFLATE);
            view->flags |= r > 0 ? BODY_CAPPED : BODY_UNDECODABLE;
            view->data = (const char *)m->body;
            view->len = m->body_len;
            view->cls = BODY_BINARY;
            return;
        }
        view->flags |= BODY_CHARSET;
        view->data = d->text.data ? d->text.data : "";
        view->len = d->text.len;
    }
    if (declared == BODY_JSON)
        view->cls = BODY_JSON;
    else if (declared == BODY_TEXT)
        view->cls = body_is_text(view->data, view->len) ? BODY_TEXT : BODY_BINARY;
    else
        view->cls = sniff(view->data, view->len);
}
