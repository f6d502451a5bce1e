#include "fault_toxic.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define ATTR(type_field, key, unit, max) {key, unit, offsetof(struct fault_toxic, u.type_field), max}

static const struct fault_toxic_attr latency_attrs[] = {
    ATTR(latency.latency_ms, "latency", "ms", DAY_MS),
    ATTR(latency.jitter_ms, "jitter", "ms", DAY_MS),
};
static const struct fault_toxic_attr bandwidth_attrs[] = {
    ATTR(bandwidth.rate_kbs, "rate", "KB/s", 1000000000LL),
};
static const struct fault_toxic_attr slow_close_attrs[] = {
    ATTR(slow_close.delay_ms, "delay", "ms", DAY_MS),
};
static const struct fault_toxic_attr timeout_attrs[] = {
    ATTR(timeout.timeout_ms, "timeout", "ms", DAY_MS),
};
static const struct fault_toxic_attr reset_peer_attrs[] = {
    ATTR(reset_peer.timeout_ms, "timeout", "ms", DAY_MS),
};
static const struct fault_toxic_attr slicer_attrs[] = {
    ATTR(slicer.average_size, "average_size", "bytes", 1 << 24),
    ATTR(slicer.size_variation, "size_variation", "bytes", 1 << 24),
    ATTR(slicer.delay_us, "delay", "µs", DAY_MS * 1000),
};
static const struct fault_toxic_attr limit_data_attrs[] = {
    ATTR(limit_data.bytes, "bytes", "bytes", 1LL << 53),
};

struct type_entry {
    const char *name;
    const struct fault_toxic_attr *attrs;
    size_t count;
};

#define ENTRY(name, attrs) {name, attrs, sizeof attrs / sizeof attrs[0]}
static const struct type_entry types[FAULT_TOXIC_TYPES] = {
    [FAULT_TOXIC_LATENCY] = ENTRY("latency", latency_attrs),
    [FAULT_TOXIC_BANDWIDTH] = ENTRY("bandwidth", bandwidth_attrs),
    [FAULT_TOXIC_SLOW_CLOSE] = ENTRY("slow_close", slow_close_attrs),
    [FAULT_TOXIC_TIMEOUT] = ENTRY("timeout", timeout_attrs),
    [FAULT_TOXIC_RESET_PEER] = ENTRY("reset_peer", reset_peer_attrs),
    [FAULT_TOXIC_SLICER] = ENTRY("slicer", slicer_attrs),
    [FAULT_TOXIC_LIMIT_DATA] = ENTRY("limit_data", limit_data_attrs),
    [FAULT_TOXIC_DOWN] = {"down", NULL, 0},
};

const struct fault_toxic_attr *fault_toxic_attrs(enum fault_toxic_type type, size_t *count)
{
    if ((unsigned)type >= FAULT_TOXIC_TYPES) {
        *count = 0;
        return NULL;
    }
    *count = types[type].count;
    return types[type].attrs;
}

const char *fault_toxic_type_name(enum fault_toxic_type type)
{
    return (unsigned)type < FAULT_TOXIC_TYPES ? types[type].name : "?";
}

int fault_toxic_type_parse(const char *name, enum fault_toxic_type *out)
{
    for (unsigned i = 0; i < FAULT_TOXIC_TYPES; i++) {
        if (strcmp(types[i].name, name) == 0) {
            *out = (enum fault_toxic_type)i;
            return 0;
        }
    }
    return -1;
}

const char *fault_stream_name(enum fault_stream stream)
{
    return stream == FAULT_UPSTREAM ? "upstream" : "downstream";
}

static void default_name(struct fault_toxic *t)
{
    if (t->type == FAULT_TOXIC_DOWN)
        snprintf(t->name, sizeof t->name, "down");
    else
        snprintf(t->name, sizeof t->name, "%s_%s", fault_toxic_type_name(t->type),
                 fault_stream_name(t->stream));
}

void fault_toxic_init(struct fault_toxic *t, enum fault_toxic_type type,
                      enum fault_stream stream)
{
    memset(t, 0, sizeof *t);
    t->type = type;
    t->stream = stream;
    t->toxicity = 1.0;
    if (type == FAULT_TOXIC_SLICER)
        t->u.slicer.average_size = 1;
    default_name(t);
}

static int64_t *attr_slot(struct fault_toxic *t, const struct fault_toxic_attr *a)
{
    return (int64_t *)((char *)t + a->offset);
}

