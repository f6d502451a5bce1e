/*
 * json_opts.h — options shared by the commands that read JSON documents
 * (json-diff, json-patch): the limits that bound hostile input.
 */
#ifndef REHEARSE_JSON_OPTS_H
#define REHEARSE_JSON_OPTS_H

#include <stdbool.h>

#include "jdoc.h"

/* getopt_long values of the limit options; add JSON_OPTS_LONG to the
 * option table and hand these values to json_opts_limit(). */
enum {
    JSON_OPT_MAX_DEPTH = 0x1000,
    JSON_OPT_MAX_NODES,
    JSON_OPT_MAX_SIZE,
};

#define JSON_OPTS_LONG                                                  \
    {"max-depth", required_argument, NULL, JSON_OPT_MAX_DEPTH},         \
    {"max-nodes", required_argument, NULL, JSON_OPT_MAX_NODES},         \
    {"max-size", required_argument, NULL, JSON_OPT_MAX_SIZE}

/* The help text of those options. */
#define JSON_OPTS_HELP                                                              \
    "  --max-depth N     refuse documents nested deeper than N levels (default 512,\n" \
    "                    at most 4096)\n"                                            \
    "  --max-nodes N     refuse documents of more than N values (default 16M)\n"     \
    "  --max-size SIZE   refuse files larger than SIZE (default 1G; 64k, 16M, ...)\n"

/* Parse one limit option into lim; prints the usage error and returns false
 * on a bad value. */
bool json_opts_limit(const char *cmd, int opt, const char *arg, struct jdoc_limits *lim);

/* Add the hint to raise a limit to a parse error that hit one. */
void json_opts_hint(struct error *err);

#endif
