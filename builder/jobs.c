/*
 * jobs.c: one child process per claimed deployment (the builds actor,
 * builds.h); a built app is handed to the supervisor it was given.
 *
 * The child runs bld_worker_run() (bld.h) and exits with its verdict; a
 * crash or a leak dies with it.  It gets a process group of its own, so a
 * signal meant for shipoffd's group (the stack's stop, a terminal's ^C)
 * does not reach it: shipoffd decides what happens to running builds.  It
 * dies with shipoffd (PR_SET_PDEATHSIG), so a build is never left running
 * without a lease holder.  It inherits no descriptor but stdio: not the
 * loop's PostgreSQL and Redis connections, which a build must not reach.
 *
 * The loop watches each child through a pidfd in its epoll set.  The lease
 * of every running deployment is extended every lease_ttl / 3.  When a
 * child is done its lease is dropped; when it left its deployment active
 * (it crashed, or asked for a retry) the deployment is recovered: QUEUED
 * again while attempts remain, else FAILED builder_lost.
 *
 * A cancel SIGTERMs the child (the worker kills its sandbox and records
 * CANCELED) and SIGKILLs its group 5 s later if it is still there.
 *
 * Every child has a wall clock: build_timeout (its sandboxed steps are
 * bounded by it already) plus BLD_JOB_SLACK_S for what runs outside the
 * sandbox (publishing, edges, PostgreSQL).  A worker still there after
 * it is stuck: its group is killed and the deployment recovered like any
 * other lost attempt (QUEUED again while attempts remain).
 *
 * A detection (detect.c) is a job too, counted against the same slots:
 * it runs bld_detect_run(), has no lease, and when it dies without an
 * answer its row is failed (bld_detect_lost).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shipoff.h"
#include "so_fd.h"
#include "so_log.h"
#include "builds.h"

#define BLD_JOB_SLACK_S  120


static int bld_job_find_fd(const bld_builds_t *q, int pidfd);
static void bld_job_end(bld_builds_t *q, bld_job_t *job, int lost,
    int counted);
static void bld_job_kill(const bld_job_t *job);
static void bld_job_term(bld_job_t *job);
static void bld_job_child(bld_builds_t *q, long long id, int detect,
    pid_t parent) __attribute__((noreturn));


int
bld_jobs_capacity(const bld_builds_t *q)
{
    long  limit;

    limit = q->b->cfg.build_concurrency;
    if (limit <= 0) {
        limit = sysconf(_SC_NPROCESSORS_ONLN);
    }

    if (limit < 1) {
        limit = 1;

    } else if (limit > BLD_MAX_JOBS) {
        limit = BLD_MAX_JOBS;
    }

    return (int) limit - q->njobs;
}


int
bld_job_start(bld_builds_t *q, long long deployment, long long project,
    int detect)
{
    struct epoll_event   ev;
    bld_job_t           *job;
    pid_t                pid, parent;
    int                  pidfd;

    if (q->njobs >= BLD_MAX_JOBS) {
        return SO_ERR;
    }

    parent = getpid();
    fflush(NULL);

    pid = fork();
    if (pid == -1) {
        so_log_error("jobs", "deployment=%lld: fork: %s", deployment,
                     strerror(errno));
        return SO_ERR;
    }

    if (pid == 0) {
        bld_job_child(q, deployment, detect, parent);
    }

    pidfd = pidfd_open(pid, 0);

    ev.events = EPOLLIN;
    ev.data.fd = pidfd;

    if (pidfd == -1
        || epoll_ctl(q->b->epfd, EPOLL_CTL_ADD, pidfd, &ev) == -1)
    {
        so_log_error("jobs", "deployment=%lld: pidfd: %s", deployment,
                     strerror(errno));
        kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        so_fd_close(&pidfd);
        return SO_ERR;
    }

    job = &q->jobs[q->njobs++];
    job->deployment = deployment;
    job->project = project;
    job->pid = pid;
    job->pidfd = pidfd;
    job->kill_at = 0;
    job->detect = detect;
    job->deadline = so_now_ms()
                    + ((long long) (detect ? q->b->cfg.detect_timeout
                                           : q->b->cfg.build_timeout)
                       + BLD_JOB_SLACK_S) * 1000;

    so_log_info("jobs", "%s=%lld project=%lld: %s (pid %ld)",
                detect ? "detection" : "deployment", deployment, project,
                detect ? "detecting" : "building", (long) pid);

    return SO_OK;
}


static void
bld_job_child(bld_builds_t *q, long long id, int detect, pid_t parent)
{
    sigset_t  none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);

    (void) setpgid(0, 0);

    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent) {
        _exit(BLD_WORKER_RETRY);
    }

    /* the loop's epoll, signalfd, pidfds and server connections */
    (void) close_range(3, ~0U, 0);

    _exit(detect ? bld_detect_run(&q->b->cfg, id)
                 : bld_worker_run(&q->b->cfg, id));
}


