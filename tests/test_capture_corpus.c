/* The pcap corpus (fixtures/pcaps/): real captures and edited edge cases.
 *
 * For every capture with a NAME.expected.tsv, `rehearse capture -r` followed
 * by `rehearse trace show --format tsv` must print exactly that file: tshark's
 * HTTP dissection of the same capture, corrected where tshark is known to be
 * wrong (fixtures/pcaps/README.md lists each correction). The bad input listed
 * in fixtures/pcaps/bad-inputs.tsv must end with its exit code and be reported:
 * a file that is not a capture, or is damaged, by a message that names it and
 * says what is wrong; damaged traffic by the counters and flags of the summary
 * (nothing dropped silently, nothing intact reported as damaged).
 *
 * The case list is read from the directory inside each test (criterion's
 * parameterized tests crash on pointer-holding parameters); every case is
 * run and every failure reported before the test fails. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define CORPUS "fixtures/pcaps"
#define MAX_CASES 256
#define NAME_MAX_LEN 128
#define RUN_TIMEOUT_S 120

/* One line of bad-inputs.tsv. */
struct bad_input {
    char name[NAME_MAX_LEN];
    char kind[16];      /* "invalid": no trace; "damaged", "traffic": also an expected.tsv */
    int exit_code;
    char words[256];    /* comma-separated; each must appear in stderr (any case);
                           "!word" must not */
};

static char *dir;
static void setup(void) { dir = test_tmpdir(); }
static void teardown(void) { test_tmpdir_remove(dir); }
TestSuite(capture_corpus, .init = setup, .fini = teardown, .timeout = 600);

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_capture(const char *name)
{
    return has_suffix(name, ".pcap") || has_suffix(name, ".pcapng");
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The capture files of the corpus, sorted; returns how many. */
static size_t list_captures(char names[][NAME_MAX_LEN], size_t max)
{
    DIR *d = opendir(test_repo_path(CORPUS));
    struct dirent *e;
    size_t n = 0;

    cr_assert_not_null(d, "cannot open %s", test_repo_path(CORPUS));
    while ((e = readdir(d)) != NULL) {
        if (!is_capture(e->d_name) || strlen(e->d_name) >= NAME_MAX_LEN)
            continue;
        cr_assert_lt(n, max, "more than %zu captures in %s", max, CORPUS);
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    qsort(names, n, NAME_MAX_LEN, cmp_names);
    return n;
}

/* "x.pcap" -> "<corpus>/x<suffix>" */
static const char *sibling(const char *capture, const char *suffix)
{
    char rel[512];
    size_t stem = strlen(capture) - (has_suffix(capture, ".pcapng") ? 7 : 5);
    snprintf(rel, sizeof rel, "%s/%.*s%s", CORPUS, (int)stem, capture, suffix);
    return test_repo_path(rel);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static size_t load_bad_inputs(struct bad_input *out, size_t max)
{
    const char *path = test_repo_path(CORPUS "/bad-inputs.tsv");
    FILE *f = fopen(path, "r");
    char line[1024];
    size_t n = 0;
    int lineno = 0;

    cr_assert_not_null(f, "cannot open %s", path);
    while (fgets(line, sizeof line, f)) {
        char *cols[4];
        int ncols = 0;
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (char *p = line, *tab; ncols < 4; p = tab + 1) {
            cols[ncols++] = p;
            if ((tab = strchr(p, '\t')) == NULL)
                break;
            *tab = '\0';
        }
        cr_assert_eq(ncols, 4, "%s:%d: expected 4 tab-separated columns", path, lineno);
        cr_assert_lt(n, max);
        snprintf(out[n].name, sizeof out[n].name, "%s", cols[0]);
        snprintf(out[n].kind, sizeof out[n].kind, "%s", cols[1]);
        out[n].exit_code = atoi(cols[2]);
        snprintf(out[n].words, sizeof out[n].words, "%s", cols[3]);
        cr_assert(strcmp(out[n].kind, "invalid") == 0 || strcmp(out[n].kind, "damaged") == 0 ||
                      strcmp(out[n].kind, "traffic") == 0,
                  "%s:%d: kind must be invalid, damaged or traffic, found '%s'", path, lineno,
                  out[n].kind);
        n++;
    }
    fclose(f);
    return n;
}

static const struct bad_input *find_bad(const struct bad_input *bad, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(bad[i].name, name) == 0)
            return &bad[i];
    return NULL;
}

/* Case-insensitive substring search. */
static int contains_ci(const char *hay, const char *needle)
{
    size_t m = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, m) == 0)
            return 1;
    return m == 0;
}

