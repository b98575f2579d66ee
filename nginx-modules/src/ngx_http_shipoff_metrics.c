
/*
 * ngx_http_shipoff_metrics_module: the route table's activity in the
 * Prometheus text format (version 0.0.4), for GET /_shipoff/metrics.
 *
 * The handler copies what it needs of every route under the zone's mutex
 * (one consistent snapshot, in the request's pool) and formats it after
 * releasing the mutex.  Every metric family is one entry of a table; a
 * route is labelled by its host and its project.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


/* a route as the metrics see it; labels are escaped already */
typedef struct {
    ngx_str_t                     host;
    ngx_str_t                     project;
    ngx_uint_t                    requests;
    ngx_uint_t                    in_flight;
    ngx_uint_t                    long_lived;
    ngx_http_shipoff_wake_t       wake;
} ngx_http_shipoff_metrics_route_t;


/* a metric family with one sample per route, an ngx_uint_t in the above */
typedef struct {
    ngx_str_t                     name;
    ngx_str_t                     head;        /* HELP and TYPE lines */
    size_t                        offset;
} ngx_http_shipoff_metric_t;


typedef struct {
    ngx_flag_t                    used;        /* shipoff_metrics is */
} ngx_http_shipoff_metrics_main_conf_t;


static ngx_int_t ngx_http_shipoff_metrics_handler(ngx_http_request_t *r);
static ngx_array_t *ngx_http_shipoff_metrics_snapshot(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes, ngx_uint_t *nroutes,
    uint64_t *generation);
static ngx_int_t ngx_http_shipoff_metrics_label(ngx_pool_t *pool,
    ngx_str_t *dst, ngx_str_t *src);
static u_char *ngx_http_shipoff_metrics_labels(u_char *p,
    ngx_http_shipoff_metrics_route_t *mr);
static u_char *ngx_http_shipoff_metrics_histogram(u_char *p,
    ngx_array_t *snapshot);

static void *ngx_http_shipoff_metrics_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_shipoff_metrics_init(ngx_conf_t *cf);


