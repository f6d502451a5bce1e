/*
 * report_junit.c — junit.xml for CI test reports (Jenkins, GitLab, GitHub
 * Actions readers).
 *
 * <testsuites> holds one <testsuite> for the run as a whole ("rehearse":
 * the verdict, the error rate, the transactions skipped by reason), one per
 * endpoint, and one each for the assertions and the database when the
 * context has them.  Each endpoint suite has the test cases "compared",
 * "status", "errors" and "latency", then one per compared field ("body
 * /user/name", "header Content-Type").  A <failure> is a regression beyond
 * noise and carries the rule that fired and the first examples; an <error>
 * is a part the harness could not judge (nothing compared); <skipped> is
 * what was not replayed or not compared.
 *
 * Names are stable across runs (GitLab compares runs by test name and drops
 * duplicates): they are made of the endpoint and the field only, never of
 * counts, and a name that would repeat in its suite gets " (2)", " (3)".
 * XML 1.0 forbids most control characters even as references: escape.h
 * shows them as visible symbols.  The file stays under REPORT_JUNIT_MAX:
 * failure texts shrink and passing field cases are left out as it fills
 * (counted in the "rehearse" suite's "report size" case).
 */
#include <stdio.h>
#include <string.h>

#include "counter.h"
#include "escape.h"
#include "json_shape.h"
#include "report_internal.h"
#include "version.h"

#define NAME_CHARS 300
#define MESSAGE_CHARS 500
#define DETAIL_BYTES 4096
#define DETAIL_BYTES_TIGHT 512
#define EXAMPLES_SHOWN 3
/* Past SOFT_LIMIT bytes failure texts are short; past HARD_LIMIT passing
 * field cases are left out and failures carry no text; past FINAL_LIMIT
 * the regressing fields of an endpoint are one case, "more regressing
 * fields".  The rest of REPORT_JUNIT_MAX is headroom. */
#define SOFT_LIMIT (REPORT_JUNIT_MAX / 2)
#define HARD_LIMIT (REPORT_JUNIT_MAX * 3 / 4)
#define FINAL_LIMIT (REPORT_JUNIT_MAX * 17 / 20)

enum outcome { PASSED, FAILED, ERRORED, SKIPPED };

struct suite {
    struct buf cases;
    struct counter names;
    uint64_t tests, failures, errors, skipped;
};

struct junit {
    struct report *r;
    struct buf suites;     /* every <testsuite>, in order */
    uint64_t tests, failures, errors, skipped;
    uint64_t omitted;      /* passing field cases left out for size */
    struct counter suite_names;
    int rc;
};

static void suite_init(struct suite *s)
{
    buf_init(&s->cases, REPORT_JUNIT_MAX);
    counter_init(&s->names, 1u << 20, 4096);
    s->tests = s->failures = s->errors = s->skipped = 0;
}

static void suite_release(struct suite *s)
{
    buf_release(&s->cases);
    counter_release(&s->names);
}

static size_t used(const struct junit *j, const struct suite *s)
{
    return j->suites.len + s->cases.len;
}

/* Append one <testcase>.  name is plain text (escaped here); message and
 * detail too.  A repeated name gets a " (N)" suffix. */
