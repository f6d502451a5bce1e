/*
 * membudget.h — one counter of the bytes a capture holds, with a ceiling.
 *
 * Every module of the capture pipeline that keeps packet bytes (out-of-order
 * TCP segments, message headers and bodies, transactions waiting to be
 * written) takes from the same budget before it keeps them and gives back
 * when it lets go, so `--max-memory` bounds the whole pipeline.  A refused
 * take is not an error: the caller drops what it could not keep and counts
 * it under a named reason.
 */
#ifndef REHEARSE_MEMBUDGET_H
#define REHEARSE_MEMBUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct membudget {
    uint64_t used;
    uint64_t max;
    uint64_t peak;
};

static inline void membudget_init(struct membudget *b, uint64_t max)
{
    b->used = 0;
    b->max = max;
    b->peak = 0;
}

/* Reserve n bytes; false (and nothing reserved) when that would pass max. */
static inline bool membudget_take(struct membudget *b, uint64_t n)
{
    if (n > b->max - b->used || b->used > b->max)
        return false;
    b->used += n;
    if (b->used > b->peak)
        b->peak = b->used;
    return true;
}

/* Reserve n bytes even past max (for bookkeeping of memory already held). */
static inline void membudget_force(struct membudget *b, uint64_t n)
{
    b->used += n;
    if (b->used > b->peak)
        b->peak = b->used;
}

static inline void membudget_give(struct membudget *b, uint64_t n)
{
    b->used = n > b->used ? 0 : b->used - n;
}

#endif
