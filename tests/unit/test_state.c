/*
 * test_state.c: the C state machine equals tests/fixtures/transitions.txt,
 * the matrix the SQL trigger is tested against too.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_state.h"


static void
test_matrix(void **state)
{
    int          legal[SO_DS_COUNT][SO_DS_COUNT];
    char         line[128], from[32], to[32];
    FILE        *f;
    so_dstate_t  a, b;
    int          n, i, j;

    (void) state;
    memset(legal, 0, sizeof(legal));

    f = fopen("tests/fixtures/transitions.txt", "r");
    assert_non_null(f);

    n = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (line[0] == '#' || line[0] == '\n') {
            continue;
        }
        assert_int_equal(sscanf(line, "%31s %31s", from, to), 2);
        assert_int_equal(so_dstate_parse(&a, from), SO_OK);
        assert_int_equal(so_dstate_parse(&b, to), SO_OK);
        legal[a][b] = 1;
        n++;
    }
    fclose(f);
    assert_int_equal(n, 12);

    for (i = 0; i < SO_DS_COUNT; i++) {
        for (j = 0; j < SO_DS_COUNT; j++) {
            if (so_dstate_can((so_dstate_t) i, (so_dstate_t) j)
                != legal[i][j])
            {
                fail_msg("%s -> %s: C says %d, the matrix %d",
                         so_dstate_name((so_dstate_t) i),
                         so_dstate_name((so_dstate_t) j),
                         so_dstate_can((so_dstate_t) i, (so_dstate_t) j),
                         legal[i][j]);
            }
        }
    }
}


static void
test_names(void **state)
{
    so_dstate_t  s;
    int          i;

    (void) state;

    for (i = 0; i < SO_DS_COUNT; i++) {
        assert_int_equal(so_dstate_parse(&s, so_dstate_name((so_dstate_t) i)),
                         SO_OK);
        assert_int_equal(s, i);
    }

    assert_int_equal(so_dstate_parse(&s, "queued"), SO_EINVAL);
    assert_int_equal(so_dstate_parse(&s, ""), SO_EINVAL);
    assert_int_equal(so_dstate_parse(&s, "QUEUED "), SO_EINVAL);
    assert_null(so_dstate_name(SO_DS_COUNT));
    assert_null(so_dstate_name((so_dstate_t) -1));
    assert_int_equal(so_dstate_can(SO_DS_COUNT, SO_DS_QUEUED), 0);
    assert_int_equal(so_dstate_can(SO_DS_QUEUED, SO_DS_COUNT), 0);
}


static void
test_finished(void **state)
{
    (void) state;

    assert_true(so_dstate_is_finished(SO_DS_FAILED));
    assert_true(so_dstate_is_finished(SO_DS_INACTIVE));
    assert_true(so_dstate_is_finished(SO_DS_CANCELED));
    assert_false(so_dstate_is_finished(SO_DS_PRODUCTION));
    assert_false(so_dstate_is_finished(SO_DS_QUEUED));
    assert_false(so_dstate_is_finished(SO_DS_BUILDING));
    assert_false(so_dstate_is_finished(SO_DS_PROVISIONING));
}


/* the moves that set finished_at, and only those */
static void
test_ends_build(void **state)
{
    static const struct {
        so_dstate_t  from, to;
    } ends[] = {
        { SO_DS_QUEUED, SO_DS_FAILED },
        { SO_DS_QUEUED, SO_DS_CANCELED },
        { SO_DS_BUILDING, SO_DS_FAILED },
        { SO_DS_BUILDING, SO_DS_CANCELED },
        { SO_DS_PROVISIONING, SO_DS_FAILED },
        { SO_DS_PROVISIONING, SO_DS_PRODUCTION },
    };
    size_t  k;
    int     i, j, want;

    (void) state;

    for (i = 0; i < SO_DS_COUNT; i++) {
        for (j = 0; j < SO_DS_COUNT; j++) {
            want = 0;
            for (k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
                if (ends[k].from == (so_dstate_t) i
                    && ends[k].to == (so_dstate_t) j)
                {
                    want = 1;
                }
            }

            if (so_dstate_ends_build((so_dstate_t) i, (so_dstate_t) j)
                != want)
            {
                fail_msg("%s -> %s: ends the build %d, want %d",
                         so_dstate_name((so_dstate_t) i),
                         so_dstate_name((so_dstate_t) j), !want, want);
            }
        }
    }

    assert_int_equal(so_dstate_ends_build(SO_DS_PROVISIONING, SO_DS_COUNT),
                     0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_matrix),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_finished),
        cmocka_unit_test(test_ends_build),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
