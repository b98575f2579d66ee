
/*
 * Netlify-style site rules (_redirects, _headers) and the small decisions
 * about a URI the static module makes: is it safe, is it content-hashed,
 * does the client accept a coding.
 *
 * Parsing is two passes over the buffer: the first counts lines, which
 * bounds the number of rules, so each array is one arena allocation and
 * nothing is ever reallocated.  Matching gives the answers of the classic
 * single-backtrack glob (the last "*" is retried one byte further on a
 * mismatch) extended with ":name" segments, in time linear in pattern and
 * path length whatever both are: a request's URI and a tenant's rules are
 * attacker-controlled, and pattern times path was 80 s of a worker for 30
 * rules.  Only libc is used: see the header.
 */


#include <stdint.h>
#include <string.h>

#include "shipoff_rules.h"


#define SHIPOFF_RULES_STR_(n)  #n
#define SHIPOFF_RULES_STR(n)   SHIPOFF_RULES_STR_(n)

#define SHIPOFF_RULES_TOO_MANY                                               \
    "more than " SHIPOFF_RULES_STR(SHIPOFF_RULES_MAX)                        \
    " rules: the rest is ignored"


typedef struct {
    shipoff_rules_span_t          name;
    shipoff_rules_span_t          value;
} shipoff_rules_capture_t;


typedef struct {
    shipoff_rules_capture_t       params[SHIPOFF_RULES_MAX_PARAMS];
    size_t                        nparams;
    shipoff_rules_span_t          splat;
} shipoff_rules_captures_t;


/* a literal run of a pattern and its search automaton */
typedef struct {
    const char                   *data;
    size_t                        len;
    shipoff_rules_span_t          name;        /* of the placeholder after
                                                  it; data NULL: none */
    uint16_t                     *fail;        /* NULL: compared in place */
    size_t                        fed;         /* the path is read up to */
    size_t                        state;       /* run bytes matched there */
} shipoff_rules_piece_t;

/* the part of a pattern between two "*"s */
typedef struct {
    shipoff_rules_piece_t         pieces[SHIPOFF_RULES_MAX_PARAMS + 1];
    size_t                        npieces;
    size_t                        nparams;
    uint16_t                      fail[SHIPOFF_RULES_PATTERN_MAX
                                       + SHIPOFF_RULES_MAX_PARAMS
                                       + 1];
} shipoff_rules_segment_t;

/* how a segment, or a run of it, fares at a place of the path */
#define SHIPOFF_RULES_WALK_MISMATCH      0
#define SHIPOFF_RULES_WALK_MATCH         1
#define SHIPOFF_RULES_WALK_END           2  /* the path ended inside it */


static void *shipoff_rules_per_line(const char *buf, size_t len,
    size_t size, shipoff_rules_arena_t *arena, size_t *n);
static const char *shipoff_rules_line(const char **pos, const char *end,
    size_t *len);
static size_t shipoff_rules_fields(const char *line, size_t len,
    shipoff_rules_span_t *fields, size_t max);
static const char *shipoff_rules_redirect(shipoff_rules_redirect_t *rd,
    const char *line, size_t len);
static const char *shipoff_rules_unescape(char *dst, shipoff_rules_span_t *to);
static int shipoff_rules_hex(int c);
static void shipoff_rules_trim(const char **line, size_t *len);
static const char *shipoff_rules_header_path(const char *line, size_t len);
static const char *shipoff_rules_header(shipoff_rules_header_t *h,
    const char *line, size_t len);
static const char *shipoff_rules_pattern(const char *pattern, size_t len);
static void shipoff_rules_error(shipoff_rules_t *rules, size_t line,
    const char *err);
static int shipoff_rules_match_captures(const char *pattern, size_t plen,
    const char *path, size_t len, shipoff_rules_captures_t *caps);
static int shipoff_rules_glob(const char *pattern, size_t plen,
    const char *path, size_t len, shipoff_rules_captures_t *caps);
static int shipoff_rules_segment(shipoff_rules_segment_t *seg,
    const char *pattern, size_t plen, size_t p, size_t q, size_t first,
    int search);
static int shipoff_rules_search(shipoff_rules_segment_t *seg, const char *path,
    size_t len, size_t from, int last, shipoff_rules_captures_t *caps,
    size_t *start, size_t *end);
static int shipoff_rules_walk(shipoff_rules_segment_t *seg, const char *path,
    size_t len, size_t c, size_t first, shipoff_rules_captures_t *caps,
    size_t *end);
static int shipoff_rules_at(shipoff_rules_piece_t *pc, const char *path,
    size_t x, size_t len);
static int shipoff_rules_feed(shipoff_rules_piece_t *pc, const char *path,
    size_t to, int stop);
