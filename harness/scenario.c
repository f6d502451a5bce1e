#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_locate.h"
#include "metrics.h"
#include "step.h"
#include "subst.h"
#include "suggest.h"
#include "fileutil.h"

#define DEFAULT_HEALTH_TIMEOUT_US (30 * 1000000LL)
#define DEFAULT_HEALTH_INTERVAL_US (100 * 1000LL)
#define DEFAULT_STOP_TIMEOUT_US (5 * 1000000LL)
#define PG_IDENTIFIER_MAX 63

struct scenario_parser {
    struct scenario *s;
    struct scenario_diagnostics *diags;
    char **metrics;           /* declared metric names (patterns) */
    size_t metric_count, metric_cap;
    const struct step **named; /* every step parsed so far, for unique names */
    size_t named_count, named_cap;
};

/* Strings handed out by the parser live as long as the scenario: the
 * scenario is allocated with this list behind its public part. */
struct scenario_private {
    struct scenario pub;
    char **strings;
    size_t string_count;
};

/* ---- diagnostics --------------------------------------------------------- */

void scenario_locate(const struct scenario *s, const char *pointer, char *out, size_t size)
{
    struct json_location loc;
    char display[SCENARIO_POINTER_MAX];

    json_locate(s->text, s->text_len, pointer, &loc);
    json_pointer_display(pointer, display, sizeof display);
    snprintf(out, size, "%s:%d:%d: %s%s", s->file, loc.line, loc.column, display,
             display[0] ? ": " : "");
}

/* "scenario.json:14:9" */
static void short_location(const struct scenario *s, const char *pointer, char *out, size_t size)
{
    struct json_location loc;
    json_locate(s->text, s->text_len, pointer, &loc);
    snprintf(out, size, "%s:%d:%d", s->file, loc.line, loc.column);
}

static void add_diagnostic(struct scenario_parser *p, char *line)
{
    struct scenario_diagnostics *d = p->diags;
    if (!line)
        return;
    if (d->count < SCENARIO_MAX_DIAGNOSTICS)
        d->lines[d->count++] = line;
    else {
        d->dropped++;
        free(line);
    }
}

void scenario_error(struct scenario_parser *p, const char *pointer, const char *fmt, ...)
{
    char where[SCENARIO_POINTER_MAX + 64], message[ERROR_MESSAGE_MAX];
    char *line = NULL;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    scenario_locate(p->s, pointer, where, sizeof where);
    if (asprintf(&line, "%s%s", where, message) < 0)
        line = NULL;
    add_diagnostic(p, line);
}

/* An error at a byte offset inside a string value (a substitution): the
 * column is exact when nothing before it in the string was escaped. */
static void error_in_string(struct scenario_parser *p, const char *pointer, const char *value,
                            size_t index, const char *message)
{
    struct json_location loc;
    char display[SCENARIO_POINTER_MAX];
    char *line = NULL;
    int column;

    json_locate(p->s->text, p->s->text_len, pointer, &loc);
    column = loc.column;
    if (loc.offset + 1 + index <= p->s->text_len && p->s->text[loc.offset] == '"' &&
        memcmp(p->s->text + loc.offset + 1, value, index) == 0 &&
        !memchr(p->s->text + loc.offset + 1, '\\', index))
        column += 1 + (int)index;
    json_pointer_display(pointer, display, sizeof display);
    if (asprintf(&line, "%s:%d:%d: %s: %s", p->s->file, loc.line, column, display, message) < 0)
        line = NULL;
    add_diagnostic(p, line);
}

void scenario_diagnostics_release(struct scenario_diagnostics *diags)
{
    if (!diags)
        return;
    for (size_t i = 0; i < diags->count; i++)
        free(diags->lines[i]);
    diags->count = diags->dropped = 0;
}

/* ---- pointers and descriptions ------------------------------------------- */

void scenario_pointer(char *out, size_t size, const char *base, const char *key)
{
    size_t n = (size_t)snprintf(out, size, "%s/", base);
    for (const char *c = key; *c && n + 3 < size; c++) {
        if (*c == '~' || *c == '/') {
            out[n++] = '~';
            out[n++] = *c == '~' ? '0' : '1';
        } else {
            out[n++] = *c;
        }
    }
    if (n < size)
        out[n] = '\0';
}

void scenario_pointer_index(char *out, size_t size, const char *base, size_t index)
{
    snprintf(out, size, "%s/%zu", base, index);
}

void scenario_describe(const json_t *v, char *out, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(out, size, "an object"); break;
    case JSON_ARRAY: snprintf(out, size, "an array"); break;
    case JSON_TRUE: snprintf(out, size, "true"); break;
    case JSON_FALSE: snprintf(out, size, "false"); break;
    case JSON_NULL: snprintf(out, size, "null"); break;
    case JSON_INTEGER: snprintf(out, size, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(out, size, "%.10g", json_real_value(v)); break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = 0, len = json_string_length(v);
        if (size < 8) {
            snprintf(out, size, "a string");
            break;
        }
        out[n++] = '"';
        for (size_t i = 0; i < len && n + 6 < size; i++) {
            unsigned char c = (unsigned char)s[i];
            if (i >= 40) {
                n += (size_t)snprintf(out + n, size - n, "...");
                break;
            }
            if (c < 0x20 || c == 0x7f)
                n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
            else
                out[n++] = (char)c;
        }
        snprintf(out + n, size - n, "\"");
        break;
    }
    }
}

/* ---- typed members ------------------------------------------------------- */

static bool is_member(const char *key, const char *const *allowed)
{
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(key, allowed[i]) == 0)
            return true;
    return false;
}

static void list_names(const char *const *names, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; names[i] && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s\"%s\"", i ? ", " : "", names[i]);
}

bool scenario_check_object(struct scenario_parser *p, const json_t *v, const char *pointer,
                           const char *const *allowed, const char *what)
{
    const char *key;
    json_t *value;
    char found[96], ptr[SCENARIO_POINTER_MAX], list[512];
    bool ok = true;

    if (!json_is_object(v)) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, pointer, "expected an object (%s), found %s", what, found);
        return false;
    }
    json_object_foreach((json_t *)v, key, value) {
        if (is_member(key, allowed))
            continue;
        const char *near = suggest_nearest(key, allowed);
        scenario_pointer(ptr, sizeof ptr, pointer, key);
        if (near) {
            scenario_error(p, ptr, "unknown key \"%s\"; did you mean \"%s\"?", key, near);
        } else {
            list_names(allowed, list, sizeof list);
            scenario_error(p, ptr, "unknown key \"%s\" in %s; expected one of %s", key, what,
                           list);
        }
        ok = false;
    }
    return ok;
}

