/*
 * line_diff.h — the differences between two texts, line by line: what the
 * response diff reports for bodies that are text but not JSON (HTML, CSV,
 * plain text).  Lines are aligned (align.h) after matching equal lines at
 * both ends, so an inserted line is one addition and the lines after it
 * are not all reported changed; within a stretch without equal lines, lines
 * pair up in order as changes and the rest are added or removed.
 *
 * A line includes its newline, so a missing final newline is a change of
 * the last line.  Bounded: the alignment gives up past LINE_DIFF_MAX_EDITS
 * edits (then the differing middle pairs up in order), and at most
 * max_items differences are kept (all are counted).
 */
#ifndef REHEARSE_LINE_DIFF_H
#define REHEARSE_LINE_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_diff.h"

#define LINE_DIFF_MAX_EDITS 512

struct line_item {
    enum jdiff_kind kind; /* JDIFF_ADDED, JDIFF_REMOVED or JDIFF_CHANGED */
    uint32_t a_line;      /* 1-based line in A; 0 when added */
    uint32_t b_line;      /* 1-based line in B; 0 when removed */
};

/* Caller-owned; reuse it across texts. */
struct line_diff {
    struct line_item *items;
    size_t count;
    uint64_t differences; /* all, kept or not */
    bool truncated;       /* differences > count */
    /* private */
    size_t cap;
    uint64_t *hashes;
    uint32_t *starts;
    size_t hcap;
};

void line_diff_init(struct line_diff *r);
void line_diff_release(struct line_diff *r);

/* Compare a[0..alen) with b[0..blen).  0 or ERR_NOMEM (and ERR_TOOBIG past
 * 2^32 lines).  max_items 0 keeps all. */
int line_diff_texts(struct line_diff *r, const char *a, size_t alen, const char *b, size_t blen,
                    size_t max_items);

#endif
