/*
 * deploylog.c: the log pipeline of one deployment (its build and every
 * start of its app), the log its owner reads.  Not so_log: that is
 * shipoffd's own diagnostics, on stderr.
 *
 * Every line (the build's output, shipoffd's own "system" lines) is made
 * safe first: secret values replaced by "****", NUL bytes dropped, bytes
 * that are not UTF-8 replaced by '?', cut at BLD_LOG_LINE_MAX.  Then it
 * goes twice: at once to the Redis stream logs:<deployment> (capped, for
 * the live tail), and into a batch that is written to log_lines in one
 * INSERT every 100 lines or 200 ms (the record, searchable).
 *
 * Neither store being down stops a build: a failure is logged by shipoffd
 * once and the lines are dropped from that store.
 *
 * A deployment stores at most quota_log_bytes_per_deployment bytes of line
 * text (bld_log_new, given the configuration), its build and every start
 * of its app together: past it one marker line says "log limit reached"
 * and later lines are dropped, the build goes on.  shipoffd's own lines
 * get LOG_SYSTEM_EXTRA more, so that how the deployment ended is still
 * told.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_env.h"
#include "so_log.h"
#include "worker.h"

#define LOG_BATCH_LINES  100
#define LOG_BATCH_MS     200
#define LOG_STREAM_MAX   "10000"
#define LOG_MASKS_MAX    64
#define LOG_SYSTEM_EXTRA 65536


struct bld_log_s {
    so_pg_t     *pg;
    so_redis_t  *redis;
    char         key[48];           /* "logs:<deployment>" */
    char         dep[24];
    char         proj[24];
    char        *masks[LOG_MASKS_MAX];
    size_t       nmasks;
    json_t      *batch;             /* of {"at", "stream", "line"} */
    long long    batch_since;       /* ms, when the first line came */
    int          pg_failed;
    int          redis_failed;
    size_t       cap;               /* bytes of line text; 0: no cap */
    size_t       bytes;             /* stored so far */
    int          capped;            /* the marker is out */
};


static void log_mask_secrets(bld_log_t *log, const so_config_t *cfg,
    long long project_id);
static void log_quota(bld_log_t *log, const so_config_t *cfg);
static void log_clean(char *out, size_t outlen, const char *in, size_t len);
static void log_mask_apply(const bld_log_t *log, char *buf);
static void log_time(char *out, size_t len);
static void log_xadd(bld_log_t *log, const char *at, const char *k1,
    const char *v1, const char *k2, const char *v2);
static void log_emit(bld_log_t *log, const char *stream, const char *line);


int
bld_log_new(bld_log_t **out, so_pg_t *pg, so_redis_t *redis,
    const so_config_t *cfg, long long deployment_id, long long project_id)
{
    bld_log_t  *log;

    *out = NULL;

    log = calloc(1, sizeof(*log));
    if (log == NULL) {
        return SO_ERR;
    }

    log->batch = json_array();
    if (log->batch == NULL) {
        free(log);
        return SO_ERR;
    }

    log->pg = pg;
    log->redis = redis;
    snprintf(log->key, sizeof(log->key), "logs:%lld", deployment_id);
    snprintf(log->dep, sizeof(log->dep), "%lld", deployment_id);
    snprintf(log->proj, sizeof(log->proj), "%lld", project_id);

    if (cfg != NULL) {
        log_mask_secrets(log, cfg, project_id);
        log_quota(log, cfg);
    }

    *out = log;
    return SO_OK;
}


/* the values of the project's secrets never reach the logs */
static void
log_mask_secrets(bld_log_t *log, const so_config_t *cfg,
    long long project_id)
{
    so_pg_t     *pg;
    PGresult    *res;
    json_t      *env;
    const char  *v;
    int          i;

    pg = log->pg;
    res = so_pg_query(pg, "log_secret_keys",
                      "SELECT key FROM env_vars"
                      " WHERE project_id = $1 AND secret",
                      SO_PG_PARAMS(log->proj));
    if (res == NULL || PQntuples(res) == 0) {
        PQclear(res);
        return;
    }

    if (so_env_load(&env, pg, cfg, project_id, "runtime") != SO_OK) {
        so_log_warn("logs", "deployment=%s: secrets not loaded for masking",
                    log->dep);
        PQclear(res);
        return;
    }

    for (i = 0; i < PQntuples(res) && log->nmasks < LOG_MASKS_MAX; i++) {
        v = json_string_value(json_object_get(env, PQgetvalue(res, i, 0)));

        /* a value this short would mask half of every line: it is no
           secret worth the noise, and "****" would leak its length */
        if (v != NULL && strlen(v) >= 3) {
            log->masks[log->nmasks] = strdup(v);
            log->nmasks += log->masks[log->nmasks] != NULL;
        }
    }

    so_env_free(env);
    PQclear(res);
}


