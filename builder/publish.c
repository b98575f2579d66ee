/*
 * publish.c: a static site's artifact, and an app's tree.
 *
 * The build's output dir is copied into var/sites/<project>/<deployment>/
 * by shipoffd (root), from a tree the build (another uid) wrote: so the
 * copy starts from a directory fd the worker resolved beneath the fd of
 * the checkout it opened before the build (source.c), walks with openat()
 * relative to directory fds and O_NOFOLLOW, never by path, and takes
 * regular files and directories only.  A symlink is skipped and logged,
 * wherever it points: nginx refuses symlinks below the root anyway
 * (disable_symlinks), and one that pointed out of the build would
 * otherwise publish the host's files.  A file is published only if the
 * build's uid owns it, checked on the open file: a hard link to a file of
 * root's (or anyone else's) is not the build's to publish, whatever its
 * name.  .git is never published (a site whose output dir is the
 * repository root).
 *
 * An app's tree (bld_publish_copy's app) is copied the same way, from the fd of
 * its root dir held since before the build, to var/apps/<project>/<id>,
 * except that symlinks are kept as links (node_modules/.bin, a venv's
 * python3: the app runs in its sandbox, which follows them there, and
 * nothing serves its files), modes are kept, nothing is precompressed,
 * and everything is owned by the sandbox uid.  A copy, not a rename: the
 * build's work dir is a file system of its own (workfs.c).
 *
 * _redirects and _headers are copied as they are: the static module reads
 * Netlify's syntax itself.  Text assets of 1 KiB or more get a gzip
 * sibling (.gz) that nginx serves to clients that accept it.
 *
 * Kept artifacts: the newest keep_artifacts per project, PRODUCTION
 * included; older INACTIVE ones lose their directory and artifact_path
 * (the row first, so a rollback never points at a half-deleted tree).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "shipoff.h"
#include "so_fd.h"
#include "so_log.h"
#include "worker.h"

#define PUB_DEPTH_MAX  64
#define PUB_GZIP_MIN   1024

typedef struct {
    bld_log_t   *log;
    uid_t        uid;               /* the build's: owns what is published */
    gid_t        gid;
    int          app;               /* an app's tree: links, modes, owner */
    char         path[PATH_MAX];    /* relative, for the log */
    char        *err;
    size_t       errlen;
    long long    files;
    long long    gzipped;
    long long    skipped;
} pub_ctx_t;


static int pub_dir(pub_ctx_t *ctx, int sfd, int dfd, int depth);
static int pub_mkdir(const pub_ctx_t *ctx, int dfd, const char *name);
static int pub_file(pub_ctx_t *ctx, int sfd, int dfd, const char *name,
    const struct stat *st);
static int pub_link(pub_ctx_t *ctx, int sfd, int dfd, const char *name,
    const struct stat *st);
static int pub_gzip(int sfd, int dfd, const char *name);
static int pub_is_text(const char *name);
static int pub_fail(pub_ctx_t *ctx, const char *what);
static int pub_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw);


/* "what path: the reason" in ctx->err: SO_ERR */
static int
pub_fail(pub_ctx_t *ctx, const char *what)
{
    snprintf(ctx->err, ctx->errlen, "%s %s: %s", what, ctx->path,
             strerror(errno));
    return SO_ERR;
}


