/*
 * bld.h: shipoffd, the builder and runtime supervisor.
 */

#ifndef BLD_H
#define BLD_H

#include "so_config.h"
#include "so_pg.h"
#include "so_redis.h"

#define BLD_STREAM  "shipoff:builds"
#define BLD_GROUP   "builders"
#define BLD_CONSUMER_LEN  300       /* host:pid */

typedef struct {
    so_config_t   cfg;
    const char   *conf_path;
    so_pg_t      *pg;
    so_redis_t   *redis;
    int           epfd;
} bld_t;

int bld_loop(bld_t *b);

/* loop.c: this process's name as a stream consumer and a lease owner */
void bld_owner_name(char *out, size_t len);

/* jobs.c: deployment's lease dropped if owner holds it, a failure logged */
void bld_unlease(so_pg_t *pg, long long deployment, const char *owner);

/* retention.c: deletes log lines past log_max_age and log_max_size, and
   deployments past quota_deployments_kept (quota.c) */
void bld_retention(bld_t *b);

/* quota.c: 0 when the app of deployment may start; SO_EQUOTA (said in its
   log) when its account runs quota_apps_running apps of other projects */
int bld_quota_apps(bld_t *b, long long deployment);

/*
 * worker.c: the whole life of one claimed deployment, in a child process
 * of shipoffd (one per job: a crash or a leak dies with it).  The loop
 * claims the deployment (QUEUED -> BUILDING, lease held by the loop),
 * forks, and the child calls bld_worker_run(), which opens its own
 * PostgreSQL and Redis connections and drives the deployment to
 * PRODUCTION or FAILED (with its reason), streaming the logs.
 *
 * The child starts with signals unblocked and default, in a process group
 * of its own, with no descriptor but stdio, and is SIGKILLed if shipoffd
 * dies (PR_SET_PDEATHSIG).  SIGTERM means cancel; the loop SIGKILLs the
 * group 5 s later, and also when it stops (the deployment is then queued
 * again); shipoffd's kill -9 does the same.  So a worker may find what a
 * killed attempt of its deployment left (cgroup, build dir): it must clean
 * that up rather than fail.  Exit codes:
 */
#define BLD_WORKER_DONE      0    /* PRODUCTION */
#define BLD_WORKER_FAILED    1    /* FAILED, reason recorded */
#define BLD_WORKER_RETRY     2    /* internal trouble: the loop re-queues */
#define BLD_WORKER_CANCELED  3    /* SIGTERM: sandbox killed, CANCELED */
#define BLD_WORKER_PROVISIONED 4  /* a dynamic app built, PROVISIONING,
                                     its artifact recorded: the loop's
                                     supervisor starts it (apps.h) */

int bld_worker_run(const so_config_t *cfg, long long deployment_id);

/*
 * detect.c: one detection (POST /api/v1/detect), in a child process like
 * a worker's: the repository cloned and detected in the sandbox under
 * detect_timeout, the answer (or the error) written to its row.  Exits
 * 0 once the row says done or failed, else BLD_WORKER_RETRY.
 */
int bld_detect_run(const so_config_t *cfg, long long detection_id);

/* the loop's side of a detection: its child died before it wrote the row
   (failed now), and rows nobody finished within detect_timeout */
void bld_detect_lost(so_pg_t *pg, long long detection);
void bld_detect_expire(so_pg_t *pg, const so_config_t *cfg);

#endif /* BLD_H */
