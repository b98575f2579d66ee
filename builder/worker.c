/*
 * worker.c: the whole life of one claimed deployment (bld.h's contract),
 * in a process of its own.
 *
 *   BUILDING      clone at the exact commit -> detect (+ the project's
 *                 settings) -> install and build in the sandbox -> copy
 *                 the output to var/sites/<project>/<deployment>
 *   PROVISIONING  push the route to every edge -> promote in one
 *                 transaction -> snapshot, prune old artifacts
 *   PRODUCTION    or FAILED with its reason, or CANCELED on SIGTERM
 *
 * A dynamic app is built the same way, then its whole built tree moves to
 * var/apps/<project>/<deployment> and the worker stops at PROVISIONING
 * (BLD_WORKER_PROVISIONED): the loop's supervisor (apps.c) starts it,
 * checks its health and promotes it.  The worker never runs an app: apps
 * outlive workers, which die with shipoffd.
 *
 * Every state change is a conditional UPDATE (WHERE state = the state we
 * know), checked first with so_dstate_can(); the SQL trigger records the
 * event with its reason.  An UPDATE that matches nothing means someone
 * else moved the deployment (a cancel through the API): the worker stops.
 *
 * Route before promotion: the new artifact is complete on disk before its
 * route is pushed (a static site is healthy once its files are there), to
 * every edge at once, and the promotion commits as soon as one edge took
 * it: PostgreSQL never says PRODUCTION for a deployment no edge serves,
 * and an edge that is slow or silent holds no build up.  The promotion
 * publishes "promoted" on shipoff:events: the daemon's events path
 * (events.c) pushes the route to every edge and keeps trying the ones that
 * failed, every reconcile_interval.  When no edge takes the route (after
 * retries) the deployment fails with route_push_failed and the previous
 * PRODUCTION goes on being served.  If the promotion itself fails after
 * the push, the previous route is pushed back the same way.
 *
 * SIGTERM (the loop cancelling) is read from a signalfd: between steps,
 * and inside a build step by its poll loop, which kills the sandbox's
 * cgroup.  A BUILDING deployment becomes CANCELED; from PROVISIONING on
 * the worker finishes (the state machine has no cancel there, and it is
 * quick).
 *
 * The build dir var/builds/<deployment> is removed at the end, whatever
 * happened.  The previous PRODUCTION is never touched unless this one
 * replaces it.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_deploy.h"
#include "so_detect.h"
#include "so_env.h"
#include "so_fd.h"
#include "so_fetch.h"
#include "so_log.h"
#include "so_repo.h"
#include "so_state.h"
#include "bld.h"
#include "worker.h"


typedef struct {
    const so_config_t  *cfg;
    long long           id;
    char                dep[24];
    so_pg_t            *pg;
    so_redis_t         *redis;
    bld_log_t          *log;
    int                 sigfd;
    so_dstate_t         state;
    long long           started_ms;

    PGresult           *row;            /* what worker_load read */
    long long           project_id;
    char                proj[24];
    char                name[64];
    const char         *repo_url;       /* in row */
    const char         *branch;
    const char         *root_dir;
    char                commit[41];     /* "" : the branch head */
    so_detect_t         user;           /* the project's settings */
    so_detect_t         det;            /* what is used */

    char                builddir[PATH_MAX / 2];
    char                appdir[PATH_MAX];   /* for the build's cd only */

    /*
     * Held from before the build, which may rename anything in its tree:
     * the build dir, the checkout, the project's root dir (an app's tree)
     */
    int                 bfd;
    int                 srcfd;
    int                 rootfd;
    uid_t               uid;        /* the project's, its gid too */

    char                home[PATH_MAX];
    char                artifact[PATH_MAX];
    int                 published;
    int                 dynamic;        /* an app: handed over once built */

    bld_step_t          step;       /* the clone's and the build's */
} wk_t;

