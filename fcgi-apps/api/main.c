/*
 * main.c: shipoff-api, the REST API FastCGI app.  The route table is the
 * whole map of the API; handlers live one concept per file.
 */

#include <stddef.h>

#include "api.h"


static const so_route_t  api_routes[] = {
    { "GET",  "/api/v1/health", so_health },
    { "POST", "/api/v1/echo",   api_echo },

    { "GET",    "/api/v1/me",                          api_me_get },
    { "PATCH",  "/api/v1/me",                          api_me_patch },
    { "POST",   "/api/v1/tokens",                      api_tokens_create },
    { "GET",    "/api/v1/tokens",                      api_tokens_list },
    { "DELETE", "/api/v1/tokens/:id",                  api_tokens_delete },

    { "POST",   "/api/v1/teams",                       api_teams_create },
    { "GET",    "/api/v1/teams",                       api_teams_list },
    { "GET",    "/api/v1/teams/:id",                   api_teams_get },
    { "PATCH",  "/api/v1/teams/:id",                   api_teams_update },
    { "DELETE", "/api/v1/teams/:id",                   api_teams_delete },
    { "DELETE", "/api/v1/teams/:id/members/:user_id",
      api_teams_member_delete },
    { "POST",   "/api/v1/teams/:id/transfer",          api_teams_transfer },
    { "POST",   "/api/v1/teams/:id/invitations",
      api_invitations_create },
    { "GET",    "/api/v1/invitations",                 api_invitations_list },
    { "POST",   "/api/v1/invitations/:id/accept",
      api_invitations_accept },
    { "POST",   "/api/v1/invitations/:id/decline",
      api_invitations_decline },
};


static const so_fcgi_app_t  api_app = {
    "shipoff-api",
    api_routes,
    sizeof(api_routes) / sizeof(api_routes[0]),
    offsetof(so_config_t, api_listen),
    api_init
};


int
main(int argc, char **argv)
{
    return so_fcgi_main(&api_app, argc, argv);
}
