
/*
 * ngx_http_shipoff_wake_module: holding requests to a scaled-to-zero app
 * while it wakes.
 *
 * A preaccess handler looks at the route of a request in a location with
 * "shipoff_wake on".  A running route passes at once, from the request's
 * own copy, without touching shared memory.  Otherwise, under the zone's
 * mutex, the first request to find the route sleeping flips it to waking
 * and asks for the wake through a background subrequest to
 * shipoff_wake_uri (as the mirror module does), so one wake goes out per
 * app however many requests arrive.  Every request for a waking route is
 * held: a timer on its connection's write event re-runs the phases every
 * shipoff_wake_check_interval (as limit_req delays), and each run reads the
 * route's state again.  When the route is running the request takes a
 * fresh copy of it ($shipoff_upstream may have changed) and goes on; after
 * shipoff_wake_timeout it is answered 503 with Retry-After.
 *
 * A browser is not made to stare at a blank tab: a GET or HEAD that accepts
 * text/html and has been held for shipoff_wake_page_after gets a small
 * "Waking up" page (503) that reloads itself, while API clients stay held
 * until the app answers.  A worker holds at most shipoff_wake_max_held
 * requests: past that, a request to a sleeping app still wakes it but is
 * answered 503 at once, so a flood cannot pin every connection.
 *
 * A wake that does not bring the app up within shipoff_wake_timeout is
 * taken as lost (the API was down, the client that carried the subrequest
 * went away): the next request to arrive wakes the app again.
 *
 * A held request reads nothing but watches its connection
 * (ngx_http_test_reading), so a client that goes away finalizes it and
 * its timer goes with the connection.  A held request keeps an old worker
 * alive across a reload until it is answered (or worker_shutdown_timeout).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


#define NGX_HTTP_SHIPOFF_WAKE_RETRY_AFTER  "5"


typedef struct {
    ngx_flag_t                    enable;          /* shipoff_wake */
    ngx_str_t                     uri;             /* shipoff_wake_uri */
    ngx_msec_t                    timeout;
    ngx_msec_t                    check_interval;
    ngx_msec_t                    page_after;
    ngx_uint_t                    max_held;        /* per worker */
} ngx_http_shipoff_wake_loc_conf_t;


/* why a request to a sleeping app is answered 503 instead of held */
typedef enum {
    NGX_HTTP_SHIPOFF_WAKE_HOLD = 0,
    NGX_HTTP_SHIPOFF_WAKE_TIMEOUT,     /* held for shipoff_wake_timeout */
    NGX_HTTP_SHIPOFF_WAKE_PAGE,        /* a browser, the waking page */
    NGX_HTTP_SHIPOFF_WAKE_FULL         /* shipoff_wake_max_held reached */
} ngx_http_shipoff_wake_verdict_e;


/* a held request */
typedef struct {
    ngx_msec_t                    start;           /* of the hold */
    unsigned                      failed:1;        /* its wake, logged */
    unsigned                      counted:1;       /* in wake_held */
} ngx_http_shipoff_wake_ctx_t;


static ngx_int_t ngx_http_shipoff_wake_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_wake_look(ngx_http_request_t *r,
    ngx_http_shipoff_wake_loc_conf_t *wlcf, ngx_http_shipoff_ctx_t *rctx,
    ngx_uint_t fresh, ngx_msec_t held,
    ngx_http_shipoff_wake_verdict_e verdict, ngx_uint_t *wake);
static ngx_http_shipoff_wake_verdict_e ngx_http_shipoff_wake_judge(
    ngx_http_request_t *r, ngx_http_shipoff_wake_loc_conf_t *wlcf,
    ngx_uint_t fresh, ngx_msec_t held);
static void ngx_http_shipoff_wake_log(ngx_http_request_t *r,
    ngx_http_shipoff_ctx_t *rctx, ngx_http_shipoff_wake_verdict_e verdict,
    ngx_msec_t held);
static ngx_int_t ngx_http_shipoff_wake_count(ngx_http_request_t *r,
    ngx_http_shipoff_wake_ctx_t *ctx);
static void ngx_http_shipoff_wake_uncount(void *data);
static ngx_int_t ngx_http_shipoff_wake_request(ngx_http_request_t *r,
    ngx_http_shipoff_wake_loc_conf_t *wlcf, ngx_http_shipoff_ctx_t *rctx,
    ngx_http_shipoff_wake_ctx_t *ctx);
