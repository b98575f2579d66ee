/*
 * so_oauth.c: sealing and opening the providers' access tokens.
 *
 * The AAD binds a sealed token to its row's meaning (provider and user),
 * not to the row id, so re-linking an identity does not need a re-seal.
 * The master key is decoded for each call and wiped after it: it is never
 * kept in a second place in memory.
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_log.h"
#include "so_oauth.h"


static int so_oauth_key(unsigned char key[32], const so_config_t *cfg);
static size_t so_oauth_aad(char *aad, size_t len, const char *provider,
    long long user_id);


int
so_oauth_seal(char **out, const so_config_t *cfg, const char *provider,
    long long user_id, const char *token)
{
    unsigned char  key[32];
    char           aad[64];
    size_t         aadlen;
    int            rc;

    *out = NULL;

    rc = so_oauth_key(key, cfg);
    if (rc != SO_OK) {
        goto done;
    }

    aadlen = so_oauth_aad(aad, sizeof(aad), provider, user_id);

    rc = so_aead_seal(out, key, aad, aadlen, token, strlen(token));

done:

    so_wipe(key, sizeof(key));
    return rc;
}


int
so_oauth_open(char **token, const so_config_t *cfg, const char *provider,
    long long user_id, const char *sealed)
{
    unsigned char  key[32];
    char           aad[64];
    size_t         aadlen, len;
    int            rc;

    *token = NULL;

    rc = so_oauth_key(key, cfg);
    if (rc != SO_OK) {
        goto done;
    }

    aadlen = so_oauth_aad(aad, sizeof(aad), provider, user_id);

    rc = so_aead_open(token, &len, key, aad, aadlen, sealed);

done:

    so_wipe(key, sizeof(key));
    return rc;
}


int
so_oauth_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long user_id, const char *provider)
{
    PGresult     *res;
    const char   *params[2];
    char          uid[24];
    int           rc;

    *token = NULL;

    snprintf(uid, sizeof(uid), "%lld", user_id);
    params[0] = uid;
    params[1] = provider;

    res = so_pg_query(pg, "so_oauth_token",
                      "SELECT access_token_enc FROM oauth_identities"
                      " WHERE user_id = $1 AND provider = $2"
                      " AND access_token_enc IS NOT NULL",
                      2, params);
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


static int
so_oauth_key(unsigned char key[32], const so_config_t *cfg)
{
    if (cfg->master_key == NULL
        || so_hex_decode(key, 32, cfg->master_key) != SO_OK)
    {
        so_log_error("oauth", "master_key is missing or malformed");
        return SO_EINVAL;
    }

    return SO_OK;
}


static size_t
so_oauth_aad(char *aad, size_t len, const char *provider, long long user_id)
{
    int  n;

    n = snprintf(aad, len, "oauth:%s:%lld", provider, user_id);
    assert(n > 0 && (size_t) n < len);

    return (size_t) n;
}
