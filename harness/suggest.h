/*
 * suggest.h — "did you mean ...?" for names a user mistyped.
 */
#ifndef REHEARSE_SUGGEST_H
#define REHEARSE_SUGGEST_H

#include <stddef.h>

/* Optimal-string-alignment distance (insertions, deletions, substitutions
 * and adjacent transpositions), case-insensitive; stops counting above
 * `limit` and returns limit + 1. */
size_t suggest_distance(const char *a, const char *b, size_t limit);

/* Close enough to be a typo: distance at most 1 for short names, 2 from 5
 * characters, a third of the length beyond. */
int suggest_near(const char *typed, const char *candidate);

/* The nearest of `candidates` (NULL-terminated) that is near `typed`, or
 * NULL. */
const char *suggest_nearest(const char *typed, const char *const *candidates);

/* Incremental form for candidates that are not in an array. */
struct suggest {
    const char *typed;
    const char *best;
    size_t best_distance;
};
void suggest_init(struct suggest *s, const char *typed);
void suggest_consider(struct suggest *s, const char *candidate);

#endif
