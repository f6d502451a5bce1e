#include "diff_redact.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_pointer.h"
#include "jsonw.h"
#include "redact.h"

#define NAME_MAX_LEN 128
#define MAX_RULE_HEADERS 64
#define SECRET_VALUE_MAX ((size_t)64 << 20)

static const struct dredact_builtin_info builtins[DREDACT_BUILTINS] = {
    {"redact_headers", "Authorization"},
    {"redact_headers", "Proxy-Authorization"},
    {"redact_headers", "Cookie"},
    {"redact_headers", "Set-Cookie"},
    {"redact_headers", "names with auth, token, secret, signature, api-key, apikey, api_key, "
                       "password, session, credential, or ending in -key"},
    {"redact_query", "query parameters and form fields named with token, secret, password, "
                     "passwd, signature, apikey, api_key, api-key, auth, session, credential, "
                     "or named key, sig, code, pass, pwd"},
    {"redact", "members named with password, passwd, secret, token, apikey, api_key, api-key, "
               "authorization, credential, private_key, session (any depth)"},
};

const struct dredact_builtin_info *dredact_builtin(enum dredact_builtin b)
{
    return (unsigned)b < DREDACT_BUILTINS ? &builtins[b] : NULL;
}

struct dredact {
    struct redactor *fp;
    const struct diff_rules *rules;
    const struct jpointer_pattern **patterns; /* the rules file's redact patterns */
    unsigned *pattern_ids;                    /* their rule ids */
    size_t npatterns, states_max;
    unsigned header_ids[MAX_RULE_HEADERS];    /* redact_headers rules */
    const char *header_names[MAX_RULE_HEADERS];
    size_t nheaders;
    uint64_t count;
    uint64_t builtin_hits[DREDACT_BUILTINS];
    uint64_t *rule_hits;
    size_t nrules;
    struct buf scratch;
};

int dredact_new(struct dredact **out, const struct diff_rules *rules, const void *key,
                size_t key_len, struct error *err)
{
    struct dredact *r;
    int rc;

    *out = NULL;
    if (!(r = calloc(1, sizeof *r)))
        return error_set(err, ERR_NOMEM, "out of memory");
    rc = key ? redactor_new_with_key(&r->fp, key, key_len, err) : redactor_new(&r->fp, err);
    if (rc) {
        free(r);
        return rc;
    }
    r->rules = rules;
    r->nrules = diff_rules_count(rules);
    r->npatterns = diff_rules_redact_count(rules);
    r->rule_hits = calloc(r->nrules + 1, sizeof *r->rule_hits);
    r->patterns = calloc(r->npatterns + 1, sizeof *r->patterns);
    r->pattern_ids = calloc(r->npatterns + 1, sizeof *r->pattern_ids);
    if (!r->rule_hits || !r->patterns || !r->pattern_ids) {
        dredact_free(r);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->npatterns; i++)
        r->patterns[i] = diff_rules_redact(rules, i);
    /* the patterns are the "redact" rules in file order */
    for (unsigned id = 0, k = 0; id < r->nrules; id++) {
        const struct diff_rule_info *info = diff_rules_info(rules, id);
        if (info->kind == DIFF_RULE_REDACT && k < r->npatterns)
            r->pattern_ids[k++] = id;
        if (info->kind == DIFF_RULE_REDACT_HEADER && r->nheaders < MAX_RULE_HEADERS) {
            r->header_ids[r->nheaders] = id;
            r->header_names[r->nheaders++] = info->subject;
        }
    }
    r->states_max = r->npatterns ? jpointer_states_max(r->patterns, r->npatterns) : 0;
    buf_init(&r->scratch, SECRET_VALUE_MAX);
    *out = r;
    return 0;
}

void dredact_free(struct dredact *r)
{
    if (!r)
        return;
    redactor_free(r->fp);
    free(r->patterns);
    free(r->pattern_ids);
    free(r->rule_hits);
    buf_release(&r->scratch);
    free(r);
}

uint64_t dredact_count(const struct dredact *r)
{
    return r->count;
}

uint64_t dredact_builtin_hits(const struct dredact *r, enum dredact_builtin b)
{
    return (unsigned)b < DREDACT_BUILTINS ? r->builtin_hits[b] : 0;
}

uint64_t dredact_rule_hits(const struct dredact *r, unsigned id)
{
    return id < r->nrules ? r->rule_hits[id] : 0;
}

/* ------------------------------------------------------------------ names */

