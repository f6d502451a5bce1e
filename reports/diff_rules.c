/*
 * diff_rules.c — load and query the rules file (diff_rules.h).
 */
#include "diff_rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jdoc.h"

struct rule {
    struct diff_rule_info info;
    int endpoint;          /* index into eps, or -1 for global */
    char **keys;           /* array_key names, NULL-ended (owned) */
};

struct endpoint {
    char *method;          /* "GET", or "*" for any */
    char *tmpl;            /* "/users/{id}" */
    char *scope;           /* "GET /users/{id}" as written */
};

struct cached {
    char *method, *tmpl;
    struct jdiff_rules *set;
};

struct diff_rules {
    struct rule *rules;
    size_t count, cap;
    struct endpoint *eps;
    size_t neps;
    char **templates;
    size_t ntemplates;
    size_t (*template_at)[2]; /* line and column of each template */
    struct jpointer_pattern *redact;
    size_t nredact;
    struct cached *cache;
    size_t ncache, cachecap;
};

const char *diff_rule_kind_name(enum diff_rule_kind kind)
{
    switch (kind) {
    case DIFF_RULE_HEADER: return "headers";
    case DIFF_RULE_IGNORE_HEADER: return "ignore_headers";
    case DIFF_RULE_REDACT: return "redact";
    case DIFF_RULE_REDACT_HEADER: return "redact_headers";
    default: return jdiff_rule_kind_name((enum jdiff_rule_kind)kind);
    }
}

static void free_keys(char **keys);

void diff_rules_free(struct diff_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++) {
        free((char *)r->rules[i].info.subject);
        free_keys(r->rules[i].keys);
    }
    free(r->rules);
    for (size_t i = 0; i < r->neps; i++) {
        free(r->eps[i].method);
        free(r->eps[i].tmpl);
        free(r->eps[i].scope);
    }
    free(r->eps);
    for (size_t i = 0; i < r->ntemplates; i++)
        free(r->templates[i]);
    free(r->templates);
    free(r->template_at);
    for (size_t i = 0; i < r->nredact; i++)
        jpointer_pattern_release(&r->redact[i]);
    free(r->redact);
    for (size_t i = 0; i < r->ncache; i++) {
        free(r->cache[i].method);
        free(r->cache[i].tmpl);
        jdiff_rules_free(r->cache[i].set);
    }
    free(r->cache);
    free(r);
}

size_t diff_rules_count(const struct diff_rules *r)
{
    return r ? r->count : 0;
}

const struct diff_rule_info *diff_rules_info(const struct diff_rules *r, unsigned id)
{
    return r && id < r->count ? &r->rules[id].info : NULL;
}

/* ----------------------------------------------------------------- loading */

struct loader {
    struct diff_rules *r;
    struct jdoc *d;
    struct error *err;
};

__attribute__((format(printf, 3, 4)))
static int fail_at(struct loader *L, uint32_t node, const char *fmt, ...)
{
    char msg[700];
    size_t line, col;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jdoc_location(L->d, L->d->nodes[node].offset, &line, &col);
    return error_set(L->err, ERR_INPUT, "%s:%zu:%zu: %s", L->d->name, line, col, msg);
}

static const char *a_type(const struct jdoc *d, uint32_t n)
{
    switch (d->nodes[n].type) {
    case JDOC_NULL: return "null";
    case JDOC_BOOL: return "a boolean";
    case JDOC_NUMBER: return "a number";
    case JDOC_STRING: return "a string";
    case JDOC_ARRAY: return "an array";
    default: return "an object";
    }
}

/* A string node as a new C string; strings with NUL bytes are refused. */
static int dup_string(struct loader *L, uint32_t n, const char *what, char **out)
{
    const struct jdoc_node *s = &L->d->nodes[n];
    if (s->type != JDOC_STRING)
        return fail_at(L, n, "%s must be a string, found %s", what, a_type(L->d, n));
    if (memchr(s->text, '\0', s->len))
        return fail_at(L, n, "%s must not contain U+0000", what);
    if (!(*out = strndup(s->text, s->len)))
        return error_set(L->err, ERR_NOMEM, "out of memory");
    return 0;
}

