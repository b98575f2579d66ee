/*
 * oauth.c: signing in with GitHub or Google (OAuth 2.0 authorization code).
 *
 *   GET /auth/v1/oauth/:provider/start     302 to the provider
 *   GET /auth/v1/oauth/:provider/callback  ?code=&state= -> our token pair
 *
 * start makes an unguessable single-use state, stores its SHA-256 in
 * oauth_states with an expiry (and, for Google, a PKCE code_verifier that
 * never leaves the server: only its S256 challenge does), sets it in a
 * cookie (HttpOnly, SameSite=Lax, Path=/auth/, Secure under https) and
 * redirects.  callback first compares the state with that cookie in
 * constant time: a callback in a browser that did not start the login (a
 * victim sent an attacker's code and state, to sign them into the
 * attacker's account) is refused, 403 state_mismatch.  Then it consumes
 * the state in one DELETE ... RETURNING, so a state works once; trades the
 * code for the provider's access token, reads the user's verified email
 * and finds or makes the account: by the identity (provider, subject),
 * else by the email when that account's email is verified (linking it),
 * else a new one without a password, its email verified.  An account
 * whose email is not verified is never entered this way (anyone can sign
 * up with any address): 409 account_exists_unverified, and nothing is
 * made.  The provider's token is kept sealed (so_oauth.h) for later calls
 * on the user's behalf.
 *
 * A browser (one that asks for text/html: the provider sent the user's
 * browser here) lands back in the console: 303 to /signin?oauth=<provider>
 * with the new session's refresh token in a cookie only
 * POST /auth/v1/oauth/finish can read (HttpOnly, SameSite=Lax, its own
 * path, 60 s); finish spends it and answers the token pair as a login
 * does, so the token is never in a URL, the history or a log.  Its errors
 * are 303 to /signin?error=<code>.  Any other client gets the JSON pair.
 *
 * Nothing here logs a code, a state or a token: the lines name the
 * provider, the user and what failed.  No database transaction is open
 * while we wait on a provider.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_crypto.h"
#include "so_fetch.h"
#include "so_log.h"
#include "so_oauth.h"

#include "auth.h"


#define AUTH_OAUTH_TOKEN_BYTES  32          /* state and PKCE verifier */
#define AUTH_OAUTH_TOKEN_LEN    48          /* their base64url, with NUL */
#define AUTH_OAUTH_CODE_MAX     512
#define AUTH_OAUTH_COOKIE       "shipoff_oauth_state"
#define AUTH_OAUTH_LOGIN        "shipoff_oauth_login"
#define AUTH_OAUTH_LOGIN_PATH   "/auth/v1/oauth/finish"
#define AUTH_OAUTH_LOGIN_TTL    60

typedef struct {
    const char  *name;                      /* "github", in URLs and rows */
    const char  *authorize_url;
    const char  *token_url;
    const char  *client_id;
    const char  *client_secret;
    const char  *scope;
    int          pkce;
} auth_oauth_provider_t;

typedef struct {
    char  subject[64];                      /* the provider's user id */
    char  login[128];                       /* GitHub login; "" for Google */
    char  email[SO_EMAIL_MAX_LEN + 1];      /* normalised, verified */
    char  name[256];
} auth_oauth_profile_t;


static int auth_oauth_provider(so_req_t *r, auth_oauth_provider_t *p);
static int auth_oauth_browser(so_req_t *r);
static const char *auth_oauth_secure(so_req_t *r);
static void auth_oauth_land(so_req_t *r, const char *provider,
    const char *user_id);
static int auth_oauth_redirect_uri(char *out, size_t len, so_req_t *r,
    const char *provider);
static void auth_oauth_redirect(so_req_t *r, const char *location,
    const char *cookie);
static int auth_oauth_bound(so_req_t *r, const char *provider,
    const char *state);
static int auth_oauth_consume_state(so_req_t *r, const char *provider,
    const char *state, char *verifier, size_t vlen);
static int auth_oauth_exchange(so_req_t *r, const auth_oauth_provider_t *p,
    const char *code, const char *verifier, char **token);
static int auth_oauth_get(so_req_t *r, const char *provider, const char *url,
    const char *token, json_t **out);
static int auth_oauth_github_profile(so_req_t *r, const char *token,
    auth_oauth_profile_t *pr);
static int auth_oauth_google_profile(so_req_t *r, const char *token,
    auth_oauth_profile_t *pr);
