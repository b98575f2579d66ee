/*
 * so_account.h: the rules of an account, shared by the auth app (signup,
 * login) and the API (PATCH /api/v1/me): how an email is normalised and
 * checked, the password policy, the argon2 parameters of the
 * configuration, and how a user is shown.
 */

#ifndef SO_ACCOUNT_H
#define SO_ACCOUNT_H

#include <jansson.h>

#include "so_config.h"
#include "so_password.h"
#include "so_pg.h"
#include "so_req.h"

#define SO_EMAIL_MAX_LEN        254
#define SO_NAME_MAX_CHARS       100
#define SO_PASSWORD_MIN_CHARS   8

/* a timestamptz column as RFC 3339 UTC text, for a SELECT list */
#define SO_SQL_TIME(col)                                                     \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* the columns so_account_user_json() reads, in this order */
#define SO_ACCOUNT_USER_COLS                                                 \
    "id, email, name, " SO_SQL_TIME("created_at")

/*
 * Normalises an email (trims white space, lower-cases) into out and checks
 * a basic shape: printable ASCII, one '@' between a non-empty local part
 * and a dotted domain, at most SO_EMAIL_MAX_LEN bytes.  0 or SO_EINVAL.
 */
int so_account_email(char out[SO_EMAIL_MAX_LEN + 1], const char *in,
    size_t len);

/* reads and normalises body's "email": 0 or SO_EINVAL (422 answered) */
int so_account_read_email(so_req_t *r, json_t *body,
    char out[SO_EMAIL_MAX_LEN + 1]);

/*
 * Reads the body of a signup or a login: no field but fields, "email"
 * normalised into email, "password" as sent (the policy is the caller's).
 * 0, or SO_EINVAL answered; *body is the caller's to free either way.
 */
int so_account_read_credentials(so_req_t *r, json_t **body,
    const char *const *fields, char email[SO_EMAIL_MAX_LEN + 1],
    const char **pw, size_t *pwlen);

/*
 * Reads body's optional "name" (at most SO_NAME_MAX_CHARS) into *name,
 * absent when there is none: 0, or SO_EINVAL answered.
 */
int so_account_read_name(so_req_t *r, json_t *body, const char *absent,
    const char **name);

/*
 * The password policy: SO_PASSWORD_MIN_CHARS characters or more, at most
 * SO_PASSWORD_MAX_LEN bytes, not the email (in any case).  0, or
 * SO_EINVAL after answering 422 weak_password naming field.
 */
int so_account_password_ok(so_req_t *r, const char *field, const char *pw,
    size_t len, const char *email);

/* the configured argon2id parameters */
void so_account_argon2(so_argon2_t *a, const so_config_t *cfg);

/* {id, email, name, created_at} from SO_ACCOUNT_USER_COLS at column col */
json_t *so_account_user_json(const PGresult *res, int row, int col);

#endif /* SO_ACCOUNT_H */