static size_t shipoff_rules_param(const char *pattern, size_t plen, size_t p);
static size_t shipoff_rules_count_params(const char *pattern, size_t len);
static int shipoff_rules_is_url(const char *s, size_t len);
static int shipoff_rules_is_name(int c);
static int shipoff_rules_is_tchar(int c);
static int shipoff_rules_strcaseeq(const char *a, size_t len, const char *b);


/* headers that would break HTTP framing or that nginx owns */
static const char  *shipoff_rules_reserved[] = {
    "connection",
    "content-encoding",
    "content-length",
    "content-range",
    "date",
    "keep-alive",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    NULL
};


/* headers that set cookies (Set-Cookie2: RFC 2965, obsolete) */
static const char  *shipoff_rules_cookies[] = {
    "set-cookie",
    "set-cookie2",
    NULL
};


int
shipoff_rules_parse_redirects(shipoff_rules_t *rules, const char *buf,
    size_t len, shipoff_rules_arena_t *arena)
{
    char                         *decoded;
    size_t                        n, nlines, line_len;
    const char                   *pos, *end, *line, *err;
    shipoff_rules_redirect_t      rd;

    rules->nredirects = 0;
    rules->redirects = shipoff_rules_per_line(buf, len,
                                              sizeof(shipoff_rules_redirect_t),
                                              arena, &nlines);
    if (rules->redirects == NULL) {
        return (len == 0) ? 0 : -1;
    }

    pos = buf;
    end = buf + len;

    for (n = 1; pos < end; n++) {
        line = shipoff_rules_line(&pos, end, &line_len);

        err = shipoff_rules_redirect(&rd, line, line_len);

        if (err == NULL && rules->nredirects == SHIPOFF_RULES_MAX) {
            shipoff_rules_error(rules, n, SHIPOFF_RULES_TOO_MANY);
            break;
        }

        if (err == NULL && rd.to.data[0] == '/'
            && memchr(rd.to.data, '%', rd.to.len) != NULL)
        {
            /* a file of the site is named by a decoded path, as r->uri is */

            decoded = arena->alloc(arena->data, rd.to.len);
            if (decoded == NULL) {
                return -1;
            }

            err = shipoff_rules_unescape(decoded, &rd.to);
        }

        if (err == NULL) {
            rules->redirects[rules->nredirects++] = rd;

        } else if (*err != '\0') {
            shipoff_rules_error(rules, n, err);
        }
    }

    return 0;
}


/* NULL: a rule; "": nothing (a blank or comment line); else why not */

static const char *
shipoff_rules_redirect(shipoff_rules_redirect_t *rd, const char *line,
    size_t len)
{
    size_t                    n, i, f;
    unsigned                  status;
    const char               *s;
    shipoff_rules_span_t      fields[5];

    n = shipoff_rules_fields(line, len, fields, 5);

    if (n == 0) {
        return "";
    }

    if (n == 1) {
        return "a rule needs a path and a target";
    }

    if (shipoff_rules_is_url(fields[0].data, fields[0].len)) {
        return "rules matching a host are not supported";
    }

    if (fields[0].data[0] != '/') {
        return "the path must start with \"/\"";
    }

    s = shipoff_rules_pattern(fields[0].data, fields[0].len);
    if (s != NULL) {
        return s;
    }

    if (shipoff_rules_count_params(fields[0].data, fields[0].len)
        > SHIPOFF_RULES_MAX_PARAMS)
    {
        return "too many placeholders";
    }

    if (fields[1].len > SHIPOFF_RULES_PATTERN_MAX) {
        return "a target of more than "
               SHIPOFF_RULES_STR(SHIPOFF_RULES_PATTERN_MAX)
               " bytes";
    }

    f = 1;

    if (memchr(fields[1].data, '=', fields[1].len) != NULL
        && fields[1].data[0] != '/'
        && !shipoff_rules_is_url(fields[1].data, fields[1].len))
    {
        return "query parameter conditions are not supported";
    }

    if (fields[f].data[0] != '/'
        && !shipoff_rules_is_url(fields[f].data, fields[f].len))
    {
        return "the target must be a path or an http(s) URL";
    }

    rd->from = fields[0];
    rd->to = fields[f];
    rd->status = 301;
    rd->force = 0;

    f++;

    if (f < n) {
        s = fields[f].data;

        if (fields[f].len < 3 || fields[f].len > 4
            || s[0] < '1' || s[0] > '9'
            || s[1] < '0' || s[1] > '9'
            || s[2] < '0' || s[2] > '9'
            || (fields[f].len == 4 && s[3] != '!'))
        {
            return "invalid status";
        }

        status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');

        switch (status) {
        case 200:
        case 301:
        case 302:
        case 303:
        case 307:
        case 308:
        case 404:
        case 410:
            break;

        default:
            return "unsupported status";
        }

        rd->status = status;
        rd->force = (fields[f].len == 4);

        f++;
    }

    if (f < n) {
        return "conditions (Country, Language, Role...) are not supported";
    }

    if (rd->status == 200 || rd->status == 404 || rd->status == 410) {

        if (rd->to.data[0] != '/') {
            return "proxying to a URL is not supported";
        }
    }

    for (i = 0; i < rd->to.len; i++) {
        if ((unsigned char) rd->to.data[i] < 0x20) {
            return "control character in the target";
        }
    }

    return NULL;
}