/* how a step ended, when it does not go on */
typedef enum {
    WK_GO = 0,
    WK_FAILED,                      /* FAILED recorded */
    WK_CANCELED,
    WK_RETRY,                       /* internal trouble */
    WK_HANDOVER                     /* an app built: the supervisor's */
} wk_end_t;

/* a step of the build: WK_GO to go on */
typedef wk_end_t (*wk_step_pt)(wk_t *w);


static int wk_signals(wk_t *w);
static int wk_canceled(wk_t *w);
static wk_end_t wk_cancel(wk_t *w);
static wk_end_t wk_fail(wk_t *w, const char *reason, int exit_code);
static wk_end_t wk_move(wk_t *w, so_dstate_t to, const char *reason,
    int exit_code, wk_end_t end);
static wk_end_t wk_lost(wk_t *w);
static wk_end_t wk_load(wk_t *w);
static wk_end_t wk_workdir(wk_t *w);
static wk_end_t wk_sandbox(wk_t *w);
static wk_end_t wk_step_end(wk_t *w, bld_step_end_t end,
    const bld_sandbox_result_t *res, const char *err, const char *failed);
static wk_end_t wk_clone(wk_t *w);
static wk_end_t wk_root(wk_t *w);
static wk_end_t wk_detect(wk_t *w);
static wk_end_t wk_build(wk_t *w);
static wk_end_t wk_publish(wk_t *w);
static wk_end_t wk_promote(wk_t *w);
static void wk_restore_route(wk_t *w, const char *host);
static PGresult *wk_query(wk_t *w, const char *name, const char *sql);
static void wk_exec(wk_t *w, const char *name, const char *sql);
static void wk_free(wk_t *w);



static int
wk_signals(wk_t *w)
{
    sigset_t  set;

    signal(SIGPIPE, SIG_IGN);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
        return SO_ERR;
    }

    w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return w->sigfd == -1 ? SO_ERR : SO_OK;
}


/* 1 once SIGTERM arrived; the signal stays pending for the next look */
static int
wk_canceled(wk_t *w)
{
    struct pollfd  p;

    p.fd = w->sigfd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 0) == 1;
}


static wk_end_t
wk_cancel(wk_t *w)
{
    bld_log_sys(w->log, "canceled");

    return w->state == SO_DS_BUILDING
           ? wk_move(w, SO_DS_CANCELED, "canceled", -1, WK_CANCELED)
           : WK_CANCELED;
}


/* the deployment moved under us: learn where it is and stop */
static wk_end_t
wk_lost(wk_t *w)
{
    PGresult    *res;
    so_dstate_t  s;

    res = wk_query(w, "worker_state",
                   "SELECT state FROM deployments WHERE id = $1");
    if (res == NULL || PQntuples(res) != 1
        || so_dstate_parse(&s, PQgetvalue(res, 0, 0)) != SO_OK)
    {
        PQclear(res);
        return WK_RETRY;
    }
    PQclear(res);

    so_log_warn("worker", "deployment=%s: moved to %s by someone else, "
                "stopping", w->dep, so_dstate_name(s));
    w->state = s;
    return s == SO_DS_CANCELED ? WK_CANCELED
           : s == SO_DS_FAILED ? WK_FAILED : WK_RETRY;
}


static wk_end_t
wk_fail(wk_t *w, const char *reason, int exit_code)
{
    bld_log_sys(w->log, "failed: %s", reason);

    return wk_move(w, SO_DS_FAILED, reason, exit_code, WK_FAILED);
}


/* from w->state to "to": end, or where someone else moved it first */
static wk_end_t
wk_move(wk_t *w, so_dstate_t to, const char *reason, int exit_code,
    wk_end_t end)
{
    switch (so_deploy_move(w->pg, w->id, w->state, to, reason, exit_code)) {
    case SO_OK:
        w->state = to;
        return end;
    case SO_EEXISTS:
        return wk_lost(w);
    default:
        return WK_RETRY;
    }
}


