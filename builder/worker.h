/*
 * worker.h: the parts a deployment's worker (worker.c) is made of, one
 * concept per file:
 *
 *   deploylog.c  a deployment's log: masked lines to Redis and PostgreSQL
 *   source.c     the checkout: a confined clone, the root and output dirs
 *   clone.c      `shipoffd clone`: libgit2 in the sandbox, capped
 *   build.c      one command in the sandbox (its environment, what it
 *                does not see), its output line by line
 *   publish.c    the static artifact: copy, precompress, prune, remove
 *   edge.c       routes: what they say, the snapshot file; edgeq.c
 *                pushes them
 *
 * Private to builder/: the contract with the loop is bld.h.
 */

#ifndef BLD_WORKER_H
#define BLD_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <jansson.h>

#include "so_clock.h"
#include "so_config.h"
#include "so_pg.h"
#include "so_redis.h"
#include "sandbox.h"

#define BLD_LOG_LINE_MAX  4096      /* a longer line is cut */


/* deploylog.c */

typedef struct bld_log_s  bld_log_t;

/*
 * With cfg, every line of the new log has each secret value of project_id
 * replaced by "****", and the line text it stores is capped at cfg's
 * quota_log_bytes_per_deployment, counting what the deployment stored
 * before (an earlier attempt, an earlier start of its app): past it, one
 * "log limit reached" line.
 */
int bld_log_new(bld_log_t **out, so_pg_t *pg, so_redis_t *redis,
    const so_config_t *cfg, long long deployment_id, long long project_id);

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

/* flushes, then frees */
void bld_log_free(bld_log_t *log);


/* build.c */

#define BLD_HIDDEN_MAX  8

/*
 * What a job's sandboxed commands share (a build's clone and steps, a
 * detection's clone), made by bld_step_init(); a command changes its
 * copy's cwd, envp, ro_binds, host_net.
 */