static const json_t *member(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static void missing(struct scenario_parser *p, const char *pointer, const char *key)
{
    scenario_error(p, pointer, "missing \"%s\"", key);
}

/* The member `key` of obj with its pointer in ptr, or NULL when it is absent
 * — then *ok says whether that is fine (a required one is reported). */
static const json_t *typed_member(struct scenario_parser *p, const json_t *obj,
                                  const char *pointer, const char *key, bool required,
                                  char *ptr, size_t size, bool *ok)
{
    const json_t *v = member(obj, key);
    *ok = v || !required;
    if (!v && required)
        missing(p, pointer, key);
    scenario_pointer(ptr, size, pointer, key);
    return v;
}

static bool wrong_type(struct scenario_parser *p, const char *ptr, const json_t *v,
                       const char *expected)
{
    char found[96];
    scenario_describe(v, found, sizeof found);
    scenario_error(p, ptr, "expected %s, found %s", expected, found);
    return false;
}

bool scenario_get_string(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         const char *key, bool required, const char **out)
{
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;
    const json_t *v = typed_member(p, obj, pointer, key, required, ptr, sizeof ptr, &ok);

    if (!v)
        return ok;
    if (!json_is_string(v))
        return wrong_type(p, ptr, v, "a string");
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        scenario_error(p, ptr, "a NUL character (\\u0000) is not allowed here");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool scenario_get_bool(struct scenario_parser *p, const json_t *obj, const char *pointer,
                       const char *key, bool *out)
{
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;
    const json_t *v = typed_member(p, obj, pointer, key, false, ptr, sizeof ptr, &ok);

    if (!v)
        return ok;
    if (!json_is_boolean(v))
        return wrong_type(p, ptr, v, "true or false");
    *out = json_is_true(v);
    return true;
}

bool scenario_get_number(struct scenario_parser *p, const json_t *obj, const char *pointer,
                         const char *key, bool required, double *out)
{
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;
    const json_t *v = typed_member(p, obj, pointer, key, required, ptr, sizeof ptr, &ok);

    if (!v)
        return ok;
    if (!json_is_number(v))
        return wrong_type(p, ptr, v, "a number");
    *out = json_number_value(v);
    return true;
}

bool scenario_get_int(struct scenario_parser *p, const json_t *obj, const char *pointer,
                      const char *key, long long min, long long max, bool required,
                      long long *out)
{
    char ptr[SCENARIO_POINTER_MAX], expected[96];
    bool ok;
    const json_t *v = typed_member(p, obj, pointer, key, required, ptr, sizeof ptr, &ok);

    if (!v)
        return ok;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(expected, sizeof expected, "an integer from %lld to %lld", min, max);
        return wrong_type(p, ptr, v, expected);
    }
    *out = json_integer_value(v);
    return true;
}

bool scenario_parse_duration(struct scenario_parser *p, const json_t *v, const char *pointer,
                             int64_t *out_us)
{
    static const struct { const char *unit; double us; } units[] = {
        {"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"min", 60e6}, {"h", 3600e6},
    };
    char found[96];
    const char *text;
    char *end;
    double value;

    if (json_is_number(v)) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, pointer,
                       "expected a duration such as \"500ms\", found %s (a number needs a unit: "
                       "\"%sms\" or \"%ss\")",
                       found, found, found);
        return false;
    }
    if (!json_is_string(v))
        goto bad;
    text = json_string_value(v);
    errno = 0;
    value = strtod(text, &end);
    if (end == text || errno || !isfinite(value) || value < 0 || isspace((unsigned char)*text))
        goto bad;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].unit) == 0) {
            if (value * units[i].us > 9e15) /* ~285 years: surely a typo */
                goto bad;
            *out_us = (int64_t)llround(value * units[i].us);
            return true;
        }
    }
bad:
    scenario_describe(v, found, sizeof found);
    scenario_error(p, pointer,
                   "expected a duration such as \"500ms\" (units us, ms, s, m, h), found %s",
                   found);
    return false;
}

bool scenario_get_duration(struct scenario_parser *p, const json_t *obj, const char *pointer,
                           const char *key, bool required, int64_t *out_us)
{
    char ptr[SCENARIO_POINTER_MAX];
    bool ok;
    const json_t *v = typed_member(p, obj, pointer, key, required, ptr, sizeof ptr, &ok);
    return v ? scenario_parse_duration(p, v, ptr, out_us) : ok;
}

/* ---- strings owned by the scenario --------------------------------------- */

