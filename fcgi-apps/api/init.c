/*
 * init.c: what the API app sets up once, before its threads start: the
 * password hashing semaphore (PATCH /api/v1/me verifies and hashes).
 */

#include "so_password.h"
#include "api.h"


int
api_init(const so_config_t *cfg)
{
    return so_password_init(cfg->argon2_max_concurrent);
}
