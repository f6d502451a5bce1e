#include "rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TARGET_MAX_BYTES ((size_t)1 << 20)

void rewrite_init(struct rewrite_rules *r)
{
    memset(r, 0, sizeof *r);
}

void rewrite_release(struct rewrite_rules *r)
{
    for (size_t i = 0; i < r->header_count; i++)
        free(r->headers[i].value);
    for (size_t i = 0; i < r->path_count; i++) {
        regfree(&r->paths[i].re);
        free(r->paths[i].replacement);
        free(r->paths[i].text);
    }
    free(r->headers);
    free(r->paths);
    memset(r, 0, sizeof *r);
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool token_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)s[i]))
            return false;
    return true;
}

/* Expand ${NAME} from the environment into out. */
static int expand_env(const char *option, const char *value, struct buf *out,
                      struct error *err)
{
    const char *p = value;
    while (*p) {
        const char *open = strstr(p, "${"), *close;
        char name[256];
        const char *v;
        if (!open) {
            if (buf_append_str(out, p))
                return error_set(err, ERR_TOOBIG, "%s: the value is too long", option);
            break;
        }
        if (buf_append(out, p, (size_t)(open - p)))
            return error_set(err, ERR_TOOBIG, "%s: the value is too long", option);
        close = strchr(open + 2, '}');
        if (!close || close == open + 2 || (size_t)(close - open - 2) >= sizeof name)
            return error_set(err, ERR_USAGE,
                             "%s: '%s': expected ${NAME} with a variable name before '}'",
                             option, value);
        memcpy(name, open + 2, (size_t)(close - open - 2));
        name[close - open - 2] = '\0';
        v = getenv(name);
        if (!v)
            return error_set(err, ERR_USAGE,
                             "%s: environment variable '%s' is not set; export it (e.g. "
                             "%s=...) or change the header value",
                             option, name, name);
        if (buf_append_str(out, v))
            return error_set(err, ERR_TOOBIG, "%s: the value is too long", option);
        p = close + 1;
    }
    return 0;
}

/* Split an optional "TARGET=" scope off a header rule.  Header names cannot
 * contain '=', so an '=' before the first ':' ends a target name. */
static int rule_scope(const char *option, const char *spec, const struct replay_target *targets,
                      size_t target_count, int *target, const char **rest, struct error *err)
{
    const char *eq = strchr(spec, '='), *colon = strchr(spec, ':');
    *target = REWRITE_ALL_TARGETS;
    *rest = spec;
    if (!eq || (colon && colon < eq))
        return 0;
    for (size_t i = 0; i < target_count; i++) {
        if (strlen(targets[i].name) == (size_t)(eq - spec) &&
            strncmp(targets[i].name, spec, (size_t)(eq - spec)) == 0) {
            *target = (int)i;
            *rest = eq + 1;
            return 0;
        }
    }
    return error_set(err, ERR_USAGE, "%s: '%s': '%.*s' is not a --target name", option, spec,
                     (int)(eq - spec), spec);
}

static struct rewrite_header_rule *new_header_rule(struct rewrite_rules *r, struct error *err)
{
    struct rewrite_header_rule *grown =
        realloc(r->headers, (r->header_count + 1) * sizeof *r->headers);
    if (!grown) {
        error_set(err, ERR_NOMEM, "out of memory adding a header rule");
        return NULL;
    }
    r->headers = grown;
    memset(&grown[r->header_count], 0, sizeof *grown);
    return &grown[r->header_count];
}

int rewrite_add_set_header(struct rewrite_rules *r, const char *spec,
                           const struct replay_target *targets, size_t target_count,
                           struct error *err)
{
    struct rewrite_header_rule *rule;
    const char *rest, *colon, *value;
    struct buf expanded;
    char *text;
    size_t len;
    int target, rc;

