/*
 * cmd_diff.c — `rehearse diff RESULTS... --base old --candidate new
 * [--noise old2] [--rules RULES.json] -o DIFF.json`: the response diff
 * (reports/respdiff.h) with its options parsed, and the verdict printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "respdiff.h"

#define CMD "diff"
#define MAX_KEY_FILE (1 << 16)

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse diff RESULTS... [--base NAME] [--candidate NAME] [--noise NAME]\n"
            "                     [--rules RULES.json] -o DIFF.json [OPTIONS]\n"
            "\n"
            "Compare what two targets of a replay answered, transaction by transaction:\n"
            "status, headers (Content-Type, and those the rules name) and bodies, decoded\n"
            "(gzip, deflate, charset) and compared as JSON (structurally, under the rules),\n"
            "text (by line) or bytes. With --noise, a difference at a field that also\n"
            "differed between the base and the noise reference on the same transaction is\n"
            "noise (Diffy's method). Writes DIFF.json (docs/diff-format.md), secrets redacted.\n"
            "\n"
            "RESULTS are results files of one replay: one file, or its shards.\n"
            "\n"
            "Targets:\n"
            "  --base NAME              the reference (default: the first target)\n"
            "  --candidate NAME         the version under test (default: the second)\n"
            "  --noise NAME             a second replay against the base version\n"
            "  --rules FILE             ignored paths and headers, array keys, tolerances,\n"
            "                           templates, redaction (docs/rules-format.md)\n"
            "  -o, --output FILE        where to write DIFF.json (required; '-' standard\n"
            "                           output, a name ending in .gz compressed)\n"
            "\n"
            "Thresholds (what makes a regression; defaults as shown):\n"
            "  --threshold-relative X   |raw - noise| / (raw + noise) above X (0.2)\n"
            "  --threshold-absolute X   |raw - noise| / compared above X (0.0003)\n"
            "  --threshold-status X     status mismatch rate above X (0)\n"
            "  --threshold-error-rate X candidate minus base error rate above X (0)\n"
            "  --threshold-latency-p99 X  candidate p99 / base p99 above X (off)\n"
            "\n"
            "Caps (the output stays small whatever the input):\n"
            "  --max-endpoints N        endpoints tracked (1000); the rest: \"(other)\"\n"
            "  --max-fields N           fields per endpoint (200)\n"
            "  --max-examples N         examples per endpoint (5, at most 64)\n"
            "  --max-examples-per-field N  (3, at most 16)\n"
            "  --max-example-body SIZE  body bytes shown per example (64k)\n"
            "  --max-paths N            paths listed per example (100)\n"
            "  --max-reasons N          reasons listed in the verdict (1000)\n"
            "  --max-body SIZE          a body is decoded up to SIZE (64M); more is capped\n"
            "  --max-differences N      differences kept per comparison (1000)\n"
            "\n"
            "  --redact-key FILE        key for the redaction fingerprints (default: random\n"
            "                           per run); the same key gives the same DIFF.json\n"
            "  -q, --quiet              print nothing\n"
            "  -h, --help               this help\n"
            "\n"
            "Exit: 0 no regression; 1 regressions, or nothing could be compared; 2 bad\n"
            "input or usage (the error says where); 3 cannot read or write.\n");
}

enum {
    OPT_BASE = 256, OPT_CANDIDATE, OPT_NOISE, OPT_RULES, OPT_REL, OPT_ABS, OPT_STATUS,
    OPT_ERRORS, OPT_LATENCY, OPT_ENDPOINTS, OPT_FIELDS, OPT_EXAMPLES, OPT_FIELD_EXAMPLES,
    OPT_EXAMPLE_BODY, OPT_PATHS, OPT_REASONS, OPT_BODY, OPT_DIFFERENCES, OPT_KEY,
};

static bool threshold(const char *option, const char *text, double *out)
{
    if (!cli_parse_double(CMD, option, text, out))
        return false;
    if (*out < 0) {
        cli_usage_error(CMD, "%s: expected a number of 0 or more, found '%s'", option, text);
        return false;
    }
    return true;
}

static bool count(const char *option, const char *text, uint64_t min, uint64_t max, size_t *out)
{
    uint64_t v;
    if (!cli_parse_u64(CMD, option, text, &v))
        return false;
    if (v < min || v > max) {
        cli_usage_error(CMD, "%s: expected %llu to %llu, found '%s'", option,
                        (unsigned long long)min, (unsigned long long)max, text);
        return false;
    }
    *out = (size_t)v;
    return true;
}

static bool size_opt(const char *option, const char *text, uint64_t min, size_t *out)
{
    uint64_t v;
    if (!cli_parse_size(CMD, option, text, &v))
        return false;
    if (v < min || v > ((uint64_t)1 << 34)) {
        cli_usage_error(CMD, "%s: expected %llu bytes to 16G, found '%s'", option,
                        (unsigned long long)min, text);
        return false;
    }
    *out = (size_t)v;
    return true;
}

/* The key file's bytes (at most 64 KiB, at least 1). */
static int read_key(const char *path, unsigned char *key, size_t *len, struct error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_errno(err, ERR_INPUT, errno, "--redact-key: cannot open '%s'", path);
    *len = fread(key, 1, MAX_KEY_FILE, f);
    if (ferror(f)) {
        fclose(f);
        return error_errno(err, ERR_IO, errno, "--redact-key: cannot read '%s'", path);
    }
    fclose(f);
    if (*len == 0)
        return error_set(err, ERR_INPUT, "--redact-key: '%s' is empty; put a secret in it",
                         path);
    return 0;
}

