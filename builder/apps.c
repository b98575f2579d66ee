/*
 * apps.c: the supervisor of dynamic apps, inside shipoffd's loop.
 *
 * An app is a deployment's built tree (var/apps/<project>/<deployment>,
 * published by its worker, which then hands the deployment over still
 * PROVISIONING) run by its run command in the sandbox: a cgroup of its
 * own (cgroup "app-<deployment>"), a network namespace of its own
 * (netns.c: outbound access only, reached by nginx at its veth address),
 * bubblewrap with the host's root read-only, its tree a writable
 * copy-on-write view with /tmp as HOME (appfs.c: its disk quota), as the
 * project's uid (uid.c), with PORT, HOST=0.0.0.0 and the project's runtime
 * variables, secrets included.  It is not tied to shipoffd: bwrap runs
 * without --die-with-parent in a session of its own, its output goes to
 * two files beside its tree (<deployment>.stdout, .stderr: a file, unlike
 * a pipe, outlives the reader) that the loop tails every tick into the
 * deployment's log pipeline.  So a stopped or killed shipoffd leaves its
 * apps serving; the one that starts next reads app_processes
 * (sql/0010_apps.sql), checks that each pid is alive and in the cgroup it
 * should be in, and adopts it (watching it through a pidfd as before).
 *
 * Life of one app, each step done by the loop's tick, nothing blocking:
 *
 *   STARTING  the health check (a connect and GET health_path, any HTTP
 *             status line counts, appio.c) is tried every 5 ms until
 *             startup_timeout, when the cgroup is killed.  Healthy: the
 *             route (running, ADDRESS:PORT) goes to every edge, then a
 *             PROVISIONING deployment is promoted (so_deploy_promote()),
 *             and every other app of the project is drained.  A failure of a
 *             PROVISIONING deployment (timeout, OOM, exit) is FAILED with
 *             its reason and its artifact dropped; the app before it
 *             never stopped serving.
 *   RUNNING   until it exits (a crash: the route is set sleeping and the
 *             app started again after a backoff of 1 s doubling to 60 s,
 *             reset once it ran a minute), is replaced, or idles (scaler.c).
 *   DRAINING  no longer routed: kept app_drain seconds for the requests
 *             it still serves, then SIGTERM to every process of its
 *             cgroup ...
 *   STOPPING  ... and app_stop_grace seconds later the cgroup is killed.
 *
 * A rollback (events.c) starts the kept artifact of the deployment the API
 * promoted the same way, without the promotion.  A wake (scaler.c) starts
 * the PRODUCTION deployment's app again.
 *
 * An actor of shipoffd (apps.h): the only writer of an app's fields.  The
 * transitions above are decided by bld_app_next() (appstate.c) and applied
 * here; the scaler, events and the builds ask through apps.h, and the
 * loop calls the tick and the check.
 */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_env.h"
#include "so_fd.h"
#include "so_log.h"
#include "edgeq.h"
#include "apps.h"
#include "worker.h"


#define APP_TICK_MS        5       /* the loop's tick while one starts */

/* set by shipoffd: a project's variable of that name does not replace it */
static const char *const  app_env_ours[] = { "PORT", "HOST", NULL };


static bld_app_t *app_new(bld_apps_t *a, long long deployment);
static void app_free(bld_apps_t *a, bld_app_t *app);
static void app_fill(bld_app_t *app, PGresult *res, int i, int c);
static int app_load(bld_apps_t *a, bld_app_t *app, char *dir,
    size_t dirlen, char *cmd, size_t cmdlen);
static int app_prepare(bld_apps_t *a, bld_app_t *app, bld_env_t *envp,
    const char *dir, int *wfd);
static void app_spawn_failed(bld_app_t *app, const char *err);
static int app_spawn(bld_apps_t *a, bld_app_t *app);
static int app_start(bld_apps_t *a, long long deployment);
static void app_save(bld_apps_t *a, bld_app_t *app, const char *state);
static void app_delete(bld_apps_t *a, const char *name, const char *sql,
    long long id);
static void app_forget(bld_apps_t *a, long long deployment);
static void app_ready(bld_apps_t *a, bld_app_t *app);
static int app_reap(bld_apps_t *a, bld_app_t *app, uint64_t *oom);
static void app_ended(bld_apps_t *a, bld_app_t *app, const char *why);
static void app_backoff(bld_apps_t *a, bld_app_t *app);
static void app_fail(bld_apps_t *a, bld_app_t *app, const char *reason,
    int code);
static void app_give_up(bld_apps_t *a, bld_app_t *app, const char *reason,
    int code, int restart);
static int app_dstate(bld_apps_t *a, long long deployment);
static void app_retire_others(bld_apps_t *a, long long project,
    long long deployment);
static void app_pushed(void *data, const bld_edge_result_t *r);
static int app_push(bld_apps_t *a, bld_app_t *app, int running,
    int promote);
static void app_promote(bld_apps_t *a, bld_app_t *app,
    const bld_edge_result_t *r);
static void app_snapshot(bld_apps_t *a);
static int app_in_cgroup(pid_t pid, const char *cgroup);
static void app_adopt(bld_apps_t *a, PGresult *res, int i);
static int app_log_new(bld_apps_t *a, bld_app_t *app);
static void app_watch(bld_apps_t *a, bld_app_t *app, pid_t pid, int pidfd);
static bld_app_t *app_find(bld_apps_t *a, long long deployment);
static bld_app_t *app_by_pidfd(const bld_apps_t *a, int fd);
static void app_drain(bld_apps_t *a, bld_app_t *app, int to_sleep);
static void app_revive(bld_apps_t *a, bld_app_t *app,
    bld_app_action_t action);


static bld_app_t *
app_new(bld_apps_t *a, long long deployment)
{
    bld_app_t  *app;

    if (a->napps == BLD_MAX_APPS) {
        so_log_error("apps", "deployment=%lld: %d apps already: not "
                     "started", deployment, BLD_MAX_APPS);
        return NULL;
    }

    app = calloc(1, sizeof(bld_app_t));
    if (app == NULL) {
        return NULL;
    }

    app->deployment = deployment;
    app->pidfd = -1;
    app->probe_fd = -1;
    app->out[0] = -1;
    app->out[1] = -1;

    a->apps[a->napps++] = app;
    return app;
}