/* name[0..len) lowercased into out (cut to fit). */
static void lower(const char *name, size_t len, char out[NAME_MAX_LEN])
{
    size_t i;
    for (i = 0; i < len && i + 1 < NAME_MAX_LEN; i++)
        out[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    out[i] = '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

const char *const dredact_header_words[] = {"auth", "token", "secret", "signature", "api-key",
                                            "apikey", "api_key", "password", "session",
                                            "credential", "*-key", NULL};
const char *const dredact_member_words[] = {"password", "passwd", "secret", "token", "apikey",
                                            "api_key", "api-key", "authorization",
                                            "credential", "private_key", "session", NULL};
const char *const dredact_query_words[] = {"token", "secret", "password", "passwd",
                                           "signature", "apikey", "api_key", "api-key", "auth",
                                           "session", "credential", "=key", "=sig", "=code",
                                           "=pass", "=pwd", NULL};

/* Does lower-case name l match a word list: "w" contained, "=w" equal,
 * "*w" a suffix? */
static bool matches_words(const char *l, const char *const *words)
{
    for (; *words; words++) {
        const char *w = *words;
        if (w[0] == '=' ? strcmp(l, w + 1) == 0
                        : w[0] == '*' ? ends_with(l, w + 1) : strstr(l, w) != NULL)
            return true;
    }
    return false;
}

bool dredact_secret_member(const char *name, size_t len)
{
    char l[NAME_MAX_LEN];
    lower(name, len, l);
    return matches_words(l, dredact_member_words);
}

static bool secret_parameter(const char *name, size_t len)
{
    char l[NAME_MAX_LEN];
    lower(name, len, l);
    return matches_words(l, dredact_query_words);
}

static bool secret_header_name(const char *l)
{
    return matches_words(l, dredact_header_words);
}

static bool header_rule(const struct dredact *r, const char *name, size_t len, int *builtin,
                        int *rule)
{
    static const char *const defaults[] = {"authorization", "proxy-authorization", "cookie",
                                           "set-cookie"};
    char l[NAME_MAX_LEN];

    *builtin = *rule = -1;
    lower(name, len, l);
    for (int i = 0; i < 4; i++)
        if (strcmp(l, defaults[i]) == 0) {
            *builtin = i;
            return true;
        }
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(l, r->header_names[i]) == 0) {
            *rule = (int)r->header_ids[i];
            return true;
        }
    if (secret_header_name(l)) {
        *builtin = DREDACT_SECRET_HEADERS;
        return true;
    }
    return false;
}

bool dredact_secret_header(const struct dredact *r, const char *name, size_t len)
{
    int b, id;
    return header_rule(r, name, len, &b, &id);
}

static void count_hit(struct dredact *r, int builtin, int rule)
{
    r->count++;
    if (builtin >= 0)
        r->builtin_hits[builtin]++;
    else if (rule >= 0 && (size_t)rule < r->nrules)
        r->rule_hits[rule]++;
}

/* Append the fingerprint mark of value[0..len). */
static int mark(struct dredact *r, const char *value, size_t len, struct buf *out)
{
    char hex[17];
    redactor_fingerprint(r->fp, value, len, hex);
    return buf_printf(out, "[redacted:hmac:%s]", hex);
}

int dredact_header(struct dredact *r, const char *name, size_t name_len, const char *value,
                   size_t len, struct buf *out)
{
    int builtin, rule;

    if (!header_rule(r, name, name_len, &builtin, &rule))
        return buf_append(out, value, len);
    count_hit(r, builtin, rule);
    /* redactor_value keeps the scheme of Authorization and Proxy-Authorization */
    return redactor_value(r->fp, name, name_len, value, len, out);
}

/* name=value pairs separated by '&' (up to '#' or the end). */
static int redact_pairs(struct dredact *r, const char *s, size_t len, struct buf *out)
{
    size_t i = 0;
    int rc = 0;

    while (i < len && !rc) {
        size_t start = i, eq;
        while (i < len && s[i] != '&' && s[i] != '#')
            i++;
        eq = start;
        while (eq < i && s[eq] != '=')
            eq++;
        if (eq < i && secret_parameter(s + start, eq - start)) {
            count_hit(r, DREDACT_SECRET_QUERY, -1);
            rc = buf_append(out, s + start, eq + 1 - start);
            if (!rc)
                rc = mark(r, s + eq + 1, i - eq - 1, out);
        } else {
            rc = buf_append(out, s + start, i - start);
        }
        if (!rc && i < len && s[i] == '&') {
            rc = buf_append_char(out, '&');
            i++;
        } else if (!rc && i < len) {
            rc = buf_append(out, s + i, len - i); /* the fragment */
            i = len;
        }
    }
    return rc;
}

int dredact_target(struct dredact *r, const char *target, size_t len, struct buf *out)
{
    const char *q = memchr(target, '?', len);
    int rc;

    if (!q)
        return buf_append(out, target, len);
    if ((rc = buf_append(out, target, (size_t)(q - target) + 1)))
        return rc;
    return redact_pairs(r, q + 1, len - (size_t)(q - target) - 1, out);
}

int dredact_form(struct dredact *r, const char *body, size_t len, struct buf *out)
{
    return redact_pairs(r, body, len, out);
}

/* ------------------------------------------------------------------- JSON */

struct walk {
    struct dredact *r;
    const struct jdoc *d;
    unsigned flags;
    struct buf *out;
    struct jpointer_state *states; /* one row of states_max per depth */
};

/* The whole value replaced by the fingerprint of its text. */
static int redact_value(struct walk *w, uint32_t i, int builtin, int rule)
{
    int rc;
    count_hit(w->r, builtin, rule);
    buf_reset(&w->r->scratch);
    if ((rc = jdoc_write(&w->r->scratch, w->d, i, 0, 0)))
        return rc;
    rc = buf_append_char(w->out, '"');
    if (!rc)
        rc = mark(w->r, w->r->scratch.data, w->r->scratch.len, w->out);
    return rc ? rc : buf_append_char(w->out, '"');
}

static int matched_pattern(const struct walk *w, const struct jpointer_state *st, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (jpointer_state_final(w->r->patterns, &st[k]))
            return (int)w->r->pattern_ids[st[k].pattern];
    return -1;
}

static int write_node(struct walk *w, uint32_t i, size_t depth, size_t nstates)
{
    const struct jdoc *d = w->d;
    const struct jdoc_node *n = &d->nodes[i];
    struct jpointer_state *st = w->states ? w->states + depth * w->r->states_max : NULL;
    struct jpointer_state *child = st ? st + w->r->states_max : NULL;
    int rule = st ? matched_pattern(w, st, nstates) : -1, rc = 0;
    char index[24];

    if (rule >= 0)
        return redact_value(w, i, -1, rule);
    switch (n->type) {
    case JDOC_OBJECT:
        rc = buf_append_char(w->out, '{');
        for (uint32_t k = jdoc_first(d, i), first = 1; k != JDOC_NONE && !rc;
             k = jdoc_next(d, i, k), first = 0) {
            const struct jdoc_node *key = &d->nodes[k];
            if (!first)
                rc = buf_append_char(w->out, ',');
            if (!rc)
                rc = jsonw_string(w->out, key->text, key->len,
                                  w->flags & JDOC_WRITE_HTML_SAFE ? JSONW_HTML_SAFE : 0);
            if (!rc)
                rc = buf_append_char(w->out, ':');
            if (rc)
                break;
            if (dredact_secret_member(key->text, key->len)) {
                rc = redact_value(w, k + 1, DREDACT_SECRET_JSON, -1);
                continue;
            }
            size_t nc = nstates ? jpointer_match_step(w->r->patterns, st, nstates, key->text,
                                                      key->len, child)
                                : 0;
            rc = write_node(w, k + 1, depth + 1, nc);
        }
        return rc ? rc : buf_append_char(w->out, '}');
    case JDOC_ARRAY: {
        size_t idx = 0;
        rc = buf_append_char(w->out, '[');
        for (uint32_t e = jdoc_first(d, i); e != JDOC_NONE && !rc; e = jdoc_next(d, i, e), idx++) {
            size_t nc = 0;
            if (idx)
                rc = buf_append_char(w->out, ',');
            if (nstates) {
                int len = snprintf(index, sizeof index, "%zu", idx);
                nc = jpointer_match_step(w->r->patterns, st, nstates, index, (size_t)len, child);
            }
            if (!rc)
                rc = write_node(w, e, depth + 1, nc);
        }
        return rc ? rc : buf_append_char(w->out, ']');
    }
    default:
        return jdoc_write(w->out, d, i, 0, w->flags);
    }
}

int dredact_json(struct dredact *r, const struct jdoc *d, uint32_t i, const char *at,
                 size_t at_len, unsigned flags, struct buf *out)
{
    struct walk w = {r, d, flags, out, NULL};
    struct jpointer ptr;
    size_t nstates = 0, rows = (size_t)d->depth + 2;
    struct error err;
    int rc = 0;

    jpointer_init(&ptr);
    error_init(&err);
    if (at_len && jpointer_parse(&ptr, at, at_len, &err) == 0 && ptr.count) {
        const struct jpointer_token *last = &ptr.tokens[ptr.count - 1];
        if (dredact_secret_member(last->s, last->len)) {
            jpointer_release(&ptr);
            return redact_value(&w, i, DREDACT_SECRET_JSON, -1);
        }
    }
    if (r->npatterns) {
        struct jpointer_state *tmp;
        w.states = calloc(rows * r->states_max, sizeof *w.states);
        tmp = calloc(r->states_max, sizeof *tmp);
        if (!w.states || !tmp) {
            free(w.states);
            free(tmp);
            jpointer_release(&ptr);
            return ERR_NOMEM;
        }
        nstates = jpointer_match_start(r->patterns, r->npatterns, w.states);
        for (size_t t = 0; t < ptr.count && nstates; t++) {
            nstates = jpointer_match_step(r->patterns, w.states, nstates, ptr.tokens[t].s,
                                          ptr.tokens[t].len, tmp);
            memcpy(w.states, tmp, nstates * sizeof *tmp);
        }
        free(tmp);
    }
    rc = write_node(&w, i, 0, nstates);
    free(w.states);
    jpointer_release(&ptr);
    return rc;
}
