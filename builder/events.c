/*
 * events.c: what the API tells the builders on stream shipoff:events.
 *
 *   type project_deleted project <id> name <name>
 *       the project's rows are gone: its route leaves every edge, its
 *       apps are killed, its artifacts (var_dir/sites/<id>,
 *       var_dir/apps/<id>) leave the disk, a build of it running here is
 *       canceled, routes.json is written again;
 *   type promoted deployment <id> project <id> [previous <id>]
 *       the project's PRODUCTION deployment changed: a static one's route
 *       goes to every edge, a dynamic one's kept artifact is started and
 *       routed once it answers (apps.c); the apps it replaces stop after
 *       their drain; routes.json is written again;
 *   type detect detection <id>
 *       a repository to detect (detect.c): a job of its own, when a
 *       build slot is free (else the entry waits, pending, like any
 *       other that could not be handled yet).
 *
 * What an event changes (the edges, the shared var_dir) is global, so one
 * builder handling it is enough: the builders share the consumer group
 * "events" (stream.c, policy bld_events_policy: created at the start of
 * the stream, so what was published while no builder ran is handled too),
 * each is consumer host:pid.  Handling is idempotent and reads
 * PostgreSQL, not the event, for what to route: an entry read twice, or
 * long after, does what the database says now.  An entry is acknowledged
 * once handled; when PostgreSQL or an edge failed it stays pending and is
 * read again every reconcile_interval, when the entries other builders
 * left pending for a lease are also taken over (loop.c).  The edges are
 * asked off the loop (edgeq.c): an entry waiting for them stays pending
 * until they answered.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "edgeq.h"
#include "events.h"
#include "worker.h"


/* a handler's answer: the edges were asked, the entry is acknowledged
   once they answered (the entry stays pending meanwhile) */
#define BLD_EVENTS_LATER  1

/* an event waiting for the edges: a promotion's, or a deletion's
   (deployment 0) */
typedef struct {
    bld_events_t *ev;
    char          eid[BLD_STREAM_ID_LEN];
    char          name[64];
    char          host[512];
    long long     project;
    long long     deployment;
} bld_events_push_t;


static const bld_stream_policy_t  bld_events_policy = {
    SO_DEPLOY_EVENTS, "events",
    "0",                        /* what was published before us, too */
    16                          /* entries per read */
};


static int bld_events_entry(void *data, const char *eid,
    const redisReply *fields);
static int bld_events_deleted(bld_events_t *ev, const char *eid,
    long long project, const char *name);
static int bld_events_forget(bld_events_t *ev, long long project,
    const char *name);
static int bld_events_promoted(bld_events_t *ev, const char *eid,
    long long deployment);
static int bld_events_push(bld_events_t *ev, const char *eid,
    const char *name, long long project, long long deployment,
    json_t *route);
static void bld_events_pushed(void *data, const bld_edge_result_t *r);
static int bld_events_snapshot(bld_events_t *ev, const char *about);
static int bld_events_name_ok(const char *name);


void
bld_events_init(bld_events_t *ev, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps, bld_builds_t *builds)
{
    ev->b = b;
    ev->apps = apps;
    ev->builds = builds;
    bld_stream_init(&ev->stream, &bld_events_policy, conn);
}


void
bld_events_poll(bld_events_t *ev)
{
    (void) bld_stream_read(&ev->stream, 0, bld_events_entry, ev);
}


/*
 * A bld_stream_handler_pt: an entry is acknowledged once handled, or
 * when there is nothing to do; what failed is kept, read again later, as
 * is one waiting for the edges (BLD_EVENTS_LATER).
 */
