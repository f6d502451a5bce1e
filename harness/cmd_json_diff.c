/*
 * cmd_json_diff.c — `rehearse json-diff A.json B.json`: the RFC 6902 patch
 * from A to B, or the list of differences, optionally under a rules file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "diff_rules.h"
#include "jdoc.h"
#include "json_diff.h"
#include "json_opts.h"
#include "jsonw.h"

#define CMD "json-diff"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rehearse json-diff [OPTIONS] A.json B.json\n"
            "\n"
            "Compare two JSON documents structurally and print the RFC 6902 JSON Patch\n"
            "that turns A into B: one operation per line, at the deepest path that\n"
            "differs; arrays by index, with insertions and removals found as such.\n"
            "Numbers compare by value (1 equals 1.0). '-' reads standard input.\n"
            "\n"
            "Options:\n"
            "  --rules FILE      apply a rules file (docs/rules-format.md): ignored paths,\n"
            "                    arrays matched by key or as multisets, number tolerances\n"
            "  --endpoint 'METHOD /template'\n"
            "                    also apply the rules of that endpoint of the rules file\n"
            "  --format patch    the RFC 6902 patch (the default)\n"
            "  --format diffs    JSON Lines: one difference per line (kind, path, field,\n"
            "                    a_path, b_path, old, new), then a summary line with the\n"
            "                    counts and each rule's hits\n"
            "  -q, --quiet       print nothing; only the exit code tells\n"
            JSON_OPTS_HELP
            "\n"
            "Exit: 0 equal (prints []); 1 different; 2 bad input (the error says where);\n"
            "3 cannot read or write.\n");
}

/* One JSON Lines record per difference. */
static int write_diff_line(struct buf *out, const struct jdiff_result *r, size_t i)
{
    const struct jdiff_item *it = &r->items[i];
    int rc;

    if ((rc = buf_printf(out, "{\"kind\":\"%s\",\"path\":", jdiff_kind_name(it->kind))) != 0 ||
        (rc = jsonw_string(out, it->path, it->path_len, 0)) != 0 ||
        (rc = buf_append_str(out, ",\"field\":")) != 0 ||
        (rc = jsonw_cstring(out, it->field, 0)) != 0 ||
        (rc = buf_append_str(out, ",\"a_path\":")) != 0 ||
        (rc = jsonw_cstring(out, it->a_path, 0)) != 0 ||
        (rc = buf_append_str(out, ",\"b_path\":")) != 0 ||
        (rc = jsonw_cstring(out, it->b_path, 0)) != 0)
        return rc;
    if (it->a_node != JDOC_NONE &&
        ((rc = buf_append_str(out, ",\"old\":")) != 0 ||
         (rc = jdoc_write(out, r->a, it->a_node, 0, 0)) != 0))
        return rc;
    if (it->b_node != JDOC_NONE &&
        ((rc = buf_append_str(out, ",\"new\":")) != 0 ||
         (rc = jdoc_write(out, r->b, it->b_node, 0, 0)) != 0))
        return rc;
    return buf_append_str(out, "}\n");
}

static int write_summary(struct buf *out, const struct jdiff_result *r,
                         const struct diff_rules *rules)
{
    int rc = buf_printf(out, "{\"summary\":{\"differences\":%llu,\"ignored\":%llu,"
                        "\"truncated\":%s,\"rules\":[",
                        (unsigned long long)r->differences, (unsigned long long)r->ignored,
                        r->truncated ? "true" : "false");
    bool first = true;

    for (unsigned id = 0; !rc && id < diff_rules_count(rules); id++) {
        const struct diff_rule_info *info = diff_rules_info(rules, id);
        if (info->kind > DIFF_RULE_STRICT_NUMBERS)
            continue; /* header and report rules do not apply to bodies */
        rc = buf_printf(out, "%s{\"id\":%u,\"rule\":\"%s\",\"path\":", first ? "" : ",", id,
                        diff_rule_kind_name(info->kind));
        if (!rc)
            rc = jsonw_cstring(out, info->subject, 0);
        if (!rc)
            rc = buf_append_str(out, ",\"scope\":");
        if (!rc)
            rc = jsonw_cstring(out, info->scope, 0);
        if (!rc)
            rc = buf_printf(out, ",\"line\":%zu,\"hits\":%llu}", info->line,
                            (unsigned long long)(id < r->rule_hits_len ? r->rule_hits[id] : 0));
        first = false;
    }
    return rc ? rc : buf_append_str(out, "]}}\n");
}

