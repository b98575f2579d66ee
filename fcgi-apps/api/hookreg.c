/*
 * hookreg.c: registering a project's webhook on GitHub (hooks/github.c
 * receives what it then sends).
 *
 * When a user who signed in with GitHub creates a project from a
 * github.com repository, we ask GitHub (as that user, with the token kept
 * sealed by the OAuth login) to send push events to <public_url>/hooks/github
 * signed with the project's secret.  Whatever GitHub answers is kept on
 * the project: the hook id, or the reason it failed (no admin right on the
 * repository, GitHub unreachable), which the project's answer shows as
 * github_hook.error.  A failure never fails the creation: the user can add
 * the webhook by hand with the URL and secret the answer shows.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "shipoff.h"
#include "so_crypto.h"
#include "so_fetch.h"
#include "so_log.h"
#include "so_oauth.h"


#define API_HOOKREG_ERROR_MAX  200


static void api_hookreg_store(so_req_t *r, long long project_id,
    long long hook_id, const char *error);
static void api_hookreg_refused(so_req_t *r, long long project_id,
    so_fetch_res_t *res);


static void
api_hookreg_store(so_req_t *r, long long project_id, long long hook_id,
    const char *error)
{
    PGresult    *res;
    char         ids[24], hook[24];

    snprintf(ids, sizeof(ids), "%lld", project_id);
    snprintf(hook, sizeof(hook), "%lld", hook_id);

    res = so_pg_query(r->pg, "api_hookreg_store",
                      "UPDATE projects SET github_hook_id = $2,"
                      " github_hook_error = $3 WHERE id = $1",
                      SO_PG_PARAMS(ids, error == NULL ? hook : NULL, error));
    if (res == NULL) {
        so_log_error(r->path, "project=%lld: storing the GitHub hook: %s",
                     project_id, so_pg_errstr(r->pg));
    }

    PQclear(res);
}


/* GitHub's refusal, said with its own message: 404 no access, 422 exists */

static void
api_hookreg_refused(so_req_t *r, long long project_id, so_fetch_res_t *res)
{
    json_t  *answer;
    char     error[SO_ERRLEN];

    answer = NULL;

    if (so_fetch_json(&answer, res) == SO_OK
        && json_is_string(json_object_get(answer, "message")))
    {
        snprintf(error, sizeof(error), "GitHub answered %ld: %.*s",
                 res->status, API_HOOKREG_ERROR_MAX,
                 json_string_value(json_object_get(answer, "message")));
    } else {
        snprintf(error, sizeof(error), "GitHub answered %ld", res->status);
    }

    so_log_info(r->path, "project=%lld: GitHub hook not created: %s",
                project_id, error);
    api_hookreg_store(r, project_id, 0, error);

    json_decref(answer);
}


void
api_hookreg_create(so_req_t *r, long long user_id, long long project_id,
    const so_repo_url_t *repo, const char *secret)
{
    so_fetch_req_t   req;
    so_fetch_res_t   res;
    json_t          *body, *answer, *id;
    const char      *headers[5];
    char            *token, *json, url[1024], auth[512];
    char             hookurl[512];
    int              rc;

    token = NULL;
    json = NULL;
    body = NULL;
    answer = NULL;
    memset(&res, 0, sizeof(res));

    rc = so_oauth_github_token(&token, r->pg, r->cfg, user_id);
    if (rc == SO_ENOTFOUND) {
        /* not signed in with GitHub: the webhook is the user's to add */
        goto done;
    }
    if (rc != SO_OK) {
        api_hookreg_store(r, project_id, 0,
                              "the GitHub token of the user is unusable");
        goto done;
    }

    snprintf(hookurl, sizeof(hookurl), "%s/hooks/github", r->cfg->public_url);
    snprintf(url, sizeof(url), "%s/repos/%s/%s/hooks",
             r->cfg->github_api_url, repo->owner, repo->repo);

    body = json_pack("{s:s, s:b, s:[s], s:{s:s, s:s, s:s, s:s}}",
                     "name", "web", "active", 1, "events", "push",
                     "config", "url", hookurl, "content_type", "json",
                     "secret", secret, "insecure_ssl", "0");
    json = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    if (json == NULL) {
        api_hookreg_store(r, project_id, 0, "internal error");
        goto done;
    }

    if ((size_t) snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                          token) >= sizeof(auth))
    {
        api_hookreg_store(r, project_id, 0,
                              "the GitHub token of the user is unusable");
        goto done;
    }

    headers[0] = auth;
    headers[1] = "Accept: application/vnd.github+json";
    headers[2] = "X-GitHub-Api-Version: 2022-11-28";
    headers[3] = "User-Agent: shipoff";
    headers[4] = NULL;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers = headers;
    req.body = json;
    req.body_len = strlen(json);
    req.content_type = "application/json";

    rc = so_fetch_request(&res, &req);
    if (rc != SO_OK) {
        so_log_error(r->path, "project=%lld: POST %s: %s", project_id, url,
                     res.errstr);
        api_hookreg_store(r, project_id, 0, "GitHub could not be reached");
        goto done;
    }

    if (res.status != 201) {
        api_hookreg_refused(r, project_id, &res);
        goto done;
    }

    id = NULL;
    if (so_fetch_json(&answer, &res) == SO_OK) {
        id = json_object_get(answer, "id");
    }

    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        api_hookreg_store(r, project_id, 0,
                              "GitHub answered without a hook id");
        goto done;
    }

    so_log_info(r->path, "project=%lld: GitHub hook %lld on %s/%s",
                project_id, (long long) json_integer_value(id), repo->owner,
                repo->repo);

    api_hookreg_store(r, project_id, (long long) json_integer_value(id),
                          NULL);

done:

    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
    }
    if (json != NULL) {
        so_wipe(json, strlen(json));
        free(json);
    }
    so_wipe(auth, sizeof(auth));
    so_fetch_res_free(&res);
    json_decref(answer);
    json_decref(body);
}
