/*
 * so_fcgi.c: the skeleton of a Shipoff FastCGI app.
 *
 * N threads accept on one socket (libfcgi ties a connection to a thread,
 * so nginx must not keep more upstream connections alive than there are
 * threads).  Each thread owns its PostgreSQL and Redis connections, so a
 * handler never locks.  Routing is a linear walk over a short table; the
 * route's own check (so_authz_request: caller, scope, object) runs before
 * its handler, so no handler repeats it.
 *
 * Streams: a request thread accepts into a request of the heap; a handler
 * that streams (so_fcgi_stream) takes that request away to a detached
 * thread of its own, and the request thread allocates a fresh one for its
 * next accept.  libfcgi keeps all of a request's state (its connection,
 * streams and parameters) in that one structure, so the stream thread
 * finishes it like any other.  The stream threads of a process are
 * counted under a mutex (the one state shared by threads here, because
 * the cap is per process); a stream that finds the count at
 * log_streams_max is refused at once.  The client of a stream is watched
 * through the FastCGI connection: nginx closes it when its client went
 * away, and nothing else arrives on it once the request's body is read.
 * A stream has no end of its own: on SIGTERM the process exits once the
 * request threads are done, which cuts the streams; their clients
 * reconnect to another process (Last-Event-ID resumes a log tail).
 *
 * Listening: "host:port" or the path of a Unix socket (anything with a
 * '/').  A socket is for nginx's workers alone, whatever the umask: it is
 * made 0660 and given the group of its directory (the shipped layout:
 * run/fcgi, root:www-data 0750), so the sandbox's uid, which shares the
 * host's network, has no way in.
 *
 * Stopping: SIGTERM and SIGINT are blocked in every thread and taken by the
 * main thread with sigwait(); it marks libfcgi's shutdown and shuts the
 * listening socket down, which wakes the accepting threads.  Requests in
 * progress finish; then the process exits 0.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fcgi.h"
#include "so_log.h"


typedef struct {
    const so_fcgi_app_t  *app;
    const so_config_t    *cfg;
    int                   sock;
} so_fcgi_ctx_t;

/* a request handed over to a stream thread */
typedef struct {
    so_req_t       r;
    char           path[2048];
    so_stream_pt   run;
    void          *data;
} so_fcgi_stream_t;


/* the stream threads running in this process */
static pthread_mutex_t  so_fcgi_streams_lock = PTHREAD_MUTEX_INITIALIZER;
static int              so_fcgi_streams;


static FCGX_Request *so_fcgi_request_new(int sock);
static void *so_fcgi_stream_thread(void *data);
static void so_fcgi_stream_free(so_fcgi_stream_t *s);
static void *so_fcgi_worker(void *data);
static void so_fcgi_dispatch(const so_fcgi_app_t *app, so_req_t *r);
static int so_fcgi_socket_mode(const char *path);
static int so_fcgi_usage(const char *name);
static int so_fcgi_listen(const char *listen);
static int so_fcgi_serve(so_fcgi_ctx_t *ctx, const char *listen);


const so_route_t *
so_fcgi_match(const so_route_t *routes, size_t n, const char *method,
    const char *path, so_req_t *r, int *status)
{
    const char  *p, *q, *seg;
    char        *a, *aend;
    size_t       i, len, nargs;
    int          path_matched;

    path_matched = 0;

    for (i = 0; i < n; i++) {
        p = routes[i].pattern;
        q = path;
        a = r->argbuf;
        aend = r->argbuf + sizeof(r->argbuf);
        nargs = 0;

        while (*p != '\0' && *q != '\0') {
            if (*p == ':') {
                /* a placeholder takes one non-empty path segment */
                seg = q;
                while (*q != '\0' && *q != '/') {
                    q++;
                }
                len = (size_t) (q - seg);
                if (len == 0 || nargs == SO_MAX_PATH_ARGS
                    || len + 1 > (size_t) (aend - a))
                {
                    break;
                }
                memcpy(a, seg, len);
                a[len] = '\0';
                r->args[nargs++] = a;
                a += len + 1;
                while (*p != '\0' && *p != '/') {
                    p++;
                }
                continue;
            }

            if (*p != *q) {
                break;
            }
            p++;
            q++;
        }

        if (*p != '\0' || *q != '\0') {
            continue;
        }

        path_matched = 1;

        if (strcmp(routes[i].method, method) == 0) {
            r->nargs = nargs;
            return &routes[i];
        }
    }

    *status = path_matched ? 405 : 404;
    return NULL;
}


