
/*
 * The sites a worker knows, for ngx_http_shipoff_static_module: an LRU
 * of NGX_HTTP_SHIPOFF_SITES entries, one per route and root (a new
 * deployment is a new root; the old one's entry ages out), each in a pool
 * of its own that holds the site's parsed _redirects and _headers.
 *
 * The cache lives in the module's main configuration, as open_file_cache
 * keeps its cache there, and goes with it.  The rules files' identity is
 * read again once open_file_cache_valid has passed, and the rules parsed
 * again only when it changed: a request to a known site costs no parse
 * and, with open_file_cache, no system call for its rules.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


/* a rules file larger than this is ignored */
#define NGX_HTTP_SHIPOFF_RULES_MAX_SIZE   (1024 * 1024)

/* a cache entry of a site without rules holds its root only */
#define NGX_HTTP_SHIPOFF_NO_RULES_POOL_SIZE  1024


/* shipoff_rules_parse_redirects() or shipoff_rules_parse_headers() */
typedef int (*ngx_http_shipoff_parse_pt)(shipoff_rules_t *rules,
    const char *buf, size_t len, shipoff_rules_arena_t *arena);


static ngx_http_shipoff_site_t *ngx_http_shipoff_site_find(
    ngx_http_shipoff_static_main_conf_t *smcf, ngx_str_t *root,
    ngx_uint_t route, ngx_http_shipoff_site_t **victim);
static void ngx_http_shipoff_site_free(ngx_http_shipoff_site_t *e);
static ngx_int_t ngx_http_shipoff_site_file(ngx_http_request_t *r,
    ngx_str_t *root, ngx_str_t *name, ngx_open_file_info_t *of,
    ngx_http_shipoff_file_id_t *id);
static ngx_int_t ngx_http_shipoff_site_read(ngx_http_request_t *r,
    ngx_pool_t *pool, ngx_str_t *root, char *name, ngx_open_file_info_t *of,
    ngx_http_shipoff_file_id_t *id, ngx_str_t *text);
static ngx_int_t ngx_http_shipoff_site_parse(ngx_http_request_t *r,
    ngx_http_shipoff_site_t *e, ngx_str_t *name, ngx_str_t *text,
    ngx_http_shipoff_parse_pt parse);
static void *ngx_http_shipoff_site_alloc(void *data, size_t size);


static ngx_str_t  ngx_http_shipoff_redirects = ngx_string("/_redirects");
static ngx_str_t  ngx_http_shipoff_headers = ngx_string("/_headers");


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

