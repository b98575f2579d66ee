/*
 * so_pg.h: a PostgreSQL connection that prepares each statement once and
 * reconnects when the server went away.
 *
 * Statements are named by the caller; each is prepared on first use per
 * connection (PQprepare) and executed with PQexecPrepared.  SQL is never
 * built from input.  One so_pg_t per thread.
 */

#ifndef SO_PG_H
#define SO_PG_H

#include <libpq-fe.h>

typedef struct so_pg_s  so_pg_t;

so_pg_t *so_pg_new(const char *dsn, int connect_timeout_ms);
void so_pg_free(so_pg_t *pg);

/* connects or reconnects when needed; 0 or SO_EUNAVAIL */
int so_pg_connect(so_pg_t *pg);

/* SELECT 1 round trip, reconnecting once; 0 or SO_EUNAVAIL */
int so_pg_ping(so_pg_t *pg);

/*
 * Executes the statement "name" (prepared from sql on first use) with
 * nparams text parameters (NULL entries are SQL NULL).  A broken connection
 * is reconnected and the statement retried once.  Returns a result with
 * status PGRES_TUPLES_OK or PGRES_COMMAND_OK (caller PQclear()s it), or
 * NULL with the error in so_pg_errstr().
 */
PGresult *so_pg_query(so_pg_t *pg, const char *name, const char *sql,
    int nparams, const char *const *params);

/*
 * The nparams and params arguments of so_pg_query() and of the functions
 * that pass them on, from the values of $1, $2... in that order:
 *
 *     so_pg_query(pg, "x_get", "SELECT ... WHERE id = $1 AND owner = $2",
 *                 SO_PG_PARAMS(id, owner));
 *
 * The compiler counts the values, so the count cannot disagree with the
 * array, and checks that each is a string (or NULL, SQL NULL).  The array
 * lives until the end of the enclosing block; the values are evaluated
 * once.  A statement without parameters passes 0, NULL.
 */
#define SO_PG_PARAMS(...)                                                     \
    (int) (sizeof((const char *[]) { __VA_ARGS__ }) / sizeof(const char *)),  \
    (const char *const []) { __VA_ARGS__ }

/*
 * so_pg_query() for a statement whose rows are not wanted: 0, or the
 * so_pg_code() of the failure with the error in so_pg_errstr().
 */
int so_pg_exec(so_pg_t *pg, const char *name, const char *sql, int nparams,
    const char *const *params);

/*
 * Runs "BEGIN", "COMMIT" or "ROLLBACK" through so_pg_query(): 0, or SO_ERR
 * with the error logged and in so_pg_errstr().
 */
int so_pg_tx(so_pg_t *pg, const char *verb);

/* the last error; a borrowed pointer */
const char *so_pg_errstr(const so_pg_t *pg);

/* the SQLSTATE of the last failed query ("23505"...) or "" */
const char *so_pg_sqlstate(const so_pg_t *pg);

/*
 * The code of the last failed query: SO_EUNAVAIL when no server answered
 * (no SQLSTATE) or the connection broke (class 08), else SO_ERR.
 */
int so_pg_code(const so_pg_t *pg);

/*
 * Logs the last failure under ctx (may be NULL) as "<fmt ...>: <error>",
 * an error; returns its so_pg_code().
 */
int so_pg_failed(const so_pg_t *pg, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

PGconn *so_pg_conn(so_pg_t *pg);

#endif /* SO_PG_H */
