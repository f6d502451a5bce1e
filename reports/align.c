/*
 * align.c — Myers' alignment of two hashed sequences (align.h).
 */
#include "align.h"

#include <stdlib.h>
#include <string.h>

long align_myers(const uint64_t *ha, long m, const uint64_t *hb, long n, long max_edits,
                 long max_work, uint32_t *mi, uint32_t *mj)
{
    long maxd = m + n < max_edits ? m + n : max_edits;
    long width, off, d, found = -1, count = 0;
    long *trace;

    /* Long arrays get fewer edits, so the time stays bounded too. */
    if (m + n == 0)
        return 0;
    if (maxd > max_work / (m + n))
        maxd = max_work / (m + n);
    if (maxd < 1)
        return -1;
    width = 2 * maxd + 3;
    off = maxd + 1;
    trace = malloc((size_t)(maxd + 1) * (size_t)width * sizeof *trace);
    if (!trace)
        return -1;
    for (d = 0; d <= maxd && found < 0; d++) {
        long *cur = trace + d * width, *prev = d ? cur - width : NULL;
        if (d)
            memcpy(cur, prev, (size_t)width * sizeof *cur);
        else
            cur[off + 1] = 0;
        for (long k = -d; k <= d; k += 2) {
            long x, y;
            const long *src = d ? prev : cur;
            if (k == -d || (k != d && src[off + k - 1] < src[off + k + 1]))
                x = src[off + k + 1];
            else
                x = src[off + k - 1] + 1;
            y = x - k;
            while (x < m && y < n && ha[x] == hb[y]) {
                x++;
                y++;
            }
            cur[off + k] = x;
            if (x >= m && y >= n) {
                found = d;
                break;
            }
        }
    }
    if (found < 0) {
        free(trace);
        return -1;
    }
    /* Walk back from (m, n), collecting the diagonal moves (matches). */
    {
        long x = m, y = n;
        for (d = found; d >= 0; d--) {
            long k = x - y, pk, px, py;
            if (d == 0) {
                while (x > 0 && y > 0) {
                    x--;
                    y--;
                    mi[count] = (uint32_t)x;
                    mj[count++] = (uint32_t)y;
                }
                break;
            }
            const long *prev = trace + (d - 1) * width;
            if (k == -d || (k != d && prev[off + k - 1] < prev[off + k + 1]))
                pk = k + 1;
            else
                pk = k - 1;
            px = prev[off + pk];
            py = px - pk;
            /* The snake after the edit: from the edit's end to (x, y). */
            while (x > px + (pk == k - 1) && y > py + (pk == k + 1)) {
                x--;
                y--;
                mi[count] = (uint32_t)x;
                mj[count++] = (uint32_t)y;
            }
            x = px;
            y = py;
        }
    }
    free(trace);
    for (long i = 0, j = count - 1; i < j; i++, j--) {
        uint32_t t = mi[i];
        mi[i] = mi[j];
        mi[j] = t;
        t = mj[i];
        mj[i] = mj[j];
        mj[j] = t;
    }
    return count;
}
