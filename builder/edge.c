/*
 * edge.c: what the nginx edges serve.
 *
 * PostgreSQL holds the truth; each edge keeps a copy in shared memory,
 * changed one host at a time through the control API
 * (PUT/DELETE <edge>/<host>, each edge of cfg->edges being the URL of
 * its /_shipoff/routes), and reloaded at start from a snapshot file
 * that is the body of a whole-table PUT (docs/NGINX.md).
 *
 * The snapshot is rewritten from PostgreSQL after every change, whole,
 * under an flock (two workers finishing together write in turn, and the
 * second one reads the table after the first committed) into a temp file
 * renamed over var_dir/routes.json, so nginx never reads half a file.
 * Its generation is the time in milliseconds: it only grows, and differs
 * from the generation an edge reports once it changed, which is what the
 * reconciler looks for.  The edges are asked by edgeq.c.
 *
 * A dynamic app's route points at the address (in its own network
 * namespace, netns.c) and port its process listens on while
 * app_processes says it runs, and is "sleeping" otherwise: the wake
 * module then holds its next request and asks shipoffd to start it.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_detect.h"
#include "so_fd.h"
#include "so_log.h"
#include "worker.h"

/*
 * The routes of PRODUCTION deployments: name, id, kind, artifact,
 * framework, the app's state, port (NULL without a row), address and
 * run command
 */
#define EDGE_ROUTES_SQL                                                      \
    "SELECT p.name, d.id, d.kind, d.artifact_path, d.framework,"            \
    " a.state, a.port, coalesce(host(a.address), '127.0.0.1'),"             \
    " coalesce(d.run_cmd, '')"                                              \
    " FROM projects p JOIN deployments d"                                   \
    " ON d.project_id = p.id AND d.state = 'PRODUCTION'"                    \
    " LEFT JOIN app_processes a ON a.deployment_id = d.id"                  \
    " WHERE d.artifact_path IS NOT NULL"                                    \
    " AND d.kind IN ('static', 'dynamic')"


static int edge_spa(const char *framework);
static json_t *edge_route_row(const so_config_t *cfg, PGresult *res, int i);