/* the process must be gone (or never was, or left running: at exit) */
static void
app_free(bld_apps_t *a, bld_app_t *app)
{
    int  i;

    if (app == NULL) {
        return;
    }

    for (i = 0; i < a->napps; i++) {
        if (a->apps[i] == app) {
            a->apps[i] = a->apps[--a->napps];
            break;
        }
    }

    if (app->pidfd != -1) {
        (void) epoll_ctl(a->b->epfd, EPOLL_CTL_DEL, app->pidfd, NULL);
        close(app->pidfd);
    }

    so_fd_close(&app->probe_fd);

    for (i = 0; i < 2; i++) {
        so_fd_close(&app->out[i]);
        free(app->part[i]);
    }

    bld_log_free(app->log);
    free(app);
}


static bld_app_t *
app_find(bld_apps_t *a, long long deployment)
{
    int  i;

    for (i = 0; i < a->napps; i++) {
        if (a->apps[i]->deployment == deployment) {
            return a->apps[i];
        }
    }

    return NULL;
}


static bld_app_t *
app_by_pidfd(const bld_apps_t *a, int fd)
{
    int  i;

    for (i = 0; i < a->napps; i++) {
        if (a->apps[i]->pidfd == fd) {
            return a->apps[i];
        }
    }

    return NULL;
}


int
bld_app_is_ours(const bld_apps_t *a, int fd)
{
    return app_by_pidfd(a, fd) != NULL;
}


int
bld_apps_wait_ms(const bld_apps_t *a)
{
    int  i;

    for (i = 0; i < a->napps; i++) {
        if (a->apps[i]->state == BLD_APP_STARTING) {
            return APP_TICK_MS;
        }
    }

    return -1;
}


static void
app_save(bld_apps_t *a, bld_app_t *app, const char *state)
{
    char  dep[24], proj[24], port[16], pid[24], restarts[16];
    int   alive;

    alive = strcmp(state, "sleeping") != 0;

    snprintf(dep, sizeof(dep), "%lld", app->deployment);
    snprintf(proj, sizeof(proj), "%lld", app->project);
    snprintf(port, sizeof(port), "%d", app->port);
    snprintf(pid, sizeof(pid), "%ld", (long) app->pid);
    snprintf(restarts, sizeof(restarts), "%d", app->restarts);

    if (so_pg_exec(a->b->pg, "apps_save",
                   "INSERT INTO app_processes (deployment_id, project_id,"
                   " owner, state, port, pid, cgroup, started_at,"
                   " restarts, address) VALUES ($1, $2, $3, $4, $5, $6,"
                   " $7, CASE WHEN $6::int IS NULL THEN NULL ELSE now()"
                   " END, $8, $9)"
                   " ON CONFLICT (deployment_id) DO UPDATE SET"
                   " owner = $3, state = $4, port = $5, pid = $6,"
                   " cgroup = $7, restarts = $8, address = $9,"
                   " updated_at = now(),"
                   " started_at = CASE WHEN app_processes.pid"
                   " IS NOT DISTINCT FROM $6::int"
                   " THEN app_processes.started_at ELSE now() END",
                   SO_PG_PARAMS(dep, proj, a->owner, state,
                                app->port > 0 ? port : NULL,
                                alive && app->pid > 0 ? pid : NULL,
                                alive && app->cg.name[0] ? app->cg.name : NULL,
                                restarts, app->addr[0] ? app->addr : NULL))
        != SO_OK)
    {
        so_pg_failed(a->b->pg, "apps", "deployment=%lld: saving its state (%s)",
                     app->deployment, state);
    }
}


/* runs a DELETE of this supervisor's rows ($2) of id ($1) */
static void
app_delete(bld_apps_t *a, const char *name, const char *sql, long long id)
{
    char  ids[24];

    snprintf(ids, sizeof(ids), "%lld", id);

    (void) so_pg_exec(a->b->pg, name, sql, SO_PG_PARAMS(ids, a->owner));
}


/* deployment's row goes, and its app when it runs here */
static void
app_forget(bld_apps_t *a, long long deployment)
{
    app_delete(a, "apps_forget", "DELETE FROM app_processes"
               " WHERE deployment_id = $1 AND owner = $2", deployment);
    app_free(a, app_find(a, deployment));
}


/*
 * app's project, name, health path and protocol from row i of res: its
 * columns from c on are the project's id, name and health path, then the
 * deployment's tree and run command
 */
static void
app_fill(bld_app_t *app, PGresult *res, int i, int c)
{
    const char  *health;

    health = PQgetvalue(res, i, c + 2);

    app->project = strtoll(PQgetvalue(res, i, c), NULL, 10);
    snprintf(app->name, sizeof(app->name), "%s", PQgetvalue(res, i, c + 1));
    snprintf(app->health, sizeof(app->health), "%s",
             health[0] == '/' ? health : "/");
    app->fastcgi = bld_route_script_root(PQgetvalue(res, i, c + 4),
                                         PQgetvalue(res, i, c + 3),
                                         app->script_root,
                                         sizeof(app->script_root))
                   == SO_OK;
}


/*
 * What the app of app->deployment runs: app_fill()'s into app, its tree
 * into dir, its run command into cmd.  SO_OK; SO_EINVAL when it has none,
 * SO_EUNAVAIL when PostgreSQL failed.
 */
static int
app_load(bld_apps_t *a, bld_app_t *app, char *dir, size_t dirlen,
    char *cmd, size_t cmdlen)
{
    PGresult  *res;
    char       dep[24];
    int        rc;

    snprintf(dep, sizeof(dep), "%lld", app->deployment);
    res = so_pg_query(a->b->pg, "apps_load",
                      "SELECT d.project_id, p.name,"
                      " coalesce(p.health_path, '/'), d.artifact_path,"
                      " coalesce(d.run_cmd, '')"
                      " FROM deployments d JOIN projects p"
                      " ON p.id = d.project_id"
                      " WHERE d.id = $1 AND d.kind = 'dynamic'",
                      SO_PG_PARAMS(dep));
    if (res == NULL) {
        so_pg_failed(a->b->pg, "apps", "deployment=%s", dep);
        return SO_EUNAVAIL;
    }

    rc = SO_OK;

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 3)
        || PQgetvalue(res, 0, 4)[0] == '\0')
    {
        so_log_error("apps", "deployment=%s: no app to start (no artifact "
                     "or run command)", dep);
        rc = SO_EINVAL;
        goto done;
    }

    app_fill(app, res, 0, 0);
    snprintf(dir, dirlen, "%s", PQgetvalue(res, 0, 3));
    snprintf(cmd, cmdlen, "%s", PQgetvalue(res, 0, 4));

done:

    PQclear(res);
    return rc;
}


/* a new log for app, which masks the secrets it gets now */
static int
app_log_new(bld_apps_t *a, bld_app_t *app)
{
    bld_log_free(app->log);
    app->log = NULL;

    return bld_log_new(&app->log, a->b->pg, a->b->redis, &a->b->cfg,
                       app->deployment, app->project);
}


