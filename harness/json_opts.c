#include "json_opts.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define MAX_DEPTH_CEILING 4096 /* the recursion of parser and diff stays far from the stack limit */

bool json_opts_limit(const char *cmd, int opt, const char *arg, struct jdoc_limits *lim)
{
    uint64_t v;

    switch (opt) {
    case JSON_OPT_MAX_DEPTH:
        if (!cli_parse_u64(cmd, "--max-depth", arg, &v))
            return false;
        if (v < 1 || v > MAX_DEPTH_CEILING) {
            cli_usage_error(cmd, "--max-depth: expected 1 to %d, found '%s'", MAX_DEPTH_CEILING,
                            arg);
            return false;
        }
        lim->max_depth = (uint32_t)v;
        return true;
    case JSON_OPT_MAX_NODES:
        if (!cli_parse_u64(cmd, "--max-nodes", arg, &v))
            return false;
        if (v < 1 || v >= UINT32_MAX) {
            cli_usage_error(cmd, "--max-nodes: expected 1 to %u, found '%s'", UINT32_MAX - 1,
                            arg);
            return false;
        }
        lim->max_nodes = (uint32_t)v;
        return true;
    default:
        if (!cli_parse_size(cmd, "--max-size", arg, &v))
            return false;
        if (v < 1 || v >= UINT32_MAX) {
            cli_usage_error(cmd, "--max-size: expected 1 byte to 4G, found '%s'", arg);
            return false;
        }
        lim->max_size = (size_t)v;
        return true;
    }
}

void json_opts_hint(struct error *err)
{
    const char *flag = NULL;
    char *at, tail[ERROR_MESSAGE_MAX];

    if (err->code != ERR_TOOBIG || !(at = strstr(err->message, "raise it")))
        return;
    if (strstr(err->message, "depth limit"))
        flag = "--max-depth";
    else if (strstr(err->message, "node limit"))
        flag = "--max-nodes";
    else if (strstr(err->message, "size limit"))
        flag = "--max-size";
    if (!flag)
        return;
    at += strlen("raise it");
    snprintf(tail, sizeof tail, "%s", at);
    snprintf(at, sizeof err->message - (size_t)(at - err->message), " with %s%s", flag, tail);
}
