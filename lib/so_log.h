/*
 * so_log.h: leveled logging to stderr with a program name and a context.
 *
 * A line reads:
 *   2026-11-28T09:00:00Z shipoff-api[123] error: deployment=42: build failed
 * The context names the object the line is about (pgbouncer style).  Never
 * pass a secret: config values flagged secret are masked by so_config_dump().
 */

#ifndef SO_LOG_H
#define SO_LOG_H

typedef enum {
    SO_LOG_DEBUG = 0,
    SO_LOG_INFO,
    SO_LOG_WARN,
    SO_LOG_ERROR
} so_log_level_t;

void so_log_init(const char *ident, so_log_level_t level);
void so_log_set_level(so_log_level_t level);
int so_log_level_parse(so_log_level_t *out, const char *name);
const char *so_log_level_name(so_log_level_t level);

/* ctx may be NULL; fmt is printf-like */
void so_log(so_log_level_t level, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define so_log_debug(ctx, ...)  so_log(SO_LOG_DEBUG, ctx, __VA_ARGS__)
#define so_log_info(ctx, ...)   so_log(SO_LOG_INFO, ctx, __VA_ARGS__)
#define so_log_warn(ctx, ...)   so_log(SO_LOG_WARN, ctx, __VA_ARGS__)
#define so_log_error(ctx, ...)  so_log(SO_LOG_ERROR, ctx, __VA_ARGS__)

#endif /* SO_LOG_H */
