
/*
 * ngx_http_shipoff_static_module: static sites on top of nginx's own
 * file machinery (root $shipoff_root, open_file_cache, sendfile, ranges,
 * conditional requests).  This file holds the directives and the two
 * handlers; ngx_http_shipoff_static.h lists the files that do the rest.
 *
 * A pre-content phase handler decides, for a static route, which file
 * answers a GET or HEAD: the file itself, a clean URL ("/about" is
 * "/about.html" or "/about/index.html"), the first matching rule of the
 * site's _redirects, the single-page-app index for a path without an
 * extension, or the site's 404.html with status 404.  Every file it looks
 * at is probed below the route's root with symlinks refused
 * (disable_symlinks, which the module also turns on for nginx's own
 * handlers), so nothing outside the deployment is ever chosen.
 *
 * The same handler sends the other requests on to the named locations
 * configured for them (shipoff_dynamic, shipoff_dynamic_fastcgi for a
 * route spoken to over FastCGI, shipoff_no_route), so that the location
 * needs no "if" on $shipoff_kind.  A FastCGI route's own files are sent
 * from here (ngx_http_shipoff_fastcgi.c).  Under "root $shipoff_root" it
 * takes the root from the request's copy of its route, without running
 * the root's script.
 *
 * The file it found stays open for the request: a content handler sends
 * it (or a precompressed sibling, ".br" or ".gz", the client accepts) as
 * the static handler would, so a hit costs one open, not two.  A
 * directory's index.html is left to the index module.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


/* the longest target of a _redirects rule, placeholders substituted */
#define NGX_HTTP_SHIPOFF_TARGET_MAX       4096


static ngx_int_t ngx_http_shipoff_static_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_static_dispatch(ngx_http_request_t *r,
    ngx_str_t *name);
static ngx_int_t ngx_http_shipoff_static_dynamic(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route);
static ngx_int_t ngx_http_shipoff_static_map(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *path, ngx_str_t *root);
static ngx_int_t ngx_http_shipoff_static_resolve(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_str_t *found);
static ngx_int_t ngx_http_shipoff_static_redirect(ngx_http_request_t *r,
    ngx_str_t *root, shipoff_rules_t *rules, ngx_uint_t exists);
static ngx_int_t ngx_http_shipoff_static_location(ngx_http_request_t *r,
    ngx_uint_t status, u_char *target, size_t n);
static ngx_int_t ngx_http_shipoff_static_found(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_str_t *root,
    ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_site_t *site);
static ngx_int_t ngx_http_shipoff_static_fallback(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *root);
static ngx_int_t ngx_http_shipoff_static_not_found(ngx_http_request_t *r,
    ngx_str_t *root);
static ngx_int_t ngx_http_shipoff_static_rewrite(ngx_http_request_t *r,
    ngx_str_t *uri, ngx_str_t *args);
static ngx_int_t ngx_http_shipoff_static_send(ngx_http_request_t *r);
static ngx_uint_t ngx_http_shipoff_static_uri_too_long(ngx_http_request_t *r);

