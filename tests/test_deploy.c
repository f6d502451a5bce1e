/*
 * deploy/: the Kubernetes manifests and the image recipe checked without a
 * cluster (tests/deploy/check_deploy.py: YAML, the fields Kubernetes
 * requires, the Indexed Job's shard wiring, $(VAR) references, the
 * libraries the image must carry), and deploy/parallel.sh run for real on
 * this machine against fixture services.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture_server.h"
#include "testutil.h"

static char *dir;
static void setup(void)
{
    dir = test_tmpdir();
}
static void teardown(void)
{
    fixture_server_stop_all();
    test_tmpdir_remove(dir);
}
TestSuite(deploy, .init = setup, .fini = teardown, .timeout = 120);

static int check(struct run_result *res, const char *kdir, const char *dockerfile)
{
    char *argv[] = {"python3", (char *)test_repo_path("tests/deploy/check_deploy.py"),
                    (char *)kdir, (char *)dockerfile, (char *)test_rehearse_bin(), NULL};
    return test_run(res, argv, 60);
}

Test(deploy, the_manifests_and_the_image_recipe_pass_the_checks)
{
    struct run_result res;
    char kdir[4096], dockerfile[4096];
    snprintf(kdir, sizeof kdir, "%s", test_repo_path("deploy/kubernetes"));
    snprintf(dockerfile, sizeof dockerfile, "%s", test_repo_path("deploy/Dockerfile"));
    check(&res, kdir, dockerfile);
    cr_assert_eq(res.exit_code, 0, "problems:\n%s%s", res.out, res.err);
    cr_assert_eq(res.out_len, 0, "%s", res.out);
    test_run_free(&res);
}

/* Copy deploy/kubernetes and deploy/Dockerfile into dir/copy. */
static void copy_deploy(void)
{
    char cmd[8192];
    char *argv[] = {"sh", "-c", cmd, NULL};
    struct run_result res;
    snprintf(cmd, sizeof cmd, "rm -rf '%s/copy' && mkdir '%s/copy' && cp -r '%s' '%s' '%s/copy/'",
             dir, dir, test_repo_path("deploy/kubernetes"), test_repo_path("deploy/Dockerfile"),
             dir);
    test_run(&res, argv, 30);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    test_run_free(&res);
}

/* Replace the first `old` in dir/copy/FILE by `new`. */
static void edit(const char *file, const char *old, const char *new)
{
    char path[4096];
    size_t len;
    char *text, *at;
    FILE *f;
    snprintf(path, sizeof path, "%s/copy/%s", dir, file);
    text = test_read_file(path, &len);
    cr_assert(text, "%s", path);
    at = strstr(text, old);
    cr_assert(at, "'%s' is not in %s", old, file);
    f = fopen(path, "w");
    fwrite(text, 1, (size_t)(at - text), f);
    fputs(new, f);
    fputs(at + strlen(old), f);
    fclose(f);
    free(text);
}

Test(deploy, broken_manifests_and_recipes_are_caught)
{
    static const struct {
        const char *file, *old, *new, *expect;
    } cases[] = {
        {"kubernetes/replay-job.yaml", "completionMode: Indexed", "completionMode: NonIndexed",
         "no Job with spec.completionMode: Indexed"},
        {"kubernetes/config.yaml", "SHARDS: \"8\"", "SHARDS: \"6\"",
         "is not the ConfigMap's SHARDS 6"},
        {"kubernetes/replay-job.yaml", "restartPolicy: Never", "restartPolicy: Always",
         "restartPolicy: a Job needs Never or OnFailure"},
        {"kubernetes/replay-job.yaml", "- $(TARGET_NOISE)", "- $(TARGET_NOISY)",
         "$(TARGET_NOISY) is not defined"},
        {"kubernetes/replay-job.yaml", "- --speed", "- --sped",
         "--sped: 'rehearse replay' has no such option"},
        {"kubernetes/replay-job.yaml", "- $(JOB_COMPLETION_INDEX)/$(SHARDS)", "- 0/$(SHARDS)",
         "the shard index must be $(JOB_COMPLETION_INDEX)"},
        {"kubernetes/replay-job.yaml", "claimName: rehearse-data", "claimName: other",
         "claim 'other' is not in the manifests"},
        {"kubernetes/replay-job.yaml", "name: rehearse-replay", "name: Rehearse_Replay",
         "DNS-1123"},
        {"kubernetes/replay-job.yaml", "image: registry.example.com/rehearse:0.1.0\n"
                                        "          imagePullPolicy",
         "imagePullPolicy", "containers[0]: missing image"},
        {"kubernetes/merge-job.yaml", "mountPath: /tmp", "mountPath: tmp",
         "needs an absolute mountPath"},
        {"kubernetes/merge-job.yaml", "rehearse merge", "rehearse mrge",
         "no Job runs 'rehearse merge'"},
        {"kubernetes/pvc.yaml", "[\"ReadWriteMany\"]", "[\"ReadWriteOnce\"]", "ReadWriteMany"},
        {"kubernetes/kustomization.yaml", "  - merge-job.yaml\n", "",
         "resources does not list merge-job.yaml"},
        {"kubernetes/pvc.yaml", "  name: rehearse-data", "  name: [rehearse-data",
         "pvc.yaml: not valid YAML"},
        {"Dockerfile", "libpcap0.8 ", "", "which provide libpcap.so.0.8"},
        {"Dockerfile", "USER 10001:10001", "", "runs as root"},
    };
    char kdir[4096], dockerfile[4096];
    snprintf(kdir, sizeof kdir, "%s/copy/kubernetes", dir);
    snprintf(dockerfile, sizeof dockerfile, "%s/copy/Dockerfile", dir);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run_result res;
        copy_deploy();
        edit(cases[i].file, cases[i].old, cases[i].new);
        check(&res, kdir, dockerfile);
        cr_assert_eq(res.exit_code, 1, "case %zu (%s): exit %d\n%s%s", i, cases[i].expect,
                     res.exit_code, res.out, res.err);
        cr_assert(strstr(res.out, cases[i].expect), "case %zu: expected '%s' in:\n%s", i,
                  cases[i].expect, res.out);
        test_run_free(&res);
    }
}

