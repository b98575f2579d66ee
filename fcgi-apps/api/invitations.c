/*
 * invitations.c: team invitations by email.  The owner invites an address
 * (POST /api/v1/teams/:id/invitations); whoever holds an account with that
 * address sees it (GET /api/v1/invitations) and accepts or declines it
 * within 7 days (expires_at).  An invitation with role "owner" hands the
 * team over on acceptance: the invitee joins and becomes the owner, the
 * old owner stays as a member, all in the transaction that marks the
 * invitation accepted.
 *
 * The same inbox carries the offers to take a project over (access.c
 * makes them: "kind": "project"), to a user's email or to a team, whose
 * owner answers.  Accepting one moves the project in the transaction that
 * marks the offer accepted, provided the one who made it still owns the
 * project; until then nothing changes.
 *
 * An invitation is matched to its invitee by the normalised email, never
 * by an id the client sends, and only when the invitee's email is
 * verified (SO_SQL_INVITEE): an account that merely claims an address
 * sees nothing sent to it; another user asking for it gets 404.  An
 * expired invitation stays "pending" in the table (nothing sweeps it);
 * a new invitation to the same address revokes it first, so the unique
 * index on pending invitations only ever blocks a live one.
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
#include "so_page.h"


/*
 * an invitation i with what it names: t the team to join, p the project
 * to take over and w the team offered it
 */
#define API_INV_COLS                                                         \
    "i.id, i.team_id, t.name, i.email, i.role, i.state, i.invited_by, "     \
    SO_SQL_TIME("i.created_at") ", " SO_SQL_TIME("i.expires_at") ","        \
    " i.project_id, p.name, i.to_team_id, w.name"

#define API_INV_JOINS                                                        \
    " LEFT JOIN teams t ON t.id = i.team_id"                                 \
    " LEFT JOIN projects p ON p.id = i.project_id"                           \
    " LEFT JOIN teams w ON w.id = i.to_team_id"


static json_t *api_invitation_json(so_req_t *r, const PGresult *res,
    int row);
static int api_invitation_join(so_req_t *r, const char *team,
    const char *user, const char *role);
static void api_invitation_answer(so_req_t *r, int accept);


static json_t *
api_invitation_json(so_req_t *r, const PGresult *res, int row)
{
    json_t  *inv, *what;
    int      project;

    project = !PQgetisnull(res, row, 9);

    /* a team to join, or a project to take over and who is offered it */
    if (project) {
        what = PQgetisnull(res, row, 11)
               ? json_pack("{s:s, s:s}", "type", "user",
                           "email", PQgetvalue(res, row, 3))
               : json_pack("{s:s, s:I, s:s}", "type", "team",
                           "id", (json_int_t) strtoll(
                               PQgetvalue(res, row, 11), NULL, 10),
                           "name", PQgetvalue(res, row, 12));
    } else {
        what = json_pack("{s:I, s:s}",
                         "id", (json_int_t) strtoll(PQgetvalue(res, row, 1),
                                                    NULL, 10),
                         "name", PQgetvalue(res, row, 2));
    }

    inv = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}",
                    "id", (json_int_t) strtoll(PQgetvalue(res, row, 0),
                                               NULL, 10),
                    "kind", project ? "project" : "team",
                    "role", PQgetvalue(res, row, 4),
                    "state", PQgetvalue(res, row, 5),
                    "created_at", PQgetvalue(res, row, 7),
                    "expires_at", PQgetvalue(res, row, 8));

    if (inv == NULL || what == NULL) {
        json_decref(what);
        json_decref(inv);
        return NULL;
    }

    if (project) {
        json_object_set_new(inv, "project", json_pack("{s:I, s:s}",
            "id", (json_int_t) strtoll(PQgetvalue(res, row, 9), NULL, 10),
            "name", PQgetvalue(res, row, 10)));
        json_object_set_new(inv, "to", what);

    } else {
        json_object_set_new(inv, "team", what);
        json_object_set_new(inv, "email", json_string(PQgetvalue(res, row,
                                                                 3)));
    }

    json_object_set_new(inv, "invited_by", PQgetisnull(res, row, 6)
                        ? json_null()
                        : json_integer(strtoll(PQgetvalue(res, row, 6),
                                               NULL, 10)));

    return inv;
}


