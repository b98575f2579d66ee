
/*
 * The control API of the route table: the content handler that
 * shipoff_control installs.  shipoffd is its only intended client.
 *
 *   GET    .../routes          the table, its generation, route activity
 *   PUT    .../routes          replace the whole table, atomically
 *   GET    .../routes/HOST     one route
 *   PUT    .../routes/HOST     add or replace one route
 *   DELETE .../routes/HOST     remove one route
 *
 * Bodies and answers are JSON; errors are
 * {"error": {"code": ..., "message": ..., "field": ...}}.  A request either
 * changes the table completely or not at all.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_json.h"


#define NGX_HTTP_SHIPOFF_INSUFFICIENT_STORAGE  507


static ngx_int_t ngx_http_shipoff_control_target(ngx_http_request_t *r,
    ngx_str_t *host, ngx_uint_t *table);
static void ngx_http_shipoff_control_put(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_control_apply(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_control_body(ngx_http_request_t *r,
    size_t max, ngx_str_t *body);
static ngx_int_t ngx_http_shipoff_control_get_table(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes);
static ngx_int_t ngx_http_shipoff_control_get_route(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes, ngx_str_t *host);
static size_t ngx_http_shipoff_control_route_len(
    ngx_http_shipoff_route_info_t *info);
static u_char *ngx_http_shipoff_control_route(u_char *p,
    ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_activity_t *activity);
static ngx_int_t ngx_http_shipoff_control_error(ngx_http_request_t *r,
    ngx_uint_t status, ngx_http_shipoff_error_t *err);
static ngx_int_t ngx_http_shipoff_control_fail(ngx_http_request_t *r,
    ngx_uint_t status, const char *code, const char *message);
static ngx_int_t ngx_http_shipoff_control_send(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);


ngx_int_t
ngx_http_shipoff_control_handler(ngx_http_request_t *r)
{
    ngx_int_t                             rc, rv;
    ngx_str_t                             host;
    ngx_uint_t                            table;
    ngx_table_elt_t                      *allow;
    ngx_http_shipoff_routes_t            *routes;
    ngx_http_shipoff_router_loc_conf_t   *rlcf;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);
    routes = rmcf->shm_zone->data;

    rc = ngx_http_shipoff_control_target(r, &host, &table);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_PUT || rc != NGX_OK) {
        rv = ngx_http_discard_request_body(r);

        if (rv != NGX_OK) {
            return rv;
        }
    }

    if (rc == NGX_DONE) {
        return ngx_http_shipoff_control_fail(r, NGX_HTTP_NOT_FOUND,
                                             "not_found",
                                             "no such control resource");
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shipoff_control_fail(r, NGX_HTTP_BAD_REQUEST,
                                             "validation_failed",
                                             "invalid host");
    }

    switch (r->method) {

    case NGX_HTTP_GET:
    case NGX_HTTP_HEAD:
        if (table) {
            return ngx_http_shipoff_control_get_table(r, routes);
        }

        return ngx_http_shipoff_control_get_route(r, routes, &host);

    case NGX_HTTP_PUT:
        rlcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_router_module);

        if (r->headers_in.content_length_n > (off_t) rlcf->control_max_body) {
            rc = ngx_http_discard_request_body(r);

            if (rc != NGX_OK) {
                return rc;
            }

            return ngx_http_shipoff_control_fail(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "body_too_large",
                                          "request body is too large");
        }

        rc = ngx_http_read_client_request_body(r, ngx_http_shipoff_control_put);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    case NGX_HTTP_DELETE:
        if (table) {
            break;
        }

        if (ngx_http_shipoff_routes_delete(routes, &host) != NGX_OK) {
            return ngx_http_shipoff_control_fail(r, NGX_HTTP_NOT_FOUND,
                                                 "not_found",
                                                 "no route for this host");
        }

        return ngx_http_shipoff_control_send(r, NGX_HTTP_NO_CONTENT, NULL, 0);

    default:
        break;
    }

    allow = ngx_list_push(&r->headers_out.headers);
    if (allow == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    allow->hash = 1;
    ngx_str_set(&allow->key, "Allow");

    if (table) {
        ngx_str_set(&allow->value, "GET, HEAD, PUT");

    } else {
        ngx_str_set(&allow->value, "GET, HEAD, PUT, DELETE");
    }

    return ngx_http_shipoff_control_fail(r, NGX_HTTP_NOT_ALLOWED,
                                         "method_not_allowed",
                                         "method not allowed here");
}


/*
 * What the URI names: NGX_OK, the table (*table) or a route (*host, as
 * routes are keyed); NGX_DONE, nothing; NGX_DECLINED, an invalid host.
 */

