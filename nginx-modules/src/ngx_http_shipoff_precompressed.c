
/*
 * Precompressed variants for ngx_http_shipoff_static_module: a file's
 * ".br" or ".gz" sibling answers in its place when the client accepts the
 * coding, and any sibling at all means "Vary: Accept-Encoding".
 *
 * Which siblings a file has is remembered in its site's entry (see
 * ngx_http_shipoff_site.c), keyed by the file's inode and URI and
 * forgotten every open_file_cache_valid, as open_file_cache forgets: a
 * hit on a file then costs the one cached open of the file itself.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


/* the files whose siblings a site's entry remembers at most */
#define NGX_HTTP_SHIPOFF_SIBLINGS_MAX      1024


static ngx_http_shipoff_siblings_t *ngx_http_shipoff_precompressed_known(
    ngx_http_request_t *r, ngx_http_shipoff_site_t *site, ngx_uint_t key);
static void ngx_http_shipoff_precompressed_remember(ngx_http_request_t *r,
    ngx_http_shipoff_site_t *site, ngx_uint_t key, ngx_uint_t found);


/*
 * Precompressed siblings of the file at path (root + URI, with room for a
 * suffix): the first the client accepts replaces the file in ctx, and the
 * path gets its suffix; any sibling at all means Vary.  Which siblings a
 * file has is remembered in its site's entry, so that a hit on a file
 * costs the one cached open of the file itself.
 */

ngx_int_t
ngx_http_shipoff_precompressed(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_http_shipoff_static_ctx_t *ctx,
    ngx_http_shipoff_site_t *site)
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

    sib = site ? ngx_http_shipoff_precompressed_known(r, site, key) : NULL;

    if (sib) {
        found = sib->found;
        opened = 0;

    } else {
        found = 0;

        for (i = 0; i < 2; i++) {
            rc = ngx_http_shipoff_probe_suffix(r, root, path, ext[i],
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
            ngx_http_shipoff_precompressed_remember(r, site, key, found);
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
            rc = ngx_http_shipoff_probe_suffix(r, root, path, ext[i],
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
ngx_http_shipoff_precompressed_known(ngx_http_request_t *r,
    ngx_http_shipoff_site_t *site, ngx_uint_t key)
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
ngx_http_shipoff_precompressed_remember(ngx_http_request_t *r,
    ngx_http_shipoff_site_t *site, ngx_uint_t key, ngx_uint_t found)
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