static int auth_oauth_email(so_req_t *r, const char *provider,
    const char *email, auth_oauth_profile_t *pr);
static int auth_oauth_account(so_req_t *r, const char *provider,
    const auth_oauth_profile_t *pr, const char *token, char *user_id,
    size_t len);
static int auth_oauth_account_tx(so_req_t *r, const char *provider,
    const auth_oauth_profile_t *pr, const char *token, char *user_id,
    size_t len);
static void auth_oauth_provider_error(so_req_t *r, const char *provider,
    const char *what, const char *detail);
static void auth_oauth_copy(char *out, size_t len, json_t *v);


void
auth_oauth_start(so_req_t *r)
{
    auth_oauth_provider_t   p;
    PGresult               *res;
    char                    state[AUTH_OAUTH_TOKEN_LEN];
    char                    verifier[AUTH_OAUTH_TOKEN_LEN];
    char                    hash[SO_SHA256_HEXLEN];
    unsigned char           digest[SO_SHA256_LEN];
    char                    challenge[AUTH_OAUTH_TOKEN_LEN];
    char                    redirect[512], ttl[16], cookie[256];
    char                   *query, *location;
    const char             *pairs[17];
    size_t                  n;

    res = NULL;
    query = NULL;
    location = NULL;
    verifier[0] = '\0';

    if (auth_oauth_provider(r, &p) != SO_OK
        || auth_oauth_redirect_uri(redirect, sizeof(redirect), r, p.name)
           != SO_OK)
    {
        goto done;
    }

    if (so_secret_token(state, sizeof(state), "", AUTH_OAUTH_TOKEN_BYTES,
                        hash) != SO_OK
        || (p.pkce && so_random_token(verifier, sizeof(verifier),
                                      AUTH_OAUTH_TOKEN_BYTES) != SO_OK))
    {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    snprintf(ttl, sizeof(ttl), "%d", r->cfg->oauth_state_ttl);

    /* states nobody came back for are swept by the next login */
    res = so_pg_query(r->pg, "auth_oauth_state_new",
                      "WITH swept AS ("
                      "DELETE FROM oauth_states WHERE expires_at < now())"
                      " INSERT INTO oauth_states"
                      " (state_hash, provider, code_verifier, expires_at)"
                      " VALUES ($1, $2, $3,"
                      " now() + make_interval(secs => $4::int))",
                      SO_PG_PARAMS(hash, p.name, p.pkce ? verifier : NULL,
                                   ttl));
    if (res == NULL) {
        so_req_pg_error(r, "storing the state");
        goto done;
    }

    n = 0;
    pairs[n++] = "response_type";
    pairs[n++] = "code";
    pairs[n++] = "client_id";
    pairs[n++] = p.client_id;
    pairs[n++] = "redirect_uri";
    pairs[n++] = redirect;
    pairs[n++] = "scope";
    pairs[n++] = p.scope;
    pairs[n++] = "state";
    pairs[n++] = state;

    if (p.pkce) {
        so_sha256_hex(hash, verifier, strlen(verifier));
        if (so_hex_decode(digest, sizeof(digest), hash) != SO_OK) {
            so_req_error(r, 500, "internal", "internal error", NULL);
            goto done;
        }
        so_b64url_encode(challenge, digest, sizeof(digest));

        pairs[n++] = "code_challenge";
        pairs[n++] = challenge;
        pairs[n++] = "code_challenge_method";
        pairs[n++] = "S256";
    }

    pairs[n] = NULL;

    if (so_fetch_form_encode(&query, pairs) != SO_OK
        || asprintf(&location, "%s%c%s", p.authorize_url,
                    strchr(p.authorize_url, '?') ? '&' : '?', query) < 0)
    {
        location = NULL;
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    snprintf(cookie, sizeof(cookie), AUTH_OAUTH_COOKIE "=%s; Path=/auth/;"
             " Max-Age=%s; HttpOnly; SameSite=Lax%s", state, ttl,
             auth_oauth_secure(r));

    auth_oauth_redirect(r, location, cookie);

done:

    so_wipe(cookie, sizeof(cookie));
    so_wipe(verifier, sizeof(verifier));
    PQclear(res);
    free(query);
    free(location);
}


void
auth_oauth_callback(so_req_t *r)
{
    auth_oauth_provider_t   p;
    auth_oauth_profile_t    pr;
    char                    state[AUTH_OAUTH_TOKEN_LEN];
    char                    verifier[AUTH_OAUTH_TOKEN_LEN];
    char                    code[AUTH_OAUTH_CODE_MAX];
    char                    error[64], user_id[24];
    char                   *token;
    int                     rc, browser;

    token = NULL;
    verifier[0] = '\0';
    code[0] = '\0';

    browser = auth_oauth_browser(r);
    if (browser) {
        r->error_page = "/signin";
    }

    if (auth_oauth_provider(r, &p) != SO_OK) {
        goto done;
    }

    /* whatever the outcome, the browser's state is spent */
    so_req_header(r, "Set-Cookie", AUTH_OAUTH_COOKIE "=; Path=/auth/;"
                  " Max-Age=0; HttpOnly; SameSite=Lax");

    if (so_fetch_form_get(state, sizeof(state), r->query, "state") != SO_OK)
    {
        so_req_error(r, 400, "invalid_state",
                     "the login state is missing, unknown, used or expired",
                     "state");
        goto done;
    }

    if (auth_oauth_bound(r, p.name, state) != SO_OK) {
        goto done;
    }

    /* the user said no (or the provider refused): the state is spent */
    if (so_fetch_form_get(error, sizeof(error), r->query, "error")
        != SO_ENOTFOUND)
    {
        if (auth_oauth_consume_state(r, p.name, state, verifier,
                                     sizeof(verifier)) == SO_OK)
        {
            so_log_info(r->path, "provider=%s: authorization refused",
                        p.name);
            so_req_error(r, 403, "oauth_denied",
                         "the provider did not authorize the login", NULL);
        }
        goto done;
    }

    if (so_fetch_form_get(code, sizeof(code), r->query, "code") != SO_OK) {
        so_req_error(r, 400, "validation_failed",
                     "the authorization code is missing or malformed",
                     "code");
        goto done;
    }

    if (auth_oauth_consume_state(r, p.name, state, verifier,
                                 sizeof(verifier)) != SO_OK
        || auth_oauth_exchange(r, &p, code, p.pkce ? verifier : NULL,
                               &token) != SO_OK)
    {
        goto done;
    }

    memset(&pr, 0, sizeof(pr));

    rc = p.pkce ? auth_oauth_google_profile(r, token, &pr)
                : auth_oauth_github_profile(r, token, &pr);

    if (rc != SO_OK
        || auth_oauth_account(r, p.name, &pr, token, user_id,
                              sizeof(user_id)) != SO_OK)
    {
        goto done;
    }

    if (browser) {
        auth_oauth_land(r, p.name, user_id);
    } else {
        auth_session_respond(r, 200, user_id, NULL);
    }

done:

    so_wipe(code, sizeof(code));
    so_wipe(verifier, sizeof(verifier));

    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
    }
}


/*
 * POST /auth/v1/oauth/finish: the console, on /signin?oauth=..., trades
 * the login cookie the callback set for the token pair.  The cookie is
 * cleared whatever happens, and its token is spent (a second finish, or a
 * copy of the cookie used later, is 401 and revokes the session).
 */
void
auth_oauth_finish(so_req_t *r)
{
    char  token[AUTH_TOKEN_LEN], hash[SO_SHA256_HEXLEN];

    so_req_header(r, "Set-Cookie", AUTH_OAUTH_LOGIN "=; Path="
                  AUTH_OAUTH_LOGIN_PATH "; Max-Age=0; HttpOnly;"
                  " SameSite=Lax");

    if (so_req_cookie(r, AUTH_OAUTH_LOGIN, token, sizeof(token)) != SO_OK) {
        so_req_error(r, 401, "invalid_token",
                     "no login to finish: sign in again", NULL);
        return;
    }

    so_sha256_hex(hash, token, strlen(token));
    so_wipe(token, sizeof(token));

    auth_session_spend(r, hash);
}


/* a browser navigating, not an API client: it asks for HTML */
static int
auth_oauth_browser(so_req_t *r)
{
    const char  *accept;

    accept = so_req_param(r, "HTTP_ACCEPT");

    return accept != NULL && strstr(accept, "text/html") != NULL;
}


/* the cookies' Secure attribute when browsers reach us over https */
static const char *
auth_oauth_secure(so_req_t *r)
{
    return strncmp(r->cfg->public_url, "https://", 8) == 0 ? "; Secure" : "";
}


/*
 * The callback's answer to a browser: a new session whose refresh token
 * waits in a cookie for POST /auth/v1/oauth/finish, and 303 to the
 * console's sign-in page, which finishes the login.
 */
static void
auth_oauth_land(so_req_t *r, const char *provider, const char *user_id)
{
    auth_session_t  s;
    char            cookie[192], location[64];

    if (auth_session_make(r, user_id, NULL, &s) != SO_OK) {
        return;
    }

    snprintf(cookie, sizeof(cookie), AUTH_OAUTH_LOGIN "=%s; Path="
             AUTH_OAUTH_LOGIN_PATH "; Max-Age=%d; HttpOnly; SameSite=Lax%s",
             s.refresh, AUTH_OAUTH_LOGIN_TTL, auth_oauth_secure(r));
    so_req_header(r, "Set-Cookie", cookie);
    so_wipe(cookie, sizeof(cookie));
    auth_session_free(&s);

    snprintf(location, sizeof(location), "/signin?oauth=%s", provider);
    so_log_info(r->path, "provider=%s user=%s: signed in, sent to the"
                " console", provider, user_id);
    so_req_redirect(r, location);
}


/* a provider is usable when both its client id and secret are set */
static int
auth_oauth_configured(const char *client_id, const char *client_secret)
{
    return client_id != NULL && client_id[0] != '\0'
           && client_secret != NULL && client_secret[0] != '\0';
}


/*
 * GET /auth/v1/providers: which sign-in buttons the console shows,
 * {"github": bool, "google": bool}.  Public, like the sign-in page; it
 * says only what the provider's own authorize page would show anyway.
 */
void
auth_oauth_providers(so_req_t *r)
{
    const so_config_t  *cfg = r->cfg;

    so_req_json(r, 200, json_pack("{s:b, s:b}",
                "github", auth_oauth_configured(cfg->github_client_id,
                                                cfg->github_client_secret),
                "google", auth_oauth_configured(cfg->google_client_id,
                                                cfg->google_client_secret)));
}


/*
 * The provider named by the route, from the configuration.  Answers 404
 * for an unknown or unconfigured one.
 */
static int
auth_oauth_provider(so_req_t *r, auth_oauth_provider_t *p)
{
    const so_config_t  *cfg = r->cfg;
    const char         *name;

    name = r->args[0];
    memset(p, 0, sizeof(auth_oauth_provider_t));

    if (strcmp(name, "github") == 0) {
        p->name = "github";
        p->authorize_url = cfg->github_authorize_url;
        p->token_url = cfg->github_token_url;
        p->client_id = cfg->github_client_id;
        p->client_secret = cfg->github_client_secret;
        p->scope = "read:user user:email repo admin:repo_hook";

    } else if (strcmp(name, "google") == 0) {
        p->name = "google";
        p->authorize_url = cfg->google_authorize_url;
        p->token_url = cfg->google_token_url;
        p->client_id = cfg->google_client_id;
        p->client_secret = cfg->google_client_secret;
        p->scope = "openid email profile";
        p->pkce = 1;

    } else {
        so_req_error(r, 404, "not_found", "no such OAuth provider", NULL);
        return SO_ENOTFOUND;
    }

    if (!auth_oauth_configured(p->client_id, p->client_secret)) {
        so_req_error(r, 404, "provider_not_configured",
                     "signing in with this provider is not configured",
                     NULL);
        return SO_ENOTFOUND;
    }

    return SO_OK;
}


/* <public_url>/auth/v1/oauth/<provider>/callback */
static int
auth_oauth_redirect_uri(char *out, size_t len, so_req_t *r,
    const char *provider)
{
    const char  *base;
    size_t       blen;
    int          n;

    base = r->cfg->public_url;
    blen = strlen(base);

    while (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }

    n = snprintf(out, len, "%.*s/auth/v1/oauth/%s/callback", (int) blen,
                 base, provider);

    if (n < 0 || (size_t) n >= len) {
        so_log_error(r->path, "public_url is too long");
        so_req_error(r, 500, "internal", "internal error", NULL);
        return SO_ETOOBIG;
    }

    return SO_OK;
}


/*
 * 302 to location, setting cookie.  The body carries the URL too, for
 * clients that do not follow redirects (the CLI prints it).
 */
static void
auth_oauth_redirect(so_req_t *r, const char *location, const char *cookie)
{
    json_t  *body;
    char    *text;

    body = json_pack("{s:s}", "authorize_url", location);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);

    FCGX_FPrintF(r->fcgi->out,
                 "Status: 302 Found\r\n"
                 "Location: %s\r\n"
                 "Set-Cookie: %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Cache-Control: no-store\r\n"
                 "\r\n"
                 "%s\n",
                 location, cookie, text ? text : "{}");

    free(text);
    r->responded = 1;
}


