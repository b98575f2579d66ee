/*
 * access.c: who may act on a project, besides its owner:
 * /api/v1/projects/{id}/members (direct grants to users),
 * /api/v1/projects/{id}/teams (grants to every member of a team) and
 * /api/v1/projects/{id}/transfer (a new owner).
 *
 * Managing access takes the DELETE right: whoever may delete the project
 * may as well decide who else works on it, and nobody with WRITE alone can
 * lift their own rights.  A grant always holds READ (WRITE or DELETE
 * without READ would be a project one changes but cannot see): it is
 * added when missing.  Granting again replaces the scopes.
 *
 * A transfer is the owner's alone (the owner user, or the owner of the
 * owning team), and only an offer: to any user, or to a team the caller
 * is a member of, it waits in the receiver's invitations inbox
 * (invitations.c) until accepted (by the user, or the team's owner),
 * declined, canceled by the owner or expired; nothing changes until then.
 * Nobody is handed a project, its bills or its builds unasked.  On
 * acceptance the old owner keeps no right of its own; a direct grant the
 * new owner had is dropped, as it is now redundant.  The repository stays
 * set by the old owner, so builds use no one's GitHub token until the new
 * owner saves repo_url (builder/source.c).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_authz.h"
#include "so_input.h"
#include "so_log.h"


#define API_ID_MAX  0x7fffffffffffffffLL


static int api_access_scopes(so_req_t *r, json_t *body, char *out,
    size_t len, json_t **list);
static void api_access_list(so_req_t *r, int status, const char *project);


/*
 * The "scopes" field: a non-empty array of "READ", "WRITE", "DELETE".
 * 0 with out the SQL array literal ("{READ,WRITE}") and *list the JSON
 * array as stored; else answered 422.
 */
static int
api_access_scopes(so_req_t *r, json_t *body, char *out, size_t len,
    json_t **list)
{
    static const char *const  names[] = { "READ", "WRITE", "DELETE" };
    json_t                   *v, *s;
    unsigned                  bits, bit;
    size_t                    i, j;

    *list = NULL;
    v = json_object_get(body, "scopes");

    if (!json_is_array(v) || json_array_size(v) == 0
        || json_array_size(v) > 3)
    {
        goto invalid;
    }

    bits = SO_SCOPE_READ;

    json_array_foreach(v, i, s) {
        for (j = 0; j < so_nelems(names); j++) {
            if (json_is_string(s) && strcmp(json_string_value(s), names[j])
                                     == 0)
            {
                break;
            }
        }
        if (j == so_nelems(names)) {
            goto invalid;
        }
        bits |= 1u << j;
    }

    *list = json_array();
    snprintf(out, len, "{");

    for (j = 0; j < so_nelems(names); j++) {
        bit = 1u << j;
        if (bits & bit) {
            json_array_append_new(*list, json_string(names[j]));
            snprintf(out + strlen(out), len - strlen(out), "%s%s",
                     out[1] == '\0' ? "" : ",", names[j]);
        }
    }

    snprintf(out + strlen(out), len - strlen(out), "}");
    return SO_OK;

invalid:

    so_req_error(r, 422, "validation_failed",
                 "scopes must be a non-empty array of \"READ\", \"WRITE\""
                 " and \"DELETE\"", "scopes");
    return SO_EINVAL;
}


/* answers with the project's grants: {"members": [...], "teams": [...]} */
static void
api_access_list(so_req_t *r, int status, const char *project)
{
    PGresult    *res, *teams;
    json_t      *j, *members, *list;
    int          i;

    teams = NULL;
    j = NULL;

    res = so_req_query(r, "api_access_members",
                       "SELECT u.id, u.email, u.name,"
                       " array_to_json(g.scopes), "
                       SO_SQL_TIME("g.created_at")
                       " FROM project_members g JOIN users u"
                       " ON u.id = g.user_id WHERE g.project_id = $1"
                       " ORDER BY u.id",
                       SO_PG_PARAMS(project));
    if (res == NULL) {
        goto done;
    }

    teams = so_req_query(r, "api_access_teams",
                         "SELECT t.id, t.name, array_to_json(g.scopes), "
                         SO_SQL_TIME("g.created_at")
                         " FROM project_teams g JOIN teams t"
                         " ON t.id = g.team_id WHERE g.project_id = $1"
                         " ORDER BY t.id",
                         SO_PG_PARAMS(project));
    if (teams == NULL) {
        goto done;
    }

    members = json_array();
    list = json_array();
    j = json_pack("{s:o, s:o}", "members", members, "teams", list);
    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    for (i = 0; i < PQntuples(res); i++) {
        json_array_append_new(members, json_pack(
            "{s:I, s:s, s:s, s:o, s:s}",
            "user_id", (json_int_t) strtoll(PQgetvalue(res, i, 0), NULL, 10),
            "email", PQgetvalue(res, i, 1),
            "name", PQgetvalue(res, i, 2),
            "scopes", json_loads(PQgetvalue(res, i, 3), 0, NULL),
            "granted_at", PQgetvalue(res, i, 4)));
    }

    for (i = 0; i < PQntuples(teams); i++) {
        json_array_append_new(list, json_pack(
            "{s:I, s:s, s:o, s:s}",
            "team_id", (json_int_t) strtoll(PQgetvalue(teams, i, 0), NULL,
                                            10),
            "name", PQgetvalue(teams, i, 1),
            "scopes", json_loads(PQgetvalue(teams, i, 2), 0, NULL),
            "granted_at", PQgetvalue(teams, i, 3)));
    }

    so_req_json(r, status, j);
    j = NULL;

done:

    json_decref(j);
    PQclear(teams);
    PQclear(res);
}


