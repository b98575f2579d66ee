/*
 * test_deploy.c: lib/so_deploy, the one writer of deployment state,
 * against a real PostgreSQL: a throwaway cluster (initdb, pg_ctl) in a
 * temporary directory on a free loopback port, as the unprivileged user
 * postgres when we are root, with sql/ applied by the project's own
 * migrator (so_migrate).  The cases run in a child process, so the
 * cluster is stopped and removed whatever they do, even crash.
 *
 *   the claim: a QUEUED deployment is claimed once, under the caller's
 *   lease; of two claimers racing, exactly one wins; anything not QUEUED
 *   is refused; an older QUEUED one of the branch is superseded; a
 *   project being built waits;
 *   the operator's claim (so_deploy_claim_now);
 *   every transition of the state machine through so_deploy_move: a
 *   legal one moves and records, a refused one (illegal, or from a state
 *   the deployment is not in, or a second PRODUCTION) returns its error
 *   and leaves the row as it was; and the trigger, the last guard,
 *   refuses a raw UPDATE to a forbidden state;
 *   the promotion from PROVISIONING and from INACTIVE (a rollback): the
 *   previous PRODUCTION is demoted, there is exactly one PRODUCTION;
 *   the recovery of a lost builder's deployments.
 *
 * PostgreSQL's binaries: SHIPOFF_PG_BIN, else /usr/lib/postgresql/15/bin.
 * Without them the file says so and passes: the platform cannot run.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "shipoff.h"
#include "so_deploy.h"
#include "so_log.h"
#include "so_migrate.h"
#include "so_test.h"

#define TD_PG_BIN  "/usr/lib/postgresql/15/bin"
#define TD_TTL     60               /* the claims' lease, seconds */
#define TD_RACES   8                /* rounds of two racing claimers */
#define TD_GONE    1000000          /* past any id: a deployment not there */


static struct {
    char        *dir;
    const char  *bin;
    int          port;
    char         dsn[128];
    so_pg_t     *pg;                /* the cases' connection */
} td;


/* ---- the cluster */

/*
 * A loopback port nothing listens on now, drawn below the kernel's
 * ephemeral range (as ShipoffTest's free_port) so that no outgoing
 * connection takes it before the server binds it; -1 when none was found.
 */
static int
td_free_port(void)
{
    struct sockaddr_in  sa;
    int                 fd, port, tries, ok;

    srandom((unsigned) getpid());

    for (tries = 0; tries < 100; tries++) {
        port = 20000 + (int) (random() % 12000);

        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t) port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

        fd = socket(AF_INET, SOCK_STREAM, 0);
        ok = fd != -1 && bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        if (fd != -1) {
            close(fd);
        }
        if (ok) {
            return port;
        }
    }

    return -1;
}


/*
 * Runs td.bin/prog with args (NULL-terminated), as postgres when we are
 * root (PostgreSQL refuses root), output to td.dir/pg.log.  Its exit code.
 */
static int
td_run(const char *prog, ...)
{
    va_list      ap;
    const char  *argv[24];
    char         path[512], log[512];
    pid_t        pid;
    int          argc, status, fd;

    snprintf(path, sizeof(path), "%s/%s", td.bin, prog);
    snprintf(log, sizeof(log), "%s/pg.log", td.dir);

    argc = 0;
    if (geteuid() == 0) {
        argv[argc++] = "runuser";
        argv[argc++] = "-u";
        argv[argc++] = "postgres";
        argv[argc++] = "--";
    }
    argv[argc++] = path;

    va_start(ap, prog);
    while (argc < 23 && (argv[argc] = va_arg(ap, const char *)) != NULL) {
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;

    pid = fork();
    if (pid == 0) {
        fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (fd != -1) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
        }
        execvp(argv[0], (char *const *) argv);
        _exit(127);
    }

    if (pid == -1 || waitpid(pid, &status, 0) == -1 || !WIFEXITED(status)) {
        return -1;
    }

    return WEXITSTATUS(status);
}


