/*
 * http.c: requests to the Shipoff API, with the caller's credential.
 *
 * The credential is $SHIPOFF_TOKEN, else the personal token of the
 * configuration file, else its access token.  An access token refused
 * with 401 is refreshed once, transparently, with the stored refresh token
 * (single use: the new pair is saved at once) and the request is sent
 * again.  Whatever goes wrong becomes one line on stderr,
 * "shipoff: <message> (<code>)", never a stack of HTTP codes.
 */

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli.h"


#define CLI_MAX_BODY  (16 * 1024 * 1024)

typedef enum {
    CLI_CRED_NONE = 0,
    CLI_CRED_ENV,
    CLI_CRED_TOKEN,
    CLI_CRED_SESSION
} cli_cred_e;


static size_t cli_write(char *ptr, size_t size, size_t n, void *data);
static const char *cli_credential(cli_t *cli, cli_cred_e *kind);
static int cli_request(cli_t *cli, const char *method, const char *path,
    json_t *body, const char *token, long *status, json_t **out);
static int cli_refresh(cli_t *cli);


/*
 * Appends n bytes to b, kept NUL-terminated: 0, or -1 when it would grow
 * past max bytes or memory ran out.
 */
int
cli_buf_add(cli_buf_t *b, const char *ptr, size_t n, size_t max)
{
    char  *p;

    if (b->len + n > max) {
        return -1;
    }

    p = realloc(b->data, b->len + n + 1);
    if (p == NULL) {
        return -1;
    }

    memcpy(p + b->len, ptr, n);
    b->data = p;
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}


static size_t
cli_write(char *ptr, size_t size, size_t n, void *data)
{
    size *= n;
    return cli_buf_add(data, ptr, size, CLI_MAX_BODY) == 0 ? size : 0;
}


static const char *
cli_credential(cli_t *cli, cli_cred_e *kind)
{
    const char  *t;

    if (cli->env_token != NULL) {
        *kind = CLI_CRED_ENV;
        return cli->env_token;
    }

    t = cli_config_get(cli, "token");
    if (t != NULL) {
        *kind = CLI_CRED_TOKEN;
        return t;
    }

    t = cli_config_get(cli, "access_token");
    *kind = t ? CLI_CRED_SESSION : CLI_CRED_NONE;
    return t;
}


/*
 * One request.  0 when the server answered, whatever the status (*out is
 * its JSON body, or NULL); -1 with the reason printed when it did not.
 */
static int
cli_request(cli_t *cli, const char *method, const char *path, json_t *body,
    const char *token, long *status, json_t **out)
{
    int                 rc;
    CURL               *curl;
    CURLcode            crc;
    cli_buf_t           buf = { NULL, 0 };
    char                url[4096], auth[4096];
    char               *payload;
    struct curl_slist  *hdrs, *h;

    *out = NULL;
    *status = 0;
    rc = -1;
    hdrs = NULL;
    payload = NULL;

    curl = curl_easy_init();
    if (curl == NULL) {
        fprintf(stderr, "shipoff: cannot initialise libcurl\n");
        goto done;
    }

    snprintf(url, sizeof(url), "%s%s", cli->api, path);

    h = curl_slist_append(hdrs, "Accept: application/json");
    if (h == NULL) {
        goto nomem;
    }
    hdrs = h;

    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(hdrs, auth);
        if (h == NULL) {
            goto nomem;
        }
        hdrs = h;
    }

    if (body != NULL) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL) {
            goto nomem;
        }
        h = curl_slist_append(hdrs, "Content-Type: application/json");

    } else if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        /* an empty body: no form content type that would be a 415 */
        h = curl_slist_append(hdrs, "Content-Type:");

    } else {
        h = hdrs;
    }

    if (h == NULL) {
        goto nomem;
    }
    hdrs = h;

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, cli_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "shipoff/" SHIPOFF_VERSION);

    if (strcmp(method, "GET") != 0 && strcmp(method, "DELETE") != 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload ? payload : "");
    }

    crc = curl_easy_perform(curl);
    if (crc != CURLE_OK) {
        fprintf(stderr, "shipoff: cannot reach %s: %s\n", cli->api,
                curl_easy_strerror(crc));
        goto done;
    }

    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);

    if (buf.len > 0) {
        *out = json_loadb(buf.data, buf.len, 0, NULL);
    }

    rc = 0;
    goto done;

nomem:

    fprintf(stderr, "shipoff: out of memory\n");

done:

    free(payload);
    free(buf.data);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return rc;
}


/* trades the stored refresh token for a new pair, saved at once */
static int
cli_refresh(cli_t *cli)
{
    int          rc;
    long         status;
    json_t      *body, *res;
    const char  *refresh, *access, *next;

    rc = -1;
    res = NULL;
    body = NULL;

    refresh = cli_config_get(cli, "refresh_token");
    if (refresh == NULL) {
        goto done;
    }

    body = json_pack("{s:s}", "refresh_token", refresh);
    if (body == NULL
        || cli_request(cli, "POST", "/auth/v1/refresh", body, NULL, &status,
                       &res) != 0)
    {
        goto done;
    }

    access = json_string_value(json_object_get(res, "access_token"));
    next = json_string_value(json_object_get(res, "refresh_token"));

    if (status != 200 || access == NULL || next == NULL) {
        goto done;
    }

    if (cli_config_set(cli, "access_token", access) != 0
        || cli_config_set(cli, "refresh_token", next) != 0
        || cli_config_save(cli) != 0)
    {
        goto done;
    }

    rc = 0;

done:

    json_decref(body);
    json_decref(res);
    return rc;
}


