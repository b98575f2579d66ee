/*
 * main.c: shipoff-api, the REST API FastCGI app.  The route table is the
 * whole map of the API; handlers live one concept per file.
 */

#include <stddef.h>

#include "api.h"


static const so_route_t  api_routes[] = {
    { "GET",  "/api/v1/health", so_health },
    { "POST", "/api/v1/echo",   api_echo },
};


static const so_fcgi_app_t  api_app = {
    "shipoff-api",
    api_routes,
    sizeof(api_routes) / sizeof(api_routes[0]),
    offsetof(so_config_t, api_listen),
    NULL
};


int
main(int argc, char **argv)
{
    return so_fcgi_main(&api_app, argc, argv);
}
