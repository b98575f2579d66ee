/*
 * so_quota.h: per-account quotas, counted in PostgreSQL.
 *
 * An account is a user, or a team for the projects the team owns: a
 * project counts against its owner, whoever acts on it.  Each limit is a
 * configuration key quota_<name> (so_config.c); 0 means unlimited.  What
 * an account uses is read by one statement from the tables themselves
 * (projects, deployments and their artifact_bytes, app_processes), so
 * there is no counter to drift.
 *
 * A check that must hold under concurrency (a project created, a build
 * queued) runs in a transaction that first locks the account's row
 * (so_quota_lock): two requests of one account are counted one after the
 * other, and the second sees the first's row.
 */

#ifndef SO_QUOTA_H
#define SO_QUOTA_H

#include "so_config.h"
#include "so_pg.h"

typedef enum {
    SO_QUOTA_PROJECTS = 0,          /* projects owned */
    SO_QUOTA_DEPLOYMENTS,           /* deployments kept, any state */
    SO_QUOTA_BUILDS,                /* deployments QUEUED or BUILDING */
    SO_QUOTA_DISK,                  /* bytes of kept artifacts */
    SO_QUOTA_APPS,                  /* projects with an app running */
    SO_QUOTA_ACCOUNT_N,             /* the ones above are per account */
    SO_QUOTA_LOG = SO_QUOTA_ACCOUNT_N,  /* log bytes per deployment */
    SO_QUOTA_N
} so_quota_kind_t;

typedef struct {
    long long  user;                /* owner user, or 0 */
    long long  team;                /* owner team, or 0 */
} so_quota_account_t;

/* one limit as an answer shows it */
typedef struct {
    so_quota_kind_t  kind;
    long long        limit;         /* 0: unlimited */
    long long        usage;
} so_quota_t;

/* "projects", "deployments_kept", "builds_active", "disk_bytes", ... */
const char *so_quota_name(so_quota_kind_t kind);

/* the configured limit of kind; 0: unlimited */
long long so_quota_limit(const so_config_t *cfg, so_quota_kind_t kind);

/*
 * *out = the account project_id counts against.  lock: the account's row
 * is locked FOR NO KEY UPDATE too (inside a transaction).  0,
 * SO_ENOTFOUND, or SO_EUNAVAIL / SO_ERR (so_pg_errstr()).
 */
int so_quota_account_of(so_quota_account_t *out, so_pg_t *pg,
    long long project_id, int lock);

/* locks the row of account (inside a transaction); codes as above */
int so_quota_lock(so_pg_t *pg, const so_quota_account_t *account);

/*
 * usage[kind] for every per-account kind, read in one statement.
 * apps_running leaves out except_project (0: none): the project that is
 * about to start an app replaces its own.  0 or SO_EUNAVAIL / SO_ERR.
 */
int so_quota_usage(long long usage[SO_QUOTA_ACCOUNT_N], so_pg_t *pg,
    const so_quota_account_t *account, long long except_project);

/*
 * Fills *out with kind, limit (0: unlimited) and usage; SO_EQUOTA
 * when adding add to that usage would take it over the limit, else 0.
 */
int so_quota_over(so_quota_t *out, so_quota_kind_t kind, long long limit,
    long long usage, long long add);

#endif /* SO_QUOTA_H */