char *scenario_strdup(struct scenario_parser *p, const char *s)
{
    struct scenario_private *priv = (struct scenario_private *)p->s;
    char *copy = strdup(s);
    char **grown;

    if (!copy)
        return NULL;
    grown = realloc(priv->strings, (priv->string_count + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return NULL;
    }
    priv->strings = grown;
    priv->strings[priv->string_count++] = copy;
    return copy;
}

const struct scenario *scenario_parser_scenario(const struct scenario_parser *p)
{
    return p->s;
}

static void absolute(const struct scenario *s, const char *path, char *out, size_t size)
{
    if (path[0] == '/')
        snprintf(out, size, "%s", path);
    else
        snprintf(out, size, "%s/%s", s->dir, path);
}

const char *scenario_input_file(struct scenario_parser *p, const char *pointer, const char *path)
{
    char abs[PATH_MAX];
    struct stat st;

    absolute(p->s, path, abs, sizeof abs);
    if (stat(abs, &st) != 0) {
        scenario_error(p, pointer, "cannot read \"%s\": %s (relative paths start at %s)", path,
                       strerror(errno), p->s->dir);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        scenario_error(p, pointer, "\"%s\" is not a regular file", path);
        return NULL;
    }
    if (access(abs, R_OK) != 0) {
        scenario_error(p, pointer, "cannot read \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    return scenario_strdup(p, abs);
}

/* ---- names and references ------------------------------------------------ */

int scenario_find_database(const struct scenario *s, const char *name)
{
    for (size_t i = 0; i < s->database_count; i++)
        if (strcmp(s->databases[i].name, name) == 0)
            return (int)i;
    return -1;
}

int scenario_find_service(const struct scenario *s, const char *name)
{
    for (size_t i = 0; i < s->service_count; i++)
        if (s->services[i].name && strcmp(s->services[i].name, name) == 0)
            return (int)i;
    return -1;
}

int scenario_find_link(const struct scenario *s, const char *name)
{
    for (size_t i = 0; i < s->link_count; i++)
        if (s->links[i].name && strcmp(s->links[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const char *nearest_name(const struct scenario *s, bool service, const char *name)
{
    struct suggest sg;
    suggest_init(&sg, name);
    if (service) {
        for (size_t i = 0; i < s->service_count; i++)
            if (s->services[i].name)
                suggest_consider(&sg, s->services[i].name);
    } else {
        for (size_t i = 0; i < s->database_count; i++)
            suggest_consider(&sg, s->databases[i].name);
    }
    return sg.best;
}

static void known_names(const struct scenario *s, bool service, char *out, size_t size)
{
    size_t n = 0, count = service ? s->service_count : s->database_count;
    out[0] = '\0';
    for (size_t i = 0; i < count && n < size; i++) {
        const char *name = service ? s->services[i].name : s->databases[i].name;
        if (name)
            n += (size_t)snprintf(out + n, size - n, "%s\"%s\"", n ? ", " : "", name);
    }
}

static int ref_named(struct scenario_parser *p, const char *pointer, const char *name,
                     bool service)
{
    const char *what = service ? "service" : "database";
    int index = service ? scenario_find_service(p->s, name) : scenario_find_database(p->s, name);
    char list[512];
    const char *near;

    if (index >= 0)
        return index;
    if ((near = nearest_name(p->s, service, name))) {
        scenario_error(p, pointer, "unknown %s \"%s\"; did you mean \"%s\"?", what, name, near);
        return -1;
    }
    known_names(p->s, service, list, sizeof list);
    if (list[0])
        scenario_error(p, pointer, "unknown %s \"%s\"; the scenario declares %s", what, name,
                       list);
    else
        scenario_error(p, pointer, "unknown %s \"%s\"; the scenario declares no %ss", what, name,
                       what);
    return -1;
}

int scenario_ref_database(struct scenario_parser *p, const char *pointer, const char *name)
{
    return ref_named(p, pointer, name, false);
}

int scenario_ref_service(struct scenario_parser *p, const char *pointer, const char *name)
{
    return ref_named(p, pointer, name, true);
}

int scenario_ref_link(struct scenario_parser *p, const char *pointer, const char *name)
{
    int index = scenario_find_link(p->s, name);
    struct suggest sg;
    char list[512];
    size_t n = 0;

    if (index >= 0)
        return index;
    suggest_init(&sg, name);
    list[0] = '\0';
    for (size_t i = 0; i < p->s->link_count; i++) {
        if (!p->s->links[i].name)
            continue;
        suggest_consider(&sg, p->s->links[i].name);
        if (n < sizeof list)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s\"%s\"", n ? ", " : "",
                                  p->s->links[i].name);
    }
    if (sg.best)
        scenario_error(p, pointer, "unknown link \"%s\"; did you mean \"%s\"?", name, sg.best);
    else if (list[0])
        scenario_error(p, pointer, "unknown link \"%s\"; the scenario declares %s", name, list);
    else
        scenario_error(p, pointer,
                       "unknown link \"%s\"; the scenario declares no links (add it under "
                       "\"links\")",
                       name);
    return -1;
}



static int subst_database(void *ctx, const char *name)
{
    return scenario_find_database(ctx, name);
}

static int subst_service(void *ctx, const char *name)
{
    return scenario_find_service(ctx, name);
}

static const char *subst_suggest(void *ctx, bool service, const char *name)
{
    return nearest_name(ctx, service, name);
}

static int subst_link(void *ctx, const char *name)
{
    return scenario_find_link(ctx, name);
}

static const char *subst_link_field(void *ctx, int index, int field)
{
    const struct scenario_link *l = &((const struct scenario *)ctx)->links[index];
    bool db_field = field == SUBST_LINK_CONNINFO || field == SUBST_LINK_DBNAME ||
                    field == SUBST_LINK_USER;
    if (db_field && l->to != LINK_TO_DATABASE)
        return "only a link to a database has this field (use host, port, address or url)";
    if (field == SUBST_LINK_URL && l->to == LINK_TO_ADDRESS)
        return "a link to a plain address has no url (use host, port or address)";
    return NULL;
}

/* Parse a string member that may hold substitutions. */
static struct subst *get_template(struct scenario_parser *p, const json_t *v, const char *pointer,
                                  unsigned allow)
{
    struct subst_names names = {subst_database, subst_service, subst_suggest, p->s,
                                subst_link, subst_link_field};
    struct subst *t = NULL;
    struct error err;
    char found[96];
    size_t where;

    if (!json_is_string(v)) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, pointer, "expected a string, found %s%s", found,
                       json_is_number(v) ? " (write numbers as strings here)" : "");
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        scenario_error(p, pointer, "a NUL character (\\u0000) is not allowed here");
        return NULL;
    }
    error_init(&err);
    if (subst_parse(&t, json_string_value(v), allow, &names, &where, &err)) {
        error_in_string(p, pointer, json_string_value(v), where, err.message);
        return NULL;
    }
    return t;
}

struct subst *scenario_template(struct scenario_parser *p, const json_t *v, const char *pointer,
                                unsigned allow)
{
    return get_template(p, v, pointer, allow);
}

static bool name_ok(const char *name, bool allow_dash, size_t max)
{
    size_t len = strlen(name);
    if (len == 0 || len > max)
        return false;
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_' || (allow_dash && *c == '-')))
            return false;
    return true;
}

/* ---- metrics ------------------------------------------------------------- */

void scenario_declare_metric(struct scenario_parser *p, const char *name)
{
    if (p->metric_count == p->metric_cap) {
        size_t cap = p->metric_cap ? p->metric_cap * 2 : 32;
        char **grown = realloc(p->metrics, cap * sizeof *grown);
        if (!grown)
            return;
        p->metrics = grown;
        p->metric_cap = cap;
    }
    if ((p->metrics[p->metric_count] = strdup(name)))
        p->metric_count++;
}

bool scenario_metric_declared(const struct scenario_parser *p, const char *name,
                              char *suggestion, size_t size)
{
    struct suggest sg;
    for (size_t i = 0; i < p->metric_count; i++)
        if (metrics_name_matches(p->metrics[i], name))
            return true;
    suggest_init(&sg, name);
    for (size_t i = 0; i < p->metric_count; i++)
        suggest_consider(&sg, p->metrics[i]);
    snprintf(suggestion, size, "%s", sg.best ? sg.best : "");
    return false;
}

/* ---- steps --------------------------------------------------------------- */

static const char *const step_base_keys[] = {"name", "description", "at", "on_failure", NULL};

void step_free(struct step *step)
{
    if (!step)
        return;
    if (step->kind && step->kind->free && step->data)
        step->kind->free(step->data);
    free(step->name);
    free(step->description);
    free(step);
}

static void remember_step(struct scenario_parser *p, const struct step *step)
{
    if (p->named_count == p->named_cap) {
        size_t cap = p->named_cap ? p->named_cap * 2 : 32;
        const struct step **grown = realloc(p->named, cap * sizeof *grown);
        if (!grown)
            return;
        p->named = grown;
        p->named_cap = cap;
    }
    p->named[p->named_count++] = step;
}

const struct step *scenario_find_step(const struct scenario_parser *p, const char *name)
{
    for (size_t i = 0; i < p->named_count; i++)
        if (strcmp(p->named[i]->name, name) == 0)
            return p->named[i];
    return NULL;
}

static void unknown_step_key(struct scenario_parser *p, const char *pointer, const char *key)
{
    const struct step_kind *const *kinds = step_kinds();
    char ptr[SCENARIO_POINTER_MAX], list[512];
    struct suggest sg;
    size_t n = 0;

    scenario_pointer(ptr, sizeof ptr, pointer, key);
    suggest_init(&sg, key);
    for (size_t i = 0; step_base_keys[i]; i++)
        suggest_consider(&sg, step_base_keys[i]);
    for (size_t i = 0; kinds[i]; i++)
        suggest_consider(&sg, kinds[i]->name);
    if (sg.best) {
        scenario_error(p, ptr, "unknown key \"%s\"; did you mean \"%s\"?", key, sg.best);
        return;
    }
    list[0] = '\0';
    for (size_t i = 0; kinds[i]; i++)
        if (!kinds[i]->unavailable)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                                  kinds[i]->name);
    scenario_error(p, ptr,
                   "unknown key \"%s\" in a step; a step has a \"name\" and one kind "
                   "(%s)",
                   key, list);
}

static void declare_step_metrics(struct scenario_parser *p, const struct step *step)
{
    char name[METRIC_NAME_MAX];
    snprintf(name, sizeof name, "%s.%s.duration_ms", step->kind->name, step->name);
    scenario_declare_metric(p, name);
    for (size_t i = 0; step->kind->measures && step->kind->measures[i]; i++) {
        snprintf(name, sizeof name, "%s.%s.%s", step->kind->name, step->name,
                 step->kind->measures[i]);
        scenario_declare_metric(p, name);
    }
}

struct step *scenario_parse_step(struct scenario_parser *p, const json_t *v, const char *pointer,
                                 const struct step *parent)
{
    struct step *step;
    const char *key, *name = NULL, *description = NULL, *kind_key = NULL, *on_failure = NULL;
    const json_t *value, *kind_value = NULL;
    char found[96], ptr[SCENARIO_POINTER_MAX];
    size_t diags_before = p->diags->count + p->diags->dropped;

    if (!json_is_object(v)) {
        scenario_describe(v, found, sizeof found);
        scenario_error(p, pointer, "expected a step object such as {\"name\": \"expand\", "
                                   "\"sql\": {...}}, found %s", found);
        return NULL;
    }
    if (!(step = calloc(1, sizeof *step)))
        return NULL;
    step->parent = parent;
    snprintf(step->pointer, sizeof step->pointer, "%s", pointer);

    json_object_foreach((json_t *)v, key, value) {
        const struct step_kind *kind;
        if (is_member(key, step_base_keys))
            continue;
        if (!(kind = step_kind_find(key))) {
            unknown_step_key(p, pointer, key);
            continue;
        }
        scenario_pointer(ptr, sizeof ptr, pointer, key);
        if (kind->unavailable) {
            scenario_error(p, ptr,
                           "step kind \"%s\" is not available in this build (it needs %s); "
                           "remove the step or run a build of rehearse that has it",
                           key, kind->unavailable);
            continue;
        }
        if (kind_key) {
            scenario_error(p, ptr,
                           "a step does one thing, but this one has both \"%s\" and \"%s\"; "
                           "split it into two steps",
                           kind_key, key);
            continue;
        }
        kind_key = key;
        kind_value = value;
        step->kind = kind;
    }

    if (scenario_get_string(p, v, pointer, "name", true, &name) && name) {
        scenario_pointer(ptr, sizeof ptr, pointer, "name");
        const struct step *other;
        if (!name_ok(name, true, SCENARIO_NAME_MAX)) {
            scenario_error(p, ptr,
                           "expected a step name of 1 to %d letters, digits, '_' or '-' (it "
                           "becomes part of metric names such as sql.NAME.duration_ms), found "
                           "\"%s\"; put prose in \"description\"",
                           SCENARIO_NAME_MAX, name);
        } else if ((other = scenario_find_step(p, name))) {
            char where[PATH_MAX];
            short_location(p->s, other->pointer, where, sizeof where);
            scenario_error(p, ptr, "step name \"%s\" is already used by the step at %s", name,
                           where);
        } else {
            step->name = strdup(name);
            remember_step(p, step);
        }
    }
    if (scenario_get_string(p, v, pointer, "description", false, &description) && description)
        step->description = strdup(description);
    if (member(v, "at")) {
        scenario_pointer(ptr, sizeof ptr, pointer, "at");
        if (!parent)
            scenario_error(p, ptr,
                           "\"at\" is an offset from the start of a parallel block, and this "
                           "step is not inside one; use a sleep step before it instead");
        else if (scenario_parse_duration(p, member(v, "at"), ptr, &step->at_us))
            step->has_at = true;
    }
    if (!kind_key && p->diags->count + p->diags->dropped == diags_before) {
        const struct step_kind *const *kinds = step_kinds();
        char list[256];
        size_t n = 0;
        list[0] = '\0';
        for (size_t i = 0; kinds[i]; i++)
            if (!kinds[i]->unavailable)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "",
                                      kinds[i]->name);
        scenario_error(p, pointer, "missing the step's kind: expected one of %s", list);
    }
    if (step->kind) {
        step->on_failure = step->kind->default_on_failure;
        if (scenario_get_string(p, v, pointer, "on_failure", false, &on_failure) && on_failure) {
            scenario_pointer(ptr, sizeof ptr, pointer, "on_failure");
            if (strcmp(on_failure, "stop") == 0)
                step->on_failure = STEP_STOP_RUN;
            else if (strcmp(on_failure, "continue") == 0)
                step->on_failure = STEP_CONTINUE_RUN;
            else
                scenario_error(p, ptr, "expected \"stop\" or \"continue\", found \"%s\"",
                               on_failure);
        }
        scenario_pointer(ptr, sizeof ptr, pointer, kind_key);
        if (step->kind->parse(p, step, kind_value, ptr) && step->name)
            declare_step_metrics(p, step);
    }
    return step;
}

static bool parse_step_list(struct scenario_parser *p, const json_t *root, const char *key,
                            bool required, struct step ***out, size_t *count)
{
    const json_t *list = member(root, key);
    char ptr[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];
    size_t n;

    scenario_pointer(ptr, sizeof ptr, "", key);
    if (!list) {
        if (required)
            scenario_error(p, "", "missing \"%s\": the list of steps to run", key);
        return !required;
    }
    if (!json_is_array(list)) {
        scenario_describe(list, found, sizeof found);
        scenario_error(p, ptr, "expected an array of steps, found %s", found);
        return false;
    }
    n = json_array_size(list);
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return false;
    for (size_t i = 0; i < n; i++) {
        scenario_pointer_index(item, sizeof item, ptr, i);
        (*out)[(*count)++] = scenario_parse_step(p, json_array_get(list, i), item, NULL);
    }
    return true;
}

/* ---- databases ----------------------------------------------------------- */

static const char *const database_keys[] = {"name", "description", "embedded", "setup", "clones",
                                            "conninfo", NULL};

static struct scenario_database *add_database(struct scenario *s, size_t *cap)
{
    if (s->database_count == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 8;
        struct scenario_database *grown = realloc(s->databases, grown_cap * sizeof *grown);
        if (!grown)
            return NULL;
        s->databases = grown;
        *cap = grown_cap;
    }
    struct scenario_database *db = &s->databases[s->database_count++];
    memset(db, 0, sizeof *db);
    db->clone_of = -1;
    return db;
}

static bool database_name(struct scenario_parser *p, const char *pointer, const char *name)
{
    int other;
    if (!name_ok(name, false, PG_IDENTIFIER_MAX) || isdigit((unsigned char)name[0])) {
        scenario_error(p, pointer,
                       "expected a database name of letters, digits and '_' (not starting with "
                       "a digit, at most %d), found \"%s\"",
                       PG_IDENTIFIER_MAX, name);
        return false;
    }
    if ((other = scenario_find_database(p->s, name)) >= 0) {
        char where[PATH_MAX];
        short_location(p->s, p->s->databases[other].pointer, where, sizeof where);
        scenario_error(p, pointer, "database name \"%s\" is already declared at %s", name,
                       where);
        return false;
    }
    return true;
}

static void parse_databases(struct scenario_parser *p, const json_t *root)
{
    const json_t *list = member(root, "databases");
    char found[96];
    size_t cap = 0;

    if (!list)
        return;
    if (!json_is_array(list)) {
        scenario_describe(list, found, sizeof found);
        scenario_error(p, "/databases", "expected an array of databases, found %s", found);
        return;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *v = json_array_get(list, i);
        char ptr[SCENARIO_POINTER_MAX], sub[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX];
        const char *name = NULL;
        bool embedded = false;
        size_t index;

        scenario_pointer_index(ptr, sizeof ptr, "/databases", i);
        if (!scenario_check_object(p, v, ptr, database_keys, "a database") &&
            !json_is_object(v))
            continue;
        if (!scenario_get_string(p, v, ptr, "name", true, &name) || !name)
            continue;
        scenario_pointer(sub, sizeof sub, ptr, "name");
        if (!database_name(p, sub, name))
            continue;
        struct scenario_database *db = add_database(p->s, &cap);
        if (!db)
            return;
        index = p->s->database_count - 1;
        db->name = strdup(name);
        snprintf(db->pointer, sizeof db->pointer, "%s", ptr);
        scenario_get_bool(p, v, ptr, "embedded", &embedded);
        db->embedded = embedded;

        const json_t *conninfo = member(v, "conninfo");
        scenario_pointer(sub, sizeof sub, ptr, "conninfo");
        if (embedded && conninfo)
            scenario_error(p, sub,
                           "an embedded database is created by rehearse and has no conninfo; "
                           "remove \"conninfo\" or \"embedded\"");
        else if (!embedded && !conninfo)
            scenario_error(p, ptr,
                           "expected \"embedded\": true (a throwaway PostgreSQL started by "
                           "rehearse) or a \"conninfo\" for an existing server");
        else if (conninfo)
            db->conninfo = get_template(p, conninfo, sub, SUBST_ALLOW_ENV | SUBST_ALLOW_DIRS);

        const json_t *setup = member(v, "setup");
        scenario_pointer(sub, sizeof sub, ptr, "setup");
        if (setup && !json_is_array(setup)) {
            scenario_describe(setup, found, sizeof found);
            scenario_error(p, sub, "expected an array of SQL file paths, found %s", found);
        } else if (setup) {
            db->setup = calloc(json_array_size(setup) + 1, sizeof *db->setup);
            for (size_t k = 0; db->setup && k < json_array_size(setup); k++) {
                const json_t *f = json_array_get(setup, k);
                const char *path;
                scenario_pointer_index(item, sizeof item, sub, k);
                if (!json_is_string(f)) {
                    scenario_describe(f, found, sizeof found);
                    scenario_error(p, item, "expected the path of an SQL file, found %s", found);
                } else if ((path = scenario_input_file(p, item, json_string_value(f)))) {
                    db->setup[db->setup_count++] = (char *)path;
                }
            }
        }

        const json_t *clones = member(v, "clones");
        scenario_pointer(sub, sizeof sub, ptr, "clones");
        if (clones && !embedded) {
            scenario_error(p, sub,
                           "clones are made with CREATE DATABASE ... TEMPLATE on the embedded "
                           "server; they need \"embedded\": true");
        } else if (clones && !json_is_array(clones)) {
            scenario_describe(clones, found, sizeof found);
            scenario_error(p, sub, "expected an array of database names, found %s", found);
        } else if (clones) {
            for (size_t k = 0; k < json_array_size(clones); k++) {
                const json_t *c = json_array_get(clones, k);
                scenario_pointer_index(item, sizeof item, sub, k);
                if (!json_is_string(c)) {
                    scenario_describe(c, found, sizeof found);
                    scenario_error(p, item, "expected a database name, found %s", found);
                    continue;
                }
                if (!database_name(p, item, json_string_value(c)))
                    continue;
                struct scenario_database *clone = add_database(p->s, &cap);
                if (!clone)
                    return;
                clone->name = strdup(json_string_value(c));
                clone->embedded = true;
                clone->clone_of = (int)index;
                snprintf(clone->pointer, sizeof clone->pointer, "%s", item);
            }
        }
    }
}

/* ---- services ------------------------------------------------------------ */

static const char *const service_keys[] = {"name", "description", "argv", "env", "cwd", "health",
                                           "stop_signal", "stop_timeout", NULL};
static const char *const health_keys[] = {"path", "status", "timeout", "interval", NULL};

static const struct { const char *name; int sig; } signals[] = {
    {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT}, {"SIGQUIT", SIGQUIT}, {"SIGHUP", SIGHUP},
    {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGKILL", SIGKILL},
};

static int signal_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (strcmp(name, signals[i].name) == 0 || strcmp(name, signals[i].name + 3) == 0)
            return signals[i].sig;
    return 0;
}

/* Is argv[0] something we can execute, seen from `cwd`? */
static bool program_found(const char *program, const char *cwd, char *tried, size_t size)
{
    const char *path = getenv("PATH");
    if (strchr(program, '/')) {
        if (program[0] == '/')
            snprintf(tried, size, "%s", program);
        else
            snprintf(tried, size, "%s/%s", cwd, program);
        return access(tried, X_OK) == 0;
    }
    snprintf(tried, size, "PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char candidate[PATH_MAX];
        snprintf(candidate, sizeof candidate, "%.*s/%s", (int)len, path, program);
        if (len && access(candidate, X_OK) == 0)
            return true;
        path = end ? end + 1 : NULL;
    }
    return false;
}

static void parse_service(struct scenario_parser *p, struct scenario_service *svc,
                          const json_t *v, const char *ptr)
{
    char sub[SCENARIO_POINTER_MAX], item[SCENARIO_POINTER_MAX], found[96];
    const json_t *argv = member(v, "argv"), *env = member(v, "env"), *cwd = member(v, "cwd");
    const json_t *health = member(v, "health");
    const char *stop_signal = NULL;
    char cwd_abs[PATH_MAX];

    snprintf(cwd_abs, sizeof cwd_abs, "%s", p->s->dir);
    if (cwd) {
        scenario_pointer(sub, sizeof sub, ptr, "cwd");
        svc->cwd = get_template(p, cwd, sub, SUBST_ALLOW_DIRS | SUBST_ALLOW_ENV);
        if (svc->cwd && subst_is_literal(svc->cwd)) {
            struct stat st;
            absolute(p->s, svc->cwd->source, cwd_abs, sizeof cwd_abs);
            if (stat(cwd_abs, &st) != 0 || !S_ISDIR(st.st_mode))
                scenario_error(p, sub, "working directory \"%s\" is not a directory",
                               svc->cwd->source);
        } else if (svc->cwd) {
            cwd_abs[0] = '\0'; /* known at run time only */
        }
    }

    scenario_pointer(sub, sizeof sub, ptr, "argv");
    if (!argv) {
        scenario_error(p, ptr,
                       "missing \"argv\": the program and its arguments as an array, e.g. "
                       "[\"./server\", \"--port\", \"${port}\"] (never a shell string)");
    } else if (!json_is_array(argv) || json_array_size(argv) == 0) {
        scenario_describe(argv, found, sizeof found);
        scenario_error(p, sub,
                       "expected a non-empty array: the program and its arguments (no shell "
                       "is involved), found %s",
                       found);
    } else {
        svc->argv = calloc(json_array_size(argv), sizeof *svc->argv);
        for (size_t k = 0; svc->argv && k < json_array_size(argv); k++) {
            scenario_pointer_index(item, sizeof item, sub, k);
            struct subst *t = get_template(p, json_array_get(argv, k), item, SUBST_ALLOW_ALL);
            if (!t)
                continue;
            svc->argv[svc->argc++] = t;
            char tried[PATH_MAX];
            if (k == 0 && subst_is_literal(t) && (cwd_abs[0] || !strchr(t->source, '/') ||
                                                  t->source[0] == '/') &&
                !program_found(t->source, cwd_abs, tried, sizeof tried)) {
                if (strcmp(tried, "PATH") == 0)
                    scenario_error(p, item, "program \"%s\" is not in PATH", t->source);
                else
                    scenario_error(p, item,
                                   "program \"%s\" is not an executable file (looked for %s; a "
                                   "relative program starts at the service's cwd)",
                                   t->source, tried);
            }
        }
    }

    scenario_pointer(sub, sizeof sub, ptr, "env");
    if (env && !json_is_object(env)) {
        scenario_describe(env, found, sizeof found);
        scenario_error(p, sub, "expected an object of environment variables, found %s", found);
    } else if (env) {
        const char *key;
        const json_t *value;
        svc->env = calloc(json_object_size(env) + 1, sizeof *svc->env);
        json_object_foreach((json_t *)env, key, value) {
            scenario_pointer(item, sizeof item, sub, key);
            bool ok = *key && !isdigit((unsigned char)*key);
            for (const char *c = key; *c; c++)
                ok = ok && (isalnum((unsigned char)*c) || *c == '_');
            if (!ok) {
                scenario_error(p, item,
                               "\"%s\" is not an environment variable name (letters, digits, '_')",
                               key);
                continue;
            }
            struct subst *t = get_template(p, value, item, SUBST_ALLOW_ALL);
            if (t && svc->env) {
                svc->env[svc->env_count].name = strdup(key);
                svc->env[svc->env_count++].value = t;
            } else {
                subst_free(t);
            }
        }
    }

    svc->health.status = 200;
    svc->health.timeout_us = DEFAULT_HEALTH_TIMEOUT_US;
    svc->health.interval_us = DEFAULT_HEALTH_INTERVAL_US;
    scenario_pointer(sub, sizeof sub, ptr, "health");
    if (health && scenario_check_object(p, health, sub, health_keys, "a health check")) {
        const char *path = NULL;
        long long status = 200;
        if (scenario_get_string(p, health, sub, "path", true, &path) && path) {
            scenario_pointer(item, sizeof item, sub, "path");
            if (path[0] != '/')
                scenario_error(p, item,
                               "expected a path starting with '/' (it is requested from "
                               "http://127.0.0.1:${port}), found \"%s\"",
                               path);
            else
                svc->health.path = strdup(path);
        }
        if (scenario_get_int(p, health, sub, "status", 100, 599, false, &status))
            svc->health.status = (int)status;
        scenario_get_duration(p, health, sub, "timeout", false, &svc->health.timeout_us);
        scenario_get_duration(p, health, sub, "interval", false, &svc->health.interval_us);
        svc->health.enabled = svc->health.path != NULL;
    }

    svc->stop_signal = SIGTERM;
    svc->stop_timeout_us = DEFAULT_STOP_TIMEOUT_US;
    if (scenario_get_string(p, v, ptr, "stop_signal", false, &stop_signal) && stop_signal) {
        scenario_pointer(sub, sizeof sub, ptr, "stop_signal");
        if (!(svc->stop_signal = signal_by_name(stop_signal))) {
            svc->stop_signal = SIGTERM;
            scenario_error(p, sub,
                           "expected a signal name (SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, "
                           "SIGUSR2, SIGKILL), found \"%s\"",
                           stop_signal);
        }
    }
    scenario_get_duration(p, v, ptr, "stop_timeout", false, &svc->stop_timeout_us);
}

/* ---- links ---------------------------------------------------------------- */

static const char *const link_keys[] = {"name", "description", "to", "listen", NULL};

/* "HOST:PORT" or "[V6]:PORT" with a port from 0 to 65535 (0 only for listen). */
static bool address_ok(const char *a, bool allow_zero)
{
    const char *colon = strrchr(a, ':');
    char *end;
    long port;

    if (!colon || colon == a || !colon[1])
        return false;
    if (a[0] == '[' && colon[-1] != ']')
        return false;
    port = strtol(colon + 1, &end, 10);
    return !*end && port >= (allow_zero ? 0 : 1) && port <= 65535;
}

static void parse_link(struct scenario_parser *p, struct scenario_link *l, const json_t *v,
                       const char *ptr)
{
    const char *to = NULL, *listen = NULL;
    char sub[SCENARIO_POINTER_MAX];

    l->index = -1;
    scenario_pointer(sub, sizeof sub, ptr, "to");
    if (scenario_get_string(p, v, ptr, "to", true, &to) && to) {
        if (strncmp(to, "service ", 8) == 0) {
            l->to = LINK_TO_SERVICE;
            l->index = scenario_ref_service(p, sub, to + 8);
        } else if (strncmp(to, "database ", 9) == 0) {
            l->to = LINK_TO_DATABASE;
            l->index = scenario_ref_database(p, sub, to + 9);
        } else if (address_ok(to, false)) {
            l->to = LINK_TO_ADDRESS;
            l->address = strdup(to);
        } else {
            scenario_error(p, sub,
                           "expected \"service NAME\", \"database NAME\" or \"HOST:PORT\" (what "
                           "the link relays to), found \"%s\"",
                           to);
        }
    }
    if (scenario_get_string(p, v, ptr, "listen", false, &listen) && listen) {
        scenario_pointer(sub, sizeof sub, ptr, "listen");
        if (!address_ok(listen, true))
            scenario_error(p, sub,
                           "expected the address to listen on as \"HOST:PORT\" (port 0: a free "
                           "one), found \"%s\"",
                           listen);
        else
            l->listen = strdup(listen);
    }
    if (!l->listen)
        l->listen = strdup("127.0.0.1:0");
}

static void parse_links(struct scenario_parser *p, const json_t *root)
{
    const json_t *list = member(root, "links");
    char found[96], ptr[SCENARIO_POINTER_MAX], sub[SCENARIO_POINTER_MAX];
    size_t n;

    if (!list)
        return;
    if (!json_is_array(list)) {
        scenario_describe(list, found, sizeof found);
        scenario_error(p, "/links", "expected an array of links, found %s", found);
        return;
    }
    n = json_array_size(list);
    if (!(p->s->links = calloc(n ? n : 1, sizeof *p->s->links)))
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(list, i);
        const char *name = NULL;
        struct scenario_link *l = &p->s->links[i];
        scenario_pointer_index(ptr, sizeof ptr, "/links", i);
        snprintf(l->pointer, sizeof l->pointer, "%s", ptr);
        l->index = -1;
        p->s->link_count = i + 1;
        if (!scenario_check_object(p, v, ptr, link_keys, "a link") && !json_is_object(v))
            continue;
        if (scenario_get_string(p, v, ptr, "name", true, &name) && name) {
            scenario_pointer(sub, sizeof sub, ptr, "name");
            if (!name_ok(name, true, SCENARIO_NAME_MAX))
                scenario_error(p, sub,
                               "expected a link name of 1 to %d letters, digits, '_' or '-', "
                               "found \"%s\"",
                               SCENARIO_NAME_MAX, name);
            else if (scenario_find_link(p->s, name) >= 0)
                scenario_error(p, sub, "link name \"%s\" is used twice", name);
            else
                l->name = strdup(name);
        }
        parse_link(p, l, v, ptr);
    }
    if (n > 64)
        scenario_error(p, "/links", "at most 64 links, found %zu", n);
}

static void parse_services(struct scenario_parser *p, const json_t *root)
{
    const json_t *list = member(root, "services");
    char found[96], ptr[SCENARIO_POINTER_MAX], sub[SCENARIO_POINTER_MAX];
    size_t n;

    if (!list) {
        parse_links(p, root);
        return;
    }
    if (!json_is_array(list)) {
        scenario_describe(list, found, sizeof found);
        scenario_error(p, "/services", "expected an array of services, found %s", found);
        parse_links(p, root);
        return;
    }
    n = json_array_size(list);
    p->s->services = calloc(n ? n : 1, sizeof *p->s->services);
    if (!p->s->services)
        return;
    /* Names first: a service's environment may name services declared after it. */
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(list, i);
        const char *name = NULL;
        struct scenario_service *svc = &p->s->services[i];
        scenario_pointer_index(ptr, sizeof ptr, "/services", i);
        snprintf(svc->pointer, sizeof svc->pointer, "%s", ptr);
        p->s->service_count = i + 1;
        if (!scenario_check_object(p, v, ptr, service_keys, "a service") && !json_is_object(v))
            continue;
        if (!scenario_get_string(p, v, ptr, "name", true, &name) || !name)
            continue;
        scenario_pointer(sub, sizeof sub, ptr, "name");
        if (!name_ok(name, true, SCENARIO_NAME_MAX))
            scenario_error(p, sub,
                           "expected a service name of 1 to %d letters, digits, '_' or '-', "
                           "found \"%s\"",
                           SCENARIO_NAME_MAX, name);
        else if (scenario_find_service(p->s, name) >= 0)
            scenario_error(p, sub, "service name \"%s\" is used twice", name);
        else
            svc->name = strdup(name);
    }
    /* Links next: services reach the proxy through ${link.NAME...}. */
    parse_links(p, root);
    for (size_t i = 0; i < n; i++)
        if (json_is_object(json_array_get(list, i)))
            parse_service(p, &p->s->services[i], json_array_get(list, i),
                          p->s->services[i].pointer);
}

