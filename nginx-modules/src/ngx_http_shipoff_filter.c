
/*
 * The header filter of ngx_http_shipoff_static_module, for the responses
 * whose request its phase handler decided: Cache-Control (immutable for
 * content-hashed assets, revalidation for everything else), Vary for a
 * file with precompressed siblings, and the site's _headers.  A
 * Cache-Control of the site's own replaces the module's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"
#include "ngx_http_shipoff_static.h"


/* nginx has no name for it */
#define NGX_HTTP_SHIPOFF_GONE             410


static ngx_int_t ngx_http_shipoff_header_filter(ngx_http_request_t *r);
static ngx_uint_t ngx_http_shipoff_filter_immutable(ngx_http_request_t *r,
    ngx_http_shipoff_static_loc_conf_t *slcf);
static ngx_int_t ngx_http_shipoff_filter_rules(ngx_http_request_t *r,
    shipoff_rules_t *rules, ngx_uint_t *cache_control);
static ngx_int_t ngx_http_shipoff_filter_add(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, ngx_uint_t cache_control);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;


static ngx_str_t  ngx_http_shipoff_immutable_value =
    ngx_string("public, max-age=31536000, immutable");
static ngx_str_t  ngx_http_shipoff_no_cache = ngx_string("no-cache");
static ngx_str_t  ngx_http_shipoff_cache_control = ngx_string("Cache-Control");
static ngx_str_t  ngx_http_shipoff_vary = ngx_string("Vary");
static ngx_str_t  ngx_http_shipoff_encoding = ngx_string("Accept-Encoding");


ngx_int_t
ngx_http_shipoff_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_shipoff_header_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shipoff_header_filter(ngx_http_request_t *r)
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
        && ngx_http_shipoff_filter_rules(r, ctx->rules, &cache_control)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->vary) {
        if (ngx_http_shipoff_filter_add(r, &ngx_http_shipoff_vary,
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
        && ngx_http_shipoff_filter_immutable(r, slcf))
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

    if (ngx_http_shipoff_filter_add(r, &ngx_http_shipoff_cache_control,
                                    value, 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_uint_t
ngx_http_shipoff_filter_immutable(ngx_http_request_t *r,
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
 * The site's _headers for this response, matched against the URI the
 * client asked for and, after a rewrite, the one that answers.  Values
 * are copied: the cache entry may be replaced before the request ends.
 */

static ngx_int_t
ngx_http_shipoff_filter_rules(ngx_http_request_t *r, shipoff_rules_t *rules,
    ngx_uint_t *cache_control)
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

            if (ngx_http_shipoff_filter_add(r, &name, &value, cc)
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
ngx_http_shipoff_filter_add(ngx_http_request_t *r, ngx_str_t *name,
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