static int
td_cluster_up(void)
{
    struct passwd  *pw;
    PGconn         *conn;
    char            data[512], opts[768], err[512];
    int             rc;

    td.dir = so_test_mkdtemp();
    snprintf(data, sizeof(data), "%s/data", td.dir);

    if (geteuid() == 0) {
        pw = getpwnam("postgres");
        if (pw == NULL || chown(td.dir, pw->pw_uid, pw->pw_gid) == -1) {
            fprintf(stderr, "test-deploy: no user postgres to run as\n");
            return -1;
        }
    }

    if (td_run("initdb", "-D", data, "-U", "postgres", "-A", "trust",
               "-E", "UTF8", "--no-locale", (char *) NULL) != 0)
    {
        fprintf(stderr, "test-deploy: initdb failed: see %s/pg.log\n",
                td.dir);
        return -1;
    }

    td.port = td_free_port();
    snprintf(opts, sizeof(opts), "-k %s -p %d -c listen_addresses=127.0.0.1"
             " -c fsync=off", td.dir, td.port);

    if (td.port == -1
        || td_run("pg_ctl", "-D", data, "-w", "-t", "30", "-o", opts,
                  "start", (char *) NULL) != 0)
    {
        fprintf(stderr, "test-deploy: PostgreSQL did not start: see "
                "%s/pg.log\n", td.dir);
        return -1;
    }

    snprintf(td.dsn, sizeof(td.dsn), "host=127.0.0.1 port=%d dbname=postgres"
             " user=postgres", td.port);

    conn = PQconnectdb(td.dsn);
    rc = PQstatus(conn) == CONNECTION_OK ? so_migrate(conn, "sql", err,
                                                      sizeof(err))
                                         : -1;
    if (rc <= 0) {
        fprintf(stderr, "test-deploy: migrations: %s\n",
                rc < 0 ? err : "none applied");
    }
    PQfinish(conn);

    return rc > 0 ? 0 : -1;
}


static void
td_cluster_down(void)
{
    char  data[512];

    snprintf(data, sizeof(data), "%s/data", td.dir);
    (void) td_run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop",
                  (char *) NULL);

    if (getenv("SHIPOFF_KEEP_TMP") == NULL) {
        so_test_rmtree(td.dir);
    }
}


/* ---- helpers of the cases */

static int
td_connect(void **state)
{
    td.pg = so_pg_new(td.dsn, 5000);
    return td.pg != NULL && so_pg_connect(td.pg) == SO_OK ? 0 : -1;
}


static int
td_disconnect(void **state)
{
    so_pg_free(td.pg);
    return 0;
}


/*
 * sql, the test's own (the code under test prepares its statements):
 * NULL when it failed, with its SQLSTATE in state (may be NULL)
 */
static PGresult *
td_sql(const char *sql, char state[6])
{
    PGresult  *res;

    res = PQexec(so_pg_conn(td.pg), sql);

    if (PQresultStatus(res) == PGRES_TUPLES_OK
        || PQresultStatus(res) == PGRES_COMMAND_OK)
    {
        return res;
    }

    if (state != NULL) {
        snprintf(state, 6, "%s",
                 PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL
                 ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : "");
    } else {
        print_message("%s: %s", sql, PQresultErrorMessage(res));
    }

    PQclear(res);
    return NULL;
}


/* the one value sql answers ("" for NULL; the caller frees it) */
static char *
td_get(const char *sql)
{
    PGresult  *res;
    char      *v;

    res = td_sql(sql, NULL);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 1);

    v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    assert_non_null(v);

    return v;
}


/* sql with %lld for id: its one value, compared with want */
static void
td_is(long long id, const char *sql, const char *want)
{
    char  q[1024], *v;

    snprintf(q, sizeof(q), sql, id);
    v = td_get(q);
    if (strcmp(v, want) != 0) {
        fail_msg("%s: \"%s\", not \"%s\"", q, v, want);
    }
    free(v);
}


static void
td_exec(const char *sql)
{
    PGresult  *res;

    res = td_sql(sql, NULL);
    assert_non_null(res);
    PQclear(res);
}


