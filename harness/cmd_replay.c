/*
 * cmd_replay.c — `rehearse replay TRACE --target NAME=URL... -o RESULTS`:
 * parse options, run the engine (replay/replay.h), show progress, print the
 * summary.  docs/cli/replay.md is the user's page.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "commands.h"
#include "jsonw.h"
#include "now.h"
#include "replay.h"
#include "replay_options.h"
#include "trace_reader.h"

#define CMD "replay"
#define MAX_RULES 256

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse replay TRACE --target NAME=URL [--target NAME=URL...] -o RESULTS\n"
            "\n"
            "Send the trace's requests to every target, in captured order and timing, and\n"
            "write what each answered to RESULTS (docs/results-format.md).\n"
            "\n"
            "Timing:\n"
            "  --speed X|max         X times captured speed (default 1); max: as fast as\n"
            "                        per-connection order allows\n"
            "  --rate N              N requests per second instead of captured timing\n"
            "  --concurrency N       at most N requests in flight per target\n"
            "Selection (docs/cli/replay.md):\n"
            "  --from T, --to T      a slice [from, to): an offset from the trace start (30s),\n"
            "                        a capture time in µs since the epoch (@1700000000123456)\n"
            "                        or a transaction id (#120)\n"
            "  --limit N             at most N transactions\n"
            "  --include 'M REGEX'   only requests whose method M (GET, GET|HEAD, *) and whole\n"
            "  --exclude 'M REGEX'   path match; repeatable\n"
            "  --sample P            P percent of connections (deterministic by connection id)\n"
            "  --shard I/N           shard I (0-based) of N, by connection id\n"
            "Rewrites:\n"
            "  --keep-host           keep the captured Host header (default: the target's)\n"
            "  --set-header '[TARGET=]Name: value'   replace or add a header; ${VAR} expands\n"
            "  --remove-header '[TARGET=]Name'      drop a header\n"
            "  --rewrite-path 'REGEX=REPLACEMENT'  rewrite the request target (\\1 groups)\n"
            "Limits and errors:\n"
            "  --timeout D           per request (default 30s)\n"
            "  --connect-timeout D   (default 5s)\n"
            "  --max-response SIZE   stop a response body beyond SIZE (default 256M)\n"
            "  --max-inline-body SIZE  keep larger bodies as SHA-256 and size (default 1M)\n"
            "  --fail-fast           stop at the first failed request (exit 1)\n"
            "Safety:\n"
            "  --allow-public-target replay at a target that resolves to a public address\n"
            "  --dry-run             print what would be sent; send nothing\n"
            "  --insecure            do not verify TLS certificates\n"
            "Running:\n"
            "  -o, --output RESULTS  the results file (.gz compresses)\n"
            "  --workers N           event-loop threads (default: CPUs, at most 8)\n"
            "  --window N            unfinished transactions per worker (default 1024)\n"
            "  --conn-idle D         close a target connection after D of captured idleness\n"
            "                        (default 60s)\n"
            "  -q, --quiet           no progress line and no summary\n"
            "\n"
            "Exit: 0 the replay ran (failed requests are data in RESULTS); 1 --fail-fast\n"
            "stopped it; 2 bad usage or input; 3 environment (cannot write RESULTS) or\n"
            "interrupted (SIGINT/SIGTERM: RESULTS holds what completed).\n");
}

enum {
    OPT_SPEED = 256, OPT_RATE, OPT_CONCURRENCY, OPT_FROM, OPT_TO, OPT_LIMIT, OPT_INCLUDE,
    OPT_EXCLUDE, OPT_SAMPLE, OPT_SHARD, OPT_KEEP_HOST, OPT_SET_HEADER, OPT_REMOVE_HEADER,
    OPT_REWRITE_PATH, OPT_TIMEOUT, OPT_CONNECT_TIMEOUT, OPT_MAX_RESPONSE, OPT_MAX_INLINE,
    OPT_FAIL_FAST, OPT_ALLOW_PUBLIC, OPT_DRY_RUN, OPT_INSECURE, OPT_WORKERS, OPT_WINDOW,
    OPT_CONN_IDLE, OPT_TARGET,
};

struct options {
    struct replay_config cfg;
    const char *speed_text, *from_text, *to_text, *shard_text;
    char split_shard[32]; /* "I/N" of a part made by `rehearse trace split` */
    double sample;
    bool allow_public, quiet, dry_run, keep_host;
    /* Header rules are applied in command-line order, after all targets are
     * known (a rule may name one). */
    struct replay_rule_text rules[MAX_RULES];
    size_t rule_count;
    const char *filters[2][SELECTION_MAX_RULES];
    size_t filter_count[2];
};