static void add_case(struct junit *j, struct suite *s, const char *classname, size_t clen,
                     const char *name, size_t nlen, enum outcome outcome, const char *type,
                     const char *message, size_t mlen, const char *detail, size_t dlen)
{
    static const char *const tags[] = {NULL, "failure", "error", "skipped"};
    struct buf esc;
    struct counter_entry *e;
    int rc = 0;

    if (j->rc)
        return;
    buf_init(&esc, 8 * NAME_CHARS + 64);
    rc = escape_append(&esc, ESCAPE_XML_ATTR, name, nlen, NAME_CHARS, 0);
    if (!rc) {
        e = counter_lookup(&s->names, esc.data, esc.len, &rc);
        if (e && e->count++ > 0)
            rc = buf_printf(&esc, " (%llu)", (unsigned long long)e->count);
        else if (!e && rc == 1)
            rc = 0; /* the name table is full: names stay as they are */
    }
    if (!rc)
        rc = buf_append_str(&s->cases, "    <testcase classname=\"");
    if (!rc)
        rc = escape_append(&s->cases, ESCAPE_XML_ATTR, classname, clen, NAME_CHARS, 0);
    if (!rc)
        rc = buf_append_str(&s->cases, "\" name=\"");
    if (!rc)
        rc = buf_append(&s->cases, esc.data, esc.len);
    buf_release(&esc);
    if (!rc)
        rc = buf_append_str(&s->cases, "\" time=\"0\"");
    if (!rc && outcome == PASSED) {
        rc = buf_append_str(&s->cases, "/>\n");
    } else if (!rc) {
        rc = buf_printf(&s->cases, ">\n      <%s message=\"", tags[outcome]);
        if (!rc)
            rc = escape_append(&s->cases, ESCAPE_XML_ATTR, message, mlen, MESSAGE_CHARS, 0);
        if (!rc && type)
            rc = buf_printf(&s->cases, "\" type=\"%s", type);
        if (!rc && dlen) {
            size_t limit = used(j, s) > SOFT_LIMIT ? DETAIL_BYTES_TIGHT : DETAIL_BYTES;
            rc = buf_printf(&s->cases, "\">");
            if (!rc)
                rc = escape_append(&s->cases, ESCAPE_XML_TEXT, detail,
                                   dlen > limit ? limit : dlen, 0, ESCAPE_KEEP_NEWLINES);
            if (!rc && dlen > limit)
                rc = buf_printf(&s->cases, "\n\xE2\x80\xA6 [%zu more bytes in report.html]",
                                dlen - limit);
            if (!rc)
                rc = buf_printf(&s->cases, "</%s>\n", tags[outcome]);
        } else if (!rc) {
            rc = buf_append_str(&s->cases, "\"/>\n");
        }
        if (!rc)
            rc = buf_append_str(&s->cases, "    </testcase>\n");
    }
    if (rc) {
        j->rc = rc;
        return;
    }
    s->tests++;
    s->failures += outcome == FAILED;
    s->errors += outcome == ERRORED;
    s->skipped += outcome == SKIPPED;
}

static void add_case_c(struct junit *j, struct suite *s, const char *classname, size_t clen,
                       const char *name, enum outcome outcome, const char *type,
                       const char *message, const struct buf *detail)
{
    add_case(j, s, classname, clen, name, strlen(name), outcome, type, message,
             message ? strlen(message) : 0, detail && detail->data ? detail->data : "",
             detail ? detail->len : 0);
}

static void end_suite(struct junit *j, struct suite *s, const char *name, size_t len)
{
    int rc;

    if (j->rc)
        return;
    struct buf esc;
    struct counter_entry *e;

    buf_init(&esc, 8 * NAME_CHARS + 64);
    rc = escape_append(&esc, ESCAPE_XML_ATTR, name, len, NAME_CHARS, 0);
    if (!rc) {
        e = counter_lookup(&j->suite_names, esc.data, esc.len, &rc);
        if (e && e->count++ > 0)
            rc = buf_printf(&esc, " (%llu)", (unsigned long long)e->count);
        else if (!e && rc == 1)
            rc = 0;
    }
    if (!rc)
        rc = buf_append_str(&j->suites, "  <testsuite name=\"");
    if (!rc)
        rc = buf_append(&j->suites, esc.data, esc.len);
    buf_release(&esc);
    if (!rc)
        rc = buf_printf(&j->suites,
                        "\" tests=\"%llu\" failures=\"%llu\" errors=\"%llu\" skipped=\"%llu\" "
                        "time=\"0\">\n",
                        (unsigned long long)s->tests, (unsigned long long)s->failures,
                        (unsigned long long)s->errors, (unsigned long long)s->skipped);
    if (!rc)
        rc = buf_append(&j->suites, s->cases.data ? s->cases.data : "", s->cases.len);
    if (!rc)
        rc = buf_append_str(&j->suites, "  </testsuite>\n");
    j->rc = rc;
    j->tests += s->tests;
    j->failures += s->failures;
    j->errors += s->errors;
    j->skipped += s->skipped;
}

/* The reason of kind `kind` about endpoint e (and path or header), if any. */
static const struct report_reason *find_reason(const struct report *r, const char *kind,
                                               struct rstr endpoint, struct rstr path,
                                               struct rstr header)
{
    for (size_t i = 0; i < r->reason_count; i++) {
        const struct report_reason *x = &r->reasons[i];
        if (!rstr_is(x->kind, kind))
            continue;
        if (endpoint.s ? !rstr_eq(x->endpoint, endpoint) : x->endpoint.s != NULL)
            continue;
        if (path.s && !rstr_eq(x->path, path))
            continue;
        if (header.s && !rstr_eq(x->header, header))
            continue;
        return x;
    }
    return NULL;
}

