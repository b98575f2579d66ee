/*
 * test_rules.c: the static module's site rules (Netlify's _redirects and
 * _headers) and URI decisions, built without nginx: which lines become
 * rules, what a rule rewrites a path to, which paths are safe, which file
 * names are content-hashed, which codings a client accepts.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff_rules.h"
#include "so_test.h"


/* an arena over malloc: a list of blocks freed together */

typedef struct block_s  block_t;

struct block_s {
    block_t  *next;
};


static void *
arena_alloc(void *data, size_t size)
{
    block_t  **head = data;
    block_t   *b;

    b = malloc(sizeof(block_t) + size);
    if (b == NULL) {
        return NULL;
    }

    b->next = *head;
    *head = b;

    return b + 1;
}


static void
arena_free(block_t *head)
{
    block_t  *next;

    for ( ; head; head = next) {
        next = head->next;
        free(head);
    }
}


static void *
failing_alloc(void *data, size_t size)
{
    (void) data;
    (void) size;
    return NULL;
}


/* what a _redirects rule turns a path into: "" if it does not match */

static void
rewrite(shipoff_rules_redirect_t *rd, const char *path, char *out, size_t size)
{
    long  n;

    n = shipoff_rules_rewrite(rd, path, strlen(path), out, size - 1);

    assert_true(n >= 0);

    out[n] = '\0';
}


static void
test_redirects_parse(void **state)
{
    static const char  text[] =
        "# a comment\n"
        "\n"
        "/old   /new\n"
        "/a/*   /b/:splat   302\r\n"
        "/f     /g          200!   # trailing comment\n"
        "/bad\n"
        "relative /x\n"
        "/s     /t          299\n"
        "/s     /t          3011\n"
        "/q     id=:id  /x  301\n"
        "/c     /d          302    Country=us\n"
        "https://x.test/* /y 301\n"
        "/p     https://example.com/:splat 200\n"
        "/u     https://example.com/u\n"
        "/e     /%41%2e%zz?x=%41  200\n"
        "/n     /a%00b      200\n"
        "/last  /end";

    block_t                   *blocks = NULL;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena = { arena_alloc, &blocks };

    (void) state;

    memset(&rules, 0, sizeof(rules));

    assert_int_equal(shipoff_rules_parse_redirects(&rules, text,
                         sizeof(text) - 1, &arena), 0);

    assert_int_equal(rules.nredirects, 6);

    assert_int_equal(rules.redirects[0].status, 301);
    assert_int_equal(rules.redirects[0].force, 0);
    assert_int_equal(rules.redirects[1].status, 302);
    assert_int_equal(rules.redirects[2].status, 200);
    assert_int_equal(rules.redirects[2].force, 1);
    assert_int_equal(rules.redirects[3].status, 301);
    assert_int_equal((int) rules.redirects[3].to.len,
                     (int) strlen("https://example.com/u"));

    /* a rewrite's path is decoded, its query and bad escapes are not */
    assert_int_equal((int) rules.redirects[4].to.len, 12);
    assert_memory_equal(rules.redirects[4].to.data, "/A.%zz?x=%41", 12);

    assert_int_equal((int) rules.redirects[5].to.len, 4);
    assert_memory_equal(rules.redirects[5].to.data, "/end", 4);

    assert_int_equal(rules.nerrors, 9);
    assert_int_equal(rules.error_line, 6);
    assert_string_equal(rules.errstr, "a rule needs a path and a target");

    arena_free(blocks);
}