/*
 * Decodes the %XX escapes of a rewrite target's path (its query stays as
 * written) into dst, at least to->len bytes, and points to at it.
 */

static const char *
shipoff_rules_unescape(char *dst, shipoff_rules_span_t *to)
{
    int          hi, lo;
    size_t       i, n;
    const char  *src;

    src = to->data;
    n = 0;

    for (i = 0; i < to->len; i++) {

        if (src[i] == '?') {
            memcpy(dst + n, src + i, to->len - i);
            n += to->len - i;
            break;
        }

        if (src[i] == '%' && i + 2 < to->len
            && (hi = shipoff_rules_hex(src[i + 1])) >= 0
            && (lo = shipoff_rules_hex(src[i + 2])) >= 0)
        {
            dst[n] = (char) (hi * 16 + lo);

            if (dst[n] == '\0') {
                return "NUL in the target";
            }

            n++;
            i += 2;
            continue;
        }

        dst[n++] = src[i];
    }

    to->data = dst;
    to->len = n;

    return NULL;
}


static int
shipoff_rules_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
shipoff_rules_parse_headers(shipoff_rules_t *rules, const char *buf,
    size_t len, shipoff_rules_arena_t *arena)
{
    size_t                           n, nlines, line_len, nheaders;
    const char                      *pos, *end, *line, *err;
    shipoff_rules_header_t          *headers;
    shipoff_rules_header_rule_t     *rule;

    rules->nheaders = 0;
    rules->headers = shipoff_rules_per_line(buf, len,
                                            sizeof(shipoff_rules_header_rule_t),
                                            arena, &nlines);
    if (rules->headers == NULL) {
        return (len == 0) ? 0 : -1;
    }

    /* the headers of all rules, each rule's consecutive */

    headers = arena->alloc(arena->data,
                           nlines * sizeof(shipoff_rules_header_t));
    if (headers == NULL) {
        return -1;
    }

    nheaders = 0;
    rule = NULL;

    pos = buf;
    end = buf + len;

    for (n = 1; pos < end; n++) {
        line = shipoff_rules_line(&pos, end, &line_len);
        shipoff_rules_trim(&line, &line_len);

        if (line_len == 0 || line[0] == '#') {
            continue;
        }

        if (line[0] == '/') {
            rule = NULL;

            err = shipoff_rules_header_path(line, line_len);
            if (err) {
                shipoff_rules_error(rules, n, err);
                continue;
            }

            if (rules->nheaders == SHIPOFF_RULES_MAX) {
                shipoff_rules_error(rules, n,
                                    SHIPOFF_RULES_TOO_MANY);
                break;
            }

            rule = &rules->headers[rules->nheaders++];

            rule->path.data = line;
            rule->path.len = line_len;
            rule->headers = &headers[nheaders];
            rule->nheaders = 0;

            continue;
        }

        if (shipoff_rules_is_url(line, line_len)) {
            shipoff_rules_error(rules, n, "rules matching a host "
                                                   "are not supported");
            rule = NULL;
            continue;
        }

        if (rule == NULL) {
            shipoff_rules_error(rules, n, "a header before any path");
            continue;
        }

        if (nheaders == SHIPOFF_RULES_MAX) {
            shipoff_rules_error(rules, n, SHIPOFF_RULES_TOO_MANY);
            break;
        }

        err = shipoff_rules_header(&headers[nheaders], line,
                                   line_len);
        if (err) {
            shipoff_rules_error(rules, n, err);
            continue;
        }

        nheaders++;
        rule->nheaders++;
    }

    return 0;
}


/* a line of _headers without its leading and trailing blanks */

static void
shipoff_rules_trim(const char **line, size_t *len)
{
    while (*len && (**line == ' ' || **line == '\t')) {
        (*line)++;
        (*len)--;
    }

    while (*len && ((*line)[*len - 1] == ' ' || (*line)[*len - 1] == '\t')) {
        (*len)--;
    }
}


/* the path line that opens a rule of _headers; NULL or what is wrong */

