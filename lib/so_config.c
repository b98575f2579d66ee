/*
 * so_config.c: defaults, the config file, SHIPOFF_* environment overrides
 * and the secrets file, in that order, into one so_config_t.
 *
 * Every key is a row of one sorted table (pgbouncer style): its type says
 * how a value is parsed and printed, its offset where it is stored.  The
 * defaults are strings parsed by the same code as a file value, so a
 * default cannot bypass validation.
 *
 * Secrets (jwt_key, master_key, webhook_secret) are accepted only from the
 * secrets file, which must not be accessible to group or others; an error
 * never quotes a secret, so_config_dump() masks them and the password of
 * pg_dsn, and so_config_free() wipes every string before freeing it.
 * The file is read through a stack buffer that is wiped too, so no copy of
 * a secret is left in freed memory.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "shipoff.h"
#include "so_config.h"


typedef enum {
    SO_CF_STRING,
    SO_CF_INT,
    SO_CF_SIZE,                     /* bytes, suffix k, m or g */
    SO_CF_MSEC,                     /* ms, suffix ms, s or m */
    SO_CF_SEC,                      /* seconds, suffix s, m, h or d */
    SO_CF_LEVEL,
    SO_CF_DSN,                      /* a libpq connection string */
    SO_CF_HEX32                     /* 32 bytes as 64 hex digits */
} so_cf_type_t;

#define SO_CF_OPTIONAL  0x01        /* an empty value means none (NULL) */
#define SO_CF_SECRET    0x02        /* only in the secrets file; masked */
#define SO_CF_NOECHO    0x04        /* an error never quotes the value */

typedef struct {
    const char    *name;
    so_cf_type_t   type;
    size_t         offset;
    const char    *dflt;            /* NULL: none */
    unsigned       flags;
    long long      min;             /* numeric types, in base units */
    long long      max;
} so_cf_key_t;

typedef struct {
    const char          *suffix;
    unsigned long long   mult;
} so_cf_unit_t;

#define SO_CF_HEX32_LEN  64
#define SO_CF_WHERE_LEN  (PATH_MAX + 32)
#define SO_CF_VALUE_LEN  256


static const so_cf_key_t *so_cf_find(const char *name);
static int so_cf_apply(so_config_t *cfg, const so_cf_key_t *key,
    const char *value, const char *where, char *err, size_t errlen);
static int so_cf_apply_number(void *field, const so_cf_key_t *key,
    const char *value, char *expected, size_t len);
static int so_cf_parse_number(const char *s, const so_cf_unit_t *units,
    unsigned long long *out);
static void so_cf_format_number(char *buf, size_t len,
    unsigned long long v, const so_cf_unit_t *units);
static const so_cf_unit_t *so_cf_units(so_cf_type_t type);
static int so_cf_is_hex32(const char *s);
static void so_cf_format_dsn(char *buf, size_t len, const char *dsn);
static int so_cf_read_file(so_config_t *cfg, const char *path, int secrets,
    char *err, size_t errlen);
static int so_cf_parse_line(so_config_t *cfg, char *line, const char *where,
    int secrets, char *err, size_t errlen);
static int so_cf_apply_env(so_config_t *cfg, char *err, size_t errlen);
static char *so_cf_trim(char *s);
static void so_cf_replace(char **field, char *value);
static void so_cf_error(char *err, size_t errlen, const char *where,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));


