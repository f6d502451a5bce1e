/*
 * json_diff.c — the structural diff of json_diff.h.
 *
 * The walk descends both documents together.  Where a subtree's hashes are
 * equal and jdoc_equal() confirms it, the walk stops: most of a body is
 * usually equal, and that check is a fast linear pass.  Rules are matched
 * while walking: each level holds the states of the pattern automaton
 * (json_pointer.h) on a stack, so with no rule alive below a node nothing
 * is matched at all.
 *
 * Arrays are aligned on element hashes.  Under rules those are recomputed
 * so that elements equal under the rules hash equal (ignored members left
 * out, tolerant numbers as one value, unordered arrays without order);
 * hashes only choose which elements to pair, and every pair is then diffed,
 * so a collision cannot hide a difference.
 */
#include "json_diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align.h"
#include "jdoc_hash.h"
#include "json_pointer.h"
#include "jsonw.h"

#define ITEM_STRINGS_MAX ((size_t)1 << 30)
#define MYERS_MAX_EDITS 256
#define MYERS_WORK ((long)1 << 22) /* bound on (M + N) * D steps */
#define KEY_SCAN_MAX 64
#define ALIGN_MAX_CELLS 16384 /* similarity table of a stretch without equal elements */
#define ALIGN_BAND 8          /* pairs weighed this far off the allowed diagonals */
#define NO_INDEX UINT32_MAX
#define JHASH_IGNORED 0x3c6ef372fe94f82bULL
#define JHASH_TOLERANT 0xa54ff53a5f1d36f1ULL

/* ------------------------------------------------------------------ rules */

struct crule {
    enum jdiff_rule_kind kind;
    struct jpointer_pattern pat;
    struct jpointer *keys;
    size_t nkeys;
    double absolute, relative;
    unsigned id;
};

struct jdiff_rules {
    struct crule *rules;
    size_t count, cap;
    const struct jpointer_pattern **pats; /* &rules[i].pat, for the matcher */
    size_t states_max;
    unsigned id_limit;
};

const char *jdiff_rule_kind_name(enum jdiff_rule_kind kind)
{
    static const char *const names[] = {"ignore", "array_key", "unordered", "tolerance",
                                        "strict_numbers"};
    return (unsigned)kind < JDIFF_RULE_KINDS ? names[kind] : "unknown";
}

const char *jdiff_kind_name(enum jdiff_kind kind)
{
    static const char *const names[] = {"added", "removed", "changed", "type_changed"};
    return (unsigned)kind < JDIFF_KINDS ? names[kind] : "unknown";
}

struct jdiff_rules *jdiff_rules_new(void)
{
    return calloc(1, sizeof(struct jdiff_rules));
}

static void crule_release(struct crule *r)
{
    jpointer_pattern_release(&r->pat);
    for (size_t k = 0; k < r->nkeys; k++)
        jpointer_release(&r->keys[k]);
    free(r->keys);
}

void jdiff_rules_free(struct jdiff_rules *rules)
{
    if (!rules)
        return;
    for (size_t i = 0; i < rules->count; i++)
        crule_release(&rules->rules[i]);
    free(rules->rules);
    free(rules->pats);
    free(rules);
}

size_t jdiff_rules_count(const struct jdiff_rules *rules)
{
    return rules ? rules->count : 0;
}

unsigned jdiff_rules_id_limit(const struct jdiff_rules *rules)
{
    return rules ? rules->id_limit : 0;
}

int jdiff_rules_add(struct jdiff_rules *rules, const struct jdiff_rule *rule, struct error *err)
{
    struct crule c;
    int rc;

    memset(&c, 0, sizeof c);
    jpointer_pattern_init(&c.pat);
    c.kind = rule->kind;
    c.absolute = rule->absolute;
    c.relative = rule->relative;
    c.id = rule->id;
    if ((unsigned)rule->kind >= JDIFF_RULE_KINDS)
        return error_set(err, ERR_INPUT, "unknown rule kind %d", (int)rule->kind);
    if (!rule->path)
        return error_set(err, ERR_INPUT, "a %s rule needs a path",
                         jdiff_rule_kind_name(rule->kind));
    if ((rc = jpointer_pattern_compile(&c.pat, rule->path, strlen(rule->path), err)) != 0)
        goto fail;
    if (rule->kind == JDIFF_RULE_TOLERANCE &&
        !(rule->absolute >= 0 || rule->relative >= 0)) {
        rc = error_set(err, ERR_INPUT, "the tolerance rule for \"%s\" needs an absolute or "
                       "relative bound of 0 or more", rule->path);
        goto fail;
    }
    if (rule->kind == JDIFF_RULE_ARRAY_KEY) {
        size_t n = 0;
        while (rule->keys && rule->keys[n])
            n++;
        if (n == 0) {
            rc = error_set(err, ERR_INPUT, "the array_key rule for \"%s\" needs at least one "
                           "key member", rule->path);
            goto fail;
        }
        if (!(c.keys = calloc(n, sizeof *c.keys))) {
            rc = error_set(err, ERR_NOMEM, "out of memory");
            goto fail;
        }
        c.nkeys = n;
        for (size_t k = 0; k < n; k++) {
            const char *key = rule->keys[k];
            jpointer_init(&c.keys[k]);
            if (key[0] == '/') {
                if ((rc = jpointer_parse(&c.keys[k], key, strlen(key), err)) != 0)
                    goto fail;
            } else {
                /* A member name: the pointer of one token, escaped. */
                struct buf b;
                buf_init(&b, 1 << 16);
                rc = jpointer_append_token(&b, key, strlen(key));
                if (!rc)
                    rc = jpointer_parse(&c.keys[k], b.data, b.len, err);
                buf_release(&b);
                if (rc) {
                    error_set(err, rc, "array_key \"%s\": key name too long", rule->path);
                    goto fail;
                }
            }
            if (c.keys[k].count == 0) {
                rc = error_set(err, ERR_INPUT, "the array_key rule for \"%s\" has an empty key",
                               rule->path);
                goto fail;
            }
        }
    }
    if (rules->count == rules->cap) {
        size_t cap = rules->cap ? rules->cap * 2 : 8;
        struct crule *nr = realloc(rules->rules, cap * sizeof *nr);
        const struct jpointer_pattern **np = realloc(rules->pats, cap * sizeof *np);
        if (nr)
            rules->rules = nr;
        if (np)
            rules->pats = np;
        if (!nr || !np) {
            rc = error_set(err, ERR_NOMEM, "out of memory");
            goto fail;
        }
        rules->cap = cap;
    }
    rules->rules[rules->count++] = c;
    for (size_t i = 0; i < rules->count; i++)
        rules->pats[i] = &rules->rules[i].pat;
    rules->states_max = jpointer_states_max(rules->pats, rules->count);
    if (rule->id + 1 > rules->id_limit)
        rules->id_limit = rule->id + 1;
    return 0;
fail:
    crule_release(&c);
    return rc;
}

