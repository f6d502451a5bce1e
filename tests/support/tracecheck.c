#include "tracecheck.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

void trace_lines_load(struct trace_lines *t, const char *path)
{
    size_t len;
    char *text = test_read_file(path, &len), *line, *save = NULL;

    memset(t, 0, sizeof *t);
    cr_assert(text, "trace '%s' was not written", path);
    t->txs = json_array();
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        cr_assert(v, "%s: invalid JSON line: %s\n%s", path, e.text, line);
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!t->header && !type) {
            t->header = v;
        } else if (type && strcmp(type, "tx") == 0) {
            json_array_append_new(t->txs, v);
        } else if (type && strcmp(type, "summary") == 0) {
            cr_assert(!t->summary, "two summary lines");
            t->summary = v;
        } else {
            json_decref(v);
        }
    }
    free(text);
    cr_assert(t->header, "trace '%s' has no header", path);
}

void trace_lines_free(struct trace_lines *t)
{
    json_decref(t->header);
    json_decref(t->txs);
    json_decref(t->summary);
    memset(t, 0, sizeof *t);
}

int capture_file(struct run_result *res, struct trace_lines *t, const char *pcap,
                 const char *trace, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    const char *a;

    argv[argc++] = (char *)test_rehearse_bin();
    argv[argc++] = "capture";
    argv[argc++] = "-r";
    argv[argc++] = (char *)pcap;
    argv[argc++] = "-o";
    argv[argc++] = (char *)trace;
    va_start(ap, trace);
    while ((a = va_arg(ap, const char *)) && argc < 31)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert(test_run(res, argv, 60) == 0, "cannot run rehearse");
    memset(t, 0, sizeof *t);
    if (res->exit_code == 0)
        trace_lines_load(t, trace);
    return res->exit_code;
}

size_t tx_count(const struct trace_lines *t)
{
    return json_array_size(t->txs);
}

json_t *tx_get(const struct trace_lines *t, size_t i)
{
    json_t *tx = json_array_get(t->txs, i);
    cr_assert(tx, "no transaction %zu (the trace has %zu)", i + 1, tx_count(t));
    return tx;
}

bool tx_has_flag(json_t *tx, const char *flag)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(tx, "flags"), i, f)
        if (strcmp(json_string_value(f), flag) == 0)
            return true;
    return false;
}

json_t *jpath(json_t *obj, const char *path)
{
    char key[128];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        obj = json_object_get(obj, key);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

const char *jstr(json_t *obj, const char *path)
{
    const char *s = json_string_value(jpath(obj, path));
    return s ? s : "";
}

long long jint(json_t *obj, const char *path)
{
    json_t *v = jpath(obj, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

const char *tx_header(json_t *tx, const char *msg, const char *name)
{
    json_t *list = jpath(json_object_get(tx, msg), "headers"), *h;
    size_t i;
    json_array_foreach(list, i, h)
        if (strcasecmp(json_string_value(json_array_get(h, 0)), name) == 0)
            return json_string_value(json_array_get(h, 1));
    return NULL;
}

long long skipped_count(const struct trace_lines *t, const char *reason)
{
    json_t *r = json_object_get(json_object_get(t->summary, "skipped"), reason);
    return r ? json_integer_value(json_object_get(r, "count")) : 0;
}

long long skipped_bytes(const struct trace_lines *t, const char *reason)
{
    json_t *r = json_object_get(json_object_get(t->summary, "skipped"), reason);
    return r ? json_integer_value(json_object_get(r, "bytes")) : 0;
}
