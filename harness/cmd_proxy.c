/*
 * cmd_proxy.c — `rehearse proxy`: the fault proxy standalone, in the
 * foreground, for manual use.  Links and toxics come from the command line;
 * toxics can be changed while it runs with commands on standard input; it
 * stops on SIGINT or SIGTERM and prints each link's counters.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "fault_proxy.h"

#define CMD "proxy"
#define LINE_MAX_BYTES 4096

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse proxy --listen HOST:PORT --upstream HOST:PORT [--name NAME]\n"
            "                      [--toxic SPEC]... [(--listen ... --upstream ...)...]\n"
            "                      [--seed N] [--buffer SIZE]\n"
            "\n"
            "Relay TCP connections from each listening address to its upstream, injecting\n"
            "network faults (toxics, with Toxiproxy's meanings).  Runs in the foreground\n"
            "until SIGINT or SIGTERM, then prints each link's counters.\n"
            "\n"
            "  --listen HOST:PORT    start a link listening here (port 0: a free port;\n"
            "                        the 'link' line printed at start says which)\n"
            "  --upstream HOST:PORT  where the link's connections go\n"
            "  --name NAME           the link's name (default link1, link2, ...)\n"
            "  --toxic SPEC          add a toxic to the link started last:\n"
            "                        [upstream:|downstream:]TYPE[:KEY=VALUE,...]\n"
            "                        e.g. 'latency:latency=200,jitter=20',\n"
            "                        'upstream:bandwidth:rate=100', 'down'\n"
            "  --seed N              seed of the per-connection toxicity draws\n"
            "                        (default: random; printed at start)\n"
            "  --buffer SIZE         buffering per connection and direction (default 256k)\n"
            "\n"
            "Toxics (see docs/cli/proxy.md): latency (latency, jitter ms), bandwidth (rate\n"
            "KB/s), slow_close (delay ms), timeout (timeout ms, 0 = until removed),\n"
            "reset_peer (timeout ms), slicer (average_size, size_variation bytes, delay us),\n"
            "limit_data (bytes), down.  Every toxic also takes toxicity=P (0..1) and\n"
            "name=NAME (default TYPE_STREAM).  The stream defaults to downstream.\n"
            "\n"
            "Commands on standard input, one per line (LINK may be left out when there is\n"
            "one link): [LINK] add SPEC | [LINK] update SPEC | [LINK] remove NAME |\n"
            "[LINK] down | [LINK] up | [LINK] list | stats | help\n");
}

struct link_arg {
    const char *listen;
    const char *upstream;
    char name[FAULT_PROXY_LINK_NAME_MAX];
    const char *toxics[FAULT_PROXY_TOXICS_MAX];
    size_t ntoxics;
};

static void print_stats(struct fault_proxy *p)
{
    const char *names[FAULT_PROXY_LINKS_MAX];
    size_t n = fault_proxy_links(p, names, FAULT_PROXY_LINKS_MAX);
    for (size_t i = 0; i < n && i < FAULT_PROXY_LINKS_MAX; i++) {
        struct fault_link_stats s;
        struct error err;
        error_init(&err);
        if (fault_proxy_link_stats(p, names[i], &s, &err))
            continue;
        printf("stats %s connections=%" PRIu64 " open=%" PRIu64 " bytes_upstream=%" PRIu64
               " bytes_downstream=%" PRIu64 " bytes_dropped=%" PRIu64 " toxics_applied=%" PRIu64
               " closed_by_toxics=%" PRIu64 " reset_by_toxics=%" PRIu64
               " upstream_failures=%" PRIu64 "\n",
               names[i], s.connections_total, s.connections_open, s.bytes_upstream,
               s.bytes_downstream, s.bytes_dropped, s.toxics_applied, s.closed_by_toxics,
               s.reset_by_toxics, s.upstream_failures);
    }
}

static void print_effect(const char *verb, const char *link, const char *what,
                         const struct fault_effect *e)
{
    printf("ok %s %s %s (open connections %u, affected %u, closed %u)\n", link, verb, what,
           e->connections_open, e->connections_affected, e->connections_closed);
}

/* One line from standard input. */
static void run_command(struct fault_proxy *p, char *line)
{
    const char *names[FAULT_PROXY_LINKS_MAX];
    size_t nlinks = fault_proxy_links(p, names, FAULT_PROXY_LINKS_MAX);
    char *words[3] = {NULL, NULL, NULL};
    const char *link = nlinks == 1 ? names[0] : NULL;
    struct fault_effect effect;
    struct fault_toxic t;
    struct error err;
    size_t nw = 0;
    int rc = 0;

    error_init(&err);
    for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w && nw < 3;
         w = strtok_r(NULL, " \t\r", &save))
        words[nw++] = w;
    if (nw == 0)
        return;
    for (size_t i = 0; i < nlinks && i < FAULT_PROXY_LINKS_MAX; i++) {
        if (strcmp(words[0], names[i]) == 0) {
            link = names[i];
            memmove(words, words + 1, 2 * sizeof words[0]);
            words[2] = NULL;
            nw--;
            break;
        }
    }
    if (nw == 0 || strcmp(words[0], "help") == 0) {
        printf("commands: [LINK] add SPEC | [LINK] update SPEC | [LINK] remove NAME | "
               "[LINK] down | [LINK] up | [LINK] list | stats\n");
        goto out;
    }
    if (strcmp(words[0], "stats") == 0) {
        print_stats(p);
        goto out;
    }
    if (!link) {
        fprintf(stderr, "rehearse proxy: '%s': say which link (one of", words[0]);
        for (size_t i = 0; i < nlinks && i < FAULT_PROXY_LINKS_MAX; i++)
            fprintf(stderr, " %s", names[i]);
        fprintf(stderr, "), e.g. '%s %s ...'\n", names[0], words[0]);
        goto out;
    }
    if ((strcmp(words[0], "add") == 0 || strcmp(words[0], "update") == 0) && nw == 2) {
        char canon[FAULT_TOXIC_SPEC_MAX];
        bool add = words[0][0] == 'a';
        rc = fault_toxic_parse(&t, words[1], &err);
        if (!rc)
            rc = add ? fault_proxy_add_toxic(p, link, &t, 0, &effect, &err)
                     : fault_proxy_update_toxic(p, link, &t, 0, &effect, &err);
        if (!rc) {
            fault_toxic_format(&t, canon, sizeof canon);
            print_effect(add ? "added" : "updated", link, canon, &effect);
        }
    } else if (strcmp(words[0], "remove") == 0 && nw == 2) {
        rc = fault_proxy_remove_toxic(p, link, words[1], 0, &effect, &err);
        if (!rc)
            print_effect("removed", link, words[1], &effect);
    } else if ((strcmp(words[0], "down") == 0 || strcmp(words[0], "up") == 0) && nw == 1) {
        bool down = words[0][0] == 'd';
        rc = fault_proxy_set_down(p, link, down, 0, &effect, &err);
        if (!rc)
            print_effect(down ? "down" : "up", link, "link", &effect);
    } else if (strcmp(words[0], "list") == 0 && nw == 1) {
        struct fault_toxic list[FAULT_PROXY_TOXICS_MAX];
        size_t count;
        rc = fault_proxy_list_toxics(p, link, list, FAULT_PROXY_TOXICS_MAX, &count, &err);
        for (size_t i = 0; !rc && i < count && i < FAULT_PROXY_TOXICS_MAX; i++) {
            char canon[FAULT_TOXIC_SPEC_MAX];
            fault_toxic_format(&list[i], canon, sizeof canon);
            printf("toxic %s %s\n", link, canon);
        }
        if (!rc)
            printf("ok %s list %zu toxics\n", link, count);
    } else {
        fprintf(stderr, "rehearse proxy: unknown command '%s%s%s'; try 'help'\n", words[0],
                nw > 1 ? " " : "", nw > 1 ? words[1] : "");
    }
    if (rc)
        cli_report(CMD, &err);
