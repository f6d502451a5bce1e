#include "fault_windows.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "now.h"
#include "run_control.h"

struct window {
    char *step, *what, *where, *detail;
    int64_t planned_us;
    int64_t start_mono, end_mono;  /* run_clock_us() */
    int64_t start_wall, end_wall;  /* µs since the epoch */
    json_t *applied, *lifted;
    fault_lift_fn lift;
    void *ctx;
    void (*free_ctx)(void *ctx);
    bool active;                   /* not lifted yet (and nobody is lifting it) */
    bool ended;
    char *ended_by;
    char *error;
};

struct fault_windows {
    pthread_mutex_t lock;
    int64_t run_start_us;
    struct window **items;
    size_t count, cap;
};

int fault_windows_new(struct fault_windows **out, int64_t run_start_us, struct error *err)
{
    struct fault_windows *w = calloc(1, sizeof *w);
    *out = NULL;
    if (!w)
        return error_set(err, ERR_NOMEM, "out of memory");
    pthread_mutex_init(&w->lock, NULL);
    w->run_start_us = run_start_us;
    *out = w;
    return 0;
}

static void window_free(struct window *x)
{
    if (!x)
        return;
    if (x->free_ctx && x->ctx)
        x->free_ctx(x->ctx);
    free(x->step);
    free(x->what);
    free(x->where);
    free(x->detail);
    free(x->ended_by);
    free(x->error);
    json_decref(x->applied);
    json_decref(x->lifted);
    free(x);
}

void fault_windows_free(struct fault_windows *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++)
        window_free(w->items[i]);
    free(w->items);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int fault_windows_begin(struct fault_windows *w, const struct fault_window_spec *spec,
                        json_t *applied, fault_lift_fn lift, void *ctx,
                        void (*free_ctx)(void *ctx))
{
    struct window *x = calloc(1, sizeof *x);
    int id = -1;

    if (x) {
        x->step = dup_or_null(spec->step);
        x->what = dup_or_null(spec->what);
        x->where = dup_or_null(spec->where);
        x->detail = dup_or_null(spec->detail);
        x->planned_us = spec->planned_us;
        x->start_mono = run_clock_us();
        x->start_wall = now_wall_us();
        x->applied = applied;
        applied = NULL;
        x->lift = lift;
        x->ctx = ctx;
        x->free_ctx = free_ctx;
        x->active = lift != NULL;
        if (!lift) {
            x->ended = true;
            x->end_mono = x->start_mono;
            x->end_wall = x->start_wall;
            x->ended_by = strdup("instant");
        }
    }
    pthread_mutex_lock(&w->lock);
    if (x && w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct window **grown = realloc(w->items, cap * sizeof *grown);
        if (grown) {
            w->items = grown;
            w->cap = cap;
        }
    }
    if (x && w->count < w->cap) {
        id = (int)w->count;
        w->items[w->count++] = x;
        x = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    json_decref(applied);
    if (x) {
        /* Out of memory: never leave a fault active that nobody tracks. */
        json_t *effect = json_object();
        struct error err;
        error_init(&err);
        if (x->lift)
            x->lift(x->ctx, effect, &err);
        json_decref(effect);
        window_free(x);
    }
    return id;
}

int fault_windows_end(struct fault_windows *w, int id, const char *by, struct error *err)
{
    struct window *x = NULL;
    json_t *effect;
    struct error lift_err;
    int rc;

    pthread_mutex_lock(&w->lock);
    if (id >= 0 && (size_t)id < w->count && w->items[id]->active) {
        x = w->items[id];
        x->active = false; /* ours to lift; nobody else will */
    }
    pthread_mutex_unlock(&w->lock);
    if (!x)
        return 0;

    effect = json_object();
    error_init(&lift_err);
    rc = x->lift(x->ctx, effect, &lift_err);

    pthread_mutex_lock(&w->lock);
    x->end_mono = run_clock_us();
    x->end_wall = now_wall_us();
    x->ended = true;
    x->ended_by = strdup(by);
    x->lifted = effect;
    if (rc)
        x->error = strdup(lift_err.message);
    pthread_mutex_unlock(&w->lock);
    if (rc && err)
        error_set(err, rc, "%s", lift_err.message);
    return rc;
}

size_t fault_windows_end_all(struct fault_windows *w, const char *by)
{
    size_t n = 0, count;

    pthread_mutex_lock(&w->lock);
    count = w->count;
    pthread_mutex_unlock(&w->lock);
    /* Latest first: a toxic added on top of another is removed first. */
    for (size_t i = count; i-- > 0;) {
        bool active;
        pthread_mutex_lock(&w->lock);
        active = w->items[i]->active;
        pthread_mutex_unlock(&w->lock);
        if (active) {
            fault_windows_end(w, (int)i, by, NULL);
            n++;
        }
    }
    return n;
}

static json_t *ms(const struct fault_windows *w, int64_t mono)
{
    return json_real((double)(mono - w->run_start_us) / 1000.0);
}

/* Called with the lock held. */
static json_t *window_json(const struct fault_windows *w, size_t id)
{
    const struct window *x = w->items[id];
    json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "id", (int)id, "step", x->step ? x->step : "",
                          "what", x->what ? x->what : "", "where", x->where ? x->where : "");

    if (x->detail)
        json_object_set_new(o, "detail", json_string(x->detail));
    if (x->planned_us)
        json_object_set_new(o, "planned_ms", json_real((double)x->planned_us / 1000.0));
    json_object_set_new(o, "start_ms", ms(w, x->start_mono));
    json_object_set_new(o, "start_us", json_integer(x->start_wall));
    json_object_set_new(o, "active", json_boolean(!x->ended));
    if (x->ended) {
        json_object_set_new(o, "end_ms", ms(w, x->end_mono));
        json_object_set_new(o, "end_us", json_integer(x->end_wall));
        json_object_set_new(o, "duration_ms",
                            json_real((double)(x->end_mono - x->start_mono) / 1000.0));
        json_object_set_new(o, "ended_by", json_string(x->ended_by ? x->ended_by : ""));
    }
    /* Copies: the journal is written by other threads. */
    if (x->applied)
        json_object_set_new(o, "applied", json_deep_copy(x->applied));
    if (x->lifted)
        json_object_set_new(o, "lifted", json_deep_copy(x->lifted));
    if (x->error)
        json_object_set_new(o, "error", json_string(x->error));
    return o;
}

json_t *fault_windows_get(struct fault_windows *w, int id)
{
    json_t *o = NULL;
    pthread_mutex_lock(&w->lock);
    if (id >= 0 && (size_t)id < w->count)
        o = window_json(w, (size_t)id);
    pthread_mutex_unlock(&w->lock);
    return o;
}

json_t *fault_windows_json(struct fault_windows *w)
{
    json_t *list = json_array();
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->count; i++)
        json_array_append_new(list, window_json(w, i));
    pthread_mutex_unlock(&w->lock);
    return list;
}