static const char *
shipoff_rules_header_path(const char *line, size_t len)
{
    if (memchr(line, ' ', len) || memchr(line, '\t', len)) {
        return "a path must be alone on its line";
    }

    return shipoff_rules_pattern(line, len);
}


static const char *
shipoff_rules_header(shipoff_rules_header_t *h, const char *line, size_t len)
{
    size_t        i, name_len;
    const char  **reserved;

    for (name_len = 0; name_len < len; name_len++) {
        if (line[name_len] == ':') {
            break;
        }
    }

    if (name_len == len) {
        return "expected \"Name: value\"";
    }

    h->name.data = line;
    h->name.len = name_len;

    while (h->name.len
           && (line[h->name.len - 1] == ' ' || line[h->name.len - 1] == '\t'))
    {
        h->name.len--;
    }

    if (h->name.len == 0) {
        return "empty header name";
    }

    for (i = 0; i < h->name.len; i++) {
        if (!shipoff_rules_is_tchar((unsigned char) line[i])) {
            return "invalid header name";
        }
    }

    for (reserved = shipoff_rules_reserved; *reserved; reserved++) {
        if (shipoff_rules_strcaseeq(h->name.data, h->name.len,
                                             *reserved))
        {
            return "this header cannot be set";
        }
    }

    /*
     * Every site is a subdomain of the apps domain: a cookie one sets
     * with Domain= would reach, and shadow, the cookies of all the others.
     */

    for (reserved = shipoff_rules_cookies; *reserved; reserved++) {
        if (shipoff_rules_strcaseeq(h->name.data, h->name.len,
                                             *reserved))
        {
            return "a site cannot set cookies";
        }
    }

    h->value.data = line + name_len + 1;
    h->value.len = len - name_len - 1;

    while (h->value.len
           && (h->value.data[0] == ' ' || h->value.data[0] == '\t'))
    {
        h->value.data++;
        h->value.len--;
    }

    for (i = 0; i < h->value.len; i++) {
        if ((unsigned char) h->value.data[i] < 0x20
            && h->value.data[i] != '\t')
        {
            return "control character in a header value";
        }

        if ((unsigned char) h->value.data[i] == 0x7f) {
            return "control character in a header value";
        }
    }

    return NULL;
}


static void
shipoff_rules_error(shipoff_rules_t *rules, size_t line, const char *err)
{
    size_t  len;

    if (rules->nerrors++ > 0) {
        return;
    }

    rules->error_line = line;

    len = strlen(err);

    if (len > sizeof(rules->errstr) - 1) {
        len = sizeof(rules->errstr) - 1;
    }

    memcpy(rules->errstr, err, len);
    rules->errstr[len] = '\0';
}


/*
 * What no pattern may be, in either file: NULL, or why not.  A pattern's
 * cost is linear in its length and the URI's, but a placeholder in a
 * segment after a "*" is tried at every "/" of the URI: Netlify's syntax
 * has none there.
 */

static const char *
shipoff_rules_pattern(const char *pattern, size_t len)
{
    const char  *star;

    if (len > SHIPOFF_RULES_PATTERN_MAX) {
        return "a path of more than "
               SHIPOFF_RULES_STR(SHIPOFF_RULES_PATTERN_MAX)
               " bytes";
    }

    star = memchr(pattern, '*', len);

    if (star != NULL
        && shipoff_rules_count_params(star, pattern + len - star))
    {
        return "a placeholder after \"*\"";
    }

    return NULL;
}


/*
 * An array of one element of size for each line of buf, at most
 * SHIPOFF_RULES_MAX, their number in *n (a final line without a newline
 * counts, "" has none): NULL when there is none, or when the arena is out
 * of memory.
 */

static void *
shipoff_rules_per_line(const char *buf, size_t len, size_t size,
    shipoff_rules_arena_t *arena, size_t *n)
{
    const char  *p, *end;

    *n = 0;
    end = buf + len;

    for (p = buf; p < end; p++) {
        if (*p == '\n') {
            (*n)++;
        }
    }

    if (len && buf[len - 1] != '\n') {
        (*n)++;
    }

    if (*n > SHIPOFF_RULES_MAX) {
        *n = SHIPOFF_RULES_MAX;
    }

    return (*n == 0) ? NULL : arena->alloc(arena->data, *n * size);
}


/* the next line without its "\n" or "\r\n" */

static const char *
shipoff_rules_line(const char **pos, const char *end, size_t *len)
{
    const char  *line, *nl;

    line = *pos;

    nl = memchr(line, '\n', end - line);

    if (nl == NULL) {
        *len = end - line;
        *pos = end;

    } else {
        *len = nl - line;
        *pos = nl + 1;
    }

    if (*len && line[*len - 1] == '\r') {
        (*len)--;
    }

    return line;
}


