/*
 * migrate.c: "shipoffd migrate", the schema migration command.
 */

#include "shipoff.h"
#include "so_log.h"
#include "so_migrate.h"
#include "bld.h"


int
bld_migrate(const so_config_t *cfg)
{
    so_pg_t  *pg;
    char      err[1024];
    int       n, rc;

    rc = SO_ERR;

    pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    if (pg == NULL) {
        return SO_ERR;
    }

    if (so_pg_connect(pg) != SO_OK) {
        so_log_error("migrate", "cannot connect to PostgreSQL: %s",
                     so_pg_errstr(pg));
        goto done;
    }

    n = so_migrate(so_pg_conn(pg), cfg->sql_dir, err, sizeof(err));
    if (n < 0) {
        so_log_error("migrate", "%s", err);
        so_log_error("migrate", "the failing file was rolled back; "
                     "nothing of it was applied");
        goto done;
    }

    so_log_info("migrate", n ? "%d migration(s) applied"
                             : "up to date (%d applied)", n);
    rc = SO_OK;

done:

    so_pg_free(pg);
    return rc;
}