static void
so_fcgi_dispatch(const so_fcgi_app_t *app, so_req_t *r)
{
    const so_route_t  *route;
    const char        *uri, *qs;
    char               path[2048];
    size_t             len;
    int                status;

    r->method = so_req_param(r, "REQUEST_METHOD");
    if (r->method == NULL) {
        r->method = "GET";
    }

    /* DOCUMENT_URI is the normalised path nginx matched locations on */
    uri = so_req_param(r, "DOCUMENT_URI");
    if (uri == NULL) {
        uri = so_req_param(r, "REQUEST_URI");
    }
    if (uri == NULL) {
        uri = "/";
    }

    len = strcspn(uri, "?");
    if (len >= sizeof(path)) {
        r->path = "/";
        so_req_error(r, 414, "uri_too_long", "the URI is too long", NULL);
        return;
    }
    memcpy(path, uri, len);
    path[len] = '\0';
    r->path = path;

    qs = so_req_param(r, "QUERY_STRING");
    r->query = qs ? qs : "";

    route = so_fcgi_match(app->routes, app->nroutes, r->method, r->path, r,
                          &status);
    if (route == NULL) {
        if (status == 405) {
            so_req_error(r, 405, "method_not_allowed",
                         "this method is not allowed here", NULL);
        } else {
            so_req_error(r, 404, "not_found", "no such endpoint", NULL);
        }
        return;
    }

    if (route->kind == SO_OBJ_PUBLIC
        || so_authz_request(r, route->kind, route->need) == SO_OK)
    {
        route->handler(r);
    }

    PQclear(r->account);

    if (!r->responded) {
        so_log_error(r->path, "handler wrote no response");
        so_req_error(r, 500, "internal", "internal error", NULL);
    }
}


int
so_fcgi_check(const so_route_t *routes, size_t n, char *err, size_t errlen)
{
    const so_route_t  *rt;
    const char        *why;
    unsigned           action;
    size_t             i;

    for (i = 0; i < n; i++) {
        rt = &routes[i];
        action = rt->need & SO_NEED_ACTIONS;
        why = NULL;

        if (rt->kind == SO_OBJ_PUBLIC) {
            if (rt->need != 0) {
                why = "a public route needs nothing";
            }

        } else if (action == 0 || (action & (action - 1)) != 0) {
            why = "needs exactly one action";

        } else if (rt->kind < SO_OBJ_NKINDS
                   && strstr(rt->pattern, "/:") == NULL)
        {
            why = "names no object id";

        } else if (rt->kind >= SO_OBJ_NKINDS && rt->need != action) {
            why = "has no object to need a relation with";
        }

        if (why != NULL) {
            snprintf(err, errlen, "route %s %s %s", rt->method, rt->pattern,
                     why);
            return SO_EINVAL;
        }
    }

    return SO_OK;
}


static FCGX_Request *
so_fcgi_request_new(int sock)
{
    FCGX_Request  *fcgi;

    fcgi = malloc(sizeof(FCGX_Request));
    if (fcgi == NULL || FCGX_InitRequest(fcgi, sock, 0) != 0) {
        free(fcgi);
        return NULL;
    }

    return fcgi;
}


int
so_fcgi_stream(so_req_t *r, so_stream_pt run, void *data)
{
    so_fcgi_stream_t  *s;
    pthread_attr_t     attr;
    pthread_t          tid;
    size_t             i;
    char               buf[4096];
    int                n, total, rc, err;

    pthread_mutex_lock(&so_fcgi_streams_lock);
    rc = so_fcgi_streams < r->cfg->log_streams_max ? SO_OK : SO_ETOOBIG;
    if (rc == SO_OK) {
        so_fcgi_streams++;
    }
    pthread_mutex_unlock(&so_fcgi_streams_lock);

    if (rc != SO_OK) {
        return rc;
    }

    rc = SO_ERR;

    s = calloc(1, sizeof(so_fcgi_stream_t));
    if (s == NULL) {
        goto failed;
    }

    /* the body, if any, is read to its end: then whatever arrives on the
       connection is its close (so_fcgi_gone) */
    for (total = 0; total < 65536; total += n) {
        n = FCGX_GetStr(buf, sizeof(buf), r->fcgi->in);
        if (n <= 0) {
            break;
        }
    }

    s->r = *r;
    s->r.responded = 0;
    s->r.account = NULL;
    s->r.pg = so_pg_new(r->cfg->pg_dsn, r->cfg->pg_timeout);
    s->r.redis = so_redis_new(r->cfg->redis_host, r->cfg->redis_port,
                              r->cfg->redis_timeout);
    snprintf(s->path, sizeof(s->path), "%s", r->path);
    s->r.path = s->path;
    for (i = 0; i < r->nargs; i++) {
        s->r.args[i] = s->r.argbuf + (r->args[i] - r->argbuf);
    }
    s->run = run;
    s->data = data;

    if (s->r.pg == NULL || s->r.redis == NULL) {
        goto failed;
    }

    /* a stream that could not read would hang on silently: refused now
       (the server's max_connections bounds the streams too) */
    if (so_pg_connect(s->r.pg) != SO_OK) {
        so_log_warn(r->path, "a stream gets no PostgreSQL connection: %s",
                    so_pg_errstr(s->r.pg));
        rc = SO_EUNAVAIL;
        goto failed;
    }

    if (pthread_attr_init(&attr) != 0) {
        goto failed;
    }

    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    err = pthread_create(&tid, &attr, so_fcgi_stream_thread, s);
    pthread_attr_destroy(&attr);

    if (err != 0) {
        so_log_error(r->path, "pthread_create() failed: %s", strerror(err));
        goto failed;
    }

    r->fcgi = NULL;
    r->responded = 1;
    return SO_OK;

failed:

    if (s != NULL) {
        s->data = NULL;
        s->r.fcgi = NULL;
        so_fcgi_stream_free(s);
    }

    pthread_mutex_lock(&so_fcgi_streams_lock);
    so_fcgi_streams--;
    pthread_mutex_unlock(&so_fcgi_streams_lock);

    return rc;
}


