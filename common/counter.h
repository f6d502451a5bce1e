/*
 * counter.h — count occurrences per key (byte strings) in bounded memory.
 *
 * At most `max_keys` distinct keys are tracked, each exactly.  Once the
 * table is full, occurrences of keys it has not seen are added to an
 * "other" total instead (exact too), so nothing is lost from the totals and
 * memory stays bounded whatever the input holds.  Keys longer than
 * `max_key_len` are cut to that length (the caller can mark them).
 *
 * Sorting is deterministic: by count, largest first, then by key bytes.
 */
#ifndef REHEARSE_COUNTER_H
#define REHEARSE_COUNTER_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

struct counter_entry {
    const char *key; /* NUL-terminated copy, owned by the counter */
    size_t key_len;
    uint64_t count;
    uint64_t value; /* the caller's, 0 until set (e.g. an id given to the key) */
};

struct counter {
    struct counter_entry *entries; /* in order of first appearance */
    size_t count, cap;
    uint32_t *slots; /* open addressing: index+1 into entries, 0 = empty */
    size_t slot_count;
    size_t max_keys, max_key_len;
    uint64_t other;          /* occurrences of keys that did not fit */
    uint64_t total;          /* all occurrences */
    struct arena keys;
};

void counter_init(struct counter *c, size_t max_keys, size_t max_key_len);
void counter_release(struct counter *c);

/* Add n occurrences of key[0..len).  Returns 0 when the key is tracked,
 * 1 when it went to "other" (table full), ERR_NOMEM on allocation failure. */
int counter_add(struct counter *c, const char *key, size_t len, uint64_t n);

/* The entry for key[0..len), created with count 0 when new and the table
 * has room.  NULL when the table is full (*rc = 1) or memory ran out
 * (*rc = ERR_NOMEM).  The pointer is valid until the next lookup or add. */
struct counter_entry *counter_lookup(struct counter *c, const char *key, size_t len, int *rc);

/* The entries sorted by count desc, then key; a new array the caller frees.
 * NULL only when out of memory (or when there are no entries: check
 * c->count). */
struct counter_entry *counter_sorted(const struct counter *c);

#endif