int
cli_call(cli_t *cli, const char *method, const char *path, json_t *body,
    long *status, json_t **out)
{
    cli_cred_e   kind;
    const char  *token;

    /* /auth/ (login, refresh) takes no bearer and is never refreshed */
    token = NULL;
    kind = CLI_CRED_NONE;
    if (strncmp(path, "/auth/", 6) != 0) {
        token = cli_credential(cli, &kind);
    }

    if (cli_request(cli, method, path, body, token, status, out) != 0) {
        return -1;
    }

    if (*status == 401 && kind == CLI_CRED_SESSION && cli_refresh(cli) == 0) {
        json_decref(*out);
        token = cli_credential(cli, &kind);
        return cli_request(cli, method, path, body, token, status, out);
    }

    return 0;
}


/* the credential cli_call() sends, for a request made elsewhere */
const char *
cli_token(cli_t *cli)
{
    cli_cred_e  kind;

    return cli_credential(cli, &kind);
}


void
cli_print_error(cli_t *cli, long status, json_t *res)
{
    cli_cred_e   kind;
    json_t      *err;
    const char  *code, *message;

    err = json_object_get(res, "error");
    code = json_string_value(json_object_get(err, "code"));
    message = json_string_value(json_object_get(err, "message"));

    if (status == 401 && code != NULL && strcmp(code, "unauthorized") == 0) {
        cli_credential(cli, &kind);

        switch (kind) {
        case CLI_CRED_NONE:
            message = "not logged in: run \"shipoff login\" "
                      "(or set SHIPOFF_TOKEN)";
            break;
        case CLI_CRED_ENV:
            message = "SHIPOFF_TOKEN was refused: it is wrong, expired or "
                      "revoked";
            break;
        default:
            message = "the stored credentials were refused: run "
                      "\"shipoff login\" again";
        }
    }

    if (message != NULL && code != NULL) {
        fprintf(stderr, "shipoff: %s (%s)\n", message, code);

    } else {
        fprintf(stderr, "shipoff: the server answered HTTP %ld without "
                "saying why\n", status);
    }
}


/* a 2xx answer: 0 with its body in *out (may be NULL); else -1, printed */
int
cli_api(cli_t *cli, const char *method, const char *path, json_t *body,
    json_t **out)
{
    long     status;
    json_t  *res;

    *out = NULL;

    if (cli_call(cli, method, path, body, &status, &res) != 0) {
        return -1;
    }

    if (status < 200 || status > 299) {
        cli_print_error(cli, status, res);
        json_decref(res);
        return -1;
    }

    *out = res;
    return 0;
}


/*
 * cli_api() with a body of its own, freed here: NULL when json_pack()
 * refused what (the arguments: "the name") as not UTF-8.
 */
int
cli_send(cli_t *cli, const char *method, const char *path, json_t *body,
    const char *what, json_t **out)
{
    int  rc;

    *out = NULL;

    if (body == NULL) {
        fprintf(stderr, "shipoff: %s is not valid UTF-8\n", what);
        return -1;
    }

    rc = cli_api(cli, method, path, body, out);
    json_decref(body);
    return rc;
}


/* every page of a list ({"data": [...], "next_cursor"}) as one array */
int
cli_list(cli_t *cli, const char *path, json_t **out)
{
    int          rc;
    char         url[2048];
    char        *cursor;
    json_t      *all, *page;
    const char  *next;

    rc = -1;
    cursor = NULL;
    page = NULL;
    *out = NULL;

    all = json_array();
    if (all == NULL) {
        goto done;
    }

    for ( ;; ) {
        snprintf(url, sizeof(url), "%s%climit=100%s%s", path,
                 strchr(path, '?') ? '&' : '?', cursor ? "&cursor=" : "",
                 cursor ? cursor : "");

        if (cli_api(cli, "GET", url, NULL, &page) != 0) {
            goto done;
        }

        if (json_array_extend(all, json_object_get(page, "data")) != 0) {
            fprintf(stderr, "shipoff: the server answered a list without "
                    "data\n");
            goto done;
        }

        next = json_string_value(json_object_get(page, "next_cursor"));
        if (next == NULL || json_array_size(all) >= CLI_LIST_MAX) {
            break;
        }

        curl_free(cursor);
        cursor = curl_easy_escape(NULL, next, 0);
        if (cursor == NULL) {
            goto done;
        }

        json_decref(page);
        page = NULL;
    }

    *out = all;
    all = NULL;
    rc = 0;

done:

    curl_free(cursor);
    json_decref(page);
    json_decref(all);
    return rc;
}


/* s %-encoded for a URL; the caller frees it with free() */
char *
cli_escape(const char *s)
{
    char  *e, *copy;

    e = curl_easy_escape(NULL, s, 0);
    if (e == NULL) {
        return NULL;
    }

    copy = strdup(e);
    curl_free(e);
    return copy;
}