/*
 * The state came back to the browser that started the login: it holds the
 * same state in its cookie.  Answers 403 state_mismatch otherwise.
 */
static int
auth_oauth_bound(so_req_t *r, const char *provider, const char *state)
{
    char  cookie[AUTH_OAUTH_TOKEN_LEN];
    int   rc;

    rc = so_req_cookie(r, AUTH_OAUTH_COOKIE, cookie, sizeof(cookie));

    if (rc != SO_OK || !so_ct_streq(cookie, state)) {
        so_log_info(r->path, "provider=%s: %s", provider,
                    rc != SO_OK ? "no state cookie"
                                : "the state is not the cookie's");
        so_req_error(r, 403, "state_mismatch",
                     "this login was not started in this browser: "
                     "start it again", "state");
        rc = SO_EDENIED;
    }

    so_wipe(cookie, sizeof(cookie));
    return rc;
}


/*
 * Spends the state: it must exist, be for this provider and be unexpired.
 * A state shown to the wrong provider or too late is spent all the same.
 * Writes the PKCE verifier ("" when none).  Answers 400 invalid_state.
 */
static int
auth_oauth_consume_state(so_req_t *r, const char *provider,
    const char *state, char *verifier, size_t vlen)
{
    PGresult    *res;
    char         hash[SO_SHA256_HEXLEN];
    int          rc;

    so_sha256_hex(hash, state, strlen(state));

    res = so_pg_query(r->pg, "auth_oauth_state_take",
                      "DELETE FROM oauth_states WHERE state_hash = $1"
                      " RETURNING provider, coalesce(code_verifier, ''),"
                      " expires_at > now()",
                      SO_PG_PARAMS(hash));
    if (res == NULL) {
        so_req_pg_error(r, "taking the state");
        rc = SO_EUNAVAIL;
        goto done;
    }

    if (PQntuples(res) != 1
        || strcmp(PQgetvalue(res, 0, 0), provider) != 0
        || strcmp(PQgetvalue(res, 0, 2), "t") != 0
        || (size_t) PQgetlength(res, 0, 1) >= vlen)
    {
        so_log_info(r->path, "provider=%s: %s state", provider,
                    PQntuples(res) != 1 ? "unknown or spent"
                    : strcmp(PQgetvalue(res, 0, 0), provider) != 0
                      ? "another provider's" : "an expired");
        so_req_error(r, 400, "invalid_state",
                     "the login state is missing, unknown, used or expired",
                     "state");
        rc = SO_EINVAL;
        goto done;
    }

    memcpy(verifier, PQgetvalue(res, 0, 1), (size_t) PQgetlength(res, 0, 1)
           + 1);
    rc = SO_OK;

done:

    if (res != NULL && PQntuples(res) == 1) {
        so_wipe(PQgetvalue(res, 0, 1), (size_t) PQgetlength(res, 0, 1));
    }

    PQclear(res);
    return rc;
}


