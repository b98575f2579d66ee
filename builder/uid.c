/*
 * uid.c: the uid a project's builds and apps run as.
 *
 * Each project has one of sandbox_uid_count uids from sandbox_uid_base on
 * (its group is the same number), so one tenant's processes cannot
 * signal, ptrace or read the files of another's, and what the host lets
 * one uid do concerns one project only.  A plain mapping of project ids
 * would collide once ids pass the count, so the offset is a slot taken
 * in PostgreSQL (projects.sandbox_slot, sql/0015_sandbox.sql): the lowest
 * free one, the first time the project needs it, and given back with the
 * project's row.  Two workers taking one at once cannot get the same: the
 * unique index makes the second fail, and it tries again.
 *
 * Detections (detect.c) clone repositories that belong to no project yet:
 * they run as the uid just past the projects' range, no project's.
 */

#include <stdio.h>
#include <stdlib.h>

#include "shipoff.h"
#include "so_log.h"
#include "worker.h"

#define UID_TRIES  3


int
bld_project_uid(uid_t *out, so_pg_t *pg, const so_config_t *cfg,
    long long project)
{
    PGresult  *res;
    char       id[24], count[16];
    int        tries, rc;

    snprintf(id, sizeof(id), "%lld", project);
    snprintf(count, sizeof(count), "%d", cfg->sandbox_uid_count);

    for (tries = 0; tries < UID_TRIES; tries++) {
        res = so_pg_query(pg, "uid_slot",
                          "WITH taken AS (UPDATE projects SET sandbox_slot ="
                          " (SELECT s FROM generate_series(0, $2::int - 1) s"
                          " WHERE NOT EXISTS (SELECT 1 FROM projects q"
                          " WHERE q.sandbox_slot = s) ORDER BY s LIMIT 1)"
                          " WHERE id = $1 AND sandbox_slot IS NULL"
                          " RETURNING sandbox_slot)"
                          " SELECT sandbox_slot FROM taken UNION ALL"
                          " SELECT sandbox_slot FROM projects WHERE id = $1"
                          " AND sandbox_slot IS NOT NULL",
                          SO_PG_PARAMS(id, count));
        if (res != NULL) {
            break;
        }
    }

    if (res == NULL) {
        so_pg_failed(pg, "uid", "project=%s: taking a sandbox uid", id);
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) != 1) {
        rc = SO_ENOTFOUND;

    } else if (PQgetisnull(res, 0, 0)) {
        so_log_error("uid", "project=%s: all %d sandbox uids are taken "
                     "(sandbox_uid_count)", id, cfg->sandbox_uid_count);
        rc = SO_EEXISTS;

    } else {
        *out = (uid_t) cfg->sandbox_uid_base
               + (uid_t) strtol(PQgetvalue(res, 0, 0), NULL, 10);
        rc = SO_OK;
    }

    PQclear(res);
    return rc;
}


uid_t
bld_detect_uid(const so_config_t *cfg)
{
    return (uid_t) cfg->sandbox_uid_base + (uid_t) cfg->sandbox_uid_count;
}