static int usage_from(const struct error *err)
{
    return cli_usage_error(CMD, "%s", err->message);
}

/* The options that shaped the run, for the results header. */
static int options_json(struct buf *b, const struct options *o, const struct selection *sel)
{
    struct replay_options_text t = {
        .from = o->from_text, .to = o->to_text, .shard = o->shard_text,
        .include = o->filters[0], .include_count = o->filter_count[0],
        .exclude = o->filters[1], .exclude_count = o->filter_count[1],
        .rules = o->rules, .rule_count = o->rule_count,
    };
    return replay_options_json(b, &o->cfg, sel, &t);
}

/* ------------------------------------------------------------ dry run */

static void print_escaped(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f || ch == '\\')
            fprintf(out, ch == '\\' ? "\\\\" : "\\x%02x", ch);
        else
            fputc(ch, out);
    }
}

static void print_dry_run(void *arg, const struct trace_tx *tx, size_t target_index,
                          const struct replay_target *t, const struct outgoing *o)
{
    FILE *out = arg;
    (void)target_index;
    fprintf(out, "%s %s ", t->name, o->method);
    if (o->target.data[0] == '/')
        fputs(t->base, out);
    print_escaped(out, o->target.data, o->target.len);
    fprintf(out, "  (tx %llu, conn %llu, HTTP/1.%u", (unsigned long long)tx->id,
            (unsigned long long)tx->conn, o->version_minor);
    if (o->body_len || o->chunked)
        fprintf(out, ", body %zu bytes%s", o->body_len, o->chunked ? " chunked" : "");
    if (o->redacted)
        fputs(", carries a redacted secret", out);
    fputs(")\n", out);
    for (size_t i = 0; i < o->header_count; i++) {
        fputs("  ", out);
        print_escaped(out, o->headers[i].name, o->headers[i].name_len);
        fputs(": ", out);
        print_escaped(out, o->headers[i].value, o->headers[i].value_len);
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------ progress */

static void format_duration(char *out, size_t size, double s)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, size, "%ld:%02ld", t / 60, t % 60);
}

static void show_progress(struct replay *r, const struct replay_config *c, double elapsed,
                          uint64_t *last_done, double *last_time)
{
    struct replay_progress p;
    char line[1024], eta[32] = "";
    size_t n = 0;
    double rate;

    replay_progress(r, &p);
    rate = elapsed > *last_time ? (double)(p.replayed - *last_done) / (elapsed - *last_time) : 0;
    *last_done = p.replayed;
    *last_time = elapsed;
    if (p.total_known || p.total)
        n += (size_t)snprintf(line + n, sizeof line - n, "replay: %llu/%llu",
                              (unsigned long long)p.replayed, (unsigned long long)p.total);
    else
        n += (size_t)snprintf(line + n, sizeof line - n, "replay: %llu",
                              (unsigned long long)p.replayed);
    n += (size_t)snprintf(line + n, sizeof line - n, "  %.0f tx/s  errors:", rate);
    for (size_t i = 0; i < p.target_count && n < sizeof line; i++)
        n += (size_t)snprintf(line + n, sizeof line - n, " %s %llu", c->targets[i].name,
                              (unsigned long long)p.errors[i]);
    if ((p.total_known || p.total) && rate > 0 && p.total > p.replayed) {
        format_duration(eta, sizeof eta, (double)(p.total - p.replayed) / rate);
        if (n < sizeof line)
            snprintf(line + n, sizeof line - n, "  ETA %s", eta);
    }
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
}

