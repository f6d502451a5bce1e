/*
 * step_sleep.c — {"name": "settle", "sleep": "2s"}: wait, interruptibly.
 */
#include <stdlib.h>

#include "step.h"

static bool parse_sleep(struct scenario_parser *p, struct step *step, const json_t *value,
                        const char *pointer)
{
    int64_t *us = malloc(sizeof *us);
    if (!us)
        return false;
    step->data = us;
    return scenario_parse_duration(p, value, pointer, us);
}

static enum step_status run_sleep(struct step_run *run, const struct step *step)
{
    return step_run_sleep(run, *(int64_t *)step->data) ? STEP_OK : STEP_INTERRUPTED;
}

const struct step_kind step_kind_sleep = {
    .name = "sleep",
    .summary = "wait for a duration",
    .parse = parse_sleep,
    .run = run_sleep,
    .free = free,
};
