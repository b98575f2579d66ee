/*
 * bench/clone.c: one clone with shipoffd's clone (lib's so_git_clone,
 * libgit2 under its time and size caps), as a process of its own, so that
 * bench/builder.pl times it exactly as it times `git clone` of the same
 * repository from the same server.
 *
 *   bench/clone URL BRANCH DIR
 */

#include <stdio.h>

#include "shipoff.h"
#include "so_git.h"


int
main(int argc, char **argv)
{
    char  err[SO_ERRLEN];

    if (argc != 4) {
        fprintf(stderr, "usage: %s URL BRANCH DIR\n", argv[0]);
        return 2;
    }

    if (so_git_init() != SO_OK
        || so_git_clone(argv[1], argv[2], argv[3], NULL, err, sizeof(err))
           != SO_OK)
    {
        fprintf(stderr, "clone: %s\n", err);
        return 1;
    }

    return 0;
}