static void
test_redirects_rewrite(void **state)
{
    static const struct {
        const char  *from;
        const char  *to;
        const char  *path;
        const char  *expect;
    } cases[] = {
        { "/old", "/new", "/old", "/new" },
        { "/old", "/new", "/old/", "/new" },
        { "/old/", "/new", "/old", "/new" },
        { "/old", "/new", "/older", "" },
        { "/old", "/new", "/OLD", "" },
        { "/news/*", "/blog/:splat", "/news/2024/a", "/blog/2024/a" },
        { "/news/*", "/blog/:splat", "/news/", "/blog/" },
        { "/news/*", "/blog/:splat", "/news", "/blog/" },
        { "/news/*", "/blog/:splat", "/newsy", "" },
        { "/*", "/index.html", "/", "/index.html" },
        { "/*", "/index.html", "/a/b/c", "/index.html" },
        { "/:year/:month", "/archive/:year-:month", "/2024/05",
          "/archive/2024-05" },
        { "/:year/:month", "/archive/:year-:month", "/2024", "" },
        { "/:year/:month", "/archive/:year-:month", "/2024/05/x", "" },
        { "/u/:id/*", "/users/:id?rest=:splat", "/u/7/a/b",
          "/users/7?rest=a/b" },
        { "/a/:x", "/b/:y/:x:x", "/a/1", "/b/:y/11" },
        { "/a", "https://example.com:8080/x", "/a",
          "https://example.com:8080/x" },
        { "/*.js", "/js/:splat", "/lib/app.js", "/js/lib/app" },
        { "/a*b*c", "/:splat", "/a1b2b3c", "/2b3" },
        { "/:p/x", "/:p", "//x", "" },
        { "/*/:id/e", "/:splat=:id", "/a/b/7/e", "/a/b=7" },
        { "/*.js", "/:splat", "/a.b.js", "/a.b" },
        { "/*.:ext", "/:ext", "/a.b", "" },
        { "/a/*/b/*", "/:splat", "/a/1/b/2/b/3", "/2/b/3" },
        { "/*x*", "/:splat", "/axbxc", "/bxc" },
    };

    char                         out[256];
    size_t                       i;
    shipoff_rules_redirect_t     rd;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&rd, 0, sizeof(rd));
        rd.from.data = cases[i].from;
        rd.from.len = strlen(cases[i].from);
        rd.to.data = cases[i].to;
        rd.to.len = strlen(cases[i].to);
        rd.status = 301;

        rewrite(&rd, cases[i].path, out, sizeof(out));

        if (strcmp(out, cases[i].expect) != 0) {
            print_message("case %zu: %s -> %s on %s\n", i, cases[i].from,
                          cases[i].to, cases[i].path);
        }

        assert_string_equal(out, cases[i].expect);
    }

    /* a target that does not fit is reported, not cut */

    rd.from.data = "/*";
    rd.from.len = 2;
    rd.to.data = "/x/:splat";
    rd.to.len = 9;

    assert_int_equal(shipoff_rules_rewrite(&rd, "/0123456789", 11,
                                           out, 8), -1);
    assert_int_equal(shipoff_rules_rewrite(&rd, "/0123456", 8,
                                           out, 10), 10);
}


static void
test_headers_parse(void **state)
{
    static const char  text[] =
        "# comment\n"
        "/*\n"
        "  X-Frame-Options: DENY\n"
        "  X-Empty:\n"
        "\tCache-Control:  public, max-age=60  \n"
        "/assets/*\r\n"
        "  Content-Length: 5\n"
        "  Bad Name: x\n"
        "  NoColon\n"
        "  X-Ctl: a\x01" "b\n"
        "  Link: </a.css>; rel=preload\n"
        "/two words\n"
        "  X-Orphan: 1\n"
        "https://x.test/*\n"
        "  X-Host: 1\n"
        "/last\n";

    block_t                   *blocks = NULL;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena = { arena_alloc, &blocks };

    (void) state;

    memset(&rules, 0, sizeof(rules));

    assert_int_equal(shipoff_rules_parse_headers(&rules, text,
                         sizeof(text) - 1, &arena), 0);

    assert_int_equal(rules.nheaders, 3);

    assert_int_equal(rules.headers[0].nheaders, 3);
    assert_memory_equal(rules.headers[0].headers[0].name.data,
                        "X-Frame-Options", 15);
    assert_memory_equal(rules.headers[0].headers[0].value.data, "DENY", 4);
    assert_int_equal(rules.headers[0].headers[1].value.len, 0);
    assert_int_equal(rules.headers[0].headers[2].value.len,
                     strlen("public, max-age=60"));

    assert_int_equal(rules.headers[1].path.len, strlen("/assets/*"));
    assert_int_equal(rules.headers[1].nheaders, 1);
    assert_memory_equal(rules.headers[1].headers[0].name.data, "Link", 4);

    assert_int_equal(rules.headers[2].nheaders, 0);

    /* Content-Length, Bad Name, NoColon, X-Ctl, /two words, X-Orphan,
     * the host rule and its header */
    assert_int_equal(rules.nerrors, 8);
    assert_int_equal(rules.error_line, 7);
    assert_string_equal(rules.errstr, "this header cannot be set");

    arena_free(blocks);
}


