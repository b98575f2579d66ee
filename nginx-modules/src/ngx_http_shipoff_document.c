
/*
 * Route documents: parsing and validating what the control API and the
 * snapshot file say about routes.
 *
 * A route is {"project": ..., "kind": ..., "state": ..., "root": ...,
 * "upstream": ..., "deployment": ..., "spa": ..., "protocol": ...,
 * "script_root": ...}; a table is
 * {"generation": N, "routes": {HOST: ROUTE, ...}}, the body of
 * PUT /_shipoff/routes and the format of the snapshot file.  Values end up
 * in paths, headers and variables, so each field accepts a narrow
 * alphabet; everything about a rejected document is reported in a
 * ngx_http_shipoff_error_t.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_json.h"


/* bits of the fields seen, by their index in ngx_http_shipoff_fields[] */
#define NGX_HTTP_SHIPOFF_SEEN_PROJECT  0x01
#define NGX_HTTP_SHIPOFF_SEEN_KIND     0x02


static ngx_int_t ngx_http_shipoff_document_routes(ngx_http_shipoff_json_t *j,
    ngx_str_t *apps_domain, ngx_array_t *a, ngx_http_shipoff_error_t *err);
static ngx_int_t ngx_http_shipoff_document_distinct(ngx_array_t *a,
    ngx_http_shipoff_error_t *err);
static ngx_int_t ngx_http_shipoff_document_route(ngx_http_shipoff_json_t *j,
    ngx_http_shipoff_route_info_t *info, ngx_http_shipoff_error_t *err);
static ngx_int_t ngx_http_shipoff_document_validate(
    ngx_http_shipoff_route_info_t *info, ngx_uint_t seen,
    ngx_http_shipoff_error_t *err);
static ngx_int_t ngx_http_shipoff_document_name(ngx_str_t *s, size_t max,
    ngx_uint_t required);
static ngx_int_t ngx_http_shipoff_document_root(ngx_str_t *s);
static ngx_int_t ngx_http_shipoff_document_upstream(ngx_str_t *s);
static int ngx_http_shipoff_document_cmp_host(const void *one,
    const void *two);
static void ngx_http_shipoff_document_malformed(ngx_http_shipoff_json_t *j,
    ngx_http_shipoff_error_t *err);


static ngx_str_t  ngx_http_shipoff_kinds[] = {
    ngx_string("static"),
    ngx_string("dynamic"),
    ngx_null_string
};


static ngx_str_t  ngx_http_shipoff_protocols[] = {
    ngx_string("http"),
    ngx_string("fastcgi"),
    ngx_null_string
};


static ngx_str_t  ngx_http_shipoff_states[] = {
    ngx_string("running"),
    ngx_string("sleeping"),
    ngx_string("waking"),
    ngx_null_string
};


ngx_http_shipoff_field_t  ngx_http_shipoff_fields[] = {

    { ngx_string("project"), NGX_HTTP_SHIPOFF_FIELD_STRING,
      offsetof(ngx_http_shipoff_route_info_t, project), NULL, NULL },

    { ngx_string("kind"), NGX_HTTP_SHIPOFF_FIELD_ENUM,
      offsetof(ngx_http_shipoff_route_info_t, kind),
      ngx_http_shipoff_kinds, "must be \"static\" or \"dynamic\"" },

    { ngx_string("state"), NGX_HTTP_SHIPOFF_FIELD_ENUM,
      offsetof(ngx_http_shipoff_route_info_t, state),
      ngx_http_shipoff_states,
      "must be \"running\", \"sleeping\" or \"waking\"" },

    { ngx_string("root"), NGX_HTTP_SHIPOFF_FIELD_STRING,
      offsetof(ngx_http_shipoff_route_info_t, root), NULL, NULL },

    { ngx_string("upstream"), NGX_HTTP_SHIPOFF_FIELD_STRING,
      offsetof(ngx_http_shipoff_route_info_t, upstream), NULL, NULL },

    { ngx_string("deployment"), NGX_HTTP_SHIPOFF_FIELD_STRING,
      offsetof(ngx_http_shipoff_route_info_t, deployment), NULL, NULL },

    { ngx_string("spa"), NGX_HTTP_SHIPOFF_FIELD_FLAG,
      offsetof(ngx_http_shipoff_route_info_t, spa), NULL, NULL },

    { ngx_string("protocol"), NGX_HTTP_SHIPOFF_FIELD_ENUM,
      offsetof(ngx_http_shipoff_route_info_t, protocol),
      ngx_http_shipoff_protocols, "must be \"http\" or \"fastcgi\"" },

    { ngx_string("script_root"), NGX_HTTP_SHIPOFF_FIELD_STRING,
      offsetof(ngx_http_shipoff_route_info_t, script_root), NULL, NULL },

    { ngx_null_string, 0, 0, NULL, NULL }
};


