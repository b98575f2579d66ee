/*
 * so_migrate.c: apply numbered SQL files, each whole or not at all.
 *
 * Statements are run one by one inside the file's transaction so a failure
 * can be pinned to a line even when PostgreSQL gives no position (a unique
 * violation while inserting data, say): the line is where the failing
 * statement starts, plus the offset PostgreSQL reports within it.
 */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_migrate.h"


#define SO_MIGRATE_LOCK  "7301947245"    /* advisory lock key: "shipoff" */


typedef struct {
    PGconn      *conn;
    const char  *file;
    char        *err;
    size_t       errlen;
} so_migrate_ctx_t;


static int so_migrate_exec(void *data, const char *stmt, size_t len,
    int line);
static int so_migrate_file(so_migrate_ctx_t *ctx, const char *dir,
    const char *name);
static int so_migrate_filter(const struct dirent *d);
static int so_simple(PGconn *conn, const char *sql, char *err,
    size_t errlen);
static char *so_read_file(const char *path, size_t *len);


int
so_sql_split(const char *sql, size_t len, so_sql_stmt_pt fn, void *data)
{
    const char  *p, *end, *start, *tag, *close;
    size_t       taglen;
    int          line, start_line, rc;

    p = sql;
    end = sql + len;
    line = 1;
    start = NULL;
    start_line = 1;

    while (p < end) {

        if (start == NULL && !isspace((unsigned char) *p)) {
            start = p;
            start_line = line;
        }

        if (*p == '-' && p + 1 < end && p[1] == '-') {
            while (p < end && *p != '\n') {
                p++;
            }
            continue;
        }

        if (*p == '/' && p + 1 < end && p[1] == '*') {
            for (p += 2; p < end; p++) {
                if (*p == '\n') {
                    line++;
                } else if (*p == '*' && p + 1 < end && p[1] == '/') {
                    p += 2;
                    break;
                }
            }
            continue;
        }

        if (*p == '\'' || *p == '"') {
            /* a doubled quote inside is two strings back to back */
            close = memchr(p + 1, *p, (size_t) (end - p - 1));
            close = close ? close + 1 : end;
            for (; p < close; p++) {
                line += (*p == '\n');
            }
            continue;
        }

        if (*p == '$') {
            tag = p + 1;
            while (tag < end && (isalnum((unsigned char) *tag)
                                 || *tag == '_'))
            {
                tag++;
            }
            if (tag < end && *tag == '$') {
                taglen = (size_t) (tag - p) + 1;
                close = memmem(tag + 1, (size_t) (end - tag - 1), p, taglen);
                close = close ? close + taglen : end;
                for (; p < close; p++) {
                    line += (*p == '\n');
                }
                continue;
            }
        }

        if (*p == ';') {
            if (start != NULL && start != p) {
                rc = fn(data, start, (size_t) (p - start), start_line);
                if (rc != 0) {
                    return rc;
                }
            }
            start = NULL;
        }

        line += (*p == '\n');
        p++;
    }

    if (start != NULL) {
        /* the last statement may lack its semicolon */
        return fn(data, start, (size_t) (end - start), start_line);
    }

    return 0;
}


static int
so_migrate_exec(void *data, const char *stmt, size_t len, int line)
{
    so_migrate_ctx_t  *ctx = data;
    PGresult          *res;
    const char        *pos, *msg, *s;
    char              *text;
    long               chars;
    int                rc;

    text = strndup(stmt, len);
    if (text == NULL) {
        snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->file);
        return SO_ERR;
    }

    res = PQexec(ctx->conn, text);
    rc = SO_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK
        && PQresultStatus(res) != PGRES_TUPLES_OK
        && PQresultStatus(res) != PGRES_EMPTY_QUERY)
    {
        pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        if (pos != NULL) {
            /* a 1-based position in characters, not bytes */
            chars = strtol(pos, NULL, 10);
            for (s = text; *s != '\0' && chars > 1; s++) {
                if (((unsigned char) *s & 0xc0) != 0x80) {
                    chars--;
                }
                line += (*s == '\n');
            }
        }

        msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (msg == NULL) {
            msg = PQerrorMessage(ctx->conn);
        }

        snprintf(ctx->err, ctx->errlen, "%s:%d: %s", ctx->file, line, msg);
        rc = SO_ERR;
    }

    PQclear(res);
    free(text);
    return rc;
}