static ngx_int_t
ngx_http_shipoff_control_target(ngx_http_request_t *r, ngx_str_t *host,
    ngx_uint_t *table)
{
    u_char                               *p, *last;
    ngx_str_t                             name;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    static u_char  routes[] = "/routes";

    *table = 0;
    ngx_str_null(host);

    p = r->uri.data;
    last = r->uri.data + r->uri.len;

    if (last > p && last[-1] == '/') {
        last--;
    }

    if (last - p >= (ssize_t) (sizeof(routes) - 1)
        && ngx_strncmp(last - (sizeof(routes) - 1), routes,
                       sizeof(routes) - 1) == 0)
    {
        *table = 1;
        return NGX_OK;
    }

    name.data = last;

    while (name.data > p && name.data[-1] != '/') {
        name.data--;
    }

    name.len = last - name.data;

    if (name.len == 0
        || name.data - p < (ssize_t) sizeof(routes)
        || ngx_strncmp(name.data - sizeof(routes), routes,
                       sizeof(routes) - 1) != 0)
    {
        return NGX_DONE;
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);

    return ngx_http_shipoff_parse_host(&rmcf->apps_domain, r->pool, &name,
                                       host);
}


static void
ngx_http_shipoff_control_put(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_shipoff_control_apply(r));
}


static ngx_int_t
ngx_http_shipoff_control_apply(ngx_http_request_t *r)
{
    u_char                               *p;
    size_t                                len;
    ngx_int_t                             rc;
    uint64_t                              generation;
    ngx_str_t                             host, body;
    ngx_uint_t                            table, created;
    ngx_array_t                          *infos;
    ngx_http_shipoff_error_t              err;
    ngx_http_shipoff_routes_t            *routes;
    ngx_http_shipoff_route_info_t         info;
    ngx_http_shipoff_router_loc_conf_t   *rlcf;
    ngx_http_shipoff_router_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_router_module);
    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_router_module);

    routes = rmcf->shm_zone->data;

    if (ngx_http_shipoff_control_target(r, &host, &table) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_shipoff_control_body(r, rlcf->control_max_body, &body);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shipoff_control_fail(r,
                                          NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "body_too_large",
                                          "request body is too large");
    }

    ngx_memzero(&err, sizeof(ngx_http_shipoff_error_t));

    if (!table) {
        rc = ngx_http_shipoff_parse_route(r->pool, body.data,
                                          body.data + body.len, &host, &info,
                                          &err);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_shipoff_control_error(r, NGX_HTTP_BAD_REQUEST,
                                                  &err);
        }

        if (ngx_http_shipoff_routes_set(routes, &info, &created) != NGX_OK) {
            return ngx_http_shipoff_control_fail(r,
                                        NGX_HTTP_SHIPOFF_INSUFFICIENT_STORAGE,
                                        "zone_full",
                                        "the route zone is full");
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "shipoff route \"%V\" %s: project \"%V\"", &host,
                      created ? "added" : "replaced", &info.project);

        p = ngx_pnalloc(r->pool, ngx_http_shipoff_control_route_len(&info));
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        len = ngx_http_shipoff_control_route(p, &info, NULL) - p;

        return ngx_http_shipoff_control_send(r, created ? NGX_HTTP_CREATED
                                                        : NGX_HTTP_OK,
                                             p, len);
    }

    rc = ngx_http_shipoff_parse_table(&rmcf->apps_domain, r->pool,
                                      body.data, body.data + body.len,
                                      &generation, &infos, &err);
    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shipoff_control_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    rc = ngx_http_shipoff_routes_replace(routes, generation, infos);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shipoff_control_fail(r,
                                        NGX_HTTP_SHIPOFF_INSUFFICIENT_STORAGE,
                                        "zone_full",
                                        "the route zone cannot hold the old "
                                        "and the new table together");
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "shipoff route table replaced: generation %uL, %ui routes",
                  generation, infos->nelts);

    p = ngx_pnalloc(r->pool, sizeof("{\"generation\":,\"routes\":}") - 1
                             + NGX_INT64_LEN + NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = ngx_sprintf(p, "{\"generation\":%uL,\"routes\":%ui}", generation,
                      infos->nelts)
          - p;

    return ngx_http_shipoff_control_send(r, NGX_HTTP_OK, p, len);
}


