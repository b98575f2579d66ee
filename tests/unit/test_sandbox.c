/*
 * test_sandbox.c: what a build or an app in shipoffd's sandbox can and
 * cannot do, with real cgroups and bubblewrap.
 *
 * Needs root (cgroups, dropping to nobody) and bwrap; skips with a reason
 * otherwise.  Every cgroup lives under shipoff/test-<pid>, which the group
 * teardown removes even when a case failed half-way.  Output is read the
 * way shipoffd reads it: one poll over the pipe, the pidfd and the timer.
 *
 * The system calls the seccomp filter refuses are made by this program
 * itself, run in the sandbox with SBT_PROBE_ARG: one forked process per
 * call, each printing "name errno" (or "name -SIGNO" when killed).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/userfaultfd.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_config.h"
#include "so_test.h"
#include "cgroup.h"
#include "sandbox.h"
#include "netns.h"
#include "worker.h"

#define SBT_BWRAP   "/usr/bin/bwrap"
#define SBT_UID     65534
#define SBT_GID     65534
#define SBT_OUTLEN  65536
#define SBT_MIB     (1024 * 1024)
#define SBT_PROBE_ARG  "--probe-syscalls"
#define SBT_X32     0x40000000      /* __X32_SYSCALL_BIT */


typedef struct {
    char                 *work;     /* the sandbox's work dir */
    char                 *scratch;  /* a case's host files, removed */
    char                 *mark;     /* a file in the host's /tmp */
    so_config_t           cfg;      /* the case's bwrap and limits */
    bld_sandbox_opts_t    o;
    bld_sandbox_t         sb;
    int                   spawned;
    bld_sandbox_result_t  res;
    char                  out[SBT_OUTLEN];  /* stdout and stderr */
    char                  dirs[BLD_CG_NHIER][BLD_CG_PATHLEN];
} sbt_t;

static bld_cgroup_sys_t  sbt_sys;
static char              sbt_parent[64];
static const char       *sbt_skip;          /* why the cases skip */
static unsigned          sbt_seq;
/* the PATH of every build step and app: node may be in /usr/local */
static const char       *sbt_env[] = { "PATH=" BLD_ENV_PATH, NULL };
static char              sbt_self[PATH_MAX];   /* this program */

typedef struct {
    const char  *name;
    long         nr;
    const void  *arg[5];        /* integers cast, as the kernel reads them */
    int          want;          /* errno in the sandbox; 0: allowed;
                                   -SIGNO: the process is killed */
} sbt_probe_t;

#define SBT_I(v)  ((const void *) (long) (v))

/*
 * Each call is one the kernel answers differently without the filter
 * (a success, or an error of its own: ENOENT for a path that does not
 * exist, EFAULT for a NULL structure, ENOTTY on /dev/null), so the
 * filter's answer is told apart from the kernel's.
 */
static const sbt_probe_t  sbt_probes[] = {
    { "unshare(CLONE_NEWUSER)", SYS_unshare,
      { SBT_I(CLONE_NEWUSER) }, EPERM },
    { "clone(CLONE_NEWUSER)", SYS_clone,
      { SBT_I(CLONE_NEWUSER | SIGCHLD) }, EPERM },
    { "clone3", SYS_clone3, { NULL }, ENOSYS },
    { "setns", SYS_setns, { SBT_I(-1) }, EPERM },
    { "add_key", SYS_add_key,
      { "user", "sbt", "v", SBT_I(1), SBT_I(KEY_SPEC_PROCESS_KEYRING) },
      EPERM },
    { "keyctl(uid keyring)", SYS_keyctl,
      { SBT_I(KEYCTL_GET_KEYRING_ID), SBT_I(KEY_SPEC_USER_KEYRING) },
      EPERM },
    { "ptrace(TRACEME)", SYS_ptrace, { SBT_I(PTRACE_TRACEME) }, EPERM },
    { "process_vm_readv", SYS_process_vm_readv, { NULL }, EPERM },
    { "mount", SYS_mount, { "none", "/sbt-nonexistent", "tmpfs" }, EPERM },
    { "umount2", SYS_umount2, { "/sbt-nonexistent" }, EPERM },
    { "perf_event_open", SYS_perf_event_open,
      { NULL, SBT_I(0), SBT_I(-1), SBT_I(-1) }, EPERM },
    { "userfaultfd", SYS_userfaultfd, { SBT_I(UFFD_USER_MODE_ONLY) },
      EPERM },
    { "io_uring_setup", SYS_io_uring_setup, { SBT_I(1) }, EPERM },
    { "personality(ADDR_NO_RANDOMIZE)", SYS_personality,
      { SBT_I(ADDR_NO_RANDOMIZE) }, EPERM },
    { "personality(query)", SYS_personality, { SBT_I(0xffffffff) }, 0 },
    { "personality(PER_LINUX)", SYS_personality, { SBT_I(PER_LINUX) }, 0 },
    { "ioctl(TIOCSTI)", SYS_ioctl, { SBT_I(0), SBT_I(TIOCSTI), "x" },
      EPERM },
    { "x32 getpid", SBT_X32 | SYS_getpid, { NULL }, -SIGSYS },
    { "getpid", SYS_getpid, { NULL }, 0 }
};
static so_config_t       sbt_cfg;           /* defaults: sandbox_network */
static const char       *sbt_net_skip;      /* why the network cases skip */

