/*
 * hooks.h: the handlers of the webhook receiver app (/hooks/...).
 */

#ifndef HOOKS_H
#define HOOKS_H

#include "so_fcgi.h"

/* github.c: POST /hooks/github */
void hook_github(so_req_t *r);

/*
 * limit.c: refusals before authentication, per client address.
 * hook_limited(): 1 with the request answered 429 (Retry-After) when the
 * address had webhook_fail_limit of them in the window, else 0.
 * hook_refused(): counts one.
 */
int hook_limited(so_req_t *r);
void hook_refused(so_req_t *r);

#endif /* HOOKS_H */
