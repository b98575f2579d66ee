/*
 * seccomp.c: the sandbox's system-call policy, compiled with libseccomp.
 *
 * Default allow: builds run npm, node, python, php, compilers and whatever
 * a package's install script starts, and an allowlist would break them
 * one obscure call at a time.  What is refused is the kernel surface a
 * build or an app never needs and an attacker uses to escape or to reach
 * other tenants: new user namespaces (which hand back every capability
 * over fresh mount and network namespaces), the keyrings (shared by all
 * processes of a uid on the host), debugging other processes, mounts,
 * and the subsystems with a long record of kernel exploits.  Refused
 * calls fail with EPERM, as they would without the privilege, so
 * programs take their usual fallback; clone3 fails with ENOSYS because
 * its flags sit in memory a filter cannot read, and glibc then falls back
 * to clone, whose flags are checked.
 *
 * The filter is built for the native ABI only: a call through another
 * (i386's int 0x80, x32) would use other numbers and bypass the table,
 * so it kills the process instead.  A name an older libseccomp does not
 * know is skipped: those are the newest calls (mount_setattr,
 * quotactl_fd), which need a capability the sandbox only gets from a user
 * namespace of its own, refused here.
 */

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "shipoff.h"
#include "seccomp.h"

typedef enum {
    SC_ALWAYS = 0,
    SC_A0_FLAG,                 /* the first argument has the bits of arg */
    SC_A1_IS,                   /* the second argument is arg (an ioctl) */
    SC_A0_CHANGE                /* the first argument is neither 0 nor ~0 */
} sc_when_t;

typedef struct {
    const char  *name;
    int          errnum;
    sc_when_t    when;
    uint32_t     arg;
} sc_rule_t;


static int sc_add(scmp_filter_ctx ctx, int nr, const sc_rule_t *r);


/* clone's flags are its first argument on x86 and arm, not on s390 */
static const sc_rule_t  sc_policy[] = {

    /* a user namespace of its own gives the build every capability over
       new mount, network and other namespaces: the kernel's widest
       attack surface for unprivileged code */
    { "unshare",            EPERM,  SC_A0_FLAG,     CLONE_NEWUSER },
    { "clone",              EPERM,  SC_A0_FLAG,     CLONE_NEWUSER },
    /* flags in memory, unreadable here: glibc falls back to clone */
    { "clone3",             ENOSYS, SC_ALWAYS,      0 },
    /* entering a namespace another process made */
    { "setns",              EPERM,  SC_ALWAYS,      0 },

    /* keyrings are not namespaced: a uid's keyring is shared with every
       other sandbox of that uid */
    { "keyctl",             EPERM,  SC_ALWAYS,      0 },
    { "add_key",            EPERM,  SC_ALWAYS,      0 },
    { "request_key",        EPERM,  SC_ALWAYS,      0 },

    /* reading or steering another process: its memory, its fds */
    { "ptrace",             EPERM,  SC_ALWAYS,      0 },
    { "process_vm_readv",   EPERM,  SC_ALWAYS,      0 },
    { "process_vm_writev",  EPERM,  SC_ALWAYS,      0 },
    { "pidfd_getfd",        EPERM,  SC_ALWAYS,      0 },

    /* the file system layout is bwrap's, set up before the filter */
    { "mount",              EPERM,  SC_ALWAYS,      0 },
    { "umount2",            EPERM,  SC_ALWAYS,      0 },
    { "pivot_root",         EPERM,  SC_ALWAYS,      0 },
    { "open_tree",          EPERM,  SC_ALWAYS,      0 },
    { "move_mount",         EPERM,  SC_ALWAYS,      0 },
    { "fsopen",             EPERM,  SC_ALWAYS,      0 },
    { "fsconfig",           EPERM,  SC_ALWAYS,      0 },
    { "fsmount",            EPERM,  SC_ALWAYS,      0 },
    { "fspick",             EPERM,  SC_ALWAYS,      0 },
    { "mount_setattr",      EPERM,  SC_ALWAYS,      0 },

    /* kernel subsystems with a long record of privilege escalations and
       no use in a build: eBPF, perf, userfaultfd (stalls the kernel at a
       chosen page fault, a race-exploit tool) */
    { "bpf",                EPERM,  SC_ALWAYS,      0 },
    { "perf_event_open",    EPERM,  SC_ALWAYS,      0 },
    { "userfaultfd",        EPERM,  SC_ALWAYS,      0 },
    /* io_uring: the same record (Google and Docker turn it off); libuv
       (node) and others fall back to threads when setup fails */
    { "io_uring_setup",     EPERM,  SC_ALWAYS,      0 },
    { "io_uring_enter",     EPERM,  SC_ALWAYS,      0 },
    { "io_uring_register",  EPERM,  SC_ALWAYS,      0 },

    /* the host's administration: each needs a capability the sandbox
       lacks, refused here too in case a kernel bug grants one */
    { "kexec_load",         EPERM,  SC_ALWAYS,      0 },
    { "kexec_file_load",    EPERM,  SC_ALWAYS,      0 },
    { "init_module",        EPERM,  SC_ALWAYS,      0 },
    { "finit_module",       EPERM,  SC_ALWAYS,      0 },
    { "delete_module",      EPERM,  SC_ALWAYS,      0 },
    { "reboot",             EPERM,  SC_ALWAYS,      0 },
    { "swapon",             EPERM,  SC_ALWAYS,      0 },
    { "swapoff",            EPERM,  SC_ALWAYS,      0 },
    { "acct",               EPERM,  SC_ALWAYS,      0 },
    { "quotactl",           EPERM,  SC_ALWAYS,      0 },
    { "quotactl_fd",        EPERM,  SC_ALWAYS,      0 },

    /* only the query (~0) and PER_LINUX (0): the other personalities
       turn off ASLR, map page zero or make data executable */
    { "personality",        EPERM,  SC_A0_CHANGE,   0 },

    /* typing into a terminal's input, a shell's above the sandbox */
    { "ioctl",              EPERM,  SC_A1_IS,       TIOCSTI },
    { "ioctl",              EPERM,  SC_A1_IS,       TIOCLINUX }
};


