/*
 * sandbox.c: fork, confine, exec bubblewrap; reap and judge the end.
 *
 * The child joins the cgroup before anything else, so every process the
 * build ever starts is counted and killed with it.  It then drops to the
 * unprivileged uid and execs bwrap, which (not being setuid) makes a user
 * namespace for the mounts and the pid/ipc/uts namespaces.  The uid is
 * dropped outside, before exec: files the sandbox creates on the host
 * belong to that uid, and nothing inside ever runs as root on the host.
 *
 * Between fork and exec the child only makes async-signal-safe calls on
 * things prepared by the parent (argv, the cgroup's paths); a
 * failure there is written to a close-on-exec pipe, so the parent reads
 * EOF when the exec succeeded and the reason otherwise.
 *
 * bwrap reads two things from fds rather than from its command line:
 * the seccomp filter (seccomp.h, --seccomp FD) and the environment of the
 * command (--args FD).  Both are close-on-exec and above stdio; the child
 * clears the flag on exactly these two, and bwrap closes them before its
 * own exec.
 *
 * The environment goes neither on a command line (anyone may read
 * /proc/PID/cmdline, and apps get their secrets this way) nor into bwrap's
 * own environment (bwrap is execed with an empty one, so nothing a user
 * sets, LD_PRELOAD or LD_DEBUG_OUTPUT, acts on bwrap).  It is a memfd of
 * NUL-separated "--setenv NAME VALUE" triples, which bwrap parses as if
 * they were arguments and applies to the command it execs only.
 * /proc/PID/environ of every bwrap process stays empty: setenv() does not
 * write to the area the kernel shows there.  The values live in the memfd
 * and bwrap's heap alone, readable by root and the sandbox uid, and the
 * sandbox sees neither (its own pid namespace, no ptrace).  A wrapper that
 * read the variables inside the sandbox would need a trusted binary in
 * every sandbox; bwrap's --args does the same job.
 */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fd.h"
#include "sandbox.h"
#include "seccomp.h"

/* the fixed bwrap options and the NULL */
#define SB_ARGV_FIXED  40

/* the child is a copy of this process: the parent can read its string */
typedef struct {
    const char  *stage;
    int          errnum;
} sb_child_err_t;

/* what bwrap reads from fds: the seccomp filter, the environment */
typedef struct {
    int   fd[2];
    char  arg[2][16];               /* their numbers, for bwrap's argv */
} sb_fds_t;


static int sb_check(bld_sandbox_t *sb, const bld_sandbox_opts_t *o);
static int sb_fds_open(bld_sandbox_t *sb, const bld_sandbox_opts_t *o,
    sb_fds_t *f);
static int sb_env_write(int fd, const char *const *envp);
static int sb_memfd(const char *name);
static size_t sb_count(const char *const *list);
static char **sb_argv(bld_sandbox_t *sb, const bld_sandbox_opts_t *o,
    const sb_fds_t *f);
static void sb_child(const bld_sandbox_opts_t *o, const bld_sandbox_t *sb,
    char **argv, const sb_fds_t *f, int errfd)
    __attribute__((noreturn));
static int sb_child_cow(const bld_sandbox_opts_t *o);
static void sb_child_fail(int errfd, const char *stage)
    __attribute__((noreturn));
static int sb_timer(bld_sandbox_t *sb, unsigned ms);
static int sb_exec_wait(bld_sandbox_t *sb, const bld_sandbox_opts_t *o,
    pid_t pid, int fd);
