/*
 * fixture_server.h — start a fixture server program (build/fixtures/NAME)
 * for a test and stop it again.  The program must print the TCP port it
 * listens on as its first line of standard output (http_recorder does).
 */
#ifndef REHEARSE_FIXTURE_SERVER_H
#define REHEARSE_FIXTURE_SERVER_H

#include <sys/types.h>

struct fixture_server {
    pid_t pid;
    int port;
    char url[64];  /* http://127.0.0.1:PORT */
};

/* Start `name` with the NULL-terminated arguments; 0 once it listens. */
int fixture_server_start(struct fixture_server *s, const char *name, const char *const args[]);
/* SIGTERM, then wait (SIGKILL after a few seconds). */
void fixture_server_stop(struct fixture_server *s);
/* Stop every server this process started and has not stopped (call it in a
 * suite's .fini: a failed assertion skips the rest of the test). */
void fixture_server_stop_all(void);

#endif