static void *
so_fcgi_stream_thread(void *data)
{
    so_fcgi_stream_t  *s = data;

    s->run(&s->r, s->data);

    FCGX_Finish_r(s->r.fcgi);
    so_fcgi_stream_free(s);

    pthread_mutex_lock(&so_fcgi_streams_lock);
    so_fcgi_streams--;
    pthread_mutex_unlock(&so_fcgi_streams_lock);

    return NULL;
}


/* frees what s owns: the request when it is set, data, the connections */
static void
so_fcgi_stream_free(so_fcgi_stream_t *s)
{
    free(s->r.fcgi);
    free(s->data);
    so_pg_free(s->r.pg);
    so_redis_free(s->r.redis);
    free(s);
}


int
so_fcgi_gone(so_req_t *r, int ms)
{
    struct pollfd  pfd;
    ssize_t        n;
    char           buf[512];
    int            rc;

    /* libfcgi's own field: no call of its API tells a closed connection
       without blocking on it */
    pfd.fd = r->fcgi->ipcFd;
    pfd.events = POLLIN;
    pfd.revents = 0;

    rc = poll(&pfd, 1, ms);
    if (rc == 0 || (rc == -1 && errno == EINTR)) {
        return 0;
    }

    if (rc == -1 || (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) {
        return 1;
    }

    /* nginx sends nothing after the request's body: this is its close
       (0) or bytes nobody reads (an abort record, dropped) */
    n = recv(pfd.fd, buf, sizeof(buf), MSG_DONTWAIT);
    return n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR);
}


static void *
so_fcgi_worker(void *data)
{
    so_fcgi_ctx_t      *ctx = data;
    const so_config_t  *cfg = ctx->cfg;
    FCGX_Request       *fcgi;
    so_req_t            r;
    so_pg_t            *pg;
    so_redis_t         *redis;

    pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    redis = so_redis_new(cfg->redis_host, cfg->redis_port,
                         cfg->redis_timeout);
    fcgi = so_fcgi_request_new(ctx->sock);
    if (pg == NULL || redis == NULL || fcgi == NULL) {
        so_log_error(ctx->app->name, "out of memory");
        exit(1);
    }

    while (FCGX_Accept_r(fcgi) == 0) {
        memset(&r, 0, sizeof(r));
        r.fcgi = fcgi;
        r.cfg = cfg;
        r.pg = pg;
        r.redis = redis;

        so_fcgi_dispatch(ctx->app, &r);

        if (r.fcgi == NULL) {
            /* a stream thread took the request: a new one for the next */
            fcgi = so_fcgi_request_new(ctx->sock);
            if (fcgi == NULL) {
                so_log_error(ctx->app->name, "out of memory");
                exit(1);
            }
            continue;
        }

        FCGX_Finish_r(fcgi);
    }

    free(fcgi);
    so_pg_free(pg);
    so_redis_free(redis);
    return NULL;
}


/* the socket at path: 0660, in the group of its directory */
static int
so_fcgi_socket_mode(const char *path)
{
    struct stat  dir, sock;
    char         parent[4096];
    size_t       len;

    /* "/x.sock" is in "/" */
    len = (size_t) (strrchr(path, '/') - path);
    if (len == 0) {
        len = 1;
    }

    if (len >= sizeof(parent)) {
        so_log_error(NULL, "%s: the path is too long", path);
        return SO_ERR;
    }

    memcpy(parent, path, len);
    parent[len] = '\0';

    if (stat(parent, &dir) != 0 || lstat(path, &sock) != 0) {
        so_log_error(NULL, "stat() of %s failed: %s", path, strerror(errno));
        return SO_ERR;
    }

    if (sock.st_gid != dir.st_gid
        && chown(path, (uid_t) -1, dir.st_gid) != 0)
    {
        so_log_error(NULL, "chown() of %s to group %u failed: %s", path,
                     (unsigned) dir.st_gid, strerror(errno));
        return SO_ERR;
    }

    if (chmod(path, 0660) != 0) {
        so_log_error(NULL, "chmod() of %s failed: %s", path,
                     strerror(errno));
        return SO_ERR;
    }

    return SO_OK;
}


