/*
 * test_page.c: ?limit= and ?cursor= of a list, and the cursor round trip.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "shipoff.h"
#include "so_page.h"
#include "so_test.h"


static void
test_parse(void **state)
{
    static const struct {
        const char  *limit, *cursor;
        const char  *field;             /* NULL: valid */
        int          want_limit;
        long long    want_after;
    } cases[] = {
        { NULL, NULL, NULL, SO_PAGE_DEFAULT, 0 },
        { "1", NULL, NULL, 1, 0 },
        { "100", NULL, NULL, 100, 0 },
        { "101", NULL, "limit", 0, 0 },
        { "0", NULL, "limit", 0, 0 },
        { "-1", NULL, "limit", 0, 0 },
        { "", NULL, "limit", 0, 0 },
        { "ten", NULL, "limit", 0, 0 },
        { "99999999999999999999", NULL, "limit", 0, 0 },
        { NULL, "NDI", NULL, SO_PAGE_DEFAULT, 42 },          /* "42" */
        { NULL, "42", "cursor", 0, 0 },
        { NULL, "", "cursor", 0, 0 },
        { NULL, "!!", "cursor", 0, 0 },
        { NULL, "MA", "cursor", 0, 0 },                      /* "0" */
        { NULL, "LTE", "cursor", 0, 0 },                     /* "-1" */
        { NULL, "YWJj", "cursor", 0, 0 },                    /* "abc" */
        { "5", "NDI", NULL, 5, 42 },
    };
    so_page_t    page;
    const char  *field;
    size_t       i;
    int          rc;

    (void) state;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_page_parse(&page, cases[i].limit, cases[i].cursor, &field);
        so_test_label((rc == SO_OK) != (cases[i].field == NULL),
                      "case %zu\n", i);

        if (cases[i].field != NULL) {
            assert_int_equal(rc, SO_EINVAL);
            assert_string_equal(field, cases[i].field);
            continue;
        }

        assert_int_equal(rc, SO_OK);
        assert_int_equal(page.limit, cases[i].want_limit);
        assert_true(page.after == cases[i].want_after);
    }
}


static void
test_cursor_round_trip(void **state)
{
    static const long long  ids[] = { 1, 42, 1000000007LL,
                                      999999999999999999LL };
    so_page_t    page;
    const char  *field;
    char         cursor[SO_PAGE_CURSOR_LEN];
    size_t       i;

    (void) state;

    for (i = 0; i < so_nelems(ids); i++) {
        so_page_cursor(cursor, ids[i]);
        assert_int_equal(so_page_parse(&page, NULL, cursor, &field), SO_OK);
        assert_true(page.after == ids[i]);
    }
}


static void
test_answer(void **state)
{
    so_page_t    page;
    const char  *field;
    json_t      *a;

    (void) state;

    assert_int_equal(so_page_parse(&page, "2", NULL, &field), SO_OK);
    assert_string_equal(page.limit1, "3");

    /* limit + 1 rows: there is a next page, after the last one kept */
    a = so_page_answer(&page, json_array(), 3, 42);
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "next_cursor")),
                        "NDI");
    json_decref(a);

    a = so_page_answer(&page, json_array(), 2, 42);
    assert_non_null(a);
    assert_true(json_is_null(json_object_get(a, "next_cursor")));
    assert_true(json_is_array(json_object_get(a, "data")));
    json_decref(a);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_answer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
