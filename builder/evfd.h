/*
 * evfd.h: an eventfd in the loop's epoll set, through which a thread of
 * shipoffd wakes the loop (edgeq.c's edges, notify.c's stream watcher).
 */

#ifndef BLD_EVFD_H
#define BLD_EVFD_H


/*
 * A nonblocking eventfd added to epfd for reading: the fd, or -1 with the
 * failure logged under ctx.
 */
int bld_evfd_open(int epfd, const char *ctx);

/* from any thread: the loop is woken (a failure is logged under ctx) */
void bld_evfd_ring(int fd, const char *ctx);

/* in the loop: the count is read back to 0, so epoll is quiet again */
void bld_evfd_heard(int fd, const char *ctx);

#endif /* BLD_EVFD_H */
