#include "supervisor.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fileutil.h"
#include "guardian.h"
#include "journal.h"
#include "process.h"
#include "run_control.h"
#include "scenario.h"
#include "subst.h"

#define TICK_MS 20
#define TAIL_BYTES 1200
#define EXPANSION_MAX (64 * 1024)

extern char **environ;

enum svc_state {
    SVC_STOPPED,   /* never started */
    SVC_SPAWNING,  /* the supervisor thread is forking it */
    SVC_STARTING,  /* running, health check not passed yet */
    SVC_RUNNING,
    SVC_STOPPING,  /* stop signal sent */
    SVC_EXITED,
};

struct spawn_request {
    struct process_spec spec;
    int rc;
    struct error err;
    bool done;
};

struct svc {
    const struct scenario_service *def;
    int port;
    enum svc_state state;
    struct process proc;
    int starts;
    int64_t stop_deadline_us;
    int stop_signal;           /* the signal the current stop began with */
    bool kill_sent;
    char stdout_log[PATH_MAX], stderr_log[PATH_MAX];
    char exit_text[160];       /* how the last run ended */
    struct spawn_request *request;
    json_t *runs;              /* journal: one object per start */
    json_t *current;           /* borrowed from runs */
};

struct supervisor {
    struct supervisor_config cfg;
    pthread_mutex_t lock;
    pthread_cond_t cond;       /* any state change, any request */
    pthread_t thread;
    bool thread_started, quit;
    struct svc *svcs;
    size_t count;
    bool watch_reported;
};

static double offset_ms(const struct supervisor *sv)
{
    return (double)(run_clock_us() - sv->cfg.run_start_us) / 1000.0;
}

/* ---- the supervisor thread ------------------------------------------------ */

struct event {
    int service;               /* -1: the watched process */
    char description[160];
};

static void reap(struct supervisor *sv, struct svc *s, struct event *events, size_t *nevents)
{
    enum svc_state was = s->state;
    pid_t pid = s->proc.pid;

    /* The leader is gone; anything left of its group goes with it. */
    kill(-pid, SIGKILL);
    guardian_forget(sv->cfg.guardian, pid);
    process_describe_status(s->proc.status, s->exit_text, sizeof s->exit_text);
    s->state = SVC_EXITED;
    if (s->current) {
        json_object_set_new(s->current, "ended_ms", json_real(offset_ms(sv)));
        json_object_set_new(s->current, "exit", json_string(s->exit_text));
        json_object_set_new(s->current, "ended",
                            json_string(was == SVC_RUNNING    ? "crashed"
                                        : was == SVC_STARTING ? "exited_while_starting"
                                        : s->stop_signal == SIGKILL ? "killed"
                                        : s->kill_sent        ? "killed_after_stop_timeout"
                                                              : "stopped"));
        s->current = NULL;
    }
    if (events && was == SVC_RUNNING && *nevents < sv->count + 1) {
        events[*nevents].service = (int)(s - sv->svcs);
        snprintf(events[*nevents].description, sizeof events[*nevents].description, "%s",
                 s->exit_text);
        (*nevents)++;
    }
}

