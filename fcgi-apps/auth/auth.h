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
 * .../callback, POST /auth/v1/oauth/finish */
void auth_oauth_providers(so_req_t *r);
void auth_oauth_start(so_req_t *r);
void auth_oauth_callback(so_req_t *r);
void auth_oauth_finish(so_req_t *r);

#define AUTH_TOKEN_LEN  64     /* room for a prefixed 32-byte token */

/* a session just made: its user, access token and refresh token */
typedef struct {
    json_t  *user;
    char    *access;
    char     refresh[AUTH_TOKEN_LEN];
} auth_session_t;

/*
 * Starts (family NULL: a new login) or continues a session of user_id:
 * the refresh token stored (as its hash), the access token signed.  0,
 * or an error code with the request answered; auth_session_free() wipes.
 */
int auth_session_make(so_req_t *r, const char *user_id, const char *family,
    auth_session_t *s);
void auth_session_free(auth_session_t *s);

/* auth_session_make() answered with status and {user, access_token,
 * refresh_token, token_type, expires_in} */
void auth_session_respond(so_req_t *r, int status, const char *user_id,
    const char *family);

/*
 * Spends the refresh token of this SHA-256 hex and answers the next pair
 * of its family; 401 invalid_token when it is unknown, expired or spent
 * (a spent one revokes its family: it was copied).
 */
void auth_session_spend(so_req_t *r, const char *hash);

/* the app's init hook: the password hashing semaphore, libcurl */
int auth_init(const so_config_t *cfg);

#endif /* AUTH_H */