/* connects to each "address port" of argv, says how it went */
static const char        sbt_connect_py[] =
    "import socket, sys\n"
    "for i in range(1, len(sys.argv), 2):\n"
    "    s = socket.socket()\n"
    "    s.settimeout(3)\n"
    "    try:\n"
    "        s.connect((sys.argv[i], int(sys.argv[i + 1])))\n"
    "        r = 'open'\n"
    "    except socket.timeout:\n"
    "        r = 'timeout'\n"
    "    except OSError as e:\n"
    "        r = 'refused' if e.errno == 111 else 'unreachable'\n"
    "    print(sys.argv[i], r)\n";


static int
group_setup(void **state)
{
    if (geteuid() != 0) {
        sbt_skip = "not root: cgroups and the switch to nobody need root";
        return 0;
    }
    if (access(SBT_BWRAP, X_OK) != 0) {
        sbt_skip = SBT_BWRAP " is missing: install bubblewrap";
        return 0;
    }
    if (so_test_in_chroot()) {
        sbt_skip = "in a chroot (fresh-machine-check): the kernel refuses "
                   "new namespaces there";
        return 0;
    }

    if (realpath("/proc/self/exe", sbt_self) == NULL) {
        print_error("/proc/self/exe: %s\n", strerror(errno));
        return -1;
    }

    snprintf(sbt_parent, sizeof(sbt_parent), "shipoff/test-%d",
             (int) getpid());
    if (bld_cgroup_sys_init(&sbt_sys, sbt_parent) != SO_OK)
    {
        print_error("cgroups: %s\n", sbt_sys.errstr);
        return -1;
    }

    print_message("cgroup v%d, parent %s\n", sbt_sys.version, sbt_parent);

    {
        char  err[SO_ERRLEN];

        if (so_config_load(&sbt_cfg, NULL, err, sizeof(err)) != SO_OK) {
            print_error("config: %s\n", err);
            return -1;
        }
        if (access(sbt_cfg.sandbox_nft, X_OK) != 0) {
            sbt_net_skip = "nft is missing: install nftables (scripts/deps)";
        } else if (bld_netns_host_init(&sbt_cfg, err, sizeof(err))
                   != SO_OK)
        {
            print_error("sandbox network: %s\n", err);
            return -1;
        }
    }

    return 0;
}


static int
group_teardown(void **state)
{
    char  path[PATH_MAX];
    int   h;

    if (sbt_sys.version == 0) {
        return 0;
    }

    /* our own parent, then the shared one if nobody else uses it */
    for (h = 0; h < BLD_CG_NHIER; h++) {
        if (sbt_sys.root[h][0] == '\0') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", sbt_sys.root[h], sbt_parent);
        if (rmdir(path) == -1 && errno != ENOENT) {
            print_error("rmdir %s: %s\n", path, strerror(errno));
            return -1;
        }
        snprintf(path, sizeof(path), "%s/shipoff", sbt_sys.root[h]);
        rmdir(path);
    }

    return 0;
}


static int
setup(void **state)
{
    sbt_t  *t;

    t = calloc(1, sizeof(*t));
    assert_non_null(t);

    if (sbt_skip == NULL) {
        t->work = so_test_mkdtemp();
        assert_int_equal(chown(t->work, SBT_UID, SBT_GID), 0);
        assert_int_equal(chmod(t->work, 0755), 0);
    }

    t->cfg = sbt_cfg;
    t->cfg.sandbox_bwrap = SBT_BWRAP;
    t->cfg.sandbox_memory = 512ULL * SBT_MIB;
    t->cfg.sandbox_pids = 256;

    t->o.cfg = &t->cfg;
    t->o.cgroups = &sbt_sys;
    t->o.workdir = t->work;
    t->o.envp = sbt_env;
    t->o.uid = SBT_UID;
    t->o.stdout_fd = -1;
    t->o.stderr_fd = -1;
    t->o.timeout_ms = 20000;

    *state = t;
    return 0;
}


