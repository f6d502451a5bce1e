/*
 * report.c — loading and checking the inputs of the reports (their shapes
 * are in report_shapes.c), the combined verdict, and writing the files.
 * The writers themselves are report_json.c, report_html.c, report_junit.c
 * and report_md.c.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json_shape.h"
#include "outfile.h"
#include "report_internal.h"
#include "utf8.h"

#define SUMMARY_MAX 4096
#define WARNINGS_MAX 32

/* --------------------------------------------------------------- loading */

static void clear_diff(struct report *r)
{
    jdoc_release(&r->diff);
    jdoc_init(&r->diff);
    free(r->diff_text);
    r->diff_text = NULL;
    free(r->endpoints);
    r->endpoints = NULL;
    r->endpoint_count = 0;
    r->loaded = false;
}

static void clear_context(struct report *r)
{
    jdoc_release(&r->ctx);
    jdoc_init(&r->ctx);
    free(r->ctx_text);
    r->ctx_text = NULL;
    r->has_ctx = false;
    r->run = r->timeline = r->assertions = r->database = JDOC_NONE;
}

int report_new(struct report **out, struct error *err)
{
    struct report *r = calloc(1, sizeof *r);

    *out = NULL;
    if (!r)
        return error_set(err, ERR_NOMEM, "out of memory");
    jdoc_init(&r->diff);
    jdoc_init(&r->ctx);
    clear_context(r);
    buf_init(&r->summary, SUMMARY_MAX);
    arena_init(&r->strings, 16384);
    *out = r;
    return 0;
}

void report_free(struct report *r)
{
    if (!r)
        return;
    clear_diff(r);
    clear_context(r);
    jdoc_release(&r->diff);
    jdoc_release(&r->ctx);
    free(r->reasons);
    buf_release(&r->summary);
    arena_release(&r->strings);
    for (size_t i = 0; i < r->warning_count; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r);
}

static void warn(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct report *r, const char *fmt, ...)
{
    char **list;
    char *msg;
    va_list ap;

    if (r->warning_count >= WARNINGS_MAX)
        return;
    list = realloc(r->warnings, (r->warning_count + 1) * sizeof *list);
    if (!list)
        return;
    r->warnings = list;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) >= 0)
        r->warnings[r->warning_count++] = msg;
    va_end(ap);
}

size_t report_warning_count(const struct report *r)
{
    return r->warning_count;
}

const char *report_warning(const struct report *r, size_t i)
{
    return i < r->warning_count ? r->warnings[i] : NULL;
}

/* Replace every byte that does not start a well-formed UTF-8 sequence by
 * U+FFFD.  Takes ownership of *text (malloc'ed) and may replace it.  Lines
 * and character columns stay where they were (one byte, one character). */