/* ---------------------------------------------------------------- context */

/* One step of the path from the root to the node being compared. */
struct seg {
    const char *key;    /* member name, or NULL for an array element */
    uint32_t klen;
    uint32_t ai, bi, pi; /* element index in A, in B, in the patch */
};

struct dctx {
    const struct jdoc *a, *b;
    const struct jdiff_rules *rules;
    struct jdiff_result *res;
    size_t max_items;
    struct seg *segs;
    size_t nseg, segcap;
    struct jpointer_state *states; /* a stack: each level's states follow its parent's */
    size_t states_len, states_cap;
    struct error *err;
};

/* The rules that apply at a node (the first of each kind). */
struct applied {
    const struct crule *ignore, *key, *unordered, *tol, *strict;
};

static void applied_rules(const struct dctx *c, size_t so, size_t sn, struct applied *ap)
{
    memset(ap, 0, sizeof *ap);
    for (size_t i = 0; i < sn; i++) {
        const struct jpointer_state *st = &c->states[so + i];
        const struct crule *r;
        const struct crule **slot;
        if (!jpointer_state_final(c->rules->pats, st))
            continue;
        r = &c->rules->rules[st->pattern];
        switch (r->kind) {
        case JDIFF_RULE_IGNORE: slot = &ap->ignore; break;
        case JDIFF_RULE_ARRAY_KEY: slot = &ap->key; break;
        case JDIFF_RULE_UNORDERED: slot = &ap->unordered; break;
        case JDIFF_RULE_TOLERANCE: slot = &ap->tol; break;
        default: slot = &ap->strict; break;
        }
        if (!*slot || r < *slot)
            *slot = r;
    }
}

/* Push the states of the child `token` of a node whose states are
 * [so, so + sn); returns the child's count, its states start at *co. */
static size_t child_states(struct dctx *c, size_t so, size_t sn, const char *token, size_t len,
                           size_t *co)
{
    size_t n;
    *co = c->states_len;
    if (!sn)
        return 0;
    n = jpointer_match_step(c->rules->pats, c->states + so, sn, token, len,
                            c->states + c->states_len);
    c->states_len += n;
    return n;
}

static size_t child_states_index(struct dctx *c, size_t so, size_t sn, uint32_t index,
                                 size_t *co)
{
    char tmp[16];
    char *p = tmp + sizeof tmp;
    if (!sn) {
        *co = c->states_len;
        return 0;
    }
    do {
        *--p = (char)('0' + index % 10);
        index /= 10;
    } while (index);
    return child_states(c, so, sn, p, (size_t)(tmp + sizeof tmp - p), co);
}

static int push_seg(struct dctx *c, const char *key, uint32_t klen, uint32_t ai, uint32_t bi,
                    uint32_t pi)
{
    if (c->nseg == c->segcap) {
        size_t cap = c->segcap ? c->segcap * 2 : 64;
        struct seg *s = realloc(c->segs, cap * sizeof *s);
        if (!s)
            return error_set(c->err, ERR_NOMEM, "out of memory");
        c->segs = s;
        c->segcap = cap;
    }
    c->segs[c->nseg++] = (struct seg){key, klen, ai, bi, pi};
    return 0;
}

/* ------------------------------------------------------------- recording */

enum path_view { VIEW_PATCH, VIEW_FIELD, VIEW_A, VIEW_B };

/* Append the current path as seen from one view; returns its offset. */
static int append_path(struct dctx *c, enum path_view view, size_t *off)
{
    struct buf *s = &c->res->strings;
    int rc = 0;

    *off = s->len;
    for (size_t i = 0; i < c->nseg && !rc; i++) {
        const struct seg *g = &c->segs[i];
        if (g->key) {
            rc = jpointer_append_token(s, g->key, g->klen);
            continue;
        }
        switch (view) {
        case VIEW_PATCH: rc = jpointer_append_index(s, g->pi); break;
        case VIEW_FIELD: rc = buf_append(s, "/*", 2); break;
        case VIEW_A: rc = jpointer_append_index(s, g->ai); break;
        default: rc = jpointer_append_index(s, g->bi); break;
        }
    }
    /* Keep a NUL after each string: they are handed out as C strings. */
    if (!rc)
        rc = buf_append(s, "", 1);
    return rc;
}

