/*
 * so_project.h: what the api, hooks and builder programs share about a
 * project: the rules of its name (the subdomain it is served at) and its
 * GitHub webhook secret.
 *
 * The webhook secret is 32 random bytes, hex: GitHub signs each delivery
 * with it (HMAC-SHA256), so the hooks app needs the plaintext.  It is kept
 * sealed in projects.webhook_secret_enc under the master key with the AAD
 * "webhook:<project id>": a sealed secret copied to another project does
 * not open.  The API shows it once, when it is made.
 */

#ifndef SO_PROJECT_H
#define SO_PROJECT_H

#include "so_config.h"
#include "so_pg.h"

#define SO_PROJECT_NAME_MAX      63
#define SO_PROJECT_SECRET_BYTES  32
#define SO_PROJECT_SECRET_LEN    (2 * SO_PROJECT_SECRET_BYTES + 1)

/*
 * A project name is one DNS label: 1 to 63 of a-z, 0-9 and '-', neither
 * first nor last a '-', and not a reserved name (api, www, ...).  0, or
 * SO_EINVAL with *reason a sentence ("is reserved").
 */
int so_project_name_check(const char *name, const char **reason);

/* 1 when name is reserved for the platform itself */
int so_project_name_reserved(const char *name);

/*
 * A new webhook secret for project_id: its hex to secret (show it once,
 * then so_wipe it) and its sealed form, malloc()ed, to *sealed.  0,
 * SO_EINVAL (no usable master_key) or SO_ERR.
 */
int so_project_webhook_new(char secret[SO_PROJECT_SECRET_LEN],
    char **sealed, const so_config_t *cfg, long long project_id);

/*
 * The webhook secret of project_id, for verifying a delivery: a malloc()ed
 * hex string to *out (so_wipe and free it).  0, SO_ENOTFOUND (no such
 * project), SO_EUNAVAIL (PostgreSQL is down), SO_EINVAL (it does not open:
 * another key, tampered), or SO_ERR.
 */
int so_project_webhook_secret(char **out, so_pg_t *pg,
    const so_config_t *cfg, long long project_id);

#endif /* SO_PROJECT_H */
