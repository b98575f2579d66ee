/*
 * loop.c: shipoffd's event loop, the owner of the actors, each with its
 * own state, header and files:
 *
 *   builds     builds.h: the claim, the build children, the reconciler
 *   apps       apps.h: the supervisor of dynamic apps
 *   scaler     scaler.h: scale to zero (the edges' activity) and wakes
 *   events     events.h: promotions, deletions, detections
 *
 * The loop owns epoll, the Redis connection the three stream consumers
 * share (stream.c), the drain and every timer; it calls each actor when
 * its time comes.  An actor is given its collaborators at init, never the
 * daemon, so no actor calls back into the loop or into one that calls it
 * (scripts/callgraph checks it).  Shared services (configuration,
 * PostgreSQL, Redis) are bld_t's (bld.h).
 *
 * PostgreSQL is the truth, Redis only carries the news: a stream entry is
 * acknowledged only once what it asked for is durable in the database, and
 * every claim is a conditional UPDATE, so a duplicate delivery is a no-op.
 *
 * One epoll loop; signals arrive through a signalfd so handlers never run
 * in signal context (pgbouncer style), each child through a pidfd, and
 * the news of its threads through one eventfd: notify.c's (a stream
 * grew) and edgeq.c's (the edges answered: a slow edge never holds the
 * loop).  The streams (cancels, builds while a slot is free, events,
 * wakes) are read at once after any event (an exit frees a slot), and at
 * the latest every BLD_TICK_MS; a tick alone (the supervisor's, while an
 * app starts) does not read them.  Each pass enforces kill deadlines and
 * runs the timers: lease heartbeats every lease_ttl / 3, the reconciler
 * (and retention) at start and every reconcile_interval, the supervisor's
 * check and the scaler's reaping every reap_interval.  Nothing in it
 * blocks longer than one round trip to PostgreSQL or Redis.
 *
 * SIGTERM/SIGINT drain: nothing more is claimed, running builds get
 * BLD_DRAIN_MS to finish (the stack and systemd wait 5 s), then they are
 * killed and their deployments queued again, the attempt not counted.  A
 * second one exits at once (the leases expire; another builder, or this
 * one restarted, recovers them).  Dynamic apps are left running: the
 * next shipoffd adopts them.  SIGHUP reloads the configuration and keeps
 * the old one when the new one is bad.
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_fd.h"
#include "so_log.h"
#include "bld.h"
#include "apps.h"
#include "builds.h"
#include "edgeq.h"
#include "events.h"
#include "scaler.h"
#include "stream.h"


#define BLD_TICK_MS   200
#define BLD_DRAIN_MS  3000          /* on stop: running builds may finish */


typedef struct {
    bld_t              *b;
    char                consumer[BLD_CONSUMER_LEN];  /* host:pid */
    bld_stream_conn_t   conn;       /* Redis, for the three consumers */
    int                 sigfd;
    int                 wakefd;     /* the threads' eventfd */
    unsigned            stop:1;     /* a stop signal came */
    unsigned            draining:1; /* stopping: claim nothing more */

    int64_t             next_heartbeat;  /* ms, monotonic */
    int64_t             next_reconcile;
    int64_t             next_reap;
    int64_t             next_poll;  /* the streams read again; 0: now */

    bld_builds_t        builds;
    bld_apps_t          apps;
    bld_scaler_t        scaler;
    bld_events_t        events;
} bld_daemon_t;


static void bld_signal(bld_daemon_t *d);
static void bld_reload(bld_t *b);
static void bld_timers(bld_daemon_t *d);
static int bld_start(bld_daemon_t *d);
static void bld_actors_init(bld_daemon_t *d);
static void bld_dispatch(bld_daemon_t *d, int fd);
static int bld_wait_ms(bld_daemon_t *d);
static void bld_poll(bld_daemon_t *d);


void
bld_owner_name(char *out, size_t len)
{
    char  host[256];

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(out, len, "%s:%ld", host, (long) getpid());
}


