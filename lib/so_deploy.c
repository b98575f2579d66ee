/*
 * so_deploy.c: enqueueing builds through the outbox, the claim, state
 * transitions, promotion and the recovery of lost builds (see so_deploy.h
 * for the contract).
 *
 * Database failures are logged here, where the server's message is still
 * at hand (a ROLLBACK after it would clear it), and returned as
 * SO_EUNAVAIL (the server cannot be reached) or SO_ERR (it refused: our
 * bug), so a caller only maps the code to an answer.
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"


#define SO_DEPLOY_MAX_FIELDS  8


static int so_deploy_commit(so_pg_t *pg, int *tx);
static int so_deploy_end(so_pg_t *pg, int tx, PGresult *res, int rc);
static int so_deploy_quota(so_pg_t *pg, const so_deploy_spec_t *spec);
static PGresult *so_deploy_take(so_pg_t *pg, long long id,
    const char *owner, int ttl, const char *reason, int supersede);
static int so_deploy_lock(long long *out_project, int *tx, so_pg_t *pg,
    const char *ids);
static void so_deploy_promoted(so_redis_t *redis, const char *ids,
    const char *projects, long long prev);


/* COMMIT (so_pg_tx logs a failure); the transaction is over either way */
static int
so_deploy_commit(so_pg_t *pg, int *tx)
{
    *tx = 0;
    return so_pg_tx(pg, "COMMIT") == SO_OK ? SO_OK : so_pg_code(pg);
}


/* a function's single exit: what was not committed is rolled back */
static int
so_deploy_end(so_pg_t *pg, int tx, PGresult *res, int rc)
{
    if (tx) {
        (void) so_pg_tx(pg, "ROLLBACK");
    }

    PQclear(res);
    return rc;
}


int
so_deploy_xadd(so_redis_t *redis, const char *stream, int nfields,
    const char *const *fields)
{
    redisReply  *reply;
    const char  *argv[3 + 2 * SO_DEPLOY_MAX_FIELDS];
    int          i, rc;

    assert(nfields > 0 && nfields <= 2 * SO_DEPLOY_MAX_FIELDS
           && nfields % 2 == 0);

    argv[0] = "XADD";
    argv[1] = stream;
    argv[2] = "*";
    for (i = 0; i < nfields; i++) {
        argv[3 + i] = fields[i];
    }

    reply = so_redis_command(redis, 3 + nfields, argv, NULL);

    if (reply == NULL) {
        so_log_warn(NULL, "XADD %s: %s", stream, so_redis_errstr(redis));
        return SO_EUNAVAIL;
    }

    rc = SO_OK;
    if (reply->type == REDIS_REPLY_ERROR) {
        so_log_warn(NULL, "XADD %s: %s", stream, reply->str);
        rc = SO_EUNAVAIL;
    }

    freeReplyObject(reply);
    return rc;
}


int
so_deploy_publish(so_pg_t *pg, so_redis_t *redis, long long outbox_id,
    long long deployment_id, long long project_id)
{
    const char  *fields[4];
    char         dep[24], project[24], outbox[24];

    snprintf(dep, sizeof(dep), "%lld", deployment_id);
    snprintf(project, sizeof(project), "%lld", project_id);
    snprintf(outbox, sizeof(outbox), "%lld", outbox_id);

    fields[0] = "deployment";
    fields[1] = dep;
    fields[2] = "project";
    fields[3] = project;

    if (so_deploy_xadd(redis, SO_DEPLOY_BUILDS, 4, fields) != SO_OK) {
        so_log_warn(NULL, "deployment=%s project=%s: not in the queue yet: "
                    "the outbox keeps it for the reconciler", dep, project);
        return SO_EUNAVAIL;
    }

    if (so_pg_exec(pg, "so_deploy_outbox_sent",
                   "UPDATE build_outbox SET sent_at = now()"
                   " WHERE id = $1 AND sent_at IS NULL",
                   SO_PG_PARAMS(outbox)) != SO_OK)
    {
        (void) so_pg_failed(pg, NULL, "so_deploy_outbox_sent");
        return SO_ERR;
    }

    return SO_OK;
}


