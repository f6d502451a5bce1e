#include "selection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

static const char *const skip_names[SKIP_COUNT] = {
#define SKIP_NAME(name, text, description) text,
    SKIP_REASON_MAP(SKIP_NAME)
#undef SKIP_NAME
};
static const char *const skip_descriptions[SKIP_COUNT] = {
#define SKIP_DESCRIPTION(name, text, description) description,
    SKIP_REASON_MAP(SKIP_DESCRIPTION)
#undef SKIP_DESCRIPTION
};

const char *skip_reason_name(enum skip_reason r)
{
    return (unsigned)r < SKIP_COUNT ? skip_names[r] : "none";
}

const char *skip_reason_description(enum skip_reason r)
{
    return (unsigned)r < SKIP_COUNT ? skip_descriptions[r] : "taken";
}

static bool parse_int64(const char *text, int64_t *out)
{
    char *end;
    long long v;
    if (!*text || *text == '-' || *text == '+')
        return false;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

int bound_parse(const char *option, const char *text, struct bound *out, struct error *err)
{
    out->kind = BOUND_NONE;
    if (text[0] == '#') {
        if (!parse_int64(text + 1, &out->value) || out->value < 1)
            return error_set(err, ERR_USAGE,
                             "%s: '%s': expected a transaction id after '#', such as #120",
                             option, text);
        out->kind = BOUND_TX;
        return 0;
    }
    if (text[0] == '@') {
        if (!parse_int64(text + 1, &out->value))
            return error_set(err, ERR_USAGE,
                             "%s: '%s': expected microseconds since the epoch after '@', "
                             "such as @1700000000123456",
                             option, text);
        out->kind = BOUND_ABSOLUTE;
        return 0;
    }
    if (!duration_parse_us(text, &out->value))
        return error_set(err, ERR_USAGE,
                         "%s: '%s': expected an offset from the trace start (30s, 1.5m, 500ms), "
                         "a capture time in µs since the epoch (@1700000000123456), or a "
                         "transaction id (#120)",
                         option, text);
    out->kind = BOUND_OFFSET;
    return 0;
}

void selection_init(struct selection *s)
{
    memset(s, 0, sizeof *s);
    s->sample_percent = 100.0;
    s->trace_start_us = TRACE_TIME_NONE;
}

void selection_release(struct selection *s)
{
    for (unsigned i = 0; i < s->include_count; i++)
        regfree(&s->include[i].re);
    for (unsigned i = 0; i < s->exclude_count; i++)
        regfree(&s->exclude[i].re);
    s->include_count = s->exclude_count = 0;
}

int selection_set_shard(struct selection *s, const char *text, struct error *err)
{
    char *slash = strchr(text, '/'), head[32];
    int64_t i, n;

    if (!slash || (size_t)(slash - text) >= sizeof head)
        goto bad;
    memcpy(head, text, (size_t)(slash - text));
    head[slash - text] = '\0';
    if (!parse_int64(head, &i) || !parse_int64(slash + 1, &n) || n < 1 || n > 1000000 ||
        i >= n)
        goto bad;
    s->shard_index = (uint32_t)i;
    s->shard_count = (uint32_t)n;
    return 0;
bad:
    return error_set(err, ERR_USAGE,
                     "--shard: '%s': expected I/N with 0 <= I < N, such as 0/4 (the first of "
                     "four shards)",
                     text);
}

int selection_set_sample(struct selection *s, double percent, struct error *err)
{
    if (!(percent > 0 && percent <= 100))
        return error_set(err, ERR_USAGE,
                         "--sample: %g: expected a percentage of connections above 0 and at "
                         "most 100",
                         percent);
    s->sample_percent = percent;
    return 0;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

int selection_add_filter(struct selection *s, bool include, const char *text,
                         struct error *err)
{
    const char *option = include ? "--include" : "--exclude";
    struct path_filter *f;
    const char *space = strchr(text, ' ');
    const char *regex = text;
    char anchored[600];
    int rc;

    if ((include ? s->include_count : s->exclude_count) >= SELECTION_MAX_RULES)
        return error_set(err, ERR_USAGE, "%s: at most %d rules", option, SELECTION_MAX_RULES);
    f = include ? &s->include[s->include_count] : &s->exclude[s->exclude_count];
    memset(f, 0, sizeof *f);
    snprintf(f->text, sizeof f->text, "%s", text);
    if (space) {
        size_t n = (size_t)(space - text);
        if (n >= sizeof f->methods)
            return error_set(err, ERR_USAGE, "%s: '%s': the method list is too long", option,
                             text);
        memcpy(f->methods, text, n);
        f->methods[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (!is_tchar((unsigned char)f->methods[i]))
                return error_set(err, ERR_USAGE,
                                 "%s: '%s': expected 'METHOD REGEX' with METHOD a method name, "
                                 "a list such as GET|HEAD, or *",
                                 option, text);
        if (strcmp(f->methods, "*") == 0)
            f->methods[0] = '\0';
        regex = space + 1;
        while (*regex == ' ')
            regex++;
    }
    if (!*regex)
        return error_set(err, ERR_USAGE, "%s: '%s': expected a path regular expression", option,
                         text);
    if (strlen(regex) > sizeof anchored - 8)
        return error_set(err, ERR_USAGE, "%s: '%s': the regular expression is too long", option,
                         text);
    snprintf(anchored, sizeof anchored, "^(%s)$", regex);
    rc = regcomp(&f->re, anchored, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[256];
        regerror(rc, &f->re, why, sizeof why);
        return error_set(err, ERR_USAGE, "%s: '%s': invalid regular expression: %s", option,
                         regex, why);
    }
    if (include)
        s->include_count++;
    else
        s->exclude_count++;
    return 0;
}

void selection_begin(struct selection *s, int64_t trace_start_us)
{
    s->trace_start_us = trace_start_us;
}

/* Capture time of a bound, or INT64_MIN when the bound is not a time. */
static int64_t bound_time(const struct selection *s, const struct bound *b)
{
    if (b->kind == BOUND_ABSOLUTE)
        return b->value;
    if (b->kind == BOUND_OFFSET)
        return (s->trace_start_us == TRACE_TIME_NONE ? 0 : s->trace_start_us) + b->value;
    return INT64_MIN;
}

enum slice_position selection_slice(const struct selection *s, const struct trace_tx *tx)
{
    if (s->to.kind == BOUND_TX && tx->id >= (uint64_t)s->to.value)
        return SLICE_AFTER;
    if (s->to.kind != BOUND_NONE && s->to.kind != BOUND_TX && tx->req_start_us != TRACE_TIME_NONE &&
        tx->req_start_us >= bound_time(s, &s->to))
        return SLICE_AFTER;
    if (s->from.kind == BOUND_TX && tx->id < (uint64_t)s->from.value)
        return SLICE_BEFORE;
    if (s->from.kind != BOUND_NONE && s->from.kind != BOUND_TX &&
        (tx->req_start_us == TRACE_TIME_NONE || tx->req_start_us < bound_time(s, &s->from)))
        return SLICE_BEFORE;
    return SLICE_IN;
}

/* splitmix64's finaliser: every input bit affects every output bit, so
 * consecutive connection ids spread evenly over shards and samples. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

#define SHARD_SEED 0x7368617264000000ull  /* "shard" */
#define SAMPLE_SEED 0x73616d706c650000ull /* "sample" */

uint32_t selection_shard_of(uint64_t conn, uint32_t shard_count)
{
    return shard_count ? (uint32_t)(mix64(conn ^ SHARD_SEED) % shard_count) : 0;
}

bool selection_sampled(uint64_t conn, double percent)
{
    /* 53 random bits as a fraction in [0, 1) */
    double u = (double)(mix64(conn ^ SAMPLE_SEED) >> 11) * (1.0 / 9007199254740992.0);
    return u * 100.0 < percent;
}

bool selection_in_shard(const struct selection *s, const struct trace_tx *tx)
{
    return !s->shard_count || selection_shard_of(tx->conn, s->shard_count) == s->shard_index;
}

static bool method_in(const char *methods, const char *method)
{
    size_t n = strlen(method);
    const char *p = methods;
    if (!*methods)
        return true;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, method, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

static bool filter_matches(const struct path_filter *f, const char *method, const char *path)
{
    return method_in(f->methods, method) && regexec(&f->re, path, 0, NULL, 0) == 0;
}

enum skip_reason selection_pick(const struct selection *s, const struct trace_tx *tx)
{
    const char *method = tx->request.method ? tx->request.method : "";
    const char *target = tx->request.target ? tx->request.target : "";
    const char *q;
    char small[1024], *path = small;
    size_t len;
    bool keep;

    if (!selection_in_shard(s, tx))
        return SKIP_OTHER_SHARD;
    if (s->sample_percent < 100.0 && !selection_sampled(tx->conn, s->sample_percent))
        return SKIP_NOT_SAMPLED;
    if (!s->include_count && !s->exclude_count)
        return SKIP_NONE;

    /* the path: the target without its query string */
    q = strchr(target, '?');
    len = q ? (size_t)(q - target) : strlen(target);
    if (len >= sizeof small && !(path = malloc(len + 1)))
        return SKIP_FILTERED;
    memcpy(path, target, len);
    path[len] = '\0';

    keep = s->include_count == 0;
    for (unsigned i = 0; i < s->include_count && !keep; i++)
        keep = filter_matches(&s->include[i], method, path);
    for (unsigned i = 0; i < s->exclude_count && keep; i++)
        keep = !filter_matches(&s->exclude[i], method, path);
    if (path != small)
        free(path);
    return keep ? SKIP_NONE : SKIP_FILTERED;
}
