/*
 * align.h — the longest common subsequence of two sequences of hashes, by
 * Myers' O((M+N)D) algorithm ("An O(ND) Difference Algorithm and Its
 * Variations", 1986), bounded: it gives up past `max_edits` edits, or when
 * (M+N)·D would pass `max_work`, so hostile input costs bounded time and
 * memory ((D+1)·(2D+3) longs).  Used for JSON arrays (json_diff.c) and the
 * lines of text bodies (line_diff.c): an inserted element or line is one
 * edit, not a change of everything after it.
 */
#ifndef REHEARSE_ALIGN_H
#define REHEARSE_ALIGN_H

#include <stdint.h>

/*
 * Align ha[0..m) with hb[0..n) (equal hashes are equal elements).  Writes
 * the matched pairs in increasing order to mi[] and mj[] (room for
 * min(m, n) each) and returns their number, or -1 when it gave up (or
 * memory ran out).
 */
long align_myers(const uint64_t *ha, long m, const uint64_t *hb, long n, long max_edits,
                 long max_work, uint32_t *mi, uint32_t *mj);

#endif