/* the loop watches the process (pid, through pidfd when not -1) from now,
   STARTING: its health check and startup_timeout starting over */
static void
app_watch(bld_apps_t *a, bld_app_t *app, pid_t pid, int pidfd)
{
    struct epoll_event  ev;

    app->pid = pid;
    app->pidfd = pidfd;
    app->state = BLD_APP_STARTING;
    app->to_sleep = 0;
    app->wake = 0;
    app->probe_foreign = 0;
    app->started = so_now_ms();
    app->next_probe = app->started;
    app->due = app->started + (int64_t) a->b->cfg.startup_timeout * 1000;

    if (pidfd == -1) {
        return;
    }

    ev.events = EPOLLIN;
    ev.data.fd = pidfd;
    if (epoll_ctl(a->b->epfd, EPOLL_CTL_ADD, pidfd, &ev) == -1) {
        so_log_error("apps", "deployment=%lld: epoll_ctl: %s",
                     app->deployment, strerror(errno));
    }
}


/* a new log, a port, the output files (bld_app_outputs()) and the
   environment of the app whose tree is dir */
static int
app_prepare(bld_apps_t *a, bld_app_t *app, bld_env_t *envp, const char *dir,
    int *wfd)
{
    const so_config_t  *cfg;
    json_t             *env;

    cfg = &a->b->cfg;

    if (app_log_new(a, app) != SO_OK) {
        return SO_ERR;
    }

    app->port = bld_app_port(cfg);
    if (app->port == -1) {
        bld_log_sys(app->log, "no free port in %d-%d", cfg->app_port_min,
                    cfg->app_port_max);
        return SO_ERR;
    }

    if (bld_app_outputs(cfg, app, wfd) != SO_OK
        || so_env_load(&env, a->b->pg, cfg, app->project, "runtime") != SO_OK)
    {
        return SO_ERR;
    }

    /* the app's own tools first: a Python venv, node's bins (DETECT.md) */
    bld_env_add(envp, "PATH=%s/.venv/bin:%s/node_modules/.bin:"
                BLD_ENV_PATH, dir, dir);
    bld_env_add(envp, "PORT=%d", app->port);
    bld_env_add(envp, "HOST=0.0.0.0");
    bld_env_add(envp, "HOME=/tmp");
    bld_env_add(envp, "LANG=C.UTF-8");
    bld_env_add(envp, "NODE_ENV=production");
    bld_env_add(envp, "PYTHONUNBUFFERED=1");
    bld_env_add(envp, "PYTHONDONTWRITEBYTECODE=1");
    bld_env_add(envp, "SHIPOFF=1");
    bld_env_add(envp, "SHIPOFF_DEPLOYMENT_ID=%lld", app->deployment);
    bld_env_add(envp, "SHIPOFF_PROJECT=%s", app->name);
    bld_env_add_vars(envp, env, app_env_ours);

    so_env_free(env);
    return SO_OK;
}


/* what stopped a start, in shipoffd's log and the app's */
static void
app_spawn_failed(bld_app_t *app, const char *err)
{
    so_log_error("apps", "deployment=%lld: %s", app->deployment, err);
    bld_log_sys(app->log, "could not start the app: %s", err);
}


/*
 * Spawns the app of a known deployment (app->deployment): reads what it
 * needs from PostgreSQL.  SO_OK; SO_EINVAL when it cannot run (recorded),
 * another code for internal trouble.
 */
static int
app_spawn(bld_apps_t *a, bld_app_t *app)
{
    bld_sandbox_opts_t   o;
    bld_sandbox_t        sb;
    bld_appfs_t          fs;
    bld_env_t            envp;
    bld_app_cmd_t        c;
    const char          *hidden[BLD_HIDDEN_MAX];
    char                 dir[PATH_MAX], cmd[1024], name[BLD_CG_NAMELEN];
    char                 err[BLD_SB_ERRLEN];
    const so_config_t   *cfg;
    size_t               i;
    int                  wfd[2], rc;

    cfg = &a->b->cfg;
    wfd[0] = wfd[1] = -1;
    fs.loop = -1;
    memset(&envp, 0, sizeof(envp));

    if (!a->cgroups_ok) {
        so_log_error("apps", "deployment=%lld: no sandbox on this builder",
                     app->deployment);
        return SO_EINVAL;
    }

    rc = app_load(a, app, dir, sizeof(dir), cmd, sizeof(cmd));
    if (rc != SO_OK) {
        return rc;
    }

    rc = SO_ERR;

    if (app_prepare(a, app, &envp, dir, wfd) != SO_OK) {
        goto done;
    }

    snprintf(name, sizeof(name), "app-%lld", app->deployment);

    /* what an earlier life of this app left behind */
    bld_cgroup_remove(&a->cgroups, name);

    rc = bld_app_command(&c, cfg, app, dir, cmd, err, sizeof(err));
    if (rc != SO_OK) {
        app_spawn_failed(app, err);
        goto done;
    }
    rc = SO_ERR;

    memset(&o, 0, sizeof(o));
    o.cfg = cfg;
    o.cgroups = &a->cgroups;
    o.name = name;
    o.argv = c.argv;
    o.ro_binds = c.ro_binds;
    o.envp = (const char *const *) envp.list;
    o.workdir = dir;
    o.cow = &fs.cow;
    o.hidden = bld_build_hidden(hidden, cfg);  /* its tree bound after */
    o.stdout_fd = wfd[0];
    o.stderr_fd = wfd[1];
    o.own_net = 1;
    o.detach = 1;

    if (bld_project_uid(&o.uid, a->b->pg, cfg, app->project) != SO_OK) {
        bld_log_sys(app->log, "could not start the app: no uid for it");
        goto done;
    }

    if (bld_appfs_open(&fs, cfg, app->deployment, dir, err, sizeof(err))
        != SO_OK)
    {
        app_spawn_failed(app, err);
        goto done;
    }

    bld_log_sys(app->log, "starting the app on port %d: %s", app->port, cmd);

    if (bld_sandbox_spawn(&sb, &o) != SO_OK) {
        app_spawn_failed(app, sb.errstr);
        goto done;
    }

    snprintf(app->addr, sizeof(app->addr), "%s", sb.net.addr);
    app->cg = sb.cg;
    app->child = 1;
    app_watch(a, app, sb.pid, sb.pidfd);

    so_log_info("apps", "deployment=%lld project=%s: started pid %ld at "
                "%s:%d", app->deployment, app->name, (long) sb.pid, app->addr,
                app->port);
    app_save(a, app, "starting");
    rc = SO_OK;

done:

    /* the app is in it, or failed to start: it is its own */
    so_fd_close(&fs.loop);
    for (i = 0; i < 2; i++) {
        so_fd_close(&wfd[i]);
    }
    bld_env_free(&envp);
    return rc;
}