static wk_end_t
wk_load(wk_t *w)
{
    PGresult    *res;
    so_dstate_t  s;

#define WK_COL(i)  (PQgetisnull(res, 0, i) ? "" : PQgetvalue(res, 0, i))
#define WK_SET(f, i)                                                         \
    snprintf(w->user.f, sizeof(w->user.f), "%s", WK_COL(i))

    res = w->row = wk_query(w, "worker_load",
                            "SELECT d.state, d.branch, d.commit_sha, p.id,"
                            " p.name, p.repo_url, p.root_dir, p.kind,"
                            " p.framework, p.runtime, p.install_cmd,"
                            " p.build_cmd, p.run_cmd, p.output_dir"
                            " FROM deployments d JOIN projects p"
                            " ON p.id = d.project_id WHERE d.id = $1");
    if (res == NULL) {
        so_pg_failed(w->pg, "worker", "deployment=%s", w->dep);
        return WK_RETRY;
    }

    if (PQntuples(res) != 1) {
        so_log_error("worker", "deployment=%s: no such deployment", w->dep);
        return WK_FAILED;
    }

    if (so_dstate_parse(&s, PQgetvalue(res, 0, 0)) != SO_OK) {
        return WK_RETRY;
    }

    w->state = s;
    w->project_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    snprintf(w->proj, sizeof(w->proj), "%lld", w->project_id);
    snprintf(w->name, sizeof(w->name), "%s", PQgetvalue(res, 0, 4));
    snprintf(w->commit, sizeof(w->commit), "%s", WK_COL(2));
    w->branch = PQgetvalue(res, 0, 1);
    w->repo_url = PQgetvalue(res, 0, 5);
    w->root_dir = PQgetvalue(res, 0, 6);
    WK_SET(kind, 7);
    WK_SET(framework, 8);
    WK_SET(runtime, 9);
    WK_SET(install_cmd, 10);
    WK_SET(build_cmd, 11);
    WK_SET(run_cmd, 12);
    WK_SET(output_dir, 13);

#undef WK_SET
#undef WK_COL

    if (s != SO_DS_BUILDING) {
        so_log_warn("worker", "deployment=%s: is %s, not BUILDING", w->dep,
                    so_dstate_name(s));
        return s == SO_DS_CANCELED ? WK_CANCELED : WK_FAILED;
    }

    return WK_GO;
}


/*
 * The sandbox of the clone and the build steps: cgroups, what is hidden,
 * the one deadline of the whole build.  The work dir is handed to the
 * sandbox uid empty: everything in it is written by the sandbox.
 */
static wk_end_t
wk_sandbox(wk_t *w)
{
    char  name[64], err[SO_ERRLEN];

    snprintf(name, sizeof(name), "build-%s", w->dep);
    if (bld_step_init(&w->step, w->cfg, name, w->builddir, w->uid, err,
                      sizeof(err)) != SO_OK)
    {
        so_log_error("worker", "deployment=%s: %s", w->dep, err);
        bld_log_sys(w->log, "the sandbox is not available on this builder");
        return WK_RETRY;
    }

    if (mkdir(w->home, 0700) == -1
        || chown(w->home, w->uid, (gid_t) w->uid) == -1)
    {
        so_log_error("worker", "deployment=%s: preparing %s: %s", w->dep,
                     w->builddir, strerror(errno));
        return WK_RETRY;
    }

    w->step.deadline_ms = w->started_ms
                          + (long long) w->cfg->build_timeout * 1000;
    w->step.cancel_fd = w->sigfd;
    w->step.log = w->log;

    return WK_GO;
}


