
/*
 * ngx_http_shipoff_static_module: static sites on top of nginx's own
 * file machinery (root $shipoff_root, open_file_cache, sendfile, ranges,
 * conditional requests).
 *
 * A pre-content phase handler decides, for a static route, which file
 * answers a GET or HEAD: the file itself, a clean URL ("/about" is
 * "/about.html" or "/about/index.html"), the first matching rule of the
 * site's _redirects, the single-page-app index for a path without an
 * extension, or the site's 404.html with status 404.  Every file it looks
 * at goes through ngx_open_cached_file() with symlinks refused below the
 * route's root (disable_symlinks, which the module also turns on for
 * nginx's own handlers), so nothing outside the deployment is ever chosen
 * and, with open_file_cache, a probe costs no system call.
 *
 * The same handler sends the other requests on to the named locations
 * configured for them (shipoff_dynamic, shipoff_no_route), so that the
 * location needs no "if" on $shipoff_kind.  Under "root $shipoff_root" it
 * takes the root from the request's copy of its route, without running
 * the root's script.
 *
 * The file it found stays open for the request: a content handler sends
 * it (or a precompressed sibling, ".br" or ".gz", the client accepts) as
 * the static handler would, so a hit costs one open, not two.  A
 * directory's index.html is left to the index module.
 *
 * A header filter adds Cache-Control (immutable for content-hashed
 * assets, revalidation for everything else), Vary and the site's _headers.
 *
 * What a worker knows of a site (a route's root) is kept in the module's
 * main configuration, as open_file_cache keeps its cache there: the parsed
 * rules, whose files' identity is checked as often as open_file_cache_valid
 * says, and which precompressed siblings its files have, forgotten as
 * often.  A hit on a file then costs one cached open, the file's own.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "shipoff_rules.h"


#define NGX_HTTP_SHIPOFF_RULES_CACHE      32
#define NGX_HTTP_SHIPOFF_RULES_MAX_SIZE   (1024 * 1024)
#define NGX_HTTP_SHIPOFF_TARGET_MAX       4096

/* the longest suffix tried on a request's path in place: "/index.html" */
#define NGX_HTTP_SHIPOFF_SUFFIX_MAX       (sizeof("/index.html") - 1)

/* a cache entry of a site without rules holds its root only */
#define NGX_HTTP_SHIPOFF_NO_RULES_POOL_SIZE  1024

/* the files whose precompressed siblings a site's entry remembers */
#define NGX_HTTP_SHIPOFF_SIBLINGS_BUCKETS  256
#define NGX_HTTP_SHIPOFF_SIBLINGS_MAX      1024

/* nginx has no name for it */
#define NGX_HTTP_SHIPOFF_GONE             410

/* what a path is, as static_test() says: never NGX_OK nor NGX_ERROR */
#define NGX_HTTP_SHIPOFF_MISSING          1
#define NGX_HTTP_SHIPOFF_FILE             2
#define NGX_HTTP_SHIPOFF_DIR              3


typedef struct {
    ngx_flag_t                    enable;          /* shipoff_static */
    ngx_flag_t                    spa;             /* shipoff_spa */
    ngx_str_t                     spa_index;       /* shipoff_spa_index */
    ngx_flag_t                    immutable;       /* off: no asset is */
#if (NGX_PCRE)
    ngx_regex_t                  *immutable_regex; /* NULL: built-in test */
#endif
    ngx_flag_t                    precompressed;   /* shipoff_precompressed */
    ngx_str_t                     dynamic;         /* shipoff_dynamic */
    ngx_str_t                     no_route;        /* shipoff_no_route */

    /* "root $shipoff_root": the route's root is the root, as it is */
    ngx_flag_t                    route_root;
} ngx_http_shipoff_static_loc_conf_t;


/* what identifies a version of a rules file; all zero if there is none */
typedef struct {
    ngx_file_uniq_t               uniq;
    time_t                        mtime;
    off_t                         size;
} ngx_http_shipoff_file_id_t;


/* which precompressed siblings a file of a site has */
typedef struct ngx_http_shipoff_siblings_s  ngx_http_shipoff_siblings_t;

struct ngx_http_shipoff_siblings_s {
    ngx_http_shipoff_siblings_t  *next;            /* in its bucket */
    ngx_uint_t                    key;             /* the file's inode */
    ngx_str_t                     uri;
    ngx_uint_t                    found;           /* bit i: ext[i] exists */
};


/* a site (a route's root) as a worker knows it */
typedef struct {
    ngx_pool_t                   *pool;            /* NULL: a free slot */
    ngx_uint_t                    route;           /* serial of the route */
    ngx_str_t                     root;
    time_t                        checked;         /* identity read */
    ngx_http_shipoff_file_id_t    redirects;
    ngx_http_shipoff_file_id_t    headers;
    shipoff_rules_t               rules;
    ngx_uint_t                    used;            /* tick of the last use */

    /* forgotten every open_file_cache_valid, as open_file_cache forgets */
    ngx_pool_t                   *siblings_pool;   /* NULL: none yet */
    time_t                        siblings_since;
    ngx_uint_t                    nsiblings;
    ngx_http_shipoff_siblings_t  *siblings[NGX_HTTP_SHIPOFF_SIBLINGS_BUCKETS];
} ngx_http_shipoff_rules_entry_t;