static void format_us(char *out, size_t size, uint64_t us)
{
    if (us >= 1000000)
        snprintf(out, size, "%.2fs", (double)us / 1e6);
    else if (us >= 1000)
        snprintf(out, size, "%.1fms", (double)us / 1e3);
    else
        snprintf(out, size, "%lluus", (unsigned long long)us);
}

static void print_summary(const struct replay_report *rep, bool dry_run)
{
    bool any_skip = false;
    double secs = (double)rep->duration_us / 1e6;

    fprintf(stderr, "rehearse replay: %s%llu transactions %s in %.1f s",
            rep->stop != REPLAY_COMPLETE ? "INTERRUPTED: " : "",
            (unsigned long long)rep->replayed, dry_run ? "shown (dry run, nothing sent)" : "replayed",
            secs);
    if (rep->unfinished)
        fprintf(stderr, ", %llu unfinished", (unsigned long long)rep->unfinished);
    for (int i = 0; i < SKIP_COUNT; i++) {
        if (!rep->skipped[i])
            continue;
        fprintf(stderr, "%s%s %llu", any_skip ? ", " : "; skipped: ", skip_reason_name(i),
                (unsigned long long)rep->skipped[i]);
        any_skip = true;
    }
    fputc('\n', stderr);
    if (dry_run)
        return;
    fprintf(stderr, "%-12s %9s %9s %9s %9s %9s %9s  %s\n", "target", "requests", "req/s", "p50",
            "p90", "p99", "max", "status / errors");
    for (size_t t = 0; t < rep->target_count; t++) {
        const struct replay_target_report *tr = &rep->targets[t];
        char p50[16], p90[16], p99[16], max[16];
        format_us(p50, sizeof p50, tr->latency_p50);
        format_us(p90, sizeof p90, tr->latency_p90);
        format_us(p99, sizeof p99, tr->latency_p99);
        format_us(max, sizeof max, tr->latency_max);
        fprintf(stderr, "%-12s %9llu %9.0f %9s %9s %9s %9s ", tr->name,
                (unsigned long long)tr->requests, secs > 0 ? (double)tr->requests / secs : 0.0,
                p50, p90, p99, max);
        for (int c = 0; c < REPLAY_STATUS_CLASSES; c++)
            if (tr->status[c])
                fprintf(stderr, " %s %llu", results_status_class_name((unsigned)c),
                        (unsigned long long)tr->status[c]);
        for (int e = 1; e < RESULT_ERROR_COUNT; e++)
            if (tr->errors[e])
                fprintf(stderr, " %s %llu", result_error_name(e),
                        (unsigned long long)tr->errors[e]);
        fputc('\n', stderr);
    }
    if (rep->redacted_sent)
        fprintf(stderr,
                "requests sent with a redacted secret: %llu — use --set-header to supply a "
                "staging credential\n",
                (unsigned long long)rep->redacted_sent);
    if (rep->stop == REPLAY_STOP_FAIL_FAST)
        fprintf(stderr, "stopped by --fail-fast: %s\n", rep->stop_message);
}

/* ------------------------------------------------------------ main */

