/*
 * so_git.c: cloning with libgit2 under a time and size cap (see so_git.h).
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <git2.h>

#include "shipoff.h"
#include "so_git.h"
#include "so_repo.h"


typedef struct {
    const char  *token;
    const char  *url;               /* of the clone: its host gets it */
    time_t       deadline;
    int          why;               /* SO_ETOOBIG, SO_EUNAVAIL: aborted */
} so_git_ctx_t;


static int so_git_progress(const git_indexer_progress *stats, void *payload);
static int so_git_credentials(git_credential **out, const char *url,
    const char *username, unsigned int allowed, void *payload);
static int so_git_same_host(const char *a, const char *b);


int
so_git_init(void)
{
    return git_libgit2_init() > 0 ? SO_OK : SO_ERR;
}


static int
so_git_progress(const git_indexer_progress *stats, void *payload)
{
    so_git_ctx_t  *ctx;

    ctx = payload;

    if (stats->received_bytes > (size_t) SO_GIT_MAX_BYTES) {
        ctx->why = SO_ETOOBIG;
        return -1;
    }

    if (time(NULL) > ctx->deadline) {
        ctx->why = SO_EUNAVAIL;
        return -1;
    }

    return 0;
}


/* 1 when b is on a's scheme and host: the token never goes elsewhere */
static int
so_git_same_host(const char *a, const char *b)
{
    so_repo_url_t  ua, ub;
    char           reason[128];

    if (b == NULL
        || so_repo_parse(&ua, a, reason, sizeof(reason)) != SO_OK
        || so_repo_parse(&ub, b, reason, sizeof(reason)) != SO_OK)
    {
        return 0;
    }

    return ua.host[0] != '\0' && strcmp(ua.scheme, ub.scheme) == 0
           && strcmp(ua.host, ub.host) == 0;
}


static int
so_git_credentials(git_credential **out, const char *url,
    const char *username, unsigned int allowed, void *payload)
{
    so_git_ctx_t  *ctx;

    ctx = payload;

    /* once: a refused token must not loop */
    if (ctx->token == NULL || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)
        || !so_git_same_host(ctx->url, url))
    {
        return GIT_PASSTHROUGH;
    }

    if (git_credential_userpass_plaintext_new(out, "x-access-token",
                                              ctx->token) != 0)
    {
        return -1;
    }

    ctx->token = NULL;
    return 0;
}


int
so_git_clone(const char *url, const char *branch, const char *dir,
    const char *token, char *err, size_t errlen)
{
    git_clone_options   opts;
    git_repository     *repo;
    const git_error    *e;
    so_git_ctx_t        ctx;
    int                 rc;

    repo = NULL;
    err[0] = '\0';

    ctx.token = token;
    ctx.url = url;
    ctx.deadline = time(NULL) + SO_GIT_TIMEOUT_S;
    ctx.why = SO_OK;

    git_clone_options_init(&opts, GIT_CLONE_OPTIONS_VERSION);
    opts.checkout_branch = branch;
    opts.fetch_opts.callbacks.transfer_progress = so_git_progress;
    opts.fetch_opts.callbacks.credentials = so_git_credentials;
    opts.fetch_opts.callbacks.payload = &ctx;
    opts.fetch_opts.follow_redirects = GIT_REMOTE_REDIRECT_NONE;
    opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_NONE;

    rc = git_clone(&repo, url, dir, &opts);
    if (rc == 0) {
        rc = SO_OK;
        goto done;
    }

    if (ctx.why == SO_ETOOBIG) {
        snprintf(err, errlen, "the repository is over %lld MiB",
                 SO_GIT_MAX_BYTES >> 20);
        rc = SO_ETOOBIG;
        goto done;
    }

    if (ctx.why == SO_EUNAVAIL) {
        snprintf(err, errlen, "the clone took over %d s", SO_GIT_TIMEOUT_S);
        rc = SO_EUNAVAIL;
        goto done;
    }

    e = git_error_last();
    snprintf(err, errlen, "clone failed: %s",
             e != NULL && e->message != NULL ? e->message : "unknown error");

    rc = (rc == GIT_ENOTFOUND || (e != NULL && e->klass == GIT_ERROR_REFERENCE))
         ? SO_ENOTFOUND
         : (e != NULL && (e->klass == GIT_ERROR_NET
                          || e->klass == GIT_ERROR_SSL))
         ? SO_EUNAVAIL : SO_ERR;

done:

    git_repository_free(repo);
    return rc;
}
