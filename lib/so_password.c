/*
 * so_password.c: argon2id password hashes through libargon2.
 *
 * Each hash costs m_kib of memory and a core for tens of milliseconds, so
 * every hash and verification runs under one process-wide counting
 * semaphore: a burst of logins queues for a slot instead of exhausting the
 * memory of the host.  so_password_init() sets the number of slots once;
 * calling the other functions before it is a programming error (assert).
 *
 * The stored PHC string carries its parameters; verification parses them
 * itself (libargon2 only says match or mismatch) to tell the caller when
 * the hash is weaker than the configured parameters and should be
 * replaced.  Logins for unknown accounts verify against a dummy hash made
 * once with the configured parameters, so both cost one verification.
 */

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_password.h"


#define SO_PW_SALT_LEN   16
#define SO_PW_HASH_LEN   32
#define SO_PW_PREFIX     "$argon2id$v=19$"
#define SO_PW_PHC_MAX    256          /* a PHC string of ours is ~100 */
#define SO_PW_DUMMY      "shipoff dummy password"


static int so_pw_dummy_copy(char *buf, size_t len,
    const so_argon2_t *params);
static int so_pw_parse(so_argon2_t *out, const char *phc);
static int so_pw_parse_number(const char **s, const char *name,
    char end, uint32_t *out);
static int so_pw_acquire(void);
static void so_pw_release(void);


static sem_t            so_pw_slots;
static atomic_int       so_pw_ready;

/* the dummy hash, and the parameters it was made with */
static pthread_mutex_t  so_pw_dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char            *so_pw_dummy_phc;
static so_argon2_t      so_pw_dummy_params;


int
so_password_init(int max_concurrent)
{
    if (max_concurrent < 1 || atomic_load(&so_pw_ready)) {
        return SO_ERR;
    }

    if (sem_init(&so_pw_slots, 0, (unsigned) max_concurrent) == -1) {
        return SO_ERR;
    }

    atomic_store(&so_pw_ready, 1);

    return SO_OK;
}


int
so_password_hash(char **phc, const so_argon2_t *params, const char *pw,
    size_t pwlen)
{
    int            rc, ret;
    char          *out;
    size_t         len;
    unsigned char  salt[SO_PW_SALT_LEN];

    assert(atomic_load(&so_pw_ready));

    *phc = NULL;

    if (pwlen > SO_PASSWORD_MAX_LEN) {
        return SO_EINVAL;
    }

    rc = SO_ERR;

    len = argon2_encodedlen(params->t, params->m_kib, params->p,
                            SO_PW_SALT_LEN, SO_PW_HASH_LEN, Argon2_id);

    out = malloc(len);
    if (out == NULL || so_random(salt, sizeof(salt)) != SO_OK
        || so_pw_acquire() != SO_OK)
    {
        goto done;
    }

    ret = argon2id_hash_encoded(params->t, params->m_kib, params->p, pw, pwlen,
                                salt, sizeof(salt), SO_PW_HASH_LEN, out, len);
    so_pw_release();

    if (ret != ARGON2_OK) {
        goto done;
    }

    *phc = out;
    out = NULL;
    rc = SO_OK;

done:

    free(out);

    return rc;
}


int
so_password_verify(int *rehash, const char *phc, const so_argon2_t *params,
    const char *pw, size_t pwlen)
{
    int          ret;
    so_argon2_t  stored;

    assert(atomic_load(&so_pw_ready));

    if (rehash != NULL) {
        *rehash = 0;
    }

    /* no such password was ever hashed, so none can match */
    if (pwlen > SO_PASSWORD_MAX_LEN) {
        return SO_EINVAL;
    }

    if (so_pw_parse(&stored, phc) != SO_OK) {
        return SO_EINVAL;
    }

    if (so_pw_acquire() != SO_OK) {
        return SO_ERR;
    }

    ret = argon2id_verify(phc, pw, pwlen);
    so_pw_release();

    switch (ret) {

    case ARGON2_OK:
        break;

    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        return SO_ERR;

    default:
        /* a mismatch, or a string libargon2 cannot decode */
        return SO_EINVAL;
    }

    if (rehash != NULL) {
        *rehash = stored.m_kib < params->m_kib || stored.t < params->t
                  || stored.p < params->p;
    }

    return SO_OK;
}