static void
test_arena_failure(void **state)
{
    shipoff_rules_t           rules;
    shipoff_rules_arena_t     arena = { failing_alloc, NULL };

    (void) state;

    memset(&rules, 0, sizeof(rules));

    assert_int_equal(shipoff_rules_parse_redirects(&rules,
                         "/a /b\n", 6, &arena), -1);
    assert_int_equal(shipoff_rules_parse_headers(&rules,
                         "/a\n  X: y\n", 10, &arena), -1);

    /* nothing to parse needs no memory */
    assert_int_equal(shipoff_rules_parse_redirects(&rules, "", 0,
                                                   &arena), 0);
    assert_int_equal(rules.nredirects, 0);
}


static void
test_match(void **state)
{
    static const struct {
        const char  *pattern;
        const char  *path;
        int          expect;
    } cases[] = {
        { "/*", "/", 1 },
        { "/*", "/a/b", 1 },
        { "/assets/*", "/assets", 1 },
        { "/assets/*", "/assets/x.js", 1 },
        { "/assets/*", "/assetsx", 0 },
        { "/*.js", "/a/b.js", 1 },
        { "/*.js", "/a/b.css", 0 },
        { "/about", "/about/", 1 },
        { "/about", "/about.html", 0 },
        { "/:lang/docs", "/en/docs", 1 },
        { "/:lang/docs", "/docs", 0 },
        { "/a:b", "/a:b", 1 },
        { "/a:b", "/ab", 0 },
        { "", "", 1 },
        { "/**", "/x", 1 },
        { "/a*b*c", "/axbyc", 1 },
        { "/a*b*c", "/axbycd", 0 },
        { "/a*b*c", "/abc", 1 },
        { "/*/x/*", "/a/b/x/c", 1 },
        { "/*/x/*", "/a/b/y/c", 0 },
        { "/*ab", "/aab", 1 },
        { "/*ab", "/aba", 0 },
        { "/*aab*", "/aaab", 1 },
        { "/*/:id", "/a/b/7", 1 },
        { "/*/:id/e", "/a/7/e", 1 },
        { "/*/:id/e", "/a/7/f", 0 },
        { "/*/:id/e", "/a//e", 0 },
        { "/:a/:b/*.js", "/x/y/z/w.js", 1 },
        { "/:a/:b/*.js", "/x//z.js", 0 },
    };

    int     got;
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = shipoff_rules_match(cases[i].pattern,
                                  strlen(cases[i].pattern),
                                  cases[i].path,
                                  strlen(cases[i].path));
        so_test_label(got != cases[i].expect, "case %zu: \"%s\" \"%s\"\n",
                      i, cases[i].pattern, cases[i].path);
        assert_int_equal(got, cases[i].expect);
    }
}


static void
test_safe_path(void **state)
{
    static const struct {
        const char  *path;
        size_t       len;
        int          expect;
    } cases[] = {
        { "/", 1, 1 },
        { "/index.html", 11, 1 },
        { "/a/.well-known/x", 16, 1 },
        { "/..a/b..", 8, 1 },
        { "/a//b", 5, 1 },
        { "", 0, 0 },
        { "a", 1, 0 },
        { "/..", 3, 0 },
        { "/../x", 5, 0 },
        { "/a/..", 5, 0 },
        { "/a/../b", 7, 0 },
        { "/.", 2, 0 },
        { "/a/./b", 6, 0 },
        { "/a\\b", 4, 0 },
        { "/a\0b", 4, 0 },
    };

    int     got;
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = shipoff_rules_safe_path(cases[i].path, cases[i].len);
        so_test_label(got != cases[i].expect, "case %zu: \"%s\" \"%s\"\n",
                      i, cases[i].path, "");
        assert_int_equal(got, cases[i].expect);
    }
}