/* ------------------------------------------------------------ parallel.sh */

static const char *write_trace(void)
{
    static char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/t.jsonl", dir);
    f = fopen(path, "w");
    cr_assert(f);
    fputs("{\"format\":\"rehearse-trace\",\"version\":1,\"source\":{\"kind\":\"file\",\"name\":"
          "\"p.pcap\"},\"capture_start_us\":1700000000000000,\"created_by\":\"test\"}\n",
          f);
    for (int i = 1; i <= 60; i++)
        fprintf(f,
                "{\"type\":\"tx\",\"id\":%d,\"conn\":%d,\"client\":\"10.0.0.1:%d\",\"server\":"
                "\"10.0.0.2:80\",\"req_start_us\":%lld,\"request\":{\"method\":\"GET\","
                "\"target\":\"/items/%d\",\"headers\":[[\"Host\",\"shop\"]],\"body\":\"\"},"
                "\"response\":null}\n",
                i, (i - 1) % 20 + 1, 30000 + (i - 1) % 20, 1700000000000000LL + i * 1000LL, i);
    fclose(f);
    return path;
}

Test(deploy, parallel_sh_runs_the_shards_merges_and_reports)
{
    const char *trace = write_trace();
    struct fixture_server v1, v2;
    const char *a1[] = {"--version", "1", "--instance", "a", NULL};
    const char *a2[] = {"--version", "2", "--instance", "b", NULL};
    char out[4096], hosts[4096], t_old[128], t_new[128], env[4200];
    struct run_result res;
    struct stat st;

    cr_assert_eq(fixture_server_start(&v1, "versioned_service", a1), 0);
    cr_assert_eq(fixture_server_start(&v2, "versioned_service", a2), 0);
    snprintf(t_old, sizeof t_old, "old=%s", v1.url);
    snprintf(t_new, sizeof t_new, "new=%s", v2.url);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(hosts, sizeof hosts, "%s/hosts", dir);
    cr_assert_eq(test_write_file(hosts, "local\n# a comment\n\nlocal\n", 25), 0);
    snprintf(env, sizeof env, "REHEARSE=%s", test_rehearse_bin());
    {
        char *argv[] = {"env", env, (char *)test_repo_path("deploy/parallel.sh"), "-n", "3",
                        "-o", out, "--hosts", hosts, "--split", "--base", "old", "--candidate",
                        "new", (char *)trace, "--", "--target", t_old, "--target", t_new,
                        "--speed", "max", NULL};
        test_run(&res, argv, 90);
    }
    /* every 7th item's price is retyped by version 2: regressions */
    cr_assert_eq(res.exit_code, 1, "exit %d\n%s%s", res.exit_code, res.out, res.err);
    cr_assert(strstr(res.out, "rehearse merge: 3 shards, 60 results (60 transactions read)"),
              "%s", res.out);
    test_run_free(&res);
    for (int i = 0; i < 3; i++) {
        char part[4200];
        snprintf(part, sizeof part, "%s/parts/shard-%d.jsonl", out, i);
        cr_assert_eq(stat(part, &st), 0, "%s", part);
    }
    cr_assert_eq(stat(test_path(out, "merged.jsonl.gz"), &st), 0);
    json_error_t e;
    json_t *report = json_load_file(test_path(out, "report/report.json"), 0, &e);
    cr_assert(report, "%s", e.text);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(report, "verdict"),
                                                       "result")),
                     "regressions");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(report, "totals"),
                                                    "transactions")),
                 60);
    json_decref(report);

    /* bad usage, and a shard that fails */
    {
        char *argv[] = {"env", env, (char *)test_repo_path("deploy/parallel.sh"), "-n", "0",
                        "-o", out, (char *)trace, NULL};
        test_run(&res, argv, 30);
        cr_assert_eq(res.exit_code, 2);
        cr_assert(strstr(res.err, "-n: expected 1 to 1000 shards"), "%s", res.err);
        test_run_free(&res);
    }
    {
        char *argv[] = {"env", env, (char *)test_repo_path("deploy/parallel.sh"), "-n", "2",
                        "-o", out, (char *)trace, "--", "--target", "x=ftp://127.0.0.1",
                        NULL};
        test_run(&res, argv, 30);
        cr_assert_eq(res.exit_code, 3, "%s%s", res.out, res.err);
        cr_assert(strstr(res.err, "shard 0/2 on local failed"), "%s", res.err);
        test_run_free(&res);
    }
}
