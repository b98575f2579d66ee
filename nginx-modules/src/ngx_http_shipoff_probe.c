
/*
 * What a path below a site's root is, for ngx_http_shipoff_static_module:
 * a file, a directory, nothing, or forbidden.  Every look goes through the
 * location's open_file_cache with symlinks refused below the root, with
 * the settings the index module uses under "disable_symlinks on
 * from=$document_root", so that both share the cache's entries and a
 * probe that hits costs no system call.  A file found stays open until
 * the request ends: the content handler sends it without opening it again.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


/* what root + uri is, for a URI other than the request's */

ngx_int_t
ngx_http_shipoff_probe(ngx_http_request_t *r, ngx_str_t *root, ngx_str_t *uri)
{
    ngx_str_t              path;
    ngx_open_file_info_t   of;

    if (ngx_http_shipoff_probe_join(r, root, uri, "", &path) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_shipoff_probe_path(r, root, &path, &of);
}


/*
 * What path + suffix is: the suffix is written in place (path has room
 * for NGX_HTTP_SHIPOFF_SUFFIX_MAX more bytes), path is left as it was.
 */

ngx_int_t
ngx_http_shipoff_probe_suffix(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, char *suffix, ngx_open_file_info_t *of)
{
    size_t     len;
    ngx_int_t  rc;
    ngx_str_t  probe;

    len = ngx_strlen(suffix);

    ngx_memcpy(path->data + path->len, suffix, len + 1);

    probe.data = path->data;
    probe.len = path->len + len;

    rc = ngx_http_shipoff_probe_path(r, root, &probe, of);

    path->data[path->len] = '\0';

    return rc;
}


/*
 * What path (root + something, NUL-terminated) is below the root:
 * NGX_HTTP_SHIPOFF_FILE, _DIR or _MISSING, NGX_HTTP_FORBIDDEN or
 * NGX_ERROR.  A file stays open in of until the request ends.
 */

ngx_int_t
ngx_http_shipoff_probe_path(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *path, ngx_open_file_info_t *of)
{
    ngx_int_t  rc;

    rc = ngx_http_shipoff_probe_open(r, root, path, of);

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

ngx_int_t
ngx_http_shipoff_probe_join(ngx_http_request_t *r, ngx_str_t *root,
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

ngx_int_t
ngx_http_shipoff_probe_open(ngx_http_request_t *r, ngx_str_t *root,
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
