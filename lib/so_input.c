/*
 * so_input.c: checked reading of JSON body fields, one clear 422 per
 * mistake, so that no handler answers bad input with a 500 or lets an
 * unexpected key pass silently (a typo in "pasword" must not be ignored).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_input.h"


static int so_input_field(so_req_t *r, json_t *body, const char *name,
    int required, json_t **v);
static int so_input_invalid(so_req_t *r, const char *name,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));


int
so_input_known(so_req_t *r, json_t *body, const char *const *allowed)
{
    const char  *key;
    json_t      *value;
    size_t       i;
    char         msg[SO_ERRLEN];

    json_object_foreach(body, key, value) {
        for (i = 0; allowed[i] != NULL; i++) {
            if (strcmp(key, allowed[i]) == 0) {
                break;
            }
        }

        if (allowed[i] == NULL) {
            snprintf(msg, sizeof(msg), "unknown field \"%.64s\"", key);
            so_req_error(r, 422, "unknown_field", msg, key);
            return SO_EINVAL;
        }
    }

    return SO_OK;
}


size_t
so_input_chars(const char *s, size_t len)
{
    size_t  i, n;

    n = 0;
    for (i = 0; i < len; i++) {
        /* count every byte but UTF-8 continuation bytes */
        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


int
so_input_string(so_req_t *r, json_t *body, const char *name, int required,
    size_t minchars, size_t maxchars, const char **out, size_t *len)
{
    json_t  *v;
    size_t   n, chars;
    int      rc;

    *out = NULL;
    *len = 0;

    rc = so_input_field(r, body, name, required, &v);
    if (rc != SO_OK) {
        return rc;
    }

    if (!json_is_string(v)) {
        return so_input_invalid(r, name, "%s must be a string", name);
    }

    n = json_string_length(v);
    if (memchr(json_string_value(v), '\0', n) != NULL) {
        return so_input_invalid(r, name, "%s must not contain NUL", name);
    }

    chars = so_input_chars(json_string_value(v), n);
    if (chars < minchars || chars > maxchars) {
        return so_input_invalid(r, name, "%s must be %zu to %zu characters "
                                "long", name, minchars, maxchars);
    }

    *out = json_string_value(v);
    *len = n;
    return SO_OK;
}


int
so_input_int(so_req_t *r, json_t *body, const char *name, int required,
    long long min, long long max, long long *out)
{
    json_t     *v;
    long long   n;
    int         rc;

    rc = so_input_field(r, body, name, required, &v);
    if (rc != SO_OK) {
        return rc;
    }

    n = json_is_integer(v) ? (long long) json_integer_value(v) : 0;
    if (!json_is_integer(v) || n < min || n > max) {
        return so_input_invalid(r, name, "%s must be an integer from %lld "
                                "to %lld", name, min, max);
    }

    *out = n;
    return SO_OK;
}


/* the field name of body in *v; SO_ENOTFOUND: absent (or null), optional */

static int
so_input_field(so_req_t *r, json_t *body, const char *name, int required,
    json_t **v)
{
    *v = json_object_get(body, name);

    if (*v != NULL && !json_is_null(*v)) {
        return SO_OK;
    }

    if (!required) {
        return SO_ENOTFOUND;
    }

    return so_input_invalid(r, name, "%s is required", name);
}


/* a 422 validation_failed about the field name: SO_EINVAL */

static int
so_input_invalid(so_req_t *r, const char *name, const char *fmt, ...)
{
    va_list  ap;
    char     msg[SO_ERRLEN];

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    so_req_error(r, 422, "validation_failed", msg, name);

    return SO_EINVAL;
}