typedef struct {
    ngx_http_shipoff_rules_entry_t  entries[NGX_HTTP_SHIPOFF_RULES_CACHE];
    ngx_uint_t                    tick;
    ngx_http_complex_value_t     *document_root;   /* "$document_root" */
} ngx_http_shipoff_static_main_conf_t;


/* the decision of the handler, for the content handler and the filter */
typedef struct {
    shipoff_rules_t              *rules;           /* NULL: none */
    ngx_str_t                     path;            /* of the file to send */
    ngx_open_file_info_t          of;              /* of path, open */
    ngx_str_t                     encoding;        /* of a variant, or empty */
    unsigned                      vary:1;
} ngx_http_shipoff_static_ctx_t;


static ngx_int_t ngx_http_shipoff_static_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_static_dispatch(ngx_http_request_t *r,
    ngx_str_t *name);
static u_char *ngx_http_shipoff_static_map(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *path, size_t *root_len);
static ngx_int_t ngx_http_shipoff_static_resolve(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_str_t *found);
static ngx_int_t ngx_http_shipoff_static_redirect(ngx_http_request_t *r,
    ngx_str_t *root, shipoff_rules_t *rules, ngx_uint_t exists);
static ngx_int_t ngx_http_shipoff_static_not_found(ngx_http_request_t *r,
    ngx_str_t *root);
static ngx_int_t ngx_http_shipoff_static_rewrite(ngx_http_request_t *r,
    ngx_str_t *uri, ngx_str_t *args);
static ngx_int_t ngx_http_shipoff_static_probe(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *uri);
static ngx_int_t ngx_http_shipoff_static_test_suffix(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, char *suffix, ngx_open_file_info_t *of);
static ngx_int_t ngx_http_shipoff_static_test(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_open_file_info_t *of);
static ngx_int_t ngx_http_shipoff_static_join(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *uri, char *suffix, ngx_str_t *path);
static ngx_int_t ngx_http_shipoff_static_open(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_open_file_info_t *of);
static ngx_int_t ngx_http_shipoff_static_variants(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_rules_entry_t *site);
static ngx_http_shipoff_siblings_t *ngx_http_shipoff_static_siblings(
    ngx_http_request_t *r, ngx_http_shipoff_rules_entry_t *site,
    ngx_uint_t key);
static void ngx_http_shipoff_static_remember(ngx_http_request_t *r,
    ngx_http_shipoff_rules_entry_t *site, ngx_uint_t key, ngx_uint_t found);
static ngx_int_t ngx_http_shipoff_static_send(ngx_http_request_t *r);

static ngx_http_shipoff_rules_entry_t *ngx_http_shipoff_static_site(
    ngx_http_request_t *r, ngx_str_t *root, ngx_uint_t route);
static void ngx_http_shipoff_static_site_free(
    ngx_http_shipoff_rules_entry_t *e);
static shipoff_rules_t *ngx_http_shipoff_static_rules_of(
    ngx_http_shipoff_rules_entry_t *e);
static ngx_int_t ngx_http_shipoff_static_rules_file(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *name, ngx_open_file_info_t *of,
    ngx_http_shipoff_file_id_t *id);
static ngx_int_t ngx_http_shipoff_static_rules_read(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_str_t *root, char *name, ngx_open_file_info_t *of,
    ngx_http_shipoff_file_id_t *id, ngx_str_t *text);
static void *ngx_http_shipoff_static_alloc(void *data, size_t size);

static ngx_int_t ngx_http_shipoff_static_header_filter(ngx_http_request_t *r);
static ngx_uint_t ngx_http_shipoff_static_immutable(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf);
static ngx_int_t ngx_http_shipoff_static_add_headers(ngx_http_request_t *r,
    shipoff_rules_t *rules, ngx_uint_t *cache_control);
static ngx_uint_t ngx_http_shipoff_static_uri_too_long(ngx_http_request_t *r);
static ngx_int_t ngx_http_shipoff_static_add_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, ngx_uint_t cache_control);

