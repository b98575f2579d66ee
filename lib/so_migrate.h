/*
 * so_migrate.h: the schema migration runner.
 *
 * sql/NNNN_name.sql files are applied in order of their number, each in
 * its own transaction together with its row in schema_migrations, so a
 * file is applied whole or not at all.  A file must not contain BEGIN or
 * COMMIT of its own.  Runners serialize on an advisory lock.
 */

#ifndef SO_MIGRATE_H
#define SO_MIGRATE_H

#include <stddef.h>
#include <libpq-fe.h>

/*
 * Applies what is pending in dir.  Returns the number of files applied
 * (0: nothing to do) or a negative code with a message in err such as
 * "sql/0002_users.sql:14: relation \"user\" does not exist".
 */
int so_migrate(PGconn *conn, const char *dir, char *err, size_t errlen);

/*
 * Splits SQL text into statements at top-level semicolons, aware of
 * quotes, dollar quotes and comments.  Calls fn with each statement (not
 * NUL-terminated) and the 1-based line it starts on; a non-zero return
 * from fn stops the walk and is returned.
 */
typedef int (*so_sql_stmt_pt)(void *data, const char *stmt, size_t len,
    int line);

int so_sql_split(const char *sql, size_t len, so_sql_stmt_pt fn, void *data);

#endif /* SO_MIGRATE_H */
