#include "subst.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MAX 256

static const char *const db_fields[] = {"conninfo", "host", "port", "dbname", "user", "url", NULL};
static const char *const service_fields[] = {"url", "host", "port", NULL};
static const char *const link_fields[] = {"conninfo", "host", "port", "dbname", "user", "url",
                                          "address", NULL};

static int field_index(const char *const *fields, const char *name)
{
    for (int i = 0; fields[i]; i++)
        if (strcmp(fields[i], name) == 0)
            return i;
    return -1;
}

static void join_fields(const char *const *fields, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; fields[i] && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", fields[i]);
}

static int add_part(struct subst *s, const struct subst_part *part)
{
    struct subst_part *parts = realloc(s->parts, (s->count + 1) * sizeof *parts);
    if (!parts)
        return ERR_NOMEM;
    s->parts = parts;
    s->parts[s->count++] = *part;
    return 0;
}

static int add_literal(struct subst *s, const char *text, size_t len)
{
    struct subst_part part = {.kind = SUBST_LITERAL};
    if (len == 0)
        return 0;
    /* Merge with a preceding literal ("$$" splits literals). */
    if (s->count && s->parts[s->count - 1].kind == SUBST_LITERAL) {
        struct subst_part *last = &s->parts[s->count - 1];
        size_t old = strlen(last->text);
        char *grown = realloc(last->text, old + len + 1);
        if (!grown)
            return ERR_NOMEM;
        memcpy(grown + old, text, len);
        grown[old + len] = '\0';
        last->text = grown;
        return 0;
    }
    part.text = strndup(text, len);
    if (!part.text)
        return ERR_NOMEM;
    if (add_part(s, &part)) {
        free(part.text);
        return ERR_NOMEM;
    }
    return 0;
}