static int sb_error(bld_sandbox_t *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* the message into sb->errstr: SO_ERR */
static int
sb_error(bld_sandbox_t *sb, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(sb->errstr, sizeof(sb->errstr), fmt, ap);
    va_end(ap);
    return SO_ERR;
}


static int
sb_check(bld_sandbox_t *sb, const bld_sandbox_opts_t *o)
{
    struct stat  st;

    assert(o->cfg != NULL && o->cgroups != NULL && o->name != NULL
           && o->argv != NULL && o->argv[0] != NULL && o->workdir != NULL);

    if (o->uid == 0) {
        sb_error(sb, "sandbox %s: refusing to run as root", o->name);
        return SO_EINVAL;
    }

    if (o->workdir[0] != '/' || lstat(o->workdir, &st) == -1
        || !S_ISDIR(st.st_mode) || st.st_uid != o->uid)
    {
        sb_error(sb, "sandbox %s: work dir %s must be an absolute "
                 "directory owned by uid %d", o->name, o->workdir,
                 (int) o->uid);
        return SO_EINVAL;
    }

    return SO_OK;
}


static int
sb_fds_open(bld_sandbox_t *sb, const bld_sandbox_opts_t *o, sb_fds_t *f)
{
    char  err[BLD_SB_ERRLEN];
    int   i;

    f->fd[0] = sb_memfd("shipoff-seccomp");
    f->fd[1] = sb_memfd("shipoff-env");
    if (f->fd[0] == -1 || f->fd[1] == -1
        || sb_env_write(f->fd[1], o->envp) == -1)
    {
        return sb_error(sb, "sandbox %s: environment for bwrap: %s",
                        o->name, strerror(errno));
    }

    if (bld_seccomp_write(f->fd[0], err, sizeof(err)) != SO_OK) {
        return sb_error(sb, "sandbox %s: %s", o->name, err);
    }

    /* bwrap reads each from its start */
    for (i = 0; i < 2; i++) {
        if (lseek(f->fd[i], 0, SEEK_SET) == -1) {
            return sb_error(sb, "sandbox %s: lseek: %s", o->name,
                            strerror(errno));
        }
        snprintf(f->arg[i], sizeof(f->arg[i]), "%d", f->fd[i]);
    }

    return SO_OK;
}


/* "--setenv\0NAME\0VALUE\0" per variable: 0, or -1 with errno */
static int
sb_env_write(int fd, const char *const *envp)
{
    const char  *eq;
    size_t       i, len;
    int          n;

    for (i = 0; envp != NULL && envp[i] != NULL; i++) {
        eq = strchr(envp[i], '=');
        if (eq == NULL || eq == envp[i]) {
            continue;               /* no name: not a variable */
        }

        len = sizeof("--setenv") + (size_t) (eq - envp[i]) + 1
              + strlen(eq + 1) + 1;
        n = dprintf(fd, "--setenv%c%.*s%c%s%c", '\0', (int) (eq - envp[i]),
                    envp[i], '\0', eq + 1, '\0');
        if (n < 0 || (size_t) n != len) {
            errno = n < 0 ? errno : EIO;
            return -1;
        }
    }

    return 0;
}


/* a memfd above stdio: the child puts /dev/null and the output pipes on
   0-2 */
static int
sb_memfd(const char *name)
{
    int  fd, high;

    fd = memfd_create(name, MFD_CLOEXEC);
    if (fd == -1 || fd > STDERR_FILENO) {
        return fd;
    }

    high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    close(fd);
    return high;
}


static size_t
sb_count(const char *const *list)
{
    size_t  n;

    for (n = 0; list != NULL && list[n] != NULL; n++) {
        /* counted */
    }

    return n;
}


/* the bwrap command line; the strings stay the caller's */
static char **
sb_argv(bld_sandbox_t *sb, const bld_sandbox_opts_t *o, const sb_fds_t *f)
{
    const char *const  *binds;
    struct stat         st;
    char              **argv;
    size_t              n, i;

    binds = o->cow != NULL ? o->cow->binds : NULL;
    n = SB_ARGV_FIXED + 3 * sb_count(o->hidden) + sb_count(o->argv)
        + 3 * (sb_count(o->ro_binds) + sb_count(binds)) / 2;

    argv = calloc(n, sizeof(char *));
    if (argv == NULL) {
        sb_error(sb, "sandbox %s: out of memory", o->name);
        return NULL;
    }

#define SB_ARG(s)  argv[n++] = (char *) (s)

    n = 0;
    SB_ARG(o->cfg->sandbox_bwrap);
    SB_ARG("--seccomp"); SB_ARG(f->arg[0]);
    SB_ARG("--args"); SB_ARG(f->arg[1]);
    SB_ARG("--ro-bind"); SB_ARG("/"); SB_ARG("/");
    SB_ARG("--dev"); SB_ARG("/dev");
    SB_ARG("--proc"); SB_ARG("/proc");
    SB_ARG("--tmpfs"); SB_ARG("/tmp");

    /* before the hidden paths and the work dir, which may lie in /tmp */
    for (i = 0; binds != NULL && binds[i] != NULL; i += 2) {
        SB_ARG("--bind"); SB_ARG(binds[i]);
        SB_ARG(binds[i + 1]);
    }

    /* before the work dir: bwrap makes its mount point inside a hidden dir */
    for (i = 0; o->hidden != NULL && o->hidden[i] != NULL; i++) {
        if (lstat(o->hidden[i], &st) == -1) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            SB_ARG("--tmpfs"); SB_ARG(o->hidden[i]);
        } else {
            SB_ARG("--ro-bind"); SB_ARG("/dev/null"); SB_ARG(o->hidden[i]);
        }
    }

    SB_ARG("--bind");
    SB_ARG(o->workdir); SB_ARG(o->workdir);

    for (i = 0; o->ro_binds != NULL && o->ro_binds[i] != NULL; i += 2) {
        SB_ARG("--ro-bind"); SB_ARG(o->ro_binds[i]);
        SB_ARG(o->ro_binds[i + 1]);
    }
    SB_ARG("--chdir"); SB_ARG(o->workdir);
    SB_ARG("--unshare-pid");
    SB_ARG("--unshare-ipc");
    SB_ARG("--unshare-uts");
    SB_ARG("--unshare-cgroup-try");
    if (!o->share_net && !o->own_net) {
        SB_ARG("--unshare-net");
    }
    SB_ARG("--new-session");
    if (!o->detach) {
        SB_ARG("--die-with-parent");
    }
    SB_ARG("--");
    for (i = 0; o->argv[i] != NULL; i++) {
        SB_ARG(o->argv[i]);
    }
    argv[n] = NULL;

#undef SB_ARG

    return argv;
}


