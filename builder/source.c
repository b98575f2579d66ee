/*
 * source.c: the deployment's source tree: a clone of its branch (lib's
 * so_git_clone, capped in time and size), then the exact commit of the
 * deployment checked out detached, and the project's root dir resolved
 * inside the checkout.
 *
 * libgit2 1.5 cannot fetch one commit over file://, so the clone is of
 * the whole branch and the commit must be on it (a push's commit is).
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <git2.h>

#include "shipoff.h"
#include "so_git.h"
#include "worker.h"


static void src_git_error(char *err, size_t errlen, const char *what);


static void
src_git_error(char *err, size_t errlen, const char *what)
{
    const git_error  *e;

    e = git_error_last();
    snprintf(err, errlen, "%s: %s", what,
             e != NULL && e->message != NULL ? e->message : "unknown error");
}


int
bld_source_checkout(bld_commit_t *out, const char *url, const char *branch,
    const char *commit, const char *dir, char *err, size_t errlen)
{
    git_repository        *repo;
    git_object            *obj;
    git_commit            *c;
    git_oid                oid;
    git_checkout_options   co;
    const char            *msg;
    size_t                 n;
    int                    rc;

    repo = NULL;
    obj = NULL;
    memset(out, 0, sizeof(*out));

    rc = so_git_clone(url, branch, dir, NULL, err, errlen);
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