/* what a step that did not end well means for the deployment */
static wk_end_t
wk_step_end(wk_t *w, bld_step_end_t end, const bld_sandbox_result_t *res,
    const char *err, const char *failed)
{
    struct statvfs  vfs;
    char            reason[64];

    switch (end) {
    case BLD_STEP_OK:
        return WK_GO;

    case BLD_STEP_EXIT:
        /* the work dir's own file system (its quota) all but full */
        if (w->cfg->sandbox_disk > 0 && fstatvfs(w->bfd, &vfs) == 0
            && (unsigned long long) vfs.f_bavail * vfs.f_frsize < (1 << 20))
        {
            bld_log_sys(w->log, "the build filled its work dir (%zu MiB: "
                        "the builder's sandbox_disk)",
                        w->cfg->sandbox_disk >> 20);
            return wk_fail(w, "build_failed: disk quota", -1);
        }
        if (failed != NULL) {
            return wk_fail(w, failed, -1);
        }
        snprintf(reason, sizeof(reason), "build_failed: exit %d", res->code);
        return wk_fail(w, reason, res->code);

    case BLD_STEP_TIMEOUT:
        bld_log_sys(w->log, "the build ran over %d s: stopped",
                    w->cfg->build_timeout);
        return wk_fail(w, "build_timeout", -1);

    case BLD_STEP_OOM:
        bld_log_sys(w->log, "the build ran out of memory (%zu MiB)",
                    w->cfg->sandbox_memory >> 20);
        return wk_fail(w, "oom", -1);

    case BLD_STEP_CANCELED:
        return wk_cancel(w);

    case BLD_STEP_ERROR:
        break;
    }

    so_log_error("worker", "deployment=%s: sandbox: %s", w->dep, err);
    bld_log_sys(w->log, "could not run the step: %s", err);
    return failed != NULL ? wk_fail(w, failed, -1) : WK_RETRY;
}


static wk_end_t
wk_clone(wk_t *w)
{
    so_repo_url_t    url;
    bld_clone_req_t  req;
    bld_clone_t      c;
    bld_step_end_t   end;
    char             err[SO_ERRLEN], *token;
    wk_end_t         rc;

    bld_log_sys(w->log, "cloning %s (branch %s%s%s)", w->repo_url, w->branch,
                w->commit[0] ? ", commit " : "", w->commit);

    if (so_repo_check(&url, w->cfg, w->repo_url, err, sizeof(err)) != SO_OK)
    {
        bld_log_sys(w->log, "repository refused: %s", err);
        return wk_fail(w, "clone_failed", -1);
    }

    rc = wk_sandbox(w);
    if (rc != WK_GO) {
        return rc;
    }

    if (bld_source_token(&token, w->pg, w->cfg, w->project_id, w->repo_url)
        != SO_OK)
    {
        bld_log_sys(w->log, "the owner's GitHub token could not be read");
        return WK_RETRY;
    }

    req = (bld_clone_req_t) { w->repo_url, w->branch, w->commit, token,
                              NULL };

    end = bld_source_clone(&c, &req, &w->step, w->bfd, err, sizeof(err));

    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
    }

    rc = wk_step_end(w, end, NULL, err, "clone_failed");
    if (rc != WK_GO) {
        return rc;
    }

    bld_log_sys(w->log, "checked out %s: %s", c.sha, c.message);

    if (w->commit[0] == '\0') {
        snprintf(w->commit, sizeof(w->commit), "%s", c.sha);
        if (so_pg_exec(w->pg, "worker_commit",
                       "UPDATE deployments SET commit_sha = $2,"
                       " commit_message = coalesce(commit_message, $3)"
                       " WHERE id = $1",
                       SO_PG_PARAMS(w->dep, c.sha, c.message)) != SO_OK)
        {
            return WK_RETRY;
        }
    }

    return WK_GO;
}


/*
 * The checkout and the project's root dir as fds, held from here on: the
 * build owns the tree and may rename anything in it.
 */
static wk_end_t
wk_root(wk_t *w)
{
    char  err[SO_ERRLEN];

    w->srcfd = openat(w->bfd, "src", O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                      | O_CLOEXEC);
    if (w->srcfd == -1) {
        so_log_error("worker", "deployment=%s: the checkout: %s", w->dep,
                     strerror(errno));
        return WK_RETRY;
    }

    if (bld_source_open(&w->rootfd, w->srcfd, w->root_dir, err, sizeof(err))
        != SO_OK)
    {
        bld_log_sys(w->log, "root dir: %s", err);
        return wk_fail(w, "build_failed: root dir missing", -1);
    }

    if ((size_t) snprintf(w->appdir, sizeof(w->appdir), "%s/src/%s",
                          w->builddir, w->root_dir) >= sizeof(w->appdir))
    {
        bld_log_sys(w->log, "root dir: too long");
        return wk_fail(w, "build_failed: root dir missing", -1);
    }

    return WK_GO;
}