static void *ngx_http_shipoff_static_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_shipoff_static_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_static_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_shipoff_static_symlinks(ngx_conf_t *cf);
static char *ngx_http_shipoff_spa_index(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shipoff_named(ngx_conf_t *cf, void *post, void *data);
static char *ngx_http_shipoff_immutable_pattern(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_shipoff_static_init(ngx_conf_t *cf);


static ngx_conf_post_handler_pt  ngx_http_shipoff_spa_index_p =
    ngx_http_shipoff_spa_index;
static ngx_conf_post_handler_pt  ngx_http_shipoff_named_p =
    ngx_http_shipoff_named;


static ngx_command_t  ngx_http_shipoff_static_commands[] = {

    { ngx_string("shipoff_static"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, enable),
      NULL },

    { ngx_string("shipoff_spa"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, spa),
      NULL },

    { ngx_string("shipoff_spa_index"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, spa_index),
      &ngx_http_shipoff_spa_index_p },

    { ngx_string("shipoff_immutable_pattern"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_shipoff_immutable_pattern,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("shipoff_precompressed"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, precompressed),
      NULL },

    { ngx_string("shipoff_dynamic"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, dynamic),
      &ngx_http_shipoff_named_p },

    { ngx_string("shipoff_dynamic_fastcgi"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, fastcgi),
      &ngx_http_shipoff_named_p },

    { ngx_string("shipoff_no_route"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, no_route),
      &ngx_http_shipoff_named_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_static_module_ctx = {
    ngx_http_shipoff_fastcgi_add_variables, /* preconfiguration */
    ngx_http_shipoff_static_init,          /* postconfiguration */

    ngx_http_shipoff_static_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shipoff_static_create_loc_conf, /* create location configuration */
    ngx_http_shipoff_static_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_static_module =
    NGX_HTTP_SHIPOFF_MODULE(&ngx_http_shipoff_static_module_ctx,
                            ngx_http_shipoff_static_commands);


static ngx_str_t  ngx_http_shipoff_404 = ngx_string("/404.html");
static ngx_str_t  ngx_http_shipoff_route_root = ngx_string("$shipoff_root");
#if (NGX_HAVE_OPENAT)
static ngx_str_t  ngx_http_shipoff_document_root =
    ngx_string("$document_root");
#endif

static ngx_int_t
ngx_http_shipoff_static_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc, rrc;
    ngx_str_t                            path, root, found;
    ngx_http_shipoff_ctx_t              *route;
    shipoff_rules_t                     *rules;
    ngx_http_shipoff_static_ctx_t       *ctx;
    ngx_http_shipoff_site_t             *site;
    ngx_http_shipoff_static_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_static_module);

    if (!slcf->enable && slcf->dynamic.len == 0 && slcf->fastcgi.len == 0
        && slcf->no_route.len == 0)
    {
        return NGX_DECLINED;
    }

    route = ngx_http_shipoff_get_ctx(r);

    /* whatever the method: the app, or the answer for no app, has it */

    if (route == NULL || !route->found) {
        return ngx_http_shipoff_static_dispatch(r, &slcf->no_route);
    }

    if (route->info.kind != NGX_HTTP_SHIPOFF_KIND_STATIC) {
        return ngx_http_shipoff_static_dynamic(r, slcf, route);
    }

    if (!slcf->enable || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_DECLINED;
    }

    if (!shipoff_rules_safe_path((char *) r->uri.data, r->uri.len)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "shipoff: unsafe URI \"%V\" refused", &r->uri);
        return NGX_HTTP_BAD_REQUEST;
    }

    rc = ngx_http_shipoff_static_map(r, slcf, route, &path, &root);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_NOT_FOUND;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_shipoff_static_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_shipoff_static_module);

    site = ngx_http_shipoff_site_get(r, &root, route->serial);

    rules = site ? ngx_http_shipoff_site_rules(site) : NULL;

    /*
     * Rules cost each request in proportion to its URI: past a bound they
     * are not applied, and the answer is not served without them either
     * (a site's _headers may be its Content-Security-Policy).
     */

    if (rules && ngx_http_shipoff_static_uri_too_long(r)) {
        return NGX_HTTP_REQUEST_URI_TOO_LARGE;
    }

    ctx->rules = rules;

    rc = ngx_http_shipoff_static_resolve(r, &root, &path, ctx, &found);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff static \"%V\": %i", &r->uri, rc);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_HTTP_FORBIDDEN) {
        return NGX_HTTP_FORBIDDEN;
    }

    /* rewrites are not chained: rules apply to the client's URI only */

    if (rules && rules->nredirects && !r->internal) {
        rrc = ngx_http_shipoff_static_redirect(r, &root, rules,
                                               rc != NGX_DECLINED);
        if (rrc != NGX_DECLINED) {
            return rrc;
        }
    }

    switch (rc) {

    case NGX_OK:
        return ngx_http_shipoff_static_found(r, slcf, &root, &path, ctx,
                                             site);

    case NGX_DONE:
        /* a directory whose index.html the index module serves */
        return NGX_DECLINED;

    case NGX_AGAIN:
        /* a clean URL */
        return ngx_http_shipoff_static_rewrite(r, &found, &r->args);

    default: /* NGX_DECLINED */
        break;
    }

    return ngx_http_shipoff_static_fallback(r, slcf, route, &root);
}


