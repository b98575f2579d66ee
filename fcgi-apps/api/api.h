/*
 * api.h: the handlers of the REST API app (/api/v1/...).
 */

#ifndef API_H
#define API_H

#include "so_fcgi.h"

void api_echo(so_req_t *r);

#endif /* API_H */
