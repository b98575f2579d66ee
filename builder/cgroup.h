/*
 * cgroup.h: one small interface over cgroup v1 and v2 for the sandbox.
 *
 * bld_cgroup_sys_init() probes the host once at start and picks the
 * layout: v2 when the unified hierarchy at /sys/fs/cgroup offers the
 * memory controller, else v1 with memory, pids and cpu hierarchies
 * mounted side by side (the hybrid hosts).  Every cgroup Shipoff makes
 * lives under one parent of its own (default "shipoff", relative to the
 * hierarchy root); no other cgroup is ever written to or removed.
 *
 * A cgroup holds one build or one app: limits set at creation, processes
 * added by pid, OOM kills counted by the kernel, everything killed at
 * once, and the directory removed when nothing is left in it.
 */

#ifndef BLD_CGROUP_H
#define BLD_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#define BLD_CG_ERRLEN   128
#define BLD_CG_PATHLEN  256
#define BLD_CG_NAMELEN  64

/* v1 keeps one directory per hierarchy; v2 uses only the first */
typedef enum {
    BLD_CG_MEMORY = 0,
    BLD_CG_PIDS,
    BLD_CG_CPU,
    BLD_CG_FREEZER,                 /* v1 only, and optional */
    BLD_CG_NHIER
} bld_cg_hier_t;

typedef struct {
    int    version;                 /* 1 or 2 */
    char   root[BLD_CG_NHIER][BLD_CG_PATHLEN];  /* v1: "" when absent */
    char   parent[BLD_CG_PATHLEN];  /* relative, e.g. "shipoff" */
    char   errstr[BLD_CG_ERRLEN];
} bld_cgroup_sys_t;

typedef struct {
    const bld_cgroup_sys_t  *sys;
    char    name[BLD_CG_NAMELEN];
    char    dir[BLD_CG_NHIER][BLD_CG_PATHLEN];  /* "" when not made */
    char    errstr[BLD_CG_ERRLEN];
} bld_cgroup_t;

/* parent is ours, relative to the hierarchies' roots */
int bld_cgroup_sys_init(bld_cgroup_sys_t *sys, const char *parent);

/*
 * Makes <parent>/<name> with these limits (memory: bytes, swap included;
 * pids: tasks); SO_EEXISTS when it exists.
 */
int bld_cgroup_create(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys,
    const char *name, uint64_t memory, uint64_t pids);

/* names an existing <parent>/<name> without touching it */
int bld_cgroup_open(bld_cgroup_t *cg, const bld_cgroup_sys_t *sys,
    const char *name);

/*
 * Moves the calling process into the cgroup: a child calls it between
 * fork and exec, so nothing it runs ever starts outside the cgroup.  Only
 * async-signal-safe calls; 0, or -1 with errno.
 */
int bld_cgroup_join(const bld_cgroup_t *cg);

/* *n = the kernel's count of OOM kills in the cgroup */
int bld_cgroup_oom_kills(bld_cgroup_t *cg, uint64_t *n);

/* what a cgroup uses */
typedef struct {
    uint64_t  memory;               /* bytes now */
    uint64_t  memory_peak;          /* bytes, the most since it was made */
    uint64_t  cpu_usec;             /* CPU time of its processes */
} bld_cgroup_usage_t;

/*
 * *u = what the cgroup uses now.  On v1 the CPU time is that of the
 * processes in it now (and of the children they waited for): it can go
 * down when one exits.
 */
int bld_cgroup_usage(bld_cgroup_t *cg, bld_cgroup_usage_t *u);

/* *n = the number of processes still in the cgroup */
int bld_cgroup_count(bld_cgroup_t *cg, size_t *n);

/* sends sig to every process of the cgroup, not waiting */
int bld_cgroup_signal(bld_cgroup_t *cg, int sig);

/* SIGKILLs every process of the cgroup and waits until none is left */
int bld_cgroup_kill(bld_cgroup_t *cg);

/* kills what is left, then removes the directories; accepts a bare cg */
int bld_cgroup_destroy(bld_cgroup_t *cg);

/* destroys <parent>/<name> when it exists: a leftover of a crash, which
   bld_cgroup_create() would not reuse */
void bld_cgroup_remove(const bld_cgroup_sys_t *sys, const char *name);

const char *bld_cgroup_path(const bld_cgroup_t *cg);

#endif /* BLD_CGROUP_H */
