/*
 * build.c: one build command (install, build) in the sandbox, its output
 * streamed line by line into the log pipeline as it comes.
 *
 * The command is "/bin/sh -c" in the sandbox's work dir, after a cd to
 * the project's directory inside it (the work dir also holds HOME).  One
 * poll() watches stdout, stderr, the sandbox's pidfd and deadline and the
 * worker's cancel fd (its signalfd for SIGTERM), and wakes every 200 ms so
 * the log batches reach PostgreSQL while a quiet build runs.  The
 * deadline is the whole build's: each step gets what is left of it.
 * Each step runs in a network namespace of its own (netns.c): outbound
 * access only.  A clone (step->host_net) shares the host's: what runs is
 * shipoffd's own code, and it must reach the repository's host, which
 * so_repo_check allowed, on the host's loopback or network included when
 * the configuration allows private repositories.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_fd.h"
#include "worker.h"

#define BUILD_POLL_MS  200

typedef struct {
    int          fd;
    const char  *stream;
    char         buf[BLD_LOG_LINE_MAX];
    size_t       len;
} build_out_t;


static int build_read(build_out_t *o, bld_log_t *log);
static int build_watch(const bld_step_t *step, bld_sandbox_t *sb,
    build_out_t *out, bld_sandbox_result_t *res, int *canceled, char *err,
    size_t errlen);


/* 1 while the pipe is open */
static int
build_read(build_out_t *o, bld_log_t *log)
{
    ssize_t   n;
    char     *nl, *p;
    size_t    rest;

    n = read(o->fd, o->buf + o->len, sizeof(o->buf) - o->len);
    if (n < 0) {
        return errno == EINTR || errno == EAGAIN;
    }

    if (n == 0) {
        if (o->len > 0) {
            bld_log_line(log, o->stream, o->buf, o->len);
        }
        return 0;
    }

    o->len += (size_t) n;
    p = o->buf;
    rest = o->len;

    while ((nl = memchr(p, '\n', rest)) != NULL) {
        bld_log_line(log, o->stream, p, (size_t) (nl - p));
        rest -= (size_t) (nl - p) + 1;
        p = nl + 1;
    }

    /* a line longer than the buffer is cut into pieces */
    if (rest == sizeof(o->buf)) {
        bld_log_line(log, o->stream, p, rest);
        rest = 0;
    }

    memmove(o->buf, p, rest);
    o->len = rest;
    return 1;
}


int
bld_step_init(bld_step_t *step, const so_config_t *cfg, const char *name,
    const char *workdir, uid_t uid, char *err, size_t errlen)
{
    memset(step, 0, sizeof(*step));

    if (bld_cgroup_sys_init(&step->cgroups, cfg->sandbox_cgroup_parent)
        != SO_OK)
    {
        snprintf(err, errlen, "cgroups: %s", step->cgroups.errstr);
        return SO_ERR;
    }

    bld_cgroup_remove(&step->cgroups, name);

    step->cfg = cfg;
    snprintf(step->name, sizeof(step->name), "%s", name);
    step->workdir = workdir;
    step->cwd = workdir;
    bld_build_hidden(step->hidden, cfg);
    step->uid = uid;
    step->cancel_fd = -1;

    return SO_OK;
}


const char *const *
bld_build_hidden(const char **hidden, const so_config_t *cfg)
{
    size_t  h;

    h = 0;
    hidden[h++] = cfg->var_dir;
    if (cfg->secrets_file != NULL
        && strncmp(cfg->secrets_file, cfg->var_dir, strlen(cfg->var_dir))
           != 0)
    {
        hidden[h++] = cfg->secrets_file;
    }
    hidden[h++] = "/root";
    hidden[h++] = "/home";
    hidden[h++] = "/run/postgresql";       /* /var/run is a link to it */
    hidden[h] = NULL;

    return hidden;
}


void
bld_env_add(bld_env_t *env, const char *fmt, ...)
{
    va_list  ap;

    if (env->n == BLD_ENV_MAX) {
        return;
    }

    va_start(ap, fmt);
    if (vasprintf(&env->list[env->n], fmt, ap) != -1) {
        env->n++;
    } else {
        env->list[env->n] = NULL;
    }
    va_end(ap);
}


void
bld_env_add_vars(bld_env_t *env, json_t *vars, const char *const *skip)
{
    json_t       *v;
    const char   *key;
    size_t        i;

    json_object_foreach(vars, key, v) {
        for (i = 0; skip != NULL && skip[i] != NULL; i++) {
            if (strcmp(key, skip[i]) == 0) {
                break;
            }
        }

        if (json_is_string(v)
            && strlen(json_string_value(v)) == json_string_length(v)
            && (skip == NULL || skip[i] == NULL))
        {
            bld_env_add(env, "%s=%s", key, json_string_value(v));
        }
    }
}


void
bld_env_free(bld_env_t *env)
{
    size_t  i;

    for (i = 0; i < env->n; i++) {
        so_wipe(env->list[i], strlen(env->list[i]));
        free(env->list[i]);
    }
    memset(env, 0, sizeof(*env));
}


