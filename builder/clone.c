/*
 * clone.c: `shipoffd clone`, the checkout of a build or of a detection,
 * run inside the sandbox as the sandbox uid (source.c starts it).  What a
 * repository holds is the tenant's, so libgit2 parses it where it reaches
 * nothing else, under the build's deadline, cgroup and memory limit, and
 * writes nowhere but the sandbox's work dir (its cwd).
 *
 * The request comes in the environment, never on a command line:
 *
 *   SHIPOFF_CLONE_URL, SHIPOFF_CLONE_BRANCH   what to fetch
 *   SHIPOFF_CLONE_COMMIT                      the commit ("" : the head)
 *   SHIPOFF_CLONE_TOKEN                       HTTP credentials, if any
 *   SHIPOFF_CLONE_DETECT                      set: a detection of that
 *                                             root dir ("" : the top)
 *
 * The fetch is capped by so_git (bytes received, time).  Before anything
 * is written out the commit's tree is walked: more than SO_GIT_MAX_FILES
 * entries or SO_GIT_MAX_CHECKOUT bytes of files is refused, without
 * expanding it (a "git bomb" is a small pack whose trees repeat one
 * another).  A build gets the whole tree in ./src and its commit in
 * ./clone.out ("sha\nsummary\n"); a detection gets only the files
 * so_detect reads, and writes its answer as JSON to ./detect.out.
 *
 * Exit codes are BLD_CLONE_*; the reason goes to stderr (the build log).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <git2.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_detect.h"
#include "so_git.h"
#include "worker.h"

#define CL_DIR     "src"

typedef struct {
    git_odb     *odb;
    size_t       files;
    long long    bytes;
    int          over;              /* 1: a cap was passed */
} cl_size_t;


static char *cl_env(const char *name);
static int cl_walk(const char *root, const git_tree_entry *e, void *arg);
static int cl_check(git_tree *tree);
static int cl_write(const char *path, const char *text);
static int cl_detect(git_repository *repo, git_tree *tree,
    const char *root);
static int cl_build(git_repository *repo, git_object *commit);
static int cl_fail(int code, const char *what);


/* the value of name, wiped from the environment; the caller frees it */
static char *
cl_env(const char *name)
{
    char  *v, *copy;

    v = getenv(name);
    if (v == NULL) {
        return NULL;
    }

    copy = strdup(v);
    so_wipe(v, strlen(v));
    unsetenv(name);
    return copy;
}


static int
cl_fail(int code, const char *what)
{
    const git_error  *e;

    e = git_error_last();
    fprintf(stderr, "clone: %s%s%s\n", what,
            e != NULL && e->message != NULL ? ": " : "",
            e != NULL && e->message != NULL ? e->message : "");
    return code;
}


static int
cl_walk(const char *root, const git_tree_entry *e, void *arg)
{
    cl_size_t       *s;
    git_object_t     type;
    size_t           len;

    (void) root;
    s = arg;

    if (++s->files > SO_GIT_MAX_FILES) {
        s->over = 1;
        return -1;
    }

    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        return 0;
    }

    if (git_odb_read_header(&len, &type, s->odb, git_tree_entry_id(e)) != 0)
    {
        return -1;
    }

    s->bytes += (long long) len;
    if (s->bytes > SO_GIT_MAX_CHECKOUT) {
        s->over = 1;
        return -1;
    }

    return 0;
}


/* 0, or BLD_CLONE_TOOBIG / BLD_CLONE_FAILED with the reason printed */
static int
cl_check(git_tree *tree)
{
    cl_size_t  s;
    int        rc;

    memset(&s, 0, sizeof(s));

    if (git_repository_odb(&s.odb, git_tree_owner(tree)) != 0) {
        return cl_fail(BLD_CLONE_FAILED, "the object database");
    }

    rc = git_tree_walk(tree, GIT_TREEWALK_PRE, cl_walk, &s);
    git_odb_free(s.odb);

    if (s.over) {
        fprintf(stderr, "clone: the commit's tree is over %d files or "
                "%lld MiB: refused\n", SO_GIT_MAX_FILES,
                SO_GIT_MAX_CHECKOUT >> 20);
        return BLD_CLONE_TOOBIG;
    }

    return rc == 0 ? 0 : cl_fail(BLD_CLONE_FAILED, "reading the tree");
}


static int
cl_write(const char *path, const char *text)
{
    FILE  *f;
    int    rc;

    f = fopen(path, "w");
    if (f == NULL) {
        return cl_fail(BLD_CLONE_FAILED, "writing the answer");
    }

    rc = fputs(text, f) == EOF;
    rc |= fclose(f) == EOF;

    return rc ? cl_fail(BLD_CLONE_FAILED, "writing the answer") : 0;
}


static int
cl_build(git_repository *repo, git_object *commit)
{
    git_checkout_options   co;
    const char            *msg;
    char                   sha[GIT_OID_HEXSZ + 1], *text;
    int                    rc;

    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_FORCE;

    if (git_checkout_tree(repo, commit, &co) != 0
        || git_repository_set_head_detached(repo, git_object_id(commit))
           != 0)
    {
        return cl_fail(BLD_CLONE_FAILED, "checkout");
    }

    git_oid_tostr(sha, sizeof(sha), git_object_id(commit));
    msg = git_commit_summary((git_commit *) commit);

    if (asprintf(&text, "%s\n%.255s\n", sha, msg != NULL ? msg : "") == -1) {
        return cl_fail(BLD_CLONE_FAILED, "out of memory");
    }

    rc = cl_write("clone.out", text);
    free(text);
    return rc;
}


