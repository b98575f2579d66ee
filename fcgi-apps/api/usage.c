/*
 * usage.c: what a project's app uses, from the samples shipoffd's
 * supervisor stores every reap_interval (app_usage, builder/appusage.c).
 *
 *   GET /api/v1/projects/:id/usage?since=   the window since then (RFC
 *                                            3339; default an hour ago)
 *   GET /_internal/metrics                   every app, Prometheus text;
 *                                            nginx's control socket only
 *
 * A window is answered as its totals and at most API_USAGE_POINTS points
 * (samples summed into buckets: memory its most, the counts their sums),
 * for the console's charts.  "current" is the last sample and the state
 * of its app: a sleeping or stopped app uses no memory.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_fetch.h"
#include "so_log.h"
#include "api.h"


#define API_USAGE_POINTS   300
#define API_USAGE_WINDOW   3600         /* s: the default window */
#define API_USAGE_AT(col)                                                   \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* the counts of a window or a point, in this order after its first
   columns */
#define API_USAGE_SUMS                                                      \
    " coalesce(sum(cpu_seconds), 0), coalesce(sum(restarts), 0),"           \
    " coalesce(sum(oom_kills), 0), coalesce(sum(requests), 0),"             \
    " coalesce(sum(wakes), 0)"


static int api_usage_since(const char *s, time_t *out);
static json_t *api_usage_counts(const PGresult *res, int row, int col);
static json_t *api_usage_current(so_req_t *r);
static int api_usage_metric(char **text, size_t *len, size_t *cap,
    const char *name, const char *type, const char *help,
    const PGresult *res, int col);


/* "2026-12-05T10:00:00Z" (fractions of a second allowed): 0 or -1 */
static int
api_usage_since(const char *s, time_t *out)
{
    struct tm    tm;
    const char  *p;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        return -1;
    }

    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            /* a fraction: the second is enough */
        }
    }

    if (strcmp(p, "Z") != 0) {
        return -1;
    }

    *out = timegm(&tm);
    return *out == (time_t) -1 ? -1 : 0;
}


/* {cpu_seconds, restarts, oom_kills, requests, wakes} from column col */
static json_t *
api_usage_counts(const PGresult *res, int row, int col)
{
    return json_pack("{s:f, s:I, s:I, s:I, s:I}",
                     "cpu_seconds", strtod(PQgetvalue(res, row, col), NULL),
                     "restarts", (json_int_t) strtoll(PQgetvalue(res, row,
                                                      col + 1), NULL, 10),
                     "oom_kills", (json_int_t) strtoll(PQgetvalue(res, row,
                                                       col + 2), NULL, 10),
                     "requests", (json_int_t) strtoll(PQgetvalue(res, row,
                                                      col + 3), NULL, 10),
                     "wakes", (json_int_t) strtoll(PQgetvalue(res, row,
                                                   col + 4), NULL, 10));
}


/* the last sample and its app's state, json null when none; NULL: failed
   (answered) */
static json_t *
api_usage_current(so_req_t *r)
{
    PGresult    *res;
    json_t      *cur;

    res = so_req_query(r, "api_usage_current",
                       "SELECT u.deployment_id, " API_USAGE_AT("u.at") ","
                       " coalesce(a.state, 'stopped'),"
                       " CASE WHEN a.state IN ('starting', 'running',"
                       " 'stopping') THEN u.memory_bytes ELSE 0 END,"
                       " u.memory_peak_bytes"
                       " FROM (SELECT * FROM app_usage WHERE project_id = $1"
                       " ORDER BY at DESC, id DESC LIMIT 1) u"
                       " LEFT JOIN app_processes a"
                       " ON a.deployment_id = u.deployment_id",
                       SO_PG_PARAMS(r->ids));
    if (res == NULL) {
        return NULL;
    }

    cur = PQntuples(res) == 0
          ? json_null()
          : json_pack("{s:I, s:s, s:s, s:I, s:I}",
                      "deployment_id", (json_int_t) strtoll(PQgetvalue(res,
                                                  0, 0), NULL, 10),
                      "at", PQgetvalue(res, 0, 1),
                      "state", PQgetvalue(res, 0, 2),
                      "memory_bytes", (json_int_t) strtoll(PQgetvalue(res,
                                                 0, 3), NULL, 10),
                      "memory_peak_bytes", (json_int_t) strtoll(
                                           PQgetvalue(res, 0, 4), NULL, 10));
    PQclear(res);

    if (cur == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
    }

    return cur;
}


