#include "schedule.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

void schedule_init(struct schedule *s)
{
    memset(s, 0, sizeof *s);
}

void schedule_release(struct schedule *s)
{
    free(s->heap);
    memset(s, 0, sizeof *s);
}

int schedule_push(struct schedule *s, int64_t due, void *item, unsigned tag)
{
    size_t i;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct schedule_entry *grown = realloc(s->heap, cap * sizeof *grown);
        if (!grown)
            return ERR_NOMEM;
        s->heap = grown;
        s->cap = cap;
    }
    i = s->count++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (s->heap[parent].due <= due)
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = (struct schedule_entry){due, item, tag};
    return 0;
}

int64_t schedule_next(const struct schedule *s)
{
    return s->count ? s->heap[0].due : SCHEDULE_NONE;
}

int schedule_pop_due(struct schedule *s, int64_t now, struct schedule_entry *out)
{
    struct schedule_entry last;
    size_t i = 0;

    if (!s->count || s->heap[0].due > now)
        return 0;
    *out = s->heap[0];
    last = s->heap[--s->count];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->count)
            break;
        if (child + 1 < s->count && s->heap[child + 1].due < s->heap[child].due)
            child++;
        if (last.due <= s->heap[child].due)
            break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    if (s->count)
        s->heap[i] = last;
    return 1;
}

int64_t schedule_due(int64_t start, int64_t offset_us, double speed)
{
    if (offset_us <= 0)
        return start;
    return start + (int64_t)((double)offset_us / speed);
}
