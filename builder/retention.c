/*
 * retention.c: log lines are kept log_max_age, and at most log_max_size
 * bytes of line text per project (the oldest go first); apps' usage
 * samples BLD_USAGE_KEEP; deployments at most quota_deployments_kept per
 * account (the quota: quota.c).
 *
 * Runs with the reconciler's timer.  Each DELETE takes at most
 * BLD_RETAIN_BATCH rows, and one call stops after BLD_RETAIN_BUDGET_MS
 * (or when nothing is left to delete): the loop is never held long, and
 * a large backlog goes over a few rounds.  Ages are read through the
 * index on "at"; the projects over their size from log_usage (kept by
 * triggers, sql/0011_logs.sql), their oldest lines through (project_id,
 * id).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_clock.h"
#include "so_log.h"
#include "bld.h"
#include "worker.h"


#define BLD_RETAIN_BATCH      "5000"
#define BLD_RETAIN_BATCH_N    5000
#define BLD_RETAIN_BUDGET_MS  200
#define BLD_RETAIN_PROJECTS   "20"     /* over their size, per round */
#define BLD_USAGE_KEEP        "7 days"  /* app_usage: the console's charts */
#define BLD_PRUNE_BATCH       "500"


static PGresult *bld_retain_query(bld_t *b, const char *name,
    const char *sql, int nparams, const char *const *params);
static long long bld_retain_exec(bld_t *b, const char *name,
    const char *sql, int nparams, const char *const *params);
static int bld_retain_age(bld_t *b, int64_t deadline);
static int bld_retain_size(bld_t *b, int64_t deadline);
static void bld_retain_usage(bld_t *b, int64_t deadline);
static void bld_retain_deployments(bld_t *b);


/* so_pg_query(), a failure logged */
static PGresult *
bld_retain_query(bld_t *b, const char *name, const char *sql,
    int nparams, const char *const *params)
{
    PGresult  *res;

    res = so_pg_query(b->pg, name, sql, nparams, params);
    if (res == NULL) {
        so_log_warn("retention", "%s failed: %s", name,
                    so_pg_errstr(b->pg));
    }

    return res;
}


