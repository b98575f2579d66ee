/*
 * logs.c: the log lines of deployments: history, search and a live tail.
 *
 *   GET /api/v1/deployments/:id/logs?since=&limit=&q=   lines, oldest first
 *   GET /api/v1/projects/:id/logs?since=&limit=&q=      across deployments
 *   GET /api/v1/deployments/:id/logs/stream             Server-Sent Events
 *   GET /api/v1/projects/:id/logs/stream                the running app's
 *
 * Every line says its source: "build" (what the build printed), "app"
 * (what the app printed, stdout or stderr) or "platform" (what shipoffd
 * said: starts, restarts, sleeps, wakes, how a build ended).
 *
 * The record is log_lines (shipoffd batches every line there); its id is
 * the one cursor of every reader: "since" is the last id seen, and a live
 * tail's event id is the same id, so Last-Event-ID resumes exactly where
 * the client stopped.  A deployment's lines have one writer, which inserts
 * them in order, one batch after another: ids grow in the order the lines
 * were printed and a line with a smaller id is never committed later.
 *
 * The tail therefore sends lines only from PostgreSQL.  The Redis stream
 * logs:<deployment> (every line at once, then an "end" entry with the
 * final state) is its doorbell: the tail blocks on it (XREAD BLOCK) and
 * reads PostgreSQL when something arrived.  shipoffd writes a line to
 * Redis first and to PostgreSQL up to a batch later, so after news the
 * tail reads again every API_TAIL_FAST_MS until PostgreSQL holds the line
 * Redis announced last (or API_TAIL_CATCHUP_MS passed).  The "end" entry
 * comes after shipoffd flushed its last batch: once it is seen, one more
 * read gets every line, then the "end" event closes the stream.
 *
 * A project's stream is the same tail over the lines of the project's
 * PRODUCTION deployment, whichever it is: it looks the deployment up
 * every API_TAIL_STATE_S and follows the new one after a promotion (from
 * the same cursor: line ids grow across deployments).  It ignores the
 * deployments' "end" entries and ends only when the project is deleted.
 * Opened without a cursor, it starts with the last API_TAIL_RECENT lines.
 *
 * A tail runs in a thread of its own (so_fcgi_stream), so tails never
 * hold the request threads; past log_streams_max per process the answer
 * is 503 busy at once.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "shipoff.h"
#include "so_auth.h"
#include "so_fetch.h"
#include "so_log.h"
#include "so_state.h"


#define API_LOGS_DEFAULT      100
#define API_LOGS_MAX          1000
#define API_LOGS_Q_MAX        256       /* bytes of a search */
#define API_TAIL_BATCH        "500"     /* lines per read of a catch-up */
#define API_TAIL_BATCH_N      500
#define API_TAIL_BLOCK_MS     1000      /* longest XREAD BLOCK */
#define API_TAIL_FAST_MS      100       /* reads while PostgreSQL lags */
#define API_TAIL_CATCHUP_MS   5000      /* ... at most this long */
#define API_TAIL_HEARTBEAT_S  15
#define API_TAIL_STATE_S      5         /* looks at the state this often */
#define API_TAIL_SETTLED      "10 seconds"  /* final without an "end" */
#define API_TAIL_RETRY_AFTER  "5"
#define API_TAIL_RECENT       "100"     /* a project stream's first lines */

/* a line, l; api_log_json() reads them in this order */
#define API_LOG_COLS                                                         \
    "l.id, to_char(l.at AT TIME ZONE 'UTC',"                                \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), l.stream, l.line,"              \
    " l.deployment_id, CASE l.stream WHEN 'build' THEN 'build'"           \
    " WHEN 'system' THEN 'platform' ELSE 'app' END"

#define API_LOG_DEP    " FROM log_lines l WHERE l.deployment_id = $1"        \
                       " AND l.id > $2"
#define API_LOG_PROJ   " FROM log_lines l WHERE l.project_id = $1"           \
                       " AND l.id > $2"