static void
sb_child_fail(int errfd, const char *stage)
{
    sb_child_err_t  e;

    e.stage = stage;
    e.errnum = errno;
    if (write(errfd, &e, sizeof(e)) == -1) {
        /* the parent then sees a silent exit 127 */
    }
    _exit(127);
}


/* in the child, as root: o->cow's mounts, in a namespace of its own */
static int
sb_child_cow(const bld_sandbox_opts_t *o)
{
    const bld_sandbox_cow_t  *c;
    size_t                    i;

    c = o->cow;

    /* the host's later mounts and unmounts still reach the sandbox */
    if (unshare(CLONE_NEWNS) == -1
        || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == -1
        || mount(c->dev, c->mnt, "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
                 "") == -1)
    {
        return -1;
    }

    for (i = 0; c->dirs[i] != NULL; i++) {
        if (mkdir(c->dirs[i], 0755) == -1
            || chown(c->dirs[i], o->uid, (gid_t) o->uid) == -1)
        {
            return -1;
        }
    }

    return mount("overlay", o->workdir, "overlay", MS_NOSUID | MS_NODEV,
                 c->overlay);
}


/* async-signal-safe from here to execve() */
static void
sb_child(const bld_sandbox_opts_t *o, const bld_sandbox_t *sb, char **argv,
    const sb_fds_t *f, int errfd)
{
    struct sigaction  sa;
    sigset_t          all;
    int               devnull, sig;

    if (bld_cgroup_join(&sb->cg) == -1) {
        sb_child_fail(errfd, "join cgroup");
    }

    /* shipoffd blocks signals for its signalfd and ignores SIGPIPE */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    for (sig = 1; sig < NSIG; sig++) {
        sigaction(sig, &sa, NULL);
    }
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);

    if (setsid() == -1) {
        sb_child_fail(errfd, "setsid");
    }

    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull == -1 || dup2(devnull, STDIN_FILENO) == -1
        || dup2(o->stdout_fd != -1 ? o->stdout_fd : devnull, STDOUT_FILENO)
           == -1
        || dup2(o->stderr_fd != -1 ? o->stderr_fd : devnull, STDERR_FILENO)
           == -1
        || close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1
        || fcntl(f->fd[0], F_SETFD, 0) == -1
        || fcntl(f->fd[1], F_SETFD, 0) == -1)
    {
        sb_child_fail(errfd, "set up stdio");
    }

    /* root still: a namespace of the host's user namespace, so nothing
       in the sandbox can change its addresses, routes or rules */
    if (o->own_net && setns(sb->net.fd, CLONE_NEWNET) == -1) {
        sb_child_fail(errfd, "join the network namespace");
    }

    if (o->cow != NULL && sb_child_cow(o) == -1) {
        sb_child_fail(errfd, "mount the copy-on-write view");
    }

    if (setgroups(0, NULL) == -1 || setgid((gid_t) o->uid) == -1
        || setuid(o->uid) == -1)
    {
        sb_child_fail(errfd, "drop to uid");
    }

    execve(o->cfg->sandbox_bwrap, argv, (char *[]) { NULL });
    sb_child_fail(errfd, "exec bwrap");
}


