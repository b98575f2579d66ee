/*
 * so_env.c: environment variables of projects (see so_env.h).
 *
 * The blocked keys are those whose value would change how the sandbox,
 * the loader or the runtime behave rather than the app (LD_PRELOAD runs
 * code in every process; NODE_OPTIONS=--require does the same for node,
 * PYTHONSTARTUP/PYTHONPATH for python), and those the platform sets
 * itself (PORT, HOME, ...).  The table is sorted: bsearch; a unit test
 * keeps it sorted.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_env.h"
#include "so_log.h"
#include "so_seal.h"


static const char *const  so_env_blocked[] = {
    "BASH_ENV",
    "ENV",
    "GCONV_PATH",
    "HOME",
    "HOSTNAME",
    "IFS",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "LD_PRELOAD",
    "LOGNAME",
    "NODE_OPTIONS",
    "PATH",
    "PERL5OPT",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "PORT",
    "PS4",
    "PWD",
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "SHELL",
    "SHELLOPTS",
    "TMPDIR",
    "USER",
};


static int so_env_cmp(const void *a, const void *b);
static void so_env_aad(char *aad, size_t len, long long project_id,
    const char *key, int key_version);


static int
so_env_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}


int
so_env_key_blocked(const char *key)
{
    return strncmp(key, "SHIPOFF_", 8) == 0
           || bsearch(&key, so_env_blocked, so_nelems(so_env_blocked),
                      sizeof(so_env_blocked[0]), so_env_cmp) != NULL;
}


int
so_env_key_check(const char *key, const char **reason)
{
    size_t  i, len;

    len = strlen(key);

    if (len == 0 || len > SO_ENV_KEY_MAX) {
        *reason = "must be 1 to 128 characters";
        return SO_EINVAL;
    }

    for (i = 0; i < len; i++) {
        if (!((key[i] >= 'A' && key[i] <= 'Z') || key[i] == '_'
              || (i > 0 && key[i] >= '0' && key[i] <= '9')))
        {
            *reason = "must match [A-Z_][A-Z0-9_]*";
            return SO_EINVAL;
        }
    }

    if (so_env_key_blocked(key)) {
        *reason = "is reserved by the platform";
        return SO_EINVAL;
    }

    *reason = NULL;
    return SO_OK;
}


static void
so_env_aad(char *aad, size_t len, long long project_id, const char *key,
    int key_version)
{
    snprintf(aad, len, "env:%lld:%s:%d", project_id, key, key_version);
}


int
so_env_seal(char **out, const so_config_t *cfg, long long project_id,
    const char *key, int key_version, const char *value, size_t len)
{
    char  aad[SO_ENV_KEY_MAX + 64];

    so_env_aad(aad, sizeof(aad), project_id, key, key_version);
    return so_seal(out, cfg, aad, value, len);
}


int
so_env_open(char **out, const so_config_t *cfg, long long project_id,
    const char *key, int key_version, const char *sealed)
{
    char  aad[SO_ENV_KEY_MAX + 64];

    so_env_aad(aad, sizeof(aad), project_id, key, key_version);
    return so_unseal(out, NULL, cfg, aad, sealed);
}


int
so_env_load(json_t **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *target)
{
    PGresult    *res;
    json_t      *env;
    const char  *params[2], *key;
    char        *plain, id[24];
    int          i, rc, runtime;

    *out = NULL;
    res = NULL;
    env = NULL;

    if (strcmp(target, "build") != 0 && strcmp(target, "runtime") != 0) {
        return SO_EINVAL;
    }

    runtime = target[0] == 'r';

    snprintf(id, sizeof(id), "%lld", project_id);
    params[0] = id;
    params[1] = target;

    res = so_pg_query(pg, "so_env_load",
                      "SELECT key, value, secret, key_version FROM env_vars"
                      " WHERE project_id = $1 AND target IN ($2, 'both')"
                      " ORDER BY key", 2, params);
    if (res == NULL) {
        so_log_error("env", "project=%lld: %s", project_id,
                     so_pg_errstr(pg));
        rc = strncmp(so_pg_sqlstate(pg), "08", 2) == 0 ? SO_EUNAVAIL
                                                        : SO_ERR;
        goto done;
    }

    env = json_object();
    if (env == NULL) {
        rc = SO_ERR;
        goto done;
    }

    for (i = 0; i < PQntuples(res); i++) {
        key = PQgetvalue(res, i, 0);

        if (PQgetvalue(res, i, 2)[0] != 't') {
            json_object_set_new(env, key,
                                json_string(PQgetvalue(res, i, 1)));
            continue;
        }

        if (!runtime) {
            continue;
        }

        rc = so_env_open(&plain, cfg, project_id, key,
                         (int) strtol(PQgetvalue(res, i, 3), NULL, 10),
                         PQgetvalue(res, i, 1));
        if (rc != SO_OK) {
            so_log_error("env", "project=%lld key=%s: the sealed value does "
                         "not open", project_id, key);
            goto done;
        }

        json_object_set_new(env, key, json_string(plain));
        so_wipe(plain, strlen(plain));
        free(plain);
    }

    *out = env;
    env = NULL;
    rc = SO_OK;

done:

    so_env_free(env);
    PQclear(res);
    return rc;
}


void
so_env_free(json_t *env)
{
    const char  *key;
    json_t      *v;

    if (env == NULL) {
        return;
    }

    /* jansson owns the strings: overwrite them in place before freeing */
    json_object_foreach(env, key, v) {
        if (json_is_string(v)) {
            so_wipe((char *) json_string_value(v), json_string_length(v));
        }
    }

    json_decref(env);
}
