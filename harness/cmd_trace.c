/*
 * cmd_trace.c — `rehearse trace SUBCOMMAND`: look inside trace files.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd_trace.h"
#include "commands.h"
#include "trace_reader.h"

#define CMD "trace"

struct trace_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int trace_show(int argc, char **argv);

static const struct trace_subcommand subcommands[] = {
    {"show", trace_show, "print transactions (TSV: conn, start, method, host, target, status)"},
    {"stats", cmd_trace_stats, "counts per method, status, endpoint, connection; duration, rate"},
    {"import-har", cmd_trace_import_har, "convert a HAR 1.2 file (browsers, proxies) into a trace"},
    {"export-har", cmd_trace_export_har, "convert a trace into a HAR 1.2 file"},
    {"split", cmd_trace_split, "cut a trace into N parts by connection (as replay --shard)"},
};
#define SUBCOMMAND_COUNT (sizeof subcommands / sizeof subcommands[0])

static void trace_usage(FILE *out)
{
    fprintf(out, "usage: rehearse trace SUBCOMMAND [ARGS]\n\nSubcommands:\n");
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(out, "\nRun 'rehearse trace SUBCOMMAND --help' for its options.\n");
}

int cmd_trace(int argc, char **argv)
{
    if (argc < 2) {
        trace_usage(stderr);
        return EXIT_BAD_INPUT;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        trace_usage(stdout);
        return cli_finish_stdout(CMD);
    }
    for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    return cli_usage_error(CMD, "unknown subcommand '%s'", argv[1]);
}

/* TSV fields cannot hold tabs or newlines: escape them as \t, \n, \r, \\. */
static void print_tsv_field(const char *s, size_t len)
{
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\\': esc = "\\\\"; break;
        default: continue;
        }
        fwrite(s + run, 1, i - run, stdout);
        fputs(esc, stdout);
        run = i + 1;
    }
    fwrite(s + run, 1, len - run, stdout);
}

static void show_usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse trace show TRACE [--format tsv|jsonl]\n"
            "\n"
            "Print the transactions of TRACE in capture order.\n"
            "  --format tsv    a header line, then one line per transaction:\n"
            "                  conn, start_us, method, host, target, status\n"
            "                  (host from the Host header, empty if none; status\n"
            "                  empty if no response was captured). The default.\n"
            "  --format jsonl  the transaction lines as stored in the trace.\n");
}

static int trace_show(int argc, char **argv)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = "tsv";
    struct trace_reader *reader = NULL;
    const struct trace_tx *tx;
    struct error err;
    int opt, rc;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
        switch (opt) {
        case 'f': format = optarg; break;
        case 'h': show_usage(stdout); return cli_finish_stdout("trace show");
        default: return cli_usage_error("trace show", "invalid option");
        }
    }
    if (strcmp(format, "tsv") != 0 && strcmp(format, "jsonl") != 0)
        return cli_usage_error("trace show", "--format: expected tsv or jsonl, found '%s'",
                               format);
    if (optind != argc - 1)
        return cli_usage_error("trace show", "expected one TRACE file");

    if (trace_reader_open(&reader, argv[optind], 0, &err))
        return cli_report("trace show", &err);
    if (format[0] == 't')
        fputs("conn\tstart_us\tmethod\thost\ttarget\tstatus\n", stdout);
    while ((rc = trace_reader_next(reader, &tx, &err)) > 0) {
        if (format[0] == 'j') {
            size_t len;
            const char *line = trace_reader_raw_line(reader, &len);
            fwrite(line, 1, len, stdout);
            fputc('\n', stdout);
            continue;
        }
        const struct http_header *host = http_message_header(&tx->request, "Host");
        printf("%llu\t%lld\t", (unsigned long long)tx->conn,
               tx->req_start_us == TRACE_TIME_NONE ? 0LL : (long long)tx->req_start_us);
        print_tsv_field(tx->request.method, strlen(tx->request.method));
        fputc('\t', stdout);
        if (host)
            print_tsv_field(host->value, host->value_len);
        fputc('\t', stdout);
        print_tsv_field(tx->request.target, strlen(tx->request.target));
        fputc('\t', stdout);
        if (tx->has_response)
            printf("%d", tx->response.status);
        fputc('\n', stdout);
    }
    trace_reader_close(reader);
    if (rc < 0) {
        fflush(stdout);
        return cli_report("trace show", &err);
    }
    return cli_finish_stdout("trace show");
}