/* code -> the provider's access token; answers 502 provider_error */
static int
auth_oauth_exchange(so_req_t *r, const auth_oauth_provider_t *p,
    const char *code, const char *verifier, char **token)
{
    static const char *const  accept[] = { "Accept: application/json",
                                           NULL };
    so_fetch_req_t   req;
    so_fetch_res_t   res;
    json_t          *json, *err;
    const char      *pairs[13], *at;
    char            *form, redirect[512], detail[128];
    size_t           n;
    int              rc;

    *token = NULL;
    form = NULL;
    json = NULL;
    memset(&res, 0, sizeof(res));

    rc = auth_oauth_redirect_uri(redirect, sizeof(redirect), r, p->name);
    if (rc != SO_OK) {
        goto done;
    }

    n = 0;

    if (verifier != NULL) {
        pairs[n++] = "grant_type";
        pairs[n++] = "authorization_code";
        pairs[n++] = "code_verifier";
        pairs[n++] = verifier;
    }

    pairs[n++] = "client_id";
    pairs[n++] = p->client_id;
    pairs[n++] = "client_secret";
    pairs[n++] = p->client_secret;
    pairs[n++] = "code";
    pairs[n++] = code;
    pairs[n++] = "redirect_uri";
    pairs[n++] = redirect;
    pairs[n] = NULL;

    rc = so_fetch_form_encode(&form, pairs);
    if (rc != SO_OK) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = p->token_url;
    req.headers = accept;
    req.body = form;
    req.body_len = strlen(form);
    req.content_type = "application/x-www-form-urlencoded";

    rc = so_fetch_request(&res, &req);
    if (rc != SO_OK) {
        auth_oauth_provider_error(r, p->name, "token exchange", res.errstr);
        goto done;
    }

    rc = so_fetch_json(&json, &res);
    if (rc != SO_OK) {
        auth_oauth_provider_error(r, p->name, "token exchange", res.errstr);
        goto done;
    }

    /* GitHub reports a bad code with 200 and an "error" member */
    err = json_object_get(json, "error");
    at = json_string_value(json_object_get(json, "access_token"));

    if (res.status != 200 || err != NULL || at == NULL || at[0] == '\0') {
        snprintf(detail, sizeof(detail), "HTTP %ld, error \"%.48s\"",
                 res.status, json_is_string(err) ? json_string_value(err)
                                                 : "none");
        auth_oauth_provider_error(r, p->name, "token exchange", detail);
        rc = SO_ERR;
        goto done;
    }

    *token = strdup(at);
    if (*token == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        rc = SO_ERR;
        goto done;
    }

    rc = SO_OK;

done:

    if (form != NULL) {
        so_wipe(form, strlen(form));
        free(form);
    }

    if (json != NULL && json_is_object(json)
        && json_is_string(json_object_get(json, "access_token")))
    {
        at = json_string_value(json_object_get(json, "access_token"));
        so_wipe((char *) at, strlen(at));
    }

    json_decref(json);
    so_fetch_res_free(&res);
    return rc;
}


