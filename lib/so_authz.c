/*
 * so_authz.c: the authorization decision of every endpoint (see
 * so_authz.h for the rules).
 *
 * One row of so_authz_kinds per kind of object: its query takes the
 * object id ($1) and the caller ($2) and returns no row when the caller
 * has no relation with the object (or it does not exist: the same 404),
 * or one row whose only column names the caller's relations,
 * comma-separated ("owner", later "READ,WRITE").  Names, not bits, cross
 * the SQL boundary so the numbers live only in so_authz.h; the names are
 * mapped by the kind's own table.  A kind with several sources of rights
 * (a project: owner, grants, teams) aggregates them in its one query with
 * string_agg.  A kind without a query is the caller's own (its row names
 * the caller): the scope is checked, then the id parsed, as the handlers
 * of those kinds always did.
 *
 * so_authz_request() is the check so_fcgi runs before a route's handler,
 * as the route table declares it: the handlers start at their own logic.
 */

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_authz.h"
#include "so_log.h"


#define SO_AUTHZ_MAX_NAMES  5


typedef struct {
    const char  *name;
    unsigned     bits;
} so_authz_name_t;


typedef struct {
    const char        *noun;        /* "team": messages */
    const char        *stmt;        /* the prepared statement's name */
    const char        *sql;
    unsigned           relations;   /* the SO_NEED_* bits checked as rights */
    so_authz_name_t    names[SO_AUTHZ_MAX_NAMES];
} so_authz_kind_t;


/*
 * A project's rights for the caller ($2), given the project as the CTE p:
 * the union of its owner (a user: everything and "owner"; a team: its
 * owner everything and "owner", its members READ and WRITE), the direct
 * grant and the grants of every linked team the caller is a member of.
 * No source at all: string_agg of no rows is NULL, the 404.
 */
#define SO_AUTHZ_PROJECT_RIGHTS                                               \
    " SELECT string_agg(DISTINCT s, ',') FROM ("                              \
    "  SELECT unnest(ARRAY['READ', 'WRITE', 'DELETE', 'owner']) AS s"        \
    "   FROM p WHERE p.owner_user_id = $2"                                    \
    "  UNION ALL"                                                             \
    "  SELECT unnest(CASE m.role WHEN 'owner'"                                \
    "   THEN ARRAY['READ', 'WRITE', 'DELETE', 'owner']"                       \
    "   ELSE ARRAY['READ', 'WRITE'] END)"                                     \
    "   FROM p JOIN team_members m ON m.team_id = p.owner_team_id"            \
    "   WHERE m.user_id = $2"                                                 \
    "  UNION ALL"                                                             \
    "  SELECT unnest(g.scopes) FROM p"                                        \
    "   JOIN project_members g ON g.project_id = p.id"                        \
    "   WHERE g.user_id = $2"                                                 \
    "  UNION ALL"                                                             \
    "  SELECT unnest(t.scopes) FROM p"                                        \
    "   JOIN project_teams t ON t.project_id = p.id"                          \
    "   JOIN team_members m ON m.team_id = t.team_id"                         \
    "   WHERE m.user_id = $2) r"

#define SO_AUTHZ_PROJECT_NAMES                                                \
    { { "READ", SO_NEED_READ },                                               \
      { "WRITE", SO_NEED_WRITE },                                             \
      { "DELETE", SO_NEED_DELETE },                                           \
      { "owner", SO_NEED_OWNER } }


