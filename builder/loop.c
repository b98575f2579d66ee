/*
 * loop.c: shipoffd's event loop, the owner of the actors (daemon.h).
 *
 * One epoll loop; signals arrive through a signalfd so handlers never run
 * in signal context (pgbouncer style), and each build's child through a
 * pidfd.  The streams (cancels, builds while a slot is free, events,
 * wakes) are read at once when notify.c's thread says one grew, after any
 * other event (an exit frees a slot), and at the latest every BLD_TICK_MS;
 * a tick alone (the supervisor's, while an app starts) does not read
 * them.  Each pass enforces kill deadlines and runs the timers:
 * lease heartbeats every lease_ttl / 3, the reconciler (and retention) at
 * start and every reconcile_interval, the supervisor's check and the
 * scaler's reaping every reap_interval.  Nothing in it blocks longer than
 * one round trip to PostgreSQL or Redis.
 *
 * SIGTERM/SIGINT drain: nothing more is claimed, running builds get
 * BLD_DRAIN_MS to finish (the stack and systemd wait 5 s), then they are
 * killed and their deployments queued again, the attempt not counted.  A
 * second one exits at once (the leases expire; another builder, or this
 * one restarted, recovers them).  SIGHUP reloads the configuration and
 * keeps the old one when the new one is bad.
 *
 * Dynamic apps (apps.c) are the loop's too: their exits arrive through
 * pidfds, their health checks, drains and restarts run in the tick, which
 * is shortened while an app starts.  Stopping leaves them running: the
 * next shipoffd adopts them.
 *
 * The edges are asked from threads (edgeq.c): what they answer comes
 * back through an eventfd, so a slow edge never holds the loop.
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_fd.h"
#include "so_log.h"
#include "daemon.h"
#include "edgeq.h"
#include "notify.h"


#define BLD_TICK_MS  200


static int bld_signal(bld_daemon_t *d);
static void bld_reload(bld_t *b);
static void bld_timers(bld_daemon_t *d);
static int bld_start(bld_daemon_t *d);
static void bld_actors_init(bld_daemon_t *d);
static void bld_dispatch(bld_daemon_t *d, int fd);
static int bld_wait_ms(bld_daemon_t *d);
static void bld_poll(bld_daemon_t *d);


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


static int
bld_signal(bld_daemon_t *d)
{
    struct signalfd_siginfo   si;
    bld_t                    *b;

    b = d->b;

    while (read(b->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (b->stop) {
                so_log_info(NULL, "second stop signal: exiting now");
                bld_jobs_kill_now(&d->builds);
                _exit(1);
            }
            so_log_info(NULL, "stopping: %d builds running",
                        d->builds.njobs);
            b->stop = 1;
            break;
        case SIGHUP:
            bld_reload(b);
            break;
        default:
            break;
        }
    }

    return SO_OK;
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


/* the servers, the sandbox's network, our name */
static int
bld_start(bld_daemon_t *d)
{
    bld_t  *b;
    char    host[256], err[SO_ERRLEN];

    b = d->b;

    if (bld_edgeq_init(b->epfd) != SO_OK) {
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

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(d->consumer, sizeof(d->consumer), "%s:%ld", host,
             (long) getpid());

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

    streams[0] = d->builds.stream.policy->stream;
    streams[1] = d->events.stream.policy->stream;
    streams[2] = d->scaler.wakes.policy->stream;
    streams[3] = SO_DEPLOY_CANCEL;

    if (bld_notify_start(&b->cfg, b->epfd, streams, 4) != SO_OK) {
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
    if (fd == d->b->sigfd) {
        bld_signal(d);

    } else if (bld_notify_is_ours(fd)) {
        bld_notify_heard();

    } else if (bld_edgeq_is_ours(fd)) {
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
    struct epoll_event   ev, events[16];
    sigset_t             mask;
    bld_daemon_t        *d;
    int64_t              drain_end;
    int                  n, i, rc;

    rc = SO_ERR;
    b->epfd = -1;
    b->sigfd = -1;
    drain_end = 0;

    d = calloc(1, sizeof(bld_daemon_t));
    if (d == NULL) {
        so_log_error(NULL, "out of memory");
        return SO_ERR;
    }
    d->b = b;

    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    b->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (b->sigfd == -1 || b->epfd == -1) {
        so_log_error(NULL, "signalfd/epoll: %s", strerror(errno));
        goto done;
    }

    ev.events = EPOLLIN;
    ev.data.fd = b->sigfd;
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->sigfd, &ev) == -1) {
        so_log_error(NULL, "epoll_ctl: %s", strerror(errno));
        goto done;
    }

    if (bld_start(d) != SO_OK) {
        goto done;
    }

    bld_actors_init(d);

    for ( ;; ) {
        if (b->stop && !d->draining) {
            d->draining = 1;
            drain_end = so_now_ms() + BLD_DRAIN_MS;
        }

        if (d->draining
            && (d->builds.njobs == 0 || so_now_ms() >= drain_end))
        {
            break;
        }

        n = epoll_wait(b->epfd, events, (int) so_nelems(events),
                       bld_wait_ms(d));
        if (n == -1 && errno != EINTR) {
            so_log_error(NULL, "epoll_wait: %s", strerror(errno));
            goto done;
        }

        for (i = 0; i < n; i++) {
            bld_dispatch(d, events[i].data.fd);
        }

        /* news, an exit that frees a slot, an edge's answer: read now */
        if (n > 0) {
            d->next_poll = 0;
        }

        bld_jobs_tick(&d->builds, so_now_ms());
        bld_timers(d);
        bld_poll(d);

        bld_apps_tick(&d->apps, so_now_ms());
    }

    bld_jobs_stop(&d->builds);
    so_log_info(NULL, "stopped");
    rc = SO_OK;

done:

    bld_jobs_kill_now(&d->builds);
    bld_apps_close(&d->apps);
    free(d);
    so_pg_free(b->pg);
    so_redis_free(b->redis);
    so_fd_close(&b->sigfd);
    so_fd_close(&b->epfd);

    return rc;
}