void
api_access_get(so_req_t *r)
{
    api_access_list(r, 200, r->ids);
}


void
api_access_member_put(so_req_t *r)
{
    static const char *const  fields[] = {
        "email", "user_id", "scopes", NULL
    };
    PGresult                 *res;
    json_t                   *body, *scopes;
    const char               *email;
    char                      target[24], sql_scopes[32];
    char                      norm[SO_EMAIL_MAX_LEN + 1];
    long long                 user;
    size_t                    len;
    int                       rc;

    res = NULL;
    body = NULL;
    scopes = NULL;
    user = 0;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || api_access_scopes(r, body, sql_scopes, sizeof(sql_scopes),
                             &scopes) != SO_OK)
    {
        goto done;
    }

    rc = so_input_int(r, body, "user_id", 0, 1, API_ID_MAX, &user);
    if (rc == SO_EINVAL) {
        goto done;
    }

    rc = so_input_string(r, body, "email", 0, 1, SO_EMAIL_MAX_LEN, &email,
                         &len);
    if (rc == SO_EINVAL) {
        goto done;
    }

    if ((rc == SO_OK) == (user != 0)) {
        so_req_error(r, 422, "validation_failed",
                     "give exactly one of email and user_id",
                     user != 0 ? "user_id" : "email");
        goto done;
    }

    norm[0] = '\0';
    if (rc == SO_OK && so_account_email(norm, email, len) != SO_OK) {
        so_req_error(r, 422, "validation_failed",
                     "email must be an email address", "email");
        goto done;
    }

    snprintf(target, sizeof(target), "%lld", user);

    /*
     * the owner user needs no grant; a user of another id is no one, and
     * so is an email nobody verified (anyone may sign up with any address)
     */
    res = so_req_query(r, "api_access_member_put",
                       "INSERT INTO project_members (project_id, user_id,"
                       " scopes)"
                       " SELECT p.id, u.id, $4::text[] FROM projects p, users u"
                       " WHERE p.id = $1 AND (u.id = $2"
                       " OR (u.email = $3 AND u.email_verified))"
                       " AND p.owner_user_id IS DISTINCT FROM u.id"
                       " ON CONFLICT (project_id, user_id)"
                       " DO UPDATE SET scopes = EXCLUDED.scopes"
                       " RETURNING user_id",
                       SO_PG_PARAMS(r->ids, user != 0 ? target : NULL,
                                    user != 0 ? NULL : norm, sql_scopes));
    if (res == NULL) {
        goto done;
    }

    if (PQntuples(res) == 0) {
        so_req_error(r, 404, "not_found",
                     user != 0 ? "no such user (or it owns the project)"
                     : "no user with this verified email (or it owns the"
                       " project)",
                     user != 0 ? "user_id" : "email");
        goto done;
    }

    so_log_info(r->path, "project=%s user=%lld: granted %s to user %s",
                r->ids, r->principal.user_id, sql_scopes,
                PQgetvalue(res, 0, 0));

    api_access_list(r, 200, r->ids);

done:

    PQclear(res);
    json_decref(scopes);
    json_decref(body);
}


/*
 * What a revoke removes: a user's grant (project_members) or a team's
 * (project_teams).
 */
typedef struct {
    const char  *name;      /* the statement */
    const char  *sql;
    const char  *missing;   /* the 404 message */
    const char  *what;      /* "user" or "team", for the log */
} api_access_revoke_t;

static const api_access_revoke_t  api_access_revoke_member = {
    "api_access_member_delete",
    "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2",
    "no such member", "user"
};

static const api_access_revoke_t  api_access_revoke_team = {
    "api_access_team_delete",
    "DELETE FROM project_teams WHERE project_id = $1 AND team_id = $2",
    "no such team", "team"
};


