/*
 * so_jwt.c: HS256 JSON Web Tokens, signed and verified with jansson and
 * so_crypto.
 *
 * Verification refuses early and cheaply: the length is checked before
 * anything is read, the shape before anything is decoded, the header
 * before the signature, and the payload is parsed only once the signature
 * holds, so an unauthenticated client can make us parse at most one small
 * JSON header.  Each step has its own reason string for the logs.
 *
 * Nothing is lenient: base64url must be canonical, duplicate JSON keys are
 * refused, and every time claim must be a JSON integer.  Time arithmetic
 * saturates instead of overflowing, so no exp or leeway can wrap around.
 */

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_jwt.h"


#define SO_JWT_HEADER     "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define SO_JWT_JTI_BYTES  16
#define SO_JWT_SUB_MAX    20          /* digits of a 64-bit id */
#define SO_JWT_TYP_MAX    (sizeof(((so_jwt_claims_t *) NULL)->typ) - 1)

/* the decoded size of the longest token's longest part */
#define SO_JWT_PART_MAX   (SO_JWT_MAX_LEN / 4 * 3 + 2)


static int so_jwt_check_header(const unsigned char *buf, size_t len,
    const char **reason);
static int so_jwt_check_claims(so_jwt_claims_t *claims,
    const so_jwt_conf_t *conf, const unsigned char *buf, size_t len,
    const char *typ, long long now, const char **reason);
static int so_jwt_has_audience(json_t *aud, const char *expected);
static int so_jwt_get_time(json_t *payload, const char *name, int required,
    long long *out);
static int so_jwt_valid_sub(const char *sub);
static long long so_jwt_add(long long a, long long b);
static char *so_jwt_encode(const char *s, size_t len);


int
so_jwt_sign(char **out, const so_jwt_conf_t *conf, const char *sub,
    long long gen, const char *typ, long long now, long long ttl)
{
    int             rc;
    char           *header, *payload, *token, *json;
    char            jti[SO_JWT_JTI_BYTES * 4 / 3 + 2];
    char            sig[SO_SHA256_LEN * 4 / 3 + 2];
    size_t          hlen, plen, len;
    json_t         *claims;
    unsigned char   mac[SO_SHA256_LEN];

    assert(conf->keylen >= 32);

    *out = NULL;
    rc = SO_ERR;
    header = NULL;
    payload = NULL;
    json = NULL;
    claims = NULL;

    /* a token the verifier would refuse is not worth signing */
    if (!so_jwt_valid_sub(sub) || strlen(typ) > SO_JWT_TYP_MAX
        || ttl <= 0 || now > LLONG_MAX - ttl || gen < 0
        || gen > SO_JWT_GEN_MAX)
    {
        goto done;
    }

    if (so_random_token(jti, sizeof(jti), SO_JWT_JTI_BYTES) != SO_OK) {
        goto done;
    }

    claims = json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:s}",
                       "iss", conf->iss, "aud", conf->aud, "sub", sub,
                       "gen", (json_int_t) gen,
                       "typ", typ, "iat", (json_int_t) now,
                       "nbf", (json_int_t) now, "exp", (json_int_t) (now + ttl),
                       "jti", jti);
    if (claims == NULL) {
        goto done;
    }

    json = json_dumps(claims, JSON_COMPACT);
    if (json == NULL) {
        goto done;
    }

    header = so_jwt_encode(SO_JWT_HEADER, sizeof(SO_JWT_HEADER) - 1);
    payload = so_jwt_encode(json, strlen(json));
    if (header == NULL || payload == NULL) {
        goto done;
    }

    hlen = strlen(header);
    plen = strlen(payload);
    len = hlen + 1 + plen + 1 + sizeof(sig);

    token = malloc(len);
    if (token == NULL) {
        goto done;
    }

    snprintf(token, len, "%s.%s", header, payload);
    so_hmac_sha256(mac, conf->key, conf->keylen, token, hlen + 1 + plen);
    so_b64url_encode(sig, mac, sizeof(mac));
    snprintf(token + hlen + 1 + plen, len - hlen - 1 - plen, ".%s", sig);

    *out = token;
    rc = SO_OK;

