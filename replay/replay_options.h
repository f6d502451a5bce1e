/*
 * replay_options.h — replay options as a user wrote them, for the two front
 * ends of the engine (`rehearse replay` and a scenario's replay step): the
 * rewrite rules in the order given, and the record of the options that
 * shaped a run, which the results header keeps (docs/results-format.md).
 */
#ifndef REHEARSE_REPLAY_OPTIONS_H
#define REHEARSE_REPLAY_OPTIONS_H

#include <stddef.h>

#include "buf.h"
#include "errors.h"
#include "replay.h"

enum replay_rule_kind { REPLAY_RULE_SET_HEADER, REPLAY_RULE_REMOVE_HEADER,
                        REPLAY_RULE_REWRITE_PATH };

/* One rewrite rule as written: "[TARGET=]Name: value", "[TARGET=]Name" or
 * "REGEX=REPLACEMENT" (rewrite.h). */
struct replay_rule_text {
    enum replay_rule_kind kind;
    const char *text;
};

/* The options as written, for the record (pointers borrowed). */
struct replay_options_text {
    const char *from, *to, *shard;
    const char *const *include;
    size_t include_count;
    const char *const *exclude;
    size_t exclude_count;
    const struct replay_rule_text *rules;
    size_t rule_count;
};

/* Add the rules to `rules` in order (a rule may name one of `targets`).
 * ERR_USAGE with the rule's problem. */
int replay_rules_add(struct rewrite_rules *rules, const struct replay_rule_text *list, size_t n,
                     const struct replay_target *targets, size_t target_count, struct error *err);

/* The results header's "options" object for a run of `c` with selection
 * `sel` (keep_host from c->rules).  Header values are not recorded — only
 * their names: they are often credentials.  ERR_TOOBIG when it does not fit. */
int replay_options_json(struct buf *b, const struct replay_config *c, const struct selection *sel,
                        const struct replay_options_text *t);

#endif
