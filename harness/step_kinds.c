/*
 * step_kinds.c — the table of step kinds.  Adding a kind: write its module
 * (a `const struct step_kind step_kind_NAME`), declare it below, and put it
 * in the table in place of its reserved entry if it has one.
 */
#include <string.h>

#include "step.h"

extern const struct step_kind step_kind_start, step_kind_stop, step_kind_restart, step_kind_sql,
    step_kind_parallel, step_kind_assert, step_kind_sleep, step_kind_replay,
    step_kind_fault, step_kind_snapshot, step_kind_dbdiff, step_kind_capture, step_kind_diff;

static const struct step_kind *const kinds[] = {
    &step_kind_start,
    &step_kind_stop,
    &step_kind_restart,
    &step_kind_sql,
    &step_kind_parallel,
    &step_kind_assert,
    &step_kind_sleep,
    &step_kind_capture,
    &step_kind_replay,
    &step_kind_diff,
    &step_kind_fault,
    &step_kind_snapshot,
    &step_kind_dbdiff,
    NULL,
};

const struct step_kind *step_kind_find(const char *name)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

const struct step_kind *const *step_kinds(void)
{
    return kinds;
}
