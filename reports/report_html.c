/*
 * report_html.c — report.html: one self-contained page for reviewers.
 *
 * Safety rules (captured traffic is hostile input):
 *   - the page loads nothing: a Content-Security-Policy of default-src
 *     'none' allows only the one inline script and the one style element,
 *     by their SHA-256 (computed here from the embedded assets), and no
 *     base URL or form target;
 *   - everything rendered here is escaped for its context by escape.h
 *     (text or attribute), with control, bidi and invisible characters
 *     shown visibly and invalid UTF-8 replaced; no value from the input is
 *     ever put in a URL, a class name, an id or an event attribute (ids and
 *     links are built from our own numbers);
 *   - the examples (bodies, headers, patches) are embedded as inert JSON in
 *     <script type="application/json">, written with JSONW_HTML_SAFE so
 *     '<', '>', '&', U+2028 and U+2029 are \u-escaped and the text can never
 *     end its element; the script renders them with textContent only.
 *
 * Size: tables and strings are capped; if the server-rendered part is still
 * too large (hostile strings made of escaped characters), it is rendered
 * again with tighter caps; then examples are added, one endpoint at a time
 * round robin, while they fit under REPORT_HTML_MAX.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "escape.h"
#include "histogram.h"
#include "json_shape.h"
#include "jsonw.h"
#include "jout.h"
#include "report_assets.h"
#include "report_internal.h"
#include "sha256.h"
#include "svg.h"
#include "version.h"

/* Caps of the server-rendered part. */
struct html_caps {
    size_t chars;            /* characters of a value in a table */
    size_t endpoint_rows;
    size_t fields_per_endpoint;
    size_t field_rows;       /* over all endpoints */
    size_t rule_rows;
    size_t chart_rows;       /* endpoints in the latency range chart */
    size_t timeline_rows;
    size_t context_rows;     /* rows of each context table */
};

static const struct html_caps caps_normal = {200, 1000, 25, 2500, 1000, 40, 60, 500};
static const struct html_caps caps_tight = {40, 300, 10, 600, 200, 20, 30, 100};

/* The server-rendered part may use this much; the examples get the rest. */
#define STATIC_BUDGET ((size_t)6 * 1000 * 1000)
/* Kept free for the end of the page and rounding. */
#define TAIL_RESERVE ((size_t)64 * 1024)
/* A body is cut to this many bytes in the page (DIFF.json has the rest). */
#define BODY_BYTES ((size_t)32 * 1024)

struct html {
    struct report *r;
    const struct jdoc *d;
    const struct html_caps *caps;
    struct buf *out;
    int rc;
};

/* ------------------------------------------------------------- writing */

static void hs(struct html *h, const char *s)
{
    if (!h->rc)
        h->rc = buf_append_str(h->out, s);
}