/*
 * The request body in one piece: NGX_OK, NGX_DECLINED if larger than max
 * (a chunked body has no length to check up front), NGX_ERROR.
 */

static ngx_int_t
ngx_http_shipoff_control_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    off_t         len, size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    ngx_str_null(body);

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    if (len > (off_t) max) {
        return NGX_DECLINED;
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = p;
    body->len = (size_t) len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (ngx_buf_in_memory(b)) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        if (!b->in_file) {
            /* a special buffer (last_buf) holds no data */
            continue;
        }

        size = b->file_last - b->file_pos;

        n = ngx_read_file(b->file, p, (size_t) size, b->file_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n != size) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_read_file_n " \"%V\" returned only %z bytes "
                          "instead of %O", &b->file->name, n, size);
            return NGX_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


/*
 * The table and the routes' activity, formatted from a copy taken under
 * the zone's mutex (one consistent table), not under the mutex itself.
 */

static ngx_int_t
ngx_http_shipoff_control_get_table(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes)
{
    u_char                         *body, *p;
    size_t                          len;
    ngx_uint_t                      i;
    ngx_http_shipoff_route_copy_t  *route;
    ngx_http_shipoff_table_copy_t   table;

    if (ngx_http_shipoff_routes_copy(routes, r->pool, NULL, &table)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("{\"generation\":,\"routes\":[]}") - 1 + NGX_INT64_LEN;

    for (i = 0; i < table.nroutes; i++) {
        len += ngx_http_shipoff_control_route_len(&table.routes[i].info) + 1;
    }

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"generation\":%uL,\"routes\":[",
                    table.generation);

    for (i = 0; i < table.nroutes; i++) {
        if (i) {
            *p++ = ',';
        }

        route = &table.routes[i];
        p = ngx_http_shipoff_control_route(p, &route->info, &route->activity);
    }

    *p++ = ']';
    *p++ = '}';

    return ngx_http_shipoff_control_send(r, NGX_HTTP_OK, body, p - body);
}


