/*
 * cmd_trace_import_har.c — `rehearse trace import-har FILE.har -o TRACE`
 * (replay/har.h does the work).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_trace.h"
#include "har.h"
#include "json_stream.h"
#include "redact.h"

#define CMD "trace import-har"
#define MAX_REDACT 32

static void import_usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse trace import-har FILE.har -o TRACE [--max-entry-size SIZE]\n"
            "                                 [--reorder-window N] [--redact-header NAME]\n"
            "                                 [--keep-secrets]\n"
            "\n"
            "Convert a HAR 1.2 file (exported by browsers' developer tools, mitmproxy,\n"
            "Charles, Fiddler, ...) into a trace.  The HAR is streamed: only one entry at\n"
            "a time (plus the reorder window) is in memory, whatever the file size.\n"
            "FILE.har may be gzip-compressed, or '-' for standard input.  HTTP/2 and\n"
            "HTTP/3 entries become HTTP/1.1 (counted in the notes); entries that are not\n"
            "HTTP (data:, blob:) are skipped and counted.  What changed is printed on\n"
            "stderr and kept in the trace's summary line ('rehearse trace stats').\n"
            "\n"
            "  -o, --output TRACE        the trace to write ('.gz' compresses, '-' is\n"
            "                            standard output); written atomically\n"
            "  --max-entry-size SIZE     largest single entry, as JSON text (default 512M,\n"
            "                            at most 1G)\n"
            "  --reorder-window N        entries held to restore start-time order when\n"
            "                            the HAR lists them out of order (default %d)\n"
            "\n"
            "Secrets (Authorization, Proxy-Authorization, Cookie, Set-Cookie are redacted\n"
            "as 'rehearse capture' does: a keyed fingerprint, equal for equal values):\n"
            "  --redact-header NAME      redact this header too (repeatable)\n"
            "  --keep-secrets            store secret values as the HAR has them\n",
            HAR_DEFAULT_REORDER_WINDOW);
}

int cmd_trace_import_har(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"max-entry-size", required_argument, NULL, 'm'},
        {"reorder-window", required_argument, NULL, 'w'},
        {"redact-header", required_argument, NULL, 'r'},
        {"keep-secrets", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct har_import_options opt = {0};
    struct har_import_result res;
    const char *output = NULL, *redact[MAX_REDACT];
    size_t redact_count = 0;
    bool keep_secrets = false;
    struct redactor *redactor = NULL;
    struct error err;
    uint64_t v;
    int c, rc;

    error_init(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'm':
            if (!cli_parse_size(CMD, "--max-entry-size", optarg, &v))
                return EXIT_BAD_INPUT;
            if (v < 64 || v > JSON_STREAM_MAX_VALUE_LIMIT)
                return cli_usage_error(CMD, "--max-entry-size: expected 64 bytes to 1G");
            opt.max_entry = (size_t)v;
            break;
        case 'w':
            if (!cli_parse_u64(CMD, "--reorder-window", optarg, &v))
                return EXIT_BAD_INPUT;
            if (v < 1 || v > 1000000)
                return cli_usage_error(CMD, "--reorder-window: expected 1 to 1000000");
            opt.reorder_window = (size_t)v;
            break;
        case 'r':
            if (redact_count == MAX_REDACT)
                return cli_usage_error(CMD, "--redact-header: at most %d", MAX_REDACT);
            redact[redact_count++] = optarg;
            break;
        case 'k': keep_secrets = true; break;
        case 'h': import_usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, "expected one HAR file");
    if (!output)
        return cli_usage_error(CMD, "-o TRACE is required");

    if (keep_secrets && redact_count)
        return cli_usage_error(CMD, "--keep-secrets and --redact-header contradict each other");
    if (!keep_secrets) {
        if (redactor_new(&redactor, &err))
            return cli_report(CMD, &err);
        for (size_t i = 0; i < redact_count; i++)
            if (redactor_add_header(redactor, redact[i], &err)) {
                redactor_free(redactor);
                return cli_report(CMD, &err);
            }
    }
    opt.redactor = redactor;
    rc = har_import(argv[optind], output, &opt, &res, &err);
    redactor_free(redactor);
    if (rc)
        return cli_report(CMD, &err);
    fprintf(stderr, "rehearse %s: %llu entries, %llu transactions written to %s\n", CMD,
            (unsigned long long)res.entries, (unsigned long long)res.transactions, output);
    if (res.redacted)
        fprintf(stderr, "  %llu transactions with secret values redacted (--keep-secrets keeps "
                "them)\n", (unsigned long long)res.redacted);
    for (int i = 0; i < HAR_SKIP_COUNT; i++)
        if (res.skipped[i])
            fprintf(stderr, "  skipped %llu %s: %s\n", (unsigned long long)res.skipped[i],
                    har_skip_name(i), har_skip_description(i));
    for (int i = 0; i < HAR_NOTE_COUNT; i++)
        if (res.notes[i])
            fprintf(stderr, "  note    %llu %s: %s\n", (unsigned long long)res.notes[i],
                    har_note_name(i), har_note_description(i));
    return EXIT_OK;
}