static int64_t attr_value(const struct fault_toxic *t, const struct fault_toxic_attr *a)
{
    return *(const int64_t *)((const char *)t + a->offset);
}

/* "latency (ms), jitter (ms), toxicity, name" */
static void expected_keys(enum fault_toxic_type type, char *out, size_t size)
{
    size_t n, len = 0;
    const struct fault_toxic_attr *attrs = fault_toxic_attrs(type, &n);
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%s (%s), ", attrs[i].key, attrs[i].unit);
    if (len < size)
        snprintf(out + len, size - len, type == FAULT_TOXIC_DOWN ? "name" : "toxicity, name");
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return false;
    return true;
}

int fault_toxic_set(struct fault_toxic *t, const char *key, const char *value,
                    struct error *err)
{
    const char *tname = fault_toxic_type_name(t->type);
    char expected[256];
    size_t n;
    const struct fault_toxic_attr *attrs = fault_toxic_attrs(t->type, &n);

    if (strcmp(key, "name") == 0) {
        if (strlen(value) >= sizeof t->name || !valid_name(value))
            return error_set(err, ERR_USAGE,
                             "name '%s': expected 1 to %zu letters, digits, '_', '-' or '.'",
                             value, sizeof t->name - 1);
        snprintf(t->name, sizeof t->name, "%s", value);
        return 0;
    }
    if (strcmp(key, "toxicity") == 0) {
        char *end;
        double v;
        errno = 0;
        v = strtod(value, &end);
        if (!*value || *end || errno || !isfinite(v) || v < 0 || v > 1)
            return error_set(err, ERR_USAGE,
                             "toxicity '%s': expected a probability between 0 and 1", value);
        t->toxicity = v;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(key, attrs[i].key) != 0)
            continue;
        const char *p = value;
        unsigned long long v = 0;
        if (*p == '-')
            return error_set(err, ERR_USAGE, "%s '%s': must not be negative", key, value);
        if (*p < '0' || *p > '9')
            return error_set(err, ERR_USAGE, "%s '%s': expected a non-negative integer (%s)",
                             key, value, attrs[i].unit);
        for (; *p >= '0' && *p <= '9'; p++) {
            v = v * 10 + (unsigned long long)(*p - '0');
            if (v > (unsigned long long)attrs[i].max)
                return error_set(err, ERR_USAGE, "%s '%s': too large (at most %lld %s)", key,
                                 value, (long long)attrs[i].max, attrs[i].unit);
        }
        if (*p)
            return error_set(err, ERR_USAGE,
                             "%s '%s': expected a non-negative integer in %s, without a unit",
                             key, value, attrs[i].unit);
        *attr_slot(t, &attrs[i]) = (int64_t)v;
        return 0;
    }
    expected_keys(t->type, expected, sizeof expected);
    return error_set(err, ERR_USAGE, "unknown attribute '%s' for %s (expected %s)", key, tname,
                     expected);
}

/* The checks behind fault_toxic_validate, with messages that do not name
 * the toxic (the callers say which toxic or spec). */
static int check(const struct fault_toxic *t, struct error *err)
{
    size_t n;
    const struct fault_toxic_attr *attrs;

    if ((unsigned)t->type >= FAULT_TOXIC_TYPES)
        return error_set(err, ERR_USAGE, "unknown toxic type %d", (int)t->type);
    if (t->stream != FAULT_UPSTREAM && t->stream != FAULT_DOWNSTREAM)
        return error_set(err, ERR_USAGE, "unknown stream %d", (int)t->stream);
    if (!valid_name(t->name))
        return error_set(err, ERR_USAGE, "name '%s': expected letters, digits, '_', '-' or '.'",
                         t->name);
    if (!(t->toxicity >= 0 && t->toxicity <= 1))
        return error_set(err, ERR_USAGE, "toxicity %g is not between 0 and 1", t->toxicity);
    attrs = fault_toxic_attrs(t->type, &n);
    for (size_t i = 0; i < n; i++) {
        int64_t v = attr_value(t, &attrs[i]);
        if (v < 0 || v > attrs[i].max)
            return error_set(err, ERR_USAGE, "%s %lld is outside 0..%lld %s", attrs[i].key,
                             (long long)v, (long long)attrs[i].max, attrs[i].unit);
    }
    if (t->type == FAULT_TOXIC_SLICER && t->u.slicer.average_size < 1)
        return error_set(err, ERR_USAGE, "slicer average_size must be at least 1");
    if (t->type == FAULT_TOXIC_DOWN && t->toxicity != 1)
        return error_set(err, ERR_USAGE,
                         "down takes the whole link down, so its toxicity must be 1");
    return 0;
}