/* whitespace-separated fields up to a "#" comment; at most max are kept */

static size_t
shipoff_rules_fields(const char *line, size_t len,
    shipoff_rules_span_t *fields, size_t max)
{
    size_t  i, n, start;

    n = 0;
    i = 0;

    for ( ;; ) {
        while (i < len && (line[i] == ' ' || line[i] == '\t')) {
            i++;
        }

        if (i == len || line[i] == '#') {
            return n;
        }

        start = i;

        while (i < len && line[i] != ' ' && line[i] != '\t') {
            i++;
        }

        if (n == max) {
            return n;
        }

        fields[n].data = line + start;
        fields[n].len = i - start;
        n++;
    }
}


int
shipoff_rules_match(const char *pattern, size_t pattern_len, const char *path,
    size_t path_len)
{
    shipoff_rules_captures_t     caps;

    return shipoff_rules_match_captures(pattern, pattern_len,
                                        path, path_len, &caps);
}


static int
shipoff_rules_match_captures(const char *pattern, size_t plen,
    const char *path, size_t len, shipoff_rules_captures_t *caps)
{
    caps->nparams = 0;
    caps->splat.data = path;
    caps->splat.len = 0;

    if (plen > SHIPOFF_RULES_PATTERN_MAX) {
        return 0;
    }

    if (len > 1 && path[len - 1] == '/') {
        len--;
    }

    if (plen > 1 && pattern[plen - 1] == '/') {
        plen--;
    }

    if (shipoff_rules_glob(pattern, plen, path, len, caps)) {
        return 1;
    }

    /* a final "*" segment may be missing: "/news" matches "/news/" + "*" */

    if (plen > 2 && pattern[plen - 2] == '/' && pattern[plen - 1] == '*'
        && shipoff_rules_glob(pattern, plen - 2, path, len, caps))
    {
        caps->splat.data = path + len;
        caps->splat.len = 0;
        return 1;
    }

    return 0;
}


/*
 * The pattern is cut at its "*"s into segments.  The first is matched at
 * the start of the path; each of the others at the first place after the
 * previous one where it matches (the last one: where it ends the path),
 * the "*" before it taking what lies between.  A ":name" placeholder
 * always takes its whole segment, so a segment's match at a place is
 * decided without going back, and the places of its literal runs move
 * forward from one candidate to the next: each run is searched for with
 * its own Knuth-Morris-Pratt automaton that only ever reads forward.  A
 * segment costs its length plus the path's times one more than its
 * placeholders (at most SHIPOFF_RULES_MAX_PARAMS).
 */

static int
shipoff_rules_glob(const char *pattern, size_t plen, const char *path,
    size_t len, shipoff_rules_captures_t *caps)
{
    size_t                        p, q, s, start, end;
    shipoff_rules_segment_t       seg;

    caps->nparams = 0;
    caps->splat.data = path + len;
    caps->splat.len = 0;

    s = 0;

    for (p = 0; /* void */; p = q + 1) {

        for (q = p; q < plen && pattern[q] != '*'; q++) {
            /* void */
        }

        if (p == 0) {
            if (shipoff_rules_segment(&seg, pattern, plen, p, q,
                                      caps->nparams, 0)
                != 0
                || shipoff_rules_walk(&seg, path, len, 0, 0, caps,
                                      &end)
                   != SHIPOFF_RULES_WALK_MATCH)
            {
                return 0;
            }

            s = end;

        } else if (p < q) {
            if (shipoff_rules_segment(&seg, pattern, plen, p, q,
                                      caps->nparams, 1)
                != 0
                || !shipoff_rules_search(&seg, path, len, s,
                                         q == plen, caps, &start,
                                         &end))
            {
                return 0;
            }

            caps->splat.data = path + s;
            caps->splat.len = start - s;
            s = end;

        } else if (q == plen) {
            /* a final "*" takes the rest */
            caps->splat.data = path + s;
            caps->splat.len = len - s;
            return 1;

        } else {
            /* "**" */
            continue;
        }

        caps->nparams += seg.nparams;

        if (q == plen) {
            return s == len;
        }

        if (s == len) {
            /* only "*"s may be left: they match nothing */

            while (q < plen && pattern[q] == '*') {
                q++;
            }

            return q == plen;
        }
    }
}


/*
 * Cuts pattern[p, q), which has no "*", into literal runs, each followed
 * by a placeholder but the last; first is the number of placeholders
 * before it.  Runs that will be searched for (search) get their
 * automaton's failure function.  Returns 0, or -1 if the segment can
 * match nothing: a placeholder past SHIPOFF_RULES_MAX_PARAMS
 * never does.
 */

