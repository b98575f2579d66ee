/*
 * so_webhook.h: the pure parts of receiving a GitHub webhook, apart from
 * the FastCGI app so the unit tests reach them: checking the signature of
 * a delivery, and the key under which a repository URL is compared with a
 * project's repo_url.
 *
 * GitHub signs the raw body with HMAC-SHA256 under the hook's secret and
 * sends "X-Hub-Signature-256: sha256=<64 lower-case hex digits>".  Anything
 * else (another algorithm, upper case, a wrong length) is refused: GitHub
 * never sends it, so accepting it would only widen what an attacker may
 * try.
 */

#ifndef SO_WEBHOOK_H
#define SO_WEBHOOK_H

#include <stddef.h>

#define SO_WEBHOOK_SIG_PREFIX  "sha256="
#define SO_WEBHOOK_KEY_MAX     512      /* a repository key with its NUL */

/*
 * Checks header (NULL when absent) against HMAC-SHA256(secret, body) in
 * constant time.  0 when it matches, SO_EINVAL when the header is missing
 * or malformed, SO_EDENIED when it is well formed but does not match.
 */
int so_webhook_verify(const char *header, const void *secret,
    size_t secretlen, const void *body, size_t len);

/* the form of the header alone, before any secret is fetched: 0 or
 * SO_EINVAL */
int so_webhook_sig_check(const char *header);

/*
 * The comparison key of a repository URL: "host/owner/repo" with the host
 * in lower case, without scheme, user, ".git" or trailing slashes.
 * https://github.com/Octo/Hello.git, https://GitHub.com/Octo/Hello/ and
 * git@github.com:Octo/Hello.git all give "github.com/Octo/Hello".
 * 0, or SO_EINVAL for what is not a URL of a repository (no host, no path,
 * too long for out).
 */
int so_webhook_repo_key(char *out, size_t outlen, const char *url);

#endif /* SO_WEBHOOK_H */
