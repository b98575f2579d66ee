/*
 * stream.c: a Redis stream consumer (stream.h), the one way shipoffd
 * reads builds, events and wakes.
 *
 * Redis is polled from the loop's tick without BLOCK, so a read never
 * holds up signals, child exits or cancels.  An entry is acknowledged
 * once its handler is done with it; one it keeps stays in our pending
 * list and is read again when the owner marks the list (a build slot
 * freed, the reconciler's round): a failure of PostgreSQL, an edge or
 * Redis loses nothing.  Handlers are idempotent, so an entry read twice
 * (an acknowledgement lost, an entry taken over) does no harm.
 *
 * Redis restarted without its data answers NOGROUP: the consumer forgets
 * its own group, no other, and creates it again at its next read.  A
 * failed command is logged once per outage and Redis is left alone for a
 * second, for every consumer of the connection.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_clock.h"
#include "so_log.h"
#include "stream.h"


#define BLD_STREAM_RETRY_MS   1000    /* after a failure of Redis */
#define BLD_STREAM_CLAIMS     16      /* XAUTOCLAIM rounds, 100 each */


static int bld_stream_deliver(bld_stream_t *s, const char *start, int count,
    bld_stream_handler_pt h, void *data, char *last, int *stopped);


redisReply *
bld_stream_cmd(bld_stream_t *s, int argc, const char **argv)
{
    redisReply         *reply;
    bld_stream_conn_t  *c;

    c = s->conn;

    if (c->down && so_now_ms() < c->retry) {
        return NULL;
    }

    reply = so_redis_command(c->redis, argc, argv, NULL);
    if (reply == NULL) {
        if (!c->down) {
            so_log_warn("stream", "%s: %s", argv[0],
                        so_redis_errstr(c->redis));
        }
        c->down = 1;
        c->retry = so_now_ms() + BLD_STREAM_RETRY_MS;
        return NULL;
    }

    if (c->down) {
        so_log_info("stream", "redis is back");
        c->down = 0;
    }

    if (reply->type == REDIS_REPLY_ERROR
        && strncmp(reply->str, "BUSYGROUP", 9) != 0)
    {
        if (strncmp(reply->str, "NOGROUP", 7) == 0) {
            s->group_ok = 0;
        }
        so_log_warn("stream", "%s: %s", argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }

    return reply;
}


void
bld_stream_init(bld_stream_t *s, const bld_stream_policy_t *policy,
    bld_stream_conn_t *conn)
{
    s->policy = policy;
    s->conn = conn;
    s->group_ok = 0;
    s->reread = 0;
}


int
bld_stream_create(bld_stream_t *s)
{
    redisReply  *reply;
    const char  *argv[] = { "XGROUP", "CREATE", s->policy->stream,
                            s->policy->group, s->policy->start,
                            "MKSTREAM" };

    reply = bld_stream_cmd(s, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    freeReplyObject(reply);
    s->group_ok = 1;
    s->reread = 1;

    return SO_OK;
}


/*
 * One XREADGROUP from start (">" or an id of our pending list), each
 * entry to h.  Returns the number of entries read (last: the id of the
 * last one) or SO_EUNAVAIL; *stopped when h said BLD_STREAM_STOP.
 */
static int
bld_stream_deliver(bld_stream_t *s, const char *start, int count,
    bld_stream_handler_pt h, void *data, char *last, int *stopped)
{
    redisReply        *reply;
    const redisReply  *entries;
    const char        *eid;
    char               counts[16];
    const char        *argv[] = { "XREADGROUP", "GROUP", s->policy->group,
                                  s->conn->consumer, "COUNT", counts,
                                  "STREAMS", s->policy->stream, start };
    size_t             i;
    int                n;

    *stopped = 0;

    if (!s->group_ok && bld_stream_create(s) != SO_OK) {
        return SO_EUNAVAIL;
    }

    snprintf(counts, sizeof(counts), "%d", count);

    reply = bld_stream_cmd(s, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    n = 0;
    entries = bld_stream_entries(reply);

    for (i = 0; entries != NULL && i < entries->elements; i++) {
        eid = bld_stream_entry_id(entries->element[i]);
        if (eid == NULL) {
            continue;
        }

        snprintf(last, BLD_STREAM_ID_LEN, "%s", eid);
        n++;

        switch (h(data, eid, entries->element[i]->element[1])) {
        case BLD_STREAM_ACK:
            /* when it fails the entry is read again: handlers are
               idempotent */
            (void) bld_stream_ack(s, eid);
            break;

        case BLD_STREAM_STOP:
            s->reread = 1;
            *stopped = 1;
            goto done;

        default:
            break;
        }
    }

done:

    freeReplyObject(reply);
    return n;
}


int
bld_stream_ack(bld_stream_t *s, const char *id)
{
    redisReply  *reply;
    const char  *argv[] = { "XACK", s->policy->stream, s->policy->group,
                            id };

    reply = bld_stream_cmd(s, (int) so_nelems(argv), argv);
    if (reply == NULL) {
        return SO_EUNAVAIL;
    }

    freeReplyObject(reply);
    return SO_OK;
}


int
bld_stream_read(bld_stream_t *s, int count, bld_stream_handler_pt h,
    void *data)
{
    char  last[BLD_STREAM_ID_LEN];
    int   n, total, stopped;

    total = 0;
    stopped = 0;
    count = count > 0 ? count : s->policy->page;

    if (s->reread) {
        s->reread = 0;
        snprintf(last, sizeof(last), "0");

        do {
            n = bld_stream_deliver(s, last, s->policy->page, h, data, last,
                                   &stopped);
            total += n > 0 ? n : 0;
        } while (n == s->policy->page && !stopped);

        if (n < 0) {
            s->reread = 1;
            return SO_EUNAVAIL;
        }
    }

    if (stopped || total >= count) {
        return total;
    }

    n = bld_stream_deliver(s, ">", count - total, h, data, last, &stopped);

    return n < 0 ? SO_EUNAVAIL : total + n;
}


int
bld_stream_autoclaim(bld_stream_t *s)
{
    redisReply  *reply;
    char         idle[24], cursor[BLD_STREAM_ID_LEN];
    const char  *argv[] = { "XAUTOCLAIM", s->policy->stream,
                            s->policy->group, s->conn->consumer, idle,
                            cursor, "COUNT", "100", "JUSTID" };
    int          round;

    s->reread = 1;

    if (!s->group_ok) {
        return SO_EUNAVAIL;
    }

    snprintf(idle, sizeof(idle), "%lld",
             (long long) s->conn->cfg->lease_ttl * 1000);
    snprintf(cursor, sizeof(cursor), "0-0");

    for (round = 0; round < BLD_STREAM_CLAIMS; round++) {
        reply = bld_stream_cmd(s, (int) so_nelems(argv), argv);
        if (reply == NULL) {
            return SO_EUNAVAIL;
        }

        /* [next cursor, [ids...], [deleted ids...]] */
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[1]->type != REDIS_REPLY_ARRAY)
        {
            freeReplyObject(reply);
            return SO_ERR;
        }

        if (reply->element[1]->elements > 0) {
            so_log_info("stream", "%s: took over %zu entries of dead "
                        "consumers", s->policy->stream,
                        reply->element[1]->elements);
        }

        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        freeReplyObject(reply);

        if (strcmp(cursor, "0-0") == 0) {
            break;
        }
    }

    return SO_OK;
}


const redisReply *
bld_stream_entries(const redisReply *reply)
{
    /* nil: nothing new; else [[stream, [entry...]]] */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1
        || reply->element[0]->type != REDIS_REPLY_ARRAY
        || reply->element[0]->elements != 2
        || reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY)
    {
        return NULL;
    }

    return reply->element[0]->element[1];
}


const char *
bld_stream_entry_id(const redisReply *entry)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
        || entry->element[0]->type != REDIS_REPLY_STRING)
    {
        return NULL;
    }

    return entry->element[0]->str;
}


const redisReply *
bld_stream_kv(const redisReply *r, const char *key)
{
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        if (r->element[i]->type == REDIS_REPLY_STRING
            && strcmp(r->element[i]->str, key) == 0)
        {
            return r->element[i + 1];
        }
    }

    return NULL;
}


long long
bld_stream_field(const redisReply *fields, const char *name)
{
    const redisReply  *v;
    char              *end;
    long long          n;

    v = bld_stream_kv(fields, name);
    if (v == NULL || v->type != REDIS_REPLY_STRING) {
        return 0;
    }

    n = strtoll(v->str, &end, 10);

    return (*end == '\0' && n > 0) ? n : 0;
}
