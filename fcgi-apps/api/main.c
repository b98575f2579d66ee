/*
 * main.c: shipoff-api, the REST API FastCGI app.  The route table is the
 * whole map of the API, and of who may call it: each row names what the
 * route acts on and what it needs (so_fcgi.h), checked before its handler
 * runs.  Handlers live one concept per file.
 */

#include <stddef.h>

#include "api.h"


static const so_route_t  api_routes[] = {
    { "GET",    "/api/v1/health",
      SO_OBJ_PUBLIC, 0, so_health },
    /* nginx's wake module, through an internal location of the apps'
       server; outside /_shipoff/, which is nginx's own control API */
    { "GET",    "/_internal/wake",
      SO_OBJ_PUBLIC, 0, api_wake },
    /* Prometheus text of every app's usage: nginx passes it from its
       control socket only (/_shipoff/metrics/apps) */
    { "GET",    "/_internal/metrics",
      SO_OBJ_PUBLIC, 0, api_usage_metrics },

    { "GET",    "/api/v1/me",
      SO_OBJ_ACCOUNT, SO_NEED_READ, api_me_get },
    { "PATCH",  "/api/v1/me",
      SO_OBJ_NONE, SO_NEED_WRITE, api_me_patch },
    { "GET",    "/api/v1/quotas",
      SO_OBJ_NONE, SO_NEED_READ, api_quotas_get },
    { "POST",   "/api/v1/tokens",
      SO_OBJ_NONE, SO_NEED_WRITE, api_tokens_create },
    { "GET",    "/api/v1/tokens",
      SO_OBJ_NONE, SO_NEED_READ, api_tokens_list },
    { "DELETE", "/api/v1/tokens/:id",
      SO_OBJ_TOKEN, SO_NEED_DELETE, api_tokens_delete },

    { "POST",   "/api/v1/teams",
      SO_OBJ_NONE, SO_NEED_WRITE, api_teams_create },
    { "GET",    "/api/v1/teams",
      SO_OBJ_NONE, SO_NEED_READ, api_teams_list },
    { "GET",    "/api/v1/teams/:id",
      SO_OBJ_TEAM, SO_NEED_READ | SO_NEED_MEMBER, api_teams_get },
    { "PATCH",  "/api/v1/teams/:id",
      SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, api_teams_update },
    { "DELETE", "/api/v1/teams/:id",
      SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_OWNER, api_teams_delete },
    /* a member may leave: the handler asks the owner for anyone else */
    { "DELETE", "/api/v1/teams/:id/members/:user_id",
      SO_OBJ_TEAM, SO_NEED_DELETE | SO_NEED_MEMBER, api_teams_member_delete },
    { "POST",   "/api/v1/teams/:id/transfer",
      SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, api_teams_transfer },
    { "POST",   "/api/v1/teams/:id/invitations",
      SO_OBJ_TEAM, SO_NEED_WRITE | SO_NEED_OWNER, api_invitations_create },
    { "GET",    "/api/v1/invitations",
      SO_OBJ_NONE, SO_NEED_READ, api_invitations_list },
    { "POST",   "/api/v1/invitations/:id/accept",
      SO_OBJ_INVITATION, SO_NEED_WRITE | SO_NEED_INVITEE,
      api_invitations_accept },
    { "POST",   "/api/v1/invitations/:id/decline",
      SO_OBJ_INVITATION, SO_NEED_WRITE | SO_NEED_INVITEE,
      api_invitations_decline },

    { "POST",   "/api/v1/projects",
      SO_OBJ_NONE, SO_NEED_WRITE, api_projects_create },
    { "GET",    "/api/v1/projects",
      SO_OBJ_NONE, SO_NEED_READ, api_projects_list },
    { "GET",    "/api/v1/projects/:id",
      SO_OBJ_PROJECT, SO_NEED_READ, api_projects_get },
    { "PATCH",  "/api/v1/projects/:id",
      SO_OBJ_PROJECT, SO_NEED_WRITE, api_projects_update },
    { "DELETE", "/api/v1/projects/:id",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_projects_delete },
    { "POST",   "/api/v1/projects/:id/webhook-secret",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_projects_webhook_secret },
    { "GET",    "/api/v1/domains/check",
      SO_OBJ_NONE, SO_NEED_READ, api_domains_check },
    { "GET",    "/api/v1/projects/:id/access",
      SO_OBJ_PROJECT, SO_NEED_READ, api_access_get },
    { "POST",   "/api/v1/projects/:id/members",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_access_member_put },
    { "DELETE", "/api/v1/projects/:id/members/:user_id",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_access_member_delete },
    { "POST",   "/api/v1/projects/:id/teams",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_access_team_put },
    { "DELETE", "/api/v1/projects/:id/teams/:team_id",
      SO_OBJ_PROJECT, SO_NEED_DELETE, api_access_team_delete },
    { "POST",   "/api/v1/projects/:id/transfer",
      SO_OBJ_PROJECT, SO_NEED_DELETE | SO_NEED_OWNER, api_access_transfer },
    { "GET",    "/api/v1/projects/:id/transfer",
      SO_OBJ_PROJECT, SO_NEED_READ | SO_NEED_OWNER, api_access_transfer_get },
    { "DELETE", "/api/v1/projects/:id/transfer",
      SO_OBJ_PROJECT, SO_NEED_DELETE | SO_NEED_OWNER,
      api_access_transfer_cancel },
    { "GET",    "/api/v1/projects/:id/env",
      SO_OBJ_PROJECT, SO_NEED_READ, api_env_list },
    { "PUT",    "/api/v1/projects/:id/env/:key",
      SO_OBJ_PROJECT, SO_NEED_WRITE, api_env_put },
    { "DELETE", "/api/v1/projects/:id/env/:key",
      SO_OBJ_PROJECT, SO_NEED_WRITE, api_env_delete },
    { "POST",   "/api/v1/detect",
      SO_OBJ_NONE, SO_NEED_READ, api_detect },
    { "GET",    "/api/v1/detect/:id",
      SO_OBJ_DETECTION, SO_NEED_READ, api_detect_get },

    { "POST",   "/api/v1/projects/:id/deployments",
      SO_OBJ_PROJECT, SO_NEED_WRITE, api_deployments_create },
    { "GET",    "/api/v1/projects/:id/deployments",
      SO_OBJ_PROJECT, SO_NEED_READ, api_deployments_list },
    { "GET",    "/api/v1/deployments/:id",
      SO_OBJ_DEPLOYMENT, SO_NEED_READ, api_deployments_get },
    { "DELETE", "/api/v1/deployments/:id",
      SO_OBJ_DEPLOYMENT, SO_NEED_DELETE, api_deployments_delete },
    { "POST",   "/api/v1/deployments/:id/redeploy",
      SO_OBJ_DEPLOYMENT, SO_NEED_WRITE, api_deployments_redeploy },
    { "POST",   "/api/v1/deployments/:id/cancel",
      SO_OBJ_DEPLOYMENT, SO_NEED_WRITE, api_deployments_cancel },
    { "POST",   "/api/v1/deployments/:id/promote",
      SO_OBJ_DEPLOYMENT, SO_NEED_WRITE, api_deployments_promote },

    { "GET",    "/api/v1/deployments/:id/logs",
      SO_OBJ_DEPLOYMENT, SO_NEED_READ, api_logs_deployment },
    { "GET",    "/api/v1/deployments/:id/logs/stream",
      SO_OBJ_DEPLOYMENT, SO_NEED_READ, api_logs_stream },
    { "GET",    "/api/v1/projects/:id/logs",
      SO_OBJ_PROJECT, SO_NEED_READ, api_logs_project },
    { "GET",    "/api/v1/projects/:id/logs/stream",
      SO_OBJ_PROJECT, SO_NEED_READ, api_logs_project_stream },
    { "GET",    "/api/v1/projects/:id/usage",
      SO_OBJ_PROJECT, SO_NEED_READ, api_usage_get },
};


SO_FCGI_APP_MAIN("shipoff-api", api_routes, api_listen, api_init)
