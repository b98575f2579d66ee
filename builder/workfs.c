/*
 * workfs.c: a build's work dir as a file system of its own, which is the
 * build's disk quota.
 *
 * A build writes what it likes in its work dir (a clone, node_modules, an
 * output), as the sandbox uid, on the host's disk: a loop could fill it.
 * Memory limits do not bound it and a cgroup does not count it, so the
 * work dir is an ext4 image of sandbox_disk bytes (sparse: it takes only
 * what is written), made by mkfs.ext4 beside the dir, attached to a free
 * loop device (auto-cleared: it detaches once unmounted) and mounted
 * nosuid, nodev on the dir, in the worker's own mount namespace (see
 * wfs_mount).  A build that writes more gets ENOSPC.
 *
 * What outlives the build leaves it by copy (publish.c): static output to
 * var/sites, an app's tree to var/apps.  bld_workfs_close() detaches the
 * mount and removes the image and the dir; a killed attempt leaves those
 * two (its mount ended with its namespace), which the next one removes.  A detection's work dir is a plain dir (disk 0).
 *
 * A running app's writable layer is the same file system (appfs.c:
 * bld_workfs_format() ahead, bld_workfs_attach() at its start, mounted by
 * the sandbox in its own namespace).
 */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <limits.h>
#include <linux/loop.h>

#include "shipoff.h"
#include "so_fd.h"
#include "so_log.h"
#include "worker.h"

#define WFS_MKFS   "/sbin/mkfs.ext4"
#define WFS_TRIES  8                /* loop devices taken under our feet */

extern char  **environ;


static int wfs_mkfs(const char *image, uid_t uid, gid_t gid, char *err,
    size_t errlen);
static int wfs_mount(const char *dir, const char *image, size_t size,
    uid_t uid, char *err, size_t errlen);


static int
wfs_mkfs(const char *image, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    char   owner[64];
    char  *argv[] = { WFS_MKFS, "-q", "-F", "-m", "0", "-O", "^has_journal",
                      "-E", owner, (char *) image, NULL };
    pid_t  pid;
    int    status, rc;

    /* the root dir the sandbox uid's; inode tables written lazily */
    snprintf(owner, sizeof(owner), "lazy_itable_init=1,root_owner=%d:%d",
             (int) uid, (int) gid);

    rc = posix_spawn(&pid, WFS_MKFS, NULL, NULL, argv, environ);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", WFS_MKFS, strerror(rc));
        return SO_ERR;
    }

    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)
        || WEXITSTATUS(status) != 0)
    {
        snprintf(err, errlen, "%s failed", WFS_MKFS);
        return SO_ERR;
    }

    return SO_OK;
}


int
bld_workfs_attach(int *out, char *dev, size_t devlen, const char *image,
    char *err, size_t errlen)
{
    struct loop_config  lc;
    int                 ctl, fd, img, n, i;

    *out = -1;

    ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    img = open(image, O_RDWR | O_CLOEXEC);
    if (ctl == -1 || img == -1) {
        snprintf(err, errlen, "%s: %s", ctl == -1 ? "/dev/loop-control"
                 : image, strerror(errno));
        goto fail;
    }

    for (i = 0; i < WFS_TRIES; i++) {
        n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) {
            snprintf(err, errlen, "no free loop device: %s",
                     strerror(errno));
            goto fail;
        }

        snprintf(dev, devlen, "/dev/loop%d", n);
        fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd == -1) {
            snprintf(err, errlen, "%s: %s", dev, strerror(errno));
            goto fail;
        }

        memset(&lc, 0, sizeof(lc));
        lc.fd = (unsigned) img;
        lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;

        if (ioctl(fd, LOOP_CONFIGURE, &lc) == 0) {
            close(ctl);
            close(img);
            *out = fd;
            return SO_OK;
        }

        close(fd);
        if (errno != EBUSY) {
            snprintf(err, errlen, "%s: %s", dev, strerror(errno));
            goto fail;
        }
    }

    snprintf(err, errlen, "every free loop device was taken meanwhile");

