/*
 * so_jwt.h: JSON Web Tokens, HS256 only.
 *
 * The algorithm is pinned by the caller's configuration and never taken
 * from the token: a header whose alg is not exactly "HS256" is rejected
 * (alg:none, RS256, HS512...).  Verification checks, in order: size, shape
 * (three base64url parts), header (alg, typ "JWT"), signature (constant
 * time), then the claims iss, aud, typ, exp and nbf.
 */

#ifndef SO_JWT_H
#define SO_JWT_H

#include <stddef.h>

#define SO_JWT_MAX_LEN  4096        /* longer tokens are refused unread */
#define SO_JWT_GEN_MAX  2147483647  /* users.token_gen is an integer */

typedef struct {
    const unsigned char  *key;       /* >= 32 bytes */
    size_t                keylen;
    const char           *iss;
    const char           *aud;
    long long             leeway;    /* seconds of clock skew allowed */
} so_jwt_conf_t;

typedef struct {
    char       sub[64];              /* the user id, decimal */
    char       typ[16];              /* "access" */
    char       jti[48];
    long long  gen;                  /* the user's token generation; 0 when
                                        absent (tokens made before it) */
    long long  iat;
    long long  nbf;
    long long  exp;
} so_jwt_claims_t;

/*
 * Signs {iss, aud, sub, gen, typ, iat: now, nbf: now, exp: now + ttl, jti:
 * random} and writes a malloc()ed token to *out.  gen is the subject's
 * token generation (0 .. SO_JWT_GEN_MAX), which the caller checks on use.
 * 0 or SO_ERR.
 */
int so_jwt_sign(char **out, const so_jwt_conf_t *conf, const char *sub,
    long long gen, const char *typ, long long now, long long ttl);

/*
 * Verifies token as of now and expects typ.  0 with *claims filled, or
 * SO_EINVAL with a short reason in err ("expired", "bad signature"...);
 * the reason is for logs, the client only ever sees "invalid token".
 */
int so_jwt_verify(so_jwt_claims_t *claims, const so_jwt_conf_t *conf,
    const char *token, const char *typ, long long now, char *err,
    size_t errlen);

#endif /* SO_JWT_H */