static int
shipoff_rules_segment(shipoff_rules_segment_t *seg, const char *pattern,
    size_t plen, size_t p, size_t q, size_t first, int search)
{
    size_t                     i, e, k;
    uint16_t                  *fail;
    shipoff_rules_piece_t     *pc;

    seg->npieces = 0;
    seg->nparams = 0;

    pc = &seg->pieces[0];
    pc->data = pattern + p;

    for (i = p; i < q; /* void */) {
        e = shipoff_rules_param(pattern, plen, i);

        if (e == 0) {
            i++;
            continue;
        }

        if (first + seg->nparams == SHIPOFF_RULES_MAX_PARAMS) {
            return -1;
        }

        pc->len = pattern + i - pc->data;
        pc->name.data = pattern + i + 1;
        pc->name.len = e - i - 1;
        seg->nparams++;

        pc++;
        pc->data = pattern + e;
        i = e;
    }

    pc->len = pattern + q - pc->data;
    pc->name.data = NULL;

    seg->npieces = pc - seg->pieces + 1;

    if (q == plen && seg->npieces == 1) {
        /* a final literal run has one place: where it ends the path */
        search = 0;
    }

    fail = seg->fail;

    for (pc = seg->pieces; pc < seg->pieces + seg->npieces; pc++) {
        pc->fed = 0;
        pc->state = 0;
        pc->fail = NULL;

        if (!search) {
            continue;
        }

        /* fail[i]: the longest proper border of data[0, i) */

        pc->fail = fail;
        fail[0] = 0;

        if (pc->len) {
            fail[1] = 0;
        }

        for (i = 1, k = 0; i < pc->len; i++) {
            while (k > 0 && pc->data[i] != pc->data[k]) {
                k = fail[k];
            }

            if (pc->data[i] == pc->data[k]) {
                k++;
            }

            fail[i + 1] = (uint16_t) k;
        }

        fail += pc->len + 1;
    }

    return 0;
}


/*
 * The first place at or after from where seg matches (last: and ends the
 * path): 1 and its start and end, or 0.  The candidates are the places of
 * the first run, which is never empty (a placeholder follows a "/"), but
 * for a final run alone, which has one.
 */

static int
shipoff_rules_search(shipoff_rules_segment_t *seg, const char *path,
    size_t len, size_t from, int last, shipoff_rules_captures_t *caps,
    size_t *start, size_t *end)
{
    size_t                     i, c;
    shipoff_rules_piece_t     *pc;

    pc = &seg->pieces[0];

    if (pc->fail == NULL) {
        if (len - from < pc->len
            || memcmp(path + len - pc->len, pc->data, pc->len) != 0)
        {
            return 0;
        }

        *start = len - pc->len;
        *end = len;
        return 1;
    }

    for (i = 0; i < seg->npieces; i++) {
        seg->pieces[i].fed = from;
    }

    for ( ;; ) {
        if (!shipoff_rules_feed(pc, path, len, 1)) {
            return 0;
        }

        c = pc->fed - pc->len;

        switch (shipoff_rules_walk(seg, path, len, c, 1, caps, end)) {

        case SHIPOFF_RULES_WALK_MATCH:
            if (!last || *end == len) {
                *start = c;
                return 1;
            }

            break;

        case SHIPOFF_RULES_WALK_END:
            /* the path ended inside the segment: a later place would too */
            return 0;

        default:
            break;
        }
    }
}


/*
 * Whether seg matches at path[c, ...), from its piece first on (the ones
 * before are known to match), and where it ends.  A placeholder takes the
 * whole segment of the path, the captures are written as they are met.
 */

static int
shipoff_rules_walk(shipoff_rules_segment_t *seg, const char *path, size_t len,
    size_t c, size_t first, shipoff_rules_captures_t *caps, size_t *end)
{
    int                           rc;
    size_t                        i, x, n;
    shipoff_rules_piece_t        *pc;
    shipoff_rules_capture_t      *cap;

    x = c;
    n = caps->nparams;

    for (i = 0; i < seg->npieces; i++) {
        pc = &seg->pieces[i];

        if (i >= first) {
            rc = shipoff_rules_at(pc, path, x, len);
            if (rc != SHIPOFF_RULES_WALK_MATCH) {
                return rc;
            }
        }

        x += pc->len;

        if (pc->name.data == NULL) {
            break;
        }

        if (x == len) {
            return SHIPOFF_RULES_WALK_END;
        }

        if (path[x] == '/') {
            return SHIPOFF_RULES_WALK_MISMATCH;
        }

        cap = &caps->params[n++];
        cap->name = pc->name;
        cap->value.data = path + x;

        while (x < len && path[x] != '/') {
            x++;
        }

        cap->value.len = path + x - cap->value.data;
    }

    *end = x;

    return SHIPOFF_RULES_WALK_MATCH;
}


