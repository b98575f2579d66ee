/*
 * tokens.c: personal API tokens, for the CLI and CI.
 *
 *   POST   /api/v1/tokens       {name, scopes, expires_in?} -> the token, once
 *   GET    /api/v1/tokens       the caller's live tokens, never a secret
 *   DELETE /api/v1/tokens/:id   revoke
 *
 * A token is "sho_" + 256 random bits; the table keeps its SHA-256 and a
 * short prefix for people to recognise it by.  A token used to make
 * another can give it no scope it lacks itself and no later expiry, so a
 * leaked narrow token cannot be widened or made to outlive its own end.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_auth.h"
#include "so_crypto.h"
#include "so_input.h"
#include "so_log.h"
#include "so_page.h"
#include "api.h"


#define API_TOKEN_MAX_TTL    (365 * 86400)
#define API_TOKEN_PREFIX_LEN 12        /* "sho_" and 8 characters */

/* the columns api_token_json() reads, in this order */
#define API_TOKEN_COLS                                                       \
    "id, name, array_to_json(scopes)::text, prefix, "                        \
    SO_SQL_TIME("created_at") ", " SO_SQL_TIME("expires_at") ", "            \
    SO_SQL_TIME("last_used_at")


static json_t *api_token_json(so_req_t *r, const PGresult *res, int row);
static int api_token_scopes(so_req_t *r, json_t *body,
    const so_principal_t *p, char *out, size_t outlen);


static json_t *
api_token_json(so_req_t *r, const PGresult *res, int row)
{
    json_t  *o, *scopes;
    int      i;

    scopes = json_loads(PQgetvalue(res, row, 2), 0, NULL);
    o = json_pack("{s:I, s:s, s:o, s:s, s:s}",
                  "id", (json_int_t) strtoll(PQgetvalue(res, row, 0), NULL,
                                             10),
                  "name", PQgetvalue(res, row, 1),
                  "scopes", scopes ? scopes : json_array(),
                  "prefix", PQgetvalue(res, row, 3),
                  "created_at", PQgetvalue(res, row, 4));

    for (i = 5; o != NULL && i <= 6; i++) {
        json_object_set_new(o, i == 5 ? "expires_at" : "last_used_at",
                            PQgetisnull(res, row, i)
                            ? json_null()
                            : json_string(PQgetvalue(res, row, i)));
    }

    return o;
}


/*
 * scopes: a non-empty array of "READ", "WRITE", "DELETE", none beyond the
 * caller's own; written to out as a PostgreSQL array literal
 */
static int
api_token_scopes(so_req_t *r, json_t *body, const so_principal_t *p,
    char *out, size_t outlen)
{
    static const struct {
        const char  *name;
        unsigned     bit;
    } known[] = {
        { "READ", SO_SCOPE_READ },
        { "WRITE", SO_SCOPE_WRITE },
        { "DELETE", SO_SCOPE_DELETE },
    };
    json_t      *a, *v;
    size_t       i, k, n;
    unsigned     want;

    a = json_object_get(body, "scopes");
    if (!json_is_array(a) || json_array_size(a) == 0) {
        so_req_error(r, 422, "validation_failed",
                     "scopes must be a non-empty array of READ, WRITE, "
                     "DELETE", "scopes");
        return SO_EINVAL;
    }

    want = 0;
    json_array_foreach(a, i, v) {
        for (k = 0; k < so_nelems(known); k++) {
            if (json_is_string(v)
                && strcmp(json_string_value(v), known[k].name) == 0)
            {
                break;
            }
        }
        if (k == so_nelems(known)) {
            so_req_error(r, 422, "validation_failed",
                         "a scope is one of READ, WRITE, DELETE", "scopes");
            return SO_EINVAL;
        }
        want |= known[k].bit;
    }

    if ((want & p->scopes) != want) {
        so_req_error(r, 403, "insufficient_scope",
                     "a token cannot grant scopes it lacks", "scopes");
        return SO_EDENIED;
    }

    n = 0;
    out[n++] = '{';
    for (k = 0; k < so_nelems(known); k++) {
        if (want & known[k].bit) {
            n += (size_t) snprintf(out + n, outlen - n, "%s%s",
                                   n > 1 ? "," : "", known[k].name);
        }
    }
    snprintf(out + n, outlen - n, "}");

    return SO_OK;
}