/* a new project (and its owner); its id */
static long long
td_project(void)
{
    static int  n;
    char        sql[512], *v;
    long long   id;

    n++;
    snprintf(sql, sizeof(sql),
             "WITH u AS (INSERT INTO users (email) VALUES ('u%d@example.com')"
             " RETURNING id)"
             " INSERT INTO projects (name, owner_user_id, repo_url,"
             " webhook_secret_enc) SELECT 'p%d', id,"
             " 'https://example.com/r.git', 'x' FROM u RETURNING id", n, n);
    v = td_get(sql);
    id = strtoll(v, NULL, 10);
    free(v);

    return id;
}


/* the path from QUEUED to each state, by legal steps */
static const so_dstate_t  td_path[SO_DS_COUNT][4] = {
    [SO_DS_QUEUED]       = { SO_DS_COUNT },
    [SO_DS_BUILDING]     = { SO_DS_BUILDING, SO_DS_COUNT },
    [SO_DS_PROVISIONING] = { SO_DS_BUILDING, SO_DS_PROVISIONING,
                             SO_DS_COUNT },
    [SO_DS_PRODUCTION]   = { SO_DS_BUILDING, SO_DS_PROVISIONING,
                             SO_DS_PRODUCTION, SO_DS_COUNT },
    [SO_DS_INACTIVE]     = { SO_DS_BUILDING, SO_DS_PROVISIONING,
                             SO_DS_PRODUCTION, SO_DS_INACTIVE },
    [SO_DS_FAILED]       = { SO_DS_FAILED, SO_DS_COUNT },
    [SO_DS_CANCELED]     = { SO_DS_CANCELED, SO_DS_COUNT },
};


/*
 * A new deployment of project on branch "main", brought to state s by
 * raw UPDATEs (the trigger allows each step), with an artifact; its id.
 */
static long long
td_deployment(long long project, so_dstate_t s)
{
    char       sql[512], *v;
    long long  id;
    int        i;

    snprintf(sql, sizeof(sql), "INSERT INTO deployments (project_id, branch,"
             " artifact_path) VALUES (%lld, 'main', '/var/sites/x')"
             " RETURNING id", project);
    v = td_get(sql);
    id = strtoll(v, NULL, 10);
    free(v);

    for (i = 0; i < 4 && td_path[s][i] != SO_DS_COUNT; i++) {
        snprintf(sql, sizeof(sql), "UPDATE deployments SET state = '%s'"
                 " WHERE id = %lld", so_dstate_name(td_path[s][i]), id);
        td_exec(sql);
    }

    return id;
}


/* what a refused change must leave as it was */
#define TD_ROW  "SELECT concat_ws(' ', state, reason, exit_code,"            \
                " finished_at, lease_owner, lease_expires_at, attempts,"     \
                " (SELECT count(*) FROM deployment_events"                   \
                " WHERE deployment_id = d.id))"                             \
                " FROM deployments d WHERE id = %lld"

static char *
td_row(long long id)
{
    char  sql[512];

    snprintf(sql, sizeof(sql), TD_ROW, id);
    return td_get(sql);
}


static void
td_unchanged(long long id, const char *before)
{
    char  *after;

    after = td_row(id);
    if (strcmp(before, after) != 0) {
        fail_msg("deployment %lld changed: \"%s\" -> \"%s\"", id, before,
                 after);
    }
    free(after);
}


/* ---- the claim */

static void
test_claim_once(void **state)
{
    long long   project, id, got;
    char       *before;

    project = td_project();
    id = td_deployment(project, SO_DS_QUEUED);

    assert_int_equal(so_deploy_claim(&got, td.pg, id, "me:1", TD_TTL),
                     SO_DEPLOY_CLAIMED);
    assert_int_equal(got, project);

    td_is(id, "SELECT concat_ws(' ', state, reason, lease_owner, attempts,"
          " started_at IS NOT NULL) FROM deployments WHERE id = %lld",
          "BUILDING claimed me:1 1 t");
    td_is(id, "SELECT lease_expires_at - now() BETWEEN interval '55 s'"
          " AND interval '60 s' FROM deployments WHERE id = %lld", "t");
    td_is(id, "SELECT string_agg(coalesce(from_state, '-') || '>'"
          " || to_state || ':' || coalesce(reason, '-'), ' ' ORDER BY id)"
          " FROM deployment_events WHERE deployment_id = %lld",
          "->QUEUED:- QUEUED>BUILDING:claimed");

    /* once: a second claim, ours or another's, finds it taken */
    before = td_row(id);
    assert_int_equal(so_deploy_claim(&got, td.pg, id, "other:2", TD_TTL),
                     SO_DEPLOY_SETTLED);
    assert_int_equal(so_deploy_claim(&got, td.pg, id, "me:1", TD_TTL),
                     SO_DEPLOY_SETTLED);
    td_unchanged(id, before);
    free(before);
}