#define API_LOG_MATCH  " AND l.tsv @@ websearch_to_tsquery('simple', $4)"
#define API_LOG_PAGE   " ORDER BY l.id LIMIT $3"


/* what a history request asked */
typedef struct {
    long long   since;
    int         limit;
    char        sinces[24];
    char        limit1[12];
    char        q[API_LOGS_Q_MAX + 1];   /* "": no search */
} api_logs_query_t;

/* the history of a kind of object (its route says which): its statement,
   with and without a search */
typedef struct {
    const char  *name;
    const char  *sql;
    const char  *name_q;
    const char  *sql_q;
    int          deployment;            /* lines say their deployment */
} api_logs_sql_t;

/* a live tail: handed to its thread, which frees it */
typedef struct {
    long long   id;                      /* the deployment followed */
    long long   project;                 /* a project's stream; 0: none */
    long long   since;                   /* the last line id sent */
    int         recent;                  /* no cursor: the last lines */
    char        ids[24];
    char        key[48];                 /* "logs:<id>" */
    char        last[48];                /* the Redis entry read last */
    char        want_at[40];             /* the last line Redis announced */
    char       *want_line;
    char        end[32];                 /* its final state, once seen */
    time_t      written;                 /* the last write, for heartbeats */
    time_t      read;                    /* the last catch-up */
    time_t      checked;                 /* the last look at the state */
    int         streamed;                /* logs:<id> exists */
    long long   news_ms;                 /* when Redis announced a line */
    int         news;                    /* Redis had news (or is down) */
} api_tail_t;


static const api_logs_sql_t  api_logs_dep = {
    "api_logs_dep",
    "SELECT " API_LOG_COLS API_LOG_DEP API_LOG_PAGE,
    "api_logs_dep_q",
    "SELECT " API_LOG_COLS API_LOG_DEP API_LOG_MATCH API_LOG_PAGE,
    0
};

static const api_logs_sql_t  api_logs_proj = {
    "api_logs_proj",
    "SELECT " API_LOG_COLS API_LOG_PROJ API_LOG_PAGE,
    "api_logs_proj_q",
    "SELECT " API_LOG_COLS API_LOG_PROJ API_LOG_MATCH API_LOG_PAGE,
    1
};


static int api_logs_id(const char *s, long long *out);
static int api_logs_read_query(so_req_t *r, api_logs_query_t *lq);
static json_t *api_log_json(const PGresult *res, int row, int deployment);
static void api_logs_history(so_req_t *r, const api_logs_sql_t *st);
static void api_tail(so_req_t *r, void *data);
static int api_tail_write(so_req_t *r, api_tail_t *t, const char *s,
    size_t len);
static int api_tail_catchup(so_req_t *r, api_tail_t *t);
static void api_tail_start(so_req_t *r, api_tail_t *t);
static int api_tail_state(so_req_t *r, api_tail_t *t);
static int api_tail_production(so_req_t *r, api_tail_t *t);
static void api_tail_key(api_tail_t *t);
static int api_tail_wait(so_req_t *r, api_tail_t *t, int ms);
static void api_tail_entry(api_tail_t *t, const redisReply *entry);
static int api_tail_final(const char *state);
static long long api_tail_now_ms(void);


/* a line id: 0 to LLONG_MAX, digits only; 0 or SO_EINVAL */
static int
api_logs_id(const char *s, long long *out)
{
    long long  v;

    if (*s == '\0' || strlen(s) > 19) {
        return SO_EINVAL;
    }

    for (v = 0; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (LLONG_MAX - (*s - '0')) / 10) {
            return SO_EINVAL;
        }
        v = v * 10 + (*s - '0');
    }

    *out = v;
    return SO_OK;
}