/* sorted by name: so_cf_find() is a binary search */
/* a key named as its so_config_t field */
#define SO_CF_KEY(field, type, dflt, flags, min, max)                         \
    { #field, type, offsetof(so_config_t, field), dflt, flags, min, max }

/* a string key */
#define SO_CF_STR(field, dflt, flags)                                         \
    SO_CF_KEY(field, SO_CF_STRING, dflt, flags, 0, 0)

/* a number key: min and max in its base unit */
#define SO_CF_NUM(field, type, dflt, min, max)                                \
    SO_CF_KEY(field, type, dflt, 0, min, max)


static const so_cf_key_t  so_cf_keys[] = {

    SO_CF_NUM(access_ttl, SO_CF_SEC, "24h", 60, 30 * 86400),

    /* 0 or 1: a development machine clones local and private repos */
    SO_CF_NUM(allow_insecure_repos, SO_CF_INT, "0", 0, 1),

    SO_CF_NUM(allow_private_repos, SO_CF_INT, "0", 0, 1),

    SO_CF_STR(api_listen, "/run/shipoff/fcgi/api.sock", 0),

    /* an app's writable layer, /tmp and the like: its disk quota */
    SO_CF_NUM(app_disk, SO_CF_SIZE, "1g", 16LL << 20, 1LL << 42),

    /* after a new version of a dynamic app is live, the old process
     * serves what it has in flight this long, then is stopped */
    SO_CF_NUM(app_drain, SO_CF_SEC, "5s", 0, 3600),

    /* the ports dynamic apps listen on (127.0.0.1) */
    SO_CF_NUM(app_port_max, SO_CF_INT, "19999", 1024, 65535),

    SO_CF_NUM(app_port_min, SO_CF_INT, "10000", 1024, 65535),

    /* SIGTERM to an app, then this long before its cgroup is killed */
    SO_CF_NUM(app_stop_grace, SO_CF_SEC, "10s", 0, 3600),

    SO_CF_STR(apps_domain, "localhost", 0),

    /* OWASP's minimum for argon2id: m = 19 MiB, t = 2, p = 1 */
    { "argon2_iterations", SO_CF_INT, offsetof(so_config_t, argon2_t),
      "2", 0, 1, 64 },

    SO_CF_NUM(argon2_max_concurrent, SO_CF_INT, "2", 1, 256),

    { "argon2_memory_kib", SO_CF_INT, offsetof(so_config_t, argon2_m_kib),
      "19456", 0, 8, 4 * 1024 * 1024 },

    { "argon2_parallelism", SO_CF_INT, offsetof(so_config_t, argon2_p),
      "1", 0, 1, 64 },

    SO_CF_STR(auth_listen, "/run/shipoff/fcgi/auth.sock", 0),

    /* concurrent builds; 0: the number of cores */
    SO_CF_NUM(build_concurrency, SO_CF_INT, "0", 0, 256),

    SO_CF_NUM(build_timeout, SO_CF_SEC, "300s", 1, 86400),

    /* a detection's clone, in a builder's sandbox (POST /api/v1/detect) */
    SO_CF_NUM(detect_timeout, SO_CF_SEC, "60s", 1, 3600),

    /* how long one try of a route push waits for an edge's answer (each
       edge is tried 3 times before it counts as missed) */
    SO_CF_NUM(edge_timeout, SO_CF_MSEC, "5s", 1, 600000),

    /* the nginx edges' control locations, separated by spaces; nginx's
       notation for a Unix socket (so_fetch) */
    SO_CF_STR(edges,
              "http://unix:/run/shipoff/control/nginx.sock:/_shipoff/routes",
              0),

    SO_CF_NUM(fcgi_threads, SO_CF_INT, "4", 1, 256),

    SO_CF_STR(github_api_url, "https://api.github.com", 0),

    SO_CF_STR(github_authorize_url, "https://github.com/login/oauth/authorize",
              0),

    SO_CF_STR(github_client_id, NULL, SO_CF_OPTIONAL),

    SO_CF_STR(github_client_secret, NULL,
              SO_CF_SECRET | SO_CF_NOECHO | SO_CF_OPTIONAL),

    SO_CF_STR(github_token_url, "https://github.com/login/oauth/access_token",
              0),

    SO_CF_STR(google_authorize_url,
              "https://accounts.google.com/o/oauth2/v2/auth",
              0),

    SO_CF_STR(google_client_id, NULL, SO_CF_OPTIONAL),

    SO_CF_STR(google_client_secret, NULL,
              SO_CF_SECRET | SO_CF_NOECHO | SO_CF_OPTIONAL),

    SO_CF_STR(google_token_url, "https://oauth2.googleapis.com/token", 0),

    SO_CF_STR(google_userinfo_url,
              "https://openidconnect.googleapis.com/v1/userinfo",
              0),

    SO_CF_STR(hooks_listen, "/run/shipoff/fcgi/hooks.sock", 0),

    SO_CF_NUM(idle_timeout, SO_CF_SEC, "15m", 1, 30 * 86400),

    SO_CF_STR(jwt_audience, "shipoff", 0),

    SO_CF_STR(jwt_issuer, "shipoff", 0),

    SO_CF_KEY(jwt_key, SO_CF_HEX32, NULL, SO_CF_SECRET | SO_CF_NOECHO, 0, 0),

    SO_CF_NUM(jwt_leeway, SO_CF_SEC, "30s", 0, 600),

    /* artifacts kept per project for instant rollback */
    SO_CF_NUM(keep_artifacts, SO_CF_INT, "5", 1, 1000),

    SO_CF_NUM(lease_ttl, SO_CF_SEC, "60s", 5, 3600),

    SO_CF_KEY(log_level, SO_CF_LEVEL, "info", 0, 0, 0),

    /* log retention, per project, enforced by shipoffd */
    SO_CF_NUM(log_max_age, SO_CF_SEC, "14d", 60, 3650 * 86400),

    SO_CF_NUM(log_max_size, SO_CF_SIZE, "64m", 1 << 10, 1LL << 40),

    /* concurrent live log tails one api process holds; more get 503 */
    SO_CF_NUM(log_streams_max, SO_CF_INT, "64", 0, 100000),

    SO_CF_KEY(master_key, SO_CF_HEX32, NULL, SO_CF_SECRET | SO_CF_NOECHO, 0, 0),

    /* a deployment lost by its builder is retried this many times */
    SO_CF_NUM(max_attempts, SO_CF_INT, "3", 1, 100),

    SO_CF_NUM(max_body_size, SO_CF_SIZE, "1m", 1, 1LL << 30),

    SO_CF_NUM(oauth_state_ttl, SO_CF_SEC, "10m", 30, 3600),

    /* a DSN may carry a password */
    SO_CF_KEY(pg_dsn, SO_CF_DSN, "dbname=shipoff", SO_CF_NOECHO, 0, 0),

    SO_CF_NUM(pg_timeout, SO_CF_MSEC, "2s", 1, 600000),

    /* where browsers and GitHub reach us: OAuth redirects, webhook URLs */
    SO_CF_STR(public_url, "http://127.0.0.1:8080", 0),

    /* per account (a user, or a team for its projects); 0: unlimited.
     * Projects with an app started (not asleep) at once */
    SO_CF_NUM(quota_apps_running, SO_CF_INT, "10", 0, 1000000),

    /* deployments QUEUED or BUILDING at once: more are refused (429) */
    SO_CF_NUM(quota_builds_active, SO_CF_INT, "3", 0, 1000000),

    /* deployments kept, any state; the oldest INACTIVE, FAILED and
     * CANCELED beyond it are deleted by shipoffd */
    SO_CF_NUM(quota_deployments_kept, SO_CF_INT, "500", 0, 100000000),

    /* bytes on disk of the kept artifacts (measured when published) */
    SO_CF_NUM(quota_disk_bytes, SO_CF_SIZE, "5g", 0, 1LL << 50),

    /* log text one deployment (its build and its app) may store */
    SO_CF_NUM(quota_log_bytes_per_deployment, SO_CF_SIZE, "10m", 0, 1LL << 40),

    SO_CF_NUM(quota_projects, SO_CF_INT, "50", 0, 1000000),

    /* how often shipoffd reads the edges' activity for idle apps */
    SO_CF_NUM(reap_interval, SO_CF_SEC, "30s", 1, 3600),

    SO_CF_NUM(reconcile_interval, SO_CF_SEC, "30s", 1, 3600),

    SO_CF_STR(redis_host, "127.0.0.1", 0),

    SO_CF_NUM(redis_port, SO_CF_INT, "6379", 1, 65535),

    SO_CF_NUM(redis_timeout, SO_CF_MSEC, "1s", 1, 600000),

    SO_CF_NUM(refresh_ttl, SO_CF_SEC, "6d", 60, 365 * 86400),

    /* IPv4 networks sandboxes may reach although private (netns.c) */
    SO_CF_STR(sandbox_allow_networks, NULL, SO_CF_OPTIONAL),

    SO_CF_STR(sandbox_bwrap, "/usr/bin/bwrap", 0),

    /* every sandbox cgroup lives under <hierarchy>/<sandbox_cgroup_parent> */
    SO_CF_STR(sandbox_cgroup_parent, "shipoff", 0),

    /* IPv4 networks sandboxes may not reach, beyond the private ones */
    SO_CF_STR(sandbox_deny_networks, NULL, SO_CF_OPTIONAL),

    /* a build's work dir is a file system of this size (its disk quota);
       0: a plain directory, no quota */
    SO_CF_NUM(sandbox_disk, SO_CF_SIZE, "4g", 0, 1LL << 42),

    /* memory including swap, per build and per app */
    SO_CF_NUM(sandbox_memory, SO_CF_SIZE, "512m", 16LL << 20, 1LL << 40),

    /* each sandbox gets a /30 of it: its own network namespace */
    SO_CF_STR(sandbox_network, "10.213.0.0/16", 0),

    SO_CF_STR(sandbox_nft, "/usr/sbin/nft", 0),

    SO_CF_NUM(sandbox_pids, SO_CF_INT, "512", 8, 1000000),

    /* project P runs as sandbox_uid_base + its slot (builder/uid.c);
     * never 0: sandboxes do not run as root.  The default lies above the
     * ranges of /etc/subuid and of systemd's containers */
    SO_CF_NUM(sandbox_uid_base, SO_CF_INT, "2000000000", 1, 2000000000),

    SO_CF_NUM(sandbox_uid_count, SO_CF_INT, "65536", 1, 100000000),

    SO_CF_STR(secrets_file, NULL, SO_CF_OPTIONAL),

    SO_CF_STR(sql_dir, "sql", 0),

    SO_CF_NUM(startup_timeout, SO_CF_SEC, "300s", 1, 86400),

    SO_CF_STR(var_dir, "var", 0),

    /* refusals of unauthenticated deliveries (no or a bad signature, no
       project of the repository, a body refused before the signature)
       one client address may have in webhook_fail_window; past that its
       deliveries get 429 before their body is read.  0: no limit */
    SO_CF_NUM(webhook_fail_limit, SO_CF_INT, "30", 0, 1000000),

    SO_CF_NUM(webhook_fail_window, SO_CF_SEC, "10m", 1, 86400),

    /* GitHub sends push payloads up to 25 MB */
    SO_CF_NUM(webhook_max_body_size, SO_CF_SIZE, "25m", 1, 1LL << 30),

    /* projects of one repository whose secret a delivery is checked
       against (an HMAC over the whole body each) */
    SO_CF_NUM(webhook_max_candidates, SO_CF_INT, "16", 1, 256),

    SO_CF_KEY(webhook_secret, SO_CF_HEX32,
              NULL, SO_CF_SECRET | SO_CF_NOECHO, 0, 0),
};


/* the first unit is the one of a bare number */
static const so_cf_unit_t  so_cf_int_units[] = {
    { "", 1 },
    { NULL, 0 }
};

static const so_cf_unit_t  so_cf_size_units[] = {
    { "", 1 },
    { "k", 1ULL << 10 },
    { "m", 1ULL << 20 },
    { "g", 1ULL << 30 },
    { NULL, 0 }
};

static const so_cf_unit_t  so_cf_msec_units[] = {
    { "ms", 1 },
    { "s", 1000 },
    { "m", 60000 },
    { NULL, 0 }
};

static const so_cf_unit_t  so_cf_sec_units[] = {
    { "s", 1 },
    { "m", 60 },
    { "h", 3600 },
    { "d", 86400 },
    { NULL, 0 }
};


int
so_config_load(so_config_t *cfg, const char *path, char *err, size_t errlen)
{
    int                 rc;
    size_t              i;
    const so_cf_key_t  *key;

    memset(cfg, 0, sizeof(*cfg));

    for (i = 0; i < so_nelems(so_cf_keys); i++) {
        key = &so_cf_keys[i];

        if (key->dflt == NULL) {
            continue;
        }

        rc = so_cf_apply(cfg, key, key->dflt, "default", err, errlen);
        if (rc != SO_OK) {
            goto done;
        }
    }

    if (path != NULL) {
        rc = so_cf_read_file(cfg, path, 0, err, errlen);
        if (rc != SO_OK) {
            goto done;
        }
    }

    rc = so_cf_apply_env(cfg, err, errlen);
    if (rc != SO_OK) {
        goto done;
    }

    if (cfg->secrets_file != NULL) {
        rc = so_cf_read_file(cfg, cfg->secrets_file, 1, err, errlen);
    }

done:

    if (rc != SO_OK) {
        so_config_free(cfg);
    }

    return rc;
}


int
so_config_set(so_config_t *cfg, const char *key, const char *value,
    char *err, size_t errlen)
{
    const so_cf_key_t  *k;

    k = so_cf_find(key);
    if (k == NULL) {
        so_cf_error(err, errlen, NULL, "unknown key \"%s\"", key);
        return SO_EINVAL;
    }

    /* secrets are welcome here: the caller holds the value, not a file */
    return so_cf_apply(cfg, k, value, NULL, err, errlen);
}


void
so_config_dump(const so_config_t *cfg)
{
    char                buf[SO_CF_VALUE_LEN];
    size_t              i;
    const char         *s;
    const char         *field;
    const so_cf_key_t  *key;

    for (i = 0; i < so_nelems(so_cf_keys); i++) {
        key = &so_cf_keys[i];
        field = (const char *) cfg + key->offset;

        switch (key->type) {

        case SO_CF_STRING:
        case SO_CF_HEX32:
            s = *(char *const *) field;

            if (key->flags & SO_CF_SECRET) {
                snprintf(buf, sizeof(buf), "%s", s ? "(set)" : "(unset)");

            } else {
                snprintf(buf, sizeof(buf), "%s", s ? s : "(none)");
            }

            break;

        case SO_CF_DSN:
            so_cf_format_dsn(buf, sizeof(buf), *(char *const *) field);
            break;

        case SO_CF_INT:
        case SO_CF_MSEC:
        case SO_CF_SEC:
            so_cf_format_number(buf, sizeof(buf),
                                (unsigned long long) *(const int *) field,
                                so_cf_units(key->type));
            break;

        case SO_CF_SIZE:
            so_cf_format_number(buf, sizeof(buf), *(const size_t *) field,
                                so_cf_size_units);
            break;

        case SO_CF_LEVEL:
            snprintf(buf, sizeof(buf), "%s",
                     so_log_level_name(*(const so_log_level_t *) field));
            break;
        }

        so_log_info("config", "%s = %s", key->name, buf);
    }
}


void
so_config_free(so_config_t *cfg)
{
    size_t  i;

    if (cfg == NULL) {
        return;
    }

    for (i = 0; i < so_nelems(so_cf_keys); i++) {
        switch (so_cf_keys[i].type) {

        case SO_CF_STRING:
        case SO_CF_DSN:
        case SO_CF_HEX32:
            so_cf_replace((char **) ((char *) cfg + so_cf_keys[i].offset),
                          NULL);
            break;

        default:
            break;
        }
    }

    memset(cfg, 0, sizeof(*cfg));
}


static int
so_cf_compare(const void *name, const void *key)
{
    return strcmp(name, ((const so_cf_key_t *) key)->name);
}


static const so_cf_key_t *
so_cf_find(const char *name)
{
    return bsearch(name, so_cf_keys, so_nelems(so_cf_keys),
                   sizeof(so_cf_key_t), so_cf_compare);
}


/*
 * Parses value for key and stores it; on error writes
 * "WHERE: bad value "VALUE" for "KEY": expected ..." into err.
 */
static int
so_cf_apply(so_config_t *cfg, const so_cf_key_t *key, const char *value,
    const char *where, char *err, size_t errlen)
{
    char                *copy;
    void                *field;
    char                 expected[SO_CF_VALUE_LEN];
    so_log_level_t       level;
    PQconninfoOption    *opts;

    field = (char *) cfg + key->offset;
    copy = NULL;
    expected[0] = '\0';

    switch (key->type) {

    case SO_CF_STRING:
        if (value[0] == '\0' && (key->flags & SO_CF_OPTIONAL)) {
            so_cf_replace(field, NULL);
            return SO_OK;
        }

        if (value[0] == '\0') {
            snprintf(expected, sizeof(expected), "a non-empty string");
            break;
        }

        copy = strdup(value);
        break;

    case SO_CF_DSN:
        /* no libpq message: it may quote a part of the password */
        opts = PQconninfoParse(value, NULL);

        if (opts == NULL) {
            snprintf(expected, sizeof(expected), "a libpq connection "
                     "string such as \"host=/run/postgresql dbname=shipoff\"");
            break;
        }

        PQconninfoFree(opts);
        copy = strdup(value);
        break;

    case SO_CF_HEX32:
        if (!so_cf_is_hex32(value)) {
            snprintf(expected, sizeof(expected), "64 hex digits (32 bytes)");
            break;
        }

        copy = strdup(value);
        break;

    case SO_CF_LEVEL:
        if (so_log_level_parse(&level, value) != SO_OK) {
            snprintf(expected, sizeof(expected),
                     "debug, info, warn or error");
            break;
        }

        *(so_log_level_t *) field = level;
        return SO_OK;

    case SO_CF_INT:
    case SO_CF_SIZE:
    case SO_CF_MSEC:
    case SO_CF_SEC:
        if (so_cf_apply_number(field, key, value, expected, sizeof(expected))
            == SO_OK)
        {
            return SO_OK;
        }

        break;
    }

    if (expected[0] != '\0') {
        if (key->flags & SO_CF_NOECHO) {
            so_cf_error(err, errlen, where,
                        "bad value for \"%s\": expected %s", key->name,
                        expected);

        } else {
            so_cf_error(err, errlen, where,
                        "bad value \"%s\" for \"%s\": expected %s", value,
                        key->name, expected);
        }

        return SO_EINVAL;
    }

    if (copy == NULL) {
        so_cf_error(err, errlen, where, "out of memory");
        return SO_ERR;
    }

    so_cf_replace(field, copy);

    return SO_OK;
}


/* an int or size_t field, in range; else says what was expected */
static int
so_cf_apply_number(void *field, const so_cf_key_t *key, const char *value,
    char *expected, size_t len)
{
    char                 lo[32], hi[32];
    const char          *what;
    const so_cf_unit_t  *units;
    unsigned long long   n;

    units = so_cf_units(key->type);

    if (so_cf_parse_number(value, units, &n) == SO_OK
        && n >= (unsigned long long) key->min
        && n <= (unsigned long long) key->max)
    {
        if (key->type == SO_CF_SIZE) {
            *(size_t *) field = (size_t) n;

        } else {
            *(int *) field = (int) n;
        }

        return SO_OK;
    }

    what = key->type == SO_CF_SIZE ? "a size in bytes (or k, m, g)"
           : key->type == SO_CF_MSEC ? "a duration in ms (or s, m)"
           : key->type == SO_CF_SEC ? "a duration in s (or m, h, d)"
           : "an integer";

    so_cf_format_number(lo, sizeof(lo), (unsigned long long) key->min,
                        units);
    so_cf_format_number(hi, sizeof(hi), (unsigned long long) key->max,
                        units);

    snprintf(expected, len, "%s from %s to %s", what, lo, hi);

    return SO_EINVAL;
}


/*
 * Digits only (no sign, no spaces, no hex), then an optional unit suffix;
 * overflow is an error, not a wrap.
 */
static int
so_cf_parse_number(const char *s, const so_cf_unit_t *units,
    unsigned long long *out)
{
    char                *end;
    const so_cf_unit_t  *u;
    unsigned long long   v;

    if (!isdigit((unsigned char) s[0])) {
        return SO_EINVAL;
    }

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return SO_EINVAL;
    }

    if (*end == '\0') {
        *out = v * units[0].mult;
        return SO_OK;
    }

    for (u = units; u->suffix != NULL; u++) {
        if (u->suffix[0] != '\0' && strcasecmp(end, u->suffix) == 0) {
            if (v > ULLONG_MAX / u->mult) {
                return SO_EINVAL;
            }

            *out = v * u->mult;
            return SO_OK;
        }
    }

    return SO_EINVAL;
}


