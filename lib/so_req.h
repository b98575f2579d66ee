/*
 * so_req.h: one FastCGI request as the handlers see it: parameters, the
 * body read under a size cap, JSON responses and errors in the shape of
 * DESIGN.md:
 *
 *   {"error": {"code": "validation_failed", "message": "...", "field": "name"}}
 */

#ifndef SO_REQ_H
#define SO_REQ_H

#include <stddef.h>
#include <fcgiapp.h>
#include <jansson.h>

#include "so_config.h"
#include "so_pg.h"
#include "so_redis.h"

#define SO_MAX_PATH_ARGS  4
#define SO_REQ_MAX_HEADERS  4     /* extra response headers */

/* who is calling: so_authenticate() (so_auth.h) finds it */
typedef struct {
    long long  user_id;
    unsigned   scopes;       /* SO_SCOPE_*: all for a JWT, a PAT's own */
    long long  token_id;     /* the api_tokens row, 0 for a JWT */
} so_principal_t;

typedef struct {
    FCGX_Request       *fcgi;
    const so_config_t  *cfg;
    so_pg_t            *pg;        /* this thread's connections */
    so_redis_t         *redis;

    const char         *method;    /* "GET" ... */
    const char         *path;      /* the URI without the query string */
    const char         *query;     /* "" when absent */
    const char         *args[SO_MAX_PATH_ARGS];  /* the route's ":x" */
    size_t              nargs;
    char                argbuf[512];

    struct {
        char            name[32];
        char            value[192];  /* a Set-Cookie with a token */
    }                   headers[SO_REQ_MAX_HEADERS];  /* so_req_header() */
    size_t              nheaders;

    /*
     * Filled before the handler runs, as its route declares (so_fcgi.h,
     * so_authz_request()): the caller, the object of args[0] and the
     * caller's relations with it (SO_NEED_* bits).
     */
    so_principal_t      principal;
    char                uids[24];  /* principal.user_id in decimal */
    long long           id;
    char                ids[24];   /* id in decimal, a query parameter */
    unsigned            rights;
    PGresult           *account;   /* SO_OBJ_ACCOUNT: the caller's row */

    /*
     * Set by a handler a browser navigates to (the OAuth callback): its
     * errors are a redirect to this page with ?error=<code>, which the
     * console shows, not JSON the user would stare at.  NULL: JSON.
     */
    const char         *error_page;

    int                 responded; /* a response was written */
} so_req_t;

/* a CGI parameter ("HTTP_AUTHORIZATION"), or NULL */
const char *so_req_param(const so_req_t *r, const char *name);

/*
 * The value of the request's cookie name (HTTP_COOKIE) into out: 0,
 * SO_ENOTFOUND when there is none (or it is empty), SO_ETOOBIG when it
 * does not fit in len (out is "" then).  The first of several wins.
 */
int so_req_cookie(const so_req_t *r, const char *name, char *out,
    size_t len);

/*
 * Reads the body, at most cfg->max_body_size bytes.  Returns 0 with *out a
 * NUL-terminated malloc()ed buffer, SO_ETOOBIG past the cap, SO_ERR when
 * the client went away.
 */
int so_req_read_body(so_req_t *r, char **out, size_t *len);

/* the same with an explicit cap (the webhook receiver's larger one) */
int so_req_read_body_max(so_req_t *r, size_t cap, char **out, size_t *len);

/*
 * so_req_read_body_max() that answers a failure itself (413 too_large,
 * 400 bad_request) and returns its code; the handler just returns.
 */
int so_req_read_raw(so_req_t *r, size_t cap, char **out, size_t *len);

/*
 * Reads and parses a JSON object body.  On failure answers the request
 * itself (413 too_large, 400 malformed_json, 415 unsupported_media_type)
 * and returns a negative code; the handler just returns.
 */
int so_req_read_json(so_req_t *r, json_t **out);

/*
 * Adds a header to the response that so_req_json() writes next
 * ("Retry-After", "30").  Both strings are copied; at most
 * SO_REQ_MAX_HEADERS; one too many, too long or holding a control
 * character is a programming error: logged and dropped.
 */
void so_req_header(so_req_t *r, const char *name, const char *value);

/* writes status + JSON body; steals the reference to body */
void so_req_json(so_req_t *r, int status, json_t *body);

/* writes a status without a body (204) */
void so_req_empty(so_req_t *r, int status);

/* writes a response of another type than JSON: text as it is */
void so_req_text(so_req_t *r, int status, const char *type,
    const char *text);

/* writes 303 See Other to location, with so_req_header()'s headers */
void so_req_redirect(so_req_t *r, const char *location);

/*
 * writes {"error":{code,message[,field]}}; field may be NULL.  With
 * r->error_page set: 303 to <error_page>?error=<code> instead.
 */
void so_req_error(so_req_t *r, int status, const char *code,
    const char *message, const char *field);

/*
 * Answers a failed so_pg_query(): logs what failed with the server's error
 * and answers 503 unavailable when the database cannot be reached, 500
 * internal otherwise (a query the server refused is our bug).
 */
void so_req_pg_error(so_req_t *r, const char *what);

/*
 * so_pg_query() on the request's connection that answers a failure itself
 * (so_req_pg_error() naming the statement): the result (the caller
 * PQclear()s it), or NULL answered.  nparams and params: SO_PG_PARAMS().
 */
PGresult *so_req_query(so_req_t *r, const char *name, const char *sql,
    int nparams, const char *const *params);

/*
 * Answers a failed step whose detail is already logged (the so_deploy_*
 * functions log their own): 503 unavailable for SO_EUNAVAIL, else 500.
 */
void so_req_fail(so_req_t *r, int rc);

/* the reason phrase of a status ("Not Found") */
const char *so_req_reason(int status);

#endif /* SO_REQ_H */
