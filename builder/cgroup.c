/*
 * cgroup.c: the sandbox's cgroups, on v1 (hybrid hosts) and v2 alike.
 *
 * The two versions differ in where the files are, not in what is done:
 * v2 has one directory per cgroup, v1 one per hierarchy (memory, pids,
 * cpu, and the freezer when mounted).  So each operation is written once
 * and names the file it needs through a small per-version table.
 *
 * Killing must leave nothing behind even when the cgroup forks as fast as
 * it can: v2 has cgroup.kill (Linux 5.14); otherwise the cgroup is frozen
 * first (cgroup.freeze or the v1 freezer), so the set of pids read from
 * cgroup.procs can neither grow nor be reused while it is SIGKILLed.
 * Without any freezer a loop of SIGKILL until empty still ends because
 * pids.max bounds the forks.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "shipoff.h"
#include "cgroup.h"

#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC  0x27e0eb
#endif

#define CG_MNT            "/sys/fs/cgroup"
#define CG_KILL_WAIT_MS   5000
#define CG_RMDIR_WAIT_MS  1000
#define CG_STEP_MS        10


typedef struct {
    const char  *memory;            /* bytes used now */
    const char  *memory_peak;
    const char  *oom_file;          /* has a line "oom_kill N" */
    const char  *freeze;            /* optional */
    const char  *frozen;            /* what freeze writes */
    const char  *thawed;
} cg_files_t;

static const cg_files_t  cg_v1 = {
    "memory.usage_in_bytes", "memory.max_usage_in_bytes",
    "memory.oom_control", "freezer.state", "FROZEN", "THAWED"
};

static const cg_files_t  cg_v2 = {
    "memory.current", "memory.peak",
    "memory.events", "cgroup.freeze", "1", "0"
};

typedef enum {
    CG_LIM_MEMORY = 0,
    CG_LIM_PIDS,
    CG_NLIM
} cg_lim_t;

/* a file written for a limit: value, or the limit's own */
typedef struct {
    cg_lim_t       lim;
    bld_cg_hier_t  h;
    const char    *file;
    const char    *value;
    int            optional;        /* written where the kernel has it */
} cg_limit_file_t;

/*
 * Swap counts against the memory budget: v1 limits memory+swap to it, v2
 * limits swap alone, so no swap at all keeps the sum.  On v2 an OOM ends
 * the whole build or app, not a random process.  The CPU is not limited:
 * a cgroup of its own is scheduled as one, at the default share (v1
 * cpu.shares 1024, v2 cpu.weight 100).  A list ends at an empty entry.
 */
static const cg_limit_file_t  cg_limit_files[2][5] = { {
    { CG_LIM_MEMORY, BLD_CG_MEMORY, "memory.limit_in_bytes", NULL, 0 },
    { CG_LIM_MEMORY, BLD_CG_MEMORY, "memory.memsw.limit_in_bytes", NULL, 1 },
    { CG_LIM_PIDS, BLD_CG_PIDS, "pids.max", NULL, 0 }
}, {
    { CG_LIM_MEMORY, BLD_CG_MEMORY, "memory.max", NULL, 0 },
    { CG_LIM_MEMORY, BLD_CG_MEMORY, "memory.swap.max", "0", 1 },
    { CG_LIM_MEMORY, BLD_CG_MEMORY, "memory.oom.group", "1", 1 },
    { CG_LIM_PIDS, BLD_CG_PIDS, "pids.max", NULL, 0 }
} };

static const char  *cg_v1_names[BLD_CG_NHIER] = {
    "memory", "pids", "cpu", "freezer"
};