/* Refuse duplicate and unknown members of an object. */
static int check_members(struct loader *L, uint32_t obj, const char *const *allowed,
                         const char *where)
{
    const struct jdoc *d = L->d;
    const struct jdoc_node *o = &d->nodes[obj];

    for (uint32_t k = obj + 1; k < o->end; k = d->nodes[k + 1].end) {
        const struct jdoc_node *key = &d->nodes[k];
        size_t i;
        if (key->flags & JDOC_F_SHADOWED)
            return fail_at(L, k, "member \"%.*s\" appears twice in %s: keep one",
                           (int)(key->len > 60 ? 60 : key->len), key->text, where);
        if (!allowed)
            continue;
        for (i = 0; allowed[i]; i++)
            if (strlen(allowed[i]) == key->len && memcmp(allowed[i], key->text, key->len) == 0)
                break;
        if (!allowed[i]) {
            char list[400] = "";
            for (i = 0; allowed[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         i ? ", " : "", allowed[i]);
            return fail_at(L, k, "unknown member \"%.*s\" in %s (expected one of: %s)",
                           (int)(key->len > 60 ? 60 : key->len), key->text, where, list);
        }
    }
    return 0;
}

static void free_keys(char **keys)
{
    for (char **k = keys; k && *k; k++)
        free(*k);
    free(keys);
}

/* Append a rule; it takes over subject and keys, also when it fails. */
static int add_rule(struct loader *L, enum diff_rule_kind kind, uint32_t node, char *subject,
                    int endpoint, char **keys, double absolute, double relative)
{
    struct diff_rules *r = L->r;
    struct rule *x;

    if (r->count == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct rule *nr = realloc(r->rules, cap * sizeof *nr);
        if (!nr) {
            free(subject);
            free_keys(keys);
            return error_set(L->err, ERR_NOMEM, "out of memory");
        }
        r->rules = nr;
        r->cap = cap;
    }
    x = &r->rules[r->count];
    memset(x, 0, sizeof *x);
    x->info.id = (unsigned)r->count;
    x->info.kind = kind;
    x->info.subject = subject;
    x->info.scope = endpoint < 0 ? "global" : r->eps[endpoint].scope;
    jdoc_location(L->d, L->d->nodes[node].offset, &x->info.line, &x->info.column);
    x->info.keys = (const char *const *)keys;
    x->info.absolute = absolute;
    x->info.relative = relative;
    x->endpoint = endpoint;
    x->keys = keys;
    r->count++;
    return 0;
}

/* A pattern string: checked by compiling it. */
static int pattern_string(struct loader *L, uint32_t n, const char *member, char **out)
{
    struct jpointer_pattern pat;
    struct error e;
    int rc;

    if (L->d->nodes[n].type != JDOC_STRING)
        return fail_at(L, n, "\"%s\" expects JSON Pointer patterns such as \"/data/*/id\", "
                       "found %s", member, a_type(L->d, n));
    if ((rc = dup_string(L, n, "a pattern", out)) != 0)
        return rc;
    jpointer_pattern_init(&pat);
    error_init(&e);
    rc = jpointer_pattern_compile(&pat, *out, strlen(*out), &e);
    jpointer_pattern_release(&pat);
    if (rc) {
        free(*out);
        *out = NULL;
        return rc == ERR_NOMEM ? error_set(L->err, rc, "out of memory")
                               : fail_at(L, n, "in \"%s\": %s", member, e.message);
    }
    return 0;
}

static int header_name(struct loader *L, uint32_t n, const char *member, bool star, char **out)
{
    const struct jdoc_node *s = &L->d->nodes[n];
    if (s->type != JDOC_STRING)
        return fail_at(L, n, "\"%s\" expects header names, found %s", member, a_type(L->d, n));
    if (star && s->len == 1 && s->text[0] == '*')
        return dup_string(L, n, "a header name", out);
    for (uint32_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->text[i];
        /* RFC 9110 token characters */
        if (!(c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c)))
            return fail_at(L, n, "\"%.*s\" in \"%s\" is not a header name (expected "
                           "letters, digits and !#$%%&'*+-.^_`|~%s)",
                           (int)(s->len > 60 ? 60 : s->len), s->text, member,
                           star ? ", or \"*\" for every header" : "");
    }
    if (s->len == 0)
        return fail_at(L, n, "an empty header name in \"%s\"", member);
    return dup_string(L, n, "a header name", out);
}