int fault_toxic_validate(const struct fault_toxic *t, struct error *err)
{
    int rc = check(t, err);
    if (rc)
        error_prefix(err, "toxic '%.*s'", (int)sizeof t->name, t->name);
    return rc;
}

int fault_toxic_parse(struct fault_toxic *t, const char *spec, struct error *err)
{
    char copy[FAULT_TOXIC_SPEC_MAX * 2];
    char *type_tok, *attrs_tok, *colon;
    enum fault_stream stream = FAULT_DOWNSTREAM;
    enum fault_toxic_type type;
    bool named = false;
    int rc;

    if (strlen(spec) >= sizeof copy)
        return error_set(err, ERR_USAGE, "toxic spec is longer than %zu bytes", sizeof copy - 1);
    snprintf(copy, sizeof copy, "%s", spec);

    type_tok = copy;
    colon = strchr(type_tok, ':');
    if (colon) {
        *colon = '\0';
        if (strcmp(type_tok, "upstream") == 0 || strcmp(type_tok, "downstream") == 0) {
            stream = type_tok[0] == 'u' ? FAULT_UPSTREAM : FAULT_DOWNSTREAM;
            type_tok = colon + 1;
            colon = strchr(type_tok, ':');
            if (colon)
                *colon = '\0';
        }
    }
    attrs_tok = colon ? colon + 1 : NULL;
    if (fault_toxic_type_parse(type_tok, &type) != 0) {
        char names[160];
        size_t len = 0;
        for (unsigned i = 0; i < FAULT_TOXIC_TYPES; i++)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "",
                                    types[i].name);
        if (!*type_tok)
            return error_set(err, ERR_USAGE,
                             "toxic '%s': missing toxic type at byte %td (expected "
                             "[upstream:|downstream:]TYPE[:KEY=VALUE,...] with TYPE one of %s)",
                             spec, type_tok - copy, names);
        return error_set(err, ERR_USAGE,
                         "toxic '%s': unknown toxic type '%s' at byte %td (expected one of %s; "
                         "a stream prefix is upstream: or downstream:)",
                         spec, type_tok, type_tok - copy, names);
    }
    fault_toxic_init(t, type, stream);
    if (!attrs_tok)
        goto done;
    if (!*attrs_tok)
        return error_set(err, ERR_USAGE,
                         "toxic '%s': nothing after ':' at byte %td (expected KEY=VALUE; "
                         "drop the ':' to use the defaults)",
                         spec, attrs_tok - copy);
    for (char *item = attrs_tok; item;) {
        char *next = strchr(item, ',');
        char *eq;
        if (next)
            *next++ = '\0';
        eq = strchr(item, '=');
        if (!eq || eq == item)
            return error_set(err, ERR_USAGE,
                             "toxic '%s': expected KEY=VALUE at byte %td, found '%s'", spec,
                             item - copy, item);
        *eq = '\0';
        rc = fault_toxic_set(t, item, eq + 1, err);
        if (rc) {
            error_prefix(err, "toxic '%s': at byte %td", spec, item - copy);
            return rc;
        }
        if (strcmp(item, "name") == 0)
            named = true;
        item = next;
    }
done:
    if (!named)
        default_name(t);
    rc = check(t, err);
    if (rc)
        error_prefix(err, "toxic '%s'", spec);
    return rc;
}

int fault_toxic_format(const struct fault_toxic *t, char *out, size_t size)
{
    size_t n, len;
    const struct fault_toxic_attr *attrs = fault_toxic_attrs(t->type, &n);
    int w;

    if (t->type == FAULT_TOXIC_DOWN)
        return snprintf(out, size, "down:name=%s", t->name);
    w = snprintf(out, size, "%s:%s:", fault_stream_name(t->stream), fault_toxic_type_name(t->type));
    len = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < n; i++) {
        w = snprintf(out + (len < size ? len : size), len < size ? size - len : 0, "%s=%lld,",
                     attrs[i].key, (long long)attr_value(t, &attrs[i]));
        len += w > 0 ? (size_t)w : 0;
    }
    w = snprintf(out + (len < size ? len : size), len < size ? size - len : 0,
                 "toxicity=%g,name=%s", t->toxicity, t->name);
    len += w > 0 ? (size_t)w : 0;
    return (int)len;
}
