/*
 * test_jwt.c: so_jwt_verify() accepts what so_jwt_sign() makes and
 * nothing else.
 *
 * The negative corpus is built by hand (JSON, then base64url, then
 * HMAC-SHA256 with so_hmac_sha256) so that each token differs from a
 * valid one by exactly one fault; the first case of the table is that
 * valid token, which proves the others fail for their own fault only.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_jwt.h"
#include "so_test.h"


#define NOW      1700000000LL
#define KEY      "0123456789abcdef0123456789abcdef"
#define ISS_URL  "https://shipoff.test"
#define AUD_API  "shipoff-api"

#define ISS      "\"iss\":\"" ISS_URL "\""
#define AUD      "\"aud\":\"" AUD_API "\""
#define SUB      "\"sub\":\"42\""
#define TYP      "\"typ\":\"access\""
#define IAT      "\"iat\":1700000000"
#define NBF      "\"nbf\":1700000000"
#define EXP      "\"exp\":1700000900"
#define JTI      "\"jti\":\"0123456789abcdefghijkl\""

#define CLAIMS(...)  "{" __VA_ARGS__ "}"
#define GOOD     CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF "," EXP \
                        "," JTI)
#define HS256    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define HEADER(alg)  "{\"alg\":" alg ",\"typ\":\"JWT\"}"

/* what an attacker would like the signed payload to say */
#define FORGED   CLAIMS(ISS "," AUD ",\"sub\":\"1\"," TYP "," IAT "," NBF \
                        "," EXP "," JTI)


typedef enum {
    AS_IS,
    NO_SIG,                     /* h.p. */
    TWO_PARTS,                  /* h.p */
    ONE_PART,                   /* h */
    FOURTH_PART,                /* h.p.s.s */
    PADDED,                     /* h.p.s= */
    SPACE_INSIDE,               /* a space in the middle of p */
    NEWLINE_AFTER,              /* h.p.s\n */
    TAMPER_PAYLOAD,             /* p replaced by FORGED after signing */
    TAMPER_SIG,                 /* one character of s changed */
    SHORT_SIG,                  /* s cut to 40 characters: 30 bytes */
    NONCANONICAL_SIG,           /* s's unused low bits set: same bytes */
    WRONG_KEY                   /* signed with another key */
} fault_t;


static const so_jwt_conf_t  conf = {
    (const unsigned char *) KEY, sizeof(KEY) - 1, ISS_URL, AUD_API, 30
};


static char *
b64(const char *s)
{
    char  *out;

    out = malloc(4 * ((strlen(s) + 2) / 3) + 1);
    assert_non_null(out);
    so_b64url_encode(out, s, strlen(s));

    return out;
}


/* header and payload, signed, then spoiled by fault; the caller frees */
static char *
make_token(const char *header, const char *payload, fault_t fault)
{
    char           *h, *p, *s, *signing, *token;
    char            sig[64];
    size_t          len;
    unsigned char   mac[SO_SHA256_LEN];
    const char     *key;

    h = b64(header);
    p = b64(payload);
    key = fault == WRONG_KEY ? "fedcba9876543210fedcba9876543210" : KEY;

    assert_true(asprintf(&signing, "%s.%s", h, p) != -1);
    so_hmac_sha256(mac, key, strlen(key), signing, strlen(signing));
    so_b64url_encode(sig, mac, sizeof(mac));
    len = strlen(sig);

    switch (fault) {

    case TAMPER_PAYLOAD:
        free(p);
        p = b64(FORGED);
        break;

    case TAMPER_SIG:
        sig[0] = sig[0] == 'A' ? 'B' : 'A';
        break;

    case SHORT_SIG:
        sig[40] = '\0';
        break;

    case NONCANONICAL_SIG:
        /* 43 characters hold 258 bits: the last 2 must be zero */
        s = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-_", sig[len - 1]);
        sig[len - 1] = s[1];
        break;

    default:
        break;
    }

    switch (fault) {

    case NO_SIG:
        assert_true(asprintf(&token, "%s.%s.", h, p) != -1);
        break;

    case TWO_PARTS:
        assert_true(asprintf(&token, "%s.%s", h, p) != -1);
        break;

    case ONE_PART:
        assert_true(asprintf(&token, "%s", h) != -1);
        break;

    case FOURTH_PART:
        assert_true(asprintf(&token, "%s.%s.%s.%s", h, p, sig, sig) != -1);
        break;

    case PADDED:
        assert_true(asprintf(&token, "%s.%s.%s=", h, p, sig) != -1);
        break;

    case SPACE_INSIDE:
        assert_true(asprintf(&token, "%s.%.8s %s.%s", h, p, p + 8, sig)
                    != -1);
        break;

    case NEWLINE_AFTER:
        assert_true(asprintf(&token, "%s.%s.%s\n", h, p, sig) != -1);
        break;

    default:
        assert_true(asprintf(&token, "%s.%s.%s", h, p, sig) != -1);
        break;
    }

    free(signing);
    free(h);
    free(p);

    return token;
}


