/*
 * limit.c: a cap on the deliveries of one client address that are refused
 * before they authenticate (issue 11, point 7).
 *
 * An unauthenticated delivery costs us its body (up to 25 MB), a scan of
 * it, a query and an HMAC over it per candidate project.  Each refusal
 * before the signature verified (401, and 400/413/415 answered before it)
 * counts in Redis under shipoff:hookfail:<address> for
 * webhook_fail_window; an address with webhook_fail_limit refusals in the
 * window gets 429 with Retry-After before its body is read, whatever it
 * sends, until the window ends; other addresses are not affected.  A
 * delivery that verifies never counts.  The window is fixed, not
 * sliding: it starts with the first refusal (SET NX EX) and INCR keeps
 * its expiry.
 *
 * An IPv6 client counts by its /64, which one host usually holds whole.
 * Redis unreachable: no limit (deliveries still queue, as the outbox
 * lets them), logged.
 */

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hooks.h"
#include "shipoff.h"
#include "so_log.h"


#define HOOK_FAIL_PREFIX  "shipoff:hookfail:"


static void hook_fail_key(char *out, size_t len, const so_req_t *r);
static redisReply *hook_redis(so_req_t *r, int argc, const char **argv,
    int type);


/* shipoff:hookfail:<REMOTE_ADDR, an IPv6 one cut to its /64> */
static void
hook_fail_key(char *out, size_t len, const so_req_t *r)
{
    unsigned char  a6[16];
    const char    *addr;
    char           net[INET6_ADDRSTRLEN];

    addr = so_req_param(r, "REMOTE_ADDR");
    if (addr == NULL) {
        addr = "-";

    } else if (inet_pton(AF_INET6, addr, a6) == 1) {
        memset(a6 + 8, 0, 8);
        if (inet_ntop(AF_INET6, a6, net, sizeof(net)) != NULL) {
            addr = net;
        }
    }

    snprintf(out, len, HOOK_FAIL_PREFIX "%.64s", addr);
}


/* the reply when it has the type wanted, else NULL (logged) */
static redisReply *
hook_redis(so_req_t *r, int argc, const char **argv, int type)
{
    redisReply  *reply;

    reply = so_redis_command(r->redis, argc, argv, NULL);

    if (reply == NULL) {
        so_log_warn(r->path, "%s: %s", argv[0], so_redis_errstr(r->redis));
        return NULL;
    }

    if (reply->type != type && reply->type != REDIS_REPLY_NIL) {
        so_log_warn(r->path, "%s: %s", argv[0],
                    reply->type == REDIS_REPLY_ERROR ? reply->str
                    : "unexpected reply");
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


int
hook_limited(so_req_t *r)
{
    redisReply  *reply;
    const char  *argv[2];
    char         key[128], after[24];
    long long    n, ttl;

    if (r->cfg->webhook_fail_limit == 0) {
        return 0;
    }

    hook_fail_key(key, sizeof(key), r);
    argv[0] = "GET";
    argv[1] = key;

    reply = hook_redis(r, 2, argv, REDIS_REPLY_STRING);
    if (reply == NULL) {
        return 0;
    }

    n = reply->type == REDIS_REPLY_STRING ? strtoll(reply->str, NULL, 10)
                                          : 0;
    freeReplyObject(reply);

    if (n < r->cfg->webhook_fail_limit) {
        return 0;
    }

    argv[0] = "TTL";
    reply = hook_redis(r, 2, argv, REDIS_REPLY_INTEGER);
    ttl = reply != NULL && reply->type == REDIS_REPLY_INTEGER
          ? reply->integer : 0;
    freeReplyObject(reply);

    snprintf(after, sizeof(after), "%lld", ttl > 0 ? ttl : 1);
    so_req_header(r, "Retry-After", after);
    so_req_error(r, 429, "too_many_attempts",
                 "too many unauthenticated deliveries from this address: "
                 "try again later", NULL);
    return 1;
}


void
hook_refused(so_req_t *r)
{
    redisReply  *reply;
    const char  *argv[6];
    char         key[128], window[24];

    if (r->cfg->webhook_fail_limit == 0) {
        return;
    }

    hook_fail_key(key, sizeof(key), r);
    snprintf(window, sizeof(window), "%d", r->cfg->webhook_fail_window);

    argv[0] = "SET";
    argv[1] = key;
    argv[2] = "0";
    argv[3] = "EX";
    argv[4] = window;
    argv[5] = "NX";

    reply = hook_redis(r, 6, argv, REDIS_REPLY_STATUS);
    if (reply == NULL) {
        return;
    }
    freeReplyObject(reply);

    argv[0] = "INCR";
    freeReplyObject(hook_redis(r, 2, argv, REDIS_REPLY_INTEGER));
}