static int repair_utf8(char **text, size_t *len, size_t *repaired)
{
    const unsigned char *s = (const unsigned char *)*text;
    size_t bad = 0, i = 0, o = 0;
    char *fixed;

    *repaired = 0;
    if (utf8_valid(s, *len))
        return 0;
    while (i < *len) {
        size_t n = utf8_sequence_length(s + i, *len - i);
        bad += n == 0;
        i += n ? n : 1;
    }
    if (!(fixed = malloc(*len + 2 * bad + 1)))
        return ERR_NOMEM;
    for (i = 0; i < *len;) {
        size_t n = utf8_sequence_length(s + i, *len - i);
        if (n == 0) {
            memcpy(fixed + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(fixed + o, s + i, n);
            o += n;
            i += n;
        }
    }
    fixed[o] = '\0';
    free(*text);
    *text = fixed;
    *len = o;
    *repaired = bad;
    return 0;
}

/* Parse text (owned from now on) into d, check its format, version and
 * shape.  `format` is the expected "format" member. */
static int parse_checked(struct jdoc *d, char **text, size_t len, const char *name,
                         const struct jdoc_limits *lim, const char *format, unsigned version,
                         const struct jshape *shape, const char *what, size_t *repaired,
                         struct error *err)
{
    uint32_t f, v;
    struct rstr fs;
    uint64_t ver;
    int rc;

    if ((rc = repair_utf8(text, &len, repaired)) != 0)
        return error_set(err, rc, "out of memory reading '%s'", name);
    if ((rc = jdoc_parse(d, *text, len, name, lim, err)) != 0) {
        if (rc == ERR_INPUT) {
            char msg[ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            error_set(err, rc, "%s; expected %s", msg, what);
        }
        return rc;
    }
    if (jdoc_at(d, 0)->type != JDOC_OBJECT)
        return jshape_error(d, 0, "", err, ERR_INPUT, "expected %s, found a JSON %s", what,
                            jdoc_type_name(d, 0, false));
    f = jdoc_get(d, 0, "format", 6);
    fs = rstr_at(d, f);
    if (!fs.s || !rstr_is(fs, format))
        return jshape_error(d, f == JDOC_NONE ? 0 : f, f == JDOC_NONE ? "" : "/format", err,
                            ERR_INPUT, "this is not %s: expected \"format\": \"%s\"%s", what,
                            format, f == JDOC_NONE ? ", found no \"format\" member" : "");
    v = jdoc_get(d, 0, "version", 7);
    if (v == JDOC_NONE || jdoc_at(d, v)->type != JDOC_NUMBER ||
        !(jdoc_at(d, v)->flags & JDOC_F_INTEGER))
        return jshape_error(d, v == JDOC_NONE ? 0 : v, v == JDOC_NONE ? "" : "/version", err,
                            ERR_INPUT, "expected a \"version\" number (this rehearse reads "
                            "version %u)", version);
    ver = jshape_count(d, v);
    if (ver != version)
        return jshape_error(d, v, "/version", err, ERR_UNSUPPORTED,
                            "version %.*s %s; this rehearse reads version %u%s",
                            (int)jdoc_at(d, v)->len, jdoc_at(d, v)->text,
                            ver > version ? "is newer than this rehearse knows" : "is unknown",
                            version,
                            ver > version ? " (upgrade rehearse to report on this file)" : "");
    return jshape_check(d, 0, "", shape, err);
}

static int check_header_pairs(const struct jdoc *d, uint32_t resp, const char *ptr,
                              struct error *err)
{
    uint32_t hs = rget(d, resp, "headers");
    size_t i = 0;

    if (hs == JDOC_NONE || jdoc_at(d, hs)->type != JDOC_ARRAY)
        return 0;
    for (uint32_t h = rfirst(d, hs); h != JDOC_NONE; h = jdoc_next(d, hs, h), i++) {
        if (jdoc_at(d, h)->len != 2) {
            char p[512];
            snprintf(p, sizeof p, "%s/headers/%zu", ptr, i);
            return jshape_error(d, h, p, err, ERR_INPUT,
                                "expected a [name, value] pair, found %u elements",
                                jdoc_at(d, h)->len);
        }
    }
    return 0;
}

/* What the shapes cannot say. */
static int check_diff_rules(struct report *r, struct error *err)
{
    const struct jdoc *d = &r->diff;
    struct rstr result = rstr_get(d, r->verdict, "result");
    uint32_t code_node = rget(d, r->verdict, "exit_code");
    int64_t code = jshape_int(d, code_node);
    int64_t want = rstr_is(result, "pass") ? 0 : 1;
    size_t ei = 0;
    int rc;

    if (code != want)
        return jshape_error(d, code_node, "/verdict/exit_code", err, ERR_INPUT,
                            "exit code %lld does not match the result \"%.*s\" (expected %lld)",
                            (long long)code, (int)result.len, result.s, (long long)want);
    for (size_t k = 0; k < r->endpoint_count; k++, ei++) {
        const struct report_endpoint *e = &r->endpoints[k];
        size_t fi = 0, xi = 0;
        char p[256];

        for (uint32_t f = e->fields == JDOC_NONE ? JDOC_NONE : rfirst(d, e->fields);
             f != JDOC_NONE; f = jdoc_next(d, e->fields, f), fi++) {
            if (rget(d, f, "path") == JDOC_NONE && rget(d, f, "header") == JDOC_NONE) {
                snprintf(p, sizeof p, "/endpoints/%zu/fields/%zu", k, fi);
                return jshape_error(d, f, p, err, ERR_INPUT,
                                    "a field needs a \"path\" (JSON Pointer) or a \"header\"");
            }
        }
        for (uint32_t x = e->examples == JDOC_NONE ? JDOC_NONE : rfirst(d, e->examples);
             x != JDOC_NONE; x = jdoc_next(d, e->examples, x), xi++) {
            static const char *const roles[] = {"base", "candidate", "noise", "captured"};
            for (size_t ri = 0; ri < 4; ri++) {
                snprintf(p, sizeof p, "/endpoints/%zu/examples/%zu/%s", k, xi, roles[ri]);
                if ((rc = check_header_pairs(d, rget(d, x, roles[ri]), p, err)) != 0)
                    return rc;
            }
        }
        if (e->compared > e->requests)
            warn(r, "%s: endpoint %zu compares %llu transactions of %llu requests", d->name, k,
                 (unsigned long long)e->compared, (unsigned long long)e->requests);
    }
    return 0;
}

static int index_endpoints(struct report *r, struct error *err)
{
    const struct jdoc *d = &r->diff;
    uint32_t list = rget(d, 0, "endpoints");
    size_t n = rsize(d, list), k = 0;

    if (n && !(r->endpoints = calloc(n, sizeof *r->endpoints)))
        return error_set(err, ERR_NOMEM, "out of memory");
    for (uint32_t x = rfirst(d, list); x != JDOC_NONE; x = jdoc_next(d, list, x), k++) {
        struct report_endpoint *e = &r->endpoints[k];
        uint32_t body = rget(d, x, "body"), headers = rget(d, x, "headers");
        uint32_t status = rget(d, x, "status");
        static const char *const names[3] = {"raw", "noise", "remaining"};

        e->node = x;
        e->name = rstr_get(d, x, "endpoint");
        e->method = rstr_get(d, x, "method");
        e->tmpl = rstr_get(d, x, "template");
        e->requests = rcount(d, x, "requests");
        e->compared = rcount(d, x, "compared");
        e->mismatches = rcount(d, status, "mismatches");
        for (int i = 0; i < 3; i++) {
            e->body[i] = rcount(d, body, names[i]);
            e->headers[i] = rcount(d, headers, names[i]);
        }
        e->risk = report_risk_parse(rstr_get(d, x, "risk"));
        e->regression = rbool(d, x, "regression");
        e->fields = rget(d, x, "fields");
        e->examples = rget(d, x, "examples");
        e->errors = rget(d, x, "errors");
        e->latency = rget(d, x, "latency_us");
        e->changes = rget(d, status, "changes");
    }
    r->endpoint_count = n;
    return 0;
}

static struct rstr arena_str(struct report *r, const char *s, size_t len)
{
    struct rstr out = {NULL, 0};
    char *p = arena_alloc(&r->strings, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
        out.s = p;
        out.len = len;
    }
    return out;
}

static struct rstr arena_printf(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static struct rstr arena_printf(struct report *r, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    return arena_str(r, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static int add_reason(struct report *r, const struct report_reason *reason, size_t *cap)
{
    if (r->reason_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct report_reason *p = realloc(r->reasons, ncap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        r->reasons = p;
        *cap = ncap;
    }
    r->reasons[r->reason_count++] = *reason;
    return 0;
}

/* "%g" without a needless exponent for the numbers of assertions. */
static void fmt_value(char *out, size_t size, double v)
{
    snprintf(out, size, "%.6g", v);
}

/* The verdict of the DIFF.json, made worse by what the context says. */
static int compute_verdict(struct report *r, struct error *err)
{
    const struct jdoc *d = &r->diff, *c = &r->ctx;
    uint32_t reasons = rget(d, r->verdict, "reasons");
    struct rstr result = rstr_get(d, r->verdict, "result");
    size_t cap = 0, failed_checks = 0, db_reasons = 0;
    struct report_reason reason;
    int rc = 0;

    free(r->reasons);
    r->reasons = NULL;
    r->reason_count = 0;
    arena_reset(&r->strings);
    buf_reset(&r->summary);
    r->result = rstr_is(result, "pass") ? RESULT_PASS
                : rstr_is(result, "no_data") ? RESULT_NO_DATA : RESULT_REGRESSIONS;

    for (uint32_t x = rfirst(d, reasons); x != JDOC_NONE && !rc;
         x = jdoc_next(d, reasons, x)) {
        memset(&reason, 0, sizeof reason);
        reason.kind = rstr_get(d, x, "kind");
        reason.endpoint = rstr_get(d, x, "endpoint");
        reason.path = rstr_get(d, x, "path");
        reason.header = rstr_get(d, x, "header");
        reason.rule = rstr_get(d, x, "rule");
        reason.risk = report_risk_parse(rstr_get(d, x, "risk"));
        rc = add_reason(r, &reason, &cap);
    }
    if (r->assertions != JDOC_NONE) {
        uint32_t checks = rget(c, r->assertions, "checks");
        for (uint32_t x = rfirst(c, checks); x != JDOC_NONE && !rc;
             x = jdoc_next(c, checks, x)) {
            char v[32], bound[32];
            struct rstr msg = rstr_get(c, x, "message");
            if (rbool(c, x, "passed"))
                continue;
            failed_checks++;
            memset(&reason, 0, sizeof reason);
            reason.kind = arena_str(r, "assertion", 9);
            reason.step = rstr_get(c, x, "step");
            reason.metric = rstr_get(c, x, "metric");
            reason.risk = RISK_HIGH;
            if (msg.s && msg.len) {
                reason.rule = msg;
            } else if (!rhas_number(c, x, "value")) {
                reason.rule = arena_printf(r, "not measured");
            } else {
                double val = rnumber(c, x, "value", 0);
                fmt_value(v, sizeof v, val);
                if (rhas_number(c, x, "max") && val > rnumber(c, x, "max", 0)) {
                    fmt_value(bound, sizeof bound, rnumber(c, x, "max", 0));
                    reason.rule = arena_printf(r, "%s > max %s", v, bound);
                } else if (rhas_number(c, x, "min")) {
                    fmt_value(bound, sizeof bound, rnumber(c, x, "min", 0));
                    reason.rule = arena_printf(r, "%s < min %s", v, bound);
                } else {
                    reason.rule = arena_printf(r, "value %s out of bounds", v);
                }
            }
            rc = add_reason(r, &reason, &cap);
        }
    }
    if (r->database != JDOC_NONE && rbool(c, r->database, "regression")) {
        uint32_t schema = rget(c, r->database, "schema"), tables = rget(c, r->database, "tables");
        for (uint32_t x = rfirst(c, schema); x != JDOC_NONE && !rc;
             x = jdoc_next(c, schema, x)) {
            struct rstr kind = rstr_get(c, x, "kind"), detail = rstr_get(c, x, "detail");
            if (!rbool(c, x, "regression"))
                continue;
            memset(&reason, 0, sizeof reason);
            reason.kind = arena_str(r, "schema", 6);
            reason.table = rstr_get(c, x, "object");
            reason.rule = detail.s && detail.len
                              ? arena_printf(r, "%.*s: %.*s", (int)kind.len, kind.s,
                                             (int)detail.len, detail.s)
                              : kind;
            reason.risk = RISK_HIGH;
            db_reasons++;
            rc = add_reason(r, &reason, &cap);
        }
        for (uint32_t x = rfirst(c, tables); x != JDOC_NONE && !rc;
             x = jdoc_next(c, tables, x)) {
            if (!rbool(c, x, "regression"))
                continue;
            memset(&reason, 0, sizeof reason);
            reason.kind = arena_str(r, "database", 8);
            reason.table = rstr_get(c, x, "table");
            reason.rule = arena_printf(r, "%llu rows changed, %llu missing, %llu extra",
                                       (unsigned long long)rcount(c, x, "changed"),
                                       (unsigned long long)rcount(c, x, "missing"),
                                       (unsigned long long)rcount(c, x, "extra"));
            reason.risk = RISK_HIGH;
            db_reasons++;
            rc = add_reason(r, &reason, &cap);
        }
        if (!rc && db_reasons == 0) {
            struct rstr summary = rstr_get(c, r->database, "summary");
            memset(&reason, 0, sizeof reason);
            reason.kind = arena_str(r, "database", 8);
            reason.rule = summary.s && summary.len ? summary
                                                   : arena_printf(r, "the databases differ");
            reason.risk = RISK_HIGH;
            db_reasons++;
            rc = add_reason(r, &reason, &cap);
        }
    }
    if (rc)
        return error_set(err, rc, "out of memory");
    /* most severe first, keeping each source's order within a risk */
    for (size_t i = 1; i < r->reason_count; i++) {
        struct report_reason x = r->reasons[i];
        size_t k = i;
        for (; k > 0 && r->reasons[k - 1].risk < x.risk; k--)
            r->reasons[k] = r->reasons[k - 1];
        r->reasons[k] = x;
    }
    if (failed_checks || db_reasons)
        r->result = RESULT_REGRESSIONS;

    struct rstr summary = rstr_get(d, r->verdict, "summary");
    rc = buf_append(&r->summary, summary.s, summary.len);
    if (!rc && failed_checks)
        rc = buf_printf(&r->summary, "%s%zu assertion%s failed", r->summary.len ? "; " : "",
                        failed_checks, failed_checks == 1 ? "" : "s");
    if (!rc && db_reasons)
        rc = buf_printf(&r->summary, "%sthe database differs (%zu finding%s)",
                        r->summary.len ? "; " : "", db_reasons, db_reasons == 1 ? "" : "s");
    if (rc == ERR_TOOBIG)
        rc = 0; /* the summary is cut; the reasons list everything */
    return rc ? error_set(err, rc, "out of memory") : 0;
}

/* Load a DIFF.json from text the report owns from now on. */
static int load_diff_owned(struct report *r, char *text, size_t len, const char *name,
                           const struct jdoc_limits *lim, struct error *err)
{
    const struct jdoc *d = &r->diff;
    size_t repaired = 0;
    int rc;

    clear_diff(r);
    r->diff_text = text;
    rc = parse_checked(&r->diff, &r->diff_text, len, name ? name : "<diff>", lim,
                       "rehearse-diff", REPORT_DIFF_VERSION, &report_diff_shape,
                       "a DIFF.json written by 'rehearse diff' (docs/diff-format.md)",
                       &repaired, err);
    if (rc)
        goto fail;
    if (repaired)
        warn(r, "%s: %zu bytes that are not UTF-8 were replaced by U+FFFD", d->name, repaired);
    r->inputs = rget(d, 0, "inputs");
    r->thresholds = rget(d, 0, "thresholds");
    r->verdict = rget(d, 0, "verdict");
    r->totals = rget(d, 0, "totals");
    r->targets = rget(d, 0, "targets");
    r->rules = rget(d, 0, "rules");
    r->redaction = rget(d, 0, "redaction");
    r->caps = rget(d, 0, "caps");
    r->base = rstr_get(d, r->inputs, "base");
    r->candidate = rstr_get(d, r->inputs, "candidate");
    r->noise = rstr_get(d, r->inputs, "noise");
    if ((rc = index_endpoints(r, err)) != 0 || (rc = check_diff_rules(r, err)) != 0)
        goto fail;
    for (int i = 0; i < 2; i++) {
        struct rstr t = i ? r->candidate : r->base;
        if (rgetn(d, r->targets, t.s, t.len) == JDOC_NONE)
            warn(r, "%s: the %s target is not in \"targets\": its counts and latency are "
                 "not known", d->name, i ? "candidate" : "base");
    }
    r->loaded = true;
    if ((rc = compute_verdict(r, err)) != 0)
        goto fail;
    return 0;
fail:
    clear_diff(r);
    return rc;
}

static char *copy_text(const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len);
        copy[len] = '\0';
    }
    return copy;
}

int report_load_diff_text(struct report *r, const char *text, size_t len, const char *name,
                          const struct jdoc_limits *lim, struct error *err)
{
    char *copy = copy_text(text, len);
    if (!copy)
        return error_set(err, ERR_NOMEM, "out of memory reading '%s'", name);
    return load_diff_owned(r, copy, len, name, lim, err);
}

int report_load_diff(struct report *r, const char *path, const struct jdoc_limits *lim,
                     struct error *err)
{
    char *text;
    size_t len;
    int rc;

    if ((rc = jdoc_read_file(path, lim ? lim->max_size : 0, &text, &len, err)) != 0)
        return rc;
    return load_diff_owned(r, text, len, strcmp(path, "-") == 0 ? "<stdin>" : path, lim, err);
}

static int load_context_owned(struct report *r, char *text, size_t len, const char *name,
                              struct error *err)
{
    size_t repaired = 0;
    int rc;

    clear_context(r);
    r->ctx_text = text;
    rc = parse_checked(&r->ctx, &r->ctx_text, len, name ? name : "<context>", NULL,
                       "rehearse-report-context", REPORT_CONTEXT_VERSION, &report_context_shape,
                       "a report context (docs/report-format.md)", &repaired, err);
    if (rc) {
        clear_context(r);
        return rc;
    }
    if (repaired)
        warn(r, "%s: %zu bytes that are not UTF-8 were replaced by U+FFFD", r->ctx.name,
             repaired);
    r->has_ctx = true;
    r->run = rget(&r->ctx, 0, "run");
    r->timeline = rget(&r->ctx, 0, "timeline");
    r->assertions = rget(&r->ctx, 0, "assertions");
    r->database = rget(&r->ctx, 0, "database");
    return r->loaded ? compute_verdict(r, err) : 0;
}

int report_load_context_text(struct report *r, const char *text, size_t len, const char *name,
                             struct error *err)
{
    char *copy = copy_text(text, len);
    if (!copy)
        return error_set(err, ERR_NOMEM, "out of memory reading '%s'", name);
    return load_context_owned(r, copy, len, name, err);
}

int report_load_context(struct report *r, const char *path, struct error *err)
{
    char *text;
    size_t len;
    int rc;

    if ((rc = jdoc_read_file(path, 0, &text, &len, err)) != 0)
        return rc;
    return load_context_owned(r, text, len, strcmp(path, "-") == 0 ? "<stdin>" : path, err);
}

int report_set_context(struct report *r, const json_t *context, struct error *err)
{
    struct buf text;
    int rc;

    buf_init(&text, (size_t)1 << 30);
    if ((rc = jdoc_write_jansson(&text, context, 2, 0)) != 0) {
        buf_release(&text);
        return error_set(err, rc, "the report context cannot be written out: %s",
                         error_description(rc));
    }
    rc = report_load_context_text(r, text.data ? text.data : "", text.len, "<context>", err);
    buf_release(&text);
    return rc;
}

/* ---------------------------------------------------------------- verdict */

const char *report_result(const struct report *r)
{
    return report_result_name(r->result);
}

int report_exit_code(const struct report *r)
{
    return r->result == RESULT_PASS ? EXIT_OK : EXIT_FINDINGS;
}

const char *report_summary(const struct report *r)
{
    return r->summary.data ? r->summary.data : "";
}

/* ---------------------------------------------------------------- writing */

const char *report_file_name(enum report_format f)
{
    switch (f) {
    case REPORT_JSON: return "report.json";
    case REPORT_HTML: return "report.html";
    case REPORT_JUNIT: return "junit.xml";
    case REPORT_MARKDOWN: return "summary.md";
    }
    return "report";
}

int report_render(struct report *r, enum report_format f, struct buf *out, struct error *err)
{
    if (!r->loaded)
        return error_set(err, ERR_STATE, "no DIFF.json was loaded");
    switch (f) {
    case REPORT_JSON: return report_json_render(r, out, err);
    case REPORT_HTML: return report_html_render(r, out, err);
    case REPORT_JUNIT: return report_junit_render(r, out, err);
    case REPORT_MARKDOWN: return report_md_render(r, out, err);
    }
    return error_set(err, ERR_USAGE, "unknown report format %d", (int)f);
}

static int write_file(const char *dir, const char *name, const struct buf *content,
                      struct error *err)
{
    char path[4096];
    struct outfile *f;
    size_t off = 0;
    int rc;

    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return error_set(err, ERR_USAGE, "output path '%s/%s' is too long", dir, name);
    if ((rc = outfile_open(&f, path, (size_t)1 << 20, err)) != 0)
        return rc;
    while (off < content->len) {
        size_t n = content->len - off < ((size_t)1 << 20) ? content->len - off : (size_t)1 << 20;
        if ((rc = buf_append(outfile_buf(f), content->data + off, n)) != 0) {
            outfile_discard(f);
            return error_set(err, rc, "cannot buffer '%s'", path);
        }
        if ((rc = outfile_commit(f, err)) != 0) {
            outfile_discard(f);
            return rc;
        }
        off += n;
    }
    return outfile_close(f, err);
}

int report_write_dir(struct report *r, const char *dir, unsigned formats, struct error *err)
{
    static const enum report_format order[] = {REPORT_JSON, REPORT_JUNIT, REPORT_MARKDOWN,
                                               REPORT_HTML};
    struct buf out;
    int rc;

    if ((rc = outfile_make_dirs(dir, err)) != 0)
        return rc;
    buf_init(&out, REPORT_JSON_MAX);
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!(formats & order[i]))
            continue;
        buf_reset(&out);
        if ((rc = report_render(r, order[i], &out, err)) != 0 ||
            (rc = write_file(dir, report_file_name(order[i]), &out, err)) != 0)
            break;
    }
    buf_release(&out);
    return rc;
}
