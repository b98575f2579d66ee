/*
 * scaler.c: scale to zero and back, an actor of shipoffd (scaler.h).
 *
 * Every reap_interval the activity of every edge is read
 * (GET <edge>/_shipoff/routes: requests in flight, open long-lived
 * connections, the last request, per route).  A running app whose route
 * has nothing in flight and no long-lived connection on any edge, and no
 * request for idle_timeout (nor has it been answering for less: the idle
 * clock starts when it answers, so a wake slower than idle_timeout is not
 * undone by the request that caused it), is drained as
 * "idle": its route is pushed sleeping at once and the process stopped
 * after app_drain.  An edge that does not answer keeps every app awake:
 * nobody is put to sleep on a guess.  The edges are read off the loop
 * (edgeq.c); a round whose read is still out is skipped.
 *
 * The next request to a sleeping route is held by the edge's wake module,
 * which has the API add {host, project} to the stream shipoff:wake.  The
 * builders read it in their consumer group "runtime" and start the
 * project's PRODUCTION app from its artifact (no rebuild); its route goes
 * back to running once it answers its health check.  Wakes coalesce: an
 * app already starting is left to finish, a running one only has its
 * route pushed again, one being put to sleep is kept.  An entry is
 * acknowledged once handled, even when PostgreSQL failed: a wake lost on
 * the way is asked again by the edge after its wake timeout, which is
 * also why the group starts at "$" (stream.c, policy idle_wake_policy):
 * a wake older than the group has been asked again since.  The wakes a
 * dead builder left pending for a lease are taken over (loop.c, with the
 * reconciler's timer).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_log.h"
#include "edgeq.h"
#include "scaler.h"


/* what idle_activity() is asked about: every edge's activity */
typedef struct {
    bld_scaler_t              *s;
    const bld_edge_result_t   *r;
    time_t                     now;
} idle_round_t;


static long long idle_activity(void *data, const char *name, int *busy);
static void idle_polled(void *data, const bld_edge_result_t *r);
static time_t idle_time(const char *rfc3339);
static int idle_wake_entry(void *data, const char *eid,
    const redisReply *fields);


static const bld_stream_policy_t  idle_wake_policy = {
    "shipoff:wake", "runtime",
    "$",                        /* an older wake was asked again since */
    16                          /* entries per read */
};

/* "2026-11-28T09:13:01Z" as a time_t, or -1 */
static time_t
idle_time(const char *rfc3339)
{
    struct tm  tm;
    char      *end;

    memset(&tm, 0, sizeof(tm));
    end = strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL) {
        return -1;
    }

    return timegm(&tm);
}


/* a bld_apps_activity_pt: the app's route is name.apps_domain */
static long long
idle_activity(void *data, const char *name, int *busy)
{
    const idle_round_t  *round;
    json_t              *routes, *r, *last;
    const char          *host;
    char                 want[512];
    size_t               e, i;
    long long            n;
    time_t               at;

    round = data;
    snprintf(want, sizeof(want), "%s.%s", name,
             round->s->b->cfg.apps_domain);
    n = -1;
    *busy = 0;

    for (e = 0; e < round->r->ntables; e++) {
        routes = json_object_get(round->r->tables[e], "routes");

        json_array_foreach(routes, i, r) {
            host = json_string_value(json_object_get(r, "host"));
            if (host == NULL || strcmp(host, want) != 0) {
                continue;
            }

            n = (n < 0 ? 0 : n)
                + (long long) json_integer_value(json_object_get(r,
                                                                 "requests"));

            last = json_object_get(r, "last_request");
            at = json_is_string(last) ? idle_time(json_string_value(last))
                                      : 0;

            if (json_integer_value(json_object_get(r, "in_flight")) > 0
                || json_integer_value(json_object_get(r, "long_lived")) > 0
                || (json_is_string(last)
                    && (at == -1
                        || round->now - at < round->s->b->cfg.idle_timeout)))
            {
                *busy = 1;
            }
            break;
        }
    }

    return n;
}


/* a bld_edge_done_pt: every edge's activity, or why not */
static void
idle_polled(void *data, const bld_edge_result_t *r)
{
    idle_round_t   round;
    bld_scaler_t  *s;

    s = data;
    s->polling = 0;

    if (r->rc != SO_OK) {
        so_log_warn("idle", "%s: activity not read: no app is put to "
                    "sleep this round", r->err);
        return;
    }

    round.s = s;
    round.r = r;
    round.now = time(NULL);

    bld_apps_activity(s->apps, so_now_ms()
                               - (int64_t) s->b->cfg.idle_timeout * 1000,
                      idle_activity, &round);
}


void
bld_scaler_reap(bld_scaler_t *s)
{
    /* a slow edge is not asked twice at once: a round is skipped */
    if (bld_apps_running(s->apps) == 0 || s->polling
        || s->b->cfg.edges == NULL || s->b->cfg.edges[0] == '\0')
    {
        return;
    }

    if (bld_edgeq_poll(&s->b->cfg, idle_polled, s) == SO_OK) {
        s->polling = 1;
    }
}


/*
 * A bld_stream_handler_pt: a wake of project (its name), whose PRODUCTION
 * app runs again.  Every wake is acknowledged (see the top).
 */
static int
idle_wake_entry(void *data, const char *eid, const redisReply *fields)
{
    bld_scaler_t      *s;
    const redisReply  *project;
    PGresult          *res;

    s = data;

    project = bld_stream_kv(fields, "project");
    if (project == NULL || project->type != REDIS_REPLY_STRING) {
        return BLD_STREAM_ACK;
    }

    res = so_pg_query(s->b->pg, "idle_wake",
                      "SELECT d.id FROM projects p JOIN deployments d"
                      " ON d.project_id = p.id AND d.state = 'PRODUCTION'"
                      " WHERE p.name = $1 AND d.kind = 'dynamic'"
                      " AND d.artifact_path IS NOT NULL",
                      SO_PG_PARAMS(project->str));

    if (res != NULL && PQntuples(res) != 1) {
        so_log_info("idle", "project=%s: woken, but it has no dynamic "
                    "PRODUCTION deployment", project->str);

    } else if (res == NULL
               || bld_apps_wake(s->apps,
                                strtoll(PQgetvalue(res, 0, 0), NULL, 10),
                                project->str) == SO_EUNAVAIL)
    {
        so_log_warn("idle", "project=%s: wake not handled: %s",
                    project->str, so_pg_errstr(s->b->pg));
    }

    PQclear(res);
    return BLD_STREAM_ACK;
}


void
bld_scaler_init(bld_scaler_t *s, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps)
{
    s->b = b;
    s->apps = apps;
    bld_stream_init(&s->wakes, &idle_wake_policy, conn);
}


void
bld_scaler_poll(bld_scaler_t *s)
{
    if (!s->apps->cgroups_ok) {
        return;
    }

    (void) bld_stream_read(&s->wakes, 0, idle_wake_entry, s);
}