static void
test_round_trip(void **state)
{
    int              rc;
    char            *token, *token2;
    char             err[SO_ERRLEN];
    so_jwt_claims_t  claims;

    assert_int_equal(so_jwt_sign(&token, &conf, "42", 7, "access", NOW,
                                 900), SO_OK);
    assert_true(strlen(token) <= SO_JWT_MAX_LEN);

    memset(&claims, 0, sizeof(claims));
    rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                       sizeof(err));

    so_test_label(rc != SO_OK, "verify: %s\n", err);
    assert_int_equal(rc, SO_OK);
    assert_string_equal(err, "");
    assert_string_equal(claims.sub, "42");
    assert_string_equal(claims.typ, "access");
    assert_int_equal(claims.iat, NOW);
    assert_int_equal(claims.nbf, NOW);
    assert_int_equal(claims.exp, NOW + 900);
    assert_int_equal(strlen(claims.jti), 22);
    assert_int_equal(claims.gen, 7);

    /* the header is fixed: HS256, JWT */
    assert_memory_equal(token, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);

    /* the same access for the other typ, or once expired, is refused */
    rc = so_jwt_verify(&claims, &conf, token, "refresh", NOW, err,
                       sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "wrong type");

    rc = so_jwt_verify(&claims, &conf, token, "access", NOW + 930, err,
                       sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "expired");

    /* no error buffer is fine */
    assert_int_equal(so_jwt_verify(&claims, &conf, token, "access", NOW,
                                   NULL, 0), SO_OK);

    /* each token has its own jti */
    assert_int_equal(so_jwt_sign(&token2, &conf, "42", 7, "access", NOW,
                                 900), SO_OK);
    assert_string_not_equal(token, token2);

    free(token);
    free(token2);
}


static void
test_sign_refuses(void **state)
{
    static const struct {
        const char  *sub;
        long long    gen;
        const char  *typ;
        long long    now;
        long long    ttl;
    } cases[] = {
        { "", 0, "access", NOW, 900 },
        { "abc", 0, "access", NOW, 900 },
        { "-1", 0, "access", NOW, 900 },
        { "123456789012345678901", 0, "access", NOW, 900 },
        { "42", 0, "a-type-too-long-to-fit", NOW, 900 },
        { "42", 0, "access", NOW, 0 },
        { "42", 0, "access", NOW, -1 },
        { "42", 0, "access", LLONG_MAX - 10, 900 },
        { "42", -1, "access", NOW, 900 },
        { "42", SO_JWT_GEN_MAX + 1LL, "access", NOW, 900 },
    };
    int     rc;
    char   *token;
    size_t  i;

    for (i = 0; i < so_nelems(cases); i++) {
        token = (char *) "untouched";
        rc = so_jwt_sign(&token, &conf, cases[i].sub, cases[i].gen,
                         cases[i].typ, cases[i].now, cases[i].ttl);

        so_test_label(rc != SO_ERR, "sign case %zu\n", i);
        assert_int_equal(rc, SO_ERR);
        assert_null(token);
    }
}


