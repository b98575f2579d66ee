/*
 * so_req.c: reading a FastCGI request and writing JSON answers.
 *
 * nginx buffers the request body and always sends CONTENT_LENGTH, so the
 * cap is checked before a byte is read; reading stops one byte past the
 * cap in case the length lied.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_req.h"


const char *
so_req_param(const so_req_t *r, const char *name)
{
    return FCGX_GetParam(name, r->fcgi->envp);
}


int
so_req_read_body(so_req_t *r, char **out, size_t *len)
{
    return so_req_read_body_max(r, r->cfg->max_body_size, out, len);
}


int
so_req_read_body_max(so_req_t *r, size_t cap, char **out, size_t *len)
{
    const char  *cl;
    char        *buf, *end;
    size_t       want, got;
    long long    n;
    int          rc;

    *out = NULL;
    *len = 0;

    want = 0;
    cl = so_req_param(r, "CONTENT_LENGTH");
    if (cl != NULL && *cl != '\0') {
        n = strtoll(cl, &end, 10);
        if (*end != '\0' || n < 0) {
            return SO_EINVAL;
        }
        if ((unsigned long long) n > cap) {
            return SO_ETOOBIG;
        }
        want = (size_t) n;
    }

    buf = malloc(want + 2);
    if (buf == NULL) {
        return SO_ERR;
    }

    got = 0;
    while (got < want + 1) {
        rc = FCGX_GetStr(buf + got, (int) (want + 1 - got), r->fcgi->in);
        if (rc <= 0) {
            break;
        }
        got += (size_t) rc;
    }

    if (got > want) {
        free(buf);
        return SO_ETOOBIG;
    }

    if (got < want) {
        free(buf);
        return SO_ERR;
    }

    buf[got] = '\0';
    *out = buf;
    *len = got;
    return SO_OK;
}


int
so_req_read_raw(so_req_t *r, size_t cap, char **out, size_t *len)
{
    char  msg[SO_ERRLEN];
    int   rc;

    rc = so_req_read_body_max(r, cap, out, len);

    if (rc == SO_ETOOBIG) {
        snprintf(msg, sizeof(msg), "the body is larger than %zu bytes", cap);
        so_req_error(r, 413, "too_large", msg, NULL);

    } else if (rc != SO_OK) {
        so_req_error(r, 400, "bad_request", "the body could not be read",
                     NULL);
    }

    return rc;
}


int
so_req_read_json(so_req_t *r, json_t **out)
{
    const char    *ct;
    char          *body;
    size_t         len;
    int            rc;
    json_t        *json;
    json_error_t   jerr;
    char           msg[SO_ERRLEN];

    *out = NULL;

    ct = so_req_param(r, "CONTENT_TYPE");
    if (ct != NULL && *ct != '\0'
        && strncasecmp(ct, "application/json", 16) != 0)
    {
        so_req_error(r, 415, "unsupported_media_type",
                     "the body must be application/json", NULL);
        return SO_EINVAL;
    }

    rc = so_req_read_raw(r, r->cfg->max_body_size, &body, &len);
    if (rc != SO_OK) {
        return rc;
    }

    json = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);

    if (json == NULL) {
        snprintf(msg, sizeof(msg), "malformed JSON at line %d column %d: %s",
                 jerr.line, jerr.column, jerr.text);
        so_req_error(r, 400, "malformed_json", msg, NULL);
        return SO_EINVAL;
    }

    if (!json_is_object(json)) {
        json_decref(json);
        so_req_error(r, 400, "malformed_json",
                     "the body must be a JSON object", NULL);
        return SO_EINVAL;
    }

    *out = json;
    return SO_OK;
}


void
so_req_pg_error(so_req_t *r, const char *what)
{
    if (so_pg_failed(r->pg, r->path, "%s", what) == SO_EUNAVAIL) {
        so_req_error(r, 503, "unavailable", "the database is unavailable",
                     NULL);
        return;
    }

    so_req_error(r, 500, "internal", "internal error", NULL);
}


PGresult *
so_req_query(so_req_t *r, const char *name, const char *sql, int nparams,
    const char *const *params)
{
    PGresult  *res;

    res = so_pg_query(r->pg, name, sql, nparams, params);
    if (res == NULL) {
        so_req_pg_error(r, name);
    }

    return res;
}


void
so_req_fail(so_req_t *r, int rc)
{
    if (rc == SO_EUNAVAIL) {
        so_req_error(r, 503, "unavailable", "a server Shipoff needs is "
                     "unavailable", NULL);
        return;
    }

    so_req_error(r, 500, "internal", "internal error", NULL);
}


const char *
so_req_reason(int status)
{
    static const struct {
        int          status;
        const char  *reason;
    } reasons[] = {
        { 200, "OK" },
        { 201, "Created" },
        { 202, "Accepted" },
        { 204, "No Content" },
        { 302, "Found" },
        { 400, "Bad Request" },
        { 401, "Unauthorized" },
        { 403, "Forbidden" },
        { 404, "Not Found" },
        { 405, "Method Not Allowed" },
        { 409, "Conflict" },
        { 410, "Gone" },
        { 413, "Payload Too Large" },
        { 415, "Unsupported Media Type" },
        { 422, "Unprocessable Entity" },
        { 429, "Too Many Requests" },
        { 500, "Internal Server Error" },
        { 502, "Bad Gateway" },
        { 503, "Service Unavailable" },
    };
    size_t  i;

    for (i = 0; i < so_nelems(reasons); i++) {
        if (reasons[i].status == status) {
            return reasons[i].reason;
        }
    }

    return "Unknown";
}


int
so_req_cookie(const so_req_t *r, const char *name, char *out, size_t len)
{
    const char  *c, *v;
    size_t       n, vlen;

    out[0] = '\0';
    c = so_req_param(r, "HTTP_COOKIE");
    n = strlen(name);

    /* "a=1; b=2": pairs split by ';', spaces around them ignored */
    for ( /* void */ ; c != NULL && *c != '\0'; c += strcspn(c, ";")) {
        c += strspn(c, "; ");

        if (strncmp(c, name, n) != 0 || c[n] != '=') {
            continue;
        }

        v = c + n + 1;
        vlen = strcspn(v, "; ");

        if (vlen == 0) {
            return SO_ENOTFOUND;
        }

        if (vlen >= len) {
            return SO_ETOOBIG;
        }

        memcpy(out, v, vlen);
        out[vlen] = '\0';
        return SO_OK;
    }

    return SO_ENOTFOUND;
}


