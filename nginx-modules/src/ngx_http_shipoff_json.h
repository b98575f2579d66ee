
/*
 * A small JSON reader and writer for the control API and the snapshot.
 *
 * Route documents are flat objects of strings, booleans and one integer,
 * so the reader is a cursor the caller drives ("an object", "a string")
 * rather than a tree builder: nothing is allocated except decoded strings
 * that held escapes.  It rejects what RFC 8259 rejects, within that subset.
 */


#ifndef _NGX_HTTP_SHIPOFF_JSON_H_INCLUDED_
#define _NGX_HTTP_SHIPOFF_JSON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


typedef struct {
    u_char      *start;
    u_char      *pos;
    u_char      *last;
    ngx_pool_t  *pool;       /* for strings that held escapes */
    const char  *err;        /* what was expected, on NGX_ERROR */
} ngx_http_shipoff_json_t;


void ngx_http_shipoff_json_init(ngx_http_shipoff_json_t *j, ngx_pool_t *pool,
    u_char *start, u_char *end);
ngx_int_t ngx_http_shipoff_json_object(ngx_http_shipoff_json_t *j);
ngx_int_t ngx_http_shipoff_json_member(ngx_http_shipoff_json_t *j,
    ngx_uint_t *n, ngx_str_t *key);
ngx_int_t ngx_http_shipoff_json_string(ngx_http_shipoff_json_t *j,
    ngx_str_t *value);
ngx_int_t ngx_http_shipoff_json_bool(ngx_http_shipoff_json_t *j,
    ngx_flag_t *value);
ngx_int_t ngx_http_shipoff_json_uint(ngx_http_shipoff_json_t *j,
    uint64_t *value);
ngx_int_t ngx_http_shipoff_json_null(ngx_http_shipoff_json_t *j);
ngx_int_t ngx_http_shipoff_json_end(ngx_http_shipoff_json_t *j);

size_t ngx_http_shipoff_json_str_len(ngx_str_t *s);
u_char *ngx_http_shipoff_json_str(u_char *p, ngx_str_t *s);


#endif /* _NGX_HTTP_SHIPOFF_JSON_H_INCLUDED_ */