done:

    json_decref(claims);
    free(json);
    free(header);
    free(payload);

    return rc;
}


int
so_jwt_verify(so_jwt_claims_t *claims, const so_jwt_conf_t *conf,
    const char *token, const char *typ, long long now, char *err,
    size_t errlen)
{
    int              rc;
    size_t           len, hlen, plen, slen, hn, pn, sn;
    const char      *dot1, *dot2, *end, *reason;
    unsigned char    hbuf[SO_JWT_PART_MAX], pbuf[SO_JWT_PART_MAX];
    unsigned char    sig[SO_JWT_PART_MAX], mac[SO_SHA256_LEN];
    so_jwt_claims_t  got;

    assert(conf->keylen >= 32 && conf->leeway >= 0);

    rc = SO_EINVAL;
    reason = "malformed";

    len = strnlen(token, SO_JWT_MAX_LEN + 1);
    if (len > SO_JWT_MAX_LEN) {
        reason = "too long";
        goto done;
    }

    end = token + len;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t) (end - dot1 - 1)) : NULL;

    if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t) (end - dot2 - 1))) {
        goto done;
    }

    hlen = (size_t) (dot1 - token);
    plen = (size_t) (dot2 - dot1 - 1);
    slen = (size_t) (end - dot2 - 1);

    hn = sizeof(hbuf);
    pn = sizeof(pbuf);
    sn = sizeof(sig);

    if (hlen == 0 || plen == 0 || slen == 0
        || so_b64url_decode(hbuf, &hn, token, hlen) != SO_OK
        || so_b64url_decode(pbuf, &pn, dot1 + 1, plen) != SO_OK
        || so_b64url_decode(sig, &sn, dot2 + 1, slen) != SO_OK)
    {
        goto done;
    }

    if (so_jwt_check_header(hbuf, hn, &reason) != SO_OK) {
        goto done;
    }

    so_hmac_sha256(mac, conf->key, conf->keylen, token, hlen + 1 + plen);

    if (sn != sizeof(mac) || !so_ct_equal(mac, sig, sizeof(mac))) {
        reason = "bad signature";
        goto done;
    }

    if (so_jwt_check_claims(&got, conf, pbuf, pn, typ, now, &reason)
        != SO_OK)
    {
        goto done;
    }

    *claims = got;
    reason = "";
    rc = SO_OK;

done:

    if (err != NULL && errlen > 0) {
        snprintf(err, errlen, "%s", reason);
    }

    return rc;
}


/*
 * alg must be exactly "HS256", typ "JWT" when present; crit names
 * extensions we would have to understand (RFC 7515, 4.1.11): we know none.
 */
static int
so_jwt_check_header(const unsigned char *buf, size_t len,
    const char **reason)
{
    int           rc;
    json_t       *header, *alg, *typ;
    json_error_t  jerr;

    rc = SO_EINVAL;
    *reason = "bad header";

    header = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES,
                        &jerr);

    if (!json_is_object(header) || json_object_get(header, "crit") != NULL) {
        goto done;
    }

    alg = json_object_get(header, "alg");
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0)
    {
        *reason = "bad algorithm";
        goto done;
    }

    typ = json_object_get(header, "typ");
    if (typ != NULL
        && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT")))
    {
        goto done;
    }

    rc = SO_OK;

done:

    json_decref(header);

    return rc;
}