/* in the largest unit that divides the value: "1m", "2s" */
static void
so_cf_format_number(char *buf, size_t len, unsigned long long v,
    const so_cf_unit_t *units)
{
    size_t  i, best;

    best = 0;

    for (i = 1; units[i].suffix != NULL; i++) {
        if (v != 0 && v % units[i].mult == 0) {
            best = i;
        }
    }

    snprintf(buf, len, "%llu%s", v / units[best].mult, units[best].suffix);
}


static const so_cf_unit_t *
so_cf_units(so_cf_type_t type)
{
    switch (type) {

    case SO_CF_SIZE:
        return so_cf_size_units;

    case SO_CF_MSEC:
        return so_cf_msec_units;

    case SO_CF_SEC:
        return so_cf_sec_units;

    default:
        return so_cf_int_units;
    }
}


static int
so_cf_is_hex32(const char *s)
{
    size_t  i;

    for (i = 0; i < SO_CF_HEX32_LEN; i++) {
        if (!isxdigit((unsigned char) s[i])) {
            return 0;
        }
    }

    return s[i] == '\0';
}


/* "host=db dbname=shipoff password=(set)": the DSN without its password */
static void
so_cf_format_dsn(char *buf, size_t len, const char *dsn)
{
    int                n;
    size_t             used;
    PQconninfoOption  *opts, *o;

    if (dsn == NULL) {
        snprintf(buf, len, "(none)");
        return;
    }

    opts = PQconninfoParse(dsn, NULL);
    if (opts == NULL) {
        snprintf(buf, len, "(unparsable)");
        return;
    }

    buf[0] = '\0';
    used = 0;

    for (o = opts; o->keyword != NULL && used < len; o++) {
        if (o->val == NULL) {
            continue;
        }

        n = snprintf(buf + used, len - used, "%s%s=%s", used ? " " : "",
                     o->keyword,
                     strcmp(o->keyword, "password") == 0 ? "(set)" : o->val);
        if (n < 0) {
            break;
        }

        used += (size_t) n;
    }

    PQconninfoFree(opts);
}