/* ?since=&limit=&q=: 0, or 422 naming the parameter answered */
static int
api_logs_read_query(so_req_t *r, api_logs_query_t *lq)
{
    const char  *field, *msg;
    char         buf[24];
    long long    v;
    int          rc;

    lq->since = 0;
    lq->limit = API_LOGS_DEFAULT;

    field = "since";
    msg = "since must be a line id: an integer from 0";
    rc = so_fetch_form_get(buf, sizeof(buf), r->query, "since");
    if (rc == SO_OK && api_logs_id(buf, &lq->since) != SO_OK) {
        goto invalid;
    }
    if (rc != SO_OK && rc != SO_ENOTFOUND) {
        goto invalid;
    }

    field = "limit";
    msg = "limit must be an integer from 1 to 1000";
    rc = so_fetch_form_get(buf, sizeof(buf), r->query, "limit");
    if (rc == SO_OK) {
        if (api_logs_id(buf, &v) != SO_OK || v < 1 || v > API_LOGS_MAX) {
            goto invalid;
        }
        lq->limit = (int) v;

    } else if (rc != SO_ENOTFOUND) {
        goto invalid;
    }

    field = "q";
    msg = "q must be a search of at most 256 bytes";
    rc = so_fetch_form_get(lq->q, sizeof(lq->q), r->query, "q");
    if (rc == SO_ENOTFOUND) {
        lq->q[0] = '\0';

    } else if (rc != SO_OK) {
        goto invalid;
    }

    snprintf(lq->sinces, sizeof(lq->sinces), "%lld", lq->since);
    snprintf(lq->limit1, sizeof(lq->limit1), "%d", lq->limit + 1);
    return SO_OK;

invalid:

    so_req_error(r, 422, "validation_failed", msg, field);
    return SO_EINVAL;
}


/*
 * A line: {id, at, stream, source, line} (and its deployment in a
 * project's list); a line that is a JSON object keeps its fields as
 * "fields".
 */
static json_t *
api_log_json(const PGresult *res, int row, int deployment)
{
    json_t      *l, *fields;
    const char  *line;

    line = PQgetvalue(res, row, 3);

    l = json_pack("{s:I, s:s, s:s, s:s, s:s}",
                  "id", (json_int_t) strtoll(PQgetvalue(res, row, 0), NULL,
                                             10),
                  "at", PQgetvalue(res, row, 1),
                  "stream", PQgetvalue(res, row, 2),
                  "source", PQgetvalue(res, row, 5),
                  "line", line);
    if (l == NULL) {
        return NULL;
    }

    if (deployment
        && json_object_set_new(l, "deployment_id",
               json_integer(strtoll(PQgetvalue(res, row, 4), NULL, 10)))
           != 0)
    {
        json_decref(l);
        return NULL;
    }

    if (line[0] == '{') {
        fields = json_loads(line, 0, NULL);
        if (json_is_object(fields)) {
            if (json_object_set_new(l, "fields", fields) != 0) {
                json_decref(l);
                return NULL;
            }
            fields = NULL;
        }
        json_decref(fields);
    }

    return l;
}


/* answers the page of lines after ?since= of the route's object */
static void
api_logs_history(so_req_t *r, const api_logs_sql_t *st)
{
    api_logs_query_t   lq;
    PGresult          *res;
    json_t            *items, *item, *body;
    int                i, n;

    if (api_logs_read_query(r, &lq) != SO_OK) {
        return;
    }

    res = lq.q[0] != '\0'
          ? so_pg_query(r->pg, st->name_q, st->sql_q,
                        SO_PG_PARAMS(r->ids, lq.sinces, lq.limit1, lq.q))
          : so_pg_query(r->pg, st->name, st->sql,
                        SO_PG_PARAMS(r->ids, lq.sinces, lq.limit1));
    if (res == NULL) {
        so_req_pg_error(r, st->name);
        return;
    }

    n = PQntuples(res) > lq.limit ? lq.limit : PQntuples(res);
    items = json_array();

    for (i = 0; items != NULL && i < n; i++) {
        item = api_log_json(res, i, st->deployment);
        if (item == NULL || json_array_append_new(items, item) != 0) {
            json_decref(items);
            items = NULL;
        }
    }

    body = NULL;
    if (items != NULL) {
        body = PQntuples(res) > lq.limit
               ? json_pack("{s:o, s:I}", "data", items, "next",
                           (json_int_t) strtoll(PQgetvalue(res, n - 1, 0),
                                                NULL, 10))
               : json_pack("{s:o, s:n}", "data", items, "next");
    }

    PQclear(res);

    if (body == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, 200, body);
}


