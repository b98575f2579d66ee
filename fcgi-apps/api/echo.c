/*
 * echo.c: POST /api/v1/echo returns the JSON object it was given.
 *
 * It exists so operators (and the tests) can check the body path end to
 * end: size cap (413), malformed JSON (400), content type (415).
 */

#include "api.h"


void
api_echo(so_req_t *r)
{
    json_t  *body;

    if (so_http_read_json(r, &body) != 0) {
        return;
    }

    so_http_json(r, 200, body);
}