static void
log_quota(bld_log_t *log, const so_config_t *cfg)
{
    PGresult  *res;

    if (cfg->quota_log_bytes_per_deployment == 0) {
        return;
    }

    log->cap = cfg->quota_log_bytes_per_deployment;

    res = so_pg_query(log->pg, "log_quota_used",
                      "SELECT coalesce(sum(octet_length(line)), 0)"
                      " FROM log_lines WHERE deployment_id = $1",
                      SO_PG_PARAMS(log->dep));
    if (res != NULL) {
        log->bytes = (size_t) strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        log->capped = log->bytes > log->cap;
    }

    PQclear(res);
}


/* valid UTF-8 stays; NUL goes; any other byte becomes '?' */
static void
log_clean(char *out, size_t outlen, const char *in, size_t len)
{
    const unsigned char  *p, *end;
    size_t                n, i, k;

    p = (const unsigned char *) in;
    end = p + len;
    n = 0;

    while (p < end && n + 4 < outlen) {
        if (*p == '\0' || *p == '\r') {
            p++;
            continue;
        }

        if (*p < 0x80) {
            out[n++] = (char) *p++;
            continue;
        }

        k = (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1
            : (*p & 0xf0) == 0xe0 ? 2
            : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 3 : 0;

        i = 1;
        while (i <= k && p + i < end && (p[i] & 0xc0) == 0x80) {
            i++;
        }

        /* a bad or cut sequence; overlong three-byte forms and surrogates
           are refused by jansson too */
        if (k == 0 || i <= k
            || (k == 2 && *p == 0xe0 && p[1] < 0xa0)
            || (k == 2 && *p == 0xed && p[1] >= 0xa0)
            || (k == 3 && *p == 0xf0 && p[1] < 0x90)
            || (k == 3 && *p == 0xf4 && p[1] >= 0x90))
        {
            out[n++] = '?';
            p++;
            continue;
        }

        memcpy(out + n, p, k + 1);
        n += k + 1;
        p += k + 1;
    }

    out[n] = '\0';
}


/* in place: the line only gets shorter */
static void
log_mask_apply(const bld_log_t *log, char *buf)
{
    size_t   m, slen, len;
    char    *hit;

    len = strlen(buf);

    for (m = 0; m < log->nmasks; m++) {
        slen = strlen(log->masks[m]);
        hit = buf;
        while ((hit = strstr(hit, log->masks[m])) != NULL) {
            /* "****" is never longer than a secret (3 bytes at least) */
            memcpy(hit, "****", slen >= 4 ? 4 : slen);
            if (slen > 4) {
                memmove(hit + 4, hit + slen, len - (size_t) (hit - buf)
                        - slen + 1);
                len -= slen - 4;
            }
            hit += slen >= 4 ? 4 : slen;
        }
    }
}


static void
log_time(char *out, size_t len)
{
    struct timespec  ts;
    struct tm        tm;
    char             base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%.24s.%03dZ", base, (int) (ts.tv_nsec / 1000000));
}


/* an entry "at" at, k1 v1, k2 v2 on the deployment's stream */
static void
log_xadd(bld_log_t *log, const char *at, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
    redisReply  *reply;
    const char  *argv[] = { "XADD", log->key, "MAXLEN", "~",
                            LOG_STREAM_MAX, "*", "at", at, k1, v1, k2, v2 };

    if (log->redis == NULL || log->redis_failed) {
        return;
    }

    reply = so_redis_command(log->redis, (int) so_nelems(argv), argv, NULL);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        so_log_warn("logs", "deployment=%s: XADD %s failed, live logs "
                    "stop: %s", log->dep, log->key,
                    reply != NULL ? reply->str
                                  : so_redis_errstr(log->redis));
        log->redis_failed = 1;
    }

    if (reply != NULL) {
        freeReplyObject(reply);
    }
}