/* GET /api/v1/deployments/:id/logs */
void
api_logs_deployment(so_req_t *r)
{
    api_logs_history(r, &api_logs_dep);
}


/* GET /api/v1/projects/:id/logs */
void
api_logs_project(so_req_t *r)
{
    api_logs_history(r, &api_logs_proj);
}


/*
 * A stream: checked here, then tailed by a stream thread.  Last-Event-ID
 * (or ?since=, for clients that cannot set headers) is the last line id
 * the client has.
 */
static void
api_logs_tail(so_req_t *r, int project)
{
    api_tail_t  *t;
    const char  *last;
    char         buf[24];
    long long    since;
    int          rc, recent;

    since = 0;
    recent = 0;
    last = so_req_param(r, "HTTP_LAST_EVENT_ID");
    rc = so_fetch_form_get(buf, sizeof(buf), r->query, "since");

    if (last != NULL && *last != '\0') {
        if (api_logs_id(last, &since) != SO_OK) {
            so_req_error(r, 400, "bad_request", "Last-Event-ID must be an "
                         "event id of this stream", NULL);
            return;
        }

    } else if (rc == SO_OK) {
        if (api_logs_id(buf, &since) != SO_OK) {
            so_req_error(r, 422, "validation_failed", "since must be a "
                         "line id: an integer from 0", "since");
            return;
        }

    } else if (rc != SO_ENOTFOUND) {
        so_req_error(r, 422, "validation_failed", "since must be a line "
                     "id: an integer from 0", "since");
        return;

    } else {
        recent = project;
    }

    t = calloc(1, sizeof(api_tail_t));
    if (t == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    t->id = project ? 0 : r->id;
    t->project = project ? r->id : 0;
    t->since = since;
    t->recent = recent;

    rc = so_fcgi_stream(r, api_tail, t);
    if (rc == SO_OK) {
        return;
    }

    free(t);

    if (rc == SO_ETOOBIG) {
        so_req_header(r, "Retry-After", API_TAIL_RETRY_AFTER);
        so_req_error(r, 503, "busy", "this server holds as many live log "
                     "streams as it may: try again shortly", NULL);
        return;
    }

    if (rc == SO_EUNAVAIL) {
        so_req_header(r, "Retry-After", API_TAIL_RETRY_AFTER);
        so_req_error(r, 503, "unavailable", "the database takes no more "
                     "connections for live log streams: try again shortly",
                     NULL);
        return;
    }

    so_req_error(r, 500, "internal", "internal error", NULL);
}


/* GET /api/v1/deployments/:id/logs/stream: until the build ends */
void
api_logs_stream(so_req_t *r)
{
    api_logs_tail(r, 0);
}


/* GET /api/v1/projects/:id/logs/stream: its PRODUCTION deployment's */
void
api_logs_project_stream(so_req_t *r)
{
    api_logs_tail(r, 1);
}


static long long
api_tail_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* the build is over in this state (an "end" of a retried attempt is not) */
static int
api_tail_final(const char *state)
{
    so_dstate_t  s;

    return so_dstate_parse(&s, state) == SO_OK && s != SO_DS_QUEUED
           && s != SO_DS_BUILDING && s != SO_DS_PROVISIONING;
}


/* writes and flushes s: 0, or SO_ERR when the client is gone */
static int
api_tail_write(so_req_t *r, api_tail_t *t, const char *s, size_t len)
{
    if (FCGX_PutStr(s, (int) len, r->fcgi->out) != (int) len
        || FCGX_FFlush(r->fcgi->out) != 0)
    {
        return SO_ERR;
    }

    t->written = time(NULL);
    return SO_OK;
}


/*
 * Sends every line after t->since that PostgreSQL holds: 0, SO_EUNAVAIL
 * (the database failed: try again later) or SO_ERR (the client is gone).
 */
static int
api_tail_catchup(so_req_t *r, api_tail_t *t)
{
    PGresult    *res;
    json_t      *l;
    char        *data, *ev;
    char         since[24];
    int          i, n, rc;
    size_t       len;

    do {
        snprintf(since, sizeof(since), "%lld", t->since);

        res = so_pg_query(r->pg, api_logs_dep.name, api_logs_dep.sql,
                          SO_PG_PARAMS(t->ids, since, API_TAIL_BATCH));
        if (res == NULL) {
            so_log_warn(r->path, "deployment=%s: reading log lines failed: "
                        "%s", t->ids, so_pg_errstr(r->pg));
            return SO_EUNAVAIL;
        }

        n = PQntuples(res);
        rc = SO_OK;

        for (i = 0; i < n && rc == SO_OK; i++) {
            l = api_log_json(res, i, 0);
            data = l != NULL ? json_dumps(l, JSON_COMPACT) : NULL;
            json_decref(l);
            if (data == NULL) {
                rc = SO_ERR;
                break;
            }

            /* data is one line: JSON escapes every newline */
            len = strlen(data) + 48;
            ev = malloc(len);
            if (ev == NULL) {
                free(data);
                rc = SO_ERR;
                break;
            }

            len = (size_t) snprintf(ev, len, "id: %s\ndata: %s\n\n",
                                    PQgetvalue(res, i, 0), data);
            free(data);

            if (FCGX_PutStr(ev, (int) len, r->fcgi->out) != (int) len) {
                rc = SO_ERR;
            }
            free(ev);

            t->since = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        }

        /* caught up with what Redis announced last? */
        if (n > 0 && t->want_line != NULL
            && strcmp(PQgetvalue(res, n - 1, 1), t->want_at) == 0
            && strcmp(PQgetvalue(res, n - 1, 3), t->want_line) == 0)
        {
            free(t->want_line);
            t->want_line = NULL;
        }

        PQclear(res);

        if (rc != SO_OK || (n > 0 && api_tail_write(r, t, "", 0) != SO_OK)) {
            return SO_ERR;
        }

    } while (n == API_TAIL_BATCH_N);

    return SO_OK;
}


/* notes one entry [id, [field, value...]] of logs:<id> */
static void
api_tail_entry(api_tail_t *t, const redisReply *entry)
{
    const redisReply  *f;
    const char        *event, *state, *at, *line;
    size_t             i;

    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING
        || entry->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return;
    }

    snprintf(t->last, sizeof(t->last), "%s", entry->element[0]->str);
    t->streamed = 1;

    f = entry->element[1];
    event = state = at = line = NULL;

    for (i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING
            || f->element[i + 1]->type != REDIS_REPLY_STRING)
        {
            continue;
        }

        if (strcmp(f->element[i]->str, "event") == 0) {
            event = f->element[i + 1]->str;
        } else if (strcmp(f->element[i]->str, "state") == 0) {
            state = f->element[i + 1]->str;
        } else if (strcmp(f->element[i]->str, "at") == 0) {
            at = f->element[i + 1]->str;
        } else if (strcmp(f->element[i]->str, "line") == 0) {
            line = f->element[i + 1]->str;
        }
    }

    if (event != NULL && strcmp(event, "end") == 0) {
        if (t->project == 0 && state != NULL && api_tail_final(state)) {
            snprintf(t->end, sizeof(t->end), "%s", state);
        }
        return;
    }

    if (at != NULL && line != NULL) {
        free(t->want_line);
        t->want_line = strdup(line);
        snprintf(t->want_at, sizeof(t->want_at), "%s", at);
        t->news_ms = api_tail_now_ms();
    }
}


