
/*
 * A dynamic route spoken to over FastCGI ("protocol": "fastcgi": a PHP
 * app's php-fpm pool), for ngx_http_shipoff_static_module.
 *
 * Its document root is on the host too, as built (the route's root; the
 * app sees the same tree at script_root): a file of it that is no script
 * (not "*.php", no dot file or dot dir on the way) is sent by nginx as a
 * static route's file is, symlinks refused, without the app, asleep or
 * not.  Every other request goes on to the location named by
 * shipoff_dynamic_fastcgi, which passes it to php-fpm with
 * $shipoff_script_name, the front controller's rule of Laravel and
 * Symfony (nginx's "try_files $uri $uri/ /index.php?$query_string"):
 * an existing "*.php" file runs itself, a directory its index.php, and
 * any other path /index.php, REQUEST_URI left as the client sent it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


static ngx_uint_t ngx_http_shipoff_fastcgi_is_script(ngx_str_t *uri);
static ngx_int_t ngx_http_shipoff_fastcgi_script_name(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_shipoff_fastcgi_var = ngx_string(
    "shipoff_script_name");
static ngx_str_t  ngx_http_shipoff_fastcgi_index = ngx_string("index.php");
static ngx_str_t  ngx_http_shipoff_fastcgi_front = ngx_string("/index.php");


/*
 * NGX_OK when a file of the route's document root answers the request,
 * open in ctx->of, its path in ctx->path; NGX_DECLINED when the app
 * does; NGX_ERROR.
 */

ngx_int_t
ngx_http_shipoff_fastcgi_file(ngx_http_request_t *r,
    ngx_http_shipoff_ctx_t *route, ngx_http_shipoff_static_ctx_t **out)
{
    ngx_int_t                       rc;
    ngx_str_t                       path, *root;
    ngx_http_shipoff_static_ctx_t  *ctx;

    root = &route->info.root;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) || root->len == 0
        || r->uri.len == 0 || r->uri.data[r->uri.len - 1] == '/'
        || ngx_http_shipoff_fastcgi_is_script(&r->uri)
        || !shipoff_rules_safe_path((char *) r->uri.data, r->uri.len))
    {
        return NGX_DECLINED;
    }

    /* room for a precompressed sibling's suffix, as the static map */
    path.len = root->len + r->uri.len;
    path.data = ngx_pnalloc(r->pool,
                            path.len + NGX_HTTP_SHIPOFF_SUFFIX_MAX + 1);
    if (path.data == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(ngx_cpymem(path.data, root->data, root->len),
                r->uri.data, r->uri.len) = '\0';

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_shipoff_static_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_http_shipoff_probe_path(r, root, &path, &ctx->of);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_HTTP_SHIPOFF_FILE) {
        /* a symlink (Laravel's public/storage) is the app's to answer */
        return NGX_DECLINED;
    }

    ctx->path = path;
    *out = ctx;

    return NGX_OK;
}


/* a script, or below a dot file or dir (.env, .git/): never sent as is */

static ngx_uint_t
ngx_http_shipoff_fastcgi_is_script(ngx_str_t *uri)
{
    u_char  *p, *last;

    last = uri->data + uri->len;

    if (uri->len >= 4 && ngx_strncmp(last - 4, ".php", 4) == 0) {
        return 1;
    }

    for (p = uri->data; p < last - 1; p++) {
        if (p[0] == '/' && p[1] == '.') {
            return 1;
        }
    }

    return 0;
}


/*
 * $shipoff_script_name: the script php-fpm runs, below the route's
 * document root.  Probed on the host's copy of the tree, as built: a
 * script the app wrote at run time is not run by its name.
 */

static ngx_int_t
ngx_http_shipoff_fastcgi_script_name(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                  *p;
    ngx_str_t               *root, *uri, name;
    ngx_http_shipoff_ctx_t  *route;

    route = ngx_http_shipoff_get_ctx(r);

    if (route == NULL || !route->found
        || route->info.protocol != NGX_HTTP_SHIPOFF_PROTOCOL_FASTCGI)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    root = &route->info.root;
    uri = &r->uri;
    name = ngx_http_shipoff_fastcgi_front;

    if (root->len == 0 || uri->len == 0 || uri->data[0] != '/'
        || !shipoff_rules_safe_path((char *) uri->data, uri->len))
    {
        goto done;
    }

    if (uri->data[uri->len - 1] == '/') {
        /* a directory's own index.php */
        p = ngx_pnalloc(r->pool,
                        uri->len + ngx_http_shipoff_fastcgi_index.len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        name.data = p;
        name.len = ngx_cpymem(ngx_cpymem(p, uri->data, uri->len),
                              ngx_http_shipoff_fastcgi_index.data,
                              ngx_http_shipoff_fastcgi_index.len)
                   - p;

    } else if (uri->len > 4
               && ngx_strncmp(uri->data + uri->len - 4, ".php", 4) == 0)
    {
        name = *uri;

    } else {
        goto done;
    }

    if (ngx_http_shipoff_probe(r, root, &name) != NGX_HTTP_SHIPOFF_FILE) {
        name = ngx_http_shipoff_fastcgi_front;
    }

done:

    v->len = name.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = name.data;

    return NGX_OK;
}


ngx_int_t
ngx_http_shipoff_fastcgi_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_shipoff_fastcgi_var, 0);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_shipoff_fastcgi_script_name;

    return NGX_OK;
}