static void cg_error(char *errstr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int cg_open(char *errstr, const char *dir, const char *file,
    int flags);
static int cg_write(bld_cgroup_t *cg, const char *dir, const char *file,
    const char *value);
static int cg_read(char *errstr, const char *dir, const char *file,
    char *buf, size_t len);
static const char *cg_dir(const bld_cgroup_t *cg, bld_cg_hier_t h);
static const cg_files_t *cg_files(const bld_cgroup_t *cg);
static int cg_name_ok(const char *name, size_t len);
static int cg_parent_ok(const char *parent);
static int cg_probe_v2(bld_cgroup_sys_t *sys);
static int cg_probe_v1(bld_cgroup_sys_t *sys);
static int cg_mkdir(bld_cgroup_t *cg, char *dir, size_t rootlen);
static int cg_dirs(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys,
    const char *name, int make);
static int cg_freeze(bld_cgroup_t *cg, int on);
static int cg_procs(bld_cgroup_t *cg, int sig, uint64_t *cpu_usec,
    size_t *n);
static uint64_t cg_cpu_usec(long pid);
static int cg_read_u64(bld_cgroup_t *cg, bld_cg_hier_t h, const char *file,
    const char *key, uint64_t *v);
static int cg_word(const char *list, const char *word);


static void
cg_error(char *errstr, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(errstr, BLD_CG_ERRLEN, fmt, ap);
    va_end(ap);
}


/* open(dir/file, flags): the fd, or -1 with the error in errstr and errno */
static int
cg_open(char *errstr, const char *dir, const char *file, int flags)
{
    char  path[PATH_MAX];
    int   n, fd, e;

    n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (n < 0 || n >= (int) sizeof(path)) {
        cg_error(errstr, "%s/%s: path too long", dir, file);
        errno = ENAMETOOLONG;
        return -1;
    }

    fd = open(path, flags | O_CLOEXEC);
    if (fd == -1) {
        e = errno;
        cg_error(errstr, "open %s: %s", path, strerror(e));
        errno = e;
    }

    return fd;
}


static const char *
cg_dir(const bld_cgroup_t *cg, bld_cg_hier_t h)
{
    return cg->sys->version == 2 ? cg->dir[BLD_CG_MEMORY] : cg->dir[h];
}


static const cg_files_t *
cg_files(const bld_cgroup_t *cg)
{
    return cg->sys->version == 2 ? &cg_v2 : &cg_v1;
}


/* 0, SO_ENOTFOUND when the file does not exist, or SO_ERR */
static int
cg_write(bld_cgroup_t *cg, const char *dir, const char *file,
    const char *value)
{
    size_t   len;
    ssize_t  n;
    int      fd, rc;

    fd = cg_open(cg->errstr, dir, file, O_WRONLY);
    if (fd == -1) {
        return errno == ENOENT ? SO_ENOTFOUND : SO_ERR;
    }

    /* a cgroup file takes one value per write(2) */
    len = strlen(value);
    n = write(fd, value, len);
    rc = SO_OK;
    if (n != (ssize_t) len) {
        cg_error(cg->errstr, "write \"%s\" to %s/%s: %s", value, dir, file,
                 n == -1 ? strerror(errno) : "short write");
        rc = SO_ERR;
    }

    close(fd);
    return rc;
}


/* codes as cg_write() */
static int
cg_read(char *errstr, const char *dir, const char *file, char *buf,
    size_t len)
{
    ssize_t  n;
    int      fd;

    fd = cg_open(errstr, dir, file, O_RDONLY);
    if (fd == -1) {
        return errno == ENOENT ? SO_ENOTFOUND : SO_ERR;
    }

    n = read(fd, buf, len - 1);
    close(fd);
    if (n == -1) {
        cg_error(errstr, "read %s/%s: %s", dir, file, strerror(errno));
        return SO_ERR;
    }

    buf[n] = '\0';
    return SO_OK;
}


/* the len bytes at name are a name of [A-Za-z0-9._-], not "." first */
static int
cg_name_ok(const char *name, size_t len)
{
    return len > 0 && len < BLD_CG_NAMELEN && name[0] != '.'
           && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") >= len;
}


/* "a/b/c" where each component is a valid name: never absolute, no ".." */
static int
cg_parent_ok(const char *parent)
{
    size_t  len;

    for ( ;; parent += len + 1) {
        len = strcspn(parent, "/");
        if (!cg_name_ok(parent, len)) {
            return 0;
        }
        if (parent[len] == '\0') {
            return 1;
        }
    }
}


/* whether the space-separated list holds word */
static int
cg_word(const char *list, const char *word)
{
    const char  *p;
    size_t       len;

    len = strlen(word);
    for (p = strstr(list, word); p != NULL; p = strstr(p + 1, word)) {
        if ((p == list || p[-1] == ' ')
            && (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
        {
            return 1;
        }
    }

    return 0;
}


static int
cg_probe_v2(bld_cgroup_sys_t *sys)
{
    char         buf[512];
    const char  *need[] = { "pids", "cpu" };
    size_t       i;

    /* a hybrid host's unified tree without memory is not ours to use */
    if (cg_read(sys->errstr, CG_MNT, "cgroup.controllers", buf, sizeof(buf))
        != SO_OK || !cg_word(buf, "memory"))
    {
        return SO_ENOTFOUND;
    }

    for (i = 0; i < so_nelems(need); i++) {
        if (!cg_word(buf, need[i])) {
            cg_error(sys->errstr, "cgroup v2 at " CG_MNT " lacks the %s "
                     "controller", need[i]);
            return SO_ERR;
        }
    }

    sys->version = 2;
    snprintf(sys->root[BLD_CG_MEMORY], BLD_CG_PATHLEN, "%s", CG_MNT);

    return SO_OK;
}


static int
cg_probe_v1(bld_cgroup_sys_t *sys)
{
    struct statfs  st;
    char          *path;
    int            h;

    for (h = 0; h < BLD_CG_NHIER; h++) {
        path = sys->root[h];
        snprintf(path, BLD_CG_PATHLEN, CG_MNT "/%s", cg_v1_names[h]);

        if (statfs(path, &st) == 0 && st.f_type == CGROUP_SUPER_MAGIC) {
            continue;
        }

        if (h != BLD_CG_FREEZER) {
            cg_error(sys->errstr, "no cgroup v2 with memory at " CG_MNT
                     " and no cgroup v1 %s hierarchy at %s", cg_v1_names[h],
                     path);
            return SO_ENOTFOUND;
        }
        path[0] = '\0';
    }

    sys->version = 1;
    return SO_OK;
}


int
bld_cgroup_sys_init(bld_cgroup_sys_t *sys, const char *parent)
{
    int  rc;

    memset(sys, 0, sizeof(*sys));

    if (!cg_parent_ok(parent) || strlen(parent) >= sizeof(sys->parent)) {
        cg_error(sys->errstr, "bad cgroup parent \"%s\": want a relative "
                 "path of [A-Za-z0-9._-] names", parent);
        return SO_EINVAL;
    }
    memcpy(sys->parent, parent, strlen(parent) + 1);

    rc = cg_probe_v2(sys);
    return rc == SO_ENOTFOUND ? cg_probe_v1(sys) : rc;
}


/*
 * mkdir -p of dir, from just below its root (rootlen bytes): the parents
 * may exist, the cgroup itself must not (a leftover is destroyed by name,
 * never reused).  v2 delegates the controllers at each level above it.
 */
static int
cg_mkdir(bld_cgroup_t *cg, char *dir, size_t rootlen)
{
    size_t  i;
    int     leaf, rc;

    for (i = rootlen; ; i++) {
        if (dir[i] != '/' && dir[i] != '\0') {
            continue;
        }

        leaf = dir[i] == '\0';
        dir[i] = '\0';

        if (i > rootlen && mkdir(dir, 0755) == -1
            && (leaf || errno != EEXIST))
        {
            rc = errno == EEXIST ? SO_EEXISTS : SO_ERR;
            cg_error(cg->errstr, "mkdir %s: %s", dir, strerror(errno));
            return rc;
        }

        if (leaf) {
            return SO_OK;
        }

        if (cg->sys->version == 2
            && cg_write(cg, dir, "cgroup.subtree_control",
                        "+memory +pids +cpu") != SO_OK)
        {
            return SO_ERR;
        }

        dir[i] = '/';
    }
}


/* fills cg->dir for <parent>/<name>, making the directories when asked */
static int
cg_dirs(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys, const char *name,
    int make)
{
    int  h, n, rc;

    memset(cg, 0, sizeof(*cg));
    cg->sys = sys;

    if (sys->version != 1 && sys->version != 2) {
        cg_error(cg->errstr, "cgroups not probed");
        return SO_EINVAL;
    }

    if (!cg_name_ok(name, strlen(name))) {
        cg_error(cg->errstr, "bad cgroup name \"%s\"", name);
        return SO_EINVAL;
    }
    memcpy(cg->name, name, strlen(name) + 1);

    for (h = 0; h < BLD_CG_NHIER; h++) {
        if (sys->root[h][0] == '\0') {
            continue;
        }

        n = snprintf(cg->dir[h], sizeof(cg->dir[h]), "%s/%s/%s",
                     sys->root[h], sys->parent, name);
        rc = n < 0 || (size_t) n >= sizeof(cg->dir[h]) ? SO_ETOOBIG : SO_OK;
        if (rc != SO_OK) {
            cg_error(cg->errstr, "%s: path too long", sys->root[h]);
        } else if (make) {
            rc = cg_mkdir(cg, cg->dir[h], strlen(sys->root[h]));
        }

        /* never one not made here: a leftover of that name is not ours */
        if (rc != SO_OK) {
            cg->dir[h][0] = '\0';
            return rc;
        }
    }

    return SO_OK;
}


int
bld_cgroup_create(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys,
    const char *name, uint64_t memory, uint64_t pids)
{
    const cg_limit_file_t  *l;
    uint64_t                lim[CG_NLIM] = { memory, pids };
    char                    val[32], msg[BLD_CG_ERRLEN];
    int                     rc;

    rc = cg_dirs(cg, sys, name, 1);

    for (l = cg_limit_files[sys->version == 2]; rc == SO_OK && l->file;
         l++)
    {
        snprintf(val, sizeof(val), "%" PRIu64, lim[l->lim]);
        rc = cg_write(cg, cg_dir(cg, l->h), l->file,
                      l->value != NULL ? l->value : val);
        if (rc == SO_ENOTFOUND) {
            rc = l->optional ? SO_OK : SO_ERR;
        }
    }

    if (rc != SO_OK) {
        memcpy(msg, cg->errstr, sizeof(msg));
        bld_cgroup_destroy(cg);
        memcpy(cg->errstr, msg, sizeof(msg));
    }

    return rc;
}


int
bld_cgroup_open(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys,
    const char *name)
{
    return cg_dirs(cg, sys, name, 0);
}


int
bld_cgroup_join(const bld_cgroup_t *cg)
{
    char    path[BLD_CG_PATHLEN + sizeof("/cgroup.procs")];
    size_t  len;
    int     h, fd;

    for (h = 0; h < BLD_CG_NHIER; h++) {
        len = strlen(cg->dir[h]);
        if (len == 0) {
            continue;
        }
        memcpy(path, cg->dir[h], len);
        memcpy(path + len, "/cgroup.procs", sizeof("/cgroup.procs"));

        /* pid 0 is the writer itself; on a failure the child exits, and
           the fd with it */
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd == -1 || write(fd, "0", 1) != 1) {
            return -1;
        }
        close(fd);
    }

    return 0;
}


int
bld_cgroup_oom_kills(bld_cgroup_t *cg, uint64_t *n)
{
    *n = 0;

    /* both files are "key value" lines; v1 has oom_kill since Linux 4.13 */
    return cg_read_u64(cg, BLD_CG_MEMORY, cg_files(cg)->oom_file, "oom_kill",
                       n);
}


/*
 * Reads the pids of cgroup.procs, sends each sig unless 0 and adds its
 * CPU time to *cpu_usec when not NULL.  *n is how many were listed.
 */
static int
cg_procs(bld_cgroup_t *cg, int sig, uint64_t *cpu_usec, size_t *n)
{
    FILE  *fp;
    long   pid;
    int    fd;

    *n = 0;

    if (cg->dir[BLD_CG_MEMORY][0] == '\0') {
        return SO_OK;
    }

    fd = cg_open(cg->errstr, cg->dir[BLD_CG_MEMORY], "cgroup.procs",
                 O_RDONLY);
    if (fd == -1) {
        return errno == ENOENT ? SO_OK : SO_ERR;
    }

    fp = fdopen(fd, "r");
    if (fp == NULL) {
        cg_error(cg->errstr, "fdopen: %s", strerror(errno));
        close(fd);
        return SO_ERR;
    }

    while (fscanf(fp, "%ld", &pid) == 1) {
        (*n)++;
        if (pid > 1 && sig != 0) {
            kill((pid_t) pid, sig);
        }
        if (pid > 0 && cpu_usec != NULL) {
            *cpu_usec += cg_cpu_usec(pid);
        }
    }

    fclose(fp);
    return SO_OK;
}


int
bld_cgroup_count(bld_cgroup_t *cg, size_t *n)
{
    return cg_procs(cg, 0, NULL, n);
}


int
bld_cgroup_signal(bld_cgroup_t *cg, int sig)
{
    size_t  n;

    return cg_procs(cg, sig, NULL, &n);
}


/*
 * The CPU time (us) of a process and of its children it waited for:
 * /proc/PID/stat's utime, stime, cutime, cstime.  0 when gone.
 */
static uint64_t
cg_cpu_usec(long pid)
{
    unsigned long long  t[4];
    char                dir[32], buf[1024], err[BLD_CG_ERRLEN], *p;
    long                hz;

    snprintf(dir, sizeof(dir), "/proc/%ld", pid);
    if (cg_read(err, dir, "stat", buf, sizeof(buf)) != SO_OK) {
        return 0;
    }

    /* the command, in parentheses, may hold spaces: fields follow the
       last ")"; utime is the 14th field, the 12th after it */
    p = strrchr(buf, ')');
    hz = sysconf(_SC_CLK_TCK);
    if (p == NULL || hz <= 0
        || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u"
                  " %llu %llu %llu %llu", &t[0], &t[1], &t[2], &t[3]) != 4)
    {
        return 0;
    }

    return (t[0] + t[1] + t[2] + t[3]) * 1000000ULL / (unsigned long) hz;
}


/* the number in file (with key: the value of its "key value" line) */
static int
cg_read_u64(bld_cgroup_t *cg, bld_cg_hier_t h, const char *file,
    const char *key, uint64_t *v)
{
    char    buf[2048], *p;
    size_t  klen;
    int     rc;

    rc = cg_read(cg->errstr, cg_dir(cg, h), file, buf, sizeof(buf));
    if (rc != SO_OK) {
        return rc;
    }

    if (key == NULL) {
        *v = strtoull(buf, NULL, 10);
        return SO_OK;
    }

    klen = strlen(key);
    for (p = buf; p != NULL; p = strchr(p, '\n')) {
        p += (*p == '\n');
        if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            *v = strtoull(p + klen + 1, NULL, 10);
            return SO_OK;
        }
    }

    cg_error(cg->errstr, "no %s in %s/%s", key, cg_dir(cg, h), file);
    return SO_ENOTFOUND;
}