static void
test_negative_corpus(void **state)
{
    static const struct {
        const char  *what;
        const char  *header;
        const char  *payload;
        fault_t      fault;
        const char  *reason;            /* NULL: accepted */
    } cases[] = {
        { "the valid token every case departs from",
          HS256, GOOD, AS_IS, NULL },

        /* the algorithm comes from us, never from the token */
        { "alg none, no signature", HEADER("\"none\""), GOOD, NO_SIG,
          "malformed" },
        { "alg none, signed", HEADER("\"none\""), GOOD, AS_IS,
          "bad algorithm" },
        { "alg None", HEADER("\"None\""), GOOD, AS_IS, "bad algorithm" },
        { "alg nOnE", HEADER("\"nOnE\""), GOOD, AS_IS, "bad algorithm" },
        { "alg NONE, no signature", HEADER("\"NONE\""), GOOD, NO_SIG,
          "malformed" },
        { "RS256 with an HMAC made with the key (HS/RS confusion)",
          HEADER("\"RS256\""), GOOD, AS_IS, "bad algorithm" },
        { "ES256", HEADER("\"ES256\""), GOOD, AS_IS, "bad algorithm" },
        { "HS512", HEADER("\"HS512\""), GOOD, AS_IS, "bad algorithm" },
        { "HS384", HEADER("\"HS384\""), GOOD, AS_IS, "bad algorithm" },
        { "hs256", HEADER("\"hs256\""), GOOD, AS_IS, "bad algorithm" },
        { "HS256 and a space", HEADER("\"HS256 \""), GOOD, AS_IS,
          "bad algorithm" },
        { "HS256 and a NUL", HEADER("\"HS256\\u0000\""), GOOD, AS_IS,
          "bad header" },
        { "alg missing", "{\"typ\":\"JWT\"}", GOOD, AS_IS,
          "bad algorithm" },
        { "alg a number", HEADER("256"), GOOD, AS_IS, "bad algorithm" },
        { "alg null", HEADER("null"), GOOD, AS_IS, "bad algorithm" },
        { "alg an array", HEADER("[\"HS256\"]"), GOOD, AS_IS,
          "bad algorithm" },
        { "alg twice", "{\"alg\":\"HS256\",\"alg\":\"none\"}", GOOD, AS_IS,
          "bad header" },
        { "typ JWS", "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", GOOD, AS_IS,
          "bad header" },
        { "typ jwt", "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", GOOD, AS_IS,
          "bad header" },
        { "typ a number", "{\"alg\":\"HS256\",\"typ\":1}", GOOD, AS_IS,
          "bad header" },
        { "crit extension", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", GOOD,
          AS_IS, "bad header" },
        { "header an array", "[\"HS256\"]", GOOD, AS_IS, "bad header" },
        { "header not JSON", "HS256", GOOD, AS_IS, "bad header" },
        { "header with trailing bytes", HS256 "x", GOOD, AS_IS,
          "bad header" },

        /* the signature */
        { "tampered payload", HS256, GOOD, TAMPER_PAYLOAD,
          "bad signature" },
        { "tampered signature", HS256, GOOD, TAMPER_SIG, "bad signature" },
        { "short signature", HS256, GOOD, SHORT_SIG, "bad signature" },
        { "another key", HS256, GOOD, WRONG_KEY, "bad signature" },
        { "non-canonical signature", HS256, GOOD, NONCANONICAL_SIG,
          "malformed" },

        /* the shape */
        { "no third part", HS256, GOOD, TWO_PARTS, "malformed" },
        { "empty third part", HS256, GOOD, NO_SIG, "malformed" },
        { "one part", HS256, GOOD, ONE_PART, "malformed" },
        { "a fourth part", HS256, GOOD, FOURTH_PART, "malformed" },
        { "padding", HS256, GOOD, PADDED, "malformed" },
        { "a space inside", HS256, GOOD, SPACE_INSIDE, "malformed" },
        { "a newline after", HS256, GOOD, NEWLINE_AFTER, "malformed" },

        /* the claims, under a valid signature */
        { "payload not JSON", HS256, "not json", AS_IS, "bad claims" },
        { "payload an array", HS256, "[" GOOD "]", AS_IS, "bad claims" },
        { "payload a string", HS256, "\"42\"", AS_IS, "bad claims" },
        { "payload with a duplicate key", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF "," EXP "," JTI
                 ",\"sub\":\"1\""), AS_IS, "bad claims" },
        { "wrong iss", HS256,
          CLAIMS("\"iss\":\"https://evil.test\"," AUD "," SUB "," TYP ","
                 IAT "," NBF "," EXP "," JTI), AS_IS, "wrong issuer" },
        { "iss missing", HS256,
          CLAIMS(AUD "," SUB "," TYP "," IAT "," NBF "," EXP "," JTI),
          AS_IS, "wrong issuer" },
        { "wrong aud", HS256,
          CLAIMS(ISS ",\"aud\":\"shipoff-apix\"," SUB "," TYP "," IAT ","
                 NBF "," EXP "," JTI), AS_IS, "wrong audience" },
        { "aud array without ours", HS256,
          CLAIMS(ISS ",\"aud\":[\"other\",\"shipoff\"]," SUB "," TYP ","
                 IAT "," NBF "," EXP "," JTI), AS_IS, "wrong audience" },
        { "aud empty array", HS256,
          CLAIMS(ISS ",\"aud\":[]," SUB "," TYP "," IAT "," NBF "," EXP
                 "," JTI), AS_IS, "wrong audience" },
        { "aud missing", HS256,
          CLAIMS(ISS "," SUB "," TYP "," IAT "," NBF "," EXP "," JTI),
          AS_IS, "wrong audience" },
        { "refresh where access is expected", HS256,
          CLAIMS(ISS "," AUD "," SUB ",\"typ\":\"refresh\"," IAT "," NBF
                 "," EXP "," JTI), AS_IS, "wrong type" },
        { "typ missing", HS256,
          CLAIMS(ISS "," AUD "," SUB "," IAT "," NBF "," EXP "," JTI),
          AS_IS, "wrong type" },
        { "expired beyond the leeway", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF
                 ",\"exp\":1699999969," JTI), AS_IS, "expired" },
        { "expired exactly at exp + leeway", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF
                 ",\"exp\":1699999970," JTI), AS_IS, "expired" },
        { "nbf in the future", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT ",\"nbf\":1700000031,"
                 EXP "," JTI), AS_IS, "not yet valid" },
        { "exp missing", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF "," JTI),
          AS_IS, "bad claims" },
        { "exp a string", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF
                 ",\"exp\":\"1700000900\"," JTI), AS_IS, "bad claims" },
        { "exp a real", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF
                 ",\"exp\":1700000900.5," JTI), AS_IS, "bad claims" },
        { "nbf a string", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT ",\"nbf\":\"0\"," EXP
                 "," JTI), AS_IS, "bad claims" },
        { "iat a string", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP ",\"iat\":\"now\"," NBF "," EXP
                 "," JTI), AS_IS, "bad claims" },
        { "sub missing", HS256,
          CLAIMS(ISS "," AUD "," TYP "," IAT "," NBF "," EXP "," JTI),
          AS_IS, "bad claims" },
        { "sub empty", HS256,
          CLAIMS(ISS "," AUD ",\"sub\":\"\"," TYP "," IAT "," NBF "," EXP
                 "," JTI), AS_IS, "bad claims" },
        { "sub not digits", HS256,
          CLAIMS(ISS "," AUD ",\"sub\":\"4a2\"," TYP "," IAT "," NBF ","
                 EXP "," JTI), AS_IS, "bad claims" },
        { "sub negative", HS256,
          CLAIMS(ISS "," AUD ",\"sub\":\"-42\"," TYP "," IAT "," NBF ","
                 EXP "," JTI), AS_IS, "bad claims" },
        { "sub a number", HS256,
          CLAIMS(ISS "," AUD ",\"sub\":42," TYP "," IAT "," NBF "," EXP ","
                 JTI), AS_IS, "bad claims" },
        { "sub of 21 digits", HS256,
          CLAIMS(ISS "," AUD ",\"sub\":\"123456789012345678901\"," TYP ","
                 IAT "," NBF "," EXP "," JTI), AS_IS, "bad claims" },
        { "jti missing", HS256,
          CLAIMS(ISS "," AUD "," SUB "," TYP "," IAT "," NBF "," EXP),
          AS_IS, "bad claims" },
        { "gen a string", HS256,
          CLAIMS(ISS "," AUD "," SUB ",\"gen\":\"0\"," TYP "," IAT ","
                 NBF "," EXP "," JTI), AS_IS, "bad claims" },
        { "gen negative", HS256,
          CLAIMS(ISS "," AUD "," SUB ",\"gen\":-1," TYP "," IAT "," NBF
                 "," EXP "," JTI), AS_IS, "bad claims" },
        { "gen past an integer", HS256,
          CLAIMS(ISS "," AUD "," SUB ",\"gen\":2147483648," TYP "," IAT
                 "," NBF "," EXP "," JTI), AS_IS, "bad claims" },
        { "gen a fraction", HS256,
          CLAIMS(ISS "," AUD "," SUB ",\"gen\":1.5," TYP "," IAT "," NBF
                 "," EXP "," JTI), AS_IS, "bad claims" },
    };
    int              rc;
    char            *token;
    char             err[SO_ERRLEN];
    size_t           i;
    so_jwt_claims_t  claims;

    for (i = 0; i < so_nelems(cases); i++) {
        token = make_token(cases[i].header, cases[i].payload, cases[i].fault);

        memset(&claims, 'x', sizeof(claims));
        err[0] = '\0';
        rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                           sizeof(err));

        if (cases[i].reason == NULL) {
            so_test_label(rc != SO_OK, "%s: refused: %s\n", cases[i].what,
                          err);
            assert_int_equal(rc, SO_OK);

        } else {
            so_test_label(rc != SO_EINVAL
                          || strcmp(err, cases[i].reason) != 0,
                          "%s: rc %d, reason \"%s\"\n", cases[i].what, rc,
                          err);
            assert_int_equal(rc, SO_EINVAL);
            assert_string_equal(err, cases[i].reason);

            /* a refused token leaves nothing behind */
            assert_int_equal(claims.sub[0], 'x');
        }

        free(token);
    }
}


