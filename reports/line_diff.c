#include "line_diff.h"

#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "errors.h"
#include "jdoc_hash.h"

#define LINE_DIFF_WORK ((long)1 << 24)

void line_diff_init(struct line_diff *r)
{
    memset(r, 0, sizeof *r);
}

void line_diff_release(struct line_diff *r)
{
    free(r->items);
    free(r->hashes);
    free(r->starts);
    memset(r, 0, sizeof *r);
}

static size_t count_lines(const char *s, size_t n)
{
    size_t lines = 0;
    const char *p = s, *end = s + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines++;
        p = nl ? nl + 1 : end;
    }
    return lines;
}

/* Hashes and start offsets of each line of s into h[] and st[] (st[n] = len). */
static void split(const char *s, size_t len, uint64_t *h, uint32_t *st)
{
    const char *p = s, *end = s + len;
    size_t i = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        st[i] = (uint32_t)(p - s);
        h[i++] = jhash_bytes(p, (size_t)(next - p), 0x6c696e65ULL);
        p = next;
    }
    st[i] = (uint32_t)len;
}

struct side {
    const char *text;
    const uint64_t *h;
    const uint32_t *st;
};

static bool same_line(const struct side *a, size_t i, const struct side *b, size_t j)
{
    size_t la = a->st[i + 1] - a->st[i], lb = b->st[j + 1] - b->st[j];
    return a->h[i] == b->h[j] && la == lb && memcmp(a->text + a->st[i], b->text + b->st[j], la) == 0;
}

static int emit(struct line_diff *r, enum jdiff_kind kind, size_t a, size_t b, size_t max_items)
{
    r->differences++;
    if (max_items && r->count >= max_items) {
        r->truncated = true;
        return 0;
    }
    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 32;
        struct line_item *p = realloc(r->items, cap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        r->items = p;
        r->cap = cap;
    }
    r->items[r->count++] = (struct line_item){kind, (uint32_t)a, (uint32_t)b};
    return 0;
}

/* Lines a[i0..i1) and b[j0..j1) share nothing: pair in order, then the rest. */
static int gap(struct line_diff *r, size_t i0, size_t i1, size_t j0, size_t j1, size_t max_items)
{
    int rc = 0;
    while (!rc && (i0 < i1 || j0 < j1)) {
        if (i0 < i1 && j0 < j1)
            rc = emit(r, JDIFF_CHANGED, ++i0, ++j0, max_items);
        else if (i0 < i1)
            rc = emit(r, JDIFF_REMOVED, ++i0, 0, max_items);
        else
            rc = emit(r, JDIFF_ADDED, 0, ++j0, max_items);
    }
    return rc;
}

int line_diff_texts(struct line_diff *r, const char *a, size_t alen, const char *b, size_t blen,
                    size_t max_items)
{
    size_t m, n, pre = 0, suf = 0, need;
    struct side sa, sb;
    int rc = 0;

    r->count = 0;
    r->differences = 0;
    r->truncated = false;
    if (alen > UINT32_MAX - 1 || blen > UINT32_MAX - 1)
        return ERR_TOOBIG;
    m = count_lines(a, alen);
    n = count_lines(b, blen);
    need = m + n + 2;
    if (need > r->hcap) {
        uint64_t *h = realloc(r->hashes, need * sizeof *h);
        uint32_t *st;
        if (!h)
            return ERR_NOMEM;
        r->hashes = h;
        if (!(st = realloc(r->starts, need * sizeof *st)))
            return ERR_NOMEM;
        r->starts = st;
        r->hcap = need;
    }
    split(a, alen, r->hashes, r->starts);
    split(b, blen, r->hashes + m + 1, r->starts + m + 1);
    sa = (struct side){a, r->hashes, r->starts};
    sb = (struct side){b, r->hashes + m + 1, r->starts + m + 1};

    while (pre < m && pre < n && same_line(&sa, pre, &sb, pre))
        pre++;
    while (suf < m - pre && suf < n - pre && same_line(&sa, m - 1 - suf, &sb, n - 1 - suf))
        suf++;
    if (pre + suf < m || pre + suf < n) {
        size_t mm = m - pre - suf, nn = n - pre - suf, most = mm < nn ? mm : nn;
        uint32_t *mi = malloc((2 * most + 1) * sizeof *mi), *mj;
        long count = -1;
        if (!mi)
            return ERR_NOMEM;
        mj = mi + most;
        if (mm && nn)
            count = align_myers(sa.h + pre, (long)mm, sb.h + pre, (long)nn, LINE_DIFF_MAX_EDITS,
                                LINE_DIFF_WORK, mi, mj);
        if (count < 0) {
            rc = gap(r, pre, m - suf, pre, n - suf, max_items);
        } else {
            size_t i = pre, j = pre;
            for (long k = 0; k < count && !rc; k++) {
                size_t ti = pre + mi[k], tj = pre + mj[k];
                rc = gap(r, i, ti, j, tj, max_items);
                /* equal hashes: confirm, a collision must not hide a change */
                if (!rc && !same_line(&sa, ti, &sb, tj))
                    rc = emit(r, JDIFF_CHANGED, ti + 1, tj + 1, max_items);
                i = ti + 1;
                j = tj + 1;
            }
            if (!rc)
                rc = gap(r, i, m - suf, j, n - suf, max_items);
        }
        free(mi);
    }
    return rc;
}
