/*
 * api.h: the handlers of the REST API app (/api/v1/...).
 */

#ifndef API_H
#define API_H

#include "so_fcgi.h"

void api_echo(so_req_t *r);

/* init.c: the app's init hook */
int api_init(const so_config_t *cfg);

/* me.c */
void api_me_get(so_req_t *r);
void api_me_patch(so_req_t *r);

/* tokens.c */
void api_tokens_create(so_req_t *r);
void api_tokens_list(so_req_t *r);
void api_tokens_delete(so_req_t *r);

/* teams.c */
void api_teams_create(so_req_t *r);
void api_teams_list(so_req_t *r);
void api_teams_get(so_req_t *r);
void api_teams_update(so_req_t *r);
void api_teams_delete(so_req_t *r);
void api_teams_member_delete(so_req_t *r);
void api_teams_transfer(so_req_t *r);

/* invitations.c */
void api_invitations_create(so_req_t *r);
void api_invitations_list(so_req_t *r);
void api_invitations_accept(so_req_t *r);
void api_invitations_decline(so_req_t *r);

/*
 * Shared by the handlers (teams.c).  api_db_error answers a failed query:
 * 503 when the database is unreachable, else 500, and logs what failed.
 * api_tx runs "BEGIN", "COMMIT" or "ROLLBACK": 0 or SO_ERR.
 * api_no_content answers 204.  api_team_set_owner makes user the owner of
 * team and the old owner a member, inside a transaction that holds the
 * team row locked: 0, SO_ENOTFOUND when user is not a member, or SO_ERR.
 */
void api_db_error(so_req_t *r, const char *what);
int api_tx(so_req_t *r, const char *verb);
void api_no_content(so_req_t *r);
int api_team_set_owner(so_req_t *r, const char *team, const char *user);

#endif /* API_H */
