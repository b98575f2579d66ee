
/*
 * ngx_http_shipoff_wake_module: holding requests to a scaled-to-zero app
 * while it wakes.
 *
 * This file holds the module's configuration: where wake-up is enabled,
 * the internal location a wake is requested through (normally a FastCGI
 * call into the API, which queues the start), how long a request may be
 * held and how often the route's state is re-checked meanwhile.  The hold
 * itself (a timer per request, as limit_req delays) builds on these.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_shipoff_module.h"


typedef struct {
    ngx_flag_t                    enable;          /* shipoff_wake */
    ngx_str_t                     uri;             /* shipoff_wake_uri */
    ngx_msec_t                    timeout;
    ngx_msec_t                    check_interval;
} ngx_http_shipoff_wake_loc_conf_t;


static void *ngx_http_shipoff_wake_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_shipoff_wake_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_shipoff_wake_uri(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_shipoff_wake_positive(ngx_conf_t *cf, void *post,
    void *data);


static ngx_conf_post_handler_pt  ngx_http_shipoff_wake_uri_p =
    ngx_http_shipoff_wake_uri;

static ngx_conf_post_handler_pt  ngx_http_shipoff_wake_positive_p =
    ngx_http_shipoff_wake_positive;


static ngx_command_t  ngx_http_shipoff_wake_commands[] = {

    { ngx_string("shipoff_wake"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, enable),
      NULL },

    { ngx_string("shipoff_wake_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, uri),
      &ngx_http_shipoff_wake_uri_p },

    { ngx_string("shipoff_wake_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, timeout),
      &ngx_http_shipoff_wake_positive_p },

    { ngx_string("shipoff_wake_check_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_shipoff_wake_loc_conf_t, check_interval),
      &ngx_http_shipoff_wake_positive_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_shipoff_wake_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_shipoff_wake_create_loc_conf, /* create location configuration */
    ngx_http_shipoff_wake_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_shipoff_wake_module = {
    NGX_MODULE_V1,
    &ngx_http_shipoff_wake_module_ctx,     /* module context */
    ngx_http_shipoff_wake_commands,        /* module directives */
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
ngx_http_shipoff_wake_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_shipoff_wake_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_shipoff_wake_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->uri = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->check_interval = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_shipoff_wake_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_shipoff_wake_loc_conf_t  *prev = parent;
    ngx_http_shipoff_wake_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->uri, prev->uri, "");
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 30000);
    ngx_conf_merge_msec_value(conf->check_interval, prev->check_interval,
                              100);

    if (conf->enable && conf->uri.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"shipoff_wake\" requires \"shipoff_wake_uri\" "
                           "at the same level or above");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_wake_uri(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *uri = data;

    if (uri->len == 0 || uri->data[0] != '/') {
        return "must be a URI starting with \"/\"";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_shipoff_wake_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *msec = data;

    if (*msec == 0) {
        return "must be positive";
    }

    return NGX_CONF_OK;
}
