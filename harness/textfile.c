#include "textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int textfile_read(const char *path, size_t max, const char *what, char **out, size_t *len,
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
