/*
 * edgeq.c: every request shipoffd makes of the edges, one thread per
 * edge (see edgeq.h for why).
 *
 * A batch is one request to every edge; each edge's thread takes its
 * part from its own FIFO, and the last edge through puts the batch on
 * the done list and writes the eventfd.  A batch of bld_edge_push has a
 * caller waiting instead, for the first edge that takes it: the edges
 * still asking go on without it, and the last one frees the batch.  One
 * mutex guards the FIFOs, the batches' counts and the done list; the
 * requests run outside it.  The state is one per process (the threads
 * and the loop share it) and lives as long as the process: a thread
 * blocked on an edge is never joined, and what is still queued at exit
 * is lost (the reconciler and the next snapshot put the edges right).
 * A forked child (a build worker) has none of its parent's threads: it
 * starts with no edge, and its own threads are started as it asks.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fetch.h"
#include "so_log.h"
#include "edgeq.h"
#include "worker.h"


#define EDGE_TRIES    3
#define EDGE_POLL_MS  2000      /* a poll's: the next round asks again */


typedef struct edge_batch_s  edge_batch_t;

/* a batch's part on one edge, in that edge's FIFO */
typedef struct edge_part_s {
    edge_batch_t         *batch;
    struct edge_part_s   *next;
} edge_part_t;

struct edge_batch_s {
    bld_edge_done_pt    done;
    void               *data;
    char                host[512];
    char               *body;           /* a push; NULL: DELETE */
    long                timeout_ms;     /* one ask's */
    unsigned            poll:1;         /* a poll, not a push */
    unsigned            waited:1;       /* bld_edge_push's caller waits */
    int                 left;           /* edges not through */
    bld_edge_result_t   r;              /* its err and tables: below */
    char                err[SO_ERRLEN];
    json_t             *tables[BLD_EDGES_MAX];
    edge_part_t         parts[BLD_EDGES_MAX];   /* r.ntables of them */
    edge_batch_t       *next;           /* on the done list */
};

typedef struct {
    char             url[2048];
    pthread_cond_t   cond;
    edge_part_t     *head, *tail;
} edge_thread_t;

static struct {
    pthread_mutex_t  lock;
    pthread_cond_t   took;          /* an edge of a waited batch is through */
    edge_thread_t    edges[BLD_EDGES_MAX];
    int              nedges;
    edge_batch_t    *done, **done_tail;     /* in the order they were done */
    int              efd;           /* the loop's; -1: none (a worker) */
} edgeq = { .lock = PTHREAD_MUTEX_INITIALIZER,
            .took = PTHREAD_COND_INITIALIZER, .done_tail = &edgeq.done,
            .efd = -1 };


static void edgeq_fork_prepare(void);
static void edgeq_fork_parent(void);
static void edgeq_fork_child(void);
static int edgeq_request(const char *edge, const edge_batch_t *b,
    json_t **table, char *err, size_t errlen);
static void *edgeq_thread(void *arg);
static edge_thread_t *edgeq_edge(const char *url);
static edge_batch_t *edgeq_batch(const so_config_t *cfg, const char *host,
    json_t *route);
static int edgeq_ask(const so_config_t *cfg, edge_batch_t *b,
    bld_edge_done_pt done, void *data);
static void edgeq_through(edge_batch_t *b);
static void edgeq_free(edge_batch_t *b);


int
bld_edgeq_init(int wakefd)
{
    if (so_fetch_init() != SO_OK
        || pthread_atfork(edgeq_fork_prepare, edgeq_fork_parent,
                          edgeq_fork_child) != 0)
    {
        return SO_ERR;
    }

    edgeq.efd = wakefd;
    return SO_OK;
}


/* the state is whole when the loop forks: no thread is in the middle */
static void
edgeq_fork_prepare(void)
{
    pthread_mutex_lock(&edgeq.lock);
}


static void
edgeq_fork_parent(void)
{
    pthread_mutex_unlock(&edgeq.lock);
}


/* what was queued is the parent's: the child's threads are not there */
static void
edgeq_fork_child(void)
{
    edgeq.nedges = 0;
    edgeq.done = NULL;
    edgeq.done_tail = &edgeq.done;
    edgeq.efd = -1;
    pthread_mutex_unlock(&edgeq.lock);
}


static void
edgeq_free(edge_batch_t *b)
{
    size_t  i;

    for (i = 0; i < b->r.ntables; i++) {
        json_decref(b->tables[i]);
    }
    free(b->body);
    free(b);
}


/*
 * Under the lock: the last edge through hands the batch to the loop, or
 * frees it when nobody waits for it (no loop: a worker's, its caller
 * gone); a waiting caller hears of each edge.
 */