/* "transaction 17 (connection 3) GET /users/7: " */
static int example_head(struct buf *out, const struct jdoc *d, uint32_t x)
{
    struct rstr method = rstr_get(d, x, "method"), target = rstr_get(d, x, "target");
    int rc = buf_printf(out, "  transaction %llu", (unsigned long long)rcount(d, x, "tx"));

    if (!rc && rget(d, x, "conn") != JDOC_NONE)
        rc = buf_printf(out, " (connection %llu)", (unsigned long long)rcount(d, x, "conn"));
    if (!rc && method.s)
        rc = buf_printf(out, " %.*s", (int)(method.len > 32 ? 32 : method.len), method.s);
    if (!rc && target.s) {
        rc = buf_append_char(out, ' ');
        if (!rc)
            rc = buf_append(out, target.s, target.len > 200 ? 200 : target.len);
    }
    return rc ? rc : buf_append_str(out, ": ");
}

/* A status code node as text; "none" when absent or null. */
static void status_text(const struct jdoc *d, uint32_t st, char *out, size_t size)
{
    if (st == JDOC_NONE || jdoc_at(d, st)->type != JDOC_NUMBER)
        snprintf(out, size, "none");
    else
        snprintf(out, size, "%lld", (long long)jshape_int(d, st));
}

static void status_of(const struct jdoc *d, uint32_t x, const char *role, char *out, size_t size)
{
    status_text(d, rget(d, rget(d, x, role), "status"), out, size);
}

