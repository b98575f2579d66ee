/*
 * loop.c: shipoffd's event loop.
 *
 * One epoll loop; signals arrive through a signalfd so handlers never run
 * in signal context (pgbouncer style), and each build's child through a
 * pidfd.  Every tick (BLD_TICK_MS) the loop reads cancels, polls the queue
 * while a build slot is free, enforces kill deadlines and runs the timers:
 * lease heartbeats every lease_ttl / 3, the reconciler at start and every
 * reconcile_interval.  Nothing in it blocks longer than one round trip to
 * PostgreSQL or Redis.
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
#include "so_log.h"
#include "edgeq.h"
#include "loop.h"


#define BLD_TICK_MS  200


static int bld_signal(bld_queue_t *q);
static void bld_reload(bld_t *b);
static void bld_timers(bld_queue_t *q);


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
bld_signal(bld_queue_t *q)
{
    struct signalfd_siginfo   si;
    bld_t                    *b;

    b = q->b;

    while (read(b->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (b->stop) {
                so_log_info(NULL, "second stop signal: exiting now");
                bld_jobs_kill_now(q);
                _exit(1);
            }
            so_log_info(NULL, "stopping: %d builds running", q->njobs);
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
bld_timers(bld_queue_t *q)
{
    int64_t  now;

    now = so_now_ms();

    if (now >= q->next_heartbeat) {
        bld_jobs_heartbeat(q);
        q->next_heartbeat = now + (int64_t) q->b->cfg.lease_ttl * 1000 / 3;
    }

    if (!q->draining && now >= q->next_reconcile) {
        bld_reconcile(q);
        bld_retention(q);
        q->next_reconcile = now
                            + (int64_t) q->b->cfg.reconcile_interval * 1000;
    }
}


int
bld_loop(bld_t *b)
{
    struct epoll_event   ev, events[16];
    sigset_t             mask;
    bld_queue_t         *q;
    int64_t              drain_end;
    char                 err[SO_ERRLEN];
    int                  n, i, rc, wait_ms;

    rc = SO_ERR;
    b->epfd = -1;
    b->sigfd = -1;
    drain_end = 0;

    q = calloc(1, sizeof(bld_queue_t));
    if (q == NULL) {
        so_log_error(NULL, "out of memory");
        return SO_ERR;
    }
    q->b = b;

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

    if (bld_edgeq_init(b->epfd) != SO_OK) {
        goto done;
    }

    b->pg = so_pg_new(b->cfg.pg_dsn, b->cfg.pg_timeout);
    b->redis = so_redis_new(b->cfg.redis_host, b->cfg.redis_port,
                            b->cfg.redis_timeout);
    if (b->pg == NULL || b->redis == NULL) {
        goto done;
    }

    if (so_pg_ping(b->pg) != SO_OK) {
        so_log_error(NULL, "PostgreSQL: %s", so_pg_errstr(b->pg));
        goto done;
    }

    if (bld_netns_host_init(&b->cfg, err, sizeof(err)) != SO_OK) {
        so_log_error(NULL, "sandbox network: %s", err);
        goto done;
    }

    if (bld_queue_init(q) != SO_OK) {
        so_log_warn(NULL, "the queue is not reachable yet: trying again");
    }
    bld_events_init(q);
    bld_wake_init(q);

    so_log_info(NULL, "shipoffd %s started; queue %s group %s consumer %s",
                SHIPOFF_VERSION, BLD_STREAM, BLD_GROUP, q->consumer);

    (void) bld_recover(q, BLD_RECOVER_MINE, 1);
    bld_apps_init(q);

    q->next_reconcile = so_now_ms();
    q->next_heartbeat = so_now_ms();

    for ( ;; ) {
        if (b->stop && !q->draining) {
            q->draining = 1;
            drain_end = so_now_ms() + BLD_DRAIN_MS;
        }

        if (q->draining && (q->njobs == 0 || so_now_ms() >= drain_end)) {
            break;
        }

        wait_ms = bld_apps_wait_ms(q);
        n = epoll_wait(b->epfd, events, (int) so_nelems(events),
                       wait_ms > 0 ? wait_ms : BLD_TICK_MS);
        if (n == -1 && errno != EINTR) {
            so_log_error(NULL, "epoll_wait: %s", strerror(errno));
            goto done;
        }

        for (i = 0; i < n; i++) {
            if (events[i].data.fd == b->sigfd) {
                bld_signal(q);

            } else if (bld_edgeq_is_ours(events[i].data.fd)) {
                bld_edgeq_done();

            } else if (bld_job_is_ours(q, events[i].data.fd)) {
                bld_job_exited(q, events[i].data.fd);

            } else if (bld_app_is_ours(q, events[i].data.fd)) {
                bld_app_exited(q, events[i].data.fd);
            }
        }

        bld_queue_cancels(q);
        bld_jobs_tick(q);
        bld_timers(q);
        bld_queue_poll(q);
        bld_events_poll(q);
        bld_wake_poll(q);
        bld_apps_tick(q);
    }

    bld_jobs_stop(q);
    so_log_info(NULL, "stopped");
    rc = SO_OK;

done:

    bld_jobs_kill_now(q);
    bld_apps_close(q);
    free(q);
    so_pg_free(b->pg);
    so_redis_free(b->redis);
    if (b->sigfd != -1) {
        close(b->sigfd);
    }
    if (b->epfd != -1) {
        close(b->epfd);
    }

    return rc;
}
