/*
 * notify.c: a thread that tells shipoffd's loop a stream has grown (see
 * notify.h for why).
 *
 * It only says "something came": what came is read by the consumers, in
 * the loop, as before.  So a missed notification costs no more than the
 * loop's poll interval, and nothing here needs to be exact: the thread
 * remembers the last id it saw of each stream (the stream's last id at
 * start), asks XREAD for anything after it, and on an answer writes the
 * eventfd.  It blocks for half the Redis timeout at most, so a dead
 * server is noticed; after a failure it waits a second and tries again,
 * logging once per outage.
 *
 * One per process; the thread lives as long as the process (as edgeq.c's
 * do), its connection and ids in this file's state.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_redis.h"
#include "evfd.h"
#include "notify.h"
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
} notify = { .efd = -1 };


int
bld_notify_start(const so_config_t *cfg, int epfd,
    const char *const *streams, int nstreams)
{
    pthread_t           tid;
    int                 i, block;

    if (nstreams > BLD_NOTIFY_STREAMS) {
        nstreams = BLD_NOTIFY_STREAMS;
    }

    for (i = 0; i < nstreams; i++) {
        notify.streams[i] = streams[i];
    }
    notify.nstreams = nstreams;

    /* an answer within the connection's timeout, however quiet Redis is */
    block = cfg->redis_timeout / 2 > 0 ? cfg->redis_timeout / 2 : 1;
    snprintf(notify.block, sizeof(notify.block), "%d", block);

    notify.redis = so_redis_new(cfg->redis_host, cfg->redis_port,
                                cfg->redis_timeout + block);
    if (notify.redis == NULL) {
        return SO_ERR;
    }

    notify.efd = bld_evfd_open(epfd, "notify");
    if (notify.efd == -1) {
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


int
bld_notify_is_ours(int fd)
{
    return fd != -1 && fd == notify.efd;
}


void
bld_notify_heard(void)
{
    bld_evfd_heard(notify.efd, "notify");
}


static void *
notify_thread(void *arg)
{
    const char        *argv[4 + 2 * BLD_NOTIFY_STREAMS];
    const redisReply  *s, *entries, *last;
    redisReply        *reply;
    size_t             i;
    int                argc, j, down;

    down = 0;

    for ( ;; ) {
        if (notify.ids[0][0] == '\0' && notify_last_ids() != SO_OK) {
            notify_down(&down, so_redis_errstr(notify.redis));
            continue;
        }

        argc = 0;
        argv[argc++] = "XREAD";
        argv[argc++] = "BLOCK";
        argv[argc++] = notify.block;
        argv[argc++] = "STREAMS";
        for (j = 0; j < notify.nstreams; j++) {
            argv[argc++] = notify.streams[j];
        }
        for (j = 0; j < notify.nstreams; j++) {
            argv[argc++] = notify.ids[j];
        }

        reply = so_redis_command(notify.redis, argc, argv, NULL);
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

        /* [[stream, [[id, fields]...]]...], nil when nothing came */
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
            for (i = 0; i < reply->elements; i++) {
                s = reply->element[i];
                if (s->type != REDIS_REPLY_ARRAY || s->elements != 2
                    || s->element[0]->type != REDIS_REPLY_STRING
                    || s->element[1]->type != REDIS_REPLY_ARRAY
                    || s->element[1]->elements == 0)
                {
                    continue;
                }
                entries = s->element[1];
                last = entries->element[entries->elements - 1];
                if (last->type != REDIS_REPLY_ARRAY || last->elements < 1
                    || last->element[0]->type != REDIS_REPLY_STRING)
                {
                    continue;
                }
                for (j = 0; j < notify.nstreams; j++) {
                    if (strcmp(s->element[0]->str, notify.streams[j]) == 0) {
                        snprintf(notify.ids[j], BLD_STREAM_ID_LEN, "%s",
                                 last->element[0]->str);
                    }
                }
            }

            bld_evfd_ring(notify.efd, "notify");
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
    const redisReply  *e;
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

        e = reply->elements > 0 ? reply->element[0] : NULL;
        snprintf(notify.ids[j], BLD_STREAM_ID_LEN, "%s",
                 e != NULL && e->type == REDIS_REPLY_ARRAY
                 && e->elements > 0
                 && e->element[0]->type == REDIS_REPLY_STRING
                 ? e->element[0]->str : "0-0");

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