static void hf(struct html *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hf(struct html *h, const char *fmt, ...)
{
    va_list ap;

    if (h->rc)
        return;
    va_start(ap, fmt);
    h->rc = buf_vprintf(h->out, fmt, ap);
    va_end(ap);
}

/* Escaped text; absent strings print as an em dash. */
static void ht(struct html *h, struct rstr s, size_t max)
{
    if (h->rc)
        return;
    if (!s.s)
        h->rc = buf_append_str(h->out, "\xE2\x80\x94");
    else
        h->rc = escape_append(h->out, ESCAPE_HTML_TEXT, s.s, s.len, max, 0);
}

static void htc(struct html *h, const char *s)
{
    if (!h->rc)
        h->rc = escape_cstring(h->out, ESCAPE_HTML_TEXT, s, 0);
}

static void hcode(struct html *h, struct rstr s, size_t max)
{
    if (!s.s) {
        hs(h, "\xE2\x80\x94");
        return;
    }
    hs(h, "<code>");
    ht(h, s, max);
    hs(h, "</code>");
}

/* A table cell holding a value from the input, as code or as text. */
static void td_code(struct html *h, struct rstr s, size_t max)
{
    hs(h, "<td>");
    hcode(h, s, max);
    hs(h, "</td>");
}

static void td_text(struct html *h, struct rstr s, size_t max)
{
    hs(h, "<td>");
    ht(h, s, max);
    hs(h, "</td>");
}

static struct rstr cstr(const char *s)
{
    struct rstr r = {s, s ? strlen(s) : 0};
    return r;
}

/* A numeric cell: the value people read, the key the table sorts by. */
static void num_cell(struct html *h, double key, const char *text, const char *extra)
{
    hf(h, "<td class=\"num\" data-v=\"%.10g\">", isfinite(key) ? key : 0);
    htc(h, text);
    if (extra && *extra) {
        hs(h, " <span class=\"pct\">");
        htc(h, extra);
        hs(h, "</span>");
    }
    hs(h, "</td>");
}

static void count_cell(struct html *h, uint64_t n, uint64_t of, bool with_rate)
{
    char text[48], rate[32] = "";

    report_fmt_count(text, sizeof text, n);
    if (with_rate && n)
        report_fmt_rate(rate, sizeof rate, report_rate(n, of));
    num_cell(h, with_rate ? report_rate(n, of) + (double)n * 1e-12 : (double)n, text, rate);
}

static void risk_span(struct html *h, enum report_risk risk)
{
    hf(h, "<span class=\"risk r-%s\">%s</span>", report_risk_name(risk), report_risk_name(risk));
}

static void sort_head(struct html *h, const char *label, bool numeric)
{
    hf(h, "<th%s data-type=\"%s\"><button type=\"button\">%s</button></th>",
       numeric ? " class=\"num\"" : "", numeric ? "number" : "text", label);
}

/* ---------------------------------------------------------- the head */

static int csp_hash(const char *start, const char *end, struct buf *out)
{
    unsigned char md[SHA256_LEN];

    if (!sha256_digest(start, (size_t)(end - start), md))
        return ERR_ENV;
    return base64_encode(out, md, sizeof md);
}

static void head(struct html *h)
{
    const struct report *r = h->r;
    struct buf script_hash, style_hash;
    int rc;

    buf_init(&script_hash, 64);
    buf_init(&style_hash, 64);
    if ((rc = csp_hash(report_asset_js, report_asset_js_end, &script_hash)) != 0 ||
        (rc = csp_hash(report_asset_css, report_asset_css_end, &style_hash)) != 0) {
        h->rc = rc;
        goto out;
    }
    hs(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    hf(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "script-src 'sha256-%s'; style-src 'sha256-%s'; img-src 'none'; base-uri 'none'; "
          "form-action 'none'\">\n",
       script_hash.data, style_hash.data);
    hs(h, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta name=\"referrer\" content=\"no-referrer\">\n"
          "<meta name=\"generator\" content=\"rehearse " REHEARSE_VERSION "\">\n");
    hf(h, "<title>rehearse report: %s, %zu finding%s</title>\n",
       r->result == RESULT_NO_DATA ? "no data" : report_result(r), r->reason_count,
       r->reason_count == 1 ? "" : "s");
    hs(h, "<style>");
    if (!h->rc)
        h->rc = buf_append(h->out, report_asset_css,
                           (size_t)(report_asset_css_end - report_asset_css));
    hs(h, "</style>\n</head>\n<body>\n");
out:
    buf_release(&script_hash);
    buf_release(&style_hash);
}

/* ------------------------------------------------------------ sections */

static void verdict(struct html *h)
{
    const struct report *r = h->r;
    static const char *const words[] = {"PASS", "REGRESSIONS", "NO DATA"};

    hf(h, "<header class=\"verdict v-%s\" id=\"top\"><div class=\"in\">\n", report_result(r));
    hf(h, "<div><span class=\"badge\">%s</span><span class=\"exit\">exit %d \xC2\xB7 "
          "rehearse report</span></div>\n<h1>",
       words[r->result], report_exit_code(r));
    ht(h, cstr(report_summary(r)), 600);
    hs(h, "</h1>\n");
    if (r->reason_count) {
        hf(h, "<div>Decided by %s:</div>\n<ol class=\"reasons\">\n",
           r->reason_count == 1 ? "this finding" : "these findings");
        for (size_t i = 0; i < r->reason_count && i < 50 && !h->rc; i++) {
            const struct report_reason *x = &r->reasons[i];
            hs(h, "<li>");
            risk_span(h, x->risk);
            hs(h, " ");
            ht(h, x->kind, 40);
            const struct rstr *subjects[] = {&x->endpoint, &x->step, &x->table,
                                             &x->path,     &x->header, &x->metric};
            for (size_t k = 0; k < 6; k++) {
                if (!subjects[k]->s)
                    continue;
                hs(h, subjects[k] == &x->header ? " header " : " ");
                hcode(h, *subjects[k], h->caps->chars);
            }
            hs(h, ": <span class=\"rule\">");
            ht(h, x->rule, 400);
            hs(h, "</span></li>\n");
        }
        if (r->reason_count > 50)
            hf(h, "<li>\xE2\x80\xA6 and %zu more (report.json lists them all)</li>\n",
               r->reason_count - 50);
        hs(h, "</ol>\n");
    } else if (r->result == RESULT_PASS) {
        hs(h, "<div>No difference remained above the thresholds after noise.</div>\n");
    }
    hs(h, "</div></header>\n");
}

static void nav(struct html *h)
{
    const struct report *r = h->r;

    hs(h, "<nav><a href=\"#run\">Run</a><a href=\"#counts\">Counts</a>");
    if (r->timeline != JDOC_NONE)
        hs(h, "<a href=\"#timeline\">Timeline</a>");
    if (r->assertions != JDOC_NONE)
        hs(h, "<a href=\"#assertions\">Assertions</a>");
    hs(h, "<a href=\"#endpoints\">Endpoints</a><a href=\"#fields\">Fields</a>"
          "<a href=\"#findings\">Examples</a><a href=\"#latency\">Latency</a>"
          "<a href=\"#errors\">Errors</a>");
    if (r->database != JDOC_NONE)
        hs(h, "<a href=\"#database\">Database</a>");
    hs(h, "<a href=\"#rules\">Rules</a><a href=\"#reproduce\">Reproduce</a></nav>\n<main>\n");
    if (r->warning_count) {
        hs(h, "<div class=\"warnings\"><strong>Warnings about the input</strong><ul>");
        for (size_t i = 0; i < r->warning_count; i++) {
            hs(h, "<li>");
            ht(h, cstr(r->warnings[i]), 400);
            hs(h, "</li>");
        }
        hs(h, "</ul></div>\n");
    }
}

static void dl_row(struct html *h, const char *label, struct rstr value, bool code)
{
    hf(h, "<dt>%s</dt><dd>", label);
    if (code)
        hcode(h, value, h->caps->chars * 2);
    else
        ht(h, value, h->caps->chars * 2);
    hs(h, "</dd>");
}

static void threshold_row(struct html *h, const char *name, const char *meaning)
{
    uint32_t v = rget(h->d, h->r->thresholds, name);

    hf(h, "<tr><td><code>%s</code></td><td class=\"num\">", name);
    if (v == JDOC_NONE)
        hs(h, "default");
    else if (jdoc_at(h->d, v)->type == JDOC_NULL)
        hs(h, "none");
    else
        ht(h, (struct rstr){jdoc_at(h->d, v)->text, jdoc_at(h->d, v)->len}, 40);
    hf(h, "</td><td>%s</td></tr>\n", meaning);
}

static void run_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d, *c = &r->ctx;
    uint32_t targets = rget(d, r->inputs, "targets"), results = rget(d, r->inputs, "results");
    uint32_t rules = rget(d, r->inputs, "rules");

    hs(h, "<section id=\"run\"><h2>Run, inputs and thresholds</h2>\n<div class=\"grid2\"><div>"
          "<dl class=\"kv\">");
    if (r->run != JDOC_NONE) {
        dl_row(h, "scenario", rstr_get(c, r->run, "scenario"), true);
        dl_row(h, "run status", rstr_get(c, r->run, "status"), false);
        dl_row(h, "started", rstr_get(c, r->run, "started_at"), false);
        if (rhas_number(c, r->run, "duration_ms")) {
            char t[32];
            report_fmt_us(t, sizeof t, rnumber(c, r->run, "duration_ms", 0) * 1000);
            dl_row(h, "duration", cstr(t), false);
        }
        if (rget(c, r->run, "journal") != JDOC_NONE)
            dl_row(h, "journal", rstr_get(c, r->run, "journal"), true);
    }
    dl_row(h, "diff written by", rstr_get(d, 0, "created_by"), false);
    dl_row(h, "report written by", cstr("rehearse " REHEARSE_VERSION), false);
    for (uint32_t t = rfirst(d, targets); t != JDOC_NONE; t = jdoc_next(d, targets, t)) {
        struct rstr name = rstr_get(d, t, "name");
        const char *role = report_role(r, name);
        hf(h, "<dt>target%s%s</dt><dd>", role ? " \xC2\xB7 " : "", role ? role : "");
        hcode(h, name, h->caps->chars);
        hs(h, " ");
        ht(h, rstr_get(d, t, "url"), h->caps->chars); /* text, never a link */
        hs(h, "</dd>");
    }
    if (!rsize(d, targets)) {
        dl_row(h, "base", r->base, true);
        dl_row(h, "candidate", r->candidate, true);
    }
    if (!r->noise.s)
        dl_row(h, "noise reference", cstr("none (no automatic noise cancellation)"), false);
    for (uint32_t f = rfirst(d, results); f != JDOC_NONE; f = jdoc_next(d, results, f)) {
        hs(h, "<dt>results</dt><dd>");
        hcode(h, rstr_get(d, f, "path"), h->caps->chars);
        if (rget(d, f, "transactions") != JDOC_NONE)
            hf(h, " \xC2\xB7 %llu transactions", (unsigned long long)rcount(d, f, "transactions"));
        if (rstr_get(d, f, "trace").s) {
            hs(h, " \xC2\xB7 trace ");
            hcode(h, rstr_get(d, f, "trace"), h->caps->chars);
        }
        if (rstr_get(d, f, "sha256").s) {
            hs(h, " \xC2\xB7 SHA-256 <code>");
            ht(h, rstr_get(d, f, "sha256"), 64);
            hs(h, "</code>");
        }
        hs(h, "</dd>");
    }
    if (rules != JDOC_NONE && jdoc_at(d, rules)->type == JDOC_OBJECT) {
        hs(h, "<dt>rules file</dt><dd>");
        hcode(h, rstr_get(d, rules, "path"), h->caps->chars);
        if (rstr_get(d, rules, "sha256").s) {
            hs(h, " \xC2\xB7 SHA-256 <code>");
            ht(h, rstr_get(d, rules, "sha256"), 64);
            hs(h, "</code>");
        }
        hs(h, "</dd>");
    } else {
        dl_row(h, "rules file", cstr("none (built-in rules only)"), false);
    }
    hs(h, "</dl></div><div><table class=\"thresholds\"><thead><tr><th>threshold</th>"
          "<th class=\"num\">value</th><th>a regression when</th></tr></thead><tbody>\n");
    threshold_row(h, "relative", "|raw \xE2\x88\x92 noise| / (raw + noise) of a field exceeds it");
    threshold_row(h, "absolute", "\xE2\x80\xA6 and |raw \xE2\x88\x92 noise| / compared exceeds it");
    threshold_row(h, "status", "the rate of status mismatches of an endpoint exceeds it");
    threshold_row(h, "error_rate", "the candidate's error rate minus the base's exceeds it");
    threshold_row(h, "latency_p99_ratio", "candidate p99 / base p99 of an endpoint exceeds it");
    hs(h, "</tbody></table></div></div></section>\n");
}

static void counts_section(struct html *h)
{
    static const struct {
        const char *key, *label;
    } rows[] = {
        {"transactions", "transactions read"},
        {"compared", "compared (base and candidate answered)"},
        {"identical", "identical"},
        {"different_raw", "different (base vs candidate)"},
        {"different_after_noise", "different after noise"},
        {"status_mismatches", "status mismatches"},
        {"noise_compared", "also answered by the noise reference"},
    };
    const struct jdoc *d = h->d;
    uint32_t totals = h->r->totals, skipped = rget(d, totals, "skipped");
    uint64_t all = rcount(d, totals, "transactions"), compared = rcount(d, totals, "compared");

    hs(h, "<section id=\"counts\"><h2>Counts</h2>\n<table class=\"counts\"><tbody>\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t n = rcount(d, totals, rows[i].key);
        hf(h, "<tr><th>%s</th>", rows[i].label);
        count_cell(h, n, i < 2 ? all : compared, i > 0);
        hs(h, "</tr>\n");
    }
    for (uint32_t k = rfirst(d, skipped); k != JDOC_NONE; k = jdoc_next(d, skipped, k)) {
        hs(h, "<tr><th>skipped: ");
        ht(h, rstr_at(d, k), h->caps->chars);
        hs(h, "</th>");
        count_cell(h, jshape_count(d, k + 1), all, true);
        hs(h, "</tr>\n");
    }
    hs(h, "</tbody></table></section>\n");
}

/* p50/p99 of a role at an endpoint, or NAN. */
static double endpoint_latency(const struct html *h, const struct report_endpoint *e,
                               const char *role, const char *pct)
{
    struct rstr t = report_role_target(h->r, role);
    uint32_t v = t.s && e->latency != JDOC_NONE ? rgetn(h->d, e->latency, t.s, t.len)
                                                : JDOC_NONE;
    return rhas_number(h->d, v, pct) ? rnumber(h->d, v, pct, 0) : NAN;
}

static uint64_t endpoint_errors(const struct html *h, const struct report_endpoint *e,
                                const char *role)
{
    struct rstr t = report_role_target(h->r, role);
    uint32_t v = t.s && e->errors != JDOC_NONE ? rgetn(h->d, e->errors, t.s, t.len)
                                               : JDOC_NONE;
    uint64_t sum = 0;
    for (uint32_t k = rfirst(h->d, v); k != JDOC_NONE; k = jdoc_next(h->d, v, k))
        sum += jshape_count(h->d, k + 1);
    return sum;
}

static void latency_pair_cell(struct html *h, double base, double cand)
{
    char a[32], b[32], text[80];

    report_fmt_us(a, sizeof a, base);
    report_fmt_us(b, sizeof b, cand);
    if (isnan(base) && isnan(cand))
        snprintf(text, sizeof text, "\xE2\x80\x94");
    else
        snprintf(text, sizeof text, "%s \xE2\x86\x92 %s", isnan(base) ? "?" : a,
                 isnan(cand) ? "?" : b);
    num_cell(h, isnan(cand) ? -1 : cand, text, NULL);
}

static bool has_details(const struct html *h, const struct report_endpoint *e)
{
    return rsize(h->d, e->fields) || rsize(h->d, e->changes);
}

static void endpoints_section(struct html *h)
{
    const struct report *r = h->r;
    size_t shown = r->endpoint_count < h->caps->endpoint_rows ? r->endpoint_count
                                                              : h->caps->endpoint_rows;

    hs(h, "<section id=\"endpoints\"><h2>Endpoints</h2>\n<p class=\"note\">Endpoints are "
          "grouped by method and path template. Click a column to sort. Rates are of the "
          "endpoint's compared transactions; latency is base \xE2\x86\x92 candidate.</p>\n"
          "<table class=\"sortable\" id=\"endpoint-table\"><thead><tr>");
    sort_head(h, "Endpoint", false);
    sort_head(h, "Requests", true);
    sort_head(h, "Compared", true);
    sort_head(h, "Status \xE2\x89\xA0", true);
    sort_head(h, "Body raw", true);
    sort_head(h, "Body noise", true);
    sort_head(h, "Body remaining", true);
    sort_head(h, "Headers remaining", true);
    sort_head(h, "p50", true);
    sort_head(h, "p99", true);
    sort_head(h, "Errors", true);
    sort_head(h, "Risk", true);
    hs(h, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < shown && !h->rc; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        uint64_t eb = endpoint_errors(h, e, "base"), ec = endpoint_errors(h, e, "candidate");
        char errors[64];

        hf(h, "<tr%s><td>", e->regression ? " class=\"reg\"" : "");
        if (has_details(h, e))
            hf(h, "<a href=\"#ep-%zu\">", i);
        hcode(h, e->name, h->caps->chars);
        if (has_details(h, e))
            hs(h, "</a>");
        hs(h, "</td>");
        count_cell(h, e->requests, 0, false);
        count_cell(h, e->compared, 0, false);
        count_cell(h, e->mismatches, e->compared, true);
        count_cell(h, e->body[0], e->compared, true);
        count_cell(h, e->body[1], e->compared, true);
        count_cell(h, e->body[2], e->compared, true);
        count_cell(h, e->headers[2], e->compared, true);
        latency_pair_cell(h, endpoint_latency(h, e, "base", "p50"),
                          endpoint_latency(h, e, "candidate", "p50"));
        latency_pair_cell(h, endpoint_latency(h, e, "base", "p99"),
                          endpoint_latency(h, e, "candidate", "p99"));
        snprintf(errors, sizeof errors, "%llu / %llu", (unsigned long long)eb,
                 (unsigned long long)ec);
        num_cell(h, (double)ec + (double)eb * 1e-9, errors, NULL);
        hf(h, "<td class=\"risk-cell\" data-v=\"%d\">", (int)e->risk * 2 + e->regression);
        risk_span(h, e->risk);
        if (e->regression)
            hs(h, " <span class=\"yes\">regression</span>");
        hs(h, "</td></tr>\n");
    }
    hs(h, "</tbody></table>\n");
    if (shown < r->endpoint_count)
        hf(h, "<p class=\"note\">%zu more endpoints are in report.json.</p>\n",
           r->endpoint_count - shown);
    hs(h, "</section>\n");
}

static void fields_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    size_t rows = 0, any = 0;

    hs(h, "<section id=\"fields\"><h2>Fields</h2>\n<p class=\"note\">Per JSON path (array "
          "indexes merged as <code>*</code>) and compared header: how often it differed base "
          "vs candidate (<em>raw</em>), base vs the noise reference (<em>noise</em>), and what "
          "remains once noise is cancelled. Bars: <span class=\"key k0\"></span>raw "
          "<span class=\"key k1\"></span>noise <span class=\"key k2\"></span>remaining.</p>\n");
    for (size_t i = 0; i < r->endpoint_count && i < h->caps->endpoint_rows && !h->rc; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        size_t shown = 0, total = rsize(d, e->fields);

        if (!has_details(h, e))
            continue;
        any++;
        hf(h, "<h3 id=\"ep-%zu\">", i);
        hcode(h, e->name, h->caps->chars);
        hs(h, " ");
        risk_span(h, e->risk);
        if (e->regression)
            hs(h, " <span class=\"yes\">regression</span>");
        hs(h, "</h3>\n");
        if (rsize(d, e->changes)) {
            hs(h, "<p>Status changes:");
            for (uint32_t c = rfirst(d, e->changes); c != JDOC_NONE;
                 c = jdoc_next(d, e->changes, c)) {
                uint32_t b = rget(d, c, "base"), k = rget(d, c, "candidate");
                hs(h, " <code>");
                if (b != JDOC_NONE && jdoc_at(d, b)->type == JDOC_NUMBER)
                    hf(h, "%lld", (long long)jshape_int(d, b));
                else
                    hs(h, "none");
                hs(h, " \xE2\x86\x92 ");
                if (k != JDOC_NONE && jdoc_at(d, k)->type == JDOC_NUMBER)
                    hf(h, "%lld", (long long)jshape_int(d, k));
                else
                    hs(h, "none");
                hf(h, "</code> \xC3\x97 %llu", (unsigned long long)rcount(d, c, "count"));
            }
            hs(h, "</p>\n");
        }
        if (!total)
            continue;
        hs(h, "<table class=\"sortable fields\"><thead><tr>");
        sort_head(h, "Field", false);
        sort_head(h, "Kind", false);
        sort_head(h, "Raw", true);
        sort_head(h, "Noise", true);
        sort_head(h, "Remaining", true);
        hs(h, "<th>Rates</th>");
        sort_head(h, "Risk", true);
        hs(h, "<th>Examples</th></tr></thead><tbody>\n");
        for (uint32_t f = rfirst(d, e->fields); f != JDOC_NONE && !h->rc;
             f = jdoc_next(d, e->fields, f)) {
            uint64_t raw = rcount(d, f, "raw"), noise = rcount(d, f, "noise");
            uint64_t remaining = rcount(d, f, "remaining");
            bool regression = rbool(d, f, "regression");
            enum report_risk risk = report_risk_parse(rstr_get(d, f, "risk"));
            uint32_t ids = rget(d, f, "examples");
            size_t n = 0;

            if (shown >= h->caps->fields_per_endpoint || rows >= h->caps->field_rows)
                break;
            shown++;
            rows++;
            hf(h, "<tr%s><td>", regression ? " class=\"reg\"" : "");
            if (rget(d, f, "path") != JDOC_NONE) {
                hcode(h, rstr_get(d, f, "path"), h->caps->chars);
            } else {
                hs(h, "header ");
                hcode(h, rstr_get(d, f, "header"), h->caps->chars);
            }
            hs(h, "</td><td class=\"kind\">");
            ht(h, rstr_get(d, f, "kind"), 40);
            hs(h, "</td>");
            count_cell(h, raw, e->compared, true);
            count_cell(h, noise, e->compared, true);
            count_cell(h, remaining, e->compared, true);
            hs(h, "<td>");
            if (!h->rc)
                h->rc = svg_rate_bars(h->out, report_rate(raw, e->compared),
                                      report_rate(noise, e->compared),
                                      report_rate(remaining, e->compared));
            hf(h, "</td><td class=\"risk-cell\" data-v=\"%d\">", (int)risk * 2 + regression);
            risk_span(h, risk);
            if (regression)
                hs(h, " <span class=\"yes\">regression</span>");
            hs(h, "</td><td>");
            for (uint32_t id = rfirst(d, ids); id != JDOC_NONE && n < 5;
                 id = jdoc_next(d, ids, id), n++) {
                unsigned long long tx = (unsigned long long)jshape_count(d, id);
                hf(h, "%s<a href=\"#ex-%zu-%llu\">%llu</a>", n ? " " : "", i, tx, tx);
            }
            hs(h, "</td></tr>\n");
        }
        hs(h, "</tbody></table>\n");
        if (shown < total)
            hf(h, "<p class=\"note\">%zu more fields of this endpoint are in report.json.</p>\n",
               total - shown);
    }
    if (!any)
        hs(h, "<p>No field differed.</p>\n");
    hs(h, "</section>\n");
}

