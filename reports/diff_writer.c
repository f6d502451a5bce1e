#include "diff_writer.h"

#include <stdio.h>
#include <string.h>

#include "histogram.h"
#include "jsonw.h"
#include "outfile.h"
#include "version.h"

#define MAX_DEPTH 32
#define MAX_RECORD ((size_t)1 << 30)

/* ------------------------------------------------------------- emitter */

/* A JSON emitter that indents, except inside containers opened inline. */
struct jw {
    struct outfile *f;
    struct buf *b;
    int depth;
    bool first[MAX_DEPTH];
    bool inl[MAX_DEPTH];
    int rc;
};

static void raw(struct jw *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = buf_append(w->b, s, n);
}

static void raws(struct jw *w, const char *s)
{
    raw(w, s, strlen(s));
}

static void newline(struct jw *w)
{
    static const char spaces[] = "                                                                ";
    int n = 2 * w->depth;
    raw(w, "\n", 1);
    while (n > 0) {
        int k = n > 64 ? 64 : n;
        raw(w, spaces, (size_t)k);
        n -= k;
    }
}

/* Before a member or an element: the comma, and a new line or a space. */
static void sep(struct jw *w)
{
    bool first = w->first[w->depth];
    w->first[w->depth] = false;
    if (!first)
        raw(w, ",", 1);
    if (w->inl[w->depth]) {
        if (!first)
            raw(w, " ", 1);
    } else {
        newline(w);
    }
}

static void begin(struct jw *w, char c, bool inline_)
{
    raw(w, &c, 1);
    if (w->depth + 1 >= MAX_DEPTH) {
        w->rc = ERR_STATE;
        return;
    }
    w->depth++;
    w->first[w->depth] = true;
    w->inl[w->depth] = inline_ || w->inl[w->depth - 1];
}

static void end(struct jw *w, char c)
{
    bool empty = w->first[w->depth], inl = w->inl[w->depth];
    w->depth--;
    if (!empty && !inl)
        newline(w);
    raw(w, &c, 1);
}

static void key(struct jw *w, const char *k)
{
    sep(w);
    if (!w->rc)
        w->rc = jsonw_cstring(w->b, k, 0);
    raw(w, ": ", 2);
}

static void str(struct jw *w, const char *s)
{
    if (!w->rc)
        w->rc = jsonw_cstring(w->b, s, 0);
}

static void strn(struct jw *w, const char *s, size_t n)
{
    if (!w->rc)
        w->rc = jsonw_string(w->b, s, n, 0);
}

static void u64(struct jw *w, uint64_t v)
{
    if (!w->rc)
        w->rc = jsonw_uint(w->b, v);
}

static void i64(struct jw *w, int64_t v)
{
    if (!w->rc)
        w->rc = jsonw_int(w->b, v);
}

static void dbl(struct jw *w, double v)
{
    if (!w->rc)
        w->rc = jsonw_double(w->b, v);
}

static void boolean(struct jw *w, bool v)
{
    raws(w, v ? "true" : "false");
}

static void kstr(struct jw *w, const char *k, const char *v)
{
    key(w, k);
    str(w, v);
}

static void ku64(struct jw *w, const char *k, uint64_t v)
{
    key(w, k);
    u64(w, v);
}

static void kdbl(struct jw *w, const char *k, double v)
{
    key(w, k);
    dbl(w, v);
}

static void kbool(struct jw *w, const char *k, bool v)
{
    key(w, k);
    boolean(w, v);
}

/* Hand what is buffered to the file (a complete stretch of the document). */
static int flush(struct jw *w, struct error *err)
{
    if (w->rc)
        return error_set(err, w->rc, "cannot format the diff file: %s",
                         error_description(w->rc));
    return outfile_commit(w->f, err);
}

/* ------------------------------------------------------------- sections */

