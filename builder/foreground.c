/*
 * foreground.c: `shipoffd build ID`, an operator's command: build and
 * deploy this QUEUED deployment now, in this process, with its logs on
 * stderr, exactly as the daemon's worker would.
 *
 * The claim is so_deploy_claim_now(): QUEUED -> BUILDING only if still
 * QUEUED, so a deployment the daemon already took is left alone.  The
 * lease covers the longest the worker may take, so the reconciler does
 * not take the deployment back while this process works on it.  A
 * dynamic app is only built here: its lease is dropped once it is
 * PROVISIONING, and the daemon's supervisor starts it (apps.c,
 * bld_apps_check()).
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "so_pg.h"
#include "bld.h"
#include "worker.h"


int
bld_build_foreground(const so_config_t *cfg, long long deployment_id)
{
    so_pg_t   *pg;
    PGresult  *res;
    char       dep[24], owner[300], host[256];
    char       err[SO_ERRLEN];
    int        rc;

    snprintf(dep, sizeof(dep), "%lld", deployment_id);
    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "localhost");
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(owner, sizeof(owner), "%s:%ld", host, (long) getpid());

    if (bld_netns_host_init(cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("build", "sandbox network: %s", err);
        return BLD_WORKER_RETRY;
    }

    pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    if (pg == NULL || so_pg_connect(pg) != SO_OK) {
        so_log_error("build", "PostgreSQL is down");
        so_pg_free(pg);
        return BLD_WORKER_RETRY;
    }

    rc = so_deploy_claim_now(pg, deployment_id, owner,
                             cfg->build_timeout + cfg->startup_timeout + 120);
    so_pg_free(pg);

    if (rc != SO_OK) {
        so_log_error("build", "deployment=%s: not QUEUED (or no such "
                     "deployment): nothing to do", dep);
        return BLD_WORKER_FAILED;
    }

    rc = bld_worker_run(cfg, deployment_id);

    if (rc == BLD_WORKER_PROVISIONED) {
        pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
        res = pg == NULL || so_pg_connect(pg) != SO_OK ? NULL
              : so_pg_query(pg, "foreground_unlease",
                            "UPDATE deployments SET lease_owner = NULL,"
                            " lease_expires_at = NULL"
                            " WHERE id = $1 AND lease_owner = $2",
                            SO_PG_PARAMS(dep, owner));
        PQclear(res);
        so_pg_free(pg);
        so_log_info("build", "deployment=%s: built; the daemon starts the "
                    "app", dep);
    }

    return rc;
}