/*
 * The file itself answers, already open, or the precompressed variant of
 * it the client takes: the content handler sends it.
 */

static ngx_int_t
ngx_http_shipoff_static_found(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_str_t *root,
    ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_site_t *site)
{
    if (slcf->precompressed
        && ngx_http_shipoff_precompressed(r, root, path, ctx, site) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->path = *path;

    /* a location's own content handler (proxy_pass...) still wins */

    if (r->content_handler == NULL) {
        r->content_handler = ngx_http_shipoff_static_send;
    }

    return NGX_DECLINED;
}


/*
 * No file answers the request: the single-page app's index for a path
 * without an extension, if the route is a single-page app, or the 404.
 */

static ngx_int_t
ngx_http_shipoff_static_fallback(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *root)
{
    u_char  *last;

    if (!r->internal && route->info.spa && slcf->spa) {

        for (last = r->uri.data + r->uri.len; last > r->uri.data; last--) {
            if (last[-1] == '/' || last[-1] == '.') {
                break;
            }
        }

        if (last[-1] == '/'
            && ngx_http_shipoff_probe(r, root, &slcf->spa_index)
               == NGX_HTTP_SHIPOFF_FILE)
        {
            return ngx_http_shipoff_static_rewrite(r, &slcf->spa_index,
                                                   &r->args);
        }
    }

    return ngx_http_shipoff_static_not_found(r, root);
}


/*
 * A request whose route is not static goes on in the named location
 * configured for it (shipoff_dynamic, shipoff_no_route), as "error_page
 * 4xx = @name" would send it, with its method and body; without one
 * nginx's own handlers take it.
 */

static ngx_int_t
ngx_http_shipoff_static_dispatch(ngx_http_request_t *r, ngx_str_t *name)
{
    if (name->len == 0) {
        return NGX_DECLINED;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff static dispatch to \"%V\"", name);

    (void) ngx_http_named_location(r, name);

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/*
 * A dynamic route's request: on to shipoff_dynamic, or for a FastCGI
 * route, a file of its document root or on to shipoff_dynamic_fastcgi.
 */

static ngx_int_t
ngx_http_shipoff_static_dynamic(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route)
{
    ngx_int_t                       rc;
    ngx_http_shipoff_static_ctx_t  *ctx;

    if (route->info.protocol != NGX_HTTP_SHIPOFF_PROTOCOL_FASTCGI
        || slcf->fastcgi.len == 0)
    {
        return ngx_http_shipoff_static_dispatch(r, &slcf->dynamic);
    }

    ctx = NULL;
    rc = slcf->enable ? ngx_http_shipoff_fastcgi_file(r, route, &ctx)
                      : NGX_DECLINED;

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_shipoff_static_dispatch(r, &slcf->fastcgi);
    }

    ngx_http_set_ctx(r, ctx, ngx_http_shipoff_static_module);

    return ngx_http_shipoff_static_found(r, slcf, &route->info.root,
                                         &ctx->path, ctx, NULL);
}


/*
 * The path of the request's file as the static handler maps it, with room
 * for the longest suffix tried on it, and the root it starts with: NGX_OK,
 * NGX_DECLINED if the root is empty or "/", or NGX_ERROR.  With "root
 * $shipoff_root" the root is the route's (absolute, the control API
 * checks): the route the lookup copied gives it without running the
 * root's script.
 */

static ngx_int_t
ngx_http_shipoff_static_map(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *path, ngx_str_t *root)
{
    u_char  *last;
    size_t   root_len;

    if (slcf->route_root) {
        root_len = route->info.root.len;

        path->len = root_len + r->uri.len + NGX_HTTP_SHIPOFF_SUFFIX_MAX + 1;

        path->data = ngx_pnalloc(r->pool, path->len);
        if (path->data == NULL) {
            return NGX_ERROR;
        }

        last = ngx_cpymem(path->data, route->info.root.data, root_len);
        last = ngx_cpymem(last, r->uri.data, r->uri.len);
        *last = '\0';

    } else {
        last = ngx_http_map_uri_to_path(r, path, &root_len,
                                        NGX_HTTP_SHIPOFF_SUFFIX_MAX);
        if (last == NULL) {
            return NGX_ERROR;
        }
    }

    path->len = last - path->data;

    root->data = path->data;
    root->len = root_len;

    if (root_len && root->data[root_len - 1] == '/') {
        root_len--;
    }

    return root_len ? NGX_OK : NGX_DECLINED;
}


/*
 * Which file answers the request, path being root + URI with room for a
 * suffix: NGX_OK (the file itself, open in ctx->of), NGX_DONE (a
 * directory's index.html), NGX_AGAIN (another URI, in found), NGX_DECLINED
 * (none), NGX_HTTP_FORBIDDEN (a symlink or an unreadable file on the way)
 * or NGX_ERROR.
 */

static ngx_int_t
ngx_http_shipoff_static_resolve(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx, ngx_str_t *found)
{
    char                  *suffix;
    size_t                 len;
    ngx_int_t              rc;
    ngx_str_t             *uri;
    ngx_open_file_info_t   of;

    uri = &r->uri;

    if (ngx_http_shipoff_site_is_rules(uri)) {
        return NGX_DECLINED;
    }

    if (uri->data[uri->len - 1] == '/') {
        rc = ngx_http_shipoff_probe_suffix(r, root, path, "index.html",
                                           &of);

        switch (rc) {
        case NGX_HTTP_SHIPOFF_FILE:
            return NGX_DONE;
        case NGX_HTTP_SHIPOFF_DIR:
        case NGX_HTTP_SHIPOFF_MISSING:
            return NGX_DECLINED;
        default:
            return rc;
        }
    }

    rc = ngx_http_shipoff_probe_path(r, root, path, &ctx->of);

    switch (rc) {

    case NGX_HTTP_SHIPOFF_FILE:
        return NGX_OK;

    case NGX_HTTP_SHIPOFF_DIR:
        suffix = "/index.html";
        break;

    case NGX_HTTP_SHIPOFF_MISSING:
        suffix = ".html";
        break;

    default:
        return rc;
    }

    rc = ngx_http_shipoff_probe_suffix(r, root, path, suffix, &of);

    if (rc == NGX_HTTP_SHIPOFF_MISSING || rc == NGX_HTTP_SHIPOFF_DIR) {
        return NGX_DECLINED;
    }

    if (rc != NGX_HTTP_SHIPOFF_FILE) {
        return rc;
    }

    len = ngx_strlen(suffix);

    found->data = ngx_pnalloc(r->pool, uri->len + len);
    if (found->data == NULL) {
        return NGX_ERROR;
    }

    found->len = ngx_cpymem(ngx_cpymem(found->data, uri->data, uri->len),
                            suffix, len)
                 - found->data;

    return NGX_AGAIN;
}


/*
 * The first rule of _redirects that matches the client's URI; a file that
 * exists (exists) is shadowed by forced ("!") rules only, as on Netlify.
 */

static ngx_int_t
ngx_http_shipoff_static_redirect(ngx_http_request_t *r, ngx_str_t *root,
    shipoff_rules_t *rules, ngx_uint_t exists)
{
    u_char                    *p, *q;
    long                       n;
    size_t                     len;
    ngx_str_t                  uri, args;
    ngx_uint_t                 i;
    shipoff_rules_redirect_t  *rd;
    u_char                     buf[NGX_HTTP_SHIPOFF_TARGET_MAX];

    rd = NULL;
    n = 0;

    for (i = 0; i < rules->nredirects; i++) {
        rd = &rules->redirects[i];

        if (exists && !rd->force) {
            continue;
        }

        n = shipoff_rules_rewrite(rd, (char *) r->uri.data, r->uri.len,
                                  (char *) buf, NGX_HTTP_SHIPOFF_TARGET_MAX);
        if (n > 0) {
            break;
        }

        if (n < 0) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "shipoff: target of a rule for \"%V\" is too long",
                          &r->uri);
        }
    }

    if (i == rules->nredirects) {
        return NGX_DECLINED;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff static rule %ui: \"%*s\"", rd->status, n, buf);

    if (rd->status >= 300 && rd->status < 400) {
        return ngx_http_shipoff_static_location(r, rd->status, buf, n);
    }

    /*
     * 200, 404, 410: another file of the site answers, with this status;
     * the request keeps its arguments, so they leave the stack
     */

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, buf, n);

    q = ngx_strlchr(p, p + n, '?');

    if (q) {
        args.data = q + 1;
        args.len = p + n - args.data;
        len = q - p;

    } else {
        args = r->args;
        len = n;
    }

    uri.data = p;
    uri.len = len;

    if (!shipoff_rules_safe_path((char *) uri.data, uri.len)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "shipoff: unsafe rule target \"%V\" refused", &uri);
        return ngx_http_shipoff_static_not_found(r, root);
    }

    if (rd->status != NGX_HTTP_OK) {
        r->err_status = rd->status;
    }

    return ngx_http_shipoff_static_rewrite(r, &uri, &args);
}