/* A copy of s (owned) with every occurrence of word replaced by '#'s, so that
 * looking for "empty" in the message about "empty.pcap" finds only the message. */
static char *blank_out(const char *s, const char *word)
{
    char *out = strdup(s), *p = out;
    size_t m = strlen(word);
    while (m && (p = strstr(p, word)) != NULL) {
        memset(p, '#', m);
        p += m;
    }
    return out;
}

/* The next line of text at *p (without its '\n'), or NULL at the end. */
static const char *next_line(const char **p, size_t *len)
{
    const char *s = *p, *nl;
    if (*s == '\0')
        return NULL;
    nl = strchr(s, '\n');
    *len = nl ? (size_t)(nl - s) : strlen(s);
    *p = nl ? nl + 1 : s + *len;
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0, len;
    while (next_line(&s, &len))
        n++;
    return n;
}

/* Print where expected and actual first differ, and a few lines after it. */
static void print_diff(const char *name, const char *expected, const char *actual)
{
    const char *e = expected, *a = actual;
    size_t elen = 0, alen = 0, line = 0, shown = 0;

    fprintf(stderr, "%s: rehearse printed %zu lines, expected %zu (%s):\n", name,
            count_lines(actual), count_lines(expected), sibling(name, ".expected.tsv"));
    for (;;) {
        const char *el = next_line(&e, &elen), *al = next_line(&a, &alen);
        line++;
        if (!el && !al)
            break;
        if (el && al && elen == alen && memcmp(el, al, elen) == 0) {
            if (shown)
                fprintf(stderr, "   %4zu  %.*s\n", line, (int)elen, el);
            continue;
        }
        if (el)
            fprintf(stderr, "  -%4zu  %.*s\n", line, (int)elen, el);
        if (al)
            fprintf(stderr, "  +%4zu  %.*s\n", line, (int)alen, al);
        if (++shown == 6) {
            fprintf(stderr, "  ... (further lines not shown)\n");
            break;
        }
    }
}

/* Run capture then trace show on one file. Returns the tsv (owned) or NULL
 * when no trace was written; *capture_res gets the capture run. */
static char *capture_and_show(const char *name, struct run_result *capture_res)
{
    char pcap[512], trace[512];
    struct run_result show;
    char *tsv;

    snprintf(pcap, sizeof pcap, "%s", test_repo_path(CORPUS "/"));
    snprintf(pcap + strlen(pcap), sizeof pcap - strlen(pcap), "%s", name);
    snprintf(trace, sizeof trace, "%s/%s.jsonl", dir, name);
    cr_assert_eq(test_rehearse(capture_res, RUN_TIMEOUT_S, "capture", "-r", pcap, "-o", trace,
                               NULL), 0, "cannot run %s", test_rehearse_bin());
    if (!file_exists(trace))
        return NULL;
    cr_assert_eq(test_rehearse(&show, RUN_TIMEOUT_S, "trace", "show", trace, "--format", "tsv",
                               NULL), 0);
    if (show.exit_code != 0) {
        fprintf(stderr, "%s: 'trace show' exited %d: %s", name, show.exit_code, show.err);
        test_run_free(&show);
        return NULL;
    }
    tsv = show.out;
    show.out = NULL;
    test_run_free(&show);
    return tsv;
}

Test(capture_corpus, every_capture_has_an_expectation_or_is_a_listed_bad_input)
{
    static char names[MAX_CASES][NAME_MAX_LEN];
    static struct bad_input bad[MAX_CASES];
    size_t n = list_captures(names, MAX_CASES), nbad = load_bad_inputs(bad, MAX_CASES);

    cr_assert_geq(n, 30, "the corpus has only %zu captures", n);
    for (size_t i = 0; i < n; i++) {
        const struct bad_input *b = find_bad(bad, nbad, names[i]);
        int expected = file_exists(sibling(names[i], ".expected.tsv"));
        cr_expect(expected || (b && strcmp(b->kind, "invalid") == 0),
                  "%s has no .expected.tsv and is not an invalid input in bad-inputs.tsv "
                  "(run fixtures/pcaps/tshark-expected.sh)", names[i]);
        cr_expect(!(expected && b && strcmp(b->kind, "invalid") == 0),
                  "%s is listed as invalid but has an .expected.tsv", names[i]);
        cr_expect(expected || !b || strcmp(b->kind, "invalid") == 0,
                  "%s is listed as %s but has no .expected.tsv", names[i], b ? b->kind : "");
    }
    for (size_t i = 0; i < nbad; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", test_repo_path(CORPUS), bad[i].name);
        cr_expect(file_exists(path), "bad-inputs.tsv names %s, which does not exist", path);
    }
}