static int
so_fcgi_usage(const char *name)
{
    fprintf(stderr,
            "usage: %s [-c shipoff.conf] [-t] [-v]\n"
            "  -c FILE  configuration file (default: $SHIPOFF_CONF)\n"
            "  -t       check the configuration and exit\n"
            "  -v       print the version and exit\n", name);
    return 2;
}


int
so_fcgi_main(const so_fcgi_app_t *app, int argc, char **argv)
{
    so_config_t     cfg;
    so_fcgi_ctx_t   ctx;
    const char     *conf, *listen;
    char            err[SO_ERRLEN];
    int             c, test, rc;

    conf = getenv("SHIPOFF_CONF");
    test = 0;

    while ((c = getopt(argc, argv, "c:tvh")) != -1) {
        switch (c) {
        case 'c':
            conf = optarg;
            break;
        case 't':
            test = 1;
            break;
        case 'v':
            printf("%s %s\n", app->name, SHIPOFF_VERSION);
            return 0;
        default:
            return so_fcgi_usage(app->name);
        }
    }

    so_log_init(app->name, SO_LOG_INFO);

    if (so_config_load(&cfg, conf, err, sizeof(err)) != SO_OK) {
        so_log_error(NULL, "%s", err);
        return 1;
    }

    so_log_set_level(cfg.log_level);
    rc = 1;

    if (so_fcgi_check(app->routes, app->nroutes, err, sizeof(err)) != SO_OK)
    {
        so_log_error(NULL, "%s", err);
        goto done;
    }

    if (test) {
        printf("%s: configuration %s is ok\n", app->name,
               conf ? conf : "(defaults)");
        rc = 0;
        goto done;
    }

    signal(SIGPIPE, SIG_IGN);

    if (app->init != NULL && app->init(&cfg) != 0) {
        so_log_error(NULL, "initialisation failed");
        goto done;
    }

    if (FCGX_Init() != 0) {
        so_log_error(NULL, "FCGX_Init() failed");
        goto done;
    }

    listen = *(const char *const *) ((const char *) &cfg
                                     + app->listen_offset);

    ctx.app = app;
    ctx.cfg = &cfg;
    ctx.sock = so_fcgi_listen(listen);
    if (ctx.sock < 0) {
        goto done;
    }

    rc = so_fcgi_serve(&ctx, listen);

done:

    so_config_free(&cfg);
    return rc;
}


/* the app's listening socket; -1 once logged why not */

static int
so_fcgi_listen(const char *listen)
{
    int  sock;

    sock = FCGX_OpenSocket(listen, 128);
    if (sock < 0) {
        so_log_error(NULL, "cannot listen on %s: %s", listen,
                     strerror(errno));
        return -1;
    }

    if (strchr(listen, '/') != NULL && so_fcgi_socket_mode(listen) != SO_OK)
    {
        close(sock);
        return -1;
    }

    return sock;
}


/*
 * The worker threads, until SIGTERM or SIGINT and then until the requests
 * in progress are answered: the exit status of the app.
 */

static int
so_fcgi_serve(so_fcgi_ctx_t *ctx, const char *listen)
{
    pthread_t            *threads;
    sigset_t              stop;
    int                   i, sig, nthreads;
    const so_fcgi_app_t  *app;

    app = ctx->app;
    nthreads = ctx->cfg->fcgi_threads;

    threads = calloc((size_t) nthreads, sizeof(pthread_t));
    if (threads == NULL) {
        return 1;
    }

    so_log_info(NULL, "%s %s listening on %s with %d threads", app->name,
                SHIPOFF_VERSION, listen, nthreads);

    /* the workers inherit the mask: only this thread sees the signals */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    for (i = 0; i < nthreads; i++) {
        if (pthread_create(&threads[i], NULL, so_fcgi_worker, ctx) != 0) {
            so_log_error(NULL, "pthread_create() failed");
            exit(1);
        }
    }

    sigwait(&stop, &sig);
    so_log_info(NULL, "signal %d: finishing requests in progress", sig);

    FCGX_ShutdownPending();
    shutdown(ctx->sock, SHUT_RDWR);

    for (i = 0; i < nthreads; i++) {
        pthread_join(threads[i], NULL);
    }

    so_log_info(NULL, "stopped");

    free(threads);
    return 0;
}
