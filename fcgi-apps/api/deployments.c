/*
 * deployments.c: /api/v1/projects/:id/deployments and
 * /api/v1/deployments/:id: deploy, list, read, delete, redeploy, cancel
 * and promote deployments.
 *
 * The writers are lib/so_deploy.c's, shared with the webhook receiver and
 * the builder: enqueueing through the outbox, transitions asked of the
 * state machine (so_dstate_can) and made by a conditional UPDATE, and
 * promotion in one transaction that locks the project row.  A handler
 * reads the state, decides what the user asked is allowed from it (409
 * invalid_state naming the rule if not), and acts on condition that the
 * state is still the one it read; when someone else changed it first (the
 * builder claimed the job) it reads again, a few times, before giving up
 * with 409.
 *
 * Rights are so_authz()'s: a deployment has its project's.  The statements
 * then act on the ids it checked; the state condition of every change is
 * what guards against what happens in between.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_deploy.h"
#include "so_input.h"
#include "so_log.h"
#include "so_page.h"
#include "so_state.h"


#define API_DEPLOY_ATTEMPTS  3      /* reads of a state that moved on */
#define API_BRANCH_MAX       255    /* characters, as projects.branch */

/* a deployment, d; api_deploy_json() reads them in this order */
#define API_DEPLOY_COLS                                                      \
    "d.id, d.project_id, d.state, d.reason, d.branch, d.commit_sha,"        \
    " d.commit_message, d.trigger, d.created_by, d.kind, d.framework,"      \
    " d.artifact_path IS NOT NULL, d.exit_code, "                           \
    SO_SQL_TIME("d.created_at") ", " SO_SQL_TIME("d.updated_at") ", "       \
    SO_SQL_TIME("d.started_at") ", " SO_SQL_TIME("d.finished_at")

/* the states an action allows, as so_state.h decides, and in words */
typedef struct {
    int        (*allows)(so_dstate_t s);
    const char  *rule;              /* completed by the action's verb */
} api_deploy_rule_t;


static int api_deploy_cancelable(so_dstate_t s);


static const api_deploy_rule_t  api_rule_finished = {
    so_dstate_is_finished,
    "only FAILED, INACTIVE or CANCELED deployments can be"
};

static const api_deploy_rule_t  api_rule_cancel = {
    api_deploy_cancelable,
    "only QUEUED or BUILDING deployments can be"
};


static void api_deploy_enqueue(so_req_t *r, so_deploy_spec_t *spec);
static json_t *api_deploy_opt(const PGresult *res, int row, int col);
static json_t *api_deploy_json(so_req_t *r, const PGresult *res, int row);
static json_t *api_deploy_event_json(so_req_t *r, const PGresult *res,
    int row);
static json_t *api_deploy_events(so_req_t *r, const char *id);
static void api_deploy_answer(so_req_t *r, int status, long long id,
    int events);
static int api_deploy_read(so_req_t *r, long long id, PGresult **out,
    so_dstate_t *state);
static int api_deploy_allowed(so_req_t *r, const api_deploy_rule_t *rule,
    const char *verb, so_dstate_t state);
static int api_deploy_input(so_req_t *r, json_t **body, const char **branch,
    char commit[41]);


static int
api_deploy_cancelable(so_dstate_t s)
{
    return so_dstate_can(s, SO_DS_CANCELED);
}


/* a column that may be NULL: its text or JSON null */
static json_t *
api_deploy_opt(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null()
                                      : json_string(PQgetvalue(res, row, col));
}


/* a deployment: also the so_page_row_pt of the list */
static json_t *
api_deploy_json(so_req_t *r, const PGresult *res, int row)
{
    json_t  *d;

    d = json_pack("{s:I, s:I, s:s, s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:o,"
                  " s:b, s:o, s:s, s:s, s:o, s:o}",
                  "id", (json_int_t) strtoll(PQgetvalue(res, row, 0), NULL,
                                             10),
                  "project_id", (json_int_t) strtoll(PQgetvalue(res, row, 1),
                                                     NULL, 10),
                  "state", PQgetvalue(res, row, 2),
                  "reason", api_deploy_opt(res, row, 3),
                  "branch", PQgetvalue(res, row, 4),
                  "commit", api_deploy_opt(res, row, 5),
                  "commit_message", api_deploy_opt(res, row, 6),
                  "trigger", PQgetvalue(res, row, 7),
                  "created_by",
                  PQgetisnull(res, row, 8) ? json_null()
                  : json_integer(strtoll(PQgetvalue(res, row, 8), NULL, 10)),
                  "kind", api_deploy_opt(res, row, 9),
                  "framework", api_deploy_opt(res, row, 10),
                  "artifact_kept", strcmp(PQgetvalue(res, row, 11), "t") == 0,
                  "exit_code",
                  PQgetisnull(res, row, 12) ? json_null()
                  : json_integer(strtoll(PQgetvalue(res, row, 12), NULL, 10)),
                  "created_at", PQgetvalue(res, row, 13),
                  "updated_at", PQgetvalue(res, row, 14),
                  "started_at", api_deploy_opt(res, row, 15),
                  "finished_at", api_deploy_opt(res, row, 16));

    return d;
}


