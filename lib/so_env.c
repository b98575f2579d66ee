/*
 * so_env.c: environment variables of projects (see so_env.h).
 *
 * A name is allowed by a grammar, then refused by rules (issue 11, point
 * 9: a denylist of single names let LD_DEBUG_OUTPUT and LD_PROFILE_OUTPUT
 * through).  The grammar, [A-Za-z_][A-Za-z0-9_]{0,127}, is what a shell
 * can export and what Heroku and Vercel accept: letters of either case
 * (npm_config_* is read in lower case), names compared as exactly as
 * execve() passes them.  The rules are compared without regard to case:
 * nothing is gained by letting "Ld_Preload" through, and a look-alike of
 * a reserved name would only confuse.
 *
 * What is refused, and why: the user's variables reach more than the
 * user's program.  The build's commands and the app are started through
 * bubblewrap, which runs as root with the very environment it passes on
 * (execve, not --setenv), and through /bin/sh; the platform may run tools
 * of its own (git) in it.  So:
 *   - whole families read by the dynamic loader and libc in every process
 *     of the sandbox, root's included: LD_* (LD_PRELOAD runs code,
 *     LD_DEBUG_OUTPUT/LD_PROFILE_OUTPUT write files as root), MALLOC_*
 *     (MALLOC_TRACE writes a file), GLIBC_* (GLIBC_TUNABLES), and the
 *     rest of what glibc drops for setuid programs (its UNSECURE_ENVVARS:
 *     GCONV_PATH, HOSTALIASES, LOCPATH, NLSPATH, RES_OPTIONS, TZDIR ...);
 *   - what the shell running the commands reads before them: BASH_*
 *     (BASH_ENV, BASH_FUNC_*), BASHOPTS, CDPATH, ENV, GLOBIGNORE, IFS,
 *     PS4, SHELLOPTS;
 *   - GIT_*: the clone is the platform's (GIT_DIR, GIT_SSH_COMMAND,
 *     GIT_CONFIG_* would redirect it);
 *   - the runtimes' switches that load other code before the program
 *     (NODE_OPTIONS, PYTHONPATH, PYTHONSTARTUP, PERL5OPT, RUBYOPT,
 *     JAVA_TOOL_OPTIONS, PHPRC, ...), as the platform's own tools run
 *     with the same runtimes; the app's settings (NODE_ENV, NODE_PATH,
 *     PYTHONUNBUFFERED, ...) stay the user's;
 *   - what the platform sets for builds and apps itself: PATH, HOME,
 *     PORT, HOST, TMPDIR, PWD, SHELL, USER, LOGNAME, HOSTNAME and every
 *     SHIPOFF_*.
 * The same rules apply when variables are loaded for a build or an app,
 * so a name stored before a rule existed is skipped, not passed on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_env.h"
#include "so_log.h"
#include "so_seal.h"


typedef struct {
    const char  *name;              /* a family when it ends in '_' */
    const char  *why;
} so_env_rule_t;


#define SO_ENV_LOADER   "is read by the dynamic loader or libc"
#define SO_ENV_SHELL    "is read by the shell that runs commands"
#define SO_ENV_RUNTIME  "makes a runtime load other code first"
#define SO_ENV_OURS     "is set by the platform"