/* 1 for the frameworks whose routes are answered by index.html */
static int
edge_spa(const char *framework)
{
    static const char  *spa[] = { "vite", "create-react-app",
                                  "react-scripts", "vue", "svelte",
                                  "angular" };
    size_t              i;

    for (i = 0; framework != NULL && i < so_nelems(spa); i++) {
        if (strcmp(framework, spa[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


json_t *
bld_route_static(const char *project, long long deployment_id,
    const char *root, const char *framework)
{
    char  dep[24];

    snprintf(dep, sizeof(dep), "%lld", deployment_id);

    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}",
                     "project", project, "kind", "static",
                     "state", "running", "root", root, "deployment", dep,
                     "spa", edge_spa(framework));
}


json_t *
bld_route_dynamic(const char *project, long long deployment_id,
    const char *addr, int port, int running, const char *script_root)
{
    char  dep[24], upstream[64];

    snprintf(dep, sizeof(dep), "%lld", deployment_id);
    snprintf(upstream, sizeof(upstream), "%s:%d", addr, port);

    /* the sandbox sees the app's tree where the host has it: nginx serves
       its files from root, php-fpm runs its scripts below script_root
       (s*: no such key without a script_root) */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:s*, s:s*}",
                     "project", project, "kind", "dynamic",
                     "state", running ? "running" : "sleeping",
                     "upstream", upstream, "deployment", dep,
                     "protocol", script_root != NULL ? "fastcgi" : NULL,
                     "script_root", script_root, "root", script_root);
}


int
bld_route_script_root(const char *run_cmd, const char *tree, char *out,
    size_t len)
{
    char    root[PATH_MAX];
    size_t  n;
    int     rc;

    rc = so_detect_php_fpm_root(run_cmd, root, sizeof(root));
    if (rc != SO_OK) {
        return rc;
    }

    /* "public/" and "public" are one root, "." the tree itself */
    n = strlen(root);
    while (n > 1 && root[n - 1] == '/') {
        root[--n] = '\0';
    }

    if (strcmp(root, ".") == 0) {
        n = (size_t) snprintf(out, len, "%s", tree);
    } else {
        n = (size_t) snprintf(out, len, "%s/%s", tree, root);
    }

    return n < len ? SO_OK : SO_EINVAL;
}


/* a row of EDGE_ROUTES_SQL as a route */
static json_t *
edge_route_row(const so_config_t *cfg, PGresult *res, int i)
{
    long long  id;
    int        port, fastcgi;
    char       script_root[PATH_MAX];

    id = strtoll(PQgetvalue(res, i, 1), NULL, 10);

    if (strcmp(PQgetvalue(res, i, 2), "static") == 0) {
        return bld_route_static(PQgetvalue(res, i, 0), id,
                                PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    }

    /* sleeping: the port is only a placeholder until the app is woken */
    port = cfg->app_port_min;
    if (!PQgetisnull(res, i, 6)) {
        port = (int) strtol(PQgetvalue(res, i, 6), NULL, 10);
    }

    fastcgi = bld_route_script_root(PQgetvalue(res, i, 8),
                                    PQgetvalue(res, i, 3), script_root,
                                    sizeof(script_root))
              == SO_OK;

    return bld_route_dynamic(PQgetvalue(res, i, 0), id,
                             PQgetvalue(res, i, 7), port,
                             !PQgetisnull(res, i, 5)
                             && strcmp(PQgetvalue(res, i, 5), "running")
                                == 0,
                             fastcgi ? script_root : NULL);
}


int
bld_edge_route_of(json_t **out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id)
{
    PGresult  *res;
    char       id[24];

    *out = NULL;
    snprintf(id, sizeof(id), "%lld", project_id);

    res = so_pg_query(pg, "routes_project",
                      EDGE_ROUTES_SQL " AND p.id = $1", SO_PG_PARAMS(id));
    if (res == NULL) {
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) == 1) {
        *out = edge_route_row(cfg, res, 0);
    }

    PQclear(res);
    return SO_OK;
}


int
bld_edge_snapshot(so_pg_t *pg, const so_config_t *cfg, char *err,
    size_t errlen)
{
    PGresult         *res;
    json_t           *table, *routes, *route;
    struct timespec   ts;
    char              path[4096], tmp[4096], lock[4096], host[512];
    int               lfd, i, rc;

    res = NULL;
    table = NULL;
    rc = SO_ERR;
    err[0] = '\0';

    snprintf(path, sizeof(path), "%s/routes.json", cfg->var_dir);
    snprintf(tmp, sizeof(tmp), "%s/.routes.json.%ld", cfg->var_dir,
             (long) getpid());
    snprintf(lock, sizeof(lock), "%s/.routes.lock", cfg->var_dir);

    lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd == -1 || flock(lfd, LOCK_EX) == -1) {
        snprintf(err, errlen, "lock %s: %s", lock, strerror(errno));
        goto done;
    }

    res = so_pg_query(pg, "routes_all", EDGE_ROUTES_SQL, 0, NULL);
    if (res == NULL) {
        snprintf(err, errlen, "%s", so_pg_errstr(pg));
        goto done;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    routes = json_object();
    table = json_pack("{s:I, s:o}", "generation",
                      (json_int_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                      "routes", routes);
    if (table == NULL) {
        goto done;
    }

    for (i = 0; i < PQntuples(res); i++) {
        snprintf(host, sizeof(host), "%s.%s", PQgetvalue(res, i, 0),
                 cfg->apps_domain);
        route = edge_route_row(cfg, res, i);
        if (route == NULL || json_object_set_new(routes, host, route) != 0) {
            goto done;
        }
    }

    if (json_dump_file(table, tmp, JSON_COMPACT) != 0) {
        snprintf(err, errlen, "write %s failed", tmp);
        unlink(tmp);
        goto done;
    }

    if (rename(tmp, path) == -1) {
        snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }

    rc = SO_OK;

done:

    so_fd_close(&lfd);
    PQclear(res);
    json_decref(table);
    return rc;
}