static wk_end_t
wk_detect(wk_t *w)
{
    int  rc;

    rc = so_detect(&w->det, w->appdir);
    if (rc != SO_OK && rc != SO_ENOTFOUND) {
        return wk_fail(w, "build_failed: detection failed", -1);
    }

    so_detect_merge(&w->det, &w->user);

    if (w->det.kind[0] == '\0') {
        bld_log_sys(w->log, "nothing recognised: no index.html, "
                    "package.json, requirements.txt, composer.json...; set "
                    "the project's kind and commands");
        return wk_fail(w, "build_failed: nothing to build", -1);
    }

    bld_log_sys(w->log, "detected %s%s%s (install: %s; build: %s; "
                "output: %s)", w->det.kind, w->det.framework[0] ? " " : "",
                w->det.framework,
                w->det.install_cmd[0] ? w->det.install_cmd : "none",
                w->det.build_cmd[0] ? w->det.build_cmd : "none",
                w->det.output_dir[0] ? w->det.output_dir : ".");

    if (so_pg_exec(w->pg, "worker_detected",
                   "UPDATE deployments SET kind = $2, framework = $3,"
                   " runtime = $4, run_cmd = $5 WHERE id = $1",
                   SO_PG_PARAMS(w->dep, w->det.kind,
                                w->det.framework[0] ? w->det.framework : NULL,
                                w->det.runtime[0] ? w->det.runtime : NULL,
                                w->det.run_cmd[0] ? w->det.run_cmd : NULL))
        != SO_OK)
    {
        return WK_RETRY;
    }

    w->dynamic = strcmp(w->det.kind, "dynamic") == 0;

    if (w->dynamic) {
        if (w->det.run_cmd[0] == '\0') {
            bld_log_sys(w->log, "no command to start the app: set the "
                        "project's run command");
            return wk_fail(w, "build_failed: no run command", -1);
        }

        bld_log_sys(w->log, "the app will start with: %s", w->det.run_cmd);
        snprintf(w->artifact, sizeof(w->artifact), "%s/apps/%s/%s",
                 w->cfg->var_dir, w->proj, w->dep);
    }

    return WK_GO;
}


static wk_end_t
wk_build(wk_t *w)
{
    bld_step_t            step;
    bld_sandbox_result_t  res;
    bld_step_end_t        end;
    json_t               *env;
    bld_env_t             envp;
    const char           *cmds[2];
    char                  err[SO_ERRLEN];
    size_t                i;
    wk_end_t              rc;

    env = NULL;
    rc = WK_RETRY;

    cmds[0] = w->det.install_cmd;
    cmds[1] = w->det.build_cmd;
    if (cmds[0][0] == '\0' && cmds[1][0] == '\0') {
        return WK_GO;
    }

    if (so_env_load(&env, w->pg, w->cfg, w->project_id, "build") != SO_OK) {
        return WK_RETRY;
    }

    memset(&envp, 0, sizeof(envp));
    bld_env_add(&envp, "PATH=" BLD_ENV_PATH);
    bld_env_add(&envp, "HOME=%s", w->home);
    bld_env_add(&envp, "LANG=C.UTF-8");
    bld_env_add(&envp, "CI=1");
    bld_env_add(&envp, "SHIPOFF=1");
    bld_env_add(&envp, "SHIPOFF_DEPLOYMENT_ID=%s", w->dep);
    bld_env_add(&envp, "SHIPOFF_PROJECT=%s", w->name);
    bld_env_add(&envp, "SHIPOFF_COMMIT_SHA=%s", w->commit);
    bld_env_add_vars(&envp, env, NULL);

    step = w->step;
    step.cwd = w->appdir;
    step.envp = (const char *const *) envp.list;

    for (i = 0; i < 2; i++) {
        if (cmds[i][0] == '\0') {
            continue;
        }

        bld_log_sys(w->log, "running %s", cmds[i]);

        end = bld_build_run(&step, cmds[i], &res, err, sizeof(err));
        rc = wk_step_end(w, end, &res, err, NULL);
        if (rc != WK_GO) {
            goto done;
        }
    }

    bld_log_sys(w->log, "build finished in %.1f s",
                (double) (so_now_ms() - w->started_ms) / 1000);
    rc = WK_GO;

done:

    bld_env_free(&envp);
    so_env_free(env);
    return rc;
}


