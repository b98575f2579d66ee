
/*
 * ngx_http_shipoff_router_module: host-based routing for Shipoff.
 *
 * Declares the route table zone (shipoff_routes) and the locations that
 * read and write it (shipoff_control, in ngx_http_shipoff_control.c, and
 * shipoff_metrics, in ngx_http_shipoff_metrics.c); looks the Host of every
 * main request up in the post-read phase, counts it in the route's
 * activity, and exposes the route as $shipoff_* variables.  What to do with
 * a route (serve files, proxy, wake the app) is left to nginx.conf.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


static ngx_int_t ngx_http_shipoff_router_handler(ngx_http_request_t *r);
static ngx_uint_t ngx_http_shipoff_router_long_lived(ngx_http_request_t *r);
static void ngx_http_shipoff_router_cleanup(void *data);
static ngx_int_t ngx_http_shipoff_router_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);

static ngx_int_t ngx_http_shipoff_router_add_variables(ngx_conf_t *cf);
static void *ngx_http_shipoff_router_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_shipoff_router_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_router_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_shipoff_routes(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_shipoff_apps_domain(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_shipoff_content(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_shipoff_router_init(ngx_conf_t *cf);


static ngx_http_handler_pt  ngx_http_shipoff_control_p =
    ngx_http_shipoff_control_handler;
static ngx_http_handler_pt  ngx_http_shipoff_metrics_p =
    ngx_http_shipoff_metrics_handler;


static ngx_command_t  ngx_http_shipoff_router_commands[] = {

    { ngx_string("shipoff_routes"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_shipoff_routes,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shipoff_apps_domain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_shipoff_apps_domain,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shipoff_control"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shipoff_content,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_shipoff_router_main_conf_t, control),
      &ngx_http_shipoff_control_p },

    { ngx_string("shipoff_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_shipoff_content,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_shipoff_router_main_conf_t, metrics),
      &ngx_http_shipoff_metrics_p },

    { ngx_string("shipoff_control_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_router_loc_conf_t, control_max_body),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_router_module_ctx = {
    ngx_http_shipoff_router_add_variables, /* preconfiguration */
    ngx_http_shipoff_router_init,          /* postconfiguration */

    ngx_http_shipoff_router_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shipoff_router_create_loc_conf, /* create location configuration */
    ngx_http_shipoff_router_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_router_module =
    NGX_HTTP_SHIPOFF_MODULE(&ngx_http_shipoff_router_module_ctx,
                            ngx_http_shipoff_router_commands);


static ngx_int_t
ngx_http_shipoff_router_handler(ngx_http_request_t *r)
{
    u_char                               *p;
    size_t                                len;
    uint32_t                              hash;
    ngx_str_t                            *host;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_shipoff_ctx_t               *ctx;
    ngx_http_shipoff_route_t             *route;
    ngx_http_shipoff_routes_t            *routes;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    if (ngx_http_get_module_ctx(r, ngx_http_shipoff_router_module)) {
        return NGX_DECLINED;
    }

    host = &r->headers_in.server;

    if (host->len == 0) {
        return NGX_DECLINED;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);

    routes = rmcf->shm_zone->data;
    hash = ngx_crc32_short(host->data, host->len);

    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_http_shipoff_ctx_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = cln->data;

    ngx_memzero(ctx, sizeof(ngx_http_shipoff_ctx_t));

    ctx->routes = routes;
    ctx->hash = hash;

    ngx_shmtx_lock(&routes->shpool->mutex);

    route = ngx_http_shipoff_routes_lookup(routes, host, hash);

    if (route) {
        /* from the request's pool, which touches no shared state */

        len = ngx_http_shipoff_route_info_size(&route->info);

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            ngx_shmtx_unlock(&routes->shpool->mutex);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        (void) ngx_http_shipoff_route_info_copy(&ctx->info, &route->info, p);

        ctx->route = route;
        ctx->writes = routes->sh->writes;
        ctx->serial = route->serial;
        ctx->found = 1;

        route->activity.requests++;
        route->activity.in_flight++;
        route->activity.last_request = ngx_time();

        if (ngx_http_shipoff_router_long_lived(r)) {
            route->activity.long_lived++;
            ctx->long_lived = 1;
        }
    }

    ngx_shmtx_unlock(&routes->shpool->mutex);

    cln->handler = ngx_http_shipoff_router_cleanup;

    ngx_http_set_ctx(r, ctx, ngx_http_shipoff_router_module);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff route \"%V\": %s \"%V\"", host,
                   ctx->found ? "project" : "not found", &ctx->info.project);

    return NGX_DECLINED;
}


