/*
 * so_redis.h: a Redis connection with timeouts and one reconnect.
 * hiredis 0.14 (no RESP3).  One so_redis_t per thread.
 */

#ifndef SO_REDIS_H
#define SO_REDIS_H

#include <hiredis/hiredis.h>

typedef struct so_redis_s  so_redis_t;

so_redis_t *so_redis_new(const char *host, int port, int timeout_ms);
void so_redis_free(so_redis_t *r);

/* PING, reconnecting once; 0 or SO_EUNAVAIL */
int so_redis_ping(so_redis_t *r);

/*
 * Runs a command given as argv (binary safe), reconnecting once when the
 * connection broke.  Returns the reply (caller freeReplyObject()s it) or
 * NULL with the error in so_redis_errstr().  An error reply from the
 * server is returned as a reply of type REDIS_REPLY_ERROR.
 */
redisReply *so_redis_command(so_redis_t *r, int argc, const char **argv,
    const size_t *argvlen);

const char *so_redis_errstr(const so_redis_t *r);

#endif /* SO_REDIS_H */
