/*
 * testutil.h — helpers shared by the criterion tests.
 *
 * Tests exercise the real `rehearse` binary (REHEARSE_BIN, set by the
 * Makefile, so `make asan` runs the sanitized one) and real files under a
 * fresh temporary directory.
 */
#ifndef REHEARSE_TESTUTIL_H
#define REHEARSE_TESTUTIL_H

#include <stddef.h>

struct run_result {
    int exit_code;   /* exit status, or 128+signal when killed */
    char *out;       /* captured stdout (NUL-terminated, owned) */
    size_t out_len;
    char *err;       /* captured stderr */
    size_t err_len;
};

/* Path of the rehearse binary under test. */
const char *test_rehearse_bin(void);
/* Path of a built fixture program, e.g. test_fixture_bin("http_recorder"). */
const char *test_fixture_bin(const char *name);

/* Run argv (argv[0] resolved via PATH unless it contains '/') with stdin
 * from /dev/null, capturing output; killed after timeout_s seconds. */
int test_run(struct run_result *res, char *const argv[], int timeout_s);
/* Run `rehearse ARGS...` (NULL-terminated). */
int test_rehearse(struct run_result *res, int timeout_s, ...);
void test_run_free(struct run_result *res);

/* A new private temporary directory (mode 0700), removed by test_tmpdir_remove. */
char *test_tmpdir(void);
void test_tmpdir_remove(char *dir);
/* "<dir>/<name>" in a static rotating buffer (valid for a few calls). */
const char *test_path(const char *dir, const char *name);

/* Whole-file helpers for small test files. */
char *test_read_file(const char *path, size_t *len);
int test_write_file(const char *path, const char *data, size_t len);

/* Absolute path of a repository file, e.g. test_repo_path("fixtures/pcaps/x.pcap"). */
const char *test_repo_path(const char *relative);

#endif
