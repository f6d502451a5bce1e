#include "journal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fileutil.h"
#include "timefmt.h"

struct journal {
    pthread_mutex_t lock;
    json_t *root;
    char *path;
};

int journal_new(struct journal **out, const char *path, struct error *err)
{
    struct journal *j = calloc(1, sizeof *j);
    *out = NULL;
    if (!j || !(j->root = json_object()) || !(j->path = strdup(path))) {
        journal_free(j);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    /* Recursive: helpers that lock may be called with the lock held. */
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&j->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    *out = j;
    return 0;
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    if (j->path)
        pthread_mutex_destroy(&j->lock);
    json_decref(j->root);
    free(j->path);
    free(j);
}

json_t *journal_root(struct journal *j)
{
    return j->root;
}

void journal_lock(struct journal *j)
{
    pthread_mutex_lock(&j->lock);
}

void journal_unlock(struct journal *j)
{
    pthread_mutex_unlock(&j->lock);
}

const char *journal_path(const struct journal *j)
{
    return j->path;
}

int journal_save(struct journal *j, struct error *err)
{
    char *text;
    int rc;

    journal_lock(j);
    text = json_dumps(j->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (!text) {
        journal_unlock(j);
        return error_set(err, ERR_NOMEM, "out of memory writing the journal");
    }
    size_t len = strlen(text);
    char *line = realloc(text, len + 2);
    if (!line) {
        journal_unlock(j);
        free(text);
        return error_set(err, ERR_NOMEM, "out of memory writing the journal");
    }
    text = line;
    text[len++] = '\n';
    rc = file_write_atomic(j->path, text, len, err);
    journal_unlock(j);
    free(text);
    return rc;
}

void journal_timestamp(char *out, size_t size)
{
    struct timespec ts;
    struct buf b;

    clock_gettime(CLOCK_REALTIME, &ts);
    buf_init(&b, 64);
    if (timefmt_iso8601(&b, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000) == 0)
        snprintf(out, size, "%s", b.data);
    else
        snprintf(out, size, "?");
    buf_release(&b);
}
