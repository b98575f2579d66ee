/*
 * so_input.c: checked reading of JSON body fields, one clear 422 per
 * mistake, so that no handler answers bad input with a 500 or lets an
 * unexpected key pass silently (a typo in "pasword" must not be ignored).
 */

#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_input.h"


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
    char     msg[SO_ERRLEN];

    *out = NULL;
    *len = 0;

    v = json_object_get(body, name);
    if (v == NULL || json_is_null(v)) {
        if (!required) {
            return SO_ENOTFOUND;
        }
        snprintf(msg, sizeof(msg), "%s is required", name);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "%s must be a string", name);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    n = json_string_length(v);
    if (memchr(json_string_value(v), '\0', n) != NULL) {
        snprintf(msg, sizeof(msg), "%s must not contain NUL", name);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    chars = so_input_chars(json_string_value(v), n);
    if (chars < minchars || chars > maxchars) {
        snprintf(msg, sizeof(msg), "%s must be %zu to %zu characters long",
                 name, minchars, maxchars);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
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
    char        msg[SO_ERRLEN];

    v = json_object_get(body, name);
    if (v == NULL || json_is_null(v)) {
        if (!required) {
            return SO_ENOTFOUND;
        }
        snprintf(msg, sizeof(msg), "%s is required", name);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    n = json_is_integer(v) ? (long long) json_integer_value(v) : 0;
    if (!json_is_integer(v) || n < min || n > max) {
        snprintf(msg, sizeof(msg), "%s must be an integer from %lld to %lld",
                 name, min, max);
        so_req_error(r, 422, "validation_failed", msg, name);
        return SO_EINVAL;
    }

    *out = n;
    return SO_OK;
}