/* ------------------------------------------------------------- latency */

static void histogram_chart(struct html *h)
{
    static const char *const roles[] = {"base", "candidate", "noise"};
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    struct svg_series series[3];
    double *xs[3] = {NULL, NULL, NULL}, *ys[3] = {NULL, NULL, NULL};
    double marks[3][2];
    static const char *const mark_labels[] = {"p50", "p99"};
    char labels[3][160];
    double x_min = INFINITY, x_max = 0, y_max = 0;
    size_t n = 0;

    for (size_t k = 0; k < 3; k++) {
        struct rstr name = report_role_target(r, roles[k]);
        uint32_t t = name.s ? rgetn(d, r->targets, name.s, name.len) : JDOC_NONE;
        uint32_t hist = rget(d, t, "histogram"), counts = rget(d, hist, "counts");
        uint32_t lat = rget(d, t, "latency_us");
        size_t m = 0, cap = rsize(d, counts);
        uint64_t total = 0;

        struct rstr scheme = rstr_get(d, hist, "scheme");
        bool current = rstr_is(scheme, HISTOGRAM_SCHEME);
        /* log2x8: what DIFF.json files carried before the histograms were
         * unified (docs/diff-format.md) */
        if (!cap || (!current && !rstr_is(scheme, "log2x8")))
            continue;
        xs[n] = calloc(cap, sizeof(double));
        ys[n] = calloc(cap, sizeof(double));
        if (!xs[n] || !ys[n]) {
            h->rc = ERR_NOMEM;
            n++;
            break;
        }
        for (uint32_t p = rfirst(d, counts); p != JDOC_NONE; p = jdoc_next(d, counts, p)) {
            uint32_t b = rfirst(d, p), c = b == JDOC_NONE ? JDOC_NONE : jdoc_next(d, p, b);
            if (c == JDOC_NONE)
                continue;
            uint64_t bucket = jshape_count(d, b);
            if (current ? bucket >= HISTOGRAM_BUCKETS - 1 : bucket > 8 * 40)
                continue; /* beyond 2^40 µs: not a latency */
            /* lower bound + 1, > 0 for the log scale */
            xs[n][m] = current ? (double)histogram_bucket_lower((unsigned)bucket) + 1
                               : pow(2.0, (double)bucket / 8.0);
            ys[n][m] = (double)jshape_count(d, c);
            total += jshape_count(d, c);
            m++;
        }
        for (size_t i = 0; i < m; i++) {
            ys[n][i] = total ? ys[n][i] / (double)total : 0;
            if (ys[n][i] > y_max)
                y_max = ys[n][i];
            if (xs[n][i] < x_min)
                x_min = xs[n][i];
            if (xs[n][i] * 1.0905 > x_max)
                x_max = xs[n][i] * 1.0905;
        }
        snprintf(labels[n], sizeof labels[n], "%s %.*s", roles[k],
                 (int)(name.len > 60 ? 60 : name.len), name.s);
        series[n] = (struct svg_series){labels[n], strlen(labels[n]), xs[n], ys[n], m, NULL,
                                        mark_labels, 0};
        if (rhas_number(d, lat, "p50") && rhas_number(d, lat, "p99")) {
            marks[n][0] = rnumber(d, lat, "p50", 0) + 1;
            marks[n][1] = rnumber(d, lat, "p99", 0) + 1;
            series[n].marks = marks[n];
            series[n].nmarks = 2;
        }
        n++;
    }
    if (!h->rc && n && y_max > 0) {
        struct svg_tick xt[10], yt[3];
        char ylab[3][16];
        struct svg_axes axes = {900, 240, "Latency distribution (share of requests per "
                                          "latency bucket, log scale)",
                                true, x_min / 1.2, x_max * 1.2, y_max * 1.15, xt, 0, yt, 3};
        axes.n_x_ticks = svg_us_ticks(axes.x_min, axes.x_max, xt, 10);
        for (int i = 0; i < 3; i++) {
            double v = axes.y_max * i / 2;
            snprintf(ylab[i], sizeof ylab[i], "%.3g%%", v * 100);
            yt[i] = (struct svg_tick){v, ylab[i]};
        }
        h->rc = svg_step_chart(h->out, &axes, series, n);
    }
    for (size_t k = 0; k < 3; k++) {
        free(xs[k]);
        free(ys[k]);
    }
}