static json_t *
api_deploy_event_json(so_req_t *r, const PGresult *res, int row)
{
    return json_pack("{s:o, s:s, s:o, s:s}",
                     "from", api_deploy_opt(res, row, 0),
                     "to", PQgetvalue(res, row, 1),
                     "reason", api_deploy_opt(res, row, 2),
                     "at", PQgetvalue(res, row, 3));
}


/* the recorded transitions of deployment id, oldest first; NULL: failed */
static json_t *
api_deploy_events(so_req_t *r, const char *id)
{
    PGresult    *res;
    json_t      *list;

    res = so_pg_query(r->pg, "api_deploy_events",
                      "SELECT from_state, to_state, reason, "
                      SO_SQL_TIME("at")
                      " FROM deployment_events WHERE deployment_id = $1"
                      " ORDER BY id",
                      SO_PG_PARAMS(id));
    if (res == NULL) {
        return NULL;
    }

    list = so_page_rows(r, res, PQntuples(res), api_deploy_event_json);

    PQclear(res);
    return list;
}


/* answers with deployment id (and its events when asked) */
static void
api_deploy_answer(so_req_t *r, int status, long long id, int events)
{
    so_dstate_t   state;
    PGresult     *res;
    json_t       *d, *list;
    char          ids[24];

    d = NULL;

    if (api_deploy_read(r, id, &res, &state) != SO_OK) {
        goto done;
    }

    d = api_deploy_json(r, res, 0);
    if (d == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    if (events) {
        snprintf(ids, sizeof(ids), "%lld", id);

        list = api_deploy_events(r, ids);
        if (list == NULL) {
            so_req_pg_error(r, "api_deploy_events");
            goto done;
        }

        if (json_object_set_new(d, "events", list) != 0) {
            so_req_error(r, 500, "internal", "internal error", NULL);
            goto done;
        }
    }

    so_req_json(r, status, d);
    d = NULL;

done:

    json_decref(d);
    PQclear(res);
}


/*
 * Reads deployment id: 0 with *out (the API_DEPLOY_COLS row; the caller
 * PQclear()s it) and *state, or answers (404, 503, 500) and returns a
 * negative code.
 */
static int
api_deploy_read(so_req_t *r, long long id, PGresult **out,
    so_dstate_t *state)
{
    PGresult    *res;
    char         ids[24];

    *out = NULL;
    snprintf(ids, sizeof(ids), "%lld", id);

    res = so_req_query(r, "api_deploy_get",
                       "SELECT " API_DEPLOY_COLS
                       " FROM deployments d WHERE d.id = $1",
                       SO_PG_PARAMS(ids));
    if (res == NULL) {
        return SO_ERR;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        so_req_error(r, 404, "not_found", "no such deployment", NULL);
        return SO_ENOTFOUND;
    }

    if (so_dstate_parse(state, PQgetvalue(res, 0, 2)) != SO_OK) {
        PQclear(res);
        so_log_error(r->path, "deployment=%lld: unknown state", id);
        so_req_error(r, 500, "internal", "internal error", NULL);
        return SO_ERR;
    }

    *out = res;
    return SO_OK;
}


/* 0 when rule allows state, else 409 invalid_state answered */
static int
api_deploy_allowed(so_req_t *r, const api_deploy_rule_t *rule,
    const char *verb, so_dstate_t state)
{
    char  msg[SO_ERRLEN];

    if (rule->allows(state)) {
        return SO_OK;
    }

    snprintf(msg, sizeof(msg), "%s %s; this one is %s%s", rule->rule, verb,
             so_dstate_name(state),
             state == SO_DS_PRODUCTION
             ? " (the PRODUCTION deployment stays until another one "
               "replaces it)" : "");
    so_req_error(r, 409, "invalid_state", msg, NULL);
    return SO_EINVAL;
}


/*
 * The body of a deploy request, {branch?, commit?} (no body: {}): 0 with
 * *branch (borrowed from *body, NULL when absent) and commit ("" when
 * absent, else lower case), or answers 4xx and returns a negative code.
 */
static int
api_deploy_input(so_req_t *r, json_t **body, const char **branch,
    char commit[41])
{
    static const char *const  fields[] = { "branch", "commit", NULL };
    const char               *cl, *s;
    size_t                    len, i;
    int                       rc;

    *branch = NULL;
    commit[0] = '\0';

    cl = so_req_param(r, "CONTENT_LENGTH");
    if (cl == NULL || *cl == '\0' || strcmp(cl, "0") == 0) {
        *body = json_object();
        if (*body == NULL) {
            so_req_error(r, 500, "internal", "internal error", NULL);
            return SO_ERR;
        }

    } else if (so_req_read_json(r, body) != SO_OK) {
        return SO_EINVAL;
    }

    if (so_input_known(r, *body, fields) != SO_OK) {
        return SO_EINVAL;
    }

    rc = api_input_rule(r, *body, "branch", 1, API_BRANCH_MAX,
                        api_rule_branch, branch);
    if (rc != SO_OK) {
        return rc;
    }

    rc = so_input_string(r, *body, "commit", 0, 1, 40, &s, &len);
    if (rc == SO_OK) {
        for (i = 0; i < len && isxdigit((unsigned char) s[i]); i++) {
            commit[i] = (char) tolower((unsigned char) s[i]);
        }
        commit[i] = '\0';

        if (len != 40 || i != 40) {
            so_req_error(r, 422, "validation_failed",
                         "commit must be a full commit id: 40 hex digits",
                         "commit");
            return SO_EINVAL;
        }

    } else if (rc != SO_ENOTFOUND) {
        return rc;
    }

    return SO_OK;
}


/*
 * enqueues spec as the caller's deployment, within the account's quota,
 * and answers 202 with it
 */
static void
api_deploy_enqueue(so_req_t *r, so_deploy_spec_t *spec)
{
    so_quota_t  quota;
    long long   id;
    int         rc;

    spec->created_by = r->principal.user_id;
    spec->builds_max = r->cfg->quota_builds_active;
    spec->quota = &quota;

    rc = so_deploy_enqueue(&id, r->pg, r->redis, spec, NULL, NULL);

    if (rc == SO_EQUOTA) {
        api_quota_error(r, 429, &quota);
        return;
    }

    if (rc == SO_ENOTFOUND) {
        so_req_error(r, 404, "not_found", "no such project", NULL);
        return;
    }

    if (rc != SO_OK) {
        so_req_fail(r, rc);
        return;
    }

    api_deploy_answer(r, 202, id, 0);
}


/* POST /api/v1/projects/:id/deployments {branch?, commit?}: 202 QUEUED */
void
api_deployments_create(so_req_t *r)
{
    so_deploy_spec_t  spec;
    json_t           *body;
    const char       *branch;
    char              commit[41];

    body = NULL;

    if (api_deploy_input(r, &body, &branch, commit) != SO_OK) {
        goto done;
    }

    spec.project_id = r->id;
    spec.branch = branch;
    spec.commit = commit[0] != '\0' ? commit : NULL;
    spec.message = NULL;
    spec.trigger = "manual";
    spec.reason = NULL;

    api_deploy_enqueue(r, &spec);

done:

    json_decref(body);
}


/* GET /api/v1/projects/:id/deployments: newest first, in pages */
void
api_deployments_list(so_req_t *r)
{
    so_page_t    page;
    PGresult    *res;

    res = NULL;

    if (so_page_read(r, &page) != SO_OK) {
        goto done;
    }

    /* the cursor is the last id of the page before: older ones follow */
    res = so_req_query(r, "api_deploy_list",
                       "SELECT " API_DEPLOY_COLS " FROM deployments d"
                       " WHERE d.project_id = $1"
                       " AND ($2::bigint = 0 OR d.id < $2::bigint)"
                       " ORDER BY d.id DESC LIMIT $3",
                       SO_PG_PARAMS(r->ids, page.afters, page.limit1));
    if (res == NULL) {
        goto done;
    }

    so_page_respond(r, &page, res, api_deploy_json);

done:

    PQclear(res);
}


/* GET /api/v1/deployments/:id: the deployment and its transitions */
void
api_deployments_get(so_req_t *r)
{
    api_deploy_answer(r, 200, r->id, 1);
}


/* DELETE /api/v1/deployments/:id: FAILED, INACTIVE, CANCELED only */
void
api_deployments_delete(so_req_t *r)
{
    so_dstate_t   state;
    PGresult     *res;
    int           attempt, deleted;

    res = NULL;
    deleted = 0;

    for (attempt = 0; attempt < API_DEPLOY_ATTEMPTS && !deleted; attempt++) {
        PQclear(res);

        if (api_deploy_read(r, r->id, &res, &state) != SO_OK
            || api_deploy_allowed(r, &api_rule_finished, "deleted", state)
               != SO_OK)
        {
            goto done;
        }
        PQclear(res);

        res = so_req_query(r, "api_deploy_delete",
                           "DELETE FROM deployments"
                           " WHERE id = $1 AND state = $2",
                           SO_PG_PARAMS(r->ids, so_dstate_name(state)));
        if (res == NULL) {
            goto done;
        }

        deleted = strcmp(PQcmdTuples(res), "1") == 0;
    }

    if (!deleted) {
        so_req_error(r, 409, "invalid_state", "the deployment changed "
                     "state meanwhile: try again", NULL);
        goto done;
    }

    so_log_info(r->path, "deployment=%s user=%lld: deleted (%s)", r->ids,
                r->principal.user_id, so_dstate_name(state));
    api_no_content(r);

done:

    PQclear(res);
}


/* POST /api/v1/deployments/:id/redeploy: the same commit, built again */
void
api_deployments_redeploy(so_req_t *r)
{
    so_deploy_spec_t  spec;
    so_dstate_t       state;
    PGresult         *res;
    char              reason[48];

    res = NULL;

    if (api_deploy_read(r, r->id, &res, &state) != SO_OK
        || api_deploy_allowed(r, &api_rule_finished, "redeployed", state)
           != SO_OK)
    {
        goto done;
    }

    snprintf(reason, sizeof(reason), "redeploy of %lld", r->id);

    spec.project_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    spec.branch = PQgetvalue(res, 0, 4);
    spec.commit = PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5);
    spec.message = PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6);
    spec.trigger = "redeploy";
    spec.reason = reason;

    api_deploy_enqueue(r, &spec);

