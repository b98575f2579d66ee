/*
 * session.c: sessions.  A login yields a short-lived JWT access token and
 * an opaque refresh token (stored as its SHA-256) in a new family.  A
 * refresh spends its token with one conditional UPDATE, so of two
 * concurrent refreshes of one token exactly one wins; presenting a token
 * that was already spent means it was copied, so the whole family (the
 * thief's and the user's descendants alike) is revoked.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_crypto.h"
#include "so_input.h"
#include "so_log.h"
#include "auth.h"


static int auth_read_refresh(so_req_t *r, char hash[SO_SHA256_HEXLEN]);
static int auth_revoke_family(so_req_t *r, const char *family);


int
auth_session_make(so_req_t *r, const char *user_id, const char *family,
    auth_session_t *s)
{
    so_jwt_conf_t   jc;
    unsigned char   key[32];
    PGresult       *res;
    long long       gen;
    char            fam[AUTH_TOKEN_LEN];
    char            hash[SO_SHA256_HEXLEN], ttl[32];

    memset(s, 0, sizeof(*s));

    res = so_pg_query(r->pg, "session_user",
                      "SELECT " SO_ACCOUNT_USER_COLS ", token_gen"
                      " FROM users WHERE id = $1",
                      SO_PG_PARAMS(user_id));
    if (res == NULL) {
        goto unavailable;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        so_req_error(r, 401, "invalid_credentials",
                     "the account no longer exists", NULL);
        return SO_ENOTFOUND;
    }
    s->user = so_account_user_json(res, 0, 0);
    gen = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
    PQclear(res);

    if (family == NULL) {
        if (so_random_token(fam, sizeof(fam), 16) != 0) {
            goto internal;
        }
        family = fam;
    }

    if (so_secret_token(s->refresh, sizeof(s->refresh), AUTH_REFRESH_PREFIX,
                        32, hash) != SO_OK)
    {
        goto internal;
    }
    snprintf(ttl, sizeof(ttl), "%d", r->cfg->refresh_ttl);

    res = so_pg_query(r->pg, "session_insert",
                      "INSERT INTO refresh_tokens"
                      " (user_id, family, token_hash, expires_at)"
                      " VALUES ($1, $2, $3,"
                      " now() + make_interval(secs => $4::int))",
                      SO_PG_PARAMS(user_id, family, hash, ttl));
    if (res == NULL) {
        goto unavailable;
    }
    PQclear(res);

    if (so_auth_jwt_conf(&jc, key, r->cfg) != SO_OK
        || so_jwt_sign(&s->access, &jc, user_id, gen, "access",
                       (long long) time(NULL), r->cfg->access_ttl) != 0)
    {
        so_wipe(key, sizeof(key));
        goto internal;
    }
    so_wipe(key, sizeof(key));

    return SO_OK;

unavailable:

    auth_session_free(s);
    so_req_pg_error(r, "starting a session");
    return SO_EUNAVAIL;

internal:

    auth_session_free(s);
    so_log_error(r->path, "user=%s: cannot make a token", user_id);
    so_req_error(r, 500, "internal", "internal error", NULL);
    return SO_ERR;
}


void
auth_session_free(auth_session_t *s)
{
    so_wipe(s->refresh, sizeof(s->refresh));
    if (s->access != NULL) {
        so_wipe(s->access, strlen(s->access));
        free(s->access);
        s->access = NULL;
    }
    json_decref(s->user);
    s->user = NULL;
}


void
auth_session_respond(so_req_t *r, int status, const char *user_id,
    const char *family)
{
    auth_session_t  s;

    if (auth_session_make(r, user_id, family, &s) != SO_OK) {
        return;
    }

    so_req_json(r, status,
                json_pack("{s:O, s:s, s:s, s:s, s:i}",
                          "user", s.user,
                          "access_token", s.access,
                          "refresh_token", s.refresh,
                          "token_type", "Bearer",
                          "expires_in", r->cfg->access_ttl));
    auth_session_free(&s);
}


/*
 * reads {"refresh_token": ...} and hashes the token, as it is stored: 0,
 * or answered (4xx) and SO_EINVAL
 */
