#include "redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/random.h>

#include "hmac.h"

#define KEY_LEN 32
#define MAX_NAMES 64
#define NAME_MAX_LEN 128

struct redactor {
    struct hmac_key *key;
    char names[MAX_NAMES][NAME_MAX_LEN];
    size_t name_lens[MAX_NAMES];
    bool keeps_scheme[MAX_NAMES];
    size_t count;
};

static const char *const default_names[] = {"Authorization", "Proxy-Authorization", "Cookie",
                                            "Set-Cookie"};

static int add_name(struct redactor *r, const char *name, bool keep_scheme, struct error *err)
{
    size_t len = strlen(name);
    if (len == 0 || len >= NAME_MAX_LEN)
        return error_set(err, ERR_USAGE, "header name '%s' must have 1 to %d characters", name,
                         NAME_MAX_LEN - 1);
    if (redactor_is_secret(r, name, len))
        return 0;
    if (r->count == MAX_NAMES)
        return error_set(err, ERR_USAGE, "too many headers to redact (at most %d)", MAX_NAMES);
    memcpy(r->names[r->count], name, len + 1);
    r->name_lens[r->count] = len;
    r->keeps_scheme[r->count] = keep_scheme;
    r->count++;
    return 0;
}

int redactor_new_with_key(struct redactor **out, const void *key, size_t key_len,
                          struct error *err)
{
    struct redactor *r;

    *out = NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, ERR_NOMEM, "out of memory creating the redactor");
    r->key = hmac_key_new(key, key_len);
    if (!r->key) {
        free(r);
        return error_set(err, ERR_ENV, "libcrypto cannot compute HMAC-SHA256 for redaction");
    }
    for (size_t i = 0; i < sizeof default_names / sizeof default_names[0]; i++)
        add_name(r, default_names[i], i < 2, NULL);
    *out = r;
    return 0;
}

int redactor_new(struct redactor **out, struct error *err)
{
    unsigned char key[KEY_LEN];
    int rc;

    if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
        return error_errno(err, ERR_ENV, errno, "cannot get random bytes for the redaction key");
    rc = redactor_new_with_key(out, key, sizeof key, err);
    memset(key, 0, sizeof key);
    return rc;
}

void redactor_free(struct redactor *r)
{
    if (!r)
        return;
    hmac_key_free(r->key);
    free(r);
}

int redactor_add_header(struct redactor *r, const char *name, struct error *err)
{
    return add_name(r, name, false, err);
}

static long find(const struct redactor *r, const char *name, size_t len)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->name_lens[i] == len && strncasecmp(r->names[i], name, len) == 0)
            return (long)i;
    return -1;
}

bool redactor_is_secret(const struct redactor *r, const char *name, size_t len)
{
    return find(r, name, len) >= 0;
}

void redactor_fingerprint(const struct redactor *r, const void *data, size_t len, char hex[17])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char mac[HMAC_SHA256_LEN];

    /* Fails only when libcrypto runs out of memory: the fingerprint is
     * then all zeros, which still hides the secret. */
    if (!hmac_sha256(r->key, data, len, mac))
        memset(mac, 0, sizeof mac);
    for (int i = 0; i < 8; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[16] = '\0';
}

int redactor_value(const struct redactor *r, const char *name, size_t name_len,
                   const char *value, size_t len, struct buf *out)
{
    long i = find(r, name, name_len);
    char hex[17];
    int rc = 0;

    /* "Bearer abc" keeps "Bearer ": the scheme says how a client
     * authenticates, which a reviewer needs; only the credentials go. */
    if (i >= 0 && r->keeps_scheme[i]) {
        size_t s = 0;
        while (s < len && value[s] != ' ')
            s++;
        if (s > 0 && s < len) {
            rc |= buf_append(out, value, s + 1);
            value += s + 1;
            len -= s + 1;
        }
    }
    redactor_fingerprint(r, value, len, hex);
    rc |= buf_append_str(out, "[redacted:hmac:");
    rc |= buf_append(out, hex, 16);
    rc |= buf_append_char(out, ']');
    return rc ? ERR_TOOBIG : 0;
}