static void range_chart(struct html *h)
{
    const struct report *r = h->r;
    size_t n = 0, cap = h->caps->chart_rows;
    struct svg_range_row *rows = calloc(cap ? cap : 1, sizeof *rows);
    double lo = INFINITY, hi = 0;
    static const char *const series[] = {"base", "candidate"};

    if (!rows) {
        h->rc = ERR_NOMEM;
        return;
    }
    for (size_t i = 0; i < r->endpoint_count && n < cap; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        struct svg_range_row *row = &rows[n];
        bool any = false;
        for (size_t k = 0; k < 2; k++) {
            double p50 = endpoint_latency(h, e, series[k], "p50");
            double p95 = endpoint_latency(h, e, series[k], "p95");
            double p99 = endpoint_latency(h, e, series[k], "p99");
            if (isnan(p50) || isnan(p99))
                continue;
            if (isnan(p95))
                p95 = p99;
            row->ranges[k] = (struct svg_range){true, p50 + 1, p95 + 1, p99 + 1};
            lo = p50 + 1 < lo ? p50 + 1 : lo;
            hi = p99 + 1 > hi ? p99 + 1 : hi;
            any = true;
        }
        if (!any)
            continue;
        row->label = e->name.s;
        row->label_len = e->name.len;
        n++;
    }
    if (n) {
        struct svg_tick xt[10];
        struct svg_axes axes = {900, 0, "Latency per endpoint: p50 to p99 (bar), p95 (tick); "
                                        "base above candidate; log scale",
                                true, lo / 1.5, hi * 1.5, 1, xt, 0, NULL, 0};
        axes.n_x_ticks = svg_us_ticks(axes.x_min, axes.x_max, xt, 10);
        hs(h, "<h3>Per endpoint</h3>\n");
        if (!h->rc)
            h->rc = svg_range_chart(h->out, &axes, series, 2, rows, n);
    }
    free(rows);
}

static void latency_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    static const char *const pcts[] = {"p50", "p90", "p95", "p99", "max"};

    hs(h, "<section id=\"latency\"><h2>Latency</h2>\n<table><thead><tr><th>target</th>"
          "<th>role</th><th class=\"num\">requests</th>");
    for (size_t i = 0; i < 5; i++)
        hf(h, "<th class=\"num\">%s</th>", pcts[i]);
    hs(h, "</tr></thead><tbody>\n");
    for (uint32_t k = rfirst(d, r->targets); k != JDOC_NONE; k = jdoc_next(d, r->targets, k)) {
        uint32_t lat = rget(d, k + 1, "latency_us");
        const char *role = report_role(r, rstr_at(d, k));
        hs(h, "<tr><td>");
        hcode(h, rstr_at(d, k), h->caps->chars);
        hf(h, "</td><td>%s</td>", role ? role : "\xE2\x80\x94");
        count_cell(h, rcount(d, k + 1, "requests"), 0, false);
        for (size_t i = 0; i < 5; i++) {
            char t[32] = "\xE2\x80\x94";
            if (rhas_number(d, lat, pcts[i]))
                report_fmt_us(t, sizeof t, rnumber(d, lat, pcts[i], 0));
            num_cell(h, rnumber(d, lat, pcts[i], -1), t, NULL);
        }
        hs(h, "</tr>\n");
    }
    hs(h, "</tbody></table>\n");
    histogram_chart(h);
    range_chart(h);
    hs(h, "</section>\n");
}

static void error_kinds(struct html *h, uint32_t map)
{
    const struct jdoc *d = h->d;
    bool first = true;

    for (uint32_t k = rfirst(d, map); k != JDOC_NONE; k = jdoc_next(d, map, k)) {
        if (!first)
            hs(h, ", ");
        ht(h, rstr_at(d, k), 60);
        hf(h, " %llu", (unsigned long long)jshape_count(d, k + 1));
        first = false;
    }
    if (first)
        hs(h, "none");
}

static void errors_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    size_t rows = 0;

    hs(h, "<section id=\"errors\"><h2>Errors</h2>\n<p class=\"note\">Requests that got no "
          "usable answer (timeouts, refused or reset connections), by target and kind.</p>\n"
          "<table><thead><tr><th>target</th><th>role</th><th class=\"num\">requests</th>"
          "<th class=\"num\">errors</th><th>kinds</th></tr></thead><tbody>\n");
    for (uint32_t k = rfirst(d, r->targets); k != JDOC_NONE; k = jdoc_next(d, r->targets, k)) {
        uint32_t errors = rget(d, k + 1, "errors");
        uint64_t sum = 0, requests = rcount(d, k + 1, "requests");
        const char *role = report_role(r, rstr_at(d, k));
        for (uint32_t e = rfirst(d, errors); e != JDOC_NONE; e = jdoc_next(d, errors, e))
            sum += jshape_count(d, e + 1);
        hs(h, "<tr><td>");
        hcode(h, rstr_at(d, k), h->caps->chars);
        hf(h, "</td><td>%s</td>", role ? role : "\xE2\x80\x94");
        count_cell(h, requests, 0, false);
        count_cell(h, sum, requests, true);
        hs(h, "<td>");
        error_kinds(h, errors);
        hs(h, "</td></tr>\n");
    }
    hs(h, "</tbody></table>\n");
    for (size_t i = 0; i < r->endpoint_count && rows < h->caps->endpoint_rows; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        if (!endpoint_errors(h, e, "base") && !endpoint_errors(h, e, "candidate"))
            continue;
        if (!rows)
            hs(h, "<h3>Per endpoint</h3>\n<table class=\"sortable\"><thead><tr>"
                  "<th data-type=\"text\"><button type=\"button\">Endpoint</button></th>"
                  "<th>base</th><th>candidate</th></tr></thead><tbody>\n");
        rows++;
        hs(h, "<tr><td>");
        hcode(h, e->name, h->caps->chars);
        hs(h, "</td>");
        static const char *const roles[] = {"base", "candidate"};
        for (size_t k = 0; k < 2; k++) {
            struct rstr t = report_role_target(r, roles[k]);
            hs(h, "<td>");
            error_kinds(h, t.s && e->errors != JDOC_NONE ? rgetn(d, e->errors, t.s, t.len)
                                                          : JDOC_NONE);
            hs(h, "</td>");
        }
        hs(h, "</tr>\n");
    }
    if (rows)
        hs(h, "</tbody></table>\n");
    hs(h, "</section>\n");
}

/* ------------------------------------------------------------- context */

static const char *status_class(struct rstr status)
{
    if (rstr_is(status, "ok"))
        return "st-ok";
    if (rstr_is(status, "failed"))
        return "st-failed";
    if (rstr_is(status, "error"))
        return "st-error";
    return "st-other";
}

static void ms_cell(struct html *h, const struct jdoc *c, uint32_t obj, const char *key)
{
    char t[32] = "\xE2\x80\x94";
    if (rhas_number(c, obj, key))
        report_fmt_us(t, sizeof t, rnumber(c, obj, key, 0) * 1000);
    num_cell(h, rnumber(c, obj, key, -1), t, NULL);
}

/* A numeric element of an array (a series point's member), 0 when absent. */
static double element_number(const struct jdoc *c, uint32_t array, size_t index)
{
    uint32_t v = rfirst(c, array);
    for (size_t i = 0; i < index && v != JDOC_NONE; i++)
        v = jdoc_next(c, array, v);
    return v != JDOC_NONE && jdoc_at(c, v)->type == JDOC_NUMBER ? jshape_number(c, v) : 0;
}

