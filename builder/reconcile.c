/*
 * reconcile.c: what the queue may have lost, found again from PostgreSQL
 * (at start and every reconcile_interval, on the loop's timer); part of
 * the builds actor (builds.h).
 *
 *   - leases that expired: their builder is dead.  The deployment is
 *     QUEUED again ("builder_lost", with a new outbox row) while
 *     attempts < max_attempts, else FAILED "builder_lost";
 *   - outbox rows not sent (Redis was down at enqueue, or a retry waited
 *     for this round): sent now;
 *   - QUEUED deployments nobody took for a lease: their entry was lost
 *     (Redis lost its data).  Published again through a new outbox row;
 *     a project being built is skipped: its entry waits in a pending list;
 *   - entries other consumers left pending for a lease: taken over;
 *     consumers long gone and entries everyone is done with: removed
 *     (the loop has the events' and wakes' consumers take theirs over).
 *
 * Publishing twice is harmless: the claim is a conditional UPDATE.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "builds.h"


/* an unsent outbox row younger than this is still being sent by its writer */
#define BLD_OUTBOX_GRACE  "2 seconds"

static int bld_reconcile_publish(bld_builds_t *q, PGresult *res, int c_id);
static void bld_reconcile_outbox(bld_builds_t *q);
static void bld_reconcile_queued(bld_builds_t *q);
static void bld_reconcile_tidy(bld_builds_t *q);
static void bld_reconcile_consumers(bld_builds_t *q);
static void bld_reconcile_minid(bld_builds_t *q, char *minid, size_t len);


/*
 * deployment > 0: our own job, which ended without a verdict; 0: every
 * deployment whose lease expired under another owner; BLD_RECOVER_MINE:
 * every lease held under our name, at start (a restarted container has
 * the same host name and pid: those are a previous life's).
 *
 * A counted attempt failed somehow: its outbox row is left to the
 * reconciler's next round, which is the retry's backoff (a cause that
 * persists would otherwise use up every attempt within a second).  An
 * attempt not counted (we are stopping) is published at once, for another
 * builder to take.  0 or SO_ERR.
 */
int
bld_recover(bld_builds_t *q, long long deployment, int counted)
{
    PGresult          *res;
    so_deploy_lost_t   which;
    int                i, rc;

    which = deployment > 0 ? SO_DEPLOY_LOST_ONE
            : deployment == BLD_RECOVER_MINE ? SO_DEPLOY_LOST_MINE
            : SO_DEPLOY_LOST_EXPIRED;

    if (so_deploy_recover(&res, q->b->pg, which, deployment, q->consumer,
                          counted, q->b->cfg.max_attempts) != SO_OK)
    {
        return SO_ERR;
    }

    for (i = 0; i < PQntuples(res); i++) {
        so_log_warn("reconcile", "deployment=%s project=%s: builder lost: "
                    "%s", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                    PQgetvalue(res, i, 2));
    }

    rc = counted ? SO_OK : bld_reconcile_publish(q, res, 3);

    PQclear(res);
    return rc;
}


/*
 * Publishes the outbox rows of res (columns: deployment, project, and the
 * row in c_id; rows with a NULL outbox row are skipped).  Stops at the
 * first refusal of Redis: the rest stays unsent for the next round.
 */
static int
bld_reconcile_publish(bld_builds_t *q, PGresult *res, int c_id)
{
    int  i;

    for (i = 0; i < PQntuples(res); i++) {
        if (!PQgetisnull(res, i, c_id)
            && so_deploy_publish(q->b->pg, q->b->redis,
                                 strtoll(PQgetvalue(res, i, c_id), NULL, 10),
                                 strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                 strtoll(PQgetvalue(res, i, 1), NULL, 10))
               == SO_EUNAVAIL)
        {
            return SO_ERR;
        }
    }

    return SO_OK;
}


static void
bld_reconcile_outbox(bld_builds_t *q)
{
    PGresult  *res;

    res = so_pg_query(q->b->pg, "bld_reconcile_outbox",
                      "SELECT o.deployment_id, d.project_id, o.id"
                      " FROM build_outbox o"
                      " JOIN deployments d ON d.id = o.deployment_id"
                      " WHERE o.sent_at IS NULL"
                      " AND o.created_at < now() - interval '"
                      BLD_OUTBOX_GRACE "'"
                      " ORDER BY o.id LIMIT 500", 0, NULL);
    if (res == NULL) {
        so_pg_failed(q->b->pg, "reconcile", "outbox");
        return;
    }

    if (PQntuples(res) > 0) {
        so_log_info("reconcile", "sending %d unsent jobs", PQntuples(res));
    }

    (void) bld_reconcile_publish(q, res, 2);
    PQclear(res);
}