static int
pub_is_text(const char *name)
{
    static const char  *exts[] = { ".html", ".htm", ".css", ".js", ".mjs",
                                   ".json", ".svg", ".txt", ".xml",
                                   ".map" };
    const char         *dot;
    size_t              i;

    dot = strrchr(name, '.');
    if (dot == NULL) {
        return 0;
    }

    for (i = 0; i < so_nelems(exts); i++) {
        if (strcmp(dot, exts[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * name.gz beside name in dfd, unless the site brings its own (in sfd):
 * the copy takes that one whether it comes before or after name, so
 * ours must not be there first.
 */
static int
pub_gzip(int sfd, int dfd, const char *name)
{
    struct stat  st;
    gzFile       gz;
    char         buf[16384], path[NAME_MAX + 4];
    ssize_t      n;
    int          ifd, ofd, rc;

    if ((size_t) snprintf(path, sizeof(path), "%s.gz", name) >= sizeof(path))
    {
        return SO_OK;
    }

    if (fstatat(sfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return SO_EEXISTS;
    }

    ifd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (ifd == -1) {
        return SO_ERR;
    }

    ofd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                 | O_CLOEXEC, 0644);
    if (ofd == -1) {
        close(ifd);
        return errno == EEXIST ? SO_EEXISTS : SO_ERR;
    }

    /* a gzip header and trailer around the deflate stream, level 9 */
    gz = gzdopen(ofd, "wb9");
    rc = gz != NULL ? SO_OK : SO_ERR;

    while (rc == SO_OK && (n = read(ifd, buf, sizeof(buf))) != 0) {
        if (n < 0 || gzwrite(gz, buf, (unsigned) n) != (int) n) {
            rc = SO_ERR;
        }
    }

    close(ifd);
    if (gz == NULL) {
        close(ofd);
    } else if (gzclose(gz) != Z_OK) {
        rc = SO_ERR;
    }

    if (rc != SO_OK) {
        unlinkat(dfd, path, 0);
    }

    return rc;
}


static int
pub_file(pub_ctx_t *ctx, int sfd, int dfd, const char *name,
    const struct stat *st)
{
    struct stat  fst;
    char         buf[65536];
    ssize_t      n;
    int          ifd, ofd, rc;

    ifd = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (ifd == -1) {
        return pub_fail(ctx, "open");
    }

    if (fstat(ifd, &fst) == -1) {
        pub_fail(ctx, "stat");
        close(ifd);
        return SO_ERR;
    }

    /* what was opened is what was looked at, and the build's own */
    if (!S_ISREG(fst.st_mode)
        || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev
        || fst.st_uid != ctx->uid)
    {
        bld_log_sys(ctx->log, "skipped %s: not a file of the build's own "
                    "(owner uid %d)", ctx->path, (int) fst.st_uid);
        ctx->skipped++;
        close(ifd);
        return SO_OK;
    }

    ofd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                 | O_CLOEXEC, ctx->app ? fst.st_mode & 0755 : 0644);
    if (ofd == -1 || (ctx->app && fchown(ofd, ctx->uid, ctx->gid) == -1)) {
        pub_fail(ctx, "create");
        so_fd_close(&ofd);
        close(ifd);
        return SO_ERR;
    }

    rc = SO_OK;
    while ((n = read(ifd, buf, sizeof(buf))) != 0) {
        if (n < 0 || write(ofd, buf, (size_t) n) != n) {
            rc = pub_fail(ctx, "copy");
            break;
        }
    }

    close(ifd);
    if (close(ofd) == -1 && rc == SO_OK) {
        rc = pub_fail(ctx, "write");
    }

    if (rc != SO_OK) {
        return rc;
    }

    ctx->files++;

    if (!ctx->app && st->st_size >= PUB_GZIP_MIN && pub_is_text(name)) {
        rc = pub_gzip(sfd, dfd, name);
        if (rc == SO_OK) {
            ctx->gzipped++;
        } else if (rc != SO_EEXISTS) {
            bld_log_sys(ctx->log, "could not precompress %s", ctx->path);
        }
    }

    return SO_OK;
}


/* an app's symlink, as it is: where it points is the app's business */
static int
pub_link(pub_ctx_t *ctx, int sfd, int dfd, const char *name,
    const struct stat *st)
{
    char     target[PATH_MAX];
    ssize_t  n;

    n = readlinkat(sfd, name, target, sizeof(target) - 1);
    if (n < 0 || n != st->st_size) {
        snprintf(ctx->err, ctx->errlen, "readlink %s: %s", ctx->path,
                 n < 0 ? strerror(errno) : "changed");
        return SO_ERR;
    }
    target[n] = '\0';

    if (symlinkat(target, dfd, name) == -1
        || fchownat(dfd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) == -1)
    {
        return pub_fail(ctx, "symlink");
    }

    ctx->files++;
    return SO_OK;
}


static int
pub_dir(pub_ctx_t *ctx, int sfd, int dfd, int depth)
{
    DIR            *dir;
    struct dirent  *de;
    struct stat     st;
    size_t          plen;
    int             rc, csfd, cdfd;

    if (depth > PUB_DEPTH_MAX) {
        snprintf(ctx->err, ctx->errlen, "%s: nested deeper than %d",
                 ctx->path, PUB_DEPTH_MAX);
        close(sfd);
        return SO_ERR;
    }

    dir = fdopendir(sfd);
    if (dir == NULL) {
        pub_fail(ctx, "read");
        close(sfd);
        return SO_ERR;
    }

    rc = SO_OK;
    plen = strlen(ctx->path);

    while (rc == SO_OK && (de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0
            || strcmp(de->d_name, ".git") == 0)
        {
            continue;
        }

        snprintf(ctx->path + plen, sizeof(ctx->path) - plen, "%s%s",
                 plen ? "/" : "", de->d_name);

        if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
        {
            rc = pub_fail(ctx, "stat");
            break;
        }

        if (S_ISREG(st.st_mode)) {
            rc = pub_file(ctx, dirfd(dir), dfd, de->d_name, &st);

        } else if (S_ISDIR(st.st_mode)) {
            cdfd = pub_mkdir(ctx, dfd, de->d_name);
            csfd = cdfd == -1 ? -1 : openat(dirfd(dir), de->d_name,
                                            O_RDONLY | O_DIRECTORY
                                            | O_NOFOLLOW | O_CLOEXEC);
            if (csfd == -1) {
                rc = pub_fail(ctx, cdfd == -1 ? "mkdir" : "open");
                so_fd_close(&cdfd);
                break;
            }

            rc = pub_dir(ctx, csfd, cdfd, depth + 1);
            close(cdfd);

        } else if (S_ISLNK(st.st_mode) && ctx->app) {
            rc = pub_link(ctx, dirfd(dir), dfd, de->d_name, &st);

        } else {
            bld_log_sys(ctx->log, "skipped %s: %s are not published",
                        ctx->path, S_ISLNK(st.st_mode) ? "symlinks"
                                                       : "special files");
            ctx->skipped++;
        }

        ctx->path[plen] = '\0';
    }

    closedir(dir);
    return rc;
}


/* the dir name made in dfd and opened, an app's owned by its uid; -1 */
static int
pub_mkdir(const pub_ctx_t *ctx, int dfd, const char *name)
{
    int  fd;

    if (mkdirat(dfd, name, 0755) == -1) {
        return -1;
    }

    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd != -1 && ctx->app && fchown(fd, ctx->uid, ctx->gid) == -1) {
        so_fd_close(&fd);
    }

    return fd;
}


int
bld_publish_copy(int src, uid_t uid, int app, const char *dst,
    bld_log_t *log, char *err, size_t errlen)
{
    pub_ctx_t  ctx;
    int        sfd, dfd, rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.log = log;
    ctx.uid = uid;
    ctx.gid = (gid_t) uid;
    ctx.app = app;
    ctx.err = err;
    ctx.errlen = errlen;
    err[0] = '\0';

    /* an open of its own (pub_dir() reads and closes it): the caller's
       fd stays the caller's, its offset untouched */
    sfd = openat(src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd == -1) {
        snprintf(err, errlen, "open the tree: %s", strerror(errno));
        return SO_ERR;
    }

    dfd = pub_mkdir(&ctx, AT_FDCWD, dst);
    if (dfd == -1) {
        snprintf(err, errlen, "mkdir %s: %s", dst, strerror(errno));
        close(sfd);
        return SO_ERR;
    }

    rc = pub_dir(&ctx, sfd, dfd, 0);
    close(dfd);

    if (rc == SO_OK) {
        bld_log_sys(log, "published %lld %s (%lld precompressed, %lld "
                    "skipped)", ctx.files, app ? "files and links" : "files",
                    ctx.gzipped, ctx.skipped);
    }

    return rc;
}


static int
pub_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;

    if (flag == FTW_DP) {
        rmdir(path);
    } else {
        unlink(path);
    }

    return 0;
}


int
bld_remove_tree(const so_config_t *cfg, const char *path)
{
    char    base[PATH_MAX];
    size_t  n;

    if (path == NULL || path[0] == '\0') {
        return SO_OK;
    }

    if (realpath(cfg->var_dir, base) == NULL) {
        return SO_ERR;
    }

    n = strlen(base);
    if (strncmp(path, base, n) != 0 || path[n] != '/'
        || strstr(path, "/../") != NULL)
    {
        so_log_error("worker", "refusing to remove %s: not under %s", path,
                     base);
        return SO_EINVAL;
    }

    if (nftw(path, pub_rm, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == -1
        && errno != ENOENT)
    {
        return SO_ERR;
    }

    return SO_OK;
}


void
bld_remove_artifact(const so_config_t *cfg, const char *path)
{
    static const char  *beside[] = { ".stdout", ".stderr", ".fpm.conf" };
    char                out[PATH_MAX];
    size_t              i;

    bld_remove_tree(cfg, path);

    /* an app's output files lie beside its tree (apps.c), and a php-fpm
       app's pool (appfpm.c) */
    for (i = 0; i < so_nelems(beside); i++) {
        snprintf(out, sizeof(out), "%s%s", path, beside[i]);
        unlink(out);
    }
}


void
bld_publish_prune(so_pg_t *pg, const so_config_t *cfg, long long project_id,
    bld_log_t *log)
{
    PGresult    *res, *upd;
    char         proj[24], keep[24];
    const char  *params[2];
    int          i;

    snprintf(proj, sizeof(proj), "%lld", project_id);
    snprintf(keep, sizeof(keep), "%d",
             cfg->keep_artifacts > 1 ? cfg->keep_artifacts - 1 : 0);

    res = so_pg_query(pg, "prune_select",
                      "SELECT id, artifact_path FROM deployments"
                      " WHERE project_id = $1 AND state = 'INACTIVE'"
                      " AND artifact_path IS NOT NULL"
                      " ORDER BY id DESC OFFSET $2",
                      SO_PG_PARAMS(proj, keep));
    if (res == NULL) {
        so_log_warn("worker", "project=%s: pruning artifacts: %s", proj,
                    so_pg_errstr(pg));
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        params[0] = PQgetvalue(res, i, 0);
        params[1] = PQgetvalue(res, i, 1);

        upd = so_pg_query(pg, "prune_update",
                          "UPDATE deployments SET artifact_path = NULL"
                          " WHERE id = $1 AND artifact_path = $2"
                          " AND state = 'INACTIVE'",
                          2, params);
        if (upd != NULL && strcmp(PQcmdTuples(upd), "1") == 0) {
            bld_remove_artifact(cfg, params[1]);
            bld_log_sys(log, "removed the artifact of deployment %s",
                        params[0]);
        }
        PQclear(upd);
    }

    PQclear(res);
}
