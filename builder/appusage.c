/*
 * appusage.c: what each app uses, sampled for its owner (the supervisor's,
 * apps.h): every reap_interval one row per app into app_usage
 * (sql/0017_app_usage.sql), all in one INSERT.
 *
 * Memory comes from the app's cgroup as it is (now, and its peak since
 * the process started); CPU time as the growth of the cgroup's count
 * since the sample before (a new process, after a restart or a wake,
 * starts its count anew).  Restarts, OOM kills and wakes are counted by
 * apps.c as they happen; requests come from the edges' activity the
 * scaler polls (bld_apps_activity): the growth of each route's count,
 * which is first only noted, since a route's count is the host's, older
 * than the app.  A sample takes what was counted since the one before,
 * so a window's total is the sum of its rows.  PostgreSQL down, a round
 * is dropped (logged once a failure begins): its CPU time is lost, the
 * other counts wait for the next one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shipoff.h"
#include "so_log.h"
#include "apps.h"


/* the row of one app, the counts taken; NULL when out of memory */
static json_t *
app_usage_row(bld_app_t *app)
{
    bld_cgroup_usage_t  u;
    uint64_t            cpu;

    memset(&u, 0, sizeof(u));
    cpu = 0;

    if (app->pid != 0 && bld_cgroup_usage(&app->cg, &u) == SO_OK) {
        /* on v1 the count is the live processes': it may go down */
        cpu = u.cpu_usec >= app->u_cpu_usec ? u.cpu_usec - app->u_cpu_usec
                                             : u.cpu_usec;
        app->u_cpu_usec = u.cpu_usec;
    }

    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:i, s:i, s:I, s:i}",
                     "project_id", (json_int_t) app->project,
                     "deployment_id", (json_int_t) app->deployment,
                     "memory_bytes", (json_int_t) u.memory,
                     "memory_peak_bytes", (json_int_t) u.memory_peak,
                     "cpu_seconds", (double) cpu / 1e6,
                     "restarts", app->u_restarts,
                     "oom_kills", app->u_ooms,
                     "requests", (json_int_t) app->u_requests,
                     "wakes", app->u_wakes);
}


void
bld_apps_sample(bld_apps_t *a)
{
    json_t  *rows, *row;
    char    *text;
    int      i;

    if (a->napps == 0) {
        return;
    }

    rows = json_array();
    text = NULL;

    for (i = 0; rows != NULL && i < a->napps; i++) {
        row = app_usage_row(a->apps[i]);
        if (row == NULL || json_array_append_new(rows, row) != 0) {
            goto done;
        }
    }

    text = json_dumps(rows, JSON_COMPACT);
    if (text == NULL) {
        goto done;
    }

    if (so_pg_exec(a->b->pg, "apps_usage_insert",
                   "INSERT INTO app_usage (project_id, deployment_id,"
                   " memory_bytes, memory_peak_bytes, cpu_seconds,"
                   " restarts, oom_kills, requests, wakes)"
                   " SELECT r.* FROM jsonb_to_recordset($1::jsonb) AS"
                   " r(project_id bigint, deployment_id bigint,"
                   " memory_bytes bigint, memory_peak_bytes bigint,"
                   " cpu_seconds double precision, restarts integer,"
                   " oom_kills integer, requests bigint, wakes integer)"
                   " WHERE EXISTS (SELECT 1 FROM projects p"
                   " WHERE p.id = r.project_id)",
                   SO_PG_PARAMS(text)) != SO_OK)
    {
        if (!a->usage_failing) {
            so_log_warn("usage", "storing usage samples failed, the counts "
                        "wait for the next round: %s",
                        so_pg_errstr(a->b->pg));
        }
        a->usage_failing = 1;
        goto done;
    }

    a->usage_failing = 0;

    for (i = 0; i < a->napps; i++) {
        a->apps[i]->u_restarts = 0;
        a->apps[i]->u_ooms = 0;
        a->apps[i]->u_wakes = 0;
        a->apps[i]->u_requests = 0;
    }

done:

    free(text);
    json_decref(rows);
}