static void
bld_reconcile_queued(bld_builds_t *q)
{
    PGresult  *res;
    char       ttl[16];
    int        i;

    snprintf(ttl, sizeof(ttl), "%d", q->b->cfg.lease_ttl);

    res = so_pg_query(q->b->pg, "bld_reconcile_queued",
                      "WITH s AS (SELECT d.id, d.project_id"
                      " FROM deployments d WHERE d.state = 'QUEUED'"
                      " AND d.updated_at < now() - $1::int"
                      " * interval '1 second'"
                      " AND NOT EXISTS (SELECT 1 FROM build_outbox o"
                      "  WHERE o.deployment_id = d.id"
                      "  AND (o.sent_at IS NULL OR o.sent_at > now()"
                      "  - $1::int * interval '1 second'))"
                      " AND NOT EXISTS (SELECT 1 FROM deployments a"
                      "  WHERE a.project_id = d.project_id"
                      "  AND a.state IN ('BUILDING', 'PROVISIONING'))"
                      " ORDER BY d.id LIMIT 100),"
                      " o AS (INSERT INTO build_outbox (deployment_id)"
                      " SELECT id FROM s RETURNING id, deployment_id)"
                      " SELECT o.deployment_id, s.project_id, o.id"
                      " FROM o JOIN s ON s.id = o.deployment_id",
                      SO_PG_PARAMS(ttl));
    if (res == NULL) {
        so_pg_failed(q->b->pg, "reconcile", "forgotten jobs");
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        so_log_info("reconcile", "deployment=%s project=%s: QUEUED and "
                    "taken by nobody: published again",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1));
    }

    (void) bld_reconcile_publish(q, res, 2);
    PQclear(res);
}


void
bld_reconcile(bld_builds_t *q)
{
    (void) bld_recover(q, 0, 1);
    bld_reconcile_outbox(q);
    bld_reconcile_queued(q);

    /* what dead builders left pending becomes ours, and our pending
       entries are read again (one waiting for a project built elsewhere
       may be claimable now) */
    (void) bld_stream_autoclaim(&q->stream);

    bld_reconcile_tidy(q);
    bld_detect_expire(q->b->pg, &q->b->cfg);
}


/* consumers of builders long gone, with nothing pending: none is lost */
static void
bld_reconcile_consumers(bld_builds_t *q)
{
    redisReply        *consumers;
    const redisReply  *name, *npending, *idle;
    const char        *info[] = { "XINFO", "CONSUMERS", BLD_STREAM,
                                  BLD_GROUP };
    const char        *del[] = { "XGROUP", "DELCONSUMER", BLD_STREAM,
                                 BLD_GROUP, NULL };
    long long          gone_ms;
    size_t             i;

    gone_ms = (long long) q->b->cfg.lease_ttl * 1000 * 10;

    consumers = bld_stream_cmd(&q->stream, 4, info);
    if (consumers == NULL) {
        return;
    }

    for (i = 0; consumers->type == REDIS_REPLY_ARRAY
                && i < consumers->elements; i++)
    {
        name = bld_stream_kv(consumers->element[i], "name");
        npending = bld_stream_kv(consumers->element[i], "pending");
        idle = bld_stream_kv(consumers->element[i], "idle");

        if (name == NULL || name->type != REDIS_REPLY_STRING
            || npending == NULL || npending->type != REDIS_REPLY_INTEGER
            || idle == NULL || idle->type != REDIS_REPLY_INTEGER
            || npending->integer != 0 || idle->integer < gone_ms
            || strcmp(name->str, q->consumer) == 0)
        {
            continue;
        }

        del[4] = name->str;
        freeReplyObject(bld_stream_cmd(&q->stream, 5, del));
    }

    freeReplyObject(consumers);
}


/*
 * The oldest entry some builder may still need into minid: the oldest
 * pending one, else the last one delivered; "" when Redis did not say.
 */
static void
bld_reconcile_minid(bld_builds_t *q, char *minid, size_t len)
{
    redisReply        *pend, *groups;
    const redisReply  *name, *last;
    const char        *pending[] = { "XPENDING", BLD_STREAM, BLD_GROUP };
    const char        *info[] = { "XINFO", "GROUPS", BLD_STREAM };
    size_t             i;

    minid[0] = '\0';

    pend = bld_stream_cmd(&q->stream, 3, pending);
    if (pend == NULL) {
        return;
    }

    if (pend->type == REDIS_REPLY_ARRAY && pend->elements >= 2
        && pend->element[1]->type == REDIS_REPLY_STRING)
    {
        snprintf(minid, len, "%s", pend->element[1]->str);
    }

    freeReplyObject(pend);

    if (minid[0] != '\0') {
        return;
    }

    groups = bld_stream_cmd(&q->stream, 3, info);
    if (groups == NULL) {
        return;
    }

    for (i = 0; groups->type == REDIS_REPLY_ARRAY && i < groups->elements;
         i++)
    {
        name = bld_stream_kv(groups->element[i], "name");
        last = bld_stream_kv(groups->element[i], "last-delivered-id");

        if (name != NULL && name->type == REDIS_REPLY_STRING
            && strcmp(name->str, BLD_GROUP) == 0
            && last != NULL && last->type == REDIS_REPLY_STRING)
        {
            snprintf(minid, len, "%s", last->str);
        }
    }

    freeReplyObject(groups);
}


/*
 * Keeps the stream and the group small: consumers of builders long gone
 * (a live one is recreated by its next read), and entries every builder
 * is done with (older than the oldest pending one and already delivered).
 */
static void
bld_reconcile_tidy(bld_builds_t *q)
{
    char         minid[BLD_STREAM_ID_LEN];
    const char  *trim[] = { "XTRIM", BLD_STREAM, "MINID", "~", minid };

    if (!q->stream.group_ok || q->stream.conn->down) {
        return;
    }

    bld_reconcile_consumers(q);

    bld_reconcile_minid(q, minid, sizeof(minid));
    if (minid[0] == '\0' || strcmp(minid, "0-0") == 0) {
        return;
    }

    /* MINID keeps minid itself: the last delivered entry stays, harmless */
    freeReplyObject(bld_stream_cmd(&q->stream, 5, trim));
}