static const char *role_name(const struct dwriter_input *in, int role)
{
    int t = in->roles[role];
    return t >= 0 ? in->header->targets[t].name : NULL;
}

static void write_inputs(struct jw *w, const struct dwriter_input *in)
{
    key(w, "inputs");
    begin(w, '{', false);
    key(w, "results");
    begin(w, '[', false);
    for (size_t i = 0; i < in->nfiles; i++) {
        const struct dwriter_file *f = &in->files[i];
        sep(w);
        begin(w, '{', true);
        kstr(w, "path", f->path);
        kstr(w, "sha256", f->sha256);
        kstr(w, "trace", f->trace);
        ku64(w, "transactions", f->transactions);
        end(w, '}');
    }
    end(w, ']');
    kstr(w, "base", role_name(in, ROLE_BASE));
    kstr(w, "candidate", role_name(in, ROLE_CANDIDATE));
    kstr(w, "noise", role_name(in, ROLE_NOISE)); /* null without one */
    key(w, "targets");
    begin(w, '[', false);
    for (size_t i = 0; i < in->header->target_count; i++) {
        sep(w);
        begin(w, '{', true);
        kstr(w, "name", in->header->targets[i].name);
        kstr(w, "url", in->header->targets[i].url);
        end(w, '}');
    }
    end(w, ']');
    key(w, "rules");
    if (in->rules_path) {
        begin(w, '{', true);
        kstr(w, "path", in->rules_path);
        kstr(w, "sha256", in->rules_sha256);
        end(w, '}');
    } else {
        raws(w, "null");
    }
    key(w, "reproduce");
    begin(w, '[', true);
    sep(w);
    str(w, "rehearse");
    for (int i = 0; i < in->argc; i++) {
        sep(w);
        str(w, in->argv[i]);
    }
    end(w, ']');
    end(w, '}');
}

static void write_thresholds(struct jw *w, const struct dstats_thresholds *t)
{
    key(w, "thresholds");
    begin(w, '{', false);
    kdbl(w, "relative", t->relative);
    kdbl(w, "absolute", t->absolute);
    kdbl(w, "status", t->status);
    kdbl(w, "error_rate", t->error_rate);
    key(w, "latency_p99_ratio");
    if (t->latency_p99_ratio >= 0)
        dbl(w, t->latency_p99_ratio);
    else
        raws(w, "null");
    end(w, '}');
}

/* "/amount type changed", "header ETag", "status 200 → 500" */
static void reason_text(const struct dstats_reason *r, char *out, size_t size)
{
    const struct dstats_field *f = r->field;
    const struct dstats_endpoint *ep = r->endpoint;

    if (f && f->part == RESP_HEADER) {
        snprintf(out, size, "header %s", f->header);
    } else if (f) {
        const char *what = f->kind == RESP_TYPE_CHANGED ? " type changed"
                           : f->kind == RESP_REMOVED    ? " removed"
                           : f->kind == RESP_ADDED      ? " added"
                           : f->kind == RESP_ORDER_CHANGED ? " order"
                                                           : "";
        snprintf(out, size, "%s%s", f->key_len ? f->key : "body", what);
    } else if (strcmp(r->kind, "status") == 0 && ep->status.nchanges) {
        const struct dstats_status_change *best = &ep->status.changes[0];
        for (size_t i = 1; i < ep->status.nchanges; i++)
            if (ep->status.changes[i].count > best->count)
                best = &ep->status.changes[i];
        snprintf(out, size, "status %d -> %d", best->base, best->candidate);
    } else if (strcmp(r->kind, "error_rate") == 0) {
        snprintf(out, size, "errors");
    } else if (strcmp(r->kind, "latency") == 0) {
        snprintf(out, size, "latency p99");
    } else {
        snprintf(out, size, "%s", r->kind);
    }
}

