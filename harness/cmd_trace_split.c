/*
 * cmd_trace_split.c — `rehearse trace split TRACE -n N -o DIR`: cut a trace
 * into N parts by connection, the partition `rehearse replay --shard I/N`
 * makes, so that machines can each copy one part instead of the whole
 * trace.  Streams: one transaction in memory, N output buffers.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_trace.h"
#include "outfile.h"
#include "selection.h"
#include "trace_reader.h"
#include "trace_writer.h"

#define CMD "trace split"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse trace split TRACE -n N -o DIR [-q]\n"
            "\n"
            "Write the transactions of TRACE into N traces DIR/shard-I.jsonl (I from 0 to\n"
            "N-1, as JOB_COMPLETION_INDEX counts; .jsonl.gz when TRACE's name ends in .gz),\n"
            "by connection: part I holds exactly the connections 'rehearse replay --shard I/N'\n"
            "replays, each connection whole and in order. Every part starts with TRACE's\n"
            "header plus \"split\":{\"index\":I,\"count\":N}; replaying part I is replaying\n"
            "--shard I/N of TRACE. Parts have no summary line (TRACE keeps it).\n"
            "\n"
            "  -n, --parts N     the number of parts, 1 to %d\n"
            "  -o, --output DIR  where to write them (created if needed)\n"
            "  -q, --quiet       print nothing\n"
            "\n"
            "Exit: 0 written; 2 bad usage or a bad trace line (located; no part is\n"
            "written); 3 cannot write.\n",
            TRACE_SPLIT_MAX);
}

/* The header of part `index`: TRACE's header line with "split" set. */
static char *part_header(json_t *header, uint32_t index, uint32_t count)
{
    json_t *copy = json_copy(header);
    char *text = NULL;

    if (copy && json_object_set_new(copy, "split",
                                    json_pack("{s:I,s:I}", "index", (json_int_t)index, "count",
                                              (json_int_t)count)) == 0)
        text = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    return text;
}

static int split(const char *trace, uint32_t n, const char *dir, bool quiet)
{
    struct trace_writer **parts = calloc(n, sizeof *parts);
    uint64_t *counts = calloc(n, sizeof *counts);
    struct trace_reader *reader = NULL;
    const struct trace_tx *tx;
    struct error err;
    size_t tlen = strlen(trace);
    bool gz = tlen > 3 && strcmp(trace + tlen - 3, ".gz") == 0;
    int rc = 0;
    uint64_t total = 0;

    error_init(&err);
    if (!parts || !counts) {
        error_set(&err, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((rc = trace_reader_open(&reader, trace, 0, &err)) ||
        (rc = outfile_make_dirs(dir, &err)))
        goto fail;
    if (trace_reader_header(reader)->split_count) {
        const struct trace_header *h = trace_reader_header(reader);
        rc = error_set(&err, ERR_USAGE,
                       "%s: already shard %u/%u of a split trace; split the whole trace", trace,
                       h->split_index, h->split_count);
        goto fail;
    }
    for (uint32_t i = 0; i < n; i++) {
        char path[4096], *header = part_header(trace_reader_header_json(reader), i, n);
        if (!header) {
            rc = error_set(&err, ERR_NOMEM, "out of memory");
            goto fail;
        }
        snprintf(path, sizeof path, "%s/shard-%u.jsonl%s", dir, i, gz ? ".gz" : "");
        rc = trace_writer_open_line(&parts[i], path, header, strlen(header), &err);
        free(header);
        if (rc)
            goto fail;
    }
    while ((rc = trace_reader_next(reader, &tx, &err)) > 0) {
        uint32_t i = selection_shard_of(tx->conn, n);
        size_t len;
        const char *line = trace_reader_raw_line(reader, &len);
        if ((rc = trace_writer_write_raw(parts[i], line, len, &err)))
            goto fail;
        counts[i]++;
        total++;
    }
    if (rc < 0)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        rc = trace_writer_close(parts[i], &err);
        parts[i] = NULL;
        if (rc)
            goto fail;
    }
    if (!quiet) {
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint32_t i = 0; i < n; i++) {
            lo = counts[i] < lo ? counts[i] : lo;
            hi = counts[i] > hi ? counts[i] : hi;
        }
        printf("rehearse trace split: %llu transactions into %u parts in %s (%llu to %llu "
               "each)\n",
               (unsigned long long)total, n, dir, (unsigned long long)lo,
               (unsigned long long)hi);
    }
    trace_reader_close(reader);
    free(parts);
    free(counts);
    return quiet ? EXIT_OK : cli_finish_stdout(CMD);
fail:
    for (uint32_t i = 0; parts && i < n; i++)
        trace_writer_discard(parts[i]);
    trace_reader_close(reader);
    free(parts);
    free(counts);
    return cli_report(CMD, &err);
}

int cmd_trace_split(int argc, char **argv)
{
    static const struct option options[] = {
        {"parts", required_argument, NULL, 'n'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    uint64_t n = 0;
    bool quiet = false;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:o:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (!cli_parse_u64(CMD, "-n", optarg, &n))
                return EXIT_BAD_INPUT;
            if (n < 1 || n > TRACE_SPLIT_MAX)
                return cli_usage_error(CMD, "-n: expected 1 to %d parts, found '%s'",
                                       TRACE_SPLIT_MAX, optarg);
            break;
        case 'o': dir = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, "expected one TRACE file");
    if (!n)
        return cli_usage_error(CMD, "expected -n N, the number of parts");
    if (!dir)
        return cli_usage_error(CMD, "expected -o DIR, the directory to write the parts into");
    return split(argv[optind], (uint32_t)n, dir, quiet);
}
