#include "resp_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_pointer.h"
#include "sha256.h"

#define HEADER_NAME_MAX 256
#define HEADER_VALUES_MAX ((size_t)1 << 20)
#define HEADERS_COMPARED 256 /* names looked at per response */

static const char *const kind_names[RESP_KINDS] = {"added", "removed", "changed",
                                                   "type_changed", "order_changed"};

const char *resp_kind_name(enum resp_kind kind)
{
    return (unsigned)kind < RESP_KINDS ? kind_names[kind] : "changed";
}

/* ------------------------------------------------------------------ sides */

void resp_side_init(struct resp_side *s, size_t max_decoded)
{
    memset(s, 0, sizeof *s);
    body_decoder_init(&s->dec, max_decoded);
    jdoc_init(&s->doc);
}

void resp_side_release(struct resp_side *s)
{
    body_decoder_release(&s->dec);
    jdoc_release(&s->doc);
}

void resp_side_set(struct resp_side *s, const struct http_message *m, bool omitted,
                   const char *sha256)
{
    s->msg = m;
    s->omitted = omitted;
    snprintf(s->sha256, sizeof s->sha256, "%s", sha256 && strlen(sha256) == 64 ? sha256 : "");
    s->decoded = false;
    s->parsed = 0;
}

const struct body_view *resp_side_body(struct resp_side *s)
{
    if (!s->decoded) {
        body_decode(&s->dec, s->msg, s->omitted, &s->view);
        s->cls = s->view.cls;
        s->decoded = true;
    }
    return &s->view;
}

enum body_class resp_side_class(struct resp_side *s)
{
    resp_side_body(s);
    if (s->cls == BODY_JSON && !s->omitted && s->parsed == 0) {
        struct error err;
        error_init(&err);
        if (jdoc_parse(&s->doc, s->view.data, s->view.len, "body", NULL, &err) == 0) {
            s->parsed = 1;
        } else {
            /* said to be JSON, but is not: compared as what it is */
            s->parsed = -1;
            s->cls = body_is_text(s->view.data, s->view.len) ? BODY_TEXT : BODY_BINARY;
        }
    }
    return s->cls;
}

const char *resp_side_sha256(struct resp_side *s)
{
    if (!s->sha256[0] && !s->omitted) {
        struct sha256 *h = sha256_new();
        if (!h || !sha256_update(h, s->msg->body, s->msg->body_len) ||
            !sha256_final_hex(h, s->sha256))
            s->sha256[0] = '\0';
        sha256_free(h);
    }
    return s->sha256;
}

/* ------------------------------------------------------------------ diffs */

struct order_cache {
    const char *path; /* the array, in the arena */
    bool reordered;
    bool emitted;
};

void resp_diff_init(struct resp_diff *d)
{
    struct error err;

    memset(d, 0, sizeof *d);
    jdiff_result_init(&d->json);
    jdiff_result_init(&d->whole);
    line_diff_init(&d->lines);
    arena_init(&d->strings, 16 * 1024);
    buf_init(&d->scratch[0], HEADER_VALUES_MAX);
    buf_init(&d->scratch[1], HEADER_VALUES_MAX);
    /* Two different roots: their diff is one type change at "", which an
     * ignore rule for the whole body hides (see whole_body_ignored). */
    jdoc_init(&d->stand_in[0]);
    jdoc_init(&d->stand_in[1]);
    error_init(&err);
    jdoc_parse(&d->stand_in[0], "null", 4, "stand-in", NULL, &err);
    jdoc_parse(&d->stand_in[1], "true", 4, "stand-in", NULL, &err);
}

void resp_diff_release(struct resp_diff *d)
{
    free(d->items);
    jdiff_result_release(&d->json);
    jdiff_result_release(&d->whole);
    line_diff_release(&d->lines);
    arena_release(&d->strings);
    buf_release(&d->scratch[0]);
    buf_release(&d->scratch[1]);
    jdoc_release(&d->stand_in[0]);
    jdoc_release(&d->stand_in[1]);
    free(d->orders);
    memset(d, 0, sizeof *d);
}

