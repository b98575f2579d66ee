/*
 * so_oauth.h: the OAuth providers' access tokens we keep, sealed.
 *
 * A user who signed in with GitHub or Google has a row in
 * oauth_identities; the provider's access token lives there sealed with
 * AES-256-GCM under master_key, with the AAD "oauth:<provider>:<user id>",
 * so a sealed token copied to another user's or provider's row does not
 * open.  The auth app seals at login; any program that acts on the user's
 * behalf (the GitHub webhooks set-up) gets the token back here.
 */

#ifndef SO_OAUTH_H
#define SO_OAUTH_H

#include "so_config.h"
#include "so_pg.h"

/*
 * Seals token for (provider, user_id): a malloc()ed string to *out.
 * 0, SO_EINVAL when master_key is missing or malformed, or SO_ERR.
 */
int so_oauth_seal(char **out, const so_config_t *cfg, const char *provider,
    long long user_id, const char *token);

/*
 * Opens what so_oauth_seal() wrote for the same (provider, user_id): a
 * malloc()ed token to *token (so_wipe and free it).  0, SO_EINVAL when it
 * does not open (another row's, tampered, another key), or SO_ERR.
 */
int so_oauth_open(char **token, const so_config_t *cfg, const char *provider,
    long long user_id, const char *sealed);

/*
 * The provider's access token of user_id ("github", "google").  0,
 * SO_ENOTFOUND when the user never signed in with that provider (or we kept
 * no token), SO_EUNAVAIL when PostgreSQL is down, SO_EINVAL when it does
 * not open, SO_ERR.  The caller wipes and frees *token.
 */
int so_oauth_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long user_id, const char *provider);

/* so_oauth_token() for GitHub, the one later API calls need */
int so_oauth_github_token(char **token, so_pg_t *pg, const so_config_t *cfg,
    long long user_id);

#endif /* SO_OAUTH_H */