static int
teardown(void **state)
{
    sbt_t  *t = *state;

    /* kills and removes whatever a failed case left running */
    if (t->spawned) {
        bld_sandbox_free(&t->sb);
    }
    so_test_rmtree(t->work);
    so_test_rmtree(t->scratch);
    if (t->mark != NULL) {
        unlink(t->mark);
        free(t->mark);
    }
    free(t);

    return 0;
}


static void
sbt_need(void)
{
    if (sbt_skip != NULL) {
        print_message("skipped: %s\n", sbt_skip);
        skip();
    }
}


static void
sbt_need_net(void)
{
    sbt_need();
    if (sbt_net_skip != NULL) {
        print_message("skipped: %s\n", sbt_net_skip);
        skip();
    }
}


/* a TCP listener on addr (network order), any port: *port */
static int
sbt_listen(in_addr_t addr, int *port)
{
    struct sockaddr_in  sin;
    socklen_t           len;
    int                 fd;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd != -1);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = addr;
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 8), 0);
    len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}


/* the host's first IPv4 address off loopback and off the sandboxes */
static in_addr_t
sbt_host_addr(void)
{
    struct ifaddrs  *ifs, *i;
    in_addr_t        a;

    assert_int_equal(getifaddrs(&ifs), 0);
    a = INADDR_NONE;
    for (i = ifs; i != NULL && a == INADDR_NONE; i = i->ifa_next) {
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET
            && !(i->ifa_flags & IFF_LOOPBACK)
            && strncmp(i->ifa_name, BLD_NETNS_IFPREFIX,
                       strlen(BLD_NETNS_IFPREFIX)) != 0)
        {
            a = ((struct sockaddr_in *) i->ifa_addr)->sin_addr.s_addr;
        }
    }
    freeifaddrs(ifs);
    assert_true(a != INADDR_NONE);
    return a;
}


/* the kernel removes a namespace's veth pair a moment after its end */
static void
sbt_assert_no_link(const char *ifname)
{
    int  i;

    for (i = 0; i < 100 && if_nametoindex(ifname) != 0; i++) {
        usleep(20000);
    }
    if (if_nametoindex(ifname) != 0) {
        fail_msg("the host's end %s outlives its sandbox", ifname);
    }
}


/* spawns a case and returns its pid; the output pipe is *fd */
static pid_t
sbt_spawn(sbt_t *t, const char *const *argv, int *fd)
{
    char   name[BLD_CG_NAMELEN];
    int    p[2];

    snprintf(name, sizeof(name), "case-%u", sbt_seq++);
    t->o.name = name;
    t->o.argv = argv;

    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    t->o.stdout_fd = p[1];
    t->o.stderr_fd = p[1];

    if (bld_sandbox_spawn(&t->sb, &t->o) != SO_OK) {
        close(p[0]);
        close(p[1]);
        fail_msg("spawn: %s", t->sb.errstr);
    }
    t->spawned = 1;
    close(p[1]);

    assert_true(t->sb.pid > 0);
    assert_true(t->sb.pidfd != -1);
    memcpy(t->dirs, t->sb.cg.dir, sizeof(t->dirs));

    *fd = p[0];
    return t->sb.pid;
}


/* shipoffd's loop in small: output, deadline and exit on one poll */
static void
sbt_finish(sbt_t *t, int fd)
{
    struct pollfd  pfd[3];
    size_t         len;
    ssize_t        n;
    char           discard[4096];

    len = 0;

    while (fd != -1 || t->res.status == BLD_SB_RUNNING) {
        pfd[0].fd = fd;
        pfd[0].events = POLLIN;
        pfd[1].fd = t->res.status == BLD_SB_RUNNING ? t->sb.pidfd : -1;
        pfd[1].events = POLLIN;
        pfd[2].fd = t->sb.timerfd;
        pfd[2].events = POLLIN;

        assert_true(poll(pfd, 3, 30000) > 0);

        if (pfd[0].revents) {
            if (len < sizeof(t->out) - 1) {
                n = read(fd, t->out + len, sizeof(t->out) - 1 - len);
            } else {
                n = read(fd, discard, sizeof(discard));
            }
            if (n <= 0) {
                close(fd);
                fd = -1;
            } else if (len < sizeof(t->out) - 1) {
                len += (size_t) n;
            }
        }

        if (pfd[2].fd != -1 && (pfd[2].revents & POLLIN)) {
            assert_int_equal(bld_sandbox_expire(&t->sb), SO_OK);
        }

        if (pfd[1].fd != -1 && pfd[1].revents) {
            if (bld_sandbox_reap(&t->sb, &t->res) != SO_OK) {
                fail_msg("reap: %s", t->sb.errstr);
            }
        }
    }

    t->out[len] = '\0';
}


