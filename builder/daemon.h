/*
 * daemon.h: shipoffd's loop (loop.c) and the actors it owns, each with
 * its own state, header and files:
 *
 *   builds     builds.h: the claim, the build children, the reconciler
 *   apps       apps.h: the supervisor of dynamic apps
 *   scaler     scaler.h: scale to zero (the edges' activity) and wakes
 *   events     events.h: promotions, deletions, detections
 *
 * The loop owns epoll, the Redis connection the three stream consumers
 * share (stream.c), the drain and every timer; it calls each actor when
 * its time comes.  The streams are read when notify.c says one grew,
 * after any other event, and every BLD_TICK_MS.  An actor is given its collaborators at init, never the
 * daemon, so no actor calls back into the loop or into one that calls it
 * (scripts/callgraph checks it).  Shared services (configuration,
 * PostgreSQL, Redis) are bld_t's (bld.h).
 *
 * PostgreSQL is the truth, Redis only carries the news: a stream entry is
 * acknowledged only once what it asked for is durable in the database, and
 * every claim is a conditional UPDATE, so a duplicate delivery is a no-op.
 */

#ifndef BLD_DAEMON_H
#define BLD_DAEMON_H

#include <stdint.h>

#include "bld.h"
#include "apps.h"
#include "builds.h"
#include "events.h"
#include "scaler.h"
#include "stream.h"


#define BLD_DRAIN_MS  3000          /* on stop: running builds may finish */


typedef struct {
    bld_t              *b;
    char                consumer[BLD_CONSUMER_LEN];  /* host:pid */
    bld_stream_conn_t   conn;       /* Redis, for the three consumers */
    unsigned            draining:1; /* stopping: claim nothing more */

    int64_t             next_heartbeat;  /* ms, monotonic */
    int64_t             next_reconcile;
    int64_t             next_reap;
    int64_t             next_poll;  /* the streams read again; 0: now */

    bld_builds_t        builds;
    bld_apps_t          apps;
    bld_scaler_t        scaler;
    bld_events_t        events;
} bld_daemon_t;

#endif /* BLD_DAEMON_H */