void dwriter_summary(const struct diff_stats *s, const struct results_header *h,
                     const int roles[ROLES], char *out, size_t size)
{
    int code;
    const char *v = dstats_verdict(s, &code);
    size_t len;

    if (strcmp(v, "no_data") == 0) {
        if (!s->transactions)
            snprintf(out, size, "nothing to compare: the results hold no transactions");
        else
            snprintf(out, size,
                     "nothing compared: of %llu transactions read, none was answered by both "
                     "'%s' and '%s'",
                     (unsigned long long)s->transactions, h->targets[roles[ROLE_BASE]].name,
                     h->targets[roles[ROLE_CANDIDATE]].name);
        return;
    }
    if (strcmp(v, "pass") == 0) {
        if (!s->different_raw)
            snprintf(out, size, "no regressions: %llu transactions compared, all identical",
                     (unsigned long long)s->compared);
        else
            snprintf(out, size,
                     "no regressions: %llu transactions compared, %llu differed (%llu after "
                     "noise), within the thresholds",
                     (unsigned long long)s->compared, (unsigned long long)s->different_raw,
                     (unsigned long long)s->different_after_noise);
        return;
    }
    len = (size_t)snprintf(out, size, "%llu regression%s in %zu endpoint%s (",
                           (unsigned long long)s->total_reasons, s->total_reasons == 1 ? "" : "s",
                           s->regressed_endpoints, s->regressed_endpoints == 1 ? "" : "s");
    /* the reasons grouped by endpoint, in reason order: 3 endpoints, 3 each */
    {
        const struct dstats_endpoint *shown[3];
        size_t nshown = 0;
        bool more = false;
        for (size_t i = 0; i < s->nreasons; i++) {
            const struct dstats_endpoint *ep = s->reasons[i].endpoint;
            bool seen = false;
            for (size_t k = 0; k < nshown; k++)
                seen |= shown[k] == ep;
            if (seen)
                continue;
            if (nshown == 3) {
                more = true;
                break;
            }
            shown[nshown++] = ep;
        }
        for (size_t k = 0; k < nshown && len < size; k++) {
            size_t items = 0;
            len += (size_t)snprintf(out + len, size - len, "%s%s: ", k ? "; " : "",
                                    shown[k]->name);
            for (size_t i = 0; i < s->nreasons && len < size; i++) {
                char text[256];
                if (s->reasons[i].endpoint != shown[k])
                    continue;
                if (items == 3) {
                    len += (size_t)snprintf(out + len, size - len, ", ...");
                    break;
                }
                reason_text(&s->reasons[i], text, sizeof text);
                len += (size_t)snprintf(out + len, size - len, "%s%s", items ? ", " : "", text);
                items++;
            }
        }
        if (more && len < size)
            len += (size_t)snprintf(out + len, size - len, "; ...");
    }
    if (len < size)
        snprintf(out + len, size - len, ")");
}

static void write_verdict(struct jw *w, const struct dwriter_input *in)
{
    const struct diff_stats *s = in->stats;
    char summary[1024];
    int code;
    const char *v = dstats_verdict(s, &code);

    dwriter_summary(s, in->header, in->roles, summary, sizeof summary);
    key(w, "verdict");
    begin(w, '{', false);
    kstr(w, "result", v);
    ku64(w, "exit_code", (uint64_t)code);
    kstr(w, "summary", summary);
    key(w, "reasons");
    begin(w, '[', false);
    for (size_t i = 0; i < s->nreasons; i++) {
        const struct dstats_reason *r = &s->reasons[i];
        sep(w);
        begin(w, '{', true);
        kstr(w, "kind", r->kind);
        kstr(w, "endpoint", r->endpoint->name);
        if (r->field && r->field->part == RESP_HEADER) {
            kstr(w, "header", r->field->header);
        } else if (r->field) {
            key(w, "path");
            strn(w, r->field->key, r->field->key_len);
        }
        kstr(w, "rule", r->rule);
        kstr(w, "risk", dstats_risk_name(r->risk));
        end(w, '}');
    }
    end(w, ']');
    end(w, '}');
}

