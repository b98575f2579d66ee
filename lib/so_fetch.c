/*
 * so_fetch.c: JSON over HTTP with libcurl, one easy handle per request.
 *
 * A handle per request keeps threads apart at the price of a fresh
 * connection each time; the callers (an OAuth login, a webhook set-up)
 * make a few requests per user action, so reuse would buy nothing worth
 * its locking.  libcurl must not use signals in a threaded program
 * (CURLOPT_NOSIGNAL); the whole request has one deadline.
 *
 * A Unix socket URL in nginx's notation is rewritten before the request:
 * libcurl takes the socket as CURLOPT_UNIX_SOCKET_PATH and an ordinary URL
 * for the rest, whose host (localhost) only fills the Host header.
 *
 * The answer is read into memory under SO_FETCH_MAX_BODY: a larger one is
 * cut off by the write callback, so a hostile server cannot make us
 * allocate without bound.  Error strings name the URL without its query
 * and never quote a body, which may hold a token.
 */

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_fetch.h"


typedef struct {
    so_fetch_res_t  *res;
    size_t           cap;            /* bytes allocated */
    int              toobig;
} so_fetch_sink_t;


static size_t so_fetch_write(char *data, size_t size, size_t nmemb,
    void *arg);
static struct curl_slist *so_fetch_headers(const so_fetch_req_t *req);
static void so_fetch_options(CURL *curl, const so_fetch_req_t *req,
    const char *sock, const char *url, struct curl_slist *hdrs);
static void so_fetch_error(so_fetch_res_t *res, const char *url,
    const char *msg);
static int so_fetch_unreserved(unsigned char c);
static int so_fetch_decode(char *out, size_t outlen, const char *in,
    size_t inlen);


int
so_fetch_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? SO_OK
                                                             : SO_ERR;
}


void
so_fetch_cleanup(void)
{
    curl_global_cleanup();
}


int
so_fetch_request(so_fetch_res_t *res, const so_fetch_req_t *req)
{
    CURL               *curl;
    CURLcode            cc;
    struct curl_slist  *hdrs;
    so_fetch_sink_t     sink;
    const char         *url;
    char                cerr[CURL_ERROR_SIZE];
    char                sock[SO_FETCH_SOCK_LEN], unix_url[SO_FETCH_URL_LEN];
    int                 rc;

    memset(res, 0, sizeof(so_fetch_res_t));
    hdrs = NULL;
    curl = NULL;
    cerr[0] = '\0';

    rc = so_fetch_unix_url(sock, sizeof(sock), unix_url, sizeof(unix_url),
                           req->url);
    if (rc != SO_OK && rc != SO_ENOTFOUND) {
        so_fetch_error(res, req->url, rc == SO_ETOOBIG
                       ? "the socket path or the URL is too long"
                       : "not http://unix:/absolute/path.sock:/uri");
        rc = SO_EINVAL;
        goto done;
    }

    url = rc == SO_OK ? unix_url : req->url;
    rc = SO_ERR;

    curl = curl_easy_init();
    if (curl == NULL) {
        so_fetch_error(res, req->url, "curl_easy_init() failed");
        goto done;
    }

    hdrs = so_fetch_headers(req);
    if (hdrs == NULL) {
        goto nomem;
    }

    sink.res = res;
    sink.cap = 0;
    sink.toobig = 0;

    so_fetch_options(curl, req, url == unix_url ? sock : NULL, url, hdrs);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, so_fetch_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);

    cc = curl_easy_perform(curl);

    if (sink.toobig || cc == CURLE_FILESIZE_EXCEEDED) {
        so_fetch_error(res, req->url, "the answer is too large");
        rc = SO_ETOOBIG;
        goto done;
    }

    switch (cc) {
    case CURLE_OK:
        break;

    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        so_fetch_error(res, req->url,
                       cerr[0] ? cerr : curl_easy_strerror(cc));
        rc = SO_EUNAVAIL;
        goto done;

    default:
        so_fetch_error(res, req->url,
                       cerr[0] ? cerr : curl_easy_strerror(cc));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &res->status);

    if (res->body == NULL) {
        res->body = strdup("");
        if (res->body == NULL) {
            goto nomem;
        }
    }

    rc = SO_OK;
    goto done;