static int
sb_timer(bld_sandbox_t *sb, unsigned ms)
{
    struct itimerspec  it = {
        .it_value.tv_sec = ms / 1000,
        .it_value.tv_nsec = (long) (ms % 1000) * 1000000L
    };

    sb->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (sb->timerfd == -1) {
        return SO_ERR;
    }

    return timerfd_settime(sb->timerfd, 0, &it, NULL) == -1 ? SO_ERR : SO_OK;
}


/*
 * The child closes the pipe's end (fd, CLOEXEC) by exec: end of file.  It
 * writes why it failed before, and exits: reaped here.  0 or SO_ERR.
 */
static int
sb_exec_wait(bld_sandbox_t *sb, const bld_sandbox_opts_t *o, pid_t pid,
    int fd)
{
    sb_child_err_t  ce;
    ssize_t         n;
    int             status;

    do {
        n = read(fd, &ce, sizeof(ce));
    } while (n == -1 && errno == EINTR);

    if (n == 0) {
        return SO_OK;
    }

    waitpid(pid, &status, 0);
    if (n != (ssize_t) sizeof(ce)) {
        return sb_error(sb, "sandbox %s: the child failed before exec",
                        o->name);
    }

    return sb_error(sb, "sandbox %s: %s: %s", o->name, ce.stage,
                    strerror(ce.errnum));
}