typedef struct {
    pthread_barrier_t  *start;
    long long           id;
    char                owner[16];
    int                 rc;
} td_claimer_t;


static void *
td_claimer(void *arg)
{
    td_claimer_t  *c;
    so_pg_t       *pg;
    long long      project;

    c = arg;
    c->rc = -100;

    pg = so_pg_new(td.dsn, 5000);
    if (pg != NULL && so_pg_connect(pg) == SO_OK) {
        pthread_barrier_wait(c->start);
        c->rc = so_deploy_claim(&project, pg, c->id, c->owner, TD_TTL);
    } else {
        pthread_barrier_wait(c->start);
    }

    so_pg_free(pg);
    return NULL;
}


static void
test_claim_race(void **state)
{
    pthread_barrier_t  start;
    td_claimer_t       c[2];
    pthread_t          tid[2];
    long long          project, id;
    char               want[64];
    int                round, i, winner;

    project = td_project();

    for (round = 0; round < TD_RACES; round++) {
        id = td_deployment(project, SO_DS_QUEUED);
        pthread_barrier_init(&start, NULL, 2);

        for (i = 0; i < 2; i++) {
            c[i].start = &start;
            c[i].id = id;
            snprintf(c[i].owner, sizeof(c[i].owner), "racer:%d", i);
            assert_int_equal(pthread_create(&tid[i], NULL, td_claimer,
                                            &c[i]), 0);
        }
        for (i = 0; i < 2; i++) {
            pthread_join(tid[i], NULL);
        }
        pthread_barrier_destroy(&start);

        if (!((c[0].rc == SO_DEPLOY_CLAIMED
               && c[1].rc == SO_DEPLOY_SETTLED)
              || (c[0].rc == SO_DEPLOY_SETTLED
                  && c[1].rc == SO_DEPLOY_CLAIMED)))
        {
            fail_msg("round %d: the claimers answered %d and %d", round,
                     c[0].rc, c[1].rc);
        }

        winner = c[0].rc == SO_DEPLOY_CLAIMED ? 0 : 1;
        snprintf(want, sizeof(want), "BUILDING %s 1", c[winner].owner);
        td_is(id, "SELECT concat_ws(' ', state, lease_owner, attempts)"
              " FROM deployments WHERE id = %lld", want);

        /* done with it: the next round's deployment may be claimed */
        assert_int_equal(so_deploy_move(td.pg, id, SO_DS_BUILDING,
                                        SO_DS_FAILED, "done", 0), SO_OK);
    }
}


static void
test_claim_refused(void **state)
{
    long long   project, id, got;
    char       *before;
    int         s;

    /* every state but QUEUED: settled, nothing written */
    for (s = SO_DS_BUILDING; s < SO_DS_COUNT; s++) {
        project = td_project();
        id = td_deployment(project, (so_dstate_t) s);
        before = td_row(id);

        if (so_deploy_claim(&got, td.pg, id, "me:1", TD_TTL)
            != SO_DEPLOY_SETTLED)
        {
            fail_msg("a %s deployment was not refused",
                     so_dstate_name((so_dstate_t) s));
        }
        td_unchanged(id, before);
        free(before);
    }

    assert_int_equal(so_deploy_claim(&got, td.pg, id + TD_GONE, "me:1", TD_TTL),
                     SO_DEPLOY_SETTLED);
}