nomem:

    so_fetch_error(res, req->url, "out of memory");

done:

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return rc;
}


/* the request's headers, NULL when out of memory */

static struct curl_slist *
so_fetch_headers(const so_fetch_req_t *req)
{
    struct curl_slist  *hdrs, *next;
    const char *const  *h;
    char                line[256];

    /* an empty Expect: a 100-continue round trip buys nothing here */
    hdrs = curl_slist_append(NULL, "Expect:");
    if (hdrs == NULL) {
        return NULL;
    }

    if (req->body != NULL && req->content_type != NULL) {
        snprintf(line, sizeof(line), "Content-Type: %s", req->content_type);
        next = curl_slist_append(hdrs, line);
        if (next == NULL) {
            goto nomem;
        }
        hdrs = next;
    }

    for (h = req->headers; h != NULL && *h != NULL; h++) {
        next = curl_slist_append(hdrs, *h);
        if (next == NULL) {
            goto nomem;
        }
        hdrs = next;
    }

    return hdrs;

nomem:

    curl_slist_free_all(hdrs);
    return NULL;
}


/* what every request is: its method, body, limits; sock: NULL or unix: */

static void
so_fetch_options(CURL *curl, const so_fetch_req_t *req, const char *sock,
    const char *url, struct curl_slist *hdrs)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (sock != NULL) {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
    }
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     req->timeout_ms > 0 ? req->timeout_ms
                                         : (long) SO_FETCH_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) SO_FETCH_MAX_BODY);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "shipoff/" SHIPOFF_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);

    if (req->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) req->body_len);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
    }

    if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);

    } else if (strcmp(req->method, "POST") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    }
}


int
so_fetch_unix_url(char *sock, size_t socklen, char *url, size_t urllen,
    const char *in)
{
    static const char   prefix[] = "http://unix:";
    const char         *path, *uri;
    size_t              len;
    int                 n;

    if (strncmp(in, prefix, sizeof(prefix) - 1) != 0) {
        return SO_ENOTFOUND;
    }

    path = in + sizeof(prefix) - 1;
    len = strcspn(path, ":");
    uri = path[len] == ':' ? path + len + 1 : "/";

    if (len < 2 || path[0] != '/' || uri[0] != '/') {
        return SO_EINVAL;
    }

    if (len >= socklen) {
        return SO_ETOOBIG;
    }

    n = snprintf(url, urllen, "http://localhost%s", uri);
    if (n < 0 || (size_t) n >= urllen) {
        return SO_ETOOBIG;
    }

    memcpy(sock, path, len);
    sock[len] = '\0';

    return SO_OK;
}


int
so_fetch_json(json_t **out, so_fetch_res_t *res)
{
    json_t        *json;
    json_error_t   jerr;

    *out = NULL;

    json = json_loadb(res->body ? res->body : "", res->len, 0, &jerr);
    if (json == NULL) {
        snprintf(res->errstr, sizeof(res->errstr),
                 "HTTP %ld: the answer is not JSON (line %d column %d)",
                 res->status, jerr.line, jerr.column);
        return SO_EINVAL;
    }

    if (!json_is_object(json) && !json_is_array(json)) {
        json_decref(json);
        snprintf(res->errstr, sizeof(res->errstr),
                 "HTTP %ld: the answer is neither an object nor an array",
                 res->status);
        return SO_EINVAL;
    }

    *out = json;
    return SO_OK;
}


void
so_fetch_res_free(so_fetch_res_t *res)
{
    if (res == NULL || res->body == NULL) {
        return;
    }

    /* the body may be a token answer */
    explicit_bzero(res->body, res->len);
    free(res->body);
    res->body = NULL;
    res->len = 0;
}


