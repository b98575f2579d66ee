/*
 * notify.h: the loop hears of a new stream entry at once (notify.c).
 *
 * The stream consumers (stream.c) read without blocking, so the loop never
 * waits on Redis; alone, a new entry would wait for the loop's next poll.
 * A thread of its own, on a Redis connection of its own, blocks in XREAD
 * on every stream the loop reads and, when one grows, wakes the loop
 * through an eventfd in its epoll.
 */

#ifndef BLD_NOTIFY_H
#define BLD_NOTIFY_H

#include "so_config.h"


#define BLD_NOTIFY_STREAMS  8


/*
 * Starts the thread on the streams named (their names must outlive the
 * process) and adds its eventfd to epfd.  SO_OK, or SO_ERR (logged): the
 * loop then finds new entries on its poll only.
 */
int bld_notify_start(const so_config_t *cfg, int epfd,
    const char *const *streams, int nstreams);

int bld_notify_is_ours(int fd);

/* reads the eventfd: the loop has heard */
void bld_notify_heard(void);

#endif /* BLD_NOTIFY_H */
