/*
 * api.h: the handlers of the REST API app (/api/v1/...).
 *
 * A handler runs once its route's check passed (main.c, so_fcgi.h): the
 * caller is r->principal, the object of the route's :id is r->id, and
 * r->ids the same in decimal, ready as a query parameter.
 */

#ifndef API_H
#define API_H

#include "so_auth.h"
#include "so_fcgi.h"
#include "so_page.h"
#include "so_quota.h"
#include "so_repo.h"

/* wake.c: GET /_internal/wake, nginx's wake module asks */
void api_wake(so_req_t *r);

/* init.c: the app's init hook */
int api_init(const so_config_t *cfg);

/* quotas.c: GET /api/v1/quotas; the answer of a refusal */
void api_quotas_get(so_req_t *r);
void api_quota_error(so_req_t *r, int status, const so_quota_t *quota);

/* me.c */
void api_me_get(so_req_t *r);
void api_me_patch(so_req_t *r);

/* tokens.c */
void api_tokens_create(so_req_t *r);
void api_tokens_list(so_req_t *r);
void api_tokens_delete(so_req_t *r);

/* teams.c */
void api_teams_create(so_req_t *r);
void api_teams_list(so_req_t *r);
void api_teams_get(so_req_t *r);
void api_teams_update(so_req_t *r);
void api_teams_delete(so_req_t *r);
void api_teams_member_delete(so_req_t *r);
void api_teams_transfer(so_req_t *r);

/* invitations.c */
void api_invitations_create(so_req_t *r);
void api_invitations_list(so_req_t *r);
void api_invitations_accept(so_req_t *r);
void api_invitations_decline(so_req_t *r);

/* answers status with the invitation (or transfer offer) of that id */
void api_invitation_respond(so_req_t *r, int status, const char *id);

/* deployments.c */
void api_deployments_create(so_req_t *r);
void api_deployments_list(so_req_t *r);
void api_deployments_get(so_req_t *r);
void api_deployments_delete(so_req_t *r);
void api_deployments_redeploy(so_req_t *r);
void api_deployments_cancel(so_req_t *r);
void api_deployments_promote(so_req_t *r);

/* logs.c: history and search; the live tail (Server-Sent Events) */
void api_logs_deployment(so_req_t *r);
void api_logs_project(so_req_t *r);
void api_logs_stream(so_req_t *r);
void api_logs_project_stream(so_req_t *r);

/* usage.c: an app's usage over a window; every app's, for Prometheus */
void api_usage_get(so_req_t *r);
void api_usage_metrics(so_req_t *r);

/* projects.c */
void api_projects_create(so_req_t *r);
void api_projects_list(so_req_t *r);
void api_projects_get(so_req_t *r);
void api_projects_update(so_req_t *r);
void api_projects_delete(so_req_t *r);
void api_projects_webhook_secret(so_req_t *r);
void api_domains_check(so_req_t *r);

/* access.c */
void api_access_get(so_req_t *r);
void api_access_member_put(so_req_t *r);
void api_access_member_delete(so_req_t *r);
void api_access_team_put(so_req_t *r);
void api_access_team_delete(so_req_t *r);
void api_access_transfer(so_req_t *r);
void api_access_transfer_get(so_req_t *r);
void api_access_transfer_cancel(so_req_t *r);

/*
 * access.c: accepting a transfer offer made by the user from, inside the
 * transaction that holds the offer locked: the project goes to user or
 * to team (one of them NULL).  0; SO_ENOTFOUND answered 409
 * invitation_stale when from no longer owns it; SO_ERR answered.
 */
int api_access_take(so_req_t *r, const char *project, const char *user,
    const char *team, const char *from);

/* env.c */
void api_env_list(so_req_t *r);
void api_env_put(so_req_t *r);
void api_env_delete(so_req_t *r);

/* detect.c */
void api_detect(so_req_t *r);
void api_detect_get(so_req_t *r);

/*
 * projects.c: api_project_answer answers with the project id (secret: the
 * webhook secret, shown once; NULL otherwise).  api_project_url writes
 * the app's URL: 0 or SO_ETOOBIG.
 */
void api_project_answer(so_req_t *r, int status, const char *id,
    const char *secret);
int api_project_url(char *out, size_t len, const so_config_t *cfg,
    const char *name);

/*
 * hookreg.c: registers the project's webhook on GitHub as user_id when
 * the user signed in with GitHub; stores the hook id or the failure on the
 * project.  Never answers the request.  (hooks/github.c receives them.)
 */
void api_hookreg_create(so_req_t *r, long long user_id,
    long long project_id, const so_repo_url_t *repo, const char *secret);

/* a rule of a text field: 0, or SO_EINVAL with *reason ("must be ...") */
typedef int (*api_rule_pt)(const char *s, const char **reason);

/*
 * projects.c: the optional text field name of body, of min to max
 * characters, that rule takes: 0 with *out (left as it is when the field
 * is absent), or answered (422 "<name> <reason>") and a negative code.
 */
int api_input_rule(so_req_t *r, json_t *body, const char *name, size_t min,
    size_t max, api_rule_pt rule, const char **out);

/*
 * projects.c: a git branch name as git check-ref-format takes it (minus
 * exotica): 0, or SO_EINVAL with *reason.  Deploy requests name branches
 * too.
 */
int api_rule_branch(const char *s, const char **reason);

/* projects.c: a relative directory inside a repository (root_dir) */
int api_rule_dir(const char *s, const char **reason);

/*
 * Shared by the handlers (teams.c).  A failed query is answered by
 * so_req_pg_error() (so_req.h): 503 when the database is unreachable, else
 * 500, with what failed logged.
 * api_tx runs "BEGIN" or "COMMIT": 0, or SO_ERR answered; a ROLLBACK, after
 * the answer, is so_pg_tx()'s.
 * api_exec_one runs the statement name (prepared from sql) that must touch
 * exactly one row: SO_OK, or SO_ERR answered (the failure, or 404
 * not_found with missing and field when no row matched).
 * api_query_one runs the query name that must find a row: its result (the
 * caller PQclear()s it), or NULL answered (the failure, or 404 not_found
 * with missing).  nparams and params: SO_PG_PARAMS() (so_pg.h).
 * api_tx_lock begins a transaction and runs the query name, whose $1 is
 * the route's object (r->ids) and $2 the caller, that must find the row
 * it locks: its result (the caller PQclear()s it and ends the
 * transaction), or NULL answered and rolled back.
 * api_no_content answers 204.  api_team_set_owner makes user the owner of
 * team and the old owner a member, inside a transaction that holds the
 * team row locked: 0, SO_ENOTFOUND when user is not a member, or SO_ERR.
 */
int api_tx(so_req_t *r, const char *verb);
int api_exec_one(so_req_t *r, const char *name, const char *sql, int nparams,
    const char *const *params, const char *missing, const char *field);
PGresult *api_query_one(so_req_t *r, const char *name, const char *sql,
    int nparams, const char *const *params, const char *missing);
PGresult *api_tx_lock(so_req_t *r, const char *name, const char *sql,
    const char *missing);
void api_no_content(so_req_t *r);
int api_team_set_owner(so_req_t *r, const char *team, const char *user);

#endif /* API_H */
