/*
 * cmd_report.c — `rehearse report DIFF.json -o DIR`: render the reports
 * (report.json, report.html, junit.xml, summary.md) of a response diff,
 * optionally with the context of the run (reports/report.h does the work;
 * the scenario runner calls the same library).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "json_opts.h"
#include "report.h"

#define CMD "report"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse report [OPTIONS] DIFF.json -o DIR\n"
            "\n"
            "Render the reports of a response diff (written by 'rehearse diff') into DIR:\n"
            "  report.json   the verdict, totals, endpoints, fields and examples, for tools\n"
            "                (docs/report-format.md)\n"
            "  report.html   one self-contained page for reviewers (works offline, loads\n"
            "                nothing)\n"
            "  junit.xml     one test suite per endpoint, for CI test reports\n"
            "  summary.md    the verdict and the top findings, for a pull-request comment\n"
            "Each file is written atomically. '-' reads DIFF.json from standard input.\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR  the directory to write into (created if needed)\n"
            "  --context FILE    the context of the run: its timeline of steps and faults,\n"
            "                    its assertions, its database diff (docs/report-format.md);\n"
            "                    a failed assertion or a database regression fails the verdict\n"
            "  --format LIST     write only these, comma-separated: json, html, junit,\n"
            "                    markdown (default: all four)\n"
            "  -q, --quiet       print nothing but errors and warnings\n"
            JSON_OPTS_HELP
            "\n"
            "Exit: 0 pass; 1 regressions (or nothing could be compared); 2 bad input (the\n"
            "error says where: file:line:column and the JSON path); 3 cannot write.\n");
}

static bool parse_formats(const char *list, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"json", REPORT_JSON}, {"html", REPORT_HTML}, {"junit", REPORT_JUNIT},
                 {"markdown", REPORT_MARKDOWN}, {"md", REPORT_MARKDOWN}};
    const char *p = list;

    *out = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strlen(names[i].name) == len && strncmp(names[i].name, p, len) == 0) {
                *out |= names[i].bit;
                found = true;
            }
        }
        if (!found) {
            cli_usage_error(CMD, "--format: unknown format '%.*s' (expected json, html, junit "
                            "or markdown)", (int)len, p);
            return false;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (!*out) {
        cli_usage_error(CMD, "--format: expected at least one of json, html, junit, markdown");
        return false;
    }
    return true;
}

/* Print text that may come from captured traffic, controls made visible. */
static void print_safe(FILE *f, const char *prefix, const char *text)
{
    struct buf b;

    buf_init(&b, 64 * 1024);
    escape_cstring(&b, ESCAPE_PLAIN, text, 2000);
    fprintf(f, "%s%s\n", prefix, b.data ? b.data : "");
    buf_release(&b);
}

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"context", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        JSON_OPTS_LONG,
        {NULL, 0, NULL, 0},
    };
    const char *outdir = NULL, *context = NULL;
    unsigned formats = REPORT_ALL;
    struct jdoc_limits lim = {0, 0, 0};
    struct report *r = NULL;
    struct error err;
    bool quiet = false;
    int opt, rc, exit_code;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'o': outdir = optarg; break;
        case 'c': context = optarg; break;
        case 'f':
            if (!parse_formats(optarg, &formats))
                return EXIT_BAD_INPUT;
            break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        case JSON_OPT_MAX_DEPTH:
        case JSON_OPT_MAX_NODES:
        case JSON_OPT_MAX_SIZE:
            if (!json_opts_limit(CMD, opt, optarg, &lim))
                return EXIT_BAD_INPUT;
            break;
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, optind >= argc ? "expected a DIFF.json" :
                               "expected one DIFF.json, found %d arguments", argc - optind);
    if (!outdir)
        return cli_usage_error(CMD, "expected -o DIR, the directory to write the reports into");
    if (context && strcmp(context, "-") == 0 && strcmp(argv[optind], "-") == 0)
        return cli_usage_error(CMD, "only one of DIFF.json and --context can be standard "
                               "input ('-')");

    if ((rc = report_new(&r, &err)) != 0)
        goto fail;
    if ((rc = report_load_diff(r, argv[optind], &lim, &err)) != 0) {
        json_opts_hint(&err);
        goto fail;
    }
    if (context && (rc = report_load_context(r, context, &err)) != 0)
        goto fail;
    for (size_t i = 0; i < report_warning_count(r); i++)
        print_safe(stderr, "rehearse report: warning: ", report_warning(r, i));
    if ((rc = report_write_dir(r, outdir, formats, &err)) != 0)
        goto fail;
    exit_code = report_exit_code(r);
    if (!quiet) {
        static const enum report_format order[] = {REPORT_JSON, REPORT_HTML, REPORT_JUNIT,
                                                   REPORT_MARKDOWN};
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s: ", report_result(r));
        print_safe(stdout, prefix, report_summary(r));
        for (size_t i = 0; i < 4; i++)
            if (formats & order[i])
                printf("wrote %s/%s\n", outdir, report_file_name(order[i]));
        if (cli_finish_stdout(CMD))
            exit_code = EXIT_ENVIRONMENT;
    }
    report_free(r);
    return exit_code;
fail:
    exit_code = cli_report(CMD, &err);
    report_free(r);
    return exit_code;
}
