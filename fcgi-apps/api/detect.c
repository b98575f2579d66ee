/*
 * detect.c: POST /api/v1/detect {repo_url, branch, root_dir?}: what would
 * Shipoff build from this repository?  Clones it into a private temp dir
 * (the same repo_url rules and SSRF guard as a project, so_repo.h; the
 * clone caps of so_git.h), runs so_detect() on root_dir, removes the
 * clone and answers the detection.
 *
 * A github.com repository is cloned with the caller's GitHub token when
 * they signed in with GitHub, so private repositories work too.
 */

#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "shipoff.h"
#include "so_auth.h"
#include "so_authz.h"
#include "so_crypto.h"
#include "so_detect.h"
#include "so_git.h"
#include "so_input.h"
#include "so_log.h"
#include "so_oauth.h"


static int api_detect_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw);
static json_t *api_detect_str(const char *s);


static int
api_detect_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    (void) remove(path);

    return 0;
}


static json_t *
api_detect_str(const char *s)
{
    return s[0] == '\0' ? json_null() : json_string(s);
}


void
api_detect(so_req_t *r)
{
    static const char *const  fields[] = {
        "repo_url", "branch", "root_dir", NULL
    };
    so_principal_t            p;
    so_repo_url_t             repo;
    so_detect_t               d;
    json_t                   *body, *j;
    const char               *url, *branch, *root, *reason;
    char                      tmp[PATH_MAX], path[PATH_MAX], err[SO_ERRLEN];
    char                      msg[SO_ERRLEN], *token;
    size_t                    len;
    int                       rc, made;

    body = NULL;
    token = NULL;
    made = 0;

    if (so_authenticate(r, &p) != SO_OK
        || so_authz_scope(r, &p, SO_NEED_READ) != SO_OK
        || so_http_read_json(r, &body) != SO_OK
        || so_input_known(r, body, fields) != SO_OK
        || so_input_string(r, body, "repo_url", 1, 1, SO_REPO_URL_MAX, &url,
                           &len) != SO_OK)
    {
        goto done;
    }

    if (so_repo_check(&repo, r->cfg, url, err, sizeof(err)) != SO_OK) {
        snprintf(msg, sizeof(msg), "repo_url %.200s", err);
        so_http_error(r, 422, "validation_failed", msg, "repo_url");
        goto done;
    }

    branch = "main";
    rc = so_input_string(r, body, "branch", 0, 1, 255, &branch, &len);
    if (rc == SO_EINVAL) {
        goto done;
    }
    if (rc == SO_OK && api_rule_branch(branch, &reason) != SO_OK) {
        snprintf(msg, sizeof(msg), "branch %s", reason);
        so_http_error(r, 422, "validation_failed", msg, "branch");
        goto done;
    }
    if (rc != SO_OK) {
        branch = "main";
    }

    root = "";
    rc = so_input_string(r, body, "root_dir", 0, 0, 255, &root, &len);
    if (rc == SO_EINVAL) {
        goto done;
    }
    if (rc == SO_OK && api_rule_dir(root, &reason) != SO_OK) {
        snprintf(msg, sizeof(msg), "root_dir %s", reason);
        so_http_error(r, 422, "validation_failed", msg, "root_dir");
        goto done;
    }
    if (rc != SO_OK) {
        root = "";
    }

    if (repo.owner[0] != '\0') {
        (void) so_oauth_github_token(&token, r->pg, r->cfg, p.user_id);
    }

    snprintf(tmp, sizeof(tmp), "%s/detect-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmp) == NULL) {
        so_log_error(r->path, "mkdtemp %s: failed", tmp);
        so_http_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }
    made = 1;

    if ((size_t) snprintf(path, sizeof(path), "%s/repo", tmp)
        >= sizeof(path))
    {
        so_http_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    rc = so_git_clone(url, branch, path, token, err, sizeof(err));
    if (rc != SO_OK) {
        so_log_info(r->path, "user=%lld: %s", p.user_id, err);
        so_http_error(r, rc == SO_EUNAVAIL ? 502 : 422,
                      rc == SO_EUNAVAIL ? "clone_failed"
                                        : "validation_failed",
                      rc == SO_ENOTFOUND
                      ? "repo_url: no such repository or branch"
                      : rc == SO_ETOOBIG ? "repo_url: the repository is too "
                                           "large"
                      : "repo_url: the repository could not be cloned",
                      rc == SO_ENOTFOUND ? "branch" : "repo_url");
        goto done;
    }

    if (root[0] != '\0'
        && (size_t) snprintf(path, sizeof(path), "%s/repo/%s", tmp, root)
           >= sizeof(path))
    {
        so_http_error(r, 422, "validation_failed", "root_dir is too long",
                      "root_dir");
        goto done;
    }

    rc = so_detect(&d, path);
    if (rc == SO_EINVAL) {
        so_http_error(r, 422, "validation_failed",
                      "root_dir is not a directory of the repository",
                      "root_dir");
        goto done;
    }

    j = json_pack("{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                  "detected", rc == SO_OK,
                  "kind", api_detect_str(d.kind),
                  "framework", api_detect_str(d.framework),
                  "runtime", api_detect_str(d.runtime),
                  "install_cmd", api_detect_str(d.install_cmd),
                  "build_cmd", api_detect_str(d.build_cmd),
                  "run_cmd", api_detect_str(d.run_cmd),
                  "output_dir", api_detect_str(d.output_dir));
    if (j == NULL) {
        so_http_error(r, 500, "internal", "internal error", NULL);
        goto done;
    }

    so_http_json(r, 200, j);

done:

    if (made) {
        (void) nftw(tmp, api_detect_rm, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
    }
    json_decref(body);
}