void
bld_log_line(bld_log_t *log, const char *stream, const char *line,
    size_t len)
{
    char    buf[BLD_LOG_LINE_MAX + 8], marker[128];
    size_t  n;

    if (log == NULL) {
        return;
    }

    log_clean(buf, sizeof(buf) - 4, line, len);
    log_mask_apply(log, buf);
    n = strlen(buf);

    if (log->cap == 0
        || (!log->capped && log->bytes + n <= log->cap)
        || (strcmp(stream, "system") == 0
            && log->bytes + n <= log->cap + LOG_SYSTEM_EXTRA))
    {
        log->bytes += n;
        log_emit(log, stream, buf);
        return;
    }

    /* over the deployment's quota: dropped, the first one leaving the
       marker instead */
    if (!log->capped) {
        log->capped = 1;
        snprintf(marker, sizeof(marker), "log limit reached: %zu bytes "
                 "(quota_log_bytes_per_deployment); later lines are "
                 "dropped", log->cap);
        so_log_info("logs", "deployment=%s: %s", log->dep, marker);
        log_emit(log, "system", marker);
    }
}


/* a clean, masked line to both stores */
static void
log_emit(bld_log_t *log, const char *stream, const char *line)
{
    char     at[40];
    json_t  *row;

    log_time(at, sizeof(at));
    log_xadd(log, at, "stream", stream, "line", line);

    row = json_pack("{s:s, s:s, s:s}", "at", at, "stream", stream,
                    "line", line);
    if (row == NULL || json_array_append_new(log->batch, row) != 0) {
        return;
    }

    if (json_array_size(log->batch) == 1) {
        log->batch_since = so_now_ms();
    }

    bld_log_flush(log, 0);
}


void
bld_log_sys(bld_log_t *log, const char *fmt, ...)
{
    char     line[BLD_LOG_LINE_MAX];
    va_list  ap;
    int      n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);

    if (n < 0 || log == NULL) {
        return;
    }

    so_log_info("worker", "deployment=%s: %s", log->dep, line);
    bld_log_line(log, "system", line, strlen(line));
}


void
bld_log_flush(bld_log_t *log, int force)
{
    char   *rows;
    size_t  n;

    if (log == NULL) {
        return;
    }

    n = json_array_size(log->batch);
    if (n == 0) {
        return;
    }

    if (!force && n < LOG_BATCH_LINES
        && so_now_ms() - log->batch_since < LOG_BATCH_MS)
    {
        return;
    }

    if (log->pg_failed) {
        json_array_clear(log->batch);
        return;
    }

    rows = json_dumps(log->batch, JSON_COMPACT);
    json_array_clear(log->batch);
    if (rows == NULL) {
        return;
    }

    if (so_pg_exec(log->pg, "log_lines_insert",
                   "INSERT INTO log_lines (deployment_id, project_id, at,"
                   " stream, line)"
                   " SELECT $1, $2, r.at, r.stream, r.line"
                   " FROM jsonb_to_recordset($3::jsonb)"
                   " AS r(at timestamptz, stream text, line text)",
                   SO_PG_PARAMS(log->dep, log->proj, rows)) != SO_OK)
    {
        so_pg_failed(log->pg, "logs", "deployment=%s: storing log lines "
                     "failed, the rest is dropped", log->dep);
        log->pg_failed = 1;
    }

    free(rows);
}


void
bld_log_end(bld_log_t *log, const char *state)
{
    char  at[40];

    if (log == NULL) {
        return;
    }

    bld_log_flush(log, 1);
    log_time(at, sizeof(at));
    log_xadd(log, at, "event", "end", "state", state);
}


void
bld_log_free(bld_log_t *log)
{
    size_t  m;

    if (log == NULL) {
        return;
    }

    bld_log_flush(log, 1);

    for (m = 0; m < log->nmasks; m++) {
        so_wipe(log->masks[m], strlen(log->masks[m]));
        free(log->masks[m]);
    }

    json_decref(log->batch);
    free(log);
}
