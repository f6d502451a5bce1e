/*
 * report_md.c — summary.md: the verdict and the top findings, short enough
 * for a pull-request comment (GitHub allows 65536 characters; we stay under
 * REPORT_MARKDOWN_MAX bytes).
 *
 * Captured traffic must not write Markdown: a path like
 * "/x](https://evil.example)" or "<img src=x onerror=...>" in a comment
 * would become a link or HTML, "@someone" would notify a person.  So every
 * value that comes from the input is a code span (inside which Markdown
 * makes no links, no HTML, no mentions), fenced with more backticks than it
 * contains, with line breaks and other controls shown visibly (escape.h) so
 * it cannot end its list item; and it never sits in a table, whose cells
 * split on '|' even inside code spans.  Tables hold numbers only.
 */
#include <stdio.h>
#include <string.h>

#include "escape.h"
#include "json_shape.h"
#include "report_internal.h"
#include "version.h"

#define MD_VALUE_CHARS 100
#define MD_REASONS_MAX 15
#define MD_ENDPOINTS_MAX 10
#define MD_EXAMPLES_MAX 8
#define MD_FOOTER_RESERVE 1024

/* Append s as an inline code span. */
static int md_code(struct buf *out, const char *s, size_t len, size_t max_chars)
{
    struct buf text;
    size_t run = 0, longest = 0;
    bool pad;
    int rc;

    buf_init(&text, 64 * 1024);
    rc = escape_append(&text, ESCAPE_PLAIN, s ? s : "", s ? len : 0, max_chars, 0);
    if (rc) {
        buf_release(&text);
        return rc;
    }
    if (text.len == 0) {
        buf_release(&text);
        return buf_append_str(out, "*(empty)*");
    }
    for (size_t i = 0; i < text.len; i++) {
        run = text.data[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    /* CommonMark strips one space from each side when both are there, and a
     * span may not start or end with its own fence character. */
    pad = text.data[0] == '`' || text.data[text.len - 1] == '`' ||
          (text.data[0] == ' ' && text.data[text.len - 1] == ' ');
    for (size_t i = 0; i <= longest && !rc; i++)
        rc = buf_append_char(out, '`');
    if (!rc && pad)
        rc = buf_append_char(out, ' ');
    if (!rc)
        rc = buf_append(out, text.data, text.len);
    if (!rc && pad)
        rc = buf_append_char(out, ' ');
    for (size_t i = 0; i <= longest && !rc; i++)
        rc = buf_append_char(out, '`');
    buf_release(&text);
    return rc;
}

static int md_rstr(struct buf *out, struct rstr s)
{
    return md_code(out, s.s, s.len, MD_VALUE_CHARS);
}

/* Append item (a complete line) to out when it fits the budget. */
static bool fits(struct buf *out, const struct buf *item)
{
    if (out->len + item->len + MD_FOOTER_RESERVE > REPORT_MARKDOWN_MAX)
        return false;
    return buf_append(out, item->data, item->len) == 0;
}

static int write_heading(struct buf *out, const struct report *r)
{
    static const char *const marks[] = {"\xE2\x9C\x85", "\xE2\x9D\x8C", "\xE2\x9A\xA0\xEF\xB8\x8F"};
    static const char *const words[] = {"pass", "regressions", "no data"};
    const struct jdoc *d = &r->diff;
    size_t regressing = 0;
    int rc;

    for (size_t i = 0; i < r->endpoint_count; i++)
        regressing += r->endpoints[i].regression;
    rc = buf_printf(out, "## %s rehearse: %s (exit %d)\n\n", marks[r->result], words[r->result],
                    report_exit_code(r));
    if (rc)
        return rc;
    if (r->result == RESULT_NO_DATA && !r->reason_count)
        rc = buf_printf(out, "**Nothing could be compared**: %llu of %llu transactions were "
                        "answered by both targets. Base ",
                        (unsigned long long)rcount(d, r->totals, "compared"),
                        (unsigned long long)rcount(d, r->totals, "transactions"));
    else if (r->result == RESULT_PASS)
        rc = buf_printf(out, "No difference remained above the thresholds in **%zu endpoint%s**. "
                        "Base ", r->endpoint_count, r->endpoint_count == 1 ? "" : "s");
    else
        rc = buf_printf(out, "**%zu finding%s** decided the verdict; **%zu of %zu endpoint%s** "
                        "regress. Base ", r->reason_count, r->reason_count == 1 ? "" : "s",
                        regressing, r->endpoint_count, r->endpoint_count == 1 ? "" : "s");
    if (!rc)
        rc = md_rstr(out, r->base);
    if (!rc)
        rc = buf_append_str(out, ", candidate ");
    if (!rc)
        rc = md_rstr(out, r->candidate);
    if (!rc && r->noise.s) {
        rc = buf_append_str(out, ", noise reference ");
        if (!rc)
            rc = md_rstr(out, r->noise);
    } else if (!rc) {
        rc = buf_append_str(out, ", no noise reference");
    }
    if (!rc)
        rc = buf_append_str(out, ".\n\n");
    if (!rc) {
        uint32_t skipped = rget(d, r->totals, "skipped");
        uint64_t skipped_total = 0;
        for (uint32_t k = rfirst(d, skipped); k != JDOC_NONE; k = jdoc_next(d, skipped, k))
            skipped_total += jshape_count(d, k + 1);
        rc = buf_printf(out,
                        "| transactions | compared | identical | different | after noise | "
                        "status mismatches | skipped |\n"
                        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
                        "| %llu | %llu | %llu | %llu | %llu | %llu | %llu |\n\n",
                        (unsigned long long)rcount(d, r->totals, "transactions"),
                        (unsigned long long)rcount(d, r->totals, "compared"),
                        (unsigned long long)rcount(d, r->totals, "identical"),
                        (unsigned long long)rcount(d, r->totals, "different_raw"),
                        (unsigned long long)rcount(d, r->totals, "different_after_noise"),
                        (unsigned long long)rcount(d, r->totals, "status_mismatches"),
                        (unsigned long long)skipped_total);
    }
    return rc;
}

static int write_reason(struct buf *item, const struct report_reason *x)
{
    const struct rstr *subjects[] = {&x->endpoint, &x->step, &x->table,
                                     &x->path,     &x->header, &x->metric};
    int rc = buf_printf(item, "- **%s** ", report_risk_name(x->risk));

    if (!rc)
        rc = md_code(item, x->kind.s, x->kind.len, 40);
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0] && !rc; i++) {
        if (!subjects[i]->s)
            continue;
        rc = buf_append_str(item, subjects[i] == &x->header ? " header " : " ");
        if (!rc)
            rc = md_rstr(item, *subjects[i]);
    }
    if (!rc)
        rc = buf_append_str(item, ": ");
    if (!rc)
        rc = md_code(item, x->rule.s, x->rule.len, 200);
    return rc ? rc : buf_append_char(item, '\n');
}

