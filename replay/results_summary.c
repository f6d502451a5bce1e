#include "results_summary.h"

#include <stdio.h>
#include <string.h>

#include "jsonw.h"

void results_summary_init(struct results_summary *s, size_t target_count)
{
    memset(s, 0, sizeof *s);
    s->finished_us = s->duration_us = RESULTS_TIME_NONE;
    s->target_count = target_count;
    for (size_t t = 0; t < RESULTS_MAX_TARGETS; t++) {
        histogram_init(&s->targets[t].latency);
        histogram_init(&s->targets[t].lateness);
        s->targets[t].lateness_known = true;
    }
}

/* ------------------------------------------------------------ writing */

static int write_time(struct buf *b, const char *key, int64_t t)
{
    int rc = buf_append_str(b, key);
    return rc | (t == RESULTS_TIME_NONE ? buf_append_str(b, "null") : jsonw_int(b, t));
}

/* "KEY":{"p50":..,["p90":..,]"p99":..,"max":..} */
static int write_percentiles(struct buf *b, const char *key, const struct histogram *h,
                             bool p90)
{
    int rc = buf_printf(b, ",\"%s\":{\"p50\":%llu,", key,
                        (unsigned long long)histogram_percentile(h, 50));
    if (p90)
        rc |= buf_printf(b, "\"p90\":%llu,", (unsigned long long)histogram_percentile(h, 90));
    rc |= buf_printf(b, "\"p99\":%llu,\"max\":%llu}",
                     (unsigned long long)histogram_percentile(h, 99),
                     (unsigned long long)h->max);
    return rc;
}

/* {"name":count,...} over the non-zero counts */
static int write_counts(struct buf *b, const uint64_t *counts, size_t n, size_t from,
                        const char *(*name)(unsigned))
{
    int rc = buf_append_char(b, '{');
    bool first = true;
    for (size_t i = from; i < n; i++) {
        if (!counts[i])
            continue;
        rc |= buf_printf(b, "%s\"%s\":%llu", first ? "" : ",", name((unsigned)i),
                         (unsigned long long)counts[i]);
        first = false;
    }
    return rc | buf_append_char(b, '}');
}

static const char *skip_name(unsigned i)
{
    return skip_reason_name((enum skip_reason)i);
}

static const char *kind_name(unsigned i)
{
    return result_error_name((enum result_error)i);
}

int results_summary_to_json(struct buf *b, const struct results_summary *s,
                            const struct results_header *h)
{
    int rc = buf_printf(b, "{\"interrupted\":%s", s->interrupted ? "true" : "false");

    if (s->interrupted && s->stop_reason[0]) {
        rc |= buf_append_str(b, ",\"stop_reason\":") | jsonw_cstring(b, s->stop_reason, 0);
        if (s->stop_message[0])
            rc |= buf_append_str(b, ",\"stop_message\":") | jsonw_cstring(b, s->stop_message, 0);
    }
    rc |= write_time(b, ",\"finished_us\":", s->finished_us);
    rc |= write_time(b, ",\"duration_us\":", s->duration_us);
    rc |= buf_printf(b, ",\"transactions\":{\"read\":%llu,\"replayed\":%llu,\"unfinished\":%llu,"
                        "\"skipped\":",
                     (unsigned long long)s->read, (unsigned long long)s->replayed,
                     (unsigned long long)s->unfinished);
    rc |= write_counts(b, s->skipped, SKIP_COUNT, 0, skip_name);
    rc |= buf_printf(b, "},\"redacted_sent\":%llu,\"targets\":{",
                     (unsigned long long)s->redacted_sent);
    for (size_t t = 0; t < s->target_count && t < h->target_count; t++) {
        const struct results_target_summary *x = &s->targets[t];
        rc |= buf_append_str(b, t ? "," : "");
        rc |= jsonw_cstring(b, h->targets[t].name, 0);
        rc |= buf_printf(b, ":{\"requests\":%llu,\"errors\":", (unsigned long long)x->requests);
        rc |= write_counts(b, x->errors, RESULT_ERROR_COUNT, 1, kind_name);
        rc |= buf_append_str(b, ",\"status\":");
        rc |= write_counts(b, x->status, RESULTS_STATUS_CLASSES, 0, results_status_class_name);
        rc |= write_percentiles(b, "latency_us", &x->latency, true);
        if (x->lateness_known)
            rc |= write_percentiles(b, "lateness_us", &x->lateness, false);
        rc |= buf_printf(b, ",\"connections\":%llu,\"redacted_sent\":%llu,\"latency_buckets\":",
                         (unsigned long long)x->connections,
                         (unsigned long long)x->redacted_sent);
        rc |= histogram_write_counts(b, &x->latency);
        if (x->lateness_known) {
            rc |= buf_append_str(b, ",\"lateness_buckets\":");
            rc |= histogram_write_counts(b, &x->lateness);
        }
        rc |= buf_append_char(b, '}');
    }
    rc |= buf_append_char(b, '}');
    if (s->shards)
        rc |= buf_printf(b, ",\"shards\":%u", s->shards);
    rc |= buf_append_char(b, '}');
    return rc ? ERR_TOOBIG : 0;
}