    if ((rc = rule_scope("--set-header", spec, targets, target_count, &target, &rest, err)))
        return rc;
    colon = strchr(rest, ':');
    if (!colon || !token_ok(rest, (size_t)(colon - rest)) ||
        (size_t)(colon - rest) >= sizeof rule->name)
        return error_set(err, ERR_USAGE,
                         "--set-header: '%s': expected 'Name: value' (optionally 'TARGET=Name: "
                         "value'), with a header name of letters, digits and !#$%%&'*+-.^_`|~",
                         spec);
    value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    buf_init(&expanded, 64 << 10);
    if ((rc = expand_env("--set-header", value, &expanded, err))) {
        buf_release(&expanded);
        return rc;
    }
    text = buf_take(&expanded, &len);
    if (memchr(text, '\r', len) || memchr(text, '\n', len) || strlen(text) != len) {
        free(text);
        return error_set(err, ERR_USAGE,
                         "--set-header: '%.*s': the value (after ${...} expansion) contains a "
                         "line break or NUL, which would split the request",
                         (int)(colon - rest), rest);
    }
    if (!(rule = new_header_rule(r, err))) {
        free(text);
        return ERR_NOMEM;
    }
    rule->target = target;
    memcpy(rule->name, rest, (size_t)(colon - rest));
    rule->value = text;
    r->header_count++;
    return 0;
}

int rewrite_add_remove_header(struct rewrite_rules *r, const char *spec,
                              const struct replay_target *targets, size_t target_count,
                              struct error *err)
{
    struct rewrite_header_rule *rule;
    const char *rest;
    int target, rc;

    if ((rc = rule_scope("--remove-header", spec, targets, target_count, &target, &rest, err)))
        return rc;
    if (!token_ok(rest, strlen(rest)) || strlen(rest) >= sizeof rule->name)
        return error_set(err, ERR_USAGE,
                         "--remove-header: '%s': expected a header name (optionally "
                         "'TARGET=Name')",
                         spec);
    if (!(rule = new_header_rule(r, err)))
        return ERR_NOMEM;
    rule->target = target;
    snprintf(rule->name, sizeof rule->name, "%s", rest);
    r->header_count++;
    return 0;
}

int rewrite_add_path(struct rewrite_rules *r, const char *spec, struct error *err)
{
    struct rewrite_path_rule *grown, *rule;
    const char *sep = NULL;
    char *regex, *w;
    int rc;

    for (const char *p = spec; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            continue;
        }
        if (*p == '=') {
            sep = p;
            break;
        }
    }
    if (!sep || sep == spec)
        return error_set(err, ERR_USAGE,
                         "--rewrite-path: '%s': expected REGEX=REPLACEMENT, such as "
                         "'^/v1/(.*)=/v2/\\1' (write \\= for a literal '=' in REGEX)",
                         spec);
    grown = realloc(r->paths, (r->path_count + 1) * sizeof *r->paths);
    if (!grown)
        return error_set(err, ERR_NOMEM, "out of memory adding a path rule");
    r->paths = grown;
    rule = &grown[r->path_count];
    memset(rule, 0, sizeof *rule);

    /* the regex with \= unescaped */
    regex = malloc((size_t)(sep - spec) + 1);
    if (!regex)
        return error_set(err, ERR_NOMEM, "out of memory adding a path rule");
    w = regex;
    for (const char *p = spec; p < sep; p++) {
        if (*p == '\\' && p + 1 < sep && p[1] == '=')
            p++;
        *w++ = *p;
    }
    *w = '\0';
    rc = regcomp(&rule->re, regex, REG_EXTENDED);
    if (rc) {
        char why[256];
        regerror(rc, &rule->re, why, sizeof why);
        rc = error_set(err, ERR_USAGE, "--rewrite-path: '%s': invalid regular expression: %s",
                       regex, why);
        free(regex);
        return rc;
    }
    free(regex);
    for (const char *p = sep + 1; *p; p++) {
        if (*p == '\\' && p[1] && !(p[1] >= '0' && p[1] <= '9') && p[1] != '\\') {
            regfree(&rule->re);
            return error_set(err, ERR_USAGE,
                             "--rewrite-path: '%s': in REPLACEMENT, a backslash is followed by "
                             "a group number \\0..\\9 or another backslash",
                             spec);
        }
        if (*p == '\\')
            p++;
    }
    rule->replacement = strdup(sep + 1);
    rule->text = strdup(spec);
    if (!rule->replacement || !rule->text) {
        regfree(&rule->re);
        free(rule->replacement);
        free(rule->text);
        return error_set(err, ERR_NOMEM, "out of memory adding a path rule");
    }
    r->path_count++;
    return 0;
}

