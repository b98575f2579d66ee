/*
 * hooks.h: the handlers of the webhook receiver app (/hooks/...).
 */

#ifndef HOOKS_H
#define HOOKS_H

#include "so_fcgi.h"

/* github.c: POST /hooks/github */
void hook_github(so_req_t *r);

#endif /* HOOKS_H */
