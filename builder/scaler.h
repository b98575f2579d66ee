/*
 * scaler.h: scale to zero and back (scaler.c), an actor of shipoffd
 * (loop.c): the edges' activity puts idle apps to sleep, shipoff:wake
 * wakes them.  It asks the supervisor (apps.h), never touches an app.
 */

#ifndef BLD_SCALER_H
#define BLD_SCALER_H

#include "bld.h"
#include "apps.h"
#include "stream.h"


typedef struct {
    bld_t         *b;
    bld_apps_t    *apps;
    bld_stream_t   wakes;       /* shipoff:wake */
    unsigned       polling:1;   /* the edges' activity is asked */
} bld_scaler_t;


void bld_scaler_init(bld_scaler_t *s, bld_t *b, bld_stream_conn_t *conn,
    bld_apps_t *apps);
void bld_scaler_reap(bld_scaler_t *s);
void bld_scaler_poll(bld_scaler_t *s);

#endif /* BLD_SCALER_H */
