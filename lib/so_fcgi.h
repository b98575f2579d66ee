/*
 * so_fcgi.h: the FastCGI application skeleton shared by api, auth, hooks.
 *
 * An app is a table of routes; so_fcgi_main() loads the configuration,
 * opens the listen socket and runs cfg->fcgi_threads threads, each with its
 * own PostgreSQL and Redis connection, accepting requests and dispatching
 * them by method and path pattern.  Patterns are literal segments and ":x"
 * placeholders: "/api/v1/projects/:id".  A path that matches no pattern is
 * 404; a path that matches with another method is 405.
 *
 * Each route declares what it acts on and what it needs: before its
 * handler runs, so_authz_request() authenticates the caller and checks
 * the need (the token's scope, and the caller's rights on the object
 * whose id is the route's first placeholder), answering 401, 403 or 404
 * itself.  The handler finds the caller in r->principal and the object in
 * r->id / r->ids, and starts at its own logic:
 *
 *   { "GET", "/api/v1/projects/:id", SO_OBJ_PROJECT, SO_NEED_READ,
 *     api_projects_get },
 *
 * SO_OBJ_PUBLIC routes (health, signup, webhooks) check nothing here;
 * their need is 0.
 *
 * A long-lived answer (a live log tail, Server-Sent Events) must not hold
 * one of those few threads: its handler checks the request as any other,
 * then hands it over with so_fcgi_stream() to a thread of its own, with
 * its own connections, and returns at once.  At most log_streams_max such
 * threads run per process; past that the handler is told so and answers
 * 503 itself, without waiting.
 */

#ifndef SO_FCGI_H
#define SO_FCGI_H

#include <stddef.h>

#include "shipoff.h"
#include "so_authz.h"
#include "so_req.h"

typedef void (*so_handler_pt)(so_req_t *r);

typedef struct {
    const char     *method;
    const char     *pattern;
    so_object_t     kind;
    unsigned        need;       /* SO_NEED_*, as so_authz() takes it */
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

/*
 * Checks what each route declares: a public route needs nothing; any
 * other needs exactly one action (SO_NEED_READ, _WRITE or _DELETE), and a
 * route of an object has a placeholder for its id.  0, or SO_EINVAL with
 * the first wrong route in err (so_fcgi_main refuses to start).
 */
int so_fcgi_check(const so_route_t *routes, size_t n, char *err,
    size_t errlen);

/* runs a streamed request in its own thread (so_fcgi_stream) */
typedef void (*so_stream_pt)(so_req_t *r, void *data);

/*
 * Hands request r over to a new thread that runs run(r2, data): r2 is a
 * copy of r (path, query and args included) with the thread's own
 * PostgreSQL (connected) and Redis connections.  When run returns, the
 * request is finished, the connections closed and data free()d.  Returns
 * 0: r is answered as far as the caller knows (it writes nothing more);
 * SO_ETOOBIG: log_streams_max streams run already; SO_EUNAVAIL: no
 * PostgreSQL connection for it; SO_ERR: no thread.  On failure r and data
 * are still the caller's.
 */
int so_fcgi_stream(so_req_t *r, so_stream_pt run, void *data);

/*
 * In a stream: waits up to ms milliseconds for the client to go away (the
 * web server closes the connection when its client did).  1: gone; 0:
 * still there after ms.  Also the stream's way to sleep.
 */
int so_fcgi_gone(so_req_t *r, int ms);

/* the shared health handler: PostgreSQL and Redis reachable, or 503 */
void so_health(so_req_t *r);

/* argv: [-c shipoff.conf] [-t] ; returns the process exit code */
int so_fcgi_main(const so_fcgi_app_t *app, int argc, char **argv);

/*
 * The whole main() of a FastCGI app: its name, its route table (an array),
 * the so_config_t field of its listen address and its init (or NULL).
 */
#define SO_FCGI_APP_MAIN(name, routes, listen, init)                          \
                                                                              \
    static const so_fcgi_app_t  so_fcgi_app = {                               \
        name, routes, so_nelems(routes), offsetof(so_config_t, listen), init  \
    };                                                                        \
                                                                              \
    int                                                                       \
    main(int argc, char **argv)                                               \
    {                                                                         \
        return so_fcgi_main(&so_fcgi_app, argc, argv);                        \
    }

#endif /* SO_FCGI_H */
