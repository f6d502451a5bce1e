#include "counter.h"

#include <stdlib.h>
#include <string.h>

#include "errors.h"

void counter_init(struct counter *c, size_t max_keys, size_t max_key_len)
{
    memset(c, 0, sizeof *c);
    c->max_keys = max_keys;
    c->max_key_len = max_key_len;
    arena_init(&c->keys, 16 * 1024);
}

void counter_release(struct counter *c)
{
    if (!c)
        return;
    free(c->entries);
    free(c->slots);
    arena_release(&c->keys);
    memset(c, 0, sizeof *c);
}

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int grow_slots(struct counter *c)
{
    size_t n = c->slot_count ? c->slot_count * 2 : 64;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return ERR_NOMEM;
    for (size_t i = 0; i < c->count; i++) {
        const struct counter_entry *e = &c->entries[i];
        size_t s = hash_bytes(e->key, e->key_len) & (n - 1);
        while (slots[s])
            s = (s + 1) & (n - 1);
        slots[s] = (uint32_t)(i + 1);
    }
    free(c->slots);
    c->slots = slots;
    c->slot_count = n;
    return 0;
}

struct counter_entry *counter_lookup(struct counter *c, const char *key, size_t len, int *rc)
{
    size_t s;
    char *copy;

    *rc = 0;
    if (len > c->max_key_len)
        len = c->max_key_len;
    if (!c->slot_count && grow_slots(c))
        goto nomem;
    s = hash_bytes(key, len) & (c->slot_count - 1);
    while (c->slots[s]) {
        struct counter_entry *e = &c->entries[c->slots[s] - 1];
        if (e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
        s = (s + 1) & (c->slot_count - 1);
    }
    if (c->count >= c->max_keys) {
        *rc = 1;
        return NULL;
    }
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct counter_entry *p = realloc(c->entries, cap * sizeof *p);
        if (!p)
            goto nomem;
        c->entries = p;
        c->cap = cap;
    }
    if (!(copy = arena_alloc(&c->keys, len + 1)))
        goto nomem;
    memcpy(copy, key, len);
    copy[len] = '\0';
    c->entries[c->count] = (struct counter_entry){copy, len, 0, 0};
    c->slots[s] = (uint32_t)++c->count;
    /* Keep the load factor at most 1/2 so probes stay short. */
    if (c->count * 2 > c->slot_count && grow_slots(c))
        goto nomem;
    return &c->entries[c->count - 1];
nomem:
    *rc = ERR_NOMEM;
    return NULL;
}

int counter_add(struct counter *c, const char *key, size_t len, uint64_t n)
{
    int rc;
    struct counter_entry *e = counter_lookup(c, key, len, &rc);

    c->total += n;
    if (e)
        e->count += n;
    else if (rc == 1)
        c->other += n;
    return rc;
}

static int by_count_then_key(const void *pa, const void *pb)
{
    const struct counter_entry *a = pa, *b = pb;
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int cmp;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    cmp = memcmp(a->key, b->key, n);
    if (cmp)
        return cmp;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

struct counter_entry *counter_sorted(const struct counter *c)
{
    struct counter_entry *copy;

    if (!c->count)
        return NULL;
    copy = malloc(c->count * sizeof *copy);
    if (!copy)
        return NULL;
    memcpy(copy, c->entries, c->count * sizeof *copy);
    qsort(copy, c->count, sizeof *copy, by_count_then_key);
    return copy;
}