static void *ngx_http_shipoff_static_create_main_conf(ngx_conf_t *cf);
static void ngx_http_shipoff_static_cleanup(void *data);
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

    { ngx_string("shipoff_no_route"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_static_loc_conf_t, no_route),
      &ngx_http_shipoff_named_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_static_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_shipoff_static_init,          /* postconfiguration */

    ngx_http_shipoff_static_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shipoff_static_create_loc_conf, /* create location configuration */
    ngx_http_shipoff_static_merge_loc_conf /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_static_module = {
    NGX_MODULE_V1,
    &ngx_http_shipoff_static_module_ctx,   /* module context */
    ngx_http_shipoff_static_commands,      /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_str_t  ngx_http_shipoff_404 = ngx_string("/404.html");
static ngx_str_t  ngx_http_shipoff_redirects = ngx_string("/_redirects");
static ngx_str_t  ngx_http_shipoff_headers = ngx_string("/_headers");
static ngx_str_t  ngx_http_shipoff_immutable_value =
    ngx_string("public, max-age=31536000, immutable");
static ngx_str_t  ngx_http_shipoff_no_cache = ngx_string("no-cache");
static ngx_str_t  ngx_http_shipoff_cache_control = ngx_string("Cache-Control");
static ngx_str_t  ngx_http_shipoff_vary = ngx_string("Vary");
static ngx_str_t  ngx_http_shipoff_encoding = ngx_string("Accept-Encoding");
static ngx_str_t  ngx_http_shipoff_route_root = ngx_string("$shipoff_root");
#if (NGX_HAVE_OPENAT)
static ngx_str_t  ngx_http_shipoff_document_root =
    ngx_string("$document_root");
#endif


static ngx_int_t
ngx_http_shipoff_static_handler(ngx_http_request_t *r)
{
    u_char                              *last;
    size_t                               root_len;
    ngx_int_t                            rc, rrc;
    ngx_str_t                            path, root, found;
    ngx_http_shipoff_ctx_t              *route;
    shipoff_rules_t                     *rules;
    ngx_http_shipoff_static_ctx_t       *ctx;
    ngx_http_shipoff_rules_entry_t      *site;
    ngx_http_shipoff_static_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_static_module);

    if (!slcf->enable && slcf->dynamic.len == 0 && slcf->no_route.len == 0) {
        return NGX_DECLINED;
    }

    route = ngx_http_shipoff_get_ctx(r);

    /* whatever the method: the app, or the answer for no app, has it */

    if (route == NULL || !route->found) {
        return ngx_http_shipoff_static_dispatch(r, &slcf->no_route);
    }

    if (route->info.kind != NGX_HTTP_SHIPOFF_KIND_STATIC) {
        return ngx_http_shipoff_static_dispatch(r, &slcf->dynamic);
    }

    if (!slcf->enable || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_DECLINED;
    }

    if (!shipoff_rules_safe_path((char *) r->uri.data, r->uri.len))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "shipoff: unsafe URI \"%V\" refused", &r->uri);
        return NGX_HTTP_BAD_REQUEST;
    }

    last = ngx_http_shipoff_static_map(r, slcf, route, &path, &root_len);
    if (last == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len = last - path.data;

    root.data = path.data;
    root.len = root_len;

    if (root.len && root.data[root.len - 1] == '/') {
        root_len--;
    }

    if (root_len == 0) {
        return NGX_HTTP_NOT_FOUND;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_shipoff_static_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_shipoff_static_module);

    site = ngx_http_shipoff_static_site(r, &root, route->serial);

    rules = site ? ngx_http_shipoff_static_rules_of(site) : NULL;

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
        /* the file itself, or a precompressed variant, already open */

        if (slcf->precompressed
            && ngx_http_shipoff_static_variants(r, &root, &path, ctx, site)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->path = path;

        /* a location's own content handler (proxy_pass...) still wins */

        if (r->content_handler == NULL) {
            r->content_handler = ngx_http_shipoff_static_send;
        }

        return NGX_DECLINED;

    case NGX_DONE:
        /* a directory whose index.html the index module serves */
        return NGX_DECLINED;

    case NGX_AGAIN:
        /* a clean URL */
        return ngx_http_shipoff_static_rewrite(r, &found, &r->args);

    default: /* NGX_DECLINED */
        break;
    }

    if (!r->internal && route->info.spa && slcf->spa) {

        for (last = r->uri.data + r->uri.len; last > r->uri.data; last--) {
            if (last[-1] == '/' || last[-1] == '.') {
                break;
            }
        }

        if (last[-1] == '/'
            && ngx_http_shipoff_static_probe(r, &root, &slcf->spa_index)
               == NGX_HTTP_SHIPOFF_FILE)
        {
            return ngx_http_shipoff_static_rewrite(r, &slcf->spa_index,
                                                   &r->args);
        }
    }

    return ngx_http_shipoff_static_not_found(r, &root);
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
 * The path of the request's file as the static handler maps it, with room
 * for the longest suffix tried on it.  With "root $shipoff_root" that is
 * the route's root (absolute, the control API checks) and the URI: the
 * route the lookup copied gives it without running the root's script.
 */

static u_char *
ngx_http_shipoff_static_map(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf, ngx_http_shipoff_ctx_t *route,
    ngx_str_t *path, size_t *root_len)
{
    u_char     *last;
    ngx_str_t  *root;

    if (!slcf->route_root) {
        return ngx_http_map_uri_to_path(r, path, root_len,
                                        NGX_HTTP_SHIPOFF_SUFFIX_MAX);
    }

    root = &route->info.root;

    path->len = root->len + r->uri.len + NGX_HTTP_SHIPOFF_SUFFIX_MAX + 1;

    path->data = ngx_pnalloc(r->pool, path->len);
    if (path->data == NULL) {
        return NULL;
    }

    last = ngx_cpymem(path->data, root->data, root->len);
    last = ngx_cpymem(last, r->uri.data, r->uri.len);
    *last = '\0';

    *root_len = root->len;

    return last;
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

    /* the site's rules are configuration, not content */

    if ((uri->len == ngx_http_shipoff_redirects.len
         && ngx_strncmp(uri->data, ngx_http_shipoff_redirects.data,
                        uri->len) == 0)
        || (uri->len == ngx_http_shipoff_headers.len
            && ngx_strncmp(uri->data, ngx_http_shipoff_headers.data,
                           uri->len) == 0))
    {
        return NGX_DECLINED;
    }

    if (uri->data[uri->len - 1] == '/') {
        rc = ngx_http_shipoff_static_test_suffix(r, root, path, "index.html",
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

    rc = ngx_http_shipoff_static_test(r, root, path, &ctx->of);

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

    rc = ngx_http_shipoff_static_test_suffix(r, root, path, suffix, &of);

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
    u_char                       *p, *q;
    long                          n;
    size_t                        len;
    ngx_str_t                     uri, args;
    ngx_uint_t                    i;
    ngx_table_elt_t              *h;
    shipoff_rules_redirect_t     *rd;
    u_char                        buf[NGX_HTTP_SHIPOFF_TARGET_MAX];

    static u_char  hex[] = "0123456789ABCDEF";

    rd = NULL;
    n = 0;

    for (i = 0; i < rules->nredirects; i++) {
        rd = &rules->redirects[i];

        if (exists && !rd->force) {
            continue;
        }

        n = shipoff_rules_rewrite(rd, (char *) r->uri.data,
                                  r->uri.len, (char *) buf,
                                  NGX_HTTP_SHIPOFF_TARGET_MAX);
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

        /*
         * placeholders carry the decoded URI: whatever could end a header
         * line or is not ASCII goes out escaped
         */

        len = n * 3 + sizeof("?") - 1 + r->args.len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        uri.data = p;

        for (q = buf; q < buf + n; q++) {
            if (*q <= 0x20 || *q >= 0x7f) {
                *p++ = '%';
                *p++ = hex[*q >> 4];
                *p++ = hex[*q & 0xf];

            } else {
                *p++ = *q;
            }
        }

        if (r->args.len && ngx_strlchr(buf, buf + n, '?') == NULL) {
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

        return rd->status;
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


/* the site's 404.html with status 404, or nginx's own 404 */

static ngx_int_t
ngx_http_shipoff_static_not_found(ngx_http_request_t *r, ngx_str_t *root)
{
    ngx_str_t  args;

    if (r->err_status == 0
        && ngx_http_shipoff_static_probe(r, root, &ngx_http_shipoff_404)
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


/* what root + uri is, for a URI other than the request's */

static ngx_int_t
ngx_http_shipoff_static_probe(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *uri)
{
    ngx_str_t              path;
    ngx_open_file_info_t   of;

    if (ngx_http_shipoff_static_join(r, root, uri, "", &path) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_shipoff_static_test(r, root, &path, &of);
}


/*
 * What path + suffix is: the suffix is written in place (path has room
 * for NGX_HTTP_SHIPOFF_SUFFIX_MAX more bytes), path is left as it was.
 */

static ngx_int_t
ngx_http_shipoff_static_test_suffix(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, char *suffix, ngx_open_file_info_t *of)
{
    size_t     len;
    ngx_int_t  rc;
    ngx_str_t  probe;

    len = ngx_strlen(suffix);

    ngx_memcpy(path->data + path->len, suffix, len + 1);

    probe.data = path->data;
    probe.len = path->len + len;

    rc = ngx_http_shipoff_static_test(r, root, &probe, of);

    path->data[path->len] = '\0';

    return rc;
}


/*
 * What path (root + something, NUL-terminated) is below the root:
 * NGX_HTTP_SHIPOFF_FILE, _DIR or _MISSING, NGX_HTTP_FORBIDDEN or
 * NGX_ERROR.  A file stays open in of until the request ends.
 */

static ngx_int_t
ngx_http_shipoff_static_test(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_open_file_info_t *of)
{
    ngx_int_t  rc;

    rc = ngx_http_shipoff_static_open(r, root, path, of);

    if (rc == NGX_DECLINED) {
        return NGX_HTTP_SHIPOFF_MISSING;
    }

    if (rc != NGX_OK) {
        return rc;
    }

    if (of->is_dir) {
        return NGX_HTTP_SHIPOFF_DIR;
    }

    return of->is_file ? NGX_HTTP_SHIPOFF_FILE : NGX_HTTP_SHIPOFF_MISSING;
}


/* root + uri + suffix, NUL-terminated, from the request's pool */

static ngx_int_t
ngx_http_shipoff_static_join(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *uri, char *suffix, ngx_str_t *path)
{
    u_char  *p;
    size_t   len;

    len = ngx_strlen(suffix);

    path->data = ngx_pnalloc(r->pool, root->len + uri->len + len + 1);
    if (path->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(path->data, root->data, root->len);
    p = ngx_cpymem(p, uri->data, uri->len);
    p = ngx_cpymem(p, suffix, len);
    *p = '\0';

    path->len = p - path->data;

    return NGX_OK;
}


/*
 * Opens path (root + something, NUL-terminated) through the location's
 * open_file_cache, refusing a symlink anywhere below the root.  The
 * settings are those the index module uses with "disable_symlinks on
 * from=$document_root", which shipoff_static turns on, so both share the
 * cache's entries.  NGX_OK, NGX_DECLINED (no such file), NGX_HTTP_FORBIDDEN
 * or NGX_ERROR.
 */

static ngx_int_t
ngx_http_shipoff_static_open(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_open_file_info_t *of)
{
    ngx_uint_t                 level;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(of, sizeof(ngx_open_file_info_t));

    of->read_ahead = clcf->read_ahead;
    of->directio = clcf->directio;
    of->valid = clcf->open_file_cache_valid;
    of->min_uses = clcf->open_file_cache_min_uses;
    of->errors = clcf->open_file_cache_errors;
    of->events = clcf->open_file_cache_events;

#if (NGX_HAVE_OPENAT)
    of->disable_symlinks = NGX_DISABLE_SYMLINKS_ON;

    /* the "/" that ends the root, as ngx_http_set_disable_symlinks() finds */

    if (path->data[root->len] == '/') {
        of->disable_symlinks_from = root->len;

    } else if (root->len && path->data[root->len - 1] == '/') {
        of->disable_symlinks_from = root->len - 1;
    }
#endif

    if (ngx_open_cached_file(clcf->open_file_cache, path, of, r->pool)
        == NGX_OK)
    {
        return NGX_OK;
    }

    switch (of->err) {

    case 0:
        return NGX_ERROR;

    case NGX_ENOENT:
    case NGX_ENOTDIR:
    case NGX_ENAMETOOLONG:
        return NGX_DECLINED;

    case NGX_EACCES:
#if (NGX_HAVE_OPENAT)
    case NGX_EMLINK:
    case NGX_ELOOP:
#endif
        level = NGX_LOG_ERR;
        break;

    default:
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, of->err,
                      "%s \"%s\" failed", of->failed, path->data);
        return NGX_ERROR;
    }

    ngx_log_error(level, r->connection->log, of->err,
                  "shipoff: %s \"%s\" failed", of->failed, path->data);

    return NGX_HTTP_FORBIDDEN;
}


/*
 * Precompressed siblings of the file at path (root + URI, with room for a
 * suffix): the first the client accepts replaces the file in ctx, and the
 * path gets its suffix; any sibling at all means Vary.  Which siblings a
 * file has is remembered in its site's entry, so that a hit on a file
 * costs the one cached open of the file itself.
 */

static ngx_int_t
ngx_http_shipoff_static_variants(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_rules_entry_t *site)
{
    ngx_int_t                     rc;
    ngx_str_t                     accept;
    ngx_uint_t                    i, key, found, opened;
    ngx_open_file_info_t          of[2];
    ngx_http_shipoff_siblings_t  *sib;

    static char  *ext[] = { ".br", ".gz" };
    static char  *coding[] = { "br", "gzip" };

    ngx_str_null(&accept);

#if (NGX_HTTP_GZIP || NGX_HTTP_HEADERS)
    if (r->headers_in.accept_encoding) {
        accept = r->headers_in.accept_encoding->value;
    }
#endif

    /* the inode the open gave picks the bucket at no cost; the URI decides */

    key = (ngx_uint_t) ctx->of.uniq;

    sib = site ? ngx_http_shipoff_static_siblings(r, site, key) : NULL;

    if (sib) {
        found = sib->found;
        opened = 0;

    } else {
        found = 0;

        for (i = 0; i < 2; i++) {
            rc = ngx_http_shipoff_static_test_suffix(r, root, path, ext[i],
                                                     &of[i]);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc == NGX_HTTP_SHIPOFF_FILE) {
                found |= 1 << i;
            }
        }

        opened = found;

        if (site) {
            ngx_http_shipoff_static_remember(r, site, key, found);
        }
    }

    ctx->vary = (found != 0);

    for (i = 0; i < 2; i++) {

        if (!(found & (1 << i))
            || !shipoff_rules_accepts((char *) accept.data,
                                      accept.len, coding[i]))
        {
            continue;
        }

        if (!(opened & (1 << i))) {
            rc = ngx_http_shipoff_static_test_suffix(r, root, path, ext[i],
                                                     &of[i]);
            if (rc == NGX_ERROR) {
                return NGX_ERROR;
            }

            if (rc != NGX_HTTP_SHIPOFF_FILE) {
                continue;
            }
        }

        /* both suffixes are 3 bytes: one NUL ends either */

        ngx_memcpy(path->data + path->len, ext[i], 4);
        path->len += 3;

        ctx->of = of[i];
        ctx->encoding.data = (u_char *) coding[i];
        ctx->encoding.len = ngx_strlen(coding[i]);

        break;
    }

    return NGX_OK;
}


/*
 * The siblings remembered for the request's file, NULL if none are: not
 * with open_file_cache off, and not any more once open_file_cache_valid
 * has passed since the site began remembering (what a cached open would
 * have told is as old as open_file_cache lets it be).
 */

static ngx_http_shipoff_siblings_t *
ngx_http_shipoff_static_siblings(ngx_http_request_t *r,
    ngx_http_shipoff_rules_entry_t *site, ngx_uint_t key)
{
    time_t                        now;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_shipoff_siblings_t  *sib;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->open_file_cache == NULL) {
        return NULL;
    }

    now = ngx_time();

    if (now - site->siblings_since >= clcf->open_file_cache_valid) {

        if (site->siblings_pool) {
            ngx_destroy_pool(site->siblings_pool);
            site->siblings_pool = NULL;
        }

        ngx_memzero(site->siblings, sizeof(site->siblings));
        site->nsiblings = 0;
        site->siblings_since = now;

        return NULL;
    }

    for (sib = site->siblings[key % NGX_HTTP_SHIPOFF_SIBLINGS_BUCKETS];
         sib;
         sib = sib->next)
    {
        if (sib->key == key
            && sib->uri.len == r->uri.len
            && ngx_memcmp(sib->uri.data, r->uri.data, r->uri.len) == 0)
        {
            return sib;
        }
    }

    return NULL;
}


/* remembers what siblings the request's file has, if there is room */

static void
ngx_http_shipoff_static_remember(ngx_http_request_t *r,
    ngx_http_shipoff_rules_entry_t *site, ngx_uint_t key, ngx_uint_t found)
{
    ngx_uint_t                    n;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_shipoff_siblings_t  *sib;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->open_file_cache == NULL
        || site->nsiblings >= NGX_HTTP_SHIPOFF_SIBLINGS_MAX)
    {
        return;
    }

    if (site->siblings_pool == NULL) {
        site->siblings_pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE,
                                              ngx_cycle->log);
        if (site->siblings_pool == NULL) {
            return;
        }
    }

    sib = ngx_palloc(site->siblings_pool,
                     sizeof(ngx_http_shipoff_siblings_t) + r->uri.len);
    if (sib == NULL) {
        return;
    }

    sib->key = key;
    sib->found = found;
    sib->uri.len = r->uri.len;
    sib->uri.data = (u_char *) (sib + 1);
    ngx_memcpy(sib->uri.data, r->uri.data, r->uri.len);

    n = key % NGX_HTTP_SHIPOFF_SIBLINGS_BUCKETS;

    sib->next = site->siblings[n];
    site->siblings[n] = sib;
    site->nsiblings++;
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
 * The site at root, for the route whose serial is route, from this
 * worker's cache (an entry per route and root: a new deployment is a new
 * root, the old one's entry ages out least recently used first), with its
 * parsed _redirects and _headers.  The files' identity is read again once
 * open_file_cache_valid has passed (on every request without an
 * open_file_cache, which would not notice a change sooner anyway), and the
 * rules are parsed again when it changed.  NULL: the rules could not be
 * read (which is logged).
 */

static ngx_http_shipoff_rules_entry_t *
ngx_http_shipoff_static_site(ngx_http_request_t *r, ngx_str_t *root,
    ngx_uint_t route)
{
    time_t                                now;
    size_t                                size;
    ngx_str_t                             redirects, headers;
    ngx_uint_t                            i;
    ngx_open_file_info_t                  rof, hof;
    shipoff_rules_arena_t                 arena;
    ngx_http_shipoff_file_id_t            rid, hid;
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_shipoff_rules_entry_t       *e, *found, *victim;
    ngx_http_shipoff_static_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_static_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    now = ngx_time();
    smcf->tick++;

    found = NULL;
    victim = NULL;

    for (i = 0; i < NGX_HTTP_SHIPOFF_RULES_CACHE; i++) {
        e = &smcf->entries[i];

        if (e->pool == NULL) {
            if (victim == NULL || victim->pool) {
                victim = e;
            }

            continue;
        }

        if (e->route == route
            && e->root.len == root->len
            && ngx_strncmp(e->root.data, root->data, root->len) == 0)
        {
            found = e;
            break;
        }

        if (victim == NULL || (victim->pool && e->used < victim->used)) {
            victim = e;
        }
    }

    if (found) {
        found->used = smcf->tick;

        if (clcf->open_file_cache
            && now - found->checked < clcf->open_file_cache_valid)
        {
            return found;
        }
    }

    if (ngx_http_shipoff_static_rules_file(r, root,
                                           &ngx_http_shipoff_redirects,
                                           &rof, &rid)
        != NGX_OK
        || ngx_http_shipoff_static_rules_file(r, root,
                                              &ngx_http_shipoff_headers,
                                              &hof, &hid)
           != NGX_OK)
    {
        return NULL;
    }

    if (found) {
        if (ngx_memcmp(&found->redirects, &rid, sizeof(rid)) == 0
            && ngx_memcmp(&found->headers, &hid, sizeof(hid)) == 0)
        {
            found->checked = now;
            return found;
        }

        victim = found;
    }

    e = victim;

    ngx_http_shipoff_static_site_free(e);

    ngx_memzero(e, sizeof(ngx_http_shipoff_rules_entry_t));

    size = (rid.size || hid.size) ? NGX_DEFAULT_POOL_SIZE
                                  : NGX_HTTP_SHIPOFF_NO_RULES_POOL_SIZE;

    e->pool = ngx_create_pool(size, ngx_cycle->log);
    if (e->pool == NULL) {
        return NULL;
    }

    e->root.data = ngx_pstrdup(e->pool, root);
    if (e->root.data == NULL) {
        goto failed;
    }

    e->root.len = root->len;
    e->route = route;
    e->checked = now;
    e->redirects = rid;
    e->headers = hid;
    e->used = smcf->tick;

    if (ngx_http_shipoff_static_rules_read(r, e->pool, root, "/_redirects",
                                           &rof, &rid, &redirects)
        != NGX_OK
        || ngx_http_shipoff_static_rules_read(r, e->pool, root, "/_headers",
                                              &hof, &hid, &headers)
           != NGX_OK)
    {
        goto failed;
    }

    arena.alloc = ngx_http_shipoff_static_alloc;
    arena.data = e->pool;

    if (shipoff_rules_parse_redirects(&e->rules,
                                      (char *) redirects.data,
                                      redirects.len, &arena)
        != 0)
    {
        goto failed;
    }

    if (e->rules.nerrors) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "shipoff: %uz invalid lines in \"%V/_redirects\" "
                      "ignored, line %uz: %s", e->rules.nerrors, root,
                      e->rules.error_line, e->rules.errstr);
        e->rules.nerrors = 0;
    }

    if (shipoff_rules_parse_headers(&e->rules, (char *) headers.data,
                                    headers.len, &arena)
        != 0)
    {
        goto failed;
    }

    if (e->rules.nerrors) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "shipoff: %uz invalid lines in \"%V/_headers\" "
                      "ignored, line %uz: %s", e->rules.nerrors, root,
                      e->rules.error_line, e->rules.errstr);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff rules of \"%V\": %uz redirects, %uz headers",
                   root, e->rules.nredirects, e->rules.nheaders);

    return e;

failed:

    ngx_http_shipoff_static_site_free(e);

    return NULL;
}


static void
ngx_http_shipoff_static_site_free(ngx_http_shipoff_rules_entry_t *e)
{
    if (e->pool) {
        ngx_destroy_pool(e->pool);
        e->pool = NULL;
    }

    if (e->siblings_pool) {
        ngx_destroy_pool(e->siblings_pool);
        e->siblings_pool = NULL;
    }
}


static shipoff_rules_t *
ngx_http_shipoff_static_rules_of(ngx_http_shipoff_rules_entry_t *e)
{
    if (e->rules.nredirects == 0 && e->rules.nheaders == 0) {
        return NULL;
    }

    return &e->rules;
}


/* opens a rules file; a missing, unsafe or oversized one counts as none */

static ngx_int_t
ngx_http_shipoff_static_rules_file(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *name, ngx_open_file_info_t *of, ngx_http_shipoff_file_id_t *id)
{
    ngx_int_t   rc;
    ngx_str_t   path;

    ngx_memzero(id, sizeof(ngx_http_shipoff_file_id_t));

    if (ngx_http_shipoff_static_join(r, root, name, "", &path) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_shipoff_static_open(r, root, &path, of);

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK || !of->is_file) {
        return NGX_OK;
    }

    if (of->size > NGX_HTTP_SHIPOFF_RULES_MAX_SIZE) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "shipoff: \"%V\" is larger than %d bytes, ignored",
                      &path, NGX_HTTP_SHIPOFF_RULES_MAX_SIZE);
        return NGX_OK;
    }

    id->uniq = of->uniq;
    id->mtime = of->mtime;
    id->size = of->size;

    return NGX_OK;
}


