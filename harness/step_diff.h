/*
 * step_diff.h — the diff step's work, for the runner too: at the end of a
 * run cut short before its diff step, the reports are made from a diff of
 * whatever the replays kept.
 */
#ifndef REHEARSE_STEP_DIFF_H
#define REHEARSE_STEP_DIFF_H

#include "errors.h"
#include "respdiff.h"
#include "step.h"

/* Diff the results the diff step `step` names, found under run_dir, into
 * `output` (a DIFF.json).  ERR_INPUT when none of its replays left results. */
int step_diff_write(const struct step *step, const char *run_dir, const char *output,
                    struct respdiff_result *res, struct error *err);

#endif
