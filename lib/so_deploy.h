/*
 * so_deploy.h: the writers of deployments shared by the API, the webhook
 * receiver and (later) the builder: enqueueing a build, moving a
 * deployment from one state to another, and promoting one to PRODUCTION.
 *
 * Enqueueing follows the outbox pattern: the QUEUED deployment and its
 * build_outbox row are written by one statement (and, when the caller has
 * more to record, in one transaction with it); only after the commit is
 * the job XADDed to stream shipoff:builds and the outbox row marked sent.
 * When Redis is down the enqueue still succeeds and the row stays unsent
 * for the builder's reconciler: nothing is lost between the database and
 * the queue, and a job may at worst be delivered twice (the builder claims
 * it with a conditional UPDATE, so the second is a no-op).
 *
 * Every state change is asked of so_dstate_can() first, then made by a
 * conditional UPDATE ... WHERE state = <the state it was read in>, so of
 * two concurrent changes exactly one wins; the table's trigger checks the
 * transition again and records it with the reason written by the same
 * UPDATE.
 */

#ifndef SO_DEPLOY_H
#define SO_DEPLOY_H

#include "so_pg.h"
#include "so_quota.h"
#include "so_redis.h"
#include "so_state.h"

/* the streams and their fields */
#define SO_DEPLOY_BUILDS  "shipoff:builds"  /* deployment <id> project <id> */
#define SO_DEPLOY_CANCEL  "shipoff:cancel"  /* deployment <id> */
#define SO_DEPLOY_EVENTS  "shipoff:events"  /* type <t> deployment <id> ... */

typedef struct {
    long long    project_id;
    const char  *branch;        /* NULL: the project's branch */
    const char  *commit;        /* 40 lower-case hex, NULL: the branch head */
    const char  *message;       /* the commit message, or NULL */
    const char  *trigger;       /* "manual", "push" or "redeploy" */
    const char  *reason;        /* of the first event; NULL: the trigger */
    long long    created_by;    /* the user; 0: nobody (a push) */
    long long    builds_max;    /* quota_builds_active; 0: unlimited */
    so_quota_t  *quota;         /* NULL, or told what refused it */
} so_deploy_spec_t;

/*
 * More to write in the enqueue's transaction, once the deployment exists:
 * 0 commits; any other code rolls everything back and is what
 * so_deploy_enqueue() returns (the webhook receiver's SO_EEXISTS for a
 * delivery it has seen).
 */
typedef int (*so_deploy_also_pt)(so_pg_t *pg, long long deployment_id,
    void *arg);

/*
 * Creates a QUEUED deployment of spec and its outbox row, runs also (NULL:
 * nothing) in the same transaction, commits, then publishes the job (best
 * effort).  With spec->builds_max, the transaction first locks the
 * project's account and counts its QUEUED and BUILDING deployments: so
 * concurrent enqueues of one account never get past the limit.  0 with
 * *out_id the new deployment; SO_ENOTFOUND when the project does not
 * exist; SO_EQUOTA when the account has builds_max active already
 * (*spec->quota says so); the code of also; SO_ERR when the database
 * failed (so_pg_errstr(), so_pg_sqlstate() say why).
 */
int so_deploy_enqueue(long long *out_id, so_pg_t *pg, so_redis_t *redis,
    const so_deploy_spec_t *spec, so_deploy_also_pt also, void *arg);

/*
 * XADDs the job of an outbox row and marks it sent.  0, or SO_EUNAVAIL
 * when Redis refused (the row stays unsent), or SO_ERR when marking it
 * failed (it will be sent again: harmless).
 */
int so_deploy_publish(so_pg_t *pg, so_redis_t *redis, long long outbox_id,
    long long deployment_id, long long project_id);

/*
 * Moves deployment id from state from to state to, recording reason.
 * 0; SO_EINVAL when so_dstate_can() refuses from -> to (nothing is
 * written); SO_ENOTFOUND when the deployment is no longer in state from
 * (someone else changed it first, or it is gone); SO_ERR for the database.
 */
int so_deploy_transition(so_pg_t *pg, long long id, so_dstate_t from,
    so_dstate_t to, const char *reason);

/*
 * Makes the INACTIVE deployment id, whose artifact is kept, the
 * PRODUCTION one without a rebuild; the PRODUCTION one before becomes
 * INACTIVE ("superseded by promote").  One transaction holding the project
 * row locked, so concurrent promotes of one project run one after the
 * other.  0 with *out_previous the demoted deployment (0: none);
 * SO_ENOTFOUND when the deployment is gone; SO_EINVAL when it may not be
 * promoted, with the rule in err; SO_ERR for the database.  The route
 * switch is the builder's: after the commit, type "promoted" is published
 * on shipoff:events (best effort, like every publish).
 */
int so_deploy_promote(long long *out_previous, so_pg_t *pg,
    so_redis_t *redis, long long id, char *err, size_t errlen);

/* publishes fields (name, value pairs) on stream; 0 or SO_EUNAVAIL */
int so_deploy_xadd(so_redis_t *redis, const char *stream, int nfields,
    const char *const *fields);

#endif /* SO_DEPLOY_H */