/* "member": ["...", ...] — one rule per string. */
static int string_list(struct loader *L, uint32_t v, const char *member, enum diff_rule_kind kind,
                       int endpoint)
{
    if (L->d->nodes[v].type != JDOC_ARRAY)
        return fail_at(L, v, "\"%s\" must be an array of %s, found %s", member,
                       kind == DIFF_RULE_HEADER || kind == DIFF_RULE_IGNORE_HEADER ||
                               kind == DIFF_RULE_REDACT_HEADER
                           ? "header names"
                           : "JSON Pointer patterns",
                       a_type(L->d, v));
    for (uint32_t e = jdoc_first(L->d, v); e != JDOC_NONE; e = jdoc_next(L->d, v, e)) {
        char *s = NULL;
        int rc;
        if (kind == DIFF_RULE_HEADER || kind == DIFF_RULE_IGNORE_HEADER ||
            kind == DIFF_RULE_REDACT_HEADER)
            rc = header_name(L, e, member, kind == DIFF_RULE_HEADER, &s);
        else
            rc = pattern_string(L, e, member, &s);
        if (rc) {
            free(s);
            return rc;
        }
        if ((rc = add_rule(L, kind, e, s, endpoint, NULL, -1, -1)) != 0)
            return rc;
    }
    return 0;
}

/* "array_key": {"/items": "id", "/lines": ["order", "line"]} */
static int array_keys(struct loader *L, uint32_t v, int endpoint)
{
    const struct jdoc *d = L->d;
    int rc;

    if (d->nodes[v].type != JDOC_OBJECT)
        return fail_at(L, v, "\"array_key\" must be an object mapping array paths to key "
                       "member names, e.g. {\"/items\": \"id\"}; found %s", a_type(d, v));
    if ((rc = check_members(L, v, NULL, "\"array_key\"")) != 0)
        return rc;
    for (uint32_t k = jdoc_first(d, v); k != JDOC_NONE; k = jdoc_next(d, v, k)) {
        uint32_t val = k + 1;
        size_t n = 0, i = 0;
        char *path = NULL, **keys;
        if ((rc = pattern_string(L, k, "array_key", &path)) != 0)
            return rc;
        if (d->nodes[val].type == JDOC_STRING)
            n = 1;
        else if (d->nodes[val].type == JDOC_ARRAY && d->nodes[val].len > 0)
            n = d->nodes[val].len;
        if (n == 0) {
            rc = fail_at(L, val, "the key of array_key \"%s\" must be a member name or a "
                         "non-empty array of them, found %s", path, a_type(d, val));
            free(path);
            return rc;
        }
        if (!(keys = calloc(n + 1, sizeof *keys))) {
            free(path);
            return error_set(L->err, ERR_NOMEM, "out of memory");
        }
        if (d->nodes[val].type == JDOC_STRING) {
            rc = dup_string(L, val, "a key member name", &keys[i++]);
        } else {
            for (uint32_t e = jdoc_first(d, val); e != JDOC_NONE && !rc; e = jdoc_next(d, val, e))
                rc = dup_string(L, e, "a key member name", &keys[i++]);
        }
        for (size_t j = 0; !rc && j < n; j++) {
            if (keys[j][0] == '\0') {
                rc = fail_at(L, val, "an empty key member name");
            } else if (keys[j][0] == '/') {
                struct jpointer p;
                struct error e;
                jpointer_init(&p);
                error_init(&e);
                if (jpointer_parse(&p, keys[j], strlen(keys[j]), &e))
                    rc = fail_at(L, val, "key \"%s\": %s", keys[j], e.message);
                jpointer_release(&p);
            }
        }
        if (rc) {
            free(path);
            free_keys(keys);
            return rc;
        }
        if ((rc = add_rule(L, DIFF_RULE_ARRAY_KEY, k, path, endpoint, keys, -1, -1)) != 0)
            return rc;
    }
    return 0;
}