static void
test_fingerprinted(void **state)
{
    static const struct {
        const char  *path;
        int          expect;
    } cases[] = {
        { "/assets/index-B4x9kQ2a.js", 1 },
        { "/app.3f2a9c1b.js", 1 },
        { "/app.3f2a9c1b.chunk.css", 1 },
        { "/static/js/main.8e4c3a1f.js", 1 },
        { "/a-b_c_1234_d.js", 1 },
        { "/my-component.js", 0 },
        { "/typography.js", 0 },
        { "/bootstrap5.min.css", 0 },
        { "/jquery-3.6.0.min.js", 0 },
        { "/3f2a9c1b.js", 0 },
        { "/app.3f2a9c1b", 0 },
        { "/app.3f2a9c1.js", 0 },
        { "/report-20231128.pdf", 0 },
        { "/a.3f2a9c1b/x.js", 0 },
        { "/index.html", 0 },
        { "", 0 },
    };

    int     got;
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = shipoff_rules_fingerprinted(cases[i].path,
                                          strlen(cases[i].path));
        so_test_label(got != cases[i].expect, "case %zu: \"%s\" \"%s\"\n",
                      i, cases[i].path, "");
        assert_int_equal(got, cases[i].expect);
    }
}


static void
test_accepts(void **state)
{
    static const struct {
        const char  *value;
        const char  *coding;
        int          expect;
    } cases[] = {
        { "gzip", "gzip", 1 },
        { "GZIP", "gzip", 1 },
        { "gzip, deflate, br", "br", 1 },
        { "deflate", "gzip", 0 },
        { "", "gzip", 0 },
        { "gzip;q=0", "gzip", 0 },
        { "gzip; q=0.000", "gzip", 0 },
        { "gzip;q=0.5", "gzip", 1 },
        { "gzip;q=1", "gzip", 1 },
        { "*", "br", 1 },
        { "*;q=0", "br", 0 },
        { "*, br;q=0", "br", 0 },
        { "br;q=0, *", "br", 0 },
        { "gzip;q=0, *", "br", 1 },
        { "x-gzip", "gzip", 0 },
        { "gzipx", "gzip", 0 },
        { ",,gzip,,", "gzip", 1 },
    };

    int     got;
    size_t  i;

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = shipoff_rules_accepts(cases[i].value,
                                    strlen(cases[i].value),
                                    cases[i].coding);
        so_test_label(got != cases[i].expect, "case %zu: \"%s\" \"%s\"\n",
                      i, cases[i].value, cases[i].coding);
        assert_int_equal(got, cases[i].expect);
    }
}


/* a line of n bytes: c repeated, between head and tail */

static char *
line_of(const char *head, int c, const char *tail, size_t n)
{
    char    *s;
    size_t   h, e;

    h = strlen(head);
    e = strlen(tail);

    s = malloc(n + 1);
    assert_non_null(s);

    memcpy(s, head, h);
    memset(s + h, c, n - h - e);
    memcpy(s + n - e, tail, e);
    s[n] = '\0';

    return s;
}