done:

    PQclear(res);
}


/*
 * POST /api/v1/deployments/:id/cancel: QUEUED or BUILDING -> CANCELED.
 * The builder stops a running build when it reads shipoff:cancel (or when
 * it finds the state CANCELED at its next step: the message is only
 * faster).
 */
void
api_deployments_cancel(so_req_t *r)
{
    so_dstate_t   state;
    PGresult     *res;
    const char   *fields[2];
    int           attempt, rc;

    res = NULL;
    rc = SO_EEXISTS;

    for (attempt = 0; attempt < API_DEPLOY_ATTEMPTS && rc == SO_EEXISTS;
         attempt++)
    {
        PQclear(res);

        if (api_deploy_read(r, r->id, &res, &state) != SO_OK
            || api_deploy_allowed(r, &api_rule_cancel, "canceled", state)
               != SO_OK)
        {
            goto done;
        }

        rc = so_deploy_move(r->pg, r->id, state, SO_DS_CANCELED, "canceled",
                            -1);
    }

    if (rc == SO_EEXISTS) {
        so_req_error(r, 409, "invalid_state", "the deployment changed "
                     "state meanwhile: try again", NULL);
        goto done;
    }

    if (rc != SO_OK) {
        so_req_fail(r, rc);
        goto done;
    }

    fields[0] = "deployment";
    fields[1] = r->ids;
    (void) so_deploy_xadd(r->redis, SO_DEPLOY_CANCEL, 2, fields);

    api_deploy_answer(r, 200, r->id, 0);

done:

    PQclear(res);
}


/*
 * POST /api/v1/deployments/:id/promote: an INACTIVE deployment whose
 * artifact is kept becomes PRODUCTION without a rebuild (an instant
 * rollback); the PRODUCTION one before becomes INACTIVE.
 */
void
api_deployments_promote(so_req_t *r)
{
    long long  prev;
    char       msg[SO_ERRLEN];
    int        rc;

    rc = so_deploy_promote(&prev, r->pg, r->redis, r->id, SO_DS_INACTIVE, msg,
                           sizeof(msg));

    if (rc == SO_ENOTFOUND) {
        so_req_error(r, 404, "not_found", "no such deployment", NULL);
        return;
    }

    if (rc == SO_EEXISTS || rc == SO_EINVAL) {
        so_req_error(r, 409, "invalid_state", msg, NULL);
        return;
    }

    if (rc != SO_OK) {
        so_req_fail(r, rc);
        return;
    }

    so_log_info(r->path, "deployment=%lld user=%lld: promoted, replacing "
                "deployment=%lld", r->id, r->principal.user_id, prev);

    api_deploy_answer(r, 200, r->id, 0);
}