/* "tolerance": {"/price": {"absolute": 0.01, "relative": 1e-6}} */
static int tolerances(struct loader *L, uint32_t v, int endpoint)
{
    static const char *const allowed[] = {"absolute", "relative", NULL};
    const struct jdoc *d = L->d;
    int rc;

    if (d->nodes[v].type != JDOC_OBJECT)
        return fail_at(L, v, "\"tolerance\" must be an object mapping number paths to "
                       "bounds, e.g. {\"/price\": {\"absolute\": 0.01}}; found %s", a_type(d, v));
    if ((rc = check_members(L, v, NULL, "\"tolerance\"")) != 0)
        return rc;
    for (uint32_t k = jdoc_first(d, v); k != JDOC_NONE; k = jdoc_next(d, v, k)) {
        uint32_t val = k + 1, b;
        double bound[2] = {-1, -1};
        char *path = NULL;
        if (d->nodes[val].type != JDOC_OBJECT)
            return fail_at(L, val, "a tolerance must be an object such as {\"absolute\": 0.01} "
                           "or {\"relative\": 1e-6}, found %s", a_type(d, val));
        if ((rc = check_members(L, val, allowed, "a tolerance")) != 0)
            return rc;
        for (int i = 0; i < 2; i++) {
            if ((b = jdoc_get(d, val, allowed[i], strlen(allowed[i]))) == JDOC_NONE)
                continue;
            if (d->nodes[b].type != JDOC_NUMBER)
                return fail_at(L, b, "\"%s\" must be a number, found %s", allowed[i],
                               a_type(d, b));
            bound[i] = jdoc_number_double(&d->nodes[b]);
            if (!(bound[i] >= 0) || !isfinite(bound[i]))
                return fail_at(L, b, "\"%s\" must be a finite number of 0 or more", allowed[i]);
        }
        if (bound[0] < 0 && bound[1] < 0)
            return fail_at(L, val, "a tolerance needs \"absolute\", \"relative\" or both");
        if ((rc = pattern_string(L, k, "tolerance", &path)) != 0 ||
            (rc = add_rule(L, DIFF_RULE_TOLERANCE, k, path, endpoint, NULL, bound[0],
                           bound[1])) != 0)
            return rc;
    }
    return 0;
}

static int scope_member(struct loader *L, const struct jdoc_node *key, uint32_t v, int endpoint)
{
#define IS(name) (key->len == strlen(name) && memcmp(key->text, name, key->len) == 0)
    if (IS("headers"))
        return string_list(L, v, "headers", DIFF_RULE_HEADER, endpoint);
    if (IS("ignore_headers"))
        return string_list(L, v, "ignore_headers", DIFF_RULE_IGNORE_HEADER, endpoint);
    if (IS("ignore"))
        return string_list(L, v, "ignore", DIFF_RULE_IGNORE, endpoint);
    if (IS("unordered"))
        return string_list(L, v, "unordered", DIFF_RULE_UNORDERED, endpoint);
    if (IS("strict_numbers"))
        return string_list(L, v, "strict_numbers", DIFF_RULE_STRICT_NUMBERS, endpoint);
    if (IS("array_key"))
        return array_keys(L, v, endpoint);
    if (IS("tolerance"))
        return tolerances(L, v, endpoint);
#undef IS
    return 1; /* not a scope member */
}

/* "METHOD /template" */
static int endpoint_key(struct loader *L, uint32_t k)
{
    const struct jdoc_node *key = &L->d->nodes[k];
    struct diff_rules *r = L->r;
    struct endpoint *ep, *ne;
    const char *sp = memchr(key->text, ' ', key->len);
    size_t mlen;

    if (!sp || sp + 1 >= key->text + key->len || sp[1] != '/')
        return fail_at(L, k, "an endpoint must be written \"METHOD /path/{template}\" (method "
                       "\"*\" for any), found \"%.*s\"", (int)(key->len > 60 ? 60 : key->len),
                       key->text);
    mlen = (size_t)(sp - key->text);
    for (size_t i = 0; i < mlen; i++)
        if (!((key->text[i] >= 'A' && key->text[i] <= 'Z') || (mlen == 1 && key->text[i] == '*')))
            return fail_at(L, k, "\"%.*s\" is not a method: use upper case (GET, POST, ...) "
                           "or \"*\" for any", (int)mlen, key->text);
    if (mlen == 0 || memchr(key->text, '\0', key->len) || memchr(sp + 1, ' ', key->len - mlen - 1))
        return fail_at(L, k, "an endpoint must be written \"METHOD /path/{template}\"");
    ne = realloc(r->eps, (r->neps + 1) * sizeof *ne);
    if (!ne)
        return error_set(L->err, ERR_NOMEM, "out of memory");
    r->eps = ne;
    ep = &r->eps[r->neps];
    ep->method = strndup(key->text, mlen);
    ep->tmpl = strndup(sp + 1, key->len - mlen - 1);
    ep->scope = strndup(key->text, key->len);
    if (!ep->method || !ep->tmpl || !ep->scope) {
        free(ep->method);
        free(ep->tmpl);
        free(ep->scope);
        return error_set(L->err, ERR_NOMEM, "out of memory");
    }
    r->neps++;
    return 0;
}

