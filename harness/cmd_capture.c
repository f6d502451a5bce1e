/*
 * cmd_capture.c — `rehearse capture`: HTTP/1.x traffic from a pcap/pcapng
 * file or a live interface into a trace (replay/capture.h does the work).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cli.h"
#include "commands.h"

#define CMD "capture"
#define MAX_REDACT 32

static volatile sig_atomic_t stop_flag;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse capture -r FILE -o TRACE [options]\n"
            "       rehearse capture -i IFACE [-f BPF | --port P] [--duration D] [-c N] -o TRACE "
            "[options]\n"
            "\n"
            "Rebuild the HTTP/1.x transactions in captured traffic and write them to a trace\n"
            "(docs/trace-format.md). Ctrl-C (SIGINT) or SIGTERM ends a live capture cleanly.\n"
            "\n"
            "Source and output:\n"
            "  -r, --read FILE            read a pcap or pcapng file\n"
            "  -i, --interface IFACE      capture live on IFACE (root or CAP_NET_RAW)\n"
            "  -o, --output TRACE         the trace to write ('.gz' compresses, '-' is stdout)\n"
            "  -f, --filter BPF           capture filter (live default: tcp; files: none)\n"
            "      --port P               add the filter 'tcp port P'\n"
            "      --duration D           live: stop after D (30s, 5m, 1h)\n"
            "  -c, --count N              stop after N packets\n"
            "      --snaplen N            live: bytes kept per packet (default 262144)\n"
            "      --no-promisc           live: leave the interface out of promiscuous mode\n"
            "\n"
            "Limits (memory stays bounded whatever the input's size):\n"
            "      --max-body SIZE        body bytes kept per message (default 8M)\n"
            "      --max-flow-buffer SIZE out-of-order bytes held per direction (default 4M)\n"
            "      --max-memory SIZE      bytes held in total (default 256M)\n"
            "      --idle-timeout D       finish a connection idle this long (default 5m)\n"
            "\n"
            "Secrets (Authorization, Proxy-Authorization, Cookie, Set-Cookie are redacted):\n"
            "      --redact-header NAME   redact this header too (repeatable)\n"
            "      --keep-secrets         store secret values as captured\n"
            "\n"
            "  -q, --quiet                print only warnings and errors\n"
            "\n"
            "The summary on stderr (and the trace's last line) counts every packet, byte\n"
            "and message that did not make it into a transaction intact, by reason.\n");
}

static void print_bytes(uint64_t n)
{
    if (n >= (1u << 30))
        fprintf(stderr, "%.1f GiB", (double)n / (1u << 30));
    else if (n >= (1u << 20))
        fprintf(stderr, "%.1f MiB", (double)n / (1u << 20));
    else if (n >= 1024)
        fprintf(stderr, "%.1f KiB", (double)n / 1024);
    else
        fprintf(stderr, "%llu bytes", (unsigned long long)n);
}

static void print_summary(const struct capture_summary *s, const char *output)
{
    bool any = false;

    fprintf(stderr, "rehearse capture: %llu packets (", (unsigned long long)s->packets);
    print_bytes(s->bytes);
    fprintf(stderr, "), %llu connections (%llu HTTP), %llu transactions written to %s%s\n",
            (unsigned long long)s->flows, (unsigned long long)s->http_flows,
            (unsigned long long)s->transactions, output,
            s->interrupted ? " (stopped early)" : "");
    for (int bit = 0; bit < TX_FLAG_COUNT; bit++) {
        if (!s->flags[bit])
            continue;
        fprintf(stderr, "%s %s %llu", any ? "," : "  flagged:", tx_flag_name((enum tx_flag)bit),
                (unsigned long long)s->flags[bit]);
        any = true;
    }
    if (any)
        fputc('\n', stderr);
    any = false;
    for (int i = 0; i < CAPTURE_SKIP_COUNT; i++) {
        if (!s->skipped[i].count && !s->skipped[i].bytes)
            continue;
        if (!any)
            fprintf(stderr, "  skipped or damaged:\n");
        any = true;
        fprintf(stderr, "    %-22s %8llu", capture_skip_name((enum capture_skip)i),
                (unsigned long long)s->skipped[i].count);
        if (capture_skip_has_bytes((enum capture_skip)i)) {
            fprintf(stderr, " (");
            print_bytes(s->skipped[i].bytes);
            fprintf(stderr, ")");
        }
        fprintf(stderr, "  %s\n", capture_skip_description((enum capture_skip)i));
    }
    if (!any)
        fprintf(stderr, "  nothing skipped\n");
}

int cmd_capture(int argc, char **argv)
{
    enum {
        OPT_PORT = 256, OPT_DURATION, OPT_SNAPLEN, OPT_NO_PROMISC, OPT_MAX_BODY,
        OPT_MAX_FLOW_BUFFER, OPT_MAX_MEMORY, OPT_IDLE_TIMEOUT, OPT_REDACT, OPT_KEEP_SECRETS,
    };
    static const struct option options[] = {
        {"read", required_argument, NULL, 'r'},
        {"interface", required_argument, NULL, 'i'},
        {"output", required_argument, NULL, 'o'},
        {"filter", required_argument, NULL, 'f'},
        {"count", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, OPT_PORT},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"snaplen", required_argument, NULL, OPT_SNAPLEN},
        {"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
        {"max-body", required_argument, NULL, OPT_MAX_BODY},
        {"max-flow-buffer", required_argument, NULL, OPT_MAX_FLOW_BUFFER},
        {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"redact-header", required_argument, NULL, OPT_REDACT},
        {"keep-secrets", no_argument, NULL, OPT_KEEP_SECRETS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct capture_options o;
    struct capture_summary summary;
    struct sigaction sa, old_int, old_term;
    const char *redact[MAX_REDACT];
    char filter[2048];
    const char *user_filter = NULL;
    uint64_t port = 0, v;
    bool quiet = false;
    struct error err;
    int opt, rc;

    capture_options_init(&o);
    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:i:o:f:c:qh", options, NULL)) != -1) {
        switch (opt) {
        case 'r': o.file = optarg; break;
        case 'i': o.iface = optarg; break;
        case 'o': o.output = optarg; break;
        case 'f': user_filter = optarg; break;
        case 'c':
            if (!cli_parse_u64(CMD, "-c", optarg, &o.max_packets))
                return EXIT_BAD_INPUT;
            break;
        case OPT_PORT:
            if (!cli_parse_u64(CMD, "--port", optarg, &port))
                return EXIT_BAD_INPUT;
            if (port == 0 || port > 65535)
                return cli_usage_error(CMD, "--port: expected 1 to 65535, found '%s'", optarg);
            break;
        case OPT_DURATION:
            if (!cli_parse_duration_us(CMD, "--duration", optarg, &o.duration_us))
                return EXIT_BAD_INPUT;
            break;
        case OPT_SNAPLEN:
            if (!cli_parse_u64(CMD, "--snaplen", optarg, &v))
                return EXIT_BAD_INPUT;
            if (v < 64 || v > 262144)
                return cli_usage_error(CMD, "--snaplen: expected 64 to 262144, found '%s'",
                                       optarg);
            o.snaplen = (int)v;
            break;
        case OPT_NO_PROMISC: o.promisc = false; break;
        case OPT_MAX_BODY:
            if (!cli_parse_size(CMD, "--max-body", optarg, &o.max_body))
                return EXIT_BAD_INPUT;
            break;
        case OPT_MAX_FLOW_BUFFER:
            if (!cli_parse_size(CMD, "--max-flow-buffer", optarg, &o.max_flow_buffer))
                return EXIT_BAD_INPUT;
            break;
        case OPT_MAX_MEMORY:
            if (!cli_parse_size(CMD, "--max-memory", optarg, &o.max_memory))
                return EXIT_BAD_INPUT;
            if (o.max_memory < (1u << 20))
                return cli_usage_error(CMD, "--max-memory: expected at least 1M, found '%s'",
                                       optarg);
            break;
        case OPT_IDLE_TIMEOUT:
            if (!cli_parse_duration_us(CMD, "--idle-timeout", optarg, &o.idle_timeout_us))
                return EXIT_BAD_INPUT;
            break;
        case OPT_REDACT:
            if (o.redact_count == MAX_REDACT)
                return cli_usage_error(CMD, "--redact-header: at most %d", MAX_REDACT);
            redact[o.redact_count++] = optarg;
            break;
        case OPT_KEEP_SECRETS: o.keep_secrets = true; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o.file == !o.iface)
        return cli_usage_error(CMD, "give either -r FILE or -i IFACE");
    if (!o.output)
        return cli_usage_error(CMD, "-o TRACE is required");
    if (o.file && o.duration_us)
        return cli_usage_error(CMD, "--duration applies to live capture (-i) only");
    o.redact_headers = redact;

    if (port) {
        if (user_filter)
            snprintf(filter, sizeof filter, "(%s) and tcp port %llu", user_filter,
                     (unsigned long long)port);
        else
            snprintf(filter, sizeof filter, "tcp port %llu", (unsigned long long)port);
        o.filter = filter;
    } else {
        o.filter = user_filter;
    }

    /* One signal asks for a clean stop; the handler resets itself, so a
     * second one ends the process at once. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    stop_flag = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    o.stop = &stop_flag;

    rc = capture_run(&o, &summary, &err);

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);

    if ((!quiet && !rc) || (rc && summary.packets))
        print_summary(&summary, strcmp(o.output, "-") == 0 ? "standard output" : o.output);
    if (summary.warning[0])
        fprintf(stderr, "rehearse capture: warning: %s\n", summary.warning);
    if (rc)
        return cli_report(CMD, &err);
    return EXIT_OK;
}