static const so_authz_kind_t  so_authz_kinds[SO_OBJ_NKINDS] = {

    [SO_OBJ_TEAM] = {
        "team", "so_authz_team",
        "SELECT m.role FROM team_members m"
        " WHERE m.team_id = $1 AND m.user_id = $2",
        SO_NEED_MEMBER | SO_NEED_OWNER,
        { { "member", SO_NEED_MEMBER },
          { "owner", SO_NEED_MEMBER | SO_NEED_OWNER },
          { NULL, 0 } }
    },

    /* addressed to the caller's verified email or a team the caller owns */
    [SO_OBJ_INVITATION] = {
        "invitation", "so_authz_invitation",
        "SELECT 'invitee' FROM team_invitations i"
        " WHERE i.id = $1 AND" SO_SQL_INVITEE("$2"),
        SO_NEED_INVITEE,
        { { "invitee", SO_NEED_INVITEE },
          { NULL, 0 } }
    },

    [SO_OBJ_PROJECT] = {
        "project", "so_authz_project",
        "WITH p AS (SELECT id, owner_user_id, owner_team_id FROM projects"
        "           WHERE id = $1)"
        SO_AUTHZ_PROJECT_RIGHTS,
        SO_NEED_ACTIONS | SO_NEED_OWNER,
        SO_AUTHZ_PROJECT_NAMES
    },

    [SO_OBJ_DEPLOYMENT] = {
        "deployment", "so_authz_deployment",
        "WITH p AS (SELECT p.id, p.owner_user_id, p.owner_team_id"
        "           FROM deployments d JOIN projects p ON p.id = d.project_id"
        "           WHERE d.id = $1)"
        SO_AUTHZ_PROJECT_RIGHTS,
        SO_NEED_ACTIONS | SO_NEED_OWNER,
        SO_AUTHZ_PROJECT_NAMES
    },

    /* the caller's own: the handler's statement has the caller in it */
    [SO_OBJ_TOKEN] = {
        "token", NULL, NULL, 0, { { NULL, 0 } }
    },

    [SO_OBJ_DETECTION] = {
        "detection", NULL, NULL, 0, { { NULL, 0 } }
    },
};


int
so_authz_parse_id(const char *s, long long *out)
{
    unsigned long long  v;
    size_t              n;

    *out = 0;
    v = 0;

    for (n = 0; s[n] != '\0'; n++) {
        if (s[n] < '0' || s[n] > '9' || n == 19) {
            return SO_ENOTFOUND;
        }
        v = v * 10 + (unsigned long long) (s[n] - '0');
    }

    /* 19 digits fit an unsigned long long; LLONG_MAX has 19 digits */
    if (v == 0 || v > (unsigned long long) LLONG_MAX) {
        return SO_ENOTFOUND;
    }

    *out = (long long) v;
    return SO_OK;
}


unsigned
so_authz_rights(so_object_t kind, const char *names)
{
    const so_authz_kind_t  *k;
    const char             *p, *end;
    unsigned                bits;
    size_t                  i, len;

    assert(kind < SO_OBJ_NKINDS);
    k = &so_authz_kinds[kind];
    bits = 0;

    for (p = names; *p != '\0'; p = (*end == ',') ? end + 1 : end) {
        end = strchr(p, ',');
        if (end == NULL) {
            end = p + strlen(p);
        }
        len = (size_t) (end - p);

        for (i = 0; k->names[i].name != NULL; i++) {
            if (strlen(k->names[i].name) == len
                && strncmp(k->names[i].name, p, len) == 0)
            {
                bits |= k->names[i].bits;
                break;
            }
        }
    }

    return bits;
}


int
so_authz_check(so_object_t kind, unsigned need, unsigned rights,
    unsigned scopes, const char **code)
{
    unsigned  action, relation;

    assert(kind < SO_OBJ_NKINDS);

    action = need & SO_NEED_ACTIONS;
    relation = need & so_authz_kinds[kind].relations;

    /* exactly one action, and nothing the kind does not know */
    assert(action != 0 && (action & (action - 1)) == 0);
    assert((need & ~(SO_NEED_ACTIONS | so_authz_kinds[kind].relations))
           == 0);

    *code = NULL;

    if ((scopes & action) != action) {
        *code = "insufficient_scope";
        return SO_EDENIED;
    }

    if ((rights & relation) != relation) {
        *code = "forbidden";
        return SO_EDENIED;
    }

    return SO_OK;
}