/*
 * Where the tail starts in logs:<id>: its last entry, before PostgreSQL is
 * read, so that nothing added meanwhile goes unnoticed.  A stream that
 * ended says so in t->end.  Redis down, the tail starts from nothing.
 */
static void
api_tail_start(so_req_t *r, api_tail_t *t)
{
    redisReply  *reply;
    const char  *argv[] = { "XREVRANGE", t->key, "+", "-", "COUNT", "1" };

    snprintf(t->last, sizeof(t->last), "0-0");

    reply = so_redis_command(r->redis, (int) so_nelems(argv), argv, NULL);
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY
        && reply->elements == 1)
    {
        api_tail_entry(t, reply->element[0]);
        free(t->want_line);
        t->want_line = NULL;
    }

    if (reply != NULL) {
        freeReplyObject(reply);
    }
}


/*
 * Is the build over though no "end" was seen?  Some never get one: no
 * build ran (canceled while QUEUED), or its builder died and the
 * reconciler gave the deployment up.  A final state ends the tail when
 * there is no stream, or when it has been final for API_TAIL_SETTLED (a
 * builder writes its last lines and "end" just after the state).  0, or
 * SO_EUNAVAIL.
 */
static int
api_tail_state(so_req_t *r, api_tail_t *t)
{
    PGresult    *res;

    t->checked = time(NULL);

    if (t->project != 0) {
        return api_tail_production(r, t);
    }

    res = so_pg_query(r->pg, "api_tail_state",
                      "SELECT state, updated_at < now() - interval '"
                      API_TAIL_SETTLED "' FROM deployments WHERE id = $1",
                      SO_PG_PARAMS(t->ids));
    if (res == NULL) {
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) == 1 && api_tail_final(PQgetvalue(res, 0, 0))
        && (!t->streamed || strcmp(PQgetvalue(res, 0, 1), "t") == 0))
    {
        snprintf(t->end, sizeof(t->end), "%s", PQgetvalue(res, 0, 0));
    }

    PQclear(res);
    return SO_OK;
}