/* GET url with the bearer token: a 200 JSON answer, else 502 answered */
static int
auth_oauth_get(so_req_t *r, const char *provider, const char *url,
    const char *token, json_t **out)
{
    so_fetch_req_t   req;
    so_fetch_res_t   res;
    const char      *headers[4];
    char             auth[2048], detail[64];
    int              rc;

    *out = NULL;

    if ((size_t) snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                          token) >= sizeof(auth))
    {
        auth_oauth_provider_error(r, provider, url, "the token is too long");
        rc = SO_ETOOBIG;
        goto done;
    }

    headers[0] = auth;
    headers[1] = "Accept: application/json";
    headers[2] = "X-GitHub-Api-Version: 2022-11-28";
    headers[3] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = url;
    req.headers = headers;

    rc = so_fetch_request(&res, &req);
    if (rc != SO_OK) {
        auth_oauth_provider_error(r, provider, url, res.errstr);
        goto done;
    }

    if (res.status != 200) {
        snprintf(detail, sizeof(detail), "HTTP %ld", res.status);
        auth_oauth_provider_error(r, provider, url, detail);
        rc = SO_ERR;
        goto done;
    }

    rc = so_fetch_json(out, &res);
    if (rc != SO_OK) {
        auth_oauth_provider_error(r, provider, url, res.errstr);
    }

