/*
 * main.c: shipoff-auth, the authentication app (/auth/v1/...): accounts,
 * sessions, OAuth.
 */

#include <stddef.h>

#include "auth.h"


/* all public: these routes are how a caller gets credentials */
static const so_route_t  auth_routes[] = {
    { "GET",  "/auth/v1/health",  SO_OBJ_PUBLIC, 0, so_health },
    { "POST", "/auth/v1/signup",  SO_OBJ_PUBLIC, 0, auth_signup },
    { "POST", "/auth/v1/login",   SO_OBJ_PUBLIC, 0, auth_login },
    { "POST", "/auth/v1/refresh", SO_OBJ_PUBLIC, 0, auth_refresh },
    { "POST", "/auth/v1/logout",  SO_OBJ_PUBLIC, 0, auth_logout },
    { "GET",  "/auth/v1/providers", SO_OBJ_PUBLIC, 0, auth_oauth_providers },
    { "GET",  "/auth/v1/oauth/:provider/start",
      SO_OBJ_PUBLIC, 0, auth_oauth_start },
    { "GET",  "/auth/v1/oauth/:provider/callback",
      SO_OBJ_PUBLIC, 0, auth_oauth_callback },
    { "POST", "/auth/v1/oauth/finish", SO_OBJ_PUBLIC, 0, auth_oauth_finish },
};


SO_FCGI_APP_MAIN("shipoff-auth", auth_routes, auth_listen, auth_init)