static int parse(int argc, char **argv, struct options *o, struct selection *sel)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, OPT_TARGET},
        {"output", required_argument, NULL, 'o'},
        {"speed", required_argument, NULL, OPT_SPEED},
        {"rate", required_argument, NULL, OPT_RATE},
        {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"include", required_argument, NULL, OPT_INCLUDE},
        {"exclude", required_argument, NULL, OPT_EXCLUDE},
        {"sample", required_argument, NULL, OPT_SAMPLE},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"keep-host", no_argument, NULL, OPT_KEEP_HOST},
        {"set-header", required_argument, NULL, OPT_SET_HEADER},
        {"remove-header", required_argument, NULL, OPT_REMOVE_HEADER},
        {"rewrite-path", required_argument, NULL, OPT_REWRITE_PATH},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
        {"max-response", required_argument, NULL, OPT_MAX_RESPONSE},
        {"max-inline-body", required_argument, NULL, OPT_MAX_INLINE},
        {"fail-fast", no_argument, NULL, OPT_FAIL_FAST},
        {"allow-public-target", no_argument, NULL, OPT_ALLOW_PUBLIC},
        {"dry-run", no_argument, NULL, OPT_DRY_RUN},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"conn-idle", required_argument, NULL, OPT_CONN_IDLE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct replay_config *c = &o->cfg;
    struct error err;
    uint64_t u;
    int opt;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            return -1;
        case 'o':
            c->results_path = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case OPT_TARGET:
            if (c->target_count == RESULTS_MAX_TARGETS)
                return cli_usage_error(CMD, "--target: at most %d targets", RESULTS_MAX_TARGETS);
            if (target_parse(optarg, &c->targets[c->target_count], &err))
                return usage_from(&err);
            for (size_t i = 0; i < c->target_count; i++)
                if (strcmp(c->targets[i].name, c->targets[c->target_count].name) == 0)
                    return cli_usage_error(CMD, "--target: the name '%s' is used twice",
                                           c->targets[i].name);
            c->target_count++;
            break;
        case OPT_SPEED:
            o->speed_text = optarg;
            if (strcmp(optarg, "max") == 0) {
                c->speed = 0;
            } else if (!cli_parse_double(CMD, "--speed", optarg, &c->speed)) {
                return EXIT_BAD_INPUT;
            } else if (c->speed <= 0) {
                return cli_usage_error(CMD, "--speed: expected a factor above 0 or 'max', found "
                                            "'%s'", optarg);
            }
            break;
        case OPT_RATE:
            if (!cli_parse_double(CMD, "--rate", optarg, &c->rate))
                return EXIT_BAD_INPUT;
            if (c->rate <= 0)
                return cli_usage_error(CMD, "--rate: expected requests per second above 0");
            break;
        case OPT_CONCURRENCY:
            if (!cli_parse_u64(CMD, "--concurrency", optarg, &u))
                return EXIT_BAD_INPUT;
            if (u == 0 || u > 1000000)
                return cli_usage_error(CMD, "--concurrency: expected 1 to 1000000");
            c->concurrency = (unsigned)u;
            break;
        case OPT_FROM:
        case OPT_TO:
            if (bound_parse(opt == OPT_FROM ? "--from" : "--to", optarg,
                            opt == OPT_FROM ? &sel->from : &sel->to, &err))
                return usage_from(&err);
            *(opt == OPT_FROM ? &o->from_text : &o->to_text) = optarg;
            break;
        case OPT_LIMIT:
            if (!cli_parse_u64(CMD, "--limit", optarg, &c->limit))
                return EXIT_BAD_INPUT;
            if (c->limit == 0)
                return cli_usage_error(CMD, "--limit: expected at least 1");
            break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE: {
            int k = opt == OPT_EXCLUDE;
            if (selection_add_filter(sel, k == 0, optarg, &err))
                return usage_from(&err);
            o->filters[k][o->filter_count[k]++] = optarg;
            break;
        }
        case OPT_SAMPLE:
            if (!cli_parse_double(CMD, "--sample", optarg, &o->sample))
                return EXIT_BAD_INPUT;
            if (selection_set_sample(sel, o->sample, &err))
                return usage_from(&err);
            break;
        case OPT_SHARD:
            if (selection_set_shard(sel, optarg, &err))
                return usage_from(&err);
            o->shard_text = optarg;
            break;
        case OPT_KEEP_HOST:
            o->keep_host = true;
            break;
        case OPT_SET_HEADER:
        case OPT_REMOVE_HEADER:
        case OPT_REWRITE_PATH:
            if (o->rule_count == MAX_RULES)
                return cli_usage_error(CMD, "at most %d rewrite rules", MAX_RULES);
            o->rules[o->rule_count++] = (struct replay_rule_text){
                opt == OPT_SET_HEADER      ? REPLAY_RULE_SET_HEADER
                : opt == OPT_REMOVE_HEADER ? REPLAY_RULE_REMOVE_HEADER
                                           : REPLAY_RULE_REWRITE_PATH,
                optarg};
            break;
        case OPT_TIMEOUT:
        case OPT_CONNECT_TIMEOUT:
        case OPT_CONN_IDLE: {
            const char *name = opt == OPT_TIMEOUT           ? "--timeout"
                               : opt == OPT_CONNECT_TIMEOUT ? "--connect-timeout"
                                                            : "--conn-idle";
            int64_t *dst = opt == OPT_TIMEOUT           ? &c->timeout_us
                           : opt == OPT_CONNECT_TIMEOUT ? &c->connect_timeout_us
                                                        : &c->conn_idle_us;
            if (!cli_parse_duration_us(CMD, name, optarg, dst))
                return EXIT_BAD_INPUT;
            if (*dst < 1000 && opt != OPT_CONN_IDLE)
                return cli_usage_error(CMD, "%s: expected at least 1ms", name);
            break;
        }
        case OPT_MAX_RESPONSE:
            if (!cli_parse_size(CMD, "--max-response", optarg, &c->max_response))
                return EXIT_BAD_INPUT;
            if (c->max_response == 0)
                return cli_usage_error(CMD, "--max-response: expected a size above 0");
            break;
        case OPT_MAX_INLINE:
            if (!cli_parse_size(CMD, "--max-inline-body", optarg, &c->max_inline_body))
                return EXIT_BAD_INPUT;
            break;
        case OPT_FAIL_FAST:
            c->fail_fast = true;
            break;
        case OPT_ALLOW_PUBLIC:
            o->allow_public = true;
            break;
        case OPT_DRY_RUN:
            o->dry_run = true;
            break;
        case OPT_INSECURE:
            c->insecure = true;
            break;
        case OPT_WORKERS:
        case OPT_WINDOW:
            if (!cli_parse_u64(CMD, opt == OPT_WORKERS ? "--workers" : "--window", optarg, &u))
                return EXIT_BAD_INPUT;
            if (u == 0 || u > (opt == OPT_WORKERS ? 256u : 1000000u))
                return cli_usage_error(CMD, "%s: expected 1 to %u",
                                       opt == OPT_WORKERS ? "--workers" : "--window",
                                       opt == OPT_WORKERS ? 256u : 1000000u);
            *(opt == OPT_WORKERS ? &c->workers : &c->window) = (unsigned)u;
            break;
        default:
            return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(CMD, optind >= argc ? "expected a TRACE file"
                                                   : "expected one TRACE file, found '%s' too",
                               optind < argc - 1 ? argv[optind + 1] : "");
    c->trace_path = argv[optind];
    if (c->target_count == 0)
        return cli_usage_error(CMD, "expected at least one --target NAME=URL, such as "
                                    "--target old=http://127.0.0.1:8081");
    if (!c->results_path && !o->dry_run)
        return cli_usage_error(CMD, "expected -o RESULTS (or --dry-run)");
    if (c->rate > 0 && o->speed_text)
        return cli_usage_error(CMD, "--rate and --speed exclude each other: --rate sets its "
                                    "own timing");
    return 0;
}

