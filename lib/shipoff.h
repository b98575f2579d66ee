/*
 * shipoff.h: what every C program of Shipoff shares.
 *
 * Return conventions (libgit2 style): 0 on success, a negative SO_E* code
 * on failure, with the detail in an error buffer or a context's errstr.
 */

#ifndef SHIPOFF_H
#define SHIPOFF_H

#include <stddef.h>

#define SHIPOFF_VERSION  "0.1.0"

#define SO_OK          0
#define SO_ERR        -1    /* anything not named below */
#define SO_ENOTFOUND  -2
#define SO_EEXISTS    -3
#define SO_EINVAL     -4    /* bad input: malformed, out of range */
#define SO_ETOOBIG    -5    /* over a size cap */
#define SO_EUNAVAIL   -6    /* a server (PostgreSQL, Redis) is unreachable */
#define SO_EDENIED    -7    /* authenticated, but not allowed */
#define SO_EQUOTA     -8    /* over one of the account's quotas */

#define SO_ERRLEN    256

#define so_nelems(a)  (sizeof(a) / sizeof((a)[0]))

#endif /* SHIPOFF_H */
