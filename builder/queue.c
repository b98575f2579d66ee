/*
 * queue.c: the build queue (stream shipoff:builds, consumer group
 * "builders", this process is consumer host:pid) and the cancel stream;
 * part of the builds actor (builds.h), polled by the loop while it is
 * not draining.
 *
 * The consumer is stream.c's, with the policy bld_queue_policy: the
 * group starts at the start of the stream (entries written before it
 * existed, by the API while Redis was fresh, are jobs too), our pending
 * entries are read again in pages of 64 once a build ends or the
 * reconciler runs, and new entries are read only while a build slot is
 * free, no more than there are free slots.
 *
 * An entry names a deployment; so_deploy_claim() claims it in PostgreSQL
 * under the project's row lock (so two builders serialize on one project):
 *
 *   gone or no longer QUEUED     -> acknowledged, nothing to do
 *   a newer QUEUED one exists    -> CANCELED "superseded", acknowledged
 *   the project is being built   -> left pending: read again (our own
 *                                   pending entries first) once a build
 *                                   ends or the reconciler runs
 *   otherwise                    -> older QUEUED ones of the branch are
 *                                   superseded, this one becomes BUILDING
 *                                   with our lease; committed, then
 *                                   forked, then acknowledged
 *
 * A failure of either server leaves the entry pending: it is read again.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "builds.h"


#define BLD_READS       4       /* reads of new entries per tick */


static const bld_stream_policy_t  bld_queue_policy = {
    BLD_STREAM, BLD_GROUP,
    "0",                        /* every entry of the stream is a job */
    64                          /* entries per read of our pending ones */
};


static int bld_queue_cancel_start(bld_builds_t *q);
static int bld_queue_entry(void *data, const char *eid,
    const redisReply *fields);


int
bld_builds_init(bld_builds_t *q, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps)
{
    q->b = b;
    q->consumer = conn->consumer;
    q->apps = apps;
    q->cancel_last[0] = '\0';

    bld_stream_init(&q->stream, &bld_queue_policy, conn);

    /* Redis may be down now: the poll keeps trying */
    return bld_stream_create(&q->stream);
}


/* the cancels to read are those sent from now on (none is for us yet) */
static int
bld_queue_cancel_start(bld_builds_t *q)
{
    redisReply  *reply;
    const char  *argv[] = { "XREVRANGE", SO_DEPLOY_CANCEL, "+", "-", "COUNT",
                            "1" };

    reply = bld_stream_cmd(&q->stream, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    snprintf(q->cancel_last, sizeof(q->cancel_last), "0-0");

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1
        && reply->element[0]->type == REDIS_REPLY_ARRAY
        && reply->element[0]->elements == 2
        && reply->element[0]->element[0]->type == REDIS_REPLY_STRING)
    {
        snprintf(q->cancel_last, sizeof(q->cancel_last), "%s",
                 reply->element[0]->element[0]->str);
    }

    freeReplyObject(reply);
    return SO_OK;
}


void
bld_builds_poll(bld_builds_t *q)
{
    int  i, free_slots;

    /* the first read hands out our pending entries first when marked */
    for (i = 0; i < BLD_READS; i++) {
        free_slots = bld_jobs_capacity(q);

        if (free_slots <= 0
            || bld_stream_read(&q->stream, free_slots, bld_queue_entry, q)
               <= 0)
        {
            break;
        }
    }
}


/* handles one entry: a bld_stream_handler_pt */
static int
bld_queue_entry(void *data, const char *eid, const redisReply *fields)
{
    bld_builds_t *q;
    long long     id, project;

    q = data;

    id = bld_stream_field(fields, "deployment");
    if (id <= 0) {
        so_log_warn("queue", "entry %s: no deployment: dropped", eid);
        return BLD_STREAM_ACK;
    }

    /* no slot: the rest stays pending, read again once one is free */
    if (bld_jobs_capacity(q) <= 0) {
        return BLD_STREAM_STOP;
    }

    switch (so_deploy_claim(&project, q->b->pg, id, q->consumer,
                            q->b->cfg.lease_ttl))
    {
    case SO_DEPLOY_CLAIMED:                 /* ours now: fork, ack */
        if (bld_job_start(q, id, project, 0) != SO_OK) {
            /* not started: give it back (counted: a fork that keeps
             * failing must not loop forever) */
            (void) bld_recover(q, id, 1);
        }
        return BLD_STREAM_ACK;

    case SO_DEPLOY_SETTLED:                 /* nothing to build */
        return BLD_STREAM_ACK;

    default:
        /* SO_DEPLOY_LATER, or a server failed: the entry stays pending */
        return BLD_STREAM_KEEP;
    }
}


void
bld_builds_cancels(bld_builds_t *q)
{
    redisReply        *reply;
    const redisReply  *entries, *e;
    const char        *argv[] = { "XREAD", "COUNT", "100", "STREAMS",
                                  SO_DEPLOY_CANCEL, q->cancel_last };
    const char        *eid;
    size_t             i;
    long long          id;

    if (q->cancel_last[0] == '\0' && bld_queue_cancel_start(q) != SO_OK) {
        return;
    }

    reply = bld_stream_cmd(&q->stream, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return;
    }

    entries = bld_stream_entries(reply);
    if (entries == NULL) {
        goto done;
    }

    for (i = 0; i < entries->elements; i++) {
        e = entries->element[i];
        eid = bld_stream_entry_id(e);
        if (eid == NULL) {
            continue;
        }

        snprintf(q->cancel_last, sizeof(q->cancel_last), "%s", eid);

        id = bld_stream_field(e->element[1], "deployment");
        if (id > 0) {
            bld_job_cancel(q, id, 0);
        }
    }

done:

    freeReplyObject(reply);
}