/* in the enqueue's transaction: one more active build is allowed */
static int
so_deploy_quota(so_pg_t *pg, const so_deploy_spec_t *spec)
{
    so_quota_account_t  account;
    so_quota_t          q;
    long long           usage[SO_QUOTA_ACCOUNT_N];
    int                 rc;

    rc = so_quota_account_of(&account, pg, spec->project_id, 1);
    if (rc == SO_OK) {
        rc = so_quota_usage(usage, pg, &account, 0);
    }
    if (rc != SO_OK) {
        return rc;
    }

    rc = so_quota_over(&q, SO_QUOTA_BUILDS, spec->builds_max,
                       usage[SO_QUOTA_BUILDS], 1);
    if (spec->quota != NULL) {
        *spec->quota = q;
    }

    if (rc == SO_EQUOTA) {
        so_log_info(NULL, "project=%lld: not queued: its account has %lld "
                    "builds active (quota_builds_active %lld)",
                    spec->project_id, q.usage, q.limit);
    }

    return rc;
}


int
so_deploy_enqueue(long long *out_id, so_pg_t *pg, so_redis_t *redis,
    const so_deploy_spec_t *spec, so_deploy_also_pt also, void *arg)
{
    PGresult    *res;
    char         project[24], user[24];
    long long    id, outbox;
    int          rc, tx;

    *out_id = 0;
    res = NULL;
    tx = 0;

    snprintf(project, sizeof(project), "%lld", spec->project_id);
    snprintf(user, sizeof(user), "%lld", spec->created_by);

    if (also != NULL || spec->builds_max > 0) {
        if (so_pg_tx(pg, "BEGIN") != SO_OK) {
            rc = so_pg_code(pg);
            goto done;
        }
        tx = 1;
    }

    if (spec->builds_max > 0) {
        rc = so_deploy_quota(pg, spec);
        if (rc != SO_OK) {
            goto done;
        }
    }

    /* one statement: the deployment never exists without its outbox row */
    res = so_pg_query(pg, "so_deploy_insert",
                      "WITH d AS (INSERT INTO deployments (project_id,"
                      " branch, commit_sha, commit_message, trigger,"
                      " created_by, reason)"
                      " SELECT p.id, coalesce($2, p.branch), $3, $4, $5,"
                      " $6, $7 FROM projects p WHERE p.id = $1"
                      " RETURNING id),"
                      " o AS (INSERT INTO build_outbox (deployment_id)"
                      " SELECT id FROM d RETURNING id, deployment_id)"
                      " SELECT deployment_id, id FROM o",
                      SO_PG_PARAMS(project, spec->branch, spec->commit,
                                   spec->message, spec->trigger,
                                   spec->created_by > 0 ? user : NULL,
                                   spec->reason != NULL ? spec->reason
                                                        : spec->trigger));
    if (res == NULL) {
        rc = so_pg_failed(pg, NULL, "so_deploy_insert");
        goto done;
    }

    if (PQntuples(res) != 1) {
        rc = SO_ENOTFOUND;
        goto done;
    }

    id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    outbox = strtoll(PQgetvalue(res, 0, 1), NULL, 10);

    if (also != NULL) {
        rc = also(pg, id, arg);
        if (rc != SO_OK) {
            goto done;
        }
    }

    if (tx) {
        rc = so_deploy_commit(pg, &tx);
        if (rc != SO_OK) {
            goto done;
        }
    }

    so_log_info(NULL, "deployment=%lld project=%s: queued (%s)", id, project,
                spec->trigger);

    *out_id = id;
    (void) so_deploy_publish(pg, redis, outbox, id, spec->project_id);
    rc = SO_OK;

done:

    return so_deploy_end(pg, tx, res, rc);
}


int
so_deploy_move(so_pg_t *pg, long long id, so_dstate_t from, so_dstate_t to,
    const char *reason, int exit_code)
{
    PGresult    *res;
    char         ids[24], code[16];
    int          rc;

    /* a caller's bug: answered, so the row stays as it was in any build */
    if (!so_dstate_can(from, to)) {
        so_log_error(NULL, "deployment=%lld: %s -> %s is not a transition: "
                     "refused", id, so_dstate_name(from), so_dstate_name(to));
        return SO_EINVAL;
    }

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(code, sizeof(code), "%d", exit_code);

    res = so_pg_query(pg, "so_deploy_move",
                      "UPDATE deployments SET state = $2, reason = $3,"
                      " exit_code = coalesce($5::int, exit_code),"
                      " finished_at = CASE WHEN $6::boolean THEN now()"
                      " ELSE finished_at END"
                      " WHERE id = $1 AND state = $4",
                      SO_PG_PARAMS(ids, so_dstate_name(to), reason,
                                   so_dstate_name(from),
                                   exit_code >= 0 ? code : NULL,
                                   so_dstate_ends_build(from, to) ? "t" : "f"));
    if (res == NULL) {
        /* another PRODUCTION of the project: someone promoted first */
        if (strcmp(so_pg_sqlstate(pg), "23505") == 0) {
            return SO_EEXISTS;
        }
        return so_pg_failed(pg, NULL, "so_deploy_move");
    }

    rc = strcmp(PQcmdTuples(res), "1") == 0 ? SO_OK : SO_EEXISTS;
    PQclear(res);

    if (rc == SO_OK) {
        so_log_info(NULL, "deployment=%lld: %s -> %s (%s)", id,
                    so_dstate_name(from), so_dstate_name(to), reason);
    }

    return rc;
}