static int
so_req_header_ok(const char *s, size_t size)
{
    size_t  n;

    for (n = 0; s[n] != '\0'; n++) {
        if ((unsigned char) s[n] < 0x20 || s[n] == 0x7f) {
            return 0;
        }
    }

    return n > 0 && n < size;
}


void
so_req_header(so_req_t *r, const char *name, const char *value)
{
    size_t  i;

    if (r->nheaders == SO_REQ_MAX_HEADERS
        || !so_req_header_ok(name, sizeof(r->headers[0].name))
        || !so_req_header_ok(value, sizeof(r->headers[0].value)))
    {
        so_log_error(r->path, "a response header was dropped");
        return;
    }

    i = r->nheaders++;
    snprintf(r->headers[i].name, sizeof(r->headers[i].name), "%s", name);
    snprintf(r->headers[i].value, sizeof(r->headers[i].value), "%s", value);
}


/* the headers of so_req_header(), before the status line */
static void
so_req_headers(so_req_t *r)
{
    size_t  i;

    for (i = 0; i < r->nheaders; i++) {
        FCGX_FPrintF(r->fcgi->out, "%s: %s\r\n", r->headers[i].name,
                     r->headers[i].value);
    }
}


void
so_req_json(so_req_t *r, int status, json_t *body)
{
    char  *text;

    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);

    if (text == NULL) {
        so_log_error(r->path, "json_dumps() failed");
        status = 500;
    }

    so_req_headers(r);

    FCGX_FPrintF(r->fcgi->out,
                 "Status: %d %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Cache-Control: no-store\r\n"
                 "\r\n"
                 "%s\n",
                 status, so_req_reason(status),
                 text ? text : "{\"error\":{\"code\":\"internal\","
                               "\"message\":\"internal error\"}}");
    free(text);
    r->responded = 1;
}


void
so_req_text(so_req_t *r, int status, const char *type, const char *text)
{
    so_req_headers(r);

    FCGX_FPrintF(r->fcgi->out,
                 "Status: %d %s\r\n"
                 "Content-Type: %s\r\n"
                 "Cache-Control: no-store\r\n"
                 "\r\n", status, so_req_reason(status), type);
    FCGX_PutStr(text, (int) strlen(text), r->fcgi->out);
    r->responded = 1;
}


void
so_req_empty(so_req_t *r, int status)
{
    so_req_headers(r);

    FCGX_FPrintF(r->fcgi->out, "Status: %d %s\r\n\r\n", status,
                 so_req_reason(status));
    r->responded = 1;
}


void
so_req_error(so_req_t *r, int status, const char *code,
    const char *message, const char *field)
{
    json_t  *err;
    char     location[256];

    err = json_pack("{s:s, s:s}", "code", code, "message", message);
    if (err != NULL && field != NULL) {
        json_object_set_new(err, "field", json_string(field));
    }

    so_log_info(r->path, "%s %s: %d %s: %s", r->method, r->path, status,
                code, message);

    if (r->error_page != NULL) {
        json_decref(err);
        snprintf(location, sizeof(location), "%s?error=%s", r->error_page,
                 code);
        so_req_redirect(r, location);
        return;
    }

    so_req_json(r, status, json_pack("{s:o}", "error", err));
}


void
so_req_redirect(so_req_t *r, const char *location)
{
    so_req_headers(r);

    FCGX_FPrintF(r->fcgi->out,
                 "Status: 303 See Other\r\n"
                 "Location: %s\r\n"
                 "Cache-Control: no-store\r\n"
                 "\r\n", location);
    r->responded = 1;
}