void
api_invitation_respond(so_req_t *r, int status, const char *id)
{
    PGresult    *res;
    json_t      *j;

    res = so_req_query(r, "api_inv_get",
                       "SELECT " API_INV_COLS " FROM team_invitations i"
                       API_INV_JOINS " WHERE i.id = $1",
                       SO_PG_PARAMS(id));
    if (res == NULL) {
        return;
    }

    j = PQntuples(res) == 1 ? api_invitation_json(r, res, 0) : NULL;
    if (j == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
    } else {
        so_req_json(r, status, j);
    }

    PQclear(res);
}


void
api_invitations_create(so_req_t *r)
{
    static const char *const  fields[] = { "email", "role", NULL };
    PGresult                 *res;
    json_t                   *body;
    const char               *role;
    char                      email[SO_EMAIL_MAX_LEN + 1];
    size_t                    len;
    int                       rc;

    res = NULL;
    body = NULL;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || so_account_read_email(r, body, email) != SO_OK)
    {
        goto done;
    }

    rc = so_input_string(r, body, "role", 0, 1, 16, &role, &len);
    if (rc == SO_ENOTFOUND) {
        role = "member";

    } else if (rc != SO_OK) {
        goto done;

    } else if (strcmp(role, "member") != 0 && strcmp(role, "owner") != 0) {
        so_req_error(r, 422, "validation_failed",
                     "role must be \"member\" or \"owner\"", "role");
        goto done;
    }

    res = so_req_query(r, "api_inv_is_member",
                       "SELECT 1 FROM team_members m"
                       " JOIN users u ON u.id = m.user_id"
                       " WHERE m.team_id = $1 AND u.email = $2",
                       SO_PG_PARAMS(r->ids, email));
    if (res == NULL) {
        goto done;
    }

    if (PQntuples(res) > 0) {
        so_req_error(r, 409, "already_member",
                     "this address belongs to a member of the team",
                     "email");
        goto done;
    }
    PQclear(res);

    res = so_req_query(r, "api_inv_revoke_expired",
                       "UPDATE team_invitations SET state = 'revoked',"
                       " responded_at = now()"
                       " WHERE team_id = $1 AND email = $2"
                       " AND state = 'pending' AND expires_at <= now()",
                       SO_PG_PARAMS(r->ids, email));
    if (res == NULL) {
        goto done;
    }
    PQclear(res);

    res = so_pg_query(r->pg, "api_inv_create",
                      "WITH i AS (INSERT INTO team_invitations"
                      " (team_id, email, role, invited_by)"
                      " SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1"
                      " FROM team_members o WHERE o.team_id = $1"
                      " AND o.user_id = $4 AND o.role = 'owner')"
                      " RETURNING *)"
                      " SELECT " API_INV_COLS " FROM i" API_INV_JOINS,
                      SO_PG_PARAMS(r->ids, email, role, r->uids));
    if (res == NULL) {
        if (strcmp(so_pg_sqlstate(r->pg), "23505") == 0) {
            so_req_error(r, 409, "invitation_exists",
                         "this address has a pending invitation already",
                         "email");
        } else {
            so_req_pg_error(r, "api_inv_create");
        }
        goto done;
    }

    if (PQntuples(res) == 0) {
        so_req_error(r, 404, "not_found", "no such team", NULL);
        goto done;
    }

    so_log_info(r->path, "team=%s invitation=%s: %s invited by user=%s",
                r->ids, PQgetvalue(res, 0, 0), role, r->uids);

    so_req_json(r, 201, api_invitation_json(r, res, 0));

done:

    PQclear(res);
    json_decref(body);
}


void
api_invitations_list(so_req_t *r)
{
    so_page_list(r, "api_inv_list",
                 "SELECT " API_INV_COLS " FROM team_invitations i"
                 API_INV_JOINS
                 " WHERE" SO_SQL_INVITEE("$1") " AND i.state = 'pending'"
                 " AND i.expires_at > now() AND i.id > $2"
                 " ORDER BY i.id LIMIT $3",
                 api_invitation_json);
}


