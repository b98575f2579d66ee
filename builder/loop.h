/*
 * loop.h: the parts of shipoffd's event loop, one concept per file:
 *
 *   loop.c       epoll, signals, timers, the drain on stop
 *   stream.c     the consumer of a Redis stream, for the three below
 *   queue.c      shipoff:builds (consumer group) and shipoff:cancel;
 *                the claim of a deployment in PostgreSQL
 *   jobs.c       one child process per claimed deployment, watched with
 *                a pidfd; leases and what happens when a child exits
 *   reconcile.c  the outbox, lost leases and forgotten QUEUED deployments
 *   events.c     shipoff:events (consumer group "events"): the routes and
 *                artifacts of promoted and deleted projects
 *   apps.c       the supervisor of dynamic apps: start in the sandbox,
 *                health check, switch, drain, stop, restart, adopt
 *   appio.c      one app's port, output files, health check, signals
 *   idle.c       scale to zero (the edges' activity) and shipoff:wake
 *   edgeq.c      the edges' pushes and polls, on threads, off the loop
 *
 * PostgreSQL is the truth, Redis only carries the news: a stream entry is
 * acknowledged only once what it asked for is durable in the database, and
 * every claim is a conditional UPDATE, so a duplicate delivery is a no-op.
 *
 * Private to builder/: the contract with the worker is bld.h.
 */

#ifndef BLD_LOOP_H
#define BLD_LOOP_H

#include <stdint.h>
#include <sys/types.h>

#include "so_clock.h"
#include "bld.h"
#include "cgroup.h"
#include "netns.h"
#include "stream.h"


#define BLD_MAX_JOBS       256     /* build_concurrency's upper bound */
#define BLD_CONSUMER_LEN   300     /* host:pid */
#define BLD_KILL_GRACE_MS  5000    /* SIGTERM (cancel) .. SIGKILL */
#define BLD_DRAIN_MS       3000    /* on stop: running builds may finish */
#define BLD_MAX_APPS       1024    /* app processes on one builder */


typedef struct {
    long long    deployment;    /* a detection's id when detect */
    long long    project;       /* 0 for a detection */
    unsigned     detect:1;      /* a detection (detect.c), not a build */
    pid_t        pid;
    int          pidfd;
    int64_t      kill_at;       /* ms: SIGKILL then (after a cancel); 0 */
    int64_t      deadline;      /* ms: the wall clock; killed after */
} bld_job_t;

typedef enum {
    BLD_APP_STARTING = 0,       /* spawned, health check not through */
    BLD_APP_RUNNING,
    BLD_APP_DRAINING,           /* replaced or idle: SIGTERM at stop_at */
    BLD_APP_STOPPING,           /* SIGTERMed: the cgroup killed at kill_at */
    BLD_APP_BACKOFF             /* crashed: started again at start_at */
} bld_app_state_t;

/* one process of a dynamic app (one deployment), see apps.c */
typedef struct {
    long long        deployment;
    long long        project;
    char             name[64];      /* the project's: the host's label */
    bld_app_state_t  state;
    unsigned         child:1;       /* ours to waitpid (not adopted) */
    unsigned         to_sleep:1;    /* idle: sleeping once stopped */
    unsigned         wake:1;        /* woken while stopping: start again */
    pid_t            pid;           /* bwrap's; 0: none */
    int              pidfd;
    bld_cgroup_t     cg;
    char             addr[BLD_NETNS_ADDRLEN];  /* in its namespace */
    int              port;
    int64_t          started;       /* ms, monotonic */
    int64_t          running;       /* ms: answering since; the idle clock */
    int64_t          deadline;      /* STARTING: startup_timeout */
    int64_t          next_probe;
    int64_t          stop_at;       /* DRAINING */
    int64_t          kill_at;       /* STOPPING */
    int64_t          start_at;      /* BACKOFF */
    int              backoff_ms;
    int              restarts;
    int              probe_fd;      /* the health check's connection */
    unsigned         probe_sent:1;
    unsigned         probe_foreign:1;   /* logged: not the app's listener */
    char             health[256];   /* the path probed */
    int              out[2];        /* stdout, stderr files, read side */
    char            *part[2];       /* a line not ended yet */
    size_t           plen[2];
    struct bld_log_s *log;
} bld_app_t;

typedef struct {
    bld_app_t       *apps[BLD_MAX_APPS];
    int              napps;
    bld_cgroup_sys_t cgroups;
    unsigned         cgroups_ok:1;
    char             owner[BLD_CONSUMER_LEN];  /* our host name */
    int64_t          next_reap;
    unsigned         polling:1;     /* the edges' activity is asked */
} bld_apps_t;