static void
sbt_run(sbt_t *t, const char *const *argv)
{
    int  fd;

    sbt_spawn(t, argv, &fd);
    sbt_finish(t, fd);
}


static void
sbt_assert_gone(sbt_t *t, const char *marker)
{
    struct stat     st;
    struct dirent  *de;
    DIR            *d;
    char            path[PATH_MAX], buf[4096];
    ssize_t         n, i;
    int             h, fd;

    for (h = 0; h < BLD_CG_NHIER; h++) {
        if (t->dirs[h][0] != '\0' && stat(t->dirs[h], &st) == 0) {
            fail_msg("cgroup %s survives", t->dirs[h]);
        }
    }

    d = opendir("/proc");
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
        fd = open(path, O_RDONLY);
        if (fd == -1) {
            continue;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        for (i = 0; i < n; i++) {
            if (buf[i] == '\0') {
                buf[i] = ' ';
            }
        }
        buf[n > 0 ? n : 0] = '\0';
        if (strstr(buf, marker) != NULL) {
            closedir(d);
            fail_msg("process %s survives: %s", de->d_name, buf);
        }
    }
    closedir(d);
}


static void
test_output(void **state)
{
    sbt_t             *t = *state;
    const char *const  argv[] = {
        "sh", "-c", "echo hello; echo oops >&2; echo world", NULL
    };

    sbt_need();
    sbt_run(t, argv);

    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_int_equal(t->res.code, 0);
    assert_string_equal(t->out, "hello\noops\nworld\n");
    sbt_assert_gone(t, "echo hello; echo oops");
}


static void
test_exit_code(void **state)
{
    sbt_t             *t = *state;
    const char *const  argv[] = { "sh", "-c", "exit 7", NULL };

    sbt_need();
    sbt_run(t, argv);

    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_int_equal(t->res.code, 7);
    assert_int_equal(t->res.oom_kills, 0);
}


static void
test_oom(void **state)
{
    sbt_t             *t = *state;
    const char *const  argv[] = {
        "sh", "-c", "head -c 200M /dev/zero | tail; echo survived", NULL
    };

    sbt_need();
    t->cfg.sandbox_memory = 64 * SBT_MIB;
    sbt_run(t, argv);

    assert_int_equal(t->res.status, BLD_SB_OOM);
    assert_true(t->res.oom_kills >= 1);
    sbt_assert_gone(t, "head -c 200M");
}


static void
test_timeout(void **state)
{
    sbt_t             *t = *state;
    double             start;
    const char *const  argv[] = {
        "sh", "-c", "sleep 4242 & sleep 4243; echo never", NULL
    };

    sbt_need();
    t->o.timeout_ms = 1000;
    start = so_test_now();
    sbt_run(t, argv);

    assert_int_equal(t->res.status, BLD_SB_TIMEOUT);
    assert_true(so_test_now() - start < 5.0);
    assert_null(strstr(t->out, "never"));
    sbt_assert_gone(t, "sleep 424");
}


static void
test_fork_bomb(void **state)
{
    sbt_t             *t = *state;
    char               events[256], *hit;
    size_t             n, most;
    int                i, fd, hier;
    FILE              *fp;
    const char *const  argv[] = {
        "sh", "-c", "sleep 4244 & (b() { b | b & }; b); wait", "sbt-bomb",
        NULL
    };

    /*
     * the shell forks its sleep and the bomb's subshell before the bomb
     * runs, then only waits: a fork the bomb makes fail never ends the
     * sandbox's first process, which would make the status "exited"
     */
    sbt_need();
    t->cfg.sandbox_pids = 32;
    t->o.timeout_ms = 2500;
    sbt_spawn(t, argv, &fd);

    /* the bomb runs into the limit and never gets past it */
    most = 0;
    for (i = 0; i < 15; i++) {
        usleep(100 * 1000);
        assert_int_equal(bld_cgroup_count(&t->sb.cg, &n), SO_OK);
        most = n > most ? n : most;
    }
    print_message("fork bomb: at most %zu processes at pids.max 32\n", most);
    assert_true(most <= 32);

    hier = sbt_sys.version == 2 ? BLD_CG_MEMORY : BLD_CG_PIDS;
    snprintf(events, sizeof(events), "%s/pids.events", t->dirs[hier]);
    fp = fopen(events, "r");
    assert_non_null(fp);
    n = fread(events, 1, sizeof(events) - 1, fp);
    fclose(fp);
    events[n] = '\0';
    hit = strstr(events, "max ");
    assert_non_null(hit);
    assert_true(strtol(hit + 4, NULL, 10) > 0);

    sbt_finish(t, fd);
    assert_int_equal(t->res.status, BLD_SB_TIMEOUT);
    sbt_assert_gone(t, "sleep 4244");
}


