/*
 * journal.h — journal.json, the record of a run, kept valid at every moment.
 *
 * The journal is a JSON tree held in memory and rewritten whole, through a
 * temporary file and a rename (outfile.h), each time a step starts or ends:
 * a run that is interrupted — even by SIGKILL — leaves the last complete
 * version.  Steps running in parallel update it from several threads, so
 * every change happens between journal_lock() and journal_unlock().
 * Its format is described in docs/scenario-format.md ("The journal").
 */
#ifndef REHEARSE_JOURNAL_H
#define REHEARSE_JOURNAL_H

#include <jansson.h>

#include "errors.h"

struct journal;

/* `path` is the final file name; nothing is written until journal_save(). */
int journal_new(struct journal **out, const char *path, struct error *err);
void journal_free(struct journal *j);

/* The tree (borrowed); change it only while holding the lock. */
json_t *journal_root(struct journal *j);
void journal_lock(struct journal *j);
void journal_unlock(struct journal *j);

/* Write the whole journal atomically (takes the lock itself). */
int journal_save(struct journal *j, struct error *err);
const char *journal_path(const struct journal *j);

/* UTC wall-clock time: "2024-05-01T12:00:00.123456Z" (common/timefmt.h). */
void journal_timestamp(char *out, size_t size);

#endif
