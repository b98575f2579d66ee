/*
 * test_appstate.c: the supervisor's state machine (builder/appstate.c),
 * without root, processes or servers: for each state and event, what the
 * supervisor does (start, route, drain, stop, kill, restart, forget),
 * each deadline taken at its instant and not a millisecond before, and
 * the restart backoff doubling to its cap and starting over once an app
 * ran long enough.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "apps.h"

#define T0  1000000                 /* ms: "now" in every case */


typedef struct {
    const char        *what;
    bld_app_state_t    state;
    unsigned           to_sleep:1;
    unsigned           wake:1;
    int64_t            due;         /* the state's deadline, from T0 */
    bld_app_event_t    ev;
    int64_t            at;          /* when it happens, from T0 */
    bld_app_action_t   want;
} as_case_t;


static const as_case_t  as_cases[] = {
    { "starting, healthy: running", BLD_APP_STARTING, 0, 0, 5000,
      BLD_APP_EV_HEALTHY, 0, BLD_APP_READY },
    { "starting, before startup_timeout: waits", BLD_APP_STARTING, 0, 0,
      5000, BLD_APP_EV_TICK, 4999, BLD_APP_KEEP },
    { "starting, at startup_timeout: given up", BLD_APP_STARTING, 0, 0,
      5000, BLD_APP_EV_TICK, 5000, BLD_APP_TIMEOUT },
    { "starting, exited: crashed", BLD_APP_STARTING, 0, 0, 5000,
      BLD_APP_EV_EXITED, 0, BLD_APP_CRASHED },
    { "running, exited: crashed", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_EXITED, 0, BLD_APP_CRASHED },
    { "running, healthy again: nothing", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_HEALTHY, 0, BLD_APP_KEEP },
    { "running, time passes: nothing", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_TICK, 99999, BLD_APP_KEEP },
    { "running, replaced or idle: draining", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_DRAIN, 0, BLD_APP_DRAIN },
    { "starting, replaced: draining", BLD_APP_STARTING, 0, 0, 5000,
      BLD_APP_EV_DRAIN, 0, BLD_APP_DRAIN },
    { "going to sleep, replaced: draining", BLD_APP_DRAINING, 1, 0, 3000,
      BLD_APP_EV_DRAIN, 0, BLD_APP_DRAIN },
    { "replaced, replaced again: left on its way", BLD_APP_DRAINING, 0, 0,
      3000, BLD_APP_EV_DRAIN, 0, BLD_APP_KEEP },
    { "draining, before stop_at: waits", BLD_APP_DRAINING, 0, 0, 3000,
      BLD_APP_EV_TICK, 2999, BLD_APP_KEEP },
    { "draining, at stop_at: SIGTERM", BLD_APP_DRAINING, 0, 0, 3000,
      BLD_APP_EV_TICK, 3000, BLD_APP_TERM },
    { "draining, exited: gone", BLD_APP_DRAINING, 0, 0, 3000,
      BLD_APP_EV_EXITED, 0, BLD_APP_GONE },
    { "draining, promoted again: running", BLD_APP_DRAINING, 0, 0, 3000,
      BLD_APP_EV_PROMOTED, 0, BLD_APP_REVIVE },
    { "going to sleep, woken: kept running", BLD_APP_DRAINING, 1, 0, 3000,
      BLD_APP_EV_WAKE, 0, BLD_APP_REVIVE },
    { "replaced, woken: not kept", BLD_APP_DRAINING, 0, 0, 3000,
      BLD_APP_EV_WAKE, 0, BLD_APP_KEEP },
    { "stopping, before kill_at: waits", BLD_APP_STOPPING, 0, 0, 2000,
      BLD_APP_EV_TICK, 1999, BLD_APP_KEEP },
    { "stopping, at kill_at: killed", BLD_APP_STOPPING, 0, 0, 2000,
      BLD_APP_EV_TICK, 2000, BLD_APP_KILL },
    { "stopping, exited: gone", BLD_APP_STOPPING, 0, 0, 2000,
      BLD_APP_EV_EXITED, 0, BLD_APP_GONE },
    { "stopping to sleep, exited: sleeping", BLD_APP_STOPPING, 1, 0, 2000,
      BLD_APP_EV_EXITED, 0, BLD_APP_SLEEP },
    { "stopping, woken: started once gone", BLD_APP_STOPPING, 1, 0, 2000,
      BLD_APP_EV_WAKE, 0, BLD_APP_WAKE_LATER },
    { "stopping, promoted: started once gone", BLD_APP_STOPPING, 0, 0, 2000,
      BLD_APP_EV_PROMOTED, 0, BLD_APP_WAKE_LATER },
    { "stopping, woken meanwhile, exited: started", BLD_APP_STOPPING, 1, 1,
      2000, BLD_APP_EV_EXITED, 0, BLD_APP_RESPAWN },
    { "stopping, drained again: nothing", BLD_APP_STOPPING, 0, 0, 2000,
      BLD_APP_EV_DRAIN, 0, BLD_APP_KEEP },
    { "running, woken: route pushed again", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_WAKE, 0, BLD_APP_ROUTE },
    { "running, promoted: route pushed again", BLD_APP_RUNNING, 0, 0, 0,
      BLD_APP_EV_PROMOTED, 0, BLD_APP_ROUTE },
    { "starting, woken: routes itself once up", BLD_APP_STARTING, 0, 0,
      5000, BLD_APP_EV_WAKE, 0, BLD_APP_KEEP },
    { "backoff, before start_at: waits", BLD_APP_BACKOFF, 0, 0, 1000,
      BLD_APP_EV_TICK, 999, BLD_APP_KEEP },
    { "backoff, at start_at: started again", BLD_APP_BACKOFF, 0, 0, 1000,
      BLD_APP_EV_TICK, 1000, BLD_APP_RESTART },
    { "backoff, replaced: dropped at once", BLD_APP_BACKOFF, 0, 0, 1000,
      BLD_APP_EV_DRAIN, 0, BLD_APP_DROP },
    { "backoff, woken: restarts by itself", BLD_APP_BACKOFF, 0, 0, 1000,
      BLD_APP_EV_WAKE, 0, BLD_APP_KEEP },
};


