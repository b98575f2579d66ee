/*
 * so_input.h: checked reading of JSON body fields.  Each function answers
 * the request itself on bad input (422 unknown_field or validation_failed,
 * naming the field) and returns a negative code; the handler just returns.
 */

#ifndef SO_INPUT_H
#define SO_INPUT_H

#include <stddef.h>
#include <jansson.h>

#include "so_req.h"

/* every key of body is in allowed (NULL-ended), else 422 unknown_field */
int so_input_known(so_req_t *r, json_t *body, const char *const *allowed);

/* the number of UTF-8 characters in s[0 .. len) */
size_t so_input_chars(const char *s, size_t len);

/*
 * The string field name, minchars to maxchars characters, no NUL: 0 with
 * *out a borrowed pointer into body and *len its bytes.  Absent (or null):
 * 422 when required, else SO_ENOTFOUND without an answer.
 */
int so_input_string(so_req_t *r, json_t *body, const char *name, int required,
    size_t minchars, size_t maxchars, const char **out, size_t *len);

/* the integer field name in min .. max; absent as for so_input_string */
int so_input_int(so_req_t *r, json_t *body, const char *name, int required,
    long long min, long long max, long long *out);

#endif /* SO_INPUT_H */
