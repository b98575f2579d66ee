/*
 * source.c: the deployment's source tree: a clone of its branch (lib's
 * so_git_clone, capped in time and size), then the exact commit of the
 * deployment checked out detached, and the project's root dir resolved
 * inside the checkout.
 *
 * libgit2 1.5 cannot fetch one commit over file://, so the clone is of
 * the whole branch and the commit must be on it (a push's commit is).
 *
 * Private repositories: the clone carries the GitHub access token of the
 * project's owner as HTTP basic credentials ("x-access-token", token),
 * when that owner signed in with GitHub.  The owner of a team's project
 * is the team's owner (the earliest of them who signed in with GitHub if
 * there are several): the token is a credential of one person, and the
 * team's owner is the one who answers for the team's projects.  The token is opened here, in the
 * worker, just before the clone, and wiped right after it; it is never
 * logged.  It goes only to the GitHub host (github_authorize_url's host:
 * github.com, or a GitHub Enterprise or, in tests, a local one) over
 * https:// (http:// with allow_insecure_repos): a repository URL that
 * anyone with write access to the project can change must not carry a
 * user's GitHub credentials to a host of their choosing.  so_git_clone
 * checks again, for every URL libgit2 asks credentials for, that the
 * host is the repository's.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <git2.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_git.h"
#include "so_log.h"
#include "so_oauth.h"
#include "so_repo.h"
#include "worker.h"


static void src_git_error(char *err, size_t errlen, const char *what);
static int src_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *url);


static void
src_git_error(char *err, size_t errlen, const char *what)
{
    const git_error  *e;

    e = git_error_last();
    snprintf(err, errlen, "%s: %s", what,
             e != NULL && e->message != NULL ? e->message : "unknown error");
}


/*
 * The GitHub token for a clone of url, or NULL in *token.  A user's token
 * is used only for a repository that user set (repo_url_set_by) on a
 * project the user owns (of a team's project: the team's owner now), and
 * only while url is still the project's repo_url: a repository set by a
 * member with WRITE, a team member or the previous owner of a transferred
 * project is cloned without a token until the owner saves repo_url again.
 * Checked here, at clone time, so a change of owner or of repo_url since
 * the deployment was queued counts.  NULL too for an owner who never
 * signed in with GitHub, another host, a plain http:// URL where they are
 * refused.  SO_OK, or SO_EUNAVAIL when PostgreSQL could not say (the
 * clone must not go on without the token it may need).
 */
static int
src_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *url)
{
    so_repo_url_t   repo, gh;
    PGresult       *res;
    const char     *params[2];
    char            pid[24], reason[128];
    long long       user_id;
    int             rc;

    *token = NULL;

    if (cfg->github_authorize_url == NULL
        || so_repo_parse(&repo, url, reason, sizeof(reason)) != SO_OK
        || so_repo_parse(&gh, cfg->github_authorize_url, reason,
                         sizeof(reason)) != SO_OK
        || strcmp(repo.host, gh.host) != 0
        || !(strcmp(repo.scheme, "https") == 0
             || (strcmp(repo.scheme, "http") == 0
                 && cfg->allow_insecure_repos)))
    {
        return SO_OK;
    }

    snprintf(pid, sizeof(pid), "%lld", project_id);
    params[0] = pid;
    params[1] = url;

    res = so_pg_query(pg, "source_token_user",
                      "SELECT p.repo_url_set_by FROM projects p"
                      " JOIN oauth_identities i"
                      " ON i.user_id = p.repo_url_set_by"
                      " AND i.provider = 'github'"
                      " AND i.access_token_enc IS NOT NULL"
                      " WHERE p.id = $1 AND p.repo_url = $2"
                      " AND (p.owner_user_id = p.repo_url_set_by"
                      " OR EXISTS (SELECT 1 FROM team_members m"
                      " WHERE m.team_id = p.owner_team_id"
                      " AND m.user_id = p.repo_url_set_by"
                      " AND m.role = 'owner'))",
                      2, params);
    if (res == NULL) {
        so_log_error("source", "project=%lld: %s", project_id,
                     so_pg_errstr(pg));
        return SO_EUNAVAIL;
    }

    if (PQntuples(res) == 0) {
        PQclear(res);
        return SO_OK;
    }

    user_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);

    rc = so_oauth_github_token(token, pg, cfg, user_id);
    if (rc == SO_OK) {
        so_log_info("source", "project=%lld: cloning %s with the GitHub "
                    "token of user=%lld", project_id, repo.host, user_id);
        return SO_OK;
    }

    /* a token that does not open (another master key) cannot help */
    return rc == SO_EUNAVAIL ? SO_EUNAVAIL : SO_OK;
}


