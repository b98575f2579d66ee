/*
 * appfs.c: a running app's writable, ephemeral copy-on-write tree, and
 * its disk quota.
 *
 * Apps expect to write where they run: a fresh `django-admin
 * startproject` opens db.sqlite3 beside manage.py, PHP keeps sessions in
 * /var/lib/php/sessions, many write /tmp.  The published artifact must
 * stay as built (a restart or a rollback starts from it again, as on
 * Heroku or Render), and a loop writing must not fill the host's disk.
 *
 * So each start of an app gets an ext4 file system of app_disk bytes
 * (workfs.c's image: sparse, on a loop device), and the sandbox mounts it
 * in a mount namespace of its own (sandbox.h: bld_sandbox_cow_t) with an
 * overlay over the app's tree: the artifact the lower layer, the writes
 * in the upper one on that file system, as are the app's /tmp (its HOME),
 * /var/tmp and PHP's session dir.  Past app_disk a write fails with
 * ENOSPC; the app runs on.
 *
 * Nothing of it is on the host once the app started: the image file is
 * removed as soon as its loop device holds it, the mounts exist only in
 * the app's namespace, and the loop device clears itself when they go
 * with the app's last process.  No cleanup when an app stops, is replaced
 * or adopted by the next shipoffd: there is nothing to clean.
 *
 * mkfs is most of what a start costs the platform (tens of ms, on a wake
 * the user waits for), so it is done ahead: the supervisor's check keeps
 * one formatted image, appfs/spare.img (its root root's: the sandbox makes
 * and chowns the dirs in it), and a start takes it with one rename(2).
 * Two starts between checks: the second formats the spare itself first.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shipoff.h"
#include "apps.h"
#include "worker.h"


/* writable places of the runtimes: under mnt, where the app sees them */
static const char *const  appfs_places[][2] = {
    { "tmp", "/tmp" },
    { "var-tmp", "/var/tmp" },
    { "php-sessions", "/var/lib/php/sessions" },
};


/* the one mount point, and the spare image beside it */
static int
appfs_dir(char *mnt, size_t len, char *spare, const so_config_t *cfg)
{
    int  n;

    n = snprintf(mnt, len, "%s/appfs", cfg->var_dir);
    if (n < 0 || (size_t) n >= len || strpbrk(mnt, ",:\\") != NULL) {
        return SO_EINVAL;
    }
    snprintf(spare, PATH_MAX, "%s/spare.img", mnt);

    if (mkdir(mnt, 0700) == -1 && errno != EEXIST) {
        return SO_ERR;
    }

    return SO_OK;
}


/* the spare of app_disk bytes, formatted now unless it is there already */
static int
appfs_spare_make(const so_config_t *cfg, const char *spare, char *err,
    size_t errlen)
{
    struct stat  st;
    char         tmp[PATH_MAX + 8];

    /* one of another app_disk (the config changed) is no spare */
    if (stat(spare, &st) == 0) {
        if ((size_t) st.st_size == cfg->app_disk) {
            return SO_OK;
        }
        (void) unlink(spare);
    }

    snprintf(tmp, sizeof(tmp), "%s.tmp", spare);
    (void) unlink(tmp);

    if (bld_workfs_format(tmp, cfg->app_disk, 0, 0, err, errlen) != SO_OK) {
        return SO_ERR;
    }

    if (rename(tmp, spare) == -1) {
        snprintf(err, errlen, "%s: %s", spare, strerror(errno));
        (void) unlink(tmp);
        return SO_ERR;
    }

    return SO_OK;
}


int
bld_appfs_spare(const so_config_t *cfg)
{
    char  mnt[PATH_MAX], spare[PATH_MAX], err[BLD_SB_ERRLEN];

    if (appfs_dir(mnt, sizeof(mnt), spare, cfg) != SO_OK) {
        return SO_ERR;
    }

    if (appfs_spare_make(cfg, spare, err, sizeof(err)) != SO_OK) {
        so_log_warn("apps", "the spare app image: %s", err);
        return SO_ERR;
    }

    return SO_OK;
}


int
bld_appfs_open(bld_appfs_t *fs, const so_config_t *cfg, long long deployment,
    const char *tree, char *err, size_t errlen)
{
    struct stat  st;
    char         image[PATH_MAX], spare[PATH_MAX];
    size_t       i, d, b;
    int          rc;

    memset(fs, 0, sizeof(*fs));
    fs->loop = -1;

    /* one mount point for every app: each mounts it in its own namespace */
    rc = strpbrk(tree, ",:\\") != NULL
         ? SO_EINVAL : appfs_dir(fs->mnt, sizeof(fs->mnt), spare, cfg);
    if (rc == SO_EINVAL) {
        snprintf(err, errlen, "%s: not usable as an overlay's path", tree);
        return SO_EINVAL;
    }
    if (rc != SO_OK) {
        snprintf(err, errlen, "%s: %s", fs->mnt, strerror(errno));
        return SO_ERR;
    }

    /* what a shipoffd killed between the two steps below left */
    snprintf(image, sizeof(image), "%s/app-%lld.img", fs->mnt, deployment);
    (void) unlink(image);

    /* the spare, formatted now if the supervisor's check has not yet */
    if (appfs_spare_make(cfg, spare, err, errlen) != SO_OK) {
        return SO_ERR;
    }
    if (rename(spare, image) == -1) {
        snprintf(err, errlen, "%s: %s", spare, strerror(errno));
        return SO_ERR;
    }
    if (bld_workfs_attach(&fs->loop, fs->dev, sizeof(fs->dev), image, err,
                          errlen)
        != SO_OK)
    {
        return SO_ERR;
    }
    (void) unlink(image);

    snprintf(fs->path[0], sizeof(fs->path[0]), "%s/upper", fs->mnt);
    snprintf(fs->path[1], sizeof(fs->path[1]), "%s/work", fs->mnt);
    snprintf(fs->overlay, sizeof(fs->overlay),
             "lowerdir=%s,upperdir=%s,workdir=%s", tree, fs->path[0],
             fs->path[1]);

    d = 0;
    b = 0;
    fs->dirs[d++] = fs->path[0];
    fs->dirs[d++] = fs->path[1];

    for (i = 0; i < so_nelems(appfs_places); i++) {
        /* bwrap could not make a missing mount point in the read-only
           root: a runtime that is not installed needs none */
        if (stat(appfs_places[i][1], &st) == -1 || !S_ISDIR(st.st_mode)) {
            continue;
        }

        snprintf(fs->path[d], sizeof(fs->path[d]), "%s/%s", fs->mnt,
                 appfs_places[i][0]);
        fs->dirs[d] = fs->path[d];
        fs->binds[b++] = fs->path[d];
        fs->binds[b++] = appfs_places[i][1];
        d++;
    }

    fs->dirs[d] = NULL;
    fs->binds[b] = NULL;

    fs->cow.dev = fs->dev;
    fs->cow.mnt = fs->mnt;
    fs->cow.overlay = fs->overlay;
    fs->cow.dirs = fs->dirs;
    fs->cow.binds = fs->binds;

    return SO_OK;
}
