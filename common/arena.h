/*
 * arena.h — a bump allocator for data that lives exactly as long as one
 * record (one line of a trace or results file): allocate freely while
 * decoding the line, then arena_reset() frees it all at once.
 */
#ifndef REHEARSE_ARENA_H
#define REHEARSE_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
    struct arena_block *head;  /* current block; older ones are chained */
    size_t block_size;
};

void arena_init(struct arena *a, size_t block_size);
/* Memory aligned for any type, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* Copies of s[0..len) / of a C string, NUL-terminated; NULL when out of
 * memory (arena_strdup(a, NULL) is NULL too). */
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/* Free everything allocated since init/reset; keeps one block for reuse. */
void arena_reset(struct arena *a);
void arena_release(struct arena *a);

#endif
