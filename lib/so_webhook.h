/*
 * so_webhook.h: the pure parts of receiving a GitHub webhook, apart from
 * the FastCGI app so the unit tests reach them: checking the signature of
 * a delivery, and finding its repository before the signature is checked.
 * (Which projects a repository URL belongs to is decided in SQL by
 * shipoff_repo_key(), sql/0013_repo_key_env_names.sql.)
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
#include <jansson.h>

#define SO_WEBHOOK_SIG_PREFIX  "sha256="
#define SO_WEBHOOK_REPO_MAX    (64 * 1024)  /* bytes of "repository" */

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
 * The "repository" member of a delivery's top-level object, found without
 * parsing the rest of the body: before the signature is verified only
 * that member is worth memory (a 25 MB body of small values would take
 * hundreds of MB as JSON values).  The body is scanned once for the
 * extent of each member (strings and brackets, no recursion); only the
 * repository's value is parsed, and only when it is an object of at most
 * SO_WEBHOOK_REPO_MAX bytes (GitHub's are a few KB).  The first member of
 * that name counts; the full parse after authentication refuses
 * duplicates.
 *
 * 0 with *out a new reference to the object, or NULL when there is none
 * usable; SO_EINVAL when the body is not shaped as a JSON object
 * (unterminated, unbalanced, not an object).
 */
int so_webhook_repository(json_t **out, const char *body, size_t len);

#endif /* SO_WEBHOOK_H */