static void
api_access_revoke(so_req_t *r, const api_access_revoke_t *rv)
{
    char         target[24];
    long long    grantee;

    if (so_authz_parse_id(r->args[1], &grantee) != SO_OK) {
        so_req_error(r, 404, "not_found", rv->missing, NULL);
        return;
    }

    snprintf(target, sizeof(target), "%lld", grantee);

    if (api_exec_one(r, rv->name, rv->sql, SO_PG_PARAMS(r->ids, target),
                     rv->missing, NULL) != SO_OK)
    {
        return;
    }

    so_log_info(r->path, "project=%s user=%lld: revoked %s %s", r->ids,
                r->principal.user_id, rv->what, target);
    api_no_content(r);
}


void
api_access_member_delete(so_req_t *r)
{
    api_access_revoke(r, &api_access_revoke_member);
}


void
api_access_team_put(so_req_t *r)
{
    static const char *const  fields[] = { "team_id", "scopes", NULL };
    PGresult                 *res;
    json_t                   *body, *scopes;
    char                      teams[24], sql_scopes[32];
    long long                 team;

    res = NULL;
    body = NULL;
    scopes = NULL;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || so_input_int(r, body, "team_id", 1, 1, API_ID_MAX, &team)
           != SO_OK
        || api_access_scopes(r, body, sql_scopes, sizeof(sql_scopes),
                             &scopes) != SO_OK)
    {
        goto done;
    }

    /* the caller must see the team: a team of others is "no such team" */
    snprintf(teams, sizeof(teams), "%lld", team);
    if (so_authz(r, &r->principal, SO_OBJ_TEAM, teams,
                 SO_NEED_WRITE | SO_NEED_MEMBER, &team, NULL) != SO_OK)
    {
        goto done;
    }

    res = so_req_query(r, "api_access_team_put",
                       "INSERT INTO project_teams (project_id, team_id,"
                       " scopes) VALUES ($1, $2, $3::text[])"
                       " ON CONFLICT (project_id, team_id)"
                       " DO UPDATE SET scopes = EXCLUDED.scopes",
                       SO_PG_PARAMS(r->ids, teams, sql_scopes));
    if (res == NULL) {
        goto done;
    }

    so_log_info(r->path, "project=%s user=%lld: granted %s to team %s",
                r->ids, r->principal.user_id, sql_scopes, teams);

    api_access_list(r, 200, r->ids);

done:

    PQclear(res);
    json_decref(scopes);
    json_decref(body);
}


void
api_access_team_delete(so_req_t *r)
{
    api_access_revoke(r, &api_access_revoke_team);
}


/*
 * POST /api/v1/projects/{id}/transfer {user_id | team_id}: an offer in the
 * receiver's inbox (invitations.c), replacing the project's pending one.
 * A user is offered it at the account's email, so the offer reaches the
 * account only while that email is verified.
 */
void
api_access_transfer(so_req_t *r)
{
    static const char *const  fields[] = { "user_id", "team_id", NULL };
    PGresult                 *res;
    json_t                   *body;
    char                      target[24];
    long long                 to_user, to_team;

    res = NULL;
    body = NULL;
    to_user = 0;
    to_team = 0;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK)
    {
        goto done;
    }

    if (so_input_int(r, body, "user_id", 0, 1, API_ID_MAX, &to_user)
        == SO_EINVAL
        || so_input_int(r, body, "team_id", 0, 1, API_ID_MAX, &to_team)
           == SO_EINVAL)
    {
        goto done;
    }

    if ((to_user != 0) == (to_team != 0)) {
        so_req_error(r, 422, "validation_failed",
                     "give exactly one of user_id and team_id",
                     to_user != 0 ? "team_id" : "user_id");
        goto done;
    }

    snprintf(target, sizeof(target), "%lld",
             to_user != 0 ? to_user : to_team);

    if (to_team != 0
        && so_authz(r, &r->principal, SO_OBJ_TEAM, target,
                    SO_NEED_WRITE | SO_NEED_MEMBER, &to_team, NULL) != SO_OK)
    {
        goto done;
    }

    if (api_tx(r, "BEGIN") != SO_OK) {
        goto done;
    }

    res = so_req_query(r, "api_transfer_replace",
                       "UPDATE team_invitations SET state = 'revoked',"
                       " responded_at = now()"
                       " WHERE project_id = $1 AND state = 'pending'",
                       SO_PG_PARAMS(r->ids));
    if (res == NULL) {
        goto rollback;
    }
    PQclear(res);

    /* nothing to offer to the owner it has */
    res = so_req_query(r, "api_transfer_offer",
                       "INSERT INTO team_invitations (project_id, email,"
                       " to_team_id, role, invited_by)"
                       " SELECT p.id, u.email, $3::bigint, 'owner', $4"
                       " FROM projects p LEFT JOIN users u ON u.id = $2"
                       " WHERE p.id = $1"
                       " AND (u.id IS NOT NULL OR $3::bigint IS NOT NULL)"
                       " AND ($2::bigint IS NULL"
                       " OR p.owner_user_id IS DISTINCT FROM $2::bigint)"
                       " AND ($3::bigint IS NULL"
                       " OR p.owner_team_id IS DISTINCT FROM $3::bigint)"
                       " RETURNING id",
                       SO_PG_PARAMS(r->ids, to_user != 0 ? target : NULL,
                                    to_team != 0 ? target : NULL, r->uids));
    if (res == NULL) {
        goto rollback;
    }

    if (PQntuples(res) == 0) {
        so_req_error(r, to_user != 0 ? 404 : 422,
                     to_user != 0 ? "not_found" : "validation_failed",
                     to_user != 0 ? "no such user (or it owns the project)"
                                  : "the team owns the project already",
                     to_user != 0 ? "user_id" : "team_id");
        goto rollback;
    }

    if (api_tx(r, "COMMIT") != SO_OK) {
        goto done;
    }

    so_log_info(r->path, "project=%s user=%s invitation=%s: offered to %s "
                "%s", r->ids, r->uids, PQgetvalue(res, 0, 0),
                to_user != 0 ? "user" : "team", target);

    api_invitation_respond(r, 201, PQgetvalue(res, 0, 0));
    goto done;