static ngx_command_t  ngx_http_shipoff_metrics_commands[] = {

    { ngx_string("shipoff_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shipoff_metrics,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_metrics_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_shipoff_metrics_init,         /* postconfiguration */

    ngx_http_shipoff_metrics_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_metrics_module = {
    NGX_MODULE_V1,
    &ngx_http_shipoff_metrics_module_ctx,  /* module context */
    ngx_http_shipoff_metrics_commands,     /* module directives */
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


#define ngx_http_shipoff_metric(name, type, help, field)                      \
    { ngx_string(name),                                                       \
      ngx_string("# HELP " name " " help "\n# TYPE " name " " type "\n"),     \
      offsetof(ngx_http_shipoff_metrics_route_t, field) }


static ngx_http_shipoff_metric_t  ngx_http_shipoff_metrics_families[] = {

    ngx_http_shipoff_metric("shipoff_requests_total", "counter",
        "Requests routed to the route.", requests),

    ngx_http_shipoff_metric("shipoff_in_flight", "gauge",
        "Requests of the route being served now.", in_flight),

    ngx_http_shipoff_metric("shipoff_long_lived", "gauge",
        "Open WebSocket and event-stream requests of the route.",
        long_lived),

    ngx_http_shipoff_metric("shipoff_wakes_total", "counter",
        "Wake-ups of the route's app requested.", wake.wakes),

    ngx_http_shipoff_metric("shipoff_wake_timeouts_total", "counter",
        "Requests answered 503 because the app did not wake in time.",
        wake.timeouts),

    { ngx_null_string, ngx_null_string, 0 }
};


static ngx_str_t  ngx_http_shipoff_metrics_hist_head = ngx_string(
    "# HELP shipoff_wake_seconds "
    "Time requests were held while their app woke.\n"
    "# TYPE shipoff_wake_seconds histogram\n");

#define NGX_HTTP_SHIPOFF_METRICS_TABLE                                        \
    "# HELP shipoff_routes Routes in the table.\n"                            \
    "# TYPE shipoff_routes gauge\n"                                           \
    "shipoff_routes %ui\n"                                                    \
    "# HELP shipoff_generation Generation of the route table.\n"              \
    "# TYPE shipoff_generation gauge\n"                                       \
    "shipoff_generation %uL\n"

static ngx_str_t  ngx_http_shipoff_metrics_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


/* the longest sample name, and the longest "le" label with its quotes */
#define NGX_HTTP_SHIPOFF_METRICS_NAME_MAX                                     \
    (sizeof("shipoff_wake_timeouts_total") - 1)
#define NGX_HTTP_SHIPOFF_METRICS_LE_MAX  (sizeof(",le=\"+Inf\"") - 1)


static ngx_int_t
ngx_http_shipoff_metrics_handler(ngx_http_request_t *r)
{
    u_char                               *p, *body;
    size_t                                len;
    uint64_t                              generation;
    ngx_uint_t                            i, nroutes, samples;
    ngx_array_t                          *snapshot;
    ngx_http_complex_value_t              cv;
    ngx_http_shipoff_metric_t            *m;
    ngx_http_shipoff_metrics_route_t     *mr;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);

    snapshot = ngx_http_shipoff_metrics_snapshot(r, rmcf->shm_zone->data,
                                                 &nroutes, &generation);
    if (snapshot == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof(NGX_HTTP_SHIPOFF_METRICS_TABLE) + NGX_INT_T_LEN
          + NGX_INT64_LEN + ngx_http_shipoff_metrics_hist_head.len;

    /* per route: a sample of each family, the buckets, +Inf, _sum, _count */

    samples = NGX_HTTP_SHIPOFF_WAKE_BUCKETS + 3;

    for (m = ngx_http_shipoff_metrics_families; m->name.len; m++) {
        len += m->head.len;
        samples++;
    }

    mr = snapshot->elts;

    for (i = 0; i < snapshot->nelts; i++) {

        /* name{route="...",project="...",le="..."} value\n */

        len += samples * (NGX_HTTP_SHIPOFF_METRICS_NAME_MAX
                          + sizeof("{route=\"\",project=\"\"}") - 1
                          + mr[i].host.len + mr[i].project.len
                          + NGX_HTTP_SHIPOFF_METRICS_LE_MAX
                          + sizeof(" .000\n") - 1 + NGX_INT64_LEN);
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, NGX_HTTP_SHIPOFF_METRICS_TABLE, nroutes, generation);

    for (m = ngx_http_shipoff_metrics_families; m->name.len; m++) {
        p = ngx_cpymem(p, m->head.data, m->head.len);

        for (i = 0; i < snapshot->nelts; i++) {
            p = ngx_cpymem(p, m->name.data, m->name.len);
            p = ngx_http_shipoff_metrics_labels(p, &mr[i]);
            p = ngx_sprintf(p, "} %ui\n",
                            *(ngx_uint_t *) ((u_char *) &mr[i] + m->offset));
        }
    }

    p = ngx_http_shipoff_metrics_histogram(p, snapshot);

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));

    cv.value.data = body;
    cv.value.len = p - body;

    return ngx_http_send_response(r, NGX_HTTP_OK,
                                  &ngx_http_shipoff_metrics_type, &cv);
}


/*
 * An array of ngx_http_shipoff_metrics_route_t, one per route.  Copies
 * come from the request's pool, which touches no shared state: the mutex
 * is held only as long as the copying takes.
 */

static ngx_array_t *
ngx_http_shipoff_metrics_snapshot(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes, ngx_uint_t *nroutes,
    uint64_t *generation)
{
    ngx_array_t                       *snapshot;
    ngx_rbtree_t                      *tree;
    ngx_rbtree_node_t                 *node;
    ngx_http_shipoff_route_t          *route;
    ngx_http_shipoff_metrics_route_t  *mr;

    tree = &routes->sh->rbtree;

    ngx_shmtx_lock(&routes->shpool->mutex);

    *nroutes = routes->sh->nroutes;
    *generation = routes->sh->generation;

    snapshot = ngx_array_create(r->pool, *nroutes ? *nroutes : 1,
                                sizeof(ngx_http_shipoff_metrics_route_t));
    if (snapshot == NULL) {
        goto failed;
    }

    if (tree->root == tree->sentinel) {
        goto done;
    }

    for (node = ngx_rbtree_min(tree->root, tree->sentinel);
         node;
         node = ngx_rbtree_next(tree, node))
    {
        route = (ngx_http_shipoff_route_t *) node;

        mr = ngx_array_push(snapshot);
        if (mr == NULL) {
            goto failed;
        }

        if (ngx_http_shipoff_metrics_label(r->pool, &mr->host,
                                           &route->info.host)
            != NGX_OK
            || ngx_http_shipoff_metrics_label(r->pool, &mr->project,
                                              &route->info.project)
               != NGX_OK)
        {
            goto failed;
        }

        mr->requests = route->requests;
        mr->in_flight = route->in_flight;
        mr->long_lived = route->long_lived;
        mr->wake = route->wake;
    }

done:

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return snapshot;

failed:

    ngx_shmtx_unlock(&routes->shpool->mutex);

    return NULL;
}


/* a label value: backslash, double quote and line feed are escaped */

static ngx_int_t
ngx_http_shipoff_metrics_label(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_str_t *src)
{
    u_char  *p, *s, *end;
    size_t   len;

    end = src->data + src->len;
    len = src->len;

    for (s = src->data; s < end; s++) {
        if (*s == '\\' || *s == '"' || *s == '\n') {
            len++;
        }
    }

    p = ngx_pnalloc(pool, len ? len : 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst->data = p;
    dst->len = len;

    for (s = src->data; s < end; s++) {

        switch (*s) {

        case '\\':
        case '"':
            *p++ = '\\';
            *p++ = *s;
            break;

        case '\n':
            *p++ = '\\';
            *p++ = 'n';
            break;

        default:
            *p++ = *s;
        }
    }

    return NGX_OK;
}


/* {route="...",project="..." without the closing brace */

static u_char *
ngx_http_shipoff_metrics_labels(u_char *p,
    ngx_http_shipoff_metrics_route_t *mr)
{
    return ngx_sprintf(p, "{route=\"%V\",project=\"%V\"",
                       &mr->host, &mr->project);
}


/* cumulative buckets, as Prometheus wants them; the sum in seconds */

static u_char *
ngx_http_shipoff_metrics_histogram(u_char *p, ngx_array_t *snapshot)
{
    ngx_uint_t                         i, b, count;
    ngx_http_shipoff_metrics_route_t  *mr;

    p = ngx_cpymem(p, ngx_http_shipoff_metrics_hist_head.data,
                   ngx_http_shipoff_metrics_hist_head.len);

    mr = snapshot->elts;

    for (i = 0; i < snapshot->nelts; i++) {

        count = 0;

        for (b = 0; b < NGX_HTTP_SHIPOFF_WAKE_BUCKETS; b++) {
            count += mr[i].wake.held[b];

            p = ngx_cpymem(p, "shipoff_wake_seconds_bucket",
                           sizeof("shipoff_wake_seconds_bucket") - 1);
            p = ngx_http_shipoff_metrics_labels(p, &mr[i]);
            p = ngx_sprintf(p, ",le=\"%V\"} %ui\n",
                            &ngx_http_shipoff_wake_buckets[b].le, count);
        }

        count += mr[i].wake.held[NGX_HTTP_SHIPOFF_WAKE_BUCKETS];

        p = ngx_cpymem(p, "shipoff_wake_seconds_bucket",
                       sizeof("shipoff_wake_seconds_bucket") - 1);
        p = ngx_http_shipoff_metrics_labels(p, &mr[i]);
        p = ngx_sprintf(p, ",le=\"+Inf\"} %ui\n", count);

        p = ngx_cpymem(p, "shipoff_wake_seconds_sum",
                       sizeof("shipoff_wake_seconds_sum") - 1);
        p = ngx_http_shipoff_metrics_labels(p, &mr[i]);
        p = ngx_sprintf(p, "} %uL.%03uL\n",
                        mr[i].wake.held_msec / 1000,
                        mr[i].wake.held_msec % 1000);

        p = ngx_cpymem(p, "shipoff_wake_seconds_count",
                       sizeof("shipoff_wake_seconds_count") - 1);
        p = ngx_http_shipoff_metrics_labels(p, &mr[i]);
        p = ngx_sprintf(p, "} %ui\n", count);
    }

    return p;
}


static void *
ngx_http_shipoff_metrics_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_shipoff_metrics_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_shipoff_metrics_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mmcf->used = 0;
     */

    return mmcf;
}


static char *
ngx_http_shipoff_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_shipoff_metrics_main_conf_t  *mmcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == ngx_http_shipoff_metrics_handler) {
        return "is duplicate";
    }

    clcf->handler = ngx_http_shipoff_metrics_handler;

    mmcf->used = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_shipoff_metrics_init(ngx_conf_t *cf)
{
    ngx_http_shipoff_router_main_conf_t   *rmcf;
    ngx_http_shipoff_metrics_main_conf_t  *mmcf;

    mmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shipoff_metrics_module);
    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shipoff_router_module);

    if (mmcf->used && rmcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"shipoff_metrics\" requires \"shipoff_routes\"");
        return NGX_ERROR;
    }

    return NGX_OK;
}
