
/*
 * The JSON cursor of ngx_http_shipoff_json.h.  Each reader skips leading
 * white space, consumes exactly one token or value and leaves the cursor
 * after it; on NGX_ERROR, j->pos is where the input went wrong and j->err
 * says what was expected there.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_shipoff_json.h"


/* the largest integer every JSON reader keeps exactly (RFC 8259, 6) */
#define NGX_HTTP_SHIPOFF_JSON_UINT_MAX  ((uint64_t) 9007199254740991ULL)


static void ngx_http_shipoff_json_space(ngx_http_shipoff_json_t *j);
static ngx_int_t ngx_http_shipoff_json_literal(ngx_http_shipoff_json_t *j,
    char *literal, size_t len);
static ngx_int_t ngx_http_shipoff_json_decode(ngx_http_shipoff_json_t *j,
    u_char *end, ngx_str_t *value);
static ngx_int_t ngx_http_shipoff_json_hex4(u_char *p, uint32_t *value);


void
ngx_http_shipoff_json_init(ngx_http_shipoff_json_t *j, ngx_pool_t *pool,
    u_char *start, u_char *end)
{
    j->start = start;
    j->pos = start;
    j->last = end;
    j->pool = pool;
    j->err = NULL;
}


ngx_int_t
ngx_http_shipoff_json_object(ngx_http_shipoff_json_t *j)
{
    ngx_http_shipoff_json_space(j);

    if (j->pos == j->last || *j->pos != '{') {
        j->err = "expected an object";
        return NGX_ERROR;
    }

    j->pos++;

    return NGX_OK;
}


/*
 * The next member of the object being read: NGX_OK with its key, the cursor
 * on its value; NGX_DONE after the closing brace.  *n counts the members
 * read so far and starts at 0 after ngx_http_shipoff_json_object().
 */

ngx_int_t
ngx_http_shipoff_json_member(ngx_http_shipoff_json_t *j, ngx_uint_t *n,
    ngx_str_t *key)
{
    ngx_http_shipoff_json_space(j);

    if (j->pos < j->last && *j->pos == '}') {
        j->pos++;
        return NGX_DONE;
    }

    if (*n > 0) {
        if (j->pos == j->last || *j->pos != ',') {
            j->err = "expected ',' or '}'";
            return NGX_ERROR;
        }

        j->pos++;
    }

    if (ngx_http_shipoff_json_string(j, key) != NGX_OK) {
        if (*n == 0 && j->pos < j->last && *j->pos != '"') {
            j->err = "expected a string key or '}'";
        }

        return NGX_ERROR;
    }

    ngx_http_shipoff_json_space(j);

    if (j->pos == j->last || *j->pos != ':') {
        j->err = "expected ':'";
        return NGX_ERROR;
    }

    j->pos++;
    (*n)++;

    return NGX_OK;
}


