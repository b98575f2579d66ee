/*
 * notify.c: a thread that tells shipoffd's loop a stream has grown
 * (stream.h says why).
 *
 * It only says "something came": what came is read by the consumers, in
 * the loop, as before.  So a missed notification costs no more than the
 * loop's poll interval, and nothing here needs to be exact: the thread
 * XREADs what is added after it asks ("$", no ids kept), and on an answer
 * writes the loop's eventfd (what came is then the loop's to read; what
 * comes in the instant before it asks again waits for the poll).  It
 * blocks for half the Redis timeout at most, so a dead server is
 * noticed; after a failure it waits a second and tries again, logging
 * once per outage.
 *
 * One per process; the thread lives as long as the process (as edgeq.c's
 * do), its connection and command in this file's state.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_redis.h"
#include "stream.h"


static void *notify_thread(void *arg);


static struct {
    int           efd;
    so_redis_t   *redis;
    char          block[16];        /* XREAD BLOCK, ms */
    int           argc;             /* XREAD BLOCK ms STREAMS s... $... */
    const char   *argv[4 + 2 * BLD_NOTIFY_STREAMS];
} notify;


int
bld_notify_start(const so_config_t *cfg, int wakefd,
    const char *const *streams, int nstreams)
{
    pthread_t  tid;
    int        i, block;

    notify.efd = wakefd;
    nstreams = nstreams < BLD_NOTIFY_STREAMS ? nstreams : BLD_NOTIFY_STREAMS;

    /* an answer within the connection's timeout, however quiet Redis is */
    block = cfg->redis_timeout / 2 > 0 ? cfg->redis_timeout / 2 : 1;
    snprintf(notify.block, sizeof(notify.block), "%d", block);

    notify.argv[notify.argc++] = "XREAD";
    notify.argv[notify.argc++] = "BLOCK";
    notify.argv[notify.argc++] = notify.block;
    notify.argv[notify.argc++] = "STREAMS";
    for (i = 0; i < nstreams; i++) {
        notify.argv[notify.argc++] = streams[i];
    }
    for (i = 0; i < nstreams; i++) {
        notify.argv[notify.argc++] = "$";
    }

    notify.redis = so_redis_new(cfg->redis_host, cfg->redis_port,
                                cfg->redis_timeout + block);
    if (notify.redis == NULL) {
        return SO_ERR;
    }

    errno = pthread_create(&tid, NULL, notify_thread, NULL);
    if (errno != 0) {
        so_log_error("notify", "pthread_create: %s", strerror(errno));
        return SO_ERR;
    }

    (void) pthread_detach(tid);

    return SO_OK;
}


static void *
notify_thread(void *arg)
{
    redisReply  *reply;
    int          down;

    down = 0;

    for ( ;; ) {
        reply = so_redis_command(notify.redis, notify.argc, notify.argv,
                                 NULL);

        /* logged once per outage; a second between two tries */
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            if (!down) {
                so_log_warn("notify", "Redis: %s; new entries wait for the "
                            "loop's poll meanwhile", reply != NULL
                            ? reply->str : so_redis_errstr(notify.redis));
                down = 1;
            }
            freeReplyObject(reply);
            sleep(1);
            continue;
        }

        if (down) {
            so_log_info("notify", "Redis is back");
            down = 0;
        }

        /* nil when nothing came */
        if (reply->type == REDIS_REPLY_ARRAY
            && eventfd_write(notify.efd, 1) == -1 && errno != EAGAIN)
        {
            so_log_error("notify", "eventfd: %s", strerror(errno));
        }

        freeReplyObject(reply);
    }

    return arg;
}
