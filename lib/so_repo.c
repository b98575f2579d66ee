/*
 * so_repo.c: repository URL rules (see so_repo.h).
 *
 * A small, strict parser rather than a general URL library: what it
 * cannot take apart with certainty it refuses, so that the host we check
 * is the host libgit2 connects to.
 */

#include <stdio.h>
#include <string.h>

#include "shipoff.h"
#include "so_repo.h"
#include "so_ssrf.h"


static int so_repo_host(so_repo_url_t *out, const char *p, const char *path,
    char *reason, size_t len);
static int so_repo_github(so_repo_url_t *out, const char *path);
static int so_repo_segment(char *out, size_t outlen, const char *s,
    size_t len);


int
so_repo_parse(so_repo_url_t *out, const char *url, char *reason, size_t len)
{
    const char  *p, *path;
    size_t       i, n;

    memset(out, 0, sizeof(*out));
    reason[0] = '\0';

    n = strlen(url);
    if (n == 0 || n > SO_REPO_URL_MAX) {
        snprintf(reason, len, "must be 1 to %d characters", SO_REPO_URL_MAX);
        return SO_EINVAL;
    }

    for (i = 0; i < n; i++) {
        if ((unsigned char) url[i] <= 0x20 || url[i] == 0x7f
            || url[i] == '\\')
        {
            snprintf(reason, len, "may not hold spaces, backslashes or "
                     "control characters");
            return SO_EINVAL;
        }
    }

    if (strncmp(url, "https://", 8) == 0) {
        memcpy(out->scheme, "https", 6);
        p = url + 8;

    } else if (strncmp(url, "http://", 7) == 0) {
        memcpy(out->scheme, "http", 5);
        p = url + 7;

    } else if (strncmp(url, "file:///", 8) == 0) {
        memcpy(out->scheme, "file", 5);
        return SO_OK;

    } else {
        snprintf(reason, len, "must be an https:// URL");
        return SO_EINVAL;
    }

    path = strchr(p, '/');
    if (path == NULL || path[1] == '\0') {
        snprintf(reason, len, "must name a repository path");
        return SO_EINVAL;
    }

    if (memchr(p, '@', (size_t) (path - p)) != NULL) {
        snprintf(reason, len, "may not carry credentials");
        return SO_EINVAL;
    }

    if (strpbrk(url, "?#") != NULL) {
        snprintf(reason, len, "may not carry a query or a fragment");
        return SO_EINVAL;
    }

    if (so_repo_host(out, p, path, reason, len) != SO_OK) {
        return SO_EINVAL;
    }

    if (strcmp(out->scheme, "https") == 0
        && strcmp(out->host, "github.com") == 0)
    {
        (void) so_repo_github(out, path + 1);
    }

    return SO_OK;
}


/*
 * The host and optional port between p and path (the "/" that ends them):
 * the host, lowercased, into out->host.
 */
static int
so_repo_host(so_repo_url_t *out, const char *p, const char *path,
    char *reason, size_t len)
{
    const char  *host, *end;
    size_t       i;

    /* host: [v6] or a name / IPv4, then an optional :port */
    if (*p == '[') {
        host = p + 1;
        end = memchr(host, ']', (size_t) (path - host));
        if (end == NULL
            || strspn(host, "0123456789abcdefABCDEF:.")
               != (size_t) (end - host))
        {
            snprintf(reason, len, "has a malformed host");
            return SO_EINVAL;
        }
        p = end + 1;

    } else {
        host = p;
        for (end = host; end < path && *end != ':'; end++) {
            if (!((*end >= 'a' && *end <= 'z') || (*end >= 'A' && *end <= 'Z')
                  || (*end >= '0' && *end <= '9') || *end == '-'
                  || *end == '.'))
            {
                snprintf(reason, len, "has a malformed host");
                return SO_EINVAL;
            }
        }
        p = end;
    }

    if (end == host || (size_t) (end - host) >= sizeof(out->host)) {
        snprintf(reason, len, "has a malformed host");
        return SO_EINVAL;
    }

    if (*p == ':') {
        for (p++, i = 0; p < path; p++, i++) {
            if (*p < '0' || *p > '9' || i == 5) {
                snprintf(reason, len, "has a malformed port");
                return SO_EINVAL;
            }
        }
        if (i == 0) {
            snprintf(reason, len, "has a malformed port");
            return SO_EINVAL;
        }
    }

    if (p != path) {
        snprintf(reason, len, "has a malformed host");
        return SO_EINVAL;
    }

    memcpy(out->host, host, (size_t) (end - host));

    for (i = 0; out->host[i] != '\0'; i++) {
        if (out->host[i] >= 'A' && out->host[i] <= 'Z') {
            out->host[i] = (char) (out->host[i] - 'A' + 'a');
        }
    }

    return SO_OK;
}


/* "OWNER/REPO", "OWNER/REPO.git", "OWNER/REPO/": else not a repo URL */
static int
so_repo_github(so_repo_url_t *out, const char *path)
{
    const char  *slash, *end;

    slash = strchr(path, '/');
    if (slash == NULL) {
        return SO_EINVAL;
    }

    end = slash + 1 + strcspn(slash + 1, "/");
    if (*end == '/' && end[1] != '\0') {
        return SO_EINVAL;
    }

    if (end - (slash + 1) > 4 && strncmp(end - 4, ".git", 4) == 0) {
        end -= 4;
    }

    if (so_repo_segment(out->owner, sizeof(out->owner), path,
                        (size_t) (slash - path)) != SO_OK
        || so_repo_segment(out->repo, sizeof(out->repo), slash + 1,
                           (size_t) (end - (slash + 1))) != SO_OK)
    {
        out->owner[0] = '\0';
        out->repo[0] = '\0';
        return SO_EINVAL;
    }

    return SO_OK;
}


/* a GitHub owner or repository name: A-Z a-z 0-9 - _ . */
static int
so_repo_segment(char *out, size_t outlen, const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || len >= outlen || (len <= 2 && s[0] == '.')) {
        return SO_EINVAL;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'
              || s[i] == '.'))
        {
            return SO_EINVAL;
        }
    }

    memcpy(out, s, len);
    out[len] = '\0';
    return SO_OK;
}


int
so_repo_check(so_repo_url_t *out, const so_config_t *cfg, const char *url,
    char *reason, size_t len)
{
    int  rc;

    rc = so_repo_parse(out, url, reason, len);
    if (rc != SO_OK) {
        return rc;
    }

    if (strcmp(out->scheme, "https") != 0 && !cfg->allow_insecure_repos) {
        snprintf(reason, len, "must be an https:// URL");
        return SO_EINVAL;
    }

    if (out->host[0] == '\0') {
        return SO_OK;
    }

    /* a private network is the operator's to open; metadata never is */
    if (cfg->allow_private_repos) {
        rc = so_ssrf_check_metadata(out->host, reason, len);
        return rc == SO_ENOTFOUND ? SO_OK : rc;
    }

    rc = so_ssrf_check_host(out->host, reason, len);
    if (rc == SO_ENOTFOUND) {
        return SO_EINVAL;
    }

    return rc;
}