/* ------------------------------------------------------------ reading */

struct reading {
    const char *where; /* "FILE:LINE" */
    struct error *err;
};

static int bad(struct reading *rd, const char *field, const char *expected)
{
    return error_set(rd->err, ERR_INPUT,
                     "%s: summary.%s: expected %s (a results summary written by 'rehearse "
                     "replay')",
                     rd->where, field, expected);
}

/* A count at obj[key] into *out; absent is 0 unless required. */
static int count(struct reading *rd, json_t *obj, const char *key, const char *field,
                 bool required, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    *out = 0;
    if (!v && !required)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(rd, field, "a count (an integer of 0 or more)");
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int64_t time_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? json_integer_value(v) : RESULTS_TIME_NONE;
}

/* {"name": count} with names from `lookup` (-1: unknown) */
static int named_counts(struct reading *rd, json_t *obj, const char *field, uint64_t *counts,
                        int (*lookup)(const char *), const char *what)
{
    const char *key;
    json_t *v;
    char at[256], msg[160];

    if (!obj)
        return 0;
    if (!json_is_object(obj))
        return bad(rd, field, "an object of counts");
    json_object_foreach(obj, key, v) {
        int i = lookup(key);
        snprintf(at, sizeof at, "%s.%s", field, key);
        if (i < 0) {
            snprintf(msg, sizeof msg, "%s this version of rehearse knows", what);
            return bad(rd, at, msg);
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return bad(rd, at, "a count (an integer of 0 or more)");
        counts[i] += (uint64_t)json_integer_value(v);
    }
    return 0;
}

static int skip_lookup(const char *name)
{
    for (int i = 0; i < SKIP_COUNT; i++)
        if (strcmp(skip_reason_name((enum skip_reason)i), name) == 0)
            return i;
    return -1;
}

static int error_lookup(const char *name)
{
    enum result_error e = result_error_lookup(name);
    return e == RESULT_ERROR_NONE || (e == RESULT_ERROR_OTHER && strcmp(name, "other") != 0)
               ? -1
               : (int)e;
}

static int class_lookup(const char *name)
{
    for (int i = 0; i < RESULTS_STATUS_CLASSES; i++)
        if (strcmp(results_status_class_name((unsigned)i), name) == 0)
            return i;
    return -1;
}

/* A histogram from [[bucket, count], ...] and its exact maximum. */
static int histogram_of(struct reading *rd, json_t *buckets, json_t *percentiles,
                        const char *field, const char *pfield, struct histogram *h)
{
    size_t i;
    json_t *pair;
    char at[300];
    uint64_t max;
    unsigned top;
    int rc;

    if (!json_is_array(buckets))
        return bad(rd, field, "an array of [bucket, count] pairs");
    json_array_foreach(buckets, i, pair) {
        json_t *b = json_array_get(pair, 0), *n = json_array_get(pair, 1);
        snprintf(at, sizeof at, "%s[%zu]", field, i);
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !json_is_integer(b) ||
            !json_is_integer(n) || json_integer_value(b) < 0 ||
            json_integer_value(b) >= (json_int_t)HISTOGRAM_BUCKETS || json_integer_value(n) < 0)
            return error_set(rd->err, ERR_INPUT,
                             "%s: summary.%s: expected [bucket, count] with 0 <= bucket < %u "
                             "(docs/results-format.md)",
                             rd->where, at, HISTOGRAM_BUCKETS);
        histogram_add_bucket(h, (unsigned)json_integer_value(b), (uint64_t)json_integer_value(n));
    }
    if (!h->count)
        return 0;
    /* the exact maximum, which the buckets only bound */
    snprintf(at, sizeof at, "%s.max", pfield);
    if ((rc = count(rd, percentiles, "max", at, true, &max)))
        return rc;
    top = histogram_bucket(h->max);
    if (histogram_bucket(max) != top)
        return error_set(rd->err, ERR_INPUT,
                         "%s: summary.%s: %llu is not in the highest bucket of %s (%llu to "
                         "%llu); the summary is inconsistent",
                         rd->where, at, (unsigned long long)max, field,
                         (unsigned long long)histogram_bucket_lower(top),
                         (unsigned long long)histogram_bucket_upper(top));
    h->max = max;
    return 0;
}

