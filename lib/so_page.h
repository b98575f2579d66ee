/*
 * so_page.h: one page of a list, as DESIGN.md's "API conventions" want
 * every list: ?limit= (default 20, 1 to 100) and an opaque ?cursor=, with
 * "next_cursor" in the answer (null on the last page).
 *
 * A cursor is the base64url of the last id of the page before: lists are
 * ordered by id, so "id > after" resumes exactly where the page ended even
 * when rows are added or removed in between.  Clients must not build
 * cursors; the encoding only keeps them from relying on it.
 *
 * A handler fetches limit + 1 rows: the extra row only says that there is
 * a next page.
 */

#ifndef SO_PAGE_H
#define SO_PAGE_H

#include <jansson.h>

#include "so_req.h"

#define SO_PAGE_DEFAULT     20
#define SO_PAGE_MAX         100
#define SO_PAGE_CURSOR_LEN  32          /* a cursor with its NUL */

typedef struct {
    int        limit;
    long long  after;                   /* ids greater than this; 0: all */
    char       limit1[12];              /* limit + 1, for the query */
    char       afters[24];              /* after, for the query */
} so_page_t;

/*
 * Reads ?limit= and ?cursor= of r->query.  0, or 422 validation_failed
 * naming the parameter answered and SO_EINVAL.
 */
int so_page_read(so_req_t *r, so_page_t *page);

/* the pure part of so_page_read: limit and cursor NULL when absent */
int so_page_parse(so_page_t *page, const char *limit, const char *cursor,
    const char **field);

/* the cursor that resumes after last_id */
void so_page_cursor(char out[SO_PAGE_CURSOR_LEN], long long last_id);

/*
 * {"data": items, "next_cursor": ...}: steals items; nrows is what the
 * query returned (limit + 1 means there is more), last_id the id of the
 * last item kept.
 */
json_t *so_page_answer(const so_page_t *page, json_t *items, int nrows,
    long long last_id);

/* one row of a query as an item of the list; NULL: out of memory */
typedef json_t *so_page_row_pt(so_req_t *r, const PGresult *res, int row);

/*
 * The first n rows of res as a JSON array, each item made by row(); NULL
 * when one fails (no memory).  Lists that are not pages use it too.
 */
json_t *so_page_rows(so_req_t *r, const PGresult *res, int n,
    so_page_row_pt *row);

/*
 * Answers 200 with the page res holds (the limit + 1 rows of a query, the
 * id in column 0), each item made by row(); 500 internal when one fails.
 */
void so_page_respond(so_req_t *r, const so_page_t *page, const PGresult *res,
    so_page_row_pt *row);

/*
 * A whole list handler of the caller's (r->principal) things: reads the
 * page (so_page_read), runs the statement name (sql with $1 the user, $2
 * the page's afters, $3 its limit1) and answers as so_page_respond(), or
 * the error.
 */
void so_page_list(so_req_t *r, const char *name, const char *sql,
    so_page_row_pt *row);

#endif /* SO_PAGE_H */
