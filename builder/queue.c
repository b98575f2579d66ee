/*
 * queue.c: the build queue (stream shipoff:builds, consumer group
 * "builders", this process is consumer host:pid) and the cancel stream.
 *
 * Redis is polled from the loop's tick without BLOCK, so a read never
 * holds up signals, child exits or cancels; loopback round trips are
 * cheap and new entries are read only while a build slot is free.
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
 *                                   acknowledged, then forked
 *
 * A failure of either server leaves the entry pending: it is read again.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "loop.h"


#define BLD_PAGE        64      /* entries per read of our pending ones */
#define BLD_READS       4       /* reads of new entries per tick */

/* what became of an entry */
#define BLD_CLAIMED     SO_DEPLOY_CLAIMED   /* ours now: ack, fork */
#define BLD_SETTLED     SO_DEPLOY_SETTLED   /* nothing to build: ack */
#define BLD_LATER       SO_DEPLOY_LATER     /* leave it pending */
#define BLD_FULL        3       /* no slot: leave it and stop reading */


static int bld_queue_group(bld_queue_t *q);
static int bld_queue_cancel_start(bld_queue_t *q);
static int bld_queue_read(bld_queue_t *q, const char *start, int count,
    char *last, size_t lastlen);
static int bld_queue_entry(bld_queue_t *q, const redisReply *entry);
static void bld_queue_ack(bld_queue_t *q, const char *entry_id);


redisReply *
bld_queue_cmd(bld_queue_t *q, int argc, const char **argv)
{
    redisReply  *reply;

    reply = so_redis_command(q->b->redis, argc, argv, NULL);
    if (reply == NULL) {
        /* said once; tried again a second later, not at every tick */
        if (!q->redis_down) {
            so_log_warn("queue", "%s: %s", argv[0],
                        so_redis_errstr(q->b->redis));
        }
        q->redis_down = 1;
        q->redis_retry = bld_now_ms() + 1000;
        return NULL;
    }

    if (q->redis_down) {
        so_log_info("queue", "redis is back");
        q->redis_down = 0;
    }

    /* XGROUP CREATE of a group that exists: fine */
    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        /* Redis lost its data (restarted without persistence) */
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            q->group_ok = 0;
        }
        so_log_warn("queue", "%s: %s", argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


/*
 * Creates the group at the start of the stream: entries written before it
 * existed (by the API while Redis was fresh) are jobs too.
 */
static int
bld_queue_group(bld_queue_t *q)
{
    redisReply  *reply;
    const char  *argv[] = { "XGROUP", "CREATE", BLD_STREAM, BLD_GROUP, "0",
                            "MKSTREAM" };

    reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    freeReplyObject(reply);
    q->group_ok = 1;
    q->rescan = 1;

    return SO_OK;
}


int
bld_queue_init(bld_queue_t *q)
{
    char  host[256];

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(q->consumer, sizeof(q->consumer), "%s:%ld", host,
             (long) getpid());

    q->cancel_last[0] = '\0';

    /* Redis may be down now: the poll keeps trying */
    return bld_queue_group(q);
}


/* the cancels to read are those sent from now on (none is for us yet) */
static int
bld_queue_cancel_start(bld_queue_t *q)
{
    redisReply  *reply;
    const char  *argv[] = { "XREVRANGE", SO_DEPLOY_CANCEL, "+", "-", "COUNT",
                            "1" };

    reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
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
bld_queue_poll(bld_queue_t *q)
{
    char  last[BLD_STREAM_ID_LEN];
    int   i, n, free_slots;

    if (q->draining || (q->redis_down && bld_now_ms() < q->redis_retry)) {
        return;
    }

    if (!q->group_ok && bld_queue_group(q) != SO_OK) {
        return;
    }

    if (q->rescan && bld_jobs_capacity(q) > 0) {
        /* our pending entries, page by page, until a short page */
        q->rescan = 0;
        snprintf(last, sizeof(last), "0");
        do {
            n = bld_queue_read(q, last, BLD_PAGE, last, sizeof(last));
        } while (n == BLD_PAGE);

        if (n < 0) {
            q->rescan = 1;
        }
    }

    for (i = 0; i < BLD_READS; i++) {
        free_slots = bld_jobs_capacity(q);
        if (free_slots <= 0) {
            break;
        }

        if (bld_queue_read(q, ">", free_slots, last, sizeof(last)) <= 0) {
            break;
        }
    }
}


/*
 * One XREADGROUP from start (">" or an id of our pending list); each entry
 * read is handled.  Returns the number of entries read (last: the id of
 * the last one), or -1 when the read failed or the slots ran out.
 */
static int
bld_queue_read(bld_queue_t *q, const char *start, int count, char *last,
    size_t lastlen)
{
    redisReply        *reply;
    const redisReply  *entries;
    const char        *argv[9], *eid;
    char               counts[16];
    size_t             i;
    int                n, rc;

    snprintf(counts, sizeof(counts), "%d", count);
    argv[0] = "XREADGROUP";
    argv[1] = "GROUP";
    argv[2] = BLD_GROUP;
    argv[3] = q->consumer;
    argv[4] = "COUNT";
    argv[5] = counts;
    argv[6] = "STREAMS";
    argv[7] = BLD_STREAM;
    argv[8] = start;

    reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return -1;
    }

    n = 0;

    entries = bld_queue_entries(reply);
    if (entries == NULL) {
        goto done;
    }

    for (i = 0; i < entries->elements; i++) {
        eid = bld_queue_entry_id(entries->element[i]);
        if (eid == NULL) {
            continue;
        }

        snprintf(last, lastlen, "%s", eid);
        n++;

        rc = bld_queue_entry(q, entries->element[i]);
        if (rc == BLD_FULL) {
            /* the rest stays pending for the next scan */
            q->rescan = 1;
            n = -1;
            break;
        }
    }

done:

    freeReplyObject(reply);
    return n;
}


/* handles one entry [id, [field, value...]] (fields nil: deleted) */
static int
bld_queue_entry(bld_queue_t *q, const redisReply *entry)
{
    const char  *eid;
    long long    id, project;
    int          rc;

    eid = entry->element[0]->str;

    id = bld_queue_field(entry->element[1], "deployment");
    if (id <= 0) {
        so_log_warn("queue", "entry %s: no deployment: dropped", eid);
        bld_queue_ack(q, eid);
        return BLD_SETTLED;
    }

    if (bld_jobs_capacity(q) <= 0) {
        return BLD_FULL;
    }

    rc = so_deploy_claim(&project, q->b->pg, id, q->consumer,
                         q->b->cfg.lease_ttl);

    switch (rc) {
    case BLD_CLAIMED:
        bld_queue_ack(q, eid);
        if (bld_job_start(q, id, project) != SO_OK) {
            /* not started: give it back (counted: a fork that keeps
             * failing must not loop forever) */
            (void) bld_recover(q, id, 1);
        }
        break;

    case BLD_SETTLED:
        bld_queue_ack(q, eid);
        break;

    default:
        /* BLD_LATER, or a server failed: the entry stays pending */
        rc = BLD_LATER;
        break;
    }

    return rc;
}


const redisReply *
bld_queue_entries(const redisReply *reply)
{
    /* nil: nothing new; else [[stream, [entry...]]] */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[0]->elements != 2
        || reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return NULL;
    }

    return reply->element[0]->element[1];
}


