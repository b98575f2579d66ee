/*
 * so_crypto.c: the cryptographic toolbox of Shipoff, over OpenSSL 3.0's
 * libcrypto.
 *
 * OpenSSL does the cryptography (RAND_bytes, SHA-256, HMAC, AES-256-GCM,
 * CRYPTO_memcmp); the encodings are written here because OpenSSL's base64
 * pads and uses '+' and '/', and its decoder skips whitespace, while a
 * token must have exactly one spelling.  The decoders therefore refuse
 * padding, whitespace, any byte outside the alphabet and non-zero
 * trailing bits.  Hex digits are decoded without branching on their value,
 * since what is decoded is usually a key.
 *
 * SHA-256 and HMAC cannot fail short of an out-of-memory libcrypto; the
 * functions return nothing, so they abort rather than hand back a digest
 * that is not one.  Every buffer that held a plaintext or a key is wiped
 * before it is freed.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "shipoff.h"
#include "so_crypto.h"


#define SO_AEAD_NONCE_LEN  12
#define SO_AEAD_TAG_LEN    16
#define SO_AEAD_KEY_LEN    32

/* random bytes per so_random_token() round: a multiple of 3 */
#define SO_TOKEN_CHUNK     48


static int so_b64url_value(unsigned char c);
static int so_hex_value(unsigned char c);


static const char  so_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


int
so_random(void *buf, size_t n)
{
    int             chunk;
    unsigned char  *p;

    p = buf;

    while (n > 0) {
        chunk = n > INT_MAX ? INT_MAX : (int) n;

        if (RAND_bytes(p, chunk) != 1) {
            return SO_ERR;
        }

        p += chunk;
        n -= (size_t) chunk;
    }

    return SO_OK;
}


/*
 * Encoding SO_TOKEN_CHUNK bytes at a time gives the same text as encoding
 * them all at once: each chunk but the last ends on a 3-byte group.
 */
int
so_random_token(char *out, size_t outlen, size_t nbytes)
{
    int            rc;
    size_t         n, used;
    unsigned char  buf[SO_TOKEN_CHUNK];

    if (nbytes > (SIZE_MAX - 3) / 4 || outlen < (4 * nbytes + 2) / 3 + 1) {
        return SO_ERR;
    }

    rc = SO_OK;
    used = 0;
    out[0] = '\0';

    while (nbytes > 0) {
        n = nbytes < sizeof(buf) ? nbytes : sizeof(buf);

        rc = so_random(buf, n);
        if (rc != SO_OK) {
            out[0] = '\0';
            goto done;
        }

        used += so_b64url_encode(out + used, buf, n);
        nbytes -= n;
    }

done:

    so_wipe(buf, sizeof(buf));

    return rc;
}


int
so_secret_token(char *out, size_t outlen, const char *prefix, size_t nbytes,
    char hash[SO_SHA256_HEXLEN])
{
    size_t  plen;

    plen = strlen(prefix);
    if (plen >= outlen) {
        return SO_ERR;
    }

    memcpy(out, prefix, plen);
    if (so_random_token(out + plen, outlen - plen, nbytes) != SO_OK) {
        out[0] = '\0';
        return SO_ERR;
    }

    so_sha256_hex(hash, out, strlen(out));
    return SO_OK;
}


void
so_sha256_hex(char out[SO_SHA256_HEXLEN], const void *data, size_t len)
{
    unsigned char  md[SO_SHA256_LEN];

    if (EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) != 1) {
        abort();
    }

    so_hex_encode(out, md, sizeof(md));
}


void
so_hmac_sha256(unsigned char out[SO_SHA256_LEN], const void *key,
    size_t keylen, const void *data, size_t len)
{
    unsigned int  mdlen;

    if (keylen > INT_MAX
        || HMAC(EVP_sha256(), key, (int) keylen, data, len, out, &mdlen)
           == NULL
        || mdlen != SO_SHA256_LEN)
    {
        abort();
    }
}


int
so_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}


int
so_ct_streq(const char *a, const char *b)
{
    size_t  len;

    len = strlen(a);

    if (len != strlen(b)) {
        return 0;
    }

    return so_ct_equal(a, b, len);
}


