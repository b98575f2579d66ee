/*
 * so_git.h: cloning a repository with libgit2, for the API's detection
 * and for the builder.
 *
 * One branch, fetched into dir (which must not exist or be empty) and
 * not checked out: the caller checks out what it wants once it has
 * measured the tree (a small pack can expand to any size: a "git bomb";
 * SO_GIT_MAX_FILES and SO_GIT_MAX_CHECKOUT are the builder's caps).
 * The transfer is capped in time and size: libgit2 1.5 has no shallow
 * clone and no socket timeout, so the transfer-progress callback aborts
 * the clone past SO_GIT_TIMEOUT_S seconds or SO_GIT_MAX_BYTES received.
 * A server that sends nothing at all is not bounded by this callback: the
 * builder clones inside its sandbox under the build's wall clock.
 *
 * git_libgit2_init() must have run once in the process (so_git_init).
 */

#ifndef SO_GIT_H
#define SO_GIT_H

#include <stddef.h>

#define SO_GIT_TIMEOUT_S   60
#define SO_GIT_MAX_BYTES   (200LL * 1024 * 1024)
#define SO_GIT_MAX_FILES   200000              /* entries of the tree */
#define SO_GIT_MAX_CHECKOUT  (2048LL * 1024 * 1024)    /* bytes of files */

/* once per process, before the threads: 0 or SO_ERR */
int so_git_init(void);

/*
 * Fetches branch of url into dir (nothing checked out).  token, when not
 * NULL, is sent as HTTP basic credentials ("x-access-token", token):
 * GitHub's form for OAuth and app tokens.  0, or SO_ENOTFOUND (no such repository or branch),
 * SO_ETOOBIG (over the size cap), SO_EUNAVAIL (timeout, unreachable) or
 * SO_ERR, with a reason in err that never holds the token.
 */
int so_git_clone(const char *url, const char *branch, const char *dir,
    const char *token, char *err, size_t errlen);

#endif /* SO_GIT_H */
