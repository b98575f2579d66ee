/*
 * builds.h: the builds, an actor of shipoffd (loop.c):
 *
 *   queue.c      shipoff:builds (consumer group) and shipoff:cancel; the
 *                claim of a deployment in PostgreSQL
 *   jobs.c       one child process per claimed deployment, watched with
 *                a pidfd; leases and what happens when a child exits
 *   reconcile.c  the outbox, lost leases, forgotten QUEUED deployments,
 *                the builds stream kept small
 *
 * Given the supervisor at init: a built app is handed over to it.
 */

#ifndef BLD_BUILDS_H
#define BLD_BUILDS_H

#include <stdint.h>
#include <sys/types.h>

#include "so_clock.h"
#include "bld.h"
#include "apps.h"
#include "stream.h"


#define BLD_MAX_JOBS       256     /* build_concurrency's upper bound */
#define BLD_KILL_GRACE_MS  5000    /* SIGTERM (cancel) .. SIGKILL */


typedef struct {
    long long    deployment;    /* a detection's id when detect */
    long long    project;       /* 0 for a detection */
    unsigned     detect:1;      /* a detection (detect.c), not a build */
    pid_t        pid;
    int          pidfd;
    int64_t      kill_at;       /* ms: SIGKILL then (after a cancel); 0 */
    int64_t      deadline;      /* ms: the wall clock; killed after */
} bld_job_t;

typedef struct {
    bld_t         *b;
    const char    *consumer;    /* host:pid: our leases' owner */
    bld_apps_t    *apps;        /* takes a built app over */
    bld_stream_t   stream;      /* shipoff:builds */
    char           cancel_last[BLD_STREAM_ID_LEN];  /* shipoff:cancel read */
    bld_job_t      jobs[BLD_MAX_JOBS];
    int            njobs;
} bld_builds_t;


/* queue.c */
int bld_builds_init(bld_builds_t *q, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps);
void bld_builds_poll(bld_builds_t *q);
void bld_builds_cancels(bld_builds_t *q);

/* jobs.c */
int bld_jobs_capacity(const bld_builds_t *q);
/* detect: a detection's job (deployment is its id, project 0) */
int bld_job_start(bld_builds_t *q, long long deployment, long long project,
    int detect);
int bld_job_is_ours(const bld_builds_t *q, int fd);
void bld_job_exited(bld_builds_t *q, int pidfd);
/* stops the build of deployment, or (deployment 0) every build of project
   (project 0: none) */
void bld_job_cancel(bld_builds_t *q, long long deployment, long long project);
/* kills the children past their deadline (ms, monotonic) */
void bld_jobs_tick(bld_builds_t *q, int64_t now);
void bld_jobs_heartbeat(bld_builds_t *q);
void bld_jobs_stop(bld_builds_t *q);
void bld_jobs_kill_now(bld_builds_t *q);

/* reconcile.c */
#define BLD_RECOVER_MINE  (-1LL)

void bld_reconcile(bld_builds_t *q);
int bld_recover(bld_builds_t *q, long long deployment, int counted);

#endif /* BLD_BUILDS_H */