static int
bld_events_entry(void *data, const char *eid, const redisReply *fields)
{
    bld_events_t      *ev;
    const redisReply  *type, *name;
    long long          id;
    int                rc;

    ev = data;
    rc = SO_OK;

    /* an entry trimmed meanwhile has nil fields; another type is not the
       builder's */
    type = bld_stream_kv(fields, "type");
    if (type == NULL || type->type != REDIS_REPLY_STRING) {
        return BLD_STREAM_ACK;
    }

    if (strcmp(type->str, "project_deleted") == 0) {
        id = bld_stream_field(fields, "project");
        name = bld_stream_kv(fields, "name");

        if (id <= 0 || name == NULL || name->type != REDIS_REPLY_STRING
            || !bld_events_name_ok(name->str))
        {
            so_log_warn("events", "entry %s: project_deleted without a "
                        "valid project and name: dropped", eid);
            return BLD_STREAM_ACK;
        }

        rc = bld_events_deleted(ev, eid, id, name->str);

    } else if (strcmp(type->str, "promoted") == 0) {
        id = bld_stream_field(fields, "deployment");
        if (id <= 0) {
            so_log_warn("events", "entry %s: promoted without a "
                        "deployment: dropped", eid);
            return BLD_STREAM_ACK;
        }

        rc = bld_events_promoted(ev, eid, id);

    } else if (strcmp(type->str, "detect") == 0) {
        id = bld_stream_field(fields, "detection");
        if (id <= 0) {
            so_log_warn("events", "entry %s: detect without a detection: "
                        "dropped", eid);
            return BLD_STREAM_ACK;
        }

        /* no build slot: kept pending, like a failure */
        rc = bld_jobs_capacity(ev->builds) > 0
             ? bld_job_start(ev->builds, id, 0, 1) : SO_EUNAVAIL;
    }

    return rc == SO_OK ? BLD_STREAM_ACK : BLD_STREAM_KEEP;
}


/* a project name is a DNS label: it goes into a host and a URL path */
static int
bld_events_name_ok(const char *name)
{
    size_t  n;

    n = strlen(name);

    return n > 0 && n <= 63 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                      "0123456789-") == n;
}


static int
bld_events_deleted(bld_events_t *ev, const char *eid, long long project,
    const char *name)
{
    PGresult  *res;
    int        reused;

    bld_job_cancel(ev->builds, 0, project);

    /* a project of that name created since owns the host now */
    res = so_pg_query(ev->b->pg, "bld_events_name",
                      "SELECT 1 FROM projects WHERE name = $1",
                      SO_PG_PARAMS(name));
    if (res == NULL) {
        so_pg_failed(ev->b->pg, "events", "project=%lld name=%s", project,
                     name);
        return SO_EUNAVAIL;
    }

    reused = PQntuples(res) > 0;
    PQclear(res);

    if (reused) {
        return bld_events_forget(ev, project, name);
    }

    return bld_events_push(ev, eid, name, project, 0, NULL);
}


/* what is left of a deleted project once its route is gone */
static int
bld_events_forget(bld_events_t *ev, long long project, const char *name)
{
    static const char *const  trees[] = { "sites", "apps" };
    char                      base[PATH_MAX], dir[PATH_MAX + 64];
    size_t                    i;
    int                       rc;

    rc = SO_OK;

    if (realpath(ev->b->cfg.var_dir, base) == NULL) {
        so_log_error("events", "project=%lld: var_dir %s: %s", project,
                     ev->b->cfg.var_dir, strerror(errno));
        rc = SO_ERR;

    } else {
        bld_apps_delete_project(ev->apps, project);

        for (i = 0; i < so_nelems(trees); i++) {
            snprintf(dir, sizeof(dir), "%s/%s/%lld", base, trees[i],
                     project);
            if (bld_remove_tree(&ev->b->cfg, dir) != SO_OK) {
                so_log_error("events", "project=%lld: removing %s failed",
                             project, dir);
                rc = SO_ERR;
            }
        }
    }

    if (bld_events_snapshot(ev, name) != SO_OK) {
        rc = SO_ERR;
    }

    if (rc == SO_OK) {
        so_log_info("events", "project=%lld name=%s: deleted: route, "
                    "artifacts and snapshot entry removed", project, name);
    }

    return rc;
}


/*
 * Routes what PostgreSQL says is the project's PRODUCTION deployment now:
 * an event handled late, or out of order with another promote, routes
 * the latest one, not the one it names.
 */
