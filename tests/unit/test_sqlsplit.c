/*
 * test_sqlsplit.c: so_sql_split finds statements and the lines they start
 * on, whatever quotes and comments hold semicolons.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "so_migrate.h"


typedef struct {
    char   out[1024];
    int    n;
} collect_t;


static int
collect(void *data, const char *stmt, size_t len, int line)
{
    collect_t  *c = data;
    size_t      used = strlen(c->out);

    snprintf(c->out + used, sizeof(c->out) - used, "%d:%.*s|", line,
             (int) len, stmt);
    c->n++;
    return c->n == 100 ? -7 : 0;
}


static void
test_split(void **state)
{
    static const struct {
        const char  *sql;
        const char  *expect;   /* line:statement| ... */
    } cases[] = {
        { "SELECT 1;", "1:SELECT 1|" },
        { "SELECT 1; SELECT 2;", "1:SELECT 1|1:SELECT 2|" },
        { "SELECT 1;\n\nSELECT 2", "1:SELECT 1|3:SELECT 2|" },
        { "SELECT ';';", "1:SELECT ';'|" },
        { "SELECT 'it''s;';", "1:SELECT 'it''s;'|" },
        { "SELECT \"a;b\" FROM t;", "1:SELECT \"a;b\" FROM t|" },
        { "-- a; comment\nSELECT 1;", "1:-- a; comment\nSELECT 1|" },
        { "/* x;\n y; */ SELECT 1;", "1:/* x;\n y; */ SELECT 1|" },
        { "CREATE FUNCTION f() AS $$ a; b; $$;\nSELECT 2;",
          "1:CREATE FUNCTION f() AS $$ a; b; $$|2:SELECT 2|" },
        { "DO $tag$ x; $$ y; $tag$;", "1:DO $tag$ x; $$ y; $tag$|" },
        { "SELECT $1;", "1:SELECT $1|" },
        { "SELECT 'a\nb';\nSELECT 3;", "1:SELECT 'a\nb'|3:SELECT 3|" },
        { ";;\n;", "" },
        { "", "" },
        { "  \n  ", "" },
        { "SELECT 'unterminated;", "1:SELECT 'unterminated;|" },
    };
    collect_t  c;
    size_t     i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&c, 0, sizeof(c));
        assert_int_equal(so_sql_split(cases[i].sql, strlen(cases[i].sql),
                                      collect, &c), 0);
        assert_string_equal(c.out, cases[i].expect);
    }
}


static void
test_stop(void **state)
{
    char       sql[1024];
    collect_t  c;
    size_t     i;

    (void) state;

    /* the callback's error stops the walk and is returned */
    for (i = 0; i + 2 < sizeof(sql); i += 2) {
        sql[i] = 'x';
        sql[i + 1] = ';';
    }
    sql[i] = '\0';

    memset(&c, 0, sizeof(c));
    assert_int_equal(so_sql_split(sql, strlen(sql), collect, &c), -7);
    assert_int_equal(c.n, 100);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_stop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