static int write_reasons(struct buf *out, const struct report *r)
{
    struct buf item;
    size_t shown = 0;
    int rc = 0;

    if (!r->reason_count)
        return 0;
    if ((rc = buf_append_str(out, "### Why\n\n")) != 0)
        return rc;
    buf_init(&item, REPORT_MARKDOWN_MAX);
    for (size_t i = 0; i < r->reason_count && shown < MD_REASONS_MAX && !rc; i++) {
        buf_reset(&item);
        if ((rc = write_reason(&item, &r->reasons[i])) != 0)
            break;
        if (!fits(out, &item))
            break;
        shown++;
    }
    buf_release(&item);
    if (!rc && shown < r->reason_count)
        rc = buf_printf(out, "- *and %zu more in report.html and report.json*\n",
                        r->reason_count - shown);
    return rc ? rc : buf_append_char(out, '\n');
}

static int write_endpoint(struct buf *item, const struct report *r,
                          const struct report_endpoint *e)
{
    const struct jdoc *d = &r->diff;
    char rate[32], p99b[32], p99c[32];
    int rc = buf_append_str(item, "- ");

    if (!rc)
        rc = md_rstr(item, e->name);
    report_fmt_rate(rate, sizeof rate, report_rate(e->body[2], e->compared));
    if (!rc)
        rc = buf_printf(item, ": %llu compared; body differences remaining %llu (%s)",
                        (unsigned long long)e->compared, (unsigned long long)e->body[2], rate);
    if (!rc && e->mismatches)
        rc = buf_printf(item, "; status mismatches %llu", (unsigned long long)e->mismatches);
    if (!rc && e->latency != JDOC_NONE && r->base.s && r->candidate.s) {
        uint32_t lb = rgetn(d, e->latency, r->base.s, r->base.len);
        uint32_t lc = rgetn(d, e->latency, r->candidate.s, r->candidate.len);
        if (rhas_number(d, lb, "p99") && rhas_number(d, lc, "p99")) {
            report_fmt_us(p99b, sizeof p99b, rnumber(d, lb, "p99", 0));
            report_fmt_us(p99c, sizeof p99c, rnumber(d, lc, "p99", 0));
            rc = buf_printf(item, "; p99 %s \xE2\x86\x92 %s", p99b, p99c);
        }
    }
    if (!rc)
        rc = buf_printf(item, "; risk **%s**%s\n", report_risk_name(e->risk),
                        e->regression ? ", **regression**" : "");
    return rc;
}