static int
auth_read_refresh(so_req_t *r, char hash[SO_SHA256_HEXLEN])
{
    static const char *const  fields[] = { "refresh_token", NULL };
    json_t                    *body;
    const char                *token;
    size_t                     len;
    int                        rc;

    if (so_req_read_json(r, &body) != 0) {
        return SO_EINVAL;
    }

    rc = SO_EINVAL;

    if (so_input_known(r, body, fields) == SO_OK
        && so_input_string(r, body, "refresh_token", 1, 1, 512, &token,
                           &len) == SO_OK)
    {
        so_sha256_hex(hash, token, strlen(token));
        rc = SO_OK;
    }

    json_decref(body);
    return rc;
}


static int
auth_revoke_family(so_req_t *r, const char *family)
{
    PGresult  *res;

    res = so_pg_query(r->pg, "session_revoke_family",
                      "UPDATE refresh_tokens SET revoked_at = now()"
                      " WHERE family = $1 AND revoked_at IS NULL",
                      SO_PG_PARAMS(family));
    if (res == NULL) {
        so_req_pg_error(r, "revoking a session");
        return SO_EUNAVAIL;
    }

    PQclear(res);
    return SO_OK;
}


void
auth_refresh(so_req_t *r)
{
    char  hash[SO_SHA256_HEXLEN];

    if (auth_read_refresh(r, hash) == SO_OK) {
        auth_session_spend(r, hash);
    }
}


void
auth_session_spend(so_req_t *r, const char *hash)
{
    PGresult    *res;
    char         user_id[32], family[AUTH_TOKEN_LEN];

    res = so_pg_query(r->pg, "session_spend",
                      "UPDATE refresh_tokens SET spent_at = now()"
                      " WHERE token_hash = $1 AND spent_at IS NULL"
                      " AND revoked_at IS NULL AND expires_at > now()"
                      " RETURNING user_id, family",
                      SO_PG_PARAMS(hash));
    if (res == NULL) {
        goto unavailable;
    }

    if (PQntuples(res) == 1) {
        snprintf(user_id, sizeof(user_id), "%s", PQgetvalue(res, 0, 0));
        snprintf(family, sizeof(family), "%s", PQgetvalue(res, 0, 1));
        auth_session_respond(r, 200, user_id, family);
        goto done;
    }

    PQclear(res);
    res = so_pg_query(r->pg, "session_reused",
                      "SELECT family, user_id FROM refresh_tokens"
                      " WHERE token_hash = $1"
                      " AND (spent_at IS NOT NULL OR revoked_at IS NOT NULL)",
                      SO_PG_PARAMS(hash));
    if (res == NULL) {
        goto unavailable;
    }

    if (PQntuples(res) == 1) {
        so_log_warn(r->path, "user=%s: a spent or revoked refresh token was "
                    "presented: its family is revoked",
                    PQgetvalue(res, 0, 1));
        if (auth_revoke_family(r, PQgetvalue(res, 0, 0)) != SO_OK) {
            goto done;
        }
    }

    so_req_error(r, 401, "invalid_token",
                 "the refresh token is invalid, expired or spent", NULL);
    goto done;

unavailable:

    so_req_pg_error(r, "refreshing a session");

done:

    PQclear(res);
}


void
auth_logout(so_req_t *r)
{
    PGresult    *res;
    char         hash[SO_SHA256_HEXLEN];

    if (auth_read_refresh(r, hash) != SO_OK) {
        return;
    }

    res = so_pg_query(r->pg, "session_logout",
                      "UPDATE refresh_tokens SET revoked_at = now()"
                      " WHERE family = (SELECT family FROM refresh_tokens"
                      " WHERE token_hash = $1) AND revoked_at IS NULL",
                      SO_PG_PARAMS(hash));
    if (res == NULL) {
        so_req_pg_error(r, "logging out");
        return;
    }

    PQclear(res);
    so_req_empty(r, 204);
}
