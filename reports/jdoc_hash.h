/*
 * jdoc_hash.h — the value hash of jdoc nodes, shared by the parser (which
 * stores it in every node) and the diff (which recomputes it under rules:
 * ignored members left out, tolerant numbers as one value, unordered arrays
 * combined without order).  Both must combine with the same functions, so a
 * subtree the rules do not touch hashes the same either way.
 *
 * Not a cryptographic hash: a collision can only make the diff pair array
 * elements less well, never hide a difference (equal hashes are confirmed).
 */
#ifndef REHEARSE_JDOC_HASH_H
#define REHEARSE_JDOC_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JHASH_NULL 0x6b43a9b5c1e2f1a3ULL
#define JHASH_TRUE 0x2f0e1d8c7b6a5948ULL
#define JHASH_FALSE 0x93c467e37db0c7a4ULL
#define JHASH_STRING 0xd1b54a32d192ed03ULL
#define JHASH_NUMBER 0x8cb92ba72f3d8dd7ULL
#define JHASH_ARRAY 0xaf251af3b0f025b5ULL
#define JHASH_OBJECT 0xb564ef22ec7aece5ULL
#define JHASH_UNORDERED 0x5851f42d4c957f2dULL

static inline uint64_t jhash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t jhash_rotl(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

/* Eight bytes at a time; the tail is read byte by byte. */
static inline uint64_t jhash_bytes(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= jhash_mix(w);
        h = jhash_rotl(h, 27) * 0x87c37b91114253d5ULL + 0x52dce729ULL;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        for (size_t i = 0; i < len; i++)
            w |= (uint64_t)p[i] << (8 * i);
        h ^= jhash_mix(w ^ 0x4cf5ad432745937fULL);
    }
    return jhash_mix(h);
}

/* Objects: the sum of their members' hashes, so key order does not matter. */
static inline uint64_t jhash_member(uint64_t key, uint64_t value)
{
    return jhash_mix(key ^ jhash_rotl(value, 17) * 0x9e3779b97f4a7c15ULL);
}

static inline uint64_t jhash_object_final(uint64_t sum, uint64_t members)
{
    return jhash_mix(sum ^ JHASH_OBJECT ^ members * 0x2545f4914f6cdd1dULL);
}

/* Arrays: order matters. */
static inline uint64_t jhash_array_step(uint64_t h, uint64_t element)
{
    return jhash_rotl(h ^ element, 23) * 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t jhash_array_final(uint64_t h, uint64_t elements)
{
    return jhash_mix(h ^ JHASH_ARRAY ^ elements);
}

/* Value hash of a JSON number text: equal decimal values hash equal. */
uint64_t jdoc_number_hash(const char *text, size_t len);

#endif
