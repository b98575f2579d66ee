/*
 * sandbox.h: run one build or one app confined, and learn how it ended.
 *
 * A sandbox is a cgroup (memory incl. swap, pids, CPU) holding bubblewrap
 * (read-only host root, private /tmp, /dev and /proc, own pid/ipc/uts
 * namespaces, only the work dir writable, chosen paths hidden, a seccomp
 * filter: seccomp.h), started as an unprivileged uid with exactly the
 * environment given, which reaches the command but not bwrap itself.
 *
 * It fits shipoffd's epoll loop: spawn returns at once; the loop watches
 * the sandbox's pidfd (readable when the process exits) and timerfd
 * (readable at the deadline, then call bld_sandbox_expire(), which kills
 * the whole cgroup), and calls bld_sandbox_reap() when the pidfd fires.
 */

#ifndef BLD_SANDBOX_H
#define BLD_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

#include "so_config.h"
#include "cgroup.h"
#include "netns.h"

#define BLD_SB_ERRLEN  128

typedef enum {
    BLD_SB_RUNNING = 0,
    BLD_SB_EXITED,                  /* code holds the exit status */
    BLD_SB_OOM,                     /* the kernel OOM-killed in the cgroup */
    BLD_SB_TIMEOUT                  /* the deadline killed the cgroup */
} bld_sb_status_t;

typedef struct {
    bld_sb_status_t  status;
    int              code;          /* killed by signal N: 128 + N, as
                                       bwrap reports its command's */
    uint64_t         oom_kills;
} bld_sandbox_result_t;

/*
 * A writable, ephemeral copy-on-write view of the work dir (an app's:
 * appfs.c).  Before dropping to the uid the sandbox enters a mount
 * namespace of its own, mounts the file system of dev (ext4: its size is
 * the quota) on mnt, makes dirs on it (owned by the uid) and an overlay
 * (lowerdir the work dir, upper and work dirs on it) on the work dir.
 * Nothing of it exists outside: it goes with the sandbox's last process.
 */
typedef struct {
    const char          *dev;
    const char          *mnt;
    const char          *overlay;   /* overlayfs mount options */
    const char *const   *dirs;      /* NULL-terminated, absolute */
    const char *const   *binds;     /* NULL-terminated pairs: a dir on it,
                                       where the sandbox sees it writable */
} bld_sandbox_cow_t;

typedef struct {
    const so_config_t       *cfg;       /* sandbox_bwrap, and the limits
                                           sandbox_memory, sandbox_pids */
    const bld_cgroup_sys_t  *cgroups;   /* probed once at start */
    const char              *name;      /* cgroup name: "build-42" */
    const char *const       *argv;      /* the command; argv[0] via PATH */
    const char *const       *envp;      /* the whole environment; NULL:
                                           empty */
    const char              *workdir;   /* absolute, owned by uid, the only
                                           writable path */
    const char *const       *hidden;    /* NULL-terminated: paths replaced
                                           by an empty dir or /dev/null */
    const char *const       *ro_binds;  /* NULL-terminated pairs: a host
                                           path, where the sandbox sees it
                                           (read-only, over the hidden) */
    uid_t                    uid;       /* never 0; the gid is the same
                                           number */
    int                      stdout_fd; /* -1: /dev/null */
    int                      stderr_fd;
    int                      share_net; /* 1: the host's network */
    int                      own_net;   /* 1: a network namespace of its
                                           own (netns.h), share_net ignored;
                                           neither: loopback alone */
    const bld_sandbox_cow_t *cow;       /* not NULL: the work dir is
                                           this view, writable */
    int                      detach;    /* 1: outlives shipoffd (an app);
                                           0: dies with its parent */
    unsigned                 timeout_ms;    /* 0: none */
} bld_sandbox_opts_t;

typedef struct {
    bld_cgroup_t          cg;
    bld_netns_t           net;      /* own_net's: its address, its host's
                                       end (the fd is closed by spawn) */
    pid_t                 pid;      /* bwrap's pid; 0 once reaped */
    int                   pidfd;    /* -1 on kernels without pidfd_open:
                                       then reap on SIGCHLD */
    int                   timerfd;  /* -1 without a deadline */
    int                   timed_out;
    bld_sandbox_result_t  res;
    char                  errstr[BLD_SB_ERRLEN];
} bld_sandbox_t;

/* sb->pid is bwrap's; sb->res.status is BLD_SB_RUNNING */
int bld_sandbox_spawn(bld_sandbox_t *sb, const bld_sandbox_opts_t *o);

/* the deadline passed (or the caller gives up): kills everything in the
   cgroup, and closes the timerfd */
int bld_sandbox_expire(bld_sandbox_t *sb);

/*
 * Without blocking: res->status is BLD_SB_RUNNING while the process
 * lives; once it has exited, whatever it left in the cgroup is killed,
 * the OOM count read, the cgroup removed and the result filled.
 */
int bld_sandbox_reap(bld_sandbox_t *sb, bld_sandbox_result_t *res);

/* kills and reaps what still runs, removes the cgroup; accepts NULL */
void bld_sandbox_free(bld_sandbox_t *sb);

#endif /* BLD_SANDBOX_H */