/*
 * QUEUED -> BUILDING with reason and the lease of owner for ttl seconds,
 * in one statement; with supersede, the older QUEUED deployments of its
 * branch become CANCELED "superseded" in the same one.  Its row: the
 * attempt (NULL: the deployment was not QUEUED any more) and the ids
 * superseded (NULL: none).
 */
static PGresult *
so_deploy_take(so_pg_t *pg, long long id, const char *owner, int ttl,
    const char *reason, int supersede)
{
    char         ids[24], ttls[16];

    assert(so_dstate_can(SO_DS_QUEUED, SO_DS_BUILDING)
           && so_dstate_ends_build(SO_DS_QUEUED, SO_DS_CANCELED));

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(ttls, sizeof(ttls), "%d", ttl);

    return so_pg_query(pg, "so_deploy_take",
                       "WITH old AS (UPDATE deployments o"
                       " SET state = 'CANCELED', reason = 'superseded',"
                       " finished_at = now()"
                       " FROM deployments d WHERE $5::boolean AND d.id = $1"
                       " AND o.project_id = d.project_id"
                       " AND o.branch = d.branch AND o.state = 'QUEUED'"
                       " AND o.id < d.id RETURNING o.id),"
                       " c AS (UPDATE deployments SET state = 'BUILDING',"
                       " reason = $4, lease_owner = $2,"
                       " lease_expires_at = now() + $3::int"
                       " * interval '1 second',"
                       " attempts = attempts + 1, started_at = now()"
                       " WHERE id = $1 AND state = 'QUEUED'"
                       " RETURNING attempts)"
                       " SELECT (SELECT attempts FROM c),"
                       " (SELECT string_agg(id::text, ',' ORDER BY id)"
                       " FROM old)",
                       SO_PG_PARAMS(ids, owner, ttls, reason,
                                    supersede ? "t" : "f"));
}


/*
 * BEGIN, then the row of the project of deployment ids locked; the reads
 * that follow come in statements of their own: under READ COMMITTED each
 * sees what the holder of the lock before committed.  SO_OK with
 * *out_project; SO_ENOTFOUND when the deployment is gone; SO_EUNAVAIL or
 * SO_ERR.  *tx is 1 once the transaction is open: the caller ends it.
 */
static int
so_deploy_lock(long long *out_project, int *tx, so_pg_t *pg,
    const char *ids)
{
    PGresult    *res;
    int          rc;

    if (so_pg_tx(pg, "BEGIN") != SO_OK) {
        return so_pg_failed(pg, NULL, "BEGIN");
    }
    *tx = 1;

    res = so_pg_query(pg, "so_deploy_lock_project",
                      "SELECT p.id FROM projects p"
                      " JOIN deployments d ON d.project_id = p.id"
                      " WHERE d.id = $1 FOR UPDATE OF p",
                      SO_PG_PARAMS(ids));
    if (res == NULL) {
        return so_pg_failed(pg, NULL, "so_deploy_lock_project");
    }

    rc = SO_ENOTFOUND;
    if (PQntuples(res) == 1) {
        *out_project = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        rc = SO_OK;
    }

    PQclear(res);
    return rc;
}


