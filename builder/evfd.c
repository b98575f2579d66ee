/*
 * evfd.c: the eventfd a thread of shipoffd writes to wake the loop (see
 * evfd.h).  The count is never used: one read takes all the rings since
 * the last, and a full counter (EAGAIN) already wakes the loop.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_log.h"
#include "evfd.h"


int
bld_evfd_open(int epfd, const char *ctx)
{
    struct epoll_event  ev;
    int                 fd;

    fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd == -1) {
        so_log_error(ctx, "eventfd: %s", strerror(errno));
        return -1;
    }

    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1) {
        so_log_error(ctx, "epoll_ctl: %s", strerror(errno));
        close(fd);
        return -1;
    }

    return fd;
}


void
bld_evfd_ring(int fd, const char *ctx)
{
    uint64_t  one;

    one = 1;
    if (write(fd, &one, sizeof(one)) == -1 && errno != EAGAIN) {
        so_log_error(ctx, "eventfd: %s", strerror(errno));
    }
}


void
bld_evfd_heard(int fd, const char *ctx)
{
    uint64_t  n;

    if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN) {
        so_log_error(ctx, "eventfd: %s", strerror(errno));
    }
}
