/*
 * detect.c: what would Shipoff build from a repository?
 *
 *   POST /api/v1/detect {repo_url, branch?, root_dir?}   202, a detection
 *   GET  /api/v1/detect/{id}                             the detection
 *
 * The API never clones: a repository is the requester's to choose, and a
 * server that accepts and never answers, or a pack that expands to
 * gigabytes, would hold an API thread or fill its disk.  The request is
 * checked (the repo_url rules and SSRF guard of a project, so_repo.h),
 * recorded in table detections and announced on shipoff:events; a
 * builder clones and detects in its sandbox under detect_timeout and
 * writes the answer back (builder/detect.c).  A caller has at most
 * API_DETECT_PENDING detections pending at once; each sees only its own.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_auth.h"
#include "so_deploy.h"
#include "so_input.h"
#include "so_log.h"
#include "so_repo.h"

#define API_DETECT_PENDING  "4"

/* the row $1 of user $2 as the API answers it */
#define API_DETECT_JSON                                                      \
    "SELECT json_build_object('id', id, 'state', state,"                      \
    " 'repo_url', repo_url, 'branch', branch, 'root_dir', root_dir,"         \
    " 'result', result, 'error', CASE WHEN error_code IS NULL THEN NULL"     \
    " ELSE json_build_object('code', error_code, 'message', error_message,"  \
    " 'field', error_field) END,"                                            \
    " 'created_at', to_char(created_at AT TIME ZONE 'UTC',"                  \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                      \
    " 'finished_at', to_char(finished_at AT TIME ZONE 'UTC',"                \
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'))::text"                                \
    " FROM detections WHERE id = $1 AND user_id = $2"


static void api_detect_answer(so_req_t *r, int status, const char *id);


/* the caller's detection id, answered with status; 404 when not theirs */
static void
api_detect_answer(so_req_t *r, int status, const char *id)
{
    PGresult      *res;
    json_t        *j;
    json_error_t   jerr;

    res = so_pg_query(r->pg, "detect_get", API_DETECT_JSON,
                      SO_PG_PARAMS(id, r->uids));
    if (res == NULL) {
        so_req_pg_error(r, "reading a detection");
        return;
    }

    if (PQntuples(res) != 1) {
        so_req_error(r, 404, "not_found", "no such detection", NULL);
        PQclear(res);
        return;
    }

    j = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
    PQclear(res);

    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, status, j);
}


void
api_detect_get(so_req_t *r)
{
    api_detect_answer(r, 200, r->ids);
}


void
api_detect(so_req_t *r)
{
    static const char *const  fields[] = {
        "repo_url", "branch", "root_dir", NULL
    };
    so_repo_url_t             repo;
    PGresult                 *res;
    json_t                   *body;
    const char               *url, *branch, *root;
    const char               *xadd[4];
    char                      err[SO_ERRLEN], msg[SO_ERRLEN];
    char                      id[24];
    size_t                    len;

    body = NULL;
    res = NULL;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || so_input_string(r, body, "repo_url", 1, 1, SO_REPO_URL_MAX, &url,
                           &len) != SO_OK)
    {
        goto done;
    }

    if (so_repo_check(&repo, r->cfg, url, err, sizeof(err)) != SO_OK) {
        snprintf(msg, sizeof(msg), "repo_url %.200s", err);
        so_req_error(r, 422, "validation_failed", msg, "repo_url");
        goto done;
    }

    branch = "main";
    root = "";

    if (api_input_rule(r, body, "branch", 1, 255, api_rule_branch, &branch)
        != SO_OK
        || api_input_rule(r, body, "root_dir", 0, 255, api_rule_dir, &root)
           != SO_OK)
    {
        goto done;
    }

    res = so_pg_query(r->pg, "detect_insert",
                      "INSERT INTO detections (user_id, repo_url, branch,"
                      " root_dir) SELECT $1, $2, $3, $4"
                      " WHERE (SELECT count(*) FROM detections"
                      " WHERE user_id = $1 AND state = 'pending') < $5::int"
                      " RETURNING id",
                      SO_PG_PARAMS(r->uids, url, branch, root,
                                   API_DETECT_PENDING));
    if (res == NULL) {
        so_req_pg_error(r, "recording a detection");
        goto done;
    }

    if (PQntuples(res) != 1) {
        so_req_header(r, "Retry-After", "5");
        so_req_error(r, 429, "rate_limited", "too many detections are "
                     "pending: wait for one to finish", NULL);
        goto done;
    }

    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));

    xadd[0] = "type";
    xadd[1] = "detect";
    xadd[2] = "detection";
    xadd[3] = id;

    if (so_deploy_xadd(r->redis, SO_DEPLOY_EVENTS, 4, xadd) != SO_OK) {
        PQclear(res);
        res = so_pg_query(r->pg, "detect_unsent",
                          "UPDATE detections SET state = 'failed',"
                          " error_code = 'unavailable', error_message ="
                          " 'the builders could not be reached',"
                          " finished_at = now() WHERE id = $1",
                          SO_PG_PARAMS(id));
        so_req_error(r, 503, "unavailable", "the builders cannot be "
                     "reached: try again", NULL);
        goto done;
    }

    so_log_info(r->path, "detection=%s user=%s: requested", id, r->uids);
    api_detect_answer(r, 202, id);

done:

    PQclear(res);
    json_decref(body);
}