/* joins the team; role "owner" hands it over (api_team_set_owner) */
static int
api_invitation_join(so_req_t *r, const char *team, const char *user,
    const char *role)
{
    PGresult    *res;

    /* the owner's row too: ownership moves one at a time */
    res = so_req_query(r, "api_inv_join",
                       "WITH t AS (SELECT id FROM teams WHERE id = $1"
                       " FOR UPDATE)"
                       " INSERT INTO team_members (team_id, user_id,"
                       " role) SELECT id, $2, 'member' FROM t"
                       " ON CONFLICT DO NOTHING",
                       SO_PG_PARAMS(team, user));
    if (res == NULL) {
        return SO_ERR;
    }
    PQclear(res);

    if (strcmp(role, "owner") == 0
        && api_team_set_owner(r, team, user) != SO_OK)
    {
        so_req_pg_error(r, "api_team_set_owner");
        return SO_ERR;
    }

    return SO_OK;
}


/*
 * accept or decline, in one transaction with the invitation row locked, so
 * that two answers to one invitation cannot both succeed.
 */
static void
api_invitation_answer(so_req_t *r, int accept)
{
    PGresult    *res;
    const char  *v;
    char         team[24], role[8], state[16];
    char         project[24], to_team[24], from[24];
    int          tx, expired, rc;

    res = NULL;
    tx = 0;

    res = api_tx_lock(r, "api_inv_lock",
                      "SELECT coalesce(i.team_id::text, ''), i.role,"
                      " i.state, i.expires_at <= now(),"
                      " coalesce(i.project_id::text, ''),"
                      " coalesce(i.to_team_id::text, ''),"
                      " coalesce(i.invited_by::text, '')"
                      " FROM team_invitations i"
                      " WHERE i.id = $1 AND" SO_SQL_INVITEE("$2")
                      " FOR UPDATE OF i",
                      "no such invitation");
    if (res == NULL) {
        goto done;
    }
    tx = 1;

    snprintf(team, sizeof(team), "%s", PQgetvalue(res, 0, 0));
    snprintf(role, sizeof(role), "%s", PQgetvalue(res, 0, 1));
    snprintf(state, sizeof(state), "%s", PQgetvalue(res, 0, 2));
    expired = PQgetvalue(res, 0, 3)[0] == 't';
    snprintf(project, sizeof(project), "%s", PQgetvalue(res, 0, 4));
    snprintf(to_team, sizeof(to_team), "%s", PQgetvalue(res, 0, 5));
    snprintf(from, sizeof(from), "%s", PQgetvalue(res, 0, 6));
    PQclear(res);
    res = NULL;

    if (strcmp(state, "pending") != 0) {
        so_req_error(r, 409, "invitation_answered",
                     strcmp(state, "accepted") == 0
                     ? "this invitation was accepted already"
                     : strcmp(state, "declined") == 0
                     ? "this invitation was declined already"
                     : "this invitation was revoked", NULL);
        goto done;
    }

    if (expired) {
        so_req_error(r, 410, "invitation_expired",
                     "this invitation has expired: ask for a new one",
                     NULL);
        goto done;
    }

    if (accept) {
        rc = project[0] == '\0'
             ? api_invitation_join(r, team, r->uids, role)
             : api_access_take(r, project, to_team[0] == '\0' ? r->uids : NULL,
                               to_team[0] == '\0' ? NULL : to_team, from);
        if (rc != SO_OK) {
            goto done;
        }
    }

    v = accept ? "accepted" : "declined";

    res = so_pg_query(r->pg, "api_inv_answer",
                      "WITH i AS (UPDATE team_invitations"
                      " SET state = $2, responded_at = now()"
                      " WHERE id = $1 RETURNING *)"
                      " SELECT " API_INV_COLS " FROM i" API_INV_JOINS,
                      SO_PG_PARAMS(r->ids, v));
    if (res == NULL || PQntuples(res) != 1) {
        so_req_pg_error(r, "api_inv_answer");
        goto done;
    }

    if (api_tx(r, "COMMIT") != SO_OK) {
        goto done;
    }
    tx = 0;

    so_log_info(r->path, "%s=%s invitation=%s user=%s: %s",
                project[0] != '\0' ? "project" : "team",
                project[0] != '\0' ? project : team, r->ids, r->uids, v);

    so_req_json(r, 200, api_invitation_json(r, res, 0));

done:

    if (tx) {
        (void) so_pg_tx(r->pg, "ROLLBACK");
    }

    PQclear(res);
}


void
api_invitations_accept(so_req_t *r)
{
    api_invitation_answer(r, 1);
}


void
api_invitations_decline(so_req_t *r)
{
    api_invitation_answer(r, 0);
}