int cmd_diff(int argc, char **argv)
{
    static const struct option options[] = {
        {"base", required_argument, NULL, OPT_BASE},
        {"candidate", required_argument, NULL, OPT_CANDIDATE},
        {"noise", required_argument, NULL, OPT_NOISE},
        {"rules", required_argument, NULL, OPT_RULES},
        {"output", required_argument, NULL, 'o'},
        {"threshold-relative", required_argument, NULL, OPT_REL},
        {"threshold-absolute", required_argument, NULL, OPT_ABS},
        {"threshold-status", required_argument, NULL, OPT_STATUS},
        {"threshold-error-rate", required_argument, NULL, OPT_ERRORS},
        {"threshold-latency-p99", required_argument, NULL, OPT_LATENCY},
        {"max-endpoints", required_argument, NULL, OPT_ENDPOINTS},
        {"max-fields", required_argument, NULL, OPT_FIELDS},
        {"max-examples", required_argument, NULL, OPT_EXAMPLES},
        {"max-examples-per-field", required_argument, NULL, OPT_FIELD_EXAMPLES},
        {"max-example-body", required_argument, NULL, OPT_EXAMPLE_BODY},
        {"max-paths", required_argument, NULL, OPT_PATHS},
        {"max-reasons", required_argument, NULL, OPT_REASONS},
        {"max-body", required_argument, NULL, OPT_BODY},
        {"max-differences", required_argument, NULL, OPT_DIFFERENCES},
        {"redact-key", required_argument, NULL, OPT_KEY},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static unsigned char key[MAX_KEY_FILE];
    struct respdiff_options o;
    struct respdiff_result res;
    struct error err;
    const char *key_path = NULL;
    size_t key_len = 0;
    bool quiet = false;
    int opt, rc;

    respdiff_options_init(&o);
    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:qh", options, NULL)) != -1) {
        bool ok = true;
        switch (opt) {
        case OPT_BASE: o.base = optarg; break;
        case OPT_CANDIDATE: o.candidate = optarg; break;
        case OPT_NOISE: o.noise = optarg; break;
        case OPT_RULES: o.rules_path = optarg; break;
        case 'o': o.output = optarg; break;
        case OPT_REL: ok = threshold("--threshold-relative", optarg, &o.thresholds.relative); break;
        case OPT_ABS: ok = threshold("--threshold-absolute", optarg, &o.thresholds.absolute); break;
        case OPT_STATUS: ok = threshold("--threshold-status", optarg, &o.thresholds.status); break;
        case OPT_ERRORS:
            ok = threshold("--threshold-error-rate", optarg, &o.thresholds.error_rate);
            break;
        case OPT_LATENCY:
            ok = threshold("--threshold-latency-p99", optarg, &o.thresholds.latency_p99_ratio);
            break;
        case OPT_ENDPOINTS:
            ok = count("--max-endpoints", optarg, 1, 1000000, &o.caps.endpoints);
            break;
        case OPT_FIELDS:
            ok = count("--max-fields", optarg, 1, 100000, &o.caps.fields_per_endpoint);
            break;
        case OPT_EXAMPLES:
            ok = count("--max-examples", optarg, 0, DSTATS_MAX_EXAMPLES,
                       &o.caps.examples_per_endpoint);
            break;
        case OPT_FIELD_EXAMPLES:
            ok = count("--max-examples-per-field", optarg, 0, DSTATS_MAX_FIELD_EXAMPLES,
                       &o.caps.examples_per_field);
            break;
        case OPT_EXAMPLE_BODY:
            ok = size_opt("--max-example-body", optarg, 16, &o.caps.example_body_bytes);
            break;
        case OPT_PATHS: ok = count("--max-paths", optarg, 1, 100000, &o.caps.paths_per_example); break;
        case OPT_REASONS: ok = count("--max-reasons", optarg, 1, 10000000, &o.caps.reasons); break;
        case OPT_BODY: ok = size_opt("--max-body", optarg, 1024, &o.max_decoded); break;
        case OPT_DIFFERENCES:
            ok = count("--max-differences", optarg, 1, 10000000, &o.max_differences);
            break;
        case OPT_KEY: key_path = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        default: return cli_usage_error(CMD, "invalid option");
        }
        if (!ok)
            return EXIT_BAD_INPUT;
    }
    if (optind >= argc)
        return cli_usage_error(CMD, "expected one or more results files (from 'rehearse replay')");
    if (!o.output)
        return cli_usage_error(CMD, "-o DIFF.json is required: where to write the diff");
    if (strcmp(o.output, "-") == 0)
        quiet = true; /* the diff itself goes to standard output */
    o.results = (const char *const *)argv + optind;
    o.nresults = (size_t)(argc - optind);
    o.argc = argc;
    o.argv = argv;
    if (key_path) {
        if (read_key(key_path, key, &key_len, &err))
            return cli_report(CMD, &err);
        o.redact_key = key;
        o.redact_key_len = key_len;
    }
    rc = respdiff_run(&o, &res, &err);
    memset(key, 0, sizeof key);
    if (rc)
        return cli_report(CMD, &err);
    if (!quiet) {
        printf("%s: %s\n", res.verdict, res.summary);
        printf("wrote %s: %llu transactions, %llu compared, %zu endpoints\n", o.output,
               (unsigned long long)res.transactions, (unsigned long long)res.compared,
               res.endpoints);
        if (cli_finish_stdout(CMD))
            return EXIT_ENVIRONMENT;
    }
    return res.exit_code;
}