const char *
bld_queue_entry_id(const redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
    {
        return NULL;
    }

    return entry->element[0]->str;
}


long long
bld_queue_field(const redisReply *fields, const char *name)
{
    size_t     i;
    char      *end;
    long long  v;

    if (fields->type != REDIS_REPLY_ARRAY) {
        return 0;
    }

    for (i = 0; i + 1 < fields->elements; i += 2) {
        if (fields->element[i]->type != REDIS_REPLY_STRING
            || fields->element[i + 1]->type != REDIS_REPLY_STRING
            || strcmp(fields->element[i]->str, name) != 0)
        {
            continue;
        }

        v = strtoll(fields->element[i + 1]->str, &end, 10);
        return (*end == '\0' && v > 0) ? v : 0;
    }

    return 0;
}


static void
bld_queue_ack(bld_queue_t *q, const char *entry_id)
{
    redisReply  *reply;
    const char  *argv[] = { "XACK", BLD_STREAM, BLD_GROUP, entry_id };

    /* when it fails the entry is read again and found settled */
    reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
    freeReplyObject(reply);
}


void
bld_queue_cancels(bld_queue_t *q)
{
    redisReply        *reply;
    const redisReply  *entries, *e;
    const char        *argv[] = { "XREAD", "COUNT", "100", "STREAMS",
                                  SO_DEPLOY_CANCEL, q->cancel_last };
    const char        *eid;
    size_t             i;
    long long          id;

    if (q->redis_down && bld_now_ms() < q->redis_retry) {
        return;
    }

    if (q->cancel_last[0] == '\0' && bld_queue_cancel_start(q) != SO_OK) {
        return;
    }

    reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return;
    }

    entries = bld_queue_entries(reply);
    if (entries == NULL) {
        goto done;
    }

    for (i = 0; i < entries->elements; i++) {
        e = entries->element[i];
        eid = bld_queue_entry_id(e);
        if (eid == NULL) {
            continue;
        }

        snprintf(q->cancel_last, sizeof(q->cancel_last), "%s", eid);

        id = bld_queue_field(e->element[1], "deployment");
        if (id > 0) {
            bld_job_cancel(q, id);
        }
    }

done:

    freeReplyObject(reply);
}


/*
 * Takes over the entries other consumers left unacknowledged for longer
 * than a lease: their builder is dead (a live one reads its pending entries
 * again well within a lease).  They join our pending list; the next poll
 * handles them.
 */
