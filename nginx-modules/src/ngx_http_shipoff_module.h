
/*
 * Shipoff nginx addon: what the router, static and wake modules share.
 *
 * The route table lives in one shared-memory zone (shipoff_routes): an
 * rbtree of routes keyed by the crc32 of the host, then by the host itself,
 * guarded by the zone's slab mutex.  Every route is one slab allocation: the
 * node, then its strings.  Writers (the control API, the snapshot loader)
 * build a whole new node and swap it in, so a reader holding the mutex
 * always sees a complete route.
 *
 * A request looks its host up once (post-read phase) and keeps a private
 * copy of the route in its context, so a concurrent update never changes a
 * request midway; the copy is the data of a pool cleanup that decrements
 * the route's in-flight counter when the request ends.  The one exception
 * is a request held while its app wakes: it takes a fresh copy when the
 * route is running again, as the app may have moved to another upstream.
 */


#ifndef _NGX_HTTP_SHIPOFF_MODULE_H_INCLUDED_
#define _NGX_HTTP_SHIPOFF_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_SHIPOFF_KIND_STATIC     0
#define NGX_HTTP_SHIPOFF_KIND_DYNAMIC    1

/* how a dynamic route's upstream is spoken to */
#define NGX_HTTP_SHIPOFF_PROTOCOL_HTTP     0
#define NGX_HTTP_SHIPOFF_PROTOCOL_FASTCGI  1

#define NGX_HTTP_SHIPOFF_STATE_RUNNING   0
#define NGX_HTTP_SHIPOFF_STATE_SLEEPING  1
#define NGX_HTTP_SHIPOFF_STATE_WAKING    2

#define NGX_HTTP_SHIPOFF_HOST_MAX        253
#define NGX_HTTP_SHIPOFF_NAME_MAX        128
#define NGX_HTTP_SHIPOFF_UPSTREAM_MAX    261
#define NGX_HTTP_SHIPOFF_ROOT_MAX        4095


/* what a route says, wherever it is kept: shared memory, a request, JSON */
typedef struct {
    ngx_str_t                     host;
    ngx_str_t                     project;
    ngx_str_t                     root;
    ngx_str_t                     upstream;
    ngx_str_t                     deployment;
    ngx_str_t                     script_root; /* FastCGI's document root */
    ngx_uint_t                    kind;        /* NGX_HTTP_SHIPOFF_KIND_* */
    ngx_uint_t                    protocol;    /* NGX_HTTP_SHIPOFF_PROTOCOL_* */
    ngx_uint_t                    state;       /* NGX_HTTP_SHIPOFF_STATE_* */
    ngx_flag_t                    spa;
} ngx_http_shipoff_route_info_t;


/* how a route's field is kept in ngx_http_shipoff_route_info_t */
#define NGX_HTTP_SHIPOFF_FIELD_STRING  0       /* an ngx_str_t */
#define NGX_HTTP_SHIPOFF_FIELD_ENUM    1       /* an ngx_uint_t, named */
#define NGX_HTTP_SHIPOFF_FIELD_FLAG    2       /* an ngx_flag_t */

/*
 * A field of a route, everywhere the same: the key of a route document, of
 * the control API's JSON, and (but a flag) the variable $shipoff_NAME.
 */
typedef struct {
    ngx_str_t                     name;
    ngx_uint_t                    type;        /* NGX_HTTP_SHIPOFF_FIELD_* */
    size_t                        offset;      /* in the route info */
    ngx_str_t                    *names;       /* an enum's, by its value */
    char                         *invalid;     /* an enum's, when unnamed */
} ngx_http_shipoff_field_t;


/* the upper bounds of the held-time histogram; +Inf follows them */
#define NGX_HTTP_SHIPOFF_WAKE_BUCKETS    9

typedef struct {
    ngx_msec_t                    msec;
    ngx_str_t                     le;          /* the same, in seconds */
} ngx_http_shipoff_wake_bucket_t;


