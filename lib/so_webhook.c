/*
 * so_webhook.c: a GitHub delivery's signature, and its repository found
 * before the signature is checked (see so_webhook.h).
 *
 * The signature is checked digit by digit before anything is decoded, so
 * the strict form of the header is decided here and not by the leniency
 * of a hex decoder; the comparison itself is so_ct_equal() over the raw
 * 32 bytes.
 */

#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_webhook.h"


/* the 32 bytes of a well-formed header: 0, or SO_EINVAL */
static int
so_webhook_sig_decode(unsigned char out[SO_SHA256_LEN], const char *header)
{
    const char  *hex;
    size_t       plen, i;

    plen = sizeof(SO_WEBHOOK_SIG_PREFIX) - 1;

    if (header == NULL || strncmp(header, SO_WEBHOOK_SIG_PREFIX, plen) != 0) {
        return SO_EINVAL;
    }

    hex = header + plen;

    for (i = 0; hex[i] != '\0'; i++) {
        if (i == 2 * SO_SHA256_LEN
            || !((hex[i] >= '0' && hex[i] <= '9')
                 || (hex[i] >= 'a' && hex[i] <= 'f')))
        {
            return SO_EINVAL;
        }
    }

    if (i != 2 * SO_SHA256_LEN) {
        return SO_EINVAL;
    }

    return so_hex_decode(out, SO_SHA256_LEN, hex);
}


int
so_webhook_sig_check(const char *header)
{
    unsigned char  got[SO_SHA256_LEN];

    return so_webhook_sig_decode(got, header);
}


int
so_webhook_verify(const char *header, const void *secret, size_t secretlen,
    const void *body, size_t len)
{
    unsigned char  want[SO_SHA256_LEN], got[SO_SHA256_LEN];
    int            rc;

    if (so_webhook_sig_decode(got, header) != SO_OK) {
        return SO_EINVAL;
    }

    so_hmac_sha256(want, secret, secretlen, body, len);

    rc = so_ct_equal(want, got, sizeof(want)) ? SO_OK : SO_EDENIED;

    so_wipe(want, sizeof(want));
    return rc;
}


/* p past JSON whitespace */
static const char *
so_webhook_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }

    return p;
}


/* p at '"': past the closing quote, or NULL when it never comes */
static const char *
so_webhook_string_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') {
            p++;

        } else if (*p == '"') {
            return p + 1;
        }
    }

    return NULL;
}


/*
 * p at a value: past its end, or NULL when it is empty or never ends.
 * Brackets are counted, not matched ("{]" passes): the full parse after
 * authentication judges the rest.
 */
static const char *
so_webhook_value_end(const char *p, const char *end)
{
    const char  *start;
    size_t       depth;

    start = p;
    depth = 0;

    while (p < end) {
        if (*p == '"') {
            p = so_webhook_string_end(p, end);
            if (p == NULL) {
                return NULL;
            }

        } else if (*p == '{' || *p == '[') {
            depth++;
            p++;

        } else if (*p == '}' || *p == ']') {
            if (depth == 0) {
                break;
            }
            depth--;
            p++;

        } else if (depth == 0
                   && (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n'
                       || *p == '\r'))
        {
            break;

        } else {
            p++;
        }

        if (depth == 0 && (p[-1] == '"' || p[-1] == '}' || p[-1] == ']')) {
            break;
        }
    }

    return depth == 0 && p > start ? p : NULL;
}


int
so_webhook_repository(json_t **out, const char *body, size_t len)
{
    static const char  name[] = "\"repository\"";
    json_error_t       jerr;
    const char        *p, *end, *key, *value, *repo, *repo_end;
    size_t             klen;

    *out = NULL;
    end = body + len;
    repo = NULL;
    repo_end = NULL;

    p = so_webhook_ws(body, end);
    if (p == end || *p != '{') {
        return SO_EINVAL;
    }

    p = so_webhook_ws(p + 1, end);

    while (p < end && *p == '"') {
        key = p;
        p = so_webhook_string_end(p, end);
        if (p == NULL) {
            return SO_EINVAL;
        }
        klen = (size_t) (p - key);

        p = so_webhook_ws(p, end);
        if (p == end || *p != ':') {
            return SO_EINVAL;
        }

        value = so_webhook_ws(p + 1, end);
        p = so_webhook_value_end(value, end);
        if (p == NULL) {
            return SO_EINVAL;
        }

        if (repo == NULL && klen == sizeof(name) - 1
            && memcmp(key, name, klen) == 0)
        {
            repo = value;
            repo_end = p;
        }

        p = so_webhook_ws(p, end);
        if (p == end || *p != ',') {
            break;
        }

        p = so_webhook_ws(p + 1, end);
        if (p == end || *p != '"') {
            return SO_EINVAL;
        }
    }

    if (p == end || *p != '}' || so_webhook_ws(p + 1, end) != end) {
        return SO_EINVAL;
    }

    if (repo != NULL && *repo == '{'
        && (size_t) (repo_end - repo) <= SO_WEBHOOK_REPO_MAX)
    {
        *out = json_loadb(repo, (size_t) (repo_end - repo),
                          JSON_REJECT_DUPLICATES, &jerr);
    }

    return SO_OK;
}