/*
 * Reads "key = value" lines.  The secrets file must be a regular file
 * private to its owner and may hold only secret keys.
 */
static int
so_cf_read_file(so_config_t *cfg, const char *path, int secrets, char *err,
    size_t errlen)
{
    int          fd, rc;
    FILE        *fp;
    char        *line;
    char         where[SO_CF_WHERE_LEN];
    char         iobuf[BUFSIZ];
    size_t       cap, lineno;
    ssize_t      n;
    struct stat  st;

    fp = NULL;
    line = NULL;
    cap = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        so_cf_error(err, errlen, NULL, "cannot open %s: %s", path,
                    strerror(errno));
        rc = SO_ERR;
        goto done;
    }

    if (fstat(fd, &st) == -1) {
        so_cf_error(err, errlen, NULL, "cannot stat %s: %s", path,
                    strerror(errno));
        close(fd);
        rc = SO_ERR;
        goto done;
    }

    if (secrets && (st.st_mode & 077) != 0) {
        so_cf_error(err, errlen, NULL,
                    "%s: the secrets file is accessible by group or others "
                    "(mode %04o); chmod 600 it", path,
                    (unsigned) (st.st_mode & 07777));
        close(fd);
        rc = SO_EINVAL;
        goto done;
    }

    fp = fdopen(fd, "r");
    if (fp == NULL) {
        so_cf_error(err, errlen, NULL, "cannot open %s: %s", path,
                    strerror(errno));
        close(fd);
        rc = SO_ERR;
        goto done;
    }

    /* our own buffer, wiped below, instead of one freed as it is */
    setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));

    rc = SO_OK;
    lineno = 0;

    for ( ;; ) {
        errno = 0;
        n = getline(&line, &cap, fp);
        if (n == -1) {
            break;
        }

        lineno++;
        snprintf(where, sizeof(where), "%s:%zu", path, lineno);

        rc = so_cf_parse_line(cfg, line, where, secrets, err, errlen);
        if (rc != SO_OK) {
            goto done;
        }
    }

    if (ferror(fp)) {
        so_cf_error(err, errlen, NULL, "cannot read %s: %s", path,
                    strerror(errno ? errno : EIO));
        rc = SO_ERR;
    }

