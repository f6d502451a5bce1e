#include "base64.h"

#include <stdint.h>

#include "errors.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct buf *out, const void *data, size_t len)
{
    const unsigned char *in = data;
    size_t groups = (len + 2) / 3;
    int rc;
    char *p;
    size_t i;

    rc = buf_reserve(out, groups * 4);
    if (rc)
        return rc;
    p = out->data + out->len;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = alphabet[v >> 6 & 63];
        *p++ = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        *p++ = alphabet[v >> 18 & 63];
        *p++ = alphabet[v >> 12 & 63];
        *p++ = i + 1 < len ? alphabet[v >> 6 & 63] : '=';
        *p++ = '=';
    }
    out->len += groups * 4;
    out->data[out->len] = '\0';
    return 0;
}

static int decode_char(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(struct buf *out, const char *text, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)text;
    uint32_t acc = 0;
    int bits = 0, rc;
    size_t i, pad = 0;

    if (len % 4 != 0) {
        if (bad_offset)
            *bad_offset = len;
        return ERR_INPUT;
    }
    rc = buf_reserve(out, len / 4 * 3);
    if (rc)
        return rc;
    for (i = 0; i < len; i++) {
        int v;
        if (s[i] == '=' && i + 2 >= len && i >= len - 2) {
            pad++;
            continue;
        }
        v = decode_char(s[i]);
        if (v < 0 || pad) {
            if (bad_offset)
                *bad_offset = i;
            return ERR_INPUT;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (char)(acc >> bits & 0xFF);
        }
    }
    out->data[out->len] = '\0';
    return 0;
}
