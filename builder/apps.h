/*
 * apps.h: the supervisor of dynamic apps (apps.c, appio.c, appstate.c),
 * an actor of shipoffd (loop.c).
 *
 * It alone writes an app's fields: the others (events.c, the scaler,
 * the builds) ask it through the functions below.  It is given the
 * shared services (bld_t) at init and knows no other actor.
 */

#ifndef BLD_APPS_H
#define BLD_APPS_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "so_clock.h"
#include "bld.h"
#include "cgroup.h"
#include "netns.h"
#include "sandbox.h"


#define BLD_MAX_APPS       1024     /* app processes on one builder */
#define BLD_APP_BACKOFF_MIN  1000   /* ms: a crashed app's first restart */
#define BLD_APP_BACKOFF_MAX  60000  /* ms: doubling up to this */
#define BLD_APP_STABLE_MS    60000  /* up this long: the backoff starts over */


typedef enum {
    BLD_APP_STARTING = 0,       /* spawned, health check not through */
    BLD_APP_RUNNING,
    BLD_APP_DRAINING,           /* replaced or idle: SIGTERM when due */
    BLD_APP_STOPPING,           /* SIGTERMed: the cgroup killed when due */
    BLD_APP_BACKOFF             /* crashed: started again when due */
} bld_app_state_t;

/* one process of a dynamic app (one deployment) */
typedef struct {
    long long        deployment;
    long long        project;
    char             name[64];      /* the project's: the host's label */
    bld_app_state_t  state;
    unsigned         child:1;       /* ours to waitpid (not adopted) */
    unsigned         to_sleep:1;    /* idle: sleeping once stopped */
    unsigned         wake:1;        /* woken while stopping: start again */
    unsigned         reroute:1;     /* an edge missed its route: again */
    pid_t            pid;           /* bwrap's; 0: none */
    int              pidfd;
    bld_cgroup_t     cg;
    char             addr[BLD_NETNS_ADDRLEN];  /* in its namespace */
    int              port;
    int64_t          started;       /* ms, monotonic */
    int64_t          running;       /* ms: answering since; the idle clock */
    int64_t          due;           /* ms: its state's timer runs out */
    int64_t          next_probe;
    int              backoff_ms;
    int              restarts;
    int              probe_fd;      /* the health check's connection */
    unsigned         probe_sent:1;
    unsigned         probe_foreign:1;   /* logged: not the app's listener */
    char             health[256];   /* the path probed */
    unsigned         fastcgi:1;     /* php-fpm: probed and routed so */
    char             script_root[PATH_MAX];    /* its document root */
    int              out[2];        /* stdout, stderr files, read side */
    char            *part[2];       /* a line not ended yet */
    size_t           plen[2];
    struct bld_log_s *log;
    /* what happened since the last usage sample (appusage.c) */
    int              u_restarts;
    int              u_ooms;
    int              u_wakes;
    uint64_t         u_requests;
    uint64_t         u_cpu_usec;    /* the cgroup's count at that sample */
    uint64_t         u_edge_requests;   /* the edges' count last seen */
    unsigned         u_edge_seen:1;
} bld_app_t;

typedef struct {
    bld_t           *b;
    const char      *consumer;      /* host:pid: the builds' lease owner */
    char             owner[BLD_CONSUMER_LEN];  /* our host name */
    bld_app_t       *apps[BLD_MAX_APPS];
    int              napps;
    bld_cgroup_sys_t cgroups;
    unsigned         cgroups_ok:1;  /* apps can run here */
    unsigned         usage_failing:1;   /* logged: samples not stored */
} bld_apps_t;

/* what happens to an app (appstate.c) */
typedef enum {
    BLD_APP_EV_TICK = 0,        /* time passed (its health check not through) */
    BLD_APP_EV_HEALTHY,         /* its health check passed */
    BLD_APP_EV_EXITED,          /* its process is gone */
    BLD_APP_EV_DRAIN,           /* replaced, idle, or its deployment gone */
    BLD_APP_EV_PROMOTED,        /* its deployment is PRODUCTION (again) */
    BLD_APP_EV_WAKE             /* a request for its sleeping route */
} bld_app_event_t;

/* what the supervisor does then (apps.c) */
typedef enum {
    BLD_APP_KEEP = 0,           /* nothing */
    BLD_APP_READY,              /* STARTING -> RUNNING: routed, promoted */
    BLD_APP_TIMEOUT,            /* STARTING due (startup_timeout): killed,
                                   then as EXITED */
    BLD_APP_TERM,               /* DRAINING due: STOPPING, SIGTERM */
    BLD_APP_KILL,               /* STOPPING due: killed, then as EXITED */
    BLD_APP_RESTART,            /* BACKOFF due: STARTING again */
    BLD_APP_CRASHED,            /* ended while it should serve: FAILED
                                   when PROVISIONING, else BACKOFF */
    BLD_APP_RESPAWN,            /* stopped, woken meanwhile: STARTING */
    BLD_APP_SLEEP,              /* stopped to sleep: gone, row sleeping */
    BLD_APP_GONE,               /* stopped: gone, row deleted */
    BLD_APP_DRAIN,              /* -> DRAINING until now + app_drain */
    BLD_APP_DROP,               /* BACKOFF drained: gone at once */
    BLD_APP_REVIVE,             /* DRAINING -> RUNNING, routed again */
    BLD_APP_ROUTE,              /* RUNNING: its route pushed again */
    BLD_APP_WAKE_LATER          /* STOPPING: RESPAWN once it is gone */
} bld_app_action_t;