static int read_target(struct reading *rd, json_t *obj, const char *name,
                       struct results_target_summary *x)
{
    char f[128], g[160], p[160];
    int rc;

    snprintf(f, sizeof f, "targets.%s", name);
    if (!json_is_object(obj))
        return bad(rd, f, "an object for every target of the header");
    snprintf(g, sizeof g, "%s.requests", f);
    if ((rc = count(rd, obj, "requests", g, true, &x->requests)))
        return rc;
    snprintf(g, sizeof g, "%s.errors", f);
    if ((rc = named_counts(rd, json_object_get(obj, "errors"), g, x->errors, error_lookup,
                           "an error kind")))
        return rc;
    snprintf(g, sizeof g, "%s.status", f);
    if ((rc = named_counts(rd, json_object_get(obj, "status"), g, x->status, class_lookup,
                           "a status class (1xx..5xx, other)")))
        return rc;
    snprintf(g, sizeof g, "%s.connections", f);
    if ((rc = count(rd, obj, "connections", g, false, &x->connections)))
        return rc;
    snprintf(g, sizeof g, "%s.redacted_sent", f);
    if ((rc = count(rd, obj, "redacted_sent", g, false, &x->redacted_sent)))
        return rc;
    snprintf(g, sizeof g, "%s.latency_buckets", f);
    snprintf(p, sizeof p, "%s.latency_us", f);
    if ((rc = histogram_of(rd, json_object_get(obj, "latency_buckets"),
                           json_object_get(obj, "latency_us"), g, p, &x->latency)))
        return rc;
    x->lateness_known = json_object_get(obj, "lateness_buckets") != NULL;
    if (x->lateness_known) {
        snprintf(g, sizeof g, "%s.lateness_buckets", f);
        snprintf(p, sizeof p, "%s.lateness_us", f);
        if ((rc = histogram_of(rd, json_object_get(obj, "lateness_buckets"),
                               json_object_get(obj, "lateness_us"), g, p, &x->lateness)))
            return rc;
    }
    return 0;
}

int results_summary_from_json(struct results_summary *s, json_t *obj,
                              const struct results_header *h, const char *where,
                              struct error *err)
{
    struct reading rd = {where, err};
    json_t *tx, *targets, *v;
    uint64_t skipped = 0, shards;
    int rc;