static int
so_migrate_file(so_migrate_ctx_t *ctx, const char *dir, const char *name)
{
    char        path[4096], *sql;
    size_t      len;
    int         rc;
    PGresult   *res;
    const char *params[1];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ctx->file = path;

    sql = so_read_file(path, &len);
    if (sql == NULL) {
        snprintf(ctx->err, ctx->errlen, "cannot read %s: %s", path,
                 strerror(errno));
        return SO_ERR;
    }

    rc = so_simple(ctx->conn, "BEGIN", ctx->err, ctx->errlen);
    if (rc != SO_OK) {
        free(sql);
        return rc;
    }

    rc = so_sql_split(sql, len, so_migrate_exec, ctx);
    free(sql);

    if (rc == SO_OK) {
        params[0] = name;
        res = PQexecParams(ctx->conn,
                           "INSERT INTO schema_migrations (version)"
                           " VALUES ($1)", 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(ctx->err, ctx->errlen, "%s: recording it failed: %s",
                     path, PQerrorMessage(ctx->conn));
            rc = SO_ERR;
        }
        PQclear(res);
    }

    if (rc != SO_OK) {
        PQclear(PQexec(ctx->conn, "ROLLBACK"));
        return rc;
    }

    rc = so_simple(ctx->conn, "COMMIT", ctx->err, ctx->errlen);
    if (rc == SO_OK) {
        so_log_info("migrate", "applied %s", path);
    }

    return rc;
}


int
so_migrate(PGconn *conn, const char *dir, char *err, size_t errlen)
{
    struct dirent     **names;
    so_migrate_ctx_t    ctx;
    PGresult           *res;
    const char         *params[1];
    int                 n, i, rc, applied;

    names = NULL;
    n = 0;
    applied = 0;

    rc = so_simple(conn,
                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version text PRIMARY KEY,"
                   " applied_at timestamptz NOT NULL DEFAULT now())",
                   err, errlen);
    if (rc != SO_OK) {
        return rc;
    }

    rc = so_simple(conn, "SELECT pg_advisory_lock(" SO_MIGRATE_LOCK ")",
                   err, errlen);
    if (rc != SO_OK) {
        return rc;
    }

    n = scandir(dir, &names, so_migrate_filter, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        rc = SO_ERR;
        goto done;
    }

    ctx.conn = conn;
    ctx.err = err;
    ctx.errlen = errlen;

    for (i = 0; i < n; i++) {
        params[0] = names[i]->d_name;
        res = PQexecParams(conn,
                           "SELECT 1 FROM schema_migrations WHERE version = $1",
                           1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(err, errlen, "reading schema_migrations: %s",
                     PQerrorMessage(conn));
            PQclear(res);
            rc = SO_ERR;
            goto done;
        }

        if (PQntuples(res) == 1) {
            PQclear(res);
            continue;
        }
        PQclear(res);

        rc = so_migrate_file(&ctx, dir, names[i]->d_name);
        if (rc != SO_OK) {
            goto done;
        }
        applied++;
    }

done:

    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);

    PQclear(PQexec(conn, "SELECT pg_advisory_unlock(" SO_MIGRATE_LOCK ")"));

    return rc == SO_OK ? applied : rc;
}


/* NNNN_name.sql */
static int
so_migrate_filter(const struct dirent *d)
{
    const char  *s = d->d_name;
    size_t       len = strlen(s);
    int          i;

    for (i = 0; i < 4; i++) {
        if (!isdigit((unsigned char) s[i])) {
            return 0;
        }
    }

    return s[4] == '_' && len > 9 && strcmp(s + len - 4, ".sql") == 0;
}


static int
so_simple(PGconn *conn, const char *sql, char *err, size_t errlen)
{
    PGresult  *res;
    int        rc;

    res = PQexec(conn, sql);
    rc = SO_OK;

    if (PQresultStatus(res) != PGRES_COMMAND_OK
        && PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        snprintf(err, errlen, "%s: %s", sql, PQerrorMessage(conn));
        rc = SO_ERR;
    }

    PQclear(res);
    return rc;
}


static char *
so_read_file(const char *path, size_t *len)
{
    FILE    *f;
    char    *buf;
    long     size;

    f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }

    buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0
        && fseek(f, 0, SEEK_SET) == 0)
    {
        buf = malloc((size_t) size + 1);
        if (buf != NULL) {
            *len = fread(buf, 1, (size_t) size, f);
            buf[*len] = '\0';
        }
    }

    fclose(f);
    return buf;
}
