/*
 * test_stream.c: the policy of shipoffd's stream consumers (builder/
 * stream.c) against a real redis-server, started on a free loopback port
 * in a temporary directory and stopped at the end: a group is created at
 * its policy's start id; what a handler answers (ack, keep, stop) is what
 * stays pending; a NOGROUP answer makes a consumer create its own group
 * again and leaves every other consumer's alone; our pending entries are
 * read again page by page, before new ones; the entries another consumer
 * left pending for a lease are taken over, not earlier.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_test.h"
#include "stream.h"

#define ST_MAX  16                  /* entries one case hands out */


typedef struct {
    char               *dir;
    pid_t               pid;        /* our redis-server */
    so_redis_t         *redis;
    so_config_t         cfg;
    bld_stream_conn_t   conn;
} st_server_t;

/* what a handler is told to answer, and what it was given */
typedef struct {
    int   answer[ST_MAX];           /* by order of arrival; ACK past it */
    int   n;
    int   got[ST_MAX];              /* their field n */
    char  ids[ST_MAX][BLD_STREAM_ID_LEN];
} st_handler_t;


static st_server_t  st;


/* a port nothing listens on now: the kernel's choice for an any-port bind */
static int
st_free_port(void)
{
    struct sockaddr_in  sa;
    socklen_t           len;
    int                 fd, port;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sa);

    if (fd == -1 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == -1
        || getsockname(fd, (struct sockaddr *) &sa, &len) == -1)
    {
        perror("st_free_port");
        abort();
    }

    port = ntohs(sa.sin_port);
    close(fd);

    return port;
}


static int
st_server_up(void **state)
{
    char  ports[16];
    int   i, port;

    so_log_init("test-stream", SO_LOG_ERROR);

    st.dir = so_test_mkdtemp();
    port = st_free_port();
    snprintf(ports, sizeof(ports), "%d", port);

    st.pid = fork();
    if (st.pid == 0) {
        /* gone with the test, even one that crashed */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("redis-server", "redis-server", "--port", ports, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
               st.dir, "--logfile", "redis.log", (char *) NULL);
        _exit(127);
    }

    st.redis = so_redis_new("127.0.0.1", port, 1000);
    for (i = 0; i < 100 && so_redis_ping(st.redis) != SO_OK; i++) {
        usleep(50000);
    }

    if (i == 100) {
        print_message("redis-server did not answer on %s\n", ports);
        return -1;
    }

    st.cfg.lease_ttl = 1;
    st.conn.redis = st.redis;
    st.conn.cfg = &st.cfg;
    st.conn.consumer = "me:1";

    return 0;
}


static int
st_server_down(void **state)
{
    so_redis_free(st.redis);

    if (st.pid > 0) {
        kill(st.pid, SIGTERM);
        waitpid(st.pid, NULL, 0);
    }

    so_test_rmtree(st.dir);
    return 0;
}


static redisReply *
st_cmd(int argc, const char **argv)
{
    redisReply  *reply;

    reply = so_redis_command(st.redis, argc, argv, NULL);
    assert_non_null(reply);

    return reply;
}


/* every case starts from an empty server */
static int
st_flush(void **state)
{
    const char  *argv[] = { "FLUSHALL" };

    freeReplyObject(st_cmd(1, argv));
    return 0;
}


/* XADD stream * n <n>: the new entry's id into id */
static void
st_add(const char *stream, int n, char *id)
{
    redisReply  *reply;
    const char  *argv[5];
    char         ns[16];

    snprintf(ns, sizeof(ns), "%d", n);
    argv[0] = "XADD";
    argv[1] = stream;
    argv[2] = "*";
    argv[3] = "n";
    argv[4] = ns;

    reply = st_cmd(5, argv);
    assert_int_equal(reply->type, REDIS_REPLY_STRING);
    snprintf(id, BLD_STREAM_ID_LEN, "%s", reply->str);
    freeReplyObject(reply);
}


/* the number of entries pending for consumer in group */
static long long
st_pending(const bld_stream_policy_t *p, const char *consumer)
{
    redisReply  *reply;
    const char  *argv[] = { "XPENDING", p->stream, p->group, "-", "+",
                            "100", consumer };
    long long    n;

    reply = st_cmd((int) so_nelems(argv), argv);
    assert_int_equal(reply->type, REDIS_REPLY_ARRAY);
    n = (long long) reply->elements;
    freeReplyObject(reply);

    return n;
}


/* answers what h->answer says, by order of arrival; records the ids */
static int
st_handler(void *data, const char *id, const redisReply *fields)
{
    st_handler_t  *h;
    int            i;

    h = data;
    assert_true(h->n < ST_MAX);

    i = h->n++;
    h->got[i] = (int) bld_stream_field(fields, "n");
    snprintf(h->ids[i], sizeof(h->ids[i]), "%s", id);

    return h->answer[i];
}