/*
 * A redirect of a rule to target (n bytes): the status, with a Location.
 * Placeholders carry the decoded URI: whatever could end a header line or
 * is not ASCII goes out escaped.
 */

static ngx_int_t
ngx_http_shipoff_static_location(ngx_http_request_t *r, ngx_uint_t status,
    u_char *target, size_t n)
{
    u_char           *p, *q;
    ngx_str_t         uri;
    ngx_table_elt_t  *h;

    static u_char  hex[] = "0123456789ABCDEF";

    p = ngx_pnalloc(r->pool, n * 3 + sizeof("?") - 1 + r->args.len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    uri.data = p;

    for (q = target; q < target + n; q++) {
        if (*q <= 0x20 || *q >= 0x7f) {
            *p++ = '%';
            *p++ = hex[*q >> 4];
            *p++ = hex[*q & 0xf];

        } else {
            *p++ = *q;
        }
    }

    if (r->args.len && ngx_strlchr(target, target + n, '?') == NULL) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }

    uri.len = p - uri.data;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = uri;

    r->headers_out.location = h;

    return status;
}


/* the site's 404.html with status 404, or nginx's own 404 */

static ngx_int_t
ngx_http_shipoff_static_not_found(ngx_http_request_t *r, ngx_str_t *root)
{
    ngx_str_t  args;

    if (r->err_status == 0
        && ngx_http_shipoff_probe(r, root, &ngx_http_shipoff_404)
           == NGX_HTTP_SHIPOFF_FILE)
    {
        r->err_status = NGX_HTTP_NOT_FOUND;

        ngx_str_null(&args);

        return ngx_http_shipoff_static_rewrite(r, &ngx_http_shipoff_404,
                                               &args);
    }

    return NGX_HTTP_NOT_FOUND;
}