fail:

    so_fd_close(&ctl);
    so_fd_close(&img);
    unlink(image);
    return SO_ERR;
}


int
bld_workfs_format(const char *image, size_t size, uid_t uid, gid_t gid,
    char *err, size_t errlen)
{
    int  fd;

    fd = open(image, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd == -1 || ftruncate(fd, (off_t) size) == -1) {
        snprintf(err, errlen, "%s: %s", image, strerror(errno));
        so_fd_close(&fd);
        return SO_ERR;
    }
    close(fd);

    if (wfs_mkfs(image, uid, gid, err, errlen) != SO_OK) {
        unlink(image);
        return SO_ERR;
    }

    return SO_OK;
}


static int
wfs_mount(const char *dir, const char *image, size_t size, uid_t uid,
    char *err, size_t errlen)
{
    char  dev[32], lost[PATH_MAX];
    int   loop;

    /*
     * Mounted in a mount namespace of the calling process's own (a worker
     * is one build, and its sandboxes start from it): the host's never
     * holds it, so a sandbox starting beside it cannot see it go while
     * bwrap remounts each of the host's mounts (which failed that start
     * with ENOENT), and a killed worker's mount ends with it.
     */
    if (unshare(CLONE_NEWNS) == -1
        || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1)
    {
        snprintf(err, errlen, "mount namespace: %s", strerror(errno));
        return SO_ERR;
    }

    if (bld_workfs_format(image, size, uid, (gid_t) uid, err, errlen)
        != SO_OK
        || bld_workfs_attach(&loop, dev, sizeof(dev), image, err, errlen)
           != SO_OK)
    {
        return SO_ERR;
    }

    if (mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME, "") == -1) {
        snprintf(err, errlen, "mount %s: %s", dir, strerror(errno));
        close(loop);                /* auto-clear needs a mount: detach */
        unlink(image);
        return SO_ERR;
    }

    /* the loop device stays bound while mounted; the fd is not needed */
    close(loop);

    /* ext4's own, root's: nothing of the build */
    snprintf(lost, sizeof(lost), "%s/lost+found", dir);
    (void) rmdir(lost);

    return SO_OK;
}


int
bld_workfs_open(int *fd, const so_config_t *cfg, const char *dir,
    size_t disk, uid_t uid, char *err, size_t errlen)
{
    char  path[PATH_MAX];

    *fd = -1;

    /* the sandbox uid must reach its work dir: x on builds/, nothing more */
    snprintf(path, sizeof(path), "%s/builds", cfg->var_dir);
    if ((mkdir(path, 0711) == -1 && errno != EEXIST)
        || chmod(path, 0711) == -1)
    {
        snprintf(err, errlen, "mkdir %s: %s", path, strerror(errno));
        return SO_ERR;
    }

    /* a leftover of an earlier attempt */
    bld_workfs_close(cfg, dir);

    snprintf(path, sizeof(path), "%s.img", dir);
    if (mkdir(dir, 0700) == -1) {
        snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
        return SO_ERR;
    }

    if (disk > 0 && wfs_mount(dir, path, disk, uid, err, errlen) != SO_OK) {
        return SO_ERR;
    }

    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (*fd == -1 || fchown(*fd, uid, (gid_t) uid) == -1) {
        snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
        so_fd_close(fd);
        return SO_ERR;
    }

    return SO_OK;
}


void
bld_workfs_close(const so_config_t *cfg, const char *dir)
{
    char  image[PATH_MAX];

    if (dir[0] == '\0') {
        return;
    }

    if (umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW) == -1
        && errno != EINVAL && errno != ENOENT)
    {
        so_log_warn("workfs", "umount %s: %s", dir, strerror(errno));
    }

    snprintf(image, sizeof(image), "%s.img", dir);
    (void) unlink(image);
    bld_remove_tree(cfg, dir);
}