static void write_totals(struct jw *w, const struct dwriter_input *in)
{
    const struct diff_stats *s = in->stats;
    const struct dwriter_decoding *d = in->decoding;

    key(w, "totals");
    begin(w, '{', false);
    ku64(w, "transactions", s->transactions);
    ku64(w, "compared", s->compared);
    key(w, "skipped");
    begin(w, '{', true);
    for (int i = 0; i < DSTATS_SKIPS; i++)
        ku64(w, dstats_skip_name((enum dstats_skip)i), s->skipped[i]);
    end(w, '}');
    ku64(w, "identical", s->identical);
    ku64(w, "different_raw", s->different_raw);
    ku64(w, "different_after_noise", s->different_after_noise);
    ku64(w, "status_mismatches", s->status_mismatches);
    ku64(w, "noise_compared", s->noise_compared);
    ku64(w, "body_bytes", in->body_bytes);
    key(w, "decoding");
    begin(w, '{', true);
    ku64(w, "gzip", d->gzip);
    ku64(w, "deflate", d->deflate);
    ku64(w, "charset", d->charset);
    ku64(w, "capped", d->capped);
    ku64(w, "undecodable", d->undecodable);
    ku64(w, "omitted", d->omitted);
    end(w, '}');
    end(w, '}');
}

static void write_errors(struct jw *w, const uint64_t *errors)
{
    begin(w, '{', true);
    for (int k = 0; k < RESULT_ERROR_COUNT; k++)
        if (errors[k])
            ku64(w, result_error_name((enum result_error)k), errors[k]);
    end(w, '}');
}

static void write_targets(struct jw *w, const struct dwriter_input *in)
{
    const struct diff_stats *s = in->stats;

    key(w, "targets");
    begin(w, '{', false);
    for (size_t i = 0; i < in->header->target_count; i++) {
        const struct dstats_target *t = &s->targets[i];
        key(w, in->header->targets[i].name);
        begin(w, '{', false);
        ku64(w, "requests", t->requests);
        key(w, "errors");
        write_errors(w, t->errors);
        key(w, "status_classes");
        begin(w, '{', true);
        for (unsigned c = 0; c < RESULTS_STATUS_CLASSES; c++)
            if (t->status_classes[c])
                ku64(w, results_status_class_name(c), t->status_classes[c]);
        end(w, '}');
        key(w, "latency_us");
        begin(w, '{', true);
        ku64(w, "p50", histogram_percentile(&t->latency, 50));
        ku64(w, "p90", histogram_percentile(&t->latency, 90));
        ku64(w, "p95", histogram_percentile(&t->latency, 95));
        ku64(w, "p99", histogram_percentile(&t->latency, 99));
        ku64(w, "max", t->latency.max);
        ku64(w, "count", t->latency.count);
        end(w, '}');
        key(w, "histogram");
        begin(w, '{', true);
        kstr(w, "scheme", HISTOGRAM_SCHEME);
        key(w, "counts");
        if (!w->rc)
            w->rc = histogram_write_counts(w->b, &t->latency);
        end(w, '}');
        end(w, '}');
    }
    end(w, '}');
}

static void write_counts3(struct jw *w, const char *k, uint64_t raw, uint64_t noise,
                          uint64_t remaining)
{
    key(w, k);
    begin(w, '{', true);
    ku64(w, "raw", raw);
    ku64(w, "noise", noise);
    ku64(w, "remaining", remaining);
    end(w, '}');
}

static int change_order(const void *x, const void *y)
{
    const struct dstats_status_change *a = x, *b = y;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    if (a->base != b->base)
        return a->base < b->base ? -1 : 1;
    return (a->candidate > b->candidate) - (a->candidate < b->candidate);
}

