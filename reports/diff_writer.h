/*
 * diff_writer.h — write DIFF.json (docs/diff-format.md, "rehearse-diff"
 * version 1) from the statistics of a response diff.
 *
 * The file is written atomically (common/outfile.h) and in a fixed order:
 * the same statistics give the same bytes.  It is indented for people, two
 * spaces a level, with small objects (an example, a histogram, a status
 * change) on one line.  Examples are not held by the statistics: the writer
 * asks the caller for each one's JSON text, in output order.
 */
#ifndef REHEARSE_DIFF_WRITER_H
#define REHEARSE_DIFF_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "diff_redact.h"
#include "diff_rules.h"
#include "diff_stats.h"
#include "errors.h"
#include "results.h"

#define DIFF_FORMAT_NAME "rehearse-diff"
#define DIFF_FORMAT_VERSION 1

struct dwriter_file {
    const char *path;
    char sha256[65];
    char trace[1024];
    uint64_t transactions;
};

/* Bodies decoded, by what was undone (docs/diff-format.md, totals.decoding). */
struct dwriter_decoding {
    uint64_t gzip, deflate, charset, capped, undecodable, omitted;
};

struct dwriter_input {
    const struct dwriter_file *files;
    size_t nfiles;
    const struct results_header *header; /* targets */
    int roles[ROLES];                    /* target index per role; noise -1 */
    const char *rules_path;              /* NULL: no rules file */
    const char *rules_sha256;
    const struct diff_rules *rules;
    const uint64_t *rule_hits;           /* [rule id] */
    const uint64_t *template_hits;       /* [template index] */
    uint64_t content_type_hits;          /* the built-in header rule */
    const struct dredact *redact;
    bool redact_key_given;
    const struct dwriter_decoding *decoding;
    uint64_t body_bytes;                 /* bytes of bodies compared */
    const struct diff_stats *stats;      /* finished (dstats_finish) */
    int argc;
    char *const *argv;                   /* the arguments after "rehearse" (the
                                            command name first), for "reproduce" */
    int64_t created_us;
    /* Append example i of endpoint ep (its JSON text) to out. */
    int (*example)(void *ctx, const struct dstats_endpoint *ep, size_t i, struct buf *out,
                   struct error *err);
    void *example_ctx;
};

int dwriter_write(const char *path, const struct dwriter_input *in, struct error *err);

/* The verdict's sentence ("3 regressions in 2 endpoints (...)"). */
void dwriter_summary(const struct diff_stats *s, const struct results_header *h,
                     const int roles[ROLES], char *out, size_t size);

#endif
