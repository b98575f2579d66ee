/*
 * so_auth.c: who is calling, from "Authorization: Bearer <credential>".
 *
 * A credential starting with SO_PAT_PREFIX is a personal API token: its
 * SHA-256 is looked up (the table holds no token, only hashes), and its
 * last use is recorded at most once a minute so that a busy CI job does
 * not write a row per request.  Anything else must be a JWT access token
 * whose subject still exists: deleting a user ends its sessions at once,
 * not when the token expires; so does a password change, which bumps the
 * user's token generation (users.token_gen): a JWT carries the generation
 * it was issued in ("gen") and is checked against it in the same lookup.
 *
 * Every failure looks the same to the client (401, WWW-Authenticate:
 * Bearer); the reason goes to the log, the credential never does.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_crypto.h"
#include "so_log.h"


static int so_auth_pat(so_req_t *r, so_principal_t *p, const char *token,
    const char **why);
static int so_auth_jwt(so_req_t *r, so_principal_t *p, const char *token,
    PGresult **account, char *why, size_t whylen);
static int so_auth_account(so_req_t *r, long long user_id, const char *gen,
    PGresult **out);
static void so_auth_fail(so_req_t *r, const char *why);


int
so_auth_jwt_conf(so_jwt_conf_t *jc, unsigned char key[32],
    const so_config_t *cfg)
{
    if (cfg->jwt_key == NULL || so_hex_decode(key, 32, cfg->jwt_key) != 0) {
        return SO_EINVAL;
    }

    jc->key = key;
    jc->keylen = 32;
    jc->iss = cfg->jwt_issuer;
    jc->aud = cfg->jwt_audience;
    jc->leeway = cfg->jwt_leeway;
    return SO_OK;
}


int
so_authenticate(so_req_t *r, so_principal_t *p)
{
    return so_authenticate_account(r, p, NULL);
}


int
so_authenticate_account(so_req_t *r, so_principal_t *p, PGresult **account)
{
    const char  *h, *cred;
    char         why[SO_ERRLEN];
    const char  *pat_why;
    size_t       len;
    int          rc;

    memset(p, 0, sizeof(*p));

    h = so_req_param(r, "HTTP_AUTHORIZATION");
    if (h == NULL || *h == '\0') {
        so_auth_fail(r, "no Authorization header");
        return SO_EINVAL;
    }

    if (strncasecmp(h, "Bearer ", 7) != 0) {
        so_auth_fail(r, "not a Bearer credential");
        return SO_EINVAL;
    }

    cred = h + 7;
    while (*cred == ' ') {
        cred++;
    }

    len = strlen(cred);
    if (len == 0) {
        so_auth_fail(r, "empty Bearer credential");
        return SO_EINVAL;
    }

    if (len > SO_JWT_MAX_LEN) {
        so_auth_fail(r, "oversize credential");
        return SO_EINVAL;
    }

    if (strncmp(cred, SO_PAT_PREFIX, sizeof(SO_PAT_PREFIX) - 1) == 0) {
        pat_why = NULL;
        rc = so_auth_pat(r, p, cred, &pat_why);
        if (rc == SO_EINVAL) {
            so_auth_fail(r, pat_why);
        }
        if (rc == SO_OK && account != NULL) {
            rc = so_auth_account(r, p->user_id, NULL, account);
            if (rc == SO_EINVAL) {
                so_auth_fail(r, "the API token's user no longer exists");
            }
        }
        return rc;
    }

    rc = so_auth_jwt(r, p, cred, account, why, sizeof(why));
    if (rc == SO_EINVAL) {
        so_auth_fail(r, why);
    }
    return rc;
}


static int
so_auth_pat(so_req_t *r, so_principal_t *p, const char *token,
    const char **why)
{
    PGresult     *res;
    char          hash[SO_SHA256_HEXLEN], *s, *next;
    int           rc;

    rc = SO_EINVAL;

    so_sha256_hex(hash, token, strlen(token));

    res = so_pg_query(r->pg, "auth_pat",
                      "SELECT id, user_id, array_to_string(scopes, ','),"
                      " last_used_at IS NULL"
                      " OR last_used_at < now() - interval '1 minute'"
                      " FROM api_tokens WHERE token_hash = $1"
                      " AND revoked_at IS NULL"
                      " AND (expires_at IS NULL OR expires_at > now())",
                      SO_PG_PARAMS(hash));
    if (res == NULL) {
        rc = SO_EUNAVAIL;
        goto done;
    }

    if (PQntuples(res) != 1) {
        *why = "unknown, revoked or expired API token";
        goto done;
    }

    p->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    p->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);

    for (s = PQgetvalue(res, 0, 2); s != NULL && *s != '\0'; s = next) {
        next = strchr(s, ',');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (strcmp(s, "READ") == 0) {
            p->scopes |= SO_SCOPE_READ;
        } else if (strcmp(s, "WRITE") == 0) {
            p->scopes |= SO_SCOPE_WRITE;
        } else if (strcmp(s, "DELETE") == 0) {
            p->scopes |= SO_SCOPE_DELETE;
        }
    }

    if (strcmp(PQgetvalue(res, 0, 3), "t") == 0) {
        /* a lost update of last_used_at is not worth failing a request */
        if (so_pg_exec(r->pg, "auth_pat_used",
                       "UPDATE api_tokens SET last_used_at = now()"
                       " WHERE id = $1",
                       SO_PG_PARAMS(PQgetvalue(res, 0, 0))) != SO_OK)
        {
            so_log_warn(r->path, "recording an API token's use: %s",
                        so_pg_errstr(r->pg));
        }
    }

    rc = SO_OK;

