/*
 * main.c: shipoff-auth, the authentication app (/auth/v1/...): accounts, sessions, OAuth.
 */

#include <stddef.h>

#include "so_fcgi.h"


static const so_route_t  auth_routes[] = {
    { "GET", "/auth/v1/health", so_health },
};


static const so_fcgi_app_t  auth_app = {
    "shipoff-auth",
    auth_routes,
    sizeof(auth_routes) / sizeof(auth_routes[0]),
    offsetof(so_config_t, auth_listen),
    NULL
};


int
main(int argc, char **argv)
{
    return so_fcgi_main(&auth_app, argc, argv);
}