void
api_tokens_create(so_req_t *r)
{
    static const char *const  fields[] = { "name", "scopes", "expires_in",
                                           NULL };
    json_t          *body, *o;
    PGresult        *res;
    const char      *name;
    char             token[64], hash[SO_SHA256_HEXLEN];
    char             prefix[API_TOKEN_PREFIX_LEN + 1], scopes[32];
    char             ttl[32], parent[32];
    size_t           namelen;
    long long        expires_in;
    int              rc;

    body = NULL;
    res = NULL;
    token[0] = '\0';

    if (so_req_read_json(r, &body) != 0
        || so_input_known(r, body, fields) != SO_OK
        || so_input_string(r, body, "name", 1, 1, 100, &name, &namelen)
           != SO_OK
        || api_token_scopes(r, body, &r->principal, scopes, sizeof(scopes))
           != SO_OK)
    {
        goto done;
    }

    rc = so_input_int(r, body, "expires_in", 0, 60, API_TOKEN_MAX_TTL,
                      &expires_in);
    if (rc == SO_EINVAL) {
        goto done;
    }

    if (so_secret_token(token, sizeof(token), SO_PAT_PREFIX, 32, hash)
        != SO_OK)
    {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }
    snprintf(prefix, sizeof(prefix), "%s", token);
    snprintf(ttl, sizeof(ttl), "%lld", expires_in);
    snprintf(parent, sizeof(parent), "%lld", r->principal.token_id);

    /* least() ignores NULLs: no expiry asked, or no parent token */
    res = so_pg_query(r->pg, "tokens_create",
                      "INSERT INTO api_tokens"
                      " (user_id, name, token_hash, prefix, scopes,"
                      " expires_at)"
                      " VALUES ($1, $2, $3, $4, $5::text[],"
                      " least(now() + make_interval(secs => $6::int),"
                      " (SELECT expires_at FROM api_tokens WHERE id = $7)))"
                      " RETURNING " API_TOKEN_COLS,
                      SO_PG_PARAMS(r->uids, name, hash, prefix, scopes,
                                   rc == SO_OK ? ttl : NULL,
                                   r->principal.token_id != 0 ? parent : NULL));
    if (res == NULL) {
        so_req_pg_error(r, "creating a token");
        goto done;
    }

    so_log_info(r->path, "user=%s: API token %s created (%s)", r->uids,
                PQgetvalue(res, 0, 0), prefix);

    o = api_token_json(r, res, 0);
    if (o != NULL) {
        json_object_set_new(o, "token", json_string(token));
    }
    so_req_json(r, 201, o);

done:

    so_wipe(token, sizeof(token));
    PQclear(res);
    json_decref(body);
}


void
api_tokens_list(so_req_t *r)
{
    so_page_list(r, "tokens_list",
                 "SELECT " API_TOKEN_COLS " FROM api_tokens"
                 " WHERE user_id = $1 AND revoked_at IS NULL"
                 " AND id > $2 ORDER BY id LIMIT $3",
                 api_token_json);
}


void
api_tokens_delete(so_req_t *r)
{
    PGresult    *res;

    res = so_pg_query(r->pg, "tokens_delete",
                      "UPDATE api_tokens SET revoked_at = now()"
                      " WHERE id = $1 AND user_id = $2"
                      " AND revoked_at IS NULL",
                      SO_PG_PARAMS(r->ids, r->uids));
    if (res == NULL) {
        so_req_pg_error(r, "revoking a token");
        return;
    }

    if (strcmp(PQcmdTuples(res), "1") == 0) {
        so_log_info(r->path, "user=%s: API token %s revoked", r->uids, r->ids);
        so_req_empty(r, 204);
    } else {
        so_req_error(r, 404, "not_found", "no such token", NULL);
    }

    PQclear(res);
}