/* an internal redirect from a phase handler, as try_files makes one */

static ngx_int_t
ngx_http_shipoff_static_rewrite(ngx_http_request_t *r, ngx_str_t *uri,
    ngx_str_t *args)
{
    ngx_str_t  copy;

    copy.len = uri->len;
    copy.data = ngx_pnalloc(r->pool, uri->len);
    if (copy.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(copy.data, uri->data, uri->len);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff static rewrite to \"%V\"", &copy);

    (void) ngx_http_internal_redirect(r, &copy, args);

    ngx_http_finalize_request(r, NGX_DONE);

    return NGX_DONE;
}


/*
 * Sends the file the pre-content handler found and opened, as the static
 * handler would, with Content-Encoding for a precompressed variant.
 */

static ngx_int_t
ngx_http_shipoff_static_send(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_chain_t                     out;
    ngx_table_elt_t                *h;
    ngx_open_file_info_t           *of;
    ngx_http_shipoff_static_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_shipoff_static_module);

    if (ctx == NULL || ctx->path.len == 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    of = &ctx->of;

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff static send \"%V\"", &ctx->path);

    r->connection->log->action = "sending response to client";

    r->root_tested = !r->error_page;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = of->size;
    r->headers_out.last_modified_time = of->mtime;

    if (ngx_http_set_etag(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_set_content_type(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->encoding.len) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Content-Encoding");
        h->value = ctx->encoding;
        r->headers_out.content_encoding = h;
    }

    if (r != r->main && of->size == 0) {
        return ngx_http_send_header(r);
    }

    r->allow_ranges = 1;

    /* allocated before the header goes out, as the static handler does */

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    if (b->file == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->file_pos = 0;
    b->file_last = of->size;

    b->in_file = b->file_last ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    b->file->fd = of->fd;
    b->file->name = ctx->path;
    b->file->log = r->connection->log;
    b->file->directio = of->is_directio;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * Whether the URI is longer than rules are matched against: the URI that
 * answers, or the one the client sent (which _headers matches too), as
 * sent (decoding only shortens it).
 */

static ngx_uint_t
ngx_http_shipoff_static_uri_too_long(ngx_http_request_t *r)
{
    u_char  *end;
    size_t   len;

    end = ngx_strlchr(r->unparsed_uri.data,
                      r->unparsed_uri.data + r->unparsed_uri.len, '?');

    len = (end ? end : r->unparsed_uri.data + r->unparsed_uri.len)
          - r->unparsed_uri.data;

    if (r->uri.len <= SHIPOFF_RULES_URI_MAX
        && len <= SHIPOFF_RULES_URI_MAX)
    {
        return 0;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "shipoff: a URI of %uz bytes is longer than the %d "
                  "a site's rules are matched against: 414",
                  ngx_max(len, r->uri.len), SHIPOFF_RULES_URI_MAX);

    return 1;
}


static void *
ngx_http_shipoff_static_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t                   *cln;
    ngx_http_shipoff_static_main_conf_t  *smcf;

    smcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_static_main_conf_t));
    if (smcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     smcf->entries[] = all free;
     *     smcf->tick = 0;
     *     smcf->document_root = NULL;
     */

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_shipoff_site_cleanup;
    cln->data = smcf;

    return smcf;
}