/* the deployment followed: its id as text and its Redis stream */
static void
api_tail_key(api_tail_t *t)
{
    snprintf(t->ids, sizeof(t->ids), "%lld", t->id);
    snprintf(t->key, sizeof(t->key), "logs:%lld", t->id);
}


/*
 * A project's stream follows its PRODUCTION deployment (none: t->id is 0
 * and nothing is read) and ends when the project is gone.  0, or
 * SO_EUNAVAIL.
 */
static int
api_tail_production(so_req_t *r, api_tail_t *t)
{
    PGresult    *res;
    char         proj[24];
    long long    dep;

    snprintf(proj, sizeof(proj), "%lld", t->project);

    res = so_pg_query(r->pg, "api_tail_production",
                      "SELECT (SELECT d.id FROM deployments d"
                      " WHERE d.project_id = p.id AND d.state = 'PRODUCTION')"
                      " FROM projects p WHERE p.id = $1",
                      SO_PG_PARAMS(proj));
    if (res == NULL) {
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(t->end, sizeof(t->end), "deleted");
        return SO_OK;
    }

    dep = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL,
                                               10);
    PQclear(res);

    if (dep == t->id) {
        return SO_OK;
    }

    t->id = dep;
    api_tail_key(t);
    t->streamed = 0;
    free(t->want_line);
    t->want_line = NULL;
    t->news = 1;
    api_tail_start(r, t);

    if (dep == 0 || !t->recent) {
        return SO_OK;
    }

    /* no cursor: from the last API_TAIL_RECENT lines on */
    res = so_pg_query(r->pg, "api_tail_recent",
                      "SELECT coalesce(min(id) - 1, 0) FROM (SELECT id"
                      " FROM log_lines WHERE deployment_id = $1"
                      " ORDER BY id DESC LIMIT $2) l",
                      SO_PG_PARAMS(t->ids, API_TAIL_RECENT));
    if (res == NULL) {
        return SO_EUNAVAIL;
    }

    t->since = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    t->recent = 0;
    PQclear(res);
    return SO_OK;
}


/*
 * Waits up to ms for entries after t->last in logs:<id> and notes them;
 * Redis down, it just waits.  0, or SO_ERR when the client went away.
 */
