/*
 * source.c: the deployment's source tree: a clone of its branch at the
 * exact commit of the deployment, made by `shipoffd clone` (clone.c) in
 * the sandbox, and paths inside it.
 *
 * The clone runs confined like a build step, under the build's deadline,
 * cgroup and memory limit, as the sandbox uid: what it writes is the
 * sandbox uid's, in the build's work dir only, and a server that accepts
 * and never answers is stopped by the deadline (libgit2 1.5 has no socket
 * timeout).  The shipoffd binary is bound into the sandbox read-only at
 * BLD_CLONE_EXE (the host's copy may lie in a hidden dir); a file://
 * repository is bound where it is, read-only.  The request, the token
 * included, goes in the environment of the sandboxed command only.
 * Its answer is read back from the work dir by the fd held on it.
 *
 * Paths inside the checkout are resolved from directory fds the worker
 * opened before the build ran, by the kernel (openat2 RESOLVE_BENEATH):
 * the build owns its tree and may have replaced any name in it with a
 * link to the host's files, so a path taken by name after the build
 * (realpath and a prefix check) could lead anywhere.
 *
 * libgit2 1.5 cannot fetch one commit over file://, so the clone is of
 * the whole branch and the commit must be on it (a push's commit is).
 *
 * Private repositories: the clone carries a GitHub access token as HTTP
 * basic credentials ("x-access-token", token) only under the rule of
 * bld_source_token() (worker.h: the owner's own token, for a repository
 * the owner set).  The token is opened in the worker just before the clone,
 * handed to the sandboxed clone in its environment only, and wiped right
 * after; it is never logged.  It goes only to the GitHub host
 * (github_authorize_url's host: github.com, or a GitHub Enterprise or, in
 * tests, a local one) over https:// (http:// with allow_insecure_repos),
 * and so_git_clone checks again, for every URL libgit2 asks credentials
 * for, that the host is the repository's.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_oauth.h"
#include "so_repo.h"
#include "worker.h"

#define SRC_EXE      "/tmp/shipoffd"    /* the binary, in the sandbox */
#define SRC_OUT_MAX  8192               /* clone.out, detect.out */


static int src_answer(char *buf, size_t len, int workfd, const char *name);