int
so_fetch_form_encode(char **out, const char *const *pairs)
{
    static const char   hex[] = "0123456789ABCDEF";
    const char *const  *p;
    const unsigned char  *s;
    char                *buf, *w;
    size_t               len;
    size_t               i;

    *out = NULL;

    len = 1;
    for (p = pairs, i = 0; *p != NULL; p++, i++) {
        len += 1 + 3 * strlen(*p);       /* '=' or '&', worst case */
    }

    assert(i % 2 == 0);

    buf = malloc(len);
    if (buf == NULL) {
        return SO_ERR;
    }

    w = buf;
    for (p = pairs, i = 0; *p != NULL; p++, i++) {
        if (i > 0) {
            *w++ = (i % 2) ? '=' : '&';
        }

        for (s = (const unsigned char *) *p; *s != '\0'; s++) {
            if (so_fetch_unreserved(*s)) {
                *w++ = (char) *s;

            } else {
                *w++ = '%';
                *w++ = hex[*s >> 4];
                *w++ = hex[*s & 0x0f];
            }
        }
    }

    *w = '\0';
    *out = buf;
    return SO_OK;
}


int
so_fetch_form_get(char *out, size_t outlen, const char *form,
    const char *name)
{
    const char  *p, *amp, *eq;
    size_t       nlen;

    nlen = strlen(name);

    for (p = form; p != NULL && *p != '\0'; p = amp ? amp + 1 : NULL) {
        amp = strchr(p, '&');
        eq = memchr(p, '=', amp ? (size_t) (amp - p) : strlen(p));

        if (eq == NULL || (size_t) (eq - p) != nlen
            || memcmp(p, name, nlen) != 0)
        {
            continue;
        }

        eq++;
        return so_fetch_decode(out, outlen, eq,
                               amp ? (size_t) (amp - eq) : strlen(eq));
    }

    return SO_ENOTFOUND;
}


static size_t
so_fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
    so_fetch_sink_t  *sink = arg;
    so_fetch_res_t   *res = sink->res;
    size_t            n, want;
    char             *buf;

    n = size * nmemb;

    if (n > SO_FETCH_MAX_BODY - res->len) {
        sink->toobig = 1;
        return 0;
    }

    if (res->len + n + 1 > sink->cap) {
        want = sink->cap ? sink->cap : 4096;
        while (want < res->len + n + 1) {
            want *= 2;
        }

        buf = realloc(res->body, want);
        if (buf == NULL) {
            return 0;
        }

        res->body = buf;
        sink->cap = want;
    }

    memcpy(res->body + res->len, data, n);
    res->len += n;
    res->body[res->len] = '\0';

    return n;
}


/* "POST https://host/path: reason": never the query, which may be secret */
static void
so_fetch_error(so_fetch_res_t *res, const char *url, const char *msg)
{
    snprintf(res->errstr, sizeof(res->errstr), "%.*s: %s",
             (int) strcspn(url, "?#"), url, msg);
}


static int
so_fetch_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}


/* percent-decodes in[0..inlen) into out; '+' is a space (forms) */
static int
so_fetch_decode(char *out, size_t outlen, const char *in, size_t inlen)
{
    unsigned char  byte;
    size_t         i, o;
    char           hex[3];

    o = 0;
    hex[2] = '\0';

    for (i = 0; i < inlen; i++) {
        if (o + 1 >= outlen) {
            return SO_ETOOBIG;
        }

        if (in[i] == '+') {
            out[o++] = ' ';

        } else if (in[i] == '%') {
            if (inlen - i < 3) {
                return SO_EINVAL;
            }

            hex[0] = in[i + 1];
            hex[1] = in[i + 2];
            if (so_hex_decode(&byte, 1, hex) != SO_OK || byte == 0) {
                return SO_EINVAL;
            }

            out[o++] = (char) byte;
            i += 2;

        } else {
            out[o++] = in[i];
        }
    }

    if (outlen == 0) {
        return SO_ETOOBIG;
    }

    out[o] = '\0';
    return SO_OK;
}
