/*
 * respdiff.h — the response diff: read the results of a replay (one file,
 * or the shards of one replay), compare what the base and the candidate
 * answered to every transaction, cancel noise with the noise reference,
 * and write DIFF.json (docs/diff-format.md).  `rehearse diff` is this, with
 * options parsed; the scenario runner calls it too.
 *
 * Two passes over the results: the first compares every transaction and
 * keeps only counts and, per endpoint and field, where the examples with
 * the lowest transaction ids are (file and byte offset); the second reads
 * back just those records to render the examples.  Memory is bounded by
 * the caps, not by the number of transactions; the output does not depend
 * on how the transactions were split into shards or ordered in them.
 */
#ifndef REHEARSE_RESPDIFF_H
#define REHEARSE_RESPDIFF_H

#include <stddef.h>
#include <stdint.h>

#include "diff_stats.h"
#include "errors.h"

#define RESPDIFF_DEFAULT_MAX_DIFFERENCES 1000

struct respdiff_options {
    const char *const *results;  /* results files: one replay, maybe in shards */
    size_t nresults;
    const char *base;            /* target names; NULL: the first target */
    const char *candidate;       /* NULL: the second target */
    const char *noise;           /* NULL: no noise reference */
    const char *rules_path;      /* NULL: no rules file */
    struct dstats_caps caps;
    struct dstats_thresholds thresholds;
    size_t max_decoded;          /* decoded body cap; 0: BODY_DEFAULT_MAX_DECODED */
    size_t max_differences;      /* per comparison; 0: the default above */
    const void *redact_key;      /* NULL: a random key */
    size_t redact_key_len;
    const char *output;          /* DIFF.json */
    int argc;                    /* the command line, recorded in "reproduce" */
    char *const *argv;
    int64_t created_us;          /* 0: now */
};

/* What the caller prints. */
struct respdiff_result {
    const char *verdict;         /* "pass", "regressions", "no_data" */
    int exit_code;               /* 0 or 1 */
    char summary[1024];
    uint64_t transactions, compared, body_bytes;
    size_t endpoints;
};

/* Options with every default set (caps, thresholds); the caller fills in
 * the files and names. */
void respdiff_options_init(struct respdiff_options *o);

/*
 * Run the diff and write o->output.  0 when the file was written (whatever
 * the verdict: see res->exit_code), or an error: ERR_USAGE (a target that
 * does not exist, ...), ERR_INPUT (a results or rules file that is wrong,
 * located), ERR_IO, ERR_NOMEM.
 */
int respdiff_run(const struct respdiff_options *o, struct respdiff_result *res,
                 struct error *err);

#endif
