/*
 * seccomp.h: the system calls a build or an app may not make.
 *
 * The sandbox hands bubblewrap a compiled filter (--seccomp FD), which
 * bwrap loads just before it execs the command, after its own namespace
 * and mount set-up: everything the build or app runs inherits it.  The
 * policy, one table with a reason per entry, is in seccomp.c.
 */

#ifndef BLD_SECCOMP_H
#define BLD_SECCOMP_H

#include <stddef.h>

/*
 * Writes the classic-BPF program to fd (a memfd bwrap reads to its end).
 * The reason of a failure goes to err.
 */
int bld_seccomp_write(int fd, char *err, size_t errlen);

#endif /* BLD_SECCOMP_H */