static void write_field(struct jw *w, const struct dstats_endpoint *ep,
                        const struct dstats_field *f)
{
    sep(w);
    begin(w, '{', true);
    if (f->part == RESP_HEADER) {
        kstr(w, "header", f->header);
    } else {
        key(w, "path");
        strn(w, f->key, f->key_len);
    }
    kstr(w, "kind", resp_kind_name(f->kind));
    ku64(w, "raw", f->raw);
    ku64(w, "noise", f->noise);
    ku64(w, "remaining", f->remaining);
    kdbl(w, "raw_rate", dstats_rate(ep, f->raw));
    kdbl(w, "noise_rate", dstats_rate(ep, f->noise));
    kdbl(w, "remaining_rate", dstats_rate(ep, f->remaining));
    kbool(w, "regression", f->regression);
    kstr(w, "risk", dstats_risk_name(f->risk));
    if (f->regression)
        kstr(w, "rule", f->rule);
    key(w, "examples");
    begin(w, '[', true);
    for (size_t i = 0; i < f->nexamples; i++) {
        sep(w);
        u64(w, f->examples[i]);
    }
    end(w, ']');
    end(w, '}');
}

static int write_endpoint(struct jw *w, const struct dwriter_input *in,
                          const struct dstats_endpoint *ep, struct error *err)
{
    struct dstats_status_change changes[DSTATS_STATUS_CHANGES];
    int rc;

    sep(w);
    begin(w, '{', false);
    kstr(w, "endpoint", ep->name);
    kstr(w, "method", ep->method);
    kstr(w, "template", ep->tmpl);
    ku64(w, "requests", ep->requests);
    ku64(w, "compared", ep->compared);
    ku64(w, "different_raw", ep->different_raw);
    ku64(w, "different_after_noise", ep->different_after_noise);
    key(w, "status");
    begin(w, '{', true);
    ku64(w, "mismatches", ep->status.mismatches);
    ku64(w, "noise", ep->status.noise);
    ku64(w, "remaining", ep->status.remaining);
    key(w, "changes");
    begin(w, '[', true);
    memcpy(changes, ep->status.changes, ep->status.nchanges * sizeof *changes);
    qsort(changes, ep->status.nchanges, sizeof *changes, change_order);
    for (size_t i = 0; i < ep->status.nchanges; i++) {
        sep(w);
        begin(w, '{', true);
        key(w, "base");
        i64(w, changes[i].base);
        key(w, "candidate");
        i64(w, changes[i].candidate);
        ku64(w, "count", changes[i].count);
        end(w, '}');
    }
    end(w, ']');
    if (ep->status.other_changes)
        ku64(w, "other_changes", ep->status.other_changes);
    end(w, '}');
    write_counts3(w, "body", ep->body.raw, ep->body.noise, ep->body.remaining);
    write_counts3(w, "headers", ep->headers.raw, ep->headers.noise, ep->headers.remaining);
    key(w, "errors");
    begin(w, '{', true);
    for (int r = 0; r < ROLES; r++)
        if (in->roles[r] >= 0) {
            key(w, role_name(in, r));
            write_errors(w, ep->errors[r]);
        }
    end(w, '}');
    key(w, "latency_us");
    begin(w, '{', true);
    for (int r = 0; r < ROLES; r++)
        if (in->roles[r] >= 0) {
            key(w, role_name(in, r));
            begin(w, '{', true);
            ku64(w, "p50", histogram_percentile(&ep->latency[r], 50));
            ku64(w, "p95", histogram_percentile(&ep->latency[r], 95));
            ku64(w, "p99", histogram_percentile(&ep->latency[r], 99));
            ku64(w, "count", ep->latency[r].count);
            end(w, '}');
        }
    end(w, '}');
    kstr(w, "risk", dstats_risk_name(ep->risk));
    kbool(w, "regression", ep->regression);
    key(w, "fields");
    begin(w, '[', false);
    for (size_t i = 0; i < ep->nfields; i++)
        write_field(w, ep, &ep->fields[ep->order[i]]);
    end(w, ']');
    key(w, "examples");
    begin(w, '[', false);
    for (size_t i = 0; i < ep->nexamples; i++) {
        sep(w);
        if ((rc = flush(w, err)))
            return rc;
        if ((rc = in->example(in->example_ctx, ep, i, w->b, err))) {
            outfile_rollback(w->f);
            return rc;
        }
    }
    end(w, ']');
    end(w, '}');
    return flush(w, err);
}