/* rows a DELETE removed, or -1 (logged) */
static long long
bld_retain_exec(bld_t *b, const char *name, const char *sql,
    int nparams, const char *const *params)
{
    PGresult   *res;
    long long   n;

    res = bld_retain_query(b, name, sql, nparams, params);
    if (res == NULL) {
        return -1;
    }

    n = strtoll(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return n;
}


/* lines older than log_max_age: 0 when none is left, else SO_ERR */
static int
bld_retain_age(bld_t *b, int64_t deadline)
{
    char       age[24];
    long long  n, total;
    int        rc;

    snprintf(age, sizeof(age), "%d", b->cfg.log_max_age);
    total = 0;

    do {
        n = bld_retain_exec(b, "bld_retain_age",
                            "DELETE FROM log_lines WHERE id IN"
                            " (SELECT id FROM log_lines"
                            " WHERE at < now() - make_interval(secs => $1)"
                            " LIMIT $2)",
                            SO_PG_PARAMS(age, BLD_RETAIN_BATCH));
        total += n > 0 ? n : 0;
    } while (n == BLD_RETAIN_BATCH_N && so_now_ms() < deadline);

    rc = n >= 0 && n < BLD_RETAIN_BATCH_N ? SO_OK : SO_ERR;

    if (total > 0) {
        so_log_info("retention", "deleted %lld log lines older than %d s%s",
                    total, b->cfg.log_max_age,
                    rc == SO_OK ? "" : ", more next round");
    }

    return rc;
}


/* the oldest lines of projects over log_max_size */
static int
bld_retain_size(bld_t *b, int64_t deadline)
{
    PGresult    *res;
    const char  *params[3];
    char         max[24];
    long long    n;
    int          i, rc;

    snprintf(max, sizeof(max), "%zu", b->cfg.log_max_size);

    res = bld_retain_query(b, "bld_retain_over",
                           "SELECT project_id, bytes - $1::bigint"
                           " FROM log_usage WHERE bytes > $1::bigint"
                           " ORDER BY bytes DESC LIMIT $2",
                           SO_PG_PARAMS(max, BLD_RETAIN_PROJECTS));
    if (res == NULL) {
        return SO_ERR;
    }

    rc = SO_OK;

    for (i = 0; i < PQntuples(res); i++) {
        if (so_now_ms() >= deadline) {
            rc = SO_ERR;
            break;
        }

        /* the oldest of a batch, up to and including the line that
           brings the project under its size */
        params[0] = PQgetvalue(res, i, 0);
        params[1] = PQgetvalue(res, i, 1);
        params[2] = BLD_RETAIN_BATCH;

        n = bld_retain_exec(b, "bld_retain_size",
                            "DELETE FROM log_lines l USING"
                            " (SELECT id, sum(len) OVER (ORDER BY id) - len"
                            " AS before FROM (SELECT id, octet_length(line)"
                            " AS len FROM log_lines WHERE project_id = $1"
                            " ORDER BY id LIMIT $3) s) c"
                            " WHERE l.id = c.id AND c.before < $2::bigint",
                            3, params);
        if (n < 0) {
            rc = SO_ERR;
            break;
        }

        so_log_info("retention", "project=%s: deleted %lld log lines, over "
                    "log_max_size by %s bytes", params[0], n, params[1]);
    }

    PQclear(res);
    return rc;
}


/* usage samples older than BLD_USAGE_KEEP */
static void
bld_retain_usage(bld_t *b, int64_t deadline)
{
    long long  n;

    do {
        n = bld_retain_exec(b, "bld_retain_usage",
                            "DELETE FROM app_usage WHERE id IN"
                            " (SELECT id FROM app_usage"
                            " WHERE at < now() - interval '" BLD_USAGE_KEEP
                            "' LIMIT $1)", SO_PG_PARAMS(BLD_RETAIN_BATCH));
    } while (n == BLD_RETAIN_BATCH_N && so_now_ms() < deadline);
}


/* the oldest prunable deployments of accounts over quota_deployments_kept */
static void
bld_retain_deployments(bld_t *b)
{
    PGresult  *res;
    char       kept[24];
    int        i;

    if (b->cfg.quota_deployments_kept == 0) {
        return;
    }

    snprintf(kept, sizeof(kept), "%d", b->cfg.quota_deployments_kept);

    /* each account's excess over the limit, taken from its oldest
       prunable deployments; the state is checked again by the DELETE
       (a promote may have won meanwhile) */
    res = bld_retain_query(b, "quota_prune",
                           "WITH a AS (SELECT d.id, d.state,"
                           " p.owner_user_id AS u, p.owner_team_id AS t,"
                           " count(*) OVER (PARTITION BY p.owner_user_id,"
                           " p.owner_team_id) AS total"
                           " FROM deployments d JOIN projects p"
                           " ON p.id = d.project_id),"
                           " c AS (SELECT id, total, row_number() OVER"
                           " (PARTITION BY u, t ORDER BY id) AS age FROM a"
                           " WHERE total > $1::bigint"
                           " AND state IN ('INACTIVE', 'FAILED', 'CANCELED')"
                           " AND NOT EXISTS (SELECT 1 FROM app_processes x"
                           " WHERE x.deployment_id = a.id)),"
                           " v AS (SELECT id FROM c WHERE age <= total"
                           " - $1::bigint ORDER BY id LIMIT $2)"
                           " DELETE FROM deployments d USING v"
                           " WHERE d.id = v.id"
                           " AND d.state IN ('INACTIVE', 'FAILED', 'CANCELED')"
                           " RETURNING d.id, d.project_id, d.artifact_path",
                           SO_PG_PARAMS(kept, BLD_PRUNE_BATCH));
    if (res == NULL) {
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        so_log_info("quota", "deployment=%s project=%s: deleted, its account "
                    "keeps more than %d deployments (quota_deployments_kept)",
                    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                    b->cfg.quota_deployments_kept);

        if (!PQgetisnull(res, i, 2)) {
            bld_remove_artifact(&b->cfg, PQgetvalue(res, i, 2));
        }
    }

    PQclear(res);
}


void
bld_retention(bld_t *b)
{
    int64_t  deadline;

    deadline = so_now_ms() + BLD_RETAIN_BUDGET_MS;

    if (bld_retain_age(b, deadline) == SO_OK) {
        (void) bld_retain_size(b, deadline);
    }

    bld_retain_usage(b, deadline);

    bld_retain_deployments(b);
}
