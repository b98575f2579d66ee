/*
 * so_fcgi.h: the FastCGI application skeleton shared by api, auth, hooks.
 *
 * An app is a table of routes; so_fcgi_main() loads the configuration,
 * opens the listen socket and runs cfg->fcgi_threads threads, each with its
 * own PostgreSQL and Redis connection, accepting requests and dispatching
 * them by method and path pattern.  Patterns are literal segments and ":x"
 * placeholders: "/api/v1/projects/:id".  A path that matches no pattern is
 * 404; a path that matches with another method is 405.
 */

#ifndef SO_FCGI_H
#define SO_FCGI_H

#include "so_http.h"

typedef void (*so_handler_pt)(so_req_t *r);

typedef struct {
    const char     *method;
    const char     *pattern;
    so_handler_pt   handler;
} so_route_t;

typedef struct {
    const char        *name;        /* "shipoff-api", for logs */
    const so_route_t  *routes;
    size_t             nroutes;
    /* which so_config_t listen field to use */
    size_t             listen_offset;
    /* once at start, before the threads; NULL: nothing.  0 or an error */
    int              (*init)(const so_config_t *cfg);
} so_fcgi_app_t;

/*
 * Matches method and path against the table.  Returns the route and fills
 * args, or NULL with *status 404 or 405.
 */
const so_route_t *so_fcgi_match(const so_route_t *routes, size_t n,
    const char *method, const char *path, so_req_t *r, int *status);

/* the shared health handler: PostgreSQL and Redis reachable, or 503 */
void so_health(so_req_t *r);

/* argv: [-c shipoff.conf] [-t] ; returns the process exit code */
int so_fcgi_main(const so_fcgi_app_t *app, int argc, char **argv);

#endif /* SO_FCGI_H */
