
/*
 * The route table's activity in the Prometheus text format (version
 * 0.0.4), for GET /_shipoff/metrics: the content handler of shipoff_metrics,
 * a directive of the router module as shipoff_control is.
 *
 * The handler formats a copy of the table (ngx_http_shipoff_routes_copy(),
 * one consistent table, taken under the zone's mutex and read without it).
 * Every metric family is one entry of a table; a route is labelled by its
 * host and its project.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


/*
 * a metric family with one sample per route, an ngx_uint_t of
 * ngx_http_shipoff_activity_t
 */
typedef struct {
    ngx_str_t                     name;
    ngx_str_t                     head;        /* HELP and TYPE lines */
    size_t                        offset;
} ngx_http_shipoff_metric_t;


static ngx_int_t ngx_http_shipoff_metrics_label(ngx_pool_t *pool,
    ngx_str_t *dst, ngx_str_t *src);
static u_char *ngx_http_shipoff_metrics_labels(u_char *p,
    ngx_http_shipoff_route_copy_t *route);
static u_char *ngx_http_shipoff_metrics_histogram(u_char *p,
    ngx_http_shipoff_table_copy_t *table);


#define ngx_http_shipoff_metric(name, type, help, field)                      \
    { ngx_string(name),                                                       \
      ngx_string("# HELP " name " " help "\n# TYPE " name " " type "\n"),     \
      offsetof(ngx_http_shipoff_activity_t, field) }


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

    ngx_http_shipoff_metric("shipoff_wake_pages_total", "counter",
        "Browsers answered the waking page while the app woke.",
        wake.pages),

    ngx_http_shipoff_metric("shipoff_wake_refused_total", "counter",
        "Requests answered 503 at once: shipoff_wake_max_held were held.",
        wake.refused),

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


ngx_int_t
ngx_http_shipoff_metrics_handler(ngx_http_request_t *r)
{
    u_char                               *p, *body;
    size_t                                len;
    ngx_uint_t                            i, samples;
    ngx_http_complex_value_t              cv;
    ngx_http_shipoff_metric_t            *m;
    ngx_http_shipoff_route_copy_t        *route;
    ngx_http_shipoff_table_copy_t         table;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);

    if (ngx_http_shipoff_routes_copy(rmcf->shm_zone->data, r->pool, NULL,
                                     &table)
        != NGX_OK)
    {
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

    for (i = 0; i < table.nroutes; i++) {
        route = &table.routes[i];

        /* the copy is the request's own: its labels are escaped in place */

        if (ngx_http_shipoff_metrics_label(r->pool, &route->info.host,
                                           &route->info.host)
            != NGX_OK
            || ngx_http_shipoff_metrics_label(r->pool, &route->info.project,
                                              &route->info.project)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* name{route="...",project="...",le="..."} value\n */

        len += samples * (NGX_HTTP_SHIPOFF_METRICS_NAME_MAX
                          + sizeof("{route=\"\",project=\"\"}") - 1
                          + route->info.host.len + route->info.project.len
                          + NGX_HTTP_SHIPOFF_METRICS_LE_MAX
                          + sizeof(" .000\n") - 1 + NGX_INT64_LEN);
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, NGX_HTTP_SHIPOFF_METRICS_TABLE, table.nroutes,
                    table.generation);

    for (m = ngx_http_shipoff_metrics_families; m->name.len; m++) {
        p = ngx_cpymem(p, m->head.data, m->head.len);

        for (i = 0; i < table.nroutes; i++) {
            route = &table.routes[i];

            p = ngx_cpymem(p, m->name.data, m->name.len);
            p = ngx_http_shipoff_metrics_labels(p, route);
            p = ngx_sprintf(p, "} %ui\n",
                            *(ngx_uint_t *) ((u_char *) &route->activity
                                             + m->offset));
        }
    }

    p = ngx_http_shipoff_metrics_histogram(p, &table);

    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));

    cv.value.data = body;
    cv.value.len = p - body;

    return ngx_http_send_response(r, NGX_HTTP_OK,
                                  &ngx_http_shipoff_metrics_type, &cv);
}


/*
 * A label value: backslash, double quote and line feed are escaped.  dst
 * may be src.
 */

static ngx_int_t
ngx_http_shipoff_metrics_label(ngx_pool_t *pool, ngx_str_t *dst,
    ngx_str_t *src)
{
    u_char  *p, *s, *start, *end;
    size_t   len;

    start = src->data;
    end = src->data + src->len;
    len = src->len;

    for (s = start; s < end; s++) {
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

    for (s = start; s < end; s++) {

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
    ngx_http_shipoff_route_copy_t *route)
{
    return ngx_sprintf(p, "{route=\"%V\",project=\"%V\"",
                       &route->info.host, &route->info.project);
}


/* cumulative buckets, as Prometheus wants them; the sum in seconds */

static u_char *
ngx_http_shipoff_metrics_histogram(u_char *p,
    ngx_http_shipoff_table_copy_t *table)
{
    ngx_uint_t                      i, b, count;
    ngx_http_shipoff_wake_t        *wake;
    ngx_http_shipoff_route_copy_t  *route;

    p = ngx_cpymem(p, ngx_http_shipoff_metrics_hist_head.data,
                   ngx_http_shipoff_metrics_hist_head.len);

    for (i = 0; i < table->nroutes; i++) {
        route = &table->routes[i];
        wake = &route->activity.wake;

        count = 0;

        for (b = 0; b < NGX_HTTP_SHIPOFF_WAKE_BUCKETS; b++) {
            count += wake->held[b];

            p = ngx_cpymem(p, "shipoff_wake_seconds_bucket",
                           sizeof("shipoff_wake_seconds_bucket") - 1);
            p = ngx_http_shipoff_metrics_labels(p, route);
            p = ngx_sprintf(p, ",le=\"%V\"} %ui\n",
                            &ngx_http_shipoff_wake_buckets[b].le, count);
        }

        count += wake->held[NGX_HTTP_SHIPOFF_WAKE_BUCKETS];

        p = ngx_cpymem(p, "shipoff_wake_seconds_bucket",
                       sizeof("shipoff_wake_seconds_bucket") - 1);
        p = ngx_http_shipoff_metrics_labels(p, route);
        p = ngx_sprintf(p, ",le=\"+Inf\"} %ui\n", count);

        p = ngx_cpymem(p, "shipoff_wake_seconds_sum",
                       sizeof("shipoff_wake_seconds_sum") - 1);
        p = ngx_http_shipoff_metrics_labels(p, route);
        p = ngx_sprintf(p, "} %uL.%03uL\n",
                        wake->held_msec / 1000,
                        wake->held_msec % 1000);

        p = ngx_cpymem(p, "shipoff_wake_seconds_count",
                       sizeof("shipoff_wake_seconds_count") - 1);
        p = ngx_http_shipoff_metrics_labels(p, route);
        p = ngx_sprintf(p, "} %ui\n", count);
    }

    return p;
}