/* the field n of the entries h was given, "1 2 3" */
static const char *
st_got(const st_handler_t *h)
{
    static char  buf[ST_MAX * 4];
    size_t       len;
    int          i;

    buf[0] = '\0';
    for (i = 0, len = 0; i < h->n && len < sizeof(buf); i++) {
        len += (size_t) snprintf(buf + len, sizeof(buf) - len, "%s%d",
                                 i ? " " : "", h->got[i]);
    }

    return buf;
}


static void
test_create_start(void **state)
{
    static const struct {
        bld_stream_policy_t  policy;
        int                  n;
        const char          *got;       /* of the entries 1 (before) 2 */
    } cases[] = {
        { { "st:all", "g", "0", 16 }, 2, "1 2" },
        { { "st:new", "g", "$", 16 }, 1, "2" },
    };

    bld_stream_t  s;
    st_handler_t  h;
    char          id[BLD_STREAM_ID_LEN];
    size_t        i;
    int           n;

    for (i = 0; i < so_nelems(cases); i++) {
        memset(&h, 0, sizeof(h));

        st_add(cases[i].policy.stream, 1, id);

        bld_stream_init(&s, &cases[i].policy, &st.conn);
        assert_int_equal(bld_stream_create(&s), SO_OK);
        assert_true(s.group_ok);

        /* created again: BUSYGROUP is no failure */
        assert_int_equal(bld_stream_create(&s), SO_OK);

        st_add(cases[i].policy.stream, 2, id);

        n = bld_stream_read(&s, 0, st_handler, &h);
        so_test_label(n != cases[i].n || strcmp(st_got(&h), cases[i].got),
                      "start id \"%s\"\n", cases[i].policy.start);
        assert_int_equal(n, cases[i].n);
        assert_string_equal(st_got(&h), cases[i].got);
        assert_int_equal(st_pending(&cases[i].policy, "me:1"), 0);
    }
}


static void
test_handler_results(void **state)
{
    static const bld_stream_policy_t  p = { "st:h", "g", "0", 16 };

    bld_stream_t  s;
    st_handler_t  h, all;
    char          id[BLD_STREAM_ID_LEN];
    int           n;

    memset(&h, 0, sizeof(h));
    memset(&all, 0, sizeof(all));
    h.answer[0] = BLD_STREAM_ACK;
    h.answer[1] = BLD_STREAM_KEEP;
    h.answer[2] = BLD_STREAM_STOP;

    for (n = 1; n <= 4; n++) {
        st_add(p.stream, n, id);
    }

    bld_stream_init(&s, &p, &st.conn);
    assert_int_equal(bld_stream_create(&s), SO_OK);
    s.reread = 0;

    /* 4 delivered, 3 handed out: the one after the stop is not */
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &h), 3);
    assert_string_equal(st_got(&h), "1 2 3");

    /* acked: gone; kept, stopped and the rest: pending, to read again */
    assert_int_equal(st_pending(&p, "me:1"), 3);
    assert_true(s.reread);

    /* marked: the pending ones first, then the new one */
    st_add(p.stream, 5, id);
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &all), 4);
    assert_string_equal(st_got(&all), "2 3 4 5");
    assert_int_equal(st_pending(&p, "me:1"), 0);
    assert_false(s.reread);

    /* nothing new */
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &all), 0);
}


static void
test_nogroup_own_group_only(void **state)
{
    static const bld_stream_policy_t  pa = { "st:a", "ga", "0", 16 };
    static const bld_stream_policy_t  pb = { "st:b", "gb", "0", 16 };

    bld_stream_t   a, b;
    st_handler_t   h;
    redisReply    *reply;
    const char    *destroy[] = { "XGROUP", "DESTROY", "st:a", "ga" };
    char           id[BLD_STREAM_ID_LEN];

    memset(&h, 0, sizeof(h));

    bld_stream_init(&a, &pa, &st.conn);
    bld_stream_init(&b, &pb, &st.conn);
    assert_int_equal(bld_stream_create(&a), SO_OK);
    assert_int_equal(bld_stream_create(&b), SO_OK);

    /* Redis lost a's group (as a restart without data loses all) */
    reply = st_cmd((int) so_nelems(destroy), destroy);
    freeReplyObject(reply);

    st_add("st:a", 1, id);
    st_add("st:b", 2, id);

    assert_int_equal(bld_stream_read(&a, 0, st_handler, &h), SO_EUNAVAIL);
    assert_false(a.group_ok);
    assert_true(b.group_ok);

    assert_int_equal(bld_stream_read(&b, 0, st_handler, &h), 1);
    assert_string_equal(st_got(&h), "2");

    /* the next read creates a's group again, at its start id */
    assert_int_equal(bld_stream_read(&a, 0, st_handler, &h), 1);
    assert_true(a.group_ok);
    assert_string_equal(st_got(&h), "2 1");
}