done:

    if (fp != NULL) {
        fclose(fp);
    }

    if (line != NULL) {
        explicit_bzero(line, cap);
        free(line);
    }

    explicit_bzero(iobuf, sizeof(iobuf));

    return rc;
}


static int
so_cf_parse_line(so_config_t *cfg, char *line, const char *where,
    int secrets, char *err, size_t errlen)
{
    char               *eq, *name, *value;
    size_t              len;
    const so_cf_key_t  *key;

    name = so_cf_trim(line);

    if (name[0] == '\0' || name[0] == '#') {
        return SO_OK;
    }

    eq = strchr(name, '=');
    if (eq == NULL || eq == name) {
        so_cf_error(err, errlen, where, "expected \"key = value\"");
        return SO_EINVAL;
    }

    *eq = '\0';
    name = so_cf_trim(name);
    value = so_cf_trim(eq + 1);

    if (value[0] == '"') {
        len = strlen(value);

        if (len < 2 || value[len - 1] != '"') {
            so_cf_error(err, errlen, where, "unterminated quoted value");
            return SO_EINVAL;
        }

        value[len - 1] = '\0';
        value++;
    }

    key = so_cf_find(name);

    if (key == NULL) {
        if (secrets) {
            /* a stray line there may well be a secret: do not quote it */
            so_cf_error(err, errlen, where, "unknown key; only jwt_key, "
                        "master_key and webhook_secret belong in the "
                        "secrets file");

        } else {
            so_cf_error(err, errlen, where, "unknown key \"%s\"", name);
        }

        return SO_EINVAL;
    }

    if (secrets && !(key->flags & SO_CF_SECRET)) {
        so_cf_error(err, errlen, where,
                    "\"%s\" does not belong in the secrets file", name);
        return SO_EINVAL;
    }

    if (!secrets && (key->flags & SO_CF_SECRET)) {
        so_cf_error(err, errlen, where,
                    "\"%s\" belongs in the secrets file", name);
        return SO_EINVAL;
    }

    return so_cf_apply(cfg, key, value, where, err, errlen);
}


