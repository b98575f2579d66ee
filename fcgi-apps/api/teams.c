/*
 * teams.c: /api/v1/teams: create, list, read, rename and delete teams,
 * remove members (or leave), and transfer the ownership.
 *
 * A team has exactly one owner.  The partial unique index
 * team_members_one_owner allows at most one; "at least one" is kept here:
 * ownership only moves inside one transaction that locks the team row,
 * demotes the owner and then promotes the new one (the other order would
 * trip the index), and the owner cannot leave.  Invitations (invitations.c)
 * move ownership the same way, through api_team_set_owner().
 *
 * Who may do what is the route table's (main.c), checked by so_fcgi
 * before a handler runs (so_authz_request()); every statement here still
 * names the caller in its WHERE clause, so a membership that changed since
 * that check makes the statement touch nothing (answered 404) rather than
 * act on a stale decision.
 */

#include <limits.h>
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


#define API_TEAM_NAME_MAX  100                  /* characters */

/* a team as its caller sees it: t is the team, m the caller's membership */
#define API_TEAM_COLS                                                        \
    "t.id, t.name, m.role, " SO_SQL_TIME("t.created_at") ", "               \
    SO_SQL_TIME("t.updated_at")


static int api_team_input(so_req_t *r, json_t **body,
    char name[4 * API_TEAM_NAME_MAX + 1]);
static json_t *api_team_json(so_req_t *r, const PGresult *res, int row);
static json_t *api_team_members(so_req_t *r, const char *team,
    const char *user);
static void api_team_answer(so_req_t *r, int status, const char *team);


/* shared by the handlers (api.h) */
int
api_exec_one(so_req_t *r, const char *name, const char *sql, int nparams,
    const char *const *params, const char *missing, const char *field)
{
    PGresult  *res;
    int        one;

    res = so_req_query(r, name, sql, nparams, params);
    if (res == NULL) {
        return SO_ERR;
    }

    one = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);

    if (!one) {
        so_req_error(r, 404, "not_found", missing, field);
        return SO_ERR;
    }

    return SO_OK;
}


PGresult *
api_query_one(so_req_t *r, const char *name, const char *sql, int nparams,
    const char *const *params, const char *missing)
{
    PGresult  *res;

    res = so_req_query(r, name, sql, nparams, params);
    if (res == NULL) {
        return NULL;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        so_req_error(r, 404, "not_found", missing, NULL);
        return NULL;
    }

    return res;
}


int
api_tx(so_req_t *r, const char *verb)
{
    if (so_pg_tx(r->pg, verb) != SO_OK) {
        so_req_pg_error(r, verb);
        return SO_ERR;
    }

    return SO_OK;
}


PGresult *
api_tx_lock(so_req_t *r, const char *name, const char *sql,
    const char *missing)
{
    PGresult    *res;

    if (api_tx(r, "BEGIN") != SO_OK) {
        return NULL;
    }

    res = api_query_one(r, name, sql, SO_PG_PARAMS(r->ids, r->uids), missing);
    if (res == NULL) {
        (void) so_pg_tx(r->pg, "ROLLBACK");
    }

    return res;
}


void
api_no_content(so_req_t *r)
{
    so_req_header(r, "Cache-Control", "no-store");
    so_req_empty(r, 204);
}


int
api_team_set_owner(so_req_t *r, const char *team, const char *user)
{
    PGresult    *res;
    int          rc;

    res = so_pg_query(r->pg, "api_team_demote",
                      "UPDATE team_members SET role = 'member'"
                      " WHERE team_id = $1 AND role = 'owner'"
                      " AND user_id <> $2",
                      SO_PG_PARAMS(team, user));
    if (res == NULL) {
        return SO_ERR;
    }
    PQclear(res);

    res = so_pg_query(r->pg, "api_team_promote",
                      "UPDATE team_members SET role = 'owner'"
                      " WHERE team_id = $1 AND user_id = $2",
                      SO_PG_PARAMS(team, user));
    if (res == NULL) {
        return SO_ERR;
    }

    rc = strcmp(PQcmdTuples(res), "1") == 0 ? SO_OK : SO_ENOTFOUND;
    PQclear(res);

    if (rc == SO_OK) {
        so_log_info(r->path, "team=%s user=%s: now the owner", team, user);
    }

    return rc;
}


/* the body of a create or rename, {"name": ...}: 0, or answered */
static int
api_team_input(so_req_t *r, json_t **body,
    char out[4 * API_TEAM_NAME_MAX + 1])
{
    static const char *const  fields[] = { "name", NULL };
    const char               *s;
    size_t                    len, i;

    if (so_req_read_json(r, body) != SO_OK
        || so_input_known(r, *body, fields) != SO_OK
        || so_input_string(r, *body, "name", 1, 1, API_TEAM_NAME_MAX, &s,
                           &len) != SO_OK)
    {
        return SO_EINVAL;
    }

    while (len > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
        len--;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            break;
        }
    }

    if (len == 0 || i < len) {
        so_req_error(r, 422, "validation_failed",
                     "name must hold printable characters", "name");
        return SO_EINVAL;
    }

    memcpy(out, s, len);
    out[len] = '\0';
    return SO_OK;
}


