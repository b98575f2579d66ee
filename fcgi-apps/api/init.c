/*
 * init.c: what the API app sets up once, before its threads start: the
 * password hashing semaphore (PATCH /api/v1/me verifies and hashes), the
 * HTTP client (GitHub webhooks) and libgit2 (POST /api/v1/detect).
 */

#include "shipoff.h"
#include "so_fetch.h"
#include "so_git.h"
#include "so_password.h"
#include "api.h"


int
api_init(const so_config_t *cfg)
{
    if (so_fetch_init() != SO_OK || so_git_init() != SO_OK) {
        return SO_ERR;
    }

    return so_password_init(cfg->argon2_max_concurrent);
}