static void *supervisor_main(void *arg)
{
    struct supervisor *sv = arg;
    struct event *events = calloc(sv->count + 1, sizeof *events);

    pthread_mutex_lock(&sv->lock);
    while (!sv->quit) {
        size_t nevents = 0;
        for (size_t i = 0; i < sv->count; i++) {
            struct svc *s = &sv->svcs[i];
            if (s->request && !s->request->done) {
                struct spawn_request *req = s->request;
                error_init(&req->err);
                req->rc = process_spawn(&s->proc, &req->spec, &req->err);
                if (req->rc == 0)
                    guardian_watch(sv->cfg.guardian, s->proc.pid, SIGKILL);
                req->done = true;
                pthread_cond_broadcast(&sv->cond);
            }
            if (s->state == SVC_STARTING || s->state == SVC_RUNNING ||
                s->state == SVC_STOPPING) {
                if (process_poll(&s->proc)) {
                    reap(sv, s, events, &nevents);
                    pthread_cond_broadcast(&sv->cond);
                } else if (s->state == SVC_STOPPING && !s->kill_sent &&
                           run_clock_us() >= s->stop_deadline_us) {
                    process_signal(&s->proc, SIGKILL);
                    s->kill_sent = true;
                }
            }
        }
        if (sv->cfg.watch_pid > 0 && !sv->watch_reported) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            int r = waitid(P_PID, (id_t)sv->cfg.watch_pid, &si, WEXITED | WNOHANG | WNOWAIT);
            if ((r == 0 && si.si_pid == sv->cfg.watch_pid) || (r < 0 && errno == ECHILD)) {
                sv->watch_reported = true;
                if (events && nevents < sv->count + 1) {
                    struct event *e = &events[nevents++];
                    e->service = -1;
                    if (r == 0 && si.si_code == CLD_EXITED)
                        snprintf(e->description, sizeof e->description,
                                 "exited with status %d", si.si_status);
                    else if (r == 0)
                        snprintf(e->description, sizeof e->description,
                                 "killed by signal %d (%s)", si.si_status,
                                 strsignal(si.si_status));
                    else
                        snprintf(e->description, sizeof e->description, "is gone");
                }
            }
        }
        if (nevents) {
            pthread_mutex_unlock(&sv->lock);
            for (size_t i = 0; i < nevents; i++) {
                if (events[i].service >= 0 && sv->cfg.on_crash)
                    sv->cfg.on_crash(sv->cfg.ctx, events[i].service, events[i].description);
                else if (events[i].service < 0 && sv->cfg.on_watch_exit)
                    sv->cfg.on_watch_exit(sv->cfg.ctx, sv->cfg.watch_pid,
                                          events[i].description);
            }
            pthread_mutex_lock(&sv->lock);
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += TICK_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sv->cond, &sv->lock, &until);
    }
    pthread_mutex_unlock(&sv->lock);
    free(events);
    return NULL;
}

/* ---- setup ---------------------------------------------------------------- */

/* Distinct free loopback ports: all sockets stay bound until every port is
 * known, so no two services get the same one. */
static int allocate_ports(struct supervisor *sv, struct error *err)
{
    int *fds = calloc(sv->count + 1, sizeof *fds);
    int rc = 0;

    if (!fds)
        return error_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < sv->count; i++)
        fds[i] = -1;
    for (size_t i = 0; i < sv->count && !rc; i++) {
        struct sockaddr_in addr = {.sin_family = AF_INET};
        socklen_t len = sizeof addr;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&addr, sizeof addr) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&addr, &len) != 0)
            rc = error_errno(err, ERR_ENV, errno, "cannot find a free TCP port on 127.0.0.1");
        else
            sv->svcs[i].port = ntohs(addr.sin_port);
    }
    for (size_t i = 0; i < sv->count; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    return rc;
}

int supervisor_new(struct supervisor **out, const struct supervisor_config *cfg,
                   struct error *err)
{
    struct supervisor *sv = calloc(1, sizeof *sv);
    int rc;

    *out = NULL;
    if (!sv)
        return error_set(err, ERR_NOMEM, "out of memory");
    sv->cfg = *cfg;
    sv->count = cfg->scenario->service_count;
    sv->svcs = calloc(sv->count + 1, sizeof *sv->svcs);
    pthread_mutex_init(&sv->lock, NULL);
    pthread_cond_init(&sv->cond, NULL);
    if (!sv->svcs) {
        supervisor_free(sv);
        return error_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < sv->count; i++) {
        struct svc *s = &sv->svcs[i];
        s->def = &cfg->scenario->services[i];
        s->runs = json_array();
        snprintf(s->stdout_log, sizeof s->stdout_log, "%s/logs/%s.stdout.log", cfg->run_dir,
                 s->def->name);
        snprintf(s->stderr_log, sizeof s->stderr_log, "%s/logs/%s.stderr.log", cfg->run_dir,
                 s->def->name);
    }
    if ((rc = allocate_ports(sv, err))) {
        supervisor_free(sv);
        return rc;
    }
    if ((rc = pthread_create(&sv->thread, NULL, supervisor_main, sv)) != 0) {
        supervisor_free(sv);
        return error_errno(err, ERR_ENV, rc, "cannot start the supervisor thread");
    }
    sv->thread_started = true;
    *out = sv;
    return 0;
}

