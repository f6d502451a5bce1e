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
#include "outfile.h"
#include "report.h"
#include "respdiff.h"
#include "results.h"

#define CMD "report"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse report [OPTIONS] DIFF.json -o DIR\n"
            "       rehearse report [OPTIONS] RESULTS... [--base NAME] [--candidate NAME]\n"
            "                       [--noise NAME] [--rules RULES.json] -o DIR\n"
            "\n"
            "Render the reports of a response diff (written by 'rehearse diff') into DIR.\n"
            "Given the results files of a replay instead (one file, or its shards), diff\n"
            "them first as 'rehearse diff' would with its default thresholds, into\n"
            "DIR/diff.json. The reports:\n"
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
            "  --base, --candidate, --noise NAME, --rules FILE\n"
            "                    with RESULTS: as for 'rehearse diff'\n"
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

enum { OPT_BASE = 512, OPT_CANDIDATE, OPT_NOISE, OPT_RULES };

/* A results file (its first line a results header), not a DIFF.json. */
static bool is_results(const char *path)
{
    struct results_reader *r;
    struct error ignored;

    if (strcmp(path, "-") == 0 || results_reader_open(&r, path, 0, &ignored) != 0)
        return false;
    results_reader_close(r);
    return true;
}

/* Diff the results files into DIR/diff.json, as `rehearse diff` would. */
static int diff_results(struct respdiff_options *o, char *const *files, size_t n,
                        const char *outdir, char *diff_path, size_t size, bool quiet,
                        struct error *err)
{
    struct respdiff_result res;
    int rc;

    snprintf(diff_path, size, "%s/diff.json", outdir);
    if ((rc = outfile_make_dirs(outdir, err)))
        return rc;
    o->results = (const char *const *)files;
    o->nresults = n;
    o->output = diff_path;
    if ((rc = respdiff_run(o, &res, err)))
        return rc;
    if (!quiet)
        printf("wrote %s: %llu transactions, %llu compared, %zu endpoints\n", diff_path,
               (unsigned long long)res.transactions, (unsigned long long)res.compared,
               res.endpoints);
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"context", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"base", required_argument, NULL, OPT_BASE},
        {"candidate", required_argument, NULL, OPT_CANDIDATE},
        {"noise", required_argument, NULL, OPT_NOISE},
        {"rules", required_argument, NULL, OPT_RULES},
        JSON_OPTS_LONG,
        {NULL, 0, NULL, 0},
    };
    const char *outdir = NULL, *context = NULL;
    unsigned formats = REPORT_ALL;
    struct jdoc_limits lim = {0, 0, 0};
    struct report *r = NULL;
    struct respdiff_options diff;
    const char *diff_option = NULL, *input;
    char diff_path[4096];
    struct error err;
    bool quiet = false, results;
    int opt, rc, exit_code;

    error_init(&err);
    respdiff_options_init(&diff);
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
        case OPT_BASE: diff.base = optarg; diff_option = "--base"; break;
        case OPT_CANDIDATE: diff.candidate = optarg; diff_option = "--candidate"; break;
        case OPT_NOISE: diff.noise = optarg; diff_option = "--noise"; break;
        case OPT_RULES: diff.rules_path = optarg; diff_option = "--rules"; break;
        case JSON_OPT_MAX_DEPTH:
        case JSON_OPT_MAX_NODES:
        case JSON_OPT_MAX_SIZE:
            if (!json_opts_limit(CMD, opt, optarg, &lim))
                return EXIT_BAD_INPUT;
            break;
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "expected a DIFF.json, or the RESULTS files of a replay");
    results = argc - optind > 1 || is_results(argv[optind]);
    if (!results && diff_option)
        return cli_usage_error(CMD, "%s: only with RESULTS files (a DIFF.json already says "
                               "what was compared)", diff_option);
    if (!outdir)
        return cli_usage_error(CMD, "expected -o DIR, the directory to write the reports into");
    if (context && strcmp(context, "-") == 0 && strcmp(argv[optind], "-") == 0)
        return cli_usage_error(CMD, "only one of DIFF.json and --context can be standard "
                               "input ('-')");

    input = argv[optind];
    if (results) {
        diff.argc = argc;
        diff.argv = argv;
        if ((rc = diff_results(&diff, argv + optind, (size_t)(argc - optind), outdir, diff_path,
                               sizeof diff_path, quiet, &err)) != 0)
            goto fail;
        input = diff_path;
    }
    if ((rc = report_new(&r, &err)) != 0)
        goto fail;
    if ((rc = report_load_diff(r, input, &lim, &err)) != 0) {
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
