/*
 * step_replay.h — what other step kinds may ask of a replay step.
 */
#ifndef REHEARSE_STEP_REPLAY_H
#define REHEARSE_STEP_REPLAY_H

#include <stdbool.h>

#include "step.h"

/* Does replay step `replay` (parsed) send to a target of this name? */
bool step_replay_has_target(const struct step *replay, const char *name);

#endif