static void rule_entry(struct jw *w, const char *id, const char *where, const char *kind,
                       const char *pattern, const char *endpoint, uint64_t hits)
{
    sep(w);
    begin(w, '{', true);
    kstr(w, "id", id);
    kstr(w, "where", where);
    kstr(w, "kind", kind);
    kstr(w, "pattern", pattern);
    kstr(w, "endpoint", endpoint);
    ku64(w, "hits", hits);
}

static void write_rules(struct jw *w, const struct dwriter_input *in)
{
    const char *file = in->rules_path ? in->rules_path : "";
    size_t per_kind[16] = {0}, ntemplates = diff_rules_template_count(in->rules);
    char id[64], where[1100];
    unsigned b = 0;

    key(w, "rules");
    begin(w, '[', false);
    for (unsigned i = 0; i < diff_rules_count(in->rules); i++) {
        const struct diff_rule_info *r = diff_rules_info(in->rules, i);
        const char *kind = diff_rule_kind_name(r->kind);
        snprintf(id, sizeof id, "%s#%zu", kind, ++per_kind[r->kind & 15]);
        snprintf(where, sizeof where, "%s:%zu:%zu", file, r->line, r->column);
        /* the diff counts body and header rules, the redactor its own */
        rule_entry(w, id, where, kind, r->subject,
                   strcmp(r->scope, "global") == 0 ? "*" : r->scope,
                   in->rule_hits[i] + dredact_rule_hits(in->redact, i));
        if (r->keys) {
            key(w, "keys");
            begin(w, '[', true);
            for (const char *const *k = r->keys; *k; k++) {
                sep(w);
                str(w, *k);
            }
            end(w, ']');
        }
        if (r->kind == DIFF_RULE_TOLERANCE) {
            if (r->absolute >= 0)
                kdbl(w, "absolute", r->absolute);
            if (r->relative >= 0)
                kdbl(w, "relative", r->relative);
        }
        end(w, '}');
    }
    for (size_t i = 0; i < ntemplates; i++) {
        size_t line, column;
        const char *t = diff_rules_template_at(in->rules, i, &line, &column);
        snprintf(id, sizeof id, "template#%zu", i + 1);
        snprintf(where, sizeof where, "%s:%zu:%zu", file, line, column);
        rule_entry(w, id, where, "template", t, "*", in->template_hits[i]);
        end(w, '}');
    }
    snprintf(id, sizeof id, "builtin#%u", ++b);
    rule_entry(w, id, "built-in", "headers", "Content-Type", "*", in->content_type_hits);
    end(w, '}');
    for (int k = 0; k < DREDACT_BUILTINS; k++) {
        const struct dredact_builtin_info *info = dredact_builtin((enum dredact_builtin)k);
        snprintf(id, sizeof id, "builtin#%u", ++b);
        rule_entry(w, id, "built-in", info->kind, info->pattern, "*",
                   dredact_builtin_hits(in->redact, (enum dredact_builtin)k));
        end(w, '}');
    }
    end(w, ']');
}

static void write_words(struct jw *w, const char *k, const char *const *words)
{
    key(w, k);
    begin(w, '[', true);
    for (; *words; words++) {
        sep(w);
        str(w, *words);
    }
    end(w, ']');
}

