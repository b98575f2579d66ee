/*
 * so_env.h: a project's environment variables: the rules of their keys
 * and values, sealing of secret values, and loading them for a build or
 * for the running app.
 *
 * Keys match SO_ENV_KEY_GRAMMAR and none of the rules of so_env.c (whole
 * families such as LD_*, SHIPOFF_*, and single names such as PATH or
 * NODE_OPTIONS: what the loader, libc, the shell, git or a runtime reads
 * before the user's program, and what the platform sets), both when a
 * variable is set and when variables are loaded.
 * Values are at most SO_ENV_VALUE_MAX bytes, without NUL.
 *
 * A secret value is sealed (AES-256-GCM, master key) with the AAD
 * "env:<project id>:<key>:<key_version>", so a sealed value moved to
 * another project or key does not open; key_version names the master key
 * generation (1 until keys rotate).  Plain values are stored as they are.
 *
 * Targets: "build" (the build sees it), "runtime" (the app sees it),
 * "both".  A build never gets secrets, whatever their target (DESIGN.md:
 * builds run third-party install scripts); the app gets every variable
 * whose target is runtime or both, secrets opened just before exec.
 */

#ifndef SO_ENV_H
#define SO_ENV_H

#include <jansson.h>

#include "so_config.h"
#include "so_pg.h"

#define SO_ENV_KEY_MAX      128
#define SO_ENV_KEY_GRAMMAR  "^[A-Za-z_][A-Za-z0-9_]{0,127}$"
#define SO_ENV_REASON_MAX   128
#define SO_ENV_VALUE_MAX    (32 * 1024)
#define SO_ENV_KEY_VERSION  1

/*
 * 0; SO_EINVAL when key is not of the grammar (reason "must match ..."),
 * SO_EDENIED when a rule refuses it (reason "is reserved: LD_* is read by
 * the dynamic loader or libc"); reason follows the word "key" or the key
 * itself in a message.
 */
int so_env_key_check(const char *key, char *reason, size_t len);

/* seals value for (project, key, key_version): *out malloc()ed */
int so_env_seal(char **out, const so_config_t *cfg, long long project_id,
    const char *key, int key_version, const char *value, size_t len);

/* opens what so_env_seal() wrote: *out malloc()ed, so_wipe and free it */
int so_env_open(char **out, const so_config_t *cfg, long long project_id,
    const char *key, int key_version, const char *sealed);

/*
 * The variables of project_id for target "build" or "runtime", as a JSON
 * object {"KEY": "value"} with secrets opened (runtime only): *out is a
 * new reference; so_env_free() wipes the values and drops it.  0,
 * SO_EUNAVAIL (PostgreSQL is down), SO_EINVAL (a bad target, or a secret
 * that does not open: logged by key, never by value) or SO_ERR.
 */
int so_env_load(json_t **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *target);

/* wipes every value of what so_env_load() returned, then drops it */
void so_env_free(json_t *env);

#endif /* SO_ENV_H */
