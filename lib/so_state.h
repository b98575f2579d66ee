/*
 * so_state.h: the deployment state machine (DESIGN.md), for every C writer.
 *
 *   QUEUED -> BUILDING -> PROVISIONING -> PRODUCTION <-> INACTIVE
 *      |         |            |
 *      +---------+------------+--> FAILED       (QUEUED/BUILDING: CANCELED)
 *
 * BUILDING and PROVISIONING may go back to QUEUED when the builder that
 * held them was lost (the retry of builder_lost).  The same table lives in
 * SQL (deployment_transitions, enforced by a trigger); the tests check
 * both against one matrix.
 */

#ifndef SO_STATE_H
#define SO_STATE_H

typedef enum {
    SO_DS_QUEUED = 0,
    SO_DS_BUILDING,
    SO_DS_PROVISIONING,
    SO_DS_PRODUCTION,
    SO_DS_INACTIVE,
    SO_DS_FAILED,
    SO_DS_CANCELED,
    SO_DS_COUNT
} so_dstate_t;

/* "QUEUED"... ; NULL for a value out of range */
const char *so_dstate_name(so_dstate_t s);

/* 0 with *out set, or SO_EINVAL for an unknown name (exact, upper case) */
int so_dstate_parse(so_dstate_t *out, const char *name);

/* 1 when from -> to is a legal transition */
int so_dstate_can(so_dstate_t from, so_dstate_t to);

/* 1 for the states a user may delete or redeploy: FAILED, INACTIVE,
 * CANCELED */
int so_dstate_is_finished(so_dstate_t s);

/*
 * 1 when the legal move from -> to ends a build (its finished_at is set):
 * to FAILED or CANCELED, or PROVISIONING -> PRODUCTION.  A rollback
 * (INACTIVE -> PRODUCTION) or a demotion leaves the build's end as it was.
 */
int so_dstate_ends_build(so_dstate_t from, so_dstate_t to);

#endif /* SO_STATE_H */