/* ---- the file ------------------------------------------------------------ */

static const char *const top_keys[] = {"version", "name", "description", "seed", "databases",
                                       "services", "links", "steps", "always", "report", NULL};
static const char *const report_keys[] = {"diff", "database", NULL};

/* The "report" section, or its defaults: the last diff step, the first
 * dbdiff step. */
static void parse_report(struct scenario_parser *p, const json_t *root)
{
    const json_t *v = member(root, "report");
    static const struct { const char *key, *kind; } refs[] = {{"diff", "diff"},
                                                              {"database", "dbdiff"}};
    const struct step **out[2] = {&p->s->report_diff, &p->s->report_database};

    for (size_t i = 0; i < p->named_count; i++) {
        const struct step *st = p->named[i];
        if (st->kind && strcmp(st->kind->name, "diff") == 0)
            p->s->report_diff = st;
        if (st->kind && strcmp(st->kind->name, "dbdiff") == 0 && !p->s->report_database)
            p->s->report_database = st;
    }
    if (!v)
        return;
    if (!scenario_check_object(p, v, "/report", report_keys, "the report section") &&
        !json_is_object(v))
        return;
    for (size_t k = 0; k < 2; k++) {
        const char *name = NULL;
        char ptr[SCENARIO_POINTER_MAX];
        if (!scenario_get_string(p, v, "/report", refs[k].key, false, &name) || !name)
            continue;
        scenario_pointer(ptr, sizeof ptr, "/report", refs[k].key);
        const struct step *st = scenario_find_step(p, name);
        if (!st || !st->kind || strcmp(st->kind->name, refs[k].kind) != 0)
            scenario_error(p, ptr, "expected the name of a %s step, found \"%s\"%s", refs[k].kind,
                           name, st ? " (a step of another kind)" : "");
        else
            *out[k] = st;
    }
}

