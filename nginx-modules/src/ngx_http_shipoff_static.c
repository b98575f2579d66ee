
/*
 * ngx_http_shipoff_static_module: static sites on top of nginx's own
 * static handler (root $shipoff_root, sendfile, open_file_cache).
 *
 * This file holds the module's configuration: whether a location serves
 * static routes, single-page-app fallback, and which files are immutable
 * (content-hashed) for cache headers.  The request-time part (SPA
 * fallback, _redirects/_headers rules, Cache-Control) is built on these.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


typedef struct {
    ngx_flag_t                    enable;          /* shipoff_static */
    ngx_flag_t                    spa;             /* shipoff_spa */
    ngx_str_t                     spa_index;       /* shipoff_spa_index */
#if (NGX_PCRE)
    ngx_regex_t                  *immutable;       /* NULL: none */
#else
    void                         *immutable;       /* always NULL */
#endif
} ngx_http_shipoff_static_loc_conf_t;


static void *ngx_http_shipoff_static_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_static_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_shipoff_spa_index(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shipoff_immutable_pattern(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_conf_post_handler_pt  ngx_http_shipoff_spa_index_p =
    ngx_http_shipoff_spa_index;


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

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_static_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
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
     */

    conf->enable = NGX_CONF_UNSET;
    conf->spa = NGX_CONF_UNSET;
    conf->immutable = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_shipoff_static_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shipoff_static_loc_conf_t  *prev = parent;
    ngx_http_shipoff_static_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->spa, prev->spa, 1);
    ngx_conf_merge_str_value(conf->spa_index, prev->spa_index, "/index.html");
    ngx_conf_merge_ptr_value(conf->immutable, prev->immutable, NULL);

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_spa_index(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *uri = data;

    if (uri->len == 0 || uri->data[0] != '/') {
        return "must be a URI starting with \"/\"";
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

    if (slcf->immutable != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        slcf->immutable = NULL;
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

    slcf->immutable = rc.regex;

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "using regex \"%V\" requires PCRE library",
                       &value[1]);
    return NGX_CONF_ERROR;

#endif
}