static void
edgeq_through(edge_batch_t *b)
{
    if (b->waited) {
        pthread_cond_broadcast(&edgeq.took);
    }

    if (--b->left > 0 || b->waited) {
        return;
    }

    if (edgeq.efd == -1) {
        edgeq_free(b);
        return;
    }

    *edgeq.done_tail = b;
    edgeq.done_tail = &b->next;

    /* a full count (EAGAIN) wakes the loop as well */
    if (eventfd_write(edgeq.efd, 1) == -1 && errno != EAGAIN) {
        so_log_error("edge", "eventfd: %s", strerror(errno));
    }
}


/*
 * b's request to the edge at url edge: a poll GETs its activity table
 * into *table, once; a push PUTs b's body (NULL: DELETEs) as b's host,
 * tried again on a transport failure or a 5xx (and logged when it
 * failed).  0, or SO_EUNAVAIL with err saying why.  Blocks up to
 * EDGE_TRIES times the timeout.
 */
static int
edgeq_request(const char *edge, const edge_batch_t *b, json_t **table,
    char *err, size_t errlen)
{
    so_fetch_req_t  req;
    so_fetch_res_t  res;
    size_t          len;
    char            url[2048 + 512];    /* an edge's, then the host */
    int             tries, ok;

    len = strlen(edge);
    snprintf(url, sizeof(url), "%s%s%s", edge,
             b->poll || (len > 0 && edge[len - 1] == '/') ? "" : "/",
             b->host);

    memset(&req, 0, sizeof(req));
    req.method = b->poll ? "GET" : b->body != NULL ? "PUT" : "DELETE";
    req.url = url;
    req.body = b->body;
    req.body_len = b->body != NULL ? strlen(b->body) : 0;
    req.content_type = b->body != NULL ? "application/json" : NULL;
    req.timeout_ms = b->timeout_ms;

    ok = 0;
    for (tries = 0; tries < (b->poll ? 1 : EDGE_TRIES) && !ok; tries++) {
        if (tries > 0) {
            usleep(200000U << tries);
        }

        if (so_fetch_request(&res, &req) != SO_OK) {
            snprintf(err, errlen, "%s", res.errstr);    /* names the URL */

        } else if (b->poll) {
            ok = res.status == 200 && so_fetch_json(table, &res) == SO_OK;
            if (!ok && res.errstr[0] != '\0') {
                snprintf(err, errlen, "%s", res.errstr);
            } else if (!ok) {
                snprintf(err, errlen, "%.200s: bad answer", url);
            }

        } else if (res.status / 100 == 2
                   || (b->body == NULL && res.status == 404))
        {
            ok = 1;

        } else {
            /* a 4xx will not change by asking again */
            snprintf(err, errlen, "%.200s: %ld %.200s", url, res.status,
                     res.body != NULL ? res.body : "");
            if (res.status / 100 == 4) {
                tries = EDGE_TRIES;
            }
        }

        so_fetch_res_free(&res);
    }

    if (!ok && !b->poll) {
        so_log_error("edge", "route %s: %s", b->host, err);
    }

    return ok ? SO_OK : SO_EUNAVAIL;
}


/* an edge's parts, in their order; each request runs outside the lock */
static void *
edgeq_thread(void *arg)
{
    edge_thread_t  *t;
    edge_part_t    *p;
    edge_batch_t   *b;
    json_t         *table;
    char            err[SO_ERRLEN];
    int             rc;

    t = arg;

    pthread_mutex_lock(&edgeq.lock);

    for ( ;; ) {
        while (t->head == NULL) {
            pthread_cond_wait(&t->cond, &edgeq.lock);
        }
        p = t->head;
        t->head = p->next;
        if (t->head == NULL) {
            t->tail = NULL;
        }
        pthread_mutex_unlock(&edgeq.lock);

        b = p->batch;
        table = NULL;
        rc = edgeq_request(t->url, b, &table, err, sizeof(err));

        pthread_mutex_lock(&edgeq.lock);

        if (rc == SO_OK) {
            b->r.pushed++;
            b->tables[p - b->parts] = table;

        } else if (b->r.rc == SO_OK) {
            b->r.rc = SO_EUNAVAIL;
            snprintf(b->err, sizeof(b->err), "%s", err);
        }

        edgeq_through(b);
    }

    return NULL;
}


/* under the lock: url's thread, started on first use; NULL past the max */
static edge_thread_t *
edgeq_edge(const char *url)
{
    edge_thread_t   *t;
    pthread_t        tid;
    sigset_t         all, old;
    int              i, rc;

    for (i = 0; i < edgeq.nedges; i++) {
        if (strcmp(edgeq.edges[i].url, url) == 0) {
            return &edgeq.edges[i];
        }
    }

    if (edgeq.nedges == BLD_EDGES_MAX) {
        return NULL;
    }

    t = &edgeq.edges[edgeq.nedges];
    snprintf(t->url, sizeof(t->url), "%s", url);
    pthread_cond_init(&t->cond, NULL);
    t->head = NULL;
    t->tail = NULL;

    /* the loop's signalfd takes every signal, never this thread */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&tid, NULL, edgeq_thread, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != 0) {
        so_log_error("edge", "%s: thread: %s", url, strerror(rc));
        pthread_cond_destroy(&t->cond);
        return NULL;
    }

    (void) pthread_detach(tid);
    edgeq.nedges++;
    return t;
}