Test(capture_corpus, every_capture_gives_the_transactions_tshark_sees)
{
    static char names[MAX_CASES][NAME_MAX_LEN];
    static struct bad_input bad[MAX_CASES];
    size_t n = list_captures(names, MAX_CASES), nbad = load_bad_inputs(bad, MAX_CASES);
    size_t ran = 0, failed = 0, requests = 0;
    char failures[4096] = "";

    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        const struct bad_input *b = find_bad(bad, nbad, name);
        int want_exit = b ? b->exit_code : 0;
        struct run_result cap;
        size_t len;
        char *expected, *actual;
        int ok = 1;

        if (!file_exists(sibling(name, ".expected.tsv")))
            continue;
        expected = test_read_file(sibling(name, ".expected.tsv"), &len);
        cr_assert_not_null(expected);
        requests += count_lines(expected) - 1;
        ran++;
        actual = capture_and_show(name, &cap);
        if (cap.exit_code != want_exit) {
            fprintf(stderr, "%s: 'rehearse capture' exited %d, expected %d; stderr:\n%s\n", name,
                    cap.exit_code, want_exit, cap.err);
            ok = 0;
        }
        if (!actual) {
            fprintf(stderr, "%s: no trace was written; capture stderr:\n%s\n", name, cap.err);
            ok = 0;
        } else if (strcmp(actual, expected) != 0) {
            print_diff(name, expected, actual);
            ok = 0;
        }
        if (!ok) {
            failed++;
            if (strlen(failures) + strlen(name) + 2 < sizeof failures) {
                strcat(failures, " ");
                strcat(failures, name);
            }
        }
        free(expected);
        free(actual);
        test_run_free(&cap);
    }
    cr_log_info("%zu captures, %zu requests compared, %zu captures differ", ran, requests,
                failed);
    cr_assert_geq(ran, 30, "only %zu captures have an expectation", ran);
    cr_assert_eq(failed, 0, "%zu of %zu captures differ from their expectation:%s", failed, ran,
                 failures);
}

Test(capture_corpus, bad_input_ends_with_its_exit_code_and_is_reported)
{
    static struct bad_input bad[MAX_CASES];
    size_t nbad = load_bad_inputs(bad, MAX_CASES), failed = 0;

    cr_assert_geq(nbad, 5);
    for (size_t i = 0; i < nbad; i++) {
        struct run_result cap;
        char *tsv = capture_and_show(bad[i].name, &cap), words[256];
        int ok = 1;

        if (cap.exit_code != bad[i].exit_code) {
            fprintf(stderr, "%s: 'rehearse capture' exited %d, expected %d\n", bad[i].name,
                    cap.exit_code, bad[i].exit_code);
            ok = 0;
        }
        if (cap.exit_code >= 128) {
            fprintf(stderr, "%s: 'rehearse capture' was killed by signal %d\n", bad[i].name,
                    cap.exit_code - 128);
            ok = 0;
        }
        /* located: a message about a bad file names it */
        if (strcmp(bad[i].kind, "traffic") != 0 && !contains_ci(cap.err, bad[i].name)) {
            fprintf(stderr, "%s: stderr does not name the file\n", bad[i].name);
            ok = 0;
        }
        /* and says what is wrong, in words of its own */
        char *message = blank_out(cap.err, bad[i].name);
        snprintf(words, sizeof words, "%s", bad[i].words);
        for (char *save = NULL, *w = strtok_r(words, ",", &save); w;
             w = strtok_r(NULL, ",", &save)) {
            int negated = w[0] == '!';
            if (negated ? contains_ci(message, w + 1) : !contains_ci(message, w)) {
                fprintf(stderr, "%s: stderr %s '%s'\n", bad[i].name,
                        negated ? "says" : "does not say", w + negated);
                ok = 0;
            }
        }
        free(message);
        if (!ok) {
            fprintf(stderr, "%s: stderr was:\n%s\n", bad[i].name, cap.err);
            failed++;
        }
        free(tsv);
        test_run_free(&cap);
    }
    cr_assert_eq(failed, 0, "%zu of %zu bad inputs were not reported as bad-inputs.tsv says",
                 failed, nbad);
}
