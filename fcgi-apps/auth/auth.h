/*
 * auth.h: the handlers of the authentication app (/auth/v1/...) and the
 * session helpers they share.
 */

#ifndef AUTH_H
#define AUTH_H

#include "so_fcgi.h"

/* refresh tokens are "shr_" + 256 random bits, base64url */
#define AUTH_REFRESH_PREFIX  "shr_"

void auth_signup(so_req_t *r);
void auth_login(so_req_t *r);
void auth_refresh(so_req_t *r);
void auth_logout(so_req_t *r);

/* oauth.c: GET /auth/v1/providers, /auth/v1/oauth/:provider/start and
 * .../callback */
void auth_oauth_providers(so_req_t *r);
void auth_oauth_start(so_req_t *r);
void auth_oauth_callback(so_req_t *r);

/*
 * Starts (family NULL: a new login) or continues a session of user_id and
 * answers status with {user, access_token, refresh_token, token_type,
 * expires_in}.  Answers errors itself.
 */
void auth_session_respond(so_req_t *r, int status, const char *user_id,
    const char *family);

/* the app's init hook: the password hashing semaphore, libcurl */
int auth_init(const so_config_t *cfg);

#endif /* AUTH_H */