done:

    so_wipe(auth, sizeof(auth));
    so_fetch_res_free(&res);
    return rc;
}


/*
 * GitHub: /user gives the id and login, /user/emails the addresses; the
 * primary one must be verified.
 */
static int
auth_oauth_github_profile(so_req_t *r, const char *token,
    auth_oauth_profile_t *pr)
{
    json_t      *user, *emails, *e, *id;
    const char  *email;
    char         url[1024];
    size_t       i;
    int          rc;

    user = NULL;
    emails = NULL;
    email = NULL;

    snprintf(url, sizeof(url), "%s/user", r->cfg->github_api_url);

    rc = auth_oauth_get(r, "github", url, token, &user);
    if (rc != SO_OK) {
        goto done;
    }

    id = json_object_get(user, "id");
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        auth_oauth_provider_error(r, "github", url, "no user id");
        rc = SO_ERR;
        goto done;
    }

    snprintf(pr->subject, sizeof(pr->subject), "%lld",
             (long long) json_integer_value(id));
    auth_oauth_copy(pr->login, sizeof(pr->login),
                    json_object_get(user, "login"));
    auth_oauth_copy(pr->name, sizeof(pr->name),
                    json_object_get(user, "name"));
    if (pr->name[0] == '\0') {
        auth_oauth_copy(pr->name, sizeof(pr->name),
                        json_object_get(user, "login"));
    }

    snprintf(url, sizeof(url), "%s/user/emails", r->cfg->github_api_url);

    rc = auth_oauth_get(r, "github", url, token, &emails);
    if (rc != SO_OK) {
        goto done;
    }

    json_array_foreach(emails, i, e) {
        if (json_is_true(json_object_get(e, "primary"))
            && json_is_true(json_object_get(e, "verified")))
        {
            email = json_string_value(json_object_get(e, "email"));
            break;
        }
    }

    rc = auth_oauth_email(r, "github", email, pr);