int supervisor_port(const struct supervisor *sv, int service)
{
    return sv->svcs[service].port;
}

static void wait_locked(struct supervisor *sv)
{
    pthread_cond_wait(&sv->cond, &sv->lock);
}

static void begin_stop_locked(struct supervisor *sv, struct svc *s, int sig, int64_t timeout_us)
{
    s->state = SVC_STOPPING;
    s->kill_sent = sig == SIGKILL; /* nothing to escalate to */
    s->stop_signal = sig;
    s->stop_deadline_us = run_clock_us() + timeout_us;
    process_signal(&s->proc, sig);
    /* A paused (SIGSTOP) service acts on its stop signal only once continued. */
    if (sig != SIGKILL)
        process_signal(&s->proc, SIGCONT);
    if (s->current)
        json_object_set_new(s->current, "stop_requested_ms", json_real(offset_ms(sv)));
    pthread_cond_broadcast(&sv->cond);
}

void supervisor_stop_all(struct supervisor *sv)
{
    bool waiting;

    if (!sv)
        return;
    pthread_mutex_lock(&sv->lock);
    for (size_t i = 0; i < sv->count; i++)
        if (sv->svcs[i].state == SVC_STARTING || sv->svcs[i].state == SVC_RUNNING)
            begin_stop_locked(sv, &sv->svcs[i], sv->svcs[i].def->stop_signal,
                              sv->svcs[i].def->stop_timeout_us);
    do {
        waiting = false;
        for (size_t i = 0; i < sv->count; i++)
            waiting = waiting || sv->svcs[i].state == SVC_STOPPING;
        if (waiting)
            wait_locked(sv);
    } while (waiting);
    pthread_mutex_unlock(&sv->lock);
}

void supervisor_free(struct supervisor *sv)
{
    if (!sv)
        return;
    if (sv->thread_started) {
        supervisor_stop_all(sv);
        pthread_mutex_lock(&sv->lock);
        sv->quit = true;
        pthread_cond_broadcast(&sv->cond);
        pthread_mutex_unlock(&sv->lock);
        pthread_join(sv->thread, NULL);
    }
    for (size_t i = 0; sv->svcs && i < sv->count; i++)
        json_decref(sv->svcs[i].runs);
    free(sv->svcs);
    pthread_cond_destroy(&sv->cond);
    pthread_mutex_destroy(&sv->lock);
    free(sv);
}

/* ---- start ---------------------------------------------------------------- */