static int load_endpoints(struct loader *L, uint32_t v)
{
    static const char *const allowed[] = {"headers", "ignore_headers", "ignore", "array_key",
                                          "unordered", "tolerance", "strict_numbers", NULL};
    const struct jdoc *d = L->d;
    int rc;

    if (d->nodes[v].type != JDOC_OBJECT)
        return fail_at(L, v, "\"endpoints\" must be an object such as {\"GET /users/{id}\": "
                       "{\"ignore\": [\"/last_seen\"]}}, found %s", a_type(d, v));
    if ((rc = check_members(L, v, NULL, "\"endpoints\"")) != 0)
        return rc;
    for (uint32_t k = jdoc_first(d, v); k != JDOC_NONE; k = jdoc_next(d, v, k)) {
        uint32_t body = k + 1;
        if ((rc = endpoint_key(L, k)) != 0)
            return rc;
        if (d->nodes[body].type != JDOC_OBJECT)
            return fail_at(L, body, "the rules of an endpoint must be an object, found %s",
                           a_type(d, body));
        if ((rc = check_members(L, body, allowed, "an endpoint's rules")) != 0)
            return rc;
        for (uint32_t m = jdoc_first(d, body); m != JDOC_NONE; m = jdoc_next(d, body, m))
            if ((rc = scope_member(L, &d->nodes[m], m + 1, (int)L->r->neps - 1)) != 0)
                return rc;
    }
    return 0;
}

static int load_templates(struct loader *L, uint32_t v)
{
    const struct jdoc *d = L->d;
    struct diff_rules *r = L->r;

    if (d->nodes[v].type != JDOC_ARRAY)
        return fail_at(L, v, "\"templates\" must be an array of path templates such as "
                       "\"/users/{id}/orders\", found %s", a_type(d, v));
    r->templates = calloc(d->nodes[v].len + 1, sizeof *r->templates);
    r->template_at = calloc(d->nodes[v].len + 1, sizeof *r->template_at);
    if (!r->templates || !r->template_at)
        return error_set(L->err, ERR_NOMEM, "out of memory");
    for (uint32_t e = jdoc_first(d, v); e != JDOC_NONE; e = jdoc_next(d, v, e)) {
        char *t = NULL;
        int rc = dup_string(L, e, "a path template", &t);
        if (rc)
            return rc;
        jdoc_location(d, d->nodes[e].offset, &r->template_at[r->ntemplates][0],
                      &r->template_at[r->ntemplates][1]);
        r->templates[r->ntemplates++] = t;
        if (t[0] != '/')
            return fail_at(L, e, "a path template must start with '/', found \"%s\"", t);
        for (const char *s = t; *s; s++)
            if (*s == '{' && (!strchr(s, '}') || s[-1] != '/'))
                return fail_at(L, e, "in \"%s\": a '{' must open a whole segment such as "
                               "{id}", t);
    }
    return 0;
}

static int load_redact(struct loader *L, uint32_t v)
{
    struct diff_rules *r = L->r;
    size_t first = r->count;
    int rc;

    if ((rc = string_list(L, v, "redact", DIFF_RULE_REDACT, -1)) != 0)
        return rc;
    r->redact = calloc(r->count - first + 1, sizeof *r->redact);
    if (!r->redact)
        return error_set(L->err, ERR_NOMEM, "out of memory");
    for (size_t i = first; i < r->count; i++) {
        const char *p = r->rules[i].info.subject;
        jpointer_pattern_init(&r->redact[r->nredact]);
        if ((rc = jpointer_pattern_compile(&r->redact[r->nredact++], p, strlen(p), L->err)) != 0)
            return rc;
    }
    return 0;
}

