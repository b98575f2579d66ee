/*
 * so_fetch.h: a small HTTP client over libcurl for talking JSON to other
 * services (OAuth providers, the GitHub API).
 *
 * One call is one request: method, URL, header lines, an optional body; the
 * answer is the status and the body, read under a cap.  Any status is an
 * answer: the caller decides what a 4xx means.  Only a transport failure
 * (cannot connect, timeout, TLS, a body past the cap) is an error.
 *
 * A server on a Unix socket is named as nginx names one:
 * "http://unix:/run/shipoff/control/nginx.sock:/_shipoff/routes" (the
 * socket's path, then a colon, then the URI), so the nginx edges' control
 * server needs no TCP port that builds and apps could reach.
 *
 * Also here: application/x-www-form-urlencoded both ways, for request
 * bodies and query strings, ours and theirs.
 *
 * so_fetch_init() runs once per process before any thread (it calls
 * curl_global_init, which is not thread-safe).
 */

#ifndef SO_FETCH_H
#define SO_FETCH_H

#include <stddef.h>
#include <jansson.h>

#include "shipoff.h"

#define SO_FETCH_TIMEOUT_MS   10000      /* the whole request */
#define SO_FETCH_MAX_BODY     (1 << 20)  /* a larger answer is an error */
#define SO_FETCH_SOCK_LEN     108        /* sockaddr_un's sun_path */
#define SO_FETCH_URL_LEN      4096       /* a Unix socket URL, rewritten */

typedef struct {
    const char         *method;      /* "GET", "POST" */
    const char         *url;
    const char *const  *headers;     /* "Name: value" lines, NULL-ended; or
                                        NULL */
    const char         *body;        /* NULL: no body */
    size_t              body_len;
    const char         *content_type;  /* of body */
    long                timeout_ms;  /* 0: SO_FETCH_TIMEOUT_MS */
} so_fetch_req_t;

typedef struct {
    long     status;                 /* 200 ... */
    char    *body;                   /* NUL-terminated; so_fetch_res_free */
    size_t   len;
    char     errstr[SO_ERRLEN];      /* why it failed; never a body */
} so_fetch_res_t;

/* once per process, before the threads; 0 or SO_ERR */
int so_fetch_init(void);
void so_fetch_cleanup(void);

/*
 * Sends req and fills res (zeroed first).  0 when an answer arrived,
 * whatever its status; SO_EUNAVAIL when the server could not be reached in
 * time, SO_ETOOBIG for an answer over SO_FETCH_MAX_BODY, SO_EINVAL for a
 * malformed Unix socket URL, SO_ERR otherwise, with the reason in
 * res->errstr.  Redirects are not followed; only http
 * and https are spoken, http also over a Unix socket (so_fetch_unix_url).
 * res must be freed either way.
 */
int so_fetch_request(so_fetch_res_t *res, const so_fetch_req_t *req);

/*
 * Splits nginx's notation for a Unix socket, "http://unix:PATH:URI" (URI
 * from its '/' on, optional: "/" then), into the socket's PATH (absolute,
 * up to the first colon after "unix:") written to sock, and
 * "http://localhost" URI written to url; both NUL-terminated.  0;
 * SO_ENOTFOUND when in is not of that form (any other URL); SO_EINVAL for
 * a relative or empty PATH or a URI that does not start with '/';
 * SO_ETOOBIG when sock or url is too small.
 */
int so_fetch_unix_url(char *sock, size_t socklen, char *url, size_t urllen,
    const char *in);

/*
 * The answer's body as JSON: 0 with *out a new reference (an object or an
 * array), or SO_EINVAL (errstr says why).
 */
int so_fetch_json(json_t **out, so_fetch_res_t *res);

void so_fetch_res_free(so_fetch_res_t *res);

/*
 * Encodes pairs ("key", "value", ..., NULL) as "key=value&key=value", each
 * part percent-encoded (RFC 3986 unreserved characters stay, a space is
 * %20).  Writes a malloc()ed string to *out: 0 or SO_ERR.
 */
int so_fetch_form_encode(char **out, const char *const *pairs);

/*
 * Finds name in a form or query string ("a=1&b=x%20y") and writes its
 * decoded value, NUL-terminated, to out ('+' is a space).  The first
 * occurrence wins.  0, SO_ENOTFOUND, SO_ETOOBIG when it does not fit,
 * SO_EINVAL for a bad escape or a decoded NUL.
 */
int so_fetch_form_get(char *out, size_t outlen, const char *form,
    const char *name);

#endif /* SO_FETCH_H */