static void
test_claim_supersede(void **state)
{
    long long   project, old, older, newer, other, got;
    char       *before;

    project = td_project();
    older = td_deployment(project, SO_DS_QUEUED);
    old = td_deployment(project, SO_DS_QUEUED);
    newer = td_deployment(project, SO_DS_QUEUED);

    /* a newer one of the branch waits: this one is not built */
    assert_int_equal(so_deploy_claim(&got, td.pg, old, "me:1", TD_TTL),
                     SO_DEPLOY_SETTLED);
    td_is(old, "SELECT concat_ws(' ', state, reason, finished_at IS NOT NULL)"
          " FROM deployments WHERE id = %lld", "CANCELED superseded t");

    /* the newest is built, and the older ones of its branch go */
    assert_int_equal(so_deploy_claim(&got, td.pg, newer, "me:1", TD_TTL),
                     SO_DEPLOY_CLAIMED);
    td_is(older, "SELECT state || ' ' || reason FROM deployments"
          " WHERE id = %lld", "CANCELED superseded");

    /* while the project is being built, another branch waits its turn */
    other = td_deployment(project, SO_DS_QUEUED);
    td_exec("UPDATE deployments SET branch = 'dev'"
            " WHERE state = 'QUEUED' AND branch = 'main'");
    before = td_row(other);
    assert_int_equal(so_deploy_claim(&got, td.pg, other, "me:1", TD_TTL),
                     SO_DEPLOY_LATER);
    td_unchanged(other, before);
    free(before);
}


static void
test_claim_now(void **state)
{
    long long   project, older, id;
    char       *before;

    project = td_project();
    older = td_deployment(project, SO_DS_QUEUED);
    id = td_deployment(project, SO_DS_QUEUED);

    assert_int_equal(so_deploy_claim_now(td.pg, id, "cli:7", TD_TTL), SO_OK);
    td_is(id, "SELECT concat_ws(' ', state, reason, lease_owner, attempts,"
          " lease_expires_at - now() BETWEEN interval '55 s'"
          " AND interval '60 s') FROM deployments WHERE id = %lld",
          "BUILDING building cli:7 1 t");

    /* the operator's claim supersedes nothing */
    td_is(older, "SELECT state FROM deployments WHERE id = %lld", "QUEUED");

    before = td_row(id);
    assert_int_equal(so_deploy_claim_now(td.pg, id, "cli:7", TD_TTL),
                     SO_EEXISTS);
    td_unchanged(id, before);
    free(before);

    assert_int_equal(so_deploy_claim_now(td.pg, id + TD_GONE, "cli:7", TD_TTL),
                     SO_EEXISTS);
}


/* ---- transitions */

/*
 * Every pair of states, from a deployment in the first: so_deploy_move
 * moves a legal pair and records it, and refuses an illegal one with
 * SO_EINVAL; a raw UPDATE of an illegal pair is refused by the trigger
 * (SQLSTATE 23514).  Either refusal leaves the row as it was.
 */
static void
test_move_matrix(void **state)
{
    so_capture_t   cap;
    PGresult      *res;
    char           sql[512], want[128], sqlstate[6], *before, *log;
    so_dstate_t    from, to;
    long long      id, raw;
    int            rc, legal;

    for (from = 0; from < SO_DS_COUNT; from++) {
        for (to = 0; to < SO_DS_COUNT; to++) {
            if (from == to) {
                continue;
            }

            legal = so_dstate_can(from, to);
            id = td_deployment(td_project(), from);
            raw = td_deployment(td_project(), from);
            before = td_row(id);

            so_capture_start(&cap);
            rc = so_deploy_move(td.pg, id, from, to, "test", 3);
            log = so_capture_end(&cap);
    
            if (legal) {
                if (rc != SO_OK) {
                    fail_msg("%s -> %s: %d", so_dstate_name(from),
                             so_dstate_name(to), rc);
                }
                snprintf(want, sizeof(want), "%s test 3 %s", so_dstate_name(to),
                         so_dstate_ends_build(from, to) ? "t" : "f");
                td_is(id, "SELECT concat_ws(' ', state, reason, exit_code,"
                      " finished_at IS NOT NULL) FROM deployments"
                      " WHERE id = %lld", want);
                snprintf(want, sizeof(want), "%s>%s:test",
                         so_dstate_name(from), so_dstate_name(to));
                td_is(id, "SELECT from_state || '>' || to_state || ':'"
                      " || reason FROM deployment_events"
                      " WHERE deployment_id = %lld ORDER BY id DESC LIMIT 1",
                      want);

            } else {
                if (rc != SO_EINVAL || strstr(log, "not a transition")
                                        == NULL)
                {
                    fail_msg("%s -> %s: %d, not refused (\"%s\")",
                             so_dstate_name(from), so_dstate_name(to), rc,
                             log);
                }
                td_unchanged(id, before);
            }
            free(before);
            free(log);

            /* the trigger: the same pair as a raw UPDATE */
            before = td_row(raw);
            snprintf(sql, sizeof(sql), "UPDATE deployments SET state = '%s'"
                     " WHERE id = %lld", so_dstate_name(to), raw);
            res = td_sql(sql, sqlstate);
            PQclear(res);
            if ((res == NULL) == legal
                || (!legal && strcmp(sqlstate, "23514") != 0))
            {
                fail_msg("raw %s -> %s: %s", so_dstate_name(from),
                         so_dstate_name(to), legal ? "refused" : "allowed");
            }
            if (!legal) {
                td_unchanged(raw, before);
            }
            free(before);
        }
    }
}


