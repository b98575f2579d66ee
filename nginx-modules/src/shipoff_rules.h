
/*
 * Netlify-style site rules: the _redirects and _headers files a static
 * deployment carries at its root, parsed and matched.
 *
 * Pure functions over byte buffers, depending on libc only, so that the
 * unit tests and the fuzzer build them without nginx.  Everything a parse
 * produces comes from a caller-supplied arena (a request's or a cache
 * entry's pool in nginx, malloc in tests) and points into it: the input
 * buffer may be freed once parsing is over.
 *
 * It is not nginx code, and its names say so: shipoff_rules_*, int and
 * const char *, an arena of its own in place of ngx_pool_t.
 */


#ifndef SHIPOFF_RULES_H_INCLUDED
#define SHIPOFF_RULES_H_INCLUDED


#include <stddef.h>


#define SHIPOFF_RULES_MAX_PARAMS   16    /* placeholders of a rule */

/*
 * What a site's rules may cost a request (the workers serve every tenant
 * and /api): at most this many redirects, header patterns and header lines
 * per file (the rest are dropped), patterns and targets of at most this
 * many bytes, and URIs of at most this many bytes (the static module
 * answers a longer one with 414 on a site with rules).
 */
#define SHIPOFF_RULES_MAX          1000
#define SHIPOFF_RULES_PATTERN_MAX  1024
#define SHIPOFF_RULES_URI_MAX      4096


typedef struct {
    void                        *(*alloc)(void *data, size_t size);
    void                         *data;
} shipoff_rules_arena_t;


typedef struct {
    const char                   *data;
    size_t                        len;
} shipoff_rules_span_t;


/* "/from /to [status][!]", one line of _redirects */
typedef struct {
    shipoff_rules_span_t          from;
    shipoff_rules_span_t          to;
    unsigned                      status;      /* 200, 301...308, 404, 410 */
    unsigned                      force;       /* "!": even if a file exists */
} shipoff_rules_redirect_t;


typedef struct {
    shipoff_rules_span_t          name;
    shipoff_rules_span_t          value;
} shipoff_rules_header_t;


/* a path pattern of _headers and the headers indented under it */
typedef struct {
    shipoff_rules_span_t          path;
    shipoff_rules_header_t       *headers;
    size_t                        nheaders;
} shipoff_rules_header_rule_t;


typedef struct {
    shipoff_rules_redirect_t     *redirects;
    size_t                        nredirects;
    shipoff_rules_header_rule_t  *headers;
    size_t                        nheaders;

    /* lines skipped as invalid: the first is described, the rest counted */
    size_t                        nerrors;
    size_t                        error_line;
    char                          errstr[96];
} shipoff_rules_t;


/*
 * Both parsers fill their half of rules, skipping (and counting) invalid
 * lines as Netlify does.  They return 0, or -1 if the arena failed.
 */
int shipoff_rules_parse_redirects(shipoff_rules_t *rules, const char *buf,
    size_t len, shipoff_rules_arena_t *arena);
int shipoff_rules_parse_headers(shipoff_rules_t *rules, const char *buf,
    size_t len, shipoff_rules_arena_t *arena);

/*
 * Whether path matches a rule's pattern: "*" matches any run of bytes,
 * ":name" a whole non-empty segment; a pattern whose last segment is "*"
 * also matches the path without that segment, and a trailing slash is
 * ignored on both sides.  Each "*" but the last takes the shortest run
 * after which the text up to the next "*" matches.  Linear in pattern and
 * path length; a pattern longer than SHIPOFF_RULES_PATTERN_MAX
 * (which the parsers refuse) matches nothing.
 * Returns 1 or 0.
 */
int shipoff_rules_match(const char *pattern, size_t pattern_len,
    const char *path, size_t path_len);

/*
 * Matches path against a redirect and, if it matches, writes the target
 * (":splat" and the placeholders substituted) to out.  Returns the
 * target's length, 0 if the rule does not match, or -1 if the target does
 * not fit in size bytes.
 */
long shipoff_rules_rewrite(shipoff_rules_redirect_t *redirect,
    const char *path, size_t path_len, char *out, size_t size);

/*
 * Whether a URI path may be served inside a deployment: starts with "/",
 * no NUL, no backslash, no "." or ".." segment.  Returns 1 or 0.
 */
int shipoff_rules_safe_path(const char *path, size_t len);

/*
 * Whether the last segment of a URI names a content-hashed file, as
 * bundlers make them ("app.3f2a9c1b.js", "index-B4x9kQ2a.js"): a part
 * between "." or "-" separators, neither the first part nor the
 * extension, of 8 to 64 letters, digits and "_" with at least one letter
 * and one digit.  Returns 1 or 0.
 */
int shipoff_rules_fingerprinted(const char *path, size_t len);

/*
 * Whether an Accept-Encoding value accepts coding (e.g. "gzip", "br"): the
 * coding or "*" is listed without "q=0".  Returns 1 or 0.
 */
int shipoff_rules_accepts(const char *value, size_t len, const char *coding);


#endif /* SHIPOFF_RULES_H_INCLUDED */
