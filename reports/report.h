/*
 * report.h — the reports of a rehearsal: report.json, report.html,
 * junit.xml and summary.md, rendered from a DIFF.json (docs/diff-format.md)
 * and, optionally, the context of the run that produced it (a timeline of
 * steps and faults, the assertion table, a database diff summary:
 * docs/report-format.md, "The context").
 *
 * `rehearse report` and the scenario runner both go through this API:
 *
 *     report_new(&r, &err);
 *     report_load_diff(r, "diff.json", NULL, &err);
 *     report_set_context(r, context_json, &err);      // optional
 *     report_write_dir(r, "out", REPORT_ALL, &err);
 *     exit_code = report_exit_code(r);
 *     report_free(r);
 *
 * Loading checks the whole input against its documented shape once; every
 * problem is ERR_INPUT with file:line:column and the JSON path
 * ("diff.json:40:7: endpoints[3].body: missing required member \"raw\"").
 * Rendering is deterministic: the same inputs give the same bytes.  Every
 * output has a size bound whatever the input (report.json under 40 MB,
 * report.html under 10 MB, junit.xml under 20 MB, summary.md under 60 KB);
 * what a cap left out is counted in the output.
 */
#ifndef REHEARSE_REPORT_H
#define REHEARSE_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "jdoc.h"

enum report_format {
    REPORT_JSON = 1 << 0,     /* report.json */
    REPORT_HTML = 1 << 1,     /* report.html */
    REPORT_JUNIT = 1 << 2,    /* junit.xml */
    REPORT_MARKDOWN = 1 << 3, /* summary.md */
};
#define REPORT_ALL (REPORT_JSON | REPORT_HTML | REPORT_JUNIT | REPORT_MARKDOWN)

/* The version of report.json's schema ("format": "rehearse-report"). */
#define REPORT_JSON_VERSION 1
/* The versions of the inputs this build reads. */
#define REPORT_DIFF_VERSION 1
#define REPORT_CONTEXT_VERSION 1

/* Size bounds of the outputs (docs/report-format.md). */
#define REPORT_JSON_MAX ((size_t)40 * 1000 * 1000)
#define REPORT_HTML_MAX ((size_t)10 * 1000 * 1000)
#define REPORT_JUNIT_MAX ((size_t)20 * 1000 * 1000)
#define REPORT_MARKDOWN_MAX ((size_t)60 * 1000)

struct report;

int report_new(struct report **out, struct error *err);
void report_free(struct report *r); /* NULL is fine */

/*
 * Read and check a DIFF.json ("-": standard input).  `lim` bounds the input
 * (NULL: jdoc's defaults, 1 GiB).  Bytes that are not UTF-8 are replaced by
 * U+FFFD first (counted in a warning).  ERR_INPUT for a file that is not a
 * DIFF.json, of another version, or not of the documented shape.
 */
int report_load_diff(struct report *r, const char *path, const struct jdoc_limits *lim,
                     struct error *err);
/* The same from memory; `name` names the input in messages. */
int report_load_diff_text(struct report *r, const char *text, size_t len, const char *name,
                          const struct jdoc_limits *lim, struct error *err);

/* The optional context (docs/report-format.md): from a file, from memory,
 * or as a jansson tree (the scenario runner builds one from its journal).
 * Replaces a context given before. */
int report_load_context(struct report *r, const char *path, struct error *err);
int report_load_context_text(struct report *r, const char *text, size_t len, const char *name,
                             struct error *err);
int report_set_context(struct report *r, const json_t *context, struct error *err);

/* The verdict, once a DIFF.json is loaded: the diff's, made a regression by
 * a failed assertion or a database difference marked as one in the context.
 * result: "pass", "regressions" or "no_data"; exit code 0 or 1. */
const char *report_result(const struct report *r);
int report_exit_code(const struct report *r);
const char *report_summary(const struct report *r);

/* Warnings about the input that did not stop the report (borrowed). */
size_t report_warning_count(const struct report *r);
const char *report_warning(const struct report *r, size_t i);

/* The file name of a format ("report.html"). */
const char *report_file_name(enum report_format f);

/* Render one format into out (appended).  ERR_TOOBIG only when out's own
 * maximum is smaller than the format's bound. */
int report_render(struct report *r, enum report_format f, struct buf *out, struct error *err);

/* Create `dir` (and its parents) if needed and write each format asked for
 * into it, each file atomically (a temporary file renamed into place).
 * ERR_IO names the file that could not be written. */
int report_write_dir(struct report *r, const char *dir, unsigned formats, struct error *err);

#endif
