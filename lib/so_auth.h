/*
 * so_auth.h: who is calling.  so_fcgi asks so_authenticate() for every
 * route that is not public, before its handler runs (so_authz_request()).
 *
 * Accepted credentials, both as "Authorization: Bearer <credential>":
 *   - a JWT access token (HS256, see so_jwt.h) of a user that still exists;
 *   - a personal API token ("sho_..."), looked up by its SHA-256, neither
 *     revoked nor expired; its scopes cap what the caller may do.
 * A failure answers 401 {"error":{"code":"unauthorized",...}} with
 * WWW-Authenticate: Bearer, logs the reason (never the credential) and
 * returns a negative code: the handler just returns.
 */

#ifndef SO_AUTH_H
#define SO_AUTH_H

#include "so_jwt.h"
#include "so_req.h"

#define SO_SCOPE_READ    0x01
#define SO_SCOPE_WRITE   0x02
#define SO_SCOPE_DELETE  0x04
#define SO_SCOPE_ALL     (SO_SCOPE_READ | SO_SCOPE_WRITE | SO_SCOPE_DELETE)

#define SO_PAT_PREFIX    "sho_"

int so_authenticate(so_req_t *r, so_principal_t *p);

/*
 * so_authenticate() that also hands over the caller's account row
 * (SO_ACCOUNT_USER_COLS, one row) in *account, which the caller PQclear()s:
 * for a JWT the lookup that proves the user still exists is that row, so
 * GET /api/v1/me costs one query, not two.
 */
int so_authenticate_account(so_req_t *r, so_principal_t *p,
    PGresult **account);

/* the JWT settings of cfg; key receives the decoded jwt_key */
int so_auth_jwt_conf(so_jwt_conf_t *jc, unsigned char key[32],
    const so_config_t *cfg);

#endif /* SO_AUTH_H */