ngx_http_shipoff_site_t *
ngx_http_shipoff_site_get(ngx_http_request_t *r, ngx_str_t *root,
    ngx_uint_t route)
{
    time_t                                now;
    size_t                                size;
    ngx_str_t                             redirects, headers;
    ngx_open_file_info_t                  rof, hof;
    ngx_http_shipoff_file_id_t            rid, hid;
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_shipoff_site_t              *e, *found, *victim;
    ngx_http_shipoff_static_main_conf_t  *smcf;

    smcf = ngx_http_get_module_main_conf(r, ngx_http_shipoff_static_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    now = ngx_time();
    smcf->tick++;

    found = ngx_http_shipoff_site_find(smcf, root, route, &victim);

    if (found) {
        found->used = smcf->tick;

        if (clcf->open_file_cache
            && now - found->checked < clcf->open_file_cache_valid)
        {
            return found;
        }
    }

    if (ngx_http_shipoff_site_file(r, root, &ngx_http_shipoff_redirects,
                                   &rof, &rid)
        != NGX_OK
        || ngx_http_shipoff_site_file(r, root, &ngx_http_shipoff_headers,
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

    ngx_http_shipoff_site_free(e);

    ngx_memzero(e, sizeof(ngx_http_shipoff_site_t));

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

    if (ngx_http_shipoff_site_read(r, e->pool, root, "/_redirects",
                                   &rof, &rid, &redirects)
        != NGX_OK
        || ngx_http_shipoff_site_read(r, e->pool, root, "/_headers",
                                      &hof, &hid, &headers)
           != NGX_OK)
    {
        goto failed;
    }

    if (ngx_http_shipoff_site_parse(r, e, &ngx_http_shipoff_redirects,
                                    &redirects, shipoff_rules_parse_redirects)
        != NGX_OK
        || ngx_http_shipoff_site_parse(r, e, &ngx_http_shipoff_headers,
                                       &headers, shipoff_rules_parse_headers)
           != NGX_OK)
    {
        goto failed;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "shipoff rules of \"%V\": %uz redirects, %uz headers",
                   root, e->rules.nredirects, e->rules.nheaders);

    return e;

failed:

    ngx_http_shipoff_site_free(e);

    return NULL;
}


/*
 * The entry of the site at root for the route whose serial is route, or
 * NULL; *victim is the entry a new one replaces: a free one, or the least
 * recently used.
 */

static ngx_http_shipoff_site_t *
ngx_http_shipoff_site_find(ngx_http_shipoff_static_main_conf_t *smcf,
    ngx_str_t *root, ngx_uint_t route, ngx_http_shipoff_site_t **victim)
{
    ngx_uint_t                i;
    ngx_http_shipoff_site_t  *e;

    *victim = NULL;

    for (i = 0; i < NGX_HTTP_SHIPOFF_SITES; i++) {
        e = &smcf->entries[i];

        if (e->pool == NULL) {
            if (*victim == NULL || (*victim)->pool) {
                *victim = e;
            }

            continue;
        }

        if (e->route == route
            && e->root.len == root->len
            && ngx_strncmp(e->root.data, root->data, root->len) == 0)
        {
            return e;
        }

        if (*victim == NULL
            || ((*victim)->pool && e->used < (*victim)->used))
        {
            *victim = e;
        }
    }

    return NULL;
}


/* whether uri names one of a site's rules files: configuration, not content */

ngx_uint_t
ngx_http_shipoff_site_is_rules(ngx_str_t *uri)
{
    return (uri->len == ngx_http_shipoff_redirects.len
            && ngx_strncmp(uri->data, ngx_http_shipoff_redirects.data,
                           uri->len) == 0)
           || (uri->len == ngx_http_shipoff_headers.len
               && ngx_strncmp(uri->data, ngx_http_shipoff_headers.data,
                              uri->len) == 0);
}


shipoff_rules_t *
ngx_http_shipoff_site_rules(ngx_http_shipoff_site_t *e)
{
    if (e->rules.nredirects == 0 && e->rules.nheaders == 0) {
        return NULL;
    }

    return &e->rules;
}


/* the rules a process parsed go with the configuration that cached them */

void
ngx_http_shipoff_site_cleanup(void *data)
{
    ngx_http_shipoff_static_main_conf_t  *smcf = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_SHIPOFF_SITES; i++) {
        ngx_http_shipoff_site_free(&smcf->entries[i]);
    }
}


static void
ngx_http_shipoff_site_free(ngx_http_shipoff_site_t *e)
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


/* opens a rules file; a missing, unsafe or oversized one counts as none */

static ngx_int_t
ngx_http_shipoff_site_file(ngx_http_request_t *r, ngx_str_t *root,
    ngx_str_t *name, ngx_open_file_info_t *of, ngx_http_shipoff_file_id_t *id)
{
    ngx_int_t   rc;
    ngx_str_t   path;

    ngx_memzero(id, sizeof(ngx_http_shipoff_file_id_t));

    if (ngx_http_shipoff_probe_join(r, root, name, "", &path) != NGX_OK) {
        return NGX_ERROR;
    }

    rc = ngx_http_shipoff_probe_open(r, root, &path, of);

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


/* reads a rules file opened by site_file(), into pool */

static ngx_int_t
ngx_http_shipoff_site_read(ngx_http_request_t *r, ngx_pool_t *pool,
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


/*
 * Parses the text of the site's rules file name into its rules, from its
 * pool; the invalid lines skipped are logged.
 */

static ngx_int_t
ngx_http_shipoff_site_parse(ngx_http_request_t *r, ngx_http_shipoff_site_t *e,
    ngx_str_t *name, ngx_str_t *text, ngx_http_shipoff_parse_pt parse)
{
    shipoff_rules_arena_t  arena;

    arena.alloc = ngx_http_shipoff_site_alloc;
    arena.data = e->pool;

    if (parse(&e->rules, (char *) text->data, text->len, &arena) != 0) {
        return NGX_ERROR;
    }

    if (e->rules.nerrors) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "shipoff: %uz invalid lines in \"%V%V\" ignored, "
                      "line %uz: %s", e->rules.nerrors, &e->root, name,
                      e->rules.error_line, e->rules.errstr);
        e->rules.nerrors = 0;
    }

    return NGX_OK;
}


static void *
ngx_http_shipoff_site_alloc(void *data, size_t size)
{
    return ngx_palloc(data, size);
}