void outgoing_init(struct outgoing *o)
{
    memset(o, 0, sizeof *o);
    buf_init(&o->target, TARGET_MAX_BYTES);
}

void outgoing_release(struct outgoing *o)
{
    buf_release(&o->target);
    free(o->headers);
    o->headers = NULL;
    o->header_count = o->header_cap = 0;
}

/* Apply one path rule to `in`, writing the result to `out`. */
static int apply_path_rule(const struct rewrite_path_rule *rule, const char *in, struct buf *out)
{
    regmatch_t m[10];
    const char *p;
    int rc = 0;

    if (regexec(&rule->re, in, 10, m, 0) != 0)
        return buf_append_str(out, in);
    rc |= buf_append(out, in, (size_t)m[0].rm_so);
    for (p = rule->replacement; *p; p++) {
        if (*p == '\\' && p[1] >= '0' && p[1] <= '9') {
            int g = p[1] - '0';
            if (m[g].rm_so >= 0)
                rc |= buf_append(out, in + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
            p++;
        } else if (*p == '\\' && p[1] == '\\') {
            rc |= buf_append_char(out, '\\');
            p++;
        } else {
            rc |= buf_append_char(out, *p);
        }
    }
    rc |= buf_append_str(out, in + m[0].rm_eo);
    return rc;
}

static int push_header(struct outgoing *o, const char *name, size_t name_len, const char *value,
                       size_t value_len)
{
    if (o->header_count == o->header_cap) {
        size_t cap = o->header_cap ? o->header_cap * 2 : 32;
        struct http_header *grown = realloc(o->headers, cap * sizeof *grown);
        if (!grown)
            return ERR_NOMEM;
        o->headers = grown;
        o->header_cap = cap;
    }
    o->headers[o->header_count++] = (struct http_header){name, name_len, value, value_len};
    return 0;
}

static bool name_is(const struct http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Remove every header called `name`; with a value, the first one takes the
 * rule's name and value in place, or the header is appended. */
static int apply_header_rule(const struct rewrite_header_rule *rule, struct outgoing *o)
{
    size_t kept = 0;
    bool placed = false;
    for (size_t i = 0; i < o->header_count; i++) {
        if (!name_is(&o->headers[i], rule->name)) {
            o->headers[kept++] = o->headers[i];
        } else if (rule->value && !placed) {
            o->headers[kept++] = (struct http_header){rule->name, strlen(rule->name),
                                                      rule->value, strlen(rule->value)};
            placed = true;
        }
    }
    o->header_count = kept;
    if (rule->value && !placed)
        return push_header(o, rule->name, strlen(rule->name), rule->value, strlen(rule->value));
    return 0;
}

static bool has_redacted(const char *s, size_t len)
{
    return memmem(s, len, REDACTED_MARK, sizeof REDACTED_MARK - 1) != NULL;
}

/* The last transfer coding of a Transfer-Encoding value is "chunked". */
static bool te_chunked(const struct http_header *h)
{
    size_t n = h->value_len;
    while (n && (h->value[n - 1] == ' ' || h->value[n - 1] == '\t'))
        n--;
    return n >= 7 && strncasecmp(h->value + n - 7, "chunked", 7) == 0 &&
           (n == 7 || h->value[n - 8] == ',' || h->value[n - 8] == ' ');
}

int rewrite_apply(const struct rewrite_rules *r, const struct replay_target *t, int target_index,
                  const struct http_message *req, struct outgoing *out)
{
    struct buf scratch;
    int rc = 0;

    buf_reset(&out->target);
    out->header_count = 0;
    out->method = req->method;
    out->version_minor = req->version_minor;
    out->body = req->body;
    out->body_len = req->body_len;
    out->trailers = req->trailers;
    out->trailer_count = req->trailer_count;
    out->chunked = false;
    out->redacted = false;

    /* target: path rules in order, then the target's path prefix */
    rc |= buf_append_str(&out->target, req->target);
    buf_init(&scratch, TARGET_MAX_BYTES);
    for (size_t i = 0; i < r->path_count && !rc; i++) {
        struct buf tmp;
        buf_reset(&scratch);
        rc |= apply_path_rule(&r->paths[i], out->target.data, &scratch);
        tmp = out->target;
        out->target = scratch;
        scratch = tmp;
    }
    if (!rc && t->prefix[0] && out->target.data[0] == '/') {
        buf_reset(&scratch);
        rc |= buf_append_str(&scratch, t->prefix);
        rc |= buf_append(&scratch, out->target.data, out->target.len);
        struct buf tmp = out->target;
        out->target = scratch;
        scratch = tmp;
    }
    buf_release(&scratch);
    if (rc)
        return rc == ERR_NOMEM ? ERR_NOMEM : ERR_TOOBIG;

    for (size_t i = 0; i < req->header_count; i++) {
        const struct http_header *h = &req->headers[i];
        if (!r->keep_host && name_is(h, "Host"))
            rc = push_header(out, h->name, h->name_len, t->authority, strlen(t->authority));
        else
            rc = push_header(out, h->name, h->name_len, h->value, h->value_len);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < r->header_count; i++) {
        const struct rewrite_header_rule *rule = &r->headers[i];
        if (rule->target != REWRITE_ALL_TARGETS && rule->target != target_index)
            continue;
        if ((rc = apply_header_rule(rule, out)))
            return rc;
    }
    for (size_t i = 0; i < out->header_count; i++) {
        const struct http_header *h = &out->headers[i];
        if (name_is(h, "Transfer-Encoding") && te_chunked(h))
            out->chunked = true;
        if (has_redacted(h->value, h->value_len))
            out->redacted = true;
    }
    if (has_redacted(out->target.data, out->target.len))
        out->redacted = true;
    return 0;
}

static bool bytes_ok(const char *s, size_t n, bool allow_space)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\r' || c == '\n' || c == '\0' || (!allow_space && (c <= ' ' || c == 0x7f)))
            return false;
    }
    return true;
}