int
bld_job_is_ours(const bld_builds_t *q, int fd)
{
    return bld_job_find_fd(q, fd) != -1;
}


/* the index in q->jobs of the job watched by pidfd, or -1 */
static int
bld_job_find_fd(const bld_builds_t *q, int pidfd)
{
    int  i;

    for (i = 0; i < q->njobs; i++) {
        if (q->jobs[i].pidfd == pidfd) {
            return i;
        }
    }

    return -1;
}


void
bld_job_exited(bld_builds_t *q, int pidfd)
{
    bld_job_t  *job;
    long long   deployment;
    pid_t       pid;
    int         status, code, i;

    i = bld_job_find_fd(q, pidfd);
    if (i == -1) {
        return;
    }
    job = &q->jobs[i];

    /* whatever its group left behind goes with it (the pid is still the
     * zombie's: the group cannot be another's) */
    kill(-job->pid, SIGKILL);

    pid = waitpid(job->pid, &status, WNOHANG);
    if (pid == 0) {
        return;
    }

    deployment = job->deployment;
    code = -1;

    if (pid == -1) {
        so_log_error("jobs", "deployment=%lld: waitpid: %s", deployment,
                     strerror(errno));

    } else if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
        so_log_info("jobs", "deployment=%lld: worker exited with %d",
                    deployment, code);

    } else if (WIFSIGNALED(status)) {
        so_log_warn("jobs", "deployment=%lld: worker killed by signal %d",
                    deployment, WTERMSIG(status));
    }

    /* a built app: the supervisor takes the deployment over (a detection
       exits with 0 or BLD_WORKER_RETRY) */
    if (code == BLD_WORKER_PROVISIONED) {
        (void) bld_apps_handover(q->apps, deployment);
    }

    if (code > BLD_WORKER_PROVISIONED) {
        so_log_error("jobs", "deployment=%lld: unknown exit code %d: "
                     "taken as a crash", deployment, code);
    }

    bld_job_end(q, job, code != 0, 1);

    /* a slot is free, and the project may be built again */
    q->stream.reread = 1;
}


/*
 * The job out of the table.  A worker that finished has recorded its
 * verdict; one that did not (a retry, a crash, a kill) left its
 * deployment active: recover it.  Then the lease, if the deployment kept
 * it, is dropped.  A detection that did not answer (lost) has its row
 * failed.
 */
static void
bld_job_end(bld_builds_t *q, bld_job_t *job, int lost, int counted)
{
    bld_job_t  j;

    j = *job;
    (void) epoll_ctl(q->b->epfd, EPOLL_CTL_DEL, j.pidfd, NULL);
    close(j.pidfd);
    *job = q->jobs[--q->njobs];

    if (j.detect) {
        if (lost) {
            bld_detect_lost(q->b->pg, j.deployment);
        }
        return;
    }

    (void) bld_recover(q, j.deployment, counted);
    bld_unlease(q->b->pg, j.deployment, q->consumer);
}


