/*
 * so_password.h: password hashing with argon2id (libargon2).
 *
 * Hashes are PHC strings ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) that
 * carry their parameters, so raising the configured parameters makes
 * so_password_verify() say "rehash" for older hashes.  At most
 * max_concurrent hashes run at once, process-wide (a semaphore): a login
 * flood queues instead of eating every core and all memory.
 */

#ifndef SO_PASSWORD_H
#define SO_PASSWORD_H

#include <stddef.h>
#include <stdint.h>

/* longer passwords are refused (SO_EINVAL) before any hashing */
#define SO_PASSWORD_MAX_LEN  1024

typedef struct {
    uint32_t  m_kib;                 /* memory, KiB (OWASP: >= 19456) */
    uint32_t  t;                     /* iterations (>= 2) */
    uint32_t  p;                     /* lanes (>= 1) */
} so_argon2_t;

/*
 * Once per process, before any thread hashes (the functions below assert
 * it was called); max_concurrent >= 1.  0, or SO_ERR on a bad value or a
 * second call.
 */
int so_password_init(int max_concurrent);

/*
 * writes a malloc()ed PHC string to *phc; 0, SO_EINVAL for a password over
 * SO_PASSWORD_MAX_LEN bytes, or SO_ERR
 */
int so_password_hash(char **phc, const so_argon2_t *params, const char *pw,
    size_t pwlen);

/*
 * 0 when pw matches phc (and *rehash = 1 when phc's parameters are below
 * params), SO_EINVAL when it does not or phc is not an argon2id PHC
 * string, SO_ERR on failure.
 */
int so_password_verify(int *rehash, const char *phc,
    const so_argon2_t *params, const char *pw, size_t pwlen);

/*
 * Spends the time of one verification against a fixed dummy hash, so that
 * a login for an unknown email costs what a wrong password costs.
 */
void so_password_dummy(const so_argon2_t *params, const char *pw,
    size_t pwlen);

#endif /* SO_PASSWORD_H */