/* appstate.c: the supervisor's state machine, a pure function */
bld_app_action_t bld_app_next(const bld_app_t *app, bld_app_event_t ev,
    int64_t now);

/* the wait (ms) before a crashed app restarts: BLD_APP_BACKOFF_MIN,
   doubling to BLD_APP_BACKOFF_MAX, from the minimum again once it had
   run BLD_APP_STABLE_MS */
int bld_app_backoff_ms(const bld_app_t *app, int64_t now);

/* the edges' word on an app's route (the scaler's): the requests they
   served so far, or -1 when none has it; *busy unless they say it idles */
typedef long long (*bld_apps_activity_pt)(void *data, const char *name,
    int *busy);


/* apps.c */
void bld_apps_init(bld_apps_t *a, bld_t *b, const char *consumer);
int bld_apps_handover(bld_apps_t *a, long long deployment);
int bld_app_is_ours(const bld_apps_t *a, int fd);
void bld_app_exited(bld_apps_t *a, int pidfd);
/* each app's step due at now (ms, monotonic): health check, drain,
   stop, restart; its output into its log */
void bld_apps_tick(bld_apps_t *a, int64_t now);
int bld_apps_wait_ms(const bld_apps_t *a);
int bld_apps_promoted(bld_apps_t *a, long long project,
    long long deployment, int dynamic);
void bld_apps_delete_project(bld_apps_t *a, long long project);
void bld_apps_check(bld_apps_t *a);
void bld_apps_close(bld_apps_t *a);

/* the number of apps answering */
int bld_apps_running(const bld_apps_t *a);

/* the edges' activity: each running app's requests since the last
   reading go into its next usage sample, and every app answering since
   before `before` (ms) whose route nobody uses is put to sleep */
void bld_apps_activity(bld_apps_t *a, int64_t before,
    bld_apps_activity_pt activity, void *data);

/* a request woke deployment (its project's PRODUCTION one, named
   project): it runs again, or is kept running */
int bld_apps_wake(bld_apps_t *a, long long deployment, const char *project);

/* appfs.c */

#define BLD_APPFS_DIRS  5           /* upper, work, the runtimes' places */

/* an app's copy-on-write view, for one start of it (appfs.c says how) */
typedef struct {
    bld_sandbox_cow_t  cow;         /* what the sandbox mounts */
    int                loop;        /* -1; closed by the caller once the
                                       sandbox mounted it, or failed */
    char               dev[32];
    char               mnt[PATH_MAX / 2];
    char               path[BLD_APPFS_DIRS][PATH_MAX / 2 + 16];
    char               overlay[PATH_MAX * 2];
    const char        *dirs[BLD_APPFS_DIRS + 1];
    const char        *binds[2 * BLD_APPFS_DIRS + 1];
} bld_appfs_t;

/* a fresh file system of cfg->app_disk bytes over the app's tree (the
   artifact), the spare's (bld_appfs_spare()).  0, SO_EINVAL or SO_ERR,
   with err */
int bld_appfs_open(bld_appfs_t *fs, const so_config_t *cfg,
    long long deployment, const char *tree, char *err, size_t errlen);

/* formats the next start's image ahead, unless it is there: 0 or SO_ERR
   (logged; a start then formats its own) */
int bld_appfs_spare(const so_config_t *cfg);

/* appusage.c */

/* one sample of every app's usage into app_usage */
void bld_apps_sample(bld_apps_t *a);

/* appfpm.c */

/* what an app's sandbox runs: its argv, and what it needs bound */
typedef struct {
    const char  *argv[8];
    const char  *ro_binds[3];       /* host path, sandbox path, NULL */
    char         bin[PATH_MAX];
    char         conf[PATH_MAX];
} bld_app_cmd_t;

/* the app's command: its run command through /bin/sh, or php-fpm with
   the pool it writes for the app (app->port set).  0, SO_EINVAL (it
   cannot run: err says why) or SO_ERR */
int bld_app_command(bld_app_cmd_t *c, const so_config_t *cfg,
    bld_app_t *app, const char *dir, const char *cmd, char *err,
    size_t errlen);

/* appio.c */

/* a port of [app_port_min, app_port_max] for a new app (free in its
   network namespace), or -1 */
int bld_app_port(const so_config_t *cfg);

/* opens app->out (and the sandbox's append-only ends in wfd[2] when not
   NULL) */
int bld_app_outputs(const so_config_t *cfg, bld_app_t *app, int *wfd);

/* what the app printed since the last call, line by line into its log */
void bld_app_tail(bld_app_t *app);

/* 1 once the app answered its health check: an HTTP status line, or
   a php-fpm's answer to FCGI_GET_VALUES */
int bld_app_probe(bld_app_t *app, int64_t now);
void bld_app_probe_reset(bld_app_t *app, int64_t now);

#endif /* BLD_APPS_H */