typedef struct {
    bld_t       *b;
    char         consumer[BLD_CONSUMER_LEN];

    bld_job_t    jobs[BLD_MAX_JOBS];
    int          njobs;

    bld_stream_conn_t  conn;     /* Redis, for the three consumers: */
    bld_stream_t  builds;         /* shipoff:builds (queue.c) */
    bld_stream_t  events;         /* shipoff:events (events.c) */
    bld_stream_t  wakes;          /* shipoff:wake (idle.c) */

    char         cancel_last[BLD_STREAM_ID_LEN];  /* shipoff:cancel read */
    unsigned     draining:1;      /* stopping: claim nothing more */

    int64_t      next_reconcile;  /* ms, monotonic */
    int64_t      next_heartbeat;

    bld_apps_t   apps;
} bld_queue_t;


/* queue.c */
int bld_queue_init(bld_queue_t *q);
void bld_queue_poll(bld_queue_t *q);
void bld_queue_cancels(bld_queue_t *q);
void bld_queue_tidy(bld_queue_t *q);

/* jobs.c */
int bld_jobs_capacity(const bld_queue_t *q);
int bld_job_start(bld_queue_t *q, long long deployment, long long project);
int bld_job_start_detect(bld_queue_t *q, long long detection);
int bld_job_is_ours(const bld_queue_t *q, int fd);
void bld_job_exited(bld_queue_t *q, int pidfd);
void bld_job_cancel(bld_queue_t *q, long long deployment);
void bld_job_cancel_project(bld_queue_t *q, long long project);
void bld_jobs_tick(bld_queue_t *q);
void bld_jobs_heartbeat(bld_queue_t *q);
void bld_jobs_stop(bld_queue_t *q);
void bld_jobs_kill_now(bld_queue_t *q);

/* events.c */
void bld_events_init(bld_queue_t *q);
void bld_events_poll(bld_queue_t *q);

/* apps.c */
void bld_apps_init(bld_queue_t *q);
int bld_apps_handover(bld_queue_t *q, long long deployment);
int bld_apps_start(bld_queue_t *q, long long deployment);
int bld_app_is_ours(const bld_queue_t *q, int fd);
void bld_app_exited(bld_queue_t *q, int pidfd);
void bld_apps_tick(bld_queue_t *q);
int bld_apps_wait_ms(const bld_queue_t *q);
bld_app_t *bld_apps_find(bld_queue_t *q, long long deployment);
void bld_app_drain(bld_queue_t *q, bld_app_t *app, int to_sleep);
void bld_app_route(bld_queue_t *q, bld_app_t *app);
int bld_apps_promoted(bld_queue_t *q, long long project,
    long long deployment, int dynamic);
void bld_apps_delete_project(bld_queue_t *q, long long project);
void bld_apps_check(bld_queue_t *q);
void bld_apps_close(bld_queue_t *q);

/* appio.c */

/* a port for a new app, or -1 */
int bld_app_port(bld_queue_t *q);

/* opens app->out (and the sandbox's ends in wfd[2] when not NULL) */
int bld_app_outputs(bld_queue_t *q, bld_app_t *app, int *wfd);

/* what the app printed since the last call, into its log */
void bld_app_tail(bld_app_t *app);

/* 1 once the app answered its health check */
int bld_app_probe(bld_app_t *app, int64_t now);
void bld_app_probe_reset(bld_app_t *app, int64_t now);

void bld_app_signal(bld_app_t *app, int sig);

/* idle.c */
void bld_idle_reap(bld_queue_t *q);
void bld_wake_init(bld_queue_t *q);
void bld_wake_poll(bld_queue_t *q);

/* reconcile.c */
#define BLD_RECOVER_MINE  (-1LL)

void bld_reconcile(bld_queue_t *q);
int bld_recover(bld_queue_t *q, long long deployment, int counted);

/* retention.c: deletes log lines past log_max_age and log_max_size, and
   deployments past quota_deployments_kept (quota.c) */
void bld_retention(bld_queue_t *q);

/* quota.c: 0 when the app of deployment may start; SO_EQUOTA (said in its
   log) when its account runs quota_apps_running apps of other projects */
int bld_quota_apps(bld_queue_t *q, long long deployment);

/* deletes the oldest prunable deployments of accounts over
   quota_deployments_kept */
void bld_quota_prune(bld_queue_t *q);

#endif /* BLD_LOOP_H */
