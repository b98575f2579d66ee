/*
 * bwrapfds.h: what bwrap reads from fds rather than from its command line.
 *
 * Two things: the seccomp filter (seccomp.h), for --seccomp FD, and the
 * environment of the command, for --args FD.  Both fds are close-on-exec
 * and above stdio; the sandbox's child clears the flag on exactly these
 * two before it execs bwrap, which closes them before its own exec.
 */

#ifndef BLD_BWRAPFDS_H
#define BLD_BWRAPFDS_H

#include <stddef.h>

typedef struct {
    int   seccomp;                  /* the compiled filter */
    int   env;                      /* the --setenv triples */
    char  seccomp_arg[16];          /* the numbers, for bwrap's argv */
    char  env_arg[16];
} bld_bwrap_fds_t;

/* envp NULL: an empty environment; on failure nothing is left open */
int bld_bwrap_fds_open(bld_bwrap_fds_t *f, const char *const *envp,
    char *err, size_t errlen);

/* accepts a struct whose fds are -1 */
void bld_bwrap_fds_close(bld_bwrap_fds_t *f);

#endif /* BLD_BWRAPFDS_H */