/*
 * Whether the run pc is at path[x, ...): MATCH, MISMATCH, or END when the
 * path ends inside it after what it has of the run.  A searched run's
 * automaton reads on from where it stopped: its places only move forward.
 */

static int
shipoff_rules_at(shipoff_rules_piece_t *pc, const char *path, size_t x,
    size_t len)
{
    size_t  n;

    if (pc->len == 0) {
        return SHIPOFF_RULES_WALK_MATCH;
    }

    n = len - x < pc->len ? len - x : pc->len;

    if (pc->fail == NULL) {
        if (memcmp(path + x, pc->data, n) != 0) {
            return SHIPOFF_RULES_WALK_MISMATCH;
        }

        return n == pc->len ? SHIPOFF_RULES_WALK_MATCH
                            : SHIPOFF_RULES_WALK_END;
    }

    if (pc->fed < x) {
        /* nothing before x matters any more */
        pc->fed = x;
        pc->state = 0;
    }

    (void) shipoff_rules_feed(pc, path, x + n, 0);

    if (n == pc->len) {
        return pc->state == pc->len ? SHIPOFF_RULES_WALK_MATCH
                                    : SHIPOFF_RULES_WALK_MISMATCH;
    }

    /*
     * The path ends inside the run: the lengths of its ends that begin the
     * run are the state and its chain of borders; x only grows, so n only
     * shrinks and the chain is walked down once.
     */

    while (pc->state > n) {
        pc->state = pc->fail[pc->state];
    }

    return pc->state == n ? SHIPOFF_RULES_WALK_END
                          : SHIPOFF_RULES_WALK_MISMATCH;
}


/*
 * Feeds path[pc->fed, to) to the run's automaton; with stop, only up to
 * the next place where the whole run ends, and returns whether there was
 * one.
 */

static int
shipoff_rules_feed(shipoff_rules_piece_t *pc, const char *path, size_t to,
    int stop)
{
    int              found;
    char             c;
    size_t           st, fed, len;
    const char      *data;
    const uint16_t  *fail;

    /* in locals: a char read may alias *pc */

    found = 0;
    st = pc->state;
    fed = pc->fed;
    len = pc->len;
    data = pc->data;
    fail = pc->fail;

    while (fed < to) {
        c = path[fed++];

        while (st > 0 && (st == len || data[st] != c)) {
            st = fail[st];
        }

        if (data[st] == c) {
            st++;
        }

        if (stop && st == len) {
            found = 1;
            break;
        }
    }

    pc->state = st;
    pc->fed = fed;

    return found;
}


/*
 * If a ":name" placeholder starts at p (a whole segment: after "/", before
 * "/" or the end), the offset just past it; else 0.
 */

static size_t
shipoff_rules_param(const char *pattern, size_t plen, size_t p)
{
    size_t  e;

    if (p == 0 || p >= plen || pattern[p] != ':' || pattern[p - 1] != '/') {
        return 0;
    }

    for (e = p + 1; e < plen && shipoff_rules_is_name(pattern[e]); e++)
    {
        /* void */
    }

    if (e == p + 1 || (e < plen && pattern[e] != '/')) {
        return 0;
    }

    return e;
}


static size_t
shipoff_rules_count_params(const char *pattern, size_t len)
{
    size_t  p, n;

    n = 0;

    for (p = 0; p < len; p++) {
        if (shipoff_rules_param(pattern, len, p)) {
            n++;
        }
    }

    return n;
}


long
shipoff_rules_rewrite(shipoff_rules_redirect_t *redirect, const char *path,
    size_t path_len, char *out, size_t size)
{
    size_t                        i, e, k, n;
    const char                   *to;
    shipoff_rules_span_t         *value;
    shipoff_rules_captures_t      caps;

    if (!shipoff_rules_match_captures(redirect->from.data,
                                      redirect->from.len,
                                      path, path_len, &caps))
    {
        return 0;
    }

    to = redirect->to.data;
    n = 0;

    for (i = 0; i < redirect->to.len; i = e) {

        value = NULL;
        e = i + 1;

        if (to[i] == ':') {
            while (e < redirect->to.len
                   && shipoff_rules_is_name(to[e]))
            {
                e++;
            }

            if (e - i - 1 == 5 && memcmp(to + i + 1, "splat", 5) == 0) {
                value = &caps.splat;

            } else {
                for (k = 0; k < caps.nparams; k++) {
                    if (caps.params[k].name.len == e - i - 1
                        && memcmp(caps.params[k].name.data, to + i + 1,
                                  e - i - 1)
                           == 0)
                    {
                        value = &caps.params[k].value;
                        break;
                    }
                }
            }

            if (value == NULL) {
                e = i + 1;
            }
        }

        if (value == NULL) {
            if (n == size) {
                return -1;
            }

            out[n++] = to[i];
            continue;
        }

        if (size - n < value->len) {
            return -1;
        }

        memcpy(out + n, value->data, value->len);
        n += value->len;
    }

    /* a target is never empty: it starts with "/" or a scheme */

    return (long) n;
}