static void
test_long_paths(void **state)
{
    char    *pattern, *path, out[64];
    size_t   plen, len;
    shipoff_rules_redirect_t     rd;

    (void) state;

    /* a rule that nearly matches a long URI at every byte */

    pattern = line_of("/*", 'a', "b", 1024);
    path = line_of("/", 'a', "", 70000);
    plen = strlen(pattern);
    len = strlen(path);

    assert_int_equal(shipoff_rules_match(pattern, plen, path, len),
                     0);

    path[len - 1] = 'b';
    assert_int_equal(shipoff_rules_match(pattern, plen, path, len),
                     1);

    rd.from.data = pattern;
    rd.from.len = plen;
    rd.to.data = "/:splat";
    rd.to.len = 7;
    rd.status = 301;
    rd.force = 0;

    assert_int_equal(shipoff_rules_rewrite(&rd, path, len, out,
                                           sizeof(out)), -1);
    assert_int_equal(shipoff_rules_rewrite(&rd, path, 1024, out,
                                           sizeof(out)), 0);

    free(path);
    path = line_of("/", 'a', "b", 1066);
    assert_int_equal(shipoff_rules_rewrite(&rd, path, 1066, out,
                                           sizeof(out)), 44);
    assert_memory_equal(out, path, 44);

    /* too long a pattern matches nothing, even itself */
    free(pattern);
    pattern = line_of("/", 'a', "", SHIPOFF_RULES_PATTERN_MAX + 1);
    assert_int_equal(shipoff_rules_match(pattern, strlen(pattern),
                                         pattern, strlen(pattern)),
                     0);

    free(pattern);
    free(path);
}


/* a rules file of n copies of line */

static char *
file_of(const char *line, size_t n)
{
    char    *s;
    size_t   i, len;

    len = strlen(line);

    s = malloc(n * len + 1);
    assert_non_null(s);

    for (i = 0; i < n; i++) {
        memcpy(s + i * len, line, len);
    }

    s[n * len] = '\0';

    return s;
}


static void
test_caps(void **state)
{
    char                      *text, *pattern;
    block_t                   *blocks = NULL;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena = { arena_alloc, &blocks };

    (void) state;

    /* rules past the thousandth are dropped, with one error */

    text = file_of("/a /b\n", SHIPOFF_RULES_MAX + 5);
    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_redirects(&rules, text,
                         strlen(text), &arena), 0);
    assert_int_equal(rules.nredirects, SHIPOFF_RULES_MAX);
    assert_int_equal(rules.nerrors, 1);
    assert_int_equal(rules.error_line, SHIPOFF_RULES_MAX + 1);
    assert_string_equal(rules.errstr, "more than 1000 rules: the rest is "
                                      "ignored");
    free(text);

    text = file_of("/a\n", SHIPOFF_RULES_MAX + 1);
    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_headers(&rules, text,
                         strlen(text), &arena), 0);
    assert_int_equal(rules.nheaders, SHIPOFF_RULES_MAX);
    assert_int_equal(rules.nerrors, 1);
    free(text);

    /* a path, then one header too many */
    text = file_of("  X-A: 1\n", SHIPOFF_RULES_MAX + 2);
    memcpy(text, "/       ", 8);
    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_headers(&rules, text,
                         strlen(text), &arena), 0);
    assert_int_equal(rules.nheaders, 1);
    assert_int_equal(rules.headers[0].nheaders, SHIPOFF_RULES_MAX);
    assert_int_equal(rules.nerrors, 1);
    free(text);

    /* a pattern of 1024 bytes is a rule, one of 1025 is not */

    pattern = line_of("/", 'a', " /x\n", SHIPOFF_RULES_PATTERN_MAX
                                          + 4);
    text = malloc(2 * strlen(pattern) + 2);
    assert_non_null(text);
    memcpy(text, pattern, strlen(pattern));
    memcpy(text + strlen(pattern), "/", 1);
    memcpy(text + strlen(pattern) + 1, pattern, strlen(pattern) + 1);

    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_redirects(&rules, text,
                         strlen(text), &arena), 0);
    assert_int_equal(rules.nredirects, 1);
    assert_int_equal(rules.redirects[0].from.len,
                     SHIPOFF_RULES_PATTERN_MAX);
    assert_int_equal(rules.error_line, 2);
    assert_string_equal(rules.errstr, "a path of more than 1024 bytes");

    /* as a target too */

    text[strlen(pattern) - 4] = '\0';
    text[strlen(pattern) - 3] = '\0';
    assert_int_equal((int) strlen(text), SHIPOFF_RULES_PATTERN_MAX);
    free(pattern);
    pattern = malloc(2 * SHIPOFF_RULES_PATTERN_MAX + 16);
    assert_non_null(pattern);
    snprintf(pattern, 2 * SHIPOFF_RULES_PATTERN_MAX + 16,
             "/a %s\n/b %sc\n", text, text);

    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_redirects(&rules, pattern,
                         strlen(pattern), &arena), 0);
    assert_int_equal(rules.nredirects, 1);
    assert_int_equal(rules.error_line, 2);
    assert_string_equal(rules.errstr, "a target of more than 1024 bytes");

    free(pattern);
    free(text);

    arena_free(blocks);
}