/* deployment's state: a so_dstate_t, SO_DS_COUNT when it is gone, -1
   when PostgreSQL failed */
static int
app_dstate(bld_apps_t *a, long long deployment)
{
    PGresult     *res;
    so_dstate_t   st;
    char          dep[24];

    snprintf(dep, sizeof(dep), "%lld", deployment);

    res = so_pg_query(a->b->pg, "apps_dstate",
                      "SELECT state FROM deployments WHERE id = $1",
                      SO_PG_PARAMS(dep));
    if (res == NULL) {
        return -1;
    }

    if (PQntuples(res) != 1
        || so_dstate_parse(&st, PQgetvalue(res, 0, 0)) != SO_OK)
    {
        st = SO_DS_COUNT;
    }

    PQclear(res);
    return (int) st;
}


/* a route pushed for an app, for what comes once the edges answered */
typedef struct {
    bld_apps_t   *a;
    long long     deployment;
    unsigned      running:1;
    unsigned      promote:1;    /* a new deployment's: app_promote() */
    char          host[512];
} app_pushed_t;


/*
 * A bld_edge_done_pt.  An edge that missed a running app's route is asked
 * again at the supervisor's next check (bld_apps_check, every
 * reap_interval) until it takes it: the app is served by the edges that
 * answered meanwhile.
 */
static void
app_pushed(void *data, const bld_edge_result_t *r)
{
    app_pushed_t  *p;
    bld_app_t     *app;

    p = data;
    app = app_find(p->a, p->deployment);

    if (p->promote) {
        /* stopped or replaced meanwhile: what stopped it said so */
        if (app != NULL && app->state == BLD_APP_RUNNING) {
            app_promote(p->a, app, r);
            app = app_find(p->a, p->deployment);
        }

    } else if (r->rc != SO_OK) {
        so_log_error("apps", "deployment=%lld: routing %s (%s): %s",
                     p->deployment, p->host,
                     p->running ? "running" : "sleeping", r->err);
    }

    if (r->rc != SO_OK && p->running && app != NULL
        && app->state == BLD_APP_RUNNING)
    {
        so_log_warn("apps", "deployment=%lld: %zu edges took %s: the others "
                    "are asked again in %d s", p->deployment, r->pushed,
                    p->host, p->a->b->cfg.reap_interval);
        app->reroute = 1;
    }

    free(p);
}


/*
 * Pushes app's route, running or sleeping, off the loop (edgeq.c: the
 * edges take it in the order pushed); with promote, app_promote() once
 * the edges answered.
 */
static int
app_push(bld_apps_t *a, bld_app_t *app, int running, int promote)
{
    int            rc;
    app_pushed_t  *p;
    json_t        *route;

    p = calloc(1, sizeof(app_pushed_t));
    route = bld_route_dynamic(app->name, app->deployment, app->addr,
                              app->port, running,
                              app->fastcgi ? app->script_root : NULL);

    rc = SO_ERR;

    if (p != NULL && route != NULL) {
        p->a = a;
        p->deployment = app->deployment;
        p->running = running;
        p->promote = promote;
        snprintf(p->host, sizeof(p->host), "%s.%s", app->name,
                 a->b->cfg.apps_domain);

        rc = bld_edgeq_push(&a->b->cfg, p->host, route, app_pushed, p);
    }

    /* the queue owns p once it took the push */
    json_decref(route);
    if (rc != SO_OK) {
        free(p);
    }

    return rc;
}


