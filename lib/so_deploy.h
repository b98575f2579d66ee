/*
 * so_deploy.h: the one writer of deployment state, for the API, the
 * webhook receiver and the builder: enqueueing a build, claiming it,
 * moving a deployment from one state to another, promoting one to
 * PRODUCTION and taking back the builds of a lost builder.  Nothing else
 * writes deployments.state.
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
 * transition again (the last guard) and records it with the reason
 * written by the same UPDATE.
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
 * Moves deployment id from state from to state to, recording reason and
 * exit_code (-1: the one it has stays); finished_at is set when the move
 * ends the build (so_dstate_ends_build()).  SO_OK; SO_EINVAL when from ->
 * to is not a transition (so_dstate_can(): a caller's bug, logged;
 * nothing written); SO_EEXISTS when the deployment is not in state from
 * any more (someone else moved it first, or it is gone), or when it would
 * be a second PRODUCTION of its project; SO_EUNAVAIL or SO_ERR for the
 * database.
 */
int so_deploy_move(so_pg_t *pg, long long id, so_dstate_t from,
    so_dstate_t to, const char *reason, int exit_code);

/* what so_deploy_claim() made of a deployment, besides an error */
#define SO_DEPLOY_CLAIMED  0    /* BUILDING under the caller's lease */
#define SO_DEPLOY_SETTLED  1    /* nothing to build: gone, not QUEUED,
                                   or superseded by a newer one */
#define SO_DEPLOY_LATER    2    /* its project is being built */

/*
 * The build queue's claim, in one transaction holding the project's row
 * lock (two builders serialize on one project); the reads come after the
 * lock, in statements of their own, so they see what another builder
 * committed before:
 *
 *   gone or no longer QUEUED     -> SO_DEPLOY_SETTLED
 *   a newer QUEUED one exists    -> CANCELED "superseded", SETTLED
 *   the project is being built   -> SO_DEPLOY_LATER, nothing written
 *   otherwise                    -> the older QUEUED ones of its branch
 *                                   are CANCELED "superseded", this one
 *                                   is BUILDING "claimed" with the lease
 *                                   of owner for ttl seconds
 *
 * SO_DEPLOY_CLAIMED with *out_project set, SETTLED, LATER, or SO_EUNAVAIL
 * / SO_ERR when PostgreSQL failed (nothing written).
 */
int so_deploy_claim(long long *out_project, so_pg_t *pg, long long id,
    const char *owner, int ttl);

/*
 * An operator's claim (shipoffd build ID): QUEUED -> BUILDING "building"
 * with the lease of owner for ttl seconds, on the only condition that it
 * is still QUEUED.  SO_OK; SO_EEXISTS when it is not (or is gone);
 * SO_EUNAVAIL or SO_ERR.
 */
int so_deploy_claim_now(so_pg_t *pg, long long id, const char *owner,
    int ttl);

/*
 * Makes deployment id, in state from, its project's PRODUCTION; the
 * PRODUCTION before becomes INACTIVE.  One transaction holding the
 * project row locked, so concurrent promotions of one project run one
 * after the other.
 *
 *   from PROVISIONING: a build ends (the worker for a site, the app
 *   supervisor once the app answers): "deployed", exit code 0; the one
 *   before is "superseded";
 *   from INACTIVE: a rollback to a kept artifact, without a rebuild:
 *   "promoted"; the one before is "superseded by promote".
 *
 * 0 with *out_previous the demoted deployment (0: none); SO_ENOTFOUND
 * when the deployment is gone; SO_EEXISTS when it is not in state from,
 * or the project's deployments changed meanwhile; SO_EINVAL when the
 * artifact of a rollback is no longer kept; err says why for those two;
 * SO_EUNAVAIL or SO_ERR for the database.  With redis, type "promoted"
 * is published on shipoff:events after the commit for the builder's loop
 * to route every edge (best effort, like every publish): the API's, and
 * the build worker's, which routed one edge first; the app supervisor
 * passes NULL: it routed every edge first.
 */
int so_deploy_promote(long long *out_previous, so_pg_t *pg,
    so_redis_t *redis, long long id, so_dstate_t from, char *err,
    size_t errlen);

/* whose builds so_deploy_recover() takes back */
typedef enum {
    SO_DEPLOY_LOST_ONE = 0,         /* deployment id under owner's lease */
    SO_DEPLOY_LOST_MINE,            /* every lease of owner */
    SO_DEPLOY_LOST_EXPIRED          /* every expired lease of another */
} so_deploy_lost_t;

/*
 * The builds whose builder was lost (BUILDING or PROVISIONING under the
 * leases which selects) go back to QUEUED "builder_lost", with a new
 * outbox row, while attempts < max_attempts, else to FAILED; counted 0
 * does not count the attempt that ends.  0 with *out the rows moved
 * (deployment, project, new state, outbox row or NULL; the caller frees
 * it), or SO_EUNAVAIL / SO_ERR.
 */
int so_deploy_recover(PGresult **out, so_pg_t *pg, so_deploy_lost_t which,
    long long id, const char *owner, int counted, int max_attempts);

/* publishes fields (name, value pairs) on stream; 0 or SO_EUNAVAIL */
int so_deploy_xadd(so_redis_t *redis, const char *stream, int nfields,
    const char *const *fields);

#endif /* SO_DEPLOY_H */
