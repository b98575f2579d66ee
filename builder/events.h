/*
 * events.h: shipoff:events (events.c), an actor of shipoffd (loop.c):
 * promotions, deleted projects and detections, handed to the supervisor
 * and the builds it is given at init.
 */

#ifndef BLD_EVENTS_H
#define BLD_EVENTS_H

#include "bld.h"
#include "apps.h"
#include "builds.h"
#include "stream.h"


typedef struct {
    bld_t         *b;
    bld_apps_t    *apps;
    bld_builds_t  *builds;
    bld_stream_t   stream;      /* shipoff:events */
} bld_events_t;


void bld_events_init(bld_events_t *ev, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps, bld_builds_t *builds);
void bld_events_poll(bld_events_t *ev);

#endif /* BLD_EVENTS_H */