static void
test_raw_tokens(void **state)
{
    static const struct {
        const char  *what;
        const char  *token;
        const char  *reason;
    } cases[] = {
        { "empty", "", "malformed" },
        { "two dots only", "..", "malformed" },
        { "three dots", "...", "malformed" },
        { "no dot", "eyJhbGciOiJIUzI1NiJ9", "malformed" },
        { "empty header", ".e30.AAAA", "malformed" },
        { "empty payload", "eyJhbGciOiJIUzI1NiJ9..AAAA", "malformed" },
        { "'+' in a part", "eyJhbGciOiJIUzI1NiJ9.e30+.AAAA", "malformed" },
        { "'/' in a part", "eyJhbGciOiJIUzI1NiJ9.e30/.AAAA", "malformed" },
        { "a non-ASCII byte", "eyJhbGciOiJIUzI1NiJ9.e30\xc3\xa9.AA",
          "malformed" },
        { "unsigned alg none, as seen in the wild",
          "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"
          ".eyJzdWIiOiIxIn0.", "malformed" },
    };
    int              rc;
    char             err[SO_ERRLEN];
    size_t           i;
    so_jwt_claims_t  claims;

    for (i = 0; i < so_nelems(cases); i++) {
        rc = so_jwt_verify(&claims, &conf, cases[i].token, "access", NOW,
                           err, sizeof(err));

        so_test_label(rc != SO_EINVAL || strcmp(err, cases[i].reason) != 0,
                      "%s: rc %d, reason \"%s\"\n", cases[i].what, rc, err);
        assert_int_equal(rc, SO_EINVAL);
        assert_string_equal(err, cases[i].reason);
    }
}