static int load(struct loader *L)
{
    static const char *const allowed[] = {"version", "templates", "headers", "ignore_headers",
                                          "ignore", "array_key", "unordered", "tolerance",
                                          "strict_numbers", "redact", "redact_headers",
                                          "endpoints", NULL};
    const struct jdoc *d = L->d;
    int rc;

    if (d->nodes[0].type != JDOC_OBJECT)
        return fail_at(L, 0, "a rules file must hold a JSON object (see docs/rules-format.md), "
                       "found %s", a_type(d, 0));
    if ((rc = check_members(L, 0, allowed, "the rules file")) != 0)
        return rc;
    /* Endpoints first, so their scope strings exist; rule ids still follow
     * the file order within each scope. */
    for (uint32_t k = jdoc_first(d, 0); k != JDOC_NONE; k = jdoc_next(d, 0, k)) {
        const struct jdoc_node *key = &d->nodes[k];
        uint32_t v = k + 1;
#define IS(name) (key->len == strlen(name) && memcmp(key->text, name, key->len) == 0)
        if (IS("version")) {
            if (d->nodes[v].type != JDOC_NUMBER || !jdoc_number_equal(d->nodes[v].text,
                                                                      d->nodes[v].len, "1", 1))
                return fail_at(L, v, "this rehearse reads rules files of version 1");
            rc = 0;
        } else if (IS("templates")) {
            rc = load_templates(L, v);
        } else if (IS("redact")) {
            rc = load_redact(L, v);
        } else if (IS("redact_headers")) {
            rc = string_list(L, v, "redact_headers", DIFF_RULE_REDACT_HEADER, -1);
        } else if (IS("endpoints")) {
            rc = load_endpoints(L, v);
        } else {
            rc = scope_member(L, key, v, -1);
        }
#undef IS
        if (rc)
            return rc;
    }
    return 0;
}

int diff_rules_parse(struct diff_rules **out, const char *text, size_t len, const char *name,
                     struct error *err)
{
    struct loader L;
    struct jdoc d;
    int rc;

    *out = NULL;
    jdoc_init(&d);
    L.d = &d;
    L.err = err;
    L.r = calloc(1, sizeof *L.r);
    if (!L.r)
        return error_set(err, ERR_NOMEM, "out of memory");
    rc = jdoc_parse(&d, text, len, name, NULL, err);
    if (!rc)
        rc = load(&L);
    jdoc_release(&d);
    if (rc) {
        diff_rules_free(L.r);
        return rc;
    }
    *out = L.r;
    return 0;
}

int diff_rules_load(struct diff_rules **out, const char *path, struct error *err)
{
    struct jdoc d;
    int rc;

    *out = NULL;
    jdoc_init(&d);
    rc = jdoc_parse_file(&d, path, NULL, err);
    if (!rc)
        rc = diff_rules_parse(out, d.src, d.src_len, d.name, err);
    jdoc_release(&d);
    return rc;
}

/* ----------------------------------------------------------------- queries */

static bool endpoint_matches(const struct endpoint *ep, const char *method, const char *tmpl)
{
    if (!method || !tmpl)
        return false;
    return (strcmp(ep->method, "*") == 0 || strcmp(ep->method, method) == 0) &&
           strcmp(ep->tmpl, tmpl) == 0;
}

bool diff_rules_has_endpoint(const struct diff_rules *r, const char *method, const char *tmpl)
{
    for (size_t i = 0; r && i < r->neps; i++)
        if (endpoint_matches(&r->eps[i], method, tmpl))
            return true;
    return false;
}

static bool rule_in_scope(const struct diff_rules *r, const struct rule *x, const char *method,
                          const char *tmpl)
{
    return x->endpoint < 0 || endpoint_matches(&r->eps[x->endpoint], method, tmpl);
}

static int add_body_rule(struct jdiff_rules *set, const struct rule *x, struct error *err)
{
    struct jdiff_rule jr = {
        .kind = (enum jdiff_rule_kind)x->info.kind,
        .path = x->info.subject,
        .keys = (const char *const *)x->keys,
        .absolute = x->info.absolute,
        .relative = x->info.relative,
        .id = x->info.id,
    };
    return jdiff_rules_add(set, &jr, err);
}

