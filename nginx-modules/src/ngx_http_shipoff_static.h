
/*
 * What the files of ngx_http_shipoff_static_module share: its
 * configuration, the decision its phase handler makes for a request, and
 * this worker's cache of sites, and the functions of one file the others
 * call.
 *
 *   ngx_http_shipoff_static.c          the directives, the phase handler
 *                                      (which file answers) and the content
 *                                      handler (sending it)
 *   ngx_http_shipoff_probe.c           what a path below a site's root is,
 *                                      through open_file_cache
 *   ngx_http_shipoff_precompressed.c   the .br or .gz sibling a client takes
 *   ngx_http_shipoff_site.c            the per-worker LRU of sites and their
 *                                      parsed _redirects and _headers
 *   ngx_http_shipoff_filter.c          the header filter: Cache-Control,
 *                                      Vary, the site's _headers
 *   ngx_http_shipoff_fastcgi.c         a FastCGI route's (php-fpm's) files
 *                                      and $shipoff_script_name
 */


#ifndef _NGX_HTTP_SHIPOFF_STATIC_H_INCLUDED_
#define _NGX_HTTP_SHIPOFF_STATIC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "shipoff_rules.h"


/* the sites a worker keeps */
#define NGX_HTTP_SHIPOFF_SITES            32

/* the longest suffix tried on a request's path in place: "/index.html" */
#define NGX_HTTP_SHIPOFF_SUFFIX_MAX       (sizeof("/index.html") - 1)

/* the files whose precompressed siblings a site's entry remembers */
#define NGX_HTTP_SHIPOFF_SIBLINGS_BUCKETS  256

/* what a path is, as probe_path() says: never NGX_OK nor NGX_ERROR */
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
    ngx_str_t                     fastcgi;   /* shipoff_dynamic_fastcgi */
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
} ngx_http_shipoff_site_t;


typedef struct {
    /* this worker's sites, least recently used first out */
    ngx_http_shipoff_site_t       entries[NGX_HTTP_SHIPOFF_SITES];
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


/* ngx_http_shipoff_probe.c */
ngx_int_t ngx_http_shipoff_probe(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *uri);
ngx_int_t ngx_http_shipoff_probe_suffix(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, char *suffix, ngx_open_file_info_t *of);
ngx_int_t ngx_http_shipoff_probe_path(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_open_file_info_t *of);
ngx_int_t ngx_http_shipoff_probe_join(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *uri, char *suffix, ngx_str_t *path);
ngx_int_t ngx_http_shipoff_probe_open(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_open_file_info_t *of);

/* ngx_http_shipoff_precompressed.c */
ngx_int_t ngx_http_shipoff_precompressed(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_site_t *site);

/* ngx_http_shipoff_site.c */
ngx_http_shipoff_site_t *ngx_http_shipoff_site_get(ngx_http_request_t *r,
    ngx_str_t *root, ngx_uint_t route);
shipoff_rules_t *ngx_http_shipoff_site_rules(ngx_http_shipoff_site_t *e);
ngx_uint_t ngx_http_shipoff_site_is_rules(ngx_str_t *uri);
void ngx_http_shipoff_site_cleanup(void *data);

/* ngx_http_shipoff_fastcgi.c */
ngx_int_t ngx_http_shipoff_fastcgi_file(ngx_http_request_t *r,
    ngx_http_shipoff_ctx_t *route, ngx_http_shipoff_static_ctx_t **out);
ngx_int_t ngx_http_shipoff_fastcgi_add_variables(ngx_conf_t *cf);

/* ngx_http_shipoff_filter.c */
ngx_int_t ngx_http_shipoff_filter_init(ngx_conf_t *cf);


#endif /* _NGX_HTTP_SHIPOFF_STATIC_H_INCLUDED_ */