static void
test_isolation(void **state)
{
    sbt_t        *t = *state;
    struct stat   st;
    char         *base, *hid, *open_dir, *secret, *loose, *script;
    char         *path;
    const char   *hidden[3];

    sbt_need();

    /*
     * Everything here is readable by anyone on the host and lies outside
     * /tmp (which the sandbox replaces): only the sandbox may stop it.
     * A hidden file becomes /dev/null on a nodev mount: unreadable.
     */
    assert_true(asprintf(&base, "/var/tmp/shipoff-test-%d", (int) getpid())
                > 0);
    assert_true(mkdir(base, 0755) == 0 || errno == EEXIST);
    t->scratch = base;
    assert_true(asprintf(&hid, "%s/hidden", base) > 0);
    assert_true(asprintf(&open_dir, "%s/open", base) > 0);
    assert_true(mkdir(hid, 0755) == 0 || errno == EEXIST);
    assert_true(mkdir(open_dir, 0777) == 0 || errno == EEXIST);
    assert_int_equal(chmod(open_dir, 0777), 0);
    secret = so_test_write(hid, "secrets.conf", "jwt_secret = s3cr3t\n",
                           0644);
    loose = so_test_write(base, "loose.conf", "token=abc\n", 0644);
    t->mark = so_test_write("/tmp", "shipoff-test-mark", "\n", 0644);

    hidden[0] = hid;
    hidden[1] = loose;
    hidden[2] = NULL;
    t->o.hidden = hidden;

    assert_true(asprintf(&script,
        "cat %s 2>/dev/null && echo read-secret;"
        "ls %s | grep -q . && echo listed-hidden;"
        "grep -q token %s 2>/dev/null && echo read-loose;"
        "touch /etc/sbt-x 2>/dev/null && echo wrote-etc;"
        "touch %s/x 2>/dev/null && echo wrote-open;"
        "touch %s/x && echo wrote-work;"
        "test -e %s && echo saw-host-tmp;"
        "echo uid=$(id -u);"
        "echo procs=$(ls /proc | grep -c '^[0-9]')",
        secret, hid, loose, open_dir, t->work, t->mark) > 0);

    {
        const char *const  argv[] = { "sh", "-c", script, NULL };

        sbt_run(t, argv);
    }

    print_message("%s", t->out);
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_null(strstr(t->out, "read-secret"));
    assert_null(strstr(t->out, "s3cr3t"));
    assert_null(strstr(t->out, "listed-hidden"));
    assert_null(strstr(t->out, "read-loose"));
    assert_null(strstr(t->out, "wrote-etc"));
    assert_null(strstr(t->out, "wrote-open"));
    assert_null(strstr(t->out, "saw-host-tmp"));
    assert_non_null(strstr(t->out, "wrote-work"));
    assert_non_null(strstr(t->out, "uid=65534\n"));

    /* bwrap's init, sh, and the ls of the count: few, not the host's */
    assert_non_null(strstr(t->out, "procs="));
    assert_true(strtol(strstr(t->out, "procs=") + 6, NULL, 10) <= 5);

    /* the host sees the sandbox's file, owned by the unprivileged uid */
    assert_true(asprintf(&path, "%s/x", t->work) > 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, SBT_UID);
    free(path);
    assert_true(asprintf(&path, "%s/x", open_dir) > 0);
    assert_int_equal(stat(path, &st), -1);
    free(path);
    assert_int_equal(stat("/etc/sbt-x", &st), -1);

    free(script);
    free(secret);
    free(loose);
    free(hid);
    free(open_dir);
}


static void
test_environment(void **state)
{
    sbt_t             *t = *state;
    char              *want;
    const char *const  argv[] = { "/usr/bin/env", NULL };
    const char *const  env[] = {
        "PATH=/usr/bin:/bin", "NODE_ENV=production", "EMPTY=",
        "SPACED=a b  c", NULL
    };

    sbt_need();
    t->o.envp = env;
    sbt_run(t, argv);

    /* bwrap --chdir adds PWD, as a shell would */
    assert_true(asprintf(&want, "PATH=/usr/bin:/bin\nNODE_ENV=production\n"
                         "EMPTY=\nSPACED=a b  c\nPWD=%s\n", t->work) > 0);
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_string_equal(t->out, want);
    free(want);
}