static void
app_snapshot(bld_apps_t *a)
{
    char  err[SO_ERRLEN];

    if (bld_edge_snapshot(a->b->pg, &a->b->cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("apps", "route snapshot: %s", err);
    }
}


/* the project is served by deployment now: its other apps go */
static void
app_retire_others(bld_apps_t *a, long long project, long long deployment)
{
    bld_app_t  *o;
    char        proj[24], dep[24];
    int         i;

    for (i = a->napps - 1; i >= 0; i--) {
        o = a->apps[i];
        if (o->deployment == deployment || o->project != project) {
            continue;
        }

        app_drain(a, o, 0);
    }

    /* sleeping ones of deployments replaced meanwhile */
    snprintf(proj, sizeof(proj), "%lld", project);
    snprintf(dep, sizeof(dep), "%lld", deployment);
    (void) so_pg_exec(a->b->pg, "apps_retire_sleeping",
                      "DELETE FROM app_processes WHERE project_id = $1"
                      " AND deployment_id <> $2 AND owner = $3"
                      " AND state = 'sleeping'",
                      SO_PG_PARAMS(proj, dep, a->owner));
}


static void
app_drain(bld_apps_t *a, bld_app_t *app, int to_sleep)
{
    bld_app_action_t  action;

    action = bld_app_next(app, BLD_APP_EV_DRAIN, so_now_ms());
    if (action == BLD_APP_DROP) {
        app_forget(a, app->deployment);
    }
    if (action != BLD_APP_DRAIN) {
        return;
    }

    so_log_info("apps", "deployment=%lld project=%s: %s: stopping in %d s",
                app->deployment, app->name,
                to_sleep ? "idle" : "replaced", a->b->cfg.app_drain);
    if (app->log != NULL) {
        bld_log_sys(app->log, "%s: stopping the app in %d s",
                    to_sleep ? "idle" : "no longer routed",
                    a->b->cfg.app_drain);
    }

    bld_app_probe_reset(app, so_now_ms());
    app->state = BLD_APP_DRAINING;
    app->to_sleep = to_sleep;
    app->due = so_now_ms() + (int64_t) a->b->cfg.app_drain * 1000;
    app_save(a, app, "stopping");

    if (to_sleep) {
        (void) app_push(a, app, 0, 0);
        app_snapshot(a);
    }
}


/* a PROVISIONING deployment whose app did not come up: the app goes */
static void
app_fail(bld_apps_t *a, bld_app_t *app, const char *reason, int code)
{
    char  dep[24], dir[PATH_MAX];
    int   rc;

    snprintf(dep, sizeof(dep), "%lld", app->deployment);

    rc = so_deploy_move(a->b->pg, app->deployment, SO_DS_PROVISIONING,
                        SO_DS_FAILED, reason, code);
    if (rc != SO_OK && rc != SO_EEXISTS) {
        app_free(a, app);
        return;
    }

    if (rc == SO_OK) {
        /* its artifact is removed below */
        if (so_pg_exec(a->b->pg, "apps_fail_artifact",
                       "UPDATE deployments SET artifact_path = NULL"
                       " WHERE id = $1", SO_PG_PARAMS(dep)) != SO_OK)
        {
            so_log_warn("apps", "deployment=%s: artifact_path: %s", dep,
                        so_pg_errstr(a->b->pg));
        }
    }

    if (app->log != NULL) {
        bld_log_sys(app->log, "failed: %s", reason);
        bld_app_tail(app);
        bld_log_end(app->log, "FAILED");
    }

    snprintf(dir, sizeof(dir), "%s/apps/%lld/%s", a->b->cfg.var_dir,
             app->project, dep);
    app_forget(a, app->deployment);
    bld_remove_artifact(&a->b->cfg, dir);
}


/* the health check passed */
static void
app_ready(bld_apps_t *a, bld_app_t *app)
{
    bld_edge_result_t  r;
    int                st;

    memset(&r, 0, sizeof(r));
    app->state = BLD_APP_RUNNING;
    app->running = so_now_ms();
    app_save(a, app, "running");

    bld_log_sys(app->log, "the app answers on port %d after %.1f s",
                app->port, (double) (so_now_ms() - app->started) / 1000);

    st = app_dstate(a, app->deployment);
    if (st == -1) {
        return;
    }

    if (st != SO_DS_PROVISIONING) {
        if (st != SO_DS_PRODUCTION) {
            app_drain(a, app, 0);
        } else {
            app_revive(a, app, BLD_APP_ROUTE);
        }
        return;
    }

    /* a new deployment: route, then promote (worker.c's order) once the
       edges took the route (app_pushed) */
    bld_log_sys(app->log, "routing %s.%s to deployment %lld", app->name,
                a->b->cfg.apps_domain, app->deployment);

    if (app_push(a, app, 1, 1) != SO_OK) {
        r.rc = SO_ERR;
        r.err = "out of memory";
        app_promote(a, app, &r);
    }
}


/* promotes app's deployment once its route was pushed (r) */
static void
app_promote(bld_apps_t *a, bld_app_t *app, const bld_edge_result_t *r)
{
    json_t     *route;
    char        host[512], err[SO_ERRLEN], reason[SO_ERRLEN + 32];
    long long   prev;
    int         rc;

    /* PRODUCTION once an edge serves it (as a static deployment) */
    rc = r->pushed > 0 ? SO_OK : r->rc;

    if (rc == SO_OK) {
        rc = so_deploy_promote(&prev, a->b->pg, NULL, app->deployment,
                               SO_DS_PROVISIONING, err, sizeof(err));
        snprintf(reason, sizeof(reason), "promotion_failed");
    } else {
        snprintf(reason, sizeof(reason), "route_push_failed: %s", r->err);
    }

    if (rc != SO_OK) {
        if (bld_edge_route_of(&route, a->b->pg, &a->b->cfg, app->project)
            == SO_OK)
        {
            snprintf(host, sizeof(host), "%s.%s", app->name,
                     a->b->cfg.apps_domain);
            (void) bld_edgeq_push(&a->b->cfg, host, route, NULL, NULL);
            json_decref(route);
        }

        (void) app_reap(a, app, NULL);
        if (rc != SO_EEXISTS && rc != SO_ENOTFOUND) {
            app_fail(a, app, reason, -1);
        } else {
            app_forget(a, app->deployment);
        }
        return;
    }

    bld_log_sys(app->log, "deployed in production");
    bld_log_end(app->log, "PRODUCTION");

    app_snapshot(a);
    bld_publish_prune(a->b->pg, &a->b->cfg, app->project, app->log);
    app_retire_others(a, app->project, app->deployment);
}


/*
 * The process is gone or must go: whatever is left of its cgroup is
 * killed, the OOM count read (into *oom when not NULL), the cgroup
 * removed.  Its exit status when it was our child, else -1.
 */
static int
app_reap(bld_apps_t *a, bld_app_t *app, uint64_t *oom)
{
    int  status, code;

    code = -1;
    if (oom != NULL) {
        *oom = 0;
    }

    if (app->pid == 0) {
        return code;
    }

    /* oom is asked for once its process exited: the count is final */
    if (oom != NULL) {
        (void) bld_cgroup_oom_kills(&app->cg, oom);
        app->u_ooms += (int) *oom;
    }

    if (bld_cgroup_destroy(&app->cg) != SO_OK) {
        so_log_error("apps", "deployment=%lld: %s", app->deployment,
                     app->cg.errstr);
    }
    app->u_cpu_usec = 0;                /* the next cgroup counts anew */

    if (app->child && waitpid(app->pid, &status, 0) == app->pid) {
        code = WIFEXITED(status) ? WEXITSTATUS(status)
                                 : 128 + WTERMSIG(status);
    }

    if (app->pidfd != -1) {
        (void) epoll_ctl(a->b->epfd, EPOLL_CTL_DEL, app->pidfd, NULL);
        so_fd_close(&app->pidfd);
    }

    bld_app_probe_reset(app, so_now_ms());
    app->pid = 0;
    app->child = 0;
    bld_app_tail(app);
    return code;
}


/* crashed while it should serve: started again after a while */
static void
app_backoff(bld_apps_t *a, bld_app_t *app)
{
    int64_t  now;

    now = so_now_ms();

    app->backoff_ms = bld_app_backoff_ms(app, now);
    app->restarts++;
    app->u_restarts++;
    app->state = BLD_APP_BACKOFF;
    app->due = now + app->backoff_ms;

    bld_log_sys(app->log, "restarting the app in %.0f s (restart %d)",
                (double) app->backoff_ms / 1000, app->restarts);
    so_log_warn("apps", "deployment=%lld project=%s: restart %d in %d ms",
                app->deployment, app->name, app->restarts, app->backoff_ms);

    app_save(a, app, "sleeping");
    (void) app_push(a, app, 0, 0);
}


/*
 * The process is gone or must go (why: "startup_timeout", "stopped", or
 * "crashed" when a tick found it gone; NULL when its pidfd said it exited,
 * its OOM kills counted then): what is left of it goes (app_reap), then
 * bld_app_next() says what becomes of the app
 */
static void
app_ended(bld_apps_t *a, bld_app_t *app, const char *why)
{
    bld_app_action_t  action;
    uint64_t          oom;
    char              reason[64];
    int               code;

    oom = 0;
    code = app_reap(a, app, why == NULL ? &oom : NULL);
    action = bld_app_next(app, BLD_APP_EV_EXITED, so_now_ms());

    if (action != BLD_APP_CRASHED) {
        so_log_info("apps", "deployment=%lld project=%s: stopped",
                    app->deployment, app->name);
        bld_log_sys(app->log, app->to_sleep ? "the app sleeps until a "
                    "request wakes it" : "the app stopped");

        if (action == BLD_APP_RESPAWN) {
            app->restarts = 0;
            if (app_spawn(a, app) == SO_OK) {
                return;
            }
        }

        if (app->to_sleep) {
            app_save(a, app, "sleeping");
            app_free(a, app);
        } else {
            app_forget(a, app->deployment);
        }
        return;
    }

    if (why == NULL) {
        so_log_warn("apps", "deployment=%lld project=%s: the app exited "
                    "(%d%s)", app->deployment, app->name, code,
                    oom ? ", oom" : "");
        why = oom ? "oom" : "crashed";
    }

    if (strcmp(why, "crashed") == 0) {
        snprintf(reason, sizeof(reason), "crashed: exit %d", code);
    } else {
        snprintf(reason, sizeof(reason), "%s", why);
    }

    bld_log_sys(app->log, "the app %s%s",
                strcmp(why, "startup_timeout") == 0
                ? "did not answer in time: stopped"
                : strcmp(why, "oom") == 0 ? "ran out of memory" : reason,
                app->state == BLD_APP_STARTING ? " while starting" : "");

    app_give_up(a, app, reason,
                strcmp(why, "startup_timeout") == 0 ? -1 : code, 1);
}


/*
 * An app that does not serve (reason, code: why): its deployment FAILED
 * when PROVISIONING; with restart, started again after a backoff when
 * PRODUCTION, or when PostgreSQL is down (tried again later, as a crash);
 * else it goes.
 */
static void
app_give_up(bld_apps_t *a, bld_app_t *app, const char *reason, int code,
    int restart)
{
    int  st;

    st = app_dstate(a, app->deployment);

    if (restart && (st == -1 || st == SO_DS_PRODUCTION)) {
        app_backoff(a, app);

    } else if (st == SO_DS_PROVISIONING) {
        app_fail(a, app, reason, code);

    } else {
        app_forget(a, app->deployment);
    }
}


void
bld_app_exited(bld_apps_t *a, int pidfd)
{
    bld_app_t  *app;

    app = app_by_pidfd(a, pidfd);
    if (app != NULL) {
        app_ended(a, app, NULL);
    }
}


/* starts deployment's app unless it runs here already */
static int
app_start(bld_apps_t *a, long long deployment)
{
    bld_app_t  *app;
    int         rc;

    app = app_find(a, deployment);
    if (app != NULL) {
        return SO_OK;
    }

    app = app_new(a, deployment);
    if (app == NULL) {
        return SO_ERR;
    }

    rc = bld_quota_apps(a->b, deployment) == SO_EQUOTA ? SO_EQUOTA
         : app_spawn(a, app);
    if (rc == SO_OK) {
        return SO_OK;
    }

    app_give_up(a, app, rc == SO_EQUOTA ? "quota_exceeded: apps"
                                        : "start_failed", -1, 0);
    return rc;
}


/*
 * The worker built a dynamic deployment (BLD_WORKER_PROVISIONED): the
 * lease goes, the app's row comes, in one statement; then it starts.
 */
int
bld_apps_handover(bld_apps_t *a, long long deployment)
{
    PGresult  *res;
    char       dep[24];
    int        n;

    snprintf(dep, sizeof(dep), "%lld", deployment);

    res = so_pg_query(a->b->pg, "apps_handover",
                      "WITH d AS (UPDATE deployments SET lease_owner = NULL,"
                      " lease_expires_at = NULL"
                      " WHERE id = $1 AND state = 'PROVISIONING'"
                      " AND lease_owner = $2 RETURNING id, project_id)"
                      " INSERT INTO app_processes (deployment_id, project_id,"
                      " owner, state) SELECT id, project_id, $3, 'starting'"
                      " FROM d ON CONFLICT (deployment_id) DO UPDATE"
                      " SET owner = $3, state = 'starting', pid = NULL,"
                      " updated_at = now()"
                      " RETURNING deployment_id",
                      SO_PG_PARAMS(dep, a->consumer, a->owner));
    if (res == NULL) {
        so_pg_failed(a->b->pg, "apps", "deployment=%s: handover", dep);
        return SO_EUNAVAIL;
    }

    n = PQntuples(res);
    PQclear(res);

    if (n != 1) {
        so_log_warn("apps", "deployment=%s: not PROVISIONING under our "
                    "lease any more: not started", dep);
        return SO_EEXISTS;
    }

    return app_start(a, deployment);
}


/*
 * deployment is project's PRODUCTION now (an API promote): a dynamic one
 * runs (started from its kept artifact when it does not), and the other
 * apps of the project go once it answers; a static one only retires them.
 */
int
bld_apps_promoted(bld_apps_t *a, long long project, long long deployment,
    int dynamic)
{
    bld_app_t  *app;

    if (!dynamic) {
        app_retire_others(a, project, deployment);
        return SO_OK;
    }

    app = app_find(a, deployment);

    if (app == NULL) {
        return app_start(a, deployment);
    }

    app_revive(a, app, bld_app_next(app, BLD_APP_EV_PROMOTED, so_now_ms()));
    return SO_OK;
}


/* routed again (promoted, woken): REVIVE, ROUTE or WAKE_LATER */
static void
app_revive(bld_apps_t *a, bld_app_t *app, bld_app_action_t action)
{
    switch (action) {
    case BLD_APP_REVIVE:
        app->state = BLD_APP_RUNNING;
        app->running = so_now_ms();
        app->to_sleep = 0;
        app_save(a, app, "running");
        /* fall through */

    case BLD_APP_ROUTE:
        (void) app_push(a, app, 1, 0);
        app_snapshot(a);
        app_retire_others(a, app->project, app->deployment);
        break;

    case BLD_APP_WAKE_LATER:
        app->wake = 1;
        break;

    default:
        break;
    }
}


int
bld_apps_running(const bld_apps_t *a)
{
    int  i, n;

    n = 0;
    for (i = 0; i < a->napps; i++) {
        n += a->apps[i]->state == BLD_APP_RUNNING;
    }

    return n;
}


void
bld_apps_activity(bld_apps_t *a, int64_t before,
    bld_apps_activity_pt activity, void *data)
{
    bld_app_t  *app;
    long long   n;
    int         i, busy;

    for (i = a->napps - 1; i >= 0; i--) {
        app = a->apps[i];
        if (app->state != BLD_APP_RUNNING
            && app->state != BLD_APP_DRAINING)
        {
            continue;
        }

        n = activity(data, app->name, &busy);

        if (n >= 0) {
            /* a count that went down is an edge's that started over */
            if (app->u_edge_seen) {
                app->u_requests += (uint64_t) n >= app->u_edge_requests
                                   ? (uint64_t) n - app->u_edge_requests
                                   : (uint64_t) n;
            }
            app->u_edge_requests = (uint64_t) n;
            app->u_edge_seen = 1;
        }

        if (app->state == BLD_APP_RUNNING && app->running <= before
            && !busy)
        {
            app_drain(a, app, 1);
        }
    }
}


/*
 * Running: pushed again (the edge lost it, or woke it twice); being put
 * to sleep: kept; stopping: started again once gone; starting or waiting
 * to restart: it will push its route itself.
 */
int
bld_apps_wake(bld_apps_t *a, long long deployment, const char *project)
{
    bld_app_action_t   action;
    bld_app_t         *app;
    int                rc;

    app = app_find(a, deployment);

    if (app == NULL) {
        so_log_info("idle", "deployment=%lld project=%s: woken", deployment,
                    project);
        rc = app_start(a, deployment);
        app = app_find(a, deployment);
        if (rc == SO_OK && app != NULL) {
            bld_log_sys(app->log, "a request woke the app");
            app->u_wakes++;
        }
        return rc;
    }

    action = bld_app_next(app, BLD_APP_EV_WAKE, so_now_ms());
    if (action == BLD_APP_REVIVE) {
        so_log_info("idle", "deployment=%lld project=%s: woken while going "
                    "to sleep: kept", deployment, project);
    }

    app_revive(a, app, action);
    return SO_OK;
}


/* the project is gone: so are its apps, at once */
void
bld_apps_delete_project(bld_apps_t *a, long long project)
{
    bld_app_t  *app;
    int         i;

    for (i = a->napps - 1; i >= 0; i--) {
        app = a->apps[i];
        if (app->project == project) {
            (void) app_reap(a, app, NULL);
            app_free(a, app);
        }
    }

    app_delete(a, "apps_delete_project", "DELETE FROM app_processes"
               " WHERE project_id = $1 AND owner = $2", project);
}


/*
 * Every reap_interval: an app whose deployment is no longer PRODUCTION
 * (or PROVISIONING) goes, whatever event was missed; a dynamic deployment
 * built but handed to nobody (`shipoffd build`) is started.
 */
void
bld_apps_check(bld_apps_t *a)
{
    PGresult   *res;
    bld_app_t  *app;
    char       *ids;
    size_t      len, off;
    int         i;

    /* off a start's path: the next start's image (appfs.c) */
    if (a->cgroups_ok) {
        (void) bld_appfs_spare(&a->b->cfg);
    }

    res = so_pg_query(a->b->pg, "apps_unclaimed",
                      "SELECT id FROM deployments d"
                      " WHERE state = 'PROVISIONING' AND kind = 'dynamic'"
                      " AND lease_owner IS NULL AND NOT EXISTS"
                      " (SELECT 1 FROM app_processes a"
                      " WHERE a.deployment_id = d.id)",
                      0, NULL);
    for (i = 0; res != NULL && i < PQntuples(res); i++) {
        app_start(a, strtoll(PQgetvalue(res, i, 0), NULL, 10));
    }
    PQclear(res);

    for (i = 0; i < a->napps; i++) {
        app = a->apps[i];
        if (app->reroute && app->state == BLD_APP_RUNNING) {
            app->reroute = 0;
            (void) app_push(a, app, 1, 0);
        }
    }

    if (a->napps == 0) {
        return;
    }

    len = (size_t) a->napps * 24 + 3;
    ids = malloc(len);
    if (ids == NULL) {
        return;
    }

    off = 0;
    ids[off++] = '{';
    for (i = 0; i < a->napps; i++) {
        off += (size_t) snprintf(ids + off, len - off, "%s%lld",
                                 i ? "," : "", a->apps[i]->deployment);
    }
    snprintf(ids + off, len - off, "}");

    /* the ones whose deployment no longer serves (or is gone) */
    res = so_pg_query(a->b->pg, "apps_check",
                      "SELECT x FROM unnest($1::bigint[]) x"
                      " WHERE NOT EXISTS (SELECT 1 FROM deployments"
                      " WHERE id = x AND state IN ('PRODUCTION',"
                      " 'PROVISIONING'))",
                      SO_PG_PARAMS(ids));
    free(ids);

    for (i = 0; res != NULL && i < PQntuples(res); i++) {
        app = app_find(a, strtoll(PQgetvalue(res, i, 0), NULL, 10));

        if (app != NULL && (app->state == BLD_APP_RUNNING
                            || app->state == BLD_APP_STARTING
                            || app->state == BLD_APP_BACKOFF))
        {
            app_drain(a, app, 0);
        }
    }

    PQclear(res);
}


void
bld_apps_tick(bld_apps_t *a, int64_t now)
{
    bld_app_event_t   ev;
    bld_app_t        *app;
    int               i, starting;

    for (i = a->napps - 1; i >= 0; i--) {
        app = a->apps[i];

        bld_app_tail(app);

        starting = app->state == BLD_APP_STARTING;
        ev = starting && bld_app_probe(app, now) ? BLD_APP_EV_HEALTHY
                                                 : BLD_APP_EV_TICK;

        switch (bld_app_next(app, ev, now)) {
        case BLD_APP_READY:
            app_ready(a, app);
            break;

        case BLD_APP_TIMEOUT:
            so_log_warn("apps", "deployment=%lld project=%s: no answer "
                        "on port %d within %d s", app->deployment,
                        app->name, app->port, a->b->cfg.startup_timeout);
            app_ended(a, app, "startup_timeout");
            continue;

        case BLD_APP_TERM:
            /* every process, not only bwrap: its pid namespace's init
               does not pass signals on */
            (void) bld_cgroup_signal(&app->cg, SIGTERM);
            app->state = BLD_APP_STOPPING;
            app->due = now + (int64_t) a->b->cfg.app_stop_grace * 1000;
            break;

        case BLD_APP_KILL:
            so_log_warn("apps", "deployment=%lld: still running %d s "
                        "after SIGTERM: killed", app->deployment,
                        a->b->cfg.app_stop_grace);
            app_ended(a, app, "stopped");
            continue;

        case BLD_APP_RESTART:
            if (app_spawn(a, app) != SO_OK) {
                app_backoff(a, app);
            }
            break;

        default:
            break;
        }

        if (starting) {
            continue;
        }

        /* an adopted app that was not our child, on a kernel without
           pidfds, is only noticed gone here */
        if (app->pid != 0 && app->pidfd == -1 && kill(app->pid, 0) == -1
            && errno == ESRCH)
        {
            app_ended(a, app, "crashed");
            continue;
        }

        if (app->log != NULL) {
            bld_log_flush(app->log, 0);
        }
    }
}


/* 1 when pid's cgroup (any hierarchy) ends with /cgroup */
static int
app_in_cgroup(pid_t pid, const char *cgroup)
{
    FILE    *f;
    char     path[64], line[1024], *p;
    size_t   n, c;
    int      in;

    snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long) pid);
    f = fopen(path, "re");
    if (f == NULL) {
        return 0;
    }

    in = 0;
    c = strlen(cgroup);

    while (!in && fgets(line, sizeof(line), f) != NULL) {
        n = strcspn(line, "\n");
        line[n] = '\0';
        p = strrchr(line, ':');
        if (p != NULL && n >= c + 1 && strcmp(line + n - c, cgroup) == 0
            && line[n - c - 1] == '/')
        {
            in = 1;
        }
    }

    fclose(f);
    return in;
}


