/*
 * detect.c: detections of repositories (POST /api/v1/detect, table
 * detections), made by the builders because a clone is not the API's to
 * make: the repository is the requester's choice, and libgit2 1.5 has no
 * socket timeout, so a server that never answers would hold an API
 * thread, and a small pack can expand to fill a disk.
 *
 * The API records a pending row and announces it on shipoff:events; the
 * builder that reads the entry runs bld_detect_run() in a child process,
 * as a job (jobs.c), which clones and detects in the sandbox (source.c,
 * clone.c: only the files so_detect reads are checked out), under
 * detect_timeout, the sandbox's memory limit and so_git's caps, in a work
 * dir var/builds/detect-<id> removed afterwards.  The answer, or an
 * error shaped like the API's (code, message, field), goes to the row.
 *
 * A child that dies before it wrote the row leaves it to the loop
 * (bld_detect_lost), and a row nobody finished (a builder restarted) to
 * the reconciler (bld_detect_expire): no detection stays pending.
 */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shipoff.h"
#include "so_crypto.h"
#include "so_fd.h"
#include "so_log.h"
#include "so_oauth.h"
#include "so_repo.h"
#include "bld.h"
#include "worker.h"

typedef struct {
    const char  *code;
    const char  *message;
    const char  *field;
} det_error_t;

/* what clone.c's exit code says, in the API's words (any other: FAILED) */
static const det_error_t  det_clone_errors[] = {
    [BLD_CLONE_FAILED] = { "validation_failed",
      "repo_url: the repository could not be cloned", "repo_url" },
    [BLD_CLONE_NOTFOUND] = { "validation_failed",
      "repo_url: no such repository or branch", "branch" },
    [BLD_CLONE_TOOBIG] = { "validation_failed",
      "repo_url: the repository is too large", "repo_url" },
    [BLD_CLONE_NOROOT] = { "validation_failed",
      "root_dir is not a directory of the repository", "root_dir" }
};


static int det_finish(so_pg_t *pg, const char *id, const json_t *result,
    const det_error_t *e);
static bld_step_end_t det_clone(const so_config_t *cfg, so_pg_t *pg,
    const char *id, PGresult *row, bld_clone_t *out, det_error_t *e);


/* the row done with result, or failed with e: SO_OK or SO_ERR */
static int
det_finish(so_pg_t *pg, const char *id, const json_t *result,
    const det_error_t *e)
{
    PGresult  *res;
    char      *text;
    int        rc;

    text = result != NULL ? json_dumps(result, JSON_COMPACT) : NULL;

    res = so_pg_query(pg, "detect_finish",
                      "UPDATE detections SET result = $2::jsonb,"
                      " state = CASE WHEN $2 IS NULL THEN 'failed'"
                      " ELSE 'done' END,"
                      " error_code = $3, error_message = $4,"
                      " error_field = $5, finished_at = now()"
                      " WHERE id = $1 AND state = 'pending'",
                      SO_PG_PARAMS(id, text, e->code, e->message, e->field));
    free(text);

    rc = res != NULL ? SO_OK : SO_ERR;
    if (rc != SO_OK) {
        so_pg_failed(pg, "detect", "detection=%s", id);
    }

    PQclear(res);
    return rc;
}


/* row: user_id, repo_url, branch, root_dir */
static bld_step_end_t
det_clone(const so_config_t *cfg, so_pg_t *pg, const char *id,
    PGresult *row, bld_clone_t *out, det_error_t *e)
{
    bld_clone_req_t   req;
    bld_step_t        step;
    so_repo_url_t     repo;
    bld_step_end_t    end;
    char              dir[PATH_MAX], name[64], err[SO_ERRLEN], *token;
    int               fd;

    token = NULL;
    fd = -1;
    end = BLD_STEP_ERROR;

    req = (bld_clone_req_t) { .url = PQgetvalue(row, 0, 1),
                              .branch = PQgetvalue(row, 0, 2),
                              .detect = PQgetvalue(row, 0, 3) };

    /* the configuration may have changed since the API took it */
    if (so_repo_check(&repo, cfg, req.url, err, sizeof(err)) != SO_OK) {
        e->code = "validation_failed";
        e->message = "repo_url is not allowed on this platform";
        e->field = "repo_url";
        return BLD_STEP_EXIT;
    }

    /* the requester's own token, for their own GitHub repositories */
    if (repo.owner[0] != '\0'
        && so_oauth_github_token(&token, pg, cfg,
                                 strtoll(PQgetvalue(row, 0, 0), NULL, 10))
           == SO_EUNAVAIL)
    {
        return BLD_STEP_ERROR;
    }
    req.token = token;

    snprintf(name, sizeof(name), "detect-%s", id);
    snprintf(dir, sizeof(dir), "%s/builds/%s", cfg->var_dir, name);

    if (bld_step_init(&step, cfg, name, dir, bld_detect_uid(cfg), err,
                      sizeof(err)) != SO_OK
        || bld_workfs_open(&fd, cfg, dir, 0, step.uid, err, sizeof(err))
           != SO_OK)
    {
        so_log_error("detect", "detection=%s: %s", id, err);
        goto done;
    }

    step.deadline_ms = so_now_ms() + (long long) cfg->detect_timeout * 1000;

    end = bld_source_clone(out, &req, &step, fd, err, sizeof(err));
    if (end == BLD_STEP_ERROR) {
        so_log_error("detect", "detection=%s: %s", id, err);
    }

done:

    if (token != NULL) {
        so_wipe(token, strlen(token));
        free(token);
    }
    so_fd_close(&fd);
    bld_workfs_close(cfg, dir);
    return end;
}