static void endpoint_suite(struct junit *j, const struct report_endpoint *e)
{
    struct report *r = j->r;
    const struct jdoc *d = &r->diff;
    struct rstr none = {NULL, 0};
    const char *cn = e->name.s;
    size_t cl = e->name.len;
    struct buf detail;
    struct suite s;
    char msg[1024], rate[32];
    const struct report_reason *x;
    bool judged = e->compared > 0 || e->requests == 0;

    suite_init(&s);
    buf_init(&detail, 64 * 1024);

    /* compared */
    if (judged) {
        add_case_c(j, &s, cn, cl, "compared", PASSED, NULL, NULL, NULL);
    } else {
        snprintf(msg, sizeof msg, "none of the %llu requests could be compared: base and "
                 "candidate must both answer", (unsigned long long)e->requests);
        add_case_c(j, &s, cn, cl, "compared", ERRORED, "not_compared", msg, NULL);
    }

    /* status */
    x = find_reason(r, "status", e->name, none, none);
    if (!judged) {
        add_case_c(j, &s, cn, cl, "status", SKIPPED, NULL, "not compared", NULL);
    } else if (x) {
        buf_reset(&detail);
        report_fmt_rate(rate, sizeof rate, report_rate(e->mismatches, e->compared));
        buf_printf(&detail, "status mismatches: %llu of %llu compared (%s)\n",
                   (unsigned long long)e->mismatches, (unsigned long long)e->compared, rate);
        for (uint32_t c = rfirst(d, e->changes); c != JDOC_NONE;
             c = jdoc_next(d, e->changes, c))
        {
            char b[32], cd[32];
            status_text(d, rget(d, c, "base"), b, sizeof b);
            status_text(d, rget(d, c, "candidate"), cd, sizeof cd);
            buf_printf(&detail, "  %s -> %s: %llu\n", b, cd,
                       (unsigned long long)rcount(d, c, "count"));
        }
        size_t shown = 0;
        buf_append_str(&detail, "examples:\n");
        for (uint32_t ex = rfirst(d, e->examples); ex != JDOC_NONE && shown < EXAMPLES_SHOWN;
             ex = jdoc_next(d, e->examples, ex)) {
            char b[32], c[32];
            status_of(d, ex, "base", b, sizeof b);
            status_of(d, ex, "candidate", c, sizeof c);
            if (strcmp(b, c) == 0)
                continue;
            example_head(&detail, d, ex);
            buf_printf(&detail, "status %s -> %s\n", b, c);
            shown++;
        }
        add_case(j, &s, cn, cl, "status", 6, FAILED, "status", x->rule.s, x->rule.len,
                 detail.data, detail.len);
    } else {
        add_case_c(j, &s, cn, cl, "status", PASSED, NULL, NULL, NULL);
    }

    /* errors and latency: decided by reasons about this endpoint */
    static const struct {
        const char *name, *kind;
    } checks[] = {{"errors", "error_rate"}, {"latency", "latency"}};
    for (size_t i = 0; i < 2; i++) {
        x = find_reason(r, checks[i].kind, e->name, none, none);
        if (x)
            add_case(j, &s, cn, cl, checks[i].name, strlen(checks[i].name), FAILED,
                     checks[i].kind, x->rule.s, x->rule.len, x->rule.s, x->rule.len);
        else
            add_case_c(j, &s, cn, cl, checks[i].name, PASSED, NULL, NULL, NULL);
    }

    /* one case per field */
    size_t more = 0;
    struct buf more_names;
    buf_init(&more_names, 2048);
    for (uint32_t f = rfirst(d, e->fields); f != JDOC_NONE && !j->rc;
         f = jdoc_next(d, e->fields, f)) {
        struct rstr path = rstr_get(d, f, "path"), header = rstr_get(d, f, "header");
        bool regression = rbool(d, f, "regression");
        struct buf name;
        char raw[32], noise[32], remaining[32];

        if (!regression && used(j, &s) > HARD_LIMIT) {
            j->omitted++;
            continue;
        }
        if (regression && judged && used(j, &s) > FINAL_LIMIT) {
            more++;
            if (more_names.len < 1024) {
                buf_append_str(&more_names, more > 1 ? "\n" : "");
                buf_append(&more_names, path.s ? path.s : header.s,
                           (path.s ? path.len : header.len) > 200 ? 200
                                                                 : (path.s ? path.len : header.len));
            }
            continue;
        }
        buf_init(&name, 64 * 1024);
        buf_append_str(&name, path.s ? "body " : "header ");
        buf_append(&name, path.s ? path.s : header.s, path.s ? path.len : header.len);
        if (!judged) {
            add_case(j, &s, cn, cl, name.data, name.len, SKIPPED, NULL, "not compared", 12,
                     NULL, 0);
        } else if (!regression) {
            add_case(j, &s, cn, cl, name.data, name.len, PASSED, NULL, NULL, 0, NULL, 0);
        } else {
            uint32_t ids = rget(d, f, "examples");
            size_t shown = 0;
            x = find_reason(r, path.s ? "field" : "header", e->name, path, header);
            report_fmt_rate(raw, sizeof raw, report_rate(rcount(d, f, "raw"), e->compared));
            report_fmt_rate(noise, sizeof noise, report_rate(rcount(d, f, "noise"), e->compared));
            report_fmt_rate(remaining, sizeof remaining,
                            report_rate(rcount(d, f, "remaining"), e->compared));
            buf_reset(&detail);
            buf_printf(&detail, "differs in %llu of %llu compared (%s); noise %llu (%s); "
                       "remaining %llu (%s)\n",
                       (unsigned long long)rcount(d, f, "raw"), (unsigned long long)e->compared,
                       raw, (unsigned long long)rcount(d, f, "noise"), noise,
                       (unsigned long long)rcount(d, f, "remaining"), remaining);
            struct rstr kind = rstr_get(d, f, "kind");
            buf_printf(&detail, "kind %.*s, risk %s\n", (int)(kind.len > 40 ? 40 : kind.len),
                       kind.s ? kind.s : "?",
                       report_risk_name(report_risk_parse(rstr_get(d, f, "risk"))));
            if (x) {
                buf_append_str(&detail, "rule: ");
                buf_append(&detail, x->rule.s, x->rule.len);
                buf_append_char(&detail, '\n');
            }
            buf_append_str(&detail, "examples:\n");
            for (uint32_t id = rfirst(d, ids); id != JDOC_NONE && shown < EXAMPLES_SHOWN;
                 id = jdoc_next(d, ids, id)) {
                uint32_t ex = report_find_example(r, e, jshape_count(d, id));
                if (ex == JDOC_NONE)
                    continue;
                example_head(&detail, d, ex);
                if (path.s)
                    report_example_change(r, ex, path, 80, &detail);
                else
                    buf_printf(&detail, "header differs");
                buf_append_char(&detail, '\n');
                shown++;
            }
            if (used(j, &s) > HARD_LIMIT)
                detail.len = 0; /* the message alone */
            if (x)
                add_case(j, &s, cn, cl, name.data, name.len, FAILED, path.s ? "field" : "header",
                         x->rule.s, x->rule.len, detail.data, detail.len);
            else {
                snprintf(msg, sizeof msg, "remaining %s of compared transactions differ", remaining);
                add_case(j, &s, cn, cl, name.data, name.len, FAILED, path.s ? "field" : "header",
                         msg, strlen(msg), detail.data, detail.len);
            }
        }
        buf_release(&name);
    }
    if (more) {
        snprintf(msg, sizeof msg, "%zu more fields regress (left out of junit.xml for its size; "
                 "report.json and report.html list them)", more);
        add_case(j, &s, cn, cl, "more regressing fields", 22, FAILED, "field", msg, strlen(msg),
                 more_names.data, more_names.len);
    }
    buf_release(&more_names);
    end_suite(j, &s, e->name.s, e->name.len);
    buf_release(&detail);
    suite_release(&s);
}