rollback:

    (void) so_pg_tx(r->pg, "ROLLBACK");

done:

    PQclear(res);
    json_decref(body);
}


/* GET /api/v1/projects/{id}/transfer: the pending offer (owner) */
void
api_access_transfer_get(so_req_t *r)
{
    PGresult    *res;

    res = so_req_query(r, "api_transfer_pending",
                       "SELECT id FROM team_invitations"
                       " WHERE project_id = $1 AND state = 'pending'"
                       " AND expires_at > now()",
                       SO_PG_PARAMS(r->ids));
    if (res == NULL) {
        return;
    }

    if (PQntuples(res) == 0) {
        so_req_error(r, 404, "not_found", "no pending transfer", NULL);
    } else {
        api_invitation_respond(r, 200, PQgetvalue(res, 0, 0));
    }

    PQclear(res);
}


/* DELETE /api/v1/projects/{id}/transfer: the owner withdraws the offer */
void
api_access_transfer_cancel(so_req_t *r)
{
    if (api_exec_one(r, "api_transfer_cancel",
                     "UPDATE team_invitations SET state = 'revoked',"
                     " responded_at = now()"
                     " WHERE project_id = $1 AND state = 'pending'",
                     SO_PG_PARAMS(r->ids), "no pending transfer", NULL)
        != SO_OK)
    {
        return;
    }

    so_log_info(r->path, "project=%s user=%lld: transfer canceled", r->ids,
                r->principal.user_id);
    api_no_content(r);
}


int
api_access_take(so_req_t *r, const char *project, const char *user,
    const char *team, const char *from)
{
    PGresult    *res;
    int          moved;

    /* the offer holds while the one who made it still owns the project */
    res = so_req_query(r, "api_transfer_take",
                       "UPDATE projects p SET owner_user_id = $2::bigint,"
                       " owner_team_id = $3::bigint, updated_at = now()"
                       " WHERE p.id = $1 AND (p.owner_user_id = $4::bigint"
                       " OR EXISTS (SELECT 1 FROM team_members m"
                       " WHERE m.team_id = p.owner_team_id"
                       " AND m.user_id = $4::bigint AND m.role = 'owner'))",
                       SO_PG_PARAMS(project, user, team,
                                    from[0] != '\0' ? from : NULL));
    if (res == NULL) {
        return SO_ERR;
    }

    moved = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);

    if (!moved) {
        so_req_error(r, 409, "invitation_stale",
                     "whoever offered this project no longer owns it",
                     NULL);
        return SO_ENOTFOUND;
    }

    /* the new owner's own grant is redundant now */
    res = so_req_query(r, "api_transfer_grant",
                       "DELETE FROM project_members"
                       " WHERE project_id = $1 AND user_id = $2",
                       SO_PG_PARAMS(project, user));
    if (res == NULL) {
        return SO_ERR;
    }

    PQclear(res);
    so_log_info(r->path, "project=%s: now owned by %s %s", project,
                user != NULL ? "user" : "team", user != NULL ? user : team);
    return SO_OK;
}