static int read_file(struct scenario *s, const char *path, struct error *err)
{
    return file_read_text(path, SCENARIO_MAX_BYTES, "scenario", &s->text, &s->text_len, err);
}

static int set_names(struct scenario *s, const char *path, struct error *err)
{
    char *copy = strdup(path), *slash, real[PATH_MAX];
    const char *base;

    if (!copy)
        return error_set(err, ERR_NOMEM, "out of memory");
    slash = strrchr(copy, '/');
    base = slash ? slash + 1 : copy;
    s->file = strdup(base);
    if (slash)
        *slash = '\0';
    if (!realpath(slash ? (copy[0] ? copy : "/") : ".", real)) {
        free(copy);
        return error_errno(err, ERR_IO, errno, "cannot resolve the directory of '%s'", path);
    }
    s->dir = strdup(real);
    free(copy);
    s->path = strdup(path);
    if (!s->file || !s->dir || !s->path)
        return error_set(err, ERR_NOMEM, "out of memory");
    return 0;
}

static void parse_root(struct scenario_parser *p, const json_t *root)
{
    struct scenario *s = p->s;
    const char *name = NULL, *description = NULL;
    long long version = 0;
    char found[96];

    if (!scenario_check_object(p, root, "", top_keys, "a scenario") && !json_is_object(root))
        return;
    if (member(root, "seed")) {
        long long seed = 0;
        /* 2^53 - 1: the largest integer every JSON reader keeps exactly. */
        if (scenario_get_int(p, root, "", "seed", 0, 9007199254740991LL, false, &seed)) {
            s->has_seed = true;
            s->seed = (uint64_t)seed;
        }
    }
    if (!member(root, "version")) {
        scenario_error(p, "", "missing \"version\": this build reads \"version\": %d",
                       SCENARIO_VERSION);
    } else if (!json_is_integer(member(root, "version"))) {
        scenario_describe(member(root, "version"), found, sizeof found);
        scenario_error(p, "/version", "expected the format version %d, found %s",
                       SCENARIO_VERSION, found);
    } else if ((version = json_integer_value(member(root, "version"))) != SCENARIO_VERSION) {
        scenario_error(p, "/version",
                       "this build of rehearse reads scenario format version %d, found %lld",
                       SCENARIO_VERSION, version);
    }
    if (scenario_get_string(p, root, "", "name", false, &name) && name) {
        if (!name_ok(name, true, SCENARIO_NAME_MAX))
            scenario_error(p, "/name",
                           "expected a scenario name of 1 to %d letters, digits, '_' or '-' (it "
                           "names the run directory), found \"%s\"",
                           SCENARIO_NAME_MAX, name);
        else
            s->name = strdup(name);
    }
    if (!s->name) {
        size_t len = strlen(s->file);
        if (len > 5 && strcmp(s->file + len - 5, ".json") == 0)
            len -= 5;
        s->name = strndup(s->file, len);
        for (char *c = s->name; c && *c; c++)
            if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-'))
                *c = '_';
    }
    if (scenario_get_string(p, root, "", "description", false, &description) && description)
        s->description = strdup(description);

    parse_databases(p, root);
    parse_services(p, root);
    parse_step_list(p, root, "steps", true, &s->steps, &s->step_count);
    parse_step_list(p, root, "always", false, &s->always, &s->always_count);
    parse_report(p, root);
}