int
bld_cgroup_usage(bld_cgroup_t *cg, bld_cgroup_usage_t *u)
{
    size_t  n;
    int     rc;

    memset(u, 0, sizeof(*u));

    rc = cg_read_u64(cg, BLD_CG_MEMORY, cg_files(cg)->memory, NULL,
                     &u->memory);
    if (rc != SO_OK) {
        return rc;
    }
    rc = cg_read_u64(cg, BLD_CG_MEMORY, cg_files(cg)->memory_peak, NULL,
                     &u->memory_peak);

    if (cg->sys->version == 2) {
        /* memory.peak came with Linux 5.19 */
        if (rc != SO_OK) {
            u->memory_peak = u->memory;
        }
        return cg_read_u64(cg, BLD_CG_MEMORY, "cpu.stat", "usage_usec",
                           &u->cpu_usec);
    }

    /* v1's cpu hierarchy counts no usage (that is cpuacct's, which
       Shipoff does not mount): the processes' own counts, read now */
    return rc != SO_OK ? rc : cg_procs(cg, 0, &u->cpu_usec, &n);
}


static int
cg_freeze(bld_cgroup_t *cg, int on)
{
    const cg_files_t  *f;
    const char        *dir;
    char               state[32];
    int                i, rc;

    f = cg_files(cg);
    dir = cg_dir(cg, BLD_CG_FREEZER);

    if (dir[0] == '\0') {
        return SO_ENOTFOUND;
    }

    /* SO_ENOTFOUND without the file (v2 before Linux 5.2) */
    rc = cg_write(cg, dir, f->freeze, on ? f->frozen : f->thawed);
    if (rc != SO_OK || !on || cg->sys->version == 2) {
        /* v2 reports frozen in cgroup.events; kills work while freezing */
        return rc;
    }

    for (i = 0; i < 100; i++) {
        if (cg_read(cg->errstr, dir, f->freeze, state, sizeof(state))
            == SO_OK && strncmp(state, "FROZEN", 6) == 0)
        {
            return SO_OK;
        }
        usleep(CG_STEP_MS * 1000);
    }

    cg_error(cg->errstr, "%s did not freeze", dir);
    return SO_ERR;
}