/* a valid token of exactly len characters, padded with a claim */
static char *
token_of_length(size_t len)
{
    char    *payload, *token, *pad;
    size_t   n;

    for (n = 0; n < SO_JWT_MAX_LEN; n++) {
        pad = malloc(n + 1);
        assert_non_null(pad);
        memset(pad, 'p', n);
        pad[n] = '\0';

        assert_true(asprintf(&payload, CLAIMS(ISS "," AUD "," SUB "," TYP
                                              "," IAT "," NBF "," EXP ","
                                              JTI ",\"pad\":\"%s\""), pad)
                    != -1);
        token = make_token(HS256, payload, AS_IS);
        free(payload);
        free(pad);

        if (strlen(token) == len) {
            return token;
        }

        free(token);
    }

    fail_msg("no token of length %zu", len);

    return NULL;
}


static void
test_size_limit(void **state)
{
    int              rc;
    char            *token, *big;
    char             err[SO_ERRLEN];
    size_t           i;
    so_jwt_claims_t  claims;

    token = token_of_length(SO_JWT_MAX_LEN);
    rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                       sizeof(err));
    so_test_label(rc != SO_OK, "%d characters: %s\n", SO_JWT_MAX_LEN, err);
    assert_int_equal(rc, SO_OK);
    free(token);

    token = token_of_length(SO_JWT_MAX_LEN + 1);
    rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                       sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "too long");
    free(token);

    /* 64 KB of a token: refused without being read */
    big = malloc(65536 + 1);
    assert_non_null(big);

    for (i = 0; i < 65536; i++) {
        big[i] = i % 100 == 50 ? '.' : 'A';
    }

    big[65536] = '\0';

    rc = so_jwt_verify(&claims, &conf, big, "access", NOW, err, sizeof(err));
    assert_int_equal(rc, SO_EINVAL);
    assert_string_equal(err, "too long");
    free(big);
}