int
bld_source_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long project_id, const char *url)
{
    so_repo_url_t  repo, gh;
    PGresult      *res;
    char           pid[24], reason[128];
    long long      user_id;
    int            rc;

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
                      SO_PG_PARAMS(pid, url));
    if (res == NULL) {
        so_pg_failed(pg, "source", "project=%lld", project_id);
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


/* the answer clone.c left in the work dir, NUL-ended */
static int
src_answer(char *buf, size_t len, int workfd, const char *name)
{
    ssize_t  n;
    int      fd;

    fd = openat(workfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK
                | O_CLOEXEC);
    if (fd == -1) {
        return SO_ERR;
    }

    n = read(fd, buf, len - 1);
    close(fd);
    unlinkat(workfd, name, 0);

    if (n <= 0) {
        return SO_ERR;
    }

    buf[n] = '\0';
    return SO_OK;
}


bld_step_end_t
bld_source_clone(bld_clone_t *out, const bld_clone_req_t *req,
    const bld_step_t *step, int workfd, char *err, size_t errlen)
{
    bld_sandbox_result_t  res;
    bld_step_t            s;
    json_error_t          jerr;
    bld_env_t             envp;
    char                  exe[PATH_MAX], buf[SRC_OUT_MAX], *nl;
    const char           *binds[5] = { exe, SRC_EXE, NULL, NULL, NULL };
    ssize_t               len;
    bld_step_end_t        end;

    memset(out, 0, sizeof(*out));
    memset(&envp, 0, sizeof(envp));
    end = BLD_STEP_ERROR;

    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0) {
        snprintf(err, errlen, "readlink /proc/self/exe: %s",
                 strerror(errno));
        return BLD_STEP_ERROR;
    }
    exe[len] = '\0';

    /* a file:// repository that is not there is the clone's to report */
    if (strncmp(req->url, "file://", 7) == 0 && access(req->url + 7, F_OK) == 0)
    {
        binds[2] = binds[3] = req->url + 7;
    }

    bld_env_add(&envp, "PATH=" BLD_ENV_PATH);
    bld_env_add(&envp, "HOME=/tmp");
    bld_env_add(&envp, "LANG=C.UTF-8");
    /* a sanitizer build's leak check at exit needs ptrace, which the
       sandbox refuses; other builds ignore it */
    bld_env_add(&envp, "ASAN_OPTIONS=detect_leaks=0");
    bld_env_add(&envp, "SHIPOFF_CLONE_URL=%s", req->url);
    bld_env_add(&envp, "SHIPOFF_CLONE_BRANCH=%s", req->branch);
    bld_env_add(&envp, "SHIPOFF_CLONE_COMMIT=%s",
                req->commit ? req->commit : "");
    if (req->token != NULL) {
        bld_env_add(&envp, "SHIPOFF_CLONE_TOKEN=%s", req->token);
    }
    if (req->detect != NULL) {
        bld_env_add(&envp, "SHIPOFF_CLONE_DETECT=%s", req->detect);
    }

    s = *step;
    s.cwd = step->workdir;
    s.envp = (const char *const *) envp.list;
    s.ro_binds = binds;
    s.host_net = 1;

    end = bld_build_run(&s, "exec " SRC_EXE " clone", &res, err, errlen);
    if (end == BLD_STEP_EXIT) {
        out->code = res.code;
        bld_log_sys(step->log, "clone failed: %s",
                    res.code == BLD_CLONE_NOTFOUND
                    ? "no such repository, branch or commit"
                    : res.code == BLD_CLONE_TOOBIG
                    ? "the repository is too large"
                    : res.code == BLD_CLONE_NOROOT ? "no such root dir"
                    : "the repository could not be cloned");
    }
    if (end != BLD_STEP_OK) {
        goto done;
    }

    if (req->detect != NULL) {
        out->detection = src_answer(buf, sizeof(buf), workfd, "detect.out")
                         == SO_OK ? json_loads(buf, 0, &jerr) : NULL;
        if (!json_is_object(out->detection)) {
            snprintf(err, errlen, "the detection gave no answer");
            end = BLD_STEP_ERROR;
        }
        goto done;
    }

    nl = NULL;
    if (src_answer(buf, sizeof(buf), workfd, "clone.out") != SO_OK
        || (nl = strchr(buf, '\n')) == NULL || nl - buf != 40
        || strspn(buf, "0123456789abcdef") != 40)
    {
        snprintf(err, errlen, "the clone gave no commit");
        end = BLD_STEP_ERROR;
        goto done;
    }

    memcpy(out->sha, buf, 40);
    out->sha[40] = '\0';
    snprintf(out->message, sizeof(out->message), "%.*s",
             (int) strcspn(nl + 1, "\n"), nl + 1);

done:

    bld_env_free(&envp);
    return end;
}


int
bld_source_open(int *out, int dirfd, const char *rel, char *err,
    size_t errlen)
{
    struct open_how  how;
    int              fd;

    *out = -1;

    if (rel == NULL || rel[0] == '\0') {
        rel = ".";
    }

    if (rel[0] == '/') {
        snprintf(err, errlen, "\"%s\" is not a relative path", rel);
        return SO_EINVAL;
    }

    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

    fd = (int) syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
    if (fd != -1) {
        *out = fd;
        return SO_OK;
    }

    switch (errno) {
    case ENOENT:
    case ENOTDIR:
        snprintf(err, errlen, "\"%s\" is not a directory of the repository",
                 rel);
        return SO_ENOTFOUND;

    case EXDEV:
    case ELOOP:
        snprintf(err, errlen, "\"%s\" leads outside the repository", rel);
        return SO_EINVAL;

    default:
        snprintf(err, errlen, "\"%s\": %s", rel, strerror(errno));
        return SO_ERR;
    }
}
