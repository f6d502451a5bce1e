/*
 * cmd_run.c — `rehearse run SCENARIO.json`: check a scenario, then run it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "runner.h"
#include "scenario.h"
#include "step.h"

#define CMD "run"

static void usage(FILE *out)
{
    const struct step_kind *const *kinds = step_kinds();
    fprintf(out,
            "usage: rehearse run SCENARIO.json [-o DIR] [--check] [--keep-db] [-q | --progress]\n"
            "\n"
            "Run a rehearsal: start an embedded PostgreSQL and the scenario's services, run\n"
            "its steps (SQL migrations, replays, faults, diffs, assertions ...), then its\n"
            "`always` steps whatever happened, and stop everything. The scenario format is in\n"
            "docs/scenario-format.md.\n"
            "\n"
            "  -o, --output DIR  the run directory (created 0700; must not exist or be empty);\n"
            "                    default runs/NAME-YYYYMMDD-HHMMSS\n"
            "      --check       only check the scenario; start nothing\n"
            "      --keep-db     keep the embedded cluster's data directory (DIR/pg)\n"
            "  -q, --quiet       no progress lines (the default when stderr is not a terminal)\n"
            "      --progress    progress lines even when stderr is not a terminal\n"
            "\n"
            "The run directory holds journal.json (every step: start, end, status, outputs,\n"
            "assertions; rewritten after each step), logs/ (each service's stdout and stderr,\n"
            "postgres.log), steps/NAME/ (files a step wrote) and, at the end (also of a run\n"
            "cut short, marked incomplete), report.json, report.html, junit.xml, summary.md.\n"
            "\n"
            "Step kinds:\n");
    for (size_t i = 0; kinds[i]; i++)
        fprintf(out, "  %-10s %s%s\n", kinds[i]->name, kinds[i]->summary,
                kinds[i]->unavailable ? " (not in this build)" : "");
    fprintf(out,
            "\n"
            "Exit codes: 0 every step ok and every assertion held; 1 a step or an assertion\n"
            "failed, or a service crashed; 2 the scenario (or a setup SQL file) is invalid;\n"
            "3 the environment failed (PostgreSQL, a database unreachable or lost, I/O) or the\n"
            "run was interrupted by a signal.\n");
}

/* ---- progress ------------------------------------------------------------- */

struct progress {
    bool enabled;
    bool tty;
    bool line_open;            /* a "running" line waits to be overwritten (tty only) */
    pthread_mutex_t lock;
};

static void close_line(struct progress *p)
{
    if (p->line_open) {
        fputs("\r\033[K", stderr);
        p->line_open = false;
    }
}

static void on_event(void *ctx, const struct runner_event *ev)
{
    struct progress *p = ctx;
    char position[32] = "";
    int indent = 2 + 4 * ev->depth;

    if (!p->enabled)
        return;
    pthread_mutex_lock(&p->lock);
    close_line(p);
    if (!ev->step && ev->message && ev->begin) {
        if (strcmp(ev->message, "steps") == 0 || ev->total > 0)
            fprintf(stderr, "%s:\n", ev->message);
    } else if (!ev->step && ev->message && ev->message[0]) {
        fprintf(stderr, "rehearse run: %s\n", ev->message);
    } else if (ev->step) {
        if (ev->depth == 0)
            snprintf(position, sizeof position, "[%d/%d] ", ev->index, ev->total);
        else
            snprintf(position, sizeof position, "- ");
        if (ev->begin) {
            if (p->tty && ev->depth == 0) {
                fprintf(stderr, "%*s%s%-24s %-9s running ...", indent, "", position,
                        ev->step->name, ev->step->kind->name);
                p->line_open = true;
            }
        } else {
            char message[160] = "";
            if (ev->message && ev->message[0]) {
                snprintf(message, sizeof message, "  %s", ev->message);
                message[strcspn(message, "\n")] = '\0';
            }
            if (ev->status == STEP_SKIPPED)
                fprintf(stderr, "%*s%s%-24s %-9s skipped\n", indent, "", position,
                        ev->step->name, ev->step->kind->name);
            else
                fprintf(stderr, "%*s%s%-24s %-9s %-11s %8.2f s%s\n", indent, "", position,
                        ev->step->name, ev->step->kind->name,
                        ev->status == STEP_OK ? "ok" : ev->status == STEP_FAILED ? "FAILED"
                        : ev->status == STEP_ERROR ? "ERROR" : step_status_name(ev->status),
                        ev->duration_ms / 1000.0, message);
        }
    }
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}

