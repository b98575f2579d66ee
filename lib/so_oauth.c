/*
 * so_oauth.c: sealing and opening the providers' access tokens.
 *
 * Sealed with so_seal.c under an AAD that binds a token to its row's
 * meaning (provider and user), not to the row id, so re-linking an
 * identity does not need a re-seal.
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_log.h"
#include "so_oauth.h"
#include "so_seal.h"


static void so_oauth_aad(char *aad, size_t len, const char *provider,
    long long user_id);


int
so_oauth_seal(char **out, const so_config_t *cfg, const char *provider,
    long long user_id, const char *token)
{
    char  aad[64];

    so_oauth_aad(aad, sizeof(aad), provider, user_id);
    return so_seal(out, cfg, aad, token, strlen(token));
}


int
so_oauth_open(char **token, const so_config_t *cfg, const char *provider,
    long long user_id, const char *sealed)
{
    char  aad[64];

    so_oauth_aad(aad, sizeof(aad), provider, user_id);
    return so_unseal(token, NULL, cfg, aad, sealed);
}


int
so_oauth_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long user_id, const char *provider)
{
    PGresult     *res;
    char          uid[24];
    int           rc;

    *token = NULL;

    snprintf(uid, sizeof(uid), "%lld", user_id);

    res = so_pg_query(pg, "so_oauth_token",
                      "SELECT access_token_enc FROM oauth_identities"
                      " WHERE user_id = $1 AND provider = $2"
                      " AND access_token_enc IS NOT NULL",
                      SO_PG_PARAMS(uid, provider));
    if (res == NULL) {
        rc = so_pg_failed(pg, "oauth", "user=%lld provider=%s", user_id,
                          provider);
        goto done;
    }

    if (PQntuples(res) == 0) {
        rc = SO_ENOTFOUND;
        goto done;
    }

    rc = so_oauth_open(token, cfg, provider, user_id,
                       PQgetvalue(res, 0, 0));
    if (rc != SO_OK) {
        so_log_error("oauth", "user=%lld provider=%s: the sealed access "
                     "token does not open", user_id, provider);
    }

done:

    PQclear(res);
    return rc;
}


int
so_oauth_github_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long user_id)
{
    return so_oauth_token(token, pg, cfg, user_id, "github");
}


static void
so_oauth_aad(char *aad, size_t len, const char *provider, long long user_id)
{
    int  n;

    n = snprintf(aad, len, "oauth:%s:%lld", provider, user_id);
    assert(n > 0 && (size_t) n < len);
}
