/*
 * cmd_merge.c — `rehearse merge RESULTS... -o RESULTS`: the results files
 * of a sharded replay combined into one (reports/results_merge.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "results_merge.h"

#define CMD "merge"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse merge RESULTS... -o RESULTS [-q]\n"
            "\n"
            "Combine the results files of every shard of one replay ('rehearse replay\n"
            "--shard I/N', or of the parts of 'rehearse trace split') into the results file\n"
            "an unsharded replay of the trace would have written: records copied shard by\n"
            "shard, summary counts added, latency percentiles read from the merged\n"
            "histograms. Refused, with the reason and where, unless the files replayed the\n"
            "same trace with the same targets and options, each shard once, all present.\n"
            "\n"
            "  -o, --output RESULTS  the merged file (written atomically; .gz compresses;\n"
            "                        - is standard output)\n"
            "  -q, --quiet           print nothing\n"
            "\n"
            "Exit: 0 merged; 2 the files are not the complete shards of one replay, or one\n"
            "is broken or unfinished; 3 cannot write.\n");
}

int cmd_merge(int argc, char **argv)
{
    static const struct option options[] = {
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct results_merge_stats st;
    const char *output = NULL;
    struct error err;
    bool quiet = false;
    int opt;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'o': output = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "expected the RESULTS files of the shards");
    if (!output)
        return cli_usage_error(CMD, "expected -o RESULTS, the merged file to write");
    if (strcmp(output, "-") == 0)
        quiet = true; /* the merged file itself goes to standard output */
    if (results_merge((const char *const *)argv + optind, (size_t)(argc - optind), output, &st,
                      &err))
        return cli_report(CMD, &err);
    if (quiet)
        return EXIT_OK;
    if (st.shards)
        printf("rehearse merge: %u shards, %llu results (%llu transactions read)%s -> %s\n",
               st.shards, (unsigned long long)st.records, (unsigned long long)st.read,
               st.interrupted ? ", INTERRUPTED: a shard stopped early" : "", output);
    else
        printf("rehearse merge: one unsharded file, %llu results -> %s\n",
               (unsigned long long)st.records, output);
    return cli_finish_stdout(CMD);
}