int
so_deploy_claim(long long *out_project, so_pg_t *pg, long long id,
    const char *owner, int ttl)
{
    PGresult    *res;
    char         ids[24];
    int          rc, tx;

    *out_project = 0;
    res = NULL;
    tx = 0;

    snprintf(ids, sizeof(ids), "%lld", id);

    rc = so_deploy_lock(out_project, &tx, pg, ids);
    if (rc != SO_OK) {
        rc = rc == SO_ENOTFOUND ? SO_DEPLOY_SETTLED : rc;
        goto done;
    }

    res = so_pg_query(pg, "so_deploy_claim_read",
                      "SELECT d.state = 'QUEUED',"
                      " EXISTS (SELECT 1 FROM deployments n"
                      "  WHERE n.project_id = d.project_id"
                      "  AND n.branch = d.branch AND n.state = 'QUEUED'"
                      "  AND n.id > d.id),"
                      " EXISTS (SELECT 1 FROM deployments a"
                      "  WHERE a.project_id = d.project_id"
                      "  AND a.state IN ('BUILDING', 'PROVISIONING'))"
                      " FROM deployments d WHERE d.id = $1",
                      SO_PG_PARAMS(ids));
    if (res == NULL) {
        rc = so_pg_failed(pg, NULL, "so_deploy_claim_read");
        goto done;
    }

    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        rc = SO_DEPLOY_SETTLED;
        goto done;
    }

    if (strcmp(PQgetvalue(res, 0, 1), "t") == 0) {
        rc = so_deploy_move(pg, id, SO_DS_QUEUED, SO_DS_CANCELED,
                            "superseded", -1);
        if (rc != SO_OK && rc != SO_EEXISTS) {
            goto done;
        }

        rc = so_deploy_commit(pg, &tx);
        if (rc == SO_OK) {
            rc = SO_DEPLOY_SETTLED;
        }
        goto done;
    }

    if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        so_log_debug(NULL, "deployment=%lld project=%lld: the project is "
                     "being built: later", id, *out_project);
        rc = SO_DEPLOY_LATER;
        goto done;
    }

    PQclear(res);

    res = so_deploy_take(pg, id, owner, ttl, "claimed", 1);
    if (res == NULL) {
        rc = so_pg_failed(pg, NULL, "so_deploy_take");
        goto done;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
        /* a user canceled it between the read and the update */
        rc = SO_DEPLOY_SETTLED;
        goto done;
    }

    rc = so_deploy_commit(pg, &tx);
    if (rc != SO_OK) {
        goto done;
    }

    if (!PQgetisnull(res, 0, 1)) {
        so_log_info(NULL, "deployment=%lld project=%lld: superseded %s",
                    id, *out_project, PQgetvalue(res, 0, 1));
    }

    so_log_info(NULL, "deployment=%lld project=%lld: claimed (attempt %s)",
                id, *out_project, PQgetvalue(res, 0, 0));

    rc = SO_DEPLOY_CLAIMED;

done:

    return so_deploy_end(pg, tx, res, rc);
}


int
so_deploy_claim_now(so_pg_t *pg, long long id, const char *owner, int ttl)
{
    PGresult  *res;
    int        rc;

    res = so_deploy_take(pg, id, owner, ttl, "building", 0);
    if (res == NULL) {
        return so_pg_failed(pg, NULL, "so_deploy_take");
    }

    rc = (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) ? SO_OK
         : SO_EEXISTS;
    PQclear(res);

    if (rc == SO_OK) {
        so_log_info(NULL, "deployment=%lld: QUEUED -> BUILDING (building)",
                    id);
    }

    return rc;
}


/* tells the builder to switch the route (best effort) */
static void
so_deploy_promoted(so_redis_t *redis, const char *ids, const char *projects,
    long long prev)
{
    const char  *fields[8];
    char         prevs[24];

    snprintf(prevs, sizeof(prevs), "%lld", prev);
    fields[0] = "type";
    fields[1] = "promoted";
    fields[2] = "deployment";
    fields[3] = ids;
    fields[4] = "project";
    fields[5] = projects;
    fields[6] = "previous";
    fields[7] = prevs;

    (void) so_deploy_xadd(redis, SO_DEPLOY_EVENTS, prev ? 8 : 6, fields);
}


