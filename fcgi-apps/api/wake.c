/*
 * wake.c: GET /_internal/wake?host=H&project=P, the wake-up of a sleeping
 * app, asked by nginx's wake module through an internal location.
 *
 * It only queues the start for shipoffd (XADD shipoff:wake) and answers at
 * once; nginx holds the app's requests meanwhile.  The module retries a
 * wake that did not bring the app up, and shipoffd coalesces duplicates,
 * so queueing twice is harmless.  nginx makes the location internal: a
 * client cannot reach it.
 */

#include <string.h>

#include "shipoff.h"
#include "so_fetch.h"
#include "so_log.h"
#include "api.h"


#define API_WAKE_STREAM  "shipoff:wake"
#define API_WAKE_MAXLEN  "10000"


/* a host or project name as the router module accepts them */
static int
api_wake_name_ok(const char *s)
{
    size_t  n;

    n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]");

    return n > 0 && s[n] == '\0';
}


void
api_wake(so_req_t *r)
{
    char          host[256], project[256];
    redisReply   *reply;
    const char   *argv[] = { "XADD", API_WAKE_STREAM, "MAXLEN", "~",
                             API_WAKE_MAXLEN, "*", "host", host,
                             "project", project };

    if (so_fetch_form_get(host, sizeof(host), r->query, "host") != 0
        || !api_wake_name_ok(host))
    {
        so_req_error(r, 422, "validation_failed", "a host is required",
                     "host");
        return;
    }

    if (so_fetch_form_get(project, sizeof(project), r->query, "project")
        != 0 || !api_wake_name_ok(project))
    {
        so_req_error(r, 422, "validation_failed", "a project is required",
                     "project");
        return;
    }

    reply = so_redis_command(r->redis, (int) so_nelems(argv), argv, NULL);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        so_log_error("wake", "host=%s project=%s: XADD: %s", host, project,
                     reply ? reply->str : so_redis_errstr(r->redis));
        if (reply != NULL) {
            freeReplyObject(reply);
        }
        so_req_error(r, 503, "unavailable", "the wake queue is unavailable",
                     NULL);
        return;
    }

    freeReplyObject(reply);
    so_log_info("wake", "host=%s project=%s: wake queued", host, project);

    so_req_json(r, 202, json_pack("{s:b, s:s, s:s}", "queued", 1,
                                  "host", host, "project", project));
}
