/*
 * me.c: the caller's own account.
 *
 *   GET   /api/v1/me   {id, email, name, created_at}
 *   PATCH /api/v1/me   {name?, password?, old_password?}
 *
 * A new password needs the current one (a stolen access token alone must
 * not take the account over), follows the signup policy, and ends every
 * session of the user: refresh tokens issued before the change are
 * revoked and the token generation is bumped, so every access token
 * issued before (the caller's too) stops working at once: a thief's
 * session dies with the old password.  Personal API tokens stay: they are
 * revoked one by one (DELETE /api/v1/tokens/:id).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_input.h"
#include "so_log.h"
#include "so_password.h"
#include "api.h"


static int api_me_password(so_req_t *r, json_t *body, const char *user_id,
    const char *email, const char *phc, char **newphc);


/* the route (SO_OBJ_ACCOUNT) read the row with the caller's credential */
void
api_me_get(so_req_t *r)
{
    so_req_json(r, 200, so_account_user_json(r->account, 0, 0));
}


/* 0 with *newphc, SO_ENOTFOUND without a new password, or answered */
static int
api_me_password(so_req_t *r, json_t *body, const char *user_id,
    const char *email, const char *phc, char **newphc)
{
    so_argon2_t   a2;
    const char   *pw, *old;
    size_t        pwlen, oldlen;
    int           rc, rehash;

    *newphc = NULL;

    rc = so_input_string(r, body, "password", 0, 0, (size_t) -1, &pw,
                         &pwlen);
    if (rc != SO_OK) {
        return rc;
    }

    if (so_input_string(r, body, "old_password", 1, 0, (size_t) -1, &old,
                        &oldlen) != SO_OK
        || so_account_password_ok(r, "password", pw, pwlen, email) != SO_OK)
    {
        return SO_EINVAL;
    }

    so_account_argon2(&a2, r->cfg);

    if (phc == NULL) {
        so_password_dummy(&a2, old, oldlen);
        rc = SO_EINVAL;
    } else {
        rc = so_password_verify(&rehash, phc, &a2, old, oldlen);
    }

    if (rc == SO_EINVAL) {
        so_log_info(r->path, "user=%s: wrong old password", user_id);
        so_req_error(r, 403, "invalid_credentials",
                     "the old password is wrong", "old_password");
        return SO_EINVAL;
    }

    if (rc != SO_OK || so_password_hash(newphc, &a2, pw, pwlen) != 0) {
        so_log_error(r->path, "user=%s: hashing a password failed",
                     user_id);
        so_req_error(r, 500, "internal", "internal error", NULL);
        return SO_ERR;
    }

    return SO_OK;
}


void
api_me_patch(so_req_t *r)
{
    static const char *const  fields[] = { "name", "password",
                                           "old_password", NULL };
    json_t          *body;
    PGresult        *res;
    const char      *name;
    char            *phc;
    int              rc;

    body = NULL;
    res = NULL;
    phc = NULL;

    if (so_req_read_json(r, &body) != 0
        || so_input_known(r, body, fields) != SO_OK
        || so_account_read_name(r, body, NULL, &name) != SO_OK)
    {
        goto done;
    }

    if (json_object_get(body, "old_password") != NULL
        && json_object_get(body, "password") == NULL)
    {
        so_req_error(r, 422, "validation_failed",
                     "old_password goes with a new password", "password");
        goto done;
    }

    res = so_pg_query(r->pg, "me_password",
                      "SELECT email, password_hash FROM users WHERE id = $1",
                      SO_PG_PARAMS(r->uids));
    if (res == NULL) {
        goto unavailable;
    }
    if (PQntuples(res) != 1) {
        so_req_error(r, 404, "not_found", "no such user", NULL);
        goto done;
    }

    rc = api_me_password(r, body, r->uids, PQgetvalue(res, 0, 0),
                         PQgetisnull(res, 0, 1) ? NULL
                                                : PQgetvalue(res, 0, 1),
                         &phc);
    if (rc != SO_OK && rc != SO_ENOTFOUND) {
        goto done;
    }
    PQclear(res);

    /*
     * NULL parameters keep the column as it is; a new password and the
     * end of the old sessions are one statement, so one never happens
     * without the other
     */
    res = so_pg_query(r->pg, "me_update",
                      "WITH revoked AS (UPDATE refresh_tokens"
                      " SET revoked_at = now() WHERE $3::text IS NOT NULL"
                      " AND user_id = $1 AND revoked_at IS NULL)"
                      " UPDATE users SET name = coalesce($2, name),"
                      " password_hash = coalesce($3, password_hash),"
                      " token_gen = token_gen"
                      " + CASE WHEN $3::text IS NULL THEN 0 ELSE 1 END,"
                      " updated_at = now() WHERE id = $1"
                      " RETURNING " SO_ACCOUNT_USER_COLS,
                      SO_PG_PARAMS(r->uids, name, phc));
    if (res == NULL) {
        goto unavailable;
    }
    if (PQntuples(res) != 1) {
        so_req_error(r, 404, "not_found", "no such user", NULL);
        goto done;
    }

    if (phc != NULL) {
        so_log_info(r->path, "user=%s: password changed, sessions revoked",
                    r->uids);
    }

    so_req_json(r, 200, so_account_user_json(res, 0, 0));
    goto done;

unavailable:

    so_req_pg_error(r, "changing the account");

done:

    free(phc);
    PQclear(res);
    json_decref(body);
}
