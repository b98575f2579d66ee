/*
 * so_page.c: ?limit= and ?cursor= of a list, and its next cursor (see
 * so_page.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_fetch.h"
#include "so_page.h"


static int so_page_number(const char *s, size_t len, long long *out);


/* 1 to 19 decimal digits, no sign, no space: 0 or SO_EINVAL */
static int
so_page_number(const char *s, size_t len, long long *out)
{
    long long  v;
    size_t     i;

    if (len == 0 || len > 18) {
        return SO_EINVAL;
    }

    v = 0;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return SO_EINVAL;
        }
        v = v * 10 + (s[i] - '0');
    }

    *out = v;
    return SO_OK;
}


int
so_page_parse(so_page_t *page, const char *limit, const char *cursor,
    const char **field)
{
    unsigned char  buf[SO_PAGE_CURSOR_LEN];
    size_t         len;
    long long      v;

    memset(page, 0, sizeof(so_page_t));
    page->limit = SO_PAGE_DEFAULT;
    *field = NULL;

    if (limit != NULL) {
        if (so_page_number(limit, strlen(limit), &v) != SO_OK
            || v < 1 || v > SO_PAGE_MAX)
        {
            *field = "limit";
            return SO_EINVAL;
        }
        page->limit = (int) v;
    }

    if (cursor != NULL) {
        len = sizeof(buf);
        if (so_b64url_decode(buf, &len, cursor, strlen(cursor)) != SO_OK
            || so_page_number((const char *) buf, len, &v) != SO_OK
            || v < 1)
        {
            *field = "cursor";
            return SO_EINVAL;
        }
        page->after = v;
    }

    snprintf(page->limit1, sizeof(page->limit1), "%d", page->limit + 1);
    snprintf(page->afters, sizeof(page->afters), "%lld", page->after);

    return SO_OK;
}


int
so_page_read(so_req_t *r, so_page_t *page)
{
    const char  *field;
    char         limit[16], cursor[SO_PAGE_CURSOR_LEN], msg[SO_ERRLEN];
    int          rc[2];

    rc[0] = so_fetch_form_get(limit, sizeof(limit), r->query, "limit");
    rc[1] = so_fetch_form_get(cursor, sizeof(cursor), r->query, "cursor");

    if (rc[0] != SO_OK && rc[0] != SO_ENOTFOUND) {
        field = "limit";
        goto invalid;
    }

    if (rc[1] != SO_OK && rc[1] != SO_ENOTFOUND) {
        field = "cursor";
        goto invalid;
    }

    if (so_page_parse(page, rc[0] == SO_OK ? limit : NULL,
                      rc[1] == SO_OK ? cursor : NULL, &field) == SO_OK)
    {
        return SO_OK;
    }

invalid:

    if (strcmp(field, "limit") == 0) {
        snprintf(msg, sizeof(msg), "limit must be an integer from 1 to %d",
                 SO_PAGE_MAX);
    } else {
        snprintf(msg, sizeof(msg), "cursor is not one this API gave out");
    }

    so_req_error(r, 422, "validation_failed", msg, field);
    return SO_EINVAL;
}


void
so_page_cursor(char out[SO_PAGE_CURSOR_LEN], long long last_id)
{
    char  digits[24];
    int   n;

    n = snprintf(digits, sizeof(digits), "%lld", last_id);
    so_b64url_encode(out, digits, (size_t) n);
}


json_t *
so_page_answer(const so_page_t *page, json_t *items, int nrows,
    long long last_id)
{
    char  cursor[SO_PAGE_CURSOR_LEN];

    if (nrows <= page->limit) {
        return json_pack("{s:o, s:n}", "data", items, "next_cursor");
    }

    so_page_cursor(cursor, last_id);

    return json_pack("{s:o, s:s}", "data", items, "next_cursor", cursor);
}


json_t *
so_page_rows(so_req_t *r, const PGresult *res, int n, so_page_row_pt *row)
{
    json_t  *items, *item;
    int      i;

    items = json_array();

    for (i = 0; items != NULL && i < n; i++) {
        item = row(r, res, i);
        if (item == NULL || json_array_append_new(items, item) != 0) {
            json_decref(items);
            items = NULL;
        }
    }

    return items;
}


void
so_page_respond(so_req_t *r, const so_page_t *page, const PGresult *res,
    so_page_row_pt *row)
{
    json_t  *items;
    int      n;

    n = PQntuples(res) > page->limit ? page->limit : PQntuples(res);
    items = so_page_rows(r, res, n, row);

    if (items == NULL) {
        so_req_error(r, 500, "internal", "internal error", NULL);
        return;
    }

    so_req_json(r, 200, so_page_answer(page, items, PQntuples(res),
                 n > 0 ? strtoll(PQgetvalue(res, n - 1, 0), NULL, 10) : 0));
}


void
so_page_list(so_req_t *r, const char *name, const char *sql,
    so_page_row_pt *row)
{
    so_page_t    page;
    PGresult    *res;
    char         user[24];

    if (so_page_read(r, &page) != SO_OK) {
        return;
    }

    snprintf(user, sizeof(user), "%lld", r->principal.user_id);

    res = so_req_query(r, name, sql,
                       SO_PG_PARAMS(user, page.afters, page.limit1));
    if (res == NULL) {
        return;
    }

    so_page_respond(r, &page, res, row);
    PQclear(res);
}
