/*
 * main.c: shipoff-hooks, the webhook receiver (/hooks/...): GitHub push events.
 */

#include <stddef.h>

#include "hooks.h"


/* public: a delivery proves itself with the project's signature */
static const so_route_t  hooks_routes[] = {
    { "GET",  "/hooks/health", SO_OBJ_PUBLIC, 0, so_health },
    { "POST", "/hooks/github", SO_OBJ_PUBLIC, 0, hook_github },
};


static const so_fcgi_app_t  hooks_app = {
    "shipoff-hooks",
    hooks_routes,
    sizeof(hooks_routes) / sizeof(hooks_routes[0]),
    offsetof(so_config_t, hooks_listen),
    NULL
};


int
main(int argc, char **argv)
{
    return so_fcgi_main(&hooks_app, argc, argv);
}
