#include "suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

size_t suggest_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    /* Three rows of the dynamic programme are enough for transpositions. */
    size_t rows[3][NAME_MAX_LEN + 1];

    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    for (size_t j = 0; j <= lb; j++)
        rows[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t *prev2 = rows[(i + 1) % 3], *prev = rows[(i + 2) % 3], *cur = rows[i % 3];
        size_t row_min;
        cur[0] = row_min = i;
        for (size_t j = 1; j <= lb; j++) {
            char ca = (char)tolower((unsigned char)a[i - 1]);
            char cb = (char)tolower((unsigned char)b[j - 1]);
            size_t cost = ca != cb;
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
            if (best < row_min)
                row_min = best;
        }
        if (row_min > limit)
            return limit + 1;
    }
    return rows[la % 3][lb] > limit ? limit + 1 : rows[la % 3][lb];
}

static size_t allowed(const char *typed)
{
    size_t len = strlen(typed);
    return len < 5 ? 1 : len < 9 ? 2 : len / 3;
}

int suggest_near(const char *typed, const char *candidate)
{
    return suggest_distance(typed, candidate, allowed(typed)) <= allowed(typed);
}

void suggest_init(struct suggest *s, const char *typed)
{
    s->typed = typed;
    s->best = NULL;
    s->best_distance = allowed(typed) + 1;
}

void suggest_consider(struct suggest *s, const char *candidate)
{
    size_t d = suggest_distance(s->typed, candidate, s->best_distance);
    if (d < s->best_distance && strcmp(candidate, s->typed) != 0) {
        s->best = candidate;
        s->best_distance = d;
    }
}

const char *suggest_nearest(const char *typed, const char *const *candidates)
{
    struct suggest s;
    suggest_init(&s, typed);
    for (size_t i = 0; candidates[i]; i++)
        suggest_consider(&s, candidates[i]);
    return s.best;
}