int
bld_detect_run(const so_config_t *cfg, long long detection_id)
{
    bld_clone_t     c;
    det_error_t     e;
    bld_step_end_t  end;
    PGresult       *row;
    so_pg_t        *pg;
    char            id[24], msg[128];
    int             rc;

    row = NULL;
    memset(&c, 0, sizeof(c));
    memset(&e, 0, sizeof(e));
    rc = BLD_WORKER_RETRY;
    snprintf(id, sizeof(id), "%lld", detection_id);

    pg = so_pg_new(cfg->pg_dsn, cfg->pg_timeout);
    if (pg == NULL || so_pg_connect(pg) != SO_OK) {
        so_log_error("detect", "detection=%s: PostgreSQL is down", id);
        goto done;
    }

    row = so_pg_query(pg, "detect_load",
                      "SELECT user_id, repo_url, branch, root_dir"
                      " FROM detections WHERE id = $1 AND state = 'pending'",
                      SO_PG_PARAMS(id));
    if (row == NULL) {
        goto done;
    }

    if (PQntuples(row) != 1) {
        rc = 0;                         /* done meanwhile, or gone */
        goto done;
    }

    end = det_clone(cfg, pg, id, row, &c, &e);

    switch (end) {
    case BLD_STEP_OK:
        break;

    case BLD_STEP_EXIT:
        /* e is set when the URL was refused, before any clone */
        if (e.code == NULL) {
            e = det_clone_errors[c.code > 0
                                 && c.code < (int) so_nelems(det_clone_errors)
                                 ? c.code : BLD_CLONE_FAILED];
        }
        break;

    case BLD_STEP_TIMEOUT:
        snprintf(msg, sizeof(msg), "repo_url: the repository did not "
                 "answer within %d s", cfg->detect_timeout);
        e = (det_error_t) { "clone_failed", msg, "repo_url" };
        break;

    case BLD_STEP_OOM:
        e = (det_error_t) { "clone_failed",
                            "repo_url: the clone ran out of memory",
                            "repo_url" };
        break;

    default:
        goto done;
    }

    if (det_finish(pg, id, end == BLD_STEP_OK ? c.detection : NULL, &e)
        == SO_OK)
    {
        so_log_info("detect", "detection=%s: %s", id,
                    end == BLD_STEP_OK ? "done" : e.message);
        rc = 0;
    }

done:

    json_decref(c.detection);
    PQclear(row);
    so_pg_free(pg);
    return rc;
}


void
bld_detect_lost(so_pg_t *pg, long long detection_id)
{
    static const det_error_t  lost = {
        "internal", "the detection could not run: try again", NULL
    };
    char                      id[24];

    snprintf(id, sizeof(id), "%lld", detection_id);
    (void) det_finish(pg, id, NULL, &lost);
}


void
bld_detect_expire(so_pg_t *pg, const so_config_t *cfg)
{
    char  ttl[16];

    /* the entry's own wait for a free slot is bounded by the reconciler */
    snprintf(ttl, sizeof(ttl), "%d", cfg->detect_timeout + 300);

    PQclear(so_pg_query(pg, "detect_expire",
                        "UPDATE detections SET state = 'failed',"
                        " error_code = 'internal', error_message ="
                        " 'no builder finished the detection: try again',"
                        " finished_at = now()"
                        " WHERE state = 'pending'"
                        " AND created_at < now() - $1::int"
                        " * interval '1 second'",
                        SO_PG_PARAMS(ttl)));
}