/* a legal move from a state the deployment is not in: refused */
static void
test_move_stale(void **state)
{
    long long   project, id, prod;
    char       *before;

    project = td_project();
    id = td_deployment(project, SO_DS_BUILDING);
    before = td_row(id);

    assert_int_equal(so_deploy_move(td.pg, id, SO_DS_QUEUED,
                                     SO_DS_CANCELED, "late", -1),
                     SO_EEXISTS);
    assert_int_equal(so_deploy_move(td.pg, id, SO_DS_PROVISIONING,
                                     SO_DS_PRODUCTION, "late", 0),
                     SO_EEXISTS);
    assert_int_equal(so_deploy_move(td.pg, id + TD_GONE, SO_DS_BUILDING,
                                     SO_DS_FAILED, "gone", -1),
                     SO_EEXISTS);
    td_unchanged(id, before);
    free(before);

    /* a second PRODUCTION of the project: the unique index says no */
    id = td_deployment(project, SO_DS_INACTIVE);
    prod = td_deployment(project, SO_DS_PRODUCTION);
    before = td_row(id);
    assert_int_equal(so_deploy_move(td.pg, id, SO_DS_INACTIVE,
                                     SO_DS_PRODUCTION, "twice", -1),
                     SO_EEXISTS);
    td_unchanged(id, before);
    td_is(prod, "SELECT state FROM deployments WHERE id = %lld",
          "PRODUCTION");
    free(before);
}


/* ---- promotion */

#define TD_ONE_PRODUCTION                                                   \
    "SELECT count(*) FROM deployments"                                      \
    " WHERE project_id = %lld AND state = 'PRODUCTION'"

static void
test_promote_build(void **state)
{
    long long   project, first, second, prev;
    char        err[256];

    project = td_project();
    first = td_deployment(project, SO_DS_PROVISIONING);

    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, first,
                                       SO_DS_PROVISIONING, err, sizeof(err)),
                     SO_OK);
    assert_int_equal(prev, 0);
    td_is(first, "SELECT concat_ws(' ', state, reason, exit_code,"
          " finished_at IS NOT NULL) FROM deployments WHERE id = %lld",
          "PRODUCTION deployed 0 t");

    second = td_deployment(project, SO_DS_PROVISIONING);
    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, second,
                                       SO_DS_PROVISIONING, err, sizeof(err)),
                     SO_OK);
    assert_int_equal(prev, first);
    td_is(first, "SELECT state || ' ' || reason FROM deployments"
          " WHERE id = %lld", "INACTIVE superseded");
    td_is(second, "SELECT state || ' ' || reason FROM deployments"
          " WHERE id = %lld", "PRODUCTION deployed");
    td_is(project, TD_ONE_PRODUCTION, "1");
}