/* the wake-ups of a route, and how long requests were held for them */
typedef struct {
    ngx_msec_t                    started;     /* of the latest wake */
    ngx_uint_t                    wakes;
    ngx_uint_t                    timeouts;
    ngx_uint_t                    pages;       /* the waking page sent */
    ngx_uint_t                    refused;     /* shipoff_wake_max_held */
    ngx_uint_t                    held[NGX_HTTP_SHIPOFF_WAKE_BUCKETS + 1];
    uint64_t                      held_msec;   /* sum over held[] */
} ngx_http_shipoff_wake_t;


/* what a route has served */
typedef struct {
    ngx_uint_t                    requests;
    ngx_uint_t                    in_flight;
    ngx_uint_t                    long_lived;
    time_t                        last_request;
    ngx_http_shipoff_wake_t       wake;
} ngx_http_shipoff_activity_t;


/* a route in the shared zone; its strings follow it in the same allocation */
typedef struct {
    ngx_rbtree_node_t             node;        /* key: crc32 of info.host */
    ngx_http_shipoff_route_info_t info;

    /* these survive updates of the route, not its deletion */
    ngx_uint_t                    serial;
    ngx_http_shipoff_activity_t   activity;
} ngx_http_shipoff_route_t;


/* a route as a copy of the table holds it */
typedef struct {
    ngx_http_shipoff_route_info_t info;
    ngx_http_shipoff_activity_t   activity;
} ngx_http_shipoff_route_copy_t;


/*
 * The route table, or one route of it, as it was at one moment: a flat
 * array in a request's pool, read without the zone's mutex.  (Not the
 * snapshot file, which holds the routes alone.)
 */
typedef struct {
    uint64_t                      generation;
    ngx_uint_t                    nroutes;
    ngx_http_shipoff_route_copy_t *routes;     /* in table order */
} ngx_http_shipoff_table_copy_t;


typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    uint64_t                      generation;
    ngx_uint_t                    serial;      /* last serial handed out */
    ngx_uint_t                    nroutes;
    ngx_uint_t                    writes;      /* nodes added or freed */
} ngx_http_shipoff_routes_sh_t;


/* the data of the shipoff_routes shared zone */
typedef struct {
    ngx_http_shipoff_routes_sh_t *sh;
    ngx_slab_pool_t              *shpool;
    ngx_str_t                     snapshot;    /* full path, or empty */
    ngx_str_t                    *apps_domain; /* in the router main conf */
} ngx_http_shipoff_routes_t;


typedef struct {
    ngx_shm_zone_t               *shm_zone;
    ngx_str_t                     apps_domain;
    ngx_flag_t                    control;     /* shipoff_control is used */
    ngx_flag_t                    metrics;     /* shipoff_metrics is used */
} ngx_http_shipoff_router_main_conf_t;


typedef struct {
    size_t                        control_max_body;
} ngx_http_shipoff_router_loc_conf_t;


/*
 * A request's own copy of its route, the data of its pool cleanup.  The
 * node it was copied from is still the route's as long as the zone's
 * writes count has not moved: the cleanup then needs no lookup.
 */
typedef struct {
    ngx_http_shipoff_routes_t    *routes;
    ngx_http_shipoff_route_info_t info;        /* if found */
    ngx_http_shipoff_route_t     *route;       /* valid while writes holds */
    ngx_uint_t                    writes;
    uint32_t                      hash;
    ngx_uint_t                    serial;
    unsigned                      found:1;
    unsigned                      long_lived:1;
} ngx_http_shipoff_ctx_t;


/* a malformed or invalid route document, as the control API reports it */
typedef struct {
    const char                   *code;        /* "malformed_json", ... */
    const char                   *message;
    ngx_str_t                     field;
    size_t                        offset;      /* of a JSON syntax error */
} ngx_http_shipoff_error_t;


