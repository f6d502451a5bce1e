#include "flow_table.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 4096

struct flow_table {
    struct flow **buckets;
    size_t nbuckets;         /* power of two */
    uint64_t count;
    uint64_t next_conn;
    size_t user_size;
    size_t flow_size;        /* struct flow + user area */
    struct flow *oldest, *newest;
    struct membudget *budget;
};

struct flow_table *flow_table_new(size_t user_size, struct membudget *budget)
{
    struct flow_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->buckets = calloc(INITIAL_BUCKETS, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    t->nbuckets = INITIAL_BUCKETS;
    t->user_size = user_size;
    t->flow_size = ((sizeof(struct flow) + 15) & ~(size_t)15) + user_size;
    t->budget = budget;
    return t;
}

void flow_table_free(struct flow_table *t)
{
    if (!t)
        return;
    while (t->oldest)
        flow_table_remove(t, t->oldest);
    free(t->buckets);
    free(t);
}

static uint64_t key_hash(const struct flow_key *k)
{
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 0x243F6A8885A308D3ull;
    for (size_t i = 0; i < sizeof *k; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    return h;
}

/* Build the canonical key; *dir says which way the packet goes. */
static void key_make(const struct packet *pkt, struct flow_key *k, int *dir)
{
    size_t alen = pkt->ip.version == 4 ? 4 : 16;
    int c;

    memset(k, 0, sizeof *k);
    k->version = pkt->ip.version;
    c = memcmp(pkt->ip.src, pkt->ip.dst, alen);
    if (c == 0)
        c = pkt->sport < pkt->dport ? -1 : pkt->sport > pkt->dport;
    *dir = c > 0;
    memcpy(k->addr[*dir], pkt->ip.src, alen);
    memcpy(k->addr[!*dir], pkt->ip.dst, alen);
    k->port[*dir] = pkt->sport;
    k->port[!*dir] = pkt->dport;
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
    if (f->older)
        f->older->newer = f->newer;
    else
        t->oldest = f->newer;
    if (f->newer)
        f->newer->older = f->older;
    else
        t->newest = f->older;
    f->older = f->newer = NULL;
}

static void lru_append(struct flow_table *t, struct flow *f)
{
    f->older = t->newest;
    f->newer = NULL;
    if (t->newest)
        t->newest->newer = f;
    else
        t->oldest = f;
    t->newest = f;
}

static void grow(struct flow_table *t)
{
    size_t n = t->nbuckets * 2;
    struct flow **b = calloc(n, sizeof *b);
    if (!b)
        return; /* chains just get longer */
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct flow *f = t->buckets[i], *next;
        for (; f; f = next) {
            next = f->hnext;
            f->hnext = b[f->hash & (n - 1)];
            b[f->hash & (n - 1)] = f;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

struct flow *flow_table_find(struct flow_table *t, const struct packet *pkt, int64_t now,
                             bool create, bool *created, int *dir)
{
    struct flow_key k;
    struct flow *f, **slot;
    uint64_t h;

    key_make(pkt, &k, dir);
    h = key_hash(&k);
    slot = &t->buckets[h & (t->nbuckets - 1)];
    for (f = *slot; f; f = f->hnext) {
        if (f->hash == h && memcmp(&f->key, &k, sizeof k) == 0) {
            f->last_seen = now;
            if (t->newest != f) {
                lru_unlink(t, f);
                lru_append(t, f);
            }
            return f;
        }
    }
    if (!create)
        return NULL;
    f = calloc(1, t->flow_size);
    if (!f)
        return NULL;
    membudget_force(t->budget, t->flow_size);
    f->hash = h;
    f->key = k;
    f->conn = ++t->next_conn;
    f->first_seen = f->last_seen = now;
    f->hnext = *slot;
    *slot = f;
    lru_append(t, f);
    if (++t->count > t->nbuckets)
        grow(t);
    *created = true;
    return f;
}

void flow_table_renumber(struct flow_table *t, struct flow *f)
{
    f->conn = ++t->next_conn;
}

struct flow *flow_table_oldest(const struct flow_table *t)
{
    return t->oldest;
}

void flow_table_remove(struct flow_table *t, struct flow *f)
{
    struct flow **pp = &t->buckets[f->hash & (t->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    lru_unlink(t, f);
    t->count--;
    membudget_give(t->budget, t->flow_size);
    free(f);
}

uint64_t flow_table_count(const struct flow_table *t)
{
    return t->count;
}

uint64_t flow_table_connections(const struct flow_table *t)
{
    return t->next_conn;
}

size_t flow_table_flow_size(const struct flow_table *t)
{
    return t->flow_size;
}

void flow_key_endpoint(const struct flow_key *k, int side, char *out, size_t size)
{
    char addr[INET6_ADDRSTRLEN];
    if (k->version == 4) {
        inet_ntop(AF_INET, k->addr[side], addr, sizeof addr);
        snprintf(out, size, "%s:%u", addr, k->port[side]);
    } else {
        inet_ntop(AF_INET6, k->addr[side], addr, sizeof addr);
        snprintf(out, size, "[%s]:%u", addr, k->port[side]);
    }
}
