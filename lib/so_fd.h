/*
 * so_fd.h: file descriptors held in a struct, -1 when there is none, so a
 * cleanup can run at any point and more than once.
 */

#ifndef SO_FD_H
#define SO_FD_H

/* closes *fd unless it is -1, which it is after */
void so_fd_close(int *fd);

#endif /* SO_FD_H */