void
so_password_dummy(const so_argon2_t *params, const char *pw, size_t pwlen)
{
    int    rehash;
    char  *phc;
    char   dummy[SO_PW_PHC_MAX];

    if (so_pw_dummy_copy(dummy, sizeof(dummy), params) == SO_OK) {
        so_password_verify(&rehash, dummy, params, pw, pwlen);
        return;
    }

    /* no dummy hash: a hash of pw costs the same */
    if (so_password_hash(&phc, params, pw, pwlen) == SO_OK) {
        free(phc);
    }
}


/*
 * Copies the dummy hash for params into buf, making it on first use (or
 * when the parameters changed); a copy, because another thread may
 * replace it meanwhile.
 */
static int
so_pw_dummy_copy(char *buf, size_t len, const so_argon2_t *params)
{
    int    rc;
    char  *phc;

    rc = SO_ERR;
    pthread_mutex_lock(&so_pw_dummy_lock);

    if (so_pw_dummy_phc == NULL
        || memcmp(&so_pw_dummy_params, params, sizeof(*params)) != 0)
    {
        if (so_password_hash(&phc, params, SO_PW_DUMMY,
                             sizeof(SO_PW_DUMMY) - 1) != SO_OK)
        {
            goto done;
        }

        free(so_pw_dummy_phc);
        so_pw_dummy_phc = phc;
        so_pw_dummy_params = *params;
    }

    if (strlen(so_pw_dummy_phc) < len) {
        memcpy(buf, so_pw_dummy_phc, strlen(so_pw_dummy_phc) + 1);
        rc = SO_OK;
    }

done:

    pthread_mutex_unlock(&so_pw_dummy_lock);

    return rc;
}


/* the parameters of "$argon2id$v=19$m=M,t=T,p=P$salt$hash" */
static int
so_pw_parse(so_argon2_t *out, const char *phc)
{
    const char  *s;

    if (strncmp(phc, SO_PW_PREFIX, sizeof(SO_PW_PREFIX) - 1) != 0) {
        return SO_EINVAL;
    }

    s = phc + sizeof(SO_PW_PREFIX) - 1;

    if (so_pw_parse_number(&s, "m=", ',', &out->m_kib) != SO_OK
        || so_pw_parse_number(&s, "t=", ',', &out->t) != SO_OK
        || so_pw_parse_number(&s, "p=", '$', &out->p) != SO_OK)
    {
        return SO_EINVAL;
    }

    return SO_OK;
}


/* name, 1 to 10 digits that fit in 32 bits, then end; advances *s */
static int
so_pw_parse_number(const char **s, const char *name, char end,
    uint32_t *out)
{
    size_t       n, len;
    uint64_t     v;
    const char  *p;

    p = *s;
    len = strlen(name);

    if (strncmp(p, name, len) != 0) {
        return SO_EINVAL;
    }

    p += len;
    v = 0;

    for (n = 0; p[n] >= '0' && p[n] <= '9'; n++) {
        if (n == 10) {
            return SO_EINVAL;
        }

        v = v * 10 + (uint64_t) (p[n] - '0');
    }

    if (n == 0 || p[n] != end || v > UINT32_MAX) {
        return SO_EINVAL;
    }

    *out = (uint32_t) v;
    *s = p + n + 1;

    return SO_OK;
}


static int
so_pw_acquire(void)
{
    while (sem_wait(&so_pw_slots) == -1) {
        if (errno != EINTR) {
            return SO_ERR;
        }
    }

    return SO_OK;
}


static void
so_pw_release(void)
{
    sem_post(&so_pw_slots);
}