static void run_suite(struct junit *j, struct suite *s)
{
    struct report *r = j->r;
    const struct jdoc *d = &r->diff;
    struct rstr none = {NULL, 0};
    uint32_t skipped = rget(d, r->totals, "skipped");
    struct buf detail, name;
    const struct report_reason *x;
    const char *cn = "rehearse";

    buf_init(&detail, 256 * 1024);
    buf_init(&name, 64 * 1024);
    for (size_t i = 0; i < r->reason_count && detail.len < 200 * 1024; i++) {
        report_reason_line(&detail, &r->reasons[i]);
        buf_append_char(&detail, '\n');
    }
    if (r->result == RESULT_PASS)
        add_case_c(j, s, cn, 8, "verdict", PASSED, NULL, NULL, NULL);
    else if (r->result == RESULT_NO_DATA && r->reason_count == 0)
        add_case_c(j, s, cn, 8, "verdict", ERRORED, "no_data", report_summary(r), &detail);
    else
        add_case_c(j, s, cn, 8, "verdict", FAILED, report_result(r), report_summary(r), &detail);

    x = find_reason(r, "error_rate", none, none, none);
    if (x)
        add_case(j, s, cn, 8, "error rate", 10, FAILED, "error_rate", x->rule.s, x->rule.len,
                 x->rule.s, x->rule.len);
    else
        add_case_c(j, s, cn, 8, "error rate", PASSED, NULL, NULL, NULL);

    for (uint32_t k = rfirst(d, skipped); k != JDOC_NONE; k = jdoc_next(d, skipped, k)) {
        char msg[128];
        uint64_t n = jshape_count(d, k + 1);
        if (!n)
            continue;
        buf_reset(&name);
        buf_append_str(&name, "skipped: ");
        buf_append(&name, jdoc_at(d, k)->text, jdoc_at(d, k)->len);
        snprintf(msg, sizeof msg, "%llu transaction%s not compared", (unsigned long long)n,
                 n == 1 ? "" : "s");
        add_case(j, s, cn, 8, name.data, name.len, SKIPPED, NULL, msg, strlen(msg), NULL, 0);
    }
    if (j->omitted) {
        char msg[160];
        snprintf(msg, sizeof msg, "%llu passing field test cases left out to keep junit.xml "
                 "small; report.json lists them", (unsigned long long)j->omitted);
        add_case_c(j, s, cn, 8, "report size", SKIPPED, NULL, msg, NULL);
    }
    buf_release(&detail);
    buf_release(&name);
}

static void assertions_suite(struct junit *j)
{
    struct report *r = j->r;
    const struct jdoc *c = &r->ctx;
    uint32_t checks = rget(c, r->assertions, "checks");
    struct buf name, msg;
    struct suite s;

    suite_init(&s);
    buf_init(&name, 64 * 1024);
    buf_init(&msg, 64 * 1024);
    for (uint32_t x = rfirst(c, checks); x != JDOC_NONE; x = jdoc_next(c, checks, x)) {
        struct rstr step = rstr_get(c, x, "step"), metric = rstr_get(c, x, "metric");
        struct rstr message = rstr_get(c, x, "message");
        buf_reset(&name);
        buf_reset(&msg);
        if (step.s) {
            buf_append(&name, step.s, step.len);
            buf_append_str(&name, ": ");
        }
        buf_append(&name, metric.s, metric.len);
        if (rbool(c, x, "passed")) {
            add_case(j, &s, "assertions", 10, name.data, name.len, PASSED, NULL, NULL, 0, NULL, 0);
            continue;
        }
        if (message.s && message.len)
            buf_append(&msg, message.s, message.len);
        else
            buf_append_str(&msg, "out of bounds");
        add_case(j, &s, "assertions", 10, name.data, name.len,
                 rhas_number(c, x, "value") ? FAILED : ERRORED, "assertion", msg.data, msg.len,
                 msg.data, msg.len);
    }
    end_suite(j, &s, "assertions", 10);
    buf_release(&name);
    buf_release(&msg);
    suite_release(&s);
}