int
so_deploy_promote(long long *out_previous, so_pg_t *pg, so_redis_t *redis,
    long long id, so_dstate_t from, char *err, size_t errlen)
{
    PGresult     *res;
    char          projects[24], ids[24];
    so_dstate_t   state;
    long long     project, prev;
    int           rc, tx, rollback;

    assert(so_dstate_can(from, SO_DS_PRODUCTION));

    *out_previous = 0;
    err[0] = '\0';
    rollback = from == SO_DS_INACTIVE;
    res = NULL;
    prev = 0;
    tx = 0;

    snprintf(ids, sizeof(ids), "%lld", id);

    rc = so_deploy_lock(&project, &tx, pg, ids);
    if (rc != SO_OK) {
        goto done;
    }

    snprintf(projects, sizeof(projects), "%lld", project);

    res = so_pg_query(pg, "so_deploy_promote_get",
                      "SELECT state, artifact_path IS NOT NULL,"
                      " (SELECT id FROM deployments"
                      " WHERE project_id = $1 AND state = 'PRODUCTION')"
                      " FROM deployments WHERE id = $2 AND project_id = $1",
                      SO_PG_PARAMS(projects, ids));
    if (res == NULL) {
        rc = so_pg_failed(pg, NULL, "so_deploy_promote_get");
        goto done;
    }

    if (PQntuples(res) != 1
        || so_dstate_parse(&state, PQgetvalue(res, 0, 0)) != SO_OK)
    {
        rc = SO_ENOTFOUND;
        goto done;
    }

    if (state != from) {
        snprintf(err, errlen, "only %s deployment can be promoted; this one "
                 "is %s", rollback ? "an INACTIVE" : "a PROVISIONING",
                 so_dstate_name(state));
        rc = SO_EEXISTS;
        goto done;
    }

    if (rollback && strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        snprintf(err, errlen, "the artifact of this deployment is no longer "
                 "kept: redeploy it instead");
        rc = SO_EINVAL;
        goto done;
    }

    if (!PQgetisnull(res, 0, 2)) {
        prev = strtoll(PQgetvalue(res, 0, 2), NULL, 10);

        rc = so_deploy_move(pg, prev, SO_DS_PRODUCTION, SO_DS_INACTIVE,
                            rollback ? "superseded by promote"
                                     : "superseded", -1);
        if (rc != SO_OK) {
            goto changed;
        }
    }

    rc = so_deploy_move(pg, id, from, SO_DS_PRODUCTION,
                        rollback ? "promoted" : "deployed", rollback ? -1 : 0);
    if (rc != SO_OK) {
        goto changed;
    }

    rc = so_deploy_commit(pg, &tx);
    if (rc != SO_OK) {
        goto done;
    }

    *out_previous = prev;

    if (redis != NULL) {
        so_deploy_promoted(redis, ids, projects, prev);
    }

    rc = SO_OK;
    goto done;

changed:

    /* a writer that does not lock the project row got in between */
    if (rc == SO_EEXISTS) {
        snprintf(err, errlen, "the deployments of this project changed "
                 "meanwhile: try again");
    }

done:

    return so_deploy_end(pg, tx, res, rc);
}


/*
 * Takes the deployments matching cond (BUILDING or PROVISIONING) back to
 * QUEUED with an outbox row, or to FAILED when the attempts are used up;
 * $3 is 1 when the attempt that ends is not counted.
 */
#define SO_DEPLOY_RECOVER_SQL(cond)                                         \
    "WITH d AS (UPDATE deployments SET"                                     \
    " state = CASE WHEN attempts - $3::int < $4::int"                      \
    " THEN 'QUEUED' ELSE 'FAILED' END,"                                     \
    " reason = 'builder_lost', attempts = attempts - $3::int,"             \
    " lease_owner = NULL, lease_expires_at = NULL,"                         \
    " finished_at = CASE WHEN attempts - $3::int < $4::int"                \
    " THEN NULL ELSE now() END"                                             \
    " WHERE state IN ('BUILDING', 'PROVISIONING') AND " cond                \
    " RETURNING id, project_id, state),"                                    \
    " o AS (INSERT INTO build_outbox (deployment_id)"                       \
    " SELECT id FROM d WHERE state = 'QUEUED'"                              \
    " RETURNING id, deployment_id)"                                         \
    " SELECT d.id, d.project_id, d.state, o.id"                             \
    " FROM d LEFT JOIN o ON o.deployment_id = d.id"


int
so_deploy_recover(PGresult **out, so_pg_t *pg, so_deploy_lost_t which,
    long long id, const char *owner, int counted, int max_attempts)
{
    const char  *name, *sql;
    char         ids[24], max[16];

    assert(so_dstate_can(SO_DS_BUILDING, SO_DS_QUEUED)
           && so_dstate_can(SO_DS_BUILDING, SO_DS_FAILED)
           && so_dstate_can(SO_DS_PROVISIONING, SO_DS_QUEUED)
           && so_dstate_can(SO_DS_PROVISIONING, SO_DS_FAILED));

    switch (which) {
    case SO_DEPLOY_LOST_ONE:
        name = "so_deploy_recover_one";
        sql = SO_DEPLOY_RECOVER_SQL("id = $1::bigint AND lease_owner = $2");
        break;
    case SO_DEPLOY_LOST_MINE:
        name = "so_deploy_recover_mine";
        sql = SO_DEPLOY_RECOVER_SQL("$1::bigint IS NOT NULL"
                                    " AND lease_owner = $2");
        break;
    default:
        name = "so_deploy_recover_expired";
        sql = SO_DEPLOY_RECOVER_SQL("$1::bigint IS NOT NULL"
                                    " AND lease_expires_at < now()"
                                    " AND lease_owner IS DISTINCT FROM $2");
        break;
    }

    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(max, sizeof(max), "%d", max_attempts);

    *out = so_pg_query(pg, name, sql,
                       SO_PG_PARAMS(ids, owner, counted ? "0" : "1", max));

    return *out == NULL ? so_pg_failed(pg, NULL, "recovering lost builds")
                        : SO_OK;
}
