/*
 * main.c: shipoffd's command line.
 *
 *   shipoffd [-c shipoff.conf] [-t] [-v]      run the daemon (foreground)
 *   shipoffd [-c shipoff.conf] migrate        apply pending migrations
 *   shipoffd [-c shipoff.conf] build ID       build and deploy one QUEUED
 *                                             deployment now (exit codes:
 *                                             bld.h's BLD_WORKER_*)
 *   shipoffd clone                            internal: a worker's clone,
 *                                             in the sandbox (clone.c)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_log.h"
#include "bld.h"
#include "worker.h"


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