const struct jdiff_rules *diff_rules_json(struct diff_rules *r, const char *method,
                                          const char *tmpl, struct error *err)
{
    const char *m = method ? method : "", *t = tmpl ? tmpl : "";
    struct jdiff_rules *set;
    struct cached *c;

    for (size_t i = 0; i < r->ncache; i++)
        if (strcmp(r->cache[i].method, m) == 0 && strcmp(r->cache[i].tmpl, t) == 0)
            return r->cache[i].set;
    if (!(set = jdiff_rules_new()))
        goto nomem;
    /* Endpoint rules first: the first matching rule of a kind wins. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->count; i++) {
            const struct rule *x = &r->rules[i];
            if (x->info.kind > DIFF_RULE_STRICT_NUMBERS || (pass == 0) != (x->endpoint >= 0) ||
                !rule_in_scope(r, x, method, tmpl))
                continue;
            if (add_body_rule(set, x, err)) {
                jdiff_rules_free(set);
                return NULL;
            }
        }
    if (r->ncache == r->cachecap) {
        size_t cap = r->cachecap ? r->cachecap * 2 : 8;
        struct cached *nc = realloc(r->cache, cap * sizeof *nc);
        if (!nc) {
            jdiff_rules_free(set);
            goto nomem;
        }
        r->cache = nc;
        r->cachecap = cap;
    }
    c = &r->cache[r->ncache];
    c->method = strdup(m);
    c->tmpl = strdup(t);
    c->set = set;
    if (!c->method || !c->tmpl) {
        free(c->method);
        free(c->tmpl);
        jdiff_rules_free(set);
        goto nomem;
    }
    r->ncache++;
    return set;
nomem:
    error_set(err, ERR_NOMEM, "out of memory");
    return NULL;
}

enum diff_header_decision diff_rules_header(const struct diff_rules *r, const char *method,
                                            const char *tmpl, const char *name, int *rule_id)
{
    enum diff_header_decision d = DIFF_HEADER_SKIP;
    int id = -1;

    /* a rule that names the header decides (and gets the hit); else the
     * built-in rule compares Content-Type */
    for (size_t i = 0; r && i < r->count && d == DIFF_HEADER_SKIP; i++) {
        const struct rule *x = &r->rules[i];
        if (x->info.kind == DIFF_RULE_HEADER && rule_in_scope(r, x, method, tmpl) &&
            (strcmp(x->info.subject, "*") == 0 || strcasecmp(x->info.subject, name) == 0)) {
            d = DIFF_HEADER_COMPARE;
            id = (int)i;
        }
    }
    if (d == DIFF_HEADER_SKIP && strcasecmp(name, "Content-Type") == 0)
        d = DIFF_HEADER_COMPARE;
    for (size_t i = 0; r && i < r->count && d == DIFF_HEADER_COMPARE; i++) {
        const struct rule *x = &r->rules[i];
        if (x->info.kind == DIFF_RULE_IGNORE_HEADER && rule_in_scope(r, x, method, tmpl) &&
            strcasecmp(x->info.subject, name) == 0) {
            d = DIFF_HEADER_IGNORED;
            id = (int)i;
        }
    }
    if (rule_id)
        *rule_id = id;
    return d;
}

size_t diff_rules_redact_count(const struct diff_rules *r)
{
    return r ? r->nredact : 0;
}

const struct jpointer_pattern *diff_rules_redact(const struct diff_rules *r, size_t i)
{
    return r && i < r->nredact ? &r->redact[i] : NULL;
}

bool diff_rules_redact_header(const struct diff_rules *r, const char *name)
{
    for (size_t i = 0; r && i < r->count; i++)
        if (r->rules[i].info.kind == DIFF_RULE_REDACT_HEADER &&
            strcasecmp(r->rules[i].info.subject, name) == 0)
            return true;
    return false;
}

const char *diff_rules_template(const struct diff_rules *r, const char *path)
{
    for (size_t i = 0; r && i < r->ntemplates; i++) {
        const char *t = r->templates[i], *p = path;
        for (;;) {
            size_t tl = strcspn(t + 1, "/"), pl = strcspn(p + 1, "/");
            if (*t != '/' || *p != '/')
                break;
            if (t[1] == '{' && t[tl] == '}') {
                if (pl == 0)
                    break;
            } else if (tl != pl || memcmp(t + 1, p + 1, tl) != 0) {
                break;
            }
            t += tl + 1;
            p += pl + 1;
            if (!*t || !*p) {
                if (!*t && !*p)
                    return r->templates[i];
                break;
            }
        }
    }
    return NULL;
}

size_t diff_rules_template_count(const struct diff_rules *r)
{
    return r ? r->ntemplates : 0;
}

const char *diff_rules_template_at(const struct diff_rules *r, size_t i, size_t *line,
                                   size_t *column)
{
    if (!r || i >= r->ntemplates)
        return NULL;
    *line = r->template_at[i][0];
    *column = r->template_at[i][1];
    return r->templates[i];
}
