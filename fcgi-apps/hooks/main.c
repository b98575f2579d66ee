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


SO_FCGI_APP_MAIN("shipoff-hooks", hooks_routes, hooks_listen, NULL)