int
bld_source_checkout(bld_commit_t *out, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *url, const char *branch,
    const char *commit, const char *dir, char *err, size_t errlen)
{
    git_repository        *repo;
    git_object            *obj;
    git_commit            *c;
    git_oid                oid;
    git_checkout_options   co;
    const char            *msg;
    char                  *token;
    size_t                 n;
    int                    rc;

    repo = NULL;
    obj = NULL;
    token = NULL;
    memset(out, 0, sizeof(*out));

    rc = src_token(&token, pg, cfg, project_id, url);
    if (rc != SO_OK) {
        snprintf(err, errlen, "the owner's GitHub token could not be read");
        goto done;
    }

    rc = so_git_clone(url, branch, dir, token, err, errlen);

    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
        token = NULL;
    }

    if (rc != SO_OK) {
        goto done;
    }

    rc = SO_ERR;

    if (git_repository_open(&repo, dir) != 0) {
        src_git_error(err, errlen, "open");
        goto done;
    }

    if (commit != NULL && commit[0] != '\0') {
        if (git_oid_fromstr(&oid, commit) != 0
            || git_object_lookup(&obj, repo, &oid, GIT_OBJECT_COMMIT) != 0)
        {
            snprintf(err, errlen, "commit %s is not on branch %s", commit,
                     branch);
            rc = SO_ENOTFOUND;
            goto done;
        }

    } else if (git_revparse_single(&obj, repo, "HEAD^{commit}") != 0) {
        src_git_error(err, errlen, "HEAD");
        goto done;
    }

    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_FORCE;

    if (git_checkout_tree(repo, obj, &co) != 0
        || git_repository_set_head_detached(repo, git_object_id(obj)) != 0)
    {
        src_git_error(err, errlen, "checkout");
        goto done;
    }

    c = (git_commit *) obj;
    git_oid_tostr(out->sha, sizeof(out->sha), git_object_id(obj));

    msg = git_commit_summary(c);
    if (msg != NULL) {
        n = strlen(msg);
        if (n >= sizeof(out->message)) {
            n = sizeof(out->message) - 1;
        }
        memcpy(out->message, msg, n);
        out->message[n] = '\0';
    }

    rc = SO_OK;

done:

    git_object_free(obj);
    git_repository_free(repo);
    return rc;
}


int
bld_source_root(char *out, size_t outlen, const char *checkout,
    const char *root_dir, char *err, size_t errlen)
{
    char         base[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
    struct stat  st;
    size_t       n;

    if (realpath(checkout, base) == NULL) {
        snprintf(err, errlen, "the checkout is gone");
        return SO_ERR;
    }

    if (root_dir == NULL || root_dir[0] == '\0') {
        root_dir = ".";
    }

    if (root_dir[0] == '/'
        || (size_t) snprintf(want, sizeof(want), "%s/%s", base, root_dir)
           >= sizeof(want))
    {
        snprintf(err, errlen, "root dir \"%s\" is not a relative path",
                 root_dir);
        return SO_EINVAL;
    }

    if (realpath(want, real) == NULL || stat(real, &st) == -1
        || !S_ISDIR(st.st_mode))
    {
        snprintf(err, errlen, "root dir \"%s\" is not a directory of the "
                 "repository", root_dir);
        return SO_ENOTFOUND;
    }

    n = strlen(base);
    if (strncmp(real, base, n) != 0 || (real[n] != '\0' && real[n] != '/')) {
        snprintf(err, errlen, "root dir \"%s\" leads outside the repository",
                 root_dir);
        return SO_EINVAL;
    }

    if ((size_t) snprintf(out, outlen, "%s", real) >= outlen) {
        snprintf(err, errlen, "root dir \"%s\" is too long", root_dir);
        return SO_ETOOBIG;
    }

    return SO_OK;
}
