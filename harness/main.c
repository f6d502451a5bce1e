/*
 * main.c — the `rehearse` binary: find the subcommand in the table and run it.
 * Everything else lives in the cmd_*.c files (see commands.h for the
 * checklist to add one).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "errors.h"
#include "version.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"capture", cmd_capture, "capture HTTP/1.x traffic (pcap file or interface) into a trace"},
    {"trace", cmd_trace, "inspect, convert and split traces: show, stats, import-har, export-har, split"},
    {"replay", cmd_replay, "send a trace to old and new services; write results"},
    {"merge", cmd_merge, "combine the results files of a sharded replay into one"},
    {"diff", cmd_diff, "compare the responses of a replay's targets, noise cancelled: DIFF.json"},
    {"report", cmd_report, "render a DIFF.json as report.json, report.html, junit.xml, summary.md"},
    {"run", cmd_run, "run a rehearsal scenario (services, SQL migrations, assertions)"},
    {"dbdiff", cmd_dbdiff, "compare the schema and rows of two PostgreSQL databases"},
    {"proxy", cmd_proxy, "run the fault proxy: relay TCP with network faults (toxics)"},
    {"json-diff", cmd_json_diff, "the RFC 6902 patch between two JSON documents"},
    {"json-patch", cmd_json_patch, "apply an RFC 6902 JSON Patch to a document"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: rehearse [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "Rehearse a release: capture HTTP traffic, replay it against the old and the new\n"
            "version of a service, diff responses and database state, and report.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Run 'rehearse COMMAND --help' for a command's options.\n"
            "\n"
            "Exit codes: 0 ok; 1 findings (regressions, differences, failed assertions);\n"
            "            2 usage or input error; 3 environment failure.\n");
}

/* Exact name, or else the unique command the name is a prefix of. */
static const struct command *find_command(const char *name)
{
    const struct command *found = NULL;
    size_t len = strlen(name), matches = 0;

    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
        if (len && strncmp(commands[i].name, name, len) == 0) {
            found = &commands[i];
            matches++;
        }
    }
    if (matches > 1) {
        fprintf(stderr, "rehearse: '%s' is ambiguous; it could be:", name);
        for (size_t i = 0; i < COMMAND_COUNT; i++)
            if (strncmp(commands[i].name, name, len) == 0)
                fprintf(stderr, " %s", commands[i].name);
        fprintf(stderr, "\n");
        return NULL;
    }
    if (!found)
        fprintf(stderr, "rehearse: '%s' is not a rehearse command. See 'rehearse --help'.\n",
                name);
    return found;
}

int main(int argc, char **argv)
{
    const struct command *cmd;

    if (argc < 2) {
        print_help(stderr);
        return EXIT_BAD_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[1], "help") == 0) {
            cmd = find_command(argv[2]);
            if (!cmd)
                return EXIT_BAD_INPUT;
            char *help_argv[] = {(char *)cmd->name, "--help", NULL};
            return cmd->run(2, help_argv);
        }
        print_help(stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_ENVIRONMENT;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("rehearse %s\n", REHEARSE_VERSION);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_ENVIRONMENT;
    }
    if (argv[1][0] == '-') {
        fprintf(stderr, "rehearse: unknown option '%s'. See 'rehearse --help'.\n", argv[1]);
        return EXIT_BAD_INPUT;
    }
    cmd = find_command(argv[1]);
    if (!cmd)
        return EXIT_BAD_INPUT;
    argv[1] = (char *)cmd->name;
    return cmd->run(argc - 1, argv + 1);
}