/* The subjects of the rules file's rules of one kind, after `first`. */
static void write_subjects(struct jw *w, const char *k, const struct diff_rules *rules,
                           enum diff_rule_kind kind, const char *const *first)
{
    key(w, k);
    begin(w, '[', true);
    for (; first && *first; first++) {
        sep(w);
        str(w, *first);
    }
    for (unsigned i = 0; i < diff_rules_count(rules); i++) {
        const struct diff_rule_info *r = diff_rules_info(rules, i);
        if (r->kind == kind) {
            sep(w);
            str(w, r->subject);
        }
    }
    end(w, ']');
}

static void write_redaction(struct jw *w, const struct dwriter_input *in)
{
    static const char *const defaults[] = {"Authorization", "Proxy-Authorization", "Cookie",
                                           "Set-Cookie", NULL};

    key(w, "redaction");
    begin(w, '{', false);
    write_subjects(w, "headers", in->rules, DIFF_RULE_REDACT_HEADER, defaults);
    write_words(w, "header_words", dredact_header_words);
    write_subjects(w, "json_paths", in->rules, DIFF_RULE_REDACT, NULL);
    write_words(w, "json_member_words", dredact_member_words);
    write_words(w, "query_words", dredact_query_words);
    ku64(w, "values_redacted", dredact_count(in->redact));
    kstr(w, "key", in->redact_key_given ? "given" : "random");
    end(w, '}');
}

static void write_caps(struct jw *w, const struct diff_stats *s)
{
    const struct dstats_caps *c = &s->caps;
    key(w, "caps");
    begin(w, '{', false);
    ku64(w, "endpoints", c->endpoints);
    ku64(w, "fields_per_endpoint", c->fields_per_endpoint);
    ku64(w, "examples_per_endpoint", c->examples_per_endpoint);
    ku64(w, "examples_per_field", c->examples_per_field);
    ku64(w, "example_body_bytes", c->example_body_bytes);
    ku64(w, "paths_per_example", c->paths_per_example);
    ku64(w, "reasons", c->reasons);
    ku64(w, "status_changes_per_endpoint", DSTATS_STATUS_CHANGES);
    key(w, "hit");
    begin(w, '{', true);
    ku64(w, "endpoints", s->hit_endpoints);
    ku64(w, "fields_per_endpoint", s->hit_fields);
    ku64(w, "examples_per_endpoint", s->hit_examples);
    ku64(w, "reasons", s->hit_reasons);
    ku64(w, "status_changes_per_endpoint", s->hit_status_changes);
    end(w, '}');
    end(w, '}');
}

int dwriter_write(const char *path, const struct dwriter_input *in, struct error *err)
{
    struct jw w;
    int rc;

    memset(&w, 0, sizeof w);
    if ((rc = outfile_open(&w.f, path, MAX_RECORD, err)))
        return rc;
    w.b = outfile_buf(w.f);
    w.first[0] = true;
    begin(&w, '{', false);
    kstr(&w, "format", DIFF_FORMAT_NAME);
    ku64(&w, "version", DIFF_FORMAT_VERSION);
    kstr(&w, "created_by", "rehearse " REHEARSE_VERSION);
    key(&w, "created_us");
    i64(&w, in->created_us);
    write_inputs(&w, in);
    write_thresholds(&w, &in->stats->thresholds);
    write_verdict(&w, in);
    write_totals(&w, in);
    write_targets(&w, in);
    if ((rc = flush(&w, err)))
        goto fail;
    key(&w, "endpoints");
    begin(&w, '[', false);
    for (size_t i = 0; i < in->stats->norder; i++)
        if ((rc = write_endpoint(&w, in, in->stats->order[i], err)))
            goto fail;
    end(&w, ']');
    write_rules(&w, in);
    write_redaction(&w, in);
    write_caps(&w, in->stats);
    end(&w, '}');
    raw(&w, "\n", 1);
    if ((rc = flush(&w, err)))
        goto fail;
    return outfile_close(w.f, err);
fail:
    outfile_discard(w.f);
    return rc;
}