/*
 * One row of the adoption query: deployment, the row's state, port, pid,
 * cgroup, restarts, the deployment's state, address, then app_fill()'s
 */
static void
app_adopt(bld_apps_t *a, PGresult *res, int i)
{
    bld_app_t           *app;
    const char          *row_state, *dstate, *cgname;
    long long            dep;
    pid_t                pid;
    int                  pidfd, serving;

    dep = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    row_state = PQgetvalue(res, i, 1);
    pid = PQgetisnull(res, i, 3) ? 0
          : (pid_t) strtol(PQgetvalue(res, i, 3), NULL, 10);
    cgname = PQgetvalue(res, i, 4);
    dstate = PQgetvalue(res, i, 6);

    serving = strcmp(dstate, "PRODUCTION") == 0
              || strcmp(dstate, "PROVISIONING") == 0;

    if (strcmp(row_state, "sleeping") == 0) {
        if (!serving) {
            app_forget(a, dep);
        }
        return;
    }

    if (pid <= 0 || cgname[0] == '\0' || kill(pid, 0) != 0
        || !app_in_cgroup(pid, cgname))
    {
        /* it died while we were away: what it left goes; started again
           when it should serve */
        bld_cgroup_remove(&a->cgroups, cgname);

        so_log_warn("apps", "deployment=%lld project=%s: the app (pid %ld) "
                    "is gone", dep, PQgetvalue(res, i, 9), (long) pid);

        if (serving && strcmp(row_state, "stopping") != 0) {
            app_start(a, dep);
        } else {
            app_forget(a, dep);
        }
        return;
    }

    pidfd = pidfd_open(pid, 0);
    app = app_new(a, dep);
    if (app == NULL) {
        so_fd_close(&pidfd);
        return;
    }

    app_fill(app, res, i, 8);
    app->port = PQgetisnull(res, i, 2) ? 0
                : (int) strtol(PQgetvalue(res, i, 2), NULL, 10);
    app->restarts = (int) strtol(PQgetvalue(res, i, 5), NULL, 10);
    snprintf(app->addr, sizeof(app->addr), "%s", PQgetvalue(res, i, 7));

    /* unsupervised, it must not run on: the process goes */
    if (bld_cgroup_open(&app->cg, &a->cgroups, cgname) != SO_OK) {
        so_log_error("apps", "deployment=%lld: cgroup %s: %s: pid %ld "
                     "killed", dep, cgname, app->cg.errstr, (long) pid);
        kill(pid, SIGKILL);
        so_fd_close(&pidfd);
        app_forget(a, dep);
        return;
    }

    /* without a log (it could not be made) it is still supervised */
    (void) app_log_new(a, app);
    (void) bld_app_outputs(&a->b->cfg, app, NULL);

    app_watch(a, app, pid, pidfd);
    app->running = app->started;

    so_log_info("apps", "deployment=%lld project=%s: adopted pid %ld on port "
                "%d (%s)", dep, app->name, (long) pid, app->port, row_state);
    bld_log_sys(app->log, "shipoffd restarted: the app (pid %ld) adopted",
                (long) pid);

    if (!serving) {
        app->state = BLD_APP_RUNNING;
        app_drain(a, app, 0);

    } else if (strcmp(row_state, "starting") == 0
               || strcmp(dstate, "PROVISIONING") == 0)
    {
        /* healthy or not, a PROVISIONING one is promoted by app_ready() */
        app->state = BLD_APP_STARTING;

    } else if (strcmp(row_state, "running") == 0) {
        app->state = BLD_APP_RUNNING;

    } else {
        app->state = BLD_APP_DRAINING;
        app->due = app->started;
    }
}