void
bld_unlease(so_pg_t *pg, long long deployment, const char *owner)
{
    char  ids[24];

    snprintf(ids, sizeof(ids), "%lld", deployment);

    if (so_pg_exec(pg, "bld_job_unlease",
                   "UPDATE deployments SET lease_owner = NULL,"
                   " lease_expires_at = NULL"
                   " WHERE id = $1 AND lease_owner = $2",
                   SO_PG_PARAMS(ids, owner)) != SO_OK)
    {
        /* the state is final: an expired lease there does no harm */
        so_log_warn("jobs", "deployment=%lld: dropping the lease: %s",
                    deployment, so_pg_errstr(pg));
    }
}


/* SIGTERM now, SIGKILL BLD_KILL_GRACE_MS later (bld_jobs_tick) */
static void
bld_job_term(bld_job_t *job)
{
    if (job->kill_at != 0) {
        return;
    }

    so_log_info("jobs", "deployment=%lld project=%lld: canceled: stopping "
                "pid %ld", job->deployment, job->project, (long) job->pid);
    kill(job->pid, SIGTERM);
    job->kill_at = so_now_ms() + BLD_KILL_GRACE_MS;
}


void
bld_job_cancel(bld_builds_t *q, long long deployment, long long project)
{
    int  i;

    for (i = 0; i < q->njobs; i++) {
        if (!q->jobs[i].detect && (q->jobs[i].deployment == deployment
                                   || q->jobs[i].project == project))
        {
            bld_job_term(&q->jobs[i]);
        }
    }
}


static void
bld_job_kill(const bld_job_t *job)
{
    kill(-job->pid, SIGKILL);
    kill(job->pid, SIGKILL);
}


void
bld_jobs_tick(bld_builds_t *q, int64_t now)
{
    bld_job_t  *job;
    int         i;

    for (i = 0; i < q->njobs; i++) {
        job = &q->jobs[i];

        if (job->kill_at == 0 && now >= job->deadline) {
            so_log_error("jobs", "%s=%lld: still running past its wall "
                         "clock: killed", job->detect ? "detection"
                         : "deployment", job->deployment);

        } else if (job->kill_at != 0 && now >= job->kill_at) {
            so_log_warn("jobs", "deployment=%lld: still running %d ms after "
                        "SIGTERM: killed", job->deployment,
                        BLD_KILL_GRACE_MS);

        } else {
            continue;
        }

        /* killed once: INT64_MAX is never reached again */
        bld_job_kill(job);
        job->kill_at = INT64_MAX;
    }
}


void
bld_jobs_heartbeat(bld_builds_t *q)
{
    char  ttl[16];

    if (q->njobs == 0) {
        return;
    }

    snprintf(ttl, sizeof(ttl), "%d", q->b->cfg.lease_ttl);

    if (so_pg_exec(q->b->pg, "bld_job_heartbeat",
                   "UPDATE deployments"
                   " SET lease_expires_at = now() + $2::int"
                   " * interval '1 second'"
                   " WHERE lease_owner = $1"
                   " AND state IN ('BUILDING', 'PROVISIONING')",
                   SO_PG_PARAMS(q->consumer, ttl)) != SO_OK)
    {
        so_log_warn("jobs", "extending the leases: %s",
                    so_pg_errstr(q->b->pg));
    }
}


/*
 * The drain is over: the builds still running are killed and their
 * deployments queued again, this attempt not counted (the build did
 * nothing wrong).
 */
void
bld_jobs_stop(bld_builds_t *q)
{
    bld_job_t  *job;

    while (q->njobs > 0) {
        job = &q->jobs[0];

        so_log_info("jobs", "%s=%lld: stopping%s", job->detect ? "detection"
                    : "deployment", job->deployment, job->detect ? ""
                    : ": queued again");
        bld_job_kill(job);
        (void) waitpid(job->pid, NULL, 0);
        bld_job_end(q, job, 1, 0);
    }
}


/* exiting at once: the leases expire and the reconciler recovers them */
void
bld_jobs_kill_now(bld_builds_t *q)
{
    int  i;

    for (i = 0; i < q->njobs; i++) {
        bld_job_kill(&q->jobs[i]);
    }
}
