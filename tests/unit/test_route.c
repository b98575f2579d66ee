/*
 * test_route.c: how so_fcgi_match maps a method and a path to a handler.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "so_fcgi.h"


static void h_list(so_req_t *r) { (void) r; }
static void h_get(so_req_t *r) { (void) r; }
static void h_del(so_req_t *r) { (void) r; }
static void h_sub(so_req_t *r) { (void) r; }


static const so_route_t  routes[] = {
    { "GET",    "/api/v1/projects",                   h_list },
    { "GET",    "/api/v1/projects/:id",               h_get },
    { "DELETE", "/api/v1/projects/:id",               h_del },
    { "GET",    "/api/v1/projects/:id/members/:uid",  h_sub },
};


static void
test_match(void **state)
{
    static const struct {
        const char     *method;
        const char     *path;
        so_handler_pt   handler;   /* NULL: no match */
        int             status;    /* when no match */
        const char     *arg0, *arg1;
    } cases[] = {
        { "GET", "/api/v1/projects", h_list, 0, NULL, NULL },
        { "GET", "/api/v1/projects/42", h_get, 0, "42", NULL },
        { "DELETE", "/api/v1/projects/blog", h_del, 0, "blog", NULL },
        { "GET", "/api/v1/projects/7/members/9", h_sub, 0, "7", "9" },
        { "POST", "/api/v1/projects/42", NULL, 405, NULL, NULL },
        { "GET", "/api/v1/projects/", NULL, 404, NULL, NULL },
        { "GET", "/api/v1/projects/42/", NULL, 404, NULL, NULL },
        { "GET", "/api/v1/projectsX", NULL, 404, NULL, NULL },
        { "GET", "/api/v1/project", NULL, 404, NULL, NULL },
        { "GET", "/api/v1/projects/7/members", NULL, 404, NULL, NULL },
        { "GET", "/", NULL, 404, NULL, NULL },
        { "GET", "", NULL, 404, NULL, NULL },
    };
    const so_route_t  *route;
    so_req_t           r;
    size_t             i;
    int                status;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&r, 0, sizeof(r));
        status = 0;
        route = so_fcgi_match(routes, sizeof(routes) / sizeof(routes[0]),
                              cases[i].method, cases[i].path, &r, &status);

        if (cases[i].handler == NULL) {
            assert_null(route);
            assert_int_equal(status, cases[i].status);
            continue;
        }

        assert_non_null(route);
        assert_ptr_equal(route->handler, cases[i].handler);
        assert_int_equal(r.nargs, (cases[i].arg0 != NULL)
                                  + (cases[i].arg1 != NULL));
        if (cases[i].arg0) {
            assert_string_equal(r.args[0], cases[i].arg0);
        }
        if (cases[i].arg1) {
            assert_string_equal(r.args[1], cases[i].arg1);
        }
    }
}


static void
test_long_segment(void **state)
{
    char       path[1024];
    so_req_t   r;
    int        status;

    (void) state;

    /* a segment longer than the argument buffer is not a match */
    memcpy(path, "/api/v1/projects/", 17);
    memset(path + 17, 'a', sizeof(path) - 18);
    path[sizeof(path) - 1] = '\0';

    memset(&r, 0, sizeof(r));
    status = 0;
    assert_null(so_fcgi_match(routes, sizeof(routes) / sizeof(routes[0]),
                              "GET", path, &r, &status));
    assert_int_equal(status, 404);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_long_segment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
