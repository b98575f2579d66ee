/*
 * so_authz.h: may this caller do this to that object?  The one place every
 * endpoint asks, so the rules of DESIGN.md live once:
 *
 *   - an object the caller may not see is 404, exactly like one that does
 *     not exist (a malformed or out-of-range id included): ids of other
 *     people's objects cannot be probed;
 *   - an object the caller sees but may not change is 403 "forbidden";
 *   - a personal token acts only within its scopes: 403
 *     "insufficient_scope" otherwise, whatever the caller's role.
 *
 * A need is the action of the request (READ, WRITE or DELETE: the token
 * scope it takes) or'ed with the relation the caller must have with the
 * object (member or owner of a team, invitee of an invitation).  Every
 * need carries exactly one action, so no endpoint can forget the scopes:
 *
 *   so_authz(r, &p, SO_OBJ_TEAM, r->args[0],
 *            SO_NEED_WRITE | SO_NEED_OWNER, &team_id, NULL);
 *
 * Each kind of object is one row of a table in so_authz.c: one query that
 * finds the object and the caller's relations with it in one go (the
 * caller is in its WHERE clause), and the names of those relations.  A
 * kind whose rights are the actions themselves (a project: READ, WRITE,
 * DELETE from its owner, direct grants and linked teams) lists the actions
 * as its relations: then SO_NEED_WRITE asks both the token and the caller's
 * rights on the object for WRITE.
 */

#ifndef SO_AUTHZ_H
#define SO_AUTHZ_H

#include "so_auth.h"
#include "so_req.h"

/*
 * What a route acts on (its row of the route table, so_fcgi.h).  The
 * objects come first: so_authz() finds them by the id in the path.  A
 * kind without a query (token, detection) is the caller's own: its id is
 * only parsed, the handler's statement has the caller in its WHERE clause.
 * The kinds past SO_OBJ_NKINDS have no object.
 */
typedef enum {
    SO_OBJ_TEAM = 0,
    SO_OBJ_INVITATION,
    SO_OBJ_PROJECT,
    SO_OBJ_DEPLOYMENT,          /* its project's rights */
    SO_OBJ_TOKEN,               /* the caller's own: no query */
    SO_OBJ_DETECTION,           /* the caller's own: no query */
    SO_OBJ_NKINDS,

    SO_OBJ_NONE = SO_OBJ_NKINDS, /* a caller with the need's scope */
    SO_OBJ_ACCOUNT,             /* the same, and the caller's users row */
    SO_OBJ_PUBLIC               /* anyone: the handler checks what it
                                   needs (a signature, a password) */
} so_object_t;

/* the action: the token scope it takes */
#define SO_NEED_READ     SO_SCOPE_READ
#define SO_NEED_WRITE    SO_SCOPE_WRITE
#define SO_NEED_DELETE   SO_SCOPE_DELETE
#define SO_NEED_ACTIONS  SO_SCOPE_ALL

/* the relation with the object; "owner" includes "member" */
#define SO_NEED_MEMBER   0x0100      /* team */
#define SO_NEED_OWNER    0x0200      /* team; project, deployment: the
                                        owner user or the owning team's
                                        owner */
#define SO_NEED_INVITEE  0x0400      /* invitation: addressed to the caller
                                        (SO_SQL_INVITEE) */

/*
 * An invitation i (team_invitations) addressed to the user whose id is the
 * SQL expression user: a team invitation or a transfer offer to the user's
 * email, when that email is verified, or a transfer offer to a team the
 * user owns.  Shared by so_authz() and the invitations inbox.
 */
#define SO_SQL_INVITEE(user)                                                  \
    " (EXISTS (SELECT 1 FROM users u WHERE u.id = " user                      \
    "   AND u.email = i.email AND u.email_verified)"                          \
    "  OR EXISTS (SELECT 1 FROM team_members o"                               \
    "   WHERE o.team_id = i.to_team_id AND o.user_id = " user                 \
    "   AND o.role = 'owner'))"

/*
 * Checks that the principal may act on the object of the kind whose id is
 * the path segment id.  0 with *out_id the parsed id and, when out_rights
 * is not NULL, the caller's relations with the object (SO_NEED_* bits);
 * otherwise the request is answered (404, 403, 503 or 500) and the result
 * is SO_ENOTFOUND, SO_EDENIED, SO_EUNAVAIL or SO_ERR.
 */
int so_authz(so_req_t *r, const so_principal_t *p, so_object_t kind,
    const char *id, unsigned need, long long *out_id, unsigned *out_rights);

/*
 * The scope check alone, for requests without an object (create, list):
 * 0, or 403 insufficient_scope answered and SO_EDENIED.
 */
int so_authz_scope(so_req_t *r, const so_principal_t *p, unsigned need);

/*
 * The check of a route of kind with need (SO_OBJ_PUBLIC excluded), before
 * its handler: authenticates the caller into r->principal, then checks
 * the scope (SO_OBJ_NONE, SO_OBJ_ACCOUNT) or the object whose id is
 * r->args[0] (so_authz()) into r->id, r->ids and r->rights.
 * SO_OBJ_ACCOUNT also leaves the caller's users row (SO_ACCOUNT_USER_COLS)
 * in r->account, which the caller PQclear()s.  0, or the request is
 * answered (401, 403, 404, 503 or 500) and the result is negative.
 */
int so_authz_request(so_req_t *r, so_object_t kind, unsigned need);

/* the 403 forbidden of so_authz() for a relation the caller lacks */
void so_authz_forbidden(so_req_t *r, so_object_t kind);


/* the pure parts, exposed for the unit tests */

/* a path id: 1 to 19 digits, 1 .. LLONG_MAX; 0 or SO_ENOTFOUND */
int so_authz_parse_id(const char *s, long long *out);

/* relation names as the kind's query returns them ("owner") -> bits */
unsigned so_authz_rights(so_object_t kind, const char *names);

/*
 * need against the caller's rights on the object and the token's scopes:
 * 0, or SO_EDENIED with *code "forbidden" or "insufficient_scope".
 */
int so_authz_check(so_object_t kind, unsigned need, unsigned rights,
    unsigned scopes, const char **code);

#endif /* SO_AUTHZ_H */