static void
test_reread_pages(void **state)
{
    static const bld_stream_policy_t  p = { "st:p", "g", "0", 2 };

    bld_stream_t  s;
    st_handler_t  keep, some, all;
    char          id[BLD_STREAM_ID_LEN];
    int           n;

    memset(&keep, 0, sizeof(keep));
    memset(&some, 0, sizeof(some));
    memset(&all, 0, sizeof(all));

    for (n = 0; n < ST_MAX; n++) {
        keep.answer[n] = BLD_STREAM_KEEP;
    }
    some.answer[0] = BLD_STREAM_KEEP;
    some.answer[2] = BLD_STREAM_KEEP;

    bld_stream_init(&s, &p, &st.conn);
    assert_int_equal(bld_stream_create(&s), SO_OK);
    assert_true(s.reread);
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &all), 0);
    assert_int_equal(all.n, 0);
    assert_false(s.reread);

    for (n = 1; n <= 5; n++) {
        st_add(p.stream, n, id);
    }

    assert_int_equal(bld_stream_read(&s, 5, st_handler, &keep), 5);
    assert_int_equal(st_pending(&p, "me:1"), 5);

    /* not marked: not read */
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &some), 0);
    assert_int_equal(some.n, 0);

    /* pages of 2, past the entries kept, until the short page */
    s.reread = 1;
    assert_int_equal(bld_stream_read(&s, 0, st_handler, &some), 5);
    assert_string_equal(st_got(&some), "1 2 3 4 5");
    assert_int_equal(st_pending(&p, "me:1"), 2);
    assert_false(s.reread);

    /* marked, count 3: the 2 pending, then 1 new (a build slot each) */
    st_add(p.stream, 6, id);
    st_add(p.stream, 7, id);
    s.reread = 1;
    assert_int_equal(bld_stream_read(&s, 3, st_handler, &all), 3);
    assert_string_equal(st_got(&all), "1 3 6");
    assert_int_equal(st_pending(&p, "me:1"), 0);

    assert_int_equal(bld_stream_read(&s, 3, st_handler, &all), 1);
    assert_string_equal(st_got(&all), "1 3 6 7");
}


static void
test_autoclaim(void **state)
{
    static const bld_stream_policy_t  p = { "st:c", "g", "0", 16 };

    bld_stream_conn_t  other_conn;
    bld_stream_t       s, other;
    st_handler_t       keep, all;
    char               id[BLD_STREAM_ID_LEN];

    memset(&keep, 0, sizeof(keep));
    memset(&all, 0, sizeof(all));
    keep.answer[0] = BLD_STREAM_KEEP;
    keep.answer[1] = BLD_STREAM_KEEP;

    other_conn = st.conn;
    other_conn.consumer = "other:2";

    bld_stream_init(&s, &p, &st.conn);
    bld_stream_init(&other, &p, &other_conn);
    assert_int_equal(bld_stream_create(&s), SO_OK);

    st_add(p.stream, 1, id);
    st_add(p.stream, 2, id);

    assert_int_equal(bld_stream_read(&other, 0, st_handler, &keep), 2);
    assert_int_equal(st_pending(&p, "other:2"), 2);

    /* pending for less than a lease (1 s here): the other's still */
    s.reread = 0;
    assert_int_equal(bld_stream_autoclaim(&s), SO_OK);
    assert_int_equal(st_pending(&p, "other:2"), 2);
    assert_int_equal(st_pending(&p, "me:1"), 0);
    assert_true(s.reread);

    usleep(1200 * 1000);

    assert_int_equal(bld_stream_autoclaim(&s), SO_OK);
    assert_int_equal(st_pending(&p, "other:2"), 0);
    assert_int_equal(st_pending(&p, "me:1"), 2);

    assert_int_equal(bld_stream_read(&s, 0, st_handler, &all), 2);
    assert_string_equal(st_got(&all), "1 2");
    assert_int_equal(st_pending(&p, "me:1"), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup(test_create_start, st_flush),
        cmocka_unit_test_setup(test_handler_results, st_flush),
        cmocka_unit_test_setup(test_nogroup_own_group_only, st_flush),
        cmocka_unit_test_setup(test_reread_pages, st_flush),
        cmocka_unit_test_setup(test_autoclaim, st_flush),
    };

    return cmocka_run_group_tests(tests, st_server_up, st_server_down);
}