static void *
ngx_http_shipoff_static_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_shipoff_static_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_static_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->spa_index = { 0, NULL };
     *     conf->immutable_regex = NULL;
     *     conf->dynamic = { 0, NULL };
     *     conf->fastcgi = { 0, NULL };
     *     conf->no_route = { 0, NULL };
     *     conf->route_root = 0;
     */

    conf->enable = NGX_CONF_UNSET;
    conf->spa = NGX_CONF_UNSET;
    conf->immutable = NGX_CONF_UNSET;
    conf->precompressed = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_shipoff_static_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shipoff_static_loc_conf_t  *prev = parent;
    ngx_http_shipoff_static_loc_conf_t  *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->spa, prev->spa, 1);
    ngx_conf_merge_str_value(conf->spa_index, prev->spa_index, "/index.html");
    ngx_conf_merge_value(conf->precompressed, prev->precompressed, 1);
    ngx_conf_merge_str_value(conf->dynamic, prev->dynamic, "");
    ngx_conf_merge_str_value(conf->fastcgi, prev->fastcgi, "");
    ngx_conf_merge_str_value(conf->no_route, prev->no_route, "");

    /* the core module's configuration is merged before any other's */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    conf->route_root = !clcf->alias
                       && clcf->root.len == ngx_http_shipoff_route_root.len
                       && ngx_strncmp(clcf->root.data,
                                      ngx_http_shipoff_route_root.data,
                                      clcf->root.len)
                          == 0;

    if (conf->immutable == NGX_CONF_UNSET) {
        conf->immutable = (prev->immutable == NGX_CONF_UNSET)
                          ? 1 : prev->immutable;
#if (NGX_PCRE)
        conf->immutable_regex = prev->immutable_regex;
#endif
    }

    if (conf->enable) {
        return ngx_http_shipoff_static_symlinks(cf);
    }

    return NGX_CONF_OK;
}


