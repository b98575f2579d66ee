/*
 * so_repo.h: which repository URLs Shipoff agrees to clone.
 *
 *   https://host[:port]/path            always (if host is public)
 *   http://host[:port]/path             with allow_insecure_repos
 *   file:///absolute/path               with allow_insecure_repos
 *
 * No user:password@ (credentials do not belong in a stored URL: the
 * owner's GitHub token is used instead), no control characters or spaces,
 * at most SO_REPO_URL_MAX bytes.  Unless allow_private_repos, the host
 * must resolve to public addresses only (so_ssrf.h).  The API checks it
 * when a project is created or changed and before a detection clone; the
 * builder checks it again before every clone.
 */

#ifndef SO_REPO_H
#define SO_REPO_H

#include <stddef.h>

#include "so_config.h"

#define SO_REPO_URL_MAX  2048

typedef struct {
    char  scheme[8];                /* "https", "http", "file" */
    char  host[256];                /* "" for file:// */
    char  owner[128];               /* github.com: OWNER/REPO, else "" */
    char  repo[128];
} so_repo_url_t;

/*
 * Parses url (syntax only, no configuration): 0 or SO_EINVAL with
 * reason.  github.com URLs of the form https://github.com/OWNER/REPO[.git]
 * fill owner and repo.
 */
int so_repo_parse(so_repo_url_t *out, const char *url, char *reason,
    size_t len);

/*
 * so_repo_parse() plus the configuration's rules and the SSRF guard.
 * 0, or SO_EINVAL / SO_EDENIED with reason ("must be https://", "its host
 * resolves to a loopback address").
 */
int so_repo_check(so_repo_url_t *out, const so_config_t *cfg,
    const char *url, char *reason, size_t len);

#endif /* SO_REPO_H */
