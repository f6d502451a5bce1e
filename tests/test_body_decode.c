/* reports/body_decode: content codings, charsets and classification. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "body_decode.h"

TestSuite(body_decode);

static struct body_decoder dec;
static struct http_header hs[4];
static struct http_message msg;

static void message(const char *ctype, const char *cenc, const void *body, size_t len)
{
    size_t n = 0;
    memset(&msg, 0, sizeof msg);
    if (ctype)
        hs[n++] = (struct http_header){"content-type", 12, ctype, strlen(ctype)};
    if (cenc)
        hs[n++] = (struct http_header){"Content-Encoding", 16, cenc, strlen(cenc)};
    msg.headers = hs;
    msg.header_count = n;
    msg.body = body;
    msg.body_len = len;
}

/* windowBits: 15 zlib, -15 raw deflate, 31 gzip */
static unsigned char *pack(const char *text, int bits, size_t *len)
{
    z_stream z;
    unsigned char *out = malloc(strlen(text) + 128);
    memset(&z, 0, sizeof z);
    cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = (uInt)(strlen(text) + 128);
    cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = z.total_out;
    deflateEnd(&z);
    return out;
}

static void expect(const struct body_view *v, enum body_class cls, unsigned flags, const char *text)
{
    cr_assert_eq(v->cls, cls, "class %s", body_class_name(v->cls));
    cr_assert_eq(v->flags, flags, "flags %#x", v->flags);
    if (text) {
        cr_assert_eq(v->len, strlen(text));
        cr_assert(memcmp(v->data, text, v->len) == 0);
    }
}

Test(body_decode, codings_are_undone_raw_deflate_and_gzip_members_too)
{
    struct body_view v;
    size_t a, b;
    unsigned char *raw = pack("{\"a\": 1}", -15, &b), *z = pack("{\"a\": 1}", 15, &a);
    unsigned char *g1, *g2, two[256];

    body_decoder_init(&dec, 0);
    message("application/json", "deflate", z, a);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_JSON, BODY_DEFLATE, "{\"a\": 1}");
    message(NULL, "Deflate", raw, b);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_JSON, BODY_DEFLATE, "{\"a\": 1}"); /* sniffed */
    /* two gzip members one after the other are one body */
    g1 = pack("hello ", 31, &a);
    g2 = pack("world", 31, &b);
    memcpy(two, g1, a);
    memcpy(two + a, g2, b);
    message("text/plain", "x-gzip", two, a + b);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_TEXT, BODY_GZIP, "hello world");
    /* gzip then "identity" listed: undone in order */
    message("text/plain", "identity, gzip", g1, a);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_TEXT, BODY_GZIP, "hello ");
    free(z);
    free(raw);
    free(g1);
    free(g2);
    body_decoder_release(&dec);
}

Test(body_decode, what_cannot_be_undone_is_flagged_and_compared_as_received)
{
    struct body_view v;
    static const char junk[] = "\x1f\x8b\x08\x00garbage";
    size_t a;
    unsigned char *g = pack("{\"truncated\": true}", 31, &a);

    body_decoder_init(&dec, 0);
    message("application/json", "br", "\x0b\x02\x80", 3);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, BODY_UNDECODABLE, NULL);
    cr_assert_eq(v.len, 3);
    message("application/json", "gzip", junk, sizeof junk - 1);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, BODY_UNDECODABLE, NULL);
    message("application/json", "gzip", g, a - 5); /* the stream ends early */
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, BODY_UNDECODABLE, NULL);
    message("text/plain; charset=no-such-charset", NULL, "abc", 3);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, BODY_UNDECODABLE, "abc");
    free(g);
    body_decoder_release(&dec);
}

Test(body_decode, a_bomb_is_cut_at_the_maximum)
{
    struct body_view v;
    size_t n = 8 << 20, a;
    char *big = malloc(n + 1);
    unsigned char *g;

    memset(big, 'a', n);
    big[n] = '\0';
    g = pack(big, 31, &a);
    body_decoder_init(&dec, 1 << 20);
    message("text/plain", "gzip", g, a);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, BODY_CAPPED, NULL);
    cr_assert_eq(v.len, a); /* as received */
    body_decoder_release(&dec);
    body_decoder_init(&dec, 16 << 20);
    body_decode(&dec, &msg, false, &v);
    cr_assert_eq(v.flags, BODY_GZIP);
    cr_assert_eq(v.len, n);
    body_decoder_release(&dec);
    free(big);
    free(g);
}

Test(body_decode, charsets_convert_and_types_classify)
{
    struct body_view v;

    body_decoder_init(&dec, 0);
    message("text/html; charset=\"ISO-8859-1\"; q=1", NULL, "caf\xe9", 4);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_TEXT, BODY_CHARSET, "caf\xc3\xa9");
    cr_assert_str_eq(v.charset, "iso-8859-1");
    cr_assert_str_eq(v.media_type, "text/html");
    message("application/problem+json; charset=UTF-8", NULL, "{}", 2);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_JSON, 0, "{}");
    message("text/plain", NULL, "caf\xe9", 4); /* not UTF-8, no charset */
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, 0, NULL);
    message(NULL, NULL, "  [1, 2]", 8);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_JSON, 0, NULL);
    message("application/octet-stream", NULL, "plain words\n", 12);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_TEXT, 0, NULL);
    message(NULL, NULL, "\x00\x01\x02", 3);
    body_decode(&dec, &msg, false, &v);
    expect(&v, BODY_BINARY, 0, NULL);
    message("image/png", NULL, "", 0);
    body_decode(&dec, &msg, true, &v);
    expect(&v, BODY_BINARY, BODY_OMITTED, NULL);
    body_decoder_release(&dec);
}
