/*
 * results_merge.h — combine the results files of a sharded replay (every
 * shard of `rehearse replay --shard I/N`, or of the parts of `rehearse
 * trace split`) into the one results file an unsharded replay of the same
 * trace would have written (docs/results-format.md): `rehearse merge`.
 *
 * The shards are checked first: one trace, the same targets and options
 * but the shard, every shard once (results_check_together, strict).  Then
 * their records are copied as they are, shard by shard in shard order,
 * each checked to belong to its shard's connections and to appear once;
 * and their summaries added up: counts add exactly, latency percentiles
 * come from the merged histograms (never averaged).  Streams: one record
 * in memory, plus a bit per transaction id to catch duplicates.
 */
#ifndef REHEARSE_RESULTS_MERGE_H
#define REHEARSE_RESULTS_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

struct results_merge_stats {
    size_t files;
    uint32_t shards;            /* N of the shards merged; 0 for one unsharded file */
    uint64_t records;           /* result lines written */
    uint64_t read;              /* the merged summary's transactions.read */
    int interrupted;            /* some shard was interrupted */
};

/*
 * Merge `paths` into `output` (written atomically: OUTPUT.partial, renamed;
 * a name ending in .gz is compressed).  ERR_INPUT (located: file, line,
 * what differs) when the files are not the complete shards of one replay
 * or one of them is broken or unfinished (no summary line); nothing is
 * written then.  ERR_IO when the output cannot be written.
 */
int results_merge(const char *const *paths, size_t n, const char *output,
                  struct results_merge_stats *stats, struct error *err);

#endif