done:

    json_decref(user);
    json_decref(emails);
    return rc;
}


/* Google: the OpenID userinfo; email_verified must be true */
static int
auth_oauth_google_profile(so_req_t *r, const char *token,
    auth_oauth_profile_t *pr)
{
    json_t      *info, *verified;
    const char  *sub;
    int          rc;

    info = NULL;

    rc = auth_oauth_get(r, "google", r->cfg->google_userinfo_url, token,
                        &info);
    if (rc != SO_OK) {
        goto done;
    }

    sub = json_string_value(json_object_get(info, "sub"));
    if (sub == NULL || sub[0] == '\0' || strlen(sub) >= sizeof(pr->subject))
    {
        auth_oauth_provider_error(r, "google", r->cfg->google_userinfo_url,
                                  "no usable subject");
        rc = SO_ERR;
        goto done;
    }

    memcpy(pr->subject, sub, strlen(sub) + 1);
    auth_oauth_copy(pr->name, sizeof(pr->name),
                    json_object_get(info, "name"));

    /* some Google endpoints send the boolean as a string */
    verified = json_object_get(info, "email_verified");

    rc = auth_oauth_email(r, "google",
                          json_is_true(verified)
                          || (json_is_string(verified)
                              && strcmp(json_string_value(verified), "true")
                                 == 0)
                          ? json_string_value(json_object_get(info, "email"))
                          : NULL,
                          pr);

done:

    json_decref(info);
    return rc;
}


/* a verified email (NULL: none) into pr; answers 403 email_not_verified */
static int
auth_oauth_email(so_req_t *r, const char *provider, const char *email,
    auth_oauth_profile_t *pr)
{
    if (email == NULL) {
        so_log_info(r->path, "provider=%s subject=%s: no verified email",
                    provider, pr->subject);
        so_req_error(r, 403, "email_not_verified",
                     "the provider has no verified email for this account",
                     NULL);
        return SO_EDENIED;
    }

    if (so_account_email(pr->email, email, strlen(email)) != SO_OK) {
        auth_oauth_provider_error(r, provider, "user info",
                                  "an email we cannot use");
        return SO_EINVAL;
    }

    return SO_OK;
}


/*
 * The account of this identity, linked or made.  Two first logins of the
 * same person at once race on the unique keys: the loser tries once more
 * and finds what the winner made.
 */
static int
auth_oauth_account(so_req_t *r, const char *provider,
    const auth_oauth_profile_t *pr, const char *token, char *user_id,
    size_t len)
{
    int  rc, attempt;

    for (attempt = 0; ; attempt++) {
        if (so_pg_tx(r->pg, "BEGIN") != SO_OK) {
            so_req_pg_error(r, "BEGIN");
            return SO_EUNAVAIL;
        }

        rc = auth_oauth_account_tx(r, provider, pr, token, user_id, len);

        if (so_pg_tx(r->pg, rc == SO_OK ? "COMMIT" : "ROLLBACK") != SO_OK
            && rc == SO_OK)
        {
            so_req_pg_error(r, "COMMIT");
            return SO_EUNAVAIL;
        }

        if (rc != SO_EEXISTS || attempt > 0) {
            break;
        }
    }

    if (rc == SO_EDENIED) {
        so_log_info(r->path, "provider=%s subject=%s: an account with an "
                    "unverified email has this address", provider,
                    pr->subject);
        so_req_error(r, 409, "account_exists_unverified",
                     "an account with this email exists, but its email "
                     "is not verified: sign in to it with its password",
                     NULL);
    }

    if (rc == SO_EEXISTS) {
        so_log_info(r->path, "provider=%s subject=%s: the account of %s "
                    "is linked to another %s identity", provider,
                    pr->subject, pr->email, provider);
        so_req_error(r, 409, "identity_conflict",
                     "this email's account is already linked to another "
                     "account of this provider", NULL);
    }

    return rc;
}