static int
bld_events_promoted(bld_events_t *ev, const char *eid, long long deployment)
{
    PGresult   *res;
    json_t     *route;
    char        ids[24];
    long long   project, id;
    int         rc;

    snprintf(ids, sizeof(ids), "%lld", deployment);

    res = so_pg_query(ev->b->pg, "bld_events_promoted",
                      "SELECT p.name, d.id, coalesce(d.kind, ''),"
                      " d.artifact_path, d.framework, p.id"
                      " FROM deployments e"
                      " JOIN projects p ON p.id = e.project_id"
                      " JOIN deployments d ON d.project_id = p.id"
                      " AND d.state = 'PRODUCTION'"
                      " WHERE e.id = $1", SO_PG_PARAMS(ids));
    if (res == NULL) {
        so_pg_failed(ev->b->pg, "events", "deployment=%lld", deployment);
        return SO_EUNAVAIL;
    }

    rc = SO_OK;
    route = NULL;

    if (PQntuples(res) != 1) {
        so_log_info("events", "deployment=%lld: promoted, but its project "
                    "has no PRODUCTION deployment now: nothing to route",
                    deployment);
        goto done;
    }

    if (PQgetisnull(res, 0, 3)) {
        so_log_error("events", "deployment=%s project=%s: PRODUCTION "
                     "without an artifact: not routed",
                     PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
        goto done;
    }

    project = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
    id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);

    /* an app is routed by its supervisor once it answers */
    if (strcmp(PQgetvalue(res, 0, 2), "dynamic") == 0) {
        so_log_info("events", "deployment=%s project=%s: promoted: its app "
                    "starts", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0));
        rc = bld_apps_promoted(ev->apps, project, id, 1);
        goto done;
    }

    route = bld_route_static(PQgetvalue(res, 0, 0), id, PQgetvalue(res, 0, 3),
                             PQgetvalue(res, 0, 4));
    if (route == NULL) {
        rc = SO_ERR;
        goto done;
    }

    rc = bld_events_push(ev, eid, PQgetvalue(res, 0, 0), project, id, route);

done:

    json_decref(route);
    PQclear(res);
    return rc;
}


/* the project's host goes to the edges with route (NULL: deleted),
   bld_events_pushed gets the event once they answered: BLD_EVENTS_LATER,
   or SO_ERR */
static int
bld_events_push(bld_events_t *ev, const char *eid, const char *name,
    long long project, long long deployment, json_t *route)
{
    bld_events_push_t  *e;

    e = calloc(1, sizeof(bld_events_push_t));
    if (e == NULL) {
        return SO_ERR;
    }

    e->ev = ev;
    e->project = project;
    e->deployment = deployment;
    snprintf(e->eid, sizeof(e->eid), "%s", eid);
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->host, sizeof(e->host), "%s.%s", name, ev->b->cfg.apps_domain);

    if (bld_edgeq_push(&ev->b->cfg, e->host, route, bld_events_pushed, e)
        != SO_OK)
    {
        free(e);
        return SO_ERR;
    }

    return BLD_EVENTS_LATER;
}


/*
 * A bld_edge_done_pt: the project's route went to the edges, or left
 * them.  What follows (the snapshot; a deleted project's files) is done
 * either way; the entry is acknowledged once both are.
 */
static void
bld_events_pushed(void *data, const bld_edge_result_t *r)
{
    bld_events_push_t  *e;
    int                 rc;

    e = data;

    if (r->rc != SO_OK && e->deployment == 0) {
        so_log_error("events", "project=%lld: removing the route %s: %s "
                     "(%zu edges did)", e->project, e->host, r->err,
                     r->pushed);

    } else if (r->rc != SO_OK) {
        so_log_error("events", "deployment=%lld: routing %s: %s (%zu edges "
                     "did): tried again later", e->deployment, e->host,
                     r->err, r->pushed);
    }

    rc = e->deployment == 0 ? bld_events_forget(e->ev, e->project, e->name)
                            : bld_events_snapshot(e->ev, e->name);

    if (rc == SO_OK && r->rc == SO_OK) {
        if (e->deployment != 0) {
            so_log_info("events", "deployment=%lld project=%s: promoted: %s "
                        "routed to it", e->deployment, e->name, e->host);
            bld_apps_promoted(e->ev->apps, e->project, e->deployment, 0);
        }
        (void) bld_stream_ack(&e->ev->stream, e->eid);
    }

    free(e);
}


static int
bld_events_snapshot(bld_events_t *ev, const char *about)
{
    char  err[SO_ERRLEN];

    if (bld_edge_snapshot(ev->b->pg, &ev->b->cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("events", "project=%s: route snapshot: %s", about, err);
        return SO_ERR;
    }

    return SO_OK;
}