static int record(struct dctx *c, enum jdiff_kind kind, uint32_t an, uint32_t bn)
{
    struct jdiff_result *r = c->res;
    size_t *o;
    int rc;

    r->differences++;
    if (c->max_items && r->count >= c->max_items) {
        r->truncated = true;
        return 0;
    }
    if (r->count == r->items_cap) {
        size_t cap = r->items_cap ? r->items_cap * 2 : 16;
        struct jdiff_item *ni = realloc(r->items, cap * sizeof *ni);
        size_t *no;
        if (!ni)
            return error_set(c->err, ERR_NOMEM, "out of memory");
        r->items = ni;
        no = realloc(r->offsets, cap * 4 * sizeof *no);
        if (!no)
            return error_set(c->err, ERR_NOMEM, "out of memory");
        r->offsets = no;
        r->items_cap = cap;
    }
    o = r->offsets + r->count * 4;
    if ((rc = append_path(c, VIEW_PATCH, &o[0])) != 0 ||
        (rc = append_path(c, VIEW_FIELD, &o[1])) != 0)
        goto fail;
    o[2] = o[3] = SIZE_MAX;
    if (an != JDOC_NONE && (rc = append_path(c, VIEW_A, &o[2])) != 0)
        goto fail;
    if (bn != JDOC_NONE && (rc = append_path(c, VIEW_B, &o[3])) != 0)
        goto fail;
    r->items[r->count++] = (struct jdiff_item){kind, NULL, 0, NULL, NULL, NULL, an, bn};
    return 0;
fail:
    return error_set(c->err, rc, "the paths of the differences exceed %zu bytes",
                     ITEM_STRINGS_MAX);
}

static void hit(struct dctx *c, const struct crule *r)
{
    if (r->id < c->res->rule_hits_len)
        c->res->rule_hits[r->id]++;
}

static void ignore_hit(struct dctx *c, const struct crule *r)
{
    c->res->ignored++;
    hit(c, r);
}

/* ---------------------------------------------------------- rule hashing */

static bool is_ignored(struct dctx *c, size_t so, size_t sn)
{
    for (size_t i = 0; i < sn; i++) {
        const struct jpointer_state *st = &c->states[so + i];
        if (jpointer_state_final(c->rules->pats, st) &&
            c->rules->rules[st->pattern].kind == JDIFF_RULE_IGNORE)
            return true;
    }
    return false;
}

/* The hash of node i of d as the rules see it (see the top of this file). */
static uint64_t rule_hash(struct dctx *c, const struct jdoc *d, uint32_t i, size_t so,
                          size_t sn)
{
    const struct jdoc_node *n = &d->nodes[i];
    struct applied ap;
    uint64_t h = 0;
    uint32_t count = 0, k;
    size_t co, cn, mark = c->states_len;

    if (!sn)
        return n->hash;
    applied_rules(c, so, sn, &ap);
    if (ap.ignore)
        return JHASH_IGNORED;
    switch (n->type) {
    case JDOC_NUMBER:
        return ap.tol ? JHASH_TOLERANT : n->hash;
    case JDOC_OBJECT:
        for (k = jdoc_first(d, i); k != JDOC_NONE; k = jdoc_next(d, i, k)) {
            cn = child_states(c, so, sn, d->nodes[k].text, d->nodes[k].len, &co);
            if (!is_ignored(c, co, cn)) {
                h += jhash_member(d->nodes[k].hash, rule_hash(c, d, k + 1, co, cn));
                count++;
            }
            c->states_len = mark;
        }
        return jhash_object_final(h, count);
    case JDOC_ARRAY:
        h = JHASH_ARRAY;
        for (k = jdoc_first(d, i); k != JDOC_NONE; k = jdoc_next(d, i, k), count++) {
            uint64_t e;
            cn = child_states_index(c, so, sn, count, &co);
            e = rule_hash(c, d, k, co, cn);
            c->states_len = mark;
            if (ap.key || ap.unordered)
                h += jhash_mix(e ^ JHASH_UNORDERED);
            else
                h = jhash_array_step(h, e);
        }
        if (ap.key || ap.unordered)
            return jhash_mix(h ^ JHASH_UNORDERED ^ count);
        return jhash_array_final(h, count);
    default:
        return n->hash;
    }
}

/* ------------------------------------------------------------------- walk */

static int diff_node(struct dctx *c, uint32_t an, uint32_t bn, size_t so, size_t sn);

/* A value present on one side only, at the current path (already pushed). */
static int one_sided(struct dctx *c, enum jdiff_kind kind, uint32_t an, uint32_t bn, size_t so,
                     size_t sn, bool *ignored)
{
    struct applied ap;
    *ignored = false;
    if (sn) {
        applied_rules(c, so, sn, &ap);
        if (ap.ignore) {
            ignore_hit(c, ap.ignore);
            *ignored = true;
            return 0;
        }
    }
    return record(c, kind, an, bn);
}

static int member_pair(struct dctx *c, uint32_t ka, uint32_t kb, size_t so, size_t sn)
{
    const struct jdoc_node *k = &c->a->nodes[ka];
    size_t co, cn, mark = c->states_len;
    int rc;

    if ((rc = push_seg(c, k->text, k->len, 0, 0, 0)) != 0)
        return rc;
    cn = child_states(c, so, sn, k->text, k->len, &co);
    rc = diff_node(c, ka + 1, kb + 1, co, cn);
    c->states_len = mark;
    c->nseg--;
    return rc;
}

static int member_alone(struct dctx *c, const struct jdoc *d, uint32_t key, bool in_a,
                        size_t so, size_t sn)
{
    const struct jdoc_node *k = &d->nodes[key];
    size_t co, cn, mark = c->states_len;
    bool ignored;
    int rc;

    if ((rc = push_seg(c, k->text, k->len, 0, 0, 0)) != 0)
        return rc;
    cn = child_states(c, so, sn, k->text, k->len, &co);
    rc = one_sided(c, in_a ? JDIFF_REMOVED : JDIFF_ADDED, in_a ? key + 1 : JDOC_NONE,
                   in_a ? JDOC_NONE : key + 1, co, cn, &ignored);
    c->states_len = mark;
    c->nseg--;
    return rc;
}

