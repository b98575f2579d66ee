/*
 * test_password.c: argon2id hashes as a login sees them: the right
 * password and only it verifies, weaker stored parameters ask for a
 * rehash, anything but our own argon2id PHC string is refused, and the
 * process-wide limit lets one hash run at a time.
 *
 * The group setup calls so_password_init(1) once for the whole binary,
 * after checking that a limit below one is refused.
 * Small parameters (1 MiB, one pass) keep the tests fast wherever the
 * parameters are not the point.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_password.h"
#include "so_test.h"


#define PW        "correct horse battery staple"
#define THREADS   4
#define ROUNDS    3

static const so_argon2_t  small = { 1024, 1, 1 };
static const so_argon2_t  owasp = { 19456, 2, 1 };


/* a bad limit is refused before the one good call of the process */
static int
setup(void **state)
{
    return so_password_init(0) == SO_ERR && so_password_init(-1) == SO_ERR
           && so_password_init(1) == SO_OK ? 0 : -1;
}


static double
cpu_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* the limit is set once: a second call is refused */
static void
test_init_twice(void **state)
{
    assert_int_equal(so_password_init(1), SO_ERR);
    assert_int_equal(so_password_init(8), SO_ERR);
}


static void
test_hash_verify(void **state)
{
    static const struct {
        const char  *pw;
        size_t       len;
        int          rc;
    } cases[] = {
        { PW, sizeof(PW) - 1, SO_OK },
        { PW, sizeof(PW) - 2, SO_EINVAL },
        { PW " ", sizeof(PW), SO_EINVAL },
        { "Correct horse battery staple", sizeof(PW) - 1, SO_EINVAL },
        { "", 0, SO_EINVAL },
        { PW "\0x", sizeof(PW) + 1, SO_EINVAL },
    };
    int     rc, rehash;
    char   *phc, *phc2;
    size_t  i;

    assert_int_equal(so_password_hash(&phc, &small, PW, sizeof(PW) - 1),
                     SO_OK);
    assert_true(strncmp(phc, "$argon2id$v=19$m=1024,t=1,p=1$", 30) == 0);

    for (i = 0; i < so_nelems(cases); i++) {
        rehash = -1;
        rc = so_password_verify(&rehash, phc, &small, cases[i].pw,
                                cases[i].len);

        so_test_label(rc != cases[i].rc, "\"%.*s\": %d\n",
                      (int) cases[i].len, cases[i].pw, rc);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(rehash, 0);
    }

    /* a random salt each time */
    assert_int_equal(so_password_hash(&phc2, &small, PW, sizeof(PW) - 1),
                     SO_OK);
    assert_string_not_equal(phc, phc2);
    assert_int_equal(so_password_verify(NULL, phc2, &small, PW,
                                        sizeof(PW) - 1), SO_OK);

    free(phc);
    free(phc2);
}


static void
test_odd_passwords(void **state)
{
    static const struct {
        const char  *pw;
        size_t       len;
        const char  *other;         /* must not verify */
        size_t       other_len;
    } cases[] = {
        { "", 0, " ", 1 },
        { "a\0b", 3, "a\0c", 3 },
        { "a\0b", 3, "a", 1 },
        { "p\xc3\xa4ss", 5, "pass", 4 },
    };
    int      rc, other;
    char    *phc;
    size_t   i;

    for (i = 0; i < so_nelems(cases); i++) {
        assert_int_equal(so_password_hash(&phc, &small, cases[i].pw,
                                          cases[i].len), SO_OK);

        rc = so_password_verify(NULL, phc, &small, cases[i].pw,
                                cases[i].len);
        other = so_password_verify(NULL, phc, &small, cases[i].other,
                                   cases[i].other_len);

        so_test_label(rc != SO_OK || other != SO_EINVAL, "case %zu: %d %d\n",
                      i, rc, other);
        assert_int_equal(rc, SO_OK);
        assert_int_equal(other, SO_EINVAL);
        free(phc);
    }
}


