/*
 * so_webhook.c: a GitHub delivery's signature, and repository URLs reduced
 * to one comparable form (see so_webhook.h).
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


int
so_webhook_repo_key(char *out, size_t outlen, const char *url)
{
    const char  *host, *hend, *path, *p;
    size_t       hlen, plen, i;

    for (p = url; *p != '\0'; p++) {
        if ((unsigned char) *p <= 0x20 || *p == 0x7f) {
            return SO_EINVAL;
        }
    }

    p = strstr(url, "://");

    if (p != NULL) {
        host = p + 3;
        hend = host + strcspn(host, "/");
        path = hend;

    } else {
        /* scp-like: [user@]host:owner/repo */
        host = url;
        hend = host + strcspn(host, ":/");
        if (*hend != ':') {
            return SO_EINVAL;
        }
        path = hend + 1;
    }

    /* drop user[:password]@ */
    for (p = host; p < hend; p++) {
        if (*p == '@') {
            host = p + 1;
        }
    }

    hlen = (size_t) (hend - host);

    while (*path == '/') {
        path++;
    }

    plen = strlen(path);

    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }

    if (plen > 4 && memcmp(path + plen - 4, ".git", 4) == 0) {
        plen -= 4;
    }

    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }

    if (hlen == 0 || plen == 0 || hlen + 1 + plen + 1 > outlen) {
        return SO_EINVAL;
    }

    for (i = 0; i < hlen; i++) {
        out[i] = (host[i] >= 'A' && host[i] <= 'Z')
                 ? (char) (host[i] - 'A' + 'a') : host[i];
    }

    out[hlen] = '/';
    memcpy(out + hlen + 1, path, plen);
    out[hlen + 1 + plen] = '\0';

    return SO_OK;
}
