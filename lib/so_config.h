/*
 * so_config.h: the one configuration of every Shipoff program.
 *
 * A file of "key = value" lines ('#' starts a comment), then environment
 * overrides SHIPOFF_<KEY> (upper case), then the secrets file named by
 * secrets_file.  Keys live in one sorted table (pgbouncer style): name,
 * type, offset, default, flags.  An unknown key or a bad value is an error
 * naming the file, the line and the key.
 */

#ifndef SO_CONFIG_H
#define SO_CONFIG_H

#include <stddef.h>
#include "so_log.h"

typedef struct {
    char           *apps_domain;
    char           *api_listen;       /* "host:port" or a socket path */
    char           *auth_listen;
    char           *hooks_listen;
    int             fcgi_threads;
    so_log_level_t  log_level;
    size_t          max_body_size;    /* bytes */
    char           *pg_dsn;
    int             pg_timeout;       /* connect timeout, ms */
    char           *redis_host;
    int             redis_port;
    int             redis_timeout;    /* ms */
    char           *secrets_file;
    char           *sql_dir;
    char           *var_dir;

    /* from the secrets file (hex, 64 chars each); never logged */
    char           *jwt_key;
    char           *master_key;
    char           *webhook_secret;
} so_config_t;

/*
 * Sets defaults, reads path (NULL: defaults and environment only), applies
 * the environment, then reads the secrets file when one is named.
 * On failure returns SO_EINVAL (or SO_ERR for I/O) and writes a message
 * such as "shipoff.conf:3: unknown key \"redis_prot\"" into err.
 */
int so_config_load(so_config_t *cfg, const char *path, char *err,
    size_t errlen);

/* parses one "key", "value" pair as if read from a file */
int so_config_set(so_config_t *cfg, const char *key, const char *value,
    char *err, size_t errlen);

/* logs every key at info level; secret values are masked */
void so_config_dump(const so_config_t *cfg);

void so_config_free(so_config_t *cfg);

#endif /* SO_CONFIG_H */