/* only what so_detect reads, checked out; its answer in detect.out */
static int
cl_detect(git_repository *repo, git_tree *tree, const char *root)
{
    git_checkout_options   co;
    git_tree_entry        *e;
    so_detect_t            d;
    json_t                *j;
    char                  *paths[SO_DETECT_FILES_MAX], dir[4096], *text;
    size_t                 n;
    int                    rc;

    e = NULL;
    n = 0;
    rc = BLD_CLONE_FAILED;

    if (root[0] != '\0') {
        if (git_tree_entry_bypath(&e, tree, root) != 0
            || git_tree_entry_type(e) != GIT_OBJECT_TREE)
        {
            fprintf(stderr, "clone: root dir %s is not a directory of the "
                    "repository\n", root);
            rc = BLD_CLONE_NOROOT;
            goto done;
        }
    }

    for (n = 0; so_detect_files[n] != NULL; n++) {
        if (asprintf(&paths[n], "%s%s%s", root, root[0] ? "/" : "",
                     so_detect_files[n]) == -1)
        {
            goto done;
        }
    }

    git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
    co.checkout_strategy = GIT_CHECKOUT_FORCE
                           | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
    co.paths.strings = paths;
    co.paths.count = n;

    if (git_checkout_tree(repo, (git_object *) tree, &co) != 0) {
        rc = cl_fail(BLD_CLONE_FAILED, "checkout");
        goto done;
    }

    /* nothing checked out (no file so_detect knows): nothing detected */
    memset(&d, 0, sizeof(d));
    snprintf(dir, sizeof(dir), "%s/%s", CL_DIR, root);
    rc = so_detect(&d, dir);

    j = so_detect_json(&d, rc == SO_OK);
    text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);

    rc = text != NULL ? cl_write("detect.out", text)
                      : cl_fail(BLD_CLONE_FAILED, "out of memory");
    free(text);

done:

    while (n > 0) {
        free(paths[--n]);
    }
    git_tree_entry_free(e);
    return rc;
}


int
bld_clone_main(void)
{
    git_repository  *repo;
    git_object      *obj;
    git_tree        *tree;
    git_oid          oid;
    char            *url, *branch, *commit, *token, *detect;
    char             err[SO_ERRLEN];
    int              rc;

    repo = NULL;
    obj = NULL;
    tree = NULL;

    url = cl_env("SHIPOFF_CLONE_URL");
    branch = cl_env("SHIPOFF_CLONE_BRANCH");
    commit = cl_env("SHIPOFF_CLONE_COMMIT");
    token = cl_env("SHIPOFF_CLONE_TOKEN");
    detect = cl_env("SHIPOFF_CLONE_DETECT");

    if (url == NULL || branch == NULL || so_git_init() != SO_OK) {
        fprintf(stderr, "clone: no repository given\n");
        rc = BLD_CLONE_FAILED;
        goto done;
    }

    /* a file:// repository belongs to another uid than ours */
    git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);

    rc = so_git_clone(url, branch, CL_DIR, token, err, sizeof(err));

    if (token != NULL) {
        so_wipe(token, strlen(token));
    }

    if (rc != SO_OK) {
        fprintf(stderr, "clone: %s\n", err);
        rc = rc == SO_ENOTFOUND ? BLD_CLONE_NOTFOUND
             : rc == SO_ETOOBIG ? BLD_CLONE_TOOBIG : BLD_CLONE_FAILED;
        goto done;
    }

    if (git_repository_open(&repo, CL_DIR) != 0) {
        rc = cl_fail(BLD_CLONE_FAILED, "open");
        goto done;
    }

    if (commit != NULL && commit[0] != '\0') {
        if (git_oid_fromstr(&oid, commit) != 0
            || git_object_lookup(&obj, repo, &oid, GIT_OBJECT_COMMIT) != 0)
        {
            fprintf(stderr, "clone: commit %s is not on branch %s\n",
                    commit, branch);
            rc = BLD_CLONE_NOTFOUND;
            goto done;
        }

    } else if (git_revparse_single(&obj, repo, "HEAD^{commit}") != 0) {
        rc = cl_fail(BLD_CLONE_FAILED, "HEAD");
        goto done;
    }

    if (git_commit_tree(&tree, (git_commit *) obj) != 0) {
        rc = cl_fail(BLD_CLONE_FAILED, "the commit's tree");
        goto done;
    }

    rc = cl_check(tree);
    if (rc == 0) {
        rc = detect != NULL ? cl_detect(repo, tree, detect)
                            : cl_build(repo, obj);
    }

done:

    git_tree_free(tree);
    git_object_free(obj);
    git_repository_free(repo);
    free(url);
    free(branch);
    free(commit);
    free(token);
    free(detect);
    git_libgit2_shutdown();
    return rc;
}