/* a WebSocket or an event stream: what keeps an idle app awake */

static ngx_uint_t
ngx_http_shipoff_router_long_lived(ngx_http_request_t *r)
{
#if (NGX_HTTP_HEADERS)
    ngx_str_t  *accept;
#endif

    if (r->headers_in.upgrade) {
        return 1;
    }

#if (NGX_HTTP_HEADERS)

    if (r->headers_in.accept) {
        accept = &r->headers_in.accept->value;

        if (ngx_strlcasestrn(accept->data, accept->data + accept->len,
                             (u_char *) "text/event-stream",
                             sizeof("text/event-stream") - 2)
            != NULL)
        {
            return 1;
        }
    }

#endif

    return 0;
}


static void
ngx_http_shipoff_router_cleanup(void *data)
{
    ngx_http_shipoff_ctx_t  *ctx = data;

    ngx_http_shipoff_route_t   *route;
    ngx_http_shipoff_routes_t  *routes;

    if (!ctx->found) {
        return;
    }

    routes = ctx->routes;

    ngx_shmtx_lock(&routes->shpool->mutex);

    /* with 10,000 routes a lookup is most of what a request costs here */

    if (routes->sh->writes == ctx->writes) {
        route = ctx->route;

    } else {
        route = ngx_http_shipoff_routes_lookup(routes, &ctx->info.host,
                                               ctx->hash);
    }

    /* a route deleted and added again meanwhile counts afresh */

    if (route && route->serial == ctx->serial) {

        if (route->activity.in_flight) {
            route->activity.in_flight--;
        }

        if (ctx->long_lived && route->activity.long_lived) {
            route->activity.long_lived--;
        }
    }

    ngx_shmtx_unlock(&routes->shpool->mutex);
}


/*
 * The route of a request or of its main request.  An internal redirect
 * clears module contexts, but not pool cleanups, whose data the context is.
 */

ngx_http_shipoff_ctx_t *
ngx_http_shipoff_get_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t      *cln;
    ngx_http_shipoff_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_shipoff_router_module);

    if (ctx == NULL && r->internal) {
        for (cln = r->pool->cleanup; cln; cln = cln->next) {
            if (cln->handler == ngx_http_shipoff_router_cleanup) {
                ctx = cln->data;
                ngx_http_set_ctx(r, ctx, ngx_http_shipoff_router_module);
                break;
            }
        }
    }

    return ctx;
}


/* $shipoff_NAME: the route's field of that name (data) as text */

static ngx_int_t
ngx_http_shipoff_router_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_shipoff_field_t  *f = (ngx_http_shipoff_field_t *) data;

    ngx_str_t               *s;
    ngx_http_shipoff_ctx_t  *ctx;

    ctx = ngx_http_shipoff_get_ctx(r);

    if (ctx == NULL || !ctx->found) {
        v->not_found = 1;
        return NGX_OK;
    }

    s = ngx_http_shipoff_field_text(&ctx->info, f);

    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = s->data;

    return NGX_OK;
}


/* a variable for each field of a route but its flags (spa) */

static ngx_int_t
ngx_http_shipoff_router_add_variables(ngx_conf_t *cf)
{
    ngx_str_t                  name;
    ngx_http_variable_t       *var;
    ngx_http_shipoff_field_t  *f;

    for (f = ngx_http_shipoff_fields; f->name.len; f++) {

        if (f->type == NGX_HTTP_SHIPOFF_FIELD_FLAG) {
            continue;
        }

        name.len = sizeof("shipoff_") - 1 + f->name.len;
        name.data = ngx_pnalloc(cf->pool, name.len);
        if (name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_sprintf(name.data, "shipoff_%V", &f->name);

        var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = ngx_http_shipoff_router_variable;
        var->data = (uintptr_t) f;
    }

    return NGX_OK;
}


static void *
ngx_http_shipoff_router_create_main_conf(ngx_conf_t *cf)
{
    /*
     * set by ngx_pcalloc(), and by the directives alone:
     *
     *     rmcf->shm_zone = NULL;
     *     rmcf->apps_domain = { 0, NULL };
     *     rmcf->control = 0;
     *     rmcf->metrics = 0;
     */

    return ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_router_main_conf_t));
}


