/*
 * step_parallel.c — run several steps at once:
 *     {"name": "migrate-under-load", "parallel": [
 *         {"name": "expand", "sql": {...}},
 *         {"name": "late", "at": "2s", "sleep": "1s"}]}
 * Each child runs on its own thread; "at" delays a child from the start of
 * the block.  The block ends when every child has ended; its status is the
 * worst of theirs.  When a child fails and stops the run, the others are
 * interrupted (their waits return) and children still waiting for their
 * "at" are skipped.
 */
#include <pthread.h>
#include <stdlib.h>

#include "run_control.h"
#include "step.h"

struct parallel {
    struct step **children;
    size_t count;
};

static void free_parallel(void *data)
{
    struct parallel *par = data;
    for (size_t i = 0; par && i < par->count; i++)
        step_free(par->children[i]);
    if (par)
        free(par->children);
    free(par);
}

static bool parse_parallel(struct scenario_parser *p, struct step *step, const json_t *value,
                           const char *pointer)
{
    struct parallel *par = calloc(1, sizeof *par);
    char ptr[SCENARIO_POINTER_MAX], found[96];
    size_t n;

    if (!par)
        return false;
    step->data = par;
    if (!json_is_array(value) || json_array_size(value) == 0) {
        scenario_describe(value, found, sizeof found);
        scenario_error(p, pointer, "expected a non-empty array of steps to run at once, found %s",
                       json_is_array(value) ? "an empty array" : found);
        return false;
    }
    n = json_array_size(value);
    if (!(par->children = calloc(n, sizeof *par->children)))
        return false;
    for (size_t i = 0; i < n; i++) {
        scenario_pointer_index(ptr, sizeof ptr, pointer, i);
        par->children[par->count++] = scenario_parse_step(p, json_array_get(value, i), ptr, step);
    }
    return true;
}

struct child_run {
    struct step_run *run;
    const struct step *step;
    int64_t block_start_us;
    enum step_status status;
    pthread_t thread;
    bool started;
};

static void *child_main(void *arg)
{
    struct child_run *c = arg;
    if (c->step->has_at) {
        int64_t wait = c->block_start_us + c->step->at_us - run_clock_us();
        if (wait > 0 && !step_run_sleep(c->run, wait)) {
            /* The run stopped before this child's time came. */
            c->status = step_run_child(c->run, c->step);
            return NULL;
        }
    }
    c->status = step_run_child(c->run, c->step);
    return NULL;
}

static int severity(enum step_status s)
{
    switch (s) {
    case STEP_ERROR: return 4;
    case STEP_FAILED: return 3;
    case STEP_INTERRUPTED: return 2;
    case STEP_SKIPPED: return 1;
    default: return 0;
    }
}

static enum step_status run_parallel(struct step_run *run, const struct step *step)
{
    const struct parallel *par = step->data;
    struct child_run *children = calloc(par->count, sizeof *children);
    enum step_status worst = STEP_OK;
    int64_t start = run_clock_us();
    size_t failed = 0;

    if (!children)
        return step_run_fail(run, STEP_ERROR, "out of memory");
    for (size_t i = 0; i < par->count; i++) {
        children[i] = (struct child_run){.run = run, .step = par->children[i],
                                         .block_start_us = start, .status = STEP_PENDING};
        children[i].started =
            pthread_create(&children[i].thread, NULL, child_main, &children[i]) == 0;
        if (!children[i].started) /* no thread: run it here, in order */
            child_main(&children[i]);
    }
    for (size_t i = 0; i < par->count; i++) {
        if (children[i].started)
            pthread_join(children[i].thread, NULL);
        if (severity(children[i].status) > severity(worst))
            worst = children[i].status;
        failed += children[i].status == STEP_FAILED || children[i].status == STEP_ERROR;
    }
    free(children);
    if (worst == STEP_SKIPPED)
        worst = STEP_INTERRUPTED;
    if (failed)
        return step_run_fail(run, worst, "%zu of %zu steps in the block failed", failed,
                             par->count);
    return worst;
}

const struct step_kind step_kind_parallel = {
    .name = "parallel",
    .summary = "run several steps at once (a child may start \"at\" an offset)",
    .parse = parse_parallel,
    .run = run_parallel,
    .free = free_parallel,
};