static void database_suite(struct junit *j)
{
    struct report *r = j->r;
    const struct jdoc *c = &r->ctx;
    uint32_t schema = rget(c, r->database, "schema"), tables = rget(c, r->database, "tables");
    struct buf name, detail;
    struct suite s;
    bool schema_regression = false;

    suite_init(&s);
    buf_init(&name, 64 * 1024);
    buf_init(&detail, 256 * 1024);
    for (uint32_t x = rfirst(c, schema); x != JDOC_NONE; x = jdoc_next(c, schema, x)) {
        struct rstr kind = rstr_get(c, x, "kind"), object = rstr_get(c, x, "object");
        struct rstr more = rstr_get(c, x, "detail");
        schema_regression = schema_regression || rbool(c, x, "regression");
        if (detail.len < 200 * 1024) {
            buf_append(&detail, kind.s, kind.len);
            buf_append_char(&detail, ' ');
            buf_append(&detail, object.s, object.len);
            if (more.s) {
                buf_append_str(&detail, ": ");
                buf_append(&detail, more.s, more.len);
            }
            buf_append_char(&detail, '\n');
        }
    }
    if (schema_regression)
        add_case_c(j, &s, "database", 8, "schema", FAILED, "schema",
                   "the schema changed in a way marked as a regression", &detail);
    else
        add_case_c(j, &s, "database", 8, "schema", PASSED, NULL, NULL, NULL);
    for (uint32_t x = rfirst(c, tables); x != JDOC_NONE; x = jdoc_next(c, tables, x)) {
        struct rstr table = rstr_get(c, x, "table");
        char msg[256];
        buf_reset(&name);
        buf_append_str(&name, "table ");
        buf_append(&name, table.s, table.len);
        snprintf(msg, sizeof msg, "%llu rows changed, %llu missing, %llu extra",
                 (unsigned long long)rcount(c, x, "changed"),
                 (unsigned long long)rcount(c, x, "missing"),
                 (unsigned long long)rcount(c, x, "extra"));
        if (rbool(c, x, "regression"))
            add_case(j, &s, "database", 8, name.data, name.len, FAILED, "rows", msg, strlen(msg),
                     msg, strlen(msg));
        else
            add_case(j, &s, "database", 8, name.data, name.len, PASSED, NULL, NULL, 0, NULL, 0);
    }
    end_suite(j, &s, "database", 8);
    buf_release(&name);
    buf_release(&detail);
    suite_release(&s);
}

int report_junit_render(struct report *r, struct buf *out, struct error *err)
{
    struct junit j = {.r = r};
    struct suite run;
    struct buf endpoints;

    buf_init(&j.suites, REPORT_JUNIT_MAX);
    counter_init(&j.suite_names, 1u << 20, 4096);
    /* endpoint suites first (they decide what was left out), then the run
     * suite is put in front of them */
    for (size_t i = 0; i < r->endpoint_count && !j.rc; i++)
        endpoint_suite(&j, &r->endpoints[i]);
    endpoints = j.suites;
    buf_init(&j.suites, REPORT_JUNIT_MAX);
    suite_init(&run);
    run_suite(&j, &run);
    end_suite(&j, &run, "rehearse", 8);
    suite_release(&run);
    if (!j.rc)
        j.rc = buf_append(&j.suites, endpoints.data ? endpoints.data : "", endpoints.len);
    buf_release(&endpoints);
    if (!j.rc && r->assertions != JDOC_NONE)
        assertions_suite(&j);
    if (!j.rc && r->database != JDOC_NONE)
        database_suite(&j);
    counter_release(&j.suite_names);
    if (!j.rc)
        j.rc = buf_printf(out,
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<testsuites name=\"rehearse\" tests=\"%llu\" failures=\"%llu\" "
                          "errors=\"%llu\" skipped=\"%llu\" time=\"0\">\n",
                          (unsigned long long)j.tests, (unsigned long long)j.failures,
                          (unsigned long long)j.errors, (unsigned long long)j.skipped);
    if (!j.rc)
        j.rc = buf_append(out, j.suites.data ? j.suites.data : "", j.suites.len);
    if (!j.rc)
        j.rc = buf_append_str(out, "</testsuites>\n");
    buf_release(&j.suites);
    if (j.rc)
        return error_set(err, j.rc, "cannot write junit.xml: %s", error_description(j.rc));
    return 0;
}