/* hex must be exactly 2 * outlen digits, of either case */
int
so_hex_decode(unsigned char *out, size_t outlen, const char *hex)
{
    int     hi, lo, bad;
    size_t  i;

    if (strlen(hex) != 2 * outlen) {
        return SO_EINVAL;
    }

    /* no early exit: which digit was bad would show in the timing */
    bad = 0;

    for (i = 0; i < outlen; i++) {
        hi = so_hex_value((unsigned char) hex[2 * i]);
        lo = so_hex_value((unsigned char) hex[2 * i + 1]);

        bad |= (hi | lo) & 0x100;
        out[i] = (unsigned char) ((hi << 4) | (lo & 0x0f));
    }

    if (bad) {
        so_wipe(out, outlen);
        return SO_EINVAL;
    }

    return SO_OK;
}


void
so_hex_encode(char *out, const unsigned char *in, size_t len)
{
    size_t             i;
    static const char  digits[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }

    out[2 * len] = '\0';
}


size_t
so_b64url_encode(char *out, const void *in, size_t inlen)
{
    size_t               i, n;
    unsigned long        v;
    const unsigned char  *p;

    p = in;
    n = 0;

    for (i = 0; i + 2 < inlen; i += 3) {
        v = (unsigned long) p[i] << 16 | (unsigned long) p[i + 1] << 8
            | p[i + 2];

        out[n++] = so_b64url_alphabet[(v >> 18) & 0x3f];
        out[n++] = so_b64url_alphabet[(v >> 12) & 0x3f];
        out[n++] = so_b64url_alphabet[(v >> 6) & 0x3f];
        out[n++] = so_b64url_alphabet[v & 0x3f];
    }

    if (inlen - i == 1) {
        v = (unsigned long) p[i] << 16;

        out[n++] = so_b64url_alphabet[(v >> 18) & 0x3f];
        out[n++] = so_b64url_alphabet[(v >> 12) & 0x3f];

    } else if (inlen - i == 2) {
        v = (unsigned long) p[i] << 16 | (unsigned long) p[i + 1] << 8;

        out[n++] = so_b64url_alphabet[(v >> 18) & 0x3f];
        out[n++] = so_b64url_alphabet[(v >> 12) & 0x3f];
        out[n++] = so_b64url_alphabet[(v >> 6) & 0x3f];
    }

    out[n] = '\0';

    return n;
}


/*
 * *outlen is the room in out on entry, the bytes written on return.  A
 * trailing group of 2 or 3 characters must leave its unused low bits
 * zero: "AB" and "AC" would otherwise both decode to the same byte, and a
 * signature would have several spellings.
 */
int
so_b64url_decode(unsigned char *out, size_t *outlen, const char *in,
    size_t inlen)
{
    int            c;
    size_t         i, n, bits;
    unsigned long  v;

    if (inlen % 4 == 1 || inlen / 4 * 3 + (inlen % 4 ? inlen % 4 - 1 : 0)
                          > *outlen)
    {
        return SO_EINVAL;
    }

    n = 0;
    v = 0;
    bits = 0;

    for (i = 0; i < inlen; i++) {
        c = so_b64url_value((unsigned char) in[i]);
        if (c < 0) {
            return SO_EINVAL;
        }

        v = (v << 6 | (unsigned long) c) & 0xffffff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char) (v >> bits);
        }
    }

    if (v & ((1UL << bits) - 1)) {
        return SO_EINVAL;
    }

    *outlen = n;

    return SO_OK;
}