/* GET /api/v1/projects/:id/usage */
void
api_usage_get(so_req_t *r)
{
    PGresult    *res;
    json_t      *body, *cur, *points, *pt, *totals;
    char         buf[40], since[40], bucket[24];
    time_t       from, now;
    struct tm    tm;
    long         width;
    int          i, rc;

    cur = NULL;
    body = NULL;
    now = time(NULL);
    from = now - API_USAGE_WINDOW;

    rc = so_fetch_form_get(buf, sizeof(buf), r->query, "since");
    if ((rc == SO_OK && (api_usage_since(buf, &from) != 0 || from > now))
        || (rc != SO_OK && rc != SO_ENOTFOUND))
    {
        so_req_error(r, 422, "validation_failed", "since must be a time "
                     "in the past, as 2026-12-05T10:00:00Z", "since");
        return;
    }

    gmtime_r(&from, &tm);
    strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
    width = (long) (now - from) / API_USAGE_POINTS;
    snprintf(bucket, sizeof(bucket), "%ld", width > 1 ? width : 1);

    cur = api_usage_current(r);
    if (cur == NULL) {
        return;
    }

    res = so_req_query(r, "api_usage_totals",
                       "SELECT coalesce(max(memory_peak_bytes), 0),"
                       API_USAGE_SUMS
                       " FROM app_usage WHERE project_id = $1"
                       " AND at >= $2::timestamptz",
                       SO_PG_PARAMS(r->ids, since));
    if (res == NULL) {
        goto done;
    }

    totals = api_usage_counts(res, 0, 1);
    if (totals != NULL) {
        json_object_set_new(totals, "memory_peak_bytes",
                            json_integer(strtoll(PQgetvalue(res, 0, 0),
                                                 NULL, 10)));
    }
    PQclear(res);

    body = json_pack("{s:o, s:s, s:o*}", "current", cur, "since", since,
                     "totals", totals);
    cur = NULL;
    if (body == NULL || totals == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    res = so_req_query(r, "api_usage_points",
                       "SELECT " API_USAGE_AT("date_bin(make_interval(secs"
                       " => $3::int), at, $2::timestamptz)") " AS t,"
                       " max(memory_bytes), max(memory_peak_bytes),"
                       API_USAGE_SUMS
                       " FROM app_usage WHERE project_id = $1"
                       " AND at >= $2::timestamptz GROUP BY t ORDER BY t",
                       SO_PG_PARAMS(r->ids, since, bucket));
    if (res == NULL) {
        goto done;
    }

    points = json_array();
    for (i = 0; points != NULL && i < PQntuples(res); i++) {
        pt = api_usage_counts(res, i, 3);
        if (pt == NULL
            || json_object_set_new(pt, "at", json_string(PQgetvalue(res, i,
                                                                    0))) != 0
            || json_object_set_new(pt, "memory_bytes",
                   json_integer(strtoll(PQgetvalue(res, i, 1), NULL, 10)))
               != 0
            || json_object_set_new(pt, "memory_peak_bytes",
                   json_integer(strtoll(PQgetvalue(res, i, 2), NULL, 10)))
               != 0)
        {
            json_decref(pt);
            pt = NULL;
        }

        if (pt == NULL || json_array_append_new(points, pt) != 0) {
            json_decref(points);
            points = NULL;
        }
    }
    PQclear(res);

    if (points == NULL || json_object_set_new(body, "points", points) != 0) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_req_json(r, 200, body);
    body = NULL;

done:

    json_decref(cur);
    json_decref(body);
}


/* appends one metric, a sample per project: 0, or SO_ERR (no memory) */
static int
api_usage_metric(char **text, size_t *len, size_t *cap, const char *name,
    const char *type, const char *help, const PGresult *res, int col)
{
    char    *p;
    int      i, n;
    size_t   need;

    for (i = -1; i < PQntuples(res); i++) {
        need = 256 + strlen(name) * 2 + strlen(help)
               + (i >= 0 ? strlen(PQgetvalue(res, i, 0))
                           + strlen(PQgetvalue(res, i, col)) : 0);
        if (*len + need > *cap) {
            p = realloc(*text, *cap * 2 + need);
            if (p == NULL) {
                return SO_ERR;
            }
            *text = p;
            *cap = *cap * 2 + need;
        }

        n = i < 0
            ? snprintf(*text + *len, *cap - *len, "# HELP %s %s\n"
                       "# TYPE %s %s\n", name, help, name, type)
            : snprintf(*text + *len, *cap - *len, "%s{project=\"%s\","
                       "deployment=\"%s\"} %s\n", name,
                       PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                       PQgetvalue(res, i, col));
        *len += (size_t) n;
    }

    return SO_OK;
}


/*
 * GET /_internal/metrics: every project's app that has samples, in
 * Prometheus text.  Counters are the sums of the samples kept (retention
 * makes them drop, which Prometheus takes as a reset).  nginx passes it
 * only from its control socket (/_shipoff/metrics/apps).
 */
void
api_usage_metrics(so_req_t *r)
{
    static const struct {
        const char  *name;
        const char  *type;
        const char  *help;
    } metrics[] = {
        { "shipoff_app_memory_bytes", "gauge",
          "Memory the app uses now (0 asleep)." },
        { "shipoff_app_memory_peak_bytes", "gauge",
          "The most memory the app's process used." },
        { "shipoff_app_cpu_seconds_total", "counter",
          "CPU time the app used." },
        { "shipoff_app_restarts_total", "counter",
          "Restarts after a crash." },
        { "shipoff_app_oom_kills_total", "counter",
          "Processes of the app killed out of memory." },
        { "shipoff_app_requests_total", "counter",
          "Requests the edges served the app." },
        { "shipoff_app_wakes_total", "counter",
          "Cold starts: the app woken by a request." },
    };
    PGresult  *res;
    char      *text;
    size_t     len, cap, i;

    res = so_req_query(r, "api_usage_metrics",
                       "SELECT p.name, (array_agg(u.deployment_id"
                       " ORDER BY u.at DESC, u.id DESC))[1],"
                       " CASE WHEN bool_or(a.state IN ('starting', 'running',"
                       " 'stopping')) THEN (array_agg(u.memory_bytes"
                       " ORDER BY u.at DESC, u.id DESC))[1] ELSE 0 END,"
                       " (array_agg(u.memory_peak_bytes"
                       " ORDER BY u.at DESC, u.id DESC))[1],"
                       " sum(u.cpu_seconds), sum(u.restarts),"
                       " sum(u.oom_kills), sum(u.requests), sum(u.wakes)"
                       " FROM app_usage u JOIN projects p"
                       " ON p.id = u.project_id"
                       " LEFT JOIN app_processes a"
                       " ON a.deployment_id = u.deployment_id"
                       " GROUP BY p.id, p.name ORDER BY p.name",
                       0, NULL);
    if (res == NULL) {
        return;
    }

    cap = 4096;
    len = 0;
    text = malloc(cap);

    for (i = 0; text != NULL && i < so_nelems(metrics); i++) {
        if (api_usage_metric(&text, &len, &cap, metrics[i].name,
                             metrics[i].type, metrics[i].help, res,
                             (int) i + 2) != SO_OK)
        {
            free(text);
            text = NULL;
        }
    }

    PQclear(res);

    if (text == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    text[len] = '\0';
    so_req_text(r, 200, "text/plain; version=0.0.4", text);
    free(text);
}