/* A part made by `rehearse trace split` is replayed as its shard without
 * --shard.  (Standard input cannot be read twice: there --shard is needed,
 * and the replay says so.)  An unreadable trace is left to the replay to
 * report. */
static void adopt_split(struct options *o, struct selection *sel)
{
    struct trace_reader *reader;
    struct error ignored;

    if (o->shard_text || strcmp(o->cfg.trace_path, "-") == 0 ||
        trace_reader_open(&reader, o->cfg.trace_path, 0, &ignored))
        return;
    const struct trace_header *h = trace_reader_header(reader);
    if (h->split_count) {
        snprintf(o->split_shard, sizeof o->split_shard, "%u/%u", h->split_index, h->split_count);
        if (selection_set_shard(sel, o->split_shard, &ignored) == 0)
            o->shard_text = o->split_shard;
    }
    trace_reader_close(reader);
}

/* Apply the rewrite rules in command-line order, now that targets are known. */
static int build_rules(struct options *o, struct rewrite_rules *rules)
{
    struct error err;
    error_init(&err);
    if (replay_rules_add(rules, o->rules, o->rule_count, o->cfg.targets, o->cfg.target_count,
                         &err))
        return usage_from(&err);
    return 0;
}

/* Target connections need file descriptors: use what the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int run(struct options *o)
{
    struct replay_config *c = &o->cfg;
    struct replay_report *rep = NULL;
    struct replay *r = NULL;
    struct error err;
    sigset_t mask, old;
    int sfd = -1, rc, exit_code;
    bool tty = isatty(2) && !o->quiet;
    bool interrupted_once = false;
    uint64_t last_done = 0;
    double last_time = 0;
    int64_t started = now_mono_us();

    error_init(&err);
    for (size_t i = 0; i < c->target_count; i++) {
        if (target_resolve(&c->targets[i], o->allow_public, &err))
            return cli_report(CMD, &err);
        if (c->targets[i].public_address && !o->quiet)
            fprintf(stderr,
                    "rehearse replay: warning: target %s resolves to the public address %s "
                    "(allowed by --allow-public-target)\n",
                    c->targets[i].name, c->targets[i].public_example);
    }
    if (o->dry_run) {
        c->dry_run = print_dry_run;
        c->dry_run_arg = stdout;
    }
    raise_fd_limit();

    /* SIGINT/SIGTERM arrive on a signalfd; every thread blocks them */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &mask, &old);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        error_errno(&err, ERR_ENV, errno, "cannot create a signalfd");
        exit_code = cli_report(CMD, &err);
        goto out;
    }
    if ((rc = replay_start(&r, c, &err))) {
        exit_code = cli_report(CMD, &err);
        goto out;
    }
    for (;;) {
        struct pollfd fds[2] = {{replay_done_fd(r), POLLIN, 0}, {sfd, POLLIN, 0}};
        int n = poll(fds, 2, tty ? 250 : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (!interrupted_once && !o->quiet)
                    fprintf(stderr, "%srehearse replay: interrupted; waiting up to %.0f s for "
                                    "requests in flight (signal again to abort them)\n",
                            tty ? "\r\033[K" : "", (double)c->grace_us / 1e6);
                interrupted_once = true;
                replay_stop(r);
            }
        }
        if (fds[0].revents & POLLIN)
            break;
        if (tty)
            show_progress(r, c, (double)(now_mono_us() - started) / 1e6, &last_done,
                          &last_time);
    }
    if (tty)
        fputs("\r\033[K", stderr);
    rep = malloc(sizeof *rep);
    if (!rep) {
        error_set(&err, ERR_NOMEM, "out of memory");
        exit_code = cli_report(CMD, &err);
        goto out;
    }
    rc = replay_finish(r, rep, &err);
    r = NULL;
    if (o->dry_run)
        rc = rc ? rc : cli_finish_stdout(CMD) ? ERR_IO : 0;
    if (!o->quiet)
        print_summary(rep, o->dry_run);
    if (rc)
        exit_code = cli_report(CMD, &err);
    else if (rep->stop == REPLAY_STOP_FAIL_FAST)
        exit_code = EXIT_FINDINGS;
    else if (rep->stop == REPLAY_STOP_SIGNAL)
        exit_code = error_exit_code(ERR_INTERRUPTED);
    else
        exit_code = EXIT_OK;