static void *
ngx_http_shipoff_router_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_shipoff_router_loc_conf_t  *conf;

    conf = ngx_palloc(cf->pool, sizeof(ngx_http_shipoff_router_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->control_max_body = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_shipoff_router_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shipoff_router_loc_conf_t  *prev = parent;
    ngx_http_shipoff_router_loc_conf_t  *conf = child;

    ngx_conf_merge_size_value(conf->control_max_body, prev->control_max_body,
                              1024 * 1024);

    return NGX_CONF_OK;
}


/* shipoff_routes zone=NAME:SIZE [snapshot=PATH] */

static char *
ngx_http_shipoff_routes(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_shipoff_router_main_conf_t  *rmcf = conf;

    u_char                     *p;
    ssize_t                     size;
    ngx_str_t                  *value, name, s;
    ngx_uint_t                  i;
    ngx_shm_zone_t             *shm_zone;
    ngx_http_shipoff_routes_t  *routes;

    if (rmcf->shm_zone) {
        return "is duplicate";
    }

    routes = ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_routes_t));
    if (routes == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    ngx_str_null(&name);
    size = 0;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {

            name.data = value[i].data + 5;

            p = (u_char *) ngx_strchr(name.data, ':');

            if (p == NULL || p == name.data) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone \"%V\", "
                                   "expected zone=NAME:SIZE", &value[i]);
                return NGX_CONF_ERROR;
            }

            name.len = p - name.data;

            s.data = p + 1;
            s.len = value[i].data + value[i].len - s.data;

            size = ngx_parse_size(&s);

            if (size == NGX_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid zone size \"%V\"", &s);
                return NGX_CONF_ERROR;
            }

            if (size < (ssize_t) (8 * ngx_pagesize)) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "zone \"%V\" is too small, "
                                   "the minimum is %uzk", &value[i],
                                   8 * ngx_pagesize / 1024);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "snapshot=", 9) == 0) {

            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            if (s.len == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid snapshot \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_conf_full_name(cf->cycle, &s, 0) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            routes->snapshot = s;

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must have \"zone\" parameter",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    shm_zone = ngx_shared_memory_add(cf, &name, size,
                                     &ngx_http_shipoff_router_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    routes->apps_domain = &rmcf->apps_domain;

    shm_zone->init = ngx_http_shipoff_routes_init_zone;
    shm_zone->data = routes;

    rmcf->shm_zone = shm_zone;

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_apps_domain(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_shipoff_router_main_conf_t  *rmcf = conf;

    ngx_str_t  *value, none;

    if (rmcf->apps_domain.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_null(&none);

    switch (ngx_http_shipoff_parse_host(&none, cf->pool, &value[1],
                                        &rmcf->apps_domain))
    {
    case NGX_OK:
        return NGX_CONF_OK;

    case NGX_DECLINED:
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid domain \"%V\"", &value[1]);
        return NGX_CONF_ERROR;

    default:
        return NGX_CONF_ERROR;
    }
}


/*
 * shipoff_control, shipoff_metrics: the location's content handler is the
 * one the directive's post points to, and the main conf's flag at its
 * offset says the zone is needed
 */

static char *
ngx_http_shipoff_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_handler_pt  *handler = cmd->post;

    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler == *handler) {
        return "is duplicate";
    }

    clcf->handler = *handler;

    *(ngx_flag_t *) ((u_char *) conf + cmd->offset) = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_shipoff_router_init(ngx_conf_t *cf)
{
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shipoff_router_module);

    if (rmcf->shm_zone == NULL) {

        if (rmcf->control || rmcf->metrics) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"%s\" requires \"shipoff_routes\"",
                          rmcf->control ? "shipoff_control"
                                        : "shipoff_metrics");
            return NGX_ERROR;
        }

        return NGX_OK;
    }

    return ngx_http_shipoff_add_handler(cf, NGX_HTTP_POST_READ_PHASE,
                                        ngx_http_shipoff_router_handler);
}


/* the modules' postconfiguration: handler runs in phase */

ngx_int_t
ngx_http_shipoff_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt handler)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[phase].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = handler;

    return NGX_OK;
}