/* in the sandbox: each probe in a process of its own */
static int
sbt_probe_run(void)
{
    const sbt_probe_t  *p;
    size_t              i;
    long                r;
    pid_t               pid, self;
    int                 status, e;

    for (i = 0; i < so_nelems(sbt_probes); i++) {
        p = &sbt_probes[i];
        fflush(stdout);

        pid = fork();
        if (pid == 0) {
            self = getpid();
            r = syscall(p->nr, p->arg[0], p->arg[1], p->arg[2], p->arg[3],
                        p->arg[4]);
            e = r == -1 ? errno : 0;
            /* a clone that worked returns here twice: one line */
            if (getpid() == self) {
                printf("%s %d\n", p->name, e);
                fflush(stdout);
            }
            _exit(0);
        }

        if (pid == -1 || waitpid(pid, &status, 0) != pid) {
            return 1;
        }
        if (WIFSIGNALED(status)) {
            printf("%s %d\n", p->name, -WTERMSIG(status));
        }
    }

    fflush(stdout);
    return 0;
}


static void
test_syscalls_refused(void **state)
{
    sbt_t             *t = *state;
    char               line[128];
    size_t             i;
    int                failed;
    /* this program may lie where the sandbox hides (/tmp, /home):
       bound where it sees it, as shipoffd binds itself for a clone */
    const char *const  binds[] = { sbt_self, "/tmp/test_sandbox", NULL };
    const char *const  argv[] = { "/tmp/test_sandbox", SBT_PROBE_ARG, NULL };

    sbt_need();
    t->o.ro_binds = binds;
    sbt_run(t, argv);

    print_message("%s", t->out);
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_int_equal(t->res.code, 0);

    failed = 0;
    for (i = 0; i < so_nelems(sbt_probes); i++) {
        snprintf(line, sizeof(line), "%s %d\n", sbt_probes[i].name,
                 sbt_probes[i].want);
        if (strstr(t->out, line) == NULL) {
            print_error("want: %s", line);
            failed = 1;
        }
    }
    assert_false(failed);
}


/* what builds and apps run still runs; a new user namespace does not */
static void
test_syscalls_runtimes(void **state)
{
    sbt_t             *t = *state;
    const char *const  argv[] = {
        "sh", "-c",
        "unshare -U true 2>/dev/null && echo made-userns;"
        "unshare -Ur true 2>/dev/null && echo made-userns-root;"
        "node -e \"require('fs').readFile('/etc/passwd', (e, d) =>"
        "  console.log('node', e ? e.code : d.length > 0))\";"
        "python3 -c \"import subprocess, threading;"
        "  t = threading.Thread(target=lambda: None); t.start(); t.join();"
        "  print('python', subprocess.run(['true']).returncode == 0)\";"
        "php -r 'echo \"php \", json_encode(strlen(\"ab\") === 2), \"\\n\";';"
        "echo shell | tr a-z A-Z",
        NULL
    };

    sbt_need();
    sbt_run(t, argv);

    print_message("%s", t->out);
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_null(strstr(t->out, "made-userns"));
    assert_non_null(strstr(t->out, "node true\n"));
    assert_non_null(strstr(t->out, "python True\n"));
    assert_non_null(strstr(t->out, "php true\n"));
    assert_non_null(strstr(t->out, "SHELL\n"));
}


/* the whole of a /proc file; its length */
static size_t
sbt_slurp(const char *path, char *buf, size_t size)
{
    ssize_t  n;
    size_t   len;
    int      fd;

    len = 0;
    fd = open(path, O_RDONLY);
    if (fd == -1) {
        return 0;
    }
    while (len < size && (n = read(fd, buf + len, size - len)) > 0) {
        len += (size_t) n;
    }
    close(fd);

    return len;
}