int
so_aead_seal(char **out, const unsigned char key[32], const void *aad,
    size_t aadlen, const void *pt, size_t ptlen)
{
    int              rc, len;
    char            *text;
    size_t           rawlen;
    unsigned char   *raw, *ct;
    EVP_CIPHER_CTX  *ctx;

    *out = NULL;
    text = NULL;
    raw = NULL;
    ctx = NULL;

    if (ptlen > INT_MAX - SO_AEAD_NONCE_LEN - SO_AEAD_TAG_LEN
        || aadlen > INT_MAX)
    {
        rc = SO_ETOOBIG;
        goto done;
    }

    rc = SO_ERR;
    rawlen = SO_AEAD_NONCE_LEN + ptlen + SO_AEAD_TAG_LEN;

    raw = malloc(rawlen);
    text = malloc(4 * ((rawlen + 2) / 3) + 1);
    ctx = EVP_CIPHER_CTX_new();

    if (raw == NULL || text == NULL || ctx == NULL) {
        goto done;
    }

    ct = raw + SO_AEAD_NONCE_LEN;

    if (so_random(raw, SO_AEAD_NONCE_LEN) != SO_OK
        || EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key, raw, NULL) != 1)
    {
        goto done;
    }

    if (aadlen > 0
        && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int) aadlen) != 1)
    {
        goto done;
    }

    if (ptlen > 0 && EVP_EncryptUpdate(ctx, ct, &len, pt, (int) ptlen) != 1)
    {
        goto done;
    }

    /* GCM is a stream mode: Final writes no byte, only the tag is left */
    if (EVP_EncryptFinal_ex(ctx, ct + ptlen, &len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SO_AEAD_TAG_LEN,
                               ct + ptlen) != 1)
    {
        goto done;
    }

    so_b64url_encode(text, raw, rawlen);

    *out = text;
    text = NULL;
    rc = SO_OK;

done:

    EVP_CIPHER_CTX_free(ctx);
    free(raw);
    free(text);

    return rc;
}


int
so_aead_open(char **out, size_t *outlen, const unsigned char key[32],
    const void *aad, size_t aadlen, const char *sealed)
{
    int              rc, len;
    char            *pt;
    size_t           rawlen, ctlen;
    unsigned char   *raw, *ct;
    EVP_CIPHER_CTX  *ctx;

    *out = NULL;
    *outlen = 0;
    pt = NULL;
    ctx = NULL;
    ctlen = 0;

    rawlen = strlen(sealed) / 4 * 3 + 2;

    raw = malloc(rawlen);
    if (raw == NULL) {
        return SO_ERR;
    }

    if (so_b64url_decode(raw, &rawlen, sealed, strlen(sealed)) != SO_OK
        || rawlen < SO_AEAD_NONCE_LEN + SO_AEAD_TAG_LEN || aadlen > INT_MAX)
    {
        rc = SO_EINVAL;
        goto done;
    }

    rc = SO_ERR;
    ct = raw + SO_AEAD_NONCE_LEN;
    ctlen = rawlen - SO_AEAD_NONCE_LEN - SO_AEAD_TAG_LEN;

    pt = malloc(ctlen + 1);
    ctx = EVP_CIPHER_CTX_new();

    if (pt == NULL || ctx == NULL
        || EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key, raw, NULL) != 1)
    {
        goto done;
    }

    if (aadlen > 0
        && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int) aadlen) != 1)
    {
        goto done;
    }

    if (ctlen > 0
        && EVP_DecryptUpdate(ctx, (unsigned char *) pt, &len, ct,
                             (int) ctlen) != 1)
    {
        goto done;
    }

    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SO_AEAD_TAG_LEN,
                            ct + ctlen) != 1)
    {
        goto done;
    }

    /* the tag is checked here; on mismatch nothing decrypted is kept */
    if (EVP_DecryptFinal_ex(ctx, (unsigned char *) pt + ctlen, &len) != 1) {
        rc = SO_EINVAL;
        goto done;
    }

    pt[ctlen] = '\0';
    *out = pt;
    *outlen = ctlen;
    pt = NULL;
    rc = SO_OK;

done:

    if (pt != NULL) {
        so_wipe(pt, ctlen + 1);
        free(pt);
    }

    EVP_CIPHER_CTX_free(ctx);
    free(raw);

    return rc;
}


void
so_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0) {
        OPENSSL_cleanse(p, n);
    }
}


/* 0..63, or -1: no padding, no whitespace, no '+' or '/' */
static int
so_b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


/* 0..15, or a value with bit 0x100 set; comparisons, no branches */
static int
so_hex_value(unsigned char c)
{
    int  digit, alpha, is_digit, is_alpha;

    digit = c - '0';
    alpha = (c | 0x20) - 'a' + 10;

    is_digit = (digit >= 0) & (digit <= 9);
    is_alpha = (alpha >= 10) & (alpha <= 15);

    return (digit & -is_digit) | (alpha & -is_alpha)
           | ((1 - (is_digit | is_alpha)) << 8);
}