static int
api_tail_wait(so_req_t *r, api_tail_t *t, int ms)
{
    redisReply  *reply;
    const redisReply  *entries;
    char         block[16];
    const char  *argv[] = { "XREAD", "COUNT", "100", "BLOCK", block,
                            "STREAMS", t->key, t->last };
    size_t       i;

    /* the connection's timeout must outlast the block */
    if (ms > r->cfg->redis_timeout / 2) {
        ms = r->cfg->redis_timeout / 2 > 0 ? r->cfg->redis_timeout / 2 : 1;
    }
    snprintf(block, sizeof(block), "%d", ms);

    reply = so_redis_command(r->redis, (int) so_nelems(argv), argv, NULL);

    /* Redis down: PostgreSQL alone, read after each wait */
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply != NULL) {
            freeReplyObject(reply);
        }
        t->news = 1;
        return so_fcgi_gone(r, ms) ? SO_ERR : SO_OK;
    }

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1
        && reply->element[0]->type == REDIS_REPLY_ARRAY
        && reply->element[0]->elements == 2)
    {
        entries = reply->element[0]->element[1];
        for (i = 0; entries->type == REDIS_REPLY_ARRAY
                    && i < entries->elements; i++)
        {
            api_tail_entry(t, entries->element[i]);
            t->news = 1;
        }
    }

    freeReplyObject(reply);

    return so_fcgi_gone(r, 0) ? SO_ERR : SO_OK;
}


/* the stream thread of one tail: history, then live lines, then "end" */
static void
api_tail(so_req_t *r, void *data)
{
    static const char  head[] = "Status: 200 OK\r\n"
                                "Content-Type: text/event-stream\r\n"
                                "Cache-Control: no-cache\r\n"
                                "X-Accel-Buffering: no\r\n\r\n"
                                "retry: 1000\n\n";
    api_tail_t         *t = data;
    char                buf[96];
    int                 n, ms, pg_ok;

    api_tail_key(t);

    if (api_tail_write(r, t, head, sizeof(head) - 1) != SO_OK) {
        goto done;
    }

    api_tail_start(r, t);
    pg_ok = t->end[0] != '\0' || api_tail_state(r, t) == SO_OK;
    t->news = 1;

    for ( ;; ) {
        /* PostgreSQL is read when Redis had news, while a line it
           announced is missing, and once a heartbeat interval anyway
           (what Redis may have lost) */
        if (t->news || t->want_line != NULL || t->end[0] != '\0' || !pg_ok
            || time(NULL) - t->read >= API_TAIL_HEARTBEAT_S)
        {
            t->news = 0;
            t->read = time(NULL);

            switch (api_tail_catchup(r, t)) {
            case SO_OK:
                pg_ok = 1;
                break;
            case SO_EUNAVAIL:
                pg_ok = 0;
                break;
            default:
                goto done;
            }
        }

        if (t->end[0] != '\0' && pg_ok) {
            n = snprintf(buf, sizeof(buf), "event: end\ndata: "
                         "{\"state\":\"%s\"}\n\n", t->end);
            (void) api_tail_write(r, t, buf, (size_t) n);
            goto done;
        }

        if (time(NULL) - t->written >= API_TAIL_HEARTBEAT_S) {
            if (api_tail_write(r, t, ": heartbeat\n\n", 13) != SO_OK) {
                goto done;
            }
        }

        if (time(NULL) - t->checked >= API_TAIL_STATE_S
            && api_tail_state(r, t) == SO_OK && t->end[0] != '\0')
        {
            continue;
        }

        /* PostgreSQL has not got the line Redis announced yet: look again
           soon, for a while; else block until news or the heartbeat */
        ms = API_TAIL_BLOCK_MS;
        if (t->want_line != NULL) {
            if (api_tail_now_ms() - t->news_ms < API_TAIL_CATCHUP_MS) {
                ms = API_TAIL_FAST_MS;

            } else {
                /* it never came (shipoffd could not store it) */
                free(t->want_line);
                t->want_line = NULL;
            }
        }

        if (api_tail_wait(r, t, ms) != SO_OK) {
            goto done;
        }
    }

done:

    free(t->want_line);
    t->want_line = NULL;
}
