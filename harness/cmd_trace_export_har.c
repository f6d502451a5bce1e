/*
 * cmd_trace_export_har.c — `rehearse trace export-har TRACE -o FILE.har`
 * (replay/har.h does the work).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_trace.h"
#include "har.h"

#define CMD "trace export-har"

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse trace export-har TRACE -o FILE.har\n"
            "\n"
            "Convert TRACE into a HAR 1.2 file that browsers' developer tools, HAR\n"
            "viewers and proxies open.  The trace is streamed and the HAR written entry by\n"
            "entry, atomically (FILE.har.partial, renamed when complete).  Bodies that are\n"
            "not UTF-8 text are base64 (\"encoding\": \"base64\"); bodies are exported as\n"
            "they were sent, so a Content-Encoded body is marked \"_contentEncoding\".\n"
            "What HAR has no field for (flags, addresses) goes into \"_rehearse\", which\n"
            "'rehearse trace import-har' reads back.\n"
            "\n"
            "  -o, --output FILE.har   the HAR to write ('-' for standard output)\n");
}

int cmd_trace_export_har(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct har_export_result res;
    const char *output = NULL;
    struct error err;
    int c;

    error_init(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 'h': export_usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, "expected one TRACE file");
    if (!output)
        return cli_usage_error(CMD, "-o FILE.har is required");

    if (har_export(argv[optind], output, &res, &err))
        return cli_report(CMD, &err);
    fprintf(stderr, "rehearse %s: %llu entries written to %s", CMD,
            (unsigned long long)res.entries, output);
    if (res.no_response)
        fprintf(stderr, "; %llu without a response (status 0)",
                (unsigned long long)res.no_response);
    if (res.encoded_bodies)
        fprintf(stderr, "; %llu bodies still Content-Encoded (marked _contentEncoding)",
                (unsigned long long)res.encoded_bodies);
    if (res.clamped_timings)
        fprintf(stderr, "; %llu with a response that began before the request ended "
                "(negative timings set to 0)", (unsigned long long)res.clamped_timings);
    fputc('\n', stderr);
    return EXIT_OK;
}
