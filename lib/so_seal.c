/*
 * so_seal.c: sealing with the master key (see so_seal.h).
 */

#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_log.h"
#include "so_seal.h"


static int so_seal_key(unsigned char key[32], const so_config_t *cfg);


int
so_seal(char **out, const so_config_t *cfg, const char *aad, const void *pt,
    size_t len)
{
    unsigned char  key[32];
    int            rc;

    *out = NULL;

    rc = so_seal_key(key, cfg);
    if (rc == SO_OK) {
        rc = so_aead_seal(out, key, aad, strlen(aad), pt, len);
    }

    so_wipe(key, sizeof(key));
    return rc;
}


int
so_unseal(char **out, size_t *len, const so_config_t *cfg, const char *aad,
    const char *sealed)
{
    unsigned char  key[32];
    size_t         n;
    int            rc;

    *out = NULL;
    n = 0;

    rc = so_seal_key(key, cfg);
    if (rc == SO_OK) {
        rc = so_aead_open(out, &n, key, aad, strlen(aad), sealed);
    }

    if (len != NULL) {
        *len = n;
    }

    so_wipe(key, sizeof(key));
    return rc;
}


static int
so_seal_key(unsigned char key[32], const so_config_t *cfg)
{
    if (cfg->master_key == NULL
        || so_hex_decode(key, 32, cfg->master_key) != SO_OK)
    {
        so_log_error("seal", "master_key is missing or malformed");
        return SO_EINVAL;
    }

    return SO_OK;
}