static void
bld_reload(bld_t *b)
{
    so_config_t  cfg;
    char         err[SO_ERRLEN];

    if (so_config_load(&cfg, b->conf_path, err, sizeof(err)) != SO_OK) {
        so_log_error("reload", "%s; keeping the running configuration",
                     err);
        return;
    }

    if (bld_netns_host_init(&cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("reload", "sandbox network: %s; keeping the running "
                     "configuration", err);
        so_config_free(&cfg);
        return;
    }

    so_config_free(&b->cfg);
    b->cfg = cfg;
    so_log_set_level(b->cfg.log_level);
    so_log_info("reload", "configuration reloaded");
}


static void
bld_signal(bld_daemon_t *d)
{
    struct signalfd_siginfo  si;

    while (read(d->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (d->stop) {
                so_log_info(NULL, "second stop signal: exiting now");
                bld_jobs_kill_now(&d->builds);
                _exit(1);
            }
            so_log_info(NULL, "stopping: %d builds running",
                        d->builds.njobs);
            d->stop = 1;
            break;
        case SIGHUP:
            bld_reload(d->b);
            break;
        default:
            break;
        }
    }
}


static void
bld_timers(bld_daemon_t *d)
{
    bld_t    *b;
    int64_t   now;

    b = d->b;
    now = so_now_ms();

    if (now >= d->next_heartbeat) {
        bld_jobs_heartbeat(&d->builds);
        d->next_heartbeat = now + (int64_t) b->cfg.lease_ttl * 1000 / 3;
    }

    if (now >= d->next_reap) {
        bld_apps_check(&d->apps);
        bld_apps_sample(&d->apps);
        bld_scaler_reap(&d->scaler);
        d->next_reap = now + (int64_t) b->cfg.reap_interval * 1000;
    }

    if (!d->draining && now >= d->next_reconcile) {
        /* what dead builders left pending becomes ours */
        bld_reconcile(&d->builds);
        (void) bld_stream_autoclaim(&d->events.stream);
        (void) bld_stream_autoclaim(&d->scaler.wakes);
        bld_retention(b);
        d->next_reconcile = now + (int64_t) b->cfg.reconcile_interval * 1000;
    }
}


/* the signals, the threads' eventfd, the servers, the sandbox's network,
   our name */
static int
bld_start(bld_daemon_t *d)
{
    struct epoll_event   ev;
    sigset_t             mask;
    bld_t               *b;
    char                 err[SO_ERRLEN];
    int                  fds[2], i;

    b = d->b;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    d->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->sigfd == -1 || d->wakefd == -1 || b->epfd == -1) {
        so_log_error(NULL, "signalfd/eventfd/epoll: %s", strerror(errno));
        return SO_ERR;
    }

    fds[0] = d->sigfd;
    fds[1] = d->wakefd;

    for (i = 0; i < 2; i++) {
        ev.events = EPOLLIN;
        ev.data.fd = fds[i];
        if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fds[i], &ev) == -1) {
            so_log_error(NULL, "epoll_ctl: %s", strerror(errno));
            return SO_ERR;
        }
    }

    if (bld_edgeq_init(d->wakefd) != SO_OK) {
        return SO_ERR;
    }

    b->pg = so_pg_new(b->cfg.pg_dsn, b->cfg.pg_timeout);
    b->redis = so_redis_new(b->cfg.redis_host, b->cfg.redis_port,
                            b->cfg.redis_timeout);
    if (b->pg == NULL || b->redis == NULL) {
        return SO_ERR;
    }

    if (so_pg_ping(b->pg) != SO_OK) {
        so_log_error(NULL, "PostgreSQL: %s", so_pg_errstr(b->pg));
        return SO_ERR;
    }

    if (bld_netns_host_init(&b->cfg, err, sizeof(err)) != SO_OK) {
        so_log_error(NULL, "sandbox network: %s", err);
        return SO_ERR;
    }

    bld_owner_name(d->consumer, sizeof(d->consumer));

    d->conn.redis = b->redis;
    d->conn.cfg = &b->cfg;
    d->conn.consumer = d->consumer;

    return SO_OK;
}