static int
so_cf_apply_env(so_config_t *cfg, char *err, size_t errlen)
{
    int                 rc;
    char                var[64], where[96];
    size_t              i, j;
    const char         *value;
    const so_cf_key_t  *key;

    for (i = 0; i < so_nelems(so_cf_keys); i++) {
        key = &so_cf_keys[i];

        snprintf(var, sizeof(var), "SHIPOFF_%s", key->name);
        for (j = sizeof("SHIPOFF_") - 1; var[j] != '\0'; j++) {
            var[j] = (char) toupper((unsigned char) var[j]);
        }

        value = getenv(var);
        if (value == NULL) {
            continue;
        }

        snprintf(where, sizeof(where), "environment %s", var);

        if (key->flags & SO_CF_SECRET) {
            so_cf_error(err, errlen, where,
                        "\"%s\" belongs in the secrets file", key->name);
            return SO_EINVAL;
        }

        rc = so_cf_apply(cfg, key, value, where, err, errlen);
        if (rc != SO_OK) {
            return rc;
        }
    }

    return SO_OK;
}


static char *
so_cf_trim(char *s)
{
    size_t  len;

    while (isspace((unsigned char) *s)) {
        s++;
    }

    len = strlen(s);

    while (len > 0 && isspace((unsigned char) s[len - 1])) {
        s[--len] = '\0';
    }

    return s;
}


/* wipes the old string: it may be a secret or hold a password */
static void
so_cf_replace(char **field, char *value)
{
    if (*field != NULL) {
        explicit_bzero(*field, strlen(*field));
        free(*field);
    }

    *field = value;
}


static void
so_cf_error(char *err, size_t errlen, const char *where, const char *fmt,
    ...)
{
    int      n;
    va_list  ap;

    if (err == NULL || errlen == 0) {
        return;
    }

    n = 0;

    if (where != NULL) {
        n = snprintf(err, errlen, "%s: ", where);
        if (n < 0 || (size_t) n >= errlen) {
            return;
        }
    }

    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t) n, fmt, ap);
    va_end(ap);
}
