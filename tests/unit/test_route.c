/*
 * test_route.c: how so_fcgi_match maps a method and a path to a handler,
 * and which route declarations so_fcgi_check refuses.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "shipoff.h"
#include "so_fcgi.h"


static void h_list(so_req_t *r) { (void) r; }
static void h_get(so_req_t *r) { (void) r; }
static void h_del(so_req_t *r) { (void) r; }
static void h_sub(so_req_t *r) { (void) r; }


static const so_route_t  routes[] = {
    { "GET",    "/api/v1/projects",
      SO_OBJ_NONE, SO_NEED_READ, h_list },
    { "GET",    "/api/v1/projects/:id",
      SO_OBJ_PROJECT, SO_NEED_READ, h_get },
    { "DELETE", "/api/v1/projects/:id",
      SO_OBJ_PROJECT, SO_NEED_DELETE, h_del },
    { "GET",    "/api/v1/projects/:id/members/:uid",
      SO_OBJ_PROJECT, SO_NEED_READ, h_sub },
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


/* one route per case: what it declares and whether an app may start */
static void
test_check(void **state)
{
    static const struct {
        so_route_t   route;
        int          ok;
    } cases[] = {
        { { "GET", "/health", SO_OBJ_PUBLIC, 0, h_list }, 1 },
        { { "GET", "/health", SO_OBJ_PUBLIC, SO_NEED_READ, h_list }, 0 },
        { { "GET", "/teams", SO_OBJ_NONE, SO_NEED_READ, h_list }, 1 },
        { { "GET", "/me", SO_OBJ_ACCOUNT, SO_NEED_WRITE, h_list }, 1 },
        { { "GET", "/teams", SO_OBJ_NONE, 0, h_list }, 0 },
        { { "GET", "/teams", SO_OBJ_NONE, SO_NEED_READ | SO_NEED_WRITE,
            h_list }, 0 },
        { { "GET", "/teams", SO_OBJ_NONE, SO_NEED_READ | SO_NEED_MEMBER,
            h_list }, 0 },
        { { "GET", "/teams/:id", SO_OBJ_TEAM,
            SO_NEED_READ | SO_NEED_MEMBER, h_get }, 1 },
        { { "GET", "/teams/:id", SO_OBJ_TEAM, SO_NEED_MEMBER, h_get }, 0 },
        { { "GET", "/teams", SO_OBJ_TEAM, SO_NEED_READ, h_list }, 0 },
        { { "DELETE", "/tokens/:id", SO_OBJ_TOKEN, SO_NEED_DELETE, h_del },
          1 },
        { { "POST", "/projects/:id/teams", SO_OBJ_PROJECT,
            SO_NEED_DELETE | SO_NEED_OWNER, h_sub }, 1 },
    };
    char    err[128];
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        if (cases[i].ok) {
            assert_int_equal(so_fcgi_check(&cases[i].route, 1, err,
                                           sizeof(err)), 0);
        } else {
            assert_int_equal(so_fcgi_check(&cases[i].route, 1, err,
                                           sizeof(err)), SO_EINVAL);
            assert_non_null(strstr(err, cases[i].route.pattern));
        }
    }

    /* the tables of these tests are right */
    assert_int_equal(so_fcgi_check(routes, sizeof(routes) / sizeof(routes[0]),
                                   err, sizeof(err)), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_long_segment),
        cmocka_unit_test(test_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
