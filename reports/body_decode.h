/*
 * body_decode.h — turn a response body as received into what it says:
 * Content-Encoding removed (gzip, deflate), text converted to UTF-8 from
 * the charset its Content-Type names, and classified as JSON, text or
 * binary — so the diff compares meaning, not bytes (Diffy compared gzip
 * bodies as opaque bytes: twitter-archive/diffy#82).
 *
 * Bounded: decompression stops at the decoder's maximum (a "zip bomb" of a
 * few KB inflating to gigabytes is cut there and flagged BODY_CAPPED), and
 * charset conversion likewise.  A body that cannot be decoded (unknown
 * coding, corrupt stream, unknown charset, bytes invalid in it) is flagged
 * and left as received, classified binary: it is still compared, by bytes.
 *
 * Classification: a Content-Type of application/json, text/json or any
 * "+json" type says JSON; text types, XML, JavaScript and form types say text;
 * otherwise the bytes decide (sniffing): JSON when the first non-blank
 * character opens an object or array, text when they are UTF-8 without NUL
 * or other control characters than tab, CR and LF, else binary.  "JSON" is a
 * claim the caller checks by parsing; text that fails it is compared as text.
 */
#ifndef REHEARSE_BODY_DECODE_H
#define REHEARSE_BODY_DECODE_H

#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "trace.h"

enum body_class {
    BODY_JSON = 0,
    BODY_TEXT,
    BODY_BINARY,
};

/* "json", "text", "binary" */
const char *body_class_name(enum body_class c);

enum body_flags {
    BODY_GZIP = 1 << 0,        /* a gzip coding was removed */
    BODY_DEFLATE = 1 << 1,     /* a deflate coding was removed */
    BODY_CHARSET = 1 << 2,     /* converted to UTF-8 from another charset */
    BODY_CAPPED = 1 << 3,      /* decoding stopped at the maximum size */
    BODY_UNDECODABLE = 1 << 4, /* a coding or charset could not be undone */
    BODY_OMITTED = 1 << 5,     /* the results kept only the size and hash */
};

#define BODY_DEFAULT_MAX_DECODED ((size_t)64 << 20)

/* Caller-owned; reuse it across bodies to keep its buffers. */
struct body_decoder {
    size_t max_decoded;
    struct buf stage[2];  /* decompression ping-pongs between these */
    struct buf text;      /* charset conversion */
    iconv_t cd;           /* the last charset's converter, or (iconv_t)-1 */
    char cd_charset[40];
};

struct body_view {
    const char *data;     /* decoded bytes: the message's own when nothing was
                             undone, else the decoder's (borrowed until the
                             next body_decode with this decoder) */
    size_t len;
    enum body_class cls;
    unsigned flags;       /* enum body_flags */
    char charset[40];     /* as the Content-Type named it, lowercased; "" */
    char media_type[80];  /* "application/json", lowercased; "" when none */
};

void body_decoder_init(struct body_decoder *d, size_t max_decoded); /* 0: default */
void body_decoder_release(struct body_decoder *d);

/* Decode the body of m.  `omitted`: the body itself is not there (only its
 * size and hash): the view is empty, classified by Content-Type alone.
 * Never fails: what cannot be undone is flagged.  Bytes (a NUL-terminated
 * copy is never made): view->data may hold NUL. */
void body_decode(struct body_decoder *d, const struct http_message *m, bool omitted,
                 struct body_view *view);

/* Text as the sniffing defines it: UTF-8 without control characters other
 * than tab, CR and LF. */
bool body_is_text(const char *s, size_t n);

/* The first value of header `name` of m, trimmed; NULL when absent. */
const char *body_header_value(const struct http_message *m, const char *name, size_t *len);

#endif