int scenario_load(struct scenario **out, const char *path, struct scenario_diagnostics *diags,
                  struct error *err)
{
    struct scenario_private *priv = calloc(1, sizeof *priv);
    struct scenario *s = &priv->pub;
    struct scenario_parser p = {.s = s, .diags = diags};
    json_error_t jerr;
    json_t *root = NULL;
    int rc;

    *out = NULL;
    memset(diags, 0, sizeof *diags);
    if (!priv)
        return error_set(err, ERR_NOMEM, "out of memory");
    if ((rc = set_names(s, path, err)) || (rc = read_file(s, path, err)))
        goto fail;
    root = json_loadb(s->text, s->text_len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        char *line = NULL;
        if (asprintf(&line, "%s:%d:%d: invalid JSON: %s", s->file, jerr.line < 1 ? 1 : jerr.line,
                     jerr.column < 1 ? 1 : jerr.column, jerr.text) >= 0)
            add_diagnostic(&p, line);
    } else {
        parse_root(&p, root);
    }
    json_decref(root);
    for (size_t i = 0; i < p.metric_count; i++)
        free(p.metrics[i]);
    free(p.metrics);
    free(p.named);
    if (diags->count) {
        rc = error_set(err, ERR_INPUT, "%s%s", diags->lines[0],
                       diags->count > 1 ? " (and more problems)" : "");
        goto fail;
    }
    *out = s;
    return 0;
fail:
    scenario_free(s);
    return rc;
}

