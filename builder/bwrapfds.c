/*
 * bwrapfds.c: the fds bwrap reads: the seccomp filter and the environment.
 *
 * The environment goes neither on a command line (anyone may read
 * /proc/PID/cmdline, and apps get their secrets this way) nor into bwrap's
 * own environment (bwrap is execed with an empty one, so nothing a user
 * sets, LD_PRELOAD or LD_DEBUG_OUTPUT, acts on bwrap).  It is a memfd of
 * NUL-separated "--setenv NAME VALUE" triples, which bwrap parses as if
 * they were arguments (--args FD) and applies to the command it execs
 * only.  /proc/PID/environ of every bwrap process stays empty: setenv()
 * does not write to the area the kernel shows there.  The values live in
 * the memfd and bwrap's heap alone, readable by root and the sandbox uid,
 * and the sandbox sees neither (its own pid namespace, no ptrace).
 *
 * A wrapper that read the variables inside the sandbox would need a
 * trusted binary in every sandbox; bwrap's --args does the same job.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fd.h"
#include "bwrapfds.h"
#include "seccomp.h"


static int bf_env_fd(const char *const *envp);
static int bf_above_stdio(int fd);


int
bld_bwrap_fds_open(bld_bwrap_fds_t *f, const char *const *envp,
    char *err, size_t errlen)
{
    int  fd;

    f->seccomp = -1;
    f->env = -1;

    if (bld_seccomp_fd(&fd, err, errlen) != SO_OK) {
        return SO_ERR;
    }
    f->seccomp = bf_above_stdio(fd);
    f->env = bf_above_stdio(bf_env_fd(envp));

    if (f->seccomp == -1 || f->env == -1) {
        snprintf(err, errlen, "environment for bwrap: %s", strerror(errno));
        bld_bwrap_fds_close(f);
        return SO_ERR;
    }

    snprintf(f->seccomp_arg, sizeof(f->seccomp_arg), "%d", f->seccomp);
    snprintf(f->env_arg, sizeof(f->env_arg), "%d", f->env);
    return SO_OK;
}


void
bld_bwrap_fds_close(bld_bwrap_fds_t *f)
{
    so_fd_close(&f->seccomp);
    so_fd_close(&f->env);
}


/* a memfd of "--setenv\0NAME\0VALUE\0" per variable, at offset 0 */
static int
bf_env_fd(const char *const *envp)
{
    struct iovec   iov[4];
    const char    *eq;
    ssize_t        n;
    size_t         i, len;
    int            fd, e;

    fd = memfd_create("shipoff-env", MFD_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    for (i = 0; envp != NULL && envp[i] != NULL; i++) {
        eq = strchr(envp[i], '=');
        if (eq == NULL || eq == envp[i]) {
            continue;               /* no name: not a variable */
        }

        iov[0].iov_base = (void *) "--setenv";
        iov[0].iov_len = sizeof("--setenv");
        iov[1].iov_base = (void *) envp[i];
        iov[1].iov_len = (size_t) (eq - envp[i]);
        iov[2].iov_base = (void *) "";
        iov[2].iov_len = 1;
        iov[3].iov_base = (void *) (eq + 1);
        iov[3].iov_len = strlen(eq + 1) + 1;
        len = iov[0].iov_len + iov[1].iov_len + 1 + iov[3].iov_len;

        n = writev(fd, iov, 4);
        if (n != (ssize_t) len) {
            errno = n == -1 ? errno : EIO;
            goto failed;
        }
    }

    if (lseek(fd, 0, SEEK_SET) == 0) {
        return fd;
    }

failed:

    e = errno;
    close(fd);
    errno = e;
    return -1;
}


/* the child puts /dev/null and the output pipes on 0-2 */
static int
bf_above_stdio(int fd)
{
    int  high;

    if (fd == -1 || fd > STDERR_FILENO) {
        return fd;
    }

    high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return high;
}
