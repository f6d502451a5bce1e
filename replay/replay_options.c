#include "replay_options.h"

#include <string.h>

#include "jsonw.h"

int replay_rules_add(struct rewrite_rules *rules, const struct replay_rule_text *list, size_t n,
                     const struct replay_target *targets, size_t target_count, struct error *err)
{
    for (size_t i = 0; i < n; i++) {
        int rc;
        switch (list[i].kind) {
        case REPLAY_RULE_SET_HEADER:
            rc = rewrite_add_set_header(rules, list[i].text, targets, target_count, err);
            break;
        case REPLAY_RULE_REMOVE_HEADER:
            rc = rewrite_add_remove_header(rules, list[i].text, targets, target_count, err);
            break;
        default:
            rc = rewrite_add_path(rules, list[i].text, err);
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int replay_options_json(struct buf *b, const struct replay_config *c, const struct selection *sel,
                        const struct replay_options_text *t)
{
    int rc = buf_append_str(b, "{\"speed\":");
    if (c->rate > 0)
        rc |= buf_append_str(b, "null,\"rate\":") | jsonw_double(b, c->rate);
    else if (c->speed > 0)
        rc |= jsonw_double(b, c->speed);
    else
        rc |= buf_append_str(b, "\"max\"");
    rc |= buf_printf(b, ",\"concurrency\":%u,\"limit\":%llu", c->concurrency,
                     (unsigned long long)c->limit);
    if (t->from)
        rc |= buf_append_str(b, ",\"from\":") | jsonw_cstring(b, t->from, 0);
    if (t->to)
        rc |= buf_append_str(b, ",\"to\":") | jsonw_cstring(b, t->to, 0);
    if (sel->sample_percent < 100)
        rc |= buf_append_str(b, ",\"sample\":") | jsonw_double(b, sel->sample_percent);
    if (t->shard)
        rc |= buf_append_str(b, ",\"shard\":") | jsonw_cstring(b, t->shard, 0);
    for (int k = 0; k < 2; k++) {
        const char *const *list = k ? t->exclude : t->include;
        size_t count = k ? t->exclude_count : t->include_count;
        rc |= buf_append_str(b, k ? ",\"exclude\":[" : ",\"include\":[");
        for (size_t i = 0; i < count; i++)
            rc |= buf_append_str(b, i ? "," : "") | jsonw_cstring(b, list[i], 0);
        rc |= buf_append_char(b, ']');
    }
    rc |= buf_printf(b, ",\"keep_host\":%s,\"rewrites\":[",
                     c->rules && c->rules->keep_host ? "true" : "false");
    for (size_t i = 0; i < t->rule_count; i++) {
        const struct replay_rule_text *a = &t->rules[i];
        const char *kind = a->kind == REPLAY_RULE_SET_HEADER      ? "set_header"
                           : a->kind == REPLAY_RULE_REMOVE_HEADER ? "remove_header"
                                                                  : "rewrite_path";
        rc |= buf_printf(b, "%s{\"%s\":", i ? "," : "", kind);
        if (a->kind == REPLAY_RULE_SET_HEADER) { /* the name only */
            const char *colon = strchr(a->text, ':');
            rc |= jsonw_string(b, a->text, colon ? (size_t)(colon - a->text) : strlen(a->text),
                               0);
        } else {
            rc |= jsonw_cstring(b, a->text, 0);
        }
        rc |= buf_append_char(b, '}');
    }
    rc |= buf_printf(b, "],\"timeout_ms\":%lld,\"connect_timeout_ms\":%lld,"
                        "\"max_response\":%llu,\"max_inline_body\":%llu,\"fail_fast\":%s,"
                        "\"window\":%u,\"conn_idle_ms\":%lld}",
                     (long long)(c->timeout_us / 1000), (long long)(c->connect_timeout_us / 1000),
                     (unsigned long long)c->max_response, (unsigned long long)c->max_inline_body,
                     c->fail_fast ? "true" : "false", c->window,
                     (long long)(c->conn_idle_us / 1000));
    return rc ? ERR_TOOBIG : 0;
}