/* ---- the run directory ---------------------------------------------------- */

static int default_run_dir(const struct scenario *s, char *out, size_t size)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    struct stat st;

    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(out, size, "runs/%s-%s", s->name, stamp);
    for (int n = 2; stat(out, &st) == 0 && n < 1000; n++)
        snprintf(out, size, "runs/%s-%s-%d", s->name, stamp, n);
    return 0;
}

int cmd_run(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"check", no_argument, NULL, 'c'},
        {"keep-db", no_argument, NULL, 'k'},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *output = NULL;
    bool check = false, keep_db = false, quiet = false, force_progress = false;
    struct scenario_diagnostics diags;
    struct scenario *s = NULL;
    struct runner_result res;
    struct progress progress = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char run_dir[PATH_MAX];
    struct error err;
    int opt, code;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'o': output = optarg; break;
        case 'c': check = true; break;
        case 'k': keep_db = true; break;
        case 'q': quiet = true; break;
        case 'p': force_progress = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, "expected one SCENARIO.json");
    if (output && !*output)
        return cli_usage_error(CMD, "-o: expected a directory, found an empty string");

    /* Everything a run writes (logs, journal, database files) is private. */
    umask(077);
    if (scenario_load(&s, argv[optind], &diags, &err)) {
        if (diags.count == 0)
            return cli_report(CMD, &err);
        for (size_t i = 0; i < diags.count; i++)
            fprintf(stderr, "rehearse run: %s\n", diags.lines[i]);
        if (diags.dropped)
            fprintf(stderr, "rehearse run: ... and %zu more problems\n", diags.dropped);
        fprintf(stderr, "rehearse run: %zu problem%s in %s; nothing was started\n",
                diags.count + diags.dropped, diags.count + diags.dropped == 1 ? "" : "s",
                argv[optind]);
        scenario_diagnostics_release(&diags);
        return EXIT_BAD_INPUT;
    }
    if (check) {
        printf("%s: ok (%zu steps, %zu always steps, %zu services, %zu databases)\n",
               argv[optind], s->step_count, s->always_count, s->service_count,
               s->database_count);
        scenario_free(s);
        return cli_finish_stdout(CMD);
    }

    if (output)
        snprintf(run_dir, sizeof run_dir, "%s", output);
    else
        default_run_dir(s, run_dir, sizeof run_dir);
    progress.tty = isatty(STDERR_FILENO);
    progress.enabled = !quiet && (progress.tty || force_progress);
    if (progress.enabled)
        fprintf(stderr, "rehearse run: %s -> %s\n", s->name, run_dir);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        scenario_free(s);
        error_set(&err, ERR_ENV, "cannot initialise libcurl");
        return cli_report(CMD, &err);
    }
    struct runner_options ropt = {.run_dir = run_dir, .keep_db = keep_db, .on_event = on_event,
                                  .ctx = &progress};
    code = runner_run(s, &ropt, &res, &err);
    curl_global_cleanup();
    scenario_free(s);
    if (code < 0)
        return cli_report(CMD, &err);

    if (strcmp(res.status, "passed") == 0)
        printf("passed: %d steps ok, %d assertions held; journal %s\n", res.steps_ok,
               res.assertions_passed, res.journal);
    else
        printf("%s (exit %d): %s\n  %d steps ok, %d failed, %d skipped; %d of %d assertions "
               "held; journal %s\n",
               res.status, res.exit_code, res.reason, res.steps_ok, res.steps_failed,
               res.steps_skipped, res.assertions_passed,
               res.assertions_passed + res.assertions_failed, res.journal);
    if (res.report_html[0])
        printf("  report %s (%s)\n", res.report_html, res.report_verdict);
    else if (res.report_summary[0])
        printf("  %s\n", res.report_summary);
    if (cli_finish_stdout(CMD))
        return EXIT_ENVIRONMENT;
    return res.exit_code;
}