/* Series slot of a target: base, candidate, noise in the page's colours,
 * else in order of appearance; -1 when the three are taken. */
static int series_slot(const struct report *r, struct rstr name, bool used[3])
{
    const char *role = report_role(r, name);
    int slot = !role ? -1 : strcmp(role, "base") == 0 ? 0 : strcmp(role, "candidate") == 0 ? 1 : 2;
    if (slot >= 0 && !used[slot])
        return slot;
    for (int k = 0; k < 3; k++)
        if (!used[k])
            return k;
    return -1;
}

/* Per target, over the run: the share of failed requests and the p99
 * latency (context timeline.series), with the fault windows shaded. */
static void series_charts(struct html *h, const struct svg_span *windows, size_t nw, double end)
{
    const struct report *r = h->r;
    const struct jdoc *c = &r->ctx;
    uint32_t series = rget(c, r->timeline, "series"), targets = rget(c, series, "targets");
    double bucket = rnumber(c, series, "bucket_ms", 0);
    struct svg_series s[3];
    double *x[3] = {0}, *failed[3] = {0}, *p99[3] = {0}, p99_max = 0;
    bool used[3] = {false, false, false};
    size_t n = 0;

    if (!rsize(c, targets) || end <= 0)
        return;
    memset(s, 0, sizeof s);
    for (uint32_t t = rfirst(c, targets); t != JDOC_NONE && n < 3; t = jdoc_next(c, targets, t)) {
        struct rstr name = rstr_get(c, t, "name");
        uint32_t points = rget(c, t, "points");
        size_t np = rsize(c, points), i = 0;
        int slot = series_slot(r, name, used);
        if (slot < 0)
            continue;
        used[slot] = true;
        /* Each bucket is drawn across its width; a gap where no request
         * was sent. */
        x[slot] = calloc(3 * np + 1, sizeof(double));
        failed[slot] = calloc(3 * np + 1, sizeof(double));
        p99[slot] = calloc(3 * np + 1, sizeof(double));
        if (!x[slot] || !failed[slot] || !p99[slot]) {
            h->rc = ERR_NOMEM;
            goto out;
        }
        double previous_end = -1;
        for (uint32_t p = rfirst(c, points); p != JDOC_NONE; p = jdoc_next(c, points, p)) {
            double requests = element_number(c, p, 1), at = element_number(c, p, 0);
            double rate = requests > 0 ? 100.0 * element_number(c, p, 2) / requests : 0;
            double latency = element_number(c, p, 4);
            if (previous_end >= 0 && at > previous_end + bucket / 2) {
                x[slot][i] = previous_end;
                failed[slot][i] = p99[slot][i] = NAN;
                i++;
            }
            x[slot][i] = at;
            x[slot][i + 1] = previous_end = at + bucket;
            failed[slot][i] = failed[slot][i + 1] = rate;
            p99[slot][i] = p99[slot][i + 1] = latency;
            i += 2;
            if (latency > p99_max)
                p99_max = latency;
        }
        s[slot] = (struct svg_series){name.s, name.len, x[slot], NULL, i, NULL, NULL, 0};
        n++;
    }
    /* Slots in colour order; an unused one (fewer targets) draws nothing. */
    size_t count = used[2] ? 3 : used[1] ? 2 : 1;
    struct svg_tick xt[11], yt[3];
    char xl[11][32], yl[3][32];
    for (size_t i = 0; i <= 10; i++) {
        report_fmt_us(xl[i], sizeof xl[i], end * (double)i / 10 * 1000);
        xt[i] = (struct svg_tick){end * (double)i / 10, xl[i]};
    }
    hs(h, "<h3>Targets over the run</h3>\n<p class=\"note\">Per target, in buckets of ");
    report_fmt_us(yl[0], sizeof yl[0], bucket * 1000);
    htc(h, yl[0]);
    hs(h, " by when requests were sent: the share that failed (no answer, or a 5xx) and the "
          "p99 latency. Fault windows are shaded.</p>\n");
    for (size_t k = 0; k < 3; k++)
        s[k].y = failed[k];
    for (size_t i = 0; i < 3; i++) {
        snprintf(yl[i], sizeof yl[i], "%.0f%%", 50.0 * (double)i);
        yt[i] = (struct svg_tick){50.0 * (double)i, yl[i]};
    }
    struct svg_axes rate_axes = {900, 180, "Failed requests per target (%)", false, 0, end, 100,
                                 xt, 11, yt, 3};
    hs(h, "<p class=\"note\">Failed requests, % of those sent</p>\n");
    if (!h->rc)
        h->rc = svg_line_chart(h->out, &rate_axes, s, count, windows, nw);
    for (size_t k = 0; k < 3; k++)
        s[k].y = p99[k];
    if (p99_max <= 0)
        p99_max = 1;
    for (size_t i = 0; i < 3; i++) {
        report_fmt_us(yl[i], sizeof yl[i], p99_max * (double)i / 2 * 1000);
        yt[i] = (struct svg_tick){p99_max * (double)i / 2, yl[i]};
    }
    struct svg_axes latency_axes = {900, 180, "p99 latency per target", false, 0, end,
                                    p99_max * 1.05, xt, 11, yt, 3};
    hs(h, "<p class=\"note\">Latency, p99</p>\n");
    if (!h->rc)
        h->rc = svg_line_chart(h->out, &latency_axes, s, count, windows, nw);
out:
    for (size_t k = 0; k < 3; k++) {
        free(x[k]);
        free(failed[k]);
        free(p99[k]);
    }
}

/* Per fault and target (context timeline.faults[].impact): what happened
 * while the fault was in force, and how long recovery took. */
static void impact_table(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *c = &r->ctx;
    uint32_t faults = rget(c, r->timeline, "faults");
    size_t rows = 0;

    for (uint32_t f = rfirst(c, faults); f != JDOC_NONE; f = jdoc_next(c, faults, f))
        rows += rsize(c, rget(c, f, "impact"));
    if (!rows)
        return;
    hs(h, "<h3>What each target did during each fault</h3>\n<p class=\"note\">Requests in "
          "flight during the window; failed: no answer or a 5xx; hung: slower than 1 s or "
          "timed out; recovery: from the end of the window to the end of the last failed "
          "request after it (none: never recovered before the next fault or the end).</p>\n"
          "<table><thead><tr><th>fault</th><th>target</th><th class=\"num\">requests</th>"
          "<th class=\"num\">failed</th><th>errors</th><th class=\"num\">hung</th>"
          "<th class=\"num\">p99</th><th class=\"num\">recovery</th></tr></thead><tbody>\n");
    rows = 0;
    for (uint32_t f = rfirst(c, faults); f != JDOC_NONE; f = jdoc_next(c, faults, f)) {
        uint32_t impact = rget(c, f, "impact");
        for (uint32_t t = rfirst(c, impact); t != JDOC_NONE && rows < h->caps->context_rows;
             t = jdoc_next(c, impact, t), rows++) {
            uint32_t errors = rget(c, t, "errors");
            char text[48];
            hs(h, "<tr>");
            td_code(h, rstr_get(c, f, "name"), h->caps->chars);
            td_code(h, rstr_get(c, t, "target"), h->caps->chars);
            count_cell(h, rcount(c, t, "requests"), 0, false);
            count_cell(h, rcount(c, t, "failed"), rcount(c, t, "requests"), true);
            hs(h, "<td>");
            for (uint32_t k = rfirst(c, errors); k != JDOC_NONE; k = jdoc_next(c, errors, k)) {
                if (k != rfirst(c, errors))
                    hs(h, ", ");
                hcode(h, rstr_at(c, k), 40);
                report_fmt_count(text, sizeof text, jshape_count(c, k + 1));
                hs(h, " ");
                htc(h, text);
            }
            hs(h, "</td>");
            count_cell(h, rcount(c, t, "hung"), 0, false);
            ms_cell(h, c, t, "p99_ms");
            ms_cell(h, c, t, "recovery_ms");
            hs(h, "</tr>\n");
        }
    }
    hs(h, "</tbody></table>\n");
}