out:
    free(rep);
    if (sfd >= 0)
        close(sfd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return exit_code;
}

int cmd_replay(int argc, char **argv)
{
    struct options *o = calloc(1, sizeof *o);
    struct selection sel;
    struct rewrite_rules rules;
    struct buf opts;
    int rc;

    if (!o) {
        fprintf(stderr, "rehearse replay: out of memory\n");
        return EXIT_ENVIRONMENT;
    }
    replay_config_init(&o->cfg);
    selection_init(&sel);
    rewrite_init(&rules);
    buf_init(&opts, 1 << 20);
    o->cfg.rules = &rules;
    o->cfg.selection = &sel;
    rc = parse(argc, argv, o, &sel);
    if (rc < 0) {
        rc = cli_finish_stdout(CMD);
        goto out;
    }
    rules.keep_host = o->keep_host;
    if (rc || (rc = build_rules(o, &rules)))
        goto out;
    adopt_split(o, &sel);
    if (options_json(&opts, o, &sel)) {
        rc = cli_usage_error(CMD, "the options are too long to record");
        goto out;
    }
    o->cfg.options_json = opts.data;
    rc = run(o);
out:
    buf_release(&opts);
    rewrite_release(&rules);
    selection_release(&sel);
    free(o);
    return rc;
}
