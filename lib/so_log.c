/*
 * so_log.c: leveled log lines on stderr.
 *
 * Each line is formatted into a stack buffer and written with one write(2),
 * so lines from several threads (or processes sharing stderr) never mix.
 * The buffer is no larger than PIPE_BUF, which makes the write atomic even
 * when stderr is a pipe to a log collector.  A message that does not fit is
 * cut and ends in "..."; control characters in the message become '?', so
 * one call is always exactly one line and a value cannot forge a line.
 */

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_log.h"


#define SO_LOG_LINE_MAX  2048
#define SO_LOG_IDENT_MAX 64
#define SO_LOG_CTX_MAX   256    /* leaves most of the line to the message */

#if SO_LOG_LINE_MAX > PIPE_BUF
#error "a log line must fit in one atomic pipe write"
#endif


static void so_log_write(const char *buf, size_t len);


static const char  *so_log_names[] = {
    "debug",
    "info",
    "warn",
    "error"
};

/* set at start (and on reload) by the main thread, read by every thread */
static atomic_int   so_log_min = SO_LOG_INFO;
static char         so_log_ident[SO_LOG_IDENT_MAX] = "shipoff";


void
so_log_init(const char *ident, so_log_level_t level)
{
    if (ident != NULL) {
        snprintf(so_log_ident, sizeof(so_log_ident), "%s", ident);
    }

    so_log_set_level(level);
}


void
so_log_set_level(so_log_level_t level)
{
    assert(level >= SO_LOG_DEBUG && level <= SO_LOG_ERROR);

    atomic_store(&so_log_min, (int) level);
}


int
so_log_level_parse(so_log_level_t *out, const char *name)
{
    size_t  i;

    for (i = 0; i < so_nelems(so_log_names); i++) {
        if (strcasecmp(name, so_log_names[i]) == 0) {
            *out = (so_log_level_t) i;
            return SO_OK;
        }
    }

    return SO_EINVAL;
}


const char *
so_log_level_name(so_log_level_t level)
{
    if ((int) level < 0 || (size_t) level >= so_nelems(so_log_names)) {
        return "unknown";
    }

    return so_log_names[level];
}


void
so_log(so_log_level_t level, const char *ctx, const char *fmt, ...)
{
    int              n;
    char             buf[SO_LOG_LINE_MAX];
    size_t           len, start, cap, i;
    va_list          ap;
    struct tm        tm;
    struct timespec  ts;

    if ((int) level < atomic_load(&so_log_min)) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    len = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ ", &tm);

    n = snprintf(buf + len, sizeof(buf) - len, "%s[%ld] %s: %.*s%s",
                 so_log_ident, (long) getpid(), so_log_level_name(level),
                 SO_LOG_CTX_MAX, ctx ? ctx : "", ctx ? ": " : "");
    if (n > 0) {
        /* cannot be cut: the ident and the context are bounded */
        len += (size_t) n;
    }

    /* room for the message, keeping one byte for '\n' and one for '\0' */
    start = len;
    cap = sizeof(buf) - 1 - start;

    va_start(ap, fmt);
    n = vsnprintf(buf + start, cap, fmt, ap);
    va_end(ap);

    if (n < 0) {
        n = snprintf(buf + start, cap, "(bad log format \"%s\")", fmt);
    }

    if (n < 0) {
        n = 0;
    }

    if ((size_t) n >= cap) {
        len = start + cap - 1;
        memcpy(buf + len - 3, "...", 3);

    } else {
        len = start + (size_t) n;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) buf[i] < 0x20 || buf[i] == 0x7f) {
            buf[i] = '?';
        }
    }

    buf[len++] = '\n';

    so_log_write(buf, len);
}


static void
so_log_write(const char *buf, size_t len)
{
    ssize_t  n;

    while (len > 0) {
        n = write(STDERR_FILENO, buf, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }

            /* nowhere left to report a failed log write */
            return;
        }

        buf += n;
        len -= (size_t) n;
    }
}