static bool env_name_ok(const char *name)
{
    if (!*name || (*name >= '0' && *name <= '9'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
              (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

/* Parse the reference `ref` (the text between "${" and "}"). */
static int parse_ref(struct subst *s, char *ref, unsigned allow, const struct subst_names *names,
                     struct error *err)
{
    struct subst_part part = {.index = -1};
    char list[128];

    if (strcmp(ref, "port") == 0) {
        if (!(allow & SUBST_ALLOW_PORT))
            return error_set(err, ERR_INPUT,
                             "${port} is only defined inside a service (it is that service's "
                             "port); use ${service.NAME.port} here");
        part.kind = SUBST_PORT;
    } else if (strcmp(ref, "run_dir") == 0 || strcmp(ref, "scenario_dir") == 0) {
        if (!(allow & SUBST_ALLOW_DIRS))
            return error_set(err, ERR_INPUT, "${%s} is not available here", ref);
        part.kind = ref[0] == 'r' ? SUBST_RUN_DIR : SUBST_SCENARIO_DIR;
    } else if (strncmp(ref, "env.", 4) == 0) {
        char *name = ref + 4, *dash = strstr(name, ":-");
        if (!(allow & SUBST_ALLOW_ENV))
            return error_set(err, ERR_INPUT, "${env.*} is not available here");
        if (dash)
            *dash = '\0';
        if (!env_name_ok(name))
            return error_set(err, ERR_INPUT,
                             "\"%s\" is not an environment variable name (letters, digits, _)",
                             name);
        if (!dash && !getenv(name))
            return error_set(err, ERR_INPUT,
                             "environment variable %s is not set; set it, or give a default "
                             "with ${env.%s:-default}",
                             name, name);
        part.kind = SUBST_ENV;
        part.text = strdup(name);
        part.fallback = dash ? strdup(dash + 2) : NULL;
        if (!part.text || (dash && !part.fallback)) {
            free(part.text);
            free(part.fallback);
            return error_set(err, ERR_NOMEM, "out of memory");
        }
    } else if (strncmp(ref, "db.", 3) == 0 || strncmp(ref, "service.", 8) == 0) {
        bool service = ref[0] == 's';
        char *name = ref + (service ? 8 : 3);
        char *dot = strrchr(name, '.');
        const char *const *fields = service ? service_fields : db_fields;
        const char *what = service ? "service" : "database";
        if (!(allow & (service ? SUBST_ALLOW_SERVICE : SUBST_ALLOW_DB)))
            return error_set(err, ERR_INPUT, "${%s.*} is not available here",
                             service ? "service" : "db");
        join_fields(fields, list, sizeof list);
        if (!dot || dot == name)
            return error_set(err, ERR_INPUT, "expected ${%s.NAME.FIELD} with FIELD one of %s",
                             service ? "service" : "db", list);
        *dot = '\0';
        part.kind = service ? SUBST_SERVICE : SUBST_DB;
        part.field = field_index(fields, dot + 1);
        if (part.field < 0)
            return error_set(err, ERR_INPUT, "unknown %s field \"%s\"; expected one of %s", what,
                             dot + 1, list);
        part.index = service ? names->service(names->ctx, name) : names->database(names->ctx, name);
        if (part.index < 0) {
            const char *near = names->suggest ? names->suggest(names->ctx, service, name) : NULL;
            if (near)
                return error_set(err, ERR_INPUT, "unknown %s \"%s\"; did you mean \"%s\"?", what,
                                 name, near);
            return error_set(err, ERR_INPUT, "unknown %s \"%s\"; declare it under \"%s\"", what,
                             name, service ? "services" : "databases");
        }
    } else if (strncmp(ref, "link.", 5) == 0) {
        char *name = ref + 5, *dot = strrchr(name, '.');
        const char *why;
        if (!(allow & SUBST_ALLOW_LINK))
            return error_set(err, ERR_INPUT, "${link.*} is not available here");
        join_fields(link_fields, list, sizeof list);
        if (!dot || dot == name)
            return error_set(err, ERR_INPUT, "expected ${link.NAME.FIELD} with FIELD one of %s",
                             list);
        *dot = '\0';
        part.kind = SUBST_LINK;
        if ((part.field = field_index(link_fields, dot + 1)) < 0)
            return error_set(err, ERR_INPUT, "unknown link field \"%s\"; expected one of %s",
                             dot + 1, list);
        part.index = names->link ? names->link(names->ctx, name) : -1;
        if (part.index < 0)
            return error_set(err, ERR_INPUT, "unknown link \"%s\"; declare it under \"links\"",
                             name);
        if (names->link_field && (why = names->link_field(names->ctx, part.index, part.field)))
            return error_set(err, ERR_INPUT, "${link.%s.%s}: %s", name, dot + 1, why);
    } else {
        return error_set(err, ERR_INPUT,
                         "unknown substitution ${%s}; expected ${db.NAME.FIELD}, "
                         "${service.NAME.FIELD}, ${link.NAME.FIELD}, ${port}, ${run_dir}, "
                         "${scenario_dir} or ${env.NAME} (write $$ for a literal $)",
                         ref);
    }
    if (add_part(s, &part)) {
        free(part.text);
        free(part.fallback);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    return 0;
}

int subst_parse(struct subst **out, const char *text, unsigned allow,
                const struct subst_names *names, size_t *where, struct error *err)
{
    struct subst *s = calloc(1, sizeof *s);
    size_t i = 0, run = 0;
    int rc = 0;

    *out = NULL;
    *where = 0;
    if (!s || !(s->source = strdup(text))) {
        free(s);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    while (text[i]) {
        if (text[i] != '$' || (text[i + 1] != '$' && text[i + 1] != '{')) {
            i++;
            continue;
        }
        if ((rc = add_literal(s, text + run, i - run)))
            goto fail_nomem;
        if (text[i + 1] == '$') {
            if ((rc = add_literal(s, "$", 1)))
                goto fail_nomem;
            i += 2;
            run = i;
            continue;
        }
        const char *close = strchr(text + i + 2, '}');
        size_t len = close ? (size_t)(close - (text + i + 2)) : 0;
        char ref[REF_MAX];
        *where = i;
        if (!close) {
            rc = error_set(err, ERR_INPUT, "'${' is not closed by '}' (write $$ for a literal $)");
            goto fail;
        }
        if (len == 0 || len >= sizeof ref) {
            rc = error_set(err, ERR_INPUT, "expected a reference inside ${...}, found \"${%.*s}\"",
                           (int)(len > 40 ? 40 : len), text + i + 2);
            goto fail;
        }
        memcpy(ref, text + i + 2, len);
        ref[len] = '\0';
        if ((rc = parse_ref(s, ref, allow, names, err)))
            goto fail;
        i += 2 + len + 1;
        run = i;
    }
    if ((rc = add_literal(s, text + run, i - run)))
        goto fail_nomem;
    *out = s;
    return 0;
fail_nomem:
    rc = error_set(err, ERR_NOMEM, "out of memory");
fail:
    subst_free(s);
    return rc;
}

void subst_free(struct subst *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++) {
        free(s->parts[i].text);
        free(s->parts[i].fallback);
    }
    free(s->parts);
    free(s->source);
    free(s);
}

bool subst_is_literal(const struct subst *s)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->parts[i].kind != SUBST_LITERAL)
            return false;
    return true;
}

int subst_expand(const struct subst *s, const struct subst_values *values, struct buf *out,
                 struct error *err)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct subst_part *part = &s->parts[i];
        int rc;
        if (part->kind == SUBST_LITERAL) {
            rc = buf_append_str(out, part->text);
        } else if (part->kind == SUBST_ENV) {
            const char *v = getenv(part->text);
            rc = buf_append_str(out, v ? v : part->fallback ? part->fallback : "");
        } else {
            if ((rc = values->value(values->ctx, part, out, err)))
                return rc;
            continue;
        }
        if (rc)
            return error_set(err, rc, "the expansion of '%s' is too long", s->source);
    }
    return 0;
}
