/*
 * idset.h — a set of 64-bit ids (transaction ids), to notice one seen twice.
 *
 * Ids are kept as bitmaps of 1024 ids each, found through an open-addressing
 * table by id / 1024.  Dense ids — transaction ids count up from 1 — cost a
 * bit each (a million transactions: 128 KiB); scattered ids cost at most
 * one 128-byte bitmap (plus a table slot) per id.
 */
#ifndef REHEARSE_IDSET_H
#define REHEARSE_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct idset_chunk;

struct idset {
    struct idset_chunk *chunks; /* open addressing by id >> 10 */
    size_t cap, used;
    uint64_t count;             /* ids in the set */
};

void idset_init(struct idset *s);
void idset_release(struct idset *s);

/* 1 when id was added, 0 when it was already in the set, ERR_NOMEM. */
int idset_add(struct idset *s, uint64_t id);

/* Bytes of heap memory the set holds. */
size_t idset_memory(const struct idset *s);

#endif