/* at start: the cgroups, and the apps a previous life left running */
void
bld_apps_init(bld_apps_t *a, bld_t *b, const char *consumer)
{
    PGresult  *res;
    char      *colon;
    int        i;

    a->b = b;
    a->consumer = consumer;
    srandom((unsigned) getpid() ^ (unsigned) so_now_ms());

    snprintf(a->owner, sizeof(a->owner), "%s", a->consumer);
    colon = strrchr(a->owner, ':');
    if (colon != NULL) {
        *colon = '\0';
    }

    a->cgroups_ok = bld_cgroup_sys_init(&a->cgroups,
                                        b->cfg.sandbox_cgroup_parent)
                    == SO_OK;
    if (!a->cgroups_ok) {
        so_log_warn("apps", "cgroups: %s: dynamic apps cannot run here",
                    a->cgroups.errstr);
        return;
    }

    res = so_pg_query(a->b->pg, "apps_adopt",
                      "SELECT a.deployment_id, a.state, a.port, a.pid,"
                      " coalesce(a.cgroup, ''), a.restarts,"
                      " coalesce(d.state, ''),"
                      " coalesce(host(a.address), '127.0.0.1'),"
                      " a.project_id, coalesce(p.name, ''),"
                      " coalesce(p.health_path, '/'),"
                      " coalesce(d.artifact_path, ''),"
                      " coalesce(d.run_cmd, '')"
                      " FROM app_processes a"
                      " LEFT JOIN deployments d ON d.id = a.deployment_id"
                      " LEFT JOIN projects p ON p.id = a.project_id"
                      " WHERE a.owner = $1 ORDER BY a.deployment_id",
                      SO_PG_PARAMS(a->owner));
    if (res == NULL) {
        so_pg_failed(a->b->pg, "apps", "reading app_processes");
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        app_adopt(a, res, i);
    }

    PQclear(res);
}


/* shipoffd stops: the apps keep running, the loop lets go of them */
void
bld_apps_close(bld_apps_t *a)
{
    while (a->napps > 0) {
        bld_app_tail(a->apps[0]);
        app_free(a, a->apps[0]);
    }
}
