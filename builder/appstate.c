/*
 * appstate.c: the life of a dynamic app as a pure function, so that every
 * transition is decided in one place and tested without root (apps.c
 * applies what it says: signals, routes, rows, spawns).
 *
 *   STARTING  --healthy-->            RUNNING
 *             --startup_timeout|exit--> CRASHED: FAILED or BACKOFF
 *   RUNNING   --drain-->              DRAINING     --exit--> CRASHED
 *   DRAINING  --due-->                STOPPING     --promoted|wake--> RUNNING
 *   STOPPING  --due|exit-->           gone (sleeping, or started again
 *                                     when woken meanwhile)
 *   BACKOFF   --due-->                STARTING     --drain--> gone
 */

#include "apps.h"


/* what a state's timer (app->due) running out brings */
static const bld_app_action_t  app_due[] = {
    [BLD_APP_STARTING] = BLD_APP_TIMEOUT,
    [BLD_APP_RUNNING] = BLD_APP_KEEP,
    [BLD_APP_DRAINING] = BLD_APP_TERM,
    [BLD_APP_STOPPING] = BLD_APP_KILL,
    [BLD_APP_BACKOFF] = BLD_APP_RESTART,
};


bld_app_action_t
bld_app_next(const bld_app_t *app, bld_app_event_t ev, int64_t now)
{
    bld_app_state_t  st;

    st = app->state;

    switch (ev) {
    case BLD_APP_EV_TICK:
        return now >= app->due ? app_due[st] : BLD_APP_KEEP;

    case BLD_APP_EV_HEALTHY:
        return st == BLD_APP_STARTING ? BLD_APP_READY : BLD_APP_KEEP;

    case BLD_APP_EV_EXITED:
        if (st != BLD_APP_DRAINING && st != BLD_APP_STOPPING) {
            return BLD_APP_CRASHED;
        }
        return app->wake ? BLD_APP_RESPAWN
               : app->to_sleep ? BLD_APP_SLEEP : BLD_APP_GONE;

    case BLD_APP_EV_DRAIN:
        /* one replaced already is on its way out; one going to sleep
           is replaced now */
        return st == BLD_APP_STOPPING
               || (st == BLD_APP_DRAINING && !app->to_sleep) ? BLD_APP_KEEP
               : st == BLD_APP_BACKOFF ? BLD_APP_DROP : BLD_APP_DRAIN;

    case BLD_APP_EV_PROMOTED:
        return st == BLD_APP_DRAINING ? BLD_APP_REVIVE
               : st == BLD_APP_RUNNING ? BLD_APP_ROUTE
               : st == BLD_APP_STOPPING ? BLD_APP_WAKE_LATER : BLD_APP_KEEP;

    case BLD_APP_EV_WAKE:
        /* one replaced (not put to sleep) stays on its way out */
        return st == BLD_APP_DRAINING && !app->to_sleep ? BLD_APP_KEEP
               : bld_app_next(app, BLD_APP_EV_PROMOTED, now);
    }

    return BLD_APP_KEEP;
}


int
bld_app_backoff_ms(const bld_app_t *app, int64_t now)
{
    if (app->backoff_ms == 0 || now - app->started >= BLD_APP_STABLE_MS) {
        return BLD_APP_BACKOFF_MIN;
    }

    return app->backoff_ms >= BLD_APP_BACKOFF_MAX / 2 ? BLD_APP_BACKOFF_MAX
                                                     : app->backoff_ms * 2;
}
