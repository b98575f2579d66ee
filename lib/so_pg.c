/*
 * so_pg.c: one PostgreSQL connection, its prepared statements, and a
 * reconnect when the server went away.
 *
 * Statements are prepared lazily under the caller's name and remembered
 * per connection: a new connection has no prepared statements, so the set
 * is emptied on every reconnect.  A query that fails because the
 * connection broke is retried once on a new connection, but only when the
 * old one was outside a transaction: replaying one statement of a lost
 * transaction in autocommit mode would commit half of it.
 *
 * When the server cannot be reached there is no server SQLSTATE; the
 * standard client ones are reported instead, so a caller can tell an
 * unavailable database (class 08) from a failed statement:
 * 08001 could not connect, 08006 the connection broke during a query.
 */

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_pg.h"


#define SO_PG_CANNOT_CONNECT  "08001"
#define SO_PG_CONNECTION_LOST "08006"


struct so_pg_s {
    PGconn   *conn;
    char     *dsn;
    int       timeout_ms;
    char    **prepared;               /* of statement names, strdup'd */
    size_t    nprepared;
    size_t    nalloc;
    char      errstr[SO_ERRLEN];
    char      sqlstate[6];
};


static void so_pg_disconnect(so_pg_t *pg);
static int so_pg_is_prepared(const so_pg_t *pg, const char *name);
static int so_pg_remember(so_pg_t *pg, const char *name);
static int so_pg_result_ok(const PGresult *res);
static void so_pg_set_error(so_pg_t *pg, const char *msg,
    const char *sqlstate);
static void so_pg_notice(void *arg, const PGresult *res);


so_pg_t *
so_pg_new(const char *dsn, int connect_timeout_ms)
{
    so_pg_t  *pg;

    assert(dsn != NULL);

    pg = calloc(1, sizeof(so_pg_t));
    if (pg == NULL) {
        return NULL;
    }

    pg->dsn = strdup(dsn);
    if (pg->dsn == NULL) {
        free(pg);
        return NULL;
    }

    pg->timeout_ms = connect_timeout_ms;

    return pg;
}


void
so_pg_free(so_pg_t *pg)
{
    if (pg == NULL) {
        return;
    }

    so_pg_disconnect(pg);
    free(pg->prepared);

    /* the DSN may carry a password */
    explicit_bzero(pg->dsn, strlen(pg->dsn));
    free(pg->dsn);
    free(pg);
}


int
so_pg_connect(so_pg_t *pg)
{
    char         timeout[16];
    const char  *keys[4], *values[4];

    if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK) {
        return SO_OK;
    }

    so_pg_disconnect(pg);

    /* libpq wants whole seconds; never round a short timeout down to 0 */
    snprintf(timeout, sizeof(timeout), "%d",
             pg->timeout_ms > 0 ? (pg->timeout_ms + 999) / 1000 : 1);

    /* later keywords win: the DSN's own settings come last and override */
    keys[0] = "connect_timeout";
    values[0] = timeout;
    keys[1] = "application_name";
    values[1] = program_invocation_short_name;
    keys[2] = "dbname";
    values[2] = pg->dsn;
    keys[3] = NULL;
    values[3] = NULL;

    pg->conn = PQconnectdbParams(keys, values, 1);

    if (pg->conn == NULL) {
        so_pg_set_error(pg, "out of memory", SO_PG_CANNOT_CONNECT);
        return SO_EUNAVAIL;
    }

    if (PQstatus(pg->conn) != CONNECTION_OK) {
        so_pg_set_error(pg, PQerrorMessage(pg->conn), SO_PG_CANNOT_CONNECT);
        so_pg_disconnect(pg);
        return SO_EUNAVAIL;
    }

    PQsetNoticeReceiver(pg->conn, so_pg_notice, NULL);

    return SO_OK;
}


int
so_pg_ping(so_pg_t *pg)
{
    return so_pg_exec(pg, "so_ping", "SELECT 1", 0, NULL) == SO_OK
           ? SO_OK : SO_EUNAVAIL;
}


PGresult *
so_pg_query(so_pg_t *pg, const char *name, const char *sql, int nparams,
    const char *const *params)
{
    int        attempt, idle, prepared;
    PGresult  *res;

    pg->errstr[0] = '\0';
    pg->sqlstate[0] = '\0';

    for (attempt = 0; attempt < 2; attempt++) {

        /* a connection that cannot be made now will not be made at once */
        if (so_pg_connect(pg) != SO_OK) {
            return NULL;
        }

        idle = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;

        prepared = so_pg_is_prepared(pg, name);
        res = prepared ? NULL : PQprepare(pg->conn, name, sql, nparams, NULL);

        if (prepared || so_pg_result_ok(res)) {
            PQclear(res);

            if (!prepared && so_pg_remember(pg, name) != SO_OK) {
                /* the server has it, we forgot it: start afresh next time */
                so_pg_disconnect(pg);
                so_pg_set_error(pg, "out of memory", NULL);
                return NULL;
            }

            res = PQexecPrepared(pg->conn, name, nparams, params, NULL, NULL,
                                 0);
        }

        if (so_pg_result_ok(res)) {
            /* a failure before the retry is history now */
            pg->errstr[0] = '\0';
            pg->sqlstate[0] = '\0';
            return res;
        }

        if (res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE)) {
            so_pg_set_error(pg, PQresultErrorMessage(res),
                            PQresultErrorField(res, PG_DIAG_SQLSTATE));

        } else {
            so_pg_set_error(pg, PQerrorMessage(pg->conn),
                            PQstatus(pg->conn) == CONNECTION_BAD
                            ? SO_PG_CONNECTION_LOST : NULL);
        }

        PQclear(res);

        if (attempt > 0 || PQstatus(pg->conn) != CONNECTION_BAD || !idle) {
            break;
        }

        so_log_warn("pg", "connection lost, reconnecting: %s", pg->errstr);
    }

    return NULL;
}