int cmd_json_diff(int argc, char **argv)
{
    static const struct option options[] = {
        {"rules", required_argument, NULL, 'r'},
        {"endpoint", required_argument, NULL, 'e'},
        {"format", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        JSON_OPTS_LONG,
        {NULL, 0, NULL, 0},
    };
    const char *rules_path = NULL, *endpoint = NULL, *format = "patch";
    struct jdoc_limits lim = {0, 0, 0};
    struct diff_rules *rules = NULL;
    struct jdiff_options dopt = {NULL, 0};
    struct jdiff_result res;
    struct jdoc a, b;
    struct buf out;
    struct error err;
    char method[32] = "", *tmpl = NULL;
    bool quiet = false;
    int opt, rc, exit_code = EXIT_BAD_INPUT;

    error_init(&err);
    optind = 1;
    while ((opt = getopt_long(argc, argv, "qh", options, NULL)) != -1) {
        switch (opt) {
        case 'r': rules_path = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'f': format = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return cli_finish_stdout(CMD);
        case JSON_OPT_MAX_DEPTH:
        case JSON_OPT_MAX_NODES:
        case JSON_OPT_MAX_SIZE:
            if (!json_opts_limit(CMD, opt, optarg, &lim))
                return EXIT_BAD_INPUT;
            break;
        default: return cli_usage_error(CMD, "invalid option");
        }
    }
    if (strcmp(format, "patch") != 0 && strcmp(format, "diffs") != 0)
        return cli_usage_error(CMD, "--format: expected patch or diffs, found '%s'", format);
    if (optind != argc - 2)
        return cli_usage_error(CMD, "expected two JSON files, A and B");
    if (strcmp(argv[optind], "-") == 0 && strcmp(argv[optind + 1], "-") == 0)
        return cli_usage_error(CMD, "only one of A and B can be standard input ('-')");
    if (endpoint) {
        const char *sp = strchr(endpoint, ' ');
        if (!rules_path)
            return cli_usage_error(CMD, "--endpoint needs --rules");
        if (!sp || sp == endpoint || (size_t)(sp - endpoint) >= sizeof method || sp[1] != '/')
            return cli_usage_error(CMD, "--endpoint: expected 'METHOD /path/{template}', "
                                   "found '%s'", endpoint);
        memcpy(method, endpoint, (size_t)(sp - endpoint));
        method[sp - endpoint] = '\0';
        tmpl = (char *)sp + 1;
    }

    jdoc_init(&a);
    jdoc_init(&b);
    jdiff_result_init(&res);
    buf_init(&out, (size_t)1 << 34);
    if (rules_path) {
        if ((rc = diff_rules_load(&rules, rules_path, &err)) != 0)
            goto fail;
        if (endpoint && !diff_rules_has_endpoint(rules, method, tmpl)) {
            rc = error_set(&err, ERR_USAGE, "--endpoint '%s': %s has no \"endpoints\" entry "
                           "for it (the method and template must match one exactly, or its "
                           "method be \"*\")", endpoint, rules_path);
            goto fail;
        }
        if (!(dopt.rules = diff_rules_json(rules, endpoint ? method : NULL, tmpl, &err))) {
            rc = err.code;
            goto fail;
        }
    }
    if ((rc = jdoc_parse_file(&a, argv[optind], &lim, &err)) != 0 ||
        (rc = jdoc_parse_file(&b, argv[optind + 1], &lim, &err)) != 0) {
        json_opts_hint(&err);
        goto fail;
    }
    if ((rc = jdiff_docs(&res, &a, &b, &dopt, &err)) != 0)
        goto fail;
    exit_code = res.differences ? EXIT_FINDINGS : EXIT_OK;
    if (!quiet) {
        if (format[0] == 'p') {
            rc = jdiff_write_patch(&out, &res, 0);
        } else {
            rc = 0;
            for (size_t i = 0; i < res.count && !rc; i++)
                rc = write_diff_line(&out, &res, i);
            if (!rc)
                rc = write_summary(&out, &res, rules);
        }
        if (rc) {
            error_set(&err, rc, "cannot format the output: %s", error_description(rc));
            goto fail;
        }
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        if (cli_finish_stdout(CMD))
            exit_code = EXIT_ENVIRONMENT;
    }
    goto out;
fail:
    exit_code = cli_report(CMD, &err);
out:
    buf_release(&out);
    jdiff_result_release(&res);
    jdoc_release(&a);
    jdoc_release(&b);
    diff_rules_free(rules);
    return exit_code;
}