void
bld_queue_autoclaim(bld_queue_t *q)
{
    redisReply  *reply;
    const char  *argv[9];
    char         idle[24], cursor[BLD_STREAM_ID_LEN];
    int          round;

    if (!q->group_ok) {
        return;
    }

    snprintf(idle, sizeof(idle), "%lld", (long long) q->b->cfg.lease_ttl
             * 1000);
    snprintf(cursor, sizeof(cursor), "0-0");

    argv[0] = "XAUTOCLAIM";
    argv[1] = BLD_STREAM;
    argv[2] = BLD_GROUP;
    argv[3] = q->consumer;
    argv[4] = idle;
    argv[5] = cursor;
    argv[6] = "COUNT";
    argv[7] = "100";
    argv[8] = "JUSTID";

    for (round = 0; round < 16; round++) {
        reply = bld_queue_cmd(q, (int) so_nelems(argv), argv);
        if (reply == NULL) {
            return;
        }

        /* [next cursor, [ids...], [deleted ids...]] */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[1]->type != REDIS_REPLY_ARRAY)
        {
            freeReplyObject(reply);
            return;
        }

        if (reply->element[1]->elements > 0) {
            so_log_info("queue", "took over %zu entries of dead builders",
                        reply->element[1]->elements);
            q->rescan = 1;
        }

        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        freeReplyObject(reply);

        if (strcmp(cursor, "0-0") == 0) {
            return;
        }
    }
}


const redisReply *
bld_queue_kv(const redisReply *r, const char *key)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && strcmp(r->element[i]->str, key) == 0)
        {
            return r->element[i + 1];
        }
    }

    return NULL;
}


/*
 * Keeps the stream and the group small: consumers of builders long gone
 * (nothing pending: deleting one loses nothing, and a live one is
 * recreated by its next read), and entries every builder is done with
 * (older than the oldest pending one and already delivered).
 */
void
bld_queue_tidy(bld_queue_t *q)
{
    redisReply        *consumers, *groups, *pend, *reply;
    const redisReply  *name, *npending, *idle, *last;
    const char        *argv[6];
    char               minid[BLD_STREAM_ID_LEN];
    long long          gone_ms;
    size_t             i;

    if (!q->group_ok || q->redis_down) {
        return;
    }

    gone_ms = (long long) q->b->cfg.lease_ttl * 1000 * 10;

    argv[0] = "XINFO";
    argv[1] = "CONSUMERS";
    argv[2] = BLD_STREAM;
    argv[3] = BLD_GROUP;

    consumers = bld_queue_cmd(q, 4, argv);
    if (consumers == NULL) {
        return;
    }

    for (i = 0; consumers->type == REDIS_REPLY_ARRAY
                && i < consumers->elements; i++)
    {
        name = bld_queue_kv(consumers->element[i], "name");
        npending = bld_queue_kv(consumers->element[i], "pending");
        idle = bld_queue_kv(consumers->element[i], "idle");

        if (name == NULL || name->type != REDIS_REPLY_STRING
            || npending == NULL || npending->type != REDIS_REPLY_INTEGER
            || idle == NULL || idle->type != REDIS_REPLY_INTEGER
            || npending->integer != 0 || idle->integer < gone_ms
            || strcmp(name->str, q->consumer) == 0)
        {
            continue;
        }

        argv[0] = "XGROUP";
        argv[1] = "DELCONSUMER";
        argv[2] = BLD_STREAM;
        argv[3] = BLD_GROUP;
        argv[4] = name->str;

        reply = bld_queue_cmd(q, 5, argv);
        freeReplyObject(reply);
    }

    freeReplyObject(consumers);

    /* the oldest pending entry, else the last one delivered */
    argv[0] = "XPENDING";
    argv[1] = BLD_STREAM;
    argv[2] = BLD_GROUP;

    pend = bld_queue_cmd(q, 3, argv);
    if (pend == NULL) {
        return;
    }

    minid[0] = '\0';

    if (pend->type == REDIS_REPLY_ARRAY && pend->elements >= 2
        && pend->element[1]->type == REDIS_REPLY_STRING)
    {
        snprintf(minid, sizeof(minid), "%s", pend->element[1]->str);
    }

    freeReplyObject(pend);

    if (minid[0] == '\0') {
        argv[0] = "XINFO";
        argv[1] = "GROUPS";
        argv[2] = BLD_STREAM;

        groups = bld_queue_cmd(q, 3, argv);
        if (groups == NULL) {
            return;
        }

        for (i = 0; groups->type == REDIS_REPLY_ARRAY
                    && i < groups->elements; i++)
        {
            name = bld_queue_kv(groups->element[i], "name");
            last = bld_queue_kv(groups->element[i], "last-delivered-id");

            if (name != NULL && name->type == REDIS_REPLY_STRING
                && strcmp(name->str, BLD_GROUP) == 0
                && last != NULL && last->type == REDIS_REPLY_STRING)
            {
                snprintf(minid, sizeof(minid), "%s", last->str);
            }
        }

        freeReplyObject(groups);
    }

    if (minid[0] == '\0' || strcmp(minid, "0-0") == 0) {
        return;
    }

    /* MINID keeps minid itself: the last delivered entry stays, harmless */
    argv[0] = "XTRIM";
    argv[1] = BLD_STREAM;
    argv[2] = "MINID";
    argv[3] = "~";
    argv[4] = minid;

    reply = bld_queue_cmd(q, 5, argv);
    freeReplyObject(reply);
}
