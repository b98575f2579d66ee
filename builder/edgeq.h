/*
 * edgeq.h: shipoffd's requests to the edges: route pushes and activity
 * polls, off the thread that asks (edgeq.c).
 *
 * An edge that is slow or does not answer must not stall health checks,
 * wakes and reaping, nor a build: each edge of cfg->edges has a thread of
 * its own that runs its requests in the order they were asked (so a later
 * route for a host never overtakes an earlier one on that edge), a push
 * tried up to three times.  A request to every edge is one batch; once
 * each edge answered or gave up, its handler runs in the loop (the thread
 * wakes it through the loop's eventfd).
 *
 * The build worker (a forked child: its threads are its own) pushes with
 * bld_edge_push (worker.h), which waits for the first edge that takes the
 * route; the promotion's event then has the loop push it here to every
 * edge (events.c).
 */

#ifndef BLD_EDGEQ_H
#define BLD_EDGEQ_H

#include <stddef.h>
#include <jansson.h>

#include "so_config.h"


#define BLD_EDGES_MAX  16


/* what came back from every edge */
typedef struct {
    int          rc;            /* 0: every edge did; else SO_EUNAVAIL */
    size_t       pushed;        /* the edges that took a push */
    const char  *err;           /* the first failure */
    json_t     **tables;        /* a poll: each edge's activity, in order */
    size_t       ntables;
} bld_edge_result_t;

typedef void (*bld_edge_done_pt)(void *data, const bld_edge_result_t *r);


/* once, before the first request: the loop's eventfd, written when a
   batch is done */
int bld_edgeq_init(int wakefd);

/* runs the handlers of the batches done; the loop calls it on the fd */
void bld_edgeq_done(void);

/*
 * PUTs route (NULL: DELETEs) as host to every edge; done (may be NULL)
 * runs in the loop with data once every edge is through.  0, or SO_ERR
 * (nothing asked, done not called).
 */
int bld_edgeq_push(const so_config_t *cfg, const char *host, json_t *route,
    bld_edge_done_pt done, void *data);

/* GETs every edge's activity table (scaler.c); as bld_edgeq_push */
int bld_edgeq_poll(const so_config_t *cfg, bld_edge_done_pt done, void *data);

#endif /* BLD_EDGEQ_H */