static int diff_object(struct dctx *c, uint32_t an, uint32_t bn, size_t so, size_t sn)
{
    const struct jdoc *a = c->a, *b = c->b;
    uint32_t ka = jdoc_first(a, an), kb = jdoc_first(b, bn);
    struct jdoc_member *ra = NULL, *rb;
    uint32_t *match_a;
    uint8_t *used_b;
    size_t na = 0, nb = 0, cap;
    int rc = 0;

    /* Members usually come in the same order: pair them while they do. */
    while (ka != JDOC_NONE && kb != JDOC_NONE) {
        const struct jdoc_node *x = &a->nodes[ka], *y = &b->nodes[kb];
        if (x->len != y->len || memcmp(x->text, y->text, x->len) != 0)
            break;
        if ((rc = member_pair(c, ka, kb, so, sn)) != 0)
            return rc;
        ka = jdoc_next(a, an, ka);
        kb = jdoc_next(b, bn, kb);
    }
    if (ka == JDOC_NONE && kb == JDOC_NONE)
        return 0;

    /* The rest: sort both sides by name and merge. */
    cap = (size_t)a->nodes[an].len + b->nodes[bn].len;
    ra = malloc(cap * (sizeof *ra + sizeof *match_a + 1) + 16);
    if (!ra)
        return error_set(c->err, ERR_NOMEM, "out of memory");
    rb = ra + a->nodes[an].len;
    match_a = (uint32_t *)(ra + cap);
    used_b = (uint8_t *)(match_a + cap);
    na = jdoc_sort_members(a, an, ka, ra);
    nb = jdoc_sort_members(b, bn, kb, rb);
    memset(used_b, 0, nb);
    for (size_t i = 0; i < na; i++)
        match_a[i] = JDOC_NONE;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        int cmp = jdoc_member_cmp(a, &ra[i], b, &rb[j]);
        if (cmp < 0) {
            i++;
        } else if (cmp > 0) {
            j++;
        } else {
            match_a[ra[i].pos] = rb[j].key;
            used_b[rb[j].pos] = 1;
            i++;
            j++;
        }
    }
    /* Back in document order: A's members (paired or removed), then B's new ones. */
    na = 0;
    for (uint32_t k = ka; k != JDOC_NONE && !rc; k = jdoc_next(a, an, k), na++)
        rc = match_a[na] != JDOC_NONE ? member_pair(c, k, match_a[na], so, sn)
                                      : member_alone(c, a, k, true, so, sn);
    nb = 0;
    for (uint32_t k = kb; k != JDOC_NONE && !rc; k = jdoc_next(b, bn, k), nb++)
        if (!used_b[nb])
            rc = member_alone(c, b, k, false, so, sn);
    free(ra);
    return rc;
}

/* --------------------------------------------------------------- arrays */

/* The state of emitting one array's operations in patch order. */
struct arr {
    uint32_t *ea, *eb;  /* element nodes */
    size_t m, n;
    uint32_t p;         /* current index in the array being patched */
    size_t so, sn;      /* the array's states */
};

static int emit_pair(struct dctx *c, struct arr *w, uint32_t i, uint32_t j)
{
    size_t co, cn, mark = c->states_len;
    int rc;

    if ((rc = push_seg(c, NULL, 0, i, j, w->p)) != 0)
        return rc;
    cn = child_states_index(c, w->so, w->sn, i, &co);
    rc = diff_node(c, w->ea[i], w->eb[j], co, cn);
    c->states_len = mark;
    c->nseg--;
    w->p++;
    return rc;
}

static int emit_alone(struct dctx *c, struct arr *w, uint32_t index, bool in_a)
{
    size_t co, cn, mark = c->states_len;
    bool ignored;
    int rc;

    if ((rc = push_seg(c, NULL, 0, in_a ? index : NO_INDEX, in_a ? NO_INDEX : index, w->p)) != 0)
        return rc;
    cn = child_states_index(c, w->so, w->sn, index, &co);
    rc = one_sided(c, in_a ? JDIFF_REMOVED : JDIFF_ADDED, in_a ? w->ea[index] : JDOC_NONE,
                   in_a ? JDOC_NONE : w->eb[index], co, cn, &ignored);
    c->states_len = mark;
    c->nseg--;
    /* The patch leaves an ignored removal in place (the index moves past it)
     * and an ignored addition out (it does not). */
    if (in_a == ignored)
        w->p++;
    return rc;
}

/* A stretch with no anchor: pair in order, then remove or add the rest. */
static int emit_gap(struct dctx *c, struct arr *w, uint32_t i0, uint32_t i1, uint32_t j0,
                    uint32_t j1)
{
    int rc = 0;
    while (i0 < i1 && j0 < j1 && !rc)
        rc = emit_pair(c, w, i0++, j0++);
    while (i0 < i1 && !rc)
        rc = emit_alone(c, w, i0++, true);
    while (j0 < j1 && !rc)
        rc = emit_alone(c, w, j0++, false);
    return rc;
}

/*
 * How alike two elements are, in thousandths: the share of an object's
 * members (name and value) or an array's positions that hold equal values.
 * Each element's members are summarised once as a sorted list of member
 * hashes (its "signature"), so comparing two elements is one merge of two
 * short lists.  Used only to choose pairs in a stretch without equal
 * elements; every pair is then diffed.
 */
struct signature {
    size_t off, len;  /* its member hashes in sig->hashes */
    uint8_t type;
};

struct signatures {
    struct signature *of;
    uint64_t *hashes;
};

static int u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

static size_t sign(const struct jdoc *d, uint32_t e, struct signature *sg, uint64_t *h)
{
    const struct jdoc_node *n = &d->nodes[e];
    size_t k = 0;
    uint32_t c, index = 0;

    sg->type = n->type;
    sg->len = 0;
    if (n->type == JDOC_OBJECT) {
        for (c = jdoc_first(d, e); c != JDOC_NONE; c = jdoc_next(d, e, c))
            h[k++] = jhash_member(d->nodes[c].hash, d->nodes[c + 1].hash);
    } else if (n->type == JDOC_ARRAY) {
        for (c = jdoc_first(d, e); c != JDOC_NONE; c = jdoc_next(d, e, c))
            h[k++] = jhash_member(index++, d->nodes[c].hash);
    }
    qsort(h, k, sizeof *h, u64_cmp);
    sg->len = k;
    return k;
}

