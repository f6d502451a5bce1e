#include "endpoint.h"

#include <string.h>

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_uuid(const char *s, size_t len)
{
    if (len != 36)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_hex((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool endpoint_segment_is_id(const char *seg, size_t len)
{
    bool digits_only = true, hex_only = true, has_digit = false;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)seg[i];
        bool digit = c >= '0' && c <= '9';
        has_digit |= digit;
        digits_only &= digit;
        hex_only &= is_hex(c);
    }
    if (digits_only)
        return true;
    if (hex_only && len >= 16 && has_digit)
        return true;
    return is_uuid(seg, len);
}

/* Skip "scheme://authority" of an absolute-form target; return where the
 * path starts (may be len: no path). */
static size_t path_start(const char *t, size_t len)
{
    size_t i = 0;

    if (len && t[0] == '/')
        return 0;
    while (i < len && t[i] != ':' && t[i] != '/' && t[i] != '?' && t[i] != '#')
        i++;
    if (i + 2 < len && t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/') {
        i += 3;
        while (i < len && t[i] != '/' && t[i] != '?' && t[i] != '#')
            i++;
        return i;
    }
    return 0; /* origin-form without a leading slash, or "*": keep as is */
}

const char *endpoint_path(const char *target, size_t len, size_t *path_len)
{
    size_t i = path_start(target, len), end = i;

    while (end < len && target[end] != '?' && target[end] != '#')
        end++;
    *path_len = end - i;
    return target + i;
}

int endpoint_template_path(struct buf *out, const char *target, size_t len)
{
    size_t plen, i = 0, end;
    const char *path = endpoint_path(target, len, &plen);
    int rc = 0;

    target = path;
    end = plen;
    if (i == end)
        return buf_append_char(out, '/');
    while (i < end && !rc) {
        size_t seg = i;
        while (seg < end && target[seg] != '/')
            seg++;
        /* target[i..seg) is one segment (possibly empty) */
        if (endpoint_segment_is_id(target + i, seg - i))
            rc = buf_append_str(out, ENDPOINT_ID);
        else if (seg > i)
            rc = buf_append(out, target + i, seg - i);
        if (!rc && seg < end)
            rc = buf_append_char(out, '/');
        i = seg + 1;
    }
    return rc;
}

int endpoint_template(struct buf *out, const char *method, const char *target, size_t len)
{
    int rc = buf_append_str(out, method);
    if (!rc)
        rc = buf_append_char(out, ' ');
    if (!rc)
        rc = endpoint_template_path(out, target, len);
    return rc;
}