/*
 * A host from a URI or a table key, lowercased; a bare name (no dot) is
 * a name under shipoff_apps_domain when that is set.  NGX_DECLINED if it is
 * not a host name.
 */

ngx_int_t
ngx_http_shipoff_parse_host(ngx_str_t *apps_domain, ngx_pool_t *pool,
    ngx_str_t *host, ngx_str_t *out)
{
    u_char      c, *p;
    size_t      len;
    ngx_uint_t  i, dot;

    if (host->len == 0 || host->len > NGX_HTTP_SHIPOFF_HOST_MAX
        || host->data[0] == '.' || host->data[host->len - 1] == '.')
    {
        return NGX_DECLINED;
    }

    dot = 0;

    for (i = 0; i < host->len; i++) {
        c = ngx_tolower(host->data[i]);

        if (c == '.') {
            if (host->data[i - 1] == '.') {
                return NGX_DECLINED;
            }

            dot = 1;
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
            || c == '-' || c == '_')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    len = host->len;

    if (!dot && apps_domain->len) {
        len += 1 + apps_domain->len;

        if (len > NGX_HTTP_SHIPOFF_HOST_MAX) {
            return NGX_DECLINED;
        }
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    out->len = len;

    ngx_strlow(p, host->data, host->len);

    if (len != host->len) {
        p += host->len;
        *p++ = '.';
        ngx_memcpy(p, apps_domain->data, apps_domain->len);
    }

    return NGX_OK;
}


/*
 * The body of PUT /_shipoff/routes/HOST: NGX_OK, NGX_DECLINED with *err
 * filled in, NGX_ERROR.
 */

ngx_int_t
ngx_http_shipoff_parse_route(ngx_pool_t *pool, u_char *start, u_char *end,
    ngx_str_t *host, ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_error_t *err)
{
    ngx_int_t                rc;
    ngx_http_shipoff_json_t  j;

    ngx_http_shipoff_json_init(&j, pool, start, end);

    rc = ngx_http_shipoff_document_route(&j, info, err);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_shipoff_json_end(&j) != NGX_OK) {
        ngx_http_shipoff_document_malformed(&j, err);
        return NGX_DECLINED;
    }

    info->host = *host;

    return NGX_OK;
}


/* a whole table, into *infos (of ngx_http_shipoff_route_info_t) */

ngx_int_t
ngx_http_shipoff_parse_table(ngx_str_t *apps_domain, ngx_pool_t *pool,
    u_char *start, u_char *end, uint64_t *generation, ngx_array_t **infos,
    ngx_http_shipoff_error_t *err)
{
    ngx_int_t                 rc;
    ngx_str_t                 key;
    ngx_uint_t                n, seen_generation, seen_routes;
    ngx_array_t              *a;
    ngx_http_shipoff_json_t   j;

    a = ngx_array_create(pool, 16, sizeof(ngx_http_shipoff_route_info_t));
    if (a == NULL) {
        return NGX_ERROR;
    }

    ngx_http_shipoff_json_init(&j, pool, start, end);

    if (ngx_http_shipoff_json_object(&j) != NGX_OK) {
        ngx_http_shipoff_document_malformed(&j, err);
        return NGX_DECLINED;
    }

    n = 0;
    seen_generation = 0;
    seen_routes = 0;

    for ( ;; ) {
        rc = ngx_http_shipoff_json_member(&j, &n, &key);

        if (rc == NGX_DONE) {
            break;
        }

        if (rc != NGX_OK) {
            ngx_http_shipoff_document_malformed(&j, err);
            return NGX_DECLINED;
        }

        if (key.len == sizeof("generation") - 1
            && ngx_strncmp(key.data, "generation", key.len) == 0)
        {
            if (seen_generation) {
                goto duplicate;
            }

            if (ngx_http_shipoff_json_uint(&j, generation) != NGX_OK) {
                ngx_http_shipoff_document_malformed(&j, err);
                return NGX_DECLINED;
            }

            seen_generation = 1;
            continue;
        }

        if (key.len != sizeof("routes") - 1
            || ngx_strncmp(key.data, "routes", key.len) != 0)
        {
            err->code = "unknown_field";
            err->message = "unknown field";
            err->field = key;
            return NGX_DECLINED;
        }

        if (seen_routes) {
            goto duplicate;
        }

        seen_routes = 1;

        rc = ngx_http_shipoff_document_routes(&j, apps_domain, a, err);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (ngx_http_shipoff_json_end(&j) != NGX_OK) {
        ngx_http_shipoff_document_malformed(&j, err);
        return NGX_DECLINED;
    }

    if (!seen_generation || !seen_routes) {
        err->code = "validation_failed";
        err->message = "is required";
        ngx_str_set(&err->field, "generation");

        if (seen_generation) {
            ngx_str_set(&err->field, "routes");
        }

        return NGX_DECLINED;
    }

    if (ngx_http_shipoff_document_distinct(a, err) != NGX_OK) {
        return NGX_DECLINED;
    }

    *infos = a;

    return NGX_OK;

duplicate:

    err->code = "malformed_json";
    err->message = "duplicate key";
    err->field = key;

    return NGX_DECLINED;
}


/* a string or an enum field of a route as text */

ngx_str_t *
ngx_http_shipoff_field_text(ngx_http_shipoff_route_info_t *info,
    ngx_http_shipoff_field_t *f)
{
    u_char  *field;

    field = (u_char *) info + f->offset;

    if (f->type == NGX_HTTP_SHIPOFF_FIELD_ENUM) {
        return &f->names[*(ngx_uint_t *) field];
    }

    return (ngx_str_t *) field;
}


/* the "routes" object of a table: {HOST: ROUTE, ...}, each pushed to a */

static ngx_int_t
ngx_http_shipoff_document_routes(ngx_http_shipoff_json_t *j,
    ngx_str_t *apps_domain, ngx_array_t *a, ngx_http_shipoff_error_t *err)
{
    u_char                         *p;
    ngx_int_t                       rc;
    ngx_str_t                       key, host;
    ngx_uint_t                      nhosts;
    ngx_http_shipoff_route_info_t  *info;

    if (ngx_http_shipoff_json_object(j) != NGX_OK) {
        ngx_http_shipoff_document_malformed(j, err);
        return NGX_DECLINED;
    }

    nhosts = 0;

    for ( ;; ) {
        rc = ngx_http_shipoff_json_member(j, &nhosts, &key);

        if (rc == NGX_DONE) {
            return NGX_OK;
        }

        if (rc != NGX_OK) {
            ngx_http_shipoff_document_malformed(j, err);
            return NGX_DECLINED;
        }

        rc = ngx_http_shipoff_parse_host(apps_domain, a->pool, &key, &host);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_DECLINED) {
            err->code = "validation_failed";
            err->message = "invalid host";
            err->field = key;
            return NGX_DECLINED;
        }

        info = ngx_array_push(a);
        if (info == NULL) {
            return NGX_ERROR;
        }

        rc = ngx_http_shipoff_document_route(j, info, err);

        if (rc == NGX_DECLINED && err->field.len) {
            /* "HOST.FIELD" names the route as well as its field */

            p = ngx_pnalloc(a->pool, host.len + 1 + err->field.len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            err->field.len = ngx_sprintf(p, "%V.%V", &host, &err->field) - p;
            err->field.data = p;
        }

        if (rc != NGX_OK) {
            return rc;
        }

        info->host = host;
    }
}


/* hosts are distinct: "a" and "A", or "a" and "a.DOMAIN", are one */

static ngx_int_t
ngx_http_shipoff_document_distinct(ngx_array_t *a,
    ngx_http_shipoff_error_t *err)
{
    ngx_uint_t                      i;
    ngx_http_shipoff_route_info_t  *info;

    if (a->nelts < 2) {
        return NGX_OK;
    }

    ngx_qsort(a->elts, a->nelts, sizeof(ngx_http_shipoff_route_info_t),
              ngx_http_shipoff_document_cmp_host);

    info = a->elts;

    for (i = 1; i < a->nelts; i++) {
        if (ngx_http_shipoff_document_cmp_host(&info[i - 1], &info[i]) == 0) {
            err->code = "validation_failed";
            err->message = "duplicate host";
            err->field = info[i].host;
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* one route document; NGX_DECLINED with *err filled in */

static ngx_int_t
ngx_http_shipoff_document_route(ngx_http_shipoff_json_t *j,
    ngx_http_shipoff_route_info_t *info, ngx_http_shipoff_error_t *err)
{
    ngx_int_t                  rc, v;
    ngx_str_t                  key, value;
    ngx_uint_t                 n, i, seen;
    ngx_http_shipoff_field_t  *f;

    ngx_memzero(info, sizeof(ngx_http_shipoff_route_info_t));

    info->state = NGX_HTTP_SHIPOFF_STATE_RUNNING;

    if (ngx_http_shipoff_json_object(j) != NGX_OK) {
        ngx_http_shipoff_document_malformed(j, err);
        return NGX_DECLINED;
    }

    n = 0;
    seen = 0;

    for ( ;; ) {
        rc = ngx_http_shipoff_json_member(j, &n, &key);

        if (rc == NGX_DONE) {
            break;
        }

        if (rc != NGX_OK) {
            ngx_http_shipoff_document_malformed(j, err);
            return NGX_DECLINED;
        }

        for (i = 0; ngx_http_shipoff_fields[i].name.len; i++) {
            f = &ngx_http_shipoff_fields[i];

            if (f->name.len == key.len
                && ngx_strncmp(f->name.data, key.data, key.len) == 0)
            {
                break;
            }
        }

        f = &ngx_http_shipoff_fields[i];

        if (f->name.len == 0) {
            err->code = "unknown_field";
            err->message = "unknown field";
            err->field = key;
            return NGX_DECLINED;
        }

        if (seen & (1 << i)) {
            err->code = "malformed_json";
            err->message = "duplicate key";
            err->field = key;
            return NGX_DECLINED;
        }

        seen |= 1 << i;

        if (f->type == NGX_HTTP_SHIPOFF_FIELD_FLAG) {
            if (ngx_http_shipoff_json_bool(j, (ngx_flag_t *) ((u_char *) info
                                                              + f->offset))
                != NGX_OK)
            {
                ngx_http_shipoff_document_malformed(j, err);
                return NGX_DECLINED;
            }

            continue;
        }

        if (ngx_http_shipoff_json_null(j) == NGX_OK) {
            ngx_str_null(&value);

        } else if (ngx_http_shipoff_json_string(j, &value) != NGX_OK) {
            ngx_http_shipoff_document_malformed(j, err);
            return NGX_DECLINED;
        }

        if (f->type == NGX_HTTP_SHIPOFF_FIELD_STRING) {
            *(ngx_str_t *) ((u_char *) info + f->offset) = value;
            continue;
        }

        for (v = 0; f->names[v].len; v++) {
            if (f->names[v].len == value.len
                && ngx_strncmp(f->names[v].data, value.data, value.len) == 0)
            {
                break;
            }
        }

        if (f->names[v].len == 0) {
            err->code = "validation_failed";
            err->message = f->invalid;
            err->field = f->name;
            return NGX_DECLINED;
        }

        *(ngx_uint_t *) ((u_char *) info + f->offset) = v;
    }

    return ngx_http_shipoff_document_validate(info, seen, err);
}


static ngx_int_t
ngx_http_shipoff_document_validate(ngx_http_shipoff_route_info_t *info,
    ngx_uint_t seen, ngx_http_shipoff_error_t *err)
{
    err->code = "validation_failed";
    err->message = "is invalid";

    if (!(seen & NGX_HTTP_SHIPOFF_SEEN_PROJECT) || info->project.len == 0) {
        err->message = "is required";
        ngx_str_set(&err->field, "project");
        return NGX_DECLINED;
    }

    if (ngx_http_shipoff_document_name(&info->project,
                                           NGX_HTTP_SHIPOFF_NAME_MAX, 1)
        != NGX_OK)
    {
        ngx_str_set(&err->field, "project");
        return NGX_DECLINED;
    }

    if (!(seen & NGX_HTTP_SHIPOFF_SEEN_KIND)) {
        err->message = "is required";
        ngx_str_set(&err->field, "kind");
        return NGX_DECLINED;
    }

    if (info->kind == NGX_HTTP_SHIPOFF_KIND_STATIC && info->root.len == 0) {
        err->message = "is required for a static route";
        ngx_str_set(&err->field, "root");
        return NGX_DECLINED;
    }

    if (info->kind == NGX_HTTP_SHIPOFF_KIND_DYNAMIC
        && info->upstream.len == 0)
    {
        err->message = "is required for a dynamic route";
        ngx_str_set(&err->field, "upstream");
        return NGX_DECLINED;
    }

    if (info->root.len
        && ngx_http_shipoff_document_root(&info->root) != NGX_OK)
    {
        err->message = "must be an absolute path without \"..\"";
        ngx_str_set(&err->field, "root");
        return NGX_DECLINED;
    }

    if (info->protocol == NGX_HTTP_SHIPOFF_PROTOCOL_FASTCGI
        && info->kind != NGX_HTTP_SHIPOFF_KIND_DYNAMIC)
    {
        err->message = "is only for a dynamic route";
        ngx_str_set(&err->field, "protocol");
        return NGX_DECLINED;
    }

    /* the script's path as the app sees it: php-fpm has no default */
    if (info->protocol == NGX_HTTP_SHIPOFF_PROTOCOL_FASTCGI
        && info->script_root.len == 0)
    {
        err->message = "is required for a fastcgi route";
        ngx_str_set(&err->field, "script_root");
        return NGX_DECLINED;
    }

    if (info->script_root.len
        && ngx_http_shipoff_document_root(&info->script_root) != NGX_OK)
    {
        err->message = "must be an absolute path without \"..\"";
        ngx_str_set(&err->field, "script_root");
        return NGX_DECLINED;
    }

    if (info->upstream.len
        && ngx_http_shipoff_document_upstream(&info->upstream) != NGX_OK)
    {
        err->message = "must be HOST:PORT";
        ngx_str_set(&err->field, "upstream");
        return NGX_DECLINED;
    }

    if (ngx_http_shipoff_document_name(&info->deployment,
                                           NGX_HTTP_SHIPOFF_NAME_MAX, 0)
        != NGX_OK)
    {
        ngx_str_set(&err->field, "deployment");
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* project and deployment names end up in paths and headers */

static ngx_int_t
ngx_http_shipoff_document_name(ngx_str_t *s, size_t max,
    ngx_uint_t required)
{
    u_char      c;
    ngx_uint_t  i;

    if (s->len > max || (required && s->len == 0)) {
        return NGX_DECLINED;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_shipoff_document_root(ngx_str_t *s)
{
    u_char  *p, *last;

    if (s->len > NGX_HTTP_SHIPOFF_ROOT_MAX || s->data[0] != '/') {
        return NGX_DECLINED;
    }

    last = s->data + s->len;

    for (p = s->data; p < last; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return NGX_DECLINED;
        }

        /* a ".." segment */

        if (*p == '/' && last - p >= 3 && p[1] == '.' && p[2] == '.'
            && (last - p == 3 || p[3] == '/'))
        {
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_shipoff_document_upstream(ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i, colon;

    if (s->len > NGX_HTTP_SHIPOFF_UPSTREAM_MAX) {
        return NGX_DECLINED;
    }

    colon = 0;

    for (i = 0; i < s->len; i++) {
        c = s->data[i];

        if (c == ':') {
            colon = i;
            continue;
        }

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
            || c == '[' || c == ']')
        {
            continue;
        }

        return NGX_DECLINED;
    }

    /* a port after the last colon */

    if (colon == 0 || colon == s->len - 1) {
        return NGX_DECLINED;
    }

    if (ngx_atoi(s->data + colon + 1, s->len - colon - 1) < 1
        || ngx_atoi(s->data + colon + 1, s->len - colon - 1) > 65535)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static int
ngx_http_shipoff_document_cmp_host(const void *one, const void *two)
{
    const ngx_http_shipoff_route_info_t  *a = one;
    const ngx_http_shipoff_route_info_t  *b = two;

    return (int) ngx_memn2cmp(a->host.data, b->host.data,
                              a->host.len, b->host.len);
}


static void
ngx_http_shipoff_document_malformed(ngx_http_shipoff_json_t *j,
    ngx_http_shipoff_error_t *err)
{
    err->code = "malformed_json";
    err->message = j->err;
    err->offset = j->pos - j->start;
    ngx_str_null(&err->field);
}