static void free_steps(struct step **steps, size_t count)
{
    for (size_t i = 0; i < count; i++)
        step_free(steps[i]);
    free(steps);
}

void scenario_free(struct scenario *s)
{
    struct scenario_private *priv = (struct scenario_private *)s;
    if (!s)
        return;
    for (size_t i = 0; i < s->database_count; i++) {
        free(s->databases[i].name);
        free(s->databases[i].setup);
        subst_free(s->databases[i].conninfo);
    }
    free(s->databases);
    for (size_t i = 0; i < s->service_count; i++) {
        struct scenario_service *svc = &s->services[i];
        free(svc->name);
        for (size_t k = 0; k < svc->argc; k++)
            subst_free(svc->argv[k]);
        free(svc->argv);
        for (size_t k = 0; k < svc->env_count; k++) {
            free(svc->env[k].name);
            subst_free(svc->env[k].value);
        }
        free(svc->env);
        subst_free(svc->cwd);
        free(svc->health.path);
    }
    free(s->services);
    for (size_t i = 0; i < s->link_count; i++) {
        free(s->links[i].name);
        free(s->links[i].address);
        free(s->links[i].listen);
    }
    free(s->links);
    free_steps(s->steps, s->step_count);
    free_steps(s->always, s->always_count);
    for (size_t i = 0; i < priv->string_count; i++)
        free(priv->strings[i]);
    free(priv->strings);
    free(s->path);
    free(s->file);
    free(s->dir);
    free(s->name);
    free(s->description);
    free(s->text);
    free(priv);
}
