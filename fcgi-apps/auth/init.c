/*
 * init.c: what the auth app sets up once, before its threads start.
 */

#include "shipoff.h"
#include "so_fetch.h"
#include "so_password.h"
#include "auth.h"


int
auth_init(const so_config_t *cfg)
{
    if (so_password_init(cfg->argon2_max_concurrent) != SO_OK) {
        return SO_ERR;
    }

    /* curl_global_init is not thread-safe: before the threads (OAuth) */
    return so_fetch_init();
}