/*
 * Queues b (NULL: SO_ERR) on every edge, for done to run with data once
 * every edge is through; an edge that cannot take it fails its part.
 */
static int
edgeq_ask(const so_config_t *cfg, edge_batch_t *b, bld_edge_done_pt done,
    void *data)
{
    edge_thread_t  *t;
    edge_part_t    *p;
    const char     *next;
    char            url[2048];
    int             len;

    if (b == NULL) {
        return SO_ERR;
    }

    b->done = done;
    b->data = data;
    b->left = 1;            /* ours, until every edge has its part */
    b->r.err = b->err;
    b->r.tables = b->tables;

    pthread_mutex_lock(&edgeq.lock);

    /* cfg->edges: URLs separated by spaces */
    next = cfg->edges != NULL ? cfg->edges : "";
    for ( ; sscanf(next, " %2047s%n", url, &len) == 1; next += len) {
        t = b->r.ntables < BLD_EDGES_MAX ? edgeq_edge(url) : NULL;
        if (t == NULL) {
            b->r.rc = SO_EUNAVAIL;
            snprintf(b->err, sizeof(b->err), "%.200s: not asked (more than "
                     "%d edges, or no thread)", url, BLD_EDGES_MAX);
            continue;
        }

        p = &b->parts[b->r.ntables++];
        p->batch = b;
        if (t->tail != NULL) {
            t->tail->next = p;
        } else {
            t->head = p;
        }
        t->tail = p;
        b->left++;
        pthread_cond_signal(&t->cond);
    }

    edgeq_through(b);
    pthread_mutex_unlock(&edgeq.lock);

    return SO_OK;
}


/* a push of route (NULL: a DELETE) as host, or a poll (host NULL); NULL
   when out of memory */
static edge_batch_t *
edgeq_batch(const so_config_t *cfg, const char *host, json_t *route)
{
    edge_batch_t  *b;

    b = calloc(1, sizeof(edge_batch_t));
    if (b == NULL) {
        return NULL;
    }

    if (route != NULL) {
        b->body = json_dumps(route, JSON_COMPACT);
        if (b->body == NULL) {
            free(b);
            return NULL;
        }
    }

    b->poll = host == NULL;
    b->timeout_ms = b->poll ? EDGE_POLL_MS : cfg->edge_timeout;
    snprintf(b->host, sizeof(b->host), "%s", host != NULL ? host : "");

    return b;
}


int
bld_edgeq_push(const so_config_t *cfg, const char *host, json_t *route,
    bld_edge_done_pt done, void *data)
{
    return edgeq_ask(cfg, edgeq_batch(cfg, host, route), done, data);
}


int
bld_edgeq_poll(const so_config_t *cfg, bld_edge_done_pt done, void *data)
{
    return edgeq_ask(cfg, edgeq_batch(cfg, NULL, NULL), done, data);
}


int
bld_edge_push(const so_config_t *cfg, const char *host, json_t *route,
    char *err, size_t errlen)
{
    edge_batch_t  *b;
    int            rc, last;

    err[0] = '\0';

    b = edgeq_batch(cfg, host, route);
    if (b == NULL) {
        return SO_ERR;
    }

    b->waited = 1;
    (void) edgeq_ask(cfg, b, NULL, NULL);

    pthread_mutex_lock(&edgeq.lock);

    while (b->left > 0 && b->r.pushed == 0) {
        pthread_cond_wait(&edgeq.took, &edgeq.lock);
    }

    snprintf(err, errlen, "%s", b->err);
    rc = (b->r.pushed > 0 || b->r.rc == SO_OK) ? SO_OK : SO_EUNAVAIL;

    b->waited = 0;
    last = b->left == 0;
    pthread_mutex_unlock(&edgeq.lock);

    if (last) {
        edgeq_free(b);
    }

    return rc;
}


void
bld_edgeq_done(void)
{
    edge_batch_t  *b, *list;

    pthread_mutex_lock(&edgeq.lock);
    list = edgeq.done;
    edgeq.done = NULL;
    edgeq.done_tail = &edgeq.done;
    pthread_mutex_unlock(&edgeq.lock);

    while (list != NULL) {
        b = list;
        list = b->next;

        if (b->done != NULL) {
            b->done(b->data, &b->r);
        }

        edgeq_free(b);
    }
}