static void timeline_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *c = &r->ctx;
    uint32_t steps = rget(c, r->timeline, "steps"), faults = rget(c, r->timeline, "faults");
    uint32_t events = rget(c, r->timeline, "events");
    size_t ns = rsize(c, steps), nf = rsize(c, faults), ne = rsize(c, events), i;
    size_t cap = h->caps->timeline_rows;
    struct svg_span *lanes = calloc(ns < cap ? ns + 1 : cap + 1, sizeof *lanes);
    struct svg_span *windows = calloc(nf < cap ? nf + 1 : cap + 1, sizeof *windows);
    struct svg_span *instants = calloc(ne < cap ? ne + 1 : cap + 1, sizeof *instants);
    double end = rnumber(c, r->timeline, "duration_ms", 0);
    size_t nl = 0, nw = 0, ni = 0;

    if (!lanes || !windows || !instants) {
        h->rc = ERR_NOMEM;
        goto out;
    }
    for (uint32_t s = rfirst(c, steps); s != JDOC_NONE && nl < cap; s = jdoc_next(c, steps, s)) {
        struct rstr name = rstr_get(c, s, "name");
        double st = rnumber(c, s, "start_ms", 0), en = rnumber(c, s, "end_ms", -1);
        lanes[nl] = (struct svg_span){st, en, name.s, name.len,
                                      status_class(rstr_get(c, s, "status")), nl};
        if (en > end)
            end = en;
        if (st > end)
            end = st;
        nl++;
    }
    for (uint32_t f = rfirst(c, faults); f != JDOC_NONE && nw < cap; f = jdoc_next(c, faults, f)) {
        struct rstr name = rstr_get(c, f, "name");
        double st = rnumber(c, f, "start_ms", 0), en = rnumber(c, f, "end_ms", -1);
        windows[nw++] = (struct svg_span){st, en, name.s, name.len, "fault", 0};
        if (en > end)
            end = en;
    }
    for (uint32_t e = rfirst(c, events); e != JDOC_NONE && ni < cap; e = jdoc_next(c, events, e)) {
        struct rstr msg = rstr_get(c, e, "message");
        if (!msg.s)
            msg = rstr_get(c, e, "kind");
        instants[ni++] = (struct svg_span){rnumber(c, e, "at_ms", 0), 0, msg.s, msg.len, "event",
                                           0};
    }
    hs(h, "<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"note\">Steps of the run "
          "(green ok, red failed), fault windows (amber), events (dashed).</p>\n");
    if (nl && end > 0) {
        struct svg_tick xt[11];
        char xl[11][32];
        struct svg_axes axes = {900, 0, "Timeline of the run", false, 0, end, 1, xt, 11,
                                NULL, 0};
        for (i = 0; i <= 10; i++) {
            report_fmt_us(xl[i], sizeof xl[i], end * (double)i / 10 * 1000);
            xt[i] = (struct svg_tick){end * (double)i / 10, xl[i]};
        }
        if (!h->rc)
            h->rc = svg_timeline(h->out, &axes, lanes, nl, windows, nw, instants, ni);
    }
    hs(h, "<table><thead><tr><th>step</th><th>kind</th><th>status</th><th class=\"num\">start"
          "</th><th class=\"num\">end</th><th>message</th></tr></thead><tbody>\n");
    i = 0;
    for (uint32_t s = rfirst(c, steps); s != JDOC_NONE && i < h->caps->context_rows;
         s = jdoc_next(c, steps, s), i++) {
        hs(h, "<tr><td>");
        for (uint64_t k = rcount(c, s, "depth"); k > 0 && k < 10; k--)
            hs(h, "\xE2\x80\x83");
        hcode(h, rstr_get(c, s, "name"), h->caps->chars);
        hs(h, "</td>");
        td_text(h, rstr_get(c, s, "kind"), 40);
        td_text(h, rstr_get(c, s, "status"), 40);
        ms_cell(h, c, s, "start_ms");
        ms_cell(h, c, s, "end_ms");
        hs(h, "<td>");
        ht(h, rstr_get(c, s, "message"), h->caps->chars * 2);
        hs(h, "</td></tr>\n");
    }
    hs(h, "</tbody></table>\n");
    if (nf) {
        hs(h, "<h3>Faults</h3>\n<table><thead><tr><th>fault</th><th>kind</th><th>between</th>"
              "<th class=\"num\">start</th><th class=\"num\">end</th><th>detail</th></tr>"
              "</thead><tbody>\n");
        i = 0;
        for (uint32_t f = rfirst(c, faults); f != JDOC_NONE && i < h->caps->context_rows;
             f = jdoc_next(c, faults, f), i++) {
            hs(h, "<tr>");
            td_code(h, rstr_get(c, f, "name"), h->caps->chars);
            td_text(h, rstr_get(c, f, "kind"), 40);
            td_text(h, rstr_get(c, f, "target"), h->caps->chars);
            ms_cell(h, c, f, "start_ms");
            ms_cell(h, c, f, "end_ms");
            hs(h, "<td>");
            ht(h, rstr_get(c, f, "detail"), h->caps->chars * 2);
            hs(h, "</td></tr>\n");
        }
        hs(h, "</tbody></table>\n");
    }
    series_charts(h, windows, nw, end);
    impact_table(h);
    if (ne) {
        hs(h, "<h3>Events</h3>\n<ul>");
        i = 0;
        for (uint32_t e = rfirst(c, events); e != JDOC_NONE && i < h->caps->context_rows;
             e = jdoc_next(c, events, e), i++) {
            char t[32];
            report_fmt_us(t, sizeof t, rnumber(c, e, "at_ms", 0) * 1000);
            hf(h, "<li>at %s: ", t);
            hcode(h, rstr_get(c, e, "kind"), 60);
            hs(h, " ");
            ht(h, rstr_get(c, e, "message"), h->caps->chars * 2);
            hs(h, "</li>");
        }
        hs(h, "</ul>\n");
    }
    hs(h, "</section>\n");
out:
    free(lanes);
    free(windows);
    free(instants);
}

static void number_text(struct html *h, const struct jdoc *c, uint32_t obj, const char *key)
{
    uint32_t v = rget(c, obj, key);
    if (v == JDOC_NONE || jdoc_at(c, v)->type != JDOC_NUMBER)
        hs(h, "\xE2\x80\x94");
    else if (jdoc_at(c, v)->len > 12)
        /* A measured ratio such as 0.3188976377952756: a reviewer reads six
         * significant digits; the exact value stays in report.json. */
        hf(h, "%.6g", jdoc_number_double(jdoc_at(c, v)));
    else
        ht(h, (struct rstr){jdoc_at(c, v)->text, jdoc_at(c, v)->len}, 40);
}

static void assertions_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *c = &r->ctx;
    uint32_t checks = rget(c, r->assertions, "checks");
    size_t i = 0, passed = 0;

    for (uint32_t x = rfirst(c, checks); x != JDOC_NONE; x = jdoc_next(c, checks, x))
        passed += rbool(c, x, "passed");
    hf(h, "<section id=\"assertions\"><h2>Assertions</h2>\n<p>%zu passed, %zu failed.</p>\n"
          "<table><thead><tr><th>step</th><th>metric</th><th class=\"num\">value</th>"
          "<th class=\"num\">min</th><th class=\"num\">max</th><th>result</th><th>message</th>"
          "</tr></thead><tbody>\n",
       passed, rsize(c, checks) - passed);
    for (uint32_t x = rfirst(c, checks); x != JDOC_NONE && i < h->caps->context_rows;
         x = jdoc_next(c, checks, x), i++) {
        bool ok = rbool(c, x, "passed");
        hf(h, "<tr%s>", ok ? "" : " class=\"reg\"");
        td_text(h, rstr_get(c, x, "step"), h->caps->chars);
        td_code(h, rstr_get(c, x, "metric"), h->caps->chars);
        hs(h, "<td class=\"num\">");
        number_text(h, c, x, "value");
        hs(h, "</td><td class=\"num\">");
        number_text(h, c, x, "min");
        hs(h, "</td><td class=\"num\">");
        number_text(h, c, x, "max");
        hf(h, "</td><td>%s</td><td>", ok ? "passed" : "<span class=\"yes\">failed</span>");
        ht(h, rstr_get(c, x, "message"), h->caps->chars * 2);
        hs(h, "</td></tr>\n");
    }
    hs(h, "</tbody></table></section>\n");
}

static void database_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *c = &r->ctx;
    uint32_t db = r->database, schema = rget(c, db, "schema"), tables = rget(c, db, "tables");
    size_t i = 0;

    hs(h, "<section id=\"database\"><h2>Database</h2>\n<p>");
    if (rget(c, db, "base") != JDOC_NONE) {
        hs(h, "Base ");
        hcode(h, rstr_get(c, db, "base"), h->caps->chars);
        hs(h, ", candidate ");
        hcode(h, rstr_get(c, db, "candidate"), h->caps->chars);
        hs(h, ". ");
    }
    ht(h, rstr_get(c, db, "summary"), 600);
    hf(h, "%s</p>\n", rbool(c, db, "regression") ? " <span class=\"yes\">regression</span>" : "");
    if (rsize(c, schema)) {
        hs(h, "<h3>Schema</h3>\n<table><thead><tr><th>change</th><th>object</th><th>detail</th>"
              "<th>regression</th></tr></thead><tbody>\n");
        for (uint32_t x = rfirst(c, schema); x != JDOC_NONE && i < h->caps->context_rows;
             x = jdoc_next(c, schema, x), i++) {
            hs(h, "<tr>");
            td_text(h, rstr_get(c, x, "kind"), 60);
            td_code(h, rstr_get(c, x, "object"), h->caps->chars);
            td_text(h, rstr_get(c, x, "detail"), h->caps->chars * 2);
            hf(h, "<td>%s</td></tr>\n",
               rbool(c, x, "regression") ? "<span class=\"yes\">yes</span>" : "no");
        }
        hs(h, "</tbody></table>\n");
    }
    if (rsize(c, tables)) {
        hs(h, "<h3>Rows</h3>\n<table class=\"sortable\"><thead><tr>");
        sort_head(h, "Table", false);
        sort_head(h, "Rows base", true);
        sort_head(h, "Rows candidate", true);
        sort_head(h, "Changed", true);
        sort_head(h, "Missing", true);
        sort_head(h, "Extra", true);
        hs(h, "<th>columns</th><th>regression</th></tr></thead><tbody>\n");
        i = 0;
        for (uint32_t x = rfirst(c, tables); x != JDOC_NONE && i < h->caps->context_rows;
             x = jdoc_next(c, tables, x), i++) {
            uint32_t cols = rget(c, x, "columns");
            bool first = true;
            hs(h, "<tr><td>");
            hcode(h, rstr_get(c, x, "table"), h->caps->chars);
            hs(h, "</td>");
            count_cell(h, rcount(c, x, "rows_base"), 0, false);
            count_cell(h, rcount(c, x, "rows_candidate"), 0, false);
            count_cell(h, rcount(c, x, "changed"), 0, false);
            count_cell(h, rcount(c, x, "missing"), 0, false);
            count_cell(h, rcount(c, x, "extra"), 0, false);
            hs(h, "<td>");
            for (uint32_t k = rfirst(c, cols); k != JDOC_NONE; k = jdoc_next(c, cols, k)) {
                hs(h, first ? "" : ", ");
                hcode(h, rstr_get(c, k, "column"), 60);
                hf(h, " %llu", (unsigned long long)rcount(c, k, "changed"));
                first = false;
            }
            hf(h, "</td><td>%s</td></tr>\n",
               rbool(c, x, "regression") ? "<span class=\"yes\">yes</span>" : "no");
        }
        hs(h, "</tbody></table>\n");
        /* examples of differing rows */
        i = 0;
        for (uint32_t x = rfirst(c, tables); x != JDOC_NONE; x = jdoc_next(c, tables, x)) {
            uint32_t ex = rget(c, x, "examples");
            for (uint32_t e = rfirst(c, ex); e != JDOC_NONE && i < h->caps->context_rows;
                 e = jdoc_next(c, ex, e), i++) {
                if (i == 0)
                    hs(h, "<h3>Differing rows</h3>\n<table><thead><tr><th>table</th><th>key</th>"
                          "<th>column</th><th>base</th><th>candidate</th></tr></thead><tbody>\n");
                hs(h, "<tr>");
                td_code(h, rstr_get(c, x, "table"), 60);
                td_code(h, rstr_get(c, e, "key"), h->caps->chars);
                td_code(h, rstr_get(c, e, "column"), 60);
                td_code(h, rstr_get(c, e, "base"), h->caps->chars);
                td_code(h, rstr_get(c, e, "candidate"), h->caps->chars);
                hs(h, "</tr>\n");
            }
        }
        if (i)
            hs(h, "</tbody></table>\n");
    }
    hs(h, "</section>\n");
}

