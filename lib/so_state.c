/*
 * so_state.c: the deployment state machine as a table.  Keep it equal to
 * deployment_transitions in sql/0006_projects.sql.
 */

#include <string.h>

#include "shipoff.h"
#include "so_state.h"


static const char  *so_dstate_names[SO_DS_COUNT] = {
    "QUEUED", "BUILDING", "PROVISIONING", "PRODUCTION", "INACTIVE",
    "FAILED", "CANCELED"
};


#define T(s)  (1u << (s))

/* for each state, the set of states it may move to */
static const unsigned  so_dstate_next[SO_DS_COUNT] = {
    [SO_DS_QUEUED]       = T(SO_DS_BUILDING) | T(SO_DS_CANCELED)
                           | T(SO_DS_FAILED),
    [SO_DS_BUILDING]     = T(SO_DS_PROVISIONING) | T(SO_DS_FAILED)
                           | T(SO_DS_CANCELED) | T(SO_DS_QUEUED),
    [SO_DS_PROVISIONING] = T(SO_DS_PRODUCTION) | T(SO_DS_FAILED)
                           | T(SO_DS_QUEUED),
    [SO_DS_PRODUCTION]   = T(SO_DS_INACTIVE),
    [SO_DS_INACTIVE]     = T(SO_DS_PRODUCTION),
    [SO_DS_FAILED]       = 0,
    [SO_DS_CANCELED]     = 0,
};

#undef T


const char *
so_dstate_name(so_dstate_t s)
{
    return (unsigned) s < SO_DS_COUNT ? so_dstate_names[s] : NULL;
}


int
so_dstate_parse(so_dstate_t *out, const char *name)
{
    unsigned  i;

    for (i = 0; i < SO_DS_COUNT; i++) {
        if (strcmp(name, so_dstate_names[i]) == 0) {
            *out = (so_dstate_t) i;
            return SO_OK;
        }
    }

    return SO_EINVAL;
}


int
so_dstate_can(so_dstate_t from, so_dstate_t to)
{
    if ((unsigned) from >= SO_DS_COUNT || (unsigned) to >= SO_DS_COUNT) {
        return 0;
    }

    return (so_dstate_next[from] >> to) & 1;
}


int
so_dstate_is_finished(so_dstate_t s)
{
    return s == SO_DS_FAILED || s == SO_DS_INACTIVE || s == SO_DS_CANCELED;
}


int
so_dstate_ends_build(so_dstate_t from, so_dstate_t to)
{
    if (!so_dstate_can(from, to)) {
        return 0;
    }

    return to == SO_DS_FAILED || to == SO_DS_CANCELED
           || (from == SO_DS_PROVISIONING && to == SO_DS_PRODUCTION);
}