static ngx_int_t
ngx_http_shipoff_control_get_route(ngx_http_request_t *r,
    ngx_http_shipoff_routes_t *routes, ngx_str_t *host)
{
    u_char                         *body, *p;
    ngx_http_shipoff_route_copy_t  *route;
    ngx_http_shipoff_table_copy_t   table;

    if (ngx_http_shipoff_routes_copy(routes, r->pool, host, &table)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (table.nroutes == 0) {
        return ngx_http_shipoff_control_fail(r, NGX_HTTP_NOT_FOUND,
                                             "not_found",
                                             "no route for this host");
    }

    route = &table.routes[0];

    body = ngx_pnalloc(r->pool,
                       ngx_http_shipoff_control_route_len(&route->info));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_shipoff_control_route(body, &route->info, &route->activity);

    return ngx_http_shipoff_control_send(r, NGX_HTTP_OK, body, p - body);
}


/* the most ngx_http_shipoff_control_route() writes */

static size_t
ngx_http_shipoff_control_route_len(ngx_http_shipoff_route_info_t *info)
{
    size_t                     len;
    ngx_http_shipoff_field_t  *f;

    len = sizeof("{\"host\":,\"requests\":,\"in_flight\":,\"long_lived\":,"
                 "\"last_request\":\"1970-01-01T00:00:00Z\"}") - 1
          + 3 * NGX_INT_T_LEN
          + ngx_http_shipoff_json_str_len(&info->host);

    for (f = ngx_http_shipoff_fields; f->name.len; f++) {
        len += sizeof(",\"\":") - 1 + f->name.len;

        if (f->type == NGX_HTTP_SHIPOFF_FIELD_FLAG) {
            len += sizeof("false") - 1;

        } else {
            len += ngx_http_shipoff_json_str_len(
                       ngx_http_shipoff_field_text(info, f));
        }
    }

    return len;
}


/* a route as JSON, with its activity if activity is not NULL */

static u_char *
ngx_http_shipoff_control_route(u_char *p, ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_activity_t *activity)
{
    ngx_tm_t                   tm;
    ngx_flag_t                 flag;
    ngx_http_shipoff_field_t  *f;

    p = ngx_cpymem(p, "{\"host\":", sizeof("{\"host\":") - 1);
    p = ngx_http_shipoff_json_str(p, &info->host);

    for (f = ngx_http_shipoff_fields; f->name.len; f++) {
        p = ngx_sprintf(p, ",\"%V\":", &f->name);

        if (f->type == NGX_HTTP_SHIPOFF_FIELD_FLAG) {
            flag = *(ngx_flag_t *) ((u_char *) info + f->offset);
            p = ngx_sprintf(p, "%s", flag ? "true" : "false");

        } else {
            p = ngx_http_shipoff_json_str(p,
                                          ngx_http_shipoff_field_text(info, f));
        }
    }

    if (activity) {
        p = ngx_sprintf(p, ",\"requests\":%ui,\"in_flight\":%ui,"
                        "\"long_lived\":%ui,\"last_request\":",
                        activity->requests, activity->in_flight,
                        activity->long_lived);

        if (activity->last_request) {
            ngx_gmtime(activity->last_request, &tm);

            p = ngx_sprintf(p, "\"%4d-%02d-%02dT%02d:%02d:%02dZ\"",
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                            tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);

        } else {
            p = ngx_cpymem(p, "null", sizeof("null") - 1);
        }
    }

    *p++ = '}';

    return p;
}


static ngx_int_t
ngx_http_shipoff_control_error(ngx_http_request_t *r, ngx_uint_t status,
    ngx_http_shipoff_error_t *err)
{
    u_char     *body, *p;
    size_t      len;
    ngx_str_t   message;

    message.data = (u_char *) err->message;
    message.len = ngx_strlen(err->message);

    len = sizeof("{\"error\":{\"code\":\"\",\"message\":"
                 ",\"field\":}}") - 1
          + ngx_strlen(err->code)
          + ngx_http_shipoff_json_str_len(&message)
          + sizeof(" at offset ") - 1 + NGX_SIZE_T_LEN
          + ngx_http_shipoff_json_str_len(&err->field);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"error\":{\"code\":\"%s\",\"message\":\"",
                    err->code);
    p = (u_char *) ngx_escape_json(p, message.data, message.len);

    /* a syntax error is located by its offset, anything else by its field */

    if (err->field.len == 0 && ngx_strcmp(err->code, "malformed_json") == 0) {
        p = ngx_sprintf(p, " at offset %uz", err->offset);
    }

    *p++ = '"';

    if (err->field.len) {
        p = ngx_cpymem(p, ",\"field\":", sizeof(",\"field\":") - 1);
        p = ngx_http_shipoff_json_str(p, &err->field);
    }

    *p++ = '}';
    *p++ = '}';

    return ngx_http_shipoff_control_send(r, status, body, p - body);
}


static ngx_int_t
ngx_http_shipoff_control_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *message)
{
    ngx_http_shipoff_error_t  err;

    ngx_memzero(&err, sizeof(ngx_http_shipoff_error_t));

    err.code = code;
    err.message = message;

    return ngx_http_shipoff_control_error(r, status, &err);
}


static ngx_int_t
ngx_http_shipoff_control_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;

    if (status == NGX_HTTP_NO_CONTENT) {
        r->header_only = 1;
        r->headers_out.content_length_n = -1;

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
        r->headers_out.content_length_n = len;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
