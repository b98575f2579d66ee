/*
 * so_account.c: account rules that more than one app applies.  Emails are
 * kept to printable ASCII so that our lower-casing and PostgreSQL's
 * lower() (the users_email_normalised CHECK) agree whatever the database
 * locale: a mismatch would turn a user's input into a 500.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shipoff.h"
#include "so_account.h"
#include "so_input.h"


static int
so_account_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}


int
so_account_email(char out[SO_EMAIL_MAX_LEN + 1], const char *in, size_t len)
{
    const char  *at, *domain;
    size_t       i, n;
    char         c;

    while (len > 0 && so_account_space(in[0])) {
        in++;
        len--;
    }
    while (len > 0 && so_account_space(in[len - 1])) {
        len--;
    }

    if (len < 3 || len > SO_EMAIL_MAX_LEN) {
        return SO_EINVAL;
    }

    for (i = 0; i < len; i++) {
        c = in[i];
        if (c <= ' ' || c >= 0x7f) {
            return SO_EINVAL;
        }
        out[i] = (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
    }
    out[len] = '\0';

    at = strchr(out, '@');
    if (at == NULL || at == out || strchr(at + 1, '@') != NULL) {
        return SO_EINVAL;
    }

    domain = at + 1;
    n = strlen(domain);
    if (n < 3 || domain[0] == '.' || domain[n - 1] == '.'
        || strchr(domain, '.') == NULL || strstr(domain, "..") != NULL)
    {
        return SO_EINVAL;
    }

    return SO_OK;
}


int
so_account_read_email(so_req_t *r, json_t *body,
    char out[SO_EMAIL_MAX_LEN + 1])
{
    const char  *s;
    size_t       len;
    int          rc;

    rc = so_input_string(r, body, "email", 1, 1, 4 * SO_EMAIL_MAX_LEN, &s,
                         &len);
    if (rc != SO_OK) {
        return SO_EINVAL;
    }

    if (so_account_email(out, s, len) != SO_OK) {
        so_req_error(r, 422, "validation_failed",
                     "email must look like name@example.com", "email");
        return SO_EINVAL;
    }

    return SO_OK;
}


int
so_account_read_credentials(so_req_t *r, json_t **body,
    const char *const *fields, char email[SO_EMAIL_MAX_LEN + 1],
    const char **pw, size_t *pwlen)
{
    if (so_req_read_json(r, body) != 0
        || so_input_known(r, *body, fields) != SO_OK
        || so_account_read_email(r, *body, email) != SO_OK
        || so_input_string(r, *body, "password", 1, 0, (size_t) -1, pw,
                           pwlen) != SO_OK)
    {
        return SO_EINVAL;
    }

    return SO_OK;
}


int
so_account_read_name(so_req_t *r, json_t *body, const char *absent,
    const char **name)
{
    size_t  len;
    int     rc;

    rc = so_input_string(r, body, "name", 0, 0, SO_NAME_MAX_CHARS, name,
                         &len);
    if (rc == SO_EINVAL) {
        return SO_EINVAL;
    }
    if (rc == SO_ENOTFOUND) {
        *name = absent;
    }

    return SO_OK;
}


int
so_account_password_ok(so_req_t *r, const char *field, const char *pw,
    size_t len, const char *email)
{
    const char  *why;
    char         msg[SO_ERRLEN];

    why = NULL;

    if (len > SO_PASSWORD_MAX_LEN) {
        why = "is longer than 1024 bytes";

    } else if (so_input_chars(pw, len) < SO_PASSWORD_MIN_CHARS) {
        why = "is shorter than 8 characters";

    } else if (email != NULL && strcasecmp(pw, email) == 0) {
        why = "is the email address";
    }

    if (why != NULL) {
        snprintf(msg, sizeof(msg), "the password %s", why);
        so_req_error(r, 422, "weak_password", msg, field);
        return SO_EINVAL;
    }

    return SO_OK;
}


void
so_account_argon2(so_argon2_t *a, const so_config_t *cfg)
{
    a->m_kib = (uint32_t) cfg->argon2_m_kib;
    a->t = (uint32_t) cfg->argon2_t;
    a->p = (uint32_t) cfg->argon2_p;
}


json_t *
so_account_user_json(const PGresult *res, int row, int col)
{
    return json_pack("{s:I, s:s, s:s, s:s}",
                     "id", (json_int_t) strtoll(PQgetvalue(res, row, col),
                                                NULL, 10),
                     "email", PQgetvalue(res, row, col + 1),
                     "name", PQgetvalue(res, row, col + 2),
                     "created_at", PQgetvalue(res, row, col + 3));
}