static void free_strings(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

static int expand(struct supervisor *sv, int service, const struct subst *t, char **out,
                  struct error *err)
{
    struct buf b;
    int rc;
    buf_init(&b, EXPANSION_MAX);
    if ((rc = sv->cfg.expand(sv->cfg.ctx, service, t, &b, err))) {
        buf_release(&b);
        return rc;
    }
    *out = buf_take(&b, NULL);
    return 0;
}

/* argv, the environment (ours, with the service's variables replacing or
 * adding entries) and the working directory, all expanded. */
static int build_spec(struct supervisor *sv, int service, char ***argv, char ***env, char **cwd,
                      struct error *err)
{
    const struct scenario_service *def = sv->svcs[service].def;
    size_t ours = 0, n = 0;
    int rc = 0;

    *argv = calloc(def->argc + 1, sizeof **argv);
    while (environ[ours])
        ours++;
    *env = calloc(ours + def->env_count + 1, sizeof **env);
    *cwd = NULL;
    if (!*argv || !*env)
        return error_set(err, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < def->argc && !rc; i++)
        rc = expand(sv, service, def->argv[i], &(*argv)[i], err);
    for (size_t i = 0; i < ours && !rc; i++) {
        bool replaced = false;
        for (size_t k = 0; k < def->env_count && !replaced; k++) {
            size_t len = strlen(def->env[k].name);
            replaced = strncmp(environ[i], def->env[k].name, len) == 0 && environ[i][len] == '=';
        }
        if (!replaced && !((*env)[n++] = strdup(environ[i])))
            rc = error_set(err, ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < def->env_count && !rc; k++) {
        char *value;
        if ((rc = expand(sv, service, def->env[k].value, &value, err)))
            break;
        if (asprintf(&(*env)[n++], "%s=%s", def->env[k].name, value) < 0) {
            (*env)[--n] = NULL;
            rc = error_set(err, ERR_NOMEM, "out of memory");
        }
        free(value);
    }
    if (!rc && def->cwd && !(rc = expand(sv, service, def->cwd, cwd, err)) && (*cwd)[0] != '/') {
        char *abs;
        if (asprintf(&abs, "%s/%s", sv->cfg.scenario->dir, *cwd) < 0)
            return error_set(err, ERR_NOMEM, "out of memory");
        free(*cwd);
        *cwd = abs;
    }
    if (!rc && !*cwd && !(*cwd = strdup(sv->cfg.scenario->dir)))
        rc = error_set(err, ERR_NOMEM, "out of memory");
    return rc;
}

static void log_marker(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t ignored = write(fd, text, strlen(text));
        (void)ignored;
        close(fd);
    }
}

static size_t discard_body(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

/* One GET; returns the HTTP status, or 0 with the reason in why. */
static long probe(CURL *h, const char *url, long timeout_ms, char *why, size_t size)
{
    long status = 0;
    CURLcode rc;

    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never through a proxy: it is loopback */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        snprintf(why, size, "failed: %s", curl_easy_strerror(rc));
        return 0;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    snprintf(why, size, "answered %ld", status);
    return status;
}

static int exited_while_starting(struct supervisor *sv, struct svc *s, struct error *err)
{
    char tail[TAIL_BYTES + 1];
    const char *log = s->stderr_log;
    file_tail(s->stderr_log, TAIL_BYTES, tail, sizeof tail);
    if (!tail[0]) {
        log = s->stdout_log;
        file_tail(s->stdout_log, TAIL_BYTES, tail, sizeof tail);
    }
    (void)sv;
    return error_set(err, SUPERVISOR_SERVICE_FAILED,
                     "service '%s' %s while starting%s%s%s%s", s->def->name, s->exit_text,
                     tail[0] ? "; " : " (its logs are empty)", tail[0] ? log : "",
                     tail[0] ? " ends with:\n" : "", tail);
}

static int wait_healthy(struct supervisor *sv, struct svc *s, struct run_control *control,
                        json_t *outputs, struct error *err)
{
    const struct scenario_health *health = &s->def->health;
    int64_t start = run_clock_us(), deadline = start + health->timeout_us;
    char url[256], why[256] = "no attempt";
    long status = 0;
    int attempts = 0, rc = 0;
    CURL *h = curl_easy_init();

    if (!h)
        return error_set(err, ERR_NOMEM, "cannot create a curl handle");
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, health->path);
    json_object_set_new(outputs, "health_url", json_string(url));
    for (;;) {
        enum svc_state state;
        pthread_mutex_lock(&sv->lock);
        state = s->state;
        pthread_mutex_unlock(&sv->lock);
        if (state == SVC_EXITED) {
            rc = exited_while_starting(sv, s, err);
            break;
        }
        if (run_control_stopped(control)) {
            rc = error_set(err, ERR_INTERRUPTED, "interrupted while waiting for '%s' to be healthy",
                           s->def->name);
            break;
        }
        int64_t left_ms = (deadline - run_clock_us()) / 1000;
        attempts++;
        status = probe(h, url, left_ms > 1000 ? 1000 : left_ms < 50 ? 50 : (long)left_ms, why,
                       sizeof why);
        if (status == health->status)
            break;
        if (run_clock_us() >= deadline) {
            rc = error_set(err, SUPERVISOR_SERVICE_FAILED,
                           "service '%s' did not become healthy within %.3g s: GET %s: the last "
                           "attempt %s (expected status %d); see %s",
                           s->def->name, (double)health->timeout_us / 1e6, url, why,
                           health->status, s->stderr_log);
            break;
        }
        run_control_sleep(control, health->interval_us);
    }
    curl_easy_cleanup(h);
    json_object_set_new(outputs, "health_attempts", json_integer(attempts));
    return rc;
}

int supervisor_start(struct supervisor *sv, int service, struct run_control *control,
                     json_t *outputs, struct error *err)
{
    struct svc *s = &sv->svcs[service];
    struct spawn_request req;
    char **argv = NULL, **env = NULL, *cwd = NULL, stamp[40], marker[256];
    int64_t t0 = run_clock_us();
    int rc;

    if ((rc = build_spec(sv, service, &argv, &env, &cwd, err)))
        goto out;
    memset(&req, 0, sizeof req);
    req.spec = (struct process_spec){.argv = argv, .env = env, .cwd = cwd,
                                     .stdout_path = s->stdout_log, .stderr_path = s->stderr_log,
                                     .death_signal = SIGKILL};
    pthread_mutex_lock(&sv->lock);
    if (s->state != SVC_STOPPED && s->state != SVC_EXITED) {
        pthread_mutex_unlock(&sv->lock);
        rc = error_set(err, SUPERVISOR_SERVICE_FAILED,
                       "service '%s' is already running; stop it first, or use a restart step",
                       s->def->name);
        goto out;
    }
    s->starts++;
    journal_timestamp(stamp, sizeof stamp);
    snprintf(marker, sizeof marker, "=== rehearse: start %d of '%s' at %s ===\n", s->starts,
             s->def->name, stamp);
    log_marker(s->stdout_log, marker);
    log_marker(s->stderr_log, marker);
    s->request = &req;
    s->state = SVC_SPAWNING;
    pthread_cond_broadcast(&sv->cond);
    while (!req.done)
        wait_locked(sv);
    s->request = NULL;
    if (req.rc) {
        s->state = SVC_EXITED;
        snprintf(s->exit_text, sizeof s->exit_text, "could not be started");
        pthread_mutex_unlock(&sv->lock);
        rc = error_set(err, req.rc < 0 ? req.rc : ERR_ENV, "service '%s': %s", s->def->name,
                       req.err.message);
        goto out;
    }
    s->state = SVC_STARTING;
    s->current = json_object();
    json_object_set_new(s->current, "pid", json_integer(s->proc.pid));
    json_object_set_new(s->current, "started_ms", json_real(offset_ms(sv)));
    json_array_append_new(s->runs, s->current);
    json_object_set_new(outputs, "service", json_string(s->def->name));
    json_object_set_new(outputs, "pid", json_integer(s->proc.pid));
    json_object_set_new(outputs, "port", json_integer(s->port));
    pthread_mutex_unlock(&sv->lock);

    if (s->def->health.enabled && (rc = wait_healthy(sv, s, control, outputs, err)))
        goto out;

    pthread_mutex_lock(&sv->lock);
    if (s->state == SVC_STARTING) {
        s->state = SVC_RUNNING;
        if (s->current)
            json_object_set_new(s->current, "ready_ms", json_real(offset_ms(sv)));
    } else if (s->state == SVC_EXITED) {
        pthread_mutex_unlock(&sv->lock);
        rc = exited_while_starting(sv, s, err);
        goto out;
    }
    pthread_mutex_unlock(&sv->lock);
    json_object_set_new(outputs, "ready_ms", json_real((double)(run_clock_us() - t0) / 1000.0));
out:
    free_strings(argv);
    free_strings(env);
    free(cwd);
    return rc;
}

/* ---- stop ----------------------------------------------------------------- */

static int stop_service(struct supervisor *sv, int service, int sig, int64_t timeout_us,
                        json_t *outputs)
{
    struct svc *s = &sv->svcs[service];
    int64_t t0 = run_clock_us();
    char signame[32];

    json_object_set_new(outputs, "service", json_string(s->def->name));
    pthread_mutex_lock(&sv->lock);
    if (s->state != SVC_STARTING && s->state != SVC_RUNNING) {
        json_object_set_new(outputs, "was_running", json_false());
        if (s->state == SVC_EXITED)
            json_object_set_new(outputs, "exit", json_string(s->exit_text));
        pthread_mutex_unlock(&sv->lock);
        return 0;
    }
    json_object_set_new(outputs, "was_running", json_true());
    json_object_set_new(outputs, "pid", json_integer(s->proc.pid));
    snprintf(signame, sizeof signame, "SIG%s", sigabbrev_np(sig));
    json_object_set_new(outputs, "signal", json_string(signame));
    begin_stop_locked(sv, s, sig, timeout_us);
    while (s->state == SVC_STOPPING)
        wait_locked(sv);
    json_object_set_new(outputs, "killed_after_timeout",
                        json_boolean(s->kill_sent && sig != SIGKILL));
    json_object_set_new(outputs, "exit", json_string(s->exit_text));
    pthread_mutex_unlock(&sv->lock);
    json_object_set_new(outputs, "stop_ms", json_real((double)(run_clock_us() - t0) / 1000.0));
    return 0;
}

int supervisor_stop(struct supervisor *sv, int service, json_t *outputs, struct error *err)
{
    (void)err;
    return stop_service(sv, service, sv->svcs[service].def->stop_signal,
                        sv->svcs[service].def->stop_timeout_us, outputs);
}

int supervisor_kill(struct supervisor *sv, int service, json_t *outputs, struct error *err)
{
    (void)err;
    return stop_service(sv, service, SIGKILL, 0, outputs);
}

int supervisor_signal(struct supervisor *sv, int service, int sig, struct error *err)
{
    struct svc *s = &sv->svcs[service];
    int rc = 0;

    pthread_mutex_lock(&sv->lock);
    if (s->state != SVC_STARTING && s->state != SVC_RUNNING)
        rc = error_set(err, ERR_STATE, "service '%s' is not running", s->def->name);
    else
        process_signal(&s->proc, sig);
    pthread_mutex_unlock(&sv->lock);
    return rc;
}

void supervisor_url(const struct supervisor *sv, int service, char *out, size_t size)
{
    snprintf(out, size, "http://127.0.0.1:%d", sv->svcs[service].port);
}

/* ---- reporting ------------------------------------------------------------ */

static const char *state_name(enum svc_state state)
{
    switch (state) {
    case SVC_STOPPED: return "never_started";
    case SVC_SPAWNING: return "starting";
    case SVC_STARTING: return "starting";
    case SVC_RUNNING: return "running";
    case SVC_STOPPING: return "stopping";
    case SVC_EXITED: return "exited";
    }
    return "unknown";
}

json_t *supervisor_journal(struct supervisor *sv)
{
    json_t *list = json_array();
    char url[64];

    pthread_mutex_lock(&sv->lock);
    for (size_t i = 0; i < sv->count; i++) {
        struct svc *s = &sv->svcs[i];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", s->port);
        json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "name", s->def->name,
                              "port", s->port, "url", url, "state", state_name(s->state),
                              "stdout_log", s->stdout_log + strlen(sv->cfg.run_dir) + 1,
                              "stderr_log", s->stderr_log + strlen(sv->cfg.run_dir) + 1,
                              "runs", json_deep_copy(s->runs));
        json_array_append_new(list, o);
    }
    pthread_mutex_unlock(&sv->lock);
    return list;
}

size_t supervisor_running_pids(struct supervisor *sv, pid_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&sv->lock);
    for (size_t i = 0; i < sv->count && n < max; i++)
        if (sv->svcs[i].state == SVC_STARTING || sv->svcs[i].state == SVC_RUNNING ||
            sv->svcs[i].state == SVC_STOPPING)
            out[n++] = sv->svcs[i].proc.pid;
    pthread_mutex_unlock(&sv->lock);
    return n;
}