static json_t *
api_team_json(so_req_t *r, const PGresult *res, int row)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s}",
                     "id", (json_int_t) strtoll(PQgetvalue(res, row, 0),
                                                NULL, 10),
                     "name", PQgetvalue(res, row, 1),
                     "role", PQgetvalue(res, row, 2),
                     "created_at", PQgetvalue(res, row, 3),
                     "updated_at", PQgetvalue(res, row, 4));
}


/* the members of a team the user belongs to, owner first; NULL: failed */
static json_t *
api_team_members(so_req_t *r, const char *team, const char *user)
{
    PGresult    *res;
    json_t      *list;

    /* the list in one row: an aggregate always yields one */
    res = so_pg_query(r->pg, "api_team_members",
                      "SELECT coalesce(json_agg(json_build_object("
                      "'user_id', u.id, 'email', u.email, 'name', u.name,"
                      " 'role', m.role, 'joined_at', "
                      SO_SQL_TIME("m.created_at") ")"
                      " ORDER BY m.role = 'owner' DESC, m.created_at, u.id),"
                      " '[]')::text"
                      " FROM team_members m JOIN users u ON u.id = m.user_id"
                      " WHERE m.team_id = $1 AND EXISTS (SELECT 1"
                      " FROM team_members c WHERE c.team_id = $1"
                      " AND c.user_id = $2)",
                      SO_PG_PARAMS(team, user));
    if (res == NULL) {
        return NULL;
    }

    list = json_loads(PQgetvalue(res, 0, 0), 0, NULL);

    PQclear(res);
    return list;
}


/* answers with the team and its members as the caller sees them */
static void
api_team_answer(so_req_t *r, int status, const char *team)
{
    PGresult    *res;
    json_t      *t, *members;

    t = NULL;

    res = api_query_one(r, "api_team_get",
                        "SELECT " API_TEAM_COLS
                        " FROM teams t"
                        " JOIN team_members m ON m.team_id = t.id"
                        " WHERE t.id = $1 AND m.user_id = $2",
                        SO_PG_PARAMS(team, r->uids),
                        "no such team");
    if (res == NULL) {
        goto done;
    }

    members = api_team_members(r, team, r->uids);
    if (members == NULL) {
        so_req_pg_error(r, "api_team_members");
        goto done;
    }

    t = api_team_json(r, res, 0);
    if (t == NULL || json_object_set_new(t, "members", members) != 0) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_req_json(r, status, t);
    t = NULL;

done:

    json_decref(t);
    PQclear(res);
}


void
api_teams_create(so_req_t *r)
{
    PGresult    *res;
    json_t      *body;
    char         name[4 * API_TEAM_NAME_MAX + 1];

    res = NULL;
    body = NULL;

    if (api_team_input(r, &body, name) != SO_OK) {
        goto done;
    }

    /* one statement: the team never exists without its owner */
    res = so_pg_query(r->pg, "api_team_create",
                      "WITH t AS (INSERT INTO teams (name) VALUES ($1)"
                      " RETURNING *),"
                      " m AS (INSERT INTO team_members (team_id, user_id,"
                      " role) SELECT id, $2, 'owner' FROM t RETURNING role)"
                      " SELECT " API_TEAM_COLS " FROM t, m",
                      SO_PG_PARAMS(name, r->uids));
    if (res == NULL || PQntuples(res) != 1) {
        so_req_pg_error(r, "api_team_create");
        goto done;
    }

    so_log_info(r->path, "team=%s user=%s: created", PQgetvalue(res, 0, 0),
                r->uids);

    api_team_answer(r, 201, PQgetvalue(res, 0, 0));

done:

    PQclear(res);
    json_decref(body);
}


void
api_teams_list(so_req_t *r)
{
    so_page_list(r, "api_team_list",
                 "SELECT " API_TEAM_COLS
                 " FROM teams t JOIN team_members m ON m.team_id = t.id"
                 " WHERE m.user_id = $1 AND t.id > $2"
                 " ORDER BY t.id LIMIT $3",
                 api_team_json);
}


void
api_teams_get(so_req_t *r)
{
    api_team_answer(r, 200, r->ids);
}


