/*
 * promote.c: a built deployment becomes its project's PRODUCTION.
 *
 * One transaction: the project's row is locked (two promotions of one
 * project, or one racing the API's rollback, take turns), the PRODUCTION
 * before becomes INACTIVE (superseded), then the deployment, still
 * PROVISIONING, becomes PRODUCTION.  The worker calls it for a static
 * site, the app supervisor once a dynamic app answers its health check.
 */

#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "worker.h"


int
bld_promote(so_pg_t *pg, long long project, long long deployment)
{
    PGresult    *res;
    const char  *params[2];
    char         proj[24], dep[24];
    int          promoted;

    snprintf(proj, sizeof(proj), "%lld", project);
    snprintf(dep, sizeof(dep), "%lld", deployment);
    params[0] = proj;
    params[1] = dep;

    if (so_pg_tx(pg, "BEGIN") != SO_OK) {
        return SO_EUNAVAIL;
    }

    res = so_pg_query(pg, "promote_lock_project",
                      "SELECT id FROM projects WHERE id = $1 FOR UPDATE",
                      1, params);
    PQclear(res);

    res = res == NULL ? NULL
          : so_pg_query(pg, "promote_supersede",
                        "UPDATE deployments SET state = 'INACTIVE',"
                        " reason = 'superseded'"
                        " WHERE project_id = $1 AND state = 'PRODUCTION'"
                        " AND id <> $2",
                        2, params);
    PQclear(res);

    res = res == NULL ? NULL
          : so_pg_query(pg, "promote_deployment",
                        "UPDATE deployments SET state = 'PRODUCTION',"
                        " reason = 'deployed', exit_code = 0,"
                        " finished_at = now()"
                        " WHERE project_id = $1 AND id = $2"
                        " AND state = 'PROVISIONING'",
                        2, params);
    if (res == NULL) {
        so_pg_tx(pg, "ROLLBACK");
        return SO_EUNAVAIL;
    }

    promoted = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);

    if (!promoted) {
        so_pg_tx(pg, "ROLLBACK");
        return SO_EEXISTS;
    }

    return so_pg_tx(pg, "COMMIT") == SO_OK ? SO_OK : SO_EUNAVAIL;
}
