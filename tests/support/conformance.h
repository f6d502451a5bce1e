/*
 * conformance.h — where the shared conformance suites are.
 *
 * CI checks the repository out beside `shared/` (../shared/conformance from
 * the repository root); engineers' worktrees sit one level deeper.  The
 * environment variable REHEARSE_CONFORMANCE_DIR (the directory holding
 * json-patch-tests/) overrides the search.
 */
#ifndef REHEARSE_CONFORMANCE_H
#define REHEARSE_CONFORMANCE_H

/* The directory of a suite, e.g. test_conformance_dir("json-patch-tests"),
 * or NULL when it cannot be found (the tests then fail, saying so). */
const char *test_conformance_dir(const char *suite);

#endif
