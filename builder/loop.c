/*
 * loop.c: shipoffd's event loop.
 *
 * One epoll loop; signals arrive through a signalfd so handlers never run
 * in signal context (pgbouncer style): SIGTERM/SIGINT stop, a second one
 * stops at once; SIGHUP reloads the configuration and keeps the old one
 * when the new one is bad.  The loop wakes every second for timers.
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
#include "bld.h"


static int bld_signal(bld_t *b);
static void bld_reload(bld_t *b);
static int bld_queue_init(bld_t *b);


static int
bld_queue_init(bld_t *b)
{
    redisReply  *reply;
    const char  *argv[] = { "XGROUP", "CREATE", BLD_STREAM, BLD_GROUP, "$",
                            "MKSTREAM" };
    int          rc;

    reply = so_redis_command(b->redis, (int) so_nelems(argv), argv, NULL);
    if (reply == NULL) {
        so_log_error("queue", "redis: %s", so_redis_errstr(b->redis));
        return SO_EUNAVAIL;
    }

    rc = SO_OK;
    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        so_log_error("queue", "XGROUP CREATE: %s", reply->str);
        rc = SO_ERR;
    }

    freeReplyObject(reply);
    return rc;
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

    so_config_free(&b->cfg);
    b->cfg = cfg;
    so_log_set_level(b->cfg.log_level);
    so_log_info("reload", "configuration reloaded");
}


static int
bld_signal(bld_t *b)
{
    struct signalfd_siginfo  si;

    while (read(b->sigfd, &si, sizeof(si)) == (ssize_t) sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (b->stop) {
                so_log_info(NULL, "second stop signal: exiting now");
                _exit(1);
            }
            so_log_info(NULL, "stopping");
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


int
bld_loop(bld_t *b)
{
    struct epoll_event  ev, events[16];
    sigset_t            mask;
    int                 n, i, rc;

    rc = SO_ERR;
    b->epfd = -1;
    b->sigfd = -1;

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

    if (bld_queue_init(b) != SO_OK) {
        goto done;
    }

    so_log_info(NULL, "shipoffd %s started; queue %s group %s",
                SHIPOFF_VERSION, BLD_STREAM, BLD_GROUP);

    while (!b->stop) {
        n = epoll_wait(b->epfd, events, (int) so_nelems(events), 1000);
        if (n == -1 && errno != EINTR) {
            so_log_error(NULL, "epoll_wait: %s", strerror(errno));
            goto done;
        }

        for (i = 0; i < n; i++) {
            if (events[i].data.fd == b->sigfd) {
                bld_signal(b);
            }
        }
    }

    rc = SO_OK;

done:

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