int
bld_sandbox_spawn(bld_sandbox_t *sb, const bld_sandbox_opts_t *o)
{
    sb_fds_t    fds;
    char      **argv;
    int         pipefd[2], rc;
    pid_t       pid;

    memset(sb, 0, sizeof(*sb));
    sb->net.fd = -1;
    sb->pidfd = -1;
    sb->timerfd = -1;
    pipefd[0] = -1;
    pipefd[1] = -1;
    fds.fd[0] = -1;
    fds.fd[1] = -1;
    argv = NULL;

    rc = sb_check(sb, o);
    if (rc != SO_OK) {
        goto done;
    }

    rc = sb_fds_open(sb, o, &fds);
    if (rc != SO_OK) {
        goto done;
    }

    argv = sb_argv(sb, o, &fds);
    if (argv == NULL) {
        rc = SO_ERR;
        goto done;
    }

    rc = bld_cgroup_create(&sb->cg, o->cgroups, o->name,
                           o->cfg->sandbox_memory,
                           (uint64_t) o->cfg->sandbox_pids);
    if (rc != SO_OK) {
        sb_error(sb, "sandbox %s: %s", o->name, sb->cg.errstr);
        goto done;
    }

    if (o->own_net && bld_netns_create(&sb->net, o->cfg) != SO_OK) {
        rc = sb_error(sb, "sandbox %s: %s", o->name, sb->net.errstr);
        goto done;
    }

    if (pipe2(pipefd, O_CLOEXEC) == -1) {
        rc = sb_error(sb, "sandbox %s: pipe: %s", o->name, strerror(errno));
        goto done;
    }

    pid = fork();
    if (pid == -1) {
        rc = sb_error(sb, "sandbox %s: fork: %s", o->name,
                      strerror(errno));
        goto done;
    }

    if (pid == 0) {
        close(pipefd[0]);
        sb_child(o, sb, argv, &fds, pipefd[1]);
    }

    so_fd_close(&pipefd[1]);

    rc = sb_exec_wait(sb, o, pid, pipefd[0]);
    if (rc != SO_OK) {
        goto done;
    }

    sb->pid = pid;

    /* the child is unreaped, so its pid cannot have been reused yet */
    sb->pidfd = pidfd_open(pid, 0);

    if (o->timeout_ms && sb_timer(sb, o->timeout_ms) != SO_OK) {
        rc = sb_error(sb, "sandbox %s: timerfd: %s", o->name,
                      strerror(errno));
        goto done;
    }

    rc = SO_OK;

done:

    /* the sandbox is in its namespace, which lives as long as it does,
       and the veth pair with it */
    so_fd_close(&sb->net.fd);
    so_fd_close(&fds.fd[0]);
    so_fd_close(&fds.fd[1]);
    so_fd_close(&pipefd[0]);
    so_fd_close(&pipefd[1]);
    free(argv);

    /* bld_sandbox_free() leaves sb->errstr as it is (its cgroup's errors
       are the cgroup's) */
    if (rc != SO_OK) {
        bld_sandbox_free(sb);
    }

    return rc;
}


int
bld_sandbox_expire(bld_sandbox_t *sb)
{
    int  rc;

    /* the deadline has done its part: its fd would only fire again */
    so_fd_close(&sb->timerfd);

    if (sb->pid == 0) {
        return SO_OK;
    }

    sb->timed_out = 1;
    rc = bld_cgroup_kill(&sb->cg);
    if (rc != SO_OK) {
        sb_error(sb, "sandbox %s: %s", sb->cg.name, sb->cg.errstr);
    }

    return rc;
}


int
bld_sandbox_reap(bld_sandbox_t *sb, bld_sandbox_result_t *res)
{
    int    status, rc;
    pid_t  r;

    if (sb->pid == 0) {
        *res = sb->res;
        return SO_OK;
    }

    do {
        r = waitpid(sb->pid, &status, WNOHANG);
    } while (r == -1 && errno == EINTR);

    if (r == 0) {
        res->status = BLD_SB_RUNNING;
        return SO_OK;
    }

    if (r == -1) {
        return sb_error(sb, "sandbox %s: waitpid: %s", sb->cg.name,
                        strerror(errno));
    }

    sb->pid = 0;
    rc = SO_OK;

    /* whatever outlived bwrap goes too, and the count is read first */
    if (bld_cgroup_kill(&sb->cg) != SO_OK
        || bld_cgroup_oom_kills(&sb->cg, &sb->res.oom_kills) != SO_OK
        || bld_cgroup_destroy(&sb->cg) != SO_OK)
    {
        rc = sb_error(sb, "sandbox %s: %s", sb->cg.name, sb->cg.errstr);
    }

    sb->res.code = WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                       : WEXITSTATUS(status);
    sb->res.status = sb->timed_out ? BLD_SB_TIMEOUT
                     : sb->res.oom_kills > 0 ? BLD_SB_OOM : BLD_SB_EXITED;

    so_fd_close(&sb->timerfd);

    *res = sb->res;
    return rc;
}


void
bld_sandbox_free(bld_sandbox_t *sb)
{
    if (sb == NULL) {
        return;
    }

    if (sb->pid != 0) {
        bld_cgroup_kill(&sb->cg);
        kill(sb->pid, SIGKILL);
        waitpid(sb->pid, NULL, 0);
        sb->pid = 0;
    }

    bld_cgroup_destroy(&sb->cg);

    so_fd_close(&sb->pidfd);
    so_fd_close(&sb->timerfd);
}
