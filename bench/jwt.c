/*
 * bench/jwt.c: the CPU cost of checking one access token, in process:
 * so_jwt_verify() of a token so_jwt_sign() made, repeated for a second.
 * Prints microseconds per check; bench/api.pl sets it against the time of
 * a whole request measured in the same run.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_jwt.h"


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


int
main(void)
{
    so_jwt_conf_t    conf;
    so_jwt_claims_t  claims;
    unsigned char    key[32];
    char            *token, err[SO_ERRLEN];
    long long        now, n;
    double           start, took;

    memset(key, 0x5a, sizeof(key));
    conf.key = key;
    conf.keylen = sizeof(key);
    conf.iss = "shipoff";
    conf.aud = "shipoff";
    conf.leeway = 30;

    now = (long long) time(NULL);
    if (so_jwt_sign(&token, &conf, "123456", 0, "access", now, 86400)
        != SO_OK)
    {
        fprintf(stderr, "jwt: sign failed\n");
        return 1;
    }

    n = 0;
    start = bench_now();

    do {
        if (so_jwt_verify(&claims, &conf, token, "access", now, err,
                          sizeof(err)) != SO_OK)
        {
            fprintf(stderr, "jwt: verify failed: %s\n", err);
            return 1;
        }
        n++;
        took = bench_now() - start;
    } while (took < 1.0);

    printf("%.3f\n", took * 1e6 / (double) n);

    free(token);
    return 0;
}