static void
test_environment_not_bwraps(void **state)
{
    sbt_t             *t = *state;
    char               secret[64], var[80], path[PATH_MAX], procs[4096];
    char               buf[SBT_OUTLEN], *pid, *next;
    size_t             n;
    int                fd, nbwrap;
    const char        *env[] = { "PATH=/usr/bin:/bin", var, NULL };
    const char *const  argv[] = {
        "sh", "-c", "echo \"seen=$SBT_SECRET\"; exec sleep 4246", NULL
    };
    struct pollfd      pfd;

    sbt_need();
    snprintf(secret, sizeof(secret), "sbt-secret-%d", (int) getpid());
    snprintf(var, sizeof(var), "SBT_SECRET=%s", secret);
    t->o.envp = env;
    sbt_spawn(t, argv, &fd);

    /* the command has it */
    pfd.fd = fd;
    pfd.events = POLLIN;
    assert_true(poll(&pfd, 1, 10000) == 1);
    n = (size_t) read(fd, buf, sizeof(buf) - 1);
    buf[n] = '\0';
    assert_non_null(strstr(buf, secret));

    /* the sleep runs; every process of the cgroup is there */
    snprintf(path, sizeof(path), "%s/cgroup.procs", t->dirs[BLD_CG_MEMORY]);
    n = sbt_slurp(path, procs, sizeof(procs) - 1);
    procs[n] = '\0';

    nbwrap = 0;
    for (pid = procs; *pid != '\0'; pid = next) {
        next = strchr(pid, '\n');
        *next++ = '\0';

        snprintf(path, sizeof(path), "/proc/%.16s/cmdline", pid);
        n = sbt_slurp(path, buf, sizeof(buf));
        assert_null(memmem(buf, n, secret, strlen(secret)));

        snprintf(path, sizeof(path), "/proc/%.16s/comm", pid);
        n = sbt_slurp(path, buf, sizeof(buf));
        if (n != sizeof("bwrap") || memcmp(buf, "bwrap\n", n) != 0) {
            continue;
        }
        nbwrap++;

        snprintf(path, sizeof(path), "/proc/%.16s/environ", pid);
        n = sbt_slurp(path, buf, sizeof(buf));
        if (memmem(buf, n, secret, strlen(secret)) != NULL) {
            fail_msg("bwrap %s has the build's variable in its environment",
                     pid);
        }
    }
    print_message("%d bwrap processes checked\n", nbwrap);
    assert_true(nbwrap >= 1);

    assert_int_equal(bld_sandbox_expire(&t->sb), SO_OK);
    sbt_finish(t, fd);
    assert_int_equal(t->res.status, BLD_SB_TIMEOUT);
}


static void
test_network(void **state)
{
    sbt_t             *t = *state;
    const char *const  argv[] = {
        "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
        NULL
    };

    sbt_need();
    t->o.share_net = 0;
    sbt_run(t, argv);

    /* an own network namespace holds the loopback device only */
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_string_equal(t->out, "lo\n");
}


/*
 * A sandbox of its own network namespace reaches nothing of the host:
 * not a listener on the host's 127.0.0.1, nor on its own address, nor the
 * cloud metadata address.  Its veth pair goes with it.
 */
static void
test_netns_egress(void **state)
{
    sbt_t             *t = *state;
    struct in_addr     a;
    char               lo_port[16], host_port[16], host[INET_ADDRSTRLEN];
    char               line[128];
    int                lfd, hfd, lport, hport;

    sbt_need_net();

    lfd = sbt_listen(htonl(INADDR_LOOPBACK), &lport);
    a.s_addr = sbt_host_addr();
    hfd = sbt_listen(a.s_addr, &hport);
    inet_ntop(AF_INET, &a, host, sizeof(host));
    snprintf(lo_port, sizeof(lo_port), "%d", lport);
    snprintf(host_port, sizeof(host_port), "%d", hport);

    t->o.own_net = 1;

    {
        const char *const  argv[] = {
            "python3", "-c", sbt_connect_py, "127.0.0.1", lo_port,
            host, host_port, "169.254.169.254", "80", NULL
        };

        sbt_run(t, argv);
    }
    close(lfd);
    close(hfd);

    print_message("%s", t->out);
    assert_int_equal(t->res.status, BLD_SB_EXITED);
    assert_null(strstr(t->out, "open"));
    assert_non_null(strstr(t->out, "127.0.0.1 refused\n"));
    snprintf(line, sizeof(line), "%s unreachable\n", host);
    assert_non_null(strstr(t->out, line));
    assert_non_null(strstr(t->out, "169.254.169.254 unreachable\n"));

    sbt_assert_no_link(t->sb.net.ifname);
}


/*
 * The host (nginx, the health check) reaches what a sandbox listens on at
 * its address; another sandbox does not.
 */
