#include "idset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"

#define CHUNK_BITS 10
#define CHUNK_WORDS ((1u << CHUNK_BITS) / 64)

struct idset_chunk {
    uint64_t key;  /* id >> CHUNK_BITS, plus one (0 marks a free slot) */
    uint64_t bits[CHUNK_WORDS];
};

void idset_init(struct idset *s)
{
    memset(s, 0, sizeof *s);
}

void idset_release(struct idset *s)
{
    free(s->chunks);
    memset(s, 0, sizeof *s);
}

static size_t slot_of(uint64_t key, size_t cap)
{
    key *= 0x9e3779b97f4a7c15ull; /* Fibonacci hashing: dense keys spread */
    return (size_t)(key >> 32) & (cap - 1);
}

static struct idset_chunk *find(struct idset_chunk *chunks, size_t cap, uint64_t key)
{
    size_t i = slot_of(key, cap);
    while (chunks[i].key && chunks[i].key != key)
        i = (i + 1) & (cap - 1);
    return &chunks[i];
}

static int grow(struct idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct idset_chunk *chunks = calloc(cap, sizeof *chunks);

    if (!chunks)
        return ERR_NOMEM;
    for (size_t i = 0; i < s->cap; i++)
        if (s->chunks[i].key)
            *find(chunks, cap, s->chunks[i].key) = s->chunks[i];
    free(s->chunks);
    s->chunks = chunks;
    s->cap = cap;
    return 0;
}

int idset_add(struct idset *s, uint64_t id)
{
    uint64_t key = (id >> CHUNK_BITS) + 1, bit = id & ((1u << CHUNK_BITS) - 1);
    struct idset_chunk *c;

    /* keep the table at most 3/4 full so probes stay short */
    if ((s->used + 1) * 4 > s->cap * 3 && grow(s))
        return ERR_NOMEM;
    c = find(s->chunks, s->cap, key);
    if (!c->key) {
        c->key = key;
        s->used++;
    }
    if (c->bits[bit / 64] & (1ull << (bit % 64)))
        return 0;
    c->bits[bit / 64] |= 1ull << (bit % 64);
    s->count++;
    return 1;
}

size_t idset_memory(const struct idset *s)
{
    return s->cap * sizeof *s->chunks;
}