int
bld_cgroup_kill(bld_cgroup_t *cg)
{
    size_t  n;
    long    waited;
    int     frozen, rc;

    /* cgroup.kill came with Linux 5.14 */
    if (cg->sys->version == 2) {
        rc = cg_write(cg, cg->dir[BLD_CG_MEMORY], "cgroup.kill", "1");
        if (rc != SO_OK && rc != SO_ENOTFOUND) {
            return rc;
        }
    }

    for (waited = 0; waited <= CG_KILL_WAIT_MS; waited += CG_STEP_MS) {
        frozen = cg_freeze(cg, 1) == SO_OK;
        rc = cg_procs(cg, SIGKILL, NULL, &n);
        if (frozen) {
            cg_freeze(cg, 0);
        }
        if (rc != SO_OK || n == 0) {
            return rc;
        }
        usleep(CG_STEP_MS * 1000);
    }

    cg_error(cg->errstr, "%zu processes of %s survive SIGKILL", n,
             cg->dir[BLD_CG_MEMORY]);
    return SO_ERR;
}


int
bld_cgroup_destroy(bld_cgroup_t *cg)
{
    long  waited;
    int   h, rc;

    if (cg == NULL || cg->sys == NULL) {
        return SO_OK;
    }

    if (cg->dir[BLD_CG_MEMORY][0] != '\0') {
        rc = bld_cgroup_kill(cg);
        if (rc != SO_OK) {
            return rc;
        }
    }

    for (h = 0; h < BLD_CG_NHIER; h++) {
        if (cg->dir[h][0] == '\0') {
            continue;
        }

        /* the last exits are still being accounted for a moment */
        for (waited = 0; rmdir(cg->dir[h]) == -1; waited += CG_STEP_MS) {
            if (errno == ENOENT) {
                break;
            }
            if (errno != EBUSY || waited >= CG_RMDIR_WAIT_MS) {
                cg_error(cg->errstr, "rmdir %s: %s", cg->dir[h],
                         strerror(errno));
                return SO_ERR;
            }
            usleep(CG_STEP_MS * 1000);
        }

        cg->dir[h][0] = '\0';
    }

    return SO_OK;
}


void
bld_cgroup_remove(const bld_cgroup_sys_t *sys, const char *name)
{
    bld_cgroup_t  cg;

    if (bld_cgroup_open(&cg, sys, name) == SO_OK) {
        (void) bld_cgroup_destroy(&cg);
    }
}


const char *
bld_cgroup_path(const bld_cgroup_t *cg)
{
    return cg->dir[BLD_CG_MEMORY];
}
