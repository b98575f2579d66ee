/*
 * test_log.c: the log line as an operator or a log collector sees it:
 * its format, the level filter, and that every call yields exactly one
 * whole line however long or strange the message and however many
 * threads log at once.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_test.h"


#define PIPE_ATOMIC  4096           /* PIPE_BUF on Linux */
#define THREADS      8
#define PER_THREAD   200


static const char  *line_re =
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z "
    "test-log\\[([0-9]+)\\] (debug|info|warn|error): ";


static size_t
count_lines(const char *s)
{
    size_t  n;

    for (n = 0; *s != '\0'; s++) {
        n += *s == '\n';
    }

    return n;
}


static void
test_level_parse(void **state)
{
    int             rc;
    size_t          i;
    so_log_level_t  level;

    static const struct {
        const char      *name;
        int              rc;
        so_log_level_t   level;
    } cases[] = {
        { "debug", SO_OK, SO_LOG_DEBUG },
        { "info", SO_OK, SO_LOG_INFO },
        { "INFO", SO_OK, SO_LOG_INFO },
        { "Warn", SO_OK, SO_LOG_WARN },
        { "error", SO_OK, SO_LOG_ERROR },
        { "ERROR", SO_OK, SO_LOG_ERROR },
        { "warning", SO_EINVAL, 0 },
        { "inf", SO_EINVAL, 0 },
        { "errors", SO_EINVAL, 0 },
        { "debug ", SO_EINVAL, 0 },
        { "", SO_EINVAL, 0 },
        { "0", SO_EINVAL, 0 },
    };

    for (i = 0; i < so_nelems(cases); i++) {
        level = (so_log_level_t) 99;

        rc = so_log_level_parse(&level, cases[i].name);

        so_test_label(rc != cases[i].rc, "\"%s\"\n", cases[i].name);
        assert_int_equal(rc, cases[i].rc);
        assert_int_equal(level, rc == SO_OK ? cases[i].level
                                            : (so_log_level_t) 99);
    }
}


static void
test_level_name(void **state)
{
    so_log_level_t  level, parsed;

    for (level = SO_LOG_DEBUG; level <= SO_LOG_ERROR; level++) {
        assert_int_equal(so_log_level_parse(&parsed,
                                            so_log_level_name(level)),
                         SO_OK);
        assert_int_equal(parsed, level);
    }

    assert_string_equal(so_log_level_name(SO_LOG_WARN), "warn");
    assert_string_equal(so_log_level_name((so_log_level_t) 42), "unknown");
}


/* a line is written exactly when its level is at least the minimum */
static void
test_filtering(void **state)
{
    int             min, level;
    char           *out;
    so_capture_t    cap;

    for (min = SO_LOG_DEBUG; min <= SO_LOG_ERROR; min++) {
        for (level = SO_LOG_DEBUG; level <= SO_LOG_ERROR; level++) {
            so_log_init("test-log", (so_log_level_t) min);

            so_capture_start(&cap);
            so_log((so_log_level_t) level, NULL, "m");
            out = so_capture_end(&cap);

            so_test_label(count_lines(out) != (level >= min),
                          "min %d level %d: \"%s\"\n", min, level, out);
            assert_int_equal(count_lines(out), level >= min);
            free(out);
        }
    }

    /* so_log_set_level() changes the filter of an initialized log */
    so_log_init("test-log", SO_LOG_DEBUG);
    so_log_set_level(SO_LOG_ERROR);

    so_capture_start(&cap);
    so_log_warn("x", "dropped");
    so_log_error("x", "kept");
    out = so_capture_end(&cap);

    assert_null(strstr(out, "dropped"));
    assert_non_null(strstr(out, "] error: x: kept\n"));
    free(out);
}


static void
test_line_format(void **state)
{
    char          *out, pid[32];
    time_t         now;
    regex_t        re;
    struct tm      tm;
    regmatch_t     m[3];
    so_capture_t   cap;

    assert_int_equal(regcomp(&re, line_re, REG_EXTENDED), 0);
    so_log_init("test-log", SO_LOG_DEBUG);

    so_capture_start(&cap);
    so_log_warn("deployment=42", "build %s after %d s", "failed", 300);
    out = so_capture_end(&cap);
    now = time(NULL);

    assert_int_equal(regexec(&re, out, 3, m, 0), 0);
    assert_string_equal(out + m[0].rm_eo,
                        "deployment=42: build failed after 300 s\n");

    snprintf(pid, sizeof(pid), "%ld", (long) getpid());
    assert_int_equal(m[1].rm_eo - m[1].rm_so, strlen(pid));
    assert_memory_equal(out + m[1].rm_so, pid, strlen(pid));
    assert_memory_equal(out + m[2].rm_so, "warn", 4);

    /* the time stamp is now, in UTC */
    memset(&tm, 0, sizeof(tm));
    assert_non_null(strptime(out, "%Y-%m-%dT%H:%M:%SZ", &tm));
    assert_true(labs((long) (timegm(&tm) - now)) <= 2);
    free(out);

    /* without a context the message follows the level */
    so_capture_start(&cap);
    so_log_info(NULL, "listening on %s", "127.0.0.1:9001");
    out = so_capture_end(&cap);

    assert_int_equal(regexec(&re, out, 3, m, 0), 0);
    assert_string_equal(out + m[0].rm_eo, "listening on 127.0.0.1:9001\n");
    free(out);

    regfree(&re);
}