/* --------------------------------------------------------------- rules */

static void rules_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    size_t i = 0, total = rsize(d, r->rules);

    hs(h, "<section id=\"rules\"><h2>Rules</h2>\n<p class=\"note\">Every rule of the rules "
          "file and every built-in rule with how often it matched: a rule that matched nothing "
          "(or everything) is worth a second look.</p>\n");
    if (!total) {
        hs(h, "<p>The DIFF.json lists no rules.</p>\n");
    } else {
        hs(h, "<table class=\"sortable\"><thead><tr>");
        sort_head(h, "Rule", false);
        sort_head(h, "Where", false);
        sort_head(h, "Kind", false);
        sort_head(h, "Pattern", false);
        sort_head(h, "Endpoint", false);
        sort_head(h, "Hits", true);
        hs(h, "</tr></thead><tbody>\n");
        for (uint32_t x = rfirst(d, r->rules); x != JDOC_NONE && i < h->caps->rule_rows;
             x = jdoc_next(d, r->rules, x), i++) {
            uint64_t hits = rcount(d, x, "hits");
            char t[48];
            hs(h, "<tr>");
            td_code(h, rstr_get(d, x, "id"), 60);
            td_text(h, rstr_get(d, x, "where"), h->caps->chars);
            td_text(h, rstr_get(d, x, "kind"), 40);
            td_code(h, rstr_get(d, x, "pattern"), h->caps->chars);
            td_code(h, rstr_get(d, x, "endpoint"), h->caps->chars);
            report_fmt_count(t, sizeof t, hits);
            hf(h, "<td class=\"num%s\" data-v=\"%llu\">%s%s</td></tr>\n",
               hits ? "" : " zero-hits", (unsigned long long)hits, t,
               hits ? "" : " (matched nothing)");
        }
        hs(h, "</tbody></table>\n");
        if (i < total)
            hf(h, "<p class=\"note\">%zu more rules are in report.json.</p>\n", total - i);
    }
    if (r->redaction != JDOC_NONE) {
        uint32_t headers = rget(d, r->redaction, "headers");
        uint32_t paths = rget(d, r->redaction, "json_paths");
        hs(h, "<h3>Redaction</h3>\n<p>Secrets are replaced by keyed fingerprints "
              "(<code>[redacted:hmac:\xE2\x80\xA6]</code>) before anything is written; equal "
              "secrets keep equal fingerprints. Headers:");
        for (uint32_t x = rfirst(d, headers); x != JDOC_NONE; x = jdoc_next(d, headers, x)) {
            hs(h, " ");
            hcode(h, rstr_at(d, x), 80);
        }
        hs(h, "; JSON paths:");
        for (uint32_t x = rfirst(d, paths); x != JDOC_NONE; x = jdoc_next(d, paths, x)) {
            hs(h, " ");
            hcode(h, rstr_at(d, x), 80);
        }
        hf(h, "; %llu values redacted.</p>\n",
           (unsigned long long)rcount(d, r->redaction, "values_redacted"));
    }
    if (r->caps != JDOC_NONE) {
        uint32_t hit = rget(d, r->caps, "hit");
        hs(h, "<h3>Caps</h3>\n<p class=\"note\">DIFF.json keeps bounded tables and samples; "
              "how often each cap left something out:</p><p>");
        static const char *const names[] = {"endpoints", "fields_per_endpoint",
                                            "examples_per_endpoint", "examples_per_field",
                                            "example_body_bytes"};
        for (size_t k = 0; k < 5; k++)
            hf(h, "%s<code>%s</code> %llu (left out %llu times)", k ? "; " : "", names[k],
               (unsigned long long)rcount(d, r->caps, names[k]),
               (unsigned long long)rcount(d, hit, names[k]));
        hs(h, "</p>\n");
    }
    hs(h, "</section>\n");
}

/* One argument quoted for a POSIX shell. */
static void shell_word(struct html *h, struct rstr s)
{
    bool plain = s.len > 0;
    for (size_t i = 0; i < s.len && plain; i++) {
        char c = s.s[i];
        plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                strchr("-_./=:,+@%", c);
    }
    if (plain) {
        ht(h, s, 0);
        return;
    }
    hs(h, "'");
    size_t start = 0;
    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.s[i] == '\'') {
            ht(h, (struct rstr){s.s + start, i - start}, 0);
            if (i < s.len)
                hs(h, "'\\''");
            start = i + 1;
        }
    }
    hs(h, "'");
}

static void reproduce_section(struct html *h)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    uint32_t argv = rget(d, r->inputs, "reproduce");
    size_t total = 0;

    hs(h, "<section id=\"reproduce\"><h2>Reproduce</h2>\n");
    if (rsize(d, argv)) {
        hs(h, "<p>The diff was made by:</p>\n<pre class=\"cmd\">");
        for (uint32_t a = rfirst(d, argv); a != JDOC_NONE && total < 64 * 1024;
             a = jdoc_next(d, argv, a)) {
            struct rstr s = rstr_at(d, a);
            if (a != rfirst(d, argv))
                hs(h, " ");
            shell_word(h, s);
            total += s.len;
        }
        hs(h, "</pre>\n");
    }
    hs(h, "<p>This report, from it:</p>\n<pre class=\"cmd\">rehearse report ");
    shell_word(h, cstr(d->name));
    hs(h, " -o DIR</pre>\n<p>Examples name their transaction ids: <code>rehearse trace show"
          "</code> lists the captured transactions with their ids.</p>\n</section>\n");
}

/* ------------------------------------------------------------ examples */

/* The header names compared at endpoint e that differed (for highlighting). */
static void differing_headers(struct jout *j, const struct jdoc *d, const struct report_endpoint *e)
{
    jout_array_inline(j);
    for (uint32_t f = rfirst(d, e->fields); f != JDOC_NONE; f = jdoc_next(d, e->fields, f)) {
        struct rstr name = rstr_get(d, f, "header");
        if (name.s && rcount(d, f, "raw"))
            jout_string(j, name.s, name.len);
    }
    jout_end(j);
}

/* Cut s to at most max bytes at a character boundary (a multiple of 4 for
 * base64). */