/* reads a rules file opened by rules_file(), into pool */

static ngx_int_t
ngx_http_shipoff_static_rules_read(ngx_http_request_t *r, ngx_pool_t *pool,
    ngx_str_t *root, char *name, ngx_open_file_info_t *of,
    ngx_http_shipoff_file_id_t *id, ngx_str_t *text)
{
    ssize_t      n;
    ngx_file_t   file;

    ngx_str_null(text);

    if (id->size == 0) {
        return NGX_OK;
    }

    text->len = (size_t) id->size;

    text->data = ngx_pnalloc(pool, text->len);
    if (text->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.fd = of->fd;
    file.name.data = (u_char *) name;
    file.name.len = ngx_strlen(name);
    file.log = r->connection->log;

    n = ngx_read_file(&file, text->data, text->len, 0);

    if (n == NGX_ERROR) {
        return NGX_ERROR;
    }

    if ((size_t) n != text->len) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "shipoff: \"%V%s\" changed while read", root, name);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
ngx_http_shipoff_static_alloc(void *data, size_t size)
{
    return ngx_palloc(data, size);
}


static ngx_int_t
ngx_http_shipoff_static_header_filter(ngx_http_request_t *r)
{
    ngx_str_t                           *value;
    ngx_uint_t                           status, cache_control;
    ngx_http_shipoff_static_ctx_t       *ctx;
    ngx_http_shipoff_static_loc_conf_t  *slcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_shipoff_static_module);

    if (ctx == NULL || r != r->main) {
        return ngx_http_next_header_filter(r);
    }

    cache_control = 0;

    if (ctx->rules && ctx->rules->nheaders
        && ngx_http_shipoff_static_add_headers(r, ctx->rules, &cache_control)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->vary) {
        if (ngx_http_shipoff_static_add_header(r, &ngx_http_shipoff_vary,
                                               &ngx_http_shipoff_encoding, 0)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (cache_control) {
        return ngx_http_next_header_filter(r);
    }

    status = r->headers_out.status;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_shipoff_static_module);

    if ((status == NGX_HTTP_OK || status == NGX_HTTP_PARTIAL_CONTENT
         || status == NGX_HTTP_NOT_MODIFIED)
        && ngx_http_shipoff_static_immutable(r, slcf))
    {
        value = &ngx_http_shipoff_immutable_value;

    } else if (status == NGX_HTTP_OK || status == NGX_HTTP_PARTIAL_CONTENT
               || status == NGX_HTTP_NOT_MODIFIED
               || status == NGX_HTTP_NOT_FOUND
               || status == NGX_HTTP_SHIPOFF_GONE)
    {
        value = &ngx_http_shipoff_no_cache;

    } else {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_shipoff_static_add_header(r, &ngx_http_shipoff_cache_control,
                                           value, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_uint_t
ngx_http_shipoff_static_immutable(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf)
{
    if (!slcf->immutable || r->err_status) {
        return 0;
    }

#if (NGX_PCRE)
    if (slcf->immutable_regex) {
        return ngx_regex_exec(slcf->immutable_regex, &r->uri, NULL, 0) >= 0;
    }
#endif

    return shipoff_rules_fingerprinted((char *) r->uri.data,
                                       r->uri.len);
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


/*
 * The site's _headers for this response, matched against the URI the
 * client asked for and, after a rewrite, the one that answers.  Values
 * are copied: the cache entry may be replaced before the request ends.
 */

static ngx_int_t
ngx_http_shipoff_static_add_headers(ngx_http_request_t *r,
    shipoff_rules_t *rules, ngx_uint_t *cache_control)
{
    u_char                          *dst, *src, *end;
    ngx_str_t                        asked, name, value;
    ngx_uint_t                       i, j, cc;
    shipoff_rules_header_t          *hd;
    shipoff_rules_header_rule_t     *rule;

    asked = r->uri;

    if (r->internal) {
        src = r->unparsed_uri.data;
        end = ngx_strlchr(src, src + r->unparsed_uri.len, '?');

        if (end == NULL) {
            end = src + r->unparsed_uri.len;
        }

        asked.data = ngx_pnalloc(r->pool, end - src);
        if (asked.data == NULL) {
            return NGX_ERROR;
        }

        dst = asked.data;
        ngx_unescape_uri(&dst, &src, end - src, NGX_UNESCAPE_URI);
        asked.len = dst - asked.data;
    }

    for (i = 0; i < rules->nheaders; i++) {
        rule = &rules->headers[i];

        if (!shipoff_rules_match(rule->path.data, rule->path.len,
                                 (char *) asked.data, asked.len)
            && !(r->internal
                 && shipoff_rules_match(rule->path.data,
                                        rule->path.len,
                                        (char *) r->uri.data,
                                        r->uri.len)))
        {
            continue;
        }

        for (j = 0; j < rule->nheaders; j++) {
            hd = &rule->headers[j];

            name.len = hd->name.len;
            value.len = hd->value.len;

            name.data = ngx_pnalloc(r->pool, name.len + value.len);
            if (name.data == NULL) {
                return NGX_ERROR;
            }

            value.data = ngx_cpymem(name.data, hd->name.data, name.len);
            ngx_memcpy(value.data, hd->value.data, value.len);

            if (name.len == sizeof("Content-Type") - 1
                && ngx_strncasecmp(name.data, (u_char *) "Content-Type",
                                   name.len)
                   == 0)
            {
                r->headers_out.content_type = value;
                r->headers_out.content_type_len = value.len;
                r->headers_out.content_type_lowcase = NULL;
                ngx_str_null(&r->headers_out.charset);
                continue;
            }

            cc = (name.len == ngx_http_shipoff_cache_control.len
                  && ngx_strncasecmp(name.data,
                                     ngx_http_shipoff_cache_control.data,
                                     name.len)
                     == 0);

            if (cc) {
                *cache_control = 1;
            }

            if (ngx_http_shipoff_static_add_header(r, &name, &value, cc)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* adds a response header; cache_control: it is a Cache-Control */

static ngx_int_t
ngx_http_shipoff_static_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, ngx_uint_t cache_control)
{
    ngx_table_elt_t  *h, **cc;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;
    h->lowcase_key = NULL;

    if (!cache_control) {
        return NGX_OK;
    }

    /* where other modules (expires, proxy cache) look for it */

    if (r->headers_out.cache_control.elts == NULL
        && ngx_array_init(&r->headers_out.cache_control, r->pool, 1,
                          sizeof(ngx_table_elt_t *))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    cc = ngx_array_push(&r->headers_out.cache_control);
    if (cc == NULL) {
        return NGX_ERROR;
    }

    *cc = h;

    return NGX_OK;
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

    cln->handler = ngx_http_shipoff_static_cleanup;
    cln->data = smcf;

    return smcf;
}


/* the rules a process parsed go with the configuration that cached them */

static void
ngx_http_shipoff_static_cleanup(void *data)
{
    ngx_http_shipoff_static_main_conf_t  *smcf = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_SHIPOFF_RULES_CACHE; i++) {
        ngx_http_shipoff_static_site_free(&smcf->entries[i]);
    }
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
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_shipoff_static_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_shipoff_static_header_filter;

    return NGX_OK;
}