static void
test_long_message_truncated(void **state)
{
    char          *out, *msg, *ctx;
    size_t         len;
    regex_t        re;
    regmatch_t     m[1];
    so_capture_t   cap;

    msg = malloc(10001);
    ctx = malloc(1001);
    assert_non_null(msg);
    assert_non_null(ctx);
    memset(msg, 'a', 10000);
    msg[10000] = '\0';
    memset(ctx, 'c', 1000);
    ctx[1000] = '\0';

    assert_int_equal(regcomp(&re, line_re, REG_EXTENDED), 0);
    so_log_init("test-log", SO_LOG_DEBUG);

    so_capture_start(&cap);
    so_log_error("project=blog", "%s", msg);
    so_log_error(ctx, "tail %s", msg);
    out = so_capture_end(&cap);

    assert_int_equal(count_lines(out), 2);

    /* first line: cut, marked, short enough for one atomic pipe write */
    len = strcspn(out, "\n") + 1;
    assert_true(len <= PIPE_ATOMIC);
    assert_true(len > 1024);
    assert_int_equal(regexec(&re, out, 1, m, 0), 0);
    assert_memory_equal(out + m[0].rm_eo, "project=blog: aaaa", 18);
    assert_memory_equal(out + len - 5, "a...\n", 5);

    /* second line: a huge context is cut too, the message still shows */
    assert_int_equal(regexec(&re, out + len, 1, m, 0), 0);
    assert_non_null(strstr(out + len, "cc: tail aaaa"));
    assert_true(strlen(out + len) <= PIPE_ATOMIC);
    assert_memory_equal(out + strlen(out) - 4, "...\n", 4);

    free(out);
    free(msg);
    free(ctx);
    regfree(&re);
}


/* a value cannot break a line or forge another one */
static void
test_control_characters(void **state)
{
    char          *out;
    so_capture_t   cap;

    so_log_init("test-log", SO_LOG_DEBUG);

    so_capture_start(&cap);
    so_log_info("c\ntx", "user said \"%s\"",
                "hi\n2026-11-28T09:00:00Z shipoff[1] error: forged\r\x1b[0m");
    out = so_capture_end(&cap);

    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "] info: c?tx: user said \"hi?2026-11-28T"
                            "09:00:00Z shipoff[1] error: forged??[0m\"\n"));
    free(out);
}


static void *
log_many(void *arg)
{
    int   i;
    char  payload[1500];

    memset(payload, 'a' + (int) (intptr_t) arg, sizeof(payload) - 1);
    payload[sizeof(payload) - 1] = '\0';

    for (i = 0; i < PER_THREAD; i++) {
        so_log_info("thread", "%d %s", i, payload);
    }

    return NULL;
}


/* lines from concurrent threads come out whole, none mixed */
static void
test_threads_do_not_interleave(void **state)
{
    int            n;
    char          *out, *line, *next, *msg;
    size_t         i, len;
    regex_t        re;
    pthread_t      t[THREADS];
    regmatch_t     m[1];
    so_capture_t   cap;

    assert_int_equal(regcomp(&re, line_re, REG_EXTENDED), 0);
    so_log_init("test-log", SO_LOG_DEBUG);

    so_capture_start(&cap);

    for (i = 0; i < THREADS; i++) {
        if (pthread_create(&t[i], NULL, log_many, (void *) (intptr_t) i)) {
            abort();
        }
    }

    for (i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }

    out = so_capture_end(&cap);

    assert_int_equal(count_lines(out), THREADS * PER_THREAD);

    for (line = out; *line != '\0'; line = next + 1) {
        next = strchr(line, '\n');
        *next = '\0';

        assert_int_equal(regexec(&re, line, 1, m, 0), 0);

        msg = line + m[0].rm_eo;
        assert_memory_equal(msg, "thread: ", 8);
        n = (int) strspn(msg + 8, "0123456789");
        assert_true(n > 0 && msg[8 + n] == ' ');

        /* one payload letter from end to end: no other thread's bytes */
        msg += 8 + n + 1;
        len = strlen(msg);
        assert_int_equal(len, 1499);
        assert_int_equal(strspn(msg, (char[]) { msg[0], '\0' }), len);
    }

    free(out);
    regfree(&re);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test(test_level_name),
        cmocka_unit_test(test_filtering),
        cmocka_unit_test(test_line_format),
        cmocka_unit_test(test_long_message_truncated),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_threads_do_not_interleave),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
