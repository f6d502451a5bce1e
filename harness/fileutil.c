#include "fileutil.h"

#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_text(const char *path, size_t max, const char *what, char **out, size_t *len,
                   struct error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t got = 0;
    char *text;

    *out = NULL;
    if (fd < 0)
        return error_errno(err, ERR_IO, errno, "cannot open %s '%s'", what, path);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, ERR_INPUT, "%s '%s' is not a regular file", what, path);
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        return error_set(err, ERR_TOOBIG, "%s '%s' is %lld bytes; the limit is %zu", what, path,
                         (long long)st.st_size, max);
    }
    if (!(text = malloc((size_t)st.st_size + 1))) {
        close(fd);
        return error_set(err, ERR_NOMEM, "out of memory reading '%s'", path);
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            free(text);
            return error_errno(err, ERR_IO, e, "cannot read %s '%s'", what, path);
        }
        got += (size_t)n;
    }
    close(fd);
    text[got] = '\0';
    *out = text;
    if (len)
        *len = got;
    return 0;
}

void file_tail(const char *path, size_t max, char *out, size_t size)
{
    char *buf = malloc(max + 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    off_t end;
    ssize_t n = -1;

    out[0] = '\0';
    if (fd >= 0 && buf) {
        end = lseek(fd, 0, SEEK_END);
        lseek(fd, end > (off_t)max ? end - (off_t)max : 0, SEEK_SET);
        n = read(fd, buf, max);
        if (n > 0) {
            const char *start = buf;
            buf[n] = '\0';
            /* Cut mid-file: start at the next whole line. */
            if (end > (off_t)max && strchr(buf, '\n'))
                start = strchr(buf, '\n') + 1;
            snprintf(out, size, "%s", start);
        }
    }
    if (fd >= 0)
        close(fd);
    free(buf);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int file_remove_tree(const char *path)
{
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int file_write_atomic(const char *path, const char *data, size_t len, struct error *err)
{
    struct outfile *f;
    int rc;

    if ((rc = outfile_open(&f, path, len + 1, err)))
        return rc;
    if ((rc = buf_append(outfile_buf(f), data, len))) {
        outfile_discard(f);
        return error_set(err, rc, "cannot buffer '%s'", path);
    }
    if ((rc = outfile_commit(f, err))) {
        outfile_discard(f);
        return rc;
    }
    return outfile_close(f, err);
}
