/*
 * so_redis.c: one blocking hiredis connection with a connect and command
 * timeout, reconnected once when it broke.
 *
 * hiredis leaves a context unusable after any I/O or protocol error, so
 * the context is dropped and the command retried once on a new one.  The
 * retry is the caller's bargain: a command that reached the server before
 * the connection broke may run twice, which the Shipoff queues tolerate
 * (a job is claimed in PostgreSQL).  A host starting with '/' is a Unix
 * socket path.
 */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "shipoff.h"
#include "so_log.h"
#include "so_redis.h"


struct so_redis_s {
    redisContext  *ctx;
    char          *host;
    int            port;
    char           name[112];   /* "host:port" or the socket's path */
    int            timeout_ms;
    char           errstr[SO_ERRLEN];
};


static int so_redis_connect(so_redis_t *r);
static void so_redis_disconnect(so_redis_t *r);


so_redis_t *
so_redis_new(const char *host, int port, int timeout_ms)
{
    so_redis_t  *r;

    assert(host != NULL && timeout_ms > 0);

    r = calloc(1, sizeof(so_redis_t));
    if (r == NULL) {
        return NULL;
    }

    r->host = strdup(host);
    if (r->host == NULL) {
        free(r);
        return NULL;
    }

    r->port = port;
    r->timeout_ms = timeout_ms;

    if (host[0] == '/') {
        snprintf(r->name, sizeof(r->name), "%s", host);
    } else {
        snprintf(r->name, sizeof(r->name), "%s:%d", host, port);
    }

    return r;
}


void
so_redis_free(so_redis_t *r)
{
    if (r == NULL) {
        return;
    }

    so_redis_disconnect(r);
    free(r->host);
    free(r);
}


int
so_redis_ping(so_redis_t *r)
{
    int          rc;
    redisReply  *reply;
    const char  *argv[] = { "PING" };

    reply = so_redis_command(r, 1, argv, NULL);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0)
    {
        rc = SO_OK;

    } else {
        /* e.g. "NOAUTH Authentication required" or "LOADING ..." */
        snprintf(r->errstr, sizeof(r->errstr), "redis %s: PING: %s",
                 r->name,
                 reply->type == REDIS_REPLY_ERROR
                 ? reply->str : "unexpected reply");
        rc = SO_EUNAVAIL;
    }

    freeReplyObject(reply);

    return rc;
}


redisReply *
so_redis_command(so_redis_t *r, int argc, const char **argv,
    const size_t *argvlen)
{
    int          attempt;
    redisReply  *reply;

    r->errstr[0] = '\0';

    for (attempt = 0; attempt < 2; attempt++) {

        /* a server that refused a new connection will refuse another */
        if (r->ctx == NULL && so_redis_connect(r) != SO_OK) {
            return NULL;
        }

        reply = redisCommandArgv(r->ctx, argc, argv, argvlen);

        if (reply != NULL && r->ctx->err == 0) {
            r->errstr[0] = '\0';
            return reply;
        }

        if (r->ctx->err == REDIS_ERR_IO
            && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
            /* hiredis reports a timeout as "Resource temporarily ..." */
            snprintf(r->errstr, sizeof(r->errstr),
                     "redis %s: no reply within %d ms", r->name,
                     r->timeout_ms);

        } else {
            snprintf(r->errstr, sizeof(r->errstr), "redis %s: %s",
                     r->name,
                     r->ctx->err ? r->ctx->errstr : "no reply");
        }

        freeReplyObject(reply);
        so_redis_disconnect(r);

        if (attempt == 0) {
            so_log_warn(NULL, "%s, reconnecting", r->errstr);
        }
    }

    return NULL;
}


const char *
so_redis_errstr(const so_redis_t *r)
{
    return r->errstr;
}


static int
so_redis_connect(so_redis_t *r)
{
    struct timeval  tv;

    tv.tv_sec = r->timeout_ms / 1000;
    tv.tv_usec = (r->timeout_ms % 1000) * 1000;

    if (r->host[0] == '/') {
        r->ctx = redisConnectUnixWithTimeout(r->host, tv);

    } else {
        r->ctx = redisConnectWithTimeout(r->host, r->port, tv);
    }

    if (r->ctx == NULL) {
        snprintf(r->errstr, sizeof(r->errstr), "redis %s: out of memory",
                 r->name);
        return SO_EUNAVAIL;
    }

    if (r->ctx->err == 0 && redisSetTimeout(r->ctx, tv) == REDIS_OK
        && r->host[0] != '/')
    {
        /* a dead peer is noticed even on an idle connection (TCP only:
         * a Unix socket refuses SO_KEEPALIVE) */
        redisEnableKeepAlive(r->ctx);
    }

    if (r->ctx->err != 0) {
        snprintf(r->errstr, sizeof(r->errstr), "redis %s: %s", r->name,
                 r->ctx->errstr);
        so_redis_disconnect(r);
        return SO_EUNAVAIL;
    }

    return SO_OK;
}


static void
so_redis_disconnect(so_redis_t *r)
{
    if (r->ctx != NULL) {
        redisFree(r->ctx);
        r->ctx = NULL;
    }
}