static void
test_transitions(void **state)
{
    const as_case_t  *c;
    bld_app_action_t  got;
    bld_app_t         app;
    size_t            i;

    for (i = 0; i < sizeof(as_cases) / sizeof(as_cases[0]); i++) {
        c = &as_cases[i];

        memset(&app, 0, sizeof(app));
        app.state = c->state;
        app.to_sleep = c->to_sleep;
        app.wake = c->wake;
        app.due = T0 + c->due;

        got = bld_app_next(&app, c->ev, T0 + c->at);
        if (got != c->want) {
            print_message("%s: got action %d\n", c->what, (int) got);
        }
        assert_int_equal(got, c->want);
    }
}


/* crashes one after another: 1 s, 2 s, 4 s ... up to 60 s, then 60 s */
static void
test_backoff(void **state)
{
    static const int  want[] = { 1000, 2000, 4000, 8000, 16000, 32000,
                                 60000, 60000 };
    bld_app_t         app;
    size_t            i;

    memset(&app, 0, sizeof(app));
    app.started = T0;

    for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        app.backoff_ms = bld_app_backoff_ms(&app, T0 + 10);
        assert_int_equal(app.backoff_ms, want[i]);
    }

    /* it ran BLD_APP_STABLE_MS since its last start: from 1 s again, and
       not a millisecond earlier */
    assert_int_equal(bld_app_backoff_ms(&app, T0 + BLD_APP_STABLE_MS - 1),
                     BLD_APP_BACKOFF_MAX);
    assert_int_equal(bld_app_backoff_ms(&app, T0 + BLD_APP_STABLE_MS),
                     BLD_APP_BACKOFF_MIN);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