static void
test_leeway(void **state)
{
    static const struct {
        long long    leeway;
        long long    now;
        long long    nbf;           /* 0: no nbf claim */
        long long    exp;
        const char  *reason;        /* NULL: accepted */
    } cases[] = {
        { 0, NOW, NOW, NOW + 1, NULL },
        { 0, NOW, NOW, NOW, "expired" },
        { 0, NOW, NOW, NOW - 1, "expired" },
        { 30, NOW, NOW, NOW - 29, NULL },
        { 30, NOW, NOW, NOW - 30, "expired" },
        { 0, NOW, NOW + 1, NOW + 900, "not yet valid" },
        { 30, NOW, NOW + 30, NOW + 900, NULL },
        { 30, NOW, NOW + 31, NOW + 900, "not yet valid" },
        { 0, NOW, 0, NOW + 900, NULL },
        { 0, NOW, 1, NOW + 900, NULL },
        /* no overflow at the ends of the clock */
        { 30, NOW, NOW, LLONG_MAX, NULL },
        { LLONG_MAX, NOW, NOW, NOW - 1000000, NULL },
        { 30, LLONG_MAX - 10, LLONG_MAX - 60, LLONG_MAX - 50, "expired" },
        { 30, LLONG_MAX - 10, LLONG_MAX - 60, LLONG_MAX - 20, NULL },
        { 30, LLONG_MAX - 10, LLONG_MAX, LLONG_MAX, NULL },
        { 30, LLONG_MIN, LLONG_MIN + 10, LLONG_MIN + 20, NULL },
    };
    int              rc;
    char            *payload, *token, nbf[48];
    char             err[SO_ERRLEN];
    size_t           i;
    so_jwt_conf_t    c;
    so_jwt_claims_t  claims;

    for (i = 0; i < so_nelems(cases); i++) {
        c = conf;
        c.leeway = cases[i].leeway;

        nbf[0] = '\0';
        if (cases[i].nbf != 0) {
            snprintf(nbf, sizeof(nbf), ",\"nbf\":%lld", cases[i].nbf);
        }

        assert_true(asprintf(&payload, CLAIMS(ISS "," AUD "," SUB "," TYP
                                              "," IAT "%s,\"exp\":%lld,"
                                              JTI), nbf, cases[i].exp)
                    != -1);
        token = make_token(HS256, payload, AS_IS);

        err[0] = '\0';
        rc = so_jwt_verify(&claims, &c, token, "access", cases[i].now, err,
                           sizeof(err));

        so_test_label(cases[i].reason ? strcmp(err, cases[i].reason) != 0
                                      : rc != SO_OK,
                      "case %zu: %s: rc %d \"%s\"\n", i, payload, rc, err);

        if (cases[i].reason == NULL) {
            assert_int_equal(rc, SO_OK);
            assert_int_equal(claims.exp, cases[i].exp);
            assert_int_equal(claims.nbf, cases[i].nbf);

        } else {
            assert_int_equal(rc, SO_EINVAL);
            assert_string_equal(err, cases[i].reason);
        }

        free(token);
        free(payload);
    }
}


static void
test_audience_array(void **state)
{
    int              rc;
    char            *token;
    char             err[SO_ERRLEN];
    so_jwt_claims_t  claims;

    token = make_token(HS256, CLAIMS(ISS ",\"aud\":[\"other\",1,\"" AUD_API
                                     "\"]," SUB "," TYP "," IAT "," EXP ","
                                     JTI), AS_IS);
    rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                       sizeof(err));

    so_test_label(rc != SO_OK, "aud array: %s\n", err);
    assert_int_equal(rc, SO_OK);
    free(token);

    /* a header without typ is a JWT too */
    token = make_token("{\"alg\":\"HS256\"}", GOOD, AS_IS);
    rc = so_jwt_verify(&claims, &conf, token, "access", NOW, err,
                       sizeof(err));

    so_test_label(rc != SO_OK, "no typ: %s\n", err);
    assert_int_equal(rc, SO_OK);
    free(token);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_sign_refuses),
        cmocka_unit_test(test_negative_corpus),
        cmocka_unit_test(test_raw_tokens),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_leeway),
        cmocka_unit_test(test_audience_array),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