int
so_pg_exec(so_pg_t *pg, const char *name, const char *sql, int nparams,
    const char *const *params)
{
    PGresult  *res;

    res = so_pg_query(pg, name, sql, nparams, params);
    if (res == NULL) {
        return so_pg_code(pg);
    }

    PQclear(res);
    return SO_OK;
}


int
so_pg_tx(so_pg_t *pg, const char *verb)
{
    const char  *name;

    if (strcmp(verb, "BEGIN") == 0) {
        name = "so_pg_begin";

    } else if (strcmp(verb, "COMMIT") == 0) {
        name = "so_pg_commit";

    } else {
        assert(strcmp(verb, "ROLLBACK") == 0);
        name = "so_pg_rollback";
    }

    if (so_pg_exec(pg, name, verb, 0, NULL) != SO_OK) {
        so_log_error("pg", "%s: %s", verb, pg->errstr);
        return SO_ERR;
    }

    return SO_OK;
}


const char *
so_pg_errstr(const so_pg_t *pg)
{
    return pg->errstr;
}


const char *
so_pg_sqlstate(const so_pg_t *pg)
{
    return pg->sqlstate;
}


int
so_pg_code(const so_pg_t *pg)
{
    return (pg->sqlstate[0] == '\0' || strncmp(pg->sqlstate, "08", 2) == 0)
           ? SO_EUNAVAIL : SO_ERR;
}


int
so_pg_failed(const so_pg_t *pg, const char *ctx, const char *fmt, ...)
{
    va_list  ap;
    char     what[SO_ERRLEN];

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);

    so_log_error(ctx, "%s: %s", what, pg->errstr);
    return so_pg_code(pg);
}


PGconn *
so_pg_conn(so_pg_t *pg)
{
    return pg->conn;
}


/* closes the connection; its prepared statements go with it */
static void
so_pg_disconnect(so_pg_t *pg)
{
    size_t  i;

    for (i = 0; i < pg->nprepared; i++) {
        free(pg->prepared[i]);
    }

    pg->nprepared = 0;

    PQfinish(pg->conn);
    pg->conn = NULL;
}


/* a linear search: a program prepares a few dozen statements at most */
static int
so_pg_is_prepared(const so_pg_t *pg, const char *name)
{
    size_t  i;

    for (i = 0; i < pg->nprepared; i++) {
        if (strcmp(pg->prepared[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
so_pg_remember(so_pg_t *pg, const char *name)
{
    char    *copy;
    char   **p;
    size_t   n;

    if (pg->nprepared == pg->nalloc) {
        n = pg->nalloc ? pg->nalloc * 2 : 16;

        p = realloc(pg->prepared, n * sizeof(char *));
        if (p == NULL) {
            return SO_ERR;
        }

        pg->prepared = p;
        pg->nalloc = n;
    }

    copy = strdup(name);
    if (copy == NULL) {
        return SO_ERR;
    }

    pg->prepared[pg->nprepared++] = copy;

    return SO_OK;
}


static int
so_pg_result_ok(const PGresult *res)
{
    ExecStatusType  st;

    if (res == NULL) {
        return 0;
    }

    st = PQresultStatus(res);

    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}


/*
 * libpq's messages end in a newline and may span lines ("...refused\n\tIs
 * the server running...").  One line reads better in a log or a reply.
 */
static void
so_pg_set_error(so_pg_t *pg, const char *msg, const char *sqlstate)
{
    size_t  n;

    if (msg == NULL || msg[0] == '\0') {
        msg = "unknown error";
    }

    n = 0;

    while (*msg != '\0' && n < sizeof(pg->errstr) - 1) {
        if (*msg == '\n') {
            while (msg[1] == '\n' || msg[1] == '\t' || msg[1] == ' ') {
                msg++;
            }

            if (msg[1] == '\0') {
                break;
            }

            pg->errstr[n++] = ' ';

        } else {
            pg->errstr[n++] = *msg;
        }

        msg++;
    }

    pg->errstr[n] = '\0';

    snprintf(pg->sqlstate, sizeof(pg->sqlstate), "%s",
             sqlstate ? sqlstate : "");
}


/* NOTICEs go to the log instead of libpq's bare fprintf(stderr) */
static void
so_pg_notice(void *arg, const PGresult *res)
{
    const char  *severity, *msg;

    severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    so_log_info("pg", "%s: %s", severity ? severity : "NOTICE",
                msg ? msg : "");
}
