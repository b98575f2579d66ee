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
    int             access_ttl;       /* seconds */
    int             allow_insecure_repos;  /* 1: http:// and file:// too */
    int             allow_private_repos;   /* 1: no SSRF guard on repo_url */
    char           *apps_domain;
    int             argon2_m_kib;
    int             argon2_t;
    int             argon2_p;
    int             argon2_max_concurrent;
    char           *api_listen;       /* "host:port" or a socket path */
    char           *auth_listen;
    char           *hooks_listen;
    int             fcgi_threads;

    /* shipoffd */
    size_t          app_disk;           /* bytes: an app's writable layer */
    int             app_drain;          /* seconds: old process kept */
    int             app_port_max;
    int             app_port_min;
    int             app_stop_grace;     /* seconds: SIGTERM .. SIGKILL */
    int             build_concurrency;  /* 0: the number of cores */
    int             build_timeout;      /* seconds */
    int             detect_timeout;     /* seconds */
    int             edge_timeout;       /* one try of a route push, ms */
    char           *edges;              /* control URLs, space-separated */
    int             idle_timeout;       /* seconds */
    int             keep_artifacts;
    int             lease_ttl;          /* seconds */
    int             max_attempts;
    size_t          log_max_size;       /* bytes of log lines per project */
    int             log_max_age;        /* seconds */
    int             log_streams_max;    /* live tails per api process */
    int             reap_interval;      /* seconds */
    int             reconcile_interval; /* seconds */
    char           *sandbox_allow_networks;  /* CIDRs, space-separated */
    char           *sandbox_bwrap;
    char           *sandbox_cgroup_parent;
    char           *sandbox_deny_networks;   /* CIDRs, space-separated */
    size_t          sandbox_disk;       /* bytes; 0: no quota */
    size_t          sandbox_memory;     /* bytes */
    char           *sandbox_network;    /* "10.213.0.0/16" */
    char           *sandbox_nft;
    int             sandbox_pids;
    int             sandbox_uid_base;   /* uids: base .. base+count-1 */
    int             sandbox_uid_count;
    int             startup_timeout;    /* seconds */

    char           *github_api_url;
    char           *github_authorize_url;
    char           *github_client_id;
    char           *github_token_url;
    char           *google_authorize_url;
    char           *google_client_id;
    char           *google_token_url;
    char           *google_userinfo_url;
    char           *jwt_audience;
    char           *jwt_issuer;
    int             jwt_leeway;       /* seconds */
    so_log_level_t  log_level;
    size_t          max_body_size;    /* bytes */
    int             oauth_state_ttl;  /* seconds */
    char           *pg_dsn;
    int             pg_timeout;       /* connect timeout, ms */

    /* per account (so_quota.h); 0: unlimited */
    int             quota_apps_running;
    int             quota_builds_active;
    int             quota_deployments_kept;
    size_t          quota_disk_bytes;
    size_t          quota_log_bytes_per_deployment;
    int             quota_projects;

    char           *redis_host;
    int             redis_port;
    char           *public_url;
    int             redis_timeout;    /* ms */
    int             refresh_ttl;      /* seconds */
    char           *secrets_file;
    char           *sql_dir;
    char           *var_dir;
    int             webhook_fail_limit;     /* per address and window */
    int             webhook_fail_window;    /* seconds */
    size_t          webhook_max_body_size;  /* bytes: the hooks app */
    int             webhook_max_candidates; /* projects per delivery */

    /* from the secrets file; never logged.  The keys are 64 hex chars */
    char           *jwt_key;
    char           *master_key;
    char           *webhook_secret;
    char           *github_client_secret;   /* any string; optional */
    char           *google_client_secret;
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
