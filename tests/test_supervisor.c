/* The supervisor on its own: real fixture services started, paused, stopped,
 * killed on purpose (not a crash) and crashing by themselves (a crash). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "run_control.h"
#include "runutil.h"
#include "scenario.h"
#include "subst.h"
#include "supervisor.h"
#include "testutil.h"

static char *dir;
static struct scenario *scenario;
static struct supervisor *sv;
static struct run_control control;
static atomic_int crashes;
static char crash_text[256];

static int part_value(void *ctx, const struct subst_part *part, struct buf *out,
                      struct error *err)
{
    (void)err;
    return part->kind == SUBST_PORT ? buf_printf(out, "%d", supervisor_port(sv, *(int *)ctx))
                                    : buf_append_str(out, "?");
}

static int expand(void *ctx, int service, const struct subst *t, struct buf *out,
                  struct error *err)
{
    struct subst_values values = {part_value, &service};
    (void)ctx;
    return subst_expand(t, &values, out, err);
}

static void on_crash(void *ctx, int service, const char *description)
{
    (void)ctx;
    snprintf(crash_text, sizeof crash_text, "%d %s", service, description);
    atomic_fetch_add(&crashes, 1);
}

static void setup(void)
{
    struct scenario_diagnostics diags;
    struct error err;
    char *text = test_template(
        "{\"version\": 1, \"services\": [\n"
        "  {\"name\": \"steady\", \"argv\": [\"@PGSERVICE@\"], \"env\": {\"PORT\": \"${port}\"},\n"
        "   \"health\": {\"path\": \"/health\"}, \"stop_timeout\": \"5s\"},\n"
        "  {\"name\": \"fragile\", \"argv\": [\"@PGSERVICE@\"],\n"
        "   \"env\": {\"PORT\": \"${port}\", \"CRASH_AFTER_MS\": \"200\"},\n"
        "   \"health\": {\"path\": \"/health\"}}],\n"
        " \"steps\": []}\n",
        "PGSERVICE", test_fixture_path("pgservice"), NULL);

    dir = test_tmpdir();
    mkdir(test_path(dir, "logs"), 0700);
    cr_assert_eq(test_write_file(test_path(dir, "s.json"), text, strlen(text)), 0);
    free(text);
    error_init(&err);
    cr_assert_eq(scenario_load(&scenario, test_path(dir, "s.json"), &diags, &err), 0, "%s",
                 err.message);
    cr_assert_eq(run_control_init(&control, &err), 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct supervisor_config cfg = {.scenario = scenario, .run_dir = dir,
                                    .run_start_us = run_clock_us(), .expand = expand,
                                    .on_crash = on_crash};
    cr_assert_eq(supervisor_new(&sv, &cfg, &err), 0, "%s", err.message);
}

static void teardown(void)
{
    supervisor_free(sv);
    run_control_release(&control);
    scenario_free(scenario);
    curl_global_cleanup();
    test_tmpdir_remove(dir);
}

TestSuite(supervisor, .init = setup, .fini = teardown, .timeout = 60);

static char process_state(pid_t pid)
{
    char path[64], buf[512], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        char *close = strrchr(buf, ')');
        if (close)
            sscanf(close + 1, " %c", &state);
        fclose(f);
    }
    return state;
}

static const char *last_run_end(int service)
{
    static char out[64];
    json_t *list = supervisor_journal(sv);
    json_t *runs = json_object_get(json_array_get(list, (size_t)service), "runs");
    json_t *last = json_array_get(runs, json_array_size(runs) - 1);
    snprintf(out, sizeof out, "%s", json_string_value(json_object_get(last, "ended")));
    json_decref(list);
    return out;
}

Test(supervisor, a_paused_service_still_stops_and_a_killed_one_is_not_a_crash)
{
    struct error err;
    json_t *out = json_object();
    error_init(&err);
    cr_assert_eq(supervisor_start(sv, 0, &control, out, &err), 0, "%s", err.message);
    pid_t pid = (pid_t)json_integer_value(json_object_get(out, "pid"));
    char url[64];
    supervisor_url(sv, 0, url, sizeof url);
    cr_assert(strstr(url, "http://127.0.0.1:"));

    cr_assert_eq(supervisor_signal(sv, 0, SIGSTOP, &err), 0);
    for (int i = 0; i < 100 && process_state(pid) != 'T'; i++)
        usleep(10000);
    cr_assert_eq(process_state(pid), 'T', "SIGSTOP pauses it");
    json_decref(out);
    out = json_object();
    cr_assert_eq(supervisor_stop(sv, 0, out, &err), 0);
    /* Continued, it stopped on SIGTERM by itself, well within its timeout. */
    cr_assert(json_is_false(json_object_get(out, "killed_after_timeout")));
    cr_assert_str_eq(json_string_value(json_object_get(out, "exit")), "exited with status 0");
    cr_assert_str_eq(last_run_end(0), "stopped");

    json_decref(out);
    out = json_object();
    cr_assert_eq(supervisor_start(sv, 0, &control, out, &err), 0, "%s", err.message);
    json_decref(out);
    out = json_object();
    cr_assert_eq(supervisor_kill(sv, 0, out, &err), 0);
    cr_assert_str_eq(json_string_value(json_object_get(out, "signal")), "SIGKILL");
    cr_assert_str_eq(last_run_end(0), "killed");
    usleep(200000);
    cr_assert_eq(atomic_load(&crashes), 0, "a kill on purpose is not a crash: %s", crash_text);
    cr_assert_neq(supervisor_signal(sv, 0, SIGCONT, &err), 0, "not running any more");
    json_decref(out);
}

Test(supervisor, a_service_that_exits_by_itself_is_reported_as_a_crash)
{
    struct error err;
    json_t *out = json_object();
    error_init(&err);
    cr_assert_eq(supervisor_start(sv, 1, &control, out, &err), 0, "%s", err.message);
    json_decref(out);
    for (int i = 0; i < 300 && atomic_load(&crashes) == 0; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&crashes), 1);
    cr_assert(strstr(crash_text, "1 killed by signal 6"), "%s", crash_text);
    cr_assert_str_eq(last_run_end(1), "crashed");
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

Test(supervisor, a_service_crashed_by_a_request_is_reported_as_a_crash)
{
    struct error err;
    json_t *out = json_object();
    char url[128];
    error_init(&err);
    cr_assert_eq(supervisor_start(sv, 0, &control, out, &err), 0, "%s", err.message);
    json_decref(out);
    supervisor_url(sv, 0, url, sizeof url);
    strcat(url, "/crash");
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_perform(h); /* the answer may or may not arrive before the abort */
    curl_easy_cleanup(h);
    for (int i = 0; i < 300 && atomic_load(&crashes) == 0; i++)
        usleep(10000);
    cr_assert_eq(atomic_load(&crashes), 1);
    cr_assert(strstr(crash_text, "0 killed by signal 6"), "%s", crash_text);
}