static void
test_netns_between(void **state)
{
    sbt_t               *t = *state;
    bld_sandbox_t        server;
    struct sockaddr_in   sin;
    char                 name[BLD_CG_NAMELEN];
    int                  fd, i, rc;
    const char *const    serve[] = {
        "python3", "-c", "import socket, time\n"
        "s = socket.socket()\n"
        "s.bind(('0.0.0.0', 8080))\n"
        "s.listen(8)\n"
        "time.sleep(60)\n", NULL
    };

    sbt_need_net();

    snprintf(name, sizeof(name), "case-%u", sbt_seq++);
    t->o.name = name;
    t->o.argv = serve;
    t->o.own_net = 1;
    if (bld_sandbox_spawn(&server, &t->o) != SO_OK) {
        fail_msg("spawn: %s", server.errstr);
    }
    assert_int_equal(strncmp(server.net.addr, "10.213.", 7), 0);

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8080);
    assert_int_equal(inet_pton(AF_INET, server.net.addr, &sin.sin_addr), 1);

    rc = -1;
    for (i = 0; i < 100 && rc == -1; i++) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        rc = connect(fd, (struct sockaddr *) &sin, sizeof(sin));
        close(fd);
        if (rc == -1) {
            usleep(50000);
        }
    }

    {
        const char *const  argv[] = {
            "python3", "-c", sbt_connect_py, server.net.addr, "8080", NULL
        };

        sbt_run(t, argv);
    }

    assert_int_equal(bld_sandbox_expire(&server), SO_OK);
    bld_sandbox_free(&server);

    print_message("%s", t->out);
    assert_int_equal(rc, 0);
    assert_null(strstr(t->out, "open"));
    assert_non_null(strstr(t->out, "unreachable"));
    sbt_assert_no_link(server.net.ifname);
    sbt_assert_no_link(t->sb.net.ifname);
}


static void
test_refusals(void **state)
{
    sbt_t             *t = *state;
    struct stat        st;
    char               path[PATH_MAX];
    int                h;
    const char *const  argv[] = { "true", NULL };

    sbt_need();
    t->o.argv = argv;

    t->o.name = "refused-root";
    t->o.uid = 0;
    assert_int_equal(bld_sandbox_spawn(&t->sb, &t->o), SO_EINVAL);
    assert_non_null(strstr(t->sb.errstr, "root"));
    t->o.uid = SBT_UID;

    t->o.name = "refused-owner";
    assert_int_equal(chown(t->work, 0, 0), 0);
    assert_int_equal(bld_sandbox_spawn(&t->sb, &t->o), SO_EINVAL);
    assert_non_null(strstr(t->sb.errstr, "owned by uid 65534"));
    assert_int_equal(chown(t->work, SBT_UID, SBT_GID), 0);

    /* a failure after the cgroup was made leaves no cgroup behind */
    t->o.name = "refused-exec";
    t->cfg.sandbox_bwrap = "/nonexistent/bwrap";
    assert_int_equal(bld_sandbox_spawn(&t->sb, &t->o), SO_ERR);
    assert_non_null(strstr(t->sb.errstr, "exec bwrap"));
    assert_int_equal(t->sb.pid, 0);

    for (h = 0; h < BLD_CG_NHIER; h++) {
        if (sbt_sys.root[h][0] != '\0') {
            snprintf(path, sizeof(path), "%s/%s/refused-exec",
                     sbt_sys.root[h], sbt_parent);
            assert_int_equal(stat(path, &st), -1);
        }
    }

    t->o.name = "../escape";
    t->cfg.sandbox_bwrap = SBT_BWRAP;
    assert_int_equal(bld_sandbox_spawn(&t->sb, &t->o), SO_EINVAL);
}


static void
test_leftover(void **state)
{
    bld_cgroup_t  cg, again;
    struct stat   st;
    char          dir[BLD_CG_PATHLEN];

    sbt_need();

    /* what a crashed shipoffd leaves: the name is refused, not reused */
    if (bld_cgroup_create(&cg, &sbt_sys, "leftover", 64 * SBT_MIB, 16)
        != SO_OK)
    {
        fail_msg("create: %s", cg.errstr);
    }
    memcpy(dir, bld_cgroup_path(&cg), sizeof(dir));
    assert_int_equal(bld_cgroup_create(&again, &sbt_sys, "leftover",
                                       64 * SBT_MIB, 16), SO_EEXISTS);
    assert_int_equal(stat(dir, &st), 0);

    assert_int_equal(bld_cgroup_open(&again, &sbt_sys, "leftover"), SO_OK);
    if (bld_cgroup_destroy(&again) != SO_OK) {
        bld_cgroup_destroy(&cg);
        fail_msg("destroy: %s", again.errstr);
    }
    assert_int_equal(stat(dir, &st), -1);
    assert_int_equal(bld_cgroup_destroy(&cg), SO_OK);

    assert_int_equal(bld_cgroup_open(&again, &sbt_sys, ".."), SO_EINVAL);
}


int
main(int argc, char **argv)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_output, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_bomb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_not_bwraps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_syscalls_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_syscalls_runtimes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_network, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netns_egress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_netns_between, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover, setup, teardown),
    };

    /* _exit: LeakSanitizer's exit check would ptrace, which is refused */
    if (argc == 2 && strcmp(argv[1], SBT_PROBE_ARG) == 0) {
        _exit(sbt_probe_run());
    }

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
