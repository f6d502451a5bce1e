/*
 * cmd_trace_stats.c — `rehearse trace stats TRACE`: counts per method,
 * status, endpoint and connection, duration and rate, and the producer's
 * summary (replay/trace_stats.h does the work).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_trace.h"
#include "trace_stats.h"

#define CMD "trace stats"

static void stats_usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse trace stats TRACE [--format text|json]\n"
            "                            [--max-endpoints N] [--max-connections N]\n"
            "\n"
            "Read TRACE once, as a stream, and print what it holds: transactions per\n"
            "method, status and status class, endpoint (method and path, with numeric,\n"
            "UUID and long hex segments shown as {id} and the query dropped), the number\n"
            "of connections and requests per connection (min, median, max), flags,\n"
            "duration (first request start to last response end) and rate; then the\n"
            "summary its producer recorded (capture counters, every skipped item by\n"
            "reason, import notes).\n"
            "\n"
            "  --format text|json     aligned text (the default) or one JSON object\n"
            "  --max-endpoints N      distinct endpoints tracked (default %d); others\n"
            "                         are counted together as \"other\"\n"
            "  --max-connections N    distinct connections tracked (default %d, about\n"
            "                         32 bytes each); transactions on the others are\n"
            "                         counted and reported\n",
            TRACE_STATS_DEFAULT_MAX_ENDPOINTS, TRACE_STATS_DEFAULT_MAX_CONNECTIONS);
}

int cmd_trace_stats(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"max-endpoints", required_argument, NULL, 'e'},
        {"max-connections", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct trace_stats_options opt = {0};
    struct trace_stats *stats = NULL;
    const char *format = "text";
    struct buf out;
    struct error err;
    uint64_t v;
    int c, rc;

    error_init(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'e':
            if (!cli_parse_u64(CMD, "--max-endpoints", optarg, &v))
                return EXIT_BAD_INPUT;
            if (v < 1 || v > 10000000)
                return cli_usage_error(CMD, "--max-endpoints: expected 1 to 10000000");
            opt.max_endpoints = (size_t)v;
            break;
        case 'c':
            if (!cli_parse_u64(CMD, "--max-connections", optarg, &v))
                return EXIT_BAD_INPUT;
            if (v < 1 || v > 100000000)
                return cli_usage_error(CMD, "--max-connections: expected 1 to 100000000");
            opt.max_connections = (size_t)v;
            break;
        case 'h': stats_usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(CMD, "--format: expected text or json, found '%s'", format);
    if (optind != argc - 1)
        return cli_usage_error(CMD, "expected one TRACE file");

    buf_init(&out, (size_t)1 << 30);
    if ((rc = trace_stats_new(&stats, &opt, &err)) ||
        (rc = trace_stats_collect(stats, argv[optind], &err)) ||
        (rc = format[0] == 't' ? trace_stats_render_text(stats, &out, &err)
                               : trace_stats_render_json(stats, &out, &err))) {
        trace_stats_free(stats);
        buf_release(&out);
        return cli_report(CMD, &err);
    }
    fwrite(out.data, 1, out.len, stdout);
    trace_stats_free(stats);
    buf_release(&out);
    return cli_finish_stdout(CMD);
}
