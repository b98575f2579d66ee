/*
 * notify.c: a thread that tells shipoffd's loop a stream has grown
 * (stream.h says why).
 *
 * It only says "something came": what came is read by the consumers, in
 * the loop, as before.  So a missed notification costs no more than the
 * loop's poll interval, and nothing here needs to be exact: the thread
 * asks each stream's last id, XREAD for anything after them, and on an
 * answer asks the last ids again before it writes the loop's eventfd
 * (what came is then the loop's to read).  It blocks for half the Redis
 * timeout at most, so a dead server is noticed; after a failure it waits
 * a second and tries again, logging once per outage.
 *
 * One per process; the thread lives as long as the process (as edgeq.c's
 * do), its connection and ids in this file's state.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_redis.h"
#include "stream.h"


static void *notify_thread(void *arg);
static int notify_last_ids(void);
static void notify_down(int *down, const char *err);


static struct {
    int           efd;
    so_redis_t   *redis;
    char          block[16];        /* XREAD BLOCK, ms */
    int           nstreams;
    const char   *streams[BLD_NOTIFY_STREAMS];
    char          ids[BLD_NOTIFY_STREAMS][BLD_STREAM_ID_LEN];
    int           argc;             /* XREAD BLOCK ms STREAMS s... ids... */
    const char   *argv[4 + 2 * BLD_NOTIFY_STREAMS];
} notify;


int
bld_notify_start(const so_config_t *cfg, int wakefd,
    const char *const *streams, int nstreams)
{
    pthread_t  tid;
    int        i, block;

    notify.efd = wakefd;
    notify.nstreams = nstreams < BLD_NOTIFY_STREAMS ? nstreams
                                                     : BLD_NOTIFY_STREAMS;

    /* an answer within the connection's timeout, however quiet Redis is */
    block = cfg->redis_timeout / 2 > 0 ? cfg->redis_timeout / 2 : 1;
    snprintf(notify.block, sizeof(notify.block), "%d", block);

    notify.argv[notify.argc++] = "XREAD";
    notify.argv[notify.argc++] = "BLOCK";
    notify.argv[notify.argc++] = notify.block;
    notify.argv[notify.argc++] = "STREAMS";
    for (i = 0; i < notify.nstreams; i++) {
        notify.streams[i] = streams[i];
        notify.argv[notify.argc++] = streams[i];
    }
    for (i = 0; i < notify.nstreams; i++) {
        notify.argv[notify.argc++] = notify.ids[i];
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
        if (notify.ids[0][0] == '\0' && notify_last_ids() != SO_OK) {
            notify_down(&down, so_redis_errstr(notify.redis));
            continue;
        }

        reply = so_redis_command(notify.redis, notify.argc, notify.argv,
                                 NULL);
        if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
            notify_down(&down, reply ? reply->str
                                     : so_redis_errstr(notify.redis));
            if (reply != NULL) {
                freeReplyObject(reply);
            }
            continue;
        }

        if (down) {
            so_log_info("notify", "Redis is back");
            down = 0;
        }

        /* nil when nothing came; a failure to ask the ids again has them
           asked at the next turn */
        if (reply->type == REDIS_REPLY_ARRAY) {
            (void) notify_last_ids();
            if (eventfd_write(notify.efd, 1) == -1 && errno != EAGAIN) {
                so_log_error("notify", "eventfd: %s", strerror(errno));
            }
        }

        freeReplyObject(reply);
    }

    return arg;
}


/* each stream's last id now ("0-0" for an empty or missing one) */
static int
notify_last_ids(void)
{
    const char        *argv[] = { "XREVRANGE", NULL, "+", "-",
                                  "COUNT", "1" };
    const char        *id;
    redisReply        *reply;
    int                j;

    for (j = 0; j < notify.nstreams; j++) {
        argv[1] = notify.streams[j];

        reply = so_redis_command(notify.redis, (int) so_nelems(argv), argv,
                                 NULL);
        if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
            if (reply != NULL) {
                freeReplyObject(reply);
            }
            notify.ids[0][0] = '\0';
            return SO_EUNAVAIL;
        }

        id = reply->elements > 0 ? bld_stream_entry_id(reply->element[0])
                                 : NULL;
        snprintf(notify.ids[j], BLD_STREAM_ID_LEN, "%s",
                 id != NULL ? id : "0-0");

        freeReplyObject(reply);
    }

    return SO_OK;
}


/* logged once per outage; a second between two tries, the ids asked again */
static void
notify_down(int *down, const char *err)
{
    struct timespec  ts = { 1, 0 };

    if (!*down) {
        so_log_warn("notify", "Redis: %s; new entries wait for the loop's "
                    "poll meanwhile", err);
        *down = 1;
    }

    notify.ids[0][0] = '\0';

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
        /* void */
    }
}
