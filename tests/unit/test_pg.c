/*
 * test_pg.c: what a caller of so_pg sees when PostgreSQL is not there:
 * a prompt failure with a message and the client SQLSTATE 08001, never a
 * hang or a crash.  Queries against a live server are covered by the
 * integration tests.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_pg.h"
#include "so_test.h"


/* nothing listens on port 1: the connection is refused at once */
#define UNREACHABLE  "host=127.0.0.1 port=1 dbname=shipoff user=shipoff"


static void
test_unreachable(void **state)
{
    double        start;
    so_pg_t      *pg;
    PGresult     *res;
    const char   *params[] = { "42" };

    so_log_init("test-pg", SO_LOG_ERROR);

    pg = so_pg_new(UNREACHABLE, 1000);
    assert_non_null(pg);
    assert_string_equal(so_pg_errstr(pg), "");

    start = so_test_now();

    res = so_pg_query(pg, "get_project", "SELECT $1::int", 1, params);

    assert_null(res);
    assert_true(so_test_now() - start < 2.0);
    assert_string_equal(so_pg_sqlstate(pg), "08001");
    assert_int_equal(so_pg_code(pg), SO_EUNAVAIL);
    assert_non_null(strstr(so_pg_errstr(pg), "127.0.0.1"));
    assert_null(strchr(so_pg_errstr(pg), '\n'));
    assert_null(so_pg_conn(pg));

    assert_int_equal(so_pg_connect(pg), SO_EUNAVAIL);
    assert_int_equal(so_pg_ping(pg), SO_EUNAVAIL);
    assert_int_equal(so_pg_exec(pg, "set_project", "SELECT $1::int", 1,
                                params), SO_EUNAVAIL);
    assert_string_equal(so_pg_sqlstate(pg), "08001");
    assert_true(so_test_now() - start < 4.0);

    so_pg_free(pg);
    so_pg_free(NULL);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_unreachable),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
