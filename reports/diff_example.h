/*
 * diff_example.h — one side-by-side example of the response diff, as the
 * JSON object docs/diff-format.md describes under "examples": the request,
 * what differed (kinds, paths, headers, the RFC 6902 patch, which paths
 * were noise), and the base, candidate, noise and captured responses with
 * their bodies decoded — every secret redacted (diff_redact.h) and every
 * body cut to the example size cap.
 */
#ifndef REHEARSE_DIFF_EXAMPLE_H
#define REHEARSE_DIFF_EXAMPLE_H

#include "buf.h"
#include "diff_redact.h"
#include "diff_stats.h"
#include "resp_compare.h"
#include "results.h"

struct dexample_input {
    const struct result_record *rec;
    struct resp_side *base, *candidate;
    struct resp_side *noise;           /* NULL: no noise reference answer */
    const struct result_target *noise_target; /* NULL without --noise */
    struct resp_side *captured;        /* NULL: none in the trace */
    const struct resp_diff *bc;        /* base vs candidate */
    const struct dstats_fieldset *fbn; /* fields that differed base vs noise */
    struct dredact *redact;
    const struct dstats_caps *caps;
};

/* Append the example object (one line, no newline).  0 or ERR_TOOBIG /
 * ERR_NOMEM from the buffer. */
int dexample_render(struct buf *out, const struct dexample_input *in);

#endif