ngx_int_t
ngx_http_shipoff_json_string(ngx_http_shipoff_json_t *j, ngx_str_t *value)
{
    u_char      *p, *q;
    ngx_uint_t   escaped;

    ngx_http_shipoff_json_space(j);

    if (j->pos == j->last || *j->pos != '"') {
        j->err = "expected a string";
        return NGX_ERROR;
    }

    escaped = 0;

    for (p = j->pos + 1; p < j->last; p++) {

        if (*p == '"') {
            break;
        }

        if (*p < 0x20) {
            j->pos = p;
            j->err = "control character in a string";
            return NGX_ERROR;
        }

        if (*p >= 0x80) {
            /* strings are echoed back in answers: only valid UTF-8 */

            q = p;

            if (ngx_utf8_decode(&q, j->last - p) > 0x10ffff) {
                j->pos = p;
                j->err = "invalid UTF-8 in a string";
                return NGX_ERROR;
            }

            p = q - 1;
            continue;
        }

        if (*p == '\\') {
            escaped = 1;

            if (++p == j->last) {
                break;
            }
        }
    }

    if (p == j->last) {
        j->err = "unterminated string";
        return NGX_ERROR;
    }

    if (escaped) {
        if (ngx_http_shipoff_json_decode(j, p, value) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        value->data = j->pos + 1;
        value->len = p - value->data;
    }

    j->pos = p + 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_shipoff_json_bool(ngx_http_shipoff_json_t *j, ngx_flag_t *value)
{
    ngx_http_shipoff_json_space(j);

    if (ngx_http_shipoff_json_literal(j, "true", 4) == NGX_OK) {
        *value = 1;
        return NGX_OK;
    }

    if (ngx_http_shipoff_json_literal(j, "false", 5) == NGX_OK) {
        *value = 0;
        return NGX_OK;
    }

    j->err = "expected true or false";

    return NGX_ERROR;
}


ngx_int_t
ngx_http_shipoff_json_uint(ngx_http_shipoff_json_t *j, uint64_t *value)
{
    u_char    *p;
    uint64_t   n, d;

    ngx_http_shipoff_json_space(j);

    p = j->pos;
    n = 0;

    while (p < j->last && *p >= '0' && *p <= '9') {
        d = *p - '0';

        if (n > (NGX_HTTP_SHIPOFF_JSON_UINT_MAX - d) / 10) {
            j->err = "integer too large";
            return NGX_ERROR;
        }

        n = n * 10 + d;
        p++;
    }

    if (p == j->pos
        || (p - j->pos > 1 && *j->pos == '0')
        || (p < j->last
            && (*p == '.' || *p == 'e' || *p == 'E' || *p == '-'
                || *p == '+')))
    {
        j->err = "expected a non-negative integer";
        return NGX_ERROR;
    }

    j->pos = p;
    *value = n;

    return NGX_OK;
}


/* NGX_OK if a null was read, NGX_DECLINED (nothing read) otherwise */

ngx_int_t
ngx_http_shipoff_json_null(ngx_http_shipoff_json_t *j)
{
    ngx_http_shipoff_json_space(j);

    return ngx_http_shipoff_json_literal(j, "null", 4);
}


ngx_int_t
ngx_http_shipoff_json_end(ngx_http_shipoff_json_t *j)
{
    ngx_http_shipoff_json_space(j);

    if (j->pos != j->last) {
        j->err = "unexpected data after the document";
        return NGX_ERROR;
    }

    return NGX_OK;
}


size_t
ngx_http_shipoff_json_str_len(ngx_str_t *s)
{
    return sizeof("\"\"") - 1 + s->len
           + ngx_escape_json(NULL, s->data, s->len);
}


u_char *
ngx_http_shipoff_json_str(u_char *p, ngx_str_t *s)
{
    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, s->data, s->len);
    *p++ = '"';

    return p;
}


static void
ngx_http_shipoff_json_space(ngx_http_shipoff_json_t *j)
{
    while (j->pos < j->last) {
        switch (*j->pos) {
        case ' ':
        case '\t':
        case '\r':
        case '\n':
            j->pos++;
            break;
        default:
            return;
        }
    }
}


static ngx_int_t
ngx_http_shipoff_json_literal(ngx_http_shipoff_json_t *j, char *literal,
    size_t len)
{
    u_char  *p;

    if ((size_t) (j->last - j->pos) < len
        || ngx_strncmp(j->pos, literal, len) != 0)
    {
        return NGX_DECLINED;
    }

    p = j->pos + len;

    if (p < j->last
        && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
    {
        return NGX_DECLINED;
    }

    j->pos = p;

    return NGX_OK;
}


/* decodes the string between j->pos (its opening quote) and end */

static ngx_int_t
ngx_http_shipoff_json_decode(ngx_http_shipoff_json_t *j, u_char *end,
    ngx_str_t *value)
{
    u_char    *p, *d;
    uint32_t   cp, lo;

    /* a decoded string is never longer than its escaped form */

    d = ngx_pnalloc(j->pool, end - j->pos);
    if (d == NULL) {
        j->err = "out of memory";
        return NGX_ERROR;
    }

    value->data = d;

    for (p = j->pos + 1; p < end; p++) {

        if (*p != '\\') {
            *d++ = *p;
            continue;
        }

        p++;

        switch (*p) {
        case '"':
        case '\\':
        case '/':
            *d++ = *p;
            continue;
        case 'b':
            *d++ = '\b';
            continue;
        case 'f':
            *d++ = '\f';
            continue;
        case 'n':
            *d++ = '\n';
            continue;
        case 'r':
            *d++ = '\r';
            continue;
        case 't':
            *d++ = '\t';
            continue;
        case 'u':
            break;
        default:
            j->pos = p;
            j->err = "invalid escape";
            return NGX_ERROR;
        }

        if (end - p < 5 || ngx_http_shipoff_json_hex4(p + 1, &cp) != NGX_OK) {
            j->pos = p;
            j->err = "invalid \\u escape";
            return NGX_ERROR;
        }

        p += 4;

        if (cp >= 0xd800 && cp <= 0xdbff) {

            if (end - p < 7 || p[1] != '\\' || p[2] != 'u'
                || ngx_http_shipoff_json_hex4(p + 3, &lo) != NGX_OK
                || lo < 0xdc00 || lo > 0xdfff)
            {
                j->pos = p;
                j->err = "unpaired surrogate";
                return NGX_ERROR;
            }

            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;

        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            j->pos = p;
            j->err = "unpaired surrogate";
            return NGX_ERROR;

        } else if (cp == 0) {
            /* every string ends up in a path, a header or a variable */
            j->pos = p;
            j->err = "NUL in a string";
            return NGX_ERROR;
        }

        if (cp < 0x80) {
            *d++ = (u_char) cp;

        } else if (cp < 0x800) {
            *d++ = (u_char) (0xc0 | (cp >> 6));
            *d++ = (u_char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            *d++ = (u_char) (0xe0 | (cp >> 12));
            *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (cp & 0x3f));

        } else {
            *d++ = (u_char) (0xf0 | (cp >> 18));
            *d++ = (u_char) (0x80 | ((cp >> 12) & 0x3f));
            *d++ = (u_char) (0x80 | ((cp >> 6) & 0x3f));
            *d++ = (u_char) (0x80 | (cp & 0x3f));
        }
    }

    value->len = d - value->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_shipoff_json_hex4(u_char *p, uint32_t *value)
{
    u_char      c, ch;
    uint32_t    n;
    ngx_uint_t  i;

    n = 0;

    for (i = 0; i < 4; i++) {
        ch = p[i];

        if (ch >= '0' && ch <= '9') {
            n = n * 16 + (ch - '0');
            continue;
        }

        c = (u_char) (ch | 0x20);

        if (c >= 'a' && c <= 'f') {
            n = n * 16 + (c - 'a' + 10);
            continue;
        }

        return NGX_ERROR;
    }

    *value = n;

    return NGX_OK;
}