static unsigned similarity(const struct signatures *s, size_t x, size_t y)
{
    const struct signature *a = &s->of[x], *b = &s->of[y];
    const uint64_t *ha = s->hashes + a->off, *hb = s->hashes + b->off;
    size_t i = 0, j = 0, same = 0, most = a->len > b->len ? a->len : b->len;

    if (a->type != b->type || (a->type != JDOC_OBJECT && a->type != JDOC_ARRAY))
        return 0;
    if (most == 0)
        return 1000;
    while (i < a->len && j < b->len) {
        if (ha[i] < hb[j]) {
            i++;
        } else if (ha[i] > hb[j]) {
            j++;
        } else {
            same++;
            i++;
            j++;
        }
    }
    return (unsigned)(same * 1000 / most);
}

/*
 * A stretch of A [i0, i1) and B [j0, j1) without equal elements: pair the
 * elements that are most alike (the best total similarity, keeping order),
 * so an element inserted before changed ones is an add, not a shift of every
 * pair.  Stretches too large for the table are paired in order.
 */
static int align_gap(struct dctx *c, struct arr *w, uint32_t i0, uint32_t i1, uint32_t j0,
                     uint32_t j1)
{
    size_t mm = i1 - i0, nn = j1 - j0, cols = nn + 1, members = 0, at = 0;
    struct signatures sig = {NULL, NULL};
    uint32_t *score = NULL, *pi, *pj;
    uint8_t *how;
    size_t np = 0, i, j;
    long lo, hi;
    int rc = 0;

    if (mm == 0 || nn == 0 || (mm == 1 && nn == 1) || mm * nn > ALIGN_MAX_CELLS)
        return emit_gap(c, w, i0, i1, j0, j1);
    for (i = 0; i < mm; i++)
        members += c->a->nodes[w->ea[i0 + i]].len;
    for (j = 0; j < nn; j++)
        members += c->b->nodes[w->eb[j0 + j]].len;
    sig.of = malloc((mm + nn) * sizeof *sig.of);
    sig.hashes = malloc((members + 1) * sizeof *sig.hashes);
    score = malloc((mm + 1) * cols * (sizeof *score + 1) + 2 * (mm + nn) * sizeof *pi);
    if (!sig.of || !sig.hashes || !score) {
        rc = error_set(c->err, ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Signatures: A's elements at [0, mm), B's at [mm, mm + nn). */
    for (i = 0; i < mm; i++) {
        sig.of[i].off = at;
        at += sign(c->a, w->ea[i0 + i], &sig.of[i], sig.hashes + at);
    }
    for (j = 0; j < nn; j++) {
        sig.of[mm + j].off = at;
        at += sign(c->b, w->eb[j0 + j], &sig.of[mm + j], sig.hashes + at);
    }
    /* Elements changed in place (the usual case: every element got a new
     * timestamp) need no table: when each is still mostly the element at
     * the same position, pair by position. */
    if (mm == nn) {
        for (i = 0; i < mm && similarity(&sig, i, mm + i) >= 500; i++)
            ;
        if (i == mm) {
            rc = emit_gap(c, w, i0, i1, j0, j1);
            goto out;
        }
    }
    pi = score + (mm + 1) * cols;
    pj = pi + (mm + nn);
    how = (uint8_t *)(pj + (mm + nn));
    /* Only pairs near the diagonals that the difference in length allows
     * are weighed (an element is rarely paired far from where it was). */
    lo = (long)(nn < mm ? nn - mm : 0) - ALIGN_BAND;
    hi = (long)(nn > mm ? nn - mm : 0) + ALIGN_BAND;
    for (j = 0; j <= nn; j++)
        score[j] = 0;
    for (i = 1; i <= mm; i++) {
        score[i * cols] = 0;
        for (j = 1; j <= nn; j++) {
            uint32_t up = score[(i - 1) * cols + j], left = score[i * cols + j - 1], best;
            long k = (long)j - (long)i;
            unsigned sim = k >= lo && k <= hi ? similarity(&sig, i - 1, mm + j - 1) : 0;
            uint8_t h = up >= left ? 1 : 2;
            best = up >= left ? up : left;
            if (sim && score[(i - 1) * cols + j - 1] + sim >= best) {
                best = score[(i - 1) * cols + j - 1] + sim;
                h = 0;
            }
            score[i * cols + j] = best;
            how[i * cols + j] = h;
        }
    }
    for (i = mm, j = nn; i > 0 && j > 0;) {
        uint8_t h = how[i * cols + j];
        if (h == 0) {
            pi[np] = i0 + (uint32_t)i - 1;
            pj[np++] = j0 + (uint32_t)j - 1;
            i--;
            j--;
        } else if (h == 1) {
            i--;
        } else {
            j--;
        }
    }
    /* pairs were found backwards */
    for (size_t k = np; k-- > 0 && !rc;) {
        rc = emit_gap(c, w, i0, pi[k], j0, pj[k]);
        if (!rc)
            rc = emit_pair(c, w, pi[k], pj[k]);
        i0 = pi[k] + 1;
        j0 = pj[k] + 1;
    }
    if (!rc)
        rc = emit_gap(c, w, i0, i1, j0, j1);
out:
    free(sig.of);
    free(sig.hashes);
    free(score);
    return rc;
}

/* Hashes of the elements under the rules (element states use their own index). */
static void element_hashes(struct dctx *c, const struct jdoc *d, const uint32_t *e, size_t n,
                           size_t so, size_t sn, uint64_t *h)
{
    for (size_t i = 0; i < n; i++) {
        size_t co, cn, mark = c->states_len;
        if (!sn) {
            h[i] = d->nodes[e[i]].hash;
            continue;
        }
        cn = child_states_index(c, so, sn, (uint32_t)i, &co);
        h[i] = rule_hash(c, d, e[i], co, cn);
        c->states_len = mark;
    }
}

static int diff_indexed(struct dctx *c, struct arr *w, uint64_t *ha, uint64_t *hb)
{
    size_t m = w->m, n = w->n, pre = 0, suf = 0;
    uint32_t *mi = NULL, *mj;
    long count;
    int rc = 0;

    while (pre < m && pre < n && ha[pre] == hb[pre])
        pre++;
    while (suf < m - pre && suf < n - pre && ha[m - 1 - suf] == hb[n - 1 - suf])
        suf++;
    for (size_t i = 0; i < pre && !rc; i++)
        rc = emit_pair(c, w, (uint32_t)i, (uint32_t)i);
    if (rc)
        return rc;
    if (m - pre - suf == 0 || n - pre - suf == 0 || (m - pre - suf == 1 && n - pre - suf == 1)) {
        rc = emit_gap(c, w, (uint32_t)pre, (uint32_t)(m - suf), (uint32_t)pre,
                      (uint32_t)(n - suf));
    } else {
        size_t mm = m - pre - suf, nn = n - pre - suf, most = mm < nn ? mm : nn;
        mi = malloc(2 * most * sizeof *mi + 1);
        if (!mi)
            return error_set(c->err, ERR_NOMEM, "out of memory");
        mj = mi + most;
        count = align_myers(ha + pre, (long)mm, hb + pre, (long)nn, MYERS_MAX_EDITS,
                            MYERS_WORK, mi, mj);
        if (count < 0) {
            rc = align_gap(c, w, (uint32_t)pre, (uint32_t)(m - suf), (uint32_t)pre,
                           (uint32_t)(n - suf));
        } else {
            uint32_t i = (uint32_t)pre, j = (uint32_t)pre;
            for (long k = 0; k < count && !rc; k++) {
                uint32_t ti = (uint32_t)pre + mi[k], tj = (uint32_t)pre + mj[k];
                rc = align_gap(c, w, i, ti, j, tj);
                if (!rc)
                    rc = emit_pair(c, w, ti, tj);
                i = ti + 1;
                j = tj + 1;
            }
            if (!rc)
                rc = align_gap(c, w, i, (uint32_t)(m - suf), j, (uint32_t)(n - suf));
        }
        free(mi);
    }
    for (size_t k = 0; k < suf && !rc; k++)
        rc = emit_pair(c, w, (uint32_t)(m - suf + k), (uint32_t)(n - suf + k));
    return rc;
}

struct hashref {
    uint64_t hash;
    uint32_t index;
};

static int hashref_cmp(const void *x, const void *y)
{
    const struct hashref *a = x, *b = y;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* First entry of the group with `hash` in sorted refs[0..n), or n. */
static size_t group_of(const struct hashref *refs, size_t n, uint64_t hash)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (refs[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && refs[lo].hash == hash ? lo : n;
}

/* The key of element e under an array_key rule: false when it has none. */
static bool element_key(const struct jdoc *d, uint32_t e, const struct crule *r, uint64_t *hash)
{
    uint64_t h = JHASH_ARRAY;
    if (d->nodes[e].type != JDOC_OBJECT)
        return false;
    for (size_t k = 0; k < r->nkeys; k++) {
        uint32_t v = jpointer_find(d, e, &r->keys[k]);
        if (v == JDOC_NONE)
            return false;
        h = jhash_array_step(h, d->nodes[v].hash);
    }
    *hash = jhash_array_final(h, r->nkeys);
    return true;
}

static bool same_key_values(const struct dctx *c, const struct crule *r, uint32_t ea,
                            uint32_t eb)
{
    for (size_t k = 0; k < r->nkeys; k++) {
        uint32_t x = jpointer_find(c->a, ea, &r->keys[k]), y = jpointer_find(c->b, eb, &r->keys[k]);
        if (!jdoc_equal(c->a, x, c->b, y, false))
            return false;
    }
    return true;
}

/*
 * Match elements of A to elements of B: keyed (r != NULL: by key, verified)
 * or unordered (by hash).  match[i] is B's index for A's element i, or
 * NO_INDEX; used[j] marks B's matched elements.
 */
static void match_elements(struct dctx *c, struct arr *w, const struct crule *r,
                           const uint64_t *ha, const uint64_t *hb, const uint8_t *has_a,
                           const uint8_t *has_b, uint32_t *match, uint8_t *used,
                           struct hashref *refs, uint32_t *cursor)
{
    size_t nrefs = 0, loose_b = 0;

    for (size_t j = 0; j < w->n; j++)
        if (has_b[j])
            refs[nrefs++] = (struct hashref){hb[j], (uint32_t)j};
    qsort(refs, nrefs, sizeof *refs, hashref_cmp);
    for (size_t g = 0; g < nrefs; g++)
        cursor[g] = (uint32_t)g;
    memset(used, 0, w->n);
    for (size_t i = 0; i < w->m; i++) {
        match[i] = NO_INDEX;
        if (!has_a[i]) {
            /* No key: pair with the next B element without one, in order. */
            while (loose_b < w->n && has_b[loose_b])
                loose_b++;
            if (loose_b < w->n) {
                match[i] = (uint32_t)loose_b;
                used[loose_b++] = 1;
            }
            continue;
        }
        size_t g = group_of(refs, nrefs, ha[i]);
        if (g == nrefs)
            continue;
        size_t k = cursor[g], scanned = 0;
        for (; k < nrefs && refs[k].hash == ha[i] && scanned < KEY_SCAN_MAX; k++, scanned++) {
            uint32_t j = refs[k].index;
            if (used[j])
                continue;
            if (r && !same_key_values(c, r, w->ea[i], w->eb[j]))
                continue; /* a hash collision between different keys */
            match[i] = j;
            used[j] = 1;
            break;
        }
        while (cursor[g] < nrefs && refs[cursor[g]].hash == ha[i] && used[refs[cursor[g]].index])
            cursor[g]++;
    }
}

static int diff_matched(struct dctx *c, struct arr *w, const struct crule *key_rule,
                        uint64_t *ha, uint64_t *hb)
{
    size_t m = w->m, n = w->n;
    uint8_t *has = NULL, *used;
    uint32_t *match, *cursor, *left_a;
    struct hashref *refs;
    size_t nleft_a = 0, next_b = 0;
    int rc = 0;

    has = malloc(m + n + n + (m + n + m) * sizeof(uint32_t) + n * sizeof *refs + 16);
    if (!has)
        return error_set(c->err, ERR_NOMEM, "out of memory");
    used = has + m + n;
    refs = (struct hashref *)(((uintptr_t)(used + n) + 7) & ~(uintptr_t)7);
    match = (uint32_t *)(refs + n);
    cursor = match + m;
    left_a = cursor + n;
    if (key_rule) {
        for (size_t i = 0; i < m; i++)
            has[i] = element_key(c->a, w->ea[i], key_rule, &ha[i]);
        for (size_t j = 0; j < n; j++)
            has[m + j] = element_key(c->b, w->eb[j], key_rule, &hb[j]);
    } else {
        memset(has, 1, m + n);
    }
    match_elements(c, w, key_rule, ha, hb, has, has + m, match, used, refs, cursor);
    if (!key_rule) {
        /* Unordered leftovers pair up in order: one changed element reads as
         * a change, not as a removal and an addition. */
        for (size_t i = 0; i < m; i++)
            if (match[i] == NO_INDEX)
                left_a[nleft_a++] = (uint32_t)i;
        for (size_t k = 0; k < nleft_a; k++) {
            while (next_b < n && used[next_b])
                next_b++;
            if (next_b == n)
                break;
            match[left_a[k]] = (uint32_t)next_b;
            used[next_b] = 1;
        }
    }
    for (size_t i = 0; i < m && !rc; i++)
        rc = match[i] != NO_INDEX ? emit_pair(c, w, (uint32_t)i, match[i])
                                  : emit_alone(c, w, (uint32_t)i, true);
    for (size_t j = 0; j < n && !rc; j++)
        if (!used[j])
            rc = emit_alone(c, w, (uint32_t)j, false);
    free(has);
    return rc;
}

static int diff_array(struct dctx *c, uint32_t an, uint32_t bn, size_t so, size_t sn,
                      const struct applied *ap)
{
    struct arr w = {.m = c->a->nodes[an].len, .n = c->b->nodes[bn].len, .so = so, .sn = sn};
    uint64_t *ha;
    size_t k;
    uint32_t e;
    int rc;

    w.ea = malloc((w.m + w.n) * (sizeof(uint32_t) + sizeof(uint64_t)) + 8);
    if (!w.ea)
        return error_set(c->err, ERR_NOMEM, "out of memory");
    w.eb = w.ea + w.m;
    ha = (uint64_t *)(((uintptr_t)(w.eb + w.n) + 7) & ~(uintptr_t)7);
    for (e = jdoc_first(c->a, an), k = 0; e != JDOC_NONE; e = jdoc_next(c->a, an, e))
        w.ea[k++] = e;
    for (e = jdoc_first(c->b, bn), k = 0; e != JDOC_NONE; e = jdoc_next(c->b, bn, e))
        w.eb[k++] = e;
    if (ap->key) {
        hit(c, ap->key);
        rc = diff_matched(c, &w, ap->key, ha, ha + w.m);
    } else {
        element_hashes(c, c->a, w.ea, w.m, so, sn, ha);
        element_hashes(c, c->b, w.eb, w.n, so, sn, ha + w.m);
        if (ap->unordered) {
            hit(c, ap->unordered);
            rc = diff_matched(c, &w, NULL, ha, ha + w.m);
        } else {
            rc = diff_indexed(c, &w, ha, ha + w.m);
        }
    }
    free(w.ea);
    return rc;
}

static bool within_tolerance(const struct crule *r, const struct jdoc_node *x,
                             const struct jdoc_node *y)
{
    double a = jdoc_number_double(x), b = jdoc_number_double(y), d = fabs(a - b);
    double big = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    if (isnan(d))
        return false;
    return (r->absolute >= 0 && d <= r->absolute) || (r->relative >= 0 && d <= r->relative * big);
}

static int diff_node(struct dctx *c, uint32_t an, uint32_t bn, size_t so, size_t sn)
{
    const struct jdoc_node *x = &c->a->nodes[an], *y = &c->b->nodes[bn];
    struct applied ap;

    memset(&ap, 0, sizeof ap);
    if (sn) {
        applied_rules(c, so, sn, &ap);
        if (ap.ignore) {
            if (!jdoc_equal(c->a, an, c->b, bn, false))
                ignore_hit(c, ap.ignore);
            return 0;
        }
    }
    /* Identical, integer-or-real spelling included: equal under any rules. */
    if (x->hash == y->hash && jdoc_equal(c->a, an, c->b, bn, true))
        return 0;
    if (x->type != y->type)
        return record(c, JDIFF_TYPE_CHANGED, an, bn);
    switch (x->type) {
    case JDOC_NUMBER:
        if (ap.strict && (x->flags & JDOC_F_INTEGER) != (y->flags & JDOC_F_INTEGER)) {
            hit(c, ap.strict);
            return record(c, JDIFF_TYPE_CHANGED, an, bn);
        }
        if (jdoc_number_equal(x->text, x->len, y->text, y->len))
            return 0;
        if (ap.tol && within_tolerance(ap.tol, x, y)) {
            hit(c, ap.tol);
            return 0;
        }
        return record(c, JDIFF_CHANGED, an, bn);
    case JDOC_OBJECT:
        return diff_object(c, an, bn, so, sn);
    case JDOC_ARRAY:
        return diff_array(c, an, bn, so, sn, &ap);
    case JDOC_NULL:
        return 0;
    default: /* booleans and strings: the identity check above said they differ */
        return record(c, JDIFF_CHANGED, an, bn);
    }
}

/* ----------------------------------------------------------------- result */

void jdiff_result_init(struct jdiff_result *r)
{
    memset(r, 0, sizeof *r);
    buf_init(&r->strings, ITEM_STRINGS_MAX);
}

void jdiff_result_release(struct jdiff_result *r)
{
    if (!r)
        return;
    free(r->items);
    free(r->rule_hits);
    free(r->offsets);
    buf_release(&r->strings);
    jdiff_result_init(r);
}

int jdiff_docs(struct jdiff_result *r, const struct jdoc *a, const struct jdoc *b,
               const struct jdiff_options *opt, struct error *err)
{
    struct dctx c;
    unsigned hits = opt && opt->rules ? jdiff_rules_id_limit(opt->rules) : 0;
    size_t so = 0, sn = 0;
    int rc;

    r->count = 0;
    r->differences = 0;
    r->ignored = 0;
    r->truncated = false;
    r->a = a;
    r->b = b;
    buf_reset(&r->strings);
    if (hits > r->hits_cap) {
        uint64_t *h = realloc(r->rule_hits, hits * sizeof *h);
        if (!h)
            return error_set(err, ERR_NOMEM, "out of memory");
        r->rule_hits = h;
        r->hits_cap = hits;
    }
    r->rule_hits_len = hits;
    if (hits)
        memset(r->rule_hits, 0, hits * sizeof *r->rule_hits);
    if (!a->count || !b->count)
        return error_set(err, ERR_STATE, "jdiff_docs: a document is empty (not parsed)");

    memset(&c, 0, sizeof c);
    c.a = a;
    c.b = b;
    c.res = r;
    c.err = err;
    c.max_items = opt ? opt->max_items : 0;
    c.rules = opt && opt->rules && opt->rules->count ? opt->rules : NULL;
    if (c.rules) {
        /* Room for every level's states: nothing moves while walking. */
        size_t depth = (a->depth > b->depth ? a->depth : b->depth) + 2;
        c.states_cap = depth * c.rules->states_max;
        c.states = malloc(c.states_cap * sizeof *c.states);
        if (!c.states)
            return error_set(err, ERR_NOMEM, "out of memory");
        sn = jpointer_match_start(c.rules->pats, c.rules->count, c.states);
        c.states_len = sn;
    }
    rc = diff_node(&c, 0, 0, so, sn);
    free(c.states);
    free(c.segs);
    if (rc)
        return rc;
    for (size_t i = 0; i < r->count; i++) {
        const size_t *o = r->offsets + i * 4;
        struct jdiff_item *it = &r->items[i];
        it->path = r->strings.data + o[0];
        it->path_len = o[1] - o[0] - 1;
        it->field = r->strings.data + o[1];
        it->a_path = o[2] == SIZE_MAX ? NULL : r->strings.data + o[2];
        it->b_path = o[3] == SIZE_MAX ? NULL : r->strings.data + o[3];
    }
    return 0;
}

static const char *op_name(enum jdiff_kind kind)
{
    return kind == JDIFF_ADDED ? "add" : kind == JDIFF_REMOVED ? "remove" : "replace";
}

int jdiff_patch(const struct jdiff_result *r, json_t **patch, struct error *err)
{
    json_t *arr = json_array();
    int rc;

    *patch = NULL;
    if (!arr)
        return error_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->count; i++) {
        const struct jdiff_item *it = &r->items[i];
        json_t *op = json_pack("{s:s, s:s%}", "op", op_name(it->kind), "path", it->path,
                               it->path_len);
        json_t *value;
        if (!op || json_array_append_new(arr, op)) {
            json_decref(arr);
            return error_set(err, ERR_NOMEM, "out of memory");
        }
        if (it->kind == JDIFF_REMOVED)
            continue;
        if ((rc = jdoc_to_jansson(r->b, it->b_node, &value, err)) != 0) {
            json_decref(arr);
            return rc;
        }
        if (json_object_set_new(op, "value", value)) {
            json_decref(arr);
            return error_set(err, ERR_NOMEM, "out of memory");
        }
    }
    *patch = arr;
    return 0;
}

int jdiff_write_op(struct buf *out, const struct jdiff_result *r, size_t i, unsigned flags)
{
    const struct jdiff_item *it = &r->items[i];
    unsigned wflags = flags & JDOC_WRITE_HTML_SAFE ? JSONW_HTML_SAFE : 0;
    int rc;

    if ((rc = buf_printf(out, "{\"op\": \"%s\", \"path\": ", op_name(it->kind))) != 0 ||
        (rc = jsonw_string(out, it->path, it->path_len, wflags)) != 0)
        return rc;
    if (it->kind != JDIFF_REMOVED) {
        if ((rc = buf_append_str(out, ", \"value\": ")) != 0 ||
            (rc = jdoc_write(out, r->b, it->b_node, 0, flags)) != 0)
            return rc;
    }
    return buf_append_char(out, '}');
}

int jdiff_write_patch(struct buf *out, const struct jdiff_result *r, unsigned flags)
{
    int rc;

    if (r->count == 0)
        return buf_append(out, "[]\n", 3);
    if ((rc = buf_append(out, "[\n", 2)) != 0)
        return rc;
    for (size_t i = 0; i < r->count; i++) {
        if ((rc = buf_append(out, "  ", 2)) != 0 ||
            (rc = jdiff_write_op(out, r, i, flags)) != 0 ||
            (rc = buf_append_str(out, i + 1 < r->count ? ",\n" : "\n")) != 0)
            return rc;
    }
    return buf_append(out, "]\n", 2);
}