static wk_end_t
wk_publish(wk_t *w)
{
    char  rel[PATH_MAX], dir[PATH_MAX];
    char  err[SO_ERRLEN];
    int   out, rc;

    out = -1;
    so_detect_output(&w->det, &w->user, w->appdir);
    snprintf(rel, sizeof(rel), "%s%s%s", w->root_dir,
             w->root_dir[0] ? "/" : "",
             w->det.output_dir[0] ? w->det.output_dir : ".");

    /*
     * The build is over and its processes dead: the tree holds still.
     * The output dir is found from the checkout's fd, not its name.
     */
    if (!w->dynamic
        && bld_source_open(&out, w->srcfd, rel, err, sizeof(err)) != SO_OK)
    {
        bld_log_sys(w->log, "output dir: %s", err);
        return wk_fail(w, "build_failed: output dir missing", -1);
    }

    /* an app's sandbox uid must reach its dir: x on apps/, nothing more */
    snprintf(dir, sizeof(dir), "%s/%s", w->cfg->var_dir,
             w->dynamic ? "apps" : "sites");
    mkdir(dir, w->dynamic ? 0711 : 0755);
    snprintf(dir, sizeof(dir), "%s/%s/%s", w->cfg->var_dir,
             w->dynamic ? "apps" : "sites", w->proj);
    if (mkdir(dir, w->dynamic ? 0711 : 0755) == -1 && errno != EEXIST) {
        so_log_error("worker", "deployment=%s: mkdir %s: %s", w->dep, dir,
                     strerror(errno));
        close(out);
        return WK_RETRY;
    }

    /* a retried job finds its own half-copied artifact */
    bld_remove_tree(w->cfg, w->artifact);

    bld_log_sys(w->log, "publishing %s", w->dynamic ? w->root_dir : rel);
    w->published = 1;

    /*
     * An app is its whole built tree, from the root dir held since before
     * the build (whatever the build put under its name), with its symlinks
     * (node_modules/.bin, a venv)
     */
    rc = bld_publish_copy(w->dynamic ? w->rootfd : out, w->uid, w->dynamic,
                          w->artifact, w->log, err, sizeof(err));
    so_fd_close(&out);

    if (rc != SO_OK) {
        bld_log_sys(w->log, "publish: %s", err);
        return wk_fail(w, "build_failed: publish failed", -1);
    }

    switch (bld_quota_disk(w->pg, w->cfg, w->id, w->project_id, w->artifact,
                           w->log))
    {
    case SO_OK:
        break;
    case SO_EQUOTA:
        return wk_fail(w, "quota_exceeded: disk", -1);
    default:
        return WK_RETRY;
    }

    if (so_pg_exec(w->pg, "worker_artifact",
                   "UPDATE deployments SET artifact_path = $2"
                   " WHERE id = $1",
                   SO_PG_PARAMS(w->dep, w->artifact)) != SO_OK)
    {
        return WK_RETRY;
    }

    if (wk_canceled(w)) {
        return wk_cancel(w);
    }

    return wk_move(w, SO_DS_PROVISIONING, "built", -1, WK_GO);
}


