/*
 * test_redis.c: what a caller of so_redis sees when Redis is not there:
 * SO_EUNAVAIL or a NULL reply, promptly, with the address in the error.
 * Commands against a live server are covered by the integration tests.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_redis.h"
#include "so_test.h"


static void
test_unreachable(void **state)
{
    double        start;
    so_redis_t   *r;
    redisReply   *reply;
    const char   *argv[] = { "XADD", "shipoff:builds", "*", "id", "42" };

    so_log_init("test-redis", SO_LOG_ERROR);

    /* nothing listens on port 1: the connection is refused at once */
    r = so_redis_new("127.0.0.1", 1, 500);
    assert_non_null(r);

    start = so_test_now();

    assert_int_equal(so_redis_ping(r), SO_EUNAVAIL);
    assert_non_null(strstr(so_redis_errstr(r), "redis 127.0.0.1:1: "));

    reply = so_redis_command(r, 5, argv, NULL);
    assert_null(reply);
    assert_non_null(strstr(so_redis_errstr(r), "redis 127.0.0.1:1: "));

    assert_true(so_test_now() - start < 2.0);

    so_redis_free(r);
    so_redis_free(NULL);
}


static void
test_unix_socket_missing(void **state)
{
    so_redis_t  *r;

    so_log_init("test-redis", SO_LOG_ERROR);

    r = so_redis_new("/nonexistent/redis.sock", 0, 500);
    assert_non_null(r);

    assert_int_equal(so_redis_ping(r), SO_EUNAVAIL);
    assert_non_null(strstr(so_redis_errstr(r), "/nonexistent/redis.sock"));

    so_redis_free(r);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_unix_socket_missing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
