/*
 * login.c: POST /auth/v1/login {email, password}.
 *
 * An unknown email and a wrong password answer the same 401 in the same
 * time (a dummy verification for unknown emails), and both count as a
 * failure of that email from that client in login_failures, keyed by the
 * SHA-256 of the email and the client's address (its /64 for IPv6, which
 * one client usually holds whole).  A key per email alone would let
 * anyone lock anyone out by failing at their address; per email and
 * client, a client slows only its own guessing at that account (nginx's
 * limit_req handles one address hammering many accounts).
 *
 * Backoff: the n-th consecutive failure, from the fifth on, locks the
 * email for that client for min(2^(n-5), 900) seconds; a login while
 * locked is answered 429 with Retry-After without looking at the
 * password, and does not count.  A success clears the record.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_crypto.h"
#include "so_log.h"
#include "so_password.h"
#include "auth.h"


static void auth_failure_key(so_req_t *r, const char *email,
    char key[SO_SHA256_HEXLEN]);
/* both answer the request on a database error */
static int auth_locked(so_req_t *r, const char *key);
static int auth_failed(so_req_t *r, const char *key);
static void auth_rehash(so_req_t *r, const char *user_id, const char *old,
    const so_argon2_t *a2, const char *pw, size_t pwlen);


/* SHA-256 of "email client", the client an IPv4 address or an IPv6 /64 */
static void
auth_failure_key(so_req_t *r, const char *email, char key[SO_SHA256_HEXLEN])
{
    unsigned char   a6[16];
    const char     *addr;
    char            buf[SO_EMAIL_MAX_LEN + INET6_ADDRSTRLEN + 2];
    char            net[INET6_ADDRSTRLEN];

    addr = so_req_param(r, "REMOTE_ADDR");
    if (addr == NULL) {
        addr = "";
    }

    if (inet_pton(AF_INET6, addr, a6) == 1
        && !IN6_IS_ADDR_V4MAPPED((struct in6_addr *) a6))
    {
        memset(a6 + 8, 0, 8);
        if (inet_ntop(AF_INET6, a6, net, sizeof(net)) != NULL) {
            addr = net;
        }
    }

    snprintf(buf, sizeof(buf), "%s %s", email, addr);
    so_sha256_hex(key, buf, strlen(buf));
}


/* 1 and answered 429 when locked, 0 when not, SO_EUNAVAIL answered */
static int
auth_locked(so_req_t *r, const char *key)
{
    PGresult  *res;
    int        rc;

    res = so_pg_query(r->pg, "login_locked",
                      "SELECT greatest(1, ceil(extract(epoch FROM"
                      " locked_until - clock_timestamp())))::int"
                      " FROM login_failures WHERE key_hash = $1"
                      " AND locked_until > clock_timestamp()",
                      SO_PG_PARAMS(key));
    if (res == NULL) {
        so_req_pg_error(r, "reading login failures");
        return SO_EUNAVAIL;
    }

    rc = 0;
    if (PQntuples(res) == 1) {
        so_req_header(r, "Retry-After", PQgetvalue(res, 0, 0));
        so_req_error(r, 429, "too_many_attempts",
                     "too many failed logins: try again later", NULL);
        rc = 1;
    }

    PQclear(res);
    return rc;
}


static int
auth_failed(so_req_t *r, const char *key)
{
    PGresult  *res;

    res = so_pg_query(r->pg, "login_failed",
                      "INSERT INTO login_failures AS f"
                      " (key_hash, failures, last_failed_at)"
                      " VALUES ($1, 1, now())"
                      " ON CONFLICT (key_hash) DO UPDATE"
                      " SET failures = f.failures + 1,"
                      " last_failed_at = now(),"
                      " locked_until = CASE WHEN f.failures + 1 >= 5"
                      " THEN clock_timestamp() + make_interval(secs =>"
                      " least(power(2, least(f.failures + 1 - 5, 10)), 900))"
                      " END",
                      SO_PG_PARAMS(key));
    if (res == NULL) {
        so_req_pg_error(r, "recording a login failure");
        return SO_EUNAVAIL;
    }

    PQclear(res);
    return SO_OK;
}


/* the configured parameters were raised: store a hash made with them */
static void
auth_rehash(so_req_t *r, const char *user_id, const char *old,
    const so_argon2_t *a2, const char *pw, size_t pwlen)
{
    PGresult    *res;
    char        *phc;

    if (so_password_hash(&phc, a2, pw, pwlen) != 0) {
        so_log_error(r->path, "user=%s: rehashing failed", user_id);
        return;
    }

    /* unless the password changed meanwhile */
    res = so_pg_query(r->pg, "login_rehash",
                      "UPDATE users SET password_hash = $2"
                      " WHERE id = $1 AND password_hash = $3",
                      SO_PG_PARAMS(user_id, phc, old));
    if (res == NULL) {
        so_log_error(r->path, "user=%s: storing a rehash: %s", user_id,
                     so_pg_errstr(r->pg));
    } else {
        so_log_info(r->path, "user=%s: password rehashed", user_id);
    }

    PQclear(res);
    free(phc);
}


void
auth_login(so_req_t *r)
{
    static const char *const  fields[] = { "email", "password", NULL };
    json_t       *body;
    PGresult     *res;
    so_argon2_t   a2;
    const char   *pw, *phc;
    char          email[SO_EMAIL_MAX_LEN + 1], hash[SO_SHA256_HEXLEN];
    char          id[32];
    size_t        pwlen;
    int           rc, rehash;

    body = NULL;
    res = NULL;

    if (so_account_read_credentials(r, &body, fields, email, &pw, &pwlen)
        != SO_OK)
    {
        goto done;
    }

    auth_failure_key(r, email, hash);

    if (auth_locked(r, hash) != 0) {
        goto done;
    }

    res = so_pg_query(r->pg, "login_user",
                      "SELECT id, password_hash FROM users WHERE email = $1",
                      SO_PG_PARAMS(email));
    if (res == NULL) {
        so_req_pg_error(r, "looking up an account");
        goto done;
    }

    so_account_argon2(&a2, r->cfg);
    rehash = 0;

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 1)) {
        so_password_dummy(&a2, pw, pwlen);
        rc = SO_EINVAL;
        snprintf(id, sizeof(id), "none");

    } else {
        phc = PQgetvalue(res, 0, 1);
        snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
        rc = so_password_verify(&rehash, phc, &a2, pw, pwlen);
    }

    if (rc == SO_EINVAL) {
        so_log_info(r->path, "user=%s: login failed", id);
        if (auth_failed(r, hash) != SO_OK) {
            goto done;
        }
        so_req_error(r, 401, "invalid_credentials",
                     "wrong email or password", NULL);
        goto done;
    }

    if (rc != SO_OK) {
        so_log_error(r->path, "user=%s: verifying a password failed", id);
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    if (rehash) {
        auth_rehash(r, id, PQgetvalue(res, 0, 1), &a2, pw, pwlen);
    }

    PQclear(so_pg_query(r->pg, "login_clear",
                        "DELETE FROM login_failures WHERE key_hash = $1",
                        SO_PG_PARAMS(hash)));

    so_log_info(r->path, "user=%s: logged in", id);
    auth_session_respond(r, 200, id, NULL);

done:

    PQclear(res);
    json_decref(body);
}