/*
 * The module refuses symlinks below the root in every file it opens.
 * Where a location of it leaves disable_symlinks off, nginx's own handlers
 * (index) refuse them too, from the same place: "disable_symlinks on
 * from=$document_root".  Both then open a file with the same settings,
 * which open_file_cache needs to share the entry.
 */

static char *
ngx_http_shipoff_static_symlinks(ngx_conf_t *cf)
{
#if (NGX_HAVE_OPENAT)
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_compile_complex_value_t      ccv;
    ngx_http_shipoff_static_main_conf_t  *smcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->disable_symlinks != NGX_DISABLE_SYMLINKS_OFF) {
        return NGX_CONF_OK;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_shipoff_static_module);

    if (smcf->document_root == NULL) {
        smcf->document_root = ngx_palloc(cf->pool,
                                         sizeof(ngx_http_complex_value_t));
        if (smcf->document_root == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &ngx_http_shipoff_document_root;
        ccv.complex_value = smcf->document_root;

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    clcf->disable_symlinks = NGX_DISABLE_SYMLINKS_ON;
    clcf->disable_symlinks_from = smcf->document_root;
#endif

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_named(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *name = data;

    if (name->len < 2 || name->data[0] != '@') {
        return "must be a named location (\"@name\")";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_spa_index(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *uri = data;

    if (uri->len == 0 || uri->data[0] != '/') {
        return "must be a URI starting with \"/\"";
    }

    if (!shipoff_rules_safe_path((char *) uri->data, uri->len)) {
        return "must not have \".\" or \"..\" segments";
    }

    return NGX_CONF_OK;
}


/* shipoff_immutable_pattern REGEX | off */

static char *
ngx_http_shipoff_immutable_pattern(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_shipoff_static_loc_conf_t  *slcf = conf;

#if (NGX_PCRE)
    u_char               errstr[NGX_MAX_CONF_ERRSTR];
    ngx_regex_compile_t  rc;
#endif
    ngx_str_t           *value;

    if (slcf->immutable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->immutable = 0;
        return NGX_CONF_OK;
    }

#if (NGX_PCRE)

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = value[1];
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NGX_CONF_ERROR;
    }

    slcf->immutable = 1;
    slcf->immutable_regex = rc.regex;

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "using regex \"%V\" requires PCRE library",
                       &value[1]);
    return NGX_CONF_ERROR;

#endif
}


static ngx_int_t
ngx_http_shipoff_static_init(ngx_conf_t *cf)
{
    if (ngx_http_shipoff_add_handler(cf, NGX_HTTP_PRECONTENT_PHASE,
                                     ngx_http_shipoff_static_handler)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_shipoff_filter_init(cf);
}