static int write_endpoints(struct buf *out, const struct report *r)
{
    struct buf item;
    size_t shown = 0, listed = 0;
    int rc;

    for (size_t i = 0; i < r->endpoint_count; i++)
        listed += r->endpoints[i].regression || r->endpoints[i].body[2] ||
                  r->endpoints[i].headers[2] || r->endpoints[i].mismatches;
    if (!listed)
        return 0;
    if ((rc = buf_append_str(out, "### Endpoints with differences\n\n")) != 0)
        return rc;
    buf_init(&item, REPORT_MARKDOWN_MAX);
    for (size_t i = 0; i < r->endpoint_count && shown < MD_ENDPOINTS_MAX && !rc; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        if (!(e->regression || e->body[2] || e->headers[2] || e->mismatches))
            continue;
        buf_reset(&item);
        if ((rc = write_endpoint(&item, r, e)) != 0 || !fits(out, &item))
            break;
        shown++;
    }
    buf_release(&item);
    if (!rc && shown < listed)
        rc = buf_printf(out, "- *and %zu more in report.html*\n", listed - shown);
    return rc ? rc : buf_append_char(out, '\n');
}

/* One example per regressing field, first endpoints first. */
static int write_examples(struct buf *out, const struct report *r)
{
    const struct jdoc *d = &r->diff;
    struct buf item;
    size_t shown = 0;
    bool heading = false;
    int rc = 0;

    buf_init(&item, REPORT_MARKDOWN_MAX);
    for (size_t i = 0; i < r->endpoint_count && shown < MD_EXAMPLES_MAX && !rc; i++) {
        const struct report_endpoint *e = &r->endpoints[i];
        for (uint32_t f = rfirst(d, e->fields); f != JDOC_NONE && shown < MD_EXAMPLES_MAX;
             f = jdoc_next(d, e->fields, f)) {
            uint32_t ids = rget(d, f, "examples"), x;
            struct rstr path = rstr_get(d, f, "path");
            if (!rbool(d, f, "regression") || !path.s || rsize(d, ids) == 0)
                continue;
            x = report_find_example(r, e, jshape_count(d, rfirst(d, ids)));
            if (x == JDOC_NONE)
                continue;
            buf_reset(&item);
            struct buf change;
            buf_init(&change, 4096);
            rc = report_example_change(r, x, path, 60, &change);
            if (!rc && change.len) {
                struct rstr method = rstr_get(d, x, "method"), target = rstr_get(d, x, "target");
                struct buf request;
                buf_init(&request, 64 * 1024);
                if (method.s) {
                    buf_append(&request, method.s, method.len > 32 ? 32 : method.len);
                    buf_append_char(&request, ' ');
                }
                if (target.s)
                    buf_append(&request, target.s, target.len > 1000 ? 1000 : target.len);
                rc = buf_append_str(&item, "- ");
                if (!rc)
                    rc = md_code(&item, request.data, request.len, MD_VALUE_CHARS);
                buf_release(&request);
                if (!rc)
                    rc = buf_printf(&item, " (transaction %llu): ",
                                    (unsigned long long)rcount(d, x, "tx"));
                if (!rc)
                    rc = md_code(&item, change.data, change.len, 200);
                if (!rc)
                    rc = buf_append_char(&item, '\n');
                if (!rc && !heading) {
                    rc = buf_append_str(out, "### Examples\n\n");
                    heading = true;
                }
                if (!rc && fits(out, &item))
                    shown++;
            }
            buf_release(&change);
            if (rc)
                break;
        }
    }
    buf_release(&item);
    return !rc && heading ? buf_append_char(out, '\n') : rc;
}