static int
so_jwt_check_claims(so_jwt_claims_t *claims, const so_jwt_conf_t *conf,
    const unsigned char *buf, size_t len, const char *typ, long long now,
    const char **reason)
{
    int           rc;
    json_t       *payload, *v;
    const char   *s;
    json_error_t  jerr;

    memset(claims, 0, sizeof(*claims));
    rc = SO_EINVAL;
    *reason = "bad claims";

    payload = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES,
                         &jerr);
    if (!json_is_object(payload)) {
        goto done;
    }

    s = json_string_value(json_object_get(payload, "iss"));
    if (s == NULL || strcmp(s, conf->iss) != 0) {
        *reason = "wrong issuer";
        goto done;
    }

    if (!so_jwt_has_audience(json_object_get(payload, "aud"), conf->aud)) {
        *reason = "wrong audience";
        goto done;
    }

    s = json_string_value(json_object_get(payload, "typ"));
    if (s == NULL || strcmp(s, typ) != 0 || strlen(s) >= sizeof(claims->typ))
    {
        *reason = "wrong type";
        goto done;
    }

    snprintf(claims->typ, sizeof(claims->typ), "%s", s);

    if (so_jwt_get_time(payload, "exp", 1, &claims->exp) != SO_OK
        || so_jwt_get_time(payload, "nbf", 0, &claims->nbf) != SO_OK
        || so_jwt_get_time(payload, "iat", 0, &claims->iat) != SO_OK)
    {
        goto done;
    }

    if (now >= so_jwt_add(claims->exp, conf->leeway)) {
        *reason = "expired";
        goto done;
    }

    if (json_object_get(payload, "nbf") != NULL
        && claims->nbf > so_jwt_add(now, conf->leeway))
    {
        *reason = "not yet valid";
        goto done;
    }

    s = json_string_value(json_object_get(payload, "sub"));
    if (s == NULL || !so_jwt_valid_sub(s)) {
        goto done;
    }

    snprintf(claims->sub, sizeof(claims->sub), "%s", s);

    v = json_object_get(payload, "gen");
    if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0
                      || json_integer_value(v) > SO_JWT_GEN_MAX))
    {
        goto done;
    }

    claims->gen = v != NULL ? (long long) json_integer_value(v) : 0;

    /* every token we sign has one; a token without could not be revoked */
    v = json_object_get(payload, "jti");
    if (!json_is_string(v) || json_string_length(v) == 0
        || json_string_length(v) >= sizeof(claims->jti))
    {
        goto done;
    }

    snprintf(claims->jti, sizeof(claims->jti), "%s", json_string_value(v));
    rc = SO_OK;

done:

    json_decref(payload);

    return rc;
}


/* aud is our audience, or an array that holds it (RFC 7519, 4.1.3) */
static int
so_jwt_has_audience(json_t *aud, const char *expected)
{
    size_t       i;
    json_t      *v;
    const char  *s;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), expected) == 0;
    }

    if (!json_is_array(aud)) {
        return 0;
    }

    json_array_foreach(aud, i, v) {
        s = json_string_value(v);

        if (s != NULL && strcmp(s, expected) == 0) {
            return 1;
        }
    }

    return 0;
}


/* a NumericDate claim: absent (when optional) reads as 0 */
static int
so_jwt_get_time(json_t *payload, const char *name, int required,
    long long *out)
{
    json_t  *v;

    v = json_object_get(payload, name);

    if (v == NULL && !required) {
        *out = 0;
        return SO_OK;
    }

    if (!json_is_integer(v)) {
        return SO_EINVAL;
    }

    *out = json_integer_value(v);

    return SO_OK;
}


/* a user id: 1 to 20 decimal digits */
static int
so_jwt_valid_sub(const char *sub)
{
    size_t  len;

    len = strspn(sub, "0123456789");

    return len > 0 && len <= SO_JWT_SUB_MAX && sub[len] == '\0';
}


/* a + b for b >= 0, stopping at LLONG_MAX */
static long long
so_jwt_add(long long a, long long b)
{
    return a > LLONG_MAX - b ? LLONG_MAX : a + b;
}


/* base64url of len bytes of s, malloc()ed */
static char *
so_jwt_encode(const char *s, size_t len)
{
    char  *out;

    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out != NULL) {
        so_b64url_encode(out, s, len);
    }

    return out;
}