/*
 * One attempt inside a transaction; SO_EEXISTS on a unique violation,
 * SO_EDENIED (not answered) when the email's account is not verified.
 */
static int
auth_oauth_account_tx(so_req_t *r, const char *provider,
    const auth_oauth_profile_t *pr, const char *token, char *user_id,
    size_t len)
{
    PGresult    *res;
    const char  *how;
    char        *sealed;
    long long    uid;
    int          rc;

    sealed = NULL;
    how = "signed in";

    res = so_pg_query(r->pg, "auth_oauth_identity",
                      "SELECT user_id FROM oauth_identities"
                      " WHERE provider = $1 AND subject = $2",
                      SO_PG_PARAMS(provider, pr->subject));

    if (res != NULL && PQntuples(res) == 0) {
        PQclear(res);
        how = "linked by email";

        res = so_pg_query(r->pg, "auth_oauth_user_by_email",
                          "SELECT id, email_verified FROM users"
                          " WHERE email = $1",
                          SO_PG_PARAMS(pr->email));

        if (res != NULL && PQntuples(res) == 1
            && strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        {
            rc = SO_EDENIED;
            goto done;
        }

        if (res != NULL && PQntuples(res) == 0) {
            PQclear(res);
            how = "new account";

            /* the provider said the address is verified */
            res = so_pg_query(r->pg, "auth_oauth_user_new",
                              "INSERT INTO users (email, name,"
                              " email_verified) VALUES ($1, $2, true)"
                              " RETURNING id",
                              SO_PG_PARAMS(pr->email, pr->name));
        }
    }

    if (res == NULL || PQntuples(res) != 1) {
        goto failed;
    }

    uid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(user_id, len, "%lld", uid);
    PQclear(res);
    res = NULL;

    rc = so_oauth_seal(&sealed, r->cfg, provider, uid, token);
    if (rc != SO_OK) {
        so_log_error(r->path, "provider=%s user=%lld: cannot seal the "
                     "access token", provider, uid);
        so_req_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    /* a known identity keeps its user: the conflict target says so */
    res = so_pg_query(r->pg, "auth_oauth_identity_put",
                      "INSERT INTO oauth_identities"
                      " (user_id, provider, subject, login, access_token_enc)"
                      " VALUES ($1, $2, $3, $4, $5)"
                      " ON CONFLICT (provider, subject) DO UPDATE"
                      " SET login = EXCLUDED.login,"
                      " access_token_enc = EXCLUDED.access_token_enc,"
                      " updated_at = now()"
                      " WHERE oauth_identities.user_id = EXCLUDED.user_id",
                      SO_PG_PARAMS(user_id, provider, pr->subject,
                                   pr->login[0] ? pr->login : NULL, sealed));
    if (res == NULL) {
        goto failed;
    }

    so_log_info(r->path, "provider=%s user=%lld: %s", provider, uid, how);
    rc = SO_OK;
    goto done;

failed:

    if (res == NULL && strcmp(so_pg_sqlstate(r->pg), "23505") == 0) {
        rc = SO_EEXISTS;

    } else {
        so_req_pg_error(r, "finding the account");
        rc = SO_EUNAVAIL;
    }

done:

    free(sealed);
    PQclear(res);
    return rc;
}


/* what is logged names the step, never a code or a token */
static void
auth_oauth_provider_error(so_req_t *r, const char *provider,
    const char *what, const char *detail)
{
    so_log_error(r->path, "provider=%s: %s failed: %s", provider, what,
                 detail);
    so_req_error(r, 502, "provider_error",
                 "the sign-in provider failed; try again", NULL);
}


/*
 * A JSON string into out, cut between characters to SO_NAME_MAX_CHARS
 * characters and to what fits; "" for anything else.  jansson strings are
 * valid UTF-8, so a character starts at any byte that is not 10xxxxxx.
 */
static void
auth_oauth_copy(char *out, size_t len, json_t *v)
{
    const char  *s;
    size_t       n, end, chars;

    s = json_is_string(v) ? json_string_value(v) : "";
    end = 0;
    chars = 0;

    for (n = 0; ; n++) {
        if (s[n] == '\0' || ((unsigned char) s[n] & 0xc0) != 0x80) {
            /* a character ends before s[n]: keep it if it fits */
            if (n >= len) {
                break;
            }
            end = n;
            if (s[n] == '\0' || chars == SO_NAME_MAX_CHARS) {
                break;
            }
            chars++;
        }
    }

    memcpy(out, s, end);
    out[end] = '\0';
}