done:

    if (rc == SO_EUNAVAIL) {
        so_req_pg_error(r, "looking up an API token");
    }

    PQclear(res);
    return rc;
}


/*
 * The account row of user_id, of the token generation gen (NULL: any);
 * SO_EINVAL (not answered) when it is gone or of another generation.
 */
static int
so_auth_account(so_req_t *r, long long user_id, const char *gen,
    PGresult **out)
{
    PGresult    *res;
    char         id[24];

    snprintf(id, sizeof(id), "%lld", user_id);
    res = so_pg_query(r->pg, "auth_account",
                      "SELECT " SO_ACCOUNT_USER_COLS
                      " FROM users WHERE id = $1"
                      " AND ($2::int IS NULL OR token_gen = $2::int)",
                      SO_PG_PARAMS(id, gen));
    if (res == NULL) {
        so_req_pg_error(r, "looking up a token's user");
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) != 1) {
        PQclear(res);
        return SO_EINVAL;
    }

    *out = res;
    return SO_OK;
}


static int
so_auth_jwt(so_req_t *r, so_principal_t *p, const char *token,
    PGresult **account, char *why, size_t whylen)
{
    so_jwt_conf_t    jc;
    so_jwt_claims_t  claims;
    unsigned char    key[32];
    PGresult        *res;
    char            *end, gen[24];
    long long        id;
    int              rc;

    res = NULL;
    rc = SO_EINVAL;

    if (so_auth_jwt_conf(&jc, key, r->cfg) != SO_OK) {
        so_log_error(r->path, "jwt_key is missing or malformed");
        so_req_error(r, 500, "internal", "internal error", NULL);
        rc = SO_ERR;
        goto done;
    }

    if (so_jwt_verify(&claims, &jc, token, "access", (long long) time(NULL),
                      why, whylen) != 0)
    {
        goto done;
    }

    id = strtoll(claims.sub, &end, 10);
    if (claims.sub[0] < '1' || claims.sub[0] > '9' || *end != '\0'
        || strlen(claims.sub) > 18)
    {
        snprintf(why, whylen, "the subject is not a user id");
        goto done;
    }

    snprintf(gen, sizeof(gen), "%lld", claims.gen);

    if (account != NULL) {
        /* the row itself proves that the user exists */
        rc = so_auth_account(r, id, gen, account);
        if (rc == SO_EINVAL) {
            snprintf(why, whylen, "user %lld no longer exists, or changed "
                     "the password since", id);
        }
        if (rc != SO_OK) {
            goto done;
        }

    } else {
        res = so_pg_query(r->pg, "auth_user_exists",
                          "SELECT 1 FROM users WHERE id = $1"
                          " AND token_gen = $2::int",
                          SO_PG_PARAMS(claims.sub, gen));
        if (res == NULL) {
            so_req_pg_error(r, "looking up a token's user");
            rc = SO_EUNAVAIL;
            goto done;
        }

        if (PQntuples(res) != 1) {
            snprintf(why, whylen, "user %lld no longer exists, or changed "
                     "the password since", id);
            goto done;
        }
    }

    p->user_id = id;
    p->scopes = SO_SCOPE_ALL;
    p->token_id = 0;
    rc = SO_OK;

done:

    so_wipe(key, sizeof(key));
    PQclear(res);
    return rc;
}


static void
so_auth_fail(so_req_t *r, const char *why)
{
    so_log_info(r->path, "authentication failed: %s", why);
    so_req_header(r, "WWW-Authenticate", "Bearer");
    so_req_error(r, 401, "unauthorized",
                 "missing or invalid credentials", NULL);
}