out:
    fflush(stdout);
}

/* Serve until a signal.  Standard input is read for commands until EOF. */
static int serve(struct fault_proxy *p, int sigfd)
{
    char line[LINE_MAX_BYTES];
    size_t len = 0;
    bool stdin_open = true, skipping = false;

    for (;;) {
        struct pollfd fds[2] = {{sigfd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return EXIT_ENVIRONMENT;
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
                return EXIT_OK;
        }
        if (!(fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t n = read(0, line + len, sizeof line - len);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            stdin_open = false; /* no more commands; keep serving */
            continue;
        }
        len += (size_t)n;
        for (char *nl; (nl = memchr(line, '\n', len));) {
            *nl = '\0';
            if (!skipping)
                run_command(p, line);
            skipping = false;
            len -= (size_t)(nl + 1 - line);
            memmove(line, nl + 1, len);
        }
        if (len == sizeof line) {
            fprintf(stderr, "rehearse proxy: command line longer than %d bytes ignored\n",
                    LINE_MAX_BYTES);
            skipping = true;
            len = 0;
        }
    }
}

int cmd_proxy(int argc, char **argv)
{
    static const struct option options[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"name", required_argument, NULL, 'n'},
        {"toxic", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"buffer", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct link_arg links[FAULT_PROXY_LINKS_MAX];
    size_t nlinks = 0;
    struct fault_proxy_options popts = {0};
    struct fault_proxy *proxy = NULL;
    struct error err;
    sigset_t sigs;
    int opt, rc = EXIT_OK, sigfd = -1;
    uint64_t value;

    error_init(&err);
    memset(links, 0, sizeof links);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        struct link_arg *cur = nlinks ? &links[nlinks - 1] : NULL;
        switch (opt) {
        case 'l':
            if (nlinks == FAULT_PROXY_LINKS_MAX)
                return cli_usage_error(CMD, "at most %d links", FAULT_PROXY_LINKS_MAX);
            if (cur && !cur->upstream)
                return cli_usage_error(CMD, "--listen '%s' has no --upstream", cur->listen);
            cur = &links[nlinks++];
            cur->listen = optarg;
            snprintf(cur->name, sizeof cur->name, "link%zu", nlinks);
            break;
        case 'u':
            if (!cur || cur->upstream)
                return cli_usage_error(CMD, "--upstream '%s' must follow its own --listen",
                                       optarg);
            cur->upstream = optarg;
            break;
        case 'n':
            if (!cur)
                return cli_usage_error(CMD, "--name '%s' must follow the --listen it names",
                                       optarg);
            if (!*optarg || strlen(optarg) >= sizeof cur->name || strpbrk(optarg, " \t"))
                return cli_usage_error(CMD, "--name '%s': expected 1 to %zu characters, "
                                       "no spaces", optarg, sizeof cur->name - 1);
            snprintf(cur->name, sizeof cur->name, "%s", optarg);
            break;
        case 't': {
            struct fault_toxic t;
            if (!cur)
                return cli_usage_error(CMD, "--toxic '%s' must follow the --listen and "
                                       "--upstream of the link it applies to", optarg);
            if (cur->ntoxics == FAULT_PROXY_TOXICS_MAX)
                return cli_usage_error(CMD, "at most %d toxics per link", FAULT_PROXY_TOXICS_MAX);
            if (fault_toxic_parse(&t, optarg, &err))
                return cli_usage_error(CMD, "--toxic: %s", err.message);
            cur->toxics[cur->ntoxics++] = optarg;
            break;
        }
        case 's':
            if (!cli_parse_u64(CMD, "--seed", optarg, &value))
                return EXIT_BAD_INPUT;
            popts.has_seed = true;
            popts.seed = value;
            break;
        case 'b':
            if (!cli_parse_size(CMD, "--buffer", optarg, &value))
                return EXIT_BAD_INPUT;
            if (value < 1024 || value > ((uint64_t)1 << 30))
                return cli_usage_error(CMD, "--buffer: expected 1k to 1G, found '%s'", optarg);
            popts.buffer_max = (size_t)value;
            break;
        case 'h':
            usage(stdout);
            return cli_finish_stdout(CMD);
        default:
            return cli_usage_error(CMD, "invalid option");
        }
    }
    if (optind < argc)
        return cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (nlinks == 0)
        return cli_usage_error(CMD, "expected --listen HOST:PORT --upstream HOST:PORT");
    if (!links[nlinks - 1].upstream)
        return cli_usage_error(CMD, "--listen '%s' has no --upstream", links[nlinks - 1].listen);
    for (size_t i = 0; i < nlinks; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(links[i].name, links[j].name) == 0)
                return cli_usage_error(CMD, "two links are named '%s'", links[i].name);

    /* Signals are taken through a signalfd; the proxy thread blocks them all. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sigfd < 0) {
        error_errno(&err, ERR_ENV, errno, "cannot watch for signals");
        rc = cli_report(CMD, &err);
        goto out;
    }
    if (fault_proxy_new(&proxy, &popts, &err)) {
        rc = cli_report(CMD, &err);
        goto out;
    }
    printf("seed %" PRIu64 "\n", fault_proxy_seed(proxy));
    for (size_t i = 0; i < nlinks; i++) {
        char bound[FAULT_PROXY_ADDRESS_MAX];
        if (fault_proxy_add_link(proxy, links[i].name, links[i].listen, links[i].upstream, 0,
                                 &err) ||
            fault_proxy_link_address(proxy, links[i].name, bound, sizeof bound, &err)) {
            rc = cli_report(CMD, &err);
            goto out;
        }
        printf("link %s %s -> %s\n", links[i].name, bound, links[i].upstream);
        for (size_t j = 0; j < links[i].ntoxics; j++) {
            struct fault_toxic t;
            char canon[FAULT_TOXIC_SPEC_MAX];
            fault_toxic_parse(&t, links[i].toxics[j], &err); /* checked above */
            if (fault_proxy_add_toxic(proxy, links[i].name, &t, 0, NULL, &err)) {
                error_prefix(&err, "--toxic '%s'", links[i].toxics[j]);
                rc = cli_report(CMD, &err);
                goto out;
            }
            fault_toxic_format(&t, canon, sizeof canon);
            printf("toxic %s %s\n", links[i].name, canon);
        }
    }
    printf("ready\n");
    if ((rc = cli_finish_stdout(CMD)))
        goto out;
    rc = serve(proxy, sigfd);
    print_stats(proxy);
    if (rc == EXIT_OK)
        rc = cli_finish_stdout(CMD);
out:
    fault_proxy_free(proxy);
    if (sigfd >= 0)
        close(sigfd);
    return rc;
}