static void
test_refused_patterns(void **state)
{
    static const char  redirects[] =
        "/*/:id  /x\n"
        "/a/*/b/:c  /x\n"
        "/a/:b/*  /x/:b/:splat\n"
        "/*/x:y  /x\n";

    static const char  headers[] =
        "/*/:id/e\n"
        "  X-A: 1\n"
        "/:lang/*\n"
        "  X-B: 2\n";

    block_t                   *blocks = NULL;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena = { arena_alloc, &blocks };

    (void) state;

    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_redirects(&rules, redirects,
                         sizeof(redirects) - 1, &arena), 0);
    assert_int_equal(rules.nredirects, 2);
    assert_memory_equal(rules.redirects[0].from.data, "/a/:b/*", 7);
    assert_memory_equal(rules.redirects[1].from.data, "/*/x:y", 6);
    assert_int_equal(rules.nerrors, 2);
    assert_string_equal(rules.errstr, "a placeholder after \"*\"");

    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_headers(&rules, headers,
                         sizeof(headers) - 1, &arena), 0);
    assert_int_equal(rules.nheaders, 1);
    assert_memory_equal(rules.headers[0].path.data, "/:lang/*", 8);
    assert_int_equal(rules.headers[0].nheaders, 1);
    assert_memory_equal(rules.headers[0].headers[0].name.data, "X-B", 3);

    /* the path and the header under it */
    assert_int_equal(rules.nerrors, 2);
    assert_string_equal(rules.errstr, "a placeholder after \"*\"");

    arena_free(blocks);
}


static void
test_headers_no_cookies(void **state)
{
    static const char  text[] =
        "/*\n"
        "  Set-Cookie: sid=x; Domain=apps.test; Path=/\n"
        "  set-cookie: a=b\n"
        "  SET-COOKIE : a=b\n"
        "  Set-Cookie2: a=b; Domain=.apps.test\n"
        "  X-Set-Cookie: not one\n"
        "  Cookie-Policy: not one either\n";

    block_t                   *blocks = NULL;
    shipoff_rules_t            rules;
    shipoff_rules_arena_t      arena = { arena_alloc, &blocks };

    (void) state;

    memset(&rules, 0, sizeof(rules));
    assert_int_equal(shipoff_rules_parse_headers(&rules, text,
                         sizeof(text) - 1, &arena), 0);

    assert_int_equal(rules.nheaders, 1);
    assert_int_equal(rules.headers[0].nheaders, 2);
    assert_memory_equal(rules.headers[0].headers[0].name.data,
                        "X-Set-Cookie", 12);
    assert_memory_equal(rules.headers[0].headers[1].name.data,
                        "Cookie-Policy", 13);
    assert_int_equal(rules.nerrors, 4);
    assert_int_equal(rules.error_line, 2);
    assert_string_equal(rules.errstr, "a site cannot set cookies");

    arena_free(blocks);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_redirects_parse),
        cmocka_unit_test(test_redirects_rewrite),
        cmocka_unit_test(test_headers_parse),
        cmocka_unit_test(test_arena_failure),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_long_paths),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_refused_patterns),
        cmocka_unit_test(test_headers_no_cookies),
        cmocka_unit_test(test_safe_path),
        cmocka_unit_test(test_fingerprinted),
        cmocka_unit_test(test_accepts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