typedef struct {
    bld_cgroup_sys_t         cgroups;
    const so_config_t       *cfg;
    char                     name[64];  /* cgroup name */
    const char              *workdir;   /* the sandbox's writable dir */
    const char              *cwd;       /* inside workdir: where to run */
    const char *const       *envp;
    const char              *hidden[BLD_HIDDEN_MAX];
    const char *const       *ro_binds;  /* sandbox.h's, or NULL */
    int                      host_net;  /* 1: the host's network, not a
                                           namespace of its own (a clone) */
    uid_t                    uid;           /* the project's, its gid too */
    long long                deadline_ms;   /* CLOCK_MONOTONIC */
    int                      cancel_fd;     /* readable: stop; or -1 */
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

/*
 * The commands of job name in workdir as uid: the cgroups (a leftover of
 * a killed attempt of name destroyed), what they do not see; the deadline,
 * cancel fd and log are the caller's to set.  0 or SO_ERR with err.
 */
int bld_step_init(bld_step_t *step, const so_config_t *cfg, const char *name,
    const char *workdir, uid_t uid, char *err, size_t errlen);

/*
 * What a sandboxed command does not see: var/ (but the work dir, bound
 * after), the secrets file, home dirs, PostgreSQL's socket dir.  Fills
 * hidden (BLD_HIDDEN_MAX) and returns it, NULL-ended.
 */
const char *const *bld_build_hidden(const char **hidden,
    const so_config_t *cfg);

/*
 * The environment of a sandboxed command, built whole by its caller in a
 * zeroed bld_env_t (none of shipoffd's own reaches it): entries past
 * BLD_ENV_MAX are dropped, and bld_env_free() wipes every one, since the
 * project's secrets are among them, and zeroes it again.
 */
#define BLD_ENV_MAX   160
#define BLD_ENV_PATH  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
                      "/sbin:/bin"

typedef struct {
    char    *list[BLD_ENV_MAX + 1];     /* NULL-ended: a step's envp */
    size_t   n;
} bld_env_t;

/* one "NAME=value" entry, formatted */
void bld_env_add(bld_env_t *env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* so_env_load()'s variables: strings without a NUL, but the names in skip
   (NULL-ended, or NULL) */
void bld_env_add_vars(bld_env_t *env, json_t *vars,
    const char *const *skip);
void bld_env_free(bld_env_t *env);

/* runs "/bin/sh -c cmd" confined, streaming its output into the log */
bld_step_end_t bld_build_run(const bld_step_t *step, const char *cmd,
    bld_sandbox_result_t *res, char *err, size_t errlen);


/* source.c */

typedef struct {
    const char  *url;
    const char  *branch;
    const char  *commit;            /* 40 hex digits; NULL or "": the head */
    const char  *token;             /* HTTP credentials for url, or NULL */
    const char  *detect;            /* not NULL: a detection of this root
                                       dir, not a build's checkout */
} bld_clone_req_t;

typedef struct {
    int      code;                  /* BLD_STEP_EXIT: clone.c's exit code */
    char     sha[41];               /* the commit checked out */
    char     message[256];          /* its first line */
    json_t  *detection;             /* a detection's answer (so_detect_json) */
} bld_clone_t;

/*
 * Runs `shipoffd clone` (clone.c) confined as step says, in step's work
 * dir (held by workfd): a build's checkout into src/, or a detection.
 * The step's end; its reason, if any, is in the log.  out->detection is
 * the caller's to json_decref().
 */
bld_step_end_t bld_source_clone(bld_clone_t *out, const bld_clone_req_t *req,
    const bld_step_t *step, int workfd, char *err, size_t errlen);

/*
 * The GitHub token for a clone of url, or NULL in *token (the caller
 * wipes and frees it).  A user's token is used only for a repository that
 * user set (repo_url_set_by) on a project the user owns (of a team's
 * project: the team's owner now), and only while url is still the
 * project's repo_url: a repository set by a member with WRITE, a team
 * member or the previous owner of a transferred project is cloned without
 * a token until the owner saves repo_url again.  Checked at clone time, so
 * a change of owner or of repo_url since the deployment was queued
 * counts.  NULL too for an owner who never signed in with GitHub, another
 * host, a plain http:// URL where they are refused.  SO_OK, or SO_EUNAVAIL
 * when PostgreSQL could not say (the clone must not go on without the
 * token it may need).
 */
int bld_source_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *url);

/*
 * *out = an fd of the directory rel ("" or NULL: dirfd's own) beneath
 * dirfd, every step of it, links included, staying beneath dirfd and on
 * its mount.  0, SO_EINVAL (it leads out), SO_ENOTFOUND or SO_ERR.
 */
int bld_source_open(int *out, int dirfd, const char *rel, char *err,
    size_t errlen);


/* clone.c: `shipoffd clone`, in the sandbox */

#define BLD_CLONE_FAILED    1
#define BLD_CLONE_NOTFOUND  2       /* no such repository, branch, commit */
#define BLD_CLONE_TOOBIG    3       /* over so_git's caps */
#define BLD_CLONE_NOROOT    4       /* a detection's root dir is missing */

int bld_clone_main(void);


/* workfs.c */

/*
 * A fresh ext4 file system of size bytes in image (which must not exist),
 * its root owned by uid:gid; then bound to a free loop device: *loop is
 * open on it, its path in dev, and the device clears itself once neither
 * the fd nor a mount holds it.  0 or SO_ERR with err (image removed).
 */
int bld_workfs_format(const char *image, size_t size, uid_t uid, gid_t gid,
    char *err, size_t errlen);
int bld_workfs_attach(int *loop, char *dev, size_t devlen, const char *image,
    char *err, size_t errlen);

/*
 * *fd = the work dir of a job, dir (var_dir/builds/<name>), made afresh
 * (what an earlier attempt left removed), owned by uid:uid; with disk > 0
 * a fresh ext4 file system of that many bytes, its image beside it
 * (dir.img), mounted in a mount namespace the calling process moves to
 * (the host's never sees it).  0 or SO_ERR with err.
 */
int bld_workfs_open(int *fd, const so_config_t *cfg, const char *dir,
    size_t disk, uid_t uid, char *err, size_t errlen);

/* detaches what is mounted on dir, if anything, removes its image and dir */
void bld_workfs_close(const so_config_t *cfg, const char *dir);


/* publish.c */

/*
 * Copies the tree of the directory fd src (borrowed) to dst (which must
 * not exist): a site's, or an app's (app 1), as publish.c says, what is
 * skipped logged.  0 or SO_ERR with err.
 */
int bld_publish_copy(int src, uid_t uid, int app, const char *dst,
    bld_log_t *log, char *err, size_t errlen);

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


/* quota.c */

/*
 * Measures the published artifact (bytes on disk), records it in
 * deployments.artifact_bytes and checks the account's quota_disk_bytes.
 * 0; SO_EQUOTA, said in log; SO_EUNAVAIL / SO_ERR.
 */
int bld_quota_disk(so_pg_t *pg, const so_config_t *cfg, long long deployment,
    long long project, const char *artifact, bld_log_t *log);


/* edge.c */

/*
 * The route of a project (name) to the artifact of one deployment, as the
 * control API takes it; a single-page framework's (vite, vue...) answers
 * unknown paths with index.html.  *out is a new reference.
 */
json_t *bld_route_static(const char *project, long long deployment_id,
    const char *root, const char *framework);

/*
 * edgeq.c: PUTs route as host to every edge of cfg->edges at once (route
 * NULL: DELETE), a thread each, and returns as soon as one edge took it
 * (the others are still asked, while the process lives): 0 then, or with
 * no edge listed; SO_EUNAVAIL when every edge failed, with the first
 * failure in err.  For the build worker, whose process ends soon
 * after: the daemon asks with bld_edgeq_push, which does not wait.
 */
int bld_edge_push(const so_config_t *cfg, const char *host,
    json_t *route, char *err, size_t errlen);

/*
 * Writes the whole route table, read from PostgreSQL, to
 * var_dir/routes.json atomically (temp file + rename, under a lock).
 */
int bld_edge_snapshot(so_pg_t *pg, const so_config_t *cfg, char *err,
    size_t errlen);

/*
 * The route of a dynamic app: running at addr:port, or sleeping; a
 * php-fpm one (script_root not NULL: its document root) is reached over
 * FastCGI.  A new reference, or NULL.
 */
json_t *bld_route_dynamic(const char *project, long long deployment_id,
    const char *addr, int port, int running, const char *script_root);

/*
 * The document root of a php-fpm app whose tree is tree and run command
 * run_cmd ("php-fpm <root>", so_detect.h), as an absolute path into out:
 * 0; SO_ENOTFOUND for any other command; SO_EINVAL for a root that is
 * not below the tree, or too long.
 */
int bld_route_script_root(const char *run_cmd, const char *tree, char *out,
    size_t len);

/*
 * *out = the route of project_id's PRODUCTION deployment as PostgreSQL
 * (and app_processes) says now, a new reference; NULL when it has none.
 * 0 or SO_EUNAVAIL.
 */
int bld_edge_route_of(json_t **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id);


/*
 * uid.c: *out = the uid (and gid) project's builds and apps run as, taken
 * for it the first time.  0; SO_ENOTFOUND (no such project), SO_EEXISTS
 * (every uid of the range is taken) or SO_EUNAVAIL, logged.
 */
uid_t bld_detect_uid(const so_config_t *cfg);    /* detections' */
int bld_project_uid(uid_t *out, so_pg_t *pg, const so_config_t *cfg,
    long long project);

#endif /* BLD_WORKER_H */
