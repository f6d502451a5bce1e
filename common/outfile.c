#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WRITE_BLOCK (256 * 1024)

struct outfile {
    char *path;         /* final name; NULL for stdout */
    char *partial_path;
    int fd;
    gzFile gz;
    struct buf out;
    size_t committed;   /* out[0..committed) holds complete records */
    uint64_t bytes;
};

static const char *display_name(const struct outfile *f)
{
    return f->partial_path ? f->partial_path : "standard output";
}

static int write_all(struct outfile *f, const char *data, size_t len, struct error *err)
{
    if (f->gz) {
        while (len) {
            unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
            int n = gzwrite(f->gz, data, chunk);
            if (n <= 0) {
                int zerr;
                const char *msg = gzerror(f->gz, &zerr);
                return error_set(err, ERR_IO, "cannot write '%s': %s", display_name(f),
                                 zerr == Z_ERRNO ? strerror(errno) : msg);
            }
            data += n;
            len -= (size_t)n;
        }
        return 0;
    }
    while (len) {
        ssize_t n = write(f->fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error_errno(err, ERR_IO, errno, "cannot write '%s'", display_name(f));
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int outfile_open(struct outfile **out, const char *path, size_t max_record, struct error *err)
{
    struct outfile *f;
    size_t n = strlen(path);
    int rc;

    *out = NULL;
    f = calloc(1, sizeof *f);
    if (!f)
        return error_set(err, ERR_NOMEM, "out of memory opening '%s'", path);
    f->fd = -1;
    buf_init(&f->out, max_record + WRITE_BLOCK);
    if (strcmp(path, "-") == 0) {
        f->fd = STDOUT_FILENO;
        *out = f;
        return 0;
    }
    f->path = strdup(path);
    f->partial_path = malloc(n + sizeof ".partial");
    if (!f->path || !f->partial_path) {
        rc = error_set(err, ERR_NOMEM, "out of memory opening '%s'", path);
        goto fail;
    }
    memcpy(f->partial_path, path, n);
    memcpy(f->partial_path + n, ".partial", sizeof ".partial");
    f->fd = open(f->partial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (f->fd < 0) {
        rc = error_errno(err, ERR_IO, errno,
                         "cannot create '%s' (check that the directory exists and is writable)",
                         f->partial_path);
        goto fail;
    }
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0) {
        f->gz = gzdopen(f->fd, "wb6");
        if (!f->gz) {
            rc = error_set(err, ERR_NOMEM, "cannot start gzip output for '%s'", path);
            goto fail;
        }
        f->fd = -1;
    }
    *out = f;
    return 0;
fail:
    outfile_discard(f);
    return rc;
}

struct buf *outfile_buf(struct outfile *f)
{
    return &f->out;
}

int outfile_flush(struct outfile *f, struct error *err)
{
    int rc;
    if (!f->committed)
        return 0;
    rc = write_all(f, f->out.data, f->committed, err);
    buf_consume(&f->out, f->committed);
    f->committed = 0;
    return rc;
}

int outfile_commit(struct outfile *f, struct error *err)
{
    f->bytes += f->out.len - f->committed;
    f->committed = f->out.len;
    if (f->committed >= WRITE_BLOCK)
        return outfile_flush(f, err);
    return 0;
}

void outfile_rollback(struct outfile *f)
{
    f->out.len = f->committed;
    if (f->out.data)
        f->out.data[f->out.len] = '\0';
}

static void close_handles(struct outfile *f)
{
    if (f->gz)
        gzclose(f->gz);
    else if (f->fd > STDOUT_FILENO)
        close(f->fd);
    f->gz = NULL;
    f->fd = -1;
}

int outfile_close(struct outfile *f, struct error *err)
{
    int rc;

    if (!f)
        return 0;
    outfile_rollback(f);
    rc = outfile_flush(f, err);
    if (f->gz) {
        int zrc = gzclose(f->gz);
        f->gz = NULL;
        if (!rc && zrc != Z_OK)
            rc = error_set(err, ERR_IO, "cannot finish the gzip stream of '%s'",
                           display_name(f));
    } else if (f->fd > STDOUT_FILENO) {
        if (!rc && fsync(f->fd) != 0 && errno != EINVAL)
            rc = error_errno(err, ERR_IO, errno, "cannot sync '%s'", display_name(f));
        if (close(f->fd) != 0 && !rc)
            rc = error_errno(err, ERR_IO, errno, "cannot close '%s'", display_name(f));
        f->fd = -1;
    }
    if (!rc && f->path && rename(f->partial_path, f->path) != 0)
        rc = error_errno(err, ERR_IO, errno, "cannot rename '%s' to '%s'", f->partial_path,
                         f->path);
    if (rc && f->partial_path)
        error_prefix(err, "output left incomplete in '%s'", f->partial_path);
    free(f->path);
    free(f->partial_path);
    buf_release(&f->out);
    free(f);
    return rc;
}

void outfile_discard(struct outfile *f)
{
    if (!f)
        return;
    close_handles(f);
    if (f->partial_path)
        unlink(f->partial_path);
    free(f->path);
    free(f->partial_path);
    buf_release(&f->out);
    free(f);
}

uint64_t outfile_bytes(const struct outfile *f)
{
    return f->bytes;
}

const char *outfile_path(const struct outfile *f)
{
    return f->path ? f->path : "-";
}

int outfile_make_dirs(const char *dir, struct error *err)
{
    char path[4096];
    size_t len = strlen(dir);
    struct stat st;

    if (len == 0 || len >= sizeof path)
        return error_set(err, ERR_USAGE, "output directory name is empty or too long");
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return error_errno(err, ERR_IO, errno, "cannot create directory '%s'", path);
        path[i] = saved;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return error_set(err, ERR_IO, "'%s' is not a directory; give -o a directory", dir);
    return 0;
}