static int write_context(struct buf *out, const struct report *r)
{
    const struct jdoc *c = &r->ctx;
    int rc = 0;

    if (r->run != JDOC_NONE || r->timeline != JDOC_NONE) {
        uint32_t steps = rget(c, r->timeline, "steps"), faults = rget(c, r->timeline, "faults");
        size_t failed = 0;
        for (uint32_t s = rfirst(c, steps); s != JDOC_NONE; s = jdoc_next(c, steps, s))
            failed += !rstr_is(rstr_get(c, s, "status"), "ok");
        rc = buf_append_str(out, "**Run**: ");
        if (!rc && rget(c, r->run, "scenario") != JDOC_NONE) {
            rc = buf_append_str(out, "scenario ");
            if (!rc)
                rc = md_rstr(out, rstr_get(c, r->run, "scenario"));
            if (!rc && rget(c, r->run, "status") != JDOC_NONE) {
                rc = buf_append_char(out, ' ');
                if (!rc)
                    rc = md_rstr(out, rstr_get(c, r->run, "status"));
            }
            if (!rc)
                rc = buf_append_str(out, "; ");
        }
        if (!rc)
            rc = buf_printf(out, "%zu step%s (%zu not ok), %zu fault%s injected\n\n",
                            rsize(c, steps), rsize(c, steps) == 1 ? "" : "s", failed,
                            rsize(c, faults), rsize(c, faults) == 1 ? "" : "s");
    }
    if (!rc && r->assertions != JDOC_NONE) {
        uint32_t checks = rget(c, r->assertions, "checks");
        size_t passed = 0;
        for (uint32_t x = rfirst(c, checks); x != JDOC_NONE; x = jdoc_next(c, checks, x))
            passed += rbool(c, x, "passed");
        rc = buf_printf(out, "**Assertions**: %zu passed, %zu failed\n\n", passed,
                        rsize(c, checks) - passed);
    }
    if (!rc && r->database != JDOC_NONE) {
        uint32_t tables = rget(c, r->database, "tables"), schema = rget(c, r->database, "schema");
        size_t differing = 0;
        for (uint32_t x = rfirst(c, tables); x != JDOC_NONE; x = jdoc_next(c, tables, x))
            differing += rcount(c, x, "changed") || rcount(c, x, "missing") ||
                         rcount(c, x, "extra");
        rc = buf_printf(out, "**Database**: %zu schema change%s, %zu of %zu table%s differ%s\n\n",
                        rsize(c, schema), rsize(c, schema) == 1 ? "" : "s", differing,
                        rsize(c, tables), rsize(c, tables) == 1 ? "" : "s",
                        rbool(c, r->database, "regression") ? " (a regression)" : "");
    }
    return rc;
}

int report_md_render(struct report *r, struct buf *out, struct error *err)
{
    size_t start = out->len;
    int rc;

    if ((rc = write_heading(out, r)) == 0 && (rc = write_context(out, r)) == 0 &&
        (rc = write_reasons(out, r)) == 0 && (rc = write_endpoints(out, r)) == 0 &&
        (rc = write_examples(out, r)) == 0)
        rc = buf_printf(out, "*Side-by-side examples, latency charts, per-field rates and every "
                        "rule with its hit count are in report.html; report.json and junit.xml "
                        "are for tools. rehearse %s.*\n", REHEARSE_VERSION);
    if (rc)
        return error_set(err, rc, "cannot write summary.md: %s", error_description(rc));
    if (out->len - start > REPORT_MARKDOWN_MAX)
        return error_set(err, ERR_STATE, "summary.md grew past its bound of %zu bytes",
                         REPORT_MARKDOWN_MAX);
    return 0;
}
