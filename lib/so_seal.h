/*
 * so_seal.h: secrets at rest, sealed with the master key.
 *
 * AES-256-GCM (so_crypto.h) under the configuration's master_key, with an
 * AAD that names what the secret belongs to ("webhook:42", an env var's
 * project, key and key version), so a sealed value copied into another
 * row does not open.  The key is decoded for each call and wiped after it:
 * it is never kept in a second place in memory.
 */

#ifndef SO_SEAL_H
#define SO_SEAL_H

#include <stddef.h>

#include "so_config.h"

/*
 * Seals pt[0 .. len) for aad: a malloc()ed string to *out.  0, SO_EINVAL
 * when master_key is missing or malformed, or SO_ERR.
 */
int so_seal(char **out, const so_config_t *cfg, const char *aad,
    const void *pt, size_t len);

/*
 * Opens what so_seal() wrote for the same aad: a malloc()ed, NUL-ended
 * plaintext to *out (so_wipe and free it).  0, SO_EINVAL when it does not
 * open (another row's, tampered, another key), or SO_ERR.
 */
int so_unseal(char **out, size_t *len, const so_config_t *cfg,
    const char *aad, const char *sealed);

#endif /* SO_SEAL_H */