/*
 * The kernel reads these arguments as 32-bit ints, so only the low half
 * is compared (a mask with a zero upper half): a caller's garbage above
 * cannot slip past.  libseccomp takes one comparison per argument and
 * rule, hence personality's 32 rules: a 32-bit value other than 0 and ~0
 * has, read around in a circle, a set bit followed by a clear one.
 */
static int
sc_add(scmp_filter_ctx ctx, int nr, const sc_rule_t *r)
{
    uint32_t  act, set, clear;
    int       bit, rc;

    act = SCMP_ACT_ERRNO((uint32_t) r->errnum);

    switch (r->when) {

    case SC_A0_FLAG:
        return seccomp_rule_add(ctx, act, nr, 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, r->arg, r->arg));

    case SC_A1_IS:
        return seccomp_rule_add(ctx, act, nr, 1,
                                SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU,
                                        r->arg));

    case SC_A0_CHANGE:
        for (bit = 0; bit < 32; bit++) {
            set = 1U << bit;
            clear = 1U << ((bit + 1) % 32);
            rc = seccomp_rule_add(ctx, act, nr, 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, set | clear,
                                          set));
            if (rc != 0) {
                return rc;
            }
        }
        return 0;

    default:
        return seccomp_rule_add(ctx, act, nr, 0);
    }
}


int
bld_seccomp_write(int fd, char *err, size_t errlen)
{
    scmp_filter_ctx  ctx;
    size_t           i;
    int              nr, rc, e;

    rc = SO_ERR;

    ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL) {
        snprintf(err, errlen, "seccomp: cannot make a filter");
        goto done;
    }

    e = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (e != 0) {
        snprintf(err, errlen, "seccomp: foreign ABIs: %s", strerror(-e));
        goto done;
    }

    for (i = 0; i < so_nelems(sc_policy); i++) {
        nr = seccomp_syscall_resolve_name(sc_policy[i].name);
        if (nr == __NR_SCMP_ERROR) {
            continue;
        }

        e = sc_add(ctx, nr, &sc_policy[i]);
        if (e != 0) {
            snprintf(err, errlen, "seccomp: %s: %s", sc_policy[i].name,
                     strerror(-e));
            goto done;
        }
    }

    e = seccomp_export_bpf(ctx, fd);
    if (e != 0) {
        snprintf(err, errlen, "seccomp: export: %s", strerror(-e));
        goto done;
    }

    rc = SO_OK;

done:

    if (ctx != NULL) {
        seccomp_release(ctx);
    }

    return rc;
}
