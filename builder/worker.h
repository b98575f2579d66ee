/*
 * worker.h: the parts a deployment's worker (worker.c) is made of, one
 * concept per file:
 *
 *   logs.c     the log pipeline: masked lines to Redis and PostgreSQL
 *   source.c   the checkout: clone, the exact commit, the root dir
 *   build.c    one command in the sandbox, its output line by line
 *   publish.c  the static artifact: copy, precompress, prune, remove
 *   edge.c     routes: push to every edge, the snapshot file
 *
 * Private to builder/: the contract with the loop is bld.h.
 */

#ifndef BLD_WORKER_H
#define BLD_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <jansson.h>

#include "so_config.h"
#include "so_pg.h"
#include "so_redis.h"
#include "sandbox.h"
#include "loop.h"                   /* bld_now_ms() */

#define BLD_LOG_LINE_MAX  4096      /* a longer line is cut */


/* logs.c */

typedef struct bld_log_s  bld_log_t;

int bld_log_new(bld_log_t **out, so_pg_t *pg, so_redis_t *redis,
    long long deployment_id, long long project_id);

/* every later line has each occurrence of secret replaced by "****" */
int bld_log_mask(bld_log_t *log, const char *secret);

/* every secret of project_id is masked (bld_log_mask) */
void bld_log_mask_secrets(bld_log_t *log, so_pg_t *pg,
    const so_config_t *cfg, long long project_id);

/*
 * stream: "build", "stdout", "stderr", "system"; line without '\n'.  These
 * and the flush and end below take a NULL log (one that could not be
 * made) and do nothing with it.
 */
void bld_log_line(bld_log_t *log, const char *stream, const char *line,
    size_t len);

void bld_log_sys(bld_log_t *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* writes the batched lines to PostgreSQL when due (force: now) */
void bld_log_flush(bld_log_t *log, int force);

/* flushes, then XADDs the final event "end" with the state */
void bld_log_end(bld_log_t *log, const char *state);

void bld_log_free(bld_log_t *log);


/* source.c */

typedef struct {
    char  sha[41];                  /* the commit checked out */
    char  message[256];             /* its first line */
} bld_commit_t;

/*
 * Clones branch of url into dir and checks out commit (40 hex digits; NULL
 * or "": the branch head).  When project_id's owner signed in with GitHub
 * and url is on the GitHub host, the clone carries their access token.
 * 0, or an SO_E* code with libgit2's reason in err.
 */
int bld_source_checkout(bld_commit_t *out, so_pg_t *pg,
    const so_config_t *cfg, long long project_id, const char *url,
    const char *branch, const char *commit, const char *dir, char *err,
    size_t errlen);

/*
 * out = checkout/root_dir, which must be a directory inside the checkout
 * once every symlink is resolved.  0, SO_EINVAL or SO_ENOTFOUND.
 */
int bld_source_root(char *out, size_t outlen, const char *checkout,
    const char *root_dir, char *err, size_t errlen);


/* build.c */

typedef struct {
    const bld_cgroup_sys_t  *cgroups;
    const so_config_t       *cfg;
    const char              *name;      /* cgroup name */
    const char              *workdir;   /* the sandbox's writable dir */
    const char              *cwd;       /* inside workdir: where to run */
    const char *const       *envp;
    const char *const       *hidden;
    uid_t                    uid;           /* the project's, its gid too */
    long long                deadline_ms;   /* CLOCK_MONOTONIC */
    int                      cancel_fd;     /* readable: stop (signalfd) */
    bld_log_t               *log;
} bld_step_t;

typedef enum {
    BLD_STEP_OK = 0,
    BLD_STEP_EXIT,                  /* res.code is non-zero */
    BLD_STEP_OOM,
    BLD_STEP_TIMEOUT,
    BLD_STEP_CANCELED,
    BLD_STEP_ERROR                  /* could not run it: err says why */
} bld_step_end_t;

/* runs "/bin/sh -c cmd" confined, streaming its output into the log */
bld_step_end_t bld_build_run(const bld_step_t *step, const char *cmd,
    bld_sandbox_result_t *res, char *err, size_t errlen);


/* publish.c */

/*
 * Copies the tree at src to dst (which must not exist): regular files and
 * directories only, symlinks and others skipped and logged; text assets of
 * 1 KiB or more get a .gz beside them.  0 or SO_ERR with err.
 */
int bld_publish_copy(const char *src, const char *dst, bld_log_t *log,
    char *err, size_t errlen);

/* removes the tree at path, which must lie under var_dir; accepts a
 * missing one */
int bld_remove_tree(const so_config_t *cfg, const char *path);

/* bld_remove_tree() of an artifact, and an app's output files beside it */
void bld_remove_artifact(const so_config_t *cfg, const char *path);

/*
 * Drops the artifacts of project_id's INACTIVE deployments beyond the
 * newest keep_artifacts - 1 (the PRODUCTION one is the first kept).
 */
void bld_publish_prune(so_pg_t *pg, const so_config_t *cfg,
    long long project_id, bld_log_t *log);


/* edge.c */

/*
 * The route of a project (name) to the artifact of one deployment, as the
 * control API takes it.  *out is a new reference.
 */
json_t *bld_route_static(const char *project, long long deployment_id,
    const char *root, int spa);

/*
 * PUTs route as host to every edge of cfg->edges (route NULL: DELETE).
 * 0 when every edge took it; else SO_EUNAVAIL with the first failure in
 * err, *pushed counts the edges that did.
 */
int bld_edge_push(const so_config_t *cfg, const char *host,
    json_t *route, size_t *pushed, char *err, size_t errlen);

/*
 * Writes the whole route table, read from PostgreSQL, to
 * var_dir/routes.json atomically (temp file + rename, under a lock).
 */
int bld_edge_snapshot(so_pg_t *pg, const so_config_t *cfg, char *err,
    size_t errlen);

/*
 * The route of a dynamic app: running at addr:port, or sleeping.
 * *out is a new reference.
 */
json_t *bld_route_dynamic(const char *project, long long deployment_id,
    const char *addr, int port, int running);

/*
 * *out = the route of project_id's PRODUCTION deployment as PostgreSQL
 * (and app_processes) says now, a new reference; NULL when it has none.
 * 0 or SO_EUNAVAIL.
 */
int bld_edge_route_of(json_t **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id);

/* 1 for the frameworks whose routes are answered by index.html */
int bld_framework_spa(const char *framework);


/*
 * uid.c: *out = the uid (and gid) project's builds and apps run as, taken
 * for it the first time.  0; SO_ENOTFOUND (no such project), SO_EEXISTS
 * (every uid of the range is taken) or SO_EUNAVAIL, logged.
 */
int bld_project_uid(uid_t *out, so_pg_t *pg, const so_config_t *cfg,
    long long project);


/*
 * promote.c: deployment (PROVISIONING) becomes project's PRODUCTION and
 * the PRODUCTION before it INACTIVE, in one transaction under the
 * project's row lock.  0, SO_EEXISTS (it is not PROVISIONING any more)
 * or SO_EUNAVAIL.
 */
int bld_promote(so_pg_t *pg, long long project, long long deployment);


/* foreground.c: `shipoffd build ID` */

int bld_build_foreground(const so_config_t *cfg, long long deployment_id);

#endif /* BLD_WORKER_H */
