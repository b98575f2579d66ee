/*
 * bld.h: shipoffd, the builder and runtime supervisor.
 */

#ifndef BLD_H
#define BLD_H

#include "so_config.h"
#include "so_pg.h"
#include "so_redis.h"

#define BLD_STREAM  "shipoff:builds"
#define BLD_GROUP   "builders"

typedef struct {
    so_config_t   cfg;
    const char   *conf_path;
    so_pg_t      *pg;
    so_redis_t   *redis;
    int           epfd;
    int           sigfd;
    int           stop;
} bld_t;

int bld_loop(bld_t *b);
int bld_migrate(const so_config_t *cfg);

#endif /* BLD_H */