    results_summary_init(s, h->target_count);
    if (!json_is_object(obj))
        return bad(&rd, "", "an object");
    v = json_object_get(obj, "interrupted");
    if (!json_is_boolean(v))
        return bad(&rd, "interrupted", "true or false");
    s->interrupted = json_is_true(v);
    if ((v = json_object_get(obj, "stop_reason")) && json_is_string(v))
        snprintf(s->stop_reason, sizeof s->stop_reason, "%s", json_string_value(v));
    if ((v = json_object_get(obj, "stop_message")) && json_is_string(v))
        snprintf(s->stop_message, sizeof s->stop_message, "%s", json_string_value(v));
    s->finished_us = time_of(obj, "finished_us");
    s->duration_us = time_of(obj, "duration_us");
    tx = json_object_get(obj, "transactions");
    if (!json_is_object(tx))
        return bad(&rd, "transactions", "an object with read, replayed, unfinished, skipped");
    if ((rc = count(&rd, tx, "read", "transactions.read", true, &s->read)) ||
        (rc = count(&rd, tx, "replayed", "transactions.replayed", true, &s->replayed)) ||
        (rc = count(&rd, tx, "unfinished", "transactions.unfinished", false, &s->unfinished)) ||
        (rc = named_counts(&rd, json_object_get(tx, "skipped"), "transactions.skipped",
                           s->skipped, skip_lookup, "a skip reason")) ||
        (rc = count(&rd, obj, "redacted_sent", "redacted_sent", false, &s->redacted_sent)) ||
        (rc = count(&rd, obj, "shards", "shards", false, &shards)))
        return rc;
    for (int i = 0; i < SKIP_COUNT; i++)
        skipped += s->skipped[i];
    if (skipped + s->replayed > s->read)
        return error_set(err, ERR_INPUT,
                         "%s: summary.transactions: %llu replayed and %llu skipped are more "
                         "than the %llu read; the summary is inconsistent",
                         where, (unsigned long long)s->replayed, (unsigned long long)skipped,
                         (unsigned long long)s->read);
    s->shards = shards > UINT32_MAX ? UINT32_MAX : (uint32_t)shards;
    targets = json_object_get(obj, "targets");
    if (!json_is_object(targets))
        return bad(&rd, "targets", "an object keyed by target name");
    for (size_t t = 0; t < h->target_count; t++)
        if ((rc = read_target(&rd, json_object_get(targets, h->targets[t].name),
                              h->targets[t].name, &s->targets[t])))
            return rc;
    return 0;
}

/* ------------------------------------------------------------ merging */

void results_summary_add_shard(struct results_summary *into, const struct results_summary *shard,
                               const char *label)
{
    into->read += shard->read - shard->skipped[SKIP_OTHER_SHARD];
    for (int i = 0; i < SKIP_COUNT; i++)
        if (i != SKIP_OTHER_SHARD)
            into->skipped[i] += shard->skipped[i];
    into->replayed += shard->replayed;
    into->unfinished += shard->unfinished;
    into->redacted_sent += shard->redacted_sent;
    if (shard->interrupted && !into->interrupted) {
        snprintf(into->stop_reason, sizeof into->stop_reason, "%s", shard->stop_reason);
        snprintf(into->stop_message, sizeof into->stop_message, "%s: %s", label,
                 shard->stop_message[0] ? shard->stop_message : "interrupted");
    }
    into->interrupted |= shard->interrupted;
    if (shard->finished_us != RESULTS_TIME_NONE &&
        (into->finished_us == RESULTS_TIME_NONE || shard->finished_us > into->finished_us))
        into->finished_us = shard->finished_us;
    for (size_t t = 0; t < into->target_count; t++) {
        struct results_target_summary *a = &into->targets[t];
        const struct results_target_summary *b = &shard->targets[t];
        a->requests += b->requests;
        for (int e = 0; e < RESULT_ERROR_COUNT; e++)
            a->errors[e] += b->errors[e];
        for (int c = 0; c < RESULTS_STATUS_CLASSES; c++)
            a->status[c] += b->status[c];
        a->connections += b->connections;
        a->redacted_sent += b->redacted_sent;
        histogram_merge(&a->latency, &b->latency);
        histogram_merge(&a->lateness, &b->lateness);
        a->lateness_known = a->lateness_known && b->lateness_known;
    }
    into->shards++;
}