/* each actor is given what it works with, then the timers start */
static void
bld_actors_init(bld_daemon_t *d)
{
    bld_t       *b;
    const char  *streams[4];

    b = d->b;

    if (bld_builds_init(&d->builds, b, &d->conn, &d->apps) != SO_OK) {
        so_log_warn(NULL, "the queue is not reachable yet: trying again");
    }
    bld_events_init(&d->events, b, &d->conn, &d->apps, &d->builds);
    bld_scaler_init(&d->scaler, b, &d->conn, &d->apps);

    so_log_info(NULL, "shipoffd %s started; queue %s group %s consumer %s",
                SHIPOFF_VERSION, BLD_STREAM, BLD_GROUP, d->consumer);

    (void) bld_recover(&d->builds, BLD_RECOVER_MINE, 1);
    bld_apps_init(&d->apps, b, d->consumer);

    /* the policies' names: the actors were given theirs above */
    streams[0] = d->builds.stream.policy->stream;
    streams[1] = d->events.stream.policy->stream;
    streams[2] = d->scaler.wakes.policy->stream;
    streams[3] = SO_DEPLOY_CANCEL;

    if (bld_notify_start(&b->cfg, d->wakefd, streams, 4) != SO_OK) {
        so_log_warn(NULL, "new stream entries wait for the next poll "
                    "(every %d ms)", BLD_TICK_MS);
    }

    d->next_reconcile = so_now_ms();
    d->next_heartbeat = so_now_ms();
    /* the first check a reap_interval from now; without cgroups at
       once: what waits for an app here cannot start */
    d->next_reap = so_now_ms() + (d->apps.cgroups_ok
                                  ? (int64_t) b->cfg.reap_interval * 1000
                                  : 0);
}


static void
bld_dispatch(bld_daemon_t *d, int fd)
{
    eventfd_t  n;

    if (fd == d->sigfd) {
        bld_signal(d);

    } else if (fd == d->wakefd) {
        if (eventfd_read(fd, &n) == -1 && errno != EAGAIN) {
            so_log_error(NULL, "eventfd: %s", strerror(errno));
        }
        bld_edgeq_done();

    } else if (bld_job_is_ours(&d->builds, fd)) {
        bld_job_exited(&d->builds, fd);

    } else if (bld_app_is_ours(&d->apps, fd)) {
        bld_app_exited(&d->apps, fd);
    }
}


/* until the next poll, or the supervisor's tick while an app starts */
static int
bld_wait_ms(bld_daemon_t *d)
{
    int64_t  wait;
    int      apps;

    wait = d->next_poll - so_now_ms();
    wait = wait < 0 ? 0 : (wait > BLD_TICK_MS ? BLD_TICK_MS : wait);

    apps = bld_apps_wait_ms(&d->apps);
    if (apps > 0 && apps < wait) {
        wait = apps;
    }

    return (int) wait;
}


/* the streams: cancels, then (not while draining) builds, events, wakes */
static void
bld_poll(bld_daemon_t *d)
{
    int64_t  now;

    now = so_now_ms();

    if (now < d->next_poll) {
        return;
    }

    d->next_poll = now + BLD_TICK_MS;

    bld_builds_cancels(&d->builds);

    /* draining: nothing more is claimed, woken or handled */
    if (!d->draining) {
        bld_builds_poll(&d->builds);
        bld_events_poll(&d->events);
        bld_scaler_poll(&d->scaler);
    }
}


int
bld_loop(bld_t *b)
{
    struct epoll_event   events[16];
    bld_daemon_t         d;
    int64_t              drain_end;
    int                  n, i, rc;

    rc = SO_ERR;
    b->epfd = -1;
    drain_end = 0;

    memset(&d, 0, sizeof(d));
    d.b = b;
    d.sigfd = -1;
    d.wakefd = -1;

    if (bld_start(&d) != SO_OK) {
        goto done;
    }

    bld_actors_init(&d);

    for ( ;; ) {
        if (d.stop && !d.draining) {
            d.draining = 1;
            drain_end = so_now_ms() + BLD_DRAIN_MS;
        }

        if (d.draining && (d.builds.njobs == 0 || so_now_ms() >= drain_end)) {
            break;
        }

        n = epoll_wait(b->epfd, events, (int) so_nelems(events),
                       bld_wait_ms(&d));
        if (n == -1 && errno != EINTR) {
            so_log_error(NULL, "epoll_wait: %s", strerror(errno));
            goto done;
        }

        for (i = 0; i < n; i++) {
            bld_dispatch(&d, events[i].data.fd);
        }

        /* news, an exit that frees a slot, an edge's answer: read now */
        if (n > 0) {
            d.next_poll = 0;
        }

        bld_jobs_tick(&d.builds, so_now_ms());
        bld_timers(&d);
        bld_poll(&d);

        bld_apps_tick(&d.apps, so_now_ms());
    }

    bld_jobs_stop(&d.builds);
    so_log_info(NULL, "stopped");
    rc = SO_OK;

done:

    bld_jobs_kill_now(&d.builds);
    bld_apps_close(&d.apps);
    so_pg_free(b->pg);
    so_redis_free(b->redis);
    so_fd_close(&d.sigfd);
    so_fd_close(&b->epfd);      /* wakefd stays: the threads outlive us */

    return rc;
}
