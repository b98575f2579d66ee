/*
 * quota.c: the account quotas shipoffd enforces (lib/so_quota.h for how
 * they are counted).
 *
 *   disk_bytes        a published artifact is measured (bytes on disk, as
 *                     du counts them, links not followed) and the size
 *                     recorded in deployments.artifact_bytes; when the
 *                     account's kept artifacts and this one together are
 *                     over the limit the deployment fails
 *                     "quota_exceeded: disk" (the worker drops it).
 *   apps_running      an app is not started (deployed, rolled back to or
 *                     woken) when the account already has that many other
 *                     projects with an app starting or running; a new
 *                     deployment fails "quota_exceeded: apps", a wake is
 *                     refused with a line in the deployment's log.  A
 *                     project replacing its own app is not one more.
 *   deployments_kept  with the retention round (retention.c): beyond the
 *                     limit, the
 *                     account's oldest INACTIVE, FAILED and CANCELED
 *                     deployments (not one with an app process) are
 *                     deleted, rows first, then their artifacts.
 *
 * The disk check is not under the account's lock: two builds of one
 * account published at the same moment may both pass (by at most one
 * artifact each; quota_builds_active bounds how many).
 */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_quota.h"
#include "bld.h"
#include "worker.h"


static int bld_quota_du_one(const char *path, const struct stat *st,
    int flag, struct FTW *ftw);
static int bld_quota_usage(long long usage[SO_QUOTA_ACCOUNT_N],
    so_pg_t *pg, long long project, long long except_project);

/* for bld_quota_du_one(): nftw() passes no argument to its callback */
static long long  bld_quota_du_sum;


static int
bld_quota_du_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    bld_quota_du_sum += (long long) st->st_blocks * 512;
    return 0;
}


/* usage of the account project counts against */
static int
bld_quota_usage(long long usage[SO_QUOTA_ACCOUNT_N], so_pg_t *pg,
    long long project, long long except_project)
{
    so_quota_account_t  account;
    int                 rc;

    rc = so_quota_account_of(&account, pg, project, 0);
    if (rc == SO_OK) {
        rc = so_quota_usage(usage, pg, &account, except_project);
    }

    return rc;
}


int
bld_quota_disk(so_pg_t *pg, const so_config_t *cfg, long long deployment,
    long long project, const char *artifact, bld_log_t *log)
{
    so_quota_t  q;
    long long   usage[SO_QUOTA_ACCOUNT_N], size;
    char        dep[24], bytes[24];
    int         rc;

    bld_quota_du_sum = 0;
    if (nftw(artifact, bld_quota_du_one, 16, FTW_PHYS | FTW_MOUNT) != 0) {
        so_log_error("quota", "deployment=%lld: measuring %s failed",
                     deployment, artifact);
        return SO_ERR;
    }
    size = bld_quota_du_sum;

    snprintf(dep, sizeof(dep), "%lld", deployment);
    snprintf(bytes, sizeof(bytes), "%lld", size);

    if (so_pg_exec(pg, "quota_artifact_bytes",
                   "UPDATE deployments SET artifact_bytes = $2"
                   " WHERE id = $1", SO_PG_PARAMS(dep, bytes)) != SO_OK)
    {
        return SO_EUNAVAIL;
    }

    /* the artifact is not kept yet (no artifact_path): not in the sum */
    rc = bld_quota_usage(usage, pg, project, 0);
    if (rc != SO_OK) {
        return rc;
    }

    rc = so_quota_over(&q, SO_QUOTA_DISK, (long long) cfg->quota_disk_bytes,
                       usage[SO_QUOTA_DISK], size);
    if (rc == SO_EQUOTA) {
        bld_log_sys(log, "the artifact takes %lld bytes on disk and the "
                    "account's kept artifacts %lld: over quota_disk_bytes "
                    "(%lld); delete old deployments to make room", size,
                    q.usage, q.limit);
    }

    return rc;
}


int
bld_quota_apps(bld_t *b, long long deployment)
{
    PGresult   *res;
    bld_log_t  *log;
    so_quota_t  quota;
    long long   usage[SO_QUOTA_ACCOUNT_N], project;
    char        dep[24], line[256];
    int         rc;

    if (b->cfg.quota_apps_running == 0) {
        return SO_OK;
    }

    snprintf(dep, sizeof(dep), "%lld", deployment);
    res = so_pg_query(b->pg, "quota_app_project",
                      "SELECT project_id FROM deployments WHERE id = $1",
                      SO_PG_PARAMS(dep));
    if (res == NULL || PQntuples(res) != 1) {
        PQclear(res);
        return SO_ENOTFOUND;
    }
    project = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    rc = bld_quota_usage(usage, b->pg, project, project);
    if (rc != SO_OK) {
        return rc;
    }

    rc = so_quota_over(&quota, SO_QUOTA_APPS, b->cfg.quota_apps_running,
                       usage[SO_QUOTA_APPS], 1);
    if (rc == SO_EQUOTA) {
        snprintf(line, sizeof(line), "the app is not started: the account "
                 "runs apps of %lld other projects, quota_apps_running is "
                 "%lld", quota.usage, quota.limit);
        so_log_warn("quota", "deployment=%lld: %s", deployment, line);

        /* the deployment has no log open: one for this line */
        if (bld_log_new(&log, b->pg, b->redis, NULL, deployment, project)
            == SO_OK)
        {
            bld_log_sys(log, "%s", line);
            bld_log_flush(log, 1);
            bld_log_free(log);
        }
    }

    return rc;
}
