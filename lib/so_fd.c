/*
 * so_fd.c: closing a held file descriptor (so_fd.h).
 */

#include <unistd.h>

#include "so_fd.h"


void
so_fd_close(int *fd)
{
    if (*fd != -1) {
        (void) close(*fd);
        *fd = -1;
    }
}
