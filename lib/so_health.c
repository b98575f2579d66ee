/*
 * so_health.c: the health handler every FastCGI app mounts
 * (GET /api/v1/health, /auth/v1/health, /hooks/health).
 *
 * 200 when PostgreSQL and Redis both answer; 503 naming the part that does
 * not.  Each check reconnects once, so a restarted server is seen at once.
 */

#include "shipoff.h"
#include "so_fcgi.h"
#include "so_log.h"


void
so_health(so_req_t *r)
{
    int  db, redis;

    db = so_pg_ping(r->pg);
    redis = so_redis_ping(r->redis);

    if (db != SO_OK) {
        so_log_warn("health", "db: %s", so_pg_errstr(r->pg));
    }

    if (redis != SO_OK) {
        so_log_warn("health", "redis: %s", so_redis_errstr(r->redis));
    }

    so_req_json(r, (db == SO_OK && redis == SO_OK) ? 200 : 503,
                json_pack("{s:s, s:s, s:s, s:s}",
                          "status", (db == SO_OK && redis == SO_OK)
                                    ? "ok" : "unavailable",
                          "db", db == SO_OK ? "ok" : "unavailable",
                          "redis", redis == SO_OK ? "ok" : "unavailable",
                          "version", SHIPOFF_VERSION));
}