static void
test_promote_rollback(void **state)
{
    long long   project, old, cur, gone, prev;
    char        err[256], *before;

    /* in this order: the way to INACTIVE goes through PRODUCTION */
    project = td_project();
    gone = td_deployment(project, SO_DS_INACTIVE);
    old = td_deployment(project, SO_DS_INACTIVE);
    cur = td_deployment(project, SO_DS_PRODUCTION);

    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, old,
                                       SO_DS_INACTIVE, err, sizeof(err)),
                     SO_OK);
    assert_int_equal(prev, cur);
    td_is(old, "SELECT state || ' ' || reason FROM deployments"
          " WHERE id = %lld", "PRODUCTION promoted");
    td_is(cur, "SELECT state || ' ' || reason FROM deployments"
          " WHERE id = %lld", "INACTIVE superseded by promote");
    td_is(project, TD_ONE_PRODUCTION, "1");

    /* an artifact no longer kept cannot be rolled back to */
    td_is(gone, "WITH u AS (UPDATE deployments SET artifact_path = NULL"
          " WHERE id = %lld RETURNING 1) SELECT count(*) FROM u", "1");
    before = td_row(gone);
    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, gone,
                                       SO_DS_INACTIVE, err, sizeof(err)),
                     SO_EINVAL);
    assert_non_null(strstr(err, "no longer kept"));
    td_unchanged(gone, before);
    td_is(old, "SELECT state FROM deployments WHERE id = %lld",
          "PRODUCTION");
    free(before);
}


/* from a state it is not in (a build not done yet), or gone: refused */
static void
test_promote_refused(void **state)
{
    long long   project, cur, building, prev;
    char        err[256], *before, *kept;

    project = td_project();
    cur = td_deployment(project, SO_DS_PRODUCTION);
    building = td_deployment(project, SO_DS_BUILDING);
    before = td_row(building);
    kept = td_row(cur);

    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, building,
                                       SO_DS_PROVISIONING, err, sizeof(err)),
                     SO_EEXISTS);
    assert_non_null(strstr(err, "this one is BUILDING"));
    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, building,
                                       SO_DS_INACTIVE, err, sizeof(err)),
                     SO_EEXISTS);
    td_unchanged(building, before);
    td_unchanged(cur, kept);

    assert_int_equal(so_deploy_promote(&prev, td.pg, NULL, building + TD_GONE,
                                       SO_DS_PROVISIONING, err, sizeof(err)),
                     SO_ENOTFOUND);
    free(before);
    free(kept);
}


/* ---- recovery */

/* a deployment in state s under owner's lease, expired or not */
static long long
td_leased(long long project, so_dstate_t s, const char *owner, int attempts,
    int expired)
{
    char       sql[512];
    long long  id;

    id = td_deployment(project, s);
    snprintf(sql, sizeof(sql), "UPDATE deployments SET lease_owner = '%s',"
             " attempts = %d, lease_expires_at = now() + interval '%s'"
             " WHERE id = %lld", owner, attempts,
             expired ? "-1 minute" : "1 minute", id);
    td_exec(sql);

    return id;
}


/* the rows so_deploy_recover answered: "id:state:outbox?" by id */
static char *
td_recovered(PGresult *res)
{
    char    *out;
    size_t   len;
    int      i;

    out = calloc(1, 1024);
    assert_non_null(out);

    for (i = 0, len = 0; i < PQntuples(res) && len < 1000; i++) {
        len += (size_t) snprintf(out + len, 1024 - len, "%s%s:%s:%s",
                                 i ? " " : "", PQgetvalue(res, i, 0),
                                 PQgetvalue(res, i, 2),
                                 PQgetisnull(res, i, 3) ? "-" : "outbox");
    }

    PQclear(res);
    return out;
}