int
so_authz_scope(so_req_t *r, const so_principal_t *p, unsigned need)
{
    unsigned  action;

    action = need & SO_NEED_ACTIONS;
    assert(action != 0 && (need & ~SO_NEED_ACTIONS) == 0);

    if ((p->scopes & action) == action) {
        return SO_OK;
    }

    so_req_error(r, 403, "insufficient_scope",
                 action == SO_NEED_READ
                 ? "this token lacks the READ scope"
                 : action == SO_NEED_WRITE
                 ? "this token lacks the WRITE scope"
                 : "this token lacks the DELETE scope", NULL);

    return SO_EDENIED;
}


int
so_authz(so_req_t *r, const so_principal_t *p, so_object_t kind,
    const char *id, unsigned need, long long *out_id, unsigned *out_rights)
{
    const so_authz_kind_t  *k;
    const char             *code;
    PGresult               *res;
    char                    ids[2][24], msg[SO_ERRLEN];
    unsigned                rights;
    long long               oid;
    int                     rc;

    assert(kind < SO_OBJ_NKINDS);
    k = &so_authz_kinds[kind];
    res = NULL;
    *out_id = 0;
    if (out_rights != NULL) {
        *out_rights = 0;
    }

    if (k->sql == NULL) {
        rc = so_authz_scope(r, p, need);
        if (rc != SO_OK) {
            goto done;
        }
    }

    if (so_authz_parse_id(id, &oid) != SO_OK) {
        rc = SO_ENOTFOUND;
        goto not_found;
    }

    if (k->sql == NULL) {
        *out_id = oid;
        rc = SO_OK;
        goto done;
    }

    snprintf(ids[0], sizeof(ids[0]), "%lld", oid);
    snprintf(ids[1], sizeof(ids[1]), "%lld", p->user_id);

    res = so_req_query(r, k->stmt, k->sql, SO_PG_PARAMS(ids[0], ids[1]));
    if (res == NULL) {
        rc = so_pg_code(r->pg);
        goto done;
    }

    if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0)) {
        rc = SO_ENOTFOUND;
        goto not_found;
    }

    rights = so_authz_rights(kind, PQgetvalue(res, 0, 0));

    rc = so_authz_check(kind, need, rights, p->scopes, &code);
    if (rc != SO_OK) {
        if (strcmp(code, "insufficient_scope") == 0) {
            rc = so_authz_scope(r, p, need & SO_NEED_ACTIONS);
        } else {
            so_authz_forbidden(r, kind);
        }
        goto done;
    }

    *out_id = oid;
    if (out_rights != NULL) {
        *out_rights = rights;
    }

    rc = SO_OK;
    goto done;

not_found:

    snprintf(msg, sizeof(msg), "no such %s", k->noun);
    so_req_error(r, 404, "not_found", msg, NULL);

done:

    PQclear(res);
    return rc;
}


void
so_authz_forbidden(so_req_t *r, so_object_t kind)
{
    char  msg[SO_ERRLEN];

    assert(kind < SO_OBJ_NKINDS);

    snprintf(msg, sizeof(msg), "you may not do this to this %s",
             so_authz_kinds[kind].noun);
    so_req_error(r, 403, "forbidden", msg, NULL);
}


int
so_authz_request(so_req_t *r, so_object_t kind, unsigned need)
{
    int  rc;

    assert(kind != SO_OBJ_PUBLIC);

    rc = so_authenticate_account(r, &r->principal,
                                 kind == SO_OBJ_ACCOUNT ? &r->account : NULL);
    if (rc != SO_OK) {
        return rc;
    }
    snprintf(r->uids, sizeof(r->uids), "%lld", r->principal.user_id);

    if (kind == SO_OBJ_NONE || kind == SO_OBJ_ACCOUNT) {
        return so_authz_scope(r, &r->principal, need);
    }

    /* a route of an object names it first: "/api/v1/projects/:id/..." */
    assert(r->nargs > 0);

    rc = so_authz(r, &r->principal, kind, r->args[0], need, &r->id,
                  &r->rights);
    if (rc == SO_OK) {
        snprintf(r->ids, sizeof(r->ids), "%lld", r->id);
    }

    return rc;
}