static void
test_length_limit(void **state)
{
    char  *pw, *phc;

    pw = malloc(SO_PASSWORD_MAX_LEN + 1);
    assert_non_null(pw);
    memset(pw, 'x', SO_PASSWORD_MAX_LEN + 1);

    assert_int_equal(so_password_hash(&phc, &small, pw, SO_PASSWORD_MAX_LEN),
                     SO_OK);
    assert_int_equal(so_password_verify(NULL, phc, &small, pw,
                                        SO_PASSWORD_MAX_LEN), SO_OK);

    /* one byte more is refused, even where its first 1024 bytes match */
    assert_int_equal(so_password_verify(NULL, phc, &small, pw,
                                        SO_PASSWORD_MAX_LEN + 1), SO_EINVAL);
    free(phc);

    phc = (char *) "untouched";
    assert_int_equal(so_password_hash(&phc, &small, pw,
                                      SO_PASSWORD_MAX_LEN + 1), SO_EINVAL);
    assert_null(phc);

    so_password_dummy(&small, pw, SO_PASSWORD_MAX_LEN + 1);

    free(pw);
}


static void
test_owasp_params(void **state)
{
    int    rehash;
    char  *phc;

    assert_int_equal(so_password_hash(&phc, &owasp, PW, sizeof(PW) - 1),
                     SO_OK);
    assert_true(strncmp(phc, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);

    rehash = -1;
    assert_int_equal(so_password_verify(&rehash, phc, &owasp, PW,
                                        sizeof(PW) - 1), SO_OK);
    assert_int_equal(rehash, 0);

    free(phc);
}


static void
test_rehash(void **state)
{
    static const struct {
        so_argon2_t  params;
        int          rehash;
    } cases[] = {
        { { 1024, 1, 1 }, 0 },
        { { 512, 1, 1 }, 0 },
        { { 1024, 1, 0 }, 0 },
        { { 1025, 1, 1 }, 1 },
        { { 2048, 1, 1 }, 1 },
        { { 1024, 2, 1 }, 1 },
        { { 1024, 1, 2 }, 1 },
        { { 512, 2, 1 }, 1 },
        { { 19456, 2, 1 }, 1 },
    };
    int     rc, rehash;
    char   *phc;
    size_t  i;

    assert_int_equal(so_password_hash(&phc, &small, PW, sizeof(PW) - 1),
                     SO_OK);

    for (i = 0; i < so_nelems(cases); i++) {
        rehash = -1;
        rc = so_password_verify(&rehash, phc, &cases[i].params, PW,
                                sizeof(PW) - 1);

        so_test_label(rc != SO_OK || rehash != cases[i].rehash,
                      "m=%u,t=%u,p=%u: rc %d rehash %d\n",
                      cases[i].params.m_kib, cases[i].params.t,
                      cases[i].params.p, rc, rehash);
        assert_int_equal(rc, SO_OK);
        assert_int_equal(rehash, cases[i].rehash);
    }

    free(phc);
}


typedef enum {
    LOWER_M,
    RAISE_T,
    ARGON2I,
    SALT_CHAR,
    HASH_CHAR,
    HASH_CUT,
    HASH_LONGER,
    TRAILING_PART
} spoil_t;


/* phc changed in one place; the caller frees */
static char *
spoil(const char *phc, spoil_t how)
{
    char    *out, *salt, *hash;
    size_t   len;

    len = strlen(phc);
    out = malloc(len + 8);
    assert_non_null(out);
    memcpy(out, phc, len + 1);

    salt = strstr(out, "p=1$") + 4;
    hash = strrchr(out, '$') + 1;

    switch (how) {

    case LOWER_M:
        memcpy(strstr(out, "m=1024"), "m=1023", 6);
        break;

    case RAISE_T:
        strstr(out, "t=1")[2] = '2';
        break;

    case ARGON2I:
        memmove(out + 8, out + 9, len - 8);
        break;

    case SALT_CHAR:
        salt[0] = salt[0] == 'A' ? 'B' : 'A';
        break;

    case HASH_CHAR:
        hash[0] = hash[0] == 'A' ? 'B' : 'A';
        break;

    case HASH_CUT:
        out[len - 4] = '\0';
        break;

    case HASH_LONGER:
        memcpy(out + len, "AAAA", 5);
        break;

    case TRAILING_PART:
        memcpy(out + len, "$AAAA", 6);
        break;
    }

    return out;
}


static void
test_refused_strings(void **state)
{
    static const char  *fixed[] = {
        "",
        "correct horse battery staple",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$",
        "$argon2id$v=19$",
        "$argon2id$v=19$m=1024,t=1,p=1$",
        "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$",
        "$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$m=,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$m=1024,t=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$argon2id$v=19$t=1,m=1024,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
        "$ARGON2ID$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
    };
    int      rc;
    char    *phc, *bad, argon2i[128];
    size_t   i;
    uint8_t  salt[16];

    for (i = 0; i < so_nelems(fixed); i++) {
        rc = so_password_verify(NULL, fixed[i], &small, PW, sizeof(PW) - 1);

        so_test_label(rc != SO_EINVAL, "\"%s\": %d\n", fixed[i], rc);
        assert_int_equal(rc, SO_EINVAL);
    }

    /* a correct argon2i hash of the right password: the wrong variant */
    memset(salt, 's', sizeof(salt));
    assert_int_equal(argon2i_hash_encoded(1, 1024, 1, PW, sizeof(PW) - 1,
                                          salt, sizeof(salt), 32, argon2i,
                                          sizeof(argon2i)), ARGON2_OK);
    assert_int_equal(so_password_verify(NULL, argon2i, &small, PW,
                                        sizeof(PW) - 1), SO_EINVAL);

    /* a valid hash of ours, changed in one place */
    assert_int_equal(so_password_hash(&phc, &small, PW, sizeof(PW) - 1),
                     SO_OK);

    for (i = LOWER_M; i <= TRAILING_PART; i++) {
        bad = spoil(phc, (spoil_t) i);
        rc = so_password_verify(NULL, bad, &small, PW, sizeof(PW) - 1);

        so_test_label(rc != SO_EINVAL, "\"%s\": %d\n", bad, rc);
        assert_int_equal(rc, SO_EINVAL);

        free(bad);
    }

    free(phc);
}


static void
test_dummy(void **state)
{
    char    *phc;
    double   t0, verify, dummy;

    assert_int_equal(so_password_hash(&phc, &owasp, PW, sizeof(PW) - 1),
                     SO_OK);

    /* the first call makes the dummy hash; time the second */
    so_password_dummy(&owasp, PW, sizeof(PW) - 1);

    t0 = so_test_now();
    assert_int_equal(so_password_verify(NULL, phc, &owasp, "wrong", 5),
                     SO_EINVAL);
    verify = so_test_now() - t0;

    t0 = so_test_now();
    so_password_dummy(&owasp, "wrong", 5);
    dummy = so_test_now() - t0;

    /* a skipped verification would be a thousand times faster */
    so_test_label(dummy < verify / 10, "dummy %.4fs, verify %.4fs\n", dummy,
                  verify);
    assert_true(dummy >= verify / 10);

    /* other parameters, other dummy */
    so_password_dummy(&small, PW, sizeof(PW) - 1);

    free(phc);
}


static void *
hash_thread(void *arg)
{
    int                       i;
    char                     *phc;
    int                      *failures = arg;
    static const so_argon2_t  params = { 4096, 1, 1 };

    for (i = 0; i < ROUNDS; i++) {
        if (so_password_hash(&phc, &params, PW, sizeof(PW) - 1) != SO_OK
            || so_password_verify(NULL, phc, &params, PW, sizeof(PW) - 1)
               != SO_OK)
        {
            (*failures)++;
        }

        free(phc);
    }

    return NULL;
}


/*
 * With one slot, hashes run one at a time, so the process uses at most
 * one core: its CPU time cannot outgrow the wall time.  Without the
 * limit, THREADS hashes on two or more cores take twice the CPU time of
 * the wall time or more.  A busy host only lowers the ratio.
 */
static void
test_one_at_a_time(void **state)
{
    int        i;
    int        failures[THREADS];
    double     wall, cpu;
    pthread_t  tid[THREADS];

    wall = so_test_now();
    cpu = cpu_now();

    for (i = 0; i < THREADS; i++) {
        failures[i] = 0;
        assert_int_equal(pthread_create(&tid[i], NULL, hash_thread,
                                        &failures[i]), 0);
    }

    for (i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
        assert_int_equal(failures[i], 0);
    }

    wall = so_test_now() - wall;
    cpu = cpu_now() - cpu;

    if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
        print_message("one core: the overlap is not measured\n");
        return;
    }

    so_test_label(cpu > 1.3 * wall, "cpu %.3fs for wall %.3fs\n", cpu, wall);
    assert_true(cpu <= 1.3 * wall);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_init_twice),
        cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_odd_passwords),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_owasp_params),
        cmocka_unit_test(test_rehash),
        cmocka_unit_test(test_refused_strings),
        cmocka_unit_test(test_dummy),
        cmocka_unit_test(test_one_at_a_time),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
