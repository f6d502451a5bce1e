#include "conformance.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *test_conformance_dir(const char *suite)
{
    static char found[PATH_MAX];
    const char *env = getenv("REHEARSE_CONFORMANCE_DIR");
    char cwd[PATH_MAX];

    if (env && *env) {
        snprintf(found, sizeof found, "%s/%s", env, suite);
        return is_dir(found) ? found : NULL;
    }
    if (!getcwd(cwd, sizeof cwd))
        return NULL;
    /* ../shared/conformance, then ../../shared/conformance, ... */
    for (int up = 1; up <= 3; up++) {
        char *slash;
        if (!(slash = strrchr(cwd, '/')) || slash == cwd)
            break;
        *slash = '\0';
        snprintf(found, sizeof found, "%s/shared/conformance/%s", cwd, suite);
        if (is_dir(found))
            return found;
    }
    return NULL;
}
