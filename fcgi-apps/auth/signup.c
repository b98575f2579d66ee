/*
 * signup.c: POST /auth/v1/signup {email, password, name} creates an account
 * and signs it in.  Uniqueness of the email is left to the unique index:
 * checking first and inserting after would let two signups race.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_log.h"
#include "so_password.h"
#include "auth.h"


void
auth_signup(so_req_t *r)
{
    static const char *const  fields[] = { "email", "password", "name",
                                           NULL };
    json_t       *body;
    PGresult     *res;
    so_argon2_t   a2;
    const char   *pw, *name;
    char         *phc;
    char          email[SO_EMAIL_MAX_LEN + 1], id[32];
    size_t        pwlen;

    body = NULL;
    res = NULL;
    phc = NULL;

    if (so_account_read_credentials(r, &body, fields, email, &pw, &pwlen)
        != SO_OK
        || so_account_password_ok(r, "password", pw, pwlen, email) != SO_OK
        || so_account_read_name(r, body, "", &name) != SO_OK)
    {
        goto done;
    }

    so_account_argon2(&a2, r->cfg);
    if (so_password_hash(&phc, &a2, pw, pwlen) != 0) {
        so_log_error(r->path, "hashing a password failed");
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    res = so_pg_query(r->pg, "signup_insert",
                      "INSERT INTO users (email, name, password_hash)"
                      " VALUES ($1, $2, $3) RETURNING id",
                      SO_PG_PARAMS(email, name, phc));
    if (res == NULL) {
        if (strcmp(so_pg_sqlstate(r->pg), "23505") == 0) {
            so_req_error(r, 409, "email_taken",
                         "an account with this email exists", "email");
            goto done;
        }
        so_req_pg_error(r, "creating an account");
        goto done;
    }

    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    so_log_info(r->path, "user=%s: account created", id);

    auth_session_respond(r, 201, id, NULL);

done:

    free(phc);
    PQclear(res);
    json_decref(body);
}