static const so_env_rule_t  so_env_rules[] = {
    { "LD_",                SO_ENV_LOADER },
    { "MALLOC_",            SO_ENV_LOADER },
    { "GLIBC_",             SO_ENV_LOADER },
    { "GCONV_PATH",         SO_ENV_LOADER },
    { "GETCONF_DIR",        SO_ENV_LOADER },
    { "HOSTALIASES",        SO_ENV_LOADER },
    { "LOCALDOMAIN",        SO_ENV_LOADER },
    { "LOCPATH",            SO_ENV_LOADER },
    { "NIS_PATH",           SO_ENV_LOADER },
    { "NLSPATH",            SO_ENV_LOADER },
    { "RESOLV_HOST_CONF",   SO_ENV_LOADER },
    { "RES_OPTIONS",        SO_ENV_LOADER },
    { "TZDIR",              SO_ENV_LOADER },

    { "BASH_",              SO_ENV_SHELL },
    { "BASHOPTS",           SO_ENV_SHELL },
    { "CDPATH",             SO_ENV_SHELL },
    { "ENV",                SO_ENV_SHELL },
    { "GLOBIGNORE",         SO_ENV_SHELL },
    { "IFS",                SO_ENV_SHELL },
    { "PS4",                SO_ENV_SHELL },
    { "SHELLOPTS",          SO_ENV_SHELL },

    { "GIT_",               "is read by git, which clones for the platform" },

    { "JAVA_TOOL_OPTIONS",  SO_ENV_RUNTIME },
    { "JDK_JAVA_OPTIONS",   SO_ENV_RUNTIME },
    { "_JAVA_OPTIONS",      SO_ENV_RUNTIME },
    { "NODE_OPTIONS",       SO_ENV_RUNTIME },
    { "PERL5LIB",           SO_ENV_RUNTIME },
    { "PERL5OPT",           SO_ENV_RUNTIME },
    { "PERLLIB",            SO_ENV_RUNTIME },
    { "PHPRC",              SO_ENV_RUNTIME },
    { "PHP_INI_SCAN_DIR",   SO_ENV_RUNTIME },
    { "PYTHONHOME",         SO_ENV_RUNTIME },
    { "PYTHONPATH",         SO_ENV_RUNTIME },
    { "PYTHONSTARTUP",      SO_ENV_RUNTIME },
    { "PYTHONUSERBASE",     SO_ENV_RUNTIME },
    { "RUBYLIB",            SO_ENV_RUNTIME },
    { "RUBYOPT",            SO_ENV_RUNTIME },

    { "SHIPOFF_",           SO_ENV_OURS },
    { "HOME",               SO_ENV_OURS },
    { "HOST",               SO_ENV_OURS },
    { "HOSTNAME",           SO_ENV_OURS },
    { "LOGNAME",            SO_ENV_OURS },
    { "PATH",               SO_ENV_OURS },
    { "PORT",               SO_ENV_OURS },
    { "PWD",                SO_ENV_OURS },
    { "SHELL",              SO_ENV_OURS },
    { "TMPDIR",             SO_ENV_OURS },
    { "USER",               SO_ENV_OURS },
};


static void so_env_aad(char *aad, size_t len, long long project_id,
    const char *key, int key_version);


int
so_env_key_check(const char *key, char *reason, size_t len)
{
    const so_env_rule_t  *rule;
    size_t                i, n;

    reason[0] = '\0';
    n = strlen(key);

    for (i = 0; i < n; i++) {
        if (i == SO_ENV_KEY_MAX
            || !((key[i] >= 'A' && key[i] <= 'Z')
                 || (key[i] >= 'a' && key[i] <= 'z') || key[i] == '_'
                 || (i > 0 && key[i] >= '0' && key[i] <= '9')))
        {
            break;
        }
    }

    if (n == 0 || i < n) {
        snprintf(reason, len, "must match " SO_ENV_KEY_GRAMMAR);
        return SO_EINVAL;
    }

    for (i = 0; i < so_nelems(so_env_rules); i++) {
        rule = &so_env_rules[i];
        n = strlen(rule->name);

        if (rule->name[n - 1] == '_' ? strncasecmp(key, rule->name, n) == 0
                                     : strcasecmp(key, rule->name) == 0)
        {
            snprintf(reason, len, "is reserved: %s%s %s", rule->name,
                     rule->name[n - 1] == '_' ? "*" : "", rule->why);
            return SO_EDENIED;
        }
    }

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
    const char  *key;
    char        *plain, id[24], reason[SO_ENV_REASON_MAX];
    int          i, rc, runtime;

    *out = NULL;
    res = NULL;
    env = NULL;

    if (strcmp(target, "build") != 0 && strcmp(target, "runtime") != 0) {
        return SO_EINVAL;
    }

    runtime = target[0] == 'r';

    snprintf(id, sizeof(id), "%lld", project_id);

    res = so_pg_query(pg, "so_env_load",
                      "SELECT key, value, secret, key_version FROM env_vars"
                      " WHERE project_id = $1 AND target IN ($2, 'both')"
                      " ORDER BY key",
                      SO_PG_PARAMS(id, target));
    if (res == NULL) {
        rc = so_pg_failed(pg, "env", "project=%lld", project_id);
        goto done;
    }

    env = json_object();
    if (env == NULL) {
        rc = SO_ERR;
        goto done;
    }

    for (i = 0; i < PQntuples(res); i++) {
        key = PQgetvalue(res, i, 0);

        /* stored before a rule refused it: never passed on */
        if (so_env_key_check(key, reason, sizeof(reason)) != SO_OK) {
            so_log_warn("env", "project=%lld key=%s: skipped, the name %s",
                        project_id, key, reason);
            continue;
        }

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