/* the edges get back the route of what PostgreSQL says serves now */
static void
wk_restore_route(wk_t *w, const char *host)
{
    json_t  *route;
    char     err[SO_ERRLEN];

    if (bld_edge_route_of(&route, w->pg, w->cfg, w->project_id) != SO_OK
        || bld_edge_push(w->cfg, host, route, err, sizeof(err))
           != SO_OK)
    {
        bld_log_sys(w->log, "could not restore the previous route; the "
                    "reconciler will");
    }

    json_decref(route);
}


/* a static site routed and promoted; an app handed over to the loop */
static wk_end_t
wk_promote(wk_t *w)
{
    json_t     *route;
    char        host[512], err[SO_ERRLEN], reason[SO_ERRLEN + 32];
    long long   prev;
    int         rc;

    if (w->dynamic) {
        bld_log_sys(w->log, "built in %.1f s: starting the app",
                    (double) (so_now_ms() - w->started_ms) / 1000);
        return WK_HANDOVER;
    }

    snprintf(host, sizeof(host), "%s.%s", w->name, w->cfg->apps_domain);
    route = bld_route_static(w->name, w->id, w->artifact, w->det.framework);
    if (route == NULL) {
        return WK_RETRY;
    }

    bld_log_sys(w->log, "routing %s to deployment %s", host, w->dep);

    /* returns once one edge took it, or every edge failed */
    rc = bld_edge_push(w->cfg, host, route, err, sizeof(err));
    json_decref(route);

    if (rc != SO_OK) {
        snprintf(reason, sizeof(reason), "route_push_failed: %s", err);
        return wk_fail(w, reason, -1);
    }

    /* with redis: the events path routes every edge, until each took it */
    rc = so_deploy_promote(&prev, w->pg, w->redis, w->id,
                           SO_DS_PROVISIONING, err, sizeof(err));
    if (rc != SO_OK) {
        wk_restore_route(w, host);
        if (rc == SO_EEXISTS || rc == SO_ENOTFOUND) {
            return wk_lost(w);
        }
        return wk_fail(w, "promotion_failed", -1);
    }

    w->state = SO_DS_PRODUCTION;

    if (bld_edge_snapshot(w->pg, w->cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("worker", "deployment=%s: route snapshot: %s", w->dep,
                     err);
    }

    bld_publish_prune(w->pg, w->cfg, w->project_id, w->log);

    bld_log_sys(w->log, "deployed in %.1f s",
                (double) (so_now_ms() - w->started_ms) / 1000);
    return WK_GO;
}


/* a query about this deployment ($1): so_pg_query()'s answer */
static PGresult *
wk_query(wk_t *w, const char *name, const char *sql)
{
    return so_pg_query(w->pg, name, sql, SO_PG_PARAMS(w->dep));
}


/* a statement about this deployment ($1) whose failure changes nothing */
static void
wk_exec(wk_t *w, const char *name, const char *sql)
{
    PQclear(wk_query(w, name, sql));
}


static void
wk_free(wk_t *w)
{
    so_fd_close(&w->bfd);
    so_fd_close(&w->srcfd);
    so_fd_close(&w->rootfd);
    bld_log_free(w->log);
    so_redis_free(w->redis);
    so_pg_free(w->pg);
    PQclear(w->row);
    so_fd_close(&w->sigfd);
}


/*
 * The build's work dir, var_dir/builds/ID, made afresh: a file system of
 * sandbox_disk (its disk quota) owned by the project's uid, held open as
 * w->bfd.
 */
static wk_end_t
wk_workdir(wk_t *w)
{
    const so_config_t  *cfg;
    char                err[SO_ERRLEN];

    cfg = w->cfg;

    if ((size_t) snprintf(w->builddir, sizeof(w->builddir), "%s/builds/%s",
                          cfg->var_dir, w->dep) >= sizeof(w->builddir))
    {
        so_log_error("worker", "var_dir is too long");
        w->builddir[0] = '\0';
        return WK_RETRY;
    }
    snprintf(w->home, sizeof(w->home), "%s/home", w->builddir);
    snprintf(w->artifact, sizeof(w->artifact), "%s/sites/%s/%s",
             cfg->var_dir, w->proj, w->dep);

    /* the build runs as the project's uid, which owns its work dir */
    if (bld_project_uid(&w->uid, w->pg, cfg, w->project_id) != SO_OK) {
        return WK_RETRY;
    }

    if (bld_workfs_open(&w->bfd, cfg, w->builddir, cfg->sandbox_disk,
                        w->uid, err, sizeof(err)) != SO_OK)
    {
        so_log_error("worker", "deployment=%s: the work dir %s: %s", w->dep,
                     w->builddir, err);
        bld_log_sys(w->log,
                    "the work dir could not be made on this builder");
        return WK_RETRY;
    }

    return WK_GO;
}


int
bld_worker_run(const so_config_t *cfg, long long deployment_id)
{
    static const wk_step_pt  steps[] = {
        wk_workdir, wk_clone, wk_root, wk_detect, wk_build, wk_publish,
        wk_promote
    };
    wk_t                     w;
    wk_end_t                 end;
    size_t                   i;

    memset(&w, 0, sizeof(w));
    w.cfg = cfg;
    w.id = deployment_id;
    w.sigfd = -1;
    w.bfd = w.srcfd = w.rootfd = -1;
    w.started_ms = so_now_ms();
    snprintf(w.dep, sizeof(w.dep), "%lld", deployment_id);
    end = WK_RETRY;

    if (wk_signals(&w) != SO_OK || so_fetch_init() != SO_OK)
    {
        so_log_error("worker", "deployment=%s: cannot start: %s", w.dep,
                     strerror(errno));
        goto done;
    }

    w.pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    if (w.pg == NULL || so_pg_connect(w.pg) != SO_OK) {
        so_log_error("worker", "deployment=%s: PostgreSQL is down", w.dep);
        goto done;
    }

    /* Redis only carries the live tail: the build goes on without it */
    w.redis = so_redis_new(cfg->redis_host, cfg->redis_port,
                           cfg->redis_timeout);

    end = wk_load(&w);
    if (end != WK_GO) {
        goto done;
    }

    if (bld_log_new(&w.log, w.pg, w.redis, cfg, w.id, w.project_id)
        != SO_OK)
    {
        end = WK_RETRY;
        goto done;
    }

    wk_exec(&w, "worker_started",
            "UPDATE deployments SET started_at = coalesce(started_at, now())"
            " WHERE id = $1");

    /* a cancel is seen between the steps until PROVISIONING, from which
       the worker finishes */
    for (i = 0; end == WK_GO && i < so_nelems(steps); i++) {
        end = w.state == SO_DS_BUILDING && wk_canceled(&w) ? wk_cancel(&w)
              : steps[i](&w);
    }

    bld_workfs_close(cfg, w.builddir);

    /* an artifact that never served is of no use */
    if (end != WK_GO && end != WK_HANDOVER && w.published) {
        wk_exec(&w, "worker_drop_artifact",
                "UPDATE deployments SET artifact_path = NULL"
                " WHERE id = $1 AND state <> 'PRODUCTION'");
        bld_remove_tree(cfg, w.artifact);
    }

    if (end == WK_RETRY) {
        bld_log_sys(w.log, "internal trouble: the deployment will be "
                    "retried");
    }
    /* a handed-over app's log goes on under the supervisor: no end */
    if (end != WK_HANDOVER) {
        bld_log_end(w.log, so_dstate_name(w.state));
    }

done:

    wk_free(&w);
    so_fetch_cleanup();

    return end == WK_GO ? BLD_WORKER_DONE
           : end == WK_HANDOVER ? BLD_WORKER_PROVISIONED
           : end == WK_FAILED ? BLD_WORKER_FAILED
           : end == WK_CANCELED ? BLD_WORKER_CANCELED : BLD_WORKER_RETRY;
}
