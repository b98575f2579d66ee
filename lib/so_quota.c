/*
 * so_quota.c: per-account quotas (see so_quota.h for the contract).
 *
 * The usage statement counts from the tables, one subquery per kind over
 * the account's projects; the deployments are reached through their
 * project index, the active ones through deployments_active.  The lock is
 * the account's own row (users or teams), taken FOR NO KEY UPDATE: it
 * serialises the checks of one account and nothing else (foreign keys
 * to the row take KEY SHARE, which it does not block).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_quota.h"


static const char *so_quota_owner(char buf[24], long long id);


static const char *const  so_quota_names[SO_QUOTA_N] = {
    "projects", "deployments_kept", "builds_active", "disk_bytes",
    "apps_running", "log_bytes_per_deployment"
};


const char *
so_quota_name(so_quota_kind_t kind)
{
    return so_quota_names[kind];
}


long long
so_quota_limit(const so_config_t *cfg, so_quota_kind_t kind)
{
    switch (kind) {
    case SO_QUOTA_PROJECTS:
        return cfg->quota_projects;
    case SO_QUOTA_DEPLOYMENTS:
        return cfg->quota_deployments_kept;
    case SO_QUOTA_BUILDS:
        return cfg->quota_builds_active;
    case SO_QUOTA_DISK:
        return (long long) cfg->quota_disk_bytes;
    case SO_QUOTA_APPS:
        return cfg->quota_apps_running;
    default:
        return (long long) cfg->quota_log_bytes_per_deployment;
    }
}


/*
 * An owner's id as a parameter, in buf: the statements take $1 the user
 * and $2 the team, the one that is not the owner NULL (id 0).
 */
static const char *
so_quota_owner(char buf[24], long long id)
{
    if (id <= 0) {
        return NULL;
    }

    snprintf(buf, 24, "%lld", id);
    return buf;
}


int
so_quota_account_of(so_quota_account_t *out, so_pg_t *pg,
    long long project_id, int lock)
{
    PGresult    *res;
    char         proj[24];

    out->user = 0;
    out->team = 0;

    snprintf(proj, sizeof(proj), "%lld", project_id);

    res = so_pg_query(pg, "so_quota_account_of",
                      "SELECT coalesce(owner_user_id, 0),"
                      " coalesce(owner_team_id, 0)"
                      " FROM projects WHERE id = $1",
                      SO_PG_PARAMS(proj));
    if (res == NULL) {
        return so_pg_failed(pg, "quota", "so_quota_account_of");
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        return SO_ENOTFOUND;
    }

    out->user = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    out->team = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);

    return lock ? so_quota_lock(pg, out) : SO_OK;
}


int
so_quota_lock(so_pg_t *pg, const so_quota_account_t *account)
{
    PGresult    *res;
    char         user[24], team[24];
    int          found;

    res = so_pg_query(pg, "so_quota_lock",
                      "SELECT (SELECT id FROM users WHERE id = $1"
                      " FOR NO KEY UPDATE) IS NOT NULL"
                      " OR (SELECT id FROM teams WHERE id = $2"
                      " FOR NO KEY UPDATE) IS NOT NULL",
                      SO_PG_PARAMS(so_quota_owner(user, account->user),
                                   so_quota_owner(team, account->team)));
    if (res == NULL) {
        return so_pg_failed(pg, "quota", "so_quota_lock");
    }

    found = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);

    return found ? SO_OK : SO_ENOTFOUND;
}


int
so_quota_usage(long long usage[SO_QUOTA_ACCOUNT_N], so_pg_t *pg,
    const so_quota_account_t *account, long long except_project)
{
    PGresult    *res;
    char         user[24], team[24], except[24];
    int          i;

    snprintf(except, sizeof(except), "%lld", except_project);

    res = so_pg_query(pg, "so_quota_usage",
                      "WITH p AS (SELECT id FROM projects"
                      " WHERE owner_user_id = $1 OR owner_team_id = $2)"
                      " SELECT (SELECT count(*) FROM p),"
                      " (SELECT count(*) FROM deployments d"
                      " WHERE d.project_id IN (SELECT id FROM p)),"
                      " (SELECT count(*) FROM deployments d"
                      " WHERE d.project_id IN (SELECT id FROM p)"
                      " AND d.state IN ('QUEUED', 'BUILDING')),"
                      " (SELECT coalesce(sum(d.artifact_bytes), 0)"
                      " FROM deployments d"
                      " WHERE d.project_id IN (SELECT id FROM p)"
                      " AND d.artifact_path IS NOT NULL),"
                      " (SELECT count(DISTINCT a.project_id)"
                      " FROM app_processes a"
                      " WHERE a.project_id IN (SELECT id FROM p)"
                      " AND a.project_id <> $3::bigint"
                      " AND a.state IN ('starting', 'running'))",
                      SO_PG_PARAMS(so_quota_owner(user, account->user),
                                   so_quota_owner(team, account->team),
                                   except));
    if (res == NULL) {
        return so_pg_failed(pg, "quota", "so_quota_usage");
    }

    for (i = 0; i < SO_QUOTA_ACCOUNT_N; i++) {
        usage[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
    }

    PQclear(res);
    return SO_OK;
}


int
so_quota_over(so_quota_t *out, so_quota_kind_t kind, long long limit,
    long long usage, long long add)
{
    out->kind = kind;
    out->limit = limit;
    out->usage = usage;

    return limit > 0 && out->usage + add > limit ? SO_EQUOTA : SO_OK;
}