int
shipoff_rules_safe_path(const char *path, size_t len)
{
    char    c;
    size_t  i;

    if (len == 0 || path[0] != '/') {
        return 0;
    }

    /* a "." or ".." segment is met at its first ".", right after a "/" */

    for (i = 1; i < len; i++) {
        c = path[i];

        if (c == '.') {
            if (path[i - 1] == '/'
                && (i + 1 == len || path[i + 1] == '/'
                    || (path[i + 1] == '.'
                        && (i + 2 == len || path[i + 2] == '/'))))
            {
                return 0;
            }

            continue;
        }

        if (c == '\0' || c == '\\') {
            return 0;
        }
    }

    return 1;
}


int
shipoff_rules_fingerprinted(const char *path, size_t len)
{
    int     letter, digit, valid, last;
    char    c;
    size_t  i, end;

    /*
     * One pass from the end of the name: a part is known to have a
     * separator on both sides when the one before it is reached, and
     * bundlers put the hash next to the extension, where it is met first.
     * The most frequent characters are tested first.
     */

    end = len;
    last = 1;
    letter = 0;
    digit = 0;
    valid = 1;

    for (i = len; i > 0; i--) {
        c = path[i - 1];

        if (c >= 'a' && c <= 'z') {
            letter = 1;
            continue;
        }

        if (c >= '0' && c <= '9') {
            digit = 1;
            continue;
        }

        if (c == '.' || c == '-') {

            /* the part path[i, end), the extension when it is the last */

            if (!last && valid && letter && digit
                && end - i >= 8 && end - i <= 64)
            {
                return 1;
            }

            end = i - 1;
            last = 0;
            letter = 0;
            digit = 0;
            valid = 1;
            continue;
        }

        if (c == '/') {
            break;
        }

        if (c >= 'A' && c <= 'Z') {
            letter = 1;

        } else if (c != '_') {
            valid = 0;
        }
    }

    return 0;
}


int
shipoff_rules_accepts(const char *value, size_t len, const char *coding)
{
    int          found, star, q;
    size_t       i, start, end, clen;
    const char  *p;

    clen = strlen(coding);
    found = -1;
    star = -1;
    i = 0;

    while (i < len) {

        while (i < len && (value[i] == ' ' || value[i] == '\t'
                           || value[i] == ','))
        {
            i++;
        }

        start = i;

        while (i < len && value[i] != ',' && value[i] != ';'
               && value[i] != ' ' && value[i] != '\t')
        {
            i++;
        }

        end = i;

        /* parameters: only "q" matters, and only whether it is zero */

        q = 1;

        while (i < len && value[i] != ',') {
            if (value[i] == '=' && i > 0
                && (value[i - 1] == 'q' || value[i - 1] == 'Q'))
            {
                p = value + i + 1;
                q = 0;

                while (p < value + len && *p != ',' && *p != ';') {
                    if (*p >= '1' && *p <= '9') {
                        q = 1;
                    }

                    p++;
                }
            }

            i++;
        }

        if (end == start) {
            continue;
        }

        if (end - start == 1 && value[start] == '*') {
            star = q;

        } else if (end - start == clen
                   && shipoff_rules_strcaseeq(value + start, clen,
                                              coding))
        {
            found = q;
        }
    }

    if (found != -1) {
        return found;
    }

    return star == 1;
}


static int
shipoff_rules_is_url(const char *s, size_t len)
{
    return (len > 7 && memcmp(s, "http://", 7) == 0)
           || (len > 8 && memcmp(s, "https://", 8) == 0);
}


static int
shipoff_rules_is_name(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}


/* RFC 9110 token characters */

static int
shipoff_rules_is_tchar(int c)
{
    return shipoff_rules_is_name(c)
           || (c != '\0' && strchr("!#$%&'*+-.^`|~", c) != NULL);
}


/* an ASCII case-insensitive comparison with a lowercase NUL-terminated b */

static int
shipoff_rules_strcaseeq(const char *a, size_t len, const char *b)
{
    size_t  i;
    int     c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) a[i];

        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        }

        if (b[i] == '\0' || c != b[i]) {
            return 0;
        }
    }

    return b[len] == '\0';
}
