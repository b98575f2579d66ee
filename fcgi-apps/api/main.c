/*
 * main.c: shipoff-api, the REST API FastCGI app.  The route table is the
 * whole map of the API; handlers live one concept per file.
 */

#include <stddef.h>

#include "api.h"


static const so_route_t  api_routes[] = {
    { "GET",  "/api/v1/health", so_health },
    { "GET",  "/_shipoff/wake", api_wake },

    { "GET",    "/api/v1/me",                          api_me_get },
    { "PATCH",  "/api/v1/me",                          api_me_patch },
    { "GET",    "/api/v1/quotas",                      api_quotas_get },
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

    { "POST",   "/api/v1/projects",                    api_projects_create },
    { "GET",    "/api/v1/projects",                    api_projects_list },
    { "GET",    "/api/v1/projects/:id",                api_projects_get },
    { "PATCH",  "/api/v1/projects/:id",                api_projects_update },
    { "DELETE", "/api/v1/projects/:id",                api_projects_delete },
    { "POST",   "/api/v1/projects/:id/webhook-secret",
      api_projects_webhook_secret },
    { "GET",    "/api/v1/domains/check",               api_domains_check },
    { "GET",    "/api/v1/projects/:id/access",         api_access_get },
    { "POST",   "/api/v1/projects/:id/members",        api_access_member_put },
    { "DELETE", "/api/v1/projects/:id/members/:user_id",
      api_access_member_delete },
    { "POST",   "/api/v1/projects/:id/teams",          api_access_team_put },
    { "DELETE", "/api/v1/projects/:id/teams/:team_id",
      api_access_team_delete },
    { "POST",   "/api/v1/projects/:id/transfer",       api_access_transfer },
    { "GET",    "/api/v1/projects/:id/transfer",
      api_access_transfer_get },
    { "DELETE", "/api/v1/projects/:id/transfer",
      api_access_transfer_cancel },
    { "GET",    "/api/v1/projects/:id/env",            api_env_list },
    { "PUT",    "/api/v1/projects/:id/env/:key",       api_env_put },
    { "DELETE", "/api/v1/projects/:id/env/:key",       api_env_delete },
    { "POST",   "/api/v1/detect",                      api_detect },
    { "GET",    "/api/v1/detect/:id",                  api_detect_get },

    { "POST",   "/api/v1/projects/:id/deployments",    api_deployments_create },
    { "GET",    "/api/v1/projects/:id/deployments",    api_deployments_list },
    { "GET",    "/api/v1/deployments/:id",             api_deployments_get },
    { "DELETE", "/api/v1/deployments/:id",             api_deployments_delete },
    { "POST",   "/api/v1/deployments/:id/redeploy",
      api_deployments_redeploy },
    { "POST",   "/api/v1/deployments/:id/cancel",      api_deployments_cancel },
    { "POST",   "/api/v1/deployments/:id/promote",
      api_deployments_promote },

    { "GET",    "/api/v1/deployments/:id/logs",        api_logs_deployment },
    { "GET",    "/api/v1/deployments/:id/logs/stream", api_logs_stream },
    { "GET",    "/api/v1/projects/:id/logs",           api_logs_project },
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