static const char *save(struct resp_diff *d, const char *s, size_t len)
{
    char *p = arena_alloc(&d->strings, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static int add_item(struct resp_diff *d, enum resp_part part, enum resp_kind kind,
                    const char *path, size_t path_len, const char *field, size_t field_len,
                    uint32_t jitem)
{
    if (!path || !field)
        return ERR_NOMEM;
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 32;
        struct resp_item *p = realloc(d->items, cap * sizeof *p);
        if (!p)
            return ERR_NOMEM;
        d->items = p;
        d->cap = cap;
    }
    d->items[d->count++] = (struct resp_item){(uint8_t)part, (uint8_t)kind, path, path_len,
                                              field, field_len, jitem};
    return 0;
}

static void add_hits(const struct resp_compare_opts *opt, const struct jdiff_result *r)
{
    size_t n = diff_rules_count(opt->rules);
    if (!opt->hits)
        return;
    for (size_t i = 0; i < r->rule_hits_len && i < n; i++)
        opt->hits[i] += r->rule_hits[i];
}

/* ---------------------------------------------------------------- headers */

static bool same_name(const struct http_header *h, const char *name, size_t len)
{
    return h->name_len == len && strncasecmp(h->name, name, len) == 0;
}

/* All values of header `name` joined with ", ", trimmed; false if absent. */
static bool header_values(const struct http_message *m, const char *name, size_t len,
                          struct buf *out)
{
    bool found = false;
    buf_reset(out);
    for (size_t i = 0; i < m->header_count; i++) {
        const struct http_header *h = &m->headers[i];
        const char *v = h->value;
        size_t n = h->value_len;
        if (!same_name(h, name, len))
            continue;
        while (n && (*v == ' ' || *v == '\t'))
            v++, n--;
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (found)
            buf_append(out, ", ", 2);
        buf_append(out, v, n); /* a cut value still compares */
        found = true;
    }
    return found;
}

/* "content-type" → "Content-Type": one spelling whatever the responses used. */
static void canonical_name(const char *name, size_t len, char *canon, char *lower)
{
    bool up = true;
    for (size_t i = 0; i < len; i++) {
        char c = name[i], l = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        lower[i] = l;
        canon[i] = (char)(up && l >= 'a' && l <= 'z' ? l - 32 : l);
        up = c == '-';
    }
    canon[len] = lower[len] = '\0';
}

static int compare_header(struct resp_diff *d, const struct http_message *a,
                          const struct http_message *b, const char *name, size_t len,
                          const struct resp_compare_opts *opt)
{
    char canon[HEADER_NAME_MAX], lower[HEADER_NAME_MAX];
    enum diff_header_decision dec;
    bool in_a, in_b, differs;
    int rule = -1;

    if (len >= HEADER_NAME_MAX)
        len = HEADER_NAME_MAX - 1;
    canonical_name(name, len, canon, lower);
    dec = diff_rules_header(opt->rules, opt->method, opt->tmpl, canon, &rule);
    if (dec == DIFF_HEADER_SKIP)
        return 0;
    in_a = header_values(a, name, len, &d->scratch[0]);
    in_b = header_values(b, name, len, &d->scratch[1]);
    differs = in_a != in_b || d->scratch[0].len != d->scratch[1].len ||
              memcmp(d->scratch[0].data ? d->scratch[0].data : "",
                     d->scratch[1].data ? d->scratch[1].data : "", d->scratch[0].len) != 0;
    if (dec == DIFF_HEADER_IGNORED) {
        if (differs) {
            d->ignored++;
            if (opt->hits && rule >= 0)
                opt->hits[rule]++;
        }
        return 0;
    }
    /* named by a rule: as the rule spells it ("ETag", not "Etag") */
    if (rule >= 0) {
        const struct diff_rule_info *info = diff_rules_info(opt->rules, (unsigned)rule);
        if (info && strcmp(info->subject, "*") != 0 && strlen(info->subject) == len)
            memcpy(canon, info->subject, len);
    }
    if (opt->hits && rule >= 0)
        opt->hits[rule]++; /* a "headers" rule: one more header it had compared */
    else if (opt->default_hits && rule < 0)
        (*opt->default_hits)++;
    if (!differs)
        return 0;
    return add_item(d, RESP_HEADER, !in_a ? RESP_ADDED : !in_b ? RESP_REMOVED : RESP_CHANGED,
                    save(d, canon, len), len, save(d, lower, len), len, UINT32_MAX);
}

static int compare_headers(struct resp_diff *d, const struct http_message *a,
                           const struct http_message *b, const struct resp_compare_opts *opt)
{
    /* names are matched pairwise: bound the work a hostile response costs */
    size_t na = a->header_count < HEADERS_COMPARED ? a->header_count : HEADERS_COMPARED;
    size_t nb = b->header_count < HEADERS_COMPARED ? b->header_count : HEADERS_COMPARED;
    int rc = 0;

    /* every name once, whichever side has it, in order of appearance */
    for (size_t i = 0; i < na && !rc; i++) {
        const struct http_header *h = &a->headers[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_name(&a->headers[j], h->name, h->name_len);
        if (!seen)
            rc = compare_header(d, a, b, h->name, h->name_len, opt);
    }
    for (size_t i = 0; i < nb && !rc; i++) {
        const struct http_header *h = &b->headers[i];
        bool seen = false;
        for (size_t j = 0; j < na && !seen; j++)
            seen = same_name(&a->headers[j], h->name, h->name_len);
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_name(&b->headers[j], h->name, h->name_len);
        if (!seen)
            rc = compare_header(d, a, b, h->name, h->name_len, opt);
    }
    return rc;
}

/* ------------------------------------------------------------ array order */

struct hashed {
    uint64_t hash;
    uint32_t node;
};

static int hashed_cmp(const void *x, const void *y)
{
    const struct hashed *a = x, *b = y;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

static size_t collect(const struct jdoc *d, uint32_t arr, struct hashed *out)
{
    size_t n = 0;
    for (uint32_t e = jdoc_first(d, arr); e != JDOC_NONE; e = jdoc_next(d, arr, e))
        out[n++] = (struct hashed){d->nodes[e].hash, e};
    return n;
}

/* Are arrays x of A and y of B the same elements in another order? */
static bool reordered(const struct jdoc *A, uint32_t x, const struct jdoc *B, uint32_t y)
{
    size_t n;
    struct hashed *ha, *hb;
    bool same_order = true, perm = true;

    if (x == JDOC_NONE || y == JDOC_NONE || A->nodes[x].type != JDOC_ARRAY ||
        B->nodes[y].type != JDOC_ARRAY || A->nodes[x].len != B->nodes[y].len ||
        A->nodes[x].len < 2)
        return false;
    n = A->nodes[x].len;
    if (!(ha = malloc(2 * n * sizeof *ha)))
        return false;
    hb = ha + n;
    collect(A, x, ha);
    collect(B, y, hb);
    for (size_t i = 0; i < n && same_order; i++)
        same_order = ha[i].hash == hb[i].hash;
    qsort(ha, n, sizeof *ha, hashed_cmp);
    qsort(hb, n, sizeof *hb, hashed_cmp);
    for (size_t i = 0; i < n && perm; i++)
        perm = ha[i].hash == hb[i].hash && jdoc_equal(A, ha[i].node, B, hb[i].node, false);
    free(ha);
    return perm && !same_order;
}

/* Length of the first `tokens` tokens of pointer p. */
static size_t prefix_len(const char *p, size_t tokens)
{
    size_t i = 0;
    while (tokens-- > 0 && p[i] == '/') {
        i++;
        while (p[i] && p[i] != '/')
            i++;
    }
    return i;
}

static struct order_cache *order_lookup(struct resp_diff *d, const char *q, size_t qlen,
                                        const struct jdoc *A, const struct jdoc *B)
{
    struct jpointer ptr;
    struct order_cache *c;
    struct error err;

    for (size_t i = 0; i < d->norders; i++)
        if (strlen(d->orders[i].path) == qlen && memcmp(d->orders[i].path, q, qlen) == 0)
            return &d->orders[i];
    if (d->norders == d->orders_cap) {
        size_t cap = d->orders_cap ? d->orders_cap * 2 : 8;
        struct order_cache *p = realloc(d->orders, cap * sizeof *p);
        if (!p)
            return NULL;
        d->orders = p;
        d->orders_cap = cap;
    }
    c = &d->orders[d->norders];
    if (!(c->path = save(d, q, qlen)))
        return NULL;
    c->emitted = false;
    jpointer_init(&ptr);
    error_init(&err);
    c->reordered = jpointer_parse(&ptr, q, qlen, &err) == 0 &&
                   reordered(A, jpointer_find(A, 0, &ptr), B, jpointer_find(B, 0, &ptr));
    jpointer_release(&ptr);
    d->norders++;
    return c;
}

/*
 * The array above item `it` whose elements were only reordered, if any.
 * Array positions are where the field has "*" tokens.  Both documents are
 * looked up at the same pointer, so past the first array this only holds
 * for items whose paths in A and B agree up to there.
 */
static struct order_cache *reordered_ancestor(struct resp_diff *d, const struct jdiff_item *it,
                                              const struct jdoc *A, const struct jdoc *B)
{
    const char *f = it->field, *p = it->a_path ? it->a_path : it->b_path;
    size_t tokens = 0;

    for (size_t i = 0; f[i]; i++) {
        if (f[i] != '/')
            continue;
        if (f[i + 1] == '*' && (f[i + 2] == '/' || f[i + 2] == '\0')) {
            size_t qlen = prefix_len(p, tokens);
            struct order_cache *c;
            if (it->a_path && it->b_path &&
                (prefix_len(it->b_path, tokens) != qlen || memcmp(it->a_path, it->b_path, qlen)))
                return NULL;
            c = order_lookup(d, p, qlen, A, B);
            if (!c || c->reordered)
                return c;
            if (!(it->a_path && it->b_path))
                return NULL;
        }
        tokens++;
    }
    return NULL;
}

/* ------------------------------------------------------------------ bodies */

/* A difference of bodies that are not both JSON: does an ignore rule for
 * the whole body ("") hide it?  Asked of the JSON diff itself, with two
 * stand-in documents, so the rule's scope and hit counting are its own. */
static int whole_body_ignored(struct resp_diff *d, const struct resp_compare_opts *opt,
                              bool *ignored, struct error *err)
{
    struct jdiff_options jo = {opt->json, 1};
    int rc;

    *ignored = false;
    if (!opt->json)
        return 0;
    if ((rc = jdiff_docs(&d->whole, &d->stand_in[0], &d->stand_in[1], &jo, err)))
        return rc;
    if (d->whole.ignored) {
        *ignored = true;
        d->ignored += d->whole.ignored;
        add_hits(opt, &d->whole);
    }
    return 0;
}

static int whole_body(struct resp_diff *d, enum resp_kind kind,
                      const struct resp_compare_opts *opt, struct error *err)
{
    bool ignored;
    int rc = whole_body_ignored(d, opt, &ignored, err);
    if (rc || ignored)
        return rc;
    d->body_differs = true;
    d->body_differences = 1;
    return add_item(d, RESP_BODY, kind, "", 0, "", 0, UINT32_MAX);
}

static int json_items(struct resp_diff *d, const struct jdoc *A, const struct jdoc *B)
{
    int rc = 0;

    d->norders = 0;
    for (size_t i = 0; i < d->json.count && !rc; i++) {
        const struct jdiff_item *it = &d->json.items[i];
        struct order_cache *c = strchr(it->field, '*') ? reordered_ancestor(d, it, A, B) : NULL;
        if (c && c->reordered) {
            size_t len = strlen(c->path), flen, ntok = 0;
            if (c->emitted)
                continue;
            c->emitted = true;
            /* the array's field: as many tokens of the item's field */
            for (size_t t = 0; t < len; t++)
                ntok += c->path[t] == '/';
            flen = prefix_len(it->field, ntok);
            rc = add_item(d, RESP_BODY, RESP_ORDER_CHANGED, c->path, len,
                          save(d, it->field, flen), flen, UINT32_MAX);
            continue;
        }
        rc = add_item(d, RESP_BODY, (enum resp_kind)it->kind, it->path, it->path_len, it->field,
                      strlen(it->field), (uint32_t)i);
    }
    return rc;
}

static int text_items(struct resp_diff *d)
{
    char name[32];
    int rc = 0;

    for (size_t i = 0; i < d->lines.count && !rc; i++) {
        const struct line_item *li = &d->lines.items[i];
        int n = snprintf(name, sizeof name, "line:%u", li->a_line ? li->a_line : li->b_line);
        const char *s = save(d, name, (size_t)n);
        rc = add_item(d, RESP_BODY, (enum resp_kind)li->kind, s, (size_t)n, s, (size_t)n,
                      UINT32_MAX);
    }
    return rc;
}

static bool same_header(const struct http_message *a, const struct http_message *b,
                        const char *name)
{
    size_t la = 0, lb = 0;
    const char *va = body_header_value(a, name, &la), *vb = body_header_value(b, name, &lb);
    if (!va || !vb)
        return !va && !vb;
    return la == lb && memcmp(va, vb, la) == 0;
}

static int compare_bodies(struct resp_diff *d, struct resp_side *a, struct resp_side *b,
                          const struct resp_compare_opts *opt, struct error *err)
{
    const struct http_message *ma = a->msg, *mb = b->msg;
    enum body_class ca, cb;
    int rc;

    if (a->omitted || b->omitted) {
        const char *sa = resp_side_sha256(a), *sb = resp_side_sha256(b);
        d->a_cls = resp_side_class(a);
        d->b_cls = resp_side_class(b);
        if (sa[0] && sb[0] && strcmp(sa, sb) == 0)
            return 0;
        if (d->a_cls == BODY_BINARY && d->b_cls == BODY_BINARY)
            return whole_body(d, RESP_CHANGED, opt, err);
        d->undecidable = true;
        return 0;
    }
    /* the same bytes, coded the same way: equal under any rule */
    if (ma->body_len == mb->body_len && memcmp(ma->body, mb->body, ma->body_len) == 0 &&
        same_header(ma, mb, "Content-Encoding") && same_header(ma, mb, "Content-Type")) {
        d->a_cls = d->b_cls = resp_side_body(a)->cls;
        return 0;
    }
    ca = d->a_cls = resp_side_class(a);
    cb = d->b_cls = resp_side_class(b);
    if (ca == BODY_JSON && cb == BODY_JSON) {
        struct jdiff_options jo = {opt->json, opt->max_items};
        if ((rc = jdiff_docs(&d->json, &a->doc, &b->doc, &jo, err)))
            return rc;
        add_hits(opt, &d->json);
        d->body_json = true;
        d->ignored += d->json.ignored;
        d->body_differences = d->json.differences;
        d->truncated = d->json.truncated;
        d->body_differs = d->json.differences > 0;
        return json_items(d, &a->doc, &b->doc);
    }
    if (ca == BODY_TEXT && cb == BODY_TEXT) {
        bool ignored;
        if ((rc = line_diff_texts(&d->lines, a->view.data, a->view.len, b->view.data,
                                  b->view.len, opt->max_items)))
            return error_set(err, rc, "cannot compare text bodies: %s", error_description(rc));
        if (!d->lines.differences)
            return 0;
        if ((rc = whole_body_ignored(d, opt, &ignored, err)) || ignored)
            return rc;
        d->body_differs = true;
        d->body_differences = d->lines.differences;
        d->truncated = d->lines.truncated;
        return text_items(d);
    }
    if (ca == BODY_BINARY && cb == BODY_BINARY) {
        if (a->view.len == b->view.len && memcmp(a->view.data, b->view.data, a->view.len) == 0)
            return 0;
        return whole_body(d, RESP_CHANGED, opt, err);
    }
    return whole_body(d, RESP_TYPE_CHANGED, opt, err);
}

int resp_compare(struct resp_diff *d, struct resp_side *a, struct resp_side *b,
                 const struct resp_compare_opts *opt, struct error *err)
{
    int rc;

    d->count = 0;
    d->status_differs = a->msg->status != b->msg->status;
    d->undecidable = false;
    d->body_differs = false;
    d->body_json = false;
    d->a_cls = d->b_cls = BODY_BINARY;
    d->body_differences = 0;
    d->truncated = false;
    d->ignored = 0;
    d->json.count = 0;
    d->lines.count = 0;
    arena_reset(&d->strings);
    if ((rc = compare_headers(d, a->msg, b->msg, opt)) == 0)
        rc = compare_bodies(d, a, b, opt, err);
    if (rc == ERR_NOMEM || rc == ERR_TOOBIG)
        return err && err->code ? rc : error_set(err, rc, "comparing responses: %s",
                                                  error_description(rc));
    return rc;
}