static ngx_int_t ngx_http_shipoff_wake_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_shipoff_wake_delay(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_wake_unavailable(ngx_http_request_t *r);
static ngx_uint_t ngx_http_shipoff_wake_wants_html(ngx_http_request_t *r);

static void *ngx_http_shipoff_wake_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_wake_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_shipoff_wake_uri(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shipoff_wake_positive(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_shipoff_wake_init(ngx_conf_t *cf);


static ngx_conf_post_handler_pt  ngx_http_shipoff_wake_uri_p =
    ngx_http_shipoff_wake_uri;

static ngx_conf_post_handler_pt  ngx_http_shipoff_wake_positive_p =
    ngx_http_shipoff_wake_positive;


static ngx_command_t  ngx_http_shipoff_wake_commands[] = {

    { ngx_string("shipoff_wake"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, enable),
      NULL },

    { ngx_string("shipoff_wake_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, uri),
      &ngx_http_shipoff_wake_uri_p },

    { ngx_string("shipoff_wake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, timeout),
      &ngx_http_shipoff_wake_positive_p },

    { ngx_string("shipoff_wake_page_after"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, page_after),
      NULL },

    { ngx_string("shipoff_wake_max_held"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, max_held),
      NULL },

    { ngx_string("shipoff_wake_check_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, check_interval),
      &ngx_http_shipoff_wake_positive_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_wake_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_shipoff_wake_init,            /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shipoff_wake_create_loc_conf, /* create location configuration */
    ngx_http_shipoff_wake_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_wake_module = {
    NGX_MODULE_V1,
    &ngx_http_shipoff_wake_module_ctx,     /* module context */
    ngx_http_shipoff_wake_commands,        /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_http_shipoff_wake_bucket_t
    ngx_http_shipoff_wake_buckets[NGX_HTTP_SHIPOFF_WAKE_BUCKETS] =
{
    { 50, ngx_string("0.05") },
    { 100, ngx_string("0.1") },
    { 250, ngx_string("0.25") },
    { 500, ngx_string("0.5") },
    { 1000, ngx_string("1") },
    { 2500, ngx_string("2.5") },
    { 5000, ngx_string("5") },
    { 10000, ngx_string("10") },
    { 30000, ngx_string("30") }
};


/* the requests this worker holds now, against shipoff_wake_max_held */
static ngx_uint_t  ngx_http_shipoff_wake_held;


static ngx_str_t  ngx_http_shipoff_wake_json_type =
    ngx_string("application/json");

static ngx_str_t  ngx_http_shipoff_wake_json = ngx_string(
"{\"error\":{\"code\":\"waking\","
"\"message\":\"the app is waking up, retry in a few seconds\"}}"
);


static ngx_str_t  ngx_http_shipoff_wake_html_type =
    ngx_string("text/html");

/* a browser reloads this page until the app answers instead */

static ngx_str_t  ngx_http_shipoff_wake_html = ngx_string(
"<!DOCTYPE html>" CRLF
"<html>" CRLF
"<head>" CRLF
"<meta charset=\"utf-8\">" CRLF
"<meta http-equiv=\"refresh\" content=\"2\">" CRLF
"<title>Waking up</title>" CRLF
"</head>" CRLF
"<body>" CRLF
"<h1>Waking up</h1>" CRLF
"<p>This app was asleep and is starting. "
"This page reloads by itself.</p>" CRLF
"</body>" CRLF
"</html>" CRLF
);


static ngx_int_t
ngx_http_shipoff_wake_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_msec_t                         held, delay;
    ngx_uint_t                         fresh, wake;
    ngx_http_shipoff_ctx_t            *rctx;
    ngx_http_shipoff_wake_verdict_e    verdict;
    ngx_http_shipoff_wake_ctx_t       *ctx;
    ngx_http_shipoff_wake_loc_conf_t  *wlcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_wake_module);

    if (!wlcf->enable) {
        return NGX_DECLINED;
    }

    rctx = ngx_http_shipoff_get_ctx(r);

    if (rctx == NULL || !rctx->found) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_shipoff_wake_module);

    fresh = (ctx == NULL);

    if (fresh) {

        if (rctx->info.state == NGX_HTTP_SHIPOFF_STATE_RUNNING) {
            return NGX_DECLINED;
        }

        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_shipoff_wake_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->start = ngx_current_msec;

        ngx_http_set_ctx(r, ctx, ngx_http_shipoff_wake_module);
    }

    held = ngx_current_msec - ctx->start;

    verdict = ngx_http_shipoff_wake_judge(r, wlcf, fresh, held);

    rc = ngx_http_shipoff_wake_look(r, wlcf, rctx, fresh, held, verdict,
                                    &wake);

    switch (rc) {

    case NGX_OK:
        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "shipoff wake: \"%V\" running at \"%V\" after %M ms",
                       &rctx->info.host, &rctx->info.upstream, held);

        ngx_http_set_ctx(r, NULL, ngx_http_shipoff_wake_module);

        return NGX_DECLINED;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "route \"%V\" was deleted while its app woke",
                      &rctx->info.host);

        return NGX_HTTP_NOT_FOUND;

    case NGX_ERROR:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    default: /* NGX_AGAIN */
        break;
    }

    rctx->info.state = NGX_HTTP_SHIPOFF_STATE_WAKING;

    if (wake && ngx_http_shipoff_wake_request(r, wlcf, rctx, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (verdict != NGX_HTTP_SHIPOFF_WAKE_HOLD) {
        ngx_http_shipoff_wake_log(r, rctx, verdict, held);
        ngx_http_finalize_request(r, ngx_http_shipoff_wake_unavailable(r));
        return NGX_DONE;
    }

    if (!ctx->counted && ngx_http_shipoff_wake_count(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    delay = ngx_min(wlcf->check_interval, wlcf->timeout - held);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff wake: \"%V\" held for %M ms",
                   &rctx->info.host, held);

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_shipoff_wake_delay;

    r->connection->write->delayed = 1;
    ngx_add_timer(r->connection->write, delay);

    return NGX_AGAIN;
}


/* why a request to an app still asleep is answered instead of held */

static void
ngx_http_shipoff_wake_log(ngx_http_request_t *r,
    ngx_http_shipoff_ctx_t *rctx, ngx_http_shipoff_wake_verdict_e verdict,
    ngx_msec_t held)
{
    switch (verdict) {

    case NGX_HTTP_SHIPOFF_WAKE_TIMEOUT:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "app \"%V\" of \"%V\" did not wake within %M ms",
                      &rctx->info.project, &rctx->info.host, held);
        break;

    case NGX_HTTP_SHIPOFF_WAKE_PAGE:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "app \"%V\" of \"%V\" still waking after %M ms: "
                      "the waking page", &rctx->info.project,
                      &rctx->info.host, held);
        break;

    case NGX_HTTP_SHIPOFF_WAKE_FULL:
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "app \"%V\" of \"%V\" is waking and this worker "
                      "already holds %ui requests (shipoff_wake_max_held)",
                      &rctx->info.project, &rctx->info.host,
                      ngx_http_shipoff_wake_held);
        break;

    default: /* NGX_HTTP_SHIPOFF_WAKE_HOLD */
        break;
    }
}


/*
 * Whether a request to a route that is not running is held, from what it
 * is and how long it has been held already (verdicts but HOLD answer it).
 */

static ngx_http_shipoff_wake_verdict_e
ngx_http_shipoff_wake_judge(ngx_http_request_t *r,
    ngx_http_shipoff_wake_loc_conf_t *wlcf, ngx_uint_t fresh,
    ngx_msec_t held)
{
    if (fresh && ngx_http_shipoff_wake_held >= wlcf->max_held) {
        return NGX_HTTP_SHIPOFF_WAKE_FULL;
    }

    if (held >= wlcf->timeout) {
        return NGX_HTTP_SHIPOFF_WAKE_TIMEOUT;
    }

    if (held >= wlcf->page_after
        && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        && ngx_http_shipoff_wake_wants_html(r))
    {
        return NGX_HTTP_SHIPOFF_WAKE_PAGE;
    }

    return NGX_HTTP_SHIPOFF_WAKE_HOLD;
}


/* a held request counts against shipoff_wake_max_held until it is freed */

static ngx_int_t
ngx_http_shipoff_wake_count(ngx_http_request_t *r,
    ngx_http_shipoff_wake_ctx_t *ctx)
{
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_shipoff_wake_uncount;
    cln->data = ctx;

    ctx->counted = 1;
    ngx_http_shipoff_wake_held++;

    return NGX_OK;
}


static void
ngx_http_shipoff_wake_uncount(void *data)
{
    ngx_http_shipoff_wake_ctx_t  *ctx = data;

    if (ctx->counted) {
        ctx->counted = 0;
        ngx_http_shipoff_wake_held--;
    }
}


/*
 * What the route is now, read and updated under the zone's mutex, which
 * is taken and released here:
 *
 *   NGX_OK        it is running: rctx holds a fresh copy of it, and the
 *                 time the request was held counts in its histogram;
 *   NGX_AGAIN     it is not: the route is waking, *wake says whether this
 *                 request asks for the wake, and a request answered
 *                 instead of held counts under its verdict;
 *   NGX_DECLINED  it was deleted;
 *   NGX_ERROR.
 */

static ngx_int_t
ngx_http_shipoff_wake_look(ngx_http_request_t *r,
    ngx_http_shipoff_wake_loc_conf_t *wlcf, ngx_http_shipoff_ctx_t *rctx,
    ngx_uint_t fresh, ngx_msec_t held,
    ngx_http_shipoff_wake_verdict_e verdict, ngx_uint_t *wake)
{
    u_char                     *p;
    ngx_int_t                   rc;
    ngx_uint_t                  i;
    ngx_msec_t                  now;
    ngx_http_shipoff_route_t   *route;
    ngx_http_shipoff_routes_t  *routes;
    ngx_http_shipoff_wake_t    *w;

    routes = rctx->routes;
    now = ngx_current_msec;

    *wake = 0;

    ngx_shmtx_lock(&routes->shpool->mutex);

    route = ngx_http_shipoff_routes_lookup(routes, &rctx->info.host,
                                           rctx->hash);
    if (route == NULL) {
        rc = NGX_DECLINED;
        goto done;
    }

    w = &route->activity.wake;

    switch (route->info.state) {

    case NGX_HTTP_SHIPOFF_STATE_RUNNING:

        /* $shipoff_upstream may have changed while the app woke */

        p = ngx_pnalloc(r->pool,
                        ngx_http_shipoff_route_info_size(&route->info));
        if (p == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        (void) ngx_http_shipoff_route_info_copy(&rctx->info, &route->info,
                                                p);

        for (i = 0; i < NGX_HTTP_SHIPOFF_WAKE_BUCKETS; i++) {
            if (held <= ngx_http_shipoff_wake_buckets[i].msec) {
                break;
            }
        }

        w->held[i]++;
        w->held_msec += held;

        rc = NGX_OK;
        goto done;

    case NGX_HTTP_SHIPOFF_STATE_SLEEPING:
        *wake = 1;
        break;

    default: /* NGX_HTTP_SHIPOFF_STATE_WAKING */

        /*
         * Only a request that just arrived judges a wake lost: one held
         * since the wake began would find it stale a moment before its
         * own timeout, and wake the app twice.
         */

        *wake = fresh && (now - w->started >= wlcf->timeout);
        break;
    }

    if (*wake) {
        route->info.state = NGX_HTTP_SHIPOFF_STATE_WAKING;
        w->started = now;
        w->wakes++;
    }

    switch (verdict) {

    case NGX_HTTP_SHIPOFF_WAKE_TIMEOUT:
        w->timeouts++;
        break;

    case NGX_HTTP_SHIPOFF_WAKE_PAGE:
        w->pages++;
        break;

    case NGX_HTTP_SHIPOFF_WAKE_FULL:
        w->refused++;
        break;

    default: /* NGX_HTTP_SHIPOFF_WAKE_HOLD */
        break;
    }

    rc = NGX_AGAIN;

done:

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return rc;
}


/* GET shipoff_wake_uri?host=...&project=..., in the background */

static ngx_int_t
ngx_http_shipoff_wake_request(ngx_http_request_t *r,
    ngx_http_shipoff_wake_loc_conf_t *wlcf, ngx_http_shipoff_ctx_t *rctx,
    ngx_http_shipoff_wake_ctx_t *ctx)
{
    u_char                      *p;
    size_t                       len;
    ngx_str_t                   *args, *host, *project;
    ngx_http_request_t          *sr;
    ngx_http_post_subrequest_t  *ps;

    host = &rctx->info.host;
    project = &rctx->info.project;

    args = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (args == NULL) {
        return NGX_ERROR;
    }

    len = sizeof("host=&project=") - 1
          + host->len
          + 2 * ngx_escape_uri(NULL, host->data, host->len, NGX_ESCAPE_ARGS)
          + project->len
          + 2 * ngx_escape_uri(NULL, project->data, project->len,
                               NGX_ESCAPE_ARGS);

    args->data = ngx_pnalloc(r->pool, len);
    if (args->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(args->data, "host=", sizeof("host=") - 1);
    p = (u_char *) ngx_escape_uri(p, host->data, host->len, NGX_ESCAPE_ARGS);
    p = ngx_cpymem(p, "&project=", sizeof("&project=") - 1);
    p = (u_char *) ngx_escape_uri(p, project->data, project->len,
                                  NGX_ESCAPE_ARGS);

    args->len = p - args->data;

    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->handler = ngx_http_shipoff_wake_done;
    ps->data = ctx;

    if (ngx_http_subrequest(r, &wlcf->uri, args, &sr, ps,
                            NGX_HTTP_SUBREQUEST_BACKGROUND)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* nobody reads the answer, as with mirror */
    sr->header_only = 1;

    /* a GET without a body, whatever the request that woke the app had */
    sr->headers_in.content_length = NULL;
    sr->headers_in.content_length_n = -1;
    sr->headers_in.chunked = 0;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "waking app \"%V\" of \"%V\"", project, host);

    return NGX_OK;
}


/* a wake that fails is worth an error; the subrequest may finalize twice */

static ngx_int_t
ngx_http_shipoff_wake_done(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    ngx_http_shipoff_wake_ctx_t  *ctx = data;

    if (ctx->failed) {
        return rc;
    }

    if (rc == NGX_ERROR
        || rc >= NGX_HTTP_SPECIAL_RESPONSE
        || r->headers_out.status >= NGX_HTTP_SPECIAL_RESPONSE)
    {
        ctx->failed = 1;

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "wake request \"%V?%V\" failed with %ui",
                      &r->uri, &r->args,
                      r->headers_out.status ? r->headers_out.status
                                            : (ngx_uint_t) rc);
    }

    return rc;
}


static void
ngx_http_shipoff_wake_delay(ngx_http_request_t *r)
{
    ngx_event_t  *wev;

    wev = r->connection->write;

    /* writable before the timer is up: wait for the timer */

    if (wev->delayed) {

        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    if (ngx_handle_read_event(r->connection->read, 0) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_core_run_phases;

    /* the wake subrequest's upstream left its own on the connection */
    r->connection->log->action = NULL;

    ngx_http_core_run_phases(r);
}


static ngx_int_t
ngx_http_shipoff_wake_unavailable(ngx_http_request_t *r)
{
    ngx_str_t                 *type;
    ngx_table_elt_t           *h;
    ngx_http_complex_value_t   cv;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    ngx_str_set(&h->value, NGX_HTTP_SHIPOFF_WAKE_RETRY_AFTER);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));

    if (ngx_http_shipoff_wake_wants_html(r)) {
        type = &ngx_http_shipoff_wake_html_type;
        cv.value = ngx_http_shipoff_wake_html;

    } else {
        type = &ngx_http_shipoff_wake_json_type;
        cv.value = ngx_http_shipoff_wake_json;
    }

    return ngx_http_send_response(r, NGX_HTTP_SERVICE_UNAVAILABLE, type, &cv);
}


static ngx_uint_t
ngx_http_shipoff_wake_wants_html(ngx_http_request_t *r)
{
#if (NGX_HTTP_HEADERS)
    ngx_str_t  *accept;

    if (r->headers_in.accept) {
        accept = &r->headers_in.accept->value;

        return ngx_strlcasestrn(accept->data, accept->data + accept->len,
                                (u_char *) "text/html",
                                sizeof("text/html") - 2)
               != NULL;
    }
#endif

    return 0;
}


static void *
ngx_http_shipoff_wake_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_shipoff_wake_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_wake_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->uri = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->check_interval = NGX_CONF_UNSET_MSEC;
    conf->page_after = NGX_CONF_UNSET_MSEC;
    conf->max_held = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_shipoff_wake_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shipoff_wake_loc_conf_t  *prev = parent;
    ngx_http_shipoff_wake_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->uri, prev->uri, "");
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 30000);
    ngx_conf_merge_msec_value(conf->check_interval, prev->check_interval,
                              10);
    ngx_conf_merge_msec_value(conf->page_after, prev->page_after, 3000);
    ngx_conf_merge_uint_value(conf->max_held, prev->max_held, 1024);

    if (conf->enable && conf->uri.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"shipoff_wake\" requires \"shipoff_wake_uri\" "
                           "at the same level or above");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_wake_uri(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *uri = data;

    if (uri->len == 0 || uri->data[0] != '/') {
        return "must be a URI starting with \"/\"";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_wake_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msec = data;

    if (*msec == 0) {
        return "must be positive";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_shipoff_wake_init(ngx_conf_t *cf)
{
    return ngx_http_shipoff_add_handler(cf, NGX_HTTP_PREACCESS_PHASE,
                                        ngx_http_shipoff_wake_handler);
}
