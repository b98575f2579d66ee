/*
 * stream.h: one Redis stream consumer of shipoffd (consumer group,
 * this process is consumer host:pid).  Builds (queue.c), events
 * (events.c) and wakes (scaler.c) each state their policy in one const
 * bld_stream_policy_t; the reading, acknowledging, NOGROUP recovery,
 * pending re-read and autoclaim are the same for all three (stream.c).
 *
 * Needs nothing of the daemon but its Redis connection and configuration:
 * tests/unit/test_stream.c runs it against a real redis-server.
 */

#ifndef BLD_STREAM_H
#define BLD_STREAM_H

#include <stdint.h>

#include "so_config.h"
#include "so_redis.h"

#define BLD_STREAM_ID_LEN  48      /* "1700000000000-0" */


/* what a handler says of the entry it was given */
typedef enum {
    BLD_STREAM_ACK = 0,         /* done with it (handled, or nothing to do) */
    BLD_STREAM_KEEP,            /* not now: pending, read again later */
    BLD_STREAM_STOP             /* not now, nor the rest of this read */
} bld_stream_rc_t;

/*
 * id: the entry's; fields: [field, value...], nil when the entry was
 * deleted or trimmed since it was delivered.  Returns a bld_stream_rc_t.
 */
typedef int (*bld_stream_handler_pt)(void *data, const char *id,
    const redisReply *fields);

typedef struct {
    const char  *stream;
    const char  *group;
    const char  *start;         /* a new group's first id: "0" every entry
                                   of the stream, "$" those added later */
    int          page;          /* entries per read */
} bld_stream_policy_t;

/* what the consumers of one process share: a Redis outage is one */
typedef struct {
    so_redis_t         *redis;
    const so_config_t  *cfg;
    const char         *consumer;   /* host:pid */
    unsigned            down:1;     /* the last command found no server */
    int64_t             retry;      /* ms: no command before */
} bld_stream_conn_t;

typedef struct {
    const bld_stream_policy_t  *policy;
    bld_stream_conn_t          *conn;
    unsigned                    group_ok:1;  /* known to exist */
    unsigned                    reread:1;    /* our pending entries are
                                                read again */
} bld_stream_t;


/*
 * Runs a command on s's connection; NULL (logged, once per outage) on a
 * Redis failure or an error reply (BUSYGROUP excepted: the group exists,
 * fine), and without asking while Redis failed less than a second ago.
 * NOGROUP forgets s's group (Redis lost its data), no other: the next
 * read creates it again.
 */
redisReply *bld_stream_cmd(bld_stream_t *s, int argc, const char **argv);

void bld_stream_init(bld_stream_t *s, const bld_stream_policy_t *policy,
    bld_stream_conn_t *conn);

/* the group at policy->start (MKSTREAM); marks our pending entries */
int bld_stream_create(bld_stream_t *s);

/*
 * Hands entries to handler, acknowledged on BLD_STREAM_ACK: first, when
 * marked, our pending entries, page by page until a short page (the mark
 * stays when Redis failed); then new ones, up to count (<= 0: the
 * policy's page) less those.  On BLD_STREAM_STOP the rest stays pending
 * and is marked, and nothing new is read.  The group is created first
 * when it is not known to exist (see bld_stream_cmd).  Returns the number
 * of entries handed out, or SO_EUNAVAIL.
 */
int bld_stream_read(bld_stream_t *s, int count, bld_stream_handler_pt h,
    void *data);

/*
 * Acknowledges the entry id, for a handler that kept it while it waited
 * for something (events.c: the edges).  SO_OK, or SO_EUNAVAIL: it stays
 * pending and is read again.
 */
int bld_stream_ack(bld_stream_t *s, const char *id);

/*
 * Marks our pending entries, and the entries other consumers left
 * pending for a lease_ttl become ours (a live consumer reads its own
 * well within: theirs is dead).  SO_OK, or SO_EUNAVAIL (none taken over).
 */
int bld_stream_autoclaim(bld_stream_t *s);

/* the entries of an XREAD(GROUP) reply on one stream, or NULL */
const redisReply *bld_stream_entries(const redisReply *reply);

/* the id of an entry [id, fields] of them, or NULL when malformed */
const char *bld_stream_entry_id(const redisReply *entry);

/* the value of key in a flat [key, value...] reply, or NULL */
const redisReply *bld_stream_kv(const redisReply *r, const char *key);

/* the value of field name as a number > 0, or 0 */
long long bld_stream_field(const redisReply *fields, const char *name);


/*
 * notify.c: the loop hears of a new entry at once.  The consumers read
 * without blocking, so the loop never waits on Redis; alone, a new entry
 * would wait for the loop's next poll.  A thread of its own, on a Redis
 * connection of its own, blocks in XREAD on every stream the loop reads
 * and, when one grows, writes wakefd, the loop's eventfd.
 *
 * Starts the thread on the streams named (their names must outlive the
 * process; BLD_NOTIFY_STREAMS at most).  SO_OK, or SO_ERR (logged): the
 * loop then finds new entries on its poll only.
 */
#define BLD_NOTIFY_STREAMS  8

int bld_notify_start(const so_config_t *cfg, int wakefd,
    const char *const *streams, int nstreams);

#endif /* BLD_STREAM_H */