static void
test_recover(void **state)
{
    PGresult   *res;
    long long   p1, p2, p3, one, last, mine, theirs, live;
    char        want[256], *got;

    p1 = td_project();
    p2 = td_project();
    p3 = td_project();

    /* one, by id: an attempt left goes back to QUEUED with an outbox row;
       the last attempt fails */
    one = td_leased(p1, SO_DS_BUILDING, "rec:1", 1, 0);
    last = td_leased(p2, SO_DS_PROVISIONING, "rec:1", 3, 0);

    assert_int_equal(so_deploy_recover(&res, td.pg, SO_DEPLOY_LOST_ONE, one,
                                       "rec:1", 1, 3), SO_OK);
    got = td_recovered(res);
    snprintf(want, sizeof(want), "%lld:QUEUED:outbox", one);
    assert_string_equal(got, want);
    free(got);
    td_is(one, "SELECT concat_ws(' ', state, reason, attempts,"
          " lease_owner IS NULL, finished_at IS NULL,"
          " (SELECT count(*) FROM build_outbox WHERE deployment_id = d.id))"
          " FROM deployments d WHERE id = %lld",
          "QUEUED builder_lost 1 t t 1");

    assert_int_equal(so_deploy_recover(&res, td.pg, SO_DEPLOY_LOST_ONE, last,
                                       "other:2", 1, 3), SO_OK);
    got = td_recovered(res);
    assert_string_equal(got, "");
    free(got);

    assert_int_equal(so_deploy_recover(&res, td.pg, SO_DEPLOY_LOST_MINE, 0,
                                       "rec:1", 1, 3), SO_OK);
    got = td_recovered(res);
    snprintf(want, sizeof(want), "%lld:FAILED:-", last);
    assert_string_equal(got, want);
    free(got);
    td_is(last, "SELECT concat_ws(' ', state, reason,"
          " finished_at IS NOT NULL) FROM deployments WHERE id = %lld",
          "FAILED builder_lost t");

    /* an attempt not counted (we are stopping) is given back */
    mine = td_leased(p2, SO_DS_BUILDING, "rec:1", 3, 0);
    assert_int_equal(so_deploy_recover(&res, td.pg, SO_DEPLOY_LOST_MINE, 0,
                                       "rec:1", 0, 3), SO_OK);
    got = td_recovered(res);
    snprintf(want, sizeof(want), "%lld:QUEUED:outbox", mine);
    assert_string_equal(got, want);
    free(got);
    td_is(mine, "SELECT attempts FROM deployments WHERE id = %lld", "2");

    /* expired: another's expired lease only */
    theirs = td_leased(p3, SO_DS_BUILDING, "other:2", 1, 1);
    live = td_leased(p1, SO_DS_PROVISIONING, "other:3", 1, 0);
    (void) td_leased(td_project(), SO_DS_BUILDING, "rec:1", 1, 1);

    assert_int_equal(so_deploy_recover(&res, td.pg, SO_DEPLOY_LOST_EXPIRED, 0,
                                       "rec:1", 1, 3), SO_OK);
    got = td_recovered(res);
    snprintf(want, sizeof(want), "%lld:QUEUED:outbox", theirs);
    assert_string_equal(got, want);
    free(got);
    td_is(live, "SELECT state FROM deployments WHERE id = %lld",
          "PROVISIONING");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_claim_once),
        cmocka_unit_test(test_claim_race),
        cmocka_unit_test(test_claim_refused),
        cmocka_unit_test(test_claim_supersede),
        cmocka_unit_test(test_claim_now),
        cmocka_unit_test(test_move_matrix),
        cmocka_unit_test(test_move_stale),
        cmocka_unit_test(test_promote_build),
        cmocka_unit_test(test_promote_rollback),
        cmocka_unit_test(test_promote_refused),
        cmocka_unit_test(test_recover),
    };
    char   path[512];
    pid_t  pid;
    int    status, rc;

    so_log_init("test-deploy", SO_LOG_ERROR);

    td.bin = getenv("SHIPOFF_PG_BIN");
    if (td.bin == NULL) {
        td.bin = TD_PG_BIN;
    }

    snprintf(path, sizeof(path), "%s/initdb", td.bin);
    if (access(path, X_OK) != 0) {
        printf("# skipped: no PostgreSQL at %s (SHIPOFF_PG_BIN)\n", td.bin);
        return 0;
    }

    rc = 1;

    if (td_cluster_up() == 0) {
        fflush(NULL);
        pid = fork();
        if (pid == 0) {
            _exit(cmocka_run_group_tests(tests, td_connect, td_disconnect));
        }

        if (pid > 0 && waitpid(pid, &status, 0) == pid) {
            rc = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        }
    }

    td_cluster_down();

    return rc;
}