bld_step_end_t
bld_build_run(const bld_step_t *step, const char *cmd,
    bld_sandbox_result_t *res, char *err, size_t errlen)
{
    bld_sandbox_opts_t  o;
    bld_sandbox_t       sb;
    build_out_t         out[2] = { { -1, "stdout", "", 0 },
                                   { -1, "stderr", "", 0 } };
    bld_step_end_t      end;
    /* $1 is the directory, $2 the command: nothing of either is parsed
       by the outer shell */
    const char         *argv[] = { "/bin/sh", "-c",
                                   "cd \"$1\" && eval \"$2\"", "sh",
                                   step->cwd, cmd, NULL };
    long long           left;
    int                 pipes[2][2] = { { -1, -1 }, { -1, -1 } };
    int                 i, canceled;

    memset(res, 0, sizeof(*res));
    memset(&sb, 0, sizeof(sb));
    sb.pidfd = -1;
    sb.timerfd = -1;
    err[0] = '\0';
    canceled = 0;
    end = BLD_STEP_ERROR;

    left = step->deadline_ms - so_now_ms();
    if (left <= 0) {
        res->status = BLD_SB_TIMEOUT;
        return BLD_STEP_TIMEOUT;
    }

    if (pipe2(pipes[0], O_CLOEXEC) == -1 || pipe2(pipes[1], O_CLOEXEC) == -1)
    {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto done;
    }

    memset(&o, 0, sizeof(o));
    o.cfg = step->cfg;
    o.cgroups = &step->cgroups;
    o.name = step->name;
    o.argv = argv;
    o.envp = step->envp;
    o.workdir = step->workdir;
    o.hidden = step->hidden;
    o.ro_binds = step->ro_binds;
    o.uid = step->uid;
    o.stdout_fd = pipes[0][1];
    o.stderr_fd = pipes[1][1];
    o.share_net = step->host_net;
    o.own_net = !step->host_net;
    o.timeout_ms = (unsigned) left;

    if (bld_sandbox_spawn(&sb, &o) != SO_OK) {
        snprintf(err, errlen, "%s", sb.errstr);
        goto done;
    }

    for (i = 0; i < 2; i++) {
        close(pipes[i][1]);
        out[i].fd = pipes[i][0];
        pipes[i][0] = pipes[i][1] = -1;
    }

    if (build_watch(step, &sb, out, res, &canceled, err, errlen) != SO_OK) {
        goto done;
    }

    end = canceled ? BLD_STEP_CANCELED
          : res->status == BLD_SB_TIMEOUT ? BLD_STEP_TIMEOUT
          : res->status == BLD_SB_OOM ? BLD_STEP_OOM
          : res->status == BLD_SB_EXITED && res->code == 0 ? BLD_STEP_OK
          : BLD_STEP_EXIT;

done:

    for (i = 0; i < 2; i++) {
        so_fd_close(&pipes[i][0]);
        so_fd_close(&pipes[i][1]);
        so_fd_close(&out[i].fd);
    }

    bld_sandbox_free(&sb);
    bld_log_flush(step->log, 1);
    return end;
}


/*
 * Until the sandbox is done and both its outputs closed: its lines into
 * the step's log, its timer and a cancel (step->cancel_fd) expire it.
 * SO_OK with res set, SO_ERR with err.
 */
static int
build_watch(const bld_step_t *step, bld_sandbox_t *sb, build_out_t *out,
    bld_sandbox_result_t *res, int *canceled, char *err, size_t errlen)
{
    struct pollfd  pfd[5];
    int            i, nfd, open_fds, done;

    open_fds = 2;
    done = 0;

    while (!done || open_fds > 0) {
        nfd = 0;
        for (i = 0; i < 2; i++) {
            pfd[nfd].fd = out[i].fd;        /* -1: ignored by poll */
            pfd[nfd++].events = POLLIN;
        }
        pfd[nfd].fd = done ? -1 : sb->timerfd;
        pfd[nfd++].events = POLLIN;
        pfd[nfd].fd = done || *canceled ? -1 : step->cancel_fd;
        pfd[nfd++].events = POLLIN;
        pfd[nfd].fd = done ? -1 : sb->pidfd;
        pfd[nfd++].events = POLLIN;

        if (poll(pfd, (nfds_t) nfd, BUILD_POLL_MS) == -1 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return SO_ERR;
        }

        for (i = 0; i < 2; i++) {
            if (out[i].fd != -1 && (pfd[i].revents & (POLLIN | POLLHUP))
                && !build_read(&out[i], step->log))
            {
                so_fd_close(&out[i].fd);
                open_fds--;
            }
        }

        if (pfd[2].fd != -1 && (pfd[2].revents & POLLIN)) {
            bld_sandbox_expire(sb);
        }

        /* the signal stays pending in the signalfd: the worker reads it */
        if (pfd[3].fd != -1 && (pfd[3].revents & POLLIN)) {
            *canceled = 1;
            bld_sandbox_expire(sb);
        }

        if (!done) {
            if (bld_sandbox_reap(sb, res) != SO_OK) {
                snprintf(err, errlen, "%s", sb->errstr);
                return SO_ERR;
            }
            done = res->status != BLD_SB_RUNNING;
        }

        /* a background process may hold the pipes open after the end:
           the reap killed the cgroup, so they close now */
        bld_log_flush(step->log, 0);
    }

    return SO_OK;
}