void
api_teams_update(so_req_t *r)
{
    json_t      *body;
    char         name[4 * API_TEAM_NAME_MAX + 1];

    body = NULL;

    if (api_team_input(r, &body, name) != SO_OK) {
        goto done;
    }

    if (api_exec_one(r, "api_team_update",
                     "UPDATE teams t SET name = $3, updated_at = now()"
                     " FROM team_members m"
                     " WHERE t.id = $1 AND m.team_id = t.id"
                     " AND m.user_id = $2 AND m.role = 'owner'",
                     SO_PG_PARAMS(r->ids, r->uids, name),
                     "no such team", NULL) != SO_OK)
    {
        goto done;
    }

    api_team_answer(r, 200, r->ids);

done:

    json_decref(body);
}


void
api_teams_delete(so_req_t *r)
{
    if (api_exec_one(r, "api_team_delete",
                     "DELETE FROM teams t USING team_members m"
                     " WHERE t.id = $1 AND m.team_id = t.id"
                     " AND m.user_id = $2 AND m.role = 'owner'",
                     SO_PG_PARAMS(r->ids, r->uids),
                     "no such team", NULL) != SO_OK)
    {
        return;
    }

    so_log_info(r->path, "team=%s user=%s: deleted", r->ids, r->uids);
    api_no_content(r);
}


/*
 * DELETE /api/v1/teams/:id/members/:user_id: the owner removes a member,
 * or a member leaves.  The owner cannot leave: a team without an owner
 * could never be managed again.
 */
void
api_teams_member_delete(so_req_t *r)
{
    long long    member;
    char         members[24];
    int          known, self;

    known = so_authz_parse_id(r->args[1], &member) == SO_OK;
    self = known && member == r->principal.user_id;

    /* the route asked for a member: anyone but oneself needs the owner */
    if (!self && !(r->rights & SO_NEED_OWNER)) {
        so_authz_forbidden(r, SO_OBJ_TEAM);
        return;
    }

    if (!known) {
        so_req_error(r, 404, "not_found", "no such member", NULL);
        return;
    }

    if (self && (r->rights & SO_NEED_OWNER)) {
        so_req_error(r, 409, "owner_cannot_leave",
                     "the owner cannot leave the team: transfer the "
                     "ownership first", NULL);
        return;
    }

    snprintf(members, sizeof(members), "%lld", member);

    if (api_exec_one(r, "api_team_member_delete",
                     "DELETE FROM team_members d"
                     " WHERE d.team_id = $1 AND d.user_id = $2"
                     " AND d.role = 'member'"
                     " AND (d.user_id = $3 OR EXISTS (SELECT 1"
                     " FROM team_members o WHERE o.team_id = $1"
                     " AND o.user_id = $3 AND o.role = 'owner'))",
                     SO_PG_PARAMS(r->ids, members, r->uids),
                     "no such member", NULL) != SO_OK)
    {
        return;
    }

    so_log_info(r->path, "team=%s user=%s: removed by user=%s", r->ids,
                members, r->uids);
    api_no_content(r);
}


/* POST /api/v1/teams/:id/transfer {"user_id": N}: N becomes the owner */
void
api_teams_transfer(so_req_t *r)
{
    static const char *const  fields[] = { "user_id", NULL };
    PGresult                 *res;
    json_t                   *body;
    long long                 to;
    char                      tos[24];
    int                       tx, rc;

    res = NULL;
    body = NULL;
    tx = 0;

    if (so_req_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || so_input_int(r, body, "user_id", 1, 1, LLONG_MAX, &to) != SO_OK)
    {
        goto done;
    }

    if (to == r->principal.user_id) {
        so_req_error(r, 422, "validation_failed",
                     "user_id is the owner already", "user_id");
        goto done;
    }

    /* the caller is still the owner, and nobody else moves it meanwhile */
    res = api_tx_lock(r, "api_team_lock_owned",
                      "SELECT t.id FROM teams t"
                      " JOIN team_members m ON m.team_id = t.id"
                      " WHERE t.id = $1 AND m.user_id = $2"
                      " AND m.role = 'owner' FOR UPDATE OF t",
                      "no such team");
    if (res == NULL) {
        goto done;
    }
    tx = 1;

    snprintf(tos, sizeof(tos), "%lld", to);

    rc = api_team_set_owner(r, r->ids, tos);

    if (rc == SO_ENOTFOUND) {
        so_req_error(r, 422, "validation_failed",
                     "user_id is not a member of the team", "user_id");
        goto done;
    }

    if (rc != SO_OK) {
        so_req_pg_error(r, "api_team_set_owner");
        goto done;
    }

    if (api_tx(r, "COMMIT") != SO_OK) {
        goto done;
    }
    tx = 0;

    api_team_answer(r, 200, r->ids);

done:

    if (tx) {
        (void) so_pg_tx(r->pg, "ROLLBACK");
    }

    PQclear(res);
    json_decref(body);
}
