#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct metric {
    char *name;
    double value;
};

struct metrics {
    pthread_mutex_t lock;
    struct metric *items;
    size_t count, cap;
};

int metrics_new(struct metrics **out, struct error *err)
{
    struct metrics *m = calloc(1, sizeof *m);
    *out = NULL;
    if (!m)
        return error_set(err, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    *out = m;
    return 0;
}

void metrics_free(struct metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->count; i++)
        free(m->items[i].name);
    free(m->items);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static struct metric *find(struct metrics *m, const char *name)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->items[i].name, name) == 0)
            return &m->items[i];
    return NULL;
}

int metrics_set(struct metrics *m, const char *name, double value)
{
    struct metric *item;
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    if ((item = find(m, name))) {
        item->value = value;
        goto out;
    }
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        struct metric *grown = realloc(m->items, cap * sizeof *grown);
        if (!grown) {
            rc = ERR_NOMEM;
            goto out;
        }
        m->items = grown;
        m->cap = cap;
    }
    if (!(m->items[m->count].name = strdup(name))) {
        rc = ERR_NOMEM;
        goto out;
    }
    m->items[m->count++].value = value;
out:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

bool metrics_get(struct metrics *m, const char *name, double *value)
{
    struct metric *item;
    pthread_mutex_lock(&m->lock);
    item = find(m, name);
    if (item)
        *value = item->value;
    pthread_mutex_unlock(&m->lock);
    return item != NULL;
}

json_t *metrics_json(struct metrics *m)
{
    json_t *obj = json_object();
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; obj && i < m->count; i++) {
        double v = m->items[i].value;
        json_object_set_new(obj, m->items[i].name,
                            v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v)
                                                           : json_real(v));
    }
    pthread_mutex_unlock(&m->lock);
    return obj;
}

bool metrics_name_matches(const char *pattern, const char *name)
{
    for (;;) {
        const char *pdot = strchr(pattern, '.'), *ndot = strchr(name, '.');
        size_t plen = pdot ? (size_t)(pdot - pattern) : strlen(pattern);
        size_t nlen = ndot ? (size_t)(ndot - name) : strlen(name);
        bool wildcard = plen == 1 && pattern[0] == '*';
        if (!wildcard && (plen != nlen || memcmp(pattern, name, plen) != 0))
            return false;
        if (wildcard && nlen == 0)
            return false;
        if (!pdot || !ndot)
            return !pdot && !ndot;
        pattern = pdot + 1;
        name = ndot + 1;
    }
}