static size_t cut_length(struct rstr s, size_t max, bool base64)
{
    size_t n = s.len <= max ? s.len : max;
    if (n == s.len)
        return n;
    if (base64)
        return n - n % 4;
    while (n > 0 && ((unsigned char)s.s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static void write_response(struct jout *j, const struct report *r, uint32_t resp,
                           const char *role)
{
    const struct jdoc *d = &r->diff;
    struct rstr body = rstr_get(d, resp, "body"), enc = rstr_get(d, resp, "body_encoding");
    struct rstr target = report_role_target(r, role);
    uint32_t headers = rget(d, resp, "headers");

    jout_object(j);
    jout_key(j, "role");
    jout_cstring(j, role);
    if (target.s) {
        jout_key(j, "target");
        jout_string(j, target.s, target.len);
    }
    jout_key(j, "status");
    if (rget(d, resp, "status") != JDOC_NONE)
        jout_jdoc(j, d, rget(d, resp, "status"));
    else
        jout_null(j);
    jout_key(j, "headers");
    jout_array(j);
    for (uint32_t p = rfirst(d, headers); p != JDOC_NONE; p = jdoc_next(d, headers, p)) {
        uint32_t n = rfirst(d, p), v = n == JDOC_NONE ? JDOC_NONE : jdoc_next(d, p, n);
        struct rstr name = rstr_at(d, n), value = rstr_at(d, v);
        jout_array_inline(j);
        jout_string(j, name.s ? name.s : "", name.len);
        jout_string(j, value.s ? value.s : "", value.len > 4096 ? 4096 : value.len);
        jout_end(j);
    }
    jout_end(j);
    jout_key(j, "body");
    if (body.s) {
        size_t keep = cut_length(body, BODY_BYTES, rstr_is(enc, "base64"));
        jout_string(j, body.s, keep);
        if (keep < body.len) {
            jout_key(j, "cut");
            jout_uint(j, body.len - keep);
        }
    } else {
        jout_null(j);
    }
    jout_key(j, "encoding");
    if (enc.s)
        jout_string(j, enc.s, enc.len);
    else
        jout_cstring(j, "json");
    jout_key(j, "truncated");
    jout_bool(j, rbool(d, resp, "truncated"));
    if (rget(d, resp, "body_size") != JDOC_NONE) {
        jout_key(j, "size");
        jout_uint(j, rcount(d, resp, "body_size"));
    }
    if (rstr_get(d, resp, "body_sha256").s) {
        jout_key(j, "sha256");
        struct rstr sha = rstr_get(d, resp, "body_sha256");
        jout_string(j, sha.s, sha.len > 64 ? 64 : sha.len);
    }
    jout_end(j);
}

static int write_finding(struct buf *out, const struct report *r, size_t ei, uint32_t x)
{
    static const char *const roles[] = {"base", "candidate", "noise", "captured"};
    static const char *const lists[] = {"kinds", "paths", "noise_paths"};
    const struct jdoc *d = &r->diff;
    const struct report_endpoint *e = &r->endpoints[ei];
    uint32_t patch = rget(d, x, "patch");
    struct jout j;

    jout_init(&j, out, 0, JSONW_HTML_SAFE);
    jout_object(&j);
    jout_key(&j, "e");
    jout_uint(&j, ei);
    jout_key(&j, "endpoint");
    jout_string(&j, e->name.s, e->name.len);
    jout_key(&j, "tx");
    jout_uint(&j, rcount(d, x, "tx"));
    if (rget(d, x, "conn") != JDOC_NONE) {
        jout_key(&j, "conn");
        jout_uint(&j, rcount(d, x, "conn"));
    }
    if (rstr_get(d, x, "method").s) {
        jout_key(&j, "method");
        jout_string(&j, rstr_get(d, x, "method").s, rstr_get(d, x, "method").len);
    }
    if (rstr_get(d, x, "target").s) {
        jout_key(&j, "target");
        jout_string(&j, rstr_get(d, x, "target").s, rstr_get(d, x, "target").len);
    }
    for (size_t i = 0; i < 3; i++) {
        uint32_t v = rget(d, x, lists[i]);
        jout_key(&j, lists[i]);
        jout_array_inline(&j);
        for (uint32_t p = rfirst(d, v); p != JDOC_NONE; p = jdoc_next(d, v, p))
            jout_string(&j, jdoc_at(d, p)->text ? jdoc_at(d, p)->text : "", jdoc_at(d, p)->len);
        jout_end(&j);
    }
    jout_key(&j, "headers");
    differing_headers(&j, d, e);
    if (patch != JDOC_NONE && jdoc_at(d, patch)->type == JDOC_ARRAY) {
        struct buf op;
        buf_init(&op, 2 * BODY_BYTES);
        jout_key(&j, "patch");
        jout_array(&j);
        for (uint32_t o = rfirst(d, patch); o != JDOC_NONE && !j.rc; o = jdoc_next(d, patch, o)) {
            buf_reset(&op);
            if (jdoc_write(&op, d, o, 0, 0) == 0)
                jout_string(&j, op.data, op.len);
            else
                jout_cstring(&j, "(an operation too large to show)");
        }
        jout_end(&j);
        buf_release(&op);
    }
    jout_key(&j, "responses");
    jout_array(&j);
    for (size_t i = 0; i < 4; i++) {
        uint32_t resp = rget(d, x, roles[i]);
        if (resp != JDOC_NONE)
            write_response(&j, r, resp, roles[i]);
    }
    jout_end(&j);
    jout_end(&j);
    return jout_finish(&j);
}

struct chosen {
    size_t endpoint, order;  /* display order: endpoint, then example order */
    size_t start, len;       /* the finding's JSON in the pool */
};

static int chosen_cmp(const void *a, const void *b)
{
    const struct chosen *x = a, *y = b;
    if (x->endpoint != y->endpoint)
        return x->endpoint < y->endpoint ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The data block: examples chosen round robin over the endpoints while they
 * fit in `budget` bytes. */
static int data_block(struct html *h, size_t budget, size_t *omitted)
{
    const struct report *r = h->r;
    const struct jdoc *d = h->d;
    size_t total = 0, nchosen = 0, round = 0, max_round = 0;
    struct chosen *chosen = NULL;
    struct buf pool, one;
    uint32_t *cursor = NULL;
    int rc = 0;

    *omitted = 0;
    for (size_t i = 0; i < r->endpoint_count; i++) {
        total += rsize(d, r->endpoints[i].examples);
        if (rsize(d, r->endpoints[i].examples) > max_round)
            max_round = rsize(d, r->endpoints[i].examples);
    }
    buf_init(&pool, budget);
    buf_init(&one, budget);
    if (total && (!(chosen = calloc(total, sizeof *chosen)) ||
                  !(cursor = calloc(r->endpoint_count, sizeof *cursor)))) {
        rc = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; cursor && i < r->endpoint_count; i++)
        cursor[i] = rfirst(d, r->endpoints[i].examples);
    for (round = 0; round < max_round && !rc; round++) {
        for (size_t i = 0; i < r->endpoint_count && !rc; i++) {
            uint32_t x = cursor ? cursor[i] : JDOC_NONE;
            if (x == JDOC_NONE)
                continue;
            cursor[i] = jdoc_next(d, r->endpoints[i].examples, x);
            buf_reset(&one);
            rc = write_finding(&one, r, i, x);
            if (rc == ERR_TOOBIG || (!rc && pool.len + one.len + 1 > budget)) {
                rc = 0;
                (*omitted)++;
                continue;
            }
            if (rc)
                break;
            chosen[nchosen] = (struct chosen){i, round, pool.len, one.len};
            rc = buf_append(&pool, one.data, one.len);
            nchosen++;
        }
    }
    if (rc)
        goto out;
    if (nchosen)
        qsort(chosen, nchosen, sizeof *chosen, chosen_cmp);
    hs(h, "<script type=\"application/json\" id=\"report-data\">{\"version\":1,\"findings\":[");
    for (size_t k = 0; k < nchosen && !h->rc; k++) {
        if (k)
            hs(h, ",");
        if (!h->rc)
            h->rc = buf_append(h->out, pool.data + chosen[k].start, chosen[k].len);
    }
    hf(h, "],\"omitted\":%zu}</script>\n", *omitted);
    rc = h->rc;
out:
    free(chosen);
    free(cursor);
    buf_release(&pool);
    buf_release(&one);
    return rc;
}

static void findings_section(struct html *h, size_t total)
{
    hf(h, "<section id=\"findings\"><h2>Examples</h2>\n<p class=\"note\">Side by side, "
          "what each target answered to the same request (%zu sampled transaction%s): "
          "<span class=\"legend\"><span class=\"d\">differs</span> <span class=\"n\">noise"
          "</span></span>. Bodies are decoded and redacted; long ones are cut.</p>\n"
          "<p class=\"note\" id=\"js-note\">The examples are drawn by the page's script; "
          "with scripts disabled they are still in DIFF.json.</p>\n"
          "<div id=\"findings-list\"></div>\n</section>\n",
       total, total == 1 ? "" : "s");
}

/* ------------------------------------------------------------- the page */

static void static_part(struct html *h, size_t examples)
{
    const struct report *r = h->r;

    head(h);
    verdict(h);
    nav(h);
    run_section(h);
    counts_section(h);
    if (r->timeline != JDOC_NONE)
        timeline_section(h);
    if (r->assertions != JDOC_NONE)
        assertions_section(h);
    endpoints_section(h);
    fields_section(h);
    findings_section(h, examples);
    latency_section(h);
    errors_section(h);
    if (r->database != JDOC_NONE)
        database_section(h);
    rules_section(h);
    reproduce_section(h);
}

int report_html_render(struct report *r, struct buf *out, struct error *err)
{
    size_t start = out->len, examples = 0, omitted = 0, js_len;
    struct html h = {r, &r->diff, &caps_normal, out, 0};

    js_len = (size_t)(report_asset_js_end - report_asset_js);
    for (size_t i = 0; i < r->endpoint_count; i++)
        examples += rsize(&r->diff, r->endpoints[i].examples);
    static_part(&h, examples);
    if (!h.rc && out->len - start > STATIC_BUDGET) {
        /* hostile strings blew up the tables: again, with tighter caps */
        out->len = start;
        out->data[start] = '\0';
        h.caps = &caps_tight;
        static_part(&h, examples);
    }
    hs(&h, "</main>\n<footer>Written by rehearse " REHEARSE_VERSION " from ");
    htc(&h, r->diff.name);
    hs(&h, ". Everything shown is escaped; the page loads nothing from the network.</footer>\n");
    if (!h.rc) {
        size_t used = out->len - start + js_len + TAIL_RESERVE;
        size_t budget = used < REPORT_HTML_MAX ? REPORT_HTML_MAX - used : 0;
        h.rc = data_block(&h, budget, &omitted);
    }
    hs(&h, "<script>");
    if (!h.rc)
        h.rc = buf_append(out, report_asset_js, js_len);
    hs(&h, "</script>\n</body>\n</html>\n");
    if (h.rc)
        return error_set(err, h.rc, "cannot write report.html: %s", error_description(h.rc));
    if (out->len - start > REPORT_HTML_MAX)
        return error_set(err, ERR_STATE, "report.html grew past its bound of %zu bytes",
                         REPORT_HTML_MAX);
    return 0;
}
