/*
 * main.c: shipoffd's command line.
 *
 *   shipoffd [-c shipoff.conf] [-t] [-v]      run the daemon (foreground,
 *                                             loop.c)
 *   shipoffd [-c shipoff.conf] migrate        apply pending migrations
 *   shipoffd [-c shipoff.conf] build ID       build and deploy one QUEUED
 *                                             deployment now (exit codes:
 *                                             bld.h's BLD_WORKER_*)
 *   shipoffd clone                            internal: a worker's clone,
 *                                             in the sandbox (clone.c)
 *
 * `build ID` is an operator's command: this QUEUED deployment is built
 * and deployed now, in this process, with its logs on stderr, exactly as
 * the daemon's worker would.  The claim is so_deploy_claim_now(): QUEUED
 * -> BUILDING only if still QUEUED, so a deployment the daemon already
 * took is left alone.  The lease covers the longest the worker may take,
 * so the reconciler does not take the deployment back while this process
 * works on it.  A dynamic app is only built here: its lease is dropped
 * once it is PROVISIONING, and the daemon's supervisor starts it
 * (apps.c, bld_apps_check()).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "so_migrate.h"
#include "so_pg.h"
#include "bld.h"
#include "worker.h"


static int bld_usage(void);
static int bld_migrate(const so_config_t *cfg);
static int bld_build_foreground(const so_config_t *cfg,
    long long deployment_id);


static int
bld_usage(void)
{
    fprintf(stderr,
            "usage: shipoffd [-c shipoff.conf] [-t] [-v] "
            "[migrate | build ID]\n"
            "  -c FILE  configuration file (default: $SHIPOFF_CONF)\n"
            "  -t       check the configuration and exit\n"
            "  -v       print the version and exit\n"
            "  migrate  apply the pending SQL migrations and exit\n"
            "  build ID build and deploy QUEUED deployment ID now, in the\n"
            "           foreground\n");
    return 2;
}


static int
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


static int
bld_build_foreground(const so_config_t *cfg, long long deployment_id)
{
    so_pg_t  *pg;
    char      dep[24], owner[BLD_CONSUMER_LEN], err[SO_ERRLEN];
    int       rc;

    snprintf(dep, sizeof(dep), "%lld", deployment_id);
    bld_owner_name(owner, sizeof(owner));

    if (bld_netns_host_init(cfg, err, sizeof(err)) != SO_OK) {
        so_log_error("build", "sandbox network: %s", err);
        return BLD_WORKER_RETRY;
    }

    pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    if (pg == NULL || so_pg_connect(pg) != SO_OK) {
        so_log_error("build", "PostgreSQL is down");
        so_pg_free(pg);
        return BLD_WORKER_RETRY;
    }

    rc = so_deploy_claim_now(pg, deployment_id, owner,
                             cfg->build_timeout + cfg->startup_timeout + 120);
    so_pg_free(pg);

    if (rc != SO_OK) {
        so_log_error("build", "deployment=%s: not QUEUED (or no such "
                     "deployment): nothing to do", dep);
        return BLD_WORKER_FAILED;
    }

    rc = bld_worker_run(cfg, deployment_id);

    if (rc == BLD_WORKER_PROVISIONED) {
        pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
        if (pg != NULL && so_pg_connect(pg) == SO_OK) {
            bld_unlease(pg, deployment_id, owner);
        }
        so_pg_free(pg);
        so_log_info("build", "deployment=%s: built; the daemon starts the "
                    "app", dep);
    }

    return rc;
}


int
main(int argc, char **argv)
{
    bld_t      b;
    char       err[SO_ERRLEN], *end;
    long long  build_id;
    int        c, test, rc;

    memset(&b, 0, sizeof(b));
    b.conf_path = getenv("SHIPOFF_CONF");
    test = 0;

    while ((c = getopt(argc, argv, "c:tvh")) != -1) {
        switch (c) {
        case 'c':
            b.conf_path = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            printf("shipoffd %s\n", SHIPOFF_VERSION);
            return 0;
        default:
            return bld_usage();
        }
    }

    /* in the sandbox: no configuration there, nor needed */
    if (optind + 1 == argc && strcmp(argv[optind], "clone") == 0) {
        so_log_init("shipoffd-clone", SO_LOG_INFO);
        return bld_clone_main();
    }

    build_id = 0;
    if (optind + 2 == argc && strcmp(argv[optind], "build") == 0) {
        build_id = strtoll(argv[optind + 1], &end, 10);
        if (*end != '\0' || build_id <= 0) {
            return bld_usage();
        }

    } else if (optind < argc
               && (optind + 1 != argc || strcmp(argv[optind], "migrate") != 0))
    {
        return bld_usage();
    }

    so_log_init("shipoffd", SO_LOG_INFO);

    if (so_config_load(&b.cfg, b.conf_path, err, sizeof(err)) != SO_OK) {
        so_log_error(NULL, "%s", err);
        return 1;
    }

    so_log_set_level(b.cfg.log_level);

    if (test) {
        printf("shipoffd: configuration %s is ok\n",
               b.conf_path ? b.conf_path : "(defaults)");
        rc = 0;

    } else if (build_id > 0) {
        rc = bld_build_foreground(&b.cfg, build_id);

    } else if (optind < argc) {
        rc = bld_migrate(&b.cfg) == SO_OK ? 0 : 1;

    } else {
        rc = bld_loop(&b) == SO_OK ? 0 : 1;
    }

    so_config_free(&b.cfg);
    return rc;
}