enum skip_reason rewrite_check_sendable(const struct trace_tx *tx)
{
    const struct http_message *m = &tx->request;
    bool chunked = false, has_length = false;
    uint64_t length = 0;

    if (tx->flags & (TX_FLAG(TX_REQUEST_GAP) | TX_FLAG(TX_REQUEST_TRUNCATED) |
                     TX_FLAG(TX_REQUEST_BODY_CAPPED)) ||
        m->body_size != m->body_len)
        return SKIP_INCOMPLETE;
    if ((tx->flags & TX_FLAG(TX_UPGRADE)) || (m->method && strcmp(m->method, "CONNECT") == 0))
        return SKIP_UPGRADE;
    if (!m->method || !token_ok(m->method, strlen(m->method)) || !m->target || !m->target[0] ||
        !bytes_ok(m->target, strlen(m->target), false) || m->version_major != 1 ||
        m->version_minor > 1)
        return SKIP_UNSENDABLE;
    for (size_t i = 0; i < m->header_count; i++) {
        const struct http_header *h = &m->headers[i];
        if (!token_ok(h->name, h->name_len) || !bytes_ok(h->value, h->value_len, true))
            return SKIP_UNSENDABLE;
        if (name_is(h, "Transfer-Encoding") && te_chunked(h))
            chunked = true;
        if (name_is(h, "Content-Length")) {
            char num[32];
            char *end;
            unsigned long long v;
            if (h->value_len == 0 || h->value_len >= sizeof num)
                return SKIP_UNSENDABLE;
            memcpy(num, h->value, h->value_len);
            num[h->value_len] = '\0';
            v = strtoull(num, &end, 10);
            if (*end || num[0] < '0' || num[0] > '9' || (has_length && v != length))
                return SKIP_UNSENDABLE;
            has_length = true;
            length = v;
        }
    }
    for (size_t i = 0; i < m->trailer_count; i++)
        if (!token_ok(m->trailers[i].name, m->trailers[i].name_len) ||
            !bytes_ok(m->trailers[i].value, m->trailers[i].value_len, true))
            return SKIP_UNSENDABLE;
    if (chunked)
        return m->version_minor == 0 ? SKIP_UNSENDABLE : SKIP_NONE;
    if (has_length)
        return length == m->body_len ? SKIP_NONE : SKIP_INCOMPLETE;
    /* no framing: only an empty body can be sent as captured */
    return m->body_len ? SKIP_UNSENDABLE : SKIP_NONE;
}