/* ngx_http_shipoff_router.c */
ngx_http_shipoff_ctx_t *ngx_http_shipoff_get_ctx(ngx_http_request_t *r);
ngx_int_t ngx_http_shipoff_add_handler(ngx_conf_t *cf, ngx_http_phases phase,
    ngx_http_handler_pt handler);

/*
 * ngx_http_shipoff_routes.c: the caller of lookup holds the zone's mutex;
 * the others take it and release it themselves
 */
ngx_int_t ngx_http_shipoff_routes_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
ngx_http_shipoff_route_t *ngx_http_shipoff_routes_lookup(
    ngx_http_shipoff_routes_t *routes, ngx_str_t *host, uint32_t hash);
ngx_int_t ngx_http_shipoff_routes_set(ngx_http_shipoff_routes_t *routes,
    ngx_http_shipoff_route_info_t *info, ngx_uint_t *created);
ngx_int_t ngx_http_shipoff_routes_delete(ngx_http_shipoff_routes_t *routes,
    ngx_str_t *host);
ngx_int_t ngx_http_shipoff_routes_replace(ngx_http_shipoff_routes_t *routes,
    uint64_t generation, ngx_array_t *infos);
ngx_int_t ngx_http_shipoff_routes_copy(ngx_http_shipoff_routes_t *routes,
    ngx_pool_t *pool, ngx_str_t *host, ngx_http_shipoff_table_copy_t *table);
size_t ngx_http_shipoff_route_info_size(ngx_http_shipoff_route_info_t *info);
u_char *ngx_http_shipoff_route_info_copy(ngx_http_shipoff_route_info_t *dst,
    ngx_http_shipoff_route_info_t *src, u_char *p);

/* ngx_http_shipoff_document.c */
ngx_int_t ngx_http_shipoff_parse_host(ngx_str_t *apps_domain,
    ngx_pool_t *pool, ngx_str_t *host, ngx_str_t *out);
ngx_int_t ngx_http_shipoff_parse_route(ngx_pool_t *pool, u_char *start,
    u_char *end, ngx_str_t *host, ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_error_t *err);
ngx_int_t ngx_http_shipoff_parse_table(ngx_str_t *apps_domain,
    ngx_pool_t *pool, u_char *start, u_char *end, uint64_t *generation,
    ngx_array_t **infos, ngx_http_shipoff_error_t *err);
ngx_str_t *ngx_http_shipoff_field_text(ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_field_t *f);

/* ngx_http_shipoff_control.c */
ngx_int_t ngx_http_shipoff_control_handler(ngx_http_request_t *r);

/* ngx_http_shipoff_metrics.c */
ngx_int_t ngx_http_shipoff_metrics_handler(ngx_http_request_t *r);


/* ngx_http_shipoff_document.c: the fields in their JSON order */
extern ngx_http_shipoff_field_t  ngx_http_shipoff_fields[];  /* null ends */

/* ngx_http_shipoff_wake.c */
extern ngx_http_shipoff_wake_bucket_t
    ngx_http_shipoff_wake_buckets[NGX_HTTP_SHIPOFF_WAKE_BUCKETS];

/*
 * The ngx_module_t of each of the addon's HTTP modules: only the context
 * and the directives differ, none has master or process hooks.
 */
#define NGX_HTTP_SHIPOFF_MODULE(ctx, commands)                                \
    {                                                                         \
        NGX_MODULE_V1,                                                        \
        ctx,                                                                  \
        commands,                                                             \
        NGX_HTTP_MODULE,                                                      \
        NULL, NULL, NULL, NULL, NULL, NULL, NULL,                             \
        NGX_MODULE_V1_PADDING                                                 \
    }


extern ngx_module_t  ngx_http_shipoff_router_module;
extern ngx_module_t  ngx_http_shipoff_static_module;
extern ngx_module_t  ngx_http_shipoff_wake_module;


#endif /* _NGX_HTTP_SHIPOFF_MODULE_H_INCLUDED_ */
